/* fuzz_flexbuf.c - libFuzzer target: bytes -> FlexBuffers reader.
 *
 * DESIGN: custom-op options come straight from a model file, so the reader
 * (engine/flexbuf.c) must survive any bytes.  From the root we walk every
 * value the API exposes: map keys and values (also looked up by their own
 * key and by a few names the detection op reads), vector elements, scalars
 * in every conversion, strings.  Offsets may point back into a parent, so a
 * hostile buffer can describe a tree far bigger than itself: depth and the
 * number of values visited are bounded to keep each run fast.
 */
#include <stdint.h>
#include <string.h>

#include "flexbuf.h"

#define FZ_MAX_DEPTH 12
#define FZ_MAX_VISITS 4096

static volatile uint64_t fz_sink; /* keeps the reads from being optimised away */

static void touch_bytes(const char *s, size_t len)
{
	uint64_t h = 0;

	for (size_t i = 0; i < len; i++)
		h = h * 31 + (uint8_t)s[i];
	fz_sink += h;
}

static void walk(const fx_ref *v, int depth, int *visits)
{
	const char *s;
	size_t len, n;
	fx_ref e;

	if (++*visits > FZ_MAX_VISITS)
		return;
	fz_sink += (uint64_t)fx_as_int(v, 7) + (uint64_t)fx_as_bool(v, false) + fx_is_null(v);
	{
		double d = fx_as_float(v, 0.5);
		uint64_t bits;

		memcpy(&bits, &d, sizeof(bits));
		fz_sink += bits;
	}
	if (fx_as_string(v, &s, &len))
		touch_bytes(s, len);
	if (depth >= FZ_MAX_DEPTH)
		return;
	n = fx_size(v);
	for (size_t i = 0; i < n && *visits <= FZ_MAX_VISITS; i++) {
		if (v->type == FX_MAP) {
			const char *k = fx_map_key_at(v, i);

			if (k) {
				touch_bytes(k, strlen(k));
				if (fx_map_get(v, k, &e))
					walk(&e, depth + 1, visits);
			}
		}
		if (fx_vec_at(v, i, &e))
			walk(&e, depth + 1, visits);
	}
	/* past the end must be refused, never read */
	if (fx_vec_at(v, n, &e))
		__builtin_trap();
	if (v->type == FX_MAP) {
		static const char *const names[] = {"max_detections", "nms_score_threshold", "y_scale", "", "zz"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (fx_map_get(v, names[i], &e))
				walk(&e, depth + 1, visits);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fx_ref root;
	nn_err err;
	int visits = 0;

	if (fx_root(data, size, &root, &err) != NN_OK)
		return 0;
	walk(&root, 0, &visits);
	return 0;
}
