/* cast.c - CAST: convert every element to another type.
 *
 * DESIGN: TFLite's CAST is a C++ static_cast per element between the
 * tensors' own types (CastOptions are not consulted by its kernel; when
 * present here they must agree with the tensors).  Types: float32,
 * float64, int64, int32, int16, int8, uint8, bool.  The conversions, which
 * match static_cast wherever that is defined:
 *   - to bool: x != 0 (a NaN is true); from bool: 0 or 1;
 *   - integer to integer: two's complement wrap-around (int32 300 -> uint8
 *     44), what every C++ compiler does;
 *   - integer to float: rounded to nearest (int64 straight to float, never
 *     through double, which could round twice);
 *   - float to integer: truncation toward zero.  Out of range and NaN are
 *     undefined in C++; we do what TFLite's WebAssembly build (the oracle
 *     of the goldens) was seen to do, which is also what x86's cvttss2si
 *     does: convert to 32 bits - signed, or unsigned for uint8 - where an
 *     unrepresentable value (or NaN) gives INT32_MIN (0 when unsigned),
 *     then wrap to the narrower type: 255.9 -> int8 -1, 1e10 -> int32
 *     INT32_MIN and int8 0, -1.7 -> uint8 0, 300.5 -> uint8 44; int64
 *     gives INT64_MIN when out of range;
 *   - float64 to float32 rounds to nearest.
 * Each element is read into a small tagged value (int64 or double - every
 * float32 and int value fits exactly) and written from it.  A constant
 * input is converted once at prepare into a graph-owned constant.
 * Quantization parameters are ignored, as in TFLite: CAST converts stored
 * values, not real ones.  Flat ranges are split across threads.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "kernel.h"

enum { CAST_OPT_IN_TYPE = 0, CAST_OPT_OUT_TYPE = 1 };

typedef struct cast_data {
	nn_dtype from, to;
	int64_t count;
	bool folded; /* output converted at prepare */
} cast_data;

typedef struct cast_ctx {
	const cast_data *d;
	const void *in;
	void *out;
} cast_ctx;

/* One element on its way: an integer or a float. */
typedef struct cast_val {
	bool is_float;
	int64_t i;
	double f;
} cast_val;

static bool cast_type_ok(nn_dtype t)
{
	switch (t) {
	case NN_F32:
	case NN_F64:
	case NN_I64:
	case NN_I32:
	case NN_I16:
	case NN_I8:
	case NN_U8:
	case NN_BOOL:
		return true;
	default:
		return false;
	}
}

static inline cast_val cast_load(nn_dtype t, const void *p, int64_t i)
{
	cast_val v = {false, 0, 0.0};

	switch (t) {
	case NN_F32:
		v.is_float = true;
		v.f = ((const float *)p)[i];
		break;
	case NN_F64:
		v.is_float = true;
		v.f = ((const double *)p)[i];
		break;
	case NN_I64:
		v.i = ((const int64_t *)p)[i];
		break;
	case NN_I32:
		v.i = ((const int32_t *)p)[i];
		break;
	case NN_I16:
		v.i = ((const int16_t *)p)[i];
		break;
	case NN_I8:
		v.i = ((const int8_t *)p)[i];
		break;
	case NN_U8:
		v.i = ((const uint8_t *)p)[i];
		break;
	case NN_BOOL:
		v.i = ((const uint8_t *)p)[i] != 0;
		break;
	default:
		break;
	}
	return v;
}

/* Float to a signed 32-bit integer, truncating; unrepresentable -> INT32_MIN. */
static inline int32_t cast_f2i32(double f)
{
	if (!(f > -2147483649.0 && f < 2147483648.0)) /* also NaN */
		return INT32_MIN;
	return (int32_t)f;
}

/* Float to an unsigned 32-bit integer, truncating; unrepresentable -> 0. */
static inline uint32_t cast_f2u32(double f)
{
	if (!(f > -1.0 && f < 4294967296.0))
		return 0;
	return (uint32_t)f;
}

/* Float to int64, truncating; unrepresentable -> INT64_MIN (2^63 is exact). */
static inline int64_t cast_f2i64(double f)
{
	if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t)f;
}

static inline void cast_store(nn_dtype t, void *p, int64_t i, cast_val v)
{
	switch (t) {
	case NN_F32:
		((float *)p)[i] = v.is_float ? (float)v.f : (float)v.i;
		break;
	case NN_F64:
		((double *)p)[i] = v.is_float ? v.f : (double)v.i;
		break;
	case NN_BOOL:
		((uint8_t *)p)[i] = v.is_float ? v.f != 0.0 : v.i != 0;
		break;
	case NN_I64:
		((int64_t *)p)[i] = v.is_float ? cast_f2i64(v.f) : v.i;
		break;
	case NN_I32:
		((int32_t *)p)[i] = v.is_float ? cast_f2i32(v.f) : (int32_t)(uint32_t)v.i;
		break;
	case NN_I16:
		((int16_t *)p)[i] = (int16_t)(uint16_t)(v.is_float ? (int64_t)cast_f2i32(v.f) : v.i);
		break;
	case NN_I8:
		((int8_t *)p)[i] = (int8_t)(uint8_t)(v.is_float ? (int64_t)cast_f2i32(v.f) : v.i);
		break;
	case NN_U8:
		((uint8_t *)p)[i] = (uint8_t)(v.is_float ? (int64_t)cast_f2u32(v.f) : v.i);
		break;
	default:
		break;
	}
}

static void cast_range(const cast_data *d, const void *in, void *out, int64_t e0, int64_t e1)
{
	/* the two conversions of MoveNet's graph get loops the compiler can
	 * vectorise; every other pair goes through the tagged value */
	if (d->from == NN_U8 && d->to == NN_F32) {
		const uint8_t *a = in;
		float *o = out;
		for (int64_t i = e0; i < e1; i++)
			o[i] = (float)a[i];
		return;
	}
	if (d->from == NN_I32 && d->to == NN_F32) {
		const int32_t *a = in;
		float *o = out;
		for (int64_t i = e0; i < e1; i++)
			o[i] = (float)a[i];
		return;
	}
	for (int64_t i = e0; i < e1; i++)
		cast_store(d->to, out, i, cast_load(d->from, in, i));
}

static void cast_task(void *ctx_, int64_t e0, int64_t e1)
{
	const cast_ctx *c = ctx_;

	cast_range(c->d, c->in, c->out, e0, e1);
}

static void cast_free(void *p)
{
	nn_free(p);
}

static nn_status cast_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	nn_tensor *out;
	cast_data *d;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	out = nn_out(g, node, 0);
	if (!cast_type_ok(in->type))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported",
				   nn_dtype_name(in->type));
	if (!cast_type_ok(out->type))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "output type %s is not supported",
				   nn_dtype_name(out->type));
	if (node->op->has_options) {
		const fb_table *o = &node->op->options;
		if (fb_has(o, CAST_OPT_IN_TYPE) && (nn_dtype)fb_i8(o, CAST_OPT_IN_TYPE, 0) != in->type)
			return nn_node_err(
			    node, err, NN_ERR_BAD_MODEL, "in_data_type %s disagrees with the input (%s)",
			    nn_dtype_name((nn_dtype)fb_i8(o, CAST_OPT_IN_TYPE, 0)), nn_dtype_name(in->type));
		if (fb_has(o, CAST_OPT_OUT_TYPE) && (nn_dtype)fb_i8(o, CAST_OPT_OUT_TYPE, 0) != out->type)
			return nn_node_err(node, err, NN_ERR_BAD_MODEL,
					   "out_data_type %s disagrees with the output (%s)",
					   nn_dtype_name((nn_dtype)fb_i8(o, CAST_OPT_OUT_TYPE, 0)),
					   nn_dtype_name(out->type));
	}
	if ((st = nn_set_output(g, node, 0, out->type, in->rank, in->dims, err)) != NN_OK)
		return st;

	d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	d->from = in->type;
	d->to = out->type;
	d->count = nn_tensor_count(in);
	node->impl = "ref";
	if (in->kind == NN_TENSOR_CONST) {
		void *p = nn_make_const(g, out);
		if (!p)
			return nn_node_err(node, err, NN_ERR_NO_MEMORY,
					   "out of memory for a %zu-byte constant", out->bytes);
		cast_range(d, in->data, p, 0, d->count);
		d->folded = true;
		node->impl = "const";
	}
	return NN_OK;
}

static nn_status cast_eval(const nn_node *node, nn_exec *ex)
{
	const cast_data *d = node->data;
	cast_ctx c = {d, nn_ex_in(ex, node, 0)->data, nn_ex_out(ex, node, 0)->data};

	if (!d->folded)
		nn_parallel_range(ex, d->count, 32768, cast_task, &c);
	return NN_OK;
}

const nn_kernel nn_k_cast = {
    .name = "CAST",
    .prepare = cast_prepare,
    .eval = cast_eval,
    .free = cast_free,
};
