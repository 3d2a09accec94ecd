/* config.h - the server's options: one table, four sources.
 *
 * DESIGN (Redis's config table): every option of `liteserve serve` is one
 * row of cfg_options {name, type, default, min, max, help}; the command
 * line, the environment, the JSON config file and --help are all driven by
 * that row, so an option cannot be settable in one place and forgotten in
 * another.  Sources, lowest to highest precedence:
 *     defaults  <  config file (--config F / LITESERVE_CONFIG)
 *               <  environment (LITESERVE_<NAME>, '-' -> '_', upper case)
 *               <  flags (--name VALUE or --name=VALUE)
 * Every value is checked against the row's bounds, and an error names the
 * source ("environment LITESERVE_PORT: 70000 is out of range 0..65535"), so
 * a typo is an error at startup, never a silently ignored setting.  Unknown
 * flags and unknown config-file keys are refused for the same reason.
 */
#ifndef LITESERVE_CONFIG_H
#define LITESERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_PATH_MAX 4096

typedef enum cfg_type {
	CFG_INT,    /* int64_t, bounded by [min, max] */
	CFG_STRING, /* char[size], at most size - 1 bytes (min: 1 = must not be empty) */
	CFG_CHOICE, /* char[size], one of `choices` ("a|b|c") */
} cfg_type;

/* The resolved configuration (all sources applied). */
typedef struct cfg_config {
	char host[256];			     /* address to listen on */
	int64_t port;			     /* TCP port; 0 = any free port (logged at startup) */
	int64_t threads;		     /* MHD thread pool size = handler worker count */
	char config[CFG_PATH_MAX];	     /* the JSON config file read, "" = none */
	char model_repository[CFG_PATH_MAX]; /* DIR/NAME/VERSION/model.tflite */
	char mode[16];			     /* throughput|latency: how instances and threads default */
	int64_t instances;		     /* execution contexts per model; 0 = by mode */
	int64_t inference_threads;	     /* engine threads per inference; 0 = by mode */
	int64_t max_queue;		     /* requests waiting for an instance before 503 */
	int64_t max_body_bytes;		     /* request body limit (413 above) */
	int64_t max_pixels;		     /* decoded image limit (413 above) */
	char log_level[16];		     /* error|warn|info|debug */
	int64_t drain_timeout;		     /* seconds to wait for in-flight requests at shutdown */
	int64_t connection_timeout;	     /* seconds a connection may sit idle or stalled */
	int64_t max_connections;	     /* open connections, all clients */
	int64_t max_connections_per_ip;	     /* open connections from one address; 0 = no limit */
} cfg_config;

typedef struct cfg_option {
	const char *name; /* flag name without "--"; env LITESERVE_<NAME>; file key (with '-' or '_') */
	cfg_type type;
	const char *def;     /* the default, as text */
	int64_t min, max;    /* CFG_INT: bounds; CFG_STRING: min 1 = required non-empty */
	const char *help;    /* one line */
	size_t offset;	     /* of the field in cfg_config */
	size_t size;	     /* CFG_STRING / CFG_CHOICE: buffer size */
	const char *choices; /* CFG_CHOICE: "a|b|c" */
} cfg_option;

extern const cfg_option cfg_options[];
extern const int cfg_n_options;

typedef enum cfg_result {
	CFG_OK = 0,
	CFG_HELP,  /* --help was given: the caller prints cfg_print_help and exits 0 */
	CFG_ERROR, /* err says what and where */
} cfg_result;

/* Fills c with the defaults of the table. */
void cfg_defaults(cfg_config *c);

/* Resolves every source for `liteserve serve` (argv[0] is the subcommand
 * name, flags follow).  The environment is read with getenv. */
cfg_result cfg_load(cfg_config *c, int argc, char **argv, char *err, size_t errlen);

/* Sets one option from text, checking its type and bounds.  source names
 * where the value came from, for the error message ("--port").  Returns 0,
 * or -1 with err set (also for an unknown name). */
int cfg_set(cfg_config *c, const char *name, const char *value, const char *source, char *err, size_t errlen);

/* Reads a JSON object of options from path (keys with '-' or '_'); values
 * are JSON numbers for CFG_INT (or strings holding one) and strings
 * otherwise.  Returns 0, or -1 with err naming the file, line and key. */
int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen);

/* Fills instances and inference_threads left at 0 from the mode, for a
 * machine with `cores` usable cores: throughput = one single-threaded
 * instance per core (requests in parallel), latency = one instance using
 * every core (each request as fast as it gets).  Explicit values stay. */
void cfg_apply_mode(cfg_config *c, int cores);

/* Cores this process may run on (its affinity mask), at least 1. */
int cfg_usable_cores(void);

/* The option table as help text (flag, env name, default, range, help). */
void cfg_print_help(FILE *f);

/* The row of an option by flag name (with '-' or '_'), or NULL. */
const cfg_option *cfg_find(const char *name);

#endif
