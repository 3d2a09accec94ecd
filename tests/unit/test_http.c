/* test_http.c - the HTTP daemon end to end: `liteserve serve` on loopback.
 *
 * DESIGN: the server process, repository and requests come from
 * tests/support/live_server.h, shared with the other live suites.  Each
 * test builds a temporary model repository of symlinks to
 * ../shared/models (DIR/NAME/1/model.tflite + NAME/labels.txt from
 * models/labels/), starts the real binary with --port 0 (the port is read
 * from its "listening on" log line, so there is no race for a free port),
 * waits for /v2/health/ready, talks to it with libcurl, and stops it with
 * SIGTERM, checking that it exits 0.  The server dies with the test process
 * (PR_SET_PDEATHSIG) if an assertion fails first.  After every error answer
 * the test checks that the server still answers /v2/health/live.
 *
 * A model is used only if `liteserve inspect` says it is runnable, so the
 * tests run today on the float models and pick up the quantized ones as
 * their kernels land; a test whose model is not runnable prints a loud SKIP.
 *
 * The multipart and base64 parsers (pure functions inside the binary) are
 * compiled into this test directly and checked with hostile inputs.
 */
#define _GNU_SOURCE /* memmem in the multipart parser included below */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live_server.h"
#include "testutil.h"

/* the pure parsers, tested as units */
#include "../../handlers/base64.c"
#include "../../handlers/multipart.c"

#define FLOAT_MODEL "mobilenet_v1_0.25_224"
#define SLOW_MODEL "style_transfer_f16_384" /* ~140 ms per inference, two inputs, tensor task */

/* ls_start with this suite's --threads 4 ahead of the test's own args, as
 * the suite always started it. */
static void server_start(ls_server *s, const char *const *args, bool wait_ready)
{
	const char *argv[48];
	int n = 0;

	argv[n++] = "--threads";
	argv[n++] = "4";
	for (int i = 0; args && args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ls_start(s, argv, wait_ready);
}

static const char *const H_JPEG[] = {"Content-Type: image/jpeg", NULL};
static const char *const H_PNG[] = {"Content-Type: image/png", NULL};
static const char *const H_JSON[] = {"Content-Type: application/json", NULL};

/* A fresh server with the float model; false when it cannot run here. */
static bool float_server(ls_server *s, const char *const *args)
{
	ls_repo_init(s);
	if (!ls_repo_add_runnable(s, FLOAT_MODEL, "imagenet_labels_1001.txt")) {
		ls_repo_remove(s);
		return false;
	}
	server_start(s, args, true);
	return true;
}

/* ---- tests: server metadata, health, model metadata, routing ------------ */

START_TEST(test_metadata_and_routing)
{
	ls_server s;
	ls_resp r;
	char hb[128];

	if (!float_server(&s, NULL))
		return;
	ck_assert_int_eq(ls_http(&s, "GET", "/v2", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "liteserve");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "extensions")), 2);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/live"), 200);
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/ready"), 200);

	/* KServe model metadata, with and without version */
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/" FLOAT_MODEL, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "platform")), "tflite");
	{
		json_t *in = json_array_get(json_object_get(r.json, "inputs"), 0);
		json_t *out = json_array_get(json_object_get(r.json, "outputs"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(in, "datatype")), "FP32");
		ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(in, "shape"), 1)), 224);
		ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(out, "shape"), 1)), 1001);
		ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "versions"), 0)),
				 "1");
	}
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v2/models/" FLOAT_MODEL "/versions/1"), 200);
	ck_assert_int_eq(ls_get_status(&s, "/v2/models/" FLOAT_MODEL "/ready"), 200);
	ck_assert_int_eq(ls_get_status(&s, "/v2/models/" FLOAT_MODEL "/versions/1/ready"), 200);

	/* TF Serving status and metadata */
	ck_assert_int_eq(ls_http(&s, "GET", "/v1/models/" FLOAT_MODEL, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	{
		json_t *st = json_array_get(json_object_get(r.json, "model_version_status"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(st, "version")), "1");
		ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "AVAILABLE");
		ck_assert_str_eq(
		    json_string_value(json_object_get(json_object_get(st, "status"), "error_code")), "OK");
	}
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v1/models/" FLOAT_MODEL "/versions/1"), 200);
	ck_assert_int_eq(ls_http(&s, "GET", "/v1/models/" FLOAT_MODEL "/metadata", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	{
		json_t *sd = json_object_get(
		    json_object_get(json_object_get(json_object_get(r.json, "metadata"), "signature_def"),
				    "signature_def"),
		    "serving_default");
		json_t *in = json_object_get(json_object_get(sd, "inputs"), "input");
		ck_assert_ptr_nonnull(in);
		ck_assert_str_eq(json_string_value(json_object_get(in, "dtype")), "DT_FLOAT");
	}
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v1/models/" FLOAT_MODEL "/versions/1/metadata"), 200);

	/* 404: unknown model on every family, unknown version, unknown path */
	{
		static const char *const paths[] = {"/v2/models/nope",
						    "/v2/models/nope/ready",
						    "/v1/models/nope",
						    "/v1/models/nope/metadata",
						    "/v2/models/" FLOAT_MODEL "/versions/7",
						    "/v1/models/" FLOAT_MODEL "/versions/7"};
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			ck_assert_int_eq(ls_http(&s, "GET", paths[i], NULL, NULL, 0, &r), 0);
			ls_assert_error(&r, 404, "model_not_found", NULL);
			ls_resp_free(&r);
			ls_assert_live(&s);
		}
	}
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/models/nope/infer", H_JSON, "{}", 2, &r), 0);
	ls_assert_error(&r, 404, "model_not_found", "nope");
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "GET", "/v3/nothing", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 404, "not_found", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/" FLOAT_MODEL "/versions/x", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 400, "bad_request", "version");
	ls_resp_free(&r);
	ls_assert_live(&s);

	/* 405 with Allow */
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/" FLOAT_MODEL "/infer", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 405, "method_not_allowed", NULL);
	ck_assert_ptr_nonnull(ls_resp_header(&r, "Allow", hb, sizeof(hb)));
	ck_assert_str_eq(hb, "POST");
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(ls_http(&s, "GET", "/v1/models/" FLOAT_MODEL ":predict", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 405, "method_not_allowed", NULL);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "DELETE", "/v2/health/live", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 405, "method_not_allowed", NULL);
	ck_assert_ptr_nonnull(ls_resp_header(&r, "Allow", hb, sizeof(hb)));
	ck_assert_ptr_nonnull(strstr(hb, "GET"));
	ls_resp_free(&r);
	ls_assert_live(&s);
	ls_stop(&s);
}
END_TEST

/* ---- task endpoint ------------------------------------------------------- */

static void check_classification(const ls_resp *r, int top_k, const char *label_part)
{
	json_t *preds, *lat;
	const char *label;

	ck_assert_msg(r->status == 200, "status %ld: %s", r->status, r->body ? r->body : "");
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "model")), FLOAT_MODEL);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "version")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "task")), "classification");
	preds = json_object_get(r->json, "predictions");
	ck_assert_int_eq(json_array_size(preds), top_k);
	label = json_string_value(json_object_get(json_array_get(preds, 0), "label"));
	ck_assert_ptr_nonnull(label);
	if (label_part)
		ck_assert_msg(strstr(label, label_part), "top label '%s' lacks '%s'", label, label_part);
	ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(r->json, "image"), "width")), 0);
	lat = json_object_get(r->json, "latency_ms");
	for (const char *const *k = (const char *const[]){"decode", "preprocess", "queue", "inference",
							  "postprocess", "total", NULL};
	     *k; k++)
		ck_assert_msg(json_is_number(json_object_get(lat, *k)), "latency_ms.%s missing", *k);
	ck_assert(json_number_value(json_object_get(lat, "total")) >=
		  json_number_value(json_object_get(lat, "inference")));
}

START_TEST(test_task_predict)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0, pn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn),
		*png = ls_shared_file("images/grace_hopper.png", &pn);
	const char *const octet[] = {"Content-Type: application/octet-stream", NULL};

	if (!jpg || !png || !float_server(&s, NULL)) {
		free(jpg);
		free(png);
		return;
	}
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict?top_k=3", H_JPEG, jpg, (long)jn, &r), 0);
	check_classification(&r, 3, "cat");
	ls_resp_free(&r);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/versions/1/predict", H_PNG, png, (long)pn, &r),
	    0);
	check_classification(&r, 5, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "image"), "width")), 512);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "image"), "height")),
			 600);
	ls_resp_free(&r);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict?top_k=1", octet, jpg, (long)jn, &r), 0);
	check_classification(&r, 1, "cat");
	ls_resp_free(&r);

	/* multipart/form-data, field "image" among others */
	{
		const char *b = "XyZ-boundary-42";
		size_t cap = jn + 1024, n = 0;
		char *body = malloc(cap), ct[128];
		const char *const hdr[] = {ct, NULL};

		n += (size_t)snprintf(
		    body + n, cap - n,
		    "preamble\r\n--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
		    "--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"cat.jpg\"\r\n"
		    "Content-Type: image/jpeg\r\n\r\n",
		    b, b);
		memcpy(body + n, jpg, jn);
		n += jn;
		n += (size_t)snprintf(body + n, cap - n, "\r\n--%s--\r\n", b);
		snprintf(ct, sizeof(ct), "Content-Type: multipart/form-data; boundary=\"%s\"", b);
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict?top_k=2", hdr, body, (long)n, &r),
		    0);
		check_classification(&r, 2, "cat");
		ls_resp_free(&r);
		/* no "image" field: 400 */
		snprintf(body, cap,
			 "--%s\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxx\r\n--%s--\r\n", b,
			 b);
		ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", hdr, body,
					 (long)strlen(body), &r),
				 0);
		ls_assert_error(&r, 400, "bad_request", "image");
		ls_resp_free(&r);
		ls_assert_live(&s);
		free(body);
	}

	/* 415: wrong or missing media type */
	{
		const char *const text[] = {"Content-Type: text/plain", NULL};
		const char *const none[] = {"Content-Type:", NULL};
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", text, "hello", 5, &r), 0);
		ls_assert_error(&r, 415, "unsupported_media_type", "text/plain");
		ls_resp_free(&r);
		ls_assert_live(&s);
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", none, jpg, (long)jn, &r), 0);
		ls_assert_error(&r, 415, "unsupported_media_type", NULL);
		ls_resp_free(&r);
		ls_assert_live(&s);
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", octet, "GIF89a....", 10, &r),
		    0);
		ls_assert_error(&r, 415, "unsupported_media_type", NULL);
		ls_resp_free(&r);
		ls_assert_live(&s);
	}
	/* 400: corrupt image, truncated image, bad query */
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG,
				 "\xff\xd8\xff\xe0garbage", 11, &r),
			 0);
	ls_assert_error(&r, 400, NULL, NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG, jpg, (long)jn / 2, &r), 0);
	ls_assert_error(&r, 400, NULL, NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict?top_k=0", H_JPEG, jpg, (long)jn, &r), 0);
	ls_assert_error(&r, 400, "bad_request", "top_k");
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict?threshold=abc", H_JPEG, jpg,
				 (long)jn, &r),
			 0);
	ls_assert_error(&r, 400, "bad_request", "threshold");
	ls_resp_free(&r);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict?output=png", H_JPEG, jpg, (long)jn, &r),
	    0);
	ls_assert_error(&r, 400, "bad_request", "segmentation");
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG, "", 0, &r), 0);
	ls_assert_error(&r, 400, "bad_request", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	/* 404 unknown model / version */
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/nope/predict", H_JPEG, jpg, (long)jn, &r), 0);
	ls_assert_error(&r, 404, "model_not_found", "nope");
	ls_resp_free(&r);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/versions/2/predict", H_JPEG, jpg, (long)jn, &r),
	    0);
	ls_assert_error(&r, 404, "model_not_found", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ls_stop(&s);
	free(jpg);
	free(png);
}
END_TEST

/* ---- KServe v2 inference -------------------------------------------------- */

#define N_IN (224 * 224 * 3)

/* {"inputs":[{"name":"input","shape":[1,224,224,3],"datatype":DT,"data":...}]} of value v */
static char *kserve_json(const char *dtype, const char *shape, long n_elems, const char *v, bool nested)
{
	size_t cap = (size_t)n_elems * (strlen(v) + 3) + 4096, n = 0;
	char *b = malloc(cap);

	n += (size_t)snprintf(b + n, cap - n,
			      "{\"id\":\"req-7\",\"inputs\":[{\"name\":\"input\",\"shape\":%s,"
			      "\"datatype\":\"%s\",\"data\":[",
			      shape, dtype);
	for (long i = 0; i < n_elems; i++) {
		if (nested && i % 3 == 0)
			n += (size_t)snprintf(b + n, cap - n, "%s[", i ? "," : "");
		n += (size_t)snprintf(b + n, cap - n, "%s%s", (i % 3 && nested) || (i && !nested) ? "," : "",
				      v);
		if (nested && i % 3 == 2)
			b[n++] = ']';
	}
	snprintf(b + n, cap - n, "]}]}");
	return b;
}

START_TEST(test_kserve_infer)
{
	ls_server s;
	ls_resp r;
	char *body, hb[64];
	float probs[1001];
	const char *path = "/v2/models/" FLOAT_MODEL "/infer";

	if (!float_server(&s, NULL))
		return;
	/* JSON in, JSON out */
	body = kserve_json("FP32", "[1,224,224,3]", N_IN, "0.5", false);
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "model_name")), FLOAT_MODEL);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "model_version")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "id")), "req-7");
	{
		json_t *o = json_array_get(json_object_get(r.json, "outputs"), 0),
		       *d = json_object_get(o, "data");
		double sum = 0;
		ck_assert_str_eq(json_string_value(json_object_get(o, "datatype")), "FP32");
		ck_assert_int_eq(json_array_size(d), 1001);
		for (int i = 0; i < 1001; i++) {
			probs[i] = (float)json_number_value(json_array_get(d, i));
			sum += probs[i];
		}
		ck_assert_msg(sum > 0.99 && sum < 1.01, "softmax sums to %f", sum);
	}
	ls_resp_free(&r);
	free(body);
	/* nested data arrays are accepted too */
	body = kserve_json("FP32", "[1,224,224,3]", N_IN, "0.5", true);
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ls_resp_free(&r);
	free(body);

	/* binary in, binary out (outputs selected by name), same numbers */
	{
		const char *hdr_json =
		    "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,224,224,3],\"datatype\":\"FP32\","
		    "\"parameters\":{\"binary_data_size\":602112}}],\"outputs\":[{\"name\":"
		    "\"MobilenetV1/Predictions/Reshape_1\",\"parameters\":{\"binary_data\":true}}]}";
		size_t hl = strlen(hdr_json), n = hl + N_IN * 4;
		char *b = malloc(n), hv[96];
		const char *const hdrs[] = {"Content-Type: application/octet-stream", hv, NULL};
		float half = 0.5f;
		size_t jl;

		memcpy(b, hdr_json, hl);
		for (size_t i = 0; i < N_IN; i++)
			memcpy(b + hl + i * 4, &half, 4);
		snprintf(hv, sizeof(hv), "Inference-Header-Content-Length: %zu", hl);
		ck_assert_int_eq(ls_http(&s, "POST", path, hdrs, b, (long)n, &r), 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		ck_assert_ptr_nonnull(ls_resp_header(&r, "Inference-Header-Content-Length", hb, sizeof(hb)));
		jl = (size_t)atol(hb);
		ck_assert_uint_eq(r.len, jl + 1001 * 4);
		{
			json_t *j = json_loadb(r.body, jl, 0, NULL),
			       *o = json_array_get(json_object_get(j, "outputs"), 0);
			ck_assert_ptr_nonnull(j);
			ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "parameters"),
									    "binary_data_size")),
					 4004);
			ck_assert_ptr_null(json_object_get(o, "data"));
			json_decref(j);
		}
		for (int i = 0; i < 1001; i++) {
			float f;
			memcpy(&f, r.body + jl + i * 4, 4);
			ck_assert_msg(fabsf(f - probs[i]) <= 1e-6f + 1e-6f * fabsf(probs[i]),
				      "output %d: %g vs %g", i, f, probs[i]);
		}
		ls_resp_free(&r);

		/* a raw body: Inference-Header-Content-Length: 0 */
		{
			const char *const raw[] = {"Content-Type: application/octet-stream",
						   "Inference-Header-Content-Length: 0", NULL};
			ck_assert_int_eq(ls_http(&s, "POST", path, raw, b + hl, N_IN * 4, &r), 0);
			ck_assert_msg(r.status == 200, "%s", r.body);
			ck_assert_int_eq(json_array_size(json_object_get(
					     json_array_get(json_object_get(r.json, "outputs"), 0), "data")),
					 1001);
			ls_resp_free(&r);
			ck_assert_int_eq(ls_http(&s, "POST", path, raw, b + hl, N_IN * 4 - 4, &r), 0);
			ls_assert_error(&r, 400, "invalid_input", "602112");
			ls_resp_free(&r);
			ls_assert_live(&s);
		}
		/* binary section shorter than declared */
		ck_assert_int_eq(ls_http(&s, "POST", path, hdrs, b, (long)n - 8, &r), 0);
		ls_assert_error(&r, 400, "invalid_input", "binary");
		ls_resp_free(&r);
		ls_assert_live(&s);
		/* header length past the body */
		snprintf(hv, sizeof(hv), "Inference-Header-Content-Length: %zu", n + 10);
		ck_assert_int_eq(ls_http(&s, "POST", path, hdrs, b, (long)n, &r), 0);
		ls_assert_error(&r, 400, "bad_request", "Inference-Header-Content-Length");
		ls_resp_free(&r);
		ls_assert_live(&s);
		free(b);
	}

	/* binary_data_output for every output */
	body = kserve_json("FP32", "[1,224,224,3]", N_IN, "0", false);
	{
		size_t l = strlen(body);
		snprintf(body + l - 1, 64, ",\"parameters\":{\"binary_data_output\":true}}");
	}
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_ptr_nonnull(ls_resp_header(&r, "Inference-Header-Content-Length", hb, sizeof(hb)));
	ck_assert_uint_eq(r.len, (size_t)atol(hb) + 4004);
	ls_resp_free(&r);
	free(body);

	/* 400s: wrong datatype, wrong shape, wrong count, bad value, unknown names, bad JSON */
	body = kserve_json("UINT8", "[1,224,224,3]", N_IN, "1", false);
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ls_assert_error(&r, 400, "invalid_input", "datatype UINT8");
	ls_resp_free(&r);
	free(body);
	ls_assert_live(&s);
	body = kserve_json("FP32", "[1,112,224,3]", N_IN / 2, "1", false);
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ls_assert_error(&r, 400, "invalid_input", "shape [1,112,224,3]");
	ls_resp_free(&r);
	free(body);
	ls_assert_live(&s);
	body = kserve_json("FP32", "[1,224,224,3]", N_IN - 1, "1", false);
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ls_assert_error(&r, 400, "invalid_input", "elements");
	ls_resp_free(&r);
	free(body);
	ls_assert_live(&s);
	body = kserve_json("FP32", "[1,224,224,3]", N_IN, "\"x\"", false);
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ls_assert_error(&r, 400, "invalid_input", "not a number");
	ls_resp_free(&r);
	free(body);
	ls_assert_live(&s);
	{
		const char *j =
		    "{\"inputs\":[{\"name\":\"picture\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}";
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, j, (long)strlen(j), &r), 0);
		ls_assert_error(&r, 400, "invalid_input", "picture");
		ls_resp_free(&r);
		ls_assert_live(&s);
		j = "{\"inputs\":[]}";
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, j, (long)strlen(j), &r), 0);
		ls_assert_error(&r, 400, "bad_request", "inputs");
		ls_resp_free(&r);
		j = "{\"inputs\": [1,2,}";
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, j, (long)strlen(j), &r), 0);
		ls_assert_error(&r, 400, "bad_json", "line 1, column");
		ls_resp_free(&r);
		ls_assert_live(&s);
		j = "[1,2]";
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, j, (long)strlen(j), &r), 0);
		ls_assert_error(&r, 400, "bad_request", NULL);
		ls_resp_free(&r);
	}
	body = kserve_json("FP32", "[1,224,224,3]", N_IN, "0", false);
	{
		size_t l = strlen(body);
		snprintf(body + l - 1, 64, ",\"outputs\":[{\"name\":\"logits\"}]}");
	}
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
	ls_assert_error(&r, 400, "invalid_input", "logits");
	ls_resp_free(&r);
	free(body);
	ls_assert_live(&s);
	ls_stop(&s);
}
END_TEST

/* ---- TF Serving REST ---------------------------------------------------- */

static char *b64_encode(const uint8_t *d, size_t n)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n / 3 * 4 + 8), *p = o;
	size_t i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*p++ = A[v >> 18], *p++ = A[(v >> 12) & 63], *p++ = A[(v >> 6) & 63], *p++ = A[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		*p++ = A[v >> 18], *p++ = A[(v >> 12) & 63];
		*p++ = i + 1 < n ? A[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = 0;
	return o;
}

/* A 224x224x3 nested list of v (one instance without the batch dim). */
static void put_image(char **p, const char *v)
{
	*p += sprintf(*p, "[");
	for (int y = 0; y < 224; y++) {
		*p += sprintf(*p, "%s[", y ? "," : "");
		for (int x = 0; x < 224; x++)
			*p += sprintf(*p, "%s[%s,%s,%s]", x ? "," : "", v, v, v);
		*p += sprintf(*p, "]");
	}
	*p += sprintf(*p, "]");
}

START_TEST(test_tfserving)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);
	char *body, *p;
	const char *path = "/v1/models/" FLOAT_MODEL ":predict";

	if (!jpg || !float_server(&s, NULL)) {
		free(jpg);
		return;
	}
	body = malloc(8u << 20);
	/* row format, 2 instances -> 2 predictions of 1001 */
	p = body;
	p += sprintf(p, "{\"signature_name\":\"serving_default\",\"instances\":[");
	put_image(&p, "0");
	p += sprintf(p, ",");
	put_image(&p, "0.25");
	p += sprintf(p, "]}");
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)(p - body), &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "predictions")), 2);
	ck_assert_int_eq(json_array_size(json_array_get(json_object_get(r.json, "predictions"), 1)), 1001);
	ls_resp_free(&r);
	/* one-key object per instance */
	p = body;
	p += sprintf(p, "{\"instances\":[{\"input\":");
	put_image(&p, "0");
	p += sprintf(p, "}]}");
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/versions/1:predict", H_JSON, body,
			      (long)(p - body), &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "predictions")), 1);
	ls_resp_free(&r);
	/* columnar: the whole tensor -> outputs [1][1001] */
	p = body;
	p += sprintf(p, "{\"inputs\":[");
	put_image(&p, "0");
	p += sprintf(p, "]}");
	ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)(p - body), &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "outputs")), 1);
	ck_assert_int_eq(json_array_size(json_array_get(json_object_get(r.json, "outputs"), 0)), 1001);
	ls_resp_free(&r);

	/* b64 image -> the task's predictions */
	{
		char *b64 = b64_encode(jpg, jn);
		size_t bl = strlen(b64);
		const char *label;
		snprintf(body, 8u << 20, "{\"instances\":[{\"b64\":\"%s\"},{\"image\":{\"b64\":\"%s\"}}]}",
			 b64, b64);
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		ck_assert_int_eq(json_array_size(json_object_get(r.json, "predictions")), 2);
		label = json_string_value(json_object_get(
		    json_array_get(json_array_get(json_object_get(r.json, "predictions"), 0), 0), "label"));
		ck_assert_msg(label && strstr(label, "cat"), "label %s", label ? label : "(none)");
		ls_resp_free(&r);
		snprintf(body, 8u << 20, "{\"inputs\":{\"b64\":\"%s\"}}", b64);
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		ck_assert_int_eq(json_array_size(json_object_get(r.json, "outputs")), 1);
		ls_resp_free(&r);
		/* garbage in the base64: 400 naming the offset */
		b64[100] = '*';
		snprintf(body, 8u << 20, "{\"instances\":[{\"b64\":\"%s\"}]}", b64);
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
		ls_assert_error(&r, 400, "invalid_input", "offset 100");
		ls_resp_free(&r);
		ls_assert_live(&s);
		/* valid base64 that is not an image */
		snprintf(body, 8u << 20, "{\"instances\":[{\"b64\":\"aGVsbG8gd29ybGQ=\"}]}");
		ck_assert_int_eq(ls_http(&s, "POST", path, H_JSON, body, (long)strlen(body), &r), 0);
		ls_assert_error(&r, 400, "invalid_input", "JPEG or PNG");
		ls_resp_free(&r);
		ls_assert_live(&s);
		(void)bl;
		free(b64);
	}

	/* 400s */
	{
		static const char *const bad[][2] = {
		    {"{\"instances\":[[1,2,3]]}", "shape [3]"},
		    {"{\"instances\":[[[[1]]]],\"inputs\":[1]}", "exactly one"},
		    {"{\"instances\":[]}", "instances"},
		    {"{\"instances\":{\"a\":1}}", "list"},
		    {"{\"inputs\":[[1,2],[3]]}", "ragged"},
		    {"{\"instances\":[[1]],\"signature_name\":\"other\"}", "signature_name"},
		    {"{\"instances\":[[1],]}", "line 1, column"},
		    {"not json", "line 1"},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ck_assert_int_eq(
			    ls_http(&s, "POST", path, H_JSON, bad[i][0], (long)strlen(bad[i][0]), &r), 0);
			ls_assert_error(&r, 400, NULL, bad[i][1]);
			ls_resp_free(&r);
			ls_assert_live(&s);
		}
	}
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/nope:predict", H_JSON, "{\"instances\":[1]}", 17, &r), 0);
	ls_assert_error(&r, 404, "model_not_found", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	free(body);
	free(jpg);
	ls_stop(&s);
}
END_TEST

/* ---- a quantized (uint8) model on every endpoint -------------------------- */

#define QUANT_MODEL "mobilenet_v1_0.25_128_quant"

START_TEST(test_quantized_model)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0, cap = 1u << 20, n = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);
	char *body;

	ls_repo_init(&s);
	if (!jpg || !ls_repo_add_runnable(&s, QUANT_MODEL, "imagenet_labels_1001.txt")) {
		ls_repo_remove(&s);
		free(jpg);
		return;
	}
	server_start(&s, NULL, true);
	/* task endpoint: the server quantizes the picture itself */
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" QUANT_MODEL "/predict?top_k=5", H_JPEG, jpg, (long)jn, &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "predictions")), 5);
	ls_resp_free(&r);
	/* KServe: UINT8 in, UINT8 out */
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/" QUANT_MODEL, NULL, NULL, 0, &r), 0);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(r.json, "inputs"), 0), "datatype")),
			 "UINT8");
	ls_resp_free(&r);
	body = malloc(cap);
	n += (size_t)snprintf(
	    body + n, cap - n,
	    "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,128,128,3],\"datatype\":\"UINT8\","
	    "\"data\":[");
	for (int i = 0; i < 128 * 128 * 3; i++)
		n += (size_t)snprintf(body + n, cap - n, "%s%d", i ? "," : "", i % 256);
	snprintf(body + n, cap - n, "]}]}");
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v2/models/" QUANT_MODEL "/infer", H_JSON, body, (long)strlen(body), &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	{
		json_t *o = json_array_get(json_object_get(r.json, "outputs"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(o, "datatype")), "UINT8");
		ck_assert_int_eq(json_array_size(json_object_get(o, "data")), 1001);
		ck_assert(json_is_integer(json_array_get(json_object_get(o, "data"), 0)));
	}
	ls_resp_free(&r);
	/* 256 does not fit UINT8 */
	memcpy(strstr(body, "\"data\":[") + 8, "256", 3);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v2/models/" QUANT_MODEL "/infer", H_JSON, body, (long)strlen(body), &r), 0);
	ls_assert_error(&r, 400, "invalid_input", "out of range for UINT8");
	ls_resp_free(&r);
	ls_assert_live(&s);
	/* TF Serving b64 on a uint8 image model: the task runs */
	{
		char *b64 = b64_encode(jpg, jn);
		char *req = malloc(strlen(b64) + 64);
		sprintf(req, "{\"instances\":[{\"b64\":\"%s\"}]}", b64);
		ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" QUANT_MODEL ":predict", H_JSON, req,
				      (long)strlen(req), &r),
				 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		ck_assert_int_eq(json_array_size(json_array_get(json_object_get(r.json, "predictions"), 0)),
				 5);
		ls_resp_free(&r);
		free(req);
		free(b64);
	}
	free(body);
	free(jpg);
	ls_stop(&s);
}
END_TEST

/* ---- the acceptance: hosted mobilenet_v2 quant, cat picture ------- */

#define HOSTED_QUANT "mobilenet_v2_1.0_224_quant"

/* The task endpoint names a cat for cat_720p.jpg; KServe v2 infer on the
 * golden input tensor (raw binary body) answers exactly the golden output. */
START_TEST(test_hosted_quant_cat_and_golden_bytes)
{
	static const char *const h_raw[] = {"Inference-Header-Content-Length: 0",
					    "Content-Type: application/octet-stream", NULL};
	ls_server s;
	ls_resp r;
	size_t jn = 0, in_n = 0, out_n = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);
	uint8_t *in = ls_shared_file("golden/" HOSTED_QUANT "/cat_720p/input_0.bin", &in_n);
	uint8_t *gold = ls_shared_file("golden/" HOSTED_QUANT "/cat_720p/output_0.bin", &out_n);
	const char *top;
	json_t *data;

	ls_repo_init(&s);
	if (!jpg || !in || !gold || !ls_repo_add_runnable(&s, HOSTED_QUANT, "imagenet_labels_1001.txt")) {
		ls_repo_remove(&s);
		free(jpg), free(in), free(gold);
		return;
	}
	server_start(&s, NULL, true);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" HOSTED_QUANT "/predict", H_JPEG, jpg, (long)jn, &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	top = json_string_value(json_object_get(json_array_get(json_object_get(r.json, "predictions"), 0), "label"));
	ck_assert_msg(top && strstr(top, "cat"), "top-1 is '%s'", top ? top : "(none)");
	ck_assert(json_is_object(json_object_get(r.json, "latency_ms")));
	ls_resp_free(&r);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v2/models/" HOSTED_QUANT "/infer", h_raw, in, (long)in_n, &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	data = json_object_get(json_array_get(json_object_get(r.json, "outputs"), 0), "data");
	ck_assert_uint_eq(json_array_size(data), out_n);
	for (size_t i = 0; i < out_n; i++)
		ck_assert_msg(json_integer_value(json_array_get(data, i)) == gold[i],
			      "output byte %zu: %lld, golden %u", i,
			      (long long)json_integer_value(json_array_get(data, i)), gold[i]);
	ls_resp_free(&r);
	free(jpg), free(in), free(gold);
	ls_stop(&s);
}
END_TEST

/* ---- segmentation: JSON and PNG answers --------------------------------- */

#define SEG_MODEL "deeplabv3_257_mv_gpu"

START_TEST(test_segmentation_task)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);
	char ct[128];

	ls_repo_init(&s);
	if (!jpg || !ls_repo_add_runnable(&s, SEG_MODEL, "pascal_voc_21_labels.txt")) {
		ls_repo_remove(&s);
		free(jpg);
		return;
	}
	server_start(&s, NULL, true);
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/" SEG_MODEL, NULL, NULL, 0, &r), 0);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "task")), "segmentation");
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" SEG_MODEL "/predict", H_JPEG, jpg, (long)jn, &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "task")), "segmentation");
	ls_resp_free(&r);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" SEG_MODEL "/predict?output=png", H_JPEG, jpg, (long)jn, &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_ptr_nonnull(ls_resp_header(&r, "Content-Type", ct, sizeof(ct)));
	ck_assert_str_eq(ct, "image/png");
	ck_assert(r.len > 8 && !memcmp(r.body, "\x89PNG", 4));
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" SEG_MODEL "/predict?output=svg", H_JPEG, jpg, (long)jn, &r), 0);
	ls_assert_error(&r, 400, "bad_request", "output");
	ls_resp_free(&r);
	free(jpg);
	ls_stop(&s);
}
END_TEST

/* ---- model repository: index, unload, load ------------------------------ */

START_TEST(test_repository_admin)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);

	if (!jpg || !float_server(&s, NULL)) {
		free(jpg);
		return;
	}
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/index", NULL, "", 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(r.json), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r.json, 0), "name")), FLOAT_MODEL);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r.json, 0), "state")), "READY");
	ls_resp_free(&r);

	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/models/" FLOAT_MODEL "/unload", NULL, "", 0, &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ls_resp_free(&r);
	/* unloaded on request: the server stays ready, the model is not */
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/ready"), 200);
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/" FLOAT_MODEL "/ready", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 503, "model_not_ready", NULL);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG, jpg, (long)jn, &r),
			 0);
	ls_assert_error(&r, 503, "model_not_ready", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/index", H_JSON, "{\"ready\":true}", 14, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(r.json), 0);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "GET", "/v1/models/" FLOAT_MODEL, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(r.json, "model_version_status"), 0), "state")),
			 "END");
	ls_resp_free(&r);

	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/models/" FLOAT_MODEL "/load", NULL, "", 0, &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v2/models/" FLOAT_MODEL "/ready"), 200);
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG, jpg, (long)jn, &r),
			 0);
	check_classification(&r, 5, "cat");
	ls_resp_free(&r);
	/* reload while serving */
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/models/" FLOAT_MODEL "/load", NULL, "", 0, &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/models/nope/load", NULL, "", 0, &r), 0);
	ls_assert_error(&r, 404, "model_not_found", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/index", H_JSON, "{\"ready\":", 9, &r), 0);
	ls_assert_error(&r, 400, "bad_json", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/ready"), 200);
	free(jpg);
	ls_stop(&s);
}
END_TEST

/* ---- readiness: a model that fails to load -------------------------------- */

START_TEST(test_readiness)
{
	ls_server s;
	ls_resp r;

	ls_repo_init(&s);
	if (!ls_repo_add_runnable(&s, FLOAT_MODEL, "imagenet_labels_1001.txt")) {
		ls_repo_remove(&s);
		return;
	}
	{
		static const char junk[] =
		    "this is not a flatbuffer, just 64 bytes of text pretending to be one.....";
		ls_repo_add_bytes(&s, "broken", junk, sizeof(junk) - 1);
	}
	server_start(&s, NULL, false);
	/* live at once; ready never while a repository model is broken */
	{
		double t0 = ls_now_ms();
		while (!ls_log_has(&s, "models ready"))
			ck_assert(ls_now_ms() - t0 < 30000);
	}
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/live"), 200);
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/health/ready", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 503, "not_ready", "broken");
	ck_assert(json_is_false(json_object_get(r.json, "ready")));
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/broken/ready", NULL, NULL, 0, &r), 0);
	ls_assert_error(&r, 503, "model_not_ready", NULL);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v2/models/" FLOAT_MODEL "/ready"), 200);
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/index", NULL, "", 0, &r), 0);
	ck_assert_int_eq(json_array_size(r.json), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_array_get(r.json, i);
		if (!strcmp(json_string_value(json_object_get(e, "name")), "broken")) {
			ck_assert_str_eq(json_string_value(json_object_get(e, "state")), "UNAVAILABLE");
			ck_assert_int_gt(strlen(json_string_value(json_object_get(e, "reason"))), 0);
		}
	}
	ls_resp_free(&r);
	/* a load that fails says why, with 422 */
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/models/broken/load", NULL, "", 0, &r), 0);
	ck_assert_msg(r.status == 422 || r.status == 400, "load of a broken model: %ld %s", r.status, r.body);
	ls_assert_error(&r, r.status, NULL, "broken");
	ls_resp_free(&r);
	ls_assert_live(&s);
	/* unloading it (a no-op) tells the server not to wait for it */
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/repository/models/broken/unload", NULL, "", 0, &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/ready"), 200);
	ls_stop(&s);
}
END_TEST

/* ---- metrics -------------------------------------------------------------- */

START_TEST(test_metrics)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);
	char ct[128];

	if (!jpg || !float_server(&s, NULL)) {
		free(jpg);
		return;
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG, jpg, (long)jn, &r), 0);
		ck_assert_int_eq(r.status, 200);
		ls_resp_free(&r);
	}
	ck_assert_int_eq(ls_http(&s, "GET", "/v2/models/nope", NULL, NULL, 0, &r), 0);
	ls_resp_free(&r);
	ck_assert_int_eq(ls_http(&s, "GET", "/metrics", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(ls_resp_header(&r, "Content-Type", ct, sizeof(ct)));
	ck_assert_ptr_nonnull(strstr(ct, "text/plain"));
	{
		static const char *const want[] = {
		    "liteserve_requests_total{model=\"" FLOAT_MODEL "\",status=\"200\"} 3",
		    "liteserve_requests_total{model=\"nope\",status=\"404\"} 1",
		    "# TYPE liteserve_latency_seconds histogram",
		    "liteserve_latency_seconds_bucket{stage=\"decode\",le=\"+Inf\"} 3",
		    "liteserve_latency_seconds_count{stage=\"preprocess\"} 3",
		    "liteserve_latency_seconds_count{stage=\"queue\"} 3",
		    "liteserve_latency_seconds_count{stage=\"inference\"} 3",
		    "liteserve_latency_seconds_count{stage=\"postprocess\"} 3",
		    "liteserve_latency_seconds_count{stage=\"total\"} 3",
		    "liteserve_latency_seconds_sum{stage=\"total\"} ",
		    "liteserve_queue_depth{model=\"" FLOAT_MODEL "\"} 0",
		    "liteserve_inferences_total{model=\"" FLOAT_MODEL "\"} 3",
		    "liteserve_models_loaded 1",
		};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			if (!strstr(r.body, want[i]))
				fprintf(stderr, "%s\n", r.body);
			ck_assert_msg(strstr(r.body, want[i]), "/metrics lacks '%s'", want[i]);
		}
	}
	ls_resp_free(&r);
	/* the access log has one line per request with method, path, model, status, ms */
	ck_assert(ls_log_has(&s, "request POST /v1/models/" FLOAT_MODEL "/predict model=" FLOAT_MODEL
			      " version=1 status=200 ms="));
	ck_assert(
	    ls_log_has(&s, "request GET /v2/models/nope model=nope status=404 code=model_not_found ms="));
	ck_assert(ls_log_has(&s, "Z info listening on http://127.0.0.1:"));
	ck_assert(ls_log_has(&s, "models ready: 1 of 1"));
	free(jpg);
	ls_stop(&s);
}
END_TEST

/* ---- limits: body bytes and pixels --------------------------------------- */

START_TEST(test_limits)
{
	ls_server s;
	ls_resp r;
	size_t jn = 0, pn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);	    /* 104837 bytes, 1280x720 */
	uint8_t *png = ls_shared_file("images/grace_hopper.png", &pn); /* 481043 bytes */
	const char *const args[] = {"--max-body-bytes", "200000", "--max-pixels", "100000", NULL};
	const char *const chunked[] = {"Content-Type: image/png", "Transfer-Encoding: chunked", NULL};
	/* a client that waits for the server's go-ahead gets the 413 before it sends anything */
	const char *const png_expect[] = {"Content-Type: image/png", "Expect: 100-continue", NULL};
	const char *const json_expect[] = {"Content-Type: application/json", "Expect: 100-continue", NULL};

	if (!jpg || !png || !float_server(&s, args)) {
		free(jpg);
		free(png);
		return;
	}
	/* Content-Length over the limit: 413 before the body is read */
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", png_expect, png, (long)pn, &r),
			 0);
	ls_assert_error(&r, 413, "body_too_large", "200000");
	ls_resp_free(&r);
	ls_assert_live(&s);
	/* chunked, no length: counted as it arrives */
	ck_assert_int_eq(
	    ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", chunked, png, (long)pn, &r), 0);
	ls_assert_error(&r, 413, "body_too_large", "200000");
	ls_resp_free(&r);
	ls_assert_live(&s);
	/* any endpoint */
	ck_assert_int_eq(ls_http(&s, "POST", "/v2/models/" FLOAT_MODEL "/infer", json_expect, png, (long)pn, &r),
			 0);
	ls_assert_error(&r, 413, "body_too_large", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	/* under the byte limit, over the pixel limit: 413 from the decoder's header check */
	ck_assert_int_eq(ls_http(&s, "POST", "/v1/models/" FLOAT_MODEL "/predict", H_JPEG, jpg, (long)jn, &r),
			 0);
	ls_assert_error(&r, 413, "image_too_large", NULL);
	ls_resp_free(&r);
	ls_assert_live(&s);
	free(jpg);
	free(png);
	ls_stop(&s);
}
END_TEST

/* ---- queue full: one instance, no queue, a slow model -------------------- */

typedef struct slow_req {
	uint8_t *body;
	size_t len;
	size_t hdr_len;
} slow_req;

/* KServe binary request for the style-transfer model (content + style). */
static void slow_request(slow_req *q)
{
	const char *j =
	    "{\"inputs\":[{\"name\":\"content_image\",\"shape\":[1,384,384,3],\"datatype\":\"FP32\","
	    "\"parameters\":{\"binary_data_size\":1769472}},{\"name\":\"mobilenet_conv/Conv/BiasAdd\","
	    "\"shape\":[1,1,1,100],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":400}}],"
	    "\"parameters\":{\"binary_data_output\":true}}";
	q->hdr_len = strlen(j);
	q->len = q->hdr_len + 1769472 + 400;
	q->body = calloc(1, q->len);
	memcpy(q->body, j, q->hdr_len);
	for (size_t i = q->hdr_len; i + 4 <= q->len; i += 4) {
		float f = 0.25f;
		memcpy(q->body + i, &f, 4);
	}
}

static bool slow_server(ls_server *s, const char *const *args)
{
	ls_repo_init(s);
	if (!ls_repo_add_runnable(s, SLOW_MODEL, NULL)) {
		ls_repo_remove(s);
		return false;
	}
	server_start(s, args, true);
	return true;
}

START_TEST(test_queue_full)
{
	ls_server s;
	const char *const args[] = {"--instances", "1", "--max-queue", "0", "--threads", "8", NULL};
	slow_req q;
	enum { N = 6 };
	ls_resp rs[N];
	CURL *e[N];
	struct curl_slist *lists[N];
	char hv[96], hb[64];
	const char *const hdrs[] = {"Content-Type: application/octet-stream", hv, NULL};
	CURLM *multi;
	int running = 0, n200 = 0, n503 = 0;

	if (!slow_server(&s, args))
		return;
	slow_request(&q);
	snprintf(hv, sizeof(hv), "Inference-Header-Content-Length: %zu", q.hdr_len);
	multi = curl_multi_init();
	for (int i = 0; i < N; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		e[i] = ls_easy(&s, "POST", "/v2/models/" SLOW_MODEL "/infer", hdrs, q.body, (long)q.len,
				 &rs[i], &lists[i]);
		curl_multi_add_handle(multi, e[i]);
	}
	do {
		curl_multi_perform(multi, &running);
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running);
	for (int i = 0; i < N; i++) {
		ls_finish(e[i], &rs[i]);
		if (rs[i].status == 200) {
			n200++;
			ck_assert_uint_eq(
			    rs[i].len, (size_t)atol(ls_resp_header(&rs[i], "Inference-Header-Content-Length",
								   hb, sizeof(hb))) +
					      384 * 384 * 3 * 4);
		} else {
			ls_assert_error(&rs[i], 503, "queue_full", NULL);
			ck_assert_ptr_nonnull(ls_resp_header(&rs[i], "Retry-After", hb, sizeof(hb)));
			ck_assert_str_eq(hb, "1");
			n503++;
		}
		curl_multi_remove_handle(multi, e[i]);
		curl_easy_cleanup(e[i]);
		curl_slist_free_all(lists[i]);
		ls_resp_free(&rs[i]);
	}
	curl_multi_cleanup(multi);
	ck_assert_int_ge(n200, 1);
	ck_assert_msg(n503 >= 1, "%d concurrent requests on 1 instance with max-queue 0: no 503", N);
	ls_assert_live(&s);
	/* TF Serving with two inputs by name (columnar) on the same model */
	{
		ls_resp r;
		size_t cap = 16u << 20, n = 0;
		char *b = malloc(cap);
		n += (size_t)snprintf(b + n, cap - n, "{\"inputs\":{\"mobilenet_conv/Conv/BiasAdd\":[[[[");
		for (int i = 0; i < 100; i++)
			n += (size_t)snprintf(b + n, cap - n, "%s0.1", i ? "," : "");
		n += (size_t)snprintf(b + n, cap - n, "]]]],\"content_image\":[[");
		for (int y = 0; y < 384; y++) {
			n += (size_t)snprintf(b + n, cap - n, "%s[", y ? "," : "");
			for (int x = 0; x < 384; x++)
				n += (size_t)snprintf(b + n, cap - n, "%s[0.5,0.5,0.5]", x ? "," : "");
			n += (size_t)snprintf(b + n, cap - n, "]");
		}
		n += (size_t)snprintf(b + n, cap - n, "]]}}");
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" SLOW_MODEL ":predict", H_JSON, b, (long)n, &r), 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		ck_assert_int_eq(json_array_size(json_array_get(json_object_get(r.json, "outputs"), 0)), 384);
		ls_resp_free(&r);
		free(b);
	}
	/* a model without a task on the task endpoint: 400 pointing to the tensor endpoints */
	{
		ls_resp r;
		ck_assert_int_eq(
		    ls_http(&s, "POST", "/v1/models/" SLOW_MODEL "/predict", H_JPEG, "\xff\xd8\xff", 3, &r),
		    0);
		ls_assert_error(&r, 400, "no_task", "/infer");
		ls_resp_free(&r);
	}
	free(q.body);
	ls_stop(&s);
}
END_TEST

/* ---- graceful shutdown: SIGTERM lets the request in flight finish -------- */

typedef struct bg {
	ls_server *s;
	slow_req *q;
	ls_resp r;
	int rc;
} bg;

static void *bg_request(void *arg)
{
	bg *b = arg;
	char hv[96];
	const char *const hdrs[] = {"Content-Type: application/octet-stream", hv, NULL};

	snprintf(hv, sizeof(hv), "Inference-Header-Content-Length: %zu", b->q->hdr_len);
	b->rc = ls_http(b->s, "POST", "/v2/models/" SLOW_MODEL "/infer", hdrs, b->q->body, (long)b->q->len,
			&b->r);
	return NULL;
}

START_TEST(test_graceful_shutdown)
{
	ls_server s;
	slow_req q;
	bg b = {0};
	pthread_t th;
	double t0;
	int status = 0;
	pid_t w;

	if (!slow_server(&s, NULL))
		return;
	slow_request(&q);
	b.s = &s;
	b.q = &q;
	ck_assert_int_eq(pthread_create(&th, NULL, bg_request, &b), 0);
	/* wait until the request is in flight (the scrape itself counts 1) */
	t0 = ls_now_ms();
	for (;;) {
		ls_resp r;
		bool busy = false;
		ck_assert_int_eq(ls_http(&s, "GET", "/metrics", NULL, NULL, 0, &r), 0);
		busy = r.body && strstr(r.body, "liteserve_requests_in_flight 2");
		ls_resp_free(&r);
		if (busy)
			break;
		ck_assert_msg(ls_now_ms() - t0 < 10000, "request never in flight");
		ls_sleep_ms(2);
	}
	ls_sleep_ms(20); /* let the body arrive: the inference takes ~140 ms */
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(b.rc, 0);
	ck_assert_msg(b.r.status == 200, "in-flight request got %ld: %s", b.r.status,
		      b.r.body ? b.r.body : "");
	ls_resp_free(&b.r);
	t0 = ls_now_ms();
	while ((w = waitpid(s.pid, &status, WNOHANG)) == 0 && ls_now_ms() - t0 < 30000)
		ls_sleep_ms(10);
	ck_assert_int_eq(w, s.pid);
	s.pid = 0;
	ls_current = NULL;
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	{
		char *log = ls_read_text(s.log);
		ck_assert_ptr_nonnull(strstr(log, "SIGTERM: draining"));
		ck_assert_ptr_nonnull(strstr(log, "stopped"));
		free(log);
	}
	ls_repo_remove(&s);
	free(q.body);
}
END_TEST

/* ---- configuration: --help, bounds, precedence ---------------------------- */

/* Runs liteserve with args (and env assignments), returns the exit status
 * and the combined output in out. */
static int run_cli(const char *const *args, const char *const *env, char *out, size_t outlen)
{
	char path[] = "/tmp/liteserve-cli-XXXXXX";
	int fd = mkstemp(path), status = 0;
	pid_t pid;
	char *argv[32];
	int n = 0;

	ck_assert_int_ge(fd, 0);
	argv[n++] = (char *)ts_liteserve_bin();
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	waitpid(pid, &status, 0);
	{
		char *t = ls_read_text(path);
		snprintf(out, outlen, "%s", t ? t : "");
		free(t);
	}
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_config)
{
	static char out[16384];
	ls_server s;
	char cfg[128], line[512];
	FILE *f;

	ck_assert_int_eq(run_cli((const char *const[]){"serve", "--help", NULL}, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "--max-body-bytes"));
	ck_assert_ptr_nonnull(strstr(out, "LITESERVE_MAX_BODY_BYTES"));
	ck_assert_ptr_nonnull(strstr(out, "--inference-threads"));
	ck_assert_ptr_nonnull(strstr(out, "default 67108864"));
	ck_assert_int_eq(
	    run_cli((const char *const[]){"serve", "--bogus", "1", NULL}, NULL, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "--bogus"));
	ck_assert_int_eq(
	    run_cli((const char *const[]){"serve", "--port", "70000", NULL}, NULL, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "out of range 0..65535"));
	ck_assert_int_eq(run_cli((const char *const[]){"serve", NULL},
				 (const char *const[]){"LITESERVE_THREADS=zero", NULL}, out, sizeof(out)),
			 2);
	ck_assert_ptr_nonnull(strstr(out, "LITESERVE_THREADS"));
	ck_assert_int_eq(
	    run_cli((const char *const[]){"serve", "--log-level", "loud", NULL}, NULL, out, sizeof(out)), 2);

	/* precedence: flags > env > file > defaults, seen in the startup config line */
	ls_repo_init(&s);
	snprintf(cfg, sizeof(cfg), "%s/config.json", s.dir);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(
	    f,
	    "{\"max_body_bytes\": 1000, \"max-pixels\": 5000, \"max_queue\": 7, \"log-level\": \"info\"}\n");
	fclose(f);
	ck_assert_int_eq(run_cli((const char *const[]){"serve", "--config", cfg, "--port", "-1", NULL}, NULL,
				 out, sizeof(out)),
			 2);
	setenv("LITESERVE_MAX_PIXELS", "6000", 1);
	setenv("LITESERVE_MAX_QUEUE", "9", 1);
	{
		const char *const args[] = {"--config", cfg, "--max-queue", "11", NULL};
		char *log, *p;
		server_start(&s, args, false);
		log = ls_read_text(s.log);
		p = strstr(log, "config: ");
		ck_assert_ptr_nonnull(p);
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
		free(log);
		ck_assert_msg(strstr(line, "max-body-bytes=1000 "), "file value lost: %s", line);
		ck_assert_msg(strstr(line, "max-pixels=6000 "), "env must beat the file: %s", line);
		ck_assert_msg(strstr(line, "max-queue=11 "), "flag must beat env: %s", line);
		{
			/* throughput mode (the default): one single-threaded instance per usable core */
			cpu_set_t set;
			char want[64];
			int cores = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
			snprintf(want, sizeof(want), "mode=throughput instances=%d inference-threads=1 ", cores);
			ck_assert_msg(strstr(line, want), "default lost (want '%s'): %s", want, line);
		}
	}
	unsetenv("LITESERVE_MAX_PIXELS");
	unsetenv("LITESERVE_MAX_QUEUE");
	/* the server with an empty repository is ready and answers */
	{
		double t0 = ls_now_ms();
		while (ls_get_status(&s, "/v2/health/ready") != 200) {
			ck_assert(ls_now_ms() - t0 < 10000);
			ls_sleep_ms(20);
		}
	}
	unlink(cfg);
	/* a bad config file refuses to start with the line and column */
	f = fopen(cfg, "w");
	fprintf(f, "{\"port\": 1,\n \"threads\": }\n");
	fclose(f);
	ck_assert_int_eq(
	    run_cli((const char *const[]){"serve", "--config", cfg, NULL}, NULL, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "line 2"), "%s", out);
	f = fopen(cfg, "w");
	fprintf(f, "{\"instance\": 1}\n");
	fclose(f);
	ck_assert_int_eq(
	    run_cli((const char *const[]){"serve", "--config", cfg, NULL}, NULL, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "\"instance\": unknown option"), "%s", out);
	unlink(cfg);
	ls_stop(&s);
}
END_TEST

/* ---- unit: multipart and base64 parsers ----------------------------------- */

START_TEST(test_multipart_parser)
{
	char err[256];
	mp_part p;
	const char *ct = "multipart/form-data; boundary=abc";
	const char *ok = "--abc\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n"
			 "--abc\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a;b.png\"\r\n"
			 "Content-Type: image/png\r\n\r\n\r\n--ab\r\n\r\n--abc--";

	ck_assert_int_eq(mp_find((const uint8_t *)ok, strlen(ok), ct, "image", &p, err, sizeof(err)), MP_OK);
	ck_assert_uint_eq(p.len, 8);
	ck_assert(!memcmp(p.data, "\r\n--ab\r\n", 8)); /* a near-boundary inside the content is content */
	ck_assert_str_eq(p.content_type, "image/png");
	ck_assert_str_eq(p.filename, "a;b.png");
	ck_assert_int_eq(mp_find((const uint8_t *)ok, strlen(ok), ct, "x", &p, err, sizeof(err)), MP_OK);
	ck_assert_uint_eq(p.len, 1);
	ck_assert_int_eq(mp_find((const uint8_t *)ok, strlen(ok), ct, "y", &p, err, sizeof(err)),
			 MP_NOT_FOUND);
	ck_assert_int_eq(
	    mp_find((const uint8_t *)ok, strlen(ok), "multipart/form-data", "x", &p, err, sizeof(err)),
	    MP_BAD_BOUNDARY);
	ck_assert_int_eq(mp_find((const uint8_t *)ok, strlen(ok), "multipart/form-data; boundary=", "x", &p,
				 err, sizeof(err)),
			 MP_BAD_BOUNDARY);
	/* every truncation of a valid body is refused or parsed inside its bounds */
	for (size_t n = 0; n < strlen(ok); n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan catches any overread */
		memcpy(copy, ok, n);
		mp_status st = mp_find((const uint8_t *)copy, n, ct, "image", &p, err, sizeof(err));
		ck_assert(st == MP_MALFORMED || st == MP_NOT_FOUND || st == MP_OK);
		if (st == MP_OK)
			ck_assert(p.data >= (uint8_t *)copy && p.data + p.len <= (uint8_t *)copy + n);
		free(copy);
	}
	/* unterminated headers, missing CRLF after the boundary */
	ck_assert_int_eq(mp_find((const uint8_t *)"--abc\r\nContent-Disposition: form-data", 38, ct, "x", &p,
				 err, sizeof(err)),
			 MP_MALFORMED);
	ck_assert_int_eq(
	    mp_find((const uint8_t *)"--abcX\r\n\r\n\r\n--abc--", 19, ct, "x", &p, err, sizeof(err)),
	    MP_MALFORMED);
	/* too many parts */
	{
		size_t cap = 100000, n = 0;
		char *b = malloc(cap);
		for (int i = 0; i < MP_MAX_PARTS + 2; i++)
			n += (size_t)snprintf(b + n, cap - n, "--abc\r\n\r\nx\r\n");
		n += (size_t)snprintf(b + n, cap - n, "--abc--");
		ck_assert_int_eq(mp_find((const uint8_t *)b, n, ct, "image", &p, err, sizeof(err)),
				 MP_MALFORMED);
		ck_assert_ptr_nonnull(strstr(err, "parts"));
		free(b);
	}
}
END_TEST

START_TEST(test_base64)
{
	uint8_t out[64];
	size_t n = 0;
	char err[128];

	ck_assert(b64_decode("aGVsbG8=", 8, out, &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 5);
	ck_assert(!memcmp(out, "hello", 5));
	ck_assert(b64_decode("aGVsbG8", 7, out, &n, err, sizeof(err))); /* unpadded */
	ck_assert_uint_eq(n, 5);
	ck_assert(b64_decode("", 0, out, &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 0);
	ck_assert(b64_decode("+/+/", 4, out, &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 3);
	ck_assert(!b64_decode("aGVs bG8", 8, out, &n, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "offset 4"));
	ck_assert(!b64_decode("aGVsbG8-", 8, out, &n, err, sizeof(err))); /* URL-safe alphabet */
	ck_assert(!b64_decode("aG=sbG8=", 8, out, &n, err, sizeof(err))); /* '=' inside */
	ck_assert(!b64_decode("aGVsb", 5, out, &n, err, sizeof(err)));	  /* dangling character */
	ck_assert(!b64_decode("aGVsbG9=", 8, out, &n, err, sizeof(err))); /* non-zero padding bits */
	ck_assert(!b64_decode("aGVsbG8==", 9, out, &n, err, sizeof(err)));
	ck_assert(!b64_decode("aA===", 5, out, &n, err, sizeof(err)));
	ck_assert(!b64_decode("a\xff==", 4, out, &n, err, sizeof(err)));
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("server");
	TCase *unit = tcase_create("parsers");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_metadata_and_routing);
	tcase_add_test(tc, test_task_predict);
	tcase_add_test(tc, test_kserve_infer);
	tcase_add_test(tc, test_tfserving);
	tcase_add_test(tc, test_quantized_model);
	tcase_add_test(tc, test_hosted_quant_cat_and_golden_bytes);
	tcase_add_test(tc, test_segmentation_task);
	tcase_add_test(tc, test_repository_admin);
	tcase_add_test(tc, test_readiness);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_graceful_shutdown);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	tcase_add_test(unit, test_multipart_parser);
	tcase_add_test(unit, test_base64);
	suite_add_tcase(s, unit);
	return s;
}

int main(void)
{
	int rc;

	atexit(ls_kill_current);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = ts_run_suite(http_suite());
	curl_global_cleanup();
	return rc;
}
