/* http.c - what handlers use of the HTTP layer (see http.h): request
 * lookups, response builders, the status mapping and route matching.
 *
 * DESIGN: nothing here touches a socket except srv_query/srv_header, which
 * read libmicrohttpd's parsed request through the connection kept in
 * srv_request.conn_.  Responses are plain data (srv_response) that
 * server.c turns into an MHD response after the handler returns.  Every
 * builder frees a body set before, so a handler that changes its mind
 * (e.g. an error after a partial answer) cannot leak.  srv_dispatch is the
 * route table walk with its 404/405 answers, callable without a connection
 * (the lookups then read srv_request's key/value pairs): fuzz_http drives
 * the real handlers through it.
 */
#include "http.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Query keys compare exactly, header names without case, as MHD does. */
static const char *lookup_pairs(const char *const (*kv)[2], int n, const char *key, bool nocase)
{
	for (int i = 0; i < n; i++)
		if (kv[i][0] && (nocase ? !strcasecmp(kv[i][0], key) : !strcmp(kv[i][0], key)))
			return kv[i][1];
	return NULL;
}

const char *srv_query(const srv_request *r, const char *key)
{
	if (!r->conn_)
		return lookup_pairs(r->query, r->n_query, key, false);
	return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_GET_ARGUMENT_KIND, key);
}

const char *srv_header(const srv_request *r, const char *name)
{
	if (!r->conn_)
		return lookup_pairs(r->headers, r->n_headers, name, true);
	return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_HEADER_KIND, name);
}

static void set_body(srv_response *resp, int status, const char *content_type, uint8_t *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = len;
}

void srv_reply_json(srv_response *resp, int status, json_t *json)
{
	/* 9 significant digits round-trip every float32, which is what tensors
	 * and latencies hold; 17 would only make bodies bigger. */
	char *s = json ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;

	json_decref(json);
	if (!s) {
		srv_reply_error(resp, 500, "internal", "could not serialise the response");
		return;
	}
	set_body(resp, status, "application/json", (uint8_t *)s, strlen(s));
	if (status < 400)
		resp->error_code = NULL;
}

void srv_reply_error(srv_response *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	json_t *o, *m;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object();
	/* json_string refuses invalid UTF-8 (a message may quote request bytes). */
	m = json_string(msg);
	json_object_set_new(o, "error", m ? m : json_string("(message is not valid UTF-8)"));
	json_object_set_new(o, "code", json_string(code));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s) {
		static const char fallback[] = "{\"error\":\"out of memory\",\"code\":\"internal\"}";
		s = malloc(sizeof(fallback));
		if (s)
			memcpy(s, fallback, sizeof(fallback));
	}
	set_body(resp, status, "application/json", (uint8_t *)s, s ? strlen(s) : 0);
	resp->error_code = code;
}

void srv_reply_bytes(srv_response *resp, int status, const char *content_type, const void *data, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	if (!b) {
		srv_reply_error(resp, 500, "internal", "out of memory (%zu bytes)", len);
		return;
	}
	if (len)
		memcpy(b, data, len);
	set_body(resp, status, content_type, b, len);
}

void srv_add_header(srv_response *resp, const char *name, const char *value)
{
	for (int i = 0; i < resp->n_headers; i++) {
		if (!strcasecmp(resp->header_names[i], name)) {
			snprintf(resp->header_values[i], sizeof(resp->header_values[i]), "%s", value);
			return;
		}
	}
	if (resp->n_headers >= SRV_MAX_EXTRA_HEADERS)
		return; /* a programming error; never more than a couple per handler */
	snprintf(resp->header_names[resp->n_headers], sizeof(resp->header_names[0]), "%s", name);
	snprintf(resp->header_values[resp->n_headers], sizeof(resp->header_values[0]), "%s", value);
	resp->n_headers++;
}

int srv_http_status(nn_status st)
{
	switch (st) {
	case NN_OK:
		return 200;
	case NN_ERR_INVALID_ARG:
		return 400; /* the request is wrong */
	case NN_ERR_BAD_MODEL:
		return 422; /* the model file is: the request was understood */
	case NN_ERR_UNSUPPORTED:
		return 422; /* a valid model we cannot run (yet) */
	case NN_ERR_NO_MEMORY:
		return 503; /* transient: try again later */
	case NN_ERR_IO:
		return 500;
	case NN_ERR_RUNTIME:
		return 500;
	case NN_ERR_INTERNAL:
		return 500;
	}
	return 500;
}

const char *srv_error_code(nn_status st)
{
	switch (st) {
	case NN_OK:
		return "ok";
	case NN_ERR_INVALID_ARG:
		return "invalid_argument";
	case NN_ERR_BAD_MODEL:
		return "bad_model";
	case NN_ERR_UNSUPPORTED:
		return "unsupported";
	case NN_ERR_NO_MEMORY:
		return "no_memory";
	case NN_ERR_IO:
		return "io_error";
	case NN_ERR_RUNTIME:
		return "runtime_error";
	case NN_ERR_INTERNAL:
		return "internal";
	}
	return "internal";
}

/* Pattern segments: "lit" (equal), "{x}" (any non-empty segment) or
 * "{x}:verb" (a segment ending in ":verb" with a non-empty part before it,
 * which is captured).  Segment counts must be equal. */
bool srv_route_match(const char *pattern, const char *path, char *buf, size_t buflen, const char **params,
		     int *n_params)
{
	size_t plen = strlen(path);
	const char *pp = pattern;
	char *s;
	int np = 0;

	*n_params = 0;
	if (plen + 1 > buflen || *path != '/' || *pattern != '/')
		return false;
	memcpy(buf, path, plen + 1);
	s = buf + 1;
	pp = pattern + 1;
	for (;;) {
		const char *pend = strchr(pp, '/');
		size_t pl = pend ? (size_t)(pend - pp) : strlen(pp);
		char *send = strchr(s, '/');
		size_t sl = send ? (size_t)(send - s) : strlen(s);

		if (pl > 0 && pp[0] == '{') {
			const char *close = memchr(pp, '}', pl);
			size_t vl;

			if (!close || sl == 0)
				return false;
			vl = pl - (size_t)(close + 1 - pp); /* length of ":verb" after the capture */
			if (vl > 0) {
				if (sl <= vl || memcmp(s + sl - vl, close + 1, vl) != 0)
					return false;
				s[sl - vl] = '\0';
			}
			if (np == SRV_MAX_PARAMS)
				return false;
			params[np++] = s;
		} else if (pl != sl || memcmp(pp, s, pl) != 0) {
			return false;
		}
		if (!pend || !send) {
			if (pend || send)
				return false; /* different segment counts */
			break;
		}
		*send = '\0';
		pp = pend + 1;
		s = send + 1;
	}
	*n_params = np;
	return true;
}

static bool method_matches(const char *route_method, const char *method)
{
	if (!strcmp(route_method, "*") || !strcmp(route_method, method))
		return true;
	return !strcmp(method, "HEAD") && !strcmp(route_method, "GET");
}

void srv_dispatch(srv_request *req, srv_response *resp)
{
	char buf[2048]; /* longer paths match no route: 404 */
	const srv_route *first = NULL;

	for (const srv_route *r = srv_routes; r->pattern; r++) {
		if (first) {
			if (strcmp(r->pattern, first->pattern) != 0)
				continue;
		} else if (srv_route_match(r->pattern, req->path, buf, sizeof(buf), req->params, &req->n_params)) {
			first = r;
		} else {
			continue;
		}
		if (method_matches(r->method, req->method)) {
			r->handler(req, resp);
			if (!resp->body && !resp->status)
				srv_reply_error(resp, 500, "internal", "the handler gave no answer");
			return;
		}
	}
	if (!first) {
		srv_reply_error(resp, 404, "not_found", "no endpoint %s (see docs/openapi.yaml)", req->path);
		return;
	}
	{
		char allow[128] = "";
		size_t n = 0;

		for (const srv_route *r = first; r->pattern; r++) {
			if (strcmp(r->pattern, first->pattern) != 0)
				continue;
			n += (size_t)snprintf(allow + n, n < sizeof(allow) ? sizeof(allow) - n : 0, "%s%s",
					      n ? ", " : "", r->method);
			if (!strcmp(r->method, "GET") && n < sizeof(allow))
				n += (size_t)snprintf(allow + n, sizeof(allow) - n, ", HEAD");
			if (n >= sizeof(allow))
				break;
		}
		srv_reply_error(resp, 405, "method_not_allowed", "%s does not accept %s (allowed: %s)", req->path,
				req->method, allow);
		srv_add_header(resp, "Allow", allow);
	}
}
