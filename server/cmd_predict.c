/* cmd_predict.c - `liteserve predict MODEL.tflite --image IMG|--text TEXT [--task T]
 * [--labels F] [--top-k K] [--threshold S] [--max-results N] [--max-poses N]
 * [--threads N] [--output FILE.png [--overlay]]`.
 *
 * DESIGN: the task endpoint without the server: the model is loaded by the
 * pool layer as a one-model pool (pool_model_open_file, one instance) and
 * the picture goes through pool_predict, so the JSON printed here is the
 * JSON the daemon answers: model, task, the adapter's result (predictions,
 * image) and latency_ms per stage.  --text sends TEXT as text/plain, the
 * smart-reply input.
 *
 * Labels: --labels F, else labels.txt beside the model, else (repository
 * layout NAME/VERSION/model.tflite) NAME/labels.txt.  The model's name is
 * NAME in that layout, else the file name without ".tflite".
 *
 * --output FILE asks a segmentation model for its PNG answer (the server's
 * ?output=png, or ?output=overlay with --overlay) and writes it to FILE;
 * stdout then gets a short JSON note (file, bytes, latency) instead of the
 * task JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "pool.h"
#include "task.h"

#define PREDICT_MAX_IMAGE_BYTES (256u << 20)

static void predict_usage(FILE *f)
{
	fprintf(f, "usage: liteserve predict MODEL.tflite --image IMG|--text TEXT [--task T] [--labels F] [--top-k K]\n"
		   "                         [--threshold S] [--max-results N] [--max-poses N] [--threads N]\n"
		   "                         [--output FILE.png [--overlay]]\n"
		   "Runs one JPEG/PNG picture through the model's task adapter and prints the JSON the\n"
		   "server's task endpoint answers.  T: classification, detection, pose, segmentation\n"
		   "(default: inferred from the model).  F: label file (default: labels.txt beside the\n"
		   "model or in NAME/ for NAME/VERSION/model.tflite).  --output (segmentation): write\n"
		   "the class mask as an 8-bit PNG to FILE (--overlay: the colour overlay instead).\n"
		   "--text (smart reply): the message, sent as text/plain.\n");
}

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f) {
		fprintf(stderr, "liteserve predict: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "liteserve predict: cannot read %s\n", path);
		goto out;
	}
	if ((unsigned long)n > PREDICT_MAX_IMAGE_BYTES) {
		fprintf(stderr, "liteserve predict: %s has %ld bytes, limit %u\n", path, n, PREDICT_MAX_IMAGE_BYTES);
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fprintf(stderr, "liteserve predict: cannot read %s\n", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*size = (size_t)n;
out:
	fclose(f);
	return buf;
}

static bool is_file(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Name and default label file of the model at path (see DESIGN). */
static void model_name_and_labels(const char *path, char *name, size_t name_len, char *labels, size_t labels_len)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t dir_len = slash ? (size_t)(slash - path) : 0;
	const char *dot = strstr(base, ".tflite");
	size_t base_len = dot && dot[7] == 0 ? (size_t)(dot - base) : strlen(base);

	snprintf(name, name_len, "%.*s", (int)base_len, base);
	labels[0] = 0;
	snprintf(labels, labels_len, "%.*s%slabels.txt", (int)dir_len, path, slash ? "/" : "");
	if (is_file(labels))
		return;
	labels[0] = 0;
	if (slash && dir_len > 0) {
		/* NAME/VERSION/model.tflite */
		const char *vs = path + dir_len;
		while (vs > path && vs[-1] != '/')
			vs--;
		if (all_digits(vs, (size_t)(path + dir_len - vs)) && vs > path) {
			const char *ns = vs - 1;
			size_t parent_len = (size_t)(ns - path);
			while (ns > path && ns[-1] != '/')
				ns--;
			if (vs - 1 > ns)
				snprintf(name, name_len, "%.*s", (int)(vs - 1 - ns), ns);
			snprintf(labels, labels_len, "%.*s/labels.txt", (int)parent_len, path);
			if (!is_file(labels))
				labels[0] = 0;
		}
	}
}

int cmd_predict(int argc, char **argv)
{
	const char *model_path = NULL, *image_path = NULL, *labels_arg = NULL, *task_arg = NULL;
	const char *output_path = NULL, *text = NULL;
	bool overlay = false;
	char name[128], labels[4096];
	pool_task_params params = {.top_k = 0, .threshold = -1.0f};
	pool_defaults def = {.instances = 1, .threads = 1, .max_queue = 0, .max_pixels = 0};
	repo_config cfg;
	pool_model *m = NULL;
	pool_timing tm = {0};
	json_t *result = NULL, *out;
	uint8_t *img = NULL, *png = NULL;
	size_t img_len = 0, png_len = 0;
	nn_err err = {0};
	pool_status ps;
	double t0;
	int rc = 1;

	repo_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			predict_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--image") && i + 1 < argc) {
			image_path = argv[++i];
		} else if (!strcmp(argv[i], "--text") && i + 1 < argc) {
			text = argv[++i];
		} else if (!strcmp(argv[i], "--labels") && i + 1 < argc) {
			labels_arg = argv[++i];
		} else if (!strcmp(argv[i], "--task") && i + 1 < argc) {
			task_arg = argv[++i];
			if (!repo_task_from_name(task_arg, &cfg.task)) {
				fprintf(stderr, "liteserve predict: unknown task '%s' (classification, detection, pose, "
						"segmentation, smart_reply, tensor)\n",
					task_arg);
				return 2;
			}
			cfg.has_task = true;
		} else if (!strcmp(argv[i], "--top-k") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 1, 100000, &params.top_k)) {
				fprintf(stderr, "liteserve predict: --top-k takes 1..100000\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
			char *end;
			errno = 0;
			params.threshold = strtof(argv[++i], &end);
			if (errno || *end || end == argv[i] || !(params.threshold >= 0.0f && params.threshold <= 1.0f)) {
				fprintf(stderr, "liteserve predict: --threshold takes a number in [0, 1]\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--max-results") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 1, 10000, &params.max_results)) {
				fprintf(stderr, "liteserve predict: --max-results takes 1..10000\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--max-poses") && i + 1 < argc) {
			/* the range of the endpoint's max_poses (handlers/task.c) */
			if (cli_parse_int(argv[++i], 1, 1000, &params.max_poses)) {
				fprintf(stderr, "liteserve predict: --max-poses takes 1..1000\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--output") && i + 1 < argc) {
			output_path = argv[++i];
		} else if (!strcmp(argv[i], "--overlay")) {
			overlay = true;
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 1, NN_MAX_THREADS, &def.threads)) {
				fprintf(stderr, "liteserve predict: --threads takes 1..%d\n", NN_MAX_THREADS);
				return 2;
			}
		} else if (argv[i][0] != '-' && !model_path) {
			model_path = argv[i];
		} else {
			fprintf(stderr, "liteserve predict: unexpected argument '%s'\n", argv[i]);
			predict_usage(stderr);
			return 2;
		}
	}
	if (!model_path || !image_path == !text) {
		if (model_path && image_path)
			fprintf(stderr, "liteserve predict: give --image or --text, not both\n");
		predict_usage(stderr);
		return 2;
	}
	if (overlay && !output_path) {
		fprintf(stderr, "liteserve predict: --overlay needs --output FILE.png\n");
		return 2;
	}
	if (output_path)
		params.output = overlay ? "overlay" : "png";
	model_name_and_labels(model_path, name, sizeof(name), labels, sizeof(labels));
	if (labels_arg)
		snprintf(labels, sizeof(labels), "%s", labels_arg);
	if (text) {
		img_len = strlen(text);
		if (!(img = (uint8_t *)strdup(text))) {
			fprintf(stderr, "liteserve predict: out of memory\n");
			return 1;
		}
	} else if (!(img = read_file(image_path, &img_len))) {
		return 1;
	}
	ps = pool_model_open_file(model_path, name, &cfg, labels[0] ? labels : NULL, &def, &m, &err);
	if (ps != POOL_OK) {
		fprintf(stderr, "liteserve predict: %s: %s\n", model_path, err.msg);
		goto out;
	}
	t0 = pool_now_ms();
	ps = pool_predict(m, img, img_len, text ? "text/plain" : NULL, &params, &result, &png, &png_len, &tm, &err);
	if (ps != POOL_OK) {
		fprintf(stderr, "liteserve predict: %s\n", err.msg);
		if (m->task == POOL_TASK_TENSOR && !task_arg)
			fprintf(stderr, "liteserve predict: (a classifier needs a label file with one line per class: "
					"--labels FILE, or --task classification)\n");
		goto out;
	}
	if (output_path && !png) {
		fprintf(stderr, "liteserve predict: --output is for segmentation models; %s is %s\n", m->name,
			pool_task_name(m->task));
		goto out;
	}
	if (png) {
		FILE *f = fopen(output_path, "wb");
		bool ok = f && fwrite(png, 1, png_len, f) == png_len;
		if (f && fclose(f) != 0)
			ok = false;
		if (!ok) {
			fprintf(stderr, "liteserve predict: cannot write %s: %s\n", output_path, strerror(errno));
			goto out;
		}
	}
	out = json_object();
	json_object_set_new(out, "model", json_string(m->name));
	json_object_set_new(out, "task", json_string(pool_task_name(m->task)));
	if (result)
		json_object_update(out, result);
	if (png) {
		json_object_set_new(out, "output", json_string(output_path));
		json_object_set_new(out, "bytes", json_integer((json_int_t)png_len));
	}
	{
		json_t *lat = json_object();
		json_object_set_new(lat, "decode", json_real(tm.decode));
		json_object_set_new(lat, "preprocess", json_real(tm.preprocess));
		json_object_set_new(lat, "queue", json_real(tm.queue));
		json_object_set_new(lat, "inference", json_real(tm.inference));
		json_object_set_new(lat, "postprocess", json_real(tm.postprocess));
		json_object_set_new(lat, "total", json_real(pool_now_ms() - t0));
		json_object_set_new(out, "latency_ms", lat);
	}
	cli_print_json(out);
	rc = 0;
out:
	json_decref(result);
	free(png);
	free(img);
	pool_put(m);
	return rc;
}
