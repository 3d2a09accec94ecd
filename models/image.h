/* image.h - image bytes -> 8-bit RGB pixels -> model input tensor.
 *
 * DESIGN: the request body of an image endpoint is hostile input.  Decoding
 * sniffs the format from its magic bytes (JPEG FF D8 FF, PNG 89 'PNG' ...),
 * reads the header and compares the claimed dimensions with the limits
 * BEFORE any pixel buffer exists, then decodes with libjpeg-turbo or libpng
 * behind their setjmp-based error handlers; every buffer we own lives in a
 * context struct in the caller's frame, so a longjmp out of the library can
 * never leak or leave a dangling pointer.  Every decoded image is 8-bit RGB,
 * row-major, channels = 3:
 *   - JPEG: baseline, progressive, grayscale (expanded to R=G=B), CMYK/YCCK
 *     (converted to RGB; Adobe-inverted CMYK recognised by its APP14 marker);
 *     EXIF orientation (APP1 "Exif", tag 0x0112, values 1-8) is applied so
 *     the pixels are the picture as a viewer shows it.  When the caller names
 *     the size it will resize to, libjpeg's DCT scaling (1/2, 1/4, 1/8)
 *     decodes big photos at the smallest scale that still covers that size:
 *     a 1280x720 JPEG bound for a 224x224 model is decoded at 640x360,
 *     roughly 3x cheaper.  Truncated data is an error (no grey fill-in);
 *     other libjpeg warnings (stray bytes before a marker...) are tolerated
 *     as browsers do.
 *   - PNG: every colour type and bit depth, interlaced or not: palette
 *     expanded, gray expanded to R=G=B, 16-bit scaled to 8 bits (rounded),
 *     ALPHA DROPPED (not composited): that is what TF's decode_png with
 *     channels=3 and the TF Lite example pipelines feed the model, so a
 *     transparent pixel yields its stored colour.  gAMA/iCCP are ignored
 *     (as TF does); EXIF in PNG (eXIf) is not read.
 * Resizing is TF's bilinear with half_pixel_centers=True (the golden data's
 * preprocessing), rounded to the nearest 8-bit value: with a full-size
 * decode our input tensors equal the golden ones byte for byte (DCT-scaled
 * JPEGs differ a little: a scaled-down pixel is a block average, not a
 * point sample; see test_image.c for the numbers);
 * an aspect-preserving letterbox variant pads with 0.  The tensor conversion
 * writes NHWC for uint8 (p), int8 (p - 128) or float32 ((p - mean) / std), or
 * quantizes (p - mean) / std with the tensor's own scale/zero point.
 *
 * This module knows nothing of HTTP; the engine knows nothing of images.
 * Pixel buffers are allocated through nn_malloc (engine/alloc.h) so tests can
 * inject allocation failures; libpng's allocations go through it too, while
 * libjpeg allocates with its own malloc and frees everything in
 * jpeg_destroy_decompress.  All functions are thread-safe (no global state).
 */
#ifndef LITESERVE_MODELS_IMAGE_H
#define LITESERVE_MODELS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h" /* nn_dtype */

/* ---- limits (defaults; callers override through ls_image_limits) ------- */
#define LS_IMAGE_DEFAULT_MAX_PIXELS 40000000ULL		  /* width*height of the stored picture */
#define LS_IMAGE_DEFAULT_MAX_SIDE 65535			  /* width or height (JPEG's own maximum) */
#define LS_IMAGE_DEFAULT_MAX_DECODER_BYTES (512ULL << 20) /* libjpeg whole-image buffers */
#define LS_IMAGE_MAX_JPEG_SCANS 1000			  /* progressive scans; real files have ~10 */
#define LS_IMAGE_MAX_PNG_CHUNK_BYTES (8u << 20)		  /* one ancillary chunk (iCCP, zTXt...) */
#define LS_IMAGE_MAX_PNG_CHUNKS 128			  /* ancillary chunks libpng may keep */

typedef enum ls_image_status {
	LS_IMG_OK = 0,
	LS_IMG_UNSUPPORTED_FORMAT, /* not JPEG/PNG, or a variant we lack (12-bit JPEG) */
	LS_IMG_CORRUPT,		   /* empty, truncated or malformed data */
	LS_IMG_TOO_LARGE,	   /* dimensions (or decoder memory) over the limits */
	LS_IMG_NO_MEMORY,	   /* an allocation failed */
	LS_IMG_BAD_ARGUMENT,	   /* caller error: NULL, size <= 0, dst size, dtype */
} ls_image_status;

/* "ok", "unsupported_format", "corrupt", "too_large", "no_memory",
 * "bad_argument": stable strings for logs and JSON error codes. */
const char *ls_image_status_name(ls_image_status s);

/* Bounds applied to the header of every decoded image.  A zero field means
 * "the default" so a zero-initialised struct is safe. */
typedef struct ls_image_limits {
	uint64_t max_pixels;	    /* width*height; 0 = LS_IMAGE_DEFAULT_MAX_PIXELS */
	int max_width;		    /* 0 = LS_IMAGE_DEFAULT_MAX_SIDE */
	int max_height;		    /* 0 = LS_IMAGE_DEFAULT_MAX_SIDE */
	uint64_t max_decoder_bytes; /* libjpeg's whole-image buffers (progressive
				       coefficients: ~2 bytes per pixel per
				       component); 0 = LS_IMAGE_DEFAULT_MAX_DECODER_BYTES */
} ls_image_limits;

/* A decoded picture.  Owns `pixels` (nn_malloc'd); release with
 * ls_image_free.  A zeroed struct is a valid empty image. */
typedef struct ls_image {
	int width, height; /* of `pixels` */
	int channels;	   /* always 3 (R, G, B) after decode and resize */
	uint8_t *pixels;   /* height rows of width*channels bytes, no padding */
	int full_width;	   /* the picture's displayed size at full resolution */
	int full_height;   /*   (after EXIF orientation, before DCT scaling) */
	int orientation;   /* EXIF orientation that was applied, 1 = none */
} ls_image;

/* Frees img->pixels and zeroes *img.  Accepts NULL and a zeroed image. */
void ls_image_free(ls_image *img);

/* Decodes a JPEG or PNG held in data[0..size) into *out (RGB, 3 channels).
 * - lim: NULL = defaults.  Dimensions are checked from the header before any
 *   pixel buffer is allocated.
 * - target_w, target_h: the size the caller will resize to, or 0, 0 for a
 *   full-resolution decode.  When both are > 0 a JPEG may be decoded with
 *   DCT scaling at 1/2, 1/4 or 1/8 provided the (oriented) result stays
 *   >= target_w x target_h; out->full_width/height keep the full size.
 * - errbuf/errlen: receives a one-line message naming the problem, e.g.
 *   "PNG header claims 100000x100000 pixels, limit is 40000000" (may be
 *   NULL/0).
 * Borrows data (not kept).  On success *out owns a new pixel buffer; on
 * failure *out is zeroed and nothing is left allocated. */
ls_image_status ls_image_decode(const uint8_t *data, size_t size, const ls_image_limits *lim, int target_w,
				int target_h, ls_image *out, char *errbuf, size_t errlen);

/* The EXIF orientation (1-8) in an APP1 payload that starts with
 * "Exif\0\0", or 0 when absent or malformed.  Every offset is bounds-checked
 * against len (the payload is attacker-controlled).  Borrows p. */
int ls_image_exif_orientation(const uint8_t *p, size_t len);

/* Rewrites img so that a picture stored with EXIF orientation `orientation`
 * (2-8; 1 and anything else are no-ops) is upright: flips in place,
 * rotations/transposes into a new buffer (old one freed; on NO_MEMORY img is
 * unchanged).  Sets img->orientation and swaps full_width/height for 5-8. */
ls_image_status ls_image_apply_orientation(ls_image *img, int orientation, char *errbuf, size_t errlen);

/* Bilinear resize of src (3 channels) to w x h, TF's half_pixel_centers=True
 * sampling: src = (dst + 0.5) * (in / out) - 0.5, lower index floor(src)
 * clamped at 0, upper ceil(src) clamped at in - 1, weight src - floor(src);
 * rows blended after columns, in double precision, rounded half up to 8
 * bits (this reproduces the golden input tensors exactly).  Borrows src; on
 * success *out owns a new buffer (out may not alias src). */
ls_image_status ls_image_resize_bilinear(const ls_image *src, int w, int h, ls_image *out, char *errbuf,
					 size_t errlen);

/* Where a letterboxed picture sits inside its w x h canvas. */
typedef struct ls_letterbox {
	int x, y;      /* top-left corner of the picture in the canvas */
	int w, h;      /* its size in the canvas */
	float scale_x; /* canvas pixels per source pixel, horizontally */
	float scale_y; /*   and vertically (equal up to rounding) */
} ls_letterbox;

/* Aspect-preserving resize: scales src so its longer side (relative to the
 * canvas) fits, centres it in a w x h canvas and pads with 0 (black).  The
 * picture itself is resized as by ls_image_resize_bilinear.  box (may be
 * NULL) receives the placement so detections can be mapped back.  Borrows
 * src; on success *out owns a new buffer. */
ls_image_status ls_image_resize_letterbox(const ls_image *src, int w, int h, ls_image *out, ls_letterbox *box,
					  char *errbuf, size_t errlen);

/* How pixels become tensor elements. */
typedef enum ls_tensor_mode {
	/* The TF Lite image-model convention (and the golden data's):
	 * uint8: p;  int8: p - 128;  float32: (p - mean[c]) / std[c]. */
	LS_TENSOR_PIXELS = 0,
	/* r = (p - mean[c]) / std[c], then uint8/int8 get
	 * clamp(round_half_away(r / scale) + zero_point); float32 gets r.  For
	 * quantized inputs whose scale/zero point are not the pixel convention. */
	LS_TENSOR_QUANTIZE,
} ls_tensor_mode;

typedef struct ls_tensor_format {
	nn_dtype type; /* NN_U8, NN_I8 or NN_F32 */
	ls_tensor_mode mode;
	float mean[3];	/* per channel R, G, B; default 127.5 */
	float std[3];	/* per channel, > 0; default 127.5 */
	float scale;	/* LS_TENSOR_QUANTIZE: the input tensor's scale (> 0) */
	int zero_point; /*   and zero point */
} ls_tensor_format;

/* PIXELS mode for `type`, mean = std = 127.5, scale 1, zero point 0. */
void ls_tensor_format_init(ls_tensor_format *f, nn_dtype type);

/* Writes img (3 channels) as one NHWC batch element [img->height,
 * img->width, 3] of f->type into dst, which must hold exactly dst_bytes =
 * height*width*3*element size bytes (anything else is LS_IMG_BAD_ARGUMENT,
 * which catches a size mismatch with the model).  Borrows both. */
ls_image_status ls_image_to_tensor(const ls_image *img, const ls_tensor_format *f, void *dst,
				   size_t dst_bytes, char *errbuf, size_t errlen);

#ifdef LS_IMAGE_INTERNAL
/* ---- shared by models/image*.c only ---------------------------------- */
#include <stdbool.h>

typedef struct ls_image_lim { /* ls_image_limits with the defaults filled in */
	uint64_t max_pixels;
	uint64_t max_width, max_height;
	uint64_t max_decoder_bytes;
} ls_image_lim;

/* Writes the message (if errbuf) and returns status. */
ls_image_status ls_image__err(char *errbuf, size_t errlen, ls_image_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* OK, or TOO_LARGE/CORRUPT with "<fmt> header claims WxH pixels, ..." */
ls_image_status ls_image__check_dims(const char *format, uint64_t w, uint64_t h, const ls_image_lim *lim,
				     char *errbuf, size_t errlen);
ls_image_status ls_image__jpeg_decode(const uint8_t *data, size_t size, const ls_image_lim *lim, int target_w,
				      int target_h, ls_image *out, char *errbuf, size_t errlen);
ls_image_status ls_image__png_decode(const uint8_t *data, size_t size, const ls_image_lim *lim, ls_image *out,
				     char *errbuf, size_t errlen);
#endif

#endif
