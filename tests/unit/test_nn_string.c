/* test_nn_string.c - string tensors: TFLite's buffer layout (check, read,
 * write), capacities, constants in model files, string graph inputs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "nn_string.h"
#include "testutil.h"
#include "tflite_builder.h"

/* A layout by hand: count, offsets, bytes (little-endian host). */
static size_t put_layout(uint8_t *buf, int32_t count, const int32_t *offs, const char *text, size_t tl)
{
	memcpy(buf, &count, 4);
	memcpy(buf + 4, offs, 4 * (size_t)(count + 1));
	memcpy(buf + 4 + 4 * (size_t)(count + 1), text, tl);
	return 4 + 4 * (size_t)(count + 1) + tl;
}

START_TEST(test_roundtrip)
{
	uint8_t buf[64];
	const char *strs[] = {"hello", "", "w"};
	const size_t lens[] = {5, 0, 1};
	size_t used, len;
	nn_err err = {0};
	const char *s;

	ck_assert_int_eq(nn_string_write(buf, sizeof(buf), 3, strs, lens, &used, &err), NN_OK);
	/* 4 (count) + 16 (4 offsets) + 6 bytes of text */
	ck_assert_uint_eq(used, 26);
	ck_assert_int_eq(nn_string_check(buf, used, 3, &err), NN_OK);
	ck_assert_int_eq(nn_string_count(buf), 3);
	s = nn_string_at(buf, 0, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert(!memcmp(s, "hello", 5));
	nn_string_at(buf, 1, &len);
	ck_assert_uint_eq(len, 0);
	s = nn_string_at(buf, 2, &len);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(s[0], 'w');
	/* the first offset is the end of the header, as TFLite writes it */
	ck_assert_int_eq(((int32_t *)buf)[1], 20);

	/* no strings: 8 bytes (count 0, one offset) */
	ck_assert_int_eq(nn_string_write(buf, sizeof(buf), 0, NULL, NULL, &used, &err), NN_OK);
	ck_assert_uint_eq(used, 8);
	ck_assert_int_eq(nn_string_check(buf, used, 0, &err), NN_OK);
	ck_assert_int_eq(nn_string_count(buf), 0);
}
END_TEST

START_TEST(test_check_refuses)
{
	uint8_t buf[64];
	nn_err err = {0};
	size_t n;

	n = put_layout(buf, 2, (int32_t[]){16, 18, 20}, "abcd", 4);
	ck_assert_int_eq(nn_string_check(buf, n, 2, &err), NN_OK);
	ck_assert_int_eq(nn_string_check(buf, n, 3, &err), NN_ERR_BAD_MODEL); /* shape disagrees */
	ck_assert_msg(strstr(err.msg, "holds 2 strings but the shape has 3"), "%s", err.msg);
	ck_assert_int_eq(nn_string_check(buf, n - 1, 2, &err), NN_ERR_BAD_MODEL); /* last offset past the end */
	ck_assert_msg(strstr(err.msg, "offset 2 is 20"), "%s", err.msg);
	ck_assert_int_eq(nn_string_check(buf, 4, -1, &err), NN_ERR_BAD_MODEL); /* shorter than any layout */

	n = put_layout(buf, 2, (int32_t[]){16, 15, 20}, "abcd", 4); /* decreasing */
	ck_assert_int_eq(nn_string_check(buf, n, 2, &err), NN_ERR_BAD_MODEL);
	n = put_layout(buf, 2, (int32_t[]){12, 18, 20}, "abcd", 4); /* string inside the header */
	ck_assert_int_eq(nn_string_check(buf, n, 2, &err), NN_ERR_BAD_MODEL);
	n = put_layout(buf, 2, (int32_t[]){16, 18, -4}, "abcd", 4); /* negative */
	ck_assert_int_eq(nn_string_check(buf, n, 2, &err), NN_ERR_BAD_MODEL);

	/* a hostile count: a header far larger than the buffer, no wrap */
	memcpy(buf, &(int32_t){0x7fffffff}, 4);
	ck_assert_int_eq(nn_string_check(buf, 64, -1, &err), NN_ERR_BAD_MODEL);
	ck_assert_msg(strstr(err.msg, "header needs"), "%s", err.msg);
	memcpy(buf, &(int32_t){-1}, 4);
	ck_assert_int_eq(nn_string_check(buf, 64, -1, &err), NN_ERR_BAD_MODEL);
}
END_TEST

START_TEST(test_writer_capacity)
{
	uint8_t buf[32 + 8];
	nn_string_writer w;
	nn_err err = {0};
	size_t used;

	memset(buf, 0xAB, sizeof(buf));
	/* 2 strings: header 16, 16 bytes of text fit in 32 */
	ck_assert_int_eq(nn_string_writer_init(&w, buf, 32, 2, &err), NN_OK);
	ck_assert_int_eq(nn_string_writer_add(&w, "0123456789", 10, &err), NN_OK);
	ck_assert_int_eq(nn_string_writer_add(&w, "0123456", 7, &err), NN_ERR_RUNTIME); /* 6 bytes left */
	ck_assert_msg(strstr(err.msg, "6 of the tensor's 32 bytes are left"), "%s", err.msg);
	ck_assert_int_eq(nn_string_writer_finish(&w, &used, &err), NN_ERR_RUNTIME); /* sticky */
	for (int i = 32; i < 40; i++)
		ck_assert_int_eq(buf[i], 0xAB); /* nothing past the capacity */

	ck_assert_int_eq(nn_string_writer_init(&w, buf, 32, 2, &err), NN_OK);
	ck_assert_int_eq(nn_string_writer_add(&w, "abc", 3, &err), NN_OK);
	ck_assert_int_eq(nn_string_writer_finish(&w, &used, &err), NN_ERR_INTERNAL); /* one missing */
	ck_assert_int_eq(nn_string_writer_init(&w, buf, 12, 2, &err), NN_ERR_RUNTIME); /* header alone is 16 */
}
END_TEST

START_TEST(test_capacity_limit)
{
	nn_tensor t = {.name = "s", .type = NN_STRING};
	nn_err err = {0};

	ck_assert_int_eq(nn_string_set_capacity(&t, 3, 100, &err), NN_OK);
	ck_assert_uint_eq(t.bytes, 20 + 100);
	ck_assert_int_eq(nn_string_set_capacity(&t, 1, (uint64_t)1 << 40, &err), NN_ERR_NO_MEMORY);
	ck_assert_int_eq(nn_string_set_capacity(&t, -1, 0, &err), NN_ERR_NO_MEMORY);
}
END_TEST

/* A model with a string input [n] and a constant string tensor feeding nothing
 * but listed as an output (a constant graph output is legal). */
static uint8_t *string_model(const void *cdata, size_t csize, int32_t cdim, int32_t in_dim, size_t *size)
{
	tb_model *b = tb_new();
	int x = tb_tensor(b, "text", NN_STRING, 1, (int32_t[]){in_dim}, NULL, 0, NULL);
	int c = tb_tensor(b, "table", NN_STRING, 1, (int32_t[]){cdim}, cdata, csize, NULL);
	uint8_t *bytes;
	tb_io(b, 1, (int[]){x}, 2, (int[]){x, c});
	bytes = tb_finish(b, size);
	tb_free(b);
	return bytes;
}

START_TEST(test_model_constants)
{
	uint8_t buf[64];
	size_t n, size;
	uint8_t *bytes;
	tfl_model *m = NULL;
	nn_err err = {0};

	n = put_layout(buf, 2, (int32_t[]){16, 19, 21}, "yesno", 5);
	bytes = string_model(buf, n, 2, 1, &size);
	ck_assert_msg(tfl_model_from_memory(bytes, size, true, &m, &err) == NN_OK, "%s", err.msg);
	ck_assert_int_eq(m->tensors[1].type, NN_STRING);
	tfl_model_free(m);
	free(bytes);

	/* count disagrees with the shape */
	bytes = string_model(buf, n, 3, 1, &size);
	ck_assert_int_eq(tfl_model_from_memory(bytes, size, true, &m, &err), NN_ERR_BAD_MODEL);
	ck_assert_msg(strstr(err.msg, "'table'") && strstr(err.msg, "shape has 3"), "%s", err.msg);
	free(bytes);

	/* an offset past the buffer */
	n = put_layout(buf, 2, (int32_t[]){16, 19, 99}, "yesno", 5);
	bytes = string_model(buf, n, 2, 1, &size);
	ck_assert_int_eq(tfl_model_from_memory(bytes, size, true, &m, &err), NN_ERR_BAD_MODEL);
	ck_assert_msg(strstr(err.msg, "offset 2 is 99"), "%s", err.msg);
	free(bytes);

	/* a buffer too short for its own count */
	bytes = string_model(buf, 6, 1, 1, &size);
	ck_assert_int_eq(tfl_model_from_memory(bytes, size, true, &m, &err), NN_ERR_BAD_MODEL);
	free(bytes);
}
END_TEST

START_TEST(test_string_input)
{
	uint8_t buf[64];
	size_t n, size, len;
	uint8_t *bytes;
	ts_model tm;
	nn_err err = {0};
	const nn_tensor *in;
	const char *s;
	char *big;

	n = put_layout(buf, 1, (int32_t[]){12, 14}, "ok", 2);
	bytes = string_model(buf, n, 1, 2, &size);
	ck_assert_msg(ts_model_load(&tm, bytes, size, 1, &err) == NN_OK, "%s", err.msg);
	in = nn_graph_input(tm.graph, 0);
	ck_assert_int_eq(in->type, NN_STRING);
	/* before anyone sets it, the input is two empty strings */
	ck_assert_int_eq(nn_string_check(nn_session_input(tm.session, 0)->data, in->bytes, 2, &err), NN_OK);
	nn_string_at(nn_session_input(tm.session, 0)->data, 1, &len);
	ck_assert_uint_eq(len, 0);
	/* capacity: the header of 2 strings plus the text limit */
	ck_assert_uint_eq(in->bytes, 16 + NN_MAX_STRING_BYTES);
	ck_assert_int_eq(nn_session_set_input_string(tm.session, 0, 2, (const char *const[]){"hi", "there"},
						     (const size_t[]){2, 5}, &err),
			 NN_OK);
	ck_assert_int_eq(nn_session_invoke(tm.session, &err), NN_OK);
	s = nn_string_at(nn_session_output(tm.session, 0)->data, 1, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert(!memcmp(s, "there", 5));
	/* the constant output is the model's bytes, readable as strings */
	s = nn_string_at(nn_session_output(tm.session, 1)->data, 0, &len);
	ck_assert(len == 2 && !memcmp(s, "ok", 2));

	/* wrong count, wrong input, text over the limit: refused, nothing written past the capacity */
	ck_assert_int_eq(nn_session_set_input_string(tm.session, 0, 1, (const char *const[]){"x"},
						     (const size_t[]){1}, &err),
			 NN_ERR_INVALID_ARG);
	ck_assert_msg(strstr(err.msg, "takes 2 strings, not 1"), "%s", err.msg);
	ck_assert_int_eq(nn_session_set_input_string(tm.session, 3, 0, NULL, NULL, &err), NN_ERR_INVALID_ARG);
	big = malloc(NN_MAX_STRING_BYTES + 1);
	memset(big, 'a', NN_MAX_STRING_BYTES + 1);
	ck_assert_int_eq(nn_session_set_input_string(tm.session, 0, 2, (const char *const[]){big, "b"},
						     (const size_t[]){NN_MAX_STRING_BYTES, 1}, &err),
			 NN_ERR_INVALID_ARG);
	ck_assert_msg(strstr(err.msg, "does not fit"), "%s", err.msg);
	/* exactly the limit fits */
	ck_assert_int_eq(nn_session_set_input_string(tm.session, 0, 2, (const char *const[]){big, "b"},
						     (const size_t[]){NN_MAX_STRING_BYTES - 1, 1}, &err),
			 NN_OK);
	free(big);
	ts_model_free(&tm);
}
END_TEST

/* Random buffers: a buffer that passes the check has every string inside
 * it (ASan would see a read past the end otherwise). */
START_TEST(test_check_random)
{
	uint32_t seed = 12345;
	uint8_t *buf = malloc(64);
	nn_err err = {0};
	int passed = 0;

	for (int iter = 0; iter < 20000; iter++) {
		size_t size = 8 + ts_rand(&seed) % 56;
		int32_t count = (int32_t)(ts_rand(&seed) % 8);
		for (size_t i = 0; i < size; i++)
			buf[i] = (uint8_t)ts_rand(&seed);
		/* mostly plausible headers, so some pass */
		memcpy(buf, &count, 4);
		for (int32_t i = 0; i <= count && 8 + 4 * (size_t)i <= size; i++) {
			int32_t off = (int32_t)(4 * (count + 2) + ts_rand(&seed) % 8 * (uint32_t)i);
			if (ts_rand(&seed) % 16 == 0)
				off = (int32_t)ts_rand(&seed);
			memcpy(buf + 4 + 4 * (size_t)i, &off, 4);
		}
		if (nn_string_check(buf, size, -1, &err) != NN_OK)
			continue;
		passed++;
		for (int32_t i = 0; i < nn_string_count(buf); i++) {
			size_t len;
			const char *s = nn_string_at(buf, i, &len);
			ck_assert((const uint8_t *)s >= buf + nn_string_header_bytes(nn_string_count(buf)));
			ck_assert((const uint8_t *)s + len <= buf + size);
		}
	}
	ck_assert_int_gt(passed, 100);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nn_string");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_check_refuses);
	tcase_add_test(tc, test_writer_capacity);
	tcase_add_test(tc, test_capacity_limit);
	tcase_add_test(tc, test_model_constants);
	tcase_add_test(tc, test_string_input);
	tcase_add_test(tc, test_check_random);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
