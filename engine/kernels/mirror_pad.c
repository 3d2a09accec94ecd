/* mirror_pad.c - MIRROR_PAD: pad a tensor with its own mirror image.
 *
 * DESIGN: like PAD, a byte move: every fixed-size dtype shares one path and
 * a quantized output must carry the input's parameters.  Along a dimension
 * of size n padded by (lo, hi), output index p reads input index
 *   p < lo:         lo - 1 - p + off
 *   lo <= p < lo+n: p - lo
 *   p >= lo + n:    n - 1 - off - (p - lo - n)
 * with off = 1 for REFLECT (the border is not repeated: [a b c] -> b|a b c|b)
 * and off = 0 for SYMMETRIC (it is: a|a b c|c), the mapping of TFLite's
 * mirror_pad.cc.  Indices stay inside the input only if lo, hi <= n - off,
 * so prepare refuses larger paddings (TFLite would read out of bounds).
 * MirrorPadOptions.mode is field 0 (REFLECT=0, SYMMETRIC=1); paddings are
 * input 1, a constant int32 or int64 [rank, 2].
 *
 * As in pad.c, unpadded innermost dimensions fold into one contiguous
 * element of `blk` bytes, the output is walked as rows over the outer
 * dimensions (each mapped to its mirrored input row), and a row is
 * [mirrored elements | input run | mirrored elements].  Tasks take disjoint
 * row ranges.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "quant_math.h"
#include "kernel.h"

enum { MP_OPT_MODE = 0, MP_REFLECT = 0, MP_SYMMETRIC = 1 };

typedef struct mp_data {
	int k; /* folded rank; 0 = plain copy */
	int64_t in_dim[NN_MAX_RANK];
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int64_t out_dim[NN_MAX_RANK];
	size_t in_stride[NN_MAX_RANK]; /* input bytes per step of each outer dim */
	int64_t off;		       /* 1 = REFLECT, 0 = SYMMETRIC */
	size_t blk;		       /* bytes of one element of the innermost folded dim */
	int64_t rows;
	size_t row_bytes;
	size_t in_bytes;
} mp_data;

typedef struct mp_ctx {
	const mp_data *d;
	const uint8_t *in;
	uint8_t *out;
	int64_t rows_per_task;
} mp_ctx;

static inline int64_t mp_source(int64_t p, int64_t lo, int64_t n, int64_t off)
{
	if (p < lo)
		return lo - 1 - p + off;
	p -= lo;
	if (p < n)
		return p;
	return n - 1 - off - (p - n);
}

static void mp_rows(const mp_data *d, const uint8_t *in, uint8_t *out, int64_t r0, int64_t r1)
{
	int n_outer = d->k - 1;
	int64_t c[NN_MAX_RANK] = {0};
	const int64_t L = d->lo[n_outer], N = d->in_dim[n_outer], H = d->hi[n_outer];
	const size_t blk = d->blk;
	int64_t rem = r0;

	for (int j = n_outer - 1; j >= 0; j--) { /* row index -> outer coordinates */
		c[j] = rem % d->out_dim[j];
		rem /= d->out_dim[j];
	}
	for (int64_t r = r0; r < r1; r++) {
		uint8_t *o = out + (size_t)r * d->row_bytes;
		const uint8_t *src = in;
		for (int j = 0; j < n_outer; j++)
			src += (size_t)mp_source(c[j], d->lo[j], d->in_dim[j], d->off) * d->in_stride[j];
		for (int64_t p = 0; p < L; p++, o += blk)
			memcpy(o, src + (size_t)(L - 1 - p + d->off) * blk, blk);
		memcpy(o, src, (size_t)N * blk);
		o += (size_t)N * blk;
		for (int64_t q = 0; q < H; q++, o += blk)
			memcpy(o, src + (size_t)(N - 1 - d->off - q) * blk, blk);
		for (int j = n_outer - 1; j >= 0; j--) {
			if (++c[j] < d->out_dim[j])
				break;
			c[j] = 0;
		}
	}
}

static void mp_task(void *ctx_, int task, int thread)
{
	const mp_ctx *c = ctx_;
	int64_t r0 = (int64_t)task * c->rows_per_task, r1 = r0 + c->rows_per_task;

	(void)thread;
	if (r1 > c->d->rows)
		r1 = c->d->rows;
	mp_rows(c->d, c->in, c->out, r0, r1);
}

static void mp_free(void *p)
{
	nn_free(p);
}

static nn_status mp_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *pads, *out;
	int32_t odims[NN_MAX_RANK];
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int rank, inner, mode;
	int64_t off;
	size_t es;
	mp_data *d;
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
	if (in->quant && out->quant && !qm_same_quant(in->quant, out->quant))
		return nn_node_err(
		    node, err, NN_ERR_UNSUPPORTED,
		    "output quantization differs from the input's (values are copied, not rescaled)");
	mode = nn_opt_i8(node, MP_OPT_MODE, MP_REFLECT);
	if (mode != MP_REFLECT && mode != MP_SYMMETRIC)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "mode %d is neither REFLECT (0) nor SYMMETRIC (1)", mode);
	off = mode == MP_REFLECT ? 1 : 0;
	if ((pads->type != NN_I32 && pads->type != NN_I64) || pads->rank != 2 || pads->dims[0] != rank ||
	    pads->dims[1] != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "paddings must be an int32 or int64 tensor of shape [%d,2] (%s, rank %d)",
				   rank, nn_dtype_name(pads->type), pads->rank);
	if (pads->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "paddings are computed at run time; only constant paddings are supported");
	for (int k = 0; k < rank; k++) {
		int64_t limit = (int64_t)in->dims[k] - off > 0 ? (int64_t)in->dims[k] - off : 0;
		if (pads->type == NN_I64) {
			lo[k] = ((const int64_t *)pads->data)[2 * k];
			hi[k] = ((const int64_t *)pads->data)[2 * k + 1];
		} else {
			lo[k] = ((const int32_t *)pads->data)[2 * k];
			hi[k] = ((const int32_t *)pads->data)[2 * k + 1];
		}
		if (lo[k] < 0 || hi[k] < 0 || lo[k] > limit || hi[k] > limit)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "dimension %d of size %d cannot be %s-padded by (%lld, %lld): "
					   "each must be 0..%lld",
					   k, in->dims[k], off ? "REFLECT" : "SYMMETRIC", (long long)lo[k],
					   (long long)hi[k], (long long)limit);
		if ((int64_t)in->dims[k] + lo[k] + hi[k] > INT32_MAX) /* at most 3 * dim: fits int64 */
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "dimension %d padded by (%lld, %lld) is too large", k,
					   (long long)lo[k], (long long)hi[k]);
		odims[k] = (int32_t)((int64_t)in->dims[k] + lo[k] + hi[k]);
	}
	if ((st = nn_set_output(g, node, 0, in->type, rank, odims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->off = off;
	d->in_bytes = in->bytes;
	d->blk = es;
	inner = rank;
	while (inner > 0 && lo[inner - 1] == 0 && hi[inner - 1] == 0)
		d->blk *= (size_t)in->dims[--inner];
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
	node->data = d;
	node->impl = "ref";
	return NN_OK;
}

static nn_status mp_eval(const nn_node *node, nn_exec *ex)
{
	const mp_data *d = node->data;
	mp_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data, 1};
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
		nn_parallel_for(ex, (int)n_tasks, mp_task, &c);
	else
		mp_rows(d, c.in, c.out, 0, d->rows);
	return NN_OK;
}

const nn_kernel nn_k_mirror_pad = {
    .name = "MIRROR_PAD",
    .prepare = mp_prepare,
    .eval = mp_eval,
    .free = mp_free,
};
