/* test_k_elementwise_int.c - the uint8/int8 paths of ADD, SUB, MUL,
 * LOGISTIC, SOFTMAX, CONCATENATION, AVERAGE_POOL_2D and MAX_POOL_2D.
 *
 * Every case is a small model written with tflite_builder and run through
 * the reader, graph and session.  The oracles are TFLite's formulas written
 * out here, naively and independently of the kernels and of quant_math:
 *   - fixed-point primitives in another form than quant_math's: the high
 *     multiply as floor(a*b / 2^31 + 1/2) with an arithmetic shift, the
 *     rounding shift as half-away rounding of |x|, the multiplier from
 *     frexp and round();
 *   - ADD/SUB: TFLite's general 8-bit addition (left shift 20, input
 *     multipliers s_i / 2max, output multiplier 2max / (2^20 s_out), SUB
 *     negating the second), MUL: (a - za)(b - zb) times s_a s_b / s_out
 *     (float), both with gemmlowp's double rounding, broadcasting by an
 *     independent index walk, every fused activation;
 *   - LOGISTIC: each element dequantized, 1 / (1 + expf(-x)), requantized
 *     with roundf, in float as TFLite's table builder (over all 256 inputs);
 *   - SOFTMAX: per row, expf(-s_in beta (max - x)), float sum left to right,
 *     1 / (sum s_out), uint8 (int)(p + 0.5f), int8 roundf(p) + zero point;
 *   - CONCATENATION: coordinate mapping; uint8 inputs with another
 *     quantization requantized as round(q * k + b) + zp_out in float;
 *   - pools: window loops, integer sums divided with half-away rounding.
 * Each oracle is itself checked against real-valued arithmetic (the result
 * lies within about half a step of the exact value where not clamped), so
 * a shared misunderstanding would show.  Large cases run on several threads
 * and must match.  The AVX2 loops of ADD/SUB and MUL are also compared with
 * the C reference loops directly (the model cases run whichever the CPU gets;
 * LITESERVE_FORCE_REFERENCE=1 runs them on the reference).  Refusals check
 * their messages with strstr.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
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
	OP_SUB = 41,
};
/* BuiltinOptions union indices */
enum {
	OPTS_POOL2D = 5,
	OPTS_SOFTMAX = 9,
	OPTS_CONCATENATION = 10,
	OPTS_ADD = 11,
	OPTS_MUL = 21,
	OPTS_SUB = 28,
};
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4 };
enum { SAME = 0, VALID = 1 };

typedef struct qparam {
	float s;   /* scale */
	int32_t z; /* zero point */
} qparam;

/* --- model and session helpers -------------------------------------------- */

/* A per-tensor quantized tensor (data makes it a constant). */
static int qt(tb_model *b, const char *name, nn_dtype t, int rank, const int32_t *dims, const void *data,
	      size_t nbytes, qparam q)
{
	float s = q.s;
	int64_t z = q.z;
	tb_quant tq = {1, &s, &z, 0};

	return tb_tensor(b, name, t, rank, dims, data, nbytes, &tq);
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

static int32_t qmin_of(nn_dtype t)
{
	return t == NN_U8 ? 0 : -128;
}

static int32_t qmax_of(nn_dtype t)
{
	return t == NN_U8 ? 255 : 127;
}

static int32_t getq(nn_dtype t, const void *p, size_t i)
{
	return t == NN_U8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

static void fill_bytes(uint32_t *rng, uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)ts_rand(rng);
}

/* A scale log-uniform in [lo, hi). */
static float rand_scale(uint32_t *rng, float lo, float hi)
{
	return expf(ts_randf(rng, logf(lo), logf(hi)));
}

static int32_t rand_zp(uint32_t *rng, nn_dtype t)
{
	return qmin_of(t) + (int32_t)(ts_rand(rng) % 256);
}

static void compare_bytes(const uint8_t *got, const uint8_t *want, size_t n, nn_dtype t, const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "%s: element %zu is %d, expected %d", what, i,
			      getq(t, got, i), getq(t, want, i));
}

/* --- oracle primitives (see the file comment) ------------------------------- */

/* TFLite's QuantizeMultiplier: real = q * 2^(shift - 31), q in [2^30, 2^31). */
static int32_t o_quantize(double real, int *shift)
{
	int e = 0;
	double m;
	int64_t q;

	if (real == 0.0) {
		*shift = 0;
		return 0;
	}
	m = frexp(real, &e);
	q = (int64_t)round(m * 2147483648.0);
	if (q == (1ll << 31)) {
		q /= 2;
		e++;
	}
	if (e < -31) {
		q = 0;
		e = 0;
	}
	*shift = e;
	return (int32_t)q;
}

/* SaturatingRoundingDoublingHighMul as floor(a*b / 2^31 + 1/2). */
static int32_t o_srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	return (int32_t)(((int64_t)a * (int64_t)b + (1ll << 30)) >> 31);
}

/* RoundingDivideByPOT: x / 2^e rounded half away from zero. */
static int32_t o_rdbpot(int32_t x, int e)
{
	int64_t a = x < 0 ? -(int64_t)x : x, r;

	if (e == 0)
		return x;
	r = (a + (1ll << (e - 1))) >> e;
	return (int32_t)(x < 0 ? -r : r);
}

/* MultiplyByQuantizedMultiplier (double rounding); a left shift wraps. */
static int32_t o_mbqm(int32_t x, int32_t q, int shift)
{
	int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
	return o_rdbpot(o_srdhm((int32_t)((uint32_t)x << left), q), right);
}

/* CalculateActivationRangeQuantized: bounds zp + round(v / s) (in float,
 * half away from zero) within the type.  (The bounds are clamped before
 * the conversion here so that the tiny output scales of the differential
 * tests stay defined; the model tests use scales where this changes
 * nothing.) */
static int32_t o_bound(float v, qparam qo, nn_dtype t)
{
	float r = roundf(v / qo.s) + (float)qo.z;
	return r <= (float)qmin_of(t) ? qmin_of(t) : r >= (float)qmax_of(t) ? qmax_of(t) : (int32_t)r;
}

static void o_act_range(int act, nn_dtype t, qparam qo, int32_t *lo, int32_t *hi)
{
	int32_t a = qmin_of(t), b = qmax_of(t);

	if (act == ACT_RELU || act == ACT_RELU6) {
		a = qo.z > a ? qo.z : a;
		if (act == ACT_RELU6)
			b = o_bound(6.0f, qo, t);
	} else if (act == ACT_RELU_N1_TO_1) {
		a = o_bound(-1.0f, qo, t);
		b = o_bound(1.0f, qo, t);
	}
	*lo = a;
	*hi = b;
}

static int32_t clampi(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/* --- ADD / SUB / MUL -------------------------------------------------------- */

typedef struct o_bin {
	int code;
	qparam qa, qb, qo;
	int32_t ma, mb, mo; /* ADD/SUB: input and output multipliers; MUL: mo */
	int sa, sb, so;
	int32_t lo, hi;
} o_bin;

static void o_bin_init(o_bin *o, int code, nn_dtype t, int act, qparam qa, qparam qb, qparam qo)
{
	o->code = code;
	o->qa = qa;
	o->qb = qb;
	o->qo = qo;
	if (code == OP_MUL) {
		float real = qa.s * qb.s / qo.s;
		o->mo = o_quantize((double)real, &o->so);
	} else {
		double twice_max = 2.0 * (double)(qa.s > qb.s ? qa.s : qb.s);
		o->ma = o_quantize((double)qa.s / twice_max, &o->sa);
		o->mb = o_quantize((double)qb.s / twice_max, &o->sb);
		o->mo = o_quantize(twice_max / (1048576.0 * (double)qo.s), &o->so);
		if (code == OP_SUB)
			o->mb = -o->mb;
	}
	o_act_range(act, t, qo, &o->lo, &o->hi);
}

static int32_t o_bin_elem(const o_bin *o, int32_t x, int32_t y)
{
	int32_t r;

	if (o->code == OP_MUL) {
		r = o_mbqm((x - o->qa.z) * (y - o->qb.z), o->mo, o->so) + o->qo.z;
	} else {
		int32_t a = o_mbqm((x - o->qa.z) * (1 << 20), o->ma, o->sa);
		int32_t b = o_mbqm((y - o->qb.z) * (1 << 20), o->mb, o->sb);
		r = o_mbqm(a + b, o->mo, o->so) + o->qo.z;
	}
	return clampi(r, o->lo, o->hi);
}

/* The exact real result in output steps (before rounding and clamping). */
static double o_bin_real(const o_bin *o, int32_t x, int32_t y)
{
	double a = (double)o->qa.s * (x - o->qa.z), b = (double)o->qb.s * (y - o->qb.z), v;

	v = o->code == OP_MUL ? a * b : o->code == OP_SUB ? a - b : a + b;
	return v / o->qo.s + o->qo.z;
}

static size_t bcast_index(int r, const int32_t *d, int ro, const int32_t *idx)
{
	size_t off = 0;
	for (int i = 0; i < r; i++) {
		int32_t k = d[i] == 1 ? 0 : idx[ro - r + i];
		off = off * (size_t)d[i] + (size_t)k;
	}
	return off;
}

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

static const char *op_name(int code)
{
	return code == OP_ADD ? "ADD" : code == OP_SUB ? "SUB" : "MUL";
}

static int op_opts(int code)
{
	return code == OP_ADD ? OPTS_ADD : code == OP_SUB ? OPTS_SUB : OPTS_MUL;
}

/* Runs a quantized binary op and checks every element against the oracle,
 * and the oracle against real arithmetic.  Returns the output bytes
 * (malloc'd) for thread comparisons. */
static uint8_t *qbinary_case(int code, nn_dtype t, int act, int ra, const int32_t *da, qparam qa, int rb,
			     const int32_t *db, qparam qb, bool b_const, qparam qo, int threads,
			     uint32_t seed)
{
	uint32_t rng = seed;
	int32_t dout[NN_MAX_RANK], idx[NN_MAX_RANK];
	int ro = bcast_shape(ra, da, rb, db, dout);
	size_t na = count_of(ra, da), nb = count_of(rb, db), no = count_of(ro, dout);
	uint8_t *a = malloc(na + 1), *bv = malloc(nb + 1), *want = malloc(no + 1), *got = malloc(no + 1);
	char what[200];
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	o_bin ob;
	double tol;
	int x, y, z;

	snprintf(what, sizeof(what), "%s %s act %d rank %d/%d seed %u threads %d (s %g/%g/%g z %d/%d/%d)",
		 op_name(code), nn_dtype_name(t), act, ra, rb, seed, threads, (double)qa.s, (double)qb.s,
		 (double)qo.s, qa.z, qb.z, qo.z);
	fill_bytes(&rng, a, na);
	fill_bytes(&rng, bv, nb);
	x = qt(b, "a", t, ra, da, NULL, 0, qa);
	y = qt(b, "b", t, rb, db, b_const ? bv : NULL, b_const ? nb : 0, qb);
	z = qt(b, "out", t, ro, dout, NULL, 0, qo);
	tb_opt_i8(&o, 0, (int8_t)act);
	tb_op(b, code, NULL, 1, (int[]){x, y}, 2, (int[]){z}, 1, op_opts(code), &o);
	if (b_const)
		tb_io(b, 1, (int[]){x}, 1, (int[]){z});
	else
		tb_io(b, 2, (int[]){x, y}, 1, (int[]){z});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, a, na);
	if (!b_const)
		ts_put_input(&m, 1, bv, nb);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), ro, dout, what);
	memcpy(got, nn_session_output(m.session, 0)->data, no);

	o_bin_init(&ob, code, t, act, qa, qb, qo);
	tol = 0.5 + (ob.so < 0 ? ldexp(0.5, ob.so) : 0.0) + 1e-3;
	for (size_t f = 0; f < no; f++) {
		size_t r = f, ka, kb;
		int32_t xv, yv, v;
		double real;

		for (int i = ro - 1; i >= 0; i--) {
			idx[i] = (int32_t)(r % (size_t)dout[i]);
			r /= (size_t)dout[i];
		}
		ka = bcast_index(ra, da, ro, idx);
		kb = bcast_index(rb, db, ro, idx);
		xv = getq(t, a, ka);
		yv = getq(t, bv, kb);
		v = o_bin_elem(&ob, xv, yv);
		want[f] = (uint8_t)v;
		/* the oracle is right to half a step where it does not clamp,
		 * plus what double rounding loses: the high multiply rounds to
		 * 2^-right of a step before the rounding shift by right */
		real = o_bin_real(&ob, xv, yv);
		if (real > ob.lo + 1 && real < ob.hi - 1)
			ck_assert_msg(fabs(v - real) <= tol, "%s: oracle gives %d for %d, %d (real %.4f)",
				      what, v, xv, yv, real);
	}
	compare_bytes(got, want, no, t, what);
	ts_model_free(&m);
	free(a);
	free(bv);
	free(want);
	return got;
}

static qparam rq(uint32_t *rng, nn_dtype t, float lo, float hi)
{
	qparam q = {rand_scale(rng, lo, hi), rand_zp(rng, t)};
	return q;
}

/* The shapes and quantizations of the models' own ops. */
START_TEST(test_binary_model_shapes)
{
	const qparam u1 = {0.0646625f, 129}, u2 = {0.0816941f, 134}, uo = {0.102902f, 132};

	for (int act = ACT_NONE; act <= ACT_RELU6; act++) {
		/* MobileNet v2 residual ADD (uint8, same shapes) and its int8 twin */
		free(qbinary_case(OP_ADD, NN_U8, act, 4, (int32_t[]){1, 14, 14, 64}, u1, 4,
				  (int32_t[]){1, 14, 14, 64}, u2, false, uo, 1, 10 + act));
		free(qbinary_case(OP_ADD, NN_I8, act, 4, (int32_t[]){1, 14, 14, 64}, (qparam){0.0816941f, 6},
				  4, (int32_t[]){1, 14, 14, 64}, (qparam){0.0646625f, 1}, false,
				  (qparam){0.102902f, 4}, 1, 20 + act));
	}
	/* power-of-two scales: the rounding shifts meet exact ties of both signs */
	for (int c = 0; c < 3; c++) {
		int code = c == 0 ? OP_ADD : c == 1 ? OP_SUB : OP_MUL;
		qparam qo = code == OP_MUL ? (qparam){0.5f, 3} : (qparam){0.125f, 1};
		free(qbinary_case(code, NN_U8, ACT_NONE, 2, (int32_t[]){16, 16}, (qparam){0.0625f, 128}, 2,
				  (int32_t[]){16, 16}, (qparam){0.0625f, 120}, false, qo, 1,
				  40 + (uint32_t)c));
		free(qbinary_case(code, NN_I8, ACT_NONE, 2, (int32_t[]){16, 16}, (qparam){0.25f, 0}, 1,
				  (int32_t[]){16}, (qparam){0.0625f, -3}, false, qo, 1, 43 + (uint32_t)c));
	}
	/* short rows repeated along the next dim, in either input (the tiled
	 * walk of broadcast.h), and across a higher dim where the repeated row
	 * changes */
	free(qbinary_case(OP_SUB, NN_U8, ACT_NONE, 2, (int32_t[]){1, 5}, (qparam){0.05f, 100}, 3,
			  (int32_t[]){7, 300, 5}, (qparam){0.04f, 90}, false, (qparam){0.06f, 128}, 1, 50));
	free(qbinary_case(OP_ADD, NN_I8, ACT_RELU, 3, (int32_t[]){7, 300, 5}, (qparam){0.05f, 10}, 3,
			  (int32_t[]){7, 1, 5}, (qparam){0.04f, -9}, true, (qparam){0.06f, -1}, 1, 51));
	free(qbinary_case(OP_MUL, NN_U8, ACT_NONE, 3, (int32_t[]){5, 1, 3}, (qparam){0.05f, 100}, 3,
			  (int32_t[]){5, 777, 3}, (qparam){0.04f, 90}, false, (qparam){0.1f, 128}, 3, 52));
	/* MoveNet: [1,1] + [17]; [48,48,17] + constant scalar; large output scale */
	free(qbinary_case(OP_ADD, NN_I8, ACT_NONE, 2, (int32_t[]){1, 1}, (qparam){0.101961f, -128}, 1,
			  (int32_t[]){17}, (qparam){0.68844f, -21}, false, (qparam){0.210099f, -128}, 1, 30));
	free(qbinary_case(OP_ADD, NN_I8, ACT_NONE, 3, (int32_t[]){48, 48, 17}, (qparam){0.242528f, -128}, 0,
			  NULL, (qparam){0.00705882f, -128}, true, (qparam){0.249587f, -128}, 1, 31));
	free(qbinary_case(OP_ADD, NN_I8, ACT_NONE, 3, (int32_t[]){48, 48, 17}, (qparam){11.2561f, -128}, 3,
			  (int32_t[]){48, 48, 17}, (qparam){7.97475f, -128}, false, (qparam){14.9991f, -128},
			  1, 32));
	/* MoveNet SUBs: minus a scalar; minus [1,1,1,3] at scale 1e-6; [48,48,1] - [1,17] */
	free(qbinary_case(OP_SUB, NN_I8, ACT_NONE, 4, (int32_t[]){1, 19, 19, 3}, (qparam){0.00784314f, -128},
			  0, NULL, (qparam){0.00392157f, -128}, true, (qparam){0.00784314f, -1}, 1, 33));
	free(qbinary_case(OP_SUB, NN_I8, ACT_NONE, 4, (int32_t[]){1, 19, 19, 3}, (qparam){1.0f, -128}, 4,
			  (int32_t[]){1, 1, 1, 3}, (qparam){1e-6f, 0}, true, (qparam){1.0f, -128}, 1, 34));
	free(qbinary_case(OP_SUB, NN_I8, ACT_NONE, 3, (int32_t[]){48, 48, 1}, (qparam){0.184314f, -128}, 2,
			  (int32_t[]){1, 17}, (qparam){0.175278f, -128}, true, (qparam){0.352121f, -1}, 1,
			  35));
	/* MoveNet MULs: times a scalar; a square; [1,48,48,1] * [48,48,1] */
	free(qbinary_case(OP_MUL, NN_I8, ACT_NONE, 4, (int32_t[]){1, 19, 19, 3}, (qparam){1.0f, -128}, 0,
			  NULL, (qparam){3.07574e-05f, -128}, true, (qparam){0.00784314f, -128}, 1, 36));
	free(qbinary_case(OP_MUL, NN_I8, ACT_NONE, 3, (int32_t[]){48, 48, 17}, (qparam){0.352121f, -1}, 3,
			  (int32_t[]){48, 48, 17}, (qparam){0.352121f, -1}, false, (qparam){7.97475f, -128},
			  1, 37));
	free(qbinary_case(OP_MUL, NN_I8, ACT_NONE, 4, (int32_t[]){1, 48, 48, 1}, (qparam){0.00390625f, -128},
			  3, (int32_t[]){48, 48, 1}, (qparam){0.00217865f, -128}, true,
			  (qparam){0.00204404f, -128}, 1, 38));
	free(qbinary_case(OP_MUL, NN_I8, ACT_NONE, 4, (int32_t[]){1, 1, 17, 2}, (qparam){0.196649f, -128}, 4,
			  (int32_t[]){1, 1, 1, 2}, (qparam){8.16993e-05f, -128}, true,
			  (qparam){0.00409685f, -128}, 1, 39));
}
END_TEST

/* Random shapes (broadcasting both ways, scalars), quantizations and
 * activations, for each op and type. */
START_TEST(test_binary_random)
{
	static const int codes[] = {OP_ADD, OP_SUB, OP_MUL};
	uint32_t rng = 1234u + (uint32_t)_i;

	for (int iter = 0; iter < 12; iter++) {
		int code = codes[iter % 3];
		nn_dtype t = (iter / 3) % 2 ? NN_I8 : NN_U8;
		int act = (int)(ts_rand(&rng) % 4);
		int ro = 1 + (int)(ts_rand(&rng) % 4), ra = ro, rb = 1 + (int)(ts_rand(&rng) % ro);
		int32_t full[NN_MAX_RANK], da[NN_MAX_RANK], db[NN_MAX_RANK];
		qparam qa = rq(&rng, t, 0.01f, 1.0f), qb = rq(&rng, t, 0.01f, 1.0f), qo;

		for (int i = 0; i < ro; i++)
			full[i] = 1 + (int)(ts_rand(&rng) % 7);
		for (int i = 0; i < ra; i++)
			da[i] = ts_rand(&rng) % 3 == 0 ? 1 : full[i];
		for (int i = 0; i < rb; i++)
			db[i] = ts_rand(&rng) % 3 == 0 ? 1 : full[ro - rb + i];
		if (ts_rand(&rng) % 4 == 0)
			rb = 0; /* a scalar */
		if (code == OP_MUL) {
			/* around the product's range; sometimes a multiplier above 1 */
			float p = qa.s * qb.s;
			qo = rq(&rng, t, p * (iter % 4 == 0 ? 0.2f : 20.0f), p * 400.0f);
		} else {
			float mx = qa.s > qb.s ? qa.s : qb.s;
			qo = rq(&rng, t, mx * 0.5f, mx * 4.0f);
		}
		free(qbinary_case(code, t, act, ra, da, qa, rb, db, qb, ts_rand(&rng) % 2 == 0, qo, 1,
				  100u * (uint32_t)_i + (uint32_t)iter));
	}
}
END_TEST

/* Large outputs are split over threads: same bytes as one thread. */
START_TEST(test_binary_threads)
{
	const int32_t big[4] = {1, 129, 129, 24}, row[1] = {24};
	const qparam qa = {0.473271f, 123}, qb = {0.358283f, 125}, qo = {0.503494f, 119};

	for (int c = 0; c < 3; c++) {
		int code = c == 0 ? OP_ADD : c == 1 ? OP_SUB : OP_MUL;
		qparam out = code == OP_MUL ? (qparam){40.0f, 3} : qo;
		uint8_t *one = qbinary_case(code, NN_U8, ACT_RELU, 4, big, qa, 4, big, qb, false, out, 1, 7);
		uint8_t *four = qbinary_case(code, NN_U8, ACT_RELU, 4, big, qa, 4, big, qb, false, out, 4, 7);
		uint8_t *bc1 = qbinary_case(code, NN_I8, ACT_NONE, 4, big, qa, 1, row, qb, false, out, 1, 8);
		uint8_t *bc4 = qbinary_case(code, NN_I8, ACT_NONE, 4, big, qa, 1, row, qb, false, out, 3, 8);

		ck_assert(memcmp(one, four, count_of(4, big)) == 0);
		ck_assert(memcmp(bc1, bc4, count_of(4, big)) == 0);
		free(one);
		free(four);
		free(bc1);
		free(bc4);
	}
	/* 8-bit outputs split from 16K elements on, into even ranges that start
	 * inside rows: an odd total (21437 = 13 * 17 * 97) and short rows */
	{
		const int32_t mid[4] = {1, 13, 17, 97}, mrow[1] = {97}, tall[4] = {1, 1, 2731, 9}, trow[1] = {9};
		for (int c = 0; c < 3; c++) {
			int code = c == 0 ? OP_ADD : c == 1 ? OP_SUB : OP_MUL;
			qparam out = code == OP_MUL ? (qparam){40.0f, 3} : qo;
			uint8_t *r[6] = {
			    qbinary_case(code, NN_I8, ACT_RELU6, 4, mid, qa, 4, mid, qb, false, out, 1, 11),
			    qbinary_case(code, NN_I8, ACT_RELU6, 4, mid, qa, 4, mid, qb, false, out, 2, 11),
			    qbinary_case(code, NN_U8, ACT_NONE, 4, mid, qa, 1, mrow, qb, true, out, 1, 12),
			    qbinary_case(code, NN_U8, ACT_NONE, 4, mid, qa, 1, mrow, qb, true, out, 2, 12),
			    qbinary_case(code, NN_I8, ACT_NONE, 4, tall, qa, 1, trow, qb, false, out, 1, 13),
			    qbinary_case(code, NN_I8, ACT_NONE, 4, tall, qa, 1, trow, qb, false, out, 3, 13),
			};
			ck_assert(memcmp(r[0], r[1], count_of(4, mid)) == 0);
			ck_assert(memcmp(r[2], r[3], count_of(4, mid)) == 0);
			ck_assert(memcmp(r[4], r[5], count_of(4, tall)) == 0);
			for (int i = 0; i < 6; i++)
				free(r[i]);
		}
	}
}
END_TEST

/* The AVX2 and AVX-512 loops of ADD/SUB against the plain C ones, directly: random
 * lengths (tails included), all three kinds of run, random multipliers
 * (from scale ratios down to 1e-6, as MoveNet's), zero points and clamps. */
START_TEST(test_qadd_avx2_matches_reference)
{
	uint32_t rng = 4242;
	uint8_t a[160], b[160], want[160], got[160];

	if (!nn_cpu_avx2()) {
		fprintf(stderr, "SKIP test_qadd_avx2_matches_reference: no AVX2 on this CPU\n");
		return;
	}
	for (int iter = 0; iter < 3000; iter++) {
		const nn_dtype t = iter % 2 ? NN_I8 : NN_U8;
		const bc_loops *ref = bc_qadd_loops(t), *fast = bc_qadd_loops_avx2(t);
		const size_t n = 1 + ts_rand(&rng) % 150;
		float sa = rand_scale(&rng, 1e-6f, 2.0f), sb = rand_scale(&rng, 1e-6f, 2.0f), mx, so;
		double twice_max;
		bc_qadd p;
		char what[96];

		if (iter % 3 == 1) { /* powers of two: exact ties in every rounding */
			sa = ldexpf(1.0f, -(int)(ts_rand(&rng) % 8));
			sb = ldexpf(1.0f, -(int)(ts_rand(&rng) % 8));
		}
		mx = sa > sb ? sa : sb;
		so = iter % 3 == 1 ? ldexpf(mx, 1 - (int)(ts_rand(&rng) % 4))
				   : rand_scale(&rng, mx * 0.01f, mx * 8.0f);
		twice_max = 2.0 * (double)mx;
		p.off_a = -rand_zp(&rng, t);
		p.off_b = -rand_zp(&rng, t);
		p.off_out = rand_zp(&rng, t);
		p.left_shift = 20;
		p.mul_a = o_quantize((double)sa / twice_max, &p.shift_a);
		p.mul_b = o_quantize((double)sb / twice_max, &p.shift_b);
		p.mul_out = o_quantize(twice_max / (1048576.0 * (double)so), &p.shift_out);
		if (iter % 5 < 2)
			p.mul_b = -p.mul_b; /* SUB */
		o_act_range((int)(ts_rand(&rng) % 4), t, (qparam){so, p.off_out}, &p.lo, &p.hi);
		bc_qadd_tables(&p, t);
		fill_bytes(&rng, a, n);
		fill_bytes(&rng, b, n);
		if (iter % 7 == 0) { /* the extremes of the type */
			memset(a, iter % 2 ? 0x80 : 0x00, n / 2);
			memset(b + n / 2, iter % 2 ? 0x7f : 0xff, n - n / 2);
		}
		for (int kind = 0; kind < 6; kind++) { /* 3..5: the AVX-512 loops, where the CPU has them */
			const bc_loops *fl = kind < 3 ? fast : bc_qadd_loops_avx512(t);
			const bc_binary_fn fr = kind % 3 == 0 ? ref->vv : kind % 3 == 1 ? ref->sv : ref->vs;
			const bc_binary_fn ff = kind % 3 == 0 ? fl->vv : kind % 3 == 1 ? fl->sv : fl->vs;

			if (kind >= 3 && !nn_cpu_avx512())
				break;
			snprintf(what, sizeof(what), "qadd %s %s iter %d kind %d n %zu", kind < 3 ? "avx2" : "avx512",
				 nn_dtype_name(t), iter, kind % 3, n);
			memset(want, 0xAA, sizeof(want));
			memset(got, 0xAA, sizeof(got));
			fr(a, b, want, n, &p);
			ff(a, b, got, n, &p);
			compare_bytes(got, want, sizeof(got), t, what); /* nothing written past n either */
		}
	}
}
END_TEST

/* The same for MUL's loops, with multipliers on both sides of 1. */
START_TEST(test_qmul_avx2_matches_reference)
{
	uint32_t rng = 777;
	uint8_t a[160], b[160], want[160], got[160];

	if (!nn_cpu_avx2()) {
		fprintf(stderr, "SKIP test_qmul_avx2_matches_reference: no AVX2 on this CPU\n");
		return;
	}
	for (int iter = 0; iter < 3000; iter++) {
		const nn_dtype t = iter % 2 ? NN_I8 : NN_U8;
		const bc_loops *ref = bc_qmul_loops(t), *fast = bc_qmul_loops_avx2(t);
		const size_t n = 1 + ts_rand(&rng) % 150;
		float sa = rand_scale(&rng, 1e-5f, 2.0f), sb = rand_scale(&rng, 1e-5f, 2.0f), so, real;
		bc_qmul p;
		char what[96];

		if (iter % 3 == 1) { /* powers of two: exact ties */
			sa = ldexpf(1.0f, -(int)(ts_rand(&rng) % 8));
			sb = ldexpf(1.0f, -(int)(ts_rand(&rng) % 8));
			so = ldexpf(sa * sb, (int)(ts_rand(&rng) % 12) - 2);
		} else {
			so = rand_scale(&rng, sa * sb * 0.05f, sa * sb * 2000.0f);
		}
		real = sa * sb / so;
		p.mul = o_quantize((double)real, &p.shift);
		p.off_a = -rand_zp(&rng, t);
		p.off_b = -rand_zp(&rng, t);
		p.off_out = rand_zp(&rng, t);
		o_act_range((int)(ts_rand(&rng) % 4), t, (qparam){so, p.off_out}, &p.lo, &p.hi);
		fill_bytes(&rng, a, n);
		fill_bytes(&rng, b, n);
		for (int kind = 0; kind < 3; kind++) {
			const bc_binary_fn fr = kind == 0 ? ref->vv : kind == 1 ? ref->sv : ref->vs;
			const bc_binary_fn ff = kind == 0 ? fast->vv : kind == 1 ? fast->sv : fast->vs;

			snprintf(what, sizeof(what), "qmul avx2 %s iter %d kind %d n %zu shift %d",
				 nn_dtype_name(t), iter, kind, n, p.shift);
			memset(want, 0xAA, sizeof(want));
			memset(got, 0xAA, sizeof(got));
			fr(a, b, want, n, &p);
			ff(a, b, got, n, &p);
			compare_bytes(got, want, sizeof(got), t, what);
		}
	}
}
END_TEST

/* --- LOGISTIC --------------------------------------------------------------- */

static int32_t o_logistic(int32_t q, nn_dtype t, qparam qi, qparam qo)
{
	const float inverse = 1.0f / qo.s;
	const float x = qi.s * (float)(q - qi.z);
	const float y = 1.0f / (1.0f + expf(-x));
	const float r = roundf(y * inverse);

	return clampi((int32_t)(r + (float)qo.z), qmin_of(t), qmax_of(t));
}

static void logistic_case(nn_dtype t, int rank, const int32_t *dims, qparam qi, int threads, uint32_t seed)
{
	const qparam qo = {1.0f / 256.0f, t == NN_U8 ? 0 : -128};
	size_t n = count_of(rank, dims);
	uint8_t *in = malloc(n), *want = malloc(n);
	uint32_t rng = seed;
	char what[160];
	tb_model *b = tb_new();
	ts_model m;
	int x, y;

	snprintf(what, sizeof(what), "LOGISTIC %s s_in %g z_in %d seed %u", nn_dtype_name(t), (double)qi.s,
		 qi.z, seed);
	for (size_t i = 0; i < n; i++) /* every byte value when n >= 256 */
		in[i] = i < 256 ? (uint8_t)i : (uint8_t)ts_rand(&rng);
	x = qt(b, "x", t, rank, dims, NULL, 0, qi);
	y = qt(b, "y", t, rank, dims, NULL, 0, qo);
	tb_op(b, OP_LOGISTIC, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, in, n);
	ts_invoke_ok(&m, what);
	for (size_t i = 0; i < n; i++) {
		int32_t q = getq(t, in, i), v = o_logistic(q, t, qi, qo);
		double exact = 1.0 / (1.0 + exp(-(double)qi.s * (q - qi.z)));

		want[i] = (uint8_t)v;
		/* within half a step, but 1.0 clamps to 255/256 */
		ck_assert_msg(fabs((v - qo.z) / 256.0 - exact) <= 0.5 / 256 + 1e-6 || exact > 255.0 / 256,
			      "%s: oracle gives %d for %d", what, v, q);
	}
	compare_bytes(nn_session_output(m.session, 0)->data, want, n, t, what);
	ts_model_free(&m);
	free(in);
	free(want);
}

START_TEST(test_logistic)
{
	uint32_t rng = 99;

	/* the SSD detector's and MoveNet's own quantizations */
	logistic_case(NN_U8, 3, (int32_t[]){1, 19, 91}, (qparam){0.0497368f, 223}, 1, 1);
	logistic_case(NN_I8, 4, (int32_t[]){1, 48, 48, 1}, (qparam){0.282217f, 114}, 1, 2);
	logistic_case(NN_I8, 4, (int32_t[]){1, 48, 48, 17}, (qparam){0.280927f, 115}, 3, 3);
	for (int i = 0; i < 10; i++) {
		nn_dtype t = i % 2 ? NN_I8 : NN_U8;
		qparam qi = rq(&rng, t, 0.005f, 2.0f);
		int32_t dims[3] = {1 + (int)(ts_rand(&rng) % 3), 1 + (int)(ts_rand(&rng) % 200), 3};
		logistic_case(t, 3, dims, qi, 1, 10 + (uint32_t)i);
	}
	/* large enough to split over threads */
	logistic_case(NN_U8, 2, (int32_t[]){1917, 91}, (qparam){0.0497368f, 223}, 4, 4);
}
END_TEST

/* --- SOFTMAX ---------------------------------------------------------------- */

static void softmax_case(nn_dtype t, int rank, const int32_t *dims, qparam qi, float beta, int threads,
			 uint32_t seed)
{
	const qparam qo = {1.0f / 256.0f, t == NN_U8 ? 0 : -128};
	size_t n = count_of(rank, dims), depth = (size_t)dims[rank - 1];
	uint8_t *in = malloc(n), *want = malloc(n);
	float *e = malloc(depth * sizeof(float));
	uint32_t rng = seed;
	char what[160];
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int x, y;

	snprintf(what, sizeof(what), "SOFTMAX %s depth %zu s_in %g beta %g seed %u", nn_dtype_name(t), depth,
		 (double)qi.s, (double)beta, seed);
	fill_bytes(&rng, in, n);
	if (seed % 3 == 0) /* narrow rows: many ties and sums of a few large terms */
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(in[i] % 5 + 100);
	x = qt(b, "x", t, rank, dims, NULL, 0, qi);
	y = qt(b, "y", t, rank, dims, NULL, 0, qo);
	tb_opt_f32(&o, 0, beta);
	tb_op(b, OP_SOFTMAX, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_SOFTMAX, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, in, n);
	ts_invoke_ok(&m, what);
	for (size_t r = 0; r < n / depth; r++) {
		const float scale = -qi.s * beta;
		int32_t max = qmin_of(t);
		float sum = 0.0f, inv;
		double dsum = 0.0;

		for (size_t c = 0; c < depth; c++)
			if (getq(t, in, r * depth + c) > max)
				max = getq(t, in, r * depth + c);
		for (size_t c = 0; c < depth; c++) {
			int32_t k = max - getq(t, in, r * depth + c);
			e[c] = expf(scale * (float)k);
			sum += e[c];
			dsum += exp(-(double)qi.s * beta * k);
		}
		inv = 1.0f / (sum * qo.s);
		for (size_t c = 0; c < depth; c++) {
			float p = e[c] * inv;
			int32_t v = t == NN_U8 ? (int32_t)(p + 0.5f) : (int32_t)roundf(p) + qo.z;
			double exact = exp(-(double)qi.s * beta * (max - getq(t, in, r * depth + c))) / dsum;

			v = clampi(v, qmin_of(t), qmax_of(t));
			want[r * depth + c] = (uint8_t)v;
			ck_assert_msg(fabs((v - qo.z) / 256.0 - exact) <= 0.5 / 256 + 1e-4 ||
					  exact > 255.0 / 256,
				      "%s: oracle gives %d where softmax is %g", what, v, exact);
		}
	}
	compare_bytes(nn_session_output(m.session, 0)->data, want, n, t, what);
	ts_model_free(&m);
	free(in);
	free(want);
	free(e);
}

START_TEST(test_softmax)
{
	uint32_t rng = 5;

	/* the classifiers' own */
	softmax_case(NN_U8, 2, (int32_t[]){1, 1001}, (qparam){0.0662684f, 126}, 1.0f, 1, 1);
	softmax_case(NN_U8, 2, (int32_t[]){1, 1001}, (qparam){0.146457f, 78}, 1.0f, 1, 2);
	softmax_case(NN_I8, 2, (int32_t[]){1, 1001}, (qparam){0.063365f, -53}, 1.0f, 1, 3);
	softmax_case(NN_I8, 2, (int32_t[]){1, 1001}, (qparam){0.0787297f, -13}, 1.0f, 1, 4);
	for (int i = 0; i < 12; i++) {
		nn_dtype t = i % 2 ? NN_I8 : NN_U8;
		qparam qi = rq(&rng, t, 0.01f, 1.0f);
		float beta = i % 3 == 0 ? 1.0f : ts_randf(&rng, 0.1f, 3.0f);
		int rank = 1 + (int)(ts_rand(&rng) % 3);
		int32_t dims[3];

		for (int k = 0; k < rank; k++)
			dims[k] = 1 + (int)(ts_rand(&rng) % (k == rank - 1 ? 40 : 5));
		softmax_case(t, rank, dims, qi, beta, 1, 20 + (uint32_t)i);
	}
	/* one element per row gives 1.0, which saturates */
	softmax_case(NN_U8, 2, (int32_t[]){3, 1}, (qparam){0.1f, 7}, 1.0f, 1, 40);
	softmax_case(NN_I8, 2, (int32_t[]){3, 1}, (qparam){0.1f, 7}, 1.0f, 1, 41);
	/* many rows: split over threads */
	softmax_case(NN_I8, 2, (int32_t[]){300, 1001}, (qparam){0.063365f, -53}, 1.0f, 4, 42);
}
END_TEST

/* --- CONCATENATION -------------------------------------------------------- */

/* Concatenates n inputs of rank `rank` along `axis`; dims[i] are the
 * inputs' shapes (equal but along the axis), q[i] their quantizations. */
static void concat_case(nn_dtype t, int n, int rank, int axis, const int32_t (*dims)[4], const qparam *q,
			qparam qo, int threads, uint32_t seed)
{
	uint32_t rng = seed;
	int32_t dout[4];
	uint8_t *in[8];
	size_t nin[8], no;
	uint8_t *want;
	int ids[8], y;
	char what[160];
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	size_t outer = 1, inner = 1, pos = 0;

	snprintf(what, sizeof(what), "CONCATENATION %s n %d rank %d axis %d seed %u", nn_dtype_name(t), n,
		 rank, axis, seed);
	memcpy(dout, dims[0], sizeof(dout));
	dout[axis] = 0;
	for (int i = 0; i < n; i++)
		dout[axis] += dims[i][axis];
	no = count_of(rank, dout);
	want = malloc(no + 1);
	for (int i = 0; i < n; i++) {
		char name[8];
		snprintf(name, sizeof(name), "x%d", i);
		nin[i] = count_of(rank, dims[i]);
		in[i] = malloc(nin[i] + 1);
		fill_bytes(&rng, in[i], nin[i]);
		ids[i] = qt(b, name, t, rank, dims[i], NULL, 0, q[i]);
	}
	y = qt(b, "y", t, rank, dout, NULL, 0, qo);
	tb_opt_i32(&o, 0, axis);
	tb_op(b, OP_CONCATENATION, NULL, 1, ids, n, (int[]){y}, 1, OPTS_CONCATENATION, &o);
	tb_io(b, n, ids, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	for (int i = 0; i < n; i++)
		ts_put_input(&m, i, in[i], nin[i]);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), rank, dout, what);

	for (int k = 0; k < axis; k++)
		outer *= (size_t)dout[k];
	for (int k = axis + 1; k < rank; k++)
		inner *= (size_t)dout[k];
	for (size_t r = 0; r < outer; r++)
		for (int i = 0; i < n; i++) {
			size_t len = (size_t)dims[i][axis] * inner;
			const float inverse = 1.0f / qo.s, k = q[i].s * inverse, bias = (float)(-q[i].z) * k;
			const bool same = q[i].s == qo.s && q[i].z == qo.z;

			for (size_t j = 0; j < len; j++) {
				int32_t v = getq(t, in[i], r * len + j);
				if (!same) {
					double exact = (double)q[i].s * (v - q[i].z) / qo.s + qo.z;
					int32_t u = (int32_t)roundf((float)v * k + bias) + qo.z;
					ck_assert_msg(fabs(u - exact) <= 0.501,
						      "%s: oracle gives %d (exact %g)", what, u, exact);
					v = clampi(u, 0, 255);
				}
				want[pos++] = (uint8_t)v;
			}
		}
	compare_bytes(nn_session_output(m.session, 0)->data, want, no, t, what);
	ts_model_free(&m);
	for (int i = 0; i < n; i++)
		free(in[i]);
	free(want);
}

START_TEST(test_concatenation)
{
	uint32_t rng = 77;

	/* the SSD detector's class heads: 6 inputs, all requantized */
	{
		const int32_t d[6][4] = {{1, 1083, 91}, {1, 600, 91}, {1, 150, 91},
					 {1, 54, 91},	{1, 24, 91},  {1, 6, 91}};
		const qparam q[6] = {{0.0482365f, 230}, {0.0412184f, 216}, {0.0362418f, 213},
				     {0.0356398f, 215}, {0.027209f, 226},  {0.0277297f, 214}};
		concat_case(NN_U8, 6, 3, 1, d, q, (qparam){0.0497368f, 223}, 1, 1);
		concat_case(NN_U8, 6, 3, 1, d, q, (qparam){0.0497368f, 223}, 4, 1);
	}
	/* its box heads: the first input has the output's quantization (copied) */
	{
		const int32_t d[3][4] = {{1, 1083, 1, 4}, {1, 600, 1, 4}, {1, 6, 1, 4}};
		const qparam q[3] = {{0.0790279f, 191}, {0.0314568f, 138}, {0.020052f, 152}};
		concat_case(NN_U8, 3, 4, 1, d, q, (qparam){0.0790279f, 191}, 1, 2);
	}
	/* deeplab and MoveNet: equal quantizations, copies */
	{
		const int32_t d[2][4] = {{1, 5, 5, 16}, {1, 5, 5, 16}};
		const qparam q[2] = {{0.0352094f, 0}, {0.0352094f, 0}};
		concat_case(NN_U8, 2, 4, 3, d, q, q[0], 1, 3);
		concat_case(NN_I8, 2, 4, 3, d, (qparam[]){{1.48163f, -10}, {1.48163f, -10}},
			    (qparam){1.48163f, -10}, 1, 4);
	}
	/* random: uint8 with a mix of equal and other quantizations, int8 equal */
	for (int i = 0; i < 10; i++) {
		nn_dtype t = i % 3 == 2 ? NN_I8 : NN_U8;
		int n = 1 + (int)(ts_rand(&rng) % 4), rank = 1 + (int)(ts_rand(&rng) % 4);
		int axis = (int)(ts_rand(&rng) % (uint32_t)rank);
		qparam qo = rq(&rng, t, 0.01f, 1.0f), q[4];
		int32_t d[4][4];

		for (int k = 0; k < 4; k++)
			d[0][k] = 1 + (int)(ts_rand(&rng) % 5);
		for (int j = 0; j < n; j++) {
			memcpy(d[j], d[0], sizeof(d[0]));
			d[j][axis] = 1 + (int)(ts_rand(&rng) % 6);
			q[j] = (t == NN_I8 || ts_rand(&rng) % 3 == 0) ? qo
								      : rq(&rng, t, qo.s * 0.3f, qo.s * 3.0f);
		}
		concat_case(t, n, rank, axis, (const int32_t(*)[4])d, q, qo, 1, 10 + (uint32_t)i);
	}
}
END_TEST

/* --- pools ------------------------------------------------------------------ */

typedef struct pool_case_t {
	int code;
	nn_dtype t;
	int n, h, w, c;
	int kh, kw, sh, sw, padding, act;
} pool_case_t;

static int32_t out_size(int padding, int in, int k, int s, int *pad)
{
	int out = padding == SAME ? (in + s - 1) / s : (in - k + s) / s;
	int total = (out - 1) * s + k - in;
	*pad = total > 0 ? total / 2 : 0;
	return out;
}

static uint8_t *pool_run(const pool_case_t *pc, qparam q, int threads, uint32_t seed)
{
	uint32_t rng = seed;
	const int32_t din[4] = {pc->n, pc->h, pc->w, pc->c};
	int ph, pw, oh = out_size(pc->padding, pc->h, pc->kh, pc->sh, &ph),
		    ow = out_size(pc->padding, pc->w, pc->kw, pc->sw, &pw);
	const int32_t dout[4] = {pc->n, oh, ow, pc->c};
	size_t ni = count_of(4, din), no = count_of(4, dout);
	uint8_t *in = malloc(ni), *want = malloc(no), *got = malloc(no);
	char what[200];
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int32_t lo, hi;
	int x, y;

	snprintf(what, sizeof(what), "%s %s %dx%dx%dx%d k %dx%d s %dx%d %s act %d threads %d seed %u",
		 pc->code == OP_MAX_POOL_2D ? "MAX_POOL" : "AVG_POOL", nn_dtype_name(pc->t), pc->n, pc->h,
		 pc->w, pc->c, pc->kh, pc->kw, pc->sh, pc->sw, pc->padding == SAME ? "SAME" : "VALID",
		 pc->act, threads, seed);
	fill_bytes(&rng, in, ni);
	x = qt(b, "x", pc->t, 4, din, NULL, 0, q);
	y = qt(b, "y", pc->t, 4, dout, NULL, 0, q);
	tb_opt_i8(&o, 0, (int8_t)pc->padding);
	tb_opt_i32(&o, 1, pc->sw);
	tb_opt_i32(&o, 2, pc->sh);
	tb_opt_i32(&o, 3, pc->kw);
	tb_opt_i32(&o, 4, pc->kh);
	tb_opt_i8(&o, 5, (int8_t)pc->act);
	tb_op(b, pc->code, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_POOL2D, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, what);
	ts_put_input(&m, 0, in, ni);
	ts_invoke_ok(&m, what);
	check_shape(nn_session_output(m.session, 0), 4, dout, what);
	memcpy(got, nn_session_output(m.session, 0)->data, no);

	o_act_range(pc->act, pc->t, q, &lo, &hi);
	for (int bb = 0; bb < pc->n; bb++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int ch = 0; ch < pc->c; ch++) {
					int32_t sum = 0, mx = INT32_MIN, cnt = 0, v;
					for (int ky = 0; ky < pc->kh; ky++)
						for (int kx = 0; kx < pc->kw; kx++) {
							int iy = oy * pc->sh - ph + ky,
							    ix = ox * pc->sw - pw + kx;
							int32_t e;
							if (iy < 0 || iy >= pc->h || ix < 0 || ix >= pc->w)
								continue;
							e = getq(pc->t, in,
								 (((size_t)bb * pc->h + iy) * pc->w + ix) *
									 pc->c +
								     ch);
							sum += e;
							mx = e > mx ? e : mx;
							cnt++;
						}
					if (pc->code == OP_MAX_POOL_2D) {
						v = mx;
					} else {
						v = sum > 0 ? (sum + cnt / 2) / cnt : (sum - cnt / 2) / cnt;
						ck_assert_msg(fabs(v - (double)sum / cnt) <= 0.5,
							      "%s: oracle", what);
					}
					want[(((size_t)bb * oh + oy) * ow + ox) * pc->c + ch] =
					    (uint8_t)clampi(v, lo, hi);
				}
	compare_bytes(got, want, no, pc->t, what);
	ts_model_free(&m);
	free(in);
	free(want);
	return got;
}

START_TEST(test_pools)
{
	uint32_t rng = 31;
	/* the classifiers' global average pools (7x7, and deeplab's 33x33 whose
	 * 1089 elements take TFLite's 32-bit accumulator path) */
	const pool_case_t named[] = {
	    {OP_AVERAGE_POOL_2D, NN_U8, 1, 7, 7, 1024, 7, 7, 2, 2, VALID, ACT_NONE},
	    {OP_AVERAGE_POOL_2D, NN_I8, 1, 7, 7, 1280, 7, 7, 1, 1, VALID, ACT_NONE},
	    {OP_AVERAGE_POOL_2D, NN_U8, 1, 33, 33, 20, 33, 33, 33, 33, VALID, ACT_NONE},
	    {OP_MAX_POOL_2D, NN_I8, 2, 9, 8, 5, 3, 3, 2, 2, SAME, ACT_RELU6},
	};

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		free(pool_run(&named[i],
			      named[i].t == NN_U8 ? (qparam){0.0235294f, 0} : (qparam){0.02f, -128}, 1,
			      1 + (uint32_t)i));
	for (int i = 0; i < 24; i++) {
		pool_case_t pc;
		qparam q;

		pc.code = i % 2 ? OP_MAX_POOL_2D : OP_AVERAGE_POOL_2D;
		pc.t = (i / 2) % 2 ? NN_I8 : NN_U8;
		pc.n = 1 + (int)(ts_rand(&rng) % 2);
		pc.h = 1 + (int)(ts_rand(&rng) % 9);
		pc.w = 1 + (int)(ts_rand(&rng) % 9);
		pc.c = 1 + (int)(ts_rand(&rng) % 20);
		pc.kh = 1 + (int)(ts_rand(&rng) % 4);
		pc.kw = 1 + (int)(ts_rand(&rng) % 4);
		pc.sh = 1 + (int)(ts_rand(&rng) % 3);
		pc.sw = 1 + (int)(ts_rand(&rng) % 3);
		pc.padding = ts_rand(&rng) % 2 ? VALID : SAME;
		pc.act = (i / 4) % 4;
		if (pc.padding == VALID && (pc.kh > pc.h || pc.kw > pc.w))
			pc.padding = SAME;
		q = rq(&rng, pc.t, 0.01f, 0.5f);
		free(pool_run(&pc, q, 1, 100 + (uint32_t)i));
	}
}
END_TEST

START_TEST(test_pools_threads)
{
	const pool_case_t cases[] = {
	    {OP_AVERAGE_POOL_2D, NN_U8, 2, 40, 40, 32, 3, 3, 1, 1, SAME, ACT_RELU},
	    {OP_MAX_POOL_2D, NN_I8, 2, 40, 40, 32, 3, 3, 2, 2, SAME, ACT_NONE},
	    {OP_AVERAGE_POOL_2D, NN_I8, 1, 30, 30, 64, 5, 5, 1, 1, VALID, ACT_RELU_N1_TO_1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const qparam q = {0.05f, cases[i].t == NN_U8 ? 128 : 0};
		const pool_case_t *pc = &cases[i];
		int ph, pw;
		size_t no = (size_t)pc->n * out_size(pc->padding, pc->h, pc->kh, pc->sh, &ph) *
			    out_size(pc->padding, pc->w, pc->kw, pc->sw, &pw) * pc->c;
		uint8_t *one = pool_run(pc, q, 1, 5), *four = pool_run(pc, q, 4, 5);

		ck_assert(memcmp(one, four, no) == 0);
		free(one);
		free(four);
	}
}
END_TEST

/* --- refusals ------------------------------------------------------------- */

/* A binary model with explicit quantizations (qa/qb/qo NULL: none). */
static tb_model *qbinary_model(int code, nn_dtype t, const tb_quant *qa, const tb_quant *qb,
			       const tb_quant *qo, int act)
{
	const int32_t d[2] = {2, 3};
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "a", t, 2, d, NULL, 0, qa);
	int y = tb_tensor(b, "b", t, 2, d, NULL, 0, qb);
	int z = tb_tensor(b, "out", t, 2, d, NULL, 0, qo);

	tb_opt_i8(&o, 0, (int8_t)act);
	tb_op(b, code, NULL, 1, (int[]){x, y}, 2, (int[]){z}, 1, op_opts(code), &o);
	tb_io(b, 2, (int[]){x, y}, 1, (int[]){z});
	return b;
}

static tb_model *qunary_model(int code, nn_dtype t, qparam qi, qparam qo)
{
	tb_model *b = tb_new();
	int x = qt(b, "x", t, 2, (int32_t[]){2, 3}, NULL, 0, qi);
	int y = qt(b, "y", t, 2, (int32_t[]){2, 3}, NULL, 0, qo);

	tb_op(b, code, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static tb_model *qpool_model(int code, nn_dtype t, qparam qi, qparam qo, int act)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = qt(b, "x", t, 4, (int32_t[]){1, 4, 4, 3}, NULL, 0, qi);
	int y = qt(b, "y", t, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, qo);

	tb_opt_i8(&o, 0, VALID);
	tb_opt_i32(&o, 1, 2);
	tb_opt_i32(&o, 2, 2);
	tb_opt_i32(&o, 3, 2);
	tb_opt_i32(&o, 4, 2);
	tb_opt_i8(&o, 5, (int8_t)act);
	tb_op(b, code, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_POOL2D, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static tb_model *qconcat_model(nn_dtype t, qparam q0, qparam q1, qparam qo)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = qt(b, "x0", t, 2, (int32_t[]){2, 3}, NULL, 0, q0);
	int w = qt(b, "x1", t, 2, (int32_t[]){2, 3}, NULL, 0, q1);
	int y = qt(b, "y", t, 2, (int32_t[]){4, 3}, NULL, 0, qo);

	tb_opt_i32(&o, 0, 0);
	tb_op(b, OP_CONCATENATION, NULL, 1, (int[]){x, w}, 2, (int[]){y}, 1, OPTS_CONCATENATION, &o);
	tb_io(b, 2, (int[]){x, w}, 1, (int[]){y});
	return b;
}

START_TEST(test_refusals)
{
	const float s1 = 0.5f, s0 = 0.0f, sneg = -0.25f, snan = NAN, s3[3] = {0.5f, 0.25f, 0.125f};
	const int64_t z0 = 0, z300 = 300, z200 = 200, zm129 = -129, z3[3] = {0, 0, 0};
	const tb_quant ok = {1, &s1, &z0, 0}, zero_scale = {1, &s0, &z0, 0}, neg_scale = {1, &sneg, &z0, 0},
		       nan_scale = {1, &snan, &z0, 0}, zp300 = {1, &s1, &z300, 0}, zp200 = {1, &s1, &z200, 0},
		       zpm129 = {1, &s1, &zm129, 0}, per_axis = {3, s3, z3, 1};
	const qparam u = {0.1f, 10}, lo_u8 = {1.0f / 256, 0}, lo_i8 = {1.0f / 256, -128};

	/* invalid quantization, per qm_check_quant */
	ts_tb_expect_refused(qbinary_model(OP_ADD, NN_U8, NULL, &ok, &ok, 0),
		       "input 0 'a' (uint8) has no quantization", "add without quantization");
	ts_tb_expect_refused(qbinary_model(OP_ADD, NN_U8, &ok, &zero_scale, &ok, 0), "scale 0 is 0 (must be > 0)",
		       "add zero scale");
	ts_tb_expect_refused(qbinary_model(OP_SUB, NN_I8, &ok, &ok, &neg_scale, 0), "scale 0 is -0.25",
		       "sub negative");
	ts_tb_expect_refused(qbinary_model(OP_MUL, NN_I8, &nan_scale, &ok, &ok, 0), "scale 0 is not finite",
		       "mul nan scale (the reader refuses it)");
	ts_tb_expect_refused(qbinary_model(OP_ADD, NN_U8, &ok, &zp300, &ok, 0), "zero point 300 outside [0, 255]",
		       "add uint8 zero point 300");
	ts_tb_expect_refused(qbinary_model(OP_MUL, NN_I8, &ok, &ok, &zp200, 0),
		       "zero point 200 outside [-128, 127]", "mul int8 zero point 200");
	ts_tb_expect_refused(qbinary_model(OP_SUB, NN_I8, &zpm129, &ok, &ok, 0), "zero point -129",
		       "sub zero point");
	ts_tb_expect_refused(qbinary_model(OP_ADD, NN_I8, &ok, &per_axis, &ok, 0), "per axis (3 scales)",
		       "add per-axis");
	ts_tb_expect_refused(qbinary_model(OP_ADD, NN_U8, &ok, &ok, &ok, ACT_TANH), "fused activation 4",
		       "add tanh activation");
	ts_tb_expect_refused(qbinary_model(OP_MUL, NN_U8, &ok, &ok, &ok, ACT_TANH), "fused activation 4",
		       "mul tanh activation");
	{
		/* an output scale so small that ADD's output multiplier reaches 1 */
		const float tiny = 1e-7f;
		const tb_quant qtiny = {1, &tiny, &z0, 0};
		ts_tb_expect_refused(qbinary_model(OP_ADD, NN_U8, &ok, &ok, &qtiny, 0), "must be below 1",
			       "add tiny output scale");
	}

	/* LOGISTIC and SOFTMAX need output scale 1/256 and zero point 0 / -128 */
	ts_tb_expect_refused(qunary_model(OP_LOGISTIC, NN_U8, u, (qparam){1.0f / 128, 0}),
		       "output must have scale 1/256 and zero point 0", "logistic uint8 scale");
	ts_tb_expect_refused(qunary_model(OP_LOGISTIC, NN_U8, u, (qparam){1.0f / 256, 3}),
		       "output must have scale 1/256 and zero point 0", "logistic uint8 zero point");
	ts_tb_expect_refused(qunary_model(OP_LOGISTIC, NN_I8, u, lo_u8), "zero point -128",
		       "logistic int8 zero point");
	ts_tb_expect_refused(qunary_model(OP_SOFTMAX, NN_U8, u, (qparam){0.004f, 0}),
		       "output must have scale 1/256 and zero point 0", "softmax uint8 scale");
	ts_tb_expect_refused(qunary_model(OP_SOFTMAX, NN_I8, u, lo_u8), "zero point -128",
		       "softmax int8 zero point");
	ts_tb_expect_refused(qunary_model(OP_SOFTMAX, NN_U8, (qparam){0.0f, 0}, lo_u8), "must be > 0",
		       "softmax input scale 0");
	ts_tb_expect_refused(qunary_model(OP_LOGISTIC, NN_I8, (qparam){0.1f, 128}, lo_i8), "zero point 128 outside",
		       "logistic input zero point");

	/* CONCATENATION: int8 needs equal quantizations; invalid ones refused */
	ts_tb_expect_refused(qconcat_model(NN_I8, (qparam){0.5f, 1}, (qparam){0.25f, 1}, (qparam){0.5f, 1}),
		       "int8 input 1 has scale 0.25", "concat int8 scales");
	ts_tb_expect_refused(qconcat_model(NN_I8, (qparam){0.5f, 1}, (qparam){0.5f, 1}, (qparam){0.5f, 2}),
		       "int8 input 0 has scale 0.5 and zero point 1", "concat int8 zero points");
	ts_tb_expect_refused(qconcat_model(NN_U8, (qparam){0.5f, 1}, (qparam){-1.0f, 1}, (qparam){0.5f, 1}),
		       "input 1 'x1': quantization scale 0 is -1", "concat uint8 negative scale");

	/* pools: input and output share a quantization; activations */
	ts_tb_expect_refused(qpool_model(OP_AVERAGE_POOL_2D, NN_U8, u, (qparam){0.2f, 10}, 0),
		       "must share their quantization", "avg pool scales");
	ts_tb_expect_refused(qpool_model(OP_MAX_POOL_2D, NN_I8, u, (qparam){0.1f, 11}, 0),
		       "must share their quantization", "max pool zero points");
	ts_tb_expect_refused(qpool_model(OP_MAX_POOL_2D, NN_U8, u, u, ACT_TANH), "fused activation 4",
		       "max pool tanh");
	ts_tb_expect_refused(qpool_model(OP_AVERAGE_POOL_2D, NN_I8, (qparam){0.1f, 300}, (qparam){0.1f, 300}, 0),
		       "zero point 300 outside [-128, 127]", "avg pool zero point");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_elementwise_int");
	TCase *tc = tcase_create("elementwise_int");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_binary_model_shapes);
	tcase_add_loop_test(tc, test_binary_random, 0, 4);
	tcase_add_test(tc, test_binary_threads);
	tcase_add_test(tc, test_qadd_avx2_matches_reference);
	tcase_add_test(tc, test_qmul_avx2_matches_reference);
	tcase_add_test(tc, test_logistic);
	tcase_add_test(tc, test_softmax);
	tcase_add_test(tc, test_concatenation);
	tcase_add_test(tc, test_pools);
	tcase_add_test(tc, test_pools_threads);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
