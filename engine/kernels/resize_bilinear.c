/* resize_bilinear.c - RESIZE_BILINEAR on NHWC tensors.
 *
 * DESIGN: every output row y and column x reads two source rows (y0, y1)
 * and two source columns (x0, x1) with fixed weights, so prepare computes
 * them once per row and per column and eval only blends.  The coordinates
 * follow TFLite exactly (float arithmetic, same order):
 *   scale  = in / out, or (in - 1) / (out - 1) with align_corners (out > 1)
 *   source = (i + 0.5) * scale - 0.5 with half_pixel_centers, else i * scale
 *   lo     = max(floor(source), 0),  hi = min(ceil(source), in - 1)
 *   frac   = source - lo   (not clamped: a negative source near the top edge
 *            gives weights 1 - frac > 1 and frac < 0 on the same pixel, which
 *            blend back to that pixel, as in TFLite)
 * float32 follows TFLite's optimized kernel (the goldens' oracle), which
 * multiplies each pixel's two weights first and accumulates into a zeroed
 * output in the order (lo,lo), (lo,hi), (hi,lo), (hi,hi):
 *   out = 0 + v00*((1-fy)(1-fx)) + v01*((1-fy)fx) + v10*(fy(1-fx)) + v11*(fy*fx)
 * left to right in float (the leading 0 + turns a -0 into +0, as there).
 * An exact 2x upsample without align_corners/half_pixel_centers takes its
 * special kernel: even rows and columns copy, odd ones average neighbours
 * as (a + b) / 2, and the odd-odd pixel is ((v00 + v10)/2 + (v01 + v11)/2) / 2.
 * Both were checked bit for bit against TFLite on random shapes.
 * Options (ResizeBilinearOptions): new_height=0, new_width=1 (deprecated,
 * ignored), align_corners=2, half_pixel_centers=3; both true is refused as
 * in TFLite.  The size is input 1, a constant int32 [2] = {height, width}.
 * Rows are split across threads; each output row is written by one task.
 *
 * Quantized inputs are interpolated in the quantized domain (the output
 * must carry the input's quantization), and the two 8-bit types take the
 * two different routes of TFLite's optimized kernel:
 *   - uint8 (ResizeBilinearGenericSmallChannel): the float weights above,
 *     but each pixel's four weights are multiplied first,
 *       s00 = (1-fy)(1-fx), s01 = (1-fy)fx, s10 = fy(1-fx), s11 = fy*fx,
 *     and out = (uint8)(p00*s00 + p01*s01 + p10*s10 + p11*s11 + 0.5f),
 *     summed left to right in float and truncated.  TFLite has a fixed-point
 *     kernel for exact 8x half-pixel upsampling of depth % 8 == 0; its
 *     weights are multiples of 1/256 and its 8.8 accumulators are exact, so
 *     it rounds the exact value half up - which the float formula also
 *     does there (every product and sum is exact in float), so one formula
 *     covers both.
 *   - int8 (ResizeBilinearInteger): no float at all.  scale10 =
 *     (1024 * in + out / 2) / out (or (1024 * (in-1) + (out-1) / 2) /
 *     (out-1) with align_corners), source = i * scale10 (+ scale10 / 2 -
 *     512 with half_pixel_centers), lo = max(source / 1024, 0) (C division),
 *     hi = min((source + 1023) / 1024, in - 1), frac = source - 1024 * lo;
 *     the four products of weights (1024 - frac, frac) make a sum S with
 *     2^20 as one, and out = (S +- 2^19) / 2^20, rounding half away from
 *     zero.  |S| < 2^31 always (the weights stay in (-512, 1536)).
 * Both 8-bit kernels precompute the per-row and per-column weights and
 * walk the channels in blocks with constant trip counts, which GCC
 * vectorises at -O2 (RB_CHANNELS); every element is computed by the same
 * expression either way ("ref" with LITESERVE_FORCE_REFERENCE does it one
 * element at a time, "c16" in blocks).  Both kinds of weights were checked against TFLite
 * itself on random shapes, scales and both coordinate modes.
 * A source row/column past the input (possible only for int8 with extreme
 * upsampling, where TFLite reads out of bounds) is refused at prepare.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"
#include "quant_math.h"
#include "resize_common.h"

enum {
	RB_OPT_ALIGN_CORNERS = 2,
	RB_OPT_HALF_PIXEL_CENTERS = 3,
};

typedef struct rb_axis {
	int32_t lo, hi; /* the two source indices */
	float w_lo;	/* 1 - frac: weight of lo */
	float w_hi;	/* frac: weight of hi */
	int32_t q_lo;	/* int8: 1024 - frac10 */
	int32_t q_hi;	/* int8: frac10 */
} rb_axis;

typedef struct rb_data {
	int32_t batch, in_h, in_w, depth, out_h, out_w;
	rb_axis *ys;								       /* out_h entries */
	rb_axis *xs;								       /* out_w entries */
	void (*row)(const struct rb_data *d, const void *in, void *out, int b, int y); /* per dtype */
	bool blocks; /* 8-bit: use the 16-channel blocks (false = reference) */
} rb_data;

/* The channels of one output pixel, [0, C), go in blocks: each block is a
 * call of a function with restrict pointers and a constant trip count of 16
 * or 8, which GCC vectorises at -O2 (it does not vectorise the same loop
 * written inline in the pixel loop).  The last few channels form one more
 * 8-block ending at C that overlaps the previous one: its overlapping
 * elements are recomputed to the same values, so the second write is
 * harmless, and DeepLab's 21 classes cost 16 + 8 vector lanes instead of
 * 16 + 5 scalar steps.  Below 8 channels, or for the reference, the same
 * expression runs one element at a time. */
#define RB_CHANNELS(C, blocks, BLOCK16, BLOCK8, ONE)                                                         \
	do {                                                                                                 \
		int32_t c_ = 0;                                                                              \
		if ((blocks) && (C) >= 8) {                                                                  \
			for (; c_ + 16 <= (C); c_ += 16)                                                     \
				BLOCK16(c_);                                                                 \
			for (; c_ + 8 <= (C); c_ += 8)                                                       \
				BLOCK8(c_);                                                                  \
			if (c_ < (C))                                                                        \
				BLOCK8((C)-8);                                                               \
		} else {                                                                                     \
			for (; c_ < (C); c_++)                                                               \
				ONE(c_);                                                                     \
		}                                                                                            \
	} while (0)

typedef struct rb_ctx {
	const rb_data *d;
	const void *in;
	void *out;
} rb_ctx;

/* Same float steps as TFLite's ComputeInterpolationValues. */
static rb_axis rb_axis_at(int32_t i, float scale, bool half_pixel, int32_t in_size)
{
	rb_axis a;
	float src = half_pixel ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
	int32_t lo = (int32_t)floorf(src), hi = (int32_t)ceilf(src);

	a.lo = lo > 0 ? lo : 0;
	a.hi = hi < in_size - 1 ? hi : in_size - 1;
	a.w_hi = src - (float)a.lo;
	a.w_lo = 1.0f - a.w_hi;
	return a;
}

static void rb_row_f32(const rb_data *d, const void *in_, void *out_, int b, int y)
{
	const float *in = (const float *)in_ + (size_t)b * d->in_h * d->in_w * d->depth;
	float *out = (float *)out_ + ((size_t)b * d->out_h + (size_t)y) * d->out_w * d->depth;
	const rb_axis ay = d->ys[y];
	const float *r0 = in + (size_t)ay.lo * d->in_w * d->depth;
	const float *r1 = in + (size_t)ay.hi * d->in_w * d->depth;
	const int32_t C = d->depth;

	for (int32_t x = 0; x < d->out_w; x++, out += C) {
		const rb_axis ax = d->xs[x];
		const float *restrict p00 = r0 + (size_t)ax.lo * C, *restrict p01 = r0 + (size_t)ax.hi * C;
		const float *restrict p10 = r1 + (size_t)ax.lo * C, *restrict p11 = r1 + (size_t)ax.hi * C;
		float *restrict o = out;
		const float s00 = ay.w_lo * ax.w_lo, s01 = ay.w_lo * ax.w_hi;
		const float s10 = ay.w_hi * ax.w_lo, s11 = ay.w_hi * ax.w_hi;
		for (int32_t c = 0; c < C; c++)
			o[c] = 0.0f + p00[c] * s00 + p01[c] * s01 + p10[c] * s10 + p11[c] * s11;
	}
}

/* Exact 2x upsample (TFLite's ResizeBilinear2x2): output row y comes from
 * input rows y0 = y / 2 and y1 = min(y0 + 1, in_h - 1). */
static void rb_row_f32_2x(const rb_data *d, const void *in_, void *out_, int b, int y)
{
	const float *in = (const float *)in_ + (size_t)b * d->in_h * d->in_w * d->depth;
	float *out = (float *)out_ + ((size_t)b * d->out_h + (size_t)y) * d->out_w * d->depth;
	const int32_t y0 = y / 2, y1 = y0 + 1 < d->in_h ? y0 + 1 : d->in_h - 1;
	const float *r0 = in + (size_t)y0 * d->in_w * d->depth;
	const float *r1 = in + (size_t)y1 * d->in_w * d->depth;
	const int32_t C = d->depth;

	for (int32_t x0 = 0; x0 < d->in_w; x0++, out += 2 * C) {
		const int32_t x1 = x0 + 1 < d->in_w ? x0 + 1 : d->in_w - 1;
		const float *restrict a = r0 + (size_t)x0 * C, *restrict bb = r0 + (size_t)x1 * C;
		float *restrict o = out;
		if (!(y & 1)) {
			for (int32_t c = 0; c < C; c++) {
				o[c] = a[c];
				o[C + c] = (a[c] + bb[c]) / 2;
			}
		} else {
			const float *restrict p = r1 + (size_t)x0 * C, *restrict q = r1 + (size_t)x1 * C;
			for (int32_t c = 0; c < C; c++) {
				float left = (a[c] + p[c]) / 2;
				o[c] = left;
				o[C + c] = (left + ((bb[c] + q[c]) / 2)) / 2;
			}
		}
	}
}

/* 10-bit fixed-point coordinates of TFLite's ResizeBilinearInteger. */
static nn_status rb_axis_int(const nn_node *node, rb_axis *a, int32_t i, int32_t scale10, bool half,
			     int32_t in_size, nn_err *err)
{
	int32_t src = half ? i * scale10 + scale10 / 2 - (1 << 9) : i * scale10;
	int32_t lo = src / (1 << 10), hi = (src + (1 << 10) - 1) / (1 << 10);

	a->lo = lo > 0 ? lo : 0;
	a->hi = hi < in_size - 1 ? hi : in_size - 1;
	if (a->lo > in_size - 1)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "10-bit source coordinate %d/1024 of output index %d is past the input "
				   "(size %d): this upscale is too large for int8 resizing",
				   src, i, in_size);
	a->q_hi = src - (1 << 10) * a->lo;
	a->q_lo = (1 << 10) - a->q_hi;
	return NN_OK;
}

/* uint8, one element: TFLite's float weights, four products then + 0.5. */
#define RB_U8(p00, p01, p10, p11, s00, s01, s10, s11)                                                        \
	((uint8_t)((float)(p00) * (s00) + (float)(p01) * (s01) + (float)(p10) * (s10) +                      \
		   (float)(p11) * (s11) + 0.5f))

/* n (a constant at each call) uint8 elements of one pixel. */
static inline void rb_u8_n(const uint8_t *restrict p00, const uint8_t *restrict p01,
			   const uint8_t *restrict p10, const uint8_t *restrict p11, uint8_t *restrict o,
			   float s00, float s01, float s10, float s11, int n)
{
	for (int k = 0; k < n; k++)
		o[k] = RB_U8(p00[k], p01[k], p10[k], p11[k], s00, s01, s10, s11);
}

static void rb_u8_16(const uint8_t *restrict p00, const uint8_t *restrict p01, const uint8_t *restrict p10,
		     const uint8_t *restrict p11, uint8_t *restrict o, float s00, float s01, float s10,
		     float s11)
{
	rb_u8_n(p00, p01, p10, p11, o, s00, s01, s10, s11, 16);
}

static void rb_u8_8(const uint8_t *restrict p00, const uint8_t *restrict p01, const uint8_t *restrict p10,
		    const uint8_t *restrict p11, uint8_t *restrict o, float s00, float s01, float s10,
		    float s11)
{
	rb_u8_n(p00, p01, p10, p11, o, s00, s01, s10, s11, 8);
}

static void rb_row_u8(const rb_data *d, const void *in_, void *out_, int b, int y)
{
	const uint8_t *in = (const uint8_t *)in_ + (size_t)b * d->in_h * d->in_w * d->depth;
	uint8_t *out = (uint8_t *)out_ + ((size_t)b * d->out_h + (size_t)y) * d->out_w * d->depth;
	const rb_axis ay = d->ys[y];
	const uint8_t *r0 = in + (size_t)ay.lo * d->in_w * d->depth;
	const uint8_t *r1 = in + (size_t)ay.hi * d->in_w * d->depth;
	const int32_t C = d->depth;
	const bool blocks = d->blocks;

	for (int32_t x = 0; x < d->out_w; x++, out += C) {
		const rb_axis ax = d->xs[x];
		const uint8_t *p00 = r0 + (size_t)ax.lo * C, *p01 = r0 + (size_t)ax.hi * C;
		const uint8_t *p10 = r1 + (size_t)ax.lo * C, *p11 = r1 + (size_t)ax.hi * C;
		uint8_t *o = out;
		const float s00 = ay.w_lo * ax.w_lo, s01 = ay.w_lo * ax.w_hi;
		const float s10 = ay.w_hi * ax.w_lo, s11 = ay.w_hi * ax.w_hi;
#define RB_U8_16(c) rb_u8_16(p00 + (c), p01 + (c), p10 + (c), p11 + (c), o + (c), s00, s01, s10, s11)
#define RB_U8_8(c) rb_u8_8(p00 + (c), p01 + (c), p10 + (c), p11 + (c), o + (c), s00, s01, s10, s11)
#define RB_U8_1(c) rb_u8_n(p00 + (c), p01 + (c), p10 + (c), p11 + (c), o + (c), s00, s01, s10, s11, 1)
		RB_CHANNELS(C, blocks, RB_U8_16, RB_U8_8, RB_U8_1);
#undef RB_U8_16
#undef RB_U8_8
#undef RB_U8_1
	}
}

/* int8, one element: S = sum of pixel * weight product (2^20 = 1), then
 * rounded half away from zero by a truncating division. */
static inline int8_t rb_i8(int32_t p00, int32_t p01, int32_t p10, int32_t p11, int32_t s00, int32_t s01,
			   int32_t s10, int32_t s11)
{
	int32_t sum = p00 * s00 + p10 * s10 + p01 * s01 + p11 * s11;
	return (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
}

/* n (a constant at each call) int8 elements of one pixel. */
static inline void rb_i8_n(const int8_t *restrict p00, const int8_t *restrict p01, const int8_t *restrict p10,
			   const int8_t *restrict p11, int8_t *restrict o, int32_t s00, int32_t s01,
			   int32_t s10, int32_t s11, int n)
{
	for (int k = 0; k < n; k++)
		o[k] = rb_i8(p00[k], p01[k], p10[k], p11[k], s00, s01, s10, s11);
}

static void rb_i8_16(const int8_t *restrict p00, const int8_t *restrict p01, const int8_t *restrict p10,
		     const int8_t *restrict p11, int8_t *restrict o, int32_t s00, int32_t s01, int32_t s10,
		     int32_t s11)
{
	rb_i8_n(p00, p01, p10, p11, o, s00, s01, s10, s11, 16);
}

static void rb_i8_8(const int8_t *restrict p00, const int8_t *restrict p01, const int8_t *restrict p10,
		    const int8_t *restrict p11, int8_t *restrict o, int32_t s00, int32_t s01, int32_t s10,
		    int32_t s11)
{
	rb_i8_n(p00, p01, p10, p11, o, s00, s01, s10, s11, 8);
}

static void rb_row_i8(const rb_data *d, const void *in_, void *out_, int b, int y)
{
	const int8_t *in = (const int8_t *)in_ + (size_t)b * d->in_h * d->in_w * d->depth;
	int8_t *out = (int8_t *)out_ + ((size_t)b * d->out_h + (size_t)y) * d->out_w * d->depth;
	const rb_axis ay = d->ys[y];
	const int8_t *r0 = in + (size_t)ay.lo * d->in_w * d->depth;
	const int8_t *r1 = in + (size_t)ay.hi * d->in_w * d->depth;
	const int32_t C = d->depth;
	const bool blocks = d->blocks;

	for (int32_t x = 0; x < d->out_w; x++, out += C) {
		const rb_axis ax = d->xs[x];
		const int8_t *p00 = r0 + (size_t)ax.lo * C, *p01 = r0 + (size_t)ax.hi * C;
		const int8_t *p10 = r1 + (size_t)ax.lo * C, *p11 = r1 + (size_t)ax.hi * C;
		int8_t *o = out;
		const int32_t s00 = ay.q_lo * ax.q_lo, s01 = ay.q_lo * ax.q_hi;
		const int32_t s10 = ay.q_hi * ax.q_lo, s11 = ay.q_hi * ax.q_hi;
#define RB_I8_16(c) rb_i8_16(p00 + (c), p01 + (c), p10 + (c), p11 + (c), o + (c), s00, s01, s10, s11)
#define RB_I8_8(c) rb_i8_8(p00 + (c), p01 + (c), p10 + (c), p11 + (c), o + (c), s00, s01, s10, s11)
#define RB_I8_1(c) rb_i8_n(p00 + (c), p01 + (c), p10 + (c), p11 + (c), o + (c), s00, s01, s10, s11, 1)
		RB_CHANNELS(C, blocks, RB_I8_16, RB_I8_8, RB_I8_1);
#undef RB_I8_16
#undef RB_I8_8
#undef RB_I8_1
	}
}

static void rb_free(void *p)
{
	nn_free(p);
}

static nn_status rb_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	bool align, half;
	int32_t oh, ow, dims[4];
	float sh, sw;
	rb_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (in->type != NN_F32 && in->type != NN_U8 && in->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if (in->type != NN_F32) {
		const nn_tensor *out = nn_out(g, node, 0);
		if ((st = qm_check_quant(node, in, "input", false, err)) != NN_OK ||
		    (st = qm_check_quant(node, out, "output", false, err)) != NN_OK)
			return st;
		if (in->quant->n != 1)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "per-axis quantized input is not supported");
		if (!qm_same_quant(in->quant, out->quant))
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "output quantization (scale %g, zero point %lld) differs from the "
					   "input's (scale %g, zero point %lld); values are not rescaled",
					   (double)out->quant->scale[0], (long long)out->quant->zero_point[0],
					   (double)in->quant->scale[0], (long long)in->quant->zero_point[0]);
	}
	if ((st = resize_output_size(g, node, "interpolate from", &oh, &ow, err)) != NN_OK)
		return st;
	align = nn_opt_bool(node, RB_OPT_ALIGN_CORNERS, false);
	half = nn_opt_bool(node, RB_OPT_HALF_PIXEL_CENTERS, false);
	if (align && half)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "align_corners and half_pixel_centers are both set");

	dims[0] = in->dims[0];
	dims[1] = oh;
	dims[2] = ow;
	dims[3] = in->dims[3];
	if ((st = nn_set_output(g, node, 0, in->type, 4, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d) + sizeof(rb_axis) * ((size_t)oh + (size_t)ow));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY,
				   "out of memory for %dx%d interpolation tables", oh, ow);
	node->data = d; /* released by rb_free, also when prepare fails */
	d->batch = in->dims[0];
	d->in_h = in->dims[1];
	d->in_w = in->dims[2];
	d->depth = in->dims[3];
	d->out_h = oh;
	d->out_w = ow;
	d->ys = (rb_axis *)(d + 1);
	d->xs = d->ys + oh;
	d->row = rb_row_f32;
	sh = (float)d->in_h / (float)oh;
	sw = (float)d->in_w / (float)ow;
	if (align && oh > 1)
		sh = (float)(d->in_h - 1) / (float)(oh - 1);
	if (align && ow > 1)
		sw = (float)(d->in_w - 1) / (float)(ow - 1);
	for (int32_t y = 0; y < oh; y++)
		d->ys[y] = rb_axis_at(y, sh, half, d->in_h);
	for (int32_t x = 0; x < ow; x++)
		d->xs[x] = rb_axis_at(x, sw, half, d->in_w);
	node->impl = "ref";
	if (in->type == NN_F32) {
		if (!align && !half && oh == 2 * d->in_h && ow == 2 * d->in_w) {
			d->row = rb_row_f32_2x;
			node->impl = "ref-2x";
		}
		return NN_OK;
	}

	d->blocks = !nn_force_reference();
	node->impl = d->blocks ? "c16" : "ref";
	if (in->type == NN_U8) {
		d->row = rb_row_u8; /* float weights, as computed above */
		return NN_OK;
	}
	{
		/* int8: 10-bit scales in integer arithmetic, C division rounding */
		int32_t sh10 = ((1 << 10) * d->in_h + oh / 2) / oh,
			sw10 = ((1 << 10) * d->in_w + ow / 2) / ow;
		if (d->in_h > (1 << 20) || d->in_w > (1 << 20) || oh > (1 << 20) || ow > (1 << 20))
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "%dx%d -> %dx%d is too large for 10-bit fixed-point coordinates",
					   d->in_h, d->in_w, oh, ow);
		if (align && oh > 1)
			sh10 = ((1 << 10) * (d->in_h - 1) + (oh - 1) / 2) / (oh - 1);
		if (align && ow > 1)
			sw10 = ((1 << 10) * (d->in_w - 1) + (ow - 1) / 2) / (ow - 1);
		if ((int64_t)sh10 * oh > INT32_MAX / 2 || (int64_t)sw10 * ow > INT32_MAX / 2)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "%dx%d -> %dx%d overflows 10-bit fixed-point coordinates", d->in_h,
					   d->in_w, oh, ow);
		for (int32_t y = 0; y < oh; y++)
			if ((st = rb_axis_int(node, &d->ys[y], y, sh10, half, d->in_h, err)) != NN_OK)
				return st;
		for (int32_t x = 0; x < ow; x++)
			if ((st = rb_axis_int(node, &d->xs[x], x, sw10, half, d->in_w, err)) != NN_OK)
				return st;
		d->row = rb_row_i8;
	}
	return NN_OK;
}

static void rb_task(void *ctx_, int64_t r0, int64_t r1)
{
	const rb_ctx *c = ctx_;

	for (int64_t r = r0; r < r1; r++)
		c->d->row(c->d, c->in, c->out, (int)(r / c->d->out_h), (int)(r % c->d->out_h));
}

static nn_status rb_eval(const nn_node *node, nn_exec *ex)
{
	const rb_data *d = node->data;
	int64_t rows = (int64_t)d->batch * d->out_h;
	int64_t row_elems = (int64_t)d->out_w * d->depth;
	rb_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};

	/* about 16k output elements per task keeps the pool's overhead small */
	if (row_elems > 0)
		nn_parallel_range(ex, rows, 16384 / row_elems + 1, rb_task, &c);
	return NN_OK;
}

const nn_kernel nn_k_resize_bilinear = {
    .name = "RESIZE_BILINEAR",
    .prepare = rb_prepare,
    .eval = rb_eval,
    .free = rb_free,
};
