/* pose_decode.c - PoseNet multi-person decoding (see pose_decode.h).
 *
 * DESIGN: one pass collects the candidate roots into scratch and sorts them
 * (a sorted array pops in the same order as the reference's max-heap, and a
 * total order makes ties deterministic); a second pass decodes poses into
 * the rest of the scratch.  Nothing is allocated here: the caller sizes the
 * scratch from the grid with pose_decode_scratch_bytes, so the work and
 * memory of one image are bounded by the model, not by what the maps hold.
 * Grid indices come from float positions that displacements can send
 * anywhere (or to NaN): near_cell clamps every one of them into the grid
 * before it indexes a map.
 */
#include "pose_decode.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const pose_keypoint_names[POSE_KEYPOINTS] = {
    "nose",	      "left_eye",   "right_eye",   "left_ear",	 "right_ear",	"left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip",      "left_knee",  "right_knee",  "left_ankle", "right_ankle",
};

/* The part tree rooted at the nose, as (parent, child) per edge; the edge
 * order is the channel order of the displacement maps. */
static const unsigned char edge_parent[POSE_EDGES] = {0, 1, 0, 2, 0, 5, 7, 5, 11, 13, 0, 6, 8, 6, 12, 14};
static const unsigned char edge_child[POSE_EDGES] = {1, 3, 2, 4, 5, 7, 9, 11, 13, 15, 6, 8, 10, 12, 14, 16};

typedef struct candidate {
	float score;
	int32_t index; /* (y * W + x) * 17 + part */
} candidate;

size_t pose_decode_scratch_bytes(int height, int width)
{
	size_t cells, n;
	if (height < 1 || width < 1)
		return 0;
	cells = (size_t)height * (size_t)width;
	if (cells > (size_t)INT32_MAX / POSE_KEYPOINTS)
		return 0; /* candidate indices are int32 */
	n = cells * POSE_KEYPOINTS;
	return n * sizeof(candidate) + (size_t)POSE_MAX_DECODED * sizeof(pose_result);
}

static int cmp_candidate(const void *a, const void *b)
{
	const candidate *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* The reference rounds half up (Math.round) and clamps into the grid. */
static int near_cell(float pos, int stride, int n)
{
	double q = floor((double)pos / stride + 0.5);
	if (!(q >= 0.0)) /* negative or NaN */
		return 0;
	if (q > n - 1)
		return n - 1;
	return (int)q;
}

/* Local maximum of part k at (y, x) in a radius-1 window: no neighbour is
 * strictly greater (equal neighbours are all candidates, as in the reference). */
static bool local_max(const pose_maps *m, int y, int x, int k, float s)
{
	int y0 = y > 0 ? y - 1 : 0, y1 = y + 1 < m->height ? y + 1 : m->height - 1;
	int x0 = x > 0 ? x - 1 : 0, x1 = x + 1 < m->width ? x + 1 : m->width - 1;
	for (int yy = y0; yy <= y1; yy++)
		for (int xx = x0; xx <= x1; xx++)
			if (m->scores[((size_t)yy * m->width + xx) * POSE_KEYPOINTS + k] > s)
				return false;
	return true;
}

static bool within_nms(const pose_result *poses, int n, float r2, int k, float x, float y)
{
	for (int i = 0; i < n; i++) {
		float dx = poses[i].kp[k].x - x, dy = poses[i].kp[k].y - y;
		if (dx * dx + dy * dy <= r2)
			return true;
	}
	return false;
}

/* Follows edge e's displacement from src to part `target`, then refines the
 * landing point twice with the target's offsets (the reference's
 * offsetRefineStep = 2); the score is read where the refined point lands. */
static pose_keypoint traverse(const pose_maps *m, int e, pose_keypoint src, int target, const float *disp)
{
	int sy = near_cell(src.y, m->stride, m->height), sx = near_cell(src.x, m->stride, m->width);
	const float *d = disp + ((size_t)sy * m->width + sx) * (2 * POSE_EDGES);
	pose_keypoint t;
	int cy, cx;

	t.y = src.y + d[e];
	t.x = src.x + d[POSE_EDGES + e];
	for (int step = 0; step < 2; step++) {
		const float *o;
		cy = near_cell(t.y, m->stride, m->height);
		cx = near_cell(t.x, m->stride, m->width);
		o = m->offsets + ((size_t)cy * m->width + cx) * (2 * POSE_KEYPOINTS);
		t.y = (float)(cy * m->stride) + o[target];
		t.x = (float)(cx * m->stride) + o[POSE_KEYPOINTS + target];
	}
	cy = near_cell(t.y, m->stride, m->height);
	cx = near_cell(t.x, m->stride, m->width);
	t.score = m->scores[((size_t)cy * m->width + cx) * POSE_KEYPOINTS + target];
	return t;
}

static void decode_pose(const pose_maps *m, const candidate *root, pose_result *pose)
{
	bool known[POSE_KEYPOINTS] = {false};
	int cell = root->index / POSE_KEYPOINTS, k = root->index % POSE_KEYPOINTS;
	int y = cell / m->width, x = cell % m->width;
	const float *o = m->offsets + (size_t)cell * (2 * POSE_KEYPOINTS);

	memset(pose, 0, sizeof(*pose));
	pose->kp[k].y = (float)(y * m->stride) + o[k];
	pose->kp[k].x = (float)(x * m->stride) + o[POSE_KEYPOINTS + k];
	pose->kp[k].score = root->score;
	known[k] = true;
	for (int e = POSE_EDGES - 1; e >= 0; e--) {
		int s = edge_child[e], t = edge_parent[e];
		if (known[s] && !known[t]) {
			pose->kp[t] = traverse(m, e, pose->kp[s], t, m->disp_bwd);
			known[t] = true;
		}
	}
	for (int e = 0; e < POSE_EDGES; e++) {
		int s = edge_parent[e], t = edge_child[e];
		if (known[s] && !known[t]) {
			pose->kp[t] = traverse(m, e, pose->kp[s], t, m->disp_fwd);
			known[t] = true;
		}
	}
}

/* Stable selection of the kept poses by score: insertion sort (at most
 * max_poses entries), so equal scores keep their decoding order. */
static void sort_poses(pose_result *out, int n)
{
	for (int i = 1; i < n; i++) {
		pose_result v = out[i];
		int j = i;
		while (j > 0 && out[j - 1].score < v.score) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = v;
	}
}

int pose_decode_multi(const pose_maps *m, const pose_decode_params *p, void *scratch, size_t scratch_bytes,
		      pose_result *out, int out_cap)
{
	size_t need, n_cand = 0;
	candidate *cand;
	pose_result *decoded;
	int n_decoded = 0, n_out = 0, limit;
	float r2;

	if (!m || !p || !scratch || (!out && out_cap > 0) || out_cap < 0 || m->stride < 1 || !m->scores ||
	    !m->offsets || !m->disp_fwd || !m->disp_bwd || !(p->nms_radius > 0.0f))
		return -1;
	need = pose_decode_scratch_bytes(m->height, m->width);
	if (need == 0 || scratch_bytes < need)
		return -1;
	limit = p->max_poses < out_cap ? p->max_poses : out_cap;
	if (limit <= 0)
		return 0;
	cand = scratch;
	decoded = (pose_result *)(cand + (size_t)m->height * m->width * POSE_KEYPOINTS);
	r2 = p->nms_radius * p->nms_radius;

	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++)
			for (int k = 0; k < POSE_KEYPOINTS; k++) {
				size_t i = ((size_t)y * m->width + x) * POSE_KEYPOINTS + k;
				float s = m->scores[i];
				/* written so that NaN is never a candidate */
				if (!(s >= p->part_threshold) || !local_max(m, y, x, k, s))
					continue;
				cand[n_cand].score = s;
				cand[n_cand].index = (int32_t)i;
				n_cand++;
			}
	qsort(cand, n_cand, sizeof(*cand), cmp_candidate);

	for (size_t c = 0; c < n_cand && n_out < limit && n_decoded < POSE_MAX_DECODED; c++) {
		const candidate *root = &cand[c];
		int cell = root->index / POSE_KEYPOINTS, k = root->index % POSE_KEYPOINTS;
		const float *o = m->offsets + (size_t)cell * (2 * POSE_KEYPOINTS);
		float ry = (float)(cell / m->width * m->stride) + o[k];
		float rx = (float)(cell % m->width * m->stride) + o[POSE_KEYPOINTS + k];
		pose_result *pose = &decoded[n_decoded];
		double sum = 0.0;

		if (within_nms(decoded, n_decoded, r2, k, rx, ry))
			continue;
		decode_pose(m, root, pose);
		for (int j = 0; j < POSE_KEYPOINTS; j++)
			if (!within_nms(decoded, n_decoded, r2, j, pose->kp[j].x, pose->kp[j].y))
				sum += pose->kp[j].score;
		pose->score = (float)(sum / POSE_KEYPOINTS);
		n_decoded++;
		if (pose->score >= p->pose_threshold)
			out[n_out++] = *pose;
	}
	sort_poses(out, n_out);
	return n_out;
}

void pose_frame_to_image(const pose_frame *f, float tx, float ty, float *ix, float *iy)
{
	/* continuous coordinates (0 = the picture's left edge) scale linearly;
	 * pixel centres sit at +0.5 */
	double u = (double)tx + 0.5, v = (double)ty + 0.5, x, y;

	if (f->letterboxed && f->box_w > 0 && f->box_h > 0) {
		x = (u - f->box_x) * f->image_width / f->box_w;
		y = (v - f->box_y) * f->image_height / f->box_h;
	} else {
		x = u * f->image_width / (f->tensor_width > 0 ? f->tensor_width : 1);
		y = v * f->image_height / (f->tensor_height > 0 ? f->tensor_height : 1);
	}
	x -= 0.5;
	y -= 0.5;
	if (!(x >= 0.0))
		x = 0.0;
	if (!(y >= 0.0))
		y = 0.0;
	if (x > f->image_width - 1)
		x = f->image_width - 1 > 0 ? f->image_width - 1 : 0;
	if (y > f->image_height - 1)
		y = f->image_height - 1 > 0 ? f->image_height - 1 : 0;
	*ix = (float)x;
	*iy = (float)y;
}
