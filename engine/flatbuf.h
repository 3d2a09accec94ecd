/* flatbuf.h - a bounds-checked reader of FlatBuffers binaries.
 *
 * DESIGN: the model file is hostile.  Nothing here dereferences an offset
 * read from the buffer before checking that the bytes it points at (and the
 * whole vector, string or table behind it) lie inside [0, size).  Values are
 * read with memcpy, so misaligned data is harmless.  The host must be
 * little-endian (checked at build time in flatbuf.c), as FlatBuffers are.
 *
 * The reader is schema-agnostic: callers name fields by their id (the
 * position of the field in its schema table, counting a union as two ids:
 * its type then its value).  Nothing is allocated; every handle borrows the
 * buffer it was made from.
 */
#ifndef LITESERVE_ENGINE_FLATBUF_H
#define LITESERVE_ENGINE_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct fb_table {
	const uint8_t *buf; /* whole buffer (borrowed) */
	size_t size;        /* its byte size */
	uint32_t pos;       /* table start (its soffset to the vtable) */
	uint32_t vt;        /* vtable start */
	uint16_t vt_len;    /* vtable byte length (4 + 2 * fields) */
	uint16_t tbl_len;   /* inline table byte length */
} fb_table;

typedef struct fb_vec {
	const uint8_t *buf; /* whole buffer (borrowed) */
	size_t size;
	uint32_t pos;       /* first element (just after the length word) */
	uint32_t len;       /* number of elements; 0 when the field is absent */
	uint32_t elem_size; /* bytes per element (4 for offsets to tables/strings) */
} fb_vec;

/* Verifies the root offset and, if ident is not NULL, the 4-byte file
 * identifier; fills root. */
nn_status fb_root(const uint8_t *buf, size_t size, const char *ident, fb_table *root, nn_err *err);

/* True if the field is present in the table. */
bool fb_has(const fb_table *t, int field);

/* Scalar fields: the default when absent (or when the stored bytes would
 * lie outside the table, which fb_table verification makes impossible for
 * well-formed vtables). */
uint8_t fb_u8(const fb_table *t, int field, uint8_t def);
int8_t fb_i8(const fb_table *t, int field, int8_t def);
uint16_t fb_u16(const fb_table *t, int field, uint16_t def);
int32_t fb_i32(const fb_table *t, int field, int32_t def);
uint32_t fb_u32(const fb_table *t, int field, uint32_t def);
int64_t fb_i64(const fb_table *t, int field, int64_t def);
uint64_t fb_u64(const fb_table *t, int field, uint64_t def);
float fb_f32(const fb_table *t, int field, float def);
bool fb_bool(const fb_table *t, int field, bool def);

/* Sub-table; *present is set false (and NN_OK returned) when absent. */
nn_status fb_table_field(const fb_table *t, int field, fb_table *out, bool *present, nn_err *err);

/* Vector of elem_size-byte elements; an absent field gives len 0. */
nn_status fb_vec_field(const fb_table *t, int field, uint32_t elem_size, fb_vec *out, nn_err *err);

/* String: *s points into the buffer, NUL-terminated (verified); *s = NULL
 * and *len = 0 when absent. */
nn_status fb_string_field(const fb_table *t, int field, const char **s, uint32_t *len, nn_err *err);

/* Element i of a vector of tables / strings. */
nn_status fb_vec_table(const fb_vec *v, uint32_t i, fb_table *out, nn_err *err);
nn_status fb_vec_string(const fb_vec *v, uint32_t i, const char **s, uint32_t *len, nn_err *err);

/* Element i of a scalar vector (i < v->len is the caller's duty; checked
 * again here and answered with 0 when violated). */
int32_t fb_vec_i32(const fb_vec *v, uint32_t i);
int64_t fb_vec_i64(const fb_vec *v, uint32_t i);
float fb_vec_f32(const fb_vec *v, uint32_t i);
uint8_t fb_vec_u8(const fb_vec *v, uint32_t i);
/* Pointer to the first element (elements are v->len * v->elem_size bytes). */
const uint8_t *fb_vec_data(const fb_vec *v);

#endif
