/* arg_max.c - ARG_MAX: the index of the largest value along one axis.
 *
 * DESIGN: the input is viewed as [outer, n, inner] around the reduced axis
 * and each of the outer * inner outputs scans its n values; a value replaces
 * the best only when strictly greater, so ties keep the first index and a
 * NaN never wins unless it comes first - TFLite's comparison exactly (its
 * optimized and reference kernels agree on this).  Quantized inputs compare
 * their raw integers: scale > 0 keeps the order, so no dequantization.
 * The axis is input 1, a constant int32/int64 tensor of one element
 * (negative counts from the end); the output drops that axis.  Its index
 * type is ArgMaxOptions.output_type (field 0: INT32 = 2, INT64 = 4); when
 * the options are absent we take the type the file gives the output tensor.
 * The reduced axis must not be empty (TFLite would write index 0 from no
 * data).  8-bit data reduced over its innermost axis finds the row's
 * maximum first and then its first position (integers have no NaN, so
 * this is the same answer).  Outer rows are split across threads for large inputs (the
 * DeepLab output is 513 x 513 rows of 21 classes).
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"
#include "quant_math.h"

enum { AM_OPT_OUTPUT_TYPE = 0 };

typedef struct am_data {
	nn_dtype in_type, out_type; /* values; int32 or int64 indices */
	int64_t outer, n, inner;    /* [outer, n, inner] around the axis */
	bool max_first;		    /* 8-bit, innermost axis: max, then its index */
} am_data;

typedef struct am_ctx {
	const am_data *d;
	const void *in;
	void *out;
} am_ctx;

/* For each of `inner` columns of one outer row: first index of the max. */
#define AM_SCAN(T)                                                                                           \
	do {                                                                                                 \
		const T *p = (const T *)in + o * d->n * d->inner;                                            \
		for (int64_t i = 0; i < d->inner; i++) {                                                     \
			T best = p[i];                                                                       \
			int64_t bi = 0;                                                                      \
			for (int64_t k = 1; k < d->n; k++) {                                                 \
				T v = p[k * d->inner + i];                                                   \
				if (v > best) {                                                              \
					best = v;                                                            \
					bi = k;                                                              \
				}                                                                            \
			}                                                                                    \
			if (d->out_type == NN_I64)                                                           \
				((int64_t *)out)[o * d->inner + i] = bi;                                     \
			else                                                                                 \
				((int32_t *)out)[o * d->inner + i] = (int32_t)bi;                            \
		}                                                                                            \
	} while (0)

/* The innermost axis of 8-bit data (DeepLab's classes): the row's maximum
 * first, by a branchless loop, then the first index holding it - the same
 * answer as the scan, without a hard-to-predict branch per element. */
#define AM_LAST_AXIS(T)                                                                                      \
	do {                                                                                                 \
		for (int64_t o = o0; o < o1; o++) {                                                          \
			const T *p = (const T *)in + o * d->n;                                               \
			T m = p[0];                                                                          \
			int64_t k = 0;                                                                       \
			for (int64_t j = 1; j < d->n; j++)                                                   \
				m = p[j] > m ? p[j] : m;                                                     \
			while (p[k] != m)                                                                    \
				k++;                                                                         \
			if (d->out_type == NN_I64)                                                           \
				((int64_t *)out)[o] = k;                                                     \
			else                                                                                 \
				((int32_t *)out)[o] = (int32_t)k;                                            \
		}                                                                                            \
	} while (0)

static void am_rows(const am_data *d, const void *in, void *out, int64_t o0, int64_t o1)
{
	if (d->max_first && d->in_type == NN_U8) {
		AM_LAST_AXIS(uint8_t);
		return;
	}
	if (d->max_first && d->in_type == NN_I8) {
		AM_LAST_AXIS(int8_t);
		return;
	}
	for (int64_t o = o0; o < o1; o++) {
		switch (d->in_type) {
		case NN_F32:
			AM_SCAN(float);
			break;
		case NN_U8:
			AM_SCAN(uint8_t);
			break;
		case NN_I8:
			AM_SCAN(int8_t);
			break;
		case NN_I16:
			AM_SCAN(int16_t);
			break;
		case NN_I32:
			AM_SCAN(int32_t);
			break;
		case NN_I64:
			AM_SCAN(int64_t);
			break;
		default:
			return; /* refused at prepare */
		}
	}
}

static void am_task(void *ctx_, int64_t o0, int64_t o1)
{
	const am_ctx *c = ctx_;

	am_rows(c->d, c->in, c->out, o0, o1);
}

static void am_free(void *p)
{
	nn_free(p);
}

static nn_status am_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *ax, *out;
	int64_t axis;
	int32_t dims[NN_MAX_RANK];
	nn_dtype ot;
	am_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	ax = nn_in(g, node, 1);
	out = nn_out(g, node, 0);
	switch (in->type) {
	case NN_F32:
	case NN_U8:
	case NN_I8:
	case NN_I16:
	case NN_I32:
	case NN_I64:
		break;
	default:
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	}
	if (in->rank < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "input is a scalar; there is no axis to reduce");
	/* a quantized input is compared raw: valid only with a positive scale */
	if (in->quant && in->quant->n > 0 && (in->type == NN_U8 || in->type == NN_I8 || in->type == NN_I16) &&
	    (st = qm_check_quant(node, in, "input", false, err)) != NN_OK)
		return st;
	if ((ax->type != NN_I32 && ax->type != NN_I64) || nn_tensor_count(ax) != 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "axis must be one int32 or int64 value, not %s with %lld elements",
				   nn_dtype_name(ax->type), (long long)nn_tensor_count(ax));
	if (ax->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "axis is computed at run time; only a constant axis is supported");
	axis = ax->type == NN_I64 ? *(const int64_t *)ax->data : *(const int32_t *)ax->data;
	if (axis < -in->rank || axis >= in->rank)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "axis %lld is out of range for rank %d",
				   (long long)axis, in->rank);
	if (axis < 0)
		axis += in->rank;
	if (in->dims[axis] == 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "axis %lld has size 0: no maximum to find",
				   (long long)axis);

	if (node->op->has_options && fb_has(&node->op->options, AM_OPT_OUTPUT_TYPE)) {
		ot = (nn_dtype)nn_opt_i8(node, AM_OPT_OUTPUT_TYPE, NN_I64);
		if (ot != NN_I32 && ot != NN_I64)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "output_type %s is not an index type (int32, int64)",
					   nn_dtype_name(ot));
		if (out->type != ot)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "output_type is %s but the output tensor is %s", nn_dtype_name(ot),
					   nn_dtype_name(out->type));
	} else {
		ot = out->type;
		if (ot != NN_I32 && ot != NN_I64)
			return nn_node_err(
			    node, err, NN_ERR_BAD_MODEL,
			    "no output_type option and the output tensor is %s (int32 or int64)",
			    nn_dtype_name(ot));
	}

	for (int k = 0, j = 0; k < in->rank; k++)
		if (k != axis)
			dims[j++] = in->dims[k];
	if ((st = nn_set_output(g, node, 0, ot, in->rank - 1, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->in_type = in->type;
	d->out_type = ot;
	d->outer = 1;
	d->inner = 1;
	d->n = in->dims[axis];
	for (int k = 0; k < axis; k++)
		d->outer *= in->dims[k];
	for (int k = (int)axis + 1; k < in->rank; k++)
		d->inner *= in->dims[k];
	d->max_first = d->inner == 1 && (d->in_type == NN_U8 || d->in_type == NN_I8) && !nn_force_reference();
	node->impl = d->max_first ? "max-first" : "ref";
	return NN_OK;
}

static nn_status am_eval(const nn_node *node, nn_exec *ex)
{
	const am_data *d = node->data;
	am_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};
	int64_t per_row = d->n * d->inner;

	if (per_row > 0)
		nn_parallel_range(ex, d->outer, 65536 / per_row + 1, am_task, &c); /* ~64k values per task */
	return NN_OK;
}

const nn_kernel nn_k_arg_max = {
    .name = "ARG_MAX",
    .prepare = am_prepare,
    .eval = am_eval,
    .free = am_free,
};
