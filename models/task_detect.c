/* task_detect.c - object detection: picture in, labelled boxes out.
 *
 * DESIGN: the adapter serves SSD models whose graph ends in TFLite's
 * TFLite_Detection_PostProcess custom op (the engine runs the op: box
 * decoding and NMS happen there).  prepare finds that op and maps its four
 * outputs - boxes [1,N,4] (ymin, xmin, ymax, xmax, normalized to the input
 * tensor), classes [1,N], scores [1,N], count [1], all float32 - to graph
 * outputs by tensor index rather than trusting the output order, so a
 * converter that lists them differently still works and anything else is
 * refused at load with the reason.
 *
 * Labels follow TFLite's example apps: the labelmap's first line is a
 * placeholder ("???") for the background class the op drops, so class id k
 * is line k+1, and further "???" lines are COCO ids that were never used;
 * a detection landing on one is skipped (it names nothing).  When the op's
 * options give num_classes, a label file shorter than num_classes + 1 lines
 * is refused at load: off by one, every label would be its neighbour's.
 *
 * Boxes are answered in the uploaded picture's pixels: the op's coordinates
 * are relative to the input tensor, so a letterboxed input is mapped back
 * through the letterbox placement first; everything is clamped to the
 * picture.  "box_normalized" is the same box relative to the picture.
 * Answers are sorted by score (ties: the op's order), at most max_results
 * (default: every detection at or above the threshold, default 0.5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flexbuf.h"
#include "preprocess.h"
#include "task.h"

#define DETECT_DEFAULT_THRESHOLD 0.5f
#define DETECT_OP_NAME "TFLite_Detection_PostProcess"
#define DETECT_UNUSED_LABEL "???"

enum { DET_BOXES = 0, DET_CLASSES, DET_SCORES, DET_COUNT };

typedef struct detect_state {
	int out[4];          /* graph output index of boxes, classes, scores, count */
	int n;               /* N: detections the op can report */
} detect_state;

/* The op's num_classes option, or -1 when it cannot be read. */
static int64_t op_num_classes(const tfl_op *op)
{
	fx_ref root, v;
	nn_err e = {0};

	if (!op->custom_options || op->custom_options_size == 0 ||
	    fx_root(op->custom_options, op->custom_options_size, &root, &e) != NN_OK)
		return -1;
	if (!fx_map_get(&root, "num_classes", &v))
		return -1;
	return fx_as_int(&v, -1);
}

static nn_status detect_prepare(const pool_model *m, void **state, nn_err *err)
{
	static const char *const what[4] = {"boxes", "classes", "scores", "count"};
	const tfl_model *tm = m->model;
	const tfl_op *op = NULL;
	detect_state *ds;
	nn_status st;
	int64_t num_classes;
	int n = -1, found = 0;

	*state = NULL;
	if ((st = pre_check_image_input(m->graph, err)) != NN_OK)
		return st;
	for (int i = 0; i < tm->n_ops; i++) {
		if (tm->ops[i].custom_name && !strcmp(tm->ops[i].custom_name, DETECT_OP_NAME)) {
			op = &tm->ops[i];
			found++;
		}
	}
	if (found != 1)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "detection needs a model whose graph ends in one " DETECT_OP_NAME " op; this one has %d",
				  found);
	if (op->n_outputs != 4)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, DETECT_OP_NAME " has %d outputs, detection needs 4",
				  op->n_outputs);
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	for (int j = 0; j < 4; j++) {
		const nn_tensor *o;
		bool ok;
		ds->out[j] = -1;
		for (int i = 0; i < tm->n_outputs && i < nn_graph_n_outputs(m->graph); i++)
			if (tm->outputs[i] == op->outputs[j])
				ds->out[j] = i;
		if (ds->out[j] < 0) {
			st = nn_err_set(err, NN_ERR_UNSUPPORTED,
					"detection reads the %s output of " DETECT_OP_NAME
					" (tensor %d), which is not a graph output",
					what[j], (int)op->outputs[j]);
			goto fail;
		}
		o = nn_graph_output(m->graph, ds->out[j]);
		if (o->type != NN_F32) {
			st = nn_err_set(err, NN_ERR_UNSUPPORTED, "detection %s output '%s' is %s, not float32", what[j],
					o->name, nn_dtype_name(o->type));
			goto fail;
		}
		if (j == DET_BOXES && o->rank == 3 && o->dims[0] == 1 && o->dims[2] == 4)
			n = o->dims[1];
		switch (j) {
		case DET_BOXES: ok = o->rank == 3 && o->dims[0] == 1 && o->dims[1] >= 1 && o->dims[2] == 4; break;
		case DET_CLASSES:
		case DET_SCORES: ok = o->rank == 2 && o->dims[0] == 1 && o->dims[1] == n; break;
		default: ok = o->rank == 1 && o->dims[0] == 1; break;
		}
		if (!ok) {
			st = nn_err_set(err, NN_ERR_UNSUPPORTED,
					"detection %s output '%s' must have shape %s (rank %d, dims %d,%d,%d)", what[j],
					o->name,
					j == DET_BOXES	 ? "[1,N,4]"
					: j == DET_COUNT ? "[1]"
							 : "[1,N] with the boxes' N",
					o->rank, o->rank > 0 ? o->dims[0] : 0, o->rank > 1 ? o->dims[1] : 0,
					o->rank > 2 ? o->dims[2] : 0);
			goto fail;
		}
	}
	ds->n = n;
	num_classes = op_num_classes(op);
	if (m->labels && num_classes > 0 && m->n_labels < num_classes + 1) {
		st = nn_err_set(err, NN_ERR_BAD_MODEL,
				"the label file has %d lines but the detector has %lld classes: class id k is line k+1 "
				"(line 0 is the background placeholder), so it needs %lld lines",
				m->n_labels, (long long)num_classes, (long long)num_classes + 1);
		goto fail;
	}
	*state = ds;
	return NN_OK;
fail:
	free(ds);
	return st;
}

typedef struct detection {
	float score;
	int index;           /* in the op's output */
	int class_id;
	const char *label;   /* borrowed from the model; NULL = none */
} detection;

static int cmp_detection(const void *a, const void *b)
{
	const detection *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index - y->index;
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A tensor-normalized coordinate -> picture pixels (see DESIGN). */
static double to_picture(double norm, int tensor_size, bool letterboxed, int box_off, int box_size, int picture)
{
	double v;
	if (letterboxed && box_size > 0)
		v = (norm * tensor_size - box_off) * picture / box_size;
	else
		v = norm * picture;
	if (isnan(v))
		v = 0.0;
	return clampd(v, 0.0, picture);
}

static json_t *box_json(double xmin, double ymin, double xmax, double ymax)
{
	json_t *b = json_object();
	json_object_set_new(b, "xmin", json_real(xmin));
	json_object_set_new(b, "ymin", json_real(ymin));
	json_object_set_new(b, "xmax", json_real(xmax));
	json_object_set_new(b, "ymax", json_real(ymax));
	return b;
}

static pool_status detect_postprocess(const task_request *rq, nn_session *s, const task_input *in,
				      json_t **result, uint8_t **png, size_t *png_len, nn_err *err)
{
	const detect_state *ds = rq->state;
	const pool_model *m = rq->model;
	const float *boxes = nn_session_output(s, ds->out[DET_BOXES])->data;
	const float *classes = nn_session_output(s, ds->out[DET_CLASSES])->data;
	const float *scores = nn_session_output(s, ds->out[DET_SCORES])->data;
	float count_f = *(const float *)nn_session_output(s, ds->out[DET_COUNT])->data;
	float threshold = rq->params->threshold >= 0.0f ? rq->params->threshold : DETECT_DEFAULT_THRESHOLD;
	int max_results = rq->params->max_results > 0 ? rq->params->max_results : ds->n;
	int count = 0, kept = 0, W = in->image_width, H = in->image_height;
	detection *d;
	json_t *res, *preds, *img;

	/* the op writes count <= N, but a float is a float */
	if (count_f >= 1.0f)
		count = count_f >= (float)ds->n ? ds->n : (int)count_f;
	d = malloc((size_t)(count > 0 ? count : 1) * sizeof(*d));
	if (!d) {
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
		return POOL_FAILED;
	}
	for (int i = 0; i < count; i++) {
		float c = classes[i];
		const char *label = NULL;
		int k;
		if (!(scores[i] >= threshold) || !(c >= 0.0f && c < 1e6f))
			continue;
		k = (int)c;
		if (m->labels) {
			if (k + 1 < m->n_labels)
				label = m->labels[k + 1];
			if (label && !strcmp(label, DETECT_UNUSED_LABEL))
				continue;
		}
		d[kept].score = scores[i];
		d[kept].index = i;
		d[kept].class_id = k;
		d[kept].label = label;
		kept++;
	}
	qsort(d, (size_t)kept, sizeof(*d), cmp_detection);
	if (kept > max_results)
		kept = max_results;

	res = json_object();
	preds = json_array();
	for (int i = 0; i < kept; i++) {
		const float *b = boxes + 4 * (size_t)d[i].index;
		double y0, x0, y1, x1, t;
		json_t *p = json_object(), *lab = NULL;
		char id[16];

		y0 = to_picture(b[0], in->tensor_height, in->letterboxed, in->box.y, in->box.h, H);
		x0 = to_picture(b[1], in->tensor_width, in->letterboxed, in->box.x, in->box.w, W);
		y1 = to_picture(b[2], in->tensor_height, in->letterboxed, in->box.y, in->box.h, H);
		x1 = to_picture(b[3], in->tensor_width, in->letterboxed, in->box.x, in->box.w, W);
		if (y0 > y1)
			t = y0, y0 = y1, y1 = t;
		if (x0 > x1)
			t = x0, x0 = x1, x1 = t;
		snprintf(id, sizeof(id), "%d", d[i].class_id);
		/* json_string refuses invalid UTF-8: such a label reads as its id */
		if (d[i].label)
			lab = json_string(d[i].label);
		json_object_set_new(p, "label", lab ? lab : json_string(id));
		json_object_set_new(p, "class_id", json_integer(d[i].class_id));
		json_object_set_new(p, "score", json_real(d[i].score));
		json_object_set_new(p, "box", box_json(x0, y0, x1, y1));
		json_object_set_new(p, "box_normalized",
				    box_json(W > 0 ? x0 / W : 0.0, H > 0 ? y0 / H : 0.0, W > 0 ? x1 / W : 0.0,
					     H > 0 ? y1 / H : 0.0));
		json_array_append_new(preds, p);
	}
	free(d);
	img = json_object();
	json_object_set_new(img, "width", json_integer(W));
	json_object_set_new(img, "height", json_integer(H));
	json_object_set_new(res, "predictions", preds);
	json_object_set_new(res, "image", img);
	*result = res;
	return POOL_OK;
}

const task_ops task_detection = {
	.task = POOL_TASK_DETECTION,
	.prepare = detect_prepare,
	.free = free,
	.preprocess = NULL, /* the image path */
	.postprocess = detect_postprocess,
};
