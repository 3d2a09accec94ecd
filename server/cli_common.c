/* cli_common.c - helpers shared by the subcommands (see cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_model_open(const char *path, cli_model *m, nn_err *err)
{
	m->model = NULL;
	m->graph = NULL;
	if (tfl_model_open(path, &m->model, err) != NN_OK)
		return -1;
	if (nn_graph_create(m->model, &m->graph, err) != NN_OK) {
		tfl_model_free(m->model);
		m->model = NULL;
		return -1;
	}
	return 0;
}

void cli_model_close(cli_model *m)
{
	nn_graph_free(m->graph);
	tfl_model_free(m->model);
	m->graph = NULL;
	m->model = NULL;
}

json_t *cli_tensor_json(const nn_tensor *t, int index, int tensor_index)
{
	json_t *o = json_object(), *shape = json_array();

	json_object_set_new(o, "index", json_integer(index));
	json_object_set_new(o, "name", json_string(t->name ? t->name : ""));
	json_object_set_new(o, "tensor_index", json_integer(tensor_index));
	for (int d = 0; d < t->rank; d++)
		json_array_append_new(shape, json_integer(t->dims[d]));
	json_object_set_new(o, "shape", shape);
	json_object_set_new(o, "dtype", json_string(nn_dtype_name(t->type)));
	if (t->quant && t->quant->n > 0) {
		json_t *q = json_object();
		if (t->quant->n == 1) {
			json_object_set_new(q, "scale", json_real(t->quant->scale[0]));
			json_object_set_new(q, "zero_point", json_integer(t->quant->zero_point[0]));
		} else {
			json_t *s = json_array(), *z = json_array();
			for (int i = 0; i < t->quant->n; i++) {
				json_array_append_new(s, json_real(t->quant->scale[i]));
				json_array_append_new(z, json_integer(t->quant->zero_point[i]));
			}
			json_object_set_new(q, "scale", s);
			json_object_set_new(q, "zero_point", z);
			json_object_set_new(q, "quantized_dimension", json_integer(t->quant->axis));
		}
		json_object_set_new(o, "quantization", q);
	} else {
		json_object_set_new(o, "quantization", json_null());
	}
	json_object_set_new(o, "nbytes", json_integer((json_int_t)t->bytes));
	return o;
}

void cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(v);
}

int cli_parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}
