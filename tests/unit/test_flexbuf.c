/* test_flexbuf.c - the FlexBuffers reader.
 *
 * DESIGN: the detector's real custom options (read from the model file)
 * must decode to the values the MANIFEST lists; hand-built buffers cover
 * each scalar type and width, strings, keys, maps and typed vectors; every
 * truncation and many random corruptions of real options must be read
 * without a crash (the ASan build makes "without a crash" mean "without a
 * single out-of-bounds byte").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flexbuf.h"
#include "testutil.h"

#define DETECTOR "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"

static fx_ref root_of(const uint8_t *b, size_t n)
{
	fx_ref r;
	nn_err err;
	ck_assert_msg(fx_root(b, n, &r, &err) == NN_OK, "fx_root: %s", err.msg);
	return r;
}

START_TEST(test_detector_options)
{
	const char *path = ts_require_shared(DETECTOR);
	if (!path)
		return;
	tfl_model *m = NULL;
	nn_err err;
	ck_assert_msg(tfl_model_open(path, &m, &err) == NN_OK, "%s", err.msg);
	const tfl_op *op = NULL;
	for (int i = 0; i < m->n_ops; i++)
		if (m->ops[i].custom_name && !strcmp(m->ops[i].custom_name, "TFLite_Detection_PostProcess"))
			op = &m->ops[i];
	ck_assert_ptr_nonnull(op);
	ck_assert_ptr_nonnull(op->custom_options);
	fx_ref root = root_of(op->custom_options, op->custom_options_size), v;
	ck_assert_int_eq(root.type, FX_MAP);
	ck_assert(fx_map_get(&root, "max_detections", &v));
	ck_assert_int_eq(fx_as_int(&v, -1), 10);
	ck_assert(fx_map_get(&root, "max_classes_per_detection", &v));
	ck_assert_int_eq(fx_as_int(&v, -1), 1);
	ck_assert(fx_map_get(&root, "num_classes", &v));
	ck_assert_int_eq(fx_as_int(&v, -1), 90);
	ck_assert(fx_map_get(&root, "nms_iou_threshold", &v));
	ck_assert_float_eq((float)fx_as_float(&v, -1), 0.6f);
	ck_assert(fx_map_get(&root, "nms_score_threshold", &v));
	ck_assert_float_eq((float)fx_as_float(&v, -1), 1e-8f);
	const char *sk[] = {"y_scale", "x_scale", "h_scale", "w_scale"};
	const double sv[] = {10, 10, 5, 5};
	for (int i = 0; i < 4; i++) {
		ck_assert(fx_map_get(&root, sk[i], &v));
		ck_assert_msg(fx_as_float(&v, -1) == sv[i], "%s = %g", sk[i], fx_as_float(&v, -1));
	}
	ck_assert(fx_map_get(&root, "_output_quantized", &v));
	ck_assert(fx_as_bool(&v, false));
	ck_assert(!fx_map_get(&root, "use_regular_nms", &v));
	ck_assert(!fx_map_get(&root, "detections_per_class", &v));
	ck_assert(!fx_map_get(&root, "", &v));
	size_t n = fx_size(&root);
	ck_assert_uint_eq(n, 10);
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(fx_map_key_at(&root, i));
		if (i)
			ck_assert(strcmp(fx_map_key_at(&root, i - 1), fx_map_key_at(&root, i)) < 0);
	}
	ck_assert_ptr_null(fx_map_key_at(&root, n));
	tfl_model_free(m);
}
END_TEST

START_TEST(test_scalars)
{
	/* inline ints of each width, signed */
	const uint8_t i8[] = {0xFF, FX_INT << 2 | 0, 1};
	fx_ref r = root_of(i8, sizeof(i8));
	ck_assert_int_eq(fx_as_int(&r, 0), -1);
	ck_assert(fx_as_float(&r, 0) == -1.0);
	ck_assert(fx_as_bool(&r, false));
	const uint8_t i16[] = {0x34, 0x12, FX_INT << 2 | 1, 2};
	r = root_of(i16, sizeof(i16));
	ck_assert_int_eq(fx_as_int(&r, 0), 0x1234);
	const uint8_t i32[] = {0xFE, 0xFF, 0xFF, 0xFF, FX_INT << 2 | 2, 4};
	r = root_of(i32, sizeof(i32));
	ck_assert_int_eq(fx_as_int(&r, 0), -2);
	const uint8_t i64[] = {1, 0, 0, 0, 0, 0, 0, 0x80, FX_INT << 2 | 3, 8};
	r = root_of(i64, sizeof(i64));
	ck_assert(fx_as_int(&r, 0) == INT64_MIN + 1);
	/* uint and bool */
	const uint8_t u8[] = {0xFF, FX_UINT << 2, 1};
	r = root_of(u8, sizeof(u8));
	ck_assert_int_eq(fx_as_int(&r, 0), 255);
	const uint8_t b0[] = {0, FX_BOOL << 2, 1}, b1[] = {1, FX_BOOL << 2, 1};
	r = root_of(b0, sizeof(b0));
	ck_assert(!fx_as_bool(&r, true));
	r = root_of(b1, sizeof(b1));
	ck_assert(fx_as_bool(&r, false));
	ck_assert_int_eq(fx_as_int(&r, 0), 1);
	/* floats: 4 and 8 bytes; truncation to int */
	uint8_t f4[6];
	float f = 1.75f;
	memcpy(f4, &f, 4);
	f4[4] = FX_FLOAT << 2 | 2;
	f4[5] = 4;
	r = root_of(f4, sizeof(f4));
	ck_assert(fx_as_float(&r, 0) == 1.75);
	ck_assert_int_eq(fx_as_int(&r, 0), 1);
	uint8_t f8[10];
	double dv = -2.5e-9;
	memcpy(f8, &dv, 8);
	f8[8] = FX_FLOAT << 2 | 3;
	f8[9] = 8;
	r = root_of(f8, sizeof(f8));
	ck_assert(fx_as_float(&r, 0) == -2.5e-9);
	/* a 1-byte float slot is not a float we read */
	const uint8_t f1[] = {7, FX_FLOAT << 2, 1};
	r = root_of(f1, sizeof(f1));
	ck_assert(fx_as_float(&r, 42.0) == 42.0);
	/* NaN and huge floats: ints fall back to the default */
	dv = NAN;
	memcpy(f8, &dv, 8);
	r = root_of(f8, sizeof(f8));
	ck_assert_int_eq(fx_as_int(&r, 77), 77);
	dv = 1e300;
	memcpy(f8, &dv, 8);
	r = root_of(f8, sizeof(f8));
	ck_assert_int_eq(fx_as_int(&r, 77), 77);
	/* indirect scalars: the slot holds a backwards offset */
	uint8_t ind[7];
	f = 2.5f;
	memcpy(ind, &f, 4);
	ind[4] = 4;
	ind[5] = FX_INDIRECT_FLOAT << 2 | 2;
	ind[6] = 1;
	r = root_of(ind, sizeof(ind));
	ck_assert(fx_as_float(&r, 0) == 2.5);
	const uint8_t ii[] = {0x00, 0x80, 2, FX_INDIRECT_INT << 2 | 1, 1};
	r = root_of(ii, sizeof(ii));
	ck_assert_int_eq(fx_as_int(&r, 0), -32768);
	const uint8_t iu[] = {0xFF, 0xFF, 2, FX_INDIRECT_UINT << 2 | 1, 1};
	r = root_of(iu, sizeof(iu));
	ck_assert_int_eq(fx_as_int(&r, 0), 65535);
	/* offset pointing before the buffer */
	const uint8_t bad[] = {9, FX_INDIRECT_INT << 2, 1};
	r = root_of(bad, sizeof(bad));
	ck_assert_int_eq(fx_as_int(&r, 5), 5);
	/* null */
	const uint8_t nul[] = {0, FX_NULL << 2, 1};
	r = root_of(nul, sizeof(nul));
	ck_assert(fx_is_null(&r));
	ck_assert_int_eq(fx_as_int(&r, 3), 3);
}
END_TEST

START_TEST(test_strings_maps_vectors)
{
	const char *s;
	size_t len;
	/* string "abc": length prefix, bytes, NUL */
	const uint8_t str[] = {3, 'a', 'b', 'c', 0, 4, FX_STRING << 2, 1};
	fx_ref r = root_of(str, sizeof(str)), v;
	ck_assert(fx_as_string(&r, &s, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert(!memcmp(s, "abc", 3));
	ck_assert_int_eq(fx_as_int(&r, -9), -9);
	/* a string claiming more bytes than there are */
	const uint8_t str2[] = {50, 'a', 'b', 'c', 0, 4, FX_STRING << 2, 1};
	r = root_of(str2, sizeof(str2));
	ck_assert(!fx_as_string(&r, &s, &len));
	/* key */
	const uint8_t key[] = {'k', 'e', 'y', 0, 4, FX_KEY << 2, 1};
	r = root_of(key, sizeof(key));
	ck_assert(fx_as_string(&r, &s, &len));
	ck_assert_str_eq(s, "key");
	const uint8_t key2[] = {'k', 'e', 'y', 'x', 4, FX_KEY << 2, 1}; /* no NUL anywhere after the key */
	r = root_of(key2, sizeof(key2));
	ck_assert(!fx_as_string(&r, &s, &len));
	/* map {"a": 7, "b": true}, width 1 */
	const uint8_t map[] = {'a', 0, 'b', 0,			  /* keys */
			       2, 5, 4,				  /* keys vector: size, slots -> 0, 2 */
			       2, 1, 2,				  /* keys offset (-> 5), keys width, size */
			       7, 1,				  /* values */
			       FX_INT << 2, FX_BOOL << 2,	  /* value types */
			       4, FX_MAP << 2, 1};
	r = root_of(map, sizeof(map));
	ck_assert_int_eq(r.type, FX_MAP);
	ck_assert_uint_eq(fx_size(&r), 2);
	ck_assert_str_eq(fx_map_key_at(&r, 0), "a");
	ck_assert_str_eq(fx_map_key_at(&r, 1), "b");
	ck_assert(fx_map_get(&r, "a", &v));
	ck_assert_int_eq(fx_as_int(&v, 0), 7);
	ck_assert(fx_map_get(&r, "b", &v));
	ck_assert(fx_as_bool(&v, false));
	ck_assert(!fx_map_get(&r, "c", &v));
	ck_assert(fx_vec_at(&r, 1, &v));
	ck_assert_int_eq(v.type, FX_BOOL);
	ck_assert(!fx_vec_at(&r, 2, &v));
	/* the same map with a count larger than the buffer */
	uint8_t map2[sizeof(map)];
	memcpy(map2, map, sizeof(map));
	map2[9] = 200;
	r = root_of(map2, sizeof(map2));
	ck_assert_uint_eq(fx_size(&r), 0);
	ck_assert(!fx_map_get(&r, "a", &v));
	/* a map get on a non-map */
	const uint8_t i8[] = {1, FX_INT << 2, 1};
	r = root_of(i8, sizeof(i8));
	ck_assert(!fx_map_get(&r, "a", &v));
	/* typed int vector [10, -11] of width 1, and of width 2 */
	const uint8_t tv[] = {2, 10, 0xF5, 2, FX_VECTOR_INT << 2, 1};
	r = root_of(tv, sizeof(tv));
	ck_assert_uint_eq(fx_size(&r), 2);
	ck_assert(fx_vec_at(&r, 1, &v));
	ck_assert_int_eq(fx_as_int(&v, 0), -11);
	const uint8_t tv2[] = {2, 0, 0x10, 0x27, 0xFF, 0xFF, 4, FX_VECTOR_UINT << 2 | 1, 1};
	r = root_of(tv2, sizeof(tv2));
	ck_assert(fx_vec_at(&r, 0, &v));
	ck_assert_int_eq(fx_as_int(&v, 0), 10000);
	ck_assert(fx_vec_at(&r, 1, &v));
	ck_assert_int_eq(fx_as_int(&v, 0), 65535);
	/* fixed float3 */
	uint8_t fv[15];
	float x3[3] = {1.0f, -2.0f, 0.25f};
	memcpy(fv, x3, 12);
	fv[12] = 12;
	fv[13] = FX_VECTOR_FLOAT3 << 2 | 2;
	fv[14] = 1;
	r = root_of(fv, sizeof(fv));
	ck_assert_uint_eq(fx_size(&r), 3);
	ck_assert(fx_vec_at(&r, 2, &v));
	ck_assert(fx_as_float(&v, 0) == 0.25);
	/* untyped vector [5, 1.5f] with width 4 */
	uint8_t uv[4 + 8 + 2 + 3];
	uint32_t cnt = 2, five = 5;
	float onehalf = 1.5f;
	memcpy(uv, &cnt, 4);
	memcpy(uv + 4, &five, 4);
	memcpy(uv + 8, &onehalf, 4);
	uv[12] = FX_INT << 2 | 2;
	uv[13] = FX_FLOAT << 2 | 2;
	uv[14] = 10; /* slot at 14 -> 4 */
	uv[15] = FX_VECTOR << 2 | 2;
	uv[16] = 1;
	r = root_of(uv, sizeof(uv));
	ck_assert_uint_eq(fx_size(&r), 2);
	ck_assert(fx_vec_at(&r, 0, &v));
	ck_assert_int_eq(fx_as_int(&v, 0), 5);
	ck_assert(fx_vec_at(&r, 1, &v));
	ck_assert(fx_as_float(&v, 0) == 1.5);
}
END_TEST

START_TEST(test_root_errors)
{
	fx_ref r;
	nn_err err;
	const uint8_t two[] = {1, 1};
	ck_assert_int_eq(fx_root(two, 2, &r, &err), NN_ERR_BAD_MODEL);
	ck_assert_ptr_nonnull(strstr(err.msg, "too short"));
	ck_assert_int_eq(fx_root(NULL, 0, &r, &err), NN_ERR_BAD_MODEL);
	const uint8_t w3[] = {0, 4, 3};
	ck_assert_int_eq(fx_root(w3, 3, &r, &err), NN_ERR_BAD_MODEL);
	ck_assert_ptr_nonnull(strstr(err.msg, "width 3"));
	const uint8_t w8[] = {0, 4, 8};
	ck_assert_int_eq(fx_root(w8, 3, &r, &err), NN_ERR_BAD_MODEL);
}
END_TEST

/* Touches everything reachable from a root. */
static void walk(const fx_ref *r, int depth)
{
	const char *s;
	size_t len;
	(void)fx_as_int(r, 0);
	(void)fx_as_float(r, 0);
	(void)fx_as_bool(r, false);
	if (fx_as_string(r, &s, &len) && len)
		(void)s[len - 1];
	if (depth > 3)
		return;
	size_t n = fx_size(r);
	for (size_t i = 0; i < n && i < 64; i++) {
		fx_ref v;
		const char *k = fx_map_key_at(r, i);
		if (k)
			(void)strlen(k);
		if (fx_vec_at(r, i, &v))
			walk(&v, depth + 1);
	}
	fx_ref v;
	(void)fx_map_get(r, "max_detections", &v);
}

START_TEST(test_hostile)
{
	const char *path = ts_require_shared(DETECTOR);
	if (!path)
		return;
	tfl_model *m = NULL;
	nn_err err;
	ck_assert_msg(tfl_model_open(path, &m, &err) == NN_OK, "%s", err.msg);
	const tfl_op *op = NULL;
	for (int i = 0; i < m->n_ops; i++)
		if (m->ops[i].custom_name)
			op = &m->ops[i];
	ck_assert_ptr_nonnull(op);
	size_t n = op->custom_options_size;
	/* each copy is exactly as long as the data, so ASan sees any overrun */
	for (size_t len = 0; len <= n; len++) {
		uint8_t *b = malloc(len ? len : 1);
		memcpy(b, op->custom_options + (n - len), len); /* suffixes keep the root trailer */
		fx_ref r;
		if (fx_root(b, len, &r, &err) == NN_OK)
			walk(&r, 0);
		memcpy(b, op->custom_options, len); /* prefixes lose it */
		if (fx_root(b, len, &r, &err) == NN_OK)
			walk(&r, 0);
		free(b);
	}
	uint32_t seed = 12345;
	for (int it = 0; it < 20000; it++) {
		uint8_t *b = malloc(n);
		memcpy(b, op->custom_options, n);
		int flips = 1 + (int)(ts_rand(&seed) % 4);
		for (int k = 0; k < flips; k++) {
			size_t at = ts_rand(&seed) % n;
			/* bias towards the trailer and small values (widths, types) */
			if (k == 0 && (ts_rand(&seed) & 1))
				at = n - 1 - ts_rand(&seed) % (n < 24 ? n : 24);
			b[at] = (uint8_t)ts_rand(&seed);
		}
		fx_ref r;
		if (fx_root(b, n, &r, &err) == NN_OK)
			walk(&r, 0);
		free(b);
	}
	tfl_model_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flexbuf");
	TCase *tc = tcase_create("flexbuf");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_detector_options);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_strings_maps_vectors);
	tcase_add_test(tc, test_root_errors);
	tcase_add_test(tc, test_hostile);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
