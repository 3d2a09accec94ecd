/* depthwise_conv_2d_avx512.c - multiplier-1 depthwise rows, AVX-512.
 *
 * DESIGN: channels are innermost in the input, the filter [kh, kw, oc] and
 * the output, so one output pixel is a channel vector sum over the taps:
 * 16 channels per register, four registers per step (64 channels) to hide
 * the FMA latency, then single registers, and the last partial register
 * under a mask (no scalar tail, no reading past the row).  Taps are summed
 * in the reference's order (ky, then kx) starting from zero; the bias is
 * added after, then the clamp - max(lo, x) then min(hi, x), operand order
 * chosen so that a NaN passes through as it does in the reference.  Taps
 * outside the input are skipped (they would contribute zeros).
 * Channels past the last multiple of 64 (all of them when there are
 * fewer, as in MobileNet's first 32-channel layer) would leave a single
 * dependent FMA chain per pixel, so they are done in a second pass over
 * the row, four output pixels at a time where all four windows lie inside
 * the input along x: four chains sharing each filter load.
 */
#include <immintrin.h>

#include "conv_common.h"

static inline void finish(float *o, const float *bias, __m512 acc, __mmask16 m, __m512 lo, __m512 hi)
{
	if (bias)
		acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, bias));
	acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));
	_mm512_mask_storeu_ps(o, m, acc);
}

/* Channels [c0, C) of the four output pixels from ox, whose windows are
 * all inside the input along x (full kx range). */
static void tail4(const dw_params *p, const float *img, const float *filter, const float *bias, float *out,
		  int ox, int y0, int ky_lo, int ky_hi, int c0, __m512 lo, __m512 hi)
{
	const int C = p->oc;
	const size_t row_stride = (size_t)p->iw * C, step = (size_t)p->sw * C;
	int x0 = ox * p->sw - p->pad_w;
	float *o = out + (size_t)ox * C;

	for (int c = c0; c < C; c += 16) {
		__mmask16 m = C - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (C - c)) - 1);
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;

		for (int ky = ky_lo; ky < ky_hi; ky++) {
			const float *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
			const float *frow = filter + (size_t)ky * p->kw * C + c;
			for (int kx = 0; kx < p->kw; kx++) {
				const float *ip = irow + (size_t)(x0 + kx * p->dw) * C;
				__m512 f = _mm512_maskz_loadu_ps(m, frow + (size_t)kx * C);
				a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip), f, a0);
				a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip + step), f, a1);
				a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip + 2 * step), f, a2);
				a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip + 3 * step), f, a3);
			}
		}
		finish(o + c, bias ? bias + c : NULL, a0, m, lo, hi);
		finish(o + C + c, bias ? bias + c : NULL, a1, m, lo, hi);
		finish(o + 2 * C + c, bias ? bias + c : NULL, a2, m, lo, hi);
		finish(o + 3 * C + c, bias ? bias + c : NULL, a3, m, lo, hi);
	}
}

void depthwise_conv_2d_row_avx512(const dw_params *p, const float *in, const float *filter, const float *bias,
				  float *out, int b, int oy)
{
	const int C = p->oc;
	const size_t row_stride = (size_t)p->iw * C;
	const float *img = in + (size_t)b * p->ih * row_stride;
	const __m512 lo = _mm512_set1_ps(p->lo), hi = _mm512_set1_ps(p->hi);
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;

	conv_tap_range(y0, p->kh, p->dh, p->ih, &ky_lo, &ky_hi);
	out += ((size_t)b * p->oh + oy) * p->ow * C;
	for (int ox = 0; ox < p->ow; ox++) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi, c = 0;
		float *o = out + (size_t)ox * C;

		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		for (; c + 64 <= C; c += 64) {
			__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const float *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const float *frow = filter + (size_t)ky * p->kw * C + c;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					const float *ip = irow + (size_t)(x0 + kx * p->dw) * C;
					const float *fp = frow + (size_t)kx * C;
					a0 = _mm512_fmadd_ps(_mm512_loadu_ps(ip), _mm512_loadu_ps(fp), a0);
					a1 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + 16),
							     _mm512_loadu_ps(fp + 16), a1);
					a2 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + 32),
							     _mm512_loadu_ps(fp + 32), a2);
					a3 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + 48),
							     _mm512_loadu_ps(fp + 48), a3);
				}
			}
			finish(o + c, bias ? bias + c : NULL, a0, 0xffff, lo, hi);
			finish(o + c + 16, bias ? bias + c + 16 : NULL, a1, 0xffff, lo, hi);
			finish(o + c + 32, bias ? bias + c + 32 : NULL, a2, 0xffff, lo, hi);
			finish(o + c + 48, bias ? bias + c + 48 : NULL, a3, 0xffff, lo, hi);
		}
	}
	/* the channels past the last multiple of 64 (see DESIGN) */
	for (int ox = 0, c0 = C / 64 * 64; c0 < C && ox < p->ow; ox++) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi, c = c0;
		float *o = out + (size_t)ox * C;

		if (ox + 4 <= p->ow && x0 >= 0 &&
		    (long long)x0 + 3LL * p->sw + (long long)(p->kw - 1) * p->dw < p->iw) {
			tail4(p, img, filter, bias, out, ox, y0, ky_lo, ky_hi, c0, lo, hi);
			ox += 3;
			continue;
		}
		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		for (; c < C; c += 16) {
			__mmask16 m = C - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (C - c)) - 1);
			__m512 a = _mm512_setzero_ps();
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const float *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const float *frow = filter + (size_t)ky * p->kw * C + c;
				for (int kx = kx_lo; kx < kx_hi; kx++)
					a = _mm512_fmadd_ps(
					    _mm512_maskz_loadu_ps(m, irow + (size_t)(x0 + kx * p->dw) * C),
					    _mm512_maskz_loadu_ps(m, frow + (size_t)kx * C), a);
			}
			finish(o + c, bias ? bias + c : NULL, a, m, lo, hi);
		}
	}
}
