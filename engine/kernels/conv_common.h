/* conv_common.h - window geometry shared by the convolution family, the
 * depthwise parameters its SIMD variant files read, and the integer
 * (uint8 / int8) machinery of CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED (requantization, the packed integer GEMM).
 *
 * DESIGN: TFLite sizes a windowed op's output from the Padding enum alone
 * (no explicit pads in the file), so every kernel that slides a window must
 * derive the same output size and the same leading pad, or shapes drift
 * between ops.  The rules, written out:
 *   effective filter  e = (k - 1) * dilation + 1
 *   SAME:   out = ceil(in / stride)
 *   VALID:  out = (in - e + stride) / stride, truncated toward zero
 *   total pad = max((out - 1) * stride + e - in, 0); the pad before is
 *   total / 2 (rounded down), so the odd pixel, if any, goes after.
 * All arithmetic is done in 64 bits: the operands come from the model file
 * and (k - 1) * dilation overflows int32 for hostile values.  A geometry
 * whose output is empty, or whose window positions do not stay well inside
 * int32 (so that row loops may index with plain ints), is reported as
 * output size 0 and the caller refuses the model.
 */
#ifndef LITESERVE_ENGINE_KERNELS_CONV_COMMON_H
#define LITESERVE_ENGINE_KERNELS_CONV_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant_math.h"

/* Padding enum of tflite_schema.fbs. */
enum { CONV_PADDING_SAME = 0, CONV_PADDING_VALID = 1 };

/* Output size along one axis and the pad before it.  Arguments must be
 * positive (checked by the caller) and padding SAME or VALID.  Returns the
 * output size, or 0 when it is empty or the window reaches too far (see
 * above). */
static inline int32_t conv_out_size(int padding, int32_t in, int32_t k, int32_t stride, int32_t dilation,
				    int32_t *pad_before)
{
	int64_t eff = ((int64_t)k - 1) * dilation + 1;
	int64_t out, total;

	if (padding == CONV_PADDING_SAME)
		out = ((int64_t)in + stride - 1) / stride;
	else
		out = ((int64_t)in - eff + stride) / stride; /* C division truncates, as TFLite's does */
	/* (out - 1) * stride + eff bounds every input coordinate a window touches */
	if (out <= 0 || out > INT32_MAX || (out - 1) * stride + eff > INT32_MAX / 4) {
		*pad_before = 0;
		return 0;
	}
	total = (out - 1) * stride + eff - in;
	*pad_before = total > 0 ? (int32_t)(total / 2) : 0;
	return (int32_t)out;
}

static inline const char *conv_padding_name(int padding)
{
	return padding == CONV_PADDING_SAME ? "SAME" : padding == CONV_PADDING_VALID ? "VALID" : "unknown";
}

/* Taps [*lo, *hi) of a k-tap window with dilation d starting at input
 * coordinate `start` (may be negative) that land inside [0, in).  Window
 * taps outside the input read zeros, which is the same as skipping them. */
static inline void conv_tap_range(int start, int k, int d, int in, int *lo, int *hi)
{
	int l = start < 0 ? (-start + d - 1) / d : 0;
	int h = in - start <= 0 ? 0 : (in - start + d - 1) / d;

	*lo = l;
	*hi = h < k ? h : k;
	if (*hi < *lo)
		*hi = *lo;
}

/* How a GEMM-shaped op (rows x cols outputs) is cut into tasks: row tiles
 * of `tile` rows, and - when there are too few row tiles to keep a pool
 * busy (late layers: 7x7 pixels, 1024 channels; FULLY_CONNECTED with one
 * row) - column chunks as well.  The cut depends on the shapes only, never
 * on the thread count, so results are the same for any number of threads. */
typedef struct conv_split {
	int tile;     /* rows per task */
	int n_tiles;  /* ceil(rows / tile) */
	int chunk;    /* columns per task */
	int n_chunks; /* ceil(cols / chunk) */
} conv_split;

#define CONV_SPLIT_MIN_TASKS 8	/* enough for a pool of a few threads */
#define CONV_SPLIT_MIN_CHUNK 64 /* narrower GEMMs waste their inner kernel */

static inline conv_split conv_split_make(int rows, int cols, int tile)
{
	conv_split s;

	s.tile = tile < 1 ? 1 : (tile > rows ? rows : tile);
	s.n_tiles = (rows + s.tile - 1) / s.tile;
	s.chunk = cols;
	s.n_chunks = 1;
	if (s.n_tiles < CONV_SPLIT_MIN_TASKS && cols >= 2 * CONV_SPLIT_MIN_CHUNK) {
		int want = (CONV_SPLIT_MIN_TASKS + s.n_tiles - 1) / s.n_tiles;
		int most = cols / CONV_SPLIT_MIN_CHUNK;
		int n = want < most ? want : most;
		s.chunk = ((cols + n - 1) / n + 15) / 16 * 16; /* whole 16-float vectors */
		s.n_chunks = (cols + s.chunk - 1) / s.chunk;
	}
	return s;
}

/* Adds bias (may be NULL) to a rows x cols block of a GEMM result (row
 * stride ld) and clamps it to [lo, hi].  TFLite's float kernels add the bias
 * after the whole dot product and clamp last, as here.  The comparisons
 * leave a NaN as NaN, like TFLite's min/max. */
static inline void conv_bias_act(float *out, int ld, int rows, int cols, const float *bias, float lo,
				 float hi, bool clamp)
{
	if (!bias && !clamp)
		return;
	for (int r = 0; r < rows; r++) {
		float *o = out + (size_t)r * ld;
		if (bias)
			for (int c = 0; c < cols; c++)
				o[c] += bias[c];
		if (clamp)
			for (int c = 0; c < cols; c++)
				o[c] = o[c] < lo ? lo : (o[c] > hi ? hi : o[c]);
	}
}

/* Everything a depthwise row kernel needs, fixed at prepare.  Filter layout
 * is [kh, kw, oc] with oc = ic * mult (output channel o reads input
 * channel o / mult); tensors are NHWC. */
typedef struct dw_params {
	int n, ih, iw, ic; /* input shape */
	int oh, ow, oc;	   /* output shape (batch = n) */
	int mult;	   /* depth multiplier = oc / ic */
	int kh, kw;	   /* filter window */
	int sh, sw;	   /* strides */
	int dh, dw;	   /* dilations */
	int pad_h, pad_w;  /* leading pads */
	float lo, hi;	   /* fused activation clamp */
} dw_params;

/* One output row (batch b, output row oy) of a multiplier-1 depthwise
 * convolution; bias may be NULL.  Defined in the SIMD variant files. */
void depthwise_conv_2d_row_avx2(const dw_params *p, const float *in, const float *filter, const float *bias,
				float *out, int b, int oy);
void depthwise_conv_2d_row_avx512(const dw_params *p, const float *in, const float *filter, const float *bias,
				  float *out, int b, int oy);

/* ===================================================================== *
 * Integer (uint8 / int8) convolution family.
 *
 * TFLite's arithmetic, written out: with x, w, y the stored integers and
 * xz, wz, yz their zero points,
 *   acc = bias[c] + sum over taps of (x - xz) * (w - wz)       (int32)
 *   y   = clamp(yz + requant(acc, M[c], shift[c]), lo, hi)
 * Taps outside the input contribute nothing (TFLite pads with xz).  The sum
 * is kept modulo 2^32, as TFLite's int32 arithmetic wraps on hardware; that
 * only matters for hostile depths, and keeps every variant identical to the
 * reference even there.  requant is gemmlowp's double rounding
 * (qm_mul_double) or ruy's single rounding (qm_mul_single); which op and
 * dtype uses which is decided at prepare (see conv_rq_init).
 * ===================================================================== */

/* Geometry of a CONV_2D over NHWC tensors, fixed at prepare. */
typedef struct conv_geom {
	int n, ih, iw, ic; /* input shape */
	int oh, ow, oc;	   /* output shape (batch n) */
	int kh, kw;	   /* filter window */
	int sh, sw;	   /* strides */
	int dh, dw;	   /* dilations */
	int pad_h, pad_w;  /* leading pads */
} conv_geom;

/* Option field ids of the sliding window: Conv2DOptions and
 * DepthwiseConv2DOptions hold the same fields under different numbers. */
typedef struct conv_window_ids {
	int padding, stride_w, stride_h, activation, dilation_w, dilation_h;
} conv_window_ids;

/* The window of a 2-D convolution: strides, dilations, output size and
 * leading pads. */
typedef struct conv_window {
	int32_t sh, sw, dh, dw, oh, ow, pad_h, pad_w;
} conv_window;

/* Reads padding, strides, dilations and the fused activation (*act, not yet
 * validated) from the options at ids, refuses invalid values and a window
 * that gives no output for input `in` (NHWC) and a kh x kw filter, and
 * fills *w.  Shared by CONV_2D and DEPTHWISE_CONV_2D; defined in conv_2d.c. */
nn_status conv_window_make(const nn_node *node, const conv_window_ids *ids, const nn_tensor *in, int32_t kh,
			   int32_t kw, conv_window *w, int *act, nn_err *err);

/* Validates the options and shapes of a CONV_2D (filter [oc, kh, kw, ic],
 * optional bias [oc]) whatever the dtypes, sets output 0 to type out_type
 * and fills *geo and the fused activation *act (not yet validated).
 * Defined in conv_2d.c. */
nn_status conv_2d_geometry(nn_graph *g, nn_node *node, nn_dtype out_type, conv_geom *geo, int *act, nn_err *err);

/* The prepare entry of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
 * (conv_2d.c): inputs (input, filter[, bias]), one output; an input of rank
 * `rank` (0 = any); float32 goes to prepare_f32, uint8/int8 to prepare_q8,
 * anything else is refused. */
typedef nn_status (*conv_prepare_fn)(nn_graph *g, nn_node *node, nn_err *err);
nn_status conv_prepare_by_dtype(nn_graph *g, nn_node *node, nn_err *err, int rank, conv_prepare_fn prepare_f32,
				conv_prepare_fn prepare_q8);

/* The integer CONV_2D (conv_2d_int.c), reached from conv_2d.c's prepare,
 * eval and free: conv_2d_int_prepare stores its state in *out as soon as it
 * exists (so the caller's free releases it after a failure). */
typedef struct conv_int conv_int;
nn_status conv_2d_int_prepare(nn_graph *g, nn_node *node, conv_int **out, nn_err *err);
nn_status conv_2d_int_eval(const conv_int *q, const nn_node *node, nn_exec *ex);
void conv_2d_int_free(conv_int *q); /* accepts NULL */

/* The vector requantization's per-channel constants for 16 channels,
 * derived at prepare from M and shift (see conv_rq16).  "odd" arrays hold
 * the odd channels' values in the even lanes, where vpmuldq reads them. */
typedef struct conv_rq_block {
	int32_t m[16];	    /* single: M */
	int32_t m_odd[16];  /* single: M of the odd channels */
	int64_t rnd_e[8];   /* single: 2^(t-1) of the even channels, t = 31 - shift */
	int64_t rnd_o[8];   /* single: ... of the odd channels */
	int64_t t_e[8];	    /* single: t of the even channels */
	int64_t t_o[8];	    /* single: ... of the odd channels */
	int32_t t32[16];    /* single: t - 32 (used when every t >= 32) */
	uint32_t m2[16];    /* double: 2M, as unsigned */
	uint32_t m2_odd[16]; /* double: 2M of the odd channels */
	int32_t left[16];   /* double: max(shift, 0) */
	int32_t right[16];  /* double: max(-shift, 0) */
	int32_t mask[16];   /* double: 2^right - 1 */
	int32_t half[16];   /* double: mask >> 1 */
	/* AVX-512 (conv_rq16), both roundings as one rounding shift of the
	 * 64-bit product, zero point folded in when it cannot overflow (zp_in) */
	int64_t k_e[8], k_o[8]; /* added to the product of even / odd channels */
	int64_t n_e[8], n_o[8]; /* double: subtracted too when the product < -2^30 */
	int64_t s_e[8], s_o[8]; /* then shifted right by this */
} conv_rq_block;

/* Requantization of one op's output channels. */
typedef struct conv_rq {
	int32_t *mult;	     /* [channels rounded up to 16] Q31 multipliers (0 past the end) */
	int32_t *shift;	     /* [same] exponents: left shift when > 0 */
	conv_rq_block *blk;  /* [channels / 16, rounded up], 64-byte aligned */
	bool single;	     /* ruy single rounding, else gemmlowp double rounding */
	bool any_left;	     /* some shift > 0 (double rounding shifts left first) */
	bool t_ge_32;	     /* single: every t = 31 - shift >= 32 (multipliers below 1/2) */
	bool is_signed;	     /* int8 output, else uint8 */
	bool clamp;	     /* [lo, hi] is narrower than the dtype's range */
	bool zp_in;	     /* k_e / k_o include out_zp (see conv_rq16) */
	int32_t out_zp;	     /* output zero point */
	int32_t lo, hi;	     /* clamp of the fused activation, inside the dtype */
} conv_rq;

/* Rounds n up to a whole number of 16-lane vectors. */
static inline int conv_round16(int n)
{
	return (n + 15) / 16 * 16;
}

/* acc of channel c to the output integer (before narrowing).  The zero point
 * is added modulo 2^32, as the vector variants do. */
static inline int32_t conv_rq_apply(const conv_rq *q, int c, int32_t acc)
{
	int32_t v = q->single ? qm_mul_single(acc, q->mult[c], q->shift[c])
			      : qm_mul_double(acc, q->mult[c], q->shift[c]);

	v = (int32_t)((uint32_t)v + (uint32_t)q->out_zp);
	v = v < q->lo ? q->lo : v; /* max then min, as TFLite (matters only if lo > hi) */
	return v > q->hi ? q->hi : v;
}

/* Validates the quantization of a convolution-family op and fills *rq:
 * input and output per-tensor with scale > 0 and zero points in range;
 * filter per-tensor, or (int8 only) per-channel along `axis` with
 * `channels` scales; int8 filters must have zero point 0 (TFLite's int8
 * convolutions ignore it) unless allow_w_zp and per-tensor.  Multipliers the
 * way TFLite computes them: per_tensor_float_product = the legacy per-tensor
 * path (input scale * filter scale rounded to float first, used by uint8
 * and by FULLY_CONNECTED), else (double) in * (double) f / (double) out.
 * Allocates the arrays of *rq (release with conv_rq_free, also after a
 * failure).  Defined in conv_2d_int.c. */
nn_status conv_rq_init(const nn_node *node, const nn_tensor *in, const nn_tensor *f, const nn_tensor *out,
		       int axis, int channels, int act, bool single, bool per_tensor_float_product,
		       bool allow_w_zp, conv_rq *rq, nn_err *err);
void conv_rq_free(conv_rq *rq);

/* Checks the bias of an integer op: int32, shape [channels], constant. */
nn_status conv_check_bias_int(const nn_node *node, const nn_tensor *bias, int channels, nn_err *err);

/* --- the packed integer GEMM ------------------------------------------ *
 * out[r][c] = requant(cst[c] + rsum * S[r] + dot(A[r], W[c])) for a tile
 * of rows r (output pixels, or FULLY_CONNECTED rows) and a range of output
 * channels c.  A holds the input bytes as they are (an im2col row, or the
 * input itself when a row is contiguous there).  Two ISAs, chosen at
 * prepare:
 *   CONV_QG_VNNI  vpdpbusd multiplies unsigned by signed bytes.  The input
 *     keeps its own signedness and W takes the other: W = w - aw with aw
 *     chosen so that W fits (int8 for uint8 inputs, uint8 for int8 inputs;
 *     aw = wz when that fits).  Then over the K taps of a row
 *       sum (x - xz)(w - wz) = dot(x, W) + rsum * S + cst[c] - bias[c],
 *       rsum = aw - wz, S = sum of x over the row,
 *       cst[c] = bias[c] - xz * (sum_k W[c][k] + K * (aw - wz)),
 *     S being computed (vpsadbw) only when rsum != 0.  A padded tap holds
 *     x = xz, which contributes exactly zero.  W is
 *     [np/64 panels][kp/4][blocks in panel][16 channels][4 bytes].
 *   CONV_QG_AVX2  vpmaddwd on int16: the kernel widens A to x - xz, W holds
 *     w - wz, both in [-255, 255], so a pair sums to at most 130050 and
 *     nothing saturates; cst = bias.  W is [np/16][kp/2][16][2 int16].
 * K is padded to kp (a multiple of 4) with zero weights; A rows must have
 * kp readable bytes (the padding bytes' values do not matter: their
 * weights are zero, and S sums the first k only). */
enum { CONV_QG_VNNI = 1, CONV_QG_AVX2 = 2 };

typedef struct conv_qgemm {
	int isa;	   /* CONV_QG_VNNI or CONV_QG_AVX2 */
	int k, kp;	   /* depth, and depth rounded up to 4 */
	int n, np;	   /* output channels, and rounded up to 16 */
	void *w;	   /* packed weights, 64-byte aligned (layouts above) */
	int32_t *cst;	   /* [np] per-channel constant */
	int32_t rsum;	   /* VNNI: coefficient of the row sum S (0 = S unused) */
	bool flip;	   /* VNNI, int8 input, symmetric W: A is copied as x ^ 0x80 = x + 128 (unsigned), W = w */
	bool in_signed;	   /* int8 input and output, else uint8 */
	int32_t x_zp;	   /* input zero point */
	const conv_rq *rq; /* requantization (arrays padded to np); borrowed */
} conv_qgemm;

/* Packs weights w [n][k] (uint8, or int8 when in_signed; zero point wz
 * per tensor) and bias (int32 [n] or NULL) for `isa`.  Returns false on
 * out of memory; conv_qgemm_free releases it (also after a failure).
 * Defined in conv_2d_int.c. */
bool conv_qgemm_init(conv_qgemm *q, int isa, const void *w, int32_t wz, const int32_t *bias, int n, int k,
		     bool in_signed, int32_t xz, const conv_rq *rq);
void conv_qgemm_free(conv_qgemm *q);

/* Per-thread scratch the GEMM needs beside A for a tile of `rows` rows. */
static inline size_t conv_qgemm_work_bytes(const conv_qgemm *q, int rows)
{
	if (q->isa == CONV_QG_AVX2)
		return (size_t)rows * q->kp * 2 + 64;
	return (size_t)rows * (q->flip ? (size_t)q->kp : sizeof(int32_t)) + 64; /* flipped A, or row sums */
}

/* out[r * ldo + c] for r < rows, c in [c0, c1) (c0 a multiple of 16), from
 * A rows a + r * lda; work is conv_qgemm_work_bytes of 64-byte aligned
 * scratch.  The two ISA files. */
void conv_qgemm_vnni(const conv_qgemm *q, const uint8_t *a, size_t lda, int rows, int c0, int c1, uint8_t *out,
		     size_t ldo, void *work);
void conv_qgemm_avx2(const conv_qgemm *q, const uint8_t *a, size_t lda, int rows, int c0, int c1, uint8_t *out,
		     size_t ldo, void *work);

/* --- integer FULLY_CONNECTED ------------------------------------------ */

/* Validates the options and shapes of a FULLY_CONNECTED (weights [units,
 * depth], optional bias [units], input read as [rows, depth]) whatever the
 * dtypes, sets output 0 to type out_type and returns the sizes and the
 * fused activation (not yet validated).  Defined in fully_connected.c. */
nn_status fully_connected_geometry(nn_graph *g, nn_node *node, nn_dtype out_type, int *rows, int *depth,
				  int *units, int *act, nn_err *err);

/* The integer FULLY_CONNECTED (fully_connected_int.c), reached from
 * fully_connected.c as conv_2d_int is from conv_2d.c. */
typedef struct fc_int fc_int;
nn_status fully_connected_int_prepare(nn_graph *g, nn_node *node, fc_int **out, nn_err *err);
nn_status fully_connected_int_eval(const fc_int *q, const nn_node *node, nn_exec *ex);
void fully_connected_int_free(fc_int *q); /* accepts NULL */

/* --- integer depthwise ----------------------------------------------- */

/* Validates the options and shapes of a DEPTHWISE_CONV_2D (filter
 * [1, kh, kw, oc], optional bias [oc]) whatever the dtypes, sets output 0
 * to type out_type, fills *p (but p->lo, p->hi) and the fused activation
 * *act (not yet validated).  Defined in depthwise_conv_2d.c. */
nn_status depthwise_conv_2d_geometry(nn_graph *g, nn_node *node, nn_dtype out_type, dw_params *p, int *act,
				     nn_err *err);

/* The integer DEPTHWISE_CONV_2D (depthwise_conv_2d_int.c), reached from
 * depthwise_conv_2d.c as conv_2d_int is from conv_2d.c. */
typedef struct dw_int dw_int;
nn_status depthwise_conv_2d_int_prepare(nn_graph *g, nn_node *node, dw_int **out, nn_err *err);
nn_status depthwise_conv_2d_int_eval(const dw_int *q, const nn_node *node, nn_exec *ex);
void depthwise_conv_2d_int_free(dw_int *q); /* accepts NULL */

/* A multiplier-1 integer depthwise convolution, for the SIMD rows. */
typedef struct dw_qparams {
	dw_params p;	     /* geometry (p.lo, p.hi unused) */
	bool is_signed;	     /* int8 input and output, else uint8 */
	int32_t in_zp;	     /* input zero point */
	const int32_t *w32;  /* [kh*kw][ocp]: (w - wz) in the low 16 bits, 0 above */
	const int32_t *bias; /* [ocp]: bias, 0 where absent or past oc */
	const int32_t *bias_in; /* [ocp]: bias - xz * sum of all taps' (w - wz): for windows inside the input */
	const conv_rq *rq;   /* requantization, arrays padded to ocp */
} dw_qparams;

/* One output row (batch b, row oy).  depthwise_conv_2d_int_avx*.c, _vnni.c. */
void depthwise_conv_2d_int_row_avx2(const dw_qparams *q, const void *in, void *out, int b, int oy);
void depthwise_conv_2d_int_row_avx512(const dw_qparams *q, const void *in, void *out, int b, int oy);
void depthwise_conv_2d_int_row_vnni(const dw_qparams *q, const void *in, void *out, int b, int oy);

/* --- vector requantization (only in files built with the ISA flags) --- *
 * Bit-exact with conv_rq_apply, lane by lane, from 32x32 -> 64-bit products
 * of the even lanes and (moved down by a dword shuffle) the odd lanes.
 * Written to keep work off the one port that runs 512-bit shifts and
 * multiplies, which the dot products also need:
 *   single: (acc * M + 2^(t-1)) >> t, t = 31 - shift in [1, 62], low 32
 *     bits kept (ruy casts the same way).  When every t >= 32, the high
 *     dwords of the 64-bit sums are floor(sum / 2^32), gathered with one
 *     shuffle, then an int32 shift by t - 32 finishes (floor of floor).
 *   double: x = acc << max(shift, 0) (wrapping), p = x * M (64 bits).
 *     gemmlowp's rounding doubling high multiply is h = floor((p + 2^30) /
 *     2^31) (M >= 0, so its one saturating case cannot occur), and its
 *     rounding divide by 2^r (r = right >= 1), ties away from zero, is
 *     floor((h + 2^(r-1) - [h < 0]) / 2^r).  Adding an integer inside a
 *     floor commutes with dividing by 2^31 first, so both are one shift:
 *     (p + 2^30 + 2^(30+r) - 2^31 [p < -2^30]) >> (31 + r)   (r = 0: the
 *     first shift alone).  The AVX2 variant keeps the two steps.
 * The zero point is added as zp * 2^shift inside the same sum when no sum
 * can overflow (conv_rq.zp_in), which saves the int32 add. */
#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512i conv_rq16(const conv_rq *q, int c, __m512i acc)
{
	const conv_rq_block *k = &q->blk[c / 16];
	__m512i v, pe, po;

	if (q->single) {
		pe = _mm512_mul_epi32(acc, _mm512_load_si512(k->m));
		po = _mm512_mul_epi32(_mm512_shuffle_epi32(acc, _MM_PERM_CDAB), _mm512_load_si512(k->m_odd));
		pe = _mm512_add_epi64(pe, _mm512_load_si512(k->k_e));
		po = _mm512_add_epi64(po, _mm512_load_si512(k->k_o));
		if (q->t_ge_32) {
			v = _mm512_mask_shuffle_epi32(po, 0x5555, pe, _MM_PERM_CDAB); /* high dwords */
			v = _mm512_srav_epi32(v, _mm512_load_si512(k->t32));
		} else {
			pe = _mm512_srav_epi64(pe, _mm512_load_si512(k->s_e));
			po = _mm512_srav_epi64(po, _mm512_load_si512(k->s_o));
			v = _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB); /* low dwords */
		}
	} else {
		const __m512i neg = _mm512_set1_epi64(-(1ll << 30));
		__m512i x = q->any_left ? _mm512_sllv_epi32(acc, _mm512_load_si512(k->left)) : acc;
		__mmask8 ne, no;
		pe = _mm512_mul_epi32(x, _mm512_load_si512(k->m));
		po = _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_CDAB), _mm512_load_si512(k->m_odd));
		ne = _mm512_cmplt_epi64_mask(pe, neg);
		no = _mm512_cmplt_epi64_mask(po, neg);
		pe = _mm512_add_epi64(pe, _mm512_load_si512(k->k_e));
		po = _mm512_add_epi64(po, _mm512_load_si512(k->k_o));
		pe = _mm512_mask_sub_epi64(pe, ne, pe, _mm512_load_si512(k->n_e));
		po = _mm512_mask_sub_epi64(po, no, po, _mm512_load_si512(k->n_o));
		pe = _mm512_srav_epi64(pe, _mm512_load_si512(k->s_e));
		po = _mm512_srav_epi64(po, _mm512_load_si512(k->s_o));
		v = _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB); /* low dwords */
	}
	if (!q->zp_in)
		v = _mm512_add_epi32(v, _mm512_set1_epi32(q->out_zp));
	/* both bounds always: the saturating narrowing stores (vpmovsdb,
	 * vpmovusdb to memory) are slower here than a max, a min and vpmovdb */
	v = _mm512_max_epi32(v, _mm512_set1_epi32(q->lo));
	v = _mm512_min_epi32(v, _mm512_set1_epi32(q->hi));
	return v;
}

/* Requantizes channels [c, c + 16) and stores the lanes of m as bytes.
 * The lanes are already inside [lo, hi] (see conv_rq16): vpmovdb. */
static inline void conv_rq16_store(const conv_rq *q, int c, __m512i acc, void *out, __mmask16 m)
{
	__m512i v = conv_rq16(q, c, acc);

	_mm512_mask_cvtepi32_storeu_epi8(out, m, v);
}
#endif

#ifdef __AVX2__
#include <immintrin.h>

/* 64-bit arithmetic right shift by per-lane counts (AVX2 has only the
 * logical one): bias by 2^63, shift, remove the shifted bias. */
static inline __m256i conv_srav_epi64_avx2(__m256i x, __m256i n)
{
	const __m256i sign = _mm256_set1_epi64x((long long)0x8000000000000000ull);
	return _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_xor_si256(x, sign), n), _mm256_srlv_epi64(sign, n));
}

/* As conv_rq16 for the 8 channels from c (a multiple of 8). */
static inline __m256i conv_rq8(const conv_rq *q, int c, __m256i acc)
{
	const conv_rq_block *k = &q->blk[c / 16];
	const int h = c % 16, hq = h / 2; /* dword and qword offsets in the block */
#define LD(f) _mm256_load_si256((const __m256i *)(f))
	const __m256i zero = _mm256_setzero_si256();
	__m256i v, pe, po;

	if (q->single) {
		pe = _mm256_mul_epi32(acc, LD(k->m + h));
		po = _mm256_mul_epi32(_mm256_shuffle_epi32(acc, 0xB1), LD(k->m_odd + h));
		pe = _mm256_add_epi64(pe, LD(k->rnd_e + hq));
		po = _mm256_add_epi64(po, LD(k->rnd_o + hq));
		if (q->t_ge_32) {
			v = _mm256_blend_epi32(_mm256_shuffle_epi32(pe, 0xB1), po, 0xAA); /* high dwords */
			v = _mm256_srav_epi32(v, LD(k->t32 + h));
		} else {
			pe = conv_srav_epi64_avx2(pe, LD(k->t_e + hq));
			po = conv_srav_epi64_avx2(po, LD(k->t_o + hq));
			v = _mm256_blend_epi32(pe, _mm256_shuffle_epi32(po, 0xB1), 0xAA); /* low dwords */
		}
	} else {
		const __m256i half31 = _mm256_set1_epi64x(1ll << 31);
		__m256i x = q->any_left ? _mm256_sllv_epi32(acc, LD(k->left + h)) : acc, thr, up;
		pe = _mm256_add_epi64(_mm256_mul_epu32(x, LD(k->m2 + h)), half31);
		po = _mm256_add_epi64(_mm256_mul_epu32(_mm256_shuffle_epi32(x, 0xB1), LD(k->m2_odd + h)), half31);
		v = _mm256_blend_epi32(_mm256_shuffle_epi32(pe, 0xB1), po, 0xAA); /* high dwords */
		v = _mm256_sub_epi32(v, _mm256_and_si256(_mm256_cmpgt_epi32(zero, x), LD(k->m2 + h)));
		thr = _mm256_sub_epi32(LD(k->half + h), _mm256_cmpgt_epi32(zero, v)); /* true lanes are -1 */
		up = _mm256_cmpgt_epi32(_mm256_and_si256(v, LD(k->mask + h)), thr);
		v = _mm256_srav_epi32(v, LD(k->right + h));
		v = _mm256_sub_epi32(v, up);
	}
#undef LD
	v = _mm256_add_epi32(v, _mm256_set1_epi32(q->out_zp));
	if (!q->clamp) /* conv_store8_avx2's saturating packs clamp to the dtype */
		return v;
	v = _mm256_max_epi32(v, _mm256_set1_epi32(q->lo));
	return _mm256_min_epi32(v, _mm256_set1_epi32(q->hi));
}

/* Eight int32 lanes to 8 bytes, saturating to the dtype's range. */
static inline void conv_store8_avx2(void *out, __m256i v, bool is_signed)
{
	__m128i p = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	p = is_signed ? _mm_packs_epi16(p, p) : _mm_packus_epi16(p, p);
	_mm_storel_epi64((__m128i *)out, p);
}
#endif

#endif
