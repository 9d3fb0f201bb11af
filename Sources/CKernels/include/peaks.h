/* The arithmetic peak of one core, from loops whose operands never leave the registers, so
 * `rnntrain bench` can say how far a step is from what the core can do at all.
 *
 * Each kernel runs `iterations` rounds of one instruction on each of its independent vector
 * accumulators (enough of them to cover the instruction's latency on every FMA unit) and
 * returns the FLOPs done, or 0 when this CPU lacks the instructions. *checksum receives the sum
 * of every accumulator lane, which keeps the loop from being optimised away and lets a test
 * check that the work counted is the work done. Chosen at run time (never -march=native).
 */
#ifndef RNNTRAIN_PEAKS_H
#define RNNTRAIN_PEAKS_H

/* fp32: acc ← acc·x + y per lane, 2 FLOPs a lane. AVX-512F (16 zmm accumulators), else AVX2 + FMA
   (12 ymm). Accumulators start at 0; with x = 1 every lane ends at iterations·y. */
double rk_peak_fp32(long iterations, float x, float y, double *checksum);

/* bf16: vdpbf16ps, acc ← acc + a₀·b₀ + a₁·b₁ per fp32 lane with a = 1 and b = y rounded to bf16,
   4 FLOPs a lane; 16 zmm accumulators. Needs AVX-512F and AVX512_BF16. Every lane ends at
   iterations·2·bf16(y). */
double rk_peak_bf16(long iterations, float y, double *checksum);

#endif
