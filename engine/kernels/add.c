/* add.c - ADD: a + b with NumPy-style broadcasting and a fused activation.
 *
 * DESIGN: the shared broadcasting machinery (broadcast.h) reduces the two
 * shapes to a plan and walks it; this file only says what one element is.
 * float32: out = clamp(a + b, lo, hi), as TFLite's float reference (one
 * rounding for the sum, then the clamp of AddOptions.fused_activation_function,
 * field 0).  int32 (MoveNet's index arithmetic): the same with an integer
 * clamp; NONE is the full int32 range.  The sum wraps like the hardware's
 * two's complement instead of being undefined behaviour in C: the values
 * come from the model and a hostile file must not be able to trigger UB.
 * uint8/int8 (MobileNet v2's residual ADDs, MoveNet's broadcast ADDs):
 * TFLite's general 8-bit addition, shared with SUB (broadcast.h, bc_qadd):
 * both inputs rescaled to a common scale with 20 bits of headroom, summed,
 * rescaled to the output with gemmlowp's double rounding, clamped by the
 * fused activation in the output's integers.  TFLite's optimized and
 * reference 8-bit ADD compute the same per element (its SIMD paths round
 * exactly like the scalar one); so do our plain C loop and the AVX2 one
 * chosen when the CPU has it (broadcast_avx2.c).
 */
#include <stdint.h>

#include "alloc.h"
#include "broadcast.h"

enum {
	ADD_OPTIONS = 11,	/* BuiltinOptions union index of AddOptions */
};

#define ADD_F32(x, y, p) nn_clampf((x) + (y), (p).lo, (p).hi)
BC_DEFINE_BINARY(add_f32, float, bc_act, ADD_F32)
/* int32: computed in uint32 so it wraps (see DESIGN); converting back is
 * modular in GCC and Clang. */
#define ADD_I32(x, y, p) bc_clampi((int32_t)((uint32_t)(x) + (uint32_t)(y)), (p).ilo, (p).ihi)
BC_DEFINE_BINARY(add_i32, int32_t, bc_act, ADD_I32)

static void add_free(void *p)
{
	nn_free(p);
}

static nn_status add_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	return bc_addsub_prepare(g, node, ADD_OPTIONS, 1, &add_f32_loops, &add_i32_loops, err);
}

const nn_kernel nn_k_add = {
    .name = "ADD",
    .prepare = add_prepare,
    .eval = bc_binary_eval,
    .free = add_free,
};
