/* fuzz_model.c - libFuzzer target: bytes -> model reader -> prepare -> invoke.
 *
 * DESIGN: a .tflite file is the most complex hostile input we take (the
 * repository load endpoint reads any file an operator drops in).  Each input
 * goes through tfl_model_from_memory (borrowing the bytes, so ASan sees any
 * read past them), nn_graph_create (kernel prepare, packing, planning) and,
 * when the graph is small, one session with zeroed inputs and one invoke:
 * eval must cope with whatever shapes and quantization prepare accepted.
 * The invoke is skipped when the planned arena, the node count or a rough
 * work estimate (output elements times the largest constant input, summed
 * over nodes) is big, so one run stays in milliseconds; the real models
 * (seeds from ../shared) are still read and prepared in full.
 */
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "nn.h"

#define FZ_MAX_NODES 64
#define FZ_MAX_ARENA (1u << 20)
#define FZ_MAX_WORK 20000000.0

static double work_estimate(const nn_graph *g)
{
	double work = 0;

	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		double out = 0, konst = 1;

		for (int j = 0; j < n->n_outputs; j++) {
			int32_t t = n->outputs[j];

			if (t >= 0 && t < g->n_tensors)
				out += (double)g->tensors[t].bytes;
		}
		for (int j = 0; j < n->n_inputs; j++) {
			int32_t t = n->inputs[j];

			if (t >= 0 && t < g->n_tensors && g->tensors[t].kind == NN_TENSOR_CONST &&
			    (double)g->tensors[t].bytes > konst)
				konst = (double)g->tensors[t].bytes;
		}
		work += out * konst;
	}
	return work;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tfl_model *m = NULL;
	nn_graph *g = NULL;
	nn_session *s = NULL;
	nn_err err;

	if (tfl_model_from_memory(data, size, false, &m, &err) != NN_OK)
		return 0;
	if (nn_graph_create(m, &g, &err) != NN_OK)
		goto out;
	if (g->n_nodes > FZ_MAX_NODES || g->arena_bytes > FZ_MAX_ARENA || work_estimate(g) > FZ_MAX_WORK)
		goto out;
	if (nn_session_create(g, 1, &s, &err) != NN_OK)
		goto out;
	for (int i = 0; i < nn_graph_n_inputs(g); i++) {
		nn_tensor *t = nn_session_input(s, i);

		if (t && t->data && t->kind != NN_TENSOR_CONST)
			memset(t->data, 0, t->bytes);
	}
	nn_session_invoke(s, &err);
	for (int i = 0; i < nn_graph_n_outputs(g); i++) {
		const nn_tensor *t = nn_session_output(s, i);
		volatile uint8_t sink = 0;

		/* reading every output byte catches a tensor whose size lies */
		for (size_t b = 0; t && t->data && b < t->bytes; b++)
			sink ^= ((const uint8_t *)t->data)[b];
		(void)sink;
	}
out:
	nn_session_free(s);
	nn_graph_free(g);
	tfl_model_free(m);
	return 0;
}
