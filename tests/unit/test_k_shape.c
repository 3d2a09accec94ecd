/* test_k_shape.c - RESHAPE, SQUEEZE, RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR,
 * MEAN, PAD, MIRROR_PAD and DEQUANTIZE.
 *
 * Every case is a small model written with tflite_builder and run through
 * the reader, graph and session.  Oracles are written here from TFLite's
 * definitions, not from our kernels:
 *   - resize bilinear: the reference formula per output element (source
 *     coordinate, floor/ceil clamped to [0, in-1], unclamped fraction) in
 *     double; tolerance 1e-6 of the sum of |terms|.  A second test checks
 *     bit-exactness with the expression of TFLite's optimized float kernel
 *     (weights multiplied first, accumulated into 0 in the order 00, 01,
 *     10, 11; its own averaging kernel for exact 2x upsampling);
 *   - resize nearest: the reference index rule; copies, so exact;
 *   - mean: a double sum divided by the count; tolerance 1e-5 of the mean
 *     of |x| (float accumulation error of up to a few thousand terms);
 *   - pad / mirror pad: coordinate mapping by definition (REFLECT: -p and
 *     2n-2-p; SYMMETRIC: -1-p and 2n-1-p); exact;
 *   - dequantize: float16 by ldexp of the fields for all 65536 patterns;
 *     integers as (float)(double scale * (q - zp)); exact.
 * Plus one refusal per kernel (message checked with strstr) and a planner
 * case where a RESHAPE aliases a tensor that is a graph output while later
 * ops need arena space.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite_builder.h"

/* BuiltinOperator codes */
enum {
	OP_DEQUANTIZE = 6,
	OP_RESHAPE = 22,
	OP_RESIZE_BILINEAR = 23,
	OP_PAD = 34,
	OP_MEAN = 40,
	OP_SQUEEZE = 43,
	OP_RESIZE_NEAREST = 97,
	OP_MIRROR_PAD = 100,
};
/* BuiltinOptions union indices */
enum {
	OPTS_RESIZE_BILINEAR = 15,
	OPTS_RESHAPE = 17,
	OPTS_PAD = 22,
	OPTS_REDUCER = 27,
	OPTS_SQUEEZE = 30,
	OPTS_DEQUANTIZE = 38,
	OPTS_RESIZE_NEAREST = 74,
	OPTS_MIRROR_PAD = 77,
};
enum { REFLECT = 0, SYMMETRIC = 1 };

/* The registry must map each builtin code to our kernel. */
extern const nn_kernel nn_k_reshape, nn_k_squeeze, nn_k_resize_bilinear, nn_k_resize_nearest_neighbor,
    nn_k_mean, nn_k_pad, nn_k_mirror_pad, nn_k_dequantize;

START_TEST(test_registry)
{
	ck_assert_ptr_eq(nn_kernel_builtin(OP_RESHAPE), &nn_k_reshape);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_SQUEEZE), &nn_k_squeeze);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_RESIZE_BILINEAR), &nn_k_resize_bilinear);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_RESIZE_NEAREST), &nn_k_resize_nearest_neighbor);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_MEAN), &nn_k_mean);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_PAD), &nn_k_pad);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_MIRROR_PAD), &nn_k_mirror_pad);
	ck_assert_ptr_eq(nn_kernel_builtin(OP_DEQUANTIZE), &nn_k_dequantize);
}
END_TEST

/* --- helpers ------------------------------------------------------------ */

static void fill(uint32_t *rng, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = ts_randf(rng, -3.0f, 3.0f);
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

/* --- RESHAPE ---------------------------------------------------------- */

/* x [2,3,4] -> reshape(new_shape or shape tensor) -> y; returns via m. */
static void reshape_case(const int32_t *shape, int n_shape, bool as_tensor, const int32_t *want,
			 int want_rank)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int32_t xd[3] = {2, 3, 4};
	float in[24];
	uint32_t rng = 11;
	int x, s = -1, y;
	const nn_tensor *yt;

	fill(&rng, in, 24);
	x = tb_tensor(b, "x", NN_F32, 3, xd, NULL, 0, NULL);
	if (as_tensor)
		s = tb_tensor(b, "shape", NN_I32, 1, (int32_t[]){n_shape}, shape,
			      sizeof(int32_t) * (size_t)n_shape, NULL);
	y = tb_tensor(b, "y", NN_F32, want_rank, want, NULL, 0, NULL);
	if (as_tensor) {
		tb_op(b, OP_RESHAPE, NULL, 1, (int[]){x, s}, 2, (int[]){y}, 1, 0, NULL);
	} else {
		tb_opt_vec(&o, 0, n_shape, shape);
		tb_op(b, OP_RESHAPE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_RESHAPE, &o);
	}
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, 1, "reshape");
	memcpy(nn_session_input(m.session, 0)->data, in, sizeof(in));
	ts_invoke_ok(&m, "reshape");
	yt = nn_session_output(m.session, 0);
	check_shape(yt, want_rank, want, "reshape output");
	ck_assert_msg(yt->data == nn_session_input(m.session, 0)->data,
		      "reshape output is not an alias of its input");
	ck_assert(memcmp(yt->data, in, sizeof(in)) == 0);
	ck_assert_str_eq(m.graph->nodes[0].impl, "alias");
	ts_model_free(&m);
}

START_TEST(test_reshape)
{
	reshape_case((int32_t[]){4, -1}, 2, false, (int32_t[]){4, 6}, 2);
	reshape_case((int32_t[]){24}, 1, false, (int32_t[]){24}, 1);
	reshape_case((int32_t[]){-1, 2, 3}, 3, true, (int32_t[]){4, 2, 3}, 3);
	reshape_case((int32_t[]){1, 2, 1, 12}, 4, true, (int32_t[]){1, 2, 1, 12}, 4);
	reshape_case((int32_t[]){2, 2, 2, -1}, 4, true, (int32_t[]){2, 2, 2, 3}, 4);
}
END_TEST

static tb_model *reshape_bad_model(const int32_t *shape, int n)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x", NN_F32, 3, (int32_t[]){2, 3, 4}, NULL, 0, NULL);
	int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);

	tb_opt_vec(&o, 0, n, shape);
	tb_op(b, OP_RESHAPE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_RESHAPE, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

START_TEST(test_reshape_refusals)
{
	ts_tb_expect_refused(reshape_bad_model((int32_t[]){5, 5}, 2), "cannot reshape", "24 elements to [5,5]");
	ts_tb_expect_refused(reshape_bad_model((int32_t[]){5, -1}, 2), "no integer solution",
		       "24 elements to [5,-1]");
	ts_tb_expect_refused(reshape_bad_model((int32_t[]){-1, -1}, 2), "more than one -1", "two -1");
	ts_tb_expect_refused(reshape_bad_model((int32_t[]){-2, 12}, 2), "negative", "-2");
	{
		/* the file's output shape must agree with the computed one */
		tb_model *b = tb_new();
		tb_opts o = {0};
		int x = tb_tensor(b, "x", NN_F32, 1, (int32_t[]){6}, NULL, 0, NULL);
		int y = tb_tensor(b, "y", NN_F32, 2, (int32_t[]){2, 3}, NULL, 0, NULL);
		tb_opt_vec(&o, 0, 2, (int32_t[]){3, 2});
		tb_op(b, OP_RESHAPE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_RESHAPE, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_expect_refused(b, "shape", "file shape disagrees");
	}
}
END_TEST

/* A RESHAPE whose output is a graph output aliases a tensor the planner must
 * keep alive to the end, although later ops need arena space:
 *   x -PAD-> p -RESHAPE-> r (output 0)
 *   x -PAD-> q -MIRROR_PAD(SYMMETRIC)-> s (output 1)
 *   x -SQUEEZE-> z (output 2, an alias of the graph input) */
START_TEST(test_reshape_graph_output_alias)
{
	int32_t xd[4] = {1, 3, 3, 2};
	int32_t p1[8] = {0, 0, 1, 1, 1, 1, 0, 0}, p2[8] = {0, 0, 2, 2, 2, 2, 0, 0},
		p3[8] = {0, 0, 1, 1, 1, 1, 0, 0};
	tb_model *b = tb_new();
	tb_opts ro = {0}, mo = {0};
	ts_model m;
	float in[18];
	uint32_t rng = 5;
	int x, pp1, pp2, pp3, p, r, q, s, z;
	const float *ro_, *so;

	fill(&rng, in, 18);
	x = tb_tensor(b, "x", NN_F32, 4, xd, NULL, 0, NULL);
	pp1 = tb_tensor(b, "pads1", NN_I32, 2, (int32_t[]){4, 2}, p1, sizeof(p1), NULL);
	pp2 = tb_tensor(b, "pads2", NN_I32, 2, (int32_t[]){4, 2}, p2, sizeof(p2), NULL);
	pp3 = tb_tensor(b, "pads3", NN_I32, 2, (int32_t[]){4, 2}, p3, sizeof(p3), NULL);
	p = tb_tensor(b, "p", NN_F32, 4, (int32_t[]){1, 5, 5, 2}, NULL, 0, NULL);
	r = tb_tensor(b, "r", NN_F32, 1, (int32_t[]){50}, NULL, 0, NULL);
	q = tb_tensor(b, "q", NN_F32, 4, (int32_t[]){1, 7, 7, 2}, NULL, 0, NULL);
	s = tb_tensor(b, "s", NN_F32, 4, (int32_t[]){1, 9, 9, 2}, NULL, 0, NULL);
	z = tb_tensor(b, "z", NN_F32, 3, (int32_t[]){3, 3, 2}, NULL, 0, NULL);
	tb_op(b, OP_PAD, NULL, 1, (int[]){x, pp1}, 2, (int[]){p}, 1, 0, NULL);
	tb_opt_vec(&ro, 0, 1, (int32_t[]){50});
	tb_op(b, OP_RESHAPE, NULL, 1, (int[]){p}, 1, (int[]){r}, 1, OPTS_RESHAPE, &ro);
	tb_op(b, OP_PAD, NULL, 1, (int[]){x, pp2}, 2, (int[]){q}, 1, 0, NULL);
	tb_opt_i8(&mo, 0, SYMMETRIC);
	tb_op(b, OP_MIRROR_PAD, NULL, 1, (int[]){q, pp3}, 2, (int[]){s}, 1, OPTS_MIRROR_PAD, &mo);
	tb_op(b, OP_SQUEEZE, NULL, 1, (int[]){x}, 1, (int[]){z}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 3, (int[]){r, s, z});
	ts_tb_load_ok(&m, b, 1, "alias graph");
	memcpy(nn_session_input(m.session, 0)->data, in, sizeof(in));
	ts_invoke_ok(&m, "alias graph");

	ro_ = nn_session_output(m.session, 0)->data;
	for (int y = 0; y < 5; y++)
		for (int xx = 0; xx < 5; xx++)
			for (int c = 0; c < 2; c++) {
				int iy = y - 1, ix = xx - 1;
				float want = (iy < 0 || iy >= 3 || ix < 0 || ix >= 3)
						 ? 0.0f
						 : in[(iy * 3 + ix) * 2 + c];
				ck_assert_msg(ro_[(y * 5 + xx) * 2 + c] == want, "r[%d,%d,%d] = %g, want %g",
					      y, xx, c, ro_[(y * 5 + xx) * 2 + c], want);
			}
	so = nn_session_output(m.session, 1)->data;
	for (int y = 0; y < 9; y++)
		for (int xx = 0; xx < 9; xx++)
			for (int c = 0; c < 2; c++) {
				/* symmetric mirror of the 7x7 padded q, then q's zero border */
				int qy = y - 1 < 0 ? 0 : y - 1 > 6 ? 6 : y - 1;
				int qx = xx - 1 < 0 ? 0 : xx - 1 > 6 ? 6 : xx - 1;
				int iy = qy - 2, ix = qx - 2;
				float want = (iy < 0 || iy >= 3 || ix < 0 || ix >= 3)
						 ? 0.0f
						 : in[(iy * 3 + ix) * 2 + c];
				ck_assert_msg(so[(y * 9 + xx) * 2 + c] == want, "s[%d,%d,%d] = %g, want %g",
					      y, xx, c, so[(y * 9 + xx) * 2 + c], want);
			}
	ck_assert(nn_session_output(m.session, 2)->data == nn_session_input(m.session, 0)->data);
	ck_assert(memcmp(nn_session_output(m.session, 2)->data, in, sizeof(in)) == 0);
	ts_model_free(&m);
}
END_TEST

/* Constants stay constants: f16 const -DEQUANTIZE-> f32 -RESHAPE-> output. */
START_TEST(test_reshape_of_constant)
{
	uint16_t h[6] = {0x3C00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600}; /* 1 2 3 4 5 6 */
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	int c, d, r;
	const nn_tensor *t;

	c = tb_tensor(b, "c", NN_F16, 2, (int32_t[]){2, 3}, h, sizeof(h), NULL);
	d = tb_tensor(b, "d", NN_F32, 2, (int32_t[]){2, 3}, NULL, 0, NULL);
	r = tb_tensor(b, "r", NN_F32, 2, (int32_t[]){3, 2}, NULL, 0, NULL);
	tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){c}, 1, (int[]){d}, 1, 0, NULL);
	tb_opt_vec(&o, 0, 2, (int32_t[]){3, 2});
	tb_op(b, OP_RESHAPE, NULL, 1, (int[]){d}, 1, (int[]){r}, 1, OPTS_RESHAPE, &o);
	tb_io(b, 0, NULL, 1, (int[]){r});
	ts_tb_load_ok(&m, b, 1, "constant reshape");
	t = nn_graph_output(m.graph, 0);
	ck_assert_int_eq(t->kind, NN_TENSOR_CONST);
	ck_assert_str_eq(m.graph->nodes[0].impl, "const");
	ts_invoke_ok(&m, "constant reshape");
	t = nn_session_output(m.session, 0);
	for (int i = 0; i < 6; i++)
		ck_assert_msg(((const float *)t->data)[i] == (float)(i + 1), "element %d is %g", i,
			      ((const float *)t->data)[i]);
	ts_model_free(&m);
}
END_TEST

/* --- SQUEEZE ---------------------------------------------------------- */

static void squeeze_case(const int32_t *xd, int xr, const int32_t *sq, int n_sq, const int32_t *want, int wr)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	size_t n = count_of(xr, xd);
	uint8_t in[64];
	int x, y;
	const nn_tensor *yt;

	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	/* uint8: squeeze only renames the shape, any dtype works */
	x = tb_tensor(b, "x", NN_U8, xr, xd, NULL, 0, NULL);
	y = tb_tensor(b, "y", NN_U8, wr, want, NULL, 0, NULL);
	if (n_sq)
		tb_opt_vec(&o, 0, n_sq, sq);
	tb_op(b, OP_SQUEEZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_SQUEEZE, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, 1, "squeeze");
	memcpy(nn_session_input(m.session, 0)->data, in, n);
	ts_invoke_ok(&m, "squeeze");
	yt = nn_session_output(m.session, 0);
	check_shape(yt, wr, want, "squeeze output");
	ck_assert(memcmp(yt->data, in, n) == 0);
	ts_model_free(&m);
}

START_TEST(test_squeeze)
{
	int32_t xd[4] = {1, 3, 1, 2};
	squeeze_case(xd, 4, NULL, 0, (int32_t[]){3, 2}, 2);
	squeeze_case(xd, 4, (int32_t[]){2}, 1, (int32_t[]){1, 3, 2}, 3);
	squeeze_case(xd, 4, (int32_t[]){-2}, 1, (int32_t[]){1, 3, 2}, 3);
	squeeze_case(xd, 4, (int32_t[]){0}, 1, (int32_t[]){3, 1, 2}, 3);
	squeeze_case(xd, 4, (int32_t[]){0, -2, 0}, 3, (int32_t[]){3, 2}, 2);
	squeeze_case((int32_t[]){1, 1}, 2, NULL, 0, NULL, 0);
	squeeze_case((int32_t[]){4, 5}, 2, NULL, 0, (int32_t[]){4, 5}, 2);
}
END_TEST

static tb_model *squeeze_bad_model(const int32_t *sq, int n)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){1, 3, 1, 2}, NULL, 0, NULL);
	int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);

	tb_opt_vec(&o, 0, n, sq);
	tb_op(b, OP_SQUEEZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, OPTS_SQUEEZE, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

START_TEST(test_squeeze_refusals)
{
	ts_tb_expect_refused(squeeze_bad_model((int32_t[]){1}, 1), "cannot squeeze dimension 1 of size 3",
		       "size-3 dim");
	ts_tb_expect_refused(squeeze_bad_model((int32_t[]){-3}, 1), "cannot squeeze dimension -3 of size 3",
		       "size-3 dim");
	ts_tb_expect_refused(squeeze_bad_model((int32_t[]){4}, 1), "out of range", "dim 4 of rank 4");
	ts_tb_expect_refused(squeeze_bad_model((int32_t[]){-5}, 1), "out of range", "dim -5 of rank 4");
}
END_TEST

/* --- RESIZE_BILINEAR -------------------------------------------------- */

typedef struct rs_case {
	int n, ih, iw, c, oh, ow;
	bool align, half;
	int threads;
} rs_case;

static void bilinear_naive(const rs_case *k, const float *in, float *want, float *mag)
{
	for (int b = 0; b < k->n; b++)
		for (int y = 0; y < k->oh; y++)
			for (int x = 0; x < k->ow; x++)
				for (int c = 0; c < k->c; c++) {
					float sy = (float)k->ih / (float)k->oh,
					      sx = (float)k->iw / (float)k->ow;
					float fy, fx, dy, dx;
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
					size_t o = (((size_t)b * k->oh + y) * k->ow + x) * k->c + c;
					double t0 = (double)AT(y0, x0) * (1 - dy) * (1 - dx);
					double t1 = (double)AT(y1, x0) * dy * (1 - dx);
					double t2 = (double)AT(y0, x1) * (1 - dy) * dx;
					double t3 = (double)AT(y1, x1) * dy * dx;
#undef AT
					want[o] = (float)(t0 + t1 + t2 + t3);
					mag[o] = (float)(fabs(t0) + fabs(t1) + fabs(t2) + fabs(t3));
				}
}

static tb_model *resize_model(int op, const rs_case *k, nn_dtype type, bool out_shape)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int32_t size[2] = {k->oh, k->ow};
	int x, s, y;

	x = tb_tensor(b, "x", type, 4, (int32_t[]){k->n, k->ih, k->iw, k->c}, NULL, 0, NULL);
	s = tb_tensor(b, "size", NN_I32, 1, (int32_t[]){2}, size, sizeof(size), NULL);
	y = tb_tensor(b, "y", type, out_shape ? 4 : 0, (int32_t[]){k->n, k->oh, k->ow, k->c}, NULL, 0, NULL);
	if (op == OP_RESIZE_BILINEAR) {
		tb_opt_i8(&o, 2, k->align);
		tb_opt_i8(&o, 3, k->half);
	} else {
		tb_opt_i8(&o, 0, k->align);
		tb_opt_i8(&o, 1, k->half);
	}
	tb_op(b, op, NULL, 1, (int[]){x, s}, 2, (int[]){y}, 1,
	      op == OP_RESIZE_BILINEAR ? OPTS_RESIZE_BILINEAR : OPTS_RESIZE_NEAREST, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

static void bilinear_run(const rs_case *k, uint32_t seed)
{
	size_t ni = (size_t)k->n * k->ih * k->iw * k->c, no = (size_t)k->n * k->oh * k->ow * k->c;
	float *in = malloc(ni * sizeof(float)), *want = malloc(no * sizeof(float)),
	      *mag = malloc(no * sizeof(float));
	char desc[160];
	ts_model m;
	const float *got;

	snprintf(desc, sizeof(desc), "bilinear [%d,%d,%d,%d] -> %dx%d align %d half %d threads %d", k->n,
		 k->ih, k->iw, k->c, k->oh, k->ow, k->align, k->half, k->threads);
	fill(&seed, in, ni);
	bilinear_naive(k, in, want, mag);
	ts_tb_load_ok(&m, resize_model(OP_RESIZE_BILINEAR, k, NN_F32, true), k->threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (size_t i = 0; i < no; i++)
		ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-6f * mag[i] + 1e-30f,
			      "%s: element %zu is %.9g, want %.9g", desc, i, got[i], want[i]);
	ts_model_free(&m);
	free(in);
	free(want);
	free(mag);
}

START_TEST(test_resize_bilinear)
{
	static const int sizes[][2] = {{8, 9}, {3, 2}, {4, 5}, {1, 1}, {7, 1}, {13, 17}};
	uint32_t seed = 100;
	for (int mode = 0; mode < 3; mode++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			rs_case k = {
			    1, 4, 5, 3, sizes[s][0], sizes[s][1], mode == 1, mode == 2, 1 + (int)(s & 1)};
			bilinear_run(&k, seed++);
		}
	{
		rs_case k = {2, 33, 33, 5, 257, 257, true, false, 2}; /* DeepLab-like upscale, batch 2 */
		bilinear_run(&k, seed++);
		k.align = false;
		k.half = true;
		k.c = 1;
		bilinear_run(&k, seed++);
	}
	{
		rs_case k = {1, 50, 37, 4, 9, 11, false, true, 1}; /* downscale */
		bilinear_run(&k, seed++);
		k.half = false;
		bilinear_run(&k, seed++);
		k.align = true;
		bilinear_run(&k, seed++);
	}
}
END_TEST

/* TFLite's optimized float kernel, element by element: the exact float
 * expression (so the comparison is bit for bit). */
static float bilinear_tflite_opt(const rs_case *k, const float *in, int b, int y, int x, int c)
{
#define AT(yy, xx) in[(((size_t)b * k->ih + (yy)) * k->iw + (xx)) * k->c + c]
	if (!k->align && !k->half && k->oh == 2 * k->ih && k->ow == 2 * k->iw) {
		int y0 = y / 2, x0 = x / 2;
		int y1 = y0 + 1 < k->ih ? y0 + 1 : k->ih - 1, x1 = x0 + 1 < k->iw ? x0 + 1 : k->iw - 1;
		float left;
		if (!(y & 1))
			return (x & 1) ? (AT(y0, x0) + AT(y0, x1)) / 2 : AT(y0, x0);
		left = (AT(y0, x0) + AT(y1, x0)) / 2;
		return (x & 1) ? (left + ((AT(y0, x1) + AT(y1, x1)) / 2)) / 2 : left;
	}
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
		float acc = 0.0f;
		acc += AT(y0, x0) * ((1 - dy) * (1 - dx));
		acc += AT(y0, x1) * ((1 - dy) * dx);
		acc += AT(y1, x0) * (dy * (1 - dx));
		acc += AT(y1, x1) * (dy * dx);
		return acc;
	}
#undef AT
}

START_TEST(test_resize_bilinear_f32_exact)
{
	static const rs_case cases[] = {
	    {1, 4, 5, 3, 8, 10, false, false, 1}, /* exact 2x: the averaging kernel */
	    {2, 3, 1, 7, 6, 2, false, false, 2},  /* 2x with a width of 1 */
	    {1, 4, 5, 3, 8, 10, false, true, 1},  /* 2x with half pixels: generic */
	    {1, 4, 5, 3, 8, 10, true, false, 2},  /* 2x with align corners: generic */
	    {2, 33, 33, 5, 129, 129, true, false, 2}, {1, 7, 3, 9, 5, 11, false, true, 1},
	    {1, 6, 6, 17, 13, 1, false, false, 1},
	};
	uint32_t seed = 4321;

	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		const rs_case *k = &cases[t];
		size_t ni = (size_t)k->n * k->ih * k->iw * k->c;
		float *in = malloc(ni * sizeof(float));
		ts_model m;
		const float *got;
		char desc[128];

		snprintf(desc, sizeof(desc), "exact bilinear case %zu", t);
		fill(&seed, in, ni);
		ts_tb_load_ok(&m, resize_model(OP_RESIZE_BILINEAR, k, NN_F32, true), k->threads, desc);
		memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
		ts_invoke_ok(&m, desc);
		got = nn_session_output(m.session, 0)->data;
		for (int b = 0; b < k->n; b++)
			for (int y = 0; y < k->oh; y++)
				for (int x = 0; x < k->ow; x++)
					for (int c = 0; c < k->c; c++) {
						size_t o = (((size_t)b * k->oh + y) * k->ow + x) * k->c + c;
						float want = bilinear_tflite_opt(k, in, b, y, x, c);
						ck_assert_msg(memcmp(&got[o], &want, sizeof(float)) == 0,
							      "%s: (%d,%d,%d,%d) is %.9g, want %.9g", desc, b,
							      y, x, c, got[o], want);
					}
		ts_model_free(&m);
		free(in);
	}
}
END_TEST

START_TEST(test_resize_bilinear_refusals)
{
	rs_case k = {1, 4, 5, 3, 8, 8, true, true, 1};
	ts_tb_expect_refused(resize_model(OP_RESIZE_BILINEAR, &k, NN_F32, false),
		       "align_corners and half_pixel_centers", "both modes");
	k.half = false;
	ts_tb_expect_refused(resize_model(OP_RESIZE_BILINEAR, &k, NN_I16, false), "int16 is not supported",
		       "int16");
	ts_tb_expect_refused(resize_model(OP_RESIZE_BILINEAR, &k, NN_U8, false), "no quantization parameters",
		       "uint8 without quantization");
	k.oh = 0;
	ts_tb_expect_refused(resize_model(OP_RESIZE_BILINEAR, &k, NN_F32, false), "must be positive", "size 0");
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 3, (int32_t[]){4, 5, 3}, NULL, 0, NULL);
		int s = tb_tensor(b, "size", NN_I32, 1, (int32_t[]){2}, (int32_t[]){8, 8}, 8, NULL);
		int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);
		tb_op(b, OP_RESIZE_BILINEAR, NULL, 1, (int[]){x, s}, 2, (int[]){y}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_expect_refused(b, "rank 3", "rank-3 input");
	}
}
END_TEST

/* --- RESIZE_NEAREST_NEIGHBOR ------------------------------------------ */

static int nearest_naive_index(int i, int in, int out, bool align, bool half)
{
	float scale = (align && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
	float v = ((float)i + (half ? 0.5f : 0.0f)) * scale;
	int s = align ? (int)roundf(v) : (int)floorf(v);
	if (s > in - 1)
		s = in - 1;
	if (half && s < 0)
		s = 0;
	return s;
}

static void nearest_run(const rs_case *k, uint32_t seed)
{
	size_t ni = (size_t)k->n * k->ih * k->iw * k->c;
	float *in = malloc(ni * sizeof(float));
	char desc[160];
	ts_model m;
	const float *got;

	snprintf(desc, sizeof(desc), "nearest [%d,%d,%d,%d] -> %dx%d align %d half %d", k->n, k->ih, k->iw,
		 k->c, k->oh, k->ow, k->align, k->half);
	fill(&seed, in, ni);
	ts_tb_load_ok(&m, resize_model(OP_RESIZE_NEAREST, k, NN_F32, true), k->threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
	ts_invoke_ok(&m, desc);
	got = nn_session_output(m.session, 0)->data;
	for (int b = 0; b < k->n; b++)
		for (int y = 0; y < k->oh; y++)
			for (int x = 0; x < k->ow; x++)
				for (int c = 0; c < k->c; c++) {
					int sy = nearest_naive_index(y, k->ih, k->oh, k->align, k->half);
					int sx = nearest_naive_index(x, k->iw, k->ow, k->align, k->half);
					float want = in[(((size_t)b * k->ih + sy) * k->iw + sx) * k->c + c];
					float g = got[(((size_t)b * k->oh + y) * k->ow + x) * k->c + c];
					ck_assert_msg(g == want, "%s: [%d,%d,%d,%d] is %g, want %g", desc, b,
						      y, x, c, g, want);
				}
	ts_model_free(&m);
	free(in);
}

START_TEST(test_resize_nearest)
{
	static const int sizes[][2] = {{8, 10}, {2, 3}, {4, 5}, {1, 1}, {9, 1}, {12, 7}};
	uint32_t seed = 300;
	for (int mode = 0; mode < 4; mode++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			rs_case k = {2,
				     4,
				     5,
				     3,
				     sizes[s][0],
				     sizes[s][1],
				     mode & 1,
				     (mode & 2) != 0,
				     1 + (int)(s & 1)};
			nearest_run(&k, seed++);
		}
	{
		rs_case k = {1, 24, 24, 64, 96, 96, false, false, 2}; /* style-transfer-like upscale x4 */
		nearest_run(&k, seed++);
	}
}
END_TEST

START_TEST(test_resize_nearest_refusals)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){1, 4, 4, 1}, NULL, 0, NULL);
	int s = tb_tensor(b, "size", NN_I32, 1, (int32_t[]){3}, (int32_t[]){8, 8, 8}, 12, NULL);
	int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);

	tb_op(b, OP_RESIZE_NEAREST, NULL, 1, (int[]){x, s}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_expect_refused(b, "shape [2]", "size of 3 entries");
}
END_TEST

/* --- MEAN ------------------------------------------------------------- */

static void mean_run(const int32_t *xd, int xr, const int32_t *axes, int n_axes, bool scalar_axis, bool keep,
		     int threads, uint32_t seed)
{
	bool red[6] = {false};
	int32_t od[6];
	int orank = 0;
	size_t ni = count_of(xr, xd), no;
	float *in = malloc(ni * sizeof(float));
	double *sum, *asum;
	int64_t cnt = 1;
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	char desc[160];
	int x, a, y;
	const float *got;

	snprintf(desc, sizeof(desc), "mean rank %d axes[0] %d n_axes %d keep %d threads %d", xr,
		 n_axes ? axes[0] : 99, n_axes, keep, threads);
	for (int i = 0; i < n_axes; i++)
		red[axes[i] < 0 ? axes[i] + xr : axes[i]] = true;
	for (int d = 0; d < xr; d++) {
		if (red[d])
			cnt *= xd[d];
		if (!red[d])
			od[orank++] = xd[d];
		else if (keep)
			od[orank++] = 1;
	}
	no = count_of(orank, od);
	sum = calloc(no, sizeof(double));
	asum = calloc(no, sizeof(double));
	fill(&seed, in, ni);
	for (size_t i = 0; i < ni; i++) {
		/* output index: drop the reduced coordinates */
		size_t rem = i, oi = 0, ostride = 1;
		for (int d = xr - 1; d >= 0; d--) {
			size_t cd = rem % (size_t)xd[d];
			rem /= (size_t)xd[d];
			if (!red[d]) {
				oi += cd * ostride;
				ostride *= (size_t)xd[d];
			}
		}
		sum[oi] += in[i];
		asum[oi] += fabs(in[i]);
	}

	x = tb_tensor(b, "x", NN_F32, xr, xd, NULL, 0, NULL);
	a = tb_tensor(b, "axes", NN_I32, scalar_axis ? 0 : 1, (int32_t[]){n_axes}, axes,
		      sizeof(int32_t) * (size_t)n_axes, NULL);
	y = tb_tensor(b, "y", NN_F32, orank, od, NULL, 0, NULL);
	tb_opt_i8(&o, 0, keep);
	tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, OPTS_REDUCER, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
	ts_invoke_ok(&m, desc);
	check_shape(nn_session_output(m.session, 0), orank, od, desc);
	got = nn_session_output(m.session, 0)->data;
	for (size_t i = 0; i < no; i++) {
		double want = sum[i] / (double)cnt, tol = 1e-5 * asum[i] / (double)cnt + 1e-30;
		ck_assert_msg(fabs(got[i] - want) <= tol, "%s: element %zu is %.9g, want %.9g", desc, i,
			      got[i], want);
	}
	ts_model_free(&m);
	free(in);
	free(sum);
	free(asum);
}

START_TEST(test_mean)
{
	int32_t xd[4] = {2, 5, 7, 3};
	uint32_t seed = 500;

	mean_run(xd, 4, (int32_t[]){1, 2}, 2, false, true, 1, seed++);
	mean_run(xd, 4, (int32_t[]){1, 2}, 2, false, false, 1, seed++);
	mean_run(xd, 4, (int32_t[]){2, 1}, 2, false, true, 2, seed++);
	mean_run(xd, 4, (int32_t[]){-1}, 1, false, false, 1, seed++);
	mean_run(xd, 4, (int32_t[]){-1}, 1, false, true, 1, seed++);
	mean_run(xd, 4, (int32_t[]){3}, 1, true, false, 1, seed++); /* scalar axis tensor */
	mean_run(xd, 4, (int32_t[]){0, 2}, 2, false, false, 1,
		 seed++); /* two separate blocks: general path */
	mean_run(xd, 4, (int32_t[]){1, 3}, 2, false, true, 1, seed++);
	mean_run(xd, 4, (int32_t[]){1, 1, -3, 2}, 4, false, false, 1, seed++); /* repeats */
	mean_run(xd, 4, (int32_t[]){0, 1, 2, 3}, 4, false, false, 1, seed++);
	mean_run(xd, 4, (int32_t[]){0}, 1, false, true, 1, seed++);
	mean_run((int32_t[]){1, 40, 40, 130}, 4, (int32_t[]){1, 2}, 2, false, true, 2, seed++);
	mean_run((int32_t[]){3, 1, 200, 1, 7}, 5, (int32_t[]){0, 2, 4}, 3, false, false, 2, seed++);
}
END_TEST

/* 1 and 3 threads give the same bytes (each output is summed in one order). */
START_TEST(test_mean_threads_agree)
{
	int32_t xd[4] = {1, 48, 48, 160};
	size_t ni = count_of(4, xd);
	float *in = malloc(ni * sizeof(float)), *out[2];
	uint32_t seed = 77;

	fill(&seed, in, ni);
	for (int t = 0; t < 2; t++) {
		tb_model *b = tb_new();
		tb_opts o = {0};
		ts_model m;
		int x = tb_tensor(b, "x", NN_F32, 4, xd, NULL, 0, NULL);
		int a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){2}, (int32_t[]){1, 2}, 8, NULL);
		int y = tb_tensor(b, "y", NN_F32, 4, (int32_t[]){1, 1, 1, 160}, NULL, 0, NULL);
		tb_opt_i8(&o, 0, 1);
		tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, OPTS_REDUCER, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_load_ok(&m, b, t ? 3 : 1, "mean threads");
		memcpy(nn_session_input(m.session, 0)->data, in, ni * sizeof(float));
		ts_invoke_ok(&m, "mean threads");
		out[t] = malloc(160 * sizeof(float));
		memcpy(out[t], nn_session_output(m.session, 0)->data, 160 * sizeof(float));
		ts_model_free(&m);
	}
	ck_assert(memcmp(out[0], out[1], 160 * sizeof(float)) == 0);
	free(out[0]);
	free(out[1]);
	free(in);
}
END_TEST

START_TEST(test_mean_refusals)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, NULL);
	int a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){2}, (int32_t[]){1, 4}, 8, NULL);
	int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);

	tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_expect_refused(b, "axis 4 is out of range for rank 4", "axis 4");

	b = tb_new();
	x = tb_tensor(b, "x", NN_I8, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, NULL);
	a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){2}, (int32_t[]){1, 2}, 8, NULL);
	y = tb_tensor(b, "y", NN_I8, 0, NULL, NULL, 0, NULL);
	tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_expect_refused(b, "no quantization parameters", "int8 mean without quantization");

	b = tb_new();
	x = tb_tensor(b, "x", NN_I16, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, NULL);
	a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){2}, (int32_t[]){1, 2}, 8, NULL);
	y = tb_tensor(b, "y", NN_I16, 0, NULL, NULL, 0, NULL);
	tb_op(b, OP_MEAN, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_expect_refused(b, "input type int16 is not supported", "int16 mean");
}
END_TEST

/* --- PAD and MIRROR_PAD ----------------------------------------------- */

/* Source index of output p along a dim of size n padded before by lo:
 * -1 for constant padding; the mirrored index otherwise. */
static int pad_src(int p, int lo, int n, int mode)
{
	int i = p - lo;
	if (i >= 0 && i < n)
		return i;
	if (mode < 0)
		return -1;
	if (mode == REFLECT)
		return i < 0 ? -i : 2 * n - 2 - i;
	return i < 0 ? -1 - i : 2 * n - 1 - i;
}

/* mode < 0: PAD (value pad_val in elements of es bytes); else MIRROR_PAD. */
static void pad_run(nn_dtype type, const int32_t *xd, int xr, const int32_t *pads, bool pads64, int mode,
		    const tb_quant *q, int threads, uint32_t seed)
{
	size_t es = type == NN_F32 ? 4 : 1;
	int32_t od[6];
	size_t ni = count_of(xr, xd), no;
	uint8_t *in = malloc(ni * es), *want;
	tb_model *b = tb_new();
	tb_opts o = {0};
	ts_model m;
	char desc[160];
	int x, p, y;
	int64_t p64[12];

	for (int d = 0; d < xr; d++)
		od[d] = xd[d] + pads[2 * d] + pads[2 * d + 1];
	no = count_of(xr, od);
	want = malloc(no * es);
	snprintf(desc, sizeof(desc), "%s %s rank %d mode %d threads %d", mode < 0 ? "pad" : "mirror_pad",
		 nn_dtype_name(type), xr, mode, threads);
	for (size_t i = 0; i < ni * es; i++)
		in[i] = (uint8_t)ts_rand(&seed);
	for (size_t i = 0; i < no; i++) {
		size_t rem = i, src = 0, istride = 1;
		bool outside = false;
		for (int d = xr - 1; d >= 0; d--) {
			int cd = (int)(rem % (size_t)od[d]);
			int s = pad_src(cd, pads[2 * d], xd[d], mode);
			rem /= (size_t)od[d];
			if (s < 0)
				outside = true;
			else
				src += (size_t)s * istride;
			istride *= (size_t)xd[d];
		}
		if (outside)
			memset(want + i * es, q ? (int)q->zero_point[0] : 0, es);
		else
			memcpy(want + i * es, in + src * es, es);
	}

	for (int i = 0; i < 2 * xr; i++)
		p64[i] = pads[i];
	x = tb_tensor(b, "x", type, xr, xd, NULL, 0, q);
	p = tb_tensor(b, "pads", pads64 ? NN_I64 : NN_I32, 2, (int32_t[]){xr, 2},
		      pads64 ? (const void *)p64 : pads, (pads64 ? 8 : 4) * (size_t)(2 * xr), NULL);
	y = tb_tensor(b, "y", type, xr, od, NULL, 0, q);
	if (mode < 0) {
		tb_op(b, OP_PAD, NULL, 1, (int[]){x, p}, 2, (int[]){y}, 1, OPTS_PAD, NULL);
	} else {
		tb_opt_i8(&o, 0, (int8_t)mode);
		tb_op(b, OP_MIRROR_PAD, NULL, 1, (int[]){x, p}, 2, (int[]){y}, 1, OPTS_MIRROR_PAD, &o);
	}
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_load_ok(&m, b, threads, desc);
	memcpy(nn_session_input(m.session, 0)->data, in, ni * es);
	ts_invoke_ok(&m, desc);
	check_shape(nn_session_output(m.session, 0), xr, od, desc);
	{
		const uint8_t *got = nn_session_output(m.session, 0)->data;
		for (size_t i = 0; i < no * es; i++)
			ck_assert_msg(got[i] == want[i], "%s: byte %zu (element %zu) is %u, want %u", desc, i,
				      i / es, got[i], want[i]);
	}
	ts_model_free(&m);
	free(in);
	free(want);
}

START_TEST(test_pad)
{
	int32_t xd[4] = {2, 3, 4, 3};
	uint32_t seed = 900;
	pad_run(NN_F32, xd, 4, (int32_t[]){0, 0, 1, 1, 2, 1, 0, 0}, false, -1, NULL, 1,
		seed++); /* image style */
	pad_run(NN_F32, xd, 4, (int32_t[]){1, 0, 2, 1, 0, 3, 0, 0}, true, -1, NULL, 2, seed++);
	pad_run(NN_F32, xd, 4, (int32_t[]){0, 0, 0, 0, 0, 0, 1, 2}, false, -1, NULL, 1,
		seed++); /* channels */
	pad_run(NN_F32, xd, 4, (int32_t[]){1, 1, 1, 1, 1, 1, 1, 1}, false, -1, NULL, 1, seed++);
	pad_run(NN_F32, xd, 4, (int32_t[]){0, 0, 0, 0, 0, 0, 0, 0}, false, -1, NULL, 1, seed++); /* copy */
	pad_run(NN_F32, (int32_t[]){1, 64, 64, 32}, 4, (int32_t[]){0, 0, 3, 4, 5, 2, 0, 0}, false, -1, NULL,
		3, seed++);
	pad_run(NN_F32, (int32_t[]){5}, 1, (int32_t[]){2, 3}, false, -1, NULL, 1, seed++);
	{
		float scale = 0.5f;
		int64_t zp = 7;
		tb_quant q = {1, &scale, &zp, 0};
		pad_run(NN_U8, xd, 4, (int32_t[]){0, 1, 1, 0, 2, 2, 1, 0}, false, -1, &q, 1, seed++);
		zp = -3;
		pad_run(NN_I8, xd, 4, (int32_t[]){0, 0, 1, 1, 1, 1, 0, 0}, false, -1, &q, 1, seed++);
	}
	pad_run(NN_U8, xd, 4, (int32_t[]){0, 0, 1, 1, 1, 1, 0, 0}, false, -1, NULL, 1, seed++);
}
END_TEST

START_TEST(test_mirror_pad)
{
	int32_t xd[4] = {2, 4, 5, 3};
	uint32_t seed = 1000;
	for (int mode = 0; mode < 2; mode++) {
		pad_run(NN_F32, xd, 4, (int32_t[]){0, 0, 2, 1, 3, 3, 0, 0}, false, mode, NULL, 1, seed++);
		pad_run(NN_F32, xd, 4, (int32_t[]){1, 1, 3, 3, 4 - mode, 1, 2, 2 - mode}, mode, mode, NULL, 2,
			seed++);
		pad_run(NN_F32, xd, 4, (int32_t[]){0, 0, 0, 0, 0, 0, 1, 1}, false, mode, NULL, 1, seed++);
		pad_run(NN_F32, xd, 4, (int32_t[]){0, 0, 0, 0, 0, 0, 0, 0}, false, mode, NULL, 1, seed++);
		pad_run(NN_F32, (int32_t[]){1, 96, 96, 32}, 4, (int32_t[]){0, 0, 4, 4, 4, 4, 0, 0}, false,
			mode, NULL, 3, seed++);
		pad_run(NN_U8, (int32_t[]){7}, 1, (int32_t[]){6 - mode, 5}, false, mode, NULL, 1, seed++);
	}
}
END_TEST

static tb_model *pad_bad_model(int op, const int32_t *xd, const int32_t *pads, int n_pad_rows, int mode)
{
	tb_model *b = tb_new();
	tb_opts o = {0};
	int x = tb_tensor(b, "x", NN_F32, 4, xd, NULL, 0, NULL);
	int p =
	    tb_tensor(b, "pads", NN_I32, 2, (int32_t[]){n_pad_rows, 2}, pads, 8 * (size_t)n_pad_rows, NULL);
	int y = tb_tensor(b, "y", NN_F32, 0, NULL, NULL, 0, NULL);

	tb_opt_i8(&o, 0, (int8_t)mode);
	tb_op(b, op, NULL, 1, (int[]){x, p}, 2, (int[]){y}, 1, op == OP_PAD ? 0 : OPTS_MIRROR_PAD,
	      op == OP_PAD ? NULL : &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	return b;
}

START_TEST(test_pad_refusals)
{
	int32_t xd[4] = {1, 3, 4, 2};
	ts_tb_expect_refused(pad_bad_model(OP_PAD, xd, (int32_t[]){0, 0, -1, 0, 0, 0, 0, 0}, 4, 0),
		       "negative padding", "negative pad");
	ts_tb_expect_refused(pad_bad_model(OP_PAD, xd, (int32_t[]){0, 0, 1, 1, 1, 1}, 3, 0), "shape [4,2]",
		       "3 rows of paddings for rank 4");
	/* REFLECT allows at most dim - 1 = 2 on H, SYMMETRIC at most 3 */
	ts_tb_expect_refused(pad_bad_model(OP_MIRROR_PAD, xd, (int32_t[]){0, 0, 3, 0, 0, 0, 0, 0}, 4, REFLECT),
		       "cannot be REFLECT-padded by (3, 0): each must be 0..2", "reflect 3 on 3");
	ts_tb_expect_refused(pad_bad_model(OP_MIRROR_PAD, xd, (int32_t[]){0, 0, 0, 4, 0, 0, 0, 0}, 4, SYMMETRIC),
		       "cannot be SYMMETRIC-padded by (0, 4): each must be 0..3", "symmetric 4 on 3");
	ts_tb_expect_refused(pad_bad_model(OP_MIRROR_PAD, xd, (int32_t[]){0, 0, 0, 0, 0, 0, 0, 0}, 4, 2), "mode 2",
		       "mode 2");
	{
		/* symmetric by exactly the dimension is fine */
		ts_model m;
		ts_tb_load_ok(&m,
			pad_bad_model(OP_MIRROR_PAD, xd, (int32_t[]){0, 0, 3, 3, 0, 0, 0, 0}, 4, SYMMETRIC),
			1, "symmetric 3 on 3");
		ts_model_free(&m);
	}
}
END_TEST

/* --- DEQUANTIZE ------------------------------------------------------- */

/* The value of a binary16 pattern, from its fields (independent of the kernel). */
static float half_value(uint16_t h)
{
	int sign = h >> 15, e = (h >> 10) & 31, man = h & 1023;
	float v;

	if (e == 31)
		v = man ? NAN : INFINITY;
	else if (e == 0)
		v = ldexpf((float)man, -24);
	else
		v = ldexpf((float)(1024 + man), e - 25);
	return sign ? -v : v;
}

START_TEST(test_dequantize_f16_known)
{
	static const uint16_t h[8] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0xFC00, 0x8000, 0x03FF};
	const float want[8] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, INFINITY, -INFINITY, -0.0f, 0x3FFp-24f};
	tb_model *b = tb_new();
	ts_model m;
	int c = tb_tensor(b, "c", NN_F16, 1, (int32_t[]){8}, h, sizeof(h), NULL);
	int y = tb_tensor(b, "y", NN_F32, 1, (int32_t[]){8}, NULL, 0, NULL);
	const float *got;

	tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){c}, 1, (int[]){y}, 1, OPTS_DEQUANTIZE, NULL);
	tb_io(b, 0, NULL, 1, (int[]){y});
	ts_tb_load_ok(&m, b, 1, "f16 known");
	ck_assert_str_eq(m.graph->nodes[0].impl, "const");
	ts_invoke_ok(&m, "f16 known");
	got = nn_session_output(m.session, 0)->data;
	for (int i = 0; i < 8; i++)
		ck_assert_msg(memcmp(&got[i], &want[i], 4) == 0, "0x%04X -> %a, want %a", h[i], got[i],
			      want[i]);
	ts_model_free(&m);
}
END_TEST

/* Every binary16 pattern, as a constant (folded at prepare) and as an input. */
START_TEST(test_dequantize_f16_all)
{
	uint16_t *h = malloc(65536 * sizeof(uint16_t));

	for (int i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;
	for (int as_input = 0; as_input < 2; as_input++) {
		tb_model *b = tb_new();
		ts_model m;
		int c =
		    tb_tensor(b, "c", NN_F16, 1, (int32_t[]){65536}, as_input ? NULL : h, 65536 * 2, NULL);
		int y = tb_tensor(b, "y", NN_F32, 1, (int32_t[]){65536}, NULL, 0, NULL);
		const float *got;

		tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){c}, 1, (int[]){y}, 1, 0, NULL);
		if (as_input)
			tb_io(b, 1, (int[]){c}, 1, (int[]){y});
		else
			tb_io(b, 0, NULL, 1, (int[]){y});
		ts_tb_load_ok(&m, b, 2, "f16 all");
		if (as_input)
			memcpy(nn_session_input(m.session, 0)->data, h, 65536 * 2);
		ts_invoke_ok(&m, "f16 all");
		got = nn_session_output(m.session, 0)->data;
		for (int i = 0; i < 65536; i++) {
			float want = half_value((uint16_t)i);
			if (isnan(want))
				ck_assert_msg(isnan(got[i]), "0x%04X -> %a, want NaN", i, got[i]);
			else
				ck_assert_msg(memcmp(&got[i], &want, 4) == 0, "0x%04X -> %a, want %a", i,
					      got[i], want);
		}
		ts_model_free(&m);
	}
	free(h);
}
END_TEST

/* int8 per-channel along `axis` of [3,2,4] (constant), and uint8 per-tensor (input). */
START_TEST(test_dequantize_int)
{
	int32_t xd[3] = {3, 2, 4};
	uint32_t seed = 1234;
	int8_t q8[24];

	for (int i = 0; i < 24; i++)
		q8[i] = (int8_t)(ts_rand(&seed) & 0xff);
	for (int axis = 0; axis < 3; axis += 2) {
		float scales[4] = {0.5f, 0.031f, 1.7f, 0.0042f};
		int64_t zps[4] = {0, -5, 3, 127};
		tb_quant q = {xd[axis], scales, zps, axis};
		tb_model *b = tb_new();
		ts_model m;
		int c = tb_tensor(b, "c", NN_I8, 3, xd, q8, sizeof(q8), &q);
		int y = tb_tensor(b, "y", NN_F32, 3, xd, NULL, 0, NULL);
		const float *got;

		tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){c}, 1, (int[]){y}, 1, 0, NULL);
		tb_io(b, 0, NULL, 1, (int[]){y});
		ts_tb_load_ok(&m, b, 1, "int8 per-channel");
		ts_invoke_ok(&m, "int8 per-channel");
		got = nn_session_output(m.session, 0)->data;
		for (int i = 0; i < 24; i++) {
			int ch = axis == 0 ? i / 8 : i % 4;
			float want = (float)((double)scales[ch] * (q8[i] - zps[ch]));
			ck_assert_msg(got[i] == want, "axis %d element %d (q %d ch %d): %.9g, want %.9g",
				      axis, i, q8[i], ch, got[i], want);
		}
		ts_model_free(&m);
	}
	{
		float scale = 0.0235f;
		int64_t zp = 128;
		tb_quant q = {1, &scale, &zp, 0};
		tb_model *b = tb_new();
		ts_model m;
		uint8_t u[24];
		int x = tb_tensor(b, "x", NN_U8, 3, xd, NULL, 0, &q);
		int y = tb_tensor(b, "y", NN_F32, 3, xd, NULL, 0, NULL);
		const float *got;

		for (int i = 0; i < 24; i++)
			u[i] = (uint8_t)(i * 11);
		tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_load_ok(&m, b, 1, "uint8 per-tensor");
		memcpy(nn_session_input(m.session, 0)->data, u, sizeof(u));
		ts_invoke_ok(&m, "uint8 per-tensor");
		got = nn_session_output(m.session, 0)->data;
		for (int i = 0; i < 24; i++) {
			float want = (float)((double)scale * (u[i] - zp));
			ck_assert_msg(got[i] == want, "element %d: %.9g, want %.9g", i, got[i], want);
		}
		ts_model_free(&m);
	}
}
END_TEST

START_TEST(test_dequantize_refusals)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "x", NN_I32, 1, (int32_t[]){4}, NULL, 0, NULL);
	int y = tb_tensor(b, "y", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);

	tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_expect_refused(b, "input type int32 is not supported", "int32 input");

	b = tb_new();
	x = tb_tensor(b, "x", NN_I8, 1, (int32_t[]){4}, NULL, 0, NULL);
	y = tb_tensor(b, "y", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);
	tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	ts_tb_expect_refused(b, "no quantization parameters", "int8 without quantization");

	{
		float scale = -1.0f;
		int64_t zp = 0;
		tb_quant q = {1, &scale, &zp, 0};
		b = tb_new();
		x = tb_tensor(b, "x", NN_I8, 1, (int32_t[]){4}, NULL, 0, &q);
		y = tb_tensor(b, "y", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);
		tb_op(b, OP_DEQUANTIZE, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		ts_tb_expect_refused(b, "must be positive", "negative scale");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_shape");
	TCase *tc = tcase_create("shape");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_reshape);
	tcase_add_test(tc, test_reshape_refusals);
	tcase_add_test(tc, test_reshape_graph_output_alias);
	tcase_add_test(tc, test_reshape_of_constant);
	tcase_add_test(tc, test_squeeze);
	tcase_add_test(tc, test_squeeze_refusals);
	tcase_add_test(tc, test_resize_bilinear);
	tcase_add_test(tc, test_resize_bilinear_f32_exact);
	tcase_add_test(tc, test_resize_bilinear_refusals);
	tcase_add_test(tc, test_resize_nearest);
	tcase_add_test(tc, test_resize_nearest_refusals);
	tcase_add_test(tc, test_mean);
	tcase_add_test(tc, test_mean_threads_agree);
	tcase_add_test(tc, test_mean_refusals);
	tcase_add_test(tc, test_pad);
	tcase_add_test(tc, test_mirror_pad);
	tcase_add_test(tc, test_pad_refusals);
	tcase_add_test(tc, test_dequantize_f16_known);
	tcase_add_test(tc, test_dequantize_f16_all);
	tcase_add_test(tc, test_dequantize_int);
	tcase_add_test(tc, test_dequantize_refusals);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
