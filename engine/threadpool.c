/* threadpool.c - see threadpool.h. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "alloc.h"

struct nn_pool {
	int n_threads;
	pthread_t *workers;
	pthread_mutex_t mu;
	pthread_cond_t wake, done;
	uint64_t generation;    /* bumped per job; workers wait for a new one */
	bool stop;
	/* current job */
	nn_task_fn fn;
	void *ctx;
	int n_tasks;
	atomic_int next;
	int active;             /* workers still inside the job */
};

struct worker_arg {
	nn_pool *p;
	int id;
};

static void work(nn_pool *p, int id)
{
	int t;
	while ((t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->n_tasks)
		p->fn(p->ctx, t, id);
}

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	nn_pool *p = wa->p;
	int id = wa->id;
	uint64_t seen = 0;

	free(wa);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->generation == seen)
			pthread_cond_wait(&p->wake, &p->mu);
		if (p->stop)
			break;
		seen = p->generation;
		pthread_mutex_unlock(&p->mu);
		work(p, id);
		pthread_mutex_lock(&p->mu);
		if (--p->active == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

nn_pool *nn_pool_create(int n_threads)
{
	nn_pool *p;

	if (n_threads < 1)
		n_threads = 1;
	p = nn_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->n_threads = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	p->workers = nn_calloc((size_t)n_threads, sizeof(pthread_t));
	if (!p->workers) {
		nn_pool_free(p);
		return NULL;
	}
	for (int i = 1; i < n_threads; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));
		if (wa) {
			/* filled before the thread starts: the worker owns and frees it */
			wa->p = p;
			wa->id = i;
		}
		if (!wa || pthread_create(&p->workers[i], NULL, worker_main, wa) != 0) {
			free(wa);
			p->n_threads = i; /* only these were started */
			nn_pool_free(p);
			return NULL;
		}
	}
	return p;
}

void nn_pool_free(nn_pool *p)
{
	if (!p)
		return;
	if (p->workers) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->mu);
		for (int i = 1; i < p->n_threads; i++)
			pthread_join(p->workers[i], NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	nn_free(p->workers);
	nn_free(p);
}

int nn_pool_size(const nn_pool *p)
{
	return p ? p->n_threads : 1;
}

void nn_pool_run(nn_pool *p, int n_tasks, nn_task_fn fn, void *ctx)
{
	if (!p || p->n_threads == 1 || n_tasks <= 1) {
		for (int t = 0; t < n_tasks; t++)
			fn(ctx, t, 0);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n_tasks = n_tasks;
	atomic_store(&p->next, 0);
	p->active = p->n_threads - 1;
	p->generation++;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	work(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->active > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
