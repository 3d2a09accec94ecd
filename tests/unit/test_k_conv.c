/* test_k_conv.c - CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (float32).
 *
 * Every case is a one-op model written with tflite_builder and run through
 * the reader, graph and session; its output is compared with a naive loop
 * in this file, written from TFLite's definitions (output size and leading
 * pad from the Padding enum, taps outside the input skipped, bias added
 * after the sum, fused activation as a clamp).  The oracle sums in double.
 *
 * Tolerance: |ours - naive| <= 1e-5 * (sum of |products| + |bias|).  It is
 * relative to the magnitude of the terms, not of the result, because a sum
 * of mixed signs can cancel to near zero while each float32 addition still
 * rounds at the terms' scale (GEMM and FMA variants also sum in another
 * order than the reference).  Clamping is 1-Lipschitz, so the bound holds
 * after the activation too.
 *
 * Variants: Check runs each test in a forked child, so a test may set
 * LITESERVE_FORCE_REFERENCE, LITESERVE_CPU or LITESERVE_NO_BLAS before the
 * engine first reads them (each is read once per process) and then assert
 * which variant prepare chose (node->impl).  With CK_FORK=no those tests
 * skip, loudly.  Thread count: cases alternate 1 and 2 threads, and one
 * test checks that 1 and 2 threads give identical bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "cpu.h"
#include "testutil.h"
#include "tflite_builder.h"

enum { OP_CONV = 3, OP_DW = 4, OP_FC = 9 };	  /* BuiltinOperator codes */
enum { OPTS_CONV = 1, OPTS_DW = 2, OPTS_FC = 8 }; /* BuiltinOptions union indices */
enum { SAME = 0, VALID = 1 };

/* What a variant test expects prepare to choose. */
typedef enum expect {
	EXPECT_ANY,
	EXPECT_REF,  /* LITESERVE_FORCE_REFERENCE=1 */
	EXPECT_FAST, /* the default: packed conv (conv_fast_impl), blas fc, best SIMD depthwise multiplier 1 */
	EXPECT_AVX2, /* LITESERVE_CPU=avx2: depthwise multiplier 1 and packed conv must be avx2 */
	EXPECT_GENERIC, /* LITESERVE_CPU=generic: conv on OpenBLAS (or the portable GEMM) */
} expect;

static expect g_expect = EXPECT_ANY;

/* The kernels the registry must map these builtin codes to. */
extern const nn_kernel nn_k_conv_2d, nn_k_depthwise_conv_2d, nn_k_fully_connected;

static bool forked(void)
{
	const char *f = getenv("CK_FORK");
	return !(f && strcmp(f, "no") == 0);
}

/* Sets an engine environment switch; false (after a loud SKIP) when tests
 * do not run in their own process, where the switch could not take effect. */
static bool set_switch(const char *name, const char *value)
{
	if (!forked()) {
		fprintf(stderr, "\n*** SKIP: CK_FORK=no, cannot test with %s=%s ***\n\n", name, value);
		return false;
	}
	setenv(name, value, 1);
	return true;
}

static void fill(uint32_t *rng, float *v, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		v[i] = ts_randf(rng, lo, hi);
}

static float act_lo(int act)
{
	return act == 1 || act == 3 ? 0.0f : act == 2 ? -1.0f : -INFINITY;
}

static float act_hi(int act)
{
	return act == 2 ? 1.0f : act == 3 ? 6.0f : INFINITY;
}

static void check_close(const float *got, const double *want, const double *mag, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double tol = 1e-5 * mag[i] + 1e-30;
		if (!(fabs((double)got[i] - want[i]) <= tol))
			ck_abort_msg("%s: element %zu is %.9g, expected %.9g (tolerance %.3g)", what, i,
				     got[i], want[i], tol);
	}
}

/* --- convolutions ---------------------------------------------------- */

typedef struct cv_case {
	int op; /* OP_CONV or OP_DW */
	int n, ih, iw, ic;
	int oc; /* conv: filters; depthwise: ic * mult */
	int kh, kw, sh, sw, dh, dw;
	int padding, act;
	bool bias;
	bool filter_input; /* the filter is a graph input, not a constant */
	int threads;
} cv_case;

/* TFLite's output size and leading pad, written from the definition:
 * SAME: ceil(in / s); VALID: ceil((in - eff + 1) / s); pad = total / 2. */
static int geom(int padding, int in, int k, int s, int d, int *pad)
{
	int eff = (k - 1) * d + 1;
	int out = padding == SAME ? (in + s - 1) / s : (in - eff + 1 <= 0 ? 0 : (in - eff + 1 + s - 1) / s);
	int total = (out - 1) * s + eff - in;

	*pad = total > 0 ? total / 2 : 0;
	return out;
}

static void cv_desc(const cv_case *c, char *buf, size_t len)
{
	snprintf(
	    buf, len,
	    "%s in [%d,%d,%d,%d] oc %d k %dx%d s %dx%d d %dx%d %s act %d bias %d filter_input %d threads %d",
	    c->op == OP_CONV ? "conv" : "depthwise", c->n, c->ih, c->iw, c->ic, c->oc, c->kh, c->kw, c->sh,
	    c->sw, c->dh, c->dw, c->padding == SAME ? "SAME" : "VALID", c->act, c->bias, c->filter_input,
	    c->threads);
}

/* Builds the model of a case; fdims/filter/bias as given. */
static uint8_t *cv_build(const cv_case *c, const int32_t *odims, const float *filter, const float *bias,
			 size_t *size)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int32_t fd[4];
	size_t fn;
	int x, w, bt = -1, y;
	uint8_t *bytes;

	if (c->op == OP_CONV) {
		fd[0] = c->oc, fd[1] = c->kh, fd[2] = c->kw, fd[3] = c->ic;
	} else {
		fd[0] = 1, fd[1] = c->kh, fd[2] = c->kw, fd[3] = c->oc;
	}
	fn = (size_t)fd[0] * fd[1] * fd[2] * fd[3];
	x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){c->n, c->ih, c->iw, c->ic}, NULL, 0, NULL);
	w = tb_tensor(b, "w", NN_F32, 4, fd, c->filter_input ? NULL : filter, fn * sizeof(float), NULL);
	if (c->bias)
		bt = tb_tensor(b, "b", NN_F32, 1, (int32_t[]){c->oc}, bias, (size_t)c->oc * sizeof(float),
			       NULL);
	y = tb_tensor(b, "y", NN_F32, 4, odims, NULL, 0, NULL);
	tb_opt_i8(&o, 0, (int8_t)c->padding);
	tb_opt_i32(&o, 1, c->sw);
	tb_opt_i32(&o, 2, c->sh);
	if (c->op == OP_CONV) {
		tb_opt_i8(&o, 3, (int8_t)c->act);
		tb_opt_i32(&o, 4, c->dw);
		tb_opt_i32(&o, 5, c->dh);
	} else {
		tb_opt_i32(&o, 3, c->oc / c->ic); /* deprecated depth_multiplier */
		tb_opt_i8(&o, 4, (int8_t)c->act);
		tb_opt_i32(&o, 5, c->dw);
		tb_opt_i32(&o, 6, c->dh);
	}
	tb_op(b, c->op, NULL, 1, (int[]){x, w, bt}, 3, (int[]){y}, 1, c->op == OP_CONV ? OPTS_CONV : OPTS_DW,
	      &o);
	if (c->filter_input)
		tb_io(b, 2, (int[]){x, w}, 1, (int[]){y});
	else
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, size);
	tb_free(b);
	return bytes;
}

/* The oracle: want[] and the magnitude of its terms mag[]. */
static void cv_naive(const cv_case *c, int oh, int ow, int pad_h, int pad_w, const float *in, const float *f,
		     const float *bias, double *want, double *mag)
{
	int mult = c->op == OP_DW ? c->oc / c->ic : 0;

	for (int b = 0; b < c->n; b++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int o = 0; o < c->oc; o++) {
					double acc = 0.0, m = 0.0;
					for (int ky = 0; ky < c->kh; ky++)
						for (int kx = 0; kx < c->kw; kx++) {
							int iy = oy * c->sh - pad_h + ky * c->dh;
							int ix = ox * c->sw - pad_w + kx * c->dw;
							const float *ip;
							if (iy < 0 || iy >= c->ih || ix < 0 || ix >= c->iw)
								continue;
							ip = in +
							     (((size_t)b * c->ih + iy) * c->iw + ix) * c->ic;
							if (c->op == OP_CONV) {
								for (int i = 0; i < c->ic; i++) {
									double t =
									    (double)ip[i] *
									    f[(((size_t)o * c->kh + ky) *
										   c->kw +
									       kx) *
										  c->ic +
									      i];
									acc += t;
									m += fabs(t);
								}
							} else {
								double t =
								    (double)ip[o / mult] *
								    f[((size_t)ky * c->kw + kx) * c->oc + o];
								acc += t;
								m += fabs(t);
							}
						}
					if (bias) {
						acc += bias[o];
						m += fabs(bias[o]);
					}
					if (acc < act_lo(c->act))
						acc = act_lo(c->act);
					if (acc > act_hi(c->act))
						acc = act_hi(c->act);
					size_t k = (((size_t)b * oh + oy) * ow + ox) * c->oc + o;
					want[k] = acc;
					mag[k] = m;
				}
}

/* The conv variant for a constant filter on this CPU (as capped by
 * LITESERVE_CPU): weights packed for the widest ISA, else OpenBLAS; and
 * OpenBLAS, when loaded, for a few output channels (at most a quarter of
 * a panel of 32 or 16) over a window of depth 64 or more. */
static const char *conv_fast_impl(const cv_case *c)
{
	bool one = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1;
	int nr = nn_cpu_avx512() ? 32 : 16, depth = c->kh * c->kw * c->ic;
	bool narrow = c->oc * 4 <= nr && depth >= 64 && nn_blas_available();

	if (!c->filter_input && !narrow && nn_cpu_avx512())
		return one ? "avx512-1x1" : "avx512+im2col";
	if (!c->filter_input && !narrow && nn_cpu_avx2())
		return one ? "avx2-1x1" : "avx2+im2col";
	return one ? "blas-1x1" : "blas+im2col";
}

static void check_impl(const cv_case *c, const char *impl, const char *desc)
{
	bool dw1 = c->op == OP_DW && c->oc == c->ic;
	bool dw3 = dw1 && c->kh == 3 && c->kw == 3 && c->dh == 1 && c->dw == 1 && c->sh == c->sw &&
		   (c->sh == 1 || c->sh == 2);
	const char *fast = c->op == OP_CONV	     ? conv_fast_impl(c)
			   : !dw1		     ? "ref"
			   : nn_cpu_avx512() && dw3 ? "avx512-3x3"
			   : nn_cpu_avx512()	     ? "avx512"
			   : nn_cpu_avx2() && dw3   ? "avx2-3x3"
			   : nn_cpu_avx2()	     ? "avx2"
						     : "ref";

	switch (g_expect) {
	case EXPECT_ANY:
		return;
	case EXPECT_REF:
		ck_assert_msg(!strcmp(impl, "ref"), "%s: chose %s under LITESERVE_FORCE_REFERENCE", desc,
			      impl);
		return;
	case EXPECT_AVX2:
		if (dw1 && nn_cpu_avx2())
			ck_assert_msg(!strcmp(impl, dw3 ? "avx2-3x3" : "avx2"),
				      "%s: chose %s under LITESERVE_CPU=avx2", desc, impl);
		if (c->op == OP_CONV)
			ck_assert_msg(!strcmp(impl, fast), "%s: chose %s under LITESERVE_CPU=avx2, expected %s",
				      desc, impl, fast);
		return;
	case EXPECT_GENERIC:
		if (c->op == OP_CONV)
			ck_assert_msg(!strncmp(impl, "blas", 4), "%s: chose %s under LITESERVE_CPU=generic",
				      desc, impl);
		return;
	case EXPECT_FAST:
		ck_assert_msg(!strcmp(impl, fast), "%s: chose %s, expected %s", desc, impl, fast);
		return;
	}
}

/* Runs one case; when out_copy is given, also hands back the output. */
static void cv_run(const cv_case *c, uint32_t seed, float **out_copy)
{
	uint32_t rng = seed;
	int pad_h, pad_w, oh = geom(c->padding, c->ih, c->kh, c->sh, c->dh, &pad_h);
	int ow = geom(c->padding, c->iw, c->kw, c->sw, c->dw, &pad_w);
	size_t ni = (size_t)c->n * c->ih * c->iw * c->ic;
	size_t nf = c->op == OP_CONV ? (size_t)c->oc * c->kh * c->kw * c->ic : (size_t)c->kh * c->kw * c->oc;
	size_t no = (size_t)c->n * oh * ow * c->oc, size;
	float *in = malloc(ni * sizeof(float)), *f = malloc(nf * sizeof(float)),
	      *bias = malloc(c->oc * sizeof(float));
	double *want = malloc(no * sizeof(double)), *mag = malloc(no * sizeof(double));
	char desc[256];
	ts_model m;
	nn_err err = {0};
	uint8_t *bytes;
	const nn_tensor *y;

	cv_desc(c, desc, sizeof(desc));
	ck_assert_msg(oh > 0 && ow > 0, "%s: test case has no output", desc);
	fill(&rng, in, ni, -2.0f, 2.0f);
	fill(&rng, f, nf, -1.0f, 1.0f);
	fill(&rng, bias, c->oc, -1.0f, 1.0f);
	bytes = cv_build(c, (int32_t[]){c->n, oh, ow, c->oc}, f, bias, &size);
	if (ts_model_load(&m, bytes, size, c->threads, &err) != NN_OK)
		ck_abort_msg("%s: load failed: %s", desc, err.msg);
	check_impl(c, m.graph->nodes[0].impl, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
	if (c->filter_input)
		memcpy(nn_session_input(m.session, 1)->data, f, nf * sizeof(float));
	if (nn_session_invoke(m.session, &err) != NN_OK)
		ck_abort_msg("%s: invoke failed: %s", desc, err.msg);
	y = nn_session_output(m.session, 0);
	ck_assert_int_eq(y->rank, 4);
	ck_assert_msg(y->dims[0] == c->n && y->dims[1] == oh && y->dims[2] == ow && y->dims[3] == c->oc,
		      "%s: output shape [%d,%d,%d,%d], expected [%d,%d,%d,%d]", desc, y->dims[0], y->dims[1],
		      y->dims[2], y->dims[3], c->n, oh, ow, c->oc);
	cv_naive(c, oh, ow, pad_h, pad_w, in, f, c->bias ? bias : NULL, want, mag);
	check_close(y->data, want, mag, no, desc);
	if (out_copy) {
		*out_copy = malloc(no * sizeof(float));
		memcpy(*out_copy, y->data, no * sizeof(float));
	}
	ts_model_free(&m);
	free(in);
	free(f);
	free(bias);
	free(want);
	free(mag);
}

static int pick(uint32_t *rng, const int *v, int n)
{
	return v[ts_rand(rng) % (uint32_t)n];
}

/* A random case with a non-empty output; odd sizes and channel counts,
 * dilations 1, 2 and 4, strides 1..3, both paddings, every activation. */
static cv_case cv_random(uint32_t *rng, int op, int i)
{
	static const int conv_ic[] = {1, 2, 3, 5, 8, 16, 17};
	static const int conv_oc[] = {1, 4, 7, 16, 33};
	static const int dw_ic[] = {1, 3, 8, 16, 17, 32, 40, 64, 67, 80, 129};
	static const int mults[] = {1, 1, 1, 2, 3};
	static const int ks[] = {1, 2, 3, 3, 5};
	static const int dils[] = {1, 1, 2, 4};
	cv_case c;
	int p;

	do {
		memset(&c, 0, sizeof(c));
		c.op = op;
		c.n = 1 + (int)(ts_rand(rng) % 2);
		c.ih = 1 + (int)(ts_rand(rng) % 13);
		c.iw = 1 + (int)(ts_rand(rng) % 13);
		if (op == OP_CONV) {
			c.ic = pick(rng, conv_ic, 7);
			c.oc = pick(rng, conv_oc, 5);
		} else {
			c.ic = pick(rng, dw_ic, 11);
			c.oc = c.ic * pick(rng, mults, 5);
		}
		c.kh = pick(rng, ks, 5);
		c.kw = pick(rng, ks, 5);
		c.sh = 1 + (int)(ts_rand(rng) % 3);
		c.sw = ts_rand(rng) % 2 ? c.sh : 1 + (int)(ts_rand(rng) % 3);
		c.dh = pick(rng, dils, 4);
		c.dw = ts_rand(rng) % 2 ? c.dh : pick(rng, dils, 4);
		c.padding = (int)(ts_rand(rng) % 2);
		c.act = (int)(ts_rand(rng) % 4);
		c.bias = ts_rand(rng) % 4 != 0;
		c.threads = 1 + i % 2;
	} while (geom(c.padding, c.ih, c.kh, c.sh, c.dh, &p) <= 0 ||
		 geom(c.padding, c.iw, c.kw, c.sw, c.dw, &p) <= 0);
	return c;
}

/* Convolutions sized for the packed GEMM's edges: channel counts around
 * its panel widths (16, 32) and not multiples of them, pixel counts that
 * leave partial register blocks (6, 12 rows) and several tiles, deep
 * 1x1 layers that split by channel panels, batch 1..3, threads 1 and 2. */
static cv_case cv_random_packed(uint32_t *rng, int i)
{
	static const int ic[] = {1, 3, 17, 32, 64, 129, 300};
	static const int oc[] = {1, 8, 15, 16, 17, 24, 31, 32, 33, 47, 48, 64, 95, 100};
	static const int ks[] = {1, 1, 3, 3, 5};
	cv_case c;
	int p;

	do {
		memset(&c, 0, sizeof(c));
		c.op = OP_CONV;
		c.n = 1 + (int)(ts_rand(rng) % 3);
		c.ih = 1 + (int)(ts_rand(rng) % 30);
		c.iw = 1 + (int)(ts_rand(rng) % 30);
		c.ic = pick(rng, ic, 7);
		c.oc = pick(rng, oc, 14);
		c.kh = pick(rng, ks, 5);
		c.kw = ts_rand(rng) % 3 ? c.kh : pick(rng, ks, 5);
		c.sh = 1 + (int)(ts_rand(rng) % 2);
		c.sw = ts_rand(rng) % 3 ? c.sh : 1 + (int)(ts_rand(rng) % 2);
		c.dh = ts_rand(rng) % 4 ? 1 : 2;
		c.dw = ts_rand(rng) % 4 ? c.dh : 1 + (int)(ts_rand(rng) % 2);
		c.padding = (int)(ts_rand(rng) % 2);
		c.act = (int)(ts_rand(rng) % 4);
		c.bias = ts_rand(rng) % 4 != 0;
		c.threads = 1 + i % 2;
	} while (geom(c.padding, c.ih, c.kh, c.sh, c.dh, &p) <= 0 ||
		 geom(c.padding, c.iw, c.kw, c.sw, c.dw, &p) <= 0 ||
		 (size_t)c.n * c.ih * c.iw * c.ic * c.oc * c.kh * c.kw > 20000000u);
	return c;
}

static void cv_battery_packed(int n_cases, uint32_t seed)
{
	uint32_t rng = seed;

	for (int i = 0; i < n_cases; i++) {
		cv_case c = cv_random_packed(&rng, i);
		cv_run(&c, ts_rand(&rng), NULL);
	}
}

/* Depthwise 3x3 multiplier-1 layers as the avx512-3x3 rows take them:
 * widths around the groups of four outputs (interior pixels from none to
 * several groups plus leftovers), channel counts off and on the 16- and
 * 64-lane steps, strides 1 and 2, both paddings, every activation. */
static cv_case cv_random_dw3(uint32_t *rng, int i)
{
	static const int chans[] = {1, 7, 16, 17, 32, 48, 63, 64, 65, 130};
	cv_case c;
	int p;

	do {
		memset(&c, 0, sizeof(c));
		c.op = OP_DW;
		c.n = 1 + (int)(ts_rand(rng) % 2);
		c.ih = 1 + (int)(ts_rand(rng) % 16);
		c.iw = 1 + (int)(ts_rand(rng) % 24);
		c.ic = c.oc = pick(rng, chans, 10);
		c.kh = c.kw = 3;
		c.sh = c.sw = 1 + (int)(ts_rand(rng) % 2);
		c.dh = c.dw = 1;
		c.padding = (int)(ts_rand(rng) % 2);
		c.act = (int)(ts_rand(rng) % 4);
		c.bias = ts_rand(rng) % 4 != 0;
		c.filter_input = ts_rand(rng) % 8 == 0;
		c.threads = 1 + i % 2;
	} while (geom(c.padding, c.ih, c.kh, c.sh, c.dh, &p) <= 0 ||
		 geom(c.padding, c.iw, c.kw, c.sw, c.dw, &p) <= 0);
	return c;
}

static void cv_battery_dw3(int n_cases, uint32_t seed)
{
	uint32_t rng = seed;

	for (int i = 0; i < n_cases; i++) {
		cv_case c = cv_random_dw3(&rng, i);
		cv_run(&c, ts_rand(&rng), NULL);
	}
}

static void cv_battery(int op, int n_cases, uint32_t seed)
{
	uint32_t rng = seed;

	for (int i = 0; i < n_cases; i++) {
		cv_case c = cv_random(&rng, op, i);
		cv_run(&c, ts_rand(&rng), NULL);
	}
}

/* Shapes that reach the paths random small cases miss: several pixel
 * tiles, output-channel chunks, a deep im2col row, 1x1 GEMMs, DeepLab's
 * dilated depthwise layers, runtime filters. */
static void cv_fixed(void)
{
	static const cv_case cases[] = {
	    /* mobilenet stem: 3x3 stride 2 SAME, 3 channels, RELU6 */
	    {OP_CONV, 1, 32, 32, 3, 16, 3, 3, 2, 2, 1, 1, SAME, 3, true, false, 2},
	    /* stems read in place (AVX-512, few input channels): batch 2 with
	     * tiles across images, a dilated 5x5 VALID, a 1-channel 7x3 */
	    {OP_CONV, 2, 37, 35, 3, 32, 3, 3, 2, 2, 1, 1, SAME, 3, true, false, 2},
	    {OP_CONV, 1, 23, 26, 3, 20, 5, 5, 1, 2, 2, 1, VALID, 1, false, false, 1},
	    {OP_CONV, 1, 19, 40, 1, 8, 7, 3, 2, 1, 1, 3, SAME, 0, true, false, 2},
	    /* 1x1 stride 1 over many pixels: blas-1x1, several tiles */
	    {OP_CONV, 2, 20, 17, 24, 40, 1, 1, 1, 1, 1, 1, SAME, 1, true, false, 2},
	    /* 1x1 on a 3x3 map, many channels: output-channel chunks */
	    {OP_CONV, 1, 3, 3, 64, 300, 1, 1, 1, 1, 1, 1, VALID, 0, true, false, 2},
	    /* 3x3 on a small map, many channels: im2col + channel chunks */
	    {OP_CONV, 1, 5, 4, 32, 200, 3, 3, 1, 1, 1, 1, SAME, 0, false, false, 2},
	    /* deep patches (3x3x600): small tiles of im2col scratch */
	    {OP_CONV, 1, 9, 9, 600, 20, 3, 3, 1, 1, 1, 1, SAME, 2, true, false, 2},
	    /* 1x1 stride 2: im2col, not the 1x1 GEMM */
	    {OP_CONV, 1, 9, 8, 5, 6, 1, 1, 2, 2, 1, 1, VALID, 0, true, false, 1},
	    /* dilated conv, asymmetric stride and dilation */
	    {OP_CONV, 1, 17, 15, 4, 9, 3, 2, 1, 2, 4, 2, SAME, 1, true, false, 2},
	    /* filter as a graph input (runtime weights) */
	    {OP_CONV, 1, 7, 7, 3, 5, 3, 3, 1, 1, 1, 1, SAME, 0, true, true, 1},
	    /* MobileNet's last pointwise layer: deep, few pixels, panel chunks */
	    {OP_CONV, 1, 7, 7, 1024, 1000, 1, 1, 1, 1, 1, 1, SAME, 3, true, false, 2},
	    /* many tiles of deep patches, channel count off every panel width */
	    {OP_CONV, 2, 23, 19, 40, 57, 3, 3, 1, 1, 1, 1, SAME, 1, true, false, 2},
	    /* stride 2 on a 1x1 filter with channels past one panel */
	    {OP_CONV, 1, 15, 15, 96, 40, 1, 1, 2, 2, 1, 1, SAME, 0, false, false, 2},
	    /* DeepLab-like depthwise, dilation 2 and 4 */
	    {OP_DW, 1, 33, 33, 64, 64, 3, 3, 1, 1, 2, 2, SAME, 3, true, false, 2},
	    {OP_DW, 1, 33, 33, 96, 96, 3, 3, 1, 1, 4, 4, SAME, 0, true, false, 2},
	    {OP_DW, 1, 33, 33, 67, 67, 3, 3, 1, 1, 4, 4, VALID, 1, false, false, 1},
	    /* mobilenet depthwise stride 2, odd channels */
	    {OP_DW, 1, 28, 28, 37, 37, 3, 3, 2, 2, 1, 1, SAME, 3, true, false, 2},
	    /* depth multiplier 2 and a runtime filter */
	    {OP_DW, 2, 9, 10, 7, 14, 3, 3, 1, 2, 1, 1, SAME, 0, true, true, 2},
	    /* 3x3 rows (avx512-3x3): MobileNet's widths and depths, strides
	     * 1 and 2, both paddings, groups of four plus leftover interior
	     * pixels, deep layers (64-channel chains in the border pixels),
	     * channel tails, narrow inputs with no interior pixel at all */
	    {OP_DW, 1, 30, 30, 32, 32, 3, 3, 1, 1, 1, 1, SAME, 3, true, false, 2},
	    {OP_DW, 1, 29, 31, 64, 64, 3, 3, 2, 2, 1, 1, SAME, 3, true, false, 2},
	    {OP_DW, 1, 28, 28, 64, 64, 3, 3, 2, 2, 1, 1, SAME, 3, true, false, 1},
	    {OP_DW, 2, 14, 13, 144, 144, 3, 3, 1, 1, 1, 1, VALID, 1, true, false, 2},
	    {OP_DW, 1, 7, 7, 1024, 1024, 3, 3, 1, 1, 1, 1, SAME, 3, true, false, 2},
	    {OP_DW, 1, 9, 10, 83, 83, 3, 3, 2, 2, 1, 1, VALID, 0, false, false, 1},
	    {OP_DW, 1, 12, 17, 21, 21, 3, 3, 1, 1, 1, 1, SAME, 2, true, true, 2},
	    {OP_DW, 1, 2, 2, 5, 5, 3, 3, 1, 1, 1, 1, SAME, 0, true, false, 1},
	    {OP_DW, 1, 3, 1, 17, 17, 3, 3, 2, 2, 1, 1, SAME, 1, true, false, 1},
	    {OP_DW, 1, 11, 11, 200, 200, 3, 3, 2, 2, 1, 1, VALID, 3, false, false, 2},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cv_run(&cases[i], 1000 + (uint32_t)i, NULL);
}

START_TEST(test_conv_random)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	cv_battery(OP_CONV, 250, 12345);
}
END_TEST

START_TEST(test_depthwise_random)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	cv_battery(OP_DW, 250, 777);
}
END_TEST

START_TEST(test_depthwise_3x3_random)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	cv_battery_dw3(200, 3303);
}
END_TEST

START_TEST(test_conv_packed_random)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	cv_battery_packed(150, 2024);
}
END_TEST

START_TEST(test_conv_fixed_shapes)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	cv_fixed();
}
END_TEST

/* The same model with 1 and 2 threads must give the same bytes. */
START_TEST(test_threads_agree)
{
	static const cv_case cases[] = {
	    {OP_CONV, 1, 20, 17, 24, 40, 1, 1, 1, 1, 1, 1, SAME, 1, true, false, 1},
	    {OP_CONV, 1, 5, 4, 32, 200, 3, 3, 1, 1, 1, 1, SAME, 0, false, false, 1},
	    {OP_CONV, 1, 31, 29, 8, 16, 3, 3, 1, 1, 1, 1, SAME, 3, true, false, 1},
	    {OP_CONV, 1, 7, 7, 512, 300, 1, 1, 1, 1, 1, 1, SAME, 3, true, false, 1},
	    {OP_CONV, 3, 29, 31, 3, 33, 3, 3, 2, 2, 1, 1, SAME, 3, true, false, 1},
	    {OP_DW, 1, 33, 33, 64, 64, 3, 3, 1, 1, 2, 2, SAME, 3, true, false, 1},
	    {OP_DW, 1, 15, 15, 5, 10, 3, 3, 2, 2, 1, 1, SAME, 0, true, false, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cv_case c = cases[i];
		float *one, *two;
		int p, oh = geom(c.padding, c.ih, c.kh, c.sh, c.dh, &p),
		       ow = geom(c.padding, c.iw, c.kw, c.sw, c.dw, &p);
		size_t no = (size_t)c.n * oh * ow * c.oc;

		c.threads = 1;
		cv_run(&c, 55 + (uint32_t)i, &one);
		c.threads = 2;
		cv_run(&c, 55 + (uint32_t)i, &two);
		ck_assert_msg(memcmp(one, two, no * sizeof(float)) == 0, "case %zu: 1 and 2 threads differ",
			      i);
		free(one);
		free(two);
	}
}
END_TEST

/* --- fully connected ------------------------------------------------- */

typedef struct fc_case {
	int rank;
	int32_t dims[4]; /* input shape */
	int depth, units;
	bool keep, bias;
	int act;
	bool weights_input; /* weights are a graph input */
	int threads;
} fc_case;

static void fc_run(const fc_case *c, uint32_t seed)
{
	uint32_t rng = seed;
	size_t ni = 1, size;
	int rows, orank;
	int32_t od[4];
	float *in, *w, *bias;
	double *want, *mag;
	ts_model m;
	nn_err err = {0};
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x, wt, bt = -1, y;
	uint8_t *bytes;
	const nn_tensor *out;
	char desc[160];

	for (int i = 0; i < c->rank; i++)
		ni *= (size_t)c->dims[i];
	rows = (int)(ni / (size_t)c->depth);
	snprintf(desc, sizeof(desc),
		 "fc rank %d elements %zu depth %d units %d keep %d bias %d act %d threads %d", c->rank, ni,
		 c->depth, c->units, c->keep, c->bias, c->act, c->threads);
	if (c->keep) {
		orank = c->rank;
		memcpy(od, c->dims, sizeof(od));
		od[orank - 1] = c->units;
	} else {
		orank = 2;
		od[0] = rows;
		od[1] = c->units;
	}
	in = malloc(ni * sizeof(float));
	w = malloc((size_t)c->units * c->depth * sizeof(float));
	bias = malloc((size_t)c->units * sizeof(float));
	want = malloc((size_t)rows * c->units * sizeof(double));
	mag = malloc((size_t)rows * c->units * sizeof(double));
	fill(&rng, in, ni, -2.0f, 2.0f);
	fill(&rng, w, (size_t)c->units * c->depth, -1.0f, 1.0f);
	fill(&rng, bias, c->units, -1.0f, 1.0f);

	x = tb_tensor(b, "x", NN_F32, c->rank, c->dims, NULL, 0, NULL);
	wt = tb_tensor(b, "w", NN_F32, 2, (int32_t[]){c->units, c->depth}, c->weights_input ? NULL : w,
		       (size_t)c->units * c->depth * sizeof(float), NULL);
	if (c->bias)
		bt = tb_tensor(b, "b", NN_F32, 1, (int32_t[]){c->units}, bias,
			       (size_t)c->units * sizeof(float), NULL);
	y = tb_tensor(b, "y", NN_F32, orank, od, NULL, 0, NULL);
	tb_opt_i8(&o, 0, (int8_t)c->act);
	if (c->keep)
		tb_opt_i8(&o, 2, 1);
	tb_op(b, OP_FC, NULL, 1, (int[]){x, wt, bt}, 3, (int[]){y}, 1, OPTS_FC, &o);
	if (c->weights_input)
		tb_io(b, 2, (int[]){x, wt}, 1, (int[]){y});
	else
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, &size);
	tb_free(b);

	if (ts_model_load(&m, bytes, size, c->threads, &err) != NN_OK)
		ck_abort_msg("%s: load failed: %s", desc, err.msg);
	if (g_expect == EXPECT_REF)
		ck_assert_str_eq(m.graph->nodes[0].impl, "ref");
	else if (g_expect == EXPECT_FAST)
		ck_assert_str_eq(m.graph->nodes[0].impl, "blas");
	memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
	if (c->weights_input)
		memcpy(nn_session_input(m.session, 1)->data, w, (size_t)c->units * c->depth * sizeof(float));
	if (nn_session_invoke(m.session, &err) != NN_OK)
		ck_abort_msg("%s: invoke failed: %s", desc, err.msg);
	out = nn_session_output(m.session, 0);
	ck_assert_int_eq(out->rank, orank);
	for (int i = 0; i < orank; i++)
		ck_assert_msg(out->dims[i] == od[i], "%s: output dim %d is %d, expected %d", desc, i,
			      out->dims[i], od[i]);

	for (int r = 0; r < rows; r++)
		for (int u = 0; u < c->units; u++) {
			double acc = 0.0, mg = 0.0;
			for (int k = 0; k < c->depth; k++) {
				double t = (double)in[(size_t)r * c->depth + k] * w[(size_t)u * c->depth + k];
				acc += t;
				mg += fabs(t);
			}
			if (c->bias) {
				acc += bias[u];
				mg += fabs(bias[u]);
			}
			acc = acc < act_lo(c->act)   ? act_lo(c->act)
			      : acc > act_hi(c->act) ? act_hi(c->act)
						     : acc;
			want[(size_t)r * c->units + u] = acc;
			mag[(size_t)r * c->units + u] = mg;
		}
	check_close(out->data, want, mag, (size_t)rows * c->units, desc);
	ts_model_free(&m);
	free(in);
	free(w);
	free(bias);
	free(want);
	free(mag);
}

static void fc_battery(int n_cases, uint32_t seed)
{
	static const int depths[] = {1, 3, 7, 16, 64, 300};
	static const int units[] = {1, 2, 10, 33, 130, 300};
	uint32_t rng = seed;

	for (int i = 0; i < n_cases; i++) {
		fc_case c = {0};
		int rows = 1 + (int)(ts_rand(&rng) % 5);
		c.depth = pick(&rng, depths, 6);
		c.units = pick(&rng, units, 6);
		c.keep = ts_rand(&rng) % 3 == 0;
		c.bias = ts_rand(&rng) % 4 != 0;
		c.act = (int)(ts_rand(&rng) % 4);
		c.threads = 1 + i % 2;
		c.rank = 1 + (int)(ts_rand(&rng) % 4);
		if (c.rank == 1) { /* a vector: one row */
			c.dims[0] = c.depth;
		} else if (c.keep || ts_rand(&rng) % 2) { /* [.., rows.., depth] */
			for (int d = 0; d < c.rank - 1; d++)
				c.dims[d] = d == 0 ? rows : 1 + (int)(ts_rand(&rng) % 3);
			c.dims[c.rank - 1] = c.depth;
		} else { /* depth spread over the dims: flattened as TFLite does */
			c.rank = 2;
			c.dims[0] = rows * c.depth;
			c.dims[1] = 1;
			if (c.depth % 2 == 0) {
				c.dims[0] = rows * c.depth / 2;
				c.dims[1] = 2;
			}
		}
		fc_run(&c, ts_rand(&rng));
	}
}

static void fc_fixed(void)
{
	static const fc_case cases[] = {
	    /* mobilenet classifier: one row, 1001 units in channel chunks */
	    {2, {1, 1024}, 1024, 1001, false, true, 0, false, 2},
	    /* many rows: several row tiles */
	    {3, {3, 100, 64}, 64, 32, true, true, 1, false, 2},
	    /* runtime weights (a MatMul) */
	    {2, {4, 48}, 48, 150, false, false, 3, true, 2},
	    /* a 4-D input flattened */
	    {4, {2, 3, 3, 8}, 36, 5, false, true, 2, false, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fc_run(&cases[i], 4000 + (uint32_t)i);
}

START_TEST(test_fc_random)
{
	g_expect = forked() ? EXPECT_FAST : EXPECT_ANY;
	fc_battery(200, 99);
	fc_fixed();
}
END_TEST

/* --- variants -------------------------------------------------------- */

START_TEST(test_reference_variants)
{
	if (!set_switch("LITESERVE_FORCE_REFERENCE", "1"))
		return;
	g_expect = EXPECT_REF;
	cv_battery(OP_CONV, 120, 31);
	cv_battery(OP_DW, 120, 32);
	cv_battery_dw3(40, 34);
	cv_fixed();
	fc_battery(60, 33);
	fc_fixed();
}
END_TEST

START_TEST(test_avx2_variants)
{
	if (!set_switch("LITESERVE_CPU", "avx2"))
		return;
	if (!nn_cpu_avx2()) {
		fprintf(stderr, "\n*** SKIP: this CPU has no AVX2 ***\n\n");
		return;
	}
	g_expect = EXPECT_AVX2;
	cv_battery(OP_DW, 250, 4242);
	cv_battery_dw3(60, 4141);
	cv_battery(OP_CONV, 120, 4343);
	cv_battery_packed(100, 4444);
	cv_fixed();
}
END_TEST

/* Without AVX2 the float conv stays on OpenBLAS (or the portable GEMM). */
START_TEST(test_conv_generic)
{
	if (!set_switch("LITESERVE_CPU", "generic"))
		return;
	g_expect = EXPECT_GENERIC;
	cv_battery(OP_CONV, 60, 4545);
	cv_battery_packed(30, 4646);
}
END_TEST

/* The portable GEMM that replaces OpenBLAS where it is missing. */
START_TEST(test_without_openblas)
{
	if (!set_switch("LITESERVE_NO_BLAS", "1"))
		return;
	g_expect = EXPECT_FAST;
	cv_battery(OP_CONV, 80, 51);
	cv_fixed();
	fc_battery(60, 52);
	fc_fixed();
}
END_TEST

START_TEST(test_registry)
{
	ck_assert_ptr_eq(nn_kernel_builtin(OP_CONV), &nn_k_conv_2d);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_DW), &nn_k_depthwise_conv_2d);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_FC), &nn_k_fully_connected);
}
END_TEST

/* --- refusals -------------------------------------------------------- */

/* Loads a model and expects refusal with status st and a message holding
 * every one of the NULL-terminated needles. */
static void expect_refused(uint8_t *bytes, size_t size, nn_status st, const char *const *needles)
{
	ts_model m;
	nn_err err = {0};
	nn_status got = ts_model_load(&m, bytes, size, 1, &err);

	ck_assert_msg(got == st, "status %s, expected %s (%s)", nn_status_name(got), nn_status_name(st),
		      err.msg);
	for (int i = 0; needles[i]; i++)
		ck_assert_msg(strstr(err.msg, needles[i]) != NULL, "message '%s' lacks '%s'", err.msg,
			      needles[i]);
	ts_model_free(&m);
}

/* A convolution-shaped model with everything overridable. */
typedef struct bad_cv {
	int op;
	nn_dtype in_type;
	int in_rank;
	int32_t in_dims[4];
	int f_rank;
	int32_t f_dims[4];
	int32_t bias_n; /* 0 = no bias */
	int padding, stride_h, stride_w, dil, act;
	int n_outputs;
} bad_cv;

static uint8_t *bad_cv_build(const bad_cv *c, size_t *size)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	static float zeros[4096];
	size_t fn = 1;
	int x, w, bt = -1, y, y2;
	uint8_t *bytes;

	for (int i = 0; i < c->f_rank; i++)
		fn *= (size_t)c->f_dims[i];
	ck_assert(fn <= 4096);
	x = tb_tensor(b, "x", c->in_type, c->in_rank, c->in_dims, NULL, 0, NULL);
	w = tb_tensor(b, "w", NN_F32, c->f_rank, c->f_dims, zeros, fn * sizeof(float), NULL);
	if (c->bias_n)
		bt = tb_tensor(b, "b", NN_F32, 1, &c->bias_n, zeros, (size_t)c->bias_n * sizeof(float), NULL);
	y = tb_tensor(b, "y", c->in_type, 0, NULL, NULL, 0, NULL);
	y2 = tb_tensor(b, "y2", c->in_type, 0, NULL, NULL, 0, NULL);
	tb_opt_i8(&o, 0, (int8_t)c->padding);
	tb_opt_i32(&o, 1, c->stride_w);
	tb_opt_i32(&o, 2, c->stride_h);
	if (c->op == OP_CONV) {
		tb_opt_i8(&o, 3, (int8_t)c->act);
		tb_opt_i32(&o, 4, c->dil);
		tb_opt_i32(&o, 5, c->dil);
	} else {
		tb_opt_i8(&o, 4, (int8_t)c->act);
		tb_opt_i32(&o, 5, c->dil);
		tb_opt_i32(&o, 6, c->dil);
	}
	tb_op(b, c->op, NULL, 1, (int[]){x, w, bt}, 3, (int[]){y, y2}, c->n_outputs,
	      c->op == OP_CONV ? OPTS_CONV : OPTS_DW, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, size);
	tb_free(b);
	return bytes;
}

static const bad_cv good_conv = {OP_CONV, NN_F32, 4, {1, 8, 8, 4}, 4, {6, 3, 3, 4}, 6, SAME, 1, 1, 1, 0, 1};
static const bad_cv good_dw = {OP_DW, NN_F32, 4, {1, 8, 8, 4}, 4, {1, 3, 3, 8}, 8, SAME, 1, 1, 1, 0, 1};

static void cv_refused(const bad_cv *c, nn_status st, const char *const *needles)
{
	size_t size;
	uint8_t *bytes = bad_cv_build(c, &size);
	expect_refused(bytes, size, st, needles);
}

START_TEST(test_conv_refusals)
{
	bad_cv c;
	size_t size;
	ts_model m;
	nn_err err = {0};
	uint8_t *bytes;

	/* the baseline is accepted */
	bytes = bad_cv_build(&good_conv, &size);
	ck_assert_msg(ts_model_load(&m, bytes, size, 1, &err) == NN_OK, "%s", err.msg);
	ts_model_free(&m);

	c = good_conv, c.f_rank = 3, c.f_dims[0] = 6, c.f_dims[1] = 3, c.f_dims[2] = 4;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"CONV_2D", "filter", "rank 4", "rank 3", NULL});
	c = good_conv, c.stride_w = 0;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"stride 1x0", "positive", NULL});
	c = good_conv, c.stride_h = -2;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"stride -2x1", NULL});
	c = good_conv, c.dil = 0;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"dilation 0x0", NULL});
	c = good_conv, c.in_type = NN_I16;
	cv_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"input type int16 is not supported", NULL});
	c = good_conv, c.in_rank = 3;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"input must have rank 4", "rank 3", NULL});
	c = good_conv, c.in_dims[3] = 8; /* 8 = 2 groups of 4 */
	cv_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"grouped convolution", "8 input channels", NULL});
	c = good_conv, c.in_dims[3] = 5;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"input has 5 channels", "expects 4", NULL});
	c = good_conv, c.bias_n = 5;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"bias must have shape [6]", NULL});
	c = good_conv, c.padding = VALID, c.dil = 4; /* effective filter 9 > 8 */
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"no valid output", "VALID", NULL});
	c = good_conv, c.padding = 2;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"padding 2", NULL});
	c = good_conv, c.act = 4; /* TANH */
	cv_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"fused activation 4", NULL});
	c = good_conv, c.n_outputs = 2;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"2 outputs", NULL});
	c = good_conv, c.stride_h = 0x7fffffff, c.dil = 0x40000000; /* hostile: huge window */
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"no valid output", NULL});
}
END_TEST

START_TEST(test_depthwise_refusals)
{
	bad_cv c;
	size_t size;
	ts_model m;
	nn_err err = {0};
	uint8_t *bytes;

	bytes = bad_cv_build(&good_dw, &size);
	ck_assert_msg(ts_model_load(&m, bytes, size, 1, &err) == NN_OK, "%s", err.msg);
	ts_model_free(&m);

	c = good_dw, c.f_rank = 2, c.f_dims[0] = 9, c.f_dims[1] = 8;
	cv_refused(&c, NN_ERR_BAD_MODEL,
		   (const char *[]){"DEPTHWISE_CONV_2D", "filter", "rank 4", "rank 2", NULL});
	c = good_dw, c.f_dims[3] = 6, c.bias_n = 6;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"filter has 6 channels", "multiple", "4", NULL});
	c = good_dw, c.f_dims[0] = 2;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"dimension 0 is 2", NULL});
	c = good_dw, c.stride_h = 0;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"stride 0x1", NULL});
	c = good_dw, c.dil = -1;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"dilation -1x-1", NULL});
	c = good_dw, c.in_type = NN_I16;
	cv_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"input type int16 is not supported", NULL});
	c = good_dw, c.bias_n = 4;
	cv_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"bias must have shape [8]", NULL});
	c = good_dw, c.act = 5;
	cv_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"fused activation 5", NULL});
}
END_TEST

typedef struct bad_fc {
	nn_dtype in_type;
	int in_rank;
	int32_t in_dims[4];
	int w_rank;
	int32_t w_dims[3];
	int32_t bias_n;
	int format;
	bool keep;
} bad_fc;

static void fc_refused(const bad_fc *c, nn_status st, const char *const *needles)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	static float zeros[4096];
	size_t fn = 1, size;
	int x, w, bt = -1, y;
	uint8_t *bytes;

	for (int i = 0; i < c->w_rank; i++)
		fn *= (size_t)c->w_dims[i];
	x = tb_tensor(b, "x", c->in_type, c->in_rank, c->in_dims, NULL, 0, NULL);
	w = tb_tensor(b, "w", NN_F32, c->w_rank, c->w_dims, zeros, fn * sizeof(float), NULL);
	if (c->bias_n)
		bt = tb_tensor(b, "b", NN_F32, 1, &c->bias_n, zeros, (size_t)c->bias_n * sizeof(float), NULL);
	y = tb_tensor(b, "y", c->in_type, 0, NULL, NULL, 0, NULL);
	tb_opt_i8(&o, 1, (int8_t)c->format);
	tb_opt_i8(&o, 2, c->keep);
	tb_op(b, OP_FC, NULL, 1, (int[]){x, w, bt}, 3, (int[]){y}, 1, OPTS_FC, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, &size);
	tb_free(b);
	if (st == NN_OK) {
		ts_model m;
		nn_err err = {0};
		ck_assert_msg(ts_model_load(&m, bytes, size, 1, &err) == NN_OK, "%s", err.msg);
		ts_model_free(&m);
		return;
	}
	expect_refused(bytes, size, st, needles);
}

START_TEST(test_fc_refusals)
{
	static const bad_fc good = {NN_F32, 2, {3, 10}, 2, {7, 10}, 7, 0, false};
	bad_fc c;

	fc_refused(&good, NN_OK, NULL);
	c = good, c.w_rank = 3, c.w_dims[2] = 1;
	fc_refused(&c, NN_ERR_BAD_MODEL,
		   (const char *[]){"FULLY_CONNECTED", "weights must have rank 2", "rank 3", NULL});
	c = good, c.in_dims[1] = 9; /* 27 elements, depth 10 */
	fc_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"27 elements", "multiple", "10", NULL});
	c = good, c.format = 1;
	fc_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"weights format 1", NULL});
	c = good, c.in_type = NN_I16;
	fc_refused(&c, NN_ERR_UNSUPPORTED, (const char *[]){"input type int16 is not supported", NULL});
	c = good, c.in_rank = 3, c.in_dims[0] = 3, c.in_dims[1] = 5, c.in_dims[2] = 2, c.keep = true;
	fc_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"keep_num_dims", "last dimension is 2", NULL});
	c = good, c.bias_n = 3;
	fc_refused(&c, NN_ERR_BAD_MODEL, (const char *[]){"bias must have shape [7]", NULL});
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_conv");
	TCase *tc = tcase_create("conv");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_conv_random);
	tcase_add_test(tc, test_depthwise_random);
	tcase_add_test(tc, test_depthwise_3x3_random);
	tcase_add_test(tc, test_conv_packed_random);
	tcase_add_test(tc, test_conv_fixed_shapes);
	tcase_add_test(tc, test_threads_agree);
	tcase_add_test(tc, test_fc_random);
	tcase_add_test(tc, test_reference_variants);
	tcase_add_test(tc, test_avx2_variants);
	tcase_add_test(tc, test_conv_generic);
	tcase_add_test(tc, test_without_openblas);
	tcase_add_test(tc, test_conv_refusals);
	tcase_add_test(tc, test_depthwise_refusals);
	tcase_add_test(tc, test_fc_refusals);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
