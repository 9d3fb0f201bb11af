/* Register-resident peak loops (peaks.h). The accumulator arrays are unrolled by the compiler
   into that many vector registers; check with objdump that the loop body holds only the
   arithmetic instructions and the counter. */
#include "bf16.h"
#include "peaks.h"

#include <immintrin.h>

#define ZMM_ACCUMULATORS 16
#define YMM_ACCUMULATORS 12

__attribute__((target("avx512f")))
static double fp32_avx512(long iterations, float x, float y, double *checksum) {
    __m512 acc[ZMM_ACCUMULATORS];
    const __m512 vx = _mm512_set1_ps(x), vy = _mm512_set1_ps(y);
    for (int j = 0; j < ZMM_ACCUMULATORS; j++) acc[j] = _mm512_setzero_ps();
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < ZMM_ACCUMULATORS; j++) acc[j] = _mm512_fmadd_ps(acc[j], vx, vy);
    }
    double sum = 0;
    for (int j = 0; j < ZMM_ACCUMULATORS; j++) sum += _mm512_reduce_add_ps(acc[j]);
    *checksum = sum;
    return 2.0 * 16 * ZMM_ACCUMULATORS * (double)iterations;
}

__attribute__((target("avx2,fma")))
static double fp32_avx2(long iterations, float x, float y, double *checksum) {
    __m256 acc[YMM_ACCUMULATORS];
    const __m256 vx = _mm256_set1_ps(x), vy = _mm256_set1_ps(y);
    for (int j = 0; j < YMM_ACCUMULATORS; j++) acc[j] = _mm256_setzero_ps();
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < YMM_ACCUMULATORS; j++) acc[j] = _mm256_fmadd_ps(acc[j], vx, vy);
    }
    float lanes[8];
    double sum = 0;
    for (int j = 0; j < YMM_ACCUMULATORS; j++) {
        _mm256_storeu_ps(lanes, acc[j]);
        for (int l = 0; l < 8; l++) sum += lanes[l];
    }
    *checksum = sum;
    return 2.0 * 8 * YMM_ACCUMULATORS * (double)iterations;
}

__attribute__((target("avx512f,avx512bf16")))
static double bf16_avx512(long iterations, float y, double *checksum) {
    __m512 acc[ZMM_ACCUMULATORS];
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1), _mm512_set1_ps(1));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(y), _mm512_set1_ps(y));
    for (int j = 0; j < ZMM_ACCUMULATORS; j++) acc[j] = _mm512_setzero_ps();
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < ZMM_ACCUMULATORS; j++) acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
    }
    double sum = 0;
    for (int j = 0; j < ZMM_ACCUMULATORS; j++) sum += _mm512_reduce_add_ps(acc[j]);
    *checksum = sum;
    return 4.0 * 16 * ZMM_ACCUMULATORS * (double)iterations;
}

double rk_peak_fp32(long iterations, float x, float y, double *checksum) {
    *checksum = 0;
    if (__builtin_cpu_supports("avx512f")) return fp32_avx512(iterations, x, y, checksum);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return fp32_avx2(iterations, x, y, checksum);
    return 0;
}

double rk_peak_bf16(long iterations, float y, double *checksum) {
    *checksum = 0;
    return rk_cpu_has_avx512_bf16() ? bf16_avx512(iterations, y, checksum) : 0;
}
