/* Tests of slide-gbench2csv (JSON report -> CSV: context, units, NaN/errors as NA, counter union,
 * malformed input) and, when slide-micro was built, a tiny end-to-end run through both programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/tests/test_util.h"

static char g_bin[512];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* Reads a whole file (caller frees); NULL when missing. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* Splits line i (0-based) of csv into at most 64 fields (modifies a copy; caller frees *buf). */
static int fields(const char *csv, int line, char **buf, char *out[64]) {
    const char *p = csv;
    for (int i = 0; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return 0;
    size_t len = strcspn(p, "\n");
    *buf = strndup(p, len);
    int n = 0;
    char *s = *buf;
    while (n < 64) {
        out[n++] = s;
        char *c = strchr(s, ',');
        if (!c) break;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

static int col(char *hdr[64], int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(hdr[i], name)) return i;
    return -1;
}

static int run(const char *cmd) {
    int rc = system(cmd);
    return rc == -1 ? -1 : (rc >> 8) & 0xff;
}

static const char *kReport =
    "{\n"
    "  \"context\": {\"date\": \"2026-01-01T00:00:00+00:00\", \"host_name\": \"gbhost\",\n"
    "    \"run_id\": \"r1\", \"utc\": \"2026-01-01T00:00:00Z\", \"git_commit\": \"abc\",\n"
    "    \"host\": \"h,1\", \"cpu_model\": \"CPU \\\"X\\\"\", \"simd\": \"avx2\",\n"
    "    \"hugepages\": \"thp\", \"papi\": \"perf::PAGE-FAULTS\", \"loadavg_start\": \"0.50\",\n"
    "    \"caches\": [{\"type\": \"Data\", \"level\": 1, \"size\": 32768}], \"load_avg\": [0.5,0.4]},\n"
    "  \"benchmarks\": [\n"
    "    {\"name\": \"fam/a:1/real_time/threads:2\", \"family_index\": 0,\n"
    "     \"run_name\": \"fam/a:1/real_time/threads:2\", \"run_type\": \"iteration\",\n"
    "     \"repetitions\": 1, \"repetition_index\": 0, \"threads\": 2, \"iterations\": 100,\n"
    "     \"real_time\": 1.5, \"cpu_time\": 2.5e0, \"time_unit\": \"us\", \"rate\": 1e6,\n"
    "     \"loadavg\": 0.5, \"label\": \"avx2\"},\n"
    "    {\"name\": \"fam/a:2\", \"run_name\": \"fam/a:2\", \"run_type\": \"iteration\",\n"
    "     \"threads\": 1, \"iterations\": 0, \"real_time\": 0, \"cpu_time\": 0, \"time_unit\": \"ns\",\n"
    "     \"error_occurred\": true, \"error_message\": \"avx512 not supported, really\"},\n"
    "    {\"name\": \"fam/a:3_cv\", \"run_name\": \"fam/a:3\", \"run_type\": \"aggregate\",\n"
    "     \"aggregate_name\": \"cv\", \"aggregate_unit\": \"percentage\", \"threads\": 1,\n"
    "     \"iterations\": 3, \"real_time\": 0.05, \"cpu_time\": 0.04, \"time_unit\": \"ms\",\n"
    "     \"other\": NaN, \"rate\": -Infinity}\n"
    "  ]\n"
    "}\n";

static void test_convert(const char *dir) {
    char in[600], out[600], cmd[2048];
    snprintf(in, sizeof in, "%s/r.json", dir);
    snprintf(out, sizeof out, "%s/r.csv", dir);
    write_file(in, kReport);
    snprintf(cmd, sizeof cmd, "%s/slide-gbench2csv %s %s", g_bin, in, out);
    CHECK(run(cmd) == 0);
    char *csv = slurp(out);
    CHECK(csv != NULL);
    if (!csv) return;
    char *hb = NULL, *b1 = NULL, *b2 = NULL, *b3 = NULL, *h[64], *r1[64], *r2[64], *r3[64];
    int nh = fields(csv, 0, &hb, h), n1 = fields(csv, 1, &b1, r1), n2 = fields(csv, 2, &b2, r2);
    int n3 = fields(csv, 3, &b3, r3);
    char *b4 = NULL, *r4[64];
    CHECK(fields(csv, 4, &b4, r4) == 0); /* three rows, nothing more */
    free(b4);
    CHECKF(nh == n1 && nh == n2 && nh == n3, "%d %d %d %d fields", nh, n1, n2, n3);
    CHECK(!strcmp(h[0], "run_id") && !strcmp(r1[0], "r1"));
    CHECK(!strcmp(r1[col(h, nh, "host")], "h_1")); /* commas cannot split a field */
    CHECK(!strcmp(r1[col(h, nh, "cpu_model")], "CPU _X_"));
    CHECK(!strcmp(r1[col(h, nh, "loadavg_start")], "0.50"));
    CHECK(!strcmp(r1[col(h, nh, "family")], "fam"));
    CHECK(!strcmp(r1[col(h, nh, "args")], "a:1"));
    CHECK(!strcmp(r1[col(h, nh, "threads")], "2"));
    CHECK(!strcmp(r1[col(h, nh, "real_time_ns")], "1500"));
    CHECK(!strcmp(r1[col(h, nh, "cpu_time_ns")], "2500"));
    CHECK(!strcmp(r1[col(h, nh, "rate")], "1e6"));
    CHECK(!strcmp(r1[col(h, nh, "label")], "avx2"));
    CHECK(!strcmp(r1[col(h, nh, "error_message")], "NA"));
    CHECK(col(h, nh, "other") > 0 && !strcmp(r1[col(h, nh, "other")], "NA"));
    CHECK(col(h, nh, "loadavg") > 0); /* a counter beside the context's loadavg_start */
    CHECK(col(h, nh, "caches") < 0 && col(h, nh, "family_index") < 0);
    /* the failed configuration has no numbers, only its reason */
    CHECK(!strcmp(r2[col(h, nh, "error_message")], "avx512 not supported_ really"));
    CHECK(!strcmp(r2[col(h, nh, "real_time_ns")], "NA"));
    CHECK(!strcmp(r2[col(h, nh, "iterations")], "NA"));
    CHECK(!strcmp(r2[col(h, nh, "rate")], "NA"));
    /* cv rows keep their fraction; NaN and -Infinity are NA */
    CHECK(!strcmp(r3[col(h, nh, "aggregate_name")], "cv"));
    CHECK(!strcmp(r3[col(h, nh, "real_time_ns")], "0.05"));
    CHECK(!strcmp(r3[col(h, nh, "other")], "NA"));
    CHECK(!strcmp(r3[col(h, nh, "rate")], "NA"));
    free(hb);
    free(b1);
    free(b2);
    free(b3);
    free(csv);

    /* malformed input: nonzero exit, the old output stays, no temp file left */
    snprintf(in, sizeof in, "%s/bad.json", dir);
    write_file(in, "{\"benchmarks\": [ {\"name\": \"x\", } ]}");
    snprintf(cmd, sizeof cmd, "%s/slide-gbench2csv %s %s 2>/dev/null", g_bin, in, out);
    CHECK(run(cmd) == 1);
    write_file(in, "[1, 2]");
    CHECK(run(cmd) == 1);
    snprintf(cmd, sizeof cmd, "%s/slide-gbench2csv %s/missing.json %s 2>/dev/null", g_bin, dir,
             out);
    CHECK(run(cmd) == 1);
    char *again = slurp(out);
    CHECK(again && !strncmp(again, "run_id,", 7));
    free(again);
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", dir);
    CHECK(run(cmd) != 0);
}

/* slide-micro -> JSON -> CSV with one fast benchmark and one that cannot run (too many threads
 * on a small machine, or runs on a big one). */
static void test_end_to_end(const char *dir) {
    char micro[600], cmd[4096], out[600];
    snprintf(micro, sizeof micro, "%s/slide-micro", g_bin);
    struct stat st;
    if (stat(micro, &st) != 0) {
        fprintf(stderr, "slide-micro not built (no Google Benchmark): end-to-end part skipped\n");
        return;
    }
    snprintf(cmd, sizeof cmd,
             "%s --quick --max-threads=64 --benchmark_min_time=0.01 "
             "--benchmark_filter='hash_dense/dwta/K:6/L:50/probes:0/real_time/threads:(1|64)$' "
             "--benchmark_out=%s/m.json --benchmark_out_format=json >/dev/null 2>%s/m.err "
             "&& %s/slide-gbench2csv %s/m.json %s/m.csv",
             micro, dir, dir, g_bin, dir, dir);
    CHECK(run(cmd) == 0);
    snprintf(out, sizeof out, "%s/m.csv", dir);
    char *csv = slurp(out);
    CHECK(csv != NULL);
    if (!csv) return;
    char *hb = NULL, *b1 = NULL, *b2 = NULL, *h[64], *r1[64], *r2[64];
    int nh = fields(csv, 0, &hb, h), n1 = fields(csv, 1, &b1, r1), n2 = fields(csv, 2, &b2, r2);
    CHECK(nh > 20 && n1 == nh && n2 == nh);
    if (nh > 20 && n1 == nh && n2 == nh) {
        CHECK(strcmp(r1[col(h, nh, "git_commit")], "NA") != 0);
        CHECK(strcmp(r1[col(h, nh, "simd")], "NA") != 0);
        CHECK(strcmp(r1[col(h, nh, "papi")], "NA") != 0);
        CHECK(!strcmp(r1[col(h, nh, "threads")], "1"));
        CHECK(atof(r1[col(h, nh, "vectors_per_s")]) > 0);
        CHECK(col(h, nh, "rusage_minflt") > 0);
        CHECK(col(h, nh, "papi_tot_cyc") < 0 || strcmp(r1[col(h, nh, "papi_tot_cyc")], "NA"));
        CHECK(!strcmp(r2[col(h, nh, "threads")], "64"));
        /* 64 threads: skipped with a reason on a machine with fewer CPUs */
        if (strcmp(r2[col(h, nh, "error_message")], "NA") != 0) {
            CHECK(strstr(r2[col(h, nh, "error_message")], "CPUs available") != NULL);
            CHECK(!strcmp(r2[col(h, nh, "vectors_per_s")], "NA"));
        }
    }
    free(hb);
    free(b1);
    free(b2);
    free(csv);
}

int main(void) {
    const char *bin = getenv("SLIDE_BIN");
    snprintf(g_bin, sizeof g_bin, "%s", bin && *bin ? bin : "build/bin");
    const char *dir = test_tmpdir();
    test_convert(dir);
    test_end_to_end(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!t_failures) CHECK(run(cmd) == 0);
    TEST_MAIN_END();
}
