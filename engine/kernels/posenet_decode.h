/* posenet_decode.h - PoseNet multi-person decoding, shared by the
 * PosenetDecoderOp kernel (posenet_decoder.c) and the pose adapter
 * (models/task_pose.c through models/pose_decode.h).
 *
 * DESIGN: the decoder works on plain float maps so it can be tested on
 * synthetic heatmaps without a model.  Two published decoders share one
 * skeleton here (candidate roots, root NMS, the 16-edge part tree, a pose
 * score that ignores parts claimed by another pose) and differ in how a
 * pose is walked and scored; params.variant picks one:
 *
 * POSE_DECODE_TFJS (tfjs-models posenet, multi_pose/): scores are
 * probabilities.  Candidate roots are local maxima (window radius 1) of
 * every part's score map at or above the part threshold, taken in
 * decreasing score order; a root within the NMS radius of the same part of
 * an already decoded pose is skipped; the other parts are reached along the
 * tree, first backward (child -> parent, displacements_bwd) from the last
 * edge to the first, then forward (parent -> child, displacements_fwd),
 * each hop read at the nearest cell and refined twice with the target
 * part's offsets; a pose scores the mean over 17 parts of the part scores
 * that are not within the NMS radius of that part of an earlier pose.
 * Where the reference leaves things open we chose:
 *   - ties between candidates: lower (y, x, part) index first, so the answer
 *     never depends on sort stability;
 *   - poses below the pose threshold are decoded (they still suppress later
 *     roots, as in the reference) but not returned and do not count towards
 *     max_poses, so a weak duplicate cannot take the place of a person;
 *   - at most POSE_MAX_DECODED poses are decoded per image, which bounds the
 *     work (candidates x decoded) whatever the maps contain.
 *
 * POSE_DECODE_CORAL (Coral's PosenetDecoderOp, libcoral
 * pose_estimation/posenet_decoder.cc): scores are LOGITS.  Roots need a
 * logit >= logodds(part_threshold); a root starts at its cell plus its own
 * offset, clamped into the grid, and its score is the bilinear sample of its
 * logit there.  The pose grows best first: a priority queue of (part, point,
 * logit) pops the best undecoded part, fixes it, and pushes every
 * undecoded neighbour along either direction of an edge (forward edges use
 * displacements_fwd, backward ones displacements_bwd); a hop samples the
 * displacement bilinearly at the source, then refines five times by the
 * target's offsets sampled bilinearly at the current point, clamping into
 * the grid after every step.  Part scores are sigmoid(logit); a pose is kept
 * when the mean of its 17 part scores reaches pose_threshold, and only kept
 * poses suppress later roots and count towards max_poses.  Then the kept
 * poses are rescored in decreasing score order (soft NMS: parts within the
 * NMS radius of the same part of a better pose count 0), re-sorted, and
 * those still >= pose_threshold are returned.  Coral computes in grid units
 * with offsets / stride and the radius / stride; so do we, and scale to
 * pixels at the end.
 *
 * Positions are in model-input pixels, (0, 0) the centre of the first pixel
 * (heatmap cell i sits at i * stride).
 */
#ifndef LITESERVE_ENGINE_POSENET_DECODE_H
#define LITESERVE_ENGINE_POSENET_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#define POSE_KEYPOINTS 17
#define POSE_EDGES 16
#define POSE_MAX_DECODED 256		 /* poses decoded per image, kept or not */
#define POSE_DEFAULT_PART_THRESHOLD 0.5f /* reference scoreThreshold (root candidates) */
#define POSE_DEFAULT_NMS_RADIUS 20.0f	 /* reference nmsRadius, model-input pixels */
#define POSE_DEFAULT_MAX_POSES 5	 /* reference maxDetections */

typedef struct pose_keypoint {
	float x, y;  /* position (model-input pixels until mapped to the image) */
	float score; /* part score in [0, 1] */
} pose_keypoint;

typedef struct pose_result {
	float score; /* pose score in [0, 1] */
	pose_keypoint kp[POSE_KEYPOINTS];
} pose_result;

/* The decoder's inputs: four [H, W, C] maps, row-major, channels last. */
typedef struct pose_maps {
	int height, width;     /* heatmap grid, >= 1 each */
	int stride;	       /* output stride in model-input pixels, >= 1 */
	const float *scores;   /* C = 17: part scores in [0, 1] (TFJS) or logits (CORAL) */
	const float *offsets;  /* C = 34: y of part k at k, x at 17 + k */
	const float *disp_fwd; /* parent -> child, y of edge e at e, x at 16 + e */
	const float *disp_bwd; /* child -> parent, same layout */
	int disp_channels;     /* floats per cell of disp_fwd/disp_bwd: 0 means 32;
				  64 when both point into one mid-range map */
} pose_maps;

typedef enum pose_decode_variant {
	POSE_DECODE_TFJS = 0,
	POSE_DECODE_CORAL = 1,
} pose_decode_variant;

typedef struct pose_decode_params {
	float part_threshold; /* root candidates need a part score >= this (a probability) */
	float pose_threshold; /* poses returned need a score >= this */
	float nms_radius;     /* model-input pixels, > 0 */
	int max_poses;	      /* poses returned, >= 1 */
	int variant;	      /* pose_decode_variant; 0 = TFJS */
} pose_decode_params;

/* Bytes of scratch pose_decode_multi needs for an H x W grid; 0 when the
 * grid is empty or its size would overflow. */
size_t pose_decode_scratch_bytes(int height, int width);

/* Decodes up to min(p->max_poses, out_cap) poses into out, sorted by score
 * (ties: decoding order).  scratch: pose_decode_scratch_bytes(H, W) bytes,
 * borrowed.  Returns the number of poses written, or -1 when the arguments
 * are invalid (NULL maps, bad sizes, scratch too small).  Allocates
 * nothing. */
int pose_decode_multi(const pose_maps *m, const pose_decode_params *p, void *scratch, size_t scratch_bytes,
		      pose_result *out, int out_cap);

#endif
