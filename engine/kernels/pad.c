/* pad.c - PAD: surround a tensor with a constant.
 *
 * DESIGN: padding moves bytes and never interprets them, so every
 * fixed-size dtype shares one path.  The pad value is 0, or the zero point
 * for a quantized (per-tensor) tensor, i.e. the quantized encoding of 0.0;
 * since nothing is rescaled, a quantized output must carry the input's
 * parameters.  Paddings are input 1, a constant int32 or int64 [rank, 2]
 * tensor of (before, after) pairs, each >= 0 (TFLite's rules).
 *
 * The folded row geometry and the threaded row walk are pad_common.h's; a
 * PAD row is either entirely padding or [pad | input run | pad].
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "quant_math.h"
#include "kernel.h"
#include "pad_common.h"

typedef struct pad_data {
	pad_geom g;
	size_t es;	   /* element size */
	uint8_t value[8];  /* one element of the pad value */
	bool value_zero;   /* all value bytes are 0: memset */
} pad_data;

static void pad_fill(const pad_data *d, uint8_t *p, size_t bytes)
{
	if (d->value_zero || d->es == 1) {
		memset(p, d->value[0], bytes);
		return;
	}
	for (size_t i = 0; i < bytes; i += d->es)
		memcpy(p + i, d->value, d->es);
}

static void pad_row(const void *op, const pad_geom *g, const uint8_t *in, uint8_t *o, const int64_t *c)
{
	const pad_data *d = op;
	int n_outer = g->k - 1;
	const int64_t L = g->lo[n_outer], N = g->in_dim[n_outer], H = g->hi[n_outer];
	size_t ioff = 0;

	for (int j = 0; j < n_outer; j++) {
		int64_t s = c[j] - g->lo[j];
		if (s < 0 || s >= g->in_dim[j]) {
			pad_fill(d, o, g->row_bytes);
			return;
		}
		ioff += (size_t)s * g->in_stride[j];
	}
	pad_fill(d, o, (size_t)L * g->blk);
	memcpy(o + (size_t)L * g->blk, in + ioff, (size_t)N * g->blk);
	pad_fill(d, o + (size_t)(L + N) * g->blk, (size_t)H * g->blk);
}

static void pad_free(void *p)
{
	nn_free(p);
}

/* The pad value's bytes: 0, or the zero point of a quantized integer tensor. */
static nn_status pad_value(const nn_node *node, const nn_tensor *in, const nn_tensor *out, pad_data *d,
			   nn_err *err)
{
	int64_t zp;

	memset(d->value, 0, sizeof(d->value));
	d->value_zero = true;
	if (!out->quant || in->type == NN_F32 || in->type == NN_F16 || in->type == NN_F64 ||
	    in->type == NN_BOOL)
		return NN_OK;
	if (in->quant && !qm_same_quant(in->quant, out->quant))
		return nn_node_err(
		    node, err, NN_ERR_UNSUPPORTED,
		    "output quantization differs from the input's (values are copied, not rescaled)");
	if (out->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "per-axis quantized %s is not supported",
				   nn_dtype_name(out->type));
	zp = out->quant->zero_point[0];
	switch (in->type) {
	case NN_U8:
		if (zp < 0 || zp > 255)
			goto range;
		d->value[0] = (uint8_t)zp;
		break;
	case NN_I8:
		if (zp < -128 || zp > 127)
			goto range;
		{
			int8_t v = (int8_t)zp;
			memcpy(d->value, &v, 1);
		}
		break;
	case NN_I16:
		if (zp < INT16_MIN || zp > INT16_MAX)
			goto range;
		{
			int16_t v = (int16_t)zp;
			memcpy(d->value, &v, 2);
		}
		break;
	case NN_I32:
		if (zp < INT32_MIN || zp > INT32_MAX)
			goto range;
		{
			int32_t v = (int32_t)zp;
			memcpy(d->value, &v, 4);
		}
		break;
	case NN_I64:
		memcpy(d->value, &zp, 8);
		break;
	default:
		break;
	}
	d->value_zero = zp == 0;
	return NN_OK;
range:
	return nn_node_err(node, err, NN_ERR_BAD_MODEL, "zero point %lld is out of range for %s",
			   (long long)zp, nn_dtype_name(in->type));
}

static nn_status pad_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in, *out;
	int32_t odims[NN_MAX_RANK];
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int rank;
	size_t es;
	pad_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	out = nn_out(g, node, 0);
	rank = in->rank;
	es = nn_dtype_size(in->type);
	if (es == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if ((st = pad_read_paddings(g, node, rank, lo, hi, err)) != NN_OK)
		return st;
	for (int k = 0; k < rank; k++) {
		int64_t o;
		if (lo[k] < 0 || hi[k] < 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "dimension %d has negative padding (%lld, %lld)", k,
					   (long long)lo[k], (long long)hi[k]);
		o = (int64_t)in->dims[k] + lo[k] + hi[k];
		if (lo[k] > INT32_MAX || hi[k] > INT32_MAX || o > INT32_MAX)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "dimension %d padded by (%lld, %lld) is too large", k,
					   (long long)lo[k], (long long)hi[k]);
		odims[k] = (int32_t)o;
	}
	if ((st = nn_set_output(g, node, 0, in->type, rank, odims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->es = es;
	if ((st = pad_value(node, in, out, d, err)) != NN_OK)
		return st; /* node->data is released by the graph */
	pad_geom_fold(&d->g, in, es, lo, hi, odims);
	node->impl = "ref";
	return NN_OK;
}

static nn_status pad_eval(const nn_node *node, nn_exec *ex)
{
	const pad_data *d = node->data;

	pad_geom_run(ex, &d->g, pad_row, d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data);
	return NN_OK;
}

const nn_kernel nn_k_pad = {
    .name = "PAD",
    .prepare = pad_prepare,
    .eval = pad_eval,
    .free = pad_free,
};
