/* cmd_serve.c - `liteserve serve`: the HTTP daemon's lifecycle.
 *
 * DESIGN: resolve the config (config/), create the pool over the model
 * repository, start listening, THEN load the models: liveness answers at
 * once, readiness only when loading is done (Kubernetes probes and the
 * Docker HEALTHCHECK tell "starting" from "broken" that way).  SIGTERM and
 * SIGINT are blocked in every thread (MHD's threads inherit the mask) and
 * taken synchronously with sigwait here, so no work happens in a signal
 * handler.  Shutdown: readiness 503, stop accepting, let in-flight
 * requests finish (up to --drain-timeout), stop, free the pool, exit 0.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "metrics.h"
#include "pool.h"
#include "server.h"

static void log_config(const cfg_config *c)
{
	srv_log(SRV_LOG_INFO,
		"config: host=%s port=%" PRId64 " threads=%" PRId64 " model-repository=%s mode=%s instances=%" PRId64
		" inference-threads=%" PRId64 " max-queue=%" PRId64 " max-body-bytes=%" PRId64
		" max-pixels=%" PRId64 " log-level=%s drain-timeout=%" PRId64 " connection-timeout=%" PRId64
		" max-connections=%" PRId64 " max-connections-per-ip=%" PRId64 "%s%s",
		c->host, c->port, c->threads, c->model_repository, c->mode, c->instances, c->inference_threads,
		c->max_queue, c->max_body_bytes, c->max_pixels, c->log_level, c->drain_timeout,
		c->connection_timeout, c->max_connections, c->max_connections_per_ip, *c->config ? " config=" : "",
		c->config);
}

/* The pool's load/unload lines, in the server's log format (always shown: they say what is served). */
static void serve_pool_log(bool warning, const char *line)
{
	srv_log_always(warning ? SRV_LOG_WARN : SRV_LOG_INFO, "%s", line);
}

int cmd_serve(int argc, char **argv)
{
	cfg_config cfg;
	char err[1024];
	pool_defaults defaults;
	pool_registry *pool;
	srv_app app;
	sigset_t sigs;
	int sig = 0, n_loaded, n_models, left;
	json_t *index;

	switch (cfg_load(&cfg, argc, argv, err, sizeof(err))) {
	case CFG_HELP:
		cfg_print_help(stdout);
		return 0;
	case CFG_ERROR:
		fprintf(stderr, "liteserve serve: %s\n", err);
		return 2;
	case CFG_OK:
		break;
	}
	/* instances/threads left at 0 follow --mode; the line below shows the result */
	cfg_apply_mode(&cfg, cfg_usable_cores());
	srv_log_set_level(srv_log_level_from_name(cfg.log_level));
	log_config(&cfg);

	/* Before any thread exists, so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		struct stat sb;
		/* a typo in the path would otherwise be a "ready" server with no models */
		if (stat(cfg.model_repository, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			srv_log(SRV_LOG_ERROR, "model repository %s is not a directory",
				cfg.model_repository);
			return 1;
		}
	}
	defaults.instances = (int)cfg.instances;
	defaults.threads = (int)cfg.inference_threads;
	defaults.max_queue = (int)cfg.max_queue;
	defaults.max_pixels = cfg.max_pixels;
	defaults.log = serve_pool_log;
	pool = pool_create(cfg.model_repository, &defaults);
	if (!pool) {
		srv_log(SRV_LOG_ERROR, "cannot open the model repository %s", cfg.model_repository);
		return 1;
	}
	srv_metrics_init();
	srv_app_init(&app, &cfg, pool);
	if (srv_start(&app, err, sizeof(err))) {
		srv_log(SRV_LOG_ERROR, "%s", err);
		srv_app_fini(&app);
		pool_free(pool);
		return 1;
	}
	srv_log_always(SRV_LOG_INFO, "listening on http://%s%s%s:%d (%" PRId64 " HTTP threads)",
		       strchr(cfg.host, ':') ? "[" : "", cfg.host, strchr(cfg.host, ':') ? "]" : "", app.port,
		       cfg.threads);

	n_loaded = pool_load_all(pool);
	index = pool_index(pool);
	n_models = (int)json_array_size(index);
	json_decref(index);
	atomic_store(&app.loaded, true);
	srv_log_always(n_loaded == n_models ? SRV_LOG_INFO : SRV_LOG_WARN, "models ready: %d of %d in %s",
		       n_loaded, n_models, cfg.model_repository);
	{
		char why[512];
		if (srv_app_ready(&app, why, sizeof(why)))
			srv_log(SRV_LOG_INFO, "ready");
		else
			srv_log(SRV_LOG_WARN, "not ready: %s", why);
	}

	while (sigwait(&sigs, &sig) != 0)
		;
	srv_log_always(SRV_LOG_INFO, "%s: draining (up to %" PRId64 " s for %d requests in flight)",
		       sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.drain_timeout, atomic_load(&app.active));
	left = srv_drain(&app, (double)cfg.drain_timeout);
	if (left > 0)
		srv_log(SRV_LOG_WARN, "drain timeout: closing %d requests still in flight", left);
	srv_stop(&app);
	pool_free(pool);
	srv_app_fini(&app);
	srv_log_always(SRV_LOG_INFO, "stopped");
	return 0;
}
