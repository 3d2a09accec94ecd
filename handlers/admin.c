/* admin.c - KServe model repository extension: index, load, unload.
 *
 * DESIGN: thin wrappers over the pool, which does the work atomically (a
 * reload prepares the new version before swapping it in; an unload lets
 * requests holding a reference finish).  The server remembers what was
 * unloaded on request so that readiness does not wait for it.  A load that
 * fails answers with the engine's reason and the status of its nn_status
 * (bad or unsupported model: 422), and leaves the previous version serving.
 */
#include <stdio.h>
#include <string.h>

#include "handlers.h"

void hnd_repo_index(const srv_request *req, srv_response *resp)
{
	json_t *index, *filtered, *e;
	bool only_ready = false;
	size_t i;

	if (req->body_len > 0) {
		json_t *root = hnd_parse_json(req->body, req->body_len, resp), *r;
		if (!root)
			return;
		r = json_object_get(root, "ready");
		if (!json_is_object(root) || (r && !json_is_boolean(r))) {
			json_decref(root);
			srv_reply_error(resp, 400, "bad_request", "expected {} or {\"ready\": true|false}");
			return;
		}
		only_ready = json_is_true(r);
		json_decref(root);
	}
	index = pool_index(req->app->pool);
	if (!only_ready) {
		srv_reply_json(resp, 200, index);
		return;
	}
	filtered = json_array();
	json_array_foreach(index, i, e)
	{
		const char *state = json_string_value(json_object_get(e, "state"));
		if (state && !strcmp(state, "READY"))
			json_array_append(filtered, e);
	}
	json_decref(index);
	srv_reply_json(resp, 200, filtered);
}

static void reply_load_error(srv_response *resp, pool_status st, const nn_err *err, const char *name,
			     const char *what)
{
	if (st == POOL_FAILED && err->code != NN_OK) {
		srv_reply_error(resp, srv_http_status(err->code), srv_error_code(err->code),
				"%s '%s' failed: %s", what, name, err->msg);
		return;
	}
	if (st == POOL_NOT_FOUND) {
		srv_reply_error(resp, 404, "model_not_found", "model '%s' is not in the repository%s%s", name,
				err->msg[0] ? ": " : "", err->msg);
		return;
	}
	hnd_reply_pool_error(resp, st, err, what);
}

void hnd_repo_load(const srv_request *req, srv_response *resp)
{
	const char *name = req->params[0];
	nn_err err = {0};
	pool_status st;
	pool_model *m;
	char v[32] = "";

	snprintf(resp->model, sizeof(resp->model), "%s", name);
	st = pool_load(req->app->pool, name, &err);
	if (st != POOL_OK) {
		reply_load_error(resp, st, &err, name, "loading");
		return;
	}
	srv_app_set_unloaded(req->app, name, false);
	m = pool_get(req->app->pool, name, 0, &st);
	if (m) {
		snprintf(v, sizeof(v), "%lld", (long long)m->version);
		snprintf(resp->version, sizeof(resp->version), "%s", v);
		pool_put(m);
	}
	srv_log(SRV_LOG_INFO, "model %s%s%s loaded on request", name, *v ? " version " : "", v);
	srv_reply_json(resp, 200, json_pack("{s:s,s:s,s:s}", "name", name, "version", v, "state", "READY"));
}

void hnd_repo_unload(const srv_request *req, srv_response *resp)
{
	const char *name = req->params[0];
	nn_err err = {0};
	pool_status st;

	snprintf(resp->model, sizeof(resp->model), "%s", name);
	st = pool_unload(req->app->pool, name, &err);
	if (st != POOL_OK && st != POOL_NOT_READY) { /* unloading an unloaded model is a no-op */
		reply_load_error(resp, st, &err, name, "unloading");
		return;
	}
	srv_app_set_unloaded(req->app, name, true);
	srv_log(SRV_LOG_INFO, "model %s unloaded on request", name);
	srv_reply_json(resp, 200, json_pack("{s:s,s:s}", "name", name, "state", "UNAVAILABLE"));
}
