/* threadpool.h - the engine's thread pool.
 *
 * DESIGN: a fixed set of workers that sleep on a condition variable when
 * idle (after a bounded spin, so back-to-back ops do not pay a wake-up
 * each).  nn_pool_run gives each thread a contiguous range of the task
 * indices and lets a thread that finishes early take tasks from the end of
 * the others' ranges; the caller works too, as thread 0.  Which thread runs
 * a task varies from run to run: kernels must make results depend on the
 * task index only (the thread index picks scratch).  One pool belongs to
 * one session, so it is used by one thread at a time.
 */
#ifndef LITESERVE_ENGINE_THREADPOOL_H
#define LITESERVE_ENGINE_THREADPOOL_H

#include "kernel.h"

/* A pool of n_threads (the caller plus n_threads - 1 workers). NULL on failure. */
nn_pool *nn_pool_create(int n_threads);
void nn_pool_free(nn_pool *p);
int nn_pool_size(const nn_pool *p);
/* Runs fn(ctx, task, thread) for every task in [0, n_tasks); returns when all are done. */
void nn_pool_run(nn_pool *p, int n_tasks, nn_task_fn fn, void *ctx);

#endif
