/* nn_limits.h - every hard limit of the engine in one place.
 *
 * DESIGN: numbers read from a model file are attacker-controlled.  Before
 * anything is allocated or looped over, counts are compared with these bounds;
 * they are generous for every hosted model (the largest has ~1.3k tensors and
 * ~400 operators) and small enough that a hostile file cannot make us allocate
 * gigabytes.
 */
#ifndef LITESERVE_ENGINE_NN_LIMITS_H
#define LITESERVE_ENGINE_NN_LIMITS_H

#define NN_MAX_RANK 6                        /* dims per tensor */
#define NN_MAX_TENSORS 65536                 /* tensors per subgraph */
#define NN_MAX_OPERATORS 16384               /* operators per subgraph */
#define NN_MAX_OP_IO 1024                    /* inputs or outputs of one operator */
#define NN_MAX_BUFFERS 65536                 /* buffers per model */
#define NN_MAX_OPCODES 4096                  /* operator codes per model */
#define NN_MAX_SUBGRAPHS 256                 /* subgraphs per model */
#define NN_MAX_QUANT_CHANNELS 65536          /* per-axis scales of one tensor */
#define NN_MAX_FLATBUFFER_DEPTH 64           /* nested tables while verifying */
#define NN_MAX_MODEL_BYTES (2ULL << 30)      /* a model file (flatbuffers address 2 GiB) */
#define NN_MAX_TENSOR_BYTES (1ULL << 31)     /* one tensor */
#define NN_MAX_ARENA_BYTES (4ULL << 30)      /* the activation arena of a session */
#define NN_MAX_THREADS 64                    /* engine threads per session */
#define NN_ARENA_ALIGN 64                    /* alignment of every planned tensor */
#define NN_MAX_STRING_BYTES (64 * 1024)      /* text bytes of a string graph input (its capacity) */

#endif
