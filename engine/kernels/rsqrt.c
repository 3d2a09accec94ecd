/* rsqrt.c - RSQRT: 1 / sqrt(x), elementwise.
 *
 * DESIGN: float32 is 1.0f / sqrtf(x) - two correctly rounded steps, the
 * same expression as TFLite's float kernel, rather than an rsqrt
 * approximation instruction, so results are bit-identical to it.  Zero
 * gives +inf (-0 gives -inf), a negative input NaN.  The op has no options.
 * TFLite's int8 RSQRT will be added here and chosen in prepare by dtype.
 */
#include <math.h>

#include "alloc.h"
#include "broadcast.h"

#define RSQRT_F32(x) (1.0f / sqrtf(x))
BC_DEFINE_UNARY(rsqrt_run_f32, float, float, RSQRT_F32)

static void rsqrt_free(void *p)
{
	nn_free(p);
}

static nn_status rsqrt_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	bc_unary *d = nn_calloc(1, sizeof(*d));
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by rsqrt_free, also when prepare fails */
	if ((st = bc_unary_prepare(g, node, BC_TYPE(NN_F32), d, err)) != NN_OK)
		return st;
	d->run = rsqrt_run_f32;
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_rsqrt = {
    .name = "RSQRT",
    .prepare = rsqrt_prepare,
    .eval = bc_unary_eval,
    .free = rsqrt_free,
};
