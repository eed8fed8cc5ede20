/* Hot-loop kernels behind a dispatch table: one table per SIMD path (scalar reference built
 * without auto-vectorisation, AVX2+FMA, AVX-512). Chosen at run time, never by a global:
 * callers hold the const slide_kern * they were given. No alignment is assumed; any n >= 0.
 * dot, axpy, gather_dot, sparse_rows_sum, gather_dot_bf16, axpy_bf16 and the gather_axpy pair
 * differ from scalar only
 * by rounding (FMA, order of summation): within 1e-5 of sum |terms| (core/tests/test_kern.c
 * checks it). BF16 = the upper 16 bits of an IEEE float, stored as uint16_t: weights kept in it
 * take half the memory traffic; widening it to fp32 is exact (a shift), all arithmetic is fp32. */
#ifndef SLIDE_KERN_H
#define SLIDE_KERN_H

#include "slide/common.h"
#include "slide/rng.h"

#include <math.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SLIDE_SIMD_SCALAR = 0, SLIDE_SIMD_AVX2 = 1, SLIDE_SIMD_AVX512 = 2 } slide_simd;

typedef struct {
    const char *name; /* "scalar", "avx2", "avx512" */
    int simd;         /* slide_simd */
    /* sum_i a[i]*b[i] */
    float (*dot)(const float *a, const float *b, int64_t n);
    /* y[i] += alpha * x[i] */
    void (*axpy)(float *y, float alpha, const float *x, int64_t n);
    /* out[j] = bias[ids[j]] + dot(W + ids[j]*ld, x, n) for j < n_ids (bias may be NULL) */
    void (*gather_dot)(float *out, const float *W, int64_t ld, const float *bias,
                       const uint32_t *ids, int64_t n_ids, const float *x, int64_t n);
    /* out[0..n) += sum_j val[j] * W[idx[j]*ld + 0..n)   (sparse input x dense rows) */
    void (*sparse_rows_sum)(float *out, const float *W, int64_t ld, const int32_t *idx,
                            const float *val, int64_t nnz, int64_t n);
    /* Adam on one row: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr_t * m / (sqrt(v) + eps);
     * then g = 0. lr_t already includes bias correction. Same rounding on every path (no FMA). */
    void (*adam)(float *w, float *m, float *v, float *g, int64_t n, float lr_t, float b1,
                 float b2, float eps);
    /* adam with the moments stored as BF16: m, v widened (exact), updated in fp32 exactly as
     * adam (so w moves by the fp32 moments), then stored back with stochastic rounding: the
     * float's bits plus a uniform 16-bit r, truncated to the upper half (round up with
     * probability = the dropped fraction: unbiased, so v's small EMA steps (1 - b2 = 0.1 %, below
     * bf16's 0.4 % spacing) are not lost as round-to-nearest would lose them). r for element i
     * is the low (m) and high (v) half of slide_mix32(seed + i); NaN is truncated, never
     * rounded. Identical bits on every path; then g = 0. */
    void (*adam_bf16)(float *w, uint16_t *m, uint16_t *v, float *g, int64_t n, float lr_t,
                      float b1, float b2, float eps, uint32_t seed);
    /* adam_bf16 with the weights stored as BF16 too (--bf16-only: no fp32 master): w widened
     * (exact), moved by the fp32 moments as adam_bf16 moves it, and stored back with stochastic
     * rounding from the low 16 bits of slide_mix32(r), r = slide_mix32(seed + i) (the moments'
     * bits), so steps below bf16's spacing move w in expectation. m, v exactly as adam_bf16.
     * Identical bits on every path; then g = 0. */
    void (*adam_bf16w)(uint16_t *w, uint16_t *m, uint16_t *v, float *g, int64_t n, float lr_t,
                       float b1, float b2, float eps, uint32_t seed);
    /* x[i] = x[i] > 0 ? x[i] : 0 (so -0 and NaN give +0; identical on every path) */
    void (*relu)(float *x, int64_t n);
    /* max_i x[i]; -INFINITY when n == 0; NaNs are skipped. Same value on every path (a zero
     * maximum may come back as -0 on one path and +0 on another). */
    float (*max)(const float *x, int64_t n);
    /* dst[i] = bf16(src[i]), rounded to nearest, ties to even; +-inf stay inf, finite values
     * past the largest bf16 round to inf, NaN stays NaN (made quiet, sign kept), denormals are
     * rounded like any other value (no flush to zero). Identical bits on every path. */
    void (*to_bf16)(uint16_t *dst, const float *src, int64_t n);
    /* gather_dot with bf16 rows: out[j] = (bias ? bias[ids[j]] : 0) + sum_i
     * float(W[ids[j]*ld + i]) * x[i] for j < n_ids; ld in elements; fp32 accumulation. */
    void (*gather_dot_bf16)(float *out, const uint16_t *W, int64_t ld, const float *bias,
                            const uint32_t *ids, int64_t n_ids, const float *x, int64_t n);
    /* y[i] += alpha * float(x[i]) */
    void (*axpy_bf16)(float *y, float alpha, const uint16_t *x, int64_t n);
    /* y[i] += sum_j a[j] * W[ids[j]*ld + i] for i < n, rows in order j = 0..n_ids-1: the
     * transpose of gather_dot (a sampled layer's backward, dx = sum over its active rows),
     * with the rows prefetched ahead. Rounds as n_ids successive axpy calls on the same path. */
    void (*gather_axpy)(float *y, const float *W, int64_t ld, const uint32_t *ids,
                        const float *a, int64_t n_ids, int64_t n);
    /* gather_axpy over bf16 rows (as n_ids successive axpy_bf16 calls) */
    void (*gather_axpy_bf16)(float *y, const uint16_t *W, int64_t ld, const uint32_t *ids,
                             const float *a, int64_t n_ids, int64_t n);
    /* One row's share of a batch's backward (network.c's update): for e < ne and i < n,
     * g[i] = sum_e a[e] * X[slot[e]*ld + i] (from 0, in order e) and, when Y is not NULL,
     * Y[slot[e]*ld + i] += a[e] * r[i] (r: the row). Rounds exactly as g = 0 and then, for each
     * e in order, axpy(Y + slot[e]*ld, a[e], r, n) and axpy(g, a[e], X + slot[e]*ld, n) on the
     * same path. The slots must be distinct. */
    void (*sweep_grad)(float *g, float *Y, const float *X, int64_t ld, const float *r,
                       const uint32_t *slot, const float *a, int64_t ne, int64_t n);
    /* In place: x[i] = exp(x[i] - max) / sum_j exp(x[j] - max); n == 0 does nothing. Inputs
     * finite or -inf (which gives 0), at least one finite when n > 0. Scalar: libm expf, the
     * sum in double, a multiply by (float)(1.0 / sum). Fast paths use a polynomial exp
     * (Cephes-style, rel. error ~2e-7, exactly 0 for x[i] - max <= -87.3, where expf gives at
     * most 1.2e-38) and the same normalisation: |fast - scalar| <= 1e-6 * scalar + 1e-12 per
     * element, and 0 wherever scalar gives 0 (core/tests/test_kern.c checks both; the bound
     * is a few times the error of the polynomial plus the sum's, so a coarser range reduction
     * or a shorter polynomial breaks it; REPRODUCE.md has the measured errors). */
    void (*softmax)(float *x, int64_t n);
} slide_kern;

/* f rounded to BF16 bits stochastically with the 16 random bits r (NaN: truncated). */
static inline uint16_t slide_bf16_sr(float f, uint32_t r) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) return (uint16_t)(u >> 16);
    return (uint16_t)((u + (r & 0xffffu)) >> 16);
}

/* adam on one element (a row's bias), without a kernel call: the operations every path's
 * adam applies to each element (no FMA), so the same bits as adam(w, m, v, &g, 1, ...). */
static inline void slide_adam_one(float *w, float *m, float *v, float g, float lr_t, float b1,
                                  float b2, float eps) {
#ifndef __cplusplus /* C only: clang contracts to FMA without it (gcc's -std=c11 never does) */
#pragma STDC FP_CONTRACT OFF
#endif
    *m = b1 * *m + (1.0f - b1) * g;
    *v = b2 * *v + (1.0f - b2) * g * g;
    *w -= lr_t * *m / (sqrtf(*v) + eps);
}

/* dst[i] = the float of BF16 bits src[i] (exact), i < n. */
static inline void slide_bf16_widen(float *__restrict dst, const uint16_t *__restrict src,
                                    int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[i] << 16;
        memcpy(dst + i, &u, sizeof u);
    }
}

/* Best path this CPU and build support. */
int slide_simd_best(void);
/* Whether a path is compiled in and supported by this CPU. */
int slide_simd_available(int simd);
/* Why a path is not available ("CPU lacks avx512f", "not compiled in (...)"), or NULL when it
 * is. Static string; for messages such as "avx512: skipped: CPU lacks avx512f". */
const char *slide_simd_unavailable_reason(int simd);
const char *slide_simd_name(int simd);
/* Parses "scalar" | "avx2" | "avx512" | "auto" (NULL or "" = auto: the best this CPU runs).
 * Returns the path or -1 with err set (unknown name, or not available here). Reads no
 * environment variable: a driver that honours SLIDE_SIMD passes its value. */
int slide_simd_parse(const char *name, slide_err *err);
/* The same; messages say the name came from `from` (e.g. "SLIDE_SIMD", "--simd"). */
int slide_simd_parse_from(const char *name, const char *from, slide_err *err);
/* Kernel table of a path; NULL when the path is not available (check slide_simd_available or
 * use slide_simd_parse first). The table is static: never freed. */
const slide_kern *slide_kern_get(int simd);

#ifdef __cplusplus
}
#endif
#endif
