/* nn_string.c - TFLite string buffers: check, read, write (see nn_string.h).
 *
 * DESIGN: the checks are the SQLite kind - every number read from the buffer
 * is compared with the buffer's size before it is used to index anything,
 * in 64-bit arithmetic so that a hostile count cannot wrap.
 */
#include "nn_string.h"

#include <string.h>

static int32_t rd32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

nn_status nn_string_check(const void *buf_, size_t size, int64_t expect_count, nn_err *err)
{
	const uint8_t *buf = buf_;
	int32_t count;
	uint64_t header;
	int64_t prev;

	if (!buf || size < 8)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "string buffer of %zu bytes is shorter than the 8-byte minimum",
				  size);
	count = rd32(buf);
	if (count < 0)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "string buffer has a negative count %d", count);
	header = nn_string_header_bytes(count);
	if (header > size)
		return nn_err_set(err, NN_ERR_BAD_MODEL,
				  "string buffer claims %d strings: its header needs %llu bytes but it has %zu", count,
				  (unsigned long long)header, size);
	if (expect_count >= 0 && count != expect_count)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "string buffer holds %d strings but the shape has %lld", count,
				  (long long)expect_count);
	prev = (int64_t)header;
	for (int32_t i = 0; i <= count; i++) {
		int64_t off = rd32(buf + 4 + 4 * (size_t)i);
		if (off < prev || (uint64_t)off > size)
			return nn_err_set(err, NN_ERR_BAD_MODEL,
					  "string buffer offset %d is %lld: outside [%lld, %zu] (header %llu bytes)", i,
					  (long long)off, (long long)prev, size, (unsigned long long)header);
		prev = off;
	}
	return NN_OK;
}

int32_t nn_string_count(const void *buf)
{
	return rd32(buf);
}

const char *nn_string_at(const void *buf_, int32_t i, size_t *len)
{
	const uint8_t *buf = buf_;
	int32_t a = rd32(buf + 4 + 4 * (size_t)i), b = rd32(buf + 8 + 4 * (size_t)i);

	*len = (size_t)(b - a);
	return (const char *)buf + a;
}

nn_status nn_string_set_capacity(nn_tensor *t, int64_t count, uint64_t payload, nn_err *err)
{
	uint64_t bytes;

	if (count < 0 || count > (int64_t)(NN_MAX_TENSOR_BYTES / 4))
		return nn_err_set(err, NN_ERR_NO_MEMORY, "string tensor '%s' of %lld strings is too large", t->name,
				  (long long)count);
	bytes = nn_string_header_bytes(count);
	if (payload > NN_MAX_TENSOR_BYTES || bytes + payload > NN_MAX_TENSOR_BYTES ||
	    bytes + payload > (uint64_t)INT32_MAX) /* offsets are int32 */
		return nn_err_set(err, NN_ERR_NO_MEMORY,
				  "string tensor '%s' would need %llu + %llu bytes, over the %llu-byte limit", t->name,
				  (unsigned long long)bytes, (unsigned long long)payload,
				  (unsigned long long)(NN_MAX_TENSOR_BYTES < INT32_MAX ? NN_MAX_TENSOR_BYTES : INT32_MAX));
	t->bytes = (size_t)(bytes + payload);
	return NN_OK;
}

nn_status nn_string_writer_init(nn_string_writer *w, void *buf, size_t cap, int32_t count, nn_err *err)
{
	uint64_t header = nn_string_header_bytes(count < 0 ? 0 : count);

	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->count = count;
	if (count < 0 || header > cap || cap > (size_t)INT32_MAX)
		return w->st = nn_err_set(err, NN_ERR_RUNTIME,
					  "%d strings do not fit a string tensor of %zu bytes (header %llu bytes)", count,
					  cap, (unsigned long long)header);
	wr32(w->buf, count);
	w->pos = (size_t)header;
	wr32(w->buf + 4, (int32_t)w->pos);
	return NN_OK;
}

nn_status nn_string_writer_add(nn_string_writer *w, const char *s, size_t len, nn_err *err)
{
	if (w->st != NN_OK)
		return w->st;
	if (w->n >= w->count)
		return w->st = nn_err_set(err, NN_ERR_INTERNAL, "string %d added to a buffer announced with %d",
					  w->n + 1, w->count);
	if (len > w->cap - w->pos)
		return w->st = nn_err_set(err, NN_ERR_RUNTIME,
					  "string %d of %zu bytes does not fit: %zu of the tensor's %zu bytes are left",
					  w->n, len, w->cap - w->pos, w->cap);
	if (len)
		memcpy(w->buf + w->pos, s, len);
	w->pos += len;
	w->n++;
	wr32(w->buf + 4 + 4 * (size_t)w->n, (int32_t)w->pos);
	return NN_OK;
}

nn_status nn_string_writer_finish(nn_string_writer *w, size_t *used, nn_err *err)
{
	if (w->st != NN_OK)
		return w->st;
	if (w->n != w->count)
		return w->st = nn_err_set(err, NN_ERR_INTERNAL, "%d strings written to a buffer announced with %d",
					  w->n, w->count);
	if (used)
		*used = w->pos;
	return NN_OK;
}

nn_status nn_string_write(void *buf, size_t cap, int32_t n, const char *const *strs, const size_t *lens,
			  size_t *used, nn_err *err)
{
	nn_string_writer w;

	nn_string_writer_init(&w, buf, cap, n, err);
	for (int32_t i = 0; i < n && w.st == NN_OK; i++)
		nn_string_writer_add(&w, strs[i], lens[i], err);
	return nn_string_writer_finish(&w, used, err);
}
