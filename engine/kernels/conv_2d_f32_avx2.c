/* conv_2d_f32_avx2.c - the packed float32 GEMM (conv_2d_f32.h), AVX2 + FMA.
 *
 * DESIGN: as the AVX-512 file with 16 ymm: a 6 x 16 block holds 12
 * accumulators, two panel vectors and one broadcast (15 registers), 12
 * FMAs per 2 vector loads and 6 broadcasts.  Panels outside, rows inside;
 * partial row blocks from one inlined template per count; the last
 * panel's missing channels are zeros in the packing and masked at the
 * bias load and the store (vmaskmov), so nothing past oc is touched.
 */
#include <immintrin.h>

#include "conv_2d_f32.h"

#define MR CONV_F32_MR_AVX2
#define NR CONV_F32_NR_AVX2

static inline __attribute__((always_inline)) void block(const int mr, const float *a, size_t lda,
							const float *w, int depth, const float *bias,
							__m256i m0, __m256i m1, bool clamp, __m256 lo, __m256 hi,
							float *out, size_t ldo)
{
	__m256 acc0[MR], acc1[MR];

#pragma GCC unroll 6
	for (int r = 0; r < mr; r++)
		acc0[r] = acc1[r] = _mm256_setzero_ps();
	for (int k = 0; k < depth; k++) {
		__m256 b0 = _mm256_load_ps(w), b1 = _mm256_load_ps(w + 8);

		w += NR;
#pragma GCC unroll 6
		for (int r = 0; r < mr; r++) {
			__m256 x = _mm256_broadcast_ss(a + (size_t)r * lda + k);
			acc0[r] = _mm256_fmadd_ps(x, b0, acc0[r]);
			acc1[r] = _mm256_fmadd_ps(x, b1, acc1[r]);
		}
	}
	{
		__m256 bias0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
		__m256 bias1 = bias ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();

#pragma GCC unroll 6
		for (int r = 0; r < mr; r++) {
			__m256 v0 = _mm256_add_ps(acc0[r], bias0), v1 = _mm256_add_ps(acc1[r], bias1);
			float *o = out + (size_t)r * ldo;

			if (clamp) {
				v0 = _mm256_min_ps(hi, _mm256_max_ps(lo, v0));
				v1 = _mm256_min_ps(hi, _mm256_max_ps(lo, v1));
			}
			_mm256_maskstore_ps(o, m0, v0);
			_mm256_maskstore_ps(o + 8, m1, v1);
		}
	}
}

/* One instance per row count, so that each keeps its accumulators in
 * registers. */
#define BLOCK_CASE(n)                                                                                   \
	case n:                                                                                         \
		block(n, a, lda, w, depth, bias, m0, m1, clamp, lo, hi, out, ldo);                      \
		break;

static void rows_block(int mr, const float *a, size_t lda, const float *w, int depth, const float *bias,
		       __m256i m0, __m256i m1, bool clamp, __m256 lo, __m256 hi, float *out, size_t ldo)
{
	switch (mr) {
		BLOCK_CASE(1)
		BLOCK_CASE(2)
		BLOCK_CASE(3)
		BLOCK_CASE(4)
		BLOCK_CASE(5)
		BLOCK_CASE(6)
	default:
		break;
	}
}

void conv_f32_gemm_avx2(const conv_f32_panels *p, const conv_f32_block *b)
{
	const __m256 lo = _mm256_set1_ps(b->lo), hi = _mm256_set1_ps(b->hi);
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

	for (int pan = b->pan0; pan < b->pan1; pan++) {
		int c0 = pan * NR, nc = p->oc - c0 < NR ? p->oc - c0 : NR;
		/* lane i is on when i < nc (first vector) or i + 8 < nc (second) */
		__m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
		__m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8), lane);
		const float *w = p->w + (size_t)pan * p->depth * NR;
		const float *bias = b->bias ? b->bias + c0 : NULL;

		for (int r = 0; r < b->rows; r += MR) {
			int mr = b->rows - r < MR ? b->rows - r : MR;
			rows_block(mr, b->a + (size_t)r * b->lda, b->lda, w, p->depth, bias, m0, m1, b->clamp, lo,
				   hi, b->out + (size_t)r * b->ldo + c0, b->ldo);
		}
	}
}
