/* tfl_model.h - an immutable, verified view of a .tflite file.
 *
 * DESIGN: tfl_model_open maps the file read-only and walks the flatbuffer
 * once, checking every offset, length, string, tensor index and buffer
 * range (via flatbuf.h) and every count against limits.h before anything is
 * sized by it.  What survives is a small set of arrays describing subgraph 0
 * (the one TFLite's interpreter runs): tensors, operators, inputs, outputs.
 * Constant tensor bytes are referenced in place in the mapping.  Bytes after
 * the flatbuffer (e.g. a metadata zip) are allowed and ignored.
 *
 * Ownership: a tfl_model owns its mapping and arrays; everything it hands
 * out (names, data pointers, nn_quant) is borrowed and lives until
 * tfl_model_free.  The model is never modified after open, so any number of
 * threads may read it.
 */
#ifndef LITESERVE_ENGINE_TFL_MODEL_H
#define LITESERVE_ENGINE_TFL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatbuf.h"
#include "status.h"
#include "tensor.h"

#define TFL_BUILTIN_CUSTOM 32 /* BuiltinOperator CUSTOM */

typedef struct tfl_tensor {
	const char *name;        /* never NULL ("" when absent) */
	nn_dtype type;
	int rank;                /* length of the shape vector in the file */
	int32_t dims[NN_MAX_RANK];
	const uint8_t *data;     /* constant bytes, or NULL for activations */
	size_t data_size;
	nn_quant quant;          /* quant.n == 0 when not quantized */
	bool is_variable;
} tfl_tensor;

typedef struct tfl_op {
	int32_t builtin;          /* BuiltinOperator code; TFL_BUILTIN_CUSTOM for custom ops */
	const char *custom_name;  /* custom code for custom ops, else NULL */
	int32_t version;
	int n_inputs, n_outputs;
	const int32_t *inputs;    /* tensor indices; -1 marks an omitted optional input */
	const int32_t *outputs;
	uint8_t options_type;     /* BuiltinOptions union type (0 = none) */
	bool has_options;
	fb_table options;         /* the builtin options table, verified */
	const uint8_t *custom_options; /* raw custom options bytes (flexbuffer), or NULL */
	size_t custom_options_size;
} tfl_op;

typedef struct tfl_metadata {
	const char *name;
	const uint8_t *data; /* the buffer's bytes (may be NULL) */
	size_t size;
} tfl_metadata;

typedef struct tfl_model {
	const uint8_t *bytes;     /* the whole file */
	size_t size;
	size_t flatbuffer_end;    /* hint: largest byte offset referenced (appended data follows) */
	uint32_t schema_version;
	const char *description;  /* "" when absent */
	int n_subgraphs;
	int n_tensors;
	tfl_tensor *tensors;
	int n_ops;
	tfl_op *ops;
	int n_inputs, n_outputs;
	int32_t *inputs, *outputs;
	int n_metadata;
	tfl_metadata *metadata;
	/* storage (private) */
	void *map_;               /* mmap base, or NULL */
	size_t map_size_;
	uint8_t *copy_;           /* owned copy for tfl_model_from_memory(copy=true) */
	int32_t *io_storage_;     /* every op's inputs/outputs, one block */
	void *quant_storage_;     /* scales and zero points, one block */
} tfl_model;

/* Opens and verifies PATH.  On success *out is a new model the caller frees
 * with tfl_model_free.  On failure *out is NULL and err says why. */
nn_status tfl_model_open(const char *path, tfl_model **out, nn_err *err);

/* Same from memory.  copy=true copies the bytes (the caller may free them);
 * copy=false borrows them, and they must outlive the model. */
nn_status tfl_model_from_memory(const void *data, size_t size, bool copy, tfl_model **out, nn_err *err);

void tfl_model_free(tfl_model *m); /* NULL is fine */

/* Name of a builtin operator code ("CONV_2D"), or NULL if unknown. */
const char *tfl_builtin_name(int32_t code);

/* Display name of an operator: its builtin name, its custom name, or "BUILTIN_<n>". */
const char *tfl_op_name(const tfl_op *op, char *buf, size_t buflen);

#endif
