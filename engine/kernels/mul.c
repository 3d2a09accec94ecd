/* mul.c - MUL: a * b with NumPy-style broadcasting and a fused activation.
 *
 * DESIGN: as add.c (the broadcasting walk is broadcast.h's); one element is
 * float32: clamp(a * b, lo, hi), with MulOptions.fused_activation_function
 * (field 0);  int32: the low 32 bits of the product (computed unsigned, so
 * an overflow wraps instead of being undefined behaviour: the values come
 * from the model), then the integer clamp, NONE being the full int32 range -
 * as TFLite's int32 MUL.  uint8/int8 (MoveNet): TFLite's quantized
 * product, the same in its optimized and reference kernels: the two inputs
 * offset by their zero points, multiplied exactly in int32 (|product| <=
 * 255^2), rescaled by s_a * s_b / s_out (computed in float, as TFLite
 * does, then made a Q31 multiplier and exponent) with gemmlowp's double
 * rounding (MultiplyByQuantizedMultiplier, which also allows a multiplier
 * >= 1), plus the output zero point, clamped by the fused activation.  The
 * loops are broadcast.h's (bc_qmul: plain C, and AVX2 when available).
 */
#include <stdint.h>

#include "alloc.h"
#include "broadcast.h"

enum {
	MUL_OPTIONS = 21,	/* BuiltinOptions union index of MulOptions */
	MUL_OPT_ACTIVATION = 0, /* MulOptions.fused_activation_function */
};

typedef struct mul_data {
	bc_binary bc; /* first: bc_binary_eval reads node->data as a bc_binary */
	bc_act act;   /* float32/int32: the clamp, read by the loops through bc.params */
	bc_qmul q;    /* uint8/int8 (bc.params points here) */
} mul_data;

#define MUL_F32(x, y, p) nn_clampf((x) * (y), (p).lo, (p).hi)
BC_DEFINE_BINARY(mul_f32, float, bc_act, MUL_F32)
/* int32: computed in uint32 so it wraps (see DESIGN); converting back is
 * modular in GCC and Clang. */
#define MUL_I32(x, y, p) bc_clampi((int32_t)((uint32_t)(x) * (uint32_t)(y)), (p).ilo, (p).ihi)
BC_DEFINE_BINARY(mul_i32, int32_t, bc_act, MUL_I32)

/* uint8/int8: the multipliers, offsets and clamp of broadcast.h's bc_qmul. */
static nn_status mul_q_prepare(nn_graph *g, nn_node *node, int act, bc_qmul *p, nn_err *err)
{
	const nn_tensor *out = nn_out(g, node, 0);
	float sa, sb, so, real;
	int32_t za, zb, zo, qmin, qmax;
	nn_status st;

	if ((st = bc_quant_of(node, nn_in(g, node, 0), "input 0", &sa, &za, err)) != NN_OK ||
	    (st = bc_quant_of(node, nn_in(g, node, 1), "input 1", &sb, &zb, err)) != NN_OK ||
	    (st = bc_quant_of(node, out, "output", &so, &zo, err)) != NN_OK)
		return st;
	qm_dtype_range(out->type, &qmin, &qmax);
	p->off_a = -za;
	p->off_b = -zb;
	p->off_out = zo;
	real = sa * sb / so; /* float arithmetic, as TFLite's prepare */
	if (!qm_quantize_multiplier((double)real, &p->mul, &p->shift))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "rescaling multiplier %g * %g / %g is not finite", (double)sa, (double)sb,
				   (double)so);
	return qm_activation_range(node, act, so, zo, qmin, qmax, &p->lo, &p->hi, err);
}

static void mul_free(void *p)
{
	nn_free(p);
}

static nn_status mul_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	mul_data *d = nn_calloc(1, sizeof(*d));
	unsigned types;
	int act;
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by mul_free, also when prepare fails */
	d->bc.params = &d->act;
	types = BC_TYPE(NN_F32) | BC_TYPE(NN_I32) | BC_TYPE(NN_U8) | BC_TYPE(NN_I8);
	if ((st = bc_binary_prepare(g, node, types, MUL_OPTIONS, &d->bc, err)) != NN_OK)
		return st;
	act = nn_opt_i8(node, MUL_OPT_ACTIVATION, NN_ACT_NONE);
	switch (nn_out(g, node, 0)->type) {
	case NN_F32:
		if ((st = nn_activation_range_f32(node, act, &d->act.lo, &d->act.hi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, &mul_f32_loops);
		break;
	case NN_I32:
		if ((st = bc_act_range_i32(node, act, &d->act.ilo, &d->act.ihi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, &mul_i32_loops);
		break;
	case NN_U8:
	case NN_I8:
		if ((st = mul_q_prepare(g, node, act, &d->q, err)) != NN_OK)
			return st;
		d->bc.params = &d->q;
		bc_qmul_choose(node, &d->bc, nn_out(g, node, 0)->type);
		return NN_OK;
	default: /* bc_binary_prepare accepted only the types above */
		return nn_node_err(node, err, NN_ERR_INTERNAL, "no loop for type %s",
				   nn_dtype_name(nn_out(g, node, 0)->type));
	}
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_mul = {
    .name = "MUL",
    .prepare = mul_prepare,
    .eval = bc_binary_eval,
    .free = mul_free,
};
