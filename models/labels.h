/* labels.h - label files: one label per line, line k = class index k.
 *
 * DESIGN: a label file is user data, so it is read with a size limit and
 * every line kept as is (trailing CR and spaces trimmed); an empty line is
 * an empty label, not a skipped one, so indices never shift.
 * Ownership: ls_labels_load returns one allocation (the array and the
 * strings in one block); free it with ls_labels_free.
 */
#ifndef LITESERVE_MODELS_LABELS_H
#define LITESERVE_MODELS_LABELS_H

#include <stddef.h>

#define LS_LABELS_MAX_BYTES (4u << 20) /* 4 MiB: ~100x the largest label file we know */
#define LS_LABELS_MAX_LINES 100000

typedef struct ls_labels {
	int n;
	char **label; /* n strings */
} ls_labels;

/* Returns 0 and fills *out, or -1 with a message in errbuf. */
int ls_labels_load(const char *path, ls_labels *out, char *errbuf, size_t errlen);
/* Parses labels from memory (same rules). */
int ls_labels_parse(const char *text, size_t len, ls_labels *out, char *errbuf, size_t errlen);
void ls_labels_free(ls_labels *l); /* NULL-safe; leaves l empty */

#endif
