/* conv_2d_int.c - CONV_2D on uint8 and int8 tensors, and the integer
 * machinery the convolution family shares (conv_common.h).
 *
 * DESIGN: two quantization schemes, both TFLite's:
 *   uint8  asymmetric per tensor (input, filter, output each with a zero
 *          point), int32 bias; requantized with gemmlowp's double rounding,
 *          the multiplier from TFLite's legacy per-tensor formula (input
 *          scale * filter scale rounded to float, then / output scale in
 *          double).
 *   int8   TF2 post-training quantization: int8 input and output with zero
 *          points, int8 symmetric filter per output channel (axis 0) or per
 *          tensor, int32 bias; requantized with ruy's single rounding (TFLite
 *          sends int8 convolutions through ruy), multipliers
 *          (double) in * (double) f[c] / (double) out.
 * Variants, chosen at prepare:
 *   "ref"         direct loops, one task per output row: the oracle.
 *   "avx512vnni"  the packed GEMM of conv_common.h (weights packed at
 *                 load, vpdpbusd, zero points folded into per-channel
 *                 constants and per-pixel row sums) over tiles of output
 *                 pixels: a 1x1 stride-1 convolution reads its input in
 *                 place (a pixel's window is one input row), any other
 *                 unfolds each tile (im2col, raw input bytes, xz at padded
 *                 taps) into per-thread scratch first.
 *   "avx2"        the same tiles, widened to int16 x - xz, vpmaddwd.
 * The filter and bias must be constants (they are packed at load).  Tasks
 * are cut by shape only (conv_split_make), so results do not depend on the
 * thread count, and every variant is bit-exact with the reference: integer
 * sums are exact (modulo 2^32, like TFLite's), and the vector requantization
 * reproduces the scalar one lane by lane.
 */
#include <string.h>

#include "alloc.h"
#include "conv_common.h"
#include "cpu.h"
#include "kernel.h"

typedef enum cq_variant {
	CQ_REF,
	CQ_VNNI,
	CQ_AVX2,
} cq_variant;

#define CQ_TILE_BYTES (256u << 10) /* im2col tile per thread: stays in L2 */
#define CQ_TILE_MAX 240		   /* pixels per task (a multiple of the kernels' 6 and 4 rows) */
#define CQ_TILE_MIN 12
#define CQ_MIN_TILES 4 /* row tiles of a layer without column chunks, if it has the pixels */
#define CQ_SLACK 16 /* bytes an im2col row may write past its end */

struct conv_int {
	conv_geom g;
	cq_variant variant;
	bool is_signed;	  /* int8 tensors, else uint8 */
	int32_t in_zp;	  /* input zero point */
	int32_t w_zp;	  /* filter zero point (uint8; 0 for int8) */
	int depth;	  /* kh * kw * ic */
	conv_rq rq;	  /* per output channel */
	conv_qgemm gemm;  /* fast variants: packed weights */
	conv_split split; /* fast variants: pixel tiles x channel chunks */
};

typedef struct cq_run {
	const conv_int *q;
	const void *in, *filter;
	const int32_t *bias; /* may be NULL */
	void *out;
	nn_exec *ex;
} cq_run;

/* ==== shared by the family (declared in conv_common.h) ================= */

void conv_rq_free(conv_rq *rq)
{
	nn_free(rq->mult);
	nn_free(rq->shift);
	nn_free(rq->blk);
	rq->mult = rq->shift = NULL;
	rq->blk = NULL;
}

/* The fused constants of conv_rq16 (conv_common.h).  The zero point goes
 * into the rounding constant, zp * 2^s, only when no sum can leave int64:
 * the product is below 2^62 in magnitude, so zp * 2^s must stay below
 * about 2^61 - s <= 52 for |zp| <= 255. */
static void rq_blocks_fused(conv_rq *rq, int np)
{
	int s_max = 0;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			rq->zp_in = s_max <= 52;
		for (int c = 0; c < np; c++) {
			conv_rq_block *k = &rq->blk[c / 16];
			int j = c % 16, sh = rq->shift[c];
			int right = sh > 0 ? 0 : -sh;
			int s = rq->single ? 31 - sh : 31 + right;
			int64_t kk, nn = 0;

			if (pass == 0) {
				s_max = s > s_max ? s : s_max;
				continue;
			}
			if (rq->single) {
				kk = 1ll << (s - 1);
			} else {
				/* floor((p + 2^30) / 2^31) then the ties-away divide by 2^right,
				 * floor((h + 2^(right-1) - [h < 0]) / 2^right), in one floor */
				kk = (1ll << 30) + (right ? 1ll << (30 + right) : 0);
				nn = right ? 1ll << 31 : 0;
			}
			if (rq->zp_in)
				kk += (int64_t)rq->out_zp * (int64_t)(1ull << s);
			(j % 2 ? k->k_o : k->k_e)[j / 2] = kk;
			(j % 2 ? k->n_o : k->n_e)[j / 2] = nn;
			(j % 2 ? k->s_o : k->s_e)[j / 2] = s;
		}
	}
}

/* The vector requantization's constants (conv_rq_block) of every channel. */
static void rq_blocks(conv_rq *rq, int np)
{
	rq->t_ge_32 = true;
	for (int c = 0; c < np; c++) {
		conv_rq_block *k = &rq->blk[c / 16];
		int j = c % 16, s = rq->shift[c], t = 31 - s;
		int right = s > 0 ? 0 : -s;
		uint32_t m2 = 2u * (uint32_t)rq->mult[c];

		k->m[j] = rq->mult[c];
		k->m2[j] = m2;
		if (j % 2) {
			k->m_odd[j - 1] = rq->mult[c];
			k->m2_odd[j - 1] = m2;
			k->rnd_o[j / 2] = 1ll << (t - 1);
			k->t_o[j / 2] = t;
		} else {
			k->rnd_e[j / 2] = 1ll << (t - 1);
			k->t_e[j / 2] = t;
		}
		k->t32[j] = t - 32;
		k->left[j] = s > 0 ? s : 0;
		k->right[j] = right;
		k->mask[j] = (int32_t)((1ll << right) - 1);
		k->half[j] = k->mask[j] >> 1;
		if (s > 0)
			rq->any_left = true;
		if (t < 32)
			rq->t_ge_32 = false;
	}
	rq_blocks_fused(rq, np);
}

nn_status conv_rq_init(const nn_node *node, const nn_tensor *in, const nn_tensor *f, const nn_tensor *out,
		       int axis, int channels, int act, bool single, bool per_tensor_float_product,
		       bool allow_w_zp, conv_rq *rq, nn_err *err)
{
	int np = conv_round16(channels);
	int32_t qmin, qmax;
	float in_s, out_s;
	nn_status st;

	memset(rq, 0, sizeof(*rq));
	if ((st = qm_check_quant(node, in, "input", false, err)) != NN_OK ||
	    (st = qm_check_quant(node, out, "output", false, err)) != NN_OK)
		return st;
	if (in->quant->n != 1 || out->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "input and output must be quantized per tensor (they have %d and %d scales)",
				   in->quant->n, out->quant->n);
	if (!f->quant || f->quant->n < 1)
		return qm_check_quant(node, f, "filter", false, err); /* names the missing parameters */
	if (f->quant->n > 1) {
		if (f->type != NN_I8)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "per-channel quantization of a %s filter is not supported (only int8)",
					   nn_dtype_name(f->type));
		if (f->quant->n != channels || f->quant->axis != axis)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "filter has %d scales along dimension %d; expected %d along dimension %d",
					   f->quant->n, f->quant->axis, channels, axis);
	}
	if ((st = qm_check_quant(node, f, "filter", f->type == NN_I8 && (f->quant->n > 1 || !allow_w_zp),
				 err)) != NN_OK)
		return st;

	rq->mult = nn_calloc((size_t)np, sizeof(int32_t));
	rq->shift = nn_calloc((size_t)np, sizeof(int32_t));
	rq->blk = nn_aligned_alloc(64, (size_t)(np / 16) * sizeof(conv_rq_block));
	if (!rq->mult || !rq->shift || !rq->blk)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory for %d multipliers", channels);
	memset(rq->blk, 0, (size_t)(np / 16) * sizeof(conv_rq_block));
	in_s = in->quant->scale[0];
	out_s = out->quant->scale[0];
	for (int c = 0; c < channels; c++) {
		float f_s = f->quant->scale[f->quant->n > 1 ? c : 0];
		double real;
		int shift;

		if (per_tensor_float_product && f->quant->n == 1) {
			float prod = in_s * f_s; /* TFLite rounds this product to float */
			real = (double)prod / (double)out_s;
		} else {
			real = (double)in_s * (double)f_s / (double)out_s;
		}
		if (!qm_quantize_multiplier(real, &rq->mult[c], &shift))
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "channel %d: output multiplier %g is not representable", c, real);
		rq->shift[c] = shift;
	}
	rq->single = single;
	rq->out_zp = (int32_t)out->quant->zero_point[0];
	rq_blocks(rq, np);
	if (!qm_dtype_range(out->type, &qmin, &qmax))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "output type %s", nn_dtype_name(out->type));
	if ((st = qm_activation_range(node, act, out_s, rq->out_zp, qmin, qmax, &rq->lo, &rq->hi, err)) != NN_OK)
		return st;
	rq->is_signed = out->type == NN_I8;
	rq->clamp = rq->lo != qmin || rq->hi != qmax;
	return NN_OK;
}

nn_status conv_check_bias_int(const nn_node *node, const nn_tensor *bias, int channels, nn_err *err)
{
	if (!bias)
		return NN_OK;
	if (bias->type != NN_I32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "bias type %s with integer input is not supported (expected int32)",
				   nn_dtype_name(bias->type));
	if (bias->rank != 1 || bias->dims[0] != channels)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "bias must have shape [%d] (rank %d, %lld elements)",
				   channels, bias->rank, (long long)nn_tensor_count(bias));
	if (bias->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "a bias computed at run time is not supported");
	return NN_OK;
}

void conv_qgemm_free(conv_qgemm *q)
{
	nn_free(q->w);
	nn_free(q->cst);
	q->w = NULL;
	q->cst = NULL;
}

bool conv_qgemm_init(conv_qgemm *q, int isa, const void *w, int32_t wz, const int32_t *bias, int n, int k,
		     bool in_signed, int32_t xz, const conv_rq *rq)
{
	const uint8_t *wu = w;
	const int8_t *wsg = w;
	size_t bytes;

	memset(q, 0, sizeof(*q));
	q->isa = isa;
	q->k = k;
	q->kp = (k + 3) / 4 * 4;
	q->n = n;
	q->np = conv_round16(n);
	q->rq = rq;
	q->in_signed = in_signed;
	q->x_zp = xz;
	bytes = (size_t)q->np * q->kp * (isa == CONV_QG_AVX2 ? 2 : 1);
	q->w = nn_aligned_alloc(64, bytes);
	q->cst = nn_aligned_alloc(64, (size_t)q->np * sizeof(int32_t));
	if (!q->w || !q->cst)
		return false;
	memset(q->w, 0, bytes);
	memset(q->cst, 0, (size_t)q->np * sizeof(int32_t));

	if (isa == CONV_QG_AVX2) {
		int16_t *dst = q->w;
		/* [np/16][kp/2][16][2]: panel, pair, channel, element */
		for (int c = 0; c < n; c++)
			for (int kk = 0; kk < k; kk++) {
				int32_t v = (in_signed ? wsg[(size_t)c * k + kk] : wu[(size_t)c * k + kk]) - wz;
				size_t at = (((size_t)(c / 16) * (q->kp / 2) + kk / 2) * 16 + c % 16) * 2 + kk % 2;
				dst[at] = (int16_t)v;
			}
		for (int c = 0; c < n; c++)
			q->cst[c] = bias ? bias[c] : 0;
		return true;
	}

	/* VNNI, int8 input, symmetric weights: the kernel flips each input byte
	 * to x + 128 (one xor per broadcast) and W = w stays signed, so
	 * sum (x - xz) w = dot(x + 128, w) - (xz + 128) sum w: no row sums. */
	if (in_signed && wz == 0) {
		uint8_t *dst = q->w;
		int kq = q->kp / 4, nblk = q->np / 16;

		q->flip = true;
		for (int c = 0; c < n; c++) {
			int blk = c / 16, panel = blk / 4, j = blk % 4;
			int pblocks = nblk - panel * 4 < 4 ? nblk - panel * 4 : 4;
			uint8_t *base = dst + (size_t)panel * 4 * kq * 64 + (size_t)j * 64 + (size_t)(c % 16) * 4;
			uint32_t sum = 0;

			for (int kk = 0; kk < k; kk++) {
				int8_t v = wsg[(size_t)c * k + kk];
				base[(size_t)(kk / 4) * pblocks * 64 + kk % 4] = (uint8_t)v;
				sum += (uint32_t)(int32_t)v;
			}
			q->cst[c] = (int32_t)((uint32_t)(bias ? bias[c] : 0) - (uint32_t)(xz + 128) * sum);
		}
		return true;
	}

	/* VNNI: W = w - aw takes the signedness the input lacks */
	{
		uint8_t *dst = q->w;
		int32_t aw, wlo = in_signed ? 0 : -128, whi = in_signed ? 255 : 127;
		int wmin = 255, wmax = -128, kq = q->kp / 4, nblk = q->np / 16;

		for (size_t i = 0; i < (size_t)n * k; i++) {
			int v = in_signed ? wsg[i] : wu[i];
			wmin = v < wmin ? v : wmin;
			wmax = v > wmax ? v : wmax;
		}
		if (wmin - wz >= wlo && wmax - wz <= whi)
			aw = wz; /* no row sums needed */
		else
			aw = in_signed ? -128 : 128;
		q->rsum = aw - wz;
		for (int c = 0; c < n; c++) {
			int blk = c / 16, panel = blk / 4, j = blk % 4;
			int pblocks = nblk - panel * 4 < 4 ? nblk - panel * 4 : 4;
			uint8_t *base = dst + (size_t)panel * 4 * kq * 64 + (size_t)j * 64 + (size_t)(c % 16) * 4;
			uint32_t sum = 0;

			for (int kk = 0; kk < k; kk++) {
				int32_t v = (in_signed ? wsg[(size_t)c * k + kk] : wu[(size_t)c * k + kk]) - aw;
				base[(size_t)(kk / 4) * pblocks * 64 + kk % 4] = (uint8_t)v;
				sum += (uint32_t)v;
			}
			/* cst = bias - xz * (sum W + K * (aw - wz)), modulo 2^32 */
			sum += (uint32_t)k * (uint32_t)(aw - wz);
			q->cst[c] = (int32_t)((uint32_t)(bias ? bias[c] : 0) - (uint32_t)xz * sum);
		}
	}
	return true;
}

/* ==== reference ======================================================== */

/* One output row (batch b, row oy) by direct summation. */
static void cq_ref_row(void *ctx, int task, int thread)
{
	const cq_run *r = ctx;
	const conv_int *q = r->q;
	const conv_geom *g = &q->g;
	int b = task / g->oh, oy = task % g->oh;
	int y0 = oy * g->sh - g->pad_h, ky_lo, ky_hi;
	size_t out_at = ((size_t)b * g->oh + oy) * g->ow * g->oc;
	const int32_t xz = q->in_zp, wz = q->w_zp;

	(void)thread;
	conv_tap_range(y0, g->kh, g->dh, g->ih, &ky_lo, &ky_hi);
	for (int ox = 0; ox < g->ow; ox++) {
		int x0 = ox * g->sw - g->pad_w, kx_lo, kx_hi;

		conv_tap_range(x0, g->kw, g->dw, g->iw, &kx_lo, &kx_hi);
		for (int o = 0; o < g->oc; o++) {
			uint32_t acc = r->bias ? (uint32_t)r->bias[o] : 0; /* wraps like TFLite's int32 */
			int32_t v;

			for (int ky = ky_lo; ky < ky_hi; ky++) {
				int iy = y0 + ky * g->dh;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					int ix = x0 + kx * g->dw;
					size_t ia = (((size_t)b * g->ih + iy) * g->iw + ix) * g->ic;
					size_t fa = (((size_t)o * g->kh + ky) * g->kw + kx) * g->ic;
					if (q->is_signed) {
						const int8_t *ip = (const int8_t *)r->in + ia;
						const int8_t *fp = (const int8_t *)r->filter + fa;
						for (int c = 0; c < g->ic; c++)
							acc += (uint32_t)((ip[c] - xz) * fp[c]);
					} else {
						const uint8_t *ip = (const uint8_t *)r->in + ia;
						const uint8_t *fp = (const uint8_t *)r->filter + fa;
						for (int c = 0; c < g->ic; c++)
							acc += (uint32_t)((ip[c] - xz) * (fp[c] - wz));
					}
				}
			}
			v = conv_rq_apply(&q->rq, o, (int32_t)acc);
			if (q->is_signed)
				((int8_t *)r->out)[out_at + (size_t)ox * g->oc + o] = (int8_t)v;
			else
				((uint8_t *)r->out)[out_at + (size_t)ox * g->oc + o] = (uint8_t)v;
		}
	}
}

/* ==== im2col + packed GEMM ============================================= */

/* True when output pixel p's window is one input row of ic bytes and
 * rows can be read in place (kp == k): a 1x1 window with stride 1. */
static bool cq_direct(const conv_int *q)
{
	const conv_geom *g = &q->g;
	return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && q->gemm.kp == q->gemm.k;
}

/* Copies a run of n bytes.  Runs of a few channels (a 3-channel stem
 * copies 9 bytes at a time) would spend more in memcpy calls than in the
 * GEMM, so short runs move as one 16-byte block when the source has 16
 * readable bytes; the bytes written past n land where the next run, the
 * row's tail fill, the next row or the tile's slack (CQ_SLACK) is written
 * afterwards. */
static inline void run_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *src_end)
{
	if (n <= 16 && src_end - src >= 16)
		memcpy(dst, src, 16);
	else
		memcpy(dst, src, n);
}

static inline void run_fill(uint8_t *dst, uint8_t v, size_t n)
{
	if (n <= 16) {
		uint8_t b[16];
		memset(b, v, 16);
		memcpy(dst, b, 16);
	} else {
		memset(dst, v, n);
	}
}

/* Unfolds the window of output pixel (b, oy, ox) into an A row of kp bytes: input bytes as they are, xz at padded taps
 * (and in the tail up to kp, whose weights are zero).  May write up to 15
 * bytes past the row (see run_copy). */
static void cq_im2col_pixel(const conv_int *q, const uint8_t *in, const uint8_t *in_end, int b, int oy, int ox,
			    uint8_t *row)
{
	const conv_geom *g = &q->g;
	int y0 = oy * g->sh - g->pad_h, x0 = ox * g->sw - g->pad_w;
	size_t kwc = (size_t)g->kw * g->ic;
	uint8_t pad = (uint8_t)q->in_zp;

	for (int ky = 0; ky < g->kh; ky++) {
		int iy = y0 + ky * g->dh;
		const uint8_t *src;

		if (iy < 0 || iy >= g->ih) {
			run_fill(row, pad, kwc);
			row += kwc;
			continue;
		}
		src = in + ((size_t)b * g->ih + iy) * g->iw * g->ic;
		if (g->dw == 1 && x0 >= 0 && x0 + g->kw <= g->iw) { /* the window row is one run */
			run_copy(row, src + (size_t)x0 * g->ic, kwc, in_end);
			row += kwc;
			continue;
		}
		for (int kx = 0; kx < g->kw; kx++) {
			int ix = x0 + kx * g->dw;
			if (ix < 0 || ix >= g->iw)
				run_fill(row, pad, (size_t)g->ic);
			else
				run_copy(row, src + (size_t)ix * g->ic, (size_t)g->ic, in_end);
			row += g->ic;
		}
	}
	if (q->gemm.kp > q->gemm.k)
		run_fill(row, pad, (size_t)(q->gemm.kp - q->gemm.k));
}

/* Bytes of the im2col tile in scratch, with the slack run_copy writes
 * into, rounded to 64 so that the GEMM's work area stays aligned. */
static size_t cq_tile_bytes(const conv_int *q)
{
	return ((size_t)q->split.tile * q->gemm.kp + CQ_SLACK + 63) / 64 * 64;
}

/* One task: pixel tile (task / n_chunks) x output-channel chunk. */
static void cq_fast_task(void *ctx, int task, int thread)
{
	const cq_run *r = ctx;
	const conv_int *q = r->q;
	const conv_geom *g = &q->g;
	const conv_split *s = &q->split;
	const conv_qgemm *gm = &q->gemm;
	int pixels = g->n * g->oh * g->ow;
	int p0 = (task / s->n_chunks) * s->tile, c0 = (task % s->n_chunks) * s->chunk;
	int np = pixels - p0 < s->tile ? pixels - p0 : s->tile;
	int nc = g->oc - c0 < s->chunk ? g->oc - c0 : s->chunk;
	uint8_t *scratch = nn_ex_scratch(r->ex, thread), *work = scratch;
	uint8_t *out = (uint8_t *)r->out + (size_t)p0 * g->oc;
	const uint8_t *a;
	size_t lda;

	if (cq_direct(q)) { /* pixels are consecutive input rows */
		a = (const uint8_t *)r->in + (size_t)p0 * g->ic;
		lda = (size_t)g->ic;
	} else {
		const uint8_t *in_end = (const uint8_t *)r->in + (size_t)g->n * g->ih * g->iw * g->ic;
		int per_img = g->oh * g->ow, b = p0 / per_img, oy = p0 % per_img / g->ow, ox = p0 % g->ow;
		for (int i = 0; i < np; i++) {
			cq_im2col_pixel(q, r->in, in_end, b, oy, ox, scratch + (size_t)i * gm->kp);
			if (++ox == g->ow) {
				ox = 0;
				if (++oy == g->oh) {
					oy = 0;
					b++;
				}
			}
		}
		a = scratch;
		lda = (size_t)gm->kp;
		work = scratch + cq_tile_bytes(q);
	}
	if (gm->isa == CONV_QG_VNNI)
		conv_qgemm_vnni(gm, a, lda, np, c0, c0 + nc, out, (size_t)g->oc, work);
	else
		conv_qgemm_avx2(gm, a, lda, np, c0, c0 + nc, out, (size_t)g->oc, work);
}

/* ==== prepare / eval =================================================== */

void conv_2d_int_free(conv_int *q)
{
	if (!q)
		return;
	conv_rq_free(&q->rq);
	conv_qgemm_free(&q->gemm);
	nn_free(q);
}

nn_status conv_2d_int_prepare(nn_graph *g, nn_node *node, conv_int **out, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *f = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	const nn_tensor *o;
	conv_int *q;
	int act;
	nn_status st;

	if (f->type != in->type)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "filter type %s with %s input is not supported",
				   nn_dtype_name(f->type), nn_dtype_name(in->type));
	if (f->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "an integer filter computed at run time is not supported");

	q = nn_calloc(1, sizeof(*q));
	if (!q)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	*out = q; /* released by the caller's free, also on failure */
	if ((st = conv_2d_geometry(g, node, in->type, &q->g, &act, err)) != NN_OK ||
	    (st = conv_check_bias_int(node, bias, q->g.oc, err)) != NN_OK)
		return st;
	o = nn_out(g, node, 0);
	q->is_signed = in->type == NN_I8;
	q->depth = q->g.kh * q->g.kw * q->g.ic;
	if ((st = conv_rq_init(node, in, f, o, 0, q->g.oc, act, q->is_signed, !q->is_signed, false, &q->rq,
			       err)) != NN_OK)
		return st;
	q->in_zp = (int32_t)in->quant->zero_point[0];
	q->w_zp = q->is_signed ? 0 : (int32_t)f->quant->zero_point[0];

	q->variant = CQ_REF;
	node->impl = "ref";
	if (!nn_force_reference() && (nn_cpu_avx512vnni() || nn_cpu_avx2())) {
		int isa = nn_cpu_avx512vnni() ? CONV_QG_VNNI : CONV_QG_AVX2;
		size_t row;
		int tile;

		if (!conv_qgemm_init(&q->gemm, isa, f->data, q->w_zp, bias ? bias->data : NULL, q->g.oc, q->depth,
				     q->is_signed, q->in_zp, &q->rq))
			return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory packing %dx%d weights",
					   q->g.oc, q->depth);
		/* scratch per tile row: the im2col bytes, and for AVX2 their int16 widening */
		row = (size_t)q->gemm.kp * (isa == CONV_QG_AVX2 ? 3 : 1);
		tile = (int)(CQ_TILE_BYTES / row);
		tile = tile > CQ_TILE_MAX ? CQ_TILE_MAX : tile < CQ_TILE_MIN ? CQ_TILE_MIN : tile / 12 * 12;
		/* A layer too narrow for column chunks (14x14 pixels to 64 channels)
		 * would be one task: cut its pixels into CQ_MIN_TILES instead. */
		if (q->g.oc < 2 * CONV_SPLIT_MIN_CHUNK) {
			int pixels = q->g.n * q->g.oh * q->g.ow;
			int even = ((pixels + CQ_MIN_TILES - 1) / CQ_MIN_TILES + 11) / 12 * 12;
			if (even < tile)
				tile = even < CQ_TILE_MIN ? CQ_TILE_MIN : even;
		}
		q->split = conv_split_make(q->g.n * q->g.oh * q->g.ow, q->g.oc, tile);
		node->scratch_bytes = conv_qgemm_work_bytes(&q->gemm, q->split.tile);
		if (!cq_direct(q))
			node->scratch_bytes += cq_tile_bytes(q);
		q->variant = isa == CONV_QG_VNNI ? CQ_VNNI : CQ_AVX2;
		node->impl = isa == CONV_QG_VNNI ? "avx512vnni" : "avx2";
	}
	return NN_OK;
}

nn_status conv_2d_int_eval(const conv_int *q, const nn_node *node, nn_exec *ex)
{
	const nn_tensor *bias = nn_ex_in(ex, node, 2);
	cq_run r = {
	    .q = q,
	    .in = nn_ex_in(ex, node, 0)->data,
	    .filter = nn_ex_in(ex, node, 1)->data,
	    .bias = bias ? bias->data : NULL,
	    .out = nn_ex_out(ex, node, 0)->data,
	    .ex = ex,
	};

	if (q->variant == CQ_REF)
		nn_parallel_for(ex, q->g.n * q->g.oh, cq_ref_row, &r);
	else
		nn_parallel_for(ex, q->split.n_tiles * q->split.n_chunks, cq_fast_task, &r);
	return NN_OK;
}
