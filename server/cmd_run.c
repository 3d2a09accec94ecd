/* cmd_run.c - `liteserve run MODEL --input F.bin ... --out DIR`.
 *
 * DESIGN: raw little-endian tensors in and out, in the layout of
 * shared/golden (output_<i>.bin + outputs.json with shape, dtype,
 * quantization, nbytes and sha256), so a golden case is checked by running
 * its inputs and comparing files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sha256.h"

#define MAX_INPUTS 64

static void run_usage(FILE *f)
{
	fprintf(f, "usage: liteserve run MODEL.tflite --input FILE.bin [--input FILE.bin ...] --out DIR [--threads N]\n"
		   "Each input file holds the raw bytes of one input tensor, in input order.\n"
		   "Writes DIR/output_<i>.bin (raw little-endian) and DIR/outputs.json.\n");
}

static int read_exact(const char *path, void *dst, size_t want)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f) {
		fprintf(stderr, "liteserve run: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		fprintf(stderr, "liteserve run: cannot read %s\n", path);
		return -1;
	}
	if ((size_t)n != want) {
		fclose(f);
		fprintf(stderr, "liteserve run: %s has %ld bytes but the input tensor needs %zu\n", path, n, want);
		return -1;
	}
	if (want && fread(dst, 1, want, f) != want) {
		fclose(f);
		fprintf(stderr, "liteserve run: short read on %s\n", path);
		return -1;
	}
	fclose(f);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *model_path = NULL, *out_dir = NULL, *inputs[MAX_INPUTS];
	int n_inputs = 0, threads = 1, rc = 1;
	cli_model cm = {0};
	nn_session *s = NULL;
	nn_err err = {0};
	json_t *outs = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			run_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
			if (n_inputs == MAX_INPUTS) {
				fprintf(stderr, "liteserve run: more than %d inputs\n", MAX_INPUTS);
				return 2;
			}
			inputs[n_inputs++] = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out_dir = argv[++i];
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 1, NN_MAX_THREADS, &threads)) {
				fprintf(stderr, "liteserve run: --threads takes 1..%d\n", NN_MAX_THREADS);
				return 2;
			}
		} else if (argv[i][0] != '-' && !model_path) {
			model_path = argv[i];
		} else {
			fprintf(stderr, "liteserve run: unexpected argument '%s'\n", argv[i]);
			run_usage(stderr);
			return 2;
		}
	}
	if (!model_path || !out_dir) {
		run_usage(stderr);
		return 2;
	}
	if (cli_model_open(model_path, &cm, &err)) {
		fprintf(stderr, "liteserve run: %s: %s\n", model_path, err.msg);
		return 1;
	}
	if (n_inputs != nn_graph_n_inputs(cm.graph)) {
		fprintf(stderr, "liteserve run: the model has %d inputs but %d --input files were given\n",
			nn_graph_n_inputs(cm.graph), n_inputs);
		goto out;
	}
	if (nn_session_create(cm.graph, threads, &s, &err) != NN_OK) {
		fprintf(stderr, "liteserve run: %s\n", err.msg);
		goto out;
	}
	for (int i = 0; i < n_inputs; i++) {
		nn_tensor *t = nn_session_input(s, i);
		if (read_exact(inputs[i], t->data, t->bytes))
			goto out;
	}
	if (nn_session_invoke(s, &err) != NN_OK) {
		fprintf(stderr, "liteserve run: %s\n", err.msg);
		goto out;
	}
	if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "liteserve run: cannot create %s: %s\n", out_dir, strerror(errno));
		goto out;
	}
	outs = json_array();
	for (int i = 0; i < nn_graph_n_outputs(cm.graph); i++) {
		const nn_tensor *t = nn_session_output(s, i);
		char path[4096], name[32], hex[65];
		FILE *f;
		json_t *o;

		snprintf(name, sizeof(name), "output_%d.bin", i);
		snprintf(path, sizeof(path), "%s/%s", out_dir, name);
		f = fopen(path, "wb");
		if (!f || (t->bytes && fwrite(t->data, 1, t->bytes, f) != t->bytes) || fclose(f) != 0) {
			fprintf(stderr, "liteserve run: cannot write %s\n", path);
			goto out;
		}
		ls_sha256_hex(t->data, t->bytes, hex);
		o = cli_tensor_json(t, i, cm.model->outputs[i]);
		json_object_set_new(o, "file", json_string(name));
		json_object_set_new(o, "sha256", json_string(hex));
		json_array_append_new(outs, o);
	}
	{
		char path[4096];
		json_t *doc = json_object();
		json_object_set_new(doc, "model", json_string(model_path));
		json_object_set_new(doc, "outputs", outs);
		outs = NULL;
		snprintf(path, sizeof(path), "%s/outputs.json", out_dir);
		if (json_dump_file(doc, path, JSON_INDENT(1) | JSON_REAL_PRECISION(9)) != 0) {
			fprintf(stderr, "liteserve run: cannot write %s\n", path);
			json_decref(doc);
			goto out;
		}
		json_decref(doc);
	}
	rc = 0;
out:
	json_decref(outs);
	nn_session_free(s);
	cli_model_close(&cm);
	return rc;
}
