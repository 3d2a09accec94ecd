/* prometheus.c - GET /metrics in Prometheus text format 0.0.4.
 *
 * DESIGN: the server's counters and histograms (server/metrics.c) plus
 * gauges read from the pool at scrape time: models loaded, and per READY
 * model its queue depth and inference count.  Written into a memory stream
 * so the body is produced in one pass without size guesses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "metrics.h"

void hnd_metrics(const srv_request *req, srv_response *resp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *index, *e;
	size_t i;
	struct {
		char name[128];
		pool_stats st;
	} * rows;
	size_t n_rows = 0;

	if (!f) {
		srv_reply_error(resp, 503, "no_memory", "out of memory");
		return;
	}
	srv_metrics_write(f);

	index = pool_index(req->app->pool);
	rows = calloc(json_array_size(index) + 1, sizeof(*rows));
	json_array_foreach(index, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *state = json_string_value(json_object_get(e, "state"));
		pool_status st;
		pool_model *m;

		if (!rows || !name || !state || strcmp(state, "READY") != 0)
			continue;
		m = pool_get(req->app->pool, name, hnd_index_version(e), &st);
		if (!m)
			continue;
		snprintf(rows[n_rows].name, sizeof(rows[n_rows].name), "%s", m->name);
		pool_model_stats(m, &rows[n_rows].st);
		pool_put(m);
		n_rows++;
	}
	json_decref(index);

	fprintf(f,
		"# HELP liteserve_models_loaded Models READY to serve.\n"
		"# TYPE liteserve_models_loaded gauge\n"
		"liteserve_models_loaded %d\n",
		pool_ready_count(req->app->pool));
	fputs("# HELP liteserve_queue_depth Requests waiting for an execution context, per model.\n"
	      "# TYPE liteserve_queue_depth gauge\n",
	      f);
	for (size_t r = 0; r < n_rows; r++) {
		fputs("liteserve_queue_depth{model=\"", f);
		srv_metrics_write_label(f, rows[r].name);
		fprintf(f, "\"} %lld\n", (long long)rows[r].st.queue_depth);
	}
	fputs("# HELP liteserve_inferences_total Inferences run, per model (since it was loaded).\n"
	      "# TYPE liteserve_inferences_total counter\n",
	      f);
	for (size_t r = 0; r < n_rows; r++) {
		fputs("liteserve_inferences_total{model=\"", f);
		srv_metrics_write_label(f, rows[r].name);
		fprintf(f, "\"} %lld\n", (long long)rows[r].st.inferences);
	}
	fprintf(f,
		"# HELP liteserve_requests_in_flight HTTP requests being received or processed.\n"
		"# TYPE liteserve_requests_in_flight gauge\n"
		"liteserve_requests_in_flight %d\n",
		atomic_load(&req->app->active));
	free(rows);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		srv_reply_error(resp, 503, "no_memory", "out of memory");
		return;
	}
	free(resp->body);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->body = (uint8_t *)buf;
	resp->body_len = len;
}
