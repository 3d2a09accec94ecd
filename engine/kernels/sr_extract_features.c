/* sr_extract_features.c - ExtractFeatures (smart-reply custom op): n-gram
 * strings in, a hashed feature id and a weight per n-gram out.
 *
 * DESIGN: as in TensorFlow's reference, the id of an n-gram is FarmHash's
 * Fingerprint64 of its bytes modulo 1,000,000 and its weight is its number
 * of words (spaces + 1); the markers "<S>", "<E>" and "<S> <E>" carry no
 * information and get id 0, weight 0.  Both outputs have one entry per
 * input string ([N], int32 and float32); an input of no strings still gets
 * one entry (0, 0) - the reference's choice, so that the ops after it run.
 *
 * Fingerprint64 is farmhashna::Hash64, a fixed function (Google promises it
 * never changes): inputs up to 16, 32 and 64 bytes have their own mixing
 * paths and longer ones run a 64-byte block loop with a 56-byte state.
 * Written from the algorithm's description; the tests check it against
 * published fingerprints on every length path.
 */
#include <string.h>

#include "kernel.h"
#include "nn_string.h"
#include "smartreply.h"

#define SR_FEATURE_SPACE 1000000

/* --- Fingerprint64 -------------------------------------------------------- */

static const uint64_t fp_k0 = 0xc3a5c85c97cb3127ULL;
static const uint64_t fp_k1 = 0xb492b66fbe98f273ULL;
static const uint64_t fp_k2 = 0x9ae16a3b2f90404fULL;

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* little-endian hosts only, like the rest of the engine */
	return v;
}

static uint64_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rotr(uint64_t v, int s)
{
	return s == 0 ? v : (v >> s) | (v << (64 - s));
}

static uint64_t shift_mix(uint64_t v)
{
	return v ^ (v >> 47);
}

/* Murmur-style mix of two words with multiplier mul. */
static uint64_t mix2(uint64_t u, uint64_t v, uint64_t mul)
{
	uint64_t a = (u ^ v) * mul, b;
	a ^= a >> 47;
	b = (v ^ a) * mul;
	b ^= b >> 47;
	return b * mul;
}

static uint64_t fp_upto16(const uint8_t *s, size_t len)
{
	uint64_t mul = fp_k2 + 2 * (uint64_t)len;

	if (len >= 8) {
		uint64_t a = ld64(s) + fp_k2, b = ld64(s + len - 8);
		return mix2(rotr(b, 37) * mul + a, (rotr(a, 25) + b) * mul, mul);
	}
	if (len >= 4)
		return mix2(len + (ld32(s) << 3), ld32(s + len - 4), mul);
	if (len > 0) {
		uint32_t y = (uint32_t)s[0] + ((uint32_t)s[len >> 1] << 8);
		uint32_t z = (uint32_t)len + ((uint32_t)s[len - 1] << 2);
		return shift_mix(y * fp_k2 ^ z * fp_k0) * fp_k2;
	}
	return fp_k2;
}

static uint64_t fp_upto32(const uint8_t *s, size_t len)
{
	uint64_t mul = fp_k2 + 2 * (uint64_t)len;
	uint64_t a = ld64(s) * fp_k1, b = ld64(s + 8), c = ld64(s + len - 8) * mul, d = ld64(s + len - 16) * fp_k2;
	return mix2(rotr(a + b, 43) + rotr(c, 30) + d, a + rotr(b + fp_k2, 18) + c, mul);
}

static uint64_t fp_upto64(const uint8_t *s, size_t len)
{
	uint64_t mul = fp_k2 + 2 * (uint64_t)len;
	uint64_t a = ld64(s) * fp_k2, b = ld64(s + 8), c = ld64(s + len - 8) * mul, d = ld64(s + len - 16) * fp_k2;
	uint64_t y = rotr(a + b, 43) + rotr(c, 30) + d;
	uint64_t z = mix2(y, a + rotr(b + fp_k2, 18) + c, mul);
	uint64_t e = ld64(s + 16) * mul, f = ld64(s + 24);
	uint64_t g = (y + ld64(s + len - 32)) * mul, h = (z + ld64(s + len - 24)) * mul;
	return mix2(rotr(e + f, 43) + rotr(g, 30) + h, e + rotr(f + a, 18) + g, mul);
}

typedef struct fp_pair {
	uint64_t lo, hi;
} fp_pair;

/* The weak 32-byte hash with two seeds that feeds the block loop. */
static fp_pair fp_weak32(const uint8_t *s, uint64_t a, uint64_t b)
{
	uint64_t w = ld64(s), x = ld64(s + 8), y = ld64(s + 16), z = ld64(s + 24), c;
	fp_pair r;

	a += w;
	b = rotr(b + a + z, 21);
	c = a;
	a += x;
	a += y;
	b += rotr(a, 44);
	r.lo = a + z;
	r.hi = b + c;
	return r;
}

uint64_t sr_fingerprint64(const void *data, size_t len)
{
	const uint8_t *s = data, *end, *last64;
	const uint64_t seed = 81;
	uint64_t x, y, z, mul, t;
	fp_pair v = {0, 0}, w = {0, 0};

	if (len <= 16)
		return fp_upto16(s, len);
	if (len <= 32)
		return fp_upto32(s, len);
	if (len <= 64)
		return fp_upto64(s, len);
	x = seed * fp_k2 + ld64(s);
	y = seed * fp_k1 + 113;
	z = shift_mix(y * fp_k2 + 113) * fp_k2;
	/* whole blocks, leaving 1..64 bytes: the tail is the last 64 bytes */
	end = s + ((len - 1) / 64) * 64;
	last64 = s + len - 64;
	do {
		x = rotr(x + y + v.lo + ld64(s + 8), 37) * fp_k1;
		y = rotr(y + v.hi + ld64(s + 48), 42) * fp_k1;
		x ^= w.hi;
		y += v.lo + ld64(s + 40);
		z = rotr(z + w.lo, 33) * fp_k1;
		v = fp_weak32(s, v.hi * fp_k1, x + w.lo);
		w = fp_weak32(s + 32, z + w.hi, y + ld64(s + 16));
		t = z;
		z = x;
		x = t;
		s += 64;
	} while (s != end);
	mul = fp_k1 + ((z & 0xff) << 1);
	s = last64;
	w.lo += (len - 1) & 63;
	v.lo += w.lo;
	w.lo += v.lo;
	x = rotr(x + y + v.lo + ld64(s + 8), 37) * mul;
	y = rotr(y + v.hi + ld64(s + 48), 42) * mul;
	x ^= w.hi * 9;
	y += v.lo * 9 + ld64(s + 40);
	z = rotr(z + w.lo, 33) * mul;
	v = fp_weak32(s, v.hi * mul, x + w.lo);
	w = fp_weak32(s + 32, z + w.hi, y + ld64(s + 16));
	t = z;
	z = x;
	x = t;
	return mix2(mix2(v.lo, w.lo, mul) + shift_mix(y) * fp_k0 + z, mix2(v.hi, w.hi, mul) + x, mul);
}

/* --- the op ---------------------------------------------------------------- */

static bool is_marker(const char *s, size_t len)
{
	return (len == 3 && (!memcmp(s, "<S>", 3) || !memcmp(s, "<E>", 3))) || (len == 7 && !memcmp(s, "<S> <E>", 7));
}

static nn_status srx_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	int32_t n;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 2, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (in->type != NN_STRING)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is %s; ExtractFeatures reads a string tensor",
				   nn_dtype_name(in->type));
	if (in->rank != 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input has rank %d; ExtractFeatures reads a list [N]",
				   in->rank);
	n = in->dims[0] > 0 ? in->dims[0] : 1; /* no n-gram: still one (0, 0) entry */
	if ((st = nn_set_output(g, node, 0, NN_I32, 1, &n, err)) != NN_OK ||
	    (st = nn_set_output(g, node, 1, NN_F32, 1, &n, err)) != NN_OK)
		return st;
	return NN_OK;
}

static nn_status srx_eval(const nn_node *node, nn_exec *ex)
{
	const nn_tensor *in = nn_ex_in(ex, node, 0);
	int32_t *ids = nn_ex_out(ex, node, 0)->data;
	float *weights = nn_ex_out(ex, node, 1)->data;
	int32_t count;
	nn_status st;

	if ((st = nn_string_check(in->data, in->bytes, in->dims[0], ex->err)) != NN_OK)
		return nn_err_prefix(ex->err, "input");
	count = nn_string_count(in->data);
	for (int32_t i = 0; i < count; i++) {
		size_t len, spaces = 0;
		const char *s = nn_string_at(in->data, i, &len);
		if (is_marker(s, len)) {
			ids[i] = 0;
			weights[i] = 0.0f;
			continue;
		}
		for (size_t k = 0; k < len; k++)
			spaces += s[k] == ' ';
		ids[i] = (int32_t)(sr_fingerprint64(s, len) % SR_FEATURE_SPACE);
		weights[i] = (float)(spaces + 1);
	}
	if (count == 0) {
		ids[0] = 0;
		weights[0] = 0.0f;
	}
	return NN_OK;
}

const nn_kernel nn_k_sr_extract_features = {
	.name = "ExtractFeatures",
	.prepare = srx_prepare,
	.eval = srx_eval,
	.free = NULL,
};
