/* task_pose.c - pose estimation: picture in, people as 17 COCO keypoints out.
 *
 * DESIGN: three model families, told apart by their outputs, never by file
 * name (the hosted float PoseNet multi_person_mobilenet_v1_075_float and the
 * re-quantized 257x257 PoseNet have the same outputs and must both work):
 *   - PoseNet: 4 outputs [1,H,W,C] on one grid: heatmap logits (C = 17),
 *     offsets (C = 34) and two displacement maps (C = 32).  Forward and
 *     backward are told apart by name ("fwd"/"bwd", as the tensors of every
 *     converted PoseNet are called); a model whose names say nothing gets
 *     the order of TFLite's PoseNet example apps (forward first).  The
 *     output stride is (in - 1) / (H - 1) on both axes (257 -> 9: 32).
 *     Decoding is pose_decode.c (the reference multi-pose decoder).
 *   - MoveNet single pose: one output [1,1,17,3] = (y, x, score) per
 *     keypoint, y and x normalized to the model input.
 *   - PoseNet with the decoder in the graph (Coral's PosenetDecoderOp,
 *     engine/kernels/posenet_decoder.c): 4 float outputs, keypoints
 *     [1,N,17,2] as (y, x) in model-input pixels, keypoint scores [1,N,17],
 *     pose scores [1,N] and the count [1].  The op already decoded, ranked
 *     and thresholded (its own score_threshold); we only cut at ?threshold
 *     and max_poses and map the points to the picture.
 * Integer outputs are dequantized with their scale and zero point; prepare
 * checks everything so postprocess only reads.
 *
 * Query: max_poses (PoseNet; default 5, the reference's maxDetections) and
 * threshold = the least pose score returned.  PoseNet roots need a part
 * score of 0.5 and roots within 20 model-input pixels of the same part of
 * an earlier pose are suppressed (the reference's scoreThreshold and
 * nmsRadius); poses need 0.15 (the tfjs demo's minPoseConfidence; a pose
 * scores the mean of its 17 part scores, parts claimed by an earlier pose
 * counting 0, so weak duplicates fall below it).  MoveNet: one pose whose
 * score is the mean keypoint score, returned from 0.25 (tfjs
 * pose-detection's minPoseScore: a picture without a person still yields
 * 17 guesses, with a low mean).
 *
 * Score ceiling: those PoseNet defaults assume sigmoid scores that reach 1.
 * The shipped int8 PoseNet (a full-integer re-quantization) stores its
 * heatmap logits in [-14.2, 0]: no part ever scores above sigmoid(0) = 0.5,
 * and clear people's parts score 0.27..0.5.  With the reference's 0.5 it
 * found nobody in posenet_test_image.png or squat.png.  So prepare reads
 * the largest logit the heatmap's integer storage can hold (the output's
 * own quantization, or that of the DEQUANTIZE input that makes it), takes
 * its sigmoid as the model's score ceiling c (1 for float logits), and the
 * default part and pose thresholds become 0.5 c and 0.15 c.  Measured on
 * the shipped model (c = 0.5): the man of posenet_test_image scores 0.142,
 * squat.png's person 0.086 (its duplicate 0.050 is dropped), and cat,
 * bird, kites, pets give no pose.  A given ?threshold is used as it is.
 *
 * Answer: "predictions" sorted by score, each {"score", "keypoints": [17 x
 * {"name", "x", "y", "score"}]} in the uploaded picture's pixels (resize
 * undone per axis, letterbox undone when the model is letterboxed), clamped
 * into the picture; "image": its width and height.  Keypoint names: the
 * model's 17-line label file when it has one, else COCO order.
 *
 * Decoder-op family defaults: threshold 0.25 (pose score; the op's own
 * floor is 0.2 in Coral's model, and 0.25 is the MoveNet default above),
 * max_poses 5 (up to the op's N).  Measured on the Coral 353x481 model:
 * posenet_test_image's two people score 0.899 and 0.853, squat.png's
 * person 0.738 (the op returns nothing else), grace_hopper's half-length
 * portrait 0.35..0.37 over its encodings, kite_and_cold's people 0.609 and
 * 0.416; bird, cat and pets give no pose at all.
 *
 * Memory: postprocess allocates one bounded scratch block per request (the
 * maps as floats plus pose_decode's scratch, a function of H x W only) and
 * frees it on every path; sessions run concurrently, so it cannot live in
 * the shared state.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pose_decode.h"
#include "preprocess.h"
#include "repository.h"
#include "task.h"

#define POSE_DEFAULT_POSENET_THRESHOLD 0.15f /* tfjs PoseNet demo's minPoseConfidence */
#define POSE_DEFAULT_MOVENET_THRESHOLD 0.25f /* tfjs pose-detection's MoveNet minPoseScore */
#define POSE_DEFAULT_DECODED_THRESHOLD 0.25f /* decoder-op models: DESIGN */

enum { OP_DEQUANTIZE = 6 };

typedef enum pose_family {
	POSE_FAMILY_POSENET = 0,
	POSE_FAMILY_MOVENET,
	POSE_FAMILY_DECODED, /* PosenetDecoderOp in the graph */
} pose_family;

/* One output to read as floats. */
typedef struct pose_output {
	int index;     /* graph output index */
	nn_dtype type; /* f32, u8 or i8 */
	float scale;   /* dequantization (1 / 0 for float) */
	int32_t zero_point;
} pose_output;

typedef struct pose_state {
	pose_family family;
	pose_output heat, off, fwd, bwd;   /* PoseNet */
	pose_output kps;		   /* MoveNet */
	int grid_h, grid_w;		   /* PoseNet heatmap grid */
	int max_decoded;		   /* DECODED: N, the poses the op can return */
	int stride;			   /* PoseNet output stride (model-input pixels) */
	float score_ceiling;		   /* PoseNet: the highest part score the heatmap can hold (DESIGN) */
	size_t scratch_bytes;		   /* PoseNet: maps + decoder scratch per request */
	const char *names[POSE_KEYPOINTS]; /* borrowed from the model's labels or pose_keypoint_names */
} pose_state;

static nn_status output_init(const nn_graph *g, int i, pose_output *o, nn_err *err)
{
	const nn_tensor *t = nn_graph_output(g, i);

	o->index = i;
	o->type = t->type;
	o->scale = 1.0f;
	o->zero_point = 0;
	if (t->type != NN_F32 && t->type != NN_U8 && t->type != NN_I8)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "pose output '%s' is %s; float32, uint8 and int8 are supported", t->name,
				  nn_dtype_name(t->type));
	if (t->type == NN_F32)
		return NN_OK;
	if (!t->quant || t->quant->n != 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "pose output '%s' is %s %s", t->name,
				  nn_dtype_name(t->type),
				  t->quant ? "quantized per axis" : "without quantization parameters");
	o->scale = t->quant->scale[0];
	o->zero_point = (int32_t)t->quant->zero_point[0];
	if (!(o->scale > 0.0f) || !isfinite(o->scale))
		return nn_err_set(err, NN_ERR_BAD_MODEL, "pose output '%s' has quantization scale %g",
				  t->name, (double)o->scale);
	return NN_OK;
}

/* Element i of output o as a float (NaN stays NaN: callers decide). */
static float output_at(const pose_output *o, const nn_tensor *t, size_t i)
{
	switch (o->type) {
	case NN_U8:
		return o->scale * (float)((int32_t)((const uint8_t *)t->data)[i] - o->zero_point);
	case NN_I8:
		return o->scale * (float)((int32_t)((const int8_t *)t->data)[i] - o->zero_point);
	default:
		return ((const float *)t->data)[i];
	}
}

static bool name_has(const char *name, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = name; p && *p; p++) {
		size_t j = 0;
		while (j < n && p[j] && tolower((unsigned char)p[j]) == word[j])
			j++;
		if (j == n)
			return true;
	}
	return false;
}

/* 1 = forward, -1 = backward, 0 = the name does not say. */
static int disp_direction(const char *name)
{
	bool f = name_has(name, "fwd") || name_has(name, "forward");
	bool b = name_has(name, "bwd") || name_has(name, "backward");
	return f == b ? 0 : f ? 1 : -1;
}

/* The output stride of an input side `in` over a grid side `n`, 0 if none. */
static int grid_stride(int in, int n)
{
	if (n < 2 || in < n)
		return 0;
	return (int)lround((double)(in - 1) / (n - 1));
}

/* The highest part score graph output `out` can carry: sigmoid of the
 * largest logit its integer storage represents, when the logits are integer
 * (the output itself, or the input of the DEQUANTIZE that makes it); 1 for
 * float logits.  See DESIGN for why the defaults scale with it. */
static float score_ceiling(const pool_model *m, int out)
{
	const tfl_model *tm = m->model;
	int32_t t = tm->outputs[out];
	const tfl_tensor *q;
	int p;
	double top;

	if (t < 0 || t >= tm->n_tensors)
		return 1.0f;
	q = &tm->tensors[t];
	if (q->type == NN_F32) {
		p = repo_producer(tm, t);
		if (p < 0 || tm->ops[p].builtin != OP_DEQUANTIZE || tm->ops[p].n_inputs < 1)
			return 1.0f;
		t = tm->ops[p].inputs[0];
		if (t < 0 || t >= tm->n_tensors)
			return 1.0f;
		q = &tm->tensors[t];
	}
	if ((q->type != NN_U8 && q->type != NN_I8) || q->quant.n != 1 || !(q->quant.scale[0] > 0.0f))
		return 1.0f;
	top =
	    (double)q->quant.scale[0] * ((q->type == NN_U8 ? 255.0 : 127.0) - (double)q->quant.zero_point[0]);
	if (!isfinite(top))
		return 1.0f;
	return (float)(1.0 / (1.0 + exp(-top)));
}

static nn_status prepare_posenet(const pool_model *m, pose_state *ps, nn_err *err)
{
	const nn_graph *g = m->graph;
	const nn_tensor *in = nn_graph_input(g, 0), *t0 = nn_graph_output(g, 0);
	int heat = -1, off = -1, disp[2] = {-1, -1}, n_disp = 0, h = t0->dims[1], w = t0->dims[2];
	int dir0, dir1, sy, sx;
	nn_status st;
	uint64_t cells;

	for (int i = 0; i < 4; i++) {
		const nn_tensor *t = nn_graph_output(g, i);
		if (t->rank != 4 || t->dims[0] != 1 || t->dims[1] != h || t->dims[2] != w)
			return nn_err_set(
			    err, NN_ERR_UNSUPPORTED,
			    "PoseNet outputs must all be [1,H,W,C] on one grid; output %d '%s' is not "
			    "[1,%d,%d,C]",
			    i, t->name, h, w);
		switch (t->dims[3]) {
		case POSE_KEYPOINTS:
			if (heat >= 0)
				return nn_err_set(err, NN_ERR_UNSUPPORTED,
						  "PoseNet: two 17-channel heatmap outputs");
			heat = i;
			break;
		case 2 * POSE_KEYPOINTS:
			if (off >= 0)
				return nn_err_set(err, NN_ERR_UNSUPPORTED,
						  "PoseNet: two 34-channel offset outputs");
			off = i;
			break;
		case 2 * POSE_EDGES:
			if (n_disp == 2)
				return nn_err_set(err, NN_ERR_UNSUPPORTED,
						  "PoseNet: more than two 32-channel outputs");
			disp[n_disp++] = i;
			break;
		default:
			return nn_err_set(
			    err, NN_ERR_UNSUPPORTED,
			    "PoseNet output %d '%s' has %d channels; expected heatmaps (17), offsets (34) "
			    "and two displacement maps (32)",
			    i, t->name, t->dims[3]);
		}
	}
	if (heat < 0 || off < 0 || n_disp != 2)
		return nn_err_set(
		    err, NN_ERR_UNSUPPORTED,
		    "PoseNet needs outputs with 17 (heatmaps), 34 (offsets) and 2 x 32 (displacements) "
		    "channels");
	dir0 = disp_direction(nn_graph_output(g, disp[0])->name);
	dir1 = disp_direction(nn_graph_output(g, disp[1])->name);
	/* names decide when either says; otherwise output order, forward first */
	if (dir0 < 0 || dir1 > 0) {
		int t = disp[0];
		disp[0] = disp[1];
		disp[1] = t;
	}
	if ((st = output_init(g, heat, &ps->heat, err)) != NN_OK ||
	    (st = output_init(g, off, &ps->off, err)) != NN_OK ||
	    (st = output_init(g, disp[0], &ps->fwd, err)) != NN_OK ||
	    (st = output_init(g, disp[1], &ps->bwd, err)) != NN_OK)
		return st;
	sy = grid_stride(in->dims[1], h);
	sx = grid_stride(in->dims[2], w);
	if (sy < 1 || sy != sx)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "PoseNet: a %dx%d input over a %dx%d heatmap has no single output stride "
				  "((in - 1) / (H - 1) gives %d and %d)",
				  in->dims[1], in->dims[2], h, w, sy, sx);
	ps->score_ceiling = score_ceiling(m, heat);
	if (!(ps->score_ceiling > 0.01f))
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "PoseNet heatmap '%s' is quantized so that no part score can exceed %g",
				  nn_graph_output(g, heat)->name, (double)ps->score_ceiling);
	if (ps->score_ceiling > 0.999f)
		ps->score_ceiling = 1.0f;
	cells = (uint64_t)h * (uint64_t)w;
	ps->grid_h = h;
	ps->grid_w = w;
	ps->stride = sy;
	ps->scratch_bytes = pose_decode_scratch_bytes(h, w);
	if (ps->scratch_bytes == 0 || cells > (SIZE_MAX - ps->scratch_bytes) / (sizeof(float) * 115))
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "PoseNet heatmap grid %dx%d is too large", h, w);
	/* heatmap 17 + offsets 34 + displacements 2 x 32 = 115 floats per cell */
	ps->scratch_bytes += (size_t)cells * 115 * sizeof(float);
	return NN_OK;
}

/* The PosenetDecoderOp outputs: [1,N,17,2], [1,N,17], [1,N], [1], all float. */
static bool is_decoded(const nn_graph *g)
{
	const nn_tensor *kp = nn_graph_output(g, 0), *ks = nn_graph_output(g, 1), *sc = nn_graph_output(g, 2),
			*cnt = nn_graph_output(g, 3);
	for (int i = 0; i < 4; i++)
		if (nn_graph_output(g, i)->type != NN_F32)
			return false;
	return kp->rank == 4 && kp->dims[0] == 1 && kp->dims[1] >= 1 && kp->dims[2] == POSE_KEYPOINTS &&
	       kp->dims[3] == 2 && ks->rank == 3 && ks->dims[0] == 1 && ks->dims[1] == kp->dims[1] &&
	       ks->dims[2] == POSE_KEYPOINTS && sc->rank == 2 && sc->dims[0] == 1 &&
	       sc->dims[1] == kp->dims[1] && cnt->rank == 1 && cnt->dims[0] == 1;
}

static nn_status prepare_movenet(const pool_model *m, pose_state *ps, nn_err *err)
{
	ps->family = POSE_FAMILY_MOVENET;
	return output_init(m->graph, 0, &ps->kps, err);
}

static nn_status pose_prepare(const pool_model *m, void **state, nn_err *err)
{
	const nn_graph *g = m->graph;
	pose_state *ps;
	nn_status st;
	int n_out;

	*state = NULL;
	if ((st = pre_check_image_input(g, err)) != NN_OK)
		return st;
	if (m->labels && m->n_labels != POSE_KEYPOINTS)
		return nn_err_set(
		    err, NN_ERR_BAD_MODEL,
		    "pose: the label file has %d lines; it must name the 17 keypoints in model order",
		    m->n_labels);
	if (!(ps = nn_calloc(1, sizeof(*ps))))
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	for (int k = 0; k < POSE_KEYPOINTS; k++)
		ps->names[k] = m->labels ? m->labels[k] : pose_keypoint_names[k];
	n_out = nn_graph_n_outputs(g);
	if (n_out == 4 && is_decoded(g)) {
		ps->family = POSE_FAMILY_DECODED;
		ps->max_decoded = nn_graph_output(g, 0)->dims[1];
		st = NN_OK;
	} else if (n_out == 4) {
		st = prepare_posenet(m, ps, err);
	} else if (n_out == 1) {
		const nn_tensor *o = nn_graph_output(g, 0);
		if (o->rank == 4 && o->dims[0] == 1 && o->dims[1] == 1 && o->dims[2] == POSE_KEYPOINTS &&
		    o->dims[3] == 3)
			st = prepare_movenet(m, ps, err);
		else
			st = nn_err_set(
			    err, NN_ERR_UNSUPPORTED,
			    "pose: a 1-output model must be MoveNet single pose, output [1,1,17,3]; output "
			    "'%s' is not",
			    o->name);
	} else {
		st = nn_err_set(err, NN_ERR_UNSUPPORTED,
				"pose needs PoseNet (4 outputs: heatmaps, offsets, 2 displacement maps, or a "
				"decoder's keypoints, keypoint scores, pose scores and count) or MoveNet "
				"single pose (1 output [1,1,17,3]); this model has %d outputs",
				n_out);
	}
	if (st != NN_OK) {
		nn_free(ps);
		return st;
	}
	*state = ps;
	return NN_OK;
}

static void pose_free(void *state)
{
	nn_free(state);
}

static float sigmoid(float x)
{
	float s = 1.0f / (1.0f + expf(-x));
	return isnan(s) ? 0.0f : s;
}

/* Score in [0, 1] for the JSON (a NaN would make json_real fail). */
static float clean_score(float s)
{
	if (!(s >= 0.0f))
		return 0.0f;
	return s > 1.0f ? 1.0f : s;
}

/* Hundredths of a pixel are plenty and keep the JSON short. */
static double px(float v)
{
	return round((double)v * 100.0) / 100.0;
}

static json_t *pose_json(const pose_state *ps, const pose_result *pose, const pose_frame *f)
{
	json_t *p = json_object(), *kps = json_array();

	json_object_set_new(p, "score", json_real(clean_score(pose->score)));
	for (int k = 0; k < POSE_KEYPOINTS; k++) {
		json_t *kp = json_object(), *name = json_string(ps->names[k]);
		float x, y;
		pose_frame_to_image(f, pose->kp[k].x, pose->kp[k].y, &x, &y);
		/* json_string refuses invalid UTF-8: such a label reads as the COCO name */
		json_object_set_new(kp, "name", name ? name : json_string(pose_keypoint_names[k]));
		json_object_set_new(kp, "x", json_real(px(x)));
		json_object_set_new(kp, "y", json_real(px(y)));
		json_object_set_new(kp, "score", json_real(clean_score(pose->kp[k].score)));
		json_array_append_new(kps, kp);
	}
	json_object_set_new(p, "keypoints", kps);
	return p;
}

/* Fills maps from the session's outputs into scratch; returns the decoder's part. */
static void *load_maps(const pose_state *ps, nn_session *s, float *buf, pose_maps *maps)
{
	size_t cells = (size_t)ps->grid_h * ps->grid_w;
	const nn_tensor *t;
	float *heat = buf, *off = heat + cells * POSE_KEYPOINTS, *fwd = off + cells * 2 * POSE_KEYPOINTS,
	      *bwd = fwd + cells * 2 * POSE_EDGES;

	t = nn_session_output(s, ps->heat.index);
	for (size_t i = 0; i < cells * POSE_KEYPOINTS; i++)
		heat[i] = sigmoid(output_at(&ps->heat, t, i));
	t = nn_session_output(s, ps->off.index);
	for (size_t i = 0; i < cells * 2 * POSE_KEYPOINTS; i++)
		off[i] = output_at(&ps->off, t, i);
	t = nn_session_output(s, ps->fwd.index);
	for (size_t i = 0; i < cells * 2 * POSE_EDGES; i++)
		fwd[i] = output_at(&ps->fwd, t, i);
	t = nn_session_output(s, ps->bwd.index);
	for (size_t i = 0; i < cells * 2 * POSE_EDGES; i++)
		bwd[i] = output_at(&ps->bwd, t, i);
	maps->height = ps->grid_h;
	maps->width = ps->grid_w;
	maps->stride = ps->stride;
	maps->scores = heat;
	maps->offsets = off;
	maps->disp_fwd = fwd;
	maps->disp_bwd = bwd;
	maps->disp_channels = 2 * POSE_EDGES;
	return bwd + cells * 2 * POSE_EDGES;
}

static pool_status pose_postprocess(const task_request *rq, nn_session *s, const task_input *in,
				    json_t **result, uint8_t **png, size_t *png_len, nn_err *err)
{
	const pose_state *ps = rq->state;
	const pool_task_params *q = rq->params;
	pose_frame f = {
	    .tensor_width = in->tensor_width,
	    .tensor_height = in->tensor_height,
	    .image_width = in->image_width,
	    .image_height = in->image_height,
	    .letterboxed = in->letterboxed,
	    .box_x = in->box.x,
	    .box_y = in->box.y,
	    .box_w = in->box.w,
	    .box_h = in->box.h,
	};
	pose_result *poses = NULL;
	json_t *res, *preds, *img;
	int n = 0;

	(void)png;
	(void)png_len;
	if (ps->family == POSE_FAMILY_MOVENET) {
		const nn_tensor *t = nn_session_output(s, ps->kps.index);
		float threshold = q->threshold >= 0.0f ? q->threshold : POSE_DEFAULT_MOVENET_THRESHOLD;
		double sum = 0.0;

		if (!(poses = nn_calloc(1, sizeof(*poses)))) {
			nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
			return POOL_FAILED;
		}
		for (int k = 0; k < POSE_KEYPOINTS; k++) {
			/* normalized to the input: edges at 0 and 1, pixel centres at +0.5 */
			float y = output_at(&ps->kps, t, (size_t)k * 3) * (float)in->tensor_height - 0.5f;
			float x = output_at(&ps->kps, t, (size_t)k * 3 + 1) * (float)in->tensor_width - 0.5f;
			float sc = clean_score(output_at(&ps->kps, t, (size_t)k * 3 + 2));
			poses[0].kp[k] = (pose_keypoint){.x = x, .y = y, .score = sc};
			sum += sc;
		}
		poses[0].score = (float)(sum / POSE_KEYPOINTS);
		n = poses[0].score >= threshold ? 1 : 0;
	} else if (ps->family == POSE_FAMILY_DECODED) {
		const float *kp = nn_session_output(s, 0)->data, *ks = nn_session_output(s, 1)->data;
		const float *sc = nn_session_output(s, 2)->data, *cnt = nn_session_output(s, 3)->data;
		float threshold = q->threshold >= 0.0f ? q->threshold : POSE_DEFAULT_DECODED_THRESHOLD;
		int max_poses = q->max_poses > 0 ? q->max_poses : POSE_DEFAULT_MAX_POSES;
		/* the count is a float written by the op: never trust it past N */
		int count = cnt[0] >= 0.0f && cnt[0] <= (float)ps->max_decoded ? (int)cnt[0] : 0;

		if (max_poses > count)
			max_poses = count;
		if (max_poses > 0 && !(poses = nn_calloc((size_t)max_poses, sizeof(*poses)))) {
			nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
			return POOL_FAILED;
		}
		/* the op returns its poses best first */
		for (int i = 0; i < count && n < max_poses; i++) {
			if (!(sc[i] >= threshold))
				continue;
			poses[n].score = sc[i];
			for (int k = 0; k < POSE_KEYPOINTS; k++) {
				size_t at = (size_t)i * POSE_KEYPOINTS + k;
				poses[n].kp[k] = (pose_keypoint){
				    .y = kp[2 * at], .x = kp[2 * at + 1], .score = clean_score(ks[at])};
			}
			n++;
		}
	} else {
		pose_decode_params dp = {
		    .part_threshold = POSE_DEFAULT_PART_THRESHOLD * ps->score_ceiling,
		    .pose_threshold = q->threshold >= 0.0f
					  ? q->threshold
					  : POSE_DEFAULT_POSENET_THRESHOLD * ps->score_ceiling,
		    .nms_radius = POSE_DEFAULT_NMS_RADIUS,
		    .max_poses = q->max_poses > 0 ? q->max_poses : POSE_DEFAULT_MAX_POSES,
		};
		pose_maps maps;
		float *buf;
		void *scratch;

		if (dp.max_poses > POSE_MAX_DECODED)
			dp.max_poses = POSE_MAX_DECODED;
		buf = nn_malloc(ps->scratch_bytes);
		poses = nn_calloc((size_t)dp.max_poses, sizeof(*poses));
		if (!buf || !poses) {
			nn_free(buf);
			nn_free(poses);
			nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
			return POOL_FAILED;
		}
		scratch = load_maps(ps, s, buf, &maps);
		n = pose_decode_multi(&maps, &dp, scratch,
				      ps->scratch_bytes - (size_t)((char *)scratch - (char *)buf), poses,
				      dp.max_poses);
		nn_free(buf);
		if (n < 0) {
			nn_free(poses);
			nn_err_set(err, NN_ERR_INTERNAL, "pose decoding refused its arguments");
			return POOL_FAILED;
		}
	}

	res = json_object();
	preds = json_array();
	img = json_object();
	for (int i = 0; i < n; i++)
		json_array_append_new(preds, pose_json(ps, &poses[i], &f));
	nn_free(poses);
	json_object_set_new(img, "width", json_integer(in->image_width));
	json_object_set_new(img, "height", json_integer(in->image_height));
	json_object_set_new(res, "predictions", preds);
	json_object_set_new(res, "image", img);
	*result = res;
	return POOL_OK;
}

const task_ops task_pose = {
    .task = POOL_TASK_POSE,
    .prepare = pose_prepare,
    .free = pose_free,
    .preprocess = NULL, /* the image path */
    .postprocess = pose_postprocess,
};
