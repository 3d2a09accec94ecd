/* fully_connected.c - FULLY_CONNECTED (float32).
 *
 * DESIGN: weights [units, depth] (row-major, TFLite's DEFAULT format),
 * optional bias [units]; the input is read as a matrix [rows, depth] with
 * rows = elements / depth, whatever its rank.  The output is [rows, units],
 * or the input's shape with the last dimension replaced by units when
 * keep_num_dims is set (then the input's last dimension must be depth).
 * out = input * weights^T is exactly nn_sgemm_nt's form, so nothing is
 * packed and weights produced by another op at run time work too.
 * Variants:
 *   "ref"   plain dot products, bias, clamp: the oracle.
 *   "blas"  nn_sgemm_nt per block, then bias and clamp on the block.
 * Both cut the output into the same blocks (conv_split_make: row tiles,
 * and unit chunks when there are few rows - the common batch-1 case), one
 * task each, fixed by the shapes so results do not depend on the thread
 * count.  Small layers run as one task: waking the pool costs more.
 * Shuffled weight formats and hybrid (integer weights, float input) are
 * refused as unsupported.  uint8 and int8 inputs dispatch in fc_prepare to
 * fully_connected_int.c (its own variants and state, hung off fc_data.q);
 * the validation of options and shapes (fully_connected_geometry) is shared
 * by every dtype.
 */
#include "alloc.h"
#include "blas.h"
#include "conv_common.h"
#include "kernel.h"

enum { FC_OPTIONS = 8 }; /* BuiltinOptions union index of FullyConnectedOptions */

/* FullyConnectedOptions field ids (tflite_schema.fbs). */
enum {
	OPT_ACTIVATION = 0,
	OPT_WEIGHTS_FORMAT = 1, /* 0 = DEFAULT, 1 = SHUFFLED4x16INT8 */
	OPT_KEEP_NUM_DIMS = 2,
};

#define FC_TILE 128		/* rows per task */
#define FC_SMALL_MACS (1 << 16) /* below this many multiply-adds, one task */

typedef struct fc_data {
	nn_dtype type; /* input type */
	fc_int *q;     /* uint8 / int8: everything else lives there; NULL for float32 */
	bool use_blas; /* "blas" variant, else "ref" */
	int rows, depth, units;
	conv_split split; /* row tiles x unit chunks */
	bool clamp;	  /* a fused activation is present */
	float lo, hi;	  /* its clamp range */
} fc_data;

typedef struct fc_run {
	const fc_data *d;
	const float *in, *w, *bias; /* bias may be NULL */
	float *out;
} fc_run;

static void fc_task(void *ctx, int task, int thread)
{
	const fc_run *r = ctx;
	const fc_data *d = r->d;
	const conv_split *s = &d->split;
	int r0 = (task / s->n_chunks) * s->tile, u0 = (task % s->n_chunks) * s->chunk;
	int nr = d->rows - r0 < s->tile ? d->rows - r0 : s->tile;
	int nu = d->units - u0 < s->chunk ? d->units - u0 : s->chunk;
	const float *a = r->in + (size_t)r0 * d->depth, *w = r->w + (size_t)u0 * d->depth;
	const float *bias = r->bias ? r->bias + u0 : NULL;
	float *out = r->out + (size_t)r0 * d->units + u0;

	(void)thread;
	if (d->use_blas) {
		nn_sgemm_nt(nr, nu, d->depth, a, d->depth, w, d->depth, out, d->units);
		conv_bias_act(out, d->units, nr, nu, bias, d->lo, d->hi, d->clamp);
		return;
	}
	for (int i = 0; i < nr; i++)
		for (int u = 0; u < nu; u++) {
			const float *x = a + (size_t)i * d->depth, *wu = w + (size_t)u * d->depth;
			float acc = 0.0f;
			for (int k = 0; k < d->depth; k++)
				acc += x[k] * wu[k];
			if (bias)
				acc += bias[u];
			out[(size_t)i * d->units + u] = d->clamp ? nn_clampf(acc, d->lo, d->hi) : acc;
		}
}

nn_status fully_connected_geometry(nn_graph *g, nn_node *node, nn_dtype out_type, int *rows, int *depth,
				  int *units, int *act, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *w = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	int format;
	bool keep;
	int64_t count = nn_tensor_count(in);
	int32_t dims[NN_MAX_RANK];
	int rank;
	nn_status st;

	if (w->rank != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "weights must have rank 2 [units, depth], not rank %d", w->rank);
	if (w->dims[0] <= 0 || w->dims[1] <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "weights shape [%d,%d] is empty", w->dims[0],
				   w->dims[1]);
	if (in->rank < 1 || count <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input has rank %d and %lld elements",
				   in->rank, (long long)count);
	if (count % w->dims[1] != 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "input has %lld elements, not a multiple of the weights' depth %d",
				   (long long)count, w->dims[1]);
	if (bias && (bias->rank != 1 || bias->dims[0] != w->dims[0]))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "bias must have shape [%d] (rank %d, %lld elements)", w->dims[0], bias->rank,
				   (long long)nn_tensor_count(bias));

	if (node->op->has_options && node->op->options_type != FC_OPTIONS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "options are of type %d, not FullyConnectedOptions",
				   node->op->options_type);
	*act = nn_opt_i8(node, OPT_ACTIVATION, NN_ACT_NONE);
	format = nn_opt_i8(node, OPT_WEIGHTS_FORMAT, 0);
	keep = nn_opt_bool(node, OPT_KEEP_NUM_DIMS, false);
	if (format != 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "weights format %d is not supported (only DEFAULT)", format);

	if (keep) {
		if (nn_dim(in, -1) != w->dims[1])
			return nn_node_err(
			    node, err, NN_ERR_BAD_MODEL,
			    "keep_num_dims: input's last dimension is %d but the weights' depth is %d",
			    nn_dim(in, -1), w->dims[1]);
		rank = in->rank;
		for (int i = 0; i < rank; i++)
			dims[i] = in->dims[i];
		dims[rank - 1] = w->dims[0];
	} else {
		rank = 2;
		dims[0] = (int32_t)(count / w->dims[1]);
		dims[1] = w->dims[0];
	}
	if ((st = nn_set_output(g, node, 0, out_type, rank, dims, err)) != NN_OK)
		return st;
	*rows = (int)(count / w->dims[1]);
	*depth = w->dims[1];
	*units = w->dims[0];
	return NN_OK;
}

static nn_status fc_prepare_f32(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *w = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	int act, rows, depth, units;
	float lo, hi;
	fc_data *d;
	nn_status st;

	if (w->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "weights type %s with float32 input (hybrid) is not supported yet",
				   nn_dtype_name(w->type));
	if (bias && bias->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "bias type %s with float32 input is not supported yet",
				   nn_dtype_name(bias->type));
	if ((st = fully_connected_geometry(g, node, NN_F32, &rows, &depth, &units, &act, err)) != NN_OK)
		return st;
	if ((st = nn_activation_range_f32(node, act, &lo, &hi, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->type = NN_F32;
	d->rows = rows;
	d->depth = depth;
	d->units = units;
	d->clamp = act != NN_ACT_NONE;
	d->lo = lo;
	d->hi = hi;
	d->split = conv_split_make(d->rows, d->units, FC_TILE);
	if ((double)d->rows * d->units * d->depth < FC_SMALL_MACS)
		d->split = (conv_split){.tile = d->rows, .n_tiles = 1, .chunk = d->units, .n_chunks = 1};
	d->use_blas = !nn_force_reference();
	node->impl = d->use_blas ? "blas" : "ref";
	node->data = d;
	return NN_OK;
}

/* uint8 / int8: fully_connected_int.c validates, packs and picks its variant. */
static nn_status fc_prepare_int(nn_graph *g, nn_node *node, nn_err *err)
{
	fc_data *d = nn_calloc(1, sizeof(*d));

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->type = nn_in(g, node, 0)->type;
	node->data = d; /* released by fc_free, also when the rest fails */
	return fully_connected_int_prepare(g, node, &d->q, err);
}

static nn_status fc_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	return conv_prepare_by_dtype(g, node, err, 0, fc_prepare_f32, fc_prepare_int);
}

static nn_status fc_eval(const nn_node *node, nn_exec *ex)
{
	const fc_data *d = node->data;
	const nn_tensor *bias = nn_ex_in(ex, node, 2);
	fc_run r;

	if (d->q)
		return fully_connected_int_eval(d->q, node, ex);
	r = (fc_run){
	    .d = d,
	    .in = nn_ex_in(ex, node, 0)->data,
	    .w = nn_ex_in(ex, node, 1)->data,
	    .bias = bias ? bias->data : NULL,
	    .out = nn_ex_out(ex, node, 0)->data,
	};

	nn_parallel_for(ex, d->split.n_tiles * d->split.n_chunks, fc_task, &r);
	return NN_OK;
}

static void fc_free(void *data)
{
	fc_data *d = data;

	if (d)
		fully_connected_int_free(d->q);
	nn_free(d);
}

const nn_kernel nn_k_fully_connected = {
    .name = "FULLY_CONNECTED",
    .prepare = fc_prepare,
    .eval = fc_eval,
    .free = fc_free,
};
