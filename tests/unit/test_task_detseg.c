/* test_task_detseg.c - the detection and segmentation task adapters on the
 * real models of ../shared, through pool_model_open_file + pool_predict
 * (the path of `liteserve predict` and of the server's task endpoint).
 *
 * Detection: the hosted SSD on kite_and_cold.jpg finds people and kites
 * (6 and 4 at the default threshold when this was written; we assert >= 3
 * and >= 2), labels follow "class id k = line k+1", boxes are picture
 * pixels inside the picture, and threshold / max_results cut the list.
 * Segmentation: both DeepLab models on bird.png answer "bird" as the main
 * non-background class; the mask PNG decodes to the picture's size and its
 * histogram is exactly the "classes" counts; output=png is the same PNG;
 * output=overlay is the picture with class pixels blended 50/50 with their
 * VOC colour and background pixels untouched (checked pixel by pixel).
 * Models without the right outputs, or with a label file off by one, are
 * refused at load with the reason.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "pool.h"
#include "preprocess.h"
#include "repository.h"
#include "task.h"
#include "testutil.h"

#define SSD_MODEL "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"
#define SSD_LABELS "models/labels/coco_ssd_mobilenet_v1_labelmap.txt"
#define VOC_LABELS "models/labels/pascal_voc_21_labels.txt"
#define CLASSIFIER "models/mobilenet_v1_0.25_224.tflite"

/* Copies of shared paths (ts_shared_path reuses one buffer); false = skipped. */
static bool shared2(const char *a, char *pa, const char *b, char *pb)
{
	const char *p;
	if (!(p = ts_require_shared(a)))
		return false;
	snprintf(pa, 1024, "%s", p);
	if (!(p = ts_require_shared(b)))
		return false;
	snprintf(pb, 1024, "%s", p);
	return true;
}

static uint8_t *shared_file(const char *rel, size_t *len)
{
	const char *p = ts_require_shared(rel);
	uint8_t *d;
	if (!p)
		return NULL;
	d = ts_read_file(p, len);
	ck_assert_msg(d != NULL, "cannot read %s", p);
	return d;
}

static pool_model *open_model(const char *model, const char *labels, const repo_config *cfg)
{
	pool_model *m = NULL;
	nn_err err = {0};
	ck_assert_msg(pool_model_open_file(model, "m", cfg, labels, NULL, &m, &err) == POOL_OK, "%s: %s", model,
		      err.msg);
	return m;
}

static json_t *predict(pool_model *m, const uint8_t *img, size_t len, const pool_task_params *params)
{
	json_t *res = NULL;
	nn_err err = {0};
	ck_assert_msg(pool_predict(m, img, len, NULL, params, &res, NULL, NULL, NULL, &err) == POOL_OK, "%s",
		      err.msg);
	ck_assert(json_is_object(res));
	return res;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ck_assert_msg(json_is_number(v), "%s is not a number", k);
	return json_number_value(v);
}

/* ---- detection ------------------------------------------------------------------------------- */

/* Checks every invariant of a detection answer; returns the count of label `a` and `b`. */
static void check_detections(json_t *res, int W, int H, float threshold, int *n_person, int *n_kite)
{
	json_t *preds = json_object_get(res, "predictions"), *img = json_object_get(res, "image");
	double prev = INFINITY;
	size_t i;
	json_t *p;

	ck_assert(json_is_array(preds));
	ck_assert_int_eq((int)jnum(img, "width"), W);
	ck_assert_int_eq((int)jnum(img, "height"), H);
	*n_person = *n_kite = 0;
	json_array_foreach(preds, i, p)
	{
		const char *label = json_string_value(json_object_get(p, "label"));
		int id = (int)jnum(p, "class_id");
		double score = jnum(p, "score");
		json_t *b = json_object_get(p, "box"), *bn = json_object_get(p, "box_normalized");
		double x0 = jnum(b, "xmin"), y0 = jnum(b, "ymin"), x1 = jnum(b, "xmax"), y1 = jnum(b, "ymax");

		ck_assert(label != NULL);
		ck_assert_str_ne(label, "???");
		if (id == 0)
			ck_assert_str_eq(label, "person");
		if (id == 37)
			ck_assert_str_eq(label, "kite");
		*n_person += !strcmp(label, "person");
		*n_kite += !strcmp(label, "kite");
		ck_assert_msg(score >= threshold && score <= 1.0, "score %g, threshold %g", score, threshold);
		ck_assert_msg(score <= prev, "not sorted by score");
		prev = score;
		ck_assert_msg(0 <= x0 && x0 <= x1 && x1 <= W && 0 <= y0 && y0 <= y1 && y1 <= H,
			      "box %g,%g - %g,%g outside %dx%d", x0, y0, x1, y1, W, H);
		ck_assert_double_eq_tol(jnum(bn, "xmin"), x0 / W, 1e-9);
		ck_assert_double_eq_tol(jnum(bn, "ymin"), y0 / H, 1e-9);
		ck_assert_double_eq_tol(jnum(bn, "xmax"), x1 / W, 1e-9);
		ck_assert_double_eq_tol(jnum(bn, "ymax"), y1 / H, 1e-9);
	}
}

START_TEST(test_detect_kite_and_cold)
{
	char mp[1024], lp[1024];
	size_t len;
	uint8_t *jpg;
	pool_model *m;
	json_t *res;
	int np, nk;
	double maxx = 0;
	size_t i;
	json_t *p;

	if (!shared2(SSD_MODEL, mp, SSD_LABELS, lp) || !(jpg = shared_file("images/kite_and_cold.jpg", &len)))
		return;
	m = open_model(mp, lp, NULL);
	ck_assert_int_eq(m->task, POOL_TASK_DETECTION);
	res = predict(m, jpg, len, NULL);
	check_detections(res, 1352, 900, 0.5f, &np, &nk);
	ck_assert_msg(np >= 3 && nk >= 2, "%d persons, %d kites", np, nk);
	/* pixels, not normalized coordinates */
	json_array_foreach(json_object_get(res, "predictions"), i, p)
	    maxx = fmax(maxx, jnum(json_object_get(p, "box"), "xmax"));
	ck_assert_msg(maxx > 600, "largest xmax %g", maxx);
	json_decref(res);
	pool_put(m);
	free(jpg);
}
END_TEST

START_TEST(test_detect_threshold_max_results)
{
	char mp[1024], lp[1024];
	size_t len, n_default, n_low;
	uint8_t *jpg;
	pool_model *m;
	json_t *def, *low, *two, *none;
	pool_task_params prm = {.threshold = -1.0f};
	int np, nk;

	if (!shared2(SSD_MODEL, mp, SSD_LABELS, lp) || !(jpg = shared_file("images/kite_and_cold.jpg", &len)))
		return;
	m = open_model(mp, lp, NULL);
	def = predict(m, jpg, len, NULL);
	n_default = json_array_size(json_object_get(def, "predictions"));
	ck_assert(n_default >= 3);

	/* the op reports at most 10 and all 10 pass 0.5 here: a higher threshold cuts the list to a
	 * prefix of the default answer */
	prm.threshold = 0.6f;
	low = predict(m, jpg, len, &prm);
	check_detections(low, 1352, 900, 0.6f, &np, &nk);
	n_low = json_array_size(json_object_get(low, "predictions"));
	ck_assert_msg(n_low >= 1 && n_low < n_default, "threshold 0.6: %zu, default: %zu", n_low, n_default);
	for (size_t i = 0; i < n_low; i++)
		ck_assert(json_equal(json_array_get(json_object_get(low, "predictions"), i),
				     json_array_get(json_object_get(def, "predictions"), i)));

	prm.threshold = -1.0f;
	prm.max_results = 2;
	two = predict(m, jpg, len, &prm);
	ck_assert_int_eq(json_array_size(json_object_get(two, "predictions")), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert(json_equal(json_array_get(json_object_get(two, "predictions"), i),
				     json_array_get(json_object_get(def, "predictions"), i)));

	prm.threshold = 0.99f;
	prm.max_results = 0;
	none = predict(m, jpg, len, &prm);
	ck_assert_int_eq(json_array_size(json_object_get(none, "predictions")), 0);
	json_decref(def), json_decref(low), json_decref(two), json_decref(none);
	pool_put(m);
	free(jpg);
}
END_TEST

static double iou(json_t *a, json_t *b)
{
	double ix = fmin(jnum(a, "xmax"), jnum(b, "xmax")) - fmax(jnum(a, "xmin"), jnum(b, "xmin"));
	double iy = fmin(jnum(a, "ymax"), jnum(b, "ymax")) - fmax(jnum(a, "ymin"), jnum(b, "ymin"));
	double inter = ix > 0 && iy > 0 ? ix * iy : 0;
	double aa = (jnum(a, "xmax") - jnum(a, "xmin")) * (jnum(a, "ymax") - jnum(a, "ymin"));
	double ab = (jnum(b, "xmax") - jnum(b, "xmin")) * (jnum(b, "ymax") - jnum(b, "ymin"));
	return inter > 0 ? inter / (aa + ab - inter) : 0;
}

/* A letterboxed input must come back to picture pixels: the biggest person
 * (the two walkers in front) is found at the same place as with a stretched
 * input, which would not be the case if the padding were left in. */
START_TEST(test_detect_letterbox)
{
	char mp[1024], lp[1024];
	size_t len, i;
	uint8_t *jpg;
	pool_model *ms, *ml;
	json_t *rs, *rl, *p, *big = NULL, *best = NULL;
	repo_config cfg;
	pool_task_params prm = {.threshold = 0.3f};
	double area = 0, best_iou = 0;
	int np, nk;

	if (!shared2(SSD_MODEL, mp, SSD_LABELS, lp) || !(jpg = shared_file("images/kite_and_cold.jpg", &len)))
		return;
	repo_config_init(&cfg);
	cfg.letterbox = true;
	ms = open_model(mp, lp, NULL);
	ml = open_model(mp, lp, &cfg);
	rs = predict(ms, jpg, len, &prm);
	rl = predict(ml, jpg, len, &prm);
	check_detections(rl, 1352, 900, 0.3f, &np, &nk);
	ck_assert_msg(np >= 1, "letterboxed: %d persons", np);
	json_array_foreach(json_object_get(rs, "predictions"), i, p)
	{
		json_t *b = json_object_get(p, "box");
		double a = (jnum(b, "xmax") - jnum(b, "xmin")) * (jnum(b, "ymax") - jnum(b, "ymin"));
		if (!strcmp(json_string_value(json_object_get(p, "label")), "person") && a > area)
			area = a, big = b;
	}
	ck_assert(big != NULL);
	json_array_foreach(json_object_get(rl, "predictions"), i, p)
	{
		double v = iou(big, json_object_get(p, "box"));
		if (!strcmp(json_string_value(json_object_get(p, "label")), "person") && v > best_iou)
			best_iou = v, best = p;
	}
	ck_assert_msg(best && best_iou > 0.5, "best IoU with the stretched answer's biggest person: %g", best_iou);
	json_decref(rs), json_decref(rl);
	pool_put(ms), pool_put(ml);
	free(jpg);
}
END_TEST

/* A class whose labelmap line is "???" names nothing: its detections are
 * dropped, the others stay (persons marked unused here). */
START_TEST(test_detect_unused_label)
{
	char mp[1024], lp[1024], labels[] = "/tmp/ls_detseg_map_XXXXXX";
	size_t len, llen;
	uint8_t *jpg, *map;
	pool_model *m;
	json_t *res, *p;
	FILE *f;
	int fd, kites = 0;
	size_t i;

	if (!shared2(SSD_MODEL, mp, SSD_LABELS, lp) || !(jpg = shared_file("images/kite_and_cold.jpg", &len)))
		return;
	map = ts_read_file(lp, &llen);
	ck_assert(map && llen > 11 && !memcmp(map, "???\nperson\n", 11));
	fd = mkstemp(labels);
	ck_assert(fd >= 0);
	f = fdopen(fd, "w");
	fputs("???\n???\n", f); /* class 0 (person) unused */
	fwrite(map + 11, 1, llen - 11, f);
	fclose(f);
	m = open_model(mp, labels, NULL);
	res = predict(m, jpg, len, NULL);
	json_array_foreach(json_object_get(res, "predictions"), i, p)
	{
		ck_assert_int_ne((int)jnum(p, "class_id"), 0);
		kites += !strcmp(json_string_value(json_object_get(p, "label")), "kite");
	}
	ck_assert_int_ge(kites, 2);
	json_decref(res);
	pool_put(m);
	remove(labels);
	free(map);
	free(jpg);
}
END_TEST

/* Loading fails with a message containing needle. */
static void expect_refused(const char *model, const char *labels, pool_task task, const char *needle)
{
	repo_config cfg;
	pool_model *m = NULL;
	nn_err err = {0};

	repo_config_init(&cfg);
	cfg.has_task = true;
	cfg.task = task;
	ck_assert_int_ne(pool_model_open_file(model, "m", &cfg, labels, NULL, &m, &err), POOL_OK);
	ck_assert(m == NULL);
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
}

START_TEST(test_refused_at_load)
{
	char cp[1024], sp[1024], lp[1024], short_labels[] = "/tmp/ls_detseg_labels_XXXXXX";
	const char *p;
	FILE *f;
	int fd;

	if (!shared2(CLASSIFIER, cp, SSD_MODEL, sp) || !(p = ts_require_shared(SSD_LABELS)))
		return;
	snprintf(lp, sizeof(lp), "%s", p);
	expect_refused(cp, NULL, POOL_TASK_DETECTION, "TFLite_Detection_PostProcess");
	expect_refused(cp, NULL, POOL_TASK_SEGMENTATION, "segmentation needs an output of shape");
	expect_refused(sp, NULL, POOL_TASK_SEGMENTATION, "segmentation needs a model with 1 output");
	/* a labelmap without the background line: every label would be shifted */
	fd = mkstemp(short_labels);
	ck_assert(fd >= 0);
	f = fdopen(fd, "w");
	for (int i = 0; i < 80; i++)
		fprintf(f, "class%d\n", i);
	fclose(f);
	expect_refused(sp, short_labels, POOL_TASK_DETECTION, "needs 91 lines");
	expect_refused(sp, lp, POOL_TASK_SEGMENTATION, "segmentation needs a model with 1 output");
	remove(short_labels);
	/* the right labelmap with the DeepLab labels: 21 lines for 90 classes */
	if ((p = ts_require_shared(VOC_LABELS)))
		expect_refused(sp, p, POOL_TASK_DETECTION, "has 21 lines");
}
END_TEST

/* ---- segmentation ------------------------------------------------------------------------------ */

static const char *seg_models[] = {"models/deeplabv3_257_mv_gpu.tflite", "models/deeplabv3_mnv2_pascal_quant.tflite"};

static uint8_t *b64_decode(const char *s, size_t *out_len)
{
	size_t n = strlen(s), j = 0;
	uint8_t *o = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;
	ck_assert(o != NULL && n % 4 == 0);
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *c = strchr(a, s[i]);
		ck_assert_msg(c && s[i], "bad base64 character %d", s[i]);
		acc = acc << 6 | (uint32_t)(c - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[j++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = j;
	return o;
}

static void voc(int c, uint8_t rgb[3])
{
	/* written differently from the adapter on purpose: bit b of the class
	 * goes to bit 7 - b/3 of channel b%3 */
	rgb[0] = rgb[1] = rgb[2] = 0;
	for (int b = 0; b < 24; b++)
		if (c >> b & 1)
			rgb[b % 3] |= (uint8_t)(1 << (7 - b / 3));
}

/* Decodes a PNG answer; asserts its size. */
static ls_image decode_png(const uint8_t *png, size_t len, int w, int h)
{
	ls_image img = {0};
	char msg[256];
	ck_assert(len > 8 && !memcmp(png, "\x89PNG", 4));
	ck_assert_msg(ls_image_decode(png, len, NULL, 0, 0, &img, msg, sizeof(msg)) == LS_IMG_OK, "%s", msg);
	ck_assert_int_eq(img.width, w);
	ck_assert_int_eq(img.height, h);
	return img;
}

/* The mask equals what we compute here from the raw output tensor: the
 * argmax (or the graph's ARG_MAX) per grid cell, each picture pixel taking
 * the cell under its centre, floor((x + 0.5) * grid / W). */
static void check_mask_against_raw(pool_model *m, const uint8_t *img, size_t len, const ls_image *mk)
{
	const nn_tensor *o = nn_graph_output(m->graph, 0);
	task_input in;
	pool_timing t;
	nn_err err = {0};
	void *outs[1] = {NULL};
	size_t out_sizes[1];
	int n_out = 0, gh = o->dims[1], gw = o->dims[2], W = mk->width, H = mk->height;
	long bad = 0;

	ck_assert_msg(pre_image_to_tensor(nn_graph_input(m->graph, 0), &m->pre, 0, img, len, NULL, &in, &t, &err) ==
			  POOL_OK,
		      "%s", err.msg);
	ck_assert_msg(pool_infer_raw(m, (const void *const *)&in.data, &in.bytes, 1, outs, out_sizes, &n_out, NULL,
				     &err) == POOL_OK,
		      "%s", err.msg);
	for (int y = 0; y < H; y++) {
		int gy = (int)((y + 0.5) * gh / H);
		for (int x = 0; x < W; x++) {
			int gx = (int)((x + 0.5) * gw / W), want = 0;
			size_t cell = (size_t)gy * gw + gx;
			if (o->rank == 4) {
				const float *l = (const float *)outs[0] + cell * o->dims[3];
				for (int c = 1; c < o->dims[3]; c++)
					if (l[c] > l[want])
						want = c;
			} else {
				want = (int)((const int64_t *)outs[0])[cell];
			}
			bad += mk->pixels[3 * ((size_t)y * W + x)] != want;
		}
	}
	ck_assert_msg(bad == 0, "%ld of %d mask pixels differ from the raw output", bad, W * H);
	free(outs[0]);
	free(in.data);
}

START_TEST(test_segment_bird)
{
	char mp[1024], lp[1024];
	size_t len, mlen, plen, olen, i;
	uint8_t *png_in, *mpng, *png = NULL, *ovl = NULL;
	pool_model *m;
	json_t *res, *classes, *c, *mask;
	pool_task_params prm = {.threshold = -1.0f};
	long hist[256] = {0}, total = 0;
	ls_image mk, pic = {0}, ov;
	nn_err err = {0};
	char msg[256];
	const char *main_label = NULL;
	double fsum = 0;

	if (!shared2(seg_models[_i], mp, VOC_LABELS, lp) || !(png_in = shared_file("images/bird.png", &len)))
		return;
	m = open_model(mp, lp, NULL);
	ck_assert_int_eq(m->task, POOL_TASK_SEGMENTATION);
	res = predict(m, png_in, len, NULL);
	classes = json_object_get(res, "classes");
	mask = json_object_get(res, "mask");
	ck_assert_int_eq((int)jnum(mask, "width"), 512);
	ck_assert_int_eq((int)jnum(mask, "height"), 343);
	ck_assert_str_eq(json_string_value(json_object_get(mask, "format")), "png");
	mpng = b64_decode(json_string_value(json_object_get(mask, "data")), &mlen);
	mk = decode_png(mpng, mlen, 512, 343);
	for (size_t k = 0; k < (size_t)512 * 343; k++) {
		ck_assert(mk.pixels[3 * k] == mk.pixels[3 * k + 1]); /* gray */
		hist[mk.pixels[3 * k]]++;
	}
	json_array_foreach(classes, i, c)
	{
		int idx = (int)jnum(c, "index");
		long px = (long)jnum(c, "pixels");
		ck_assert_msg(px == hist[idx], "class %d: %ld pixels in JSON, %ld in the mask", idx, px, hist[idx]);
		ck_assert(px > 0);
		if (i > 0)
			ck_assert(px <= (long)jnum(json_array_get(classes, i - 1), "pixels"));
		ck_assert_double_eq_tol(jnum(c, "fraction"), (double)px / (512.0 * 343), 1e-12);
		fsum += jnum(c, "fraction");
		total += px;
		if (idx != 0 && !main_label)
			main_label = json_string_value(json_object_get(c, "label"));
	}
	ck_assert_int_eq(total, 512L * 343); /* every class present is listed */
	ck_assert_double_eq_tol(fsum, 1.0, 1e-9);
	ck_assert_msg(main_label && !strcmp(main_label, "bird"), "main class %s", main_label ? main_label : "none");
	ck_assert_msg(hist[3] > 512L * 343 / 20, "bird covers %ld pixels", hist[3]);
	check_mask_against_raw(m, png_in, len, &mk);

	/* output=png: the very same PNG */
	json_decref(res);
	res = NULL;
	prm.output = "png";
	ck_assert_msg(pool_predict(m, png_in, len, NULL, &prm, &res, &png, &plen, NULL, &err) == POOL_OK, "%s",
		      err.msg);
	ck_assert(res == NULL); /* the PNG is the whole answer */
	ck_assert(png != NULL);
	ck_assert_int_eq(plen, mlen);
	ck_assert(!memcmp(png, mpng, mlen));

	/* output=overlay: the picture, class pixels blended with their colour */
	prm.output = "overlay";
	ck_assert_msg(pool_predict(m, png_in, len, NULL, &prm, &res, &ovl, &olen, NULL, &err) == POOL_OK, "%s",
		      err.msg);
	ov = decode_png(ovl, olen, 512, 343);
	ck_assert(ls_image_decode(png_in, len, NULL, 0, 0, &pic, msg, sizeof(msg)) == LS_IMG_OK);
	for (size_t k = 0; k < (size_t)512 * 343; k++) {
		int cls = mk.pixels[3 * k];
		uint8_t col[3];
		voc(cls, col);
		for (int ch = 0; ch < 3; ch++) {
			int want = cls ? (pic.pixels[3 * k + ch] + col[ch] + 1) / 2 : pic.pixels[3 * k + ch];
			ck_assert_msg(ov.pixels[3 * k + ch] == want, "pixel %zu channel %d class %d: %d, want %d", k, ch,
				      cls, ov.pixels[3 * k + ch], want);
		}
	}
	ls_image_free(&mk), ls_image_free(&ov), ls_image_free(&pic);
	free(mpng), free(png), free(ovl), free(png_in);
	json_decref(res);
	pool_put(m);
}
END_TEST

/* A big JPEG decoded with DCT scaling, and a letterboxed input: the mask is
 * still at the picture's full size, and asking for the overlay (which keeps
 * the picture) does not change the mask. */
START_TEST(test_segment_scaled_and_letterboxed)
{
	char mp[1024], lp[1024];
	size_t len, plen, olen;
	uint8_t *jpg, *png = NULL, *png2 = NULL, *ovl = NULL;
	pool_model *m, *ml;
	repo_config cfg;
	json_t *res = NULL;
	pool_task_params prm = {.threshold = -1.0f, .output = "png"};
	ls_image mk, mk2, ov;
	nn_err err = {0};
	long person = 0, person2 = 0;

	if (!shared2(seg_models[0], mp, VOC_LABELS, lp) || !(jpg = shared_file("images/kite_and_cold.jpg", &len)))
		return;
	m = open_model(mp, lp, NULL);
	ck_assert(pool_predict(m, jpg, len, NULL, &prm, &res, &png, &plen, NULL, &err) == POOL_OK);
	mk = decode_png(png, plen, 1352, 900);
	prm.output = "overlay";
	ck_assert(pool_predict(m, jpg, len, NULL, &prm, &res, &ovl, &olen, NULL, &err) == POOL_OK);
	ov = decode_png(ovl, olen, 1352, 900);
	/* background pixels are the picture: not black, not the palette */
	ck_assert(ov.pixels[0] > 100 && ov.pixels[1] > 100 && ov.pixels[2] > 100); /* the sky, top left */

	repo_config_init(&cfg);
	cfg.letterbox = true;
	ml = open_model(mp, lp, &cfg);
	prm.output = "png";
	ck_assert(pool_predict(ml, jpg, len, NULL, &prm, &res, &png2, &plen, NULL, &err) == POOL_OK);
	mk2 = decode_png(png2, plen, 1352, 900);
	for (size_t k = 0; k < (size_t)1352 * 900; k++) {
		person += mk.pixels[3 * k] == 15;
		person2 += mk2.pixels[3 * k] == 15;
	}
	/* the two walkers, found whether the input was stretched or letterboxed */
	ck_assert_msg(person > 5000 && person2 > 5000, "person pixels: %ld stretched, %ld letterboxed", person,
		      person2);
	/* the people sit in the lower left quarter of the picture: a mapping that left the
	 * letterbox bars in (or mixed up the axes) would move them */
	for (int pass = 0; pass < 2; pass++) {
		const ls_image *x = pass ? &mk2 : &mk;
		long lower_left = 0, all = 0;
		for (int y = 0; y < 900; y++)
			for (int xx = 0; xx < 1352; xx++)
				if (x->pixels[3 * ((size_t)y * 1352 + xx)] == 15) {
					all++;
					lower_left += y >= 450 && xx < 676;
				}
		ck_assert_msg(lower_left * 10 >= all * 9, "pass %d: %ld of %ld person pixels lower left", pass,
			      lower_left, all);
	}
	ls_image_free(&mk), ls_image_free(&mk2), ls_image_free(&ov);
	free(png), free(png2), free(ovl), free(jpg);
	pool_put(m), pool_put(ml);
}
END_TEST

/* ---- the CLI: liteserve predict --max-results / --output / --overlay ------------------------ */

/* Runs the liteserve binary with argv (NULL-terminated); stdout into out.  Returns the exit code. */
static int run_cli(char *const argv[], char *out, size_t cap)
{
	int pipefd[2], status = 0;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	ck_assert(pipe(pipefd) == 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (n + 1 < cap && (r = read(pipefd[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(pipefd[0]);
	ck_assert(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_cli_predict_detseg)
{
	char bin[1024], mp[1024], lp[1024], sp[1024], vp[1024], img[1024], bird[1024], out[65536];
	char png_path[] = "/tmp/ls_detseg_cli_XXXXXX";
	const char *p;
	json_t *res;
	json_error_t jerr;
	uint8_t *png;
	size_t len;
	ls_image mk;
	int fd;

	if (!shared2(SSD_MODEL, mp, SSD_LABELS, lp) || !shared2(seg_models[1], sp, VOC_LABELS, vp) ||
	    !shared2("images/kite_and_cold.jpg", img, "images/bird.png", bird))
		return;
	p = ts_liteserve_bin();
	snprintf(bin, sizeof(bin), "%s", p);
	{
		char *argv[] = {bin, "predict", mp, "--image", img, "--labels", lp, "--max-results", "2", NULL};
		ck_assert_int_eq(run_cli(argv, out, sizeof(out)), 0);
	}
	res = json_loads(out, 0, &jerr);
	ck_assert_msg(res != NULL, "not JSON: %s", out);
	ck_assert_str_eq(json_string_value(json_object_get(res, "task")), "detection");
	ck_assert_int_eq(json_array_size(json_object_get(res, "predictions")), 2);
	json_decref(res);

	fd = mkstemp(png_path);
	ck_assert(fd >= 0);
	close(fd);
	{
		char *argv[] = {bin, "predict", sp, "--image", bird, "--labels", vp, "--output", png_path, NULL};
		ck_assert_int_eq(run_cli(argv, out, sizeof(out)), 0);
	}
	res = json_loads(out, 0, &jerr);
	ck_assert_msg(res != NULL, "not JSON: %s", out);
	png = ts_read_file(png_path, &len);
	ck_assert(png != NULL);
	ck_assert_int_eq((json_int_t)len, json_integer_value(json_object_get(res, "bytes")));
	mk = decode_png(png, len, 512, 343);
	ls_image_free(&mk);
	free(png);
	json_decref(res);
	{
		char *argv[] = {bin, "predict", sp, "--image", bird, "--labels", vp, "--output", png_path, "--overlay",
				NULL};
		ck_assert_int_eq(run_cli(argv, out, sizeof(out)), 0);
	}
	png = ts_read_file(png_path, &len);
	ck_assert(png != NULL && len > 33 && png[25] == 2); /* IHDR colour type 2: RGB */
	mk = decode_png(png, len, 512, 343);
	ls_image_free(&mk);
	free(png);
	{
		/* --overlay alone, and --output on a detector, are refused */
		char *a1[] = {bin, "predict", sp, "--image", bird, "--overlay", NULL};
		char *a2[] = {bin, "predict", mp, "--image", img, "--labels", lp, "--output", png_path, NULL};
		ck_assert_int_eq(run_cli(a1, out, sizeof(out)), 2);
		ck_assert_int_eq(run_cli(a2, out, sizeof(out)), 1);
	}
	remove(png_path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("task_detseg");
	TCase *tc = tcase_create("detection");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_detect_kite_and_cold);
	tcase_add_test(tc, test_detect_threshold_max_results);
	tcase_add_test(tc, test_detect_letterbox);
	tcase_add_test(tc, test_detect_unused_label);
	tcase_add_test(tc, test_refused_at_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("segmentation");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_segment_bird, 0, (int)(sizeof(seg_models) / sizeof(seg_models[0])));
	tcase_add_test(tc, test_segment_scaled_and_letterboxed);
	tcase_add_test(tc, test_cli_predict_detseg);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
