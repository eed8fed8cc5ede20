/* Tests for the synthetic data generator: per-point statistics per preset, data set invariants,
 * determinism (also across thread counts), long tail, label correlation, learnability. */
#include "slide/data.h"
#include "slide/synth.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static slide_synth_params params(const char *preset, double scale, double label_scale,
                                 uint64_t seed) {
    slide_synth_params p = slide_synth_params_default();
    p.preset = preset;
    p.scale = scale;
    p.label_scale = label_scale;
    p.seed = seed;
    return p;
}

/* CSR invariants of data.h: pointers monotone, ids in range, sorted, unique; values in (0, 1]. */
static int valid(const slide_data *ds) {
    if (ds->row_ptr[0] != 0 || ds->lab_ptr[0] != 0) return 0;
    if (ds->row_ptr[ds->n] != ds->nnz || ds->lab_ptr[ds->n] != ds->nlab) return 0;
    for (int64_t i = 0; i < ds->n; i++) {
        if (ds->row_ptr[i + 1] < ds->row_ptr[i] || ds->lab_ptr[i + 1] < ds->lab_ptr[i]) return 0;
        for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++) {
            if (ds->feat[j] < 0 || ds->feat[j] >= ds->d) return 0;
            if (j > ds->row_ptr[i] && ds->feat[j] <= ds->feat[j - 1]) return 0;
            if (!(ds->val[j] > 0.0f && ds->val[j] <= 1.0f)) return 0;
        }
        for (int64_t j = ds->lab_ptr[i]; j < ds->lab_ptr[i + 1]; j++) {
            if (ds->lab[j] < 0 || ds->lab[j] >= ds->l) return 0;
            if (j > ds->lab_ptr[i] && ds->lab[j] <= ds->lab[j - 1]) return 0;
        }
    }
    return 1;
}

static int same(const slide_data *a, const slide_data *b) {
    if (a->n != b->n || a->d != b->d || a->l != b->l || a->nnz != b->nnz || a->nlab != b->nlab)
        return 0;
    size_t n1 = (size_t)(a->n + 1);
    return memcmp(a->row_ptr, b->row_ptr, n1 * sizeof *a->row_ptr) == 0 &&
           memcmp(a->lab_ptr, b->lab_ptr, n1 * sizeof *a->lab_ptr) == 0 &&
           memcmp(a->feat, b->feat, (size_t)a->nnz * sizeof *a->feat) == 0 &&
           memcmp(a->val, b->val, (size_t)a->nnz * sizeof *a->val) == 0 &&
           memcmp(a->lab, b->lab, (size_t)a->nlab * sizeof *a->lab) == 0;
}

/* Per-point means of train and test pooled vs the preset; sizes; invariants; long tail. */
static void check_preset(const char *name, double scale, double label_scale, double min_top1) {
    const slide_synth_preset *ps = slide_synth_preset_find(name);
    CHECK(ps != NULL);
    if (!ps) return;
    slide_synth_params p = params(name, scale, label_scale, 7);
    slide_data tr, te;
    slide_err err;
    double t0 = slide_now();
    int rc = slide_synth_generate(&p, &tr, &te, &err);
    CHECKF(rc == SLIDE_OK, "%s: %s", name, err.msg);
    if (rc) return;
    double dt = slide_now() - t0;
    CHECK(valid(&tr));
    CHECK(valid(&te));
    CHECK(tr.n == llround((double)ps->n_train * scale));
    CHECK(te.n == llround((double)ps->n_test * scale));
    CHECK(tr.d == llround((double)ps->d * label_scale) && te.d == tr.d);
    CHECK(tr.l == llround((double)ps->l * label_scale) && te.l == tr.l);
    double n = (double)(tr.n + te.n);
    double nnz_pp = (double)(tr.nnz + te.nnz) / n, lab_pp = (double)(tr.nlab + te.nlab) / n;
    /* A lognormal count with log-sd 1.5 has a standard deviation ~3x its mean: over ~1,300
     * points its sample mean moves by ~8 %. */
    CHECK_NEAR(nnz_pp / ps->nnz_per_point, 1.0, ps->nnz_sigma > 0 ? 0.2 : 0.04);
    CHECK_NEAR(lab_pp / ps->labels_per_point, 1.0, ps->lab_sigma > 0 ? 0.1 : 0.04);
    slide_data_stats st;
    slide_data_compute_stats(&tr, &st);
    CHECK(st.n_nolabel == 0);
    /* Long tail: the top 1 % of used labels hold many times their 1 % of occurrences. */
    CHECKF(st.top1pct_share > min_top1, "%s top-1%% share %.3f", name, st.top1pct_share);
    fprintf(stderr,
            "%-13s scale %g label_scale %g: %lld+%lld points, d %lld, l %lld, nnz/pt %.2f "
            "(preset %.2f), labels/pt %.2f (preset %.2f), labels used %lld, top-1%% share %.3f, "
            "max pts/label %lld, %.3f s\n",
            name, scale, label_scale, (long long)tr.n, (long long)te.n, (long long)tr.d,
            (long long)tr.l, nnz_pp, ps->nnz_per_point, lab_pp, ps->labels_per_point,
            (long long)st.labels_used, st.top1pct_share, (long long)st.ppl_max, dt);
    slide_data_free(&tr);
    slide_data_free(&te);
}

static void test_params(void) {
    CHECK(slide_synth_preset_find("amazon670k") != NULL);
    CHECK(slide_synth_preset_find("delicious200k") != NULL);
    CHECK(slide_synth_preset_find("tiny") != NULL);
    CHECK(slide_synth_preset_find("amazon") == NULL);
    CHECK(slide_synth_preset_find("amazon670k-v1") && slide_synth_preset_find("delicious200k-v1"));
    CHECK(slide_synth_preset_find("delicious-small") && slide_synth_preset_find("amazon3m"));
    CHECK(strstr(slide_synth_preset_names(), "delicious-small") != NULL);
    CHECK(slide_synth_preset_find(NULL) == NULL);
    const slide_synth_preset *a = slide_synth_preset_find("amazon670k");
    CHECK(a->d == 135909 && a->l == 670091 && a->n_train == 490449 && a->n_test == 153025);
    const slide_synth_preset *dl = slide_synth_preset_find("delicious200k");
    CHECK(dl->d == 782585 && dl->l == 205443 && dl->n_train == 196606 && dl->n_test == 100095);

    slide_synth_params p = slide_synth_params_default();
    CHECK(slide_synth_params_check(&p) == NULL);
    p.scale = 0;
    CHECK(slide_synth_params_check(&p) != NULL);
    p.scale = 1.5;
    CHECK(slide_synth_params_check(&p) != NULL);
    p.scale = -0.5;
    CHECK(slide_synth_params_check(&p) != NULL);
    p.scale = NAN;
    CHECK(slide_synth_params_check(&p) != NULL);
    p.scale = 1;
    p.label_scale = 0;
    CHECK(slide_synth_params_check(&p) != NULL);
    p.label_scale = 1.01;
    CHECK(slide_synth_params_check(&p) != NULL);
    p.label_scale = 1;
    p.preset = "nope";
    const char *msg = slide_synth_params_check(&p);
    CHECK(msg != NULL && strstr(msg, "amazon670k") && strstr(msg, "tiny"));
    p.preset = NULL;
    CHECK(slide_synth_params_check(&p) != NULL);
    CHECK(slide_synth_params_check(NULL) != NULL);

    slide_data tr, te;
    slide_err err;
    p = params("tiny", 0.0, 1.0, 1);
    CHECK(slide_synth_generate(&p, &tr, &te, &err) == SLIDE_EINVAL);
    CHECK(tr.n == 0 && tr.row_ptr == NULL && te.row_ptr == NULL);
    p = params("tiny", 2.0, 1.0, 1);
    CHECK(slide_synth_generate(&p, &tr, &te, &err) == SLIDE_EINVAL);
    p = params("nope", 1.0, 1.0, 1);
    CHECK(slide_synth_generate(&p, &tr, &te, &err) == SLIDE_EINVAL);
    CHECK(strstr(err.msg, "delicious200k") != NULL);

    /* Tiny scales still give a few points; label_scale never drops below what the per-point
     * means need. */
    p = params("amazon670k", 1e-9, 1e-9, 1);
    CHECK(slide_synth_generate(&p, &tr, &te, &err) == SLIDE_OK);
    CHECK(tr.n >= 4 && te.n >= 4 && tr.l >= 44 && tr.d >= 608);
    CHECK(valid(&tr) && valid(&te));
    slide_data_free(&tr);
    slide_data_free(&te);
}


/* FNV-1a 64 of a file's bytes; 0 when it cannot be read. */
static uint64_t file_fnv(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    int c;
    while ((c = getc(f)) != EOF) {
        h ^= (uint64_t)(unsigned char)c;
        h *= 0x100000001b3ULL;
    }
    fclose(f);
    return h;
}

/* The v1 presets write the first generator's files byte for byte: FNV-1a 64 of the text that
 * `slide-gen --seed 7` wrote before the knobs existed (commit 2026394), train then test. */
static void test_v1_identical(void) {
    static const struct {
        const char *preset;
        double scale, label_scale;
        uint64_t train, test;
    } want[] = {
        {"amazon670k-v1", 0.002, 0.02, 0x94cd901fc81794e4ULL, 0x5cc3ba2bbb2a5430ULL},
        {"delicious200k-v1", 0.002, 0.02, 0x39d4d38a0615abf2ULL, 0xa1aef6c543d3c918ULL},
        {"tiny", 0.01, 1.0, 0x66ca52a12e2afbefULL, 0x04a6d0292594f01fULL},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        slide_synth_params p = params(want[k].preset, want[k].scale, want[k].label_scale, 7);
        p.threads = 2;
        slide_data tr, te;
        slide_err err;
        int rc = slide_synth_generate(&p, &tr, &te, &err);
        CHECKF(rc == SLIDE_OK, "%s: %s", want[k].preset, err.msg);
        if (rc) continue;
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/v1_train.txt", test_tmpdir());
        snprintf(b, sizeof b, "%s/v1_test.txt", test_tmpdir());
        CHECK(slide_data_write_text(&tr, a, &err) == SLIDE_OK);
        CHECK(slide_data_write_text(&te, b, &err) == SLIDE_OK);
        uint64_t ha = file_fnv(a), hb = file_fnv(b);
        CHECKF(ha == want[k].train && hb == want[k].test, "%s: %016llx %016llx", want[k].preset,
               (unsigned long long)ha, (unsigned long long)hb);
        slide_data_free(&tr);
        slide_data_free(&te);
    }
}

/* Knobs by name: an override changes the data, the preset's own value does not; bad values
 * and bad combinations are refused with a message naming the knob; preset files round-trip. */
static void test_knobs(void) {
    const slide_synth_preset *base = slide_synth_preset_find("delicious-small");
    CHECK(base != NULL);
    if (!base) return;
    slide_synth_preset k = *base;
    slide_synth_params p = params("delicious-small", 0.05, 1.0, 3);
    slide_data a, at, b, bt;
    slide_err err;
    CHECK(slide_synth_generate(&p, &a, &at, &err) == SLIDE_OK);
    CHECK(slide_synth_preset_set(&k, "zipf-s", "1.35") == NULL); /* the preset's value */
    p.custom = &k;
    CHECK(slide_synth_generate(&p, &b, &bt, &err) == SLIDE_OK);
    CHECK(same(&a, &b) && same(&at, &bt));
    slide_data_free(&b);
    slide_data_free(&bt);
    const char *ov[][2] = {{"zipf-s", "0.9"},  {"topic_size", "4"}, {"p-char", "0.3"},
                           {"binary", "0"},    {"nnz-sigma", "0"},  {"topic-stride", "0"},
                           {"lab-sigma", "0"}, {"feat-q", "2"}};
    for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++) {
        k = *base;
        if (!strcmp(ov[i][0], "lab-sigma")) k.lab_reverse = 0;
        const char *msg = slide_synth_preset_set(&k, ov[i][0], ov[i][1]);
        CHECKF(msg == NULL, "%s: %s", ov[i][0], msg);
        CHECKF(slide_synth_preset_check(&k) == NULL, "%s", ov[i][0]);
        CHECK(slide_synth_generate(&p, &b, &bt, &err) == SLIDE_OK);
        CHECKF(!same(&a, &b), "--%s %s left the data unchanged", ov[i][0], ov[i][1]);
        slide_data_free(&b);
        slide_data_free(&bt);
    }
    /* One-line errors that name the knob. */
    const char *bad[][2] = {{"zipf-s", "abc"},   {"zipf-s", "-1"},    {"zipf-q", "0"},
                            {"topic-size", "0"}, {"topic-size", "2.5"}, {"p-char", "1.5"},
                            {"char-max", "65"},  {"binary", "2"},     {"labels", "0"},
                            {"nnz-sigma", "nan"}, {"spread", ""},    {"lab-max", "1e99"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = *base;
        const char *msg = slide_synth_preset_set(&k, bad[i][0], bad[i][1]);
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", bad[i][0]);
        CHECKF(msg && strstr(msg, opt) && !strchr(msg, '\n'), "%s '%s': %s", bad[i][0],
               bad[i][1], msg ? msg : "(accepted)");
    }
    k = *base;
    const char *msg = slide_synth_preset_set(&k, "frobnicate", "1");
    CHECK(msg && strstr(msg, "unknown knob 'frobnicate'"));
    k = *base;
    k.char_min = 20;
    k.char_max = 10;
    msg = slide_synth_preset_check(&k);
    CHECK(msg && strstr(msg, "--char-min"));
    k = *base;
    k.lab_max = 10; /* below 19.05 labels per point */
    msg = slide_synth_preset_check(&k);
    CHECK(msg && strstr(msg, "--lab-max"));
    k = *base;
    k.lab_sigma = 0; /* lab-reverse needs the lognormal law */
    msg = slide_synth_preset_check(&k);
    CHECK(msg && strstr(msg, "--lab-reverse"));
    k = *base;
    p.custom = &k;
    k.p_topic = 2.0;
    CHECK(slide_synth_generate(&p, &b, &bt, &err) == SLIDE_EINVAL && strstr(err.msg, "--p-topic"));

    /* Preset files: write + load gives the same preset; errors carry file:line. */
    char path[512];
    snprintf(path, sizeof path, "%s/knobs.preset", test_tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "preset = delicious-small\n");
    slide_synth_preset_write(f, base);
    fclose(f);
    slide_synth_preset r;
    memset(&r, 0, sizeof r);
    CHECK(slide_synth_preset_load(&r, path, &err) == SLIDE_OK);
    k = *base;
    p.custom = &r;
    CHECK(slide_synth_generate(&p, &b, &bt, &err) == SLIDE_OK);
    CHECK(same(&a, &b) && same(&at, &bt));
    slide_data_free(&b);
    slide_data_free(&bt);
    f = fopen(path, "w");
    fprintf(f, "# comment\nzipf-s = 1.1   # trailing comment\n\ntopic-size = many\n");
    fclose(f);
    r = *base;
    CHECK(slide_synth_preset_load(&r, path, &err) == SLIDE_EFORMAT);
    CHECKF(strstr(err.msg, ":4:") && strstr(err.msg, "--topic-size"), "%s", err.msg);
    CHECK(r.zipf_s == 1.1); /* the lines before the error were applied */
    f = fopen(path, "w");
    fprintf(f, "preset = nosuch\n");
    fclose(f);
    CHECK(slide_synth_preset_load(&r, path, &err) == SLIDE_EFORMAT && strstr(err.msg, ":1:"));
    f = fopen(path, "w");
    fprintf(f, "zipf-s 1.1\n");
    fclose(f);
    CHECK(slide_synth_preset_load(&r, path, &err) == SLIDE_EFORMAT && strstr(err.msg, "key = value"));
    CHECK(slide_synth_preset_load(&r, "/nonexistent/x.preset", &err) == SLIDE_EIO);
    slide_data_free(&a);
    slide_data_free(&at);
}

static void test_determinism(void) {
    slide_synth_params p = params("amazon670k", 0.002, 0.05, 11);
    slide_data a, at, b, bt, c, ct;
    slide_err err;
    CHECK(slide_synth_generate(&p, &a, &at, &err) == SLIDE_OK);
    p.threads = p.threads > 1 ? 1 : 3; /* a different thread count must not matter */
    CHECK(slide_synth_generate(&p, &b, &bt, &err) == SLIDE_OK);
    CHECK(same(&a, &b));
    CHECK(same(&at, &bt));
    CHECK(!same(&a, &at)); /* train and test are different draws */
    p.seed = 12;
    CHECK(slide_synth_generate(&p, &c, &ct, &err) == SLIDE_OK);
    CHECK(!same(&a, &c));
    CHECK(!same(&at, &ct));
    /* Different seeds: the feature sets of the first point differ. */
    CHECK(a.row_ptr[1] != c.row_ptr[1] ||
          memcmp(a.feat, c.feat, (size_t)a.row_ptr[1] * sizeof *a.feat) != 0);
    slide_data_free(&a);
    slide_data_free(&at);
    slide_data_free(&b);
    slide_data_free(&bt);
    slide_data_free(&c);
    slide_data_free(&ct);
}

/* Written text parses back to the same arrays (values are multiples of 1/1000). */
static void test_roundtrip(void) {
    slide_synth_params p = params("tiny", 0.05, 1.0, 3);
    slide_data tr, te, back;
    slide_err err;
    CHECK(slide_synth_generate(&p, &tr, &te, &err) == SLIDE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/synth_train.txt", test_tmpdir());
    CHECKF(slide_data_write_text(&tr, path, &err) == SLIDE_OK, "%s", err.msg);
    slide_data_opts o = slide_data_opts_default();
    int rc = slide_data_load(&back, path, &o, &err);
    CHECKF(rc == SLIDE_OK, "%s", err.msg);
    if (rc == SLIDE_OK) {
        CHECK(same(&tr, &back));
        slide_data_free(&back);
    }
    unlink(path);
    slide_data_free(&tr);
    slide_data_free(&te);
}

/* Labels come in topics: the most associated frequent pair co-occurs far more often than
 * independence predicts (lift = P(a,b) / (P(a) P(b))). */
static void test_correlation(const slide_data *tr) {
    int64_t l = tr->l;
    int32_t *pair = calloc((size_t)(l * l), sizeof *pair);
    int64_t *cnt = calloc((size_t)l, sizeof *cnt);
    CHECK(pair && cnt);
    if (!pair || !cnt) {
        free(pair);
        free(cnt);
        return;
    }
    for (int64_t i = 0; i < tr->n; i++)
        for (int64_t j = tr->lab_ptr[i]; j < tr->lab_ptr[i + 1]; j++) {
            cnt[tr->lab[j]]++;
            for (int64_t k = j + 1; k < tr->lab_ptr[i + 1]; k++)
                pair[tr->lab[j] * l + tr->lab[k]]++;
        }
    double best = 0, n = (double)tr->n;
    int64_t pairs_seen = 0;
    for (int64_t a = 0; a < l; a++)
        for (int64_t b = a + 1; b < l; b++) {
            if (pair[a * l + b]) pairs_seen++;
            if (pair[a * l + b] < 20) continue;
            double lift = (double)pair[a * l + b] * n / ((double)cnt[a] * (double)cnt[b]);
            if (lift > best) best = lift;
        }
    fprintf(stderr,
            "tiny: %lld distinct co-occurring label pairs, best lift (support >= 20) %.1f\n",
            (long long)pairs_seen, best);
    CHECKF(best > 5.0, "best lift %.2f", best);
    free(pair);
    free(cnt);
}

/* Learnability on tiny: a nearest-centroid classifier (cosine to each label's mean normalised
 * training vector) against predicting the most frequent training label for every point.
 * Measured with seed 5: centroid P@1 0.997, most-frequent-label P@1 0.150, random 0.006. */
static void test_learnable(void) {
    slide_synth_params p = params("tiny", 1.0, 1.0, 5);
    slide_data tr, te;
    slide_err err;
    CHECK(slide_synth_generate(&p, &tr, &te, &err) == SLIDE_OK);
    test_correlation(&tr);
    int64_t d = tr.d, l = tr.l;
    float *cen = calloc((size_t)(d * l), sizeof *cen); /* [feature][label] */
    double *norm = calloc((size_t)l, sizeof *norm);
    int64_t *freq = calloc((size_t)l, sizeof *freq);
    double *score = calloc((size_t)l, sizeof *score);
    CHECK(cen && norm && freq && score);
    if (!cen || !norm || !freq || !score) goto done;
    for (int64_t i = 0; i < tr.n; i++) {
        double s2 = 0;
        for (int64_t j = tr.row_ptr[i]; j < tr.row_ptr[i + 1]; j++)
            s2 += (double)tr.val[j] * tr.val[j];
        float inv = (float)(1.0 / sqrt(s2));
        for (int64_t k = tr.lab_ptr[i]; k < tr.lab_ptr[i + 1]; k++) {
            freq[tr.lab[k]]++;
            for (int64_t j = tr.row_ptr[i]; j < tr.row_ptr[i + 1]; j++)
                cen[(int64_t)tr.feat[j] * l + tr.lab[k]] += tr.val[j] * inv;
        }
    }
    for (int64_t f = 0; f < d; f++)
        for (int64_t c = 0; c < l; c++) norm[c] += (double)cen[f * l + c] * cen[f * l + c];
    int64_t top = 0;
    for (int64_t c = 0; c < l; c++) {
        norm[c] = norm[c] > 0 ? 1.0 / sqrt(norm[c]) : 0.0;
        if (freq[c] > freq[top]) top = c;
    }
    int64_t hit = 0, hit_top = 0;
    for (int64_t i = 0; i < te.n; i++) {
        memset(score, 0, (size_t)l * sizeof *score);
        for (int64_t j = te.row_ptr[i]; j < te.row_ptr[i + 1]; j++) {
            const float *row = cen + (int64_t)te.feat[j] * l;
            for (int64_t c = 0; c < l; c++) score[c] += (double)te.val[j] * row[c];
        }
        int64_t best = 0;
        for (int64_t c = 1; c < l; c++)
            if (score[c] * norm[c] > score[best] * norm[best]) best = c;
        for (int64_t k = te.lab_ptr[i]; k < te.lab_ptr[i + 1]; k++) {
            hit += te.lab[k] == best;
            hit_top += te.lab[k] == top;
        }
    }
    double p1 = (double)hit / (double)te.n, p1_top = (double)hit_top / (double)te.n;
    double p1_rand = (double)te.nlab / (double)te.n / (double)l;
    fprintf(stderr, "tiny: nearest-centroid P@1 %.3f, most-frequent-label P@1 %.3f, random %.4f\n",
            p1, p1_top, p1_rand);
    CHECKF(p1 > 0.8, "centroid P@1 %.3f", p1);
    CHECKF(p1_top < 0.3, "most-frequent-label P@1 %.3f", p1_top);
    CHECKF(p1 > 3.0 * p1_top, "centroid %.3f vs top label %.3f", p1, p1_top);
    CHECK(p1_rand < 0.01);
done:
    free(cen);
    free(norm);
    free(freq);
    free(score);
    slide_data_free(&tr);
    slide_data_free(&te);
}

int main(void) {
    test_params();
    check_preset("tiny", 1.0, 1.0, 0.05);
    check_preset("amazon670k-v1", 0.002, 0.05, 0.05);
    check_preset("delicious200k-v1", 0.005, 0.02, 0.15);
    check_preset("amazon670k", 0.002, 0.05, 0.03);
    check_preset("delicious200k", 0.005, 0.02, 0.08);
    check_preset("delicious-small", 1.0, 1.0, 0.1);
    check_preset("amazon3m", 0.0005, 0.002, 0.04);
    test_v1_identical();
    test_knobs();
    test_determinism();
    test_roundtrip();
    test_learnable();
    TEST_MAIN_END();
}
