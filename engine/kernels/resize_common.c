/* resize_common.c - see resize_common.h. */
#include "resize_common.h"

nn_status resize_output_size(nn_graph *g, const nn_node *node, const char *what, int32_t *oh, int32_t *ow,
			     nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *size = nn_in(g, node, 1);

	if (in->rank != 4)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input has rank %d, expected 4 (NHWC)",
				   in->rank);
	if (size->type != NN_I32 || size->rank != 1 || size->dims[0] != 2)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "size must be an int32 tensor of shape [2], not %s rank %d",
				   nn_dtype_name(size->type), size->rank);
	if (size->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "size is computed at run time; only a constant size is supported");
	*oh = ((const int32_t *)size->data)[0];
	*ow = ((const int32_t *)size->data)[1];
	if (*oh <= 0 || *ow <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "output size %dx%d must be positive", *oh, *ow);
	if (in->dims[1] <= 0 || in->dims[2] <= 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is %dx%d; nothing to %s", in->dims[1],
				   in->dims[2], what);
	return NN_OK;
}
