/* flexbuf_writer.h - a FlexBuffers map writer for tests: the custom
 * options of TFLite_Detection_PostProcess, PosenetDecoderOp and hostile
 * variants of them.
 *
 * DESIGN: the smallest layout the reader must accept: keys as C strings,
 * a typed map of 4-byte values (int, float or bool) with 4-byte offsets,
 * root width 1.  Keys must be given sorted, as FlexBuffers requires for
 * lookups; tests that want an unsorted map pass them unsorted on purpose.
 */
#ifndef LITESERVE_TESTS_FLEXBUF_WRITER_H
#define LITESERVE_TESTS_FLEXBUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct ts_flex_opt {
	const char *key; /* NULL ends the list */
	char kind;       /* 'i' int, 'f' float, 'b' bool */
	double v;
} ts_flex_opt;

/* The map's bytes (malloc'd; the caller frees) and their count in *size.
 * At most 32 keys. */
uint8_t *ts_flex_map(const ts_flex_opt *o, size_t *size);

#endif
