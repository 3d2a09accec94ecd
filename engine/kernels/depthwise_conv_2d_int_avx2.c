/* depthwise_conv_2d_int_avx2.c - multiplier-1 integer depthwise rows, AVX2.
 *
 * DESIGN: the AVX-512 file's scheme at 8 channels per register: four
 * registers per step (32 channels), then single registers; the last
 * C % 8 channels (AVX2 has no byte-masked load that cannot overrun the
 * row) go through the scalar arithmetic of the reference.  Per tap: 8 input
 * bytes widened to int32, minus the zero point, vpmaddwd against the packed
 * (w - wz) lanes (exact: both factors fit int16, the weight's high half is
 * zero).  conv_rq8 requantizes bit-exactly with conv_rq_apply.
 */
#include <string.h>

#include "conv_common.h"

static inline __attribute__((always_inline)) __m256i widen(const uint8_t *p, bool is_signed)
{
	__m128i v = _mm_loadl_epi64((const __m128i *)p);
	return is_signed ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

static inline __attribute__((always_inline)) __m256i tap(__m256i acc, const uint8_t *ip, const int32_t *wp,
							 __m256i zp, bool is_signed)
{
	__m256i x = _mm256_sub_epi32(widen(ip, is_signed), zp);
	return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_load_si256((const __m256i *)wp)));
}

static inline __attribute__((always_inline)) void row(const dw_qparams *q, const uint8_t *in, uint8_t *out, int b,
						      int oy, const bool is_signed)
{
	const dw_params *p = &q->p;
	const int C = p->oc, ocp = conv_round16(C);
	const size_t row_stride = (size_t)p->iw * C;
	const uint8_t *img = in + (size_t)b * p->ih * row_stride;
	const __m256i zp = _mm256_set1_epi32(q->in_zp);
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;

	conv_tap_range(y0, p->kh, p->dh, p->ih, &ky_lo, &ky_hi);
	out += ((size_t)b * p->oh + oy) * p->ow * C;
	for (int ox = 0; ox < p->ow; ox++) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi, c = 0;
		uint8_t *o = out + (size_t)ox * C;

		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		for (; c + 32 <= C; c += 32) {
			__m256i a0 = _mm256_load_si256((const __m256i *)(q->bias + c));
			__m256i a1 = _mm256_load_si256((const __m256i *)(q->bias + c + 8));
			__m256i a2 = _mm256_load_si256((const __m256i *)(q->bias + c + 16));
			__m256i a3 = _mm256_load_si256((const __m256i *)(q->bias + c + 24));
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const uint8_t *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const int32_t *wrow = q->w32 + (size_t)ky * p->kw * ocp + c;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					const uint8_t *ip = irow + (size_t)(x0 + kx * p->dw) * C;
					const int32_t *wp = wrow + (size_t)kx * ocp;
					a0 = tap(a0, ip, wp, zp, is_signed);
					a1 = tap(a1, ip + 8, wp + 8, zp, is_signed);
					a2 = tap(a2, ip + 16, wp + 16, zp, is_signed);
					a3 = tap(a3, ip + 24, wp + 24, zp, is_signed);
				}
			}
			conv_store8_avx2(o + c, conv_rq8(q->rq, c, a0), is_signed);
			conv_store8_avx2(o + c + 8, conv_rq8(q->rq, c + 8, a1), is_signed);
			conv_store8_avx2(o + c + 16, conv_rq8(q->rq, c + 16, a2), is_signed);
			conv_store8_avx2(o + c + 24, conv_rq8(q->rq, c + 24, a3), is_signed);
		}
		for (; c + 8 <= C; c += 8) {
			__m256i a = _mm256_load_si256((const __m256i *)(q->bias + c));
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const uint8_t *irow = img + (size_t)(y0 + ky * p->dh) * row_stride + c;
				const int32_t *wrow = q->w32 + (size_t)ky * p->kw * ocp + c;
				for (int kx = kx_lo; kx < kx_hi; kx++)
					a = tap(a, irow + (size_t)(x0 + kx * p->dw) * C, wrow + (size_t)kx * ocp, zp,
						is_signed);
			}
			conv_store8_avx2(o + c, conv_rq8(q->rq, c, a), is_signed);
		}
		for (; c < C; c++) { /* the reference's arithmetic */
			uint32_t acc = (uint32_t)q->bias[c];
			int32_t v;
			for (int ky = ky_lo; ky < ky_hi; ky++)
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					size_t ia = (size_t)(y0 + ky * p->dh) * row_stride +
						    (size_t)(x0 + kx * p->dw) * C + c;
					int32_t x = is_signed ? (int8_t)img[ia] : img[ia];
					int32_t w = (int16_t)q->w32[((size_t)ky * p->kw + kx) * ocp + c];
					acc += (uint32_t)((x - q->in_zp) * w);
				}
			v = conv_rq_apply(q->rq, c, (int32_t)acc);
			o[c] = (uint8_t)v;
		}
	}
}

void depthwise_conv_2d_int_row_avx2(const dw_qparams *q, const void *in, void *out, int b, int oy)
{
	if (q->is_signed)
		row(q, in, out, b, oy, true);
	else
		row(q, in, out, b, oy, false);
}

