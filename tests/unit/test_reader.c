/* test_reader.c - the .tflite reader against built, real and hostile files.
 *
 * Every shared model must open; every truncation of one inside its
 * flatbuffer must be refused with a message; random byte flips must never
 * crash the reader or graph preparation (ASan build checks memory); each
 * kind of hostile field is refused by name; and a failed allocation at any
 * point of loading returns NN_ERR_NO_MEMORY without leaking.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "testutil.h"
#include "tflite_builder.h"

/* A one-op model: y = CONV_2D(x, w, b) with per-axis quantized weights. */
static uint8_t *build_small(size_t *size)
{
	tb_model *b = tb_new();
	float w[2 * 3 * 3 * 4] = {0}, bias[2] = {0.5f, -0.5f};
	float scales[2] = {0.5f, 0.25f};
	int64_t zps[2] = {0, 0};
	tb_quant q = {2, scales, zps, 0};
	tb_opts o = {0};
	int x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){1, 5, 5, 4}, NULL, 0, NULL);
	int wt = tb_tensor(b, "w", NN_F32, 4, (int32_t[]){2, 3, 3, 4}, w, sizeof(w), &q);
	int bt = tb_tensor(b, "b", NN_F32, 1, (int32_t[]){2}, bias, sizeof(bias), NULL);
	int y = tb_tensor(b, "y", NN_F32, 4, (int32_t[]){1, 3, 3, 2}, NULL, 0, NULL);
	uint8_t *bytes;

	tb_opt_i8(&o, 0, 1);  /* VALID */
	tb_opt_i32(&o, 1, 1); /* stride_w */
	tb_opt_i32(&o, 2, 1); /* stride_h */
	tb_opt_i8(&o, 3, 3);  /* RELU6 */
	tb_op(b, 3, NULL, 1, (int[]){x, wt, bt}, 3, (int[]){y}, 1, 1, &o);
	tb_op(b, 32, "MyCustomOp", 1, (int[]){y}, 1, (int[]){y}, 1, 0, NULL);
	tb_op_custom_options(b, "\x01\x02\x03", 3);
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	bytes = tb_finish(b, size);
	tb_free(b);
	return bytes;
}

START_TEST(test_builder_roundtrip)
{
	size_t size;
	uint8_t *bytes = build_small(&size);
	tfl_model *m = NULL;
	nn_err err = {0};

	ck_assert_int_eq(tfl_model_from_memory(bytes, size, true, &m, &err), NN_OK);
	ck_assert_int_eq(m->n_tensors, 4);
	ck_assert_int_eq(m->n_ops, 2);
	ck_assert_str_eq(m->tensors[1].name, "w");
	ck_assert_int_eq(m->tensors[1].rank, 4);
	ck_assert_int_eq(m->tensors[1].dims[3], 4);
	ck_assert_uint_eq(m->tensors[1].data_size, 2 * 3 * 3 * 4 * sizeof(float));
	ck_assert_int_eq(m->tensors[1].quant.n, 2);
	ck_assert_float_eq(m->tensors[1].quant.scale[1], 0.25f);
	ck_assert_ptr_null(m->tensors[0].data);
	ck_assert_int_eq(m->ops[0].builtin, 3);
	ck_assert(m->ops[0].has_options);
	ck_assert_int_eq(fb_i8(&m->ops[0].options, 0, 0), 1);
	ck_assert_int_eq(fb_i8(&m->ops[0].options, 3, 0), 3);
	ck_assert_int_eq(fb_i32(&m->ops[0].options, 4, 1), 1); /* absent: default */
	ck_assert_int_eq(m->ops[1].builtin, TFL_BUILTIN_CUSTOM);
	ck_assert_str_eq(m->ops[1].custom_name, "MyCustomOp");
	ck_assert_uint_eq(m->ops[1].custom_options_size, 3);
	ck_assert_int_eq(m->ops[1].custom_options[2], 3);
	ck_assert_int_eq(m->n_inputs, 1);
	ck_assert_int_eq(m->outputs[0], 3);
	tfl_model_free(m);
	free(bytes);
}
END_TEST

START_TEST(test_unknown_custom_op_named)
{
	size_t size;
	uint8_t *bytes = build_small(&size);
	tfl_model *m = NULL;
	nn_graph *g = NULL;
	nn_err err = {0};

	ck_assert_int_eq(tfl_model_from_memory(bytes, size, false, &m, &err), NN_OK);
	ck_assert_int_eq(nn_graph_create(m, &g, &err), NN_ERR_UNSUPPORTED);
	ck_assert_msg(strstr(err.msg, "unsupported custom op MyCustomOp (operator 1)"), "message: %s", err.msg);
	tfl_model_free(m);
	free(bytes);
}
END_TEST

static int is_tflite(const char *name)
{
	size_t n = strlen(name);
	return n > 7 && !strcmp(name + n - 7, ".tflite");
}

/* Calls fn on every .tflite in shared/models and shared/models/bench. */
static int for_each_shared_model(void (*fn)(const char *path, const char *name))
{
	static const char *const dirs[] = {"models", "models/bench"};
	int count = 0;

	for (int d = 0; d < 2; d++) {
		const char *dir = ts_require_shared(dirs[d]);
		char base[4096];
		DIR *dh;
		struct dirent *e;

		if (!dir)
			return -1;
		snprintf(base, sizeof(base), "%s", dir);
		dh = opendir(base);
		ck_assert_ptr_nonnull(dh);
		while ((e = readdir(dh))) {
			char path[8192];
			if (!is_tflite(e->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
			fn(path, e->d_name);
			count++;
		}
		closedir(dh);
	}
	return count;
}

static void open_one(const char *path, const char *name)
{
	tfl_model *m = NULL;
	nn_err err = {0};

	ck_assert_msg(tfl_model_open(path, &m, &err) == NN_OK, "%s: %s", name, err.msg);
	ck_assert_int_gt(m->n_ops, 0);
	ck_assert_int_gt(m->n_inputs, 0);
	ck_assert_int_gt(m->n_outputs, 0);
	ck_assert_uint_le(m->flatbuffer_end, m->size);
	tfl_model_free(m);
}

START_TEST(test_shared_models_open)
{
	int n = for_each_shared_model(open_one);
	if (n >= 0)
		ck_assert_int_ge(n, 19);
}
END_TEST

static void truncate_one(const char *path, const char *name)
{
	size_t size;
	uint8_t *bytes = ts_read_file(path, &size);
	tfl_model *m = NULL;
	nn_err err = {0};
	size_t end;

	ck_assert_ptr_nonnull(bytes);
	ck_assert_int_eq(tfl_model_from_memory(bytes, size, false, &m, &err), NN_OK);
	end = m->flatbuffer_end;
	tfl_model_free(m);
	/* Cuts inside the part the flatbuffer references must all be refused. */
	for (int k = 0; k < 24; k++) {
		size_t cut = k < 8 ? (size_t)k * 3 : end * (size_t)(k - 7) / 17;
		if (cut >= end)
			cut = end - 1;
		err.msg[0] = 0;
		ck_assert_msg(tfl_model_from_memory(bytes, cut, false, &m, &err) != NN_OK,
			      "%s truncated to %zu of %zu bytes was accepted", name, cut, size);
		ck_assert_msg(strlen(err.msg) > 10, "%s cut at %zu: no message", name, cut);
		ck_assert_ptr_null(m);
	}
	free(bytes);
}

START_TEST(test_truncated_refused)
{
	for_each_shared_model(truncate_one);
}
END_TEST

/* Random bit flips: the reader (and, when it accepts, the graph) must not crash. */
START_TEST(test_bit_flips_never_crash)
{
	const char *path = ts_require_shared("models/mobilenet_v1_0.25_128_quant.tflite");
	size_t size;
	uint8_t *orig, *bytes;
	uint32_t seed = 42;
	int refused = 0;

	if (!path)
		return;
	orig = ts_read_file(path, &size);
	ck_assert_ptr_nonnull(orig);
	bytes = malloc(size);
	for (int it = 0; it < 400; it++) {
		tfl_model *m = NULL;
		nn_graph *g = NULL;
		nn_err err = {0};
		memcpy(bytes, orig, size);
		for (int f = 0; f < 1 + (int)(ts_rand(&seed) % 4); f++) {
			/* mostly in the structural head of the file, where offsets live */
			size_t pos = (it % 2) ? ts_rand(&seed) % 4096 : ts_rand(&seed) % size;
			if (pos < 4096 && size > 4096) {
				/* the table region is at the start and the end of TOCO files */
				if (ts_rand(&seed) & 1)
					pos = size - 1 - pos;
			}
			bytes[pos] ^= (uint8_t)(1u << (ts_rand(&seed) % 8));
		}
		if (tfl_model_from_memory(bytes, size, false, &m, &err) != NN_OK) {
			refused++;
			ck_assert(strlen(err.msg) > 0);
			continue;
		}
		if (nn_graph_create(m, &g, &err) == NN_OK)
			nn_graph_free(g);
		tfl_model_free(m);
	}
	fprintf(stderr, "bit flips: %d of 400 refused by the reader\n", refused);
	free(bytes);
	free(orig);
}
END_TEST

/* Hostile fields, one at a time, patched into a built model. */
typedef struct hostile {
	const char *what;
	const char *expect; /* substring of the error message */
} hostile;

static nn_status load_bytes(const uint8_t *b, size_t n, nn_err *err)
{
	tfl_model *m = NULL;
	nn_graph *g = NULL;
	nn_status st = tfl_model_from_memory(b, n, false, &m, err);
	if (st == NN_OK) {
		st = nn_graph_create(m, &g, err);
		nn_graph_free(g);
		tfl_model_free(m);
	}
	return st;
}

START_TEST(test_hostile_fields)
{
	nn_err err = {0};
	uint8_t *bytes;
	size_t size;

	/* op input index out of range */
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);
		tb_op(b, 14, NULL, 1, (int[]){x}, 1, (int[]){7}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){x});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_BAD_MODEL);
		ck_assert_msg(strstr(err.msg, "outputs[0] = 7 is not a tensor index"), "%s", err.msg);
		free(bytes);
	}
	/* constant whose buffer does not match its shape */
	{
		tb_model *b = tb_new();
		float d[3] = {1, 2, 3};
		int x = tb_tensor(b, "c", NN_F32, 1, (int32_t[]){4}, d, sizeof(d), NULL);
		tb_io(b, 0, NULL, 1, (int[]){x});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_BAD_MODEL);
		ck_assert_msg(strstr(err.msg, "buffer has 12 bytes but shape needs 16"), "%s", err.msg);
		free(bytes);
	}
	/* rank above the limit, negative dimension, unknown type */
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 7, (int32_t[]){1, 1, 1, 1, 1, 1, 1}, NULL, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){x});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_UNSUPPORTED);
		ck_assert_msg(strstr(err.msg, "rank 7 exceeds"), "%s", err.msg);
		free(bytes);
	}
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 2, (int32_t[]){1, -5}, NULL, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){x});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_BAD_MODEL);
		ck_assert_msg(strstr(err.msg, "dimension 1 is -5"), "%s", err.msg);
		free(bytes);
	}
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", (nn_dtype)99, 1, (int32_t[]){1}, NULL, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){x});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_BAD_MODEL);
		ck_assert_msg(strstr(err.msg, "unknown type 99"), "%s", err.msg);
		free(bytes);
	}
	/* per-axis scales that do not match the quantized dimension */
	{
		tb_model *b = tb_new();
		float s[3] = {1, 1, 1};
		int64_t z[3] = {0};
		tb_quant q = {3, s, z, 1};
		int x = tb_tensor(b, "x", NN_I8, 2, (int32_t[]){3, 2}, NULL, 0, &q);
		tb_io(b, 1, (int[]){x}, 1, (int[]){x});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_BAD_MODEL);
		ck_assert_msg(strstr(err.msg, "3 per-axis scales do not match dimension 1"), "%s", err.msg);
		free(bytes);
	}
	/* a graph that reads a tensor no op writes */
	{
		tb_model *b = tb_new();
		int x = tb_tensor(b, "x", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);
		int u = tb_tensor(b, "unwritten", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);
		int y = tb_tensor(b, "y", NN_F32, 1, (int32_t[]){4}, NULL, 0, NULL);
		tb_op(b, 32, "NoSuchOp", 1, (int[]){x, u}, 2, (int[]){y}, 1, 0, NULL);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
		bytes = tb_finish(b, &size);
		tb_free(b);
		ck_assert_int_eq(load_bytes(bytes, size, &err), NN_ERR_UNSUPPORTED);
		ck_assert_msg(strstr(err.msg, "NoSuchOp"), "%s", err.msg);
		free(bytes);
	}
	/* a vector length that claims more bytes than the file has */
	{
		size_t n;
		uint8_t *bb = build_small(&n);
		int patched = 0;
		/* the shape vector [1,5,5,4] of x: length 4 then 1,5,5,4 */
		static const uint8_t pat[] = {4, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0};
		for (size_t i = 0; i + sizeof(pat) <= n && !patched; i++)
			if (!memcmp(bb + i, pat, sizeof(pat))) {
				bb[i] = 0xff, bb[i + 1] = 0xff, bb[i + 2] = 0xff, bb[i + 3] = 0x0f;
				patched = 1;
			}
		ck_assert(patched);
		ck_assert_int_eq(load_bytes(bb, n, &err), NN_ERR_BAD_MODEL);
		ck_assert_msg(strstr(err.msg, "past the end"), "%s", err.msg);
		free(bb);
	}
	/* not a TFLite file at all */
	ck_assert_int_eq(load_bytes((const uint8_t *)"hello world, not a model", 24, &err), NN_ERR_BAD_MODEL);
	ck_assert_msg(strstr(err.msg, "not a TFLite model"), "%s", err.msg);
	ck_assert_int_eq(load_bytes((const uint8_t *)"TFL3", 4, &err), NN_ERR_BAD_MODEL);
}
END_TEST

/* Fail the Nth allocation of open + prepare for every N until loading succeeds. */
START_TEST(test_allocation_failures)
{
	const char *path = ts_require_shared("models/mobilenet_v1_0.25_224.tflite");
	size_t size;
	uint8_t *bytes;
	int n, ok = 0;

	if (!path)
		return;
	bytes = ts_read_file(path, &size);
	ck_assert_ptr_nonnull(bytes);
	for (n = 0; n < 10000 && !ok; n++) {
		tfl_model *m = NULL;
		nn_graph *g = NULL;
		nn_session *s = NULL;
		nn_err err = {0};
		nn_status st;

		nn_alloc_fail_after(n);
		st = tfl_model_from_memory(bytes, size, true, &m, &err);
		if (st == NN_OK)
			st = nn_graph_create(m, &g, &err);
		if (st == NN_OK)
			st = nn_session_create(g, 1, &s, &err);
		nn_alloc_fail_after(-1);
		if (st == NN_OK) {
			ok = 1;
			ck_assert_int_eq(nn_session_invoke(s, &err), NN_OK);
		} else {
			ck_assert_msg(st == NN_ERR_NO_MEMORY, "failing allocation %d gave %s: %s", n,
				      nn_status_name(st), err.msg);
		}
		nn_session_free(s);
		nn_graph_free(g);
		tfl_model_free(m);
	}
	ck_assert_msg(ok, "loading never succeeded");
	fprintf(stderr, "allocation failures: loading needs %d allocations\n", n - 1);
	free(bytes);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reader");
	TCase *tc = tcase_create("reader");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_builder_roundtrip);
	tcase_add_test(tc, test_unknown_custom_op_named);
	tcase_add_test(tc, test_shared_models_open);
	tcase_add_test(tc, test_truncated_refused);
	tcase_add_test(tc, test_bit_flips_never_crash);
	tcase_add_test(tc, test_hostile_fields);
	tcase_add_test(tc, test_allocation_failures);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
