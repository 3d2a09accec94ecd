/* png_write.c - see png_write.h.
 *
 * DESIGN: libpng reports errors by longjmp; everything we own (the output
 * buffer) lives in `struct penc` in the caller's frame, so the one setjmp
 * in ls_png_encode frees it on the way out whatever happened.  The buffer
 * grows by doubling from an estimate (a class mask compresses to a few KB,
 * an RGB overlay to roughly its raw size / 2), so a request makes a handful
 * of reallocations at most.  Compression favours latency: a mask is long
 * runs of the same byte that deflate shrinks at any level, and the overlay
 * is a photo that higher levels shrink by only ~10% at 3-4x the time.
 */
#include "png_write.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <zlib.h>

struct penc {
	png_structp png;
	png_infop info;
	uint8_t *buf; /* the PNG so far (malloc'd) */
	size_t len, cap;
	bool oom;     /* a buffer growth failed */
	char msg[200];
};

static void penc_error(png_structp png, png_const_charp msg)
{
	struct penc *e = png_get_error_ptr(png);

	if (!e->msg[0])
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void penc_warn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void penc_write(png_structp png, png_bytep data, size_t n)
{
	struct penc *e = png_get_io_ptr(png);

	if (n > e->cap - e->len) {
		size_t cap = e->cap ? e->cap : 4096;
		uint8_t *nb;
		while (cap - e->len < n) {
			if (cap > SIZE_MAX / 2) {
				cap = 0;
				break;
			}
			cap *= 2;
		}
		nb = cap ? realloc(e->buf, cap) : NULL;
		if (!nb) {
			e->oom = true;
			png_error(png, "out of memory for the PNG being written");
		}
		e->buf = nb;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, data, n);
	e->len += n;
}

static void penc_flush(png_structp png)
{
	(void)png;
}

ls_image_status ls_png_encode(const uint8_t *pixels, int w, int h, ls_png_kind kind, uint8_t **out,
			      size_t *out_len, char *errbuf, size_t errlen)
{
	/* volatile: read after the longjmp */
	struct penc e_storage = {0};
	struct penc *volatile e = &e_storage;
	size_t row_bytes;
	volatile ls_image_status st = LS_IMG_OK;

	*out = NULL;
	*out_len = 0;
	if (!pixels || w <= 0 || h <= 0 || (kind != LS_PNG_GRAY && kind != LS_PNG_RGB) ||
	    (uint64_t)w * (uint64_t)h > LS_PNG_MAX_PIXELS) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "cannot encode a %dx%d PNG (limit %llu pixels)", w, h,
				 (unsigned long long)LS_PNG_MAX_PIXELS);
		return LS_IMG_BAD_ARGUMENT;
	}
	row_bytes = (size_t)w * (size_t)kind;
	e->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, penc_error, penc_warn);
	if (!e->png || !(e->info = png_create_info_struct(e->png))) {
		st = LS_IMG_NO_MEMORY;
		snprintf(e->msg, sizeof(e->msg), "out of memory creating the PNG writer");
		goto out;
	}
	/* start from an estimate so that small masks never reallocate */
	e->cap = kind == LS_PNG_GRAY ? 16384 : row_bytes * (size_t)h / 2 + 4096;
	if (!(e->buf = malloc(e->cap))) {
		st = LS_IMG_NO_MEMORY;
		snprintf(e->msg, sizeof(e->msg), "out of memory for a %zu-byte PNG buffer", e->cap);
		goto out;
	}
	if (setjmp(png_jmpbuf(e->png))) {
		st = e->oom ? LS_IMG_NO_MEMORY : LS_IMG_CORRUPT;
		goto out;
	}
	png_set_write_fn(e->png, e, penc_write, penc_flush);
	png_set_IHDR(e->png, e->info, (png_uint_32)w, (png_uint_32)h, 8,
		     kind == LS_PNG_GRAY ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (kind == LS_PNG_GRAY) {
		/* small integers in long runs: filters only add entropy */
		png_set_filter(e->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
		png_set_compression_level(e->png, 6);
	} else {
		png_set_compression_level(e->png, Z_BEST_SPEED);
	}
	png_write_info(e->png, e->info);
	for (int y = 0; y < h; y++)
		png_write_row(e->png, (png_const_bytep)(pixels + (size_t)y * row_bytes));
	png_write_end(e->png, e->info);
out:
	if (e->png)
		png_destroy_write_struct(&e->png, e->info ? &e->info : NULL);
	if (st == LS_IMG_OK) {
		*out = e->buf;
		*out_len = e->len;
	} else {
		free(e->buf);
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "PNG encode: %s", e->msg[0] ? e->msg : "failed");
	}
	return st;
}
