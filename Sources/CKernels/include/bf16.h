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
#endif
