/* div.c - DIV: a / b with NumPy-style broadcasting and a fused activation.
 *
 * DESIGN: as add.c (the broadcasting walk is broadcast.h's); one element is
 * clamp(a / b, lo, hi) in float32 with DivOptions.fused_activation_function
 * (field 0).  A zero divisor gives IEEE infinity or NaN, as in TFLite's
 * float kernel (the clamp of a NaN leaves it NaN).  int32 DIV (which TFLite
 * checks for zero divisors at run time) and quantized DIV are not supported
 * yet; they will be added here as further loops chosen in prepare by dtype.
 */
#include <stdint.h>

#include "alloc.h"
#include "broadcast.h"

enum {
	DIV_OPTIONS = 29,	/* BuiltinOptions union index of DivOptions */
	DIV_OPT_ACTIVATION = 0, /* DivOptions.fused_activation_function */
};

typedef struct div_data {
	bc_binary bc; /* first: bc_binary_eval reads node->data as a bc_binary */
	bc_act act;   /* the clamp, read by the loops through bc.params */
} div_data;

#define DIV_F32(x, y, p) nn_clampf((x) / (y), (p).lo, (p).hi)
BC_DEFINE_BINARY(div_f32, float, bc_act, DIV_F32)

static void div_free(void *p)
{
	nn_free(p);
}

static nn_status div_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	div_data *d = nn_calloc(1, sizeof(*d));
	int act;
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by div_free, also when prepare fails */
	d->bc.params = &d->act;
	if ((st = bc_binary_prepare(g, node, BC_TYPE(NN_F32), DIV_OPTIONS, &d->bc, err)) != NN_OK)
		return st;
	act = nn_opt_i8(node, DIV_OPT_ACTIVATION, NN_ACT_NONE);
	switch (nn_out(g, node, 0)->type) {
	case NN_F32:
		if ((st = nn_activation_range_f32(node, act, &d->act.lo, &d->act.hi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, &div_f32_loops);
		break;
	default: /* bc_binary_prepare accepted only the types above */
		return nn_node_err(node, err, NN_ERR_INTERNAL, "no loop for type %s",
				   nn_dtype_name(nn_out(g, node, 0)->type));
	}
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_div = {
    .name = "DIV",
    .prepare = div_prepare,
    .eval = bc_binary_eval,
    .free = div_free,
};
