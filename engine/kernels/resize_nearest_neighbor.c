/* resize_nearest_neighbor.c - RESIZE_NEAREST_NEIGHBOR on NHWC tensors.
 *
 * DESIGN: each output pixel copies one input pixel (all its channels), so
 * the op is a gather of C-element runs: prepare computes the source row of
 * every output row and the source column of every output column, eval
 * copies.  Nothing is interpreted, so every fixed-size dtype works the same
 * (TFLite itself copies float32 as int32); a quantized output must carry the
 * input's parameters since no value is rescaled.  The source index follows
 * TFLite's reference (float arithmetic):
 *   scale = (in - 1) / (out - 1) with align_corners and out > 1, else in / out
 *   off   = 0.5 with half_pixel_centers, else 0
 *   src   = round((i + off) * scale) with align_corners (half away from zero)
 *           floor((i + off) * scale) otherwise
 *   src   = min(src, in - 1), and max(src, 0) with half_pixel_centers.
 * Options (ResizeNearestNeighborOptions): align_corners=0,
 * half_pixel_centers=1.  The size is input 1, a constant int32 [2].
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"
#include "quant_math.h"
#include "resize_common.h"

enum {
	RNN_OPT_ALIGN_CORNERS = 0,
	RNN_OPT_HALF_PIXEL_CENTERS = 1,
};

typedef struct rnn_data {
	int32_t batch, in_h, in_w, out_h, out_w;
	size_t pixel;	/* bytes of one pixel: depth * element size */
	int32_t *src_y; /* out_h source rows */
	int32_t *src_x; /* out_w source columns */
} rnn_data;

typedef struct rnn_ctx {
	const rnn_data *d;
	const uint8_t *in;
	uint8_t *out;
} rnn_ctx;

static int32_t rnn_source(int32_t i, int32_t in_size, int32_t out_size, bool align, bool half)
{
	float scale = (align && out_size > 1) ? (float)(in_size - 1) / (float)(out_size - 1)
					      : (float)in_size / (float)out_size;
	float pos = ((float)i + (half ? 0.5f : 0.0f)) * scale;
	int32_t s = align ? (int32_t)roundf(pos) : (int32_t)floorf(pos);

	if (s > in_size - 1)
		s = in_size - 1;
	if (half && s < 0)
		s = 0;
	return s;
}

static void rnn_free(void *p)
{
	nn_free(p);
}

static nn_status rnn_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	const nn_tensor *out;
	bool align, half;
	int32_t oh, ow, dims[4];
	size_t es;
	rnn_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	out = nn_out(g, node, 0);
	es = nn_dtype_size(in->type);
	if (es == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if ((st = resize_output_size(g, node, "sample from", &oh, &ow, err)) != NN_OK)
		return st;
	if (!qm_same_quant(in->quant, out->quant) && in->quant && out->quant)
		return nn_node_err(
		    node, err, NN_ERR_UNSUPPORTED,
		    "output quantization differs from the input's (values are copied, not rescaled)");
	align = nn_opt_bool(node, RNN_OPT_ALIGN_CORNERS, false);
	half = nn_opt_bool(node, RNN_OPT_HALF_PIXEL_CENTERS, false);

	dims[0] = in->dims[0];
	dims[1] = oh;
	dims[2] = ow;
	dims[3] = in->dims[3];
	if ((st = nn_set_output(g, node, 0, in->type, 4, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d) + sizeof(int32_t) * ((size_t)oh + (size_t)ow));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory for %dx%d index tables", oh,
				   ow);
	d->batch = in->dims[0];
	d->in_h = in->dims[1];
	d->in_w = in->dims[2];
	d->out_h = oh;
	d->out_w = ow;
	d->pixel = (size_t)in->dims[3] * es;
	d->src_y = (int32_t *)(d + 1);
	d->src_x = d->src_y + oh;
	for (int32_t y = 0; y < oh; y++)
		d->src_y[y] = rnn_source(y, d->in_h, oh, align, half);
	for (int32_t x = 0; x < ow; x++)
		d->src_x[x] = rnn_source(x, d->in_w, ow, align, half);
	node->data = d;
	node->impl = "ref";
	return NN_OK;
}

static void rnn_task(void *ctx_, int64_t r0, int64_t r1)
{
	const rnn_ctx *c = ctx_;
	const rnn_data *d = c->d;
	size_t in_row = (size_t)d->in_w * d->pixel, out_row = (size_t)d->out_w * d->pixel;

	for (int64_t r = r0; r < r1; r++) {
		int64_t b = r / d->out_h, y = r % d->out_h;
		const uint8_t *src = c->in + ((size_t)b * d->in_h + (size_t)d->src_y[y]) * in_row;
		uint8_t *dst = c->out + (size_t)r * out_row;
		for (int32_t x = 0; x < d->out_w; x++, dst += d->pixel)
			memcpy(dst, src + (size_t)d->src_x[x] * d->pixel, d->pixel);
	}
}

static nn_status rnn_eval(const nn_node *node, nn_exec *ex)
{
	const rnn_data *d = node->data;
	int64_t rows = (int64_t)d->batch * d->out_h;
	size_t row_bytes = (size_t)d->out_w * d->pixel;
	rnn_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};

	if (row_bytes > 0) /* ~64 KiB of output per task */
		nn_parallel_range(ex, rows, (int64_t)(65536 / row_bytes) + 1, rnn_task, &c);
	return NN_OK;
}

const nn_kernel nn_k_resize_nearest_neighbor = {
    .name = "RESIZE_NEAREST_NEIGHBOR",
    .prepare = rnn_prepare,
    .eval = rnn_eval,
    .free = rnn_free,
};
