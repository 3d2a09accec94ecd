/* softmax.c - SOFTMAX over the last dimension.
 *
 * DESIGN: each row x of the last dimension (depth elements) becomes
 *   y[c] = e[c] / sum(e),  e[c] = expf((x[c] - max(x)) * beta)
 * with SoftmaxOptions.beta (field 0; the schema's default 0 when absent,
 * which TFLite also uses and which makes every row uniform).  Subtracting
 * the row maximum keeps expf away from overflow; the steps are TFLite's
 * float reference ones in the same order (the maximum starts at -FLT_MAX
 * and skips NaNs as std::max does; the sum is accumulated left to right in
 * float; each output is a division, not a multiplication by a reciprocal),
 * so results are bit-identical to it given the same expf.  Any rank >= 1 is
 * accepted, as in TFLite.  Rows are split across threads when the tensor
 * has more than 64K elements; a row is always handled by one task, so the
 * thread count does not change the result.
 * uint8/int8 (the quantized classifiers' last op): TFLite's builtin kernel
 * is its optimized one, which works in float from a table made at prepare,
 *   table[255 - k] = expf(-s_in * beta * k),  k = 0..255,
 * so that e[c] = table[255 - (max - x[c])] = exp(-s_in beta (max - x[c]))
 * for the integer row maximum.  The row sum is accumulated in float left
 * to right, inv = 1 / (sum * s_out), and each output is e[c] * inv turned
 * into an integer as x86 TFLite does: uint8 as (int)(p + 0.5f) (truncation
 * after adding one half; the zero point is not added), int8 as round-half-
 * away(p) + zero point, then clamped to the type.  TFLite expects the output
 * quantized by 1/256 with zero point 0 (uint8) or -128 (int8) - the uint8
 * formula above is only right with zero point 0 - so anything else is
 * refused.  Input and output must have the same type (TFLite's int16
 * outputs of 8-bit inputs are not supported).
 */
#include <float.h>
#include <math.h>

#include "alloc.h"
#include "broadcast.h"
#include "kernel.h"

enum {
	SOFTMAX_OPTIONS = 9, /* BuiltinOptions union index of SoftmaxOptions */
	SOFTMAX_OPT_BETA = 0,
	SOFTMAX_PARALLEL_MIN = 64 * 1024, /* elements; fewer run on one thread */
	SOFTMAX_TASK_ELEMS = 16 * 1024,	  /* about this many elements per task */
};

typedef struct softmax_data {
	int64_t rows;  /* product of all dims but the last */
	int64_t depth; /* last dim */
	float beta;
	float out_scale;  /* uint8/int8: s_out */
	int32_t out_zp;	  /* int8: output zero point */
	float table[256]; /* uint8/int8: exp(-s_in * beta * (255 - i)) */
	int64_t rows_per_task;
	void (*row)(const struct softmax_data *d, const void *in, void *out, int64_t r); /* per dtype */
} softmax_data;

typedef struct softmax_ctx {
	const softmax_data *d;
	const void *in;
	void *out;
} softmax_ctx;

static void softmax_row_f32(const softmax_data *d, const void *in_, void *out_, int64_t r)
{
	const float *restrict x = (const float *)in_ + r * d->depth;
	float *restrict y = (float *)out_ + r * d->depth;
	const int64_t n = d->depth;
	const float beta = d->beta;
	float max = -FLT_MAX, sum = 0.0f;

	for (int64_t c = 0; c < n; c++)
		if (max < x[c])
			max = x[c];
	for (int64_t c = 0; c < n; c++) {
		float e = expf((x[c] - max) * beta);
		y[c] = e;
		sum += e;
	}
	for (int64_t c = 0; c < n; c++)
		y[c] = y[c] / sum;
}

/* The quantized rows.  e[c] is read from the table at 255 - (max - x[c]),
 * in [0, 255] since x[c] <= max. */
static void softmax_row_u8(const softmax_data *d, const void *in_, void *out_, int64_t r)
{
	const uint8_t *restrict x = (const uint8_t *)in_ + r * d->depth;
	uint8_t *restrict y = (uint8_t *)out_ + r * d->depth;
	const int64_t n = d->depth;
	int32_t max = 0;
	float sum = 0.0f, inv;
	const float *t;

	for (int64_t c = 0; c < n; c++)
		max = x[c] > max ? x[c] : max;
	t = d->table + (255 - max);
	for (int64_t c = 0; c < n; c++)
		sum += t[x[c]];
	inv = 1.0f / (sum * d->out_scale);
	for (int64_t c = 0; c < n; c++) {
		/* (int)(p + 0.5f) clamped to [0, 255]; comparing before the
		 * conversion gives the same for every finite p and keeps a NaN
		 * (a negative beta overflowing expf) from being converted */
		const float q = t[x[c]] * inv + 0.5f;
		y[c] = (uint8_t)(q >= 255.0f ? 255 : (q > 0.0f ? (int32_t)q : 0));
	}
}

static void softmax_row_i8(const softmax_data *d, const void *in_, void *out_, int64_t r)
{
	const int8_t *restrict x = (const int8_t *)in_ + r * d->depth;
	int8_t *restrict y = (int8_t *)out_ + r * d->depth;
	const int64_t n = d->depth;
	const float zp = (float)d->out_zp;
	int32_t max = -128;
	float sum = 0.0f, inv;
	const float *t;

	for (int64_t c = 0; c < n; c++)
		max = x[c] > max ? x[c] : max;
	t = d->table + (127 - max); /* t[x + 128] is table[255 - (max - x)] */
	for (int64_t c = 0; c < n; c++)
		sum += t[x[c] + 128];
	inv = 1.0f / (sum * d->out_scale);
	for (int64_t c = 0; c < n; c++) {
		/* round-half-away + zero point, clamped to [-128, 127]; whole
		 * numbers, so clamping before the conversion changes nothing */
		const float q = roundf(t[x[c] + 128] * inv) + zp;
		y[c] = (int8_t)(q >= 127.0f ? 127 : (q > -128.0f ? (int32_t)q : -128));
	}
}

static nn_status softmax_prepare_q(nn_graph *g, nn_node *node, softmax_data *d, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *out = nn_out(g, node, 0);
	const int32_t want_zp = in->type == NN_U8 ? 0 : -128;
	float s_in, scale;
	int32_t z_in;
	nn_status st;

	if ((st = bc_quant_of(node, in, "input", &s_in, &z_in, err)) != NN_OK ||
	    (st = bc_quant_of(node, out, "output", &d->out_scale, &d->out_zp, err)) != NN_OK)
		return st;
	if ((double)d->out_scale != 1.0 / 256 || d->out_zp != want_zp)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "%s output must have scale 1/256 and zero point %d, not scale %g and zero "
				   "point %d",
				   nn_dtype_name(in->type), want_zp, (double)d->out_scale, d->out_zp);
	scale = -s_in * d->beta; /* float, as TFLite's PopulateSoftmaxLookupTable */
	for (int k = 0; k <= 255; k++)
		d->table[255 - k] = expf(scale * (float)k);
	d->row = in->type == NN_U8 ? softmax_row_u8 : softmax_row_i8;
	return NN_OK;
}

static void softmax_free(void *p)
{
	nn_free(p);
}

static nn_status softmax_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	softmax_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (in->type != NN_F32 && in->type != NN_U8 && in->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(in->type));
	if (in->rank < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is a scalar; softmax needs rank >= 1");
	if (node->op->has_options && node->op->options_type != SOFTMAX_OPTIONS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "options are of type %d, not SoftmaxOptions (%d)", node->op->options_type,
				   SOFTMAX_OPTIONS);
	if ((st = nn_set_output(g, node, 0, in->type, in->rank, in->dims, err)) != NN_OK)
		return st;
	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->depth = in->dims[in->rank - 1];
	d->rows = d->depth ? nn_tensor_count(in) / d->depth : 0;
	d->beta = nn_opt_f32(node, SOFTMAX_OPT_BETA, 0.0f);
	d->rows_per_task = d->depth ? SOFTMAX_TASK_ELEMS / d->depth + 1 : 1;
	node->impl = "ref";
	if (in->type != NN_F32)
		return softmax_prepare_q(g, node, d, err);
	d->row = softmax_row_f32;
	return NN_OK;
}

static void softmax_task(void *ctx_, int64_t r0, int64_t r1)
{
	const softmax_ctx *c = ctx_;

	for (int64_t r = r0; r < r1; r++)
		c->d->row(c->d, c->in, c->out, r);
}

static nn_status softmax_eval(const nn_node *node, nn_exec *ex)
{
	const softmax_data *d = node->data;
	softmax_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};

	if (d->rows * d->depth > SOFTMAX_PARALLEL_MIN)
		nn_parallel_range(ex, d->rows, d->rows_per_task, softmax_task, &c);
	else
		softmax_task(&c, 0, d->rows);
	return NN_OK;
}

const nn_kernel nn_k_softmax = {
    .name = "SOFTMAX",
    .prepare = softmax_prepare,
    .eval = softmax_eval,
    .free = softmax_free,
};
