/* server.c - the libmicrohttpd daemon: bodies, routing, logs, shutdown.
 *
 * DESIGN (libmicrohttpd's post_example): each request gets a req_state in
 * *req_cls at its first callback, freed in the NOTIFY_COMPLETED callback,
 * which MHD calls exactly once per request whatever happened (answered,
 * client gone, daemon stopped) - so the access log, the request counter and
 * `active` (the drain counter) are all updated there, in one place.
 *
 * Body limit: a Content-Length over max-body-bytes is answered 413 at the
 * first callback, before a byte of the body is read (MHD then closes the
 * connection instead of reading the body, and curl-style clients sending
 * "Expect: 100-continue" never send it).  Bodies without a length (chunked)
 * are counted as they arrive: from the first chunk that passes the limit
 * nothing more is buffered; MHD cannot answer in the middle of an upload,
 * so the rest is dropped as it comes and the 413 goes out when the body
 * ends, unless more than SRV_DISCARD_MAX bytes follow, then the connection
 * is closed without an answer.
 *
 * Slow clients (slowloris): a connection that sits idle or trickles its
 * request slower than one read per --connection-timeout seconds is closed
 * by MHD; --max-connections-per-ip caps what one address can hold open
 * (the excess is refused at accept), and --max-connections caps the total,
 * so one client trickling bytes on many sockets cannot take every
 * connection slot, and the ones it holds are reclaimed within the timeout.
 *
 * Routing: the first route (table order) whose pattern matches the path
 * decides; among the routes with that same pattern the method picks the
 * handler, and none matching is 405 with an Allow header.  So
 * "/v1/models/{name}:predict" (POST) listed before "/v1/models/{name}" (GET)
 * makes `GET /v1/models/m:predict` a 405, not a lookup of model "m:predict".
 *
 * Threads: MHD's internal thread pool (cfg->threads threads) does the
 * socket work; each connection stays on the MHD thread that accepted it.
 * A handler that blocks for an inference on that thread would stall every
 * other connection of the thread (head-of-line blocking: measured 2-3x the
 * latency for requests that were merely unlucky in their thread).  So POST
 * requests, once their body is complete, are suspended
 * (MHD_suspend_connection) and handed to a FIFO served by cfg->threads
 * handler workers; the worker writes the response into the request state
 * and resumes the connection, and MHD's next callback queues it.  GET
 * handlers (health, metadata, metrics) are cheap and answered inline.  The
 * model pool's bounded queue (max-queue) then decides, per model, who waits
 * and who gets 503 - not the accident of which thread accepted a socket.
 * Shutdown resumes everything before MHD_stop_daemon (an API rule).
 */
#include "server.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define SRV_BODY_INITIAL (64u << 10)
#define SRV_BODY_PREALLOC_MAX (4u << 20)
#define SRV_DISCARD_MAX (4u << 20)   /* bytes dropped after the limit before closing instead of a 413 */
#define SRV_CONN_MEMORY (128u << 10) /* per-connection buffer: headers + one read of the body */

/* ---- logging ------------------------------------------------------------ */

static _Atomic int log_level = SRV_LOG_INFO;

srv_log_level srv_log_level_from_name(const char *name)
{
	if (!name)
		return SRV_LOG_INFO;
	if (!strcmp(name, "error"))
		return SRV_LOG_ERROR;
	if (!strcmp(name, "warn"))
		return SRV_LOG_WARN;
	if (!strcmp(name, "debug"))
		return SRV_LOG_DEBUG;
	return SRV_LOG_INFO;
}

void srv_log_set_level(srv_log_level level)
{
	log_level = level;
}

bool srv_log_enabled(srv_log_level level)
{
	return (int)level <= log_level;
}

static void vlog(srv_log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L, names[level]);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strlen(line);
	/* one line per event: newlines inside a message would forge log lines */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (n + 1 >= sizeof(line))
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line so lines from several threads never interleave */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing sensible to do when stderr is gone */
	}
}

void srv_log(srv_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!srv_log_enabled(level))
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void srv_log_always(srv_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

double srv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the app ------------------------------------------------------------ */

void srv_app_init(srv_app *app, const cfg_config *cfg, pool_registry *pool)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->pool = pool;
	app->quiesced_fd = -1;
	atomic_init(&app->loaded, false);
	atomic_init(&app->draining, false);
	atomic_init(&app->active, 0);
	pthread_mutex_init(&app->lock, NULL);
}

void srv_app_fini(srv_app *app)
{
	pthread_mutex_destroy(&app->lock);
}

void srv_app_set_unloaded(srv_app *app, const char *name, bool unloaded)
{
	int i;

	pthread_mutex_lock(&app->lock);
	for (i = 0; i < app->n_unloaded; i++)
		if (!strcmp(app->unloaded[i], name))
			break;
	if (unloaded && i == app->n_unloaded && i < SRV_MAX_UNLOADED &&
	    strlen(name) < sizeof(app->unloaded[0])) {
		strcpy(app->unloaded[i], name);
		app->n_unloaded++;
	} else if (!unloaded && i < app->n_unloaded) {
		memmove(app->unloaded[i], app->unloaded[i + 1],
			(size_t)(app->n_unloaded - i - 1) * sizeof(app->unloaded[0]));
		app->n_unloaded--;
	}
	pthread_mutex_unlock(&app->lock);
}

static bool was_unloaded(srv_app *app, const char *name)
{
	bool found = false;

	pthread_mutex_lock(&app->lock);
	for (int i = 0; i < app->n_unloaded && !found; i++)
		found = !strcmp(app->unloaded[i], name);
	pthread_mutex_unlock(&app->lock);
	return found;
}

bool srv_app_ready(srv_app *app, char *why, size_t whylen)
{
	json_t *index, *e;
	size_t i;
	bool ready = true;

	if (atomic_load(&app->draining)) {
		if (why)
			snprintf(why, whylen, "the server is shutting down");
		return false;
	}
	if (!atomic_load(&app->loaded)) {
		if (why)
			snprintf(why, whylen, "models are still loading");
		return false;
	}
	index = pool_index(app->pool);
	json_array_foreach(index, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *state = json_string_value(json_object_get(e, "state"));
		const char *reason = json_string_value(json_object_get(e, "reason"));

		if (!name || (state && !strcmp(state, "READY")) || was_unloaded(app, name))
			continue;
		if (why)
			snprintf(why, whylen, "model %s is %s%s%s", name, state ? state : "not ready",
				 reason && *reason ? ": " : "", reason && *reason ? reason : "");
		ready = false;
		break;
	}
	json_decref(index);
	return ready;
}

/* ---- requests ----------------------------------------------------------- */

typedef struct req_state {
	srv_app *app;
	double t0; /* first callback, srv_now_ms */
	char method[16];
	char path[256]; /* for the log (truncated) */
	uint8_t *body;	/* accumulated upload, NUL-terminated */
	size_t len, cap;
	bool answered;	 /* a response was queued (maybe early: 413) */
	bool over_limit; /* body passed max-body-bytes: counted, not kept */
	int status;	 /* of the queued response; 0 = none */
	char model[128]; /* from the response, for the log and metrics */
	char version[32];
	const char *error_code;
	/* handed to a worker (POST): the connection is suspended meanwhile */
	struct MHD_Connection *conn;
	const char *url;   /* MHD's, valid while the request lives */
	srv_response resp; /* the worker's answer */
	atomic_bool done;  /* resp is ready: queue it when MHD calls back */
	bool suspended;
	struct req_state *next; /* worker queue */
} req_state;

/* The handler workers: a FIFO of suspended requests and the threads that
 * run their handlers. */
struct srv_workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	req_state *head, *tail;
	bool stop; /* no new jobs; queued ones are answered 503 */
	int n;
	pthread_t th[];
};

static enum MHD_Result queue(struct MHD_Connection *c, req_state *st, srv_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(resp->body);
		resp->body = NULL;
		return MHD_NO;
	}
	resp->body = NULL; /* MHD frees it */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : "application/json");
	for (int i = 0; i < resp->n_headers; i++)
		MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
	if (atomic_load(&st->app->draining))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES) {
		st->answered = true;
		st->status = resp->status;
		snprintf(st->model, sizeof(st->model), "%s", resp->model);
		snprintf(st->version, sizeof(st->version), "%s", resp->version);
		st->error_code = resp->error_code;
		/* counted here, not at completion: a client that got its answer
		 * and scrapes /metrics at once must see it counted */
		srv_metrics_request(st->model, st->status);
	}
	return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *c, req_state *st, int status, const char *code,
				   const char *msg)
{
	srv_response resp = {0};

	srv_reply_error(&resp, status, code, "%s", msg);
	return queue(c, st, &resp);
}

/* The route walk (404/405 included) is srv_dispatch's; this only builds the
 * request the handlers see from the connection. */
static void dispatch(struct MHD_Connection *c, req_state *st, const char *path, srv_response *resp)
{
	srv_request req = {0};

	req.method = st->method;
	req.path = path;
	req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	req.body = st->body ? st->body : (const uint8_t *)""; /* NUL-terminated either way */
	req.body_len = st->len;
	req.app = st->app;
	req.conn_ = c;
	srv_dispatch(&req, resp);
}

static void workers_push(struct srv_workers *w, req_state *st)
{
	pthread_mutex_lock(&w->lock);
	st->next = NULL;
	if (w->tail)
		w->tail->next = st;
	else
		w->head = st;
	w->tail = st;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
	struct srv_workers *w = arg;

	for (;;) {
		req_state *st;
		bool stopping;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		st = w->head;
		if (st) {
			w->head = st->next;
			if (!w->head)
				w->tail = NULL;
		}
		stopping = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (!st)
			break; /* stopping and nothing left */
		if (stopping && st->app->drain_expired)
			srv_reply_error(&st->resp, 503, "shutting_down", "the server is shutting down");
		else
			dispatch(st->conn, st, st->url, &st->resp);
		atomic_store(&st->done, true);
		/* after this the MHD thread owns st again */
		MHD_resume_connection(st->conn);
	}
	return NULL;
}

static int workers_start(srv_app *app, int n)
{
	struct srv_workers *w = calloc(1, sizeof(*w) + (size_t)n * sizeof(pthread_t));

	if (!w)
		return -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (; w->n < n; w->n++)
		if (pthread_create(&w->th[w->n], NULL, worker_main, w) != 0)
			break;
	if (w->n == 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return -1;
	}
	app->workers = w;
	return 0;
}

/* Lets the workers finish what they run, answers what is still queued,
 * joins them.  Every suspended connection has been resumed afterwards. */
static void workers_stop(srv_app *app)
{
	struct srv_workers *w = app->workers;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->n; i++)
		pthread_join(w->th[i], NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	app->workers = NULL;
}

static bool grow_body(req_state *st, size_t need)
{
	size_t cap = st->cap ? st->cap : SRV_BODY_INITIAL;
	uint8_t *nb;

	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	nb = realloc(st->body, cap);
	if (!nb)
		return false;
	st->body = nb;
	st->cap = cap;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	srv_app *app = cls;
	req_state *st = *req_cls;
	uint64_t max = (uint64_t)app->cfg->max_body_bytes;

	if (!st) {
		const char *cl;

		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		st->app = app;
		st->t0 = srv_now_ms();
		snprintf(st->method, sizeof(st->method), "%s", method);
		snprintf(st->path, sizeof(st->path), "%s", url);
		*req_cls = st;
		atomic_fetch_add(&app->active, 1);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno || end == cl || n > max) {
				char msg[160];
				snprintf(msg, sizeof(msg),
					 "request body of %s bytes is over the limit of %llu bytes", cl,
					 (unsigned long long)max);
				return queue_error(c, st, 413, "body_too_large", msg);
			}
			/* preallocate, but not all of a large claim: a client that
			 * announces 64 MiB and sends nothing must not pin 64 MiB */
			if (n > 0 &&
			    !grow_body(st, (size_t)(n < SRV_BODY_PREALLOC_MAX ? n : SRV_BODY_PREALLOC_MAX)))
				return queue_error(c, st, 503, "no_memory",
						   "out of memory for the request body");
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		if (st->answered) { /* discard what is already in MHD's buffer */
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (st->over_limit || st->len + n > max) {
			/* libmicrohttpd (0.9.75) cannot answer in the middle of an
			 * upload: stop buffering, drop what arrives, answer 413 when
			 * the body ends - or close the connection once more than
			 * SRV_DISCARD_MAX bytes were dropped (a client streaming
			 * forever must not hold a thread's connection). */
			if (!st->over_limit) {
				free(st->body);
				st->body = NULL;
				st->cap = 0;
				st->over_limit = true;
			}
			st->len += n;
			*upload_data_size = 0;
			if (st->len - max > SRV_DISCARD_MAX) {
				st->error_code = "body_too_large";
				return MHD_NO;
			}
			return MHD_YES;
		}
		if (st->len + n + 1 > st->cap && !grow_body(st, st->len + n)) {
			*upload_data_size = 0;
			return queue_error(c, st, 503, "no_memory", "out of memory for the request body");
		}
		memcpy(st->body + st->len, upload_data, n);
		st->len += n;
		st->body[st->len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->answered)
		return MHD_YES;
	if (atomic_load(&st->done)) { /* resumed: a worker answered */
		atomic_fetch_sub(&app->suspended, 1);
		st->suspended = false;
		return queue(c, st, &st->resp);
	}
	if (st->over_limit) {
		char msg[160];
		snprintf(msg, sizeof(msg), "request body of %zu bytes is over the limit of %llu bytes",
			 st->len, (unsigned long long)max);
		return queue_error(c, st, 413, "body_too_large", msg);
	}
	/* POST handlers (inference, model loads) may block for a long time:
	 * they run on a worker while this thread serves other connections.
	 * GET handlers (health, metadata, metrics) are cheap: answered here. */
	if (strcmp(method, "POST") == 0 && app->workers) {
		st->conn = c;
		st->url = url;
		st->suspended = true;
		atomic_fetch_add(&app->suspended, 1);
		MHD_suspend_connection(c);
		workers_push(app->workers, st);
		return MHD_YES;
	}
	{
		srv_response resp = {0};

		dispatch(c, st, url, &resp);
		return queue(c, st, &resp);
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	srv_app *app = cls;
	req_state *st = *req_cls;
	double ms;

	if (!st)
		return;
	/* resumed, but MHD found the client gone before calling us back: the
	 * count would otherwise stay up and srv_stop wait out its 5 s for it */
	if (st->suspended)
		atomic_fetch_sub(&app->suspended, 1);
	ms = srv_now_ms() - st->t0;
	if (st->answered) {
		srv_log(SRV_LOG_INFO, "request %s %s model=%s%s%s status=%d%s%s ms=%.3f%s", st->method,
			st->path, *st->model ? st->model : "-", *st->version ? " version=" : "", st->version,
			st->status, st->error_code ? " code=" : "", st->error_code ? st->error_code : "", ms,
			toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
			    ? ""
			    : " (connection closed before the answer was sent)");
	} else {
		srv_log(SRV_LOG_INFO, "request %s %s status=- ms=%.3f (no answer: %s)", st->method, st->path,
			ms,
			st->error_code ? "body over the limit, connection closed"
			: toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT	? "client closed the connection"
			: toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
			: toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "server shutdown"
									: "connection error");
	}
	free(st->resp.body);
	free(st->body);
	free(st);
	*req_cls = NULL;
	atomic_fetch_sub(&app->active, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	srv_log(SRV_LOG_WARN, "libmicrohttpd: %s", msg);
}

int srv_start(srv_app *app, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	/* poll(), not epoll: libmicrohttpd 0.9.75's MHD_quiesce_daemon races
	 * with its epoll worker threads over the listen socket and can abort
	 * the process ("Failed to remove listen FD from epoll set") - seen at
	 * SIGTERM under load.  With a handful of threads and connections poll
	 * costs nothing measurable. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	unsigned int threads = (unsigned int)app->cfg->threads;
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(app->cfg->host, NULL, &hints, &ai);
	if (rc || !ai) {
		snprintf(err, errlen, "cannot use host '%s': %s", app->cfg->host, gai_strerror(rc));
		if (ai)
			freeaddrinfo(ai);
		return -1;
	}
	memset(&addr, 0, sizeof(addr));
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen < sizeof(addr) ? ai->ai_addrlen : sizeof(addr));
	freeaddrinfo(ai);
	if (addr.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)app->cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)app->cfg->port);
	}
	if (workers_start(app, (int)app->cfg->threads)) {
		snprintf(err, errlen, "cannot start %lld handler threads", (long long)app->cfg->threads);
		return -1;
	}
	errno = 0;
	app->daemon = MHD_start_daemon(
	    flags, (uint16_t)app->cfg->port, NULL, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_logger, app, MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)app->cfg->connection_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)app->cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)app->cfg->max_connections_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONN_MEMORY, MHD_OPTION_END);
	if (!app->daemon) {
		int e = errno;
		workers_stop(app);
		snprintf(err, errlen, "cannot listen on %s:%lld%s%s", app->cfg->host,
			 (long long)app->cfg->port, e ? ": " : "", e ? strerror(e) : "");
		return -1;
	}
	info = MHD_get_daemon_info(app->daemon, MHD_DAEMON_INFO_BIND_PORT);
	app->port = info && info->port ? info->port : (int)app->cfg->port;
	return 0;
}

int srv_drain(srv_app *app, double timeout_s)
{
	double deadline = srv_now_ms() + timeout_s * 1000.0;
	int left;

	atomic_store(&app->draining, true);
	if (app->daemon && app->quiesced_fd < 0)
		app->quiesced_fd = (int)MHD_quiesce_daemon(app->daemon);
	while ((left = atomic_load(&app->active)) > 0 && srv_now_ms() < deadline) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	app->drain_expired = left > 0;
	return left;
}

void srv_stop(srv_app *app)
{
	double deadline;

	/* MHD_stop_daemon must not meet a suspended connection: finish the
	 * handlers (queued ones get a 503 if the drain timed out), then let
	 * MHD's threads take the resumed connections back. */
	workers_stop(app);
	deadline = srv_now_ms() + 5000.0;
	while (atomic_load(&app->suspended) > 0 && srv_now_ms() < deadline) {
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (app->daemon)
		MHD_stop_daemon(app->daemon);
	app->daemon = NULL;
	/* MHD's threads may use the quiesced socket until the daemon stops */
	if (app->quiesced_fd >= 0)
		close(app->quiesced_fd);
	app->quiesced_fd = -1;
}
