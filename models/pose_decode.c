/* pose_decode.c - keypoint names and tensor-to-picture mapping (see
 * pose_decode.h; the decoder itself is engine/kernels/posenet_decode.c).
 *
 * DESIGN: pure geometry, no state: a point is scaled in continuous
 * coordinates (pixel centres at +0.5) so the resize's own convention
 * cancels, then clamped into the picture.
 */
#include "pose_decode.h"

const char *const pose_keypoint_names[POSE_KEYPOINTS] = {
    "nose",	      "left_eye",   "right_eye",   "left_ear",	 "right_ear",	"left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip",      "left_knee",  "right_knee",  "left_ankle", "right_ankle",
};

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
