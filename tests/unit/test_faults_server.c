/* test_faults_server.c - the server under faults: reload and unload under
 * load, SIGTERM under load, slow clients, serving modes.
 *
 * DESIGN: each test runs the real binary (live_server.h) and checks what a
 * client sees, not internal state: every request on a served model answers
 * 200 while the model is reloaded; every request started before SIGTERM
 * answers 200 and the process exits 0; a client trickling connections
 * cannot stop another one from being served.  Loads run from client
 * threads (libcurl easy handles, one per request), so the tests need no
 * wrk; their length is bounded by counts, not by wall-clock loops.
 *
 * Slow clients on loopback: every local client is 127.0.0.1, so the
 * per-IP limit would also throttle the well-behaved client.  The slow
 * client connects from 127.0.0.1 and the normal one from 127.0.0.2 (Linux
 * routes all of 127/8 to lo), which is how two hosts look to the server.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define SECOND_MODEL "mobilenet_v1_0.25_128_quant"
/* Under ThreadSanitizer (scripts/test's third pass) the server runs 10-30x
 * slower: fewer rounds and requests keep the pass inside CI's budget while
 * still interleaving reloads, drains and hang-ups with requests. */
#if defined(__SANITIZE_THREAD__)
#define FAULTS_SCALE 3
#else
#define FAULTS_SCALE 1
#endif
#define SLOW_MODEL "style_transfer_f16_384" /* ~140 ms per inference here */

static const char *const H_JPEG[] = {"Content-Type: image/jpeg", NULL};

/* ---- reload and unload under load ---------------------------------------- */

typedef struct hammer {
	const ls_server *s;
	const char *path;
	const uint8_t *body;
	size_t len;
	atomic_bool *stop;
	int n_ok, n_other, n_unready; /* unready: 503 model_not_ready (allowed on the unloaded model) */
	long last_bad;
	char last_body[256];
} hammer;

static void *hammer_main(void *arg)
{
	hammer *h = arg;

	while (!atomic_load(h->stop)) {
		ls_resp r;
		int rc = ls_http(h->s, "POST", h->path, H_JPEG, h->body, (long)h->len, &r);
		const char *code = r.json ? json_string_value(json_object_get(r.json, "code")) : NULL;

		if (rc == 0 && r.status == 200) {
			h->n_ok++;
		} else if (rc == 0 && r.status == 503 && code && !strcmp(code, "model_not_ready")) {
			h->n_unready++;
		} else {
			h->n_other++;
			h->last_bad = rc ? -rc : r.status;
			snprintf(h->last_body, sizeof(h->last_body), "%s", r.body ? r.body : "");
		}
		ls_resp_free(&r);
	}
	return NULL;
}

static void admin_ok(const ls_server *s, const char *path)
{
	ls_resp r;

	ck_assert_int_eq(ls_http(s, "POST", path, NULL, "", 0, &r), 0);
	ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body ? r.body : "");
	ls_resp_free(&r);
}

START_TEST(test_reload_unload_under_load)
{
	static const char *const args[] = {"--threads", "6", "--instances", "2", "--max-queue", "64", NULL};
	enum { N_SERVED = 3, ROUNDS = 12 / FAULTS_SCALE };
	ls_server s;
	size_t jn = 0;
	uint8_t *jpg = ls_shared_file("images/cat_720p.jpg", &jn);
	atomic_bool stop = false;
	hammer h[N_SERVED + 1];
	pthread_t th[N_SERVED + 1];
	int total_ok = 0;

	if (!jpg)
		return;
	ls_repo_init(&s);
	if (!ls_repo_add(&s, LS_FLOAT_MODEL, LS_FLOAT_LABELS) || !ls_repo_add(&s, SECOND_MODEL, LS_FLOAT_LABELS)) {
		ls_repo_remove(&s);
		free(jpg);
		return;
	}
	ls_start(&s, args, true);
	for (int i = 0; i <= N_SERVED; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].s = &s;
		h[i].path = i < N_SERVED ? "/v1/models/" LS_FLOAT_MODEL "/predict" : "/v1/models/" SECOND_MODEL "/predict";
		h[i].body = jpg;
		h[i].len = jn;
		h[i].stop = &stop;
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	}
	/* the served model is reloaded (a new version object swapped in under
	 * the requests); the other one is unloaded and loaded again */
	for (int round = 0; round < ROUNDS; round++) {
		admin_ok(&s, "/v2/repository/models/" LS_FLOAT_MODEL "/load");
		admin_ok(&s, "/v2/repository/models/" SECOND_MODEL "/unload");
		ls_sleep_ms(20);
		admin_ok(&s, "/v2/repository/models/" SECOND_MODEL "/load");
		ls_sleep_ms(20);
	}
	atomic_store(&stop, true);
	for (int i = 0; i <= N_SERVED; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N_SERVED; i++) {
		ck_assert_msg(h[i].n_other == 0 && h[i].n_unready == 0,
			      "served model: %d failed requests of %d (last %ld: %s)", h[i].n_other + h[i].n_unready,
			      h[i].n_ok + h[i].n_other + h[i].n_unready, h[i].last_bad, h[i].last_body);
		total_ok += h[i].n_ok;
	}
	/* the unloaded model may say "not ready" while it is out, nothing else */
	ck_assert_msg(h[N_SERVED].n_other == 0, "unloaded model: %d unexpected answers (last %ld: %s)",
		      h[N_SERVED].n_other, h[N_SERVED].last_bad, h[N_SERVED].last_body);
	fprintf(stderr, "reload under load: %d requests 200 on the reloaded model over %d reloads; "
		"other model %d x 200, %d x 503 not ready\n",
		total_ok, ROUNDS, h[N_SERVED].n_ok, h[N_SERVED].n_unready);
	ck_assert_int_ge(total_ok, ROUNDS);
	ck_assert_int_eq(ls_get_status(&s, "/v2/health/ready"), 200);
	ls_stop(&s);
	free(jpg);
}
END_TEST

/* ---- SIGTERM under load drains every started request ---------------------- */

typedef struct slow_job {
	const ls_server *s;
	const uint8_t *body;
	size_t len;
	const char *const *hdrs;
	int rc;
	long status;
	char body_start[200];
} slow_job;

static void *slow_main(void *arg)
{
	slow_job *j = arg;
	ls_resp r;

	j->rc = ls_http(j->s, "POST", "/v2/models/" SLOW_MODEL "/infer", j->hdrs, j->body, (long)j->len, &r);
	j->status = r.status;
	snprintf(j->body_start, sizeof(j->body_start), "%s", r.body ? r.body : "");
	ls_resp_free(&r);
	return NULL;
}

/* The gauge of requests between first callback and completion. */
static int in_flight(const ls_server *s)
{
	ls_resp r;
	const char *p;
	int n = -1;

	if (ls_http(s, "GET", "/metrics", NULL, NULL, 0, &r) == 0 && r.body &&
	    (p = strstr(r.body, "\nliteserve_requests_in_flight ")))
		n = atoi(p + strlen("\nliteserve_requests_in_flight "));
	ls_resp_free(&r);
	return n - 1; /* the scrape counts itself */
}

/* A KServe binary request for SLOW_MODEL: the JSON header, then zeroed
 * tensors (1x384x384x3 and 1x1x1x100 FP32).  *len gets its size, hv its
 * Inference-Header-Content-Length header. */
static uint8_t *slow_request(size_t *len, char *hv, size_t hvlen)
{
	const char *hj =
	    "{\"inputs\":[{\"name\":\"content_image\",\"shape\":[1,384,384,3],\"datatype\":\"FP32\","
	    "\"parameters\":{\"binary_data_size\":1769472}},{\"name\":\"mobilenet_conv/Conv/BiasAdd\","
	    "\"shape\":[1,1,1,100],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":400}}]}";
	size_t hl = strlen(hj);
	uint8_t *body;

	*len = hl + 1769472 + 400;
	body = calloc(1, *len);
	memcpy(body, hj, hl);
	snprintf(hv, hvlen, "Inference-Header-Content-Length: %zu", hl);
	return body;
}

START_TEST(test_sigterm_drains_under_load)
{
	/* one instance: the requests queue, so SIGTERM finds most of them waiting */
	static const char *const args[] = {"--threads", "8", "--instances", "1", "--inference-threads", "1",
					   "--drain-timeout", "60", NULL};
	enum { N = 6 / FAULTS_SCALE };
	char hv[96];
	const char *hdrs[] = {"Content-Type: application/octet-stream", hv, NULL};
	size_t len;
	uint8_t *body;
	slow_job jobs[N];
	pthread_t th[N];
	ls_server s;
	double t0;
	int status, n;

	ls_repo_init(&s);
	if (!ls_repo_add(&s, SLOW_MODEL, NULL)) {
		ls_repo_remove(&s);
		return;
	}
	body = slow_request(&len, hv, sizeof(hv));
	ls_start(&s, args, true);
	for (int i = 0; i < N; i++) {
		jobs[i] = (slow_job){.s = &s, .body = body, .len = len, .hdrs = hdrs};
		ck_assert_int_eq(pthread_create(&th[i], NULL, slow_main, &jobs[i]), 0);
	}
	t0 = ls_now_ms();
	while ((n = in_flight(&s)) < N) {
		ck_assert_msg(ls_now_ms() - t0 < 20000, "only %d of %d requests in flight", n, N);
		ls_sleep_ms(2);
	}
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	status = ls_wait_exit(&s, 60000);
	ck_assert_msg(status != -1, "liteserve still running 60 s after SIGTERM");
	for (int i = 0; i < N; i++)
		ck_assert_msg(jobs[i].rc == 0 && jobs[i].status == 200, "request %d of %d: curl %d, status %ld: %s", i,
			      N, jobs[i].rc, jobs[i].status, jobs[i].body_start);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x (log %s)", status, s.log);
	{
		char *log = ls_read_text(s.log);
		ck_assert_ptr_nonnull(strstr(log, "SIGTERM: draining"));
		ck_assert_ptr_null(strstr(log, "drain timeout"));
		free(log);
	}
	fprintf(stderr, "SIGTERM with %d requests in flight: all answered 200, exit 0 after %.0f ms\n", N,
		ls_now_ms() - t0);
	ls_repo_remove(&s);
	free(body);
}
END_TEST

/* A client that gives up while its request runs on a worker: the server
 * must still count the connection as taken back, so SIGTERM afterwards
 * exits at once (it waited 5 s for a connection MHD had already closed). */
START_TEST(test_client_gone_then_sigterm)
{
	static const char *const args[] = {"--threads", "2", "--instances", "1", NULL};
	size_t len;
	char hv[96], url[256];
	struct curl_slist *list = NULL;
	uint8_t *body;
	ls_server s;
	double t0;
	int status, gone = 0;

	ls_repo_init(&s);
	if (!ls_repo_add(&s, SLOW_MODEL, NULL)) {
		ls_repo_remove(&s);
		return;
	}
	body = slow_request(&len, hv, sizeof(hv));
	list = curl_slist_append(list, "Expect:");
	list = curl_slist_append(list, hv);
	ls_start(&s, args, true);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/models/" SLOW_MODEL "/infer", s.port);
	/* three clients hang up while their inferences (~140 ms each, one
	 * instance) are queued or running on a worker */
	for (int i = 0; i < 3 / FAULTS_SCALE; i++) {
		CURL *c = curl_easy_init();
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60L);
		gone += curl_easy_perform(c) == CURLE_OPERATION_TIMEDOUT;
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(list);
	ck_assert_int_ge(gone, 1);
	/* the abandoned requests finish on their workers */
	t0 = ls_now_ms();
	while (in_flight(&s) > 0) {
		ck_assert_msg(ls_now_ms() - t0 < 30000, "abandoned requests still in flight after 30 s");
		ls_sleep_ms(20);
	}
	t0 = ls_now_ms();
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	status = ls_wait_exit(&s, 30000);
	ck_assert_msg(status != -1, "no exit 30 s after SIGTERM");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x", status);
	ck_assert_msg(ls_now_ms() - t0 < 3000, "idle server took %.0f ms to stop after SIGTERM", ls_now_ms() - t0);
	ls_repo_remove(&s);
	free(body);
}
END_TEST

/* ---- slow clients -------------------------------------------------------- */

/* A TCP connection to 127.0.0.1:port from source address `from`. */
static int connect_from(const char *from, int port)
{
	struct sockaddr_in src = {0}, dst = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	src.sin_family = AF_INET;
	inet_pton(AF_INET, from, &src.sin_addr);
	ck_assert_msg(bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0, "bind %s: %s", from, strerror(errno));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	ck_assert_msg(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0, "connect: %s", strerror(errno));
	return fd;
}

/* True when the server closed fd (EOF or reset) within ms. */
static bool closed_within(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char b[256];

	if (poll(&p, 1, ms) <= 0)
		return false;
	return recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0;
}

/* GET /v2/health/live over a raw socket from `from`; returns the status
 * line's code (0 = no answer) and the time it took. */
static int raw_get_live(const char *from, int port, double *ms)
{
	static const char req[] = "GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char buf[512];
	double t0 = ls_now_ms();
	int fd = connect_from(from, port), code = 0;
	ssize_t n, got = 0;
	struct pollfd p = {fd, POLLIN, 0};

	ck_assert_int_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(req) - 1));
	while (got < (ssize_t)sizeof(buf) - 1 && poll(&p, 1, 5000) > 0 &&
	       (n = recv(fd, buf + got, sizeof(buf) - 1 - (size_t)got, 0)) > 0)
		got += n;
	buf[got] = 0;
	close(fd);
	*ms = ls_now_ms() - t0;
	if (!strncmp(buf, "HTTP/1.1 ", 9))
		code = atoi(buf + 9);
	return code;
}

START_TEST(test_slowloris)
{
	enum { PER_IP = 8, TIMEOUT_S = 2 };
	static const char *const args[] = {"--threads", "2", "--max-connections-per-ip", "8",
					   "--connection-timeout", "2", NULL};
	int slow[PER_IP + 1], code, idle_closed = 0, refused = 0, n_held = 0;
	double ms, t0;
	ls_server s;

	ls_repo_init(&s); /* an empty repository: this is about connections */
	ls_start(&s, args, true);
	/* the readiness probe's connection (also 127.0.0.1) is counted until
	 * MHD's thread notices it closed: let it go */
	ls_sleep_ms(300);
	/* the attacker: 127.0.0.1 opens one connection more than the per-IP
	 * maximum, each sending the start of a request and then nothing.  The
	 * kernel completes every connect before MHD accepts, so which one is
	 * refused is not known: at least one must be, and at most PER_IP stay
	 * (on a loaded machine the probe's may still count: then two go). */
	for (int i = 0; i <= PER_IP; i++) {
		slow[i] = connect_from("127.0.0.1", s.port);
		ck_assert_int_eq(send(slow[i], "GET /v2/health/live HTTP/1.1\r\nX-Slow: ", 38, MSG_NOSIGNAL), 38);
	}
	t0 = ls_now_ms();
	while (refused == 0 && ls_now_ms() - t0 < 5000) {
		for (int i = 0; i <= PER_IP; i++)
			if (slow[i] >= 0 && closed_within(slow[i], 0)) {
				close(slow[i]);
				slow[i] = -1;
				refused++;
			}
		ls_sleep_ms(10);
	}
	ls_sleep_ms(300); /* a second refusal, if any, shows up by now */
	for (int i = 0; i <= PER_IP; i++)
		if (slow[i] >= 0 && closed_within(slow[i], 0)) {
			close(slow[i]);
			slow[i] = -1;
			refused++;
		}
	ck_assert_msg(refused >= 1 && refused <= 2, "%d of %d connections from one address refused with a limit of %d",
		      refused, PER_IP + 1, PER_IP);
	for (int i = 0; i <= PER_IP; i++) /* the accepted ones first */
		if (slow[i] >= 0)
			slow[n_held++] = slow[i];
	/* another client is served at once while the slow ones hold their slots */
	code = raw_get_live("127.0.0.2", s.port, &ms);
	ck_assert_msg(code == 200, "second client got %d", code);
	ck_assert_msg(ms < 1000, "second client waited %.0f ms", ms);
	/* half of the slow connections keep trickling a byte a second (under
	 * the timeout: they stay, bounded by the per-IP limit); the idle half
	 * are closed by the server within the timeout */
	t0 = ls_now_ms();
	while (ls_now_ms() - t0 < (TIMEOUT_S + 2) * 1000.0) {
		for (int i = 0; i < n_held / 2; i++)
			send(slow[i], "a", 1, MSG_NOSIGNAL);
		for (int i = n_held / 2; i < n_held; i++)
			if (slow[i] >= 0 && closed_within(slow[i], 0)) {
				close(slow[i]);
				slow[i] = -1;
				idle_closed++;
			}
		code = raw_get_live("127.0.0.2", s.port, &ms);
		ck_assert_msg(code == 200 && ms < 1000, "second client: %d after %.0f ms while trickling", code, ms);
		ls_sleep_ms(500);
	}
	ck_assert_msg(idle_closed == n_held - n_held / 2, "%d of %d idle connections closed after %d s (timeout %d s)",
		      idle_closed, n_held - n_held / 2, TIMEOUT_S + 2, TIMEOUT_S);
	/* the tricklers are still connected: the timeout is for silence */
	for (int i = 0; i < n_held / 2; i++)
		ck_assert_msg(!closed_within(slow[i], 0), "trickling connection %d was closed", i);
	/* the freed slots serve 127.0.0.1 again */
	code = raw_get_live("127.0.0.1", s.port, &ms);
	ck_assert_msg(code == 200, "127.0.0.1 not served after the idle slots were freed: %d", code);
	for (int i = 0; i < n_held / 2; i++)
		close(slow[i]);
	ls_stop(&s);
}
END_TEST

/* ---- serving modes ------------------------------------------------------- */

/* The startup config line of a server started with args (not waiting for models). */
static void config_line(const char *const *args, char *line, size_t len)
{
	ls_server s;
	char *log, *p;

	ls_repo_init(&s);
	ls_start(&s, args, false);
	log = ls_read_text(s.log);
	p = log ? strstr(log, "config: ") : NULL;
	ck_assert_ptr_nonnull(p);
	snprintf(line, len, "%.*s ", (int)strcspn(p, "\n"), p);
	free(log);
	ls_stop(&s);
}

START_TEST(test_serving_modes)
{
	char line[2048], want[128];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cores = CPU_COUNT(&set);
	if (cores > 64)
		cores = 64;
	config_line((const char *const[]){"--mode", "latency", NULL}, line, sizeof(line));
	snprintf(want, sizeof(want), " mode=latency instances=1 inference-threads=%ld ", cores);
	ck_assert_msg(strstr(line, want), "latency: want '%s' in %s", want, line);
	config_line(NULL, line, sizeof(line));
	snprintf(want, sizeof(want), " mode=throughput instances=%ld inference-threads=1 ", cores);
	ck_assert_msg(strstr(line, want), "default: want '%s' in %s", want, line);
	/* explicit values win over the mode, from any source */
	setenv("LITESERVE_INSTANCES", "3", 1);
	config_line((const char *const[]){"--mode", "latency", "--inference-threads", "2", NULL}, line, sizeof(line));
	unsetenv("LITESERVE_INSTANCES");
	ck_assert_msg(strstr(line, " mode=latency instances=3 inference-threads=2 "), "explicit: %s", line);
	/* the connection options reach the server */
	config_line((const char *const[]){"--connection-timeout", "5", "--max-connections", "100",
					  "--max-connections-per-ip", "0", NULL},
		    line, sizeof(line));
	ck_assert_msg(strstr(line, " connection-timeout=5 max-connections=100 max-connections-per-ip=0 "), "%s", line);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults_server");
	TCase *tc = tcase_create("faults");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(ls_kill_current);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_serving_modes);
	tcase_add_test(tc, test_slowloris);
	tcase_add_test(tc, test_reload_unload_under_load);
	tcase_add_test(tc, test_sigterm_drains_under_load);
	tcase_add_test(tc, test_client_gone_then_sigterm);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
