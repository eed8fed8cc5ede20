/* WTA and DWTA (densified winner-take-all): bins drawn from random permutations, the code of a
 * bin = the slot of its largest entry, and DWTA's densification of empty bins. Scalar reference
 * kernel here, AVX2 in kern/hash_avx2.c. */
#include "hash_internal.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ construction */

/* Bins as consecutive draws from a stream of random permutations of 0..dim-1 (lazy
 * Fisher-Yates); a bin straddling two permutations redraws dims it already holds. */
int slide_hash_wta_build_bins(slide_hash *h, slide_err *err) {
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
int slide_hash_dwta_build_seq(slide_hash *h, slide_rng *rng, slide_err *err) {
    const int KL = h->KL;
    const size_t n = (size_t)KL * DENSIFY_ATTEMPTS;
    h->dens_mode = h->p.densify;
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

/* ------------------------------------------------------------------ codes */

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
void slide_hash_wta_dense_scalar(const slide_hash *h, const float *x, int dwta, uint16_t *code,
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

static void finish_wta(const slide_hash *h, int dwta, uint16_t *code, float *margin) {
    if (dwta) {
        dwta_densify(h, code, margin);
        return;
    }
    for (int f = 0; f < h->KL; f++) /* WTA bins are never empty; only all-NaN bins land here */
        if (code[f] == NO_SLOT) code[f] = 0;
}

void slide_hash_wta_codes_dense(const slide_hash *h, const float *x, uint16_t *code,
                                float *margin, uint16_t *alt) {
    const int dwta = h->p.family == SLIDE_HASH_DWTA;
    h->kern->wta_dense(h, x, dwta, code, margin, alt);
    finish_wta(h, dwta, code, margin);
}

void slide_hash_wta_codes_sparse(const slide_hash *h, const int32_t *idx, const float *val,
                                 int nnz, uint16_t *code, float *margin, uint16_t *alt) {
    const int dwta = h->p.family == SLIDE_HASH_DWTA;
    wta_sparse(h, idx, val, nnz, dwta, code, margin, alt);
    finish_wta(h, dwta, code, margin);
}
