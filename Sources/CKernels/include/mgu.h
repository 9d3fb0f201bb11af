/* Minimal gated unit step kernels (Zhou et al. 2016); gates [n × 2h] laid out f|n, n being the
 * candidate h̃. Shapes, leading dimensions and the _f32/_f64 pair as in kernels.h. */
#ifndef RNNTRAIN_MGU_H
#define RNNTRAIN_MGU_H

#define RK_DECLARE_MGU(T, S)                                                                     \
/* First half: f = σ(g_f + bias_f) in place ([n × 2h], bias [2h] or NULL); fh = f ⊙ hprev. */    \
void rk_mgu_forget_##S(long n, long h, T *g, const T *bias, const T *hprev, T *fh);               \
/* Second half: n = tanh(g_n + bias_n) in place; hout = (1−f)⊙hprev + f⊙n. */                    \
void rk_mgu_update_##S(long n, long h, T *g, const T *bias, const T *hprev, T *hout);             \
/* Backward of rk_mgu_update: dh = dup + dhrec; writes dg's n part; df = dh⊙(n − hprev), the     \
   update's share of ∂/∂f; dhrec ← dh⊙(1−f). */                                                  \
void rk_mgu_update_backward_##S(long n, long h, const T *g, const T *hprev, const T *dup,         \
                                long ldup, T *dhrec, T *df, T *dg);                               \
/* Backward of rk_mgu_forget: dfh = ∂/∂(f⊙hprev); dg's f part holds f, and gets ∂/∂ its        \
   pre-activation from df + dfh⊙hprev; dhrec += dfh⊙f. */                                       \
void rk_mgu_forget_backward_##S(long n, long h, const T *hprev, const T *dfh, const T *df,       \
                                T *dhrec, T *dg);

RK_DECLARE_MGU(float, f32)
RK_DECLARE_MGU(double, f64)
#undef RK_DECLARE_MGU
#endif
