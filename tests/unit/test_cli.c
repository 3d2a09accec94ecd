/* test_cli.c - the liteserve command line as a user runs it.
 *
 * inspect answers JSON for every shared model and exits 1 with one line on
 * stderr for a truncated copy of any of them; a model with an op we lack is
 * described with "runnable": false and the op's name; bench reports
 * min/median/p90; run refuses a wrong-sized input with both sizes named.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Runs argv; captures stdout and stderr (each up to cap bytes). Returns the exit code. */
static int run_capture(char *const argv[], char *out, size_t out_cap, char *err, size_t err_cap)
{
	int po[2], pe[2], status;
	pid_t pid;
	size_t no = 0, ne = 0;

	ck_assert(pipe(po) == 0 && pipe(pe) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* stderr is short; read stdout to the end first, then stderr */
	for (;;) {
		ssize_t k = read(po[0], out + no, no + 1 < out_cap ? out_cap - no - 1 : 0);
		if (k <= 0) {
			char sink[4096];
			if (k == 0 || no + 1 >= out_cap) {
				while (read(po[0], sink, sizeof(sink)) > 0)
					;
				break;
			}
			break;
		}
		no += (size_t)k;
	}
	for (;;) {
		ssize_t k = read(pe[0], err + ne, ne + 1 < err_cap ? err_cap - ne - 1 : 0);
		if (k <= 0)
			break;
		ne += (size_t)k;
	}
	out[no] = 0;
	err[ne] = 0;
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char out_buf[1 << 20], err_buf[1 << 16];

static void each_model(void (*fn)(const char *path, const char *name))
{
	static const char *const dirs[] = {"models", "models/bench"};
	for (int d = 0; d < 2; d++) {
		const char *dir = ts_require_shared(dirs[d]);
		char base[4096];
		DIR *dh;
		struct dirent *e;
		if (!dir)
			return;
		snprintf(base, sizeof(base), "%s", dir);
		dh = opendir(base);
		ck_assert_ptr_nonnull(dh);
		while ((e = readdir(dh))) {
			char path[8192];
			size_t n = strlen(e->d_name);
			if (n < 8 || strcmp(e->d_name + n - 7, ".tflite"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
			fn(path, e->d_name);
		}
		closedir(dh);
	}
}

static void inspect_one(const char *path, const char *name)
{
	char *argv[] = {(char *)ts_liteserve_bin(), "inspect", (char *)path, NULL};
	json_error_t jerr;
	json_t *j;
	int rc = run_capture(argv, out_buf, sizeof(out_buf), err_buf, sizeof(err_buf));

	ck_assert_msg(rc == 0, "inspect %s exited %d: %s", name, rc, err_buf);
	j = json_loads(out_buf, 0, &jerr);
	ck_assert_msg(j, "inspect %s: not JSON: %s", name, jerr.text);
	ck_assert(json_array_size(json_object_get(j, "inputs")) > 0);
	ck_assert(json_array_size(json_object_get(j, "outputs")) > 0);
	ck_assert(json_is_boolean(json_object_get(j, "runnable")));
	/* Coral's PosenetDecoderOp runs (engine/kernels/posenet_decoder.c); an
	 * unknown custom op is still refused by name (test_reader) */
	if (!strcmp(name, "mobilenet_v1_0.25_224.tflite") || strstr(name, "_quant_decoder") ||
	    !strcmp(name, "deeplabv3_257_mv_gpu.tflite") ||
	    !strcmp(name, "style_transfer_f16_384.tflite") || strstr(name, "float32"))
		ck_assert_msg(json_is_true(json_object_get(j, "runnable")), "%s: %s", name,
			      json_string_value(json_object_get(j, "reason")));
	json_decref(j);
}

START_TEST(test_inspect_every_model)
{
	each_model(inspect_one);
}
END_TEST

static void truncated_one(const char *path, const char *name)
{
	size_t size;
	uint8_t *bytes = ts_read_file(path, &size);
	char tmp[] = "/tmp/liteserve-trunc-XXXXXX";
	int fd = mkstemp(tmp);
	char *argv[] = {(char *)ts_liteserve_bin(), "inspect", tmp, NULL};
	int rc;

	ck_assert(bytes && fd >= 0);
	/* half of the file: the copy a user gets from an interrupted download */
	ck_assert(write(fd, bytes, size / 2) == (ssize_t)(size / 2));
	close(fd);
	rc = run_capture(argv, out_buf, sizeof(out_buf), err_buf, sizeof(err_buf));
	unlink(tmp);
	free(bytes);
	ck_assert_msg(rc == 1, "truncated %s: exit %d", name, rc);
	ck_assert_msg(strlen(err_buf) > 20 && strchr(err_buf, '\n') == err_buf + strlen(err_buf) - 1,
		      "truncated %s: stderr is not one line: '%s'", name, err_buf);
	ck_assert_str_eq(out_buf, "");
}

START_TEST(test_inspect_refuses_truncated)
{
	each_model(truncated_one);
}
END_TEST

START_TEST(test_bench_reports_percentiles)
{
	const char *path = ts_require_shared("models/mobilenet_v1_0.25_224.tflite");
	char *argv[] = {(char *)ts_liteserve_bin(), "bench", (char *)path, "--runs", "5", "--warmup", "1", "--per-op", NULL};
	json_t *j;
	json_error_t jerr;

	if (!path)
		return;
	ck_assert_int_eq(run_capture(argv, out_buf, sizeof(out_buf), err_buf, sizeof(err_buf)), 0);
	j = json_loads(out_buf, 0, &jerr);
	ck_assert_msg(j, "%s", jerr.text);
	ck_assert(json_real_value(json_object_get(j, "min_ms")) > 0);
	ck_assert(json_real_value(json_object_get(j, "median_ms")) >= json_real_value(json_object_get(j, "min_ms")));
	ck_assert(json_real_value(json_object_get(j, "p90_ms")) >= json_real_value(json_object_get(j, "median_ms")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "per_op")), 31);
	json_decref(j);
}
END_TEST

START_TEST(test_run_refuses_wrong_input)
{
	const char *path = ts_require_shared("models/mobilenet_v1_0.25_224.tflite");
	char model[4096], input[] = "/tmp/liteserve-cli-in-XXXXXX";
	char *argv[] = {(char *)ts_liteserve_bin(), "run", model, "--input", input, "--out", "/tmp/liteserve-cli-x", NULL};
	int fd;

	if (!path)
		return;
	snprintf(model, sizeof(model), "%s", path);
	fd = mkstemp(input);
	ck_assert(fd >= 0 && write(fd, "0123456789", 10) == 10);
	close(fd);
	ck_assert_int_eq(run_capture(argv, out_buf, sizeof(out_buf), err_buf, sizeof(err_buf)), 1);
	unlink(input);
	ck_assert_msg(strstr(err_buf, "has 10 bytes but the input tensor needs 602112"), "%s", err_buf);
}
END_TEST

START_TEST(test_usage)
{
	char *argv[] = {(char *)ts_liteserve_bin(), "--help", NULL};
	char *bad[] = {(char *)ts_liteserve_bin(), "frobnicate", NULL};
	ck_assert_int_eq(run_capture(argv, out_buf, sizeof(out_buf), err_buf, sizeof(err_buf)), 0);
	ck_assert(strstr(out_buf, "inspect") && strstr(out_buf, "bench"));
	ck_assert_int_eq(run_capture(bad, out_buf, sizeof(out_buf), err_buf, sizeof(err_buf)), 2);
	ck_assert(strstr(err_buf, "unknown command"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_inspect_every_model);
	tcase_add_test(tc, test_inspect_refuses_truncated);
	tcase_add_test(tc, test_bench_reports_percentiles);
	tcase_add_test(tc, test_run_refuses_wrong_input);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
