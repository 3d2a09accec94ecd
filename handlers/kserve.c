/* kserve.c - KServe v2 / Open Inference Protocol: model metadata, model
 * readiness and inference with JSON or binary tensors.
 *
 * DESIGN: a request is checked completely against the model before the
 * pool is asked for anything: every model input given exactly once, by
 * name; datatype equal to the model's (no silent conversion: a client
 * sending FP32 to a UINT8 model has a bug worth a 400); shape equal to the
 * model's (TFLite graphs are prepared for fixed shapes); element count or
 * binary size equal to what the shape needs.  Errors name the input and
 * both values.
 *
 * Binary tensor extension: the header Inference-Header-Content-Length: N
 * says the first N bytes of the body are the JSON header and the rest are
 * the raw tensors, in the order of `inputs`, each declared by
 * parameters.binary_data_size.  N = 0 means the whole body is the raw bytes
 * of the model's single input.  Outputs are binary when asked for
 * (parameters.binary_data_output, or per output parameters.binary_data):
 * then the answer is the JSON header followed by their bytes, with the
 * same response header giving the JSON length.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "metrics.h"

static void shape_str(const int32_t *dims, int rank, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", dims[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

static json_t *tensor_meta(const nn_tensor *t, bool input, int i)
{
	char nb[32];
	json_t *shape = json_array();
	const char *dt = hnd_kserve_dtype(t->type);

	for (int d = 0; d < t->rank; d++)
		json_array_append_new(shape, json_integer(t->dims[d]));
	return json_pack("{s:s,s:s,s:o}", "name", hnd_tensor_name(t, input, i, nb, sizeof(nb)), "datatype",
			 dt ? dt : nn_dtype_name(t->type), "shape", shape);
}

/* The versions of NAME in the repository index, as strings. */
static json_t *versions_of(pool_registry *pool, const pool_model *m)
{
	json_t *index = pool_index(pool), *e, *out = json_array();
	size_t i;
	char buf[32];

	json_array_foreach(index, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		int64_t v = hnd_index_version(e);

		if (n && !strcmp(n, m->name) && v > 0) {
			snprintf(buf, sizeof(buf), "%lld", (long long)v);
			json_array_append_new(out, json_string(buf));
		}
	}
	json_decref(index);
	if (json_array_size(out) == 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)m->version);
		json_array_append_new(out, json_string(buf));
	}
	return out;
}

void hnd_v2_model_metadata(const srv_request *req, srv_response *resp)
{
	pool_model *m = hnd_get_model(req, resp, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
	json_t *o, *ins, *outs;

	if (!m)
		return;
	ins = json_array();
	outs = json_array();
	for (int i = 0; i < nn_graph_n_inputs(m->graph); i++)
		json_array_append_new(ins, tensor_meta(nn_graph_input(m->graph, i), true, i));
	for (int i = 0; i < nn_graph_n_outputs(m->graph); i++)
		json_array_append_new(outs, tensor_meta(nn_graph_output(m->graph, i), false, i));
	o = json_pack("{s:s,s:o,s:s,s:o,s:o,s:s}", "name", m->name, "versions",
		      versions_of(req->app->pool, m), "platform", "tflite", "inputs", ins, "outputs", outs,
		      "task", pool_task_name(m->task));
	pool_put(m);
	srv_reply_json(resp, 200, o);
}

void hnd_v2_model_ready(const srv_request *req, srv_response *resp)
{
	pool_model *m = hnd_get_model(req, resp, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
	char v[32];

	if (!m)
		return;
	snprintf(v, sizeof(v), "%lld", (long long)m->version);
	srv_reply_json(resp, 200, json_pack("{s:s,s:s,s:b}", "name", m->name, "version", v, "ready", 1));
	pool_put(m);
}

/* Everything one inference request holds; freed by infer_free. */
typedef struct infer_ctx {
	int n_in, n_out;
	const void *in[HND_MAX_TENSORS];
	size_t in_size[HND_MAX_TENSORS];
	void *owned[HND_MAX_TENSORS]; /* JSON-decoded input buffers */
	void *out[HND_MAX_TENSORS];   /* from pool_infer_raw */
	size_t out_size[HND_MAX_TENSORS];
	int n_sel; /* outputs to answer, in answer order */
	int sel[HND_MAX_TENSORS];
	bool sel_binary[HND_MAX_TENSORS];
} infer_ctx;

static void infer_free(infer_ctx *c)
{
	for (int i = 0; i < HND_MAX_TENSORS; i++) {
		free(c->owned[i]);
		free(c->out[i]);
	}
}

static int find_tensor(const nn_graph *g, bool input, const char *name)
{
	int n = input ? nn_graph_n_inputs(g) : nn_graph_n_outputs(g);
	char nb[32];

	for (int i = 0; i < n; i++) {
		const nn_tensor *t = input ? nn_graph_input(g, i) : nn_graph_output(g, i);
		if (!strcmp(hnd_tensor_name(t, input, i, nb, sizeof(nb)), name))
			return i;
	}
	return -1;
}

static void list_names(const nn_graph *g, bool input, char *buf, size_t len)
{
	int n = input ? nn_graph_n_inputs(g) : nn_graph_n_outputs(g);
	size_t k = 0;
	char nb[32];

	buf[0] = '\0';
	for (int i = 0; i < n && k < len; i++) {
		const nn_tensor *t = input ? nn_graph_input(g, i) : nn_graph_output(g, i);
		k += (size_t)snprintf(buf + k, len - k, "%s'%s'", i ? ", " : "",
				      hnd_tensor_name(t, input, i, nb, sizeof(nb)));
	}
}

/* Checks and decodes the JSON `inputs`; false after replying. */
static bool parse_inputs(const pool_model *m, json_t *root, const uint8_t *bin, size_t bin_len, infer_ctx *c,
			 srv_response *resp)
{
	const nn_graph *g = m->graph;
	json_t *inputs = json_object_get(root, "inputs"), *spec;
	bool seen[HND_MAX_TENSORS] = {false};
	size_t i, bin_off = 0;
	char names[512], err[256], a[96], b[96];

	if (!json_is_array(inputs) || json_array_size(inputs) == 0) {
		srv_reply_error(resp, 400, "bad_request", "the request needs an \"inputs\" array");
		return false;
	}
	if (json_array_size(inputs) != (size_t)c->n_in) {
		list_names(g, true, names, sizeof(names));
		srv_reply_error(resp, 400, "bad_request",
				"model '%s' has %d input(s) (%s), the request gives %zu", m->name, c->n_in,
				names, json_array_size(inputs));
		return false;
	}
	json_array_foreach(inputs, i, spec)
	{
		const char *name = json_string_value(json_object_get(spec, "name"));
		const char *dtype = json_string_value(json_object_get(spec, "datatype"));
		json_t *shape = json_object_get(spec, "shape"), *data = json_object_get(spec, "data"), *dim;
		json_t *bds = json_object_get(json_object_get(spec, "parameters"), "binary_data_size");
		const nn_tensor *t;
		const char *want;
		int32_t dims[NN_MAX_RANK];
		int k, rank;
		size_t d;
		bool shape_ok;

		if (!json_is_object(spec) || !name || !dtype || !json_is_array(shape)) {
			srv_reply_error(resp, 400, "bad_request",
					"inputs[%zu] needs \"name\", \"datatype\" and \"shape\"", i);
			return false;
		}
		k = find_tensor(g, true, name);
		if (k < 0) {
			list_names(g, true, names, sizeof(names));
			srv_reply_error(resp, 400, "invalid_input",
					"model '%s' has no input '%s' (inputs: %s)", m->name, name, names);
			return false;
		}
		if (seen[k]) {
			srv_reply_error(resp, 400, "invalid_input", "input '%s' is given twice", name);
			return false;
		}
		seen[k] = true;
		t = nn_graph_input(g, k);
		want = hnd_kserve_dtype(t->type);
		if (!want || t->type == NN_STRING) {
			srv_reply_error(resp, 400, "invalid_input",
					"input '%s' has type %s, which this endpoint cannot feed", name,
					nn_dtype_name(t->type));
			return false;
		}
		if (strcmp(dtype, want) != 0) {
			srv_reply_error(resp, 400, "invalid_input",
					"input '%s': datatype %s does not match the model's %s", name, dtype,
					want);
			return false;
		}
		rank = (int)json_array_size(shape);
		shape_ok = rank == t->rank;
		json_array_foreach(shape, d, dim)
		{
			if (!json_is_integer(dim)) {
				srv_reply_error(resp, 400, "invalid_input",
						"input '%s': shape must hold integers", name);
				return false;
			}
			if (d < NN_MAX_RANK)
				dims[d] =
				    json_integer_value(dim) < INT32_MIN || json_integer_value(dim) > INT32_MAX
					? -1
					: (int32_t)json_integer_value(dim);
			if (shape_ok && dims[d] != t->dims[d])
				shape_ok = false;
		}
		if (!shape_ok) {
			if (rank <= NN_MAX_RANK)
				shape_str(dims, rank, a, sizeof(a));
			else
				snprintf(a, sizeof(a), "(rank %d)", rank);
			shape_str(t->dims, t->rank, b, sizeof(b));
			srv_reply_error(resp, 400, "invalid_input",
					"input '%s': shape %s does not match the model's %s", name, a, b);
			return false;
		}
		if (bds) {
			json_int_t n = json_integer_value(bds);
			if (!json_is_integer(bds) || n < 0) {
				srv_reply_error(resp, 400, "invalid_input",
						"input '%s': binary_data_size must be a non-negative integer",
						name);
				return false;
			}
			if (data) {
				srv_reply_error(resp, 400, "invalid_input",
						"input '%s' has both data and binary_data_size", name);
				return false;
			}
			if ((uint64_t)n != t->bytes) {
				srv_reply_error(resp, 400, "invalid_input",
						"input '%s': binary_data_size %lld, the shape and datatype "
						"need %zu bytes",
						name, (long long)n, t->bytes);
				return false;
			}
			if (!bin || (uint64_t)n > bin_len - bin_off) {
				srv_reply_error(
				    resp, 400, "invalid_input",
				    "input '%s': binary data of %lld bytes goes past the end of the body",
				    name, (long long)n);
				return false;
			}
			c->in[k] = bin + bin_off;
			c->in_size[k] = (size_t)n;
			bin_off += (size_t)n;
			continue;
		}
		if (!data) {
			srv_reply_error(resp, 400, "invalid_input",
					"input '%s' has no \"data\" (nor binary_data_size)", name);
			return false;
		}
		c->owned[k] = malloc(t->bytes ? t->bytes : 1);
		if (!c->owned[k]) {
			srv_reply_error(resp, 503, "no_memory", "out of memory for input '%s'", name);
			return false;
		}
		if (!hnd_json_to_tensor(data, t->type, (uint64_t)nn_tensor_count(t), c->owned[k], err,
					sizeof(err))) {
			srv_reply_error(resp, 400, "invalid_input", "input '%s': %s", name, err);
			return false;
		}
		c->in[k] = c->owned[k];
		c->in_size[k] = t->bytes;
	}
	if (bin && bin_off != bin_len) {
		srv_reply_error(
		    resp, 400, "invalid_input",
		    "the binary section has %zu bytes but the inputs declare %zu (binary_data_size)", bin_len,
		    bin_off);
		return false;
	}
	return true;
}

/* Which outputs to answer and whether each is binary; false after replying. */
static bool select_outputs(const pool_model *m, json_t *root, infer_ctx *c, srv_response *resp)
{
	json_t *outs = root ? json_object_get(root, "outputs") : NULL, *spec;
	json_t *bdo =
	    root ? json_object_get(json_object_get(root, "parameters"), "binary_data_output") : NULL;
	bool all_binary = json_is_true(bdo);
	size_t i;
	char names[512];

	if (!outs) {
		c->n_sel = c->n_out;
		for (int k = 0; k < c->n_out; k++) {
			c->sel[k] = k;
			c->sel_binary[k] = all_binary;
		}
		return true;
	}
	if (!json_is_array(outs) || json_array_size(outs) > (size_t)HND_MAX_TENSORS) {
		srv_reply_error(resp, 400, "bad_request", "\"outputs\" must be an array of {\"name\": ...}");
		return false;
	}
	json_array_foreach(outs, i, spec)
	{
		const char *name = json_string_value(json_object_get(spec, "name"));
		json_t *bd = json_object_get(json_object_get(spec, "parameters"), "binary_data");
		int k = name ? find_tensor(m->graph, false, name) : -1;

		if (!name) {
			srv_reply_error(resp, 400, "bad_request", "outputs[%zu] needs a \"name\"", i);
			return false;
		}
		if (k < 0) {
			list_names(m->graph, false, names, sizeof(names));
			srv_reply_error(resp, 400, "invalid_input",
					"model '%s' has no output '%s' (outputs: %s)", m->name, name, names);
			return false;
		}
		c->sel[c->n_sel] = k;
		c->sel_binary[c->n_sel] = bd ? json_is_true(bd) : all_binary;
		c->n_sel++;
	}
	return true;
}

void hnd_v2_infer(const srv_request *req, srv_response *resp)
{
	double t0 = srv_now_ms();
	pool_model *m = hnd_get_model(req, resp, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
	const char *hdr = srv_header(req, "Inference-Header-Content-Length");
	infer_ctx *c = NULL;
	json_t *root = NULL, *answer = NULL, *outputs;
	size_t json_len = req->body_len, bin_len = 0, bin_total = 0;
	const uint8_t *bin = NULL;
	pool_timing timing = {0};
	nn_err err = {0};
	pool_status st;
	char ver[32];

	if (!m)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		srv_reply_error(resp, 503, "no_memory", "out of memory");
		goto out;
	}
	c->n_in = nn_graph_n_inputs(m->graph);
	c->n_out = nn_graph_n_outputs(m->graph);
	if (c->n_in > HND_MAX_TENSORS || c->n_out > HND_MAX_TENSORS) {
		srv_reply_error(resp, 400, "unsupported", "model '%s' has more than %d inputs or outputs",
				m->name, HND_MAX_TENSORS);
		goto out;
	}
	if (hdr) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(hdr, &end, 10);
		if (errno || end == hdr || *end || *hdr == '-' || n > req->body_len) {
			srv_reply_error(
			    resp, 400, "bad_request",
			    "Inference-Header-Content-Length '%s' is not a length within the %zu-byte body",
			    hdr, req->body_len);
			goto out;
		}
		json_len = (size_t)n;
		bin = req->body + n;
		bin_len = req->body_len - n;
	}
	if (hdr && json_len == 0) {
		/* the whole body is the single input's raw bytes */
		const nn_tensor *t = nn_graph_input(m->graph, 0);
		char a[96];

		if (c->n_in != 1) {
			srv_reply_error(resp, 400, "invalid_input",
					"a raw body (Inference-Header-Content-Length: 0) needs a model with "
					"one input; '%s' "
					"has %d",
					m->name, c->n_in);
			goto out;
		}
		if (bin_len != t->bytes) {
			shape_str(t->dims, t->rank, a, sizeof(a));
			srv_reply_error(resp, 400, "invalid_input",
					"raw body has %zu bytes; input %s %s of %s needs %zu", bin_len,
					t->name && *t->name ? t->name : "input_0", a, nn_dtype_name(t->type),
					t->bytes);
			goto out;
		}
		c->in[0] = bin;
		c->in_size[0] = bin_len;
	} else {
		if (!(root = hnd_parse_json(req->body, json_len, resp)))
			goto out;
		if (!json_is_object(root)) {
			srv_reply_error(resp, 400, "bad_request",
					"the request must be a JSON object with \"inputs\"");
			goto out;
		}
		if (!parse_inputs(m, root, bin, bin_len, c, resp))
			goto out;
	}
	if (!select_outputs(m, root, c, resp))
		goto out;

	st = pool_infer_raw(m, c->in, c->in_size, c->n_in, c->out, c->out_size, &c->n_out, &timing, &err);
	if (st != POOL_OK) {
		if (st == POOL_UNSUPPORTED)
			srv_reply_error(resp, 400, "unsupported", "%s",
					err.msg[0] ? err.msg : "inference not supported");
		else
			hnd_reply_pool_error(resp, st, &err, "inference failed");
		goto out;
	}

	outputs = json_array();
	snprintf(ver, sizeof(ver), "%lld", (long long)m->version);
	answer = json_pack("{s:s,s:s,s:o}", "model_name", m->name, "model_version", ver, "outputs", outputs);
	if (json_is_string(json_object_get(root, "id")))
		json_object_set(answer, "id", json_object_get(root, "id"));
	for (int s = 0; s < c->n_sel; s++) {
		int k = c->sel[s];
		const nn_tensor *t = nn_graph_output(m->graph, k);
		size_t es = nn_dtype_size(t->type);
		json_t *o, *shape = json_array();
		const char *dt = hnd_kserve_dtype(t->type);

		if (k >= c->n_out || !c->out[k] ||
		    (es && c->out_size[k] != (size_t)nn_tensor_count(t) * es)) {
			srv_reply_error(resp, 500, "internal",
					"output %d came back with %zu bytes, expected %zu", k,
					k < c->n_out ? c->out_size[k] : 0, t->bytes);
			goto out;
		}
		for (int d = 0; d < t->rank; d++)
			json_array_append_new(shape, json_integer(t->dims[d]));
		{
			char nb[32];
			o = json_pack("{s:s,s:s,s:o}", "name", hnd_tensor_name(t, false, k, nb, sizeof(nb)),
				      "datatype", dt ? dt : nn_dtype_name(t->type), "shape", shape);
		}
		if (c->sel_binary[s] || !dt || t->type == NN_STRING) {
			json_object_set_new(
			    o, "parameters",
			    json_pack("{s:I}", "binary_data_size", (json_int_t)c->out_size[k]));
			c->sel_binary[s] = true;
			bin_total += c->out_size[k];
		} else {
			json_object_set_new(
			    o, "data",
			    hnd_tensor_to_json_flat(c->out[k], t->type, (uint64_t)nn_tensor_count(t)));
		}
		json_array_append_new(outputs, o);
	}
	srv_metrics_observe(&timing, hnd_ms_since(t0));
	if (bin_total == 0) {
		srv_reply_json(resp, 200, answer);
		answer = NULL;
	} else {
		char *js = json_dumps(answer, JSON_COMPACT | JSON_REAL_PRECISION(9));
		size_t jl = js ? strlen(js) : 0, off;
		uint8_t *body = js ? malloc(jl + bin_total) : NULL;
		char hl[32];

		if (!body) {
			free(js);
			srv_reply_error(resp, 503, "no_memory", "out of memory for the response");
			goto out;
		}
		memcpy(body, js, jl);
		free(js);
		off = jl;
		for (int s = 0; s < c->n_sel; s++) {
			if (!c->sel_binary[s])
				continue;
			memcpy(body + off, c->out[c->sel[s]], c->out_size[c->sel[s]]);
			off += c->out_size[c->sel[s]];
		}
		free(resp->body);
		resp->status = 200;
		resp->content_type = "application/octet-stream";
		resp->body = body;
		resp->body_len = off;
		snprintf(hl, sizeof(hl), "%zu", jl);
		srv_add_header(resp, "Inference-Header-Content-Length", hl);
	}
out:
	json_decref(answer);
	json_decref(root);
	if (c)
		infer_free(c);
	free(c);
	pool_put(m);
}
