/* live_server.h - a real `liteserve serve` process for the suites that test
 * it from outside (test_http, test_corpus_http, test_faults_server,
 * test_k_smartreply).
 *
 * DESIGN: one implementation for every live-server suite instead of a copy
 * per suite: a temporary repository (symlinks into ../shared/models, or
 * model bytes a test wrote), the binary started with --port 0 (the bound
 * port is read from its "listening on" line, so there is no race for a free
 * port), PR_SET_PDEATHSIG so a failed assertion does not leave a server
 * behind (plus ls_kill_current for atexit), libcurl for requests with the
 * response headers kept for ls_resp_header.  A suite calls
 * curl_global_init itself and registers atexit(ls_kill_current).
 */
#ifndef LITESERVE_TESTS_LIVE_SERVER_H
#define LITESERVE_TESTS_LIVE_SERVER_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

#define LS_FLOAT_MODEL "mobilenet_v1_0.25_224"
#define LS_FLOAT_LABELS "imagenet_labels_1001.txt"

void ls_sleep_ms(int ms);
double ls_now_ms(void);

/* DIR/../.. of the test sources + rel: the checkout's own files (labels,
 * corpus).  Static buffer, valid until the next call. */
const char *ls_source_path(const char *rel);

/* The whole file NUL-terminated (free it), or NULL. */
char *ls_read_text(const char *path);

/* shared/REL read whole (free it); NULL with a loud SKIP (failure under CI)
 * when shared/ is absent; fails the test when the file cannot be read. */
uint8_t *ls_shared_file(const char *rel, size_t *n);

typedef struct ls_server {
	pid_t pid;
	int port;
	char dir[64]; /* the temporary repository */
	char log[96]; /* its stderr */
} ls_server;

/* The server started last and not yet stopped: ls_kill_current kills it
 * (atexit, when an assertion fails first).  A test that reaps the process
 * itself clears it. */
extern ls_server *ls_current;
void ls_kill_current(void);

/* A new empty repository in /tmp; the log path beside it. */
void ls_repo_init(ls_server *s);

/* Adds ../shared/models/NAME.tflite as DIR/NAME/1/model.tflite (+ labels
 * from models/labels/ as DIR/NAME/labels.txt when labels is not NULL).
 * False (loud SKIP, or failure under CI) when absent. */
bool ls_repo_add(ls_server *s, const char *name, const char *labels);

/* The same, and also false (with a loud SKIP) when `liteserve inspect`
 * says the model is not runnable with the kernels we have yet. */
bool ls_repo_add_runnable(ls_server *s, const char *name, const char *labels);

/* True when `liteserve inspect PATH` reports the model runnable. */
bool ls_model_runnable(const char *path);

/* Writes n bytes as DIR/NAME/1/model.tflite (a model a test built). */
void ls_repo_add_bytes(ls_server *s, const char *name, const void *bytes, size_t n);

/* Removes the repository and the log. */
void ls_repo_remove(ls_server *s);

typedef struct ls_resp {
	long status;
	char *body;
	size_t len;
	char headers[8192]; /* raw header lines, as received (truncated if longer) */
	size_t hlen;
	json_t *json; /* the body parsed when it starts with '{' or '[' */
} ls_resp;

void ls_resp_free(ls_resp *r);

/* Value of response header name (case-insensitive) copied into buf, or NULL. */
const char *ls_resp_header(const ls_resp *r, const char *name, char *buf, size_t len);

/* An easy handle for one request (for curl_multi): headers NULL-terminated
 * with "Expect:" added, body NULL = no body (GET unless method says
 * otherwise); *list is freed by the caller after the transfer.  r must be
 * zeroed; ls_finish fills status and json once the transfer is done. */
CURL *ls_easy(const ls_server *s, const char *method, const char *path, const char *const *hdrs,
	      const void *body, long len, ls_resp *r, struct curl_slist **list);
void ls_finish(CURL *c, ls_resp *r);

/* One request on a fresh connection; returns the CURLcode (0 = an answer
 * came).  Paths are sent as they are ("/../" reaches the server). */
int ls_http(const ls_server *s, const char *method, const char *path, const char *const *hdrs,
	    const void *body, long len, ls_resp *r);

/* Status of a GET, -1 when no answer came. */
long ls_get_status(const ls_server *s, const char *path);

/* The server survived the previous request: /v2/health/live answers 200. */
void ls_assert_live(const ls_server *s);

/* r is the JSON error envelope {"error", "code"} with this status; code and
 * msg_part (a substring of the message) are checked when not NULL. */
void ls_assert_error(const ls_resp *r, long status, const char *code, const char *msg_part);

/* Waits (up to 5 s) for needle in the server log: lines are written when a
 * request completes, which may be just after the client got its answer. */
bool ls_log_has(const ls_server *s, const char *needle);

/* Starts liteserve serve on s->dir with --port 0 and extra args; waits for
 * the port and, if wait_ready, for /v2/health/ready. */
void ls_start(ls_server *s, const char *const *args, bool wait_ready);

/* Waits up to timeout_ms for the process to exit; returns its wait status
 * or -1 if it is still running. */
int ls_wait_exit(ls_server *s, double timeout_ms);

/* SIGTERM; the server must exit 0 within 60 s.  Removes repository and log. */
void ls_stop(ls_server *s);

#endif
