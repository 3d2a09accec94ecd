/* cmd_bench.c - `liteserve bench MODEL`: how long invoke takes.
 *
 * DESIGN: times nn_session_invoke alone (no file or image work) over warm
 * runs and reports min, median and p90 in milliseconds, with the CPU level,
 * the BLAS in use and each node's chosen kernel variant, so a number can be
 * traced to the code that produced it.  --per-op adds the mean time of every
 * node (and its fastest run, whose sum over nodes is a robust figure on a
 * shared machine) and the total per op type.  Inputs are fixed pseudo-random values.
 * "macs" counts the multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED from the prepared shapes (other ops are a few percent of
 * a convolutional network's arithmetic), so scripts/bench can turn a median
 * into effective GOP/s = 2 * macs / median.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas.h"
#include "cli.h"
#include "cpu.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void fill_random(nn_tensor *t, uint32_t *state)
{
	size_t n = nn_dtype_size(t->type) ? t->bytes / nn_dtype_size(t->type) : 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t x = *state;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		*state = x;
		switch (t->type) {
		case NN_F32: ((float *)t->data)[i] = (float)(x >> 8) / 8388608.0f - 1.0f; break;
		case NN_U8: case NN_I8: ((uint8_t *)t->data)[i] = (uint8_t)x; break;
		default: memset((uint8_t *)t->data + i * nn_dtype_size(t->type), 0, nn_dtype_size(t->type)); break;
		}
	}
}

/* Multiply-accumulates of one node: each output element of a convolution
 * sums one window (kh * kw * ic taps; kh * kw for depthwise), each output
 * of a fully-connected layer one weight row.  0 for other ops. */
static double node_macs(nn_graph *g, const nn_node *n)
{
	const nn_tensor *o, *f;
	double out;

	if (n->n_inputs < 2 || n->n_outputs < 1)
		return 0;
	o = nn_out(g, n, 0);
	f = nn_in(g, n, 1);
	if (!o || !f)
		return 0;
	out = (double)nn_tensor_count(o);
	if (!strcmp(n->kernel->name, "CONV_2D") && f->rank == 4 && f->dims[0] > 0)
		return out * (double)nn_tensor_count(f) / f->dims[0];
	if (!strcmp(n->kernel->name, "DEPTHWISE_CONV_2D") && f->rank == 4 && f->dims[3] > 0)
		return out * (double)nn_tensor_count(f) / f->dims[3];
	if (!strcmp(n->kernel->name, "FULLY_CONNECTED") && f->rank == 2)
		return out * (double)f->dims[1];
	return 0;
}

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: liteserve bench MODEL.tflite [--threads N] [--runs R] [--warmup W] [--per-op]\n"
		   "Times invoke alone over R warm runs (default 50, after W = 5 warm-up runs) and prints\n"
		   "min/median/p90 ms as JSON, with \"macs\" (multiply-accumulates of the convolutions and\n"
		   "fully-connected layers). --per-op adds the mean and minimum time of every operator and\n"
		   "the sum of the minima (the figure least disturbed by other processes on a busy machine).\n");
}

int cmd_bench(int argc, char **argv)
{
	const char *path = NULL;
	int threads = 1, runs = 50, warmup = 5, per_op = 0, rc = 1;
	cli_model cm = {0};
	nn_session *s = NULL;
	nn_err err = {0};
	double *ms = NULL, t0;
	uint64_t *prof = NULL, *prev = NULL, *node_min = NULL;
	uint32_t seed = 12345;
	json_t *out;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			bench_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 1, NN_MAX_THREADS, &threads))
				goto usage;
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 1, 1000000, &runs))
				goto usage;
		} else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
			if (cli_parse_int(argv[++i], 0, 1000000, &warmup))
				goto usage;
		} else if (!strcmp(argv[i], "--per-op")) {
			per_op = 1;
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			goto usage;
		}
	}
	if (!path)
		goto usage;
	if (cli_model_open(path, &cm, &err)) {
		fprintf(stderr, "liteserve bench: %s: %s\n", path, err.msg);
		return 1;
	}
	if (nn_session_create(cm.graph, threads, &s, &err) != NN_OK) {
		fprintf(stderr, "liteserve bench: %s\n", err.msg);
		goto out;
	}
	for (int i = 0; i < nn_graph_n_inputs(cm.graph); i++)
		fill_random(nn_session_input(s, i), &seed);
	ms = calloc((size_t)runs, sizeof(double));
	prof = calloc((size_t)cm.graph->n_nodes + 1, sizeof(uint64_t));
	prev = calloc((size_t)cm.graph->n_nodes + 1, sizeof(uint64_t));
	node_min = calloc((size_t)cm.graph->n_nodes + 1, sizeof(uint64_t));
	if (!ms || !prof || !prev || !node_min) {
		fprintf(stderr, "liteserve bench: out of memory\n");
		goto out;
	}
	for (int i = 0; i < warmup; i++)
		if (nn_session_invoke(s, &err) != NN_OK)
			goto fail;
	if (per_op)
		nn_session_set_profile(s, prof);
	for (int i = 0; i < runs; i++) {
		t0 = now_ms();
		if (nn_session_invoke(s, &err) != NN_OK)
			goto fail;
		ms[i] = now_ms() - t0;
		/* each node's fastest run: on a shared machine the minimum is the
		 * figure least disturbed by other processes */
		for (int n = 0; per_op && n < cm.graph->n_nodes; n++) {
			uint64_t d = prof[n] - prev[n];
			if (i == 0 || d < node_min[n])
				node_min[n] = d;
			prev[n] = prof[n];
		}
	}
	qsort(ms, (size_t)runs, sizeof(double), cmp_double);
	out = json_object();
	json_object_set_new(out, "model", json_string(path));
	json_object_set_new(out, "threads", json_integer(threads));
	json_object_set_new(out, "runs", json_integer(runs));
	json_object_set_new(out, "warmup", json_integer(warmup));
	json_object_set_new(out, "min_ms", json_real(ms[0]));
	json_object_set_new(out, "median_ms", json_real(runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2));
	json_object_set_new(out, "p90_ms", json_real(ms[(int)((runs - 1) * 0.9 + 0.5)]));
	json_object_set_new(out, "max_ms", json_real(ms[runs - 1]));
	{
		double macs = 0;
		for (int i = 0; i < cm.graph->n_nodes; i++)
			macs += node_macs(cm.graph, &cm.graph->nodes[i]);
		json_object_set_new(out, "macs", json_integer((json_int_t)macs));
	}
	{
		/* what the arithmetic runs in: the weights of the first convolution */
		const char *prec = "none";
		for (int i = 0; i < cm.graph->n_nodes; i++) {
			const nn_node *n = &cm.graph->nodes[i];
			const nn_tensor *f;
			if (!node_macs(cm.graph, n) || !(f = nn_in(cm.graph, n, 1)))
				continue;
			prec = nn_dtype_name(f->type);
			json_object_set_new(out, "per_channel", json_boolean(f->quant && f->quant->n > 1));
			break;
		}
		json_object_set_new(out, "precision", json_string(prec));
	}
	json_object_set_new(out, "cpu", json_string(nn_cpu_level()));
	json_object_set_new(out, "blas", json_string(nn_blas_name()));
	json_object_set_new(out, "reference_kernels", json_boolean(nn_force_reference()));
	{
		json_t *kernels = json_object();
		for (int i = 0; i < cm.graph->n_nodes; i++) {
			char key[96];
			snprintf(key, sizeof(key), "%s/%s", cm.graph->nodes[i].kernel->name, cm.graph->nodes[i].impl);
			json_t *c = json_object_get(kernels, key);
			json_object_set_new(kernels, key, json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		json_object_set_new(out, "kernels", kernels);
	}
	if (per_op) {
		json_t *nodes = json_array(), *by_type = json_object();
		double sum_min = 0;
		for (int i = 0; i < cm.graph->n_nodes; i++) {
			const nn_node *n = &cm.graph->nodes[i];
			double mean = prof[i] / 1e6 / runs;
			json_t *o = json_object(), *c = json_object_get(by_type, n->kernel->name);
			json_object_set_new(o, "index", json_integer(i));
			json_object_set_new(o, "op", json_string(n->kernel->name));
			json_object_set_new(o, "impl", json_string(n->impl));
			json_object_set_new(o, "mean_ms", json_real(mean));
			json_object_set_new(o, "min_ms", json_real(node_min[i] / 1e6));
			sum_min += node_min[i] / 1e6;
			json_array_append_new(nodes, o);
			json_object_set_new(by_type, n->kernel->name, json_real((c ? json_real_value(c) : 0) + mean));
		}
		json_object_set_new(out, "per_op_type_ms", by_type);
		json_object_set_new(out, "sum_of_op_min_ms", json_real(sum_min));
		json_object_set_new(out, "per_op", nodes);
	}
	cli_print_json(out);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "liteserve bench: %s\n", err.msg);
out:
	free(ms);
	free(prof);
	free(prev);
	free(node_min);
	nn_session_free(s);
	cli_model_close(&cm);
	return rc;
usage:
	bench_usage(stderr);
	return 2;
}
