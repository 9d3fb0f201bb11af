/* LSTM step kernels, gates [n × 4h] laid out i|f|g|o. This file is compiled once and includes
   itself through instantiate.h, which compiles the part below #else for float and double. */
#ifndef RK_INSTANCE
#include "lstm.h"
#include "vector_math.h"
#define RK_INSTANCE "lstm.c"
#include "instantiate.h"
#else

CLONES void RK(rk_lstm_forward)(long n, long h, T *gates, const T *bias, const T *cprev, T *c, T *tc,
                                T *hout) {
    for (long r = 0; r < n; r++) {
        T *gi = gates + r * 4 * h, *gf = gi + h, *gg = gf + h, *go = gg + h;
        const T *cp = cprev + r * h;
        T *cr = c + r * h, *tr = tc + r * h, *hr = hout + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T bi = 0, bf = 0, bg = 0, bo = 0;
            if (bias) { bi = bias[j]; bf = bias[h + j]; bg = bias[2 * h + j]; bo = bias[3 * h + j]; }
            T i = RK(sigmoid)(gi[j] + bi), f = RK(sigmoid)(gf[j] + bf), g = TANH(gg[j] + bg), o = RK(sigmoid)(go[j] + bo);
            T cn = f * cp[j] + i * g;
            T t = TANH(cn);
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
            cr[j] = cn; tr[j] = t; hr[j] = o * t;
        }
    }
}

CLONES void RK(rk_lstm_backward)(long n, long h, const T *gates, const T *cprev, const T *tc,
                                 const T *dup, long ldup, const T *dhrec, T *dc, T *dgates) {
    for (long r = 0; r < n; r++) {
        const T *gi = gates + r * 4 * h, *gf = gi + h, *gg = gf + h, *go = gg + h;
        const T *cp = cprev + r * h, *tr = tc + r * h, *du = dup + r * ldup, *dhr = dhrec + r * h;
        T *dcr = dc + r * h;
        T *di = dgates + r * 4 * h, *df = di + h, *dg = df + h, *dO = dg + h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tr[j];
            T dh = du[j] + dhr[j];
            T dct = dcr[j] + dh * o * ((T)1 - t * t);
            dO[j] = dh * t * o * ((T)1 - o);
            di[j] = dct * g * i * ((T)1 - i);
            df[j] = dct * cp[j] * f * ((T)1 - f);
            dg[j] = dct * i * ((T)1 - g * g);
            dcr[j] = dct * f;
        }
    }
}

#endif
