/* What every kernel file shares: the target_clones attribute, the no-alias loop pragma and the
   vectorisable exp/tanh of the Float kernels. Included once per C file, before instantiate.h. */
#ifndef RNNTRAIN_VECTOR_MATH_H
#define RNNTRAIN_VECTOR_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#define RK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RK_CLONES
#endif

/* Iterations of an elementwise loop never depend on each other, even where a kernel is called
   in place (each writes only the element it read). Said outright, the vectoriser skips runtime
   alias checks that, measured here, sent the LSTM kernel down its scalar path (27 ns per unit
   instead of 3.4). */
#if defined(__clang__)
#define RK_INDEPENDENT _Pragma("clang loop vectorize(assume_safety)")
#else
#define RK_INDEPENDENT _Pragma("GCC ivdep")
#endif

/* exp for float: Cephes' range reduction x = n·ln2 + r and degree-6 polynomial, about 1 ulp on
   [-87.3, 88.3]; inputs are clamped there (exp underflows to 2^-126 instead of 0, which no
   caller can tell apart). Branch-free so loops vectorise. */
static inline float rk_expf(float x) {
    /* Comparisons, not fminf/fmaxf, so a NaN input stays NaN. */
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    float fx = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)fx + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* tanh for float: odd Taylor polynomial below 0.25 (error < 1e-8 relative), 1 − 2/(e^{2|x|}+1)
   above; saturates at |x| = 9 where tanh rounds to ±1. */
static inline float rk_tanhf(float x) {
    float a = fabsf(x) > 9.0f ? 9.0f : fabsf(x);
    float a2 = a * a;
    float small = a + a * a2 * (-0.333333333f + a2 * (0.133333333f + a2 * (-0.0539682540f + a2 * 0.0218694885f)));
    float big = 1.0f - 2.0f / (rk_expf(2.0f * a) + 1.0f);
    return copysignf(a < 0.25f ? small : big, x);
}
#endif
