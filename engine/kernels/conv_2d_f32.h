/* conv_2d_f32.h - the packed float32 GEMM behind CONV_2D.
 *
 * DESIGN: a convolution is out[pixel][o] = sum_k A[pixel][k] * W[o][k]
 * with A a 1x1 input read in place or an im2col tile.  W is constant, so
 * prepare repacks it once into panels of NR output channels, k-major:
 *   panel p: [depth][NR] floats, channel p * NR + j at column j, zero past oc
 * which turns the inner loop into NR/16 (or NR/8) aligned vector loads per
 * k, each multiplied by MR broadcast A values into MR x NR accumulators
 * held in registers (AVX-512: 12 x 32, 24 zmm; AVX2: 6 x 16, 12 ymm).
 * Every output element is one dot product summed over k in order from
 * zero, then the bias is added and the clamp applied in the store - the
 * reference's order of operations, so the only difference from it is
 * FMA's single rounding.  The sum order never depends on the tiling, so
 * results do not depend on how tasks are cut or on the thread count.
 */
#ifndef LITESERVE_ENGINE_KERNELS_CONV_2D_F32_H
#define LITESERVE_ENGINE_KERNELS_CONV_2D_F32_H

#include <stdbool.h>
#include <stddef.h>

/* Rows (pixels) and columns (output channels) of one register block. */
enum {
	CONV_F32_MR_AVX512 = 12,
	CONV_F32_NR_AVX512 = 32,
	CONV_F32_MR_AVX2 = 6,
	CONV_F32_NR_AVX2 = 16,
};

/* Weights packed at prepare (see above).  w is 64-byte aligned, owned by
 * whoever packed it. */
typedef struct conv_f32_panels {
	const float *w; /* [n_panels][depth][nr] */
	int nr;		/* columns per panel */
	int depth;	/* k: the GEMM inner dimension */
	int oc;		/* output channels (columns before padding) */
	int n_panels;	/* ceil(oc / nr) */
} conv_f32_panels;

/* The block a task computes: rows [0, rows) of A (row r at a + r * lda),
 * panels [pan0, pan1); out row r at out + r * ldo, column 0 = channel 0.
 * bias (may be NULL) has oc entries; the clamp [lo, hi] applies when clamp
 * is set (max(lo, x) then min(hi, x), so a NaN passes through). */
typedef struct conv_f32_block {
	const float *a;
	size_t lda;
	int rows;
	int pan0, pan1;
	const float *bias;
	bool clamp;
	float lo, hi;
	float *out;
	size_t ldo;
	/* NULL, or A(r, k) = a[r * lda + koff[k]]: an im2col patch read in
	 * place from the input (AVX-512 only; see conv_2d.c) */
	const int *koff;
} conv_f32_block;

/* One per ISA file; p->nr must be that file's NR. */
void conv_f32_gemm_avx512(const conv_f32_panels *p, const conv_f32_block *b);
void conv_f32_gemm_avx2(const conv_f32_panels *p, const conv_f32_block *b);

#endif
