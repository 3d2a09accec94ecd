/* reshape.c - RESHAPE: the same bytes under another shape.
 *
 * DESIGN: a reshape never moves data.  prepare works out the new shape and
 * makes the output an alias of the input (nn_set_alias), so the planner
 * gives both one storage and eval has nothing to do; a constant input makes
 * the output a constant too.  Because no element is touched, every
 * fixed-size dtype is accepted and the output keeps the input's type.
 *
 * Where the shape comes from follows TFLite: a second input that is a 1-D
 * int32 tensor wins; otherwise ReshapeOptions.new_shape (field 0), where
 * the legacy value [0] means a scalar.  Our shapes are static, so the shape
 * tensor must be a constant at prepare (an op that computes shapes, like
 * SHAPE, is expected to fold its output into a constant); when it is not,
 * we fall back to new_shape and then to the shape the file gives the output.
 * One entry may be -1 ("whatever makes the counts match"); the element
 * counts must agree exactly.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

enum { RESHAPE_OPT_NEW_SHAPE = 0 };

/* Prints a shape as "[1,2,3]" into buf (for messages). */
static const char *shape_text(char *buf, size_t len, int rank, const int32_t *dims)
{
	size_t k = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < rank && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "", dims[i]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
	return buf;
}

/* Reads the requested shape (may contain one -1) into rank/dims. */
static nn_status requested_shape(nn_graph *g, const nn_node *node, int *rank, int32_t *dims, nn_err *err)
{
	const nn_tensor *shp = nn_in(g, node, 1);
	const nn_tensor *out = nn_out(g, node, 0);
	bool has_opt = node->op->has_options && fb_has(&node->op->options, RESHAPE_OPT_NEW_SHAPE);
	fb_vec v;
	nn_status st;

	if (shp && shp->rank == 1 && shp->type == NN_I32) {
		if (shp->dims[0] > NN_MAX_RANK)
			return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
					   "shape tensor has %d entries, at most %d", shp->dims[0],
					   NN_MAX_RANK);
		if (shp->kind == NN_TENSOR_CONST) {
			*rank = shp->dims[0];
			if (*rank > 0)
				memcpy(dims, shp->data, sizeof(int32_t) * (size_t)*rank);
			return NN_OK;
		}
		if (!has_opt) {
			/* the file's own output shape, when it is fully known */
			bool known = out->rank > 0;
			for (int d = 0; d < out->rank; d++)
				known = known && out->dims[d] >= 0;
			if (!known)
				return nn_node_err(
				    node, err, NN_ERR_UNSUPPORTED,
				    "the shape tensor is computed at run time and the output shape is not "
				    "given in the file");
			*rank = out->rank;
			memcpy(dims, out->dims, sizeof(int32_t) * (size_t)out->rank);
			return NN_OK;
		}
	}
	if ((st = nn_opt_vec_i32(node, RESHAPE_OPT_NEW_SHAPE, &v, err)) != NN_OK)
		return st;
	if (v.len > NN_MAX_RANK)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "new_shape has %u entries, at most %d",
				   v.len, NN_MAX_RANK);
	*rank = (int)v.len;
	for (uint32_t i = 0; i < v.len; i++)
		dims[i] = fb_vec_i32(&v, i);
	if (*rank == 1 && dims[0] == 0)
		*rank = 0; /* legacy converters wrote [0] for a scalar */
	return NN_OK;
}

static nn_status reshape_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	int32_t dims[NN_MAX_RANK];
	int rank = 0, stretch = -1;
	uint64_t known = 1, count;
	char a[96], b[96];
	nn_status st;

	if ((st = nn_check_arity(node, 1, 2, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (nn_dtype_size(in->type) == 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if ((st = requested_shape(g, node, &rank, dims, err)) != NN_OK)
		return st;

	count = (uint64_t)nn_tensor_count(in);
	for (int d = 0; d < rank; d++) {
		if (dims[d] == -1) {
			if (stretch >= 0)
				return nn_node_err(node, err, NN_ERR_BAD_MODEL,
						   "new shape %s has more than one -1",
						   shape_text(a, sizeof(a), rank, dims));
			stretch = d;
		} else if (dims[d] < 0) {
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "new shape %s has a negative dimension",
					   shape_text(a, sizeof(a), rank, dims));
		} else {
			/* counts never exceed 2^31, so stop multiplying past 2^32 (no overflow) */
			known = known > (1ULL << 32) ? known : known * (uint64_t)dims[d];
		}
	}
	if (stretch >= 0) {
		if (known == 0 || count % known != 0 || count / known > INT32_MAX)
			return nn_node_err(
			    node, err, NN_ERR_BAD_MODEL,
			    "cannot reshape %s (%llu elements) to %s: -1 has no integer solution",
			    shape_text(a, sizeof(a), in->rank, in->dims), (unsigned long long)count,
			    shape_text(b, sizeof(b), rank, dims));
		dims[stretch] = (int32_t)(count / known);
		known = count;
	}
	if (known != count)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "cannot reshape %s (%llu elements) to %s (%llu elements)",
				   shape_text(a, sizeof(a), in->rank, in->dims), (unsigned long long)count,
				   shape_text(b, sizeof(b), rank, dims), (unsigned long long)known);
	if ((st = nn_set_output(g, node, 0, in->type, rank, dims, err)) != NN_OK)
		return st;
	if ((st = nn_set_alias(g, nn_out(g, node, 0), node->inputs[0], err)) != NN_OK)
		return nn_err_prefix(err, "operator %d (RESHAPE)", node->index);
	node->impl = "alias";
	return NN_OK;
}

static nn_status reshape_eval(const nn_node *node, nn_exec *ex)
{
	(void)node;
	(void)ex;
	return NN_OK; /* the output shares the input's bytes */
}

const nn_kernel nn_k_reshape = {
    .name = "RESHAPE",
    .prepare = reshape_prepare,
    .eval = reshape_eval,
    .free = NULL,
};
