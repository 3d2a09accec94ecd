/* test_threadpool.c - the engine's thread pool (engine/threadpool.c).
 *
 * Every job must run each task exactly once with a thread index inside the
 * pool, whatever the number of tasks against threads, over many back-to-back
 * jobs (workers still spinning) and jobs after a pause (workers asleep on
 * the condition variable).  A thread whose range is slow must lose tasks
 * to the others (stealing), and a pool must shut down from either state.
 * No timing is asserted: the pauses only steer workers into the sleeping
 * path.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "threadpool.h"

#define MAX_TASKS 1000

typedef struct job {
	_Atomic int runs[MAX_TASKS]; /* times each task ran */
	_Atomic int by[MAX_TASKS];   /* thread that ran it */
	int n_threads;
	_Atomic int bad_thread;	     /* a thread index outside the pool */
	int slow_below;		     /* tasks below this sleep (stealing test) */
} job;

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static void count_task(void *ctx, int task, int thread)
{
	job *j = ctx;

	if (thread < 0 || thread >= j->n_threads)
		atomic_store(&j->bad_thread, 1);
	if (task < j->slow_below)
		sleep_us(20000);
	atomic_fetch_add(&j->runs[task], 1);
	atomic_store(&j->by[task], thread);
}

static void run_and_check(nn_pool *p, job *j, int n_tasks, const char *what)
{
	memset(j->runs, 0, sizeof(j->runs));
	nn_pool_run(p, n_tasks, count_task, j);
	ck_assert_msg(!atomic_load(&j->bad_thread), "%s: a thread index outside [0, %d)", what, j->n_threads);
	for (int t = 0; t < n_tasks; t++)
		ck_assert_msg(atomic_load(&j->runs[t]) == 1, "%s: %d tasks, task %d ran %d times", what, n_tasks, t,
			      atomic_load(&j->runs[t]));
	for (int t = n_tasks; t < MAX_TASKS; t++)
		ck_assert_msg(atomic_load(&j->runs[t]) == 0, "%s: task %d of %d was run", what, t, n_tasks);
}

static const int thread_counts[] = {1, 2, 3, 4, 8};

START_TEST(test_each_task_once)
{
	static job j;
	int n = thread_counts[_i];
	nn_pool *p = nn_pool_create(n);
	static const int sizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 31, 64, 100, 257, 1000};
	char what[64];

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(nn_pool_size(p), n);
	memset(&j, 0, sizeof(j));
	j.n_threads = n;
	for (int round = 0; round < 50; round++) /* back to back: workers spinning */
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			snprintf(what, sizeof(what), "%d threads, round %d", n, round);
			run_and_check(p, &j, sizes[s], what);
		}
	for (int round = 0; round < 3; round++) { /* after a pause: workers asleep */
		sleep_us(5000);
		snprintf(what, sizeof(what), "%d threads after a pause, round %d", n, round);
		run_and_check(p, &j, 37, what);
	}
	nn_pool_free(p);
}
END_TEST

/* Thread 0's own tasks are slow: the others must take some of them. */
START_TEST(test_slow_range_is_stolen)
{
	static job j;
	nn_pool *p = nn_pool_create(2);
	int stolen = 0;

	ck_assert_ptr_nonnull(p);
	memset(&j, 0, sizeof(j));
	j.n_threads = 2;
	j.slow_below = 4; /* tasks 0..3 are thread 0's range of 8 */
	run_and_check(p, &j, 8, "stealing");
	for (int t = 0; t < 4; t++)
		stolen += atomic_load(&j.by[t]) != 0;
	ck_assert_msg(stolen > 0, "thread 1 finished its 4 quick tasks but took none of thread 0's slow ones");
	nn_pool_free(p);
}
END_TEST

/* Free right after a job (workers spinning) and after a pause (asleep). */
START_TEST(test_free_from_any_state)
{
	static job j;

	memset(&j, 0, sizeof(j));
	j.n_threads = 4;
	for (int i = 0; i < 20; i++) {
		nn_pool *p = nn_pool_create(4);
		ck_assert_ptr_nonnull(p);
		run_and_check(p, &j, 16, "before free");
		if (i % 4 == 0)
			sleep_us(2000);
		nn_pool_free(p);
	}
	nn_pool_free(NULL);
	ck_assert_int_eq(nn_pool_size(NULL), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("threadpool");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_each_task_once, 0, (int)(sizeof(thread_counts) / sizeof(thread_counts[0])));
	tcase_add_test(tc, test_slow_range_is_stolen);
	tcase_add_test(tc, test_free_from_any_state);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
