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
 * The folded row geometry and the threaded row walk are pad_common.h's;
 * each output row reads its mirrored input row and is
 * [mirrored elements | input run | mirrored elements].
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "quant_math.h"
#include "kernel.h"
#include "pad_common.h"

enum { MP_OPT_MODE = 0, MP_REFLECT = 0, MP_SYMMETRIC = 1 };

typedef struct mp_data {
	pad_geom g;
	int64_t off; /* 1 = REFLECT, 0 = SYMMETRIC */
} mp_data;

static inline int64_t mp_source(int64_t p, int64_t lo, int64_t n, int64_t off)
{
	if (p < lo)
		return lo - 1 - p + off;
	p -= lo;
	if (p < n)
		return p;
	return n - 1 - off - (p - n);
}

static void mp_row(const void *op, const pad_geom *g, const uint8_t *in, uint8_t *o, const int64_t *c)
{
	const mp_data *d = op;
	int n_outer = g->k - 1;
	const int64_t L = g->lo[n_outer], N = g->in_dim[n_outer], H = g->hi[n_outer];
	const size_t blk = g->blk;
	const uint8_t *src = in;

	for (int j = 0; j < n_outer; j++)
		src += (size_t)mp_source(c[j], g->lo[j], g->in_dim[j], d->off) * g->in_stride[j];
	for (int64_t p = 0; p < L; p++, o += blk)
		memcpy(o, src + (size_t)(L - 1 - p + d->off) * blk, blk);
	memcpy(o, src, (size_t)N * blk);
	o += (size_t)N * blk;
	for (int64_t q = 0; q < H; q++, o += blk)
		memcpy(o, src + (size_t)(N - 1 - d->off - q) * blk, blk);
}

static void mp_free(void *p)
{
	nn_free(p);
}

static nn_status mp_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *out;
	int32_t odims[NN_MAX_RANK];
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int rank, mode;
	int64_t off;
	size_t es;
	mp_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
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
	if ((st = pad_read_paddings(g, node, rank, lo, hi, err)) != NN_OK)
		return st;
	for (int k = 0; k < rank; k++) {
		int64_t limit = (int64_t)in->dims[k] - off > 0 ? (int64_t)in->dims[k] - off : 0;
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
	pad_geom_fold(&d->g, in, es, lo, hi, odims);
	node->data = d;
	node->impl = "ref";
	return NN_OK;
}

static nn_status mp_eval(const nn_node *node, nn_exec *ex)
{
	const mp_data *d = node->data;

	pad_geom_run(ex, &d->g, mp_row, d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data);
	return NN_OK;
}

const nn_kernel nn_k_mirror_pad = {
    .name = "MIRROR_PAD",
    .prepare = mp_prepare,
    .eval = mp_eval,
    .free = mp_free,
};
