/* metrics.h - the server's Prometheus counters and latency histograms.
 *
 * DESIGN: process-wide state (one server per process) behind one mutex:
 * the counters change a few times per request, far below the cost of
 * anything else a request does.  Handlers report per-stage times of an
 * inference with srv_metrics_observe; server.c counts every request with
 * srv_metrics_request when it completes.  The /metrics handler writes this
 * state with srv_metrics_write and adds the pool's per-model gauges.
 *
 * Label cardinality is bounded: requests_total keeps at most
 * SRV_METRICS_MAX_SERIES {model, status} pairs; later pairs are counted
 * under model="_other", so clients sending random model names cannot grow
 * memory.
 */
#ifndef LITESERVE_SERVER_METRICS_H
#define LITESERVE_SERVER_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "pool.h"

#define SRV_METRICS_MAX_SERIES 1024

typedef enum srv_stage {
	SRV_STAGE_DECODE = 0,
	SRV_STAGE_PREPROCESS,
	SRV_STAGE_QUEUE,
	SRV_STAGE_INFERENCE,
	SRV_STAGE_POSTPROCESS,
	SRV_STAGE_TOTAL,
	SRV_STAGE_COUNT,
} srv_stage;

const char *srv_stage_name(srv_stage s); /* "decode", ... "total" */

/* Resets every counter (call once at startup). */
void srv_metrics_init(void);

/* Counts one finished request ("" model for requests not about a model). */
void srv_metrics_request(const char *model, int status);
/* Observes the stage times of one inference (milliseconds) and its total. */
void srv_metrics_observe(const pool_timing *t, double total_ms);
void srv_metrics_observe_stage(srv_stage s, double ms);

/* Writes the server's metrics in Prometheus text format (0.0.4). */
void srv_metrics_write(FILE *f);

/* Writes s with Prometheus label-value escaping (\\, \", \n). */
void srv_metrics_write_label(FILE *f, const char *s);

#endif
