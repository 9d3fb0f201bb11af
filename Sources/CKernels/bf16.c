/* bfloat16 rounding and widening. The vector path needs AVX512_BF16 and is chosen at run time
   (target attribute and cpuid, never -march=native); the scalar path is Intel's definition of
   vcvtneps2bf16 (convert_fp32_to_bfloat16 in the SDM), so both give the same bits. */
#include "bf16.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int rk_cpu_has_avx512_bf16(void) {
    static int known = -1;
    if (known < 0) {
        unsigned a, b, c, d;
        /* Leaf 7 subleaf 1, EAX bit 5: AVX512_BF16; the OS must also save the zmm state. */
        int bf16 = __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
        known = bf16 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    }
    return known;
}
#else
int rk_cpu_has_avx512_bf16(void) { return 0; }
#endif

static inline uint16_t round_one(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN: quiet */
    if ((u & 0x7f800000u) == 0) u &= 0x80000000u;                              /* DAZ */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512bf16,avx512vl")))
static void round_row_avx512(long cols, const float *src, uint16_t *dst) {
    long j = 0;
    for (; j + 16 <= cols; j += 16) {
        __m256bh r = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + j));
        _mm256_storeu_si256((__m256i *)(dst + j), (__m256i)r);
    }
    if (j < cols) {
        __mmask16 m = (__mmask16)((1u << (cols - j)) - 1);
        __m256bh r = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + j));
        _mm256_mask_storeu_epi16(dst + j, m, (__m256i)r);
    }
}
#endif

void rk_bf16_round_rows(long rows, long cols, const float *src, long lds, uint16_t *dst, long ldd, int scalar) {
#if defined(__x86_64__)
    if (!scalar && rk_cpu_has_avx512_bf16()) {
        for (long i = 0; i < rows; i++) round_row_avx512(cols, src + i * lds, dst + i * ldd);
        return;
    }
#endif
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) dst[i * ldd + j] = round_one(src[i * lds + j]);
}

void rk_bf16_widen_rows(long rows, long cols, const uint16_t *src, long lds, float *dst, long ldd) {
    for (long i = 0; i < rows; i++) {
        const uint16_t *s = src + i * lds;
        float *d = dst + i * ldd;
        for (long j = 0; j < cols; j++) {
            uint32_t u = (uint32_t)s[j] << 16;
            memcpy(d + j, &u, 4);
        }
    }
}

void rk_bf16_feedback(long n, float *g, float *residual, uint16_t *wire) {
    for (long i = 0; i < n; i++) {
        float r = g[i] + residual[i];
        uint16_t b = round_one(r);
        uint32_t u = (uint32_t)b << 16;
        float w;
        memcpy(&w, &u, 4);
        residual[i] = isfinite(r) ? r - w : 0;
        if (wire) wire[i] = b; else g[i] = w;
    }
}

void rk_bf16_sum_into(long n, const uint16_t *in, uint16_t *inout) {
    for (long i = 0; i < n; i++) {
        uint32_t a = (uint32_t)in[i] << 16, b = (uint32_t)inout[i] << 16;
        float x, y;
        memcpy(&x, &a, 4);
        memcpy(&y, &b, 4);
        inout[i] = round_one(x + y);
    }
}
