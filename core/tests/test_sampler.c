/* The output layer's samplers (slide_layer_draw_negatives, --sampler, --budget): each draw's
 * distribution by a chi-square test over 100,000 draws at a fixed seed (uniform, and unigram
 * against count^0.75), draws without replacement that never give a label, an exact budget that
 * gives every sampler the same active-set size in training and evaluation, and bad parameters. */
#include "test_util.h"

#include "slide/network.h"

/* Upper tail of the chi-square distribution, Q(df/2, x/2) (regularised incomplete gamma, by
 * its series below a + 1 and its continued fraction above). */
static double chi2_sf(double x, double df) {
    const double a = df / 2, z = x / 2;
    if (z <= 0) return 1;
    const double lg = lgamma(a);
    if (z < a + 1) {
        double sum = 1 / a, term = sum;
        for (int k = 1; k < 10000 && term > sum * 1e-15; k++) {
            term *= z / (a + k);
            sum += term;
        }
        return 1 - sum * exp(-z + a * log(z) - lg);
    }
    double b = z + 1 - a, c = 1e300, d = 1 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        const double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        d = fabs(d) < 1e-300 ? 1e-300 : d;
        c = b + an / c;
        c = fabs(c) < 1e-300 ? 1e-300 : c;
        d = 1 / d;
        const double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return exp(-z + a * log(z) - lg) * h;
}

static slide_layer_params out_params(int64_t n, int sampler) {
    slide_layer_params p = slide_layer_params_default();
    p.n_in = 16;
    p.n_out = n;
    p.act = SLIDE_ACT_SOFTMAX;
    p.sampled = 1;
    p.sampler = sampler;
    p.hash.K = 4;
    p.hash.L = 4;
    p.hash.range_bits = 4;
    p.min_active_frac = 0.1;
    p.max_active_frac = 0.5;
    return p;
}

/* One negative per call beside the marked labels, 100,000 times: counts against expected
 * (weights w, NULL = uniform; labels excluded, renormalised); p of the chi-square test. */
static double draw_test(const slide_layer *ly, const double *w, const char *name, int must_pass) {
    const int64_t n = ly->p.n_out, T = 100000;
    const uint32_t labels[3] = {3, 7, 11};
    uint64_t mark[4] = {0};
    SLIDE_ASSERT(n <= 256);
    int64_t cnt[256] = {0};
    slide_rng r;
    slide_rng_seed(&r, 42, 1);
    uint32_t ids[256];
    int bad = 0;
    for (int64_t t = 0; t < T; t++) {
        for (int k = 0; k < 3; k++) {
            ids[k] = labels[k];
            mark[labels[k] >> 6] |= (uint64_t)1 << (labels[k] & 63);
        }
        const int64_t m = slide_layer_draw_negatives(ly, ids, 3, 4, mark, &r);
        bad += m != 4;
        cnt[ids[3]]++;
        for (int64_t j = 0; j < m; j++) mark[ids[j] >> 6] = 0;
    }
    CHECKF(bad == 0, "%s: %d draws short", name, bad);
    double tot = 0, chi2 = 0;
    int df = -1;
    for (int64_t i = 0; i < n; i++) {
        const int lab = i == 3 || i == 7 || i == 11;
        if (!lab) tot += w ? w[i] : 1.0;
    }
    int64_t label_hits = cnt[3] + cnt[7] + cnt[11], zero_hits = 0;
    for (int64_t i = 0; i < n; i++) {
        const int lab = i == 3 || i == 7 || i == 11;
        const double e = lab ? 0 : T * (w ? w[i] : 1.0) / tot;
        if (e == 0) {
            zero_hits += lab ? 0 : cnt[i];
            continue;
        }
        chi2 += (cnt[i] - e) * (cnt[i] - e) / e;
        df++;
    }
    const double p = chi2_sf(chi2, df);
    printf("%s: chi2 %.1f, df %d, p %.3f over %lld draws\n", name, chi2, df, p, (long long)T);
    if (must_pass) CHECKF(p > 0.001, "%s: chi2 %.1f df %d p %.2g", name, chi2, df, p);
    CHECK(label_hits == 0 && zero_hits == 0);
    return p;
}

static void test_distributions(void) {
    slide_layer ly;
    slide_err err;
    slide_layer_params p = out_params(200, SLIDE_SAMPLER_UNIFORM);
    CHECK(slide_layer_init(&ly, &p, 1, 1, SLIDE_HP_NONE, NULL, NULL, &err) == SLIDE_OK);
    draw_test(&ly, NULL, "uniform", 1);
    slide_layer_free(&ly);
    p = out_params(200, SLIDE_SAMPLER_UNIGRAM);
    CHECK(slide_layer_init(&ly, &p, 1, 1, SLIDE_HP_NONE, NULL, NULL, &err) == SLIDE_OK);
    draw_test(&ly, NULL, "unigram before counts (uniform)", 1);
    int64_t counts[200];
    double w[200];
    for (int i = 0; i < 200; i++) { /* a long tail, a heavy head, and labels never seen */
        counts[i] = i % 50 == 0 ? 0 : 1 + (i % 17) + (i < 20 ? 400 : 0);
        w[i] = counts[i] ? pow((double)counts[i], 0.75) : 0.0;
    }
    CHECK(slide_layer_set_counts(&ly, counts, &err) == SLIDE_OK);
    draw_test(&ly, w, "unigram (count^0.75)", 1);
    /* a mutation of the power must fail the test: counts^1 against expected ^0.75 */
    double w1[200];
    for (int i = 0; i < 200; i++) w1[i] = (double)counts[i];
    CHECKF(draw_test(&ly, w1, "unigram against count^1 (must be rejected)", 0) < 0.001,
           "the test cannot tell count^0.75 from count^1");
    counts[5] = -1;
    CHECK(slide_layer_set_counts(&ly, counts, &err) == SLIDE_EINVAL);
    slide_layer_free(&ly);
}

/* Many negatives per call: exact size, distinct, no labels; a unigram that reaches fewer
 * neurons than asked stops at what it reaches. */
static void test_without_replacement(void) {
    slide_err err;
    for (int s = SLIDE_SAMPLER_LSH; s <= SLIDE_SAMPLER_UNIGRAM; s++) {
        slide_layer ly;
        slide_layer_params p = out_params(200, s);
        CHECK(slide_layer_init(&ly, &p, 1, 1, SLIDE_HP_NONE, NULL, NULL, &err) == SLIDE_OK);
        int64_t counts[200];
        for (int i = 0; i < 200; i++) counts[i] = i < 100 ? 1000 : i < 190 ? 1 : 0;
        slide_layer_set_counts(&ly, counts, &err);
        slide_rng r;
        slide_rng_seed(&r, 9, 0);
        int bad = 0;
        for (int it = 0; it < 50; it++) {
            uint32_t ids[200] = {190, 5};
            uint64_t mark[4] = {0};
            mark[0] |= (uint64_t)1 << 5;
            mark[190 >> 6] |= (uint64_t)1 << (190 & 63);
            const int64_t target = it % 2 ? 150 : 200;
            const int64_t m = slide_layer_draw_negatives(&ly, ids, 2, target, mark, &r);
            /* unigram: 189 neurons with a count besides label 5, plus the two labels */
            const int64_t want = s == SLIDE_SAMPLER_UNIGRAM && target == 200 ? 191 : target;
            int seen[200] = {0}, dup = 0, marks = 0;
            for (int64_t j = 0; j < m; j++) dup += seen[ids[j]]++ > 0;
            for (int i = 0; i < 200; i++) marks += (int)((mark[i >> 6] >> (i & 63)) & 1u);
            bad += m != want || dup || ids[0] != 190 || ids[1] != 5 || marks != m;
            for (int64_t j = 2; j < m; j++) bad += ids[j] == 5 || ids[j] == 190;
        }
        CHECKF(bad == 0, "sampler %s: %d bad draws", slide_sampler_name(s), bad);
        slide_layer_free(&ly);
    }
}

/* Random points: 8 features, 1..4 labels. */
static void make_data(slide_data *ds, int64_t n, int64_t d, int64_t l, uint64_t seed) {
    slide_err err;
    SLIDE_ASSERT(slide_data_alloc(ds, n, d, l, n * 8, n * 4, &err) == 0);
    slide_rng r;
    slide_rng_seed(&r, seed, 0);
    int64_t e = 0, q = 0;
    for (int64_t i = 0; i < n; i++) {
        ds->row_ptr[i] = e;
        ds->lab_ptr[i] = q;
        const int32_t c = (int32_t)slide_rng_below(&r, (uint32_t)(l / 8)) * 8;
        for (int k = 0; k < 8; k++, e++) {
            ds->feat[e] = (int32_t)((c + k * 13 + (int)slide_rng_below(&r, 3)) % d);
            ds->val[e] = 0.2f + slide_rng_uniform(&r);
        }
        const int m = 1 + (int)slide_rng_below(&r, 4);
        for (int k = 0; k < m; k++) ds->lab[q++] = c + k;
    }
    ds->row_ptr[n] = e;
    ds->lab_ptr[n] = q;
    ds->nnz = e;
    ds->nlab = q;
}

/* With --budget every sampler trains and evaluates with exactly round(F x labels) active
 * neurons (no point has more labels than that); without it LSH keeps its own bounds. */
static void test_budget(void) {
    slide_data ds;
    make_data(&ds, 512, 300, 400, 5);
    double act_train[3], act_eval[3];
    const double F = 0.05; /* 20 of 400 */
    for (int s = 0; s < 3; s++) {
        slide_net_params p = slide_net_params_default();
        p.layer[1].sampler = s;
        p.layer[1].budget_frac = F;
        p.layer[1].min_active_frac = 0.01;
        p.layer[1].max_active_frac = 0.3;
        slide_net_params_shape(&p, 300, 400);
        p.batch = 64;
        p.threads = 2;
        p.max_labels = slide_data_max_labels(&ds);
        slide_net *net = NULL;
        slide_err err;
        CHECK(slide_net_create(&net, &p, &err) == SLIDE_OK);
        CHECK(slide_net_set_label_counts(net, &ds, &err) == SLIDE_OK);
        int64_t ids[64];
        slide_train_stats st;
        memset(&st, 0, sizeof st);
        for (int b = 0; b < 8; b++) {
            for (int i = 0; i < 64; i++) ids[i] = b * 64 + i;
            CHECK(slide_net_train_batch(net, &ds, ids, 64, &st, &err) == SLIDE_OK);
        }
        act_train[s] = (double)st.active_sum / (double)st.samples;
        if (s != SLIDE_SAMPLER_LSH) CHECK(st.lsh_sum == 0);
        slide_eval_result res;
        CHECK(slide_net_evaluate(net, &ds, NULL, 0, 0, &res, &err) == SLIDE_OK);
        act_eval[s] = res.active_avg;
        printf("budget %.2f, sampler %s: active %.2f per training sample, %.2f at evaluation, "
               "P@1 %.3f\n", F, slide_sampler_name(s), act_train[s], act_eval[s], res.p_at[1]);
        slide_net_destroy(net);
    }
    for (int s = 0; s < 3; s++) {
        CHECK_NEAR(act_train[s], 20.0, 1e-9);
        CHECK_NEAR(act_eval[s], 20.0, 1e-9);
    }
    slide_data_free(&ds);
}

static void test_bad_params(void) {
    CHECK(slide_sampler_parse("lsh") == SLIDE_SAMPLER_LSH);
    CHECK(slide_sampler_parse("unigram") == SLIDE_SAMPLER_UNIGRAM);
    CHECK(slide_sampler_parse("softmax") == -1 && slide_sampler_parse(NULL) == -1);
    slide_layer_params p = out_params(100, SLIDE_SAMPLER_UNIFORM);
    CHECK(slide_layer_params_check(&p) == NULL);
    p.budget_frac = 1.5;
    CHECK(slide_layer_params_check(&p) != NULL);
    p.budget_frac = 0.1;
    p.sampler = 3;
    CHECK(slide_layer_params_check(&p) != NULL);
    p.sampler = SLIDE_SAMPLER_UNIGRAM;
    p.unigram_power = -1;
    CHECK(slide_layer_params_check(&p) != NULL);
    /* a budget smaller than a neuron still gives one; bounds follow the budget exactly */
    p = out_params(1000, SLIDE_SAMPLER_LSH);
    int64_t mn, mx;
    p.budget_frac = 0.0001;
    slide_layer_active_bounds(&p, &mn, &mx);
    CHECK(mn == 1 && mx == 1);
    p.budget_frac = 0.0125; /* 12.5 rounds to 13 (half away from zero) */
    slide_layer_active_bounds(&p, &mn, &mx);
    CHECK(mn == 13 && mx == 13);
}

int main(void) {
    test_bad_params();
    test_distributions();
    test_without_replacement();
    test_budget();
    TEST_MAIN_END();
}
