/* nn.h - the engine's public interface.
 *
 * DESIGN: three objects with clear lifetimes.
 *   tfl_model  (tfl_model.h) - the verified file, immutable, shareable.
 *   nn_graph   - the model prepared: kernels chosen, output shapes known,
 *                weights packed, activation arena planned.  Immutable after
 *                nn_graph_create; any number of sessions may share it.
 *   nn_session - one execution context: an arena, scratch and (optionally)
 *                a thread pool.  Used by one thread at a time.
 * The engine knows nothing of HTTP, JSON, images or tasks.
 */
#ifndef LITESERVE_ENGINE_NN_H
#define LITESERVE_ENGINE_NN_H

#include "kernel.h"
#include "status.h"
#include "tensor.h"
#include "tfl_model.h"

typedef struct nn_session nn_session;

/* Prepares `model` (borrowed: it must outlive the graph).  On success the
 * caller owns *out and frees it with nn_graph_free. */
nn_status nn_graph_create(const tfl_model *model, nn_graph **out, nn_err *err);
void nn_graph_free(nn_graph *g);

/* Model inputs/outputs as prepared tensors (shape, type, quant). */
int nn_graph_n_inputs(const nn_graph *g);
int nn_graph_n_outputs(const nn_graph *g);
const nn_tensor *nn_graph_input(const nn_graph *g, int i);
const nn_tensor *nn_graph_output(const nn_graph *g, int i);

/* A session with n_threads engine threads (1 = run on the caller).
 * The caller owns *out; free with nn_session_free. */
nn_status nn_session_create(const nn_graph *g, int n_threads, nn_session **out, nn_err *err);
void nn_session_free(nn_session *s);

/* Tensors whose data the caller fills (inputs) or reads (outputs) between
 * invokes; borrowed from the session. */
nn_tensor *nn_session_input(nn_session *s, int i);
const nn_tensor *nn_session_output(nn_session *s, int i);

/* Fills string input i with n strings (lens[i] bytes each) in TFLite's
 * layout; n must equal the input's element count and the text must fit its
 * capacity (NN_MAX_STRING_BYTES).  Copies; borrows nothing. */
nn_status nn_session_set_input_string(nn_session *s, int i, int n, const char *const *strs, const size_t *lens,
				      nn_err *err);

/* Runs every node.  Allocates nothing. */
nn_status nn_session_invoke(nn_session *s, nn_err *err);

/* Per-node timing for `liteserve bench --per-op`: when enabled, invoke
 * accumulates nanoseconds per node into the array (n_nodes entries). */
void nn_session_set_profile(nn_session *s, uint64_t *ns_per_node);

#endif
