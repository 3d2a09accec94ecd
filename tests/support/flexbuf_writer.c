/* flexbuf_writer.c - see flexbuf_writer.h. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "flexbuf.h"
#include "flexbuf_writer.h"

uint8_t *ts_flex_map(const ts_flex_opt *o, size_t *size)
{
	size_t n = 0, kbytes = 0;
	while (o[n].key)
		kbytes += strlen(o[n++].key) + 1;
	size_t cap = kbytes + 4 + 4 * n + 12 + 5 * n + 8 + 8;
	uint8_t *b = calloc(1, cap);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_le(n, 32);
	size_t p = 0, kpos[32];
	for (size_t i = 0; i < n; i++) {
		kpos[i] = p;
		memcpy(b + p, o[i].key, strlen(o[i].key) + 1);
		p += strlen(o[i].key) + 1;
	}
	p = (p + 3) & ~(size_t)3;
	uint32_t u = (uint32_t)n;
	memcpy(b + p, &u, 4); /* keys vector length */
	size_t keys = p + 4;
	for (size_t i = 0; i < n; i++) {
		u = (uint32_t)(keys + 4 * i - kpos[i]);
		memcpy(b + keys + 4 * i, &u, 4);
	}
	size_t m = keys + 4 * n + 12;
	u = (uint32_t)(m - 12 - keys);
	memcpy(b + m - 12, &u, 4);
	u = 4;
	memcpy(b + m - 8, &u, 4);
	u = (uint32_t)n;
	memcpy(b + m - 4, &u, 4);
	for (size_t i = 0; i < n; i++) {
		if (o[i].kind == 'f') {
			float f = (float)o[i].v;
			memcpy(b + m + 4 * i, &f, 4);
			b[m + 4 * n + i] = FX_FLOAT << 2 | 2;
		} else {
			int32_t v = (int32_t)o[i].v;
			memcpy(b + m + 4 * i, &v, 4);
			b[m + 4 * n + i] = (uint8_t)((o[i].kind == 'b' ? FX_BOOL : FX_INT) << 2 | 2);
		}
	}
	size_t r = m + 5 * n;
	b[r] = (uint8_t)(r - m);
	b[r + 1] = FX_MAP << 2 | 2;
	b[r + 2] = 1;
	*size = r + 3;
	return b;
}
