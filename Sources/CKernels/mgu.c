/* Minimal gated unit step kernels, gates [n × 2h] laid out f|n. Compiled for float and double
   by including itself through instantiate.h. */
#ifndef RK_INSTANCE
#include "mgu.h"
#include "vector_math.h"
#define RK_INSTANCE "mgu.c"
#include "instantiate.h"
#else

CLONES void RK(rk_mgu_forget)(long n, long h, T *g, const T *bias, const T *hprev, T *fh) {
    for (long r = 0; r < n; r++) {
        T *gf = g + r * 2 * h;
        const T *hp = hprev + r * h;
        T *out = fh + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T f = RK(sigmoid)(gf[j] + (bias ? bias[j] : 0));
            gf[j] = f;
            out[j] = f * hp[j];
        }
    }
}

CLONES void RK(rk_mgu_update)(long n, long h, T *g, const T *bias, const T *hprev, T *hout) {
    for (long r = 0; r < n; r++) {
        const T *gf = g + r * 2 * h;
        T *gn = g + r * 2 * h + h;
        const T *hp = hprev + r * h;
        T *ho = hout + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T nn = TANH(gn[j] + (bias ? bias[h + j] : 0));
            gn[j] = nn;
            ho[j] = ((T)1 - gf[j]) * hp[j] + gf[j] * nn;
        }
    }
}

CLONES void RK(rk_mgu_update_backward)(long n, long h, const T *g, const T *hprev, const T *dup,
                                       long ldup, T *dhrec, T *df, T *dg) {
    for (long r = 0; r < n; r++) {
        const T *gf = g + r * 2 * h, *gn = gf + h, *hp = hprev + r * h, *du = dup + r * ldup;
        T *dhr = dhrec + r * h, *d = df + r * h, *dn = dg + r * 2 * h + h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T f = gf[j], nn = gn[j];
            T dh = du[j] + dhr[j];
            dn[j] = dh * f * ((T)1 - nn * nn);
            d[j] = dh * (nn - hp[j]);
            dhr[j] = dh * ((T)1 - f);
        }
    }
}

CLONES void RK(rk_mgu_forget_backward)(long n, long h, const T *hprev, const T *dfh, const T *df,
                                       T *dhrec, T *dg) {
    for (long r = 0; r < n; r++) {
        const T *hp = hprev + r * h, *dx = dfh + r * h, *d = df + r * h;
        T *dhr = dhrec + r * h, *gf = dg + r * 2 * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T f = gf[j];
            gf[j] = (d[j] + dx[j] * hp[j]) * f * ((T)1 - f);
            dhr[j] += dx[j] * f;
        }
    }
}

#endif
