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
 * thread count does not change the result.  Quantized (uint8/int8) variants
 * will be added as further row functions chosen in prepare by dtype.
 */
#include <float.h>
#include <math.h>

#include "alloc.h"
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
	if (in->type != NN_F32)
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
	d->row = softmax_row_f32;
	node->impl = "ref";
	return NN_OK;
}

static void softmax_task(void *ctx_, int task, int thread)
{
	const softmax_ctx *c = ctx_;
	int64_t r0 = (int64_t)task * c->d->rows_per_task, r1 = r0 + c->d->rows_per_task;

	(void)thread;
	if (r1 > c->d->rows)
		r1 = c->d->rows;
	for (int64_t r = r0; r < r1; r++)
		c->d->row(c->d, c->in, c->out, r);
}

static nn_status softmax_eval(const nn_node *node, nn_exec *ex)
{
	const softmax_data *d = node->data;
	softmax_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};
	int64_t n_tasks = (d->rows + d->rows_per_task - 1) / d->rows_per_task;

	if (d->rows == 0)
		return NN_OK;
	if (d->rows * d->depth > SOFTMAX_PARALLEL_MIN && n_tasks > 1)
		nn_parallel_for(ex, (int)n_tasks, softmax_task, &c);
	else
		for (int64_t r = 0; r < d->rows; r++)
			d->row(d, c.in, c.out, r);
	return NN_OK;
}

const nn_kernel nn_k_softmax = {
    .name = "SOFTMAX",
    .prepare = softmax_prepare,
    .eval = softmax_eval,
    .free = softmax_free,
};
