/* broadcast_avx512.c - AVX-512 loops of the quantized ADD/SUB
 * (broadcast.h's bc_qadd), sixteen elements per step.
 *
 * DESIGN: the same integers as the reference and the AVX2 loops, with
 * each of the three gemmlowp rescalings (input a, input b, the sum to the
 * output) done as one rounding shift of a 64-bit product.  The rounding
 * doubling high multiply is h = floor((p + 2^30) / 2^31), p = x * m (any
 * sign of m: SUB negates b's; no multiplier is INT32_MIN), and the divide
 * by 2^e rounding half away from zero is floor((h + 2^(e-1) - [h < 0]) /
 * 2^e) for e >= 1.  An integer added inside a floor commutes with the
 * division by 2^31, so the whole is
 *   (p + 2^30 + 2^(30+e) - 2^31 [p < -2^30]) >> (31 + e)
 * (e = 0: (p + 2^30) >> 31), whose value fits int32, so the low dwords of
 * the even and odd 64-bit lanes are the result.  Runs shorter than sixteen
 * elements and tails use the scalar reference.
 */
#include <immintrin.h>

#include "broadcast.h"

/* One rescaling's constants in vector registers. */
typedef struct rs16 {
	__m512i m;   /* multiplier in every dword */
	__m512i k;   /* 2^30 + 2^(30+e) (e >= 1), or 2^30, per qword */
	__m512i n;   /* 2^31 when e >= 1, else 0, per qword */
	__m128i sh;  /* 31 + e */
} rs16;

typedef struct qadd16 {
	rs16 a, b, out;
	__m512i off_a, off_b, off_out, lo, hi;
	__m128i left;
} qadd16;

static void rs16_init(rs16 *r, int32_t m, int shift)
{
	const int e = -shift; /* prepare guarantees shift <= 0 */

	r->m = _mm512_set1_epi32(m);
	r->k = _mm512_set1_epi64((1ll << 30) + (e ? 1ll << (30 + e) : 0));
	r->n = _mm512_set1_epi64(e ? 1ll << 31 : 0);
	r->sh = _mm_cvtsi32_si128(31 + e);
}

static void qadd16_init(qadd16 *v, const bc_qadd *p)
{
	rs16_init(&v->a, p->mul_a, p->shift_a);
	rs16_init(&v->b, p->mul_b, p->shift_b);
	rs16_init(&v->out, p->mul_out, p->shift_out);
	v->off_a = _mm512_set1_epi32(p->off_a);
	v->off_b = _mm512_set1_epi32(p->off_b);
	v->off_out = _mm512_set1_epi32(p->off_out);
	v->lo = _mm512_set1_epi32(p->lo);
	v->hi = _mm512_set1_epi32(p->hi);
	v->left = _mm_cvtsi32_si128(p->left_shift);
}

/* rdbpot(srdhm(x, m), e) on 16 lanes (see DESIGN). */
static inline __m512i rescale16(__m512i x, const rs16 *r)
{
	const __m512i neg = _mm512_set1_epi64(-(1ll << 30));
	__m512i pe = _mm512_mul_epi32(x, r->m);
	__m512i po = _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_CDAB), r->m);
	__mmask8 ne = _mm512_cmplt_epi64_mask(pe, neg), no = _mm512_cmplt_epi64_mask(po, neg);

	pe = _mm512_mask_sub_epi64(_mm512_add_epi64(pe, r->k), ne, _mm512_add_epi64(pe, r->k), r->n);
	po = _mm512_mask_sub_epi64(_mm512_add_epi64(po, r->k), no, _mm512_add_epi64(po, r->k), r->n);
	pe = _mm512_sra_epi64(pe, r->sh);
	po = _mm512_sra_epi64(po, r->sh);
	return _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB); /* low dwords */
}

static inline __m512i input16(__m512i x, __m512i off, __m128i left, const rs16 *r)
{
	return rescale16(_mm512_sll_epi32(_mm512_add_epi32(x, off), left), r);
}

static inline void finish16(void *o, __m512i s, const qadd16 *v)
{
	s = _mm512_add_epi32(rescale16(s, &v->out), v->off_out);
	s = _mm512_min_epi32(_mm512_max_epi32(s, v->lo), v->hi);
	_mm_storeu_si128((__m128i *)o, _mm512_cvtepi32_epi8(s)); /* inside the dtype: truncation is exact */
}

static inline __m512i load_u8(const uint8_t *p)
{
	return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
}

static inline __m512i load_i8(const int8_t *p)
{
	return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p));
}

/* The three loops for element type T. */
#define QADD_LOOPS(name, T, LOAD)                                                                            \
	static void name##_vv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, *b = b_;                                                                    \
		T *o = o_;                                                                                   \
		const bc_qadd *p = p_;                                                                       \
		qadd16 v;                                                                                    \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 16)                                                                                 \
			qadd16_init(&v, p);                                                                  \
		for (; i + 16 <= n; i += 16) {                                                               \
			__m512i sa = input16(LOAD(a + i), v.off_a, v.left, &v.a);                            \
			__m512i sb = input16(LOAD(b + i), v.off_b, v.left, &v.b);                            \
			finish16(o + i, _mm512_add_epi32(sa, sb), &v);                                       \
		}                                                                                            \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qadd_elem(a[i], b[i], p);                                               \
	}                                                                                                    \
	static void name##_sv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T x = *(const T *)a_;                                                                  \
		const T *b = b_;                                                                             \
		T *o = o_;                                                                                   \
		const bc_qadd *p = p_;                                                                       \
		const __m512i sa = _mm512_set1_epi32(p->tab_a[(uint8_t)x]);                                  \
		qadd16 v;                                                                                    \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 16)                                                                                 \
			qadd16_init(&v, p);                                                                  \
		for (; i + 16 <= n; i += 16) {                                                               \
			__m512i sb = input16(LOAD(b + i), v.off_b, v.left, &v.b);                            \
			finish16(o + i, _mm512_add_epi32(sa, sb), &v);                                       \
		}                                                                                            \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qadd_elem(x, b[i], p);                                                  \
	}                                                                                                    \
	static void name##_vs(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_;                                                                             \
		const T y = *(const T *)b_;                                                                  \
		T *o = o_;                                                                                   \
		const bc_qadd *p = p_;                                                                       \
		const __m512i sb = _mm512_set1_epi32(p->tab_b[(uint8_t)y]);                                  \
		qadd16 v;                                                                                    \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 16)                                                                                 \
			qadd16_init(&v, p);                                                                  \
		for (; i + 16 <= n; i += 16) {                                                               \
			__m512i sa = input16(LOAD(a + i), v.off_a, v.left, &v.a);                            \
			finish16(o + i, _mm512_add_epi32(sa, sb), &v);                                       \
		}                                                                                            \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qadd_elem(a[i], y, p);                                                  \
	}                                                                                                    \
	static const bc_loops name##_loops = {name##_vv, name##_sv, name##_vs};

QADD_LOOPS(qadd_u8_avx512, uint8_t, load_u8)
QADD_LOOPS(qadd_i8_avx512, int8_t, load_i8)

const bc_loops *bc_qadd_loops_avx512(nn_dtype t)
{
	return t == NN_U8 ? &qadd_u8_avx512_loops : &qadd_i8_avx512_loops;
}
