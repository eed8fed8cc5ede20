/* AVX2+FMA kernels (8 floats per vector): unaligned loads everywhere, masked loads/stores for
 * the last n % 8 elements, several accumulators so FMA latency is hidden. */
#include "kern_internal.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* Lanes [0, rem) set; rem <= 0 gives an empty mask, rem >= 8 a full one. */
static inline __m256i mask8(int64_t rem) {
    int r = rem < 0 ? 0 : rem > 8 ? 8 : (int)rem;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Prefetches the first SLIDE_KERN_PF_BYTES of a row of `bytes` bytes (and the line holding
 * its last byte there, since rows need not start on a cache line). */
static inline void prefetch_row(const void *row, int64_t bytes) {
    if (bytes > SLIDE_KERN_PF_BYTES) bytes = SLIDE_KERN_PF_BYTES;
    if (bytes <= 0) return;
    const char *p = (const char *)row;
    for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
    _mm_prefetch(p + bytes - 1, _MM_HINT_T0);
}

static float dot_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < n) {
        __m256i mk = mask8(n - i);
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mk), _mm256_maskload_ps(b + i, mk), s1);
    }
    return hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static void axpy_avx2(float *y, float alpha, const float *x, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 y0 = _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
        __m256 y1 = _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
        __m256 y2 = _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16));
        __m256 y3 = _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24));
        _mm256_storeu_ps(y + i, y0);
        _mm256_storeu_ps(y + i + 8, y1);
        _mm256_storeu_ps(y + i + 16, y2);
        _mm256_storeu_ps(y + i + 24, y3);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i mk = mask8(n - i);
        __m256 r =
            _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, mk), _mm256_maskload_ps(y + i, mk));
        _mm256_maskstore_ps(y + i, mk, r);
    }
}

/* Four dot products against the same x at once: x is loaded once for four rows, eight
 * independent accumulators, and one shared horizontal reduction. Returns {d0, d1, d2, d3}. */
static inline __m128 dot4_avx2(const float *r0, const float *r1, const float *r2,
                               const float *r3, const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i), x0, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i), x0, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i), x0, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i), x0, a3);
        b0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i + 8), x1, b0);
        b1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i + 8), x1, b1);
        b2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i + 8), x1, b2);
        b3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i + 8), x1, b3);
    }
    if (i + 8 <= n) {
        __m256 x0 = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i), x0, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i), x0, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i), x0, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i), x0, a3);
        i += 8;
    }
    if (i < n) {
        __m256i mk = mask8(n - i);
        __m256 x0 = _mm256_maskload_ps(x + i, mk);
        b0 = _mm256_fmadd_ps(_mm256_maskload_ps(r0 + i, mk), x0, b0);
        b1 = _mm256_fmadd_ps(_mm256_maskload_ps(r1 + i, mk), x0, b1);
        b2 = _mm256_fmadd_ps(_mm256_maskload_ps(r2 + i, mk), x0, b2);
        b3 = _mm256_fmadd_ps(_mm256_maskload_ps(r3 + i, mk), x0, b3);
    }
    a0 = _mm256_add_ps(a0, b0);
    a1 = _mm256_add_ps(a1, b1);
    a2 = _mm256_add_ps(a2, b2);
    a3 = _mm256_add_ps(a3, b3);
    /* per 128-bit half: hadd(hadd(a0,a1), hadd(a2,a3)) = {sum a0, sum a1, sum a2, sum a3} */
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static void gather_dot_avx2(float *out, const float *W, int64_t ld, const float *bias,
                            const uint32_t *ids, int64_t n_ids, const float *x, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(float);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        __m128 s = dot4_avx2(W + (int64_t)ids[j] * ld, W + (int64_t)ids[j + 1] * ld,
                             W + (int64_t)ids[j + 2] * ld, W + (int64_t)ids[j + 3] * ld, x, n);
        if (bias)
            s = _mm_add_ps(s, _mm_setr_ps(bias[ids[j]], bias[ids[j + 1]], bias[ids[j + 2]],
                                          bias[ids[j + 3]]));
        _mm_storeu_ps(out + j, s);
    }
    for (; j < n_ids; j++) {
        float s = dot_avx2(W + (int64_t)ids[j] * ld, x, n);
        out[j] = bias ? bias[ids[j]] + s : s;
    }
}

/* out[i0..i0+64) is kept in eight registers while every row adds its slice; the last
 * (partial) block uses masked loads, with lanes past n masked off entirely. */
static void sparse_rows_sum_avx2(float *out, const float *W, int64_t ld, const int32_t *idx,
                                 const float *val, int64_t nnz, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(float);
    for (int64_t i0 = 0; i0 < n; i0 += 64) {
        float *o = out + i0;
        if (i0 + 64 <= n) {
            __m256 c0 = _mm256_loadu_ps(o), c1 = _mm256_loadu_ps(o + 8);
            __m256 c2 = _mm256_loadu_ps(o + 16), c3 = _mm256_loadu_ps(o + 24);
            __m256 c4 = _mm256_loadu_ps(o + 32), c5 = _mm256_loadu_ps(o + 40);
            __m256 c6 = _mm256_loadu_ps(o + 48), c7 = _mm256_loadu_ps(o + 56);
            for (int64_t j = 0; j < nnz; j++) {
                if (i0 == 0 && j + SLIDE_KERN_PF_ROWS < nnz)
                    prefetch_row(W + (int64_t)idx[j + SLIDE_KERN_PF_ROWS] * ld, row_bytes);
                const float *r = W + (int64_t)idx[j] * ld + i0;
                __m256 vv = _mm256_set1_ps(val[j]);
                c0 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r), c0);
                c1 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 8), c1);
                c2 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 16), c2);
                c3 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 24), c3);
                c4 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 32), c4);
                c5 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 40), c5);
                c6 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 48), c6);
                c7 = _mm256_fmadd_ps(vv, _mm256_loadu_ps(r + 56), c7);
            }
            _mm256_storeu_ps(o, c0);
            _mm256_storeu_ps(o + 8, c1);
            _mm256_storeu_ps(o + 16, c2);
            _mm256_storeu_ps(o + 24, c3);
            _mm256_storeu_ps(o + 32, c4);
            _mm256_storeu_ps(o + 40, c5);
            _mm256_storeu_ps(o + 48, c6);
            _mm256_storeu_ps(o + 56, c7);
        } else {
            int64_t rem = n - i0;
            const __m256i m0 = mask8(rem), m1 = mask8(rem - 8), m2 = mask8(rem - 16);
            const __m256i m3 = mask8(rem - 24), m4 = mask8(rem - 32), m5 = mask8(rem - 40);
            const __m256i m6 = mask8(rem - 48), m7 = mask8(rem - 56);
            __m256 c0 = _mm256_maskload_ps(o, m0), c1 = _mm256_maskload_ps(o + 8, m1);
            __m256 c2 = _mm256_maskload_ps(o + 16, m2), c3 = _mm256_maskload_ps(o + 24, m3);
            __m256 c4 = _mm256_maskload_ps(o + 32, m4), c5 = _mm256_maskload_ps(o + 40, m5);
            __m256 c6 = _mm256_maskload_ps(o + 48, m6), c7 = _mm256_maskload_ps(o + 56, m7);
            for (int64_t j = 0; j < nnz; j++) {
                if (i0 == 0 && j + SLIDE_KERN_PF_ROWS < nnz)
                    prefetch_row(W + (int64_t)idx[j + SLIDE_KERN_PF_ROWS] * ld, row_bytes);
                const float *r = W + (int64_t)idx[j] * ld + i0;
                __m256 vv = _mm256_set1_ps(val[j]);
                c0 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r, m0), c0);
                c1 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 8, m1), c1);
                c2 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 16, m2), c2);
                c3 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 24, m3), c3);
                c4 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 32, m4), c4);
                c5 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 40, m5), c5);
                c6 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 48, m6), c6);
                c7 = _mm256_fmadd_ps(vv, _mm256_maskload_ps(r + 56, m7), c7);
            }
            _mm256_maskstore_ps(o, m0, c0);
            _mm256_maskstore_ps(o + 8, m1, c1);
            _mm256_maskstore_ps(o + 16, m2, c2);
            _mm256_maskstore_ps(o + 24, m3, c3);
            _mm256_maskstore_ps(o + 32, m4, c4);
            _mm256_maskstore_ps(o + 40, m5, c5);
            _mm256_maskstore_ps(o + 48, m6, c6);
            _mm256_maskstore_ps(o + 56, m7, c7);
        }
    }
}

/* Same operation order as the scalar reference and no FMA (mul, add, IEEE sqrt and div), so
 * the results match it bit for bit; the kernel is memory-bound anyway. */
static inline void adam8(float *w, float *m, float *v, float *g, __m256i mk, int masked,
                         __m256 b1, __m256 b2, __m256 c1, __m256 c2, __m256 lr, __m256 eps) {
    __m256 gg = masked ? _mm256_maskload_ps(g, mk) : _mm256_loadu_ps(g);
    __m256 mm = masked ? _mm256_maskload_ps(m, mk) : _mm256_loadu_ps(m);
    __m256 vv = masked ? _mm256_maskload_ps(v, mk) : _mm256_loadu_ps(v);
    __m256 ww = masked ? _mm256_maskload_ps(w, mk) : _mm256_loadu_ps(w);
    mm = _mm256_add_ps(_mm256_mul_ps(b1, mm), _mm256_mul_ps(c1, gg));
    vv = _mm256_add_ps(_mm256_mul_ps(b2, vv), _mm256_mul_ps(_mm256_mul_ps(c2, gg), gg));
    ww = _mm256_sub_ps(ww, _mm256_div_ps(_mm256_mul_ps(lr, mm),
                                         _mm256_add_ps(_mm256_sqrt_ps(vv), eps)));
    if (masked) {
        _mm256_maskstore_ps(m, mk, mm);
        _mm256_maskstore_ps(v, mk, vv);
        _mm256_maskstore_ps(w, mk, ww);
        _mm256_maskstore_ps(g, mk, _mm256_setzero_ps());
    } else {
        _mm256_storeu_ps(m, mm);
        _mm256_storeu_ps(v, vv);
        _mm256_storeu_ps(w, ww);
        _mm256_storeu_ps(g, _mm256_setzero_ps());
    }
}

static void adam_avx2(float *w, float *m, float *v, float *g, int64_t n, float lr_t, float b1,
                      float b2, float eps) {
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - b1), c2 = _mm256_set1_ps(1.0f - b2);
    const __m256 vlr = _mm256_set1_ps(lr_t), veps = _mm256_set1_ps(eps);
    const __m256i full = _mm256_set1_epi32(-1);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        adam8(w + i, m + i, v + i, g + i, full, 0, vb1, vb2, c1, c2, vlr, veps);
    if (i < n) adam8(w + i, m + i, v + i, g + i, mask8(n - i), 1, vb1, vb2, c1, c2, vlr, veps);
}

/* maxps(x, 0) returns its second operand unless x > 0: the scalar x > 0 ? x : 0 exactly. */
static void relu_avx2(float *x, int64_t n) {
    const __m256 z = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = _mm256_max_ps(_mm256_loadu_ps(x + i), z);
        __m256 b = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), z);
        __m256 c = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), z);
        __m256 d = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), z);
        _mm256_storeu_ps(x + i, a);
        _mm256_storeu_ps(x + i + 8, b);
        _mm256_storeu_ps(x + i + 16, c);
        _mm256_storeu_ps(x + i + 24, d);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_max_ps(_mm256_loadu_ps(x + i), z));
    if (i < n) {
        __m256i mk = mask8(n - i);
        _mm256_maskstore_ps(x + i, mk, _mm256_max_ps(_mm256_maskload_ps(x + i, mk), z));
    }
}

static float max_avx2(const float *x, int64_t n) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
        m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
        m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    if (i < n) {
        __m256i mk = mask8(n - i);
        /* masked-off lanes read as 0, which could exceed every element: make them -inf */
        __m256 t = _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, mk), _mm256_castsi256_ps(mk));
        m1 = _mm256_max_ps(t, m1);
    }
    return hmax8(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
}

/* ---------------------------------------------------------------- softmax */
/* exp(x) for x <= 0, Cephes-style (as fast_expf in bench/baseline/dense.c): x = n ln2 + r with
 * n = round(x log2e) and a two-step Cody-Waite ln2 (C1 has few bits, so n C1 is exact),
 * exp(r) by a degree-5 polynomial on |r| <= ln2/2, 2^n put into the exponent field. Rel. error
 * ~2e-7. Lanes with x <= -87.3 (and -inf) give exactly 0: clamped there the result would be
 * about 1e-38, while expf only reaches 0 below -103.9; 0 keeps -inf inputs at 0. */
static inline __m256 exp8_nonpos(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LE_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    /* n in [-126, 0]: a normal power of two */
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                                  23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

/* acc += the 8 lanes of v, widened to double (two 4-lane accumulators). */
static inline void acc8_pd(__m256d *a0, __m256d *a1, __m256 v) {
    *a0 = _mm256_add_pd(*a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *a1 = _mm256_add_pd(*a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* Three passes: max, exp in place with the sum, scale. Each 32-element block is summed in
 * float (four terms per lane) and then added in double, so the sum stays as good as scalar's. */
static void softmax_avx2(float *x, int64_t n) {
    if (n <= 0) return;
    const __m256 mx = _mm256_set1_ps(max_avx2(x, n));
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 e0 = exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
        __m256 e1 = exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mx));
        __m256 e2 = exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), mx));
        __m256 e3 = exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), mx));
        _mm256_storeu_ps(x + i, e0);
        _mm256_storeu_ps(x + i + 8, e1);
        _mm256_storeu_ps(x + i + 16, e2);
        _mm256_storeu_ps(x + i + 24, e3);
        acc8_pd(&s0, &s1, _mm256_add_ps(_mm256_add_ps(e0, e1), _mm256_add_ps(e2, e3)));
    }
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
        _mm256_storeu_ps(x + i, e);
        acc8_pd(&s0, &s1, e);
    }
    if (i < n) {
        __m256i mk = mask8(n - i);
        /* masked-off lanes read as 0 and would add exp(-max): zero them */
        __m256 e = _mm256_and_ps(exp8_nonpos(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), mx)),
                                 _mm256_castsi256_ps(mk));
        _mm256_maskstore_ps(x + i, mk, e);
        acc8_pd(&s0, &s1, e);
    }
    __m256d s = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    h = _mm_add_sd(h, _mm_unpackhi_pd(h, h));
    const __m256 inv = _mm256_set1_ps((float)(1.0 / _mm_cvtsd_f64(h)));
    i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
        __m256 b = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8), inv);
        __m256 c = _mm256_mul_ps(_mm256_loadu_ps(x + i + 16), inv);
        __m256 d = _mm256_mul_ps(_mm256_loadu_ps(x + i + 24), inv);
        _mm256_storeu_ps(x + i, a);
        _mm256_storeu_ps(x + i + 8, b);
        _mm256_storeu_ps(x + i + 16, c);
        _mm256_storeu_ps(x + i + 24, d);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    if (i < n) {
        __m256i mk = mask8(n - i);
        _mm256_maskstore_ps(x + i, mk, _mm256_mul_ps(_mm256_maskload_ps(x + i, mk), inv));
    }
}

/* ---------------------------------------------------------------- bf16 storage */
/* 8 bf16 -> 8 floats, exact: zero-extend each to 32 bits and shift it into the upper half. */
static inline __m256 bf16x8_to_ps(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline __m256 load_bf16x8(const uint16_t *p) {
    return bf16x8_to_ps(_mm_loadu_si128((const __m128i *)p));
}

/* The first rem (0 < rem < 8) elements, the rest +0. AVX2 has no 16-bit masked load, so the
 * tail goes through a zeroed copy: nothing past p + rem is read. */
static inline __m256 load_bf16x8_part(const uint16_t *p, int64_t rem) {
    uint16_t t[8] = {0};
    memcpy(t, p, (size_t)rem * sizeof *t);
    return load_bf16x8(t);
}

/* bf16 bits of 8 floats, in the low half of each 32-bit lane: the scalar rule (round to
 * nearest even by adding 0x7fff + lowest kept bit; NaN -> its upper half with the quiet bit). */
static inline __m256i bf16_round8(__m256 f) {
    const __m256i u = _mm256_castps_si256(f);
    const __m256i hi = _mm256_srli_epi32(u, 16);
    __m256i r = _mm256_add_epi32(u, _mm256_set1_epi32(0x7fff));
    r = _mm256_srli_epi32(_mm256_add_epi32(r, _mm256_and_si256(hi, _mm256_set1_epi32(1))), 16);
    /* |u| as a signed int is >= 0, so the signed compare is the unsigned one */
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                     _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
}

/* Lanes hold values <= 0xffff, so the saturating pack is exact; packus works per 128-bit
 * half ({a0-3, b0-3 | a4-7, b4-7}), the qword permute puts a before b. */
static void to_bf16_avx2(uint16_t *dst, const float *src, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = bf16_round8(_mm256_loadu_ps(src + i));
        __m256i b = bf16_round8(_mm256_loadu_ps(src + i + 8));
        __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
        _mm256_storeu_si256((__m256i *)(dst + i), h);
    }
    /* no 16-bit masked store either: the last < 16 go through a copy */
    for (; i < n; i += 8) {
        int64_t rem = n - i < 8 ? n - i : 8;
        __m256i a = bf16_round8(_mm256_maskload_ps(src + i, mask8(rem)));
        __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, a), 0x08);
        uint16_t t[8];
        _mm_storeu_si128((__m128i *)t, _mm256_castsi256_si128(h));
        memcpy(dst + i, t, (size_t)rem * sizeof *t);
    }
}

/* slide_mix32 on 8 lanes */
static inline __m256i mix32x8(__m256i x) {
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)0x85ebca6bU));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 13));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)0xc2b2ae35U));
    return _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
}

/* slide_bf16_sr on 8 lanes: r holds the random bits in its low 16 bits (upper bits clear). */
static inline __m256i bf16_sr8(__m256 f, __m256i r) {
    const __m256i u = _mm256_castps_si256(f), e = _mm256_set1_epi32(0x7f800000);
    __m256i special = _mm256_cmpeq_epi32(_mm256_and_si256(u, e), e);
    r = _mm256_andnot_si256(special, r);
    return _mm256_srli_epi32(_mm256_add_epi32(u, r), 16);
}

/* The lanes' upper halves are zero: pack 2 x 8 into 16 uint16 in order. */
static inline void store_bf16x8(uint16_t *p, __m256i a) {
    __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, a), 0x08);
    _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(h));
}

/* adam_bf16 (wh NULL: fp32 weights wf) and adam_bf16w (wf NULL: bf16 weights wh), one body
 * specialised by inlining: the same operations as the scalar reference, no FMA, so w, m and v
 * are bit-identical to it. */
static inline __attribute__((always_inline)) void
adam_bf16_body(float *wf, uint16_t *wh, uint16_t *m, uint16_t *v, float *g, int64_t n,
               float lr_t, float b1, float b2, float eps, uint32_t seed) {
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - b1), c2 = _mm256_set1_ps(1.0f - b2);
    const __m256 vlr = _mm256_set1_ps(lr_t), veps = _mm256_set1_ps(eps);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lo = _mm256_set1_epi32(0xffff);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gg = _mm256_loadu_ps(g + i), ww = wh ? load_bf16x8(wh + i) : _mm256_loadu_ps(wf + i);
        __m256 mm = load_bf16x8(m + i), vv = load_bf16x8(v + i);
        mm = _mm256_add_ps(_mm256_mul_ps(vb1, mm), _mm256_mul_ps(c1, gg));
        vv = _mm256_add_ps(_mm256_mul_ps(vb2, vv), _mm256_mul_ps(_mm256_mul_ps(c2, gg), gg));
        ww = _mm256_sub_ps(ww, _mm256_div_ps(_mm256_mul_ps(vlr, mm),
                                             _mm256_add_ps(_mm256_sqrt_ps(vv), veps)));
        __m256i r = mix32x8(_mm256_add_epi32(_mm256_set1_epi32((int)(seed + (uint32_t)i)), lane));
        store_bf16x8(m + i, bf16_sr8(mm, _mm256_and_si256(r, lo)));
        store_bf16x8(v + i, bf16_sr8(vv, _mm256_srli_epi32(r, 16)));
        if (wh) store_bf16x8(wh + i, bf16_sr8(ww, _mm256_and_si256(mix32x8(r), lo)));
        else _mm256_storeu_ps(wf + i, ww);
        _mm256_storeu_ps(g + i, _mm256_setzero_ps());
    }
    for (; i < n; i++) {
        if (wh) slide_adam_bf16w_one(wh, m, v, g, i, lr_t, b1, b2, eps, seed);
        else slide_adam_bf16_one(wf, m, v, g, i, lr_t, b1, b2, eps, seed);
    }
}

static void adam_bf16_avx2(float *w, uint16_t *m, uint16_t *v, float *g, int64_t n, float lr_t,
                           float b1, float b2, float eps, uint32_t seed) {
    adam_bf16_body(w, NULL, m, v, g, n, lr_t, b1, b2, eps, seed);
}

static void adam_bf16w_avx2(uint16_t *w, uint16_t *m, uint16_t *v, float *g, int64_t n,
                            float lr_t, float b1, float b2, float eps, uint32_t seed) {
    adam_bf16_body(NULL, w, m, v, g, n, lr_t, b1, b2, eps, seed);
}

static float dot_bf16_avx2(const uint16_t *w, const float *x, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(load_bf16x8(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_bf16x8(w + i + 16), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_bf16x8(w + i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), s0);
    if (i < n)
        s1 = _mm256_fmadd_ps(load_bf16x8_part(w + i, n - i),
                             _mm256_maskload_ps(x + i, mask8(n - i)), s1);
    return hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* dot4_avx2 with bf16 rows: x loaded once per four rows, eight accumulators. */
static inline __m128 dot4_bf16_avx2(const uint16_t *r0, const uint16_t *r1, const uint16_t *r2,
                                    const uint16_t *r3, const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_fmadd_ps(load_bf16x8(r0 + i), x0, a0);
        a1 = _mm256_fmadd_ps(load_bf16x8(r1 + i), x0, a1);
        a2 = _mm256_fmadd_ps(load_bf16x8(r2 + i), x0, a2);
        a3 = _mm256_fmadd_ps(load_bf16x8(r3 + i), x0, a3);
        b0 = _mm256_fmadd_ps(load_bf16x8(r0 + i + 8), x1, b0);
        b1 = _mm256_fmadd_ps(load_bf16x8(r1 + i + 8), x1, b1);
        b2 = _mm256_fmadd_ps(load_bf16x8(r2 + i + 8), x1, b2);
        b3 = _mm256_fmadd_ps(load_bf16x8(r3 + i + 8), x1, b3);
    }
    if (i + 8 <= n) {
        __m256 x0 = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(load_bf16x8(r0 + i), x0, a0);
        a1 = _mm256_fmadd_ps(load_bf16x8(r1 + i), x0, a1);
        a2 = _mm256_fmadd_ps(load_bf16x8(r2 + i), x0, a2);
        a3 = _mm256_fmadd_ps(load_bf16x8(r3 + i), x0, a3);
        i += 8;
    }
    if (i < n) {
        int64_t rem = n - i;
        __m256 x0 = _mm256_maskload_ps(x + i, mask8(rem));
        b0 = _mm256_fmadd_ps(load_bf16x8_part(r0 + i, rem), x0, b0);
        b1 = _mm256_fmadd_ps(load_bf16x8_part(r1 + i, rem), x0, b1);
        b2 = _mm256_fmadd_ps(load_bf16x8_part(r2 + i, rem), x0, b2);
        b3 = _mm256_fmadd_ps(load_bf16x8_part(r3 + i, rem), x0, b3);
    }
    a0 = _mm256_add_ps(a0, b0);
    a1 = _mm256_add_ps(a1, b1);
    a2 = _mm256_add_ps(a2, b2);
    a3 = _mm256_add_ps(a3, b3);
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static void gather_dot_bf16_avx2(float *out, const uint16_t *W, int64_t ld, const float *bias,
                                 const uint32_t *ids, int64_t n_ids, const float *x, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(uint16_t);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        __m128 s = dot4_bf16_avx2(W + (int64_t)ids[j] * ld, W + (int64_t)ids[j + 1] * ld,
                                  W + (int64_t)ids[j + 2] * ld, W + (int64_t)ids[j + 3] * ld, x,
                                  n);
        if (bias)
            s = _mm_add_ps(s, _mm_setr_ps(bias[ids[j]], bias[ids[j + 1]], bias[ids[j + 2]],
                                          bias[ids[j + 3]]));
        _mm_storeu_ps(out + j, s);
    }
    for (; j < n_ids; j++) {
        float s = dot_bf16_avx2(W + (int64_t)ids[j] * ld, x, n);
        out[j] = bias ? bias[ids[j]] + s : s;
    }
}

static void axpy_bf16_avx2(float *y, float alpha, const uint16_t *x, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 y0 = _mm256_fmadd_ps(va, load_bf16x8(x + i), _mm256_loadu_ps(y + i));
        __m256 y1 = _mm256_fmadd_ps(va, load_bf16x8(x + i + 8), _mm256_loadu_ps(y + i + 8));
        __m256 y2 = _mm256_fmadd_ps(va, load_bf16x8(x + i + 16), _mm256_loadu_ps(y + i + 16));
        __m256 y3 = _mm256_fmadd_ps(va, load_bf16x8(x + i + 24), _mm256_loadu_ps(y + i + 24));
        _mm256_storeu_ps(y + i, y0);
        _mm256_storeu_ps(y + i + 8, y1);
        _mm256_storeu_ps(y + i + 16, y2);
        _mm256_storeu_ps(y + i + 24, y3);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_bf16x8(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i mk = mask8(n - i);
        __m256 r = _mm256_fmadd_ps(va, load_bf16x8_part(x + i, n - i),
                                   _mm256_maskload_ps(y + i, mk));
        _mm256_maskstore_ps(y + i, mk, r);
    }
}

/* Four rows at a time: each 8-float slice of y is loaded and stored once per four rows, the
 * rows' FMAs applied in row order (so the rounding is that of successive axpy_avx2 calls);
 * the rows SLIDE_KERN_PF_ROWS ahead are prefetched. */
static void gather_axpy_avx2(float *y, const float *W, int64_t ld, const uint32_t *ids,
                             const float *a, int64_t n_ids, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(float);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        const float *r0 = W + (int64_t)ids[j] * ld, *r1 = W + (int64_t)ids[j + 1] * ld;
        const float *r2 = W + (int64_t)ids[j + 2] * ld, *r3 = W + (int64_t)ids[j + 3] * ld;
        const __m256 a0 = _mm256_set1_ps(a[j]), a1 = _mm256_set1_ps(a[j + 1]);
        const __m256 a2 = _mm256_set1_ps(a[j + 2]), a3 = _mm256_set1_ps(a[j + 3]);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 t = _mm256_fmadd_ps(a0, _mm256_loadu_ps(r0 + i), _mm256_loadu_ps(y + i));
            t = _mm256_fmadd_ps(a1, _mm256_loadu_ps(r1 + i), t);
            t = _mm256_fmadd_ps(a2, _mm256_loadu_ps(r2 + i), t);
            t = _mm256_fmadd_ps(a3, _mm256_loadu_ps(r3 + i), t);
            _mm256_storeu_ps(y + i, t);
        }
        if (i < n) {
            const __m256i mk = mask8(n - i);
            __m256 t = _mm256_fmadd_ps(a0, _mm256_maskload_ps(r0 + i, mk),
                                       _mm256_maskload_ps(y + i, mk));
            t = _mm256_fmadd_ps(a1, _mm256_maskload_ps(r1 + i, mk), t);
            t = _mm256_fmadd_ps(a2, _mm256_maskload_ps(r2 + i, mk), t);
            t = _mm256_fmadd_ps(a3, _mm256_maskload_ps(r3 + i, mk), t);
            _mm256_maskstore_ps(y + i, mk, t);
        }
    }
    for (; j < n_ids; j++) axpy_avx2(y, a[j], W + (int64_t)ids[j] * ld, n);
}

static void gather_axpy_bf16_avx2(float *y, const uint16_t *W, int64_t ld, const uint32_t *ids,
                                  const float *a, int64_t n_ids, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(uint16_t);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        const uint16_t *r0 = W + (int64_t)ids[j] * ld, *r1 = W + (int64_t)ids[j + 1] * ld;
        const uint16_t *r2 = W + (int64_t)ids[j + 2] * ld, *r3 = W + (int64_t)ids[j + 3] * ld;
        const __m256 a0 = _mm256_set1_ps(a[j]), a1 = _mm256_set1_ps(a[j + 1]);
        const __m256 a2 = _mm256_set1_ps(a[j + 2]), a3 = _mm256_set1_ps(a[j + 3]);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 t = _mm256_fmadd_ps(a0, load_bf16x8(r0 + i), _mm256_loadu_ps(y + i));
            t = _mm256_fmadd_ps(a1, load_bf16x8(r1 + i), t);
            t = _mm256_fmadd_ps(a2, load_bf16x8(r2 + i), t);
            t = _mm256_fmadd_ps(a3, load_bf16x8(r3 + i), t);
            _mm256_storeu_ps(y + i, t);
        }
        if (i < n) {
            const __m256i mk = mask8(n - i);
            __m256 t = _mm256_fmadd_ps(a0, load_bf16x8_part(r0 + i, n - i),
                                       _mm256_maskload_ps(y + i, mk));
            t = _mm256_fmadd_ps(a1, load_bf16x8_part(r1 + i, n - i), t);
            t = _mm256_fmadd_ps(a2, load_bf16x8_part(r2 + i, n - i), t);
            t = _mm256_fmadd_ps(a3, load_bf16x8_part(r3 + i, n - i), t);
            _mm256_maskstore_ps(y + i, mk, t);
        }
    }
    for (; j < n_ids; j++) axpy_bf16_avx2(y, a[j], W + (int64_t)ids[j] * ld, n);
}

/* Eight columns at a time: the row's slice loaded once, g's slice kept in a register over the
 * entries (each FMA as axpy_avx2's, in entry order). */
static void sweep_grad_avx2(float *g, float *Y, const float *X, int64_t ld, const float *r,
                            const uint32_t *slot, const float *a, int64_t ne, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gg = _mm256_setzero_ps();
        const __m256 rr = Y ? _mm256_loadu_ps(r + i) : gg;
        for (int64_t e = 0; e < ne; e++) {
            const __m256 va = _mm256_set1_ps(a[e]);
            const int64_t o = (int64_t)slot[e] * ld + i;
            if (Y) _mm256_storeu_ps(Y + o, _mm256_fmadd_ps(va, rr, _mm256_loadu_ps(Y + o)));
            gg = _mm256_fmadd_ps(va, _mm256_loadu_ps(X + o), gg);
        }
        _mm256_storeu_ps(g + i, gg);
    }
    if (i < n) {
        const __m256i mk = mask8(n - i);
        __m256 gg = _mm256_setzero_ps();
        const __m256 rr = Y ? _mm256_maskload_ps(r + i, mk) : gg;
        for (int64_t e = 0; e < ne; e++) {
            const __m256 va = _mm256_set1_ps(a[e]);
            const int64_t o = (int64_t)slot[e] * ld + i;
            if (Y)
                _mm256_maskstore_ps(Y + o, mk,
                                    _mm256_fmadd_ps(va, rr, _mm256_maskload_ps(Y + o, mk)));
            gg = _mm256_fmadd_ps(va, _mm256_maskload_ps(X + o, mk), gg);
        }
        _mm256_maskstore_ps(g + i, mk, gg);
    }
}

const slide_kern slide_kern_avx2 = {
    .name = "avx2",
    .simd = SLIDE_SIMD_AVX2,
    .dot = dot_avx2,
    .axpy = axpy_avx2,
    .gather_dot = gather_dot_avx2,
    .sparse_rows_sum = sparse_rows_sum_avx2,
    .adam = adam_avx2,
    .adam_bf16 = adam_bf16_avx2,
    .adam_bf16w = adam_bf16w_avx2,
    .relu = relu_avx2,
    .max = max_avx2,
    .to_bf16 = to_bf16_avx2,
    .gather_dot_bf16 = gather_dot_bf16_avx2,
    .axpy_bf16 = axpy_bf16_avx2,
    .gather_axpy = gather_axpy_avx2,
    .gather_axpy_bf16 = gather_axpy_bf16_avx2,
    .sweep_grad = sweep_grad_avx2,
    .softmax = softmax_avx2,
};
