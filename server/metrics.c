/* metrics.c - counters and fixed-bucket histograms (see metrics.h).
 *
 * DESIGN: histograms keep per-bucket counts (not cumulative) and are made
 * cumulative when written, so an observation touches one bucket.  Buckets
 * are fixed in seconds from 100 us to 10 s: the range between a cached tiny
 * model and a large segmentation model on a loaded machine.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static const double bucket_s[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				  0.05,	  0.1,	   0.25,   0.5,	  1.0,	  2.5,	 5.0,  10.0};
#define N_BUCKETS ((int)(sizeof(bucket_s) / sizeof(bucket_s[0])))

typedef struct series {
	char model[128];
	int status;
	uint64_t count;
} series;

typedef struct histogram {
	uint64_t bucket[N_BUCKETS + 1]; /* last = above every bound (+Inf only) */
	uint64_t count;
	double sum_s;
} histogram;

static struct {
	pthread_mutex_t lock;
	int n_series;
	series series[SRV_METRICS_MAX_SERIES];
	uint64_t other[600]; /* requests_total{model="_other"} by status (100..599) */
	histogram stage[SRV_STAGE_COUNT];
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

const char *srv_stage_name(srv_stage s)
{
	static const char *names[SRV_STAGE_COUNT] = {"decode",	  "preprocess",	 "queue",
						     "inference", "postprocess", "total"};
	return s >= 0 && s < SRV_STAGE_COUNT ? names[s] : "unknown";
}

void srv_metrics_init(void)
{
	pthread_mutex_lock(&M.lock);
	M.n_series = 0;
	memset(M.other, 0, sizeof(M.other));
	memset(M.stage, 0, sizeof(M.stage));
	pthread_mutex_unlock(&M.lock);
}

void srv_metrics_request(const char *model, int status)
{
	int i;

	if (!model)
		model = "";
	if (status < 100 || status > 599)
		status = 599;
	pthread_mutex_lock(&M.lock);
	for (i = 0; i < M.n_series; i++)
		if (M.series[i].status == status && !strcmp(M.series[i].model, model))
			break;
	if (i == M.n_series && strlen(model) < sizeof(M.series[0].model) &&
	    M.n_series < SRV_METRICS_MAX_SERIES) {
		strcpy(M.series[i].model, model);
		M.series[i].status = status;
		M.series[i].count = 0;
		M.n_series++;
	}
	if (i < M.n_series)
		M.series[i].count++;
	else
		M.other[status]++;
	pthread_mutex_unlock(&M.lock);
}

static void observe_locked(srv_stage s, double ms)
{
	histogram *h = &M.stage[s];
	double sec = ms > 0 ? ms / 1000.0 : 0.0;
	int b = 0;

	while (b < N_BUCKETS && sec > bucket_s[b])
		b++;
	h->bucket[b]++;
	h->count++;
	h->sum_s += sec;
}

void srv_metrics_observe_stage(srv_stage s, double ms)
{
	if (s < 0 || s >= SRV_STAGE_COUNT)
		return;
	pthread_mutex_lock(&M.lock);
	observe_locked(s, ms);
	pthread_mutex_unlock(&M.lock);
}

void srv_metrics_observe(const pool_timing *t, double total_ms)
{
	pthread_mutex_lock(&M.lock);
	observe_locked(SRV_STAGE_DECODE, t->decode);
	observe_locked(SRV_STAGE_PREPROCESS, t->preprocess);
	observe_locked(SRV_STAGE_QUEUE, t->queue);
	observe_locked(SRV_STAGE_INFERENCE, t->inference);
	observe_locked(SRV_STAGE_POSTPROCESS, t->postprocess);
	observe_locked(SRV_STAGE_TOTAL, total_ms);
	pthread_mutex_unlock(&M.lock);
}

void srv_metrics_write_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void srv_metrics_write(FILE *f)
{
	pthread_mutex_lock(&M.lock);
	fputs("# HELP liteserve_requests_total HTTP requests answered, by model and HTTP status.\n"
	      "# TYPE liteserve_requests_total counter\n",
	      f);
	for (int i = 0; i < M.n_series; i++) {
		fputs("liteserve_requests_total{model=\"", f);
		srv_metrics_write_label(f, M.series[i].model);
		fprintf(f, "\",status=\"%d\"} %llu\n", M.series[i].status,
			(unsigned long long)M.series[i].count);
	}
	for (int st = 0; st < 600; st++)
		if (M.other[st])
			fprintf(f, "liteserve_requests_total{model=\"_other\",status=\"%d\"} %llu\n", st,
				(unsigned long long)M.other[st]);
	fputs("# HELP liteserve_latency_seconds Time spent per stage of an inference request.\n"
	      "# TYPE liteserve_latency_seconds histogram\n",
	      f);
	for (int s = 0; s < SRV_STAGE_COUNT; s++) {
		const histogram *h = &M.stage[s];
		uint64_t cum = 0;

		for (int b = 0; b < N_BUCKETS; b++) {
			cum += h->bucket[b];
			fprintf(f, "liteserve_latency_seconds_bucket{stage=\"%s\",le=\"%g\"} %llu\n",
				srv_stage_name(s), bucket_s[b], (unsigned long long)cum);
		}
		fprintf(f, "liteserve_latency_seconds_bucket{stage=\"%s\",le=\"+Inf\"} %llu\n",
			srv_stage_name(s), (unsigned long long)h->count);
		fprintf(f, "liteserve_latency_seconds_sum{stage=\"%s\"} %.9g\n", srv_stage_name(s), h->sum_s);
		fprintf(f, "liteserve_latency_seconds_count{stage=\"%s\"} %llu\n", srv_stage_name(s),
			(unsigned long long)h->count);
	}
	pthread_mutex_unlock(&M.lock);
}
