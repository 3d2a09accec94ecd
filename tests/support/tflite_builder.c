/* tflite_builder.c - test-only .tflite writer (see tflite_builder.h).
 *
 * DESIGN: a FlatBuffers builder in miniature.  Bytes are prepended to a
 * buffer that grows toward the front, so an object is written after (i.e.
 * placed before) everything it points to and every uoffset is positive.
 * Positions are kept as "distance from the end", which does not change as
 * the buffer grows.  Field ids follow tflite_schema.fbs.
 */
#include "tflite_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fbb {
	uint8_t *buf; /* data lives in buf[cap - len, cap) */
	size_t cap, len;
	size_t max_align;
	/* current table */
	size_t tbl_start;
	int n_fields;
	uint32_t field_pos[64]; /* distance from end of each field's value, 0 = absent */
} fbb;

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n ? n : 1, s ? s : 1);
	if (!p)
		abort();
	return p;
}

static void grow(fbb *b, size_t need)
{
	size_t ncap;
	uint8_t *nb;

	if (b->cap - b->len >= need)
		return;
	ncap = b->cap ? b->cap : 1024;
	while (ncap - b->len < need)
		ncap *= 2;
	nb = xcalloc(ncap, 1);
	if (b->len)
		memcpy(nb + ncap - b->len, b->buf + b->cap - b->len, b->len);
	free(b->buf);
	b->buf = nb;
	b->cap = ncap;
}

/* Pads so that after writing `extra` bytes the head is `align`-aligned. */
static void prep(fbb *b, size_t align, size_t extra)
{
	size_t pad;

	if (align > b->max_align)
		b->max_align = align;
	pad = (align - ((b->len + extra) % align)) % align;
	grow(b, pad + extra);
	memset(b->buf + b->cap - b->len - pad, 0, pad);
	b->len += pad;
}

static void push(fbb *b, const void *p, size_t n)
{
	grow(b, n);
	b->len += n;
	memcpy(b->buf + b->cap - b->len, p, n);
}

static uint32_t push_scalar(fbb *b, const void *p, size_t n)
{
	prep(b, n, n);
	push(b, p, n);
	return (uint32_t)b->len;
}

/* Writes a uoffset to `target` (distance from end); returns its position. */
static uint32_t push_uoffset(fbb *b, uint32_t target)
{
	uint32_t v;

	prep(b, 4, 4);
	v = (uint32_t)(b->len + 4 - target);
	push(b, &v, 4);
	return (uint32_t)b->len;
}

static uint32_t create_vector(fbb *b, const void *data, uint32_t n, size_t elem, size_t align)
{
	prep(b, 4, n * elem);
	prep(b, align > 4 ? align : 4, n * elem);
	if (n)
		push(b, data, n * elem);
	push_scalar(b, &n, 4);
	return (uint32_t)b->len;
}

static uint32_t create_string(fbb *b, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);
	uint8_t zero = 0;

	prep(b, 4, n + 1);
	push(b, &zero, 1);
	push(b, s, n);
	push_scalar(b, &n, 4);
	return (uint32_t)b->len;
}

static uint32_t create_offset_vector(fbb *b, const uint32_t *targets, uint32_t n)
{
	prep(b, 4, 4 * (size_t)n);
	for (uint32_t i = n; i-- > 0;)
		push_uoffset(b, targets[i]);
	push_scalar(b, &n, 4);
	return (uint32_t)b->len;
}

static void start_table(fbb *b)
{
	b->tbl_start = b->len;
	b->n_fields = 0;
	memset(b->field_pos, 0, sizeof(b->field_pos));
}

static void track(fbb *b, int field, uint32_t pos)
{
	if (field >= 64)
		abort();
	b->field_pos[field] = pos;
	if (field + 1 > b->n_fields)
		b->n_fields = field + 1;
}

static void add_i8(fbb *b, int field, int8_t v) { track(b, field, push_scalar(b, &v, 1)); }
static void add_i32(fbb *b, int field, int32_t v) { track(b, field, push_scalar(b, &v, 4)); }
static void add_u32(fbb *b, int field, uint32_t v) { track(b, field, push_scalar(b, &v, 4)); }
static void add_f32(fbb *b, int field, float v) { track(b, field, push_scalar(b, &v, 4)); }
static void add_offset(fbb *b, int field, uint32_t target)
{
	if (target)
		track(b, field, push_uoffset(b, target));
}

static uint32_t end_table(fbb *b)
{
	int32_t soff = 0;
	uint32_t tpos, vt_start;
	uint16_t vt_len = (uint16_t)(4 + 2 * b->n_fields), tbl_len;

	prep(b, 4, 4);
	push(b, &soff, 4);
	tpos = (uint32_t)b->len;
	tbl_len = (uint16_t)(tpos - b->tbl_start);
	/* vtable: written field offsets back to front */
	vt_start = (uint32_t)b->len;
	for (int f = b->n_fields - 1; f >= 0; f--) {
		uint16_t off = b->field_pos[f] ? (uint16_t)(tpos - b->field_pos[f]) : 0;
		push(b, &off, 2);
	}
	push(b, &tbl_len, 2);
	push(b, &vt_len, 2);
	(void)vt_start;
	/* soffset: table_pos - vtable_pos in the final buffer = (len_vt) - tpos */
	soff = (int32_t)(b->len - tpos);
	memcpy(b->buf + b->cap - tpos, &soff, 4);
	return tpos;
}

/* --- the model ----------------------------------------------------------- */

typedef struct tb_tensor_rec {
	char *name;
	nn_dtype type;
	int rank;
	int32_t dims[8];
	uint8_t *data;
	size_t nbytes;
	int has_quant;
	float *scale;
	int64_t *zp;
	int nq, axis;
	uint32_t buffer;
} tb_tensor_rec;

typedef struct tb_op_rec {
	int opcode;
	int *in, *out;
	int n_in, n_out;
	int options_type;
	tb_opts opts;
	int has_opts;
	uint8_t *custom;
	size_t custom_size;
} tb_op_rec;

typedef struct tb_opcode {
	int builtin;
	char *custom;
	int version;
} tb_opcode;

struct tb_model {
	tb_tensor_rec *t;
	int nt, ct;
	tb_op_rec *ops;
	int nops, cops;
	tb_opcode codes[64];
	int ncodes;
	int *inputs, *outputs;
	int n_inputs, n_outputs;
};

void tb_opt_i8(tb_opts *o, int field, int8_t v)
{
	o->f[o->n].field = field;
	o->f[o->n].kind = 1;
	o->f[o->n++].i = v;
}
void tb_opt_i32(tb_opts *o, int field, int32_t v)
{
	o->f[o->n].field = field;
	o->f[o->n].kind = 4;
	o->f[o->n++].i = v;
}
void tb_opt_f32(tb_opts *o, int field, float v)
{
	o->f[o->n].field = field;
	o->f[o->n].kind = 'f';
	o->f[o->n++].f = v;
}
void tb_opt_vec(tb_opts *o, int field, int n, const int32_t *v)
{
	o->f[o->n].field = field;
	o->f[o->n].kind = 'v';
	o->f[o->n].vec_len = n;
	if (n)
		memcpy(o->f[o->n].vec, v, sizeof(int32_t) * (size_t)n);
	o->n++;
}

tb_model *tb_new(void)
{
	return xcalloc(1, sizeof(tb_model));
}

void tb_free(tb_model *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->nt; i++) {
		free(b->t[i].name);
		free(b->t[i].data);
		free(b->t[i].scale);
		free(b->t[i].zp);
	}
	for (int i = 0; i < b->nops; i++) {
		free(b->ops[i].in);
		free(b->ops[i].out);
		free(b->ops[i].custom);
	}
	for (int i = 0; i < b->ncodes; i++)
		free(b->codes[i].custom);
	free(b->t);
	free(b->ops);
	free(b->inputs);
	free(b->outputs);
	free(b);
}

int tb_tensor(tb_model *b, const char *name, nn_dtype type, int rank, const int32_t *dims, const void *data,
	      size_t nbytes, const tb_quant *q)
{
	tb_tensor_rec *t;

	if (b->nt == b->ct) {
		b->ct = b->ct ? 2 * b->ct : 16;
		b->t = realloc(b->t, sizeof(tb_tensor_rec) * (size_t)b->ct);
		if (!b->t)
			abort();
	}
	t = &b->t[b->nt];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name ? name : "");
	t->type = type;
	t->rank = rank;
	if (rank)
		memcpy(t->dims, dims, sizeof(int32_t) * (size_t)rank);
	if (data) {
		t->data = xcalloc(nbytes, 1);
		memcpy(t->data, data, nbytes);
		t->nbytes = nbytes;
	}
	if (q && q->n > 0) {
		t->has_quant = 1;
		t->nq = q->n;
		t->axis = q->axis;
		t->scale = xcalloc((size_t)q->n, sizeof(float));
		t->zp = xcalloc((size_t)q->n, sizeof(int64_t));
		memcpy(t->scale, q->scale, sizeof(float) * (size_t)q->n);
		if (q->zero_point)
			memcpy(t->zp, q->zero_point, sizeof(int64_t) * (size_t)q->n);
	}
	return b->nt++;
}

int tb_op(tb_model *b, int builtin, const char *custom_name, int version, const int *inputs, int n_inputs,
	  const int *outputs, int n_outputs, int options_type, const tb_opts *opts)
{
	tb_op_rec *op;
	int code = -1;

	for (int i = 0; i < b->ncodes; i++)
		if (b->codes[i].builtin == builtin && b->codes[i].version == version &&
		    ((!custom_name && !b->codes[i].custom) ||
		     (custom_name && b->codes[i].custom && !strcmp(custom_name, b->codes[i].custom))))
			code = i;
	if (code < 0) {
		if (b->ncodes == 64)
			abort();
		code = b->ncodes++;
		b->codes[code].builtin = builtin;
		b->codes[code].version = version;
		b->codes[code].custom = custom_name ? strdup(custom_name) : NULL;
	}
	if (b->nops == b->cops) {
		b->cops = b->cops ? 2 * b->cops : 16;
		b->ops = realloc(b->ops, sizeof(tb_op_rec) * (size_t)b->cops);
		if (!b->ops)
			abort();
	}
	op = &b->ops[b->nops];
	memset(op, 0, sizeof(*op));
	op->opcode = code;
	op->n_in = n_inputs;
	op->n_out = n_outputs;
	op->in = xcalloc((size_t)n_inputs, sizeof(int));
	op->out = xcalloc((size_t)n_outputs, sizeof(int));
	if (n_inputs)
		memcpy(op->in, inputs, sizeof(int) * (size_t)n_inputs);
	if (n_outputs)
		memcpy(op->out, outputs, sizeof(int) * (size_t)n_outputs);
	op->options_type = options_type;
	if (opts) {
		op->opts = *opts;
		op->has_opts = 1;
	}
	return b->nops++;
}

void tb_op_custom_options(tb_model *b, const void *data, size_t size)
{
	tb_op_rec *op = &b->ops[b->nops - 1];

	free(op->custom);
	op->custom = xcalloc(size, 1);
	memcpy(op->custom, data, size);
	op->custom_size = size;
}

void tb_io(tb_model *b, int n_inputs, const int *inputs, int n_outputs, const int *outputs)
{
	free(b->inputs);
	free(b->outputs);
	b->inputs = xcalloc((size_t)n_inputs, sizeof(int));
	b->outputs = xcalloc((size_t)n_outputs, sizeof(int));
	if (n_inputs)
		memcpy(b->inputs, inputs, sizeof(int) * (size_t)n_inputs);
	if (n_outputs)
		memcpy(b->outputs, outputs, sizeof(int) * (size_t)n_outputs);
	b->n_inputs = n_inputs;
	b->n_outputs = n_outputs;
}

static uint32_t write_options(fbb *f, const tb_opts *o)
{
	uint32_t vecs[TB_MAX_OPT_FIELDS] = {0};

	for (int i = 0; i < o->n; i++)
		if (o->f[i].kind == 'v')
			vecs[i] = create_vector(f, o->f[i].vec, (uint32_t)o->f[i].vec_len, 4, 4);
	start_table(f);
	for (int i = 0; i < o->n; i++) {
		switch (o->f[i].kind) {
		case 1: add_i8(f, o->f[i].field, (int8_t)o->f[i].i); break;
		case 4: add_i32(f, o->f[i].field, o->f[i].i); break;
		case 'f': add_f32(f, o->f[i].field, o->f[i].f); break;
		case 'v': add_offset(f, o->f[i].field, vecs[i]); break;
		}
	}
	return end_table(f);
}

uint8_t *tb_finish(tb_model *b, size_t *size)
{
	fbb f = {0};
	uint32_t *tensor_off = xcalloc((size_t)b->nt, sizeof(uint32_t));
	uint32_t *op_off = xcalloc((size_t)b->nops, sizeof(uint32_t));
	uint32_t *buf_off = xcalloc((size_t)b->nt + 1, sizeof(uint32_t));
	uint32_t code_off[64];
	uint32_t sg, sgs, tensors, ops, ins, outs, buffers, codes, desc, root;
	int nbuf = 1;
	uint8_t *out;
	const char ident[4] = {'T', 'F', 'L', '3'};

	/* buffers: 0 is the empty buffer; then one per constant tensor */
	for (int i = 0; i < b->nt; i++)
		b->t[i].buffer = b->t[i].data ? (uint32_t)nbuf++ : 0;
	{
		uint32_t *boffs = xcalloc((size_t)nbuf, sizeof(uint32_t));
		for (int i = b->nt - 1; i >= 0; i--) {
			uint32_t data;
			if (!b->t[i].data)
				continue;
			data = create_vector(&f, b->t[i].data, (uint32_t)b->t[i].nbytes, 1, 16);
			start_table(&f);
			add_offset(&f, 0, data);
			boffs[b->t[i].buffer] = end_table(&f);
		}
		start_table(&f);
		boffs[0] = end_table(&f);
		buffers = create_offset_vector(&f, boffs, (uint32_t)nbuf);
		free(boffs);
	}
	for (int i = b->nt - 1; i >= 0; i--) {
		tb_tensor_rec *t = &b->t[i];
		uint32_t shape = create_vector(&f, t->dims, (uint32_t)t->rank, 4, 4);
		uint32_t name = create_string(&f, t->name);
		uint32_t quant = 0;
		if (t->has_quant) {
			uint32_t sc = create_vector(&f, t->scale, (uint32_t)t->nq, 4, 4);
			uint32_t zp = create_vector(&f, t->zp, (uint32_t)t->nq, 8, 8);
			start_table(&f);
			add_offset(&f, 2, sc);
			add_offset(&f, 3, zp);
			add_i32(&f, 6, t->axis);
			quant = end_table(&f);
		}
		start_table(&f);
		add_offset(&f, 0, shape);
		add_offset(&f, 3, name);
		add_offset(&f, 4, quant);
		add_u32(&f, 2, t->buffer);
		add_i8(&f, 1, (int8_t)t->type);
		tensor_off[i] = end_table(&f);
	}
	for (int i = b->nops - 1; i >= 0; i--) {
		tb_op_rec *op = &b->ops[i];
		uint32_t in = create_vector(&f, op->in, (uint32_t)op->n_in, 4, 4);
		uint32_t outv = create_vector(&f, op->out, (uint32_t)op->n_out, 4, 4);
		uint32_t opts = op->has_opts ? write_options(&f, &op->opts) : 0;
		uint32_t custom = op->custom ? create_vector(&f, op->custom, (uint32_t)op->custom_size, 1, 1) : 0;
		start_table(&f);
		add_offset(&f, 1, in);
		add_offset(&f, 2, outv);
		add_offset(&f, 4, opts);
		add_offset(&f, 5, custom);
		add_u32(&f, 0, (uint32_t)op->opcode);
		if (op->has_opts || op->options_type)
			add_i8(&f, 3, (int8_t)op->options_type);
		op_off[i] = end_table(&f);
	}
	tensors = create_offset_vector(&f, tensor_off, (uint32_t)b->nt);
	ops = create_offset_vector(&f, op_off, (uint32_t)b->nops);
	ins = create_vector(&f, b->inputs, (uint32_t)b->n_inputs, 4, 4);
	outs = create_vector(&f, b->outputs, (uint32_t)b->n_outputs, 4, 4);
	start_table(&f);
	add_offset(&f, 0, tensors);
	add_offset(&f, 1, ins);
	add_offset(&f, 2, outs);
	add_offset(&f, 3, ops);
	sg = end_table(&f);
	sgs = create_offset_vector(&f, &sg, 1);
	for (int i = b->ncodes - 1; i >= 0; i--) {
		uint32_t cname = b->codes[i].custom ? create_string(&f, b->codes[i].custom) : 0;
		start_table(&f);
		add_offset(&f, 1, cname);
		add_i32(&f, 2, b->codes[i].version);
		add_i32(&f, 3, b->codes[i].builtin);
		add_i8(&f, 0, (int8_t)(b->codes[i].builtin < 127 ? b->codes[i].builtin : 127));
		code_off[i] = end_table(&f);
	}
	codes = create_offset_vector(&f, code_off, (uint32_t)b->ncodes);
	desc = create_string(&f, "liteserve test model");
	start_table(&f);
	add_offset(&f, 1, codes);
	add_offset(&f, 2, sgs);
	add_offset(&f, 3, desc);
	add_offset(&f, 4, buffers);
	add_u32(&f, 0, 3);
	root = end_table(&f);
	prep(&f, f.max_align > 8 ? f.max_align : 8, 8);
	push(&f, ident, 4);
	push_uoffset(&f, root);

	out = xcalloc(f.len, 1);
	memcpy(out, f.buf + f.cap - f.len, f.len);
	*size = f.len;
	free(f.buf);
	free(tensor_off);
	free(op_off);
	free(buf_off);
	return out;
}
