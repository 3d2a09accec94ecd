/* fully_connected_int.c - FULLY_CONNECTED on uint8 and int8 tensors.
 *
 * DESIGN: out[r][u] = clamp(yz + requant(bias[u] + sum_k (x[r][k] - xz) *
 * (w[u][k] - wz))), the input read as [rows, depth] as in the float file.
 * What TFLite's optimized kernels do, which we follow:
 *   uint8  weights per tensor with any zero point; the GEMM goes through
 *          gemmlowp, so requantization is double rounding;
 *   int8   weights int8, per tensor (any zero point: TFLite passes it to the
 *          GEMM as the left-hand zero point) or per output channel (axis
 *          0, zero point 0); an int8 GEMM goes through ruy, whose
 *          requantization is single rounding.
 * The per-tensor multiplier is TFLite's legacy formula (input scale *
 * filter scale rounded to float, then / output scale in double); a
 * per-channel one is (double) in * (double) f[u] / (double) out.
 * No golden model has an integer FULLY_CONNECTED, but the MobileNets end in
 * a 1x1 CONV_2D on one pixel, which TFLite runs through the same GEMM entry
 * with the same single-column shape: those layers reproduce the goldens
 * bit for bit with double rounding for uint8 and single rounding for int8
 * (so TFLite's NEON-only custom GEMV path, which rounds differently, was not
 * in the oracle's build), and this file follows the same rule.
 * Variants: "ref" (plain dot products: the oracle), "avx512vnni" and
 * "avx2" (the packed GEMM of conv_common.h, weights packed at load, input
 * rows read in place - or copied to per-thread scratch when the depth is
 * not a multiple of 4, since the GEMM reads whole groups of 4).  Tasks are cut by
 * shape only (conv_split_make; small layers are one task), so results do
 * not depend on the thread count; all variants give the same bytes.
 */
#include <string.h>

#include "alloc.h"
#include "conv_common.h"
#include "cpu.h"
#include "kernel.h"

#define FCQ_TILE 120		 /* rows per task (a multiple of the kernels' 6 and 4 rows) */
#define FCQ_SMALL_MACS (1 << 16) /* below this many multiply-adds, one task */

struct fc_int {
	bool fast;	  /* packed GEMM, else the reference */
	bool is_signed;	  /* int8 tensors, else uint8 */
	int rows, depth, units;
	int32_t in_zp, w_zp;
	conv_rq rq;	  /* per unit */
	conv_qgemm gemm;  /* fast: packed weights */
	conv_split split; /* row tiles x unit chunks */
};

typedef struct fcq_run {
	const fc_int *q;
	const void *in, *w;
	const int32_t *bias; /* may be NULL */
	void *out;
	nn_exec *ex;
} fcq_run;

static void fcq_task(void *ctx, int task, int thread)
{
	const fcq_run *r = ctx;
	const fc_int *q = r->q;
	const conv_split *s = &q->split;
	int r0 = (task / s->n_chunks) * s->tile, u0 = (task % s->n_chunks) * s->chunk;
	int nr = q->rows - r0 < s->tile ? q->rows - r0 : s->tile;
	int nu = q->units - u0 < s->chunk ? q->units - u0 : s->chunk;

	if (q->fast) {
		const conv_qgemm *gm = &q->gemm;
		uint8_t *scratch = nn_ex_scratch(r->ex, thread), *work = scratch;
		uint8_t *out = (uint8_t *)r->out + (size_t)r0 * q->units;
		const uint8_t *a = (const uint8_t *)r->in + (size_t)r0 * q->depth;
		size_t lda = (size_t)q->depth;

		if (gm->kp != gm->k) { /* rows need kp readable bytes: copy them */
			for (int i = 0; i < nr; i++) {
				memcpy(scratch + (size_t)i * gm->kp, a + (size_t)i * q->depth, (size_t)q->depth);
				memset(scratch + (size_t)i * gm->kp + q->depth, 0, (size_t)(gm->kp - gm->k));
			}
			a = scratch;
			lda = (size_t)gm->kp;
			work = scratch + ((size_t)s->tile * gm->kp + 63) / 64 * 64;
		}
		if (gm->isa == CONV_QG_VNNI)
			conv_qgemm_vnni(gm, a, lda, nr, u0, u0 + nu, out, (size_t)q->units, work);
		else
			conv_qgemm_avx2(gm, a, lda, nr, u0, u0 + nu, out, (size_t)q->units, work);
		return;
	}
	for (int i = r0; i < r0 + nr; i++)
		for (int u = u0; u < u0 + nu; u++) {
			size_t xa = (size_t)i * q->depth, wa = (size_t)u * q->depth;
			uint32_t acc = r->bias ? (uint32_t)r->bias[u] : 0; /* wraps like TFLite's int32 */
			int32_t v;

			if (q->is_signed) {
				const int8_t *x = (const int8_t *)r->in + xa, *w = (const int8_t *)r->w + wa;
				for (int k = 0; k < q->depth; k++)
					acc += (uint32_t)((x[k] - q->in_zp) * (w[k] - q->w_zp));
			} else {
				const uint8_t *x = (const uint8_t *)r->in + xa, *w = (const uint8_t *)r->w + wa;
				for (int k = 0; k < q->depth; k++)
					acc += (uint32_t)((x[k] - q->in_zp) * (w[k] - q->w_zp));
			}
			v = conv_rq_apply(&q->rq, u, (int32_t)acc);
			if (q->is_signed)
				((int8_t *)r->out)[(size_t)i * q->units + u] = (int8_t)v;
			else
				((uint8_t *)r->out)[(size_t)i * q->units + u] = (uint8_t)v;
		}
}

void fully_connected_int_free(fc_int *q)
{
	if (!q)
		return;
	conv_rq_free(&q->rq);
	conv_qgemm_free(&q->gemm);
	nn_free(q);
}

nn_status fully_connected_int_prepare(nn_graph *g, nn_node *node, fc_int **out, nn_err *err)
{
	const nn_tensor *in = nn_in(g, node, 0), *w = nn_in(g, node, 1), *bias = nn_in(g, node, 2);
	fc_int *q;
	int act;
	nn_status st;

	if (w->type != in->type)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "weights type %s with %s input is not supported",
				   nn_dtype_name(w->type), nn_dtype_name(in->type));
	if (w->kind != NN_TENSOR_CONST)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "integer weights computed at run time are not supported");

	q = nn_calloc(1, sizeof(*q));
	if (!q)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	*out = q; /* released by the caller's free, also on failure */
	if ((st = fully_connected_geometry(g, node, in->type, &q->rows, &q->depth, &q->units, &act, err)) !=
		NN_OK ||
	    (st = conv_check_bias_int(node, bias, q->units, err)) != NN_OK)
		return st;
	q->is_signed = in->type == NN_I8;
	if ((st = conv_rq_init(node, in, w, nn_out(g, node, 0), 0, q->units, act, q->is_signed, true, true,
			       &q->rq, err)) != NN_OK)
		return st;
	q->in_zp = (int32_t)in->quant->zero_point[0];
	q->w_zp = w->quant->n == 1 ? (int32_t)w->quant->zero_point[0] : 0;

	q->split = conv_split_make(q->rows, q->units, FCQ_TILE);
	if ((double)q->rows * q->units * q->depth < FCQ_SMALL_MACS)
		q->split = (conv_split){.tile = q->rows, .n_tiles = 1, .chunk = q->units, .n_chunks = 1};
	node->impl = "ref";
	if (!nn_force_reference() && (nn_cpu_avx512vnni() || nn_cpu_avx2())) {
		int isa = nn_cpu_avx512vnni() ? CONV_QG_VNNI : CONV_QG_AVX2;

		if (!conv_qgemm_init(&q->gemm, isa, w->data, q->w_zp, bias ? bias->data : NULL, q->units, q->depth,
				     q->is_signed, q->in_zp, &q->rq))
			return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory packing %dx%d weights",
					   q->units, q->depth);
		node->scratch_bytes = conv_qgemm_work_bytes(&q->gemm, q->split.tile);
		if (q->gemm.kp != q->gemm.k)
			node->scratch_bytes += ((size_t)q->split.tile * q->gemm.kp + 63) / 64 * 64;
		q->fast = true;
		node->impl = isa == CONV_QG_VNNI ? "avx512vnni" : "avx2";
	}
	return NN_OK;
}

nn_status fully_connected_int_eval(const fc_int *q, const nn_node *node, nn_exec *ex)
{
	const nn_tensor *bias = nn_ex_in(ex, node, 2);
	fcq_run r = {
	    .q = q,
	    .in = nn_ex_in(ex, node, 0)->data,
	    .w = nn_ex_in(ex, node, 1)->data,
	    .bias = bias ? bias->data : NULL,
	    .out = nn_ex_out(ex, node, 0)->data,
	    .ex = ex,
	};

	nn_parallel_for(ex, q->split.n_tiles * q->split.n_chunks, fcq_task, &r);
	return NN_OK;
}
