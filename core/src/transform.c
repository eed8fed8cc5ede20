/* Vector transforms applied before hashing (slide/transform.h): the random rotation that WTA/DWTA
 * hash through with rotate = 1, and the asymmetric MIPS transform of sampled layers. */
#include "slide/transform.h"
#include "slide/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ rotation */

int slide_rotation_init(slide_rotation *r, int64_t dim, uint64_t seed, slide_err *err) {
    int64_t n = 1; /* the next power of two >= dim */
    while (n < dim) n <<= 1;
    r->dim = dim;
    r->rdim = n;
    r->sign = malloc((size_t)(3 * n) * sizeof *r->sign);
    if (!r->sign) return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory");
    slide_rng rng;
    slide_rng_seed(&rng, seed, 0x2070A7E5ULL);
    const float scale = (float)pow((double)n, -0.5), last = scale * scale * scale;
    for (int64_t i = 0; i < 3 * n; i++)
        r->sign[i] = (slide_rng_next(&rng) >> 63 ? 1.0f : -1.0f) * (i >= 2 * n ? last : 1.0f);
    return SLIDE_OK;
}

void slide_rotation_free(slide_rotation *r) {
    free(r->sign);
    r->sign = NULL;
}

/* Per round: random signs, then an in-place Walsh-Hadamard butterfly. */
void slide_rotation_apply(const slide_rotation *r, const float *x, float *y) {
    const int64_t n = r->rdim, d = r->dim;
    for (int64_t i = 0; i < d; i++) y[i] = x[i];
    for (int64_t i = d; i < n; i++) y[i] = 0.0f;
    for (int round = 0; round < 3; round++) {
        const float *sg = r->sign + (int64_t)round * n;
        for (int64_t i = 0; i < n; i++) y[i] *= sg[i];
        for (int64_t len = 1; len < n; len <<= 1)
            for (int64_t i = 0; i < n; i += len << 1)
                for (int64_t j = i; j < i + len; j++) {
                    const float a = y[j], b = y[j + len];
                    y[j] = a + b;
                    y[j + len] = a - b;
                }
    }
}

void slide_rotation_apply_sparse(const slide_rotation *r, const int32_t *idx, const float *val,
                                 int nnz, float *y) {
    float x[r->dim];
    memset(x, 0, sizeof x);
    for (int i = 0; i < nnz; i++)
        if (idx[i] >= 0 && idx[i] < r->dim) x[idx[i]] = val[i];
    slide_rotation_apply(r, x, y);
}

/* ------------------------------------------------------------------ MIPS */

double slide_mips_sqnorm(const float *w, float b, int64_t d) {
    double s = (double)b * b;
    for (int64_t j = 0; j < d; j++) s += (double)w[j] * w[j];
    return s;
}

float slide_mips_scale(double max_sqnorm) {
    return max_sqnorm > 0 ? (float)sqrt(max_sqnorm) : 1.0f;
}

void slide_mips_row(const float *w, float b, int64_t d, float scale, float *out) {
    const float inv = 1.0f / scale;
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        out[j] = w[j] * inv;
        s += (double)out[j] * out[j];
    }
    out[d] = b * inv;
    s += (double)out[d] * out[d];
    out[d + 1] = s < 1.0 ? (float)sqrt(1.0 - s) : 0.0f;
}

void slide_mips_query(const float *x, int64_t d, float *out) {
    double s = 1.0;
    for (int64_t j = 0; j < d; j++) s += (double)x[j] * x[j];
    const float inv = (float)(1.0 / sqrt(s));
    for (int64_t j = 0; j < d; j++) out[j] = x[j] * inv;
    out[d] = inv;
    out[d + 1] = 0.0f;
}
