/* pool.h - the model repository and pool: what handlers call.
 *
 * DESIGN (Triton / TF Serving style): a repository directory holds
 * NAME/VERSION/model.tflite with optional NAME/config.json and
 * NAME/labels.txt.  A loaded model (pool_model) is immutable and
 * refcounted: handlers take a reference with pool_get and drop it with
 * pool_put, so unload and reload swap the registry's pointer while requests
 * in flight finish on the old one.  Each model owns K execution contexts
 * (instances); pool_infer_* hands one to a request, waiting in a bounded
 * queue (full -> POOL_QUEUE_FULL, which handlers answer with 503 +
 * Retry-After).
 *
 * Task adapters turn a request into input tensors and output tensors into a
 * JSON result (task.h); handlers format the envelope and never touch
 * tensors or sockets.
 *
 * Thread safety: every function may be called from any HTTP thread.
 */
#ifndef LITESERVE_MODELS_POOL_H
#define LITESERVE_MODELS_POOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn.h"

typedef enum pool_task {
	POOL_TASK_TENSOR = 0,       /* raw tensors only (KServe / TF Serving) */
	POOL_TASK_CLASSIFICATION,
	POOL_TASK_DETECTION,
	POOL_TASK_POSE,
	POOL_TASK_SEGMENTATION,
	POOL_TASK_SMART_REPLY,
} pool_task;
const char *pool_task_name(pool_task t); /* "classification", ... */

typedef enum pool_status {
	POOL_OK = 0,
	POOL_NOT_FOUND,      /* no such model or version: 404 */
	POOL_NOT_READY,      /* known but not loaded (unloaded, or failed to load): 404/503 */
	POOL_QUEUE_FULL,     /* 503 + Retry-After */
	POOL_BAD_REQUEST,    /* the request's data does not fit the model: 400 */
	POOL_TOO_LARGE,      /* image over the pixel limit: 413 */
	POOL_UNSUPPORTED,    /* wrong media type or an image format we do not decode: 415 */
	POOL_FAILED,         /* engine failure or load failure: 500 (load: 400/422 with the reason) */
	POOL_NO_TASK,        /* task endpoint on a tensor-only model: 501, use the tensor endpoints */
} pool_status;

/* Defaults for models without a config.json (set from the server config). */
typedef struct pool_defaults {
	int instances;          /* execution contexts per model (default 2) */
	int threads;            /* engine threads per inference (default 1) */
	int max_queue;          /* requests waiting for an instance before 503 (default 64) */
	int64_t max_pixels;     /* decoded image limit (default 40e6) */
	/* Where load/unload lines go (warning = a model that did not load);
	 * NULL = plain lines on stderr.  The server passes its logger. */
	void (*log)(bool warning, const char *line);
} pool_defaults;

typedef struct pool_registry pool_registry;

/* Preprocessing of images for the model's input (config.json "preprocess"). */
typedef struct pool_preprocess {
	bool raw;               /* feed pixels 0..255 as they are (quantized inputs: via their scale) */
	float mean[3], std[3];  /* float inputs: (p - mean) / std; default 127.5 / 127.5 */
	bool letterbox;         /* preserve aspect ratio, pad with 0 (default: stretch) */
	bool jpeg_scaling;      /* decode big JPEGs at 1/2..1/8 scale when still >= the input size
	                           (default true: a 12 MP photo decodes ~8x faster; false = the
	                           full-resolution pixels TFLite's reference pipeline resizes) */
} pool_preprocess;

/* A loaded model version; immutable while anyone holds a reference. */
typedef struct pool_model {
	char name[128];
	int64_t version;
	pool_task task;
	char path[1024];        /* the .tflite file */
	size_t file_bytes;
	double load_ms;
	const tfl_model *model;
	const nn_graph *graph;
	int n_labels;
	const char *const *labels; /* NULL when none */
	pool_preprocess pre;
	int instances, threads, max_queue;
} pool_model;

/* Creates a registry over dir (not scanned yet).  Caller frees with pool_free. */
pool_registry *pool_create(const char *dir, const pool_defaults *defaults);
void pool_free(pool_registry *r); /* waits for references to drop */

/* Loads every model in the repository; per-model failures are logged and
 * reported in the index, not fatal.  Returns the number loaded. */
int pool_load_all(pool_registry *r);

/* Loads (or reloads: the new version is prepared first and swapped in
 * atomically; on failure the old one stays) the latest version of NAME. */
pool_status pool_load(pool_registry *r, const char *name, nn_err *err);
/* Unloads NAME; requests holding a reference finish first. */
pool_status pool_unload(pool_registry *r, const char *name, nn_err *err);

/* Repository index: [{"name","version","state":"READY"|"UNAVAILABLE","reason"}]. New reference. */
json_t *pool_index(pool_registry *r);
/* Number of models READY. */
int pool_ready_count(pool_registry *r);

/* A reference to NAME (version 0 = latest loaded).  NULL + status when absent. */
pool_model *pool_get(pool_registry *r, const char *name, int64_t version, pool_status *status);
void pool_put(pool_model *m);

/* One inference, with its stage times (milliseconds). */
typedef struct pool_timing {
	double decode, preprocess, queue, inference, postprocess;
} pool_timing;

/* Task query parameters (absent = defaults chosen by the task). */
typedef struct pool_task_params {
	int top_k;              /* classification: default 5 */
	float threshold;        /* detection / pose / classification score threshold; < 0 = default */
	int max_results;        /* detection; 0 = default */
	int max_poses;          /* pose; 0 = default */
	const char *output;     /* segmentation: NULL/"json", "png", "overlay" */
} pool_task_params;

/* Task endpoint: image (JPEG/PNG bytes) or text in, task JSON out.
 * On success *result is a new JSON value ("predictions", "image" {width,height}
 * or what the task adds); for segmentation ?output=png|overlay, *png and *png_len
 * receive a malloc'd PNG instead.  On failure err says why. */
pool_status pool_predict(pool_model *m, const uint8_t *data, size_t len, const char *content_type,
			 const pool_task_params *params, json_t **result, uint8_t **png, size_t *png_len,
			 pool_timing *timing, nn_err *err);

/* Tensor endpoint (KServe v2 / TF Serving): inputs[i] holds the raw bytes of
 * input i (exactly its size, checked).  outputs[i] receive malloc'd copies of
 * the output tensors (caller frees each), with *n_outputs set. */
pool_status pool_infer_raw(pool_model *m, const void *const *inputs, const size_t *input_sizes, int n_inputs,
			   void **outputs, size_t *output_sizes, int *n_outputs, pool_timing *timing, nn_err *err);

/* Prometheus-style counters the server exports (queue depth now, inferences so far). */
typedef struct pool_stats {
	int64_t queue_depth;
	int64_t inferences;
} pool_stats;
void pool_model_stats(pool_model *m, pool_stats *out);

#endif
