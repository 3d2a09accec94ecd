/* status.c - error messages for the engine (see status.h). */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

nn_status nn_err_set(nn_err *err, nn_status code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

nn_status nn_err_prefix(nn_err *err, const char *fmt, ...)
{
	char prefix[160], old[NN_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return NN_ERR_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

const char *nn_status_name(nn_status s)
{
	switch (s) {
	case NN_OK: return "ok";
	case NN_ERR_INVALID_ARG: return "invalid_argument";
	case NN_ERR_BAD_MODEL: return "bad_model";
	case NN_ERR_UNSUPPORTED: return "unsupported";
	case NN_ERR_NO_MEMORY: return "no_memory";
	case NN_ERR_IO: return "io";
	case NN_ERR_RUNTIME: return "runtime";
	case NN_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}
