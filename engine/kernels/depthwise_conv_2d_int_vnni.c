/* depthwise_conv_2d_int_vnni.c - multiplier-1 integer depthwise rows,
 * AVX-512 VNNI.
 *
 * DESIGN: the AVX-512 rows with each vpmaddwd + vpaddd fused into one
 * vpdpwssd (the same exact int16 x int16 -> int32 sum); the code is that
 * file's, compiled here with the VNNI flags (see its DESIGN comment).
 */
#define DWQ_VNNI 1
#include "depthwise_conv_2d_int_avx512.c"
