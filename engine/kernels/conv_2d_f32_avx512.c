/* conv_2d_f32_avx512.c - the packed float32 GEMM (conv_2d_f32.h), AVX-512.
 *
 * DESIGN: a 12 x 32 register block: 24 zmm accumulators, two zmm of the
 * panel per k and one broadcast A value per row (folded into the FMA as an
 * embedded broadcast), i.e. 24 FMAs per 2 vector loads + 12 scalar loads -
 * enough independent chains to cover the FMA latency on both ports.  The
 * panel loop is outside the row loop: one panel (depth * 128 bytes) stays
 * in L1/L2 while the task's rows stream past it, and the rows of A the
 * caller hands in (a tile sized for L2) are read once per panel.  Partial
 * blocks: rows < 12 use the same body with fewer rows (one copy per count,
 * all inlined from one template); the last panel's missing channels are
 * zeros in the packing and are masked off at the store and bias load.
 * With b->koff set, A is not a matrix in memory but read through the
 * offsets (conv_2d_f32.h): the same loop, the row pointer moved by
 * koff[k] instead of k.
 */
#include <immintrin.h>

#include "conv_2d_f32.h"

#define MR CONV_F32_MR_AVX512
#define NR CONV_F32_NR_AVX512

static inline __attribute__((always_inline)) void block(const int mr, const float *a, size_t lda,
							const int *koff, const float *w, int depth,
							const float *bias,
							__mmask16 m0, __mmask16 m1, bool clamp, __m512 lo,
							__m512 hi, float *out, size_t ldo)
{
	__m512 acc0[MR], acc1[MR];

#pragma GCC unroll 12
	for (int r = 0; r < mr; r++)
		acc0[r] = acc1[r] = _mm512_setzero_ps();
	for (int k = 0; k < depth; k++) {
		__m512 b0 = _mm512_load_ps(w), b1 = _mm512_load_ps(w + 16);

		const float *ak = koff ? a + koff[k] : a + k;

		w += NR;
#pragma GCC unroll 12
		for (int r = 0; r < mr; r++) {
			__m512 x = _mm512_set1_ps(ak[(size_t)r * lda]);
			acc0[r] = _mm512_fmadd_ps(x, b0, acc0[r]);
			acc1[r] = _mm512_fmadd_ps(x, b1, acc1[r]);
		}
	}
	{
		__m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
		__m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();

#pragma GCC unroll 12
		for (int r = 0; r < mr; r++) {
			__m512 v0 = _mm512_add_ps(acc0[r], bias0), v1 = _mm512_add_ps(acc1[r], bias1);
			float *o = out + (size_t)r * ldo;

			if (clamp) {
				v0 = _mm512_min_ps(hi, _mm512_max_ps(lo, v0));
				v1 = _mm512_min_ps(hi, _mm512_max_ps(lo, v1));
			}
			_mm512_mask_storeu_ps(o, m0, v0);
			_mm512_mask_storeu_ps(o + 16, m1, v1);
		}
	}
}

/* One instance per row count, so that each keeps its accumulators in
 * registers. */
#define BLOCK_CASE(n)                                                                                   \
	case n:                                                                                         \
		block(n, a, lda, KOFF, w, depth, bias, m0, m1, clamp, lo, hi, out, ldo);                \
		break;

#define KOFF NULL
static void rows_block(int mr, const float *a, size_t lda, const float *w, int depth, const float *bias,
		       __mmask16 m0, __mmask16 m1, bool clamp, __m512 lo, __m512 hi, float *out, size_t ldo)
{
	switch (mr) {
		BLOCK_CASE(1)
		BLOCK_CASE(2)
		BLOCK_CASE(3)
		BLOCK_CASE(4)
		BLOCK_CASE(5)
		BLOCK_CASE(6)
		BLOCK_CASE(7)
		BLOCK_CASE(8)
		BLOCK_CASE(9)
		BLOCK_CASE(10)
		BLOCK_CASE(11)
		BLOCK_CASE(12)
	default:
		break;
	}
}
#undef KOFF

/* The same blocks with A(r, k) at a[r * lda + koff[k]]. */
#define KOFF koff
static void rows_block_koff(int mr, const float *a, size_t lda, const int *koff, const float *w, int depth,
			    const float *bias, __mmask16 m0, __mmask16 m1, bool clamp, __m512 lo, __m512 hi,
			    float *out, size_t ldo)
{
	switch (mr) {
		BLOCK_CASE(1)
		BLOCK_CASE(2)
		BLOCK_CASE(3)
		BLOCK_CASE(4)
		BLOCK_CASE(5)
		BLOCK_CASE(6)
		BLOCK_CASE(7)
		BLOCK_CASE(8)
		BLOCK_CASE(9)
		BLOCK_CASE(10)
		BLOCK_CASE(11)
		BLOCK_CASE(12)
	default:
		break;
	}
}
#undef KOFF

void conv_f32_gemm_avx512(const conv_f32_panels *p, const conv_f32_block *b)
{
	const __m512 lo = _mm512_set1_ps(b->lo), hi = _mm512_set1_ps(b->hi);

	for (int pan = b->pan0; pan < b->pan1; pan++) {
		int c0 = pan * NR, nc = p->oc - c0 < NR ? p->oc - c0 : NR;
		__mmask16 m0 = nc >= 16 ? 0xFFFF : (__mmask16)((1u << nc) - 1);
		__mmask16 m1 = nc >= 32 ? 0xFFFF : nc <= 16 ? 0 : (__mmask16)((1u << (nc - 16)) - 1);
		const float *w = p->w + (size_t)pan * p->depth * NR;
		const float *bias = b->bias ? b->bias + c0 : NULL;

		for (int r = 0; r < b->rows; r += MR) {
			int mr = b->rows - r < MR ? b->rows - r : MR;
			if (b->koff)
				rows_block_koff(mr, b->a + (size_t)r * b->lda, b->lda, b->koff, w, p->depth, bias,
						m0, m1, b->clamp, lo, hi, b->out + (size_t)r * b->ldo + c0, b->ldo);
			else
				rows_block(mr, b->a + (size_t)r * b->lda, b->lda, w, p->depth, bias, m0, m1,
					   b->clamp, lo, hi, b->out + (size_t)r * b->ldo + c0, b->ldo);
		}
	}
}
