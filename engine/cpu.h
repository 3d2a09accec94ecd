/* cpu.h - instruction sets available at run time.
 *
 * DESIGN: kernels pick their variant once, at prepare, from these answers.
 * LITESERVE_CPU=generic|avx2|avx512 caps what is reported (to test every
 * variant on one machine); LITESERVE_FORCE_REFERENCE=1 makes kernels choose
 * their plain C references.
 */
#ifndef LITESERVE_ENGINE_CPU_H
#define LITESERVE_ENGINE_CPU_H

#include <stdbool.h>

bool nn_cpu_avx2(void);        /* AVX2 + FMA */
bool nn_cpu_avx512(void);      /* AVX-512 F, BW, DQ, VL */
bool nn_cpu_avx512vnni(void);  /* the above + VNNI */
const char *nn_cpu_level(void); /* "avx512vnni", "avx512", "avx2" or "generic" */

#endif
