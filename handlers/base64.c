/* base64.c - strict standard base64 decoding (see base64.h). */
#include "base64.h"

#include <stdio.h>

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool b64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len, char *err, size_t errlen)
{
	size_t n = len, o = 0, pad = 0, i;
	uint32_t acc = 0;
	int bits = 0;

	/* padding: at most two '=' at the very end, and only on a multiple of 4 */
	while (n > 0 && src[n - 1] == '=' && pad < 2)
		n--, pad++;
	if (pad && len % 4 != 0) {
		snprintf(err, errlen, "base64: padded length %zu is not a multiple of 4", len);
		return false;
	}
	if (n % 4 == 1) {
		snprintf(err, errlen, "base64: length %zu leaves a dangling character", n);
		return false;
	}
	if (pad && (n % 4 == 0 || (n % 4 == 2 && pad != 2) || (n % 4 == 3 && pad != 1))) {
		snprintf(err, errlen, "base64: wrong padding at the end");
		return false;
	}
	for (i = 0; i < n; i++) {
		int v = b64_value((unsigned char)src[i]);
		if (v < 0) {
			unsigned char c = (unsigned char)src[i];
			if (c >= 0x20 && c < 0x7f)
				snprintf(err, errlen, "base64: invalid character '%c' at offset %zu", c, i);
			else
				snprintf(err, errlen, "base64: invalid byte 0x%02x at offset %zu", c, i);
			return false;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* canonical encodings leave the unused low bits zero */
	if (acc != 0) {
		snprintf(err, errlen, "base64: non-zero bits after the last byte (not a canonical encoding)");
		return false;
	}
	*out_len = o;
	return true;
}
