/* cmd_inspect.c - `liteserve inspect MODEL`: the model as JSON.
 *
 * DESIGN: a file the reader refuses is an error (exit 1, one line on
 * stderr).  A well-formed file whose ops we cannot run is described anyway,
 * with "runnable": false and the reason, since users inspect a model to learn
 * exactly that.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static json_t *file_tensor_json(const tfl_model *m, int index, int ti)
{
	const tfl_tensor *ft = &m->tensors[ti];
	nn_tensor t = {0};

	t.name = ft->name;
	t.type = ft->type;
	t.rank = ft->rank;
	memcpy(t.dims, ft->dims, sizeof(t.dims));
	t.quant = ft->quant.n ? &ft->quant : NULL;
	t.bytes = 0;
	{
		json_t *o = cli_tensor_json(&t, index, ti);
		json_object_del(o, "nbytes");
		return o;
	}
}

int cmd_inspect(int argc, char **argv)
{
	tfl_model *m = NULL;
	nn_graph *g = NULL;
	nn_err err = {0};
	json_t *out, *ops, *custom, *ins, *outs, *md;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: liteserve inspect MODEL.tflite\n"
			       "Prints inputs, outputs (shape, dtype, quantization), operator counts, custom ops\n"
			       "and whether the engine can run the model. Exit 1 if the file is not a valid model.\n");
			return 0;
		}
		if (path) {
			fprintf(stderr, "liteserve inspect: one model at a time\n");
			return 2;
		}
		path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: liteserve inspect MODEL.tflite\n");
		return 2;
	}
	if (tfl_model_open(path, &m, &err) != NN_OK) {
		fprintf(stderr, "liteserve inspect: %s: %s\n", path, err.msg);
		return 1;
	}
	out = json_object();
	json_object_set_new(out, "file", json_string(path));
	json_object_set_new(out, "size", json_integer((json_int_t)m->size));
	json_object_set_new(out, "schema_version", json_integer(m->schema_version));
	json_object_set_new(out, "description", json_string(m->description));
	json_object_set_new(out, "subgraphs", json_integer(m->n_subgraphs));
	json_object_set_new(out, "tensors", json_integer(m->n_tensors));
	json_object_set_new(out, "operators", json_integer(m->n_ops));
	ops = json_object();
	custom = json_array();
	for (int i = 0; i < m->n_ops; i++) {
		char nb[32];
		const char *name = tfl_op_name(&m->ops[i], nb, sizeof(nb));
		json_t *c = json_object_get(ops, name);
		json_object_set_new(ops, name, json_integer(c ? json_integer_value(c) + 1 : 1));
		if (m->ops[i].custom_name) {
			bool seen = false;
			size_t k;
			json_t *v;
			json_array_foreach(custom, k, v) seen |= !strcmp(json_string_value(v), name);
			if (!seen)
				json_array_append_new(custom, json_string(name));
		}
	}
	json_object_set_new(out, "op_counts", ops);
	json_object_set_new(out, "custom_ops", custom);
	md = json_array();
	for (int i = 0; i < m->n_metadata; i++)
		json_array_append_new(md, json_string(m->metadata[i].name));
	json_object_set_new(out, "metadata", md);

	ins = json_array();
	outs = json_array();
	if (nn_graph_create(m, &g, &err) == NN_OK) {
		json_t *kernels = json_object();
		for (int i = 0; i < nn_graph_n_inputs(g); i++)
			json_array_append_new(ins, cli_tensor_json(nn_graph_input(g, i), i, m->inputs[i]));
		for (int i = 0; i < nn_graph_n_outputs(g); i++)
			json_array_append_new(outs, cli_tensor_json(nn_graph_output(g, i), i, m->outputs[i]));
		json_object_set_new(out, "runnable", json_true());
		json_object_set_new(out, "arena_bytes", json_integer((json_int_t)g->arena_bytes));
		for (int i = 0; i < g->n_nodes; i++) {
			char key[96];
			snprintf(key, sizeof(key), "%s/%s", g->nodes[i].kernel->name, g->nodes[i].impl);
			json_t *c = json_object_get(kernels, key);
			json_object_set_new(kernels, key, json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		json_object_set_new(out, "kernels", kernels);
	} else {
		for (int i = 0; i < m->n_inputs; i++)
			json_array_append_new(ins, file_tensor_json(m, i, m->inputs[i]));
		for (int i = 0; i < m->n_outputs; i++)
			json_array_append_new(outs, file_tensor_json(m, i, m->outputs[i]));
		json_object_set_new(out, "runnable", json_false());
		json_object_set_new(out, "reason", json_string(err.msg));
	}
	json_object_set_new(out, "inputs", ins);
	json_object_set_new(out, "outputs", outs);
	cli_print_json(out);
	nn_graph_free(g);
	tfl_model_free(m);
	return 0;
}
