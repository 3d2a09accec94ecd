/* resize_bilinear.c - RESIZE_BILINEAR on NHWC tensors.
 *
 * DESIGN: every output row y and column x reads two source rows (y0, y1)
 * and two source columns (x0, x1) with fixed weights, so prepare computes
 * them once per row and per column and eval only blends.  The coordinates
 * follow TFLite's reference exactly (float arithmetic, same order):
 *   scale  = in / out, or (in - 1) / (out - 1) with align_corners (out > 1)
 *   source = (i + 0.5) * scale - 0.5 with half_pixel_centers, else i * scale
 *   lo     = max(floor(source), 0),  hi = min(ceil(source), in - 1)
 *   frac   = source - lo   (not clamped: a negative source near the top edge
 *            gives weights 1 - frac > 1 and frac < 0 on the same pixel, which
 *            blend back to that pixel, as in TFLite)
 *   out    = v(lo,lo)*(1-fy)*(1-fx) + v(hi,lo)*fy*(1-fx)
 *          + v(lo,hi)*(1-fy)*fx     + v(hi,hi)*fy*fx
 * evaluated left to right in float, so results are bit-identical to the
 * reference (the compiler vectorises the channel loop without reassociating).
 * Options (ResizeBilinearOptions): new_height=0, new_width=1 (deprecated,
 * ignored), align_corners=2, half_pixel_centers=3; both true is refused as
 * in TFLite.  The size is input 1, a constant int32 [2] = {height, width}.
 * Rows are split across threads; each output row is written by one task.
 * Integer variants (uint8/int8) will be added as further row functions.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"

enum {
	RB_OPT_ALIGN_CORNERS = 2,
	RB_OPT_HALF_PIXEL_CENTERS = 3,
};

typedef struct rb_axis {
	int32_t lo, hi; /* the two source indices */
	float w_lo;	/* 1 - frac: weight of lo */
	float w_hi;	/* frac: weight of hi */
} rb_axis;

typedef struct rb_data {
	int32_t batch, in_h, in_w, depth, out_h, out_w;
	rb_axis *ys;								       /* out_h entries */
	rb_axis *xs;								       /* out_w entries */
	void (*row)(const struct rb_data *d, const void *in, void *out, int b, int y); /* per dtype */
} rb_data;

typedef struct rb_ctx {
	const rb_data *d;
	const void *in;
	void *out;
	int rows_per_task;
} rb_ctx;

/* Same float steps as TFLite's ComputeInterpolationValues. */
static rb_axis rb_axis_at(int32_t i, float scale, bool half_pixel, int32_t in_size)
{
	rb_axis a;
	float src = half_pixel ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
	int32_t lo = (int32_t)floorf(src), hi = (int32_t)ceilf(src);

	a.lo = lo > 0 ? lo : 0;
	a.hi = hi < in_size - 1 ? hi : in_size - 1;
	a.w_hi = src - (float)a.lo;
	a.w_lo = 1.0f - a.w_hi;
	return a;
}

static void rb_row_f32(const rb_data *d, const void *in_, void *out_, int b, int y)
{
	const float *in = (const float *)in_ + (size_t)b * d->in_h * d->in_w * d->depth;
	float *out = (float *)out_ + ((size_t)b * d->out_h + (size_t)y) * d->out_w * d->depth;
	const rb_axis ay = d->ys[y];
	const float *r0 = in + (size_t)ay.lo * d->in_w * d->depth;
	const float *r1 = in + (size_t)ay.hi * d->in_w * d->depth;
	const int32_t C = d->depth;

	for (int32_t x = 0; x < d->out_w; x++, out += C) {
		const rb_axis ax = d->xs[x];
		const float *p00 = r0 + (size_t)ax.lo * C, *p01 = r0 + (size_t)ax.hi * C;
		const float *p10 = r1 + (size_t)ax.lo * C, *p11 = r1 + (size_t)ax.hi * C;
		for (int32_t c = 0; c < C; c++)
			out[c] = p00[c] * ay.w_lo * ax.w_lo + p10[c] * ay.w_hi * ax.w_lo +
				 p01[c] * ay.w_lo * ax.w_hi + p11[c] * ay.w_hi * ax.w_hi;
	}
}

static void rb_free(void *p)
{
	nn_free(p);
}

static nn_status rb_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *size;
	bool align, half;
	int32_t oh, ow, dims[4];
	float sh, sw;
	rb_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	size = nn_in(g, node, 1);
	if (in->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(in->type));
	if (in->rank != 4)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input has rank %d, expected 4 (NHWC)",
				   in->rank);
	if (size->type != NN_I32 || size->rank != 1 || size->dims[0] != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "size must be an int32 tensor of shape [2], not %s rank %d",
				   nn_dtype_name(size->type), size->rank);
	if (size->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "size is computed at run time; only a constant size is supported");
	oh = ((const int32_t *)size->data)[0];
	ow = ((const int32_t *)size->data)[1];
	if (oh <= 0 || ow <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "output size %dx%d must be positive", oh, ow);
	if (in->dims[1] <= 0 || in->dims[2] <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is %dx%d; nothing to interpolate from",
				   in->dims[1], in->dims[2]);
	align = nn_opt_bool(node, RB_OPT_ALIGN_CORNERS, false);
	half = nn_opt_bool(node, RB_OPT_HALF_PIXEL_CENTERS, false);
	if (align && half)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "align_corners and half_pixel_centers are both set");

	dims[0] = in->dims[0];
	dims[1] = oh;
	dims[2] = ow;
	dims[3] = in->dims[3];
	if ((st = nn_set_output(g, node, 0, in->type, 4, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d) + sizeof(rb_axis) * ((size_t)oh + (size_t)ow));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY,
				   "out of memory for %dx%d interpolation tables", oh, ow);
	d->batch = in->dims[0];
	d->in_h = in->dims[1];
	d->in_w = in->dims[2];
	d->depth = in->dims[3];
	d->out_h = oh;
	d->out_w = ow;
	d->ys = (rb_axis *)(d + 1);
	d->xs = d->ys + oh;
	d->row = rb_row_f32;
	sh = (float)d->in_h / (float)oh;
	sw = (float)d->in_w / (float)ow;
	if (align && oh > 1)
		sh = (float)(d->in_h - 1) / (float)(oh - 1);
	if (align && ow > 1)
		sw = (float)(d->in_w - 1) / (float)(ow - 1);
	for (int32_t y = 0; y < oh; y++)
		d->ys[y] = rb_axis_at(y, sh, half, d->in_h);
	for (int32_t x = 0; x < ow; x++)
		d->xs[x] = rb_axis_at(x, sw, half, d->in_w);
	node->data = d;
	node->impl = "ref";
	return NN_OK;
}

static void rb_task(void *ctx_, int task, int thread)
{
	const rb_ctx *c = ctx_;
	int64_t rows = (int64_t)c->d->batch * c->d->out_h;
	int64_t r0 = (int64_t)task * c->rows_per_task, r1 = r0 + c->rows_per_task;

	(void)thread;
	if (r1 > rows)
		r1 = rows;
	for (int64_t r = r0; r < r1; r++)
		c->d->row(c->d, c->in, c->out, (int)(r / c->d->out_h), (int)(r % c->d->out_h));
}

static nn_status rb_eval(const nn_node *node, nn_exec *ex)
{
	const rb_data *d = node->data;
	int64_t rows = (int64_t)d->batch * d->out_h;
	int64_t row_elems = (int64_t)d->out_w * d->depth;
	rb_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data, 1};
	int n_tasks;

	if (rows == 0 || row_elems == 0)
		return NN_OK;
	/* about 16k output elements per task keeps the pool's overhead small */
	c.rows_per_task = (int)(16384 / row_elems) + 1;
	n_tasks = (int)((rows + c.rows_per_task - 1) / c.rows_per_task);
	if (n_tasks > 1 && ex->n_threads > 1)
		nn_parallel_for(ex, n_tasks, rb_task, &c);
	else
		for (int t = 0; t < n_tasks; t++)
			rb_task(&c, t, 0);
	return NN_OK;
}

const nn_kernel nn_k_resize_bilinear = {
    .name = "RESIZE_BILINEAR",
    .prepare = rb_prepare,
    .eval = rb_eval,
    .free = rb_free,
};
