/* max_pool_2d.c - MAX_POOL_2D over NHWC tensors (float32, uint8, int8).
 *
 * DESIGN: geometry, options and threading are pool_common.h's.  Each output
 * is TFLite's float reference value: the maximum over the in-bounds
 * elements of the window (padding is never read), starting from -FLT_MAX
 * and replaced only by a larger element, so NaNs are skipped as with
 * std::max, then clamped by the fused activation.  The maxima of all C
 * channels of an output pixel advance together, one input pixel at a time,
 * which vectorises over channels; the output row is the accumulator.
 * uint8/int8: the maximum of the integers (input and output share their
 * quantization), clamped to the activation range, as TFLite's kernels.
 */
#include <float.h>

#include "pool_common.h"

static void max_row_f32(const pool_params *p, const void *in_, void *out_, int b, int oy, void *scratch)
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

/* Row of an 8-bit max pool of element type T, whose smallest value is TMIN. */
#define MAX_ROW_Q(name, T, TMIN)                                                                             \
	static void name(const pool_params *p, const void *in_, void *out_, int b, int oy, void *scratch)    \
	{                                                                                                    \
		const T *img = (const T *)in_ + (size_t)b * p->ih * p->iw * p->c;                            \
		T *o = (T *)out_ + ((size_t)b * p->oh + (size_t)oy) * p->ow * p->c;                          \
		const int y0 = oy * p->sh - p->pad_h, c = p->c;                                              \
		const T lo = (T)p->ilo, hi = (T)p->ihi;                                                      \
		int fy0, fy1;                                                                                \
                                                                                                             \
		pool_window(y0, p->kh, p->ih, &fy0, &fy1);                                                   \
		for (int ox = 0; ox < p->ow; ox++, o += c) {                                                 \
			const int x0 = ox * p->sw - p->pad_w;                                                \
			T *restrict m = o;                                                                   \
			int fx0, fx1;                                                                        \
                                                                                                             \
			pool_window(x0, p->kw, p->iw, &fx0, &fx1);                                           \
			for (int k = 0; k < c; k++)                                                          \
				m[k] = TMIN;                                                                 \
			for (int fy = fy0; fy < fy1; fy++)                                                   \
				for (int fx = fx0; fx < fx1; fx++) {                                         \
					const T *restrict x =                                                \
					    img + ((size_t)(y0 + fy) * p->iw + (size_t)(x0 + fx)) * c;       \
					for (int k = 0; k < c; k++)                                          \
						m[k] = m[k] < x[k] ? x[k] : m[k];                            \
				}                                                                            \
			for (int k = 0; k < c; k++)                                                          \
				m[k] = m[k] < lo ? lo : (m[k] > hi ? hi : m[k]);                             \
		}                                                                                            \
	}
MAX_ROW_Q(max_row_u8, uint8_t, 0)
MAX_ROW_Q(max_row_i8, int8_t, -128)

static nn_status max_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	pool_data *d;
	nn_status st = pool_prepare(g, node, &d, err);

	if (st != NN_OK)
		return st;
	switch (nn_in(g, node, 0)->type) {
	case NN_F32:
		d->row = max_row_f32;
		return NN_OK;
	case NN_U8:
		d->row = max_row_u8;
		return NN_OK;
	case NN_I8:
		d->row = max_row_i8;
		return NN_OK;
	default: /* pool_prepare accepted only the types above */
		return nn_node_err(node, err, NN_ERR_INTERNAL, "no row function for type %s",
				   nn_dtype_name(nn_in(g, node, 0)->type));
	}
}

const nn_kernel nn_k_max_pool_2d = {
    .name = "MAX_POOL_2D",
    .prepare = max_prepare,
    .eval = pool_eval,
    .free = pool_free,
};
