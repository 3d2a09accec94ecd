/* depthwise_conv_2d_3x3_avx512.c - 3x3 multiplier-1 depthwise rows, AVX-512.
 *
 * DESIGN: MobileNet's depthwise layers (3x3, dilation 1, stride 1 or 2,
 * SAME) are bound by loads, not FMAs: the generic row loads a filter
 * vector and an input vector for every multiply-add.  Here an output row
 * is cut along x into
 *   - interior pixels, whose 3 window columns all lie inside the input:
 *     four outputs at a time, per window row the 3 filter taps loaded
 *     once and the 3*s+3 input columns the four windows span loaded once,
 *     so a stride-1 window row costs 9 loads for 12 FMAs instead of 24;
 *     the whole channel depth is swept for those four pixels before
 *     moving on, so their input stays in L1 for the next window row;
 *   - the rest (the padded border, and interior pixels past the last
 *     group of four): one pixel at a time with its own tap range, four
 *     independent 16-channel chains so a deep layer is not latency bound.
 * Window rows outside the input are dropped once per output row, so the
 * interior loop has no bounds tests.  Channels past a multiple of 16 go
 * under a mask (no reads or writes past a row).  The filter is read where
 * it lies: [3][3][C] already keeps each tap's channels contiguous, and it
 * may be a run-time tensor; an output row touches it once per pixel group
 * from L1.  Every output is summed in the reference's order - taps by ky
 * then kx from zero, then the bias, then max(lo, x) and min(hi, x) (a NaN
 * passes through) - so it differs from dw_ref_row only by FMA rounding.
 */
#include <immintrin.h>

#include "depthwise_conv_2d_f32.h"

static inline __mmask16 lane_mask(int left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

static inline void finish(float *o, const float *bias, __m512 acc, __mmask16 m, __m512 lo, __m512 hi)
{
	if (bias)
		acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, bias));
	_mm512_mask_storeu_ps(o, m, _mm512_min_ps(hi, _mm512_max_ps(lo, acc)));
}

/* Four interior outputs from x0 (window start of the first), stride S. */
static inline __attribute__((always_inline)) void quad(const int S, const float *img, size_t rs, int C,
						       const float *filter, const float *bias, float *o, int y0,
						       int x0, int ky_lo, int ky_hi, __m512 lo, __m512 hi)
{
	enum { NCOL_MAX = 9 };
	const int ncol = 3 * S + 3;

	for (int c = 0; c < C; c += 16) {
		__mmask16 m = lane_mask(C - c);
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, v[NCOL_MAX];

		for (int ky = ky_lo; ky < ky_hi; ky++) {
			const float *ip = img + (size_t)(y0 + ky) * rs + (size_t)x0 * C + c;
			const float *fp = filter + (size_t)ky * 3 * C + c;
			__m512 f0 = _mm512_maskz_loadu_ps(m, fp), f1 = _mm512_maskz_loadu_ps(m, fp + C),
			       f2 = _mm512_maskz_loadu_ps(m, fp + 2 * C);

#pragma GCC unroll 9
			for (int j = 0; j < ncol; j++)
				v[j] = _mm512_maskz_loadu_ps(m, ip + (size_t)j * C);
			a0 = _mm512_fmadd_ps(v[0], f0, a0);
			a1 = _mm512_fmadd_ps(v[S], f0, a1);
			a2 = _mm512_fmadd_ps(v[2 * S], f0, a2);
			a3 = _mm512_fmadd_ps(v[3 * S], f0, a3);
			a0 = _mm512_fmadd_ps(v[1], f1, a0);
			a1 = _mm512_fmadd_ps(v[S + 1], f1, a1);
			a2 = _mm512_fmadd_ps(v[2 * S + 1], f1, a2);
			a3 = _mm512_fmadd_ps(v[3 * S + 1], f1, a3);
			a0 = _mm512_fmadd_ps(v[2], f2, a0);
			a1 = _mm512_fmadd_ps(v[S + 2], f2, a1);
			a2 = _mm512_fmadd_ps(v[2 * S + 2], f2, a2);
			a3 = _mm512_fmadd_ps(v[3 * S + 2], f2, a3);
		}
		finish(o + c, bias ? bias + c : NULL, a0, m, lo, hi);
		finish(o + C + c, bias ? bias + c : NULL, a1, m, lo, hi);
		finish(o + 2 * C + c, bias ? bias + c : NULL, a2, m, lo, hi);
		finish(o + 3 * C + c, bias ? bias + c : NULL, a3, m, lo, hi);
	}
}

/* One output whose window starts at x0 (possibly outside the input). */
static void single(const float *img, size_t rs, int C, int iw, const float *filter, const float *bias,
		   float *o, int y0, int x0, int ky_lo, int ky_hi, __m512 lo, __m512 hi)
{
	int kx_lo, kx_hi, c = 0;

	conv_tap_range(x0, 3, 1, iw, &kx_lo, &kx_hi);
	for (; c + 64 <= C; c += 64) {
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int ky = ky_lo; ky < ky_hi; ky++)
			for (int kx = kx_lo; kx < kx_hi; kx++) {
				const float *ip = img + (size_t)(y0 + ky) * rs + (size_t)(x0 + kx) * C + c;
				const float *fp = filter + (size_t)(ky * 3 + kx) * C + c;
				a0 = _mm512_fmadd_ps(_mm512_loadu_ps(ip), _mm512_loadu_ps(fp), a0);
				a1 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + 16), _mm512_loadu_ps(fp + 16), a1);
				a2 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + 32), _mm512_loadu_ps(fp + 32), a2);
				a3 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + 48), _mm512_loadu_ps(fp + 48), a3);
			}
		finish(o + c, bias ? bias + c : NULL, a0, 0xffff, lo, hi);
		finish(o + c + 16, bias ? bias + c + 16 : NULL, a1, 0xffff, lo, hi);
		finish(o + c + 32, bias ? bias + c + 32 : NULL, a2, 0xffff, lo, hi);
		finish(o + c + 48, bias ? bias + c + 48 : NULL, a3, 0xffff, lo, hi);
	}
	for (; c < C; c += 16) {
		__mmask16 m = lane_mask(C - c);
		__m512 a = _mm512_setzero_ps();
		for (int ky = ky_lo; ky < ky_hi; ky++)
			for (int kx = kx_lo; kx < kx_hi; kx++)
				a = _mm512_fmadd_ps(
				    _mm512_maskz_loadu_ps(m, img + (size_t)(y0 + ky) * rs + (size_t)(x0 + kx) * C + c),
				    _mm512_maskz_loadu_ps(m, filter + (size_t)(ky * 3 + kx) * C + c), a);
		finish(o + c, bias ? bias + c : NULL, a, m, lo, hi);
	}
}

static inline __attribute__((always_inline)) void row(const int S, const dw_params *p, const float *img,
						      const float *filter, const float *bias, float *out,
						      int y0, int ky_lo, int ky_hi)
{
	const int C = p->oc;
	const size_t rs = (size_t)p->iw * C;
	const __m512 lo = _mm512_set1_ps(p->lo), hi = _mm512_set1_ps(p->hi);
	/* interior: ox*S - pad_w >= 0 and ox*S - pad_w + 2 <= iw - 1 */
	int in_lo = (p->pad_w + S - 1) / S, in_hi = p->iw - 3 + p->pad_w >= 0 ? (p->iw - 3 + p->pad_w) / S + 1 : 0;
	int ox = 0;

	if (in_hi > p->ow)
		in_hi = p->ow;
	if (in_lo > in_hi)
		in_lo = in_hi;
	for (; ox < in_lo; ox++)
		single(img, rs, C, p->iw, filter, bias, out + (size_t)ox * C, y0, ox * S - p->pad_w, ky_lo, ky_hi,
		       lo, hi);
	for (; ox + 4 <= in_hi; ox += 4)
		quad(S, img, rs, C, filter, bias, out + (size_t)ox * C, y0, ox * S - p->pad_w, ky_lo, ky_hi, lo,
		     hi);
	for (; ox < p->ow; ox++)
		single(img, rs, C, p->iw, filter, bias, out + (size_t)ox * C, y0, ox * S - p->pad_w, ky_lo, ky_hi,
		       lo, hi);
}

void depthwise_conv_2d_3x3_row_avx512(const dw_params *p, const float *in, const float *filter,
				      const float *bias, float *out, int b, int oy)
{
	const size_t rs = (size_t)p->iw * p->oc;
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;
	const float *img = in + (size_t)b * p->ih * rs;

	conv_tap_range(y0, 3, 1, p->ih, &ky_lo, &ky_hi);
	out += ((size_t)b * p->oh + oy) * p->ow * p->oc;
	if (p->sw == 1)
		row(1, p, img, filter, bias, out, y0, ky_lo, ky_hi);
	else
		row(2, p, img, filter, bias, out, y0, ky_lo, ky_hi);
}
