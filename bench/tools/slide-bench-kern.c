/* slide-bench-kern: output-layer forward (gather_dot over an active set, fp32 and bf16 rows)
 * and backward (two axpys per active neuron) for every available SIMD path, with rows resident
 * in L2 and rows gathered at random from a large slab, and the output softmax over an active
 * set; median of repetitions, speedup over scalar, CSV rows. */
#include "slide/common.h"
#include "slide/kern.h"
#include "slide/rng.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CSV_HEADER "utc,host,bench,simd,regime,active,dim,rep,seconds,rows_per_s,gb_per_s"
#define MAX_PATHS 3
#define N_PASSES 3 /* kern_forward, kern_backward, kern_forward_bf16 */
#define MAX_REPS 101
#define SOFTMAX_N 3016   /* logits per softmax: the Amazon-670K active set */
#define SOFTMAX_ROWS 32  /* rows per sweep: 386 KB, L2-resident */
#define SOFTMAX_SWEEPS 16 /* sweeps per timed repetition (4 with --quick) */

typedef struct {
    const char *csv;
    int64_t slab_mb, l2_rows, active, dim, mem_rows, l2_work;
    int reps, quick, thp;
    uint64_t seed;
} bench_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-bench-kern [options]\n"
            "  --slab-mb N     memory-bound regime: weight slab of N MB, rows gathered at random\n"
            "                  (default 2048; the backward adds a gradient slab of the same size,\n"
            "                  the bf16 forward a bf16 copy of the weights, half the size)\n"
            "  --l2-rows N     L2 regime: N rows, each used once per call in random order\n"
            "                  (default 256: 128 KB of weights + 128 KB of gradients at dim 128)\n"
            "  --active N      memory-bound regime: active rows per call (default 4096)\n"
            "  --dim N         floats per row (default 128, the hidden layer of SLIDE)\n"
            "  --mem-rows N    rows per timed repetition, memory-bound (default 1048576)\n"
            "  --l2-work N     rows per timed repetition, L2 (default 4194304)\n"
            "  --reps N        timed repetitions after one warm-up, >= 5 (default 7)\n"
            "  --quick         short run: 5 reps, 1/4 of the work, slab at most 512 MB\n"
            "  --thp           madvise(MADV_HUGEPAGE) on the slabs (regime is then 'mem_thp')\n"
            "  --csv PATH      rows go here (default results/bench_kern.csv; written to a temp\n"
            "                  file and renamed; earlier rows with the same header are kept)\n"
            "  --seed S        seed of ids and data (default 1)\n"
            "  -h, --help      this text\n"
            "forward:  gather_dot(out, W, dim, NULL, ids, active, h, dim)   per call\n"
            "backward: per active neuron j: axpy(dh, g_j, W[id_j], dim);\n"
            "          axpy(dW[id_j], g_j, h, dim)\n"
            "forward_bf16: gather_dot_bf16(out, Wb, dim, NULL, ids, active, h, dim), Wb = the\n"
            "          weights rounded to bf16 (same rows, same ids)\n"
            "softmax:  softmax(x, 3016) on 32 rows of logits uniform in [-8, 8), refilled\n"
            "          (untimed) before each sweep; 16 sweeps per repetition; regime 'l2',\n"
            "          active 3016, dim 1; rows/s counts elements, GB/s 8 B per element (one\n"
            "          read, one write; the kernel makes three passes over the row)\n"
            "GB/s counts row bytes only: forward reads dim*4 B per row (bf16: dim*2 B); backward\n"
            "reads a weight row and reads+writes a gradient row, 3*dim*4 B per row. Single\n"
            "thread. Paths run interleaved within each repetition; speedup = scalar median /\n"
            "path median. After timing, each path's output is compared once with the scalar one\n"
            "(and the bf16 forward with the fp32 one, within 2^-8 sum|w_i h_i| + 1e-6).\n");
}

/* Strict integer option value in [lo, hi]. */
static int parse_i64(const char *name, const char *v, int64_t lo, int64_t hi, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "slide-bench-kern: %s needs an integer in [%lld, %lld], got '%s'\n", name,
                (long long)lo, (long long)hi, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a bad argument. */
static int parse_args(int argc, char **argv, bench_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return 1;
        if (!strcmp(a, "--quick")) { o->quick = 1; continue; }
        if (!strcmp(a, "--thp")) { o->thp = 1; continue; }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        int64_t x = 0;
        int rc = 0;
        if (!strcmp(a, "--csv")) {
            if (!v || !*v) { fprintf(stderr, "slide-bench-kern: --csv needs a path\n"); return -1; }
            o->csv = v;
        } else if (!strcmp(a, "--slab-mb")) rc = parse_i64(a, v, 1, 1 << 20, &o->slab_mb);
        else if (!strcmp(a, "--l2-rows")) rc = parse_i64(a, v, 1, 1 << 20, &o->l2_rows);
        else if (!strcmp(a, "--active")) rc = parse_i64(a, v, 1, 1 << 24, &o->active);
        else if (!strcmp(a, "--dim")) rc = parse_i64(a, v, 1, 1 << 16, &o->dim);
        else if (!strcmp(a, "--mem-rows")) rc = parse_i64(a, v, 1, (int64_t)1 << 32, &o->mem_rows);
        else if (!strcmp(a, "--l2-work")) rc = parse_i64(a, v, 1, (int64_t)1 << 40, &o->l2_work);
        else if (!strcmp(a, "--reps")) {
            rc = parse_i64(a, v, 5, MAX_REPS, &x);
            o->reps = (int)x;
        } else if (!strcmp(a, "--seed")) {
            rc = parse_i64(a, v, 0, INT64_MAX, &x);
            o->seed = (uint64_t)x;
        } else {
            fprintf(stderr, "slide-bench-kern: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        if (rc) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- memory */
/* 2 MB-aligned, first-touched (filled) by the caller on this thread. */
static void *slab_alloc(size_t bytes, int thp) {
    void *p = NULL;
    if (posix_memalign(&p, (size_t)2 << 20, bytes ? bytes : 64) != 0) return NULL;
    if (thp && madvise(p, bytes, MADV_HUGEPAGE) != 0)
        fprintf(stderr, "slide-bench-kern: note: madvise(MADV_HUGEPAGE): %s\n", strerror(errno));
    return p;
}

/* Cheap deterministic values in [-scale, scale): a 2 GB slab fills in about a second. */
static void fill(float *x, size_t n, uint64_t seed, float scale) {
    uint64_t s = slide_mix64(seed + 0x9E3779B97F4A7C15ULL) | 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = ((float)(uint32_t)(s >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * scale;
    }
}

/* ---------------------------------------------------------------- one workload */
typedef struct {
    const char *regime; /* "l2", "mem" or "mem_thp" */
    float *W, *G;       /* weights and weight gradients, rows x dim */
    const uint16_t *Wb; /* W rounded to bf16, rows x dim */
    int64_t rows, dim;
    uint32_t *ids;      /* n_ids row ids, consumed `active` per call */
    int64_t n_ids, active;
    const float *h;     /* hidden activation (dim) */
    const float *grad;  /* output gradient per active position (active) */
} workload;

static volatile float g_sink;

static void run_forward(const slide_kern *k, const workload *w, float *out) {
    float acc = 0;
    for (int64_t c = 0; c < w->n_ids; c += w->active) {
        int64_t na = w->n_ids - c < w->active ? w->n_ids - c : w->active;
        k->gather_dot(out, w->W, w->dim, NULL, w->ids + c, na, w->h, w->dim);
        acc += out[0];
    }
    g_sink = acc;
}

static void run_forward_bf16(const slide_kern *k, const workload *w, float *out) {
    float acc = 0;
    for (int64_t c = 0; c < w->n_ids; c += w->active) {
        int64_t na = w->n_ids - c < w->active ? w->n_ids - c : w->active;
        k->gather_dot_bf16(out, w->Wb, w->dim, NULL, w->ids + c, na, w->h, w->dim);
        acc += out[0];
    }
    g_sink = acc;
}

static void run_backward(const slide_kern *k, const workload *w, float *dh) {
    float acc = 0;
    for (int64_t c = 0; c < w->n_ids; c += w->active) {
        int64_t na = w->n_ids - c < w->active ? w->n_ids - c : w->active;
        memset(dh, 0, (size_t)w->dim * sizeof *dh);
        for (int64_t j = 0; j < na; j++) {
            int64_t row = (int64_t)w->ids[c + j] * w->dim;
            float g = w->grad[j];
            k->axpy(dh, g, w->W + row, w->dim);
            k->axpy(w->G + row, g, w->h, w->dim);
        }
        acc += dh[0];
    }
    g_sink = acc;
}

/* pass 0: forward, 1: backward, 2: bf16 forward */
static void run_pass(int pass, const slide_kern *k, const workload *w, float *out, float *dh) {
    if (pass == 0) run_forward(k, w, out);
    else if (pass == 1) run_backward(k, w, dh);
    else run_forward_bf16(k, w, out);
}

/* Compares each path with scalar once on the first call's ids (copies, so the timed slabs
 * are not involved). Returns the number of values outside the bound. */
static long validate(const slide_kern *const *K, int np, const workload *w, double *max_rel_fwd,
                     double *max_rel_bwd) {
    int64_t na = w->n_ids < w->active ? w->n_ids : w->active, d = w->dim;
    float *outs = malloc((size_t)na * sizeof(float)), *outf = malloc((size_t)na * sizeof(float));
    size_t rows_bytes = (size_t)(na * d) * sizeof(float);
    float *gs = malloc(rows_bytes), *gf = malloc(rows_bytes), *g0 = malloc(rows_bytes);
    float *dhs = malloc((size_t)d * sizeof(float)), *dhf = malloc((size_t)d * sizeof(float));
    long bad = 0;
    if (!outs || !outf || !gs || !gf || !g0 || !dhs || !dhf) {
        fprintf(stderr, "slide-bench-kern: out of memory in validation\n");
        bad = 1;
        goto done;
    }
    for (int64_t j = 0; j < na; j++)
        memcpy(g0 + j * d, w->G + (int64_t)w->ids[j] * d, (size_t)d * sizeof(float));
    K[0]->gather_dot(outs, w->W, d, NULL, w->ids, na, w->h, d);
    memcpy(gs, g0, rows_bytes);
    memset(dhs, 0, (size_t)d * sizeof(float));
    for (int64_t j = 0; j < na; j++) {
        K[0]->axpy(dhs, w->grad[j], w->W + (int64_t)w->ids[j] * d, d);
        K[0]->axpy(gs + j * d, w->grad[j], w->h, d);
    }
    for (int p = 1; p < np; p++) {
        double mf = 0, mb = 0;
        K[p]->gather_dot(outf, w->W, d, NULL, w->ids, na, w->h, d);
        for (int64_t j = 0; j < na; j++) {
            const float *row = w->W + (int64_t)w->ids[j] * d;
            double scale = 0;
            for (int64_t i = 0; i < d; i++) scale += fabs((double)row[i] * w->h[i]);
            double rel = fabs((double)outf[j] - outs[j]) / (scale > 0 ? scale : 1);
            mf = rel > mf ? rel : mf;
            bad += !(rel <= 1e-5);
        }
        memcpy(gf, g0, rows_bytes);
        memset(dhf, 0, (size_t)d * sizeof(float));
        for (int64_t j = 0; j < na; j++) {
            K[p]->axpy(dhf, w->grad[j], w->W + (int64_t)w->ids[j] * d, d);
            K[p]->axpy(gf + j * d, w->grad[j], w->h, d);
        }
        for (int64_t i = 0; i < d; i++) {
            double scale = 0;
            for (int64_t j = 0; j < na; j++)
                scale += fabs((double)w->grad[j] * w->W[(int64_t)w->ids[j] * d + i]);
            double rel = fabs((double)dhf[i] - dhs[i]) / (scale > 0 ? scale : 1);
            mb = rel > mb ? rel : mb;
            bad += !(rel <= 1e-5);
        }
        for (int64_t j = 0; j < na; j++)
            for (int64_t i = 0; i < d; i++) {
                double scale = fabs(g0[j * d + i]) + fabs((double)w->grad[j] * w->h[i]);
                double rel = fabs((double)gf[j * d + i] - gs[j * d + i]) / (scale > 0 ? scale : 1);
                mb = rel > mb ? rel : mb;
                bad += !(rel <= 1e-6);
            }
        max_rel_fwd[p] = mf;
        max_rel_bwd[p] = mb;
    }
done:
    free(outs), free(outf), free(gs), free(gf), free(g0), free(dhs), free(dhf);
    return bad;
}

static float bf16_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The bf16 forward on the first call's ids: each path against scalar's bf16 forward (1e-5 of
 * sum|w_i h_i|), and scalar's against the fp32 forward (at most 2^-8 sum|w_i h_i| + 1e-6 apart:
 * what rounding the weights costs). Returns the number of values outside the bound. */
static long validate_bf16(const slide_kern *const *K, int np, const workload *w,
                          double *max_rel /* [np] */, double *max_rel_fp32) {
    int64_t na = w->n_ids < w->active ? w->n_ids : w->active, d = w->dim;
    float *o32 = malloc((size_t)na * sizeof(float)), *os = malloc((size_t)na * sizeof(float));
    float *of = malloc((size_t)na * sizeof(float));
    double *sb = malloc((size_t)na * sizeof(double));
    long bad = 0;
    if (!o32 || !os || !of || !sb) {
        fprintf(stderr, "slide-bench-kern: out of memory in validation\n");
        bad = 1;
        goto done;
    }
    K[0]->gather_dot(o32, w->W, d, NULL, w->ids, na, w->h, d);
    K[0]->gather_dot_bf16(os, w->Wb, d, NULL, w->ids, na, w->h, d);
    *max_rel_fp32 = 0;
    for (int64_t j = 0; j < na; j++) {
        const float *row = w->W + (int64_t)w->ids[j] * d;
        const uint16_t *rb = w->Wb + (int64_t)w->ids[j] * d;
        double s32 = 0;
        sb[j] = 0;
        for (int64_t i = 0; i < d; i++) {
            s32 += fabs((double)row[i] * w->h[i]);
            sb[j] += fabs((double)bf16_f32(rb[i]) * w->h[i]);
        }
        double diff = fabs((double)os[j] - o32[j]);
        double rel = diff / (s32 > 0 ? s32 : 1);
        *max_rel_fp32 = rel > *max_rel_fp32 ? rel : *max_rel_fp32;
        bad += !(diff <= s32 / 256 + 1e-6);
    }
    for (int p = 1; p < np; p++) {
        double m = 0;
        K[p]->gather_dot_bf16(of, w->Wb, d, NULL, w->ids, na, w->h, d);
        for (int64_t j = 0; j < na; j++) {
            double rel = fabs((double)of[j] - os[j]) / (sb[j] > 0 ? sb[j] : 1);
            m = rel > m ? rel : m;
            bad += !(rel <= 1e-5);
        }
        max_rel[p] = m;
    }
done:
    free(o32), free(os), free(of), free(sb);
    return bad;
}

/* Both validations of one regime, one line per fast path. Returns the values out of bound. */
static long validate_regime(const slide_kern *const *K, int np, const workload *w) {
    double vf[MAX_PATHS] = {0}, vb[MAX_PATHS] = {0}, vh[MAX_PATHS] = {0}, v32 = 0;
    long bad = validate(K, np, w, vf, vb);
    bad += validate_bf16(K, np, w, vh, &v32);
    for (int p = 1; p < np; p++)
        printf("[bench-kern] validate %s %s vs scalar: forward max rel %.2e (bound 1e-5), "
               "backward max rel %.2e (bound 1e-5 dh, 1e-6 dW), bf16 forward max rel %.2e "
               "(bound 1e-5)\n", w->regime, K[p]->name, vf[p], vb[p], vh[p]);
    printf("[bench-kern] validate %s bf16 forward vs fp32 forward (scalar): max rel %.2e "
           "(bound 2^-8 = 3.9e-3, + 1e-6)\n", w->regime, v32);
    return bad;
}

/* ---------------------------------------------------------------- results */
typedef struct {
    const char *bench, *regime;
    int simd;
    int64_t active, dim, rows_per_rep, bytes_per_row;
    double secs[MAX_REPS];
    int reps;
    double median;
} result;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *v, int n) {
    double t[MAX_REPS];
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* ---------------------------------------------------------------- softmax */
/* The first row through each path against scalar's: |fast - scalar| <= 1e-6 * scalar + 1e-12
 * (the bound slide/kern.h states). Returns the values outside it; max_rel[p] per path. */
static long validate_softmax(const slide_kern *const *K, int np, const float *src,
                             double *max_rel /* [np] */) {
    float s[SOFTMAX_N], f[SOFTMAX_N];
    long bad = 0;
    memcpy(s, src, sizeof s);
    K[0]->softmax(s, SOFTMAX_N);
    for (int p = 1; p < np; p++) {
        double m = 0;
        memcpy(f, src, sizeof f);
        K[p]->softmax(f, SOFTMAX_N);
        for (int i = 0; i < SOFTMAX_N; i++) {
            double rel = fabs((double)f[i] - s[i]) / ((double)s[i] + 1e-6);
            m = rel > m ? rel : m;
            bad += !(rel <= 1e-6);
        }
        max_rel[p] = m;
        printf("[bench-kern] validate softmax %s vs scalar: max rel %.2e (bound 1e-6 * scalar + "
               "1e-12)\n", K[p]->name, m);
    }
    return bad;
}

/* Times softmax for every path (paths interleaved per repetition, one untimed warm-up each);
 * the rows are refilled from src outside the timed region before each sweep. */
static void time_softmax(const slide_kern *const *K, int np, int reps, int sweeps,
                         const float *src, float *x, result *res /* [np] */) {
    const size_t bytes = (size_t)SOFTMAX_ROWS * SOFTMAX_N * sizeof(float);
    for (int p = 0; p < np; p++) {
        result *r = &res[p];
        r->bench = "kern_softmax";
        r->regime = "l2";
        r->simd = K[p]->simd;
        r->active = SOFTMAX_N;
        r->dim = 1;
        r->rows_per_rep = (int64_t)sweeps * SOFTMAX_ROWS * SOFTMAX_N;
        r->bytes_per_row = 2 * sizeof(float);
        r->reps = reps;
        memcpy(x, src, bytes);
        for (int j = 0; j < SOFTMAX_ROWS; j++) K[p]->softmax(x + (int64_t)j * SOFTMAX_N, SOFTMAX_N);
    }
    for (int rep = 0; rep < reps; rep++)
        for (int p = 0; p < np; p++) {
            double t = 0;
            for (int sw = 0; sw < sweeps; sw++) {
                memcpy(x, src, bytes);
                double t0 = slide_now();
                for (int j = 0; j < SOFTMAX_ROWS; j++)
                    K[p]->softmax(x + (int64_t)j * SOFTMAX_N, SOFTMAX_N);
                t += slide_now() - t0;
                g_sink = x[0];
            }
            res[p].secs[rep] = t;
        }
    for (int p = 0; p < np; p++) res[p].median = median_of(res[p].secs, reps);
}

/* Times forward, backward and bf16 forward of one workload for every path: one untimed
 * warm-up per path, then the repetitions, paths interleaved so slow drifts of a shared CPU hit
 * all alike. */
static void time_workload(const slide_kern *const *K, int np, const workload *w, int reps,
                          result *res /* [N_PASSES * np] */, float *out, float *dh) {
    static const char *const bench[N_PASSES] = {"kern_forward", "kern_backward",
                                                "kern_forward_bf16"};
    static const int64_t row_bytes[N_PASSES] = {sizeof(float), 3 * sizeof(float),
                                                sizeof(uint16_t)};
    for (int pass = 0; pass < N_PASSES; pass++)
        for (int p = 0; p < np; p++) {
            result *r = &res[pass * np + p];
            r->bench = bench[pass];
            r->regime = w->regime;
            r->simd = K[p]->simd;
            r->active = w->active;
            r->dim = w->dim;
            r->rows_per_rep = w->n_ids;
            r->bytes_per_row = row_bytes[pass] * w->dim;
            r->reps = reps;
            run_pass(pass, K[p], w, out, dh);
        }
    for (int rep = 0; rep < reps; rep++)
        for (int pass = 0; pass < N_PASSES; pass++)
            for (int p = 0; p < np; p++) {
                double t0 = slide_now();
                run_pass(pass, K[p], w, out, dh);
                res[pass * np + p].secs[rep] = slide_now() - t0;
            }
    for (int i = 0; i < N_PASSES * np; i++) res[i].median = median_of(res[i].secs, reps);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* Existing rows (when the header matches) + the new ones into a temp file, then rename. */
static int write_csv(const char *csv, const result *res, int nres, const char *utc,
                     const char *host) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", csv, (int)getpid()) >= (int)sizeof tmp) return -1;
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "slide-bench-kern: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    size_t olen = 0;
    char *old = slurp(csv, &olen);
    size_t hl = strlen(CSV_HEADER);
    if (old && olen > hl && !strncmp(old, CSV_HEADER, hl) && old[hl] == '\n') {
        fwrite(old, 1, olen, out);
        if (old[olen - 1] != '\n') fputc('\n', out);
    } else {
        if (old && olen)
            fprintf(stderr, "slide-bench-kern: note: %s has another header; starting it afresh\n",
                    csv);
        fprintf(out, "%s\n", CSV_HEADER);
    }
    free(old);
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        for (int rep = 0; rep < r->reps; rep++) {
            double s = r->secs[rep], rps = (double)r->rows_per_rep / s;
            fprintf(out, "%s,%s,%s,%s,%s,%lld,%lld,%d,%.6f,%.1f,%.3f\n", utc, host, r->bench,
                    slide_simd_name(r->simd), r->regime, (long long)r->active, (long long)r->dim,
                    rep, s, rps, rps * (double)r->bytes_per_row / 1e9);
        }
    }
    int bad = ferror(out) != 0;
    bad |= fclose(out) != 0;
    if (bad || rename(tmp, csv) != 0) {
        fprintf(stderr, "slide-bench-kern: cannot write %s: %s\n", csv, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void print_table(const result *res, int nres, int np) {
    printf("\n%-17s %-8s %7s %4s %-7s %10s %12s %8s %9s %9s\n", "bench", "regime", "active",
           "dim", "simd", "median_s", "rows/s", "GB/s", "spread", "x scalar");
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        const result *base = &res[i - i % np]; /* scalar is the first path of each group */
        double lo = r->secs[0], hi = r->secs[0];
        for (int k = 1; k < r->reps; k++) {
            lo = r->secs[k] < lo ? r->secs[k] : lo;
            hi = r->secs[k] > hi ? r->secs[k] : hi;
        }
        double rps = (double)r->rows_per_rep / r->median;
        printf("%-17s %-8s %7lld %4lld %-7s %10.5f %12.4g %8.2f %8.1f%% %8.2fx\n", r->bench,
               r->regime, (long long)r->active, (long long)r->dim, slide_simd_name(r->simd),
               r->median, rps, rps * (double)r->bytes_per_row / 1e9,
               100.0 * (hi - lo) / r->median, base->median / r->median);
    }
    printf("(spread = (max - min) / median over the repetitions; x scalar = scalar median / "
           "this median, same run)\n");
}

int main(int argc, char **argv) {
    bench_opts o = {.csv = "results/bench_kern.csv", .slab_mb = 2048, .l2_rows = 256,
                    .active = 4096, .dim = 128, .mem_rows = 1 << 20, .l2_work = 1 << 22,
                    .reps = 7, .seed = 1};
    int pr = parse_args(argc, argv, &o);
    if (pr > 0) {
        usage(stdout);
        return 0;
    }
    if (pr < 0) return 2;
    if (o.quick) {
        o.reps = 5;
        o.mem_rows /= 4;
        o.l2_work /= 4;
        if (o.slab_mb > 512) o.slab_mb = 512;
    }

    /* paths: scalar first, then every available fast one */
    const slide_kern *K[MAX_PATHS];
    int np = 0;
    for (int s = SLIDE_SIMD_SCALAR; s <= SLIDE_SIMD_AVX512; s++) {
        if (slide_simd_available(s)) K[np++] = slide_kern_get(s);
        else printf("[bench-kern] %s: skipped: %s\n", slide_simd_name(s),
                    slide_simd_unavailable_reason(s));
    }

    char utc[32], host[256] = "unknown";
    time_t now = time(NULL);
    strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (gethostname(host, sizeof host) != 0) strcpy(host, "unknown");
    host[sizeof host - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == ',' || *c == '"' || *c == '\n') *c = '_';
    char cpu[160] = "unknown", load[64] = "NA";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    if ((f = fopen("/proc/loadavg", "r"))) {
        if (fgets(load, sizeof load, f)) load[strcspn(load, "\n")] = '\0';
        fclose(f);
    }
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    int64_t d = o.dim;
    int64_t mem_rows_slab = o.slab_mb * ((int64_t)1 << 20) / (d * (int64_t)sizeof(float));
    if (mem_rows_slab < 1 || mem_rows_slab > (int64_t)UINT32_MAX) {
        fprintf(stderr, "slide-bench-kern: --slab-mb %lld holds %lld rows of %lld floats: need "
                "1 .. 2^32-1\n", (long long)o.slab_mb, (long long)mem_rows_slab, (long long)d);
        return 2;
    }
    printf("[bench-kern] utc %s host %s cpu '%s' loadavg %s\n", utc, host, cpu, load);
    printf("[bench-kern] build %s, %s, flags '%s'; L2 %ld KB per core (sysconf)\n",
           slide_build_commit(), slide_build_compiler(), slide_build_flags(),
           l2 > 0 ? l2 / 1024 : -1);
    printf("[bench-kern] paths:");
    for (int p = 0; p < np; p++) printf(" %s", K[p]->name);
    printf("; dim %lld; reps %d; L2 regime %lld rows (%lld KB W + %lld KB dW), %lld rows/rep; "
           "memory regime %lld MB slab (%lld rows) x2 for backward + %lld MB bf16 copy, "
           "active %lld, %lld rows/rep%s\n",
           (long long)d, o.reps, (long long)o.l2_rows, (long long)(o.l2_rows * d * 4 / 1024),
           (long long)(o.l2_rows * d * 4 / 1024), (long long)o.l2_work, (long long)o.slab_mb,
           (long long)mem_rows_slab, (long long)(o.slab_mb / 2), (long long)o.active,
           (long long)o.mem_rows, o.thp ? ", THP requested" : "");
    if (l2 > 0 && 2 * o.l2_rows * d * 4 > l2)
        printf("[bench-kern] note: L2 regime touches %lld KB, more than this L2 (%ld KB)\n",
               (long long)(2 * o.l2_rows * d * 4 / 1024), l2 / 1024);

    slide_rng rng;
    slide_rng_seed(&rng, o.seed, 0);
    int64_t max_active = o.active > o.l2_rows ? o.active : o.l2_rows;
    float *h = malloc((size_t)d * sizeof(float)), *dh = malloc((size_t)d * sizeof(float));
    float *grad = malloc((size_t)max_active * sizeof(float));
    float *out = malloc((size_t)max_active * sizeof(float));
    int64_t n_l2_ids = (o.l2_work + o.l2_rows - 1) / o.l2_rows * o.l2_rows;
    uint32_t *ids_l2 = malloc((size_t)n_l2_ids * sizeof(uint32_t));
    uint32_t *ids_mem = malloc((size_t)o.mem_rows * sizeof(uint32_t));
    float *Wl2 = slab_alloc((size_t)(o.l2_rows * d) * sizeof(float), 0);
    float *Gl2 = slab_alloc((size_t)(o.l2_rows * d) * sizeof(float), 0);
    uint16_t *Wbl2 = slab_alloc((size_t)(o.l2_rows * d) * sizeof(uint16_t), 0);
    if (!h || !grad || !out || !dh || !ids_l2 || !ids_mem || !Wl2 || !Gl2 || !Wbl2) {
        fprintf(stderr, "slide-bench-kern: out of memory\n");
        return 1;
    }
    fill(h, (size_t)d, o.seed + 1, 1.0f);
    fill(grad, (size_t)max_active, o.seed + 2, 1e-3f);
    fill(Wl2, (size_t)(o.l2_rows * d), o.seed + 3, 0.1f);
    fill(Gl2, (size_t)(o.l2_rows * d), o.seed + 4, 0.1f);
    K[np - 1]->to_bf16(Wbl2, Wl2, o.l2_rows * d); /* the same bits on every path */
    /* L2 ids: each call is a fresh random permutation of all rows (the active set) */
    for (int64_t c = 0; c < n_l2_ids; c += o.l2_rows) {
        uint32_t *p = ids_l2 + c;
        for (int64_t i = 0; i < o.l2_rows; i++) p[i] = (uint32_t)i;
        for (int64_t i = o.l2_rows - 1; i > 0; i--) {
            uint32_t j = slide_rng_below(&rng, (uint32_t)(i + 1)), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
    }
    for (int64_t i = 0; i < o.mem_rows; i++)
        ids_mem[i] = (uint32_t)(slide_rng_next(&rng) % (uint64_t)mem_rows_slab);

    result res[2 * N_PASSES * MAX_PATHS];
    int nres = 0;
    long bad = 0;

    workload wl2 = {"l2", Wl2, Gl2, Wbl2, o.l2_rows, d, ids_l2, n_l2_ids, o.l2_rows, h, grad};
    printf("[bench-kern] timing the L2 regime ...\n");
    fflush(stdout);
    time_workload(K, np, &wl2, o.reps, res + nres, out, dh);
    nres += N_PASSES * np;
    bad += validate_regime(K, np, &wl2);

    const size_t sm_floats = (size_t)SOFTMAX_ROWS * SOFTMAX_N;
    float *sm_src = malloc(sm_floats * sizeof(float)), *sm_x = malloc(sm_floats * sizeof(float));
    if (!sm_src || !sm_x) {
        fprintf(stderr, "slide-bench-kern: out of memory\n");
        return 1;
    }
    fill(sm_src, sm_floats, o.seed + 7, 8.0f);
    result res_sm[MAX_PATHS];
    double sm_rel[MAX_PATHS] = {0};
    printf("[bench-kern] timing softmax (%d rows of %d logits) ...\n", SOFTMAX_ROWS, SOFTMAX_N);
    fflush(stdout);
    time_softmax(K, np, o.reps, o.quick ? SOFTMAX_SWEEPS / 4 : SOFTMAX_SWEEPS, sm_src, sm_x,
                 res_sm);
    bad += validate_softmax(K, np, sm_src, sm_rel);
    free(sm_src), free(sm_x);

    size_t slab_floats = (size_t)mem_rows_slab * (size_t)d;
    printf("[bench-kern] filling 2 x %lld MB slabs and a %lld MB bf16 copy ...\n",
           (long long)o.slab_mb, (long long)(o.slab_mb / 2));
    fflush(stdout);
    float *Wm = slab_alloc(slab_floats * sizeof(float), o.thp);
    float *Gm = slab_alloc(slab_floats * sizeof(float), o.thp);
    uint16_t *Wbm = slab_alloc(slab_floats * sizeof(uint16_t), o.thp);
    if (!Wm || !Gm || !Wbm) {
        fprintf(stderr, "slide-bench-kern: cannot allocate 2.5 x %lld MB (try --slab-mb)\n",
                (long long)o.slab_mb);
        return 1;
    }
    fill(Wm, slab_floats, o.seed + 5, 0.1f);
    fill(Gm, slab_floats, o.seed + 6, 0.1f);
    K[np - 1]->to_bf16(Wbm, Wm, (int64_t)slab_floats);
    workload wm = {o.thp ? "mem_thp" : "mem", Wm, Gm, Wbm, mem_rows_slab, d, ids_mem,
                   o.mem_rows, o.active, h, grad};
    printf("[bench-kern] timing the memory-bound regime ...\n");
    fflush(stdout);
    time_workload(K, np, &wm, o.reps, res + nres, out, dh);
    nres += N_PASSES * np;
    bad += validate_regime(K, np, &wm);

    /* print grouped by (bench, regime) with scalar first in each group */
    result sorted[2 * N_PASSES * MAX_PATHS + MAX_PATHS];
    int ns = 0;
    for (int pass = 0; pass < N_PASSES; pass++)
        for (int g = 0; g < 2; g++)
            for (int p = 0; p < np; p++) sorted[ns++] = res[g * N_PASSES * np + pass * np + p];
    for (int p = 0; p < np; p++) sorted[ns++] = res_sm[p];
    print_table(sorted, ns, np);

    int rc = 0;
    if (bad) {
        fprintf(stderr, "slide-bench-kern: validation FAILED: %ld values outside the bound\n", bad);
        rc = 1;
    }
    if (write_csv(o.csv, sorted, ns, utc, host) != 0) rc = 1;
    else printf("rows written to %s\n", o.csv);
    free(Wm), free(Gm), free(Wbm), free(Wl2), free(Gl2), free(Wbl2);
    free(h), free(grad), free(out), free(dh), free(ids_l2), free(ids_mem);
    return rc;
}
