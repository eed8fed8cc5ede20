/* Tests for the kernels: every available SIMD path against the scalar reference on random
 * inputs of awkward lengths and unaligned pointers, the scalar reference against double
 * precision, bf16 rounding against a table and against rounding by distances, bf16 storage
 * against fp32, and dispatch (names, availability, SLIDE_SIMD). Prints max abs/rel errors. */
#include "slide/kern.h"
#include "slide/rng.h"
#include "test_util.h"

#include <stdint.h>

/* Under ASan buffers end exactly at their last element, so a read or write past the end is
 * reported; otherwise canaries after the end catch stray writes. Canaries before the start
 * (the unaligned offset) are checked in both builds. */
#if defined(__SANITIZE_ADDRESS__)
#define TAIL_GUARD 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAIL_GUARD 0
#endif
#endif
#ifndef TAIL_GUARD
#define TAIL_GUARD 16
#endif

static const int64_t LENS[] = {0,  1,  2,  3,  7,   8,   15,  16,  17,
                               31, 33, 63, 64, 65, 127, 128, 129, 1000};
#define N_LENS ((int)(sizeof LENS / sizeof LENS[0]))
#define N_OFFS 4 /* pointer + 0..3 floats */
/* -1.2345e7: finite, so a kernel that reads it gives a visibly wrong result, and one that
 * writes back arithmetic on it changes its bits (a NaN canary would survive NaN + x). */
#define CANARY 0xcb3c614eu

/* ---------------------------------------------------------------- guarded buffers */
typedef struct {
    float *base; /* allocation: off canaries, n data, TAIL_GUARD canaries */
    float *p;    /* the data, base + off: unaligned when off > 0 */
    int64_t n, off;
} buf;

static float canary(void) {
    uint32_t u = CANARY;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static buf buf_alloc(int64_t n, int64_t off) {
    buf b = {0};
    size_t total = (size_t)(off + n + TAIL_GUARD);
    /* 64-byte aligned base, so base + off really is misaligned by off floats; posix_memalign
     * (not aligned_alloc) because the size must stay exact for ASan */
    size_t bytes = total ? total * sizeof(float) : sizeof(float);
    void *mem = NULL;
    if (posix_memalign(&mem, 64, bytes) != 0) { fprintf(stderr, "out of memory\n"); exit(1); }
    b.base = mem;
    b.p = b.base + off;
    b.n = n;
    b.off = off;
    float c = canary();
    for (int64_t i = 0; i < off; i++) b.base[i] = c;
    for (int64_t i = 0; i < TAIL_GUARD; i++) b.p[n + i] = c;
    return b;
}

static buf buf_rand(int64_t n, int64_t off, slide_rng *r, float lo, float hi) {
    buf b = buf_alloc(n, off);
    for (int64_t i = 0; i < n; i++) b.p[i] = lo + (hi - lo) * slide_rng_uniform(r);
    return b;
}

static buf buf_copy(const buf *s, int64_t off) {
    buf b = buf_alloc(s->n, off);
    if (s->n) memcpy(b.p, s->p, (size_t)s->n * sizeof(float));
    return b;
}

static int buf_guards_ok(const buf *b) {
    uint32_t u;
    for (int64_t i = 0; i < b->off; i++) {
        memcpy(&u, &b->base[i], sizeof u);
        if (u != CANARY) return 0;
    }
    for (int64_t i = 0; i < TAIL_GUARD; i++) {
        memcpy(&u, &b->p[b->n + i], sizeof u);
        if (u != CANARY) return 0;
    }
    return 1;
}

static void buf_free(buf *b) {
    free(b->base);
    b->base = b->p = NULL;
}

/* ---------------------------------------------------------------- error statistics */
typedef struct {
    const char *kernel;
    double bound;      /* allowed |diff| / scale */
    const char *scale; /* what the relative error is relative to */
    double max_abs, max_rel;
    long cases, bad, guard_bad;
} stat;

static void stat_add(stat *s, double got, double want, double scale) {
    double d = fabs(got - want);
    double rel = d == 0 ? 0 : scale > 0 ? d / scale : INFINITY;
    if (got != got || want != want) rel = (got != got && want != want) ? 0 : INFINITY;
    if (d > s->max_abs && d == d) s->max_abs = d;
    if (rel > s->max_rel) s->max_rel = rel;
    if (!(rel <= s->bound)) {
        if (s->bad < 5)
            fprintf(stderr, "  %s: got %.9g want %.9g (scale %.3g, rel %.3g > %.3g)\n", s->kernel,
                    got, want, scale, rel, s->bound);
        s->bad++;
    }
}

static void stat_exact(stat *s, float got, float want) {
    uint32_t a, b;
    memcpy(&a, &got, sizeof a);
    memcpy(&b, &want, sizeof b);
    double d = fabs((double)got - (double)want);
    if (d > s->max_abs && d == d) s->max_abs = d;
    if (a != b) {
        if (s->bad < 5)
            fprintf(stderr, "  %s: got %.9g (0x%08x) want %.9g (0x%08x), must be identical\n",
                    s->kernel, (double)got, a, (double)want, b);
        s->max_rel = INFINITY;
        s->bad++;
    }
}

static void stat_guard(stat *s, const buf *b) {
    if (!buf_guards_ok(b)) {
        if (s->guard_bad < 5)
            fprintf(stderr, "  %s: wrote outside its buffer (n=%lld off=%lld)\n", s->kernel,
                    (long long)b->n, (long long)b->off);
        s->guard_bad++;
    }
}

static void stat_report(const char *path, const char *vs, const stat *s) {
    int ok = s->bad == 0 && s->guard_bad == 0;
    printf("[kern] %-7s vs %-7s %-16s cases %5ld  max_abs %.3e  max_rel %.3e  (bound %s)  %s\n",
           path, vs, s->kernel, s->cases, s->max_abs, s->max_rel,
           s->bound == 0 ? "bit-identical" : s->scale, ok ? "ok" : "FAIL");
    CHECKF(ok, "%s %s: %ld bad values, %ld guard violations", path, s->kernel, s->bad,
           s->guard_bad);
}

/* ---------------------------------------------------------------- kernels vs reference */
static void test_dot(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "dot", .bound = 1e-5, .scale = "1e-5 * sum|a_i b_i|"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            buf a = buf_rand(n, off, r, -1, 1), b = buf_rand(n, (off + 1) % N_OFFS, r, -1, 1);
            double scale = 0;
            for (int64_t i = 0; i < n; i++) scale += fabs((double)a.p[i] * b.p[i]);
            float want = S->dot(a.p, b.p, n), got = F->dot(a.p, b.p, n);
            stat_add(&st, got, want, scale);
            st.cases++;
            stat_guard(&st, &a);
            stat_guard(&st, &b);
            buf_free(&a);
            buf_free(&b);
        }
    stat_report(F->name, S->name, &st);
}

static void test_axpy(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "axpy", .bound = 1e-6, .scale = "1e-6 * (|y_i| + |alpha x_i|)"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            float alpha = 2.0f * slide_rng_uniform(r) - 1.0f;
            buf x = buf_rand(n, (off + 2) % N_OFFS, r, -1, 1);
            buf y0 = buf_rand(n, 0, r, -1, 1);
            buf ys = buf_copy(&y0, off), yf = buf_copy(&y0, off);
            S->axpy(ys.p, alpha, x.p, n);
            F->axpy(yf.p, alpha, x.p, n);
            for (int64_t i = 0; i < n; i++)
                stat_add(&st, yf.p[i], ys.p[i], fabs(y0.p[i]) + fabs(alpha * x.p[i]));
            st.cases++;
            stat_guard(&st, &x);
            stat_guard(&st, &yf);
            buf_free(&x);
            buf_free(&y0);
            buf_free(&ys);
            buf_free(&yf);
        }
    stat_report(F->name, S->name, &st);
}

static void test_gather_dot(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    static const int64_t NIDS[] = {0, 1, 3, 4, 5, 9, 37};
    stat st = {.kernel = "gather_dot", .bound = 1e-5, .scale = "1e-5 * (|b| + sum|w_i x_i|)"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++)
            for (int ni = 0; ni < (int)(sizeof NIDS / sizeof NIDS[0]); ni++) {
                int64_t n = LENS[li], n_ids = NIDS[ni];
                int64_t rows = 23, ld = n + 1 + (int64_t)slide_rng_below(r, 5); /* ld > n */
                /* the last row ends at its n-th element: nothing after it may be read */
                buf W = buf_rand((rows - 1) * ld + n, off, r, -1, 1);
                buf x = buf_rand(n, (off + 3) % N_OFFS, r, -1, 1);
                buf bias = buf_rand(rows, 0, r, -1, 1);
                int use_bias = (ni + li) % 2;
                uint32_t *ids = malloc((size_t)(n_ids ? n_ids : 1) * sizeof *ids);
                for (int64_t j = 0; j < n_ids; j++) ids[j] = slide_rng_below(r, (uint32_t)rows);
                buf os = buf_alloc(n_ids, 0), of = buf_alloc(n_ids, off);
                const float *b = use_bias ? bias.p : NULL;
                S->gather_dot(os.p, W.p, ld, b, ids, n_ids, x.p, n);
                F->gather_dot(of.p, W.p, ld, b, ids, n_ids, x.p, n);
                for (int64_t j = 0; j < n_ids; j++) {
                    const float *row = W.p + (int64_t)ids[j] * ld;
                    double scale = b ? fabs(b[ids[j]]) : 0;
                    for (int64_t i = 0; i < n; i++) scale += fabs((double)row[i] * x.p[i]);
                    stat_add(&st, of.p[j], os.p[j], scale);
                }
                st.cases++;
                stat_guard(&st, &W);
                stat_guard(&st, &of);
                free(ids);
                buf_free(&W);
                buf_free(&x);
                buf_free(&bias);
                buf_free(&os);
                buf_free(&of);
            }
    stat_report(F->name, S->name, &st);
}

static void test_sparse_rows_sum(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    static const int64_t NNZ[] = {0, 1, 2, 5, 17, 40};
    stat st = {.kernel = "sparse_rows_sum", .bound = 1e-5,
               .scale = "1e-5 * (|out_i| + sum_j|v_j w_ji|)"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++)
            for (int zi = 0; zi < (int)(sizeof NNZ / sizeof NNZ[0]); zi++) {
                int64_t n = LENS[li], nnz = NNZ[zi];
                int64_t rows = 31, ld = n + (int64_t)slide_rng_below(r, 4); /* ld >= n */
                buf W = buf_rand((rows - 1) * ld + n, (off + 1) % N_OFFS, r, -1, 1);
                int32_t *idx = malloc((size_t)(nnz ? nnz : 1) * sizeof *idx);
                buf val = buf_rand(nnz, 0, r, -2, 2);
                for (int64_t j = 0; j < nnz; j++)
                    idx[j] = (int32_t)slide_rng_below(r, (uint32_t)rows);
                buf o0 = buf_rand(n, 0, r, -1, 1);
                buf os = buf_copy(&o0, 0), of = buf_copy(&o0, off);
                S->sparse_rows_sum(os.p, W.p, ld, idx, val.p, nnz, n);
                F->sparse_rows_sum(of.p, W.p, ld, idx, val.p, nnz, n);
                for (int64_t i = 0; i < n; i++) {
                    double scale = fabs(o0.p[i]);
                    for (int64_t j = 0; j < nnz; j++)
                        scale += fabs((double)val.p[j] * W.p[(int64_t)idx[j] * ld + i]);
                    stat_add(&st, of.p[i], os.p[i], scale);
                }
                st.cases++;
                stat_guard(&st, &W);
                stat_guard(&st, &of);
                free(idx);
                buf_free(&W);
                buf_free(&val);
                buf_free(&o0);
                buf_free(&os);
                buf_free(&of);
            }
    stat_report(F->name, S->name, &st);
}

static void test_adam(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "adam", .bound = 1e-6,
               .scale = "1e-6 * (|old| + |step|) for w, m, v; g exactly 0"};
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            buf w0 = buf_rand(n, 0, r, -1, 1), m0 = buf_rand(n, 0, r, -0.1f, 0.1f);
            buf v0 = buf_rand(n, 0, r, 0, 0.01f), g0 = buf_rand(n, 0, r, -1, 1);
            buf ws = buf_copy(&w0, 0), ms = buf_copy(&m0, 0), vs = buf_copy(&v0, 0),
                gs = buf_copy(&g0, 0);
            /* four different misalignments at once */
            buf wf = buf_copy(&w0, off), mf = buf_copy(&m0, (off + 1) % N_OFFS),
                vf = buf_copy(&v0, (off + 2) % N_OFFS), gf = buf_copy(&g0, (off + 3) % N_OFFS);
            S->adam(ws.p, ms.p, vs.p, gs.p, n, lr, b1, b2, eps);
            F->adam(wf.p, mf.p, vf.p, gf.p, n, lr, b1, b2, eps);
            for (int64_t i = 0; i < n; i++) {
                double g = g0.p[i];
                stat_add(&st, mf.p[i], ms.p[i], fabs(b1 * m0.p[i]) + fabs((1 - b1) * g));
                stat_add(&st, vf.p[i], vs.p[i], fabs(b2 * v0.p[i]) + fabs((1 - b2) * g * g));
                stat_add(&st, wf.p[i], ws.p[i], fabs(w0.p[i]) + fabs(ws.p[i] - w0.p[i]));
                stat_exact(&st, gf.p[i], 0.0f);
            }
            st.cases++;
            stat_guard(&st, &wf);
            stat_guard(&st, &mf);
            stat_guard(&st, &vf);
            stat_guard(&st, &gf);
            buf *all[] = {&w0, &m0, &v0, &g0, &ws, &ms, &vs, &gs, &wf, &mf, &vf, &gf};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
        }
    stat_report(F->name, S->name, &st);
}

/* Random values with some exact zeros, -0, +-inf and NaN mixed in (relu must match bitwise). */
static buf buf_special(int64_t n, int64_t off, slide_rng *r, float lo, float hi, int specials) {
    buf b = buf_rand(n, off, r, lo, hi);
    if (specials)
        for (int64_t i = 0; i < n; i++) {
            uint32_t k = slide_rng_below(r, 16);
            if (k == 0) b.p[i] = 0.0f;
            else if (k == 1) b.p[i] = -0.0f;
            else if (k == 2) b.p[i] = NAN;
            else if (k == 3) b.p[i] = (i & 1) ? INFINITY : -INFINITY;
        }
    return b;
}

static void test_relu(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "relu", .bound = 0, .scale = "exact"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            buf x0 = buf_special(n, 0, r, -1, 1, off % 2);
            buf xs = buf_copy(&x0, 0), xf = buf_copy(&x0, off);
            S->relu(xs.p, n);
            F->relu(xf.p, n);
            for (int64_t i = 0; i < n; i++) stat_exact(&st, xf.p[i], xs.p[i]);
            st.cases++;
            stat_guard(&st, &xf);
            buf_free(&x0);
            buf_free(&xs);
            buf_free(&xf);
        }
    stat_report(F->name, S->name, &st);
}

static void test_max(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "max", .bound = 0, .scale = "exact"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            /* all-negative inputs catch masked-off lanes that read as 0 */
            int neg = off % 2;
            buf x = buf_rand(n, off, r, neg ? -2.0f : -1.0f, neg ? -1.0f : 1.0f);
            if (n > 0 && off == 3) x.p[n - 1] = 5.0f; /* maximum in the tail */
            stat_exact(&st, F->max(x.p, n), S->max(x.p, n));
            st.cases++;
            stat_guard(&st, &x);
            buf_free(&x);
        }
    stat_report(F->name, S->name, &st);
}

/* ---------------------------------------------------------------- softmax */
static const int64_t SM_LENS[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 127, 128, 129, 1000, 3016};
#define N_SM_LENS ((int)(sizeof SM_LENS / sizeof SM_LENS[0]))
#define N_SM_KINDS 5

/* Logits of one kind: 0 uniform in [-1, 1]; 1 in [-30, 30]; 2 in [-1, 1] with one winner at
 * 100 (the rest land past the fast exp's cut-off at -87.3, where expf is still denormal);
 * 3 in [-5, 5] with -inf in about one slot in eight (never the middle one, so one stays
 * finite); 4 in [-110, 10], across the cut-off and expf's own underflow at -103.9. */
static buf softmax_input(int kind, int64_t n, int64_t off, slide_rng *r) {
    static const float lo[N_SM_KINDS] = {-1, -30, -1, -5, -110}, hi[N_SM_KINDS] = {1, 30, 1, 5, 10};
    buf b = buf_rand(n, off, r, lo[kind], hi[kind]);
    if (kind == 2 && n > 0) b.p[slide_rng_below(r, (uint32_t)n)] = 100.0f;
    if (kind == 3)
        for (int64_t i = 0; i < n; i++)
            if (i != n / 2 && slide_rng_below(r, 8) == 0) b.p[i] = -INFINITY;
    return b;
}

/* |sum_i p_i - 1| <= 1e-5 (a float softmax of up to 3016 terms), recorded in st. */
static void softmax_sum_check(stat *st, const float *p, int64_t n) {
    if (n == 0) return;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += p[i];
    stat_add(st, s, 1.0, 1.0);
}

/* Every fast path against scalar: |fast - scalar| <= 1e-6 * scalar + 1e-12 per element (the
 * bound kern.h states), exactly 0 where scalar gives 0 (-inf inputs, expf underflow), and the
 * outputs of both summing to 1 within 1e-5. */
static void test_softmax(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "softmax", .bound = 1e-6, .scale = "1e-6 * scalar + 1e-12, 0 if 0"};
    stat ss = {.kernel = "softmax sum", .bound = 1e-5, .scale = "|sum p_i - 1| <= 1e-5"};
    for (int kind = 0; kind < N_SM_KINDS; kind++)
        for (int li = 0; li < N_SM_LENS; li++)
            for (int off = 0; off < N_OFFS; off++) {
                int64_t n = SM_LENS[li];
                buf x0 = softmax_input(kind, n, 0, r);
                buf xs = buf_copy(&x0, 0), xf = buf_copy(&x0, off);
                S->softmax(xs.p, n);
                F->softmax(xf.p, n);
                for (int64_t i = 0; i < n; i++) {
                    if (xs.p[i] == 0.0f) stat_exact(&st, xf.p[i], 0.0f); /* -inf, underflow */
                    else stat_add(&st, xf.p[i], xs.p[i], (double)xs.p[i] + 1e-6);
                }
                softmax_sum_check(&ss, xf.p, n);
                softmax_sum_check(&ss, xs.p, n);
                st.cases++, ss.cases++;
                stat_guard(&st, &xf);
                buf_free(&x0);
                buf_free(&xs);
                buf_free(&xf);
            }
    stat_report(F->name, S->name, &st);
    stat_report(F->name, S->name, &ss);
}

/* The scalar reference against double precision: exp and the sum in double, from the same
 * float differences x_i - max (their rounding is part of the definition: every path computes
 * them alike). Within 1e-6 relative (+ 1e-12 absolute, for denormal results). */
static void test_softmax_scalar_vs_double(const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "softmax", .bound = 1e-6, .scale = "1e-6 * exact + 1e-12"};
    stat ss = {.kernel = "softmax sum", .bound = 1e-5, .scale = "|sum p_i - 1| <= 1e-5"};
    for (int kind = 0; kind < N_SM_KINDS; kind++)
        for (int li = 0; li < N_SM_LENS; li++) {
            int64_t n = SM_LENS[li];
            buf x = softmax_input(kind, n, 1, r), x0 = buf_copy(&x, 0);
            float mx = -INFINITY;
            for (int64_t i = 0; i < n; i++) mx = x0.p[i] > mx ? x0.p[i] : mx;
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += exp((double)(float)(x0.p[i] - mx));
            S->softmax(x.p, n);
            for (int64_t i = 0; i < n; i++) {
                double want = exp((double)(float)(x0.p[i] - mx)) / s;
                stat_add(&st, x.p[i], want, want + 1e-6);
            }
            softmax_sum_check(&ss, x.p, n);
            st.cases++, ss.cases++;
            stat_guard(&st, &x);
            buf_free(&x);
            buf_free(&x0);
        }
    stat_report("scalar", "double", &st);
    stat_report("scalar", "double", &ss);
}

/* The reference itself against double precision: the same bounds. */
static void test_scalar_vs_double(const slide_kern *S, slide_rng *r) {
    stat sd = {.kernel = "dot", .bound = 1e-5, .scale = "1e-5 * sum|a_i b_i|"};
    stat sg = {.kernel = "gather_dot", .bound = 1e-5, .scale = "1e-5 * (|b| + sum|w_i x_i|)"};
    stat ss = {.kernel = "sparse_rows_sum", .bound = 1e-5,
               .scale = "1e-5 * (|out_i| + sum_j|v_j w_ji|)"};
    for (int li = 0; li < N_LENS; li++) {
        int64_t n = LENS[li], rows = 7, ld = n + 2, nnz = 9;
        buf W = buf_rand(rows * ld, 0, r, -1, 1), x = buf_rand(n, 0, r, -1, 1);
        buf bias = buf_rand(rows, 0, r, -1, 1), val = buf_rand(nnz, 0, r, -1, 1);
        uint32_t ids[5];
        int32_t idx[9];
        for (int j = 0; j < 5; j++) ids[j] = slide_rng_below(r, (uint32_t)rows);
        for (int j = 0; j < 9; j++) idx[j] = (int32_t)slide_rng_below(r, (uint32_t)rows);
        float out[5];
        S->gather_dot(out, W.p, ld, bias.p, ids, 5, x.p, n);
        for (int j = 0; j < 5; j++) {
            const float *row = W.p + (int64_t)ids[j] * ld;
            double want = bias.p[ids[j]], scale = fabs(bias.p[ids[j]]), d = 0, dscale = 0;
            for (int64_t i = 0; i < n; i++) {
                d += (double)row[i] * x.p[i];
                dscale += fabs((double)row[i] * x.p[i]);
            }
            stat_add(&sg, out[j], want + d, scale + dscale);
            if (j == 0) stat_add(&sd, S->dot(row, x.p, n), d, dscale);
        }
        buf o = buf_rand(n, 0, r, -1, 1), o0 = buf_copy(&o, 0);
        S->sparse_rows_sum(o.p, W.p, ld, idx, val.p, nnz, n);
        for (int64_t i = 0; i < n; i++) {
            double want = o0.p[i], scale = fabs(o0.p[i]);
            for (int j = 0; j < nnz; j++) {
                want += (double)val.p[j] * W.p[(int64_t)idx[j] * ld + i];
                scale += fabs((double)val.p[j] * W.p[(int64_t)idx[j] * ld + i]);
            }
            stat_add(&ss, o.p[i], want, scale);
        }
        sd.cases++, sg.cases++, ss.cases++;
        buf *all[] = {&W, &x, &bias, &val, &o, &o0};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
    }
    stat_report("scalar", "double", &sd);
    stat_report("scalar", "double", &sg);
    stat_report("scalar", "double", &ss);
}

/* ---------------------------------------------------------------- bf16 storage */
/* Guarded uint16_t buffers, as buf above (canary: bf16 bits of about -1.23e7, finite). */
#define CANARY16 0xcb3cu

typedef struct {
    uint16_t *base, *p;
    int64_t n, off;
} buf16;

static buf16 buf16_alloc(int64_t n, int64_t off) {
    buf16 b = {0};
    size_t total = (size_t)(off + n + TAIL_GUARD);
    void *mem = NULL;
    if (posix_memalign(&mem, 64, total ? total * sizeof(uint16_t) : sizeof(uint16_t)) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    b.base = mem;
    b.p = b.base + off;
    b.n = n;
    b.off = off;
    for (int64_t i = 0; i < off; i++) b.base[i] = CANARY16;
    for (int64_t i = 0; i < TAIL_GUARD; i++) b.p[n + i] = CANARY16;
    return b;
}

static void stat_guard16(stat *s, const buf16 *b) {
    int ok = 1;
    for (int64_t i = 0; i < b->off; i++) ok &= b->base[i] == CANARY16;
    for (int64_t i = 0; i < TAIL_GUARD; i++) ok &= b->p[b->n + i] == CANARY16;
    if (!ok) {
        if (s->guard_bad < 5)
            fprintf(stderr, "  %s: wrote outside its buffer (n=%lld off=%lld)\n", s->kernel,
                    (long long)b->n, (long long)b->off);
        s->guard_bad++;
    }
}

static void buf16_free(buf16 *b) {
    free(b->base);
    b->base = b->p = NULL;
}

/* Independent of the kernels: widening is exact, the float with h as its upper half. */
static float bf16_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float f32_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Compares bf16 bit patterns through stat_exact (distinct bits give distinct floats). */
static void stat_exact16(stat *s, uint16_t got, uint16_t want) {
    stat_exact(s, bf16_f32(got), bf16_f32(want));
}

/* Round to nearest even by distances, not bit tricks: the two bf16 neighbours of |f| (2^128
 * standing in for inf above the largest), the nearer wins, a tie goes to the even one. */
static uint16_t bf16_by_distance(uint32_t u) {
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
    double v = fabs((double)f32_bits(u)), vlo = fabs((double)bf16_f32(lo));
    double vhi = (hi & 0x7fffu) == 0x7f80u ? ldexp(1.0, 128) : fabs((double)bf16_f32(hi));
    double dlo = v - vlo, dhi = vhi - v; /* exact in double */
    if (dlo != dhi) return dlo < dhi ? lo : hi;
    return (lo & 1u) ? hi : lo;
}

/* Random floats for to_bf16: random bit patterns (every class: NaN payloads, denormals, inf
 * rarely), ordinary values, and values exactly halfway between two bf16s. */
static buf buf_bf16_inputs(int64_t n, int64_t off, slide_rng *r) {
    buf b = buf_alloc(n, off);
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)(slide_rng_next(r) >> 32);
        switch (slide_rng_below(r, 4)) {
        case 0: b.p[i] = f32_bits(u); break;
        case 1: b.p[i] = 2.0f * slide_rng_uniform(r) - 1.0f; break;
        case 2: b.p[i] = f32_bits((u & 0xffff0000u) | 0x8000u); break; /* halfway */
        default: b.p[i] = f32_bits((u & 0x807f0000u) | 0x3f008000u); break; /* halfway, ~1 */
        }
    }
    return b;
}

/* Every path on a table of special values with the expected bits spelled out. */
static void test_to_bf16_specials(const slide_kern *K) {
    static const uint32_t T[][2] = {
        {0x00000000u, 0x0000u}, {0x80000000u, 0x8000u}, /* +-0 */
        {0x00000001u, 0x0000u}, {0x80000001u, 0x8000u}, /* smallest denormal -> +-0 */
        {0x00008000u, 0x0000u}, /* denormal halfway, even below: down */
        {0x00018000u, 0x0002u}, /* denormal halfway, odd below: up */
        {0x00008001u, 0x0001u}, /* denormal just above halfway */
        {0x007fffffu, 0x0080u}, /* largest denormal -> smallest normal */
        {0x3f800000u, 0x3f80u}, {0xbf800000u, 0xbf80u}, /* +-1 */
        {0x3f808000u, 0x3f80u}, {0xbf808000u, 0xbf80u}, /* halfway, even below: down */
        {0x3f818000u, 0x3f82u}, {0xbf818000u, 0xbf82u}, /* halfway, odd below: up */
        {0x3f807fffu, 0x3f80u}, {0x3f808001u, 0x3f81u}, /* just below / above halfway */
        {0x3fffffffu, 0x4000u}, /* carry into the exponent */
        {0x7f7f7fffu, 0x7f7fu}, /* just below halfway to inf: largest bf16 */
        {0x7f7f8000u, 0x7f80u}, {0xff7f8000u, 0xff80u}, /* halfway to inf, odd below: inf */
        {0x7f7fffffu, 0x7f80u}, {0xff7fffffu, 0xff80u}, /* FLT_MAX -> +-inf */
        {0x7f800000u, 0x7f80u}, {0xff800000u, 0xff80u}, /* +-inf */
        {0x7fc00000u, 0x7fc0u}, {0xffc00000u, 0xffc0u}, /* quiet NaNs */
        {0x7f800001u, 0x7fc0u}, {0xff800001u, 0xffc0u}, /* signalling, payload in low half */
        {0x7fa00000u, 0x7fe0u}, /* signalling, payload in high half: made quiet */
        {0x7fffffffu, 0x7fffu}, {0xffffffffu, 0xffffu}, /* rounding would carry into sign */
        {0x7fbfffffu, 0x7fffu}, /* rounding would carry into the quiet bit */
    };
    const int64_t nt = (int64_t)(sizeof T / sizeof T[0]);
    stat st = {.kernel = "to_bf16 specials", .bound = 0, .scale = "exact"};
    for (int off = 0; off < N_OFFS; off++)
        for (int64_t start = 0; start < nt; start += 5) { /* several lengths and phases */
            int64_t n = nt - start;
            buf src = buf_alloc(n, off);
            buf16 dst = buf16_alloc(n, (off + 1) % N_OFFS);
            for (int64_t i = 0; i < n; i++) src.p[i] = f32_bits(T[start + i][0]);
            K->to_bf16(dst.p, src.p, n);
            for (int64_t i = 0; i < n; i++) stat_exact16(&st, dst.p[i], (uint16_t)T[start + i][1]);
            st.cases++;
            stat_guard(&st, &src);
            stat_guard16(&st, &dst);
            buf_free(&src);
            buf16_free(&dst);
        }
    stat_report(K->name, "table", &st);
}

/* The scalar reference against rounding by distances (finite), and NaN/inf rules. */
static void test_to_bf16_reference(const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "to_bf16", .bound = 0, .scale = "exact"};
    const int64_t n = 1 << 16;
    buf src = buf_bf16_inputs(n, 0, r);
    buf16 dst = buf16_alloc(n, 0);
    S->to_bf16(dst.p, src.p, n);
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src.p[i], sizeof u);
        uint16_t h = dst.p[i];
        if (src.p[i] != src.p[i]) { /* NaN: stays a quiet NaN of the same sign */
            int ok = (h & 0x7fc0u) == 0x7fc0u && (h >> 15) == (u >> 31);
            stat_exact16(&st, h, ok ? h : (uint16_t)((u >> 16) | 0x40u));
        } else if (isinf(src.p[i])) {
            stat_exact16(&st, h, (uint16_t)(u >> 16));
        } else {
            stat_exact16(&st, h, bf16_by_distance(u));
        }
    }
    st.cases++;
    buf_free(&src);
    buf16_free(&dst);
    stat_report("scalar", "distance", &st);
}

static void test_to_bf16(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "to_bf16", .bound = 0, .scale = "exact"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            buf src = buf_bf16_inputs(n, off, r);
            buf16 ds = buf16_alloc(n, 0), df = buf16_alloc(n, (off + 1) % N_OFFS);
            S->to_bf16(ds.p, src.p, n);
            F->to_bf16(df.p, src.p, n);
            for (int64_t i = 0; i < n; i++) stat_exact16(&st, df.p[i], ds.p[i]);
            st.cases++;
            stat_guard(&st, &src);
            stat_guard16(&st, &df);
            buf_free(&src);
            buf16_free(&ds);
            buf16_free(&df);
        }
    stat_report(F->name, S->name, &st);
}

/* n bf16 values of uniform floats in [lo, hi), rounded by the scalar reference. */
static buf16 buf16_rand(const slide_kern *S, int64_t n, int64_t off, slide_rng *r, float lo,
                        float hi) {
    buf f = buf_rand(n, 0, r, lo, hi);
    buf16 b = buf16_alloc(n, off);
    S->to_bf16(b.p, f.p, n);
    buf_free(&f);
    return b;
}

/* adam_bf16 (wbf16 0: fp32 weights) or adam_bf16w (wbf16 1: bf16 weights), fast path vs
 * scalar: w, m, v bit-identical (same fp32 operations, same random bits); g exactly 0; nothing
 * written outside the buffers. */
static void test_adam_bf16(const slide_kern *F, const slide_kern *S, slide_rng *r, int wbf16) {
    stat st = {.kernel = wbf16 ? "adam_bf16w" : "adam_bf16", .bound = 0, .scale = "exact"};
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            uint32_t seed = slide_rng_next(r) & 0xffffffffu;
            buf w0 = buf_rand(n, 0, r, -1, 1), g0 = buf_rand(n, 0, r, -1, 1);
            buf16 m0 = buf16_rand(S, n, 0, r, -0.1f, 0.1f), v0 = buf16_rand(S, n, 0, r, 0, 0.01f);
            buf16 h0 = buf16_rand(S, n, 0, r, -1, 1); /* the bf16 weights */
            buf ws = buf_copy(&w0, 0), gs = buf_copy(&g0, 0);
            buf wf = buf_copy(&w0, off), gf = buf_copy(&g0, (off + 3) % N_OFFS);
            buf16 ms = buf16_alloc(n, 0), vs = buf16_alloc(n, 0), hs = buf16_alloc(n, 0);
            buf16 mf = buf16_alloc(n, (off + 1) % N_OFFS), vf = buf16_alloc(n, (off + 2) % N_OFFS);
            buf16 hf = buf16_alloc(n, off);
            if (n) {
                memcpy(ms.p, m0.p, (size_t)n * 2);
                memcpy(vs.p, v0.p, (size_t)n * 2);
                memcpy(mf.p, m0.p, (size_t)n * 2);
                memcpy(vf.p, v0.p, (size_t)n * 2);
                memcpy(hs.p, h0.p, (size_t)n * 2);
                memcpy(hf.p, h0.p, (size_t)n * 2);
            }
            if (wbf16) {
                S->adam_bf16w(hs.p, ms.p, vs.p, gs.p, n, lr, b1, b2, eps, seed);
                F->adam_bf16w(hf.p, mf.p, vf.p, gf.p, n, lr, b1, b2, eps, seed);
            } else {
                S->adam_bf16(ws.p, ms.p, vs.p, gs.p, n, lr, b1, b2, eps, seed);
                F->adam_bf16(wf.p, mf.p, vf.p, gf.p, n, lr, b1, b2, eps, seed);
            }
            for (int64_t i = 0; i < n; i++) {
                stat_exact(&st, wf.p[i], ws.p[i]);
                stat_exact16(&st, hf.p[i], hs.p[i]);
                stat_exact16(&st, mf.p[i], ms.p[i]);
                stat_exact16(&st, vf.p[i], vs.p[i]);
                stat_exact(&st, gf.p[i], 0.0f);
            }
            st.cases++;
            stat_guard(&st, &wf);
            stat_guard(&st, &gf);
            stat_guard16(&st, &hf);
            stat_guard16(&st, &mf);
            stat_guard16(&st, &vf);
            buf *all[] = {&w0, &g0, &ws, &gs, &wf, &gf};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
            buf16 *all16[] = {&m0, &v0, &h0, &ms, &vs, &hs, &mf, &vf, &hf};
            for (size_t k = 0; k < sizeof all16 / sizeof all16[0]; k++) buf16_free(all16[k]);
        }
    stat_report(F->name, S->name, &st);
}

/* slide_adam_one (the row sweep's bias update) against the path's adam on one element: the
 * same bits for w, m and v over random values, moments and learning rates. */
static void test_adam_one(const slide_kern *K, slide_rng *r) {
    long bad = 0;
    for (int t = 0; t < 2000; t++) {
        float w = 2 * slide_rng_uniform(r) - 1, m = 0.2f * slide_rng_uniform(r) - 0.1f;
        float v = 0.01f * slide_rng_uniform(r), g = 2 * slide_rng_uniform(r) - 1;
        if (t % 7 == 0) m = v = 0.0f; /* the first step */
        float lr = 1e-4f + 1e-2f * slide_rng_uniform(r);
        float w2 = w, m2 = m, v2 = v, g2 = g;
        slide_adam_one(&w, &m, &v, g, lr, 0.9f, 0.999f, 1e-8f);
        K->adam(&w2, &m2, &v2, &g2, 1, lr, 0.9f, 0.999f, 1e-8f);
        bad += memcmp(&w, &w2, 4) != 0 || memcmp(&m, &m2, 4) != 0 || memcmp(&v, &v2, 4) != 0;
    }
    printf("[kern] %s: slide_adam_one vs adam on one element: %ld of 2000 differ\n", K->name, bad);
    CHECKF(bad == 0, "%s: slide_adam_one differs from adam(n = 1) in %ld of 2000", K->name, bad);
}

/* The scalar adam_bf16w against adam_bf16 and a double reference: the moments come out as
 * adam_bf16's (bit for bit: same operations, same bits), w is one of the two bf16 neighbours of
 * adam_bf16's fp32 result, and its rounding is unbiased: 65,536 weights of 1.0 moved down by
 * an Adam step of 2^-10 (a quarter of bf16's spacing 2^-8 just below 1) must average 1 - 2^-10,
 * where round to nearest would leave every one at 1.0. */
static void test_adam_bf16w_reference(const slide_kern *S, slide_rng *r) {
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const int64_t n = 4096;
    buf g = buf_rand(n, 0, r, -1, 1), g2 = buf_copy(&g, 0), wf = buf_alloc(n, 0);
    buf16 w = buf16_rand(S, n, 0, r, -1, 1);
    buf16 m = buf16_rand(S, n, 0, r, -0.1f, 0.1f), v = buf16_rand(S, n, 0, r, 0, 0.01f);
    buf16 m2 = buf16_alloc(n, 0), v2 = buf16_alloc(n, 0);
    for (int64_t i = 0; i < n; i++) wf.p[i] = f_of_bf16(w.p[i]);
    memcpy(m2.p, m.p, (size_t)n * 2);
    memcpy(v2.p, v.p, (size_t)n * 2);
    S->adam_bf16w(w.p, m.p, v.p, g.p, n, lr, b1, b2, eps, 4242u);
    S->adam_bf16(wf.p, m2.p, v2.p, g2.p, n, lr, b1, b2, eps, 4242u);
    long bad = 0;
    for (int64_t i = 0; i < n; i++) {
        bad += m.p[i] != m2.p[i] || v.p[i] != v2.p[i];
        bad += !bf16_is_neighbour(wf.p[i], w.p[i]);
        bad += g.p[i] != 0.0f;
    }
    printf("[kern] adam_bf16w scalar vs adam_bf16: %ld of %ld elements off\n", bad, (long)n);
    CHECKF(bad == 0, "adam_bf16w vs adam_bf16: %ld elements off", bad);

    /* g = 1 on fresh moments: m = 0.1, v = 0.001, step lr * 0.1 / (sqrt(0.001) + eps) = 3.162 lr */
    const int64_t nv = 65536;
    const float lr2 = 0.25f * (1.0f / 256.0f) / 3.16227766f; /* a quarter of the spacing 2^-8 */
    buf gz = buf_alloc(nv, 0);
    buf16 wz = buf16_alloc(nv, 0), mz = buf16_alloc(nv, 0), vz = buf16_alloc(nv, 0);
    for (int64_t i = 0; i < nv; i++) {
        gz.p[i] = 1.0f;
        wz.p[i] = 0x3f80; /* 1.0 */
        mz.p[i] = vz.p[i] = 0;
    }
    S->adam_bf16w(wz.p, mz.p, vz.p, gz.p, nv, lr2, b1, b2, 0.0f, 31337u);
    double mean = 0;
    for (int64_t i = 0; i < nv; i++) mean += f_of_bf16(wz.p[i]);
    mean /= (double)nv;
    const double want = 1.0 - 0.25 / 256.0;
    /* each value is 1 or 1 - 2^-8 (p = 0.25): sd of the mean 0.0039 * 0.43 / 256 = 6.6e-6 */
    printf("[kern] adam_bf16w: mean of 65536 weights 1 - 2^-10, stochastically rounded = %.6f "
           "(want %.6f)\n", mean, want);
    CHECKF(fabs(mean - want) < 4e-5, "weight rounding biased: mean %.6f, want %.6f", mean, want);
    buf_free(&g);
    buf_free(&g2);
    buf_free(&wf);
    buf_free(&gz);
    buf16 *all16[] = {&w, &m, &v, &m2, &v2, &wz, &mz, &vz};
    for (size_t k = 0; k < sizeof all16 / sizeof all16[0]; k++) buf16_free(all16[k]);
}

/* The scalar adam_bf16 against a double reference: w moves by the fp32 moments (as adam), and
 * each stored moment is one of the two bf16 neighbours of its fp32 value. Stochastic rounding
 * is unbiased: 65,536 second moments v = 1 with g = 0 must average 0.999 (= b2), which round
 * to nearest would keep at 1.0 for ever (0.999 is nearer 1 than bf16's next value below,
 * 1 - 2^-8); and a value 3/8 of the way between two bf16 neighbours rounds up 3/8 of the time. */
static void test_adam_bf16_reference(const slide_kern *S, slide_rng *r) {
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const int64_t n = 4096;
    buf w = buf_rand(n, 0, r, -1, 1), g = buf_rand(n, 0, r, -1, 1), w0 = buf_copy(&w, 0);
    buf g0 = buf_copy(&g, 0);
    buf16 m = buf16_rand(S, n, 0, r, -0.1f, 0.1f), v = buf16_rand(S, n, 0, r, 0, 0.01f);
    buf16 m0 = buf16_alloc(n, 0), v0 = buf16_alloc(n, 0);
    memcpy(m0.p, m.p, (size_t)n * 2);
    memcpy(v0.p, v.p, (size_t)n * 2);
    S->adam_bf16(w.p, m.p, v.p, g.p, n, lr, b1, b2, eps, 12345u);
    long bad = 0;
    double worst_w = 0;
    for (int64_t i = 0; i < n; i++) {
        float mm = b1 * f_of_bf16(m0.p[i]) + (1.0f - b1) * g0.p[i];
        float vv = b2 * f_of_bf16(v0.p[i]) + (1.0f - b2) * g0.p[i] * g0.p[i];
        double want = (double)w0.p[i] - (double)lr * mm / (sqrt((double)vv) + eps);
        double e = fabs((double)w.p[i] - want) / (fabs(want) + fabs(w.p[i] - w0.p[i]));
        if (e > worst_w) worst_w = e;
        bad += !bf16_is_neighbour(mm, m.p[i]) + !bf16_is_neighbour(vv, v.p[i]);
        bad += g.p[i] != 0.0f;
    }
    printf("[kern] adam_bf16 scalar vs double: w rel err %.2e; moments off their bf16 "
           "neighbours: %ld\n", worst_w, bad);
    CHECKF(worst_w <= 1e-6 && bad == 0, "adam_bf16 reference: w err %g, %ld bad moments",
           worst_w, bad);

    const int64_t nv = 65536;
    buf wz = buf_rand(nv, 0, r, -1, 1), gz = buf_alloc(nv, 0);
    buf16 mz = buf16_alloc(nv, 0), vz = buf16_alloc(nv, 0);
    for (int64_t i = 0; i < nv; i++) {
        gz.p[i] = 0.0f;
        mz.p[i] = 0;
        vz.p[i] = 0x3f80; /* 1.0 */
    }
    S->adam_bf16(wz.p, mz.p, vz.p, gz.p, nv, lr, b1, b2, eps, 777u);
    double mean = 0;
    for (int64_t i = 0; i < nv; i++) mean += f_of_bf16(vz.p[i]);
    mean /= (double)nv;
    /* each value is 1 or 1 - 2^-8 (p = 0.256): sd of the mean 0.0039 * 0.44 / 256 = 6.7e-6 */
    printf("[kern] adam_bf16: mean of 65536 stochastically rounded 0.999 = %.6f\n", mean);
    CHECKF(fabs(mean - 0.999) < 4e-5, "stochastic rounding biased: mean %.6f, want 0.999", mean);
    const float x = 1.0f + 3.0f / 1024.0f; /* 3/8 of bf16's spacing 2^-7 above 1 */
    long up = 0;
    for (uint32_t i = 0; i < 100000; i++) up += slide_bf16_sr(x, slide_mix32(99u + i)) != 0x3f80;
    printf("[kern] stochastic rounding of 1 + 3/8 ulp: up %.4f of 100000 (want 0.375)\n",
           up / 1e5);
    CHECKF(fabs(up / 1e5 - 0.375) < 0.0075, "rounded up %.4f of the time, want 0.375", up / 1e5);
    CHECK(slide_bf16_sr(NAN, 0xffffu) != 0 && (slide_bf16_sr(NAN, 0xffffu) & 0x7f80) == 0x7f80);
    CHECK(slide_bf16_sr(INFINITY, 0xffffu) == 0x7f80);
    buf *all[] = {&w, &g, &w0, &g0, &wz, &gz};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
    buf16 *all16[] = {&m, &v, &m0, &v0, &mz, &vz};
    for (size_t k = 0; k < sizeof all16 / sizeof all16[0]; k++) buf16_free(all16[k]);
}

static void test_gather_dot_bf16(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    static const int64_t NIDS[] = {0, 1, 3, 4, 5, 9, 37};
    stat st = {.kernel = "gather_dot_bf16", .bound = 1e-5,
               .scale = "1e-5 * (|b| + sum|w_i x_i|)"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++)
            for (int ni = 0; ni < (int)(sizeof NIDS / sizeof NIDS[0]); ni++) {
                int64_t n = LENS[li], n_ids = NIDS[ni];
                int64_t rows = 23, ld = n + 1 + (int64_t)slide_rng_below(r, 5); /* ld > n */
                /* the last row ends at its n-th element: nothing after it may be read */
                buf16 W = buf16_rand(S, (rows - 1) * ld + n, off, r, -1, 1);
                buf x = buf_rand(n, (off + 3) % N_OFFS, r, -1, 1);
                buf bias = buf_rand(rows, 0, r, -1, 1);
                int use_bias = (ni + li) % 2;
                uint32_t *ids = malloc((size_t)(n_ids ? n_ids : 1) * sizeof *ids);
                for (int64_t j = 0; j < n_ids; j++) ids[j] = slide_rng_below(r, (uint32_t)rows);
                buf os = buf_alloc(n_ids, 0), of = buf_alloc(n_ids, (off + 1) % N_OFFS);
                const float *b = use_bias ? bias.p : NULL;
                S->gather_dot_bf16(os.p, W.p, ld, b, ids, n_ids, x.p, n);
                F->gather_dot_bf16(of.p, W.p, ld, b, ids, n_ids, x.p, n);
                for (int64_t j = 0; j < n_ids; j++) {
                    const uint16_t *row = W.p + (int64_t)ids[j] * ld;
                    double scale = b ? fabs(b[ids[j]]) : 0;
                    for (int64_t i = 0; i < n; i++)
                        scale += fabs((double)bf16_f32(row[i]) * x.p[i]);
                    stat_add(&st, of.p[j], os.p[j], scale);
                }
                st.cases++;
                stat_guard16(&st, &W);
                stat_guard(&st, &of);
                free(ids);
                buf16_free(&W);
                buf_free(&x);
                buf_free(&bias);
                buf_free(&os);
                buf_free(&of);
            }
    stat_report(F->name, S->name, &st);
}

static void test_axpy_bf16(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    stat st = {.kernel = "axpy_bf16", .bound = 1e-6, .scale = "1e-6 * (|y_i| + |alpha x_i|)"};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++) {
            int64_t n = LENS[li];
            float alpha = 2.0f * slide_rng_uniform(r) - 1.0f;
            buf16 x = buf16_rand(S, n, (off + 2) % N_OFFS, r, -1, 1);
            buf y0 = buf_rand(n, 0, r, -1, 1);
            buf ys = buf_copy(&y0, off), yf = buf_copy(&y0, off);
            S->axpy_bf16(ys.p, alpha, x.p, n);
            F->axpy_bf16(yf.p, alpha, x.p, n);
            for (int64_t i = 0; i < n; i++)
                stat_add(&st, yf.p[i], ys.p[i], fabs(y0.p[i]) + fabs(alpha * bf16_f32(x.p[i])));
            st.cases++;
            stat_guard16(&st, &x);
            stat_guard(&st, &yf);
            buf16_free(&x);
            buf_free(&y0);
            buf_free(&ys);
            buf_free(&yf);
        }
    stat_report(F->name, S->name, &st);
}

/* gather_axpy / gather_axpy_bf16 (bf16 = 1): the fast path within 1e-5 of the scalar reference,
 * and on every path exactly n_ids successive axpy (axpy_bf16) calls, as kern.h promises; rows
 * repeat (ids drawn with replacement), zero and negative coefficients included. */
static void test_gather_axpy(const slide_kern *F, const slide_kern *S, slide_rng *r, int bf16) {
    static const int64_t NIDS[] = {0, 1, 3, 4, 5, 8, 9, 37};
    stat st = {.kernel = bf16 ? "gather_axpy_bf16" : "gather_axpy", .bound = 1e-5,
               .scale = "1e-5 * (|y_i| + sum_j|a_j w_ji|)"};
    stat sq = {.kernel = bf16 ? "gather_axpy_bf16" : "gather_axpy", .bound = 0};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++)
            for (int ni = 0; ni < (int)(sizeof NIDS / sizeof NIDS[0]); ni++) {
                int64_t n = LENS[li], n_ids = NIDS[ni];
                int64_t rows = 23, ld = n + 1 + (int64_t)slide_rng_below(r, 5);
                /* the last row ends at its n-th element: nothing after it may be read */
                buf W = buf_rand((rows - 1) * ld + n, off, r, -1, 1);
                buf16 Wh = buf16_rand(S, (rows - 1) * ld + n, off, r, -1, 1);
                buf a = buf_rand(n_ids ? n_ids : 1, 0, r, -1, 1);
                if (n_ids > 2) a.p[2] = 0.0f;
                uint32_t *ids = malloc((size_t)(n_ids ? n_ids : 1) * sizeof *ids);
                for (int64_t j = 0; j < n_ids; j++) ids[j] = slide_rng_below(r, (uint32_t)rows);
                buf y0 = buf_rand(n, 0, r, -1, 1);
                buf ys = buf_copy(&y0, off), yf = buf_copy(&y0, off);
                buf qs = buf_copy(&y0, 0), qf = buf_copy(&y0, 0);
                if (bf16) {
                    S->gather_axpy_bf16(ys.p, Wh.p, ld, ids, a.p, n_ids, n);
                    F->gather_axpy_bf16(yf.p, Wh.p, ld, ids, a.p, n_ids, n);
                    for (int64_t j = 0; j < n_ids; j++) {
                        S->axpy_bf16(qs.p, a.p[j], Wh.p + (int64_t)ids[j] * ld, n);
                        F->axpy_bf16(qf.p, a.p[j], Wh.p + (int64_t)ids[j] * ld, n);
                    }
                } else {
                    S->gather_axpy(ys.p, W.p, ld, ids, a.p, n_ids, n);
                    F->gather_axpy(yf.p, W.p, ld, ids, a.p, n_ids, n);
                    for (int64_t j = 0; j < n_ids; j++) {
                        S->axpy(qs.p, a.p[j], W.p + (int64_t)ids[j] * ld, n);
                        F->axpy(qf.p, a.p[j], W.p + (int64_t)ids[j] * ld, n);
                    }
                }
                for (int64_t i = 0; i < n; i++) {
                    double scale = fabs(y0.p[i]);
                    for (int64_t j = 0; j < n_ids; j++) {
                        int64_t o = (int64_t)ids[j] * ld + i;
                        scale += fabs((double)a.p[j] * (bf16 ? bf16_f32(Wh.p[o]) : W.p[o]));
                    }
                    stat_add(&st, yf.p[i], ys.p[i], scale);
                    stat_exact(&sq, yf.p[i], qf.p[i]);
                    stat_exact(&sq, ys.p[i], qs.p[i]);
                }
                st.cases++, sq.cases++;
                stat_guard(&st, &W);
                stat_guard16(&st, &Wh);
                stat_guard(&st, &yf);
                stat_guard(&st, &ys);
                free(ids);
                buf_free(&W);
                buf16_free(&Wh);
                buf *all[] = {&a, &y0, &ys, &yf, &qs, &qf};
                for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
            }
    stat_report(F->name, S->name, &st);
    stat_report(F->name, "axpy*n", &sq);
}

/* sweep_grad: the fast path within 1e-5 of the scalar reference (g and Y), and on every path
 * exactly g = 0 then, per entry in order, axpy into Y's slot and into g (kern.h); Y NULL too. */
static void test_sweep_grad(const slide_kern *F, const slide_kern *S, slide_rng *r) {
    static const int64_t NE[] = {0, 1, 2, 3, 7};
    stat st = {.kernel = "sweep_grad", .bound = 1e-5, .scale = "1e-5 * (|y_i| + sum_e|a_e u_ei|)"};
    stat sq = {.kernel = "sweep_grad", .bound = 0};
    for (int li = 0; li < N_LENS; li++)
        for (int off = 0; off < N_OFFS; off++)
            for (int ei = 0; ei < (int)(sizeof NE / sizeof NE[0]); ei++) {
                const int64_t n = LENS[li], ne = NE[ei], slots = 9;
                const int64_t ld = n + (int64_t)slide_rng_below(r, 4);
                const int useY = (li + ei + off) % 3 != 0;
                buf X = buf_rand((slots - 1) * ld + n, off, r, -1, 1);
                buf Y0 = buf_rand((slots - 1) * ld + n, (off + 1) % N_OFFS, r, -1, 1);
                buf row = buf_rand(n, (off + 2) % N_OFFS, r, -1, 1);
                buf a = buf_rand(ne ? ne : 1, 0, r, -1, 1);
                uint32_t sl[9];
                for (int64_t e = 0; e < slots; e++) sl[e] = (uint32_t)e;
                for (int64_t e = slots - 1; e > 0; e--) { /* distinct slots, shuffled */
                    uint32_t q = slide_rng_below(r, (uint32_t)(e + 1)), t = sl[e];
                    sl[e] = sl[q];
                    sl[q] = t;
                }
                buf Ys = buf_copy(&Y0, (off + 1) % N_OFFS), Yf = buf_copy(&Y0, (off + 1) % N_OFFS);
                buf Yq = buf_copy(&Y0, 0), Yp = buf_copy(&Y0, 0);
                buf gs = buf_alloc(n, off), gf = buf_alloc(n, off);
                buf gq = buf_alloc(n, 0), gp = buf_alloc(n, 0);
                for (int64_t i = 0; i < n; i++) gs.p[i] = gf.p[i] = 7.0f; /* overwritten */
                S->sweep_grad(gs.p, useY ? Ys.p : NULL, X.p, ld, row.p, sl, a.p, ne, n);
                F->sweep_grad(gf.p, useY ? Yf.p : NULL, X.p, ld, row.p, sl, a.p, ne, n);
                for (int64_t i = 0; i < n; i++) gq.p[i] = gp.p[i] = 0.0f;
                for (int64_t e = 0; e < ne; e++) {
                    const int64_t o = (int64_t)sl[e] * ld;
                    if (useY) {
                        S->axpy(Yq.p + o, a.p[e], row.p, n);
                        F->axpy(Yp.p + o, a.p[e], row.p, n);
                    }
                    S->axpy(gq.p, a.p[e], X.p + o, n);
                    F->axpy(gp.p, a.p[e], X.p + o, n);
                }
                for (int64_t i = 0; i < n; i++) {
                    double sc = 0;
                    for (int64_t e = 0; e < ne; e++)
                        sc += fabs((double)a.p[e] * X.p[(int64_t)sl[e] * ld + i]);
                    stat_add(&st, gf.p[i], gs.p[i], sc);
                    stat_exact(&sq, gf.p[i], gp.p[i]);
                    stat_exact(&sq, gs.p[i], gq.p[i]);
                }
                int64_t ent[9]; /* the entry writing each slot, or -1 */
                for (int64_t e = 0; e < slots; e++) ent[e] = -1;
                for (int64_t e = 0; e < ne; e++) ent[sl[e]] = e;
                for (int64_t q = 0; q < Y0.n; q++) {
                    const int64_t e = ent[q / ld], i = q % ld;
                    double sc = fabs(Y0.p[q]);
                    if (useY && e >= 0 && i < n) sc += fabs((double)a.p[e] * row.p[i]);
                    stat_add(&st, Yf.p[q], Ys.p[q], sc);
                    stat_exact(&sq, Yf.p[q], useY ? Yp.p[q] : Y0.p[q]);
                    stat_exact(&sq, Ys.p[q], useY ? Yq.p[q] : Y0.p[q]);
                }
                st.cases++, sq.cases++;
                stat_guard(&st, &gf);
                stat_guard(&st, &gs);
                stat_guard(&st, &Yf);
                stat_guard(&st, &Ys);
                buf *all[] = {&X, &Y0, &row, &a, &Ys, &Yf, &Yq, &Yp, &gs, &gf, &gq, &gp};
                for (size_t q = 0; q < sizeof all / sizeof all[0]; q++) buf_free(all[q]);
            }
    stat_report(F->name, S->name, &st);
    stat_report(F->name, "axpy*n", &sq);
}

/* The scalar bf16 reference against double precision on the same (exactly widened) values. */
static void test_bf16_scalar_vs_double(const slide_kern *S, slide_rng *r) {
    stat sg = {.kernel = "gather_dot_bf16", .bound = 1e-5,
               .scale = "1e-5 * (|b| + sum|w_i x_i|)"};
    stat sa = {.kernel = "axpy_bf16", .bound = 1e-6, .scale = "1e-6 * (|y_i| + |alpha x_i|)"};
    for (int li = 0; li < N_LENS; li++) {
        int64_t n = LENS[li], rows = 7, ld = n + 2;
        buf16 W = buf16_rand(S, rows * ld, 0, r, -1, 1);
        buf x = buf_rand(n, 0, r, -1, 1), bias = buf_rand(rows, 0, r, -1, 1);
        buf y = buf_rand(n, 0, r, -1, 1), y0 = buf_copy(&y, 0);
        uint32_t ids[5];
        for (int j = 0; j < 5; j++) ids[j] = slide_rng_below(r, (uint32_t)rows);
        float out[5];
        S->gather_dot_bf16(out, W.p, ld, bias.p, ids, 5, x.p, n);
        for (int j = 0; j < 5; j++) {
            const uint16_t *row = W.p + (int64_t)ids[j] * ld;
            double want = bias.p[ids[j]], scale = fabs(bias.p[ids[j]]);
            for (int64_t i = 0; i < n; i++) {
                want += (double)bf16_f32(row[i]) * x.p[i];
                scale += fabs((double)bf16_f32(row[i]) * x.p[i]);
            }
            stat_add(&sg, out[j], want, scale);
        }
        float alpha = 2.0f * slide_rng_uniform(r) - 1.0f;
        S->axpy_bf16(y.p, alpha, W.p, n);
        for (int64_t i = 0; i < n; i++) {
            double t = (double)alpha * bf16_f32(W.p[i]);
            stat_add(&sa, y.p[i], y0.p[i] + t, fabs(y0.p[i]) + fabs(t));
        }
        sg.cases++, sa.cases++;
        buf16_free(&W);
        buf *all[] = {&x, &bias, &y, &y0};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
    }
    stat_report("scalar", "double", &sg);
    stat_report("scalar", "double", &sa);
}

/* What bf16 storage costs: gather_dot_bf16 over to_bf16(W) against fp32 gather_dot over W on
 * the same path. Rounding moves each weight by at most 2^-8 |w|, so the results differ by at
 * most 2^-8 sum|w_i x_i| plus fp32 summation error (the 1e-6 and the slack below).
 * Two inputs: random ones, and adversarial ones where every term has the same sign and every
 * weight's dropped half is >= 0xC000 with a kept mantissa < 1.25: round-to-nearest then errs
 * by <= 2^-9 |w| per term, truncation by >= 1.2 * 2^-8 |w| in the same direction each time,
 * which must break the bound (checked: the test can fail). */
static void test_bf16_vs_fp32(const slide_kern *K, slide_rng *r) {
    stat st = {.kernel = "gather_dot_bf16", .bound = 1.0 / 256,
               .scale = "2^-8 * sum|w_i x_i| + 1e-6"};
    long trunc_cases = 0, trunc_caught = 0;
    for (int adv = 0; adv < 2; adv++)
        for (int li = 0; li < N_LENS; li++) {
            int64_t n = LENS[li], rows = 9, ld = n + 1, n_ids = 6;
            buf W = buf_alloc(rows * ld, 0), x = buf_rand(n, 1, r, -1, 1);
            buf bias = buf_rand(rows, 0, r, -1, 1);
            for (int64_t i = 0; i < rows * ld; i++) {
                if (!adv) {
                    W.p[i] = 2.0f * slide_rng_uniform(r) - 1.0f;
                    continue;
                }
                uint32_t m_hi = slide_rng_below(r, 32), m_lo = 0xc000u + slide_rng_below(r, 0x4000);
                float w = f32_bits(0x3f000000u | m_hi << 16 | m_lo); /* [0.5, 0.625) */
                int64_t col = i % ld;
                W.p[i] = col < n && x.p[col] < 0 ? -w : w; /* w_i x_i > 0 */
            }
            if (adv)
                for (int64_t i = 0; i < n; i++) x.p[i] = x.p[i] < 0 ? x.p[i] - 0.5f : x.p[i] + 0.5f;
            buf16 Wb = buf16_alloc(rows * ld, 1), Wt = buf16_alloc(rows * ld, 0);
            K->to_bf16(Wb.p, W.p, rows * ld);
            for (int64_t i = 0; i < rows * ld; i++) {
                uint32_t u;
                memcpy(&u, &W.p[i], sizeof u);
                Wt.p[i] = (uint16_t)(u >> 16); /* truncation, the wrong rounding */
            }
            uint32_t ids[6];
            for (int j = 0; j < 6; j++) ids[j] = slide_rng_below(r, (uint32_t)rows);
            float want[6], got[6], trunc[6];
            const float *b = li % 2 ? bias.p : NULL;
            K->gather_dot(want, W.p, ld, b, ids, n_ids, x.p, n);
            K->gather_dot_bf16(got, Wb.p, ld, b, ids, n_ids, x.p, n);
            K->gather_dot_bf16(trunc, Wt.p, ld, b, ids, n_ids, x.p, n);
            for (int j = 0; j < n_ids; j++) {
                const float *row = W.p + (int64_t)ids[j] * ld;
                double s = 0;
                for (int64_t i = 0; i < n; i++) s += fabs((double)row[i] * x.p[i]);
                double scale = s + 256 * 1e-6; /* bound * scale = 2^-8 s + 1e-6 */
                stat_add(&st, got[j], want[j], scale);
                if (adv && n > 0) {
                    trunc_cases++;
                    trunc_caught += fabs((double)trunc[j] - want[j]) > scale / 256;
                }
            }
            st.cases++;
            stat_guard16(&st, &Wb);
            buf16_free(&Wb);
            buf16_free(&Wt);
            buf *all[] = {&W, &x, &bias};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) buf_free(all[k]);
        }
    stat_report(K->name, "fp32", &st);
    printf("[kern] %-7s truncating to bf16 instead breaks that bound in %ld of %ld adversarial "
           "rows  %s\n", K->name, trunc_caught, trunc_cases,
           trunc_caught == trunc_cases ? "ok" : "FAIL");
    CHECKF(trunc_cases > 0 && trunc_caught == trunc_cases,
           "%s: the bf16-vs-fp32 bound does not catch truncation (%ld of %ld)", K->name,
           trunc_caught, trunc_cases);
}

/* ---------------------------------------------------------------- dispatch */
static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static void test_dispatch(void) {
    slide_err e;
    CHECK(slide_simd_available(SLIDE_SIMD_SCALAR));
    CHECK(slide_simd_unavailable_reason(SLIDE_SIMD_SCALAR) == NULL);
    CHECK(!slide_simd_available(-1) && !slide_simd_available(3));
    CHECK(slide_simd_unavailable_reason(3) != NULL);
    CHECK(slide_kern_get(-1) == NULL && slide_kern_get(3) == NULL);
    CHECK(strcmp(slide_simd_name(SLIDE_SIMD_SCALAR), "scalar") == 0);
    CHECK(strcmp(slide_simd_name(SLIDE_SIMD_AVX2), "avx2") == 0);
    CHECK(strcmp(slide_simd_name(SLIDE_SIMD_AVX512), "avx512") == 0);
    CHECK(strcmp(slide_simd_name(9), "unknown") == 0);

    int best = slide_simd_best();
    CHECK(slide_simd_available(best));
    for (int s = best + 1; s <= SLIDE_SIMD_AVX512; s++) CHECK(!slide_simd_available(s));
    for (int s = 0; s <= SLIDE_SIMD_AVX512; s++) {
        const slide_kern *k = slide_kern_get(s);
        if (!slide_simd_available(s)) {
            CHECK(k == NULL);
            CHECK(slide_simd_unavailable_reason(s) != NULL);
            slide_err_clear(&e);
            CHECK(slide_simd_parse(slide_simd_name(s), &e) == -1);
            CHECK(e.code == SLIDE_EUNSUP);
            CHECKF(contains(e.msg, slide_simd_name(s)) && contains(e.msg, "scalar"), "%s", e.msg);
            printf("[kern] parse(\"%s\") -> %s\n", slide_simd_name(s), e.msg);
            continue;
        }
        CHECK(k != NULL);
        if (!k) continue;
        CHECK(k->simd == s && strcmp(k->name, slide_simd_name(s)) == 0);
        CHECK(k->dot && k->axpy && k->gather_dot && k->sparse_rows_sum && k->adam && k->adam_bf16 && k->adam_bf16w && k->relu &&
              k->max && k->to_bf16 && k->gather_dot_bf16 && k->axpy_bf16 && k->softmax);
        CHECK(slide_simd_parse(slide_simd_name(s), &e) == s);
    }

    CHECK(slide_simd_parse("auto", &e) == best);
    CHECK(slide_simd_parse("", &e) == best);
    static const char *bad[] = {"bogus", "AVX2", "avx", "scalar ", "avx5120", "sse"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        slide_err_clear(&e);
        CHECKF(slide_simd_parse(bad[i], &e) == -1, "'%s' accepted", bad[i]);
        CHECK(e.code == SLIDE_EINVAL);
        CHECKF(contains(e.msg, bad[i]) && contains(e.msg, "available here: scalar"), "%s", e.msg);
    }
    CHECK(slide_simd_parse("bogus", NULL) == -1); /* err may be NULL */
    slide_simd_parse("bogus", &e);
    printf("[kern] parse(\"bogus\") -> %s\n", e.msg);

    /* the library reads no environment: SLIDE_SIMD changes nothing; NULL means auto */
    const char *saved = getenv("SLIDE_SIMD");
    char *saved_copy = saved ? strdup(saved) : NULL;
    unsetenv("SLIDE_SIMD");
    CHECK(slide_simd_parse(NULL, &e) == best);
    setenv("SLIDE_SIMD", "scalar", 1);
    CHECK(slide_simd_parse(NULL, &e) == best);
    CHECK(slide_simd_parse("auto", &e) == best);
    setenv("SLIDE_SIMD", "nope", 1);
    CHECK(slide_simd_parse(NULL, &e) == best);
    /* a driver passes the variable's value, naming where it came from */
    slide_err_clear(&e);
    CHECK(slide_simd_parse_from("nope", "SLIDE_SIMD", &e) == -1);
    CHECKF(contains(e.msg, "nope") && contains(e.msg, "SLIDE_SIMD"), "%s", e.msg);
    CHECK(slide_simd_parse_from("scalar", "SLIDE_SIMD", &e) == SLIDE_SIMD_SCALAR);
    if (saved_copy) setenv("SLIDE_SIMD", saved_copy, 1);
    else unsetenv("SLIDE_SIMD");
    free(saved_copy);
    printf("[kern] dispatch: best=%s\n", slide_simd_name(best));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results and failure lines in order */
    test_dispatch();
    const slide_kern *S = slide_kern_get(SLIDE_SIMD_SCALAR);
    CHECK(S != NULL);
    if (!S) TEST_MAIN_END();
    slide_rng r;
    slide_rng_seed(&r, 20200302, 0);
    test_scalar_vs_double(S, &r);
    test_softmax_scalar_vs_double(S, &r);
    test_to_bf16_reference(S, &r);
    test_bf16_scalar_vs_double(S, &r);
    test_to_bf16_specials(S);
    test_bf16_vs_fp32(S, &r);
    test_adam_bf16_reference(S, &r);
    test_adam_bf16w_reference(S, &r);
    test_adam_one(S, &r);
    for (int s = SLIDE_SIMD_AVX2; s <= SLIDE_SIMD_AVX512; s++) {
        if (!slide_simd_available(s)) {
            printf("[kern] %s: skipped: %s\n", slide_simd_name(s),
                   slide_simd_unavailable_reason(s));
            continue;
        }
        const slide_kern *F = slide_kern_get(s);
        slide_rng_seed(&r, 20200302, (uint64_t)s);
        test_dot(F, S, &r);
        test_axpy(F, S, &r);
        test_gather_dot(F, S, &r);
        test_sparse_rows_sum(F, S, &r);
        test_adam(F, S, &r);
        test_adam_bf16(F, S, &r, 0);
        test_adam_bf16(F, S, &r, 1);
        test_adam_one(F, &r);
        test_relu(F, S, &r);
        test_max(F, S, &r);
        test_to_bf16_specials(F);
        test_to_bf16(F, S, &r);
        test_gather_dot_bf16(F, S, &r);
        test_axpy_bf16(F, S, &r);
        test_gather_axpy(F, S, &r, 0);
        test_gather_axpy(F, S, &r, 1);
        test_sweep_grad(F, S, &r);
        test_bf16_vs_fp32(F, &r);
        test_softmax(F, S, &r);
    }
    TEST_MAIN_END();
}
