/* SimHash: sparse +-1 random projections drawn from a seeded hash of (dimension, function),
 * materialised as an int8 matrix when small; one bit per function; and the batch form that
 * hashes BATCH_LANES dense rows at once. Scalar reference kernels here, AVX2 in kern/. */
#include "hash_internal.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ construction */

int slide_hash_sim_build(slide_hash *h, slide_err *err) {
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
        return slide_err_set(err, SLIDE_ENOMEM, 0,
                             "hash: out of memory for the %lld x %d projection matrix",
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

/* ------------------------------------------------------------------ scalar kernels */

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

void slide_hash_sim_rows_scalar(const int8_t *M, int64_t dim, int KLpad, const int32_t *rows,
                                const float *vals, int n, float *acc) {
    for (int c0 = 0; c0 < KLpad;) {
        const int w = panel_width(c0, KLpad);
        sim_panel_body(M + (size_t)c0 * (size_t)dim, w, rows, vals, n, acc + c0);
        c0 += w;
    }
}

void slide_hash_sim_otf_scalar(uint32_t base, int32_t thr, float v, float *acc, int KL) {
    sim_otf_body(base, thr, v, acc, KL);
}

/* ------------------------------------------------------------------ codes */

static void sim_rows(const slide_hash *h, const int32_t *rows, const float *vals, int n,
                     float *acc) {
    h->kern->sim_rows(h->M, h->p.dim, h->KLpad, rows, vals, n, acc);
}

static void sim_otf(const slide_hash *h, int64_t f, float v, float *acc) {
    h->kern->sim_otf(sim_base(h, f), h->sim_thr, v, acc, h->KL);
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

void slide_hash_sim_codes_dense(const slide_hash *h, const float *x, uint16_t *code,
                                float *margin, uint16_t *alt) {
    float acc[h->KLpad];
    sim_project_dense(h, x, acc);
    sim_finish(h, acc, code, margin, alt);
}

void slide_hash_sim_codes_sparse(const slide_hash *h, const int32_t *idx, const float *val,
                                 int nnz, uint16_t *code, float *margin, uint16_t *alt) {
    float acc[h->KLpad];
    sim_project_sparse(h, idx, val, nnz, acc);
    sim_finish(h, acc, code, margin, alt);
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
int slide_hash_sim_batch_build(slide_hash *h, slide_err *err) {
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
void slide_hash_sim_batch_scalar(const slide_hash *h, const float *xT, uint16_t *colmask) {
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


/* raw[l] = the K bits (bit k = projection k of lane l > 0) of one table from its K lane masks. */
void slide_hash_sim_batch_raw_scalar(const uint16_t *cm, int K, uint32_t *raw) {
    for (int l = 0; l < BATCH_LANES; l++) raw[l] = 0;
    for (int k = K - 1; k >= 0; k--)
        for (int l = 0; l < BATCH_LANES; l++) raw[l] = raw[l] << 1 | ((uint32_t)cm[k] >> l & 1u);
}

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

static unsigned sim_batch_transpose(const slide_hash *h, const float *x, int64_t stride, int nv,
                                    float *xT) {
    if (h->kern->sim_batch_transpose && nv == BATCH_LANES)
        return h->kern->sim_batch_transpose(x, stride, h->p.dim, xT);
    return sim_batch_transpose_generic(x, stride, h->p.dim, nv, xT);
}

/* Keys of rows i0 .. i0 + BATCH_LANES - 1 (those below n). */
void slide_hash_sim_batch_block(const slide_hash *h, const float *x, int64_t stride, int64_t n,
                                int64_t i0, uint32_t *keys) {
    enum { NL = BATCH_LANES };
    const int64_t dim = h->p.dim;
    const int KL = h->KL, L = h->p.L, nv = n - i0 < NL ? (int)(n - i0) : NL;
    float buf[(2 * dim + 1) * NL + 16];
    float *xT = (float *)(((uintptr_t)buf + 63) & ~(uintptr_t)63);
    const unsigned bad = sim_batch_transpose(h, x + i0 * stride, stride, nv, xT);
    for (int l = 0; l < NL; l++) xT[2 * dim * NL + l] = 0.0f;
    uint16_t colmask[KL];
    h->kern->sim_batch(h, xT, colmask);
    /* Keys as keys_from_codes makes them (SimHash: one bit per function, so one chunk). */
    const int K = h->p.K, mixed = h->mixed, sh = 64 - h->p.range_bits;
    for (int t = 0; t < L; t++) {
        uint32_t raw[NL];
        h->kern->sim_batch_raw(colmask + t * K, K, raw);
        const uint64_t a = h->mix_a[t * 4], b = h->mix_b[t];
        uint32_t *out = keys + i0 * L + t;
        for (int v = 0; v < nv; v++)
            out[(int64_t)v * L] = mixed ? (uint32_t)((b + a * raw[v]) >> sh) : raw[v];
    }
    for (int v = 0; v < nv; v++) /* non-finite rows: the per-vector path (see above) */
        if (bad >> v & 1u) slide_hash_keys_dense(h, x + (i0 + v) * stride, 0, keys + (i0 + v) * L);
}
