/* sr_predict.c - Predict (smart-reply custom op): hashed features in, the
 * best reply labels and their weights out.
 *
 * DESIGN: TensorFlow's reference semantics.  Inputs: the features
 * (int32 [N]), the model's sorted keys (int32 [K]), and per key I labels
 * (int32 [K, I]) with weights (float32 [K, I]).  Every feature found among
 * the keys (binary search) adds weight / N to each of its key's labels;
 * labels are then ranked by total, and output slot i (of num_output) gets
 * the i-th label and total, or (-1, 0) when there is none or its total is
 * under weight_threshold (-1 because label 0 is the app's backoff reply).
 * The options are not a flexbuffer: custom_options is exactly 8 raw bytes,
 * int32 num_output then float32 weight_threshold, little-endian.
 *
 * No allocation at run time: prepare reserves scratch for N * I
 * (label, contribution, order) records.  Totals are summed per label in
 * the order the reference adds them (feature by feature, item by item), in
 * float, so they are the same numbers; the reference's sort is not stable,
 * so for equal totals we choose the label that was reached first.  Keys
 * that are constant must be sorted ascending (prepare refuses otherwise:
 * the reference's binary search would answer arbitrarily).
 */
#include <string.h>

#include "alloc.h"
#include "kernel.h"

typedef struct srp_data {
	int32_t num_output;
	float threshold;
	int32_t n_in, n_keys, items;
} srp_data;

typedef struct srp_rec {
	int32_t label;
	float w;    /* contribution; after the merge, the label's total */
	int64_t seq; /* order in which the reference adds it */
} srp_rec;

static int by_label_seq(const void *a_, const void *b_)
{
	const srp_rec *a = a_, *b = b_;
	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int by_total_desc(const void *a_, const void *b_)
{
	const srp_rec *a = a_, *b = b_;
	if (a->w != b->w)
		return a->w > b->w ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* In-place heap sort: qsort may allocate (glibc's merge sort), eval must not.
 * The orders above are total (seq breaks ties), so the result is unique. */
static void sift(srp_rec *r, int64_t root, int64_t n, int (*cmp)(const void *, const void *))
{
	for (;;) {
		int64_t c = 2 * root + 1;
		srp_rec t;
		if (c >= n)
			return;
		if (c + 1 < n && cmp(&r[c], &r[c + 1]) < 0)
			c++;
		if (cmp(&r[root], &r[c]) >= 0)
			return;
		t = r[root];
		r[root] = r[c];
		r[c] = t;
		root = c;
	}
}

static void heap_sort(srp_rec *r, int64_t n, int (*cmp)(const void *, const void *))
{
	for (int64_t i = n / 2 - 1; i >= 0; i--)
		sift(r, i, n, cmp);
	for (int64_t end = n - 1; end > 0; end--) {
		srp_rec t = r[0];
		r[0] = r[end];
		r[end] = t;
		sift(r, 0, end, cmp);
	}
}

static void srp_free(void *p)
{
	nn_free(p);
}

static nn_status srp_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *lookup, *keys, *labels, *weights;
	srp_data *d;
	int32_t n_out;
	float thr;
	uint64_t recs;
	nn_status st;

	if ((st = nn_check_arity(node, 4, 4, 2, err)) != NN_OK)
		return st;
	lookup = nn_in(g, node, 0);
	keys = nn_in(g, node, 1);
	labels = nn_in(g, node, 2);
	weights = nn_in(g, node, 3);
	if (lookup->type != NN_I32 || keys->type != NN_I32 || labels->type != NN_I32 || weights->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "inputs are %s, %s, %s, %s; Predict takes int32 features, int32 keys, int32 labels "
				   "and float32 weights",
				   nn_dtype_name(lookup->type), nn_dtype_name(keys->type), nn_dtype_name(labels->type),
				   nn_dtype_name(weights->type));
	if (lookup->rank != 1 || keys->rank != 1 || labels->rank != 2 || weights->rank != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "input ranks are %d, %d, %d, %d; Predict needs [N], [K], [K,I], [K,I]", lookup->rank,
				   keys->rank, labels->rank, weights->rank);
	if (labels->dims[0] != keys->dims[0] || weights->dims[0] != keys->dims[0] ||
	    labels->dims[1] != weights->dims[1])
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "keys [%d], labels [%d,%d] and weights [%d,%d] disagree", keys->dims[0],
				   labels->dims[0], labels->dims[1], weights->dims[0], weights->dims[1]);
	if (!node->op->custom_options || node->op->custom_options_size != 8)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "custom options are %zu bytes; Predict needs 8 (int32 num_output, float32 "
				   "weight_threshold)",
				   node->op->custom_options ? node->op->custom_options_size : (size_t)0);
	memcpy(&n_out, node->op->custom_options, 4);
	memcpy(&thr, node->op->custom_options + 4, 4);
	if (n_out < 0 || n_out > (1 << 20))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "num_output %d is outside [0, %d]", n_out, 1 << 20);
	if (thr != thr)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "weight_threshold is NaN");
	if (keys->kind == NN_TENSOR_CONST) {
		const int32_t *k = keys->data;
		for (int32_t i = 1; i < keys->dims[0]; i++)
			if (k[i - 1] > k[i])
				return nn_node_err(node, err, NN_ERR_BAD_MODEL,
						   "keys are not sorted: key %d is %d, after %d", i, k[i], k[i - 1]);
	}
	recs = (uint64_t)lookup->dims[0] * (uint64_t)labels->dims[1];
	if (recs > (NN_MAX_TENSOR_BYTES / sizeof(srp_rec)))
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "%d features x %d labels is too much to rank",
				   lookup->dims[0], labels->dims[1]);
	if ((st = nn_set_output(g, node, 0, NN_I32, 1, &n_out, err)) != NN_OK ||
	    (st = nn_set_output(g, node, 1, NN_F32, 1, &n_out, err)) != NN_OK)
		return st;
	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->num_output = n_out;
	d->threshold = thr;
	d->n_in = lookup->dims[0];
	d->n_keys = keys->dims[0];
	d->items = labels->dims[1];
	node->data = d;
	node->scratch_bytes = (size_t)recs * sizeof(srp_rec);
	return NN_OK;
}

/* First index of a key >= v in sorted keys[0..n) (std::lower_bound). */
static int32_t lower_bound(const int32_t *keys, int32_t n, int32_t v)
{
	int32_t lo = 0, hi = n;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		if (keys[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static nn_status srp_eval(const nn_node *node, nn_exec *ex)
{
	const srp_data *d = node->data;
	const int32_t *lookup = nn_ex_in(ex, node, 0)->data, *keys = nn_ex_in(ex, node, 1)->data;
	const int32_t *labels = nn_ex_in(ex, node, 2)->data;
	const float *weights = nn_ex_in(ex, node, 3)->data;
	int32_t *out_label = nn_ex_out(ex, node, 0)->data;
	float *out_w = nn_ex_out(ex, node, 1)->data;
	srp_rec *r = (srp_rec *)nn_ex_scratch(ex, 0);
	int64_t n = 0, u = 0;

	for (int32_t i = 0; i < d->n_in; i++) {
		int32_t k = lower_bound(keys, d->n_keys, lookup[i]);
		if (k == d->n_keys || keys[k] != lookup[i])
			continue;
		for (int32_t j = 0; j < d->items; j++, n++) {
			r[n].label = labels[(int64_t)k * d->items + j];
			r[n].w = weights[(int64_t)k * d->items + j] / (float)d->n_in;
			r[n].seq = n;
		}
	}
	/* one record per label: its total, summed in the reference's order, and
	 * the order in which it was first reached */
	heap_sort(r, n, by_label_seq);
	for (int64_t i = 0; i < n; i++) {
		if (u > 0 && r[u - 1].label == r[i].label) {
			r[u - 1].w += r[i].w;
			continue;
		}
		r[u++] = r[i];
	}
	heap_sort(r, u, by_total_desc);
	for (int32_t i = 0; i < d->num_output; i++) {
		if (i >= u || r[i].w < d->threshold) {
			out_label[i] = -1;
			out_w[i] = 0.0f;
		} else {
			out_label[i] = r[i].label;
			out_w[i] = r[i].w;
		}
	}
	return NN_OK;
}

const nn_kernel nn_k_sr_predict = {
	.name = "Predict",
	.prepare = srp_prepare,
	.eval = srp_eval,
	.free = srp_free,
};
