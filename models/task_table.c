/* task_table.c - which adapter serves which task.
 *
 * DESIGN: one table.  Every task has its adapter (task_<name>.c); the
 * tensor "task" has none: such models serve only the KServe v2 and TF
 * Serving tensor endpoints, and pool_predict answers POOL_NO_TASK with
 * where to send tensors instead.
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
