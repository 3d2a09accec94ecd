/* fuzz_image.c - libFuzzer target: bytes -> JPEG/PNG decode -> model input.
 *
 * DESIGN: an uploaded picture is the hostile input every task endpoint
 * takes.  Each input runs the server's own path (pre_image_to_tensor:
 * sniff, header limits, libjpeg/libpng behind their error handlers, EXIF
 * orientation, resize, conversion) twice, as two models would see it: a
 * 224x224 uint8 input stretched with JPEG DCT scaling, and a 224x224
 * float32 input letterboxed from the full-resolution decode.  A small pixel
 * limit keeps every run fast and exercises the refusal path; the decoder's
 * own memory limit stays the server's.
 */
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

#define FZ_MAX_PIXELS 2000000 /* the seeds (720p photos) decode; bigger headers are refused */

static void one(nn_dtype type, bool letterbox, bool jpeg_scaling, const uint8_t *data, size_t size)
{
	nn_tensor x = {.name = "image", .type = type, .rank = 4, .dims = {1, 224, 224, 3}};
	pool_preprocess pre = {.raw = type != NN_F32, .letterbox = letterbox, .jpeg_scaling = jpeg_scaling};
	task_input in;
	pool_timing t = {0};
	nn_err err;

	x.bytes = 224 * 224 * 3 * nn_dtype_size(type);
	for (int c = 0; c < 3; c++) {
		pre.mean[c] = 127.5f;
		pre.std[c] = 127.5f;
	}
	if (pre_image_to_tensor(&x, &pre, FZ_MAX_PIXELS, data, size, NULL, &in, &t, &err) == POOL_OK) {
		/* the tensor must be exactly the input's size, and every byte written */
		if (in.bytes != x.bytes || !in.data)
			abort();
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < in.bytes; i++)
			sink ^= ((const uint8_t *)in.data)[i];
		(void)sink;
	}
	free(in.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(NN_U8, false, true, data, size);
	one(NN_F32, true, false, data, size);
	return 0;
}
