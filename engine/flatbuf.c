/* flatbuf.c - bounds-checked FlatBuffers access (see flatbuf.h).
 *
 * DESIGN: arithmetic on offsets is done in uint64_t so that no sum of two
 * 32-bit values read from the file can wrap.  A table is verified when it is
 * reached (its vtable lies inside the buffer, every field offset lies inside
 * the table), so scalar getters only need a width check.
 */
#include "flatbuf.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "FlatBuffers are little-endian");

static uint32_t rd_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static nn_status table_at(const uint8_t *buf, size_t size, uint64_t pos, fb_table *out, nn_err *err)
{
	int32_t soff;
	int64_t vt;
	uint16_t vt_len, tbl_len;

	if (pos + 4 > size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "table at byte %llu lies past the end (%zu bytes)",
				  (unsigned long long)pos, size);
	memcpy(&soff, buf + pos, 4);
	vt = (int64_t)pos - (int64_t)soff;
	if (vt < 0 || (uint64_t)vt + 4 > size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "table at byte %llu: vtable offset %d out of range",
				  (unsigned long long)pos, soff);
	vt_len = rd_u16(buf + vt);
	tbl_len = rd_u16(buf + vt + 2);
	if (vt_len < 4 || (vt_len & 1) || (uint64_t)vt + vt_len > size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "table at byte %llu: vtable length %u invalid",
				  (unsigned long long)pos, vt_len);
	if (tbl_len < 4 || pos + tbl_len > size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "table at byte %llu: size %u runs past the end",
				  (unsigned long long)pos, tbl_len);
	for (uint32_t f = 4; f < vt_len; f += 2) {
		uint16_t off = rd_u16(buf + vt + f);
		if (off != 0 && (off < 4 || off >= tbl_len))
			return nn_err_set(err, NN_ERR_BAD_MODEL,
					  "table at byte %llu: field %u offset %u outside the table (%u bytes)",
					  (unsigned long long)pos, (f - 4) / 2, off, tbl_len);
	}
	out->buf = buf;
	out->size = size;
	out->pos = (uint32_t)pos;
	out->vt = (uint32_t)vt;
	out->vt_len = vt_len;
	out->tbl_len = tbl_len;
	return NN_OK;
}

nn_status fb_root(const uint8_t *buf, size_t size, const char *ident, fb_table *root, nn_err *err)
{
	if (!buf || size < 8)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "file too small to be a flatbuffer (%zu bytes)", size);
	if (size > 0x7fffffffu)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "file of %zu bytes exceeds the 2 GiB flatbuffer limit",
				  size);
	if (ident && memcmp(buf + 4, ident, 4) != 0)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "file identifier is not \"%.4s\" (not a TFLite model)",
				  ident);
	return table_at(buf, size, rd_u32(buf), root, err);
}

/* Byte position of a present field's inline value with `width` bytes, or 0. */
static uint32_t field_pos(const fb_table *t, int field, uint32_t width)
{
	uint32_t vo = 4u + 2u * (uint32_t)field;
	uint16_t off;

	if (field < 0 || vo + 2 > t->vt_len)
		return 0;
	off = rd_u16(t->buf + t->vt + vo);
	if (off == 0 || (uint32_t)off + width > t->tbl_len)
		return 0;
	return t->pos + off;
}

bool fb_has(const fb_table *t, int field)
{
	return field_pos(t, field, 1) != 0;
}

#define FB_SCALAR(name, type)                                        \
	type fb_##name(const fb_table *t, int field, type def)       \
	{                                                            \
		type v;                                              \
		uint32_t p = field_pos(t, field, sizeof(type));      \
		if (!p)                                              \
			return def;                                  \
		memcpy(&v, t->buf + p, sizeof(type));                \
		return v;                                            \
	}
FB_SCALAR(u8, uint8_t)
FB_SCALAR(i8, int8_t)
FB_SCALAR(u16, uint16_t)
FB_SCALAR(i32, int32_t)
FB_SCALAR(u32, uint32_t)
FB_SCALAR(i64, int64_t)
FB_SCALAR(u64, uint64_t)
FB_SCALAR(f32, float)

bool fb_bool(const fb_table *t, int field, bool def)
{
	return fb_u8(t, field, def ? 1 : 0) != 0;
}

/* Follows the uoffset stored at byte p; returns the target or 0 on error. */
static nn_status follow(const fb_table *t, uint32_t p, uint64_t *target, nn_err *err)
{
	uint64_t tg = (uint64_t)p + rd_u32(t->buf + p);

	if (tg >= t->size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "offset at byte %u points past the end", p);
	*target = tg;
	return NN_OK;
}

nn_status fb_table_field(const fb_table *t, int field, fb_table *out, bool *present, nn_err *err)
{
	uint64_t tg = 0;
	uint32_t p = field_pos(t, field, 4);
	nn_status st;

	*present = false;
	if (!p)
		return NN_OK;
	if ((st = follow(t, p, &tg, err)) != NN_OK)
		return st;
	if ((st = table_at(t->buf, t->size, tg, out, err)) != NN_OK)
		return st;
	*present = true;
	return NN_OK;
}

static nn_status vec_at(const uint8_t *buf, size_t size, uint64_t tg, uint32_t elem_size, fb_vec *out,
			nn_err *err)
{
	uint32_t len;

	if (tg + 4 > size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "vector at byte %llu lies past the end",
				  (unsigned long long)tg);
	len = rd_u32(buf + tg);
	if ((uint64_t)len * elem_size > size - (tg + 4))
		return nn_err_set(err, NN_ERR_BAD_MODEL,
				  "vector at byte %llu claims %u elements of %u bytes, past the end (%zu bytes)",
				  (unsigned long long)tg, len, elem_size, size);
	out->buf = buf;
	out->size = size;
	out->pos = (uint32_t)(tg + 4);
	out->len = len;
	out->elem_size = elem_size;
	return NN_OK;
}

nn_status fb_vec_field(const fb_table *t, int field, uint32_t elem_size, fb_vec *out, nn_err *err)
{
	uint64_t tg = 0;
	uint32_t p = field_pos(t, field, 4);
	nn_status st;

	memset(out, 0, sizeof(*out));
	out->buf = t->buf;
	out->size = t->size;
	out->elem_size = elem_size;
	if (!p)
		return NN_OK;
	if ((st = follow(t, p, &tg, err)) != NN_OK)
		return st;
	return vec_at(t->buf, t->size, tg, elem_size, out, err);
}

static nn_status string_at(const uint8_t *buf, size_t size, uint64_t tg, const char **s, uint32_t *len,
			   nn_err *err)
{
	fb_vec v = {0};
	nn_status st = vec_at(buf, size, tg, 1, &v, err);

	if (st != NN_OK)
		return st;
	if ((uint64_t)v.pos + v.len >= size || buf[v.pos + v.len] != 0)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "string at byte %llu is not NUL-terminated",
				  (unsigned long long)tg);
	*s = (const char *)(buf + v.pos);
	*len = v.len;
	return NN_OK;
}

nn_status fb_string_field(const fb_table *t, int field, const char **s, uint32_t *len, nn_err *err)
{
	uint64_t tg = 0;
	uint32_t p = field_pos(t, field, 4);
	nn_status st;

	*s = NULL;
	*len = 0;
	if (!p)
		return NN_OK;
	if ((st = follow(t, p, &tg, err)) != NN_OK)
		return st;
	return string_at(t->buf, t->size, tg, s, len, err);
}

static nn_status vec_elem_target(const fb_vec *v, uint32_t i, uint64_t *tg, nn_err *err)
{
	uint64_t p;

	if (i >= v->len || v->elem_size != 4)
		return nn_err_set(err, NN_ERR_INTERNAL, "vector element %u of %u", i, v->len);
	p = (uint64_t)v->pos + 4ull * i;
	*tg = p + rd_u32(v->buf + p);
	if (*tg >= v->size)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "vector element %u at byte %llu points past the end", i,
				  (unsigned long long)p);
	return NN_OK;
}

nn_status fb_vec_table(const fb_vec *v, uint32_t i, fb_table *out, nn_err *err)
{
	uint64_t tg = 0;
	nn_status st = vec_elem_target(v, i, &tg, err);

	if (st != NN_OK)
		return st;
	return table_at(v->buf, v->size, tg, out, err);
}

nn_status fb_vec_string(const fb_vec *v, uint32_t i, const char **s, uint32_t *len, nn_err *err)
{
	uint64_t tg = 0;
	nn_status st = vec_elem_target(v, i, &tg, err);

	if (st != NN_OK)
		return st;
	return string_at(v->buf, v->size, tg, s, len, err);
}

#define FB_VEC_GET(name, type)                                            \
	type fb_vec_##name(const fb_vec *v, uint32_t i)                   \
	{                                                                 \
		type x;                                                   \
		if (i >= v->len || v->elem_size != sizeof(type))          \
			return 0;                                         \
		memcpy(&x, v->buf + v->pos + (size_t)i * sizeof(type), sizeof(type)); \
		return x;                                                 \
	}
FB_VEC_GET(i32, int32_t)
FB_VEC_GET(i64, int64_t)
FB_VEC_GET(f32, float)
FB_VEC_GET(u8, uint8_t)

const uint8_t *fb_vec_data(const fb_vec *v)
{
	return v->buf + v->pos;
}
