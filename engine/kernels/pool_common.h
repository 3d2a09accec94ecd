/* pool_common.h - what AVERAGE_POOL_2D and MAX_POOL_2D share: window
 * geometry, option parsing, the row loop and the per-channel vector helpers.
 *
 * DESIGN: TFLite sizes a pooling output from the Padding enum alone, with
 * the same rules as its convolutions (dilation 1):
 *   SAME:   out = ceil(in / stride)
 *   VALID:  out = (in - k + stride) / stride   (truncated)
 *   total pad = max((out - 1) * stride + k - in, 0); pad before = total / 2
 * (the odd pixel goes after).  A window at output o covers input
 * o * stride - pad_before ... + k - 1, clipped to the image: pooling never
 * reads padding, so the average divides by the number of in-bounds elements
 * and the maximum is over in-bounds elements only.  With these rules every
 * window keeps at least one input element (SAME: pad_before <= (k - 1) / 2
 * and (out - 1) * stride < in; VALID: windows lie inside), so the count is
 * never 0.
 * Pool2DOptions: padding=0, stride_w=1, stride_h=2, filter_width=3,
 * filter_height=4, fused_activation_function=5.  Geometry is computed in 64
 * bits and refused when the output would be empty or window coordinates
 * would not stay far inside int32, so the row loops can use plain ints.
 * Both ops work on NHWC with channels innermost: a window's pixels are
 * folded into a row of C accumulators, channel loops in fixed blocks of 16
 * so GCC -O2 vectorises them.  Each output row (batch b, row oy) is written
 * by one task; rows are split across threads when the work (output
 * elements times window size) exceeds 64K.
 * uint8/int8 (the quantized classifiers' global average pool): input and
 * output share one quantization (TFLite asserts it in debug builds: the
 * values are not rescaled), so the kernels work on the integers directly
 * and clamp to the fused activation's range in those integers.  Row
 * functions get per-thread scratch for accumulators wider than the output
 * type.
 */
#ifndef LITESERVE_ENGINE_KERNELS_POOL_COMMON_H
#define LITESERVE_ENGINE_KERNELS_POOL_COMMON_H

#include <math.h>
#include <stdint.h>

#include "alloc.h"
#include "broadcast.h"
#include "kernel.h"

enum {
	POOL_OPTIONS = 5, /* BuiltinOptions union index of Pool2DOptions */
	POOL_OPT_PADDING = 0,
	POOL_OPT_STRIDE_W = 1,
	POOL_OPT_STRIDE_H = 2,
	POOL_OPT_FILTER_W = 3,
	POOL_OPT_FILTER_H = 4,
	POOL_OPT_ACTIVATION = 5,
	POOL_PADDING_SAME = 0,
	POOL_PADDING_VALID = 1,
	POOL_BLOCK = 16,	       /* channels per fixed-size block */
	POOL_PARALLEL_MIN = 64 * 1024, /* work (outputs x window) run on one thread */
	POOL_TASK_WORK = 32 * 1024,    /* about this much work per task */
};

typedef struct pool_params {
	int n, ih, iw, c; /* input NHWC */
	int oh, ow;	  /* output rows and columns */
	int kh, kw;	  /* window */
	int sh, sw;	  /* strides */
	int pad_h, pad_w; /* padding before (top, left) */
	float lo, hi;	  /* fused activation clamp (float32) */
	int32_t ilo, ihi; /* fused activation clamp in the integers (uint8/int8) */
} pool_params;

/* Computes output row oy of batch b; scratch is the calling thread's
 * node->scratch_bytes (unused by kernels that asked for none). */
typedef void (*pool_row_fn)(const pool_params *p, const void *in, void *out, int b, int oy, void *scratch);

typedef struct pool_data {
	pool_params p;
	pool_row_fn row;       /* chosen by dtype at prepare */
	int64_t rows_per_task; /* rows = n * oh */
} pool_data;

/* Output size along one axis and the pad before it, or 0 when the output
 * would be empty or the windows reach too far (see DESIGN).  in, k and
 * stride are positive. */
static inline int32_t pool_out_size(int padding, int32_t in, int32_t k, int32_t stride, int32_t *pad_before)
{
	int64_t out, total;

	if (padding == POOL_PADDING_SAME)
		out = ((int64_t)in + stride - 1) / stride;
	else
		out = ((int64_t)in - k + stride) / stride;
	*pad_before = 0;
	if (out <= 0 || (out - 1) * stride + (int64_t)k > INT32_MAX / 4 || (int64_t)in > INT32_MAX / 4)
		return 0;
	total = (out - 1) * stride + k - in;
	*pad_before = total > 0 ? (int32_t)(total / 2) : 0;
	return (int32_t)out;
}

/* Window taps [*lo, *hi) of a k-wide window starting at input coordinate
 * `start` (may be negative) that fall inside [0, in). */
static inline void pool_window(int start, int k, int in, int *lo, int *hi)
{
	*lo = start < 0 ? -start : 0;
	*hi = in - start < k ? in - start : k;
}

static inline void pool_fill_f32(float *restrict o, float v, int n)
{
	int i = 0;
	for (; i + POOL_BLOCK <= n; i += POOL_BLOCK)
		for (int j = 0; j < POOL_BLOCK; j++)
			o[i + j] = v;
	for (; i < n; i++)
		o[i] = v;
}

static inline void pool_add_f32(float *restrict acc, const float *restrict x, int n)
{
	int i = 0;
	for (; i + POOL_BLOCK <= n; i += POOL_BLOCK)
		for (int j = 0; j < POOL_BLOCK; j++)
			acc[i + j] += x[i + j];
	for (; i < n; i++)
		acc[i] += x[i];
}

/* acc = max(acc, x) with std::max's rule: a NaN in x never replaces acc. */
static inline void pool_max_f32(float *restrict acc, const float *restrict x, int n)
{
	int i = 0;
	for (; i + POOL_BLOCK <= n; i += POOL_BLOCK)
		for (int j = 0; j < POOL_BLOCK; j++)
			acc[i + j] = acc[i + j] < x[i + j] ? x[i + j] : acc[i + j];
	for (; i < n; i++)
		acc[i] = acc[i] < x[i] ? x[i] : acc[i];
}

/* o = clamp(o / div, lo, hi); div == 1 is exact, so max pooling uses it too. */
static inline void pool_div_clamp_f32(float *restrict o, float div, float lo, float hi, int n)
{
	int i = 0;
	for (; i + POOL_BLOCK <= n; i += POOL_BLOCK)
		for (int j = 0; j < POOL_BLOCK; j++)
			o[i + j] = nn_clampf(o[i + j] / div, lo, hi);
	for (; i < n; i++)
		o[i] = nn_clampf(o[i] / div, lo, hi);
}

static inline void pool_free(void *d)
{
	nn_free(d);
}

/* Quantization of an 8-bit pool: input and output per-tensor quantized
 * with the same zero point and scales within 1e-6 (TFLite checks this in
 * debug builds), and the integer clamp of activation act. */
static inline nn_status pool_prepare_q(nn_graph *g, nn_node *node, int act, pool_params *p, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *out = nn_out(g, node, 0);
	float s_in, s_out;
	int32_t z_in, z_out, qmin, qmax;
	nn_status st;

	if ((st = bc_quant_of(node, in, "input", &s_in, &z_in, err)) != NN_OK ||
	    (st = bc_quant_of(node, out, "output", &s_out, &z_out, err)) != NN_OK)
		return st;
	if (z_in != z_out || fabs((double)s_in - (double)s_out) > 1e-6)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "input (scale %g, zero point %d) and output (scale %g, zero point %d) "
				   "must share their quantization",
				   (double)s_in, z_in, (double)s_out, z_out);
	qm_dtype_range(out->type, &qmin, &qmax);
	return qm_activation_range(node, act, s_out, z_out, qmin, qmax, &p->ilo, &p->ihi, err);
}

/* Shared prepare: validates the node and options, sets output 0 to
 * [n, oh, ow, c] and leaves *d filled but for d->row (and, for kernels
 * that want accumulators, node->scratch_bytes). */
static inline nn_status pool_prepare(nn_graph *g, nn_node *node, pool_data **out, nn_err *err)
{
	const nn_tensor *in;
	pool_data *d;
	pool_params *p;
	int padding, act;
	int32_t dims[4];
	int64_t work;
	nn_status st;

	*out = NULL;
	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (in->type != NN_F32 && in->type != NN_U8 && in->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(in->type));
	if (in->rank != 4)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input has rank %d, expected 4 (NHWC)",
				   in->rank);
	if (node->op->has_options && node->op->options_type != POOL_OPTIONS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "options are of type %d, not Pool2DOptions (%d)", node->op->options_type,
				   POOL_OPTIONS);
	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by the kernel's free, also when prepare fails */
	p = &d->p;
	padding = nn_opt_i8(node, POOL_OPT_PADDING, POOL_PADDING_SAME);
	p->sw = nn_opt_i32(node, POOL_OPT_STRIDE_W, 0);
	p->sh = nn_opt_i32(node, POOL_OPT_STRIDE_H, 0);
	p->kw = nn_opt_i32(node, POOL_OPT_FILTER_W, 0);
	p->kh = nn_opt_i32(node, POOL_OPT_FILTER_H, 0);
	act = nn_opt_i8(node, POOL_OPT_ACTIVATION, NN_ACT_NONE);
	if (padding != POOL_PADDING_SAME && padding != POOL_PADDING_VALID)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "padding %d is neither SAME (0) nor VALID (1)", padding);
	if (p->sh <= 0 || p->sw <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "stride %dx%d (h x w) must be positive",
				   p->sh, p->sw);
	if (p->kh <= 0 || p->kw <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "filter %dx%d (h x w) must be positive",
				   p->kh, p->kw);
	if (in->type == NN_F32 && (st = nn_activation_range_f32(node, act, &p->lo, &p->hi, err)) != NN_OK)
		return st;
	p->n = in->dims[0];
	p->ih = in->dims[1];
	p->iw = in->dims[2];
	p->c = in->dims[3];
	if (p->ih <= 0 || p->iw <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is %dx%d; nothing to pool", p->ih,
				   p->iw);
	p->oh = pool_out_size(padding, p->ih, p->kh, p->sh, &p->pad_h);
	p->ow = pool_out_size(padding, p->iw, p->kw, p->sw, &p->pad_w);
	if (p->oh == 0 || p->ow == 0)
		return nn_node_err(
		    node, err, NN_ERR_BAD_MODEL,
		    "%s padding of a %dx%d input with a %dx%d filter and stride %dx%d gives no output",
		    padding == POOL_PADDING_SAME ? "SAME" : "VALID", p->ih, p->iw, p->kh, p->kw, p->sh,
		    p->sw);
	dims[0] = p->n;
	dims[1] = p->oh;
	dims[2] = p->ow;
	dims[3] = p->c;
	if ((st = nn_set_output(g, node, 0, in->type, 4, dims, err)) != NN_OK)
		return st;
	if (in->type != NN_F32 && (st = pool_prepare_q(g, node, act, p, err)) != NN_OK)
		return st;
	/* work of one row: its outputs times the taps of a window (at most) */
	work = (int64_t)p->ow * p->c *
	       ((int64_t)(p->kh < p->ih ? p->kh : p->ih) * (p->kw < p->iw ? p->kw : p->iw));
	d->rows_per_task = (int64_t)p->n * p->oh > 0 ? (int64_t)p->n * p->oh : 1;
	if (work * p->n * p->oh > POOL_PARALLEL_MIN)
		d->rows_per_task = POOL_TASK_WORK / work + 1;
	node->impl = "ref";
	*out = d;
	return NN_OK;
}

typedef struct pool_ctx {
	const pool_data *d;
	const void *in;
	void *out;
	nn_exec *ex; /* for per-thread scratch */
} pool_ctx;

static inline void pool_task(void *ctx_, int task, int thread)
{
	const pool_ctx *c = ctx_;
	const pool_params *p = &c->d->p;
	int64_t rows = (int64_t)p->n * p->oh;
	int64_t r0 = (int64_t)task * c->d->rows_per_task, r1 = r0 + c->d->rows_per_task;

	if (r1 > rows)
		r1 = rows;
	for (int64_t r = r0; r < r1; r++)
		c->d->row(p, c->in, c->out, (int)(r / p->oh), (int)(r % p->oh), nn_ex_scratch(c->ex, thread));
}

static inline nn_status pool_eval(const nn_node *node, nn_exec *ex)
{
	const pool_data *d = node->data;
	pool_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data, ex};
	int64_t rows = (int64_t)d->p.n * d->p.oh;
	int64_t n_tasks;

	if (rows == 0 || d->p.c == 0)
		return NN_OK;
	n_tasks = (rows + d->rows_per_task - 1) / d->rows_per_task;
	if (n_tasks > 1)
		nn_parallel_for(ex, (int)n_tasks, pool_task, &c);
	else
		pool_task(&c, 0, 0);
	return NN_OK;
}

#endif
