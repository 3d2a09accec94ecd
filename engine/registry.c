/* registry.c - which kernel runs which operator.
 *
 * DESIGN: one table from BuiltinOperator code to kernel, one list of custom
 * op names.  Each kernel is defined in its own file under kernels/ as
 * `const nn_kernel nn_k_<op>`.
 */
#include <string.h>

#include "kernel.h"

extern const nn_kernel nn_k_add;
extern const nn_kernel nn_k_average_pool_2d;
extern const nn_kernel nn_k_concatenation;
extern const nn_kernel nn_k_conv_2d;
extern const nn_kernel nn_k_depthwise_conv_2d;
extern const nn_kernel nn_k_dequantize;
extern const nn_kernel nn_k_fully_connected;
extern const nn_kernel nn_k_logistic;
extern const nn_kernel nn_k_max_pool_2d;
extern const nn_kernel nn_k_mul;
extern const nn_kernel nn_k_reshape;
extern const nn_kernel nn_k_resize_bilinear;
extern const nn_kernel nn_k_softmax;
extern const nn_kernel nn_k_tanh;
extern const nn_kernel nn_k_pad;
extern const nn_kernel nn_k_mean;
extern const nn_kernel nn_k_sub;
extern const nn_kernel nn_k_div;
extern const nn_kernel nn_k_squeeze;
extern const nn_kernel nn_k_cast;
extern const nn_kernel nn_k_arg_max;
extern const nn_kernel nn_k_sqrt;
extern const nn_kernel nn_k_rsqrt;
extern const nn_kernel nn_k_pack;
extern const nn_kernel nn_k_unpack;
extern const nn_kernel nn_k_floor_div;
extern const nn_kernel nn_k_resize_nearest_neighbor;
extern const nn_kernel nn_k_squared_difference;
extern const nn_kernel nn_k_mirror_pad;
extern const nn_kernel nn_k_gather_nd;
extern const nn_kernel nn_k_quantize;
extern const nn_kernel nn_k_detection_postprocess;
extern const nn_kernel nn_k_posenet_decoder;
extern const nn_kernel nn_k_sr_normalize;
extern const nn_kernel nn_k_sr_extract_features;
extern const nn_kernel nn_k_sr_predict;

static const nn_kernel *const builtin_kernels[] = {
	[0] = &nn_k_add, /* ADD */
	[1] = &nn_k_average_pool_2d, /* AVERAGE_POOL_2D */
	[2] = &nn_k_concatenation, /* CONCATENATION */
	[3] = &nn_k_conv_2d, /* CONV_2D */
	[4] = &nn_k_depthwise_conv_2d, /* DEPTHWISE_CONV_2D */
	[6] = &nn_k_dequantize, /* DEQUANTIZE */
	[9] = &nn_k_fully_connected, /* FULLY_CONNECTED */
	[14] = &nn_k_logistic, /* LOGISTIC */
	[17] = &nn_k_max_pool_2d, /* MAX_POOL_2D */
	[18] = &nn_k_mul, /* MUL */
	[22] = &nn_k_reshape, /* RESHAPE */
	[23] = &nn_k_resize_bilinear, /* RESIZE_BILINEAR */
	[25] = &nn_k_softmax, /* SOFTMAX */
	[28] = &nn_k_tanh, /* TANH */
	[34] = &nn_k_pad, /* PAD */
	[40] = &nn_k_mean, /* MEAN */
	[41] = &nn_k_sub, /* SUB */
	[42] = &nn_k_div, /* DIV */
	[43] = &nn_k_squeeze, /* SQUEEZE */
	[53] = &nn_k_cast, /* CAST */
	[56] = &nn_k_arg_max, /* ARG_MAX */
	[75] = &nn_k_sqrt, /* SQRT */
	[76] = &nn_k_rsqrt, /* RSQRT */
	[83] = &nn_k_pack, /* PACK */
	[88] = &nn_k_unpack, /* UNPACK */
	[90] = &nn_k_floor_div, /* FLOOR_DIV */
	[97] = &nn_k_resize_nearest_neighbor, /* RESIZE_NEAREST_NEIGHBOR */
	[99] = &nn_k_squared_difference, /* SQUARED_DIFFERENCE */
	[100] = &nn_k_mirror_pad, /* MIRROR_PAD */
	[107] = &nn_k_gather_nd, /* GATHER_ND */
	[114] = &nn_k_quantize, /* QUANTIZE */
};

typedef struct custom_entry {
	const char *name;
	const nn_kernel *kernel;
} custom_entry;

static const custom_entry custom_kernels[] = {
	{"TFLite_Detection_PostProcess", &nn_k_detection_postprocess},
	{"PosenetDecoderOp", &nn_k_posenet_decoder},
	{"Normalize", &nn_k_sr_normalize},
	{"ExtractFeatures", &nn_k_sr_extract_features},
	{"Predict", &nn_k_sr_predict},
	{NULL, NULL},
};

const nn_kernel *nn_kernel_builtin(int32_t code)
{
	if (code < 0 || (size_t)code >= sizeof(builtin_kernels) / sizeof(builtin_kernels[0]))
		return NULL;
	return builtin_kernels[code];
}

const nn_kernel *nn_kernel_custom(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; custom_kernels[i].name; i++)
		if (!strcmp(custom_kernels[i].name, name))
			return custom_kernels[i].kernel;
	return NULL;
}
