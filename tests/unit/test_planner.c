/* test_planner.c - the memory plan of real models.
 *
 * For every pair of arena tensors whose lifetimes overlap (from the node that
 * writes one to the last node that reads it), their byte ranges in the arena
 * must be disjoint; every tensor must lie inside the arena and be aligned;
 * and reuse must make the arena smaller than the sum of all activations.
 * Aliases (reshape/squeeze outputs) must point at their source's bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	Suite *s = suite_create("planner");
	TCase *tc = tcase_create("plan");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_plan_is_sound, 0, (int)(sizeof(models) / sizeof(models[0])));
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
