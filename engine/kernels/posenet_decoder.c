/* posenet_decoder.c - PosenetDecoderOp (Coral's custom op): PoseNet maps in,
 * people out.
 *
 * DESIGN: Coral's op (libcoral pose_estimation/posenet_decoder_op.cc) is
 * the oracle for the interface; the decoding itself is the shared core's
 * POSE_DECODE_CORAL variant (posenet_decode.h documents its semantics).
 * Inputs: heatmap logits [1,H,W,17], short-range offsets [1,H,W,34] and
 * mid-range displacements [1,H,W,64] ([fwd y][fwd x][bwd y][bwd x], 16
 * channels each), all on one grid, each float32, uint8 or int8 (8-bit ones
 * per-tensor quantized: value = (q - zero point) * scale, as Coral; Coral
 * takes no int8, we accept it since the arithmetic is the same).  Options
 * (FlexBuffer map, read and validated at prepare, every key required where
 * Coral would silently read 0): max_detections, score_threshold,
 * nms_radius (model-input pixels), stride; Coral's _output_quantized /
 * _support_output_type_float_in_quantized_op flags only say the converter
 * kept float outputs, which is what we produce anyway.
 * Outputs, shaped at prepare (the model files store empty shapes), all
 * float32 as Coral: keypoints [1,N,17,2] as (y, x) in model-input pixels,
 * keypoint scores [1,N,17] and pose scores [1,N] in [0, 1], and the pose
 * count [1] (a float, as Coral).  Slots past the count are zeroed (Coral
 * leaves them unwritten).
 * Scratch (one thread; eval never allocates): the three maps as floats when
 * they are 8-bit, the decoder's scratch and N pose results, laid out at
 * prepare.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "flexbuf.h"
#include "kernel.h"
#include "posenet_decode.h"

#define PD_MAX_STRIDE 1024

typedef struct pd_map {
	nn_dtype type;
	float scale;
	int32_t zp;
	size_t count; /* elements */
	size_t off;   /* scratch offset of the float copy (8-bit only) */
} pd_map;

typedef struct pd_data {
	int max_detections, stride;
	float score_threshold, nms_radius;
	int h, w;
	pd_map map[3]; /* heatmaps, short offsets, mid offsets */
	size_t off_decode, decode_bytes, off_poses;
} pd_data;

static const char *const pd_names[3] = {"heatmaps", "short offsets", "mid offsets"};
static const int pd_channels[3] = {POSE_KEYPOINTS, 2 * POSE_KEYPOINTS, 4 * POSE_EDGES};

/* --- eval ----------------------------------------------------------------- */

static const float *pd_floats(const pd_map *mp, const nn_tensor *t, uint8_t *s)
{
	float *f = (float *)(s + mp->off);
	if (mp->type == NN_F32)
		return t->data;
	if (mp->type == NN_U8) {
		const uint8_t *q = t->data;
		for (size_t i = 0; i < mp->count; i++)
			f[i] = (float)((int32_t)q[i] - mp->zp) * mp->scale;
	} else {
		const int8_t *q = t->data;
		for (size_t i = 0; i < mp->count; i++)
			f[i] = (float)((int32_t)q[i] - mp->zp) * mp->scale;
	}
	return f;
}

static nn_status pd_eval(const nn_node *node, nn_exec *ex)
{
	const pd_data *d = node->data;
	uint8_t *s = nn_ex_scratch(ex, 0);
	const float *maps[3];
	float *okp = nn_ex_out(ex, node, 0)->data;
	float *oks = nn_ex_out(ex, node, 1)->data;
	float *ops = nn_ex_out(ex, node, 2)->data;
	float *onum = nn_ex_out(ex, node, 3)->data;
	pose_result *poses = (pose_result *)(s + d->off_poses);
	int n;

	for (int i = 0; i < 3; i++)
		maps[i] = pd_floats(&d->map[i], nn_ex_in(ex, node, i), s);
	pose_maps m = {
	    .height = d->h,
	    .width = d->w,
	    .stride = d->stride,
	    .scores = maps[0],
	    .offsets = maps[1],
	    .disp_fwd = maps[2],
	    .disp_bwd = maps[2] + 2 * POSE_EDGES,
	    .disp_channels = 4 * POSE_EDGES,
	};
	pose_decode_params p = {
	    .part_threshold = d->score_threshold,
	    .pose_threshold = d->score_threshold,
	    .nms_radius = d->nms_radius,
	    .max_poses = d->max_detections,
	    .variant = POSE_DECODE_CORAL,
	};
	n = pose_decode_multi(&m, &p, s + d->off_decode, d->decode_bytes, poses, d->max_detections);
	if (n < 0) /* prepare validated everything the decoder checks */
		return nn_node_err(node, ex->err, NN_ERR_RUNTIME,
				   "the pose decoder refused its prepared inputs");

	memset(okp, 0, (size_t)d->max_detections * POSE_KEYPOINTS * 2 * sizeof(float));
	memset(oks, 0, (size_t)d->max_detections * POSE_KEYPOINTS * sizeof(float));
	memset(ops, 0, (size_t)d->max_detections * sizeof(float));
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < POSE_KEYPOINTS; k++) {
			size_t at = (size_t)i * POSE_KEYPOINTS + k;
			okp[2 * at] = poses[i].kp[k].y;
			okp[2 * at + 1] = poses[i].kp[k].x;
			oks[at] = poses[i].kp[k].score;
		}
		ops[i] = poses[i].score;
	}
	onum[0] = (float)n;
	return NN_OK;
}

/* --- prepare ---------------------------------------------------------------- */

static nn_status pd_opt_num(const nn_node *node, const fx_ref *map, const char *key, double *v, nn_err *err)
{
	fx_ref r;
	if (!fx_map_get(map, key, &r))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom option '%s' is missing", key);
	double x = fx_as_float(&r, NAN);
	if (!(x == x))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "custom option '%s' is not a number (type %d)", key, r.type);
	*v = x;
	return NN_OK;
}

static nn_status pd_opt_int(const nn_node *node, const fx_ref *map, const char *key, int lo, int hi, int *v,
			    nn_err *err)
{
	double x;
	nn_status st = pd_opt_num(node, map, key, &x, err);
	if (st)
		return st;
	if (!(x >= lo && x <= hi) || x != floor(x))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "custom option %s = %g is not an integer in [%d, %d]", key, x, lo, hi);
	*v = (int)x;
	return NN_OK;
}

static nn_status pd_parse_options(const nn_node *node, pd_data *d, nn_err *err)
{
	fx_ref root;
	nn_err ferr;
	nn_status st;
	double x;

	if (!node->op->custom_options || node->op->custom_options_size == 0)
		return nn_node_err(
		    node, err, NN_ERR_BAD_MODEL,
		    "custom options (max_detections, score_threshold, nms_radius, stride) are missing");
	if (fx_root(node->op->custom_options, node->op->custom_options_size, &root, &ferr))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "custom options: %s", ferr.msg);
	if (root.type != FX_MAP)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "custom options are not a map (flexbuffer type %d)", root.type);
	/* the decoder keeps at most POSE_MAX_DECODED poses per image */
	if ((st = pd_opt_int(node, &root, "max_detections", 1, POSE_MAX_DECODED, &d->max_detections, err)) ||
	    (st = pd_opt_int(node, &root, "stride", 1, PD_MAX_STRIDE, &d->stride, err)))
		return st;
	if ((st = pd_opt_num(node, &root, "score_threshold", &x, err)))
		return st;
	/* a threshold of 1 has no finite logit */
	if (!(x >= 0.0 && x < 1.0))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "custom option score_threshold = %g is not in [0, 1)", x);
	d->score_threshold = (float)x;
	if ((st = pd_opt_num(node, &root, "nms_radius", &x, err)))
		return st;
	if (!(x > 0.0 && (float)x < INFINITY))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "custom option nms_radius = %g must be positive and finite", x);
	d->nms_radius = (float)x;
	return NN_OK;
}

static size_t pd_take(size_t *total, size_t bytes)
{
	size_t at = *total;
	*total += (bytes + 63) & ~(size_t)63;
	return at;
}

static nn_status pd_check_input(const nn_node *node, const nn_tensor *t, int i, pd_data *d, nn_err *err)
{
	pd_map *mp = &d->map[i];

	if (t->type != NN_F32 && t->type != NN_U8 && t->type != NN_I8)
		return nn_node_err(node, err, NN_ERR_UNSUPPORTED,
				   "%s type %s is not supported (float32, uint8 or int8)", pd_names[i],
				   nn_dtype_name(t->type));
	if (t->rank != 4 || t->dims[0] != 1 || t->dims[1] < 1 || t->dims[2] < 1 ||
	    t->dims[3] != pd_channels[i])
		return nn_node_err(
		    node, err, NN_ERR_BAD_MODEL, "%s must be [1, H, W, %d] (rank %d, dims %d x %d x %d x %d)",
		    pd_names[i], pd_channels[i], t->rank, t->rank > 0 ? t->dims[0] : 0,
		    t->rank > 1 ? t->dims[1] : 0, t->rank > 2 ? t->dims[2] : 0, t->rank > 3 ? t->dims[3] : 0);
	if (i == 0) {
		d->h = t->dims[1];
		d->w = t->dims[2];
	} else if (t->dims[1] != d->h || t->dims[2] != d->w) {
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "%s grid %d x %d differs from the heatmaps' %d x %d", pd_names[i],
				   t->dims[1], t->dims[2], d->h, d->w);
	}
	mp->type = t->type;
	mp->count = (size_t)d->h * d->w * pd_channels[i];
	if (t->type == NN_F32)
		return NN_OK;
	if (!t->quant || t->quant->n != 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL,
				   "8-bit %s need per-tensor quantization (has %d scales)", pd_names[i],
				   t->quant ? t->quant->n : 0);
	if (!(t->quant->scale[0] > 0 && t->quant->scale[0] < INFINITY))
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "%s scale %g must be positive and finite",
				   pd_names[i], t->quant->scale[0]);
	int64_t lo = t->type == NN_U8 ? 0 : -128, hi = t->type == NN_U8 ? 255 : 127;
	if (t->quant->zero_point[0] < lo || t->quant->zero_point[0] > hi)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "%s zero point %lld is outside [%lld, %lld]",
				   pd_names[i], (long long)t->quant->zero_point[0], (long long)lo,
				   (long long)hi);
	mp->scale = t->quant->scale[0];
	mp->zp = (int32_t)t->quant->zero_point[0];
	return NN_OK;
}

static nn_status pd_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	nn_status st = nn_check_arity(node, 3, 3, 4, err);
	if (st)
		return st;
	for (int i = 0; i < 3; i++)
		if (!nn_in(g, node, i))
			return nn_node_err(
			    node, err, NN_ERR_BAD_MODEL,
			    "all three inputs (heatmaps, short offsets, mid offsets) are required");

	pd_data *d = nn_calloc(1, sizeof(*d));
	if (!d)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY, "out of memory");
	node->data = d;
	if ((st = pd_parse_options(node, d, err)))
		return st;
	for (int i = 0; i < 3; i++)
		if ((st = pd_check_input(node, nn_in(g, node, i), i, d, err)))
			return st;

	size_t total = 0;
	for (int i = 0; i < 3; i++)
		d->map[i].off =
		    pd_take(&total, d->map[i].type == NN_F32 ? 0 : d->map[i].count * sizeof(float));
	d->decode_bytes = pose_decode_scratch_bytes(d->h, d->w);
	if (d->decode_bytes == 0)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "a %d x %d grid is too large to decode", d->h,
				   d->w);
	d->off_decode = pd_take(&total, d->decode_bytes);
	d->off_poses = pd_take(&total, (size_t)d->max_detections * sizeof(pose_result));
	if (total > NN_MAX_TENSOR_BYTES)
		return nn_node_err(node, err, NN_ERR_NO_MEMORY,
				   "scratch of %zu bytes for a %d x %d grid is too large", total, d->h, d->w);
	node->scratch_bytes = total;

	int32_t kp_dims[4] = {1, d->max_detections, POSE_KEYPOINTS, 2};
	int32_t ks_dims[3] = {1, d->max_detections, POSE_KEYPOINTS};
	int32_t ps_dims[2] = {1, d->max_detections}, one = 1;
	if ((st = nn_set_output(g, node, 0, NN_F32, 4, kp_dims, err)) ||
	    (st = nn_set_output(g, node, 1, NN_F32, 3, ks_dims, err)) ||
	    (st = nn_set_output(g, node, 2, NN_F32, 2, ps_dims, err)) ||
	    (st = nn_set_output(g, node, 3, NN_F32, 1, &one, err)))
		return st;
	node->impl = "ref";
	return NN_OK;
}

static void pd_free(void *p)
{
	nn_free(p);
}

const nn_kernel nn_k_posenet_decoder = {
    .name = "PosenetDecoderOp",
    .prepare = pd_prepare,
    .eval = pd_eval,
    .free = pd_free,
};
