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
 * options.
 * uint8/int8 (the SSD detector's class scores, MoveNet's heatmaps): TFLite's
 * optimized kernel (the builtin one; its reference differs) looks every
 * input byte up in a 256-entry table built at prepare by dequantizing each
 * possible input, applying 1 / (1 + expf(-x)) in float - without the
 * cut-offs of the float kernel - and requantizing with round-half-away and
 * a clamp (broadcast.h, bc_lut_build).  TFLite requires the output scale
 * to be exactly 1/256, and its other LOGISTIC kernels the zero point 0
 * (uint8) or -128 (int8), so that the output spans [0, 1); any other output
 * quantization is refused.
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

typedef struct logistic_data {
	bc_unary u;	    /* first: bc_unary_eval reads node->data as a bc_unary */
	uint8_t table[256]; /* uint8/int8: output byte of each input byte */
} logistic_data;

/* The function TFLite tabulates.  The float kernel's cut-offs would change
 * no entry: below x = -9 both forms are under 1.3e-4, which rounds to 0 in
 * steps of 1/256, and above 16.6 both are within 2^-23 of 1, which clamps
 * to the largest step. */
static float logistic_lut_fn(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

static nn_status logistic_prepare_q(nn_graph *g, nn_node *node, logistic_data *d, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *out = nn_out(g, node, 0);
	const int32_t want_zp = in->type == NN_U8 ? 0 : -128;
	float s_in, s_out;
	int32_t z_in, z_out;
	nn_status st;

	if ((st = bc_quant_of(node, in, "input", &s_in, &z_in, err)) != NN_OK ||
	    (st = bc_quant_of(node, out, "output", &s_out, &z_out, err)) != NN_OK)
		return st;
	if ((double)s_out != 1.0 / 256 || z_out != want_zp)
		return nn_node_err(
		    node, err, NN_ERR_BAD_MODEL,
		    "%s output must have scale 1/256 and zero point %d (TFLite requires it), not "
		    "scale %g and zero point %d",
		    nn_dtype_name(in->type), want_zp, (double)s_out, z_out);
	bc_lut_build(in, out, logistic_lut_fn, d->table);
	d->u.run = bc_lut_run;
	d->u.params = d->table;
	return NN_OK;
}

static void logistic_free(void *p)
{
	nn_free(p);
}

static nn_status logistic_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	logistic_data *d = nn_calloc(1, sizeof(*d));
	const unsigned types = BC_TYPE(NN_F32) | BC_TYPE(NN_U8) | BC_TYPE(NN_I8);
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by logistic_free, also when prepare fails */
	if ((st = bc_unary_prepare(g, node, types, &d->u, err)) != NN_OK)
		return st;
	node->impl = "ref";
	if (nn_in(g, node, 0)->type != NN_F32)
		return logistic_prepare_q(g, node, d, err);
	d->u.run = logistic_run_f32;
	return NN_OK;
}

const nn_kernel nn_k_logistic = {
    .name = "LOGISTIC",
    .prepare = logistic_prepare,
    .eval = bc_unary_eval,
    .free = logistic_free,
};
