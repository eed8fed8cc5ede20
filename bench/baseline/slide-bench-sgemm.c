/* slide-bench-sgemm: raw BLAS sgemm GFLOP/s for the three products of the dense output layer
 * (logits = H W1^T, dW1 = delta^T H, dH = delta W1) at a given shape against the machine's FMA
 * peak; warm-up, median of reps. --check compares the kernel with a scalar reference. */
#include "dense.h"
#include "peak.h"
#include "slide/opts.h"
#include "slide/report.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <unistd.h>

/* The bench CSV (results/bench_baseline.csv): one row per product x threading mode, and the
 * rows bench_baseline.sh adds for slide-dense. */
#define BENCH_HEADER                                                                           \
    "utc,host,cpu_model,git_commit,run_id,threads,loadavg,what,mode,batch,hidden,labels,reps,"  \
    "gflops,gflops_min,gflops_max,seconds,samples_per_s,blas_core,blas,peak_gflops,peak_frac,"  \
    "peak_isa"

typedef struct {
    const slide_blas *blas;
    float *hid, *W1, *logits, *gW1, *dhid, *part;
    int64_t B, H, L;
    int T;
} bufs;

enum { P_LOGITS = 0, P_DW1 = 1, P_DH = 2, P_ALL = 3 };
static const char *k_prod[4] = {"sgemm-logits", "sgemm-dW1", "sgemm-dH", "sgemm-all3"};

/* One call of product `prod` (P_ALL: the three in order). split = 0: one sgemm call with
 * OpenBLAS threads; 1: slide-dense's way, label blocks over OpenMP threads, 1-thread sgemm each,
 * dH as per-thread partial products summed afterwards. */
static void run(const bufs *b, int prod, int split) {
    const int B = (int)b->B, H = (int)b->H, L = (int)b->L;
    if (!split) {
        if (prod == P_LOGITS || prod == P_ALL)
            b->blas->sgemm(0, 1, B, L, H, 1.0f, b->hid, H, b->W1, H, 0.0f, b->logits, L);
        if (prod == P_DW1 || prod == P_ALL)
            b->blas->sgemm(1, 0, L, H, B, 1.0f, b->logits, L, b->hid, H, 0.0f, b->gW1, H);
        if (prod == P_DH || prod == P_ALL)
            b->blas->sgemm(0, 0, B, H, L, 1.0f, b->logits, L, b->W1, H, 0.0f, b->dhid, H);
        return;
    }
#pragma omp parallel num_threads(b->T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t j0, j1;
        slide_dense_split_cols(b->L, t, nt, &j0, &j1);
        int k = (int)(j1 - j0);
        float *part = b->part + (int64_t)t * B * H;
        if (k > 0 && (prod == P_LOGITS || prod == P_ALL))
            b->blas->sgemm(0, 1, B, k, H, 1.0f, b->hid, H, b->W1 + j0 * H, H, 0.0f,
                           b->logits + j0, L);
        if (k > 0 && (prod == P_DW1 || prod == P_ALL))
            b->blas->sgemm(1, 0, k, H, B, 1.0f, b->logits + j0, L, b->hid, H, 0.0f,
                           b->gW1 + j0 * H, H);
        if (prod == P_DH || prod == P_ALL) {
            if (k > 0)
                b->blas->sgemm(0, 0, B, H, k, 1.0f, b->logits + j0, L, b->W1 + j0 * H, H, 0.0f,
                               part, H);
            else
                memset(part, 0, (size_t)B * (size_t)H * sizeof(float));
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t q = 0; q < (int64_t)B * H; q++) {
                float g = 0.0f;
                for (int u = 0; u < nt; u++) g += b->part[(int64_t)u * B * H + q];
                b->dhid[q] = g;
            }
        }
    }
}

/* --check: the backend's sgemm against a double-precision scalar reference, every transpose
 * combination, odd and blocked shapes, with and without alpha/beta. A correct float kernel stays
 * within K * FLT_EPSILON * (|alpha| sum_k |a_ik b_kj| + |beta c_ij|) of the exact result (the
 * classical bound is about K * FLT_EPSILON / 2); any wrong element, order or stride exceeds it.
 * Returns the number of failing products; *worst gets the largest error / bound. */
static int check_kernel(const slide_blas *bl, double *worst) {
    static const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 129}, {130, 47, 300},
                                    {256, 1000, 128}, {17, 2048, 3}};
    static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 0.25f}};
    int bad = 0;
    *worst = 0;
    for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
        const int M = shapes[q][0], N = shapes[q][1], K = shapes[q][2];
        float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
        float *C = malloc((size_t)M * N * sizeof(float)), *C0 = malloc((size_t)M * N * sizeof(float));
        if (!A || !B || !C || !C0) {
            free(A), free(B), free(C), free(C0);
            return 1;
        }
        for (int64_t i = 0; i < (int64_t)M * K; i++) A[i] = (float)((i * 7919 % 2001) - 1000) * 1e-3f;
        for (int64_t i = 0; i < (int64_t)K * N; i++) B[i] = (float)((i * 104729 % 1999) - 999) * 1e-3f;
        for (int64_t i = 0; i < (int64_t)M * N; i++) C0[i] = (float)((i * 31 % 101) - 50) * 1e-2f;
        for (int t = 0; t < 4; t++) {
            const int ta = t & 1, tb = t >> 1;
            /* A is M x K (stored K x M when transposed), B is K x N (stored N x K) */
            const int lda = ta ? M : K, ldb = tb ? K : N;
            for (int v = 0; v < 2; v++) {
                const float al = ab[v][0], be = ab[v][1];
                memcpy(C, C0, (size_t)M * N * sizeof(float));
                bl->sgemm(ta, tb, M, N, K, al, A, lda, B, ldb, be, C, N);
                double e_max = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double ref = 0, mag = 0;
                        for (int k = 0; k < K; k++) {
                            const double x = ta ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
                            const double y = tb ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
                            ref += x * y;
                            mag += fabs(x * y);
                        }
                        const double c0 = C0[(int64_t)i * N + j];
                        ref = al * ref + be * c0;
                        const double bound = K * FLT_EPSILON * (fabs(al) * mag + fabs(be * c0)) + 1e-30;
                        const double e = fabs((double)C[(int64_t)i * N + j] - ref) / bound;
                        if (!(e <= e_max)) e_max = e; /* NaN propagates */
                    }
                if (!(e_max <= *worst)) *worst = e_max;
                if (!(e_max <= 1.0)) {
                    fprintf(stderr, "slide-bench-sgemm: --check: %s kernel %s wrong for %dx%dx%d "
                            "ta=%d tb=%d alpha=%g beta=%g: error %.3g x the bound\n", bl->name,
                            bl->core(), M, N, K, ta, tb, al, be, e_max);
                    bad++;
                }
            }
        }
        free(A), free(B), free(C), free(C0);
    }
    return bad;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threads = 2, batch = 256, hidden = 128, reps = 5, warmup = 2, mode = 2, blas_i = 0;
    int check = 0;
    int64_t labels = 670091;
    double max_mem_mb = 0, peak_ms = 200;
    const char *csv_path = "results/bench_baseline.csv", *run_id = "", *blas_core = "auto";
    slide_opt opts[] = {
        {"threads", SLIDE_OPT_INT, &threads, 1, 1024, NULL, "threads (OpenBLAS threads, or OpenMP threads in split mode)", 0, NULL},
        {"batch", SLIDE_OPT_INT, &batch, 1, 1 << 16, NULL, "rows of the batch (B)", 0, NULL},
        {"hidden", SLIDE_OPT_INT, &hidden, 1, 1 << 16, NULL, "hidden size (H)", 0, NULL},
        {"labels", SLIDE_OPT_I64, &labels, 1, 1e8, NULL, "output labels (L); 670091 = Amazon-670K", 0, NULL},
        {"reps", SLIDE_OPT_INT, &reps, 1, 10000, NULL, "timed repetitions (median reported)", 0, NULL},
        {"warmup", SLIDE_OPT_INT, &warmup, 0, 10000, NULL, "untimed repetitions first", 0, NULL},
        {"mode", SLIDE_OPT_CHOICE, &mode, 1, 0, "openblas|split|both", "openblas: the BLAS's own threads; split: slide-dense's label split", 0, NULL},
        {"blas", SLIDE_OPT_CHOICE, &blas_i, 1, 0, "openblas|blis", "BLAS backend", 0, NULL},
        {"blas-core", SLIDE_OPT_STR, &blas_core, 1, 0, NULL, "OpenBLAS kernel (OPENBLAS_CORETYPE); auto: replace a generic one", 0, NULL},
        {"peak-ms", SLIDE_OPT_DOUBLE, &peak_ms, 0, 1e5, NULL, "ms per rep of the FMA peak measurement (0: skip, peak_frac NA)", 0, NULL},
        {"check", SLIDE_OPT_FLAG, &check, 0, 1, NULL, "compare the kernel with a scalar reference and exit (0 ok, 1 wrong)", 0, NULL},
        {"csv", SLIDE_OPT_STR, &csv_path, 1, 0, NULL, "CSV file rows are appended to", 0, NULL},
        {"run-id", SLIDE_OPT_STR, &run_id, 1, 0, NULL, "run id (default: time-host-pid)", 0, NULL},
        {"max-mem", SLIDE_OPT_DOUBLE, &max_mem_mb, 0, 1e9, NULL, "refuse above this many MB (0 = available memory)", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    slide_err err;
    slide_err_clear(&err);
    int rc = slide_opts_parse(opts, argc, argv, NULL, 0, NULL, &err);
    if (rc != SLIDE_OK && rc != SLIDE_OPTS_HELP) {
        fprintf(stderr, "slide-bench-sgemm: %s\n", err.msg);
        return 2;
    }
    if (rc == SLIDE_OPTS_HELP) {
        slide_opts_print_help(stdout,
                              "usage: slide-bench-sgemm [options]\n"
                              "BLAS sgemm GFLOP/s for the dense output layer's products "
                              "(B x L x H each: logits, dW1, dH, and the three in a row), median "
                              "of --reps after --warmup, one CSV row per product and threading "
                              "mode, with the fraction of the machine's measured FMA peak.",
                              opts);
        return 0;
    }
    const slide_blas *bl = slide_blas_open(blas_i == 1 ? "blis" : "openblas", blas_core, argv,
                                           "slide-bench-sgemm");
    if (!bl) return 2;
    if (check) {
        bl->set_threads(1);
        double worst;
        const int bad = check_kernel(bl, &worst);
        printf("check %s kernel %s: %s (largest error %.3g of the bound)\n", bl->name, bl->core(),
               bad ? "WRONG" : "ok", worst);
        return bad ? 1 : 0;
    }
    const int64_t B = batch, H = hidden, L = labels;
    double need_mb = 4.0 * ((double)B * H * (2.0 + threads) + 2.0 * (double)L * H + (double)B * L) / 1048576.0;
    double limit = max_mem_mb > 0 ? max_mem_mb : slide_mem_available_mb();
    fprintf(stderr, "[mem] buffers need %.0f MB (limit %.0f MB)\n", need_mb, limit);
    if (limit > 0 && need_mb > limit) {
        fprintf(stderr, "slide-bench-sgemm: needs about %.0f MB, above the limit of %.0f MB; lower --labels or --batch\n",
                need_mb, limit);
        return 2;
    }
    slide_context ctx;
    slide_context_fill(&ctx, run_id);
    slide_csv *csv = NULL;
    if (slide_csv_open(&csv, csv_path, BENCH_HEADER, &err)) {
        fprintf(stderr, "slide-bench-sgemm: %s\n", err.msg);
        return 2;
    }
    bufs b = {bl, NULL, NULL, NULL, NULL, NULL, NULL, B, H, L, threads};
    size_t a64 = 64;
#define ALLOC(p, n) p = aligned_alloc(a64, (((size_t)(n) * sizeof(float)) + 63) & ~(size_t)63)
    ALLOC(b.hid, B * H);
    ALLOC(b.W1, L * H);
    ALLOC(b.logits, B * L);
    ALLOC(b.gW1, L * H);
    ALLOC(b.dhid, B * H);
    ALLOC(b.part, (int64_t)threads * B * H);
    if (!b.hid || !b.W1 || !b.logits || !b.gW1 || !b.dhid || !b.part) {
        fprintf(stderr, "slide-bench-sgemm: out of memory\n");
        return 2;
    }
    /* First touch on the threads that use the memory (values small, so nothing overflows). */
    omp_set_num_threads(threads);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < L * H; i++) {
        b.W1[i] = (float)((i * 2654435761u) % 1000) * 1e-5f - 0.005f;
        b.gW1[i] = 0.0f;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < B * L; i++) b.logits[i] = (float)((i * 40503u) % 1000) * 1e-6f;
    for (int64_t i = 0; i < B * H; i++) b.hid[i] = (float)(i % 97) * 1e-3f;
    for (int64_t i = 0; i < (int64_t)threads * B * H; i++) b.part[i] = 0.0f;

    fprintf(stderr, "[blas] %s; kernel %s\n", bl->config(), bl->core());
    slide_peak_result peak = slide_peak_start(threads, peak_ms);
    char core[64], shape[64], pk[3][32];
    snprintf(core, sizeof core, "%s", bl->core());
    slide_csv_sanitize(core);
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)B, (long long)L, (long long)H);
    printf("%-13s %-9s %8s %10s %10s %10s %10s %7s %8s\n", "product", "mode", "threads", "GFLOP/s",
           "min", "max", "ms", "%peak", "peak");
    double *sec = malloc((size_t)reps * sizeof *sec);
    if (!sec) return 2;
    int exit_code = 0;
    for (int split = 0; split <= 1; split++) {
        if ((mode == 0 && split) || (mode == 1 && !split)) continue;
        bl->set_threads(split ? 1 : threads);
        usleep(300000); /* let the other pool's spinning threads go to sleep */
        for (int prod = 0; prod < 4; prod++) {
            /* The peak again before each product, the highest kept (the library's own threads
             * sleep first) */
            if (peak.gflops > 0 && !split) usleep(300000);
            slide_peak_refresh(&peak, peak_ms);
            for (int r = 0; r < warmup; r++) run(&b, prod, split);
            for (int r = 0; r < reps; r++) {
                double t0 = slide_now();
                run(&b, prod, split);
                sec[r] = slide_now() - t0;
            }
            qsort(sec, (size_t)reps, sizeof *sec, cmp_double);
            const double flops = 2.0 * (double)B * (double)L * (double)H * (prod == P_ALL ? 3 : 1);
            double med = reps % 2 ? sec[reps / 2] : 0.5 * (sec[reps / 2 - 1] + sec[reps / 2]);
            double g = flops / med * 1e-9, gmin = flops / sec[reps - 1] * 1e-9,
                   gmax = flops / sec[0] * 1e-9;
            const char *mname = split ? "split" : bl->name;
            const double frac = peak.gflops > 0 ? g / peak.gflops : NAN;
            printf("%-13s %-9s %8d %10.1f %10.1f %10.1f %10.2f %7.1f %8.1f\n", k_prod[prod], mname,
                   threads, g, gmin, gmax, med * 1e3, 100.0 * frac, peak.gflops);
            if (isnan(frac)) {
                snprintf(pk[0], sizeof pk[0], "NA");
                snprintf(pk[1], sizeof pk[1], "NA");
                snprintf(pk[2], sizeof pk[2], "NA");
            } else {
                snprintf(pk[0], sizeof pk[0], "%.1f", peak.gflops);
                snprintf(pk[1], sizeof pk[1], "%.4f", frac);
                snprintf(pk[2], sizeof pk[2], "%s", peak.isa == 2 ? "avx512" : "avx2");
            }
            char utc[32], load[32], row[1024];
            slide_utc_now(utc, sizeof utc);
            slide_loadavg(load, sizeof load);
            snprintf(row, sizeof row, "%s,%s,%s,%s,%s,%d,%s,%s,%s,%lld,%lld,%lld,%d,%.2f,%.2f,%.2f,%.6f,NA,%s,%s,%s,%s,%s",
                     utc, ctx.host, ctx.cpu_model, ctx.git_commit, ctx.run_id, threads, load,
                     k_prod[prod], mname, (long long)B, (long long)H, (long long)L, reps, g, gmin,
                     gmax, med, core, bl->name, pk[0], pk[1], pk[2]);
            if (slide_csv_row(csv, row, &err)) {
                fprintf(stderr, "slide-bench-sgemm: %s\n", err.msg);
                exit_code = 2;
                break;
            }
        }
    }
    /* Validate after timing (never timed): the buffers hold the last "all three" run, so one
     * entry of each product must equal its direct sum. */
    if (exit_code == 0) {
        double ref[3] = {0, 0, 0};
        for (int64_t k = 0; k < H; k++) ref[0] += (double)b.hid[3 % B * H + k] * b.W1[5 % L * H + k];
        for (int64_t s = 0; s < B; s++) ref[1] += (double)b.logits[s * L + 5 % L] * b.hid[s * H + 3 % H];
        for (int64_t j = 0; j < L; j++) ref[2] += (double)b.logits[3 % B * L + j] * b.W1[j * H + 2 % H];
        double got[3] = {b.logits[3 % B * L + 5 % L], b.gW1[5 % L * H + 3 % H], b.dhid[3 % B * H + 2 % H]};
        for (int q = 0; q < 3; q++) {
            double e = fabs(got[q] - ref[q]) / (fabs(ref[q]) + 1e-3);
            if (!(e < 1e-3)) {
                fprintf(stderr, "slide-bench-sgemm: validation failed for %s: %.6g vs %.6g\n",
                        k_prod[q], got[q], ref[q]);
                exit_code = 1;
            }
        }
    }
    char load[32];
    slide_loadavg(load, sizeof load);
    fprintf(stderr, "[done] %s, rows -> %s (load average %s)\n",
            exit_code ? "FAILED" : "results validated", csv_path, load);
    free(sec);
    free(b.hid);
    free(b.W1);
    free(b.logits);
    free(b.gW1);
    free(b.dhid);
    free(b.part);
    slide_csv_close(csv);
    return exit_code;
}
