/* average_pool_2d.c - AVERAGE_POOL_2D over NHWC tensors (float32).
 *
 * DESIGN: geometry, options and threading are pool_common.h's.  Each output
 * is TFLite's float reference value exactly: the in-bounds elements of the
 * window are summed in float, starting from 0, row by row (y, then x, both
 * ascending), divided once by their number (padding is not counted, so edge
 * windows average fewer elements), then clamped by the fused activation.
 * The sums of all C channels of an output pixel advance together, one input
 * pixel at a time, which is the reference's per-channel order and vectorises
 * over channels.  The output row itself is the accumulator (no scratch).
 */
#include "pool_common.h"

static void avg_row_f32(const pool_params *p, const void *in_, void *out_, int b, int oy)
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
		pool_fill_f32(o, 0.0f, c);
		for (int fy = fy0; fy < fy1; fy++)
			for (int fx = fx0; fx < fx1; fx++)
				pool_add_f32(o, img + ((size_t)(y0 + fy) * p->iw + (size_t)(x0 + fx)) * c, c);
		/* at least one element per window (pool_common.h), so no 0/0 */
		pool_div_clamp_f32(o, (float)((fy1 - fy0) * (fx1 - fx0)), p->lo, p->hi, c);
	}
}

static nn_status avg_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	pool_data *d;
	nn_status st = pool_prepare(g, node, &d, err);

	if (st != NN_OK)
		return st;
	d->row = avg_row_f32;
	return NN_OK;
}

const nn_kernel nn_k_average_pool_2d = {
    .name = "AVERAGE_POOL_2D",
    .prepare = avg_prepare,
    .eval = pool_eval,
    .free = pool_free,
};
