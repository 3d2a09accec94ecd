/* tensor.h - element types, quantization and the tensor record.
 *
 * DESIGN: nn_dtype uses TFLite's TensorType numbers so the reader maps them
 * one to one.  A tensor record (nn_tensor) describes shape, type and where the
 * bytes live; the same record is used by the prepared graph (shapes, plan)
 * and, copied, by each session (with data pointing into its arena).
 */
#ifndef LITESERVE_ENGINE_TENSOR_H
#define LITESERVE_ENGINE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn_limits.h"

typedef enum nn_dtype {
	NN_F32 = 0,
	NN_F16 = 1,
	NN_I32 = 2,
	NN_U8 = 3,
	NN_I64 = 4,
	NN_STRING = 5,
	NN_BOOL = 6,
	NN_I16 = 7,
	NN_I8 = 9,
	NN_F64 = 10,
	NN_DTYPE_COUNT_ = 23, /* TensorType values are below this */
} nn_dtype;

/* Quantization of a tensor: real = scale * (q - zero_point).  Per-tensor
 * when n == 1; per-axis along `axis` when n > 1.  Owned by the model. */
typedef struct nn_quant {
	int n;              /* number of scales (and zero points) */
	const float *scale; /* n scales */
	const int64_t *zero_point; /* n zero points */
	int axis;           /* quantized dimension when n > 1 */
} nn_quant;

typedef enum nn_tensor_kind {
	NN_TENSOR_UNUSED = 0, /* referenced by no operator we run */
	NN_TENSOR_CONST,      /* data fixed at load (model buffer or graph-owned) */
	NN_TENSOR_ARENA,      /* activation: planned at `offset` in a session arena */
	NN_TENSOR_ALIAS,      /* shares the storage of tensor `alias` (e.g. reshape) */
} nn_tensor_kind;

typedef struct nn_tensor {
	const char *name;       /* borrowed from the model; may be "" */
	nn_dtype type;
	int rank;
	int32_t dims[NN_MAX_RANK];
	size_t bytes;           /* element count * element size */
	void *data;             /* CONST: the bytes; ARENA/ALIAS: set per session */
	const nn_quant *quant;  /* NULL when not quantized; borrowed from the model */
	nn_tensor_kind kind;
	int32_t alias;          /* ALIAS: index of the tensor whose storage is shared */
	size_t offset;          /* ARENA: byte offset in the session arena */
	bool shape_known;       /* false until the producing op has set the shape */
} nn_tensor;

/* Bytes of one element, 0 for types without a fixed size (string) or unknown. */
size_t nn_dtype_size(nn_dtype t);
const char *nn_dtype_name(nn_dtype t); /* "float32", "uint8", ... */

/* Element count of a shape; returns false if any dim is negative or the
 * product exceeds limit. */
bool nn_shape_count(int rank, const int32_t *dims, uint64_t limit, uint64_t *count);

static inline int64_t nn_tensor_count(const nn_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= t->dims[i];
	return n;
}

/* Dimension i counted from the end when negative (like Python). */
static inline int32_t nn_dim(const nn_tensor *t, int i)
{
	return t->dims[i < 0 ? t->rank + i : i];
}

#endif
