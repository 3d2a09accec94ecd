/* server.h - the running HTTP server (srv_app), its logger and lifecycle.
 *
 * DESIGN: one srv_app per process.  cmd_serve.c resolves the config,
 * creates the model pool and the app, starts the libmicrohttpd daemon
 * (srv_start) BEFORE loading the models, so /v2/health/live answers at once
 * while /v2/health/ready stays 503 until every model is loaded
 * (srv_app.loaded).  At SIGTERM/SIGINT it sets `draining` (ready -> 503),
 * stops accepting connections (MHD_quiesce_daemon) and waits for the
 * requests in flight (`active`) before stopping the daemon (srv_drain,
 * srv_stop).
 *
 * Handlers see the app through srv_request.app: the config (read-only), the
 * pool (thread-safe) and the few pieces of shared state below, which are
 * atomics or guarded by `lock`.
 */
#ifndef LITESERVE_SERVER_SERVER_H
#define LITESERVE_SERVER_SERVER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "http.h"
#include "pool.h"

#define SRV_NAME "liteserve"
#define SRV_VERSION "0.1.0"
#define SRV_MAX_UNLOADED 256 /* models unloaded through the API remembered for readiness */

struct MHD_Daemon;
struct srv_workers;

struct srv_app {
	const cfg_config *cfg;	     /* borrowed, read-only */
	pool_registry *pool;	     /* borrowed; thread-safe */
	struct MHD_Daemon *daemon;   /* NULL until srv_start */
	int port;		     /* the port actually bound (cfg->port may be 0) */
	int quiesced_fd;	     /* listen socket after srv_drain; closed by srv_stop (-1 = none) */
	atomic_bool loaded;	     /* startup loading finished */
	atomic_bool draining;	     /* shutdown started: ready -> 503, responses close the connection */
	atomic_int active;	     /* requests between their first callback and completion */
	atomic_int suspended;	     /* requests handed to a worker, not yet taken back by MHD */
	bool drain_expired;	     /* srv_drain gave up waiting */
	struct srv_workers *workers; /* handler threads for POST requests (server.c) */
	pthread_mutex_t lock;	     /* guards unloaded[] */
	int n_unloaded;
	char unloaded[SRV_MAX_UNLOADED][128]; /* names unloaded on request: not expected READY */
};

/* Initialises app (not started).  cfg and pool are borrowed. */
void srv_app_init(srv_app *app, const cfg_config *cfg, pool_registry *pool);
void srv_app_fini(srv_app *app);

/* Starts listening on cfg->host:cfg->port with cfg->threads threads.
 * Returns 0, or -1 with err set (bad address, port in use...). */
int srv_start(srv_app *app, char *err, size_t errlen);
/* Stops accepting connections and waits up to timeout_s seconds for the
 * requests in flight.  Returns the number still active when it gave up. */
int srv_drain(srv_app *app, double timeout_s);
/* Stops the daemon (closing any connection left). */
void srv_stop(srv_app *app);

/* Readiness: loaded, not draining, and every model of the repository index
 * READY unless it was unloaded on request.  When false, why (may be NULL)
 * receives the reason. */
bool srv_app_ready(srv_app *app, char *why, size_t whylen);
/* Remembers that NAME was unloaded (true) or loaded (false) on request. */
void srv_app_set_unloaded(srv_app *app, const char *name, bool unloaded);

/* ---- logging: stderr, one line per event, ISO-8601 UTC timestamp ----- */
typedef enum srv_log_level {
	SRV_LOG_ERROR = 0,
	SRV_LOG_WARN,
	SRV_LOG_INFO,
	SRV_LOG_DEBUG,
} srv_log_level;

/* "error|warn|info|debug" -> level (info when unknown). */
srv_log_level srv_log_level_from_name(const char *name);
void srv_log_set_level(srv_log_level level);
bool srv_log_enabled(srv_log_level level);
void srv_log(srv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs whatever the level filter says: startup and shutdown milestones
 * (listening address, models ready, stopped) that scripts wait for. */
void srv_log_always(srv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in milliseconds. */
double srv_now_ms(void);

#endif
