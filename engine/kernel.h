/* kernel.h - what an operator implementation sees.
 *
 * DESIGN (TFLite Micro's split): each op lives in one file under kernels/
 * and provides
 *   prepare(graph, node, err): runs once at load.  Validates arity, types,
 *     shapes and options; sets every output's type and shape (via
 *     nn_graph_set_output); computes quantization multipliers; packs weights
 *     into node->data (owned by the node, released by kernel->free); asks for
 *     per-thread scratch by setting node->scratch_bytes.  All user-facing
 *     refusals happen here, with a message naming the numbers.
 *   eval(node, exec): runs per inference.  No allocation, no parsing, no
 *     validation beyond data-dependent checks (gather indices).  Reads and
 *     writes exec->tensors[i].data.
 * A kernel with a fast variant keeps a plain C reference beside it; when
 * nn_force_reference() is true, prepare must choose the reference.
 */
#ifndef LITESERVE_ENGINE_KERNEL_H
#define LITESERVE_ENGINE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatbuf.h"
#include "status.h"
#include "tensor.h"
#include "tfl_model.h"

typedef struct nn_graph nn_graph;
typedef struct nn_exec nn_exec;
typedef struct nn_node nn_node;
typedef struct nn_pool nn_pool;

typedef struct nn_kernel {
	const char *name; /* for logs and bench: "CONV_2D" */
	nn_status (*prepare)(nn_graph *g, nn_node *node, nn_err *err);
	nn_status (*eval)(const nn_node *node, nn_exec *ex);
	void (*free)(void *data); /* releases node->data; may be NULL */
} nn_kernel;

struct nn_node {
	const nn_kernel *kernel;
	const tfl_op *op;      /* the operator in the model (options, custom options) */
	int index;             /* operator index in subgraph 0 */
	int n_inputs, n_outputs;
	const int32_t *inputs; /* tensor indices; -1 = omitted optional input */
	const int32_t *outputs;
	void *data;            /* kernel state made by prepare; owned by the node */
	size_t scratch_bytes;  /* per-thread scratch the kernel asked for at prepare */
	const char *impl;      /* name of the variant prepare chose ("ref", "avx2", "blas") */
};

/* The prepared graph: read-only once nn_graph_prepare returns. */
struct nn_graph {
	const tfl_model *model; /* borrowed */
	int n_tensors;
	nn_tensor *tensors;     /* shapes, types, kinds, plan */
	int n_nodes;
	nn_node *nodes;
	size_t arena_bytes;     /* activation arena size of every session */
	size_t scratch_bytes;   /* largest per-thread scratch of any node */
	void **owned;           /* buffers the graph owns (constants made at prepare) */
	int n_owned, cap_owned;
};

/* Per-inference view handed to eval. */
struct nn_exec {
	nn_tensor *tensors;   /* the session's copy: data pointers are live */
	uint8_t *scratch;     /* n_threads * scratch_stride bytes */
	size_t scratch_stride;
	nn_pool *pool;        /* NULL = run on the calling thread */
	int n_threads;
	nn_err *err;          /* where eval explains a data-dependent failure (may be NULL) */
};

/* --- helpers for prepare --------------------------------------------- */

/* Input/output tensor of a node (NULL for an omitted optional input). */
static inline nn_tensor *nn_in(nn_graph *g, const nn_node *n, int i)
{
	return (i < n->n_inputs && n->inputs[i] >= 0) ? &g->tensors[n->inputs[i]] : NULL;
}
static inline nn_tensor *nn_out(nn_graph *g, const nn_node *n, int i)
{
	return &g->tensors[n->outputs[i]];
}

/* Checks the node has between min_in and max_in inputs and exactly n_out outputs. */
nn_status nn_check_arity(const nn_node *n, int min_in, int max_in, int n_out, nn_err *err);

/* Sets the type and shape of output tensor t (checks the element count
 * against NN_MAX_TENSOR_BYTES and computes t->bytes).  If the model file
 * gave the tensor a shape, it must agree (unless the file's shape is empty,
 * as for the detection post-process outputs). */
nn_status nn_set_output(nn_graph *g, const nn_node *n, int i, nn_dtype type, int rank, const int32_t *dims,
			nn_err *err);

/* Makes tensor t an alias of tensor `of` (same bytes, other shape): used by
 * reshape and squeeze.  The shape must already be set and the sizes equal. */
nn_status nn_set_alias(nn_graph *g, nn_tensor *t, int32_t of, nn_err *err);

/* Makes an output a constant computed at prepare: returns a graph-owned,
 * 64-byte aligned buffer of t->bytes to fill (NULL on out of memory). */
void *nn_make_const(nn_graph *g, nn_tensor *t);

/* A graph-owned aligned buffer (for packed weights that outlive prepare when
 * the kernel prefers the graph to own them). NULL on out of memory. */
void *nn_graph_alloc(nn_graph *g, size_t bytes);

/* True when all of the node's present inputs are constants. */
bool nn_inputs_const(nn_graph *g, const nn_node *n);

/* Builtin options (field ids as in tflite_schema.fbs). */
static inline int32_t nn_opt_i32(const nn_node *n, int field, int32_t def)
{
	return n->op->has_options ? fb_i32(&n->op->options, field, def) : def;
}
static inline int8_t nn_opt_i8(const nn_node *n, int field, int8_t def)
{
	return n->op->has_options ? fb_i8(&n->op->options, field, def) : def;
}
static inline float nn_opt_f32(const nn_node *n, int field, float def)
{
	return n->op->has_options ? fb_f32(&n->op->options, field, def) : def;
}
static inline bool nn_opt_bool(const nn_node *n, int field, bool def)
{
	return n->op->has_options ? fb_bool(&n->op->options, field, def) : def;
}
/* int32 vector option (e.g. ReshapeOptions.new_shape); len 0 when absent. */
nn_status nn_opt_vec_i32(const nn_node *n, int field, fb_vec *out, nn_err *err);

/* Error with the op's index and name prefixed: "operator 12 (CONV_2D): ...". */
nn_status nn_node_err(const nn_node *n, nn_err *err, nn_status code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* --- fused activations ----------------------------------------------- */
typedef enum nn_activation {
	NN_ACT_NONE = 0,
	NN_ACT_RELU = 1,
	NN_ACT_RELU_N1_TO_1 = 2,
	NN_ACT_RELU6 = 3,
	NN_ACT_TANH = 4,
	NN_ACT_SIGN_BIT = 5,
} nn_activation;

/* Float clamp range of a fused activation; NN_ERR_UNSUPPORTED for TANH and
 * SIGN_BIT (no op we run fuses them). */
nn_status nn_activation_range_f32(const nn_node *n, int act, float *lo, float *hi, nn_err *err);

static inline float nn_clampf(float x, float lo, float hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* --- helpers for eval ------------------------------------------------ */
static inline nn_tensor *nn_ex_in(nn_exec *ex, const nn_node *n, int i)
{
	return (i < n->n_inputs && n->inputs[i] >= 0) ? &ex->tensors[n->inputs[i]] : NULL;
}
static inline nn_tensor *nn_ex_out(nn_exec *ex, const nn_node *n, int i)
{
	return &ex->tensors[n->outputs[i]];
}
static inline void *nn_ex_scratch(nn_exec *ex, int thread)
{
	return ex->scratch + (size_t)thread * ex->scratch_stride;
}

/* Runs fn(ctx, task, thread) for task in [0, n_tasks) on the exec's pool
 * (or inline).  `thread` is in [0, ex->n_threads) and indexes scratch. */
typedef void (*nn_task_fn)(void *ctx, int task, int thread);
void nn_parallel_for(nn_exec *ex, int n_tasks, nn_task_fn fn, void *ctx);

/* Runs fn(ctx, i0, i1) over [0, count) cut into ranges of per_task items
 * (the last one shorter): on the pool when there are several ranges and
 * several threads, else as one call over [0, count).  The ranges depend on
 * count and per_task only, so a kernel whose items are independent gives
 * the same result on any number of threads. */
typedef void (*nn_range_fn)(void *ctx, int64_t i0, int64_t i1);
void nn_parallel_range(nn_exec *ex, int64_t count, int64_t per_task, nn_range_fn fn, void *ctx);

/* True when LITESERVE_FORCE_REFERENCE=1: kernels choose plain C references. */
bool nn_force_reference(void);

/* The kernel for a builtin code / custom name, or NULL (registry.c). */
const nn_kernel *nn_kernel_builtin(int32_t code);
const nn_kernel *nn_kernel_custom(const char *name);

#endif
