/* image_jpeg.c - JPEG -> RGB with libjpeg-turbo (see image.h).
 *
 * DESIGN: libjpeg reports fatal errors by calling error_exit, which must not
 * return; ours formats the message and longjmps back to the one setjmp in
 * jpeg_run().  Everything that must be released after such a jump (the
 * decompressor, our pixel buffer) lives in `struct jdec`, which belongs to
 * the caller's frame (jpeg_decode), so no automatic variable of the
 * setjmp'ing function is relied upon after the jump and one cleanup path
 * serves success and every error.  Row buffers come from libjpeg's own pool
 * (freed by jpeg_destroy_decompress).
 *
 * Hostile-input guards, in order: the header's dimensions against the
 * limits before jpeg_start_decompress (which is where libjpeg sizes its
 * whole-image buffers); libjpeg's max_memory_to_use so a small progressive
 * file cannot claim hundreds of megabytes of coefficient buffers beyond
 * max_decoder_bytes (without backing store libjpeg then fails cleanly); a
 * progress monitor capping the number of scans (libjpeg-turbo's advice
 * against progressive-scan CPU bombs); premature end of data turned from a
 * warning into an error.
 *
 * Colour: YCbCr/RGB/grayscale are converted by libjpeg straight into our RGB
 * rows.  CMYK/YCCK are read as CMYK and converted here: R = (255-C)(255-K)/255
 * for plain CMYK; files with an Adobe APP14 marker store the inks inverted
 * (as Photoshop, and libjpeg via Pillow, write them), so R = C*K/255.
 */
#define LS_IMAGE_INTERNAL
#include "image.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "alloc.h"

struct jerr {
	struct jpeg_error_mgr pub; /* first: libjpeg hands us cinfo->err */
	jmp_buf jb;
	ls_image_status status; /* of the failure that jumped */
	char msg[JMSG_LENGTH_MAX + 64];
};

struct jdec {
	struct jpeg_decompress_struct cinfo; /* zeroed: jpeg_destroy is then safe */
	struct jerr err;
	struct jpeg_progress_mgr progress;
	uint8_t *pixels; /* our output, nn_malloc'd */
	int orientation; /* EXIF orientation found, 1 = none */
	size_t size;	 /* of the input, for messages */
};

static ls_image_status jerr_status(int code)
{
	switch (code) {
	case JERR_OUT_OF_MEMORY:
		return LS_IMG_NO_MEMORY;
	case JERR_NO_BACKING_STORE: /* over max_memory_to_use */
	case JERR_IMAGE_TOO_BIG:
	case JERR_WIDTH_OVERFLOW:
		return LS_IMG_TOO_LARGE;
	case JERR_BAD_PRECISION: /* 12-bit / 16-bit lossless JPEG */
	case JERR_NOT_COMPILED:
	case JERR_CONVERSION_NOTIMPL:
		return LS_IMG_UNSUPPORTED_FORMAT;
	default:
		return LS_IMG_CORRUPT;
	}
}

static void jerr_exit(j_common_ptr cinfo)
{
	struct jerr *e = (struct jerr *)cinfo->err;
	char buf[JMSG_LENGTH_MAX];

	(*cinfo->err->format_message)(cinfo, buf);
	e->status = jerr_status(cinfo->err->msg_code);
	if (cinfo->err->msg_code == JERR_NO_BACKING_STORE)
		snprintf(e->msg, sizeof(e->msg),
			 "JPEG decoder would need more memory than the limit of %ld bytes",
			 cinfo->mem ? cinfo->mem->max_memory_to_use : 0L);
	else
		snprintf(e->msg, sizeof(e->msg), "JPEG data is invalid: %s", buf);
	longjmp(e->jb, 1);
}

/* Warnings (level -1) are counted by libjpeg; only running out of data is
 * fatal: libjpeg would fill the rest of the picture with grey. */
static void jerr_emit(j_common_ptr cinfo, int level)
{
	struct jerr *e = (struct jerr *)cinfo->err;

	if (level >= 0)
		return; /* trace messages */
	cinfo->err->num_warnings++;
	if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
		e->status = LS_IMG_CORRUPT;
		snprintf(e->msg, sizeof(e->msg),
			 "JPEG data is truncated (%zu bytes end before the image does)",
			 ((struct jdec *)cinfo->client_data)->size);
		longjmp(e->jb, 1);
	}
}

static void jerr_output(j_common_ptr cinfo)
{
	(void)cinfo; /* never print to stderr */
}

static void jprogress(j_common_ptr cinfo)
{
	j_decompress_ptr d = (j_decompress_ptr)cinfo;
	struct jerr *e = (struct jerr *)cinfo->err;

	if (d->input_scan_number > LS_IMAGE_MAX_JPEG_SCANS) {
		e->status = LS_IMG_CORRUPT;
		snprintf(e->msg, sizeof(e->msg), "JPEG has more than %d scans", LS_IMAGE_MAX_JPEG_SCANS);
		longjmp(e->jb, 1);
	}
}

/* The orientation from the first APP1 "Exif" marker, 1 when none. */
static int exif_orientation(j_decompress_ptr cinfo)
{
	jpeg_saved_marker_ptr m;

	for (m = cinfo->marker_list; m; m = m->next) {
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6)) {
			int o = ls_image_exif_orientation(m->data, m->data_length);
			return o ? o : 1;
		}
	}
	return 1;
}

static const char *jcs_name(J_COLOR_SPACE cs)
{
	switch (cs) {
	case JCS_GRAYSCALE:
		return "grayscale";
	case JCS_RGB:
		return "RGB";
	case JCS_YCbCr:
		return "YCbCr";
	case JCS_CMYK:
		return "CMYK";
	case JCS_YCCK:
		return "YCCK";
	default:
		return "unknown";
	}
}

static uint8_t mul255(unsigned a, unsigned b)
{
	unsigned t = a * b + 128; /* a*b/255 rounded: exact for all 8-bit a, b */
	return (uint8_t)((t + (t >> 8)) >> 8);
}

/* Everything that can longjmp.  Returns OK or the status of the failure;
 * j->pixels may hold a buffer either way (the caller owns it). */
static ls_image_status jpeg_run(struct jdec *j, const uint8_t *data, size_t size, const ls_image_lim *lim,
				int target_w, int target_h, ls_image *out, char *errbuf, size_t errlen)
{
	j_decompress_ptr ci = &j->cinfo;
	ls_image_status st;
	int cmyk, inverted;
	JDIMENSION w, h;
	size_t row;

	if (setjmp(j->err.jb))
		return ls_image__err(errbuf, errlen, j->err.status, "%s", j->err.msg);

	jpeg_create_decompress(ci);
	ci->client_data = j;
	/* long is 64-bit on our targets; clamp anyway for 32-bit longs */
	ci->mem->max_memory_to_use =
	    lim->max_decoder_bytes > (uint64_t)(~0UL >> 1) ? (long)(~0UL >> 1) : (long)lim->max_decoder_bytes;
	j->progress.progress_monitor = jprogress;
	ci->progress = &j->progress;
	jpeg_mem_src(ci, data, (unsigned long)size);
	jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(ci, TRUE);

	st = ls_image__check_dims("JPEG", ci->image_width, ci->image_height, lim, errbuf, errlen);
	if (st != LS_IMG_OK)
		return st;

	switch (ci->jpeg_color_space) {
	case JCS_GRAYSCALE:
	case JCS_RGB:
	case JCS_YCbCr:
		ci->out_color_space = JCS_RGB; /* libjpeg-turbo expands gray itself */
		cmyk = 0;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		ci->out_color_space = JCS_CMYK; /* libjpeg turns YCCK into CMYK */
		cmyk = 1;
		break;
	default:
		return ls_image__err(errbuf, errlen, LS_IMG_UNSUPPORTED_FORMAT,
				     "JPEG with %d components in colour space %s is not supported",
				     ci->num_components, jcs_name(ci->jpeg_color_space));
	}
	inverted = cmyk && ci->saw_Adobe_marker;
	j->orientation = exif_orientation(ci);

	/* DCT scaling: the smallest 1/8, 1/4, 1/2 whose output still covers
	 * the target (in stored orientation: a 90-degree turn swaps the
	 * target's sides). */
	if (target_w > 0 && target_h > 0) {
		unsigned need_w = (unsigned)(j->orientation >= 5 ? target_h : target_w);
		unsigned need_h = (unsigned)(j->orientation >= 5 ? target_w : target_h);
		unsigned denom;

		for (denom = 8; denom >= 2; denom /= 2) {
			ci->scale_num = 1;
			ci->scale_denom = denom;
			jpeg_calc_output_dimensions(ci);
			if (ci->output_width >= need_w && ci->output_height >= need_h)
				break;
		}
		if (denom < 2) {
			ci->scale_num = 1;
			ci->scale_denom = 1;
		}
	}

	jpeg_start_decompress(ci);
	w = ci->output_width;
	h = ci->output_height;
	if (w == 0 || h == 0 || ci->output_components != (cmyk ? 4 : 3))
		return ls_image__err(errbuf, errlen, LS_IMG_CORRUPT,
				     "JPEG decoder produced %ux%u pixels with %d components", w, h,
				     ci->output_components);
	row = (size_t)w * 3;
	j->pixels = nn_malloc(row * h);
	if (!j->pixels)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory for a %ux%u JPEG", w,
				     h);

	if (!cmyk) {
		while (ci->output_scanline < h) {
			JSAMPROW rows[8];
			int n = 0;

			while (n < 8 && ci->output_scanline + n < h) {
				rows[n] = j->pixels + (size_t)(ci->output_scanline + n) * row;
				n++;
			}
			jpeg_read_scanlines(ci, rows, (JDIMENSION)n);
		}
	} else {
		JSAMPARRAY buf = (*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE, w * 4, 1);
		while (ci->output_scanline < h) {
			uint8_t *o = j->pixels + (size_t)ci->output_scanline * row;
			const uint8_t *s = buf[0];
			JDIMENSION x;

			if (jpeg_read_scanlines(ci, buf, 1) != 1)
				continue; /* suspension cannot happen with a memory source */
			for (x = 0; x < w; x++, s += 4, o += 3) {
				unsigned c = s[0], m = s[1], y = s[2], k = s[3];
				if (!inverted) {
					c = 255 - c;
					m = 255 - m;
					y = 255 - y;
					k = 255 - k;
				}
				/* now c, m, y, k are 255 - ink */
				o[0] = mul255(c, k);
				o[1] = mul255(m, k);
				o[2] = mul255(y, k);
			}
		}
	}
	/* No jpeg_finish_decompress: the pixels are complete, and a file cut
	 * just before its EOI marker decodes as browsers show it. */

	out->pixels = j->pixels;
	j->pixels = NULL;
	out->width = (int)w;
	out->height = (int)h;
	out->channels = 3;
	out->full_width = (int)ci->image_width;
	out->full_height = (int)ci->image_height;
	out->orientation = 1;
	return LS_IMG_OK;
}

ls_image_status ls_image__jpeg_decode(const uint8_t *data, size_t size, const ls_image_lim *lim, int target_w,
				      int target_h, ls_image *out, char *errbuf, size_t errlen)
{
	struct jdec j;
	ls_image_status st;
	memset(&j, 0, sizeof(j));
	j.size = size;
	j.cinfo.err = jpeg_std_error(&j.err.pub);
	j.err.pub.error_exit = jerr_exit;
	j.err.pub.emit_message = jerr_emit;
	j.err.pub.output_message = jerr_output;

	st = jpeg_run(&j, data, size, lim, target_w, target_h, out, errbuf, errlen);
	jpeg_destroy_decompress(&j.cinfo);
	nn_free(j.pixels);
	if (st != LS_IMG_OK) {
		ls_image_free(out);
		return st;
	}
	if (j.orientation > 1) {
		st = ls_image_apply_orientation(out, j.orientation, errbuf, errlen);
		if (st != LS_IMG_OK)
			ls_image_free(out);
	}
	return st;
}
