/* Tests for the LSH hash families: parameter checks, scalar references (SimHash projections,
 * WTA/DWTA winners and densification), collision statistics, dense == sparse, keys and probes. */
#include "slide/hash.h"
#include "slide/kern.h"
#include "slide/network.h"
#include "slide/rng.h"
#include "test_util.h"

#include <stdint.h>

static int quick; /* SLIDE_TEST_QUICK: fewer samples */

/* A hash with the given kernels (simd: -1 best, SLIDE_SIMD_SCALAR, ...) and DWTA densification
 * strategy (0 auto, 1 forward, 2 inverse). */
static slide_hash *mk_with(int fam, int K, int L, int64_t dim, int range_bits, int bin,
                           int sparsity, uint64_t seed, int simd, int densify) {
    slide_hash_params p = slide_hash_params_default();
    p.simd = simd;
    p.densify = densify;
    p.family = fam;
    p.K = K;
    p.L = L;
    p.dim = dim;
    p.range_bits = range_bits;
    p.bin_size = bin;
    p.sparsity = sparsity;
    p.seed = seed;
    slide_hash *h = NULL;
    slide_err err;
    slide_err_clear(&err);
    int rc = slide_hash_create(&h, &p, &err);
    CHECKF(rc == SLIDE_OK && h, "create %s K=%d L=%d dim=%lld: %s", slide_hash_family_name(fam), K,
           L, (long long)dim, err.msg);
    if (!h) exit(1);
    return h;
}

static slide_hash *mk(int fam, int K, int L, int64_t dim, int range_bits, int bin, int sparsity,
                      uint64_t seed) {
    return mk_with(fam, K, L, dim, range_bits, bin, sparsity, seed, -1, 0);
}

static void fill_gauss(slide_rng *r, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = slide_rng_normal(r);
}

/* Sparse form of a dense vector: ascending indices, zeros dropped (or kept when keep_zeros). */
static int to_sparse(const float *x, int64_t dim, int keep_zeros, int32_t *idx, float *val) {
    int n = 0;
    for (int64_t i = 0; i < dim; i++)
        if (keep_zeros || x[i] != 0.0f) {
            idx[n] = (int32_t)i;
            val[n++] = x[i];
        }
    return n;
}

static void shuffle_sparse(slide_rng *r, int32_t *idx, float *val, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)slide_rng_below(r, (uint32_t)(i + 1));
        int32_t ti = idx[i];
        idx[i] = idx[j];
        idx[j] = ti;
        float tv = val[i];
        val[i] = val[j];
        val[j] = tv;
    }
}

/* ------------------------------------------------------------------ references */

static void ref_sim_proj(const slide_hash *h, const float *x, int64_t dim, double *proj) {
    const slide_hash_params *p = slide_hash_params_of(h);
    const int KL = p->K * p->L;
    for (int j = 0; j < KL; j++) proj[j] = 0;
    for (int64_t i = 0; i < dim; i++) {
        if (x[i] == 0.0f) continue;
        for (int j = 0; j < KL; j++) proj[j] += (double)x[i] * slide_hash_simhash_entry(h, i, j);
    }
}

typedef struct {
    int code, second; /* winner slot, runner-up slot (-1: none) */
    double margin;
    int empty;        /* DWTA: no present entry */
} ref_bin;

/* Winner/runner-up by (value desc, slot asc); DWTA only looks at nonzero entries. */
static void ref_wta(const slide_hash *h, const float *x, int dwta, ref_bin *out) {
    const slide_hash_params *p = slide_hash_params_of(h);
    const int KL = p->K * p->L;
    for (int f = 0; f < KL; f++) {
        const int32_t *d;
        int B = slide_hash_bin_dims(h, f, &d);
        int s1 = -1, s2 = -1;
        for (int s = 0; s < B; s++) {
            float v = x[d[s]];
            if (dwta && v == 0.0f) continue;
            if (s1 < 0 || v > x[d[s1]]) {
                s2 = s1;
                s1 = s;
            } else if (s2 < 0 || v > x[d[s2]]) {
                s2 = s;
            }
        }
        out[f].code = s1 < 0 ? 0 : s1;
        out[f].second = s2;
        out[f].empty = s1 < 0;
        out[f].margin = s2 < 0 ? -1 : (double)x[d[s1]] - (double)x[d[s2]];
    }
}

/* ------------------------------------------------------------------ parameters */

static void expect_reject(slide_hash_params p, const char *word) {
    const char *m = slide_hash_params_check(&p);
    CHECKF(m != NULL, "params accepted, expected a message naming '%s'", word);
    if (m) CHECKF(strstr(m, word) != NULL, "message '%s' does not name '%s'", m, word);
    slide_hash *h = (slide_hash *)1;
    slide_err err;
    slide_err_clear(&err);
    int rc = slide_hash_create(&h, &p, &err);
    CHECK(rc == SLIDE_EINVAL && h == NULL);
    CHECKF(strstr(err.msg, word) != NULL, "create message '%s' lacks '%s'", err.msg, word);
}

static void test_params(void) {
    slide_hash_params d = slide_hash_params_default(), p;
    CHECK(slide_hash_params_check(&d) == NULL);
    for (int f = 0; f < 3; f++) {
        CHECK(slide_hash_family_parse(slide_hash_family_name(f)) == f);
        p = d;
        p.family = f;
        CHECK(slide_hash_params_check(&p) == NULL);
    }
    CHECK(slide_hash_family_parse("DWTA") == SLIDE_HASH_DWTA);
    CHECK(slide_hash_family_parse("minhash") == -1);
    CHECK(slide_hash_family_parse(NULL) == -1);
    CHECK(strcmp(slide_hash_family_name(9), "unknown") == 0);

    p = d; p.family = 3; expect_reject(p, "family");
    p = d; p.K = 0; expect_reject(p, "K");
    p = d; p.K = 33; expect_reject(p, "1..32");
    p = d; p.L = 0; expect_reject(p, "L");
    p = d; p.L = 1025; expect_reject(p, "1..1024");
    p = d; p.K = 8; p.L = 1000; expect_reject(p, "K*L");
    p = d; p.dim = 0; expect_reject(p, "dim");
    p = d; p.dim = (int64_t)INT32_MAX + 1; p.family = SLIDE_HASH_SIMHASH; expect_reject(p, "dim");
    p = d; p.range_bits = 0; expect_reject(p, "range_bits");
    p = d; p.range_bits = 25; expect_reject(p, "1..24");
    p = d; p.bin_size = 6; expect_reject(p, "bin_size");
    p = d; p.bin_size = 1; expect_reject(p, "bin_size");
    p = d; p.bin_size = 512; p.dim = 1000; expect_reject(p, "2..256");
    p = d; p.family = SLIDE_HASH_WTA; p.dim = 4; expect_reject(p, "dim");
    p = d; p.family = SLIDE_HASH_DWTA; p.dim = ((int64_t)1 << 24) + 1; expect_reject(p, "dim");
    p = d; p.family = SLIDE_HASH_SIMHASH; p.sparsity = 0; expect_reject(p, "sparsity");
    p = d; p.simd = -2; expect_reject(p, "simd");
    p = d; p.simd = 3; expect_reject(p, "simd");
    for (int s = SLIDE_SIMD_AVX2; s <= SLIDE_SIMD_AVX512; s++)
        if (!slide_simd_available(s)) {
            p = d; p.simd = s; expect_reject(p, "simd");
        }
    p = d; p.densify = -1; expect_reject(p, "densify");
    p = d; p.densify = 3; expect_reject(p, "densify");
    /* Parameters of the other families are not looked at. */
    p = d; p.family = SLIDE_HASH_SIMHASH; p.bin_size = 0; p.dim = 1;
    CHECK(slide_hash_params_check(&p) == NULL);
    p = d; p.family = SLIDE_HASH_DWTA; p.sparsity = 0;
    CHECK(slide_hash_params_check(&p) == NULL);
    p = d; p.K = 32; p.L = 128; /* K*L = 4096 is the limit */
    CHECK(slide_hash_params_check(&p) == NULL);

    slide_hash *h = mk(SLIDE_HASH_DWTA, 6, 50, 128, 18, 8, 3, 1);
    CHECK(slide_hash_bits_per_function(h) == 3);
    CHECK(slide_hash_key_bits(h) == 18);
    CHECK(slide_hash_params_of(h)->K == 6);
    const int32_t *dims;
    CHECK(slide_hash_bin_dims(h, 300, &dims) == 0);
    CHECK(slide_hash_simhash_entry(h, 0, 0) == 0);
    slide_hash_destroy(h);
    h = mk(SLIDE_HASH_SIMHASH, 9, 50, 128, 18, 8, 3, 1);
    CHECK(slide_hash_bits_per_function(h) == 1);
    CHECK(slide_hash_key_bits(h) == 9);
    CHECK(slide_hash_bin_dims(h, 0, &dims) == 0);
    slide_hash_destroy(h);
    h = mk(SLIDE_HASH_WTA, 8, 10, 128, 18, 8, 3, 1);
    CHECK(slide_hash_key_bits(h) == 18); /* 24 raw bits mixed down */
    slide_hash_destroy(h);
    slide_hash_destroy(NULL);
}

/* ------------------------------------------------------------------ SimHash */

/* Codes match a double-precision reference wherever the projection is not within rounding of
 * 0; entries are -1/0/+1 with about 1/sparsity kept and balanced signs. */
static void check_sim_reference(int64_t dim, int K, int L, int sparsity, int nvec, int nnz_max) {
    slide_hash *h = mk(SLIDE_HASH_SIMHASH, K, L, dim, 24, 8, sparsity, 11);
    const int KL = K * L;
    slide_rng r;
    slide_rng_seed(&r, 5, (uint64_t)dim);
    float *x = calloc((size_t)dim, sizeof *x);
    double *ref = malloc((size_t)KL * sizeof *ref);
    uint32_t *c1 = malloc((size_t)KL * sizeof *c1), *c2 = malloc((size_t)KL * sizeof *c2);
    int32_t *idx = malloc((size_t)nnz_max * sizeof *idx);
    float *val = malloc((size_t)nnz_max * sizeof *val);
    long bad = 0, compared = 0, bad_sparse = 0;
    for (int v = 0; v < nvec; v++) {
        memset(x, 0, (size_t)dim * sizeof *x);
        double l1 = 0;
        for (int q = 0; q < nnz_max; q++) {
            int64_t i = (int64_t)(slide_rng_next(&r) % (uint64_t)dim);
            x[i] = slide_rng_normal(&r);
        }
        for (int64_t i = 0; i < dim; i++) l1 += fabs(x[i]);
        int n = to_sparse(x, dim, 0, idx, val);
        ref_sim_proj(h, x, dim, ref);
        slide_hash_codes_sparse(h, idx, val, n, c1);
        if (dim <= 4096) slide_hash_codes_dense(h, x, c2);
        for (int j = 0; j < KL; j++) {
            if (dim <= 4096) bad_sparse += c1[j] != c2[j];
            if (fabs(ref[j]) <= 1e-5 * l1) continue;
            compared++;
            bad += c1[j] != (ref[j] > 0);
        }
    }
    CHECKF(bad == 0 && compared > 0, "simhash dim=%lld sparsity=%d: %ld of %ld bits differ from "
           "the reference", (long long)dim, sparsity, bad, compared);
    CHECKF(bad_sparse == 0, "simhash dim=%lld: %ld dense/sparse code mismatches", (long long)dim,
           bad_sparse);
    /* Entry statistics over a sample of (dim, function) pairs. */
    long kept = 0, neg = 0, tot = 0;
    for (int j = 0; j < KL; j += 7)
        for (int64_t i = 0; i < dim; i += 1 + dim / 500) {
            int e = slide_hash_simhash_entry(h, i, j);
            CHECK(e == -1 || e == 0 || e == 1);
            kept += e != 0;
            neg += e < 0;
            tot++;
        }
    double fk = (double)kept / (double)tot, pk = 1.0 / sparsity;
    CHECKF(fabs(fk - pk) < 4 * sqrt(pk * (1 - pk) / (double)tot) + 0.005, "kept fraction %.4f for sparsity %d", fk, sparsity);
    CHECKF(fabs((double)neg / (double)kept - 0.5) < 2 / sqrt((double)kept) + 0.005, "negative fraction %.4f",
           (double)neg / (double)kept);
    free(x); free(ref); free(c1); free(c2); free(idx); free(val);
    slide_hash_destroy(h);
}

/* Independent-looking functions: every bit is balanced over random inputs and no two functions
 * agree far more often than chance. */
static void test_sim_independence(void) {
    const int K = 8, L = 16, KL = K * L, dim = 64, nv = 800;
    slide_hash *h = mk(SLIDE_HASH_SIMHASH, K, L, dim, 24, 8, 3, 3);
    slide_rng r;
    slide_rng_seed(&r, 17, 0);
    uint8_t *bits = malloc((size_t)nv * KL);
    float x[64];
    uint32_t c[8 * 16];
    for (int v = 0; v < nv; v++) {
        fill_gauss(&r, x, dim);
        slide_hash_codes_dense(h, x, c);
        for (int j = 0; j < KL; j++) bits[(size_t)v * KL + j] = (uint8_t)c[j];
    }
    double worst_bal = 0, worst_agree = 0;
    for (int j = 0; j < KL; j++) {
        int ones = 0;
        for (int v = 0; v < nv; v++) ones += bits[(size_t)v * KL + j];
        double b = fabs((double)ones / nv - 0.5);
        if (b > worst_bal) worst_bal = b;
        for (int k = j + 1; k < KL; k++) {
            int agree = 0;
            for (int v = 0; v < nv; v++) agree += bits[(size_t)v * KL + j] == bits[(size_t)v * KL + k];
            double a = (double)agree / nv;
            if (a > worst_agree) worst_agree = a;
        }
    }
    CHECKF(worst_bal < 0.12, "a SimHash bit is unbalanced: |p - 0.5| = %.3f", worst_bal);
    CHECKF(worst_agree < 0.85, "two SimHash functions agree on %.3f of inputs", worst_agree);
    free(bits);
    slide_hash_destroy(h);
}

/* Random unit u and a unit v orthogonal to it. */
static void rand_orth_pair(slide_rng *r, int dim, double *u, double *v) {
    double nu = 0, dot = 0, nv = 0;
    for (int i = 0; i < dim; i++) {
        u[i] = slide_rng_normal(r);
        v[i] = slide_rng_normal(r);
        nu += u[i] * u[i];
    }
    nu = sqrt(nu);
    for (int i = 0; i < dim; i++) u[i] /= nu;
    for (int i = 0; i < dim; i++) dot += u[i] * v[i];
    for (int i = 0; i < dim; i++) v[i] -= dot * u[i];
    for (int i = 0; i < dim; i++) nv += v[i] * v[i];
    nv = sqrt(nv);
    for (int i = 0; i < dim; i++) v[i] /= nv;
}

/* Per-bit collision rate of SimHash vs 1 - angle/pi for pairs at a given angle; the (wrong)
 * (1 + cos)/2 must be rejected where it differs. */
static void test_sim_angle(void) {
    const int dim = 64, K = 16, L = 16, KL = K * L, pairs = quick ? 300 : 1000;
    const double angles[] = {M_PI / 6, M_PI / 3, M_PI / 2, 2 * M_PI / 3, 5 * M_PI / 6};
    for (int sp = 1; sp <= 3; sp += 2) {
        slide_hash *h = mk(SLIDE_HASH_SIMHASH, K, L, dim, 24, 8, sp, 100 + (uint64_t)sp);
        slide_rng r;
        slide_rng_seed(&r, 23, (uint64_t)sp);
        double u[64], v[64];
        float x[64], y[64];
        uint32_t cx[256], cy[256];
        double worst = 0;
        for (size_t a = 0; a < sizeof angles / sizeof *angles; a++) {
            const double th = angles[a];
            long coll = 0;
            for (int q = 0; q < pairs; q++) {
                rand_orth_pair(&r, dim, u, v);
                for (int i = 0; i < dim; i++) {
                    x[i] = (float)u[i];
                    y[i] = (float)(cos(th) * u[i] + sin(th) * v[i]);
                }
                slide_hash_codes_dense(h, x, cx);
                slide_hash_codes_dense(h, y, cy);
                for (int j = 0; j < KL; j++) coll += cx[j] == cy[j];
            }
            double pc = (double)coll / ((double)pairs * KL), theory = 1 - th / M_PI;
            double wrong = (1 + cos(th)) / 2;
            if (fabs(pc - theory) > worst) worst = fabs(pc - theory);
            CHECKF(fabs(pc - theory) < 0.02, "sparsity %d angle %.3f: collision %.4f vs 1-angle/pi "
                   "%.4f", sp, th, pc, theory);
            if (fabs(wrong - theory) > 0.06)
                CHECKF(fabs(pc - wrong) > 0.04, "sparsity %d angle %.3f: collision %.4f does not "
                       "reject (1+cos)/2 = %.4f", sp, th, pc, wrong);
        }
        fprintf(stderr, "simhash sparsity %d: max |collision - (1 - angle/pi)| = %.4f over %d "
                "angles x %d pairs x %d bits\n", sp, worst, (int)(sizeof angles / sizeof *angles),
                pairs, KL);
        slide_hash_destroy(h);
    }
}

/* Non-isotropic data: sparse nonnegative bag-of-words pairs (dim 2000, 40 nonzeros) with
 * varying overlap; the mean of (collision - (1 - angle/pi)) over pairs must be near 0. */
static void test_sim_angle_sparse(void) {
    const int dim = 2000, nnz = 40, K = 8, L = 32, KL = K * L, pairs = quick ? 200 : 600;
    for (int sp = 1; sp <= 3; sp += 2) {
        slide_hash *h = mk(SLIDE_HASH_SIMHASH, K, L, dim, 24, 8, sp, 7);
        slide_rng r;
        slide_rng_seed(&r, 29, (uint64_t)sp);
        int32_t ix[40], iy[40];
        float vx[40], vy[40];
        uint32_t cx[256], cy[256];
        double dev = 0;
        for (int q = 0; q < pairs; q++) {
            /* y keeps a random share of x's features (indices distinct within each vector). */
            int keep = (int)slide_rng_below(&r, nnz + 1);
            for (int i = 0; i < nnz; i++) {
                ix[i] = (int32_t)(i * (dim / nnz) + (int)slide_rng_below(&r, dim / nnz));
                vx[i] = 0.2f + slide_rng_uniform(&r);
                iy[i] = i < keep ? ix[i] : (int32_t)(((ix[i] + 1 + (int)slide_rng_below(&r, dim / nnz - 1)) % (dim / nnz)) + i * (dim / nnz));
                vy[i] = i < keep ? vx[i] * (0.5f + slide_rng_uniform(&r)) : 0.2f + slide_rng_uniform(&r);
            }
            double dxy = 0, nx = 0, ny = 0;
            for (int i = 0; i < nnz; i++) {
                nx += (double)vx[i] * vx[i];
                ny += (double)vy[i] * vy[i];
                if (ix[i] == iy[i]) dxy += (double)vx[i] * vy[i];
            }
            double th = acos(fmin(1.0, dxy / sqrt(nx * ny)));
            slide_hash_codes_sparse(h, ix, vx, nnz, cx);
            slide_hash_codes_sparse(h, iy, vy, nnz, cy);
            int coll = 0;
            for (int j = 0; j < KL; j++) coll += cx[j] == cy[j];
            dev += (double)coll / KL - (1 - th / M_PI);
        }
        dev /= pairs;
        fprintf(stderr, "simhash sparse pairs sparsity %d: mean collision - (1-angle/pi) = %.4f\n",
                sp, dev);
        CHECKF(fabs(dev) < 0.03, "sparse pairs, sparsity %d: mean collision - (1-angle/pi) = %.4f",
               sp, dev);
        slide_hash_destroy(h);
    }
}

/* Exact ties: small-integer inputs make exact-zero projections common; they must give bit 0,
 * in any order of the sparse entries (integer sums are exact). Also the scalar kernel (forced
 * with simd = SLIDE_SIMD_SCALAR) must give the same codes as the default one. */
static void test_sim_ties_and_paths(void) {
    const int dim = 48, K = 10, L = 20, KL = K * L;
    slide_hash *h = mk(SLIDE_HASH_SIMHASH, K, L, dim, 24, 8, 2, 9);
    slide_hash *hs = mk_with(SLIDE_HASH_SIMHASH, K, L, dim, 24, 8, 2, 9, SLIDE_SIMD_SCALAR, 0);
    CHECK(strcmp(slide_hash_simd_path(hs), "scalar") == 0);
    fprintf(stderr, "simhash kernel: %s (compared against scalar)\n", slide_hash_simd_path(h));
    slide_rng r;
    slide_rng_seed(&r, 31, 0);
    float x[48], val[48];
    int32_t idx[48];
    double ref[200];
    uint32_t c1[200], c2[200], c3[200];
    long zeros = 0, bad = 0;
    for (int v = 0; v < 300; v++) {
        for (int i = 0; i < dim; i++) {
            int k = (int)slide_rng_below(&r, 5);
            x[i] = (float)(k - 2) * (slide_rng_below(&r, 3) ? 1.0f : 0.0f);
            if (x[i] == 0.0f && slide_rng_below(&r, 2)) x[i] = -0.0f;
        }
        ref_sim_proj(h, x, dim, ref);
        slide_hash_codes_dense(h, x, c1);
        int n = to_sparse(x, dim, (int)slide_rng_below(&r, 2), idx, val);
        shuffle_sparse(&r, idx, val, n);
        slide_hash_codes_sparse(h, idx, val, n, c2);
        slide_hash_codes_dense(hs, x, c3);
        for (int j = 0; j < KL; j++) {
            zeros += ref[j] == 0;
            bad += c1[j] != (ref[j] > 0) || c2[j] != c1[j] || c3[j] != c1[j];
        }
    }
    CHECKF(zeros > 100, "only %ld exact-zero projections exercised", zeros);
    CHECKF(bad == 0, "%ld tie/order/kernel mismatches", bad);
    /* Gaussian inputs: default and scalar kernels agree bit for bit on keys with probes. */
    uint32_t k1[20 * 5], k2[20 * 5];
    long kbad = 0;
    for (int v = 0; v < 200; v++) {
        fill_gauss(&r, x, dim);
        for (int i = 0; i < dim; i += 3) x[i] = 0;
        slide_hash_keys_dense(h, x, 4, k1);
        slide_hash_keys_dense(hs, x, 4, k2);
        kbad += memcmp(k1, k2, sizeof k1) != 0;
    }
    CHECKF(kbad == 0, "%ld vectors hash differently on the scalar kernel", kbad);
    slide_hash_destroy(h);
    slide_hash_destroy(hs);
}

/* ------------------------------------------------------------------ WTA / DWTA */

/* The default (AVX2) path and the scalar path give the same codes and probe keys,
 * including ties, zeros and negative values; bins of several widths. */
static void test_wta_paths(void) {
    const int Bs[] = {2, 8, 32};
    slide_rng r;
    slide_rng_seed(&r, 37, 0);
    for (int dwta = 0; dwta <= 1; dwta++)
        for (int b = 0; b < 3; b++) {
            const int fam = dwta ? SLIDE_HASH_DWTA : SLIDE_HASH_WTA, K = 5, L = 13, dim = 96;
            slide_hash *h = mk(fam, K, L, dim, 24, Bs[b], 3, 21);
            slide_hash *hs = mk_with(fam, K, L, dim, 24, Bs[b], 3, 21, SLIDE_SIMD_SCALAR, 0);
            float x[96];
            uint32_t c1[65], c2[65], k1[13 * 6], k2[13 * 6];
            long bad = 0;
            for (int v = 0; v < 300; v++) {
                const int ints = v % 2;
                for (int i = 0; i < dim; i++) {
                    if (slide_rng_below(&r, 3) == 0) x[i] = 0.0f;
                    else x[i] = ints ? (float)((int)slide_rng_below(&r, 5) - 2) : slide_rng_normal(&r);
                }
                slide_hash_codes_dense(h, x, c1);
                slide_hash_codes_dense(hs, x, c2);
                slide_hash_keys_dense(h, x, 5, k1);
                slide_hash_keys_dense(hs, x, 5, k2);
                bad += memcmp(c1, c2, sizeof c1) != 0 || memcmp(k1, k2, sizeof k1) != 0;
            }
            CHECKF(bad == 0, "%s B=%d: %s and scalar paths differ on %ld vectors",
                   slide_hash_family_name(fam), Bs[b], slide_hash_simd_path(h), bad);
            slide_hash_destroy(h);
            slide_hash_destroy(hs);
        }
}

static void test_wta_bins(void) {
    const int64_t dims[] = {8, 9, 13, 100, 1000, 100000};
    for (size_t a = 0; a < sizeof dims / sizeof *dims; a++) {
        const int64_t dim = dims[a];
        slide_hash *h = mk(SLIDE_HASH_DWTA, 6, 40, dim, 18, 8, 3, 5 + a);
        int *cnt = calloc((size_t)dim, sizeof *cnt);
        int ok = 1;
        for (int f = 0; f < 240; f++) {
            const int32_t *d;
            CHECK(slide_hash_bin_dims(h, f, &d) == 8);
            for (int s = 0; s < 8; s++) {
                ok &= d[s] >= 0 && d[s] < dim;
                if (d[s] >= 0 && d[s] < dim) cnt[d[s]]++;
                for (int u = 0; u < s; u++) ok &= d[u] != d[s];
            }
        }
        CHECKF(ok, "dim %lld: bin dims out of range or repeated within a bin", (long long)dim);
        int mn = 1 << 30, mx = 0;
        for (int64_t i = 0; i < dim; i++) {
            if (cnt[i] < mn) mn = cnt[i];
            if (cnt[i] > mx) mx = cnt[i];
        }
        CHECKF(mx - mn <= 1, "dim %lld: dims used between %d and %d times (permutation stream "
               "should balance them)", (long long)dim, mn, mx);
        free(cnt);
        slide_hash_destroy(h);
    }
}

/* Codes from dense and sparse inputs equal the reference winner (WTA: all entries, zeros
 * included; DWTA: non-empty bins), and every empty DWTA bin copies a non-empty bin's code. */
static void check_wta_reference(int dwta, int64_t dim, int K, int L, int B, double zero_frac,
                                int ints, int nvec) {
    slide_hash *h = mk(dwta ? SLIDE_HASH_DWTA : SLIDE_HASH_WTA, K, L, dim, 24, B, 3, 77);
    const int KL = K * L;
    slide_rng r;
    slide_rng_seed(&r, 41, (uint64_t)(dim * 3 + dwta));
    float *x = malloc((size_t)dim * sizeof *x), *val = malloc((size_t)dim * sizeof *val);
    int32_t *idx = malloc((size_t)dim * sizeof *idx);
    ref_bin *rb = malloc((size_t)KL * sizeof *rb);
    uint32_t *cd = malloc((size_t)KL * sizeof *cd), *cs = malloc((size_t)KL * sizeof *cs);
    long bad = 0, bad_dense_sparse = 0, bad_fill = 0, empties = 0;
    for (int v = 0; v < nvec; v++) {
        for (int64_t i = 0; i < dim; i++) {
            if (slide_rng_uniform(&r) < zero_frac) x[i] = slide_rng_below(&r, 2) ? 0.0f : -0.0f;
            else if (ints) x[i] = (float)((int)slide_rng_below(&r, 5) - 2);
            else x[i] = slide_rng_normal(&r);
        }
        ref_wta(h, x, dwta, rb);
        slide_hash_codes_dense(h, x, cd);
        int n = to_sparse(x, dim, (int)slide_rng_below(&r, 2), idx, val);
        shuffle_sparse(&r, idx, val, n);
        slide_hash_codes_sparse(h, idx, val, n, cs);
        int nonempty = 0;
        for (int f = 0; f < KL; f++) nonempty += !rb[f].empty;
        for (int f = 0; f < KL; f++) {
            bad_dense_sparse += cd[f] != cs[f];
            if (!rb[f].empty) {
                bad += cd[f] != (uint32_t)rb[f].code;
                continue;
            }
            empties++;
            int found = 0;
            for (int g = 0; g < KL && !found; g++) found = !rb[g].empty && (uint32_t)rb[g].code == cd[f];
            bad_fill += nonempty ? !found : cd[f] != 0;
        }
    }
    CHECKF(bad == 0, "%s dim=%lld B=%d: %ld codes differ from the reference", dwta ? "dwta" : "wta",
           (long long)dim, B, bad);
    CHECKF(bad_dense_sparse == 0, "%s dim=%lld B=%d: %ld dense/sparse code mismatches",
           dwta ? "dwta" : "wta", (long long)dim, B, bad_dense_sparse);
    CHECKF(bad_fill == 0, "dwta: %ld of %ld empty bins not filled from a non-empty bin", bad_fill,
           empties);
    if (!dwta) CHECK(empties == 0);
    free(x); free(val); free(idx); free(rb); free(cd); free(cs);
    slide_hash_destroy(h);
}

/* DWTA on very sparse inputs: most bins empty, every code still comes from a non-empty bin,
 * densified codes are spread over several sources, and an empty input gives all zeros. */
static void test_dwta_densify(void) {
    const int64_t dim = 20000;
    const int K = 4, L = 64, KL = K * L;
    slide_hash *h = mk(SLIDE_HASH_DWTA, K, L, dim, 24, 8, 3, 123);
    slide_rng r;
    slide_rng_seed(&r, 43, 0);
    float *x = calloc((size_t)dim, sizeof *x);
    int32_t idx[400];
    float val[400];
    ref_bin rb[256];
    uint32_t c[256];
    long bad = 0, empties = 0, vecs_with_spread = 0, tested = 0;
    for (int v = 0; v < 200; v++) {
        int nnz = 50 + (int)slide_rng_below(&r, 300);
        memset(x, 0, (size_t)dim * sizeof *x);
        for (int q = 0; q < nnz; q++) x[slide_rng_below(&r, (uint32_t)dim)] = slide_rng_uniform(&r) + 0.1f;
        int n = to_sparse(x, dim, 0, idx, val);
        ref_wta(h, x, 1, rb);
        slide_hash_codes_sparse(h, idx, val, n, c);
        int nonempty = 0, distinct = 0, seen[8] = {0};
        for (int f = 0; f < KL; f++) nonempty += !rb[f].empty;
        if (!nonempty) continue;
        tested++;
        for (int f = 0; f < KL; f++) {
            if (!rb[f].empty) {
                bad += c[f] != (uint32_t)rb[f].code;
                continue;
            }
            empties++;
            int found = 0;
            for (int g = 0; g < KL && !found; g++) found = !rb[g].empty && (uint32_t)rb[g].code == c[f];
            bad += !found;
            if (c[f] < 8 && !seen[c[f]]) {
                seen[c[f]] = 1;
                distinct++;
            }
        }
        vecs_with_spread += distinct >= 2;
    }
    CHECKF(bad == 0, "dwta densify: %ld codes not from a non-empty bin", bad);
    CHECKF(tested > 100 && empties > 100L * KL / 2, "dwta densify exercised too little (%ld "
           "vectors, %ld empty bins)", tested, empties);
    CHECKF(vecs_with_spread > tested / 2, "densified codes come from one source too often (%ld of "
           "%ld vectors spread)", vecs_with_spread, tested);
    /* Empty input: every bin empty, all codes 0. */
    slide_hash_codes_sparse(h, idx, val, 0, c);
    int nz = 0;
    for (int f = 0; f < KL; f++) nz += c[f] != 0;
    CHECK(nz == 0);
    memset(x, 0, (size_t)dim * sizeof *x);
    slide_hash_codes_dense(h, x, c);
    for (int f = 0; f < KL; f++) nz += c[f] != 0;
    CHECK(nz == 0);
    free(x);
    slide_hash_destroy(h);
}

/* DWTA densification finds the first successful probe either forwards (few empty bins) or
 * from the non-empty bins' side (few non-empty bins); forcing each strategy gives the same codes
 * at every sparsity level. */
static void test_dwta_strategies(void) {
    const int64_t dim = 3000;
    const int K = 6, L = 40, KL = K * L;
    slide_hash *hf = mk_with(SLIDE_HASH_DWTA, K, L, dim, 18, 8, 3, 8, -1, 1);
    slide_hash *hi = mk_with(SLIDE_HASH_DWTA, K, L, dim, 18, 8, 3, 8, -1, 2);
    slide_hash *ha = mk(SLIDE_HASH_DWTA, K, L, dim, 18, 8, 3, 8);
    slide_rng r;
    slide_rng_seed(&r, 45, 0);
    int32_t idx[3000];
    float val[3000];
    uint32_t cf[240], ci[240], ca[240], kf[40 * 4], ki[40 * 4];
    long bad = 0, densified = 0;
    for (int v = 0; v < 400; v++) {
        const int nnz = 1 + (int)(slide_rng_next(&r) % (uint64_t)(v < 200 ? 40 : 1500));
        int n = 0;
        for (int64_t i = 0; i < dim && n < nnz; i++)
            if (slide_rng_below(&r, (uint32_t)dim) < (uint32_t)nnz) {
                idx[n] = (int32_t)i;
                val[n++] = slide_rng_normal(&r);
            }
        slide_hash_codes_sparse(hf, idx, val, n, cf);
        slide_hash_codes_sparse(hi, idx, val, n, ci);
        slide_hash_codes_sparse(ha, idx, val, n, ca);
        slide_hash_keys_sparse(hf, idx, val, n, 3, kf);
        slide_hash_keys_sparse(hi, idx, val, n, 3, ki);
        bad += memcmp(cf, ci, sizeof cf) != 0 || memcmp(cf, ca, sizeof cf) != 0 ||
               memcmp(kf, ki, sizeof kf) != 0;
        ref_bin rb[240];
        float *x = calloc((size_t)dim, sizeof *x);
        for (int q = 0; q < n; q++) x[idx[q]] = val[q];
        ref_wta(ha, x, 1, rb);
        for (int f = 0; f < KL; f++) densified += rb[f].empty;
        free(x);
    }
    CHECKF(bad == 0, "dwta: forward and inverse densification differ on %ld inputs", bad);
    CHECKF(densified > 400L * KL / 10, "dwta strategies: only %ld densified bins", densified);
    slide_hash_destroy(hf);
    slide_hash_destroy(hi);
    slide_hash_destroy(ha);
}

/* Collision rate per code rises with similarity (x vs x + sigma * noise); identical inputs
 * always collide. DWTA runs on ReLU-like inputs (half zeros, the support changes too). */
static void test_wta_monotone(int dwta) {
    const int dim = 128, K = 6, L = 50, KL = K * L, pairs = quick ? 100 : 300;
    const double sig[] = {0.0, 0.05, 0.2, 0.5, 1.0, 3.0};
    const int ns = (int)(sizeof sig / sizeof *sig);
    slide_hash *h = mk(dwta ? SLIDE_HASH_DWTA : SLIDE_HASH_WTA, K, L, dim, 18, 8, 3, 55);
    slide_rng r;
    slide_rng_seed(&r, 47, (uint64_t)dwta);
    float x[128], y[128], pre[128];
    uint32_t cx[300], cy[300], kx[50], ky[50];
    double rate[6], krate[6];
    for (int a = 0; a < ns; a++) {
        long coll = 0, kcoll = 0;
        for (int q = 0; q < pairs; q++) {
            fill_gauss(&r, pre, dim);
            for (int i = 0; i < dim; i++) {
                float yp = pre[i] + (float)sig[a] * slide_rng_normal(&r);
                x[i] = dwta ? (pre[i] > 0 ? pre[i] : 0) : pre[i];
                y[i] = dwta ? (yp > 0 ? yp : 0) : yp;
            }
            slide_hash_codes_dense(h, x, cx);
            slide_hash_codes_dense(h, y, cy);
            slide_hash_keys_dense(h, x, 0, kx);
            slide_hash_keys_dense(h, y, 0, ky);
            for (int j = 0; j < KL; j++) coll += cx[j] == cy[j];
            for (int t = 0; t < L; t++) kcoll += kx[t] == ky[t];
        }
        rate[a] = (double)coll / ((double)pairs * KL);
        krate[a] = (double)kcoll / ((double)pairs * L);
    }
    CHECKF(rate[0] == 1.0 && krate[0] == 1.0, "%s: identical inputs collide at %.4f / %.4f",
           dwta ? "dwta" : "wta", rate[0], krate[0]);
    for (int a = 1; a < ns; a++)
        CHECKF(rate[a] < rate[a - 1] - 0.01 && krate[a] <= krate[a - 1],
               "%s: collision not decreasing with noise: sigma %.2f -> %.4f (keys %.4f), "
               "sigma %.2f -> %.4f (keys %.4f)", dwta ? "dwta" : "wta", sig[a - 1], rate[a - 1],
               krate[a - 1], sig[a], rate[a], krate[a]);
    /* Unrelated inputs collide at about chance (1/bin_size = 0.125) per code. */
    CHECKF(rate[ns - 1] < 0.3, "%s: noisy pairs still collide at %.3f", dwta ? "dwta" : "wta",
           rate[ns - 1]);
    slide_hash_destroy(h);
}

/* ------------------------------------------------------------------ keys */

/* Dense and sparse (ascending; with explicit zeros; WTA/DWTA also shuffled) forms give the same
 * codes and keys with 0, 3 and 16 probes. */
static void test_dense_sparse_keys(void) {
    struct { int fam, K, L, dim, rb, B, sp; } cfg[] = {
        {SLIDE_HASH_SIMHASH, 9, 50, 128, 18, 8, 3},   {SLIDE_HASH_SIMHASH, 20, 8, 300, 12, 8, 1},
        {SLIDE_HASH_SIMHASH, 32, 4, 20000, 24, 8, 3}, /* 2.6M entries: materialised */
        {SLIDE_HASH_SIMHASH, 12, 16, 60000, 10, 8, 3}, /* 11.5M entries: computed on the fly */
        {SLIDE_HASH_WTA, 6, 50, 128, 18, 8, 3},       {SLIDE_HASH_WTA, 8, 20, 200, 18, 8, 3},
        {SLIDE_HASH_WTA, 3, 10, 300, 18, 128, 3},     {SLIDE_HASH_WTA, 32, 4, 600, 24, 256, 3},
        {SLIDE_HASH_DWTA, 6, 50, 128, 18, 8, 3},      {SLIDE_HASH_DWTA, 8, 50, 128, 18, 8, 3},
        {SLIDE_HASH_DWTA, 4, 16, 500, 24, 16, 3},     {SLIDE_HASH_DWTA, 2, 30, 400, 24, 256, 3},
    };
    slide_rng r;
    slide_rng_seed(&r, 53, 0);
    const int probes[] = {0, 3, 16};
    for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
        slide_hash *h = mk(cfg[c].fam, cfg[c].K, cfg[c].L, cfg[c].dim, cfg[c].rb, cfg[c].B,
                           cfg[c].sp, 1000 + c);
        const int dim = cfg[c].dim, L = cfg[c].L, KL = cfg[c].K * L;
        const int kb = slide_hash_key_bits(h);
        const int ordered = cfg[c].fam == SLIDE_HASH_SIMHASH;
        float *x = malloc((size_t)dim * sizeof *x), *val = malloc((size_t)dim * sizeof *val);
        int32_t *idx = malloc((size_t)dim * sizeof *idx);
        uint32_t *cd = malloc((size_t)KL * 4), *cs = malloc((size_t)KL * 4);
        uint32_t *kd = malloc((size_t)L * 17 * 4), *ks = malloc((size_t)L * 17 * 4);
        long bad = 0, over = 0;
        const int nv = dim > 10000 ? 10 : 40;
        for (int v = 0; v < nv; v++) {
            const double zf = dim > 10000 ? 0.995 : (v % 4) * 0.3; /* 0 .. 90 % zeros */
            for (int i = 0; i < dim; i++)
                x[i] = slide_rng_uniform(&r) < zf ? (slide_rng_below(&r, 2) ? 0.0f : -0.0f)
                                                  : slide_rng_normal(&r);
            const int mode = v % 3; /* 0: ascending, 1: with explicit zeros, 2: shuffled */
            int n = to_sparse(x, dim, mode >= 1, idx, val);
            if (mode == 2 && !ordered) shuffle_sparse(&r, idx, val, n);
            slide_hash_codes_dense(h, x, cd);
            slide_hash_codes_sparse(h, idx, val, n, cs);
            bad += memcmp(cd, cs, (size_t)KL * 4) != 0;
            for (int pi = 0; pi < 3; pi++) {
                const int np = probes[pi];
                slide_hash_keys_dense(h, x, np, kd);
                slide_hash_keys_sparse(h, idx, val, n, np, ks);
                bad += memcmp(kd, ks, (size_t)L * (1 + np) * 4) != 0;
                for (int t = 0; t < L * (1 + np); t++) over += kd[t] >> kb != 0;
            }
        }
        CHECKF(bad == 0, "config %zu (%s K=%d L=%d dim=%d): %ld dense/sparse differences", c,
               slide_hash_family_name(cfg[c].fam), cfg[c].K, L, dim, bad);
        CHECKF(over == 0, "config %zu: %ld keys >= 2^%d", c, over, kb);
        free(x); free(val); free(idx); free(cd); free(cs); free(kd); free(ks);
        slide_hash_destroy(h);
    }
}

/* Without mixing the key is the raw concatenation (code k at bit k*bits); probes change exactly
 * one code, in order of the reference margin, to the reference runner-up. */
static void check_raw_keys_and_probes(int fam, int K, int L, int B, int dim) {
    const int rb = 24;
    slide_hash *h = mk(fam, K, L, dim, rb, B, 3, 99);
    const int bits = slide_hash_bits_per_function(h), KL = K * L, np = 6;
    CHECK(slide_hash_key_bits(h) == K * bits);
    slide_rng r;
    slide_rng_seed(&r, 59, (uint64_t)fam);
    float *x = malloc((size_t)dim * sizeof *x);
    double *proj = malloc((size_t)KL * sizeof *proj);
    ref_bin *rbn = malloc((size_t)KL * sizeof *rbn);
    uint32_t *codes = malloc((size_t)KL * 4), *keys = malloc((size_t)L * (1 + np) * 4);
    long bad_raw = 0, bad_probe = 0, checked = 0;
    const uint32_t fmask = (1u << bits) - 1;
    for (int v = 0; v < 60; v++) {
        for (int i = 0; i < dim; i++) x[i] = (fam == SLIDE_HASH_DWTA && slide_rng_below(&r, 2)) ? 0.0f : slide_rng_normal(&r);
        slide_hash_codes_dense(h, x, codes);
        slide_hash_keys_dense(h, x, np, keys);
        if (fam == SLIDE_HASH_SIMHASH) ref_sim_proj(h, x, dim, proj);
        else ref_wta(h, x, fam == SLIDE_HASH_DWTA, rbn);
        for (int t = 0; t < L; t++) {
            const uint32_t *kt = keys + t * (1 + np);
            uint32_t raw = 0;
            for (int k = 0; k < K; k++) raw |= codes[t * K + k] << (k * bits);
            bad_raw += kt[0] != raw;
            /* Reference probe order: functions with a runner-up by (margin, k). */
            int ord[32], n = 0;
            double mg[32];
            for (int k = 0; k < K; k++) {
                const int f = t * K + k;
                mg[k] = fam == SLIDE_HASH_SIMHASH ? fabs(proj[f])
                        : (rbn[f].empty ? -1 : rbn[f].margin);
                if (mg[k] < 0) continue;
                int i = n++;
                while (i > 0 && mg[ord[i - 1]] > mg[k]) {
                    ord[i] = ord[i - 1];
                    i--;
                }
                ord[i] = k;
            }
            for (int i = 0; i < np; i++) {
                const uint32_t d = kt[1 + i] ^ kt[0];
                if (i >= n) {
                    bad_probe += d != 0;
                    continue;
                }
                /* Margins within float rounding of each other may legitimately swap order. */
                const int k = ord[i];
                int changed = -1, nchanged = 0;
                for (int u = 0; u < K; u++)
                    if ((d >> (u * bits)) & fmask) {
                        changed = u;
                        nchanged++;
                    }
                checked++;
                if (nchanged != 1) {
                    bad_probe++;
                    continue;
                }
                if (changed != k && fabs(mg[changed] - mg[k]) > 1e-5 * (1 + fabs(mg[k]))) {
                    bad_probe++;
                    continue;
                }
                const int f = t * K + changed;
                const uint32_t nc = (kt[1 + i] >> (changed * bits)) & fmask;
                const uint32_t want = fam == SLIDE_HASH_SIMHASH ? codes[f] ^ 1u : (uint32_t)rbn[f].second;
                bad_probe += nc != want;
            }
        }
    }
    CHECKF(bad_raw == 0, "%s: %ld main keys differ from the raw concatenation",
           slide_hash_family_name(fam), bad_raw);
    CHECKF(bad_probe == 0 && checked > 0, "%s: %ld of %ld probes are not the expected single "
           "change", slide_hash_family_name(fam), bad_probe, checked);
    free(x); free(proj); free(rbn); free(codes); free(keys);
    slide_hash_destroy(h);
}

/* Mixed keys (K*bits > range_bits): in range, spread over the range, and probes land elsewhere. */
static void test_mixed_keys(void) {
    slide_hash *h = mk(SLIDE_HASH_DWTA, 8, 20, 128, 12, 8, 3, 3);
    CHECK(slide_hash_key_bits(h) == 12);
    slide_rng r;
    slide_rng_seed(&r, 61, 0);
    float x[128];
    uint32_t k[20 * 5];
    long over = 0, same = 0, hi = 0, n = 0;
    for (int v = 0; v < 500; v++) {
        fill_gauss(&r, x, 128);
        slide_hash_keys_dense(h, x, 4, k);
        for (int t = 0; t < 20; t++) {
            for (int i = 0; i < 5; i++) over += k[t * 5 + i] >= 4096;
            for (int i = 1; i < 5; i++) same += k[t * 5 + i] == k[t * 5];
            hi += k[t * 5] >= 2048;
            n++;
        }
    }
    CHECK(over == 0);
    CHECKF(same < n / 50, "%ld of %ld mixed probe keys equal the main key", same, 4 * n);
    CHECKF(fabs((double)hi / n - 0.5) < 0.05, "mixed keys not spread: %.3f in the top half",
           (double)hi / n);
    slide_hash_destroy(h);
}

static void test_determinism(void) {
    for (int fam = 0; fam < 3; fam++) {
        slide_hash *a = mk(fam, 6, 30, 128, 18, 8, 3, 42), *b = mk(fam, 6, 30, 128, 18, 8, 3, 42);
        slide_hash *c = mk(fam, 6, 30, 128, 18, 8, 3, 43);
        slide_rng r;
        slide_rng_seed(&r, 67, (uint64_t)fam);
        float x[128];
        uint32_t ka[30 * 3], kb[30 * 3], kc[30 * 3];
        long diff_same = 0, eq_other = 0, tot = 0;
        for (int v = 0; v < 100; v++) {
            fill_gauss(&r, x, 128);
            slide_hash_keys_dense(a, x, 2, ka);
            slide_hash_keys_dense(b, x, 2, kb);
            slide_hash_keys_dense(c, x, 2, kc);
            diff_same += memcmp(ka, kb, sizeof ka) != 0;
            for (int t = 0; t < 30; t++) eq_other += ka[t * 3] == kc[t * 3];
            tot += 30;
        }
        CHECKF(diff_same == 0, "%s: same seed, %ld vectors hash differently",
               slide_hash_family_name(fam), diff_same);
        CHECKF(eq_other < tot / 20, "%s: another seed gives %ld of %ld equal keys",
               slide_hash_family_name(fam), eq_other, tot);
        slide_hash_destroy(a);
        slide_hash_destroy(b);
        slide_hash_destroy(c);
    }
}

/* Batch keys equal per-row keys (OpenMP over rows); sparse entries outside [0, dim) are ignored. */
static void test_batch_and_range(void) {
    const int n = 257, dim = 100, stride = 104;
    for (int fam = 0; fam < 3; fam++) {
        slide_hash *h = mk(fam, 5, 20, dim, 18, 8, 3, 71);
        slide_rng r;
        slide_rng_seed(&r, 73, (uint64_t)fam);
        float *x = malloc((size_t)n * stride * sizeof *x);
        fill_gauss(&r, x, (int64_t)n * stride);
        uint32_t *kb = malloc((size_t)n * 20 * 4), k1[20];
        slide_hash_keys_dense_batch(h, x, stride, n, kb, 2);
        long bad = 0;
        for (int i = 0; i < n; i++) {
            slide_hash_keys_dense(h, x + (size_t)i * stride, 0, k1);
            bad += memcmp(k1, kb + (size_t)i * 20, sizeof k1) != 0;
        }
        CHECKF(bad == 0, "%s: %ld batch rows differ", slide_hash_family_name(fam), bad);
        int32_t idx[110];
        float val[110];
        int m = to_sparse(x, dim, 0, idx, val);
        uint32_t a[20], b[20];
        slide_hash_keys_sparse(h, idx, val, m, 0, a);
        idx[m] = -5;
        val[m] = 3.0f;
        idx[m + 1] = dim;
        val[m + 1] = 2.0f;
        idx[m + 2] = INT32_MAX;
        val[m + 2] = 1.0f;
        slide_hash_keys_sparse(h, idx, val, m + 3, 0, b);
        CHECK(memcmp(a, b, sizeof a) == 0);
        free(x);
        free(kb);
        slide_hash_destroy(h);
    }
}

/* The fast paths of the benchmark-shaped configurations against their references: the default
 * (AVX2) kernel against simd = SLIDE_SIMD_SCALAR on codes and keys, keys without probes (their own
 * packing loop) against the main keys of a probing call, and dense against sparse keys. Odd
 * dims, raw and mixed keys, zeros, -0.0, negatives and ties (small integers). */
static void test_fast_paths(void) {
    const int64_t dims[] = {127, 128, 129};
    /* family, K, L, bin size, range bits (mixed when below K * bits per function) */
    const int cfg[][5] = {{SLIDE_HASH_DWTA, 6, 50, 8, 18}, {SLIDE_HASH_WTA, 6, 50, 8, 18},
                          {SLIDE_HASH_DWTA, 5, 13, 8, 12}, {SLIDE_HASH_WTA, 7, 9, 4, 11},
                          {SLIDE_HASH_SIMHASH, 9, 50, 8, 9}, {SLIDE_HASH_SIMHASH, 7, 5, 8, 6}};
    slide_rng r;
    slide_rng_seed(&r, 41, 0);
    for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++)
        for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
            const int fam = cfg[c][0], K = cfg[c][1], L = cfg[c][2], KL = K * L, P = 3;
            const int64_t dim = dims[d];
            slide_hash *h = mk(fam, K, L, dim, cfg[c][4], cfg[c][3], 3, 50 + c);
            slide_hash *hs = mk_with(fam, K, L, dim, cfg[c][4], cfg[c][3], 3, 50 + c,
                                     SLIDE_SIMD_SCALAR, 0);
            float x[129], val[129];
            int32_t idx[129];
            uint32_t c1[450], c2[450], k1[50], k2[50], k3[50], kp[50 * (1 + 3)];
            long bad_simd = 0, bad_probe = 0, bad_sparse = 0;
            for (int v = 0; v < 200; v++) {
                const int ints = v % 2;
                for (int64_t i = 0; i < dim; i++) {
                    const uint32_t z = slide_rng_below(&r, 6);
                    x[i] = z == 0 ? 0.0f : z == 1 ? -0.0f
                         : ints ? (float)((int)slide_rng_below(&r, 5) - 2) : slide_rng_normal(&r);
                }
                slide_hash_codes_dense(h, x, c1);
                slide_hash_codes_dense(hs, x, c2);
                slide_hash_keys_dense(h, x, 0, k1);
                slide_hash_keys_dense(hs, x, 0, k2);
                bad_simd += memcmp(c1, c2, (size_t)KL * sizeof *c1) != 0 ||
                            memcmp(k1, k2, (size_t)L * sizeof *k1) != 0;
                slide_hash_keys_dense(h, x, P, kp);
                for (int t = 0; t < L; t++) bad_probe += kp[t * (1 + P)] != k1[t];
                const int n = to_sparse(x, dim, 0, idx, val);
                slide_hash_keys_sparse(h, idx, val, n, 0, k3);
                bad_sparse += memcmp(k1, k3, (size_t)L * sizeof *k1) != 0;
            }
            CHECKF(bad_simd == 0, "%s K=%d L=%d dim=%lld: %s and scalar differ on %ld vectors",
                   slide_hash_family_name(fam), K, L, (long long)dim, slide_hash_simd_path(h),
                   bad_simd);
            CHECKF(bad_probe == 0, "%s K=%d L=%d dim=%lld: %ld keys without probes differ from "
                   "the probing call's main keys", slide_hash_family_name(fam), K, L,
                   (long long)dim, bad_probe);
            CHECKF(bad_sparse == 0, "%s K=%d L=%d dim=%lld: dense and sparse keys differ on %ld "
                   "vectors", slide_hash_family_name(fam), K, L, (long long)dim, bad_sparse);
            slide_hash_destroy(h);
            slide_hash_destroy(hs);
        }
}

/* SimHash batch keys (lanes of vectors, sorted projection programs) equal slide_hash_keys_dense
 * row by row, bit for bit, on the default and the scalar kernels: K*L odd and not a multiple of
 * the group size, dims around 128, row counts around the block size, stride > dim (the gap holds
 * NaN, which must not be read), tie-heavy rows (zeros, -0.0, small integers: many sums are
 * exactly 0), rows whose rounding depends on the order of the additions (values of very
 * different magnitude), and rows with inf or NaN. */
static void test_sim_batch(void) {
    const int kl[][2] = {{9, 50}, {7, 5}, {1, 1}, {5, 20}, {16, 8}, {20, 11}, {32, 128}};
    const int64_t dims[] = {127, 128, 129, 1, 511, 512}; /* 512: row by row */
    const int64_t ns[] = {1, 3, 15, 16, 17, 1000};
    slide_rng r;
    slide_rng_seed(&r, 97, 0);
    for (int path = 0; path < 2; path++)
        for (size_t c = 0; c < sizeof kl / sizeof *kl; c++)
            for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
                const int K = kl[c][0], L = kl[c][1];
                const int64_t dim = dims[d], stride = dim + 3;
                if (K * L > 450 && dim > 129) continue; /* keep the test short */
                const int rb = K <= 24 ? K : 12, sparsity = c == 3 ? 1 : 3; /* raw, mixed keys */
                slide_hash *h = mk_with(SLIDE_HASH_SIMHASH, K, L, dim, rb, 8, sparsity, 90 + c,
                                        path ? SLIDE_SIMD_SCALAR : -1, 0);
                CHECK(strcmp(slide_hash_simd_path(h), "scalar") == 0 || !path);
                const int64_t nmax = ns[sizeof ns / sizeof *ns - 1];
                float *x = malloc((size_t)(nmax * stride) * sizeof *x);
                uint32_t *kb = malloc((size_t)(nmax * L) * sizeof *kb), *k1 = malloc(L * 4u);
                for (int64_t i = 0; i < nmax; i++) {
                    float *xr = x + i * stride;
                    const int kind = (int)(i % 6);
                    for (int64_t j = 0; j < stride; j++) {
                        const uint32_t z = slide_rng_below(&r, 6);
                        float v;
                        if (j >= dim) v = NAN; /* the gap between rows */
                        else if (kind == 0) v = slide_rng_normal(&r);
                        else if (kind == 1 || kind == 2) /* ties: sums of small integers */
                            v = z == 0 ? 0.0f : z == 1 ? -0.0f
                                                       : (float)((int)slide_rng_below(&r, 5) - 2);
                        else if (kind == 3) /* magnitudes 2^-20 .. 2^20 */
                            v = ldexpf(slide_rng_normal(&r), (int)slide_rng_below(&r, 41) - 20);
                        else if (kind == 4) /* +-2^25 absorbs +-1 until it cancels: the sign of
                                               many sums depends on the order of the additions */
                            v = z == 0 ? (slide_rng_below(&r, 2) ? 33554432.0f : -33554432.0f)
                                       : (float)((int)slide_rng_below(&r, 3) - 1);
                        else
                            v = z < 3 ? 0.0f : (float)((int)slide_rng_below(&r, 3) - 1) * 0.5f;
                        xr[j] = v;
                    }
                    if (i % 97 == 7) /* inf or NaN, often in the last dim */
                        xr[(i / 97) % 3 ? i % dim : dim - 1] = (i / 97) % 2 ? INFINITY : NAN;
                    if (i % 89 == 4) memset(xr, 0, (size_t)dim * sizeof *xr);
                }
                for (size_t q = 0; q < sizeof ns / sizeof *ns; q++) {
                    const int64_t n = ns[q];
                    if (n > 17 && quick && dim != 128) continue;
                    const int64_t off = (int64_t)q * 5 % (nmax - n + 1); /* vary the rows */
                    slide_hash_keys_dense_batch(h, x + off * stride, stride, n, kb, 2);
                    long bad = 0;
                    for (int64_t i = 0; i < n; i++) {
                        slide_hash_keys_dense(h, x + (off + i) * stride, 0, k1);
                        bad += memcmp(k1, kb + i * L, (size_t)L * sizeof *k1) != 0;
                    }
                    CHECKF(bad == 0, "simhash batch %s K=%d L=%d dim=%lld n=%lld: %ld rows differ "
                           "from slide_hash_keys_dense", slide_hash_simd_path(h), K, L,
                           (long long)dim, (long long)n, bad);
                }
                free(x);
                free(kb);
                free(k1);
                slide_hash_destroy(h);
            }
}

/* rotate = 1: R keeps inner products (an orthogonal map, checked against the scalar sums in
 * double); dense and sparse forms give the same keys; and the point of it: pairs that share a
 * large common part (x = c 1 + u, y = c 1 + v, u and v independent, cosine about 0.9) collide per
 * function at the rank-code rate of Gaussian pairs at that cosine once rotated, against about
 * 1 / bin_size (what independent pairs get) without rotation, where adding c to every
 * coordinate changes no argmax. Also the parameter errors. */
static void test_rotate(void) {
    for (int dwta = 0; dwta <= 1; dwta++) {
        const int fam = dwta ? SLIDE_HASH_DWTA : SLIDE_HASH_WTA;
        slide_hash_params p = slide_hash_params_default();
        p.family = fam;
        p.K = 8;
        p.L = 50;
        p.dim = 100; /* padded to 128 */
        p.bin_size = 8;
        p.seed = 11;
        slide_hash *plain = NULL, *rot = NULL;
        slide_err err;
        CHECK(slide_hash_create(&plain, &p, &err) == 0);
        p.rotate = 1;
        CHECK(slide_hash_create(&rot, &p, &err) == 0);
        if (!plain || !rot) return;
        CHECK(slide_hash_key_bits(rot) == slide_hash_key_bits(plain));
        CHECK(slide_hash_bits_per_function(rot) == 3);
        const int32_t *dims = NULL;
        CHECK(slide_hash_bin_dims(rot, 0, &dims) == 8 && dims != NULL);
        slide_rng r;
        slide_rng_seed(&r, 5, 6);
        float x[100], y[100], rx[128], ry[128];
        /* inner products and norms kept */
        double worst = 0;
        for (int t = 0; t < 50; t++) {
            fill_gauss(&r, x, 100);
            fill_gauss(&r, y, 100);
            CHECK(slide_hash_rotate(rot, x, rx) == 128 && slide_hash_rotate(rot, y, ry) == 128);
            double a = 0, b = 0, n = 0;
            for (int i = 0; i < 100; i++) a += (double)x[i] * y[i], n += (double)x[i] * x[i];
            for (int i = 0; i < 128; i++) b += (double)rx[i] * ry[i];
            const double e = fabs(a - b) / n;
            if (e > worst) worst = e;
        }
        CHECKF(worst < 1e-5, "rotation changes inner products by %.2e of |x|^2", worst);
        CHECK(slide_hash_rotate(plain, x, rx) == 0);
        /* dense == sparse, with probes */
        for (int t = 0; t < 20; t++) {
            fill_gauss(&r, x, 100);
            for (int i = 0; i < 100; i++)
                if (slide_rng_uniform(&r) < 0.6f) x[i] = 0.0f;
            int32_t idx[100];
            float val[100];
            const int nnz = to_sparse(x, 100, 0, idx, val);
            shuffle_sparse(&r, idx, val, nnz);
            uint32_t kd[50 * 5], ks[50 * 5];
            slide_hash_keys_dense(rot, x, 4, kd);
            slide_hash_keys_sparse(rot, idx, val, nnz, 4, ks);
            CHECK(memcmp(kd, ks, sizeof kd) == 0);
        }
        /* collisions of pairs with a shared part */
        const int n = 400, KL = 8 * 50;
        int64_t same_plain = 0, same_rot = 0;
        double cs = 0;
        for (int t = 0; t < n; t++) {
            fill_gauss(&r, x, 100);
            fill_gauss(&r, y, 100);
            double xx = 0, yy = 0, xy = 0;
            for (int i = 0; i < 100; i++) {
                x[i] += 3.0f;
                y[i] += 3.0f;
                xx += (double)x[i] * x[i];
                yy += (double)y[i] * y[i];
                xy += (double)x[i] * y[i];
            }
            cs += xy / sqrt(xx * yy);
            uint32_t cx[400], cy[400];
            slide_hash_codes_dense(plain, x, cx);
            slide_hash_codes_dense(plain, y, cy);
            for (int f = 0; f < KL; f++) same_plain += cx[f] == cy[f];
            slide_hash_codes_dense(rot, x, cx);
            slide_hash_codes_dense(rot, y, cy);
            for (int f = 0; f < KL; f++) same_rot += cx[f] == cy[f];
        }
        const double pp = (double)same_plain / ((double)n * KL), pr = (double)same_rot / ((double)n * KL);
        fprintf(stderr, "%s rotate: pairs sharing 3 * 1 (mean cosine %.3f): per-function collision "
                        "%.3f rotated, %.3f plain\n", dwta ? "dwta" : "wta", cs / n, pr, pp);
        CHECKF(fabs(pp - 0.125) < 0.02, "plain collision %.3f, expected about 1/8", pp);
        CHECKF(pr > 0.6, "rotated collision %.3f, expected about 0.7 at cosine 0.9", pr);
        slide_hash_destroy(plain);
        slide_hash_destroy(rot);
    }
    slide_hash_params p = slide_hash_params_default();
    p.rotate = 1;
    p.family = SLIDE_HASH_SIMHASH;
    CHECK(slide_hash_params_check(&p) != NULL);
    p.family = SLIDE_HASH_DWTA;
    CHECK(slide_hash_params_check(&p) == NULL);
    p.rotate = 2;
    CHECK(slide_hash_params_check(&p) != NULL);
    p.rotate = 1;
    p.dim = SLIDE_HASH_MAX_ROTATE_DIM + 1;
    CHECK(slide_hash_params_check(&p) != NULL);
}

/* params.simd picks the kernels, not the environment: scalar reports and runs the scalar path,
 * -1 the best this CPU runs (avx2 wherever it is available, also on AVX-512 machines), with
 * identical keys; a network passes its simd to the hashes of its sampled layers. */
static void test_simd_choice(void) {
    const int best = slide_simd_best();
    const char *fast = best >= SLIDE_SIMD_AVX2 ? "avx2" : "scalar";
    for (int fam = 0; fam < 3; fam++) {
        slide_hash *hs = mk_with(fam, 6, 20, 128, 18, 8, 3, 5, SLIDE_SIMD_SCALAR, 0);
        slide_hash *hb = mk_with(fam, 6, 20, 128, 18, 8, 3, 5, -1, 0);
        slide_hash *hx = mk_with(fam, 6, 20, 128, 18, 8, 3, 5, best, 0);
        CHECK(strcmp(slide_hash_simd_path(hs), "scalar") == 0);
        CHECKF(strcmp(slide_hash_simd_path(hb), fast) == 0, "simd -1 gave %s, expected %s",
               slide_hash_simd_path(hb), fast);
        CHECK(strcmp(slide_hash_simd_path(hx), fast) == 0);
        slide_rng r;
        slide_rng_seed(&r, 77, (uint64_t)fam);
        float x[128];
        uint32_t ks[20 * 3], kb[20 * 3];
        long bad = 0;
        for (int v = 0; v < 50; v++) {
            fill_gauss(&r, x, 128);
            for (int i = 0; i < 128; i++)
                if (slide_rng_uniform(&r) < 0.5f) x[i] = 0.0f;
            slide_hash_keys_dense(hs, x, 2, ks);
            slide_hash_keys_dense(hb, x, 2, kb);
            bad += memcmp(ks, kb, sizeof ks) != 0;
        }
        CHECKF(bad == 0, "%s: scalar and %s keys differ on %ld vectors",
               slide_hash_family_name(fam), fast, bad);
        slide_hash_destroy(hs);
        slide_hash_destroy(hb);
        slide_hash_destroy(hx);
    }
    for (int s = 0; s <= best; s++) {
        slide_net_params p = slide_net_params_default();
        p.layer[0].n_out = 8;
        p.layer[1].sampled = 1;
        p.layer[1].hash.family = SLIDE_HASH_DWTA;
        p.layer[1].hash.K = 2;
        p.layer[1].hash.L = 4;
        p.layer[1].hash.range_bits = 6;
        slide_net_params_shape(&p, 32, 40);
        p.simd = s;
        slide_net *net = NULL;
        slide_err err;
        slide_err_clear(&err);
        CHECKF(slide_net_create(&net, &p, &err) == SLIDE_OK, "net: %s", err.msg);
        if (!net) continue;
        const char *path = slide_hash_simd_path(slide_net_layer(net, 1)->hash);
        CHECKF(strcmp(path, s == SLIDE_SIMD_SCALAR ? "scalar" : "avx2") == 0,
               "network with simd %s hashes with %s", slide_simd_name(s), path);
        slide_net_destroy(net);
    }
}

int main(void) {
    quick = getenv("SLIDE_TEST_QUICK") != NULL;
    test_params();

    check_sim_reference(64, 9, 50, 1, 50, 64);
    check_sim_reference(128, 9, 50, 3, 50, 128);
    check_sim_reference(1000, 16, 20, 3, 50, 60);
    check_sim_reference(100000, 9, 50, 3, quick ? 5 : 20, 80); /* on-the-fly entries */
    test_sim_independence();
    test_sim_angle();
    test_sim_angle_sparse();
    test_sim_ties_and_paths();
    test_simd_choice();

    test_wta_bins();
    test_wta_paths();
    test_fast_paths();
    for (int dwta = 0; dwta <= 1; dwta++) {
        check_wta_reference(dwta, 128, 6, 50, 8, 0.0, 0, 100);
        check_wta_reference(dwta, 128, 6, 50, 8, 0.5, 0, 100);
        check_wta_reference(dwta, 128, 6, 50, 8, 0.4, 1, 100); /* ties and negatives */
        check_wta_reference(dwta, 64, 4, 20, 64, 0.7, 1, 100);
        check_wta_reference(dwta, 300, 3, 20, 128, 0.5, 1, 60); /* bins wider than 64 */
        check_wta_reference(dwta, 300, 3, 20, 128, 0.98, 0, 60);
        check_wta_reference(dwta, 1000, 6, 50, 8, 0.97, 0, 60); /* many empty DWTA bins */
    }
    test_dwta_densify();
    test_dwta_strategies();
    test_rotate();
    test_wta_monotone(0);
    test_wta_monotone(1);

    test_dense_sparse_keys();
    check_raw_keys_and_probes(SLIDE_HASH_SIMHASH, 9, 30, 8, 128);
    check_raw_keys_and_probes(SLIDE_HASH_SIMHASH, 3, 30, 8, 40); /* fewer bits than probes */
    check_raw_keys_and_probes(SLIDE_HASH_WTA, 6, 30, 8, 128);
    check_raw_keys_and_probes(SLIDE_HASH_WTA, 3, 20, 128, 300);
    check_raw_keys_and_probes(SLIDE_HASH_DWTA, 6, 30, 8, 128);
    test_mixed_keys();
    test_determinism();
    test_batch_and_range();
    test_sim_batch();
    TEST_MAIN_END();
}
