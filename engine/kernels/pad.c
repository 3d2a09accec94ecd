/* pad.c - PAD: surround a tensor with a constant.
 *
 * DESIGN: padding moves bytes and never interprets them, so every
 * fixed-size dtype shares one path.  The pad value is 0, or the zero point
 * for a quantized (per-tensor) tensor, i.e. the quantized encoding of 0.0;
 * since nothing is rescaled, a quantized output must carry the input's
 * parameters.  Paddings are input 1, a constant int32 or int64 [rank, 2]
 * tensor of (before, after) pairs, each >= 0 (TFLite's rules).
 *
 * prepare folds the innermost dimensions that get no padding into one
 * contiguous element of `blk` bytes (padding an NHWC image in H and W makes
 * C the element), so the output is a set of rows over the remaining outer
 * dimensions: a row is either entirely padding or [pad | input run | pad].
 * eval walks rows with an odometer; tasks take disjoint row ranges, so the
 * result does not depend on the thread count.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "quant_math.h"
#include "kernel.h"

typedef struct pad_data {
	int k;			     /* folded rank; 0 = the output is a plain copy */
	int64_t in_dim[NN_MAX_RANK]; /* per folded dim, in elements of blk bytes for the last */
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int64_t out_dim[NN_MAX_RANK];
	size_t in_stride[NN_MAX_RANK]; /* input bytes per step of each outer dim */
	size_t blk;		       /* bytes of one element of the innermost folded dim */
	int64_t rows;		       /* product of the outer output dims */
	size_t row_bytes;	       /* one output row */
	size_t in_bytes;	       /* whole input (plain copy) */
	size_t es;		       /* element size */
	uint8_t value[8];	       /* one element of the pad value */
	bool value_zero;	       /* all value bytes are 0: memset */
} pad_data;

typedef struct pad_ctx {
	const pad_data *d;
	const uint8_t *in;
	uint8_t *out;
	int64_t rows_per_task;
} pad_ctx;

static void pad_fill(const pad_data *d, uint8_t *p, size_t bytes)
{
	if (d->value_zero || d->es == 1) {
		memset(p, d->value[0], bytes);
		return;
	}
	for (size_t i = 0; i < bytes; i += d->es)
		memcpy(p + i, d->value, d->es);
}

static void pad_rows(const pad_data *d, const uint8_t *in, uint8_t *out, int64_t r0, int64_t r1)
{
	int n_outer = d->k - 1;
	int64_t c[NN_MAX_RANK] = {0};
	const int64_t L = d->lo[n_outer], N = d->in_dim[n_outer], H = d->hi[n_outer];

	int64_t rem = r0;

	for (int j = n_outer - 1; j >= 0; j--) { /* row index -> outer coordinates */
		c[j] = rem % d->out_dim[j];
		rem /= d->out_dim[j];
	}
	for (int64_t r = r0; r < r1; r++) {
		uint8_t *o = out + (size_t)r * d->row_bytes;
		size_t ioff = 0;
		bool inside = true;
		for (int j = 0; j < n_outer; j++) {
			int64_t s = c[j] - d->lo[j];
			if (s < 0 || s >= d->in_dim[j]) {
				inside = false;
				break;
			}
			ioff += (size_t)s * d->in_stride[j];
		}
		if (!inside) {
			pad_fill(d, o, d->row_bytes);
		} else {
			pad_fill(d, o, (size_t)L * d->blk);
			memcpy(o + (size_t)L * d->blk, in + ioff, (size_t)N * d->blk);
			pad_fill(d, o + (size_t)(L + N) * d->blk, (size_t)H * d->blk);
		}
		for (int j = n_outer - 1; j >= 0; j--) {
			if (++c[j] < d->out_dim[j])
				break;
			c[j] = 0;
		}
	}
}

static void pad_task(void *ctx_, int task, int thread)
{
	const pad_ctx *c = ctx_;
	int64_t r0 = (int64_t)task * c->rows_per_task, r1 = r0 + c->rows_per_task;

	(void)thread;
	if (r1 > c->d->rows)
		r1 = c->d->rows;
	pad_rows(c->d, c->in, c->out, r0, r1);
}

static void pad_free(void *p)
{
	nn_free(p);
}

/* Reads pair (before, after) of dimension dim from an int32/int64 [rank,2] tensor. */
static void pad_pair(const nn_tensor *p, int dim, int64_t *lo, int64_t *hi)
{
	if (p->type == NN_I64) {
		*lo = ((const int64_t *)p->data)[2 * dim];
		*hi = ((const int64_t *)p->data)[2 * dim + 1];
	} else {
		*lo = ((const int32_t *)p->data)[2 * dim];
		*hi = ((const int32_t *)p->data)[2 * dim + 1];
	}
}

/* The pad value's bytes: 0, or the zero point of a quantized integer tensor. */
static nn_status pad_value(const nn_node *node, const nn_tensor *in, const nn_tensor *out, pad_data *d,
			   nn_err *err)
{
	int64_t zp;

	memset(d->value, 0, sizeof(d->value));
	d->value_zero = true;
	if (!out->quant || in->type == NN_F32 || in->type == NN_F16 || in->type == NN_F64 ||
	    in->type == NN_BOOL)
		return NN_OK;
	if (in->quant && !qm_same_quant(in->quant, out->quant))
		return nn_node_err(
		    node, err, NN_ERR_UNSUPPORTED,
		    "output quantization differs from the input's (values are copied, not rescaled)");
	if (out->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "per-axis quantized %s is not supported",
				   nn_dtype_name(out->type));
	zp = out->quant->zero_point[0];
	switch (in->type) {
	case NN_U8:
		if (zp < 0 || zp > 255)
			goto range;
		d->value[0] = (uint8_t)zp;
		break;
	case NN_I8:
		if (zp < -128 || zp > 127)
			goto range;
		{
			int8_t v = (int8_t)zp;
			memcpy(d->value, &v, 1);
		}
		break;
	case NN_I16:
		if (zp < INT16_MIN || zp > INT16_MAX)
			goto range;
		{
			int16_t v = (int16_t)zp;
			memcpy(d->value, &v, 2);
		}
		break;
	case NN_I32:
		if (zp < INT32_MIN || zp > INT32_MAX)
			goto range;
		{
			int32_t v = (int32_t)zp;
			memcpy(d->value, &v, 4);
		}
		break;
	case NN_I64:
		memcpy(d->value, &zp, 8);
		break;
	default:
		break;
	}
	d->value_zero = zp == 0;
	return NN_OK;
range:
	return nn_node_err(node, err, NN_ERR_BAD_MODEL, "zero point %lld is out of range for %s",
			   (long long)zp, nn_dtype_name(in->type));
}

static nn_status pad_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *pads, *out;
	int32_t odims[NN_MAX_RANK];
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int rank, inner;
	size_t es;
	pad_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	pads = nn_in(g, node, 1);
	out = nn_out(g, node, 0);
	rank = in->rank;
	es = nn_dtype_size(in->type);
	if (es == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if ((pads->type != NN_I32 && pads->type != NN_I64) || pads->rank != 2 || pads->dims[0] != rank ||
	    pads->dims[1] != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "paddings must be an int32 or int64 tensor of shape [%d,2] (%s, rank %d)",
				   rank, nn_dtype_name(pads->type), pads->rank);
	if (pads->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "paddings are computed at run time; only constant paddings are supported");
	for (int k = 0; k < rank; k++) {
		int64_t o;
		pad_pair(pads, k, &lo[k], &hi[k]);
		if (lo[k] < 0 || hi[k] < 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "dimension %d has negative padding (%lld, %lld)", k,
					   (long long)lo[k], (long long)hi[k]);
		o = (int64_t)in->dims[k] + lo[k] + hi[k];
		if (lo[k] > INT32_MAX || hi[k] > INT32_MAX || o > INT32_MAX)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "dimension %d padded by (%lld, %lld) is too large", k,
					   (long long)lo[k], (long long)hi[k]);
		odims[k] = (int32_t)o;
	}
	if ((st = nn_set_output(g, node, 0, in->type, rank, odims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->es = es;
	d->in_bytes = in->bytes;
	if ((st = pad_value(node, in, out, d, err)) != NN_OK)
		return st; /* node->data is released by the graph */

	/* fold the unpadded innermost dims into the element */
	d->blk = es;
	inner = rank;
	while (inner > 0 && lo[inner - 1] == 0 && hi[inner - 1] == 0)
		d->blk *= (size_t)in->dims[--inner];
	/* the remaining dims, skipping unpadded size-1 ones (they do not change the layout) */
	for (int k = 0; k < inner; k++) {
		if (in->dims[k] == 1 && lo[k] == 0 && hi[k] == 0)
			continue;
		d->in_dim[d->k] = in->dims[k];
		d->lo[d->k] = lo[k];
		d->hi[d->k] = hi[k];
		d->out_dim[d->k] = odims[k];
		d->k++;
	}
	if (d->k > 0) {
		size_t s = (size_t)d->in_dim[d->k - 1] * d->blk;
		for (int j = d->k - 2; j >= 0; j--) {
			d->in_stride[j] = s;
			s *= (size_t)d->in_dim[j];
		}
		d->rows = 1;
		for (int j = 0; j < d->k - 1; j++)
			d->rows *= d->out_dim[j];
		d->row_bytes = (size_t)d->out_dim[d->k - 1] * d->blk;
	}
	node->impl = "ref";
	return NN_OK;
}

static nn_status pad_eval(const nn_node *node, nn_exec *ex)
{
	const pad_data *d = node->data;
	pad_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data, 1};
	int64_t n_tasks;

	if (d->k == 0) {
		if (d->in_bytes)
			memcpy(c.out, c.in, d->in_bytes);
		return NN_OK;
	}
	if (d->rows == 0 || d->row_bytes == 0)
		return NN_OK;
	c.rows_per_task = (int64_t)(65536 / d->row_bytes) + 1; /* ~64 KiB of output per task */
	n_tasks = (d->rows + c.rows_per_task - 1) / c.rows_per_task;
	if (n_tasks > 1 && ex->n_threads > 1)
		nn_parallel_for(ex, (int)n_tasks, pad_task, &c);
	else
		pad_rows(d, c.in, c.out, 0, d->rows);
	return NN_OK;
}

const nn_kernel nn_k_pad = {
    .name = "PAD",
    .prepare = pad_prepare,
    .eval = pad_eval,
    .free = pad_free,
};
