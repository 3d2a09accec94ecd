/* mul.c - MUL: a * b with NumPy-style broadcasting and a fused activation.
 *
 * DESIGN: as add.c (the broadcasting walk is broadcast.h's); one element is
 * float32: clamp(a * b, lo, hi), with MulOptions.fused_activation_function
 * (field 0);  int32: the low 32 bits of the product (computed unsigned, so
 * an overflow wraps instead of being undefined behaviour: the values come
 * from the model), then the integer clamp, NONE being the full int32 range -
 * as TFLite's int32 MUL.  Integer quantized (uint8/int8) variants will be
 * added here as further loops chosen in prepare by dtype.
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
	bc_act act;   /* the clamp, read by the loops through bc.params */
} mul_data;

#define MUL_F32(x, y, p) nn_clampf((x) * (y), (p).lo, (p).hi)
BC_DEFINE_BINARY(mul_f32, float, bc_act, MUL_F32)
/* int32: computed in uint32 so it wraps (see DESIGN); converting back is
 * modular in GCC and Clang. */
#define MUL_I32(x, y, p) bc_clampi((int32_t)((uint32_t)(x) * (uint32_t)(y)), (p).ilo, (p).ihi)
BC_DEFINE_BINARY(mul_i32, int32_t, bc_act, MUL_I32)

static void mul_free(void *p)
{
	nn_free(p);
}

static nn_status mul_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	mul_data *d = nn_calloc(1, sizeof(*d));
	int act;
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by mul_free, also when prepare fails */
	d->bc.params = &d->act;
	if ((st = bc_binary_prepare(g, node, BC_TYPE(NN_F32) | BC_TYPE(NN_I32), MUL_OPTIONS, &d->bc, err)) !=
	    NN_OK)
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
