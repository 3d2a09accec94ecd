/* task_smartreply.c - smart reply: a message in, suggested replies out.
 *
 * DESIGN: the model (TensorFlow's smart-reply graph: Normalize ->
 * ExtractFeatures -> Predict ...) takes one sentence as a string tensor and
 * answers with two outputs of the same length n: the replies and their
 * scores (float32).  The replies come either as strings (the hosted model
 * looks its labels up in a string table inside the graph) or as int32 reply
 * ids, which name lines of the model's label file (id k -> line k + 1; an
 * id without a line reads as its number).  prepare checks that shape once.
 *
 * preprocess takes text/plain (the task handler also turns application/json
 * {"text": ...} into text/plain) or, for callers that did not, the JSON
 * itself; the text must be valid UTF-8 (the engine's rewrites work on
 * characters as RE2 does on UTF-8) and at most NN_MAX_STRING_BYTES bytes
 * (the string input's capacity): anything else is POOL_BAD_REQUEST with the
 * reason.  It writes the whole input tensor (TFLite's string layout, then
 * zeros up to the capacity), so pool_predict copies it like any input.
 *
 * postprocess follows the reference app: empty replies (and ids < 0, the
 * op's "no reply") are dropped, equal replies add their scores, and the
 * list is sorted by score (ties: first produced).  top_k (if > 0) and
 * threshold (if >= 0) apply as for classification.  The answer is
 * {"replies": [{"text", "score"}]} (the shape), beside the task
 * handler's envelope (model, version, task, latency_ms) like every task.
 * The reference app also splits a message into sentences and runs the
 * model once per sentence; one request is one invocation here, so a
 * message is one sentence.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_string.h"
#include "task.h"

typedef struct sr_state {
	int n;              /* replies per inference (outputs' length) */
	bool ids;           /* output 0 holds int32 reply ids, not strings */
	size_t input_bytes; /* the string input's capacity */
} sr_state;

static nn_status sr_prepare(const pool_model *m, void **state, nn_err *err)
{
	const nn_tensor *in, *o0, *o1;
	sr_state *st;

	*state = NULL;
	if (nn_graph_n_inputs(m->graph) != 1 || nn_graph_n_outputs(m->graph) < 2)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "smart reply needs 1 input and 2 outputs (replies, scores); this model has %d and %d",
				  nn_graph_n_inputs(m->graph), nn_graph_n_outputs(m->graph));
	in = nn_graph_input(m->graph, 0);
	if (in->type != NN_STRING || nn_tensor_count(in) != 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "smart reply input '%s' must be one string, not %s x %lld",
				  in->name, nn_dtype_name(in->type), (long long)nn_tensor_count(in));
	o0 = nn_graph_output(m->graph, 0);
	o1 = nn_graph_output(m->graph, 1);
	if ((o0->type != NN_STRING && o0->type != NN_I32) || o1->type != NN_F32 ||
	    nn_tensor_count(o0) != nn_tensor_count(o1))
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "smart reply outputs must be replies (string or int32) and scores (float32) of one "
				  "length; '%s' is %s x %lld, '%s' is %s x %lld",
				  o0->name, nn_dtype_name(o0->type), (long long)nn_tensor_count(o0), o1->name,
				  nn_dtype_name(o1->type), (long long)nn_tensor_count(o1));
	st = calloc(1, sizeof(*st));
	if (!st)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	st->n = (int)nn_tensor_count(o0);
	st->ids = o0->type == NN_I32;
	st->input_bytes = in->bytes;
	*state = st;
	return NN_OK;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += k + 1;
	}
	return true;
}

static pool_status sr_preprocess(const task_request *rq, const uint8_t *data, size_t len, const char *content_type,
				 task_input *in, pool_timing *t, nn_err *err)
{
	const sr_state *st = rq->state;
	double t0 = pool_now_ms();
	json_t *root = NULL;
	const char *text = (const char *)data;
	pool_status ps = POOL_OK;

	memset(in, 0, sizeof(*in));
	if (content_type && !strncmp(content_type, "application/json", 16)) {
		json_t *v;
		json_error_t je;
		root = json_loadb((const char *)data, len, 0, &je);
		v = root ? json_object_get(root, "text") : NULL;
		if (!json_is_string(v)) {
			nn_err_set(err, NN_ERR_INVALID_ARG, "expected {\"text\": \"...\"}");
			ps = POOL_BAD_REQUEST;
			goto out;
		}
		text = json_string_value(v);
		len = json_string_length(v);
	} else if (content_type && strncmp(content_type, "text/plain", 10)) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "smart reply takes text/plain or application/json, not %s",
			   content_type);
		ps = POOL_UNSUPPORTED;
		goto out;
	}
	if (len > NN_MAX_STRING_BYTES) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "the text has %zu bytes; the limit is %d", len,
			   NN_MAX_STRING_BYTES);
		ps = POOL_BAD_REQUEST;
		goto out;
	}
	if (!utf8_valid((const uint8_t *)text, len)) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "the text is not valid UTF-8");
		ps = POOL_BAD_REQUEST;
		goto out;
	}
	in->data = calloc(1, st->input_bytes);
	if (!in->data) {
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
		ps = POOL_FAILED;
		goto out;
	}
	in->bytes = st->input_bytes;
	if (nn_string_write(in->data, in->bytes, 1, &text, &len, NULL, err) != NN_OK) {
		free(in->data);
		in->data = NULL;
		in->bytes = 0;
		ps = POOL_BAD_REQUEST;
		goto out;
	}
out:
	json_decref(root);
	t->decode = 0.0;
	t->preprocess = pool_now_ms() - t0;
	return ps;
}

typedef struct sr_reply {
	const char *text;
	size_t len;
	double score;
	int first; /* position of its first occurrence */
} sr_reply;

static int by_score(const void *a_, const void *b_)
{
	const sr_reply *a = a_, *b = b_;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->first - b->first;
}

static pool_status sr_postprocess(const task_request *rq, nn_session *s, const task_input *in, json_t **result,
				  uint8_t **png, size_t *png_len, nn_err *err)
{
	const sr_state *st = rq->state;
	const pool_model *m = rq->model;
	const nn_tensor *o0 = nn_session_output(s, 0), *o1 = nn_session_output(s, 1);
	const float *scores = o1->data;
	float threshold = rq->params->threshold;
	int top_k = rq->params->top_k, u = 0;
	sr_reply *r;
	char (*num)[16];
	json_t *res, *list;

	if (!st->ids && nn_string_check(o0->data, o0->bytes, st->n, err) != NN_OK)
		return POOL_FAILED;
	r = calloc((size_t)st->n + 1, sizeof(*r));
	num = calloc((size_t)st->n + 1, sizeof(*num));
	if (!r || !num) {
		free(r);
		free(num);
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
		return POOL_FAILED;
	}
	for (int i = 0; i < st->n; i++) {
		const char *text;
		size_t len;
		int j;
		if (st->ids) {
			int32_t id = ((const int32_t *)o0->data)[i];
			if (id < 0)
				continue; /* Predict's "no reply" */
			if (m->labels && id < m->n_labels) {
				text = m->labels[id];
			} else {
				snprintf(num[i], sizeof(num[i]), "%d", id);
				text = num[i];
			}
			len = strlen(text);
		} else {
			text = nn_string_at(o0->data, i, &len);
		}
		if (len == 0)
			continue;
		for (j = 0; j < u; j++)
			if (r[j].len == len && !memcmp(r[j].text, text, len))
				break;
		if (j < u) {
			r[j].score += scores[i];
			continue;
		}
		r[u].text = text;
		r[u].len = len;
		r[u].score = scores[i];
		r[u].first = i;
		u++;
	}
	qsort(r, (size_t)u, sizeof(*r), by_score);
	list = json_array();
	for (int i = 0; i < u; i++) {
		json_t *o, *txt;
		if (top_k > 0 && (int)json_array_size(list) >= top_k)
			break;
		if (threshold >= 0.0f && r[i].score < threshold)
			break;
		txt = json_stringn(r[i].text, r[i].len); /* NULL for invalid UTF-8: such a reply is skipped */
		if (!txt)
			continue;
		o = json_object();
		json_object_set_new(o, "text", txt);
		json_object_set_new(o, "score", json_real(r[i].score));
		json_array_append_new(list, o);
	}
	free(r);
	free(num);
	res = json_object();
	json_object_set_new(res, "replies", list);
	*result = res;
	return POOL_OK;
}

const task_ops task_smart_reply = {
	.task = POOL_TASK_SMART_REPLY,
	.prepare = sr_prepare,
	.free = free,
	.preprocess = sr_preprocess,
	.postprocess = sr_postprocess,
};
