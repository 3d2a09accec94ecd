/* multipart.h - finding one field of a multipart/form-data body (RFC 7578).
 *
 * DESIGN: the body is already complete and bounded (server/ enforces
 * max-body-bytes), so this is a zero-copy scan, not a streaming parser: the
 * part found points into the body.  Everything is client data: the boundary
 * is 1..70 characters (RFC 2046), part headers are bounded
 * (MP_MAX_HEADER_BYTES per part), the number of parts is bounded
 * (MP_MAX_PARTS), and every read is checked against the body length.
 */
#ifndef LITESERVE_HANDLERS_MULTIPART_H
#define LITESERVE_HANDLERS_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_MAX_BOUNDARY 70
#define MP_MAX_HEADER_BYTES 8192
#define MP_MAX_PARTS 64

typedef struct mp_part {
	const uint8_t *data; /* the part's content, inside the body */
	size_t len;
	char content_type[128]; /* "" when the part has none */
	char filename[256];	/* "" when none */
} mp_part;

typedef enum mp_status {
	MP_OK = 0,
	MP_NOT_FOUND,	 /* well-formed, but no part with that field name */
	MP_BAD_BOUNDARY, /* Content-Type has no usable boundary parameter */
	MP_MALFORMED,	 /* the body does not follow the multipart syntax */
} mp_status;

/* Finds the first part named `field` in body (Content-Type header value
 * content_type, which carries the boundary).  err receives a message on
 * failure.  Borrows body: out->data points into it. */
mp_status mp_find(const uint8_t *body, size_t len, const char *content_type, const char *field, mp_part *out,
		  char *err, size_t errlen);

#endif
