/* test_quant_math.c - TFLite's integer primitives against exact arithmetic.
 *
 * srdhm(a, b) must equal a*b/2^31 rounded half away from zero (saturating
 * only INT32_MIN*INT32_MIN); rdbpot(x, e) must equal x/2^e rounded half
 * away from zero; mul_single must equal x*q/2^(31-shift) rounded half up
 * (toward +inf); quantize_multiplier must reproduce the real multiplier to
 * within 2^-31 relative.  Exact references use 128-bit integers.
 */
#include <math.h>
#include <stdlib.h>

#include "kernels/quant_math.h"
#include "testutil.h"

static int64_t div_round_half_away(__int128 num, __int128 den)
{
	__int128 q = num / den, r = num % den;
	__int128 ar = r < 0 ? -r : r;
	if (2 * ar >= den)
		q += num < 0 ? -1 : 1;
	return (int64_t)q;
}

START_TEST(test_srdhm_exact)
{
	uint32_t s = 7;
	ck_assert_int_eq(qm_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
	for (int i = 0; i < 200000; i++) {
		int32_t a = (int32_t)ts_rand(&s), b = (int32_t)ts_rand(&s);
		if (i % 4 == 0)
			a >>= ts_rand(&s) % 31;
		if (a == INT32_MIN && b == INT32_MIN)
			continue;
		int64_t want = div_round_half_away((__int128)a * b, (__int128)1 << 31);
		ck_assert_msg(qm_srdhm(a, b) == want, "srdhm(%d, %d) = %d, want %lld", a, b, qm_srdhm(a, b),
			      (long long)want);
	}
}
END_TEST

START_TEST(test_rdbpot_exact)
{
	uint32_t s = 9;
	ck_assert_int_eq(qm_rdbpot(5, 1), 3);
	ck_assert_int_eq(qm_rdbpot(-5, 1), -3);
	ck_assert_int_eq(qm_rdbpot(-4, 1), -2);
	ck_assert_int_eq(qm_rdbpot(6, 2), 2);
	ck_assert_int_eq(qm_rdbpot(-6, 2), -2);
	for (int i = 0; i < 200000; i++) {
		int32_t x = (int32_t)ts_rand(&s);
		int e = (int)(ts_rand(&s) % 31);
		int64_t want = div_round_half_away(x, (__int128)1 << e);
		ck_assert_msg(qm_rdbpot(x, e) == want, "rdbpot(%d, %d) = %d, want %lld", x, e, qm_rdbpot(x, e),
			      (long long)want);
	}
}
END_TEST

START_TEST(test_mul_single_exact)
{
	uint32_t s = 11;
	for (int i = 0; i < 200000; i++) {
		int32_t x = (int32_t)(ts_rand(&s) % 2000001) - 1000000;
		int32_t q = (int32_t)(ts_rand(&s) >> 1) | (1 << 30);
		int shift = -(int)(ts_rand(&s) % 20);
		__int128 num = (__int128)x * q, den = (__int128)1 << (31 - shift);
		/* floor((num + den/2) / den): half rounds toward +inf */
		__int128 t = num + den / 2;
		int64_t want = (int64_t)(t >= 0 ? t / den : -((-t + den - 1) / den));
		ck_assert_msg(qm_mul_single(x, q, shift) == want, "mul_single(%d, %d, %d)", x, q, shift);
	}
}
END_TEST

START_TEST(test_quantize_multiplier)
{
	int32_t q;
	int shift;
	uint32_t s = 13;

	ck_assert(qm_quantize_multiplier(0.5, &q, &shift));
	ck_assert_int_eq(q, 1 << 30);
	ck_assert_int_eq(shift, 0);
	ck_assert(qm_quantize_multiplier(1.0, &q, &shift));
	ck_assert_int_eq(q, 1 << 30);
	ck_assert_int_eq(shift, 1);
	ck_assert(qm_quantize_multiplier(0.0, &q, &shift));
	ck_assert_int_eq(q, 0);
	ck_assert(!qm_quantize_multiplier(-1.0, &q, &shift));
	ck_assert(!qm_quantize_multiplier(NAN, &q, &shift));
	ck_assert(qm_quantize_multiplier(1e-12, &q, &shift)); /* below 2^-31: flushed */
	ck_assert_int_eq(q, 0);
	for (int i = 0; i < 10000; i++) {
		double real = ldexp(1.0 + ts_randf(&s, 0.0f, 1.0f), -(int)(ts_rand(&s) % 25));
		ck_assert(qm_quantize_multiplier(real, &q, &shift));
		ck_assert_int_ge(q, 1 << 30);
		ck_assert_double_eq_tol(ldexp((double)q, shift - 31), real, real * 1e-9);
	}
}
END_TEST

START_TEST(test_same_quant)
{
	float s1[2] = {0.5f, 0.25f}, s2[2] = {0.5f, 0.125f};
	int64_t z1[2] = {3, 4}, z2[2] = {3, 4};
	nn_quant a = {2, s1, z1, 0}, b = {2, s1, z2, 0}, c = {2, s2, z1, 0}, d = {1, s1, z1, 0}, none = {0};

	ck_assert(qm_same_quant(NULL, NULL));
	ck_assert(qm_same_quant(NULL, &none));
	ck_assert(qm_same_quant(&a, &b));
	ck_assert(!qm_same_quant(&a, NULL));
	ck_assert(!qm_same_quant(NULL, &a));
	ck_assert(!qm_same_quant(&a, &c));
	ck_assert(!qm_same_quant(&a, &d));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quant_math");
	TCase *tc = tcase_create("primitives");
	tcase_add_test(tc, test_srdhm_exact);
	tcase_add_test(tc, test_rdbpot_exact);
	tcase_add_test(tc, test_mul_single_exact);
	tcase_add_test(tc, test_quantize_multiplier);
	tcase_add_test(tc, test_same_quant);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
