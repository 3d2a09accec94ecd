/* task_segment.c - semantic segmentation: picture in, a class per pixel out.
 *
 * DESIGN: two output layouts are served.  Logits [1,h,w,C] (float32, or
 * uint8/int8 with one positive scale, where the argmax of the raw bytes is
 * the argmax of the values) are reduced to a class per grid cell here;
 * a graph that already ends in ARG_MAX gives [1,h,w] class indices (int64,
 * int32 or uint8).  prepare checks which one the model has, that C fits an
 * 8-bit mask (C <= 256) and that a label file, when present, names the C
 * classes.
 *
 * The answer is at the uploaded picture's size, not the model's: each
 * picture pixel takes the class of the grid cell its centre falls in
 * (nearest neighbour; through the letterbox placement when the input was
 * letterboxed, so the padding never lands in the mask).  The mapping is two
 * index tables (one per column, one per row) computed per request, so the
 * scale-up is a gather.  Pixel counts are taken on that full-size mask, so
 * "classes" agrees with the PNG a client decodes.
 *
 * Outputs: JSON {"classes", "mask": base64 8-bit grayscale PNG of class
 * indices}; output=png that PNG alone; output=overlay the picture with each
 * non-background pixel blended 50/50 with its class's PASCAL VOC colour
 * (class 0 is left as it is), which needs the picture preprocess.c keeps for
 * that request only.  Every buffer is bounded by the picture's size (the
 * server's pixel limit) and freed on one path.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png_write.h"
#include "preprocess.h"
#include "task.h"

#define SEG_MAX_CLASSES 256 /* the mask is an 8-bit PNG */

typedef enum seg_kind {
	SEG_LOGITS = 0,      /* [1,h,w,C]: argmax here */
	SEG_CLASSES,         /* [1,h,w]: class indices from the graph's ARG_MAX */
} seg_kind;

typedef struct seg_state {
	seg_kind kind;
	nn_dtype type;       /* of the output */
	int gw, gh;          /* the output grid */
	int n_classes;       /* C, or the label count (256 without labels) for SEG_CLASSES */
} seg_state;

static nn_status seg_prepare(const pool_model *m, void **state, nn_err *err)
{
	const nn_tensor *o;
	seg_state *ss;
	nn_status st;

	*state = NULL;
	if ((st = pre_check_image_input(m->graph, err)) != NN_OK)
		return st;
	if (nn_graph_n_outputs(m->graph) != 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "segmentation needs a model with 1 output, this one has %d",
				  nn_graph_n_outputs(m->graph));
	o = nn_graph_output(m->graph, 0);
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	ss->type = o->type;
	if (o->rank == 4 && o->dims[0] == 1 && o->dims[1] > 0 && o->dims[2] > 0 && o->dims[3] >= 2) {
		ss->kind = SEG_LOGITS;
		ss->n_classes = o->dims[3];
		if (o->type != NN_F32 && o->type != NN_U8 && o->type != NN_I8) {
			st = nn_err_set(err, NN_ERR_UNSUPPORTED,
					"segmentation logits '%s' are %s; float32, uint8 and int8 are supported", o->name,
					nn_dtype_name(o->type));
			goto fail;
		}
		if (o->type != NN_F32 && !(o->quant && o->quant->n == 1 && o->quant->scale[0] > 0.0f)) {
			st = nn_err_set(err, NN_ERR_UNSUPPORTED,
					"segmentation logits '%s' need one positive quantization scale", o->name);
			goto fail;
		}
	} else if (o->rank == 3 && o->dims[0] == 1 && o->dims[1] > 0 && o->dims[2] > 0) {
		ss->kind = SEG_CLASSES;
		ss->n_classes = m->labels ? m->n_labels : SEG_MAX_CLASSES;
		if (o->type != NN_I64 && o->type != NN_I32 && o->type != NN_U8) {
			st = nn_err_set(err, NN_ERR_UNSUPPORTED,
					"segmentation class map '%s' is %s; int64, int32 and uint8 are supported", o->name,
					nn_dtype_name(o->type));
			goto fail;
		}
	} else {
		st = nn_err_set(err, NN_ERR_UNSUPPORTED,
				"segmentation needs an output of shape [1,H,W,C] (logits) or [1,H,W] (class indices); "
				"output '%s' has rank %d",
				o->name, o->rank);
		goto fail;
	}
	ss->gh = o->dims[1];
	ss->gw = o->dims[2];
	if (ss->n_classes > SEG_MAX_CLASSES) {
		st = nn_err_set(err, NN_ERR_UNSUPPORTED, "segmentation supports up to %d classes, '%s' has %d",
				SEG_MAX_CLASSES, o->name, ss->n_classes);
		goto fail;
	}
	if (m->labels && ss->kind == SEG_LOGITS && m->n_labels != ss->n_classes) {
		st = nn_err_set(err, NN_ERR_BAD_MODEL, "the label file has %d lines but the model scores %d classes",
				m->n_labels, ss->n_classes);
		goto fail;
	}
	*state = ss;
	return NN_OK;
fail:
	free(ss);
	return st;
}

/* Class of every grid cell into grid[gh*gw]; false with err when the
 * graph's ARG_MAX produced an index outside the classes. */
static bool grid_classes(const seg_state *ss, const nn_tensor *o, uint8_t *grid, nn_err *err)
{
	size_t cells = (size_t)ss->gw * (size_t)ss->gh;
	int C = ss->n_classes;

	if (ss->kind == SEG_CLASSES) {
		for (size_t i = 0; i < cells; i++) {
			int64_t v = ss->type == NN_I64	 ? ((const int64_t *)o->data)[i]
				    : ss->type == NN_I32 ? ((const int32_t *)o->data)[i]
							 : ((const uint8_t *)o->data)[i];
			if (v < 0 || v >= C) {
				nn_err_set(err, NN_ERR_RUNTIME, "the model's class map has index %lld at cell %zu; it has %d classes",
					   (long long)v, i, C);
				return false;
			}
			grid[i] = (uint8_t)v;
		}
		return true;
	}
	for (size_t i = 0; i < cells; i++) {
		int best = 0;
		if (ss->type == NN_F32) {
			const float *p = (const float *)o->data + i * (size_t)C;
			float bv = -INFINITY;
			for (int c = 0; c < C; c++)
				if (p[c] > bv) /* NaN never wins; ties: the lower class */
					bv = p[c], best = c;
		} else if (ss->type == NN_U8) {
			const uint8_t *p = (const uint8_t *)o->data + i * (size_t)C;
			for (int c = 1; c < C; c++)
				if (p[c] > p[best])
					best = c;
		} else {
			const int8_t *p = (const int8_t *)o->data + i * (size_t)C;
			for (int c = 1; c < C; c++)
				if (p[c] > p[best])
					best = c;
		}
		grid[i] = (uint8_t)best;
	}
	return true;
}

/* For each of n picture pixels along one axis, the grid cell whose area
 * holds its centre: picture -> tensor (through the letterbox) -> grid. */
static void axis_map(int *idx, int n, int tensor, bool letterboxed, int box_off, int box_size, int grid)
{
	for (int i = 0; i < n; i++) {
		double t = letterboxed && box_size > 0 ? box_off + (i + 0.5) * box_size / n : (i + 0.5) * tensor / n;
		long g = (long)floor(t * grid / tensor);
		idx[i] = (int)(g < 0 ? 0 : g >= grid ? grid - 1 : g);
	}
}

/* The PASCAL VOC colour of class c: its bits spread over the high bits of
 * R, G, B in turn (the VOC devkit's colormap). */
static void voc_colour(int c, uint8_t rgb[3])
{
	rgb[0] = rgb[1] = rgb[2] = 0;
	for (int bit = 7; bit >= 0 && c; bit--, c >>= 3) {
		rgb[0] |= (uint8_t)((c & 1) << bit);
		rgb[1] |= (uint8_t)(((c >> 1) & 1) << bit);
		rgb[2] |= (uint8_t)(((c >> 2) & 1) << bit);
	}
}

static char *base64_encode(const uint8_t *p, size_t n, size_t *out_len)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = (n + 2) / 3 * 4, j = 0;
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		s[j++] = a[v >> 18 & 63];
		s[j++] = a[v >> 12 & 63];
		s[j++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		s[j++] = i + 2 < n ? a[v & 63] : '=';
	}
	s[j] = 0;
	*out_len = len;
	return s;
}

static pool_status png_failed(ls_image_status is, const char *msg, nn_err *err)
{
	nn_err_set(err, is == LS_IMG_NO_MEMORY ? NN_ERR_NO_MEMORY : NN_ERR_INTERNAL, "%s", msg);
	return POOL_FAILED;
}

static pool_status seg_postprocess(const task_request *rq, nn_session *s, const task_input *in, json_t **result,
				   uint8_t **png, size_t *png_len, nn_err *err)
{
	const seg_state *ss = rq->state;
	const pool_model *m = rq->model;
	const char *output = rq->params->output;
	bool want_png = png && output && !strcmp(output, "png");
	bool want_overlay = png && output && !strcmp(output, "overlay");
	int W = in->image_width, H = in->image_height;
	size_t npix = (size_t)W * (size_t)H;
	uint8_t *grid = NULL, *mask = NULL, *rgb = NULL, *enc = NULL;
	int *xs = NULL, *ys = NULL;
	size_t enc_len = 0, counts[SEG_MAX_CLASSES] = {0};
	char msg[256];
	char *b64 = NULL;
	ls_image_status is;
	pool_status ps = POOL_FAILED;

	if (W <= 0 || H <= 0) {
		nn_err_set(err, NN_ERR_INTERNAL, "segmentation of a %dx%d picture", W, H);
		return POOL_FAILED;
	}
	if (want_overlay && !in->picture) {
		nn_err_set(err, NN_ERR_INTERNAL, "output=overlay but preprocessing kept no picture");
		return POOL_FAILED;
	}
	grid = malloc((size_t)ss->gw * (size_t)ss->gh);
	mask = malloc(npix);
	xs = malloc((size_t)W * sizeof(*xs));
	ys = malloc((size_t)H * sizeof(*ys));
	if (!grid || !mask || !xs || !ys) {
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for a %dx%d mask", W, H);
		goto out;
	}
	if (!grid_classes(ss, nn_session_output(s, 0), grid, err))
		goto out;
	axis_map(xs, W, in->tensor_width, in->letterboxed, in->box.x, in->box.w, ss->gw);
	axis_map(ys, H, in->tensor_height, in->letterboxed, in->box.y, in->box.h, ss->gh);
	for (int y = 0; y < H; y++) {
		const uint8_t *g = grid + (size_t)ys[y] * (size_t)ss->gw;
		uint8_t *row = mask + (size_t)y * (size_t)W;
		for (int x = 0; x < W; x++)
			counts[row[x] = g[xs[x]]]++;
	}

	if (want_overlay) {
		uint8_t pal[SEG_MAX_CLASSES][3];
		for (int c = 0; c < SEG_MAX_CLASSES; c++)
			voc_colour(c, pal[c]);
		if (!(rgb = malloc(npix * 3))) {
			nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for a %dx%d overlay", W, H);
			goto out;
		}
		for (size_t i = 0; i < npix; i++) {
			const uint8_t *p = in->picture + 3 * i;
			uint8_t *q = rgb + 3 * i;
			int c = mask[i];
			for (int k = 0; k < 3; k++)
				q[k] = c ? (uint8_t)((p[k] + pal[c][k] + 1) / 2) : p[k];
		}
		if ((is = ls_png_encode(rgb, W, H, LS_PNG_RGB, &enc, &enc_len, msg, sizeof(msg))) != LS_IMG_OK) {
			ps = png_failed(is, msg, err);
			goto out;
		}
	} else if ((is = ls_png_encode(mask, W, H, LS_PNG_GRAY, &enc, &enc_len, msg, sizeof(msg))) != LS_IMG_OK) {
		ps = png_failed(is, msg, err);
		goto out;
	}
	if (want_png || want_overlay) {
		*png = enc;
		*png_len = enc_len;
		enc = NULL;
		ps = POOL_OK;
		goto out;
	}

	{
		size_t b64_len;
		json_t *res, *classes, *mj, *img;
		int order[SEG_MAX_CLASSES], n = 0;

		if (!(b64 = base64_encode(enc, enc_len, &b64_len))) {
			nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for the mask's base64");
			goto out;
		}
		for (int c = 0; c < SEG_MAX_CLASSES; c++)
			if (counts[c])
				order[n++] = c;
		/* by pixels, descending; ties: the lower class (insertion sort of <= 256) */
		for (int i = 1; i < n; i++) {
			int c = order[i], j = i;
			while (j > 0 && counts[order[j - 1]] < counts[c])
				order[j] = order[j - 1], j--;
			order[j] = c;
		}
		res = json_object();
		classes = json_array();
		for (int i = 0; i < n; i++) {
			int c = order[i];
			json_t *e = json_object(), *lab = NULL;
			char id[16];
			snprintf(id, sizeof(id), "%d", c);
			if (m->labels && c < m->n_labels)
				lab = json_string(m->labels[c]); /* NULL for invalid UTF-8: the index */
			json_object_set_new(e, "label", lab ? lab : json_string(id));
			json_object_set_new(e, "index", json_integer(c));
			json_object_set_new(e, "pixels", json_integer((json_int_t)counts[c]));
			json_object_set_new(e, "fraction", json_real((double)counts[c] / (double)npix));
			json_array_append_new(classes, e);
		}
		mj = json_object();
		json_object_set_new(mj, "width", json_integer(W));
		json_object_set_new(mj, "height", json_integer(H));
		json_object_set_new(mj, "format", json_string("png"));
		json_object_set_new(mj, "data", json_stringn_nocheck(b64, b64_len));
		img = json_object();
		json_object_set_new(img, "width", json_integer(W));
		json_object_set_new(img, "height", json_integer(H));
		json_object_set_new(res, "classes", classes);
		json_object_set_new(res, "mask", mj);
		json_object_set_new(res, "image", img);
		*result = res;
		ps = POOL_OK;
	}
out:
	free(b64);
	free(enc);
	free(rgb);
	free(ys);
	free(xs);
	free(mask);
	free(grid);
	return ps;
}

const task_ops task_segmentation = {
	.task = POOL_TASK_SEGMENTATION,
	.prepare = seg_prepare,
	.free = free,
	.preprocess = NULL, /* the image path (keeps the picture for output=overlay) */
	.postprocess = seg_postprocess,
};
