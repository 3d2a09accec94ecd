/* session.c - execution contexts (see nn.h).
 *
 * DESIGN: a session copies the graph's tensor records and points every
 * activation into its own arena; constants keep pointing at the model or
 * graph buffers.  invoke walks the nodes and calls eval; nothing allocates.
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "nn.h"
#include "nn_string.h"
#include "threadpool.h"

struct nn_session {
	const nn_graph *g;
	nn_tensor *tensors;
	uint8_t *arena;
	uint8_t *scratch;
	nn_exec ex;
	uint64_t *profile;
};

nn_status nn_session_create(const nn_graph *g, int n_threads, nn_session **out, nn_err *err)
{
	nn_session *s;
	size_t stride;

	*out = NULL;
	if (n_threads < 1 || n_threads > NN_MAX_THREADS)
		return nn_err_set(err, NN_ERR_INVALID_ARG, "threads must be 1..%d, not %d", NN_MAX_THREADS, n_threads);
	s = nn_calloc(1, sizeof(*s));
	if (!s)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	s->g = g;
	s->tensors = nn_calloc((size_t)g->n_tensors, sizeof(nn_tensor));
	s->arena = nn_aligned_alloc(NN_ARENA_ALIGN, g->arena_bytes);
	stride = (g->scratch_bytes + NN_ARENA_ALIGN - 1) / NN_ARENA_ALIGN * NN_ARENA_ALIGN;
	s->scratch = nn_aligned_alloc(NN_ARENA_ALIGN, stride * (size_t)n_threads);
	if (!s->tensors || !s->arena || !s->scratch)
		goto oom;
	/* touch the arena now so first-inference page faults are not timed */
	memset(s->arena, 0, g->arena_bytes);
	memcpy(s->tensors, g->tensors, sizeof(nn_tensor) * (size_t)g->n_tensors);
	for (int i = 0; i < g->n_tensors; i++)
		if (s->tensors[i].kind == NN_TENSOR_ARENA)
			s->tensors[i].data = s->arena + s->tensors[i].offset;
	for (int i = 0; i < g->n_tensors; i++) {
		int32_t r = i;
		int guard = 0;
		if (s->tensors[i].kind != NN_TENSOR_ALIAS)
			continue;
		while (s->tensors[r].kind == NN_TENSOR_ALIAS && guard++ < g->n_tensors)
			r = s->tensors[r].alias;
		s->tensors[i].data = s->tensors[r].data;
	}
	/* string inputs start as valid layouts of empty strings, so an input
	 * nobody filled (bench) reads as "" rather than as a broken buffer */
	for (int i = 0; i < g->model->n_inputs; i++) {
		nn_tensor *t = &s->tensors[g->model->inputs[i]];
		if (t->type == NN_STRING && t->kind == NN_TENSOR_ARENA) {
			uint8_t *p = t->data;
			int32_t n = (int32_t)nn_tensor_count(t), end = (int32_t)nn_string_header_bytes(n);
			memcpy(p, &n, 4);
			for (int32_t k = 0; k <= n; k++)
				memcpy(p + 4 + 4 * (size_t)k, &end, 4);
		}
	}
	s->ex.tensors = s->tensors;
	s->ex.scratch = s->scratch;
	s->ex.scratch_stride = stride;
	s->ex.n_threads = n_threads;
	if (n_threads > 1) {
		s->ex.pool = nn_pool_create(n_threads);
		if (!s->ex.pool)
			goto oom;
	}
	*out = s;
	return NN_OK;
oom:
	nn_session_free(s);
	return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for a session (arena %zu bytes)", g->arena_bytes);
}

void nn_session_free(nn_session *s)
{
	if (!s)
		return;
	nn_pool_free(s->ex.pool);
	nn_free(s->scratch);
	nn_free(s->arena);
	nn_free(s->tensors);
	nn_free(s);
}

nn_tensor *nn_session_input(nn_session *s, int i)
{
	return &s->tensors[s->g->model->inputs[i]];
}

nn_status nn_session_set_input_string(nn_session *s, int i, int n, const char *const *strs, const size_t *lens,
				      nn_err *err)
{
	nn_tensor *t;

	if (i < 0 || i >= s->g->model->n_inputs)
		return nn_err_set(err, NN_ERR_INVALID_ARG, "input %d does not exist (the model has %d)", i,
				  s->g->model->n_inputs);
	t = nn_session_input(s, i);
	if (t->type != NN_STRING)
		return nn_err_set(err, NN_ERR_INVALID_ARG, "input %d '%s' is %s, not string", i, t->name,
				  nn_dtype_name(t->type));
	if (t->kind == NN_TENSOR_CONST) /* its bytes are the model's, read-only */
		return nn_err_set(err, NN_ERR_INVALID_ARG, "input %d '%s' is a constant of the model", i, t->name);
	if (n != nn_tensor_count(t))
		return nn_err_set(err, NN_ERR_INVALID_ARG, "input %d '%s' takes %lld strings, not %d", i, t->name,
				  (long long)nn_tensor_count(t), n);
	if (nn_string_write(t->data, t->bytes, n, strs, lens, NULL, err) != NN_OK)
		return nn_err_set(err, NN_ERR_INVALID_ARG, "input %d '%s': the text does not fit its %zu bytes (limit %d bytes of text)",
				  i, t->name, t->bytes, NN_MAX_STRING_BYTES);
	return NN_OK;
}

const nn_tensor *nn_session_output(nn_session *s, int i)
{
	return &s->tensors[s->g->model->outputs[i]];
}

void nn_session_set_profile(nn_session *s, uint64_t *ns_per_node)
{
	s->profile = ns_per_node;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

nn_status nn_session_invoke(nn_session *s, nn_err *err)
{
	const nn_graph *g = s->g;

	s->ex.err = err;
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		uint64_t t0 = s->profile ? now_ns() : 0;
		nn_status st = n->kernel->eval(n, &s->ex);
		if (st != NN_OK) {
			char nb[32];
			return nn_err_prefix(err, "operator %d (%s)", i, tfl_op_name(n->op, nb, sizeof(nb)));
		}
		if (s->profile)
			s->profile[i] += now_ns() - t0;
	}
	return NN_OK;
}

void nn_parallel_for(nn_exec *ex, int n_tasks, nn_task_fn fn, void *ctx)
{
	nn_pool_run(ex->pool, n_tasks, fn, ctx);
}

typedef struct range_job {
	nn_range_fn fn;
	void *ctx;
	int64_t count, per_task;
} range_job;

static void range_task(void *job_, int task, int thread)
{
	const range_job *j = job_;
	int64_t i0 = (int64_t)task * j->per_task, i1 = i0 + j->per_task;

	(void)thread;
	j->fn(j->ctx, i0, i1 < j->count ? i1 : j->count);
}

void nn_parallel_range(nn_exec *ex, int64_t count, int64_t per_task, nn_range_fn fn, void *ctx)
{
	range_job j = {fn, ctx, count, per_task > 0 ? per_task : 1};
	int64_t n_tasks;

	if (count <= 0)
		return;
	n_tasks = (count + j.per_task - 1) / j.per_task;
	if (n_tasks > 1 && n_tasks <= INT_MAX && ex->n_threads > 1)
		nn_parallel_for(ex, (int)n_tasks, range_task, &j);
	else
		fn(ctx, 0, count);
}
