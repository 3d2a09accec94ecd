/* test_pool.c - the models/ layer: repository, pool, task adapters, CLI predict.
 *
 * Two kinds of models.  Tiny ones built here with tflite_builder (a MEAN
 * "colour classifier" [1,8,8,3] -> [1,3] scoring red/green/blue, and a
 * uint8 RESHAPE whose 12 "logits" are the pixels themselves) run on kernels
 * that exist today, so loading, refcounts, reload, queueing, preprocessing,
 * dequantization and softmax are tested end to end with exact expected
 * numbers.  The real models of ../shared are symlinked into temporary
 * repositories for scanning and task inference (which need no kernels) and
 * for classification of real pictures, which is skipped loudly while the
 * model's kernels are missing (graph creation fails).
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labels.h"
#include "pool.h"
#include "preprocess.h"
#include "repository.h"
#include "task.h"
#include "png_write.h"
#include "testutil.h"
#include "tflite_builder.h"

static char tmp_root[256];

/* ---- files ------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_setup(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/ls_test_pool_XXXXXX");
	ck_assert_msg(mkdtemp(tmp_root) != NULL, "mkdtemp: %s", strerror(errno));
}

static void tmp_teardown(void)
{
	if (tmp_root[0])
		nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmp_root[0] = 0;
}

/* tmp_root/<printf path> in buf. */
static const char *tpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(buf, len, "%s/", tmp_root);
	va_start(ap, fmt);
	vsnprintf(buf + k, len - (size_t)k, fmt, ap);
	va_end(ap);
	return buf;
}

static void mkdir_p(const char *path)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0777);
			*p = '/';
		}
	}
	mkdir(buf, 0777);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert(fwrite(data, 1, len, f) == len);
	fclose(f);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* Symlink tmp_root/<dst> -> ../shared/<rel>.  False (and a SKIP line) without ../shared. */
static bool link_shared(const char *rel, const char *dst)
{
	char target[1024], path[1024];
	const char *p = ts_require_shared(rel);
	if (!p)
		return false;
	snprintf(target, sizeof(target), "%s", p);
	tpath(path, sizeof(path), "%s", dst);
	ck_assert_msg(symlink(target, path) == 0, "symlink %s -> %s: %s", path, target, strerror(errno));
	return true;
}

/* ---- tiny models --------------------------------------------------------------- */

/* MEAN over H and W of a float [1,h,w,3] image: three "logits" red, green, blue. */
static uint8_t *mean_model(int h, int w, size_t *size)
{
	tb_model *b = tb_new();
	int32_t axes[2] = {1, 2};
	tb_opts o = {0};
	int x = tb_tensor(b, "image", NN_F32, 4, (int32_t[]){1, h, w, 3}, NULL, 0, NULL);
	int a = tb_tensor(b, "axes", NN_I32, 1, (int32_t[]){2}, axes, sizeof(axes), NULL);
	int y = tb_tensor(b, "scores", NN_F32, 2, (int32_t[]){1, 3}, NULL, 0, NULL);
	uint8_t *bytes;

	tb_opt_i8(&o, 0, 0); /* ReducerOptions.keep_dims = false */
	tb_op(b, 40, NULL, 1, (int[]){x, a}, 2, (int[]){y}, 1, 27, &o);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, size);
	tb_free(b);
	return bytes;
}

/* uint8 [1,2,2,3] (quantized 1/128, 128 like the hosted models) reshaped to
 * [1,12] uint8 with scale 0.1, zero point 10: the logits are the pixels. */
static uint8_t *reshape_u8_model(size_t *size)
{
	tb_model *b = tb_new();
	float in_scale = 1.0f / 128, out_scale = 0.1f;
	int64_t in_zp = 128, out_zp = 10;
	tb_quant qi = {1, &in_scale, &in_zp, 0}, qo = {1, &out_scale, &out_zp, 0};
	int32_t shape[2] = {1, 12};
	int x = tb_tensor(b, "image", NN_U8, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, &qi);
	int s = tb_tensor(b, "shape", NN_I32, 1, (int32_t[]){2}, shape, sizeof(shape), NULL);
	int y = tb_tensor(b, "logits", NN_U8, 2, (int32_t[]){1, 12}, NULL, 0, &qo);
	uint8_t *bytes;

	tb_op(b, 22, NULL, 1, (int[]){x, s}, 2, (int[]){y}, 1, 0, NULL);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, size);
	tb_free(b);
	return bytes;
}

static const char rgb_labels[] = "red\ngreen\nblue\n";

/* repo/<name>/<version>/model.tflite (+ labels.txt, config.json when given). */
static void install(const char *name, int version, const uint8_t *bytes, size_t size, const char *labels,
		    const char *config)
{
	char p[1024];
	mkdir_p(tpath(p, sizeof(p), "repo/%s/%d", name, version));
	write_file(tpath(p, sizeof(p), "repo/%s/%d/model.tflite", name, version), bytes, size);
	if (labels)
		write_text(tpath(p, sizeof(p), "repo/%s/labels.txt", name), labels);
	if (config)
		write_text(tpath(p, sizeof(p), "repo/%s/config.json", name), config);
}

static void install_mean(const char *name, int version, const char *labels, const char *config)
{
	size_t size;
	uint8_t *bytes = mean_model(8, 8, &size);
	install(name, version, bytes, size, labels, config);
	free(bytes);
}

static pool_registry *open_repo(const pool_defaults *def)
{
	char p[1024];
	pool_registry *r = pool_create(tpath(p, sizeof(p), "repo"), def);
	ck_assert(r != NULL);
	return r;
}

/* ---- PNG pictures (the server's own encoder, models/png_write.h) ---------------- */

static uint8_t *make_png(int w, int h, const uint8_t *rgb, size_t *len)
{
	uint8_t *png = NULL;
	char e[128];
	ck_assert_int_eq(ls_png_encode(rgb, w, h, LS_PNG_RGB, &png, len, e, sizeof(e)), LS_IMG_OK);
	return png;
}

static uint8_t *solid_png(int w, int h, uint8_t r, uint8_t g, uint8_t b, size_t *len)
{
	uint8_t *rgb = malloc((size_t)w * h * 3), *png;
	for (int i = 0; i < w * h; i++) {
		rgb[3 * i] = r;
		rgb[3 * i + 1] = g;
		rgb[3 * i + 2] = b;
	}
	png = make_png(w, h, rgb, len);
	free(rgb);
	return png;
}

/* ---- JSON helpers ------------------------------------------------------------------- */

static const char *pred_label(json_t *res, int i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(res, "predictions"), (size_t)i), "label"));
}

static double pred_score(json_t *res, int i)
{
	return json_real_value(json_object_get(json_array_get(json_object_get(res, "predictions"), (size_t)i), "score"));
}

static int pred_count(json_t *res)
{
	return (int)json_array_size(json_object_get(res, "predictions"));
}

/* ---- names and config.json ------------------------------------------------------------ */

START_TEST(test_name_rules)
{
	static const char *const good[] = {"mobilenet_v1_0.25_224", "a", "A-b_c.1", "model.v2", NULL};
	static const char *const bad[] = {"", ".", "..", "../x", "a/b", "/etc", "a..b", ".hidden", "a b", "a\nb",
					  "caf\xc3\xa9", "x;rm", "%2e%2e", NULL};
	char longname[200];
	pool_registry *r;
	pool_status st = POOL_OK;
	nn_err err = {0};
	json_t *idx;

	for (int i = 0; good[i]; i++)
		ck_assert_msg(repo_name_valid(good[i]), "'%s' should be valid", good[i]);
	for (int i = 0; bad[i]; i++)
		ck_assert_msg(!repo_name_valid(bad[i]), "'%s' should be refused", bad[i]);
	memset(longname, 'a', sizeof(longname));
	longname[127] = 0;
	ck_assert(repo_name_valid(longname));
	longname[127] = 'a';
	longname[128] = 0;
	ck_assert(!repo_name_valid(longname));
	ck_assert(!repo_name_valid(NULL));

	/* path traversal through the pool API */
	tmp_setup();
	install_mean("outside", 1, rgb_labels, NULL); /* repo/outside: reachable only by its name */
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load(r, "../repo/outside", &err), POOL_BAD_REQUEST);
	ck_assert_msg(strstr(err.msg, "invalid model name"), "%s", err.msg);
	ck_assert_int_eq(pool_load(r, "..", &err), POOL_BAD_REQUEST);
	ck_assert_int_eq(pool_load(r, "/etc", &err), POOL_BAD_REQUEST);
	ck_assert(pool_get(r, "../outside", 0, &st) == NULL);
	ck_assert_int_eq(st, POOL_NOT_FOUND);
	ck_assert_int_eq(pool_unload(r, "../outside", &err), POOL_BAD_REQUEST);
	ck_assert_int_eq(pool_load(r, "nonexistent", &err), POOL_NOT_FOUND);
	idx = pool_index(r);
	ck_assert_int_eq(json_array_size(idx), 0); /* refused names leave no trace */
	json_decref(idx);
	pool_free(r);
	tmp_teardown();
}
END_TEST

START_TEST(test_config_good)
{
	static const char text[] = "{\"task\": \"classification\", \"labels\": \"imagenet.txt\", "
				   "\"preprocess\": {\"mode\": \"mean_std\", \"mean\": [123.675, 116.28, 103.53], "
				   "\"std\": 58.0, \"resize\": \"letterbox\"}, \"instances\": 3, \"threads\": 2, "
				   "\"max_queue\": 0}";
	repo_config c;
	nn_err err = {0};

	ck_assert_msg(repo_config_parse(text, strlen(text), &c, &err) == NN_OK, "%s", err.msg);
	ck_assert(c.has_task);
	ck_assert_int_eq(c.task, POOL_TASK_CLASSIFICATION);
	ck_assert_str_eq(c.labels, "imagenet.txt");
	ck_assert(c.has_mode && !c.raw && c.has_mean && c.has_std && c.letterbox);
	ck_assert(fabsf(c.mean[0] - 123.675f) < 1e-4f && fabsf(c.mean[2] - 103.53f) < 1e-4f);
	ck_assert(c.std[0] == 58.0f && c.std[1] == 58.0f && c.std[2] == 58.0f);
	ck_assert_int_eq(c.instances, 3);
	ck_assert_int_eq(c.threads, 2);
	ck_assert_int_eq(c.max_queue, 0);

	/* empty object: everything unset */
	ck_assert(repo_config_parse("{}", 2, &c, &err) == NN_OK);
	ck_assert(!c.has_task && !c.has_mode && c.labels[0] == 0);
	ck_assert_int_eq(c.instances, -1);
	ck_assert_int_eq(c.max_queue, -1);
	{
		static const char raw[] = "{\"preprocess\": {\"mode\": \"raw\"}, \"task\": \"tensor\"}";
		ck_assert_msg(repo_config_parse(raw, strlen(raw), &c, &err) == NN_OK, "%s", err.msg);
	}
	ck_assert(c.has_mode && c.raw && c.has_task && c.task == POOL_TASK_TENSOR);
}
END_TEST

static const struct {
	const char *text;
	const char *needle; /* must appear in the message */
} bad_configs[] = {
	{"{\"instance\": 2}", "unknown key \"instance\""},
	{"{\"instances\": \"2\"}", "\"instances\" must be an integer"},
	{"{\"instances\": 0}", "\"instances\" is 0"},
	{"{\"instances\": 2.5}", "\"instances\" must be an integer"},
	{"{\"threads\": 1000}", "\"threads\" is 1000"},
	{"{\"max_queue\": -1}", "\"max_queue\" is -1"},
	{"{\"task\": \"classify\"}", "\"task\" must be one of"},
	{"{\"task\": 3}", "\"task\" must be one of"},
	{"{\"labels\": \"../../etc/passwd\"}", "\"labels\" must be a file name"},
	{"{\"labels\": \"sub/labels.txt\"}", "\"labels\" must be a file name"},
	{"{\"labels\": 7}", "\"labels\" must be a file name"},
	{"{\"preprocess\": []}", "\"preprocess\" must be an object"},
	{"{\"preprocess\": {\"mode\": \"scale\"}}", "preprocess.mode"},
	{"{\"preprocess\": {\"means\": 1}}", "unknown key \"preprocess.means\""},
	{"{\"preprocess\": {\"std\": 0}}", "preprocess.std value 0"},
	{"{\"preprocess\": {\"std\": [1, 2]}}", "preprocess.std must be a number or an array"},
	{"{\"preprocess\": {\"mean\": [1, \"2\", 3]}}", "preprocess.mean[1] must be a number"},
	{"{\"preprocess\": {\"resize\": \"crop\"}}", "preprocess.resize"},
	{"{\"preprocess\": {\"mode\": \"raw\", \"mean\": 0}}", "apply to mode \"mean_std\""},
	{"[1, 2]", "must be a JSON object"},
	{"{\"task\": \"pose\", \"task\": \"pose\"}", "config.json: line"},
	{"{\"task\": ", "config.json: line"},
	{"", "config.json: line"},
};

START_TEST(test_config_errors)
{
	repo_config c;
	nn_err err = {0};

	ck_assert_msg(repo_config_parse(bad_configs[_i].text, strlen(bad_configs[_i].text), &c, &err) != NN_OK,
		      "accepted: %s", bad_configs[_i].text);
	ck_assert_msg(strstr(err.msg, bad_configs[_i].needle), "%s: message '%s' lacks '%s'", bad_configs[_i].text,
		      err.msg, bad_configs[_i].needle);
}
END_TEST

START_TEST(test_config_file_limits)
{
	char p[1024];
	repo_config c;
	nn_err err = {0};
	char *big = malloc(REPO_CONFIG_MAX_BYTES + 10);

	tmp_setup();
	memset(big, ' ', REPO_CONFIG_MAX_BYTES + 10);
	big[0] = '{';
	big[REPO_CONFIG_MAX_BYTES + 8] = '}';
	big[REPO_CONFIG_MAX_BYTES + 9] = 0;
	write_text(tpath(p, sizeof(p), "big.json"), big);
	ck_assert(repo_config_load(p, &c, &err) != NN_OK);
	ck_assert_msg(strstr(err.msg, "more than"), "%s", err.msg);
	ck_assert(repo_config_load(tpath(p, sizeof(p), "absent.json"), &c, &err) == NN_ERR_IO);
	write_text(tpath(p, sizeof(p), "ok.json"), "{\"threads\": 4}\n");
	ck_assert_msg(repo_config_load(p, &c, &err) == NN_OK, "%s", err.msg);
	ck_assert_int_eq(c.threads, 4);
	free(big);
	tmp_teardown();
}
END_TEST

/* ---- repository scanning ------------------------------------------------------------------ */

START_TEST(test_repo_scan)
{
	char p[1024];
	char **names = NULL;
	int n = 0;
	int64_t v = 0;
	nn_err err = {0};

	tmp_setup();
	mkdir_p(tpath(p, sizeof(p), "repo/mobilenet/1"));
	mkdir_p(tpath(p, sizeof(p), "repo/mobilenet/3"));
	mkdir_p(tpath(p, sizeof(p), "repo/mobilenet/2"));
	mkdir_p(tpath(p, sizeof(p), "repo/mobilenet/0"));        /* not positive: ignored */
	mkdir_p(tpath(p, sizeof(p), "repo/mobilenet/latest"));   /* not a number: ignored */
	mkdir_p(tpath(p, sizeof(p), "repo/mobilenet/-4"));       /* not a number: ignored */
	write_text(tpath(p, sizeof(p), "repo/mobilenet/9"), "a file, not a version directory");
	if (!link_shared("models/mobilenet_v1_0.25_224.tflite", "repo/mobilenet/1/model.tflite") ||
	    !link_shared("models/mobilenet_v1_0.25_224.tflite", "repo/mobilenet/3/model.tflite") ||
	    !link_shared("models/labels/imagenet_labels_1001.txt", "repo/mobilenet/labels.txt")) {
		tmp_teardown();
		return;
	}
	mkdir_p(tpath(p, sizeof(p), "repo/deeplab/12"));
	link_shared("models/deeplabv3_257_mv_gpu.tflite", "repo/deeplab/12/model.tflite");
	mkdir_p(tpath(p, sizeof(p), "repo/empty"));
	mkdir_p(tpath(p, sizeof(p), "repo/bad name"));           /* invalid: skipped */
	mkdir_p(tpath(p, sizeof(p), "repo/.hidden/1"));          /* hidden: skipped */
	write_text(tpath(p, sizeof(p), "repo/README"), "not a model");

	ck_assert_msg(repo_list(tpath(p, sizeof(p), "repo"), &names, &n, &err) == NN_OK, "%s", err.msg);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(names[0], "deeplab");
	ck_assert_str_eq(names[1], "empty");
	ck_assert_str_eq(names[2], "mobilenet");
	repo_list_free(names, n);

	ck_assert_msg(repo_latest_version(tpath(p, sizeof(p), "repo"), "mobilenet", &v, &err) == NN_OK, "%s", err.msg);
	ck_assert_int_eq(v, 3);
	ck_assert(repo_latest_version(p, "deeplab", &v, &err) == NN_OK);
	ck_assert_int_eq(v, 12);
	ck_assert(repo_latest_version(p, "empty", &v, &err) == NN_ERR_IO);
	ck_assert_msg(strstr(err.msg, "no version directory"), "%s", err.msg);
	ck_assert(repo_latest_version(p, "absent", &v, &err) == NN_ERR_IO);
	ck_assert(repo_latest_version(p, "..", &v, &err) == NN_ERR_INVALID_ARG);
	ck_assert(repo_list(tpath(p, sizeof(p), "no-such-dir"), &names, &n, &err) == NN_ERR_IO);
	tmp_teardown();
}
END_TEST

/* ---- task inference on every shared model -------------------------------------------------- */

static pool_task expected_task(const char *manifest_task)
{
	pool_task t = POOL_TASK_TENSOR;
	if (!repo_task_from_name(manifest_task, &t))
		t = POOL_TASK_TENSOR; /* style_transfer: not a server task */
	return t;
}

START_TEST(test_infer_shared_tasks)
{
	const char *mp = ts_require_shared("models/MANIFEST.json");
	char dir[1024], path[1100];
	json_error_t jerr;
	json_t *man, *e;
	size_t i;
	int checked = 0;

	if (!mp)
		return;
	man = json_load_file(mp, 0, &jerr); /* before ts_shared_path reuses its buffer */
	snprintf(dir, sizeof(dir), "%s", ts_shared_path("models"));
	ck_assert_msg(man != NULL, "%s", jerr.text);
	json_array_foreach(man, i, e) {
		const char *file = json_string_value(json_object_get(e, "file"));
		const char *task = json_string_value(json_object_get(e, "task"));
		const char *labels = json_string_value(json_object_get(e, "labels"));
		tfl_model *m = NULL;
		ls_labels l = {0};
		nn_err err = {0};
		char msg[256];
		pool_task got;

		snprintf(path, sizeof(path), "%s/%s", dir, file);
		ck_assert_msg(tfl_model_open(path, &m, &err) == NN_OK, "%s: %s", file, err.msg);
		if (labels) {
			snprintf(path, sizeof(path), "%s/%s", dir, labels);
			ck_assert_msg(ls_labels_load(path, &l, msg, sizeof(msg)) == 0, "%s: %s", path, msg);
		}
		got = repo_infer_task(m, labels ? l.n : -1);
		ck_assert_msg(got == expected_task(task), "%s: inferred %s, MANIFEST says %s", file, pool_task_name(got),
			      task);
		/* without labels a classifier is only a tensor model; the others do not need labels */
		if (expected_task(task) == POOL_TASK_CLASSIFICATION)
			ck_assert_int_eq(repo_infer_task(m, -1), POOL_TASK_TENSOR);
		else
			ck_assert_int_eq(repo_infer_task(m, -1), expected_task(task));
		ls_labels_free(&l);
		tfl_model_free(m);
		checked++;
	}
	ck_assert_int_ge(checked, 13);
	json_decref(man);
}
END_TEST

/* Every shared model in one repository: each is READY, or UNAVAILABLE with a reason. */
START_TEST(test_load_all_shared)
{
	const char *mp = ts_require_shared("models/MANIFEST.json");
	char p[1024], rel[512];
	json_error_t jerr;
	json_t *man, *e, *idx;
	pool_registry *r;
	size_t i;
	int loaded, ready = 0;

	if (!mp)
		return;
	tmp_setup();
	man = json_load_file(mp, 0, &jerr);
	ck_assert(man != NULL);
	json_array_foreach(man, i, e) {
		const char *file = json_string_value(json_object_get(e, "file"));
		const char *labels = json_string_value(json_object_get(e, "labels"));
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - 7), file);
		mkdir_p(tpath(p, sizeof(p), "repo/%s/1", name));
		snprintf(rel, sizeof(rel), "models/%s", file);
		snprintf(p, sizeof(p), "repo/%s/1/model.tflite", name);
		link_shared(rel, p);
		if (labels) {
			snprintf(rel, sizeof(rel), "models/%s", labels);
			snprintf(p, sizeof(p), "repo/%s/labels.txt", name);
			link_shared(rel, p);
		}
	}
	r = open_repo(&(pool_defaults){.instances = 1, .threads = 1, .max_queue = 4});
	loaded = pool_load_all(r);
	idx = pool_index(r);
	ck_assert_int_eq(json_array_size(idx), json_array_size(man));
	json_array_foreach(idx, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *state = json_string_value(json_object_get(e, "state"));
		const char *reason = json_string_value(json_object_get(e, "reason"));
		ck_assert_int_eq(json_integer_value(json_object_get(e, "version")), 1);
		if (!strcmp(state, "READY")) {
			pool_status st;
			pool_model *m = pool_get(r, name, 0, &st);
			ck_assert_msg(m != NULL, "%s READY but pool_get says %d", name, st);
			ck_assert_int_eq(m->version, 1);
			ck_assert(m->labels == NULL || m->n_labels > 0);
			pool_put(m);
			ready++;
		} else {
			ck_assert_str_eq(state, "UNAVAILABLE");
			ck_assert_msg(reason && reason[0], "%s: UNAVAILABLE without a reason", name);
			fprintf(stderr, "  (%s not loadable yet: %s)\n", name, reason);
		}
		/* Coral's PosenetDecoderOp is implemented: its model is served */
		if (!strcmp(name, "posenet_mobilenet_v1_075_353_481_16_quant_decoder"))
			ck_assert_msg(!strcmp(state, "READY"), "%s: %s", name, reason ? reason : "");
	}
	ck_assert_int_eq(ready, loaded);
	ck_assert_int_eq(pool_ready_count(r), loaded);
	json_decref(idx);
	json_decref(man);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* ---- loading, refcounts, reload ---------------------------------------------------------------- */

/* Runs the mean model on a constant float image and returns the score of channel 0. */
static float run_mean(pool_model *m, float value)
{
	float in[8 * 8 * 3], *out;
	const void *ins[1] = {in};
	size_t in_sizes[1] = {sizeof(in)}, out_sizes[4];
	void *outs[4];
	int n_out = 0;
	nn_err err = {0};

	for (int i = 0; i < 8 * 8 * 3; i++)
		in[i] = value;
	ck_assert_msg(pool_infer_raw(m, ins, in_sizes, 1, outs, out_sizes, &n_out, NULL, &err) == POOL_OK, "%s",
		      err.msg);
	ck_assert_int_eq(n_out, 1);
	ck_assert_int_eq(out_sizes[0], 3 * sizeof(float));
	out = outs[0];
	value = out[0];
	free(outs[0]);
	return value;
}

START_TEST(test_refcount_unload)
{
	pool_registry *r;
	pool_model *m, *m2;
	pool_status st;
	nn_err err = {0};
	json_t *idx;

	tmp_setup();
	install_mean("colours", 1, rgb_labels, NULL);
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	ck_assert_int_eq(pool_ready_count(r), 1);
	m = pool_get(r, "colours", 0, &st);
	ck_assert_int_eq(st, POOL_OK);
	ck_assert(m != NULL);
	ck_assert_str_eq(m->name, "colours");
	ck_assert_int_eq(m->version, 1);
	ck_assert_int_eq(m->task, POOL_TASK_CLASSIFICATION);
	ck_assert_int_eq(m->n_labels, 3);
	ck_assert_str_eq(m->labels[2], "blue");
	ck_assert_int_eq(m->instances, 2);
	ck_assert_int_eq(m->threads, 1);
	ck_assert_int_eq(m->max_queue, 64);
	ck_assert(!m->pre.raw && m->pre.mean[0] == 127.5f && m->pre.std[2] == 127.5f && !m->pre.letterbox);
	ck_assert(m->file_bytes > 0 && m->load_ms >= 0);
	ck_assert(pool_get(r, "colours", 2, &st) == NULL);
	ck_assert_int_eq(st, POOL_NOT_FOUND);
	m2 = pool_get(r, "colours", 1, &st);
	ck_assert(m2 == m);
	pool_put(m2);

	ck_assert_int_eq(pool_unload(r, "colours", &err), POOL_OK);
	ck_assert(pool_get(r, "colours", 0, &st) == NULL);
	ck_assert_int_eq(st, POOL_NOT_READY);
	ck_assert_int_eq(pool_ready_count(r), 0);
	idx = pool_index(r);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(idx, 0), "state")), "UNAVAILABLE");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(idx, 0), "reason")), "unloaded");
	json_decref(idx);
	/* the reference taken before the unload still works */
	ck_assert(fabsf(run_mean(m, 0.25f) - 0.25f) < 1e-6f);
	ck_assert_int_eq(pool_unload(r, "colours", &err), POOL_NOT_READY);
	ck_assert_int_eq(pool_unload(r, "nope", &err), POOL_NOT_FOUND);
	pool_put(m); /* frees it */
	ck_assert_int_eq(pool_load(r, "colours", &err), POOL_OK);
	ck_assert_int_eq(pool_ready_count(r), 1);
	m = pool_get(r, "colours", 0, &st);
	ck_assert(m != NULL);
	pool_put(m);
	pool_free(r);
	tmp_teardown();
}
END_TEST

START_TEST(test_reload)
{
	pool_registry *r;
	pool_model *m1, *m2, *m3;
	pool_status st;
	nn_err err = {0};
	char p[1024];
	json_t *idx, *e;

	tmp_setup();
	install_mean("colours", 1, rgb_labels, NULL);
	r = open_repo(&(pool_defaults){.instances = 1, .threads = 2, .max_queue = 3, .max_pixels = 1000});
	ck_assert_int_eq(pool_load(r, "colours", &err), POOL_OK);
	m1 = pool_get(r, "colours", 0, &st);
	ck_assert_int_eq(m1->instances, 1);
	ck_assert_int_eq(m1->threads, 2);
	ck_assert_int_eq(m1->max_queue, 3);

	/* version 2 with a config: swapped in, the old one keeps serving its holder */
	install_mean("colours", 2, NULL, "{\"instances\": 3, \"preprocess\": {\"mode\": \"raw\"}}");
	ck_assert_msg(pool_load(r, "colours", &err) == POOL_OK, "%s", err.msg);
	m2 = pool_get(r, "colours", 0, &st);
	ck_assert(m2 != m1);
	ck_assert_int_eq(m2->version, 2);
	ck_assert_int_eq(m2->instances, 3);
	ck_assert(m2->pre.raw);
	ck_assert_int_eq(m1->version, 1);
	ck_assert(fabsf(run_mean(m1, -0.5f) + 0.5f) < 1e-6f);
	ck_assert(fabsf(run_mean(m2, 0.75f) - 0.75f) < 1e-6f);
	ck_assert(pool_get(r, "colours", 1, &st) == NULL);
	ck_assert_int_eq(st, POOL_NOT_FOUND);
	m3 = pool_get(r, "colours", 2, &st);
	ck_assert(m3 == m2);
	pool_put(m3);
	pool_put(m1); /* version 1 is freed here */

	/* a broken version 3: the load fails, version 2 keeps serving */
	mkdir_p(tpath(p, sizeof(p), "repo/colours/3"));
	write_text(tpath(p, sizeof(p), "repo/colours/3/model.tflite"), "this is not a flatbuffer");
	ck_assert_int_eq(pool_load(r, "colours", &err), POOL_FAILED);
	ck_assert_msg(strstr(err.msg, "version 3"), "%s", err.msg);
	m3 = pool_get(r, "colours", 0, &st);
	ck_assert(m3 == m2);
	pool_put(m3);
	idx = pool_index(r);
	e = json_array_get(idx, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "state")), "READY");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "version")), 2);
	ck_assert_msg(strstr(json_string_value(json_object_get(e, "reason")), "version 3"), "%s",
		      json_string_value(json_object_get(e, "reason")));
	json_decref(idx);

	/* a config error is reported, with its key */
	write_text(tpath(p, sizeof(p), "repo/colours/config.json"), "{\"instance\": 1}");
	remove(tpath(p, sizeof(p), "repo/colours/3/model.tflite"));
	rmdir(tpath(p, sizeof(p), "repo/colours/3"));
	ck_assert_int_eq(pool_load(r, "colours", &err), POOL_FAILED);
	ck_assert_msg(strstr(err.msg, "unknown key \"instance\""), "%s", err.msg);
	pool_put(m2);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* A model without any loadable version is in the index, UNAVAILABLE with its reason. */
START_TEST(test_unavailable_models)
{
	pool_registry *r;
	char p[1024];
	json_t *idx;
	nn_err err = {0};
	size_t i;
	json_t *e;
	int seen = 0;

	tmp_setup();
	mkdir_p(tpath(p, sizeof(p), "repo/noversion"));
	mkdir_p(tpath(p, sizeof(p), "repo/nofile/1"));
	install_mean("badlabels", 1, NULL, "{\"labels\": \"missing.txt\"}");
	install_mean("badtask", 1, NULL, "{\"task\": \"classification\", \"labels\": \"l.txt\"}");
	write_text(tpath(p, sizeof(p), "repo/badtask/l.txt"), "one\ntwo\n"); /* 2 labels, 3 classes */
	install_mean("good", 1, rgb_labels, NULL);
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	idx = pool_index(r);
	ck_assert_int_eq(json_array_size(idx), 5);
	json_array_foreach(idx, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *reason = json_string_value(json_object_get(e, "reason"));
		if (!strcmp(name, "good"))
			continue;
		ck_assert_str_eq(json_string_value(json_object_get(e, "state")), "UNAVAILABLE");
		if (!strcmp(name, "noversion"))
			seen += strstr(reason, "no version directory") != NULL;
		if (!strcmp(name, "nofile"))
			seen += strstr(reason, "model.tflite") != NULL;
		if (!strcmp(name, "badlabels"))
			seen += strstr(reason, "missing.txt") != NULL;
		if (!strcmp(name, "badtask"))
			seen += strstr(reason, "2 lines but the model scores 3 classes") != NULL;
	}
	ck_assert_int_eq(seen, 4);
	json_decref(idx);
	ck_assert_int_eq(pool_load(r, "noversion", &err), POOL_NOT_FOUND);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* ---- queueing ---------------------------------------------------------------------------------- */

typedef struct holder {
	pool_model *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state; /* 0 start, 1 holding, 2 release requested, 3 released */
	pool_status infer_status;
} holder;

static void *hold_session(void *arg)
{
	holder *h = arg;
	nn_session *s = NULL;
	ck_assert(pool_session_acquire(h->m, &s, NULL, NULL) == POOL_OK);
	pthread_mutex_lock(&h->lock);
	h->state = 1;
	pthread_cond_broadcast(&h->cond);
	while (h->state != 2)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	pool_session_release(h->m, s);
	pthread_mutex_lock(&h->lock);
	h->state = 3;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void *infer_once(void *arg)
{
	holder *h = arg;
	float in[8 * 8 * 3] = {0};
	const void *ins[1] = {in};
	size_t in_sizes[1] = {sizeof(in)}, out_sizes[1];
	void *outs[1];
	int n = 0;
	nn_err err = {0};

	h->infer_status = pool_infer_raw(h->m, ins, in_sizes, 1, outs, out_sizes, &n, NULL, &err);
	if (h->infer_status == POOL_OK)
		free(outs[0]);
	return NULL;
}

static void hold_start(holder *h, pthread_t *t)
{
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->state = 0;
	pthread_create(t, NULL, hold_session, h);
	pthread_mutex_lock(&h->lock);
	while (h->state != 1)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void hold_stop(holder *h, pthread_t t)
{
	pthread_mutex_lock(&h->lock);
	h->state = 2;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(t, NULL);
}

START_TEST(test_queue_full)
{
	pool_registry *r;
	pool_model *m;
	pool_status st;
	pool_stats stats;
	nn_err err = {0};
	holder h = {0}, w = {0};
	pthread_t th, tw;
	float in[8 * 8 * 3] = {0};
	const void *ins[1] = {in};
	size_t in_sizes[1] = {sizeof(in)}, out_sizes[1];
	void *outs[1];
	int n = 0;
	size_t png_len;
	uint8_t *png = solid_png(8, 8, 255, 0, 0, &png_len);
	json_t *res = NULL;

	tmp_setup();
	install_mean("busy", 1, rgb_labels, "{\"instances\": 1, \"max_queue\": 0}");
	install_mean("queued", 1, rgb_labels, "{\"instances\": 1, \"max_queue\": 1}");
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 2);

	/* max_queue 0, the only instance held by another thread: refused at once */
	m = pool_get(r, "busy", 0, &st);
	h.m = m;
	hold_start(&h, &th);
	ck_assert_int_eq(pool_infer_raw(m, ins, in_sizes, 1, outs, out_sizes, &n, NULL, &err), POOL_QUEUE_FULL);
	ck_assert_msg(strstr(err.msg, "max_queue 0"), "%s", err.msg);
	ck_assert_int_eq(pool_predict(m, png, png_len, "image/png", NULL, &res, NULL, NULL, NULL, &err),
			 POOL_QUEUE_FULL);
	ck_assert(res == NULL);
	hold_stop(&h, th);
	ck_assert_int_eq(pool_infer_raw(m, ins, in_sizes, 1, outs, out_sizes, &n, NULL, &err), POOL_OK);
	free(outs[0]);
	pool_model_stats(m, &stats);
	ck_assert_int_eq(stats.inferences, 1);
	ck_assert_int_eq(stats.queue_depth, 0);
	pool_put(m);

	/* max_queue 1: one request waits (queue depth 1), the next is refused */
	m = pool_get(r, "queued", 0, &st);
	h.m = w.m = m;
	hold_start(&h, &th);
	pthread_create(&tw, NULL, infer_once, &w);
	for (int i = 0; i < 5000; i++) {
		pool_model_stats(m, &stats);
		if (stats.queue_depth == 1)
			break;
		usleep(1000);
	}
	ck_assert_int_eq(stats.queue_depth, 1);
	ck_assert_int_eq(pool_infer_raw(m, ins, in_sizes, 1, outs, out_sizes, &n, NULL, &err), POOL_QUEUE_FULL);
	hold_stop(&h, th);
	pthread_join(tw, NULL);
	ck_assert_int_eq(w.infer_status, POOL_OK);
	pool_model_stats(m, &stats);
	ck_assert_int_eq(stats.queue_depth, 0);
	ck_assert_int_eq(stats.inferences, 1);
	pool_put(m);
	free(png);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* Many threads through few instances: every request is answered, counts add up. */
typedef struct hammer {
	pool_model *m;
	int ok;
} hammer;

static void *hammer_run(void *arg)
{
	hammer *h = arg;
	for (int i = 0; i < 50; i++)
		h->ok += fabsf(run_mean(h->m, (float)i) - (float)i) < 1e-5f;
	return NULL;
}

START_TEST(test_concurrent_requests)
{
	pool_registry *r;
	pool_model *m;
	pool_status st;
	pool_stats stats;
	hammer hs[8];
	pthread_t t[8];

	tmp_setup();
	install_mean("colours", 1, rgb_labels, "{\"instances\": 2, \"max_queue\": 100}");
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	m = pool_get(r, "colours", 0, &st);
	for (int i = 0; i < 8; i++) {
		hs[i].m = m;
		hs[i].ok = 0;
		pthread_create(&t[i], NULL, hammer_run, &hs[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(hs[i].ok, 50);
	}
	pool_model_stats(m, &stats);
	ck_assert_int_eq(stats.inferences, 400);
	pool_put(m);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* Reloads while requests run: every request finds a model and gets a right answer. */
typedef struct reloader {
	pool_registry *r;
	atomic_int *stop;
	int ok, missing;
} reloader;

static void *request_loop(void *arg)
{
	reloader *x = arg;
	while (!atomic_load(x->stop)) {
		pool_status st;
		pool_model *m = pool_get(x->r, "colours", 0, &st);
		if (!m) {
			x->missing++;
			continue;
		}
		x->ok += fabsf(run_mean(m, 2.0f) - 2.0f) < 1e-6f;
		pool_put(m);
	}
	return NULL;
}

START_TEST(test_reload_under_load)
{
	pool_registry *r;
	atomic_int stop = 0;
	reloader xs[4];
	pthread_t t[4];
	nn_err err = {0};

	tmp_setup();
	install_mean("colours", 1, rgb_labels, NULL);
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	for (int i = 0; i < 4; i++) {
		xs[i] = (reloader){.r = r, .stop = &stop};
		pthread_create(&t[i], NULL, request_loop, &xs[i]);
	}
	for (int i = 0; i < 20; i++) {
		if (i == 10)
			install_mean("colours", 2, NULL, "{\"instances\": 1}");
		ck_assert_msg(pool_load(r, "colours", &err) == POOL_OK, "%s", err.msg);
		usleep(2000);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(xs[i].missing, 0);
		ck_assert_int_gt(xs[i].ok, 0);
	}
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* pool_free waits for the last reference held by a request. */
typedef struct late_put {
	pool_model *m;
	atomic_int done;
} late_put;

static void *put_later(void *arg)
{
	late_put *lp = arg;
	usleep(100000);
	ck_assert(fabsf(run_mean(lp->m, 1.0f) - 1.0f) < 1e-6f); /* registry already being freed */
	atomic_store(&lp->done, 1);
	pool_put(lp->m);
	return NULL;
}

START_TEST(test_free_waits_for_references)
{
	pool_registry *r;
	pool_status st;
	late_put lp;
	pthread_t t;

	tmp_setup();
	install_mean("colours", 1, rgb_labels, NULL);
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	lp.m = pool_get(r, "colours", 0, &st);
	atomic_init(&lp.done, 0);
	pthread_create(&t, NULL, put_later, &lp);
	pool_free(r);
	ck_assert_int_eq(atomic_load(&lp.done), 1);
	pthread_join(t, NULL);
	tmp_teardown();
}
END_TEST

/* ---- tensor endpoint ------------------------------------------------------------------------- */

START_TEST(test_infer_raw)
{
	pool_model *m = NULL;
	nn_err err = {0};
	char p[1024];
	size_t size;
	uint8_t *bytes = mean_model(8, 8, &size);
	float in[8 * 8 * 3], *o;
	const void *ins[2] = {in, in};
	size_t sizes[2] = {sizeof(in), sizeof(in)}, out_sizes[1];
	void *outs[1];
	int n = -1;
	pool_timing tm;

	tmp_setup();
	write_file(tpath(p, sizeof(p), "m.tflite"), bytes, size);
	free(bytes);
	ck_assert_msg(pool_model_open_file(p, "m", NULL, NULL, NULL, &m, &err) == POOL_OK, "%s", err.msg);
	ck_assert_int_eq(m->task, POOL_TASK_TENSOR); /* no labels: not a classifier */
	for (int i = 0; i < 8 * 8 * 3; i++)
		in[i] = (float)(i % 3) + (float)(i / 3) * 0.01f;
	ck_assert_int_eq(pool_infer_raw(m, ins, sizes, 2, outs, out_sizes, &n, NULL, &err), POOL_BAD_REQUEST);
	ck_assert_msg(strstr(err.msg, "has 1 input, the request has 2"), "%s", err.msg);
	sizes[0] = sizeof(in) - 4;
	ck_assert_int_eq(pool_infer_raw(m, ins, sizes, 1, outs, out_sizes, &n, NULL, &err), POOL_BAD_REQUEST);
	ck_assert_msg(strstr(err.msg, "needs exactly 768 bytes, the request has 764"), "%s", err.msg);
	sizes[0] = sizeof(in);
	ck_assert_int_eq(pool_infer_raw(m, ins, sizes, 1, outs, out_sizes, &n, &tm, &err), POOL_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(out_sizes[0], 12);
	o = outs[0];
	for (int c = 0; c < 3; c++) {
		double want = 0;
		for (int px = 0; px < 64; px++)
			want += in[px * 3 + c];
		want /= 64;
		ck_assert_msg(fabs(o[c] - want) < 1e-5, "channel %d: %g vs %g", c, o[c], want);
	}
	ck_assert(tm.inference >= 0 && tm.queue >= 0);
	free(outs[0]);
	pool_put(m);
	tmp_teardown();
}
END_TEST

/* ---- task endpoint ------------------------------------------------------------------------------ */

START_TEST(test_predict_colours)
{
	pool_registry *r;
	pool_model *m;
	pool_status st;
	nn_err err = {0};
	json_t *res = NULL;
	pool_timing tm;
	pool_task_params params = {.top_k = 0, .threshold = -1.0f};
	size_t len;
	uint8_t *png = solid_png(16, 12, 255, 0, 0, &len);
	/* mean of (p - 127.5) / 127.5 over a red picture: logits (1, -1, -1) */
	double e = exp(1.0), want = e / (e + 2.0 / e);

	tmp_setup();
	install_mean("colours", 1, rgb_labels, NULL);
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	m = pool_get(r, "colours", 0, &st);
	ck_assert_msg(pool_predict(m, png, len, "image/png", NULL, &res, NULL, NULL, &tm, &err) == POOL_OK, "%s",
		      err.msg);
	ck_assert_int_eq(pred_count(res), 3); /* top_k 5 clamped to 3 classes */
	ck_assert_str_eq(pred_label(res, 0), "red");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(res, "predictions"), 0),
							    "index")),
			 0);
	ck_assert_msg(fabs(pred_score(res, 0) - want) < 1e-5, "%g vs %g", pred_score(res, 0), want);
	ck_assert(fabs(pred_score(res, 1) - (1 - want) / 2) < 1e-5);
	ck_assert_str_eq(pred_label(res, 1), "green"); /* tie with blue: lower index first */
	ck_assert_str_eq(pred_label(res, 2), "blue");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "image"), "width")), 16);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "image"), "height")), 12);
	ck_assert(tm.decode >= 0 && tm.preprocess >= 0 && tm.inference >= 0 && tm.postprocess >= 0);
	json_decref(res);

	params.top_k = 1;
	ck_assert(pool_predict(m, png, len, NULL, &params, &res, NULL, NULL, NULL, &err) == POOL_OK);
	ck_assert_int_eq(pred_count(res), 1);
	json_decref(res);
	params.top_k = 0;
	params.threshold = 0.5f;
	ck_assert(pool_predict(m, png, len, NULL, &params, &res, NULL, NULL, NULL, &err) == POOL_OK);
	ck_assert_int_eq(pred_count(res), 1);
	json_decref(res);
	free(png);

	/* a blue picture, bigger than the input, letterboxed or stretched: still blue */
	png = solid_png(40, 20, 0, 0, 255, &len);
	ck_assert(pool_predict(m, png, len, "image/png", NULL, &res, NULL, NULL, NULL, &err) == POOL_OK);
	ck_assert_str_eq(pred_label(res, 0), "blue");
	json_decref(res);
	free(png);
	pool_put(m);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* Letterbox pads with black: a white 32x8 picture in an 8x8 canvas covers a quarter of it. */
START_TEST(test_predict_letterbox_raw)
{
	pool_registry *r;
	pool_model *m;
	pool_status st;
	nn_err err = {0};
	size_t len;
	uint8_t *png = solid_png(32, 8, 255, 255, 255, &len);
	task_input in;
	pool_timing tm;
	float *x;
	double sum = 0;

	tmp_setup();
	install_mean("lb", 1, rgb_labels, "{\"preprocess\": {\"mode\": \"raw\", \"resize\": \"letterbox\"}}");
	r = open_repo(NULL);
	ck_assert_int_eq(pool_load_all(r), 1);
	m = pool_get(r, "lb", 0, &st);
	ck_assert(m->pre.raw && m->pre.letterbox);
	ck_assert_msg(pre_image_to_tensor(nn_graph_input(m->graph, 0), &m->pre, 0, png, len, "image/png", &in, &tm,
					  &err) == POOL_OK,
		      "%s", err.msg);
	ck_assert(in.letterboxed);
	ck_assert_int_eq(in.box.w, 8);
	ck_assert_int_eq(in.box.h, 2);
	x = in.data;
	for (int i = 0; i < 8 * 8 * 3; i++) {
		ck_assert(x[i] == 0.0f || x[i] == 255.0f); /* raw: pixels as floats */
		sum += x[i];
	}
	ck_assert_msg(fabs(sum - 255.0 * 3 * 16) < 1e-3, "%g", sum);
	free(in.data);
	pool_put(m);
	free(png);
	pool_free(r);
	tmp_teardown();
}
END_TEST

START_TEST(test_predict_u8_logits)
{
	pool_model *m = NULL;
	nn_err err = {0};
	char p[1024], labels[256] = "";
	size_t size, len;
	uint8_t *bytes = reshape_u8_model(&size), *png;
	uint8_t px[12] = {10, 20, 30, 40, 50, 60, 200, 80, 90, 100, 110, 120};
	json_t *res = NULL;
	double mx = 0.1 * (200 - 10), sum = 0;
	pool_task_params params = {.top_k = 12, .threshold = -1.0f};

	tmp_setup();
	write_file(tpath(p, sizeof(p), "u8.tflite"), bytes, size);
	free(bytes);
	for (int i = 0; i < 12; i++)
		snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels), "class%d\n", i);
	write_text(tpath(p, sizeof(p), "u8.txt"), labels);
	tpath(labels, sizeof(labels), "u8.tflite");
	ck_assert_msg(pool_model_open_file(labels, "u8", NULL, p, NULL, &m, &err) == POOL_OK, "%s", err.msg);
	ck_assert_int_eq(m->task, POOL_TASK_CLASSIFICATION);
	ck_assert(m->pre.raw); /* quantized (1/128, 128) input: raw pixels */
	png = make_png(2, 2, px, &len);
	ck_assert_msg(pool_predict(m, png, len, "image/png", &params, &res, NULL, NULL, NULL, &err) == POOL_OK, "%s",
		      err.msg);
	ck_assert_int_eq(pred_count(res), 12);
	ck_assert_str_eq(pred_label(res, 0), "class6");
	for (int i = 0; i < 12; i++)
		sum += exp(0.1 * (px[i] - 10) - mx);
	/* logits (no SOFTMAX in the graph) dequantized, then softmax */
	ck_assert_msg(fabs(pred_score(res, 0) - 1.0 / sum) < 1e-6, "%g vs %g", pred_score(res, 0), 1.0 / sum);
	ck_assert_str_eq(pred_label(res, 1), "class11");
	ck_assert_msg(fabs(pred_score(res, 1) - exp(0.1 * (120 - 200)) / sum) < 1e-9, "%g", pred_score(res, 1));
	for (int i = 1; i < 12; i++)
		ck_assert(pred_score(res, i) <= pred_score(res, i - 1));
	json_decref(res);
	free(png);
	pool_put(m);
	tmp_teardown();
}
END_TEST

START_TEST(test_predict_errors)
{
	pool_registry *r;
	pool_model *m;
	pool_status st;
	nn_err err = {0};
	json_t *res = NULL;
	size_t len, small_len;
	uint8_t *png = solid_png(16, 16, 1, 2, 3, &len), *small = solid_png(8, 8, 1, 2, 3, &small_len);
	static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00";

	tmp_setup();
	install_mean("colours", 1, rgb_labels, NULL);
	install_mean("raw", 1, NULL, NULL);
	install_mean("det", 1, rgb_labels, "{\"task\": \"detection\"}");
	r = open_repo(&(pool_defaults){.max_pixels = 200});
	/* "det" is refused at load: a MEAN classifier has no TFLite_Detection_PostProcess outputs */
	ck_assert_int_eq(pool_load_all(r), 2);
	m = pool_get(r, "colours", 0, &st);

	/* 16x16 = 256 pixels over the 200 limit */
	ck_assert_int_eq(pool_predict(m, png, len, "image/png", NULL, &res, NULL, NULL, NULL, &err), POOL_TOO_LARGE);
	ck_assert(res == NULL);
	ck_assert_msg(strstr(err.msg, "image:"), "%s", err.msg);
	/* truncated PNG */
	ck_assert_int_eq(pool_predict(m, small, small_len - 20, "image/png", NULL, &res, NULL, NULL, NULL, &err),
			 POOL_BAD_REQUEST);
	ck_assert_int_eq(pool_predict(m, small, small_len, "image/png", NULL, &res, NULL, NULL, NULL, &err), POOL_OK);
	json_decref(res);
	res = NULL;
	/* not JPEG or PNG */
	ck_assert_int_eq(pool_predict(m, gif, sizeof(gif) - 1, "image/gif", NULL, &res, NULL, NULL, NULL, &err),
			 POOL_UNSUPPORTED);
	/* JSON where a picture was expected */
	ck_assert_int_eq(pool_predict(m, png, len, "application/json", NULL, &res, NULL, NULL, NULL, &err),
			 POOL_UNSUPPORTED);
	ck_assert_msg(strstr(err.msg, "not an image"), "%s", err.msg);
	ck_assert_int_eq(pool_predict(m, NULL, 0, NULL, NULL, &res, NULL, NULL, NULL, &err), POOL_BAD_REQUEST);
	pool_put(m);

	m = pool_get(r, "raw", 0, &st);
	ck_assert_int_eq(m->task, POOL_TASK_TENSOR);
	ck_assert_int_eq(pool_predict(m, png, len, "image/png", NULL, &res, NULL, NULL, NULL, &err), POOL_NO_TASK);
	ck_assert_msg(strstr(err.msg, "/v2/models/raw/infer") && strstr(err.msg, "/v1/models/raw:predict"), "%s",
		      err.msg);
	pool_put(m);

	m = pool_get(r, "det", 0, &st);
	ck_assert(m == NULL);
	ck_assert_int_eq(st, POOL_NOT_READY);
	{
		json_t *idx = pool_index(r), *e;
		size_t i;
		bool seen = false;
		json_array_foreach(idx, i, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "name")), "det"))
				continue;
			seen = true;
			ck_assert_str_eq(json_string_value(json_object_get(e, "state")), "UNAVAILABLE");
			ck_assert_msg(strstr(json_string_value(json_object_get(e, "reason")), "TFLite_Detection_PostProcess"),
				      "%s", json_string_value(json_object_get(e, "reason")));
		}
		ck_assert(seen);
		json_decref(idx);
	}
	free(png);
	free(small);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* ---- preprocessing of real pictures equals the golden inputs ------------------------------------ */

static const struct {
	const char *model, *image_case, *image;
} golden_inputs[] = {
	{"mobilenet_v1_0.25_224", "grace_hopper", "images/grace_hopper.png"},
	{"mobilenet_v2_1.0_224_quant", "grace_hopper", "images/grace_hopper.png"},
	{"mobilenet_v1_0.25_128_quant", "grace_hopper", "images/grace_hopper.png"},
	{"mobilenet_v1_0.5_160_quant", "grace_hopper", "images/grace_hopper.png"},
	{"tf2_mobilenet_v2_1.0_224_ptq", "grace_hopper", "images/grace_hopper.png"},
	{"movenet_singlepose_lightning_int8_4", "squat", "images/squat.png"},
	{"posenet_mobilenet_v1_100_257x257_multi_kpt_stripped_integer_quant", "posenet_test_image",
	 "images/posenet_test_image.png"},
	{"deeplabv3_257_mv_gpu", "bird", "images/bird.png"},
	{"deeplabv3_mnv2_pascal_quant", "bird", "images/bird.png"},
	{"mobilenet_v1_0.25_224", "cat_720p", "images/cat_720p.jpg"},
	{"mobilenet_v2_1.0_224_quant", "pets", "images/pets.jpg"},
	{"coco_ssd_mobilenet_v1_1.0_quant_2018_06_29", "kite_and_cold", "images/kite_and_cold.jpg"},
};

START_TEST(test_preprocess_matches_golden)
{
	char mpath[1024], gpath[1024], ipath[1024];
	const char *p;
	tfl_model *tm = NULL;
	nn_tensor x = {0};
	pool_preprocess pre;
	task_input in;
	pool_timing t;
	nn_err err = {0};
	uint8_t *img, *gold;
	size_t img_len, gold_len;
	long diffs = 0;
	double maxd = 0;
	const tfl_tensor *tt;

	snprintf(mpath, sizeof(mpath), "models/%s.tflite", golden_inputs[_i].model);
	if (!(p = ts_require_shared(mpath)))
		return;
	snprintf(mpath, sizeof(mpath), "%s", p);
	snprintf(gpath, sizeof(gpath), "golden/%s/%s/input_0.bin", golden_inputs[_i].model, golden_inputs[_i].image_case);
	snprintf(gpath, sizeof(gpath), "%s", ts_shared_path(gpath));
	snprintf(ipath, sizeof(ipath), "%s", ts_shared_path(golden_inputs[_i].image));
	ck_assert_msg(tfl_model_open(mpath, &tm, &err) == NN_OK, "%s", err.msg);
	ck_assert(repo_has_image_input(tm));
	tt = &tm->tensors[tm->inputs[0]];
	x.type = tt->type;
	x.rank = tt->rank;
	memcpy(x.dims, tt->dims, sizeof(x.dims));
	x.bytes = (size_t)(tt->dims[1] * tt->dims[2] * 3) * nn_dtype_size(tt->type);
	x.quant = tt->quant.n ? &tt->quant : NULL;
	pre_defaults(&x, NULL, &pre);
	ck_assert(pre.jpeg_scaling); /* the default; exactness needs the full-resolution decode */
	pre.jpeg_scaling = false;
	img = ts_read_file(ipath, &img_len);
	gold = ts_read_file(gpath, &gold_len);
	ck_assert(img && gold);
	ck_assert_msg(pre_image_to_tensor(&x, &pre, 0, img, img_len, NULL, &in, &t, &err) == POOL_OK, "%s",
		      err.msg);
	ck_assert_int_eq(in.bytes, gold_len);
	if (x.type == NN_F32) {
		const float *a = in.data, *g = (const float *)gold;
		for (size_t i = 0; i < gold_len / 4; i++) {
			double d = fabs((double)a[i] - g[i]);
			maxd = d > maxd ? d : maxd;
			diffs += d > 1e-6;
		}
	} else {
		const uint8_t *a = in.data;
		for (size_t i = 0; i < gold_len; i++) {
			double d = abs((int)a[i] - (int)gold[i]);
			maxd = d > maxd ? d : maxd;
			diffs += d > 0;
		}
	}
	/* same bilinear half-pixel resize; the oracle may round a float exactly
	 * halfway differently, so at most a few values one step apart */
	ck_assert_msg(maxd <= (x.type == NN_F32 ? 1.0 / 127.5 + 1e-6 : 1.0) && diffs * 1000 <= (long)gold_len,
		      "%s: %ld values differ from the golden input (max %g)", golden_inputs[_i].model, diffs, maxd);
	if (diffs)
		fprintf(stderr, "  %s: %ld of %zu input values one step off the golden input\n", golden_inputs[_i].model,
			diffs, gold_len);
	free(in.data);
	free(img);
	free(gold);
	tfl_model_free(tm);
}
END_TEST

/* ---- real classifiers ------------------------------------------------------------------------------ */

/* A one-model repository over a shared classifier; NULL (with a loud SKIP)
 * when its kernels are not there yet. */
static pool_registry *classifier_repo(const char *stem, pool_model **out)
{
	char rel[512], p[1024];
	pool_registry *r;
	pool_status st;
	nn_err err = {0};

	*out = NULL;
	snprintf(rel, sizeof(rel), "models/%s.tflite", stem);
	if (!ts_require_shared(rel))
		return NULL;
	mkdir_p(tpath(p, sizeof(p), "repo/%s/1", stem));
	snprintf(p, sizeof(p), "repo/%s/1/model.tflite", stem);
	link_shared(rel, p);
	snprintf(p, sizeof(p), "repo/%s/labels.txt", stem);
	link_shared("models/labels/imagenet_labels_1001.txt", p);
	r = open_repo(NULL);
	if (pool_load(r, stem, &err) != POOL_OK) {
		/* guard: runnable only once nn_graph_create has every kernel */
		ck_assert_msg(err.code == NN_ERR_UNSUPPORTED, "%s failed to load for another reason: %s", stem,
			      err.msg);
		fprintf(stderr, "\n*** SKIP: %s is not runnable yet (%s) ***\n\n", stem, err.msg);
		pool_free(r);
		return NULL;
	}
	*out = pool_get(r, stem, 0, &st);
	ck_assert(*out != NULL);
	ck_assert_int_eq((*out)->task, POOL_TASK_CLASSIFICATION);
	return r;
}

static json_t *classify_file(pool_model *m, const char *rel)
{
	size_t len;
	uint8_t *data = ts_read_file(ts_shared_path(rel), &len);
	json_t *res = NULL;
	nn_err err = {0};

	ck_assert(data != NULL);
	ck_assert_msg(pool_predict(m, data, len, NULL, NULL, &res, NULL, NULL, NULL, &err) == POOL_OK, "%s: %s", rel,
		      err.msg);
	free(data);
	return res;
}

static bool top5_has(json_t *res, const char *const *labels)
{
	for (int i = 0; i < pred_count(res) && i < 5; i++)
		for (int k = 0; labels[k]; k++)
			if (!strcmp(pred_label(res, i), labels[k]))
				return true;
	return false;
}

static void print_top(const char *what, json_t *res)
{
	fprintf(stderr, "  %s:", what);
	for (int i = 0; i < pred_count(res); i++)
		fprintf(stderr, " %s %.3f%s", pred_label(res, i), pred_score(res, i), i + 1 < pred_count(res) ? "," : "\n");
}

static const char *const cat_labels[] = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx",
					 NULL};
static const char *const uniform_labels[] = {"military uniform", NULL};

static const char *const classifiers[] = {
	"mobilenet_v1_0.25_224",
	"mobilenet_v2_1.0_224_quant",
	"mobilenet_v1_0.25_224_quant_with_metadata",
	"mobilenet_v1_0.25_128_quant",
	"mobilenet_v1_0.5_160_quant",
	"tf2_mobilenet_v2_1.0_224_ptq",
};

START_TEST(test_classify_real)
{
	pool_model *m;
	pool_registry *r;
	json_t *res;
	double sum = 0;
	char what[256];

	tmp_setup();
	r = classifier_repo(classifiers[_i], &m);
	if (!r) {
		tmp_teardown();
		return;
	}
	res = classify_file(m, "images/cat_720p.jpg");
	snprintf(what, sizeof(what), "%s cat_720p", classifiers[_i]);
	print_top(what, res);
	ck_assert_int_eq(pred_count(res), 5);
	ck_assert_msg(top5_has(res, cat_labels), "%s: no cat in the top 5 of cat_720p.jpg", classifiers[_i]);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "image"), "width")), 1280);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "image"), "height")), 720);
	for (int i = 0; i < 5; i++) {
		ck_assert(pred_score(res, i) >= 0 && pred_score(res, i) <= 1.0 + 1e-6);
		sum += pred_score(res, i);
	}
	ck_assert(sum <= 1.0 + 1e-5); /* probabilities, softmaxed when the graph stops at logits */
	json_decref(res);
	res = classify_file(m, "images/grace_hopper.png");
	snprintf(what, sizeof(what), "%s grace_hopper", classifiers[_i]);
	print_top(what, res);
	ck_assert_msg(top5_has(res, uniform_labels), "%s: no military uniform in the top 5 of grace_hopper.png",
		      classifiers[_i]);
	json_decref(res);
	pool_put(m);
	pool_free(r);
	tmp_teardown();
}
END_TEST

/* ---- liteserve predict ------------------------------------------------------------------------------- */

/* Runs the liteserve binary with argv, stdout into out (NUL-terminated). Returns the exit status. */
static int run_liteserve(char *const argv[], char *out, size_t out_len)
{
	int fds[2], status;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	ck_assert(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (n + 1 < out_len && (k = read(fds[0], out + n, out_len - n - 1)) > 0)
		n += (size_t)k;
	out[n] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_cli_predict)
{
	char bin[1024], model[1024], image[1024], out[16384];
	size_t size, len;
	uint8_t *bytes = mean_model(8, 8, &size), *png = solid_png(10, 10, 0, 200, 0, &len);
	json_t *res, *lat;
	json_error_t jerr;

	tmp_setup();
	snprintf(bin, sizeof(bin), "%s", ts_liteserve_bin());
	/* repository layout: the label file and the name are found from the path */
	install("greenish", 4, bytes, size, rgb_labels, NULL);
	write_file(tpath(image, sizeof(image), "green.png"), png, len);
	tpath(model, sizeof(model), "repo/greenish/4/model.tflite");
	{
		char *argv[] = {bin, "predict", model, "--image", image, "--top-k", "2", NULL};
		ck_assert_int_eq(run_liteserve(argv, out, sizeof(out)), 0);
	}
	res = json_loads(out, 0, &jerr);
	ck_assert_msg(res != NULL, "not JSON: %s", out);
	ck_assert_str_eq(json_string_value(json_object_get(res, "model")), "greenish");
	ck_assert_str_eq(json_string_value(json_object_get(res, "task")), "classification");
	ck_assert_int_eq(pred_count(res), 2);
	ck_assert_str_eq(pred_label(res, 0), "green");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "image"), "width")), 10);
	lat = json_object_get(res, "latency_ms");
	ck_assert(json_is_real(json_object_get(lat, "inference")) && json_is_real(json_object_get(lat, "total")));
	json_decref(res);
	{
		/* a bare file with --task and --labels */
		char labels[1024], bare[1024];
		char *argv[] = {bin, "predict", bare, "--image", image, "--task", "classification", "--labels", labels, NULL};
		write_file(tpath(bare, sizeof(bare), "bare.tflite"), bytes, size);
		write_text(tpath(labels, sizeof(labels), "l.txt"), "r\ng\nb\n");
		ck_assert_int_eq(run_liteserve(argv, out, sizeof(out)), 0);
		res = json_loads(out, 0, &jerr);
		ck_assert_msg(res != NULL, "not JSON: %s", out);
		ck_assert_str_eq(json_string_value(json_object_get(res, "model")), "bare");
		ck_assert_str_eq(pred_label(res, 0), "g");
		json_decref(res);
	}
	{
		char *argv[] = {bin, "predict", model, NULL};
		ck_assert_int_eq(run_liteserve(argv, out, sizeof(out)), 2);
	}
	{
		char *argv[] = {bin, "predict", model, "--image", image, "--task", "nonsense", NULL};
		ck_assert_int_eq(run_liteserve(argv, out, sizeof(out)), 2);
	}
	{
		char *argv[] = {bin, "predict", model, "--image", model, NULL}; /* the model is no picture */
		ck_assert_int_eq(run_liteserve(argv, out, sizeof(out)), 1);
	}
	free(bytes);
	free(png);
	tmp_teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("repository");
	tcase_add_test(tc, test_name_rules);
	tcase_add_test(tc, test_config_good);
	tcase_add_loop_test(tc, test_config_errors, 0, (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(tc, test_config_file_limits);
	tcase_add_test(tc, test_repo_scan);
	tcase_add_test(tc, test_infer_shared_tasks);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_load_all_shared);
	tcase_add_test(tc, test_refcount_unload);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_unavailable_models);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_concurrent_requests);
	tcase_add_test(tc, test_reload_under_load);
	tcase_add_test(tc, test_free_waits_for_references);
	tcase_add_test(tc, test_infer_raw);
	suite_add_tcase(s, tc);

	tc = tcase_create("tasks");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_predict_colours);
	tcase_add_test(tc, test_predict_letterbox_raw);
	tcase_add_test(tc, test_predict_u8_logits);
	tcase_add_test(tc, test_predict_errors);
	tcase_add_loop_test(tc, test_preprocess_matches_golden, 0,
			    (int)(sizeof(golden_inputs) / sizeof(golden_inputs[0])));
	tcase_add_loop_test(tc, test_classify_real, 0, (int)(sizeof(classifiers) / sizeof(classifiers[0])));
	tcase_add_test(tc, test_cli_predict);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
