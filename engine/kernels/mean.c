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
 *
 * uint8/int8 (per-tensor quantized; checked with qm_check_quant) sum the raw
 * quantized values exactly in integers (same walks as above) and differ
 * only in how a sum becomes an output, which must copy the branch TFLite's
 * optimized kernel takes (each verified against TFLite itself):
 *   - "spatial": keep_dims, rank 4 and the axes tensor exactly {1,2} or
 *     {2,1} (TFLite tests the raw values: {-3,-2} does not qualify) - the
 *     global pooling of MobileNets.  Integer only:
 *       out = clamp(mul_double(sum, M, s) + bias)
 *     with M, s = quantize_multiplier(float(in_scale / (n * out_scale)))
 *     and bias = out_zp - trunc(in_zp * in_scale / out_scale +- 0.5), both
 *     computed in float as TFLite does;
 *   - otherwise, equal input and output quantization: out = sum / n in C
 *     integer division (truncation toward zero);
 *   - otherwise: TFLite still goes through float here:
 *       out = clamp(round(float(sum) / float(n) * scale + bias) + out_zp)
 *     with scale = in_scale / out_scale and bias = -in_zp * scale in float.
 * The blocked integer sum over [outer, red, inner] keeps 64 int32 lanes per
 * task; a full block has a constant trip count, so GCC vectorises it.
 * Sums are int32 as in TFLite; prepare refuses reductions of more than
 * 2^23 elements, past which an int32 sum of 8-bit values could overflow.
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"
#include "quant_math.h"

enum { MEAN_OPT_KEEP_DIMS = 0, MEAN_BLOCK = 64, MEAN_MAX_AXES = 64 };

/* How an integer sum becomes an output (see DESIGN). */
enum mean_qmode {
	MEAN_Q_SPATIAL = 0, /* TFLite's optimized 4-D mean over H and W */
	MEAN_Q_SAME,	    /* equal quantization: sum / n truncated */
	MEAN_Q_FLOAT,	    /* rescaled through float */
};

/* Largest reduction whose int32 sum of 8-bit values cannot overflow. */
#define MEAN_MAX_INT_REDUCED (1 << 23)

typedef struct mean_data {
	bool blocked; /* the reduced dims form one block: [outer, red, inner] */
	int64_t outer, red, inner;
	int rank; /* general path: merged input rank */
	int64_t dims[NN_MAX_RANK];
	int64_t out_stride[NN_MAX_RANK]; /* output elements per step of dim d; 0 when reduced */
	int64_t in_count, out_count;
	float divisor;	  /* number of elements averaged into each output */
	int64_t n_blocks; /* blocked path: channel blocks per outer index */
	nn_dtype type;	  /* input (and output) type */
	/* uint8/int8 */
	enum mean_qmode qmode;
	int32_t n;	    /* elements per output */
	int32_t mult;	    /* SPATIAL: Q31 multiplier of in_scale / (n * out_scale) */
	int shift;	    /* SPATIAL: its exponent */
	int32_t bias;	    /* SPATIAL: out_zp - round(in_zp * in_scale / out_scale) */
	int32_t out_zp;	    /* FLOAT */
	float fscale;	    /* FLOAT: in_scale / out_scale */
	float fbias;	    /* FLOAT: -in_zp * fscale */
	int32_t qmin, qmax; /* output type range */
} mean_data;

typedef struct mean_ctx {
	const mean_data *d;
	const void *in;
	void *out;
	int64_t tasks_items; /* work items per task */
} mean_ctx;

/* One integer sum of d->n quantized values to its quantized mean. */
static inline int32_t mean_q_finish(const mean_data *d, int32_t sum)
{
	int32_t v;

	switch (d->qmode) {
	case MEAN_Q_SPATIAL:
		v = qm_mul_double(sum, d->mult, d->shift) + d->bias;
		break;
	case MEAN_Q_SAME:
		return sum / d->n; /* a mean of in-range values stays in range */
	default: {
		float r = roundf((float)sum / (float)d->n * d->fscale + d->fbias) + (float)d->out_zp;
		r = r < (float)d->qmax ? r : (float)d->qmax;
		r = r > (float)d->qmin ? r : (float)d->qmin;
		return (int32_t)r;
	}
	}
	return v < d->qmin ? d->qmin : (v > d->qmax ? d->qmax : v);
}

static inline void mean_q_store(const mean_data *d, void *out, int64_t i, int32_t v)
{
	if (d->type == NN_U8)
		((uint8_t *)out)[i] = (uint8_t)v;
	else
		((int8_t *)out)[i] = (int8_t)v;
}

/* Adds rows of n (<= MEAN_BLOCK) 8-bit values into acc; T is the type. */
#define MEAN_SUM_ROWS(T)                                                                                     \
	do {                                                                                                 \
		const T *q = (const T *)in + o * d->red * d->inner + c0;                                     \
		if (n == MEAN_BLOCK)                                                                         \
			for (int64_t r = 0; r < d->red; r++, q += d->inner)                                  \
				for (int c = 0; c < MEAN_BLOCK; c++) /* constant: vectorised */              \
					acc[c] += q[c];                                                      \
		else                                                                                         \
			for (int64_t r = 0; r < d->red; r++, q += d->inner)                                  \
				for (int64_t c = 0; c < n; c++)                                              \
					acc[c] += q[c];                                                      \
	} while (0)

/* Blocked path for uint8/int8, one work item = (outer index, channel block). */
static void mean_item_q(const mean_data *d, const void *in, void *out, int64_t item)
{
	int64_t o = item / d->n_blocks, c0 = (item % d->n_blocks) * MEAN_BLOCK;
	int64_t n = d->inner - c0 < MEAN_BLOCK ? d->inner - c0 : MEAN_BLOCK;
	int32_t acc[MEAN_BLOCK] = {0};

	if (d->type == NN_U8)
		MEAN_SUM_ROWS(uint8_t);
	else
		MEAN_SUM_ROWS(int8_t);
	for (int64_t c = 0; c < n; c++)
		mean_q_store(d, out, o * d->inner + c0 + c, mean_q_finish(d, acc[c]));
}

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
	if (c->d->type == NN_F32)
		for (int64_t i = i0; i < i1; i++)
			mean_item_f32(c->d, c->in, c->out, i);
	else
		for (int64_t i = i0; i < i1; i++)
			mean_item_q(c->d, c->in, c->out, i);
}

/* General walk for uint8/int8: sums into the int32 scratch, then finishes. */
static void mean_general_q(const mean_data *d, const void *in, void *out, int32_t *sum)
{
	int64_t idx[NN_MAX_RANK] = {0};
	int64_t o = 0;

	for (int64_t i = 0; i < d->out_count; i++)
		sum[i] = 0;
	for (int64_t i = 0; i < d->in_count; i++) {
		sum[o] +=
		    d->type == NN_U8 ? (int32_t)((const uint8_t *)in)[i] : (int32_t)((const int8_t *)in)[i];
		for (int k = d->rank - 1; k >= 0; k--) {
			o += d->out_stride[k];
			if (++idx[k] < d->dims[k])
				break;
			o -= d->out_stride[k] * d->dims[k];
			idx[k] = 0;
		}
	}
	for (int64_t i = 0; i < d->out_count; i++)
		mean_q_store(d, out, i, mean_q_finish(d, sum[i]));
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

/* Quantization checks and the constants of the chosen integer finish. */
static nn_status mean_q_prepare(const nn_node *node, const nn_tensor *in, const nn_tensor *out, int64_t red,
				bool spatial, mean_data *d, nn_err *err)
{
	float is, os;
	int32_t izp, ozp;
	nn_status st;

	if ((st = qm_check_quant(node, in, "input", false, err)) != NN_OK ||
	    (st = qm_check_quant(node, out, "output", false, err)) != NN_OK)
		return st;
	if (in->quant->n != 1 || out->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "per-axis quantization is not supported");
	if (red > MEAN_MAX_INT_REDUCED)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "averages %lld elements; at most %d for %s (int32 sums)", (long long)red,
				   MEAN_MAX_INT_REDUCED, nn_dtype_name(in->type));
	is = in->quant->scale[0];
	os = out->quant->scale[0];
	izp = (int32_t)in->quant->zero_point[0];
	ozp = (int32_t)out->quant->zero_point[0];
	qm_dtype_range(in->type, &d->qmin, &d->qmax);
	d->n = (int32_t)(red > 0 ? red : 1);
	d->out_zp = ozp;
	if (spatial) {
		/* float arithmetic in TFLite's order: the multiplier and the
		 * rounded zero-point term come from float values */
		float n_f = (float)red;
		float real = is / (n_f * os);
		float t = (float)izp * is / os;
		t = t > 0 ? t + 0.5f : t - 0.5f;
		d->qmode = MEAN_Q_SPATIAL;
		d->bias = ozp - (int32_t)t;
		/* a sum shifted left must stay in int32 (TFLite overflows there) */
		if (!qm_quantize_multiplier((double)real, &d->mult, &d->shift) ||
		    (d->shift > 0 && (d->shift > 30 || ((int64_t)255 * red << d->shift) > INT32_MAX)))
			return nn_node_err(
			    node, err, NN_ERR_UNSUPPORTED,
			    "rescale %g of the sum is out of range (input scale %g, output %g)", (double)real,
			    (double)is, (double)os);
	} else if (is == os && izp == ozp) {
		d->qmode = MEAN_Q_SAME;
	} else {
		d->qmode = MEAN_Q_FLOAT;
		d->fscale = is / os;
		d->fbias = -(float)izp * d->fscale;
	}
	return NN_OK;
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
	if (in->type != NN_F32 && in->type != NN_U8 && in->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
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
	if ((st = nn_set_output(g, node, 0, in->type, orank, odims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by mean_free, also when prepare fails */
	d->type = in->type;
	if (in->type != NN_F32) {
		const int32_t *ax = axes->data;
		bool spatial = keep && in->rank == 4 && n_axes == 2 &&
			       ((ax[0] == 1 && ax[1] == 2) || (ax[0] == 2 && ax[1] == 1));
		if ((st = mean_q_prepare(node, in, nn_out(g, node, 0), red, spatial, d, err)) != NN_OK)
			return st;
	}
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
	if (!d->blocked && d->type != NN_F32)
		node->scratch_bytes = sizeof(int32_t) * (size_t)(d->out_count ? d->out_count : 1);
	node->impl = d->blocked ? "ref-blocked" : "ref";
	return NN_OK;
}

static nn_status mean_eval(const nn_node *node, nn_exec *ex)
{
	const mean_data *d = node->data;
	const void *in = nn_ex_in(ex, node, 0)->data;
	void *out = nn_ex_out(ex, node, 0)->data;

	if (d->type != NN_F32 && d->in_count == 0) {
		/* TFLite fills an empty reduction with T(NaN), which is 0 for integers */
		memset(out, 0, (size_t)d->out_count);
		return NN_OK;
	}
	if (!d->blocked) {
		if (d->type == NN_F32)
			mean_general_f32(d, in, out);
		else
			mean_general_q(d, in, out, nn_ex_scratch(ex, 0));
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
