/* depthwise_conv_2d_int.c - DEPTHWISE_CONV_2D on uint8 and int8 tensors.
 *
 * DESIGN: output channel o reads input channel o / mult, as in the float
 * file.  Quantization as TFLite: uint8 asymmetric per tensor (multiplier
 * from the legacy per-tensor formula, input scale * filter scale rounded to
 * float); int8 with a symmetric filter per output channel (axis 3) or per
 * tensor, multipliers (double) in * (double) f[c] / (double) out.  Every
 * depthwise requantizes with gemmlowp's double rounding, whatever the
 * dtype: TFLite's optimized depthwise kernels call the double-rounding
 * MultiplyByQuantizedMultiplier for both (shared/golden/README.md).
 * Variants, one output row per task:
 *   "ref"     plain loops, any multiplier: the oracle.
 *   "avx512vnni"  multiplier 1, 16 channels per vector, vpdpwssd.
 *   "avx512"  multiplier 1, 16 channels per vector, vpmaddwd.
 *   "avx2"    multiplier 1, 8 channels per vector, scalar tail.
 * The SIMD rows (depthwise_conv_2d_int_avx*.c, _vnni.c) read the filter as
 * packed at load: (w - wz) per tap and channel as int32 lanes whose high
 * half is zero, so one vpmaddwd (or vpdpwssd) against an int32 lane holding
 * x or x - xz is an exact 16x16 -> 32 product; the bias is copied beside
 * it, padded to whole vectors, together with bias - xz * sum of the taps'
 * (w - wz), with which a window lying inside the input skips subtracting
 * the zero point.  Integer sums are
 * exact (modulo 2^32) and the vector requantization matches the scalar one
 * lane by lane, so every variant gives the reference's bytes.
 */
#include <string.h>

#include "alloc.h"
#include "conv_common.h"
#include "cpu.h"
#include "kernel.h"

typedef void (*dwq_row_fn)(const dw_qparams *q, const void *in, void *out, int b, int oy);

struct dw_int {
	dw_qparams qp;	/* geometry, zero point, packed filter and bias for the SIMD rows */
	conv_rq rq;	/* per output channel */
	int32_t w_zp;	/* filter zero point (uint8; 0 for int8) */
	dwq_row_fn row; /* SIMD row, or NULL for the reference */
	int32_t *w32;	/* owned storage of qp.w32 */
	int32_t *bias32; /* owned storage of qp.bias and qp.bias_in */
};

typedef struct dwq_run {
	const dw_int *d;
	const void *in, *filter;
	const int32_t *bias; /* may be NULL */
	void *out;
} dwq_run;

/* One output row (batch b, row oy) by direct summation, any multiplier. */
static void dwq_ref_row(const dwq_run *r, int b, int oy)
{
	const dw_int *d = r->d;
	const dw_params *p = &d->qp.p;
	const int32_t xz = d->qp.in_zp, wz = d->w_zp;
	int y0 = oy * p->sh - p->pad_h, ky_lo, ky_hi;
	size_t out_at = ((size_t)b * p->oh + oy) * p->ow * p->oc;

	conv_tap_range(y0, p->kh, p->dh, p->ih, &ky_lo, &ky_hi);
	for (int ox = 0; ox < p->ow; ox++) {
		int x0 = ox * p->sw - p->pad_w, kx_lo, kx_hi;

		conv_tap_range(x0, p->kw, p->dw, p->iw, &kx_lo, &kx_hi);
		for (int o = 0; o < p->oc; o++) {
			int c = o / p->mult;
			uint32_t acc = r->bias ? (uint32_t)r->bias[o] : 0; /* wraps like TFLite's int32 */
			int32_t v;

			for (int ky = ky_lo; ky < ky_hi; ky++) {
				int iy = y0 + ky * p->dh;
				for (int kx = kx_lo; kx < kx_hi; kx++) {
					int ix = x0 + kx * p->dw;
					size_t ia = (((size_t)b * p->ih + iy) * p->iw + ix) * p->ic + c;
					size_t fa = ((size_t)ky * p->kw + kx) * p->oc + o;
					int32_t x, w;
					if (d->qp.is_signed) {
						x = ((const int8_t *)r->in)[ia];
						w = ((const int8_t *)r->filter)[fa];
					} else {
						x = ((const uint8_t *)r->in)[ia];
						w = ((const uint8_t *)r->filter)[fa];
					}
					acc += (uint32_t)((x - xz) * (w - wz));
				}
			}
			v = conv_rq_apply(&d->rq, o, (int32_t)acc);
			if (d->qp.is_signed)
				((int8_t *)r->out)[out_at + (size_t)ox * p->oc + o] = (int8_t)v;
			else
				((uint8_t *)r->out)[out_at + (size_t)ox * p->oc + o] = (uint8_t)v;
		}
	}
}

static void dwq_task(void *ctx, int task, int thread)
{
	const dwq_run *r = ctx;
	const dw_int *d = r->d;
	int b = task / d->qp.p.oh, oy = task % d->qp.p.oh;

	(void)thread;
	if (d->row)
		d->row(&d->qp, r->in, r->out, b, oy);
	else
		dwq_ref_row(r, b, oy);
}

/* Packs the filter and bias for the SIMD rows. */
static bool dwq_pack(dw_int *d, const void *filter, const int32_t *bias)
{
	const dw_params *p = &d->qp.p;
	int ocp = conv_round16(p->oc), taps = p->kh * p->kw;

	d->w32 = nn_aligned_alloc(64, (size_t)taps * ocp * sizeof(int32_t));
	d->bias32 = nn_aligned_alloc(64, 2 * (size_t)ocp * sizeof(int32_t));
	if (!d->w32 || !d->bias32)
		return false;
	memset(d->w32, 0, (size_t)taps * ocp * sizeof(int32_t));
	memset(d->bias32, 0, 2 * (size_t)ocp * sizeof(int32_t));
	for (int t = 0; t < taps; t++)
		for (int o = 0; o < p->oc; o++) {
			size_t at = (size_t)t * p->oc + o;
			int32_t w = d->qp.is_signed ? ((const int8_t *)filter)[at] : ((const uint8_t *)filter)[at];
			/* w - wz in [-255, 255]: its int16 pattern, zero-extended */
			d->w32[(size_t)t * ocp + o] = (int32_t)(uint16_t)(int16_t)(w - d->w_zp);
		}
	for (int o = 0; o < p->oc; o++) {
		uint32_t sum = 0;
		for (int t = 0; t < taps; t++)
			sum += (uint32_t)(int16_t)d->w32[(size_t)t * ocp + o];
		d->bias32[o] = bias ? bias[o] : 0;
		/* a window inside the input: sum (x - xz) w = sum x w - xz sum w */
		d->bias32[ocp + o] = (int32_t)((uint32_t)d->bias32[o] - (uint32_t)d->qp.in_zp * sum);
	}
	d->qp.w32 = d->w32;
	d->qp.bias = d->bias32;
	d->qp.bias_in = d->bias32 + ocp;
	return true;
}

void depthwise_conv_2d_int_free(dw_int *d)
{
	if (!d)
		return;
	conv_rq_free(&d->rq);
	nn_free(d->w32);
	nn_free(d->bias32);
	nn_free(d);
}

nn_status depthwise_conv_2d_int_prepare(nn_graph *g, nn_node *node, dw_int **out, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *f = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	dw_int *d;
	int act;
	bool is_signed = in->type == NN_I8;
	nn_status st;

	if (f->type != in->type)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "filter type %s with %s input is not supported",
				   nn_dtype_name(f->type), nn_dtype_name(in->type));
	if (f->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "an integer filter computed at run time is not supported");

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	*out = d; /* released by the caller's free, also on failure */
	if ((st = depthwise_conv_2d_geometry(g, node, in->type, &d->qp.p, &act, err)) != NN_OK ||
	    (st = conv_check_bias_int(node, bias, d->qp.p.oc, err)) != NN_OK)
		return st;
	if ((st = conv_rq_init(node, in, f, nn_out(g, node, 0), 3, d->qp.p.oc, act, false, !is_signed, false,
			       &d->rq, err)) != NN_OK)
		return st;
	d->qp.is_signed = is_signed;
	d->qp.in_zp = (int32_t)in->quant->zero_point[0];
	d->qp.rq = &d->rq;
	d->w_zp = is_signed ? 0 : (int32_t)f->quant->zero_point[0];

	node->impl = "ref";
	if (!nn_force_reference() && d->qp.p.mult == 1 && (nn_cpu_avx512() || nn_cpu_avx2())) {
		if (!dwq_pack(d, f->data, bias ? bias->data : NULL))
			return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory packing the filter");
		if (nn_cpu_avx512vnni()) {
			d->row = depthwise_conv_2d_int_row_vnni;
			node->impl = "avx512vnni";
		} else if (nn_cpu_avx512()) {
			d->row = depthwise_conv_2d_int_row_avx512;
			node->impl = "avx512";
		} else {
			d->row = depthwise_conv_2d_int_row_avx2;
			node->impl = "avx2";
		}
	}
	return NN_OK;
}

nn_status depthwise_conv_2d_int_eval(const dw_int *d, const nn_node *node, nn_exec *ex)
{
	const nn_tensor *bias = nn_ex_in(ex, node, 2);
	dwq_run r = {
	    .d = d,
	    .in = nn_ex_in(ex, node, 0)->data,
	    .filter = nn_ex_in(ex, node, 1)->data,
	    .bias = bias ? bias->data : NULL,
	    .out = nn_ex_out(ex, node, 0)->data,
	};

	nn_parallel_for(ex, d->qp.p.n * d->qp.p.oh, dwq_task, &r);
	return NN_OK;
}
