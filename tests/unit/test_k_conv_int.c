/* test_k_conv_int.c - CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on
 * uint8 and int8 tensors.
 *
 * Every case is a one-op model written with tflite_builder and run through
 * the reader, graph and session; its output must equal, byte for byte, a
 * naive integer loop in this file written from TFLite's formulas:
 *   acc = bias[c] + sum over in-bounds taps of (x - xz) * (w - wz)
 *   y   = clamp(yz + requant(acc, M[c], shift[c]), act_lo, act_hi)
 * with the multiplier from QuantizeMultiplier of the real scale ratio
 * (uint8 CONV_2D / DEPTHWISE and per-tensor FULLY_CONNECTED round
 * input_scale * filter_scale to float first, as TFLite's legacy
 * GetQuantizedConvolutionMultipler does; per-channel ones are computed in
 * double), the activation range from CalculateActivationRangeQuantized,
 * and requant = gemmlowp double rounding (SaturatingRoundingDoublingHighMul
 * then RoundingDivideByPOT, as gemmlowp defines them) for uint8 CONV_2D and
 * FULLY_CONNECTED and every DEPTHWISE_CONV_2D, ruy single rounding for int8
 * CONV_2D and FULLY_CONNECTED.  The oracle sums modulo 2^32 like TFLite's
 * int32 arithmetic.  No tolerance: integer kernels are exact.
 *
 * Cases are random (odd channel counts, strides, dilations, both paddings,
 * depth multipliers, zero points 0 / 128 / random, narrow and full-range
 * weights, multipliers below and above 1, every activation) plus fixed
 * shapes from the MobileNets.  Variants: Check forks each test, so a test
 * sets LITESERVE_FORCE_REFERENCE or LITESERVE_CPU before the engine first
 * reads them and then asserts the variant prepare chose; fast variants
 * are thereby compared with the same oracle as the reference.  Thread
 * count: cases alternate 1 and 2 threads, and one test checks that 1 and 2
 * threads give identical bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "testutil.h"
#include "tflite_builder.h"

enum { OP_CONV = 3, OP_DW = 4, OP_FC = 9 };	  /* BuiltinOperator codes */
enum { OPTS_CONV = 1, OPTS_DW = 2, OPTS_FC = 8 }; /* BuiltinOptions union indices */
enum { SAME = 0, VALID = 1 };

typedef enum expect {
	EXPECT_ANY,
	EXPECT_REF,  /* LITESERVE_FORCE_REFERENCE=1, or LITESERVE_CPU=generic */
	EXPECT_FAST, /* the best variant of this CPU */
} expect;

static expect g_expect = EXPECT_ANY;

static bool forked(void)
{
	const char *f = getenv("CK_FORK");
	return !(f && strcmp(f, "no") == 0);
}

static bool set_switch(const char *name, const char *value)
{
	if (!forked()) {
		fprintf(stderr, "\n*** SKIP: CK_FORK=no, cannot test with %s=%s ***\n\n", name, value);
		return false;
	}
	setenv(name, value, 1);
	return true;
}

/* --- the oracle's arithmetic (TFLite's, written from its definitions) --- */

/* QuantizeMultiplier: m = q * 2^(shift - 31), q in [2^30, 2^31). */
static void quantize_multiplier(double m, int32_t *q, int *shift)
{
	double frac;
	int64_t qf;

	if (m == 0.0) {
		*q = 0;
		*shift = 0;
		return;
	}
	frac = frexp(m, shift);
	qf = (int64_t)round(frac * 2147483648.0); /* TfLiteRound: half away from zero */
	if (qf == 2147483648ll) {
		qf /= 2;
		++*shift;
	}
	if (*shift < -31) {
		*shift = 0;
		qf = 0;
	}
	if (*shift > 30) {
		*shift = 30;
		qf = 2147483647ll;
	}
	*q = (int32_t)qf;
}

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static int32_t srdhm(int32_t a, int32_t b)
{
	bool overflow = a == b && a == INT32_MIN;
	int64_t ab = (int64_t)a * b;
	int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
	int32_t high = (int32_t)((ab + nudge) / (1ll << 31));
	return overflow ? INT32_MAX : high;
}

/* gemmlowp RoundingDivideByPOT. */
static int32_t rdbpot(int32_t x, int exponent)
{
	int32_t mask = (int32_t)((1ll << exponent) - 1);
	int32_t remainder = x & mask;
	int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static int32_t requant(int32_t acc, int32_t q, int shift, bool single)
{
	if (single) {
		int total = 31 - shift;
		return (int32_t)(((int64_t)acc * q + (1ll << (total - 1))) >> total);
	}
	{
		int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
		return rdbpot(srdhm((int32_t)((uint32_t)acc << left), q), right);
	}
}

/* CalculateActivationRangeQuantized. */
static void act_range(int act, float scale, int32_t zp, int32_t qmin, int32_t qmax, int32_t *lo, int32_t *hi)
{
	int32_t q0 = zp + (int32_t)roundf(0.0f / scale), q6 = zp + (int32_t)roundf(6.0f / scale);
	int32_t qm1 = zp + (int32_t)roundf(-1.0f / scale), q1 = zp + (int32_t)roundf(1.0f / scale);

	*lo = qmin;
	*hi = qmax;
	if (act == 1) {
		*lo = q0 > qmin ? q0 : qmin;
	} else if (act == 3) {
		*lo = q0 > qmin ? q0 : qmin;
		*hi = q6 < qmax ? q6 : qmax;
	} else if (act == 2) {
		*lo = qm1 > qmin ? qm1 : qmin;
		*hi = q1 < qmax ? q1 : qmax;
	}
}

/* --- cases ------------------------------------------------------------ */

typedef struct qcase {
	int op;	       /* OP_CONV, OP_DW or OP_FC */
	nn_dtype type; /* NN_U8 or NN_I8 */
	int n, ih, iw, ic; /* FC: n = rows, ic = depth (ih = iw = 1) */
	int oc;		   /* conv: filters; depthwise: ic * mult; FC: units */
	int kh, kw, sh, sw, dh, dw;
	int padding, act;
	bool bias;
	bool per_channel; /* int8: one filter scale per output channel */
	bool wide_w;	  /* weights over the whole range (uint8: needs row sums in VNNI) */
	int big_mult;	  /* 1: real multiplier above 1 (left shifts); 2: below 2^-22 (AVX-512 adds the output
			   * zero point apart from the rounding constant) */
	int32_t xz, wz, yz;
	int threads;
	uint32_t seed;
} qcase;

static const char *op_name(int op)
{
	return op == OP_CONV ? "conv" : op == OP_DW ? "depthwise" : "fc";
}

static void q_desc(const qcase *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%s %s in [%d,%d,%d,%d] oc %d k %dx%d s %dx%d d %dx%d %s act %d bias %d pc %d wide %d big %d "
		 "zp %d/%d/%d threads %d seed %u",
		 op_name(c->op), nn_dtype_name(c->type), c->n, c->ih, c->iw, c->ic, c->oc, c->kh, c->kw, c->sh,
		 c->sw, c->dh, c->dw, c->padding == SAME ? "SAME" : "VALID", c->act, c->bias, c->per_channel,
		 c->wide_w, c->big_mult, c->xz, c->wz, c->yz, c->threads, c->seed);
}

static int geom(int padding, int in, int k, int s, int d, int *pad)
{
	int eff = (k - 1) * d + 1;
	int out = padding == SAME ? (in + s - 1) / s : (in - eff + 1 <= 0 ? 0 : (in - eff + 1 + s - 1) / s);
	int total = (out - 1) * s + eff - in;

	*pad = total > 0 ? total / 2 : 0;
	return out;
}

/* Everything a case's model and oracle need. */
typedef struct qdata {
	int oh, ow, pad_h, pad_w;
	size_t ni, nf, no;
	int depth; /* taps per output (for the scale choice) */
	uint8_t *in, *f, *want;
	int32_t *bias;
	float in_s, out_s, *w_s;
	int32_t *mult;
	int *shift;
	int32_t lo, hi;
	bool single;
} qdata;

static int32_t q_load(nn_dtype t, const uint8_t *p, size_t i)
{
	return t == NN_I8 ? (int32_t)((const int8_t *)p)[i] : (int32_t)p[i];
}

static void q_store(nn_dtype t, uint8_t *p, size_t i, int32_t v)
{
	if (t == NN_I8)
		((int8_t *)p)[i] = (int8_t)v;
	else
		p[i] = (uint8_t)v;
}

static int32_t rand_in(uint32_t *rng, int32_t lo, int32_t hi)
{
	return lo + (int32_t)(ts_rand(rng) % (uint32_t)(hi - lo + 1));
}

/* Fills data, scales and multipliers of a case. */
static void q_make(const qcase *c, qdata *d)
{
	uint32_t rng = c->seed;
	int32_t qmin = c->type == NN_I8 ? -128 : 0, qmax = c->type == NN_I8 ? 127 : 255;
	int nscales = c->per_channel ? c->oc : 1;
	bool float_product = c->type == NN_U8 || (c->op == OP_FC && !c->per_channel);

	memset(d, 0, sizeof(*d));
	if (c->op == OP_FC) {
		d->oh = d->ow = 1;
		d->ni = (size_t)c->n * c->ic;
		d->nf = (size_t)c->oc * c->ic;
		d->no = (size_t)c->n * c->oc;
		d->depth = c->ic;
	} else {
		d->oh = geom(c->padding, c->ih, c->kh, c->sh, c->dh, &d->pad_h);
		d->ow = geom(c->padding, c->iw, c->kw, c->sw, c->dw, &d->pad_w);
		d->ni = (size_t)c->n * c->ih * c->iw * c->ic;
		d->nf = c->op == OP_CONV ? (size_t)c->oc * c->kh * c->kw * c->ic : (size_t)c->kh * c->kw * c->oc;
		d->no = (size_t)c->n * d->oh * d->ow * c->oc;
		d->depth = c->kh * c->kw * (c->op == OP_CONV ? c->ic : 1);
	}
	d->in = malloc(d->ni);
	d->f = malloc(d->nf);
	d->want = malloc(d->no);
	d->bias = malloc((size_t)c->oc * sizeof(int32_t));
	d->w_s = malloc((size_t)nscales * sizeof(float));
	d->mult = malloc((size_t)c->oc * sizeof(int32_t));
	d->shift = malloc((size_t)c->oc * sizeof(int));
	for (size_t i = 0; i < d->ni; i++)
		q_store(c->type, d->in, i, rand_in(&rng, qmin, qmax));
	for (size_t i = 0; i < d->nf; i++) {
		int32_t w;
		if (c->wide_w)
			w = rand_in(&rng, qmin, qmax);
		else if (c->type == NN_U8)
			w = rand_in(&rng, c->wz - 100 < 0 ? 0 : c->wz - 100, c->wz + 100 > 255 ? 255 : c->wz + 100);
		else
			w = rand_in(&rng, -127, 127);
		q_store(c->type, d->f, i, w);
	}
	for (int o = 0; o < c->oc; o++)
		d->bias[o] = rand_in(&rng, -30000, 30000);
	d->in_s = ts_randf(&rng, 0.005f, 0.05f);
	for (int i = 0; i < nscales; i++)
		d->w_s[i] = ts_randf(&rng, 0.002f, 0.02f);
	if (c->big_mult == 1) /* multiplier in (1.1, 4): left shifts */
		d->out_s = d->in_s * d->w_s[0] * ts_randf(&rng, 0.25f, 0.9f);
	else if (c->big_mult == 2) /* 2^-28 .. 2^-23: outputs of a few codes from the largest sums */
		d->out_s = d->in_s * d->w_s[0] * (float)(1 << (23 + ts_rand(&rng) % 5)) * ts_randf(&rng, 1.0f, 1.9f);
	else /* outputs spread over a few dozen codes */
		d->out_s = d->in_s * d->w_s[0] * sqrtf((float)d->depth) * 120.0f * ts_randf(&rng, 0.5f, 2.0f);
	for (int o = 0; o < c->oc; o++) {
		float ws = d->w_s[c->per_channel ? o : 0];
		double real;
		if (float_product) {
			float prod = d->in_s * ws;
			real = (double)prod / (double)d->out_s;
		} else {
			real = (double)d->in_s * (double)ws / (double)d->out_s;
		}
		quantize_multiplier(real, &d->mult[o], &d->shift[o]);
	}
	d->single = c->op != OP_DW && c->type == NN_I8;
	act_range(c->act, d->out_s, c->yz, qmin, qmax, &d->lo, &d->hi);
}

static void q_free(qdata *d)
{
	free(d->in);
	free(d->f);
	free(d->want);
	free(d->bias);
	free(d->w_s);
	free(d->mult);
	free(d->shift);
}

static int32_t q_finish(const qcase *c, const qdata *d, int o, uint32_t acc)
{
	int32_t v = requant((int32_t)acc, d->mult[o], d->shift[o], d->single);
	v = (int32_t)((uint32_t)v + (uint32_t)c->yz);
	v = v < d->lo ? d->lo : v;
	return v > d->hi ? d->hi : v;
}

/* The oracle. */
static void q_naive(const qcase *c, qdata *d)
{
	int32_t wz = c->wz;

	if (c->op == OP_FC) {
		for (int r = 0; r < c->n; r++)
			for (int u = 0; u < c->oc; u++) {
				uint32_t acc = c->bias ? (uint32_t)d->bias[u] : 0;
				for (int k = 0; k < c->ic; k++)
					acc += (uint32_t)((q_load(c->type, d->in, (size_t)r * c->ic + k) - c->xz) *
							  (q_load(c->type, d->f, (size_t)u * c->ic + k) - wz));
				q_store(c->type, d->want, (size_t)r * c->oc + u, q_finish(c, d, u, acc));
			}
		return;
	}
	for (int b = 0; b < c->n; b++)
		for (int oy = 0; oy < d->oh; oy++)
			for (int ox = 0; ox < d->ow; ox++)
				for (int o = 0; o < c->oc; o++) {
					uint32_t acc = c->bias ? (uint32_t)d->bias[o] : 0;
					for (int ky = 0; ky < c->kh; ky++)
						for (int kx = 0; kx < c->kw; kx++) {
							int iy = oy * c->sh - d->pad_h + ky * c->dh;
							int ix = ox * c->sw - d->pad_w + kx * c->dw;
							size_t ib;
							if (iy < 0 || iy >= c->ih || ix < 0 || ix >= c->iw)
								continue;
							ib = (((size_t)b * c->ih + iy) * c->iw + ix) * c->ic;
							if (c->op == OP_CONV) {
								for (int i = 0; i < c->ic; i++) {
									int32_t x = q_load(c->type, d->in, ib + i);
									int32_t w = q_load(
									    c->type, d->f,
									    (((size_t)o * c->kh + ky) * c->kw + kx) *
										    c->ic +
										i);
									acc += (uint32_t)((x - c->xz) * (w - wz));
								}
							} else {
								int32_t x = q_load(c->type, d->in,
										   ib + o / (c->oc / c->ic));
								int32_t w = q_load(
								    c->type, d->f,
								    ((size_t)ky * c->kw + kx) * c->oc + o);
								acc += (uint32_t)((x - c->xz) * (w - wz));
							}
						}
					q_store(c->type, d->want, (((size_t)b * d->oh + oy) * d->ow + ox) * c->oc + o,
						q_finish(c, d, o, acc));
				}
}

/* The model of a case.  The bias carries scale in_s * w_s (per channel
 * when the filter is), as converters write it. */
static uint8_t *q_build(const qcase *c, const qdata *d, size_t *size)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int nscales = c->per_channel ? c->oc : 1;
	int64_t *wzs = calloc((size_t)nscales, sizeof(int64_t)), xz = c->xz, yz = c->yz;
	int64_t *bzs = calloc((size_t)nscales, sizeof(int64_t));
	float *bs = malloc((size_t)nscales * sizeof(float));
	int32_t fd[4], xd[4], yd[4];
	int fr, xr, yr, x, w, bt = -1, y, axis;
	uint8_t *bytes;

	for (int i = 0; i < nscales; i++) {
		wzs[i] = c->wz;
		bs[i] = d->in_s * d->w_s[i];
	}
	if (c->op == OP_CONV) {
		fr = 4, fd[0] = c->oc, fd[1] = c->kh, fd[2] = c->kw, fd[3] = c->ic, axis = 0;
	} else if (c->op == OP_DW) {
		fr = 4, fd[0] = 1, fd[1] = c->kh, fd[2] = c->kw, fd[3] = c->oc, axis = 3;
	} else {
		fr = 2, fd[0] = c->oc, fd[1] = c->ic, axis = 0;
	}
	if (c->op == OP_FC) {
		xr = 2, xd[0] = c->n, xd[1] = c->ic;
		yr = 2, yd[0] = c->n, yd[1] = c->oc;
	} else {
		xr = 4, xd[0] = c->n, xd[1] = c->ih, xd[2] = c->iw, xd[3] = c->ic;
		yr = 4, yd[0] = c->n, yd[1] = d->oh, yd[2] = d->ow, yd[3] = c->oc;
	}
	x = tb_tensor(b, "x", c->type, xr, xd, NULL, 0, &(tb_quant){1, &d->in_s, &xz, 0});
	w = tb_tensor(b, "w", c->type, fr, fd, d->f, d->nf, &(tb_quant){nscales, d->w_s, wzs, axis});
	if (c->bias)
		bt = tb_tensor(b, "b", NN_I32, 1, (int32_t[]){c->oc}, d->bias, (size_t)c->oc * sizeof(int32_t),
			       &(tb_quant){nscales, bs, bzs, 0});
	y = tb_tensor(b, "y", c->type, yr, yd, NULL, 0, &(tb_quant){1, &d->out_s, &yz, 0});
	if (c->op == OP_FC) {
		tb_opt_i8(&o, 0, (int8_t)c->act);
		tb_op(b, OP_FC, NULL, c->type == NN_I8 ? 4 : 1, (int[]){x, w, bt}, 3, (int[]){y}, 1, OPTS_FC, &o);
	} else {
		tb_opt_i8(&o, 0, (int8_t)c->padding);
		tb_opt_i32(&o, 1, c->sw);
		tb_opt_i32(&o, 2, c->sh);
		if (c->op == OP_CONV) {
			tb_opt_i8(&o, 3, (int8_t)c->act);
			tb_opt_i32(&o, 4, c->dw);
			tb_opt_i32(&o, 5, c->dh);
		} else {
			tb_opt_i32(&o, 3, c->oc / c->ic);
			tb_opt_i8(&o, 4, (int8_t)c->act);
			tb_opt_i32(&o, 5, c->dw);
			tb_opt_i32(&o, 6, c->dh);
		}
		tb_op(b, c->op, NULL, c->type == NN_I8 ? 3 : 1, (int[]){x, w, bt}, 3, (int[]){y}, 1,
		      c->op == OP_CONV ? OPTS_CONV : OPTS_DW, &o);
	}
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, size);
	tb_free(b);
	free(wzs);
	free(bzs);
	free(bs);
	return bytes;
}

static const char *fast_impl(const qcase *c)
{
	if (c->op == OP_DW) {
		if (c->oc != c->ic)
			return "ref";
		return nn_cpu_avx512vnni() ? "avx512vnni" : nn_cpu_avx512() ? "avx512" : nn_cpu_avx2() ? "avx2" : "ref";
	}
	return nn_cpu_avx512vnni() ? "avx512vnni" : nn_cpu_avx2() ? "avx2" : "ref";
}

static void check_impl(const qcase *c, const char *impl, const char *desc)
{
	if (g_expect == EXPECT_REF)
		ck_assert_msg(!strcmp(impl, "ref"), "%s: chose %s, expected ref", desc, impl);
	else if (g_expect == EXPECT_FAST)
		ck_assert_msg(!strcmp(impl, fast_impl(c)), "%s: chose %s, expected %s", desc, impl, fast_impl(c));
}

/* Runs one case and checks every byte; hands back the output if asked. */
static void q_run(const qcase *c, uint8_t **out_copy)
{
	qdata d;
	char desc[320];
	ts_model m;
	nn_err err = {0};
	uint8_t *bytes;
	size_t size;
	const nn_tensor *y;

	q_desc(c, desc, sizeof(desc));
	q_make(c, &d);
	ck_assert_msg(d.oh > 0 && d.ow > 0, "%s: test case has no output", desc);
	q_naive(c, &d);
	bytes = q_build(c, &d, &size);
	if (ts_model_load(&m, bytes, size, c->threads, &err) != NN_OK)
		ck_abort_msg("%s: load failed: %s", desc, err.msg);
	check_impl(c, m.graph->nodes[0].impl, desc);
	memcpy(nn_session_input(m.session, 0)->data, d.in, d.ni);
	if (nn_session_invoke(m.session, &err) != NN_OK)
		ck_abort_msg("%s: invoke failed: %s", desc, err.msg);
	y = nn_session_output(m.session, 0);
	ck_assert_msg(y->bytes == d.no, "%s: output has %zu bytes, expected %zu", desc, y->bytes, d.no);
	for (size_t i = 0; i < d.no; i++)
		if (((const uint8_t *)y->data)[i] != d.want[i])
			ck_abort_msg("%s: element %zu (channel %zu) is %d, expected %d", desc, i, i % (size_t)c->oc,
				     q_load(c->type, y->data, i), q_load(c->type, d.want, i));
	if (out_copy) {
		*out_copy = malloc(d.no);
		memcpy(*out_copy, y->data, d.no);
	}
	ts_model_free(&m);
	q_free(&d);
}

static int pick(uint32_t *rng, const int *v, int n)
{
	return v[ts_rand(rng) % (uint32_t)n];
}

/* Zero points: 0, the middle, or anywhere in the range. */
static int32_t pick_zp(uint32_t *rng, nn_dtype t)
{
	int k = (int)(ts_rand(rng) % 4);
	if (t == NN_U8)
		return k == 0 ? 0 : k == 1 ? 128 : rand_in(rng, 0, 255);
	return k == 0 ? 0 : k == 1 ? -128 : k == 2 ? -1 : rand_in(rng, -128, 127);
}

static qcase q_random(uint32_t *rng, int op, nn_dtype t, int i)
{
	static const int conv_ic[] = {1, 2, 3, 4, 5, 8, 16, 17, 24, 33};
	static const int conv_oc[] = {1, 4, 7, 16, 17, 33, 64, 70};
	static const int dw_ic[] = {1, 3, 8, 15, 16, 17, 32, 40, 64, 67, 80, 129};
	static const int mults[] = {1, 1, 1, 2, 3};
	static const int ks[] = {1, 1, 2, 3, 3, 5};
	static const int dils[] = {1, 1, 2, 4};
	qcase c;
	int p;

	do {
		memset(&c, 0, sizeof(c));
		c.op = op;
		c.type = t;
		c.n = 1 + (int)(ts_rand(rng) % 2);
		if (op == OP_FC) {
			c.n = 1 + (int)(ts_rand(rng) % 9);
			c.ih = c.iw = c.kh = c.kw = c.sh = c.sw = c.dh = c.dw = 1;
			c.ic = 1 + (int)(ts_rand(rng) % 300);
			c.oc = 1 + (int)(ts_rand(rng) % 150);
		} else {
			c.ih = 1 + (int)(ts_rand(rng) % 13);
			c.iw = 1 + (int)(ts_rand(rng) % 13);
			if (op == OP_CONV) {
				c.ic = pick(rng, conv_ic, 10);
				c.oc = pick(rng, conv_oc, 8);
			} else {
				c.ic = pick(rng, dw_ic, 12);
				c.oc = c.ic * pick(rng, mults, 5);
			}
			c.kh = pick(rng, ks, 6);
			c.kw = pick(rng, ks, 6);
			c.sh = 1 + (int)(ts_rand(rng) % 3);
			c.sw = ts_rand(rng) % 2 ? c.sh : 1 + (int)(ts_rand(rng) % 3);
			c.dh = pick(rng, dils, 4);
			c.dw = ts_rand(rng) % 2 ? c.dh : pick(rng, dils, 4);
			c.padding = (int)(ts_rand(rng) % 2);
		}
		c.act = (int)(ts_rand(rng) % 4);
		c.bias = ts_rand(rng) % 4 != 0;
		c.per_channel = t == NN_I8 && ts_rand(rng) % 4 != 0;
		c.wide_w = ts_rand(rng) % 2;
		c.big_mult = ts_rand(rng) % 8 == 0 ? 1 : ts_rand(rng) % 6 == 0 ? 2 : 0;
		c.xz = pick_zp(rng, t);
		c.yz = pick_zp(rng, t);
		/* int8 filters are symmetric, except per-tensor FULLY_CONNECTED weights */
		c.wz = t == NN_U8 ? pick_zp(rng, t) : (op == OP_FC && !c.per_channel && ts_rand(rng) % 2 ? rand_in(rng, -20, 20) : 0);
		c.threads = 1 + i % 2;
		c.seed = ts_rand(rng);
	} while (op != OP_FC && (geom(c.padding, c.ih, c.kh, c.sh, c.dh, &p) <= 0 ||
				 geom(c.padding, c.iw, c.kw, c.sw, c.dw, &p) <= 0));
	return c;
}

static void q_battery(int op, nn_dtype t, int n_cases, uint32_t seed)
{
	uint32_t rng = seed;

	for (int i = 0; i < n_cases; i++) {
		qcase c = q_random(&rng, op, t, i);
		q_run(&c, NULL);
	}
}

/* MobileNet layers and shapes that reach the paths small random cases
 * miss: several pixel tiles, channel chunks, deep im2col rows, 1x1 GEMMs,
 * long FULLY_CONNECTED rows.  Each runs in both dtypes. */
static void q_fixed(void)
{
	static const qcase cases[] = {
	    /* op, type, n ih iw ic, oc, kh kw sh sw dh dw, padding, act, bias, pc, wide, big */
	    /* stem: 3x3 stride 2 SAME, 3 channels */
	    {OP_CONV, 0, 1, 32, 32, 3, 32, 3, 3, 2, 2, 1, 1, SAME, 3, true, true, true, false, 0, 0, 0, 0, 0},
	    /* expansion 1x1 over many pixels: several tiles */
	    {OP_CONV, 0, 1, 28, 28, 24, 144, 1, 1, 1, 1, 1, 1, SAME, 3, true, true, true, false, 0, 0, 0, 0, 0},
	    /* 1x1 on a 3x3 map, many channels: channel chunks */
	    {OP_CONV, 0, 1, 3, 3, 64, 300, 1, 1, 1, 1, 1, 1, VALID, 0, true, true, false, false, 0, 0, 0, 0, 0},
	    /* logits: 1x1 on one pixel, 1001 classes */
	    {OP_CONV, 0, 1, 1, 1, 1280, 1001, 1, 1, 1, 1, 1, 1, VALID, 0, true, true, true, false, 0, 0, 0, 0, 0},
	    /* deep patches (3x3x96) */
	    {OP_CONV, 0, 1, 9, 9, 96, 20, 3, 3, 1, 1, 1, 1, SAME, 2, true, false, true, false, 0, 0, 0, 0, 0},
	    /* 1x1 stride 2: im2col, not the plain copy */
	    {OP_CONV, 0, 1, 9, 8, 5, 6, 1, 1, 2, 2, 1, 1, VALID, 0, true, true, true, true, 0, 0, 0, 0, 0},
	    /* dilated, asymmetric stride and dilation */
	    {OP_CONV, 0, 1, 17, 15, 4, 9, 3, 2, 1, 2, 4, 2, SAME, 1, true, true, true, false, 0, 0, 0, 0, 0},
	    /* depthwise 3x3 stride 1 and 2, MobileNet widths */
	    {OP_DW, 0, 1, 28, 28, 144, 144, 3, 3, 1, 1, 1, 1, SAME, 3, true, true, true, false, 0, 0, 0, 0, 0},
	    {OP_DW, 0, 1, 29, 29, 96, 96, 3, 3, 2, 2, 1, 1, SAME, 3, true, true, true, false, 0, 0, 0, 0, 0},
	    {OP_DW, 0, 1, 7, 7, 960, 960, 3, 3, 1, 1, 1, 1, SAME, 3, true, true, false, false, 0, 0, 0, 0, 0},
	    /* DeepLab-like dilation 2 and 4, odd channels */
	    {OP_DW, 0, 1, 33, 33, 67, 67, 3, 3, 1, 1, 4, 4, VALID, 1, false, true, true, false, 0, 0, 0, 0, 0},
	    {OP_DW, 0, 1, 17, 17, 37, 37, 3, 3, 1, 1, 2, 2, SAME, 0, true, true, true, true, 0, 0, 0, 0, 0},
	    /* stride 1 with a channel tail: 4-window blocks sharing widened columns */
	    {OP_DW, 0, 1, 20, 21, 67, 67, 3, 3, 1, 1, 1, 1, SAME, 3, true, true, true, false, 0, 0, 0, 0, 0},
	    /* 5x5 windows, VALID: 4-window blocks of the generic tap loop */
	    {OP_DW, 0, 1, 19, 22, 40, 40, 5, 5, 1, 1, 1, 1, VALID, 0, true, true, true, false, 0, 0, 0, 0, 0},
	    /* depth multiplier 2 */
	    {OP_DW, 0, 2, 9, 10, 7, 14, 3, 3, 1, 2, 1, 1, SAME, 0, true, true, true, false, 0, 0, 0, 0, 0},
	    /* FULLY_CONNECTED: batch 1 classifier, several rows, long rows */
	    {OP_FC, 0, 1, 1, 1, 1024, 1001, 1, 1, 1, 1, 1, 1, SAME, 0, true, true, true, false, 0, 0, 0, 0, 0},
	    {OP_FC, 0, 37, 1, 1, 200, 70, 1, 1, 1, 1, 1, 1, SAME, 1, true, false, true, false, 0, 0, 0, 0, 0},
	    {OP_FC, 0, 300, 1, 1, 33, 17, 1, 1, 1, 1, 1, 1, SAME, 3, false, true, false, true, 0, 0, 0, 0, 0},
	};
	static const nn_dtype types[] = {NN_U8, NN_I8};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int t = 0; t < 2; t++) {
			qcase c = cases[i];
			c.type = types[t];
			c.per_channel = c.per_channel && c.type == NN_I8;
			c.xz = c.type == NN_U8 ? 128 : -1;
			c.wz = c.type == NN_U8 ? 119 : 0;
			c.yz = c.type == NN_U8 ? (int32_t)(i * 37 % 256) : -128 + (int32_t)(i * 37 % 256);
			c.threads = 1 + (int)(i % 2);
			c.seed = 5000 + (uint32_t)(i * 2 + t);
			q_run(&c, NULL);
		}
}

/* --- tests ------------------------------------------------------------ */

START_TEST(test_conv_u8)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	q_battery(OP_CONV, NN_U8, 200, 101);
}
END_TEST

START_TEST(test_conv_i8)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	q_battery(OP_CONV, NN_I8, 200, 102);
}
END_TEST

START_TEST(test_depthwise_u8)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	q_battery(OP_DW, NN_U8, 200, 103);
}
END_TEST

START_TEST(test_depthwise_i8)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	q_battery(OP_DW, NN_I8, 200, 104);
}
END_TEST

START_TEST(test_fc)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	q_battery(OP_FC, NN_U8, 150, 105);
	q_battery(OP_FC, NN_I8, 150, 106);
}
END_TEST

START_TEST(test_fixed_shapes)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	q_fixed();
}
END_TEST

/* The reference kernels, chosen by LITESERVE_FORCE_REFERENCE=1. */
START_TEST(test_reference_variants)
{
	if (!set_switch("LITESERVE_FORCE_REFERENCE", "1"))
		return;
	g_expect = EXPECT_REF;
	q_battery(OP_CONV, NN_U8, 60, 201);
	q_battery(OP_CONV, NN_I8, 60, 202);
	q_battery(OP_DW, NN_U8, 60, 203);
	q_battery(OP_DW, NN_I8, 60, 204);
	q_battery(OP_FC, NN_U8, 40, 205);
	q_battery(OP_FC, NN_I8, 40, 206);
	q_fixed();
}
END_TEST

/* AVX2 variants on a machine that has more. */
START_TEST(test_avx2_variants)
{
	if (!set_switch("LITESERVE_CPU", "avx2"))
		return;
	if (!nn_cpu_avx2()) {
		fprintf(stderr, "\n*** SKIP: this CPU has no AVX2 ***\n\n");
		return;
	}
	g_expect = EXPECT_FAST;
	ck_assert_str_eq(fast_impl(&(qcase){.op = OP_CONV}), "avx2");
	q_battery(OP_CONV, NN_U8, 120, 301);
	q_battery(OP_CONV, NN_I8, 120, 302);
	q_battery(OP_DW, NN_U8, 120, 303);
	q_battery(OP_DW, NN_I8, 120, 304);
	q_battery(OP_FC, NN_U8, 60, 305);
	q_battery(OP_FC, NN_I8, 60, 306);
	q_fixed();
}
END_TEST

/* AVX-512 without VNNI: the depthwise rows stay AVX-512, the GEMMs fall
 * back to AVX2. */
START_TEST(test_avx512_variants)
{
	if (!set_switch("LITESERVE_CPU", "avx512"))
		return;
	if (!nn_cpu_avx512()) {
		fprintf(stderr, "\n*** SKIP: this CPU has no AVX-512 ***\n\n");
		return;
	}
	g_expect = EXPECT_FAST;
	q_battery(OP_CONV, NN_I8, 60, 401);
	q_battery(OP_DW, NN_U8, 60, 402);
	q_fixed();
}
END_TEST

/* A CPU without AVX2 gets the references. */
START_TEST(test_generic_cpu)
{
	if (!set_switch("LITESERVE_CPU", "generic"))
		return;
	g_expect = EXPECT_REF;
	q_battery(OP_CONV, NN_U8, 30, 501);
	q_battery(OP_DW, NN_I8, 30, 502);
	q_battery(OP_FC, NN_I8, 30, 503);
}
END_TEST

/* 1 and 2 threads give the same bytes (the work split depends on shapes only). */
START_TEST(test_threads_agree)
{
	static const qcase cases[] = {
	    {OP_CONV, NN_U8, 1, 30, 30, 16, 96, 1, 1, 1, 1, 1, 1, SAME, 3, true, false, true, false, 128, 100, 0, 0, 0},
	    {OP_CONV, NN_I8, 1, 23, 23, 8, 40, 3, 3, 2, 2, 1, 1, SAME, 3, true, true, true, false, -1, 0, -128, 0, 0},
	    {OP_DW, NN_U8, 1, 20, 20, 48, 48, 3, 3, 1, 1, 1, 1, SAME, 3, true, false, true, false, 128, 130, 0, 0, 0},
	    {OP_FC, NN_I8, 3, 1, 1, 500, 400, 1, 1, 1, 1, 1, 1, SAME, 0, true, true, true, false, 5, 0, 7, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		qcase c = cases[i];
		uint8_t *one, *two;
		qdata d;

		c.seed = 77 + (uint32_t)i;
		c.threads = 1;
		q_run(&c, &one);
		c.threads = 2;
		q_run(&c, &two);
		q_make(&c, &d);
		ck_assert_msg(memcmp(one, two, d.no) == 0, "case %zu: 1 and 2 threads differ", i);
		q_free(&d);
		free(one);
		free(two);
	}
}
END_TEST

/* A hostile depth: the int32 sum wraps (TFLite's does too, on hardware);
 * every variant must wrap identically.  40000 taps of 255 * 255. */
START_TEST(test_wrapping_sum)
{
	qcase c = {OP_FC, NN_U8, 2, 1, 1, 40000, 20, 1, 1, 1, 1, 1, 1, SAME, 0, true, false, true, false, 0, 0, 0, 0, 0};

	c.seed = 9;
	c.threads = 2;
	q_run(&c, NULL);
	c.type = NN_I8;
	c.xz = 127;
	c.yz = 3;
	q_run(&c, NULL);
}
END_TEST

START_TEST(test_wrapping_extremes)
{
	/* all inputs and weights at the range ends: sums near and past 2^31 */
	for (int t = 0; t < 2; t++) {
		nn_dtype type = t ? NN_I8 : NN_U8;
		int k = 70000; /* 70000 * 255 * 127 > 2^31 */
		size_t size;
		uint8_t *x = malloc((size_t)k), *w = malloc((size_t)k * 3), *bytes;
		float s1 = 1.0f, s2 = 1e-6f, s3 = 1.0f;
		int64_t zx = t ? 127 : 255, zw = 0, zy = 0;
		int32_t bias[3] = {0, 1000, -1000};
		tb_model *b = tb_new();
		ts_model m;
		nn_err err = {0};
		int xi, wi, bi, yi;
		const nn_tensor *y;

		for (int i = 0; i < k; i++)
			x[i] = t ? 0x80 : 0; /* x - xz = -255 */
		for (int i = 0; i < 3 * k; i++)
			w[i] = t ? 0x81 : 255; /* int8: -127; uint8: 255 */
		xi = tb_tensor(b, "x", type, 2, (int32_t[]){1, k}, NULL, 0, &(tb_quant){1, &s1, &zx, 0});
		wi = tb_tensor(b, "w", type, 2, (int32_t[]){3, k}, w, (size_t)k * 3, &(tb_quant){1, &s2, &zw, 0});
		bi = tb_tensor(b, "b", NN_I32, 1, (int32_t[]){3}, bias, sizeof(bias), NULL);
		yi = tb_tensor(b, "y", type, 2, (int32_t[]){1, 3}, NULL, 0, &(tb_quant){1, &s3, &zy, 0});
		tb_op(b, OP_FC, NULL, 1, (int[]){xi, wi, bi}, 3, (int[]){yi}, 1, OPTS_FC, NULL);
		tb_io(b, 1, (int[]){xi}, 1, (int[]){yi});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_msg(ts_model_load(&m, bytes, size, 1, &err) == NN_OK, "%s", err.msg);
		memcpy(nn_session_input(m.session, 0)->data, x, (size_t)k);
		ck_assert(nn_session_invoke(m.session, &err) == NN_OK);
		y = nn_session_output(m.session, 0);
		for (int u = 0; u < 3; u++) {
			int32_t q, want;
			int shift;
			uint32_t acc = (uint32_t)bias[u];
			for (int i = 0; i < k; i++)
				acc += (uint32_t)((-255) * (t ? -127 : 255));
			quantize_multiplier((double)(s1 * s2) / s3, &q, &shift);
			want = requant((int32_t)acc, q, shift, t == 1);
			want = want < (t ? -128 : 0) ? (t ? -128 : 0) : want > (t ? 127 : 255) ? (t ? 127 : 255) : want;
			ck_assert_int_eq(q_load(type, y->data, (size_t)u), want);
		}
		ts_model_free(&m);
		free(x);
		free(w);
	}
}
END_TEST

/* --- refusals --------------------------------------------------------- */

typedef struct bad_q {
	int op;
	nn_dtype x_type, w_type, b_type;
	float x_s, w_s, y_s;
	int64_t x_zp, w_zp, y_zp;
	int w_scales;	    /* 1, or per channel */
	int w_axis;
	bool x_quant;	    /* input has quantization parameters */
	bool w_input;	    /* the filter is a graph input */
	int act;
} bad_q;

static void expect_refused(const bad_q *c, nn_status st, const char *const *needles)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	static uint8_t zeros[4096];
	float ws[8];
	int64_t wz[8];
	int32_t fd[4];
	int fr, x, w, bt, y;
	size_t size;
	uint8_t *bytes;
	ts_model m;
	nn_err err = {0};
	nn_status got;
	int64_t xz = c->x_zp, yz = c->y_zp;
	float xs = c->x_s, ys = c->y_s;

	for (int i = 0; i < 8; i++) {
		ws[i] = c->w_s;
		wz[i] = c->w_zp;
	}
	if (c->op == OP_CONV)
		fr = 4, fd[0] = 8, fd[1] = 3, fd[2] = 3, fd[3] = 4;
	else if (c->op == OP_DW)
		fr = 4, fd[0] = 1, fd[1] = 3, fd[2] = 3, fd[3] = 8;
	else
		fr = 2, fd[0] = 8, fd[1] = 4;
	if (c->op == OP_FC)
		x = tb_tensor(b, "x", c->x_type, 2, (int32_t[]){2, 4}, NULL, 0,
			      c->x_quant ? &(tb_quant){1, &xs, &xz, 0} : NULL);
	else
		x = tb_tensor(b, "x", c->x_type, 4, (int32_t[]){1, 6, 6, 4}, NULL, 0,
			      c->x_quant ? &(tb_quant){1, &xs, &xz, 0} : NULL);
	w = tb_tensor(b, "w", c->w_type, fr, fd, c->w_input ? NULL : zeros,
		      (size_t)fd[0] * fd[1] * (fr == 4 ? (size_t)fd[2] * fd[3] : 1) * nn_dtype_size(c->w_type),
		      &(tb_quant){c->w_scales, ws, wz, c->w_axis});
	bt = tb_tensor(b, "b", c->b_type, 1, (int32_t[]){8}, zeros, 8 * nn_dtype_size(c->b_type), NULL);
	y = tb_tensor(b, "y", c->x_type, 0, NULL, NULL, 0, &(tb_quant){1, &ys, &yz, 0});
	if (c->op == OP_FC) {
		tb_opt_i8(&o, 0, (int8_t)c->act);
	} else {
		tb_opt_i8(&o, 0, SAME);
		tb_opt_i32(&o, 1, 1);
		tb_opt_i32(&o, 2, 1);
		tb_opt_i8(&o, c->op == OP_CONV ? 3 : 4, (int8_t)c->act);
	}
	tb_op(b, c->op, NULL, 1, (int[]){x, w, bt}, 3, (int[]){y}, 1,
	      c->op == OP_CONV ? OPTS_CONV : c->op == OP_DW ? OPTS_DW : OPTS_FC, &o);
	if (c->w_input)
		tb_io(b, 2, (int[]){x, w}, 1, (int[]){y});
	else
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, &size);
	tb_free(b);
	got = ts_model_load(&m, bytes, size, 1, &err);
	ck_assert_msg(got == st, "%s: status %s, expected %s (%s)", op_name(c->op), nn_status_name(got),
		      nn_status_name(st), err.msg);
	for (int i = 0; needles && needles[i]; i++)
		ck_assert_msg(strstr(err.msg, needles[i]) != NULL, "%s: message '%s' lacks '%s'", op_name(c->op),
			      err.msg, needles[i]);
	ts_model_free(&m);
}

START_TEST(test_refusals)
{
	static const int ops[] = {OP_CONV, OP_DW, OP_FC};

	for (int i = 0; i < 3; i++) {
		int op = ops[i];
		const char *name = op == OP_CONV ? "CONV_2D" : op == OP_DW ? "DEPTHWISE_CONV_2D" : "FULLY_CONNECTED";
		int axis = op == OP_DW ? 3 : 0;
		bad_q u8 = {op, NN_U8, NN_U8, NN_I32, 0.5f, 0.01f, 0.25f, 128, 120, 3, 1, 0, true, false, 0};
		bad_q i8 = {op, NN_I8, NN_I8, NN_I32, 0.5f, 0.01f, 0.25f, -1, 0, -128, 8, axis, true, false, 0};
		bad_q c;

		/* the baselines load */
		expect_refused(&u8, NN_OK, NULL);
		expect_refused(&i8, NN_OK, NULL);

		c = u8, c.x_s = 0.0f;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){name, "input 'x'", "scale 0 is 0", NULL});
		c = u8, c.y_s = -1.0f;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"output 'y'", "must be > 0", NULL});
		c = u8, c.w_s = 0.0f;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"filter 'w'", "must be > 0", NULL});
		c = u8, c.x_zp = 256;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"input 'x'", "zero point 256 outside [0, 255]", NULL});
		c = u8, c.w_zp = -1;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"filter 'w'", "zero point -1", NULL});
		c = i8, c.y_zp = 128;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"output 'y'", "zero point 128 outside [-128, 127]", NULL});
		c = i8, c.w_zp = 3;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"filter 'w'", "zero point 3 must be 0", NULL});
		c = u8, c.b_type = NN_F32;
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"bias type float32", "int32", NULL});
		c = i8, c.b_type = NN_I64;
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"bias type int64", NULL});
		c = u8, c.w_type = NN_I8, c.w_zp = 0;
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"type int8 with uint8 input", NULL});
		c = u8, c.w_scales = 8, c.w_axis = axis;
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"per-channel", "uint8 filter", NULL});
		c = u8, c.x_quant = false;
		expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"input 'x'", "no quantization parameters", NULL});
		c = u8, c.w_input = true;
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"computed at run time", NULL});
		c = i8, c.act = 4; /* TANH */
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"fused activation 4", NULL});
		c = u8, c.x_type = NN_I16, c.w_type = NN_I8, c.w_zp = 0;
		expect_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"input type int16 is not supported", NULL});
		if (op != OP_FC) {
			/* per-channel scales along the wrong dimension: 8 scales on a dimension of 8 */
			c = i8, c.w_axis = op == OP_DW ? 0 : 3;
			if (op == OP_DW) /* dimension 0 of a depthwise filter is 1: the reader refuses */
				expect_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"per-axis scales", NULL});
		}
	}
	/* a conv filter [8,3,3,4] with 4 scales on dimension 3 */
	{
		bad_q c = {OP_CONV, NN_I8, NN_I8, NN_I32, 0.5f, 0.01f, 0.25f, -1, 0, -128, 4, 3, true, false, 0};
		expect_refused(&c, NN_ERR_BAD_MODEL,
			       (const char *[]){"4 scales along dimension 3", "expected 8 along dimension 0", NULL});
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_conv_int");
	TCase *tc = tcase_create("conv_int");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_conv_u8);
	tcase_add_test(tc, test_conv_i8);
	tcase_add_test(tc, test_depthwise_u8);
	tcase_add_test(tc, test_depthwise_i8);
	tcase_add_test(tc, test_fc);
	tcase_add_test(tc, test_fixed_shapes);
	tcase_add_test(tc, test_reference_variants);
	tcase_add_test(tc, test_avx2_variants);
	tcase_add_test(tc, test_avx512_variants);
	tcase_add_test(tc, test_generic_cpu);
	tcase_add_test(tc, test_threads_agree);
	tcase_add_test(tc, test_wrapping_sum);
	tcase_add_test(tc, test_wrapping_extremes);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
