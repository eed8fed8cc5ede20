/* Scalar reference kernels: plain loops, obviously right, built with auto-vectorisation off.
 * Every SIMD path is tested against these; they are also the fallback on any x86-64. */
#include "kern_internal.h"

#include <math.h>
#include <string.h>

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

/* Round to nearest even on the bit pattern: adding 0x7fff plus the lowest kept bit carries
 * into the kept half exactly when the dropped half is above the halfway point, or at it with
 * an odd kept half. A carry out of the mantissa bumps the exponent, which is right (up to inf
 * past the largest bf16). NaN is tested first: rounding could carry its payload into the
 * sign, or round a payload held only in the low bits to inf; setting the quiet bit keeps it
 * a NaN. */
static inline uint16_t bf16_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Exact: bf16 is the upper half of a float. */
static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void to_bf16_scalar(uint16_t *dst, const float *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = bf16_from_f32(src[i]);
}

static void adam_bf16_scalar(float *w, uint16_t *m, uint16_t *v, float *g, int64_t n,
                             float lr_t, float b1, float b2, float eps, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) slide_adam_bf16_one(w, m, v, g, i, lr_t, b1, b2, eps, seed);
}

static void adam_bf16w_scalar(uint16_t *w, uint16_t *m, uint16_t *v, float *g, int64_t n,
                              float lr_t, float b1, float b2, float eps, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) slide_adam_bf16w_one(w, m, v, g, i, lr_t, b1, b2, eps, seed);
}

static void gather_dot_bf16_scalar(float *out, const uint16_t *W, int64_t ld, const float *bias,
                                   const uint32_t *ids, int64_t n_ids, const float *x,
                                   int64_t n) {
    for (int64_t j = 0; j < n_ids; j++) {
        const uint16_t *row = W + (int64_t)ids[j] * ld;
        float s = 0.0f;
        for (int64_t i = 0; i < n; i++) s += bf16_to_f32(row[i]) * x[i];
        out[j] = bias ? bias[ids[j]] + s : s;
    }
}

static void axpy_bf16_scalar(float *y, float alpha, const uint16_t *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += alpha * bf16_to_f32(x[i]);
}

static void gather_axpy_scalar(float *y, const float *W, int64_t ld, const uint32_t *ids,
                               const float *a, int64_t n_ids, int64_t n) {
    for (int64_t j = 0; j < n_ids; j++) axpy_scalar(y, a[j], W + (int64_t)ids[j] * ld, n);
}

static void gather_axpy_bf16_scalar(float *y, const uint16_t *W, int64_t ld, const uint32_t *ids,
                                    const float *a, int64_t n_ids, int64_t n) {
    for (int64_t j = 0; j < n_ids; j++) axpy_bf16_scalar(y, a[j], W + (int64_t)ids[j] * ld, n);
}

static void sweep_grad_scalar(float *g, float *Y, const float *X, int64_t ld, const float *r,
                              const uint32_t *slot, const float *a, int64_t ne, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = 0.0f;
    for (int64_t e = 0; e < ne; e++) {
        const int64_t o = (int64_t)slot[e] * ld;
        if (Y) axpy_scalar(Y + o, a[e], r, n);
        axpy_scalar(g, a[e], X + o, n);
    }
}

/* exp(x - max) with libm expf, the sum in double, one multiply by the rounded reciprocal: the
 * softmax SLIDE's output layer has always used. */
static void softmax_scalar(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = max_scalar(x, n);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        s += x[i];
    }
    float inv = (float)(1.0 / s);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

const slide_kern slide_kern_scalar = {
    .name = "scalar",
    .simd = SLIDE_SIMD_SCALAR,
    .dot = dot_scalar,
    .axpy = axpy_scalar,
    .gather_dot = gather_dot_scalar,
    .sparse_rows_sum = sparse_rows_sum_scalar,
    .adam = adam_scalar,
    .adam_bf16 = adam_bf16_scalar,
    .adam_bf16w = adam_bf16w_scalar,
    .relu = relu_scalar,
    .max = max_scalar,
    .to_bf16 = to_bf16_scalar,
    .gather_dot_bf16 = gather_dot_bf16_scalar,
    .axpy_bf16 = axpy_bf16_scalar,
    .gather_axpy = gather_axpy_scalar,
    .gather_axpy_bf16 = gather_axpy_bf16_scalar,
    .sweep_grad = sweep_grad_scalar,
    .softmax = softmax_scalar,
};
