/* pack.c - PACK: stack N tensors of one shape along a new axis.
 *
 * DESIGN: with the new axis at position a, the output is [outer, N, inner]
 * where outer is the product of the input dimensions before a and inner
 * the product of those from a on, so input k's row o lands at row o * N + k:
 * eval is outer * N copies of inner elements.  Bytes are copied, never
 * interpreted: every fixed-size dtype works, and quantized inputs must
 * carry exactly the output's parameters (TFLite's rule: no rescaling).
 * PackOptions: values_count (field 0) must equal the number of inputs and
 * axis (field 1) is in [-(rank + 1), rank], negative counting from the end
 * of the output shape.  Without options: every input, axis 0.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "quant_math.h"
#include "kernel.h"

enum { PACK_OPT_VALUES_COUNT = 0, PACK_OPT_AXIS = 1 };

typedef struct pack_data {
	int n;	       /* inputs */
	int64_t outer; /* rows before the new axis */
	size_t inner;  /* bytes of one row of one input */
} pack_data;

static void pack_free(void *p)
{
	nn_free(p);
}

static nn_status pack_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in0, *out;
	int32_t dims[NN_MAX_RANK];
	int32_t count, axis;
	size_t es;
	pack_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 1, NN_MAX_OP_IO, 1, err)) != NN_OK)
		return st;
	in0 = nn_in(g, node, 0);
	out = nn_out(g, node, 0);
	count = nn_opt_i32(node, PACK_OPT_VALUES_COUNT, node->n_inputs);
	axis = nn_opt_i32(node, PACK_OPT_AXIS, 0);
	if (count != node->n_inputs)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "values_count is %d but the op has %d inputs",
				   count, node->n_inputs);
	es = nn_dtype_size(in0->type);
	if (es == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in0->type));
	if (in0->rank + 1 > NN_MAX_RANK)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "output rank %d exceeds %d", in0->rank + 1,
				   NN_MAX_RANK);
	if (axis < -(in0->rank + 1) || axis > in0->rank)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "axis %d is out of range for %d-D inputs (%d..%d)", axis, in0->rank,
				   -(in0->rank + 1), in0->rank);
	if (axis < 0)
		axis += in0->rank + 1;
	for (int k = 0; k < node->n_inputs; k++) {
		const nn_tensor *t = nn_in(g, node, k);
		if (!t)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input %d is omitted", k);
		if (t->type != in0->type)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input %d is %s, input 0 is %s", k,
					   nn_dtype_name(t->type), nn_dtype_name(in0->type));
		if (t->rank != in0->rank ||
		    memcmp(t->dims, in0->dims, sizeof(int32_t) * (size_t)in0->rank) != 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "input %d has another shape than input 0", k);
		if (!qm_same_quant(t->quant, out->quant))
			return nn_node_err(
			    node, err, NN_ERR_UNSUPPORTED,
			    "input %d quantization differs from the output's (values are copied, "
			    "not rescaled)",
			    k);
	}
	for (int k = 0, j = 0; k <= in0->rank; k++)
		dims[k] = k == axis ? node->n_inputs : in0->dims[j++];
	if ((st = nn_set_output(g, node, 0, in0->type, in0->rank + 1, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->n = node->n_inputs;
	d->outer = 1;
	d->inner = es;
	for (int k = 0; k < in0->rank; k++) {
		if (k < axis)
			d->outer *= in0->dims[k];
		else
			d->inner *= (size_t)in0->dims[k];
	}
	node->impl = "ref";
	return NN_OK;
}

static nn_status pack_eval(const nn_node *node, nn_exec *ex)
{
	const pack_data *d = node->data;
	uint8_t *out = nn_ex_out(ex, node, 0)->data;

	if (d->inner == 0)
		return NN_OK;
	for (int k = 0; k < d->n; k++) {
		const uint8_t *in = nn_ex_in(ex, node, k)->data;
		for (int64_t o = 0; o < d->outer; o++)
			memcpy(out + ((size_t)o * (size_t)d->n + (size_t)k) * d->inner,
			       in + (size_t)o * d->inner, d->inner);
	}
	return NN_OK;
}

const nn_kernel nn_k_pack = {
    .name = "PACK",
    .prepare = pack_prepare,
    .eval = pack_eval,
    .free = pack_free,
};
