/* alloc.c - allocation wrapper with failure injection (see alloc.h). */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>

static long fail_countdown = -1;

static int should_fail(void)
{
	if (fail_countdown < 0)
		return 0;
	if (fail_countdown == 0)
		return 1;
	fail_countdown--;
	return 0;
}

void nn_alloc_fail_after(long n)
{
	fail_countdown = n;
}

void *nn_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *nn_calloc(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	if (should_fail())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *nn_aligned_alloc(size_t align, size_t n)
{
	void *p = NULL;

	if (should_fail())
		return NULL;
	if (posix_memalign(&p, align, n ? n : align) != 0)
		return NULL;
	return p;
}

void nn_free(void *p)
{
	free(p);
}
