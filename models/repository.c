/* repository.c - see repository.h.
 *
 * DESIGN: everything here reads the disk or a verified model and decides;
 * nothing is loaded or cached (pool.c owns loaded models).  Directory names
 * are checked with repo_name_valid before they are joined to a path, and a
 * name that fails is logged with its non-printable bytes replaced, so a
 * hostile directory name cannot forge log lines.
 */
#include "repository.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* BuiltinOperator codes we look at. */
enum {
	OP_DEQUANTIZE = 6,
	OP_RESHAPE = 22,
	OP_SQUEEZE = 43,
	OP_CAST = 53,
	OP_ARG_MAX = 56,
	OP_QUANTIZE = 114,
};

bool repo_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > REPO_NAME_MAX || name[0] == '.' || strstr(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) && c < 128) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

static const char *const task_names[] = {
	[POOL_TASK_TENSOR] = "tensor",
	[POOL_TASK_CLASSIFICATION] = "classification",
	[POOL_TASK_DETECTION] = "detection",
	[POOL_TASK_POSE] = "pose",
	[POOL_TASK_SEGMENTATION] = "segmentation",
	[POOL_TASK_SMART_REPLY] = "smart_reply",
};

const char *pool_task_name(pool_task t)
{
	if ((unsigned)t < sizeof(task_names) / sizeof(task_names[0]))
		return task_names[t];
	return "unknown";
}

bool repo_task_from_name(const char *s, pool_task *out)
{
	for (size_t i = 0; s && i < sizeof(task_names) / sizeof(task_names[0]); i++) {
		if (!strcmp(s, task_names[i])) {
			*out = (pool_task)i;
			return true;
		}
	}
	return false;
}

/* ---- config.json ------------------------------------------------------ */

void repo_config_init(repo_config *c)
{
	memset(c, 0, sizeof(*c));
	c->task = POOL_TASK_TENSOR;
	for (int i = 0; i < 3; i++) {
		c->mean[i] = 127.5f;
		c->std[i] = 127.5f;
	}
	c->instances = -1;
	c->threads = -1;
	c->max_queue = -1;
	c->jpeg_scaling = true;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static nn_status get_int(const char *key, json_t *v, int lo, int hi, int *out, nn_err *err)
{
	json_int_t x;

	if (!json_is_integer(v))
		return nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: \"%s\" must be an integer %d..%d, not %s", key,
				  lo, hi, json_kind(v));
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: \"%s\" is %lld, must be %d..%d", key,
				  (long long)x, lo, hi);
	*out = (int)x;
	return NN_OK;
}

/* "mean" / "std": a number or an array of 1 or 3 numbers (one per channel R, G, B). */
static nn_status get_channels(const char *key, json_t *v, bool positive, float out[3], nn_err *err)
{
	double x[3];
	size_t n;

	if (json_is_number(v)) {
		x[0] = x[1] = x[2] = json_number_value(v);
	} else if (json_is_array(v) && ((n = json_array_size(v)) == 1 || n == 3)) {
		for (size_t i = 0; i < 3; i++) {
			json_t *e = json_array_get(v, n == 1 ? 0 : i);
			if (!json_is_number(e))
				return nn_err_set(err, NN_ERR_BAD_MODEL,
						  "config.json: preprocess.%s[%zu] must be a number, not %s", key,
						  n == 1 ? (size_t)0 : i, json_kind(e));
			x[i] = json_number_value(e);
		}
	} else {
		return nn_err_set(err, NN_ERR_BAD_MODEL,
				  "config.json: preprocess.%s must be a number or an array of 1 or 3 numbers", key);
	}
	for (int i = 0; i < 3; i++) {
		if (!isfinite(x[i]) || fabs(x[i]) > 1e6 || (positive && !(x[i] > 0)))
			return nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: preprocess.%s value %g is out of range%s",
					  key, x[i], positive ? " (must be > 0)" : "");
		out[i] = (float)x[i];
	}
	return NN_OK;
}

static nn_status parse_preprocess(json_t *pre, repo_config *c, nn_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(pre))
		return nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: \"preprocess\" must be an object, not %s",
				  json_kind(pre));
	json_object_foreach(pre, key, v) {
		if (!strcmp(key, "mode")) {
			const char *s = json_string_value(v);
			if (s && !strcmp(s, "raw"))
				c->raw = true;
			else if (s && !strcmp(s, "mean_std"))
				c->raw = false;
			else
				return nn_err_set(err, NN_ERR_BAD_MODEL,
						  "config.json: preprocess.mode must be \"raw\" or \"mean_std\"");
			c->has_mode = true;
		} else if (!strcmp(key, "mean")) {
			if (get_channels("mean", v, false, c->mean, err) != NN_OK)
				return err ? err->code : NN_ERR_BAD_MODEL;
			c->has_mean = true;
		} else if (!strcmp(key, "std")) {
			if (get_channels("std", v, true, c->std, err) != NN_OK)
				return err ? err->code : NN_ERR_BAD_MODEL;
			c->has_std = true;
		} else if (!strcmp(key, "resize")) {
			const char *s = json_string_value(v);
			if (s && !strcmp(s, "letterbox"))
				c->letterbox = true;
			else if (s && !strcmp(s, "stretch"))
				c->letterbox = false;
			else
				return nn_err_set(err, NN_ERR_BAD_MODEL,
						  "config.json: preprocess.resize must be \"stretch\" or \"letterbox\"");
		} else if (!strcmp(key, "jpeg_scaling")) {
			if (!json_is_boolean(v))
				return nn_err_set(err, NN_ERR_BAD_MODEL,
						  "config.json: preprocess.jpeg_scaling must be true or false");
			c->jpeg_scaling = json_is_true(v);
		} else {
			return nn_err_set(err, NN_ERR_BAD_MODEL,
					  "config.json: unknown key \"preprocess.%.64s\" (known: mode, mean, std, resize, "
					  "jpeg_scaling)",
					  key);
		}
	}
	if (c->has_mode && c->raw && (c->has_mean || c->has_std))
		return nn_err_set(err, NN_ERR_BAD_MODEL,
				  "config.json: preprocess.mean/std apply to mode \"mean_std\", not \"raw\"");
	return NN_OK;
}

nn_status repo_config_parse(const char *text, size_t len, repo_config *c, nn_err *err)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	nn_status st = NN_OK;

	repo_config_init(c);
	if (len > REPO_CONFIG_MAX_BYTES)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: %zu bytes, limit %u", len, REPO_CONFIG_MAX_BYTES);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: line %d column %d: %s", jerr.line, jerr.column,
				  jerr.text);
	if (!json_is_object(root)) {
		st = nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: must be a JSON object, not %s", json_kind(root));
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "task")) {
			if (!repo_task_from_name(json_string_value(v), &c->task)) {
				st = nn_err_set(err, NN_ERR_BAD_MODEL,
						"config.json: \"task\" must be one of classification, detection, pose, "
						"segmentation, smart_reply, tensor");
				goto out;
			}
			c->has_task = true;
		} else if (!strcmp(key, "labels")) {
			const char *s = json_string_value(v);
			if (!s || !repo_name_valid(s)) {
				st = nn_err_set(err, NN_ERR_BAD_MODEL,
						"config.json: \"labels\" must be a file name in the model's directory "
						"([A-Za-z0-9._-], no '/' or \"..\")");
				goto out;
			}
			snprintf(c->labels, sizeof(c->labels), "%s", s);
		} else if (!strcmp(key, "preprocess")) {
			if ((st = parse_preprocess(v, c, err)) != NN_OK)
				goto out;
		} else if (!strcmp(key, "instances")) {
			if ((st = get_int(key, v, 1, REPO_MAX_INSTANCES, &c->instances, err)) != NN_OK)
				goto out;
		} else if (!strcmp(key, "threads")) {
			if ((st = get_int(key, v, 1, NN_MAX_THREADS, &c->threads, err)) != NN_OK)
				goto out;
		} else if (!strcmp(key, "max_queue")) {
			if ((st = get_int(key, v, 0, REPO_MAX_QUEUE, &c->max_queue, err)) != NN_OK)
				goto out;
		} else {
			st = nn_err_set(err, NN_ERR_BAD_MODEL,
					"config.json: unknown key \"%.64s\" (known: task, labels, preprocess, instances, "
					"threads, max_queue)",
					key);
			goto out;
		}
	}
out:
	json_decref(root);
	return st;
}

nn_status repo_config_load(const char *path, repo_config *c, nn_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	nn_status st;

	repo_config_init(c);
	if (!f)
		return nn_err_set(err, NN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	buf = malloc(REPO_CONFIG_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory reading %s", path);
	}
	/* read one byte more than the limit to detect an oversized file */
	n = fread(buf, 1, REPO_CONFIG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		st = nn_err_set(err, NN_ERR_IO, "cannot read %s", path);
		goto out;
	}
	if (n > REPO_CONFIG_MAX_BYTES) {
		st = nn_err_set(err, NN_ERR_BAD_MODEL, "config.json: more than %u bytes", REPO_CONFIG_MAX_BYTES);
		goto out;
	}
	st = repo_config_parse(buf, n, c, err);
out:
	free(buf);
	fclose(f);
	return st;
}

/* ---- directories ------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Positive decimal integer with at most 18 digits (no sign, no spaces). */
static bool parse_version(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v > 0;
}

nn_status repo_latest_version(const char *dir, const char *name, int64_t *version, nn_err *err)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int64_t best = 0;

	*version = 0;
	if (!repo_name_valid(name))
		return nn_err_set(err, NN_ERR_INVALID_ARG, "invalid model name");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	d = opendir(path);
	if (!d)
		return nn_err_set(err, NN_ERR_IO, "cannot open model directory %s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char sub[4096 + 32];
		int64_t v;
		if (!parse_version(e->d_name, &v) || v <= best)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (is_dir(sub))
			best = v;
	}
	closedir(d);
	if (best == 0)
		return nn_err_set(err, NN_ERR_IO, "no version directory (expected %s/<positive integer>/model.tflite)",
				  name);
	*version = best;
	return NN_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy of s fit for a log line: printable ASCII only, at most 64 bytes. */
static void log_safe(const char *s, char *buf, size_t len)
{
	size_t k = 0;
	for (; s[k] && k + 1 < len && k < 64; k++)
		buf[k] = (s[k] >= 0x20 && s[k] < 0x7f) ? s[k] : '?';
	buf[k] = 0;
}

nn_status repo_list(const char *dir, char ***names, int *n, nn_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **arr = NULL;
	int cnt = 0, cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return nn_err_set(err, NN_ERR_IO, "cannot open model repository %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char path[4096 + 256];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!is_dir(path))
			continue;
		if (!repo_name_valid(e->d_name)) {
			char safe[80];
			log_safe(e->d_name, safe, sizeof(safe));
			fprintf(stderr, "model directory '%s' skipped: a model name is 1..%d characters of [A-Za-z0-9._-]\n",
				safe, REPO_NAME_MAX);
			continue;
		}
		if (cnt == REPO_MAX_MODELS) {
			fprintf(stderr, "model repository %s: more than %d models, the rest are skipped\n", dir,
				REPO_MAX_MODELS);
			break;
		}
		if (cnt == cap) {
			int nc = cap ? cap * 2 : 16;
			char **na = realloc(arr, (size_t)nc * sizeof(*arr));
			if (!na)
				goto oom;
			arr = na;
			cap = nc;
		}
		if (!(arr[cnt] = strdup(e->d_name)))
			goto oom;
		cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(arr, (size_t)cnt, sizeof(*arr), cmp_str);
	*names = arr;
	*n = cnt;
	return NN_OK;
oom:
	closedir(d);
	repo_list_free(arr, cnt);
	return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory listing %s", dir);
}

void repo_list_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- task inference ------------------------------------------------------ */

int repo_producer(const tfl_model *m, int32_t t)
{
	for (int i = 0; i < m->n_ops; i++)
		for (int k = 0; k < m->ops[i].n_outputs; k++)
			if (m->ops[i].outputs[k] == t)
				return i;
	return -1;
}

static bool has_custom_op(const tfl_model *m, const char *name)
{
	for (int i = 0; i < m->n_ops; i++)
		if (m->ops[i].builtin == TFL_BUILTIN_CUSTOM && m->ops[i].custom_name &&
		    !strcmp(m->ops[i].custom_name, name))
			return true;
	return false;
}

static const tfl_tensor *output(const tfl_model *m, int i)
{
	return &m->tensors[m->outputs[i]];
}

bool repo_has_image_input(const tfl_model *m)
{
	const tfl_tensor *t;

	if (m->n_inputs != 1)
		return false;
	t = &m->tensors[m->inputs[0]];
	return t->rank == 4 && t->dims[0] == 1 && t->dims[1] > 0 && t->dims[2] > 0 && t->dims[3] == 3 &&
	       (t->type == NN_U8 || t->type == NN_I8 || t->type == NN_F32);
}

/* An ARG_MAX, possibly followed by shape-only ops or a CAST, writes tensor t. */
static bool made_by_argmax(const tfl_model *m, int32_t t)
{
	for (int hops = 0; hops < 8; hops++) {
		int p = repo_producer(m, t);
		if (p < 0)
			return false;
		if (m->ops[p].builtin == OP_ARG_MAX)
			return true;
		if (m->ops[p].builtin != OP_RESHAPE && m->ops[p].builtin != OP_SQUEEZE && m->ops[p].builtin != OP_CAST)
			return false;
		if (m->ops[p].n_inputs < 1 || m->ops[p].inputs[0] < 0)
			return false;
		t = m->ops[p].inputs[0];
	}
	return false;
}

pool_task repo_infer_task(const tfl_model *m, int n_labels)
{
	const tfl_tensor *o;

	if (m->n_inputs < 1 || m->n_outputs < 1)
		return POOL_TASK_TENSOR;
	if (m->tensors[m->inputs[0]].type == NN_STRING &&
	    (has_custom_op(m, "Predict") || has_custom_op(m, "ExtractFeatures") || has_custom_op(m, "Normalize")))
		return POOL_TASK_SMART_REPLY;
	if (!repo_has_image_input(m))
		return POOL_TASK_TENSOR;
	if (m->n_outputs == 4 && has_custom_op(m, "TFLite_Detection_PostProcess"))
		return POOL_TASK_DETECTION;
	if (has_custom_op(m, "PosenetDecoderOp"))
		return POOL_TASK_POSE;
	if (m->n_outputs == 4) {
		for (int i = 0; i < 4; i++) {
			o = output(m, i);
			if (o->rank == 4 && o->dims[0] == 1 && o->dims[1] > 0 && o->dims[2] > 0 && o->dims[3] == 17)
				return POOL_TASK_POSE;
		}
		return POOL_TASK_TENSOR;
	}
	if (m->n_outputs != 1)
		return POOL_TASK_TENSOR;
	o = output(m, 0);
	if (o->rank == 4 && o->dims[0] == 1 && o->dims[1] == 1 && o->dims[2] == 17 && o->dims[3] == 3)
		return POOL_TASK_POSE;
	if (o->dims[0] == 1 && ((o->rank == 2 && o->dims[1] >= 2) ||
				(o->rank == 4 && o->dims[1] == 1 && o->dims[2] == 1 && o->dims[3] >= 2))) {
		int n = o->dims[o->rank - 1];
		return n_labels == n ? POOL_TASK_CLASSIFICATION : POOL_TASK_TENSOR;
	}
	if (o->rank == 4 && o->dims[0] == 1 && o->dims[1] >= 64 && o->dims[2] >= 64 && o->type == NN_F32 &&
	    o->dims[3] >= 2 && (n_labels > 0 ? o->dims[3] == n_labels : o->dims[3] != 3))
		return POOL_TASK_SEGMENTATION;
	if (o->rank == 3 && o->dims[0] == 1 && o->dims[1] > 0 && o->dims[2] > 0 &&
	    (o->type == NN_I32 || o->type == NN_I64 || o->type == NN_U8) && made_by_argmax(m, m->outputs[0]))
		return POOL_TASK_SEGMENTATION;
	return POOL_TASK_TENSOR;
}
