/* fuzz_http.c - libFuzzer target: bytes -> one HTTP request -> the handlers.
 *
 * DESIGN: the server's request path minus the sockets.  Once per process
 * we write a tiny model repository to a temporary directory (three models
 * made with the test writer: "tiny", a float [1,4,4,3] classifier with a
 * config.json and labels; "tinyq", uint8 with no config; "pair", two int32
 * inputs added) and load it into a real pool behind a real srv_app.  Each
 * input becomes an srv_request routed by srv_dispatch (http.h), so the
 * real route table, KServe v2 (JSON and binary extension), TF Serving,
 * task predict (image bytes, multipart, JSON) and repository load/unload
 * see it.  Layout of an input:
 *   byte 0: method, byte 1: route template, byte 2: content type,
 *   byte 3: model name choice, then four '\n'-terminated lines: a raw name
 *   (used by byte 3's last choice: hostile names reach load/unload),
 *   version, query string (k=v&k=v), Inference-Header-Content-Length;
 *   everything after them is the body.
 * Checks beyond the sanitizers: a status in 100..599, and every JSON
 * response body parses.  Models unloaded by an input are loaded again so
 * every input meets the same repository.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "pool.h"
#include "server.h"
#include "tflite_builder.h"

static char fz_repo[256];
static cfg_config fz_cfg;
static pool_registry *fz_pool;
static srv_app fz_app;
static const char *const fz_models[] = {"tiny", "tinyq", "pair"};

static void die(const char *what)
{
	perror(what);
	abort();
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/* NAME/1/model.tflite (+ optional config.json and labels.txt) */
static void write_model(const char *name, tb_model *b, const char *config, const char *labels)
{
	char dir[512];
	size_t size;
	uint8_t *bytes = tb_finish(b, &size);

	tb_free(b);
	snprintf(dir, sizeof(dir), "%s/%s", fz_repo, name);
	if (mkdir(dir, 0700) != 0)
		die(dir);
	if (config)
		write_file(dir, "config.json", config, strlen(config));
	if (labels)
		write_file(dir, "labels.txt", labels, strlen(labels));
	snprintf(dir, sizeof(dir), "%s/%s/1", fz_repo, name);
	if (mkdir(dir, 0700) != 0)
		die(dir);
	write_file(dir, "model.tflite", bytes, size);
	free(bytes);
}

static void make_repo(void)
{
	tb_model *b;
	int x, y, r;
	char labels[48 * 4 + 1] = "";

	snprintf(fz_repo, sizeof(fz_repo), "%s/liteserve-fuzz-http-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(fz_repo))
		die("mkdtemp");

	/* tiny: image [1,4,4,3] float -> RESHAPE [1,48] -> SOFTMAX: 48 classes */
	b = tb_new();
	x = tb_tensor(b, "image", NN_F32, 4, (int32_t[]){1, 4, 4, 3}, NULL, 0, NULL);
	r = tb_tensor(b, "flat", NN_F32, 2, (int32_t[]){1, 48}, NULL, 0, NULL);
	{
		tb_opts o = {0};

		tb_opt_vec(&o, 0, 2, (int32_t[]){1, 48});
		tb_op(b, 22, NULL, 1, (int[]){x}, 1, (int[]){r}, 1, 17, &o);
	}
	y = tb_tensor(b, "probs", NN_F32, 2, (int32_t[]){1, 48}, NULL, 0, NULL);
	{
		tb_opts o = {0};

		tb_opt_f32(&o, 0, 1.0f);
		tb_op(b, 25, NULL, 1, (int[]){r}, 1, (int[]){y}, 1, 9, &o);
	}
	tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	for (int i = 0; i < 48; i++)
		snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels), "c%d\n", i);
	write_model("tiny", b,
		    "{\"task\": \"classification\", \"labels\": \"labels.txt\", \"preprocess\": {\"mode\": \"mean_std\", "
		    "\"mean\": 127.5, \"std\": 127.5, \"resize\": \"stretch\"}, \"instances\": 1, \"max_queue\": 2}",
		    labels);

	/* tinyq: uint8 [1,4,4,3] -> RESHAPE [1,48] (quantized as the input) */
	b = tb_new();
	{
		float s = 1.0f / 255;
		int64_t z = 0;
		tb_quant q = {1, &s, &z, 0};
		tb_opts o = {0};

		x = tb_tensor(b, "image", NN_U8, 4, (int32_t[]){1, 4, 4, 3}, NULL, 0, &q);
		y = tb_tensor(b, "scores", NN_U8, 2, (int32_t[]){1, 48}, NULL, 0, &q);
		tb_opt_vec(&o, 0, 2, (int32_t[]){1, 48});
		tb_op(b, 22, NULL, 1, (int[]){x}, 1, (int[]){y}, 1, 17, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	}
	write_model("tinyq", b, NULL, NULL);

	/* pair: int32 [2,3] + int32 [2,3] */
	b = tb_new();
	{
		int a, c;
		tb_opts o = {0};

		a = tb_tensor(b, "a", NN_I32, 2, (int32_t[]){2, 3}, NULL, 0, NULL);
		c = tb_tensor(b, "b", NN_I32, 2, (int32_t[]){2, 3}, NULL, 0, NULL);
		y = tb_tensor(b, "sum", NN_I32, 2, (int32_t[]){2, 3}, NULL, 0, NULL);
		tb_op(b, 0, NULL, 1, (int[]){a, c}, 2, (int[]){y}, 1, 11, &o);
		tb_io(b, 2, (int[]){a, c}, 1, (int[]){y});
	}
	write_model("pair", b, NULL, NULL);
}

static void quiet_log(bool warning, const char *line)
{
	(void)warning;
	(void)line;
}

static void cleanup(void)
{
	char cmd[300];

	/* the pool stays (the process ends); only the files go */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz_repo);
	if (fz_repo[0] && system(cmd) != 0)
		fprintf(stderr, "fuzz_http: could not remove %s\n", fz_repo);
}

static void init(void)
{
	pool_defaults def = {.instances = 1, .threads = 1, .max_queue = 2, .max_pixels = 100000, .log = quiet_log};

	make_repo();
	atexit(cleanup);
	srv_log_set_level(SRV_LOG_ERROR);
	cfg_defaults(&fz_cfg);
	snprintf(fz_cfg.model_repository, sizeof(fz_cfg.model_repository), "%s", fz_repo);
	fz_cfg.max_pixels = def.max_pixels;
	fz_pool = pool_create(fz_repo, &def);
	if (!fz_pool || pool_load_all(fz_pool) != 3) {
		fprintf(stderr, "fuzz_http: the tiny repository did not load\n");
		abort();
	}
	srv_app_init(&fz_app, &fz_cfg, fz_pool);
	atomic_store(&fz_app.loaded, true);
}

static const char *const fz_methods[] = {"POST", "GET", "HEAD", "PUT", "DELETE", "POST", "POST", "GET"};
/* %1$s = name, %2$s = version; "" = the raw name line is the whole path */
static const char *const fz_routes[] = {
    "/v2/models/%1$s/infer", "/v2/models/%1$s/versions/%2$s/infer", "/v1/models/%1$s:predict",
    "/v1/models/%1$s/versions/%2$s:predict", "/v1/models/%1$s/predict", "/v1/models/%1$s/versions/%2$s/predict",
    "/v2/repository/models/%1$s/load", "/v2/repository/models/%1$s/unload", "/v2/repository/index",
    "/v2/models/%1$s", "/v2/models/%1$s/versions/%2$s/ready", "/v1/models/%1$s",
    "/v1/models/%1$s/versions/%2$s/metadata", "/v2", "/v2/health/ready", "/metrics", "",
};
static const char *const fz_types[] = {
    NULL, "application/json", "application/octet-stream", "image/jpeg", "image/png",
    "multipart/form-data; boundary=XyZ", "multipart/form-data; boundary=\"a b\"", "text/plain",
    "application/json; charset=utf-8", "multipart/form-data", "application/x-www-form-urlencoded", "IMAGE/PNG",
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Next '\n'-terminated line of [*p, end) copied into buf (truncated). */
static void next_line(const uint8_t **p, const uint8_t *end, char *buf, size_t buflen)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	snprintf(buf, buflen, "%.*s", (int)n, (const char *)*p);
	*p = nl ? nl + 1 : end;
}

/* "a=1&b=2" -> pairs pointing into qs (modified) */
static int split_query(char *qs, const char *pairs[][2], int max)
{
	int n = 0;

	for (char *save = NULL, *kv = strtok_r(qs, "&", &save); kv && n < max; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');

		if (eq)
			*eq++ = '\0';
		pairs[n][0] = kv;
		pairs[n][1] = eq ? eq : "";
		n++;
	}
	return n;
}

static void reload_missing(void)
{
	for (size_t i = 0; i < N_OF(fz_models); i++) {
		pool_status st;
		pool_model *m = pool_get(fz_pool, fz_models[i], 0, &st);
		nn_err err;

		if (m) {
			pool_put(m);
			continue;
		}
		if (pool_load(fz_pool, fz_models[i], &err) != POOL_OK) {
			fprintf(stderr, "fuzz_http: %s does not load again: %s\n", fz_models[i], err.msg);
			abort();
		}
		srv_app_set_unloaded(&fz_app, fz_models[i], false);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	const uint8_t *p = data + 4, *end = data + size;
	char raw[512], version[64], qs[1024], ihcl[64], path[2048];
	const char *query[16][2], *headers[1][2];
	const char *name;
	srv_request req = {0};
	srv_response resp = {0};
	uint8_t *body;
	size_t body_len;

	if (!ready) {
		init();
		ready = true;
	}
	if (size < 4)
		return 0;
	next_line(&p, end, raw, sizeof(raw));
	next_line(&p, end, version, sizeof(version));
	next_line(&p, end, qs, sizeof(qs));
	next_line(&p, end, ihcl, sizeof(ihcl));
	body_len = (size_t)(end - p);
	body = malloc(body_len + 1); /* NUL-terminated, as the server hands it over */
	if (!body)
		abort();
	memcpy(body, p, body_len);
	body[body_len] = '\0';

	name = data[3] % 5 < 3 ? fz_models[data[3] % 5] : data[3] % 5 == 3 ? "nosuch" : raw;
	{
		const char *route = fz_routes[data[1] % N_OF(fz_routes)];

		if (route[0])
			snprintf(path, sizeof(path), route, name, version);
		else
			snprintf(path, sizeof(path), "%s", raw);
	}
	req.method = fz_methods[data[0] % N_OF(fz_methods)];
	req.path = path;
	req.content_type = fz_types[data[2] % N_OF(fz_types)];
	req.body = body;
	req.body_len = body_len;
	req.app = &fz_app;
	req.n_query = split_query(qs, query, 16);
	req.query = (const char *const(*)[2])query;
	if (ihcl[0]) {
		headers[0][0] = "Inference-Header-Content-Length";
		headers[0][1] = ihcl;
		req.n_headers = 1;
		req.headers = (const char *const(*)[2])headers;
	}
	srv_dispatch(&req, &resp);

	if (resp.status < 100 || resp.status > 599)
		abort();
	if (resp.content_type && !strcmp(resp.content_type, "application/json")) {
		json_error_t jerr;
		json_t *j = json_loadb((const char *)resp.body, resp.body_len, 0, &jerr);

		if (!j) {
			fprintf(stderr, "fuzz_http: status %d body is not JSON (%s): %.200s\n", resp.status, jerr.text,
				resp.body ? (const char *)resp.body : "(null)");
			abort();
		}
		json_decref(j);
	}
	if (getenv("FUZZ_HTTP_VERBOSE")) /* to see what the seeds reach */
		fprintf(stderr, "%s %s (%s) -> %d %.300s\n", req.method, req.path,
			req.content_type ? req.content_type : "-", resp.status, resp.body ? (const char *)resp.body : "");
	free(resp.body);
	free(body);
	reload_missing();
	return 0;
}
