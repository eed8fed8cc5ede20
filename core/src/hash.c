/* LSH hash families for SLIDE (SimHash, WTA, DWTA): parameters, construction, the choice of
 * kernels (params.simd), table keys with multi-probe, and the public hashing calls. The families
 * live in hash_simhash.c and hash_wta.c, their AVX2 kernels in kern/hash_avx2.c, the rotation in
 * transform.c; hash_internal.h states the conventions. */
#include "hash_internal.h"

#include <stdlib.h>
#include <strings.h>

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
    p.simd = -1;
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
    if (p->simd < -1 || p->simd > SLIDE_SIMD_AVX512)
        return "hash simd must be -1 (best available), 0 (scalar), 1 (avx2) or 2 (avx512)";
    if (p->simd >= 0 && !slide_simd_available(p->simd))
        return "hash simd path not available on this machine";
    if (p->densify < 0 || p->densify > 2)
        return "densify must be 0 (auto), 1 (forward only) or 2 (inverse only)";
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

/* ------------------------------------------------------------------ codes -> keys */

static inline uint32_t key_mix(const slide_hash *h, int t, const uint64_t *ch) {
    if (!h->mixed) return (uint32_t)ch[0];
    uint64_t a = h->mix_b[t];
    for (int c = 0; c < h->nchunks; c++) a += h->mix_a[t * 4 + c] * ch[c];
    return (uint32_t)(a >> (64 - h->p.range_bits));
}

/* ord[0..K) = a table's functions ordered by (margin, k): rank by counting (branch-free,
 * vectorisable; K <= 32). A non-negative float orders like its bit pattern; the sort key keeps
 * the top 26 bits of it (margins within 2^-18 relative count as equal, then by k) and the index
 * below. Functions without a runner-up (margin < 0 or NaN) sort last; returns how many have one. */
static int probe_order(const float *mg, int K, int *ord) {
    int32_t sk[SLIDE_HASH_MAX_K];
    int n = 0;
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
    return n;
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
        int ord[SLIDE_HASH_MAX_K];
        const int n = probe_order(margin + t * K, K, ord);
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

/* Final codes of a dense input; margin/alt (both or neither) for probes. */
static void compute_dense(const slide_hash *h, const float *x, uint16_t *code, float *margin,
                          uint16_t *alt) {
    if (h->p.family == SLIDE_HASH_SIMHASH) slide_hash_sim_codes_dense(h, x, code, margin, alt);
    else slide_hash_wta_codes_dense(h, x, code, margin, alt);
}

static void compute_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                           uint16_t *code, float *margin, uint16_t *alt) {
    if (h->p.family == SLIDE_HASH_SIMHASH)
        slide_hash_sim_codes_sparse(h, idx, val, nnz, code, margin, alt);
    else slide_hash_wta_codes_sparse(h, idx, val, nnz, code, margin, alt);
}

/* ------------------------------------------------------------------ rotation (rotate = 1) */

int64_t slide_hash_rotate(const slide_hash *h, const float *x, float *out) {
    if (!h->inner) return 0;
    slide_rotation_apply(&h->rot, x, out);
    return h->rot.rdim;
}

/* This object rotates; the hashing is done by inner, made for the padded dimension (>= dim >=
 * bin_size: params_check holds WTA/DWTA to dim >= bin_size). */
static int rotate_init(slide_hash *h, const slide_hash_params *p, slide_err *err) {
    int rc = slide_rotation_init(&h->rot, p->dim, p->seed, err);
    if (rc) return rc;
    slide_hash_params ip = *p;
    ip.rotate = 0;
    ip.dim = h->rot.rdim;
    return slide_hash_create(&h->inner, &ip, err);
}

/* ------------------------------------------------------------------ public hashing calls */

void slide_hash_codes_dense(const slide_hash *h, const float *x, uint32_t *codes) {
    if (h->inner) {
        float y[h->rot.rdim];
        slide_rotation_apply(&h->rot, x, y);
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
        float y[h->rot.rdim];
        slide_rotation_apply_sparse(&h->rot, idx, val, nnz, y);
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
        float y[h->rot.rdim];
        slide_rotation_apply(&h->rot, x, y);
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
        float y[h->rot.rdim];
        slide_rotation_apply_sparse(&h->rot, idx, val, nnz, y);
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
    if (h->bprog) { /* SimHash, small dim: blocks of BATCH_LANES vectors (hash_simhash.c) */
        const int64_t nb = n > 0 ? (n + BATCH_LANES - 1) / BATCH_LANES : 0;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t b = 0; b < nb; b++)
            slide_hash_sim_batch_block(h, x, stride, n, b * BATCH_LANES, keys);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) slide_hash_keys_dense(h, x + i * stride, 0, keys + i * L);
}

/* ------------------------------------------------------------------ construction */

const slide_hash_kern slide_hash_kern_scalar = {
    .name = "scalar",
    .sim_rows = slide_hash_sim_rows_scalar,
    .sim_otf = slide_hash_sim_otf_scalar,
    .sim_batch = slide_hash_sim_batch_scalar,
    .sim_batch_raw = slide_hash_sim_batch_raw_scalar,
    .sim_batch_transpose = NULL,
    .wta_dense = slide_hash_wta_dense_scalar,
};

/* The kernels of path simd (-1: the best this CPU runs). AVX-512 machines use the AVX2 ones. */
static const slide_hash_kern *kern_for(int simd) {
    if (simd < 0) simd = slide_simd_best();
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
    if (simd >= SLIDE_SIMD_AVX2 && slide_simd_available(SLIDE_SIMD_AVX2)) return &slide_hash_kern_avx2;
#endif
    return &slide_hash_kern_scalar;
}

int slide_hash_params_key_bits(const slide_hash_params *p) {
    const int bits = p->family == SLIDE_HASH_SIMHASH ? 1 : __builtin_ctz((unsigned)p->bin_size);
    const int raw = p->K * bits;
    return raw > p->range_bits ? p->range_bits : raw;
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
    h->key_bits = slide_hash_params_key_bits(p);
    const int cpc = 64 / h->bits;
    for (int k = 0; k < p->K; k++) {
        h->kchunk[k] = (uint8_t)(k / cpc);
        h->kshift[k] = (uint8_t)((k % cpc) * h->bits);
    }
    h->nchunks = (p->K + cpc - 1) / cpc;
    h->kern = kern_for(p->simd);
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
    int rc = p->family == SLIDE_HASH_SIMHASH ? slide_hash_sim_build(h, err)
                                              : slide_hash_wta_build_bins(h, err);
    if (!rc && p->family == SLIDE_HASH_SIMHASH) rc = slide_hash_sim_batch_build(h, err);
    if (!rc && p->family == SLIDE_HASH_DWTA) rc = slide_hash_dwta_build_seq(h, &rng, err);
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
    slide_rotation_free(&h->rot);
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
    return h->kern->name;
}
