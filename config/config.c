/* config.c - the option table and its four sources (see config.h).
 *
 * DESIGN: the table below is the only place an option exists.  Parsing is
 * by text for every source (a JSON number from the config file is printed
 * back to text first), so flags, environment and file share one checker,
 * cfg_set, and one set of error messages.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define OPT_INT(n, d, lo, hi, field, h)                                                                      \
	{                                                                                                    \
		n, CFG_INT, d, lo, hi, h, offsetof(cfg_config, field), 0, NULL                               \
	}
#define OPT_STR(n, d, req, field, h)                                                                         \
	{                                                                                                    \
		n, CFG_STRING, d, req, 0, h, offsetof(cfg_config, field), sizeof(((cfg_config *)0)->field),  \
		    NULL                                                                                     \
	}
#define OPT_CHOICE(n, d, ch, field, h)                                                                       \
	{                                                                                                    \
		n, CFG_CHOICE, d, 0, 0, h, offsetof(cfg_config, field), sizeof(((cfg_config *)0)->field), ch \
	}

const cfg_option cfg_options[] = {
    OPT_STR("host", "127.0.0.1", 1, host, "address to listen on (0.0.0.0 or :: for every interface)"),
    OPT_INT("port", "8080", 0, 65535, port, "TCP port (0 = any free port, logged at startup)"),
    OPT_INT("threads", "4", 1, 256, threads,
	    "HTTP threads (libmicrohttpd pool; as many workers run POST handlers)"),
    OPT_STR("config", "", 0, config,
	    "JSON file of options (keys as here, '-' or '_'); flags and env override it"),
    OPT_STR("model-repository", "models/repo", 1, model_repository,
	    "model repository: DIR/NAME/VERSION/model.tflite [+ NAME/config.json, NAME/labels.txt]"),
    OPT_CHOICE("mode", "throughput", "throughput|latency", mode,
	       "throughput: an instance per core, 1 thread each; latency: 1 instance on every core"),
    OPT_INT("instances", "0", 0, 64, instances,
	    "execution contexts per model (0 = by --mode; a model's config.json wins)"),
    OPT_INT("inference-threads", "0", 0, 64, inference_threads, "engine threads per inference (0 = by --mode)"),
    OPT_INT("max-queue", "64", 0, 100000, max_queue,
	    "requests waiting for an instance per model before 503 + Retry-After"),
    OPT_INT("max-body-bytes", "67108864", 1, INT64_C(2147483647), max_body_bytes,
	    "request body limit in bytes (413 above; checked before the body is read)"),
    OPT_INT("max-pixels", "40000000", 1, INT64_C(1000000000), max_pixels,
	    "decoded image limit, width*height (413 above; checked before decoding)"),
    OPT_CHOICE("log-level", "info", "error|warn|info|debug", log_level,
	       "stderr log verbosity (info logs every request)"),
    OPT_INT("drain-timeout", "30", 0, 3600, drain_timeout,
	    "seconds to let in-flight requests finish after SIGTERM/SIGINT"),
    OPT_INT("connection-timeout", "30", 1, 3600, connection_timeout,
	    "seconds a connection may stay idle or stall mid-request before it is closed"),
    OPT_INT("max-connections", "1024", 1, 100000, max_connections,
	    "open connections from all clients (more are refused at accept)"),
    OPT_INT("max-connections-per-ip", "64", 0, 100000, max_connections_per_ip,
	    "open connections from one client address (0 = no limit; slow clients cannot take all)"),
};
const int cfg_n_options = (int)(sizeof(cfg_options) / sizeof(cfg_options[0]));

/* Option names compare with '-' and '_' as the same character, so a config
 * file may say "max_body_bytes" or "max-body-bytes". */
static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

const cfg_option *cfg_find(const char *name)
{
	for (int i = 0; i < cfg_n_options; i++)
		if (name_eq(cfg_options[i].name, name))
			return &cfg_options[i];
	return NULL;
}

static void env_name(const cfg_option *o, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "LITESERVE_");
	for (const char *p = o->name; *p && n + 1 < len; p++)
		buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[n < len ? n : len - 1] = '\0';
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t vl = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == vl && !strncmp(p, v, l))
			return true;
		p += l + (bar ? 1 : 0);
	}
	return false;
}

static int set_option(cfg_config *c, const cfg_option *o, const char *value, const char *source, char *err,
		      size_t errlen)
{
	char *field = (char *)c + o->offset;

	if (o->type == CFG_INT) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(value, &end, 10);
		while (end && isspace((unsigned char)*end))
			end++;
		if (!*value || errno == ERANGE || *end) {
			snprintf(err, errlen, "%s: '%s' is not an integer", source, value);
			return -1;
		}
		if (v < o->min || v > o->max) {
			snprintf(err, errlen, "%s: %lld is out of range %" PRId64 "..%" PRId64, source, v,
				 o->min, o->max);
			return -1;
		}
		memcpy(field, &(int64_t){v}, sizeof(int64_t));
		return 0;
	}
	if (strlen(value) >= o->size) {
		snprintf(err, errlen, "%s: value is longer than %zu bytes", source, o->size - 1);
		return -1;
	}
	if (o->type == CFG_STRING && o->min > 0 && !*value) {
		snprintf(err, errlen, "%s: must not be empty", source);
		return -1;
	}
	if (o->type == CFG_CHOICE && !choice_ok(o->choices, value)) {
		snprintf(err, errlen, "%s: '%s' is not one of %s", source, value, o->choices);
		return -1;
	}
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

int cfg_set(cfg_config *c, const char *name, const char *value, const char *source, char *err, size_t errlen)
{
	const cfg_option *o = cfg_find(name);

	if (!o) {
		snprintf(err, errlen, "%s: unknown option '%s'", source, name);
		return -1;
	}
	return set_option(c, o, value, source, err, errlen);
}

void cfg_defaults(cfg_config *c)
{
	char err[64];

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < cfg_n_options; i++)
		set_option(c, &cfg_options[i], cfg_options[i].def, "default", err, sizeof(err));
}

int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	const char *key;
	json_t *v;
	int rc = -1;

	if (!root) {
		if (je.line <= 0)
			snprintf(err, errlen, "config file %s: %s", path, je.text);
		else
			snprintf(err, errlen, "config file %s: line %d, column %d: %s", path, je.line,
				 je.column, je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "config file %s: expected a JSON object of options", path);
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		const cfg_option *o = cfg_find(key);
		char src[300], text[64];
		const char *value;

		snprintf(src, sizeof(src), "config file %s: key \"%s\"", path, key);
		if (!o) {
			snprintf(err, errlen, "%s: unknown option", src);
			goto out;
		}
		if (!strcmp(o->name, "config")) {
			snprintf(err, errlen, "%s: a config file cannot name another one", src);
			goto out;
		}
		if (o->type == CFG_INT && json_is_integer(v)) {
			snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			value = text;
		} else if (json_is_string(v)) {
			value = json_string_value(v);
		} else {
			snprintf(err, errlen, "%s: expected %s", src,
				 o->type == CFG_INT ? "an integer" : "a string");
			goto out;
		}
		if (set_option(c, o, value, src, err, errlen))
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Splits "--name=value" / "--name value"; returns the option or NULL (err set). */
static const cfg_option *flag_option(int argc, char **argv, int *i, const char **value, char *err,
				     size_t errlen)
{
	const char *arg = argv[*i], *eq;
	char name[64];
	const cfg_option *o;
	size_t nl;

	if (strncmp(arg, "--", 2) != 0) {
		snprintf(err, errlen, "unexpected argument '%s' (options start with --)", arg);
		return NULL;
	}
	arg += 2;
	eq = strchr(arg, '=');
	nl = eq ? (size_t)(eq - arg) : strlen(arg);
	if (nl >= sizeof(name)) {
		snprintf(err, errlen, "unknown option '%s'", argv[*i]);
		return NULL;
	}
	memcpy(name, arg, nl);
	name[nl] = '\0';
	o = cfg_find(name);
	if (!o) {
		snprintf(err, errlen, "unknown option '--%s' (see liteserve serve --help)", name);
		return NULL;
	}
	if (eq) {
		*value = eq + 1;
	} else if (*i + 1 < argc) {
		*value = argv[++*i];
	} else {
		snprintf(err, errlen, "option '--%s' needs a value", name);
		return NULL;
	}
	return o;
}

cfg_result cfg_load(cfg_config *c, int argc, char **argv, char *err, size_t errlen)
{
	char envn[96], src[160];
	const char *file = NULL;

	cfg_defaults(c);
	/* Pass 1: --help and --config, which decide what the other sources are. */
	for (int i = 1; i < argc; i++) {
		const char *value;
		const cfg_option *o;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return CFG_HELP;
		if (!(o = flag_option(argc, argv, &i, &value, err, errlen)))
			return CFG_ERROR;
		if (!strcmp(o->name, "config"))
			file = value;
	}
	if (!file) {
		const char *e = getenv("LITESERVE_CONFIG");
		if (e && *e)
			file = e;
	}
	if (file) {
		if (set_option(c, cfg_find("config"), file, "--config", err, errlen))
			return CFG_ERROR;
		if (cfg_load_file(c, file, err, errlen))
			return CFG_ERROR;
	}
	/* Environment. */
	for (int k = 0; k < cfg_n_options; k++) {
		const char *e;

		if (!strcmp(cfg_options[k].name, "config"))
			continue;
		env_name(&cfg_options[k], envn, sizeof(envn));
		if (!(e = getenv(envn)))
			continue;
		snprintf(src, sizeof(src), "environment %s", envn);
		if (set_option(c, &cfg_options[k], e, src, err, errlen))
			return CFG_ERROR;
	}
	/* Flags, in order (a repeated flag: the last one wins). */
	for (int i = 1; i < argc; i++) {
		const char *value;
		const cfg_option *o = flag_option(argc, argv, &i, &value, err, errlen);

		if (!o)
			return CFG_ERROR;
		if (!strcmp(o->name, "config"))
			continue;
		snprintf(src, sizeof(src), "--%s", o->name);
		if (set_option(c, o, value, src, err, errlen))
			return CFG_ERROR;
	}
	return CFG_OK;
}

int cfg_usable_cores(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return n;
	return 1;
}

void cfg_apply_mode(cfg_config *c, int cores)
{
	bool latency = !strcmp(c->mode, "latency");
	const cfg_option *lim = cfg_find("instances");

	if (cores < 1)
		cores = 1;
	if (cores > lim->max) /* both options share the 1..64 range */
		cores = (int)lim->max;
	if (c->instances == 0)
		c->instances = latency ? 1 : cores;
	if (c->inference_threads == 0)
		c->inference_threads = latency ? cores : 1;
}

void cfg_print_help(FILE *f)
{
	char envn[96];

	fprintf(f, "usage: liteserve serve [options]\n"
		   "\n"
		   "Serves the models of a repository over HTTP: task endpoints (/v1/models/NAME/predict),\n"
		   "KServe v2 (/v2/...), TF Serving REST (/v1/models/NAME:predict) and /metrics.\n"
		   "Every option is also read from the environment (LITESERVE_<NAME>) and from the JSON\n"
		   "config file; precedence: flags > environment > config file > defaults.\n"
		   "SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.\n"
		   "\n"
		   "options:\n");
	for (int i = 0; i < cfg_n_options; i++) {
		const cfg_option *o = &cfg_options[i];
		char head[64];

		env_name(o, envn, sizeof(envn));
		snprintf(head, sizeof(head), "--%s %s", o->name,
			 o->type == CFG_INT						 ? "N"
			 : (!strcmp(o->name, "config") || strstr(o->name, "repository")) ? "PATH"
											 : "S");
		fprintf(f, "  %-28s %s\n", head, o->help);
		fprintf(f, "  %-28s env %s; default %s", "", envn, *o->def ? o->def : "(none)");
		if (o->type == CFG_INT)
			fprintf(f, "; range %" PRId64 "..%" PRId64, o->min, o->max);
		else if (o->type == CFG_CHOICE)
			fprintf(f, "; one of %s", o->choices);
		fputc('\n', f);
	}
}
