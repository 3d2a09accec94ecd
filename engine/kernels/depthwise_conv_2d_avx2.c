/* depthwise_conv_2d_avx2.c - multiplier-1 depthwise rows, AVX2 + FMA.
 *
 * DESIGN: the AVX-512 file's scheme at 8 channels per register: four
 * registers per step (32 channels), then single registers, then the last
 * partial register through vmaskmov (which neither reads nor writes the
 * masked-off lanes, so rows are never overrun).  Taps in the reference's
 * order from zero, bias after, then max(lo, x) and min(hi, x) with the
 * operand order that lets a NaN through, as the reference does.
 */
#include <immintrin.h>

#include "conv_common.h"

static inline void finish(float *o, const float *bias, __m256 acc, __m256 lo, __m256 hi)
{
	if (bias)
		acc = _mm256_add_ps(acc, _mm256_loadu_ps(bias));
	_mm256_storeu_ps(o, _mm256_min_ps(hi, _mm256_max_ps(lo, acc)));
}

void depthwise_conv_2d_row_avx2(const dw_params *p, const float *in, const float *filter, const float *bias,
				float *out, int b, int oy)
{
	const int C = p->oc;
	const size_t row_stride = (size_t)p->iw * C;
	const float *img = in + (size_t)b * p->ih * row_stride;
	const __m256 lo = _mm256_set1_ps(p->lo), hi = _mm256_set1_ps(p->hi);
	/* lanes below C % 8 enabled: the mask of the last partial register */
	const __m256i tail =
	    _mm256_cmpgt_epi32(_mm256_set1_epi32(C % 8), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;

	conv_tap_range(y0, p->kh, p->dh, p->ih, &ky_lo, &ky_hi);
	out += ((size_t)b * p->oh + oy) * p->ow * C;
	for (int ox = 0; ox < p->ow; ox++) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi, c = 0;
		float *o = out + (size_t)ox * C;

		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		for (; c + 32 <= C; c += 32) {
			__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const float *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const float *frow = filter + (size_t)ky * p->kw * C + c;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					const float *ip = irow + (size_t)(x0 + kx * p->dw) * C;
					const float *fp = frow + (size_t)kx * C;
					a0 = _mm256_fmadd_ps(_mm256_loadu_ps(ip), _mm256_loadu_ps(fp), a0);
					a1 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 8), _mm256_loadu_ps(fp + 8),
							     a1);
					a2 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 16),
							     _mm256_loadu_ps(fp + 16), a2);
					a3 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 24),
							     _mm256_loadu_ps(fp + 24), a3);
				}
			}
			finish(o + c, bias ? bias + c : NULL, a0, lo, hi);
			finish(o + c + 8, bias ? bias + c + 8 : NULL, a1, lo, hi);
			finish(o + c + 16, bias ? bias + c + 16 : NULL, a2, lo, hi);
			finish(o + c + 24, bias ? bias + c + 24 : NULL, a3, lo, hi);
		}
		for (; c + 8 <= C; c += 8) {
			__m256 a = _mm256_setzero_ps();
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const float *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const float *frow = filter + (size_t)ky * p->kw * C + c;
				for (int kx = kx_lo; kx < kx_hi; kx++)
					a = _mm256_fmadd_ps(
					    _mm256_loadu_ps(irow + (size_t)(x0 + kx * p->dw) * C),
					    _mm256_loadu_ps(frow + (size_t)kx * C), a);
			}
			finish(o + c, bias ? bias + c : NULL, a, lo, hi);
		}
		if (c < C) {
			__m256 a = _mm256_setzero_ps();
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const float *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const float *frow = filter + (size_t)ky * p->kw * C + c;
				for (int kx = kx_lo; kx < kx_hi; kx++)
					a = _mm256_fmadd_ps(
					    _mm256_maskload_ps(irow + (size_t)(x0 + kx * p->dw) * C, tail),
					    _mm256_maskload_ps(frow + (size_t)kx * C, tail), a);
			}
			if (bias)
				a = _mm256_add_ps(a, _mm256_maskload_ps(bias + c, tail));
			_mm256_maskstore_ps(o + c, tail, _mm256_min_ps(hi, _mm256_max_ps(lo, a)));
		}
	}
}
