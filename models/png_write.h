/* png_write.h - 8-bit pixels -> a PNG file in memory (libpng).
 *
 * DESIGN: the segmentation task answers with PNGs (the class mask, the
 * colour overlay).  Encoding happens per request, so it writes into one
 * growing malloc'd buffer (no temporary file) and every libpng error lands
 * on a single setjmp with one cleanup path.  The caller bounds the size: a
 * picture is at most the server's pixel limit, and the encoder refuses
 * anything over LS_PNG_MAX_PIXELS before libpng is created.
 */
#ifndef LITESERVE_MODELS_PNG_WRITE_H
#define LITESERVE_MODELS_PNG_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "image.h" /* ls_image_status */

#define LS_PNG_MAX_PIXELS 400000000ULL /* 10x the default decode limit: only a bug gets here */

typedef enum ls_png_kind {
	LS_PNG_GRAY = 1,   /* one byte per pixel (a class-index mask) */
	LS_PNG_RGB = 3,    /* three bytes per pixel */
} ls_png_kind;

/* Encodes h rows of w pixels (no padding between rows) as an 8-bit PNG.
 * Borrows pixels.  On success *out is a malloc'd buffer of *out_len bytes
 * (the caller free()s it); on failure *out is NULL, nothing is left
 * allocated and errbuf names the problem (LS_IMG_BAD_ARGUMENT for a bad
 * size, LS_IMG_NO_MEMORY, LS_IMG_CORRUPT for a libpng error). */
ls_image_status ls_png_encode(const uint8_t *pixels, int w, int h, ls_png_kind kind, uint8_t **out,
			      size_t *out_len, char *errbuf, size_t errlen);

#endif
