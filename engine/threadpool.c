/* threadpool.c - see threadpool.h.
 *
 * DESIGN: one job at a time (a pool belongs to one session).  A job's tasks
 * are cut into one contiguous range per thread, so neighbouring tasks -
 * neighbouring output rows, sharing input rows and weights in cache - stay
 * on one core; a thread that runs out takes tasks from the back of another
 * thread's range, so a slow or late thread (descheduled on a busy machine)
 * delays nobody.  A range is one 64-bit word {next, end}, changed by
 * compare-and-swap: the owner moves next up, thieves move end down, and a
 * task is handed out exactly once.
 *
 * Waking: back-to-back ops come every few microseconds during an
 * inference, far quicker than a futex wake-up round trip, so idle workers
 * and the waiting caller first spin for a bounded time (NN_POOL_SPIN_NS),
 * yielding now and then so that on an oversubscribed machine the spin
 * does not hold a core another runnable thread (often our own) needs,
 * and only then sleep on a condition variable; nothing spins for longer
 * than that between inferences.  The caller does not wait for workers that
 * have not woken yet: it waits for the tasks to be done, then for the
 * workers that entered the job to leave it.  A worker enters a job only
 * while it is open (`open` equals the job's generation), which the caller
 * closes before it waits, so a late worker can never see a half-written
 * next job.
 */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"

#define NN_POOL_SPIN_NS 100000 /* 0.1 ms: longer than the gap between two ops, short against an idle server */
#define NN_POOL_SPIN_CHECK 128 /* pauses between looks at the clock (and yields) */

/* One thread's share of the current job, alone on its cache line. */
typedef struct pool_range {
	_Alignas(64) _Atomic uint64_t span; /* next task (low 32 bits), end (high 32 bits) */
} pool_range;

struct nn_pool {
	int n_threads;
	pthread_t *workers;
	pool_range *ranges; /* [n_threads] */
	pthread_mutex_t mu;
	pthread_cond_t wake, done;
	bool stop;		      /* under mu, and read by spinning workers */
	_Atomic bool stop_flag;	      /* the same, readable without mu */
	_Atomic uint64_t generation;  /* bumped per job */
	_Atomic uint64_t open;	      /* generation of the job workers may enter, 0 = none */
	_Atomic int sleepers;	      /* workers blocked (or about to block) on wake */
	_Atomic int inside;	      /* workers inside the open job */
	_Atomic int remaining;	      /* tasks of the job not finished yet */
	_Atomic bool caller_sleeps;   /* the caller is (about to be) blocked on done */
	/* current job, written before generation is bumped */
	nn_task_fn fn;
	void *ctx;
};

struct worker_arg {
	nn_pool *p;
	int id;
};

static uint64_t pool_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Takes the next task of range r (owner: from the front, else the back). */
static bool range_take(pool_range *r, bool owner, int *task)
{
	uint64_t s = atomic_load_explicit(&r->span, memory_order_relaxed);

	for (;;) {
		uint32_t next = (uint32_t)s, end = (uint32_t)(s >> 32);
		uint64_t ns;

		if (next >= end)
			return false;
		if (owner) {
			*task = (int)next;
			ns = ((uint64_t)end << 32) | (next + 1);
		} else {
			*task = (int)end - 1;
			ns = ((uint64_t)(end - 1) << 32) | next;
		}
		if (atomic_compare_exchange_weak_explicit(&r->span, &s, ns, memory_order_acq_rel,
							  memory_order_relaxed))
			return true;
	}
}

/* Runs tasks as thread id: its own range first, then the others'. */
static void pool_work(nn_pool *p, int id)
{
	int task, done = 0;

	while (range_take(&p->ranges[id], true, &task)) {
		p->fn(p->ctx, task, id);
		done++;
	}
	for (int k = 1; k < p->n_threads; k++) {
		pool_range *r = &p->ranges[(id + k) % p->n_threads];
		while (range_take(r, false, &task)) {
			p->fn(p->ctx, task, id);
			done++;
		}
	}
	if (done && atomic_fetch_sub(&p->remaining, done) == done && atomic_load(&p->caller_sleeps)) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
}

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	nn_pool *p = wa->p;
	int id = wa->id;
	uint64_t seen = 0;

	free(wa);
	for (;;) {
		uint64_t gen = atomic_load(&p->generation);

		if (gen == seen && !atomic_load(&p->stop_flag)) {
			uint64_t t0 = pool_now_ns();
			int spins = 0;
			/* spin a little: the next op usually follows at once */
			while ((gen = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop_flag)) {
				pool_relax();
				if (++spins % NN_POOL_SPIN_CHECK == 0) {
					if (pool_now_ns() - t0 > NN_POOL_SPIN_NS)
						break;
					sched_yield(); /* a busy machine: let a runnable thread have this core */
				}
			}
		}
		if (gen == seen && !atomic_load(&p->stop_flag)) {
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while (!p->stop && (gen = atomic_load(&p->generation)) == seen)
				pthread_cond_wait(&p->wake, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->stop_flag))
			break;
		seen = gen;
		atomic_fetch_add(&p->inside, 1);
		if (atomic_load(&p->open) == gen) /* else the job is over (or a newer one is being set up) */
			pool_work(p, id);
		atomic_fetch_sub(&p->inside, 1);
	}
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
	p->ranges = nn_aligned_alloc(64, (size_t)n_threads * sizeof(pool_range));
	if (!p->workers || !p->ranges) {
		p->n_threads = 1; /* no worker started */
		nn_pool_free(p);
		return NULL;
	}
	for (int i = 0; i < n_threads; i++)
		atomic_init(&p->ranges[i].span, 0);
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
		atomic_store(&p->stop_flag, true);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->mu);
		for (int i = 1; i < p->n_threads; i++)
			pthread_join(p->workers[i], NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	nn_free(p->workers);
	nn_free(p->ranges);
	nn_free(p);
}

int nn_pool_size(const nn_pool *p)
{
	return p ? p->n_threads : 1;
}

void nn_pool_run(nn_pool *p, int n_tasks, nn_task_fn fn, void *ctx)
{
	int nt;
	uint64_t gen;

	if (!p || p->n_threads == 1 || n_tasks <= 1) {
		for (int t = 0; t < n_tasks; t++)
			fn(ctx, t, 0);
		return;
	}
	nt = p->n_threads < n_tasks ? p->n_threads : n_tasks;
	/* no worker is inside a job here (the last run waited for them) */
	p->fn = fn;
	p->ctx = ctx;
	for (int i = 0; i < p->n_threads; i++) {
		uint64_t lo = i < nt ? (uint64_t)n_tasks * i / nt : 0, hi = i < nt ? (uint64_t)n_tasks * (i + 1) / nt : 0;
		atomic_store_explicit(&p->ranges[i].span, (hi << 32) | lo, memory_order_relaxed);
	}
	atomic_store(&p->remaining, n_tasks);
	atomic_store(&p->caller_sleeps, false);
	gen = atomic_load(&p->generation) + 1;
	atomic_store(&p->open, gen);
	atomic_store(&p->generation, gen);
	/* sleepers is raised before a worker's last look at generation (both
	 * sequentially consistent), so a worker reading 0 here sees the new job */
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->mu);
	}
	pool_work(p, 0);

	if (atomic_load(&p->remaining) > 0) {
		uint64_t t0 = pool_now_ns();
		int spins = 0;
		while (atomic_load(&p->remaining) > 0) {
			pool_relax();
			if (++spins % NN_POOL_SPIN_CHECK == 0) {
				if (pool_now_ns() - t0 > NN_POOL_SPIN_NS)
					break;
				sched_yield(); /* perhaps to the very worker we wait for */
			}
		}
		if (atomic_load(&p->remaining) > 0) {
			pthread_mutex_lock(&p->mu);
			atomic_store(&p->caller_sleeps, true);
			while (atomic_load(&p->remaining) > 0)
				pthread_cond_wait(&p->done, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
	}
	/* close the job; workers still inside found nothing left and are leaving
	 * (one preempted there is waited for with yields, not a hot spin) */
	atomic_store(&p->open, 0);
	for (int spins = 0; atomic_load(&p->inside) > 0; spins++) {
		if (spins < 1000)
			pool_relax();
		else
			sched_yield();
	}
}
