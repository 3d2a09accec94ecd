/* test_k_detection.c - TFLite_Detection_PostProcess.
 *
 * DESIGN: the hosted SSD detector runs end to end on its four golden cases
 * (classes, scores and count must match exactly, boxes within 1e-5); small
 * one-op models with float inputs check box decoding against values worked
 * out by hand, suppression by IoU, the score threshold, the regular-NMS
 * path, several classes per detection and max_detections below the number
 * of candidates; refusals cover a missing option, bad input shapes and a
 * class count that does not fit num_classes.  The custom options are
 * FlexBuffers written by a small writer below (a map of 4-byte scalars).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flexbuf.h"
#include "flexbuf_writer.h"
#include "testutil.h"
#include "tflite_builder.h"

#define STEM "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29"

/* --- golden cases -------------------------------------------------------- */

static void run_golden(const char *case_name)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "models/%s.tflite", STEM);
	const char *mp = ts_require_shared(rel);
	if (!mp)
		return;
	size_t size;
	uint8_t *bytes = ts_read_file(mp, &size);
	ck_assert_ptr_nonnull(bytes);
	ts_model m;
	nn_err err;
	ck_assert_msg(ts_model_load(&m, bytes, size, 1, &err) == NN_OK, "%s", err.msg);

	snprintf(rel, sizeof(rel), "golden/%s/%s/input_0.bin", STEM, case_name);
	size_t in_n;
	uint8_t *in = ts_read_file(ts_shared_path(rel), &in_n);
	ck_assert_ptr_nonnull(in);
	nn_tensor *t = nn_session_input(m.session, 0);
	ck_assert_uint_eq(t->bytes, in_n);
	memcpy(t->data, in, in_n);
	free(in);
	ck_assert_msg(nn_session_invoke(m.session, &err) == NN_OK, "%s", err.msg);

	const size_t want[4] = {40, 10, 10, 1};
	for (int k = 0; k < 4; k++) {
		snprintf(rel, sizeof(rel), "golden/%s/%s/output_%d.bin", STEM, case_name, k);
		size_t gn;
		float *g = (float *)ts_read_file(ts_shared_path(rel), &gn);
		ck_assert_ptr_nonnull(g);
		const nn_tensor *o = nn_session_output(m.session, k);
		ck_assert_int_eq(o->type, NN_F32);
		ck_assert_uint_eq(o->bytes, gn);
		ck_assert_uint_eq(gn, want[k] * 4);
		const float *a = o->data;
		double maxd = 0;
		int exact = 0;
		for (size_t i = 0; i < want[k]; i++) {
			double d = fabs((double)a[i] - g[i]);
			maxd = d > maxd ? d : maxd;
			exact += a[i] == g[i];
		}
		fprintf(stderr, "%s/%s output %d: max |diff| %.3g, %d of %zu exact\n", STEM, case_name, k, maxd,
			exact, want[k]);
		if (k == 0)
			ck_assert_msg(maxd <= 1e-5, "%s boxes: max |diff| %g", case_name, maxd);
		else
			ck_assert_msg((size_t)exact == want[k], "%s output %d: %d of %zu exact", case_name, k, exact,
				      want[k]);
		free(g);
	}
	ts_model_free(&m);
}

static const char *const golden_cases[] = {"cat_720p", "kite_and_cold", "pets", "random1"};

START_TEST(test_golden)
{
	run_golden(golden_cases[_i]);
}
END_TEST

/* Standard options with overrides; keys sorted as FlexBuffers requires. */
typedef struct dopts {
	int max_det, max_cls, num_classes, dpc; /* dpc 0 = absent */
	float score_thr, iou_thr;
	int regular; /* -1 = absent */
	const char *drop; /* a key to leave out */
} dopts;

static uint8_t *det_options(const dopts *d, size_t *size)
{
	ts_flex_opt all[] = {
		{"detections_per_class", 'i', d->dpc},
		{"h_scale", 'f', 5},
		{"max_classes_per_detection", 'i', d->max_cls},
		{"max_detections", 'i', d->max_det},
		{"nms_iou_threshold", 'f', d->iou_thr},
		{"nms_score_threshold", 'f', d->score_thr},
		{"num_classes", 'i', d->num_classes},
		{"use_regular_nms", 'b', d->regular},
		{"w_scale", 'f', 5},
		{"x_scale", 'f', 10},
		{"y_scale", 'f', 10},
	};
	ts_flex_opt o[16];
	int n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(all[i].key, "detections_per_class") && d->dpc == 0)
			continue;
		if (!strcmp(all[i].key, "use_regular_nms") && d->regular < 0)
			continue;
		if (d->drop && !strcmp(all[i].key, d->drop))
			continue;
		o[n++] = all[i];
	}
	o[n].key = NULL;
	return ts_flex_map(o, size);
}

/* One-op model: box encodings [1,N,4] and scores [1,N,C] are inputs, the
 * anchors [an,4] a float constant; enc_rank 2 makes the encodings [N,4]. */
static nn_status det_model(ts_model *m, const dopts *d, int n, int c, int an, const float *anchors, int enc_rank,
			   nn_err *err)
{
	tb_model *b = tb_new();
	int enc = enc_rank == 3 ? tb_tensor(b, "enc", NN_F32, 3, (int32_t[]){1, n, 4}, NULL, 0, NULL)
				: tb_tensor(b, "enc", NN_F32, 2, (int32_t[]){n, 4}, NULL, 0, NULL);
	int cls = tb_tensor(b, "cls", NN_F32, 3, (int32_t[]){1, n, c}, NULL, 0, NULL);
	int anc = tb_tensor(b, "anchors", NN_F32, 2, (int32_t[]){an, 4}, anchors, (size_t)an * 16, NULL);
	int outs[4];
	for (int k = 0; k < 4; k++)
		outs[k] = tb_tensor(b, "out", NN_F32, 0, NULL, NULL, 0, NULL);
	tb_op(b, 32, "TFLite_Detection_PostProcess", 1, (int[]){enc, cls, anc}, 3, outs, 4, 0, NULL);
	size_t osz;
	uint8_t *opt = det_options(d, &osz);
	tb_op_custom_options(b, opt, osz);
	free(opt);
	tb_io(b, 2, (int[]){enc, cls}, 4, outs);
	size_t size;
	uint8_t *bytes = tb_finish(b, &size);
	tb_free(b);
	return ts_model_load(m, bytes, size, 1, err);
}

typedef struct det_out {
	float boxes[64][4], classes[64], scores[64], count;
	int n_out;
} det_out;

static void det_run(const dopts *d, int n, int c, const float *anchors, const float *enc, const float *cls,
		    det_out *out)
{
	ts_model m;
	nn_err err;
	ck_assert_msg(det_model(&m, d, n, c, n, anchors, 3, &err) == NN_OK, "%s", err.msg);
	memcpy(nn_session_input(m.session, 0)->data, enc, (size_t)n * 16);
	memcpy(nn_session_input(m.session, 1)->data, cls, (size_t)n * c * 4);
	ck_assert_msg(nn_session_invoke(m.session, &err) == NN_OK, "%s", err.msg);
	const nn_tensor *ob = nn_session_output(m.session, 0);
	out->n_out = d->max_det * d->max_cls;
	ck_assert_int_eq(ob->rank, 3);
	ck_assert_int_eq(ob->dims[1], out->n_out);
	ck_assert_int_eq(nn_session_output(m.session, 1)->dims[1], out->n_out);
	ck_assert_int_eq(nn_session_output(m.session, 3)->rank, 1);
	memcpy(out->boxes, ob->data, (size_t)out->n_out * 16);
	memcpy(out->classes, nn_session_output(m.session, 1)->data, (size_t)out->n_out * 4);
	memcpy(out->scores, nn_session_output(m.session, 2)->data, (size_t)out->n_out * 4);
	out->count = *(const float *)nn_session_output(m.session, 3)->data;
	ts_model_free(&m);
}

static const dopts base = {.max_det = 5, .max_cls = 1, .num_classes = 2, .score_thr = 0.0f, .iou_thr = 0.5f,
			   .regular = -1};

static void box_eq(const float *got, float a, float b, float c, float d)
{
	const float want[4] = {a, b, c, d};
	for (int k = 0; k < 4; k++)
		ck_assert_msg(fabsf(got[k] - want[k]) <= 1e-6f, "coord %d: %g, want %g", k, got[k], want[k]);
}

/* Anchors (yc, xc, h, w) far apart: no suppression. */
static const float anchors3[] = {0.5f, 0.5f, 0.2f, 0.4f, 0.1f, 0.1f, 0.1f, 0.1f, 0.9f, 0.8f, 0.1f, 0.2f};

START_TEST(test_decode_and_order)
{
	/* enc (y, x, h, w) / scales (10, 10, 5, 5):
	 * 0: yc = 0.5 + 1/10*0.2 = 0.52, xc = 0.5 - 2/10*0.4 = 0.42, hh = 0.1, hw = 0.2
	 * 1: yc = 0.1, xc = 0.1 + 5/10*0.1 = 0.15, hh = 0.5*e^1*0.1, hw = 0.05
	 * 2: yc = 0.9 - 0.1*0.1 = 0.89, xc = 0.8, hh = 0.05, hw = 0.5*e^-1*0.2 */
	const float enc[] = {1, -2, 0, 0, 0, 5, 5, 0, -1, 0, 0, -5};
	/* columns: background, class 0, class 1 */
	const float cls[] = {0.9f, 0.3f, 0.6f, 0.99f, 0.8f, 0.1f, 0.0f, 0.2f, 0.7f};
	det_out o;
	det_run(&base, 3, 3, anchors3, enc, cls, &o);
	ck_assert(o.count == 3.0f);
	/* by best score: anchor 1 (class 0, 0.8), anchor 2 (class 1, 0.7), anchor 0 (class 1, 0.6) */
	ck_assert(o.classes[0] == 0.0f && o.scores[0] == 0.8f);
	ck_assert(o.classes[1] == 1.0f && o.scores[1] == 0.7f);
	ck_assert(o.classes[2] == 1.0f && o.scores[2] == 0.6f);
	float hh1 = (float)(0.05 * exp(1.0)), hw2 = (float)(0.1 * exp(-1.0));
	box_eq(o.boxes[0], 0.1f - hh1, 0.1f, 0.1f + hh1, 0.2f);
	box_eq(o.boxes[1], 0.84f, 0.8f - hw2, 0.94f, 0.8f + hw2);
	box_eq(o.boxes[2], 0.42f, 0.22f, 0.62f, 0.62f);
	for (int i = 3; i < 5; i++) {
		ck_assert(o.scores[i] == 0.0f && o.classes[i] == 0.0f);
		box_eq(o.boxes[i], 0, 0, 0, 0);
	}
}
END_TEST

/* Three anchors: 0 and 1 are the same box (IoU 1), 2 is elsewhere. */
static const float anchors_dup[] = {0.5f, 0.5f, 0.2f, 0.2f, 0.5f, 0.5f, 0.2f, 0.2f, 0.1f, 0.1f, 0.1f, 0.1f};
static const float enc_zero[12] = {0};

START_TEST(test_nms_suppression)
{
	const float cls[] = {0, 0.5f, 0.1f, 0, 0.1f, 0.9f, 0, 0.3f, 0.2f};
	det_out o;
	det_run(&base, 3, 3, anchors_dup, enc_zero, cls, &o);
	/* anchor 1 (0.9, class 1) suppresses anchor 0 (0.5), anchor 2 stays */
	ck_assert(o.count == 2.0f);
	ck_assert(o.scores[0] == 0.9f && o.classes[0] == 1.0f);
	ck_assert(o.scores[1] == 0.3f && o.classes[1] == 0.0f);
	box_eq(o.boxes[1], 0.05f, 0.05f, 0.15f, 0.15f);

	/* partial overlap: box 1 shifted so IoU = 1/3, under a 0.5 threshold */
	const float enc_shift[] = {0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0}; /* xc += 0.5*0.2 */
	det_run(&base, 3, 3, anchors_dup, enc_shift, cls, &o);
	ck_assert(o.count == 3.0f);
	/* ... and over a 0.3 threshold */
	dopts t = base;
	t.iou_thr = 0.3f;
	det_run(&t, 3, 3, anchors_dup, enc_shift, cls, &o);
	ck_assert(o.count == 2.0f);

	/* equal scores keep index order */
	const float tie[] = {0, 0.4f, 0, 0, 0.4f, 0, 0, 0.4f, 0};
	det_run(&base, 3, 3, anchors_dup, enc_zero, tie, &o);
	ck_assert(o.count == 2.0f);
	box_eq(o.boxes[0], 0.4f, 0.4f, 0.6f, 0.6f);
	box_eq(o.boxes[1], 0.05f, 0.05f, 0.15f, 0.15f);
}
END_TEST

START_TEST(test_score_threshold_and_max_detections)
{
	const float cls[] = {0, 0.3f, 0.2f, 0, 0.6f, 0.1f, 0, 0.1f, 0.55f};
	dopts t = base;
	t.score_thr = 0.5f;
	det_out o;
	det_run(&t, 3, 3, anchors3, enc_zero, cls, &o);
	ck_assert(o.count == 2.0f);
	ck_assert(o.scores[0] == 0.6f && o.scores[1] == 0.55f && o.scores[2] == 0.0f);
	/* the threshold is inclusive */
	t.score_thr = 0.55f;
	det_run(&t, 3, 3, anchors3, enc_zero, cls, &o);
	ck_assert(o.count == 2.0f);
	/* fewer slots than candidates */
	t = base;
	t.max_det = 2;
	det_run(&t, 3, 3, anchors3, enc_zero, cls, &o);
	ck_assert_int_eq(o.n_out, 2);
	ck_assert(o.count == 2.0f);
	ck_assert(o.scores[0] == 0.6f && o.scores[1] == 0.55f);
	/* no background column: num_classes == columns */
	t = base;
	t.num_classes = 3;
	det_run(&t, 3, 3, anchors3, enc_zero, cls, &o);
	ck_assert(o.count == 3.0f);
	ck_assert(o.scores[0] == 0.6f && o.classes[0] == 1.0f);
	ck_assert(o.scores[2] == 0.3f && o.classes[2] == 1.0f);
}
END_TEST

START_TEST(test_classes_per_detection)
{
	const float cls[] = {0, 0.3f, 0.4f, 0, 0.6f, 0.1f, 0, 0.1f, 0.55f};
	dopts t = base;
	t.max_det = 3;
	t.max_cls = 2;
	det_out o;
	det_run(&t, 3, 3, anchors3, enc_zero, cls, &o);
	ck_assert_int_eq(o.n_out, 6);
	ck_assert(o.count == 3.0f);
	/* anchor 1: classes 0 (0.6), 1 (0.1); anchor 2: 1 (0.55), 0 (0.1); anchor 0: 1, 0 */
	const float wc[] = {0, 1, 1, 0, 1, 0}, ws[] = {0.6f, 0.1f, 0.55f, 0.1f, 0.4f, 0.3f};
	for (int i = 0; i < 6; i++)
		ck_assert_msg(o.classes[i] == wc[i] && o.scores[i] == ws[i], "slot %d: class %g score %g", i,
			      o.classes[i], o.scores[i]);
	box_eq(o.boxes[0], 0.05f, 0.05f, 0.15f, 0.15f);
	box_eq(o.boxes[1], 0.05f, 0.05f, 0.15f, 0.15f);
}
END_TEST

START_TEST(test_regular_nms)
{
	/* anchors 0 and 1 coincide; anchor 0 is class 0, anchor 1 class 1 */
	const float cls[] = {0, 0.8f, 0.1f, 0, 0.2f, 0.7f, 0, 0.3f, 0.35f};
	det_out o;
	/* fast NMS: one class per anchor, anchor 1 suppressed by anchor 0 */
	det_run(&base, 3, 3, anchors_dup, enc_zero, cls, &o);
	ck_assert(o.count == 2.0f);
	ck_assert(o.scores[0] == 0.8f && o.scores[1] == 0.35f);
	/* regular NMS: per class, so both coinciding boxes survive */
	dopts t = base;
	t.regular = 1;
	det_run(&t, 3, 3, anchors_dup, enc_zero, cls, &o);
	ck_assert(o.count == 4.0f);
	const float wc[] = {0, 1, 1, 0}, ws[] = {0.8f, 0.7f, 0.35f, 0.3f};
	for (int i = 0; i < 4; i++)
		ck_assert_msg(o.classes[i] == wc[i] && o.scores[i] == ws[i], "slot %d: class %g score %g", i,
			      o.classes[i], o.scores[i]);
	box_eq(o.boxes[3], 0.05f, 0.05f, 0.15f, 0.15f);
	ck_assert(o.scores[4] == 0.0f);
	/* detections_per_class 1: one per class */
	t.dpc = 1;
	det_run(&t, 3, 3, anchors_dup, enc_zero, cls, &o);
	ck_assert(o.count == 2.0f);
	ck_assert(o.scores[0] == 0.8f && o.scores[1] == 0.7f);
	/* max_detections 3 over 4 candidates */
	t.dpc = 0;
	t.max_det = 3;
	det_run(&t, 3, 3, anchors_dup, enc_zero, cls, &o);
	ck_assert(o.count == 3.0f);
	ck_assert(o.scores[2] == 0.35f);
	/* use_regular_nms present and false = fast */
	t = base;
	t.regular = 0;
	det_run(&t, 3, 3, anchors_dup, enc_zero, cls, &o);
	ck_assert(o.count == 2.0f);
}
END_TEST

static void expect_refusal(const dopts *d, int n, int c, int an, int enc_rank, const char *needle)
{
	ts_model m;
	nn_err err;
	float anchors[64] = {0};
	for (int i = 0; i < an; i++)
		anchors[i * 4 + 2] = anchors[i * 4 + 3] = 0.1f;
	nn_status st = det_model(&m, d, n, c, an, anchors, enc_rank, &err);
	ck_assert_msg(st != NN_OK, "expected a refusal mentioning '%s'", needle);
	ck_assert_msg(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	ts_model_free(&m); /* releases whatever was built before the refusal */
}

START_TEST(test_refusals)
{
	dopts t = base;
	t.drop = "num_classes";
	expect_refusal(&t, 3, 3, 3, 3, "'num_classes' is missing");
	t.drop = "y_scale";
	expect_refusal(&t, 3, 3, 3, 3, "'y_scale' is missing");
	expect_refusal(&base, 3, 3, 3, 2, "box encodings");	/* [N,4] instead of [1,N,4] */
	expect_refusal(&base, 3, 3, 4, 3, "anchors must be [3, 4]"); /* anchor count */
	expect_refusal(&base, 3, 5, 3, 3, "5 columns");		/* num_classes 2 vs 5 columns */
	t = base;
	t.iou_thr = 0.0f;
	expect_refusal(&t, 3, 3, 3, 3, "nms_iou_threshold");
	t = base;
	t.max_det = 0;
	expect_refusal(&t, 3, 3, 3, 3, "max_detections");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k_detection");
	TCase *tc = tcase_create("detection");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_golden, 0, 4);
	tcase_add_test(tc, test_decode_and_order);
	tcase_add_test(tc, test_nms_suppression);
	tcase_add_test(tc, test_score_threshold_and_max_detections);
	tcase_add_test(tc, test_classes_per_detection);
	tcase_add_test(tc, test_regular_nms);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
