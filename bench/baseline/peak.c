/* The FP32 FMA peak: calibration, all threads at once, median of repetitions (see peak.h). */
#include "peak.h"
#include "blas.h"
#include "slide/common.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

float slide_peak_fma_scalar(int64_t iters, float x, int lanes) {
    float a[12], s = 0.0f;
    for (int k = 0; k < 12; k++) a[k] = x + (float)k * 1e-3f;
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = fmaf(a[k], 0.99999994f, 1e-7f);
    for (int k = 0; k < 12; k++) s += a[k];
    return s * (float)lanes;
}

double slide_peak_flops_per_iter(int isa) { return 12.0 * 2.0 * (isa == 2 ? 16.0 : 8.0); }

static int path_runs(int isa) {
    const slide_cpu_isa c = slide_cpu_isa_detect();
#if defined(SLIDE_HAVE_AVX512)
    if (isa == 2) return c.avx512;
#endif
#if defined(SLIDE_HAVE_AVX2)
    if (isa == 1) return c.avx2_fma;
#endif
    (void)c;
    return 0;
}

static float run_path(int isa, int64_t iters, float x) {
#if defined(SLIDE_HAVE_AVX512)
    if (isa == 2) return slide_peak_fma_avx512(iters, x);
#endif
#if defined(SLIDE_HAVE_AVX2)
    if (isa == 1) return slide_peak_fma_avx2(iters, x);
#endif
    return slide_peak_fma_scalar(iters, x, 1);
}

/* Seconds for `iters` rounds on every one of `threads` threads, started together. */
static double timed(int isa, int threads, int64_t iters, volatile float *sink) {
    double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(threads)
    {
#pragma omp barrier
#pragma omp master
        t0 = slide_now();
        float r = run_path(isa, iters, 1.0f + 1e-3f * (float)omp_get_thread_num());
#pragma omp barrier
#pragma omp master
        {
            t1 = slide_now();
            *sink = r;
        }
    }
    return t1 - t0;
}

static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int slide_peak_measure(int isa, int threads, double ms, int reps, slide_peak_result *out) {
    if (!path_runs(isa) || threads < 1 || reps < 1 || reps > 64) return -1;
    volatile float sink = 0;
    /* calibrate on all threads: grow until one run takes 10 ms, then scale to ms */
    int64_t iters = 1 << 14;
    double t = timed(isa, threads, iters, &sink);
    while (t < 0.01 && iters < ((int64_t)1 << 40)) {
        iters *= 4;
        t = timed(isa, threads, iters, &sink);
    }
    iters = (int64_t)((double)iters * (ms * 1e-3) / (t > 0 ? t : 1e-3));
    if (iters < 1024) iters = 1024;
    timed(isa, threads, iters, &sink); /* warm-up (clocks settle at this width) */
    double g[64];
    const double flops = (double)threads * (double)iters * slide_peak_flops_per_iter(isa);
    for (int r = 0; r < reps; r++) g[r] = flops / timed(isa, threads, iters, &sink) * 1e-9;
    qsort(g, (size_t)reps, sizeof g[0], cmp_d);
    out->isa = isa;
    out->threads = threads;
    out->gflops = reps % 2 ? g[reps / 2] : 0.5 * (g[reps / 2 - 1] + g[reps / 2]);
    out->gflops_min = g[0];
    out->gflops_max = g[reps - 1];
    return 0;
}

int slide_peak_best(int threads, double ms, int reps, slide_peak_result *out) {
    slide_peak_result r2, r1;
    const int ok2 = slide_peak_measure(2, threads, ms, reps, &r2) == 0;
    const int ok1 = slide_peak_measure(1, threads, ms, reps, &r1) == 0;
    if (!ok1 && !ok2) return -1;
    *out = ok2 && (!ok1 || r2.gflops >= r1.gflops) ? r2 : r1;
    return 0;
}

slide_peak_result slide_peak_start(int threads, double ms) {
    slide_peak_result p = {0, threads, NAN, NAN, NAN};
    if (ms > 0 && slide_peak_best(threads, ms, 5, &p) == 0)
        fprintf(stderr, "[peak] FP32 FMA peak %.1f GFLOP/s on %d threads (%s, median of 5; "
                "%.1f-%.1f)\n", p.gflops, threads, p.isa == 2 ? "avx512" : "avx2",
                p.gflops_min, p.gflops_max);
    else
        fprintf(stderr, "[peak] not measured (%s): peak_frac is NA\n",
                ms > 0 ? "no AVX2/AVX-512 path on this CPU or build" : "--peak-ms 0");
    return p;
}

void slide_peak_refresh(slide_peak_result *p, double ms) {
    slide_peak_result r;
    if (p->gflops > 0 && slide_peak_measure(p->isa, p->threads, ms, 3, &r) == 0 &&
        r.gflops > p->gflops)
        *p = r;
}
