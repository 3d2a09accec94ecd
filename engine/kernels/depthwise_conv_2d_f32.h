/* depthwise_conv_2d_f32.h - float32 depthwise rows specialised by shape.
 *
 * DESIGN: the generic multiplier-1 rows (conv_common.h) loop over taps
 * with bounds per pixel and reload the filter for every pixel; MobileNet's
 * depthwise layers are all 3x3, dilation 1, stride 1 or 2, where a row
 * can instead keep each input vector for the neighbouring outputs that
 * share it.  Same signature as the generic rows, so depthwise_conv_2d.c
 * swaps the pointer at prepare.
 */
#ifndef LITESERVE_ENGINE_KERNELS_DEPTHWISE_CONV_2D_F32_H
#define LITESERVE_ENGINE_KERNELS_DEPTHWISE_CONV_2D_F32_H

#include "conv_common.h"

/* Multiplier 1, 3x3 window, dilation 1, sh == sw in {1, 2}, any padding. */
void depthwise_conv_2d_3x3_row_avx512(const dw_params *p, const float *in, const float *filter,
				      const float *bias, float *out, int b, int oy);
void depthwise_conv_2d_3x3_row_avx2(const dw_params *p, const float *in, const float *filter, const float *bias,
				    float *out, int b, int oy);

#endif
