/* test_planner.c - the memory plan of real models.
 *
 * For every pair of arena tensors whose lifetimes overlap (from the node that
 * writes one to the last node that reads it), their byte ranges in the arena
 * must be disjoint; every tensor must lie inside the arena and be aligned;
 * and reuse must make the arena smaller than the sum of all activations.
 * Aliases (reshape/squeeze outputs) must point at their source's bytes.
 *
 * Allocation failures: for every runnable model of ../shared/models, the
 * Nth allocation of graph prepare + session creation is made to fail, and
 * the engine must answer NN_ERR_NO_MEMORY with a message and release what
 * it built (ASan's leak check runs on this suite in scripts/test).  Every N
 * is tried for the first allocations (where most cleanup paths start),
 * then a stride that keeps each model at ~250 prepares.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "testutil.h"

static const char *const models[] = {
	"models/mobilenet_v1_0.25_224.tflite",
	"models/deeplabv3_257_mv_gpu.tflite",
	"models/style_transfer_f16_384.tflite",
	"models/bench/mobilenet_v2_1.0_224_float32.tflite",
};

static int32_t root_of(const nn_graph *g, int32_t t)
{
	while (g->tensors[t].kind == NN_TENSOR_ALIAS)
		t = g->tensors[t].alias;
	return t;
}

START_TEST(test_plan_is_sound)
{
	const char *path = ts_require_shared(models[_i]);
	tfl_model *m = NULL;
	nn_graph *g = NULL;
	nn_session *s = NULL;
	nn_err err = {0};
	int nt, *first, *last;
	size_t total = 0;

	if (!path)
		return;
	ck_assert_msg(tfl_model_open(path, &m, &err) == NN_OK, "%s", err.msg);
	ck_assert_msg(nn_graph_create(m, &g, &err) == NN_OK, "%s: %s", models[_i], err.msg);
	nt = g->n_tensors;
	first = calloc((size_t)nt, sizeof(int));
	last = calloc((size_t)nt, sizeof(int));
	for (int i = 0; i < nt; i++) {
		first[i] = g->n_nodes;
		last[i] = -2;
	}
	for (int i = 0; i < m->n_inputs; i++) {
		first[root_of(g, m->inputs[i])] = -1;
		last[root_of(g, m->inputs[i])] = -1;
	}
	for (int n = 0; n < g->n_nodes; n++) {
		for (int j = 0; j < g->nodes[n].n_outputs; j++) {
			int32_t r = root_of(g, g->nodes[n].outputs[j]);
			if (n < first[r])
				first[r] = n;
			if (last[r] < n)
				last[r] = n;
		}
		for (int j = 0; j < g->nodes[n].n_inputs; j++) {
			if (g->nodes[n].inputs[j] < 0)
				continue;
			int32_t r = root_of(g, g->nodes[n].inputs[j]);
			if (last[r] < n)
				last[r] = n;
		}
	}
	for (int i = 0; i < m->n_outputs; i++)
		last[root_of(g, m->outputs[i])] = g->n_nodes;
	for (int a = 0; a < nt; a++) {
		const nn_tensor *ta = &g->tensors[a];
		if (ta->kind != NN_TENSOR_ARENA)
			continue;
		total += ta->bytes;
		ck_assert_uint_le(ta->offset + ta->bytes, g->arena_bytes);
		ck_assert_uint_eq(ta->offset % NN_ARENA_ALIGN, 0);
		for (int b = a + 1; b < nt; b++) {
			const nn_tensor *tb = &g->tensors[b];
			if (tb->kind != NN_TENSOR_ARENA)
				continue;
			if (last[a] < first[b] || last[b] < first[a])
				continue;
			ck_assert_msg(ta->offset + ta->bytes <= tb->offset || tb->offset + tb->bytes <= ta->offset,
				      "%s: tensors %d [%zu,+%zu) and %d [%zu,+%zu) overlap while both live", models[_i], a,
				      ta->offset, ta->bytes, b, tb->offset, tb->bytes);
		}
	}
	fprintf(stderr, "%s: arena %zu bytes for %zu bytes of activations (%.1f%%)\n", models[_i], g->arena_bytes,
		total, 100.0 * g->arena_bytes / total);
	ck_assert_uint_lt(g->arena_bytes, total);
	for (int i = 0; i < nt; i++)
		if (g->tensors[i].kind == NN_TENSOR_ALIAS) {
			int32_t r = root_of(g, i);
			ck_assert_int_eq(g->tensors[r].kind, NN_TENSOR_ARENA);
			ck_assert_uint_eq(g->tensors[r].bytes, g->tensors[i].bytes);
		}
	ck_assert_int_eq(nn_session_create(g, 2, &s, &err), NN_OK);
	nn_session_free(s);
	free(first);
	free(last);
	nn_graph_free(g);
	tfl_model_free(m);
}
END_TEST

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One prepare (graph + 2-thread session) with allocation n failing. */
static nn_status prepare_failing(const tfl_model *m, long n, nn_err *err)
{
	nn_graph *g = NULL;
	nn_session *s = NULL;
	nn_status st;

	nn_alloc_fail_after(n);
	st = nn_graph_create(m, &g, err);
	if (st == NN_OK)
		st = nn_session_create(g, 2, &s, err);
	nn_alloc_fail_after(-1);
	nn_session_free(s);
	nn_graph_free(g);
	return st;
}

START_TEST(test_prepare_allocation_failures)
{
	const char *dir = ts_require_shared("models");
	char *names[64], path[4096];
	int n_names = 0, n_models = 0;
	DIR *d;
	struct dirent *e;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s", dir);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && n_names < 64) {
		size_t l = strlen(e->d_name);
		if (l > 7 && !strcmp(e->d_name + l - 7, ".tflite"))
			names[n_names++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n_names, sizeof(names[0]), name_cmp);
	for (int i = 0; i < n_names; i++) {
		char mpath[4352];
		tfl_model *m = NULL;
		nn_err err = {0};
		long needed = -1, tried = 0, stride = 1;

		snprintf(mpath, sizeof(mpath), "%s/%s", path, names[i]);
		if (tfl_model_open(mpath, &m, &err) != NN_OK || prepare_failing(m, -1, &err) != NN_OK) {
			/* not runnable here (custom op without a kernel...): nothing to inject into */
			fprintf(stderr, "planner faults: %s skipped: %s\n", names[i], err.msg);
			tfl_model_free(m);
			free(names[i]);
			continue;
		}
		for (long n = 0; needed < 0; n += stride) {
			nn_status st;

			memset(&err, 0, sizeof(err));
			st = prepare_failing(m, n, &err);
			tried++;
			if (st == NN_OK) {
				needed = n;
				break;
			}
			ck_assert_msg(st == NN_ERR_NO_MEMORY, "%s: failing allocation %ld gave %s: %s", names[i], n,
				      nn_status_name(st), err.msg);
			ck_assert_msg(err.msg[0] != 0, "%s: failing allocation %ld: no message", names[i], n);
			if (n >= 64 && stride == 1)
				stride = 7; /* odd: lands on every residue of small periodic patterns */
			if (n >= 64 * 7 && tried % 50 == 0)
				stride *= 2;
		}
		fprintf(stderr, "planner faults: %s: first success with failure point %ld; %ld failure points tried\n",
			names[i], needed, tried);
		n_models++;
		tfl_model_free(m);
		free(names[i]);
	}
	ck_assert_msg(n_models >= 5, "only %d runnable models in %s", n_models, path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("planner");
	TCase *tc = tcase_create("plan");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_plan_is_sound, 0, (int)(sizeof(models) / sizeof(models[0])));
	tcase_add_test(tc, test_prepare_allocation_failures);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
