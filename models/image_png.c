/* image_png.c - PNG -> RGB with libpng (see image.h).
 *
 * DESIGN: the IHDR is read by hand (signature, 13-byte IHDR at a fixed
 * place) and its dimensions checked against the limits before libpng is
 * even created: a 40-byte file claiming 100000x100000 costs nothing and
 * gets our own message.  libpng then runs with the same bounds as its user
 * limits (png_set_user_limits), a cap on ancillary chunk size and count, and
 * unknown chunks discarded.  Its errors reach png_err(), which records the
 * message and png_longjmp()s to the one setjmp in png_run(); every resource
 * lives in `struct pdec` in the caller's frame and is released on one path.
 * libpng allocates through nn_malloc (png_create_read_struct_2), so an
 * injected allocation failure inside libpng is reported as NO_MEMORY.
 *
 * Transformations (applied by libpng while rows are read): palette -> RGB,
 * gray < 8 bits -> 8 bits, 16 -> 8 bits with rounding (png_set_scale_16),
 * alpha and tRNS dropped (image.h says why), gray -> RGB, Adam7 interlace
 * handled by png_read_image.  No gamma or colour-profile correction.
 * A file that ends after its last image row without IEND is accepted.
 */
#define LS_IMAGE_INTERNAL
#include "image.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

#include "alloc.h"

struct pdec {
	png_structp png;
	png_infop info;
	const uint8_t *data;	/* the whole file (borrowed) */
	size_t size, pos;	/* read cursor */
	uint8_t *pixels;	/* our output, nn_malloc'd */
	png_bytep *rows;	/* row pointers into pixels, nn_malloc'd */
	bool oom;		/* an allocation made for libpng failed */
	ls_image_status status; /* of the failure that jumped */
	char msg[256];
};

static void png_err(png_structp png, png_const_charp msg)
{
	struct pdec *d = png_get_error_ptr(png);

	if (d->status == LS_IMG_OK) {
		d->status = d->oom ? LS_IMG_NO_MEMORY : LS_IMG_CORRUPT;
		snprintf(d->msg, sizeof(d->msg),
			 d->oom ? "out of memory decoding PNG (%s)" : "PNG data is invalid: %s", msg);
	}
	png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
	(void)png; /* benign (bad ancillary chunk, ...): never print */
	(void)msg;
}

static void png_read(png_structp png, png_bytep out, size_t n)
{
	struct pdec *d = png_get_io_ptr(png);

	if (n > d->size - d->pos) {
		d->status = LS_IMG_CORRUPT;
		snprintf(d->msg, sizeof(d->msg),
			 "PNG data is truncated (%zu bytes end before the image does)", d->size);
		png_error(png, "truncated");
	}
	memcpy(out, d->data + d->pos, n);
	d->pos += n;
}

static png_voidp png_alloc(png_structp png, png_alloc_size_t n)
{
	struct pdec *d = png_get_mem_ptr(png);
	void *p = nn_malloc(n);

	if (!p && d)
		d->oom = true;
	return p;
}

static void png_dealloc(png_structp png, png_voidp p)
{
	(void)png;
	nn_free(p);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Everything that can longjmp; the caller owns whatever d holds after. */
static ls_image_status png_run(struct pdec *d, const ls_image_lim *lim, ls_image *out, char *errbuf,
			       size_t errlen)
{
	png_uint_32 w, h;
	int depth, ctype, interlace;
	ls_image_status st;
	size_t row;

	if (setjmp(png_jmpbuf(d->png)))
		return ls_image__err(errbuf, errlen, d->status ? d->status : LS_IMG_CORRUPT, "%s", d->msg);

	png_set_user_limits(d->png, (png_uint_32)lim->max_width, (png_uint_32)lim->max_height);
	png_set_chunk_malloc_max(d->png, LS_IMAGE_MAX_PNG_CHUNK_BYTES);
	png_set_chunk_cache_max(d->png, LS_IMAGE_MAX_PNG_CHUNKS);
	png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
	png_set_read_fn(d->png, d, png_read);

	png_read_info(d->png, d->info);
	png_get_IHDR(d->png, d->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
	st = ls_image__check_dims("PNG", w, h, lim, errbuf, errlen);
	if (st != LS_IMG_OK)
		return st;

	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(d->png);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(d->png);
	if (depth == 16)
		png_set_scale_16(d->png);
	if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(d->png, d->info, PNG_INFO_tRNS))
		png_set_strip_alpha(d->png);
	if (!(ctype & PNG_COLOR_MASK_COLOR))
		png_set_gray_to_rgb(d->png);
	(void)png_set_interlace_handling(d->png);
	png_read_update_info(d->png, d->info);

	row = (size_t)w * 3;
	if (png_get_rowbytes(d->png, d->info) != row || png_get_channels(d->png, d->info) != 3 ||
	    png_get_bit_depth(d->png, d->info) != 8)
		return ls_image__err(errbuf, errlen, LS_IMG_UNSUPPORTED_FORMAT,
				     "PNG colour type %d, depth %d did not convert to 8-bit RGB", ctype,
				     depth);

	d->pixels = nn_malloc(row * h);
	d->rows = nn_malloc(sizeof(*d->rows) * h);
	if (!d->pixels || !d->rows)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory for a %ux%u PNG",
				     (unsigned)w, (unsigned)h);
	for (png_uint_32 y = 0; y < h; y++)
		d->rows[y] = d->pixels + (size_t)y * row;
	png_read_image(d->png, d->rows);

	out->pixels = d->pixels;
	d->pixels = NULL;
	out->width = out->full_width = (int)w;
	out->height = out->full_height = (int)h;
	out->channels = 3;
	out->orientation = 1;
	return LS_IMG_OK;
}

ls_image_status ls_image__png_decode(const uint8_t *data, size_t size, const ls_image_lim *lim, ls_image *out,
				     char *errbuf, size_t errlen)
{
	struct pdec d;
	ls_image_status st;

	/* signature (8) + IHDR length (4) + "IHDR" + width (4) + height (4) */
	if (size < 24)
		return ls_image__err(errbuf, errlen, LS_IMG_CORRUPT,
				     "PNG data is truncated (%zu bytes, no complete IHDR)", size);
	if (be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0)
		return ls_image__err(errbuf, errlen, LS_IMG_CORRUPT,
				     "PNG data is invalid: the first chunk is not a 13-byte IHDR");
	st = ls_image__check_dims("PNG", be32(data + 16), be32(data + 20), lim, errbuf, errlen);
	if (st != LS_IMG_OK)
		return st;

	memset(&d, 0, sizeof(d));
	d.data = data;
	d.size = size;
	d.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &d, png_err, png_warn, &d, png_alloc,
					 png_dealloc);
	if (!d.png)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY,
				     "out of memory creating the PNG decoder");
	d.info = png_create_info_struct(d.png);
	if (!d.info)
		st =
		    ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory creating the PNG decoder");
	else
		st = png_run(&d, lim, out, errbuf, errlen);

	png_destroy_read_struct(&d.png, d.info ? &d.info : NULL, NULL);
	nn_free(d.rows);
	nn_free(d.pixels);
	if (st != LS_IMG_OK)
		ls_image_free(out);
	return st;
}
