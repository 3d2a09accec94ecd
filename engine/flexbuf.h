/* flexbuf.h - a bounds-checked reader of FlexBuffers (custom op options).
 *
 * DESIGN: custom operators carry their options as a FlexBuffer: a
 * schema-less, self-describing tree whose root is found at the END of the
 * buffer (last byte = byte width of the root slot, the byte before it = the
 * root's packed type, (type << 2) | log2(byte width)).  Values are either
 * stored inline in their parent's slot (null, int, uint, float, bool) or
 * reached through an unsigned offset counted BACKWARDS from the slot
 * (strings, keys, indirect scalars, vectors, maps).  A map is a vector of
 * values preceded by three slots (offset of its sorted keys vector, the
 * keys' byte width, the element count) and followed by one packed-type byte
 * per value.
 * The bytes come from a model file, so they are hostile: a reference keeps
 * the whole buffer, and every offset, width and count is checked against it
 * before a single byte is read.  Nothing allocates; lookups are linear scans
 * (we do not trust the keys to be sorted).  A malformed value reads as
 * "absent"/the caller's default rather than as an error, except at the root,
 * which reports what is wrong.
 */
#ifndef LITESERVE_ENGINE_FLEXBUF_H
#define LITESERVE_ENGINE_FLEXBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* FlexBuffers value types (the numbers of the format). */
typedef enum fx_type {
	FX_NULL = 0,
	FX_INT = 1,
	FX_UINT = 2,
	FX_FLOAT = 3,
	FX_KEY = 4,
	FX_STRING = 5,
	FX_INDIRECT_INT = 6,
	FX_INDIRECT_UINT = 7,
	FX_INDIRECT_FLOAT = 8,
	FX_MAP = 9,
	FX_VECTOR = 10,
	FX_VECTOR_INT = 11,
	FX_VECTOR_UINT = 12,
	FX_VECTOR_FLOAT = 13,
	FX_VECTOR_KEY = 14,
	FX_VECTOR_STRING_DEPRECATED = 15,
	FX_VECTOR_INT2 = 16, /* fixed-length typed vectors: 2, 3 or 4 elements */
	FX_VECTOR_UINT2 = 17,
	FX_VECTOR_FLOAT2 = 18,
	FX_VECTOR_INT3 = 19,
	FX_VECTOR_UINT3 = 20,
	FX_VECTOR_FLOAT3 = 21,
	FX_VECTOR_INT4 = 22,
	FX_VECTOR_UINT4 = 23,
	FX_VECTOR_FLOAT4 = 24,
	FX_BLOB = 25,
	FX_BOOL = 26,
	FX_VECTOR_BOOL = 36,
} fx_type;

/* A reference to one value: where its slot is and how to read it. */
typedef struct fx_ref {
	const uint8_t *buf; /* the whole buffer (borrowed) */
	size_t size;        /* its length: every read is checked against it */
	size_t pos;         /* offset of the value's slot in its parent */
	uint8_t parent_width; /* bytes of that slot: 1, 2, 4 or 8 */
	uint8_t byte_width;   /* bytes of the value itself (from the packed type) */
	uint8_t type;         /* fx_type */
} fx_ref;

/* The root value of BUF.  NN_ERR_BAD_MODEL (with a message) when the buffer
 * is too short or its trailer is impossible. BUF is borrowed by *out. */
nn_status fx_root(const uint8_t *buf, size_t size, fx_ref *out, nn_err *err);

/* Value of KEY in MAP; false when MAP is not a (valid) map or lacks KEY. */
bool fx_map_get(const fx_ref *map, const char *key, fx_ref *out);

/* Entries of a map or elements of a vector (0 when not one / malformed). */
size_t fx_size(const fx_ref *ref);

/* Element I of a vector (untyped, typed or fixed) or the I-th value of a
 * map; false when out of range or malformed. */
bool fx_vec_at(const fx_ref *vec, size_t i, fx_ref *out);

/* Key I of a map as a NUL-terminated string inside the buffer, or NULL. */
const char *fx_map_key_at(const fx_ref *map, size_t i);

/* Scalars, converted like FlexBuffers' AsInt64/AsDouble/AsBool for the
 * numeric types (inline or indirect, int/uint/float/bool); DEF for every
 * other type (null, strings, vectors) or a malformed value.  A float out of
 * int64 range or NaN converts to DEF. */
int64_t fx_as_int(const fx_ref *ref, int64_t def);
double fx_as_float(const fx_ref *ref, double def);
bool fx_as_bool(const fx_ref *ref, bool def);

/* A string or key: pointer into the buffer and its length (without the
 * NUL); false for other types or when it runs past the buffer. */
bool fx_as_string(const fx_ref *ref, const char **s, size_t *len);

static inline bool fx_is_null(const fx_ref *ref)
{
	return ref->type == FX_NULL;
}

#endif
