/* tflite_builder.h - a test-only writer of .tflite files.
 *
 * DESIGN: tests build small models (one op, or a smart-reply-shaped graph)
 * and run them through the real reader, graph and session, so every kernel
 * test also exercises the path a user's file takes.  The writer is a
 * FlatBuffers builder in miniature: it writes back to front, children before
 * parents, so every offset points forward as the format requires.
 *
 * Usage:
 *   tb_model *b = tb_new();
 *   int x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){1,8,8,3}, NULL, 0, NULL);
 *   int w = tb_tensor(b, "w", NN_F32, 4, dims, weights, nbytes, NULL);
 *   ...
 *   tb_opts o = {0};
 *   tb_opt_i8(&o, 0, 1);               // Conv2DOptions.padding = VALID
 *   tb_opt_i32(&o, 1, 2);              // stride_w
 *   tb_op(b, 3, NULL, 1, (int[]){x,w,bias}, 3, (int[]){y}, 1, 1, &o);  // CONV_2D, options type 1
 *   tb_io(b, 1, (int[]){x}, 1, (int[]){y});
 *   size_t size; uint8_t *bytes = tb_finish(b, &size);   // caller frees bytes with free()
 *   tb_free(b);
 * Everything is copied; abort() on out of memory (tests only).
 */
#ifndef LITESERVE_TESTS_TFLITE_BUILDER_H
#define LITESERVE_TESTS_TFLITE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

typedef struct tb_model tb_model;

typedef struct tb_quant {
	int n;               /* scales (1 = per tensor) */
	const float *scale;
	const int64_t *zero_point;
	int axis;            /* quantized_dimension */
} tb_quant;

#define TB_MAX_OPT_FIELDS 16
typedef struct tb_opts {
	int n;
	struct {
		int field;   /* field id in the options table */
		int kind;    /* 1 = int8/bool/enum byte, 4 = int32, 'f' = float, 'v' = int32 vector */
		int32_t i;
		float f;
		int32_t vec[16];
		int vec_len;
	} f[TB_MAX_OPT_FIELDS];
} tb_opts;

void tb_opt_i8(tb_opts *o, int field, int8_t v);
void tb_opt_i32(tb_opts *o, int field, int32_t v);
void tb_opt_f32(tb_opts *o, int field, float v);
void tb_opt_vec(tb_opts *o, int field, int n, const int32_t *v);

tb_model *tb_new(void);
void tb_free(tb_model *b);

/* Adds a tensor; data (nbytes) makes it a constant.  Returns its index. */
int tb_tensor(tb_model *b, const char *name, nn_dtype type, int rank, const int32_t *dims, const void *data,
	      size_t nbytes, const tb_quant *q);

/* Adds an operator.  builtin is the BuiltinOperator code (32 = CUSTOM with
 * custom_name); options_type is the BuiltinOptions union index (e.g. 1 =
 * Conv2DOptions) or 0 for none; opts may be NULL.  Returns its index. */
int tb_op(tb_model *b, int builtin, const char *custom_name, int version, const int *inputs, int n_inputs,
	  const int *outputs, int n_outputs, int options_type, const tb_opts *opts);

/* Raw custom options (flexbuffer bytes) for the last added op. */
void tb_op_custom_options(tb_model *b, const void *data, size_t size);

void tb_io(tb_model *b, int n_inputs, const int *inputs, int n_outputs, const int *outputs);

/* Serialises the model.  Returns a malloc'd buffer (free with free()). */
uint8_t *tb_finish(tb_model *b, size_t *size);

#endif
