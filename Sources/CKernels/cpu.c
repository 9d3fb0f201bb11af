/* CPU feature checks (cpu.h), from cpuid as the compiler's runtime reads it. */
#include "cpu.h"

#if defined(__x86_64__)
int rk_cpu_has_avx512_skylakex(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512cd");
}
#else
int rk_cpu_has_avx512_skylakex(void) { return 0; }
#endif
