/* logistic.c - LOGISTIC: the sigmoid 1 / (1 + e^-x), elementwise.
 *
 * DESIGN: float32 follows TFLite's float reference to the letter, cut-offs
 * included: above 16.619047164916992 the result is exactly 1 (1 + e^-x
 * rounds to 1 in float there), below -9 it is e^x (the approximation
 * TFLite's reference shares with Eigen's; its relative error is at most
 * e^-9 = 1.2e-4, and we keep it so that outputs match TFLite's), and in
 * between 1 / (1 + expf(-x)).  expf is
 * libm's, as TFLite's reference uses std::exp; the loop is split across
 * threads for large tensors (broadcast.h's unary walk).  The op has no
 * options.  Quantized variants (uint8/int8, a table lookup in TFLite) will
 * be added here and chosen in prepare by dtype.
 */
#include <math.h>

#include "alloc.h"
#include "broadcast.h"

static inline float logistic_f32(float x)
{
	if (x > 16.619047164916992188f)
		return 1.0f;
	if (x < -9.0f)
		return expf(x);
	return 1.0f / (1.0f + expf(-x));
}

#define LOGISTIC_F32(x) logistic_f32(x)
BC_DEFINE_UNARY(logistic_run_f32, float, float, LOGISTIC_F32)

static void logistic_free(void *p)
{
	nn_free(p);
}

static nn_status logistic_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	bc_unary *d = nn_calloc(1, sizeof(*d));
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by logistic_free, also when prepare fails */
	if ((st = bc_unary_prepare(g, node, BC_TYPE(NN_F32), d, err)) != NN_OK)
		return st;
	d->run = logistic_run_f32;
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_logistic = {
    .name = "LOGISTIC",
    .prepare = logistic_prepare,
    .eval = bc_unary_eval,
    .free = logistic_free,
};
