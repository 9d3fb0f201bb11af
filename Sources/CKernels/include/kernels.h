/* Fused elementwise kernels for rnntrain, one Float (_f32) and one Double (_f64) version each.
 *
 * Shapes are row-major; `ld*` arguments are leading dimensions (distance between rows) where a
 * matrix may be a column slice of a wider one. The recurrent cells' step kernels, each with its
 * gate order (PyTorch's), are declared in their own headers: lstm.h, gru.h, gru_lbr.h.
 * The Float versions use vectorised polynomial exp/tanh (a few ulp); the Double versions use libm,
 * because the gradient check compares them with finite differences to 1e-6.
 */
#ifndef RNNTRAIN_KERNELS_H
#define RNNTRAIN_KERNELS_H
#include <stdint.h>

#define RK_DECLARE(T, S)                                                                          \
/* out [rows × width] = φ(pre + bias), φ = relu ? relu : tanh; bias [width] may be NULL. */      \
void rk_act_forward_##S(long rows, long width, int relu, const T *pre, const T *bias, T *out);   \
/* dpre [n × h] = (dup + drec) ⊙ φ'(out); dup has leading dimension ldup; drec may be NULL. */    \
void rk_act_backward_##S(long n, long h, int relu, const T *out, const T *dup, long ldup,         \
                         const T *drec, T *dpre);                                                 \
/* Softmax cross-entropy over logits [rows × V] + bias [V] (bias may be NULL; it is added into   \
   logits in place). A row counts when mask is NULL or mask[r] != 0, and targets[r] >= 0.          \
   Returns the summed loss; adds counted rows to *count and rows whose argmax equals the target   \
   to *correct. With grad, logits become ∂loss/∂logits (softmax − onehot, zero on rows that do    \
   not count), whose column sums are added to dbias when it is not NULL. */                       \
double rk_softmax_xent_##S(long rows, long V, T *logits, const T *bias, const int32_t *targets,  \
                           const uint8_t *mask, int grad, T *dbias, long *count, long *correct); \
/* Inverted dropout: mask [rows × cols] ← (u ≥ p ? 1/(1−p) : 0) with u drawn from               \
   hash(rowkeys[r], column); y = x ⊙ mask. */                                                     \
void rk_dropout_forward_##S(long rows, long cols, const T *x, long ldx, T *y, long ldy, T *mask, \
                            const uint64_t *rowkeys, double p);                                   \
/* dx = dy ⊙ mask. */                                                                             \
void rk_dropout_backward_##S(long rows, long cols, const T *dy, long lddy, const T *mask, T *dx, \
                             long lddx);                                                          \
/* out[r] = table[tokens[r]] (a zero row where tokens[r] < 0); table [V × E]. */                  \
void rk_embedding_forward_##S(long rows, long E, const T *table, const int32_t *tokens, T *out,  \
                              long ldout);                                                        \
/* dtable[tokens[r]] += dout[r]. */                                                               \
void rk_embedding_backward_##S(long rows, long E, T *dtable, const int32_t *tokens,              \
                               const T *dout, long lddout);                                       \
/* out[r] = b1 + b2 for every row; b2 may be NULL. */                                             \
void rk_bias_rows_##S(long rows, long cols, T *out, long ld, const T *b1, const T *b2);          \
/* out[j] += Σ_r x[r][j]. */                                                                      \
void rk_colsum_add_##S(long rows, long cols, const T *x, long ld, T *out);                       \
/* Σ x[i]², accumulated in double. */                                                             \
double rk_sumsq_##S(long count, const T *x);                                                      \
/* dst = src, row by row. */                                                                      \
void rk_copy_rows_##S(long rows, long cols, const T *src, long lds, T *dst, long ldd);           \
/* dst += src, row by row. */                                                                     \
void rk_add_rows_##S(long rows, long cols, const T *src, long lds, T *dst, long ldd);             \
/* dst [cols × rows] (leading dimension ldd) = srcᵀ, src [rows × cols]. */                         \
void rk_transpose_##S(long rows, long cols, const T *src, long lds, T *dst, long ldd);

RK_DECLARE(float, f32)
RK_DECLARE(double, f64)

/* The counter-based hash behind dropout masks (splitmix64's finaliser). */
static inline uint64_t rk_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}



/* Fixed point for the deterministic reduction: acc[i] += round(x[i] · scale). Entries that are
   not finite or whose scaled value reaches 2^62 add nothing; returns how many there were. */
long rk_fixed_accumulate_f32(long count, const float *x, int64_t *acc, double scale);
/* x[i] = acc[i] · inverse. */
void rk_fixed_to_float_f32(long count, const int64_t *acc, float *x, double inverse);

/* Optimizer updates over the flat buffers, PyTorch's rules, with the gradient scaled by gs on
   the fly and cleared once read (so the next step needs no separate zeroing pass).
   SGD: d = gs·g + wd·p; with momentum mu: v = first ? d : mu·v + d; p -= lr·(nesterov ? d + mu·v : v).
   Adam/AdamW: d = gs·g (+ wd·p for Adam; AdamW decays p by lr·wd first); m, v moments;
   p -= step·m / (sqrt(v)/rootc2 + eps), step = lr / (1 − β1^t), rootc2 = sqrt(1 − β2^t).
   RMSprop: d = gs·g + wd·p; v = a·v + (1 − a)·d²; p -= lr·d / (sqrt(v) + eps).
   Returns how many written weights and first moments have |x| > 2^40, second moments > 2^80,
   or are not finite: zero means the next update, within Optimizer.updateIsFinite's bounds,
   cannot overflow. */
long rk_sgd_f32(long n, float *p, float *g, float *m, float gs, float lr, float wd, float mu, int nesterov, int first);
long rk_adam_f32(long n, float *p, float *g, float *m, float *v, float gs, float lr, float wd, int decoupled,
                 float b1, float b2, float eps, float step, float rootc2);
long rk_rmsprop_f32(long n, float *p, float *g, float *v, float gs, float lr, float wd, float a, float eps);
/* The same arguments: how many of the parameters and moments the update would write are not
   finite (inf or NaN); nothing is written. */
long rk_sgd_f32_nonfinite(long n, float *p, float *g, float *m, float gs, float lr, float wd, float mu, int nesterov,
                          int first);
long rk_adam_f32_nonfinite(long n, float *p, float *g, float *m, float *v, float gs, float lr, float wd, int decoupled,
                           float b1, float b2, float eps, float step, float rootc2);
long rk_rmsprop_f32_nonfinite(long n, float *p, float *g, float *v, float gs, float lr, float wd, float a, float eps);
#endif
