/* bfloat16 conversion for the bf16 products. Shapes and leading dimensions as in kernels.h. */
#ifndef RNNTRAIN_BF16_H
#define RNNTRAIN_BF16_H
#include <stdint.h>

/* 1 when this CPU has the AVX512_BF16 instructions (vcvtneps2bf16, vdpbf16ps), else 0. */
int rk_cpu_has_avx512_bf16(void);

/* dst [rows × cols] = src rounded to bf16 as vcvtneps2bf16 rounds: to nearest, ties to even,
   subnormal inputs taken as zero (of their sign), a NaN kept a quiet NaN. The same bits on
   every CPU: the instruction where there is one, its definition in scalar code elsewhere.
   `scalar` forces the scalar code (for the tests that compare the two). */
void rk_bf16_round_rows(long rows, long cols, const float *src, long lds, uint16_t *dst, long ldd, int scalar);

/* dst [rows × cols] = src widened to float (exact). */
void rk_bf16_widen_rows(long rows, long cols, const uint16_t *src, long lds, float *dst, long ldd);

/* Error feedback of the bf16 wire: r = g[i] + residual[i] rounded to bf16 as above; residual[i]
   becomes what the rounding dropped, r − bf16(r) (0 where r is not finite, so one bad step does
   not poison the residual); the bf16 value goes to wire[i], or, wire NULL, back into g[i]. */
void rk_bf16_feedback(long n, float *g, float *residual, uint16_t *wire);

/* inout[i] = bf16(float(in[i]) + float(inout[i])): one step of a sum of bf16 values, added in
   float and rounded as above (the bf16 wire's MPI reduction operator). */
void rk_bf16_sum_into(long n, const uint16_t *in, uint16_t *inout);
#endif
