/* main.c - the liteserve binary: picks a subcommand.
 *
 * DESIGN: every subcommand is a function of its own (cli.h); main only
 * dispatches and prints the overview for --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"liteserve - a TensorFlow Lite inference engine and server\n"
		"\n"
		"usage: liteserve COMMAND [options]\n"
		"\n"
		"commands:\n"
		"  serve [--port N] [--model-repository DIR] [--config F] ...\n"
		"                                       serve the model repository over HTTP (task\n"
		"                                       endpoints, KServe v2, TF Serving REST, /metrics)\n"
		"  inspect MODEL.tflite                 describe a model as JSON (inputs, outputs, ops)\n"
		"  run MODEL.tflite --input F.bin ... --out DIR\n"
		"                                       run raw input tensors; write DIR/output_<i>.bin\n"
		"                                       and DIR/outputs.json\n"
		"  bench MODEL.tflite [--threads N] [--runs R] [--warmup W] [--per-op]\n"
		"                                       time invoke: min/median/p90 ms as JSON\n"
		"  predict MODEL.tflite --image IMG [--task T] [--labels F] [--top-k K]\n"
		"                                       the task JSON the server answers for one picture\n"
		"\n"
		"Run 'liteserve COMMAND --help' for the options of a command.\n"
		"Environment: LITESERVE_FORCE_REFERENCE=1 runs the plain C reference kernels;\n"
		"LITESERVE_CPU=generic|avx2|avx512 caps the instruction set used.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	if (!strcmp(argv[1], "predict"))
		return cmd_predict(argc - 1, argv + 1);
	fprintf(stderr, "liteserve: unknown command '%s' (try --help)\n", argv[1]);
	return 2;
}
