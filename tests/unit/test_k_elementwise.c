/* test_k_elementwise.c - ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE, LOGISTIC,
 * TANH, SQRT, RSQRT, SOFTMAX, CONCATENATION, AVERAGE_POOL_2D, MAX_POOL_2D.
 *
 * Every case is a small model written with tflite_builder and run through
 * the reader, graph and session.  Oracles are written here from TFLite's
 * definitions, not from our kernels:
 *   - binary ops: an independent broadcasting walk (per output coordinate,
 *     each input reads index 0 along its size-1 dims), then the float
 *     operation and the clamp; one IEEE rounding per step, so the results
 *     should be identical - compared with 1e-5 relative tolerance anyway;
 *     int32 exactly;
 *   - unary ops: TFLite's formulas with libm (logistic with its cut-offs),
 *     plus a looser sanity check against double precision;
 *   - softmax: double precision exp((x - max) * beta) / sum, 1e-5 relative;
 *   - concatenation: coordinate mapping, exact;
 *   - pools: the reference loops over in-bounds window elements, padding
 *     as max((out-1)*stride + k - in, 0) / 2 before, 1e-5 relative;
 *     an all-ones input checks that averages at the edges do not count
 *     padding.
 * Large cases run with several threads, and must give the bytes of a
 * one-thread run.  Plus refusals with their messages checked by strstr.
 * The uint8/int8 paths have their own suite: test_k_elementwise_int.c.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/broadcast.h"
#include "testutil.h"
#include "tflite_builder.h"

/* BuiltinOperator codes */
enum {
	OP_ADD = 0,
	OP_AVERAGE_POOL_2D = 1,
	OP_CONCATENATION = 2,
	OP_LOGISTIC = 14,
	OP_MAX_POOL_2D = 17,
	OP_MUL = 18,
	OP_SOFTMAX = 25,
	OP_TANH = 28,
	OP_SUB = 41,
	OP_DIV = 42,
	OP_SQRT = 75,
	OP_RSQRT = 76,
	OP_SQUARED_DIFFERENCE = 99,
};
/* BuiltinOptions union indices */
enum {
	OPTS_POOL2D = 5,
	OPTS_SOFTMAX = 9,
	OPTS_CONCATENATION = 10,
	OPTS_ADD = 11,
	OPTS_MUL = 21,
	OPTS_SUB = 28,
	OPTS_DIV = 29,
	OPTS_SQUARED_DIFFERENCE = 76,
};
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4 };
enum { SAME = 0, VALID = 1 };

/* The kernels the registry must map these builtin codes to. */
extern const nn_kernel nn_k_add, nn_k_sub, nn_k_mul, nn_k_div, nn_k_squared_difference, nn_k_logistic,
    nn_k_tanh, nn_k_sqrt, nn_k_rsqrt, nn_k_softmax, nn_k_concatenation, nn_k_average_pool_2d,
    nn_k_max_pool_2d;

START_TEST(test_registry)
{
	ck_assert_ptr_eq(nn_kernel_builtin(OP_ADD), &nn_k_add);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_SUB), &nn_k_sub);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_MUL), &nn_k_mul);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_DIV), &nn_k_div);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_SQUARED_DIFFERENCE), &nn_k_squared_difference);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_LOGISTIC), &nn_k_logistic);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_TANH), &nn_k_tanh);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_SQRT), &nn_k_sqrt);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_RSQRT), &nn_k_rsqrt);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_SOFTMAX), &nn_k_softmax);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_CONCATENATION), &nn_k_concatenation);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_AVERAGE_POOL_2D), &nn_k_average_pool_2d);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_MAX_POOL_2D), &nn_k_max_pool_2d);
}
END_TEST

/* --- helpers ------------------------------------------------------------ */

static void fill(uint32_t *rng, float *v, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		v[i] = ts_randf(rng, lo, hi);
}

static size_t count_of(int rank, const int32_t *dims)
{
	size_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= (size_t)dims[i];
	return n;
}

static void check_shape(const nn_tensor *t, int rank, const int32_t *dims, const char *what)
{
	ck_assert_msg(t->rank == rank, "%s: rank %d, expected %d", what, t->rank, rank);
	for (int i = 0; i < rank; i++)
		ck_assert_msg(t->dims[i] == dims[i], "%s: dim %d is %d, expected %d", what, i, t->dims[i],
			      dims[i]);
}

/* |got - want| <= rel * |want| + abs; NaN matches NaN, inf matches inf. */
static bool close_to(double got, double want, double rel, double abs_tol)
{
	if (isnan(want))
		return isnan(got);
	if (isinf(want))
		return got == want;
	return fabs(got - want) <= rel * fabs(want) + abs_tol;
}

static void check_close(const float *got, const float *want, size_t n, double rel, double abs_tol,
			const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(close_to(got[i], want[i], rel, abs_tol),
			      "%s: element %zu is %.9g, expected %.9g", what, i, (double)got[i],
			      (double)want[i]);
}

static float clampf_ref(float x, float lo, float hi)
{
	return fminf(fmaxf(x, lo), hi); /* inputs here are never NaN */
}

static void act_range(int act, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (act == ACT_RELU)
		*lo = 0.0f;
	else if (act == ACT_RELU_N1_TO_1)
		*lo = -1.0f, *hi = 1.0f;
	else if (act == ACT_RELU6)
		*lo = 0.0f, *hi = 6.0f;
}

static void act_range_i32(int act, int32_t *lo, int32_t *hi)
{
	*lo = INT32_MIN;
	*hi = INT32_MAX;
	if (act == ACT_RELU)
		*lo = 0;
	else if (act == ACT_RELU_N1_TO_1)
		*lo = -1, *hi = 1;
	else if (act == ACT_RELU6)
		*lo = 0, *hi = 6;
}

/* --- broadcasting plan ---------------------------------------------------- */

START_TEST(test_plan)
{
	int ro;
	int32_t out[NN_MAX_RANK];
	bc_plan p;

	/* [1,4,4,3] + [3]: 16 rows of a against a fixed b row */
	ck_assert(bc_shape(4, (int32_t[]){1, 4, 4, 3}, 1, (int32_t[]){3}, &ro, out));
	bc_plan_init(&p, 4, (int32_t[]){1, 4, 4, 3}, 1, (int32_t[]){3}, ro, out);
	ck_assert_int_eq(p.rank, 2);
	ck_assert_int_eq(p.dims[0], 16);
	ck_assert_int_eq(p.dims[1], 3);
	ck_assert_int_eq(p.sa[0], 3);
	ck_assert_int_eq(p.sb[0], 0);
	ck_assert_int_eq(p.kind, BC_VV);
	ck_assert_int_eq(p.count, 48);

	/* [2,1,3] - [1,4,1]: three merged dims, b fixed along the innermost */
	ck_assert(bc_shape(3, (int32_t[]){2, 1, 3}, 3, (int32_t[]){1, 4, 1}, &ro, out));
	ck_assert_int_eq(ro, 3);
	ck_assert_int_eq(out[0], 2);
	ck_assert_int_eq(out[1], 4);
	ck_assert_int_eq(out[2], 3);
	bc_plan_init(&p, 3, (int32_t[]){2, 1, 3}, 3, (int32_t[]){1, 4, 1}, ro, out);
	ck_assert_int_eq(p.rank, 3);
	ck_assert_int_eq(p.sa[0], 3);
	ck_assert_int_eq(p.sa[1], 0);
	ck_assert_int_eq(p.sa[2], 1);
	ck_assert_int_eq(p.sb[0], 0);
	ck_assert_int_eq(p.sb[1], 1);
	ck_assert_int_eq(p.sb[2], 0);
	ck_assert_int_eq(p.kind, BC_VS);

	/* equal shapes: one run; scalar first: a fixed */
	ck_assert(bc_shape(3, (int32_t[]){2, 3, 5}, 3, (int32_t[]){2, 3, 5}, &ro, out));
	bc_plan_init(&p, 3, (int32_t[]){2, 3, 5}, 3, (int32_t[]){2, 3, 5}, ro, out);
	ck_assert_int_eq(p.rank, 1);
	ck_assert_int_eq(p.dims[0], 30);
	ck_assert_int_eq(p.kind, BC_VV);
	ck_assert(bc_shape(0, NULL, 2, (int32_t[]){4, 5}, &ro, out));
	bc_plan_init(&p, 0, NULL, 2, (int32_t[]){4, 5}, ro, out);
	ck_assert_int_eq(p.rank, 1);
	ck_assert_int_eq(p.dims[0], 20);
	ck_assert_int_eq(p.kind, BC_SV);

	/* a zero pairs with 1 to give 0; 2 and 3 do not broadcast */
	ck_assert(bc_shape(2, (int32_t[]){0, 3}, 2, (int32_t[]){1, 3}, &ro, out));
	ck_assert_int_eq(out[0], 0);
	ck_assert(!bc_shape(2, (int32_t[]){2, 3}, 1, (int32_t[]){2}, &ro, out));
}
END_TEST

/* --- binary ops ----------------------------------------------------------- */

typedef struct bin_op {
	int code, opts;
	const char *name;
	bool has_act;
} bin_op;

static const bin_op BIN_OPS[] = {
    {OP_ADD, OPTS_ADD, "ADD", true},
    {OP_SUB, OPTS_SUB, "SUB", true},
    {OP_MUL, OPTS_MUL, "MUL", true},
    {OP_DIV, OPTS_DIV, "DIV", true},
    {OP_SQUARED_DIFFERENCE, OPTS_SQUARED_DIFFERENCE, "SQUARED_DIFFERENCE", false},
};

static float bin_f32(int code, float x, float y)
{
	switch (code) {
	case OP_ADD:
		return x + y;
	case OP_SUB:
		return x - y;
	case OP_MUL:
		return x * y;
	case OP_DIV:
		return x / y;
	default:
		return (x - y) * (x - y);
	}
}

static int32_t bin_i32(int code, int32_t x, int32_t y)
{
	switch (code) {
	case OP_ADD:
		return x + y;
	case OP_SUB:
		return x - y;
	default:
		return x * y;
	}
}

/* Index into an input of shape (r, d) for output coordinate idx (rank ro). */
static size_t bcast_index(int r, const int32_t *d, int ro, const int32_t *idx)
{
	size_t off = 0;
	for (int i = 0; i < r; i++) {
		int32_t k = d[i] == 1 ? 0 : idx[ro - r + i];
		off = off * (size_t)d[i] + (size_t)k;
	}
	return off;
}

/* Output shape by the broadcasting rule, written out independently. */
static int bcast_shape(int ra, const int32_t *da, int rb, const int32_t *db, int32_t *out)
{
	int ro = ra > rb ? ra : rb;
	for (int i = 0; i < ro; i++) {
		int32_t x = i - (ro - ra) >= 0 ? da[i - (ro - ra)] : 1;
		int32_t y = i - (ro - rb) >= 0 ? db[i - (ro - rb)] : 1;
		out[i] = x == 1 ? y : x;
	}
	return ro;
}

/* Runs a op b (float32, or int32 when is_int) and checks every output.
 * b_const makes b a constant tensor of the model.  Returns nothing; on
 * success the outputs matched the oracle. */
static void binary_case(const bin_op *op, int act, bool is_int, int ra, const int32_t *da, int rb,
			const int32_t *db, bool b_const, int threads, uint32_t seed)
{
	uint32_t rng = seed;
	int32_t dout[NN_MAX_RANK], idx[NN_MAX_RANK];
	int ro = bcast_shape(ra, da, rb, db, dout);
	size_t na = count_of(ra, da), nb = count_of(rb, db), no = count_of(ro, dout);
	nn_dtype t = is_int ? NN_I32 : NN_F32;
	float *fa = malloc(na * 4 + 4), *fb = malloc(nb * 4 + 4), *want = malloc(no * 4 + 4);
	int32_t *ia = (int32_t *)fa, *ib = (int32_t *)fb, *iwant = (int32_t *)want;
	char what[160];
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int x, y, z;
	float lo, hi;
	int32_t ilo, ihi;

	snprintf(what, sizeof(what), "%s %s act %d rank %d/%d seed %u threads %d", op->name,
		 is_int ? "int32" : "f32", act, ra, rb, seed, threads);
	for (size_t i = 0; i < na; i++) {
		if (is_int)
			ia[i] = (int32_t)(ts_rand(&rng) % 41) - 20;
		else
			fa[i] = ts_randf(&rng, -5.0f, 5.0f);
	}
	for (size_t i = 0; i < nb; i++) {
		if (is_int)
			ib[i] = (int32_t)(ts_rand(&rng) % 41) - 20;
		else if (op->code == OP_DIV) /* keep divisors away from 0 but with both signs */
			fb[i] = (ts_rand(&rng) & 1 ? 1.0f : -1.0f) * ts_randf(&rng, 0.25f, 4.0f);
		else
			fb[i] = ts_randf(&rng, -5.0f, 5.0f);
	}
	x = tb_tensor(b, "a", t, ra, da, NULL, 0, NULL);
	y = tb_tensor(b, "b", t, rb, db, b_const ? fb : NULL, b_const ? nb * 4 : 0, NULL);
	z = tb_tensor(b, "out", t, ro, dout, NULL, 0, NULL);
	if (op->has_act)
		tb_opt_i8(&o, 0, (int8_t)act);
	tb_op(b, op->code, NULL, 1, (int[]){x, y}, 2, (int[]){z}, 1, op->opts, op->has_act ? &o : NULL);
	if (b_const)
		tb_io(b, 1, (int[]){x}, 1, (int[]){z});
	else
		tb_io(b, 2, (int[]){x, y}, 1, (int[]){z});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, fa, na * 4);
	if (!b_const)
		ts_put_input(&m, 1, fb, nb * 4);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), ro, dout, what);

	act_range(op->has_act ? act : ACT_NONE, &lo, &hi);
	act_range_i32(act, &ilo, &ihi);
	for (size_t f = 0; f < no; f++) {
		size_t r = f;
		for (int i = ro - 1; i >= 0; i--) {
			idx[i] = (int32_t)(r % (size_t)dout[i]);
			r /= (size_t)dout[i];
		}
		size_t ka = bcast_index(ra, da, ro, idx), kb = bcast_index(rb, db, ro, idx);
		if (is_int) {
			int32_t v = bin_i32(op->code, ia[ka], ib[kb]);
			iwant[f] = v < ilo ? ilo : (v > ihi ? ihi : v);
		} else {
			want[f] = clampf_ref(bin_f32(op->code, fa[ka], fb[kb]), lo, hi);
		}
	}
	if (is_int) {
		const int32_t *got = nn_session_output(m.session, 0)->data;
		for (size_t i = 0; i < no; i++)
			ck_assert_msg(got[i] == iwant[i], "%s: element %zu is %d, expected %d", what, i,
				      got[i], iwant[i]);
	} else {
		check_close(nn_session_output(m.session, 0)->data, want, no, 1e-5, 1e-6, what);
	}
	ts_model_free(&m);
	free(fa);
	free(fb);
	free(want);
}

START_TEST(test_binary_named_shapes)
{
	const bin_op *add = &BIN_OPS[0], *sub = &BIN_OPS[1], *mul = &BIN_OPS[2], *div = &BIN_OPS[3],
		     *sqd = &BIN_OPS[4];

	for (int act = ACT_NONE; act <= ACT_RELU6; act++) {
		binary_case(add, act, false, 4, (int32_t[]){1, 4, 4, 3}, 1, (int32_t[]){3}, false, 1,
			    1 + act);
		binary_case(add, act, false, 4, (int32_t[]){1, 4, 4, 3}, 1, (int32_t[]){3}, true, 1,
			    11 + act);
		binary_case(mul, act, false, 4, (int32_t[]){1, 4, 4, 3}, 4, (int32_t[]){1, 1, 1, 3}, false, 1,
			    21 + act);
		binary_case(sub, act, false, 3, (int32_t[]){2, 1, 3}, 3, (int32_t[]){1, 4, 1}, false, 1,
			    31 + act);
		binary_case(div, act, false, 3, (int32_t[]){2, 5, 7}, 0, NULL, false, 1, 41 + act);
		binary_case(sub, act, false, 0, NULL, 2, (int32_t[]){3, 4}, false, 1, 51 + act);
	}
	binary_case(sqd, 0, false, 3, (int32_t[]){3, 5, 7}, 3, (int32_t[]){3, 5, 7}, false, 1, 61);
	binary_case(sqd, 0, false, 3, (int32_t[]){3, 5, 7}, 2, (int32_t[]){5, 1}, true, 1, 62);
	binary_case(add, 0, false, 1, (int32_t[]){1}, 1, (int32_t[]){5}, false, 1, 63);
	binary_case(div, 0, false, 2, (int32_t[]){1, 17}, 2, (int32_t[]){19, 1}, false, 1, 64);
	binary_case(mul, 0, false, 0, NULL, 0, NULL, false, 1, 65);
	binary_case(add, 0, false, 2, (int32_t[]){0, 3}, 1, (int32_t[]){3}, false, 1, 66); /* empty output */
}
END_TEST

/* Random ranks 0..6, dims 1..5, each dim of each input broadcast at random. */
START_TEST(test_binary_random)
{
	uint32_t rng = 1234u + (uint32_t)_i;

	for (int k = 0; k < 40; k++) {
		int32_t full[NN_MAX_RANK], da[NN_MAX_RANK], db[NN_MAX_RANK];
		int ro = (int)(ts_rand(&rng) % 7), ra = ro, rb = ro;
		const bin_op *op = &BIN_OPS[ts_rand(&rng) % 5];
		int act = (int)(ts_rand(&rng) % 4);

		for (int i = 0; i < ro; i++)
			full[i] = 1 + (int32_t)(ts_rand(&rng) % 5);
		/* one input may have fewer dims (leading ones are implicit) */
		if (ro > 0 && ts_rand(&rng) % 3 == 0) {
			if (ts_rand(&rng) & 1)
				ra = (int)(ts_rand(&rng) % (unsigned)ro);
			else
				rb = (int)(ts_rand(&rng) % (unsigned)ro);
		}
		for (int i = 0; i < ra; i++)
			da[i] = ts_rand(&rng) % 3 == 0 ? 1 : full[ro - ra + i];
		for (int i = 0; i < rb; i++)
			db[i] = ts_rand(&rng) % 3 == 0 ? 1 : full[ro - rb + i];
		binary_case(op, act, false, ra, da, rb, db, ts_rand(&rng) % 4 == 0,
			    1 + (int)(ts_rand(&rng) % 3), ts_rand(&rng));
		if (op->code == OP_ADD || op->code == OP_SUB || op->code == OP_MUL)
			binary_case(op, act, true, ra, da, rb, db, false, 1, ts_rand(&rng));
	}
}
END_TEST

START_TEST(test_binary_int32)
{
	for (int op = 0; op < 3; op++)
		for (int act = ACT_NONE; act <= ACT_RELU6; act++) {
			binary_case(&BIN_OPS[op], act, true, 4, (int32_t[]){1, 4, 4, 3}, 1, (int32_t[]){3},
				    false, 1, 100 + (uint32_t)act);
			binary_case(&BIN_OPS[op], act, true, 3, (int32_t[]){2, 1, 3}, 3, (int32_t[]){1, 4, 1},
				    true, 1, 200 + (uint32_t)act);
			binary_case(&BIN_OPS[op], act, true, 1, (int32_t[]){6}, 0, NULL, false, 1,
				    300 + (uint32_t)act);
		}
}
END_TEST

/* Outputs above the 64K-element threshold are split across threads; the
 * result must be the oracle's and the same for every thread count. */
START_TEST(test_binary_threads)
{
	binary_case(&BIN_OPS[0], ACT_RELU6, false, 4, (int32_t[]){1, 64, 64, 32}, 1, (int32_t[]){32}, false,
		    4, 7);
	binary_case(&BIN_OPS[4], 0, false, 4, (int32_t[]){1, 61, 67, 17}, 4, (int32_t[]){1, 61, 67, 17},
		    false, 3, 8);
	binary_case(&BIN_OPS[2], ACT_NONE, false, 4, (int32_t[]){6, 1, 129, 1}, 4, (int32_t[]){1, 33, 1, 31},
		    false, 4, 9);
	binary_case(&BIN_OPS[3], ACT_NONE, false, 0, NULL, 3, (int32_t[]){3, 211, 217}, true, 2, 10);
	binary_case(&BIN_OPS[1], ACT_RELU, true, 3, (int32_t[]){5, 170, 90}, 2, (int32_t[]){170, 1}, false, 4,
		    11);
}
END_TEST

/* int32 overflow wraps instead of trapping (UBSan would abort otherwise). */
START_TEST(test_binary_int32_wraps)
{
	int32_t big[2] = {INT32_MAX, INT32_MIN};
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int x, y, z;

	x = tb_tensor(b, "a", NN_I32, 1, (int32_t[]){2}, NULL, 0, NULL);
	y = tb_tensor(b, "b", NN_I32, 1, (int32_t[]){2}, big, sizeof(big), NULL);
	z = tb_tensor(b, "out", NN_I32, 1, (int32_t[]){2}, NULL, 0, NULL);
	tb_opt_i8(&o, 0, ACT_NONE);
	tb_op(b, OP_MUL, NULL, 1, (int[]){x, y}, 2, (int[]){z}, 1, OPTS_MUL, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){z});
	ts_tb_load_ok(&m, b, 1, "int32 wrap");
	((int32_t *)nn_session_input(m.session, 0)->data)[0] = 2;
	((int32_t *)nn_session_input(m.session, 0)->data)[1] = -1;
	ts_invoke_ok(&m, "int32 wrap");
	ck_assert_int_eq(((const int32_t *)nn_session_output(m.session, 0)->data)[0], -2);
	ck_assert_int_eq(((const int32_t *)nn_session_output(m.session, 0)->data)[1], INT32_MIN);
	ts_model_free(&m);
}
END_TEST

/* --- unary ops ------------------------------------------------------------ */

static float logistic_ref(float x)
{
	if (x > 16.619047164916992188f)
		return 1.0f;
	if (x < -9.0f)
		return expf(x);
	return 1.0f / (1.0f + expf(-x));
}

static float unary_ref(int code, float x)
{
	switch (code) {
	case OP_LOGISTIC:
		return logistic_ref(x);
	case OP_TANH:
		return tanhf(x);
	case OP_SQRT:
		return sqrtf(x);
	default:
		return 1.0f / sqrtf(x);
	}
}

/* Looser check in double: are the formulas what the op means? */
static bool unary_sane(int code, float x, float got)
{
	double d = x, want;

	switch (code) {
	case OP_LOGISTIC:
		want = 1.0 / (1.0 + exp(-d));
		return close_to(got, want, 2e-4, 1e-30);
	case OP_TANH:
		want = tanh(d);
		break;
	case OP_SQRT:
		want = sqrt(d);
		break;
	default:
		want = 1.0 / sqrt(d);
		break;
	}
	return close_to(got, want, 1e-6, 1e-30);
}

static void unary_case(int code, int rank, const int32_t *dims, float lo, float hi, bool specials,
		       int threads, uint32_t seed)
{
	uint32_t rng = seed;
	size_t n = count_of(rank, dims);
	float *v = malloc(n * 4 + 4), *want = calloc(n + 1, 4);
	const float special[] = {0.0f,	 -0.0f, 1.0f,  -1.0f,  16.6f,  16.7f,	 -8.99f,   -9.01f,
				 -20.0f, 20.0f, 90.0f, -90.0f, 1e-30f, INFINITY, -INFINITY};
	tb_model *b = tb_new();
	ts_model m;
	char what[96];
	int x, y;

	snprintf(what, sizeof(what), "op %d rank %d seed %u threads %d", code, rank, seed, threads);
	fill(&rng, v, n, lo, hi);
	if (specials)
		for (size_t i = 0; i < sizeof(special) / sizeof(special[0]) && i < n; i++)
			v[i] = special[i];
	x = tb_tensor(b, "x", NN_F32, rank, dims, NULL, 0, NULL);
	y = tb_tensor(b, "y", NN_F32, rank, dims, NULL, 0, NULL);
	tb_op(b, code, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, v, n * 4);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), rank, dims, what);
	for (size_t i = 0; i < n; i++)
		want[i] = unary_ref(code, v[i]);
	check_close(nn_session_output(m.session, 0)->data, want, n, 1e-5, 0.0, what);
	for (size_t i = 0; i < n; i++) {
		float got = ((const float *)nn_session_output(m.session, 0)->data)[i];
		if (isfinite(v[i]) && v[i] != 0.0f)
			ck_assert_msg(unary_sane(code, v[i], got),
				      "%s: f(%.9g) = %.9g is far from the exact value", what, (double)v[i],
				      (double)got);
	}
	ts_model_free(&m);
	free(v);
	free(want);
}

START_TEST(test_unary)
{
	const int codes[] = {OP_LOGISTIC, OP_TANH, OP_SQRT, OP_RSQRT};

	for (int i = 0; i < 4; i++) {
		bool pos = codes[i] == OP_SQRT || codes[i] == OP_RSQRT;
		float lo = pos ? 0.001f : -12.0f, hi = pos ? 50.0f : 12.0f;

		unary_case(codes[i], 4, (int32_t[]){1, 5, 7, 3}, lo, hi, !pos, 1, 5u + (uint32_t)i);
		unary_case(codes[i], 1, (int32_t[]){33}, lo, hi, false, 1, 9u + (uint32_t)i);
		unary_case(codes[i], 0, NULL, lo, hi, false, 1, 13u + (uint32_t)i);
		unary_case(codes[i], 2, (int32_t[]){0, 4}, lo, hi, false, 1, 15u + (uint32_t)i);
		unary_case(codes[i], 3, (int32_t[]){3, 197, 211}, lo, hi, false, 4, 17u + (uint32_t)i);
	}
	/* sqrt and rsqrt of zeros, negatives and infinities follow IEEE */
	unary_case(OP_SQRT, 1, (int32_t[]){16}, -5.0f, 5.0f, true, 1, 21);
	unary_case(OP_RSQRT, 1, (int32_t[]){16}, -5.0f, 5.0f, true, 1, 22);
}
END_TEST

/* --- softmax -------------------------------------------------------------- */

static void softmax_case(int rank, const int32_t *dims, bool has_beta, float beta, int threads, uint32_t seed,
			 float *out_copy)
{
	uint32_t rng = seed;
	size_t n = count_of(rank, dims), depth = (size_t)dims[rank - 1];
	float *v = malloc(n * 4 + 4), *want = calloc(n + 1, 4);
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	char what[96];
	int x, y;

	snprintf(what, sizeof(what), "softmax rank %d depth %zu beta %g threads %d", rank, depth,
		 (double)beta, threads);
	fill(&rng, v, n, -8.0f, 8.0f);
	x = tb_tensor(b, "x", NN_F32, rank, dims, NULL, 0, NULL);
	y = tb_tensor(b, "y", NN_F32, rank, dims, NULL, 0, NULL);
	if (has_beta)
		tb_opt_f32(&o, 0, beta);
	tb_op(b, OP_SOFTMAX, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, has_beta ? OPTS_SOFTMAX : 0,
	      has_beta ? &o : NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, v, n * 4);
	ts_invoke_ok(&m, what);
	for (size_t r = 0; depth && r < n / depth; r++) {
		const float *row = v + r * depth;
		double mx = row[0], sum = 0.0;
		for (size_t c = 1; c < depth; c++)
			mx = row[c] > mx ? row[c] : mx;
		for (size_t c = 0; c < depth; c++)
			sum += exp(((double)row[c] - mx) * (has_beta ? beta : 0.0));
		for (size_t c = 0; c < depth; c++)
			want[r * depth + c] =
			    (float)(exp(((double)row[c] - mx) * (has_beta ? beta : 0.0)) / sum);
	}
	check_close(nn_session_output(m.session, 0)->data, want, n, 1e-5, 1e-12, what);
	if (out_copy && n)
		memcpy(out_copy, nn_session_output(m.session, 0)->data, n * 4);
	ts_model_free(&m);
	free(v);
	free(want);
}

START_TEST(test_softmax)
{
	size_t n = 300 * 1001;
	float *one = malloc(n * 4), *four = malloc(n * 4);

	softmax_case(2, (int32_t[]){2, 1001}, true, 0.5f, 1, 1, NULL);
	softmax_case(4, (int32_t[]){1, 2, 3, 10}, true, 1.0f, 1, 2, NULL);
	softmax_case(1, (int32_t[]){7}, true, 2.5f, 1, 3, NULL);
	softmax_case(2, (int32_t[]){3, 5}, false, 0.0f, 1, 4, NULL); /* no options: beta 0, uniform rows */
	softmax_case(2, (int32_t[]){0, 5}, true, 1.0f, 1, 6, NULL);  /* empty tensors */
	softmax_case(2, (int32_t[]){3, 0}, true, 1.0f, 1, 6, NULL);
	/* threads: the same bytes as one thread */
	softmax_case(2, (int32_t[]){300, 1001}, true, 1.0f, 1, 5, one);
	softmax_case(2, (int32_t[]){300, 1001}, true, 1.0f, 4, 5, four);
	ck_assert(memcmp(one, four, n * 4) == 0);
	free(one);
	free(four);
}
END_TEST

/* --- concatenation -------------------------------------------------------- */

static void concat_case(nn_dtype type, int axis, int n_in, int threads, const int32_t *base,
			const int32_t *sizes, bool const_mid, uint32_t seed)
{
	uint32_t rng = seed;
	int rank = 4, ax = axis < 0 ? axis + 4 : axis;
	int32_t dims[8][4], odims[4];
	uint32_t *data[8];
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int t[8], y, n_graph = 0, graph_in[8];
	char what[96];

	snprintf(what, sizeof(what), "concat axis %d inputs %d threads %d", axis, n_in, threads);
	memcpy(odims, base, sizeof(odims));
	odims[ax] = 0;
	for (int i = 0; i < n_in; i++) {
		size_t n;
		memcpy(dims[i], base, sizeof(dims[i]));
		dims[i][ax] = sizes[i];
		odims[ax] += dims[i][ax];
		n = count_of(rank, dims[i]);
		data[i] = malloc(n * 4 + 4);
		for (size_t k = 0; k < n; k++)
			data[i][k] = ts_rand(&rng);
		if (const_mid && i == 1) {
			t[i] = tb_tensor(b, "c", type, rank, dims[i], data[i], n * 4, NULL);
		} else {
			t[i] = tb_tensor(b, "x", type, rank, dims[i], NULL, 0, NULL);
			graph_in[n_graph++] = t[i];
		}
	}
	y = tb_tensor(b, "y", type, rank, odims, NULL, 0, NULL);
	tb_opt_i32(&o, 0, axis);
	tb_opt_i8(&o, 1, ACT_NONE);
	tb_op(b, OP_CONCATENATION, NULL, 1, t, n_in, (int[]){y}, 1, OPTS_CONCATENATION, &o);
	tb_io(b, n_graph, graph_in, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	for (int i = 0, g = 0; i < n_in; i++)
		if (!(const_mid && i == 1))
			ts_put_input(&m, g++, data[i], count_of(rank, dims[i]) * 4);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), rank, odims, what);
	{
		const uint32_t *got = nn_session_output(m.session, 0)->data;
		size_t no = count_of(rank, odims);
		for (size_t f = 0; f < no; f++) {
			int32_t idx[4];
			size_t r = f, off = 0;
			int src = 0;
			for (int i = 3; i >= 0; i--) {
				idx[i] = (int32_t)(r % (size_t)odims[i]);
				r /= (size_t)odims[i];
			}
			while (idx[ax] >= dims[src][ax]) {
				idx[ax] -= dims[src][ax];
				src++;
			}
			for (int i = 0; i < 4; i++)
				off = off * (size_t)dims[src][i] + (size_t)idx[i];
			ck_assert_msg(got[f] == data[src][off], "%s: element %zu differs", what, f);
		}
	}
	ts_model_free(&m);
	for (int i = 0; i < n_in; i++)
		free(data[i]);
}

START_TEST(test_concatenation)
{
	const int32_t base[4] = {2, 3, 4, 5};
	const int32_t sizes[3] = {2, 1, 3};

	for (int axis = -1; axis <= 3; axis++) {
		concat_case(NN_F32, axis, 3, 1, base, sizes, false, 10u + (uint32_t)axis);
		concat_case(NN_I32, axis, 3, 1, base, sizes, true, 20u + (uint32_t)axis);
	}
	{
		const int32_t s1[1] = {4}, s5[5] = {1, 0, 2, 1, 3};
		concat_case(NN_F32, 1, 1, 1, base, s1, false, 30);
		concat_case(NN_F32, 2, 5, 1, base, s5, false, 31); /* an empty input */
		concat_case(NN_F32, -4, 5, 1, base, s5, false, 32);
		concat_case(NN_F32, 1, 5, 1, (int32_t[]){0, 3, 4, 5}, s5, false, 33); /* empty output */
	}
	{
		const int32_t big[4] = {4, 40, 40, 16};
		const int32_t s[3] = {16, 8, 24};
		concat_case(NN_F32, 3, 3, 4, big, s, false, 40);
		concat_case(NN_F32, 1, 3, 3, big, s, true, 41);
	}
}
END_TEST

/* --- pools ---------------------------------------------------------------- */

typedef struct pool_case_t {
	int n, h, w, c;
	int kh, kw, sh, sw;
	int padding, act;
} pool_case_t;

static int ref_out(int padding, int in, int k, int s, int *pad)
{
	int out = padding == SAME ? (in + s - 1) / s : (in - k + s) / s;
	int total = (out - 1) * s + k - in;
	*pad = total > 0 ? total / 2 : 0;
	return out;
}

static void pool_ref(bool is_max, const pool_case_t *pc, const float *in, float *out, int oh, int ow, int ph,
		     int pw)
{
	float lo, hi;

	act_range(pc->act, &lo, &hi);
	for (int b = 0; b < pc->n; b++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int ch = 0; ch < pc->c; ch++) {
					float acc = is_max ? -FLT_MAX : 0.0f;
					int count = 0;
					for (int ky = 0; ky < pc->kh; ky++)
						for (int kx = 0; kx < pc->kw; kx++) {
							int iy = oy * pc->sh - ph + ky,
							    ix = ox * pc->sw - pw + kx;
							float v;
							if (iy < 0 || iy >= pc->h || ix < 0 || ix >= pc->w)
								continue;
							v = in[((b * pc->h + iy) * pc->w + ix) * pc->c + ch];
							acc = is_max ? (v > acc ? v : acc) : acc + v;
							count++;
						}
					ck_assert_int_gt(count, 0);
					out[((b * oh + oy) * ow + ox) * pc->c + ch] =
					    clampf_ref(is_max ? acc : acc / (float)count, lo, hi);
				}
}

static void pool_run(bool is_max, const pool_case_t *pc, int threads, uint32_t seed, bool ones,
		     float *got_copy)
{
	uint32_t rng = seed;
	int ph, pw, oh = ref_out(pc->padding, pc->h, pc->kh, pc->sh, &ph),
		    ow = ref_out(pc->padding, pc->w, pc->kw, pc->sw, &pw);
	int32_t in_dims[4] = {pc->n, pc->h, pc->w, pc->c}, out_dims[4] = {pc->n, oh, ow, pc->c};
	size_t ni = count_of(4, in_dims), no = count_of(4, out_dims);
	float *in = malloc(ni * 4 + 4), *want = malloc(no * 4 + 4);
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	char what[160];
	int x, y;

	snprintf(what, sizeof(what), "%s %dx%dx%dx%d k %dx%d s %dx%d %s act %d threads %d",
		 is_max ? "max" : "avg", pc->n, pc->h, pc->w, pc->c, pc->kh, pc->kw, pc->sh, pc->sw,
		 pc->padding == SAME ? "SAME" : "VALID", pc->act, threads);
	if (ones)
		for (size_t i = 0; i < ni; i++)
			in[i] = 1.0f;
	else
		fill(&rng, in, ni, -4.0f, 8.0f);
	x = tb_tensor(b, "x", NN_F32, 4, in_dims, NULL, 0, NULL);
	y = tb_tensor(b, "y", NN_F32, 4, out_dims, NULL, 0, NULL);
	tb_opt_i8(&o, 0, (int8_t)pc->padding);
	tb_opt_i32(&o, 1, pc->sw);
	tb_opt_i32(&o, 2, pc->sh);
	tb_opt_i32(&o, 3, pc->kw);
	tb_opt_i32(&o, 4, pc->kh);
	tb_opt_i8(&o, 5, (int8_t)pc->act);
	tb_op(b, is_max ? OP_MAX_POOL_2D : OP_AVERAGE_POOL_2D, NULL, 1, (int[]){x}, 1, (int[]){y}, 1,
	      OPTS_POOL2D, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, in, ni * 4);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), 4, out_dims, what);
	pool_ref(is_max, pc, in, want, oh, ow, ph, pw);
	check_close(nn_session_output(m.session, 0)->data, want, no, 1e-5, 1e-6, what);
	if (ones && !is_max && pc->act == ACT_NONE)
		for (size_t i = 0; i < no; i++)
			ck_assert_msg(((const float *)nn_session_output(m.session, 0)->data)[i] == 1.0f,
				      "%s: average of ones at %zu is not 1 (padding counted?)", what, i);
	if (got_copy)
		memcpy(got_copy, nn_session_output(m.session, 0)->data, no * 4);
	ts_model_free(&m);
	free(in);
	free(want);
}

START_TEST(test_pools)
{
	const pool_case_t cases[] = {
	    {1, 7, 9, 3, 3, 3, 1, 1, SAME, ACT_NONE},
	    {1, 7, 9, 3, 3, 3, 2, 2, SAME, ACT_RELU},
	    {2, 8, 8, 5, 3, 3, 2, 2, VALID, ACT_NONE},
	    {1, 9, 7, 17, 3, 3, 2, 2, VALID, ACT_RELU6},
	    {1, 6, 6, 19, 2, 2, 2, 2, SAME, ACT_NONE},
	    {1, 5, 11, 4, 4, 3, 1, 2, SAME, ACT_RELU_N1_TO_1},
	    {1, 5, 11, 4, 4, 3, 3, 1, VALID, ACT_NONE},
	    {1, 4, 4, 2, 7, 7, 1, 1, SAME, ACT_NONE},
	    {1, 7, 7, 32, 7, 7, 1, 1, VALID, ACT_NONE},
	    {3, 10, 10, 1, 3, 3, 3, 3, SAME, ACT_NONE},
	    {1, 3, 3, 2, 1, 1, 2, 2, SAME, ACT_NONE},
	    /* odd total padding: the extra row/column goes after */
	    {1, 6, 6, 3, 2, 2, 1, 1, SAME, ACT_NONE},
	    {1, 8, 10, 5, 4, 4, 2, 3, SAME, ACT_NONE},
	    /* empty batch or channels: nothing to compute */
	    {0, 5, 5, 3, 3, 3, 2, 2, SAME, ACT_NONE},
	    {1, 5, 5, 0, 3, 3, 1, 1, VALID, ACT_NONE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pool_run(false, &cases[i], 1, 100u + (uint32_t)i, false, NULL);
		pool_run(true, &cases[i], 1, 200u + (uint32_t)i, false, NULL);
		pool_run(false, &cases[i], 1, 0, true, NULL); /* edges average only in-bounds elements */
	}
}
END_TEST

START_TEST(test_pools_threads)
{
	const pool_case_t pc = {2, 57, 61, 24, 3, 3, 2, 2, SAME, ACT_RELU6};
	size_t no = 2 * 29 * 31 * 24;
	float *one = malloc(no * 4), *four = malloc(no * 4);

	for (int is_max = 0; is_max < 2; is_max++) {
		pool_run(is_max, &pc, 1, 5, false, one);
		pool_run(is_max, &pc, 4, 5, false, four);
		ck_assert(memcmp(one, four, no * 4) == 0);
	}
	free(one);
	free(four);
}
END_TEST

/* --- refusals ------------------------------------------------------------- */

static tb_model *binary_model(int code, int opts_type, nn_dtype ta, int ra, const int32_t *da, nn_dtype tb_,
			      int rb, const int32_t *db, int ro, const int32_t *dout, int act)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "a", ta, ra, da, NULL, 0, NULL);
	int y = tb_tensor(b, "b", tb_, rb, db, NULL, 0, NULL);
	int z = tb_tensor(b, "out", ta, ro, dout, NULL, 0, NULL);

	tb_opt_i8(&o, 0, (int8_t)act);
	tb_op(b, code, NULL, 1, (int[]){x, y}, 2, (int[]){z}, 1, opts_type, opts_type ? &o : NULL);
	tb_io(b, 2, (int[]){x, y}, 1, (int[]){z});
	return b;
}

static tb_model *unary_model(int code, nn_dtype t)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "x", t, 2, (int32_t[]){2, 3}, NULL, 0, NULL);
	int y = tb_tensor(b, "y", t, 2, (int32_t[]){2, 3}, NULL, 0, NULL);

	tb_op(b, code, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static tb_model *pool_model(int code, nn_dtype t, int padding, int sh, int sw, int kh, int kw, int act,
			    const int32_t *in_dims)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x", t, 4, in_dims, NULL, 0, NULL);
	int y = tb_tensor(b, "y", t, 0, NULL, NULL, 0, NULL);

	tb_opt_i8(&o, 0, (int8_t)padding);
	tb_opt_i32(&o, 1, sw);
	tb_opt_i32(&o, 2, sh);
	tb_opt_i32(&o, 3, kw);
	tb_opt_i32(&o, 4, kh);
	tb_opt_i8(&o, 5, (int8_t)act);
	tb_op(b, code, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_POOL2D, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static tb_model *concat_model(nn_dtype t, int axis, int act, const int32_t *d0, const int32_t *d1, int rank1)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x0", t, 3, d0, NULL, 0, NULL);
	int w = tb_tensor(b, "x1", t, rank1, d1, NULL, 0, NULL);
	int y = tb_tensor(b, "y", t, 0, NULL, NULL, 0, NULL);

	tb_opt_i32(&o, 0, axis);
	tb_opt_i8(&o, 1, (int8_t)act);
	tb_op(b, OP_CONCATENATION, NULL, 1, (int[]){x, w}, 2, (int[]){y}, 1, OPTS_CONCATENATION, &o);
	tb_io(b, 2, (int[]){x, w}, 1, (int[]){y});
	return b;
}

START_TEST(test_refusals)
{
	const int32_t d23[2] = {2, 3}, d43[2] = {4, 3}, img[4] = {1, 8, 8, 3};

	/* binary ops */
	ts_tb_expect_refused(binary_model(OP_ADD, OPTS_ADD, NN_F32, 2, d23, NN_F32, 2, d43, 0, NULL, 0),
		       "[2,3] and [4,3] are not broadcastable", "add shapes");
	ts_tb_expect_refused(
	    binary_model(OP_MUL, OPTS_MUL, NN_F32, 1, (int32_t[]){4}, NN_F32, 1, (int32_t[]){3}, 0, NULL, 0),
	    "not broadcastable", "mul shapes");
	ts_tb_expect_refused(binary_model(OP_ADD, OPTS_ADD, NN_I16, 2, d23, NN_I16, 2, d23, 2, d23, 0),
		       "input type int16 is not supported yet", "add int16");
	ts_tb_expect_refused(binary_model(OP_DIV, OPTS_DIV, NN_I32, 2, d23, NN_I32, 2, d23, 2, d23, 0),
		       "input type int32 is not supported yet", "div int32");
	ts_tb_expect_refused(binary_model(OP_SQUARED_DIFFERENCE, 0, NN_I8, 2, d23, NN_I8, 2, d23, 2, d23, 0),
		       "input type int8 is not supported yet", "squared difference int8");
	ts_tb_expect_refused(binary_model(OP_SUB, OPTS_SUB, NN_F32, 2, d23, NN_I32, 2, d23, 2, d23, 0),
		       "different types (float32 and int32)", "sub mixed types");
	ts_tb_expect_refused(binary_model(OP_ADD, OPTS_ADD, NN_F32, 2, d23, NN_F32, 2, d23, 2, d23, ACT_TANH),
		       "fused activation 4", "add tanh activation");
	ts_tb_expect_refused(binary_model(OP_ADD, OPTS_ADD, NN_I32, 2, d23, NN_I32, 2, d23, 2, d23, ACT_TANH),
		       "fused activation 4", "add int32 tanh activation");
	ts_tb_expect_refused(binary_model(OP_ADD, OPTS_MUL, NN_F32, 2, d23, NN_F32, 2, d23, 2, d23, 0),
		       "options are of type 21", "add with MulOptions");
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "a", NN_F32, 2, d23, NULL, 0, NULL);
		int z = tb_tensor(b, "out", NN_F32, 2, d23, NULL, 0, NULL);
		tb_op(b, OP_ADD, NULL, 1, (int[]){x}, 1, (int[]){z}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){z});
		ts_tb_expect_refused(b, "has 1 inputs, expected 2..2", "add arity");
	}

	/* unary ops and softmax */
	ts_tb_expect_refused(unary_model(OP_LOGISTIC, NN_I16), "input type int16 is not supported yet",
		       "logistic int16");
	ts_tb_expect_refused(unary_model(OP_TANH, NN_I16), "input type int16 is not supported yet", "tanh int16");
	ts_tb_expect_refused(unary_model(OP_SQRT, NN_I32), "input type int32 is not supported yet", "sqrt int32");
	ts_tb_expect_refused(unary_model(OP_RSQRT, NN_I8), "input type int8 is not supported yet", "rsqrt int8");
	ts_tb_expect_refused(unary_model(OP_SOFTMAX, NN_I16), "input type int16 is not supported yet",
		       "softmax int16");
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 0, NULL, NULL, 0, NULL);
		int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);
		tb_op(b, OP_SOFTMAX, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_expect_refused(b, "softmax needs rank >= 1", "softmax scalar");
	}

	/* concatenation */
	ts_tb_expect_refused(concat_model(NN_F32, 1, 0, (int32_t[]){1, 2, 3}, (int32_t[]){1, 3, 4}, 3),
		       "input 1 has 4 in dimension 2 but input 0 has 3", "concat shapes");
	ts_tb_expect_refused(concat_model(NN_F32, 1, 0, (int32_t[]){1, 2, 3}, (int32_t[]){1, 3}, 2),
		       "input 1 has rank 2 but input 0 has rank 3", "concat ranks");
	ts_tb_expect_refused(concat_model(NN_F32, 3, 0, (int32_t[]){1, 2, 3}, (int32_t[]){1, 2, 3}, 3),
		       "axis 3 is out of range for rank 3", "concat axis");
	ts_tb_expect_refused(concat_model(NN_F32, -4, 0, (int32_t[]){1, 2, 3}, (int32_t[]){1, 2, 3}, 3),
		       "axis -4 is out of range", "concat negative axis");
	ts_tb_expect_refused(concat_model(NN_F32, 0, ACT_RELU, (int32_t[]){1, 2, 3}, (int32_t[]){1, 2, 3}, 3),
		       "fused activation 1 is not supported", "concat relu");
	ts_tb_expect_refused(concat_model(NN_I16, 0, 0, (int32_t[]){1, 2, 3}, (int32_t[]){1, 2, 3}, 3),
		       "input type int16 is not supported yet", "concat int16");

	/* pools */
	ts_tb_expect_refused(pool_model(OP_AVERAGE_POOL_2D, NN_F32, SAME, 1, 1, 0, 3, 0, img),
		       "filter 0x3 (h x w) must be positive", "avg filter 0");
	ts_tb_expect_refused(pool_model(OP_MAX_POOL_2D, NN_F32, SAME, 1, 1, 3, 0, 0, img),
		       "filter 3x0 (h x w) must be positive", "max filter 0");
	ts_tb_expect_refused(pool_model(OP_MAX_POOL_2D, NN_F32, SAME, 0, 2, 3, 3, 0, img),
		       "stride 0x2 (h x w) must be positive", "max stride 0");
	ts_tb_expect_refused(pool_model(OP_AVERAGE_POOL_2D, NN_F32, 2, 1, 1, 3, 3, 0, img), "padding 2 is neither",
		       "avg padding 2");
	ts_tb_expect_refused(pool_model(OP_AVERAGE_POOL_2D, NN_F32, VALID, 1, 1, 9, 3, 0, img), "gives no output",
		       "avg valid filter larger than input");
	ts_tb_expect_refused(pool_model(OP_MAX_POOL_2D, NN_I16, SAME, 2, 2, 3, 3, 0, img),
		       "input type int16 is not supported yet", "max int16");
	ts_tb_expect_refused(pool_model(OP_AVERAGE_POOL_2D, NN_F32, SAME, 2, 2, 3, 3, ACT_TANH, img),
		       "fused activation 4", "avg tanh");
	{
		tb_model *b = tb_new();
		tb_opts o = {0};
		int x = tb_tensor(b, "x", NN_F32, 3, (int32_t[]){8, 8, 3}, NULL, 0, NULL);
		int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);
		tb_opt_i32(&o, 1, 1);
		tb_op(b, OP_MAX_POOL_2D, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_POOL2D, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_expect_refused(b, "input has rank 3, expected 4", "max rank 3");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_elementwise");
	TCase *tc = tcase_create("elementwise");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_binary_named_shapes);
	tcase_add_loop_test(tc, test_binary_random, 0, 4);
	tcase_add_test(tc, test_binary_int32);
	tcase_add_test(tc, test_binary_threads);
	tcase_add_test(tc, test_binary_int32_wraps);
	tcase_add_test(tc, test_unary);
	tcase_add_test(tc, test_softmax);
	tcase_add_test(tc, test_concatenation);
	tcase_add_test(tc, test_pools);
	tcase_add_test(tc, test_pools_threads);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
