/* graph.c - prepare a model into a runnable graph and plan its memory.
 *
 * DESIGN: nodes are prepared in file order (TFLite files are topologically
 * sorted; a node reading a tensor nobody has written yet is refused).  Each
 * prepare sets its outputs' shapes, so shapes flow forward.  The planner
 * then gives every activation an offset in one arena: a tensor lives from
 * the node that writes it to the last node that reads it (graph outputs to
 * the end, graph inputs from the start); aliases (reshape) extend the life
 * of the tensor whose bytes they share.  Placement is greedy by size,
 * largest first, at the lowest offset that overlaps no live neighbour -
 * ggml-alloc and TFLite's arena planner do the same.
 */
#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "nn_limits.h"
#include "nn.h"
#include "nn_string.h"

nn_status nn_node_err(const nn_node *n, nn_err *err, nn_status code, const char *fmt, ...)
{
	char msg[NN_ERR_MSG_MAX], nb[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nn_err_set(err, code, "operator %d (%s): %s", n->index, tfl_op_name(n->op, nb, sizeof(nb)), msg);
}

nn_status nn_check_arity(const nn_node *n, int min_in, int max_in, int n_out, nn_err *err)
{
	if (n->n_inputs < min_in || n->n_inputs > max_in)
		return nn_node_err(n, err, NN_ERR_BAD_MODEL, "has %d inputs, expected %d..%d", n->n_inputs, min_in,
				   max_in);
	if (n->n_outputs != n_out)
		return nn_node_err(n, err, NN_ERR_BAD_MODEL, "has %d outputs, expected %d", n->n_outputs, n_out);
	for (int i = 0; i < min_in; i++)
		if (n->inputs[i] < 0)
			return nn_node_err(n, err, NN_ERR_BAD_MODEL, "required input %d is omitted", i);
	return NN_OK;
}

static void shape_str(char *buf, size_t len, int rank, const int32_t *dims)
{
	size_t k = 0;
	k += (size_t)snprintf(buf + k, len - k, "[");
	for (int i = 0; i < rank && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "", dims[i]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
}

nn_status nn_set_output(nn_graph *g, const nn_node *n, int i, nn_dtype type, int rank, const int32_t *dims,
			nn_err *err)
{
	nn_tensor *t = nn_out(g, n, i);
	const tfl_tensor *ft = &g->model->tensors[n->outputs[i]];
	uint64_t count;
	size_t es = nn_dtype_size(type);

	if (rank < 0 || rank > NN_MAX_RANK)
		return nn_node_err(n, err, NN_ERR_UNSUPPORTED, "output %d rank %d exceeds %d", i, rank, NN_MAX_RANK);
	if (type != NN_STRING && es == 0)
		return nn_node_err(n, err, NN_ERR_UNSUPPORTED, "output %d type %s", i, nn_dtype_name(type));
	if (!nn_shape_count(rank, dims, NN_MAX_TENSOR_BYTES / (es ? es : 1), &count)) {
		char s[96];
		shape_str(s, sizeof(s), rank, dims);
		return nn_node_err(n, err, NN_ERR_BAD_MODEL, "output %d shape %s is invalid or too large", i, s);
	}
	if (ft->type != type)
		return nn_node_err(n, err, NN_ERR_BAD_MODEL, "output %d is %s in the file but the op produces %s", i,
				   nn_dtype_name(ft->type), nn_dtype_name(type));
	if (ft->rank > 0) {
		bool same = ft->rank == rank;
		for (int d = 0; same && d < rank; d++)
			same = ft->dims[d] == dims[d] || ft->dims[d] == -1;
		if (!same) {
			char a[96], b[96];
			shape_str(a, sizeof(a), ft->rank, ft->dims);
			shape_str(b, sizeof(b), rank, dims);
			return nn_node_err(n, err, NN_ERR_BAD_MODEL, "output %d has shape %s in the file but the op computes %s",
					   i, a, b);
		}
	}
	t->type = type;
	t->rank = rank;
	if (rank > 0)
		memcpy(t->dims, dims, sizeof(int32_t) * (size_t)rank);
	t->bytes = (size_t)count * es;
	t->shape_known = true;
	return NN_OK;
}

nn_status nn_set_alias(nn_graph *g, nn_tensor *t, int32_t of, nn_err *err)
{
	nn_tensor *src = &g->tensors[of];

	if (src->bytes != t->bytes)
		return nn_err_set(err, NN_ERR_INTERNAL, "alias of %zu bytes onto %zu", t->bytes, src->bytes);
	if (src->kind == NN_TENSOR_CONST) {
		t->kind = NN_TENSOR_CONST;
		t->data = src->data;
		return NN_OK;
	}
	t->kind = NN_TENSOR_ALIAS;
	t->alias = of;
	return NN_OK;
}

void *nn_graph_alloc(nn_graph *g, size_t bytes)
{
	void *p;

	if (g->n_owned == g->cap_owned) {
		int cap = g->cap_owned ? 2 * g->cap_owned : 16;
		void **o = realloc(g->owned, sizeof(void *) * (size_t)cap);
		if (!o)
			return NULL;
		g->owned = o;
		g->cap_owned = cap;
	}
	p = nn_aligned_alloc(64, bytes ? bytes : 1);
	if (!p)
		return NULL;
	memset(p, 0, bytes ? bytes : 1);
	g->owned[g->n_owned++] = p;
	return p;
}

void *nn_make_const(nn_graph *g, nn_tensor *t)
{
	void *p = nn_graph_alloc(g, t->bytes);

	if (p) {
		t->kind = NN_TENSOR_CONST;
		t->data = p;
	}
	return p;
}

bool nn_inputs_const(nn_graph *g, const nn_node *n)
{
	for (int i = 0; i < n->n_inputs; i++)
		if (n->inputs[i] >= 0 && g->tensors[n->inputs[i]].kind != NN_TENSOR_CONST)
			return false;
	return true;
}

nn_status nn_opt_vec_i32(const nn_node *n, int field, fb_vec *out, nn_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!n->op->has_options)
		return NN_OK;
	if (fb_vec_field(&n->op->options, field, 4, out, err) != NN_OK)
		return nn_err_prefix(err, "operator %d options", n->index);
	return NN_OK;
}

nn_status nn_activation_range_f32(const nn_node *n, int act, float *lo, float *hi, nn_err *err)
{
	switch (act) {
	/* TFLite clamps "no activation" to the finite float range: an overflow gives FLT_MAX, not inf */
	case NN_ACT_NONE: *lo = -FLT_MAX; *hi = FLT_MAX; return NN_OK;
	case NN_ACT_RELU: *lo = 0.0f; *hi = FLT_MAX; return NN_OK;
	case NN_ACT_RELU_N1_TO_1: *lo = -1.0f; *hi = 1.0f; return NN_OK;
	case NN_ACT_RELU6: *lo = 0.0f; *hi = 6.0f; return NN_OK;
	default:
		return nn_node_err(n, err, NN_ERR_UNSUPPORTED, "fused activation %d is not supported", act);
	}
}

/* --- building the graph ------------------------------------------------ */

static nn_status init_tensors(nn_graph *g, nn_err *err)
{
	const tfl_model *m = g->model;

	g->n_tensors = m->n_tensors;
	g->tensors = nn_calloc((size_t)m->n_tensors, sizeof(nn_tensor));
	if (!g->tensors)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for %d tensors", m->n_tensors);
	for (int i = 0; i < m->n_tensors; i++) {
		const tfl_tensor *ft = &m->tensors[i];
		nn_tensor *t = &g->tensors[i];
		size_t es = nn_dtype_size(ft->type);

		t->name = ft->name;
		t->type = ft->type;
		t->rank = ft->rank;
		memcpy(t->dims, ft->dims, sizeof(t->dims));
		t->quant = ft->quant.n > 0 ? &ft->quant : NULL;
		t->alias = -1;
		if (ft->is_variable)
			return nn_err_set(err, NN_ERR_UNSUPPORTED, "tensor %d '%s': variable tensors are not supported",
					  i, ft->name);
		if (ft->data) {
			t->kind = NN_TENSOR_CONST;
			t->bytes = ft->data_size;
			t->shape_known = true;
			/* Kernels read constants as typed arrays: copy any the file left misaligned. */
			if (es > 1 && ((uintptr_t)ft->data % es) != 0) {
				void *p = nn_graph_alloc(g, ft->data_size);
				if (!p)
					return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
				memcpy(p, ft->data, ft->data_size);
				t->data = p;
			} else {
				t->data = (void *)ft->data;
			}
		}
	}
	for (int i = 0; i < m->n_inputs; i++) {
		nn_tensor *t = &g->tensors[m->inputs[i]];
		uint64_t count;
		size_t es = nn_dtype_size(t->type);

		if (t->kind == NN_TENSOR_CONST)
			continue;
		for (int d = 0; d < t->rank; d++)
			if (t->dims[d] == -1)
				t->dims[d] = 1; /* unknown batch: serve batch 1 */
		if (es == 0 && t->type != NN_STRING)
			return nn_err_set(err, NN_ERR_UNSUPPORTED, "input %d '%s' has type %s", i, t->name,
					  nn_dtype_name(t->type));
		if (!nn_shape_count(t->rank, t->dims, NN_MAX_TENSOR_BYTES / (es ? es : 4), &count))
			return nn_err_set(err, NN_ERR_BAD_MODEL, "input %d '%s': shape is invalid or too large", i,
					  t->name);
		t->kind = NN_TENSOR_ARENA;
		t->bytes = (size_t)count * es;
		/* a string input's capacity: its header plus NN_MAX_STRING_BYTES of text */
		if (t->type == NN_STRING && nn_string_set_capacity(t, (int64_t)count, NN_MAX_STRING_BYTES, err) != NN_OK)
			return nn_err_prefix(err, "input %d", i);
		t->shape_known = true;
	}
	return NN_OK;
}

/* Names every op the engine lacks, so a user sees all of them at once:
 * "unsupported op SKIP_GRAM (operator 1), LSH_PROJECTION (operator 4)". */
static void list_add(char *list, size_t cap, const char *name, int index)
{
	size_t k = strlen(list);
	char item[96];

	snprintf(item, sizeof(item), "%s%s (operator %d)", k ? ", " : "", name, index);
	if (strstr(list, name) == NULL && k + strlen(item) + 8 < cap)
		memcpy(list + k, item, strlen(item) + 1);
}

static nn_status check_supported(nn_graph *g, nn_err *err)
{
	char builtins[NN_ERR_MSG_MAX / 2] = "", customs[NN_ERR_MSG_MAX / 2] = "";

	for (int i = 0; i < g->model->n_ops; i++) {
		const tfl_op *op = &g->model->ops[i];
		char nb[32];

		if (op->builtin == TFL_BUILTIN_CUSTOM) {
			if (!nn_kernel_custom(op->custom_name))
				list_add(customs, sizeof(customs), op->custom_name, i);
		} else if (!nn_kernel_builtin(op->builtin)) {
			list_add(builtins, sizeof(builtins), tfl_op_name(op, nb, sizeof(nb)), i);
		}
	}
	if (!*builtins && !*customs)
		return NN_OK;
	return nn_err_set(err, NN_ERR_UNSUPPORTED, "unsupported %s%s%s%s%s", *builtins ? "op " : "", builtins,
			  *builtins && *customs ? "; unsupported " : "", *customs ? "custom op " : "", customs);
}

static nn_status prepare_nodes(nn_graph *g, nn_err *err)
{
	const tfl_model *m = g->model;

	g->nodes = nn_calloc((size_t)(m->n_ops ? m->n_ops : 1), sizeof(nn_node));
	if (!g->nodes)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for %d nodes", m->n_ops);
	for (int i = 0; i < m->n_ops; i++) {
		const tfl_op *op = &m->ops[i];
		nn_node *n = &g->nodes[i];
		nn_status st;

		n->op = op;
		n->index = i;
		n->n_inputs = op->n_inputs;
		n->n_outputs = op->n_outputs;
		n->inputs = op->inputs;
		n->outputs = op->outputs;
		n->kernel = op->builtin == TFL_BUILTIN_CUSTOM ? nn_kernel_custom(op->custom_name)
							      : nn_kernel_builtin(op->builtin);
		n->impl = "ref";
		g->n_nodes = i + 1; /* so nn_graph_free releases what this prepare makes */
		for (int j = 0; j < n->n_inputs; j++) {
			int32_t ti = n->inputs[j];
			if (ti >= 0 && !g->tensors[ti].shape_known)
				return nn_node_err(n, err, NN_ERR_BAD_MODEL, "input %d reads tensor %d before any op writes it",
						   j, ti);
		}
		for (int j = 0; j < n->n_outputs; j++) {
			nn_tensor *t = &g->tensors[n->outputs[j]];
			if (t->shape_known)
				return nn_node_err(n, err, NN_ERR_BAD_MODEL, "output %d overwrites tensor %d, which is already written",
						   j, n->outputs[j]);
			t->kind = NN_TENSOR_ARENA;
		}
		st = n->kernel->prepare(g, n, err);
		if (st != NN_OK)
			return st;
		for (int j = 0; j < n->n_outputs; j++)
			if (!g->tensors[n->outputs[j]].shape_known)
				return nn_node_err(n, err, NN_ERR_INTERNAL, "prepare left output %d without a shape", j);
		if (n->scratch_bytes > g->scratch_bytes)
			g->scratch_bytes = n->scratch_bytes;
	}
	for (int i = 0; i < m->n_outputs; i++)
		if (!g->tensors[m->outputs[i]].shape_known)
			return nn_err_set(err, NN_ERR_BAD_MODEL, "graph output %d (tensor %d) is never written", i,
					  m->outputs[i]);
	return NN_OK;
}

typedef struct live {
	int first, last;  /* node indices; -1 = before the first node */
	size_t bytes, offset;
	int32_t tensor;
} live;

static int by_size_desc(const void *a, const void *b)
{
	const live *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->tensor - y->tensor;
}

static int32_t storage_root(const nn_graph *g, int32_t t)
{
	int guard = 0;
	while (g->tensors[t].kind == NN_TENSOR_ALIAS && guard++ < g->n_tensors)
		t = g->tensors[t].alias;
	return t;
}

static nn_status plan_memory(nn_graph *g, nn_err *err)
{
	int nt = g->n_tensors, n_live = 0;
	int *first = NULL, *last = NULL;
	live *lv = NULL, **placed = NULL;
	nn_status st = NN_OK;
	size_t arena = 0;

	first = nn_calloc((size_t)nt, sizeof(int));
	last = nn_calloc((size_t)nt, sizeof(int));
	if (!first || !last) {
		st = nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory planning %d tensors", nt);
		goto out;
	}
	for (int i = 0; i < nt; i++) {
		first[i] = g->n_nodes; /* not yet written */
		last[i] = -2;          /* never read */
	}
	for (int i = 0; i < g->model->n_inputs; i++) {
		int32_t r = storage_root(g, g->model->inputs[i]);
		first[r] = -1;
		if (last[r] < -1)
			last[r] = -1;
	}
	for (int n = 0; n < g->n_nodes; n++) {
		const nn_node *node = &g->nodes[n];
		for (int j = 0; j < node->n_outputs; j++) {
			int32_t r = storage_root(g, node->outputs[j]);
			if (n < first[r])
				first[r] = n;
			if (last[r] < n)
				last[r] = n;
		}
		for (int j = 0; j < node->n_inputs; j++) {
			if (node->inputs[j] < 0)
				continue;
			int32_t r = storage_root(g, node->inputs[j]);
			if (last[r] < n)
				last[r] = n;
		}
	}
	for (int i = 0; i < g->model->n_outputs; i++)
		last[storage_root(g, g->model->outputs[i])] = g->n_nodes;
	/* a string input is text a caller wrote once; were its bytes reused
	 * after its last reader, a second invoke would read a broken layout */
	for (int i = 0; i < g->model->n_inputs; i++)
		if (g->tensors[g->model->inputs[i]].type == NN_STRING)
			last[storage_root(g, g->model->inputs[i])] = g->n_nodes;

	lv = nn_calloc((size_t)nt, sizeof(live));
	placed = nn_calloc((size_t)nt, sizeof(live *));
	if (!lv || !placed) {
		st = nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory planning %d tensors", nt);
		goto out;
	}
	for (int i = 0; i < nt; i++) {
		if (g->tensors[i].kind != NN_TENSOR_ARENA)
			continue;
		lv[n_live].tensor = i;
		lv[n_live].first = first[i];
		lv[n_live].last = last[i] < first[i] ? first[i] : last[i];
		lv[n_live].bytes = (g->tensors[i].bytes + NN_ARENA_ALIGN - 1) / NN_ARENA_ALIGN * NN_ARENA_ALIGN;
		n_live++;
	}
	qsort(lv, (size_t)n_live, sizeof(live), by_size_desc);
	for (int i = 0; i < n_live; i++) {
		size_t off = 0;
		int n_placed = i;
		bool moved = true;
		/* lowest offset that collides with no placed tensor alive at the same time */
		while (moved) {
			moved = false;
			for (int j = 0; j < n_placed; j++) {
				const live *p = placed[j];
				if (p->last < lv[i].first || lv[i].last < p->first)
					continue;
				if (off < p->offset + p->bytes && p->offset < off + lv[i].bytes) {
					off = p->offset + p->bytes;
					moved = true;
				}
			}
		}
		lv[i].offset = off;
		placed[i] = &lv[i];
		if (off + lv[i].bytes > arena)
			arena = off + lv[i].bytes;
		if (arena > NN_MAX_ARENA_BYTES) {
			st = nn_err_set(err, NN_ERR_NO_MEMORY, "activations need more than %llu bytes",
					(unsigned long long)NN_MAX_ARENA_BYTES);
			goto out;
		}
		g->tensors[lv[i].tensor].offset = off;
	}
	g->arena_bytes = arena;
out:
	nn_free(first);
	nn_free(last);
	nn_free(lv);
	nn_free(placed);
	return st;
}

nn_status nn_graph_create(const tfl_model *model, nn_graph **out, nn_err *err)
{
	nn_graph *g;
	nn_status st;

	*out = NULL;
	g = nn_calloc(1, sizeof(*g));
	if (!g)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	g->model = model;
	if ((st = init_tensors(g, err)) != NN_OK || (st = check_supported(g, err)) != NN_OK ||
	    (st = prepare_nodes(g, err)) != NN_OK || (st = plan_memory(g, err)) != NN_OK) {
		nn_graph_free(g);
		return st;
	}
	*out = g;
	return NN_OK;
}

void nn_graph_free(nn_graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].kernel && g->nodes[i].kernel->free && g->nodes[i].data)
			g->nodes[i].kernel->free(g->nodes[i].data);
	for (int i = 0; i < g->n_owned; i++)
		nn_free(g->owned[i]);
	free(g->owned);
	nn_free(g->nodes);
	nn_free(g->tensors);
	nn_free(g);
}

int nn_graph_n_inputs(const nn_graph *g) { return g->model->n_inputs; }
int nn_graph_n_outputs(const nn_graph *g) { return g->model->n_outputs; }
const nn_tensor *nn_graph_input(const nn_graph *g, int i) { return &g->tensors[g->model->inputs[i]]; }
const nn_tensor *nn_graph_output(const nn_graph *g, int i) { return &g->tensors[g->model->outputs[i]]; }
