/* max_pool_2d.c - MAX_POOL_2D over NHWC tensors (float32).
 *
 * DESIGN: geometry, options and threading are pool_common.h's.  Each output
 * is TFLite's float reference value: the maximum over the in-bounds
 * elements of the window (padding is never read), starting from -FLT_MAX
 * and replaced only by a larger element, so NaNs are skipped as with
 * std::max, then clamped by the fused activation.  The maxima of all C
 * channels of an output pixel advance together, one input pixel at a time,
 * which vectorises over channels; the output row is the accumulator.
 */
#include <float.h>

#include "pool_common.h"

static void max_row_f32(const pool_params *p, const void *in_, void *out_, int b, int oy)
{
	const float *img = (const float *)in_ + (size_t)b * p->ih * p->iw * p->c;
	float *o = (float *)out_ + ((size_t)b * p->oh + (size_t)oy) * p->ow * p->c;
	const int y0 = oy * p->sh - p->pad_h, c = p->c;
	int fy0, fy1;

	pool_window(y0, p->kh, p->ih, &fy0, &fy1);
	for (int ox = 0; ox < p->ow; ox++, o += c) {
		const int x0 = ox * p->sw - p->pad_w;
		int fx0, fx1;

		pool_window(x0, p->kw, p->iw, &fx0, &fx1);
		pool_fill_f32(o, -FLT_MAX, c);
		for (int fy = fy0; fy < fy1; fy++)
			for (int fx = fx0; fx < fx1; fx++)
				pool_max_f32(o, img + ((size_t)(y0 + fy) * p->iw + (size_t)(x0 + fx)) * c, c);
		pool_div_clamp_f32(o, 1.0f, p->lo, p->hi, c);
	}
}

static nn_status max_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	pool_data *d;
	nn_status st = pool_prepare(g, node, &d, err);

	if (st != NN_OK)
		return st;
	d->row = max_row_f32;
	return NN_OK;
}

const nn_kernel nn_k_max_pool_2d = {
    .name = "MAX_POOL_2D",
    .prepare = max_prepare,
    .eval = pool_eval,
    .free = pool_free,
};
