/* testutil.c - helpers shared by the Check suites (see testutil.h). */
#include "testutil.h"
#include "tflite_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *shared_dir(void)
{
	const char *env = getenv("LITESERVE_SHARED");
	struct stat sb;
	const char *d = env && *env ? env : LITESERVE_SHARED_DEFAULT;

	if (stat(d, &sb) == 0 && S_ISDIR(sb.st_mode))
		return d;
	return NULL;
}

const char *ts_shared_path(const char *rel)
{
	static char buf[4096];
	const char *d = shared_dir();

	if (!d)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/%s", d, rel);
	return buf;
}

const char *ts_require_shared(const char *rel)
{
	const char *p = ts_shared_path(rel);
	const char *ci = getenv("CI");

	if (p)
		return p;
	if (ci && *ci && strcmp(ci, "false") != 0)
		ck_abort_msg("../shared is missing (needed for %s) - CI must run with ../shared beside the checkout", rel);
	fprintf(stderr, "\n*** SKIP: ../shared is absent (set LITESERVE_SHARED); not testing %s ***\n\n", rel);
	return NULL;
}

uint8_t *ts_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		*size = (size_t)n;
	return buf;
}

const char *ts_liteserve_bin(void)
{
	const char *env = getenv("LITESERVE_BIN");
	return env && *env ? env : LITESERVE_BINARY;
}

uint32_t ts_rand(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

float ts_randf(uint32_t *s, float lo, float hi)
{
	return lo + (hi - lo) * (float)(ts_rand(s) >> 8) / 16777216.0f;
}

nn_status ts_model_load(ts_model *m, uint8_t *bytes, size_t size, int n_threads, nn_err *err)
{
	nn_status st;

	memset(m, 0, sizeof(*m));
	m->bytes = bytes;
	if ((st = tfl_model_from_memory(bytes, size, false, &m->model, err)) != NN_OK)
		return st;
	if ((st = nn_graph_create(m->model, &m->graph, err)) != NN_OK)
		return st;
	return nn_session_create(m->graph, n_threads > 0 ? n_threads : 1, &m->session, err);
}

void ts_model_free(ts_model *m)
{
	nn_session_free(m->session);
	nn_graph_free(m->graph);
	tfl_model_free(m->model);
	free(m->bytes);
	memset(m, 0, sizeof(*m));
}

nn_status ts_tb_load(ts_model *m, tb_model *b, int threads, nn_err *err)
{
	size_t size;
	uint8_t *bytes = tb_finish(b, &size);

	tb_free(b);
	return ts_model_load(m, bytes, size, threads, err);
}

void ts_tb_expect_refused(tb_model *b, const char *needle, const char *what)
{
	ts_model m;
	nn_err err = {0};
	nn_status st = ts_tb_load(&m, b, 1, &err);

	ck_assert_msg(st != NN_OK, "%s: model was accepted", what);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "%s: message '%s' does not mention '%s'", what, err.msg,
		      needle);
	ts_model_free(&m);
}

void ts_tb_load_ok(ts_model *m, tb_model *b, int threads, const char *what)
{
	nn_err err = {0};
	nn_status st = ts_tb_load(m, b, threads, &err);

	ck_assert_msg(st == NN_OK, "%s: load failed: %s", what, err.msg);
}

void ts_invoke_ok(ts_model *m, const char *what)
{
	nn_err err = {0};
	nn_status st = nn_session_invoke(m->session, &err);

	ck_assert_msg(st == NN_OK, "%s: invoke failed: %s", what, err.msg);
}

void ts_put_input(ts_model *m, int i, const void *src, size_t bytes)
{
	nn_tensor *t = nn_session_input(m->session, i);

	ck_assert_uint_eq(t->bytes, bytes);
	if (bytes)
		memcpy(t->data, src, bytes);
}

int ts_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
