/* AVX-512 kernels (16 floats per zmm): unaligned loads, __mmask16 masked loads/stores for the
 * last n % 16 elements (masked-off lanes are never touched, so no read past the end). */
#include "kern_internal.h"

#include <immintrin.h>
#include <math.h>

/* Lanes [0, rem) set; rem <= 0 gives an empty mask, rem >= 16 a full one. */
static inline __mmask16 mask16(int64_t rem) {
    if (rem <= 0) return (__mmask16)0;
    if (rem >= 16) return (__mmask16)0xFFFF;
    return (__mmask16)((1u << rem) - 1u);
}

/* The first SLIDE_KERN_PF_BYTES of a row of `bytes` bytes, and the line of its last byte. */
static inline void prefetch_row(const void *row, int64_t bytes) {
    if (bytes > SLIDE_KERN_PF_BYTES) bytes = SLIDE_KERN_PF_BYTES;
    if (bytes <= 0) return;
    const char *p = (const char *)row;
    for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
    _mm_prefetch(p + bytes - 1, _MM_HINT_T0);
}

static float dot_avx512(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 mk = mask16(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), _mm512_maskz_loadu_ps(mk, b + i),
                             s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static void axpy_avx512(float *y, float alpha, const float *x, int64_t n) {
    const __m512 va = _mm512_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 y0 = _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i));
        __m512 y1 = _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16));
        __m512 y2 = _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32));
        __m512 y3 = _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48));
        _mm512_storeu_ps(y + i, y0);
        _mm512_storeu_ps(y + i + 16, y1);
        _mm512_storeu_ps(y + i + 32, y2);
        _mm512_storeu_ps(y + i + 48, y3);
    }
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i,
                         _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 mk = mask16(n - i);
        __m512 r = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(mk, x + i),
                                   _mm512_maskz_loadu_ps(mk, y + i));
        _mm512_mask_storeu_ps(y + i, mk, r);
    }
}

/* Sum of each of four zmm vectors, as {s0, s1, s2, s3}: fold to 256 bits, then the AVX
 * two-level hadd shared by the four. */
static inline __m128 hsum4x16(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
#define FOLD(a) _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps((a), 1))
    __m256 h =
        _mm256_hadd_ps(_mm256_hadd_ps(FOLD(a0), FOLD(a1)), _mm256_hadd_ps(FOLD(a2), FOLD(a3)));
#undef FOLD
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* Four dot products against the same x: x loaded once per four rows, eight accumulators. */
static inline __m128 dot4_avx512(const float *r0, const float *r1, const float *r2,
                                 const float *r3, const float *x, int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    __m512 b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + i), x0, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + i), x0, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + i), x0, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + i), x0, a3);
        b0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + i + 16), x1, b0);
        b1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + i + 16), x1, b1);
        b2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + i + 16), x1, b2);
        b3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + i + 16), x1, b3);
    }
    if (i + 16 <= n) {
        __m512 x0 = _mm512_loadu_ps(x + i);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + i), x0, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + i), x0, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + i), x0, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + i), x0, a3);
        i += 16;
    }
    if (i < n) {
        __mmask16 mk = mask16(n - i);
        __m512 x0 = _mm512_maskz_loadu_ps(mk, x + i);
        b0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, r0 + i), x0, b0);
        b1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, r1 + i), x0, b1);
        b2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, r2 + i), x0, b2);
        b3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, r3 + i), x0, b3);
    }
    return hsum4x16(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1), _mm512_add_ps(a2, b2),
                    _mm512_add_ps(a3, b3));
}

static void gather_dot_avx512(float *out, const float *W, int64_t ld, const float *bias,
                              const uint32_t *ids, int64_t n_ids, const float *x, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(float);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        __m128 s = dot4_avx512(W + (int64_t)ids[j] * ld, W + (int64_t)ids[j + 1] * ld,
                               W + (int64_t)ids[j + 2] * ld, W + (int64_t)ids[j + 3] * ld, x, n);
        if (bias)
            s = _mm_add_ps(s, _mm_setr_ps(bias[ids[j]], bias[ids[j + 1]], bias[ids[j + 2]],
                                          bias[ids[j + 3]]));
        _mm_storeu_ps(out + j, s);
    }
    for (; j < n_ids; j++) {
        float s = dot_avx512(W + (int64_t)ids[j] * ld, x, n);
        out[j] = bias ? bias[ids[j]] + s : s;
    }
}

/* out[i0..i0+128) lives in eight zmm registers while every row adds its slice. The last
 * block is masked per register (registers wholly past n get an empty mask). */
static void sparse_rows_sum_avx512(float *out, const float *W, int64_t ld, const int32_t *idx,
                                   const float *val, int64_t nnz, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(float);
    for (int64_t i0 = 0; i0 < n; i0 += 128) {
        float *o = out + i0;
        int64_t rem = n - i0;
        const __mmask16 m0 = mask16(rem), m1 = mask16(rem - 16), m2 = mask16(rem - 32);
        const __mmask16 m3 = mask16(rem - 48), m4 = mask16(rem - 64), m5 = mask16(rem - 80);
        const __mmask16 m6 = mask16(rem - 96), m7 = mask16(rem - 112);
        __m512 c0 = _mm512_maskz_loadu_ps(m0, o), c1 = _mm512_maskz_loadu_ps(m1, o + 16);
        __m512 c2 = _mm512_maskz_loadu_ps(m2, o + 32), c3 = _mm512_maskz_loadu_ps(m3, o + 48);
        __m512 c4 = _mm512_maskz_loadu_ps(m4, o + 64), c5 = _mm512_maskz_loadu_ps(m5, o + 80);
        __m512 c6 = _mm512_maskz_loadu_ps(m6, o + 96), c7 = _mm512_maskz_loadu_ps(m7, o + 112);
        for (int64_t j = 0; j < nnz; j++) {
            if (i0 == 0 && j + SLIDE_KERN_PF_ROWS < nnz)
                prefetch_row(W + (int64_t)idx[j + SLIDE_KERN_PF_ROWS] * ld, row_bytes);
            const float *r = W + (int64_t)idx[j] * ld + i0;
            __m512 vv = _mm512_set1_ps(val[j]);
            c0 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m0, r), c0);
            c1 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m1, r + 16), c1);
            c2 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m2, r + 32), c2);
            c3 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m3, r + 48), c3);
            c4 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m4, r + 64), c4);
            c5 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m5, r + 80), c5);
            c6 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m6, r + 96), c6);
            c7 = _mm512_fmadd_ps(vv, _mm512_maskz_loadu_ps(m7, r + 112), c7);
        }
        _mm512_mask_storeu_ps(o, m0, c0);
        _mm512_mask_storeu_ps(o + 16, m1, c1);
        _mm512_mask_storeu_ps(o + 32, m2, c2);
        _mm512_mask_storeu_ps(o + 48, m3, c3);
        _mm512_mask_storeu_ps(o + 64, m4, c4);
        _mm512_mask_storeu_ps(o + 80, m5, c5);
        _mm512_mask_storeu_ps(o + 96, m6, c6);
        _mm512_mask_storeu_ps(o + 112, m7, c7);
    }
}

/* Same operation order as the scalar reference, no FMA: bit-identical results. */
static inline void adam16(float *w, float *m, float *v, float *g, __mmask16 mk, __m512 b1,
                          __m512 b2, __m512 c1, __m512 c2, __m512 lr, __m512 eps) {
    __m512 gg = _mm512_maskz_loadu_ps(mk, g);
    __m512 mm = _mm512_maskz_loadu_ps(mk, m);
    __m512 vv = _mm512_maskz_loadu_ps(mk, v);
    __m512 ww = _mm512_maskz_loadu_ps(mk, w);
    mm = _mm512_add_ps(_mm512_mul_ps(b1, mm), _mm512_mul_ps(c1, gg));
    vv = _mm512_add_ps(_mm512_mul_ps(b2, vv), _mm512_mul_ps(_mm512_mul_ps(c2, gg), gg));
    ww = _mm512_sub_ps(ww, _mm512_div_ps(_mm512_mul_ps(lr, mm),
                                         _mm512_add_ps(_mm512_sqrt_ps(vv), eps)));
    _mm512_mask_storeu_ps(m, mk, mm);
    _mm512_mask_storeu_ps(v, mk, vv);
    _mm512_mask_storeu_ps(w, mk, ww);
    _mm512_mask_storeu_ps(g, mk, _mm512_setzero_ps());
}

static void adam_avx512(float *w, float *m, float *v, float *g, int64_t n, float lr_t, float b1,
                        float b2, float eps) {
    const __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    const __m512 c1 = _mm512_set1_ps(1.0f - b1), c2 = _mm512_set1_ps(1.0f - b2);
    const __m512 vlr = _mm512_set1_ps(lr_t), veps = _mm512_set1_ps(eps);
    for (int64_t i = 0; i < n; i += 16)
        adam16(w + i, m + i, v + i, g + i, mask16(n - i), vb1, vb2, c1, c2, vlr, veps);
}

/* maxps(x, 0) returns its second operand unless x > 0: the scalar x > 0 ? x : 0 exactly. */
static void relu_avx512(float *x, int64_t n) {
    const __m512 z = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a = _mm512_max_ps(_mm512_loadu_ps(x + i), z);
        __m512 b = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), z);
        __m512 c = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), z);
        __m512 d = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), z);
        _mm512_storeu_ps(x + i, a);
        _mm512_storeu_ps(x + i + 16, b);
        _mm512_storeu_ps(x + i + 32, c);
        _mm512_storeu_ps(x + i + 48, d);
    }
    for (; i < n; i += 16) {
        __mmask16 mk = mask16(n - i);
        _mm512_mask_storeu_ps(x + i, mk, _mm512_max_ps(_mm512_maskz_loadu_ps(mk, x + i), z));
    }
}

static float max_avx512(const float *x, int64_t n) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
        m2 = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), m2);
        m3 = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), m3);
    }
    for (; i < n; i += 16) /* masked-off lanes keep -inf */
        m1 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, mask16(n - i), x + i), m1);
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* ---------------------------------------------------------------- softmax */
/* exp(x) for x <= 0, Cephes-style: the AVX2 exp8_nonpos on 16 lanes (n = round(x log2e),
 * two-step Cody-Waite ln2, degree-5 polynomial, 2^n into the exponent field; rel. error
 * ~2e-7). Lanes with x <= -87.3 (and -inf) give exactly 0, as expf does a little further out. */
static inline __m512 exp16_nonpos(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.3f);
    const __mmask16 keep = _mm512_cmp_ps_mask(x, lo, _CMP_GT_OQ);
    x = _mm512_max_ps(x, lo);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    /* n in [-126, 0]: a normal power of two */
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)),
                                  23);
    return _mm512_maskz_mul_ps(keep, y, _mm512_castsi512_ps(e));
}

/* acc += the 16 lanes of v, widened to double (two 8-lane accumulators). */
static inline void acc16_pd(__m512d *a0, __m512d *a1, __m512 v) {
    *a0 = _mm512_add_pd(*a0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *a1 = _mm512_add_pd(*a1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

/* Three passes: max, exp in place with the sum, scale. Each 64-element block is summed in
 * float (four terms per lane) and then added in double, so the sum stays as good as scalar's. */
static void softmax_avx512(float *x, int64_t n) {
    if (n <= 0) return;
    const __m512 mx = _mm512_set1_ps(max_avx512(x, n));
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 e0 = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i), mx));
        __m512 e1 = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mx));
        __m512 e2 = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i + 32), mx));
        __m512 e3 = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i + 48), mx));
        _mm512_storeu_ps(x + i, e0);
        _mm512_storeu_ps(x + i + 16, e1);
        _mm512_storeu_ps(x + i + 32, e2);
        _mm512_storeu_ps(x + i + 48, e3);
        acc16_pd(&s0, &s1, _mm512_add_ps(_mm512_add_ps(e0, e1), _mm512_add_ps(e2, e3)));
    }
    for (; i < n; i += 16) {
        __mmask16 mk = mask16(n - i);
        /* masked-off lanes would add exp(0 - max): the masked exp leaves them 0 */
        __m512 e = _mm512_maskz_mov_ps(
            mk, exp16_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), mx)));
        _mm512_mask_storeu_ps(x + i, mk, e);
        acc16_pd(&s0, &s1, e);
    }
    const __m512 inv = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
    i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a = _mm512_mul_ps(_mm512_loadu_ps(x + i), inv);
        __m512 b = _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), inv);
        __m512 c = _mm512_mul_ps(_mm512_loadu_ps(x + i + 32), inv);
        __m512 d = _mm512_mul_ps(_mm512_loadu_ps(x + i + 48), inv);
        _mm512_storeu_ps(x + i, a);
        _mm512_storeu_ps(x + i + 16, b);
        _mm512_storeu_ps(x + i + 32, c);
        _mm512_storeu_ps(x + i + 48, d);
    }
    for (; i < n; i += 16) {
        __mmask16 mk = mask16(n - i);
        _mm512_mask_storeu_ps(x + i, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + i), inv));
    }
}

/* ---------------------------------------------------------------- bf16 storage */
/* 16 bf16 -> 16 floats, exact: zero-extend each to 32 bits and shift it into the upper half.
 * Plain AVX-512F/BW (no avx512bf16 needed). */
static inline __m512 bf16x16_to_ps(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static inline __m512 load_bf16x16(const uint16_t *p) {
    return bf16x16_to_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* Lanes past mk read as +0 and are never touched (AVX-512BW 16-bit masked load). */
static inline __m512 maskz_load_bf16x16(__mmask16 mk, const uint16_t *p) {
    return bf16x16_to_ps(_mm256_maskz_loadu_epi16(mk, p));
}

/* bf16 bits of 16 floats, in the low half of each 32-bit lane: the scalar rule (round to
 * nearest even by adding 0x7fff + lowest kept bit; NaN -> its upper half with the quiet bit). */
static inline __m512i bf16_round16(__m512 f) {
    const __m512i u = _mm512_castps_si512(f);
    const __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i r = _mm512_add_epi32(u, _mm512_set1_epi32(0x7fff));
    r = _mm512_srli_epi32(_mm512_add_epi32(r, _mm512_and_si512(hi, _mm512_set1_epi32(1))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_blend_epi32(nan, r, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
}

/* slide_mix32 on 16 lanes */
static inline __m512i mix32x16(__m512i x) {
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)0x85ebca6bU));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 13));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)0xc2b2ae35U));
    return _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
}

/* slide_bf16_sr on 16 lanes (r: random bits in the low 16 bits of each lane). */
static inline __m512i bf16_sr16(__m512 f, __m512i r) {
    const __m512i u = _mm512_castps_si512(f), e = _mm512_set1_epi32(0x7f800000);
    __mmask16 special = _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, e), e);
    return _mm512_srli_epi32(_mm512_mask_add_epi32(u, (__mmask16)~special, u, r), 16);
}

/* adam_bf16 (wh NULL: fp32 weights wf) and adam_bf16w (wf NULL: bf16 weights wh), one body
 * specialised by inlining: the same operations as the scalar reference, no FMA, so w, m and v
 * are bit-identical to it; masked tail. */
static inline __attribute__((always_inline)) void
adam_bf16_body(float *wf, uint16_t *wh, uint16_t *m, uint16_t *v, float *g, int64_t n,
               float lr_t, float b1, float b2, float eps, uint32_t seed) {
    const __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    const __m512 c1 = _mm512_set1_ps(1.0f - b1), c2 = _mm512_set1_ps(1.0f - b2);
    const __m512 vlr = _mm512_set1_ps(lr_t), veps = _mm512_set1_ps(eps);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i lo = _mm512_set1_epi32(0xffff);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = mask16(n - i);
        __m512 gg = _mm512_maskz_loadu_ps(mk, g + i);
        __m512 ww = wh ? maskz_load_bf16x16(mk, wh + i) : _mm512_maskz_loadu_ps(mk, wf + i);
        __m512 mm = maskz_load_bf16x16(mk, m + i), vv = maskz_load_bf16x16(mk, v + i);
        mm = _mm512_add_ps(_mm512_mul_ps(vb1, mm), _mm512_mul_ps(c1, gg));
        vv = _mm512_add_ps(_mm512_mul_ps(vb2, vv), _mm512_mul_ps(_mm512_mul_ps(c2, gg), gg));
        ww = _mm512_sub_ps(ww, _mm512_div_ps(_mm512_mul_ps(vlr, mm),
                                             _mm512_add_ps(_mm512_sqrt_ps(vv), veps)));
        __m512i r = mix32x16(_mm512_add_epi32(_mm512_set1_epi32((int)(seed + (uint32_t)i)), lane));
        _mm256_mask_storeu_epi16(m + i, mk, _mm512_cvtepi32_epi16(bf16_sr16(mm, _mm512_and_si512(r, lo))));
        _mm256_mask_storeu_epi16(v + i, mk, _mm512_cvtepi32_epi16(bf16_sr16(vv, _mm512_srli_epi32(r, 16))));
        if (wh)
            _mm256_mask_storeu_epi16(wh + i, mk, _mm512_cvtepi32_epi16(bf16_sr16(ww, _mm512_and_si512(mix32x16(r), lo))));
        else
            _mm512_mask_storeu_ps(wf + i, mk, ww);
        _mm512_mask_storeu_ps(g + i, mk, _mm512_setzero_ps());
    }
}

static void adam_bf16_avx512(float *w, uint16_t *m, uint16_t *v, float *g, int64_t n,
                             float lr_t, float b1, float b2, float eps, uint32_t seed) {
    adam_bf16_body(w, NULL, m, v, g, n, lr_t, b1, b2, eps, seed);
}

static void adam_bf16w_avx512(uint16_t *w, uint16_t *m, uint16_t *v, float *g, int64_t n,
                              float lr_t, float b1, float b2, float eps, uint32_t seed) {
    adam_bf16_body(NULL, w, m, v, g, n, lr_t, b1, b2, eps, seed);
}

/* vpmovdw narrows (truncating; the lanes already fit in 16 bits), with a masked store for
 * the tail. */
static void to_bf16_avx512(uint16_t *dst, const float *src, int64_t n) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm512_cvtepi32_epi16(bf16_round16(_mm512_loadu_ps(src + i)));
        __m256i b = _mm512_cvtepi32_epi16(bf16_round16(_mm512_loadu_ps(src + i + 16)));
        _mm256_storeu_si256((__m256i *)(dst + i), a);
        _mm256_storeu_si256((__m256i *)(dst + i + 16), b);
    }
    for (; i < n; i += 16) {
        __mmask16 mk = mask16(n - i);
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, mk,
                                          bf16_round16(_mm512_maskz_loadu_ps(mk, src + i)));
    }
}

static float dot_bf16_avx512(const uint16_t *w, const float *x, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(load_bf16x16(w + i), _mm512_loadu_ps(x + i), s0);
        s1 = _mm512_fmadd_ps(load_bf16x16(w + i + 16), _mm512_loadu_ps(x + i + 16), s1);
        s2 = _mm512_fmadd_ps(load_bf16x16(w + i + 32), _mm512_loadu_ps(x + i + 32), s2);
        s3 = _mm512_fmadd_ps(load_bf16x16(w + i + 48), _mm512_loadu_ps(x + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(load_bf16x16(w + i), _mm512_loadu_ps(x + i), s0);
    if (i < n) {
        __mmask16 mk = mask16(n - i);
        s1 = _mm512_fmadd_ps(maskz_load_bf16x16(mk, w + i), _mm512_maskz_loadu_ps(mk, x + i),
                             s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* dot4_avx512 with bf16 rows: x loaded once per four rows, eight accumulators. */
static inline __m128 dot4_bf16_avx512(const uint16_t *r0, const uint16_t *r1,
                                      const uint16_t *r2, const uint16_t *r3, const float *x,
                                      int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    __m512 b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        a0 = _mm512_fmadd_ps(load_bf16x16(r0 + i), x0, a0);
        a1 = _mm512_fmadd_ps(load_bf16x16(r1 + i), x0, a1);
        a2 = _mm512_fmadd_ps(load_bf16x16(r2 + i), x0, a2);
        a3 = _mm512_fmadd_ps(load_bf16x16(r3 + i), x0, a3);
        b0 = _mm512_fmadd_ps(load_bf16x16(r0 + i + 16), x1, b0);
        b1 = _mm512_fmadd_ps(load_bf16x16(r1 + i + 16), x1, b1);
        b2 = _mm512_fmadd_ps(load_bf16x16(r2 + i + 16), x1, b2);
        b3 = _mm512_fmadd_ps(load_bf16x16(r3 + i + 16), x1, b3);
    }
    if (i + 16 <= n) {
        __m512 x0 = _mm512_loadu_ps(x + i);
        a0 = _mm512_fmadd_ps(load_bf16x16(r0 + i), x0, a0);
        a1 = _mm512_fmadd_ps(load_bf16x16(r1 + i), x0, a1);
        a2 = _mm512_fmadd_ps(load_bf16x16(r2 + i), x0, a2);
        a3 = _mm512_fmadd_ps(load_bf16x16(r3 + i), x0, a3);
        i += 16;
    }
    if (i < n) {
        __mmask16 mk = mask16(n - i);
        __m512 x0 = _mm512_maskz_loadu_ps(mk, x + i);
        b0 = _mm512_fmadd_ps(maskz_load_bf16x16(mk, r0 + i), x0, b0);
        b1 = _mm512_fmadd_ps(maskz_load_bf16x16(mk, r1 + i), x0, b1);
        b2 = _mm512_fmadd_ps(maskz_load_bf16x16(mk, r2 + i), x0, b2);
        b3 = _mm512_fmadd_ps(maskz_load_bf16x16(mk, r3 + i), x0, b3);
    }
    return hsum4x16(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1), _mm512_add_ps(a2, b2),
                    _mm512_add_ps(a3, b3));
}

static void gather_dot_bf16_avx512(float *out, const uint16_t *W, int64_t ld, const float *bias,
                                   const uint32_t *ids, int64_t n_ids, const float *x,
                                   int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(uint16_t);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        __m128 s = dot4_bf16_avx512(W + (int64_t)ids[j] * ld, W + (int64_t)ids[j + 1] * ld,
                                    W + (int64_t)ids[j + 2] * ld, W + (int64_t)ids[j + 3] * ld,
                                    x, n);
        if (bias)
            s = _mm_add_ps(s, _mm_setr_ps(bias[ids[j]], bias[ids[j + 1]], bias[ids[j + 2]],
                                          bias[ids[j + 3]]));
        _mm_storeu_ps(out + j, s);
    }
    for (; j < n_ids; j++) {
        float s = dot_bf16_avx512(W + (int64_t)ids[j] * ld, x, n);
        out[j] = bias ? bias[ids[j]] + s : s;
    }
}

static void axpy_bf16_avx512(float *y, float alpha, const uint16_t *x, int64_t n) {
    const __m512 va = _mm512_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 y0 = _mm512_fmadd_ps(va, load_bf16x16(x + i), _mm512_loadu_ps(y + i));
        __m512 y1 = _mm512_fmadd_ps(va, load_bf16x16(x + i + 16), _mm512_loadu_ps(y + i + 16));
        __m512 y2 = _mm512_fmadd_ps(va, load_bf16x16(x + i + 32), _mm512_loadu_ps(y + i + 32));
        __m512 y3 = _mm512_fmadd_ps(va, load_bf16x16(x + i + 48), _mm512_loadu_ps(y + i + 48));
        _mm512_storeu_ps(y + i, y0);
        _mm512_storeu_ps(y + i + 16, y1);
        _mm512_storeu_ps(y + i + 32, y2);
        _mm512_storeu_ps(y + i + 48, y3);
    }
    for (; i < n; i += 16) {
        __mmask16 mk = mask16(n - i);
        __m512 r = _mm512_fmadd_ps(va, maskz_load_bf16x16(mk, x + i),
                                   _mm512_maskz_loadu_ps(mk, y + i));
        _mm512_mask_storeu_ps(y + i, mk, r);
    }
}

/* As gather_axpy_avx2: four rows per pass over y, FMAs in row order, rows prefetched ahead. */
static void gather_axpy_avx512(float *y, const float *W, int64_t ld, const uint32_t *ids,
                               const float *a, int64_t n_ids, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(float);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        const float *r0 = W + (int64_t)ids[j] * ld, *r1 = W + (int64_t)ids[j + 1] * ld;
        const float *r2 = W + (int64_t)ids[j + 2] * ld, *r3 = W + (int64_t)ids[j + 3] * ld;
        const __m512 a0 = _mm512_set1_ps(a[j]), a1 = _mm512_set1_ps(a[j + 1]);
        const __m512 a2 = _mm512_set1_ps(a[j + 2]), a3 = _mm512_set1_ps(a[j + 3]);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m512 t = _mm512_fmadd_ps(a0, _mm512_loadu_ps(r0 + i), _mm512_loadu_ps(y + i));
            t = _mm512_fmadd_ps(a1, _mm512_loadu_ps(r1 + i), t);
            t = _mm512_fmadd_ps(a2, _mm512_loadu_ps(r2 + i), t);
            t = _mm512_fmadd_ps(a3, _mm512_loadu_ps(r3 + i), t);
            _mm512_storeu_ps(y + i, t);
        }
        if (i < n) {
            const __mmask16 mk = mask16(n - i);
            __m512 t = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(mk, r0 + i),
                                       _mm512_maskz_loadu_ps(mk, y + i));
            t = _mm512_fmadd_ps(a1, _mm512_maskz_loadu_ps(mk, r1 + i), t);
            t = _mm512_fmadd_ps(a2, _mm512_maskz_loadu_ps(mk, r2 + i), t);
            t = _mm512_fmadd_ps(a3, _mm512_maskz_loadu_ps(mk, r3 + i), t);
            _mm512_mask_storeu_ps(y + i, mk, t);
        }
    }
    for (; j < n_ids; j++) axpy_avx512(y, a[j], W + (int64_t)ids[j] * ld, n);
}

static void gather_axpy_bf16_avx512(float *y, const uint16_t *W, int64_t ld, const uint32_t *ids,
                                    const float *a, int64_t n_ids, int64_t n) {
    const int64_t row_bytes = n * (int64_t)sizeof(uint16_t);
    int64_t j = 0;
    for (; j + 4 <= n_ids; j += 4) {
        for (int64_t k = j + SLIDE_KERN_PF_ROWS; k < j + SLIDE_KERN_PF_ROWS + 4 && k < n_ids; k++)
            prefetch_row(W + (int64_t)ids[k] * ld, row_bytes);
        const uint16_t *r0 = W + (int64_t)ids[j] * ld, *r1 = W + (int64_t)ids[j + 1] * ld;
        const uint16_t *r2 = W + (int64_t)ids[j + 2] * ld, *r3 = W + (int64_t)ids[j + 3] * ld;
        const __m512 a0 = _mm512_set1_ps(a[j]), a1 = _mm512_set1_ps(a[j + 1]);
        const __m512 a2 = _mm512_set1_ps(a[j + 2]), a3 = _mm512_set1_ps(a[j + 3]);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m512 t = _mm512_fmadd_ps(a0, load_bf16x16(r0 + i), _mm512_loadu_ps(y + i));
            t = _mm512_fmadd_ps(a1, load_bf16x16(r1 + i), t);
            t = _mm512_fmadd_ps(a2, load_bf16x16(r2 + i), t);
            t = _mm512_fmadd_ps(a3, load_bf16x16(r3 + i), t);
            _mm512_storeu_ps(y + i, t);
        }
        if (i < n) {
            const __mmask16 mk = mask16(n - i);
            __m512 t = _mm512_fmadd_ps(a0, maskz_load_bf16x16(mk, r0 + i),
                                       _mm512_maskz_loadu_ps(mk, y + i));
            t = _mm512_fmadd_ps(a1, maskz_load_bf16x16(mk, r1 + i), t);
            t = _mm512_fmadd_ps(a2, maskz_load_bf16x16(mk, r2 + i), t);
            t = _mm512_fmadd_ps(a3, maskz_load_bf16x16(mk, r3 + i), t);
            _mm512_mask_storeu_ps(y + i, mk, t);
        }
    }
    for (; j < n_ids; j++) axpy_bf16_avx512(y, a[j], W + (int64_t)ids[j] * ld, n);
}

/* As sweep_grad_avx2, sixteen columns at a time. */
static void sweep_grad_avx512(float *g, float *Y, const float *X, int64_t ld, const float *r,
                              const uint32_t *slot, const float *a, int64_t ne, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 gg = _mm512_setzero_ps();
        const __m512 rr = Y ? _mm512_loadu_ps(r + i) : gg;
        for (int64_t e = 0; e < ne; e++) {
            const __m512 va = _mm512_set1_ps(a[e]);
            const int64_t o = (int64_t)slot[e] * ld + i;
            if (Y) _mm512_storeu_ps(Y + o, _mm512_fmadd_ps(va, rr, _mm512_loadu_ps(Y + o)));
            gg = _mm512_fmadd_ps(va, _mm512_loadu_ps(X + o), gg);
        }
        _mm512_storeu_ps(g + i, gg);
    }
    if (i < n) {
        const __mmask16 mk = mask16(n - i);
        __m512 gg = _mm512_setzero_ps();
        const __m512 rr = Y ? _mm512_maskz_loadu_ps(mk, r + i) : gg;
        for (int64_t e = 0; e < ne; e++) {
            const __m512 va = _mm512_set1_ps(a[e]);
            const int64_t o = (int64_t)slot[e] * ld + i;
            if (Y)
                _mm512_mask_storeu_ps(Y + o, mk,
                                      _mm512_fmadd_ps(va, rr, _mm512_maskz_loadu_ps(mk, Y + o)));
            gg = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(mk, X + o), gg);
        }
        _mm512_mask_storeu_ps(g + i, mk, gg);
    }
}

const slide_kern slide_kern_avx512 = {
    .name = "avx512",
    .simd = SLIDE_SIMD_AVX512,
    .dot = dot_avx512,
    .axpy = axpy_avx512,
    .gather_dot = gather_dot_avx512,
    .sparse_rows_sum = sparse_rows_sum_avx512,
    .adam = adam_avx512,
    .adam_bf16 = adam_bf16_avx512,
    .adam_bf16w = adam_bf16w_avx512,
    .relu = relu_avx512,
    .max = max_avx512,
    .to_bf16 = to_bf16_avx512,
    .gather_dot_bf16 = gather_dot_bf16_avx512,
    .axpy_bf16 = axpy_bf16_avx512,
    .gather_axpy = gather_axpy_avx512,
    .gather_axpy_bf16 = gather_axpy_bf16_avx512,
    .sweep_grad = sweep_grad_avx512,
    .softmax = softmax_avx512,
};
