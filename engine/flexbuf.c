/* flexbuf.c - the FlexBuffers reader (see flexbuf.h for the format).
 *
 * DESIGN: every access goes through fx_rd_* which take the buffer size and
 * refuse a read that would leave it; offsets point backwards, so an offset
 * larger than its own slot position is refused before the subtraction.
 * Counts are checked by division (count <= bytes left / width) so no
 * product can overflow.  Readers return false and the public scalar
 * accessors fall back to the caller's default: a hostile buffer costs the
 * caller a "missing option" message, never a wild read.
 */
#include "flexbuf.h"

#include <math.h>
#include <string.h>

static bool fx_width_ok(unsigned w)
{
	return w == 1 || w == 2 || w == 4 || w == 8;
}

/* Little-endian unsigned of W bytes at POS. */
static bool fx_rd_u(const uint8_t *b, size_t size, size_t pos, unsigned w, uint64_t *v)
{
	if (!fx_width_ok(w) || pos > size || w > size - pos)
		return false;
	uint64_t x = 0;
	for (unsigned i = 0; i < w; i++)
		x |= (uint64_t)b[pos + i] << (8 * i);
	*v = x;
	return true;
}

static bool fx_rd_i(const uint8_t *b, size_t size, size_t pos, unsigned w, int64_t *v)
{
	uint64_t u;
	if (!fx_rd_u(b, size, pos, w, &u))
		return false;
	if (w < 8 && (u >> (8 * w - 1)) & 1)
		u |= ~(uint64_t)0 << (8 * w); /* sign-extend */
	*v = (int64_t)u;
	return true;
}

/* Floats are 4 or 8 bytes wide (the format has no narrower float we accept). */
static bool fx_rd_f(const uint8_t *b, size_t size, size_t pos, unsigned w, double *v)
{
	uint64_t u;
	if ((w != 4 && w != 8) || !fx_rd_u(b, size, pos, w, &u))
		return false;
	if (w == 4) {
		uint32_t u32 = (uint32_t)u;
		float f;
		memcpy(&f, &u32, 4);
		*v = f;
	} else {
		memcpy(v, &u, 8);
	}
	return true;
}

/* Where an offset-typed value lives: its slot holds a backwards offset. */
static bool fx_target(const fx_ref *r, size_t *target)
{
	uint64_t off;
	if (!fx_rd_u(r->buf, r->size, r->pos, r->parent_width, &off) || off > r->pos)
		return false;
	*target = r->pos - (size_t)off;
	return true;
}

/* Length prefix of a vector/map/string whose data starts at TARGET, with
 * elements of W bytes: checks the elements fit in the buffer. */
static bool fx_prefixed_len(const fx_ref *r, size_t target, unsigned w, uint64_t *n)
{
	if (target < w || !fx_rd_u(r->buf, r->size, target - w, w, n))
		return false;
	return *n <= (r->size - target) / w;
}

nn_status fx_root(const uint8_t *buf, size_t size, fx_ref *out, nn_err *err)
{
	if (!buf || size < 3)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "flexbuffer of %zu bytes is too short (needs at least 3)",
				  size);
	unsigned w = buf[size - 1];
	uint8_t packed = buf[size - 2];
	if (!fx_width_ok(w))
		return nn_err_set(err, NN_ERR_BAD_MODEL, "flexbuffer root width %u is not 1, 2, 4 or 8", w);
	if (size - 2 < w)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "flexbuffer of %zu bytes cannot hold a %u-byte root", size, w);
	out->buf = buf;
	out->size = size;
	out->pos = size - 2 - w;
	out->parent_width = (uint8_t)w;
	out->byte_width = (uint8_t)(1u << (packed & 3));
	out->type = packed >> 2;
	return NN_OK;
}

/* Typed-vector element type of a vector type, or FX_NULL; *fixed = its
 * fixed length (2..4) or 0 when the vector has a length prefix. */
static uint8_t fx_typed_elem(uint8_t t, unsigned *fixed)
{
	*fixed = 0;
	switch (t) {
	case FX_VECTOR_INT:
		return FX_INT;
	case FX_VECTOR_UINT:
		return FX_UINT;
	case FX_VECTOR_FLOAT:
		return FX_FLOAT;
	case FX_VECTOR_KEY:
		return FX_KEY;
	case FX_VECTOR_STRING_DEPRECATED:
		return FX_STRING;
	case FX_VECTOR_BOOL:
		return FX_BOOL;
	default:
		break;
	}
	if (t >= FX_VECTOR_INT2 && t <= FX_VECTOR_FLOAT4) {
		*fixed = 2 + (t - FX_VECTOR_INT2) / 3;
		return (uint8_t)(FX_INT + (t - FX_VECTOR_INT2) % 3);
	}
	return FX_NULL;
}

/* Element count and data start of a vector or map; false when malformed.
 * Untyped vectors and maps also need their n type bytes after the data. */
static bool fx_vec_layout(const fx_ref *r, size_t *target, uint64_t *n, uint8_t *elem, unsigned *fixed)
{
	unsigned w = r->byte_width;
	if (!fx_width_ok(w) || !fx_target(r, target))
		return false;
	*elem = FX_NULL;
	*fixed = 0;
	if (r->type == FX_VECTOR || r->type == FX_MAP) {
		if (!fx_prefixed_len(r, *target, w, n))
			return false;
		/* n*w fits (checked above); the types need n more bytes */
		return *n <= r->size - *target - *n * w;
	}
	*elem = fx_typed_elem(r->type, fixed);
	if (*elem == FX_NULL)
		return false;
	if (*fixed) {
		*n = *fixed;
		return *target <= r->size && *n <= (r->size - *target) / w;
	}
	return fx_prefixed_len(r, *target, w, n);
}

size_t fx_size(const fx_ref *ref)
{
	size_t target;
	uint64_t n;
	uint8_t elem;
	unsigned fixed;
	return fx_vec_layout(ref, &target, &n, &elem, &fixed) ? (size_t)n : 0;
}

bool fx_vec_at(const fx_ref *vec, size_t i, fx_ref *out)
{
	size_t target;
	uint64_t n;
	uint8_t elem;
	unsigned fixed;
	unsigned w = vec->byte_width;
	if (!fx_vec_layout(vec, &target, &n, &elem, &fixed) || i >= n)
		return false;
	out->buf = vec->buf;
	out->size = vec->size;
	out->pos = target + i * w;
	out->parent_width = (uint8_t)w;
	if (vec->type == FX_VECTOR || vec->type == FX_MAP) {
		uint8_t packed = vec->buf[target + (size_t)n * w + i];
		out->byte_width = (uint8_t)(1u << (packed & 3));
		out->type = packed >> 2;
	} else {
		out->byte_width = (uint8_t)w;
		out->type = elem;
	}
	return true;
}

/* NUL-terminated string starting at P, if the NUL is inside the buffer. */
static const char *fx_cstr(const uint8_t *b, size_t size, size_t p, size_t *len)
{
	if (p >= size)
		return NULL;
	const uint8_t *z = memchr(b + p, 0, size - p);
	if (!z)
		return NULL;
	if (len)
		*len = (size_t)(z - (b + p));
	return (const char *)(b + p);
}

const char *fx_map_key_at(const fx_ref *map, size_t i)
{
	size_t target;
	uint64_t n, koff, kw;
	uint8_t elem;
	unsigned fixed;
	unsigned w = map->byte_width;
	if (map->type != FX_MAP || !fx_vec_layout(map, &target, &n, &elem, &fixed) || i >= n)
		return NULL;
	/* three prefixed slots: keys offset, keys width, count */
	if (target < 3 * (size_t)w)
		return NULL;
	size_t kslot = target - 3 * (size_t)w;
	if (!fx_rd_u(map->buf, map->size, kslot, w, &koff) || koff > kslot)
		return NULL;
	if (!fx_rd_u(map->buf, map->size, kslot + w, w, &kw) || !fx_width_ok((unsigned)kw))
		return NULL;
	size_t keys = kslot - (size_t)koff;
	if (keys > map->size || i >= (map->size - keys) / kw)
		return NULL;
	size_t slot = keys + i * (size_t)kw;
	uint64_t off;
	if (!fx_rd_u(map->buf, map->size, slot, (unsigned)kw, &off) || off > slot)
		return NULL;
	return fx_cstr(map->buf, map->size, slot - (size_t)off, NULL);
}

bool fx_map_get(const fx_ref *map, const char *key, fx_ref *out)
{
	if (!map || !key || map->type != FX_MAP)
		return false;
	size_t n = fx_size(map);
	for (size_t i = 0; i < n; i++) {
		const char *k = fx_map_key_at(map, i);
		if (!k)
			return false; /* malformed keys: treat the map as unreadable */
		if (!strcmp(k, key))
			return fx_vec_at(map, i, out);
	}
	return false;
}

/* The number behind a numeric reference: as int (kind 'i'), uint ('u') or
 * float ('f'); false for other types or malformed slots. */
static bool fx_number(const fx_ref *r, char *kind, int64_t *i, uint64_t *u, double *f)
{
	size_t t;
	switch (r->type) {
	case FX_INT:
		*kind = 'i';
		return fx_rd_i(r->buf, r->size, r->pos, r->parent_width, i);
	case FX_UINT:
	case FX_BOOL:
		*kind = 'u';
		return fx_rd_u(r->buf, r->size, r->pos, r->parent_width, u);
	case FX_FLOAT:
		*kind = 'f';
		return fx_rd_f(r->buf, r->size, r->pos, r->parent_width, f);
	case FX_INDIRECT_INT:
		*kind = 'i';
		return fx_target(r, &t) && fx_rd_i(r->buf, r->size, t, r->byte_width, i);
	case FX_INDIRECT_UINT:
		*kind = 'u';
		return fx_target(r, &t) && fx_rd_u(r->buf, r->size, t, r->byte_width, u);
	case FX_INDIRECT_FLOAT:
		*kind = 'f';
		return fx_target(r, &t) && fx_rd_f(r->buf, r->size, t, r->byte_width, f);
	default:
		return false;
	}
}

int64_t fx_as_int(const fx_ref *ref, int64_t def)
{
	char kind = 0;
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	if (!ref || !fx_number(ref, &kind, &i, &u, &f))
		return def;
	if (kind == 'i')
		return i;
	if (kind == 'u')
		return (int64_t)u; /* FlexBuffers reinterprets, as we do */
	/* [-2^63, 2^63) is exactly representable as double bounds */
	if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
		return def;
	return (int64_t)f;
}

double fx_as_float(const fx_ref *ref, double def)
{
	char kind = 0;
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	if (!ref || !fx_number(ref, &kind, &i, &u, &f))
		return def;
	return kind == 'i' ? (double)i : kind == 'u' ? (double)u : f;
}

bool fx_as_bool(const fx_ref *ref, bool def)
{
	char kind = 0;
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	if (!ref || !fx_number(ref, &kind, &i, &u, &f))
		return def;
	return kind == 'i' ? i != 0 : kind == 'u' ? u != 0 : f != 0.0;
}

bool fx_as_string(const fx_ref *ref, const char **s, size_t *len)
{
	size_t t;
	uint64_t n;
	if (!ref || !fx_target(ref, &t))
		return false;
	if (ref->type == FX_KEY) {
		const char *k = fx_cstr(ref->buf, ref->size, t, len);
		if (!k)
			return false;
		*s = k;
		return true;
	}
	if (ref->type != FX_STRING && ref->type != FX_BLOB)
		return false;
	/* a string's length prefix has the string's own byte width */
	if (!fx_width_ok(ref->byte_width) || t < ref->byte_width ||
	    !fx_rd_u(ref->buf, ref->size, t - ref->byte_width, ref->byte_width, &n) || n > ref->size - t)
		return false;
	*s = (const char *)(ref->buf + t);
	*len = (size_t)n;
	return true;
}
