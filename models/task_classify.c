/* task_classify.c - image classification: picture in, top-k labels out.
 *
 * DESIGN: prepare finds everything once: the output (one tensor, [1,N] or
 * [1,1,1,N], N >= 2), how to dequantize it (uint8/int8: scale * (q - zero
 * point)), and whether the graph already ends in a probability op.  That
 * last point matters: the hosted mobilenet_v2_1.0_224_quant stops at the
 * logits (no SOFTMAX), so its raw scores are not probabilities; we walk
 * back from the output through ops that only move bytes (RESHAPE, SQUEEZE,
 * QUANTIZE, DEQUANTIZE) and apply softmax ourselves unless we meet SOFTMAX
 * or LOGISTIC (or LOG_SOFTMAX, whose output we exponentiate).  Softmax runs
 * in double with the maximum subtracted, so 1001 logits of ~25 cannot
 * overflow.
 *
 * Results: "predictions" sorted by score (ties: lower index first), at most
 * top_k (default 5) and only scores >= threshold when one is given, each
 * {"label", "index", "score"}; a model without labels reports the index as
 * the label.  "image": the uploaded picture's width and height.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"
#include "task.h"

#define CLASSIFY_DEFAULT_TOP_K 5

enum { OP_DEQUANTIZE = 6, OP_LOGISTIC = 14, OP_RESHAPE = 22, OP_SOFTMAX = 25, OP_SQUEEZE = 43,
       OP_LOG_SOFTMAX = 50, OP_QUANTIZE = 114 };

typedef enum score_kind {
	SCORES_LOGITS = 0,   /* apply softmax */
	SCORES_PROBS,        /* already probabilities (SOFTMAX / LOGISTIC) */
	SCORES_LOG_PROBS,    /* LOG_SOFTMAX: exponentiate */
} score_kind;

typedef struct classify_state {
	int output;          /* graph output index */
	int n;               /* classes */
	nn_dtype type;       /* f32, u8 or i8 */
	float scale;         /* dequantization (1 / 0 for float) */
	int32_t zero_point;
	score_kind kind;
} classify_state;

/* How the graph's output `t` was made (see DESIGN). */
static score_kind output_kind(const tfl_model *m, int32_t t)
{
	for (int hops = 0; hops < 16; hops++) {
		int p = repo_producer(m, t);
		const tfl_op *op;
		if (p < 0)
			return SCORES_LOGITS;
		op = &m->ops[p];
		switch (op->builtin) {
		case OP_SOFTMAX:
		case OP_LOGISTIC:
			return SCORES_PROBS;
		case OP_LOG_SOFTMAX:
			return SCORES_LOG_PROBS;
		case OP_RESHAPE:
		case OP_SQUEEZE:
		case OP_QUANTIZE:
		case OP_DEQUANTIZE:
			if (op->n_inputs < 1 || op->inputs[0] < 0)
				return SCORES_LOGITS;
			t = op->inputs[0];
			break;
		default:
			return SCORES_LOGITS;
		}
	}
	return SCORES_LOGITS;
}

static nn_status classify_prepare(const pool_model *m, void **state, nn_err *err)
{
	const nn_tensor *o;
	classify_state *cs;
	nn_status st;
	int n;

	*state = NULL;
	if ((st = pre_check_image_input(m->graph, err)) != NN_OK)
		return st;
	if (nn_graph_n_outputs(m->graph) != 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "classification needs a model with 1 output, this one has %d",
				  nn_graph_n_outputs(m->graph));
	o = nn_graph_output(m->graph, 0);
	if (!(o->dims[0] == 1 && ((o->rank == 2 && o->dims[1] >= 2) ||
				  (o->rank == 4 && o->dims[1] == 1 && o->dims[2] == 1 && o->dims[3] >= 2))))
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "classification needs an output of shape [1,N] or [1,1,1,N] with N >= 2; output '%s' has "
				  "rank %d",
				  o->name, o->rank);
	if (o->type != NN_F32 && o->type != NN_U8 && o->type != NN_I8)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "classification output '%s' is %s; float32, uint8 and int8 are supported", o->name,
				  nn_dtype_name(o->type));
	if (o->quant && o->quant->n > 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "classification output '%s' is quantized per axis", o->name);
	n = o->dims[o->rank - 1];
	if (m->labels && m->n_labels != n)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "the label file has %d lines but the model scores %d classes",
				  m->n_labels, n);
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	cs->output = 0;
	cs->n = n;
	cs->type = o->type;
	cs->scale = 1.0f;
	cs->zero_point = 0;
	if (o->type != NN_F32 && o->quant && o->quant->n == 1) {
		cs->scale = o->quant->scale[0];
		cs->zero_point = (int32_t)o->quant->zero_point[0];
	}
	if (!(cs->scale > 0.0f) || !isfinite(cs->scale)) {
		free(cs);
		return nn_err_set(err, NN_ERR_BAD_MODEL, "classification output '%s' has quantization scale %g", o->name,
				  (double)o->quant->scale[0]);
	}
	cs->kind = output_kind(m->model, m->model->outputs[0]);
	*state = cs;
	return NN_OK;
}

typedef struct scored {
	double score;
	int index;
} scored;

static int cmp_scored(const void *a, const void *b)
{
	const scored *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index - y->index;
}

static pool_status classify_postprocess(const task_request *rq, nn_session *s, const task_input *in,
					json_t **result, uint8_t **png, size_t *png_len, nn_err *err)
{
	const classify_state *cs = rq->state;
	const pool_model *m = rq->model;
	const nn_tensor *o = nn_session_output(s, cs->output);
	scored *v;
	json_t *res, *preds, *img;
	int k, n = cs->n;
	double mx = -INFINITY, sum = 0.0;
	float threshold = rq->params->threshold;

	v = malloc((size_t)n * sizeof(*v));
	if (!v) {
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
		return POOL_FAILED;
	}
	for (int i = 0; i < n; i++) {
		double x;
		switch (cs->type) {
		case NN_U8: x = cs->scale * ((int32_t)((const uint8_t *)o->data)[i] - cs->zero_point); break;
		case NN_I8: x = cs->scale * ((int32_t)((const int8_t *)o->data)[i] - cs->zero_point); break;
		default: x = ((const float *)o->data)[i]; break;
		}
		if (isnan(x))
			x = -INFINITY; /* a NaN score must not win nor poison the softmax */
		v[i].score = x;
		v[i].index = i;
		if (x > mx)
			mx = x;
	}
	if (cs->kind == SCORES_LOGITS && isfinite(mx)) {
		for (int i = 0; i < n; i++)
			sum += (v[i].score = exp(v[i].score - mx));
		for (int i = 0; i < n; i++)
			v[i].score /= sum;
	} else if (cs->kind == SCORES_LOG_PROBS) {
		for (int i = 0; i < n; i++)
			v[i].score = exp(v[i].score);
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_scored);

	k = rq->params->top_k > 0 ? rq->params->top_k : CLASSIFY_DEFAULT_TOP_K;
	if (k > n)
		k = n;
	res = json_object();
	preds = json_array();
	img = json_object();
	for (int i = 0; i < k; i++) {
		json_t *p, *lab;
		char idx[16];
		if (threshold >= 0.0f && v[i].score < threshold)
			break;
		p = json_object();
		snprintf(idx, sizeof(idx), "%d", v[i].index);
		/* json_string refuses invalid UTF-8: such a label reads as its index */
		lab = m->labels ? json_string(m->labels[v[i].index]) : NULL;
		json_object_set_new(p, "label", lab ? lab : json_string(idx));
		json_object_set_new(p, "index", json_integer(v[i].index));
		json_object_set_new(p, "score", json_real(v[i].score));
		json_array_append_new(preds, p);
	}
	free(v);
	json_object_set_new(img, "width", json_integer(in->image_width));
	json_object_set_new(img, "height", json_integer(in->image_height));
	json_object_set_new(res, "predictions", preds);
	json_object_set_new(res, "image", img);
	*result = res;
	return POOL_OK;
}

const task_ops task_classification = {
	.task = POOL_TASK_CLASSIFICATION,
	.prepare = classify_prepare,
	.free = free,
	.preprocess = NULL, /* the image path */
	.postprocess = classify_postprocess,
};
