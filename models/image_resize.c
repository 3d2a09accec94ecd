/* image_resize.c - bilinear resize, letterbox, pixels -> tensor (see image.h).
 *
 * DESIGN: the resize is TF's ResizeBilinear sampling with
 * half_pixel_centers (the golden inputs' preprocessing), so our input
 * tensors are the reference's: per output column/row the source position
 * s = (d + 0.5) * in/out - 0.5, neighbours floor(s) clamped at 0 and
 * ceil(s) clamped at in - 1, weight w = s - floor(s); a pixel is
 * top*(1-wy) + bottom*wy with top/bottom = left*(1-wx) + right*wx, rounded
 * half up.  Doing this in double precision, in exactly this order,
 * reproduces the golden input tensors bit for bit (0 differing bytes over
 * the 30 image cases; float32 arithmetic or another association order
 * differs in ~0.2% of the bytes, always by 1, on ties near .5).  The
 * per-column and per-row taps are computed once per call, so the inner loop
 * needs no bounds checks.
 *
 * The tensor conversion is a plain loop per dtype; element type and
 * normalisation are validated once before it.
 */
#define LS_IMAGE_INTERNAL
#include "image.h"

#include <math.h>
#include <string.h>

#include "alloc.h"

struct taps {
	int lo, hi; /* neighbour indices, already clamped */
	double t;   /* weight of hi */
};

static void compute_taps(int in, int out, struct taps *tp)
{
	double scale = (double)in / (double)out;

	for (int i = 0; i < out; i++) {
		double s = ((double)i + 0.5) * scale - 0.5;
		double f = floor(s);
		int lo = (int)f, hi = (int)ceil(s);

		tp[i].lo = lo < 0 ? 0 : lo > in - 1 ? in - 1 : lo;
		tp[i].hi = hi < 0 ? 0 : hi > in - 1 ? in - 1 : hi;
		tp[i].t = s - f;
	}
}

static ls_image_status check_src(const ls_image *src, int w, int h, char *errbuf, size_t errlen)
{
	if (!src || !src->pixels || src->width <= 0 || src->height <= 0 || src->channels != 3)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				     "resize needs a decoded 3-channel image");
	if (w <= 0 || h <= 0 || (uint64_t)w * h > LS_IMAGE_DEFAULT_MAX_PIXELS)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				     "resize target %dx%d is empty or over %llu pixels", w, h,
				     (unsigned long long)LS_IMAGE_DEFAULT_MAX_PIXELS);
	return LS_IMG_OK;
}

/* Resizes src to w x h into dst (row stride `stride` bytes). */
static ls_image_status resize_into(const ls_image *src, int w, int h, uint8_t *dst, size_t stride,
				   char *errbuf, size_t errlen)
{
	struct taps *tx, *ty;
	const size_t srow = (size_t)src->width * 3;

	tx = nn_malloc(sizeof(*tx) * ((size_t)w + h));
	if (!tx)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory resizing to %dx%d", w,
				     h);
	ty = tx + w;
	compute_taps(src->width, w, tx);
	compute_taps(src->height, h, ty);

	for (int y = 0; y < h; y++) {
		const uint8_t *r0 = src->pixels + (size_t)ty[y].lo * srow;
		const uint8_t *r1 = src->pixels + (size_t)ty[y].hi * srow;
		const double wy = ty[y].t;
		uint8_t *o = dst + (size_t)y * stride;

		for (int x = 0; x < w; x++) {
			const size_t a = (size_t)tx[x].lo * 3, b = (size_t)tx[x].hi * 3;
			const double wx = tx[x].t;

			for (int c = 0; c < 3; c++) {
				double top = r0[a + c] * (1.0 - wx) + r0[b + c] * wx;
				double bot = r1[a + c] * (1.0 - wx) + r1[b + c] * wx;
				double v = floor(top * (1.0 - wy) + bot * wy + 0.5);
				/* a convex combination of 8-bit values: v is in [0, 255]
				 * (and s < 0 only yields weights in [0,1] on one pixel) */
				*o++ = v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)v;
			}
		}
	}
	nn_free(tx);
	return LS_IMG_OK;
}

ls_image_status ls_image_resize_bilinear(const ls_image *src, int w, int h, ls_image *out, char *errbuf,
					 size_t errlen)
{
	ls_image r = {0};
	ls_image_status st;

	if (!out)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "no output image");
	if ((st = check_src(src, w, h, errbuf, errlen)) != LS_IMG_OK)
		return st;
	r.pixels = nn_malloc((size_t)w * h * 3);
	if (!r.pixels)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory for a %dx%d image", w,
				     h);
	if ((st = resize_into(src, w, h, r.pixels, (size_t)w * 3, errbuf, errlen)) != LS_IMG_OK) {
		nn_free(r.pixels);
		return st;
	}
	r.width = w;
	r.height = h;
	r.channels = 3;
	r.full_width = src->full_width;
	r.full_height = src->full_height;
	r.orientation = src->orientation;
	*out = r;
	return LS_IMG_OK;
}

ls_image_status ls_image_resize_letterbox(const ls_image *src, int w, int h, ls_image *out, ls_letterbox *box,
					  char *errbuf, size_t errlen)
{
	ls_image r = {0};
	ls_image_status st;
	ls_letterbox b;
	double s;

	if (!out)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "no output image");
	if ((st = check_src(src, w, h, errbuf, errlen)) != LS_IMG_OK)
		return st;
	/* the side that fills the canvas is the one with the smaller ratio */
	s = (double)w / src->width < (double)h / src->height ? (double)w / src->width
							     : (double)h / src->height;
	b.w = (int)lround(src->width * s);
	b.h = (int)lround(src->height * s);
	b.w = b.w < 1 ? 1 : b.w > w ? w : b.w;
	b.h = b.h < 1 ? 1 : b.h > h ? h : b.h;
	b.x = (w - b.w) / 2;
	b.y = (h - b.h) / 2;
	b.scale_x = (float)b.w / (float)src->width;
	b.scale_y = (float)b.h / (float)src->height;

	r.pixels = nn_calloc((size_t)w * h, 3); /* the padding is 0 */
	if (!r.pixels)
		return ls_image__err(errbuf, errlen, LS_IMG_NO_MEMORY, "out of memory for a %dx%d image", w,
				     h);
	st =
	    resize_into(src, b.w, b.h, r.pixels + ((size_t)b.y * w + b.x) * 3, (size_t)w * 3, errbuf, errlen);
	if (st != LS_IMG_OK) {
		nn_free(r.pixels);
		return st;
	}
	r.width = w;
	r.height = h;
	r.channels = 3;
	r.full_width = src->full_width;
	r.full_height = src->full_height;
	r.orientation = src->orientation;
	*out = r;
	if (box)
		*box = b;
	return LS_IMG_OK;
}

void ls_tensor_format_init(ls_tensor_format *f, nn_dtype type)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->mode = LS_TENSOR_PIXELS;
	for (int c = 0; c < 3; c++) {
		f->mean[c] = 127.5f;
		f->std[c] = 127.5f;
	}
	f->scale = 1.0f;
	f->zero_point = 0;
}

ls_image_status ls_image_to_tensor(const ls_image *img, const ls_tensor_format *f, void *dst,
				   size_t dst_bytes, char *errbuf, size_t errlen)
{
	size_t n, esize, need;
	const uint8_t *p;
	float inv[3], qmin = 0, qmax = 0;
	bool quant;

	if (!img || !img->pixels || img->width <= 0 || img->height <= 0 || img->channels != 3 || !f || !dst)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				     "tensor conversion needs a 3-channel image, a format and a buffer");
	switch (f->type) {
	case NN_U8:
		esize = 1;
		qmin = 0;
		qmax = 255;
		break;
	case NN_I8:
		esize = 1;
		qmin = -128;
		qmax = 127;
		break;
	case NN_F32:
		esize = 4;
		break;
	default:
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				     "input tensor type %s is not supported (uint8, int8, float32)",
				     nn_dtype_name(f->type));
	}
	if (f->mode != LS_TENSOR_PIXELS && f->mode != LS_TENSOR_QUANTIZE)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT, "unknown tensor mode %d",
				     (int)f->mode);
	quant = f->mode == LS_TENSOR_QUANTIZE && f->type != NN_F32;
	if (f->type == NN_F32 || quant) {
		for (int c = 0; c < 3; c++) {
			if (!(f->std[c] > 0.0f) || !isfinite(f->std[c]) || !isfinite(f->mean[c]))
				return ls_image__err(
				    errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				    "normalisation mean %g / std %g of channel %d is invalid", f->mean[c],
				    f->std[c], c);
			inv[c] = 1.0f / f->std[c];
		}
	}
	if (quant &&
	    (!(f->scale > 0.0f) || !isfinite(f->scale) || f->zero_point < qmin || f->zero_point > qmax))
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				     "quantization scale %g / zero point %d is invalid for %s", f->scale,
				     f->zero_point, nn_dtype_name(f->type));

	n = (size_t)img->width * img->height * 3;
	need = n * esize;
	if (dst_bytes != need)
		return ls_image__err(errbuf, errlen, LS_IMG_BAD_ARGUMENT,
				     "input tensor has %zu bytes, a %dx%d RGB %s image needs %zu", dst_bytes,
				     img->width, img->height, nn_dtype_name(f->type), need);
	p = img->pixels;

	if (quant) {
		for (size_t i = 0; i < n; i++) {
			int c = (int)(i % 3);
			/* divide as the model's own Quantize op would: r / scale */
			float r = ((float)p[i] - f->mean[c]) * inv[c];
			float q = roundf(r / f->scale) + (float)f->zero_point;
			q = q < qmin ? qmin : q > qmax ? qmax : q;
			if (f->type == NN_U8)
				((uint8_t *)dst)[i] = (uint8_t)q;
			else
				((int8_t *)dst)[i] = (int8_t)q;
		}
	} else if (f->type == NN_U8) {
		memcpy(dst, p, n);
	} else if (f->type == NN_I8) {
		for (size_t i = 0; i < n; i++)
			((int8_t *)dst)[i] = (int8_t)((int)p[i] - 128);
	} else {
		float *o = dst;
		for (size_t i = 0; i < n; i += 3)
			for (int c = 0; c < 3; c++)
				o[i + c] = ((float)p[i + c] - f->mean[c]) / f->std[c];
	}
	return LS_IMG_OK;
}
