/* broadcast_avx2.c - AVX2 loops of the quantized ADD/SUB and MUL
 * (broadcast.h's bc_qadd and bc_qmul), eight elements per step.
 *
 * DESIGN: MobileNet v2 and deeplab spent a fifth of their time in residual
 * ADDs and MoveNet a tenth in its MUL and SUB of the whole input image.
 * Here each gemmlowp primitive is done on eight int32 lanes with the same
 * result bit for bit:
 *   - the rounding doubling high multiply, (a*m + nudge) / 2^31 truncated
 *     with nudge = 2^30 or 1 - 2^30 by sign, equals floor((a*m + 2^30) /
 *     2^31) for every a*m (the saturated case INT32_MIN^2 cannot occur: no
 *     multiplier is INT32_MIN), so it is vpmuldq, a 64-bit add of 2^30 and a
 *     logical shift by 31, keeping the low 32 bits (which the logical and
 *     arithmetic shifts agree on); odd lanes go through the same after a
 *     32-bit shift down;
 *   - the rounding divide by 2^e is (x >> e) + (x & mask > mask/2 + [x<0]),
 *     gemmlowp's own formulation, with 32-bit compares.
 * Every shift of bc_qadd is <= 0 (prepare guarantees it); MUL's may be
 * positive, a left shift of the product that wraps as the reference's.
 * A scalar operand of ADD's SV/VS loops is rescaled once, from the
 * reference's table (the same integers).  Runs shorter than eight elements
 * and tails use the scalar reference directly.
 */
#include <immintrin.h>

#include "broadcast.h"

/* The parameters in vector registers. */
typedef struct qadd_vec {
	__m256i off_a, off_b, off_out, lo, hi;
	__m256i mul_a, mul_b, mul_out; /* broadcast multipliers */
	__m128i sh_a, sh_b, sh_out;    /* right shift counts (-shift) */
	__m256i half_a, half_b, half_out, mask_a, mask_b, mask_out;
	__m128i left; /* left_shift as a shift count */
} qadd_vec;

static void qadd_vec_init(qadd_vec *v, const bc_qadd *p)
{
	const int ra = -p->shift_a, rb = -p->shift_b, ro = -p->shift_out;

	v->off_a = _mm256_set1_epi32(p->off_a);
	v->off_b = _mm256_set1_epi32(p->off_b);
	v->off_out = _mm256_set1_epi32(p->off_out);
	v->lo = _mm256_set1_epi32(p->lo);
	v->hi = _mm256_set1_epi32(p->hi);
	v->mul_a = _mm256_set1_epi32(p->mul_a);
	v->mul_b = _mm256_set1_epi32(p->mul_b);
	v->mul_out = _mm256_set1_epi32(p->mul_out);
	v->sh_a = _mm_cvtsi32_si128(ra);
	v->sh_b = _mm_cvtsi32_si128(rb);
	v->sh_out = _mm_cvtsi32_si128(ro);
	/* mask = 2^e - 1 and its half (mask >> 1), as 32-bit values */
	v->mask_a = _mm256_set1_epi32((int32_t)((1ll << ra) - 1));
	v->mask_b = _mm256_set1_epi32((int32_t)((1ll << rb) - 1));
	v->mask_out = _mm256_set1_epi32((int32_t)((1ll << ro) - 1));
	v->half_a = _mm256_set1_epi32((int32_t)(((1ll << ra) - 1) >> 1));
	v->half_b = _mm256_set1_epi32((int32_t)(((1ll << rb) - 1) >> 1));
	v->half_out = _mm256_set1_epi32((int32_t)(((1ll << ro) - 1) >> 1));
	v->left = _mm_cvtsi32_si128(p->left_shift);
}

/* floor((x * m + 2^30) / 2^31) per lane (see DESIGN); m is the same in
 * every lane, so the low dword of each of its qwords serves both halves. */
static inline __m256i srdhm8(__m256i x, __m256i m)
{
	const __m256i nudge = _mm256_set1_epi64x(1ll << 30);
	__m256i even = _mm256_mul_epi32(x, m);
	__m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), m);

	even = _mm256_srli_epi64(_mm256_add_epi64(even, nudge), 31);
	odd = _mm256_srli_epi64(_mm256_add_epi64(odd, nudge), 31);
	return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/* x / 2^e rounded half away from zero (gemmlowp's RoundingDivideByPOT). */
static inline __m256i rdbpot8(__m256i x, __m128i e, __m256i mask, __m256i half)
{
	const __m256i rem = _mm256_and_si256(x, mask);
	const __m256i threshold = _mm256_add_epi32(half, _mm256_srli_epi32(x, 31));
	const __m256i up = _mm256_cmpgt_epi32(rem, threshold); /* -1 where rounding up */

	return _mm256_sub_epi32(_mm256_sra_epi32(x, e), up);
}

/* One input rescaled to the common scale: rdbpot(srdhm((x + off) << 20, m), e). */
static inline __m256i scale8(__m256i x, __m256i off, __m128i left, __m256i m, __m128i e, __m256i mask,
			     __m256i half)
{
	x = _mm256_sll_epi32(_mm256_add_epi32(x, off), left);
	return rdbpot8(srdhm8(x, m), e, mask, half);
}

/* The output of the sum of two rescaled inputs, clamped. */
static inline __m256i finish8(__m256i s, const qadd_vec *v)
{
	s = _mm256_add_epi32(rdbpot8(srdhm8(s, v->mul_out), v->sh_out, v->mask_out, v->half_out), v->off_out);
	return _mm256_min_epi32(_mm256_max_epi32(s, v->lo), v->hi);
}

static inline __m256i load_u8(const uint8_t *p)
{
	return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

static inline __m256i load_i8(const int8_t *p)
{
	return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/* Bytes of eight int32 lanes: uint8 (unsigned saturation) or int8. */
static inline void store_u8(uint8_t *p, __m256i x)
{
	const __m256i w = _mm256_packs_epi32(x, x);
	const __m256i b = _mm256_packus_epi16(w, w);
	_mm_storel_epi64((__m128i *)p,
			 _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
}

static inline void store_i8(int8_t *p, __m256i x)
{
	const __m256i w = _mm256_packs_epi32(x, x);
	const __m256i b = _mm256_packs_epi16(w, w);
	_mm_storel_epi64((__m128i *)p,
			 _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
}

/* The three loops for element type T; LOAD/STORE convert eight elements. */
#define QADD_LOOPS(name, T, LOAD, STORE)                                                                     \
	static void name##_vv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, *b = b_;                                                                    \
		T *o = o_;                                                                                   \
		const bc_qadd *p = p_;                                                                       \
		qadd_vec v;                                                                                  \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 8)                                                                                  \
			qadd_vec_init(&v, p);                                                                \
		for (; i + 8 <= n; i += 8) {                                                                 \
			__m256i sa =                                                                         \
			    scale8(LOAD(a + i), v.off_a, v.left, v.mul_a, v.sh_a, v.mask_a, v.half_a);       \
			__m256i sb =                                                                         \
			    scale8(LOAD(b + i), v.off_b, v.left, v.mul_b, v.sh_b, v.mask_b, v.half_b);       \
			STORE(o + i, finish8(_mm256_add_epi32(sa, sb), &v));                                 \
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
		const __m256i sa = _mm256_set1_epi32(p->tab_a[(uint8_t)x]);                                  \
		qadd_vec v;                                                                                  \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 8)                                                                                  \
			qadd_vec_init(&v, p);                                                                \
		for (; i + 8 <= n; i += 8) {                                                                 \
			__m256i sb =                                                                         \
			    scale8(LOAD(b + i), v.off_b, v.left, v.mul_b, v.sh_b, v.mask_b, v.half_b);       \
			STORE(o + i, finish8(_mm256_add_epi32(sa, sb), &v));                                 \
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
		const __m256i sb = _mm256_set1_epi32(p->tab_b[(uint8_t)y]);                                  \
		qadd_vec v;                                                                                  \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 8)                                                                                  \
			qadd_vec_init(&v, p);                                                                \
		for (; i + 8 <= n; i += 8) {                                                                 \
			__m256i sa =                                                                         \
			    scale8(LOAD(a + i), v.off_a, v.left, v.mul_a, v.sh_a, v.mask_a, v.half_a);       \
			STORE(o + i, finish8(_mm256_add_epi32(sa, sb), &v));                                 \
		}                                                                                            \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qadd_elem(a[i], y, p);                                                  \
	}                                                                                                    \
	static const bc_loops name##_loops = {name##_vv, name##_sv, name##_vs};

QADD_LOOPS(qadd_u8_avx2, uint8_t, load_u8, store_u8)
QADD_LOOPS(qadd_i8_avx2, int8_t, load_i8, store_i8)

const bc_loops *bc_qadd_loops_avx2(nn_dtype t)
{
	return t == NN_U8 ? &qadd_u8_avx2_loops : &qadd_i8_avx2_loops;
}

/* --- MUL ------------------------------------------------------------------ */

typedef struct qmul_vec {
	__m256i off_a, off_b, off_out, lo, hi, mul, mask, half;
	__m128i left, right; /* shift counts: max(shift, 0), max(-shift, 0) */
} qmul_vec;

static void qmul_vec_init(qmul_vec *v, const bc_qmul *p)
{
	const int left = p->shift > 0 ? p->shift : 0, right = p->shift > 0 ? 0 : -p->shift;

	v->off_a = _mm256_set1_epi32(p->off_a);
	v->off_b = _mm256_set1_epi32(p->off_b);
	v->off_out = _mm256_set1_epi32(p->off_out);
	v->lo = _mm256_set1_epi32(p->lo);
	v->hi = _mm256_set1_epi32(p->hi);
	v->mul = _mm256_set1_epi32(p->mul);
	v->mask = _mm256_set1_epi32((int32_t)((1ll << right) - 1));
	v->half = _mm256_set1_epi32((int32_t)(((1ll << right) - 1) >> 1));
	v->left = _mm_cvtsi32_si128(left);
	v->right = _mm_cvtsi32_si128(right);
}

/* Eight products (x + off_a)(y + off_b), already offset, to output integers. */
static inline __m256i qmul8(__m256i x, __m256i y, const qmul_vec *v)
{
	/* the multiplier is positive, so srdhm8's one excluded case
	 * (INT32_MIN * INT32_MIN) cannot occur even after a wrapping shift */
	__m256i r = _mm256_sll_epi32(_mm256_mullo_epi32(x, y), v->left);

	r = _mm256_add_epi32(rdbpot8(srdhm8(r, v->mul), v->right, v->mask, v->half), v->off_out);
	return _mm256_min_epi32(_mm256_max_epi32(r, v->lo), v->hi);
}

#define QMUL_LOOPS(name, T, LOAD, STORE)                                                                     \
	static void name##_vv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, *b = b_;                                                                    \
		T *o = o_;                                                                                   \
		const bc_qmul *p = p_;                                                                       \
		qmul_vec v;                                                                                  \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 8)                                                                                  \
			qmul_vec_init(&v, p);                                                                \
		for (; i + 8 <= n; i += 8)                                                                   \
			STORE(o + i, qmul8(_mm256_add_epi32(LOAD(a + i), v.off_a),                           \
					   _mm256_add_epi32(LOAD(b + i), v.off_b), &v));                     \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qmul_elem(a[i], b[i], p);                                               \
	}                                                                                                    \
	static void name##_sv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T x = *(const T *)a_, *b = b_;                                                         \
		T *o = o_;                                                                                   \
		const bc_qmul *p = p_;                                                                       \
		const __m256i xa = _mm256_set1_epi32(x + p->off_a);                                          \
		qmul_vec v;                                                                                  \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 8)                                                                                  \
			qmul_vec_init(&v, p);                                                                \
		for (; i + 8 <= n; i += 8)                                                                   \
			STORE(o + i, qmul8(xa, _mm256_add_epi32(LOAD(b + i), v.off_b), &v));                 \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qmul_elem(x, b[i], p);                                                  \
	}                                                                                                    \
	static void name##_vs(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, y = *(const T *)b_;                                                         \
		T *o = o_;                                                                                   \
		const bc_qmul *p = p_;                                                                       \
		const __m256i yb = _mm256_set1_epi32(y + p->off_b);                                          \
		qmul_vec v;                                                                                  \
		size_t i = 0;                                                                                \
                                                                                                             \
		if (n >= 8)                                                                                  \
			qmul_vec_init(&v, p);                                                                \
		for (; i + 8 <= n; i += 8)                                                                   \
			STORE(o + i, qmul8(_mm256_add_epi32(LOAD(a + i), v.off_a), yb, &v));                 \
		for (; i < n; i++)                                                                           \
			o[i] = (T)bc_qmul_elem(a[i], y, p);                                                  \
	}                                                                                                    \
	static const bc_loops name##_loops = {name##_vv, name##_sv, name##_vs};

QMUL_LOOPS(qmul_u8_avx2, uint8_t, load_u8, store_u8)
QMUL_LOOPS(qmul_i8_avx2, int8_t, load_i8, store_i8)

const bc_loops *bc_qmul_loops_avx2(nn_dtype t)
{
	return t == NN_U8 ? &qmul_u8_avx2_loops : &qmul_i8_avx2_loops;
}
