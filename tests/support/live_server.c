/* live_server.c - a real `liteserve serve` process for the live suites (see
 * live_server.h). */
#define _GNU_SOURCE /* nftw, PR_SET_PDEATHSIG */
#if __has_include(<curl/curl.h>) /* testsupport links libcurl only when found */
#include "live_server.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

ls_server *ls_current;

void ls_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

double ls_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *ls_source_path(const char *rel)
{
	static char buf[4096];
	const char *f = __FILE__, *slash = strrchr(f, '/');

	snprintf(buf, sizeof(buf), "%.*s/../../%s", slash ? (int)(slash - f) : 1, slash ? f : ".", rel);
	return buf;
}

char *ls_read_text(const char *path)
{
	size_t n = 0;
	uint8_t *b = ts_read_file(path, &n);

	if (!b)
		return NULL;
	b[n] = 0;
	return (char *)b;
}

uint8_t *ls_shared_file(const char *rel, size_t *n)
{
	const char *p = ts_require_shared(rel);
	uint8_t *b;

	if (!p)
		return NULL;
	b = ts_read_file(p, n);
	ck_assert_msg(b != NULL, "cannot read %s", p);
	return b;
}

static int ls_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

void ls_kill_current(void)
{
	if (ls_current && ls_current->pid > 0) {
		kill(ls_current->pid, SIGKILL);
		waitpid(ls_current->pid, NULL, 0);
		ls_current->pid = 0;
	}
}

void ls_repo_init(ls_server *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/liteserve-live-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->log, sizeof(s->log), "%s.log", s->dir);
}

bool ls_model_runnable(const char *path)
{
	char cmd[8192], line[512];
	bool ok = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' inspect '%s' 2>/dev/null", ts_liteserve_bin(), path);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "\"runnable\": true"))
			ok = true;
	pclose(p);
	return ok;
}

/* Creates DIR/NAME/1 and leaves DIR/NAME/1/model.tflite in path. */
static void ls_version_dir(ls_server *s, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", s->dir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, len, "%s/%s/1", s->dir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, len, "%s/%s/1/model.tflite", s->dir, name);
}

static bool ls_repo_add_shared(ls_server *s, const char *name, const char *labels, bool runnable)
{
	char rel[256], path[4096], target[4096];
	const char *shared;

	snprintf(rel, sizeof(rel), "models/%s.tflite", name);
	shared = ts_require_shared(rel);
	if (!shared)
		return false;
	snprintf(target, sizeof(target), "%s", shared);
	if (runnable && !ls_model_runnable(target)) {
		fprintf(stderr, "\n*** SKIP: %s is not runnable yet (liteserve inspect) ***\n\n", name);
		return false;
	}
	ls_version_dir(s, name, path, sizeof(path));
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

bool ls_repo_add(ls_server *s, const char *name, const char *labels)
{
	return ls_repo_add_shared(s, name, labels, false);
}

bool ls_repo_add_runnable(ls_server *s, const char *name, const char *labels)
{
	return ls_repo_add_shared(s, name, labels, true);
}

void ls_repo_add_bytes(ls_server *s, const char *name, const void *bytes, size_t n)
{
	char path[4096];
	FILE *f;

	ls_version_dir(s, name, path, sizeof(path));
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert(fwrite(bytes, 1, n, f) == n);
	ck_assert_int_eq(fclose(f), 0);
}

void ls_repo_remove(ls_server *s)
{
	nftw(s->dir, ls_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unlink(s->log);
}

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

static size_t ls_on_header(char *p, size_t sz, size_t n, void *ud)
{
	ls_resp *r = ud;
	size_t k = sz * n;

	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = 0;
	}
	return k;
}

void ls_resp_free(ls_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *ls_resp_header(const ls_resp *r, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);

	for (const char *l = r->headers; l && *l;) {
		const char *eol = strstr(l, "\r\n");
		size_t ll = eol ? (size_t)(eol - l) : strlen(l);
		if (ll > nl && !strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(buf, len, "%.*s", (int)(ll - (size_t)(v - l)), v);
			return buf;
		}
		l = eol ? eol + 2 : NULL;
	}
	return NULL;
}

CURL *ls_easy(const ls_server *s, const char *method, const char *path, const char *const *hdrs,
	      const void *body, long len, ls_resp *r, struct curl_slist **list)
{
	CURL *c = curl_easy_init();
	char url[4096];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* "/../" must reach the server as sent: the corpus tests the server's
	 * handling of it, not curl's */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ls_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ls_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	/* no "Expect: 100-continue" wait unless the caller asks for one (tests
	 * of bodies over the limit do: the 413 then arrives before any body
	 * byte is sent, so the server's close cannot cut the answer off) */
	bool expect = false;
	for (int i = 0; hdrs && hdrs[i]; i++)
		expect |= strncasecmp(hdrs[i], "Expect:", 7) == 0;
	*list = expect ? NULL : curl_slist_append(NULL, "Expect:");
	for (int i = 0; hdrs && hdrs[i]; i++)
		*list = curl_slist_append(*list, hdrs[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *list);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (strcmp(method, body ? "POST" : "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	return c;
}

void ls_finish(CURL *c, ls_resp *r)
{
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body && r->len && (r->body[0] == '{' || r->body[0] == '['))
		r->json = json_loads(r->body, 0, NULL);
}

int ls_http(const ls_server *s, const char *method, const char *path, const char *const *hdrs,
	    const void *body, long len, ls_resp *r)
{
	struct curl_slist *list = NULL;
	CURL *c;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	c = ls_easy(s, method, path, hdrs, body, len, r, &list);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		ls_finish(c, r);
	curl_easy_cleanup(c);
	curl_slist_free_all(list);
	return (int)rc;
}

long ls_get_status(const ls_server *s, const char *path)
{
	ls_resp r;
	long st = ls_http(s, "GET", path, NULL, NULL, 0, &r) == 0 ? r.status : -1;

	ls_resp_free(&r);
	return st;
}

void ls_assert_live(const ls_server *s)
{
	ck_assert_int_eq(ls_get_status(s, "/v2/health/live"), 200);
}

void ls_assert_error(const ls_resp *r, long status, const char *code, const char *msg_part)
{
	const char *e, *c;

	ck_assert_msg(r->status == status, "status %ld, expected %ld: %s", r->status, status,
		      r->body ? r->body : "");
	ck_assert_msg(r->json != NULL, "error body is not JSON: %s", r->body ? r->body : "(none)");
	e = json_string_value(json_object_get(r->json, "error"));
	c = json_string_value(json_object_get(r->json, "code"));
	ck_assert_msg(e && c, "error body lacks error/code: %s", r->body);
	if (code)
		ck_assert_msg(!strcmp(c, code), "code %s, expected %s (%s)", c, code, e);
	if (msg_part)
		ck_assert_msg(strstr(e, msg_part) != NULL, "error '%s' does not mention '%s'", e, msg_part);
}

bool ls_log_has(const ls_server *s, const char *needle)
{
	double t0 = ls_now_ms();

	for (;;) {
		char *log = ls_read_text(s->log);
		bool found = log && strstr(log, needle);
		free(log);
		if (found)
			return true;
		if (ls_now_ms() - t0 > 5000)
			return false;
		ls_sleep_ms(10);
	}
}

void ls_start(ls_server *s, const char *const *args, bool wait_ready)
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

int ls_wait_exit(ls_server *s, double timeout_ms)
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

void ls_stop(ls_server *s)
{
	int status;

	ck_assert_int_gt(s->pid, 0);
	ck_assert_int_eq(kill(s->pid, SIGTERM), 0);
	status = ls_wait_exit(s, 60000);
	ck_assert_msg(status != -1, "liteserve did not exit within 60 s of SIGTERM (log %s)", s->log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "liteserve exited with status 0x%x (log %s)", status, s->log);
	ls_repo_remove(s);
}

#endif
