/* dequantize.c - DEQUANTIZE: float16 or quantized integers to float32.
 *
 * DESIGN: two uses.  Post-training float16 models store weights as float16
 * constants that feed DEQUANTIZE; those outputs are constants too, so
 * prepare converts them once into a graph-owned buffer (nn_make_const) and
 * eval does nothing.  Integer models dequantize activations at their end
 * (real = scale * (q - zero_point), per tensor or per channel along
 * quant.axis), which runs per inference; constant integer inputs are folded
 * at prepare as well.
 *
 * float16 -> float32 is exact (every half is a float): we rebias the
 * exponent and widen the mantissa ourselves, normalising subnormals
 * (2^-24 .. 2^-14) and keeping inf and NaN (payload included), so the
 * engine needs no F16C and the reference runs everywhere.
 * For integers, TFLite's per-tensor reference multiplies in double and
 * rounds to float once; (q - zp) fits a float exactly and the product of a
 * float scale and such an integer is exact in double, so one float multiply
 * gives the same correctly rounded result, per tensor and per channel.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"

typedef struct dq_data {
	nn_dtype type; /* input type */
	int64_t count; /* elements */
	int64_t n_ch;  /* scales; 1 = per tensor */
	int64_t inner; /* elements after the quantized axis (count for per tensor) */
	bool folded;   /* output was made a constant at prepare */
	float *scale;  /* n_ch scales (integer inputs) */
	int32_t *zp;   /* n_ch zero points */
} dq_data;

typedef struct dq_ctx {
	const dq_data *d;
	const void *in;
	float *out;
} dq_ctx;

/* IEEE binary16 -> binary32, exact for every bit pattern. */
static float dq_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;
	uint32_t bits;
	float f;

	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (man << 13); /* inf, or NaN with its payload */
	} else if (exp != 0) {
		bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
	} else if (man == 0) {
		bits = sign; /* signed zero */
	} else {
		/* subnormal: man * 2^-24; shift the leading 1 up to bit 10 */
		int e = -14;
		while (!(man & 0x400)) {
			man <<= 1;
			e--;
		}
		bits = sign | ((uint32_t)(e + 127) << 23) | ((man & 0x3ff) << 13);
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Converts elements [e0, e1). */
static void dq_range(const dq_data *d, const void *in, float *out, int64_t e0, int64_t e1)
{
	switch (d->type) {
	case NN_F16: {
		const uint16_t *p = in;
		for (int64_t i = e0; i < e1; i++)
			out[i] = dq_half_to_float(p[i]);
		return;
	}
	default:
		break;
	}
	/* integer: runs of `inner` elements share a channel */
	for (int64_t i = e0; i < e1;) {
		int64_t ch = (i / d->inner) % d->n_ch;
		int64_t end = (i / d->inner + 1) * d->inner;
		const float s = d->scale[ch];
		const int32_t z = d->zp[ch];
		if (end > e1)
			end = e1;
		switch (d->type) {
		case NN_U8:
			for (const uint8_t *p = in; i < end; i++)
				out[i] = s * (float)((int32_t)p[i] - z);
			break;
		case NN_I8:
			for (const int8_t *p = in; i < end; i++)
				out[i] = s * (float)((int32_t)p[i] - z);
			break;
		case NN_I16:
			for (const int16_t *p = in; i < end; i++)
				out[i] = s * (float)((int32_t)p[i] - z);
			break;
		default:
			return; /* refused at prepare */
		}
	}
}

static void dq_task(void *ctx_, int64_t e0, int64_t e1)
{
	const dq_ctx *c = ctx_;

	dq_range(c->d, c->in, c->out, e0, e1);
}

static void dq_free(void *p)
{
	nn_free(p);
}

/* Checks the quantization of an integer input and copies it into d. */
static nn_status dq_quant(const nn_node *node, const nn_tensor *in, dq_data *d, nn_err *err)
{
	const nn_quant *q = in->quant;
	int64_t zmin = in->type == NN_U8 ? 0 : in->type == NN_I8 ? -128 : INT16_MIN;
	int64_t zmax = in->type == NN_U8 ? 255 : in->type == NN_I8 ? 127 : INT16_MAX;

	if (!q || q->n < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "%s input has no quantization parameters",
				   nn_dtype_name(in->type));
	d->n_ch = q->n;
	d->inner = d->count;
	if (q->n > 1) {
		if (q->axis < 0 || q->axis >= in->rank || in->dims[q->axis] != q->n)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "%d scales do not match dimension %d of a rank-%d input", q->n,
					   q->axis, in->rank);
		d->inner = 1;
		for (int k = q->axis + 1; k < in->rank; k++)
			d->inner *= in->dims[k];
	}
	if (d->inner == 0)
		d->inner = 1; /* empty tensor: nothing is converted */
	d->scale = (float *)(d + 1);
	d->zp = (int32_t *)(d->scale + q->n);
	for (int i = 0; i < q->n; i++) {
		if (!(q->scale[i] > 0.0f))
			return nn_node_err(node, err, NN_ERR_BAD_MODEL, "scale %d is %g, must be positive", i,
					   (double)q->scale[i]);
		if (q->zero_point[i] < zmin || q->zero_point[i] > zmax)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "zero point %d is %lld, outside %s range", i,
					   (long long)q->zero_point[i], nn_dtype_name(in->type));
		d->scale[i] = q->scale[i];
		d->zp[i] = (int32_t)q->zero_point[i];
	}
	return NN_OK;
}

static nn_status dq_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	nn_tensor *out;
	dq_data *d;
	int n_q;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	out = nn_out(g, node, 0);
	if (in->type != NN_F16 && in->type != NN_U8 && in->type != NN_I8 && in->type != NN_I16)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if ((st = nn_set_output(g, node, 0, NN_F32, in->rank, in->dims, err)) != NN_OK)
		return st;
	n_q = in->type != NN_F16 && in->quant ? in->quant->n : 0;
	d = nn_calloc(1, sizeof(*d) + (size_t)n_q * (sizeof(float) + sizeof(int32_t)));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by the graph even if we refuse below */
	d->type = in->type;
	d->count = nn_tensor_count(in);
	d->n_ch = 1;
	d->inner = d->count ? d->count : 1;
	if (in->type != NN_F16 && (st = dq_quant(node, in, d, err)) != NN_OK)
		return st;
	node->impl = "ref";
	if (in->kind == NN_TENSOR_CONST) {
		float *p = nn_make_const(g, out);
		if (!p)
			return nn_node_err(node, err, NN_ERR_NO_MEMORY,
					   "out of memory for a %zu-byte constant", out->bytes);
		dq_range(d, in->data, p, 0, d->count);
		d->folded = true;
		node->impl = "const";
	}
	return NN_OK;
}

static nn_status dq_eval(const nn_node *node, nn_exec *ex)
{
	const dq_data *d = node->data;
	dq_ctx c;

	if (d->folded)
		return NN_OK;
	c.d = d;
	c.in = nn_ex_in(ex, node, 0)->data;
	c.out = nn_ex_out(ex, node, 0)->data;
	nn_parallel_range(ex, d->count, 32768, dq_task, &c);
	return NN_OK;
}

const nn_kernel nn_k_dequantize = {
    .name = "DEQUANTIZE",
    .prepare = dq_prepare,
    .eval = dq_eval,
    .free = dq_free,
};
