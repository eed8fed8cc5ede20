/* Tests the simulated cache profile (bench/profile/profile_cache.sh, cache_attr.awk, slide-train
 * --profile-batches): attribution of a fixture callgrind.out to phases and its CSV, the phase
 * table, bad input (a window past the run's end, AVX-512, no valgrind), and, where valgrind is
 * installed, a tiny real profile. Runs from the repository root. */
#include "spawn_util.h"
#include "test_util.h"

#include <limits.h>

#define SCRIPT "bench/profile/profile_cache.sh"
#define FIXTURE "bench/profile/fixtures/callgrind.fixture.out"

static const char *COLUMNS =
    "run_id,utc,git_commit,host,cpu_model,simd,threads,dataset,source,phase,level,refs,misses,"
    "miss_rate,misses_per_sample,samples,batches,d1_size,d1_assoc,d1_line,ll_size,ll_assoc,"
    "ll_line,geometry";
static const char *PHASES[] = {"hash", "query", "forward", "backward",
                               "update", "rehash", "other", "total"};
#define N_PHASES 8

/* Runs a shell command with stdout+stderr into log; returns its exit status (-1: no status)
 * and the output in *out (caller frees). */
static int sh(const char *cmd, const char *log, char **out) {
    char full[8192];
    snprintf(full, sizeof full, "%s >'%s' 2>&1", cmd, log);
    int rc = system(full);
    *out = spawn_read(log, NULL);
    if (!*out) *out = calloc(1, 1);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Lines of s that contain needle. */
static int count_matching(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, "\n");
        const char *hit = strstr(p, needle);
        n += hit && hit < p + len;
        p += len + (p[len] == '\n');
    }
    return n;
}

/* The line of csv whose fields col_a/col_b equal a/b (NULL if none). */
static const char *find_row(const char *csv, int col_a, const char *a, int col_b, const char *b) {
    char fa[256], fb[256];
    for (const char *p = strchr(csv, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        csv_field(p + 1, col_a, fa, sizeof fa);
        csv_field(p + 1, col_b, fb, sizeof fb);
        if (!strcmp(fa, a) && !strcmp(fb, b)) return p + 1;
    }
    return NULL;
}

static double num(const char *row, int col) {
    char f[256];
    csv_field(row, col, f, sizeof f);
    return strtod(f, NULL);
}

/* Every phase and level is there, misses <= refs, the phases add up to the total. Returns the
 * header line of the file (for the caller's column lookups). */
static void check_rows(const char *csv, const char *what, int exact_sum) {
    int c_ph = csv_col(csv, "phase"), c_lv = csv_col(csv, "level");
    int c_r = csv_col(csv, "refs"), c_m = csv_col(csv, "misses");
    const char *levels[2] = {"D1", "LL"};
    for (int l = 0; l < 2; l++) {
        double sr = 0, sm = 0, tr = 0, tm = 0;
        for (int p = 0; p < N_PHASES; p++) {
            const char *row = find_row(csv, c_ph, PHASES[p], c_lv, levels[l]);
            CHECKF(row != NULL, "%s: no row for phase %s level %s", what, PHASES[p], levels[l]);
            if (!row) continue;
            double r = num(row, c_r), m = num(row, c_m);
            CHECKF(m >= 0 && m <= r, "%s: %s %s misses %g > refs %g", what, PHASES[p],
                   levels[l], m, r);
            if (p < N_PHASES - 1) {
                sr += r;
                sm += m;
            } else {
                tr = r;
                tm = m;
            }
        }
        /* The rounded phases sum to the total within a count per phase. */
        double tol = exact_sum ? N_PHASES : 1e-3 * tr + N_PHASES;
        CHECKF(fabs(sr - tr) <= tol && fabs(sm - tm) <= tol,
               "%s: %s phases sum to %g refs / %g misses, total row says %g / %g", what,
               levels[l], sr, sm, tr, tm);
    }
}

static void test_fixture(const char *dir) {
    char cmd[2048], log[600], csv[600], out_path[600];
    snprintf(csv, sizeof csv, "%s/fx.csv", dir);
    snprintf(out_path, sizeof out_path, "%s/fx.cache.csv", dir);
    snprintf(log, sizeof log, "%s/fx.log", dir);
    snprintf(cmd, sizeof cmd, "cp bench/profile/fixtures/train.csv '%s' && sh " SCRIPT
             " --attribute " FIXTURE " --csv '%s' --samples 10 --batches-run 3:4", csv, csv);
    char *o = NULL;
    int rc = sh(cmd, log, &o);
    CHECKF(rc == 0, "--attribute on the fixture exited %d:\n%s", rc, o);
    free(o);
    char *c = spawn_read(out_path, NULL);
    CHECKF(c != NULL, "%s not written", out_path);
    if (!c) return;
    CHECKF(!strncmp(c, COLUMNS, strlen(COLUMNS)) && c[strlen(COLUMNS)] == '\n',
           "header differs:\n%.*s", (int)strcspn(c, "\n"), c);
    CHECKF(count_lines(c) == 1 + 2 * N_PHASES, "%d lines, expected %d", count_lines(c),
           1 + 2 * N_PHASES);
    check_rows(c, "fixture", 1);
    /* Hand-computed from the fixture (see its functions): the phase table, the clone and
     * recursion suffixes, calls split by their references (slide_hash_keys_dense: 1/5 hash from
     * select_active, 4/5 rehash), outlined OpenMP bodies with their parent (sort_entries: 3/4
     * update from adam_update, 1/4 forward from the row sweep's sweep_sort). */
    static const struct {
        const char *phase, *level;
        double refs, misses, rate, per_sample;
    } want[] = {
        {"hash", "D1", 10, 2, 0.2, 0.2},        {"hash", "LL", 2, 0, 0.0, 0.0},
        {"query", "D1", 50, 5, 0.1, 0.5},       {"query", "LL", 5, 1, 0.2, 0.1},
        {"forward", "D1", 341, 44, 44.0 / 341, 4.4}, {"forward", "LL", 44, 7, 7.0 / 44, 0.7},
        {"backward", "D1", 30, 3, 0.1, 0.3},    {"backward", "LL", 3, 1, 1.0 / 3, 0.1},
        {"update", "D1", 463, 66, 66.0 / 463, 6.6}, {"update", "LL", 66, 28, 28.0 / 66, 2.8},
        {"rehash", "D1", 80, 12, 0.15, 1.2},    {"rehash", "LL", 12, 4, 1.0 / 3, 0.4},
        {"other", "D1", 15, 1, 1.0 / 15, 0.1},  {"other", "LL", 1, 0, 0.0, 0.0},
        {"total", "D1", 989, 133, 133.0 / 989, 13.3}, {"total", "LL", 133, 41, 41.0 / 133, 4.1},
    };
    int c_ph = csv_col(c, "phase"), c_lv = csv_col(c, "level");
    int c_r = csv_col(c, "refs"), c_m = csv_col(c, "misses"), c_rate = csv_col(c, "miss_rate");
    int c_ps = csv_col(c, "misses_per_sample");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *row = find_row(c, c_ph, want[i].phase, c_lv, want[i].level);
        if (!row) continue; /* reported by check_rows */
        CHECKF(num(row, c_r) == want[i].refs && num(row, c_m) == want[i].misses,
               "%s %s: refs %g misses %g, expected %g %g", want[i].phase, want[i].level,
               num(row, c_r), num(row, c_m), want[i].refs, want[i].misses);
        CHECK_NEAR(num(row, c_rate), want[i].rate, 1e-6);
        CHECK_NEAR(num(row, c_ps), want[i].per_sample, 1e-9);
    }
    /* context from the slide-train CSV, geometry from the profile's own description */
    const char *row = find_row(c, c_ph, "total", c_lv, "D1");
    if (row) {
        static const struct {
            const char *col, *val;
        } ctx[] = {{"run_id", "fixture-run"},  {"git_commit", "0123456789ab"},
                   {"cpu_model", "Fixture CPU"}, {"simd", "avx2"},
                   {"threads", "1"},           {"dataset", "fixture-set"},
                   {"source", "callgrind"},    {"samples", "10"},
                   {"batches", "3:4"},         {"d1_size", "49152"},
                   {"d1_assoc", "12"},         {"d1_line", "64"},
                   {"ll_size", "33554432"},    {"ll_assoc", "16"}};
        for (size_t i = 0; i < sizeof ctx / sizeof ctx[0]; i++) {
            char f[256];
            csv_field(row, csv_col(c, ctx[i].col), f, sizeof f);
            CHECKF(!strcmp(f, ctx[i].val), "column %s is '%s', expected '%s'", ctx[i].col, f,
                   ctx[i].val);
        }
    }
    free(c);
    /* A second attribution appends rows under the same header. */
    rc = sh(cmd, log, &o);
    free(o);
    c = spawn_read(out_path, NULL);
    CHECKF(c && count_lines(c) == 1 + 4 * N_PHASES, "second attribution: %d lines",
           c ? count_lines(c) : -1);
    free(c);
    /* Not a callgrind file: an error, no rows. */
    snprintf(cmd, sizeof cmd, "sh " SCRIPT " --attribute bench/profile/fixtures/train.csv "
             "--csv '%s/bad.csv'", dir);
    rc = sh(cmd, log, &o);
    CHECKF(rc == 2 && strstr(o, "callgrind"), "a CSV as callgrind.out: exit %d, output:\n%s", rc, o);
    free(o);
}

static void test_phase_table(const char *dir) {
    static const struct {
        const char *fn, *phase;
    } t[] = {
        {"select_active", "query"},
        {"slide_lsh_bucket", "query"},
        {"forward_layers.constprop.1", "forward"},
        {"sweep_select._omp_fn.0", "forward"},
        {"sweep_hidden_backward._omp_fn.0", "backward"},
        {"slide_lsh_query_ranked", "query"},
        {"touch_row.constprop.0", "backward"},
        {"backward'2", "backward"},
        {"update_rows._omp_fn.0", "update"},
        {"update_input_major", "update"},
        {"slide_layer_rehash_dirty._omp_fn.0", "rehash"},
        {"slide_hash_keys_dense_batch._omp_fn.1", "rehash"},
        {"slide_hash_keys_dense", "inherit"},
        {"gather_dot_avx2", "inherit"},
        {"sort_entries._omp_fn.0", "inherit"},
    };
    char cmd[512], log[600];
    snprintf(log, sizeof log, "%s/phase.log", dir);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snprintf(cmd, sizeof cmd, "sh " SCRIPT " --phase-of \"%s\"", t[i].fn);
        char *o = NULL;
        int rc = sh(cmd, log, &o);
        o[strcspn(o, "\n")] = '\0';
        CHECKF(rc == 0 && !strcmp(o, t[i].phase), "%s maps to '%s' (exit %d), expected %s",
               t[i].fn, o, rc, t[i].phase);
        free(o);
    }
}

/* slide-train --profile-batches: a window past the run's end and bad syntax are one-line
 * errors with exit 2; a window inside the run ends the run after it. Returns 1 when slide-train
 * has callgrind's client requests. */
static int test_window(const char *dir, const char *train, const char *data) {
    char tr[600], te[600], csv[600], log[600];
    snprintf(tr, sizeof tr, "%s/train.txt", data);
    snprintf(te, sizeof te, "%s/test.txt", data);
    snprintf(csv, sizeof csv, "%s/w.csv", dir);
    struct {
        const char *win, *epochs;
        int code;
        const char *msg;
    } t[] = {
        {"3:10", "1", 2, "the run trains only 7 batches"},
        {"5", "1", 2, "expected A:B"},
        {"0:2", "1", 2, "expected A:B"},
        {"3:2", "1", 2, "expected A:B"},
        {"2:3", "1", 0, "[profile] collected batches 2..3 (256 samples)"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snprintf(log, sizeof log, "%s/w%zu.log", dir, i);
        char *argv[] = {(char *)train, "--train", tr, "--test", te, "--epochs",
                        (char *)t[i].epochs, "--batch", "128", "--eval-every", "0",
                        "--progress", "0", "--no-pin", "--profile-batches", (char *)t[i].win,
                        "--csv", csv, NULL};
        int code = spawn_run(argv, log, 120);
        char *o = spawn_read(log, NULL);
        if (!o) o = calloc(1, 1);
        if (code == 2 && strstr(o, "built without <valgrind/callgrind.h>")) {
            printf("note: slide-train without callgrind client requests: window checks skipped\n");
            CHECKF(count_lines(o) == 1, "the missing-header error is not one line:\n%s", o);
            free(o);
            return 0;
        }
        /* an error is one line (after the data's [data] line at most) */
        CHECKF(code == t[i].code && strstr(o, t[i].msg),
               "--profile-batches %s: exit %d (expected %d), output lacks '%s':\n%s", t[i].win,
               code, t[i].code, t[i].msg, o);
        if (t[i].code == 2)
            CHECKF(count_matching(o, "slide-train:") == 1 &&
                       count_matching(o, "--profile-batches") == 1,
                   "--profile-batches %s: not one line naming the option:\n%s", t[i].win, o);
        free(o);
    }
    /* the window run stopped after batch 3: its one row (no evaluation before) is iter 3 */
    char *c = spawn_read(csv, NULL);
    CHECKF(c && count_lines(c) == 2, "%s: %d lines, expected a header and one row", csv,
           c ? count_lines(c) : -1);
    if (c && count_lines(c) == 2) {
        int c_iter = csv_col(c, "iter");
        CHECKF(c_iter >= 0 && num(strchr(c, '\n') + 1, c_iter) == 3,
               "the window run's row is not iter 3");
    }
    free(c);
    return 1;
}

/* Bad input of the script: AVX-512, and no valgrind (by name, and with PATH stripped). */
static void test_script_input(const char *dir, const char *bin) {
    char cmd[2048], log[600];
    snprintf(log, sizeof log, "%s/in.log", dir);
    char *o = NULL;
    snprintf(cmd, sizeof cmd, "sh " SCRIPT " --simd avx512 --bin '%s' --out '%s/x'", bin, dir);
    int rc = sh(cmd, log, &o);
    CHECKF(rc == 2 && count_lines(o) == 1 && strstr(o, "AVX-512"),
           "--simd avx512: exit %d, expected 2 and one line naming AVX-512:\n%s", rc, o);
    free(o);
    snprintf(cmd, sizeof cmd, "SLIDE_VALGRIND=/nonexistent/valgrind sh " SCRIPT
             " --data tiny --bin '%s' --out '%s/x'", bin, dir);
    rc = sh(cmd, log, &o);
    CHECKF(rc == 0 && count_lines(o) == 1 && strstr(o, "valgrind not found") &&
               strstr(o, "Debian package valgrind"),
           "no valgrind: exit %d, expected 0 and one line naming the package:\n%s", rc, o);
    free(o);
    /* PATH holding the usual tools but not valgrind */
    snprintf(cmd, sizeof cmd,
             "d='%s/tools' && mkdir -p \"$d\" && for t in sh dirname grep sed awk cat mkdir date; "
             "do ln -sf \"$(command -v $t)\" \"$d/$t\"; done && PATH=\"$d\" sh " SCRIPT
             " --data tiny --bin '%s' --out '%s/x'", dir, bin, dir);
    rc = sh(cmd, log, &o);
    CHECKF(rc == 0 && count_lines(o) == 1 && strstr(o, "apt-get install valgrind"),
           "PATH without valgrind: exit %d, expected 0 and one line:\n%s", rc, o);
    free(o);
    snprintf(cmd, sizeof cmd, "sh " SCRIPT " --help");
    rc = sh(cmd, log, &o);
    size_t w = 0;
    for (const char *p = o; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > w) w = n;
        p += n + (p[n] == '\n');
    }
    CHECKF(rc == 0 && strstr(o, "usage:") && w <= 100, "--help: exit %d, widest line %zu", rc, w);
    free(o);
}

/* A real profile of 2 tiny batches under valgrind. */
static void test_real(const char *dir, const char *bin) {
    char cmd[2048], log[600], path[600];
    snprintf(log, sizeof log, "%s/real.log", dir);
    snprintf(cmd, sizeof cmd, "sh " SCRIPT " --data tiny --window 2:3 --bin '%s' --out '%s/real'",
             bin, dir);
    double t0 = slide_now();
    char *o = NULL;
    int rc = sh(cmd, log, &o);
    printf("real tiny profile: %.1f s\n", slide_now() - t0);
    CHECKF(rc == 0, "profile of the tiny set exited %d:\n%s", rc, o);
    free(o);
    snprintf(path, sizeof path, "%s/real/train.cache.csv", dir);
    char *c = spawn_read(path, NULL);
    CHECKF(c != NULL, "%s not written", path);
    if (!c) return;
    check_rows(c, "tiny profile", 0);
    int c_ph = csv_col(c, "phase"), c_lv = csv_col(c, "level");
    const char *row = find_row(c, c_ph, "total", c_lv, "D1");
    if (row) {
        char f[256];
        CHECKF(num(row, csv_col(c, "refs")) > 1000, "total D1 refs %g",
               num(row, csv_col(c, "refs")));
        csv_field(row, csv_col(c, "samples"), f, sizeof f);
        CHECKF(!strcmp(f, "256"), "samples '%s', expected 256 (2 batches of 128)", f);
        csv_field(row, csv_col(c, "run_id"), f, sizeof f);
        CHECKF(strcmp(f, "NA") != 0 && f[0], "run_id '%s'", f);
        csv_field(row, csv_col(c, "simd"), f, sizeof f);
        CHECKF(!strcmp(f, "avx2") || !strcmp(f, "scalar"), "simd '%s'", f);
    }
    row = find_row(c, c_ph, "forward", c_lv, "D1");
    CHECKF(row && num(row, csv_col(c, "refs")) > 0, "no forward references");
    free(c);

    /* Batches before the window trained natively into a checkpoint (the default) or under
     * valgrind: the same work (references), misses alike (addresses differ a little). */
    double v[2][2] = {{0, 0}, {0, 0}};
    for (int m = 0; m < 2; m++) {
        snprintf(cmd, sizeof cmd, "sh " SCRIPT " --data tiny --window 4:5 %s --bin '%s' "
                 "--out '%s/warm%d'", m ? "--valgrind-warmup" : "", bin, dir, m);
        rc = sh(cmd, log, &o);
        CHECKF(rc == 0, "window 4:5 (%s warm-up) exited %d:\n%s", m ? "valgrind" : "native", rc, o);
        free(o);
        snprintf(path, sizeof path, "%s/warm%d/train.cache.csv", dir, m);
        c = spawn_read(path, NULL);
        if (!c) continue;
        const char *fr = find_row(c, csv_col(c, "phase"), "forward", csv_col(c, "level"), "D1");
        const char *tr = find_row(c, csv_col(c, "phase"), "total", csv_col(c, "level"), "D1");
        if (fr && tr) {
            v[m][0] = num(fr, csv_col(c, "refs"));
            v[m][1] = num(tr, csv_col(c, "misses"));
        }
        free(c);
    }
    CHECKF(v[0][0] > 0 && v[0][0] == v[1][0], "forward D1 refs %g (native warm-up) vs %g",
           v[0][0], v[1][0]);
    CHECKF(v[0][1] > 0 && fabs(v[0][1] - v[1][1]) <= 0.1 * v[1][1],
           "total D1 misses %g (native warm-up) vs %g", v[0][1], v[1][1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char dir[300];
    snprintf(dir, sizeof dir, "%.299s", test_tmpdir());
    test_fixture(dir);
    test_phase_table(dir);

    char train[PATH_MAX + 32], gen[PATH_MAX + 32], bin[300];
    if (!spawn_find_prog("slide-train", train, sizeof train) ||
        !spawn_find_prog("slide-gen", gen, sizeof gen)) {
        printf("note: slide-train / slide-gen not in $SLIDE_BIN: program checks skipped\n");
        TEST_MAIN_END();
    }
    if (strlen(train) >= sizeof bin) {
        printf("note: %s: path too long for this test\n", train);
        TEST_MAIN_END();
    }
    snprintf(bin, sizeof bin, "%.299s", train);
    *strrchr(bin, '/') = '\0';
    test_script_input(dir, bin);
    char data[320];
    snprintf(data, sizeof data, "%.299s/data", dir);
    char *gargv[] = {gen, "--preset", "tiny", "--scale", "0.2", "--seed", "3", "--out", data, NULL};
    int code = spawn_run(gargv, NULL, 60);
    CHECKF(code == 0, "slide-gen exited %d", code);
    if (code != 0) TEST_MAIN_END();
    int have_requests = test_window(dir, train, data);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    const int sanitized = 1; /* sanitizer runtimes do not run under valgrind */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    const int sanitized = 1;
#else
    const int sanitized = 0;
#endif
#else
    const int sanitized = 0;
#endif
    if (system("command -v valgrind >/dev/null 2>&1") != 0)
        printf("note: valgrind not installed: real profile skipped\n");
    else if (!have_requests || sanitized)
        printf("note: %s: real profile skipped\n",
               sanitized ? "sanitized build" : "no client requests in slide-train");
    else
        test_real(dir, bin);
    if (!t_failures) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    }
    TEST_MAIN_END();
}
