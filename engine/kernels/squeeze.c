/* squeeze.c - SQUEEZE: drop dimensions of size 1.
 *
 * DESIGN: like RESHAPE, a squeeze only renames the shape, so the output is
 * an alias of the input (nn_set_alias) and eval does nothing; any
 * fixed-size dtype is accepted and kept.  SqueezeOptions.squeeze_dims
 * (field 0) lists the dimensions to drop, negative ones counted from the
 * end, repeats allowed (TFLite marks them, so a repeat is harmless); every
 * listed dimension must be 1.  An empty list drops every dimension of
 * size 1.  TFLite accepts at most 8 entries; so do we.
 */
#include <string.h>

#include "kernel.h"

enum { SQUEEZE_OPT_DIMS = 0, SQUEEZE_MAX_DIMS = 8 };

static nn_status squeeze_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	bool drop[NN_MAX_RANK] = {false};
	int32_t dims[NN_MAX_RANK];
	int rank = 0;
	fb_vec v;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (nn_dtype_size(in->type) == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if ((st = nn_opt_vec_i32(node, SQUEEZE_OPT_DIMS, &v, err)) != NN_OK)
		return st;
	if (v.len > SQUEEZE_MAX_DIMS)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "squeeze_dims has %u entries, at most %d",
				   v.len, SQUEEZE_MAX_DIMS);
	if (v.len == 0) {
		for (int d = 0; d < in->rank; d++)
			drop[d] = in->dims[d] == 1;
	}
	for (uint32_t i = 0; i < v.len; i++) {
		int32_t s = fb_vec_i32(&v, i);
		int32_t d = s < 0 ? s + in->rank : s;
		if (d < 0 || d >= in->rank)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "squeeze dimension %d is out of range for rank %d", s, in->rank);
		if (in->dims[d] != 1)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "cannot squeeze dimension %d of size %d (only size-1 dimensions)",
					   s, in->dims[d]);
		drop[d] = true;
	}
	for (int d = 0; d < in->rank; d++)
		if (!drop[d])
			dims[rank++] = in->dims[d];
	if ((st = nn_set_output(g, node, 0, in->type, rank, dims, err)) != NN_OK)
		return st;
	if ((st = nn_set_alias(g, nn_out(g, node, 0), node->inputs[0], err)) != NN_OK)
		return nn_err_prefix(err, "operator %d (SQUEEZE)", node->index);
	node->impl = "alias";
	return NN_OK;
}

static nn_status squeeze_eval(const nn_node *node, nn_exec *ex)
{
	(void)node;
	(void)ex;
	return NN_OK; /* the output shares the input's bytes */
}

const nn_kernel nn_k_squeeze = {
    .name = "SQUEEZE",
    .prepare = squeeze_prepare,
    .eval = squeeze_eval,
    .free = NULL,
};
