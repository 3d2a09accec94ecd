/* tfserving.c - TF Serving REST: model status, metadata and :predict.
 *
 * DESIGN: :predict takes either `instances` (row format: one entry per
 * example, answered as `predictions`, one entry per example) or `inputs`
 * (columnar: whole tensors, answered as `outputs`).  A model with several
 * inputs takes {name: value} objects; a model with one input takes the
 * value itself (or a one-key object).
 *
 * Batching: TFLite graphs have a fixed batch dimension, usually 1.  For
 * such a model N instances (or a columnar tensor with batch N) become N
 * inferences whose outputs are stacked back, which is what a TF Serving
 * client expects of a model with a free batch dimension.  A model whose
 * batch is fixed at B takes exactly B instances in one inference.
 *
 * Images: {"b64": "..."} values (standard base64) mean "an encoded image"
 * on models with an image task: each is decoded and run through the task
 * (pool_predict: the server-side decode + resize + normalisation the task
 * endpoint does), and the answer for each instance is that task's
 * predictions.  Numbers are tensors, fed as they are (pool_infer_raw).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "handlers.h"
#include "metrics.h"

#define TFS_MAX_RUNS 1024 /* inferences one request may ask for */

static void shape_str(const int32_t *dims, int rank, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", dims[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

/* ---- status and metadata ----------------------------------------------- */

void hnd_tfs_status(const srv_request *req, srv_response *resp)
{
	const char *name = req->params[0];
	const char *vs = req->n_params > 1 ? req->params[1] : NULL;
	int64_t want = 0;
	json_t *index, *e, *list = json_array();
	size_t i;

	snprintf(resp->model, sizeof(resp->model), "%s", name);
	if (vs && !hnd_parse_version(vs, &want)) {
		json_decref(list);
		srv_reply_error(resp, 400, "bad_request", "version '%s' is not a positive integer", vs);
		return;
	}
	index = pool_index(req->app->pool);
	json_array_foreach(index, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *state = json_string_value(json_object_get(e, "state"));
		const char *reason = json_string_value(json_object_get(e, "reason"));
		int64_t v = hnd_index_version(e);
		bool ready = state && !strcmp(state, "READY");
		char vb[32];

		if (!n || strcmp(n, name) != 0 || (want && v != want))
			continue;
		snprintf(vb, sizeof(vb), "%lld", (long long)v);
		json_array_append_new(list, json_pack("{s:s,s:s,s:{s:s,s:s}}", "version", vb, "state",
						      ready ? "AVAILABLE" : "END", "status", "error_code",
						      ready ? "OK" : "UNAVAILABLE", "error_message",
						      ready || !reason ? "" : reason));
	}
	json_decref(index);
	if (json_array_size(list) == 0) {
		json_decref(list);
		srv_reply_error(resp, 404, "model_not_found", "model '%s'%s%s not found", name,
				vs ? " version " : "", vs ? vs : "");
		return;
	}
	srv_reply_json(resp, 200, json_pack("{s:o}", "model_version_status", list));
}

static json_t *tf_tensor_info(const nn_tensor *t, bool input, int i)
{
	json_t *dims = json_array();
	char nb[32], sb[24], tn[300];
	const char *dt = hnd_tf_dtype(t->type);
	const char *name = hnd_tensor_name(t, input, i, nb, sizeof(nb));

	for (int d = 0; d < t->rank; d++) {
		snprintf(sb, sizeof(sb), "%d", t->dims[d]); /* TF's JSON prints int64 as strings */
		json_array_append_new(dims, json_pack("{s:s,s:s}", "size", sb, "name", ""));
	}
	snprintf(tn, sizeof(tn), "%s:0", name);
	return json_pack("{s:s,s:{s:o,s:b},s:s}", "dtype", dt ? dt : "DT_INVALID", "tensor_shape", "dim",
			 dims, "unknown_rank", 0, "name", tn);
}

void hnd_tfs_metadata(const srv_request *req, srv_response *resp)
{
	pool_model *m = hnd_get_model(req, resp, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
	json_t *ins, *outs;
	char vb[32], nb[32];

	if (!m)
		return;
	ins = json_object();
	outs = json_object();
	for (int i = 0; i < nn_graph_n_inputs(m->graph); i++) {
		const nn_tensor *t = nn_graph_input(m->graph, i);
		json_object_set_new(ins, hnd_tensor_name(t, true, i, nb, sizeof(nb)),
				    tf_tensor_info(t, true, i));
	}
	for (int i = 0; i < nn_graph_n_outputs(m->graph); i++) {
		const nn_tensor *t = nn_graph_output(m->graph, i);
		json_object_set_new(outs, hnd_tensor_name(t, false, i, nb, sizeof(nb)),
				    tf_tensor_info(t, false, i));
	}
	snprintf(vb, sizeof(vb), "%lld", (long long)m->version);
	srv_reply_json(resp, 200,
		       json_pack("{s:{s:s,s:s,s:s},s:{s:{s:{s:{s:o,s:o,s:s}}}}}", "model_spec", "name",
				 m->name, "signature_name", "", "version", vb, "metadata", "signature_def",
				 "signature_def", "serving_default", "inputs", ins, "outputs", outs,
				 "method_name", "tensorflow/serving/predict"));
	pool_put(m);
}

/* ---- :predict with b64 images ------------------------------------------ */

static bool is_b64(const json_t *v)
{
	return json_is_object(v) && json_object_size(v) == 1 && json_is_string(json_object_get(v, "b64"));
}

/* v itself, or the value of a one-key object wrapping it ({"image": ...}). */
static const json_t *unwrap(const json_t *v)
{
	if (json_is_object(v) && json_object_size(v) == 1 && !is_b64(v))
		return json_object_iter_value(json_object_iter((json_t *)v));
	return v;
}

/* Does the payload hold b64 values (looking at its first element)? */
static bool has_b64(const json_t *payload, bool row)
{
	const json_t *v = row ? json_array_get(payload, 0) : payload;

	v = unwrap(v);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return is_b64(v);
}

static const char *sniff_image(const uint8_t *d, size_t n)
{
	if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
		return "image/jpeg";
	if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	return NULL;
}

static void predict_b64(srv_response *resp, pool_model *m, const json_t *payload, bool row)
{
	const json_t *items[TFS_MAX_RUNS];
	size_t n = 0;
	json_t *preds = NULL;
	pool_task_params params = {.top_k = 5, .threshold = -1.0f};

	if (m->task == POOL_TASK_TENSOR || m->task == POOL_TASK_SMART_REPLY) {
		srv_reply_error(
		    resp, 400, "invalid_input",
		    "model '%s' (task %s) has no image task: {\"b64\": ...} images need one; send numbers",
		    m->name, pool_task_name(m->task));
		return;
	}
	if (row) {
		size_t i;
		const json_t *e;
		json_array_foreach(payload, i, e)
		{
			if (n == TFS_MAX_RUNS)
				break;
			items[n++] = unwrap(e);
		}
		if (json_array_size(payload) > TFS_MAX_RUNS) {
			srv_reply_error(resp, 400, "invalid_input", "more than %d instances", TFS_MAX_RUNS);
			return;
		}
	} else {
		const json_t *v = unwrap(payload);
		if (json_is_array(v)) {
			size_t i;
			const json_t *e;
			if (json_array_size(v) > TFS_MAX_RUNS) {
				srv_reply_error(resp, 400, "invalid_input", "more than %d images",
						TFS_MAX_RUNS);
				return;
			}
			json_array_foreach(v, i, e) items[n++] = e;
		} else {
			items[n++] = v;
		}
	}
	preds = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_object_get(items[i], "b64"));
		size_t sl = s ? strlen(s) : 0, len = 0;
		uint8_t *img;
		const char *ctype;
		char err[256];
		json_t *result = NULL, *p;
		uint8_t *png = NULL;
		size_t png_len = 0;
		pool_timing timing = {0};
		nn_err nerr = {0};
		pool_status st;
		double ti = srv_now_ms();

		if (!is_b64(items[i])) {
			srv_reply_error(resp, 400, "invalid_input",
					"item %zu is not {\"b64\": \"...\"} like the first one", i);
			goto fail;
		}
		img = malloc(b64_decoded_max(sl));
		if (!img) {
			srv_reply_error(resp, 503, "no_memory", "out of memory");
			goto fail;
		}
		if (!b64_decode(s, sl, img, &len, err, sizeof(err))) {
			free(img);
			srv_reply_error(resp, 400, "invalid_input", "item %zu: %s", i, err);
			goto fail;
		}
		ctype = sniff_image(img, len);
		if (!ctype) {
			free(img);
			srv_reply_error(resp, 400, "invalid_input",
					"item %zu: the b64 value is not a JPEG or PNG image", i);
			goto fail;
		}
		st = pool_predict(m, img, len, ctype, &params, &result, &png, &png_len, &timing, &nerr);
		free(img);
		free(png);
		if (st != POOL_OK) {
			json_decref(result);
			hnd_reply_pool_error(resp, st, &nerr, "prediction failed");
			goto fail;
		}
		srv_metrics_observe(&timing, hnd_ms_since(ti));
		p = json_object_get(result, "predictions");
		json_array_append(preds, p ? p : result);
		json_decref(result);
	}
	srv_reply_json(resp, 200, json_pack("{s:o}", row ? "predictions" : "outputs", preds));
	return;
fail:
	json_decref(preds);
}

/* ---- :predict with numeric tensors ------------------------------------- */

typedef struct tfs_in {
	const nn_tensor *t;
	uint8_t *buf;  /* runs (or 1) copies of the tensor bytes */
	size_t stride; /* bytes per run (0 when one run feeds the whole buffer) */
} tfs_in;

/* The value for input k of the payload entry e (an instance or the
 * columnar `inputs`), or NULL after replying. */
static const json_t *input_value(const pool_model *m, const json_t *e, int k, int n_in, srv_response *resp,
				 const char *what)
{
	char nb[32];
	const nn_tensor *t = nn_graph_input(m->graph, k);
	const char *name = hnd_tensor_name(t, true, k, nb, sizeof(nb));
	const json_t *v;

	if (n_in == 1 && !json_is_object(e))
		return e;
	if (!json_is_object(e)) {
		srv_reply_error(resp, 400, "invalid_input",
				"model '%s' has %d inputs: each %s must be an object {name: value}", m->name,
				n_in, what);
		return NULL;
	}
	v = json_object_get(e, name);
	if (!v && n_in == 1 && json_object_size(e) == 1)
		v = json_object_iter_value(json_object_iter((json_t *)e));
	if (!v) {
		srv_reply_error(resp, 400, "invalid_input", "%s has no value for input '%s'", what, name);
		return NULL;
	}
	return v;
}

/* Nested value of output t for run r: drops a batch dim of 1, or slices
 * entry `slice` of a batch dim (slice < 0: the whole tensor). */
static json_t *output_value(const nn_tensor *t, const void *data, int slice, bool drop_batch)
{
	if (slice >= 0) {
		size_t per = t->dims[0] ? t->bytes / (size_t)t->dims[0] : 0;
		return hnd_tensor_to_json_nested((const uint8_t *)data + per * (size_t)slice, t->type,
						 t->dims + 1, t->rank - 1);
	}
	if (drop_batch && t->rank >= 1 && t->dims[0] == 1)
		return hnd_tensor_to_json_nested(data, t->type, t->dims + 1, t->rank - 1);
	return hnd_tensor_to_json_nested(data, t->type, t->dims, t->rank);
}

static void predict_tensors(srv_response *resp, pool_model *m, const json_t *payload, bool row)
{
	const nn_graph *g = m->graph;
	int n_in = nn_graph_n_inputs(g), n_out = nn_graph_n_outputs(g);
	tfs_in ins[HND_MAX_TENSORS] = {{0}};
	size_t n_inst = row ? json_array_size(payload) : 0;
	int runs = -1;
	bool slice_outputs = false; /* row format, one run with batch == n_inst */
	json_t *answer = NULL, *cols[HND_MAX_TENSORS] = {0};
	char err[256], a[96], b[96], nb[32];

	if (n_in > HND_MAX_TENSORS || n_out > HND_MAX_TENSORS) {
		srv_reply_error(resp, 400, "unsupported", "model '%s' has too many inputs or outputs",
				m->name);
		return;
	}
	if (row && (n_inst == 0 || n_inst > TFS_MAX_RUNS)) {
		srv_reply_error(resp, 400, "invalid_input", "\"instances\" must be a list of 1..%d instances",
				TFS_MAX_RUNS);
		return;
	}
	for (int k = 0; k < n_in; k++) {
		const nn_tensor *t = nn_graph_input(g, k);
		const char *name = hnd_tensor_name(t, true, k, nb, sizeof(nb));
		int r;
		uint64_t count = (uint64_t)nn_tensor_count(t);

		ins[k].t = t;
		if (t->type == NN_STRING || !hnd_kserve_dtype(t->type)) {
			srv_reply_error(resp, 400, "invalid_input",
					"input '%s' has type %s, which JSON numbers cannot feed", name,
					nn_dtype_name(t->type));
			goto out;
		}
		if (row) {
			size_t per;
			if (t->rank == 0 ? n_inst != 1 : (t->dims[0] != 1 && (size_t)t->dims[0] != n_inst)) {
				shape_str(t->dims, t->rank, b, sizeof(b));
				srv_reply_error(
				    resp, 400, "invalid_input",
				    "input '%s' has shape %s: %zu instances do not fit its batch dimension",
				    name, b, n_inst);
				goto out;
			}
			r = t->rank == 0 || t->dims[0] != 1 ? 1 : (int)n_inst;
			per = t->rank == 0 ? t->bytes : t->bytes / (size_t)t->dims[0];
			ins[k].buf = malloc((per * n_inst) != 0 ? per * n_inst : 1);
			ins[k].stride = r > 1 ? t->bytes : 0;
			if (!ins[k].buf) {
				srv_reply_error(resp, 503, "no_memory", "out of memory");
				goto out;
			}
			for (size_t i = 0; i < n_inst; i++) {
				const json_t *v =
				    input_value(m, json_array_get(payload, i), k, n_in, resp, "an instance");
				int32_t dims[NN_MAX_RANK];
				int rank;
				if (!v)
					goto out;
				if (!hnd_json_shape(v, dims, &rank, err, sizeof(err))) {
					srv_reply_error(resp, 400, "invalid_input",
							"instance %zu, input '%s': %s", i, name, err);
					goto out;
				}
				if (rank != (t->rank ? t->rank - 1 : 0) ||
				    (rank && memcmp(dims, t->dims + 1, sizeof(int32_t) * (size_t)rank))) {
					shape_str(dims, rank, a, sizeof(a));
					shape_str(t->dims + (t->rank ? 1 : 0), t->rank ? t->rank - 1 : 0, b,
						  sizeof(b));
					srv_reply_error(resp, 400, "invalid_input",
							"instance %zu, input '%s': shape %s does not match "
							"the model's %s (without "
							"the batch dimension)",
							i, name, a, b);
					goto out;
				}
				if (!hnd_json_to_tensor(v, t->type,
							t->rank ? count / (uint64_t)t->dims[0] : 1,
							ins[k].buf + per * i, err, sizeof(err))) {
					srv_reply_error(resp, 400, "invalid_input",
							"instance %zu, input '%s': %s", i, name, err);
					goto out;
				}
			}
			if (r == 1 && n_inst > 1)
				slice_outputs = true;
		} else {
			const json_t *v = input_value(m, payload, k, n_in, resp, "\"inputs\"");
			int32_t dims[NN_MAX_RANK];
			int rank;
			if (!v)
				goto out;
			if (!hnd_json_shape(v, dims, &rank, err, sizeof(err))) {
				srv_reply_error(resp, 400, "invalid_input", "input '%s': %s", name, err);
				goto out;
			}
			if (rank == t->rank && !memcmp(dims, t->dims, sizeof(int32_t) * (size_t)rank)) {
				r = 1;
			} else if (t->rank >= 1 && t->dims[0] == 1 && rank == t->rank && dims[0] >= 1 &&
				   dims[0] <= TFS_MAX_RUNS &&
				   !memcmp(dims + 1, t->dims + 1, sizeof(int32_t) * (size_t)(rank - 1))) {
				r = dims[0];
			} else {
				shape_str(dims, rank, a, sizeof(a));
				shape_str(t->dims, t->rank, b, sizeof(b));
				srv_reply_error(resp, 400, "invalid_input",
						"input '%s': shape %s does not match the model's %s", name, a,
						b);
				goto out;
			}
			ins[k].buf = malloc((t->bytes * (size_t)r) != 0 ? t->bytes * (size_t)r : 1);
			ins[k].stride = r > 1 ? t->bytes : 0;
			if (!ins[k].buf) {
				srv_reply_error(resp, 503, "no_memory", "out of memory");
				goto out;
			}
			if (!hnd_json_to_tensor(v, t->type, count * (uint64_t)r, ins[k].buf, err,
						sizeof(err))) {
				srv_reply_error(resp, 400, "invalid_input", "input '%s': %s", name, err);
				goto out;
			}
		}
		if (runs >= 0 && r != runs) {
			srv_reply_error(resp, 400, "invalid_input",
					"inputs disagree on the batch size (%d and %d)", runs, r);
			goto out;
		}
		runs = r;
	}
	if (slice_outputs) {
		for (int o = 0; o < n_out; o++) {
			const nn_tensor *t = nn_graph_output(g, o);
			if (t->rank == 0 || (size_t)t->dims[0] != n_inst) {
				srv_reply_error(
				    resp, 400, "invalid_input",
				    "output '%s' has no batch dimension of %zu to split into instances; use "
				    "\"inputs\"",
				    hnd_tensor_name(t, false, o, nb, sizeof(nb)), n_inst);
				goto out;
			}
		}
	}

	if (row)
		answer = json_array();
	else
		for (int o = 0; o < n_out; o++)
			cols[o] = json_array();
	for (int r = 0; r < runs; r++) {
		const void *in[HND_MAX_TENSORS];
		size_t in_size[HND_MAX_TENSORS];
		void *out[HND_MAX_TENSORS] = {0};
		size_t out_size[HND_MAX_TENSORS] = {0};
		int got = n_out;
		pool_timing timing = {0};
		nn_err nerr = {0};
		pool_status st;
		double tr = srv_now_ms();
		bool ok = true;

		for (int k = 0; k < n_in; k++) {
			in[k] = ins[k].buf + ins[k].stride * (size_t)r;
			in_size[k] = ins[k].t->bytes;
		}
		st = pool_infer_raw(m, in, in_size, n_in, out, out_size, &got, &timing, &nerr);
		if (st != POOL_OK) {
			if (st == POOL_UNSUPPORTED)
				srv_reply_error(resp, 400, "unsupported", "%s",
						nerr.msg[0] ? nerr.msg : "not supported");
			else
				hnd_reply_pool_error(resp, st, &nerr, "inference failed");
			ok = false;
		} else {
			srv_metrics_observe(&timing, hnd_ms_since(tr));
		}
		for (int o = 0; ok && o < n_out; o++) {
			const nn_tensor *t = nn_graph_output(g, o);
			if (o >= got || !out[o] || out_size[o] != t->bytes) {
				srv_reply_error(resp, 500, "internal",
						"output %d came back with %zu bytes, expected %zu", o,
						out_size[o], t->bytes);
				ok = false;
			} else if (t->type == NN_STRING || !hnd_kserve_dtype(t->type)) {
				srv_reply_error(resp, 500, "unsupported",
						"output '%s' has type %s, which JSON cannot carry",
						hnd_tensor_name(t, false, o, nb, sizeof(nb)),
						nn_dtype_name(t->type));
				ok = false;
			}
		}
		if (ok && row) {
			int per_run = slice_outputs ? (int)n_inst : 1;
			for (int i = 0; i < per_run; i++) {
				json_t *pred;
				if (n_out == 1) {
					pred = output_value(nn_graph_output(g, 0), out[0],
							    slice_outputs ? i : -1, true);
				} else {
					pred = json_object();
					for (int o = 0; o < n_out; o++) {
						const nn_tensor *t = nn_graph_output(g, o);
						json_object_set_new(
						    pred, hnd_tensor_name(t, false, o, nb, sizeof(nb)),
						    output_value(t, out[o], slice_outputs ? i : -1, true));
					}
				}
				json_array_append_new(answer, pred);
			}
		} else if (ok) {
			for (int o = 0; o < n_out; o++)
				json_array_append_new(
				    cols[o], output_value(nn_graph_output(g, o), out[o], -1, runs > 1));
		}
		for (int o = 0; o < HND_MAX_TENSORS; o++)
			free(out[o]);
		if (!ok)
			goto out;
	}
	if (row) {
		srv_reply_json(resp, 200, json_pack("{s:o}", "predictions", answer));
		answer = NULL;
	} else {
		json_t *outputs;
		/* one run: the tensors as they are; several: stacked on the batch dim */
		if (n_out == 1) {
			outputs = json_incref(runs > 1 ? cols[0] : json_array_get(cols[0], 0));
		} else {
			outputs = json_object();
			for (int o = 0; o < n_out; o++) {
				const nn_tensor *t = nn_graph_output(g, o);
				json_object_set(outputs, hnd_tensor_name(t, false, o, nb, sizeof(nb)),
						runs > 1 ? cols[o] : json_array_get(cols[o], 0));
			}
		}
		srv_reply_json(resp, 200, json_pack("{s:o}", "outputs", outputs));
	}
out:
	json_decref(answer);
	for (int o = 0; o < HND_MAX_TENSORS; o++)
		json_decref(cols[o]);
	for (int k = 0; k < HND_MAX_TENSORS; k++)
		free(ins[k].buf);
}

void hnd_tfs_predict(const srv_request *req, srv_response *resp)
{
	pool_model *m = hnd_get_model(req, resp, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
	json_t *root = NULL, *inst, *cols, *sig;

	if (!m)
		return;
	if (!(root = hnd_parse_json(req->body, req->body_len, resp)))
		goto out;
	if (!json_is_object(root)) {
		srv_reply_error(resp, 400, "bad_request",
				"the request must be a JSON object with \"instances\" or \"inputs\"");
		goto out;
	}
	inst = json_object_get(root, "instances");
	cols = json_object_get(root, "inputs");
	sig = json_object_get(root, "signature_name");
	if (!!inst == !!cols) {
		srv_reply_error(resp, 400, "bad_request",
				"give exactly one of \"instances\" (row format) or \"inputs\" "
				"(columnar format)");
		goto out;
	}
	if (sig && (!json_is_string(sig) || (strcmp(json_string_value(sig), "serving_default") != 0 &&
					     strcmp(json_string_value(sig), "") != 0))) {
		srv_reply_error(resp, 400, "bad_request",
				"unknown signature_name (this model has \"serving_default\")");
		goto out;
	}
	if (inst && !json_is_array(inst)) {
		srv_reply_error(resp, 400, "bad_request", "\"instances\" must be a list");
		goto out;
	}
	if (has_b64(inst ? inst : cols, inst != NULL))
		predict_b64(resp, m, inst ? inst : cols, inst != NULL);
	else
		predict_tensors(resp, m, inst ? inst : cols, inst != NULL);
out:
	json_decref(root);
	pool_put(m);
}
