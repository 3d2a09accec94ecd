/* sub.c - SUB: a - b with NumPy-style broadcasting and a fused activation.
 *
 * DESIGN: as add.c (the broadcasting walk is broadcast.h's); one element is
 * float32: clamp(a - b, lo, hi), with SubOptions.fused_activation_function
 * (field 0);  int32: the difference wrapping in two's complement (never C's
 * undefined signed overflow: the values come from the model), then the
 * integer clamp, NONE being the full int32 range - as TFLite's int32 SUB.
 * uint8/int8 (MoveNet's preprocessing and keypoint arithmetic): TFLite
 * runs its 8-bit ADD with the second input's multiplier negated, and so do
 * we (broadcast.h, bc_qadd with sign -1): the same roundings as ADD.
 */
#include <stdint.h>

#include "alloc.h"
#include "broadcast.h"

enum {
	SUB_OPTIONS = 28,	/* BuiltinOptions union index of SubOptions */
	SUB_OPT_ACTIVATION = 0, /* SubOptions.fused_activation_function */
};

typedef struct sub_data {
	bc_binary bc; /* first: bc_binary_eval reads node->data as a bc_binary */
	bc_act act;   /* float32/int32: the clamp, read by the loops through bc.params */
	bc_qadd q;    /* uint8/int8: multipliers, offsets and clamp (bc.params points here) */
} sub_data;

#define SUB_F32(x, y, p) nn_clampf((x) - (y), (p).lo, (p).hi)
BC_DEFINE_BINARY(sub_f32, float, bc_act, SUB_F32)
/* int32: computed in uint32 so it wraps (see DESIGN); converting back is
 * modular in GCC and Clang. */
#define SUB_I32(x, y, p) bc_clampi((int32_t)((uint32_t)(x) - (uint32_t)(y)), (p).ilo, (p).ihi)
BC_DEFINE_BINARY(sub_i32, int32_t, bc_act, SUB_I32)

static void sub_free(void *p)
{
	nn_free(p);
}

static nn_status sub_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	sub_data *d = nn_calloc(1, sizeof(*d));
	unsigned types;
	int act;
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by sub_free, also when prepare fails */
	d->bc.params = &d->act;
	types = BC_TYPE(NN_F32) | BC_TYPE(NN_I32) | BC_TYPE(NN_U8) | BC_TYPE(NN_I8);
	if ((st = bc_binary_prepare(g, node, types, SUB_OPTIONS, &d->bc, err)) != NN_OK)
		return st;
	act = nn_opt_i8(node, SUB_OPT_ACTIVATION, NN_ACT_NONE);
	switch (nn_out(g, node, 0)->type) {
	case NN_F32:
		if ((st = nn_activation_range_f32(node, act, &d->act.lo, &d->act.hi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, &sub_f32_loops);
		break;
	case NN_I32:
		if ((st = bc_act_range_i32(node, act, &d->act.ilo, &d->act.ihi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, &sub_i32_loops);
		break;
	case NN_U8:
	case NN_I8:
		if ((st = bc_qadd_prepare(g, node, act, -1, &d->q, err)) != NN_OK)
			return st;
		d->bc.params = &d->q;
		bc_qadd_choose(node, &d->bc, nn_out(g, node, 0)->type);
		return NN_OK;
	default: /* bc_binary_prepare accepted only the types above */
		return nn_node_err(node, err, NN_ERR_INTERNAL, "no loop for type %s",
				   nn_dtype_name(nn_out(g, node, 0)->type));
	}
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_sub = {
    .name = "SUB",
    .prepare = sub_prepare,
    .eval = bc_binary_eval,
    .free = sub_free,
};
