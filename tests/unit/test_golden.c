/* test_golden.c - our outputs against the real TFLite interpreter's.
 *
 * Each case in shared/golden/<model>/<case>/ is run through the liteserve
 * binary (`liteserve run`, the path a user takes) and every output is
 * compared with the oracle's:
 *   float32: |ours - golden| <= 1e-4 when the golden output lies in [0,1]
 *            (softmax), else <= 1e-3 * max(1, |golden|);
 *   integer: byte for byte.
 * The case list is read from the directory, so a new golden case is tested
 * without touching this file; the model list says which precision family a
 * model belongs to.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static const char *const float_models[] = {
	"mobilenet_v1_0.25_224",
	"deeplabv3_257_mv_gpu",
	"style_transfer_f16_384",
	"bench/mobilenet_v1_1.0_224_float32",
	"bench/mobilenet_v2_1.0_224_float32",
	NULL,
};

/* Integer models: every output byte for byte (the detector's outputs are
 * float32 boxes and scores from its custom op: compared like floats; its
 * own test checks classes, scores and count exactly). */
static const char *const integer_models[] = {
	"mobilenet_v1_0.25_128_quant",
	"mobilenet_v1_0.25_224_quant_with_metadata",
	"mobilenet_v1_0.5_160_quant",
	"mobilenet_v2_1.0_224_quant",
	"tf2_mobilenet_v2_1.0_224_ptq",
	"deeplabv3_mnv2_pascal_quant",
	"movenet_singlepose_lightning_int8_4",
	"posenet_mobilenet_v1_100_257x257_multi_kpt_stripped_integer_quant",
	"bench/mobilenet_v1_1.0_224_uint8",
	"bench/mobilenet_v1_1.0_224_int8",
	"bench/mobilenet_v2_1.0_224_uint8",
	"bench/mobilenet_v2_1.0_224_int8",
	"coco_ssd_mobilenet_v1_1.0_quant_2018_06_29",
	NULL,
};

static char tmp_root[256];

static int run_cmd(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Model file of a golden stem: shared/models/<stem>.tflite. */
static void model_path(const char *stem, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ts_shared_path("models"));
	strncat(buf, "/", len - strlen(buf) - 1);
	strncat(buf, stem, len - strlen(buf) - 1);
	strncat(buf, ".tflite", len - strlen(buf) - 1);
}

typedef struct cmp_stats {
	double max_abs, max_rel;
	long mismatches;
} cmp_stats;

static void compare_output(const char *where, json_t *o, const uint8_t *ours, size_t ours_n, const uint8_t *gold,
			   size_t gold_n, bool exact)
{
	const char *dtype = json_string_value(json_object_get(o, "dtype"));

	ck_assert_msg(ours_n == gold_n, "%s: %zu bytes, golden has %zu", where, ours_n, gold_n);
	if (!strcmp(dtype, "float32") && !exact) {
		size_t n = gold_n / 4;
		const float *a = (const float *)ours, *g = (const float *)gold;
		bool unit = true;
		cmp_stats st = {0};

		for (size_t i = 0; i < n; i++)
			unit &= g[i] >= 0.0f && g[i] <= 1.0f;
		for (size_t i = 0; i < n; i++) {
			double d = fabs((double)a[i] - g[i]);
			double tol = unit ? 1e-4 : 1e-3 * fmax(1.0, fabs(g[i]));
			if (d > st.max_abs)
				st.max_abs = d;
			if (!(d <= tol)) {
				if (st.mismatches++ < 3)
					fprintf(stderr, "%s[%zu]: ours %.7g golden %.7g (tol %.2g)\n", where, i, a[i], g[i], tol);
			}
		}
		fprintf(stderr, "%s: %zu floats, max |diff| %.3g (%s tolerance)\n", where, n, st.max_abs,
			unit ? "1e-4 absolute" : "1e-3 relative");
		ck_assert_msg(st.mismatches == 0, "%s: %ld of %zu elements out of tolerance", where, st.mismatches, n);
	} else {
		long diff = 0;
		for (size_t i = 0; i < gold_n; i++)
			if (ours[i] != gold[i] && diff++ < 3)
				fprintf(stderr, "%s: byte %zu ours %u golden %u\n", where, i, ours[i], gold[i]);
		fprintf(stderr, "%s: %zu bytes, %ld differ\n", where, gold_n, diff);
		ck_assert_msg(diff == 0, "%s: %ld of %zu bytes differ", where, diff, gold_n);
	}
}

static void run_case(const char *stem, const char *case_dir, const char *case_name, bool exact)
{
	char oracle_path[4096], model[4096], out_dir[4096], where[512];
	char *argv[80];
	char in_paths[16][4096];
	json_error_t jerr;
	json_t *oracle, *inputs, *outputs;
	int argc = 0, rc;

	snprintf(oracle_path, sizeof(oracle_path), "%s/oracle.json", case_dir);
	oracle = json_load_file(oracle_path, 0, &jerr);
	ck_assert_msg(oracle, "%s: %s", oracle_path, jerr.text);
	inputs = json_object_get(oracle, "inputs");
	outputs = json_object_get(oracle, "outputs");
	model_path(stem, model, sizeof(model));
	snprintf(out_dir, sizeof(out_dir), "%s/%s__%s", tmp_root, strchr(stem, '/') ? strchr(stem, '/') + 1 : stem,
		 case_name);
	argv[argc++] = (char *)ts_liteserve_bin();
	argv[argc++] = "run";
	argv[argc++] = model;
	for (size_t i = 0; i < json_array_size(inputs) && i < 16; i++) {
		json_t *in = json_array_get(inputs, i);
		snprintf(in_paths[i], sizeof(in_paths[i]), "%s/%s", case_dir,
			 json_string_value(json_object_get(in, "file")));
		argv[argc++] = "--input";
		argv[argc++] = in_paths[i];
	}
	argv[argc++] = "--out";
	argv[argc++] = out_dir;
	argv[argc] = NULL;
	rc = run_cmd(argv);
	snprintf(where, sizeof(where), "%s/%s", stem, case_name);
	ck_assert_msg(rc == 0, "%s: liteserve run exited %d", where, rc);
	for (size_t i = 0; i < json_array_size(outputs); i++) {
		json_t *o = json_array_get(outputs, i);
		const char *file = json_string_value(json_object_get(o, "file"));
		char gp[4096], op[4096], w[600];
		size_t gn = 0, on = 0;
		uint8_t *g, *ours;

		snprintf(gp, sizeof(gp), "%s/%s", case_dir, file);
		snprintf(op, sizeof(op), "%s/output_%zu.bin", out_dir, i);
		g = ts_read_file(gp, &gn);
		ours = ts_read_file(op, &on);
		ck_assert_msg(g && ours, "%s: missing %s or %s", where, gp, op);
		snprintf(w, sizeof(w), "%s output %zu", where, i);
		compare_output(w, o, ours, on, g, gn, exact);
		free(g);
		free(ours);
	}
	json_decref(oracle);
}

/* exact: every output byte for byte (integer models, float outputs included:
 * their DEQUANTIZE is exact arithmetic too). */
static int run_model_cases(const char *stem, bool exact)
{
	char rel[512], base[4096];
	const char *dir;
	DIR *dh;
	struct dirent *e;
	int n = 0;

	snprintf(rel, sizeof(rel), "golden/%s", stem);
	dir = ts_require_shared(rel);
	if (!dir)
		return -1;
	snprintf(base, sizeof(base), "%s", dir);
	dh = opendir(base);
	ck_assert_msg(dh, "no golden directory %s", base);
	while ((e = readdir(dh))) {
		char cd[8192];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(cd, sizeof(cd), "%s/%s", base, e->d_name);
		if (stat(cd, &sb) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		run_case(stem, cd, e->d_name, exact);
		n++;
	}
	closedir(dh);
	ck_assert_msg(n > 0, "%s: no golden cases", stem);
	return n;
}

START_TEST(test_float_goldens)
{
	run_model_cases(float_models[_i], false);
}
END_TEST

START_TEST(test_integer_goldens)
{
	/* the detector's boxes are float arithmetic on decoded anchors: tolerance */
	run_model_cases(integer_models[_i], strstr(integer_models[_i], "coco_ssd") == NULL);
}
END_TEST

static void setup(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/liteserve-golden-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp_root);
}

int main(void)
{
	Suite *s = suite_create("golden");
	TCase *tf = tcase_create("float"), *ti = tcase_create("integer");
	int n_float = 0, n_int = 0;

	while (float_models[n_float])
		n_float++;
	while (integer_models[n_int])
		n_int++;
	tcase_set_timeout(tf, 900);
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_loop_test(tf, test_float_goldens, 0, n_float);
	suite_add_tcase(s, tf);
	tcase_set_timeout(ti, 900);
	tcase_add_checked_fixture(ti, setup, teardown);
	tcase_add_loop_test(ti, test_integer_goldens, 0, n_int);
	suite_add_tcase(s, ti);
	return ts_run_suite(s);
}
