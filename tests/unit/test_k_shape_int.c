/* test_k_shape_int.c - the integer paths of RESIZE_BILINEAR and MEAN, and
 * QUANTIZE, ARG_MAX, CAST, GATHER_ND, PACK, UNPACK, FLOOR_DIV.
 *
 * Every case is a small model written with tflite_builder and run through
 * the reader, graph and session.  Oracles are written here from TFLite's
 * formulas (its optimized kernels, the oracle of the goldens), one element
 * at a time, and compared byte for byte:
 *   - requantization: gemmlowp's double rounding written from its
 *     definition - SaturatingRoundingDoublingHighMul as
 *     floor((a * b + 2^30) / 2^31), RoundingDivideByPOT as round half away
 *     from zero - and QuantizeMultiplier from frexp;
 *   - QUANTIZE from float: round(double(x) / double(scale)) half away from
 *     zero, plus the zero point, clamped;
 *   - MEAN: the spatial kernel's float-computed multiplier and rounded
 *     zero-point term, C truncation for equal quantization, and the float
 *     rescale otherwise;
 *   - RESIZE_BILINEAR uint8: the float weight products summed left to right
 *     + 0.5 and truncated; int8: 10-bit coordinates and weights, sum rounded
 *     half away from zero by a truncating division.  An exact 8x half-pixel
 *     uint8 upsample is also checked against exact integer arithmetic
 *     (TFLite's fixed-point kernel for that case rounds the exact value);
 *   - ARG_MAX, CAST, GATHER_ND, PACK, UNPACK, FLOOR_DIV by definition.
 * The same formulas were checked against TFLite's interpreter itself
 * while writing the kernels, and the golden models that use these ops
 * (deeplabv3_mnv2_pascal_quant, movenet, posenet, tf2_mobilenet_v2_ptq)
 * reproduce byte for byte.  Tests that need LITESERVE_FORCE_REFERENCE set
 * it in their forked child before the engine first reads it (skipped,
 * loudly, with CK_FORK=no).  Refusals check the message with strstr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite_builder.h"

/* BuiltinOperator codes */
enum {
	OP_RESIZE_BILINEAR = 23,
	OP_MEAN = 40,
	OP_CAST = 53,
	OP_ARG_MAX = 56,
	OP_PACK = 83,
	OP_UNPACK = 88,
	OP_FLOOR_DIV = 90,
	OP_GATHER_ND = 107,
	OP_QUANTIZE = 114,
};
/* BuiltinOptions union indices */
enum {
	OPTS_RESIZE_BILINEAR = 15,
	OPTS_REDUCER = 27,
	OPTS_CAST = 37,
	OPTS_ARG_MAX = 40,
	OPTS_PACK = 59,
	OPTS_UNPACK = 64,
};

extern const nn_kernel nn_k_quantize, nn_k_arg_max, nn_k_cast, nn_k_gather_nd, nn_k_pack, nn_k_unpack,
    nn_k_floor_div;

START_TEST(test_registry)
{
	ck_assert_ptr_eq(nn_kernel_builtin(OP_QUANTIZE), &nn_k_quantize);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_ARG_MAX), &nn_k_arg_max);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_CAST), &nn_k_cast);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_GATHER_ND), &nn_k_gather_nd);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_PACK), &nn_k_pack);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_UNPACK), &nn_k_unpack);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_FLOOR_DIV), &nn_k_floor_div);
}
END_TEST

/* --- helpers ------------------------------------------------------------ */

static bool forked(void)
{
	const char *f = getenv("CK_FORK");
	return !(f && strcmp(f, "no") == 0);
}

static size_t count_of(int rank, const int32_t *dims)
{
	size_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= (size_t)dims[i];
	return n;
}

static void fill_bytes(uint32_t *rng, void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = (uint8_t)ts_rand(rng);
}

static int32_t rand_zp(uint32_t *rng, nn_dtype t)
{
	int32_t z = (int32_t)(ts_rand(rng) % 256);
	return t == NN_U8 ? z : z - 128;
}

static int32_t qmin_of(nn_dtype t)
{
	return t == NN_U8 ? 0 : -128;
}

static int32_t qmax_of(nn_dtype t)
{
	return t == NN_U8 ? 255 : 127;
}

static int32_t q_at(nn_dtype t, const void *p, size_t i)
{
	return t == NN_U8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

static const char *impl_of(const ts_model *m, int node)
{
	return m->graph->nodes[node].impl ? m->graph->nodes[node].impl : "";
}

/* --- gemmlowp arithmetic, from its definitions ---------------------------- */

static void t_quantize_multiplier(double real, int32_t *q, int *shift)
{
	int64_t qf;

	if (real == 0.0) {
		*q = 0;
		*shift = 0;
		return;
	}
	qf = llround(frexp(real, shift) * 2147483648.0);
	if (qf == 2147483648LL) {
		qf /= 2;
		++*shift;
	}
	if (*shift < -31) {
		*shift = 0;
		qf = 0;
	}
	*q = (int32_t)qf;
}

/* a * b * 2 / 2^32 rounded to nearest, ties up; saturates INT32_MIN^2. */
static int32_t t_srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	return (int32_t)(((int64_t)a * b + (1LL << 30)) >> 31);
}

/* x / 2^e rounded to nearest, ties away from zero. */
static int32_t t_rdbpot(int32_t x, int e)
{
	int64_t d = 1LL << e;
	if (e == 0)
		return x;
	return x >= 0 ? (int32_t)(((int64_t)x + d / 2) / d) : -(int32_t)((-(int64_t)x + d / 2) / d);
}

static int32_t t_mbqm(int32_t x, int32_t q, int shift)
{
	int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
	return t_rdbpot(t_srdhm((int32_t)((uint32_t)x << left), q), right);
}

static int32_t t_clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/* --- QUANTIZE ------------------------------------------------------------ */

static tb_model *quantize_model(nn_dtype it, const tb_quant *qi, nn_dtype ot, const tb_quant *qo, int rank,
				const int32_t *dims)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "x", it, rank, dims, NULL, 0, qi);
	int y = tb_tensor(b, "y", ot, rank, dims, NULL, 0, qo);

	tb_op(b, OP_QUANTIZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static int32_t want_from_float(float x, float scale, int32_t zp, nn_dtype t)
{
	double r = round((double)x / (double)scale);
	if (r != r)
		r = 0;
	if (r > 1e9)
		r = 1e9;
	if (r < -1e9)
		r = -1e9;
	return t_clamp((int32_t)r + zp, qmin_of(t), qmax_of(t));
}

static void quantize_float_run(nn_dtype ot, float scale, int32_t zp, int n, int threads, uint32_t seed)
{
	int64_t z64 = zp;
	tb_quant qo = {1, &scale, &z64, 0};
	float *in = malloc(sizeof(float) * (size_t)n);
	const uint8_t *got;
	char desc[128];
	ts_model m;

	snprintf(desc, sizeof(desc), "quantize float -> %s scale %g zp %d n %d", nn_dtype_name(ot), scale, zp,
		 n);
	for (int i = 0; i < n; i++) {
		switch (i % 4) {
		case 0: /* values near .5 of the scale: the double division decides */
			in[i] = (float)(((int)(ts_rand(&seed) % 301) - 150) + 0.5) * scale;
			break;
		case 1:
			in[i] = ts_randf(&seed, -300.0f, 300.0f) * scale;
			break;
		default:
			in[i] = ts_randf(&seed, -130.0f, 130.0f) * scale;
		}
	}
	if (n > 8) {
		in[0] = NAN;
		in[1] = INFINITY;
		in[2] = -INFINITY;
		in[3] = 1e30f;
		in[4] = -0.0f;
	}
	ts_tb_load_ok(&m, quantize_model(NN_F32, NULL, ot, &qo, 2, (int32_t[]){1, n}), threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, sizeof(float) * (size_t)n);
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (int i = 0; i < n; i++) {
		int32_t want = want_from_float(in[i], scale, zp, ot);
		ck_assert_msg(q_at(ot, got, (size_t)i) == want, "%s: element %d (%.9g) is %d, want %d", desc,
			      i, in[i], q_at(ot, got, (size_t)i), want);
	}
	ts_model_free(&m);
	free(in);
}

START_TEST(test_quantize_from_float)
{
	uint32_t seed = 11;

	quantize_float_run(NN_I8, 1.0f, -128, 1000, 1, seed++); /* MoveNet's input */
	quantize_float_run(NN_I8, 0.0235294122f, 3, 999, 1, seed++);
	quantize_float_run(NN_U8, 0.0123f, 130, 77, 1, seed++);
	quantize_float_run(NN_I8, 0.101960786f, -128, 5, 1, seed++);
	quantize_float_run(NN_U8, 0.5f, 0, 200000, 2, seed++); /* several tasks */
	quantize_float_run(NN_I8, 3e-5f, 127, 1000, 1, seed++);
}
END_TEST

/* Requantizes every 8-bit value (x 300 copies) and checks each against
 * the formula; returns the impl the kernel chose. */
static void requant_run(nn_dtype it, float is, int32_t iz, nn_dtype ot, float os, int32_t oz, int threads,
			const char *want_impl)
{
	int64_t iz64 = iz, oz64 = oz;
	tb_quant qi = {1, &is, &iz64, 0}, qo = {1, &os, &oz64, 0};
	const int n = 256 * 300;
	uint8_t *in = malloc((size_t)n);
	const uint8_t *got;
	int32_t q;
	int shift;
	char desc[160];
	ts_model m;

	snprintf(desc, sizeof(desc), "requantize %s(%g, %d) -> %s(%g, %d)", nn_dtype_name(it), is, iz,
		 nn_dtype_name(ot), os, oz);
	t_quantize_multiplier((double)is / (double)os, &q, &shift);
	for (int i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 7);
	ts_tb_load_ok(&m, quantize_model(it, &qi, ot, &qo, 3, (int32_t[]){2, 150, 256}), threads, desc);
	if (want_impl)
		ck_assert_msg(strcmp(impl_of(&m, 0), want_impl) == 0, "%s: chose %s, want %s", desc,
			      impl_of(&m, 0), want_impl);
	memcpy(nn_session_input(m.session, 0)->data, in, (size_t)n);
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (int i = 0; i < n; i++) {
		int32_t x = q_at(it, in, (size_t)i);
		int32_t want = t_clamp(t_mbqm(x - iz, q, shift) + oz, qmin_of(ot), qmax_of(ot));
		ck_assert_msg(q_at(ot, got, (size_t)i) == want, "%s: %d -> %d, want %d", desc, x,
			      q_at(ot, got, (size_t)i), want);
	}
	ts_model_free(&m);
	free(in);
}

static void requant_all(const char *flip_impl, const char *lut_impl)
{
	/* the uint8 <-> int8 switches at the edges of int8 models */
	requant_run(NN_U8, 0.00784313772f, 127, NN_I8, 0.00784313772f, -1, 1, flip_impl);
	requant_run(NN_I8, 0.00390625f, -128, NN_U8, 0.00390625f, 0, 2, flip_impl);
	/* rescaling (MoveNet's sigmoid re-quantization, DeepLab's uint8 one) */
	requant_run(NN_I8, 0.00390625f, -128, NN_I8, 0.00409685401f, -128, 1, lut_impl);
	requant_run(NN_U8, 0.0124224406f, 0, NN_U8, 0.0352093689f, 0, 2, lut_impl);
	requant_run(NN_U8, 0.3f, 17, NN_I8, 0.07f, 5, 1, lut_impl);
	requant_run(NN_I8, 0.07f, -5, NN_U8, 0.3f, 200, 1, lut_impl);
	requant_run(NN_I8, 0.5f, 0, NN_I8, 0.5f, 3, 1, lut_impl);     /* offset only */
	requant_run(NN_U8, 0.5f, 100, NN_I8, 0.5f, 3, 1, lut_impl);   /* same scale, not 128 apart */
	requant_run(NN_I8, 0.01f, 0, NN_I8, 1000.0f, 0, 1, lut_impl); /* tiny multiplier */
	requant_run(NN_I8, 1000.0f, 2, NN_U8, 1.0f, 9, 1, lut_impl);  /* left shift */
}

START_TEST(test_quantize_requantize)
{
	requant_all(forked() ? "xor" : NULL, forked() ? "lut" : NULL);
}
END_TEST

START_TEST(test_quantize_reference)
{
	if (!forked()) {
		fprintf(stderr, "\n*** SKIP: CK_FORK=no, cannot test LITESERVE_FORCE_REFERENCE ***\n\n");
		return;
	}
	setenv("LITESERVE_FORCE_REFERENCE", "1", 1);
	requant_all("ref", "ref");
}
END_TEST

START_TEST(test_quantize_refusals)
{
	float s = 0.5f, bad_s = 0.0f, s2[2] = {0.5f, 0.25f};
	int64_t z = 0, bad_z = 200, z2[2] = {0, 0};
	tb_quant q = {1, &s, &z, 0}, qbs = {1, &bad_s, &z, 0}, qbz = {1, &s, &bad_z, 0}, q2 = {2, s2, z2, 1};
	int32_t d[2] = {1, 2};

	ts_tb_expect_refused(quantize_model(NN_F32, NULL, NN_I16, &q, 2, d), "output type int16 is not supported",
		       "int16 output");
	ts_tb_expect_refused(quantize_model(NN_I32, &q, NN_I8, &q, 2, d), "input type int32 is not supported",
		       "int32 input");
	ts_tb_expect_refused(quantize_model(NN_F32, NULL, NN_I8, NULL, 2, d), "no quantization parameters",
		       "output without quantization");
	ts_tb_expect_refused(quantize_model(NN_U8, NULL, NN_I8, &q, 2, d), "no quantization parameters",
		       "input without quantization");
	ts_tb_expect_refused(quantize_model(NN_F32, NULL, NN_I8, &qbs, 2, d), "scale 0 is 0", "zero scale");
	ts_tb_expect_refused(quantize_model(NN_F32, NULL, NN_I8, &qbz, 2, d), "zero point 200 outside",
		       "zero point");
	ts_tb_expect_refused(quantize_model(NN_F32, NULL, NN_I8, &q2, 2, d), "per-axis", "per-axis output");
	{
		float big = 1e6f;
		tb_quant qb = {1, &big, &z, 0};
		ts_tb_expect_refused(quantize_model(NN_I8, &qb, NN_I8, &q, 2, d), "out of range", "ratio 2e6");
	}
}
END_TEST

/* --- MEAN, uint8/int8 ---------------------------------------------------- */

typedef struct mq_case {
	nn_dtype t;
	int32_t dims[4];
	int32_t axes[4];
	int n_axes;
	bool keep;
	float is, os;
	int32_t iz, oz;
	int threads;
} mq_case;

/* TFLite's uint8/int8 MEAN for one output, from the sum of its n raw
 * quantized inputs (see the header for which branch applies when). */
static int32_t mean_q_want(const mq_case *k, bool spatial, int32_t sum, int32_t n)
{
	int32_t lo = qmin_of(k->t), hi = qmax_of(k->t);

	if (spatial) {
		float real = k->is / ((float)n * k->os);
		float t = (float)k->iz * k->is / k->os;
		int32_t bias, q;
		int shift;
		t = t > 0 ? t + 0.5f : t - 0.5f;
		bias = k->oz - (int32_t)t;
		t_quantize_multiplier((double)real, &q, &shift);
		return t_clamp(t_mbqm(sum, q, shift) + bias, lo, hi);
	}
	if (k->is == k->os && k->iz == k->oz)
		return sum / n;
	{
		float scale = k->is / k->os, bias = -(float)k->iz * scale;
		float r = roundf((float)sum / (float)n * scale + bias) + (float)k->oz;
		r = r < (float)hi ? r : (float)hi;
		r = r > (float)lo ? r : (float)lo;
		return (int32_t)r;
	}
}

static void mean_q_run(const mq_case *k, uint32_t seed)
{
	int64_t iz = k->iz, oz = k->oz;
	tb_quant qi = {1, &k->is, &iz, 0}, qo = {1, &k->os, &oz, 0};
	bool red[4] = {false}, spatial;
	int32_t od[4], n = 1;
	int orank = 0;
	size_t ni = count_of(4, k->dims), no;
	uint8_t *in = malloc(ni);
	int32_t *sum;
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	char desc[200];
	int x, a, y;
	const uint8_t *got;

	snprintf(desc, sizeof(desc), "mean %s [%d,%d,%d,%d] axes %d,%d (%d) keep %d in (%g,%d) out (%g,%d)",
		 nn_dtype_name(k->t), k->dims[0], k->dims[1], k->dims[2], k->dims[3], k->axes[0], k->axes[1],
		 k->n_axes, k->keep, k->is, k->iz, k->os, k->oz);
	spatial = k->keep && k->n_axes == 2 &&
		  ((k->axes[0] == 1 && k->axes[1] == 2) || (k->axes[0] == 2 && k->axes[1] == 1));
	for (int i = 0; i < k->n_axes; i++)
		red[k->axes[i] < 0 ? k->axes[i] + 4 : k->axes[i]] = true;
	for (int d = 0; d < 4; d++) {
		if (red[d])
			n *= k->dims[d];
		if (!red[d])
			od[orank++] = k->dims[d];
		else if (k->keep)
			od[orank++] = 1;
	}
	no = count_of(orank, od);
	sum = calloc(no, sizeof(int32_t));
	fill_bytes(&seed, in, ni);
	for (size_t i = 0; i < ni; i++) {
		size_t rem = i, oi = 0, ostride = 1;
		for (int d = 3; d >= 0; d--) {
			size_t cd = rem % (size_t)k->dims[d];
			rem /= (size_t)k->dims[d];
			if (!red[d]) {
				oi += cd * ostride;
				ostride *= (size_t)k->dims[d];
			}
		}
		sum[oi] += q_at(k->t, in, i);
	}
	x = tb_tensor(b, "x", k->t, 4, k->dims, NULL, 0, &qi);
	a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){k->n_axes}, k->axes,
		      sizeof(int32_t) * (size_t)k->n_axes, NULL);
	y = tb_tensor(b, "y", k->t, orank, od, NULL, 0, &qo);
	tb_opt_i8(&o, 0, k->keep);
	tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, OPTS_REDUCER, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, k->threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, ni);
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (size_t i = 0; i < no; i++) {
		int32_t want = mean_q_want(k, spatial, sum[i], n);
		ck_assert_msg(q_at(k->t, got, i) == want, "%s: output %zu (sum %d of %d) is %d, want %d",
			      desc, i, sum[i], n, q_at(k->t, got, i), want);
	}
	ts_model_free(&m);
	free(sum);
	free(in);
}

START_TEST(test_mean_int)
{
	uint32_t seed = 700;
	/* tf2 MobileNet v2's global pool: the zero-point term is -157.87, which
	 * TFLite rounds to -158 (truncating would give -157 and shift every
	 * output by one) */
	mq_case tf2 = {NN_I8, {1, 7, 7, 1280}, {1, 2}, 2, true, 0.0235294122f, 0.0190778319f, -128, -128, 1};
	mean_q_run(&tf2, seed++);
	{
		float t = -128.0f * 0.0235294122f / 0.0190778319f;
		ck_assert_int_eq(-128 - (int32_t)(t - 0.5f), 30);
	}
	tf2.threads = 2;
	tf2.axes[0] = 2;
	tf2.axes[1] = 1;
	mean_q_run(&tf2, seed++);

	for (int i = 0; i < 40; i++) {
		mq_case k;
		memset(&k, 0, sizeof(k));
		k.t = i % 2 ? NN_U8 : NN_I8;
		k.dims[0] = 1 + (int32_t)(ts_rand(&seed) % 2);
		k.dims[1] = 1 + (int32_t)(ts_rand(&seed) % 9);
		k.dims[2] = 1 + (int32_t)(ts_rand(&seed) % 9);
		k.dims[3] = 1 + (int32_t)(ts_rand(&seed) % 150);
		k.is = ts_randf(&seed, 0.005f, 0.3f);
		k.os = ts_randf(&seed, 0.005f, 0.3f);
		k.iz = rand_zp(&seed, k.t);
		k.oz = rand_zp(&seed, k.t);
		k.threads = 1 + i % 2;
		switch (i % 8) {
		case 0: /* spatial */
		case 1:
			k.n_axes = 2, k.axes[0] = 1, k.axes[1] = 2, k.keep = true;
			break;
		case 2: /* no keep_dims: the general float rescale */
			k.n_axes = 2, k.axes[0] = 1, k.axes[1] = 2, k.keep = false;
			break;
		case 3: /* negative axes are not the spatial kernel's */
			k.n_axes = 2, k.axes[0] = -3, k.axes[1] = -2, k.keep = true;
			break;
		case 4:
			k.n_axes = 1, k.axes[0] = 3, k.keep = i % 3 == 0;
			break;
		case 5: /* two separate blocks: the general walk */
			k.n_axes = 2, k.axes[0] = 0, k.axes[1] = 2, k.keep = true;
			break;
		case 6: /* equal quantization: truncating division */
			k.n_axes = 2, k.axes[0] = 1, k.axes[1] = 2, k.keep = false;
			k.os = k.is, k.oz = k.iz;
			break;
		default:
			k.n_axes = 3, k.axes[0] = 0, k.axes[1] = 1, k.axes[2] = 3, k.keep = false;
			k.os = k.is, k.oz = k.iz;
			break;
		}
		mean_q_run(&k, seed++);
	}
}
END_TEST

START_TEST(test_mean_int_refusals)
{
	float s = 0.5f, s2[2] = {0.5f, 0.5f}, tiny = 1e-12f;
	int64_t z = 0, z2[2] = {0, 0};
	tb_quant q = {1, &s, &z, 0}, qa = {2, s2, z2, 3}, qt = {1, &tiny, &z, 0};
	const tb_quant *pairs[][2] = {{&qa, &q}, {&q, &qt}};
	const char *needles[] = {"per-axis", "out of range"};

	for (int i = 0; i < 2; i++) {
		tb_model *b = tb_new();
		tb_opts o = {0};
		int x = tb_tensor(b, "x", NN_I8, 4, (int32_t[]){1, 3, 3, 2}, NULL, 0, pairs[i][0]);
		int a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){2}, (int32_t[]){1, 2}, 8, NULL);
		int y = tb_tensor(b, "y", NN_I8, 0, NULL, NULL, 0, pairs[i][1]);
		tb_opt_i8(&o, 0, 1);
		tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, OPTS_REDUCER, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_expect_refused(b, needles[i], needles[i]);
	}
}
END_TEST

/* --- RESIZE_BILINEAR, uint8/int8 ------------------------------------------ */

typedef struct rq_case {
	nn_dtype t;
	int n, ih, iw, c, oh, ow;
	bool align, half;
	int threads;
} rq_case;

static tb_model *resize_q_model(const rq_case *k, float s_in, int64_t z_in, float s_out, int64_t z_out)
{
	tb_model *b = tb_new();
	tb_quant qi = {1, &s_in, &z_in, 0}, qo = {1, &s_out, &z_out, 0};
	tb_opts o = {0};
	int32_t size[2] = {k->oh, k->ow};
	int x = tb_tensor(b, "x", k->t, 4, (int32_t[]){k->n, k->ih, k->iw, k->c}, NULL, 0, &qi);
	int s = tb_tensor(b, "size", NN_I32, 1, (int32_t[]){2}, size, sizeof(size), NULL);
	int y = tb_tensor(b, "y", k->t, 4, (int32_t[]){k->n, k->oh, k->ow, k->c}, NULL, 0, &qo);

	tb_opt_i8(&o, 2, k->align);
	tb_opt_i8(&o, 3, k->half);
	tb_op(b, OP_RESIZE_BILINEAR, NULL, 3, (int[]){x, s}, 2, (int[]){y}, 1, OPTS_RESIZE_BILINEAR, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

/* uint8: TFLite's ResizeBilinearGenericSmallChannel for one element. */
static int32_t bilinear_u8_want(const rq_case *k, const uint8_t *in, int b, int y, int x, int c)
{
	float sy = (float)k->ih / (float)k->oh, sx = (float)k->iw / (float)k->ow, fy, fx, dy, dx;
	int y0, y1, x0, x1;

	if (k->align && k->oh > 1)
		sy = (float)(k->ih - 1) / (float)(k->oh - 1);
	if (k->align && k->ow > 1)
		sx = (float)(k->iw - 1) / (float)(k->ow - 1);
	fy = k->half ? ((float)y + 0.5f) * sy - 0.5f : (float)y * sy;
	fx = k->half ? ((float)x + 0.5f) * sx - 0.5f : (float)x * sx;
	y0 = (int)floorf(fy) < 0 ? 0 : (int)floorf(fy);
	x0 = (int)floorf(fx) < 0 ? 0 : (int)floorf(fx);
	y1 = (int)ceilf(fy) > k->ih - 1 ? k->ih - 1 : (int)ceilf(fy);
	x1 = (int)ceilf(fx) > k->iw - 1 ? k->iw - 1 : (int)ceilf(fx);
	dy = fy - (float)y0;
	dx = fx - (float)x0;
#define AT(yy, xx) in[(((size_t)b * k->ih + (yy)) * k->iw + (xx)) * k->c + c]
	{
		float w00 = (1 - dy) * (1 - dx), w01 = (1 - dy) * dx, w10 = dy * (1 - dx), w11 = dy * dx;
		float v = (float)AT(y0, x0) * w00 + (float)AT(y0, x1) * w01 + (float)AT(y1, x0) * w10 +
			  (float)AT(y1, x1) * w11 + 0.5f;
		return (int32_t)(uint8_t)v;
	}
#undef AT
}

static void bilinear_axis10(int i, int in, int out, bool align, bool half, int32_t *lo, int32_t *hi,
			    int32_t *frac)
{
	int32_t s = ((1 << 10) * in + out / 2) / out, v;
	if (align && out > 1)
		s = ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1);
	v = half ? i * s + s / 2 - (1 << 9) : i * s;
	*lo = v / (1 << 10) > 0 ? v / (1 << 10) : 0;
	*hi = (v + (1 << 10) - 1) / (1 << 10) < in - 1 ? (v + (1 << 10) - 1) / (1 << 10) : in - 1;
	*frac = v - (1 << 10) * *lo;
}

/* int8: TFLite's ResizeBilinearInteger for one element. */
static int32_t bilinear_i8_want(const rq_case *k, const int8_t *in, int b, int y, int x, int c)
{
	int32_t y0, y1, fy, x0, x1, fx;
	int64_t s;

	bilinear_axis10(y, k->ih, k->oh, k->align, k->half, &y0, &y1, &fy);
	bilinear_axis10(x, k->iw, k->ow, k->align, k->half, &x0, &x1, &fx);
#define AT(yy, xx) (int64_t) in[(((size_t)b * k->ih + (yy)) * k->iw + (xx)) * k->c + c]
	s = AT(y0, x0) * (1024 - fy) * (1024 - fx) + AT(y1, x0) * fy * (1024 - fx) +
	    AT(y0, x1) * (1024 - fy) * fx + AT(y1, x1) * fy * fx;
#undef AT
	return (int32_t)((s + (s > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
}

static void resize_q_run(const rq_case *k, uint32_t seed, const char *want_impl)
{
	size_t ni = (size_t)k->n * k->ih * k->iw * k->c;
	uint8_t *in = malloc(ni);
	const void *got;
	char desc[160];
	ts_model m;

	snprintf(desc, sizeof(desc), "bilinear %s [%d,%d,%d,%d] -> %dx%d align %d half %d",
		 nn_dtype_name(k->t), k->n, k->ih, k->iw, k->c, k->oh, k->ow, k->align, k->half);
	fill_bytes(&seed, in, ni);
	ts_tb_load_ok(&m, resize_q_model(k, 0.05f, k->t == NN_U8 ? 120 : -3, 0.05f, k->t == NN_U8 ? 120 : -3),
		k->threads, desc);
	if (want_impl)
		ck_assert_msg(strcmp(impl_of(&m, 0), want_impl) == 0, "%s: chose %s, want %s", desc,
			      impl_of(&m, 0), want_impl);
	memcpy(nn_session_input(m.session, 0)->data, in, ni);
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (int b = 0; b < k->n; b++)
		for (int y = 0; y < k->oh; y++)
			for (int x = 0; x < k->ow; x++)
				for (int c = 0; c < k->c; c++) {
					size_t o = (((size_t)b * k->oh + y) * k->ow + x) * k->c + c;
					int32_t want = k->t == NN_U8 ? bilinear_u8_want(k, in, b, y, x, c)
								     : bilinear_i8_want(k, (const int8_t *)in,
											b, y, x, c);
					ck_assert_msg(q_at(k->t, got, o) == want,
						      "%s: (%d,%d,%d,%d) is %d, want %d", desc, b, y, x, c,
						      q_at(k->t, got, o), want);
				}
	ts_model_free(&m);
	free(in);
}

static void resize_q_all(const char *want_impl)
{
	static const int sizes[][2] = {{8, 9}, {3, 2}, {4, 5}, {1, 1}, {7, 1}, {13, 17}, {2, 40}};
	uint32_t seed = 900;

	for (int t = 0; t < 2; t++)
		for (int mode = 0; mode < 3; mode++)
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
				rq_case k = {t ? NN_U8 : NN_I8, 1 + (int)(s % 2), 4,	       5,
					     3 + 7 * (int)s,	sizes[s][0],	  sizes[s][1], mode == 1,
					     mode == 2,		1 + (int)(s & 1)};
				resize_q_run(&k, seed++, want_impl);
			}
	{
		/* DeepLab's final upsample (smaller) and its 1x1 -> 33x33 broadcast */
		rq_case k = {NN_U8, 1, 33, 33, 21, 129, 129, true, false, 2};
		resize_q_run(&k, seed++, want_impl);
		rq_case k1 = {NN_U8, 1, 1, 1, 256, 33, 33, true, false, 1};
		resize_q_run(&k1, seed++, want_impl);
		/* MoveNet's FPN upsamples */
		rq_case k2 = {NN_I8, 1, 6, 6, 64, 12, 12, false, true, 1};
		resize_q_run(&k2, seed++, want_impl);
		rq_case k3 = {NN_I8, 1, 24, 24, 24, 48, 48, false, true, 2};
		resize_q_run(&k3, seed++, want_impl);
		rq_case k4 = {NN_I8, 2, 50, 37, 19, 9, 11, false, true, 1}; /* downscale */
		resize_q_run(&k4, seed++, want_impl);
	}
}

START_TEST(test_resize_bilinear_int)
{
	resize_q_all(forked() ? "c16" : NULL);
}
END_TEST

START_TEST(test_resize_bilinear_int_reference)
{
	if (!forked()) {
		fprintf(stderr, "\n*** SKIP: CK_FORK=no, cannot test LITESERVE_FORCE_REFERENCE ***\n\n");
		return;
	}
	setenv("LITESERVE_FORCE_REFERENCE", "1", 1);
	resize_q_all("ref");
}
END_TEST

/* An exact 8x half-pixel uint8 upsample (TFLite has a fixed-point kernel
 * for it): the output is the exact bilinear value rounded half up. */
START_TEST(test_resize_bilinear_u8_8x)
{
	rq_case k = {NN_U8, 1, 3, 4, 16, 24, 32, false, true, 1};
	size_t ni = (size_t)k.ih * k.iw * k.c;
	uint8_t *in = malloc(ni);
	const uint8_t *got;
	uint32_t seed = 5;
	ts_model m;

	fill_bytes(&seed, in, ni);
	ts_tb_load_ok(&m, resize_q_model(&k, 0.1f, 0, 0.1f, 0), 1, "8x");
	memcpy(nn_session_input(m.session, 0)->data, in, ni);
	ts_invoke_ok(&m, "8x");
	got = nn_session_output(m.session, 0)->data;
	for (int y = 0; y < k.oh; y++)
		for (int x = 0; x < k.ow; x++)
			for (int c = 0; c < k.c; c++) {
				/* source = (i - 3.5) / 8 = (2i - 7) / 16 in sixteenths, clamped */
				int sy = 2 * y - 7, sx = 2 * x - 7;
				int y0, x0, fy, fx, y1, x1, v;
				sy = sy < 0 ? 0 : (sy > 16 * (k.ih - 1) ? 16 * (k.ih - 1) : sy);
				sx = sx < 0 ? 0 : (sx > 16 * (k.iw - 1) ? 16 * (k.iw - 1) : sx);
				y0 = sy / 16, fy = sy % 16, x0 = sx / 16, fx = sx % 16;
				y1 = y0 + (fy > 0), x1 = x0 + (fx > 0);
#define AT(yy, xx) (int)in[((size_t)(yy)*k.iw + (xx)) * k.c + c]
				v = AT(y0, x0) * (16 - fy) * (16 - fx) + AT(y0, x1) * (16 - fy) * fx +
				    AT(y1, x0) * fy * (16 - fx) + AT(y1, x1) * fy * fx; /* in 1/256 */
#undef AT
				ck_assert_int_eq(got[((size_t)y * k.ow + x) * k.c + c], (v + 128) / 256);
			}
	ts_model_free(&m);
	free(in);
}
END_TEST

START_TEST(test_resize_bilinear_int_refusals)
{
	rq_case k = {NN_I8, 1, 4, 5, 3, 8, 8, false, true, 1};

	ts_tb_expect_refused(resize_q_model(&k, 0.05f, 0, 0.06f, 0), "differs from the input's", "rescaling");
	ts_tb_expect_refused(resize_q_model(&k, 0.05f, 0, 0.05f, 1), "differs from the input's", "zero point");
	ts_tb_expect_refused(resize_q_model(&k, -0.05f, 0, -0.05f, 0), "must be > 0", "negative scale");
	{
		/* 1 -> 2000 with half pixels: a 10-bit source coordinate of 1487/1024 lies past a 1-pixel
		 * input */
		rq_case big = {NN_I8, 1, 1, 1, 1, 2000, 1, false, true, 1};
		ts_tb_expect_refused(resize_q_model(&big, 0.05f, 0, 0.05f, 0), "past the input", "extreme upscale");
	}
}
END_TEST

/* --- ARG_MAX ------------------------------------------------------------- */

static tb_model *argmax_model(nn_dtype t, int rank, const int32_t *dims, nn_dtype axis_type, int64_t axis,
			      int opt_type, nn_dtype out_type)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	float s = 0.1f;
	int64_t z = 3;
	tb_quant q = {1, &s, &z, 0};
	int32_t a32 = (int32_t)axis;
	int x = tb_tensor(b, "x", t, rank, dims, NULL, 0, (t == NN_U8 || t == NN_I8) ? &q : NULL);
	int a = axis_type == NN_I64 ? tb_tensor(b, "axis", NN_I64, 1, (int32_t[]){1}, &axis, 8, NULL)
				    : tb_tensor(b, "axis", NN_I32, 0, NULL, &a32, 4, NULL);
	int y = tb_tensor(b, "y", out_type, 0, NULL, NULL, 0, NULL);

	if (opt_type >= 0)
		tb_opt_i8(&o, 0, (int8_t)opt_type);
	tb_op(b, OP_ARG_MAX, NULL, 2, (int[]){x, a}, 2, (int[]){y}, 1, opt_type >= 0 ? OPTS_ARG_MAX : 0,
	      opt_type >= 0 ? &o : NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static double at_value(nn_dtype t, const void *p, size_t i)
{
	switch (t) {
	case NN_F32:
		return ((const float *)p)[i];
	case NN_I32:
		return ((const int32_t *)p)[i];
	default:
		return q_at(t, p, i);
	}
}

static void argmax_run(nn_dtype t, int rank, const int32_t *dims, int axis, nn_dtype ot, bool ties,
		       int threads, uint32_t seed)
{
	size_t n = count_of(rank, dims), es = nn_dtype_size(t);
	uint8_t *in = malloc(n * es);
	int a = axis < 0 ? axis + rank : axis;
	int64_t outer = 1, len = dims[a], inner = 1;
	char desc[128];
	ts_model m;
	const void *got;

	snprintf(desc, sizeof(desc), "argmax %s rank %d axis %d -> %s ties %d", nn_dtype_name(t), rank, axis,
		 nn_dtype_name(ot), ties);
	for (size_t i = 0; i < n; i++) {
		int v = ties ? (int)(ts_rand(&seed) % 3) : (int)(ts_rand(&seed) % 250);
		if (t == NN_F32)
			((float *)in)[i] = ties ? (float)v : ts_randf(&seed, -5, 5);
		else if (t == NN_I32)
			((int32_t *)in)[i] = v - 100;
		else
			in[i] = (uint8_t)v;
	}
	for (int k = 0; k < a; k++)
		outer *= dims[k];
	for (int k = a + 1; k < rank; k++)
		inner *= dims[k];
	ts_tb_load_ok(&m, argmax_model(t, rank, dims, (seed & 1) ? NN_I64 : NN_I32, axis, ot, ot), threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, n * es);
	ts_invoke_ok(&m, desc);
	ck_assert_int_eq(nn_session_output(m.session, 0)->rank, rank - 1);
	got = nn_session_output(m.session, 0)->data;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			int64_t best = 0, g;
			for (int64_t k = 1; k < len; k++)
				if (at_value(t, in, (size_t)((o * len + k) * inner + i)) >
				    at_value(t, in, (size_t)((o * len + best) * inner + i)))
					best = k;
			g = ot == NN_I64 ? ((const int64_t *)got)[o * inner + i]
					 : ((const int32_t *)got)[o * inner + i];
			ck_assert_msg(g == best, "%s: output (%lld,%lld) is %lld, want %lld", desc,
				      (long long)o, (long long)i, (long long)g, (long long)best);
		}
	ts_model_free(&m);
	free(in);
}

static void arg_max_all(void)
{
	uint32_t seed = 31;
	int32_t d4[4] = {2, 3, 4, 5};

	/* DeepLab: uint8 over the 21 classes, int64 indices */
	argmax_run(NN_U8, 4, (int32_t[]){1, 65, 65, 21}, 3, NN_I64, false, 2, seed++);
	/* MoveNet: int8 over 2304 positions, int32 indices */
	argmax_run(NN_I8, 3, (int32_t[]){1, 2304, 17}, 1, NN_I32, false, 1, seed++);
	for (int axis = -4; axis < 4; axis++) {
		argmax_run(NN_F32, 4, d4, axis, NN_I32, axis & 1, 1, seed++);
		argmax_run(NN_I8, 4, d4, axis, NN_I64, true, 1, seed++);
		argmax_run(NN_U8, 4, d4, axis, NN_I32, true, 2, seed++);
		argmax_run(NN_I32, 4, d4, axis, NN_I64, false, 1, seed++);
	}
	argmax_run(NN_F32, 1, (int32_t[]){7}, 0, NN_I32, true, 1, seed++); /* scalar output */
	argmax_run(NN_U8, 2, (int32_t[]){300, 5}, 1, NN_I32, true, 2, seed++);
}

START_TEST(test_arg_max)
{
	arg_max_all();
}
END_TEST

/* The plain scan, forced, on the same cases (8-bit rows over the innermost
 * axis otherwise take the max-then-find route). */
START_TEST(test_arg_max_reference)
{
	if (!forked()) {
		fprintf(stderr, "\n*** SKIP: CK_FORK=no, cannot test LITESERVE_FORCE_REFERENCE ***\n\n");
		return;
	}
	setenv("LITESERVE_FORCE_REFERENCE", "1", 1);
	arg_max_all();
}
END_TEST

/* Ties pick the first index; NaN wins only when first; no options: the
 * output tensor's type. */
START_TEST(test_arg_max_ties)
{
	float v[2][6] = {{1, 5, 2, 5, 5, 0}, {NAN, 3, 9, NAN, 9, 1}};
	float w[6] = {2, NAN, 7, 7, NAN, 1};
	float all[3][6];
	ts_model m;

	memcpy(all[0], v[0], sizeof(v[0]));
	memcpy(all[1], v[1], sizeof(v[1]));
	memcpy(all[2], w, sizeof(w));
	ts_tb_load_ok(&m, argmax_model(NN_F32, 2, (int32_t[]){3, 6}, NN_I32, 1, -1, NN_I64), 1, "ties");
	memcpy(nn_session_input(m.session, 0)->data, all, sizeof(all));
	ts_invoke_ok(&m, "ties");
	{
		const int64_t *got = nn_session_output(m.session, 0)->data;
		ck_assert_int_eq(nn_session_output(m.session, 0)->type, NN_I64);
		ck_assert_int_eq(got[0], 1); /* first of three 5s */
		ck_assert_int_eq(got[1], 0); /* a leading NaN is never beaten */
		ck_assert_int_eq(got[2], 2); /* NaN later never wins; first 7 */
	}
	ts_model_free(&m);
}
END_TEST

START_TEST(test_arg_max_refusals)
{
	int32_t d[2] = {2, 3};

	ts_tb_expect_refused(argmax_model(NN_F32, 2, d, NN_I32, 0, NN_F32, NN_F32), "not an index type",
		       "float out");
	ts_tb_expect_refused(argmax_model(NN_F32, 2, d, NN_I32, 0, NN_I64, NN_I32),
		       "output_type is int64 but the output", "type mismatch");
	ts_tb_expect_refused(argmax_model(NN_F32, 2, d, NN_I32, 2, NN_I32, NN_I32),
		       "axis 2 is out of range for rank 2", "axis 2");
	ts_tb_expect_refused(argmax_model(NN_F32, 2, d, NN_I64, -3, NN_I32, NN_I32), "axis -3 is out of range",
		       "axis -3");
	ts_tb_expect_refused(argmax_model(NN_F32, 2, d, NN_I32, 0, -1, NN_F32), "no output_type option",
		       "no option");
	ts_tb_expect_refused(argmax_model(NN_F16, 2, d, NN_I32, 0, NN_I32, NN_I32), "input type float16",
		       "float16 in");
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 2, d, NULL, 0, NULL);
		int a = tb_tensor(b, "axis", NN_I32, 0, NULL, NULL, 0, NULL);
		int y = tb_tensor(b, "y", NN_I32, 0, NULL, NULL, 0, NULL);
		tb_op(b, OP_ARG_MAX, NULL, 2, (int[]){x, a}, 2, (int[]){y}, 1, 0, NULL);
		tb_io(b, 2, (int[]){x, a}, 1, (int[]){y});
		ts_tb_expect_refused(b, "only a constant axis", "axis at run time");
	}
}
END_TEST

/* --- CAST ----------------------------------------------------------------- */

static tb_model *cast_model(nn_dtype from, nn_dtype to, int n, const void *const_data, int in_opt,
			    int out_opt)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x", from, 1, (int32_t[]){n}, const_data,
			  const_data ? (size_t)n * nn_dtype_size(from) : 0, NULL);
	int y = tb_tensor(b, "y", to, 1, (int32_t[]){n}, NULL, 0, NULL);

	if (in_opt >= 0)
		tb_opt_i8(&o, 0, (int8_t)in_opt);
	if (out_opt >= 0)
		tb_opt_i8(&o, 1, (int8_t)out_opt);
	tb_op(b, OP_CAST, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, o.n ? OPTS_CAST : 0, o.n ? &o : NULL);
	tb_io(b, const_data ? 0 : 1, (int[]){x}, 1, (int[]){y});
	return b;
}

/* Runs CAST on n elements; returns the output bytes (caller frees). */
static void *cast_run(nn_dtype from, nn_dtype to, const void *in, int n)
{
	ts_model m;
	void *out = malloc((size_t)n * nn_dtype_size(to) + 1);

	ts_tb_load_ok(&m, cast_model(from, to, n, NULL, from, to), 1, "cast");
	memcpy(nn_session_input(m.session, 0)->data, in, (size_t)n * nn_dtype_size(from));
	ts_invoke_ok(&m, "cast");
	memcpy(out, nn_session_output(m.session, 0)->data, (size_t)n * nn_dtype_size(to));
	ts_model_free(&m);
	return out;
}

START_TEST(test_cast)
{
	/* round trips that must be exact */
	{
		int32_t v[6] = {0, -1, 16777216, -16777216, 123456, -99};
		float *f = cast_run(NN_I32, NN_F32, v, 6);
		int32_t *back = cast_run(NN_F32, NN_I32, f, 6);
		ck_assert(memcmp(back, v, sizeof(v)) == 0);
		free(f);
		free(back);
	}
	{
		uint8_t u[256];
		for (int i = 0; i < 256; i++)
			u[i] = (uint8_t)i;
		int32_t *w = cast_run(NN_U8, NN_I32, u, 256);
		float *f = cast_run(NN_U8, NN_F32, u, 256);
		uint8_t *back = cast_run(NN_I32, NN_U8, w, 256);
		uint8_t *back2 = cast_run(NN_F32, NN_U8, f, 256);
		int64_t *l = cast_run(NN_U8, NN_I64, u, 256);
		uint8_t *back3 = cast_run(NN_I64, NN_U8, l, 256);
		for (int i = 0; i < 256; i++)
			ck_assert(w[i] == i && f[i] == (float)i && l[i] == i);
		ck_assert(memcmp(back, u, 256) == 0 && memcmp(back2, u, 256) == 0 &&
			  memcmp(back3, u, 256) == 0);
		free(w), free(f), free(back), free(back2), free(l), free(back3);
	}
	/* float -> integers: truncation; out of range as TFLite's WebAssembly build */
	{
		float v[10] = {1.7f, -1.7f, 255.9f, 300.5f, -300.5f, 1e10f, -1e10f, NAN, -0.0f, 40000.7f};
		int32_t *i32 = cast_run(NN_F32, NN_I32, v, 10);
		int8_t *i8 = cast_run(NN_F32, NN_I8, v, 10);
		uint8_t *u8 = cast_run(NN_F32, NN_U8, v, 10);
		int16_t *i16 = cast_run(NN_F32, NN_I16, v, 10);
		uint8_t *bl = cast_run(NN_F32, NN_BOOL, v, 10);
		int32_t w32[10] = {1, -1, 255, 300, -300, INT32_MIN, INT32_MIN, INT32_MIN, 0, 40000};
		int8_t w8[10] = {1, -1, -1, 44, -44, 0, 0, 0, 0, 64};
		uint8_t wu8[10] = {1, 0, 255, 44, 0, 0, 0, 0, 0, 64};
		int16_t w16[10] = {1, -1, 255, 300, -300, 0, 0, 0, 0, -25536};
		uint8_t wb[10] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 1};
		for (int i = 0; i < 10; i++) {
			ck_assert_msg(i32[i] == w32[i], "int32 %d: %d want %d", i, i32[i], w32[i]);
			ck_assert_msg(i8[i] == w8[i], "int8 %d: %d want %d", i, i8[i], w8[i]);
			ck_assert_msg(u8[i] == wu8[i], "uint8 %d: %d want %d", i, u8[i], wu8[i]);
			ck_assert_msg(i16[i] == w16[i], "int16 %d: %d want %d", i, i16[i], w16[i]);
			ck_assert_msg(bl[i] == wb[i], "bool %d: %d want %d", i, bl[i], wb[i]);
		}
		free(i32), free(i8), free(u8), free(i16), free(bl);
	}
	/* integers wrap; bool is 0/1; int64 -> float rounds once */
	{
		int32_t v[5] = {300, -1, 128, 65536 + 7, 0};
		uint8_t *u8 = cast_run(NN_I32, NN_U8, v, 5);
		int8_t *i8 = cast_run(NN_I32, NN_I8, v, 5);
		uint8_t *bl = cast_run(NN_I32, NN_BOOL, v, 5);
		int16_t *i16 = cast_run(NN_BOOL, NN_I16, bl, 5);
		uint8_t wu[5] = {44, 255, 128, 7, 0};
		int8_t w8[5] = {44, -1, -128, 7, 0};
		for (int i = 0; i < 5; i++) {
			ck_assert(u8[i] == wu[i] && i8[i] == w8[i]);
			ck_assert(bl[i] == (v[i] != 0) && i16[i] == (v[i] != 0));
		}
		free(u8), free(i8), free(bl), free(i16);
	}
	{
		int64_t v[3] = {(1LL << 53) + 1, (1LL << 24) + 1, -((1LL << 40) + 3)};
		float *f = cast_run(NN_I64, NN_F32, v, 3);
		double *d = cast_run(NN_I64, NN_F64, v, 3);
		for (int i = 0; i < 3; i++) {
			ck_assert(f[i] == (float)v[i]);
			ck_assert(d[i] == (double)v[i]);
		}
		free(f), free(d);
	}
	/* a constant input is converted at load */
	{
		int8_t c[4] = {-3, 0, 7, 127};
		ts_model m;
		const float *got;
		ts_tb_load_ok(&m, cast_model(NN_I8, NN_F32, 4, c, -1, -1), 1, "constant cast");
		ck_assert_str_eq(impl_of(&m, 0), "const");
		ts_invoke_ok(&m, "constant cast");
		got = nn_session_output(m.session, 0)->data;
		for (int i = 0; i < 4; i++)
			ck_assert(got[i] == (float)c[i]);
		ts_model_free(&m);
	}
}
END_TEST

START_TEST(test_cast_refusals)
{
	ts_tb_expect_refused(cast_model(NN_STRING, NN_F32, 4, NULL, -1, -1), "string", "string");
	ts_tb_expect_refused(cast_model(NN_F32, NN_F16, 4, NULL, -1, -1), "output type float16", "float16 out");
	ts_tb_expect_refused(cast_model(NN_F32, NN_I32, 4, NULL, NN_I8, -1), "in_data_type int8 disagrees",
		       "in option");
	ts_tb_expect_refused(cast_model(NN_F32, NN_I32, 4, NULL, -1, NN_U8), "out_data_type uint8 disagrees",
		       "out option");
}
END_TEST

/* --- GATHER_ND ------------------------------------------------------------ */

static tb_model *gather_nd_model(nn_dtype t, int prank, const int32_t *pd, const tb_quant *pq, nn_dtype it,
				 int irank, const int32_t *id, const tb_quant *oq)
{
	tb_model *b = tb_new();
	int p = tb_tensor(b, "params", t, prank, pd, NULL, 0, pq);
	int i = tb_tensor(b, "indices", it, irank, id, NULL, 0, NULL);
	int y = tb_tensor(b, "y", t, 0, NULL, NULL, 0, oq);

	tb_op(b, OP_GATHER_ND, NULL, 1, (int[]){p, i}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, 2, (int[]){p, i}, 1, (int[]){y});
	return b;
}

static void gather_nd_run(nn_dtype t, int prank, const int32_t *pd, nn_dtype it, int irank, const int32_t *id,
			  uint32_t seed)
{
	float s = 0.2f;
	int64_t z = -9;
	tb_quant q = {1, &s, &z, 0};
	size_t es = nn_dtype_size(t), np = count_of(prank, pd), ni = count_of(irank, id);
	int nd = id[irank - 1];
	size_t rows = ni / (size_t)(nd ? nd : 1), slice = 1;
	uint8_t *params = malloc(np * es + 1);
	int64_t *idx = malloc(sizeof(int64_t) * (ni + 1));
	void *idx_bytes = malloc(ni * nn_dtype_size(it) + 1);
	const uint8_t *got;
	char desc[128];
	ts_model m;

	if (nd == 0)
		rows = count_of(irank - 1, id);
	snprintf(desc, sizeof(desc), "gather_nd %s params rank %d indices rank %d nd %d", nn_dtype_name(t),
		 prank, irank, nd);
	for (int k = nd; k < prank; k++)
		slice *= (size_t)pd[k];
	fill_bytes(&seed, params, np * es);
	for (size_t i = 0; i < ni; i++) {
		idx[i] = (int64_t)(ts_rand(&seed) % (uint32_t)pd[i % (size_t)nd]);
		if (it == NN_I64)
			((int64_t *)idx_bytes)[i] = idx[i];
		else
			((int32_t *)idx_bytes)[i] = (int32_t)idx[i];
	}
	ts_tb_load_ok(&m,
		gather_nd_model(t, prank, pd, t == NN_I8 ? &q : NULL, it, irank, id, t == NN_I8 ? &q : NULL),
		1, desc);
	ck_assert_int_eq(nn_session_output(m.session, 0)->rank, irank - 1 + prank - nd);
	memcpy(nn_session_input(m.session, 0)->data, params, np * es);
	memcpy(nn_session_input(m.session, 1)->data, idx_bytes, ni * nn_dtype_size(it));
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (size_t r = 0; r < rows; r++) {
		size_t off = 0;
		for (int k = 0; k < nd; k++)
			off = off * (size_t)pd[k] + (size_t)idx[r * (size_t)nd + (size_t)k];
		for (int k = nd; k < prank; k++)
			off *= (size_t)pd[k];
		ck_assert_msg(memcmp(got + r * slice * es, params + off * es, slice * es) == 0,
			      "%s: row %zu differs", desc, r);
	}
	ts_model_free(&m);
	free(params);
	free(idx);
	free(idx_bytes);
}

START_TEST(test_gather_nd)
{
	uint32_t seed = 41;

	/* MoveNet's gathers */
	gather_nd_run(NN_I8, 4, (int32_t[]){1, 48, 48, 34}, NN_I32, 2, (int32_t[]){17, 3}, seed++);
	gather_nd_run(NN_I8, 3, (int32_t[]){17, 17, 2}, NN_I32, 2, (int32_t[]){17, 2}, seed++);
	gather_nd_run(NN_I8, 4, (int32_t[]){1, 48, 48, 17}, NN_I32, 2, (int32_t[]){17, 4}, seed++);
	for (int nd = 1; nd <= 3; nd++) {
		gather_nd_run(NN_F32, 3, (int32_t[]){4, 5, 6}, NN_I64, 3, (int32_t[]){2, 3, nd}, seed++);
		gather_nd_run(NN_I32, 3, (int32_t[]){4, 5, 6}, NN_I32, 1, (int32_t[]){nd}, seed++);
		gather_nd_run(NN_U8, 3, (int32_t[]){3, 1, 7}, NN_I64, 2, (int32_t[]){5, nd}, seed++);
	}
}
END_TEST

/* An index outside its dimension fails the invoke with a message. */
START_TEST(test_gather_nd_out_of_range)
{
	static const int32_t bad[][2] = {{0, 5}, {4, 0}, {-1, 2}};
	for (int t = 0; t < 3; t++) {
		ts_model m;
		nn_err err = {0};
		int32_t idx[4] = {1, 1, bad[t][0], bad[t][1]};
		ts_tb_load_ok(
		    &m,
		    gather_nd_model(NN_F32, 2, (int32_t[]){4, 5}, NULL, NN_I32, 2, (int32_t[]){2, 2}, NULL),
		    1, "out of range");
		memset(nn_session_input(m.session, 0)->data, 0, 20 * sizeof(float));
		memcpy(nn_session_input(m.session, 1)->data, idx, sizeof(idx));
		ck_assert_int_eq(nn_session_invoke(m.session, &err), NN_ERR_RUNTIME);
		ck_assert_msg(strstr(err.msg, "GATHER_ND") && strstr(err.msg, "is outside [0,"),
			      "message: %s", err.msg);
		ts_model_free(&m);
	}
}
END_TEST

START_TEST(test_gather_nd_refusals)
{
	float s = 0.2f, s2 = 0.3f;
	int64_t z = 0;
	tb_quant q = {1, &s, &z, 0}, q2 = {1, &s2, &z, 0};

	ts_tb_expect_refused(
	    gather_nd_model(NN_F32, 2, (int32_t[]){4, 5}, NULL, NN_I32, 2, (int32_t[]){2, 3}, NULL),
	    "index tuples have 3 entries but params has rank 2", "nd > rank");
	ts_tb_expect_refused(
	    gather_nd_model(NN_F32, 2, (int32_t[]){4, 5}, NULL, NN_F32, 2, (int32_t[]){2, 1}, NULL),
	    "indices type float32", "float indices");
	ts_tb_expect_refused(gather_nd_model(NN_I8, 2, (int32_t[]){4, 5}, &q, NN_I32, 2, (int32_t[]){2, 1}, &q2),
		       "quantization differs", "rescaling");
	ts_tb_expect_refused(gather_nd_model(NN_F32, 2, (int32_t[]){4, 5}, NULL, NN_I32, 0, NULL, NULL), "scalar",
		       "scalar indices");
}
END_TEST

/* --- PACK / UNPACK ---------------------------------------------------------- */

static tb_model *pack_model(nn_dtype t, int n, int rank, const int32_t *dims, int values_count, int axis,
			    const tb_quant *qi, const tb_quant *qo)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int in[8], y;

	for (int k = 0; k < n; k++) {
		char name[8];
		snprintf(name, sizeof(name), "x%d", k);
		in[k] = tb_tensor(b, name, t, rank, dims, NULL, 0, k == n - 1 ? qi : qo);
	}
	y = tb_tensor(b, "y", t, 0, NULL, NULL, 0, qo);
	tb_opt_i32(&o, 0, values_count);
	tb_opt_i32(&o, 1, axis);
	tb_op(b, OP_PACK, NULL, 2, in, n, (int[]){y}, 1, OPTS_PACK, &o);
	tb_io(b, n, in, 1, (int[]){y});
	return b;
}

static tb_model *unpack_model(nn_dtype t, int rank, const int32_t *dims, int num, int n_out, int axis)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x", t, rank, dims, NULL, 0, NULL), out[8];

	for (int k = 0; k < n_out; k++) {
		char name[8];
		snprintf(name, sizeof(name), "y%d", k);
		out[k] = tb_tensor(b, name, t, 0, NULL, NULL, 0, NULL);
	}
	tb_opt_i32(&o, 0, num);
	tb_opt_i32(&o, 1, axis);
	tb_op(b, OP_UNPACK, NULL, 2, (int[]){x}, 1, out, n_out, OPTS_UNPACK, &o);
	tb_io(b, 1, (int[]){x}, n_out, out);
	return b;
}

/* Packs n inputs of shape dims along axis, checks against the index rule,
 * then unpacks the result along the same axis and gets the inputs back. */
static void pack_unpack_run(nn_dtype t, int n, int rank, const int32_t *dims, int axis, uint32_t seed)
{
	size_t es = nn_dtype_size(t), cnt = count_of(rank, dims);
	int a = axis < 0 ? axis + rank + 1 : axis;
	int32_t od[NN_MAX_RANK];
	uint8_t *in[8], *packed = malloc(cnt * es * (size_t)n);
	size_t outer = 1, inner = es;
	char desc[96];
	ts_model m;

	snprintf(desc, sizeof(desc), "pack %s n %d rank %d axis %d", nn_dtype_name(t), n, rank, axis);
	for (int k = 0, j = 0; k <= rank; k++)
		od[k] = k == a ? n : dims[j++];
	for (int k = 0; k < rank; k++) {
		if (k < a)
			outer *= (size_t)dims[k];
		else
			inner *= (size_t)dims[k];
	}
	ts_tb_load_ok(&m, pack_model(t, n, rank, dims, n, axis, NULL, NULL), 1, desc);
	for (int k = 0; k < n; k++) {
		in[k] = malloc(cnt * es);
		fill_bytes(&seed, in[k], cnt * es);
		memcpy(nn_session_input(m.session, k)->data, in[k], cnt * es);
	}
	ts_invoke_ok(&m, desc);
	{
		const nn_tensor *y = nn_session_output(m.session, 0);
		ck_assert_int_eq(y->rank, rank + 1);
		for (int k = 0; k <= rank; k++)
			ck_assert_int_eq(y->dims[k], od[k]);
		memcpy(packed, y->data, cnt * es * (size_t)n);
	}
	for (size_t o = 0; o < outer; o++)
		for (int k = 0; k < n; k++)
			ck_assert_msg(memcmp(packed + (o * (size_t)n + (size_t)k) * inner, in[k] + o * inner,
					     inner) == 0,
				      "%s: row %zu of input %d misplaced", desc, o, k);
	ts_model_free(&m);

	/* unpack: axis in [-(rank+1), rank] of the packed tensor */
	snprintf(desc, sizeof(desc), "unpack %s n %d rank %d axis %d", nn_dtype_name(t), n, rank + 1,
		 axis < 0 ? axis : a);
	ts_tb_load_ok(&m, unpack_model(t, rank + 1, od, n, n, axis), 1, desc);
	memcpy(nn_session_input(m.session, 0)->data, packed, cnt * es * (size_t)n);
	ts_invoke_ok(&m, desc);
	for (int k = 0; k < n; k++) {
		const nn_tensor *y = nn_session_output(m.session, k);
		ck_assert_int_eq(y->rank, rank);
		ck_assert_msg(memcmp(y->data, in[k], cnt * es) == 0, "%s: output %d differs", desc, k);
		free(in[k]);
	}
	ts_model_free(&m);
	free(packed);
}

START_TEST(test_pack_unpack)
{
	uint32_t seed = 51;
	int32_t d3[3] = {2, 3, 4};

	for (int axis = -4; axis <= 3; axis++) {
		pack_unpack_run(NN_F32, 3, 3, d3, axis, seed++);
		pack_unpack_run(NN_I8, 2, 3, d3, axis, seed++);
	}
	pack_unpack_run(NN_I32, 3, 1, (int32_t[]){1}, 0, seed++);  /* MoveNet's [1] x 3 -> [1,3]... */
	pack_unpack_run(NN_I32, 3, 1, (int32_t[]){17}, 1, seed++); /* ... and [17] x 3 -> [17,3] */
	pack_unpack_run(NN_I8, 2, 2, (int32_t[]){1, 17}, 2, seed++);
	pack_unpack_run(NN_I64, 1, 0, NULL, 0, seed++); /* a scalar becomes [1] */
	pack_unpack_run(NN_U8, 5, 4, (int32_t[]){1, 2, 1, 3}, -2, seed++);
}
END_TEST

START_TEST(test_pack_unpack_refusals)
{
	float s = 0.2f, s2 = 0.3f;
	int64_t z = 0;
	tb_quant q = {1, &s, &z, 0}, q2 = {1, &s2, &z, 0};
	int32_t d[2] = {2, 3};

	ts_tb_expect_refused(pack_model(NN_F32, 2, 2, d, 3, 0, NULL, NULL),
		       "values_count is 3 but the op has 2 inputs", "values_count");
	ts_tb_expect_refused(pack_model(NN_F32, 2, 2, d, 2, 3, NULL, NULL), "axis 3 is out of range",
		       "pack axis 3");
	ts_tb_expect_refused(pack_model(NN_F32, 2, 2, d, 2, -4, NULL, NULL), "axis -4 is out of range",
		       "pack axis -4");
	ts_tb_expect_refused(pack_model(NN_I8, 2, 2, d, 2, 0, &q2, &q), "input 1 quantization differs",
		       "pack rescale");
	{
		tb_model *b = tb_new();
		tb_opts o = {0};
		int x0 = tb_tensor(b, "x0", NN_F32, 2, d, NULL, 0, NULL);
		int x1 = tb_tensor(b, "x1", NN_F32, 2, (int32_t[]){3, 2}, NULL, 0, NULL);
		int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);
		tb_opt_i32(&o, 0, 2);
		tb_op(b, OP_PACK, NULL, 2, (int[]){x0, x1}, 2, (int[]){y}, 1, OPTS_PACK, &o);
		tb_io(b, 2, (int[]){x0, x1}, 1, (int[]){y});
		ts_tb_expect_refused(b, "input 1 has another shape", "pack shapes");
	}
	ts_tb_expect_refused(unpack_model(NN_F32, 2, d, 3, 2, 0), "num is 3", "unpack num");
	ts_tb_expect_refused(unpack_model(NN_F32, 2, d, 2, 2, 1), "axis 1 has size 3", "unpack size");
	ts_tb_expect_refused(unpack_model(NN_F32, 2, d, 2, 2, 2), "axis 2 is out of range for rank 2",
		       "unpack axis");
	ts_tb_expect_refused(unpack_model(NN_F32, 0, NULL, 1, 1, 0), "scalar", "unpack scalar");
}
END_TEST

/* --- FLOOR_DIV --------------------------------------------------------------- */

static tb_model *floor_div_model(nn_dtype t, int ra, const int32_t *da, int rb, const int32_t *db,
				 const void *b_const)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "a", t, ra, da, NULL, 0, NULL);
	int w = tb_tensor(b, "b", t, rb, db, b_const, b_const ? count_of(rb, db) * 4 : 0, NULL);
	int y = tb_tensor(b, "y", t, 0, NULL, NULL, 0, NULL);

	tb_op(b, OP_FLOOR_DIV, NULL, 1, (int[]){x, w}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, b_const ? 1 : 2, (int[]){x, w}, 1, (int[]){y});
	return b;
}

static void floor_div_run(nn_dtype t, int ra, const int32_t *da, int rb, const int32_t *db, int threads,
			  uint32_t seed)
{
	size_t na = count_of(ra, da), nb = count_of(rb, db);
	int ro = ra > rb ? ra : rb;
	int32_t dout[NN_MAX_RANK];
	size_t no;
	int32_t *a = malloc(na * 4 + 4), *bb = malloc(nb * 4 + 4);
	const void *got;
	char desc[96];
	ts_model m;

	snprintf(desc, sizeof(desc), "floor_div %s rank %d/%d", nn_dtype_name(t), ra, rb);
	for (int k = 0; k < ro; k++) {
		int ka = k - (ro - ra), kb = k - (ro - rb);
		int32_t x = ka >= 0 ? da[ka] : 1, y = kb >= 0 ? db[kb] : 1;
		dout[k] = x > y ? x : y;
	}
	no = count_of(ro, dout);
	for (size_t i = 0; i < na; i++) {
		if (t == NN_I32)
			a[i] = (int32_t)(ts_rand(&seed) % 41) - 20;
		else
			((float *)a)[i] = ts_randf(&seed, -20, 20);
	}
	for (size_t i = 0; i < nb; i++) {
		if (t == NN_I32) {
			int32_t v = (int32_t)(ts_rand(&seed) % 13) - 6;
			bb[i] = v ? v : 3;
		} else {
			float v = ts_randf(&seed, -4, 4);
			((float *)bb)[i] = v != 0.0f ? v : 0.5f;
		}
	}
	ts_tb_load_ok(&m, floor_div_model(t, ra, da, rb, db, NULL), threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, a, na * 4);
	memcpy(nn_session_input(m.session, 1)->data, bb, nb * 4);
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (size_t o = 0; o < no; o++) {
		size_t rem = o, ia = 0, ib = 0, sa = 1, sb = 1;
		for (int k = ro - 1; k >= 0; k--) {
			size_t c = rem % (size_t)dout[k];
			int ka = k - (ro - ra), kb = k - (ro - rb);
			rem /= (size_t)dout[k];
			if (ka >= 0) {
				ia += (da[ka] == 1 ? 0 : c) * sa;
				sa *= (size_t)da[ka];
			}
			if (kb >= 0) {
				ib += (db[kb] == 1 ? 0 : c) * sb;
				sb *= (size_t)db[kb];
			}
		}
		if (t == NN_I32) {
			/* floor by integer arithmetic, not through double */
			int32_t x = a[ia], y = bb[ib], q = x / y;
			if ((x % y != 0) && ((x < 0) != (y < 0)))
				q--;
			ck_assert_msg(((const int32_t *)got)[o] == q, "%s: %d // %d = %d, want %d", desc, x,
				      y, ((const int32_t *)got)[o], q);
		} else {
			float x = ((float *)a)[ia], y = ((float *)bb)[ib];
			float want = (float)floor((double)x / (double)y);
			ck_assert_msg(((const float *)got)[o] == want, "%s: %g // %g = %g, want %g", desc, x,
				      y, ((const float *)got)[o], want);
		}
	}
	ts_model_free(&m);
	free(a);
	free(bb);
}

START_TEST(test_floor_div)
{
	uint32_t seed = 61;

	floor_div_run(NN_I32, 2, (int32_t[]){1, 17}, 0, NULL, 1, seed++); /* MoveNet: index // 48 */
	floor_div_run(NN_I32, 2, (int32_t[]){5, 7}, 2, (int32_t[]){5, 7}, 1, seed++);
	floor_div_run(NN_I32, 3, (int32_t[]){2, 1, 7}, 2, (int32_t[]){3, 1}, 1, seed++);
	floor_div_run(NN_I32, 1, (int32_t[]){300000}, 1, (int32_t[]){1}, 2, seed++); /* several tasks */
	floor_div_run(NN_F32, 2, (int32_t[]){5, 7}, 2, (int32_t[]){5, 7}, 1, seed++);
	floor_div_run(NN_F32, 3, (int32_t[]){2, 1, 7}, 2, (int32_t[]){3, 1}, 1, seed++);
	{
		/* negative operands floor (not truncate); INT32_MIN // -1 saturates */
		int32_t a[6] = {-7, 7, -7, 7, INT32_MIN, -1}, b[6] = {2, -2, -2, 2, -1, 3};
		int32_t want[6] = {-4, -4, 3, 3, INT32_MAX, -1};
		ts_model m;
		const int32_t *got;
		ts_tb_load_ok(&m, floor_div_model(NN_I32, 1, (int32_t[]){6}, 1, (int32_t[]){6}, NULL), 1, "signs");
		memcpy(nn_session_input(m.session, 0)->data, a, sizeof(a));
		memcpy(nn_session_input(m.session, 1)->data, b, sizeof(b));
		ts_invoke_ok(&m, "signs");
		got = nn_session_output(m.session, 0)->data;
		for (int i = 0; i < 6; i++)
			ck_assert_msg(got[i] == want[i], "%d // %d = %d, want %d", a[i], b[i], got[i],
				      want[i]);
		ts_model_free(&m);
	}
	{
		/* a float quotient that rounds up to an integer in float but not in double */
		float a = 0.3f, b = 0.1f; /* double 0.3f/0.1f = 2.9999999105..., floor 2 */
		ts_model m;
		ts_tb_load_ok(&m, floor_div_model(NN_F32, 1, (int32_t[]){1}, 1, (int32_t[]){1}, NULL), 1, "double");
		memcpy(nn_session_input(m.session, 0)->data, &a, 4);
		memcpy(nn_session_input(m.session, 1)->data, &b, 4);
		ts_invoke_ok(&m, "double");
		ck_assert(*(const float *)nn_session_output(m.session, 0)->data ==
			  (float)floor((double)a / b));
		ts_model_free(&m);
	}
}
END_TEST

/* A zero divisor: refused at load when constant, a run-time error otherwise
 * (for float32 too, as in TFLite). */
START_TEST(test_floor_div_by_zero)
{
	for (int t = 0; t < 2; t++) {
		nn_dtype ty = t ? NN_F32 : NN_I32;
		int32_t a[3] = {1, 2, 3}, b[3] = {1, 0, 2};
		float fa[3] = {1, 2, 3}, fb[3] = {1, -0.0f, 2};
		ts_model m;
		nn_err err = {0};

		ts_tb_expect_refused(
		    floor_div_model(ty, 1, (int32_t[]){3}, 1, (int32_t[]){3}, t ? (void *)fb : (void *)b),
		    "constant divisor element 1 is 0", "constant zero");
		ts_tb_load_ok(&m, floor_div_model(ty, 1, (int32_t[]){3}, 1, (int32_t[]){3}, NULL), 1, "zero");
		memcpy(nn_session_input(m.session, 0)->data, t ? (void *)fa : (void *)a, 12);
		memcpy(nn_session_input(m.session, 1)->data, t ? (void *)fb : (void *)b, 12);
		ck_assert_int_eq(nn_session_invoke(m.session, &err), NN_ERR_RUNTIME);
		ck_assert_msg(strstr(err.msg, "FLOOR_DIV") && strstr(err.msg, "division by zero"),
			      "message: %s", err.msg);
		ts_model_free(&m);
	}
	ts_tb_expect_refused(floor_div_model(NN_I8, 1, (int32_t[]){3}, 1, (int32_t[]){3}, NULL),
		       "int8 is not supported", "int8");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_shape_int");
	TCase *tc = tcase_create("shape_int");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_quantize_from_float);
	tcase_add_test(tc, test_quantize_requantize);
	tcase_add_test(tc, test_quantize_reference);
	tcase_add_test(tc, test_quantize_refusals);
	tcase_add_test(tc, test_mean_int);
	tcase_add_test(tc, test_mean_int_refusals);
	tcase_add_test(tc, test_resize_bilinear_int);
	tcase_add_test(tc, test_resize_bilinear_int_reference);
	tcase_add_test(tc, test_resize_bilinear_u8_8x);
	tcase_add_test(tc, test_resize_bilinear_int_refusals);
	tcase_add_test(tc, test_arg_max);
	tcase_add_test(tc, test_arg_max_reference);
	tcase_add_test(tc, test_arg_max_ties);
	tcase_add_test(tc, test_arg_max_refusals);
	tcase_add_test(tc, test_cast);
	tcase_add_test(tc, test_cast_refusals);
	tcase_add_test(tc, test_gather_nd);
	tcase_add_test(tc, test_gather_nd_out_of_range);
	tcase_add_test(tc, test_gather_nd_refusals);
	tcase_add_test(tc, test_pack_unpack);
	tcase_add_test(tc, test_pack_unpack_refusals);
	tcase_add_test(tc, test_floor_div);
	tcase_add_test(tc, test_floor_div_by_zero);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
