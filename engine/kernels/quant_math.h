/* quant_math.h - TFLite's integer arithmetic, shared by the integer kernels.
 *
 * DESIGN: bit-exactness with TFLite depends on doing exactly what its
 * kernels do, so each function here is one of TFLite's primitives, written
 * from its documented semantics:
 *   - a real multiplier M in (0, 2^31) becomes a Q31 fixed-point value and a
 *     power-of-two exponent (qm_quantize_multiplier), at prepare;
 *   - "double rounding" (gemmlowp): SaturatingRoundingDoublingHighMul then
 *     RoundingDivideByPOT - used by uint8 per-tensor CONV_2D, every
 *     DEPTHWISE_CONV_2D, FULLY_CONNECTED and the elementwise ops;
 *   - "single rounding" (ruy): (x*M + 2^(total-1)) >> total with total =
 *     31 - shift - used by int8 per-channel CONV_2D (see
 *     shared/golden/README.md for which paths were verified).
 * Rounding directions matter: RoundingDivideByPOT rounds half away from
 * zero; the high multiply rounds half up in magnitude with a nudge.
 */
#ifndef LITESERVE_ENGINE_KERNELS_QUANT_MATH_H
#define LITESERVE_ENGINE_KERNELS_QUANT_MATH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

/* real = m * 2^shift with m in [0.5, 1) as Q31.  Returns false (and sets
 * *q = 0) when real is not finite or negative. real == 0 gives q = 0. */
bool qm_quantize_multiplier(double real, int32_t *q, int *shift);

/* (a * b * 2) >> 32, rounded, saturating the one overflow case. */
static inline int32_t qm_srdhm(int32_t a, int32_t b)
{
	int64_t ab;
	int64_t nudge;

	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	ab = (int64_t)a * (int64_t)b;
	nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
	/* C division truncates toward zero, as gemmlowp relies on */
	return (int32_t)((ab + nudge) / (1ll << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero. */
static inline int32_t qm_rdbpot(int32_t x, int exponent)
{
	const int32_t mask = (int32_t)((1ll << exponent) - 1);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* gemmlowp double rounding: x * q * 2^shift. */
static inline int32_t qm_mul_double(int32_t x, int32_t q, int shift)
{
	int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
	return qm_rdbpot(qm_srdhm((int32_t)((uint32_t)x << left), q), right);
}

/* ruy single rounding: (x * q + 2^(30 - shift)) >> (31 - shift). */
static inline int32_t qm_mul_single(int32_t x, int32_t q, int shift)
{
	const int total = 31 - shift;
	const int64_t round = 1ll << (total - 1);
	return (int32_t)(((int64_t)x * q + round) >> total);
}

/* Quantized clamp range of a fused activation for an output with scale
 * and zero point, within [qmin, qmax] of its dtype (TFLite's
 * CalculateActivationRangeQuantized: bounds are zp + round(v / scale)). */
nn_status qm_activation_range(const nn_node *n, int act, float scale, int32_t zero_point, int32_t qmin,
			      int32_t qmax, int32_t *lo, int32_t *hi, nn_err *err);

/* True when a and b quantize alike: both absent (NULL or no scales), or the
 * same scales and zero points in the same order. */
bool qm_same_quant(const nn_quant *a, const nn_quant *b);

/* Value range of an integer dtype: uint8 [0,255], int8 [-128,127], int16, int32. */
bool qm_dtype_range(nn_dtype t, int32_t *qmin, int32_t *qmax);

/* Validates a tensor's quantization for the integer kernels: present,
 * every scale finite and > 0, zero points within the dtype's range (and 0
 * for int8 per-axis weights when require_symmetric).  Message names the
 * tensor. */
nn_status qm_check_quant(const nn_node *n, const nn_tensor *t, const char *what, bool require_symmetric,
			 nn_err *err);

#endif
