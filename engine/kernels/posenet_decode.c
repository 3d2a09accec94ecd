/* posenet_decode.c - PoseNet multi-person decoding (see posenet_decode.h).
 *
 * DESIGN: one pass collects the candidate roots into scratch and sorts them
 * in place (a sorted array pops in the same order as the reference's max-heap, and a
 * total order makes ties deterministic); a second pass decodes poses into
 * the rest of the scratch.  Nothing is allocated here: the caller sizes the
 * scratch from the grid with pose_decode_scratch_bytes, so the work and
 * memory of one image are bounded by the model, not by what the maps hold.
 * Grid indices come from float positions that displacements can send
 * anywhere (or to NaN): near_cell clamps every one of them into the grid
 * before it indexes a map; the Coral variant clamps its continuous grid
 * positions instead (as Coral does), and a NaN lands on 0.  Coral's
 * priority queue of parts is a small array scanned for its best entry: a
 * pose pushes at most 1 + 32 entries (each part is fixed once and pushes
 * one entry per edge leaving it).
 */
#include "posenet_decode.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The part tree rooted at the nose, as (parent, child) per edge; the edge
 * order is the channel order of the displacement maps. */
static const unsigned char edge_parent[POSE_EDGES] = {0, 1, 0, 2, 0, 5, 7, 5, 11, 13, 0, 6, 8, 6, 12, 14};
static const unsigned char edge_child[POSE_EDGES] = {1, 3, 2, 4, 5, 7, 9, 11, 13, 15, 6, 8, 10, 12, 14, 16};

static size_t disp_channels(const pose_maps *m)
{
	return m->disp_channels > 0 ? (size_t)m->disp_channels : 2 * POSE_EDGES;
}

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

/* True when a pops before b: higher score, then lower index (a total
 * order, so any correct sort gives the same sequence). */
static bool cand_before(const candidate *a, const candidate *b)
{
	if (a->score != b->score)
		return a->score > b->score;
	return a->index < b->index;
}

static void sift_down(candidate *c, size_t i, size_t n)
{
	for (;;) {
		size_t last = i, l = 2 * i + 1, r = l + 1;
		if (l < n && cand_before(&c[last], &c[l]))
			last = l;
		if (r < n && cand_before(&c[last], &c[r]))
			last = r;
		if (last == i)
			return;
		candidate t = c[i];
		c[i] = c[last];
		c[last] = t;
		i = last;
	}
}

/* In-place heap sort into pop order: the kernel's eval may not allocate,
 * and glibc's qsort can call malloc for arrays this large. */
static void sort_candidates(candidate *c, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(c, i, n);
	for (size_t end = n; end > 1; end--) {
		candidate t = c[0];
		c[0] = c[end - 1];
		c[end - 1] = t;
		sift_down(c, 0, end - 1);
	}
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
	const float *d = disp + ((size_t)sy * m->width + sx) * disp_channels(m);
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

/* --- Coral's variant (grid units, bilinear sampling, best-first walk) --- */

/* Into [0, hi]; NaN goes to 0 so it can never index a map. */
static float clamp_grid(float v, float hi)
{
	if (!(v >= 0.0f))
		return 0.0f;
	return v > hi ? hi : v;
}

/* Bilinear sample of channel c of a [H, W, C] map at a grid point already
 * inside the grid. */
static float sample(const float *map, const pose_maps *m, size_t channels, float y, float x, size_t c)
{
	int y0 = (int)floorf(y), x0 = (int)floorf(x);
	int y1 = (int)ceilf(y), x1 = (int)ceilf(x);
	float ly = y - (float)y0, lx = x - (float)x0;
	const float *r0 = map + (size_t)y0 * m->width * channels,
		    *r1 = map + (size_t)y1 * m->width * channels;
	float top = (1 - lx) * r0[(size_t)x0 * channels + c] + lx * r0[(size_t)x1 * channels + c];
	float bot = (1 - lx) * r1[(size_t)x0 * channels + c] + lx * r1[(size_t)x1 * channels + c];
	return (1 - ly) * top + ly * bot;
}

static float sigmoidf(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/* A probability threshold as the logit the heatmap is compared with
 * (Coral's Logodds, whose 1e-6 keeps 0 and 1 finite enough). */
static float logodds(float p)
{
	return -logf(1.0f / (p + 1e-6f) - 1.0f);
}

typedef struct queued {
	float y, x, logit;
	int part;
} queued;

#define CORAL_QUEUE 40	     /* >= 1 + 2 * POSE_EDGES: see DESIGN */
#define CORAL_REFINE_STEPS 5 /* Coral's mid_short_offset_refinement_steps */

/* Hop along edge e (0..31: forward 0..15, backward 16..31) from (y, x);
 * positions in grid units. */
static queued coral_hop(const pose_maps *m, int e, float y, float x, int target)
{
	float hy = (float)(m->height - 1), hx = (float)(m->width - 1), s = (float)m->stride;
	size_t dc = disp_channels(m);
	const float *disp = e < POSE_EDGES ? m->disp_fwd : m->disp_bwd;
	int j = e % POSE_EDGES;
	queued q;

	float dy = sample(disp, m, dc, y, x, (size_t)j),
	      dx = sample(disp, m, dc, y, x, (size_t)(POSE_EDGES + j));
	y = clamp_grid(y + dy / s, hy);
	x = clamp_grid(x + dx / s, hx);
	for (int i = 0; i < CORAL_REFINE_STEPS; i++) {
		float oy = sample(m->offsets, m, 2 * POSE_KEYPOINTS, y, x, (size_t)target);
		float ox = sample(m->offsets, m, 2 * POSE_KEYPOINTS, y, x, (size_t)(POSE_KEYPOINTS + target));
		y = clamp_grid(y + oy / s, hy);
		x = clamp_grid(x + ox / s, hx);
	}
	q.y = y;
	q.x = x;
	q.part = target;
	q.logit = sample(m->scores, m, POSE_KEYPOINTS, y, x, (size_t)target);
	return q;
}

/* Walks one pose best first from the root (grid point ry, rx); keypoint
 * scores come out as probabilities, positions in grid units. */
static void coral_decode(const pose_maps *m, int root, float ry, float rx, pose_result *pose)
{
	queued q[CORAL_QUEUE];
	int n = 0;
	bool fixed[POSE_KEYPOINTS] = {false};

	memset(pose, 0, sizeof(*pose));
	q[n++] = (queued){ry, rx, sample(m->scores, m, POSE_KEYPOINTS, ry, rx, (size_t)root), root};
	while (n > 0) {
		int best = 0;
		for (int i = 1; i < n; i++)
			if (q[i].logit > q[best].logit)
				best = i;
		queued cur = q[best];
		q[best] = q[--n];
		if (fixed[cur.part])
			continue;
		fixed[cur.part] = true;
		pose->kp[cur.part].y = cur.y;
		pose->kp[cur.part].x = cur.x;
		pose->kp[cur.part].score = sigmoidf(cur.logit);
		for (int e = 0; e < 2 * POSE_EDGES; e++) {
			int j = e % POSE_EDGES;
			int from = e < POSE_EDGES ? edge_parent[j] : edge_child[j];
			int to = e < POSE_EDGES ? edge_child[j] : edge_parent[j];
			if (from != cur.part || fixed[to] || n >= CORAL_QUEUE)
				continue;
			q[n++] = coral_hop(m, e, cur.y, cur.x, to);
		}
	}
}

static int decode_coral(const pose_maps *m, const pose_decode_params *p, const candidate *cand, size_t n_cand,
			pose_result *decoded, pose_result *out, int limit)
{
	float s = (float)m->stride, hy = (float)(m->height - 1), hx = (float)(m->width - 1);
	float rg = p->nms_radius / s, r2 = rg * rg;
	int n_kept = 0, n_out = 0;

	if (limit > POSE_MAX_DECODED)
		limit = POSE_MAX_DECODED;
	for (size_t c = 0; c < n_cand && n_kept < limit; c++) {
		int cell = cand[c].index / POSE_KEYPOINTS, k = cand[c].index % POSE_KEYPOINTS;
		const float *o = m->offsets + (size_t)cell * (2 * POSE_KEYPOINTS);
		float ry = clamp_grid((float)(cell / m->width) + o[k] / s, hy);
		float rx = clamp_grid((float)(cell % m->width) + o[POSE_KEYPOINTS + k] / s, hx);
		pose_result *pose = &decoded[n_kept];
		float sum = 0.0f;

		if (within_nms(decoded, n_kept, r2, k, rx, ry))
			continue;
		coral_decode(m, k, ry, rx, pose);
		for (int j = 0; j < POSE_KEYPOINTS; j++)
			sum += pose->kp[j].score;
		pose->score = sum / POSE_KEYPOINTS;
		/* a rejected pose is overwritten by the next one: it suppresses nothing */
		if (pose->score >= p->pose_threshold)
			n_kept++;
	}
	/* soft NMS in decreasing initial score: only coordinates of better poses
	 * matter, so rescoring in place is safe */
	sort_poses(decoded, n_kept);
	for (int i = 0; i < n_kept; i++) {
		float sum = 0.0f;
		for (int j = 0; j < POSE_KEYPOINTS; j++)
			if (!within_nms(decoded, i, r2, j, decoded[i].kp[j].x, decoded[i].kp[j].y))
				sum += decoded[i].kp[j].score;
		decoded[i].score = sum / POSE_KEYPOINTS;
	}
	sort_poses(decoded, n_kept);
	for (int i = 0; i < n_kept && decoded[i].score >= p->pose_threshold; i++) {
		out[n_out] = decoded[i];
		for (int j = 0; j < POSE_KEYPOINTS; j++) {
			out[n_out].kp[j].x *= s;
			out[n_out].kp[j].y *= s;
		}
		n_out++;
	}
	return n_out;
}

/* --- the TFJS variant and the shared entry ----------------------------- */

static int decode_tfjs(const pose_maps *m, const pose_decode_params *p, const candidate *cand, size_t n_cand,
		       pose_result *decoded, pose_result *out, int limit)
{
	int n_decoded = 0, n_out = 0;
	float r2 = p->nms_radius * p->nms_radius;

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

int pose_decode_multi(const pose_maps *m, const pose_decode_params *p, void *scratch, size_t scratch_bytes,
		      pose_result *out, int out_cap)
{
	size_t need, n_cand = 0;
	candidate *cand;
	pose_result *decoded;
	int limit;
	float threshold;

	if (!m || !p || !scratch || (!out && out_cap > 0) || out_cap < 0 || m->stride < 1 || !m->scores ||
	    !m->offsets || !m->disp_fwd || !m->disp_bwd || !(p->nms_radius > 0.0f) || m->disp_channels < 0 ||
	    (m->disp_channels > 0 && m->disp_channels < 2 * POSE_EDGES) ||
	    (p->variant != POSE_DECODE_TFJS && p->variant != POSE_DECODE_CORAL))
		return -1;
	need = pose_decode_scratch_bytes(m->height, m->width);
	if (need == 0 || scratch_bytes < need)
		return -1;
	limit = p->max_poses < out_cap ? p->max_poses : out_cap;
	if (limit <= 0)
		return 0;
	cand = scratch;
	decoded = (pose_result *)(cand + (size_t)m->height * m->width * POSE_KEYPOINTS);
	threshold = p->variant == POSE_DECODE_CORAL ? logodds(p->part_threshold) : p->part_threshold;

	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++)
			for (int k = 0; k < POSE_KEYPOINTS; k++) {
				size_t i = ((size_t)y * m->width + x) * POSE_KEYPOINTS + k;
				float s = m->scores[i];
				/* written so that NaN is never a candidate */
				if (!(s >= threshold) || !local_max(m, y, x, k, s))
					continue;
				cand[n_cand].score = s;
				cand[n_cand].index = (int32_t)i;
				n_cand++;
			}
	sort_candidates(cand, n_cand);
	if (p->variant == POSE_DECODE_CORAL)
		return decode_coral(m, p, cand, n_cand, decoded, out, limit);
	return decode_tfjs(m, p, cand, n_cand, decoded, out, limit);
}
