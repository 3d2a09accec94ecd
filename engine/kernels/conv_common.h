/* conv_common.h - window geometry shared by the convolution family, and the
 * depthwise parameters its SIMD variant files read.
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

#endif
