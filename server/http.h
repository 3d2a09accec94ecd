/* http.h - the HTTP layer's contract with the handlers.
 *
 * DESIGN: server/ owns sockets (libmicrohttpd, internal thread pool),
 * reads request bodies up to a limit (answering 413 before reading a body
 * whose Content-Length is over it), routes by method and path pattern, and
 * logs and counts every request.  A handler sees only an srv_request (method,
 * path, captured path parameters, query, headers, the whole body) and fills
 * an srv_response; it never touches a socket.  Handlers never see tensors
 * either: they call models/ (pool.h) for that.
 *
 * Ownership: the request and everything it points to are borrowed for the
 * duration of the handler call.  The response owns its body (malloc'd); the
 * server frees it after sending.
 */
#ifndef LITESERVE_SERVER_HTTP_H
#define LITESERVE_SERVER_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SRV_MAX_PARAMS 4

typedef struct srv_app srv_app; /* the running server: config, pool, metrics (server.h) */

typedef struct srv_request {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* URL path, without the query */
	const char *content_type;  /* NULL when absent; parameters (";charset=...") included */
	const uint8_t *body;       /* the whole body (NUL-terminated for convenience); may be NULL */
	size_t body_len;
	int n_params;
	const char *params[SRV_MAX_PARAMS]; /* captured {name} segments, in pattern order */
	srv_app *app;
	void *conn_;               /* private: the MHD connection, for query/header lookup */
	/* Without a connection (conn_ NULL: fuzzers, tests), srv_query and
	 * srv_header read these instead: n_ pairs of key, value. */
	int n_query, n_headers;
	const char *const (*query)[2];
	const char *const (*headers)[2];
} srv_request;

/* Query argument or header value; NULL when absent. */
const char *srv_query(const srv_request *r, const char *key);
const char *srv_header(const srv_request *r, const char *name);

#define SRV_MAX_EXTRA_HEADERS 4
typedef struct srv_response {
	int status;                 /* HTTP status */
	const char *content_type;   /* static string */
	uint8_t *body;              /* owned, malloc'd */
	size_t body_len;
	int n_headers;
	char header_names[SRV_MAX_EXTRA_HEADERS][48];
	char header_values[SRV_MAX_EXTRA_HEADERS][128];
	/* for the access log and metrics (filled by handlers when known) */
	char model[128];
	char version[32];
	const char *error_code;     /* "model_not_found", ... when status >= 400 */
} srv_response;

/* Serialises json (stolen) as the body with status. */
void srv_reply_json(srv_response *resp, int status, json_t *json);
/* {"error": "<message>", "code": "<code>"} with status. */
void srv_reply_error(srv_response *resp, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Raw bytes (copied) with a content type. */
void srv_reply_bytes(srv_response *resp, int status, const char *content_type, const void *data, size_t len);
/* Adds a response header (e.g. Retry-After). */
void srv_add_header(srv_response *resp, const char *name, const char *value);

/* The one mapping from engine status to HTTP status and error code. */
int srv_http_status(nn_status st);
const char *srv_error_code(nn_status st);

typedef void (*srv_handler)(const srv_request *req, srv_response *resp);

/* Routes req (method, path, content type, body, app and the lookups filled)
 * through srv_routes: the first pattern that matches decides; a route of
 * that pattern with req's method (GET also answers HEAD) handles it, else
 * 405 with Allow; no pattern: 404.  Fills req->params. */
void srv_dispatch(srv_request *req, srv_response *resp);

/* A route: method ("GET", "POST", or "*") and a pattern of '/'-separated
 * segments where "{x}" captures a whole segment and "{x}:verb" captures
 * the part before a literal ":verb" suffix (TF Serving's ":predict"). */
typedef struct srv_route {
	const char *method;
	const char *pattern;
	srv_handler handler;
} srv_route;

/* The route table, defined in handlers/routes.c, ended by {NULL, NULL, NULL}. */
extern const srv_route srv_routes[];

/* Matches path against pattern; on success fills params (pointing into
 * buf, which receives a copy of the path) and returns true. */
bool srv_route_match(const char *pattern, const char *path, char *buf, size_t buflen, const char **params,
		     int *n_params);

#endif
