/* live_server.h - a real `liteserve serve` process for the corpus and fault
 * suites (test_corpus_http.c, test_faults_server.c).
 *
 * DESIGN: the same approach as test_http.c, kept in one header so the two
 * newer suites share it instead of growing a third copy: a temporary
 * repository of symlinks into ../shared/models, the binary started with
 * --port 0 (the bound port is read from its "listening on" line, so there
 * is no race for a free port), PR_SET_PDEATHSIG so a failed assertion does
 * not leave a server behind, libcurl for requests.  Everything is static:
 * each suite is one translation unit, which defines _GNU_SOURCE (nftw)
 * before including it.
 */
#ifndef LITESERVE_TESTS_LIVE_SERVER_H
#define LITESERVE_TESTS_LIVE_SERVER_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define LS_FLOAT_MODEL "mobilenet_v1_0.25_224"
#define LS_FLOAT_LABELS "imagenet_labels_1001.txt"

static void ls_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static double ls_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* DIR/../.. of this header + rel: the checkout's own files (labels, corpus). */
static const char *ls_source_path(const char *rel)
{
	static char buf[4096];
	const char *f = __FILE__, *slash = strrchr(f, '/');

	snprintf(buf, sizeof(buf), "%.*s/../../%s", slash ? (int)(slash - f) : 1, slash ? f : ".", rel);
	return buf;
}

static char *ls_read_text(const char *path)
{
	size_t n = 0;
	uint8_t *b = ts_read_file(path, &n);

	if (!b)
		return NULL;
	b[n] = 0;
	return (char *)b;
}

static int ls_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

typedef struct ls_server {
	pid_t pid;
	int port;
	char dir[64];  /* the temporary repository */
	char log[96];  /* its stderr */
} ls_server;

static ls_server *ls_current; /* killed at exit when an assertion fails first */

static void ls_kill_current(void)
{
	if (ls_current && ls_current->pid > 0) {
		kill(ls_current->pid, SIGKILL);
		waitpid(ls_current->pid, NULL, 0);
		ls_current->pid = 0;
	}
}

static void ls_repo_init(ls_server *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/liteserve-live-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->log, sizeof(s->log), "%s.log", s->dir);
}

/* Adds ../shared/models/NAME.tflite as DIR/NAME/1/model.tflite (+ labels
 * from models/labels/).  False (loud SKIP, or failure under CI) when absent. */
static bool ls_repo_add(ls_server *s, const char *name, const char *labels)
{
	char rel[256], path[4096], target[4096];
	const char *shared;

	snprintf(rel, sizeof(rel), "models/%s.tflite", name);
	shared = ts_require_shared(rel);
	if (!shared)
		return false;
	snprintf(target, sizeof(target), "%s", shared);
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/1", s->dir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/1/model.tflite", s->dir, name);
	ck_assert_int_eq(symlink(target, path), 0);
	if (labels) {
		char lab[4096];
		snprintf(lab, sizeof(lab), "%s", ls_source_path("models/labels"));
		snprintf(lab + strlen(lab), sizeof(lab) - strlen(lab), "/%s", labels);
		snprintf(path, sizeof(path), "%s/%s/labels.txt", s->dir, name);
		ck_assert_int_eq(symlink(lab, path), 0);
	}
	return true;
}

static void ls_repo_remove(ls_server *s)
{
	nftw(s->dir, ls_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unlink(s->log);
}

typedef struct ls_resp {
	long status;
	char *body;
	size_t len;
	json_t *json;
} ls_resp;

static size_t ls_on_body(char *p, size_t sz, size_t n, void *ud)
{
	ls_resp *r = ud;
	char *nb = realloc(r->body, r->len + sz * n + 1);

	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = 0;
	return sz * n;
}

static void ls_resp_free(ls_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* One request on a fresh connection; headers NULL-terminated; body NULL =
 * no body (GET unless method says otherwise).  Returns the CURLcode. */
static int ls_http(const ls_server *s, const char *method, const char *path, const char *const *hdrs,
		   const void *body, long len, ls_resp *r)
{
	struct curl_slist *list = curl_slist_append(NULL, "Expect:");
	CURL *c = curl_easy_init();
	char url[4096];
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* "/../" must reach the server as sent: the corpus tests the server's
	 * handling of it, not curl's */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ls_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	for (int i = 0; hdrs && hdrs[i]; i++)
		list = curl_slist_append(list, hdrs[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (strcmp(method, body ? "POST" : "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->body && r->len && (r->body[0] == '{' || r->body[0] == '['))
			r->json = json_loads(r->body, 0, NULL);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(list);
	return (int)rc;
}

static long ls_get_status(const ls_server *s, const char *path)
{
	ls_resp r;
	long st = ls_http(s, "GET", path, NULL, NULL, 0, &r) == 0 ? r.status : -1;

	ls_resp_free(&r);
	return st;
}

/* Starts liteserve serve on s->dir with --port 0 and extra args; waits for
 * the port and, if wait_ready, for /v2/health/ready. */
static void ls_start(ls_server *s, const char *const *args, bool wait_ready)
{
	char *argv[64];
	int n = 0;
	double t0;

	argv[n++] = (char *)ts_liteserve_bin();
	argv[n++] = "serve";
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--model-repository";
	argv[n++] = s->dir;
	for (int i = 0; args && args[i] && n < 62; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	s->port = 0;
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	ls_current = s;
	t0 = ls_now_ms();
	while (!s->port && ls_now_ms() - t0 < 30000) {
		static const char key[] = "listening on http://127.0.0.1:";
		char *log = ls_read_text(s->log), *p;
		int status;

		if (log && (p = strstr(log, key)))
			s->port = atoi(p + strlen(key));
		free(log);
		if (!s->port && waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			ck_abort_msg("liteserve serve exited at startup (log %s)", s->log);
		}
		if (!s->port)
			ls_sleep_ms(20);
	}
	ck_assert_msg(s->port > 0, "no 'listening on' line in %s", s->log);
	if (!wait_ready)
		return;
	t0 = ls_now_ms();
	while (ls_get_status(s, "/v2/health/ready") != 200) {
		ck_assert_msg(ls_now_ms() - t0 < 120000, "server not ready after 120 s (log %s)", s->log);
		ls_sleep_ms(20);
	}
}

/* Waits up to timeout_ms for the process to exit; returns its wait status
 * or -1 if it is still running. */
static int ls_wait_exit(ls_server *s, double timeout_ms)
{
	double t0 = ls_now_ms();
	int status = 0;
	pid_t w;

	while ((w = waitpid(s->pid, &status, WNOHANG)) == 0 && ls_now_ms() - t0 < timeout_ms)
		ls_sleep_ms(10);
	if (w != s->pid)
		return -1;
	s->pid = 0;
	ls_current = NULL;
	return status;
}

/* SIGTERM; the server must exit 0 within 60 s.  Removes repository and log. */
static void ls_stop(ls_server *s)
{
	int status;

	ck_assert_int_gt(s->pid, 0);
	ck_assert_int_eq(kill(s->pid, SIGTERM), 0);
	status = ls_wait_exit(s, 60000);
	ck_assert_msg(status != -1, "liteserve did not exit within 60 s of SIGTERM (log %s)", s->log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "liteserve exited with status 0x%x (log %s)",
		      status, s->log);
	ls_repo_remove(s);
}

#endif
