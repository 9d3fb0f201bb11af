/* Linear-before-reset GRU step kernels; gates [n × 3h] laid out r|z|n.
 * Shapes, leading dimensions and the _f32/_f64 pair as in kernels.h. */
#ifndef RNNTRAIN_GRULBR_H
#define RNNTRAIN_GRULBR_H

#define RK_DECLARE_GRULBR(T, S)                                                                     \
/* GRU linear-before-reset step: gi [n × 3h] = x W_ihᵀ in (bias [3h] = b_ih added here, or     \
   NULL), r|z|n out; gh = h W_hhᵀ + b_hh; n = tanh(gi_n + r⊙gh_n); ghn ← gh_n;                   \
   hout = z⊙hprev + (1−z)⊙n. */                                                                   \
void rk_gru_lbr_forward_##S(long n, long h, T *gi, const T *bias, const T *gh, const T *hprev,   \
                            T *ghn, T *hout);                                                     \
/* Its backward: dgi, dgh [n × 3h]; dhrec in: ∂/∂h_t from t+1, out: dh⊙z. */                      \
void rk_gru_lbr_backward_##S(long n, long h, const T *g, const T *ghn, const T *hprev,           \
                             const T *dup, long ldup, T *dhrec, T *dgi, T *dgh);

RK_DECLARE_GRULBR(float, f32)
RK_DECLARE_GRULBR(double, f64)
#undef RK_DECLARE_GRULBR
#endif
