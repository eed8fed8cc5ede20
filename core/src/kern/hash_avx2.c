/* AVX2 + FMA kernels of the hash families (the slide_hash_kern table of slide/hash.h's objects
 * created with simd >= avx2): same bits as the scalar references in hash_simhash.c, hash_wta.c. */
#include "hash_internal.h"

#include <immintrin.h>

static inline __m256 load8_i8(const int8_t *p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

/* One panel of width 8 * NV: accumulators stay in registers across all rows. */
#define SIM_PANEL_AVX2(NV)                                                             \
    do {                                                                               \
        __m256 a[NV];                                                                  \
        for (int u = 0; u < (NV); u++) a[u] = _mm256_loadu_ps(acc + 8 * u);            \
        for (int q = 0; q < n; q++) {                                                  \
            const int8_t *m = P + (size_t)rows[q] * (8 * (NV));                        \
            const __m256 xv = _mm256_set1_ps(vals[q]);                                 \
            for (int u = 0; u < (NV); u++)                                             \
                a[u] = _mm256_fmadd_ps(xv, load8_i8(m + 8 * u), a[u]);                 \
        }                                                                              \
        for (int u = 0; u < (NV); u++) _mm256_storeu_ps(acc + 8 * u, a[u]);            \
    } while (0)

static void sim_rows_avx2(const int8_t *M, int64_t dim, int KLpad, const int32_t *rows,
                          const float *vals, int n, float *acc_all) {
    for (int c0 = 0; c0 < KLpad;) {
        const int w = panel_width(c0, KLpad);
        const int8_t *P = M + (size_t)c0 * (size_t)dim;
        float *acc = acc_all + c0;
        if (w == 64) SIM_PANEL_AVX2(8);
        else if (w == 32) SIM_PANEL_AVX2(4);
        else SIM_PANEL_AVX2(2);
        c0 += w;
    }
}

static void sim_otf_avx2(uint32_t base, int32_t thr, float v, float *acc, int KL) {
    sim_otf_body(base, thr, v, acc, KL);
}

/* Same as slide_hash_sim_batch_scalar: eight independent add chains (4 columns x 2 registers
 * of lanes); plain adds of exact +-x, so it matches the scalar kernel and the per-vector path bit
 * for bit. */
static void sim_batch_avx2(const slide_hash *h, const float *xT, uint16_t *colmask) {
    _Static_assert(BATCH_G == 4 && BATCH_LANES == 16, "sim_batch_avx2 is unrolled for 4 x 16");
    const __m256 zero = _mm256_setzero_ps();
    for (int g = 0; g < h->bgroups; g++) {
        const uint16_t *p = h->bprog + h->bstart[g];
        const int n = h->blen[g];
        __m256 a0 = zero, a1 = zero, b0 = zero, b1 = zero, c0 = zero, c1 = zero, d0 = zero,
               d1 = zero;
        for (int i = 0; i < n; i++, p += 4) {
            const char *base = (const char *)xT;
            const float *ra = (const float *)(const void *)(base + p[0]);
            const float *rb = (const float *)(const void *)(base + p[1]);
            const float *rc = (const float *)(const void *)(base + p[2]);
            const float *rd = (const float *)(const void *)(base + p[3]);
            a0 = _mm256_add_ps(a0, _mm256_load_ps(ra));
            a1 = _mm256_add_ps(a1, _mm256_load_ps(ra + 8));
            b0 = _mm256_add_ps(b0, _mm256_load_ps(rb));
            b1 = _mm256_add_ps(b1, _mm256_load_ps(rb + 8));
            c0 = _mm256_add_ps(c0, _mm256_load_ps(rc));
            c1 = _mm256_add_ps(c1, _mm256_load_ps(rc + 8));
            d0 = _mm256_add_ps(d0, _mm256_load_ps(rd));
            d1 = _mm256_add_ps(d1, _mm256_load_ps(rd + 8));
        }
#define SIM_BATCH_MASK(lo, hi)                                                   \
    ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(lo, zero, _CMP_GT_OQ)) |         \
     (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(hi, zero, _CMP_GT_OQ)) << 8)
        const unsigned m[4] = {SIM_BATCH_MASK(a0, a1), SIM_BATCH_MASK(b0, b1),
                               SIM_BATCH_MASK(c0, c1), SIM_BATCH_MASK(d0, d1)};
#undef SIM_BATCH_MASK
        for (int u = 0; u < 4; u++) {
            const int j = h->bcol[g * 4 + u];
            if (j >= 0) colmask[j] = (uint16_t)m[u];
        }
    }
}

static void sim_batch_raw_avx2(const uint16_t *cm, int K, uint32_t *raw) {
    const __m256i lb0 = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i lb1 = _mm256_slli_epi32(lb0, 8);
    __m256i r0 = _mm256_setzero_si256(), r1 = r0;
    for (int k = K - 1; k >= 0; k--) { /* bit l of cm[k] -> 0 or 1 in lane l */
        const __m256i m = _mm256_set1_epi32(cm[k]);
        const __m256i b0 = _mm256_srli_epi32(_mm256_cmpeq_epi32(_mm256_and_si256(m, lb0), lb0), 31);
        const __m256i b1 = _mm256_srli_epi32(_mm256_cmpeq_epi32(_mm256_and_si256(m, lb1), lb1), 31);
        r0 = _mm256_or_si256(_mm256_slli_epi32(r0, 1), b0);
        r1 = _mm256_or_si256(_mm256_slli_epi32(r1, 1), b1);
    }
    _mm256_storeu_si256((__m256i *)(void *)raw, r0);
    _mm256_storeu_si256((__m256i *)(void *)(raw + 8), r1);
}

/* The same for a full block, eight rows x eight dims at a time (8x8 transposes in registers);
 * negation flips the sign bit, as -f does. */
static unsigned sim_batch_transpose_avx2(const float *x, int64_t stride, int64_t dim,
                                         float *xT) {
    enum { NL = BATCH_LANES };
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 expo = _mm256_castsi256_ps(_mm256_set1_epi32(0x7F800000));
    unsigned bad = 0;
    for (int half = 0; half < 2; half++) {
        const float *x0 = x + (int64_t)half * 8 * stride;
        __m256 nonfinite = _mm256_setzero_ps(); /* lane v: row half * 8 + v */
        int64_t d = 0;
        for (; d + 8 <= dim; d += 8) {
            __m256 r[8], t[8], u[8];
            for (int v = 0; v < 8; v++) r[v] = _mm256_loadu_ps(x0 + v * stride + d);
            for (int v = 0; v < 8; v += 2) {
                t[v] = _mm256_unpacklo_ps(r[v], r[v + 1]);
                t[v + 1] = _mm256_unpackhi_ps(r[v], r[v + 1]);
            }
            for (int v = 0; v < 8; v += 4) {
                u[v] = _mm256_shuffle_ps(t[v], t[v + 2], 0x44);
                u[v + 1] = _mm256_shuffle_ps(t[v], t[v + 2], 0xEE);
                u[v + 2] = _mm256_shuffle_ps(t[v + 1], t[v + 3], 0x44);
                u[v + 3] = _mm256_shuffle_ps(t[v + 1], t[v + 3], 0xEE);
            }
            for (int k = 0; k < 4; k++) { /* r[k]: dim d + k of the 8 rows */
                r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
                r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
            }
            for (int k = 0; k < 8; k++) {
                float *row = xT + 2 * (d + k) * NL + half * 8;
                _mm256_store_ps(row, r[k]);
                _mm256_store_ps(row + NL, _mm256_xor_ps(r[k], sign));
                nonfinite = _mm256_or_ps(
                    nonfinite, _mm256_cmp_ps(_mm256_and_ps(r[k], expo), expo, _CMP_EQ_OQ));
            }
        }
        bad |= (unsigned)_mm256_movemask_ps(nonfinite) << (half * 8);
        for (; d < dim; d++)
            for (int v = 0; v < 8; v++) {
                const float f = x0[v * stride + d];
                uint32_t bits;
                memcpy(&bits, &f, sizeof bits);
                bad |= (unsigned)((bits & 0x7F800000u) == 0x7F800000u) << (half * 8 + v);
                xT[2 * d * NL + half * 8 + v] = f;
                xT[(2 * d + 1) * NL + half * 8 + v] = -f;
            }
    }
    return bad;
}

/* x[id[0..8)] from eight scalar loads, which outrun vgatherdps on the CPUs tried. */
static inline __m256 gather8(const float *x, const int32_t *id) {
    return _mm256_setr_ps(x[id[0]], x[id[1]], x[id[2]], x[id[3]], x[id[4]], x[id[5]], x[id[6]],
                          x[id[7]]);
}

/* Eight functions at a time: one gather per slot, compare and blend, no branches. Scanning
 * slots in ascending order with strict > gives the same winner and runner-up as top2_push for
 * finite inputs (an equal later value can only become the runner-up). */
static void wta_dense_avx2(const slide_hash *h, const float *x, int dwta, uint16_t *code,
                           float *margin, uint16_t *alt) {
    const int KL = h->KL, B = h->B, G = (KL + 7) / 8;
    const int32_t *bt = h->bins_t;
    const __m256 ninf = _mm256_set1_ps(-INFINITY), zero = _mm256_setzero_ps();
    const __m256i none = _mm256_set1_epi32((int)NO_SLOT);
    const __m256i first = dwta ? none : _mm256_setzero_si256();
    for (int g = 0; g < G; g++) {
        const int32_t *ib = bt + (size_t)g * B * 8;
        __m256 best = ninf, sec = ninf;
        __m256i bs = first, ss = none;
        for (int s = 0; s < B; s++) {
            const __m256 v = gather8(x, ib + s * 8);
            const __m256i sv = _mm256_set1_epi32(s);
            __m256 c1 = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
            if (dwta) c1 = _mm256_and_ps(c1, _mm256_cmp_ps(v, zero, _CMP_NEQ_OQ));
            if (margin) {
                __m256 c2 = _mm256_cmp_ps(v, sec, _CMP_GT_OQ);
                if (dwta) c2 = _mm256_and_ps(c2, _mm256_cmp_ps(v, zero, _CMP_NEQ_OQ));
                /* new second: old best if v wins, else v if it beats the second */
                sec = _mm256_blendv_ps(_mm256_blendv_ps(sec, v, c2), best, c1);
                ss = _mm256_castps_si256(_mm256_blendv_ps(
                    _mm256_blendv_ps(_mm256_castsi256_ps(ss), _mm256_castsi256_ps(sv), c2),
                    _mm256_castsi256_ps(bs), c1));
            }
            best = _mm256_blendv_ps(best, v, c1);
            bs = _mm256_castps_si256(
                _mm256_blendv_ps(_mm256_castsi256_ps(bs), _mm256_castsi256_ps(sv), c1));
        }
        int32_t b32[8], s32[8];
        float bv[8], sv2[8];
        _mm256_storeu_si256((__m256i *)(void *)b32, bs);
        const int n = KL - g * 8 < 8 ? KL - g * 8 : 8;
        for (int k = 0; k < n; k++) code[g * 8 + k] = (uint16_t)b32[k];
        if (!margin) continue;
        _mm256_storeu_si256((__m256i *)(void *)s32, ss);
        _mm256_storeu_ps(bv, best);
        _mm256_storeu_ps(sv2, sec);
        for (int k = 0; k < n; k++) {
            const int f = g * 8 + k;
            const int ok = b32[k] != (int32_t)NO_SLOT && s32[k] != (int32_t)NO_SLOT;
            margin[f] = ok ? bv[k] - sv2[k] : -1.0f;
            alt[f] = (uint16_t)s32[k];
        }
    }
}

const slide_hash_kern slide_hash_kern_avx2 = {
    .name = "avx2",
    .sim_rows = sim_rows_avx2,
    .sim_otf = sim_otf_avx2,
    .sim_batch = sim_batch_avx2,
    .sim_batch_raw = sim_batch_raw_avx2,
    .sim_batch_transpose = sim_batch_transpose_avx2,
    .wta_dense = wta_dense_avx2,
};
