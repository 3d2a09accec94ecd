/* detection_postprocess.c - TFLite_Detection_PostProcess (custom op): SSD
 * box decoding and non-maximum suppression.
 *
 * DESIGN: TFLite's custom kernel (tensorflow/lite/kernels/
 * detection_postprocess.cc) is the oracle; we follow its arithmetic step by
 * step.  Inputs: box encodings [1,N,>=4] (ycenter,xcenter,h,w offsets),
 * class predictions [1,N,C] with C = num_classes (+1 when a background
 * column 0 leads, which is skipped), anchors [N,4] (ycenter,xcenter,h,w).
 * 8-bit inputs are dequantized like TFLite ((float)q - zp) * scale; the
 * anchors, constant in every detector we know, are dequantized once at
 * prepare (a non-constant anchor tensor is read at eval instead).
 * Decoding computes the centre and half sizes in double and rounds to
 * float once, as the current TFLite does.  Options come from the op's
 * FlexBuffer at prepare; every required key must be there (TFLite would
 * silently read 0).
 * Fast NMS (default): per anchor the top max_classes_per_detection classes
 * (argmax when 1, first maximum wins), NMS over the anchors' best scores,
 * each selected anchor emits its top classes.  Regular NMS (use_regular_nms):
 * NMS per class (at most detections_per_class each), merged into the best
 * max_detections over all classes.  NMS keeps scores >= the score threshold,
 * sorts them by score descending with ties in index order (TFLite uses
 * std::stable_sort here, so the order is defined), and drops a candidate
 * whose IoU with a kept box is > the IoU threshold.  Where TFLite uses
 * std::partial_sort (top-k classes when k > 1, the regular-NMS merge) the
 * tie order is library-defined; we keep index order there too.
 * Output slots past the detection count are zeroed (TFLite's fast path
 * leaves them unwritten).  Boxes with ymin > ymax or xmin > xmax (negative
 * anchor sizes) fail at eval as in TFLite.
 * Scratch (one thread; eval never allocates): decoded boxes, dequantized
 * scores, and the NMS work arrays, all sized at prepare from N and C.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "flexbuf.h"
#include "kernel.h"

#define DP_MAX_OUT (1 << 20) /* max_detections * max_classes_per_detection */

typedef struct dp_data {
	int max_detections, max_classes_per_detection, detections_per_class, num_classes;
	float score_threshold, iou_threshold;
	float y_scale, x_scale, h_scale, w_scale;
	bool regular;
	int n;                 /* anchors (boxes) */
	int box_stride;        /* floats per box encoding (>= 4) */
	int c;                 /* class columns incl. background */
	int label_offset;      /* c - num_classes: 0 or 1 */
	int top_k;             /* min(max_classes_per_detection, num_classes) */
	int n_out;             /* max_detections * max_classes_per_detection */
	nn_dtype box_type, class_type, anchor_type;
	float box_scale, class_scale, anchor_scale; /* 8-bit inputs */
	int32_t box_zp, class_zp, anchor_zp;
	float *anchors;        /* [n][4] dequantized at prepare, or NULL */
	/* scratch layout: byte offsets in the per-thread scratch */
	size_t off_boxes, off_scores, off_work_f, off_keep_idx, off_keep_sc, off_sorted, off_tmp, off_active,
		off_selected, off_topcls, off_clsidx, off_clstmp, off_merge_idx, off_merge_sc, off_merge_tmp;
} dp_data;

/* Scratch views for one eval. */
typedef struct dp_work {
	const dp_data *d;
	float *boxes;     /* [n][4] ymin, xmin, ymax, xmax */
	const float *scores; /* [n][c] */
	float *work_f;    /* [n]: max scores (fast) or one class's scores (regular) */
	int *keep_idx;    /* [n] */
	float *keep_sc;   /* [n] */
	int *sorted;      /* [n] */
	int *tmp;         /* [max(n, merge)]: merge-sort buffer */
	uint8_t *active;  /* [n] */
	int *selected;    /* [n] */
	int *topcls;      /* [n][top_k] (fast) */
	int *clsidx, *clstmp; /* [num_classes] (fast, top_k > 1) */
	int *merge_idx;   /* [n + max_detections] (regular) */
	float *merge_sc;  /* [n + max_detections] */
	int *merge_tmp;   /* [n + max_detections] */
} dp_work;

/* --- sorting ------------------------------------------------------------ */

/* Stable sort of IDX[0..n) by VALUES[idx] descending (bottom-up merge sort
 * with TMP of n ints): equal values keep their order, like std::stable_sort. */
static void dp_argsort_desc(const float *values, int *idx, int *tmp, int n)
{
	int *src = idx, *dst = tmp;
	for (int width = 1; width < n; width *= 2) {
		for (int lo = 0; lo < n; lo += 2 * width) {
			int mid = lo + width < n ? lo + width : n;
			int hi = lo + 2 * width < n ? lo + 2 * width : n;
			int a = lo, b = mid, o = lo;
			while (a < mid && b < hi) {
				/* take from the right run only when strictly greater */
				if (values[src[b]] > values[src[a]])
					dst[o++] = src[b++];
				else
					dst[o++] = src[a++];
			}
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		int *t = src;
		src = dst;
		dst = t;
	}
	if (src != idx)
		memcpy(idx, src, (size_t)n * sizeof(int));
}

/* First index of the largest value (strictly greater replaces), like
 * TFLite's ArgMaxVector. */
static int dp_argmax(const float *v, int n)
{
	int best = 0;
	float m = v[0];
	for (int i = 1; i < n; i++)
		if (v[i] > m) {
			m = v[i];
			best = i;
		}
	return best;
}

/* The first K indices of VALUES[0..n) by descending value. IDX needs n ints. */
static void dp_partial_argsort(const float *values, int n, int k, int *idx, int *tmp)
{
	if (k == 1) {
		idx[0] = dp_argmax(values, n);
		return;
	}
	for (int i = 0; i < n; i++)
		idx[i] = i;
	if (k > 0)
		dp_argsort_desc(values, idx, tmp, n);
}

/* --- box decoding ------------------------------------------------------- */

static float dp_deq(uint8_t q, int32_t zp, float scale)
{
	return ((float)q - (float)zp) * scale;
}

static void dp_anchor(const dp_data *d, const nn_tensor *anchors, int i, float a[4])
{
	if (d->anchors) {
		memcpy(a, d->anchors + (size_t)i * 4, 4 * sizeof(float));
	} else if (d->anchor_type == NN_F32) {
		memcpy(a, (const float *)anchors->data + (size_t)i * 4, 4 * sizeof(float));
	} else {
		const uint8_t *p = (const uint8_t *)anchors->data + (size_t)i * 4;
		for (int k = 0; k < 4; k++)
			a[k] = dp_deq(p[k], d->anchor_zp, d->anchor_scale);
	}
}

/* Center-size encodings + anchors -> corners (ymin, xmin, ymax, xmax). */
static void dp_decode(const dp_data *d, const nn_tensor *enc, const nn_tensor *anchors, float *boxes)
{
	for (int i = 0; i < d->n; i++) {
		float e[4], a[4];
		size_t base = (size_t)i * d->box_stride;
		if (d->box_type == NN_F32) {
			memcpy(e, (const float *)enc->data + base, 4 * sizeof(float));
		} else {
			const uint8_t *p = (const uint8_t *)enc->data + base;
			for (int k = 0; k < 4; k++)
				e[k] = dp_deq(p[k], d->box_zp, d->box_scale);
		}
		dp_anchor(d, anchors, i, a);
		/* a = (ycenter, xcenter, h, w); one rounding to float per value */
		float yc = (float)((double)e[0] / (double)d->y_scale * (double)a[2] + (double)a[0]);
		float xc = (float)((double)e[1] / (double)d->x_scale * (double)a[3] + (double)a[1]);
		float hh = (float)(0.5 * exp((double)e[2] / (double)d->h_scale) * (double)a[2]);
		float hw = (float)(0.5 * exp((double)e[3] / (double)d->w_scale) * (double)a[3]);
		float *b = boxes + (size_t)i * 4;
		b[0] = yc - hh;
		b[1] = xc - hw;
		b[2] = yc + hh;
		b[3] = xc + hw;
	}
}

static float dp_iou(const float *bi, const float *bj)
{
	const float area_i = (bi[2] - bi[0]) * (bi[3] - bi[1]);
	const float area_j = (bj[2] - bj[0]) * (bj[3] - bj[1]);
	if (area_i <= 0 || area_j <= 0)
		return 0.0f;
	const float ymin = fmaxf(bi[0], bj[0]);
	const float xmin = fmaxf(bi[1], bj[1]);
	const float ymax = fminf(bi[2], bj[2]);
	const float xmax = fminf(bi[3], bj[3]);
	const float inter = fmaxf(ymax - ymin, 0.0f) * fmaxf(xmax - xmin, 0.0f);
	return inter / (area_i + area_j - inter);
}

/* NMS over one score per anchor: writes up to MAX_OUT anchor indices to
 * w->selected in selection order; returns their count. */
static int dp_nms_single(dp_work *w, const float *scores, int max_out)
{
	const dp_data *d = w->d;
	int kept = 0;
	for (int i = 0; i < d->n; i++)
		if (scores[i] >= d->score_threshold) {
			w->keep_sc[kept] = scores[i];
			w->keep_idx[kept] = i;
			kept++;
		}
	for (int i = 0; i < kept; i++)
		w->sorted[i] = i;
	dp_argsort_desc(w->keep_sc, w->sorted, w->tmp, kept);

	int out_size = kept < max_out ? kept : max_out;
	int n_sel = 0, n_active = kept;
	memset(w->active, 1, (size_t)kept);
	for (int i = 0; i < kept; i++) {
		if (n_active == 0 || n_sel >= out_size)
			break;
		if (!w->active[i])
			continue;
		const int bi = w->keep_idx[w->sorted[i]];
		w->selected[n_sel++] = bi;
		w->active[i] = 0;
		n_active--;
		for (int j = i + 1; j < kept; j++) {
			if (!w->active[j])
				continue;
			const int bj = w->keep_idx[w->sorted[j]];
			if (dp_iou(w->boxes + (size_t)bi * 4, w->boxes + (size_t)bj * 4) > d->iou_threshold) {
				w->active[j] = 0;
				n_active--;
			}
		}
	}
	return n_sel;
}

static void dp_fast(dp_work *w, float *out_boxes, float *out_classes, float *out_scores, float *out_count)
{
	const dp_data *d = w->d;
	for (int r = 0; r < d->n; r++) {
		const float *bs = w->scores + (size_t)r * d->c + d->label_offset;
		int *top = w->topcls + (size_t)r * d->top_k;
		if (d->top_k == 1) {
			top[0] = dp_argmax(bs, d->num_classes);
		} else {
			dp_partial_argsort(bs, d->num_classes, d->top_k, w->clsidx, w->clstmp);
			memcpy(top, w->clsidx, (size_t)d->top_k * sizeof(int));
		}
		w->work_f[r] = bs[top[0]];
	}
	int n_sel = dp_nms_single(w, w->work_f, d->max_detections);
	for (int s = 0; s < n_sel; s++) {
		const int a = w->selected[s];
		const float *bs = w->scores + (size_t)a * d->c + d->label_offset;
		const int *top = w->topcls + (size_t)a * d->top_k;
		for (int k = 0; k < d->top_k; k++) {
			size_t o = (size_t)d->max_classes_per_detection * s + k;
			memcpy(out_boxes + o * 4, w->boxes + (size_t)a * 4, 4 * sizeof(float));
			out_classes[o] = (float)top[k];
			out_scores[o] = bs[top[k]];
		}
	}
	out_count[0] = (float)n_sel;
}

static void dp_regular(dp_work *w, float *out_boxes, float *out_classes, float *out_scores, float *out_count)
{
	const dp_data *d = w->d;
	int n_sorted = 0;
	for (int col = 0; col < d->num_classes; col++) {
		for (int r = 0; r < d->n; r++)
			w->work_f[r] = w->scores[(size_t)r * d->c + col + d->label_offset];
		int n_sel = dp_nms_single(w, w->work_f, d->detections_per_class);
		int n_all = n_sorted;
		for (int s = 0; s < n_sel; s++) {
			w->merge_idx[n_all] = w->selected[s] * d->c + col + d->label_offset;
			w->merge_sc[n_all] = w->work_f[w->selected[s]];
			n_all++;
		}
		int k = n_all < d->max_detections ? n_all : d->max_detections;
		/* w->sorted and w->tmp are free again once dp_nms_single returned;
		 * merge_tmp holds the permutation */
		int *perm = w->merge_tmp;
		if (k > 0)
			dp_partial_argsort(w->merge_sc, n_all, k, perm, w->tmp);
		for (int i = 0; i < k; i++) {
			w->sorted[i] = w->merge_idx[perm[i]];
			w->keep_sc[i] = w->merge_sc[perm[i]];
		}
		memcpy(w->merge_idx, w->sorted, (size_t)k * sizeof(int));
		memcpy(w->merge_sc, w->keep_sc, (size_t)k * sizeof(float));
		n_sorted = k;
	}
	for (int o = 0; o < n_sorted; o++) {
		const int anchor = w->merge_idx[o] / d->c;
		const int cls = w->merge_idx[o] - anchor * d->c - d->label_offset;
		memcpy(out_boxes + (size_t)o * 4, w->boxes + (size_t)anchor * 4, 4 * sizeof(float));
		out_classes[o] = (float)cls;
		out_scores[o] = w->merge_sc[o];
	}
	out_count[0] = (float)n_sorted;
}

static nn_status dp_eval(const nn_node *node, nn_exec *ex)
{
	const dp_data *d = node->data;
	const nn_tensor *enc = nn_ex_in(ex, node, 0);
	const nn_tensor *cls = nn_ex_in(ex, node, 1);
	const nn_tensor *anc = nn_ex_in(ex, node, 2);
	uint8_t *s = nn_ex_scratch(ex, 0);
	dp_work w = {
		.d = d,
		.boxes = (float *)(s + d->off_boxes),
		.work_f = (float *)(s + d->off_work_f),
		.keep_idx = (int *)(s + d->off_keep_idx),
		.keep_sc = (float *)(s + d->off_keep_sc),
		.sorted = (int *)(s + d->off_sorted),
		.tmp = (int *)(s + d->off_tmp),
		.active = s + d->off_active,
		.selected = (int *)(s + d->off_selected),
		.topcls = (int *)(s + d->off_topcls),
		.clsidx = (int *)(s + d->off_clsidx),
		.clstmp = (int *)(s + d->off_clstmp),
		.merge_idx = (int *)(s + d->off_merge_idx),
		.merge_sc = (float *)(s + d->off_merge_sc),
		.merge_tmp = (int *)(s + d->off_merge_tmp),
	};
	float *ob = nn_ex_out(ex, node, 0)->data;
	float *oc = nn_ex_out(ex, node, 1)->data;
	float *os = nn_ex_out(ex, node, 2)->data;
	float *on = nn_ex_out(ex, node, 3)->data;

	dp_decode(d, enc, anc, w.boxes);
	for (int i = 0; i < d->n; i++) {
		const float *b = w.boxes + (size_t)i * 4;
		if (b[0] > b[2] || b[1] > b[3])
			return nn_node_err(node, ex->err, NN_ERR_RUNTIME,
					   "decoded box %d is inverted (ymin %g ymax %g xmin %g xmax %g): negative anchor size?",
					   i, b[0], b[2], b[1], b[3]);
	}
	if (d->class_type == NN_U8) {
		float *sc = (float *)(s + d->off_scores);
		const uint8_t *q = cls->data;
		size_t total = (size_t)d->n * d->c;
		for (size_t i = 0; i < total; i++)
			sc[i] = d->class_scale * (float)((int32_t)q[i] - d->class_zp);
		w.scores = sc;
	} else {
		w.scores = cls->data;
	}
	memset(ob, 0, (size_t)d->n_out * 4 * sizeof(float));
	memset(oc, 0, (size_t)d->n_out * sizeof(float));
	memset(os, 0, (size_t)d->n_out * sizeof(float));
	if (d->regular)
		dp_regular(&w, ob, oc, os, on);
	else
		dp_fast(&w, ob, oc, os, on);
	return NN_OK;
}

/* --- prepare ------------------------------------------------------------ */

static void dp_free(void *p)
{
	dp_data *d = p;
	if (d)
		nn_free(d->anchors);
	nn_free(d);
}

/* Required numeric option KEY. */
static nn_status dp_opt_num(const nn_node *node, const fx_ref *map, const char *key, double *v, nn_err *err)
{
	fx_ref r;
	if (!fx_map_get(map, key, &r))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom option '%s' is missing", key);
	double x = fx_as_float(&r, NAN);
	if (!(x == x))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom option '%s' is not a number (type %d)", key,
				   r.type);
	*v = x;
	return NN_OK;
}

static nn_status dp_opt_int(const nn_node *node, const fx_ref *map, const char *key, int lo, int hi, int *v,
			    nn_err *err)
{
	double x;
	nn_status st = dp_opt_num(node, map, key, &x, err);
	if (st)
		return st;
	if (!(x >= lo && x <= hi) || x != floor(x))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom option %s = %g is not an integer in [%d, %d]",
				   key, x, lo, hi);
	*v = (int)x;
	return NN_OK;
}

static nn_status dp_opt_scale(const nn_node *node, const fx_ref *map, const char *key, float *v, nn_err *err)
{
	double x;
	nn_status st = dp_opt_num(node, map, key, &x, err);
	if (st)
		return st;
	if (!(x > 0 && (float)x < INFINITY))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom option %s = %g must be positive and finite",
				   key, x);
	*v = (float)x;
	return NN_OK;
}

static nn_status dp_parse_options(const nn_node *node, dp_data *d, nn_err *err)
{
	fx_ref root;
	nn_err ferr;
	nn_status st;
	double x;

	if (!node->op->custom_options || node->op->custom_options_size == 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom options (max_detections, num_classes, ...) are missing");
	if (fx_root(node->op->custom_options, node->op->custom_options_size, &root, &ferr))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom options: %s", ferr.msg);
	if (root.type != FX_MAP)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom options are not a map (flexbuffer type %d)",
				   root.type);
	if ((st = dp_opt_int(node, &root, "max_detections", 1, DP_MAX_OUT, &d->max_detections, err)) ||
	    (st = dp_opt_int(node, &root, "max_classes_per_detection", 1, DP_MAX_OUT, &d->max_classes_per_detection,
			     err)) ||
	    (st = dp_opt_int(node, &root, "num_classes", 1, INT32_MAX / 2, &d->num_classes, err)) ||
	    (st = dp_opt_scale(node, &root, "y_scale", &d->y_scale, err)) ||
	    (st = dp_opt_scale(node, &root, "x_scale", &d->x_scale, err)) ||
	    (st = dp_opt_scale(node, &root, "h_scale", &d->h_scale, err)) ||
	    (st = dp_opt_scale(node, &root, "w_scale", &d->w_scale, err)))
		return st;
	if ((st = dp_opt_num(node, &root, "nms_score_threshold", &x, err)))
		return st;
	d->score_threshold = (float)x;
	if ((st = dp_opt_num(node, &root, "nms_iou_threshold", &x, err)))
		return st;
	d->iou_threshold = (float)x;
	/* TFLite checks this at eval; a file that violates it can never run */
	if (!(d->iou_threshold > 0.0f && d->iou_threshold <= 1.0f))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom option nms_iou_threshold = %g is not in (0, 1]",
				   x);
	fx_ref r;
	d->regular = fx_map_get(&root, "use_regular_nms", &r) ? fx_as_bool(&r, false) : false;
	d->detections_per_class = 100; /* TFLite's default when the key is absent */
	if (fx_map_get(&root, "detections_per_class", &r) &&
	    (st = dp_opt_int(node, &root, "detections_per_class", 1, INT32_MAX / 2, &d->detections_per_class, err)))
		return st;
	if ((int64_t)d->max_detections * d->max_classes_per_detection > DP_MAX_OUT)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "max_detections %d x max_classes_per_detection %d exceeds %d output slots",
				   d->max_detections, d->max_classes_per_detection, DP_MAX_OUT);
	d->n_out = d->max_detections * d->max_classes_per_detection;
	return NN_OK;
}

/* Per-tensor uint8 quantization of input T (name for messages). */
static nn_status dp_quant(const nn_node *node, const nn_tensor *t, const char *what, float *scale, int32_t *zp,
			  nn_err *err)
{
	if (!t->quant || t->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "uint8 %s needs per-tensor quantization (has %d scales)",
				   what, t->quant ? t->quant->n : 0);
	if (!(t->quant->scale[0] > 0 && t->quant->scale[0] < INFINITY))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "%s scale %g must be positive and finite", what,
				   t->quant->scale[0]);
	if (t->quant->zero_point[0] < 0 || t->quant->zero_point[0] > 255)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "%s zero point %lld is outside [0, 255]", what,
				   (long long)t->quant->zero_point[0]);
	*scale = t->quant->scale[0];
	*zp = (int32_t)t->quant->zero_point[0];
	return NN_OK;
}

static nn_status dp_check_type(const nn_node *node, const nn_tensor *t, const char *what, nn_err *err)
{
	if (t->type != NN_F32 && t->type != NN_U8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "%s type %s is not supported (float32 or uint8)", what,
				   nn_dtype_name(t->type));
	return NN_OK;
}

/* Appends BYTES (64-byte aligned) to the scratch layout. */
static size_t dp_take(size_t *total, size_t bytes)
{
	size_t at = *total;
	*total += (bytes + 63) & ~(size_t)63;
	return at;
}

static nn_status dp_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	nn_status st = nn_check_arity(node, 3, 3, 4, err);
	if (st)
		return st;
	const nn_tensor *enc = nn_in(g, node, 0), *cls = nn_in(g, node, 1), *anc = nn_in(g, node, 2);
	if (!enc || !cls || !anc)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "all three inputs (boxes, scores, anchors) are required");

	dp_data *d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	if ((st = dp_parse_options(node, d, err)))
		return st;
	if ((st = dp_check_type(node, enc, "box encodings", err)) ||
	    (st = dp_check_type(node, cls, "class predictions", err)) ||
	    (st = dp_check_type(node, anc, "anchors", err)))
		return st;
	if (enc->rank != 3 || enc->dims[0] != 1 || enc->dims[1] < 1 || enc->dims[2] < 4)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "box encodings must be [1, N >= 1, >= 4] (rank %d, dims %d x %d x %d)", enc->rank,
				   enc->rank > 0 ? enc->dims[0] : 0, enc->rank > 1 ? enc->dims[1] : 0,
				   enc->rank > 2 ? enc->dims[2] : 0);
	d->n = enc->dims[1];
	d->box_stride = enc->dims[2];
	if (cls->rank != 3 || cls->dims[0] != 1 || cls->dims[1] != d->n)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "class predictions must be [1, %d, classes] (rank %d)",
				   d->n, cls->rank);
	d->c = cls->dims[2];
	d->label_offset = d->c - d->num_classes;
	if (d->label_offset != 0 && d->label_offset != 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "class predictions have %d columns; num_classes %d needs %d or %d", d->c,
				   d->num_classes, d->num_classes, d->num_classes + 1);
	if (anc->rank != 2 || anc->dims[0] != d->n || anc->dims[1] != 4)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "anchors must be [%d, 4] (rank %d, dims %d x %d)", d->n,
				   anc->rank, anc->rank > 0 ? anc->dims[0] : 0, anc->rank > 1 ? anc->dims[1] : 0);
	/* TFLite reads the anchors with the box encodings' type */
	if (anc->type != enc->type)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED, "anchors are %s but box encodings are %s",
				   nn_dtype_name(anc->type), nn_dtype_name(enc->type));
	d->box_type = enc->type;
	d->class_type = cls->type;
	d->anchor_type = anc->type;
	if (d->box_type == NN_U8 &&
	    ((st = dp_quant(node, enc, "box encodings", &d->box_scale, &d->box_zp, err)) ||
	     (st = dp_quant(node, anc, "anchors", &d->anchor_scale, &d->anchor_zp, err))))
		return st;
	if (d->class_type == NN_U8 &&
	    (st = dp_quant(node, cls, "class predictions", &d->class_scale, &d->class_zp, err)))
		return st;
	d->top_k = d->max_classes_per_detection < d->num_classes ? d->max_classes_per_detection : d->num_classes;

	if (anc->kind == NN_TENSOR_CONST && anc->data) {
		d->anchors = nn_malloc((size_t)d->n * 4 * sizeof(float));
		if (!d->anchors)
			return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory for %d anchors", d->n);
		for (size_t i = 0; i < (size_t)d->n * 4; i++)
			d->anchors[i] = d->anchor_type == NN_F32
						? ((const float *)anc->data)[i]
						: dp_deq(((const uint8_t *)anc->data)[i], d->anchor_zp, d->anchor_scale);
	}

	/* scratch: n, c and n_out are bounded by tensor sizes (< 2^31 bytes) */
	size_t n = (size_t)d->n, total = 0;
	size_t merge = n + (size_t)d->max_detections;
	d->off_boxes = dp_take(&total, n * 4 * sizeof(float));
	d->off_scores = dp_take(&total, d->class_type == NN_U8 ? n * (size_t)d->c * sizeof(float) : 0);
	d->off_work_f = dp_take(&total, n * sizeof(float));
	d->off_keep_idx = dp_take(&total, n * sizeof(int));
	d->off_keep_sc = dp_take(&total, merge * sizeof(float));
	d->off_sorted = dp_take(&total, merge * sizeof(int));
	d->off_tmp = dp_take(&total, merge * sizeof(int));
	d->off_active = dp_take(&total, n);
	d->off_selected = dp_take(&total, n * sizeof(int));
	d->off_topcls = dp_take(&total, d->regular ? 0 : n * (size_t)d->top_k * sizeof(int));
	d->off_clsidx = dp_take(&total, (d->regular || d->top_k == 1) ? 0 : (size_t)d->num_classes * sizeof(int));
	d->off_clstmp = dp_take(&total, (d->regular || d->top_k == 1) ? 0 : (size_t)d->num_classes * sizeof(int));
	d->off_merge_idx = dp_take(&total, d->regular ? merge * sizeof(int) : 0);
	d->off_merge_sc = dp_take(&total, d->regular ? merge * sizeof(float) : 0);
	d->off_merge_tmp = dp_take(&total, d->regular ? merge * sizeof(int) : 0);
	if (total > NN_MAX_TENSOR_BYTES)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "scratch of %zu bytes for %d anchors x %d classes is too large",
				   total, d->n, d->c);
	node->scratch_bytes = total;

	int32_t boxes_dims[3] = {1, d->n_out, 4}, vec_dims[2] = {1, d->n_out}, one = 1;
	if ((st = nn_set_output(g, node, 0, NN_F32, 3, boxes_dims, err)) ||
	    (st = nn_set_output(g, node, 1, NN_F32, 2, vec_dims, err)) ||
	    (st = nn_set_output(g, node, 2, NN_F32, 2, vec_dims, err)) ||
	    (st = nn_set_output(g, node, 3, NN_F32, 1, &one, err)))
		return st;
	node->impl = "ref";
	return NN_OK;
}

const nn_kernel nn_k_detection_postprocess = {
	.name = "TFLite_Detection_PostProcess",
	.prepare = dp_prepare,
	.eval = dp_eval,
	.free = dp_free,
};
