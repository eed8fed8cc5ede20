/* Tests for the calibration statistics (calib.h) on hand-computed data, and for the programs
 * that print them: slide-data stats/compare, and slide-gen's knob options and preset files. */
#include "slide/calib.h"
#include "slide/data.h"
#include "test_util.h"

#include <sys/wait.h>

static const char *tpath(const char *name) {
    static char buf[16][512];
    static int k = 0;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Train: 4 points over 4 features and 3 labels. Label counts 3, 2, 1 (label 0 most frequent);
 * labels per point 1, 2, 1, 2 (mean 1.5, sd 0.5); nonzeros 1, 2, 1, 1 (mean 1.25,
 * sd sqrt(1.75 - 1.5625) = 0.4330, median 1). Unit rows: p0 = e0, p1 = (e0 + e1)/sqrt2,
 * p2 = e2, p3 = e3 (value 2, normalised). Centroids: c0 = p0 + p1 + p3 = (1.7071, 0.7071, 0, 1),
 * |c0| = 2.1010; c1 = p1 + p2 = (0.7071, 0.7071, 1, 0), |c1| = 1.4142; c2 = e3.
 * Test: t0 {1} at e1: cosines 0.337, 0.5, 0 -> 1, hit; t1 {2} at e0: 0.8125, 0.5, 0 -> 0, miss;
 * t2 {0} at e3: 0.476, 0, 1 -> 2, miss; t3 unlabelled (skipped); t4 {1} at e2: 0, 0.707, 0
 * -> 1, hit. Nearest centroid 2 of 4; most frequent (label 0) 1 of 4 (t2). */
static const char *TRAIN = "4 4 3\n0 0:1\n0,1 0:1 1:1\n1 2:1\n0,2 3:2\n";
static const char *TEST = "5 4 3\n1 1:1\n2 0:1\n0 3:1\n 2:1\n1 2:1\n";

static void test_hand(void) {
    slide_data tr, te;
    slide_err err;
    CHECK(slide_data_parse(&tr, TRAIN, strlen(TRAIN), "train", &err) == SLIDE_OK);
    CHECK(slide_data_parse(&te, TEST, strlen(TEST), "test", &err) == SLIDE_OK);
    slide_calib_counts c;
    slide_calib_point_counts(&tr, &c);
    CHECK_NEAR(c.lab_mean, 1.5, 1e-12);
    CHECK_NEAR(c.lab_sd, 0.5, 1e-12);
    CHECK_NEAR(c.nnz_mean, 1.25, 1e-12);
    CHECK_NEAR(c.nnz_sd, sqrt(0.1875), 1e-12);
    CHECK_NEAR(c.nnz_median, 1.0, 0);
    int64_t cnt[3];
    slide_calib_label_curve(&tr, cnt);
    CHECK(cnt[0] == 3 && cnt[1] == 2 && cnt[2] == 1);
    CHECK_NEAR(slide_calib_curve_at(cnt, 3, 4, 0.0), 0.75, 1e-12);
    CHECK_NEAR(slide_calib_curve_at(cnt, 3, 4, 0.5), 0.5, 1e-12);
    CHECK_NEAR(slide_calib_curve_at(cnt, 3, 4, 1.0), 0.25, 1e-12);
    double p1;
    int32_t lab = -1;
    CHECK(slide_calib_p1_most_frequent(&tr, &te, &p1, &lab, &err) == SLIDE_OK);
    CHECK_NEAR(p1, 0.25, 1e-12);
    CHECK(lab == 0);
    int64_t n_eval = 0;
    for (int threads = 1; threads <= 2; threads++) {
        CHECK(slide_calib_p1_centroid(&tr, &te, 0, 1, threads, &p1, &n_eval, &err) == SLIDE_OK);
        CHECK_NEAR(p1, 0.5, 1e-12);
        CHECK(n_eval == 4);
    }
    /* A subsample keeps at most that many points of each set. */
    CHECK(slide_calib_p1_centroid(&tr, &te, 3, 1, 1, &p1, &n_eval, &err) == SLIDE_OK);
    CHECK(n_eval >= 1 && n_eval <= 3);
    /* Another set's spaces, a test set without labels: errors, no crash. */
    slide_data other, nolab;
    const char *o = "1 5 3\n0 4:1\n", *nl = "2 4 3\n 0:1\n 1:1\n";
    CHECK(slide_data_parse(&other, o, strlen(o), "other", &err) == SLIDE_OK);
    CHECK(slide_data_parse(&nolab, nl, strlen(nl), "nolab", &err) == SLIDE_OK);
    CHECK(slide_calib_p1_centroid(&tr, &other, 0, 1, 1, &p1, NULL, &err) == SLIDE_EINVAL);
    CHECK(strstr(err.msg, "not the same spaces") != NULL);
    CHECK(slide_calib_p1_centroid(&tr, &nolab, 0, 1, 1, &p1, NULL, &err) == SLIDE_EINVAL);
    CHECK(slide_calib_p1_most_frequent(&tr, &nolab, &p1, NULL, &err) == SLIDE_EINVAL);
    CHECK(strstr(err.msg, "no labelled point") != NULL);
    slide_data_free(&other);
    slide_data_free(&nolab);
    slide_data_free(&tr);
    slide_data_free(&te);
}

static void test_gap(void) {
    const int64_t a[] = {8, 4, 2, 1}, b[] = {4, 4, 1, 0};
    double q;
    /* Ratios 2, 1, 2 and 1 / 0.5 (an empty label counts as half a point): log2 gap 1. */
    CHECK_NEAR(slide_calib_curve_gap(a, 4, 10, b, 4, 10, 0.01, &q), 1.0, 1e-12);
    CHECK_NEAR(q, 0.125, 1e-12);
    CHECK_NEAR(slide_calib_curve_gap(a, 4, 10, a, 4, 10, 0.01, &q), 0.0, 1e-12);
    /* The same curve over twice the points and labels (shares of points): no gap. */
    const int64_t a2[] = {16, 16, 8, 8, 4, 4, 2, 2};
    CHECK_NEAR(slide_calib_curve_gap(a, 4, 10, a2, 8, 20, 0.01, NULL), 0.0, 1e-12);
    /* tail = 0.3 leaves out q = 0.875; the largest of the rest is still 1. */
    const int64_t c[] = {8, 4, 2, 1}, d[] = {8, 4, 2, 0};
    CHECK_NEAR(slide_calib_curve_gap(c, 4, 10, d, 4, 10, 0.3, NULL), 0.0, 1e-12);
    CHECK_NEAR(slide_calib_curve_gap(c, 4, 10, d, 4, 10, 0.0, NULL), 1.0, 1e-12);
}

/* Runs cmd (stdout and stderr into out); returns the exit status, -1 when it did not exit. */
static int run(const char *cmd, const char *out) {
    char full[8192];
    if (snprintf(full, sizeof full, "%s >'%s' 2>&1", cmd, out) >= (int)sizeof full) return -1;
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_slide_data_cli(const char *bin) {
    char exe[600], cmd[4096];
    snprintf(exe, sizeof exe, "%s/slide-data", bin);
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "note: %s not built - CLI checks skipped\n", exe);
        return;
    }
    char tr[512], te[512], out[512];
    snprintf(tr, sizeof tr, "%s", tpath("tr.txt"));
    snprintf(te, sizeof te, "%s", tpath("te.txt"));
    snprintf(out, sizeof out, "%s", tpath("cli.out"));
    write_text(tr, TRAIN);
    write_text(te, TEST);
    snprintf(cmd, sizeof cmd, "%s stats %s %s", exe, tr, te);
    CHECK(run(cmd, out) == 0);
    char *t = slurp(out);
    CHECKF(t && strstr(t, "labels per point: mean 1.50 sd 0.50") &&
               strstr(t, "nonzeros per point: mean 1.25 sd 0.43 median 1.0") &&
               strstr(t, "most-frequent-label P@1: 0.2500 (label 0)") &&
               strstr(t, "nearest-centroid P@1: 0.5000 (4 test points)"),
           "%s", t ? t : "");
    snprintf(cmd, sizeof cmd, "%s compare %s %s", exe, tr, tr);
    CHECK(run(cmd, out) == 0);
    t = slurp(out);
    CHECKF(t && strstr(t, "largest gap: factor 1.000"), "%s", t ? t : "");
    /* train vs test: sorted shares 0.75, 0.5, 0.25 vs 0.4, 0.2, 0.2 (test counts 2, 1, 1 of 5
     * points): ratios 1.875, 2.5, 1.25, the largest at rank percentile 50. */
    snprintf(cmd, sizeof cmd, "%s compare --max-gap 2 %s %s", exe, tr, te);
    CHECK(run(cmd, out) == 1);
    t = slurp(out);
    CHECKF(t && strstr(t, "factor 2.500") && strstr(t, "percentile 50.00") &&
               strstr(t, "over --max-gap"),
           "%s", t ? t : "");
    snprintf(cmd, sizeof cmd, "%s compare --max-gap 3 %s %s", exe, tr, te);
    CHECK(run(cmd, out) == 0);
    /* Bad inputs: exit 2 with a one-line reason. */
    const char *other = tpath("other.txt");
    write_text(other, "1 5 3\n0 4:1\n");
    const char *bad[] = {"stats %s %s --max-points -1", "stats %s %s --threads 0",
                         "compare --tail 100 %s %s", "compare --max-gap 0.5 %s %s",
                         "stats --frob %s %s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[1200];
        snprintf(args, sizeof args, bad[i], tr, te);
        snprintf(cmd, sizeof cmd, "%s %s", exe, args);
        CHECKF(run(cmd, out) == 2, "%s", args);
    }
    snprintf(cmd, sizeof cmd, "%s stats %s %s", exe, tr, other);
    CHECK(run(cmd, out) == 2);
    t = slurp(out);
    CHECKF(t && strstr(t, "not the same"), "%s", t ? t : "");
    snprintf(cmd, sizeof cmd, "%s compare %s", exe, tr);
    CHECK(run(cmd, out) == 2);
    snprintf(cmd, sizeof cmd, "%s check %s %s", exe, tr, te);
    CHECK(run(cmd, out) == 2);
    snprintf(cmd, sizeof cmd, "%s stats %s /nonexistent/test.txt", exe, tr);
    CHECK(run(cmd, out) == 2);
}

static void test_slide_gen_cli(const char *bin) {
    char exe[600], cmd[4096];
    snprintf(exe, sizeof exe, "%s/slide-gen", bin);
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "note: %s not built - CLI checks skipped\n", exe);
        return;
    }
    char out[512], pf[512];
    snprintf(out, sizeof out, "%s", tpath("gen.out"));
    snprintf(pf, sizeof pf, "%s", tpath("p.preset"));
    /* Errors name the option, one line, exit 2. */
    const char *bad[][2] = {{"--zipf-s abc", "--zipf-s"},
                            {"--topic-size=0", "--topic-size"},
                            {"--p-char 2", "--p-char"},
                            {"--char-min 20 --char-max 10", "--char-min"},
                            {"--lab-max 5", "--lab-max"},
                            {"--frob 1", "--frob"},
                            {"--zipf-s", "needs a value"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s --preset delicious-small --scale 0.01 --out %s %s", exe,
                 tpath("g"), bad[i][0]);
        CHECKF(run(cmd, out) == 2, "%s", bad[i][0]);
        char *t = slurp(out);
        CHECKF(t && strstr(t, bad[i][1]) && strchr(t, '\n') == t + strlen(t) - 1, "%s: %s",
               bad[i][0], t ? t : "");
    }
    /* --print-preset writes a file that --preset-file reads back to the same data. */
    snprintf(cmd, sizeof cmd, "%s --preset delicious-small --zipf-s 1.2 --print-preset", exe);
    CHECK(run(cmd, pf) == 0);
    char *t = slurp(pf);
    CHECK(t && strstr(t, "preset = delicious-small") && strstr(t, "zipf-s = 1.2\n"));
    snprintf(cmd, sizeof cmd,
             "%s --preset delicious-small --zipf-s 1.2 --scale 0.02 --seed 4 --out %s && "
             "%s --preset-file %s --scale 0.02 --seed 4 --out %s && "
             "cmp %s/train.txt %s/train.txt && cmp %s/test.txt %s/test.txt",
             exe, tpath("g1"), exe, pf, tpath("g2"), tpath("g1"), tpath("g2"), tpath("g1"),
             tpath("g2"));
    CHECK(run(cmd, out) == 0);
    /* The override is not a no-op, and a later option wins over the file. */
    snprintf(cmd, sizeof cmd,
             "%s --preset-file %s --zipf-s 1.35 --scale 0.02 --seed 4 --out %s && "
             "%s --preset delicious-small --scale 0.02 --seed 4 --out %s && "
             "cmp %s/train.txt %s/train.txt && ! cmp -s %s/train.txt %s/train.txt",
             exe, pf, tpath("g3"), exe, tpath("g4"), tpath("g3"), tpath("g4"), tpath("g1"),
             tpath("g4"));
    CHECK(run(cmd, out) == 0);
    write_text(pf, "preset = tiny\nzipf-s = 0.5\nchar-max = lots\n");
    snprintf(cmd, sizeof cmd, "%s --preset-file %s --out %s", exe, pf, tpath("g5"));
    CHECK(run(cmd, out) == 2);
    t = slurp(out);
    CHECKF(t && strstr(t, ":3:") && strstr(t, "--char-max"), "%s", t ? t : "");
}

int main(void) {
    test_hand();
    test_gap();
    const char *bin = getenv("SLIDE_BIN");
    test_slide_data_cli(bin ? bin : "build/bin");
    test_slide_gen_cli(bin ? bin : "build/bin");
    if (t_failures == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
        if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", test_tmpdir());
    }
    TEST_MAIN_END();
}
