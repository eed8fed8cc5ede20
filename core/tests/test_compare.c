/* make bench-compare (bench/micro/bench_compare.sh): two slide-micro JSON reports through
 * Google Benchmark's compare.py; bad inputs and a missing compare.py are one line, exit 2. */
#include "spawn_util.h"
#include "test_util.h"

#define REF "results/reference/micro-quick-20261126T035030Z.json"
#define SCRIPT "bench/micro/bench_compare.sh"

static int run(char *const argv[], const char *log, char **out) {
    unlink(log);
    const int code = spawn_run(argv, log, 120);
    *out = spawn_read(log, NULL);
    if (!*out) *out = calloc(1, 1);
    return code;
}

static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

int main(void) {
    if (!spawn_exists(SCRIPT) || !spawn_exists(REF)) {
        printf("note: run from the repository root (%s, %s)\n", SCRIPT, REF);
        return 1;
    }
    char dir[] = "/tmp/slide-test-compare-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char log[128], bad[128], *out;
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    FILE *f = fopen(bad, "w");
    if (f) {
        fputs("name,iterations\nx,1\n", f);
        fclose(f);
    }
    int code = run((char *[]){"/bin/sh", SCRIPT, "--help", NULL}, log, &out);
    CHECKF(code == 0 && strstr(out, "usage:"), "--help: %d %s", code, out);
    free(out);
    code = run((char *[]){"/bin/sh", SCRIPT, REF, NULL}, log, &out);
    CHECKF(code == 2 && lines(out) == 1 && strstr(out, "two JSON"), "one file: %d %s", code, out);
    free(out);
    code = run((char *[]){"/bin/sh", SCRIPT, REF, "/nonexistent.json", NULL}, log, &out);
    CHECKF(code == 2 && lines(out) == 1 && strstr(out, "/nonexistent.json"), "missing: %d %s",
           code, out);
    free(out);
    code = run((char *[]){"/bin/sh", SCRIPT, bad, REF, NULL}, log, &out);
    CHECKF(code == 2 && lines(out) == 1 && strstr(out, "not a Google Benchmark JSON"),
           "CSV as JSON: %d %s", code, out);
    free(out);
    setenv("COMPARE_PY", "/nonexistent/compare.py", 1);
    code = run((char *[]){"/bin/sh", SCRIPT, REF, REF, NULL}, log, &out);
    unsetenv("COMPARE_PY");
    CHECKF(code == 2 && lines(out) == 1 && strstr(out, "libbenchmark-tools"),
           "no compare.py: %d %s", code, out);
    free(out);
    /* the real comparison, where the tools are installed (.ci/run installs them) */
    if (spawn_exists("/usr/share/benchmark/compare.py") &&
        system("/usr/bin/python3 -c 'import scipy, numpy' 2>/dev/null") == 0) {
        code = run((char *[]){"/bin/sh", SCRIPT, REF, REF, NULL}, log, &out);
        CHECKF(code == 0 && strstr(out, "Comparing") && strstr(out, "hash_dense/") &&
                   !strstr(out, "\033["),
               "A vs A: %d %.300s", code, out);
        /* identical reports: every time change is +0.0000 */
        CHECKF(strstr(out, "+0.0000") && !strstr(out, "-0.0"), "A vs A not all zero");
        free(out);
    } else {
        printf("note: compare.py or scipy missing (apt-get install libbenchmark-tools "
               "python3-scipy python3-numpy): the real comparison skipped\n");
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    TEST_MAIN_END();
}
