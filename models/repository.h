/* repository.h - the model repository on disk: names, versions, config.json
 * and what task a model serves.
 *
 * DESIGN: the layout is Triton / TF Serving's: DIR/NAME/VERSION/model.tflite
 * with VERSION a positive integer directory (the highest one is served),
 * optional DIR/NAME/config.json and DIR/NAME/labels.txt.  Names come from
 * directory listings and from URLs, so both are checked by one predicate
 * before they are joined to a path: [A-Za-z0-9._-], 1..127 characters, no
 * leading '.', no "..": nothing can climb out of DIR.
 *
 * config.json is user data: read with a size limit, parsed with jansson
 * (duplicate keys refused), and every key is known or refused with a message
 * naming it, so a typo ("instance") is an error, not a silently ignored
 * setting.
 *
 * Task inference (no "task" in config.json) looks only at the verified file
 * (tfl_model: shapes as the file states them, operator codes), so it works
 * for models whose kernels are not available yet and costs nothing:
 *   - a TFLite_Detection_PostProcess custom op and 4 outputs -> detection;
 *   - the Coral PosenetDecoderOp custom op -> pose;
 *   - a string input and a smart-reply custom op (Predict, ExtractFeatures,
 *     Normalize) -> smart_reply;
 *   then, for a model with one image input [1,H,W,3] (uint8/int8/float32):
 *   - one output [1,1,17,3] -> pose (MoveNet);
 *   - 4 outputs, one of them a 17-channel heatmap [1,H,W,17] -> pose (PoseNet);
 *   - one output [1,N] or [1,1,1,N], N >= 2, and a label file of N lines ->
 *     classification;
 *   - one float output [1,H,W,C] with H,W >= 64 and C >= 2 classes (C equal to
 *     the label count when there are labels; C != 3 without labels, since an
 *     RGB-shaped output is a picture, e.g. style transfer) -> segmentation;
 *   - one integer output [1,H,W] made by ARG_MAX -> segmentation;
 *   everything else -> tensor (served by the KServe / TF Serving endpoints).
 * Several inputs (e.g. style transfer's content + style vector) means no
 * image task.
 */
#ifndef LITESERVE_MODELS_REPOSITORY_H
#define LITESERVE_MODELS_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#define REPO_NAME_MAX 127                  /* model or file name, bytes */
#define REPO_CONFIG_MAX_BYTES (64u << 10)  /* config.json */
#define REPO_MAX_INSTANCES 64              /* sessions per model */
#define REPO_MAX_QUEUE 100000              /* waiting requests per model */
#define REPO_MAX_MODELS 4096               /* model directories in a repository */

/* True when name is usable as a model (or label file) name, see DESIGN. */
bool repo_name_valid(const char *name);

/* "classification" -> POOL_TASK_CLASSIFICATION ...; false when unknown. */
bool repo_task_from_name(const char *s, pool_task *out);

/* NAME/config.json, parsed.  Fields not given keep their "unset" value. */
typedef struct repo_config {
	bool has_task;
	pool_task task;
	char labels[REPO_NAME_MAX + 1]; /* label file in NAME/; "" = labels.txt when present */
	bool has_mode;                  /* preprocess.mode given */
	bool raw;                       /*   "raw" (true) or "mean_std" (false) */
	bool has_mean, has_std;
	float mean[3], std[3];          /* preprocess.mean / std (one value = all channels) */
	bool letterbox;                 /* preprocess.resize == "letterbox" */
	bool jpeg_scaling;              /* preprocess.jpeg_scaling (default true) */
	int instances;                  /* -1 = not set */
	int threads;                    /* -1 = not set */
	int max_queue;                  /* -1 = not set */
} repo_config;

void repo_config_init(repo_config *c);

/* Parses config.json text.  On failure returns NN_ERR_BAD_MODEL and err
 * names the key and what was wrong ("config.json: unknown key \"instance\""). */
nn_status repo_config_parse(const char *text, size_t len, repo_config *c, nn_err *err);

/* Reads and parses PATH (REPO_CONFIG_MAX_BYTES at most).  NN_ERR_IO when it
 * cannot be read. */
nn_status repo_config_load(const char *path, repo_config *c, nn_err *err);

/* Highest positive integer subdirectory of DIR/NAME (NAME must be valid).
 * NN_ERR_IO with a message when DIR/NAME is missing or has no version. */
nn_status repo_latest_version(const char *dir, const char *name, int64_t *version, nn_err *err);

/* Model directories of DIR with valid names, sorted (strcmp).  Entries
 * starting with '.' and plain files are ignored; other invalid names are
 * logged to stderr and skipped.  On success *names is a malloc'd array of
 * *n malloc'd strings: free with repo_list_free. */
nn_status repo_list(const char *dir, char ***names, int *n, nn_err *err);
void repo_list_free(char **names, int n);

/* The task of a model without a configured one (see DESIGN).  n_labels < 0
 * when there is no label file. */
pool_task repo_infer_task(const tfl_model *m, int n_labels);

/* True when the model has one input [1,H,W,3] of uint8, int8 or float32
 * (as the file states it). */
bool repo_has_image_input(const tfl_model *m);

/* Index in m->ops of the operator that writes tensor t, or -1. */
int repo_producer(const tfl_model *m, int32_t t);

#endif
