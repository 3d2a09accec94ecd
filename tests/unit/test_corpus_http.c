/* test_corpus_http.c - replays the bad-input corpus tests/corpus/http/.
 *
 * DESIGN: data, not code, lists the hostile requests, so adding a case is
 * adding a directory.  Each tests/corpus/http/<case>/ holds
 *   request   lines "method M", "path P" (sent byte for byte, "../"
 *             included), "header H: V" (any number), "chunked" (no
 *             Content-Length: Transfer-Encoding: chunked), and one body:
 *             "body empty" | "body text REST-OF-LINE" | "body file F" (F in
 *             the case directory) | "body shared REL [N]" (../shared/REL,
 *             its first N bytes) | "body repeat N STRING" (STRING N times)
 *   expect    "STATUS CODE" (the HTTP status and the "code" of the error
 *             body), optionally "mentions TEXT" (in the "error" message)
 * Bodies that would be megabytes (over the limit, deep nesting) are
 * generated here, so the committed corpus stays a few kilobytes.
 *
 * One server serves every case (starting one per case would cost a model
 * load each): the float MobileNet, --max-body-bytes 1000000, and after it
 * is ready a broken_model directory holding a truncated copy of that model
 * (added after startup so readiness does not wait for a model that cannot
 * load).  After every case the server must still be live and still answer
 * a real picture with 200: an error path that corrupts state shows up on
 * the next request, not on its own.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "live_server.h"

#define CORPUS_MAX_BODY 1000000

typedef struct corpus_case {
	char name[128];
	char method[16];
	char path[1024];
	char headers[8][256];
	int n_headers;
	bool chunked;
	uint8_t *body; /* malloc'd, NUL-terminated; NULL = no body */
	size_t body_len;
	long status;
	char code[64];
	char mentions[256];
} corpus_case;

static void trim_eol(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

/* Builds the body from a "body ..." line; false (with why) on a bad line. */
static bool make_body(corpus_case *k, const char *dir, const char *spec, char *why, size_t whylen)
{
	char what[16] = "", arg[1024] = "";
	long long n = -1;

	if (sscanf(spec, "%15s", what) != 1) {
		snprintf(why, whylen, "empty body line");
		return false;
	}
	spec += strlen(what);
	while (*spec == ' ')
		spec++;
	if (!strcmp(what, "empty")) {
		k->body = calloc(1, 1);
		k->body_len = 0;
	} else if (!strcmp(what, "text")) {
		k->body_len = strlen(spec);
		k->body = (uint8_t *)strdup(spec);
	} else if (!strcmp(what, "file")) {
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, spec);
		k->body = ts_read_file(path, &k->body_len);
		if (k->body)
			k->body[k->body_len] = 0;
	} else if (!strcmp(what, "shared")) {
		const char *p;
		if (sscanf(spec, "%1023s %lld", arg, &n) < 1) {
			snprintf(why, whylen, "body shared REL [N]");
			return false;
		}
		p = ts_require_shared(arg);
		if (!p)
			return false;
		k->body = ts_read_file(p, &k->body_len);
		if (k->body && n >= 0 && (size_t)n < k->body_len)
			k->body_len = (size_t)n;
		if (k->body)
			k->body[k->body_len] = 0;
	} else if (!strcmp(what, "repeat")) {
		int used = 0;
		size_t sl;
		if (sscanf(spec, "%lld %n", &n, &used) < 1 || n <= 0 || n > 100000000) {
			snprintf(why, whylen, "body repeat N STRING");
			return false;
		}
		spec += used;
		sl = strlen(spec);
		k->body_len = (size_t)n * sl;
		k->body = malloc(k->body_len + 1);
		for (long long i = 0; k->body && i < n; i++)
			memcpy(k->body + (size_t)i * sl, spec, sl);
		if (k->body)
			k->body[k->body_len] = 0;
	} else {
		snprintf(why, whylen, "unknown body kind '%s'", what);
		return false;
	}
	if (!k->body)
		snprintf(why, whylen, "cannot make the body (%s)", what);
	return k->body != NULL;
}

/* Reads <dir>/request and <dir>/expect into k.  A parse error fails the
 * test (a broken case must not pass silently); false = skip (no ../shared). */
static bool case_load(corpus_case *k, const char *dir, const char *name)
{
	char path[2048], line[2048], why[256] = "";
	FILE *f;
	bool have_body = false;

	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->method, sizeof(k->method), "GET");
	snprintf(path, sizeof(path), "%s/request", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "case %s: no request file", name);
	while (fgets(line, sizeof(line), f)) {
		trim_eol(line);
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "method ", 7)) {
			snprintf(k->method, sizeof(k->method), "%s", line + 7);
		} else if (!strncmp(line, "path ", 5)) {
			snprintf(k->path, sizeof(k->path), "%s", line + 5);
		} else if (!strncmp(line, "header ", 7)) {
			ck_assert_msg(k->n_headers < 7, "case %s: too many headers", name);
			snprintf(k->headers[k->n_headers++], sizeof(k->headers[0]), "%s", line + 7);
		} else if (!strcmp(line, "chunked")) {
			k->chunked = true;
		} else if (!strncmp(line, "body ", 5)) {
			ck_assert_msg(!have_body, "case %s: two body lines", name);
			have_body = true;
			if (!make_body(k, dir, line + 5, why, sizeof(why))) {
				fclose(f);
				ck_assert_msg(!*why, "case %s: %s", name, why);
				return false;
			}
		} else {
			ck_abort_msg("case %s: cannot parse request line '%s'", name, line);
		}
	}
	fclose(f);
	ck_assert_msg(*k->path == '/', "case %s: no path", name);
	if (k->chunked)
		snprintf(k->headers[k->n_headers++], sizeof(k->headers[0]), "Transfer-Encoding: chunked");
	snprintf(path, sizeof(path), "%s/expect", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "case %s: no expect file", name);
	while (fgets(line, sizeof(line), f)) {
		trim_eol(line);
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "mentions ", 9))
			snprintf(k->mentions, sizeof(k->mentions), "%s", line + 9);
		else
			ck_assert_msg(sscanf(line, "%ld %63s", &k->status, k->code) == 2,
				      "case %s: expect line '%s' is not 'STATUS CODE'", name, line);
	}
	fclose(f);
	ck_assert_msg(k->status >= 400 && k->status < 600 && *k->code, "case %s: no expected status/code", name);
	return true;
}

/* broken_model/1/model.tflite: the first 4096 bytes of the float model. */
static void add_truncated_model(ls_server *s, const uint8_t *model, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/broken_model", s->dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/broken_model/1", s->dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/broken_model/1/model.tflite", s->dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(model, 1, n < 4096 ? n : 4096, f), n < 4096 ? n : 4096);
	fclose(f);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_corpus_replay)
{
	static const char *const args[] = {"--max-body-bytes", "1000000", "--threads", "2", "--instances", "1",
					   NULL};
	static const char *const h_jpeg[] = {"Content-Type: image/jpeg", NULL};
	const char *corpus = ls_source_path("tests/corpus/http");
	char corpus_dir[4096], *names[256];
	const char *p;
	uint8_t *jpg, *model;
	size_t jn = 0, mn = 0;
	int n_names = 0, n_run = 0;
	char bad[16384] = "";
	size_t n_bad = 0;
	ls_server s;
	DIR *d;
	struct dirent *e;

	snprintf(corpus_dir, sizeof(corpus_dir), "%s", corpus);
	if (!(p = ts_require_shared("images/cat_720p.jpg")))
		return;
	jpg = ts_read_file(p, &jn);
	ck_assert_ptr_nonnull(jpg);
	if (!(p = ts_require_shared("models/" LS_FLOAT_MODEL ".tflite"))) {
		free(jpg);
		return;
	}
	model = ts_read_file(p, &mn);
	ck_assert_ptr_nonnull(model);

	d = opendir(corpus_dir);
	ck_assert_msg(d != NULL, "no corpus at %s", corpus_dir);
	while ((e = readdir(d)) && n_names < 256) {
		char sub[4352];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", corpus_dir, e->d_name);
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
			names[n_names++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n_names, sizeof(names[0]), name_cmp);
	ck_assert_msg(n_names >= 20, "only %d corpus cases in %s", n_names, corpus_dir);

	ls_repo_init(&s);
	ck_assert(ls_repo_add(&s, LS_FLOAT_MODEL, LS_FLOAT_LABELS));
	ls_start(&s, args, true);
	add_truncated_model(&s, model, mn);

	for (int i = 0; i < n_names; i++) {
		char dir[4352];
		const char *hdrs[10];
		corpus_case k;
		ls_resp r;
		int rc;

		snprintf(dir, sizeof(dir), "%s/%s", corpus_dir, names[i]);
		if (!case_load(&k, dir, names[i]))
			continue;
		for (int h = 0; h < k.n_headers; h++)
			hdrs[h] = k.headers[h];
		hdrs[k.n_headers] = NULL;
		rc = ls_http(&s, k.method, k.path, hdrs, k.body, (long)k.body_len, &r);
		ck_assert_msg(rc == 0, "case %s: no answer (curl %d: %s)", k.name, rc,
			      curl_easy_strerror((CURLcode)rc));
		{
			const char *code = json_string_value(json_object_get(r.json, "code"));
			const char *msg = json_string_value(json_object_get(r.json, "error"));
			/* every mismatch is listed before failing: one run shows them all */
			if (r.status != k.status || !code || strcmp(code, k.code) || !msg ||
			    (*k.mentions && !strstr(msg, k.mentions))) {
				n_bad += (size_t)snprintf(bad + n_bad, n_bad < sizeof(bad) ? sizeof(bad) - n_bad : 0,
							  "\n  %s: got %ld %s, expected %ld %s%s%s: %.300s", k.name,
							  r.status, code ? code : "(no code)", k.status, k.code,
							  *k.mentions ? " mentioning " : "", k.mentions,
							  r.body ? r.body : "");
				if (n_bad >= sizeof(bad))
					n_bad = sizeof(bad) - 1;
			}
		}
		fprintf(stderr, "corpus %-32s %ld %s\n", k.name, r.status, k.code);
		ls_resp_free(&r);
		free(k.body);
		/* the server survived and still does real work */
		ck_assert_msg(ls_get_status(&s, "/v2/health/live") == 200, "case %s: not live afterwards", names[i]);
		ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" LS_FLOAT_MODEL "/predict", h_jpeg, jpg, (long)jn,
					 &r),
				 0);
		ck_assert_msg(r.status == 200, "case %s: the valid predict after it answered %ld: %s", names[i],
			      r.status, r.body ? r.body : "");
		ls_resp_free(&r);
		n_run++;
	}
	ck_assert_msg(n_bad == 0, "corpus cases answered differently:%s", bad);
	ck_assert_int_eq(n_run, n_names);
	/* nothing outside the repository was loaded by a traversal name */
	{
		ls_resp r;
		ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/index", NULL, "", 0, &r), 0);
		ck_assert_int_eq(r.status, 200);
		for (size_t i = 0; i < json_array_size(r.json); i++) {
			const char *nm = json_string_value(json_object_get(json_array_get(r.json, i), "name"));
			ck_assert_msg(nm && (!strcmp(nm, LS_FLOAT_MODEL) || !strcmp(nm, "broken_model")),
				      "unexpected index entry '%s'", nm ? nm : "(null)");
		}
		ls_resp_free(&r);
	}
	ls_stop(&s);
	for (int i = 0; i < n_names; i++)
		free(names[i]);
	free(jpg);
	free(model);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("corpus_http");
	TCase *tc = tcase_create("replay");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(ls_kill_current);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_corpus_replay);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
