/* Shared by the libFuzzer harnesses and their seed generator: oracles that turn a silently wrong
 * result into a crash (FUZZ_REQUIRE), a data-set invariant checker, and the fuzzed network. */
#ifndef SLIDE_FUZZ_COMMON_H
#define SLIDE_FUZZ_COMMON_H

#include "slide/checkpoint.h"
#include "slide/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Always on (libFuzzer builds may define NDEBUG): a failed oracle is a crash with a message. */
#define FUZZ_REQUIRE(x)                                                                  \
    do {                                                                                 \
        if (!(x)) {                                                                      \
            fprintf(stderr, "FUZZ_REQUIRE failed: %s at %s:%d\n", #x, __FILE__, __LINE__); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* A failed call must say why: a known class and a non-empty, terminated message. */
static inline void fuzz_check_err(int rc, const slide_err *err) {
    FUZZ_REQUIRE(rc >= SLIDE_EINVAL && rc <= SLIDE_EUNSUP);
    FUZZ_REQUIRE(err->code == rc);
    FUZZ_REQUIRE(memchr(err->msg, '\0', sizeof err->msg) != NULL);
    FUZZ_REQUIRE(err->msg[0] != '\0');
    FUZZ_REQUIRE(err->line >= 0);
}

/* A successful load must give the documented CSR invariants (data.h). */
static inline void fuzz_check_data(const slide_data *ds) {
    FUZZ_REQUIRE(ds->n >= 0 && ds->d >= 1 && ds->l >= 1);
    FUZZ_REQUIRE(ds->d <= INT32_MAX && ds->l <= INT32_MAX);
    FUZZ_REQUIRE(ds->row_ptr && ds->lab_ptr);
    FUZZ_REQUIRE(ds->row_ptr[0] == 0 && ds->lab_ptr[0] == 0);
    FUZZ_REQUIRE(ds->row_ptr[ds->n] == ds->nnz && ds->lab_ptr[ds->n] == ds->nlab);
    for (int64_t i = 0; i < ds->n; i++) {
        FUZZ_REQUIRE(ds->row_ptr[i + 1] >= ds->row_ptr[i]);
        FUZZ_REQUIRE(ds->lab_ptr[i + 1] >= ds->lab_ptr[i]);
        for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++) {
            FUZZ_REQUIRE(ds->feat[j] >= 0 && ds->feat[j] < ds->d);
            FUZZ_REQUIRE(j == ds->row_ptr[i] || ds->feat[j] > ds->feat[j - 1]);
            FUZZ_REQUIRE(isfinite(ds->val[j]));
        }
        for (int64_t j = ds->lab_ptr[i]; j < ds->lab_ptr[i + 1]; j++) {
            FUZZ_REQUIRE(ds->lab[j] >= 0 && ds->lab[j] < ds->l);
            FUZZ_REQUIRE(j == ds->lab_ptr[i] || ds->lab[j] > ds->lab[j - 1]);
        }
    }
}

/* The network fuzz_checkpoint loads into (and gen_seeds writes seeds for): 8 features ->
 * 4 hidden -> 8 labels, sampled SimHash output layer with K=2, L=2, one thread. */
#define FUZZ_NET_D 8
#define FUZZ_NET_L 8
static inline slide_net_params fuzz_net_params(void) {
    slide_net_params p = slide_net_params_default();
    p.layer[0].n_out = 4;
    p.layer[1].hash.family = SLIDE_HASH_SIMHASH;
    p.layer[1].hash.K = 2;
    p.layer[1].hash.L = 2;
    p.layer[1].hash.range_bits = 2;
    p.layer[1].min_active_frac = 0.25;
    p.layer[1].max_active_frac = 0.5;
    slide_net_params_shape(&p, FUZZ_NET_D, FUZZ_NET_L);
    p.threads = 1;
    p.batch = 4;
    p.seed = 3;
    p.rehash_every = 1;
    p.rebuild_every = 2;
    p.simd = SLIDE_SIMD_SCALAR;
    return p;
}

/* Driver blob capacity the harness offers (slide-train stores a struct + permutation). */
#define FUZZ_USER_CAP 256

/* ---- Resealing: copies of the two file checksums, so a harness can also feed each mutated input
 * with a correct checksum and reach the checks behind it. Each harness verifies at start-up that
 * these agree with the library on a file the library wrote (and aborts if the format moved on). */

static inline uint64_t fuzz_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* checkpoint.c ck_*: word-wise over all bytes before the trailing checksum. */
static inline uint64_t fuzz_ckpt_sum(const uint8_t *b, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ fuzz_mix64(w + 0x632BE59BD9B4E019ULL)) * 0xff51afd7ed558ccdULL;
    }
    int nt = (int)(n - i);
    for (int k = 0; k < nt; k++) h = (h ^ b[i + (size_t)k]) * 0x100000001b3ULL;
    return fuzz_mix64(h ^ (uint64_t)nt);
}

/* data.c cache_hash: 4-lane xor-multiply over one segment, chained by seed. */
static inline uint64_t fuzz_cache_hash(uint64_t seed, const uint8_t *p, size_t len) {
    const uint64_t K = 0x9E3779B97F4A7C15ULL;
    uint64_t h[4] = {seed ^ 0x243F6A8885A308D3ULL, seed ^ 0x13198A2E03707344ULL,
                     seed ^ 0xA4093822299F31D0ULL, seed ^ 0x082EFA98EC4E6C89ULL};
    size_t i = 0;
#define FUZZ_ROTL(x) (((x) << 31) | ((x) >> 33))
    for (; i + 32 <= len; i += 32)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            h[k] = FUZZ_ROTL((h[k] ^ w) * K);
        }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h[0] = FUZZ_ROTL((h[0] ^ w) * K);
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, p + i, len - i);
        h[1] = FUZZ_ROTL((h[1] ^ w) * K);
    }
#undef FUZZ_ROTL
    uint64_t r = seed ^ (uint64_t)len;
    for (int k = 0; k < 4; k++) r = (r ^ fuzz_mix64(h[k])) * K;
    return fuzz_mix64(r);
}

/* Checksum a data cache of len bytes should carry, when its header's sizes match len (the
 * segments are hashed one after another); 0 with *ok = 0 otherwise. */
static inline uint64_t fuzz_cache_sum(const uint8_t *b, size_t len, int *ok) {
    int64_t n, nnz, nlab;
    *ok = 0;
    if (len < 72 + 8) return 0;
    memcpy(&n, b + 16, 8);
    memcpy(&nnz, b + 40, 8);
    memcpy(&nlab, b + 48, 8);
    if (n < 0 || nnz < 0 || nlab < 0 || (uint64_t)n > len || (uint64_t)nnz > len ||
        (uint64_t)nlab > len)
        return 0;
    size_t rows = (size_t)n + 1;
    size_t seg[6] = {72, rows * 8, rows * 8, (size_t)nnz * 4, (size_t)nnz * 4, (size_t)nlab * 4};
    size_t off = 0;
    for (int k = 0; k < 6; k++) off += seg[k];
    if (off + 8 != len) return 0;
    uint64_t h = fuzz_cache_hash(0, b, 72);
    off = 72;
    for (int k = 1; k < 6; k++) {
        h = fuzz_cache_hash(h, b + off, seg[k]);
        off += seg[k];
    }
    *ok = 1;
    return h;
}

/* Reads a whole small file (for the start-up self-checks). Caller frees. */
static inline uint8_t *fuzz_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = NULL;
    size_t cap = 0, len = 0, r;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
        r = fread(b + len, 1, cap - len, f);
        len += r;
    } while (r > 0);
    fclose(f);
    *n = len;
    return b;
}

#endif
