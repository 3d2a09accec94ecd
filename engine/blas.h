/* blas.h - single-precision GEMM from OpenBLAS, loaded at run time.
 *
 * DESIGN: Debian's OpenBLAS 0.3.21 does not recognise Zen 5 and falls back
 * to Haswell (AVX2) kernels unless OPENBLAS_CORETYPE is set before the
 * library initialises - which happens in its constructor, before main.  So
 * the engine loads it with dlopen after setting, only where the user has
 * not, OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines and
 * OPENBLAS_NUM_THREADS=1 (our pool splits the work; OpenBLAS's own threads
 * would compete with it).  Without the library, a portable C GEMM is used
 * and nn_blas_name() says so.
 */
#ifndef LITESERVE_ENGINE_BLAS_H
#define LITESERVE_ENGINE_BLAS_H

#include <stdbool.h>

/* C[M,N] = A[M,K] * B^T where B is [N,K] (both row-major), with leading
 * dimensions lda, ldb, ldc; C is overwritten (beta = 0). */
void nn_sgemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc);

/* True when OpenBLAS was loaded. */
bool nn_blas_available(void);
/* "openblas (SkylakeX)" or "portable" - for bench and logs. */
const char *nn_blas_name(void);

#endif
