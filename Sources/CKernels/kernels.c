/* The kernels shared by every model (activations, softmax, dropout, embedding, row helpers),
   instantiated from kernels_impl.h, and the Float-only reduction and optimizer kernels. The
   recurrent cells' kernels are in their own files (lstm.c, gru.c, gru_lbr.c). */
#include "kernels.h"
#include "vector_math.h"

#define RK_INSTANCE "kernels_impl.h"
#include "instantiate.h"

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
