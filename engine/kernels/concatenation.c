/* concatenation.c - CONCATENATION of any number of tensors along one axis.
 *
 * DESIGN: seen from the axis, every tensor is [outer, inner_i] where outer
 * is the product of the dims before the axis (the same for all inputs) and
 * inner_i = dims[axis] * (product of the dims after it).  The output row o
 * is then input 0's row o, input 1's row o, ... back to back, so eval is
 * outer * n memcpys of precomputed byte sizes - the values are copied, not
 * computed, which makes the kernel the same for every fixed-size type
 * without quantization: float32, int32, int64 and bool.
 * Quantized inputs, as TFLite treats them:
 *   - int8: every input must have the output's scale and zero point
 *     (TFLite refuses anything else), so it is a byte copy too;
 *   - uint8 (the SSD detector's box and class heads): an input with the
 *     output's scale and zero point is copied; any other is requantized
 *     element by element, in float as TFLite's ConcatenationWithScaling:
 *       q_out = clamp(round(q * k + b) + zp_out, 0, 255),
 *       k = s_in * (1 / s_out),  b = -zp_in * k
 *     (each product and sum rounded to float; round() half away from zero).
 * int16 is not supported.
 * ConcatenationOptions: axis (field 0, negative counts from the end) and
 * fused_activation_function (field 1), which TFLite requires to be NONE
 * (its kernel refuses anything else), so we refuse it too.  Inputs must all
 * have the output's rank and type and equal dims except along the axis;
 * the axis sizes are summed in 64 bits (1024 inputs of 2^31 - 1 would
 * overflow int32).  Large outputs (> 64K elements) are split across threads
 * by ranges of output rows.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "broadcast.h"
#include "kernel.h"

enum {
	CONCAT_OPTIONS = 10, /* BuiltinOptions union index of ConcatenationOptions */
	CONCAT_OPT_AXIS = 0,
	CONCAT_OPT_ACTIVATION = 1,
	CONCAT_PARALLEL_MIN = 64 * 1024, /* output elements; fewer run on one thread */
	CONCAT_TASK_ELEMS = 32 * 1024,	 /* about this many elements per task */
};

/* One input as eval sees it. */
typedef struct concat_input {
	size_t row;   /* bytes of a row of this input */
	bool requant; /* uint8 with another scale or zero point than the output's */
	float k, b;   /* requant: q * k + b is the value in output steps */
} concat_input;

typedef struct concat_data {
	int n;		       /* inputs */
	int64_t outer;	       /* output rows: product of the dims before the axis */
	size_t out_row;	       /* bytes of an output row: the sum of the input rows */
	int64_t rows_per_task; /* when split across threads */
	int32_t out_zp;	       /* uint8: the output zero point */
	concat_input in[];     /* n entries */
} concat_data;

enum { CONCAT_BLOCK = 16 }; /* elements per fixed-size block of the requant loop */

/* uint8 q -> clamp(round(q * k + b) + zp, 0, 255), TFLite's float steps. */
static inline uint8_t concat_requant1(uint8_t q, float k, float b, float zp)
{
	/* a whole number after round(): clamping before the conversion is the
	 * same as TFLite's convert-then-clamp */
	const float v = roundf((float)q * k + b) + zp;
	return (uint8_t)(v >= 255.0f ? 255 : (v > 0.0f ? (int32_t)v : 0));
}

static void concat_requant(uint8_t *restrict dst, const uint8_t *restrict src, size_t n, float k, float b,
			   float zp)
{
	size_t i = 0;

	for (; i + CONCAT_BLOCK <= n; i += CONCAT_BLOCK)
		for (size_t j = 0; j < CONCAT_BLOCK; j++)
			dst[i + j] = concat_requant1(src[i + j], k, b, zp);
	for (; i < n; i++)
		dst[i] = concat_requant1(src[i], k, b, zp);
}

typedef struct concat_ctx {
	const nn_node *node;
	nn_exec *ex;
	char *out;
} concat_ctx;

static void concat_rows(const nn_node *node, nn_exec *ex, char *out, int64_t r0, int64_t r1)
{
	const concat_data *d = node->data;

	for (int i = 0; i < d->n; i++) {
		const concat_input *in = &d->in[i];
		size_t len = in->row;
		const char *src;
		char *dst;

		if (len == 0)
			continue; /* an empty input may have no storage at all */
		src = (const char *)nn_ex_in(ex, node, i)->data + (size_t)r0 * len;
		dst = out + (size_t)r0 * d->out_row;
		if (in->requant)
			for (int64_t r = r0; r < r1; r++, src += len, dst += d->out_row)
				concat_requant((uint8_t *)dst, (const uint8_t *)src, len, in->k, in->b,
					       (float)d->out_zp);
		else
			for (int64_t r = r0; r < r1; r++, src += len, dst += d->out_row)
				memcpy(dst, src, len);
		out += len; /* the next input's columns start after this one's */
	}
}

static void concat_free(void *p)
{
	nn_free(p);
}

static bool concat_type_ok(nn_dtype t)
{
	return t == NN_F32 || t == NN_I32 || t == NN_I64 || t == NN_BOOL || t == NN_U8 || t == NN_I8;
}

/* Quantization of a uint8/int8 concatenation: fills d->in[i].requant, k, b
 * and d->out_zp (see DESIGN). */
static nn_status concat_prepare_q(nn_graph *g, nn_node *node, concat_data *d, nn_err *err)
{
	const nn_tensor *out = nn_out(g, node, 0);
	float s_out, inverse;
	int32_t z_out;
	nn_status st;

	if ((st = bc_quant_of(node, out, "output", &s_out, &z_out, err)) != NN_OK)
		return st;
	d->out_zp = z_out;
	inverse = 1.0f / s_out;
	for (int i = 0; i < d->n; i++) {
		const nn_tensor *t = nn_in(g, node, i);
		char what[32];
		float s;
		int32_t z;

		snprintf(what, sizeof(what), "input %d", i);
		if ((st = bc_quant_of(node, t, what, &s, &z, err)) != NN_OK)
			return st;
		if (s == s_out && z == z_out)
			continue;
		if (out->type == NN_I8)
			return nn_node_err(
			    node, err, NN_ERR_BAD_MODEL,
			    "int8 input %d has scale %g and zero point %d but the output has %g "
			    "and %d (TFLite requires them equal for int8)",
			    i, (double)s, z, (double)s_out, z_out);
		d->in[i].requant = true;
		d->in[i].k = s * inverse;
		d->in[i].b = (float)(-z) * d->in[i].k;
	}
	return NN_OK;
}

static nn_status concat_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *t0;
	concat_data *d;
	int32_t dims[NN_MAX_RANK];
	int64_t sum = 0, inner = 1, out_elems;
	int axis, act, rank;
	size_t es;
	nn_status st;

	if ((st = nn_check_arity(node, 1, NN_MAX_OP_IO, 1, err)) != NN_OK)
		return st;
	for (int i = 0; i < node->n_inputs; i++)
		if (node->inputs[i] < 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input %d is omitted", i);
	t0 = nn_in(g, node, 0);
	rank = t0->rank;
	if (!concat_type_ok(t0->type))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(t0->type));
	if (node->op->has_options && node->op->options_type != CONCAT_OPTIONS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "options are of type %d, not ConcatenationOptions (%d)",
				   node->op->options_type, CONCAT_OPTIONS);
	axis = nn_opt_i32(node, CONCAT_OPT_AXIS, 0);
	act = nn_opt_i8(node, CONCAT_OPT_ACTIVATION, NN_ACT_NONE);
	if (act != NN_ACT_NONE)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "fused activation %d is not supported (TFLite accepts only NONE here)",
				   act);
	if (axis < -rank || axis >= rank)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "axis %d is out of range for rank %d", axis,
				   rank);
	if (axis < 0)
		axis += rank;
	for (int i = 0; i < node->n_inputs; i++) {
		const nn_tensor *t = nn_in(g, node, i);
		if (t->type != t0->type)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input %d is %s but input 0 is %s", i,
					   nn_dtype_name(t->type), nn_dtype_name(t0->type));
		if (t->rank != rank)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "input %d has rank %d but input 0 has rank %d", i, t->rank, rank);
		for (int k = 0; k < rank; k++)
			if (k != axis && t->dims[k] != t0->dims[k])
				return nn_node_err(node, err, NN_ERR_BAD_MODEL,
						   "input %d has %d in dimension %d but input 0 has %d (only "
						   "axis %d may differ)",
						   i, t->dims[k], k, t0->dims[k], axis);
		sum += t->dims[axis];
	}
	if (sum > INT32_MAX)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "concatenated axis has %lld elements",
				   (long long)sum);
	memcpy(dims, t0->dims, sizeof(int32_t) * (size_t)rank);
	dims[axis] = (int32_t)sum;
	if ((st = nn_set_output(g, node, 0, t0->type, rank, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d) + sizeof(concat_input) * (size_t)node->n_inputs);
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory for %d inputs",
				   node->n_inputs);
	node->data = d;
	es = nn_dtype_size(t0->type);
	d->n = node->n_inputs;
	d->outer = 1;
	for (int k = 0; k < axis; k++)
		d->outer *= dims[k];
	for (int k = axis + 1; k < rank; k++)
		inner *= dims[k];
	/* each row size is bounded by the output's bytes, which nn_set_output checked */
	for (int i = 0; i < d->n; i++)
		d->in[i].row = (size_t)nn_in(g, node, i)->dims[axis] * (size_t)inner * es;
	d->out_row = (size_t)sum * (size_t)inner * es;
	out_elems = d->outer * sum * inner;
	d->rows_per_task = d->outer > 0 ? d->outer : 1;
	if (out_elems > CONCAT_PARALLEL_MIN && d->outer > 1) {
		int64_t row_elems = sum * inner;
		d->rows_per_task = CONCAT_TASK_ELEMS / row_elems + 1;
	}
	node->impl = "ref";
	if (t0->type == NN_U8 || t0->type == NN_I8)
		return concat_prepare_q(g, node, d, err);
	return NN_OK;
}

static void concat_task(void *ctx_, int64_t r0, int64_t r1)
{
	const concat_ctx *c = ctx_;

	concat_rows(c->node, c->ex, c->out, r0, r1);
}

static nn_status concat_eval(const nn_node *node, nn_exec *ex)
{
	const concat_data *d = node->data;
	concat_ctx c = {node, ex, nn_ex_out(ex, node, 0)->data};

	if (d->out_row > 0)
		nn_parallel_range(ex, d->outer, d->rows_per_task, concat_task, &c);
	return NN_OK;
}

const nn_kernel nn_k_concatenation = {
    .name = "CONCATENATION",
    .prepare = concat_prepare,
    .eval = concat_eval,
    .free = concat_free,
};
