/* smartreply.h - what the smart-reply kernels share with each other and
 * with their tests.
 *
 * DESIGN: the three custom ops of TensorFlow's smart-reply model (Normalize,
 * ExtractFeatures, Predict) are three files; the two text routines below are
 * exposed so tests can check them on known answers without building a model.
 */
#ifndef LITESERVE_ENGINE_KERNELS_SMARTREPLY_H
#define LITESERVE_ENGINE_KERNELS_SMARTREPLY_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* FarmHash's Fingerprint64 (farmhashna::Hash64): the feature hash of the
 * reference ExtractFeatures.  Stable across platforms by definition. */
uint64_t sr_fingerprint64(const void *s, size_t len);

/* The longest sentence Normalize keeps (longer ones are cut, without <E>). */
#define SR_MAX_INPUT_CHARS 300
/* Normalize's output never exceeds "<S> " + 300 + " <E>". */
#define SR_NORMALIZED_MAX (4 + SR_MAX_INPUT_CHARS + 4)

/* Scratch Normalize needs for an input of up to `len` bytes (two work
 * buffers: the rewrites can grow the text up to 5x before the cut). */
size_t sr_normalize_scratch(size_t len);

/* Normalizes in[0..len) into out (>= SR_NORMALIZED_MAX bytes) using
 * scratch (sr_normalize_scratch(len) bytes); *out_len gets the length. */
nn_status sr_normalize_text(const char *in, size_t len, char *out, size_t *out_len, void *scratch,
			    size_t scratch_bytes, nn_err *err);

#endif
