/* sr_normalize.c - Normalize (smart-reply custom op): one sentence in, the
 * same sentence lower-cased, with punctuation and contractions rewritten and
 * wrapped in "<S> ... <E>", out.
 *
 * DESIGN: TensorFlow's reference runs a dozen RE2 global replacements in a
 * fixed order.  We run the same passes as hand-written scanners over bytes,
 * each reading one work buffer and writing the other, reproducing RE2's
 * leftmost-first, non-overlapping, left-to-right matching for these
 * particular patterns (each pass's comment gives the pattern it stands for
 * and why the scanner finds the same matches).  RE2's \s is [\t\n\f\r ]
 * (no \v) while the whitespace strips use isspace (with \v): both are kept
 * apart on purpose.  All literals in the patterns are ASCII, so scanning
 * bytes finds what RE2 finds on UTF-8 text.
 *
 * The text can grow before the final cut to 300 characters (" will" for
 * "'ll", " ? " around marks), so prepare sizes two work buffers from the
 * input's capacity (sr_normalize_scratch) and every write is bounds-checked
 * anyway.  The output is one string of at most SR_NORMALIZED_MAX bytes.
 * Only the input's first string is read, as in the reference; an input with
 * no string is a run-time error (the reference would read past it).
 */
#include <string.h>

#include "kernel.h"
#include "nn_string.h"
#include "smartreply.h"

typedef struct sb {
	char *p;
	size_t n, cap;
	bool over; /* a write was refused: the result is unusable */
} sb;

static void sb_put(sb *b, const char *s, size_t n)
{
	if (n > b->cap - b->n) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void sb_putc(sb *b, char c)
{
	sb_put(b, &c, 1);
}

static bool re2_space(char c) /* RE2's \s */
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool ascii_space(char c) /* absl's StripAsciiWhitespace (isspace) */
{
	return re2_space(c) || c == '\v';
}

static bool is_mark(char c)
{
	return c == '?' || c == '!';
}

static bool edge_junk(char c) /* [\s,:;\-&'"] */
{
	return re2_space(c) || c == ',' || c == ':' || c == ';' || c == '-' || c == '&' || c == '\'' || c == '"';
}

static bool starts(const char *s, size_t n, size_t at, const char *lit)
{
	size_t k = strlen(lit);
	return at + k <= n && !memcmp(s + at, lit, k);
}

/* The contractions of the two "glue" passes, in the patterns' order. */
static const char *const sr_clitics[] = {"'t", "'nt", "n't", "'d", "'ll", "'s", "'m", "'ve", "'re"};
#define SR_N_CLITICS (sizeof(sr_clitics) / sizeof(sr_clitics[0]))

/* Length of the clitic starting at s[at], or 0.  At most one can match:
 * no two share their first two characters. */
static size_t clitic_at(const char *s, size_t n, size_t at)
{
	for (size_t k = 0; k < SR_N_CLITICS; k++)
		if (starts(s, n, at, sr_clitics[k]))
			return strlen(sr_clitics[k]);
	return 0;
}

/* `\s(CLITIC)([\s,;:/])` -> `\1\2`: the space before a clitic followed by a
 * delimiter goes.  The match ends after the delimiter, so that delimiter
 * cannot start the next match - the scanner skips past it too. */
static void glue_inner(const char *s, size_t n, sb *o)
{
	size_t i = 0;
	while (i < n) {
		size_t k;
		if (re2_space(s[i]) && (k = clitic_at(s, n, i + 1)) && i + 1 + k < n) {
			char d = s[i + 1 + k];
			if (re2_space(d) || d == ',' || d == ';' || d == ':' || d == '/') {
				sb_put(o, s + i + 1, k + 1);
				i += k + 2;
				continue;
			}
		}
		sb_putc(o, s[i++]);
	}
}

/* `\s(CLITIC)$` -> `\1`: the same at the very end of the text. */
static void glue_final(const char *s, size_t n, sb *o)
{
	for (size_t k = 0; k < SR_N_CLITICS; k++) {
		size_t l = strlen(sr_clitics[k]);
		if (n >= l + 1 && !memcmp(s + n - l, sr_clitics[k], l) && re2_space(s[n - l - 1])) {
			sb_put(o, s, n - l - 1);
			sb_put(o, s + n - l, l);
			return;
		}
	}
	sb_put(o, s, n);
}

/* `([^\s]+)SUFFIX` -> `\1 WORD`.  The group is greedy and cannot cross
 * whitespace, and SUFFIX has none, so in each run of non-space bytes the
 * leftmost match starts at the run's start and takes the run's last SUFFIX
 * that has at least one byte before it; no second match fits in the rest of
 * that run (a suffix starting with ' cannot overlap itself). */
static void expand(const char *s, size_t n, const char *suffix, const char *word, sb *o)
{
	size_t i = 0, sl = strlen(suffix);
	while (i < n) {
		size_t a = i, b, q, hit = 0;
		bool found = false;
		if (re2_space(s[i])) {
			sb_putc(o, s[i++]);
			continue;
		}
		for (b = a; b < n && !re2_space(s[b]); b++)
			;
		for (q = a + 1; q + sl <= b; q++)
			if (!memcmp(s + q, suffix, sl)) {
				hit = q;
				found = true;
			}
		if (found) {
			sb_put(o, s + a, hit - a);
			sb_putc(o, ' ');
			sb_put(o, word, strlen(word));
			sb_put(o, s + hit + sl, b - hit - sl);
		} else {
			sb_put(o, s + a, b - a);
		}
		i = b;
	}
}

/* A literal global replace (for "i'm" -> "i am"). */
static void replace_lit(const char *s, size_t n, const char *from, const char *to, sb *o)
{
	size_t i = 0, fl = strlen(from);
	while (i < n) {
		if (starts(s, n, i, from)) {
			sb_put(o, to, strlen(to));
			i += fl;
		} else {
			sb_putc(o, s[i++]);
		}
	}
}

/* `([?])+` -> `\1` then `([!])+` -> `\1`: runs of one mark shrink to one. */
static void squeeze_mark(const char *s, size_t n, char mark, sb *o)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == mark && i > 0 && s[i - 1] == mark))
			sb_putc(o, s[i]);
}

/* `([^?!]+)([?!])` -> `\1 \2 `: a maximal run of other bytes followed by a
 * mark gets spaces around the mark.  A run that reaches the end without a
 * mark does not match; a mark with nothing before it stays as it is. */
static void space_marks(const char *s, size_t n, sb *o)
{
	size_t i = 0;
	while (i < n) {
		size_t b = i;
		if (is_mark(s[i])) {
			sb_putc(o, s[i++]);
			continue;
		}
		while (b < n && !is_mark(s[b]))
			b++;
		sb_put(o, s + i, b - i);
		if (b < n) {
			sb_putc(o, ' ');
			sb_putc(o, s[b]);
			sb_putc(o, ' ');
			b++;
		}
		i = b;
	}
}

/* `([?!])([?!])` -> `\1 \2`: pairs, left to right, without overlap. */
static void split_mark_pairs(const char *s, size_t n, sb *o)
{
	size_t i = 0;
	while (i < n) {
		if (i + 1 < n && is_mark(s[i]) && is_mark(s[i + 1])) {
			sb_putc(o, s[i]);
			sb_putc(o, ' ');
			sb_putc(o, s[i + 1]);
			i += 2;
		} else {
			sb_putc(o, s[i++]);
		}
	}
}

static void squeeze_questions(const char *s, size_t n, sb *o)
{
	squeeze_mark(s, n, '?', o);
}

static void squeeze_bangs(const char *s, size_t n, sb *o)
{
	squeeze_mark(s, n, '!', o);
}

/* One pass from buf[cur] into the other buffer; returns the new cur. */
static int pass(sb *buf, int cur, void (*fn)(const char *, size_t, sb *))
{
	buf[1 - cur].n = 0;
	fn(buf[cur].p, buf[cur].n, &buf[1 - cur]);
	return 1 - cur;
}

/* An expand pass (suffix NULL: the "i'm" literal). */
static int pass_expand(sb *buf, int cur, const char *suffix, const char *word)
{
	buf[1 - cur].n = 0;
	if (suffix)
		expand(buf[cur].p, buf[cur].n, suffix, word, &buf[1 - cur]);
	else
		replace_lit(buf[cur].p, buf[cur].n, "i'm", "i am", &buf[1 - cur]);
	return 1 - cur;
}

size_t sr_normalize_scratch(size_t len)
{
	/* growth before the cut: <= 5/3 from the contractions, x2 from spacing
	 * the marks, +1/2 from splitting leading mark pairs: under 5x */
	return 2 * (5 * len + 64);
}

nn_status sr_normalize_text(const char *in, size_t len, char *out, size_t *out_len, void *scratch,
			    size_t scratch_bytes, nn_err *err)
{
	size_t half = scratch_bytes / 2;
	sb buf[2] = {{(char *)scratch, 0, half, false}, {(char *)scratch + half, 0, half, false}};
	int cur = 0; /* buf[cur] holds the text */
	const char *s;
	size_t a, b, n;

	if (scratch_bytes < sr_normalize_scratch(len))
		return nn_err_set(err, NN_ERR_INTERNAL, "normalize: %zu scratch bytes for %zu input bytes", scratch_bytes,
				  len);
	/* lower-case ASCII, strip isspace at both ends, drop . * ( ) " */
	a = 0;
	b = len;
	while (a < b && ascii_space(in[a]))
		a++;
	while (b > a && ascii_space(in[b - 1]))
		b--;
	for (size_t i = a; i < b; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.' || c == '*' || c == '(' || c == ')' || c == '"')
			continue;
		sb_putc(&buf[0], c);
	}
	cur = pass(buf, cur, glue_inner);
	cur = pass(buf, cur, glue_final);
	/* the reference's table of rewrites is a std::map: applied in key order */
	cur = pass_expand(buf, cur, "'ll", "will");
	cur = pass_expand(buf, cur, "'nt", "not");
	cur = pass_expand(buf, cur, "'re", "are");
	cur = pass_expand(buf, cur, "'ve", "have");
	cur = pass_expand(buf, cur, "n't", "not");
	cur = pass_expand(buf, cur, NULL, NULL); /* "i'm" -> "i am" */
	cur = pass(buf, cur, squeeze_questions);
	cur = pass(buf, cur, squeeze_bangs);
	cur = pass(buf, cur, space_marks);
	cur = pass(buf, cur, split_mark_pairs);
	if (buf[0].over || buf[1].over)
		return nn_err_set(err, NN_ERR_INTERNAL, "normalize: work buffer of %zu bytes overflowed", half);
	/* strip [\s,:;\-&'"] at the end, then at the start, then isspace at both */
	s = buf[cur].p;
	a = 0;
	b = buf[cur].n;
	while (b > a && edge_junk(s[b - 1]))
		b--;
	while (a < b && edge_junk(s[a]))
		a++;
	while (a < b && ascii_space(s[a]))
		a++;
	while (b > a && ascii_space(s[b - 1]))
		b--;
	n = b - a;
	memcpy(out, "<S> ", 4);
	if (n <= SR_MAX_INPUT_CHARS) {
		memcpy(out + 4, s + a, n);
		memcpy(out + 4 + n, " <E>", 4);
		*out_len = 4 + n + 4;
	} else {
		/* too long: cut, and no end marker (the reference's choice) */
		memcpy(out + 4, s + a, SR_MAX_INPUT_CHARS);
		*out_len = 4 + SR_MAX_INPUT_CHARS;
	}
	return NN_OK;
}

static nn_status srn_prepare(nn_graph *g, nn_node *node, nn_err *err)
{
	const nn_tensor *in;
	nn_tensor *out;
	int32_t one = 1;
	uint64_t payload;
	nn_status st;

	if ((st = nn_check_arity(node, 1, 1, 1, err)) != NN_OK)
		return st;
	in = nn_in(g, node, 0);
	if (in->type != NN_STRING)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input is %s; Normalize reads a string tensor",
				   nn_dtype_name(in->type));
	if (nn_tensor_count(in) < 1)
		return nn_node_err(node, err, NN_ERR_BAD_MODEL, "input has no element; Normalize reads one sentence");
	if ((st = nn_set_output(g, node, 0, NN_STRING, 1, &one, err)) != NN_OK)
		return st;
	out = nn_out(g, node, 0);
	if ((st = nn_string_set_capacity(out, 1, SR_NORMALIZED_MAX, err)) != NN_OK)
		return nn_err_prefix(err, "operator %d (Normalize)", node->index);
	/* the longest sentence the input can hold decides the work buffers */
	payload = in->bytes > nn_string_header_bytes(1) ? in->bytes - nn_string_header_bytes(1) : 0;
	node->scratch_bytes = sr_normalize_scratch((size_t)payload);
	return NN_OK;
}

static nn_status srn_eval(const nn_node *node, nn_exec *ex)
{
	const nn_tensor *in = nn_ex_in(ex, node, 0);
	nn_tensor *out = nn_ex_out(ex, node, 0);
	char text[SR_NORMALIZED_MAX];
	const char *s;
	size_t len, n;
	nn_status st;

	if ((st = nn_string_check(in->data, in->bytes, -1, ex->err)) != NN_OK)
		return nn_err_prefix(ex->err, "input");
	if (nn_string_count(in->data) < 1)
		return nn_err_set(ex->err, NN_ERR_RUNTIME, "input holds no string; Normalize reads one sentence");
	s = nn_string_at(in->data, 0, &len);
	if (sr_normalize_scratch(len) > ex->scratch_stride)
		return nn_err_set(ex->err, NN_ERR_RUNTIME, "input sentence of %zu bytes is longer than the input's capacity",
				  len);
	if ((st = sr_normalize_text(s, len, text, &n, nn_ex_scratch(ex, 0), ex->scratch_stride, ex->err)) != NN_OK)
		return st;
	return nn_string_write(out->data, out->bytes, 1, (const char *const[]){text}, (const size_t[]){n}, NULL,
			       ex->err);
}

const nn_kernel nn_k_sr_normalize = {
	.name = "Normalize",
	.prepare = srn_prepare,
	.eval = srn_eval,
	.free = NULL,
};
