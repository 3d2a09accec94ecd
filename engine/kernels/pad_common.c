/* pad_common.c - see pad_common.h. */
#include <string.h>

#include "pad_common.h"

nn_status pad_read_paddings(nn_graph *g, const nn_node *node, int rank, int64_t *lo, int64_t *hi,
			    nn_err *err)
{
	const nn_tensor *p = nn_in(g, node, 1);

	if ((p->type != NN_I32 && p->type != NN_I64) || p->rank != 2 || p->dims[0] != rank || p->dims[1] != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "paddings must be an int32 or int64 tensor of shape [%d,2] (%s, rank %d)",
				   rank, nn_dtype_name(p->type), p->rank);
	if (p->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "paddings are computed at run time; only constant paddings are supported");
	for (int k = 0; k < rank; k++) {
		if (p->type == NN_I64) {
			lo[k] = ((const int64_t *)p->data)[2 * k];
			hi[k] = ((const int64_t *)p->data)[2 * k + 1];
		} else {
			lo[k] = ((const int32_t *)p->data)[2 * k];
			hi[k] = ((const int32_t *)p->data)[2 * k + 1];
		}
	}
	return NN_OK;
}

void pad_geom_fold(pad_geom *g, const nn_tensor *in, size_t es, const int64_t *lo, const int64_t *hi,
		   const int32_t *odims)
{
	int inner = in->rank;

	memset(g, 0, sizeof(*g));
	g->in_bytes = in->bytes;
	g->blk = es;
	while (inner > 0 && lo[inner - 1] == 0 && hi[inner - 1] == 0)
		g->blk *= (size_t)in->dims[--inner];
	for (int k = 0; k < inner; k++) {
		if (in->dims[k] == 1 && lo[k] == 0 && hi[k] == 0)
			continue; /* does not change the layout */
		g->in_dim[g->k] = in->dims[k];
		g->lo[g->k] = lo[k];
		g->hi[g->k] = hi[k];
		g->out_dim[g->k] = odims[k];
		g->k++;
	}
	if (g->k > 0) {
		size_t s = (size_t)g->in_dim[g->k - 1] * g->blk;
		for (int j = g->k - 2; j >= 0; j--) {
			g->in_stride[j] = s;
			s *= (size_t)g->in_dim[j];
		}
		g->rows = 1;
		for (int j = 0; j < g->k - 1; j++)
			g->rows *= g->out_dim[j];
		g->row_bytes = (size_t)g->out_dim[g->k - 1] * g->blk;
	}
}

typedef struct pad_run_ctx {
	const pad_geom *g;
	pad_row_fn row;
	const void *op;
	const uint8_t *in;
	uint8_t *out;
} pad_run_ctx;

static void pad_run_rows(void *ctx, int64_t r0, int64_t r1)
{
	const pad_run_ctx *c = ctx;
	const pad_geom *g = c->g;
	int n_outer = g->k - 1;
	int64_t coord[NN_MAX_RANK] = {0};
	int64_t rem = r0;

	for (int j = n_outer - 1; j >= 0; j--) { /* row index -> outer coordinates */
		coord[j] = rem % g->out_dim[j];
		rem /= g->out_dim[j];
	}
	for (int64_t r = r0; r < r1; r++) {
		c->row(c->op, g, c->in, c->out + (size_t)r * g->row_bytes, coord);
		for (int j = n_outer - 1; j >= 0; j--) {
			if (++coord[j] < g->out_dim[j])
				break;
			coord[j] = 0;
		}
	}
}

void pad_geom_run(nn_exec *ex, const pad_geom *g, pad_row_fn row, const void *op, const uint8_t *in,
		  uint8_t *out)
{
	pad_run_ctx c = {g, row, op, in, out};

	if (g->k == 0) {
		if (g->in_bytes)
			memcpy(out, in, g->in_bytes);
		return;
	}
	if (g->row_bytes > 0) /* ~64 KiB of output per task */
		nn_parallel_range(ex, g->rows, (int64_t)(65536 / g->row_bytes) + 1, pad_run_rows, &c);
}
