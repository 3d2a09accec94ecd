/* average_pool_2d.c - AVERAGE_POOL_2D over NHWC tensors (float32, uint8,
 * int8).
 *
 * DESIGN: geometry, options and threading are pool_common.h's.  Each output
 * is TFLite's float reference value exactly: the in-bounds elements of the
 * window are summed in float, starting from 0, row by row (y, then x, both
 * ascending), divided once by their number (padding is not counted, so edge
 * windows average fewer elements), then clamped by the fused activation.
 * The sums of all C channels of an output pixel advance together, one input
 * pixel at a time, which is the reference's per-channel order and vectorises
 * over channels.  The output row itself is the accumulator (no scratch).
 * uint8/int8: the same window, summed exactly in int32 accumulators (the
 * thread's scratch), then divided by the element count n rounding half
 * away from zero as TFLite's kernels do - (sum + n/2) / n for a positive
 * sum, (sum - n/2) / n otherwise, with C's truncating division - and
 * clamped to the activation range (TFLite's optimized kernel uses 16-bit
 * accumulators for windows of up to 256 elements, which cannot overflow
 * there, so it computes the same).  Windows of more than 2^23 elements
 * are refused: their sums could overflow int32.
 */
#include "pool_common.h"

static void avg_row_f32(const pool_params *p, const void *in_, void *out_, int b, int oy, void *scratch)
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

/* Row of an 8-bit average pool of element type T (see DESIGN). */
#define AVG_ROW_Q(name, T)                                                                                   \
	static void name(const pool_params *p, const void *in_, void *out_, int b, int oy, void *scratch)    \
	{                                                                                                    \
		const T *img = (const T *)in_ + (size_t)b * p->ih * p->iw * p->c;                            \
		T *o = (T *)out_ + ((size_t)b * p->oh + (size_t)oy) * p->ow * p->c;                          \
		int32_t *restrict acc = scratch;                                                             \
		const int y0 = oy * p->sh - p->pad_h, c = p->c;                                              \
		int fy0, fy1;                                                                                \
                                                                                                             \
		pool_window(y0, p->kh, p->ih, &fy0, &fy1);                                                   \
		for (int ox = 0; ox < p->ow; ox++, o += c) {                                                 \
			const int x0 = ox * p->sw - p->pad_w;                                                \
			int fx0, fx1, n;                                                                     \
                                                                                                             \
			pool_window(x0, p->kw, p->iw, &fx0, &fx1);                                           \
			n = (fy1 - fy0) * (fx1 - fx0); /* >= 1 (pool_common.h) */                            \
			for (int k = 0; k < c; k++)                                                          \
				acc[k] = 0;                                                                  \
			for (int fy = fy0; fy < fy1; fy++)                                                   \
				for (int fx = fx0; fx < fx1; fx++) {                                         \
					const T *restrict x =                                                \
					    img + ((size_t)(y0 + fy) * p->iw + (size_t)(x0 + fx)) * c;       \
					for (int k = 0; k < c; k++)                                          \
						acc[k] += x[k];                                              \
				}                                                                            \
			for (int k = 0; k < c; k++) {                                                        \
				const int32_t s = acc[k];                                                    \
				const int32_t a = s > 0 ? (s + n / 2) / n : (s - n / 2) / n;                 \
				o[k] = (T)(a < p->ilo ? p->ilo : (a > p->ihi ? p->ihi : a));                 \
			}                                                                                    \
		}                                                                                            \
	}
AVG_ROW_Q(avg_row_u8, uint8_t)
AVG_ROW_Q(avg_row_i8, int8_t)

enum { AVG_MAX_TAPS_Q = 1 << 23 }; /* 2^23 * 255 < 2^31: int32 sums cannot overflow */

static nn_status avg_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	pool_data *d;
	nn_status st = pool_prepare(g, node, &d, err);
	const pool_params *p;
	int64_t taps;

	if (st != NN_OK)
		return st;
	p = &d->p;
	switch (nn_in(g, node, 0)->type) {
	case NN_F32:
		d->row = avg_row_f32;
		return NN_OK;
	case NN_U8:
	case NN_I8:
		taps = (int64_t)(p->kh < p->ih ? p->kh : p->ih) * (p->kw < p->iw ? p->kw : p->iw);
		if (taps > AVG_MAX_TAPS_Q)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "a window of %lld elements is too large for 8-bit average pooling "
					   "(at most %d)",
					   (long long)taps, AVG_MAX_TAPS_Q);
		d->row = nn_in(g, node, 0)->type == NN_U8 ? avg_row_u8 : avg_row_i8;
		node->scratch_bytes = (size_t)p->c * sizeof(int32_t);
		return NN_OK;
	default: /* pool_prepare accepted only the types above */
		return nn_node_err(node, err, NN_ERR_INTERNAL, "no row function for type %s",
				   nn_dtype_name(nn_in(g, node, 0)->type));
	}
}

const nn_kernel nn_k_average_pool_2d = {
    .name = "AVERAGE_POOL_2D",
    .prepare = avg_prepare,
    .eval = pool_eval,
    .free = pool_free,
};
