/* sqrt.c - SQRT: square root, elementwise.
 *
 * DESIGN: float32 is sqrtf per element, as TFLite's std::sqrt: correctly
 * rounded by IEEE 754, a negative input gives NaN, -0 gives -0.  (GCC does
 * not vectorise sqrtf without -fno-math-errno, so the loop runs one
 * sqrtss per element; SQRT is rare and small in the models we serve.)  The
 * op has no options.  A quantized variant will be added here and chosen in
 * prepare by dtype.
 */
#include <math.h>

#include "alloc.h"
#include "broadcast.h"

#define SQRT_F32(x) sqrtf(x)
BC_DEFINE_UNARY(sqrt_run_f32, float, float, SQRT_F32)

static void sqrt_free(void *p)
{
	nn_free(p);
}

static nn_status sqrt_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	bc_unary *d = nn_calloc(1, sizeof(*d));
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by sqrt_free, also when prepare fails */
	if ((st = bc_unary_prepare(g, node, BC_TYPE(NN_F32), d, err)) != NN_OK)
		return st;
	d->run = sqrt_run_f32;
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_sqrt = {
    .name = "SQRT",
    .prepare = sqrt_prepare,
    .eval = bc_unary_eval,
    .free = sqrt_free,
};
