/* common.c - what every endpoint family shares (see handlers.h).
 *
 * DESIGN: the pool_status -> HTTP mapping lives here and only here, as
 * nn_status -> HTTP lives in server/http.c; an endpoint that needs a
 * different answer for one status (e.g. UNSUPPORTED is 415 on the task
 * endpoint but 400 elsewhere) overrides it visibly at the call site.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"

int hnd_pool_http_status(pool_status st)
{
	switch (st) {
	case POOL_OK:
		return 200;
	case POOL_NOT_FOUND:
		return 404;
	case POOL_NOT_READY:
		return 503;
	case POOL_QUEUE_FULL:
		return 503;
	case POOL_BAD_REQUEST:
		return 400;
	case POOL_TOO_LARGE:
		return 413;
	case POOL_UNSUPPORTED:
		return 415;
	case POOL_FAILED:
		return 500;
	case POOL_NO_TASK:
		return 501;
	}
	return 500;
}

const char *hnd_pool_error_code(pool_status st)
{
	switch (st) {
	case POOL_OK:
		return "ok";
	case POOL_NOT_FOUND:
		return "model_not_found";
	case POOL_NOT_READY:
		return "model_not_ready";
	case POOL_QUEUE_FULL:
		return "queue_full";
	case POOL_BAD_REQUEST:
		return "bad_request";
	case POOL_TOO_LARGE:
		return "image_too_large";
	case POOL_UNSUPPORTED:
		return "unsupported_media_type";
	case POOL_FAILED:
		return "inference_failed";
	case POOL_NO_TASK:
		return "task_not_available";
	}
	return "internal";
}

void hnd_reply_pool_error(srv_response *resp, pool_status st, const nn_err *err, const char *fallback)
{
	const char *msg = err && err->msg[0] ? err->msg : fallback;

	srv_reply_error(resp, hnd_pool_http_status(st), hnd_pool_error_code(st), "%s",
			msg ? msg : "request failed");
	if (st == POOL_QUEUE_FULL)
		srv_add_header(resp, "Retry-After", "1");
}

bool hnd_parse_version(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return false;
	*out = v;
	return true;
}

pool_model *hnd_get_model(const srv_request *req, srv_response *resp, const char *name,
			  const char *version_str)
{
	int64_t version = 0;
	pool_status st = POOL_NOT_FOUND;
	pool_model *m;

	snprintf(resp->model, sizeof(resp->model), "%s", name);
	if (version_str) {
		snprintf(resp->version, sizeof(resp->version), "%s", version_str);
		if (!hnd_parse_version(version_str, &version)) {
			srv_reply_error(resp, 400, "bad_request", "version '%s' is not a positive integer",
					version_str);
			return NULL;
		}
	}
	m = pool_get(req->app->pool, name, version, &st);
	if (m) {
		snprintf(resp->version, sizeof(resp->version), "%lld", (long long)m->version);
		return m;
	}
	if (st == POOL_OK)
		st = POOL_NOT_FOUND;
	if (st == POOL_NOT_READY)
		srv_reply_error(resp, 503, hnd_pool_error_code(st),
				"model '%s'%s%s is not ready (not loaded)", name,
				version_str ? " version " : "", version_str ? version_str : "");
	else if (st == POOL_NOT_FOUND)
		srv_reply_error(resp, 404, hnd_pool_error_code(st), "model '%s'%s%s not found", name,
				version_str ? " version " : "", version_str ? version_str : "");
	else
		hnd_reply_pool_error(resp, st, NULL, "model lookup failed");
	return NULL;
}

json_t *hnd_parse_json(const uint8_t *data, size_t len, srv_response *resp)
{
	json_error_t je;
	json_t *v;

	if (!data || len == 0) {
		srv_reply_error(resp, 400, "bad_json",
				"the request body is empty; a JSON object was expected");
		return NULL;
	}
	/* JSON_REJECT_DUPLICATES: {"inputs":..., "inputs":...} is ambiguous */
	v = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		srv_reply_error(resp, 400, "bad_json", "invalid JSON at line %d, column %d: %s", je.line,
				je.column, je.text);
		return NULL;
	}
	return v;
}

bool hnd_media_type_is(const char *ct, const char *mime)
{
	size_t n = strlen(mime);

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, mime, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

const char *hnd_kserve_dtype(nn_dtype t)
{
	switch (t) {
	case NN_BOOL:
		return "BOOL";
	case NN_U8:
		return "UINT8";
	case NN_I8:
		return "INT8";
	case NN_I16:
		return "INT16";
	case NN_I32:
		return "INT32";
	case NN_I64:
		return "INT64";
	case NN_F16:
		return "FP16";
	case NN_F32:
		return "FP32";
	case NN_F64:
		return "FP64";
	case NN_STRING:
		return "BYTES";
	default:
		return NULL;
	}
}

const char *hnd_tf_dtype(nn_dtype t)
{
	switch (t) {
	case NN_BOOL:
		return "DT_BOOL";
	case NN_U8:
		return "DT_UINT8";
	case NN_I8:
		return "DT_INT8";
	case NN_I16:
		return "DT_INT16";
	case NN_I32:
		return "DT_INT32";
	case NN_I64:
		return "DT_INT64";
	case NN_F16:
		return "DT_HALF";
	case NN_F32:
		return "DT_FLOAT";
	case NN_F64:
		return "DT_DOUBLE";
	case NN_STRING:
		return "DT_STRING";
	default:
		return NULL;
	}
}

const char *hnd_tensor_name(const nn_tensor *t, bool input, int i, char *buf, size_t len)
{
	if (t && t->name && *t->name)
		return t->name;
	snprintf(buf, len, "%s_%d", input ? "input" : "output", i);
	return buf;
}

int64_t hnd_index_version(const json_t *entry)
{
	const json_t *v = json_object_get(entry, "version");
	int64_t n = 0;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v) && hnd_parse_version(json_string_value(v), &n))
		return n;
	return 0;
}

/* Milliseconds to the microsecond: finer digits are clock noise. */
static double ms3(double ms)
{
	return round(ms * 1000.0) / 1000.0;
}

json_t *hnd_latency_json(const pool_timing *t, double total_ms)
{
	return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "decode", ms3(t->decode), "preprocess",
			 ms3(t->preprocess), "queue", ms3(t->queue), "inference", ms3(t->inference),
			 "postprocess", ms3(t->postprocess), "total", ms3(total_ms));
}
