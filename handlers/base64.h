/* base64.h - strict standard base64 (RFC 4648 section 4) decoding.
 *
 * DESIGN: TF Serving's {"b64": "..."} values are client data.  The decoder
 * accepts exactly the standard alphabet (A-Z a-z 0-9 + /) with or without
 * the trailing '=' padding, and refuses anything else - whitespace, the
 * URL-safe alphabet, '=' in the middle, a length that leaves 1 character
 * over, non-zero bits in the final padding position - naming the offending
 * offset, so garbage is a 400, never a silently different image.
 */
#ifndef LITESERVE_HANDLERS_BASE64_H
#define LITESERVE_HANDLERS_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound of the decoded size of len characters. */
static inline size_t b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 3;
}

/* Decodes src[0..len) into dst (b64_decoded_max(len) bytes); *out_len
 * gets the decoded size.  Returns false with err set on invalid input. */
bool b64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len, char *err, size_t errlen);

#endif
