/* task.c - the task endpoint: POST /v1/models/{name}[/versions/{v}]/predict.
 *
 * DESIGN: a picture (or, for smart reply, a text) in; the task's answer out,
 * with the server doing decode, resize and normalisation (models/).  Bodies:
 *   image/jpeg, image/png        the picture itself
 *   application/octet-stream     the picture, format sniffed from its bytes
 *   multipart/form-data          field "image" (a browser form or curl -F)
 *   text/plain                   smart reply: the text
 *   application/json             smart reply: {"text": "..."}
 * The media type is checked against the model's task before anything is
 * decoded: a text to an image model (or the reverse) is 415, a model with no
 * task (raw tensors only) is 400 pointing to the tensor endpoints.
 * Query: top_k, threshold, max_results, max_poses, output (json|png|overlay).
 * The answer is the task's result (predictions, image size...) wrapped with
 * model, version, task and latency_ms per stage; output=png|overlay on a
 * segmentation model answers the PNG itself.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "metrics.h"
#include "multipart.h"

static const char *sniff_image(const uint8_t *d, size_t n)
{
	if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
		return "image/jpeg";
	if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	return NULL;
}

static bool query_int(const srv_request *req, srv_response *resp, const char *key, int lo, int hi, int *out)
{
	const char *s = srv_query(req, key);
	char *end;
	long v;

	if (!s)
		return true;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		srv_reply_error(resp, 400, "bad_request",
				"query parameter %s='%s' must be an integer in %d..%d", key, s, lo, hi);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool parse_params(const srv_request *req, srv_response *resp, const pool_model *m, pool_task_params *p)
{
	const char *s;

	p->top_k = 5; /* pool.h: "classification: default 5" */
	p->threshold = -1.0f;
	p->max_results = 0;
	p->max_poses = 0;
	p->output = NULL;
	if (!query_int(req, resp, "top_k", 1, 100000, &p->top_k) ||
	    !query_int(req, resp, "max_results", 1, 10000, &p->max_results) ||
	    !query_int(req, resp, "max_poses", 1, 1000, &p->max_poses))
		return false;
	if ((s = srv_query(req, "threshold"))) {
		char *end;
		double v;
		errno = 0;
		v = strtod(s, &end);
		if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0)) {
			srv_reply_error(resp, 400, "bad_request",
					"query parameter threshold='%s' must be a number in 0..1", s);
			return false;
		}
		p->threshold = (float)v;
	}
	if ((s = srv_query(req, "output"))) {
		if (strcmp(s, "json") != 0 && strcmp(s, "png") != 0 && strcmp(s, "overlay") != 0) {
			srv_reply_error(resp, 400, "bad_request",
					"query parameter output='%s' must be json, png or overlay", s);
			return false;
		}
		if (strcmp(s, "json") != 0 && m->task != POOL_TASK_SEGMENTATION) {
			srv_reply_error(resp, 400, "bad_request",
					"output=%s is only for segmentation models; '%s' is %s", s, m->name,
					pool_task_name(m->task));
			return false;
		}
		p->output = s;
	}
	return true;
}

/* The bytes to predict on and their media type, from the request body;
 * false after replying. */
static bool request_payload(const srv_request *req, srv_response *resp, const pool_model *m,
			    const uint8_t **data, size_t *len, const char **ctype, json_t **json_keep)
{
	const char *ct = req->content_type;
	bool text_task = m->task == POOL_TASK_SMART_REPLY;

	if (!ct) {
		srv_reply_error(resp, 415, "unsupported_media_type", "missing Content-Type; send %s",
				text_task ? "text/plain or application/json {\"text\": ...}"
					  : "image/jpeg, image/png or multipart/form-data");
		return false;
	}
	if (text_task) {
		if (hnd_media_type_is(ct, "text/plain")) {
			*data = req->body;
			*len = req->body_len;
			*ctype = "text/plain";
			return true;
		}
		if (hnd_media_type_is(ct, "application/json")) {
			json_t *root = hnd_parse_json(req->body, req->body_len, resp), *t;
			if (!root)
				return false;
			t = json_object_get(root, "text");
			if (!json_is_string(t)) {
				json_decref(root);
				srv_reply_error(resp, 400, "bad_request", "expected {\"text\": \"...\"}");
				return false;
			}
			*data = (const uint8_t *)json_string_value(t);
			*len = json_string_length(t);
			*ctype = "text/plain";
			*json_keep = root;
			return true;
		}
		srv_reply_error(
		    resp, 415, "unsupported_media_type",
		    "model '%s' (smart_reply) takes text/plain or application/json {\"text\": ...}, not %s",
		    m->name, ct);
		return false;
	}
	if (hnd_media_type_is(ct, "image/jpeg") || hnd_media_type_is(ct, "image/png")) {
		*data = req->body;
		*len = req->body_len;
		*ctype = hnd_media_type_is(ct, "image/png") ? "image/png" : "image/jpeg";
		return true;
	}
	if (hnd_media_type_is(ct, "application/octet-stream")) {
		*data = req->body;
		*len = req->body_len;
		*ctype = sniff_image(req->body, req->body_len);
		if (!*ctype) {
			srv_reply_error(resp, 415, "unsupported_media_type",
					"the application/octet-stream body is not a JPEG or PNG image");
			return false;
		}
		return true;
	}
	if (hnd_media_type_is(ct, "multipart/form-data")) {
		mp_part part;
		char err[256];
		mp_status ms = mp_find(req->body, req->body_len, ct, "image", &part, err, sizeof(err));

		if (ms != MP_OK) {
			srv_reply_error(resp, 400, "bad_request", "%s", err);
			return false;
		}
		*data = part.data;
		*len = part.len;
		if (hnd_media_type_is(part.content_type, "image/jpeg") ||
		    hnd_media_type_is(part.content_type, "image/png"))
			*ctype =
			    hnd_media_type_is(part.content_type, "image/png") ? "image/png" : "image/jpeg";
		else
			*ctype = sniff_image(part.data, part.len);
		if (!*ctype) {
			srv_reply_error(resp, 415, "unsupported_media_type",
					"multipart field 'image' (%s) is not a JPEG or PNG image",
					part.content_type[0] ? part.content_type : "no Content-Type");
			return false;
		}
		return true;
	}
	srv_reply_error(
	    resp, 415, "unsupported_media_type",
	    "model '%s' (%s) takes image/jpeg, image/png, application/octet-stream or multipart/form-data "
	    "(field 'image'), not %s",
	    m->name, pool_task_name(m->task), ct);
	return false;
}

void hnd_task_predict(const srv_request *req, srv_response *resp)
{
	double t0 = srv_now_ms();
	pool_model *m = hnd_get_model(req, resp, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
	pool_task_params params;
	const uint8_t *data = NULL;
	size_t len = 0, png_len = 0;
	const char *ctype = NULL;
	json_t *keep = NULL, *result = NULL, *answer;
	uint8_t *png = NULL;
	pool_timing timing = {0};
	nn_err err = {0};
	pool_status st;
	double total;

	if (!m)
		return;
	if (m->task == POOL_TASK_TENSOR) {
		srv_reply_error(resp, 400, "no_task",
				"model '%s' has no task (raw tensors only): use POST /v2/models/%s/infer or "
				"/v1/models/%s:predict",
				m->name, m->name, m->name);
		goto out;
	}
	if (!parse_params(req, resp, m, &params))
		goto out;
	if (!request_payload(req, resp, m, &data, &len, &ctype, &keep))
		goto out;
	if (len == 0) {
		srv_reply_error(resp, 400, "bad_request", "the %s is empty",
				ctype && !strncmp(ctype, "text", 4) ? "text" : "image");
		goto out;
	}
	st = pool_predict(m, data, len, ctype, &params, &result, &png, &png_len, &timing, &err);
	total = hnd_ms_since(t0);
	if (st != POOL_OK) {
		json_decref(result);
		result = NULL;
		free(png);
		png = NULL;
		hnd_reply_pool_error(resp, st, &err, "prediction failed");
		goto out;
	}
	srv_metrics_observe(&timing, total);
	if (png) {
		char hv[64];
		srv_reply_bytes(resp, 200, "image/png", png, png_len);
		snprintf(hv, sizeof(hv), "%.3f", total);
		srv_add_header(resp, "X-Latency-Ms", hv);
		goto out;
	}
	answer = json_pack("{s:s,s:s,s:s}", "model", m->name, "version", resp->version, "task",
			   pool_task_name(m->task));
	if (json_is_object(result))
		json_object_update_missing(answer, result);
	else if (result)
		json_object_set(answer, "predictions", result);
	json_object_set_new(answer, "latency_ms", hnd_latency_json(&timing, total));
	srv_reply_json(resp, 200, answer);
out:
	free(png);
	json_decref(result);
	json_decref(keep);
	pool_put(m);
}
