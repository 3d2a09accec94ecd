/* blas.c - see blas.h. */
#include "blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu.h"

/* CBLAS enum values (cblas.h): row-major 101, no-trans 111, trans 112. */
typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
			 const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);
typedef char *(*get_core_fn)(void);

static sgemm_fn blas_sgemm;
static char blas_desc[96] = "portable";
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
	void *h = NULL;

	if (getenv("LITESERVE_NO_BLAS"))
		return;
	if (nn_cpu_avx512())
		setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
	setenv("OPENBLAS_NUM_THREADS", "1", 0);
	for (int i = 0; names[i] && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	blas_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
	if (!blas_sgemm)
		return;
	{
		set_threads_fn st = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
		get_core_fn gc = (get_core_fn)dlsym(h, "openblas_get_corename");
		if (st)
			st(1);
		snprintf(blas_desc, sizeof(blas_desc), "openblas (%s)", gc ? gc() : "?");
	}
}

bool nn_blas_available(void)
{
	pthread_once(&once, load);
	return blas_sgemm != NULL;
}

const char *nn_blas_name(void)
{
	pthread_once(&once, load);
	return blas_desc;
}

void nn_sgemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc)
{
	pthread_once(&once, load);
	if (blas_sgemm) {
		blas_sgemm(101, 111, 112, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
		return;
	}
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			float acc = 0.0f;
			for (int k = 0; k < K; k++)
				acc += A[(size_t)m * lda + k] * B[(size_t)n * ldb + k];
			C[(size_t)m * ldc + n] = acc;
		}
}
