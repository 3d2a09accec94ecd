/* pose_decode.h - PoseNet multi-person decoding and keypoint geometry
 * (models/ internal: task_pose.c and its tests).
 *
 * DESIGN: the decoder works on plain float maps so it can be tested on
 * synthetic heatmaps without a model; task_pose.c dequantizes the model's
 * outputs into those maps.  Semantics are those of PoseNet's reference
 * multi-pose decoder (tfjs-models posenet, multi_pose/): candidate roots are
 * local maxima (window radius 1) of every part's score map at or above the
 * part threshold, taken in decreasing score order; a root within the NMS
 * radius of the same part of an already decoded pose is skipped; the other
 * parts are reached along the 16-edge tree, first backward (child -> parent,
 * displacements_bwd) from the last edge to the first, then forward (parent
 * -> child, displacements_fwd), each hop refined twice with the target
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
 * Positions are in model-input pixels, (0, 0) the centre of the first pixel
 * (heatmap cell i sits at i * stride, hence stride = (in - 1) / (H - 1)).
 */
#ifndef LITESERVE_MODELS_POSE_DECODE_H
#define LITESERVE_MODELS_POSE_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#define POSE_KEYPOINTS 17
#define POSE_EDGES 16
#define POSE_MAX_DECODED 256		 /* poses decoded per image, kept or not */
#define POSE_DEFAULT_PART_THRESHOLD 0.5f /* reference scoreThreshold (root candidates) */
#define POSE_DEFAULT_NMS_RADIUS 20.0f	 /* reference nmsRadius, model-input pixels */
#define POSE_DEFAULT_MAX_POSES 5	 /* reference maxDetections */

/* The COCO keypoint names in model order (shared/models/labels/coco_keypoints_17.txt). */
extern const char *const pose_keypoint_names[POSE_KEYPOINTS];

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
	const float *scores;   /* C = 17: part scores in [0, 1] (sigmoid of the logits) */
	const float *offsets;  /* C = 34: y of part k at k, x at 17 + k */
	const float *disp_fwd; /* C = 32: parent -> child, y of edge e at e, x at 16 + e */
	const float *disp_bwd; /* C = 32: child -> parent, same layout */
} pose_maps;

typedef struct pose_decode_params {
	float part_threshold; /* root candidates need a part score >= this */
	float pose_threshold; /* poses returned need a score >= this */
	float nms_radius;     /* model-input pixels, > 0 */
	int max_poses;	      /* poses returned, >= 1 */
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

/* Where the model input came from: the picture's size and how it was
 * resized into the tensor (stretched per axis, or letterboxed at box). */
typedef struct pose_frame {
	int tensor_width, tensor_height;
	int image_width, image_height;
	bool letterboxed;
	int box_x, box_y, box_w, box_h; /* the picture inside the tensor when letterboxed */
} pose_frame;

/* Maps a point from tensor pixels (pixel centres at integers) to image
 * pixels and clamps it into [0, image_width - 1] x [0, image_height - 1]
 * (a non-finite coordinate becomes 0). */
void pose_frame_to_image(const pose_frame *f, float tx, float ty, float *ix, float *iy);

#endif
