/* health.c - KServe v2 server metadata, liveness and readiness.
 *
 * DESIGN: live = the process answers HTTP (always 200 while it runs, also
 * while draining: restarting a draining server would cut its in-flight
 * requests).  ready = worth sending traffic to: startup loading done, not
 * draining, every model of the repository READY (except those unloaded on
 * request).  A 503 names the first reason, so `curl /v2/health/ready` tells
 * an operator which model is broken.
 */
#include "handlers.h"

void hnd_v2_server_metadata(const srv_request *req, srv_response *resp)
{
	srv_reply_json(resp, 200,
		       json_pack("{s:s,s:s,s:[s,s]}", "name", SRV_NAME, "version", SRV_VERSION, "extensions",
				 "binary_tensor_data", "model_repository"));
}

void hnd_v2_live(const srv_request *req, srv_response *resp)
{
	srv_reply_json(resp, 200, json_pack("{s:b}", "live", 1));
}

void hnd_v2_ready(const srv_request *req, srv_response *resp)
{
	char why[512];

	if (srv_app_ready(req->app, why, sizeof(why))) {
		srv_reply_json(resp, 200, json_pack("{s:b}", "ready", 1));
		return;
	}
	srv_reply_json(resp, 503, json_pack("{s:b,s:s,s:s}", "ready", 0, "error", why, "code", "not_ready"));
	resp->error_code = "not_ready";
}
