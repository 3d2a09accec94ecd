/* status.h - the engine's one status enum and its error carrier.
 *
 * DESIGN: every engine function that can fail returns an nn_status and, when
 * given a non-NULL nn_err, writes a one-line message with the numbers that
 * explain the failure ("tensor 17: shape [1,0,3] has zero elements").  The
 * server maps nn_status to HTTP codes in exactly one place.
 */
#ifndef LITESERVE_ENGINE_STATUS_H
#define LITESERVE_ENGINE_STATUS_H

#include <stddef.h>

typedef enum nn_status {
	NN_OK = 0,
	NN_ERR_INVALID_ARG,   /* caller passed something wrong (shape, dtype, count) */
	NN_ERR_BAD_MODEL,     /* malformed, truncated or hostile model file */
	NN_ERR_UNSUPPORTED,   /* valid model using an op/dtype/feature we lack */
	NN_ERR_NO_MEMORY,     /* allocation failed or a limit would be exceeded */
	NN_ERR_IO,            /* file could not be opened, read or mapped */
	NN_ERR_RUNTIME,       /* data-dependent failure during invoke (e.g. gather index) */
	NN_ERR_INTERNAL,      /* a bug: an invariant did not hold */
} nn_status;

#define NN_ERR_MSG_MAX 512

typedef struct nn_err {
	nn_status code;            /* last status written */
	char msg[NN_ERR_MSG_MAX];  /* human-readable, one line, no trailing newline */
} nn_err;

/* Writes code and a printf-style message into err (if err is not NULL) and
 * returns code, so callers can `return nn_err_set(err, ...)`. */
nn_status nn_err_set(nn_err *err, nn_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (used to add context such as the
 * operator index while an error travels up). Returns err->code. */
nn_status nn_err_prefix(nn_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const char *nn_status_name(nn_status s);

#endif
