/* preprocess.c - see preprocess.h.
 *
 * DESIGN: one request-local pipeline with one cleanup path: the decoded
 * and resized pictures are freed before returning whatever happens, and
 * only the tensor bytes (in->data) leave the function.  Image module
 * statuses map to pool statuses here and nowhere else.
 * The segmentation overlay needs the picture itself after inference; it
 * is copied behind the tensor bytes in the same block, because pool_predict
 * frees exactly in->data on every path (a second buffer would need a
 * second owner).  When JPEG DCT scaling decoded a smaller picture, that
 * copy is the bilinear upscale to the displayed size, so the tensor (and
 * thus the mask) is the same whether or not the overlay was asked for.
 */
#include "preprocess.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

nn_status pre_check_image_input(const nn_graph *g, nn_err *err)
{
	const nn_tensor *t;

	if (nn_graph_n_inputs(g) != 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "an image task needs a model with 1 input, this one has %d",
				  nn_graph_n_inputs(g));
	t = nn_graph_input(g, 0);
	if (t->rank != 4 || t->dims[0] != 1 || t->dims[1] <= 0 || t->dims[2] <= 0 || t->dims[3] != 3)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "an image task needs an input of shape [1,H,W,3]; input '%s' has rank %d%s", t->name,
				  t->rank, t->rank == 4 ? " but not that shape" : "");
	if (t->type != NN_U8 && t->type != NN_I8 && t->type != NN_F32)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "an image task needs a uint8, int8 or float32 input; input '%s' is %s", t->name,
				  nn_dtype_name(t->type));
	return NN_OK;
}

void pre_defaults(const nn_tensor *in, const repo_config *cfg, pool_preprocess *out)
{
	memset(out, 0, sizeof(*out));
	/* integer inputs take pixels as they are unless told otherwise */
	out->raw = in->type != NN_F32;
	for (int c = 0; c < 3; c++) {
		out->mean[c] = 127.5f;
		out->std[c] = 127.5f;
	}
	out->jpeg_scaling = true;
	if (!cfg)
		return;
	if (cfg->has_mode)
		out->raw = cfg->raw;
	if (cfg->has_mean)
		memcpy(out->mean, cfg->mean, sizeof(out->mean));
	if (cfg->has_std)
		memcpy(out->std, cfg->std, sizeof(out->std));
	out->letterbox = cfg->letterbox;
	out->jpeg_scaling = cfg->jpeg_scaling;
}

void pre_tensor_format(const nn_tensor *in, const pool_preprocess *pre, ls_tensor_format *f)
{
	ls_tensor_format_init(f, in->type);
	if (in->type == NN_F32) {
		for (int c = 0; c < 3; c++) {
			f->mean[c] = pre->raw ? 0.0f : pre->mean[c];
			f->std[c] = pre->raw ? 1.0f : pre->std[c];
		}
		return;
	}
	/* uint8 / int8: pixels (p or p - 128) unless the config asked for
	 * mean/std and the tensor says how to quantize the result */
	if (!pre->raw && in->quant && in->quant->n == 1) {
		f->mode = LS_TENSOR_QUANTIZE;
		for (int c = 0; c < 3; c++) {
			f->mean[c] = pre->mean[c];
			f->std[c] = pre->std[c];
		}
		f->scale = in->quant->scale[0];
		f->zero_point = (int)in->quant->zero_point[0];
	}
}

/* Content types that are certainly not a picture.  Anything else is sniffed
 * by the decoder (curl --data-binary sends form-urlencoded by default). */
static bool not_an_image_type(const char *ct)
{
	return ct && (!strncasecmp(ct, "text/", 5) || !strncasecmp(ct, "application/json", 16) ||
		      !strncasecmp(ct, "multipart/", 10));
}

static pool_status map_image_status(ls_image_status s)
{
	switch (s) {
	case LS_IMG_OK: return POOL_OK;
	case LS_IMG_UNSUPPORTED_FORMAT: return POOL_UNSUPPORTED;
	case LS_IMG_TOO_LARGE: return POOL_TOO_LARGE;
	case LS_IMG_NO_MEMORY: return POOL_FAILED;
	case LS_IMG_CORRUPT:
	case LS_IMG_BAD_ARGUMENT:
	default: return POOL_BAD_REQUEST;
	}
}

static nn_status nn_code_of(pool_status s)
{
	switch (s) {
	case POOL_UNSUPPORTED: return NN_ERR_UNSUPPORTED;
	case POOL_TOO_LARGE: return NN_ERR_NO_MEMORY;
	case POOL_FAILED: return NN_ERR_NO_MEMORY;
	default: return NN_ERR_INVALID_ARG;
	}
}

static pool_status image_to_tensor(const nn_tensor *x, const pool_preprocess *pre, int64_t max_pixels,
				   bool keep_picture, const uint8_t *data, size_t len, const char *content_type,
				   task_input *in, pool_timing *t, nn_err *err);

pool_status pre_image_input(const task_request *rq, const uint8_t *data, size_t len, const char *content_type,
			    task_input *in, pool_timing *t, nn_err *err)
{
	bool keep = rq->params && rq->params->output && !strcmp(rq->params->output, "overlay");

	return image_to_tensor(nn_graph_input(rq->model->graph, 0), &rq->model->pre, rq->max_pixels, keep, data,
			       len, content_type, in, t, err);
}

pool_status pre_image_to_tensor(const nn_tensor *x, const pool_preprocess *pre, int64_t max_pixels,
				const uint8_t *data, size_t len, const char *content_type, task_input *in,
				pool_timing *t, nn_err *err)
{
	return image_to_tensor(x, pre, max_pixels, false, data, len, content_type, in, t, err);
}

static pool_status image_to_tensor(const nn_tensor *x, const pool_preprocess *pre, int64_t max_pixels,
				   bool keep_picture, const uint8_t *data, size_t len, const char *content_type,
				   task_input *in, pool_timing *t, nn_err *err)
{
	ls_image img = {0}, sized = {0}, full = {0};
	const ls_image *pic = NULL;
	size_t pic_off = 0, pic_bytes = 0;
	ls_image_limits lim = {0};
	ls_tensor_format fmt;
	ls_image_status is;
	pool_status ps = POOL_OK;
	char msg[NN_ERR_MSG_MAX - 32];
	double t0 = pool_now_ms(), t1;
	int w = x->dims[2], h = x->dims[1];

	memset(in, 0, sizeof(*in));
	in->tensor_width = w;
	in->tensor_height = h;
	if (not_an_image_type(content_type)) {
		nn_err_set(err, NN_ERR_UNSUPPORTED, "content type '%.64s' is not an image (send JPEG or PNG bytes)",
			   content_type);
		return POOL_UNSUPPORTED;
	}
	if (!data || len == 0) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "empty request body: send a JPEG or PNG image");
		return POOL_BAD_REQUEST;
	}
	lim.max_pixels = max_pixels > 0 ? (uint64_t)max_pixels : 0;
	/* JPEG DCT scaling (on by default) decodes a big photo at the smallest
	 * 1/2..1/8 scale still >= the input size: the cost of decoding a 12 MP
	 * upload drops ~8x.  Its 2x2-block averages differ slightly from the
	 * full-resolution pixels TFLite's reference pipeline resizes (cat_720p:
	 * mean 1.75 levels), so preprocess.jpeg_scaling=false gives those. */
	is = ls_image_decode(data, len, &lim, pre->jpeg_scaling ? w : 0, pre->jpeg_scaling ? h : 0, &img, msg,
			     sizeof(msg));
	t1 = pool_now_ms();
	t->decode = t1 - t0;
	if (is != LS_IMG_OK) {
		ps = map_image_status(is);
		nn_err_set(err, nn_code_of(ps), "image: %s", msg);
		goto out;
	}
	in->image_width = img.full_width > 0 ? img.full_width : img.width;
	in->image_height = img.full_height > 0 ? img.full_height : img.height;
	if (keep_picture && (img.width != in->image_width || img.height != in->image_height)) {
		is = ls_image_resize_bilinear(&img, in->image_width, in->image_height, &full, msg, sizeof(msg));
		if (is != LS_IMG_OK) {
			ps = map_image_status(is);
			nn_err_set(err, nn_code_of(ps), "image resize for the overlay: %s", msg);
			goto out;
		}
	}

	if (pre->letterbox) {
		is = ls_image_resize_letterbox(&img, w, h, &sized, &in->box, msg, sizeof(msg));
		in->letterboxed = true;
	} else if (img.width != w || img.height != h) {
		is = ls_image_resize_bilinear(&img, w, h, &sized, msg, sizeof(msg));
	} else {
		sized = img; /* already the input's size: take the buffer over */
		memset(&img, 0, sizeof(img));
	}
	if (is != LS_IMG_OK) {
		ps = map_image_status(is);
		nn_err_set(err, nn_code_of(ps), "image resize: %s", msg);
		goto out;
	}
	in->bytes = x->bytes;
	if (keep_picture) {
		/* img was handed to sized when no resize was needed */
		pic = full.pixels ? &full : img.pixels ? &img : &sized;
		if (pic->width != in->image_width || pic->height != in->image_height || pic->channels != 3) {
			ps = POOL_FAILED;
			nn_err_set(err, NN_ERR_INTERNAL, "kept picture is %dx%d, the image %dx%d", pic->width,
				   pic->height, in->image_width, in->image_height);
			goto out;
		}
		pic_off = (x->bytes + 15) & ~(size_t)15;
		pic_bytes = (size_t)pic->width * (size_t)pic->height * 3; /* <= 3 * max_pixels: decode checked */
	}
	in->data = malloc(pic ? pic_off + pic_bytes : x->bytes ? x->bytes : 1);
	if (!in->data) {
		ps = POOL_FAILED;
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for a %zu-byte input tensor", x->bytes + pic_bytes);
		goto out;
	}
	if (pic) {
		memcpy((uint8_t *)in->data + pic_off, pic->pixels, pic_bytes);
		in->picture = (const uint8_t *)in->data + pic_off;
	}
	pre_tensor_format(x, pre, &fmt);
	is = ls_image_to_tensor(&sized, &fmt, in->data, in->bytes, msg, sizeof(msg));
	if (is != LS_IMG_OK) {
		ps = POOL_FAILED; /* the model's input was checked at load: this is our bug */
		nn_err_set(err, NN_ERR_INTERNAL, "image to tensor: %s", msg);
		free(in->data);
		in->data = NULL;
		in->picture = NULL;
		goto out;
	}
out:
	t->preprocess = pool_now_ms() - t1;
	ls_image_free(&full);
	ls_image_free(&sized);
	ls_image_free(&img);
	return ps;
}
