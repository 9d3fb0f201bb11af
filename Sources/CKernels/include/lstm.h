/* LSTM step kernels; gates [n × 4h] laid out i|f|g|o.
 * Shapes, leading dimensions and the _f32/_f64 pair as in kernels.h. */
#ifndef RNNTRAIN_LSTM_H
#define RNNTRAIN_LSTM_H

#define RK_DECLARE_LSTM(T, S)                                                                     \
/* LSTM step: gates [n × 4h] pre-activations (without bias [4h], which may be NULL) in,         \
   activations out; c = f⊙cprev + i⊙g, tc = tanh(c), hout = o⊙tc. */                             \
void rk_lstm_forward_##S(long n, long h, T *gates, const T *bias, const T *cprev, T *c, T *tc,   \
                         T *hout);                                                                \
/* LSTM step backward: dh = dup + dhrec; dc in: ∂/∂c_t from t+1, out: ∂/∂c_{t-1};                \
   dgates [n × 4h] = ∂/∂ pre-activations. */                                                      \
void rk_lstm_backward_##S(long n, long h, const T *gates, const T *cprev, const T *tc,           \
                          const T *dup, long ldup, const T *dhrec, T *dc, T *dgates);

RK_DECLARE_LSTM(float, f32)
RK_DECLARE_LSTM(double, f64)
#undef RK_DECLARE_LSTM
#endif
