/* cpu.c - run-time ISA detection (see cpu.h). */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#include "kernel.h"

enum { LVL_GENERIC, LVL_AVX2, LVL_AVX512, LVL_VNNI };

static int detect(void)
{
	int lvl = LVL_GENERIC;
	const char *cap = getenv("LITESERVE_CPU");

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		lvl = LVL_AVX2;
	if (lvl == LVL_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
		lvl = LVL_AVX512;
	if (lvl == LVL_AVX512 && __builtin_cpu_supports("avx512vnni"))
		lvl = LVL_VNNI;
	if (cap) {
		int c = lvl;
		if (!strcmp(cap, "generic"))
			c = LVL_GENERIC;
		else if (!strcmp(cap, "avx2"))
			c = LVL_AVX2;
		else if (!strcmp(cap, "avx512"))
			c = LVL_AVX512;
		if (c < lvl)
			lvl = c;
	}
	return lvl;
}

static int level(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = detect();
	return cached;
}

bool nn_cpu_avx2(void) { return level() >= LVL_AVX2; }
bool nn_cpu_avx512(void) { return level() >= LVL_AVX512; }
bool nn_cpu_avx512vnni(void) { return level() >= LVL_VNNI; }

const char *nn_cpu_level(void)
{
	static const char *const names[] = {"generic", "avx2", "avx512", "avx512vnni"};
	return names[level()];
}

bool nn_force_reference(void)
{
	static int cached = -1;
	if (cached < 0) {
		const char *v = getenv("LITESERVE_FORCE_REFERENCE");
		cached = v && *v && strcmp(v, "0") != 0;
	}
	return cached;
}
