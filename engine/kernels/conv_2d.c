/* conv_2d.c - CONV_2D: 2-D convolution over NHWC tensors (float32).
 *
 * DESIGN: input [n, ih, iw, ic], filter [oc, kh, kw, ic], optional bias
 * [oc], output [n, oh, ow, oc]; geometry (output size, leading pads) as in
 * conv_common.h.  A filter row [kh, kw, ic] is laid out exactly like one
 * im2col patch, so the convolution is a GEMM of im2col rows (or, for a 1x1
 * stride-1 filter, of the NHWC input itself) by the filter.  Variants:
 *   "ref"         direct loops, one task per output row: the oracle.
 *   "avx512-1x1", "avx512+im2col", "avx2-1x1", "avx2+im2col"
 *                 a constant filter on an AVX2/AVX-512 CPU: prepare packs
 *                 it into panels for our register-blocked GEMM
 *                 (conv_2d_f32.h), which adds the bias and clamps in its
 *                 store.  Measured per layer against OpenBLAS (SkylakeX
 *                 kernels, one thread, CPU time) it wins on every
 *                 MobileNet V1/V2 layer, by 1.6x (deep 1x1) to 4x (1x1
 *                 with 16-32 input channels, 3x3 stem with depth 27).
 *                 It loses where a few output channels fill a fraction of
 *                 a panel over a deep window (style transfer's last 9x9
 *                 conv, 32 -> 3: 178 ms against 66; 3x3, 64 -> 8: 0.76
 *                 against 0.63), so those layers - oc at most a quarter
 *                 of a panel, depth 64 or more - stay on OpenBLAS.
 *                 With at most 8 input channels on AVX-512, pixels whose
 *                 window lies inside the input are not unfolded: the GEMM
 *                 reads their patches in place through a table of
 *                 offsets (MobileNet's 3-channel stem, 1 thread: 0.32 ->
 *                 0.19 ms; copying 9-float window rows cost as much as
 *                 the multiply-adds).
 * A filter produced by another op at run time cannot be packed at load;
 * it (and any CPU without AVX2) takes the OpenBLAS variants, which read
 * the filter where it lies:
 *   "blas-1x1"    1x1 filter, stride 1: the NHWC input already is the GEMM
 *                 operand A [n*ih*iw, ic], so output = A * filter^T.
 *   "blas+im2col" every other shape: per task, a tile of output pixels is
 *                 unfolded into per-thread scratch [tile, kh*kw*ic], then
 *                 one GEMM writes the tile's output rows in place.
 * Bias and the fused activation are applied to each output block right
 * after its GEMM, while it is still in cache.  Tasks are cut by shape only
 * (conv_split_make), never by thread count, so the result does not depend
 * on the number of threads.  Grouped convolution (input channels a
 * multiple of the filter's) is refused as unsupported.
 *
 * uint8 and int8 inputs dispatch in conv_prepare to conv_2d_int.c (its own
 * variants, eval and state, hung off conv_data.q); the validation of
 * options and shapes (conv_2d_geometry) is shared by every dtype.
 */
#include <limits.h>
#include <string.h>

#include "alloc.h"
#include "blas.h"
#include "conv_2d_f32.h"
#include "conv_common.h"
#include "cpu.h"
#include "kernel.h"

enum { CONV2D_OPTIONS = 1 }; /* BuiltinOptions union index of Conv2DOptions */

/* Conv2DOptions field ids (tflite_schema.fbs). */
enum {
	OPT_PADDING = 0,
	OPT_STRIDE_W = 1,
	OPT_STRIDE_H = 2,
	OPT_ACTIVATION = 3,
	OPT_DILATION_W = 4,
	OPT_DILATION_H = 5,
};

typedef enum conv_variant {
	CONV_REF,
	CONV_BLAS_1X1,
	CONV_BLAS_IM2COL,
	CONV_PACKED_1X1,
	CONV_PACKED_IM2COL,
} conv_variant;

/* Im2col scratch target per thread: a tile of patches this size stays in L2
 * while the GEMM streams the filter past it. */
#define CONV_IM2COL_BYTES (1u << 20)
#define CONV_TILE_MAX 256 /* pixels per task: larger tiles gain nothing in the GEMM */
#define CONV_TILE_MIN 8	  /* fewer rows make the GEMM a string of dot products */

typedef struct conv_data {
	nn_dtype type; /* input type */
	conv_int *q;   /* uint8 / int8: everything else lives there; NULL for float32 */
	conv_variant variant;
	int n, ih, iw, ic; /* input shape */
	int oh, ow, oc;	   /* output shape (batch n) */
	int kh, kw;	   /* filter window */
	int sh, sw;	   /* strides */
	int dh, dw;	   /* dilations */
	int pad_h, pad_w;  /* leading pads (the odd pixel of SAME goes after) */
	int depth;	   /* kh * kw * ic: GEMM inner dimension */
	conv_split split;  /* BLAS variants: pixel tiles x output-channel chunks */
	bool clamp;	   /* a fused activation is present */
	float lo, hi;	   /* its clamp range */
	/* packed variants: split.tile pixels x split.chunk panels per task */
	conv_f32_panels panels;
	float *packed; /* owns panels.w */
	void (*gemm)(const conv_f32_panels *p, const conv_f32_block *b);
	/* packed im2col on AVX-512 with a few input channels: offset of
	 * patch element k from the window's first input element, so pixels
	 * whose window lies inside the input are read in place */
	int *koff;
} conv_data;

/* Everything one eval hands its tasks. */
typedef struct conv_run {
	const conv_data *d;
	const float *in, *filter, *bias; /* bias may be NULL */
	float *out;
	nn_exec *ex;
} conv_run;

/* --- reference ------------------------------------------------------- */

/* One output row (batch b, row oy) by direct summation; TFLite's order:
 * taps by ky, kx, ic, then the bias, then the clamp. */
static void conv_ref_row(void *ctx, int task, int thread)
{
	const conv_run *r = ctx;
	const conv_data *d = r->d;
	int b = task / d->oh, oy = task % d->oh;
	int y0 = oy * d->sh - d->pad_h, ky_lo, ky_hi;
	float *out = r->out + ((size_t)b * d->oh + oy) * d->ow * d->oc;

	(void)thread;
	conv_tap_range(y0, d->kh, d->dh, d->ih, &ky_lo, &ky_hi);
	for (int ox = 0; ox < d->ow; ox++) {
		int x0 = ox * d->sw - d->pad_w, kx_lo, kx_hi;

		conv_tap_range(x0, d->kw, d->dw, d->iw, &kx_lo, &kx_hi);
		for (int o = 0; o < d->oc; o++) {
			float acc = 0.0f;
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				int iy = y0 + ky * d->dh;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					int ix = x0 + kx * d->dw;
					const float *ip =
					    r->in + (((size_t)b * d->ih + iy) * d->iw + ix) * d->ic;
					const float *fp =
					    r->filter + (((size_t)o * d->kh + ky) * d->kw + kx) * d->ic;
					for (int c = 0; c < d->ic; c++)
						acc += ip[c] * fp[c];
				}
			}
			if (r->bias)
				acc += r->bias[o];
			out[(size_t)ox * d->oc + o] = d->clamp ? nn_clampf(acc, d->lo, d->hi) : acc;
		}
	}
}

/* --- im2col + GEMM --------------------------------------------------- */

/* Unfolds the window of output pixel (b, oy, ox) into row[kh][kw][ic];
 * taps outside the input are zeros. */
static void conv_im2col_pixel(const conv_data *d, const float *in, int b, int oy, int ox, float *row)
{
	int y0 = oy * d->sh - d->pad_h, x0 = ox * d->sw - d->pad_w;
	size_t cb = (size_t)d->ic * sizeof(float), kwc = (size_t)d->kw * d->ic;

	for (int ky = 0; ky < d->kh; ky++) {
		int iy = y0 + ky * d->dh;
		float *dst = row + (size_t)ky * kwc;
		const float *src;

		if (iy < 0 || iy >= d->ih) {
			memset(dst, 0, kwc * sizeof(float));
			continue;
		}
		src = in + ((size_t)b * d->ih + iy) * d->iw * d->ic;
		if (d->dw == 1 && x0 >= 0 && x0 + d->kw <= d->iw) { /* the whole window row is one run */
			memcpy(dst, src + (size_t)x0 * d->ic, kwc * sizeof(float));
			continue;
		}
		for (int kx = 0; kx < d->kw; kx++) {
			int ix = x0 + kx * d->dw;
			if (ix < 0 || ix >= d->iw)
				memset(dst + (size_t)kx * d->ic, 0, cb);
			else
				memcpy(dst + (size_t)kx * d->ic, src + (size_t)ix * d->ic, cb);
		}
	}
}

/* One task: pixel tile (task / n_chunks) x output-channel chunk. */
static void conv_blas_task(void *ctx, int task, int thread)
{
	const conv_run *r = ctx;
	const conv_data *d = r->d;
	const conv_split *s = &d->split;
	int pixels = d->n * d->oh * d->ow;
	int p0 = (task / s->n_chunks) * s->tile, c0 = (task % s->n_chunks) * s->chunk;
	int np = pixels - p0 < s->tile ? pixels - p0 : s->tile;
	int nc = d->oc - c0 < s->chunk ? d->oc - c0 : s->chunk;
	float *out = r->out + (size_t)p0 * d->oc + c0;
	const float *a;
	int lda;

	if (d->variant == CONV_BLAS_1X1) {
		a = r->in + (size_t)p0 * d->ic;
		lda = d->ic;
	} else {
		float *buf = nn_ex_scratch(r->ex, thread);
		int per_img = d->oh * d->ow;

		for (int i = 0; i < np; i++) {
			int p = p0 + i, b = p / per_img, rem = p % per_img;
			conv_im2col_pixel(d, r->in, b, rem / d->ow, rem % d->ow, buf + (size_t)i * d->depth);
		}
		a = buf;
		lda = d->depth;
	}
	nn_sgemm_nt(np, nc, d->depth, a, lda, r->filter + (size_t)c0 * d->depth, d->depth, out, d->oc);
	conv_bias_act(out, d->oc, np, nc, r->bias ? r->bias + c0 : NULL, d->lo, d->hi, d->clamp);
}

/* --- packed GEMM ---------------------------------------------------- */

/* Per task, the rows of A this many bytes: a tile stays in L2 while the
 * task's panels pass over it, and bounds the im2col scratch. */
#define CONV_F32_TILE_BYTES (256u << 10)
#define CONV_F32_TILE_BLOCKS 16 /* register blocks per tile at most: enough to reuse a panel */
/* Below this many multiply-adds a layer runs as one task per pixel tile,
 * never split by channels: a task costs the pool a few microseconds. */
#define CONV_F32_SMALL_MACS (1 << 18)
/* A layer whose output channels fill at most 1/CONV_F32_NARROW of a panel
 * and whose depth reaches CONV_F32_NARROW_DEPTH goes to OpenBLAS. */
#define CONV_F32_NARROW 4
#define CONV_F32_NARROW_DEPTH 64
/* Im2col layers with at most this many input channels read the patches of
 * interior pixels in place (conv_packed_in_place) on AVX-512. */
#define CONV_F32_IN_PLACE_IC 8

/* Cuts rows x n_panels into tasks by shape only: pixel tiles of whole
 * register blocks, and panel chunks when there are too few tiles to keep
 * a pool of a few threads busy. */
static conv_split conv_f32_split(int rows, int depth, int n_panels, int mr, long long macs)
{
	size_t fit = CONV_F32_TILE_BYTES / ((size_t)depth * sizeof(float));
	conv_split s;

	s.tile = (int)(fit > (size_t)mr * CONV_F32_TILE_BLOCKS ? (size_t)mr * CONV_F32_TILE_BLOCKS : fit);
	s.tile = s.tile < mr ? mr : s.tile / mr * mr;
	if (s.tile > rows)
		s.tile = rows;
	s.n_tiles = (rows + s.tile - 1) / s.tile;
	/* The same number of tiles, as even as whole register blocks allow:
	 * 196 pixels (14x14) as 108 + 88 rather than 120 + 76, 784 as
	 * 4 x 168 + 112 rather than 4 x 192 + 16, so that threads taking
	 * contiguous runs of tasks get similar work. */
	if (s.n_tiles > 1) {
		int even = (rows + s.n_tiles - 1) / s.n_tiles;

		even = (even + mr - 1) / mr * mr;
		if (even < s.tile) {
			s.tile = even;
			s.n_tiles = (rows + s.tile - 1) / s.tile;
		}
	}
	s.chunk = n_panels;
	s.n_chunks = 1;
	if (s.n_tiles < CONV_SPLIT_MIN_TASKS && n_panels > 1 && macs >= CONV_F32_SMALL_MACS) {
		int want = (CONV_SPLIT_MIN_TASKS + s.n_tiles - 1) / s.n_tiles;
		int n = want < n_panels ? want : n_panels;

		s.chunk = (n_panels + n - 1) / n;
		s.n_chunks = (n_panels + s.chunk - 1) / s.chunk;
	}
	return s;
}

/* Whether the packed GEMM runs this layer (see DESIGN): a constant
 * filter, AVX2 at least, and not a few output channels over a deep
 * window where OpenBLAS is there to take it. */
static bool conv_f32_packable(const nn_tensor *f, int oc, int depth)
{
	int nr = nn_cpu_avx512() ? CONV_F32_NR_AVX512 : CONV_F32_NR_AVX2;

	if (f->kind != NN_TENSOR_CONST || !f->data || !(nn_cpu_avx512() || nn_cpu_avx2()))
		return false;
	return !(oc * CONV_F32_NARROW <= nr && depth >= CONV_F32_NARROW_DEPTH && nn_blas_available());
}

/* Packs filter [oc][depth] into panels of nr channels (conv_2d_f32.h).
 * The buffer is d->packed, released by conv_free. */
static bool conv_f32_pack(conv_data *d, const float *filter, int nr)
{
	int n_panels = (d->oc + nr - 1) / nr;
	size_t per_panel = (size_t)d->depth * nr;
	float *w = nn_aligned_alloc(64, (size_t)n_panels * per_panel * sizeof(float));

	if (!w)
		return false;
	for (int p = 0; p < n_panels; p++)
		for (int k = 0; k < d->depth; k++)
			for (int j = 0; j < nr; j++) {
				int o = p * nr + j;
				w[p * per_panel + (size_t)k * nr + j] =
				    o < d->oc ? filter[(size_t)o * d->depth + k] : 0.0f;
			}
	d->packed = w;
	d->panels = (conv_f32_panels){.w = w, .nr = nr, .depth = d->depth, .oc = d->oc, .n_panels = n_panels};
	return true;
}

/* Whether the window of output pixel (oy, ox) lies wholly inside the input. */
static bool conv_window_inside(const conv_data *d, int oy, int ox)
{
	int y0 = oy * d->sh - d->pad_h, x0 = ox * d->sw - d->pad_w;

	return y0 >= 0 && y0 + (d->kh - 1) * d->dh < d->ih && x0 >= 0 && x0 + (d->kw - 1) * d->dw < d->iw;
}

/* Pixels [p0, p0 + np) of a layer with d->koff: runs of pixels of one
 * output row whose windows lie inside the input go to the GEMM as they
 * are (row r of a run starts sw * ic floats after row r - 1, element k at
 * koff[k]); the pixels between those runs (the padded border) are
 * unfolded into buf as usual.  With 3 input channels a window row is 9
 * floats, and the copies cost as much as the GEMM (MobileNet's stem). */
static void conv_packed_in_place(const conv_data *d, const conv_run *r, conv_f32_block *b, int p0, int np,
				 float *buf)
{
	int per_img = d->oh * d->ow;

	for (int i = 0; i < np;) {
		int p = p0 + i, img = p / per_img, rem = p % per_img, oy = rem / d->ow, ox = rem % d->ow;
		int j = i + 1;

		if (conv_window_inside(d, oy, ox)) {
			int y0 = oy * d->sh - d->pad_h, x0 = ox * d->sw - d->pad_w;

			while (j < np && ox + (j - i) < d->ow && conv_window_inside(d, oy, ox + (j - i)))
				j++;
			b->a = r->in + (((size_t)img * d->ih + y0) * d->iw + x0) * d->ic;
			b->lda = (size_t)d->sw * d->ic;
			b->koff = d->koff;
		} else {
			conv_im2col_pixel(d, r->in, img, oy, ox, buf);
			for (; j < np; j++) {
				int q = p0 + j, qimg = q / per_img, qrem = q % per_img;

				if (conv_window_inside(d, qrem / d->ow, qrem % d->ow))
					break;
				conv_im2col_pixel(d, r->in, qimg, qrem / d->ow, qrem % d->ow,
						  buf + (size_t)(j - i) * d->depth);
			}
			b->a = buf;
			b->lda = (size_t)d->depth;
			b->koff = NULL;
		}
		b->rows = j - i;
		b->out = r->out + (size_t)(p0 + i) * d->oc;
		d->gemm(&d->panels, b);
		i = j;
	}
}

/* One task: pixel tile (task / n_chunks) x panel chunk. */
static void conv_packed_task(void *ctx, int task, int thread)
{
	const conv_run *r = ctx;
	const conv_data *d = r->d;
	const conv_split *s = &d->split;
	int pixels = d->n * d->oh * d->ow;
	int p0 = (task / s->n_chunks) * s->tile, pan0 = (task % s->n_chunks) * s->chunk;
	int np = pixels - p0 < s->tile ? pixels - p0 : s->tile;
	int pan1 = d->panels.n_panels - pan0 < s->chunk ? d->panels.n_panels : pan0 + s->chunk;
	conv_f32_block b = {
	    .rows = np,
	    .pan0 = pan0,
	    .pan1 = pan1,
	    .bias = r->bias,
	    .clamp = d->clamp,
	    .lo = d->lo,
	    .hi = d->hi,
	    .out = r->out + (size_t)p0 * d->oc,
	    .ldo = (size_t)d->oc,
	};

	if (d->variant == CONV_PACKED_1X1) {
		b.a = r->in + (size_t)p0 * d->ic;
		b.lda = (size_t)d->ic;
	} else if (d->koff) {
		conv_packed_in_place(d, r, &b, p0, np, nn_ex_scratch(r->ex, thread));
		return;
	} else {
		float *buf = nn_ex_scratch(r->ex, thread);
		int per_img = d->oh * d->ow;

		for (int i = 0; i < np; i++) {
			int p = p0 + i, img = p / per_img, rem = p % per_img;
			conv_im2col_pixel(d, r->in, img, rem / d->ow, rem % d->ow, buf + (size_t)i * d->depth);
		}
		b.a = buf;
		b.lda = (size_t)d->depth;
	}
	d->gemm(&d->panels, &b);
}

/* --- prepare / eval -------------------------------------------------- */

nn_status conv_window_make(const nn_node *node, const conv_window_ids *ids, const nn_tensor *in, int32_t kh,
			   int32_t kw, conv_window *w, int *act, nn_err *err)
{
	int padding = nn_opt_i8(node, ids->padding, CONV_PADDING_SAME);

	w->sw = nn_opt_i32(node, ids->stride_w, 0);
	w->sh = nn_opt_i32(node, ids->stride_h, 0);
	w->dw = nn_opt_i32(node, ids->dilation_w, 1);
	w->dh = nn_opt_i32(node, ids->dilation_h, 1);
	*act = nn_opt_i8(node, ids->activation, NN_ACT_NONE);
	if (padding != CONV_PADDING_SAME && padding != CONV_PADDING_VALID)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "padding %d is neither SAME (0) nor VALID (1)", padding);
	if (w->sh <= 0 || w->sw <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "stride %dx%d (h x w) must be positive", w->sh,
				   w->sw);
	if (w->dh <= 0 || w->dw <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "dilation %dx%d (h x w) must be positive", w->dh,
				   w->dw);
	w->oh = conv_out_size(padding, in->dims[1], kh, w->sh, w->dh, &w->pad_h);
	w->ow = conv_out_size(padding, in->dims[2], kw, w->sw, w->dw, &w->pad_w);
	if (w->oh == 0 || w->ow == 0)
		return nn_node_err(
		    node, err, NN_ERR_BAD_MODEL,
		    "input %dx%d, filter %dx%d, stride %dx%d, dilation %dx%d and %s padding give no "
		    "valid output",
		    in->dims[1], in->dims[2], kh, kw, w->sh, w->sw, w->dh, w->dw, conv_padding_name(padding));
	return NN_OK;
}

nn_status conv_2d_geometry(nn_graph *g, nn_node *node, nn_dtype out_type, conv_geom *geo, int *act, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *f = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	static const conv_window_ids window_ids = {OPT_PADDING, OPT_STRIDE_W, OPT_STRIDE_H,
						   OPT_ACTIVATION, OPT_DILATION_W, OPT_DILATION_H};
	int32_t dims[4];
	conv_window w;
	nn_status st;

	if (f->rank != 4)
		return nn_node_err(
		    node, err, NN_ERR_BAD_MODEL,
		    "filter must have rank 4 [out_channels, height, width, in_channels], not rank %d",
		    f->rank);
	for (int i = 0; i < 4; i++)
		if (in->dims[i] <= 0 || f->dims[i] <= 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "empty shape: input [%d,%d,%d,%d], filter [%d,%d,%d,%d]",
					   in->dims[0], in->dims[1], in->dims[2], in->dims[3], f->dims[0],
					   f->dims[1], f->dims[2], f->dims[3]);
	if (in->dims[3] != f->dims[3]) {
		if (in->dims[3] % f->dims[3] == 0)
			return nn_node_err(
			    node, err, NN_ERR_UNSUPPORTED,
			    "grouped convolution (%d input channels, filter of %d) is not supported",
			    in->dims[3], f->dims[3]);
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "input has %d channels but the filter expects %d", in->dims[3],
				   f->dims[3]);
	}
	if (bias && (bias->rank != 1 || bias->dims[0] != f->dims[0]))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "bias must have shape [%d] (rank %d, %lld elements)", f->dims[0], bias->rank,
				   (long long)nn_tensor_count(bias));

	if (node->op->has_options && node->op->options_type != CONV2D_OPTIONS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "options are of type %d, not Conv2DOptions",
				   node->op->options_type);
	if ((st = conv_window_make(node, &window_ids, in, f->dims[1], f->dims[2], &w, act, err)) != NN_OK)
		return st;
	dims[0] = in->dims[0];
	dims[1] = w.oh;
	dims[2] = w.ow;
	dims[3] = f->dims[0];
	if ((st = nn_set_output(g, node, 0, out_type, 4, dims, err)) != NN_OK)
		return st;
	*geo = (conv_geom){
	    .n = in->dims[0],
	    .ih = in->dims[1],
	    .iw = in->dims[2],
	    .ic = in->dims[3],
	    .oh = w.oh,
	    .ow = w.ow,
	    .oc = f->dims[0],
	    .kh = f->dims[1],
	    .kw = f->dims[2],
	    .sh = w.sh,
	    .sw = w.sw,
	    .dh = w.dh,
	    .dw = w.dw,
	    .pad_h = w.pad_h,
	    .pad_w = w.pad_w,
	};
	return NN_OK;
}

static nn_status conv_prepare_f32(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *f = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	int act;
	conv_geom geo;
	float lo, hi;
	conv_data *d;
	nn_status st;

	if (f->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "filter type %s with float32 input is not supported yet",
				   nn_dtype_name(f->type));
	if (bias && bias->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "bias type %s with float32 input is not supported yet",
				   nn_dtype_name(bias->type));
	if ((st = conv_2d_geometry(g, node, NN_F32, &geo, &act, err)) != NN_OK)
		return st;
	if ((st = nn_activation_range_f32(node, act, &lo, &hi, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->type = NN_F32;
	d->n = geo.n;
	d->ih = geo.ih;
	d->iw = geo.iw;
	d->ic = geo.ic;
	d->oh = geo.oh;
	d->ow = geo.ow;
	d->oc = geo.oc;
	d->kh = geo.kh;
	d->kw = geo.kw;
	d->sh = geo.sh;
	d->sw = geo.sw;
	d->dh = geo.dh;
	d->dw = geo.dw;
	d->pad_h = geo.pad_h;
	d->pad_w = geo.pad_w;
	d->depth = d->kh * d->kw * d->ic; /* < filter elements, which nn_tensor bytes bound */
	d->clamp = act != NN_ACT_NONE;
	d->lo = lo;
	d->hi = hi;
	node->data = d;

	if (nn_force_reference()) {
		d->variant = CONV_REF;
		node->impl = "ref";
	} else if (conv_f32_packable(f, d->oc, d->depth)) {
		bool wide = nn_cpu_avx512();
		bool one = d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1;
		int mr = wide ? CONV_F32_MR_AVX512 : CONV_F32_MR_AVX2;
		long long macs = (long long)d->n * d->oh * d->ow * d->oc * d->depth;

		if (!conv_f32_pack(d, f->data, wide ? CONV_F32_NR_AVX512 : CONV_F32_NR_AVX2))
			return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory packing %d x %d weights",
					   d->oc, d->depth);
		d->gemm = wide ? conv_f32_gemm_avx512 : conv_f32_gemm_avx2;
		d->split = conv_f32_split(d->n * d->oh * d->ow, d->depth, d->panels.n_panels, mr, macs);
		d->variant = one ? CONV_PACKED_1X1 : CONV_PACKED_IM2COL;
		if (!one && wide && d->ic <= CONV_F32_IN_PLACE_IC &&
		    ((long long)(d->kh - 1) * d->dh * d->iw + (long long)(d->kw - 1) * d->dw + 1) * d->ic <=
			INT_MAX) {
			d->koff = nn_malloc((size_t)d->depth * sizeof(int));
			if (!d->koff)
				return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
			for (int ky = 0, k = 0; ky < d->kh; ky++)
				for (int kx = 0; kx < d->kw; kx++)
					for (int c = 0; c < d->ic; c++)
						d->koff[k++] = (ky * d->dh * d->iw + kx * d->dw) * d->ic + c;
		}
		if (!one)
			node->scratch_bytes = (size_t)d->split.tile * d->depth * sizeof(float);
		node->impl = wide ? (one ? "avx512-1x1" : "avx512+im2col") : (one ? "avx2-1x1" : "avx2+im2col");
	} else if (d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1) {
		/* 1x1, stride 1: output size equals input size and no pad exists */
		d->variant = CONV_BLAS_1X1;
		d->split = conv_split_make(d->n * d->oh * d->ow, d->oc, CONV_TILE_MAX);
		node->impl = "blas-1x1";
	} else {
		size_t row = (size_t)d->depth * sizeof(float);
		size_t tile = CONV_IM2COL_BYTES / row;

		if (tile > CONV_TILE_MAX)
			tile = CONV_TILE_MAX;
		if (tile < CONV_TILE_MIN)
			tile = row * CONV_TILE_MIN <= 16 * CONV_IM2COL_BYTES ? CONV_TILE_MIN : 1;
		d->variant = CONV_BLAS_IM2COL;
		d->split = conv_split_make(d->n * d->oh * d->ow, d->oc, (int)tile);
		node->scratch_bytes = (size_t)d->split.tile * row;
		node->impl = "blas+im2col";
	}
	return NN_OK;
}

/* uint8 / int8: conv_2d_int.c validates, packs and picks its variant. */
static nn_status conv_prepare_int(nn_graph *g, nn_node *node, nn_err *err)
{
	conv_data *d = nn_calloc(1, sizeof(*d));

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->type = nn_in(g, node, 0)->type;
	node->data = d; /* released by conv_free, also when the rest fails */
	return conv_2d_int_prepare(g, node, &d->q, err);
}

nn_status conv_prepare_by_dtype(nn_graph *g, nn_node *node, nn_err *err, int rank, conv_prepare_fn prepare_f32,
				conv_prepare_fn prepare_q8)
{
	const nn_tensor *in;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 3, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (rank && in->rank != rank)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input must have rank %d (NHWC), not rank %d", rank,
				   in->rank);
	switch (in->type) {
	case NN_F32:
		return prepare_f32(g, node, err);
	case NN_U8:
	case NN_I8:
		return prepare_q8(g, node, err);
	default:
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(in->type));
	}
}

static nn_status conv_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	return conv_prepare_by_dtype(g, node, err, 4, conv_prepare_f32, conv_prepare_int);
}

static nn_status conv_eval(const nn_node *node, nn_exec *ex)
{
	const conv_data *d = node->data;
	const nn_tensor *bias = nn_ex_in(ex, node, 2);
	conv_run r;

	if (d->q)
		return conv_2d_int_eval(d->q, node, ex);
	r = (conv_run){
	    .d = d,
	    .in = nn_ex_in(ex, node, 0)->data,
	    .filter = nn_ex_in(ex, node, 1)->data,
	    .bias = bias ? bias->data : NULL,
	    .out = nn_ex_out(ex, node, 0)->data,
	    .ex = ex,
	};

	if (d->variant == CONV_REF)
		nn_parallel_for(ex, d->n * d->oh, conv_ref_row, &r);
	else if (d->variant == CONV_PACKED_1X1 || d->variant == CONV_PACKED_IM2COL)
		nn_parallel_for(ex, d->split.n_tiles * d->split.n_chunks, conv_packed_task, &r);
	else
		nn_parallel_for(ex, d->split.n_tiles * d->split.n_chunks, conv_blas_task, &r);
	return NN_OK;
}

static void conv_free(void *data)
{
	conv_data *d = data;

	if (d) {
		conv_2d_int_free(d->q);
		nn_free(d->packed);
		nn_free(d->koff);
	}
	nn_free(d);
}

const nn_kernel nn_k_conv_2d = {
    .name = "CONV_2D",
    .prepare = conv_prepare,
    .eval = conv_eval,
    .free = conv_free,
};
