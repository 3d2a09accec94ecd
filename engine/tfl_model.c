/* tfl_model.c - the .tflite reader (see tfl_model.h).
 *
 * DESIGN: two passes over subgraph 0.  The first counts what must be
 * allocated (tensors, operator inputs/outputs, quantization parameters) and
 * checks each count against limits.h; the second fills the arrays.  Every
 * table and vector is reached through flatbuf.h, which range-checks it.
 * Field ids below are the positions of the fields in tflite_schema.fbs.
 */
#include "tfl_model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "nn_limits.h"
#include "nn_string.h"

/* Model */
enum { F_MODEL_VERSION = 0, F_MODEL_OPCODES = 1, F_MODEL_SUBGRAPHS = 2, F_MODEL_DESCRIPTION = 3,
       F_MODEL_BUFFERS = 4, F_MODEL_METADATA = 6 };
/* OperatorCode */
enum { F_OPC_DEPRECATED = 0, F_OPC_CUSTOM = 1, F_OPC_VERSION = 2, F_OPC_BUILTIN = 3 };
/* SubGraph */
enum { F_SG_TENSORS = 0, F_SG_INPUTS = 1, F_SG_OUTPUTS = 2, F_SG_OPERATORS = 3 };
/* Tensor */
enum { F_T_SHAPE = 0, F_T_TYPE = 1, F_T_BUFFER = 2, F_T_NAME = 3, F_T_QUANT = 4, F_T_VARIABLE = 5,
       F_T_SPARSITY = 6 };
/* QuantizationParameters */
enum { F_Q_SCALE = 2, F_Q_ZERO_POINT = 3, F_Q_DETAILS_TYPE = 4, F_Q_AXIS = 6 };
/* Buffer */
enum { F_B_DATA = 0, F_B_OFFSET = 1, F_B_SIZE = 2 };
/* Operator */
enum { F_OP_OPCODE = 0, F_OP_INPUTS = 1, F_OP_OUTPUTS = 2, F_OP_OPTIONS_TYPE = 3, F_OP_OPTIONS = 4,
       F_OP_CUSTOM_OPTIONS = 5, F_OP_LARGE_CUSTOM_OFFSET = 9, F_OP_LARGE_CUSTOM_SIZE = 10 };
/* Metadata */
enum { F_MD_NAME = 0, F_MD_BUFFER = 1 };

typedef struct opcode_info {
	int32_t builtin;
	int32_t version;
	const char *custom;
} opcode_info;

static void note_end(tfl_model *m, uint64_t end)
{
	if (end > m->flatbuffer_end && end <= m->size)
		m->flatbuffer_end = (size_t)end;
}

/* Resolves buffer `idx` to bytes inside the file. */
static nn_status buffer_bytes(tfl_model *m, const fb_vec *buffers, uint32_t idx, const uint8_t **data,
			      size_t *size, nn_err *err)
{
	fb_table b;
	fb_vec v;
	nn_status st;
	uint64_t off, sz;

	*data = NULL;
	*size = 0;
	if (idx >= buffers->len)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "buffer index %u out of range (%u buffers)", idx,
				  buffers->len);
	if ((st = fb_vec_table(buffers, idx, &b, err)) != NN_OK)
		return nn_err_prefix(err, "buffer %u", idx);
	if ((st = fb_vec_field(&b, F_B_DATA, 1, &v, err)) != NN_OK)
		return nn_err_prefix(err, "buffer %u data", idx);
	if (v.len > 0) {
		*data = fb_vec_data(&v);
		*size = v.len;
		note_end(m, (uint64_t)v.pos + v.len);
		return NN_OK;
	}
	/* Schema 3a+: large buffers stored after the flatbuffer at (offset, size);
	 * offset 0 or 1 means "no data" (1 is a placeholder writers use). */
	off = fb_u64(&b, F_B_OFFSET, 0);
	sz = fb_u64(&b, F_B_SIZE, 0);
	if (off > 1) {
		if (off > m->size || sz > m->size - off)
			return nn_err_set(err, NN_ERR_BAD_MODEL,
					  "buffer %u: external range [%llu, +%llu) outside the file (%zu bytes)", idx,
					  (unsigned long long)off, (unsigned long long)sz, m->size);
		*data = m->bytes + off;
		*size = (size_t)sz;
	}
	return NN_OK;
}

static nn_status read_opcodes(const fb_table *root, opcode_info **out, uint32_t *count, nn_err *err)
{
	fb_vec v;
	nn_status st;
	opcode_info *oc;

	*out = NULL;
	if ((st = fb_vec_field(root, F_MODEL_OPCODES, 4, &v, err)) != NN_OK)
		return nn_err_prefix(err, "operator_codes");
	if (v.len > NN_MAX_OPCODES)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u operator codes exceed the limit of %d", v.len,
				  NN_MAX_OPCODES);
	oc = nn_calloc(v.len, sizeof(*oc));
	if (!oc)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory reading %u operator codes", v.len);
	for (uint32_t i = 0; i < v.len; i++) {
		fb_table t;
		uint32_t len;
		int32_t dep, code;

		if ((st = fb_vec_table(&v, i, &t, err)) != NN_OK ||
		    (st = fb_string_field(&t, F_OPC_CUSTOM, &oc[i].custom, &len, err)) != NN_OK) {
			nn_free(oc);
			return nn_err_prefix(err, "operator code %u", i);
		}
		/* TFLite takes the larger of the deprecated int8 code and the int32 one:
		 * old files fill only the first, new ones write 127 there. */
		dep = fb_i8(&t, F_OPC_DEPRECATED, 0);
		code = fb_i32(&t, F_OPC_BUILTIN, 0);
		oc[i].builtin = dep > code ? dep : code;
		oc[i].version = fb_i32(&t, F_OPC_VERSION, 1);
		if (oc[i].builtin == TFL_BUILTIN_CUSTOM && !oc[i].custom) {
			nn_free(oc);
			return nn_err_set(err, NN_ERR_BAD_MODEL, "operator code %u is CUSTOM but has no custom name",
					  i);
		}
		if (oc[i].builtin != TFL_BUILTIN_CUSTOM)
			oc[i].custom = NULL;
	}
	*out = oc;
	*count = v.len;
	return NN_OK;
}

static nn_status check_index_vec(const fb_vec *v, int n_tensors, bool allow_minus_one, const char *what,
				 nn_err *err)
{
	for (uint32_t i = 0; i < v->len; i++) {
		int32_t x = fb_vec_i32(v, i);
		if ((x == -1 && allow_minus_one) || (x >= 0 && x < n_tensors))
			continue;
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%s[%u] = %d is not a tensor index (0..%d)", what, i, x,
				  n_tensors - 1);
	}
	return NN_OK;
}

static nn_status read_quant(const fb_table *tt, int ti, const tfl_tensor *t, fb_vec *scale, fb_vec *zp,
			    int32_t *axis, nn_err *err)
{
	fb_table q;
	bool present;
	nn_status st;

	memset(scale, 0, sizeof(*scale));
	memset(zp, 0, sizeof(*zp));
	*axis = 0;
	if ((st = fb_table_field(tt, F_T_QUANT, &q, &present, err)) != NN_OK)
		return nn_err_prefix(err, "tensor %d quantization", ti);
	if (!present)
		return NN_OK;
	if ((st = fb_vec_field(&q, F_Q_SCALE, 4, scale, err)) != NN_OK ||
	    (st = fb_vec_field(&q, F_Q_ZERO_POINT, 8, zp, err)) != NN_OK)
		return nn_err_prefix(err, "tensor %d quantization", ti);
	if (fb_u8(&q, F_Q_DETAILS_TYPE, 0) != 0 && scale->len == 0)
		return nn_err_set(err, NN_ERR_UNSUPPORTED,
				  "tensor %d '%s': custom/blockwise quantization details are not supported", ti,
				  t->name);
	if (scale->len > NN_MAX_QUANT_CHANNELS)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "tensor %d: %u quantization scales exceed the limit %d", ti,
				  scale->len, NN_MAX_QUANT_CHANNELS);
	if (scale->len == 0) {
		zp->len = 0;
		return NN_OK;
	}
	if (zp->len != scale->len && zp->len != 0)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "tensor %d '%s': %u scales but %u zero points", ti, t->name,
				  scale->len, zp->len);
	*axis = fb_i32(&q, F_Q_AXIS, 0);
	if (scale->len > 1) {
		if (*axis < 0 || *axis >= t->rank || t->dims[*axis] != (int32_t)scale->len)
			return nn_err_set(err, NN_ERR_BAD_MODEL,
					  "tensor %d '%s': %u per-axis scales do not match dimension %d of a rank-%d tensor",
					  ti, t->name, scale->len, *axis, t->rank);
	}
	for (uint32_t i = 0; i < scale->len; i++) {
		float s = fb_vec_f32(scale, i);
		if (!isfinite(s))
			return nn_err_set(err, NN_ERR_BAD_MODEL, "tensor %d '%s': quantization scale %u is not finite",
					  ti, t->name, i);
	}
	return NN_OK;
}

static nn_status read_tensors(tfl_model *m, const fb_table *sg, const fb_vec *buffers, nn_err *err)
{
	fb_vec tv;
	nn_status st;
	size_t nq = 0;
	uint8_t *qmem;

	if ((st = fb_vec_field(sg, F_SG_TENSORS, 4, &tv, err)) != NN_OK)
		return nn_err_prefix(err, "subgraph 0 tensors");
	if (tv.len > NN_MAX_TENSORS)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u tensors exceed the limit of %d", tv.len, NN_MAX_TENSORS);
	m->n_tensors = (int)tv.len;
	m->tensors = nn_calloc(tv.len, sizeof(tfl_tensor));
	if (!m->tensors)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for %u tensors", tv.len);

	/* pass 1: shapes, types, buffers; count quantization parameters */
	for (uint32_t i = 0; i < tv.len; i++) {
		tfl_tensor *t = &m->tensors[i];
		fb_table tt;
		fb_vec shape, scale, zp;
		uint32_t len;
		int32_t axis;
		int8_t type;

		if ((st = fb_vec_table(&tv, i, &tt, err)) != NN_OK)
			return nn_err_prefix(err, "tensor %u", i);
		if ((st = fb_string_field(&tt, F_T_NAME, &t->name, &len, err)) != NN_OK)
			return nn_err_prefix(err, "tensor %u name", i);
		if (!t->name)
			t->name = "";
		type = fb_i8(&tt, F_T_TYPE, 0);
		if (type < 0 || type >= NN_DTYPE_COUNT_)
			return nn_err_set(err, NN_ERR_BAD_MODEL, "tensor %u '%s': unknown type %d", i, t->name, type);
		t->type = (nn_dtype)type;
		if ((st = fb_vec_field(&tt, F_T_SHAPE, 4, &shape, err)) != NN_OK)
			return nn_err_prefix(err, "tensor %u shape", i);
		if (shape.len > NN_MAX_RANK)
			return nn_err_set(err, NN_ERR_UNSUPPORTED, "tensor %u '%s': rank %u exceeds the limit of %d", i,
					  t->name, shape.len, NN_MAX_RANK);
		t->rank = (int)shape.len;
		for (int d = 0; d < t->rank; d++) {
			t->dims[d] = fb_vec_i32(&shape, (uint32_t)d);
			if (t->dims[d] < 0 && t->dims[d] != -1)
				return nn_err_set(err, NN_ERR_BAD_MODEL, "tensor %u '%s': dimension %d is %d", i,
						  t->name, d, t->dims[d]);
		}
		if (fb_has(&tt, F_T_SPARSITY))
			return nn_err_set(err, NN_ERR_UNSUPPORTED, "tensor %u '%s': sparse tensors are not supported",
					  i, t->name);
		t->is_variable = fb_bool(&tt, F_T_VARIABLE, false);
		if ((st = buffer_bytes(m, buffers, fb_u32(&tt, F_T_BUFFER, 0), &t->data, &t->data_size, err)) !=
		    NN_OK)
			return nn_err_prefix(err, "tensor %u '%s'", i, t->name);
		if (t->data) {
			uint64_t count;
			size_t es = nn_dtype_size(t->type);
			if (es == 0 && t->type != NN_STRING)
				return nn_err_set(err, NN_ERR_UNSUPPORTED, "tensor %u '%s': constant of type %s", i,
						  t->name, nn_dtype_name(t->type));
			if (t->type == NN_STRING) {
				/* TFLite's string layout: the count must match the shape, every offset inside */
				if (!nn_shape_count(t->rank, t->dims, NN_MAX_TENSOR_BYTES / 4, &count))
					return nn_err_set(err, NN_ERR_BAD_MODEL,
							  "tensor %u '%s': constant shape is invalid or too large", i,
							  t->name);
				if ((st = nn_string_check(t->data, t->data_size, (int64_t)count, err)) != NN_OK)
					return nn_err_prefix(err, "tensor %u '%s'", i, t->name);
			}
			if (es) {
				if (!nn_shape_count(t->rank, t->dims, NN_MAX_TENSOR_BYTES / es, &count))
					return nn_err_set(err, NN_ERR_BAD_MODEL,
							  "tensor %u '%s': constant shape is invalid or too large", i,
							  t->name);
				if (count * es != t->data_size)
					return nn_err_set(err, NN_ERR_BAD_MODEL,
							  "tensor %u '%s': buffer has %zu bytes but shape needs %llu", i,
							  t->name, t->data_size, (unsigned long long)(count * es));
			}
		}
		if ((st = read_quant(&tt, (int)i, t, &scale, &zp, &axis, err)) != NN_OK)
			return st;
		nq += scale.len;
	}

	/* pass 2: copy quantization parameters into one aligned block */
	qmem = nn_calloc(nq ? nq : 1, sizeof(float) + sizeof(int64_t));
	if (!qmem)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for %zu quantization parameters", nq);
	m->quant_storage_ = qmem;
	{
		int64_t *zps = (int64_t *)qmem;
		float *scales = (float *)(qmem + nq * sizeof(int64_t));
		size_t k = 0;
		for (uint32_t i = 0; i < tv.len; i++) {
			tfl_tensor *t = &m->tensors[i];
			fb_table tt;
			fb_vec scale, zp;
			int32_t axis;

			if ((st = fb_vec_table(&tv, i, &tt, err)) != NN_OK ||
			    (st = read_quant(&tt, (int)i, t, &scale, &zp, &axis, err)) != NN_OK)
				return st;
			if (scale.len == 0)
				continue;
			t->quant.n = (int)scale.len;
			t->quant.axis = axis;
			t->quant.scale = scales + k;
			t->quant.zero_point = zps + k;
			for (uint32_t j = 0; j < scale.len; j++) {
				scales[k + j] = fb_vec_f32(&scale, j);
				zps[k + j] = zp.len ? fb_vec_i64(&zp, j) : 0;
			}
			k += scale.len;
		}
	}
	return NN_OK;
}

static nn_status read_ops(tfl_model *m, const fb_table *sg, const opcode_info *oc, uint32_t n_oc, nn_err *err)
{
	fb_vec ov;
	nn_status st;
	size_t total_io = 0;
	int32_t *io = NULL;

	if ((st = fb_vec_field(sg, F_SG_OPERATORS, 4, &ov, err)) != NN_OK)
		return nn_err_prefix(err, "subgraph 0 operators");
	if (ov.len > NN_MAX_OPERATORS)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u operators exceed the limit of %d", ov.len,
				  NN_MAX_OPERATORS);
	m->n_ops = (int)ov.len;
	m->ops = nn_calloc(ov.len, sizeof(tfl_op));
	if (!m->ops)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for %u operators", ov.len);

	for (int pass = 0; pass < 2; pass++) {
		size_t k = 0;
		if (pass == 1) {
			io = nn_calloc(total_io ? total_io : 1, sizeof(int32_t));
			if (!io)
				return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory for operator inputs");
			m->io_storage_ = io;
		}
		for (uint32_t i = 0; i < ov.len; i++) {
			tfl_op *op = &m->ops[i];
			fb_table ot;
			fb_vec in, out, copts;
			uint32_t opc;

			if ((st = fb_vec_table(&ov, i, &ot, err)) != NN_OK ||
			    (st = fb_vec_field(&ot, F_OP_INPUTS, 4, &in, err)) != NN_OK ||
			    (st = fb_vec_field(&ot, F_OP_OUTPUTS, 4, &out, err)) != NN_OK)
				return nn_err_prefix(err, "operator %u", i);
			if (in.len > NN_MAX_OP_IO || out.len > NN_MAX_OP_IO)
				return nn_err_set(err, NN_ERR_BAD_MODEL, "operator %u: %u inputs / %u outputs exceed %d",
						  i, in.len, out.len, NN_MAX_OP_IO);
			if (pass == 0) {
				total_io += in.len + out.len;
				continue;
			}
			if ((st = check_index_vec(&in, m->n_tensors, true, "inputs", err)) != NN_OK ||
			    (st = check_index_vec(&out, m->n_tensors, false, "outputs", err)) != NN_OK)
				return nn_err_prefix(err, "operator %u", i);
			opc = fb_u32(&ot, F_OP_OPCODE, 0);
			if (opc >= n_oc)
				return nn_err_set(err, NN_ERR_BAD_MODEL, "operator %u: opcode index %u out of range (%u codes)",
						  i, opc, n_oc);
			op->builtin = oc[opc].builtin;
			op->custom_name = oc[opc].custom;
			op->version = oc[opc].version;
			op->n_inputs = (int)in.len;
			op->n_outputs = (int)out.len;
			op->inputs = io + k;
			for (uint32_t j = 0; j < in.len; j++)
				io[k++] = fb_vec_i32(&in, j);
			op->outputs = io + k;
			for (uint32_t j = 0; j < out.len; j++)
				io[k++] = fb_vec_i32(&out, j);
			op->options_type = fb_u8(&ot, F_OP_OPTIONS_TYPE, 0);
			if ((st = fb_table_field(&ot, F_OP_OPTIONS, &op->options, &op->has_options, err)) != NN_OK)
				return nn_err_prefix(err, "operator %u options", i);
			if ((st = fb_vec_field(&ot, F_OP_CUSTOM_OPTIONS, 1, &copts, err)) != NN_OK)
				return nn_err_prefix(err, "operator %u custom options", i);
			if (copts.len) {
				op->custom_options = fb_vec_data(&copts);
				op->custom_options_size = copts.len;
			} else {
				uint64_t off = fb_u64(&ot, F_OP_LARGE_CUSTOM_OFFSET, 0);
				uint64_t sz = fb_u64(&ot, F_OP_LARGE_CUSTOM_SIZE, 0);
				if (off > 1 && sz > 0) {
					if (off > m->size || sz > m->size - off)
						return nn_err_set(err, NN_ERR_BAD_MODEL,
								  "operator %u: large custom options outside the file", i);
					op->custom_options = m->bytes + off;
					op->custom_options_size = (size_t)sz;
				}
			}
		}
	}
	return NN_OK;
}

static nn_status read_io(tfl_model *m, const fb_table *sg, int field, int32_t **out, int *n, const char *what,
			 nn_err *err)
{
	fb_vec v;
	nn_status st;

	if ((st = fb_vec_field(sg, field, 4, &v, err)) != NN_OK)
		return nn_err_prefix(err, "subgraph 0 %s", what);
	if (v.len > NN_MAX_OP_IO)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u subgraph %s exceed %d", v.len, what, NN_MAX_OP_IO);
	if ((st = check_index_vec(&v, m->n_tensors, false, what, err)) != NN_OK)
		return nn_err_prefix(err, "subgraph 0");
	*out = nn_calloc(v.len ? v.len : 1, sizeof(int32_t));
	if (!*out)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	for (uint32_t i = 0; i < v.len; i++)
		(*out)[i] = fb_vec_i32(&v, i);
	*n = (int)v.len;
	return NN_OK;
}

static nn_status read_metadata(tfl_model *m, const fb_table *root, const fb_vec *buffers, nn_err *err)
{
	fb_vec v;
	nn_status st;

	if ((st = fb_vec_field(root, F_MODEL_METADATA, 4, &v, err)) != NN_OK)
		return nn_err_prefix(err, "metadata");
	if (v.len > 1024)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u metadata entries", v.len);
	m->metadata = nn_calloc(v.len ? v.len : 1, sizeof(tfl_metadata));
	if (!m->metadata)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	for (uint32_t i = 0; i < v.len; i++) {
		fb_table t;
		uint32_t len;
		tfl_metadata *md = &m->metadata[i];

		if ((st = fb_vec_table(&v, i, &t, err)) != NN_OK ||
		    (st = fb_string_field(&t, F_MD_NAME, &md->name, &len, err)) != NN_OK ||
		    (st = buffer_bytes(m, buffers, fb_u32(&t, F_MD_BUFFER, 0), &md->data, &md->size, err)) != NN_OK)
			return nn_err_prefix(err, "metadata %u", i);
		if (!md->name)
			md->name = "";
	}
	m->n_metadata = (int)v.len;
	return NN_OK;
}

static nn_status parse(tfl_model *m, nn_err *err)
{
	fb_table root, sg;
	fb_vec sgs, buffers;
	opcode_info *oc = NULL;
	uint32_t n_oc = 0, len;
	nn_status st;

	if ((st = fb_root(m->bytes, m->size, "TFL3", &root, err)) != NN_OK)
		return st;
	m->schema_version = fb_u32(&root, F_MODEL_VERSION, 0);
	if (m->schema_version != 3)
		return nn_err_set(err, NN_ERR_UNSUPPORTED, "schema version %u (only version 3 is supported)",
				  m->schema_version);
	if ((st = fb_string_field(&root, F_MODEL_DESCRIPTION, &m->description, &len, err)) != NN_OK)
		return nn_err_prefix(err, "description");
	if (!m->description)
		m->description = "";
	if ((st = fb_vec_field(&root, F_MODEL_BUFFERS, 4, &buffers, err)) != NN_OK)
		return nn_err_prefix(err, "buffers");
	if (buffers.len > NN_MAX_BUFFERS)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u buffers exceed the limit of %d", buffers.len,
				  NN_MAX_BUFFERS);
	if ((st = fb_vec_field(&root, F_MODEL_SUBGRAPHS, 4, &sgs, err)) != NN_OK)
		return nn_err_prefix(err, "subgraphs");
	if (sgs.len == 0)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "model has no subgraph");
	if (sgs.len > NN_MAX_SUBGRAPHS)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%u subgraphs exceed the limit of %d", sgs.len,
				  NN_MAX_SUBGRAPHS);
	m->n_subgraphs = (int)sgs.len;
	if ((st = fb_vec_table(&sgs, 0, &sg, err)) != NN_OK)
		return nn_err_prefix(err, "subgraph 0");
	if ((st = read_opcodes(&root, &oc, &n_oc, err)) != NN_OK)
		return st;
	if ((st = read_tensors(m, &sg, &buffers, err)) != NN_OK)
		goto out;
	if ((st = read_ops(m, &sg, oc, n_oc, err)) != NN_OK)
		goto out;
	if ((st = read_io(m, &sg, F_SG_INPUTS, &m->inputs, &m->n_inputs, "inputs", err)) != NN_OK)
		goto out;
	if ((st = read_io(m, &sg, F_SG_OUTPUTS, &m->outputs, &m->n_outputs, "outputs", err)) != NN_OK)
		goto out;
	st = read_metadata(m, &root, &buffers, err);
out:
	nn_free(oc);
	return st;
}

static nn_status finish(tfl_model *m, tfl_model **out, nn_err *err)
{
	nn_status st = parse(m, err);

	if (st != NN_OK) {
		tfl_model_free(m);
		*out = NULL;
		return st;
	}
	*out = m;
	return NN_OK;
}

nn_status tfl_model_open(const char *path, tfl_model **out, nn_err *err)
{
	struct stat sb;
	tfl_model *m;
	void *map;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nn_err_set(err, NN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return nn_err_set(err, NN_ERR_IO, "%s is not a regular file", path);
	}
	if ((uint64_t)sb.st_size < 8 || (uint64_t)sb.st_size > NN_MAX_MODEL_BYTES) {
		close(fd);
		return nn_err_set(err, NN_ERR_BAD_MODEL, "%s: size %lld bytes is not that of a TFLite model", path,
				  (long long)sb.st_size);
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return nn_err_set(err, NN_ERR_IO, "cannot map %s: %s", path, strerror(errno));
	m = nn_calloc(1, sizeof(*m));
	if (!m) {
		munmap(map, (size_t)sb.st_size);
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	}
	m->map_ = map;
	m->map_size_ = (size_t)sb.st_size;
	m->bytes = map;
	m->size = (size_t)sb.st_size;
	return finish(m, out, err);
}

nn_status tfl_model_from_memory(const void *data, size_t size, bool copy, tfl_model **out, nn_err *err)
{
	tfl_model *m;

	*out = NULL;
	if (size > NN_MAX_MODEL_BYTES)
		return nn_err_set(err, NN_ERR_BAD_MODEL, "model of %zu bytes exceeds the limit", size);
	m = nn_calloc(1, sizeof(*m));
	if (!m)
		return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
	if (copy) {
		/* 16-byte alignment like a mapping's, so constants keep their alignment */
		m->copy_ = nn_aligned_alloc(64, size ? size : 1);
		if (!m->copy_) {
			nn_free(m);
			return nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory copying a %zu-byte model", size);
		}
		if (size)
			memcpy(m->copy_, data, size);
		m->bytes = m->copy_;
	} else {
		m->bytes = data;
	}
	m->size = size;
	return finish(m, out, err);
}

void tfl_model_free(tfl_model *m)
{
	if (!m)
		return;
	nn_free(m->tensors);
	nn_free(m->ops);
	nn_free(m->inputs);
	nn_free(m->outputs);
	nn_free(m->metadata);
	nn_free(m->io_storage_);
	nn_free(m->quant_storage_);
	if (m->map_)
		munmap(m->map_, m->map_size_);
	nn_free(m->copy_);
	nn_free(m);
}

const char *tfl_op_name(const tfl_op *op, char *buf, size_t buflen)
{
	const char *n;

	if (op->builtin == TFL_BUILTIN_CUSTOM && op->custom_name)
		return op->custom_name;
	n = tfl_builtin_name(op->builtin);
	if (n)
		return n;
	snprintf(buf, buflen, "BUILTIN_%d", op->builtin);
	return buf;
}
