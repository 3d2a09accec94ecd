/* resize_common.h - what RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR share.
 *
 * DESIGN: both ops take an NHWC input and a constant int32 [2] size (new
 * height, width); reading and checking that pair is the same for both, only
 * the way output pixels are made differs.
 */
#ifndef LITESERVE_KERNELS_RESIZE_COMMON_H
#define LITESERVE_KERNELS_RESIZE_COMMON_H

#include <stdint.h>

#include "kernel.h"

/* Checks that input 0 is rank 4 with a non-empty height and width, and that
 * input 1 is a constant int32 [2] of positive sizes; *oh, *ow receive them.
 * what: the verb of the message for an empty input ("interpolate from"). */
nn_status resize_output_size(nn_graph *g, const nn_node *node, const char *what, int32_t *oh, int32_t *ow,
			     nn_err *err);

#endif
