/* tanh.c - TANH: hyperbolic tangent, elementwise.
 *
 * DESIGN: float32 is libm's tanhf per element, as TFLite's float reference
 * uses std::tanh (correctly saturating to +-1 for large |x|, NaN stays NaN);
 * the loop is split across threads for large tensors (broadcast.h's unary
 * walk).  The op has no options.  Quantized variants (uint8/int8/int16) will
 * be added here and chosen in prepare by dtype.
 */
#include <math.h>

#include "alloc.h"
#include "broadcast.h"

#define TANH_F32(x) tanhf(x)
BC_DEFINE_UNARY(tanh_run_f32, float, float, TANH_F32)

static void tanh_free(void *p)
{
	nn_free(p);
}

static nn_status tanh_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	bc_unary *d = nn_calloc(1, sizeof(*d));
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by tanh_free, also when prepare fails */
	if ((st = bc_unary_prepare(g, node, BC_TYPE(NN_F32), d, err)) != NN_OK)
		return st;
	d->run = tanh_run_f32;
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_tanh = {
    .name = "TANH",
    .prepare = tanh_prepare,
    .eval = bc_unary_eval,
    .free = tanh_free,
};
