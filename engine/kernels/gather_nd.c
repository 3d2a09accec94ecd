/* gather_nd.c - GATHER_ND: slices of params picked by index tuples.
 *
 * DESIGN: indices has shape [..., nd]; each of its rows of nd integers
 * names a position in the first nd dimensions of params, and the output
 * row is the whole slice params[i0, ..., i(nd-1), :, ...] - so the output
 * shape is indices.shape[:-1] + params.shape[nd:] (TFLite's rule; nd = 0
 * copies all of params per row).  Bytes are copied, never interpreted, so
 * params may have any fixed-size type and keep their quantization (the
 * output must carry the same parameters).  Indices are int32 or int64.
 * Indices are data: each one is checked against its dimension at run time
 * and an index outside [0, dim) fails the invoke with NN_ERR_RUNTIME and a
 * message naming it (TFLite's kernel only checks that the flat offset
 * stays inside params - an index that overflows one dimension into the
 * next is silently accepted there - or, in older versions, reads out of
 * bounds; an error is the only safe answer).
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "quant_math.h"
#include "kernel.h"

typedef struct gnd_data {
	nn_dtype idx_type;
	int nd;			     /* index tuple length */
	int64_t n_rows;		     /* index tuples */
	int64_t dim[NN_MAX_RANK];    /* params dims 0..nd-1 */
	int64_t stride[NN_MAX_RANK]; /* bytes per step of params dims 0..nd-1 */
	size_t slice;		     /* bytes of one gathered slice */
} gnd_data;

static void gnd_free(void *p)
{
	nn_free(p);
}

static nn_status gnd_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *params, *idx, *out;
	int32_t dims[NN_MAX_RANK];
	int nd, rank = 0;
	size_t es;
	gnd_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	params = nn_in(g, node, 0);
	idx = nn_in(g, node, 1);
	out = nn_out(g, node, 0);
	es = nn_dtype_size(params->type);
	if (es == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "params type %s is not supported",
				   nn_dtype_name(params->type));
	if (idx->type != NN_I32 && idx->type != NN_I64)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "indices type %s is not supported (int32, int64)",
				   nn_dtype_name(idx->type));
	if (params->rank < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "params is a scalar");
	if (idx->rank < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "indices is a scalar; expected shape [..., nd]");
	nd = idx->dims[idx->rank - 1];
	if (nd > params->rank)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "index tuples have %d entries but params has rank %d", nd, params->rank);
	if (idx->rank - 1 + params->rank - nd > NN_MAX_RANK)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "output rank %d exceeds %d",
				   idx->rank - 1 + params->rank - nd, NN_MAX_RANK);
	if (!qm_same_quant(params->quant, out->quant))
		return nn_node_err(
		    node, err, NN_ERR_UNSUPPORTED,
		    "output quantization differs from the params' (values are copied, not rescaled)");
	for (int k = 0; k < idx->rank - 1; k++)
		dims[rank++] = idx->dims[k];
	for (int k = nd; k < params->rank; k++)
		dims[rank++] = params->dims[k];
	if ((st = nn_set_output(g, node, 0, params->type, rank, dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->idx_type = idx->type;
	d->nd = nd;
	d->n_rows = 1;
	for (int k = 0; k < idx->rank - 1; k++)
		d->n_rows *= idx->dims[k];
	d->slice = es;
	for (int k = nd; k < params->rank; k++)
		d->slice *= (size_t)params->dims[k];
	{
		size_t s = d->slice;
		for (int k = nd - 1; k >= 0; k--) {
			d->dim[k] = params->dims[k];
			d->stride[k] = (int64_t)s;
			s *= (size_t)params->dims[k];
		}
	}
	node->impl = "ref";
	return NN_OK;
}

static nn_status gnd_eval(const nn_node *node, nn_exec *ex)
{
	const gnd_data *d = node->data;
	const uint8_t *params = nn_ex_in(ex, node, 0)->data;
	const void *idx = nn_ex_in(ex, node, 1)->data;
	uint8_t *out = nn_ex_out(ex, node, 0)->data;

	for (int64_t r = 0; r < d->n_rows; r++) {
		size_t off = 0;
		for (int k = 0; k < d->nd; k++) {
			int64_t i = d->idx_type == NN_I64 ? ((const int64_t *)idx)[r * d->nd + k]
							  : ((const int32_t *)idx)[r * d->nd + k];
			if (i < 0 || i >= d->dim[k])
				return nn_err_set(ex->err, NN_ERR_RUNTIME,
						  "index %" PRId64 " (tuple %" PRId64
						  ", entry %d) is outside [0, %" PRId64
						  ") of params dimension %d",
						  i, r, k, d->dim[k], k);
			off += (size_t)i * (size_t)d->stride[k];
		}
		memcpy(out + (size_t)r * d->slice, params + off, d->slice);
	}
	return NN_OK;
}

const nn_kernel nn_k_gather_nd = {
    .name = "GATHER_ND",
    .prepare = gnd_prepare,
    .eval = gnd_eval,
    .free = gnd_free,
};
