/* depthwise_conv_2d_3x3_avx2.c - 3x3 multiplier-1 depthwise rows, AVX2 + FMA.
 *
 * DESIGN: the scheme of depthwise_conv_2d_3x3_avx512.c at 8 channels per
 * register: interior pixels four at a time, each window row's 3 filter
 * taps and 3*s+3 input columns loaded once for the four outputs; the
 * padded border and the interior pixels past the last group of four one
 * at a time with their own tap range, 32 channels (four chains) per step.
 * Channels past a multiple of 8 go through vmaskmov, which neither reads
 * nor writes masked-off lanes; full registers use plain loads (a masked
 * load costs more than a plain one on AVX2 machines).  Same order of
 * operations as the reference: taps by ky then kx from zero, bias, then
 * max(lo, x) and min(hi, x).
 */
#include <immintrin.h>
#include <stdbool.h>

#include "depthwise_conv_2d_f32.h"

static inline __attribute__((always_inline)) __m256 ld(const bool full, const float *p, __m256i m)
{
	return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

static inline __attribute__((always_inline)) void finish(const bool full, float *o, const float *bias,
							 __m256 acc, __m256i m, __m256 lo, __m256 hi)
{
	if (bias)
		acc = _mm256_add_ps(acc, ld(full, bias, m));
	acc = _mm256_min_ps(hi, _mm256_max_ps(lo, acc));
	if (full)
		_mm256_storeu_ps(o, acc);
	else
		_mm256_maskstore_ps(o, m, acc);
}

/* Channels [c, c + 8) of four interior outputs from x0, stride S. */
static inline __attribute__((always_inline)) void quad8(const int S, const bool full, const float *img,
							size_t rs, int C, const float *filter,
							const float *bias, float *o, int y0, int x0, int c,
							int ky_lo, int ky_hi, __m256i m, __m256 lo, __m256 hi)
{
	enum { NCOL_MAX = 9 };
	const int ncol = 3 * S + 3;
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, v[NCOL_MAX];

	for (int ky = ky_lo; ky < ky_hi; ky++) {
		const float *ip = img + (size_t)(y0 + ky) * rs + (size_t)x0 * C + c;
		const float *fp = filter + (size_t)ky * 3 * C + c;
		__m256 f0 = ld(full, fp, m), f1 = ld(full, fp + C, m), f2 = ld(full, fp + 2 * C, m);

#pragma GCC unroll 9
		for (int j = 0; j < ncol; j++)
			v[j] = ld(full, ip + (size_t)j * C, m);
		a0 = _mm256_fmadd_ps(v[0], f0, a0);
		a1 = _mm256_fmadd_ps(v[S], f0, a1);
		a2 = _mm256_fmadd_ps(v[2 * S], f0, a2);
		a3 = _mm256_fmadd_ps(v[3 * S], f0, a3);
		a0 = _mm256_fmadd_ps(v[1], f1, a0);
		a1 = _mm256_fmadd_ps(v[S + 1], f1, a1);
		a2 = _mm256_fmadd_ps(v[2 * S + 1], f1, a2);
		a3 = _mm256_fmadd_ps(v[3 * S + 1], f1, a3);
		a0 = _mm256_fmadd_ps(v[2], f2, a0);
		a1 = _mm256_fmadd_ps(v[S + 2], f2, a1);
		a2 = _mm256_fmadd_ps(v[2 * S + 2], f2, a2);
		a3 = _mm256_fmadd_ps(v[3 * S + 2], f2, a3);
	}
	finish(full, o + c, bias ? bias + c : NULL, a0, m, lo, hi);
	finish(full, o + C + c, bias ? bias + c : NULL, a1, m, lo, hi);
	finish(full, o + 2 * C + c, bias ? bias + c : NULL, a2, m, lo, hi);
	finish(full, o + 3 * C + c, bias ? bias + c : NULL, a3, m, lo, hi);
}

static inline __attribute__((always_inline)) void quad(const int S, const float *img, size_t rs, int C,
						       const float *filter, const float *bias, float *o, int y0,
						       int x0, int ky_lo, int ky_hi, __m256i tail, __m256 lo,
						       __m256 hi)
{
	int c = 0;

	for (; c + 8 <= C; c += 8)
		quad8(S, true, img, rs, C, filter, bias, o, y0, x0, c, ky_lo, ky_hi, tail, lo, hi);
	if (c < C)
		quad8(S, false, img, rs, C, filter, bias, o, y0, x0, c, ky_lo, ky_hi, tail, lo, hi);
}

/* One output whose window starts at x0 (possibly outside the input). */
static void single(const float *img, size_t rs, int C, int iw, const float *filter, const float *bias,
		   float *o, int y0, int x0, int ky_lo, int ky_hi, __m256i tail, __m256 lo, __m256 hi)
{
	int kx_lo, kx_hi, c = 0;

	conv_tap_range(x0, 3, 1, iw, &kx_lo, &kx_hi);
	for (; c + 32 <= C; c += 32) {
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int ky = ky_lo; ky < ky_hi; ky++)
			for (int kx = kx_lo; kx < kx_hi; kx++) {
				const float *ip = img + (size_t)(y0 + ky) * rs + (size_t)(x0 + kx) * C + c;
				const float *fp = filter + (size_t)(ky * 3 + kx) * C + c;
				a0 = _mm256_fmadd_ps(_mm256_loadu_ps(ip), _mm256_loadu_ps(fp), a0);
				a1 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 8), _mm256_loadu_ps(fp + 8), a1);
				a2 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 16), _mm256_loadu_ps(fp + 16), a2);
				a3 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 24), _mm256_loadu_ps(fp + 24), a3);
			}
		finish(true, o + c, bias ? bias + c : NULL, a0, tail, lo, hi);
		finish(true, o + c + 8, bias ? bias + c + 8 : NULL, a1, tail, lo, hi);
		finish(true, o + c + 16, bias ? bias + c + 16 : NULL, a2, tail, lo, hi);
		finish(true, o + c + 24, bias ? bias + c + 24 : NULL, a3, tail, lo, hi);
	}
	for (; c < C; c += 8) {
		bool full = c + 8 <= C;
		__m256 a = _mm256_setzero_ps();
		for (int ky = ky_lo; ky < ky_hi; ky++)
			for (int kx = kx_lo; kx < kx_hi; kx++) {
				const float *ip = img + (size_t)(y0 + ky) * rs + (size_t)(x0 + kx) * C + c;
				const float *fp = filter + (size_t)(ky * 3 + kx) * C + c;
				a = full ? _mm256_fmadd_ps(_mm256_loadu_ps(ip), _mm256_loadu_ps(fp), a)
					 : _mm256_fmadd_ps(_mm256_maskload_ps(ip, tail), _mm256_maskload_ps(fp, tail),
							   a);
			}
		if (full)
			finish(true, o + c, bias ? bias + c : NULL, a, tail, lo, hi);
		else
			finish(false, o + c, bias ? bias + c : NULL, a, tail, lo, hi);
	}
}

static inline __attribute__((always_inline)) void row(const int S, const dw_params *p, const float *img,
						      const float *filter, const float *bias, float *out,
						      int y0, int ky_lo, int ky_hi)
{
	const int C = p->oc;
	const size_t rs = (size_t)p->iw * C;
	const __m256 lo = _mm256_set1_ps(p->lo), hi = _mm256_set1_ps(p->hi);
	/* lanes below C % 8 enabled: the mask of the last partial register */
	const __m256i tail =
	    _mm256_cmpgt_epi32(_mm256_set1_epi32(C % 8), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
	/* interior: ox*S - pad_w >= 0 and ox*S - pad_w + 2 <= iw - 1 */
	int in_lo = (p->pad_w + S - 1) / S, in_hi = p->iw - 3 + p->pad_w >= 0 ? (p->iw - 3 + p->pad_w) / S + 1 : 0;
	int ox = 0;

	if (in_hi > p->ow)
		in_hi = p->ow;
	if (in_lo > in_hi)
		in_lo = in_hi;
	for (; ox < in_lo; ox++)
		single(img, rs, C, p->iw, filter, bias, out + (size_t)ox * C, y0, ox * S - p->pad_w, ky_lo, ky_hi,
		       tail, lo, hi);
	for (; ox + 4 <= in_hi; ox += 4)
		quad(S, img, rs, C, filter, bias, out + (size_t)ox * C, y0, ox * S - p->pad_w, ky_lo, ky_hi, tail,
		     lo, hi);
	for (; ox < p->ow; ox++)
		single(img, rs, C, p->iw, filter, bias, out + (size_t)ox * C, y0, ox * S - p->pad_w, ky_lo, ky_hi,
		       tail, lo, hi);
}

void depthwise_conv_2d_3x3_row_avx2(const dw_params *p, const float *in, const float *filter, const float *bias,
				    float *out, int b, int oy)
{
	const size_t rs = (size_t)p->iw * p->oc;
	const float *img = in + (size_t)b * p->ih * rs;
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;

	conv_tap_range(y0, 3, 1, p->ih, &ky_lo, &ky_hi);
	out += ((size_t)b * p->oh + oy) * p->ow * p->oc;
	if (p->sw == 1)
		row(1, p, img, filter, bias, out, y0, ky_lo, ky_hi);
	else
		row(2, p, img, filter, bias, out, y0, ky_lo, ky_hi);
}
