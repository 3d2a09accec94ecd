/* task.h - task adapters and the pool internals they share (models/ only;
 * handlers use pool.h).
 *
 * DESIGN: a task adapter is a small vtable.  At load, `prepare` checks that
 * the model has the tensors the task reads (shapes, dtypes, label count) and
 * precomputes what postprocessing needs (which output, its dequantization,
 * whether the graph already ends in a softmax), so a model that cannot serve
 * its task fails at load with a reason, never at request time.  Per request,
 * pool_predict runs, in this order:
 *     preprocess  request bytes -> input tensor bytes (no session held: the
 *                 decode of a big JPEG must not keep an instance busy)
 *     [wait for a session, copy the input in, invoke]
 *     postprocess output tensors -> result JSON (session held; outputs are
 *                 read in place)
 * An adapter without `postprocess` (the tensor task) has no task endpoint:
 * pool_predict answers POOL_NO_TASK and the model serves the tensor
 * endpoints only.  Adding a task = one task_<name>.c with its vtable and
 * a line in task_ops_for (task_table.c).
 */
#ifndef LITESERVE_MODELS_TASK_H
#define LITESERVE_MODELS_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "pool.h"
#include "repository.h"

/* What preprocess made for one request. */
typedef struct task_input {
	void *data;              /* input 0's bytes (malloc'd; freed by pool_predict) */
	size_t bytes;
	int image_width;         /* the uploaded picture as displayed (EXIF applied) */
	int image_height;
	int tensor_width;        /* the model input's W x H */
	int tensor_height;
	bool letterboxed;
	ls_letterbox box;        /* where the picture sits in the tensor when letterboxed */
	/* Only when the request asked for output=overlay (else NULL): the picture
	 * as displayed, 8-bit RGB, image_width x image_height.  It lives in
	 * data's block after the tensor bytes, so freeing data frees it. */
	const uint8_t *picture;
} task_input;

/* Everything an adapter sees of a request. */
typedef struct task_request {
	const pool_model *model;
	const void *state;       /* what prepare made (may be NULL) */
	const pool_task_params *params; /* never NULL (defaults when the caller passed none) */
	int64_t max_pixels;      /* decoded image limit */
} task_request;

typedef struct task_ops {
	pool_task task;
	/* Load: validate the model for the task; *state (may stay NULL) is
	 * released with free.  NULL = nothing to check. */
	nn_status (*prepare)(const pool_model *m, void **state, nn_err *err);
	void (*free)(void *state);
	/* Request bytes -> in (NULL = the image path of preprocess.c).  Sets
	 * t->decode and t->preprocess. */
	pool_status (*preprocess)(const task_request *rq, const uint8_t *data, size_t len, const char *content_type,
				  task_input *in, pool_timing *t, nn_err *err);
	/* Outputs of s -> *result (new reference) or *png.  NULL = no adapter yet. */
	pool_status (*postprocess)(const task_request *rq, nn_session *s, const task_input *in, json_t **result,
				   uint8_t **png, size_t *png_len, nn_err *err);
} task_ops;

/* The adapter of a task (never NULL). */
const task_ops *task_ops_for(pool_task t);

extern const task_ops task_classification;
/* The adapters of the other tasks, each in its own task_<name>.c. */
extern const task_ops task_detection;
extern const task_ops task_pose;
extern const task_ops task_segmentation;
extern const task_ops task_smart_reply;

/* ---- pool internals used by adapters, the CLI and tests ---------------- */

/* Borrows a free session of m, waiting for one; POOL_QUEUE_FULL at once when
 * max_queue requests already wait.  *queue_ms (may be NULL) gets the wait.
 * Give it back with pool_session_release. */
pool_status pool_session_acquire(pool_model *m, nn_session **s, double *queue_ms, nn_err *err);
void pool_session_release(pool_model *m, nn_session *s);

/* Loads one model file outside any repository (`liteserve predict`).
 * name: what the JSON calls it; cfg: task/preprocess/instances... (NULL =
 * none, the task is inferred); labels_path: a label file (NULL = none);
 * defaults: NULL = built-in defaults.  On success *out holds one reference:
 * drop it with pool_put. */
pool_status pool_model_open_file(const char *path, const char *name, const repo_config *cfg,
				 const char *labels_path, const pool_defaults *defaults, pool_model **out,
				 nn_err *err);

/* Monotonic clock in milliseconds. */
double pool_now_ms(void);

#endif
