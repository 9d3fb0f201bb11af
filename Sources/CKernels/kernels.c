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

/* Each update rule is one body with `apply` a constant: 1 writes the update and counts the
   values it wrote outside the box (|weight| or |first moment| > RK_BOX, second moment > RK_BOX²,
   or not finite), 0 writes nothing and counts the values it would write that are not finite.
   Both wrappers inline the same expressions, so the count predicts the written values exactly,
   and a step can be refused before anything changes. Inside the box, and with the bounds on the
   step's gradient and settings that Optimizer.updateIsFinite checks, no result can overflow, so
   the trainer can skip the counting pass. */
#define RK_BOX 0x1p40f
#define RK_BOX2 0x1p80f
#define RK_OUT(x) (!(fabsf(x) <= RK_BOX))
#define RK_OUT2(x) (!((x) <= RK_BOX2))
static inline long sgd(long n, float *p, float *g, float *m, float gs, float lr, float wd, float mu, int nesterov,
                       int first, int apply) {
    long bad = 0;
    if (mu == 0) {
        RK_INDEPENDENT
        for (long i = 0; i < n; i++) {
            float q = p[i] - lr * (gs * g[i] + wd * p[i]);
            if (apply) { p[i] = q; g[i] = 0; bad += RK_OUT(q); } else bad += !isfinite(q);
        }
        return bad;
    }
    RK_INDEPENDENT
    for (long i = 0; i < n; i++) {
        float d = gs * g[i] + wd * p[i];
        float v = first ? d : mu * m[i] + d;
        float q = p[i] - lr * (nesterov ? d + mu * v : v);
        if (apply) { m[i] = v; p[i] = q; g[i] = 0; bad += RK_OUT(q) + RK_OUT(v); } else bad += !isfinite(q) + !isfinite(v);
    }
    return bad;
}

static inline long adam(long n, float *p, float *g, float *m, float *v, float gs, float lr, float wd, int decoupled,
                        float b1, float b2, float eps, float step, float rootc2, int apply) {
    long bad = 0;
    RK_INDEPENDENT
    for (long i = 0; i < n; i++) {
        float d = gs * g[i];
        float q = p[i];
        if (decoupled) q -= lr * wd * q; else d += wd * q;
        float mi = b1 * m[i] + (1 - b1) * d;
        float vi = b2 * v[i] + (1 - b2) * d * d;
        q = q - step * mi / (sqrtf(vi) / rootc2 + eps);
        if (apply) { m[i] = mi; v[i] = vi; p[i] = q; g[i] = 0; bad += RK_OUT(q) + RK_OUT(mi) + RK_OUT2(vi); }
        else bad += !isfinite(q) + !isfinite(mi) + !isfinite(vi);
    }
    return bad;
}

static inline long rmsprop(long n, float *p, float *g, float *v, float gs, float lr, float wd, float a, float eps,
                           int apply) {
    long bad = 0;
    RK_INDEPENDENT
    for (long i = 0; i < n; i++) {
        float d = gs * g[i] + wd * p[i];
        float vi = a * v[i] + (1 - a) * d * d;
        float q = p[i] - lr * d / (sqrtf(vi) + eps);
        if (apply) { v[i] = vi; p[i] = q; g[i] = 0; bad += RK_OUT(q) + RK_OUT2(vi); } else bad += !isfinite(q) + !isfinite(vi);
    }
    return bad;
}

RK_CLONES long rk_sgd_f32(long n, float *p, float *g, float *m, float gs, float lr, float wd, float mu, int nesterov,
                          int first) {
    return sgd(n, p, g, m, gs, lr, wd, mu, nesterov, first, 1);
}

RK_CLONES long rk_sgd_f32_nonfinite(long n, float *p, float *g, float *m, float gs, float lr, float wd, float mu,
                                    int nesterov, int first) {
    return sgd(n, p, g, m, gs, lr, wd, mu, nesterov, first, 0);
}

RK_CLONES long rk_adam_f32(long n, float *p, float *g, float *m, float *v, float gs, float lr, float wd, int decoupled,
                           float b1, float b2, float eps, float step, float rootc2) {
    return adam(n, p, g, m, v, gs, lr, wd, decoupled, b1, b2, eps, step, rootc2, 1);
}

RK_CLONES long rk_adam_f32_nonfinite(long n, float *p, float *g, float *m, float *v, float gs, float lr, float wd,
                                     int decoupled, float b1, float b2, float eps, float step, float rootc2) {
    return adam(n, p, g, m, v, gs, lr, wd, decoupled, b1, b2, eps, step, rootc2, 0);
}

RK_CLONES long rk_rmsprop_f32(long n, float *p, float *g, float *v, float gs, float lr, float wd, float a, float eps) {
    return rmsprop(n, p, g, v, gs, lr, wd, a, eps, 1);
}

RK_CLONES long rk_rmsprop_f32_nonfinite(long n, float *p, float *g, float *v, float gs, float lr, float wd, float a,
                                        float eps) {
    return rmsprop(n, p, g, v, gs, lr, wd, a, eps, 0);
}
