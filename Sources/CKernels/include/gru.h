/* GRU step kernels as in the notes (reset before the recurrent matmul); gates [n × 3h] laid out r|z|n.
 * Shapes, leading dimensions and the _f32/_f64 pair as in kernels.h. */
#ifndef RNNTRAIN_GRU_H
#define RNNTRAIN_GRU_H

#define RK_DECLARE_GRU(T, S)                                                                     \
/* GRU as in the notes, first half: σ on r|z of g + bias ([n × 3h], bias [3h] or NULL);         \
   rh = r ⊙ hprev. */                                                                             \
void rk_gru_reset_##S(long n, long h, T *g, const T *bias, const T *hprev, T *rh);                \
/* GRU as in the notes, second half: tanh on n + bias_n; hout = z⊙hprev + (1−z)⊙n. */            \
void rk_gru_update_##S(long n, long h, T *g, const T *bias, const T *hprev, T *hout);             \
/* Backward of rk_gru_update: dh = dup + dhrec; writes dg's z and n parts; dhrec ← dh⊙z. */       \
void rk_gru_update_backward_##S(long n, long h, const T *g, const T *hprev, const T *dup,         \
                                long ldup, T *dhrec, T *dg);                                      \
/* Backward of rk_gru_reset: drh = ∂/∂(r⊙hprev); writes dg's r part; dhrec += drh⊙r. */          \
void rk_gru_reset_backward_##S(long n, long h, const T *g, const T *hprev, const T *drh,         \
                               T *dhrec, T *dg);

RK_DECLARE_GRU(float, f32)
RK_DECLARE_GRU(double, f64)
#undef RK_DECLARE_GRU
#endif
