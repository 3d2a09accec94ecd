/* quantize.c - QUANTIZE: float32 to uint8/int8, and uint8/int8 requantized
 * to another scale, zero point or signedness.
 *
 * DESIGN: two operations share the op code, chosen by the input type.
 *   - float32 input (TFLite's AffineQuantize, the optimized kernel's scalar
 *     loop): q = clamp(round(x / scale) + zero_point), round() rounding half
 *     away from zero.  x / scale outside the int32
 *     range, or NaN, is undefined in TFLite (a C++ float-to-int cast); we
 *     saturate, and NaN becomes the zero point.  The division is done in
 *     double (TFLite widens the scale), which decides values whose float
 *     quotient would land on a .5 - checked against TFLite itself.
 *   - uint8/int8 input (TFLite's Requantize): the real multiplier
 *     in_scale / out_scale, computed in double, becomes a Q31 multiplier and
 *     a shift at prepare, and q = clamp(mul_double(x - in_zp) + out_zp) with
 *     gemmlowp's double rounding.  Because the input has only 256 values,
 *     prepare evaluates that formula once per value into a table and eval
 *     looks bytes up ("lut"); the per-element formula stays as the reference
 *     ("ref", forced by LITESERVE_FORCE_REFERENCE).  When both scales are
 *     equal and the zero points differ by exactly 128 - the uint8 <-> int8
 *     switch at the edges of int8 models - the multiplier is exactly 1 and
 *     the mapping is a flip of the top bit ("xor").
 * Quantization is per tensor only (per-axis outputs are refused), checked
 * with qm_check_quant.  Work is split into flat ranges across threads.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"
#include "quant_math.h"

enum q_mode {
	Q_FROM_FLOAT = 0, /* float32 -> uint8/int8 */
	Q_REQUANT_REF,	  /* 8-bit -> 8-bit, formula per element */
	Q_REQUANT_LUT,	  /* 8-bit -> 8-bit, 256-entry table */
	Q_REQUANT_XOR,	  /* 8-bit -> 8-bit, top bit flipped */
};

typedef struct q_data {
	enum q_mode mode;
	nn_dtype in_type, out_type;
	int64_t count;	    /* elements */
	double scale;	    /* Q_FROM_FLOAT: output scale, widened as TFLite does */
	int32_t in_zp;	    /* requantize: input zero point */
	int32_t out_zp;	    /* output zero point */
	int32_t qmin, qmax; /* output type range */
	int32_t mult;	    /* requantize: Q31 multiplier of in_scale / out_scale */
	int shift;	    /* and its power-of-two exponent */
	uint8_t lut[256];   /* Q_REQUANT_LUT: output byte per input byte */
} q_data;

typedef struct q_ctx {
	const q_data *d;
	const void *in;
	void *out;
} q_ctx;

/* round(x / scale) + zp clamped to [qmin, qmax], as TFLite's optimized
 * AffineQuantize: the scale is widened to double, so the division is a
 * double one (a float quotient can round onto a .5 the exact one is not
 * at, and round() then goes the other way). */
static inline int32_t q_from_float(float x, double scale, int32_t zp, int32_t qmin, int32_t qmax)
{
	double q = (double)x / scale, frac;
	int64_t v;

	if (q != q) /* NaN */
		v = 0;
	else if (q <= -4294967296.0) /* far outside every 8-bit range: saturates */
		v = -4294967296LL;
	else if (q >= 4294967296.0)
		v = 4294967296LL;
	else {
		/* round() without a libm call: truncate, then step away from
		 * zero on a fraction of at least one half (q - v is exact) */
		v = (int64_t)q;
		frac = q - (double)v;
		v += frac >= 0.5 ? 1 : (frac <= -0.5 ? -1 : 0);
	}
	v += zp;
	return v < qmin ? qmin : (v > qmax ? qmax : (int32_t)v);
}

/* TFLite's Requantize for one value. */
static inline int32_t q_requant(int32_t x, const q_data *d)
{
	int32_t v = qm_mul_double(x - d->in_zp, d->mult, d->shift) + d->out_zp;
	return v < d->qmin ? d->qmin : (v > d->qmax ? d->qmax : v);
}

static inline int32_t q_load8(nn_dtype t, const void *p, int64_t i)
{
	return t == NN_U8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

static void q_range(const q_data *d, const void *in, void *out, int64_t e0, int64_t e1)
{
	uint8_t *o = out; /* both 8-bit output types are stored as their byte */
	const uint8_t *b = in;

	switch (d->mode) {
	case Q_FROM_FLOAT: {
		const float *x = in;
		for (int64_t i = e0; i < e1; i++)
			o[i] = (uint8_t)q_from_float(x[i], d->scale, d->out_zp, d->qmin, d->qmax);
		return;
	}
	case Q_REQUANT_REF:
		for (int64_t i = e0; i < e1; i++)
			o[i] = (uint8_t)q_requant(q_load8(d->in_type, in, i), d);
		return;
	case Q_REQUANT_LUT:
		for (int64_t i = e0; i < e1; i++)
			o[i] = d->lut[b[i]];
		return;
	case Q_REQUANT_XOR:
		for (int64_t i = e0; i < e1; i++)
			o[i] = b[i] ^ 0x80u;
		return;
	}
}

static void q_task(void *ctx_, int64_t e0, int64_t e1)
{
	const q_ctx *c = ctx_;

	q_range(c->d, c->in, c->out, e0, e1);
}

static void q_free(void *p)
{
	nn_free(p);
}

static nn_status q_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *out;
	q_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	out = nn_out(g, node, 0);
	if (in->type != NN_F32 && in->type != NN_U8 && in->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if (out->type != NN_U8 && out->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "output type %s is not supported (uint8, int8)", nn_dtype_name(out->type));
	if ((st = qm_check_quant(node, out, "output", false, err)) != NN_OK)
		return st;
	if (out->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "per-axis quantized output (%d scales) is not supported", out->quant->n);
	if (in->type != NN_F32) {
		if ((st = qm_check_quant(node, in, "input", false, err)) != NN_OK)
			return st;
		if (in->quant->n != 1)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "per-axis quantized input (%d scales) is not supported",
					   in->quant->n);
	}
	if ((st = nn_set_output(g, node, 0, out->type, in->rank, in->dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->in_type = in->type;
	d->out_type = out->type;
	d->count = nn_tensor_count(in);
	d->out_zp = (int32_t)out->quant->zero_point[0];
	d->scale = out->quant->scale[0];
	qm_dtype_range(out->type, &d->qmin, &d->qmax);
	if (in->type == NN_F32) {
		d->mode = Q_FROM_FLOAT;
		node->impl = "ref";
		return NN_OK;
	}

	d->in_zp = (int32_t)in->quant->zero_point[0];
	{
		double real = (double)in->quant->scale[0] / (double)out->quant->scale[0];
		/* above 2^16 the left shift of (x - zp) would overflow int32
		 * (TFLite's arithmetic is undefined there); no real model is
		 * near it: every input value but the zero point saturates */
		if (!qm_quantize_multiplier(real, &d->mult, &d->shift) || real > 65536.0)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "input/output scale ratio %g is out of range (at most 65536)",
					   real);
	}
	if (nn_force_reference()) {
		d->mode = Q_REQUANT_REF;
		node->impl = "ref";
		return NN_OK;
	}
	if (in->quant->scale[0] == out->quant->scale[0] &&
	    ((in->type == NN_U8 && out->type == NN_I8 && d->in_zp - d->out_zp == 128) ||
	     (in->type == NN_I8 && out->type == NN_U8 && d->out_zp - d->in_zp == 128))) {
		d->mode = Q_REQUANT_XOR;
		node->impl = "xor";
		return NN_OK;
	}
	for (int v = 0; v < 256; v++) {
		int32_t x = in->type == NN_U8 ? v : (int32_t)(int8_t)(uint8_t)v;
		d->lut[v] = (uint8_t)q_requant(x, d);
	}
	d->mode = Q_REQUANT_LUT;
	node->impl = "lut";
	return NN_OK;
}

static nn_status q_eval(const nn_node *node, nn_exec *ex)
{
	const q_data *d = node->data;
	q_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};

	nn_parallel_range(ex, d->count, 65536, q_task, &c);
	return NN_OK;
}

const nn_kernel nn_k_quantize = {
    .name = "QUANTIZE",
    .prepare = q_prepare,
    .eval = q_eval,
    .free = q_free,
};
