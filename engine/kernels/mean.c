/* mean.c - MEAN: average over a set of axes.
 *
 * DESIGN: TFLite's float reference adds the inputs into a float accumulator
 * per output, visiting the input in memory order, and divides once by the
 * number of reduced elements (as a float).  We keep exactly that order of
 * additions so results are bit-identical, whichever path runs:
 *   - prepare drops size-1 dimensions and merges neighbouring dimensions
 *     that are both reduced or both kept.  When the reduced dimensions then
 *     form one block, the input is [outer, R, inner] and
 *     out[o, i] = (sum over r of in[o, r, i]) / R, r ascending - the common
 *     spatial mean over axes [1,2] of NHWC (inner = C), a mean over the last
 *     axis (inner = 1) and a mean over everything (outer = inner = 1) all
 *     land here.  Tasks take (o, a block of up to 64 channels) and sum into
 *     a local array, so threads never share a cache line of the output.
 *   - otherwise a general walk over the input with an odometer adds each
 *     element to its output slot (no scratch: the output is the accumulator).
 * Axes come from input 1, a constant int32 scalar or vector; negative axes
 * count from the end, repeats are ignored.  ReducerOptions.keep_dims
 * (field 0) keeps reduced axes as size 1.  An empty input gives NaN (0/0),
 * as TFLite does.
 */
#include <string.h>

#include "alloc.h"
#include "kernel.h"

enum { MEAN_OPT_KEEP_DIMS = 0, MEAN_BLOCK = 64, MEAN_MAX_AXES = 64 };

typedef struct mean_data {
	bool blocked; /* the reduced dims form one block: [outer, red, inner] */
	int64_t outer, red, inner;
	int rank; /* general path: merged input rank */
	int64_t dims[NN_MAX_RANK];
	int64_t out_stride[NN_MAX_RANK]; /* output elements per step of dim d; 0 when reduced */
	int64_t in_count, out_count;
	float divisor;	  /* number of elements averaged into each output */
	int64_t n_blocks; /* blocked path: channel blocks per outer index */
} mean_data;

typedef struct mean_ctx {
	const mean_data *d;
	const float *in;
	float *out;
	int64_t tasks_items; /* work items per task */
} mean_ctx;

static void mean_free(void *p)
{
	nn_free(p);
}

/* Blocked path, one work item = (outer index, channel block). */
static void mean_item_f32(const mean_data *d, const float *in, float *out, int64_t item)
{
	int64_t o = item / d->n_blocks, c0 = (item % d->n_blocks) * MEAN_BLOCK;
	int64_t n = d->inner - c0 < MEAN_BLOCK ? d->inner - c0 : MEAN_BLOCK;
	const float *p = in + o * d->red * d->inner + c0;
	float acc[MEAN_BLOCK];

	if (d->inner == 1) {
		float s = 0.0f;
		for (int64_t r = 0; r < d->red; r++)
			s += p[r];
		out[o] = s / d->divisor;
		return;
	}
	for (int64_t c = 0; c < n; c++)
		acc[c] = 0.0f;
	for (int64_t r = 0; r < d->red; r++, p += d->inner)
		for (int64_t c = 0; c < n; c++)
			acc[c] += p[c];
	for (int64_t c = 0; c < n; c++)
		out[o * d->inner + c0 + c] = acc[c] / d->divisor;
}

static void mean_task(void *ctx_, int task, int thread)
{
	const mean_ctx *c = ctx_;
	int64_t n_items = c->d->outer * c->d->n_blocks;
	int64_t i0 = (int64_t)task * c->tasks_items, i1 = i0 + c->tasks_items;

	(void)thread;
	if (i1 > n_items)
		i1 = n_items;
	for (int64_t i = i0; i < i1; i++)
		mean_item_f32(c->d, c->in, c->out, i);
}

static void mean_general_f32(const mean_data *d, const float *in, float *out)
{
	int64_t idx[NN_MAX_RANK] = {0};
	int64_t o = 0;

	for (int64_t i = 0; i < d->out_count; i++)
		out[i] = 0.0f;
	for (int64_t i = 0; i < d->in_count; i++) {
		out[o] += in[i];
		/* odometer: advance the last dim, carry into earlier ones */
		for (int k = d->rank - 1; k >= 0; k--) {
			o += d->out_stride[k];
			if (++idx[k] < d->dims[k])
				break;
			o -= d->out_stride[k] * d->dims[k];
			idx[k] = 0;
		}
	}
	for (int64_t i = 0; i < d->out_count; i++)
		out[i] = out[i] / d->divisor;
}

static nn_status mean_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *axes;
	bool reduced[NN_MAX_RANK] = {false};
	int32_t odims[NN_MAX_RANK];
	int orank = 0, n_axes, n_groups = 0, n_red_groups = 0;
	bool keep;
	int64_t red = 1;
	mean_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	axes = nn_in(g, node, 1);
	if (in->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(in->type));
	if (axes->type != NN_I32 || axes->rank > 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "axes must be an int32 scalar or vector, not %s rank %d",
				   nn_dtype_name(axes->type), axes->rank);
	if (axes->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "axes are computed at run time; only constant axes are supported");
	n_axes = axes->rank == 0 ? 1 : axes->dims[0];
	if (n_axes > MEAN_MAX_AXES)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "%d axes, at most %d", n_axes, MEAN_MAX_AXES);
	for (int i = 0; i < n_axes; i++) {
		int32_t a = ((const int32_t *)axes->data)[i];
		int32_t r = a < 0 ? a + in->rank : a;
		if (r < 0 || r >= in->rank)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL, "axis %d is out of range for rank %d",
					   a, in->rank);
		reduced[r] = true;
	}
	keep = nn_opt_bool(node, MEAN_OPT_KEEP_DIMS, false);
	for (int k = 0; k < in->rank; k++) {
		if (reduced[k]) {
			red *= in->dims[k];
			if (keep)
				odims[orank++] = 1;
		} else {
			odims[orank++] = in->dims[k];
		}
	}
	if ((st = nn_set_output(g, node, 0, NN_F32, orank, odims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->in_count = nn_tensor_count(in);
	d->out_count = nn_tensor_count(nn_out(g, node, 0));
	d->divisor = (float)red;

	/* merge: drop size-1 dims, join neighbours with the same role */
	{
		bool grp_red[NN_MAX_RANK];
		for (int k = 0; k < in->rank; k++) {
			if (in->dims[k] == 1)
				continue;
			if (n_groups > 0 && grp_red[n_groups - 1] == reduced[k]) {
				d->dims[n_groups - 1] *= in->dims[k];
				continue;
			}
			grp_red[n_groups] = reduced[k];
			d->dims[n_groups] = in->dims[k];
			n_red_groups += reduced[k];
			n_groups++;
		}
		d->rank = n_groups;
		if (n_red_groups <= 1) {
			d->blocked = true;
			d->outer = 1;
			d->red = 1;
			d->inner = 1;
			for (int k = 0, seen = 0; k < n_groups; k++) {
				if (grp_red[k]) {
					d->red = d->dims[k];
					seen = 1;
				} else if (seen) {
					d->inner *= d->dims[k];
				} else {
					d->outer *= d->dims[k];
				}
			}
			d->n_blocks = (d->inner + MEAN_BLOCK - 1) / MEAN_BLOCK;
		} else {
			int64_t s = 1;
			for (int k = n_groups - 1; k >= 0; k--) {
				d->out_stride[k] = grp_red[k] ? 0 : s;
				if (!grp_red[k])
					s *= d->dims[k];
			}
		}
	}
	node->data = d;
	node->impl = d->blocked ? "ref-blocked" : "ref";
	return NN_OK;
}

static nn_status mean_eval(const nn_node *node, nn_exec *ex)
{
	const mean_data *d = node->data;
	const float *in = nn_ex_in(ex, node, 0)->data;
	float *out = nn_ex_out(ex, node, 0)->data;

	if (!d->blocked) {
		mean_general_f32(d, in, out);
		return NN_OK;
	}
	{
		mean_ctx c = {d, in, out, 1};
		int64_t n_items = d->outer * d->n_blocks;
		int64_t per_item = d->red * (d->inner < MEAN_BLOCK ? d->inner : MEAN_BLOCK);
		int64_t n_tasks;

		if (n_items == 0)
			return NN_OK;
		/* about 32k input elements per task */
		c.tasks_items = 32768 / (per_item ? per_item : 1) + 1;
		n_tasks = (n_items + c.tasks_items - 1) / c.tasks_items;
		if (n_tasks > 1 && ex->n_threads > 1)
			nn_parallel_for(ex, (int)n_tasks, mean_task, &c);
		else
			for (int64_t t = 0; t < n_tasks; t++)
				mean_task(&c, (int)t, 0);
	}
	return NN_OK;
}

const nn_kernel nn_k_mean = {
    .name = "MEAN",
    .prepare = mean_prepare,
    .eval = mean_eval,
    .free = mean_free,
};
