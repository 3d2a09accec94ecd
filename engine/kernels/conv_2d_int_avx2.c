/* conv_2d_int_avx2.c - the packed integer GEMM (conv_common.h) with AVX2,
 * for CONV_2D and FULLY_CONNECTED on uint8 / int8 where VNNI is missing.
 *
 * DESIGN: the A rows are first widened to int16 x - xz in the work area
 * (padding elements past k become 0), and W holds w - wz as int16 (both in
 * [-255, 255]), so vpmaddwd - two products summed into int32 - is exact:
 * |sum| <= 130050, and its one saturating case (all four inputs -32768)
 * cannot occur.  This avoids vpmaddubsw, whose int16 pair sums saturate for
 * u8 x s8 operands.  No zero-point folding: the per-channel constant is
 * the bias.  Register tile: 4 rows x 16 channels (two ymm of 8 int32) = 8
 * accumulators.  Each step of 2 depth elements loads the panel's 64 bytes
 * of weights and per row broadcasts the row's two int16.  The epilogue
 * requantizes with conv_rq8 (bit-exact with the scalar conv_rq_apply).
 */
#include <string.h>

#include "conv_common.h"

#define MR 4 /* rows per register tile */

/* Widens rows of k bytes to kp int16 x - xz (0 past k). */
static void widen_rows(const conv_qgemm *q, const uint8_t *a, size_t lda, int rows, int16_t *dst)
{
	const __m256i zp = _mm256_set1_epi16((short)q->x_zp);

	for (int r = 0; r < rows; r++) {
		const uint8_t *p = a + (size_t)r * lda;
		int16_t *d = dst + (size_t)r * q->kp;
		int i = 0;

		for (; i + 16 <= q->k; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
			__m256i w = q->in_signed ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v);
			_mm256_storeu_si256((__m256i *)(d + i), _mm256_sub_epi16(w, zp));
		}
		for (; i < q->k; i++)
			d[i] = (int16_t)((q->in_signed ? (int32_t)(int8_t)p[i] : (int32_t)p[i]) - q->x_zp);
		for (; i < q->kp; i++)
			d[i] = 0;
	}
}

static void store_part(uint8_t *out, __m256i v, int n, bool is_signed)
{
	uint8_t tmp[16];

	conv_store8_avx2(tmp, v, is_signed);
	memcpy(out, tmp, (size_t)n);
}

static void tile(const conv_qgemm *q, const int16_t *a, int rows, const int16_t *w, int c, int c1, uint8_t *out,
		 size_t ldo)
{
	const int kh = q->kp / 2;
	const int16_t *ar[MR];
	__m256i acc[MR][2];

#pragma GCC unroll 4
	for (int r = 0; r < MR; r++) {
		ar[r] = a + (size_t)(r < rows ? r : rows - 1) * q->kp;
		acc[r][0] = acc[r][1] = _mm256_setzero_si256();
	}
	for (int s = 0; s < kh; s++) {
		__m256i w0 = _mm256_load_si256((const __m256i *)(w + (size_t)s * 32));
		__m256i w1 = _mm256_load_si256((const __m256i *)(w + (size_t)s * 32 + 16));
#pragma GCC unroll 4
		for (int r = 0; r < MR; r++) {
			int32_t v;
			__m256i bv;
			memcpy(&v, ar[r] + (size_t)s * 2, 4);
			bv = _mm256_set1_epi32(v);
			acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(bv, w0));
			acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(bv, w1));
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < MR; r++) {
		if (r >= rows)
			break;
#pragma GCC unroll 2
		for (int j = 0; j < 2; j++) {
			int cc = c + 8 * j;
			__m256i v;

			if (cc >= c1)
				break;
			v = _mm256_add_epi32(acc[r][j], _mm256_load_si256((const __m256i *)(q->cst + cc)));
			v = conv_rq8(q->rq, cc, v);
			if (c1 - cc >= 8)
				conv_store8_avx2(out + (size_t)r * ldo + cc, v, q->in_signed);
			else
				store_part(out + (size_t)r * ldo + cc, v, c1 - cc, q->in_signed);
		}
	}
}

void conv_qgemm_avx2(const conv_qgemm *q, const uint8_t *a, size_t lda, int rows, int c0, int c1, uint8_t *out,
		     size_t ldo, void *work)
{
	int16_t *a16 = work;

	widen_rows(q, a, lda, rows, a16);
	for (int c = c0; c < c1; c += 16) {
		const int16_t *w = (const int16_t *)q->w + (size_t)(c / 16) * q->kp * 16;
		for (int r = 0; r < rows; r += MR) {
			int nr = rows - r < MR ? rows - r : MR;
			tile(q, a16 + (size_t)r * q->kp, nr, w, c, c1, out + (size_t)r * ldo, ldo);
		}
	}
}
