/* Tests of the SLIDE network: finite-difference gradients (full, and sampled with every neuron
 * active), sampled-with-all-neurons equals full, single-thread determinism, learning on the
 * tiny synthetic preset, and P@k / nDCG@k on hand-made cases. */
#include "slide/checkpoint.h"
#include "slide/network.h"
#include "slide/rng.h"
#include "slide/synth.h"
#include "test_util.h"

#include <omp.h>
#include <unistd.h>

/* A small random data set: n points, d features, l labels. */
static void make_data(slide_data *ds, int64_t n, int64_t d, int64_t l, uint64_t seed) {
    slide_err err;
    int64_t nnz_per = 4, lab_per = 2;
    SLIDE_ASSERT(slide_data_alloc(ds, n, d, l, n * nnz_per, n * lab_per, &err) == 0);
    slide_rng r;
    slide_rng_seed(&r, seed, 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t f0 = (int64_t)slide_rng_below(&r, (uint32_t)(d - nnz_per));
        for (int64_t j = 0; j < nnz_per; j++) {
            ds->feat[i * nnz_per + j] = (int32_t)(f0 + j);
            ds->val[i * nnz_per + j] = 0.5f + slide_rng_uniform(&r);
        }
        int32_t l0 = (int32_t)slide_rng_below(&r, (uint32_t)(l - 1));
        ds->lab[i * lab_per] = l0;
        ds->lab[i * lab_per + 1] = l0 + 1;
        ds->row_ptr[i + 1] = (i + 1) * nnz_per;
        ds->lab_ptr[i + 1] = (i + 1) * lab_per;
    }
}

static slide_net_params small_params(int sampled, int64_t d, int64_t l) {
    slide_net_params p = slide_net_params_default();
    p.layer[0].n_out = 6;
    p.layer[0].init_std = 0.5f;
    p.layer[1].init_std = 0.5f;
    p.layer[1].sampled = sampled;
    p.layer[1].hash.family = SLIDE_HASH_SIMHASH;
    p.layer[1].hash.K = 2;
    p.layer[1].hash.L = 4;
    p.layer[1].hash.range_bits = 2;
    p.layer[1].hash.sparsity = 1;
    slide_net_params_shape(&p, d, l);
    p.threads = 1;
    p.seed = 7;
    p.simd = SLIDE_SIMD_SCALAR;
    return p;
}

/* Central differences of the loss w.r.t. every weight and bias, vs the analytic gradient. */
static double grad_check(slide_net *net, const slide_data *ds, int64_t i, const uint32_t *act,
                         int64_t n_act) {
    const slide_net_params *p = slide_net_params_of(net);
    slide_net_grad_point(net, ds, i, act, n_act);
    double worst = 0;
    const double h = 1e-2;
    for (int l = 0; l < p->n_layers; l++) {
        slide_layer *ly = slide_net_layer(net, l);
        int64_t nw = ly->n_rows * ly->ld;
        for (int pass = 0; pass < 2; pass++) {
            float *param = pass ? ly->b : ly->W, *grad = pass ? ly->gb : ly->gW;
            int64_t n = pass ? ly->p.n_out : nw;
            for (int64_t j = 0; j < n; j++) {
                float keep = param[j];
                param[j] = keep + (float)h;
                double lp = slide_net_loss_point(net, ds, i, act, n_act);
                param[j] = keep - (float)h;
                double lm = slide_net_loss_point(net, ds, i, act, n_act);
                param[j] = keep;
                double num = (lp - lm) / (2 * h), ana = grad[j];
                double e = fabs(num - ana) / (fabs(num) + fabs(ana) + 1e-3);
                if (e > worst) worst = e;
                grad[j] = 0;
            }
        }
    }
    return worst;
}

static void test_gradients(void) {
    slide_data ds;
    make_data(&ds, 5, 12, 7, 3);
    slide_err err;
    slide_net_params p = small_params(0, ds.d, ds.l);
    slide_net *net = NULL;
    CHECK(slide_net_create(&net, &p, &err) == 0);
    double e_full = grad_check(net, &ds, 1, NULL, 0);
    fprintf(stderr, "gradient check, full network: worst relative error %.2e\n", e_full);
    CHECKF(e_full < 2e-2, "full network gradient error %g", e_full);
    slide_net_destroy(net);

    /* Sampled output layer with every neuron forced active. */
    p = small_params(1, ds.d, ds.l);
    CHECK(slide_net_create(&net, &p, &err) == 0);
    uint32_t all[7] = {6, 0, 5, 1, 4, 2, 3};
    double e_s = grad_check(net, &ds, 2, all, 7);
    fprintf(stderr, "gradient check, sampled layer with all neurons active: %.2e\n", e_s);
    CHECKF(e_s < 2e-2, "sampled gradient error %g", e_s);
    /* A subset active set (labels inside) also has exact gradients of its own loss. */
    uint32_t sub[4];
    int64_t i = 3, ns = 0;
    for (int64_t q = ds.lab_ptr[i]; q < ds.lab_ptr[i + 1]; q++) sub[ns++] = (uint32_t)ds.lab[q];
    for (uint32_t c = 0; ns < 4; c++) {
        int dup = 0;
        for (int64_t q = 0; q < ns; q++) dup |= sub[q] == c;
        if (!dup) sub[ns++] = c;
    }
    double e_sub = grad_check(net, &ds, i, sub, ns);
    fprintf(stderr, "gradient check, sampled layer with 4 of 7 active: %.2e\n", e_sub);
    CHECKF(e_sub < 2e-2, "sampled subset gradient error %g", e_sub);
    /* The check can fail: a perturbed analytic gradient is caught. */
    slide_net_grad_point(net, &ds, 1, all, 7);
    slide_layer *out = slide_net_layer(net, 1);
    double before = out->gW[3];
    out->gW[3] += 0.5f + (float)fabs(before);
    double h = 1e-2;
    float keep = out->W[3];
    out->W[3] = keep + (float)h;
    double lp = slide_net_loss_point(net, &ds, 1, all, 7);
    out->W[3] = keep - (float)h;
    double lm = slide_net_loss_point(net, &ds, 1, all, 7);
    out->W[3] = keep;
    CHECK(fabs((lp - lm) / (2 * h) - out->gW[3]) > 0.1);
    slide_net_destroy(net);
    slide_data_free(&ds);
}

static void train_n(slide_net *net, const slide_data *ds, int batches, int batch) {
    int64_t ids[64];
    slide_err err;
    for (int b = 0; b < batches; b++) {
        for (int s = 0; s < batch; s++) ids[s] = (b * batch + s) % ds->n;
        SLIDE_ASSERT(slide_net_train_batch(net, ds, ids, batch, NULL, &err) == 0);
    }
}

/* One training step builds each row's gradient from the batch's (row, sample, delta) entries
 * (bucketed, sorted, summed at update time). Adam's first step leaves m = (1 - beta1) * g, so
 * the moments after one batch must equal (1 - beta1) times the mean of the per-point gradients
 * (slide_net_grad_point). 600 labels span three row buckets; 1 and 3 threads. The input-major
 * layer (HOGWILD, racy with threads) is compared with one thread only. */
static void test_batch_gradient_entries(void) {
    slide_data ds;
    const int64_t n = 9;
    make_data(&ds, n, 20, 600, 11);
    slide_err err;
    for (int run = 0; run < 4; run++) {
        const int threads = run % 2 ? 3 : 1;
        slide_net_params p = small_params(0, ds.d, ds.l);
        p.row_sweep = run / 2; /* both training orders */
        p.threads = threads;
        p.batch = (int)n;
        slide_net *ref = NULL, *net = NULL;
        CHECK(slide_net_create(&ref, &p, &err) == 0);
        CHECK(slide_net_create(&net, &p, &err) == 0);
        if (!ref || !net) break;
        for (int64_t i = 0; i < n; i++) slide_net_grad_point(ref, &ds, i, NULL, 0);
        int64_t ids[9];
        for (int64_t i = 0; i < n; i++) ids[i] = i;
        slide_train_stats st;
        memset(&st, 0, sizeof st);
        CHECK(slide_net_train_batch(net, &ds, ids, n, &st, &err) == 0);
        const float b1 = p.beta1;
        double worst = 0, gmax = 0;
        int64_t nonzero = 0;
        for (int l = threads == 1 ? 0 : 1; l < p.n_layers; l++) {
            slide_layer *lr = slide_net_layer(ref, l), *ln = slide_net_layer(net, l);
            int64_t nw = lr->n_rows * lr->ld;
            for (int pass = 0; pass < 2; pass++) {
                const float *g = pass ? lr->gb : lr->gW, *m = pass ? ln->mb : ln->mW;
                int64_t cnt = pass ? lr->p.n_out : nw;
                for (int64_t j = 0; j < cnt; j++) {
                    double want = (1.0 - b1) * (double)g[j] / (double)n;
                    double e = fabs((double)m[j] - want);
                    if (e > worst) worst = e;
                    if (fabs(want) > gmax) gmax = fabs(want);
                    nonzero += m[j] != 0.0f;
                }
            }
        }
        fprintf(stderr, "batch gradient from entries, %s, %d thread(s): max |m - (1-b1) g| %.2e "
                        "(max |(1-b1) g| %.2e, %lld moments set)\n",
                p.row_sweep ? "row sweep" : "per sample", threads, worst, gmax,
                (long long)nonzero);
        CHECK(gmax > 1e-4 && nonzero > 600);
        CHECKF(worst <= 1e-5 * gmax, "moments differ from the mean gradient by %g", worst);
        slide_net_destroy(ref);
        slide_net_destroy(net);
    }
    slide_data_free(&ds);
}

/* --bf16: the output layer's logits from its BF16 copy are within 2^-8 * sum_i |w_i h_i| of
 * the fp32 logits (round to nearest: relative error <= 2^-8 per weight, the unit roundoff of
 * an 8-bit significand; accumulation in fp32);
 * the copy equals bf16(W) after training steps; and the copy is really what forward reads (the
 * logits differ from fp32 ones). */
static void test_bf16_weights(void) {
    slide_data ds;
    make_data(&ds, 30, 25, 40, 21);
    slide_err err;
    slide_net_params p = small_params(0, ds.d, ds.l);
    slide_net_params pb = p;
    pb.bf16 = 1;
    slide_net *nf = NULL, *nb = NULL;
    CHECK(slide_net_create(&nf, &p, &err) == 0);
    CHECK(slide_net_create(&nb, &pb, &err) == 0);
    if (!nf || !nb) return;
    slide_layer *h0 = slide_net_layer(nf, 0), *o = slide_net_layer(nf, 1);
    slide_layer *ob = slide_net_layer(nb, 1);
    CHECK(h0->Wh == NULL && o->Wh == NULL && ob->Wh != NULL);
    const int64_t H = h0->p.n_out, L = ds.l;
    float lf[40], lb[40], h[16];
    double worst = 0, differ = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        slide_net_forward_full(nf, &ds, i, lf);
        slide_net_forward_full(nb, &ds, i, lb);
        /* The hidden layer (input-major, fp32 in both) recomputed here for the bound. */
        for (int64_t k = 0; k < H; k++) h[k] = h0->b[k];
        for (int64_t q = ds.row_ptr[i]; q < ds.row_ptr[i + 1]; q++)
            for (int64_t k = 0; k < H; k++) h[k] += ds.val[q] * h0->W[ds.feat[q] * H + k];
        for (int64_t k = 0; k < H; k++) h[k] = h[k] > 0 ? h[k] : 0;
        for (int64_t j = 0; j < L; j++) {
            double mag = 0;
            for (int64_t k = 0; k < H; k++) mag += fabs((double)o->W[j * H + k] * h[k]);
            double e = fabs((double)lb[j] - lf[j]) / (ldexp(mag, -8) + 1e-6);
            if (e > worst) worst = e;
            differ += lb[j] != lf[j];
        }
    }
    fprintf(stderr, "bf16 logits vs fp32: worst error / (2^-8 sum|w h|) = %.3f, %g of %lld differ\n",
            worst, differ, (long long)(ds.n * L));
    CHECKF(worst <= 1.0, "bf16 logits off by %g of the bound", worst);
    CHECK(differ > 0);
    train_n(nb, &ds, 5, 8);
    const slide_kern *k = slide_kern_get(SLIDE_SIMD_SCALAR);
    uint16_t want[16];
    int64_t bad = 0;
    for (int64_t r = 0; r < ob->n_rows; r++) {
        k->to_bf16(want, ob->W + r * H, H);
        bad += memcmp(want, ob->Wh + r * H, (size_t)H * sizeof want[0]) != 0;
    }
    CHECKF(bad == 0, "%lld rows of the BF16 copy are stale after training", (long long)bad);
    /* The input-major layer cannot be bf16. */
    slide_net_params bad_p = p;
    bad_p.layer[0].bf16 = 1;
    slide_net *nx = NULL;
    CHECK(slide_net_create(&nx, &bad_p, &err) != 0 && nx == NULL);
    slide_net_destroy(nf);
    slide_net_destroy(nb);
    slide_data_free(&ds);
}

static void test_sampled_all_equals_full(void) {
    slide_data ds;
    make_data(&ds, 40, 30, 20, 5);
    slide_err err;
    slide_net_params pf = small_params(0, ds.d, ds.l), ps = small_params(1, ds.d, ds.l);
    ps.layer[1].min_active_frac = 1.0; /* every neuron active: query + random fill */
    ps.layer[1].max_active_frac = 1.0;
    pf.batch = ps.batch = 8;
    slide_net *nf = NULL, *ns = NULL;
    CHECK(slide_net_create(&nf, &pf, &err) == 0);
    CHECK(slide_net_create(&ns, &ps, &err) == 0);
    float of[20], os[20];
    slide_net_forward_full(nf, &ds, 0, of);
    slide_net_forward_full(ns, &ds, 0, os);
    CHECK(memcmp(of, os, sizeof of) == 0);
    train_n(nf, &ds, 10, 8);
    train_n(ns, &ds, 10, 8);
    double worst = 0;
    for (int l = 0; l < 2; l++) {
        slide_layer *a = slide_net_layer(nf, l), *b = slide_net_layer(ns, l);
        for (int64_t j = 0; j < a->n_rows * a->ld; j++) {
            double e = fabs(a->W[j] - b->W[j]) / (fabs(a->W[j]) + 1e-3);
            if (e > worst) worst = e;
        }
    }
    fprintf(stderr, "sampled(all active) vs full after 10 batches: worst rel diff %.2e\n", worst);
    CHECKF(worst < 1e-3, "sampled layer with all neurons active diverges from full: %g", worst);
    slide_eval_result ra, rb;
    CHECK(slide_net_evaluate(nf, &ds, NULL, 0, 0, &ra, &err) == 0);
    CHECK(slide_net_evaluate(ns, &ds, NULL, 0, 0, &rb, &err) == 0);
    CHECK_NEAR(ra.p_at[1], rb.p_at[1], 1e-9);
    CHECK_NEAR(rb.recall_at_5, 1.0, 1e-9);
    slide_net_destroy(nf);
    slide_net_destroy(ns);
    slide_data_free(&ds);
}

static void test_determinism(void) {
    slide_data ds;
    make_data(&ds, 64, 50, 30, 9);
    slide_err err;
    slide_net_params p = small_params(1, ds.d, ds.l);
    p.layer[1].min_active_frac = 0.2;
    p.rehash_every = 2;
    p.rebuild_every = 5;
    slide_net *a = NULL, *b = NULL;
    CHECK(slide_net_create(&a, &p, &err) == 0);
    CHECK(slide_net_create(&b, &p, &err) == 0);
    train_n(a, &ds, 12, 16);
    train_n(b, &ds, 12, 16);
    int same = 1;
    for (int l = 0; l < 2; l++) {
        slide_layer *x = slide_net_layer(a, l), *y = slide_net_layer(b, l);
        same &= !memcmp(x->W, y->W, (size_t)(x->n_rows * x->ld) * sizeof(float));
        same &= !memcmp(x->b, y->b, (size_t)x->p.n_out * sizeof(float));
    }
    CHECK(same);
    /* A different seed gives different weights (the comparison can fail). */
    p.seed = 8;
    slide_net *c = NULL;
    CHECK(slide_net_create(&c, &p, &err) == 0);
    train_n(c, &ds, 12, 16);
    slide_layer *x = slide_net_layer(a, 1), *z = slide_net_layer(c, 1);
    CHECK(memcmp(x->W, z->W, (size_t)(x->n_rows * x->ld) * sizeof(float)) != 0);
    slide_net_destroy(a);
    slide_net_destroy(b);
    slide_net_destroy(c);
    slide_data_free(&ds);
}

/* The recall diagnosis of a sampled output layer (slide_eval_result.rc_*) against what it must
 * add up to: 5 neurons per point in each set, the top-5 set's found share equal to recall_at_5,
 * counts within their bounds, random neurons found about as often as the active fraction says
 * (5 x n_eval draws), and the exact top-5 closer to the query than random neurons. */
static void check_recall_diag(const slide_eval_result *r, int L, int64_t n_out) {
    int64_t n[2] = {0, 0}, f[2] = {0, 0};
    double cmean[2] = {0, 0};
    for (int set = 0; set < 2; set++)
        for (int b = 0; b < SLIDE_RECALL_BINS; b++) {
            CHECK(r->rc_found[set][b] >= 0 && r->rc_found[set][b] <= r->rc_n[set][b]);
            CHECK(r->rc_tables[set][b] >= 0 && r->rc_tables[set][b] <= r->rc_n[set][b] * L);
            n[set] += r->rc_n[set][b];
            f[set] += r->rc_found[set][b];
            cmean[set] += (double)r->rc_n[set][b] * (-1.0 + (b + 0.5) * 2.0 / SLIDE_RECALL_BINS);
        }
    CHECK(n[0] == 5 * r->n_eval && n[1] == 5 * r->n_eval);
    if (!n[0] || !n[1]) return;
    CHECK_NEAR((double)f[0] / (double)n[0], r->recall_at_5, 1e-12);
    const double frac = r->active_avg / (double)n_out, got = (double)f[1] / (double)n[1];
    const double se = sqrt(frac * (1 - frac) / (double)n[1]);
    CHECKF(fabs(got - frac) < 5 * se + 1e-3, "random neurons found %.4f, active fraction %.4f", got,
           frac);
    CHECK(cmean[0] / (double)n[0] > cmean[1] / (double)n[1]);
    fprintf(stderr, "  recall diagnosis: mean cosine top-5 %.3f, random %.3f; found %.3f / %.3f\n",
            cmean[0] / (double)n[0], cmean[1] / (double)n[1], (double)f[0] / (double)n[0], got);
}

/* mode 0: fp32; 1: --adam-bf16; 2: --bf16-only */
static void test_learns_tiny(int mode) {
    slide_synth_params sp = slide_synth_params_default();
    sp.preset = "tiny";
    sp.scale = 1.0;
    sp.label_scale = 1.0;
    sp.seed = 3;
    slide_data tr, te;
    slide_err err;
    if (slide_synth_generate(&sp, &tr, &te, &err)) {
        fprintf(stderr, "synth failed: %s\n", err.msg);
        CHECK(0);
        return;
    }
    slide_data_normalize(&tr);
    slide_data_normalize(&te);
    slide_net_params p = slide_net_params_default();
    p.layer[0].n_out = 64;
    p.layer[1].hash.family = SLIDE_HASH_SIMHASH;
    p.layer[1].hash.K = 4;
    p.layer[1].hash.L = 16;
    p.layer[1].hash.range_bits = 12;
    p.layer[1].min_active_frac = 0.05;
    p.layer[1].max_active_frac = 0.3;
    slide_net_params_shape(&p, tr.d, tr.l);
    p.threads = 2;
    p.batch = 64;
    p.lr = 5e-3f;
    p.simd = slide_simd_best();
    p.rehash_every = 10;
    p.rebuild_every = 50;
    p.adam_bf16 = mode == 1;
    p.bf16_only = mode == 2;
    slide_net *net = NULL;
    CHECK(slide_net_create(&net, &p, &err) == 0);
    slide_eval_result r0, r1;
    CHECK(slide_net_evaluate(net, &te, NULL, 0, 0, &r0, &err) == 0);
    int64_t *ids = malloc((size_t)tr.n * sizeof *ids);
    int64_t iters = 300;
    for (int64_t it = 0; it < iters; it++) {
        for (int s = 0; s < 64; s++) ids[s] = (it * 64 + s) % tr.n;
        CHECK(slide_net_train_batch(net, &tr, ids, 64, NULL, &err) == 0);
    }
    CHECK(slide_net_evaluate(net, &te, NULL, 0, 0, &r1, &err) == 0);
    fprintf(stderr, "tiny preset%s: P@1 %.3f before, %.3f after %lld iterations (recall@5 %.3f, active %.0f)\n",
            mode == 1 ? " (bf16 Adam moments)" : mode == 2 ? " (bf16-only weights and moments)" : "",
            r0.p_at[1], r1.p_at[1], (long long)iters,
            r1.recall_at_5, r1.active_avg);
    /* Stated expectations: a random net scores near chance (< 0.05); training lifts P@1 above
     * 0.5 on this learnable preset. */
    CHECK(r0.p_at[1] < 0.05);
    CHECK(r1.p_at[1] > 0.5);
    CHECK(r1.recall_at_5 > 0.3);
    check_recall_diag(&r0, p.layer[1].hash.L, tr.l);
    check_recall_diag(&r1, p.layer[1].hash.L, tr.l);
    free(ids);
    slide_net_destroy(net);
    slide_data_free(&tr);
    slide_data_free(&te);
}

static void test_metrics(void) {
    double p[6], n[6];
    int32_t lab[] = {2, 5, 9};
    uint32_t pred[] = {5, 1, 9, 3, 2};
    slide_metrics_point(pred, 5, lab, 3, p, n);
    CHECK_NEAR(p[1], 1.0, 1e-12);
    CHECK_NEAR(p[3], 2.0 / 3, 1e-12);
    CHECK_NEAR(p[5], 3.0 / 5, 1e-12);
    double dcg3 = 1 + 1 / log2(4.0), idcg3 = 1 + 1 / log2(3.0) + 1 / log2(4.0);
    CHECK_NEAR(n[3], dcg3 / idcg3, 1e-12);
    double dcg5 = dcg3 + 1 / log2(6.0);
    CHECK_NEAR(n[5], dcg5 / idcg3, 1e-12);
    /* Fewer than k predictions count as misses. */
    uint32_t two[] = {2, 5};
    slide_metrics_point(two, 2, lab, 3, p, n);
    CHECK_NEAR(p[1], 1.0, 1e-12);
    CHECK_NEAR(p[5], 2.0 / 5, 1e-12);
    /* One label: nDCG@5 = DCG / 1. */
    int32_t one[] = {7};
    uint32_t miss[] = {1, 7};
    slide_metrics_point(miss, 2, one, 1, p, n);
    CHECK_NEAR(p[1], 0.0, 1e-12);
    CHECK_NEAR(n[5], 1 / log2(3.0), 1e-12);
    /* Points without labels are skipped and counted by evaluate. */
    slide_data ds;
    make_data(&ds, 6, 12, 7, 4);
    ds.lab_ptr[1] = 0; /* point 0 has no labels */
    for (int64_t i = 1; i <= 6; i++) ds.lab_ptr[i] = 2 * (i - 1);
    memmove(ds.lab, ds.lab + 2, 10 * sizeof(int32_t));
    ds.nlab = 10;
    slide_net_params pp = small_params(0, ds.d, ds.l);
    slide_net *net = NULL;
    slide_err err;
    CHECK(slide_net_create(&net, &pp, &err) == 0);
    slide_eval_result r;
    CHECK(slide_net_evaluate(net, &ds, NULL, 0, 0, &r, &err) == 0);
    CHECK(r.n_eval == 5 && r.n_skipped == 1);
    CHECK(isnan(r.recall_at_5));
    for (int set = 0; set < 2; set++) /* not sampled: no recall diagnosis */
        for (int b = 0; b < SLIDE_RECALL_BINS; b++)
            CHECK(!r.rc_n[set][b] && !r.rc_found[set][b] && !r.rc_tables[set][b]);
    slide_net_destroy(net);
    slide_data_free(&ds);
}

static void test_bad_params(void) {
    slide_net_params p = small_params(1, 10, 10);
    p.lr = -1;
    CHECK(slide_net_params_check(&p) != NULL);
    p = small_params(1, 10, 10);
    p.layer[1].hash.K = 0;
    CHECK(slide_net_params_check(&p) != NULL);
    p = small_params(1, 10, 10);
    p.layer[1].n_in = 5;
    CHECK(slide_net_params_check(&p) != NULL);
    p = small_params(1, 10, 10);
    p.layer[1].min_active_frac = 0.5;
    p.layer[1].max_active_frac = 0.1;
    CHECK(slide_net_params_check(&p) != NULL);
    p = small_params(1, 10, 10);
    CHECK(slide_net_params_check(&p) == NULL);
    slide_net *net = (slide_net *)1;
    slide_err err;
    p.batch = 0;
    CHECK(slide_net_create(&net, &p, &err) == SLIDE_EINVAL && net == NULL);
}

/* MIPS transform: rows on the unit sphere, and P(w,b).Q(x) proportional to the logit w.x + b. */
static void test_mips(void) {
    slide_data ds;
    make_data(&ds, 8, 20, 12, 6);
    slide_err err;
    slide_net_params p = small_params(1, ds.d, ds.l);
    p.layer[1].mips = 1;
    slide_net *net = NULL;
    CHECK(slide_net_create(&net, &p, &err) == 0);
    slide_layer *out = slide_net_layer(net, 1);
    CHECK(out->mips_scale > 0);
    float pv[8], qv[8], x[6] = {0.3f, 0, 1.2f, 0.5f, 0, 0.9f};
    double xn = 1;
    for (int j = 0; j < 6; j++) xn += (double)x[j] * x[j];
    slide_layer_query_vector(out, x, qv);
    double worst = 0;
    for (int64_t r = 0; r < out->p.n_out; r++) {
        slide_layer_row_vector(out, r, pv);
        double n2 = 0, dot = 0, logit = out->b[r];
        for (int j = 0; j < 8; j++) {
            n2 += (double)pv[j] * pv[j];
            dot += (double)pv[j] * qv[j];
        }
        for (int j = 0; j < 6; j++) logit += (double)out->W[r * out->ld + j] * x[j];
        CHECK_NEAR(n2, 1.0, 1e-5);
        double e = fabs(dot * out->mips_scale * sqrt(xn) - logit);
        if (e > worst) worst = e;
    }
    CHECKF(worst < 1e-4, "MIPS transform: |P.Q * M * |q| - logit| = %g", worst);
    slide_net_destroy(net);
    slide_data_free(&ds);
}

/* --shared-fill: one training batch whose active sets are labels + (few) LSH candidates +
 * random fill. With the shared list every sample's fill comes from the same n_fill ids, so the
 * output rows the batch updates are at most labels + LSH candidates + n_fill; with a draw per
 * sample they cover nearly every row. The result does not depend on the thread count. */
static int64_t touched_rows(const slide_layer *ly) {
    int64_t t = 0;
    for (int64_t r = 0; r < ly->n_rows; r++) {
        int any = ly->mb[r] != 0.0f;
        for (int64_t j = 0; j < ly->ld && !any; j++) any = ly->mW[r * ly->ld + j] != 0.0f;
        t += any;
    }
    return t;
}

static void test_shared_fill(void) {
    slide_data ds;
    const int64_t n = 16;
    make_data(&ds, n, 20, 600, 23);
    slide_err err;
    int64_t ids[16];
    for (int64_t i = 0; i < n; i++) ids[i] = i;
    int64_t touched[2] = {0, 0}, bound = 0;
    float *w1 = NULL;
    for (int v = 0; v < 3; v++) { /* 0: per-sample fill; 1: shared, 1 thread; 2: shared, 3 */
        slide_net_params p = small_params(1, ds.d, ds.l);
        p.layer[1].hash.K = 16; /* 16-bit SimHash keys, one table: few LSH candidates */
        p.layer[1].hash.L = 1;
        p.layer[1].hash.range_bits = 16;
        p.layer[1].min_active_frac = 0.2;
        p.layer[1].max_active_frac = 0.5;
        p.layer[1].shared_fill = v > 0;
        p.threads = v == 2 ? 3 : 1;
        p.batch = (int)n;
        slide_net *net = NULL;
        CHECK(slide_net_create(&net, &p, &err) == 0);
        if (!net) break;
        slide_train_stats st;
        memset(&st, 0, sizeof st);
        CHECK(slide_net_train_batch(net, &ds, ids, n, &st, &err) == 0);
        slide_layer *out = slide_net_layer(net, 1);
        int64_t t = touched_rows(out);
        if (v < 2) touched[v] = t;
        if (v == 1) {
            /* distinct labels of the batch + every LSH candidate drawn + the shared list */
            bound = st.label_sum + st.lsh_sum + out->n_fill;
            fprintf(stderr, "shared fill: %lld output rows updated (bound %lld: %lld labels, "
                            "%lld LSH, list of %lld); per-sample fill: %lld\n",
                    (long long)t, (long long)bound, (long long)st.label_sum,
                    (long long)st.lsh_sum, (long long)out->n_fill, (long long)touched[0]);
            CHECK(out->n_fill == 2 * out->min_active + 64);
            w1 = malloc((size_t)(out->n_rows * out->ld) * sizeof *w1);
            if (w1) memcpy(w1, out->W, (size_t)(out->n_rows * out->ld) * sizeof *w1);
        }
        if (v == 2 && w1)
            CHECKF(memcmp(w1, out->W, (size_t)(out->n_rows * out->ld) * sizeof *w1) == 0,
                   "shared fill: output weights after one batch differ between 1 and 3 threads");
        slide_net_destroy(net);
    }
    CHECKF(touched[1] <= bound, "shared fill updated %lld rows, more than %lld",
           (long long)touched[1], (long long)bound);
    CHECKF(touched[0] > touched[1] + 100, "per-sample fill %lld rows vs shared %lld",
           (long long)touched[0], (long long)touched[1]);
    free(w1);
    slide_data_free(&ds);
}

/* The BF16 storage tests' setup: n points of make_data (seed 31), ids 0..n-1, and the small
 * full-output network trained on all of them in one batch. */
static slide_net_params one_batch_setup(slide_data *ds, int64_t *ids, int64_t n) {
    make_data(ds, n, 20, 300, 31);
    for (int64_t i = 0; i < n; i++) ids[i] = i;
    slide_net_params p = small_params(0, ds->d, ds->l);
    p.batch = (int)n;
    return p;
}

/* Saves `from` to a checkpoint `name` in the test directory (its path into path) and loads it
 * into `to`. */
static void ckpt_round_trip(slide_net *from, slide_net *to, const char *name, char *path,
                            size_t n) {
    slide_err err;
    char user[8];
    size_t ulen = 0;
    snprintf(path, n, "%s/%s", test_tmpdir(), name);
    CHECK(slide_checkpoint_save(from, path, "x", 1, &err) == 0);
    CHECKF(slide_checkpoint_load(to, path, user, sizeof user, &ulen, &err) == 0, "%s", err.msg);
    CHECK(ulen == 1 && user[0] == 'x');
}

/* Loading checkpoint `path` into `net` fails with a message naming `why`; then removes it. */
static void ckpt_refused(slide_net *net, const char *path, const char *why) {
    slide_err err;
    slide_err_clear(&err);
    char user[8];
    size_t ulen = 0;
    CHECK(slide_checkpoint_load(net, path, user, sizeof user, &ulen, &err) != 0);
    CHECKF(strstr(err.msg, why) != NULL, "%s", err.msg);
    remove(path);
}

/* --adam-bf16: after one batch the output weights equal fp32 Adam's bit for bit (the update
 * uses the fp32 moments; they start at exact zeros) and each stored moment is one of the two
 * bf16 neighbours of fp32 Adam's; a checkpoint keeps the bf16 moments exactly, and loading it
 * into an fp32-moment network is refused. */
static void test_adam_bf16_net(void) {
    slide_data ds;
    const int64_t n = 9;
    int64_t ids[9];
    slide_net_params p = one_batch_setup(&ds, ids, n);
    slide_err err;
    slide_net *f = NULL, *h = NULL, *g = NULL;
    CHECK(slide_net_create(&f, &p, &err) == 0);
    p.adam_bf16 = 1;
    CHECK(slide_net_create(&h, &p, &err) == 0);
    CHECK(slide_net_create(&g, &p, &err) == 0);
    if (!f || !h || !g) return;
    CHECK(slide_net_train_batch(f, &ds, ids, n, NULL, &err) == 0);
    CHECK(slide_net_train_batch(h, &ds, ids, n, NULL, &err) == 0);
    slide_layer *lf = slide_net_layer(f, 1), *lh = slide_net_layer(h, 1);
    CHECK(lh->mW == NULL && lh->mWh != NULL && lf->mWh == NULL);
    CHECK(slide_net_layer(h, 0)->mW != NULL); /* the input-major layer keeps fp32 moments */
    const int64_t nw = lf->n_rows * lf->ld;
    CHECK(memcmp(lf->W, lh->W, (size_t)nw * sizeof(float)) == 0);
    int64_t off = 0, set = 0;
    for (int64_t j = 0; j < nw; j++) {
        off += !bf16_is_neighbour(lf->mW[j], lh->mWh[j]) + !bf16_is_neighbour(lf->vW[j], lh->vWh[j]);
        set += (lf->mW[j] != 0.0f) + (lf->vW[j] != 0.0f);
    }
    fprintf(stderr, "bf16 Adam moments after one batch: %lld of %lld nonzero moments off their "
                    "bf16 neighbours; weights identical to fp32 Adam's\n",
            (long long)off, (long long)set);
    CHECK(off == 0 && set > 300);
    /* a second batch: now the weights follow the rounded moments (and still train) */
    CHECK(slide_net_train_batch(h, &ds, ids, n, NULL, &err) == 0);
    char path[320];
    ckpt_round_trip(h, g, "adam-bf16.ckpt", path, sizeof path);
    slide_layer *lg = slide_net_layer(g, 1);
    CHECK(memcmp(lg->mWh, lh->mWh, (size_t)nw * 2) == 0 && memcmp(lg->vWh, lh->vWh, (size_t)nw * 2) == 0);
    CHECK(memcmp(lg->W, lh->W, (size_t)nw * sizeof(float)) == 0);
    ckpt_refused(f, path, "Adam moments");
    slide_net_destroy(f);
    slide_net_destroy(h);
    slide_net_destroy(g);
    slide_data_free(&ds);
}

/* hash.rotate = 1 in a network: it trains and evaluates (the recall diagnosis hashes rotated
 * vectors too: its key matches agree with the tables' keys), a checkpoint resumes into the same
 * configuration, and one without rotation is refused naming the hash family. */
static void test_rotate_net(void) {
    slide_data ds;
    const int64_t n = 9;
    int64_t ids[9];
    slide_net_params p = one_batch_setup(&ds, ids, n);
    p.layer[1].sampled = 1;
    p.layer[1].hash.family = SLIDE_HASH_DWTA;
    p.layer[1].hash.bin_size = 2;
    p.layer[1].hash.rotate = 1;
    slide_net_params q = p;
    q.layer[1].hash.rotate = 0;
    slide_net *a = NULL, *b = NULL, *c = NULL;
    slide_err err;
    CHECK(slide_net_create(&a, &p, &err) == 0);
    CHECK(slide_net_create(&b, &p, &err) == 0);
    CHECK(slide_net_create(&c, &q, &err) == 0);
    if (!a || !b || !c) return;
    CHECK(slide_net_train_batch(a, &ds, ids, n, NULL, &err) == 0);
    slide_eval_result r;
    CHECK(slide_net_evaluate(a, &ds, NULL, 0, 0, &r, &err) == 0);
    CHECK(r.recall_at_5 >= 0 && r.recall_at_5 <= 1);
    int64_t tm = 0;
    for (int bin = 0; bin < SLIDE_RECALL_BINS; bin++) tm += r.rc_tables[0][bin];
    CHECK(tm > 0); /* 4 tables of 2-bit keys: the top-5 of 20 labels share some keys */
    char path[4200];
    ckpt_round_trip(a, b, "rotate.ckpt", path, sizeof path);
    CHECK(slide_net_train_batch(a, &ds, ids, n, NULL, &err) == 0);
    CHECK(slide_net_train_batch(b, &ds, ids, n, NULL, &err) == 0);
    const slide_layer *la = slide_net_layer(a, 1), *lb = slide_net_layer(b, 1);
    CHECK(memcmp(la->W, lb->W, (size_t)(la->n_rows * la->ld) * sizeof(float)) == 0);
    ckpt_refused(c, path, "hash family");
    slide_net_destroy(a);
    slide_net_destroy(b);
    slide_net_destroy(c);
    slide_data_free(&ds);
}

/* The memory estimate by part at the Amazon-670K shape (135,909 -> 128 -> 670,091): the parts add
 * up to the total; the weights part is 4 bytes per weight and bias (plus 2 per BF16 copy), the
 * optimizer part 8 per weight for the moments (4 as BF16) plus the input layer's gradient slab
 * and 12 per bias; the tables grow with L and nothing else does. */
static void test_mem_estimate(void) {
    slide_net_params p = slide_net_params_default();
    p.layer[1].hash.family = SLIDE_HASH_DWTA;
    p.layer[1].hash.K = 8;
    p.layer[1].hash.L = 50;
    p.layer[1].hash.range_bits = 18;
    p.layer[1].min_active_frac = p.layer[1].max_active_frac = 0.0045;
    slide_net_params_shape(&p, 135909, 670091);
    p.batch = 256;
    p.threads = 2;
    const double w0 = 135909.0 * 128, w1 = 128.0 * 670091, b = 128.0 + 670091;
    slide_mem_parts m;
    double tot = slide_net_estimate_bytes(&p, &m);
    CHECK_NEAR(m.weights + m.optimizer + m.tables + m.workspace + m.scratch, tot, 1e-6 * tot);
    /* plus each array's rounding to 16 floats */
    CHECK(m.weights >= 4 * (w0 + w1 + b) && m.weights < 4 * (w0 + w1 + b) + 1024);
    CHECK_NEAR(m.optimizer, 8 * (w0 + w1) + 4 * w0 + 12 * b, 0.5);
    /* the "weights + Adam state about 1.24 GB" (input layer's gradient slab included) */
    fprintf(stderr, "memory estimate, Amazon-670K shape: %.0f MB (weights %.0f, optimizer %.0f, "
                    "tables %.0f, workspace %.0f, scratch %.0f)\n", tot / 1048576,
            m.weights / 1048576, m.optimizer / 1048576, m.tables / 1048576,
            m.workspace / 1048576, m.scratch / 1048576);
    CHECK(m.tables > 0 && m.workspace > 0 && m.scratch > 0);
    slide_net_params q = p;
    q.adam_bf16 = 1; /* the output layer's moments in BF16; the input layer keeps fp32 */
    slide_mem_parts mq;
    slide_net_estimate_bytes(&q, &mq);
    CHECK_NEAR(mq.optimizer, m.optimizer - 4 * w1, 0.5);
    CHECK_NEAR(mq.weights, m.weights, 0.5);
    q = p;
    q.bf16_only = 1;
    slide_net_estimate_bytes(&q, &mq);
    CHECK(mq.weights >= 4 * (w0 + b) + 2 * w1 && mq.weights < 4 * (w0 + b) + 2 * w1 + 1024);
    CHECK_NEAR(mq.optimizer, m.optimizer - 4 * w1, 0.5);
    q = p;
    q.layer[1].hash.L = 100;
    slide_net_estimate_bytes(&q, &mq);
    CHECK(mq.tables > 1.9 * m.tables && mq.weights == m.weights && mq.optimizer == m.optimizer);
    q = p;
    q.layer[1].sampled = 0;
    slide_net_estimate_bytes(&q, &mq);
    CHECK(mq.tables == 0);
}

/* --bf16-only: the output layer has no fp32 W; its initial Wh is the nearest-even rounding of
 * the fp32 draw (the same bits as --bf16 --adam-bf16's copy), so one batch gives the same
 * gradients and bit-identical moments and biases, and each weight lands on a bf16 neighbour of
 * where that network's fp32 master moved (its start plus the same step). A checkpoint keeps
 * every bf16 array and resumes bit for bit; one from a network with fp32 weights is refused. */
static void test_bf16_only_net(void) {
    slide_data ds;
    const int64_t n = 9;
    int64_t ids[9];
    slide_net_params p = one_batch_setup(&ds, ids, n);
    slide_err err;
    p.bf16 = 1;
    p.adam_bf16 = 1;
    slide_net_params q = p;
    q.bf16 = q.adam_bf16 = 0; /* implied by bf16_only */
    q.bf16_only = 1;
    slide_net_params a = p;
    a.bf16 = 0;
    CHECK(slide_net_estimate_bytes(&q, NULL) < slide_net_estimate_bytes(&a, NULL));
    slide_layer_params bad = slide_layer_params_default();
    bad.bf16_only = 1;
    CHECK(slide_layer_params_check(&bad) != NULL);
    slide_net *h = NULL, *o = NULL, *o2 = NULL;
    CHECK(slide_net_create(&h, &p, &err) == 0);
    CHECK(slide_net_create(&o, &q, &err) == 0);
    CHECK(slide_net_create(&o2, &q, &err) == 0);
    if (!h || !o || !o2) return;
    slide_layer *lh = slide_net_layer(h, 1), *lo = slide_net_layer(o, 1);
    CHECK(lo->W == NULL && lo->Wh != NULL && lo->mW == NULL && lo->mWh != NULL);
    CHECK(slide_net_layer(o, 0)->W != NULL && slide_net_layer(o, 0)->Wh == NULL);
    const int64_t nw = lo->n_rows * lo->ld;
    CHECK(memcmp(lo->Wh, lh->Wh, (size_t)nw * 2) == 0);
    uint16_t *wh0 = malloc((size_t)nw * 2);
    float *w0 = malloc((size_t)nw * sizeof *w0);
    if (!wh0 || !w0) return;
    memcpy(wh0, lo->Wh, (size_t)nw * 2);
    memcpy(w0, lh->W, (size_t)nw * sizeof *w0);
    CHECK(slide_net_train_batch(h, &ds, ids, n, NULL, &err) == 0);
    CHECK(slide_net_train_batch(o, &ds, ids, n, NULL, &err) == 0);
    CHECK(memcmp(lo->mWh, lh->mWh, (size_t)nw * 2) == 0 && memcmp(lo->vWh, lh->vWh, (size_t)nw * 2) == 0);
    CHECK(memcmp(lo->b, lh->b, (size_t)lo->p.n_out * sizeof(float)) == 0);
    slide_layer *h0 = slide_net_layer(h, 0), *o0 = slide_net_layer(o, 0);
    CHECK(memcmp(h0->W, o0->W, (size_t)(h0->n_rows * h0->ld) * sizeof(float)) == 0);
    int64_t off = 0, moved = 0;
    for (int64_t j = 0; j < nw; j++) {
        const double want = (double)f_of_bf16(wh0[j]) + ((double)lh->W[j] - (double)w0[j]);
        int e;
        frexp(want, &e);
        const double spacing = ldexp(1.0, e - 8); /* bf16 keeps 8 significant bits */
        off += fabs((double)f_of_bf16(lo->Wh[j]) - want) > spacing * 1.001;
        moved += lo->Wh[j] != wh0[j];
    }
    fprintf(stderr, "bf16-only after one batch: moments and biases identical to --bf16 "
                    "--adam-bf16's; %lld of %lld weights moved, %lld off a bf16 neighbour of "
                    "the fp32 step\n", (long long)moved, (long long)nw, (long long)off);
    CHECK(off == 0 && moved > 100);
    CHECK(slide_net_train_batch(o, &ds, ids, n, NULL, &err) == 0);
    char path[320];
    ckpt_round_trip(o, o2, "bf16-only.ckpt", path, sizeof path);
    slide_layer *lo2 = slide_net_layer(o2, 1);
    CHECK(memcmp(lo2->Wh, lo->Wh, (size_t)nw * 2) == 0 && memcmp(lo2->mWh, lo->mWh, (size_t)nw * 2) == 0 &&
          memcmp(lo2->vWh, lo->vWh, (size_t)nw * 2) == 0);
    CHECK(slide_net_train_batch(o, &ds, ids, n, NULL, &err) == 0);
    CHECK(slide_net_train_batch(o2, &ds, ids, n, NULL, &err) == 0);
    CHECK(memcmp(lo2->Wh, lo->Wh, (size_t)nw * 2) == 0);
    ckpt_refused(h, path, "no fp32 weights");
    free(wh0);
    free(w0);
    slide_net_destroy(h);
    slide_net_destroy(o);
    slide_net_destroy(o2);
    slide_data_free(&ds);
}

/* Parameter k of a layer (0 W, 1 b, 2 W's first moment, 3 its second, 4 mb, 5 vb), element j,
 * whichever precision the layer stores it in. */
static double param_value(const slide_layer *ly, int k, int64_t j) {
    switch (k) {
    case 0: return ly->W ? ly->W[j] : f_of_bf16(ly->Wh[j]);
    case 1: return ly->b[j];
    case 2: return ly->mW ? ly->mW[j] : f_of_bf16(ly->mWh[j]);
    case 3: return ly->vW ? ly->vW[j] : f_of_bf16(ly->vWh[j]);
    case 4: return ly->mb[j];
    default: return ly->vb[j];
    }
}

/* Row sweep (the default) against the per-sample path, on a sampled output layer with LSH
 * candidates and random fill over 3 row buckets. Both select the same active sets (same stats).
 * With the scalar kernels and one thread every logit, delta and output-layer gradient is the
 * same computation, so after one batch the output layer (weights, bias, moments) is identical
 * bit for bit; only dx's summation order differs (rows by sample vs by row), so the hidden layer
 * is within rounding, and over 4 batches all parameters stay within 1e-4 of each other (lr 1e-3
 * moves a weight up to 1e-3 a step). With 3 threads and the best SIMD path, one batch: the
 * output layer within rounding (the hidden layer's HOGWILD accumulation may lose updates with
 * threads, in either order, so it is not compared, nor are later batches). */
static void test_row_sweep(void) {
    slide_data ds;
    make_data(&ds, 64, 30, 700, 41);
    slide_err err;
    for (int cfg = 0; cfg < 4; cfg++) {
        slide_net_params p = small_params(1, ds.d, ds.l);
        p.layer[0].n_out = 16;
        slide_net_params_shape(&p, ds.d, ds.l);
        p.layer[1].min_active_frac = 0.05;
        p.layer[1].max_active_frac = 0.3;
        p.layer[1].hash.range_bits = 4;
        p.batch = 16;
        p.threads = cfg == 2 ? 3 : 1;
        if (cfg == 2) p.simd = slide_simd_best();
        p.bf16 = cfg == 1;
        p.bf16_only = cfg == 3;
        p.row_sweep = 1;
        slide_net_params q = p;
        q.row_sweep = 0;
        slide_net *a = NULL, *b = NULL;
        CHECK(slide_net_create(&a, &p, &err) == 0);
        CHECK(slide_net_create(&b, &q, &err) == 0);
        if (!a || !b) break;
        CHECK(slide_net_row_sweep(a) == 1 && slide_net_row_sweep(b) == 0);
        const int batches = cfg == 2 ? 1 : 4;
        double worst_out1 = 0, worst_hid1 = 0, worst = 0, wmax = 0, lossd = 0;
        int64_t ids[16];
        for (int t = 0; t < batches; t++) {
            for (int s = 0; s < 16; s++) ids[s] = (t * 16 + s) % ds.n;
            slide_train_stats sa, sb;
            memset(&sa, 0, sizeof sa);
            memset(&sb, 0, sizeof sb);
            CHECK(slide_net_train_batch(a, &ds, ids, 16, &sa, &err) == 0);
            CHECK(slide_net_train_batch(b, &ds, ids, 16, &sb, &err) == 0);
            CHECKF(sa.active_sum == sb.active_sum && sa.label_sum == sb.label_sum &&
                       sa.lsh_sum == sb.lsh_sum,
                   "batch %d: active sets differ (%lld/%lld/%lld vs %lld/%lld/%lld)", t,
                   (long long)sa.active_sum, (long long)sa.label_sum, (long long)sa.lsh_sum,
                   (long long)sb.active_sum, (long long)sb.label_sum, (long long)sb.lsh_sum);
            double ld = fabs(sa.loss_sum - sb.loss_sum) / (fabs(sb.loss_sum) + 1e-30);
            if (ld > lossd) lossd = ld;
            for (int l = 0; l < 2; l++) {
                slide_layer *la = slide_net_layer(a, l), *lb = slide_net_layer(b, l);
                const int64_t nw = la->n_rows * la->ld;
                const int64_t cnt[] = {nw, la->p.n_out, nw, nw, la->p.n_out, la->p.n_out};
                for (int k = 0; k < 6; k++)
                    for (int64_t j = 0; j < cnt[k]; j++) {
                        const double va = param_value(la, k, j), vb = param_value(lb, k, j);
                        double e = fabs(va - vb);
                        if (k < 2 && fabs(vb) > wmax) wmax = fabs(vb);
                        if (k < 2 && e > worst) worst = e;
                        if (t == 0 && l == 1 && e > worst_out1) worst_out1 = e;
                        if (t == 0 && l == 0 && k < 2 && e > worst_hid1) worst_hid1 = e;
                    }
            }
        }
        fprintf(stderr, "row sweep vs per-sample (%s, %d thread(s)%s): after 1 batch output "
                        "layer %.2e, hidden %.2e; after %d, max |w| diff %.2e (|w| <= %.2f), "
                        "loss %.1e rel\n",
                slide_simd_name(p.simd), p.threads,
                p.bf16_only ? ", bf16-only" : p.bf16 ? ", bf16" : "", worst_out1,
                worst_hid1, batches, worst, wmax, lossd);
        if (cfg != 2) {
            CHECKF(worst_out1 == 0, "output layer differs after one batch: %g", worst_out1);
            CHECK(worst_hid1 <= 1e-6);
            CHECK(worst <= 1e-4);
        } else {
            CHECK(worst_out1 <= 1e-6);
        }
        CHECK(lossd <= 1e-5);
        if (p.bf16_only) { /* the rehash of a few dirty neurons hashes their widened BF16 rows */
            slide_layer *lo = slide_net_layer(a, 1);
            const int64_t L = lo->p.hash.L, ld = lo->ld;
            memset(lo->dirty, 0, (size_t)lo->p.n_out);
            lo->dirty[3] = lo->dirty[17] = 1;
            for (int64_t j = 0; j < ld; j++) lo->Wh[17 * ld + j] ^= 0x8000; /* -w: new keys */
            CHECK(slide_layer_rehash_dirty(lo) == 2);
            float row[64];
            uint32_t keys[64];
            int same = ld <= 64 && L <= 64;
            for (int r = 3; same && r <= 17; r += 14) {
                slide_bf16_widen(row, lo->Wh + r * ld, ld);
                slide_hash_keys_dense(lo->hash, row, 0, keys);
                same = memcmp(keys, lo->keys + r * L, (size_t)L * sizeof keys[0]) == 0;
            }
            CHECK(same);
        }
        slide_net_destroy(a);
        slide_net_destroy(b);
    }
    slide_data_free(&ds);
}

/* The training order's auto choice: sample by sample while the output layer's fp32 weights stay
 * within SLIDE_ROW_SWEEP_AUTO_BYTES, row sweep beyond; an explicit choice always wins. */
static void test_row_sweep_auto(void) {
    slide_err err;
    const int64_t big = (int64_t)(SLIDE_ROW_SWEEP_AUTO_BYTES / (4 * 8)) + 1; /* 8 inputs */
    for (int k = 0; k < 4; k++) {
        slide_net_params p = small_params(0, 20, k < 2 ? 40 : big);
        p.layer[0].n_out = 8;
        slide_net_params_shape(&p, 20, k < 2 ? 40 : big);
        p.row_sweep = k % 2 ? (k < 2 ? 1 : 0) : -1;
        slide_net *net = NULL;
        CHECK(slide_net_create(&net, &p, &err) == 0);
        if (!net) continue;
        const int want = k == 1 || k == 2;
        CHECKF(slide_net_row_sweep(net) == want, "%lld outputs, row_sweep %d: got %d, want %d",
               (long long)p.layer[1].n_out, p.row_sweep, slide_net_row_sweep(net), want);
        slide_net_destroy(net);
    }
    fprintf(stderr, "train order auto: sample by sample at 40 outputs, row sweep at %lld\n",
            (long long)big);
}

int main(void) {
    test_shared_fill();
    test_mips();
    test_metrics();
    test_bad_params();
    test_gradients();
    test_batch_gradient_entries();
    test_row_sweep();
    test_row_sweep_auto();
    test_bf16_weights();
    test_sampled_all_equals_full();
    test_determinism();
    test_learns_tiny(0);
    test_learns_tiny(1);
    test_learns_tiny(2);
    test_adam_bf16_net();
    test_bf16_only_net();
    test_mem_estimate();
    test_rotate_net();
    TEST_MAIN_END();
}
