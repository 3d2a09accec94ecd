/* quant_math.c - see quant_math.h. */
#include "quant_math.h"

#include <math.h>

bool qm_quantize_multiplier(double real, int32_t *q, int *shift)
{
	double m;
	int64_t qf;

	*q = 0;
	*shift = 0;
	if (!isfinite(real) || real < 0)
		return false;
	if (real == 0.0)
		return true;
	m = frexp(real, shift);
	qf = (int64_t)llround(m * (double)(1ll << 31));
	if (qf == (1ll << 31)) {
		qf /= 2;
		++*shift;
	}
	if (*shift < -31) {
		/* too small to matter: TFLite flushes it to zero */
		*shift = 0;
		qf = 0;
	}
	if (*shift > 30) {
		*shift = 30;
		qf = (1ll << 31) - 1;
	}
	*q = (int32_t)qf;
	return true;
}

bool qm_same_quant(const nn_quant *a, const nn_quant *b)
{
	bool none_a = !a || a->n == 0, none_b = !b || b->n == 0;

	if (none_a || none_b)
		return none_a && none_b;
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->scale[i] != b->scale[i] || a->zero_point[i] != b->zero_point[i])
			return false;
	return true;
}

bool qm_dtype_range(nn_dtype t, int32_t *qmin, int32_t *qmax)
{
	switch (t) {
	case NN_U8: *qmin = 0; *qmax = 255; return true;
	case NN_I8: *qmin = -128; *qmax = 127; return true;
	case NN_I16: *qmin = -32768; *qmax = 32767; return true;
	case NN_I32: *qmin = INT32_MIN; *qmax = INT32_MAX; return true;
	default: return false;
	}
}

static int32_t quantize_bound(float v, float scale, int32_t zp)
{
	/* TfLiteRound: half away from zero.  Clamped in double first: a tiny
	 * (valid, > 0) scale would overflow the int32 conversion. */
	double q = (double)zp + (double)roundf(v / scale);
	if (q < INT32_MIN)
		return INT32_MIN;
	if (q > INT32_MAX)
		return INT32_MAX;
	return (int32_t)q;
}

nn_status qm_activation_range(const nn_node *n, int act, float scale, int32_t zp, int32_t qmin, int32_t qmax,
			      int32_t *lo, int32_t *hi, nn_err *err)
{
	int32_t a = qmin, b = qmax;

	switch (act) {
	case NN_ACT_NONE: break;
	case NN_ACT_RELU: a = zp > qmin ? zp : qmin; break;
	case NN_ACT_RELU6: {
		int32_t t = quantize_bound(6.0f, scale, zp);
		a = zp > qmin ? zp : qmin;
		b = t < qmax ? t : qmax;
		break;
	}
	case NN_ACT_RELU_N1_TO_1: {
		int32_t l = quantize_bound(-1.0f, scale, zp), h = quantize_bound(1.0f, scale, zp);
		a = l > qmin ? l : qmin;
		b = h < qmax ? h : qmax;
		break;
	}
	default:
		return nn_node_err(n, err, NN_ERR_UNSUPPORTED, "fused activation %d is not supported for quantized ops",
				   act);
	}
	*lo = a;
	*hi = b;
	return NN_OK;
}

nn_status qm_check_quant(const nn_node *n, const nn_tensor *t, const char *what, bool require_symmetric,
			 nn_err *err)
{
	int32_t qmin, qmax;

	if (!t->quant || t->quant->n < 1)
		return nn_node_err(n, err, NN_ERR_BAD_MODEL, "%s '%s' (%s) has no quantization parameters", what,
				   t->name, nn_dtype_name(t->type));
	if (!qm_dtype_range(t->type, &qmin, &qmax))
		return nn_node_err(n, err, NN_ERR_UNSUPPORTED, "%s '%s' has type %s", what, t->name,
				   nn_dtype_name(t->type));
	for (int i = 0; i < t->quant->n; i++) {
		float s = t->quant->scale[i];
		int64_t z = t->quant->zero_point[i];
		if (!(s > 0.0f) || !isfinite(s))
			return nn_node_err(n, err, NN_ERR_BAD_MODEL, "%s '%s': quantization scale %d is %g (must be > 0)",
					   what, t->name, i, s);
		if (t->type != NN_I32 && (z < qmin || z > qmax))
			return nn_node_err(n, err, NN_ERR_BAD_MODEL, "%s '%s': zero point %lld outside [%d, %d]", what,
					   t->name, (long long)z, qmin, qmax);
		if (require_symmetric && z != 0)
			return nn_node_err(n, err, NN_ERR_BAD_MODEL, "%s '%s': zero point %lld must be 0", what, t->name,
					   (long long)z);
	}
	return NN_OK;
}
