/* Tests the figure scripts (plots/): plot_all.sh draws every figure of the fixture run directory
 * (PNG + SVG, non-empty, no gnuplot or awk message), of an empty one and of one with unusable
 * CSVs (placeholders, still no message). Runs from the repository root; skips without gnuplot. */
#include "test_util.h"

#include <sys/stat.h>

static const char *const FIGURES[] = {
    "p1_vs_time",   "p1_vs_iter",  "threads",      "hash_families", "bucket_insert",
    "hugepages",    "micro_hash",  "micro_query",  "micro_matmul",  "micro_gather",
    "breakdown",    "recall",      "kern",         "parse",        "table4",
    "sampling",     "sampling_time", "scaleout",
};
#define N_FIGURES (sizeof FIGURES / sizeof FIGURES[0])

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* Case-insensitive search. */
static int contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 32) == (needle[i] | 32)) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* Runs plot_all.sh on run_dir into out_dir; returns its exit status and the output in *log. */
static int run_plots(const char *run_dir, const char *out_dir, char **log) {
    char cmd[1024], log_path[512];
    snprintf(log_path, sizeof log_path, "%s.log", out_dir);
    snprintf(cmd, sizeof cmd, "sh plots/plot_all.sh '%s' '%s' >'%s' 2>&1", run_dir, out_dir, log_path);
    int rc = system(cmd);
    *log = slurp(log_path, NULL);
    if (!*log) *log = calloc(1, 1);
    return rc;
}

/* Every figure exists as a non-empty PNG (magic bytes) and a complete SVG. */
static void check_figures(const char *out_dir) {
    for (size_t i = 0; i < N_FIGURES; i++) {
        char path[600];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s.png", out_dir, FIGURES[i]);
        char *png = slurp(path, &len);
        CHECKF(png && len > 1000 && !memcmp(png, "\x89PNG", 4), "%s: missing, empty or not a PNG", path);
        free(png);
        snprintf(path, sizeof path, "%s/%s.svg", out_dir, FIGURES[i]);
        char *svg = slurp(path, &len);
        CHECKF(svg && len > 1000 && strstr(svg, "<svg") && strstr(svg, "</svg>"),
               "%s: missing, empty or incomplete SVG", path);
        free(svg);
    }
}

/* No message from gnuplot or awk, nothing that reads as a warning or an error. */
static void check_quiet(const char *what, const char *log) {
    CHECKF(!strstr(log, "[gnuplot ") && !strstr(log, "[awk "), "%s: gnuplot/awk printed:\n%s", what, log);
    CHECKF(!contains_ci(log, "warning") && !contains_ci(log, "error"), "%s: warning or error in:\n%s",
           what, log);
    CHECKF(strstr(log, "0 failed, 0 gnuplot messages") != NULL, "%s: summary line missing:\n%s", what, log);
}

static int count(const char *log, const char *needle) {
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

int main(void) {
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("SKIP test_plots: gnuplot not installed (apt-get install --no-install-recommends gnuplot-nox)\n");
        return 0;
    }
    struct stat st;
    if (stat("plots/plot_all.sh", &st) != 0 || stat("plots/fixtures/run/e2e.csv", &st) != 0) {
        fprintf(stderr, "test_plots: run from the repository root (plots/plot_all.sh not found)\n");
        return 1;
    }
    const char *tmp = test_tmpdir();
    char out[300], run[300], path[400], *log = NULL;

    /* 1. The fixture run: every figure drawn, only parse is a placeholder (no parse CSV there). */
    int had_figures_dir = stat("plots/fixtures/run/figures", &st) == 0;
    snprintf(out, sizeof out, "%s/fixture", tmp);
    int rc = run_plots("plots/fixtures/run", out, &log);
    CHECKF(rc == 0, "plot_all.sh on the fixtures exited %d:\n%s", rc, log);
    check_figures(out);
    check_quiet("fixtures", log);
    CHECKF(count(log, ": no data:") == 1 && strstr(log, "[plots] parse: no data:"),
           "fixtures: expected exactly one placeholder (parse):\n%s", log);
    CHECK(had_figures_dir || stat("plots/fixtures/run/figures", &st) != 0);
    free(log);

    /* 2. An empty run directory: every figure is a placeholder saying why. */
    snprintf(run, sizeof run, "%s/empty-run", tmp);
    snprintf(path, sizeof path, "mkdir -p '%s'", run);
    CHECK(system(path) == 0);
    snprintf(out, sizeof out, "%s/empty", tmp);
    rc = run_plots(run, out, &log);
    CHECKF(rc == 0, "plot_all.sh on an empty run exited %d:\n%s", rc, log);
    check_figures(out);
    check_quiet("empty run", log);
    CHECKF(count(log, ": no data:") == (int)N_FIGURES, "empty run: expected %d placeholders:\n%s",
           (int)N_FIGURES, log);
    free(log);

    /* 3. Unusable CSVs: a header without rows, foreign columns, NA everywhere. */
    snprintf(run, sizeof run, "%s/odd-run", tmp);
    snprintf(path, sizeof path, "mkdir -p '%s'", run);
    CHECK(system(path) == 0);
    snprintf(path, sizeof path, "%s/e2e.csv", run);
    CHECK(write_file(path, "run_id,system,dataset,train_s,iter,p_at_1\n") == 0);
    snprintf(path, sizeof path, "%s/threads.csv", run);
    CHECK(write_file(path, "run_id,system,dataset,threads,train_s,p_at_1,epoch\n"
                           "a,slide,d,1,NA,NA,NA\nb,slide,d,2,1.0,NA,NA\n") == 0);
    snprintf(path, sizeof path, "%s/hash.csv", run);
    CHECK(write_file(path, "something,else\n1,2\n") == 0);
    snprintf(path, sizeof path, "%s/micro.csv", run);
    CHECK(write_file(path, "name,family,args,threads,run_type,aggregate_name,real_time_ns,"
                           "error_message\nlsh_insert/fifo,lsh_insert,fifo/n:1,1,iteration,NA,NA,"
                           "could not run here\n") == 0);
    snprintf(path, sizeof path, "%s/hugepages.csv", run);
    CHECK(write_file(path, "run_id,hugepages_requested,train_s,epoch,samples_seen,papi_tlb_dm\n"
                           "r,thp,2.0,1.0,1000,NA\n") == 0);
    snprintf(path, sizeof path, "%s/e2e.breakdown.csv", run);
    CHECK(write_file(path, "run_id,system,train_s,samples\nr,slide,0,0\n") == 0);
    snprintf(path, sizeof path, "%s/odd.tlb.csv", run);
    CHECK(write_file(path, "run_id,host,layer,phase\nr,h,output,all\n") == 0);
    snprintf(path, sizeof path, "%s/hugepages.breakdown.csv", run);
    CHECK(write_file(path, "run_id,hugepages_requested,train_s,samples_seen,rusage_minflt\n"
                           "r,thp,1.0,1000,50\n") == 0);
    snprintf(path, sizeof path, "%s/e2e.recall.csv", run);
    CHECK(write_file(path, "run_id,dataset,iter,neurons_of,cos_lo,neurons,found\n"
                           "r,d,NA,top5,0.1,5,1\nr,d,3,top5,NA,5,1\nr,d,3,other,0.1,5,1\n"
                           "r,d,3,random,0.2,0,0\n") == 0);
    snprintf(out, sizeof out, "%s/odd", tmp);
    rc = run_plots(run, out, &log);
    CHECKF(rc == 0, "plot_all.sh on odd CSVs exited %d:\n%s", rc, log);
    check_figures(out);
    check_quiet("odd CSVs", log);
    free(log);

    /* 4. runs.awk: with P1_TARGET 0.6, run b never reaches it (reach_s NA), run a first at 2 s; the
     * budget is the shortest run (2 s); without a target it is 90 % of the lowest best P@1. */
    static const char *const HEAD =
        "run_id,dataset,threads,train_s,p_at_1,best_p_at_1,budget_s,p_at_budget,target,reach_s\n";
    static const char *const WANT[2] = {
        "a,d,1,3.0,0.65,0.7,2,0.7,0.6,2\nb,d,2,2.0,0.4,0.4,2,0.4,0.6,NA\n",
        "a,d,1,3.0,0.65,0.7,2,0.7,0.36,1\nb,d,2,2.0,0.4,0.4,2,0.4,0.36,2\n",
    };
    char csv[300], res[320], cmd[1200];
    snprintf(csv, sizeof csv, "%s/runs.csv", tmp);
    CHECK(write_file(csv, "run_id,dataset,threads,train_s,p_at_1\na,d,1,1.0,0.5\na,d,1,2.0,0.7\n"
                          "a,d,1,3.0,0.65\nb,d,2,1.0,0.3\nb,d,2,2.0,0.4\n") == 0);
    for (int t = 0; t < 2; t++) {
        snprintf(cmd, sizeof cmd, "awk -v keys=run_id %s -f plots/runs.awk '%s' >'%s.out' 2>&1",
                 t ? "" : "-v target=0.6", csv, csv);
        CHECK(system(cmd) == 0);
        snprintf(res, sizeof res, "%s.out", csv);
        char *got = slurp(res, NULL);
        size_t nh = strlen(HEAD);
        CHECKF(got && !strncmp(got, HEAD, nh) && !strcmp(got + nh, WANT[t]), "runs.awk (%s target) printed:\n%s",
               t ? "default" : "0.6", got ? got : "");
        free(got);
    }

    /* 5. A missing run directory is a usage error. */
    snprintf(path, sizeof path, "sh plots/plot_all.sh '%s/no-such-run' >/dev/null 2>&1", tmp);
    CHECK(system(path) != 0);

    snprintf(path, sizeof path, "rm -rf '%s'", tmp);
    if (!t_failures && system(path) != 0) fprintf(stderr, "note: could not remove %s\n", tmp);
    TEST_MAIN_END();
}
