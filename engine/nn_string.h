/* nn_string.h - string tensors in TFLite's buffer layout.
 *
 * DESIGN: a string tensor's bytes are TFLite's layout, so a constant read
 * from a model is used in place and an output reads like TFLite's:
 *     int32 count, int32 offsets[count + 1], then the string bytes,
 * where offsets[i] is where string i starts, counted from the start of the
 * buffer, and offsets[count] is where the last one ends.  Little-endian, as
 * every .tflite.  The engine never allocates while it runs, so a string
 * tensor in an arena has a byte capacity fixed at prepare (t->bytes): the
 * header for its element count plus a payload bound - NN_MAX_STRING_BYTES
 * for a graph input, a worst case computed from the inputs for an op's
 * output.  Writers fail with NN_ERR_RUNTIME rather than pass the capacity.
 *
 * Every buffer that did not come from our own writer (a constant in a model,
 * an input a caller filled) is checked with nn_string_check before a kernel
 * reads it: count, header inside the buffer, offsets monotonic and inside.
 * Offsets are read with memcpy: a constant in a file may be misaligned.
 */
#ifndef LITESERVE_ENGINE_NN_STRING_H
#define LITESERVE_ENGINE_NN_STRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

/* Bytes of the header (count + offsets) for `count` strings. */
static inline uint64_t nn_string_header_bytes(int64_t count)
{
	return 4u * ((uint64_t)count + 2u);
}

/* Checks that buf[0..size) is a valid layout; when expect_count >= 0 the
 * count must equal it.  The message says what is wrong with which numbers. */
nn_status nn_string_check(const void *buf, size_t size, int64_t expect_count, nn_err *err);

/* Accessors for a buffer that passed nn_string_check. */
int32_t nn_string_count(const void *buf);
const char *nn_string_at(const void *buf, int32_t i, size_t *len);

/* Capacity of a string tensor of `count` strings and up to `payload` bytes
 * of text: sets t->bytes.  NN_ERR_NO_MEMORY when over NN_MAX_TENSOR_BYTES. */
nn_status nn_string_set_capacity(nn_tensor *t, int64_t count, uint64_t payload, nn_err *err);

/* Writes `count` strings into a buffer of `cap` bytes: init, add each, then
 * finish (which checks that exactly `count` were added).  Every call after a
 * failure fails again, so a caller may check only finish's status. */
typedef struct nn_string_writer {
	uint8_t *buf;
	size_t cap;
	int32_t count; /* strings announced at init */
	int32_t n;     /* strings added so far */
	size_t pos;    /* where the next string's bytes go */
	nn_status st;  /* first failure, or NN_OK */
} nn_string_writer;

nn_status nn_string_writer_init(nn_string_writer *w, void *buf, size_t cap, int32_t count, nn_err *err);
nn_status nn_string_writer_add(nn_string_writer *w, const char *s, size_t len, nn_err *err);
nn_status nn_string_writer_finish(nn_string_writer *w, size_t *used, nn_err *err);

/* One-shot: writes n strings (lens[i] bytes each) into buf; *used (may be
 * NULL) gets the bytes written.  The rest of the capacity is left as is. */
nn_status nn_string_write(void *buf, size_t cap, int32_t n, const char *const *strs, const size_t *lens,
			  size_t *used, nn_err *err);

#endif
