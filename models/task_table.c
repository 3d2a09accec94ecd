/* task_table.c - which adapter serves which task.
 *
 * DESIGN: one table.  Tasks whose adapter has not landed yet (detection,
 * pose, segmentation, smart reply) have an entry without postprocess: their
 * models load and serve the tensor endpoints, and pool_predict explains
 * that the task endpoint is not there yet.  Plugging an adapter in = point
 * the entry at its vtable.
 */
#include "task.h"

static const task_ops task_tensor = {.task = POOL_TASK_TENSOR};

const task_ops *task_ops_for(pool_task t)
{
	switch (t) {
	case POOL_TASK_CLASSIFICATION: return &task_classification;
	case POOL_TASK_DETECTION: return &task_detection;
	case POOL_TASK_POSE: return &task_pose;
	case POOL_TASK_SEGMENTATION: return &task_segmentation;
	case POOL_TASK_SMART_REPLY: return &task_smart_reply;
	case POOL_TASK_TENSOR:
	default: return &task_tensor;
	}
}
