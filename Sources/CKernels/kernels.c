/* Instantiates kernels_impl.h for float (fast vectorisable exp/tanh) and double (libm). */
#include "kernels.h"
#include <math.h>
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

#define T float
#define S f32
#define EXP rk_expf
#define TANH rk_tanhf
#define CLONES RK_CLONES
#include "kernels_impl.h"
#undef T
#undef S
#undef EXP
#undef TANH
#undef CLONES

#define T double
#define S f64
#define EXP exp
#define TANH tanh
#define CLONES
#include "kernels_impl.h"

RK_CLONES long rk_fixed_accumulate_f32(long count, const float *x, int64_t *acc, double scale) {
    long bad = 0;
    for (long i = 0; i < count; i++) {
        double v = (double)x[i] * scale;
        int ok = fabs(v) < 4611686018427387904.0; /* 2^62; false for NaN too */
        bad += !ok;
        acc[i] += ok ? (int64_t)nearbyint(v) : 0;
    }
    return bad;
}

RK_CLONES void rk_fixed_to_float_f32(long count, const int64_t *acc, float *x, double inverse) {
    for (long i = 0; i < count; i++) x[i] = (float)((double)acc[i] * inverse);
}

RK_CLONES void rk_sgd_f32(long n, float *p, float *g, float *m, float gs, float lr, float wd, float mu, int nesterov,
                          int first) {
    if (mu == 0) {
        RK_INDEPENDENT
        for (long i = 0; i < n; i++) { p[i] -= lr * (gs * g[i] + wd * p[i]); g[i] = 0; }
        return;
    }
    RK_INDEPENDENT
    for (long i = 0; i < n; i++) {
        float d = gs * g[i] + wd * p[i];
        float v = first ? d : mu * m[i] + d;
        m[i] = v;
        p[i] -= lr * (nesterov ? d + mu * v : v);
        g[i] = 0;
    }
}

RK_CLONES void rk_adam_f32(long n, float *p, float *g, float *m, float *v, float gs, float lr, float wd, int decoupled,
                           float b1, float b2, float eps, float step, float rootc2) {
    RK_INDEPENDENT
    for (long i = 0; i < n; i++) {
        float d = gs * g[i];
        float q = p[i];
        if (decoupled) q -= lr * wd * q; else d += wd * q;
        float mi = b1 * m[i] + (1 - b1) * d;
        float vi = b2 * v[i] + (1 - b2) * d * d;
        m[i] = mi;
        v[i] = vi;
        p[i] = q - step * mi / (sqrtf(vi) / rootc2 + eps);
        g[i] = 0;
    }
}

RK_CLONES void rk_rmsprop_f32(long n, float *p, float *g, float *v, float gs, float lr, float wd, float a, float eps) {
    RK_INDEPENDENT
    for (long i = 0; i < n; i++) {
        float d = gs * g[i] + wd * p[i];
        float vi = a * v[i] + (1 - a) * d * d;
        v[i] = vi;
        p[i] -= lr * d / (sqrtf(vi) + eps);
        g[i] = 0;
    }
}
