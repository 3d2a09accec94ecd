/* multipart.c - one field of a multipart/form-data body (see multipart.h).
 *
 * DESIGN: the syntax (RFC 2046 5.1.1): an optional preamble, then parts
 * each introduced by CRLF "--" boundary (the first may start the body),
 * followed by optional blanks and CRLF, header lines, an empty line and the
 * content; "--" boundary "--" closes.  Delimiters are found with memmem
 * (linear time in glibc), so a hostile body of near-boundaries costs
 * O(body), and every header block is parsed inside its own bounds.
 */
#define _GNU_SOURCE /* memmem */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parses "; key=value; key="quoted"" parameters of a header value and
 * copies the one named key into out.  Returns true when present. */
static bool header_param(const char *v, size_t len, const char *key, char *out, size_t outlen)
{
	size_t i = 0, kl = strlen(key);

	/* skip the value itself (up to the first ';') */
	while (i < len && v[i] != ';')
		i++;
	while (i < len) {
		size_t ks, ke, vs, ve;
		bool quoted = false;

		i++; /* ';' */
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		ks = i;
		while (i < len && v[i] != '=' && v[i] != ';')
			i++;
		ke = i;
		while (ke > ks && (v[ke - 1] == ' ' || v[ke - 1] == '\t'))
			ke--;
		if (i >= len || v[i] != '=')
			continue;
		i++;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < len && v[i] == '"') {
			quoted = true;
			vs = ++i;
			while (i < len && v[i] != '"') {
				if (v[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			ve = i;
			if (i < len)
				i++; /* closing quote */
			while (i < len && v[i] != ';')
				i++;
		} else {
			vs = i;
			while (i < len && v[i] != ';')
				i++;
			ve = i;
			while (ve > vs && (v[ve - 1] == ' ' || v[ve - 1] == '\t'))
				ve--;
		}
		if (ke - ks == kl && !strncasecmp(v + ks, key, kl)) {
			size_t n = 0;
			for (size_t j = vs; j < ve && n + 1 < outlen; j++) {
				if (quoted && v[j] == '\\' && j + 1 < ve)
					j++;
				out[n++] = v[j];
			}
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

static bool get_boundary(const char *ct, char *b, size_t blen)
{
	const char *semi;

	if (!ct)
		return false;
	semi = strchr(ct, ';');
	if (!semi)
		return false;
	/* header_param skips up to the first ';' itself */
	if (!header_param(ct, strlen(ct), "boundary", b, blen))
		return false;
	return b[0] != '\0' && strlen(b) <= MP_MAX_BOUNDARY;
}

/* One header line: copies Content-Disposition's name/filename and Content-Type. */
static void parse_header_line(const char *line, size_t len, char *name, size_t nlen, bool *has_name,
			      mp_part *p)
{
	const char *colon = memchr(line, ':', len);
	size_t hl, vs;

	if (!colon)
		return;
	hl = (size_t)(colon - line);
	vs = hl + 1;
	while (vs < len && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	if (hl == 19 && !strncasecmp(line, "Content-Disposition", 19)) {
		*has_name = header_param(line + vs, len - vs, "name", name, nlen);
		header_param(line + vs, len - vs, "filename", p->filename, sizeof(p->filename));
	} else if (hl == 12 && !strncasecmp(line, "Content-Type", 12)) {
		size_t n = len - vs < sizeof(p->content_type) - 1 ? len - vs : sizeof(p->content_type) - 1;
		memcpy(p->content_type, line + vs, n);
		p->content_type[n] = '\0';
	}
}

mp_status mp_find(const uint8_t *body, size_t len, const char *content_type, const char *field, mp_part *out,
		  char *err, size_t errlen)
{
	char boundary[MP_MAX_BOUNDARY + 8], delim[MP_MAX_BOUNDARY + 8];
	size_t dl, pos;
	int parts = 0;
	const uint8_t *p;

	memset(out, 0, sizeof(*out));
	if (!get_boundary(content_type, boundary, sizeof(boundary))) {
		snprintf(err, errlen, "multipart/form-data needs a boundary parameter of 1..%d characters",
			 MP_MAX_BOUNDARY);
		return MP_BAD_BOUNDARY;
	}
	/* delim = CRLF "--" boundary; the body may also start at "--" boundary */
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (len >= dl - 2 && !memcmp(body, delim + 2, dl - 2)) {
		pos = dl - 2;
	} else {
		p = memmem(body, len, delim, dl);
		if (!p) {
			snprintf(err, errlen, "multipart body has no boundary line");
			return MP_MALFORMED;
		}
		pos = (size_t)(p - body) + dl;
	}
	for (;;) {
		char name[256] = "";
		bool has_name = false;
		mp_part part;
		const uint8_t *hdr_end, *next;
		size_t hs, cs;

		memset(&part, 0, sizeof(part));
		if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
			break; /* close delimiter */
		while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
			pos++;
		if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
			snprintf(err, errlen, "multipart boundary line not followed by CRLF (byte %zu)", pos);
			return MP_MALFORMED;
		}
		pos += 2;
		if (++parts > MP_MAX_PARTS) {
			snprintf(err, errlen, "more than %d multipart parts", MP_MAX_PARTS);
			return MP_MALFORMED;
		}
		/* headers end at the first empty line (possibly at once: no headers) */
		hs = pos;
		if (len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n') {
			cs = pos + 2;
		} else {
			size_t window = len - pos < MP_MAX_HEADER_BYTES ? len - pos : MP_MAX_HEADER_BYTES;
			hdr_end = memmem(body + pos, window, "\r\n\r\n", 4);
			if (!hdr_end) {
				snprintf(err, errlen,
					 "multipart part %d: headers not terminated within %d bytes", parts,
					 MP_MAX_HEADER_BYTES);
				return MP_MALFORMED;
			}
			for (size_t ls = hs; ls < (size_t)(hdr_end - body) + 2;) {
				const uint8_t *eol =
				    memmem(body + ls, (size_t)(hdr_end - body) + 2 - ls, "\r\n", 2);
				size_t le = (size_t)(eol - body);
				parse_header_line((const char *)body + ls, le - ls, name, sizeof(name),
						  &has_name, &part);
				ls = le + 2;
			}
			cs = (size_t)(hdr_end - body) + 4;
		}
		next = memmem(body + cs, len - cs, delim, dl);
		if (!next) {
			snprintf(err, errlen, "multipart part %d is not closed by a boundary line", parts);
			return MP_MALFORMED;
		}
		if (has_name && !strcmp(name, field)) {
			part.data = body + cs;
			part.len = (size_t)(next - body) - cs;
			*out = part;
			return MP_OK;
		}
		pos = (size_t)(next - body) + dl;
	}
	snprintf(err, errlen, "multipart body has no field named '%s'", field);
	return MP_NOT_FOUND;
}
