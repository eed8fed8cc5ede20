/* The machine's FP32 peak as the dense baselines' reference: FMA throughput of independent
 * chains (AVX2 and AVX-512 paths), measured on all of a run's threads at once. */
#ifndef SLIDE_DENSE_PEAK_H
#define SLIDE_DENSE_PEAK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One thread's kernel: iters rounds of 12 independent FMA chains on 8 (AVX2) or 16 (AVX-512)
 * floats; returns a sum of the chains so the work cannot be dropped. flops = iters x
 * slide_peak_flops_per_iter(isa). */
float slide_peak_fma_avx2(int64_t iters, float x);
float slide_peak_fma_avx512(int64_t iters, float x);
/* The same chains in plain C (scalar reference for the test, 2 flops per FMA). */
float slide_peak_fma_scalar(int64_t iters, float x, int lanes);
double slide_peak_flops_per_iter(int isa); /* isa: 1 AVX2, 2 AVX-512 (slide_simd numbers) */

typedef struct {
    int isa;             /* 1 AVX2, 2 AVX-512 */
    int threads;
    double gflops;       /* median over reps, all threads together */
    double gflops_min, gflops_max;
} slide_peak_result;

/* Measures path isa on `threads` OpenMP threads at once: one warm-up, then `reps` timed
 * repetitions of about ms milliseconds each. Returns 0, or -1 when the path is not built or
 * this CPU lacks it. */
int slide_peak_measure(int isa, int threads, double ms, int reps, slide_peak_result *out);
/* The best of the paths this CPU runs (AVX-512 where present, else AVX2): *out is the faster.
 * Returns -1 when neither path runs (peak unknown: peak_frac is NA). */
int slide_peak_best(int threads, double ms, int reps, slide_peak_result *out);

/* For drivers: the run's reference peak. ms > 0: slide_peak_best with 5 reps, reported on stderr
 * as one "[peak] ..." line; otherwise (or without an AVX2/AVX-512 path) gflops is NaN and the
 * line says why peak_frac will be NA. */
slide_peak_result slide_peak_start(int threads, double ms);
/* Measures p's path again (3 reps of ms) and keeps the higher median: a machine's peak is the
 * best it shows, and a busy moment on a shared machine only lowers a measurement. No-op when p
 * has no peak. */
void slide_peak_refresh(slide_peak_result *p, double ms);

#ifdef __cplusplus
}
#endif
#endif
