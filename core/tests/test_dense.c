/* Tests of the dense baseline (bench/baseline/dense.c): one BLAS forward/backward step against a
 * plain triple-loop reference, finite differences of the reference, Adam, evaluation, dumps. */
#include "dense.h"
#include "slide/network.h"
#include "test_util.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ data */

/* n points over d features and l labels, deterministic from seed. Point i has 1..max_nnz
 * distinct features with values in (0, 1] and 1..3 labels, except every `unlabeled`-th point
 * (0 = none) which has none. */
static void make_data(slide_data *ds, int64_t n, int64_t d, int64_t l, int max_nnz, int unlabeled,
                      uint64_t seed) {
    slide_err err;
    int64_t nnz_cap = n * max_nnz, lab_cap = n * 3;
    SLIDE_ASSERT(slide_data_alloc(ds, n, d, l, nnz_cap, lab_cap, &err) == SLIDE_OK);
    slide_rng r;
    slide_rng_seed(&r, seed, 77);
    int64_t nnz = 0, nl = 0;
    for (int64_t i = 0; i < n; i++) {
        int k = 1 + (int)slide_rng_below(&r, (uint32_t)max_nnz);
        if (k > d) k = (int)d;
        /* k distinct sorted ids: sample a sorted subset by selection sampling */
        int64_t need = k;
        for (int64_t f = 0; f < d && need > 0; f++) {
            if (slide_rng_below(&r, (uint32_t)(d - f)) < (uint32_t)need) {
                ds->feat[nnz] = (int32_t)f;
                ds->val[nnz] = 0.05f + 0.95f * slide_rng_uniform(&r);
                nnz++;
                need--;
            }
        }
        ds->row_ptr[i + 1] = nnz;
        int nlab = (unlabeled > 0 && i % unlabeled == unlabeled - 1) ? 0
                   : 1 + (int)slide_rng_below(&r, 3);
        if (nlab > l) nlab = (int)l;
        int64_t needl = nlab;
        for (int64_t j = 0; j < l && needl > 0; j++) {
            if (slide_rng_below(&r, (uint32_t)(l - j)) < (uint32_t)needl) {
                ds->lab[nl++] = (int32_t)j;
                needl--;
            }
        }
        ds->lab_ptr[i + 1] = nl;
    }
    ds->nnz = nnz;
    ds->nlab = nl;
}

/* ------------------------------------------------------------------ plain reference */

/* The network in double with plain loops, no BLAS: returns the batch-mean cross-entropy
 * (labels spread uniformly) of points ids[0..n) and, when gW0 != NULL, its gradients (all of
 * gW0 is written; rows of absent features are 0). */
static double ref_fwd_bwd(const slide_data *ds, const int64_t *ids, int64_t n, int H,
                          const float *W0, const float *b0, const float *W1, const float *b1,
                          double *gW0, double *gb0, double *gW1, double *gb1) {
    const int64_t D = ds->d, L = ds->l;
    double *z = malloc((size_t)H * sizeof *z), *h = malloc((size_t)H * sizeof *h);
    double *dh = malloc((size_t)H * sizeof *dh), *o = malloc((size_t)L * sizeof *o);
    double *t = malloc((size_t)L * sizeof *t);
    SLIDE_ASSERT(z && h && dh && o && t);
    if (gW0) {
        memset(gW0, 0, (size_t)(D * H) * sizeof *gW0);
        memset(gb0, 0, (size_t)H * sizeof *gb0);
        memset(gW1, 0, (size_t)(L * H) * sizeof *gW1);
        memset(gb1, 0, (size_t)L * sizeof *gb1);
    }
    double loss = 0;
    for (int64_t s = 0; s < n; s++) {
        const int64_t i = ids[s];
        for (int k = 0; k < H; k++) {
            z[k] = b0[k];
            for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++)
                z[k] += (double)ds->val[q] * W0[(int64_t)ds->feat[q] * H + k];
            h[k] = z[k] > 0 ? z[k] : 0;
        }
        double M = -INFINITY;
        for (int64_t j = 0; j < L; j++) {
            o[j] = b1[j];
            for (int k = 0; k < H; k++) o[j] += (double)W1[j * H + k] * h[k];
            if (o[j] > M) M = o[j];
        }
        double S = 0;
        for (int64_t j = 0; j < L; j++) S += exp(o[j] - M);
        const int64_t nlab = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
        for (int64_t j = 0; j < L; j++) t[j] = 0;
        for (int64_t q = ds->lab_ptr[i]; q < ds->lab_ptr[i + 1]; q++) {
            t[ds->lab[q]] = 1.0 / (double)nlab;
            loss -= (o[ds->lab[q]] - M - log(S)) / (double)nlab;
        }
        if (!gW0) continue;
        for (int k = 0; k < H; k++) dh[k] = 0;
        for (int64_t j = 0; j < L; j++) {
            double dl = (exp(o[j] - M) / S - t[j]) / (double)n;
            gb1[j] += dl;
            for (int k = 0; k < H; k++) {
                gW1[j * H + k] += dl * h[k];
                dh[k] += dl * W1[j * H + k];
            }
        }
        for (int k = 0; k < H; k++) {
            double dz = z[k] > 0 ? dh[k] : 0;
            gb0[k] += dz;
            for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++)
                gW0[(int64_t)ds->feat[q] * H + k] += (double)ds->val[q] * dz;
        }
    }
    free(z);
    free(h);
    free(dh);
    free(o);
    free(t);
    return loss / (double)n;
}

/* max |a - b| / max |b| (b the reference); over rows listed in `rows` (NULL = all rows). */
static double rel_err(const float *a, const double *b, int64_t n_rows, int64_t ld,
                      const int32_t *rows, int64_t n_list) {
    double mx = 0, mref = 1e-30;
    int64_t cnt = rows ? n_list : n_rows;
    for (int64_t u = 0; u < cnt; u++) {
        int64_t r = rows ? rows[u] : u;
        for (int64_t k = 0; k < ld; k++) {
            double d = fabs((double)a[r * ld + k] - b[r * ld + k]);
            if (!(d <= mx)) mx = d;
            if (fabs(b[r * ld + k]) > mref) mref = fabs(b[r * ld + k]);
        }
    }
    return mx / mref;
}

static slide_dense_params small_params(int64_t d, int64_t l, int H, int batch, int threads) {
    slide_dense_params p = slide_dense_params_default();
    p.d = d;
    p.l = l;
    p.hidden = H;
    p.batch = batch;
    p.threads = threads;
    p.init_std = 0.3f; /* large enough that the softmax is far from uniform */
    p.seed = 7;
    return p;
}

/* ------------------------------------------------------------------ tests */

/* One forward/backward step of the BLAS implementation vs the reference, for 1..3 threads
 * (3 threads split 37 labels as [0,0) [0,16) [16,37): an empty block too). */
static void test_step_vs_reference(void) {
    const int64_t D = 50, L = 37, n = 9;
    const int H = 16;
    slide_data ds;
    make_data(&ds, 20, D, L, 6, 4, 3);
    int64_t ids[9] = {3, 0, 7, 12, 19, 5, 11, 2, 16}; /* includes unlabeled points 3, 7, 11, 19 */
    double *gW0 = malloc((size_t)(D * H) * sizeof *gW0), *gb0 = malloc((size_t)H * sizeof *gb0);
    double *gW1 = malloc((size_t)(L * H) * sizeof *gW1), *gb1 = malloc((size_t)L * sizeof *gb1);
    SLIDE_ASSERT(gW0 && gb0 && gW1 && gb1);
    for (int threads = 1; threads <= 3; threads++) {
        slide_dense m;
        slide_err err;
        slide_dense_params p = small_params(D, L, H, 16, threads);
        CHECK(slide_dense_init(&m, &p, &err) == SLIDE_OK);
        double ref_loss = ref_fwd_bwd(&ds, ids, n, H, m.W0, m.b0, m.W1, m.b1, gW0, gb0, gW1, gb1);
        double loss = -1;
        slide_dense_stats st;
        memset(&st, 0, sizeof st);
        CHECK(slide_dense_forward_backward(&m, &ds, ids, n, &loss, &st, &err) == SLIDE_OK);
        /* gW0: compare the rows of the batch's features; the list must be exactly those. */
        int64_t present = 0;
        for (int64_t f = 0; f < D; f++) {
            int in_batch = 0;
            for (int64_t s = 0; s < n; s++)
                for (int64_t q = ds.row_ptr[ids[s]]; q < ds.row_ptr[ids[s] + 1]; q++)
                    in_batch |= ds.feat[q] == f;
            present += in_batch;
        }
        CHECKF(m.n_uniq == present, "features in batch %lld vs listed %lld", (long long)present,
               (long long)m.n_uniq);
        double e_w0 = rel_err(m.gW0, gW0, D, H, m.uniq, m.n_uniq);
        double e_b0 = rel_err(m.gb0, gb0, 1, H, NULL, 0);
        double e_w1 = rel_err(m.gW1, gW1, L, H, NULL, 0);
        double e_b1 = rel_err(m.gb1, gb1, 1, L, NULL, 0);
        double e_loss = fabs(loss / n - ref_loss) / fabs(ref_loss);
        fprintf(stderr, "step vs reference, %d threads: max rel err gW0 %.2e gb0 %.2e gW1 %.2e "
                "gb1 %.2e loss %.2e (limit 1e-4)\n", threads, e_w0, e_b0, e_w1, e_b1, e_loss);
        CHECK(e_w0 < 1e-4);
        CHECK(e_b0 < 1e-4);
        CHECK(e_w1 < 1e-4);
        CHECK(e_b1 < 1e-4);
        CHECK(e_loss < 1e-5);
        CHECK(st.samples == n);
        CHECK_NEAR(st.gemm_flops, 6.0 * n * L * H, 0.5);
        /* logits of one point against the reference forward */
        float *lg = malloc((size_t)L * sizeof *lg);
        slide_dense_logits_point(&m, &ds, 0, lg);
        double mx = 0;
        for (int64_t j = 0; j < L; j++) {
            double h[16], o = m.b1[j];
            for (int k = 0; k < H; k++) {
                h[k] = m.b0[k];
                for (int64_t q = ds.row_ptr[0]; q < ds.row_ptr[1]; q++)
                    h[k] += (double)ds.val[q] * m.W0[(int64_t)ds.feat[q] * H + k];
                h[k] = h[k] > 0 ? h[k] : 0;
                o += h[k] * m.W1[j * H + k];
            }
            if (fabs(o - lg[j]) > mx) mx = fabs(o - lg[j]);
        }
        CHECKF(mx < 1e-5, "logits_point max abs err %g", mx);
        free(lg);
        /* a batch larger than the workspace and a shape mismatch are errors */
        CHECK(slide_dense_forward_backward(&m, &ds, ids, 17, NULL, NULL, &err) == SLIDE_EINVAL);
        slide_dense_free(&m);
    }
    free(gW0);
    free(gb0);
    free(gW1);
    free(gb1);
    slide_data_free(&ds);
}

/* The reference gradient against central differences of the reference loss (tiny problem). */
static void test_reference_fd(void) {
    const int64_t D = 6, L = 5, n = 3;
    const int H = 4;
    slide_data ds;
    make_data(&ds, 4, D, L, 4, 0, 11);
    int64_t ids[3] = {0, 1, 3};
    slide_dense_params p = small_params(D, L, H, 4, 1);
    p.init_std = 0.8f;
    slide_dense m;
    slide_err err;
    CHECK(slide_dense_init(&m, &p, &err) == SLIDE_OK);
    for (int k = 0; k < H; k++) m.b0[k] = 0.05f * (float)(k + 1);
    for (int64_t j = 0; j < L; j++) m.b1[j] = -0.1f * (float)j;
    double gW0[6 * 4], gb0[4], gW1[5 * 4], gb1[5];
    ref_fwd_bwd(&ds, ids, n, H, m.W0, m.b0, m.W1, m.b1, gW0, gb0, gW1, gb1);
    /* Perturb float parameters by +-h (exactly representable steps) and difference in double. */
    float *arr[4] = {m.W0, m.b0, m.W1, m.b1};
    double *grad[4] = {gW0, gb0, gW1, gb1};
    int64_t len[4] = {D * H, H, L * H, L};
    const float h = 1.0f / 1024.0f;
    double worst = 0;
    int checked = 0;
    for (int a = 0; a < 4; a++) {
        for (int64_t e = 0; e < len[a]; e++) {
            float keep = arr[a][e];
            arr[a][e] = keep + h;
            double lp = ref_fwd_bwd(&ds, ids, n, H, m.W0, m.b0, m.W1, m.b1, NULL, NULL, NULL, NULL);
            arr[a][e] = keep - h;
            double lm = ref_fwd_bwd(&ds, ids, n, H, m.W0, m.b0, m.W1, m.b1, NULL, NULL, NULL, NULL);
            arr[a][e] = keep;
            double fd = (lp - lm) / (2.0 * (double)h);
            double d = fabs(fd - grad[a][e]) / (fabs(grad[a][e]) + 1e-3);
            if (d > worst) worst = d;
            checked++;
        }
    }
    fprintf(stderr, "finite differences: %d parameters, worst relative error %.2e (limit 1e-3)\n",
            checked, worst);
    CHECK(worst < 1e-3);
    slide_dense_free(&m);
    slide_data_free(&ds);
}

/* Adam: the library's step equals the formula applied by hand; untouched W0 rows stay put. */
static void test_adam(void) {
    const int64_t D = 40, L = 21, n = 5;
    const int H = 8;
    slide_data ds;
    make_data(&ds, 10, D, L, 3, 0, 5);
    int64_t ids[5] = {0, 2, 4, 6, 8};
    slide_dense_params p = small_params(D, L, H, 8, 2);
    p.lr = 0.01f;
    slide_dense m;
    slide_err err;
    CHECK(slide_dense_init(&m, &p, &err) == SLIDE_OK);
    const int64_t nw0 = D * H, nw1 = L * H;
    float *w0 = malloc((size_t)nw0 * 4), *m0 = calloc((size_t)nw0, 4), *v0 = calloc((size_t)nw0, 4);
    float *w1 = malloc((size_t)nw1 * 4), *m1 = calloc((size_t)nw1, 4), *v1 = calloc((size_t)nw1, 4);
    float bb0[8], mb0[8] = {0}, vb0[8] = {0};
    float *bb1 = malloc((size_t)L * 4), *mb1 = calloc((size_t)L, 4), *vb1 = calloc((size_t)L, 4);
    uint8_t *touched = calloc((size_t)D, 1);
    SLIDE_ASSERT(w0 && m0 && v0 && w1 && m1 && v1 && bb1 && mb1 && vb1 && touched);
    memcpy(w0, m.W0, (size_t)nw0 * 4);
    memcpy(w1, m.W1, (size_t)nw1 * 4);
    memcpy(bb0, m.b0, sizeof bb0);
    memcpy(bb1, m.b1, (size_t)L * 4);
    double worst = 0;
    for (int step = 1; step <= 3; step++) {
        int64_t *bid = ids + (step == 2 ? 1 : 0); /* step 2: a different batch */
        int64_t bn = step == 2 ? 4 : n;
        CHECK(slide_dense_forward_backward(&m, &ds, bid, bn, NULL, NULL, &err) == SLIDE_OK);
        /* the formula by hand, on copies, from the library's gradients */
        const float lr_t = (float)((double)p.lr * sqrt(1.0 - pow(p.beta2, (double)step)) /
                                   (1.0 - pow(p.beta1, (double)step)));
#define ADAM1(W, Mm, V, G)                                                          \
    do {                                                                            \
        Mm = p.beta1 * Mm + (1.0f - p.beta1) * (G);                                 \
        V = p.beta2 * V + (1.0f - p.beta2) * (G) * (G);                             \
        W -= lr_t * Mm / (sqrtf(V) + p.eps);                                        \
    } while (0)
        for (int64_t e = 0; e < nw1; e++) ADAM1(w1[e], m1[e], v1[e], m.gW1[e]);
        for (int64_t e = 0; e < L; e++) ADAM1(bb1[e], mb1[e], vb1[e], m.gb1[e]);
        for (int k = 0; k < H; k++) ADAM1(bb0[k], mb0[k], vb0[k], m.gb0[k]);
        for (int64_t u = 0; u < m.n_uniq; u++) {
            int64_t f = m.uniq[u];
            touched[f] = 1;
            for (int k = 0; k < H; k++) ADAM1(w0[f * H + k], m0[f * H + k], v0[f * H + k], m.gW0[f * H + k]);
        }
#undef ADAM1
        slide_dense_adam(&m, NULL);
        CHECK(m.step == step);
        for (int64_t e = 0; e < nw0; e++) {
            double d = fabs((double)w0[e] - m.W0[e]);
            if (d > worst) worst = d;
        }
        for (int64_t e = 0; e < nw1; e++) {
            double d = fabs((double)w1[e] - m.W1[e]);
            if (d > worst) worst = d;
        }
        for (int64_t e = 0; e < L; e++) worst = fmax(worst, fabs((double)bb1[e] - m.b1[e]));
        for (int k = 0; k < H; k++) worst = fmax(worst, fabs((double)bb0[k] - m.b0[k]));
    }
    fprintf(stderr, "Adam: 3 steps, max |library - formula| %.3g (limit 1e-7)\n", worst);
    CHECK(worst <= 1e-7);
    /* rows of features never in a batch are exactly the initial weights */
    float *init = malloc((size_t)nw0 * 4);
    SLIDE_ASSERT(init);
    slide_dense_init_matrix(init, D, H, p.init_std, p.seed, 0);
    int64_t untouched = 0;
    for (int64_t f = 0; f < D; f++) {
        if (touched[f]) continue;
        untouched++;
        CHECK(memcmp(init + f * H, m.W0 + f * H, (size_t)H * 4) == 0);
    }
    fprintf(stderr, "Adam: %lld of %lld W0 rows untouched and unchanged\n", (long long)untouched,
            (long long)D);
    CHECK(untouched > 0);
    free(init);
    free(w0); free(m0); free(v0); free(w1); free(m1); free(v1);
    free(bb1); free(mb1); free(vb1); free(touched);
    slide_dense_free(&m);
    slide_data_free(&ds);
}

/* The same seed gives the same initial weights as the SLIDE network (core/src/layer.c). */
static void test_init_matches_slide(void) {
    const int64_t D = 30, L = 25;
    slide_net_params np = slide_net_params_default();
    np.layer[0].n_out = 16;
    np.layer[0].init_std = 0.02f;
    np.layer[1].init_std = 0.02f;
    np.layer[1].sampled = 0;
    slide_net_params_shape(&np, D, L);
    np.seed = 99;
    slide_net *net = NULL;
    slide_err err;
    CHECK(slide_net_create(&net, &np, &err) == SLIDE_OK);
    slide_dense_params p = small_params(D, L, 16, 4, 2);
    p.init_std = 0.02f;
    p.seed = 99;
    slide_dense m;
    CHECK(slide_dense_init(&m, &p, &err) == SLIDE_OK);
    if (net) {
        CHECK(memcmp(slide_net_layer(net, 0)->W, m.W0, (size_t)(D * 16) * 4) == 0);
        CHECK(memcmp(slide_net_layer(net, 1)->W, m.W1, (size_t)(L * 16) * 4) == 0);
    }
    slide_net_destroy(net);
    slide_dense_free(&m);
}

/* Evaluation: unlabeled points are skipped, P@k matches a brute-force ranking. */
static void test_evaluate(void) {
    const int64_t D = 40, L = 30;
    const int H = 8;
    slide_data ds;
    make_data(&ds, 23, D, L, 5, 3, 21); /* every 3rd point unlabeled: 7 of 23 */
    slide_dense_params p = small_params(D, L, H, 5, 2); /* batch 5: several chunks */
    slide_dense m;
    slide_err err;
    CHECK(slide_dense_init(&m, &p, &err) == SLIDE_OK);
    for (int64_t j = 0; j < L; j++) m.b1[j] = 0.01f * (float)(j % 7);
    slide_eval_result res;
    CHECK(slide_dense_evaluate(&m, &ds, NULL, 0, &res, &err) == SLIDE_OK);
    CHECK(res.n_skipped == 7);
    CHECK(res.n_eval == 16);
    CHECK(isnan(res.recall_at_5));
    CHECK(res.active_avg == (double)L);
    /* brute force: full sort of the logits of each labelled point */
    double p1 = 0, p5 = 0;
    float *lg = malloc((size_t)L * sizeof *lg);
    for (int64_t i = 0; i < ds.n; i++) {
        if (ds.lab_ptr[i + 1] == ds.lab_ptr[i]) continue;
        slide_dense_logits_point(&m, &ds, i, lg);
        uint32_t pred[5];
        for (int k = 0; k < 5; k++) {
            int64_t best = -1;
            for (int64_t j = 0; j < L; j++) {
                int used = 0;
                for (int q = 0; q < k; q++) used |= pred[q] == (uint32_t)j;
                if (!used && (best < 0 || lg[j] > lg[best])) best = j;
            }
            pred[k] = (uint32_t)best;
        }
        double pa[6], na[6];
        slide_metrics_point(pred, 5, ds.lab + ds.lab_ptr[i], (int)(ds.lab_ptr[i + 1] - ds.lab_ptr[i]),
                            pa, na);
        p1 += pa[1];
        p5 += pa[5];
    }
    free(lg);
    CHECK_NEAR(res.p_at[1], p1 / 16, 1e-12);
    CHECK_NEAR(res.p_at[5], p5 / 16, 1e-12);
    /* a subset of ids: 0 (labelled), 2 (unlabelled), 4 (labelled) */
    int64_t sub[3] = {0, 2, 4};
    CHECK(slide_dense_evaluate(&m, &ds, sub, 3, &res, &err) == SLIDE_OK);
    CHECK(res.n_eval == 2 && res.n_skipped == 1);
    /* all unlabelled: nothing evaluated, no division by zero */
    int64_t none[2] = {2, 5};
    CHECK(slide_dense_evaluate(&m, &ds, none, 2, &res, &err) == SLIDE_OK);
    CHECK(res.n_eval == 0 && res.n_skipped == 2 && res.p_at[1] == 0);
    slide_dense_free(&m);
    slide_data_free(&ds);
}

/* A few steps on a learnable problem lower the loss; 1 and 3 threads agree. */
static void test_training_and_threads(void) {
    const int64_t D = 60, L = 20;
    slide_data ds;
    make_data(&ds, 64, D, L, 6, 0, 8);
    /* make the labels a function of the first feature, so there is something to learn */
    for (int64_t i = 0; i < ds.n; i++)
        for (int64_t q = ds.lab_ptr[i]; q < ds.lab_ptr[i + 1]; q++)
            ds.lab[q] = (int32_t)((ds.feat[ds.row_ptr[i]] + (q - ds.lab_ptr[i]) * 7) % L);
    for (int64_t i = 0; i < ds.n; i++) { /* keep labels sorted and distinct */
        int64_t a = ds.lab_ptr[i], b = ds.lab_ptr[i + 1];
        for (int64_t x = a + 1; x < b; x++)
            for (int64_t y = x; y > a && ds.lab[y - 1] > ds.lab[y]; y--) {
                int32_t t = ds.lab[y];
                ds.lab[y] = ds.lab[y - 1];
                ds.lab[y - 1] = t;
            }
    }
    int64_t ids[64];
    for (int i = 0; i < 64; i++) ids[i] = i;
    double first[2] = {0, 0}, last[2] = {0, 0};
    float w1[2];
    for (int v = 0; v < 2; v++) {
        slide_dense_params p = small_params(D, L, 16, 16, v == 0 ? 1 : 3);
        p.lr = 0.01f;
        p.init_std = 0.05f;
        slide_dense m;
        slide_err err;
        CHECK(slide_dense_init(&m, &p, &err) == SLIDE_OK);
        for (int ep = 0; ep < 30; ep++) {
            slide_dense_stats st;
            memset(&st, 0, sizeof st);
            for (int b = 0; b < 4; b++)
                CHECK(slide_dense_train_batch(&m, &ds, ids + 16 * b, 16, &st, &err) == SLIDE_OK);
            if (ep == 0) first[v] = st.loss_sum / st.samples;
            last[v] = st.loss_sum / st.samples;
        }
        w1[v] = m.W1[17];
        slide_dense_free(&m);
    }
    fprintf(stderr, "training: loss %.4f -> %.4f (1 thread), %.4f -> %.4f (3 threads)\n", first[0],
            last[0], first[1], last[1]);
    CHECK(last[0] < 0.75 * first[0]);
    CHECK_NEAR(last[0], last[1], 1e-4 * fabs(last[0]));
    CHECK_NEAR(w1[0], w1[1], 1e-5);
    slide_data_free(&ds);
}

static void test_params_and_dump(void) {
    slide_dense_params p = slide_dense_params_default();
    CHECK(slide_dense_params_check(&p) == NULL);
    p.hidden = 0;
    CHECK(slide_dense_params_check(&p) != NULL);
    p = slide_dense_params_default();
    p.lr = 0;
    CHECK(slide_dense_params_check(&p) != NULL);
    p = slide_dense_params_default();
    p.d = 135909;
    p.l = 670091;
    p.batch = 256;
    double mb = slide_dense_estimate_bytes(&p) / 1048576.0;
    fprintf(stderr, "estimate for the Amazon-670K shape, batch 256: %.0f MB\n", mb);
    CHECK(mb > 2000 && mb < 3000); /* 16 B x 103M parameters + 686 MB logits */

    float W0[6] = {1, 2, 3, 4, 5, 6}, b0[2] = {7, 8}, W1[4] = {9, 10, 11, 12}, b1[2] = {13, 14};
    slide_dense_dump dd = {2, 3, 2, 5, 1.25, W0, b0, W1, b1}, rd;
    char path[512];
    snprintf(path, sizeof path, "%s/p.dump", test_tmpdir());
    slide_err err;
    CHECK(slide_dense_dump_write(path, &dd, &err) == SLIDE_OK);
    CHECK(slide_dense_dump_read(&rd, path, &err) == SLIDE_OK);
    CHECK(rd.hidden == 2 && rd.d == 3 && rd.l == 2 && rd.step == 5 && rd.loss == 1.25);
    CHECK(rd.W0 && memcmp(rd.W0, W0, sizeof W0) == 0 && memcmp(rd.b1, b1, sizeof b1) == 0);
    slide_dense_dump_free(&rd);
    FILE *f = fopen(path, "r+b"); /* corrupt the magic */
    SLIDE_ASSERT(f);
    fputc('X', f);
    fclose(f);
    CHECK(slide_dense_dump_read(&rd, path, &err) == SLIDE_EVERSION);
    CHECK(strstr(err.msg, "magic") != NULL);
    CHECK(slide_dense_dump_read(&rd, "/nonexistent/x.dump", &err) == SLIDE_EIO);
    CHECK(slide_data_check_path("train", "/nonexistent", &err) == SLIDE_EIO);
    CHECK(slide_data_check_path("train", "/", &err) == SLIDE_EIO);
    CHECK(strstr(err.msg, "directory") != NULL);
}

int main(void) {
    test_step_vs_reference();
    test_reference_fd();
    test_adam();
    test_init_matches_slide();
    test_evaluate();
    test_training_and_threads();
    test_params_and_dump();
    TEST_MAIN_END();
}
