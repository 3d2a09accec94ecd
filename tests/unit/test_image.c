/* test_image.c - models/image: decode, orientation, limits, resize, tensor.
 *
 * DESIGN: three kinds of evidence.
 *  1. Real pictures (shared/images): every file decodes to its MANIFEST
 *     size with plausible pixels; the grace_hopper variants (gray, gray16,
 *     palette, rgba, progressive, CMYK) agree with the lossless original
 *     within bounds measured once and argued below.
 *  2. Pictures made here, where the expected pixels are known exactly: PNGs
 *     written by a tiny encoder in this file (stored deflate blocks, so any
 *     colour type, bit depth, palette, tRNS and Adam7 interlacing can be
 *     produced without trusting libpng's writer), and JPEGs written with
 *     libjpeg carrying a hand-made EXIF APP1 with each orientation.
 *  3. The golden input tensors (shared/golden/<model>/<case>/input_0.bin,
 *     made by the reference pipeline): decode + resize + convert must
 *     reproduce them.  With a full-size decode they match byte for byte.
 *     With DCT scaling (cat_720p decoded at 640x360 for 224x224) a pixel
 *     of the scaled picture is an 2x2 block average where the reference
 *     point-samples the full picture, so bytes differ; the bound (mean abs
 *     diff < 2.0 levels) is argued in test_golden_dct_scaled.
 * Hostile inputs (empty, garbage, truncated, header bombs, broken EXIF)
 * must give the documented status without a pixel allocation, and every
 * allocation failure must come back as LS_IMG_NO_MEMORY without leaks (the
 * ASan build checks the leaks).
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "alloc.h"
#include "image.h"
#include "live_server.h" /* ls_shared_file */
#include "testutil.h"

/* ---- helpers --------------------------------------------------------- */

static char errbuf[512];

static ls_image decode_ok(const uint8_t *d, size_t n, int tw, int th, const char *what)
{
	ls_image im;
	ls_image_status st = ls_image_decode(d, n, NULL, tw, th, &im, errbuf, sizeof(errbuf));

	ck_assert_msg(st == LS_IMG_OK, "%s: %s (%s)", what, ls_image_status_name(st), errbuf);
	ck_assert_int_eq(im.channels, 3);
	ck_assert_ptr_nonnull(im.pixels);
	return im;
}

static ls_image decode_shared(const char *rel, int tw, int th)
{
	size_t n;
	uint8_t *d = ls_shared_file(rel, &n);
	ls_image im = {0};

	if (!d)
		return im;
	im = decode_ok(d, n, tw, th, rel);
	free(d);
	return im;
}

static double mean_abs_diff(const ls_image *a, const ls_image *b, int *max_out)
{
	size_t n = (size_t)a->width * a->height * 3;
	double s = 0;
	int mx = 0;

	ck_assert_int_eq(a->width, b->width);
	ck_assert_int_eq(a->height, b->height);
	for (size_t i = 0; i < n; i++) {
		int d = abs((int)a->pixels[i] - (int)b->pixels[i]);
		s += d;
		mx = d > mx ? d : mx;
	}
	if (max_out)
		*max_out = mx;
	return s / (double)n;
}

/* Growable byte buffer for the encoders below. */
struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void put8(struct bytes *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

static void put32be(struct bytes *b, uint32_t v)
{
	uint8_t c[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(b, c, 4);
}

/* ---- a minimal PNG writer -------------------------------------------- */

static uint32_t crc32_png(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void png_chunk(struct bytes *b, const char *type, const uint8_t *data, size_t n)
{
	uint32_t crc = crc32_png((const uint8_t *)type, 4, 0);

	crc = crc32_png(data, n, crc);
	put32be(b, (uint32_t)n);
	put(b, type, 4);
	if (n)
		put(b, data, n);
	put32be(b, crc);
}

static void png_start(struct bytes *b, uint32_t w, uint32_t h, int depth, int ctype, int interlace)
{
	uint8_t ihdr[13] = {(uint8_t)(w >> 24),
			    (uint8_t)(w >> 16),
			    (uint8_t)(w >> 8),
			    (uint8_t)w,
			    (uint8_t)(h >> 24),
			    (uint8_t)(h >> 16),
			    (uint8_t)(h >> 8),
			    (uint8_t)h,
			    (uint8_t)depth,
			    (uint8_t)ctype,
			    0,
			    0,
			    (uint8_t)interlace};

	put(b, "\x89PNG\r\n\x1a\n", 8);
	png_chunk(b, "IHDR", ihdr, 13);
}

/* zlib stream made of stored (uncompressed) deflate blocks. */
static void zlib_stored(struct bytes *out, const uint8_t *raw, size_t n)
{
	uint32_t a = 1, bsum = 0;
	size_t off = 0;

	put8(out, 0x78);
	put8(out, 0x01);
	do {
		size_t len = n - off > 65535 ? 65535 : n - off;
		put8(out, off + len == n ? 1 : 0); /* BFINAL, BTYPE = 00 */
		put8(out, len & 0xff);
		put8(out, len >> 8);
		put8(out, ~len & 0xff);
		put8(out, (~len >> 8) & 0xff);
		put(out, raw + off, len);
		off += len;
	} while (off < n);
	for (size_t i = 0; i < n; i++) {
		a = (a + raw[i]) % 65521;
		bsum = (bsum + a) % 65521;
	}
	put32be(out, bsum << 16 | a);
}

static int png_channels(int ctype)
{
	return ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 3 ? 1 : ctype == 4 ? 2 : 4;
}

/* Sample c of pixel (x, y) at `depth` bits: a deterministic pattern. */
static unsigned sample(int x, int y, int c, int depth)
{
	uint32_t v = (uint32_t)(x * 73856093u) ^ (uint32_t)(y * 19349663u) ^ (uint32_t)(c * 83492791u);
	v ^= v >> 13;
	v *= 0x5bd1e995u;
	v ^= v >> 15;
	return v & ((1u << depth) - 1);
}

/* Appends the filtered (filter 0) scanlines of the sub-image
 * x0 + i*dx, y0 + j*dy. */
static void png_rows(struct bytes *raw, int w, int h, int depth, int ctype, int x0, int y0, int dx, int dy)
{
	int ch = png_channels(ctype);

	for (int y = y0; y < h; y += dy) {
		unsigned acc = 0;
		int bits = 0;

		put8(raw, 0);
		for (int x = x0; x < w; x += dx) {
			for (int c = 0; c < ch; c++) {
				unsigned v = sample(x, y, c, depth);
				if (depth == 16) {
					put8(raw, v >> 8);
					put8(raw, v & 0xff);
				} else if (depth == 8) {
					put8(raw, v);
				} else {
					acc = acc << depth | v;
					bits += depth;
					if (bits == 8) {
						put8(raw, acc);
						acc = 0;
						bits = 0;
					}
				}
			}
		}
		if (bits)
			put8(raw, acc << (8 - bits));
	}
}

/* A w x h PNG whose samples are sample(x, y, c, depth); palette images get
 * a 2^depth-entry palette pal_rgb(i), plus a tRNS chunk when trns. */
static void pal_rgb(unsigned i, uint8_t rgb[3])
{
	rgb[0] = (uint8_t)(i * 37 + 11);
	rgb[1] = (uint8_t)(i * 91 + 3);
	rgb[2] = (uint8_t)(255 - i * 13);
}

static uint8_t *make_png(int w, int h, int depth, int ctype, int interlace, int trns, size_t *size)
{
	static const int a7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
				     {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
	struct bytes b = {0}, raw = {0}, z = {0};

	png_start(&b, (uint32_t)w, (uint32_t)h, depth, ctype, interlace);
	if (ctype == 3) {
		struct bytes pl = {0}, tr = {0};
		for (unsigned i = 0; i < (1u << depth); i++) {
			uint8_t rgb[3];
			pal_rgb(i, rgb);
			put(&pl, rgb, 3);
			put8(&tr, i * 255 / ((1u << depth) - 1)); /* alpha ramp */
		}
		png_chunk(&b, "PLTE", pl.p, pl.n);
		if (trns)
			png_chunk(&b, "tRNS", tr.p, tr.n);
		free(pl.p);
		free(tr.p);
	} else if (trns && (ctype == 0 || ctype == 2)) {
		uint8_t t[6] = {0, 1, 0, 2, 0, 3}; /* a colour key: dropped like alpha */
		png_chunk(&b, "tRNS", t, ctype == 0 ? 2 : 6);
	}
	if (!interlace) {
		png_rows(&raw, w, h, depth, ctype, 0, 0, 1, 1);
	} else {
		for (int p = 0; p < 7; p++)
			if (a7[p][0] < w && a7[p][1] < h)
				png_rows(&raw, w, h, depth, ctype, a7[p][0], a7[p][1], a7[p][2], a7[p][3]);
	}
	zlib_stored(&z, raw.p, raw.n);
	png_chunk(&b, "IDAT", z.p, z.n);
	png_chunk(&b, "IEND", NULL, 0);
	free(raw.p);
	free(z.p);
	*size = b.n;
	return b.p;
}

/* What our decoder must produce for make_png's pixel (x, y). */
static void expected_rgb(int x, int y, int depth, int ctype, uint8_t rgb[3])
{
	unsigned maxv = (1u << depth) - 1;
	int colour = ctype == 2 || ctype == 6;

	if (ctype == 3) {
		pal_rgb(sample(x, y, 0, depth), rgb);
		return;
	}
	for (int c = 0; c < 3; c++) {
		unsigned v = sample(x, y, colour ? c : 0, depth);
		/* 16 -> 8 bits rounded; 1/2/4 bits scaled to the full range */
		rgb[c] = (uint8_t)floor((double)v * 255.0 / maxv + 0.5);
	}
}

/* ---- a JPEG writer (libjpeg), with an optional APP1 ----------------- */

static uint8_t *make_jpeg(int w, int h, int comps, J_COLOR_SPACE cs, const uint8_t *pix, const uint8_t *app1,
			  size_t app1_len, int quality, size_t *size)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	unsigned char *out = NULL;
	unsigned long outsize = 0;

	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &outsize);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = comps;
	c.in_color_space = cs;
	jpeg_set_defaults(&c);
	if (cs == JCS_UNKNOWN)
		jpeg_set_colorspace(&c, JCS_UNKNOWN);
	jpeg_set_quality(&c, quality, TRUE);
	for (int i = 0; i < c.num_components; i++) /* 4:4:4: crisp quadrants */
		c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
	jpeg_start_compress(&c, TRUE);
	if (app1)
		jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned)app1_len);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(pix + (size_t)c.next_scanline * w * comps);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*size = outsize;
	return out; /* malloc'd by libjpeg: free() */
}

/* An EXIF APP1 payload holding two IFD0 entries, the second Orientation. */
static size_t make_exif(uint8_t *b, int le, int orientation)
{
	struct bytes e = {0};
	size_t n;
#define P16(v) (le ? put8(&e, (v)&0xff), put8(&e, (v) >> 8) : (put8(&e, (v) >> 8), put8(&e, (v)&0xff)))
#define P32(v) (le ? (P16((v)&0xffff), P16((v) >> 16)) : (P16((v) >> 16), P16((v)&0xffff)))
	put(&e, "Exif\0\0", 6);
	put(&e, le ? "II" : "MM", 2);
	P16(42);
	P32(8);	     /* IFD0 right after the header */
	P16(2);	     /* two entries */
	P16(0x010f); /* Make, ASCII, 4 bytes inline */
	P16(2);
	P32(4);
	put(&e, "abc", 4);
	P16(0x0112); /* Orientation, SHORT, 1 */
	P16(3);
	P32(1);
	P16(orientation);
	P16(0);
	P32(0); /* no next IFD */
#undef P16
#undef P32
	memcpy(b, e.p, e.n);
	n = e.n;
	free(e.p);
	return n;
}

/* ---- 1. the shared pictures ---------------------------------------- */

START_TEST(test_manifest_pictures)
{
	const char *dirp = ts_require_shared("images");
	char dir[4096], path[4200];
	json_error_t jerr;
	json_t *man;
	DIR *dh;
	struct dirent *de;
	int seen = 0;

	if (!dirp)
		return;
	snprintf(dir, sizeof(dir), "%s", dirp);
	snprintf(path, sizeof(path), "%s/MANIFEST.json", dir);
	man = json_load_file(path, 0, &jerr);
	ck_assert_msg(man && json_is_array(man), "MANIFEST.json: %s", jerr.text);
	dh = opendir(dir);
	ck_assert_ptr_nonnull(dh);
	while ((de = readdir(dh))) {
		const char *ext = strrchr(de->d_name, '.');
		json_t *entry = NULL, *e;
		size_t i, n, k;
		uint8_t *d;
		ls_image im;
		const char *mode;
		int gray_all = 1;

		if (!ext || (strcmp(ext, ".jpg") && strcmp(ext, ".png")))
			continue;
		json_array_foreach(man, i, e) if (!strcmp(json_string_value(json_object_get(e, "file")),
							  de->d_name)) entry = e;
		ck_assert_msg(entry != NULL, "%s is not in MANIFEST.json", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		d = ts_read_file(path, &n);
		ck_assert_ptr_nonnull(d);
		im = decode_ok(d, n, 0, 0, de->d_name);
		ck_assert_msg(im.width == json_integer_value(json_object_get(entry, "width")) &&
				  im.height == json_integer_value(json_object_get(entry, "height")),
			      "%s: decoded %dx%d, manifest says %lldx%lld", de->d_name, im.width, im.height,
			      json_integer_value(json_object_get(entry, "width")),
			      json_integer_value(json_object_get(entry, "height")));
		ck_assert_int_eq(im.full_width, im.width);
		ck_assert_int_eq(im.full_height, im.height);
		ck_assert_int_eq(im.orientation, 1); /* none of them is rotated */
		mode = json_string_value(json_object_get(entry, "mode"));
		for (k = 0; k < (size_t)im.width * im.height; k++) {
			const uint8_t *p = im.pixels + 3 * k;
			if (p[0] != p[1] || p[1] != p[2])
				gray_all = 0;
		}
		if (!strcmp(mode, "L") || !strcmp(mode, "I"))
			ck_assert_msg(gray_all, "%s: a gray picture must decode to R=G=B", de->d_name);
		else
			ck_assert_msg(!gray_all, "%s: a colour picture decoded to gray", de->d_name);
		ls_image_free(&im);
		ck_assert_ptr_null(im.pixels);
		free(d);
		seen++;
	}
	closedir(dh);
	ck_assert_int_eq((int)json_array_size(man), seen);
	json_decref(man);
}
END_TEST

/* The variants are the same picture; bounds measured with libjpeg-turbo
 * 2.1.5 (value in brackets) with headroom for another decoder version:
 * lossless ones must be identical, lossy ones stay within what quality-90
 * JPEG and a 256-colour palette cost. */
START_TEST(test_grace_hopper_variants)
{
	static const struct {
		const char *file;
		double max_mad; /* mean abs diff to the reference */
		int gray_ref;	/* compare with grace_hopper_gray.png, not the RGB */
	} v[] = {
	    {"images/grace_hopper_rgba.png", 0.0, 0},	     /* [0]: alpha dropped, RGB kept */
	    {"images/grace_hopper_palette.png", 4.0, 0},     /* [2.67] */
	    {"images/grace_hopper_progressive.jpg", 4.0, 0}, /* [2.33] */
	    {"images/grace_hopper_cmyk.jpg", 4.0, 0},	     /* [1.77]; not inverted: ~200 */
	    {"images/grace_hopper_gray16.png", 0.0, 1},	     /* [0]: 16-bit = 8-bit * 257 */
	    {"images/grace_hopper_gray.jpg", 3.0, 1},	     /* [1.76] */
	};
	ls_image ref = decode_shared("images/grace_hopper.png", 0, 0);
	ls_image gref = decode_shared("images/grace_hopper_gray.png", 0, 0);
	double luma_mad = 0;

	if (!ref.pixels)
		return;
	/* the gray version is the luma (ITU-R 601) of the colour one */
	for (size_t k = 0; k < (size_t)ref.width * ref.height; k++) {
		const uint8_t *p = ref.pixels + 3 * k;
		double y = (p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000.0;
		luma_mad += fabs(y - gref.pixels[3 * k]);
	}
	luma_mad /= (double)ref.width * ref.height;
	ck_assert_msg(luma_mad < 1.0, "gray.png vs luma of grace_hopper.png: %.3f", luma_mad);

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ls_image im = decode_shared(v[i].file, 0, 0);
		int mx;
		double mad = mean_abs_diff(&im, v[i].gray_ref ? &gref : &ref, &mx);

		fprintf(stderr, "image: %-36s vs %s: mean abs diff %.3f, max %d\n", v[i].file,
			v[i].gray_ref ? "gray.png" : "grace_hopper.png", mad, mx);
		ck_assert_msg(mad <= v[i].max_mad, "%s: mean abs diff %.3f > %.3f", v[i].file, mad,
			      v[i].max_mad);
		ls_image_free(&im);
	}
	ls_image_free(&ref);
	ls_image_free(&gref);
}
END_TEST

/* DCT scaling picks the smallest 1/8..1/2 that still covers the target. */
START_TEST(test_dct_scaling)
{
	static const struct {
		int tw, th, w, h;
	} c[] = {
	    {0, 0, 1280, 720},				     /* no target: full size */
	    {224, 224, 640, 360},			     /* 1/4 would give 180 rows < 224 */
	    {100, 100, 320, 180},			     /* 1/8 would give 90 rows */
	    {160, 90, 160, 90},				     /* exactly 1/8 */
	    {161, 90, 320, 180},     {1280, 720, 1280, 720}, /* nothing smaller covers it */
	    {4000, 4000, 1280, 720}, {224, 0, 1280, 720},    /* both sides needed to scale */
	};
	size_t n;
	uint8_t *d = ls_shared_file("images/cat_720p.jpg", &n);
	ls_image png;

	if (!d)
		return;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ls_image im = decode_ok(d, n, c[i].tw, c[i].th, "cat_720p.jpg");
		ck_assert_msg(im.width == c[i].w && im.height == c[i].h,
			      "target %dx%d: decoded %dx%d, expected %dx%d", c[i].tw, c[i].th, im.width,
			      im.height, c[i].w, c[i].h);
		ck_assert_int_eq(im.full_width, 1280);
		ck_assert_int_eq(im.full_height, 720);
		ls_image_free(&im);
	}
	free(d);
	/* PNG has no such scaling: the target is ignored */
	png = decode_shared("images/bird.png", 64, 64);
	ck_assert_int_eq(png.width, 512);
	ck_assert_int_eq(png.height, 343);
	ls_image_free(&png);
}
END_TEST

/* ---- 2. pictures made here ----------------------------------------- */

/* Every PNG colour type and bit depth, plain and Adam7-interlaced, with
 * and without tRNS, at an odd size: exact pixels. */
START_TEST(test_png_variants)
{
	static const struct {
		int ctype, depth;
	} t[] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1},
		 {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
	static const int sizes[][2] = {{13, 11}, {1, 1}, {3, 9}, {9, 2}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (int interlace = 0; interlace < 2; interlace++)
			for (int trns = 0; trns < 2; trns++)
				for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
					int w = sizes[s][0], h = sizes[s][1];
					size_t n;
					uint8_t *png =
					    make_png(w, h, t[i].depth, t[i].ctype, interlace, trns, &n);
					ls_image im = decode_ok(png, n, 0, 0, "made PNG");

					ck_assert_int_eq(im.width, w);
					ck_assert_int_eq(im.height, h);
					for (int y = 0; y < h; y++)
						for (int x = 0; x < w; x++) {
							uint8_t e[3];
							const uint8_t *p =
							    im.pixels + ((size_t)y * w + x) * 3;
							expected_rgb(x, y, t[i].depth, t[i].ctype, e);
							ck_assert_msg(!memcmp(p, e, 3),
								      "type %d depth %d interlace %d "
								      "tRNS %d %dx%d: pixel (%d,%d) is "
								      "%d,%d,%d, expected %d,%d,%d",
								      t[i].ctype, t[i].depth, interlace, trns,
								      w, h, x, y, p[0], p[1], p[2], e[0],
								      e[1], e[2]);
						}
					ls_image_free(&im);
					free(png);
				}
}
END_TEST

/* A PNG whose IEND (or trailing bytes) is missing still decodes: every row
 * is there.  One cut inside IDAT is an error. */
START_TEST(test_png_truncation)
{
	size_t n;
	uint8_t *png = make_png(40, 30, 8, 2, 0, 0, &n);
	ls_image im;
	ls_image_status st;

	im = decode_ok(png, n - 12, 0, 0, "PNG without IEND");
	ls_image_free(&im);
	for (size_t cut = 24; cut < n - 12; cut += (n - 36) / 7) {
		st = ls_image_decode(png, cut, NULL, 0, 0, &im, errbuf, sizeof(errbuf));
		ck_assert_msg(st == LS_IMG_CORRUPT, "cut at %zu of %zu: %s", cut, n,
			      ls_image_status_name(st));
		ck_assert_ptr_null(im.pixels);
		ck_assert_msg(strstr(errbuf, "PNG") != NULL, "message: %s", errbuf);
	}
	/* a flipped bit in the zlib checksum, then in IDAT's CRC (a critical
	 * chunk: fatal) */
	png[n - 20] ^= 0x40;
	st = ls_image_decode(png, n, NULL, 0, 0, &im, errbuf, sizeof(errbuf));
	ck_assert_msg(st == LS_IMG_CORRUPT, "bad adler32: %s", ls_image_status_name(st));
	png[n - 20] ^= 0x40;
	png[n - 14] ^= 0x40;
	st = ls_image_decode(png, n, NULL, 0, 0, &im, errbuf, sizeof(errbuf));
	ck_assert_msg(st == LS_IMG_CORRUPT, "bad CRC: %s", ls_image_status_name(st));
	ck_assert_msg(strstr(errbuf, "CRC") != NULL, "message: %s", errbuf);
	free(png);
}
END_TEST

/* Stored picture 32x16 in four 16x8 quadrants: TL red, TR green, BL blue,
 * BR white.  For each EXIF orientation, the colours shown in the display's
 * TL, TR, BL, BR quadrants, from the EXIF table "where row 0 / column 0 of
 * the stored picture are shown". */
enum { RED, GREEN, BLUE, WHITE };
static const uint8_t quad_rgb[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
static const int shown[9][4] = {
    {0},
    {RED, GREEN, BLUE, WHITE}, /* 1: row 0 top, column 0 left */
    {GREEN, RED, WHITE, BLUE}, /* 2: row 0 top, column 0 right */
    {WHITE, BLUE, GREEN, RED}, /* 3: row 0 bottom, column 0 right */
    {BLUE, WHITE, RED, GREEN}, /* 4: row 0 bottom, column 0 left */
    {RED, BLUE, GREEN, WHITE}, /* 5: row 0 left, column 0 top */
    {BLUE, RED, WHITE, GREEN}, /* 6: row 0 right, column 0 top */
    {WHITE, GREEN, BLUE, RED}, /* 7: row 0 right, column 0 bottom */
    {GREEN, WHITE, RED, BLUE}, /* 8: row 0 left, column 0 bottom */
};

static uint8_t *quadrant_pixels(int w, int h)
{
	uint8_t *pix = malloc((size_t)w * h * 3);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			memcpy(pix + ((size_t)y * w + x) * 3, quad_rgb[(y >= h / 2) * 2 + (x >= w / 2)], 3);
	return pix;
}

static void check_quadrants(const ls_image *im, int o, const char *what)
{
	for (int q = 0; q < 4; q++) {
		int x = (q & 1) ? im->width * 3 / 4 : im->width / 4;
		int y = (q & 2) ? im->height * 3 / 4 : im->height / 4;
		const uint8_t *p = im->pixels + ((size_t)y * im->width + x) * 3;
		const uint8_t *e = quad_rgb[shown[o][q]];

		for (int c = 0; c < 3; c++)
			ck_assert_msg(abs(p[c] - e[c]) <= 8,
				      "%s orientation %d: quadrant %d is %d,%d,%d, expected %d,%d,%d", what,
				      o, q, p[0], p[1], p[2], e[0], e[1], e[2]);
	}
}

START_TEST(test_exif_orientation)
{
	uint8_t *pix = quadrant_pixels(32, 16);

	for (int le = 0; le < 2; le++)
		for (int o = 1; o <= 8; o++) {
			uint8_t exif[64];
			size_t en = make_exif(exif, le, o), n;
			uint8_t *jpg = make_jpeg(32, 16, 3, JCS_RGB, pix, exif, en, 95, &n);
			ls_image im = decode_ok(jpg, n, 0, 0, "EXIF JPEG");

			ck_assert_int_eq(ls_image_exif_orientation(exif, en), o);
			ck_assert_int_eq(im.orientation, o);
			ck_assert_int_eq(im.width, o >= 5 ? 16 : 32);
			ck_assert_int_eq(im.height, o >= 5 ? 32 : 16);
			ck_assert_int_eq(im.full_width, im.width);
			ck_assert_int_eq(im.full_height, im.height);
			check_quadrants(&im, o, le ? "II" : "MM");
			ls_image_free(&im);
			free(jpg);
		}
	free(pix);
}
END_TEST

/* 4-component JPEGs as libjpeg writes them (with an Adobe marker, so the
 * inks are stored inverted): plain CMYK and YCCK (Adobe transform 2).  A
 * colour (r, g, b) without black ink is stored as (r, g, b, 255). */
START_TEST(test_cmyk_ycck)
{
	static const J_COLOR_SPACE spaces[] = {JCS_CMYK, JCS_YCCK};
	uint8_t *rgb = quadrant_pixels(32, 16), *cmyk = malloc(32 * 16 * 4);

	for (int i = 0; i < 32 * 16; i++) {
		memcpy(cmyk + 4 * i, rgb + 3 * i, 3);
		cmyk[4 * i + 3] = 255;
	}
	for (int k = 0; k < 2; k++) {
		struct jpeg_compress_struct c;
		struct jpeg_error_mgr jerr;
		unsigned char *out = NULL;
		unsigned long outsize = 0;
		ls_image im;

		c.err = jpeg_std_error(&jerr);
		jpeg_create_compress(&c);
		jpeg_mem_dest(&c, &out, &outsize);
		c.image_width = 32;
		c.image_height = 16;
		c.input_components = 4;
		c.in_color_space = JCS_CMYK;
		jpeg_set_defaults(&c);
		jpeg_set_colorspace(&c, spaces[k]);
		jpeg_set_quality(&c, 95, TRUE);
		for (int i = 0; i < c.num_components; i++)
			c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
		jpeg_start_compress(&c, TRUE);
		while (c.next_scanline < 16) {
			JSAMPROW row = cmyk + c.next_scanline * 32 * 4;
			jpeg_write_scanlines(&c, &row, 1);
		}
		jpeg_finish_compress(&c);
		jpeg_destroy_compress(&c);
		im = decode_ok(out, outsize, 0, 0, k ? "YCCK JPEG" : "CMYK JPEG");
		check_quadrants(&im, 1, k ? "YCCK" : "CMYK");
		ls_image_free(&im);
		free(out);
	}
	free(cmyk);
	free(rgb);
}
END_TEST

/* DCT scaling compares the target with the picture as shown: a 64x32
 * stored picture with orientation 6 is shown 32x64; for a target of 8x16
 * it may be decoded at 1/4 (16x8 stored, 8x16 shown). */
START_TEST(test_exif_with_dct_scaling)
{
	uint8_t *pix = quadrant_pixels(64, 32), exif[64];
	size_t en = make_exif(exif, 1, 6), n;
	uint8_t *jpg = make_jpeg(64, 32, 3, JCS_RGB, pix, exif, en, 95, &n);
	ls_image im = decode_ok(jpg, n, 8, 16, "rotated JPEG");

	ck_assert_int_eq(im.width, 8);
	ck_assert_int_eq(im.height, 16);
	ck_assert_int_eq(im.full_width, 32);
	ck_assert_int_eq(im.full_height, 64);
	check_quadrants(&im, 6, "scaled 1/4");
	ls_image_free(&im);
	free(jpg);
	free(pix);
}
END_TEST

/* The EXIF parser on hostile payloads: never reads out of bounds (ASan),
 * answers 0 for anything malformed. */
START_TEST(test_exif_hostile)
{
	uint8_t good[64], b[64];
	size_t n = make_exif(good, 1, 6);
	uint32_t seed = 12345;

	ck_assert_int_eq(ls_image_exif_orientation(good, n), 6);
	ck_assert_int_eq(ls_image_exif_orientation(NULL, 0), 0);
	for (size_t cut = 0; cut < n; cut++) { /* every truncation, copied to an exact-size heap block */
		uint8_t *h = malloc(cut ? cut : 1);
		memcpy(h, good, cut);
		ck_assert_int_eq(ls_image_exif_orientation(h, cut), cut >= n - 4 ? 6 : 0);
		free(h);
	}
	memcpy(b, good, n);
	b[6] = 'X'; /* byte order */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	memcpy(b, good, n);
	b[8] = 43; /* TIFF magic */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	memcpy(b, good, n);
	b[10] = 0xf0; /* IFD0 offset far past the end */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	memcpy(b, good, n);
	b[10] = (uint8_t)(n - 6 - 1); /* IFD0 count straddles the end */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	memcpy(b, good, n);
	b[14] = 0xff; /* 65535 entries claimed */
	b[15] = 0xff;
	b[6 + 8 + 2 + 12] = 0x13; /* no Orientation among them: runs off the end */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	memcpy(b, good, n);
	b[6 + 8 + 2 + 12 + 8] = 9; /* orientation 9 */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	memcpy(b, good, n);
	b[6 + 8 + 2 + 12 + 2] = 7; /* type UNDEFINED */
	ck_assert_int_eq(ls_image_exif_orientation(b, n), 0);
	/* random mutations: only the bounds matter here */
	for (int i = 0; i < 20000; i++) {
		size_t len = 1 + ts_rand(&seed) % n;
		uint8_t *h = malloc(len);
		int o;
		memcpy(h, good, len);
		for (int k = 0; k < 3; k++)
			h[ts_rand(&seed) % len] = (uint8_t)ts_rand(&seed);
		o = ls_image_exif_orientation(h, len);
		ck_assert(o >= 0 && o <= 8);
		free(h);
	}
	/* a JPEG with a broken EXIF decodes unrotated */
	{
		uint8_t *pix = quadrant_pixels(32, 16);
		uint8_t *jpg;
		ls_image im;

		memcpy(b, good, n);
		b[10] = 0xf0;
		jpg = make_jpeg(32, 16, 3, JCS_RGB, pix, b, n, 95, &n);
		im = decode_ok(jpg, n, 0, 0, "broken EXIF");
		ck_assert_int_eq(im.orientation, 1);
		ck_assert_int_eq(im.width, 32);
		check_quadrants(&im, 1, "broken EXIF");
		ls_image_free(&im);
		free(jpg);
		free(pix);
	}
}
END_TEST

/* ls_image_apply_orientation on odd sizes: 6 is a clockwise turn (checked
 * pixel by pixel), the others through group identities (each mirror is its
 * own inverse, 6 and 8 are inverse, 6 twice is 3, 2 then 4 is 3). */
static ls_image tiny(int w, int h)
{
	ls_image im = {w, h, 3, nn_malloc((size_t)w * h * 3), w, h, 1};

	for (int i = 0; i < w * h * 3; i++)
		im.pixels[i] = (uint8_t)(i * 7 + 1);
	return im;
}

static void orient(ls_image *im, int o)
{
	ck_assert_int_eq(ls_image_apply_orientation(im, o, errbuf, sizeof(errbuf)), LS_IMG_OK);
}

START_TEST(test_apply_orientation)
{
	static const int inverse_pairs[][2] = {{2, 2}, {3, 3}, {4, 4}, {5, 5}, {7, 7}, {6, 8}, {8, 6}};
	ls_image a = tiny(3, 2), b;

	/* stored   a b c      shown (6)   d a
	 *          d e f                  e b
	 *                                 f c  */
	b = tiny(3, 2);
	orient(&b, 6);
	ck_assert_int_eq(b.width, 2);
	ck_assert_int_eq(b.height, 3);
	{
		static const int src[3][2] = {{3, 0}, {4, 1}, {5, 2}}; /* stored pixel index */
		for (int y = 0; y < 3; y++)
			for (int x = 0; x < 2; x++)
				ck_assert(!memcmp(b.pixels + (y * 2 + x) * 3, a.pixels + src[y][x] * 3, 3));
	}
	ls_image_free(&b);

	for (int w = 1; w <= 4; w++)
		for (int h = 1; h <= 3; h++)
			for (size_t i = 0; i < sizeof(inverse_pairs) / sizeof(inverse_pairs[0]); i++) {
				ls_image r = tiny(w, h), x = tiny(w, h);
				orient(&x, inverse_pairs[i][0]);
				orient(&x, inverse_pairs[i][1]);
				ck_assert_int_eq(x.width, w);
				ck_assert(!memcmp(x.pixels, r.pixels, (size_t)w * h * 3));
				ls_image_free(&x);
				x = tiny(w, h);
				orient(&x, 6);
				orient(&x, 6);
				orient(&r, 3);
				ck_assert(!memcmp(x.pixels, r.pixels, (size_t)w * h * 3));
				ls_image_free(&x);
				x = tiny(w, h);
				orient(&x, 2);
				orient(&x, 4);
				ck_assert(!memcmp(x.pixels, r.pixels, (size_t)w * h * 3));
				ls_image_free(&x);
				ls_image_free(&r);
			}
	ls_image_free(&a);
}
END_TEST

/* ---- hostile and broken input ---------------------------------------- */

static void expect(const uint8_t *d, size_t n, const ls_image_limits *lim, ls_image_status want,
		   const char *needle, const char *what)
{
	ls_image im;
	ls_image_status st;

	memset(&im, 0xab, sizeof(im)); /* must be zeroed on failure */
	st = ls_image_decode(d, n, lim, 0, 0, &im, errbuf, sizeof(errbuf));
	ck_assert_msg(st == want, "%s: got %s (%s), expected %s", what, ls_image_status_name(st), errbuf,
		      ls_image_status_name(want));
	ck_assert_ptr_null(im.pixels);
	ck_assert_int_eq(im.width, 0);
	ck_assert_msg(strstr(errbuf, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, errbuf,
		      needle);
}

/* A JPEG whose SOF0 claims w x h (the rest of the file is a real 16x16). */
static uint8_t *jpeg_claiming(unsigned w, unsigned h, size_t *n)
{
	uint8_t *pix = quadrant_pixels(16, 16);
	uint8_t *jpg = make_jpeg(16, 16, 3, JCS_RGB, pix, NULL, 0, 90, n);

	free(pix);
	for (size_t i = 2; i + 9 < *n; i++)
		if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
			jpg[i + 5] = (uint8_t)(h >> 8);
			jpg[i + 6] = (uint8_t)h;
			jpg[i + 7] = (uint8_t)(w >> 8);
			jpg[i + 8] = (uint8_t)w;
			return jpg;
		}
	ck_abort_msg("no SOF0 in the JPEG made for the test");
	return NULL;
}

/* Signature + IHDR (correct CRC) claiming w x h, + IEND: 45 bytes. */
static uint8_t *png_claiming(uint32_t w, uint32_t h, size_t *n)
{
	struct bytes b = {0};

	png_start(&b, w, h, 8, 2, 0);
	png_chunk(&b, "IEND", NULL, 0);
	*n = b.n;
	return b.p;
}

START_TEST(test_bad_input)
{
	static const uint8_t garbage[] = "this is not an image, it is a sentence.";
	static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
	static const uint8_t webp[] = "RIFF\x10\x00\x00\x00WEBPVP8 ";
	static const uint8_t jpeg_start[] = {0xff, 0xd8};
	static const uint8_t png_start8[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0};
	uint8_t one = 0;
	size_t n;
	uint8_t *p;

	expect(&one, 0, NULL, LS_IMG_CORRUPT, "empty", "zero bytes");
	expect(NULL, 0, NULL, LS_IMG_CORRUPT, "empty", "NULL, zero bytes");
	expect(garbage, sizeof(garbage) - 1, NULL, LS_IMG_UNSUPPORTED_FORMAT, "unrecognised", "garbage");
	expect(gif, sizeof(gif) - 1, NULL, LS_IMG_UNSUPPORTED_FORMAT, "GIF", "GIF");
	expect(webp, sizeof(webp) - 1, NULL, LS_IMG_UNSUPPORTED_FORMAT, "WebP", "WebP");
	expect(jpeg_start, 2, NULL, LS_IMG_CORRUPT, "truncated", "2 bytes of JPEG");
	expect(png_start8, 10, NULL, LS_IMG_CORRUPT, "truncated", "signature only");

	p = png_claiming(100000, 100000, &n);
	expect(p, n, NULL, LS_IMG_TOO_LARGE, "PNG header claims 100000x100000 pixels, limit is 40000000",
	       "PNG bomb");
	free(p);
	p = png_claiming(0xffffffffu, 0xffffffffu, &n); /* w*h overflows 64 bits */
	expect(p, n, NULL, LS_IMG_TOO_LARGE, "4294967295x4294967295 pixels", "PNG 2^32 sides");
	free(p);
	p = png_claiming(70000, 10, &n);
	expect(p, n, NULL, LS_IMG_TOO_LARGE, "width 70000, limit is 65535", "PNG too wide");
	free(p);
	p = png_claiming(0, 10, &n);
	expect(p, n, NULL, LS_IMG_CORRUPT, "0x10", "PNG zero width");
	free(p);
	p = png_claiming(16, 16, &n); /* no IDAT at all */
	expect(p, n, NULL, LS_IMG_CORRUPT, "PNG", "PNG without IDAT");
	p[23] ^= 1; /* height 17: and now the IHDR CRC is wrong */
	expect(p, n, NULL, LS_IMG_CORRUPT, "CRC", "PNG bad IHDR CRC");
	free(p);

	p = jpeg_claiming(60000, 60000, &n);
	expect(p, n, NULL, LS_IMG_TOO_LARGE, "JPEG header claims 60000x60000 pixels, limit is 40000000",
	       "JPEG bomb");
	free(p);
	p = jpeg_claiming(16, 0, &n); /* height 0 (DNL) is not supported by libjpeg */
	expect(p, n, NULL, LS_IMG_CORRUPT, "JPEG", "JPEG height 0");
	free(p);

	/* 12-bit samples (SOF precision byte) */
	p = jpeg_claiming(16, 16, &n);
	for (size_t i = 2; i + 4 < n; i++)
		if (p[i] == 0xff && p[i + 1] == 0xc0) {
			p[i + 4] = 12;
			break;
		}
	expect(p, n, NULL, LS_IMG_UNSUPPORTED_FORMAT, "precision 12", "12-bit JPEG");
	free(p);

	/* a JPEG with two components (no colour space we can show) */
	{
		uint8_t pix2[8 * 8 * 2];
		memset(pix2, 99, sizeof(pix2));
		p = make_jpeg(8, 8, 2, JCS_UNKNOWN, pix2, NULL, 0, 90, &n);
		expect(p, n, NULL, LS_IMG_UNSUPPORTED_FORMAT, "2 components", "2-component JPEG");
		free(p);
	}
}
END_TEST

/* A valid progressive JPEG with 2112 scans (every coefficient of every
 * component refined one bit at a time): each scan costs a pass over the
 * coefficients, the classic CPU bomb; refused after LS_IMAGE_MAX_JPEG_SCANS. */
START_TEST(test_jpeg_scan_bomb)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	jpeg_scan_info *scans = calloc(3 * 64 * 11, sizeof(*scans));
	unsigned char *out = NULL;
	unsigned long outsize = 0;
	uint8_t *pix = quadrant_pixels(16, 16);
	int ns = 0;

	for (int k = 0; k < 64; k++) /* DC (k = 0) before AC */
		for (int comp = 0; comp < 3; comp++)
			for (int al = 10; al >= 0; al--) {
				jpeg_scan_info *sc = &scans[ns++];
				sc->comps_in_scan = 1;
				sc->component_index[0] = comp;
				sc->Ss = sc->Se = k;
				sc->Ah = al == 10 ? 0 : al + 1;
				sc->Al = al;
			}
	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &outsize);
	c.image_width = c.image_height = 16;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	c.scan_info = scans;
	c.num_scans = ns;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < 16) {
		JSAMPROW row = pix + c.next_scanline * 16 * 3;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	ck_assert_int_eq(ns, 2112);
	expect(out, outsize, NULL, LS_IMG_CORRUPT, "more than 1000 scans", "scan bomb");
	free(out);
	free(scans);
	free(pix);
}
END_TEST

/* Errors found in the header come back before any allocation through
 * nn_malloc: with every allocation failing, the answer is unchanged. */
START_TEST(test_errors_before_allocation)
{
	size_t n;
	uint8_t *png = png_claiming(100000, 100000, &n), *jpg;
	ls_image_limits lim = {.max_pixels = 1000};
	uint8_t *real;
	size_t rn;

	nn_alloc_fail_after(0);
	expect(png, n, NULL, LS_IMG_TOO_LARGE, "100000x100000", "PNG bomb, no memory");
	expect((const uint8_t *)"junkjunk", 8, NULL, LS_IMG_UNSUPPORTED_FORMAT, "unrecognised",
	       "garbage, no memory");
	expect(png, 0, NULL, LS_IMG_CORRUPT, "empty", "empty, no memory");
	nn_alloc_fail_after(-1);
	jpg = jpeg_claiming(60000, 60000, &n);
	nn_alloc_fail_after(0);
	expect(jpg, n, NULL, LS_IMG_TOO_LARGE, "60000x60000", "JPEG bomb, no memory");
	nn_alloc_fail_after(-1);
	free(png);
	free(jpg);

	/* caller limits, on real files */
	real = ls_shared_file("images/grace_hopper.png", &rn);
	if (!real)
		return;
	nn_alloc_fail_after(0);
	expect(real, rn, &lim, LS_IMG_TOO_LARGE, "PNG header claims 512x600 pixels, limit is 1000",
	       "max_pixels");
	lim.max_pixels = 0;
	lim.max_width = 500;
	expect(real, rn, &lim, LS_IMG_TOO_LARGE, "width 512, limit is 500", "max_width");
	lim.max_width = 0;
	lim.max_height = 599;
	expect(real, rn, &lim, LS_IMG_TOO_LARGE, "height 600, limit is 599", "max_height");
	nn_alloc_fail_after(-1);
	free(real);
	real = ls_shared_file("images/cat_720p.jpg", &rn);
	lim.max_height = 0;
	lim.max_pixels = 1280 * 720 - 1;
	expect(real, rn, &lim, LS_IMG_TOO_LARGE, "JPEG header claims 1280x720 pixels", "JPEG limit");
	free(real);
	/* progressive JPEGs buffer every coefficient: bounded separately */
	real = ls_shared_file("images/grace_hopper_progressive.jpg", &rn);
	lim.max_pixels = 0;
	lim.max_decoder_bytes = 100000;
	expect(real, rn, &lim, LS_IMG_TOO_LARGE, "limit of 100000 bytes", "decoder memory");
	free(real);
}
END_TEST

START_TEST(test_truncated_jpeg)
{
	static const char *files[] = {"images/cat_720p.jpg", "images/grace_hopper_progressive.jpg",
				      "images/grace_hopper_gray.jpg", "images/grace_hopper_cmyk.jpg"};

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t n;
		uint8_t *d = ls_shared_file(files[f], &n);

		if (!d)
			return;
		for (int k = 1; k < 8; k++) {
			size_t cut = n * k / 8;
			uint8_t *h = malloc(cut); /* exact size: ASan sees any overread */
			memcpy(h, d, cut);
			expect(h, cut, NULL, LS_IMG_CORRUPT, "JPEG", files[f]);
			free(h);
		}
		expect(d, 3, NULL, LS_IMG_CORRUPT, "JPEG", "3 bytes of JPEG");
		expect(d, 300, NULL, LS_IMG_CORRUPT, "truncated", "300 bytes of JPEG");
		free(d);
	}
}
END_TEST

/* Every allocation failure is reported as NO_MEMORY and leaks nothing
 * (ASan); once enough allocations succeed, the result is the normal one. */
START_TEST(test_allocation_failures)
{
	uint8_t *pix = quadrant_pixels(32, 16), exif[64];
	size_t en = make_exif(exif, 0, 8), jn, pn;
	uint8_t *jpg = make_jpeg(32, 16, 3, JCS_RGB, pix, exif, en, 90, &jn);
	uint8_t *png = make_png(37, 23, 8, 3, 1, 1, &pn);
	struct {
		const uint8_t *d;
		size_t n;
		const char *what;
	} c[] = {{jpg, jn, "rotated JPEG"}, {png, pn, "interlaced palette PNG"}};

	for (size_t i = 0; i < 2; i++) {
		long k;
		for (k = 0; k < 1000; k++) {
			ls_image im;
			ls_image_status st;

			nn_alloc_fail_after(k);
			st = ls_image_decode(c[i].d, c[i].n, NULL, 0, 0, &im, errbuf, sizeof(errbuf));
			nn_alloc_fail_after(-1);
			if (st == LS_IMG_OK) {
				ck_assert_int_eq(im.width, i == 0 ? 16 : 37);
				ls_image_free(&im);
				break;
			}
			ck_assert_msg(st == LS_IMG_NO_MEMORY, "%s, failing allocation %ld: %s (%s)",
				      c[i].what, k, ls_image_status_name(st), errbuf);
			ck_assert_ptr_null(im.pixels);
			ck_assert_msg(strstr(errbuf, "memory") != NULL, "message: %s", errbuf);
		}
		ck_assert_msg(k >= 2 && k < 1000, "%s: %ld allocations", c[i].what, k);
	}
	/* resize, letterbox */
	{
		ls_image src = tiny(20, 10), out;
		for (long k = 0; k < 2; k++) {
			nn_alloc_fail_after(k);
			ck_assert_int_eq(ls_image_resize_bilinear(&src, 7, 5, &out, errbuf, sizeof(errbuf)),
					 LS_IMG_NO_MEMORY);
			ck_assert_int_eq(
			    ls_image_resize_letterbox(&src, 7, 5, &out, NULL, errbuf, sizeof(errbuf)),
			    LS_IMG_NO_MEMORY);
			nn_alloc_fail_after(-1);
		}
		ls_image_free(&src);
	}
	free(jpg);
	free(png);
	free(pix);
}
END_TEST

/* ---- 3. resize and tensor ------------------------------------------ */

static ls_image from_values(int w, int h, const uint8_t *v) /* v: one value per pixel, R=G=B */
{
	ls_image im = tiny(w, h);

	for (int i = 0; i < w * h; i++)
		memset(im.pixels + 3 * i, v[i], 3);
	return im;
}

START_TEST(test_resize_known_values)
{
	ls_image a, r;
	/* upscale 2 -> 4: positions -0.25, 0.25, 0.75, 1.25 */
	static const uint8_t two[] = {0, 200}, up[] = {0, 50, 150, 200};
	/* downscale 4 -> 2: positions 0.5 and 2.5, averages 1.5 -> 2 and 100 */
	static const uint8_t four[] = {1, 2, 50, 150}, down[] = {2, 100};

	a = from_values(2, 1, two);
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 4, 1, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (int x = 0; x < 4; x++)
		ck_assert_int_eq(r.pixels[3 * x + 1], up[x]);
	ls_image_free(&r);
	/* vertical: the same along y */
	ls_image_free(&a);
	a = from_values(1, 2, two);
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 1, 4, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (int y = 0; y < 4; y++)
		ck_assert_int_eq(r.pixels[3 * y + 2], up[y]);
	ls_image_free(&r);
	ls_image_free(&a);
	a = from_values(4, 1, four);
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 2, 1, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ck_assert_int_eq(r.pixels[0], down[0]);
	ck_assert_int_eq(r.pixels[3], down[1]);
	ls_image_free(&r);
	ls_image_free(&a);

	/* same size: the identity */
	a = tiny(13, 7);
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 13, 7, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ck_assert(!memcmp(a.pixels, r.pixels, 13 * 7 * 3));
	ls_image_free(&r);
	/* to and from one pixel */
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 1, 1, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ls_image_free(&r);
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 0, 5, &r, errbuf, sizeof(errbuf)), LS_IMG_BAD_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(errbuf, "0x5"));
	ls_image_free(&a);
	a = from_values(1, 1, two + 1);
	ck_assert_int_eq(ls_image_resize_bilinear(&a, 5, 3, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (int i = 0; i < 15 * 3; i++)
		ck_assert_int_eq(r.pixels[i], 200);
	ls_image_free(&r);
	ls_image_free(&a);
}
END_TEST

START_TEST(test_letterbox)
{
	ls_image a = tiny(4, 2), r, g;
	ls_letterbox box;

	/* 4x2 into 8x8: scaled to 8x4, rows 2..5 */
	ck_assert_int_eq(ls_image_resize_letterbox(&a, 8, 8, &r, &box, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ck_assert_int_eq(r.width, 8);
	ck_assert_int_eq(r.height, 8);
	ck_assert_int_eq(box.x, 0);
	ck_assert_int_eq(box.y, 2);
	ck_assert_int_eq(box.w, 8);
	ck_assert_int_eq(box.h, 4);
	ck_assert(box.scale_x == 2.0f && box.scale_y == 2.0f);
	{
		ls_image plain;
		ck_assert_int_eq(ls_image_resize_bilinear(&a, 8, 4, &plain, errbuf, sizeof(errbuf)),
				 LS_IMG_OK);
		for (int y = 0; y < 8; y++)
			for (int i = 0; i < 8 * 3; i++) {
				uint8_t v = r.pixels[y * 24 + i];
				if (y < 2 || y >= 6)
					ck_assert_int_eq(v, 0);
				else
					ck_assert_int_eq(v, plain.pixels[(y - 2) * 24 + i]);
			}
		ls_image_free(&plain);
	}
	ls_image_free(&r);
	ls_image_free(&a);

	g = decode_shared("images/grace_hopper.png", 0, 0); /* 512x600: tall */
	if (!g.pixels)
		return;
	ck_assert_int_eq(ls_image_resize_letterbox(&g, 300, 300, &r, &box, errbuf, sizeof(errbuf)),
			 LS_IMG_OK);
	ck_assert_int_eq(box.h, 300);
	ck_assert_int_eq(box.w, 256);
	ck_assert_int_eq(box.x, 22);
	ck_assert_int_eq(box.y, 0);
	for (int y = 0; y < 300; y++) {
		for (int x = 0; x < 22; x++)
			ck_assert_int_eq(r.pixels[(y * 300 + x) * 3], 0);
		for (int x = 278; x < 300; x++)
			ck_assert_int_eq(r.pixels[(y * 300 + x) * 3 + 2], 0);
	}
	ls_image_free(&r);
	ls_image_free(&g);
}
END_TEST

START_TEST(test_to_tensor)
{
	ls_image a = tiny(5, 3);
	size_t n = 5 * 3 * 3;
	uint8_t u8[45];
	int8_t i8[45];
	float f32[45];
	ls_tensor_format f;

	ls_tensor_format_init(&f, NN_U8);
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, u8, n, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ck_assert(!memcmp(u8, a.pixels, n));
	f.type = NN_I8;
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, i8, n, errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(i8[i], (int)a.pixels[i] - 128);
	ls_tensor_format_init(&f, NN_F32);
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, f32, sizeof(f32), errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_float_eq(f32[i], ((float)a.pixels[i] - 127.5f) / 127.5f);
	/* per-channel ImageNet-style normalisation */
	{
		const float mean[3] = {123.675f, 116.28f, 103.53f}, sd[3] = {58.395f, 57.12f, 57.375f};
		memcpy(f.mean, mean, sizeof(mean));
		memcpy(f.std, sd, sizeof(sd));
		ck_assert_int_eq(ls_image_to_tensor(&a, &f, f32, sizeof(f32), errbuf, sizeof(errbuf)),
				 LS_IMG_OK);
		for (size_t i = 0; i < n; i++)
			ck_assert_float_eq_tol(f32[i], (a.pixels[i] - mean[i % 3]) / sd[i % 3], 1e-6);
	}
	/* QUANTIZE: a [0,1]-ranged uint8 input (scale 1/255, zero point 0)
	 * and a [-1,1) int8 one (scale 1/128, zero point 0) */
	ls_tensor_format_init(&f, NN_U8);
	f.mode = LS_TENSOR_QUANTIZE;
	for (int c = 0; c < 3; c++) {
		f.mean[c] = 0;
		f.std[c] = 255;
	}
	f.scale = 1.0f / 255;
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, u8, n, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ck_assert(!memcmp(u8, a.pixels, n));
	f.type = NN_I8;
	for (int c = 0; c < 3; c++) {
		f.mean[c] = 128;
		f.std[c] = 128;
	}
	f.scale = 1.0f / 128;
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, i8, n, errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(i8[i], (int)a.pixels[i] - 128);
	f.scale = 1.0f / 512; /* saturates at the int8 range */
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, i8, n, errbuf, sizeof(errbuf)), LS_IMG_OK);
	for (size_t i = 0; i < n; i++) {
		int q = (int)lroundf(((float)a.pixels[i] - 128) / 128 * 512);
		ck_assert_int_eq(i8[i], q < -128 ? -128 : q > 127 ? 127 : q);
	}

	/* refusals name the problem */
	ls_tensor_format_init(&f, NN_U8);
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, u8, n - 1, errbuf, sizeof(errbuf)), LS_IMG_BAD_ARGUMENT);
	ck_assert_msg(strstr(errbuf, "44 bytes") && strstr(errbuf, "needs 45"), "%s", errbuf);
	f.type = NN_I16;
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, u8, n, errbuf, sizeof(errbuf)), LS_IMG_BAD_ARGUMENT);
	ck_assert_msg(strstr(errbuf, "int16") != NULL, "%s", errbuf);
	ls_tensor_format_init(&f, NN_F32);
	f.std[1] = 0;
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, f32, sizeof(f32), errbuf, sizeof(errbuf)),
			 LS_IMG_BAD_ARGUMENT);
	ck_assert_msg(strstr(errbuf, "channel 1") != NULL, "%s", errbuf);
	ls_tensor_format_init(&f, NN_U8);
	f.mode = LS_TENSOR_QUANTIZE;
	f.zero_point = 300;
	ck_assert_int_eq(ls_image_to_tensor(&a, &f, u8, n, errbuf, sizeof(errbuf)), LS_IMG_BAD_ARGUMENT);
	ck_assert_msg(strstr(errbuf, "zero point 300") != NULL, "%s", errbuf);
	ls_image_free(&a);
}
END_TEST

/* ---- golden input tensors ------------------------------------------ */

struct golden_case {
	char dir[4200];	 /* shared/golden/<model>/<case> */
	char image[256]; /* source_image */
	int h, w;
	nn_dtype type;
};

/* Reads oracle.json of an image case; false for cases without an image. */
static bool golden_case_load(const char *dir, struct golden_case *gc)
{
	char path[4400];
	json_error_t jerr;
	json_t *o, *in, *shape;
	const char *src, *dt;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/oracle.json", dir);
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return false;
	src = json_string_value(json_object_get(o, "source_image"));
	in = json_array_get(json_object_get(o, "inputs"), 0);
	shape = json_object_get(in, "shape");
	dt = json_string_value(json_object_get(in, "dtype"));
	if (src && dt && json_array_size(shape) == 4) {
		snprintf(gc->dir, sizeof(gc->dir), "%s", dir);
		snprintf(gc->image, sizeof(gc->image), "%s", src);
		gc->h = (int)json_integer_value(json_array_get(shape, 1));
		gc->w = (int)json_integer_value(json_array_get(shape, 2));
		ck_assert_int_eq(json_integer_value(json_array_get(shape, 3)), 3);
		gc->type = !strcmp(dt, "uint8") ? NN_U8 : !strcmp(dt, "int8") ? NN_I8 : NN_F32;
		ck_assert_msg(!strcmp(dt, "uint8") || !strcmp(dt, "int8") || !strcmp(dt, "float32"),
			      "%s: input dtype %s", dir, dt);
		ok = true;
	}
	json_decref(o);
	return ok;
}

/* Our tensor for gc: decode (full size, or with DCT scaling towards the
 * input size when scaled), resize, convert.  Returns a malloc'd buffer. */
static void *our_tensor(const struct golden_case *gc, bool scaled, size_t *bytes)
{
	char rel[512];
	ls_image im, r;
	ls_tensor_format f;
	void *t;

	snprintf(rel, sizeof(rel), "images/%s", gc->image);
	im = decode_shared(rel, scaled ? gc->w : 0, scaled ? gc->h : 0);
	ck_assert_int_eq(ls_image_resize_bilinear(&im, gc->w, gc->h, &r, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ls_tensor_format_init(&f, gc->type);
	*bytes = (size_t)gc->w * gc->h * 3 * (gc->type == NN_F32 ? 4 : 1);
	t = malloc(*bytes);
	ck_assert_int_eq(ls_image_to_tensor(&r, &f, t, *bytes, errbuf, sizeof(errbuf)), LS_IMG_OK);
	ls_image_free(&im);
	ls_image_free(&r);
	return t;
}

/* |ours - golden| in pixel levels (float inputs: times 127.5). */
static void compare_tensor(const struct golden_case *gc, const void *ours, const void *gold, size_t bytes,
			   double *mean, double *max, size_t *differing)
{
	size_t n = gc->type == NN_F32 ? bytes / 4 : bytes;
	double s = 0, mx = 0;

	*differing = 0;
	for (size_t i = 0; i < n; i++) {
		double d;
		if (gc->type == NN_F32)
			d = fabs((double)((const float *)ours)[i] - ((const float *)gold)[i]) * 127.5;
		else if (gc->type == NN_I8)
			d = abs(((const int8_t *)ours)[i] - ((const int8_t *)gold)[i]);
		else
			d = abs(((const uint8_t *)ours)[i] - ((const uint8_t *)gold)[i]);
		*differing += d != 0;
		s += d;
		mx = d > mx ? d : mx;
	}
	*mean = s / (double)n;
	*max = mx;
}

/* Every image case of every golden model, full-size decode: the input
 * tensor the reference fed, byte for byte. */
START_TEST(test_golden_inputs_exact)
{
	const char *root = ts_require_shared("golden");
	char rootdir[4096];
	DIR *md;
	struct dirent *m;
	int cases = 0;

	if (!root)
		return;
	snprintf(rootdir, sizeof(rootdir), "%s", root);
	md = opendir(rootdir);
	ck_assert_ptr_nonnull(md);
	while ((m = readdir(md))) {
		char mdir[4200];
		DIR *cd;
		struct dirent *c;

		if (m->d_name[0] == '.' || !strcmp(m->d_name, "bench"))
			continue;
		snprintf(mdir, sizeof(mdir), "%s/%s", rootdir, m->d_name);
		if (!(cd = opendir(mdir)))
			continue;
		while ((c = readdir(cd))) {
			char cdir[4300 + 256], gpath[4400 + 256];
			struct golden_case gc;
			void *ours, *gold;
			size_t bytes, gbytes, differing;
			double mean, max;

			if (c->d_name[0] == '.')
				continue;
			snprintf(cdir, sizeof(cdir), "%s/%s", mdir, c->d_name);
			if (!golden_case_load(cdir, &gc))
				continue;
			ours = our_tensor(&gc, false, &bytes);
			snprintf(gpath, sizeof(gpath), "%s/input_0.bin", cdir);
			gold = ts_read_file(gpath, &gbytes);
			ck_assert_msg(gold && gbytes == bytes, "%s: %zu bytes, expected %zu", gpath, gbytes,
				      bytes);
			compare_tensor(&gc, ours, gold, bytes, &mean, &max, &differing);
			ck_assert_msg(differing == 0,
				      "%s/%s (%s, %dx%d %s): %zu elements differ, mean %.4f, max %.2f "
				      "levels",
				      m->d_name, c->d_name, gc.image, gc.w, gc.h, nn_dtype_name(gc.type),
				      differing, mean, max);
			free(ours);
			free(gold);
			cases++;
		}
		closedir(cd);
	}
	closedir(md);
	fprintf(stderr, "image: %d golden image cases reproduced byte for byte\n", cases);
	ck_assert_msg(cases >= 20, "only %d golden image cases found", cases);
}
END_TEST

/* The server's fast path: JPEGs decoded with DCT scaling towards 224x224.
 * Of the three mobilenet_v2 cases only cat_720p (1280x720 -> 640x360) is
 * scaled; pets (512x430) and grace_hopper (PNG) are unaffected.
 *
 * Bound: mean abs diff < 2.0 levels (of 255).  A scaled pixel is the
 * average of a 2x2 block where the reference point-samples one pixel
 * between them, so the difference is the picture's local 2-pixel detail:
 * large (tens of levels) on a few sharp edges, zero on flat areas.  That is
 * the same kind and size of change as quality-90 JPEG compression makes to
 * a picture (grace_hopper_progressive.jpg vs the lossless grace_hopper.png,
 * both resized to 224x224: 1.70, printed below), noise every JPEG input
 * already carries and models are trained with.  2.0 is that level with
 * ~15% headroom; measured for cat_720p: 1.75 (max 37).  The bound only
 * catches gross errors (legacy non-half-pixel sampling: 5.9, swapped R/B:
 * 50); nearest-neighbour sampling would pass it (1.44), which is why the
 * byte-exact full-size test above guards the resize formula.  End to end,
 * the scaled cat keeps mobilenet_v1_0.25_224's top 5 in the same order
 * (Egyptian cat 0.475 vs the golden 0.407). */
START_TEST(test_golden_dct_scaled)
{
	static const char *const cases[] = {"cat_720p", "grace_hopper", "pets"};
	double jpeg_noise;
	int jmax;

	if (!ts_require_shared("golden"))
		return;
	{
		ls_image a = decode_shared("images/grace_hopper_progressive.jpg", 0, 0);
		ls_image b = decode_shared("images/grace_hopper.png", 0, 0), ra, rb;
		ck_assert_int_eq(ls_image_resize_bilinear(&a, 224, 224, &ra, errbuf, sizeof(errbuf)),
				 LS_IMG_OK);
		ck_assert_int_eq(ls_image_resize_bilinear(&b, 224, 224, &rb, errbuf, sizeof(errbuf)),
				 LS_IMG_OK);
		jpeg_noise = mean_abs_diff(&ra, &rb, &jmax);
		fprintf(stderr, "image: JPEG q90 vs lossless at 224x224: mean abs diff %.3f, max %d\n",
			jpeg_noise, jmax);
		ls_image_free(&a);
		ls_image_free(&b);
		ls_image_free(&ra);
		ls_image_free(&rb);
	}
	for (size_t i = 0; i < 3; i++) {
		char dir[4300], gpath[4400];
		const char *p = ts_shared_path("golden/mobilenet_v2_1.0_224_quant");
		struct golden_case gc;
		void *full, *scaled, *gold;
		size_t bytes, gbytes, d_full, d_scaled;
		double mean_full, max_full, mean_scaled, max_scaled;

		snprintf(dir, sizeof(dir), "%s/%s", p, cases[i]);
		ck_assert_msg(golden_case_load(dir, &gc), "%s: no image case", dir);
		snprintf(gpath, sizeof(gpath), "%s/input_0.bin", dir);
		gold = ts_read_file(gpath, &gbytes);
		full = our_tensor(&gc, false, &bytes);
		scaled = our_tensor(&gc, true, &bytes);
		ck_assert(gold && gbytes == bytes);
		compare_tensor(&gc, full, gold, bytes, &mean_full, &max_full, &d_full);
		compare_tensor(&gc, scaled, gold, bytes, &mean_scaled, &max_scaled, &d_scaled);
		fprintf(stderr,
			"image: mobilenet_v2_1.0_224_quant/%s: full decode mean abs diff %.4f max %.0f; "
			"DCT-scaled decode mean %.4f max %.0f (%zu of %zu bytes differ)\n",
			cases[i], mean_full, max_full, mean_scaled, max_scaled, d_scaled, bytes);
		ck_assert_msg(mean_full == 0, "%s: full decode differs", cases[i]);
		ck_assert_msg(mean_scaled < 2.0, "%s: DCT-scaled mean abs diff %.3f", cases[i], mean_scaled);
		free(full);
		free(scaled);
		free(gold);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("image");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_manifest_pictures);
	tcase_add_test(tc, test_grace_hopper_variants);
	tcase_add_test(tc, test_dct_scaling);
	tcase_add_test(tc, test_png_variants);
	tcase_add_test(tc, test_png_truncation);
	tcase_add_test(tc, test_exif_orientation);
	tcase_add_test(tc, test_exif_with_dct_scaling);
	tcase_add_test(tc, test_cmyk_ycck);
	tcase_add_test(tc, test_exif_hostile);
	tcase_add_test(tc, test_apply_orientation);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_jpeg_scan_bomb);
	tcase_add_test(tc, test_errors_before_allocation);
	tcase_add_test(tc, test_truncated_jpeg);
	tcase_add_test(tc, test_allocation_failures);
	tcase_add_test(tc, test_resize_known_values);
	tcase_add_test(tc, test_letterbox);
	tcase_add_test(tc, test_to_tensor);
	tcase_add_test(tc, test_golden_inputs_exact);
	tcase_add_test(tc, test_golden_dct_scaled);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
