/* Linear-before-reset GRU step kernels (cuDNN, PyTorch), gates [n × 3h] laid out r|z|n.
   Compiled for float and double by including itself through instantiate.h. */
#ifndef RK_INSTANCE
#include "gru_lbr.h"
#include "vector_math.h"
#define RK_INSTANCE "gru_lbr.c"
#include "instantiate.h"
#else

CLONES void RK(rk_gru_lbr_forward)(long n, long h, T *gi, const T *bias, const T *gh, const T *hprev,
                                   T *ghn, T *hout) {
    for (long r = 0; r < n; r++) {
        T *ir = gi + r * 3 * h, *iz = ir + h, *in = iz + h;
        const T *hr = gh + r * 3 * h, *hz = hr + h, *hn = hz + h, *hp = hprev + r * h;
        T *sn = ghn + r * h, *ho = hout + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T br = 0, bz = 0, bn = 0;
            if (bias) { br = bias[j]; bz = bias[h + j]; bn = bias[2 * h + j]; }
            T rr = RK(sigmoid)(ir[j] + br + hr[j]);
            T z = RK(sigmoid)(iz[j] + bz + hz[j]);
            T nn = TANH(in[j] + bn + rr * hn[j]);
            ir[j] = rr; iz[j] = z; in[j] = nn; sn[j] = hn[j];
            ho[j] = z * hp[j] + ((T)1 - z) * nn;
        }
    }
}

CLONES void RK(rk_gru_lbr_backward)(long n, long h, const T *g, const T *ghn, const T *hprev,
                                    const T *dup, long ldup, T *dhrec, T *dgi, T *dgh) {
    for (long r = 0; r < n; r++) {
        const T *gr = g + r * 3 * h, *gz = gr + h, *gn = gz + h;
        const T *sn = ghn + r * h, *hp = hprev + r * h, *du = dup + r * ldup;
        T *dhr = dhrec + r * h;
        T *ir = dgi + r * 3 * h, *iz = ir + h, *in = iz + h;
        T *hr = dgh + r * 3 * h, *hz = hr + h, *hn = hz + h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T rr = gr[j], z = gz[j], nn = gn[j];
            T dh = du[j] + dhr[j];
            T dpn = dh * ((T)1 - z) * ((T)1 - nn * nn);
            T dpr = dpn * sn[j] * rr * ((T)1 - rr);
            T dpz = dh * (hp[j] - nn) * z * ((T)1 - z);
            in[j] = dpn; hn[j] = dpn * rr;
            ir[j] = dpr; hr[j] = dpr;
            iz[j] = dpz; hz[j] = dpz;
            dhr[j] = dh * z;
        }
    }
}

#endif
