/* conv_2d_int_vnni.c - the packed integer GEMM (conv_common.h) with
 * AVX-512 VNNI, for CONV_2D and FULLY_CONNECTED on uint8 / int8.
 *
 * DESIGN: a register tile of 6 rows x 4 blocks of 16 channels: 24 zmm
 * accumulators, 4 weight registers, one broadcast.  Each step of 4 depth
 * elements loads the 4 weight vectors of the panel (one contiguous 256-byte
 * run, as packed at load) and, per row, broadcasts the row's 4 input bytes
 * and issues 4 vpdpbusd (u8 x s8, sums of 4 products into int32, wrapping:
 * the sums are exact modulo 2^32 like the reference's).  vpdpbusd wants
 * one unsigned and one signed operand: uint8 inputs are the unsigned one
 * against signed weights, int8 inputs the signed one against unsigned
 * weights, so input bytes are used as they are - except with int8 inputs
 * and symmetric weights (q->flip): there the tile's rows are first copied
 * as x + 128 (one xor per 64 bytes, in the work area) and the weights stay
 * signed, which spares the row sums (the 128s are folded into the
 * constant) and runs the uint8 kernel.  Rows
 * past the end of a 6-row tile repeat the last row and are not stored; channels
 * past the end are masked at the store.  The epilogue adds the per-channel
 * constant and rsum * the row sum (vpsadbw, computed first when rsum != 0),
 * requantizes with conv_rq16 (bit-exact with the scalar conv_rq_apply) and
 * narrows with vpmovdb.
 */
#include <string.h>

#include "conv_common.h"

#define MR 6 /* rows per register tile */

/* Sum of the first k bytes of each row (signed or unsigned), modulo 2^32. */
static void rowsums(const uint8_t *a, size_t lda, int rows, int k, bool is_signed, int32_t *out)
{
	const __m512i zero = _mm512_setzero_si512(), flip = _mm512_set1_epi8((char)0x80);

	for (int r = 0; r < rows; r++) {
		const uint8_t *p = a + (size_t)r * lda;
		__m512i acc = zero, v;
		int i = 0;
		int64_t sum;

		for (; i + 64 <= k; i += 64) {
			v = _mm512_loadu_si512(p + i);
			if (is_signed) /* x + 128 is unsigned; the 128s come off below */
				v = _mm512_xor_si512(v, flip);
			acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
		}
		if (i < k) {
			__mmask64 m = (__mmask64)((~0ull) >> (64 - (k - i)));
			v = _mm512_maskz_loadu_epi8(m, p + i);
			if (is_signed)
				v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(v, flip));
			acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
		}
		sum = _mm512_reduce_add_epi64(acc) - (is_signed ? 128ll * k : 0);
		out[r] = (int32_t)(uint32_t)(uint64_t)sum;
	}
}

/* Copies rows of k int8 bytes to rows of kp = k rounded up to 4 bytes
 * (stride kp) as unsigned x + 128; the bytes past k are left as they are
 * (their weights are zero). */
static void flip_rows(const uint8_t *a, size_t lda, int rows, int k, uint8_t *dst)
{
	const __m512i flip = _mm512_set1_epi8((char)0x80);
	const size_t kp = (size_t)(k + 3) / 4 * 4;

	for (int r = 0; r < rows; r++) {
		const uint8_t *p = a + (size_t)r * lda;
		uint8_t *d = dst + (size_t)r * kp;
		int i = 0;

		for (; i + 64 <= k; i += 64)
			_mm512_storeu_si512(d + i, _mm512_xor_si512(_mm512_loadu_si512(p + i), flip));
		if (i < k) {
			__mmask64 m = (__mmask64)((~0ull) >> (64 - (k - i)));
			_mm512_mask_storeu_epi8(d + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p + i), flip));
		}
	}
}

static inline __attribute__((always_inline)) void tile(const conv_qgemm *q, const uint8_t *a, size_t lda,
						       const int32_t *rs, int rows, const uint8_t *w, size_t wstride,
						       const int nb, const int mr, const bool sa, int c, int c1,
						       uint8_t *out, size_t ldo)
{
	const int kq = q->kp / 4;
	const uint8_t *ar[MR];
	__m512i acc[MR][4];

#pragma GCC unroll 8
	for (int r = 0; r < mr; r++) {
		ar[r] = a + (size_t)(r < rows ? r : rows - 1) * lda;
#pragma GCC unroll 4
		for (int j = 0; j < nb; j++) /* start from the per-channel constant */
			acc[r][j] = _mm512_load_si512((const void *)(q->cst + c + 16 * j));
	}
	for (int s = 0; s < kq; s++) {
		__m512i wv[4];
		const uint8_t *ws = w + (size_t)s * wstride;
#pragma GCC unroll 4
		for (int j = 0; j < nb; j++)
			wv[j] = _mm512_load_si512((const void *)(ws + (size_t)j * 64));
#pragma GCC unroll 8
		for (int r = 0; r < mr; r++) {
			int32_t v;
			__m512i bv;
			memcpy(&v, ar[r] + (size_t)s * 4, 4);
			bv = _mm512_set1_epi32(v);
#pragma GCC unroll 4
			for (int j = 0; j < nb; j++)
				acc[r][j] = sa ? _mm512_dpbusd_epi32(acc[r][j], wv[j], bv)
					       : _mm512_dpbusd_epi32(acc[r][j], bv, wv[j]);
		}
	}
#pragma GCC unroll 8
	for (int r = 0; r < mr; r++) {
		__m512i corr;
		if (r >= rows)
			break;
		corr = _mm512_set1_epi32(rs ? (int32_t)((uint32_t)rs[r] * (uint32_t)q->rsum) : 0);
#pragma GCC unroll 4
		for (int j = 0; j < nb; j++) {
			int cc = c + 16 * j;
			__m512i v;
			__mmask16 m;

			if (cc >= c1)
				break;
			v = rs ? _mm512_add_epi32(acc[r][j], corr) : acc[r][j];
			m = c1 - cc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (c1 - cc)) - 1);
			conv_rq16_store(q->rq, cc, v, out + (size_t)r * ldo + cc, m);
		}
	}
}

static inline __attribute__((always_inline)) void run(const conv_qgemm *q, const uint8_t *a, size_t lda,
						      const int32_t *rs, int rows, int c0, int c1, uint8_t *out,
						      size_t ldo, const bool sa)
{
	const int kq = q->kp / 4, nblk = q->np / 16;

	for (int c = c0; c < c1;) {
		int blk = c / 16, panel = blk / 4, j0 = blk % 4;
		int pblocks = nblk - panel * 4 < 4 ? nblk - panel * 4 : 4;
		int left = (c1 - c + 15) / 16, nb = pblocks - j0 < left ? pblocks - j0 : left;
		const uint8_t *w = (const uint8_t *)q->w + (size_t)panel * 4 * kq * 64 + (size_t)j0 * 64;
		size_t wstride = (size_t)pblocks * 64;

		for (int r = 0; r < rows; r += MR) {
			int nr = rows - r < MR ? rows - r : MR;
			const uint8_t *ap = a + (size_t)r * lda;
			const int32_t *rp = rs ? rs + r : NULL;
			uint8_t *op = out + (size_t)r * ldo;
			if (nr == 1) { /* a single row (GEMV, or a tile's last): no repeated rows */
				switch (nb) {
				case 4: tile(q, ap, lda, rp, nr, w, wstride, 4, 1, sa, c, c1, op, ldo); break;
				case 3: tile(q, ap, lda, rp, nr, w, wstride, 3, 1, sa, c, c1, op, ldo); break;
				case 2: tile(q, ap, lda, rp, nr, w, wstride, 2, 1, sa, c, c1, op, ldo); break;
				default: tile(q, ap, lda, rp, nr, w, wstride, 1, 1, sa, c, c1, op, ldo); break;
				}
				continue;
			}
			switch (nb) {
			case 4: tile(q, ap, lda, rp, nr, w, wstride, 4, MR, sa, c, c1, op, ldo); break;
			case 3: tile(q, ap, lda, rp, nr, w, wstride, 3, MR, sa, c, c1, op, ldo); break;
			case 2: tile(q, ap, lda, rp, nr, w, wstride, 2, MR, sa, c, c1, op, ldo); break;
			default: tile(q, ap, lda, rp, nr, w, wstride, 1, MR, sa, c, c1, op, ldo); break;
			}
		}
		c += nb * 16;
	}
}

/* q and its requantization are copied to locals: the byte stores through
 * `out` could alias them as far as the compiler knows, and it would reload
 * every field and re-test every flag after each store. */
void conv_qgemm_vnni(const conv_qgemm *qin, const uint8_t *a, size_t lda, int rows, int c0, int c1, uint8_t *out,
		     size_t ldo, void *work)
{
	const conv_rq rq = *qin->rq;
	conv_qgemm qc = *qin;
	const conv_qgemm *q = &qc;
	int32_t *rs = NULL;

	qc.rq = &rq;

	if (q->rsum) {
		rs = work;
		rowsums(a, lda, rows, q->k, q->in_signed, rs);
	}
	if (q->flip) {
		flip_rows(a, lda, rows, q->k, work);
		run(q, work, (size_t)q->kp, NULL, rows, c0, c1, out, ldo, false);
	} else if (q->in_signed) {
		run(q, a, lda, rs, rows, c0, c1, out, ldo, true);
	} else {
		run(q, a, lda, rs, rows, c0, c1, out, ldo, false);
	}
}
