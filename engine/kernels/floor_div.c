/* floor_div.c - FLOOR_DIV: a / b rounded toward minus infinity, broadcast.
 *
 * DESIGN: TFLite computes floor(double(a) / double(b)) and converts back to
 * the element type, for int32 and float32 alike; we do the same, so float32
 * results are the double quotient's floor rounded once to float (not
 * floorf of a float quotient, which can round up onto an integer first),
 * and int32 results are exact floors (-7 / 2 = -4, 7 / -2 = -4).  The one
 * int32 quotient out of range, INT32_MIN / -1, saturates to INT32_MAX
 * (undefined in TFLite).  Broadcasting is NumPy's (broadcast.h plans the
 * walk; TFLite's kernel stops at 4-D, we allow NN_MAX_RANK).
 * A zero divisor is an error for both types, as in TFLite (which checks
 * every element of the divisor before dividing): a constant divisor with a
 * zero is refused at load, a computed one fails the invoke with
 * NN_ERR_RUNTIME naming the element.  The op has no options.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>

#include "alloc.h"
#include "broadcast.h"

enum { FLOOR_DIV_OPTIONS = 65 }; /* BuiltinOptions union index of FloorDivOptions */

typedef struct fdiv_data {
	bc_binary bc;	/* first: bc_binary_eval reads node->data as a bc_binary */
	nn_dtype type;	/* int32 or float32 */
	int64_t n_div;	/* elements of the divisor */
	bool div_const; /* divisor checked at prepare */
	int dummy;	/* the loops' (unused) parameter block */
} fdiv_data;

static inline int32_t fdiv_i32(int32_t a, int32_t b)
{
	double q = floor((double)a / (double)b);
	return q >= 2147483647.0 ? INT32_MAX : (int32_t)q; /* only INT32_MIN / -1 is above */
}

#define FDIV_I32(x, y, p) fdiv_i32((x), (y))
#define FDIV_F32(x, y, p) ((float)floor((double)(x) / (double)(y)))
BC_DEFINE_BINARY(fdiv_run_i32, int32_t, int, FDIV_I32)
BC_DEFINE_BINARY(fdiv_run_f32, float, int, FDIV_F32)

/* Index of the first zero of the divisor, or -1. */
static int64_t fdiv_find_zero(nn_dtype t, const void *p, int64_t n)
{
	if (t == NN_I32) {
		const int32_t *b = p;
		for (int64_t i = 0; i < n; i++)
			if (b[i] == 0)
				return i;
	} else {
		const float *b = p;
		for (int64_t i = 0; i < n; i++)
			if (b[i] == 0.0f)
				return i;
	}
	return -1;
}

static void fdiv_free(void *p)
{
	nn_free(p);
}

static nn_status fdiv_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	fdiv_data *d = nn_calloc(1, sizeof(*d));
	const nn_tensor *b;
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by fdiv_free, also when prepare fails */
	d->bc.params = &d->dummy;
	if ((st = bc_binary_prepare(g, node, BC_TYPE(NN_F32) | BC_TYPE(NN_I32), FLOOR_DIV_OPTIONS, &d->bc,
				    err)) != NN_OK)
		return st;
	b = nn_in(g, node, 1);
	d->type = b->type;
	d->n_div = nn_tensor_count(b);
	bc_binary_choose(&d->bc, d->type == NN_I32 ? &fdiv_run_i32_loops : &fdiv_run_f32_loops);
	if (b->kind == NN_TENSOR_CONST) {
		int64_t z = fdiv_find_zero(d->type, b->data, d->n_div);
		if (z >= 0)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "constant divisor element %" PRId64 " is 0", z);
		d->div_const = true;
	}
	node->impl = "ref";
	return NN_OK;
}

static nn_status fdiv_eval(const nn_node *node, nn_exec *ex)
{
	const fdiv_data *d = node->data;

	if (!d->div_const) {
		int64_t z = fdiv_find_zero(d->type, nn_ex_in(ex, node, 1)->data, d->n_div);
		if (z >= 0)
			return nn_err_set(ex->err, NN_ERR_RUNTIME,
					  "division by zero: divisor element %" PRId64 " is 0", z);
	}
	return bc_binary_eval(node, ex);
}

const nn_kernel nn_k_floor_div = {
    .name = "FLOOR_DIV",
    .prepare = fdiv_prepare,
    .eval = fdiv_eval,
    .free = fdiv_free,
};
