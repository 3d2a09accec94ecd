/* handlers.h - the endpoint families and what they share.
 *
 * DESIGN: one file per endpoint family (task.c, kserve.c, tfserving.c,
 * admin.c, health.c, prometheus.c), routed by routes.c.  Handlers parse the
 * request, call the pool (pool.h) and format JSON; they never touch sockets
 * (http.h) or tensor internals beyond shapes and dtypes.  common.c holds the
 * one mapping from pool_status to HTTP status and error code, model lookup
 * by name/version with the right errors, JSON body parsing with jansson's
 * line/column, and dtype names; tensor_json.c converts JSON values to tensor
 * bytes and back.
 */
#ifndef LITESERVE_HANDLERS_H
#define LITESERVE_HANDLERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "pool.h"
#include "server.h"

#define HND_MAX_TENSORS 64 /* inputs/outputs of a model the tensor endpoints handle */

/* ---- endpoints (routes.c lists them) ----------------------------------- */
void hnd_task_predict(const srv_request *req, srv_response *resp);	 /* task.c */
void hnd_v2_server_metadata(const srv_request *req, srv_response *resp); /* health.c */
void hnd_v2_live(const srv_request *req, srv_response *resp);
void hnd_v2_ready(const srv_request *req, srv_response *resp);
void hnd_v2_model_metadata(const srv_request *req, srv_response *resp); /* kserve.c */
void hnd_v2_model_ready(const srv_request *req, srv_response *resp);
void hnd_v2_infer(const srv_request *req, srv_response *resp);
void hnd_tfs_predict(const srv_request *req, srv_response *resp); /* tfserving.c */
void hnd_tfs_status(const srv_request *req, srv_response *resp);
void hnd_tfs_metadata(const srv_request *req, srv_response *resp);
void hnd_repo_index(const srv_request *req, srv_response *resp); /* admin.c */
void hnd_repo_load(const srv_request *req, srv_response *resp);
void hnd_repo_unload(const srv_request *req, srv_response *resp);
void hnd_metrics(const srv_request *req, srv_response *resp); /* prometheus.c */

/* ---- common.c ---------------------------------------------------------- */

/* The one mapping from pool_status to HTTP status and error code. */
int hnd_pool_http_status(pool_status st);
const char *hnd_pool_error_code(pool_status st);
/* Error reply for st with err's message (or fallback when err is empty);
 * adds Retry-After: 1 for POOL_QUEUE_FULL. */
void hnd_reply_pool_error(srv_response *resp, pool_status st, const nn_err *err, const char *fallback);

/* Parses a version path segment ("1", "42"); false unless a positive integer. */
bool hnd_parse_version(const char *s, int64_t *out);

/* A reference to model `name` at version `version_str` (NULL = latest),
 * with resp->model/version filled for the log.  On failure replies (400 bad
 * version, 404 not found, 503 not ready) and returns NULL.  Release with
 * pool_put. */
pool_model *hnd_get_model(const srv_request *req, srv_response *resp, const char *name,
			  const char *version_str);

/* Parses len bytes of JSON (the body, or the part before a binary
 * section).  On failure replies 400 "bad_json" with jansson's line and
 * column and returns NULL.  New reference. */
json_t *hnd_parse_json(const uint8_t *data, size_t len, srv_response *resp);

/* Media type equality ignoring case and parameters ("image/png; x=y"). */
bool hnd_media_type_is(const char *content_type, const char *mime);

/* KServe datatype names (BOOL, UINT8, ... FP32, BYTES) and TF names
 * (DT_FLOAT, ...). NULL when the dtype has none. */
const char *hnd_kserve_dtype(nn_dtype t);
const char *hnd_tf_dtype(nn_dtype t);

/* Name of input/output i for the APIs: the tensor name, or
 * "input_<i>"/"output_<i>" when the model left it empty. */
const char *hnd_tensor_name(const nn_tensor *t, bool input, int i, char *buf, size_t len);

/* The version number of a repository index entry (integer or string), 0
 * when absent. */
int64_t hnd_index_version(const json_t *entry);

/* Elapsed milliseconds since t0 (srv_now_ms). */
static inline double hnd_ms_since(double t0)
{
	return srv_now_ms() - t0;
}

/* latency_ms JSON object from a timing and the total. New reference. */
json_t *hnd_latency_json(const pool_timing *t, double total_ms);

/* ---- tensor_json.c ----------------------------------------------------- */

/* Shape of a nested JSON array (a scalar has rank 0).  Fails (false, err)
 * when ragged, deeper than NN_MAX_RANK or containing non-numbers/bools
 * where elements are expected. */
bool hnd_json_shape(const json_t *v, int32_t *dims, int *rank, char *err, size_t errlen);

/* Writes the elements of v (a scalar or nested arrays, row-major) as `type`
 * into dst, which holds exactly `count` elements.  Checks the element count,
 * that integers are integral and in range, bools are true/false/0/1.
 * Returns false with err naming the element on failure. */
bool hnd_json_to_tensor(const json_t *v, nn_dtype type, uint64_t count, void *dst, char *err, size_t errlen);

/* Flat JSON array of count elements of type at data. NULL for unsupported
 * types.  Non-finite floats become null (JSON has no NaN).  New reference. */
json_t *hnd_tensor_to_json_flat(const void *data, nn_dtype type, uint64_t count);
/* Nested JSON arrays with dims[0..rank) (rank 0 = a scalar).  New reference. */
json_t *hnd_tensor_to_json_nested(const void *data, nn_dtype type, const int32_t *dims, int rank);

/* IEEE half <-> float. */
uint16_t hnd_f32_to_f16(float f);
float hnd_f16_to_f32(uint16_t h);

#endif
