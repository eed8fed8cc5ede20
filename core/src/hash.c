/* LSH hash families for SLIDE: SimHash (sparse +-1 projections drawn from a seeded hash of
 * (dimension, function)), WTA and DWTA (densified winner-take-all), table keys and multi-probe.
 *
 * Conventions (see slide/hash.h):
 *  - K*L functions; table t uses functions t*K .. t*K+K-1. A table key packs the K codes,
 *    code k at bit (k % cpc) * bits of 64-bit chunk k / cpc (cpc = 64 / bits codes per chunk),
 *    so for K*bits <= 64 the key is the plain little-endian concatenation. When K*bits exceeds
 *    range_bits the chunks are mixed down: key = (b_t + sum_c a_{t,c} * chunk_c) >> (64 - range),
 *    a seeded multiply-shift (a odd) per table; otherwise the key is the raw concatenation.
 *  - SimHash entry (f, j) is -1, 0 or +1 from slide_mix32(base(f) ^ j*golden): kept with prob.
 *    ~1/sparsity, sign from the low bit. With dim*K*L <= 8M the entries are materialised as an
 *    int8 matrix in column panels; otherwise computed on the fly. Dense and sparse inputs go through
 *    the same code, accumulating in float over the nonzeros in index order; products x * (+-1)
 *    are exact, so the FMA (AVX2) and mul+add (scalar) paths agree bit for bit. Bit = proj > 0.
 *  - WTA/DWTA bins: consecutive draws from a stream of random permutations of 0..dim-1; a bin
 *    that straddles two permutations skips dims it already holds (a bin's dims are distinct, so
 *    dim >= bin_size is required). Code = slot of the max, ties to the lowest slot.
 *    WTA treats absent sparse entries as 0 (same as the dense form). DWTA only considers present
 *    entries (nonzero): the max over present entries wins even if negative; a bin without one is
 *    empty and is densified (dwta_densify). Sparse inputs reach their bins through an inverse
 *    map dim -> (function, slot) (CSR), so their cost is O(nnz * positions per dim).
 *  - Dense and sparse forms agree exactly for finite inputs with distinct sparse indices; for
 *    SimHash the sparse indices must also be ascending (the float sum follows the given order;
 *    WTA/DWTA do not depend on order). Sparse entries with an index outside [0, dim) are ignored.
 *  - Hot loops have an AVX2 version (target attribute, chosen at creation from the CPU) and a
 *    scalar one; both give identical codes. Hashing calls allocate nothing (VLAs sized K*L).
 *  - The SimHash batch call (dim <= BATCH_MAX_DIM) puts 16 vectors in SIMD lanes and runs a
 *    per-projection program over their nonzero entries; same keys bit for bit ("SimHash batch").
 */
#include "slide/hash.h"
#include "slide/rng.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HASH_X86 1
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define HASH_X86 0
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define DENSE_MAX_ENTRIES ((int64_t)8 << 20) /* materialise SimHash when dim*KL <= 8M */
#define WTA_MAX_DIM ((int64_t)1 << 24)       /* CSR inverse map: 4 * (dim + 1) bytes */
#define DENSIFY_ATTEMPTS 100 /* at most 128: attempts are kept in two 64-bit masks */
#define NO_SLOT 0xFFFFu /* "no slot" in top-2 records; "empty" in internal code arrays */
#define CHUNK 256       /* nonzeros gathered per SimHash kernel call */
#define BATCH_LANES 16  /* SimHash batch: vectors per block (two AVX2 registers per input row) */
#define BATCH_G 4       /* SimHash batch: projections accumulated together (one program group) */
/* SimHash batch: larger dims hash row by row. Keeps the byte offsets of the 2 * dim + 1 rows of a
 * block (64 bytes each) in uint16, and the block's scratch (64 * (2 * dim + 1) B) on the stack. */
#define BATCH_MAX_DIM 511

struct slide_hash {
    slide_hash_params p;
    /* rotate: this object only rotates its inputs (rsign: 3 rounds x rdim random signs, the
     * Walsh-Hadamard normalisation folded in) and hands them to inner, made with dim = rdim */
    struct slide_hash *inner;
    float *rsign;
    int64_t rdim;
    int KL, bits, raw_bits, key_bits, mixed, nchunks;
    uint8_t kchunk[SLIDE_HASH_MAX_K], kshift[SLIDE_HASH_MAX_K];
    uint64_t *mix_a; /* [L][4] odd multipliers */
    uint64_t *mix_b; /* [L] */
    int avx2;
    /* SimHash */
    uint64_t sim_seed;
    int32_t sim_thr; /* keep entry iff (z >> 1) <= sim_thr */
    int KLpad;       /* KL rounded up to 16 */
    int8_t *M;       /* entries in column panels (panel_width) or NULL; int8 saves bandwidth */
    /* Batch program (dim <= BATCH_MAX_DIM, else NULL): projections sorted by nonzero count and
     * taken BATCH_G at a time; group g has blen[g] steps at bprog + bstart[g], step i holding
     * the byte offset of one row of the transposed block per projection (sim_batch_build). */
    uint16_t *bprog;
    int32_t *bstart, *blen, *bcol; /* bcol: [groups * BATCH_G] projection, -1 for padding */
    int bgroups;
    /* WTA / DWTA */
    int B, bshift;
    int32_t *bins;    /* [KL][B] */
    int32_t *bins_t;  /* [KL/8 rounded up][B][8]: groups of 8 functions for the AVX2 kernel */
    int32_t *inv_ptr; /* [dim + 1] */
    int32_t *inv_pos; /* [KL * B]: position f * B + s, grouped by dim */
    uint16_t *dens_seq; /* DWTA: [KL][DENSIFY_ATTEMPTS] bins probed for an empty function */
    int dens_mode;      /* 0 auto, 1 forward only, 2 inverse only (SLIDE_HASH_DENSIFY, tests) */
    int32_t *dens_ptr;  /* DWTA: inverse of dens_seq (CSR over the probed bin) ... */
    uint32_t *dens_inv; /* ... entries (function << 8) | attempt */
};

/* ------------------------------------------------------------------ parameters */

slide_hash_params slide_hash_params_default(void) {
    slide_hash_params p;
    memset(&p, 0, sizeof p);
    p.family = SLIDE_HASH_DWTA;
    p.K = 6;
    p.L = 50;
    p.dim = 128;
    p.range_bits = 18;
    p.bin_size = 8;
    p.sparsity = 3;
    p.seed = 1;
    return p;
}

const char *slide_hash_params_check(const slide_hash_params *p) {
    if (!p) return "hash parameters missing";
    if (p->family < SLIDE_HASH_SIMHASH || p->family > SLIDE_HASH_DWTA)
        return "hash family must be simhash, wta or dwta";
    if (p->K < 1 || p->K > SLIDE_HASH_MAX_K) return "K (hash functions per table) must be in 1..32";
    if (p->L < 1 || p->L > SLIDE_HASH_MAX_L) return "L (hash tables) must be in 1..1024";
    if (p->K * p->L > SLIDE_HASH_MAX_KL) return "K*L (total hash functions) must be at most 4096";
    if (p->dim < 1 || p->dim > INT32_MAX) return "hash input dim must be in 1..2^31-1";
    if (p->range_bits < 1 || p->range_bits > 24) return "range_bits (key bits) must be in 1..24";
    if (p->family == SLIDE_HASH_SIMHASH) {
        if (p->sparsity < 1 || p->sparsity > 65536) return "sparsity must be in 1..65536";
    } else {
        if (p->bin_size < 2 || p->bin_size > 256 || (p->bin_size & (p->bin_size - 1)))
            return "bin_size must be a power of two in 2..256";
        if (p->dim < p->bin_size) return "WTA/DWTA need dim >= bin_size (a bin holds distinct dims)";
        if (p->dim > WTA_MAX_DIM) return "WTA/DWTA dim must be at most 2^24";
    }
    if (p->rotate != 0 && p->rotate != 1) return "rotate must be 0 or 1";
    if (p->rotate && p->family == SLIDE_HASH_SIMHASH)
        return "rotate applies to WTA/DWTA (SimHash's random projections need no rotation)";
    if (p->rotate && p->dim > SLIDE_HASH_MAX_ROTATE_DIM)
        return "rotate needs dim at most 4096 (the rotation is dense)";
    return NULL;
}

const char *slide_hash_family_name(int family) {
    switch (family) {
    case SLIDE_HASH_SIMHASH: return "simhash";
    case SLIDE_HASH_WTA: return "wta";
    case SLIDE_HASH_DWTA: return "dwta";
    default: return "unknown";
    }
}

int slide_hash_family_parse(const char *s) {
    if (!s) return -1;
    if (!strcasecmp(s, "simhash") || !strcasecmp(s, "srp")) return SLIDE_HASH_SIMHASH;
    if (!strcasecmp(s, "wta")) return SLIDE_HASH_WTA;
    if (!strcasecmp(s, "dwta")) return SLIDE_HASH_DWTA;
    return -1;
}

/* ------------------------------------------------------------------ small hashes */


static inline uint32_t sim_base(const slide_hash *h, int64_t f) {
    return (uint32_t)slide_mix64(h->sim_seed ^ ((uint64_t)f * 0x9E3779B97F4A7C15ULL));
}

ALWAYS_INLINE float sim_entry(uint32_t base, int j, int32_t thr) {
    uint32_t z = slide_mix32(base ^ ((uint32_t)j * 0x9E3779B9u));
    float s = (z & 1u) ? -1.0f : 1.0f;
    return ((int32_t)(z >> 1) <= thr) ? s : 0.0f;
}

/* ------------------------------------------------------------------ SimHash kernels */

/* The materialised matrix is stored in column panels of width 64 (then 32, 16 for the rest of
 * KLpad): panel [c0, c0 + w) holds rows 0..dim-1 of w entries each at M + c0 * dim, so a dense
 * input streams every panel contiguously. */
static inline int panel_width(int c0, int KLpad) {
    const int left = KLpad - c0;
    return left >= 64 ? 64 : left >= 32 ? 32 : 16;
}

/* acc[c0..c0+w) += sum_q vals[q] * panel[rows[q]][0..w), q in order (w multiple of 16). */
ALWAYS_INLINE void sim_panel_body(const int8_t *P, int w, const int32_t *rows, const float *vals,
                                  int n, float *acc) {
    for (int jb = 0; jb < w; jb += 16) {
        float a[16];
        memcpy(a, acc + jb, sizeof a);
        for (int q = 0; q < n; q++) {
            const int8_t *m = P + (size_t)rows[q] * (size_t)w + jb;
            const float v = vals[q];
            for (int k = 0; k < 16; k++) a[k] += v * (float)m[k];
        }
        memcpy(acc + jb, a, sizeof a);
    }
}

/* acc[0..KL) += v * entry(f, 0..KL) computed on the fly. */
ALWAYS_INLINE void sim_otf_body(uint32_t base, int32_t thr, float v, float *acc, int KL) {
    for (int j = 0; j < KL; j++) acc[j] += v * sim_entry(base, j, thr);
}

static void sim_rows_generic(const int8_t *M, int64_t dim, int KLpad, const int32_t *rows,
                             const float *vals, int n, float *acc) {
    for (int c0 = 0; c0 < KLpad;) {
        const int w = panel_width(c0, KLpad);
        sim_panel_body(M + (size_t)c0 * (size_t)dim, w, rows, vals, n, acc + c0);
        c0 += w;
    }
}

static void sim_otf_generic(uint32_t base, int32_t thr, float v, float *acc, int KL) {
    sim_otf_body(base, thr, v, acc, KL);
}

#if HASH_X86
TARGET_AVX2 static inline __m256 load8_i8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
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

TARGET_AVX2 static void sim_rows_avx2(const int8_t *M, int64_t dim, int KLpad, const int32_t *rows,
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

TARGET_AVX2 static void sim_otf_avx2(uint32_t base, int32_t thr, float v, float *acc, int KL) {
    sim_otf_body(base, thr, v, acc, KL);
}
#endif

static void sim_rows(const slide_hash *h, const int32_t *rows, const float *vals, int n,
                     float *acc) {
#if HASH_X86
    if (h->avx2) {
        sim_rows_avx2(h->M, h->p.dim, h->KLpad, rows, vals, n, acc);
        return;
    }
#endif
    sim_rows_generic(h->M, h->p.dim, h->KLpad, rows, vals, n, acc);
}

static void sim_otf(const slide_hash *h, int64_t f, float v, float *acc) {
#if HASH_X86
    if (h->avx2) {
        sim_otf_avx2(sim_base(h, f), h->sim_thr, v, acc, h->KL);
        return;
    }
#endif
    sim_otf_generic(sim_base(h, f), h->sim_thr, v, acc, h->KL);
}

/* Projections of a dense x into acc[0..KLpad). */
static void sim_project_dense(const slide_hash *h, const float *x, float *acc) {
    memset(acc, 0, (size_t)h->KLpad * sizeof *acc);
    const int64_t dim = h->p.dim;
    if (!h->M) {
        for (int64_t i = 0; i < dim; i++)
            if (x[i] != 0.0f) sim_otf(h, i, x[i], acc);
        return;
    }
    int32_t rows[CHUNK];
    float vals[CHUNK];
    int n = 0;
    for (int64_t i = 0; i < dim; i++) {
        rows[n] = (int32_t)i;
        vals[n] = x[i];
        n += x[i] != 0.0f;
        if (n == CHUNK) {
            sim_rows(h, rows, vals, n, acc);
            n = 0;
        }
    }
    if (n) sim_rows(h, rows, vals, n, acc);
}

static void sim_project_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                               float *acc) {
    memset(acc, 0, (size_t)h->KLpad * sizeof *acc);
    const int64_t dim = h->p.dim;
    if (!h->M) {
        for (int q = 0; q < nnz; q++)
            if (val[q] != 0.0f && idx[q] >= 0 && idx[q] < dim) sim_otf(h, idx[q], val[q], acc);
        return;
    }
    int32_t rows[CHUNK];
    float vals[CHUNK];
    int n = 0;
    for (int q = 0; q < nnz; q++) {
        if (val[q] == 0.0f || idx[q] < 0 || idx[q] >= dim) continue;
        rows[n] = idx[q];
        vals[n] = val[q];
        if (++n == CHUNK) {
            sim_rows(h, rows, vals, n, acc);
            n = 0;
        }
    }
    if (n) sim_rows(h, rows, vals, n, acc);
}

static void sim_finish(const slide_hash *h, const float *acc, uint16_t *code, float *margin,
                       uint16_t *alt) {
    const int KL = h->KL; /* locals: with -fno-strict-aliasing stores could alias *h */
    for (int j = 0; j < KL; j++) code[j] = acc[j] > 0.0f;
    if (margin)
        for (int j = 0; j < KL; j++) {
            margin[j] = fabsf(acc[j]);
            alt[j] = code[j] ^ 1u;
        }
}

/* ------------------------------------------------------------------ SimHash batch
 *
 * slide_hash_keys_dense_batch hashes BATCH_LANES vectors at a time with the vectors in SIMD lanes:
 * the block is transposed into rows xT[r][lane], row 2d = x[d] and row 2d+1 = -x[d] of every
 * vector (row 2*dim is zeros), and projection j becomes a program: the rows of its nonzero
 * entries in ascending d (2d for +1, 2d+1 for -1). Running the program adds those rows into
 * acc[lane], which skips the ~(1 - 1/sparsity) zero entries that a per-vector kernel multiplies.
 *
 * Bit-identical to slide_hash_keys_dense for finite inputs: that path computes, per projection,
 * acc = +0 then acc += x[d] * e over the dims with x[d] != 0 in ascending order, e in {-1,0,+1}
 * (FMA or mul+add; the product is exact either way, and -x[d] * 1 = x[d] * -1). Here acc = +0
 * then acc += (+-x[d]) over the dims with e != 0 in ascending order, then += +0 padding. The two
 * sequences differ only by additions of +-0 (x[d] = +-0 here, e = 0 there), and adding +-0
 * leaves a float unchanged except that +0 + -0 = +0, which only matters when acc = -0; acc is
 * never -0 in either sequence (it starts at +0 and a sum of two nonzeros is +0 when exact zero).
 * So every partial sum is equal, and the bit (acc > 0) too. A vector with an inf or NaN
 * differs (inf * 0 = NaN there, skipped here): such vectors go through slide_hash_keys_dense. */

/* Program of every projection; columns sorted by nonzero count (descending) so that a group's
 * BATCH_G columns need about the same number of steps (short ones are padded with the zero row). */
static int sim_batch_build(slide_hash *h, slide_err *err) {
    const int64_t dim = h->p.dim;
    const int KL = h->KL, G = BATCH_G, ng = (KL + G - 1) / G;
    const size_t rowb = BATCH_LANES * sizeof(float); /* bytes per row of the block */
    const uint16_t zrow = (uint16_t)(2 * (size_t)dim * rowb);
    _Static_assert(2 * BATCH_MAX_DIM * BATCH_LANES * sizeof(float) <= UINT16_MAX,
                   "batch row offsets must fit uint16");
    if (dim > BATCH_MAX_DIM) return SLIDE_OK;
    int32_t *cnt = calloc((size_t)KL, sizeof *cnt), *slot = malloc((size_t)KL * sizeof *slot);
    int32_t *fill = calloc((size_t)KL, sizeof *fill);
    h->bstart = malloc((size_t)ng * sizeof *h->bstart);
    h->blen = malloc((size_t)ng * sizeof *h->blen);
    h->bcol = malloc((size_t)ng * G * sizeof *h->bcol);
    int rc = SLIDE_OK;
    if (!cnt || !slot || !fill || !h->bstart || !h->blen || !h->bcol) {
        rc = SLIDE_ENOMEM;
    } else {
        for (int64_t f = 0; f < dim; f++) {
            const uint32_t base = sim_base(h, f);
            for (int j = 0; j < KL; j++) cnt[j] += sim_entry(base, j, h->sim_thr) != 0.0f;
        }
        int pos = 0; /* counting sort: most nonzeros first, ties by column */
        for (int64_t c = dim; c >= 0; c--)
            for (int j = 0; j < KL; j++)
                if (cnt[j] == c) {
                    h->bcol[pos] = j;
                    slot[j] = pos++;
                }
        for (; pos < ng * G; pos++) h->bcol[pos] = -1;
        size_t total = 0;
        for (int g = 0; g < ng; g++) {
            h->bstart[g] = (int32_t)total;
            h->blen[g] = cnt[h->bcol[g * G]]; /* the group's first column has the most */
            total += (size_t)h->blen[g] * G;
        }
        h->bprog = malloc((total ? total : 1) * sizeof *h->bprog);
        if (!h->bprog) rc = SLIDE_ENOMEM;
        for (size_t e = 0; h->bprog && e < total; e++) h->bprog[e] = zrow;
        for (int64_t f = 0; h->bprog && f < dim; f++) {
            const uint32_t base = sim_base(h, f);
            for (int j = 0; j < KL; j++) {
                const float e = sim_entry(base, j, h->sim_thr);
                if (e == 0.0f) continue;
                const int g = slot[j] / G, u = slot[j] % G;
                h->bprog[h->bstart[g] + (size_t)fill[j]++ * G + u] =
                    (uint16_t)((2 * (size_t)f + (e < 0.0f)) * rowb);
            }
        }
        h->bgroups = ng;
    }
    free(cnt);
    free(slot);
    free(fill);
    if (rc) return slide_err_set(err, rc, 0, "hash: out of memory for the SimHash batch program");
    return SLIDE_OK;
}

/* colmask[j] bit v = (projection j of lane v > 0). xT: rows of BATCH_LANES floats. */
static void sim_batch_generic(const slide_hash *h, const float *xT, uint16_t *colmask) {
    enum { G = BATCH_G, NL = BATCH_LANES };
    for (int g = 0; g < h->bgroups; g++) {
        const uint16_t *p = h->bprog + h->bstart[g];
        float acc[G][NL];
        memset(acc, 0, sizeof acc);
        for (int i = 0; i < h->blen[g]; i++, p += G)
            for (int u = 0; u < G; u++) {
                const float *r = (const float *)(const void *)((const char *)xT + p[u]);
                for (int l = 0; l < NL; l++) acc[u][l] += r[l];
            }
        for (int u = 0; u < G; u++) {
            const int j = h->bcol[g * G + u];
            unsigned m = 0;
            for (int l = 0; l < NL; l++) m |= (unsigned)(acc[u][l] > 0.0f) << l;
            if (j >= 0) colmask[j] = (uint16_t)m;
        }
    }
}

#if HASH_X86
/* Same as sim_batch_generic: eight independent add chains (4 columns x 2 registers of lanes);
 * plain adds of exact +-x, so it matches the generic kernel and the per-vector path bit for bit. */
TARGET_AVX2 static void sim_batch_avx2(const slide_hash *h, const float *xT, uint16_t *colmask) {
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
#endif

/* raw[l] = the K bits (bit k = projection k of lane l > 0) of one table from its K lane masks. */
static void sim_batch_raw_generic(const uint16_t *cm, int K, uint32_t *raw) {
    for (int l = 0; l < BATCH_LANES; l++) raw[l] = 0;
    for (int k = K - 1; k >= 0; k--)
        for (int l = 0; l < BATCH_LANES; l++) raw[l] = raw[l] << 1 | ((uint32_t)cm[k] >> l & 1u);
}

#if HASH_X86
TARGET_AVX2 static void sim_batch_raw_avx2(const uint16_t *cm, int K, uint32_t *raw) {
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
#endif

/* Rows 2d and 2d + 1 of the block xT: x[d] and -x[d] of rows 0..nv-1 of x in lanes 0..nv-1,
 * zeros in the others. Returns the lanes whose row holds an inf or NaN. */
static unsigned sim_batch_transpose_generic(const float *x, int64_t stride, int64_t dim, int nv,
                                            float *xT) {
    enum { NL = BATCH_LANES };
    unsigned bad = 0;
    for (int v = 0; v < nv; v++) {
        const float *xr = x + v * stride;
        uint32_t nonfinite = 0;
        for (int64_t d = 0; d < dim; d++) {
            const float f = xr[d];
            uint32_t bits;
            memcpy(&bits, &f, sizeof bits);
            nonfinite |= (bits & 0x7F800000u) == 0x7F800000u;
            xT[2 * d * NL + v] = f;
            xT[(2 * d + 1) * NL + v] = -f;
        }
        bad |= nonfinite << v;
    }
    for (int v = nv; v < NL; v++) /* lanes past n: zeros, results unused */
        for (int64_t r = 0; r < 2 * dim; r++) xT[r * NL + v] = 0.0f;
    return bad;
}

#if HASH_X86
/* The same for a full block, eight rows x eight dims at a time (8x8 transposes in registers);
 * negation flips the sign bit, as -f does. */
TARGET_AVX2 static unsigned sim_batch_transpose_avx2(const float *x, int64_t stride, int64_t dim,
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
#endif

static unsigned sim_batch_transpose(const slide_hash *h, const float *x, int64_t stride, int nv,
                                    float *xT) {
#if HASH_X86
    if (h->avx2 && nv == BATCH_LANES) return sim_batch_transpose_avx2(x, stride, h->p.dim, xT);
#endif
    return sim_batch_transpose_generic(x, stride, h->p.dim, nv, xT);
}

static void sim_batch_run(const slide_hash *h, const float *xT, uint16_t *colmask) {
#if HASH_X86
    if (h->avx2) {
        sim_batch_avx2(h, xT, colmask);
        return;
    }
#endif
    sim_batch_generic(h, xT, colmask);
}

static void sim_batch_raw(const slide_hash *h, const uint16_t *cm, uint32_t *raw) {
#if HASH_X86
    if (h->avx2) {
        sim_batch_raw_avx2(cm, h->p.K, raw);
        return;
    }
#endif
    sim_batch_raw_generic(cm, h->p.K, raw);
}

/* Keys of rows i0 .. i0 + BATCH_LANES - 1 (those below n). */
static void sim_batch_block(const slide_hash *h, const float *x, int64_t stride, int64_t n,
                            int64_t i0, uint32_t *keys) {
    enum { NL = BATCH_LANES };
    const int64_t dim = h->p.dim;
    const int KL = h->KL, L = h->p.L, nv = n - i0 < NL ? (int)(n - i0) : NL;
    float buf[(2 * dim + 1) * NL + 16];
    float *xT = (float *)(((uintptr_t)buf + 63) & ~(uintptr_t)63);
    const unsigned bad = sim_batch_transpose(h, x + i0 * stride, stride, nv, xT);
    for (int l = 0; l < NL; l++) xT[2 * dim * NL + l] = 0.0f;
    uint16_t colmask[KL];
    sim_batch_run(h, xT, colmask);
    /* Keys as keys_from_codes makes them (SimHash: one bit per function, so one chunk). */
    const int K = h->p.K, mixed = h->mixed, sh = 64 - h->p.range_bits;
    for (int t = 0; t < L; t++) {
        uint32_t raw[NL];
        sim_batch_raw(h, colmask + t * K, raw);
        const uint64_t a = h->mix_a[t * 4], b = h->mix_b[t];
        uint32_t *out = keys + i0 * L + t;
        for (int v = 0; v < nv; v++)
            out[(int64_t)v * L] = mixed ? (uint32_t)((b + a * raw[v]) >> sh) : raw[v];
    }
    for (int v = 0; v < nv; v++) /* non-finite rows: the per-vector path (see above) */
        if (bad >> v & 1u) slide_hash_keys_dense(h, x + (i0 + v) * stride, 0, keys + (i0 + v) * L);
}

/* ------------------------------------------------------------------ WTA / DWTA */

typedef struct {
    float v1, v2;       /* best and runner-up values */
    uint16_t s1, s2;    /* their slots, NO_SLOT when none */
} top2;

static inline void top2_init(top2 *t) {
    t->v1 = t->v2 = -INFINITY;
    t->s1 = t->s2 = NO_SLOT;
}

/* Order: larger value first, equal values by lower slot. NaN never enters. */
static inline void top2_push(top2 *t, float v, unsigned s) {
    if (v > t->v1 || (v == t->v1 && s < t->s1)) {
        t->v2 = t->v1;
        t->s2 = t->s1;
        t->v1 = v;
        t->s1 = (uint16_t)s;
    } else if (v > t->v2 || (v == t->v2 && s < t->s2)) {
        t->v2 = v;
        t->s2 = (uint16_t)s;
    }
}

/* DWTA: an entry takes part only if nonzero and > -inf (also excludes NaN). */
static inline int dwta_present(float v) { return v != 0.0f && v > -INFINITY; }

static inline void top2_out(const top2 *t, int f, uint16_t *code, float *margin, uint16_t *alt) {
    code[f] = t->s1;
    if (margin) margin[f] = (t->s1 != NO_SLOT && t->s2 != NO_SLOT) ? t->v1 - t->v2 : -1.0f;
    if (alt) alt[f] = t->s2;
}

/* Winner of one bin: strict > over ascending slots keeps the lowest tied slot. DWTA skips
 * zeros; -inf and NaN never pass "v > best" (best starts at -inf). */
ALWAYS_INLINE unsigned bin_argmax(const float *x, const int32_t *b, int B, int dwta) {
    float best = -INFINITY;
    unsigned bs = dwta ? NO_SLOT : 0;
    for (int s = 0; s < B; s++) {
        const float v = x[b[s]];
        if (v > best && (!dwta || v != 0.0f)) {
            best = v;
            bs = (unsigned)s;
        }
    }
    return bs;
}

/* Scalar reference path: winners, and with margin/alt the top-2 records. */
static void wta_dense_scalar(const slide_hash *h, const float *x, int dwta, uint16_t *code,
                             float *margin, uint16_t *alt) {
    const int KL = h->KL, B = h->B;
    const int32_t *bins = h->bins;
    if (!margin) {
        for (int f = 0; f < KL; f++) code[f] = (uint16_t)bin_argmax(x, bins + (size_t)f * B, B, dwta);
        return;
    }
    for (int f = 0; f < KL; f++) {
        const int32_t *b = bins + (size_t)f * B;
        top2 t;
        top2_init(&t);
        for (int s = 0; s < B; s++) {
            float v = x[b[s]];
            if (!dwta || dwta_present(v)) top2_push(&t, v, (unsigned)s);
        }
        top2_out(&t, f, code, margin, alt);
    }
}

#if HASH_X86
/* x[id[0..8)] from eight scalar loads: on Zen 3 about 1.5x the throughput of vgatherdps. */
TARGET_AVX2 static inline __m256 gather8(const float *x, const int32_t *id) {
    return _mm256_setr_ps(x[id[0]], x[id[1]], x[id[2]], x[id[3]], x[id[4]], x[id[5]], x[id[6]],
                          x[id[7]]);
}

/* Eight functions at a time: one gather per slot, compare and blend, no branches. Scanning
 * slots in ascending order with strict > gives the same winner and runner-up as top2_push for
 * finite inputs (an equal later value can only become the runner-up). */
TARGET_AVX2 static void wta_dense_avx2(const slide_hash *h, const float *x, int dwta,
                                       uint16_t *code, float *margin, uint16_t *alt) {
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
#endif

static void wta_dense(const slide_hash *h, const float *x, int dwta, uint16_t *code,
                      float *margin, uint16_t *alt) {
#if HASH_X86
    if (h->avx2) {
        wta_dense_avx2(h, x, dwta, code, margin, alt);
        return;
    }
#endif
    wta_dense_scalar(h, x, dwta, code, margin, alt);
}

/* Whether the sparse input holds a nonzero at dim d (slow path for bins wider than 64). */
static int sparse_has(const int32_t *idx, const float *val, int nnz, int32_t d) {
    for (int q = 0; q < nnz; q++)
        if (idx[q] == d && val[q] != 0.0f) return 1;
    return 0;
}

/* Lowest (up to) two slots of function f holding a zero, given the mask of nonzero slots < 64. */
static int wta_zero_slots(const slide_hash *h, int f, uint64_t mask, const int32_t *idx,
                          const float *val, int nnz, unsigned z[2]) {
    const int B = h->B;
    int n = 0;
    uint64_t free_ = ~mask;
    if (B < 64) free_ &= (1ULL << B) - 1;
    while (free_ && n < 2) {
        z[n++] = (unsigned)__builtin_ctzll(free_);
        free_ &= free_ - 1;
    }
    for (int s = 64; s < B && n < 2; s++)
        if (!sparse_has(idx, val, nnz, h->bins[(size_t)f * B + s])) z[n++] = (unsigned)s;
    return n;
}

static void wta_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                       int dwta, uint16_t *code, float *margin, uint16_t *alt) {
    const int KL = h->KL, B = h->B, sh = h->bshift;
    const int64_t dim = h->p.dim;
    top2 st[KL];
    uint64_t mask[dwta ? 1 : KL];
    for (int f = 0; f < KL; f++) top2_init(&st[f]);
    if (!dwta) memset(mask, 0, sizeof mask);
    for (int q = 0; q < nnz; q++) {
        const int32_t d = idx[q];
        const float v = val[q];
        if (d < 0 || d >= dim || v == 0.0f || (dwta && !dwta_present(v))) continue;
        for (int32_t e = h->inv_ptr[d]; e < h->inv_ptr[d + 1]; e++) {
            const int32_t pos = h->inv_pos[e];
            const int f = pos >> sh;
            const unsigned s = (unsigned)(pos & (B - 1));
            top2_push(&st[f], v, s);
            if (!dwta && s < 64) mask[f] |= 1ULL << s;
        }
    }
    for (int f = 0; f < KL; f++) {
        top2 t = st[f];
        if (!dwta) {
            /* Absent entries are zeros: merge the two lowest zero slots when they can rank. */
            int need = t.s1 == NO_SLOT || t.v1 < 0.0f || (margin && (t.s2 == NO_SLOT || t.v2 < 0.0f));
            if (need) {
                unsigned z[2];
                int nz = wta_zero_slots(h, f, mask[f], idx, val, nnz, z);
                for (int i = 0; i < nz; i++) top2_push(&t, 0.0f, z[i]);
            }
        }
        top2_out(&t, f, code, margin, alt);
    }
}

/* Fills empty functions (code NO_SLOT): function f copies the code of the first non-empty bin
 * among dens_seq[f][0..99] (a seeded random sequence over all K*L functions, as in the DWTA
 * paper); if all of those are empty, the first non-empty bin after the last probed one
 * (circularly), so every empty function is filled whenever any bin is non-empty; if none is, all
 * codes are 0. Only bins non-empty before the pass are sources: filled codes carry bit 15 (as
 * NO_SLOT does) until the pass ends. Densified functions are not probed.
 * With few non-empty bins (sparse inputs) the first hit is found from the other side: each
 * non-empty bin lists the (function, attempt) pairs that probe it (dens_inv), O(non-empty * 100).
 * Both sides give the same result. */
static void dwta_densify(const slide_hash *h, uint16_t *code, float *margin) {
    const int KL = h->KL;
    int n_empty = 0;
    for (int f = 0; f < KL; f++) n_empty += code[f] == NO_SLOT;
    if (!n_empty) return;
    if (n_empty == KL) {
        for (int f = 0; f < KL; f++) code[f] = 0;
        return;
    }
    const int n_full = KL - n_empty;
    uint16_t full[KL]; /* ascending non-empty bins */
    for (int g = 0, n = 0; g < KL; g++)
        if (code[g] != NO_SLOT) full[n++] = (uint16_t)g;
    /* Forward probing costs about n_empty * min(100, KL / n_full) (branchy) loads; the inverse
     * side n_full * 100 (branch-free) ORs: bit a of hit[f] = attempt a of f hits a full bin. */
    const int fwd_attempts = KL / n_full < DENSIFY_ATTEMPTS ? KL / n_full : DENSIFY_ATTEMPTS;
    const int inv = h->dens_mode ? h->dens_mode == 2
                                 : (int64_t)n_full * DENSIFY_ATTEMPTS < (int64_t)4 * n_empty * fwd_attempts;
    uint64_t hit[inv ? 2 * KL : 1];
    if (inv) {
        memset(hit, 0, sizeof hit);
        for (int i = 0; i < n_full; i++)
            for (int32_t e = h->dens_ptr[full[i]]; e < h->dens_ptr[full[i] + 1]; e++) {
                const uint32_t fa = h->dens_inv[e], a = fa & 0xFFu;
                hit[2 * (fa >> 8) + (a >> 6)] |= 1ULL << (a & 63);
            }
    }
    for (int f = 0; f < KL; f++) {
        if (code[f] != NO_SLOT) continue;
        const uint16_t *seq = h->dens_seq + (size_t)f * DENSIFY_ATTEMPTS;
        int src = -1;
        if (inv) {
            const uint64_t h0 = hit[2 * f], h1 = hit[2 * f + 1];
            if (h0) src = seq[__builtin_ctzll(h0)];
            else if (h1) src = seq[64 + __builtin_ctzll(h1)];
        } else {
            for (int a = 0; a < DENSIFY_ATTEMPTS; a++)
                if (!(code[seq[a]] & 0x8000u)) {
                    src = seq[a];
                    break;
                }
        }
        if (src < 0) { /* first non-empty bin after the last probed one, circularly */
            int lo = 0, hi = n_full, after = seq[DENSIFY_ATTEMPTS - 1];
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (full[mid] > after) hi = mid;
                else lo = mid + 1;
            }
            src = full[lo == n_full ? 0 : lo];
        }
        code[f] = (uint16_t)(code[src] | 0x8000u);
        if (margin) margin[f] = -1.0f;
    }
    for (int f = 0; f < KL; f++) code[f] &= 0x7FFFu;
}

/* ------------------------------------------------------------------ codes -> keys */

static inline uint32_t key_mix(const slide_hash *h, int t, const uint64_t *ch) {
    if (!h->mixed) return (uint32_t)ch[0];
    uint64_t a = h->mix_b[t];
    for (int c = 0; c < h->nchunks; c++) a += h->mix_a[t * 4 + c] * ch[c];
    return (uint32_t)(a >> (64 - h->p.range_bits));
}

/* Keys of every table, plus n_probes probe keys per table when n_probes > 0 (then margin and
 * alt are required: margin < 0 or NaN marks a function without a runner-up). */
static void keys_from_codes(const slide_hash *h, const uint16_t *code, const float *margin,
                            const uint16_t *alt, int n_probes, uint32_t *keys) {
    const int K = h->p.K, L = h->p.L, per = 1 + n_probes, nchunks = h->nchunks, bits = h->bits;
    const int cpc = 64 / bits;
    if (n_probes <= 0 && nchunks == 1) { /* the common case, kept tight: one chunk, no probes */
        const int mixed = h->mixed, sh = 64 - h->p.range_bits;
        for (int t = 0; t < L; t++) {
            const uint16_t *c = code + t * K;
            uint64_t r = 0;
            for (int k = 0; k < K; k++) r |= (uint64_t)c[k] << (k * bits);
            keys[t] = mixed ? (uint32_t)((h->mix_b[t] + h->mix_a[t * 4] * r) >> sh) : (uint32_t)r;
        }
        return;
    }
    for (int t = 0; t < L; t++) {
        const uint16_t *c = code + t * K;
        uint64_t ch[4] = {0, 0, 0, 0};
        if (nchunks == 1) {
            uint64_t r = 0;
            for (int k = 0; k < K; k++) r |= (uint64_t)c[k] << (k * bits);
            ch[0] = r;
        } else {
            for (int q = 0, k = 0; q < nchunks; q++) {
                uint64_t r = 0;
                for (int u = 0; u < cpc && k < K; u++, k++) r |= (uint64_t)c[k] << (u * bits);
                ch[q] = r;
            }
        }
        uint32_t *out = keys + (size_t)t * per;
        out[0] = key_mix(h, t, ch);
        if (n_probes <= 0) continue;
        /* Candidates ordered by (margin, k): rank by counting (branch-free, vectorisable;
         * K <= 32). A non-negative float orders like its bit pattern; the sort key keeps the
         * top 26 bits of it (margins within 2^-18 relative count as equal, then by k) and the
         * index below. Functions without a runner-up sort last. */
        const float *mg = margin + t * K;
        int32_t sk[SLIDE_HASH_MAX_K];
        int ord[SLIDE_HASH_MAX_K], n = 0;
        for (int k = 0; k < K; k++) {
            const float m = mg[k] + 0.0f; /* -0 -> +0 */
            uint32_t b;
            memcpy(&b, &m, sizeof b);
            const int ok = m >= 0.0f;
            n += ok;
            sk[k] = (int32_t)(((ok ? b : 0x7FFFFFFFu) & ~31u) | (uint32_t)k);
        }
        for (int k = 0; k < K; k++) {
            int rank = 0;
            for (int u = 0; u < K; u++) rank += sk[u] < sk[k];
            ord[rank] = k; /* ranks are a permutation of 0..K-1 */
        }
        for (int i = 0; i < n_probes; i++) {
            if (i >= n) { /* nothing left to change: repeat the main key (the table dedups) */
                out[1 + i] = out[0];
                continue;
            }
            const int k = ord[i];
            uint64_t pc[4] = {ch[0], ch[1], ch[2], ch[3]};
            pc[h->kchunk[k]] ^= (uint64_t)(c[k] ^ alt[t * K + k]) << h->kshift[k];
            out[1 + i] = key_mix(h, t, pc);
        }
    }
}

static void finish_wta(const slide_hash *h, int dwta, uint16_t *code, float *margin) {
    if (dwta) {
        dwta_densify(h, code, margin);
        return;
    }
    for (int f = 0; f < h->KL; f++) /* WTA bins are never empty; only all-NaN bins land here */
        if (code[f] == NO_SLOT) code[f] = 0;
}

/* Final codes of a dense input; margin/alt (both or neither) for probes. */
static void compute_dense(const slide_hash *h, const float *x, uint16_t *code, float *margin,
                          uint16_t *alt) {
    if (h->p.family == SLIDE_HASH_SIMHASH) {
        float acc[h->KLpad];
        sim_project_dense(h, x, acc);
        sim_finish(h, acc, code, margin, alt);
        return;
    }
    const int dwta = h->p.family == SLIDE_HASH_DWTA;
    wta_dense(h, x, dwta, code, margin, alt);
    finish_wta(h, dwta, code, margin);
}

static void compute_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                           uint16_t *code, float *margin, uint16_t *alt) {
    if (h->p.family == SLIDE_HASH_SIMHASH) {
        float acc[h->KLpad];
        sim_project_sparse(h, idx, val, nnz, acc);
        sim_finish(h, acc, code, margin, alt);
        return;
    }
    const int dwta = h->p.family == SLIDE_HASH_DWTA;
    wta_sparse(h, idx, val, nnz, dwta, code, margin, alt);
    finish_wta(h, dwta, code, margin);
}

/* ------------------------------------------------------------------ rotation (rotate = 1) */

/* y = R x over rdim coordinates (x has dim; the rest is zero padding): per round, random signs
 * then an in-place Walsh-Hadamard butterfly; the 1/sqrt(rdim) per round is in the last signs. */
static void rotate_vec(const slide_hash *h, const float *x, float *y) {
    const int64_t n = h->rdim, d = h->p.dim;
    for (int64_t i = 0; i < d; i++) y[i] = x[i];
    for (int64_t i = d; i < n; i++) y[i] = 0.0f;
    for (int r = 0; r < 3; r++) {
        const float *sg = h->rsign + (int64_t)r * n;
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

/* A sparse input as the dense vector it stands for (indices outside [0, dim) ignored, as the
 * unrotated families do), then rotated. */
static void rotate_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                          float *y) {
    float x[h->p.dim];
    memset(x, 0, sizeof x);
    for (int i = 0; i < nnz; i++)
        if (idx[i] >= 0 && idx[i] < h->p.dim) x[idx[i]] = val[i];
    rotate_vec(h, x, y);
}

int64_t slide_hash_rotate(const slide_hash *h, const float *x, float *out) {
    if (!h->inner) return 0;
    rotate_vec(h, x, out);
    return h->rdim;
}

static int rotate_init(slide_hash *h, const slide_hash_params *p, slide_err *err) {
    /* the next power of two >= dim (>= bin_size: params_check holds WTA/DWTA to dim >= bin_size) */
    int64_t n = 1;
    while (n < p->dim) n <<= 1;
    h->rdim = n;
    h->rsign = malloc((size_t)(3 * n) * sizeof *h->rsign);
    if (!h->rsign) return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory");
    slide_rng rng;
    slide_rng_seed(&rng, p->seed, 0x2070A7E5ULL);
    const float scale = (float)pow((double)n, -0.5), last = scale * scale * scale;
    for (int64_t i = 0; i < 3 * n; i++)
        h->rsign[i] = (slide_rng_next(&rng) >> 63 ? 1.0f : -1.0f) * (i >= 2 * n ? last : 1.0f);
    slide_hash_params ip = *p;
    ip.rotate = 0;
    ip.dim = n;
    return slide_hash_create(&h->inner, &ip, err);
}

/* ------------------------------------------------------------------ public hashing calls */

void slide_hash_codes_dense(const slide_hash *h, const float *x, uint32_t *codes) {
    if (h->inner) {
        float y[h->rdim];
        rotate_vec(h, x, y);
        slide_hash_codes_dense(h->inner, y, codes);
        return;
    }
    uint16_t code[h->KL];
    compute_dense(h, x, code, NULL, NULL);
    for (int f = 0; f < h->KL; f++) codes[f] = code[f];
}

void slide_hash_codes_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                             uint32_t *codes) {
    if (h->inner) {
        float y[h->rdim];
        rotate_sparse(h, idx, val, nnz, y);
        slide_hash_codes_dense(h->inner, y, codes);
        return;
    }
    uint16_t code[h->KL];
    compute_sparse(h, idx, val, nnz, code, NULL, NULL);
    for (int f = 0; f < h->KL; f++) codes[f] = code[f];
}

static int clamp_probes(int n_probes) {
    return n_probes < 0 ? 0 : n_probes > SLIDE_HASH_MAX_PROBES ? SLIDE_HASH_MAX_PROBES : n_probes;
}

void slide_hash_keys_dense(const slide_hash *h, const float *x, int n_probes, uint32_t *keys) {
    if (h->inner) {
        float y[h->rdim];
        rotate_vec(h, x, y);
        slide_hash_keys_dense(h->inner, y, n_probes, keys);
        return;
    }
    const int KL = h->KL;
    n_probes = clamp_probes(n_probes);
    uint16_t code[KL];
    if (!n_probes) {
        compute_dense(h, x, code, NULL, NULL);
        keys_from_codes(h, code, NULL, NULL, 0, keys);
        return;
    }
    float margin[KL];
    uint16_t alt[KL];
    compute_dense(h, x, code, margin, alt);
    keys_from_codes(h, code, margin, alt, n_probes, keys);
}

void slide_hash_keys_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                            int n_probes, uint32_t *keys) {
    if (h->inner) {
        float y[h->rdim];
        rotate_sparse(h, idx, val, nnz, y);
        slide_hash_keys_dense(h->inner, y, n_probes, keys);
        return;
    }
    const int KL = h->KL;
    n_probes = clamp_probes(n_probes);
    uint16_t code[KL];
    if (!n_probes) {
        compute_sparse(h, idx, val, nnz, code, NULL, NULL);
        keys_from_codes(h, code, NULL, NULL, 0, keys);
        return;
    }
    float margin[KL];
    uint16_t alt[KL];
    compute_sparse(h, idx, val, nnz, code, margin, alt);
    keys_from_codes(h, code, margin, alt, n_probes, keys);
}

void slide_hash_keys_dense_batch(const slide_hash *h, const float *x, int64_t stride, int64_t n,
                                 uint32_t *keys, int threads) {
    threads = threads < 1 ? 1 : threads;
    const int64_t L = h->p.L;
    if (h->inner) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t i = 0; i < n; i++) slide_hash_keys_dense(h, x + i * stride, 0, keys + i * L);
        return;
    }
    if (h->bprog) { /* SimHash, small dim: blocks of BATCH_LANES vectors (sim_batch_block) */
        const int64_t nb = n > 0 ? (n + BATCH_LANES - 1) / BATCH_LANES : 0;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t b = 0; b < nb; b++) sim_batch_block(h, x, stride, n, b * BATCH_LANES, keys);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) slide_hash_keys_dense(h, x + i * stride, 0, keys + i * L);
}

/* ------------------------------------------------------------------ construction */

static int cpu_has_avx2(void) {
#if HASH_X86
    const char *e = getenv("SLIDE_SIMD");
    if (e && !strcasecmp(e, "scalar")) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* Bins as consecutive draws from a stream of random permutations of 0..dim-1 (lazy
 * Fisher-Yates); a bin straddling two permutations redraws dims it already holds. */
static int wta_build_bins(slide_hash *h, slide_err *err) {
    const int64_t dim = h->p.dim;
    const int KL = h->KL, B = h->B;
    const size_t npos = (size_t)KL * (size_t)B;
    int32_t *perm = malloc((size_t)dim * sizeof *perm);
    h->bins = malloc(npos * sizeof *h->bins);
    h->inv_ptr = calloc((size_t)dim + 1, sizeof *h->inv_ptr);
    h->inv_pos = malloc(npos * sizeof *h->inv_pos);
    if (!perm || !h->bins || !h->inv_ptr || !h->inv_pos) {
        free(perm);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory for %d WTA bins of dim %lld",
                             KL, (long long)dim);
    }
    for (int64_t i = 0; i < dim; i++) perm[i] = (int32_t)i;
    slide_rng rng;
    slide_rng_seed(&rng, h->p.seed, 0x57A0B1115ULL);
    int64_t cur = 0;
    for (int f = 0; f < KL; f++) {
        int32_t *b = h->bins + (size_t)f * B;
        int bin_start_round = 1; /* all of this bin's dims come from the current permutation */
        for (int s = 0; s < B; s++) {
            if (cur == dim) {
                cur = 0;
                bin_start_round = s == 0;
            }
            for (;;) {
                int64_t r = cur + (int64_t)slide_rng_below(&rng, (uint32_t)(dim - cur));
                int32_t d = perm[r];
                int dup = 0;
                if (!bin_start_round)
                    for (int u = 0; u < s; u++) dup |= b[u] == d;
                if (dup) continue;
                perm[r] = perm[cur];
                perm[cur] = d;
                cur++;
                b[s] = d;
                break;
            }
        }
    }
    free(perm);
    const int G = (KL + 7) / 8;
    h->bins_t = malloc((size_t)G * B * 8 * sizeof *h->bins_t);
    if (!h->bins_t) return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory for WTA bins");
    for (int g = 0; g < G; g++)
        for (int s = 0; s < B; s++)
            for (int k = 0; k < 8; k++) {
                const int f = g * 8 + k; /* padding functions read dim 0; results dropped */
                h->bins_t[((size_t)g * B + s) * 8 + k] = f < KL ? h->bins[(size_t)f * B + s] : 0;
            }
    /* Inverse map dim -> positions (CSR), positions ascending within a dim. */
    for (size_t e = 0; e < npos; e++) h->inv_ptr[h->bins[e] + 1]++;
    for (int64_t d = 0; d < dim; d++) h->inv_ptr[d + 1] += h->inv_ptr[d];
    int32_t *fill = malloc((size_t)dim * sizeof *fill);
    if (!fill) return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory for the inverse map");
    memcpy(fill, h->inv_ptr, (size_t)dim * sizeof *fill);
    for (size_t e = 0; e < npos; e++) h->inv_pos[fill[h->bins[e]]++] = (int32_t)e;
    free(fill);
    return SLIDE_OK;
}

/* Densification probe sequences and their inverse (which functions probe bin g, when). */
static int dwta_build_seq(slide_hash *h, slide_rng *rng, slide_err *err) {
    const int KL = h->KL;
    const size_t n = (size_t)KL * DENSIFY_ATTEMPTS;
    const char *mode = getenv("SLIDE_HASH_DENSIFY");
    h->dens_mode = !mode ? 0 : !strcasecmp(mode, "forward") ? 1 : !strcasecmp(mode, "inverse") ? 2 : 0;
    h->dens_seq = malloc(n * sizeof *h->dens_seq);
    h->dens_ptr = calloc((size_t)KL + 1, sizeof *h->dens_ptr);
    h->dens_inv = malloc(n * sizeof *h->dens_inv);
    if (!h->dens_seq || !h->dens_ptr || !h->dens_inv)
        return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory for DWTA densification");
    for (size_t e = 0; e < n; e++) h->dens_seq[e] = (uint16_t)slide_rng_below(rng, (uint32_t)KL);
    for (size_t e = 0; e < n; e++) h->dens_ptr[h->dens_seq[e] + 1]++;
    for (int g = 0; g < KL; g++) h->dens_ptr[g + 1] += h->dens_ptr[g];
    int32_t fill[KL];
    memcpy(fill, h->dens_ptr, sizeof fill);
    for (size_t e = 0; e < n; e++)
        h->dens_inv[fill[h->dens_seq[e]]++] =
            (uint32_t)(e / DENSIFY_ATTEMPTS) << 8 | (uint32_t)(e % DENSIFY_ATTEMPTS);
    return SLIDE_OK;
}

static int sim_build(slide_hash *h, slide_err *err) {
    const int64_t dim = h->p.dim;
    slide_rng rng;
    slide_rng_seed(&rng, h->p.seed, 0x51A4A54ULL);
    h->sim_seed = slide_rng_next(&rng);
    /* keep iff (z >> 1) <= thr, z uniform 32-bit: probability ceil(2^31 / s) / 2^31 */
    h->sim_thr = (int32_t)((((int64_t)1 << 31) + h->p.sparsity - 1) / h->p.sparsity - 1);
    if (dim * (int64_t)h->KL > DENSE_MAX_ENTRIES) return SLIDE_OK;
    const size_t bytes = (size_t)dim * (size_t)h->KLpad;
    h->M = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!h->M)
        return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory for the %lld x %d projection matrix",
                             (long long)dim, h->KL);
    for (int64_t f = 0; f < dim; f++) {
        const uint32_t base = sim_base(h, f);
        for (int c0 = 0; c0 < h->KLpad;) {
            const int w = panel_width(c0, h->KLpad);
            int8_t *row = h->M + (size_t)c0 * (size_t)dim + (size_t)f * (size_t)w;
            for (int j = 0; j < w; j++)
                row[j] = (int8_t)(c0 + j < h->KL ? sim_entry(base, c0 + j, h->sim_thr) : 0.0f);
            c0 += w;
        }
    }
    return SLIDE_OK;
}

int slide_hash_create(slide_hash **out, const slide_hash_params *p, slide_err *err) {
    *out = NULL;
    const char *m = slide_hash_params_check(p);
    if (m) return slide_err_set(err, SLIDE_EINVAL, 0, "hash: %s", m);
    slide_hash *h = calloc(1, sizeof *h);
    if (!h) return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory");
    h->p = *p;
    if (p->rotate) {
        int rc = rotate_init(h, p, err);
        if (rc) {
            slide_hash_destroy(h);
            return rc;
        }
        h->KL = h->inner->KL;
        *out = h;
        return SLIDE_OK;
    }
    h->KL = p->K * p->L;
    h->KLpad = (h->KL + 15) / 16 * 16;
    if (p->family == SLIDE_HASH_SIMHASH) {
        h->bits = 1;
    } else {
        h->B = p->bin_size;
        h->bshift = __builtin_ctz((unsigned)p->bin_size);
        h->bits = h->bshift;
    }
    h->raw_bits = p->K * h->bits;
    h->mixed = h->raw_bits > p->range_bits;
    h->key_bits = h->mixed ? p->range_bits : h->raw_bits;
    const int cpc = 64 / h->bits;
    for (int k = 0; k < p->K; k++) {
        h->kchunk[k] = (uint8_t)(k / cpc);
        h->kshift[k] = (uint8_t)((k % cpc) * h->bits);
    }
    h->nchunks = (p->K + cpc - 1) / cpc;
    h->avx2 = cpu_has_avx2();
    h->mix_a = malloc((size_t)p->L * 4 * sizeof *h->mix_a);
    h->mix_b = malloc((size_t)p->L * sizeof *h->mix_b);
    if (!h->mix_a || !h->mix_b) {
        slide_hash_destroy(h);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "hash: out of memory");
    }
    slide_rng rng;
    slide_rng_seed(&rng, p->seed, 0x4B3E5ULL);
    for (int t = 0; t < p->L; t++) {
        for (int c = 0; c < 4; c++) h->mix_a[t * 4 + c] = slide_rng_next(&rng) | 1ULL;
        h->mix_b[t] = slide_rng_next(&rng);
    }
    int rc = p->family == SLIDE_HASH_SIMHASH ? sim_build(h, err) : wta_build_bins(h, err);
    if (!rc && p->family == SLIDE_HASH_SIMHASH) rc = sim_batch_build(h, err);
    if (!rc && p->family == SLIDE_HASH_DWTA) rc = dwta_build_seq(h, &rng, err);
    if (rc) {
        slide_hash_destroy(h);
        return rc;
    }
    *out = h;
    return SLIDE_OK;
}

void slide_hash_destroy(slide_hash *h) {
    if (!h) return;
    slide_hash_destroy(h->inner);
    free(h->rsign);
    free(h->mix_a);
    free(h->mix_b);
    free(h->M);
    free(h->bprog);
    free(h->bstart);
    free(h->blen);
    free(h->bcol);
    free(h->bins);
    free(h->bins_t);
    free(h->inv_ptr);
    free(h->inv_pos);
    free(h->dens_seq);
    free(h->dens_ptr);
    free(h->dens_inv);
    free(h);
}

const slide_hash_params *slide_hash_params_of(const slide_hash *h) { return &h->p; }
int slide_hash_key_bits(const slide_hash *h) { return h->inner ? h->inner->key_bits : h->key_bits; }
int slide_hash_bits_per_function(const slide_hash *h) { return h->inner ? h->inner->bits : h->bits; }

int slide_hash_bin_dims(const slide_hash *h, int j, const int32_t **dims) {
    if (h->inner) return slide_hash_bin_dims(h->inner, j, dims);
    if (h->p.family == SLIDE_HASH_SIMHASH || j < 0 || j >= h->KL) return 0;
    *dims = h->bins + (size_t)j * h->B;
    return h->B;
}

int slide_hash_simhash_entry(const slide_hash *h, int64_t f, int j) {
    if (h->p.family != SLIDE_HASH_SIMHASH || f < 0 || f >= h->p.dim || j < 0 || j >= h->KL)
        return 0;
    return (int)sim_entry(sim_base(h, f), j, h->sim_thr);
}

const char *slide_hash_simd_path(const slide_hash *h) {
    if (h->inner) return slide_hash_simd_path(h->inner);
    return h->avx2 ? "avx2" : "scalar";
}
