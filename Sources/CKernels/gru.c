/* GRU step kernels as the notes write it (reset before the recurrent matmul), gates [n × 3h]
   laid out r|z|n. Compiled for float and double by including itself through instantiate.h. */
#ifndef RK_INSTANCE
#include "gru.h"
#include "vector_math.h"
#define RK_INSTANCE "gru.c"
#include "instantiate.h"
#else

CLONES void RK(rk_gru_reset)(long n, long h, T *g, const T *bias, const T *hprev, T *rh) {
    for (long r = 0; r < n; r++) {
        T *gr = g + r * 3 * h, *gz = gr + h;
        const T *hp = hprev + r * h;
        T *out = rh + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T br = bias ? bias[j] : 0, bz = bias ? bias[h + j] : 0;
            T rr = RK(sigmoid)(gr[j] + br);
            gr[j] = rr;
            gz[j] = RK(sigmoid)(gz[j] + bz);
            out[j] = rr * hp[j];
        }
    }
}

CLONES void RK(rk_gru_update)(long n, long h, T *g, const T *bias, const T *hprev, T *hout) {
    for (long r = 0; r < n; r++) {
        const T *gz = g + r * 3 * h + h;
        T *gn = g + r * 3 * h + 2 * h;
        const T *hp = hprev + r * h;
        T *ho = hout + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T nn = TANH(gn[j] + (bias ? bias[2 * h + j] : 0));
            gn[j] = nn;
            ho[j] = gz[j] * hp[j] + ((T)1 - gz[j]) * nn;
        }
    }
}

CLONES void RK(rk_gru_update_backward)(long n, long h, const T *g, const T *hprev, const T *dup,
                                       long ldup, T *dhrec, T *dg) {
    for (long r = 0; r < n; r++) {
        const T *gz = g + r * 3 * h + h, *gn = gz + h, *hp = hprev + r * h, *du = dup + r * ldup;
        T *dhr = dhrec + r * h, *dz = dg + r * 3 * h + h, *dn = dz + h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T z = gz[j], nn = gn[j];
            T dh = du[j] + dhr[j];
            dn[j] = dh * ((T)1 - z) * ((T)1 - nn * nn);
            dz[j] = dh * (hp[j] - nn) * z * ((T)1 - z);
            dhr[j] = dh * z;
        }
    }
}

CLONES void RK(rk_gru_reset_backward)(long n, long h, const T *g, const T *hprev, const T *drh,
                                      T *dhrec, T *dg) {
    for (long r = 0; r < n; r++) {
        const T *gr = g + r * 3 * h, *hp = hprev + r * h, *d = drh + r * h;
        T *dhr = dhrec + r * h, *dr = dg + r * 3 * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T rr = gr[j];
            dr[j] = d[j] * hp[j] * rr * ((T)1 - rr);
            dhr[j] += d[j] * rr;
        }
    }
}

#endif
