/* labels.c - see labels.h. */
#include "labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ls_labels_parse(const char *text, size_t len, ls_labels *out, char *errbuf, size_t errlen)
{
	size_t lines = 0, pos = 0;
	char *block, *strings;
	char **arr;

	out->n = 0;
	out->label = NULL;
	if (len > LS_LABELS_MAX_BYTES) {
		snprintf(errbuf, errlen, "label file of %zu bytes exceeds %u", len, LS_LABELS_MAX_BYTES);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (len > 0 && text[len - 1] != '\n')
		lines++;
	if (lines > LS_LABELS_MAX_LINES) {
		snprintf(errbuf, errlen, "label file has %zu lines, limit %d", lines, LS_LABELS_MAX_LINES);
		return -1;
	}
	/* one block: the pointer array, then the text with NULs for newlines */
	block = malloc(lines * sizeof(char *) + len + 1);
	if (!block) {
		snprintf(errbuf, errlen, "out of memory reading labels");
		return -1;
	}
	arr = (char **)block;
	strings = block + lines * sizeof(char *);
	memcpy(strings, text, len);
	strings[len] = 0;
	for (size_t k = 0; k < lines; k++) {
		char *start = strings + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		start[n] = 0;
		while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' ' || start[n - 1] == '\t'))
			start[--n] = 0;
		arr[k] = start;
		pos += (nl ? (size_t)(nl - (strings + pos)) + 1 : n);
	}
	out->n = (int)lines;
	out->label = arr;
	return 0;
}

int ls_labels_load(const char *path, ls_labels *out, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rc;

	out->n = 0;
	out->label = NULL;
	if (!f) {
		snprintf(errbuf, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(LS_LABELS_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(errbuf, errlen, "out of memory reading %s", path);
		return -1;
	}
	n = fread(buf, 1, LS_LABELS_MAX_BYTES + 1, f);
	fclose(f);
	rc = ls_labels_parse(buf, n, out, errbuf, errlen);
	free(buf);
	return rc;
}

void ls_labels_free(ls_labels *l)
{
	if (!l)
		return;
	free(l->label);
	l->label = NULL;
	l->n = 0;
}
