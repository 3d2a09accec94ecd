/* routes.c - the route table (see http.h for the pattern syntax).
 *
 * DESIGN: order matters only between patterns that can match the same
 * path: the first matching pattern decides, its routes pick by method, else
 * 405.  So the ":predict" patterns come before the plain "{name}" ones
 * (otherwise `GET /v1/models/m:predict` would look up a model named
 * "m:predict" instead of answering 405).  docs/openapi.yaml documents each
 * line.
 */
#include "handlers.h"

const srv_route srv_routes[] = {
    /* KServe v2 / Open Inference Protocol */
    {"GET", "/v2", hnd_v2_server_metadata},
    {"GET", "/v2/health/live", hnd_v2_live},
    {"GET", "/v2/health/ready", hnd_v2_ready},
    {"GET", "/v2/models/{name}", hnd_v2_model_metadata},
    {"GET", "/v2/models/{name}/ready", hnd_v2_model_ready},
    {"POST", "/v2/models/{name}/infer", hnd_v2_infer},
    {"GET", "/v2/models/{name}/versions/{version}", hnd_v2_model_metadata},
    {"GET", "/v2/models/{name}/versions/{version}/ready", hnd_v2_model_ready},
    {"POST", "/v2/models/{name}/versions/{version}/infer", hnd_v2_infer},
    /* model repository extension */
    {"POST", "/v2/repository/index", hnd_repo_index},
    {"POST", "/v2/repository/models/{name}/load", hnd_repo_load},
    {"POST", "/v2/repository/models/{name}/unload", hnd_repo_unload},
    /* TF Serving REST (":predict" before the plain "{name}" patterns) */
    {"POST", "/v1/models/{name}:predict", hnd_tfs_predict},
    {"POST", "/v1/models/{name}/versions/{version}:predict", hnd_tfs_predict},
    {"GET", "/v1/models/{name}", hnd_tfs_status},
    {"GET", "/v1/models/{name}/versions/{version}", hnd_tfs_status},
    {"GET", "/v1/models/{name}/metadata", hnd_tfs_metadata},
    {"GET", "/v1/models/{name}/versions/{version}/metadata", hnd_tfs_metadata},
    /* task endpoints: image or text in, task JSON out */
    {"POST", "/v1/models/{name}/predict", hnd_task_predict},
    {"POST", "/v1/models/{name}/versions/{version}/predict", hnd_task_predict},
    /* Prometheus */
    {"GET", "/metrics", hnd_metrics},
    {NULL, NULL, NULL},
};
