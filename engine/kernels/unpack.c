/* unpack.c - UNPACK: split a tensor into the slices along one axis.
 *
 * DESIGN: the inverse of PACK.  With the axis at position a the input is
 * [outer, N, inner] (outer: product of the dimensions before a, inner: of
 * those after it, in bytes) and output k receives rows o * N + k; each
 * output has the input's shape without the axis.  Bytes are copied, so
 * every fixed-size dtype works and quantized outputs must carry the
 * input's parameters.  UnpackOptions: num (field 0) must equal both the
 * number of outputs and the size of the axis; axis (field 1) is in
 * [-rank, rank), negative counting from the end.  Without options: the
 * output count, axis 0.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"
#include "quant_math.h"

enum { UNPACK_OPT_NUM = 0, UNPACK_OPT_AXIS = 1 };

typedef struct unpack_data {
	int n;	       /* outputs = size of the axis */
	int64_t outer; /* rows before the axis */
	size_t inner;  /* bytes of one row of one output */
} unpack_data;

static void unpack_free(void *p)
{
	nn_free(p);
}

static nn_status unpack_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	int32_t dims[NN_MAX_RANK];
	int32_t num, axis;
	size_t es;
	unpack_data *d;
	nn_status st;

	if (node->n_outputs < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "has no outputs");
	if ((st = nn_check_arity(node, 1, 1, node->n_outputs, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	num = nn_opt_i32(node, UNPACK_OPT_NUM, node->n_outputs);
	axis = nn_opt_i32(node, UNPACK_OPT_AXIS, 0);
	es = nn_dtype_size(in->type);
	if (es == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if (in->rank < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is a scalar; nothing to unpack");
	if (axis < -in->rank || axis >= in->rank)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "axis %d is out of range for rank %d", axis,
				   in->rank);
	if (axis < 0)
		axis += in->rank;
	if (num != node->n_outputs || in->dims[axis] != node->n_outputs)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "num is %d, the op has %d outputs and axis %d has size %d: all must agree",
				   num, node->n_outputs, axis, in->dims[axis]);
	for (int k = 0, j = 0; k < in->rank; k++)
		if (k != axis)
			dims[j++] = in->dims[k];
	for (int k = 0; k < node->n_outputs; k++) {
		const nn_tensor *o = nn_out(g, node, k);
		if (!qm_same_quant(in->quant, o->quant))
			return nn_node_err(
			    node, err, NN_ERR_UNSUPPORTED,
			    "output %d quantization differs from the input's (values are copied, "
			    "not rescaled)",
			    k);
		if ((st = nn_set_output(g, node, k, in->type, in->rank - 1, dims, err)) != NN_OK)
			return st;
	}

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->n = node->n_outputs;
	d->outer = 1;
	d->inner = es;
	for (int k = 0; k < in->rank; k++) {
		if (k < axis)
			d->outer *= in->dims[k];
		else if (k > axis)
			d->inner *= (size_t)in->dims[k];
	}
	node->impl = "ref";
	return NN_OK;
}

static nn_status unpack_eval(const nn_node *node, nn_exec *ex)
{
	const unpack_data *d = node->data;
	const uint8_t *in = nn_ex_in(ex, node, 0)->data;

	if (d->inner == 0)
		return NN_OK;
	for (int k = 0; k < d->n; k++) {
		uint8_t *out = nn_ex_out(ex, node, k)->data;
		for (int64_t o = 0; o < d->outer; o++)
			memcpy(out + (size_t)o * d->inner,
			       in + ((size_t)o * (size_t)d->n + (size_t)k) * d->inner, d->inner);
	}
	return NN_OK;
}

const nn_kernel nn_k_unpack = {
    .name = "UNPACK",
    .prepare = unpack_prepare,
    .eval = unpack_eval,
    .free = unpack_free,
};
