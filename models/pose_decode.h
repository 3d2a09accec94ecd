/* pose_decode.h - PoseNet keypoint names and geometry (models/ internal:
 * task_pose.c and its tests), over the engine's decoder.
 *
 * DESIGN: the multi-person decoder lives in the engine
 * (engine/kernels/posenet_decode.h) because Coral's PosenetDecoderOp kernel
 * runs the same algorithm family; the adapter uses it for PoseNet models
 * whose graph stops at the raw maps.  What only the adapter needs (names,
 * mapping tensor pixels back to the picture) stays here.
 */
#ifndef LITESERVE_MODELS_POSE_DECODE_H
#define LITESERVE_MODELS_POSE_DECODE_H

#include <stdbool.h>

#include "kernels/posenet_decode.h"

/* The COCO keypoint names in model order (shared/models/labels/coco_keypoints_17.txt). */
extern const char *const pose_keypoint_names[POSE_KEYPOINTS];

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
