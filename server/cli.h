/* cli.h - the liteserve subcommands and what they share.
 *
 * DESIGN: one binary; main.c picks the subcommand; each cmd_*.c parses its
 * own flags and prints JSON on stdout, errors as one line on stderr, and
 * returns the process exit code (0 ok, 1 failure, 2 usage).
 */
#ifndef LITESERVE_CLI_H
#define LITESERVE_CLI_H

#include <jansson.h>

#include "nn.h"

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* cmd_serve.c: the HTTP daemon */
int cmd_predict(int argc, char **argv);

/* A model opened and prepared: free with cli_model_close. */
typedef struct cli_model {
	tfl_model *model;
	nn_graph *graph;
} cli_model;
int cli_model_open(const char *path, cli_model *m, nn_err *err); /* 0 on success */
void cli_model_close(cli_model *m);

/* JSON description of a tensor (name, shape, dtype, quantization). New reference. */
json_t *cli_tensor_json(const nn_tensor *t, int index, int tensor_index);

/* Prints a JSON value to stdout with a trailing newline, and releases it. */
void cli_print_json(json_t *v);

/* Parses a positive int flag value; returns 0 on success. */
int cli_parse_int(const char *s, int lo, int hi, int *out);

#endif
