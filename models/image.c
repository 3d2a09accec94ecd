/* image.c - format sniffing, limits, EXIF orientation (see image.h).
 *
 * DESIGN: the entry point trusts nothing but the first bytes: it picks the
 * decoder from the magic number, names the common formats we do not decode
 * (GIF, BMP, WebP, TIFF, HEIF/AVIF) so the client learns why, and resolves
 * the limits once so both decoders apply the same numbers with the same
 * message.  EXIF is parsed here with every offset checked against the
 * payload length before it is read; orientation is applied by index
 * mapping (one pass, no intermediate copies beyond the output buffer).
 */
#define LS_IMAGE_INTERNAL
#include "image.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

const char *ls_image_status_name(ls_image_status s)
{
	switch (s) {
	case LS_IMG_OK:
		return "ok";
	case LS_IMG_UNSUPPORTED_FORMAT:
		return "unsupported_format";
	case LS_IMG_CORRUPT:
		return "corrupt";
	case LS_IMG_TOO_LARGE:
		return "too_large";
	case LS_IMG_NO_MEMORY:
		return "no_memory";
	case LS_IMG_BAD_ARGUMENT:
		return "bad_argument";
	}
	return "unknown";
}

void ls_image_free(ls_image *img)
{
	if (!img)
		return;
	nn_free(img->pixels);
	memset(img, 0, sizeof(*img));
}

ls_image_status ls_image__err(char *errbuf, size_t errlen, ls_image_status status, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

ls_image_status ls_image__check_dims(const char *format, uint64_t w, uint64_t h, const ls_image_lim *lim,
				     char *errbuf, size_t errlen)
{
	if (w == 0 || h == 0)
		return ls_image__err(errbuf, errlen, LS_IMG_CORRUPT,
				     "%s header claims %llux%llu pixels (an empty image)", format,
				     (unsigned long long)w, (unsigned long long)h);
	/* h > 0; the division avoids overflowing w*h for 32-bit PNG sides */
	if (w > lim->max_pixels / h)
		return ls_image__err(errbuf, errlen, LS_IMG_TOO_LARGE,
				     "%s header claims %llux%llu pixels, limit is %llu", format,
				     (unsigned long long)w, (unsigned long long)h,
				     (unsigned long long)lim->max_pixels);
	if (w > lim->max_width)
		return ls_image__err(errbuf, errlen, LS_IMG_TOO_LARGE,
				     "%s header claims width %llu, limit is %llu", format,
				     (unsigned long long)w, (unsigned long long)lim->max_width);
	if (h > lim->max_height)
		return ls_image__err(errbuf, errlen, LS_IMG_TOO_LARGE,
				     "%s header claims height %llu, limit is %llu", format,
				     (unsigned long long)h, (unsigned long long)lim->max_height);
	return LS_IMG_OK;
}

/* Names a format we recognise but do not decode, or NULL. */
static const char *other_format(const uint8_t *d, size_t n)
{
	if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
		return "GIF";
	if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		return "WebP";
	if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4)))
		return "TIFF";
	if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) {
		if (!memcmp(d + 8, "avif", 4) || !memcmp(d + 8, "avis", 4))
			return "AVIF";
		if (!memcmp(d + 8, "heic", 4) || !memcmp(d + 8, "heix", 4) || !memcmp(d + 8, "mif1", 4) ||
		    !memcmp(d + 8, "msf1", 4))
			return "HEIF";
	}
	if (n >= 14 && d[0] == 'B' && d[1] == 'M')
		return "BMP";
	if (n >= 4 && !memcmp(d, "\xff\x0a", 2))
		return "JPEG XL";
	if (n >= 12 && !memcmp(d, "\0\0\0\x0cJXL \r\n\x87\n", 12))
		return "JPEG XL";
	return NULL;
}

ls_image_status ls_image_decode(const uint8_t *data, size_t size, const ls_image_limits *limits, int target_w,
				int target_h, ls_image *out, char *errbuf, size_t errlen)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const uint8_t jpeg_sig[3] = {0xff, 0xd8, 0xff};
	ls_image_lim lim;
	const char *other;
	ls_image_status st;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!out)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "no output image");
	memset(out, 0, sizeof(*out));
	if (!data && size)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "no image data");
	if (target_w < 0 || target_h < 0)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "target size %dx%d is negative",
				     target_w, target_h);

	lim.max_pixels = limits && limits->max_pixels ? limits->max_pixels : LS_IMAGE_DEFAULT_MAX_PIXELS;
	lim.max_width =
	    limits && limits->max_width > 0 ? (uint64_t)limits->max_width : LS_IMAGE_DEFAULT_MAX_SIDE;
	lim.max_height =
	    limits && limits->max_height > 0 ? (uint64_t)limits->max_height : LS_IMAGE_DEFAULT_MAX_SIDE;
	lim.max_decoder_bytes = limits && limits->max_decoder_bytes ? limits->max_decoder_bytes
								    : LS_IMAGE_DEFAULT_MAX_DECODER_BYTES;

	if (size == 0)
		return ls_image__err(errbuf, errlen, LS_IMG_CORRUPT, "image data is empty (0 bytes)");

	if (size >= sizeof(jpeg_sig) && !memcmp(data, jpeg_sig, sizeof(jpeg_sig)))
		st = ls_image__jpeg_decode(data, size, &lim, target_w, target_h, out, errbuf, errlen);
	else if (size >= sizeof(png_sig) && !memcmp(data, png_sig, sizeof(png_sig)))
		st = ls_image__png_decode(data, size, &lim, out, errbuf, errlen);
	else if (!memcmp(data, jpeg_sig, size < 3 ? size : 3) || !memcmp(data, png_sig, size < 8 ? size : 8))
		/* a prefix of a signature: the start of a JPEG/PNG cut short */
		return ls_image__err(errbuf, errlen, LS_IMG_CORRUPT,
				     "image data is truncated (%zu bytes, a partial %s signature)", size,
				     data[0] == 0xff ? "JPEG" : "PNG");
	else if ((other = other_format(data, size)))
		return ls_image__err(errbuf, errlen, LS_IMG_UNSUPPORTED_FORMAT,
				     "%s images are not supported (JPEG and PNG are)", other);
	else
		return ls_image__err(errbuf, errlen, LS_IMG_UNSUPPORTED_FORMAT,
				     "unrecognised image format (first bytes %02x %02x %02x %02x); "
				     "JPEG and PNG are supported",
				     data[0], size > 1 ? data[1] : 0, size > 2 ? data[2] : 0,
				     size > 3 ? data[3] : 0);
	if (st != LS_IMG_OK)
		ls_image_free(out); /* decoders already free; keep the contract local */
	return st;
}

/* ---- EXIF ---------------------------------------------------------------- */

static uint32_t rd16(const uint8_t *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p, int le)
{
	return le ? rd16(p, 1) | rd16(p + 2, 1) << 16 : rd16(p, 0) << 16 | rd16(p + 2, 0);
}

int ls_image_exif_orientation(const uint8_t *p, size_t len)
{
	const uint8_t *t; /* TIFF header: offsets below are relative to it */
	size_t tn, ifd, n, i;
	int le;

	if (!p || len < 6 + 8 || memcmp(p, "Exif\0\0", 6) != 0)
		return 0;
	t = p + 6;
	tn = len - 6;
	if (t[0] == 'I' && t[1] == 'I')
		le = 1;
	else if (t[0] == 'M' && t[1] == 'M')
		le = 0;
	else
		return 0;
	if (rd16(t + 2, le) != 42)
		return 0;
	ifd = rd32(t + 4, le); /* IFD0 */
	if (ifd < 8 || ifd > tn - 2)
		return 0;
	n = rd16(t + ifd, le);
	for (i = 0; i < n; i++) {
		size_t e = ifd + 2 + 12 * i; /* <= 65535*12 + tn: no overflow */
		uint32_t type, count, v;

		if (e > tn || tn - e < 12)
			return 0; /* entry runs past the payload */
		if (rd16(t + e, le) != 0x0112)
			continue;
		type = rd16(t + e + 2, le);
		count = rd32(t + e + 4, le);
		if (count < 1)
			return 0;
		if (type == 3) /* SHORT: value left-justified in the 4-byte field */
			v = rd16(t + e + 8, le);
		else if (type == 4) /* LONG: seen from a few writers */
			v = rd32(t + e + 8, le);
		else
			return 0;
		return v >= 1 && v <= 8 ? (int)v : 0;
	}
	return 0;
}

/* For a picture stored as sw x sh with orientation o, the stored pixel shown
 * at display position (x, y).  The display size is sw x sh for 1-4 and
 * sh x sw for 5-8 (whose 0th stored row becomes a display column). */
static void orient_src(int o, int sw, int sh, int x, int y, int *sx, int *sy)
{
	switch (o) {
	case 2:
		*sx = sw - 1 - x;
		*sy = y;
		break; /* mirrored horizontally */
	case 3:
		*sx = sw - 1 - x;
		*sy = sh - 1 - y;
		break; /* rotated 180 */
	case 4:
		*sx = x;
		*sy = sh - 1 - y;
		break; /* mirrored vertically */
	case 5:
		*sx = y;
		*sy = x;
		break; /* transposed */
	case 6:
		*sx = y;
		*sy = sh - 1 - x;
		break; /* needs 90 clockwise */
	case 7:
		*sx = sw - 1 - y;
		*sy = sh - 1 - x;
		break; /* transverse */
	case 8:
		*sx = sw - 1 - y;
		*sy = x;
		break; /* needs 90 counter-clockwise */
	default:
		*sx = x;
		*sy = y;
		break;
	}
}

ls_image_status ls_image_apply_orientation(ls_image *img, int o, char *errbuf, size_t errlen)
{
	int sw, sh, dw, dh, x, y, c, ch;
	uint8_t *dst;

	if (!img || !img->pixels || img->width <= 0 || img->height <= 0 || img->channels <= 0 ||
	    img->channels > 16)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "no image to orient");
	if (o < 2 || o > 8)
		return LS_IMG_OK;
	sw = img->width;
	sh = img->height;
	ch = img->channels;
	if (o <= 4) {
		/* flips: swap pixel pairs in place */
		size_t row = (size_t)sw * ch;
		uint8_t tmp[16];

		if (o == 2 || o == 3) {
			for (y = 0; y < sh; y++) {
				uint8_t *r = img->pixels + (size_t)y * row;
				for (x = 0; x < sw / 2; x++) {
					uint8_t *a = r + (size_t)x * ch, *b = r + (size_t)(sw - 1 - x) * ch;
					for (c = 0; c < ch; c++) {
						tmp[c] = a[c];
						a[c] = b[c];
						b[c] = tmp[c];
					}
				}
			}
		}
		if (o == 3 || o == 4) {
			for (y = 0; y < sh / 2; y++) {
				uint8_t *a = img->pixels + (size_t)y * row;
				uint8_t *b = img->pixels + (size_t)(sh - 1 - y) * row;
				for (size_t i = 0; i < row; i++) {
					uint8_t t = a[i];
					a[i] = b[i];
					b[i] = t;
				}
			}
		}
		img->orientation = o;
		return LS_IMG_OK;
	}
	dw = sh;
	dh = sw;
	dst = nn_malloc((size_t)dw * dh * ch);
	if (!dst)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory rotating a %dx%d image",
				     sw, sh);
	{
		/* the mapping is affine: source index = base + x*dx + y*dy pixels */
		int bx, by, ex, ey, fx, fy;
		ptrdiff_t base, dx, dy;

		orient_src(o, sw, sh, 0, 0, &bx, &by);
		orient_src(o, sw, sh, 1, 0, &ex, &ey);
		orient_src(o, sw, sh, 0, 1, &fx, &fy);
		base = (ptrdiff_t)by * sw + bx;
		dx = ((ptrdiff_t)ey * sw + ex) - base;
		dy = ((ptrdiff_t)fy * sw + fx) - base;
		for (y = 0; y < dh; y++) {
			uint8_t *o_row = dst + (size_t)y * dw * ch;
			ptrdiff_t si = base + (ptrdiff_t)y * dy;

			for (x = 0; x < dw; x++, si += dx) {
				const uint8_t *s = img->pixels + (size_t)si * ch;
				for (c = 0; c < ch; c++)
					o_row[(size_t)x * ch + c] = s[c];
			}
		}
	}
	nn_free(img->pixels);
	img->pixels = dst;
	img->width = dw;
	img->height = dh;
	x = img->full_width;
	img->full_width = img->full_height;
	img->full_height = x;
	img->orientation = o;
	return LS_IMG_OK;
}
