/* pad_common.h - the geometry and row driver PAD and MIRROR_PAD share.
 *
 * DESIGN: both ops move bytes.  Their prepare folds the innermost
 * dimensions that get no padding into one contiguous element of `blk` bytes
 * (padding an NHWC image in H and W makes C the element) and drops unpadded
 * size-1 dimensions, so the output becomes rows over the remaining outer
 * dimensions, each row [lo elements | input run | hi elements].  Only what
 * fills a row differs between the ops, so each supplies a row function and
 * this driver cuts the rows into tasks of ~64 KiB of output: disjoint row
 * ranges, hence results that do not depend on the thread count.
 */
#ifndef LITESERVE_KERNELS_PAD_COMMON_H
#define LITESERVE_KERNELS_PAD_COMMON_H

#include <stdint.h>

#include "kernel.h"

typedef struct pad_geom {
	int k;			     /* folded rank; 0 = the output is a plain copy */
	int64_t in_dim[NN_MAX_RANK]; /* per folded dim, in elements of blk bytes for the last */
	int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
	int64_t out_dim[NN_MAX_RANK];
	size_t in_stride[NN_MAX_RANK]; /* input bytes per step of each outer dim */
	size_t blk;		       /* bytes of one element of the innermost folded dim */
	int64_t rows;		       /* product of the outer output dims */
	size_t row_bytes;	       /* one output row */
	size_t in_bytes;	       /* whole input (plain copy) */
} pad_geom;

/* Checks input 1 (the paddings: a constant int32/int64 [rank, 2] tensor) and
 * reads its (before, after) pairs into lo/hi; no range checks on the values. */
nn_status pad_read_paddings(nn_graph *g, const nn_node *node, int rank, int64_t *lo, int64_t *hi,
			    nn_err *err);

/* Fills g from the input shape, its element size, the paddings and the
 * output dims. */
void pad_geom_fold(pad_geom *g, const nn_tensor *in, size_t es, const int64_t *lo, const int64_t *hi,
		   const int32_t *odims);

/* Writes output rows [r0, r1) of the folded geometry; c holds the outer
 * coordinates of row r0 (pad_geom_run advances them between rows). */
typedef void (*pad_row_fn)(const void *op, const pad_geom *g, const uint8_t *in, uint8_t *out_row,
			   const int64_t *c);

/* Runs row over every output row, split across ex's threads. */
void pad_geom_run(nn_exec *ex, const pad_geom *g, pad_row_fn row, const void *op, const uint8_t *in,
		  uint8_t *out);

#endif
