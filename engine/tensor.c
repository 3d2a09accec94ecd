/* tensor.c - element type facts (see tensor.h). */
#include "tensor.h"

size_t nn_dtype_size(nn_dtype t)
{
	switch (t) {
	case NN_F32: case NN_I32: return 4;
	case NN_F16: case NN_I16: return 2;
	case NN_U8: case NN_I8: case NN_BOOL: return 1;
	case NN_I64: case NN_F64: return 8;
	default: return 0;
	}
}

const char *nn_dtype_name(nn_dtype t)
{
	static const char *const names[] = {
		"float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16",
		"complex64", "int8", "float64", "complex128", "uint64", "resource", "variant",
		"uint32", "uint16", "int4", "bfloat16", "int2", "uint4", "float8_e4m3fn", "float8_e5m2",
	};
	if ((unsigned)t < sizeof(names) / sizeof(names[0]))
		return names[t];
	return "unknown";
}

bool nn_shape_count(int rank, const int32_t *dims, uint64_t limit, uint64_t *count)
{
	uint64_t n = 1;

	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return false;
		if (dims[i] != 0 && n > limit / (uint64_t)dims[i])
			return false;
		n *= (uint64_t)dims[i];
	}
	if (n > limit)
		return false;
	*count = n;
	return true;
}
