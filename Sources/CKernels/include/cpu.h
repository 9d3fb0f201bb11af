/* CPU features that decide which library kernels rnntrain asks for. */
#ifndef RNNTRAIN_CPU_H
#define RNNTRAIN_CPU_H

/* 1 when this CPU (and the OS, which must save the zmm state) has the AVX-512 subsets OpenBLAS's
   SkylakeX kernels use: F, BW, VL, DQ and CD; else 0. */
int rk_cpu_has_avx512_skylakex(void);

#endif
