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
};

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
	return bc_addsub_prepare(g, node, SUB_OPTIONS, -1, &sub_f32_loops, &sub_i32_loops, err);
}

const nn_kernel nn_k_sub = {
    .name = "SUB",
    .prepare = sub_prepare,
    .eval = bc_binary_eval,
    .free = sub_free,
};
