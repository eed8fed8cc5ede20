/* Scalar reference kernels: plain loops, obviously right, built with auto-vectorisation off.
 * Every SIMD path is tested against these; they are also the fallback on any x86-64. */
#include "kern_internal.h"

#include <math.h>

static float dot_scalar(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_scalar(float *y, float alpha, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

static void gather_dot_scalar(float *out, const float *W, int64_t ld, const float *bias,
                              const uint32_t *ids, int64_t n_ids, const float *x, int64_t n) {
    for (int64_t j = 0; j < n_ids; j++) {
        const float *row = W + (int64_t)ids[j] * ld;
        float s = dot_scalar(row, x, n);
        out[j] = bias ? bias[ids[j]] + s : s;
    }
}

static void sparse_rows_sum_scalar(float *out, const float *W, int64_t ld, const int32_t *idx,
                                   const float *val, int64_t nnz, int64_t n) {
    for (int64_t j = 0; j < nnz; j++) {
        const float *row = W + (int64_t)idx[j] * ld;
        for (int64_t i = 0; i < n; i++) out[i] += val[j] * row[i];
    }
}

static void adam_scalar(float *w, float *m, float *v, float *g, int64_t n, float lr_t, float b1,
                        float b2, float eps) {
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
        g[i] = 0.0f;
    }
}

/* x > 0 ? x : 0, so -0 and NaN become +0 -- the same as (v)maxps(x, 0) in the SIMD paths. */
static void relu_scalar(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* -inf for n == 0. */
static float max_scalar(const float *x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

const slide_kern slide_kern_scalar = {
    .name = "scalar",
    .simd = SLIDE_SIMD_SCALAR,
    .dot = dot_scalar,
    .axpy = axpy_scalar,
    .gather_dot = gather_dot_scalar,
    .sparse_rows_sum = sparse_rows_sum_scalar,
    .adam = adam_scalar,
    .relu = relu_scalar,
    .max = max_scalar,
};
