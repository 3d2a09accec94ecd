/* broadcast.c - shared prepare and eval of the elementwise ops (broadcast.h).
 *
 * DESIGN: prepare turns two shapes into a bc_plan (merged dimensions,
 * per-input strides, kind of innermost run); eval walks a flat range of the
 * output with an odometer over the outer merged dimensions and calls the
 * op's inner loop once per stretch of the innermost dimension.  A range may
 * start and end inside a stretch, which is how large single-run outputs
 * (equal shapes, a scalar) are still split over threads.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "broadcast.h"
#include "cpu.h"

bool bc_shape(int ra, const int32_t *da, int rb, const int32_t *db, int *out_rank, int32_t *out_dims)
{
	int ro = ra > rb ? ra : rb;

	for (int i = 0; i < ro; i++) {
		/* i counts from the last dimension; missing leading dims are 1 */
		int32_t x = i < ra ? da[ra - 1 - i] : 1;
		int32_t y = i < rb ? db[rb - 1 - i] : 1;
		if (x != y && x != 1 && y != 1)
			return false;
		out_dims[ro - 1 - i] = (x == 0 || y == 0) ? 0 : (x > y ? x : y);
	}
	*out_rank = ro;
	return true;
}

void bc_plan_init(bc_plan *p, int ra, const int32_t *da, int rb, const int32_t *db, int ro,
		  const int32_t *dout)
{
	int64_t dims[NN_MAX_RANK];
	bool ba[NN_MAX_RANK], bb[NN_MAX_RANK]; /* input is broadcast along the merged dim */
	int r = 0;
	int64_t run_a = 1, run_b = 1;

	p->count = 1;
	for (int i = 0; i < ro; i++)
		p->count *= dout[i];
	p->rank = 1;
	p->dims[0] = p->count;
	p->sa[0] = p->sb[0] = 1;
	p->kind = BC_VV;
	if (p->count == 0)
		return;
	for (int i = 0; i < ro; i++) {
		int32_t x = i - (ro - ra) >= 0 ? da[i - (ro - ra)] : 1;
		int32_t y = i - (ro - rb) >= 0 ? db[i - (ro - rb)] : 1;
		bool xa = x == 1 && dout[i] != 1, xb = y == 1 && dout[i] != 1;

		if (dout[i] == 1)
			continue; /* a size-1 output dim moves neither input */
		if (r > 0 && ba[r - 1] == xa && bb[r - 1] == xb) {
			dims[r - 1] *= dout[i];
			continue;
		}
		dims[r] = dout[i];
		ba[r] = xa;
		bb[r] = xb;
		r++;
	}
	if (r == 0) { /* every dim is 1: one element */
		dims[0] = 1;
		ba[0] = bb[0] = false;
		r = 1;
	}
	p->rank = r;
	for (int i = r - 1; i >= 0; i--) {
		p->dims[i] = dims[i];
		p->sa[i] = ba[i] ? 0 : run_a;
		p->sb[i] = bb[i] ? 0 : run_b;
		if (!ba[i])
			run_a *= dims[i];
		if (!bb[i])
			run_b *= dims[i];
	}
	p->kind = ba[r - 1] ? BC_SV : bb[r - 1] ? BC_VS : BC_VV;
}

nn_status bc_act_range_i32(const nn_node *node, int act, int32_t *lo, int32_t *hi, nn_err *err)
{
	switch (act) {
	case NN_ACT_NONE:
		*lo = INT32_MIN;
		*hi = INT32_MAX;
		return NN_OK;
	case NN_ACT_RELU:
		*lo = 0;
		*hi = INT32_MAX;
		return NN_OK;
	case NN_ACT_RELU_N1_TO_1:
		*lo = -1;
		*hi = 1;
		return NN_OK;
	case NN_ACT_RELU6:
		*lo = 0;
		*hi = 6;
		return NN_OK;
	default:
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "fused activation %d is not supported",
				   act);
	}
}

static void shape_str(char *buf, size_t len, const nn_tensor *t)
{
	size_t k = 0;

	k += (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < t->rank && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "", t->dims[i]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
}

static void bc_plan_tile(bc_plan *p);

nn_status bc_binary_prepare(nn_graph *g, nn_node *node, unsigned types, int options_type, bc_binary *d,
			    nn_err *err)
{
	const nn_tensor *a, *b;
	int32_t dout[NN_MAX_RANK];
	int ro;
	nn_status st;

	if ((st = nn_check_arity(node, 2, 2, 1, err)) != NN_OK)
		return st;
	a = nn_in(g, node, 0);
	b = nn_in(g, node, 1);
	if (a->type != b->type)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "inputs have different types (%s and %s)",
				   nn_dtype_name(a->type), nn_dtype_name(b->type));
	if ((unsigned)a->type >= 32 || !(types & BC_TYPE(a->type)))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(a->type));
	if (options_type && node->op->has_options && node->op->options_type != options_type)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "options are of type %d, expected %d",
				   node->op->options_type, options_type);
	if (!bc_shape(a->rank, a->dims, b->rank, b->dims, &ro, dout)) {
		char sa[96], sb[96];
		shape_str(sa, sizeof(sa), a);
		shape_str(sb, sizeof(sb), b);
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "input shapes %s and %s are not broadcastable", sa, sb);
	}
	if ((st = nn_set_output(g, node, 0, a->type, ro, dout, err)) != NN_OK)
		return st;
	bc_plan_init(&d->plan, a->rank, a->dims, b->rank, b->dims, ro, dout);
	d->plan.esize_a = d->plan.esize_b = d->plan.esize_out = nn_dtype_size(a->type);
	bc_plan_tile(&d->plan);
	if (d->plan.tile_rows > 1)
		node->scratch_bytes =
		    (size_t)(d->plan.tile_rows * d->plan.dims[d->plan.rank - 1]) * d->plan.esize_a;
	return NN_OK;
}

/* Decides the tiling of short VV runs (broadcast.h).  With kind VV, the
 * innermost merged dim advances both inputs, so along the next one exactly
 * one input is broadcast (else the two dims would have merged) and the
 * other moves by whole contiguous rows. */
static void bc_plan_tile(bc_plan *p)
{
	const int r = p->rank;
	int64_t n, k;

	p->tile_rows = 0;
	if (r < 2 || p->kind != BC_VV || p->count == 0)
		return;
	n = p->dims[r - 1];
	if (n >= BC_TILE_MIN)
		return;
	k = (BC_TILE_ELEMS + n - 1) / n;
	p->tile_rows = k < p->dims[r - 2] ? k : p->dims[r - 2];
	p->tile_b = p->sb[r - 2] == 0;
}

/* Output elements [s, e) of a binary op; scratch is the thread's
 * (used by tiled plans). */
static void bc_binary_range(const bc_binary *d, const char *a, const char *b, char *out, int64_t s, int64_t e,
			    void *scratch)
{
	const bc_plan *p = &d->plan;
	const int r = p->rank;
	const int64_t inner = p->dims[r - 1], ia = p->sa[r - 1], ib = p->sb[r - 1];
	int64_t idx[NN_MAX_RANK], oa = 0, ob = 0, row = s / inner, col = s % inner;
	const char *tiled = NULL; /* the row now tiled in scratch, if any */

	for (int i = r - 2; i >= 0; i--) {
		idx[i] = row % p->dims[i];
		row /= p->dims[i];
		oa += idx[i] * p->sa[i];
		ob += idx[i] * p->sb[i];
	}
	while (s < e) {
		int64_t n = inner - col < e - s ? inner - col : e - s, rows = 1;
		const char *pa = a + (size_t)(oa + col * ia) * p->esize_a;
		const char *pb = b + (size_t)(ob + col * ib) * p->esize_b;

		if (p->tile_rows > 1 && col == 0) {
			/* whole rows left in this dim and in the range, at most tile_rows */
			int64_t m = p->dims[r - 2] - idx[r - 2];
			m = m < p->tile_rows ? m : p->tile_rows;
			m = m < (e - s) / inner ? m : (e - s) / inner;
			if (m > 1) {
				const char *src = p->tile_b ? pb : pa;
				const size_t row_bytes = (size_t)inner * p->esize_a;

				if (tiled != src) { /* the repeated row changed: tile it again */
					for (int64_t k = 0; k < p->tile_rows; k++)
						memcpy((char *)scratch + (size_t)k * row_bytes, src,
						       row_bytes);
					tiled = src;
				}
				if (p->tile_b)
					pb = scratch;
				else
					pa = scratch;
				rows = m;
				n = m * inner;
			}
		}
		d->run(pa, pb, out + (size_t)s * p->esize_out, (size_t)n, d->params);
		s += n;
		col = 0;
		for (int64_t k = 0; k < rows; k++)
			for (int i = r - 2; i >= 0; i--) { /* next row: odometer over the outer dims */
				oa += p->sa[i];
				ob += p->sb[i];
				if (++idx[i] < p->dims[i])
					break;
				oa -= p->sa[i] * p->dims[i];
				ob -= p->sb[i] * p->dims[i];
				idx[i] = 0;
			}
	}
}

typedef struct bc_ctx {
	const nn_node *node;
	const void *a, *b; /* a is the only input of a unary op */
	void *out;
	int64_t count;
	nn_exec *ex;	 /* for per-thread scratch */
	int64_t chunk; /* binary: elements per task */
} bc_ctx;

static void bc_binary_task(void *ctx_, int task, int thread)
{
	const bc_ctx *c = ctx_;
	int64_t s = (int64_t)task * c->chunk, e = s + c->chunk;

	bc_binary_range(c->node->data, c->a, c->b, c->out, s, e < c->count ? e : c->count,
			nn_ex_scratch(c->ex, thread));
}

static int bc_n_tasks(int64_t count)
{
	return count > BC_PARALLEL_MIN ? (int)((count + BC_TASK_ELEMS - 1) / BC_TASK_ELEMS) : 1;
}

/* Tasks of a binary op: BC_TASK_ELEMS each; 8-bit ops (the quantized
 * arithmetic costs several times a float add per element) from
 * BC_PARALLEL_MIN_8 elements on, in an even number of equal ranges of at
 * most about BC_TASK_ELEMS_8, so that V2's 28x28x32 ADD gives two threads even halves. */
static int bc_binary_tasks(const bc_plan *p, int64_t *chunk)
{
	int64_t n;

	*chunk = BC_TASK_ELEMS;
	if (p->esize_a != 1 || p->esize_out != 1)
		return bc_n_tasks(p->count);
	if (p->count <= BC_PARALLEL_MIN_8)
		return 1;
	n = (p->count + BC_TASK_ELEMS_8 - 1) / BC_TASK_ELEMS_8;
	n += n % 2; /* an even count keeps two threads even */
	*chunk = ((p->count + n - 1) / n + BC_BLOCK - 1) / BC_BLOCK * BC_BLOCK;
	return (int)((p->count + *chunk - 1) / *chunk);
}

nn_status bc_binary_eval(const nn_node *node, nn_exec *ex)
{
	const bc_binary *d = node->data;
	bc_ctx c = {node,
		    nn_ex_in(ex, node, 0)->data,
		    nn_ex_in(ex, node, 1)->data,
		    nn_ex_out(ex, node, 0)->data,
		    d->plan.count,
		    ex,
		    0};
	int n_tasks = bc_binary_tasks(&d->plan, &c.chunk);

	if (d->plan.count == 0)
		return NN_OK;
	if (n_tasks == 1)
		bc_binary_range(d, c.a, c.b, c.out, 0, d->plan.count, nn_ex_scratch(ex, 0));
	else
		nn_parallel_for(ex, n_tasks, bc_binary_task, &c);
	return NN_OK;
}

nn_status bc_unary_prepare(nn_graph *g, nn_node *node, unsigned types, bc_unary *d, nn_err *err)
{
	const nn_tensor *in;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if ((unsigned)in->type >= 32 || !(types & BC_TYPE(in->type)))
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "input type %s is not supported yet",
				   nn_dtype_name(in->type));
	if ((st = nn_set_output(g, node, 0, in->type, in->rank, in->dims, err)) != NN_OK)
		return st;
	d->count = nn_tensor_count(in);
	d->esize_in = d->esize_out = nn_dtype_size(in->type);
	return NN_OK;
}

static void bc_unary_task(void *ctx_, int task, int thread)
{
	const bc_ctx *c = ctx_;
	const bc_unary *d = c->node->data;
	int64_t s = (int64_t)task * BC_TASK_ELEMS, e = s + BC_TASK_ELEMS;

	(void)thread;
	if (e > c->count)
		e = c->count;
	d->run((const char *)c->a + (size_t)s * d->esize_in, (char *)c->out + (size_t)s * d->esize_out,
	       (size_t)(e - s), d->params);
}

nn_status bc_unary_eval(const nn_node *node, nn_exec *ex)
{
	const bc_unary *d = node->data;
	bc_ctx c = {node, nn_ex_in(ex, node, 0)->data, NULL, nn_ex_out(ex, node, 0)->data, d->count, ex, 0};
	int n_tasks = bc_n_tasks(d->count);

	if (d->count == 0)
		return NN_OK;
	if (n_tasks == 1)
		d->run(c.a, c.out, (size_t)d->count, d->params);
	else
		nn_parallel_for(ex, n_tasks, bc_unary_task, &c);
	return NN_OK;
}

/* --- quantized helpers ------------------------------------------------------ */

nn_status bc_quant_of(const nn_node *node, const nn_tensor *t, const char *what, float *scale, int32_t *zp,
		      nn_err *err)
{
	nn_status st = qm_check_quant(node, t, what, false, err);

	if (st != NN_OK)
		return st;
	if (t->quant->n != 1)
		return nn_node_err(
		    node, err, NN_ERR_UNSUPPORTED,
		    "%s '%s' is quantized per axis (%d scales); only per-tensor quantization is "
		    "supported here",
		    what, t->name, t->quant->n);
	*scale = t->quant->scale[0];
	*zp = (int32_t)t->quant->zero_point[0];
	return NN_OK;
}

nn_status bc_qadd_prepare(nn_graph *g, nn_node *node, int act, int sign, bc_qadd *p, nn_err *err)
{
	const nn_tensor *a = nn_in(g, node, 0), *b = nn_in(g, node, 1), *out = nn_out(g, node, 0);
	float sa, sb, so;
	int32_t za, zb, zo, qmin, qmax;
	double twice_max, ra, rb, ro;
	nn_status st;

	if ((st = bc_quant_of(node, a, "input 0", &sa, &za, err)) != NN_OK ||
	    (st = bc_quant_of(node, b, "input 1", &sb, &zb, err)) != NN_OK ||
	    (st = bc_quant_of(node, out, "output", &so, &zo, err)) != NN_OK)
		return st;
	qm_dtype_range(out->type, &qmin, &qmax);
	p->off_a = -za;
	p->off_b = -zb;
	p->off_out = zo;
	p->left_shift = 20;
	/* TFLite computes these in double from the float scales: 2 * max is
	 * exact, the quotients are rounded once each */
	twice_max = 2.0 * (double)(sa > sb ? sa : sb);
	ra = (double)sa / twice_max;
	rb = (double)sb / twice_max;
	ro = twice_max / ((double)(1 << p->left_shift) * (double)so);
	qm_quantize_multiplier(ra, &p->mul_a, &p->shift_a);
	qm_quantize_multiplier(rb, &p->mul_b, &p->shift_b);
	if (!qm_quantize_multiplier(ro, &p->mul_out, &p->shift_out) || p->shift_out > 0)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "output scale %g is too small for input scales %g and %g (rescaling "
				   "multiplier %g must be below 1)",
				   (double)so, (double)sa, (double)sb, ro);
	p->mul_b *= sign;
	bc_qadd_tables(p, out->type);
	return qm_activation_range(node, act, so, zo, qmin, qmax, &p->lo, &p->hi, err);
}

void bc_qadd_tables(bc_qadd *p, nn_dtype t)
{
	int32_t qmin, qmax;

	qm_dtype_range(t, &qmin, &qmax);
	for (int32_t q = qmin; q <= qmax; q++) {
		p->tab_a[(uint8_t)q] =
		    qm_mul_double((q + p->off_a) * (1 << p->left_shift), p->mul_a, p->shift_a);
		p->tab_b[(uint8_t)q] =
		    qm_mul_double((q + p->off_b) * (1 << p->left_shift), p->mul_b, p->shift_b);
	}
}

/* The ADD/SUB loops take the parameters by pointer (BC_DEFINE_BINARY's
 * copy would move the 2 KB of tables on every call). */
#define QADD_LOOPS(name, T)                                                                                  \
	static void name##_vv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, *b = b_;                                                                    \
		T *o = o_;                                                                                   \
		for (size_t i = 0; i < n; i++)                                                               \
			o[i] = (T)bc_qadd_elem(a[i], b[i], p_);                                              \
	}                                                                                                    \
	static void name##_sv(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T x = *(const T *)a_, *b = b_;                                                         \
		T *o = o_;                                                                                   \
		for (size_t i = 0; i < n; i++)                                                               \
			o[i] = (T)bc_qadd_elem(x, b[i], p_);                                                 \
	}                                                                                                    \
	static void name##_vs(const void *restrict a_, const void *restrict b_, void *restrict o_, size_t n, \
			      const void *restrict p_)                                                       \
	{                                                                                                    \
		const T *a = a_, y = *(const T *)b_;                                                         \
		T *o = o_;                                                                                   \
		for (size_t i = 0; i < n; i++)                                                               \
			o[i] = (T)bc_qadd_elem(a[i], y, p_);                                                 \
	}                                                                                                    \
	static const bc_loops name##_loops = {name##_vv, name##_sv, name##_vs};
QADD_LOOPS(qadd_u8, uint8_t)
QADD_LOOPS(qadd_i8, int8_t)

const bc_loops *bc_qadd_loops(nn_dtype t)
{
	return t == NN_U8 ? &qadd_u8_loops : &qadd_i8_loops;
}

void bc_qadd_choose(nn_node *node, bc_binary *d, nn_dtype t)
{
	const bool fast = nn_cpu_avx2() && !nn_force_reference();

	if (fast && nn_cpu_avx512()) {
		bc_binary_choose(d, bc_qadd_loops_avx512(t));
		node->impl = "avx512";
		return;
	}
	bc_binary_choose(d, fast ? bc_qadd_loops_avx2(t) : bc_qadd_loops(t));
	node->impl = fast ? "avx2" : "ref";
}

#define BC_QMUL_U8(x, y, p) ((uint8_t)bc_qmul_elem((x), (y), &(p)))
BC_DEFINE_BINARY(qmul_u8, uint8_t, bc_qmul, BC_QMUL_U8)
#define BC_QMUL_I8(x, y, p) ((int8_t)bc_qmul_elem((x), (y), &(p)))
BC_DEFINE_BINARY(qmul_i8, int8_t, bc_qmul, BC_QMUL_I8)

const bc_loops *bc_qmul_loops(nn_dtype t)
{
	return t == NN_U8 ? &qmul_u8_loops : &qmul_i8_loops;
}

void bc_qmul_choose(nn_node *node, bc_binary *d, nn_dtype t)
{
	const bool fast = nn_cpu_avx2() && !nn_force_reference();

	bc_binary_choose(d, fast ? bc_qmul_loops_avx2(t) : bc_qmul_loops(t));
	node->impl = fast ? "avx2" : "ref";
}

void bc_lut_build(const nn_tensor *in, const nn_tensor *out, float (*f)(float), uint8_t table[256])
{
	const float s_in = in->quant->scale[0], s_out = out->quant->scale[0];
	const int32_t z_in = (int32_t)in->quant->zero_point[0], z_out = (int32_t)out->quant->zero_point[0];
	const float inverse_scale = 1.0f / s_out;
	int32_t qmin, qmax;

	qm_dtype_range(in->type, &qmin, &qmax);
	for (int32_t q = qmin; q <= qmax; q++) {
		/* every step in float, as TFLite's PopulateLookupTable */
		const float x = s_in * (float)(q - z_in);
		const float y = f(x);
		const float r = roundf(y * inverse_scale) + (float)z_out;
		/* r is a whole number: clamping before the conversion gives
		 * TFLite's convert-then-clamp result and keeps an infinite r
		 * (a tiny output scale) from being converted; a NaN (not
		 * produced by our functions) would go to qmin */
		const int32_t v = r >= (float)qmax ? qmax : (r > (float)qmin ? (int32_t)r : qmin);

		table[(uint8_t)q] = (uint8_t)v;
	}
}

void bc_lut_run(const void *restrict in_, void *restrict out_, size_t n, const void *restrict params)
{
	const uint8_t *in = in_;
	uint8_t *out = out_;
	const uint8_t *table = params;

	for (size_t i = 0; i < n; i++)
		out[i] = table[in[i]];
}

nn_status bc_addsub_prepare(nn_graph *g, nn_node *node, int options_type, int sign, const bc_loops *f32_loops,
			    const bc_loops *i32_loops, nn_err *err)
{
	bc_addsub *d = nn_calloc(1, sizeof(*d));
	unsigned types;
	int act;
	nn_status st;

	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d; /* released by the op's free, also when prepare fails */
	d->bc.params = &d->act;
	types = BC_TYPE(NN_F32) | BC_TYPE(NN_I32) | BC_TYPE(NN_U8) | BC_TYPE(NN_I8);
	if ((st = bc_binary_prepare(g, node, types, options_type, &d->bc, err)) != NN_OK)
		return st;
	act = nn_opt_i8(node, 0, NN_ACT_NONE); /* fused_activation_function is field 0 of both tables */
	switch (nn_out(g, node, 0)->type) {
	case NN_F32:
		if ((st = nn_activation_range_f32(node, act, &d->act.lo, &d->act.hi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, f32_loops);
		break;
	case NN_I32:
		if ((st = bc_act_range_i32(node, act, &d->act.ilo, &d->act.ihi, err)) != NN_OK)
			return st;
		bc_binary_choose(&d->bc, i32_loops);
		break;
	case NN_U8:
	case NN_I8:
		if ((st = bc_qadd_prepare(g, node, act, sign, &d->q, err)) != NN_OK)
			return st;
		d->bc.params = &d->q;
		bc_qadd_choose(node, &d->bc, nn_out(g, node, 0)->type);
		return NN_OK;
	default: /* bc_binary_prepare accepted only the types above */
		return nn_node_err(node, err, NN_ERR_INTERNAL, "no loop for type %s",
				   nn_dtype_name(nn_out(g, node, 0)->type));
	}
	node->impl = "ref";
	return NN_OK;
}
