/* tensor_json.c - JSON values <-> raw tensor bytes (see handlers.h).
 *
 * DESIGN: JSON tensors are client data: nesting is bounded (NN_MAX_RANK
 * levels for shapes, HND_JSON_MAX_DEPTH for flattening), element counts are
 * compared with what the destination holds before and while writing, and
 * every element is range-checked for its dtype - a 300 in a UINT8 tensor or
 * 1.5 in an INT32 one is a 400 naming the element, never a silent wrap or
 * truncation.  Floats are written as doubles by jansson; non-finite values
 * (no JSON spelling) become null.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"

#define HND_JSON_MAX_DEPTH 32 /* nested arrays accepted when flattening (KServe "also nested") */

bool hnd_json_shape(const json_t *v, int32_t *dims, int *rank, char *err, size_t errlen)
{
	const json_t *cur = v;
	int r = 0;

	/* the shape along the first elements ... */
	while (json_is_array(cur)) {
		if (r == NN_MAX_RANK) {
			snprintf(err, errlen, "nested deeper than %d levels", NN_MAX_RANK);
			return false;
		}
		if (json_array_size(cur) > INT32_MAX) {
			snprintf(err, errlen, "array too long");
			return false;
		}
		dims[r++] = (int32_t)json_array_size(cur);
		if (json_array_size(cur) == 0)
			break;
		cur = json_array_get(cur, 0);
	}
	*rank = r;
	/* ... then every element must agree with it (no ragged arrays) */
	{
		struct {
			const json_t *a;
			size_t i;
		} stack[NN_MAX_RANK + 1];
		int d = 0;

		if (r == 0)
			return json_is_number(v) || json_is_boolean(v)
				   ? true
				   : (snprintf(err, errlen, "expected a number or nested arrays of numbers"),
				      false);
		stack[0].a = v;
		stack[0].i = 0;
		while (d >= 0) {
			const json_t *a = stack[d].a;
			const json_t *e;

			if (json_array_size(a) != (size_t)dims[d]) {
				snprintf(err, errlen,
					 "ragged nested arrays: dimension %d has lengths %d and %zu", d,
					 dims[d], json_array_size(a));
				return false;
			}
			if (stack[d].i == json_array_size(a)) {
				d--;
				if (d >= 0)
					stack[d].i++;
				continue;
			}
			e = json_array_get(a, stack[d].i);
			if (d + 1 < r) {
				if (!json_is_array(e)) {
					snprintf(err, errlen,
						 "ragged nested arrays: expected an array at depth %d",
						 d + 1);
					return false;
				}
				d++;
				stack[d].a = e;
				stack[d].i = 0;
			} else {
				if (!json_is_number(e) && !json_is_boolean(e)) {
					snprintf(err, errlen, "expected numbers as elements (depth %d)",
						 d + 1);
					return false;
				}
				stack[d].i++;
			}
		}
	}
	return true;
}

typedef struct flat_ctx {
	nn_dtype type;
	uint64_t count, n; /* capacity, written */
	uint8_t *dst;
	char *err;
	size_t errlen;
} flat_ctx;

static bool put_int(flat_ctx *c, double d, bool integral, long long iv, bool is_int)
{
	double lo, hi;
	long long x;

	switch (c->type) {
	case NN_U8:
		lo = 0, hi = 255;
		break;
	case NN_I8:
		lo = -128, hi = 127;
		break;
	case NN_I16:
		lo = -32768, hi = 32767;
		break;
	case NN_I32:
		lo = -2147483648.0, hi = 2147483647.0;
		break;
	case NN_I64:
		lo = -9223372036854775808.0, hi = 9223372036854775807.0;
		break;
	case NN_BOOL:
		lo = 0, hi = 1;
		break;
	default:
		return false;
	}
	if (!integral) {
		snprintf(c->err, c->errlen, "element %llu: %g is not an integer (%s)",
			 (unsigned long long)c->n, d, hnd_kserve_dtype(c->type));
		return false;
	}
	if (is_int) {
		x = iv;
		if ((c->type != NN_I64 && ((double)x < lo || (double)x > hi))) {
			snprintf(c->err, c->errlen, "element %llu: %lld is out of range for %s",
				 (unsigned long long)c->n, x, hnd_kserve_dtype(c->type));
			return false;
		}
	} else {
		if (!(d >= lo && d < hi + 1.0) || (c->type == NN_I64 && d >= 9223372036854775807.0)) {
			snprintf(c->err, c->errlen, "element %llu: %g is out of range for %s",
				 (unsigned long long)c->n, d, hnd_kserve_dtype(c->type));
			return false;
		}
		x = (long long)d;
	}
	switch (c->type) {
	case NN_U8:
		c->dst[c->n] = (uint8_t)x;
		break;
	case NN_BOOL:
		c->dst[c->n] = (uint8_t)x;
		break;
	case NN_I8:
		((int8_t *)c->dst)[c->n] = (int8_t)x;
		break;
	case NN_I16:
		((int16_t *)c->dst)[c->n] = (int16_t)x;
		break;
	case NN_I32:
		((int32_t *)c->dst)[c->n] = (int32_t)x;
		break;
	case NN_I64:
		((int64_t *)c->dst)[c->n] = (int64_t)x;
		break;
	default:
		return false;
	}
	return true;
}

static bool put_elem(flat_ctx *c, const json_t *e)
{
	double d;
	bool is_int = json_is_integer(e);
	long long iv = is_int ? (long long)json_integer_value(e) : 0;

	if (c->n >= c->count) {
		snprintf(c->err, c->errlen, "more elements than the %llu the shape holds",
			 (unsigned long long)c->count);
		return false;
	}
	if (json_is_boolean(e)) {
		is_int = true;
		iv = json_is_true(e);
		d = (double)iv;
	} else if (json_is_number(e)) {
		d = json_number_value(e);
	} else {
		snprintf(c->err, c->errlen, "element %llu is not a number", (unsigned long long)c->n);
		return false;
	}
	switch (c->type) {
	case NN_F32:
		((float *)c->dst)[c->n] = (float)d;
		break;
	case NN_F64:
		((double *)c->dst)[c->n] = d;
		break;
	case NN_F16:
		((uint16_t *)c->dst)[c->n] = hnd_f32_to_f16((float)d);
		break;
	case NN_BOOL:
		if (!json_is_boolean(e) && !(is_int && (iv == 0 || iv == 1))) {
			snprintf(c->err, c->errlen, "element %llu: BOOL takes true, false, 0 or 1",
				 (unsigned long long)c->n);
			return false;
		}
		/* fall through */
	default:
		if (!put_int(c, d, is_int || d == floor(d), iv, is_int))
			return false;
	}
	c->n++;
	return true;
}

static bool flatten(flat_ctx *c, const json_t *v, int depth)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(v))
		return put_elem(c, v);
	if (depth >= HND_JSON_MAX_DEPTH) {
		snprintf(c->err, c->errlen, "arrays nested deeper than %d levels", HND_JSON_MAX_DEPTH);
		return false;
	}
	json_array_foreach(v, i, e)
	{
		if (!flatten(c, e, depth + 1))
			return false;
	}
	return true;
}

bool hnd_json_to_tensor(const json_t *v, nn_dtype type, uint64_t count, void *dst, char *err, size_t errlen)
{
	flat_ctx c = {type, count, 0, dst, err, errlen};

	switch (type) {
	case NN_F32:
	case NN_F64:
	case NN_F16:
	case NN_U8:
	case NN_I8:
	case NN_I16:
	case NN_I32:
	case NN_I64:
	case NN_BOOL:
		break;
	default:
		snprintf(err, errlen, "datatype %s cannot be sent as JSON numbers", nn_dtype_name(type));
		return false;
	}
	if (!flatten(&c, v, 0))
		return false;
	if (c.n != count) {
		snprintf(err, errlen, "%llu elements given, the shape needs %llu", (unsigned long long)c.n,
			 (unsigned long long)count);
		return false;
	}
	return true;
}

static json_t *elem_json(const void *data, nn_dtype type, uint64_t i)
{
	double d;

	switch (type) {
	case NN_F32:
		d = ((const float *)data)[i];
		break;
	case NN_F64:
		d = ((const double *)data)[i];
		break;
	case NN_F16:
		d = hnd_f16_to_f32(((const uint16_t *)data)[i]);
		break;
	case NN_U8:
		return json_integer(((const uint8_t *)data)[i]);
	case NN_I8:
		return json_integer(((const int8_t *)data)[i]);
	case NN_I16:
		return json_integer(((const int16_t *)data)[i]);
	case NN_I32:
		return json_integer(((const int32_t *)data)[i]);
	case NN_I64:
		return json_integer(((const int64_t *)data)[i]);
	case NN_BOOL:
		return json_boolean(((const uint8_t *)data)[i] != 0);
	default:
		return NULL;
	}
	return isfinite(d) ? json_real(d) : json_null();
}

json_t *hnd_tensor_to_json_flat(const void *data, nn_dtype type, uint64_t count)
{
	json_t *a;

	if (!hnd_kserve_dtype(type) || type == NN_STRING)
		return NULL;
	a = json_array();
	for (uint64_t i = 0; i < count; i++)
		json_array_append_new(a, elem_json(data, type, i));
	return a;
}

static json_t *nested(const void *data, nn_dtype type, const int32_t *dims, int rank, uint64_t *pos)
{
	json_t *a;

	if (rank == 0)
		return elem_json(data, type, (*pos)++);
	a = json_array();
	for (int32_t i = 0; i < dims[0]; i++)
		json_array_append_new(a, nested(data, type, dims + 1, rank - 1, pos));
	return a;
}

json_t *hnd_tensor_to_json_nested(const void *data, nn_dtype type, const int32_t *dims, int rank)
{
	uint64_t pos = 0;

	if (!hnd_kserve_dtype(type) || type == NN_STRING)
		return NULL;
	return nested(data, type, dims, rank, &pos);
}

/* IEEE 754 binary16, round to nearest even (what numpy's astype does). */
uint16_t hnd_f32_to_f16(float f)
{
	uint32_t x;
	uint32_t sign, mant;
	int32_t exp;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000u;
	exp = (int32_t)((x >> 23) & 0xff);
	mant = x & 0x7fffffu;
	if (exp == 0xff) /* inf / nan (keep nan a nan) */
		return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
	exp = exp - 127 + 15;
	if (exp >= 0x1f)
		return (uint16_t)(sign | 0x7c00u); /* overflow -> inf */
	if (exp <= 0) {				   /* subnormal or zero */
		uint32_t m, shift, half, r;
		if (exp < -10)
			return (uint16_t)sign;
		m = mant | 0x800000u;
		shift = (uint32_t)(14 - exp);
		half = 1u << (shift - 1);
		r = m >> shift;
		if ((m & ((1u << shift) - 1)) > half || ((m & ((1u << shift) - 1)) == half && (r & 1)))
			r++;
		return (uint16_t)(sign | r);
	}
	{
		uint32_t r = ((uint32_t)exp << 10) | (mant >> 13);
		uint32_t rest = mant & 0x1fffu;
		if (rest > 0x1000u || (rest == 0x1000u && (r & 1)))
			r++; /* may carry into the exponent, which is the correct rounding */
		return (uint16_t)(sign | r);
	}
}

float hnd_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
	float f;

	if (exp == 0) {
		f = ldexpf((float)mant, -24);
		return sign ? -f : f;
	}
	if (exp == 0x1f)
		x = sign | 0x7f800000u | (mant << 13);
	else
		x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
	memcpy(&f, &x, 4);
	return f;
}
