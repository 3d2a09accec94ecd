/* depthwise_conv_2d_int_avx512.c - multiplier-1 integer depthwise rows,
 * AVX-512 (F, BW, VL); also compiled as the VNNI variant.
 *
 * DESIGN: 16 channels per register, the last partial register by mask
 * (masked loads neither fault nor read past the row; masked stores write
 * only the channels that exist).  Per tap: 16 input bytes widened to int32
 * lanes (zero- or sign-extended), multiplied with vpmaddwd against the
 * packed (w - wz) lanes - exact, since both factors fit int16 and the
 * weight's high half is zero - and added; depthwise_conv_2d_int_vnni.c
 * includes this file with DWQ_VNNI defined, which fuses the two into one
 * vpdpwssd (the same sum).  Where the window lies inside the input, the
 * zero point is not subtracted per tap: the accumulator starts from
 * bias_in = bias - xz * sum of the taps' (w - wz) instead.  Such windows
 * are done four output pixels at a time, sharing each weight load; border
 * windows one at a time with their clipped tap ranges and x - xz.  Sums are
 * exact modulo 2^32, conv_rq16 requantizes bit-exactly with the reference,
 * vpmovdb narrows.
 */
#include "conv_common.h"

#ifdef DWQ_VNNI
#define MAC(acc, x, w) _mm512_dpwssd_epi32((acc), (w), (x))
#define ROW_FN depthwise_conv_2d_int_row_vnni
#else
#define MAC(acc, x, w) _mm512_add_epi32((acc), _mm512_madd_epi16((x), (w)))
#define ROW_FN depthwise_conv_2d_int_row_avx512
#endif

static inline __attribute__((always_inline)) __m512i widen(const uint8_t *p, __mmask16 m, const bool masked,
							   const bool is_signed)
{
	/* unmasked, the load folds into vpmovzxbd / vpmovsxbd */
	__m128i v = masked ? _mm_maskz_loadu_epi8(m, p) : _mm_loadu_si128((const __m128i *)p);
	return is_signed ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

/* Adds the taps of window row ky of NP pixels to acc. */
static inline __attribute__((always_inline)) void taps(const dw_qparams *q, const uint8_t *img, int c, __mmask16 m,
						       int y0, int ky, int x0, int kx_lo, int kx_hi, __m512i *acc,
						       const int NP, const int KW, const bool masked, const bool inside,
						       const bool is_signed)
{
	const dw_params *p = &q->p;
	const int C = p->oc, ocp = conv_round16(C);
	const size_t px_stride = (size_t)p->sw * C;
	const uint8_t *irow = img + (size_t)(y0 + ky * p->dh) * p->iw * C + c;
	const int32_t *wrow = q->w32 + (size_t)ky * p->kw * ocp + c;

	if (KW == 3 && NP == 4 && inside && p->sw == 1 && p->dw == 1) {
		/* stride 1: the 4 windows' 12 taps read 6 columns; widen each once */
		__m512i xs[6];
		const uint8_t *ip = irow + (size_t)x0 * C;
#pragma GCC unroll 6
		for (int j = 0; j < 6; j++)
			xs[j] = widen(ip + (size_t)j * C, m, masked, is_signed);
#pragma GCC unroll 3
		for (int kx = 0; kx < 3; kx++) {
			const __m512i w = _mm512_load_si512(wrow + (size_t)kx * ocp);
#pragma GCC unroll 4
			for (int i = 0; i < 4; i++)
				acc[i] = MAC(acc[i], xs[i + kx], w);
		}
		return;
	}
	const int kx0 = KW ? 0 : kx_lo, kx1 = KW ? KW : kx_hi;
	for (int kx = kx0; kx < kx1; kx++) {
		const uint8_t *ip = irow + (size_t)(x0 + kx * p->dw) * C;
		const __m512i w = _mm512_load_si512(wrow + (size_t)kx * ocp);
#pragma GCC unroll 4
		for (int i = 0; i < NP; i++) {
			__m512i x = widen(ip + i * px_stride, m, masked, is_signed);
			if (!inside)
				x = _mm512_sub_epi32(x, _mm512_set1_epi32(q->in_zp));
			acc[i] = MAC(acc[i], x, w);
		}
	}
}

/* NP output pixels, 16 channels from c (the first m of them).  Window rows
 * alternate between two accumulator sets, halving the dependency chains
 * (vpdpwssd's latency, not its throughput, would bound a single chain). */
static inline __attribute__((always_inline)) void block(const dw_qparams *q, const uint8_t *img, uint8_t *o, int c,
							__mmask16 m, int y0, int ky_lo, int ky_hi, int x0, int kx_lo,
							int kx_hi, const int NP, const int KW, const bool masked,
							const bool inside, const bool is_signed)
{
	const int32_t *bias = inside ? q->bias_in : q->bias;
	__m512i a0[4], a1[4];
	int ky = ky_lo;

#pragma GCC unroll 4
	for (int i = 0; i < NP; i++) {
		a0[i] = _mm512_load_si512(bias + c);
		a1[i] = _mm512_setzero_si512();
	}
	for (; ky + 1 < ky_hi; ky += 2) {
		taps(q, img, c, m, y0, ky, x0, kx_lo, kx_hi, a0, NP, KW, masked, inside, is_signed);
		taps(q, img, c, m, y0, ky + 1, x0, kx_lo, kx_hi, a1, NP, KW, masked, inside, is_signed);
	}
	if (ky < ky_hi)
		taps(q, img, c, m, y0, ky, x0, kx_lo, kx_hi, a0, NP, KW, masked, inside, is_signed);
#pragma GCC unroll 4
	for (int i = 0; i < NP; i++)
		conv_rq16_store(q->rq, c, _mm512_add_epi32(a0[i], a1[i]), o + (size_t)q->p.oc * i + c, m);
}

/* NP output pixels from input column x0 (window origin of the first; the
 * others follow at stride sw), taps [ky_lo, ky_hi) x [kx_lo, kx_hi), all
 * channels.  inside: every tap of every pixel lies in the input; KW: the
 * window width when known at compile time (then kx spans all of it). */
static inline __attribute__((always_inline)) void pixels(const dw_qparams *q, const uint8_t *img, uint8_t *o,
							 int y0, int ky_lo, int ky_hi, int x0, int kx_lo, int kx_hi,
							 const int NP, const int KW, const bool inside,
							 const bool is_signed)
{
	const int C = q->p.oc;
	int c = 0;

	for (; c + 16 <= C; c += 16)
		block(q, img, o, c, 0xFFFF, y0, ky_lo, ky_hi, x0, kx_lo, kx_hi, NP, KW, false, inside, is_signed);
	if (c < C)
		block(q, img, o, c, (__mmask16)((1u << (C - c)) - 1), y0, ky_lo, ky_hi, x0, kx_lo, kx_hi, NP, KW, true,
		      inside, is_signed);
}

static inline __attribute__((always_inline)) void row(const dw_qparams *q, const uint8_t *in, uint8_t *out, int b,
						      int oy, const bool is_signed)
{
	const dw_params *p = &q->p;
	const int C = p->oc;
	const uint8_t *img = in + (size_t)b * p->ih * p->iw * C;
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;
	bool rows_in;

	conv_tap_range(y0, p->kh, p->dh, p->ih, &ky_lo, &ky_hi);
	rows_in = ky_lo == 0 && ky_hi == p->kh;
	out += ((size_t)b * p->oh + oy) * p->ow * C;
	for (int ox = 0; ox < p->ow;) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi;
		uint8_t *o = out + (size_t)ox * C;

		/* four windows inside the input: from x0 to the last tap of the fourth */
		if (rows_in && ox + 4 <= p->ow && x0 >= 0 && x0 + 3 * p->sw + (p->kw - 1) * p->dw < p->iw) {
			if (p->kw == 3)
				pixels(q, img, o, y0, 0, p->kh, x0, 0, 3, 4, 3, true, is_signed);
			else
				pixels(q, img, o, y0, 0, p->kh, x0, 0, p->kw, 4, 0, true, is_signed);
			ox += 4;
			continue;
		}
		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		if (rows_in && kx_lo == 0 && kx_hi == p->kw)
			pixels(q, img, o, y0, 0, p->kh, x0, 0, p->kw, 1, 0, true, is_signed);
		else
			pixels(q, img, o, y0, ky_lo, ky_hi, x0, kx_lo, kx_hi, 1, 0, false, is_signed);
		ox++;
	}
}

/* The parameters and requantization constants are copied to locals first:
 * the byte stores through `out` could alias them as far as the compiler
 * knows, and it would reload every field (and re-test every flag) after
 * each store; locals whose address stays inside these inlined functions
 * cannot be aliased, so they live in registers. */
void ROW_FN(const dw_qparams *qin, const void *in, void *out, int b, int oy)
{
	const conv_rq rq = *qin->rq;
	dw_qparams q = *qin;

	q.rq = &rq;
	if (q.is_signed)
		row(&q, in, out, b, oy, true);
	else
		row(&q, in, out, b, oy, false);
}

