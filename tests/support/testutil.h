/* testutil.h - helpers shared by the Check suites.
 *
 * Shared data: ../shared (or $LITESERVE_SHARED).  ts_shared_path returns
 * NULL when it is absent; tests then skip with a loud reason - except under
 * CI (CI=true), where a missing ../shared is a failure (ts_require_shared).
 */
#ifndef LITESERVE_TESTS_TESTUTIL_H
#define LITESERVE_TESTS_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* Path of REL inside ../shared in a static buffer, or NULL if ../shared is absent. */
const char *ts_shared_path(const char *rel);
/* Like ts_shared_path but, when absent, prints a loud SKIP line (or fails
 * the test under CI) and returns NULL. */
const char *ts_require_shared(const char *rel);

/* Reads a whole file; returns a malloc'd buffer or NULL. */
uint8_t *ts_read_file(const char *path, size_t *size);

/* Path of the built liteserve binary. */
const char *ts_liteserve_bin(void);

/* Deterministic pseudo-random numbers (xorshift). */
uint32_t ts_rand(uint32_t *state);
float ts_randf(uint32_t *state, float lo, float hi); /* uniform in [lo, hi) */

/* Builds graph + session (1 thread unless n_threads) from model bytes built
 * with tflite_builder.  On failure returns the status and leaves err set.
 * ts_model_free releases everything. */
typedef struct ts_model {
	uint8_t *bytes;
	tfl_model *model;
	nn_graph *graph;
	nn_session *session;
} ts_model;
nn_status ts_model_load(ts_model *m, uint8_t *bytes, size_t size, int n_threads, nn_err *err); /* takes bytes */
void ts_model_free(ts_model *m);

/* One-op model helpers for kernel tests (tflite_builder.h models). */
struct tb_model;
/* Serialises b (and frees it), then ts_model_load. */
nn_status ts_tb_load(ts_model *m, struct tb_model *b, int threads, nn_err *err);
/* Loads b and asserts it is refused with a message containing needle. */
void ts_tb_expect_refused(struct tb_model *b, const char *needle, const char *what);
/* Loads b and asserts success. */
void ts_tb_load_ok(ts_model *m, struct tb_model *b, int threads, const char *what);
/* Invokes and asserts success. */
void ts_invoke_ok(ts_model *m, const char *what);
/* Copies bytes into input i (asserting its size; empty tensors may have no storage). */
void ts_put_input(ts_model *m, int i, const void *src, size_t bytes);

/* Runs a Check suite; returns the process exit code. */
int ts_run_suite(Suite *s);

#endif
