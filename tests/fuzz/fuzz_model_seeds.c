/* fuzz_model_seeds.c - writes small hand-made .tflite seeds for fuzz_model.
 *
 * DESIGN: the hosted models are megabytes of weights; mutating them mostly
 * flips weight bytes.  These few one- and two-op models (built with the
 * test writer, tests/support/tflite_builder.h) are tiny, so the fuzzer
 * spends its mutations on the structure: tables, vectors, shapes,
 * quantization, options, custom options.  Usage: fuzz_model_seeds DIR.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tflite_builder.h"

static void save(const char *dir, const char *name, tb_model *b)
{
	char path[4096];
	size_t size;
	uint8_t *bytes = tb_finish(b, &size);
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed_%s.tflite", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, size, f) != size) {
		perror(path);
		exit(1);
	}
	fclose(f);
	free(bytes);
	tb_free(b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	static const float w[2 * 2 * 3 * 2] = {1, -1, 0.5f, 2, 0, 1, -2, 1, 1, 0, 0.25f, 3,
					       1, 1, 1, -1, 2, 0, 0, 1, -1, 1, 0.5f, 1};
	static const float bias[2] = {0.5f, -0.5f};
	tb_model *b;
	int x, y, k, z;

	/* float CONV_2D 2x2 stride 1 SAME + RELU6, then SOFTMAX over channels */
	b = tb_new();
	x = tb_tensor(b, "x", NN_F32, 4, (int32_t[]){1, 4, 4, 3}, NULL, 0, NULL);
	k = tb_tensor(b, "w", NN_F32, 4, (int32_t[]){2, 2, 2, 3}, w, sizeof(w), NULL);
	z = tb_tensor(b, "b", NN_F32, 1, (int32_t[]){2}, bias, sizeof(bias), NULL);
	y = tb_tensor(b, "c", NN_F32, 4, (int32_t[]){1, 4, 4, 2}, NULL, 0, NULL);
	{
		tb_opts o = {0};

		tb_opt_i8(&o, 0, 0); /* padding SAME */
		tb_opt_i32(&o, 1, 1);
		tb_opt_i32(&o, 2, 1);
		tb_opt_i8(&o, 3, 3); /* RELU6 */
		tb_op(b, 3, NULL, 1, (int[]){x, k, z}, 3, (int[]){y}, 1, 1, &o);
	}
	{
		int s = tb_tensor(b, "s", NN_F32, 4, (int32_t[]){1, 4, 4, 2}, NULL, 0, NULL);
		tb_opts o = {0};

		tb_opt_f32(&o, 0, 1.0f); /* beta */
		tb_op(b, 25, NULL, 1, (int[]){y}, 1, (int[]){s}, 1, 9, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){s});
	}
	save(dir, "conv_softmax_f32", b);

	/* uint8 ADD of two quantized inputs with different scales */
	b = tb_new();
	{
		float s1 = 0.5f, s2 = 0.25f, s3 = 1.0f;
		int64_t z1 = 128, z2 = 3, z3 = 0;
		tb_quant q1 = {1, &s1, &z1, 0}, q2 = {1, &s2, &z2, 0}, q3 = {1, &s3, &z3, 0};
		tb_opts o = {0};

		x = tb_tensor(b, "a", NN_U8, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, &q1);
		k = tb_tensor(b, "b", NN_U8, 4, (int32_t[]){1, 1, 1, 3}, (uint8_t[]){1, 2, 250}, 3, &q2);
		y = tb_tensor(b, "y", NN_U8, 4, (int32_t[]){1, 2, 2, 3}, NULL, 0, &q3);
		tb_opt_i8(&o, 0, 1); /* RELU */
		tb_op(b, 0, NULL, 1, (int[]){x, k}, 2, (int[]){y}, 1, 11, &o);
		tb_io(b, 1, (int[]){x}, 1, (int[]){y});
	}
	save(dir, "add_u8", b);

	/* int8 per-channel DEPTHWISE_CONV_2D then RESHAPE */
	b = tb_new();
	{
		float si = 0.1f, so = 0.2f, sw[2] = {0.01f, 0.02f}, sb[2] = {0.001f, 0.002f};
		int64_t zi = -3, zo = 5, zw[2] = {0, 0}, zb[2] = {0, 0};
		tb_quant qi = {1, &si, &zi, 0}, qo = {1, &so, &zo, 0}, qw = {2, sw, zw, 3}, qb = {2, sb, zb, 0};
		int8_t wt[3 * 3 * 2] = {1, -2, 3, 4, -5, 6, 7, 8, -9, 10, 11, 12, -13, 14, 15, 16, 17, -18};
		int32_t bs[2] = {100, -50};
		tb_opts o = {0};

		x = tb_tensor(b, "x", NN_I8, 4, (int32_t[]){1, 5, 5, 2}, NULL, 0, &qi);
		k = tb_tensor(b, "w", NN_I8, 4, (int32_t[]){1, 3, 3, 2}, wt, sizeof(wt), &qw);
		z = tb_tensor(b, "b", NN_I32, 1, (int32_t[]){2}, bs, sizeof(bs), &qb);
		y = tb_tensor(b, "y", NN_I8, 4, (int32_t[]){1, 3, 3, 2}, NULL, 0, &qo);
		tb_opt_i8(&o, 0, 1);  /* VALID */
		tb_opt_i32(&o, 1, 1); /* stride_w */
		tb_opt_i32(&o, 2, 1); /* stride_h */
		tb_opt_i32(&o, 3, 1); /* depth_multiplier */
		tb_op(b, 4, NULL, 1, (int[]){x, k, z}, 3, (int[]){y}, 1, 2, &o);
		{
			int r = tb_tensor(b, "r", NN_I8, 2, (int32_t[]){1, 18}, NULL, 0, &qo);
			tb_opts ro = {0};

			tb_opt_vec(&ro, 0, 2, (int32_t[]){1, 18});
			tb_op(b, 22, NULL, 1, (int[]){y}, 1, (int[]){r}, 1, 17, &ro);
			tb_io(b, 1, (int[]){x}, 1, (int[]){r});
		}
	}
	save(dir, "dwconv_i8_reshape", b);

	/* float FULLY_CONNECTED + MEAN over axis 1 (keep dims) */
	b = tb_new();
	{
		float fw[4 * 6];
		tb_opts o = {0}, mo = {0};
		int m, ax;

		for (int i = 0; i < 24; i++)
			fw[i] = (float)(i % 5) - 2.0f;
		x = tb_tensor(b, "x", NN_F32, 2, (int32_t[]){2, 6}, NULL, 0, NULL);
		k = tb_tensor(b, "w", NN_F32, 2, (int32_t[]){4, 6}, fw, sizeof(fw), NULL);
		y = tb_tensor(b, "y", NN_F32, 2, (int32_t[]){2, 4}, NULL, 0, NULL);
		tb_op(b, 9, NULL, 1, (int[]){x, k, -1}, 3, (int[]){y}, 1, 8, &o);
		ax = tb_tensor(b, "axis", NN_I32, 1, (int32_t[]){1}, (int32_t[]){1}, 4, NULL);
		m = tb_tensor(b, "m", NN_F32, 2, (int32_t[]){2, 1}, NULL, 0, NULL);
		tb_opt_i8(&mo, 0, 1); /* keep_dims */
		tb_op(b, 40, NULL, 1, (int[]){y, ax}, 2, (int[]){m}, 1, 27, &mo);
		tb_io(b, 1, (int[]){x}, 1, (int[]){m});
	}
	save(dir, "fc_mean_f32", b);
	return 0;
}
