/* preprocess.h - image request bytes -> a model's input tensor bytes.
 *
 * DESIGN: the one image path every image task shares: decode (image.h, with
 * the server's pixel limit; at full resolution, as TFLite's reference
 * pipelines and shared/golden do: JPEG DCT scaling would save ~0.7 ms on a
 * 720p photo but moved mobilenet's top score from 0.41 to 0.48), resize to
 * the input's W x H (stretch, or letterbox when configured), convert to
 * the input dtype.  The conversion follows the TF
 * Lite image-model convention the golden data was made with: uint8 input ->
 * pixel p, int8 -> p - 128, float -> (p - mean) / std (127.5 / 127.5 unless
 * configured).  Quantized inputs get raw pixels even when their scale/zero
 * point are not exactly 1/1 (e.g. 1/128, 128): those models were trained on
 * that convention; only an explicit config.json "mean_std" on a quantized
 * input quantizes (p - mean) / std with the tensor's own parameters.
 */
#ifndef LITESERVE_MODELS_PREPROCESS_H
#define LITESERVE_MODELS_PREPROCESS_H

#include "task.h"

/* Checks that g has exactly one input of shape [1,H,W,3] and type uint8,
 * int8 or float32; err says what is wrong otherwise. */
nn_status pre_check_image_input(const nn_graph *g, nn_err *err);

/* The default preprocessing of a model whose input is `in`, with the
 * config's overrides (cfg may be NULL). */
void pre_defaults(const nn_tensor *in, const repo_config *cfg, pool_preprocess *out);

/* How pixels become elements of input `in` under `pre`. */
void pre_tensor_format(const nn_tensor *in, const pool_preprocess *pre, ls_tensor_format *f);

/* Decodes data (JPEG/PNG), resizes and converts it for input 0 of
 * rq->model.  Fills *in (in->data malloc'd: free() it) and t->decode,
 * t->preprocess.  When rq->params->output is "overlay", in->picture also
 * keeps the displayed picture at full size (inside in->data's block).  Errors: corrupt -> POOL_BAD_REQUEST, not JPEG/PNG or a
 * text/JSON content type -> POOL_UNSUPPORTED, over the pixel limit ->
 * POOL_TOO_LARGE. */
pool_status pre_image_input(const task_request *rq, const uint8_t *data, size_t len, const char *content_type,
			    task_input *in, pool_timing *t, nn_err *err);

/* The same for an input tensor x (shape [1,H,W,3], checked by the caller)
 * and preprocessing pre: what pre_image_input does for a loaded model
 * (never keeps the picture). */
pool_status pre_image_to_tensor(const nn_tensor *x, const pool_preprocess *pre, int64_t max_pixels,
				const uint8_t *data, size_t len, const char *content_type, task_input *in,
				pool_timing *t, nn_err *err);

#endif
