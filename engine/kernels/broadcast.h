/* broadcast.h - what the elementwise ops share: NumPy-style broadcasting of
 * two inputs, the inner loops' shape, and splitting a flat range over threads.
 *
 * DESIGN: TFLite's binary ops (ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE) align
 * the two shapes at their last dimension, pad the shorter one with leading
 * 1s, and require every pair of dimensions to be equal or one of them to be
 * 1 (a pair with a 0 gives 0).  At prepare we reduce any such pair of shapes
 * to a small plan:
 *   - output dimensions of size 1 are dropped;
 *   - neighbouring dimensions where each input is broadcast in the same way
 *     are merged (for a, b in [1,4,4,3] + [3]: [16 rows of a, b fixed] x
 *     [3 of both]; two equal shapes merge into one run; a scalar into one
 *     run with that input fixed);
 *   - each input gets an element stride per merged dimension, 0 where it
 *     is broadcast.
 * The innermost merged dimension is then one of three kinds of run: both
 * inputs advance (VV), a stays on one element (SV), or b does (VS) - an
 * output dimension larger than 1 cannot be broadcast in both inputs.  So
 * each op writes three plain loops per dtype (see BC_DEFINE_BINARY), and
 * the walk over the outer dimensions (an odometer) is shared here.
 * Inner loops get restrict-qualified parameters and are written in blocks
 * of BC_BLOCK elements: GCC's -O2 vectorises a loop only when its trip
 * count is a known multiple of the vector width (the "very cheap" cost
 * model), and the fixed-size block gives it exactly that.
 * A VV run shorter than BC_TILE_MIN elements (MoveNet subtracts a [3]
 * vector from each pixel of its [192,192,3] input) would cost a call per
 * run; there, one input advances by whole rows along the next dimension
 * and the other repeats one row, so prepare asks for per-thread scratch
 * where eval tiles the repeated row tile_rows times, and one call then
 * covers tile_rows rows.  The elements computed are the same.
 * Work is split into flat ranges of the output of BC_TASK_ELEMS elements
 * when the output has more than BC_PARALLEL_MIN elements (8-bit binary ops:
 * BC_PARALLEL_MIN_8, ranges of equal size); ranges depend on
 * the shape only, and every element is computed the same way in any range,
 * so the thread count never changes a result.
 * Quantized (uint8/int8) variants pass their own parameter struct through
 * the `params` pointer of the inner loops: ADD and SUB share TFLite's
 * general 8-bit addition (bc_qadd, below), MUL has bc_qmul, both with
 * AVX2 loops beside the plain C ones (broadcast_avx2.c; ADD/SUB also
 * AVX-512, broadcast_avx512.c); LOGISTIC's 8-bit
 * path is a 256-entry lookup table (bc_lut_*).
 */
#ifndef LITESERVE_ENGINE_KERNELS_BROADCAST_H
#define LITESERVE_ENGINE_KERNELS_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"
#include "quant_math.h"

#define BC_BLOCK 16		    /* elements per fixed-size block of an inner loop */
#define BC_PARALLEL_MIN (64 * 1024) /* outputs up to this many elements run on one thread */
#define BC_TASK_ELEMS (32 * 1024)   /* elements per task above it (a multiple of BC_BLOCK) */
#define BC_PARALLEL_MIN_8 (16 * 1024) /* the same for 8-bit binary ops (bc_binary_tasks) */
#define BC_TASK_ELEMS_8 (16 * 1024)     /* at most about this many elements per 8-bit task */
#define BC_TILE_MIN 32		    /* VV runs shorter than this are tiled (see DESIGN) */
#define BC_TILE_ELEMS 512	    /* about this many elements per tiled call */

/* Kinds of innermost run. */
enum { BC_VV = 0, BC_SV = 1, BC_VS = 2 };

/* Inner loop of a binary op: out[i] = f(a[i or 0], b[i or 0]) for i < n. */
typedef void (*bc_binary_fn)(const void *restrict a, const void *restrict b, void *restrict out, size_t n,
			     const void *restrict params);
/* Inner loop of a unary op: out[i] = f(in[i]) for i < n. */
typedef void (*bc_unary_fn)(const void *restrict in, void *restrict out, size_t n,
			    const void *restrict params);

typedef struct bc_loops {
	bc_binary_fn vv, sv, vs; /* one per kind of innermost run */
} bc_loops;

typedef struct bc_plan {
	int rank;			    /* merged rank, >= 1 */
	int64_t dims[NN_MAX_RANK];	    /* merged output dims, outermost first */
	int64_t sa[NN_MAX_RANK];	    /* element stride of a per merged dim; 0 = broadcast */
	int64_t sb[NN_MAX_RANK];	    /* same for b */
	int64_t count;			    /* output elements (0 = nothing to do) */
	int kind;			    /* BC_VV, BC_SV or BC_VS: the innermost run */
	size_t esize_a, esize_b, esize_out; /* bytes per element */
	int64_t tile_rows;		    /* > 1: short VV rows done tile_rows at a time (below) */
	int tile_b;			    /* the input broadcast along the rows: 1 = b, 0 = a */
} bc_plan;

/* Node data of a binary op (the op embeds it first in its own struct). */
typedef struct bc_binary {
	bc_plan plan;
	bc_binary_fn run;   /* the inner loop for plan.kind */
	const void *params; /* handed to every run; points into the op's data */
} bc_binary;

/* Node data of a unary op. */
typedef struct bc_unary {
	int64_t count; /* elements */
	size_t esize_in, esize_out;
	bc_unary_fn run;
	const void *params;
} bc_unary;

/* Fused-activation clamp of the arithmetic ops, for each dtype. */
typedef struct bc_act {
	float lo, hi;	  /* float32 */
	int32_t ilo, ihi; /* int32 */
} bc_act;

/* TFLite's general 8-bit ADD (SUB negates the second input's multiplier).
 * Each input is offset by its zero point and scaled up by 2^left_shift
 * (20: a difference of two 8-bit values times 2^20 stays below 2^29, so
 * the sum of two rescaled inputs cannot overflow int32), brought to the
 * common scale 2 * max(s_a, s_b) with a multiplier below one, summed, and
 * rescaled to the output - each multiplication with gemmlowp's double
 * rounding (MultiplyByQuantizedMultiplierSmallerThanOneExp).  A rescaled
 * input depends on its byte only, so the plain C loops read it from a
 * 256-entry table made at prepare (the same integers, one multiply per
 * element instead of three); the AVX2 loops compute it. */
typedef struct bc_qadd {
	int32_t off_a, off_b; /* -zero point of each input */
	int32_t mul_a, mul_b; /* Q31 multipliers s_i / (2 max(s_a, s_b)); mul_b < 0 for SUB */
	int shift_a, shift_b; /* their exponents, <= 0 */
	int32_t mul_out;      /* Q31 multiplier 2 max(s_a, s_b) / (2^left_shift s_out) */
	int shift_out;	      /* its exponent, <= 0 (prepare refuses a multiplier >= 1) */
	int32_t off_out;      /* output zero point */
	int32_t lo, hi;	      /* fused activation clamp in the output's integers */
	int left_shift;	      /* 20 for 8-bit types */
	int32_t tab_a[256];   /* rescaled input a by byte (int8 -1 is entry 255) */
	int32_t tab_b[256];   /* same for b */
} bc_qadd;

/* One quantized sum (the formula of bc_qadd's comment). */
static inline int32_t bc_qadd_elem(int32_t x, int32_t y, const bc_qadd *p)
{
	const int32_t s = p->tab_a[(uint8_t)x] + p->tab_b[(uint8_t)y];
	const int32_t r = qm_mul_double(s, p->mul_out, p->shift_out) + p->off_out;

	return r < p->lo ? p->lo : (r > p->hi ? p->hi : r);
}

/* Fills p->tab_a and p->tab_b of an 8-bit type t from the other fields. */
void bc_qadd_tables(bc_qadd *p, nn_dtype t);

/* Loops of the quantized ADD/SUB for t = NN_U8 or NN_I8: the plain C
 * reference (broadcast.c) and the AVX2 ones (broadcast_avx2.c, same bytes).
 * params is the bc_qadd. */
const bc_loops *bc_qadd_loops(nn_dtype t);
const bc_loops *bc_qadd_loops_avx2(nn_dtype t);
const bc_loops *bc_qadd_loops_avx512(nn_dtype t); /* broadcast_avx512.c, same bytes */

/* Chooses the quantized ADD/SUB loops for the node: AVX-512, else AVX2,
 * when the CPU has it and references are not forced; sets node->impl. */
void bc_qadd_choose(nn_node *node, bc_binary *d, nn_dtype t);

/* TFLite's 8-bit MUL, the same in its optimized and reference kernels:
 * (a - za)(b - zb), exact in int32, rescaled by s_a s_b / s_out with
 * gemmlowp's double rounding (MultiplyByQuantizedMultiplier, which allows
 * a multiplier >= 1: a left shift first, wrapping like the hardware), plus
 * the output zero point, clamped. */
typedef struct bc_qmul {
	int32_t off_a, off_b; /* -zero point of each input */
	int32_t mul;	      /* Q31 multiplier of s_a * s_b / s_out */
	int shift;	      /* its exponent (may be > 0) */
	int32_t off_out;      /* output zero point */
	int32_t lo, hi;	      /* fused activation clamp in the output's integers */
} bc_qmul;

static inline int32_t bc_qmul_elem(int32_t x, int32_t y, const bc_qmul *p)
{
	const int32_t r = qm_mul_double((x + p->off_a) * (y + p->off_b), p->mul, p->shift) + p->off_out;
	return r < p->lo ? p->lo : (r > p->hi ? p->hi : r);
}

/* The MUL loops as for ADD (params is the bc_qmul), and their choice. */
const bc_loops *bc_qmul_loops(nn_dtype t);
const bc_loops *bc_qmul_loops_avx2(nn_dtype t);
void bc_qmul_choose(nn_node *node, bc_binary *d, nn_dtype t);

/* Prepare of a quantized ADD (sign = 1) or SUB (sign = -1) after
 * bc_binary_prepare: validates the three tensors' quantization and fills *p
 * with the multipliers and the clamp of fused activation `act`. */
nn_status bc_qadd_prepare(nn_graph *g, nn_node *node, int act, int sign, bc_qadd *p, nn_err *err);

/* ADD and SUB: one prepare for both, since only the element loops and the
 * second input's sign differ.  node->data becomes a bc_addsub (freed with
 * nn_free, also when prepare fails); activation = field 0 of the options
 * table `options_type` (AddOptions / SubOptions). */
typedef struct bc_addsub {
	bc_binary bc; /* first: bc_binary_eval reads node->data as a bc_binary */
	bc_act act;   /* float32/int32: the clamp, read by the loops through bc.params */
	bc_qadd q;    /* uint8/int8: multipliers, offsets and clamp (bc.params points here) */
} bc_addsub;
nn_status bc_addsub_prepare(nn_graph *g, nn_node *node, int options_type, int sign, const bc_loops *f32_loops,
			    const bc_loops *i32_loops, nn_err *err);

/* Scale and zero point of a per-tensor quantized 8-bit tensor, validated by
 * qm_check_quant (scale > 0 and finite, zero point in the type's range); a
 * per-axis quantization is refused (no elementwise op takes one). */
nn_status bc_quant_of(const nn_node *node, const nn_tensor *t, const char *what, float *scale, int32_t *zp,
		      nn_err *err);

/* A 256-entry table from every 8-bit input value to its output, indexed by
 * the input's byte (so int8 -1 is entry 255): TFLite's optimized LOGISTIC
 * and TANH for uint8/int8.  Entry q is, in float arithmetic as TFLite's
 * PopulateLookupTable computes it,
 *   clamp((int32)(round(f(s_in * (q - zp_in)) * (1 / s_out)) + zp_out), qmin, qmax)
 * with round() half away from zero. */
void bc_lut_build(const nn_tensor *in, const nn_tensor *out, float (*f)(float), uint8_t table[256]);

/* The unary loop of a table: out[i] = table[byte of in[i]]; params is the
 * uint8_t[256] table. */
void bc_lut_run(const void *restrict in, void *restrict out, size_t n, const void *restrict params);

/* Bit of dtype t in a mask of accepted types. */
#define BC_TYPE(t) (1u << (unsigned)(t))

/* The common part of a binary op's prepare: 2 inputs, 1 output, both
 * inputs of one type that is in `types` (else NN_ERR_UNSUPPORTED naming
 * it), options of union type `options_type` when present (0: any), and
 * broadcastable shapes.  Sets output 0 (type of the inputs, broadcast
 * shape), fills *plan and, for tiled plans, node->scratch_bytes.  Leaves
 * d->run to the caller. */
nn_status bc_binary_prepare(nn_graph *g, nn_node *node, unsigned types, int options_type, bc_binary *d,
			    nn_err *err);

/* Picks the loop matching d->plan.kind. */
static inline void bc_binary_choose(bc_binary *d, const bc_loops *loops)
{
	d->run = d->plan.kind == BC_SV ? loops->sv : d->plan.kind == BC_VS ? loops->vs : loops->vv;
}

/* Runs a prepared binary op (node->data starts with a bc_binary). */
nn_status bc_binary_eval(const nn_node *node, nn_exec *ex);

/* The common part of a unary op's prepare: 1 input, 1 output, input type in
 * `types`; output 0 gets the input's type and shape. */
nn_status bc_unary_prepare(nn_graph *g, nn_node *node, unsigned types, bc_unary *d, nn_err *err);

/* Runs a prepared unary op (node->data starts with a bc_unary). */
nn_status bc_unary_eval(const nn_node *node, nn_exec *ex);

/* Broadcast shape of two shapes; false when a pair of dims is neither equal
 * nor has a 1.  out_dims holds NN_MAX_RANK entries. */
bool bc_shape(int ra, const int32_t *da, int rb, const int32_t *db, int *out_rank, int32_t *out_dims);

/* Plan for a (ra, da) op b (rb, db) giving (ro, dout) = bc_shape of both. */
void bc_plan_init(bc_plan *p, int ra, const int32_t *da, int rb, const int32_t *db, int ro,
		  const int32_t *dout);

/* Clamp range of a fused activation for int32 outputs (TFLite clamps int32
 * ADD/SUB/MUL too: NONE is the full range). */
nn_status bc_act_range_i32(const nn_node *node, int act, int32_t *lo, int32_t *hi, nn_err *err);

static inline int32_t bc_clampi(int32_t x, int32_t lo, int32_t hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* Defines three static inner loops name_vv, name_sv, name_vs computing
 * out[i] = EXPR(x, y, p) for elements x of a and y of b of type T, where p
 * is a local copy of the parameter struct P (a copy, so stores to out cannot
 * alias it and the compiler keeps it in registers). */
#define BC_DEFINE_BINARY(name, T, P, EXPR)                                                                   \
	static void name##_vv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, *b = b_;                                                                    \
		T *o = o_;                                                                                   \
		const P p = *(const P *)p_;                                                                  \
		size_t i = 0;                                                                                \
		(void)p;                                                                                     \
		for (; i + BC_BLOCK <= n; i += BC_BLOCK)                                                     \
			for (size_t j = 0; j < BC_BLOCK; j++)                                                \
				o[i + j] = EXPR(a[i + j], b[i + j], p);                                      \
		for (; i < n; i++)                                                                           \
			o[i] = EXPR(a[i], b[i], p);                                                          \
	}                                                                                                    \
	static void name##_sv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T x = *(const T *)a_;                                                                  \
		const T *b = b_;                                                                             \
		T *o = o_;                                                                                   \
		const P p = *(const P *)p_;                                                                  \
		size_t i = 0;                                                                                \
		(void)p;                                                                                     \
		for (; i + BC_BLOCK <= n; i += BC_BLOCK)                                                     \
			for (size_t j = 0; j < BC_BLOCK; j++)                                                \
				o[i + j] = EXPR(x, b[i + j], p);                                             \
		for (; i < n; i++)                                                                           \
			o[i] = EXPR(x, b[i], p);                                                             \
	}                                                                                                    \
	static void name##_vs(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_;                                                                             \
		const T y = *(const T *)b_;                                                                  \
		T *o = o_;                                                                                   \
		const P p = *(const P *)p_;                                                                  \
		size_t i = 0;                                                                                \
		(void)p;                                                                                     \
		for (; i + BC_BLOCK <= n; i += BC_BLOCK)                                                     \
			for (size_t j = 0; j < BC_BLOCK; j++)                                                \
				o[i + j] = EXPR(a[i + j], y, p);                                             \
		for (; i < n; i++)                                                                           \
			o[i] = EXPR(a[i], y, p);                                                             \
	}                                                                                                    \
	static const bc_loops name##_loops = {name##_vv, name##_sv, name##_vs};

/* Defines a static unary inner loop `name`: out[i] = EXPR(x) for elements
 * x of type T in and TO out (the parameter pointer is not read; variants
 * that need parameters write their own loop). */
#define BC_DEFINE_UNARY(name, T, TO, EXPR)                                                                   \
	static void name(const void *restrict in_, void *restrict o_, size_t n, const void *restrict p_)     \
	{                                                                                                    \
		const T *in = in_;                                                                           \
		TO *o = o_;                                                                                  \
		size_t i = 0;                                                                                \
		(void)p_;                                                                                    \
		for (; i + BC_BLOCK <= n; i += BC_BLOCK)                                                     \
			for (size_t j = 0; j < BC_BLOCK; j++)                                                \
				o[i + j] = EXPR(in[i + j]);                                                  \
		for (; i < n; i++)                                                                           \
			o[i] = EXPR(in[i]);                                                                  \
	}

#endif
