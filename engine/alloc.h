/* alloc.h - the engine's one allocation wrapper.
 *
 * DESIGN: every engine allocation goes through nn_malloc/nn_calloc so tests
 * can make the Nth allocation fail and check that the caller cleans up and
 * reports NN_ERR_NO_MEMORY.  nn_free(NULL) is a no-op.
 */
#ifndef LITESERVE_ENGINE_ALLOC_H
#define LITESERVE_ENGINE_ALLOC_H

#include <stddef.h>

void *nn_malloc(size_t n);
void *nn_calloc(size_t count, size_t size); /* checks count*size overflow */
void *nn_aligned_alloc(size_t align, size_t n); /* free with nn_free */
void nn_free(void *p);

/* Test hook: the allocation after `n` further successful ones fails (and
 * every one after it, until reset); n < 0 disables.  Not thread-safe. */
void nn_alloc_fail_after(long n);

#endif
