/* squared_difference.c - SQUARED_DIFFERENCE: (a - b)^2 with NumPy-style
 * broadcasting.
 *
 * DESIGN: the broadcasting walk is broadcast.h's; one float32 element is
 * (a - b) * (a - b), rounded after the difference and after the product
 * exactly as TFLite's float reference computes it.  The op has no fused
 * activation and its options table (SquaredDifferenceOptions) is empty, so
 * options are not read.  int32 and quantized int8 variants (which TFLite
 * has) are not supported yet; they will be further loops chosen by dtype.
 */
#include "alloc.h"
#include "broadcast.h"

typedef struct sqdiff_params {
	char unused; /* the float loop needs no parameters */
} sqdiff_params;

typedef struct sqdiff_data {
	bc_binary bc; /* first: bc_binary_eval reads node->data as a bc_binary */
	sqdiff_params p;
} sqdiff_data;

#define SQDIFF_F32(x, y, p) (((x) - (y)) * ((x) - (y)))
BC_DEFINE_BINARY(sqdiff_f32, float, sqdiff_params, SQDIFF_F32)

static void sqdiff_free(void *p)
{
	nn_free(p);
}

static nn_status sqdiff_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	sqdiff_data *d = nn_calloc(1, sizeof(*d));
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by sqdiff_free, also when prepare fails */
	d->bc.params = &d->p;
	if ((st = bc_binary_prepare(g, node, BC_TYPE(NN_F32), 0, &d->bc, err)) != NN_OK)
		return st;
	bc_binary_choose(&d->bc, &sqdiff_f32_loops);
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_squared_difference = {
    .name = "SQUARED_DIFFERENCE",
    .prepare = sqdiff_prepare,
    .eval = bc_binary_eval,
    .free = sqdiff_free,
};
