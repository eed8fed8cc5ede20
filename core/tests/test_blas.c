/* The dense baselines' BLAS layer: the OpenBLAS kernel choice (pure table and the restart that
 * applies it), every kernel this CPU runs against a scalar reference (slide-bench-sgemm
 * --check), BLIS, bad --blas/--blas-core values, and the FMA peak with peak_frac in the CSV. */
#include "blas.h"
#include "peak.h"
#include "spawn_util.h"
#include "test_util.h"

static void test_pick_table(void) {
    const slide_cpu_isa sse = {0, 0, 0, 0}, avx2_intel = {1, 0, 0, 0}, avx2_amd = {1, 0, 0, 1};
    const slide_cpu_isa skx = {1, 1, 0, 0}, spr = {1, 1, 1, 0}, zen4 = {1, 1, 1, 1};
    struct {
        const char *core;
        const slide_cpu_isa *cpu;
        const char *want; /* NULL: keep */
    } c[] = {{"Prescott", &spr, "Cooperlake"}, {"prescott", &skx, "SkylakeX"},
             {"Nehalem", &avx2_amd, "Zen"},    {"Core2", &avx2_intel, "Haswell"},
             {"Sandybridge", &avx2_intel, "Haswell"}, {"Prescott", &zen4, "Cooperlake"},
             {"Prescott", &sse, NULL},         {"Haswell", &spr, NULL},
             {"Zen", &zen4, NULL},             {"SkylakeX", &spr, NULL},
             {"Cooperlake", &avx2_intel, NULL}, {"NoSuchCore", &spr, NULL},
             {NULL, &spr, NULL}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const char *got = slide_blas_pick_core(c[i].core, c[i].cpu);
        CHECKF((!got && !c[i].want) || (got && c[i].want && !strcmp(got, c[i].want)),
               "pick(%s) = %s, want %s", c[i].core ? c[i].core : "NULL", got ? got : "keep",
               c[i].want ? c[i].want : "keep");
    }
    CHECK(slide_blas_core_level("PRESCOTT") == 1 && slide_blas_core_level("sandybridge") == 2);
    CHECK(slide_blas_core_level("Haswell") == 3 && slide_blas_core_level("zen") == 3);
    CHECK(slide_blas_core_level("SkylakeX") == 4 && slide_blas_core_level("Cooperlake") == 5);
    CHECK(slide_blas_core_level("x") == 0 && slide_blas_core_level(NULL) == 0);
    CHECK(slide_blas_get("openblas") != NULL && slide_blas_get("mkl") == NULL);
}

/* Runs slide-bench-sgemm with args; returns its exit code, its output in *out (caller frees). */
static int run_sgemm(const char *prog, const char *log, char *const args[], char **out) {
    char *argv[16] = {(char *)prog};
    int n = 1;
    for (; args[n - 1] && n < 15; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    unlink(log);
    const int code = spawn_run(argv, log, 120);
    *out = spawn_read(log, NULL);
    if (!*out) *out = calloc(1, 1);
    return code;
}

static void test_kernels(const char *sgemm, const char *dir) {
    char log[300], *out;
    snprintf(log, sizeof log, "%s/sgemm.log", dir);
    const slide_cpu_isa cpu = slide_cpu_isa_detect();
    /* auto: on a CPU with AVX2 the kernel that runs is never a generic fallback */
    int code = run_sgemm(sgemm, log, (char *[]){"--check", NULL}, &out);
    CHECKF(code == 0, "--check (auto) exited %d: %s", code, out);
    char core[64] = "";
    const char *k = strstr(out, "check openblas kernel ");
    if (k) sscanf(k + 22, "%63[^:]", core);
    if (cpu.avx2_fma)
        CHECKF(slide_blas_core_level(core) >= 3, "auto ran kernel '%s' on an AVX2 CPU", core);
    printf("auto kernel: %s\n", core);
    free(out);
    /* every kernel this CPU can run, forced: the restart must take and the results be right */
    const char *cores[] = {"Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX",
                           "Cooperlake"};
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        const int lv = slide_blas_core_level(cores[i]);
        if ((lv >= 2 && !__builtin_cpu_supports("avx")) || (lv == 3 && !cpu.avx2_fma) ||
            (lv == 4 && !cpu.avx512) || (lv == 5 && !cpu.avx512_bf16))
            continue;
        code = run_sgemm(sgemm, log, (char *[]){"--check", "--blas-core", (char *)cores[i], NULL},
                         &out);
        char want[96];
        snprintf(want, sizeof want, "check openblas kernel %s: ok", cores[i]);
        CHECKF(code == 0 && strstr(out, want), "--blas-core %s: exit %d: %s", cores[i], code, out);
        free(out);
    }
    /* the user's OPENBLAS_CORETYPE is kept under auto */
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    code = run_sgemm(sgemm, log, (char *[]){"--check", NULL}, &out);
    unsetenv("OPENBLAS_CORETYPE");
    CHECKF(code == 0 && strstr(out, "kernel Prescott: ok") && strstr(out, "from the environment"),
           "env OPENBLAS_CORETYPE=Prescott: exit %d: %s", code, out);
    free(out);
    /* BLIS, when built in */
    if (slide_blas_get("blis")) {
        code = run_sgemm(sgemm, log, (char *[]){"--check", "--blas", "blis", NULL}, &out);
        CHECKF(code == 0 && strstr(out, "check blis kernel"), "--blas blis: exit %d: %s", code, out);
        free(out);
        code = run_sgemm(sgemm, log, (char *[]){"--check", "--blas", "blis", "--blas-core",
                                                "Haswell", NULL}, &out);
        CHECKF(code == 2 && strstr(out, "only OpenBLAS kernels"), "blis + --blas-core: %d: %s",
               code, out);
        free(out);
    } else {
        printf("note: BLIS not built in: its checks skipped\n");
    }
    /* bad input: one line, exit 2 */
    code = run_sgemm(sgemm, log, (char *[]){"--check", "--blas-core", "NoSuchCore", NULL}, &out);
    CHECKF(code == 2 && strstr(out, "--blas-core NoSuchCore") && strstr(out, "does not provide"),
           "--blas-core NoSuchCore: exit %d: %s", code, out);
    free(out);
    code = run_sgemm(sgemm, log, (char *[]){"--check", "--blas", "mkl", NULL}, &out);
    CHECKF(code == 2 && strstr(out, "--blas"), "--blas mkl: exit %d: %s", code, out);
    free(out);
}

static void test_peak(void) {
    const float ref = slide_peak_fma_scalar(1000, 1.0f, 1);
#ifdef SLIDE_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        const float v = slide_peak_fma_avx2(1000, 1.0f);
        CHECKF(fabsf(v - 8.0f * ref) <= 1e-5f * fabsf(8.0f * ref), "avx2 %g vs 8 x %g", v, ref);
    }
#endif
#ifdef SLIDE_HAVE_AVX512
    if (slide_cpu_isa_detect().avx512) {
        const float v = slide_peak_fma_avx512(1000, 1.0f);
        CHECKF(fabsf(v - 16.0f * ref) <= 1e-5f * fabsf(16.0f * ref), "avx512 %g vs 16 x %g", v,
               ref);
    }
#endif
    CHECK(slide_peak_flops_per_iter(1) == 192.0 && slide_peak_flops_per_iter(2) == 384.0);
    slide_peak_result r;
    CHECK(slide_peak_measure(1, 0, 10, 3, &r) == -1 && slide_peak_measure(7, 1, 10, 3, &r) == -1);
    if (slide_peak_best(2, 20, 3, &r) == 0) {
        /* at most 2 x 512-bit FMA units at 6 GHz per thread: a wrong flop count exceeds it */
        CHECKF(r.gflops > 0 && r.gflops_min <= r.gflops && r.gflops <= r.gflops_max &&
                   r.gflops_max < 2 * 384.0 * 6.0,
               "peak %.1f (%.1f-%.1f) GFLOP/s on 2 threads", r.gflops, r.gflops_min,
               r.gflops_max);
        printf("peak: %.1f GFLOP/s on 2 threads (%s)\n", r.gflops, r.isa == 2 ? "avx512" : "avx2");
    }
}

/* slide-dense writes peak_gflops and peak_frac (NA with --peak-ms 0) and the kernel in simd. */
static void test_dense_columns(const char *bin, const char *dir) {
    char dense[PATH_MAX + 64], gen[PATH_MAX + 64], data[256], tr[300], te[300], csv[300], log[300];
    if (!spawn_find_prog("slide-dense", dense, sizeof dense) ||
        !spawn_find_prog("slide-gen", gen, sizeof gen)) {
        printf("note: slide-dense / slide-gen not in %s: CSV checks skipped\n", bin);
        return;
    }
    snprintf(data, sizeof data, "%s/data", dir);
    char *gargv[] = {gen, "--preset", "tiny", "--scale", "0.2", "--seed", "3", "--out", data, NULL};
    CHECK(spawn_run(gargv, NULL, 60) == 0);
    snprintf(tr, sizeof tr, "%s/train.txt", data);
    snprintf(te, sizeof te, "%s/test.txt", data);
    for (int skip = 0; skip < 2; skip++) {
        snprintf(csv, sizeof csv, "%s/dense%d.csv", dir, skip);
        snprintf(log, sizeof log, "%s/dense%d.log", dir, skip);
        char *argv[] = {dense, "--train", tr, "--test", te, "--epochs", "1", "--eval-every", "0",
                        "--progress", "0", "--csv", csv, "--peak-ms", skip ? "0" : "20", NULL};
        const int code = spawn_run(argv, log, 120);
        CHECKF(code == 0, "slide-dense exited %d (log %s)", code, log);
        char *t = spawn_read(csv, NULL);
        CHECK(t != NULL);
        if (!t) continue;
        char pk[64] = "", fr[64] = "", simd[64] = "", g[64] = "";
        size_t n = strlen(t);
        while (n > 0 && t[n - 1] == '\n') t[--n] = '\0';
        const char *last = strrchr(t, '\n');
        const char *row = last ? last + 1 : t;
        csv_field(row, csv_col(t, "peak_gflops"), pk, sizeof pk);
        csv_field(row, csv_col(t, "peak_frac"), fr, sizeof fr);
        csv_field(row, csv_col(t, "simd"), simd, sizeof simd);
        csv_field(row, csv_col(t, "gflops"), g, sizeof g);
        CHECKF(!strncmp(simd, "openblas-", 9), "simd %s", simd);
        if (skip) {
            CHECKF(!strcmp(pk, "NA") && !strcmp(fr, "NA"), "--peak-ms 0: %s %s", pk, fr);
        } else if (slide_cpu_isa_detect().avx2_fma) {
            const double p = atof(pk), f = atof(fr), gf = atof(g);
            /* the CSV prints peak_gflops %.1f, gflops %.2f, peak_frac %.4f: agree within that */
            CHECKF(p > 0 && f > 0 && fabs(f - gf / p) <= f * (0.05 / p + 0.005 / gf) + 1e-4,
                   "peak_gflops %s peak_frac %s gflops %s", pk, fr, g);
            CHECKF(slide_blas_core_level(simd + 9) >= 3 || slide_blas_core_level(simd + 9) == 0,
                   "slide-dense ran a generic kernel: %s", simd);
        }
        free(t);
    }
}

int main(void) {
    test_pick_table();
    test_peak();
    char sgemm[PATH_MAX + 64];
    char dir[] = "/tmp/slide-test-blas-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    if (spawn_find_prog("slide-bench-sgemm", sgemm, sizeof sgemm)) {
        test_kernels(sgemm, dir);
        test_dense_columns(getenv("SLIDE_BIN") ? getenv("SLIDE_BIN") : "build/bin", dir);
    } else {
        printf("note: slide-bench-sgemm not in $SLIDE_BIN: kernel checks skipped\n");
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    TEST_MAIN_END();
}
