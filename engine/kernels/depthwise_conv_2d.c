/* depthwise_conv_2d.c - DEPTHWISE_CONV_2D over NHWC tensors (float32).
 *
 * DESIGN: input [n, ih, iw, ic], filter [1, kh, kw, oc], optional bias
 * [oc], output [n, oh, ow, oc], with oc = ic * mult: output channel o reads
 * input channel o / mult only.  The multiplier is derived from the shapes,
 * as TFLite has done since 2.x (the option of the same name is deprecated
 * and ignored); a filter whose channel count is not a multiple of the
 * input's is refused.  Geometry as in conv_common.h; DeepLab uses
 * dilations 2 and 4 here.
 * Variants, chosen at prepare, all computing one output row per task:
 *   "ref"     plain loops, any multiplier: the oracle.
 *   "avx512"  multiplier 1, 16 channels per vector (tail by mask).
 *   "avx2"    multiplier 1, 8 channels per vector (tail by mask).
 *   "avx512-3x3"  multiplier 1, 3x3, dilation 1, equal strides 1 or 2
 *             (every MobileNet depthwise layer): input vectors reused by
 *             neighbouring outputs (depthwise_conv_2d_3x3_avx512.c).
 *             Sum of per-op minima, 1 thread: V1's 13 depthwise layers
 *             0.96 -> 0.75 ms, V2's 17 1.17 -> 0.85 ms against "avx512";
 *             what is left of the large early layers is memory traffic
 *             (112x112x96 stride 2 reads 4.8 MB).
 *   "avx2-3x3"    the same at 8 channels per vector
 *             (depthwise_conv_2d_3x3_avx2.c); under LITESERVE_CPU=avx2
 *             V1 1.23 -> 0.84 ms, V2 1.37 -> 0.96 ms against "avx2".
 * The SIMD rows (depthwise_conv_2d_avx2.c, _avx512.c) sum the taps in the
 * reference's order, but with fused multiply-adds, so they agree with it to
 * float rounding, not bit for bit.  The filter is read where it lies; its
 * [kh, kw, oc] layout already has channels innermost, which is what the
 * vector rows want, so nothing is packed.
 * uint8 and int8 inputs dispatch in dw_prepare to depthwise_conv_2d_int.c
 * (its own variants and state, hung off dw_data.q); the validation of
 * options and shapes (depthwise_conv_2d_geometry) is shared by every dtype.
 */
#include "alloc.h"
#include "conv_common.h"
#include "cpu.h"
#include "depthwise_conv_2d_f32.h"
#include "kernel.h"

enum { DW_OPTIONS = 2 }; /* BuiltinOptions union index of DepthwiseConv2DOptions */

/* DepthwiseConv2DOptions field ids (tflite_schema.fbs). */
enum {
	OPT_PADDING = 0,
	OPT_STRIDE_W = 1,
	OPT_STRIDE_H = 2,
	OPT_DEPTH_MULTIPLIER = 3, /* deprecated: not read */
	OPT_ACTIVATION = 4,
	OPT_DILATION_W = 5,
	OPT_DILATION_H = 6,
};

typedef void (*dw_row_fn)(const dw_params *p, const float *in, const float *filter, const float *bias,
			  float *out, int b, int oy);

typedef struct dw_data {
	nn_dtype type; /* input type */
	dw_int *q;     /* uint8 / int8: everything else lives there; NULL for float32 */
	dw_params p;   /* geometry and clamp */
	dw_row_fn row; /* the variant chosen at prepare */
} dw_data;

typedef struct dw_run {
	const dw_data *d;
	const float *in, *filter, *bias; /* bias may be NULL */
	float *out;
} dw_run;

/* One output row (batch b, row oy) by direct summation, any multiplier.
 * TFLite's order: taps by ky, kx, then the bias, then the clamp. */
static void dw_ref_row(const dw_params *p, const float *in, const float *filter, const float *bias,
		       float *out, int b, int oy)
{
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;

	conv_tap_range(y0, p->kh, p->dh, p->ih, &ky_lo, &ky_hi);
	out += ((size_t)b * p->oh + oy) * p->ow * p->oc;
	for (int ox = 0; ox < p->ow; ox++) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi;

		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		for (int o = 0; o < p->oc; o++) {
			int c = o / p->mult;
			float acc = 0.0f;
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				int iy = y0 + ky * p->dh;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					int ix = x0 + kx * p->dw;
					acc += in[(((size_t)b * p->ih + iy) * p->iw + ix) * p->ic + c] *
					       filter[((size_t)ky * p->kw + kx) * p->oc + o];
				}
			}
			if (bias)
				acc += bias[o];
			out[(size_t)ox * p->oc + o] = nn_clampf(acc, p->lo, p->hi);
		}
	}
}

static void dw_task(void *ctx, int task, int thread)
{
	const dw_run *r = ctx;
	const dw_params *p = &r->d->p;

	(void)thread;
	r->d->row(p, r->in, r->filter, r->bias, r->out, task / p->oh, task % p->oh);
}

nn_status depthwise_conv_2d_geometry(nn_graph *g, nn_node *node, nn_dtype out_type, dw_params *p, int *act,
				     nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *f = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	static const conv_window_ids window_ids = {OPT_PADDING, OPT_STRIDE_W, OPT_STRIDE_H,
						   OPT_ACTIVATION, OPT_DILATION_W, OPT_DILATION_H};
	int32_t dims[4];
	conv_window w;
	nn_status st;

	if (f->rank != 4)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "filter must have rank 4 [1, height, width, out_channels], not rank %d",
				   f->rank);
	for (int i = 0; i < 4; i++)
		if (in->dims[i] <= 0 || f->dims[i] <= 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "empty shape: input [%d,%d,%d,%d], filter [%d,%d,%d,%d]",
					   in->dims[0], in->dims[1], in->dims[2], in->dims[3], f->dims[0],
					   f->dims[1], f->dims[2], f->dims[3]);
	if (f->dims[0] != 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "filter dimension 0 is %d, expected 1",
				   f->dims[0]);
	if (f->dims[3] % in->dims[3] != 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "filter has %d channels, not a multiple of the input's %d", f->dims[3],
				   in->dims[3]);
	if (bias && (bias->rank != 1 || bias->dims[0] != f->dims[3]))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "bias must have shape [%d] (rank %d, %lld elements)", f->dims[3], bias->rank,
				   (long long)nn_tensor_count(bias));

	if (node->op->has_options && node->op->options_type != DW_OPTIONS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "options are of type %d, not DepthwiseConv2DOptions",
				   node->op->options_type);
	if ((st = conv_window_make(node, &window_ids, in, f->dims[1], f->dims[2], &w, act, err)) != NN_OK)
		return st;
	dims[0] = in->dims[0];
	dims[1] = w.oh;
	dims[2] = w.ow;
	dims[3] = f->dims[3];
	if ((st = nn_set_output(g, node, 0, out_type, 4, dims, err)) != NN_OK)
		return st;
	*p = (dw_params){
	    .n = in->dims[0],
	    .ih = in->dims[1],
	    .iw = in->dims[2],
	    .ic = in->dims[3],
	    .oh = w.oh,
	    .ow = w.ow,
	    .oc = f->dims[3],
	    .mult = f->dims[3] / in->dims[3],
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

static nn_status dw_prepare_f32(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *f = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	int act;
	dw_params p;
	float lo, hi;
	dw_data *d;
	nn_status st;

	if (f->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "filter type %s with float32 input is not supported yet",
				   nn_dtype_name(f->type));
	if (bias && bias->type != NN_F32)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "bias type %s with float32 input is not supported yet",
				   nn_dtype_name(bias->type));
	if ((st = depthwise_conv_2d_geometry(g, node, NN_F32, &p, &act, err)) != NN_OK)
		return st;
	if ((st = nn_activation_range_f32(node, act, &lo, &hi, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->type = NN_F32;
	d->p = p;
	d->p.lo = lo;
	d->p.hi = hi;
	node->data = d;

	d->row = dw_ref_row;
	node->impl = "ref";
	if (!nn_force_reference() && d->p.mult == 1) {
		bool k3 = p.kh == 3 && p.kw == 3 && p.dh == 1 && p.dw == 1 && p.sh == p.sw &&
			  (p.sh == 1 || p.sh == 2);

		if (nn_cpu_avx512() && k3) {
			d->row = depthwise_conv_2d_3x3_row_avx512;
			node->impl = "avx512-3x3";
		} else if (nn_cpu_avx512()) {
			d->row = depthwise_conv_2d_row_avx512;
			node->impl = "avx512";
		} else if (nn_cpu_avx2() && k3) {
			d->row = depthwise_conv_2d_3x3_row_avx2;
			node->impl = "avx2-3x3";
		} else if (nn_cpu_avx2()) {
			d->row = depthwise_conv_2d_row_avx2;
			node->impl = "avx2";
		}
	}
	return NN_OK;
}

/* uint8 / int8: depthwise_conv_2d_int.c validates, packs and picks its variant. */
static nn_status dw_prepare_int(nn_graph *g, nn_node *node, nn_err *err)
{
	dw_data *d = nn_calloc(1, sizeof(*d));

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	d->type = nn_in(g, node, 0)->type;
	node->data = d; /* released by dw_free, also when the rest fails */
	return depthwise_conv_2d_int_prepare(g, node, &d->q, err);
}

static nn_status dw_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	return conv_prepare_by_dtype(g, node, err, 4, dw_prepare_f32, dw_prepare_int);
}

static nn_status dw_eval(const nn_node *node, nn_exec *ex)
{
	const dw_data *d = node->data;
	const nn_tensor *bias = nn_ex_in(ex, node, 2);
	dw_run r;

	if (d->q)
		return depthwise_conv_2d_int_eval(d->q, node, ex);
	r = (dw_run){
	    .d = d,
	    .in = nn_ex_in(ex, node, 0)->data,
	    .filter = nn_ex_in(ex, node, 1)->data,
	    .bias = bias ? bias->data : NULL,
	    .out = nn_ex_out(ex, node, 0)->data,
	};

	nn_parallel_for(ex, d->p.n * d->p.oh, dw_task, &r);
	return NN_OK;
}

static void dw_free(void *data)
{
	dw_data *d = data;

	if (d)
		depthwise_conv_2d_int_free(d->q);
	nn_free(d);
}

const nn_kernel nn_k_depthwise_conv_2d = {
    .name = "DEPTHWISE_CONV_2D",
    .prepare = dw_prepare,
    .eval = dw_eval,
    .free = dw_free,
};
