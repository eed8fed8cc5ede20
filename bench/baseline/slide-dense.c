/* slide-dense: the SLIDE network with a full (dense) softmax on the CPU, BLAS sgemm (OpenBLAS or
 * BLIS) for the output layer; appends slide-train's CSV rows (system dense-cpu). See --help. */
#include "dense.h"
#include "peak.h"
#include "slide/opts.h"
#include "slide/report.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop = 0; /* set by SIGINT/SIGTERM: finish the batch, then stop */
static void on_signal(int sig) { g_stop = sig; }

typedef struct {
    slide_run_opts r; /* the options every driver shares (slide/opts.h) */
    const char *dump_path, *blas_core;
    double max_mem_mb, peak_ms;
    int threads, hidden, hugepages, blas;
    int dump_after, csv_header;
    uint64_t seed;
} args_t;

#define FAIL(...)                                  \
    do {                                           \
        fprintf(stderr, "slide-dense: " __VA_ARGS__); \
        fputc('\n', stderr);                       \
        exit_code = 2;                             \
        goto done;                                 \
    } while (0)

int main(int argc, char **argv) {
    args_t a;
    memset(&a, 0, sizeof a);
    /* Defaults as slide-train's (the Delicious job). */
    slide_run_opts_default(&a.r, "results/slide-dense.csv");
    a.dump_path = "";
    a.threads = 2;
    a.seed = 1;
    a.hidden = 128;
    a.hugepages = SLIDE_HP_NONE;
    a.blas_core = "auto";
    a.peak_ms = 200;

    const slide_opt own[] = {
        {"threads", SLIDE_OPT_INT, &a.threads, 1, 1024, NULL, "threads (OpenMP; each runs 1-thread sgemm on its block of labels)", 0, NULL},
        {"seed", SLIDE_OPT_U64, &a.seed, 1, 0, NULL, "seed of weights and shuffling (same weights as slide-train)", 0, NULL},
        {"hidden", SLIDE_OPT_INT, &a.hidden, 1, 1 << 16, NULL, "hidden layer size", 0, NULL},
        {"hugepages", SLIDE_OPT_CHOICE, &a.hugepages, 1, 0, "none|thp|explicit", "page size of the parameter slab", 0, NULL},
        {"blas", SLIDE_OPT_CHOICE, &a.blas, 1, 0, "openblas|blis", "BLAS backend of the output layer's products", 0, NULL},
        {"blas-core", SLIDE_OPT_STR, &a.blas_core, 1, 0, NULL, "OpenBLAS kernel (OPENBLAS_CORETYPE); auto: replace a generic one", 0, NULL},
        {"peak-ms", SLIDE_OPT_DOUBLE, &a.peak_ms, 0, 1e5, NULL, "ms per rep of the FMA peak measurement (0: skip, peak_frac NA)", 0, NULL},
        {"max-mem", SLIDE_OPT_DOUBLE, &a.max_mem_mb, 0, 1e9, NULL, "refuse to run above this estimate in MB (0 = available memory)", 0, NULL},
        {"dump-after-step", SLIDE_OPT_INT, &a.dump_after, 0, 1e9, NULL, "after N training steps write the parameters to --dump-path and stop (0 = off; for tests)", 0, NULL},
        {"dump-path", SLIDE_OPT_STR, &a.dump_path, 1, 0, NULL, "file for --dump-after-step", 0, NULL},
        {"csv-header", SLIDE_OPT_FLAG, &a.csv_header, 0, 1, NULL, "print the CSV header line and exit (for other writers of this schema)", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    /* the drivers' shared options first, then this program's own (with the terminator) */
    slide_opt opts[SLIDE_RUN_OPTS_N + sizeof own / sizeof own[0]];
    memcpy(opts + slide_run_opts_table(&a.r, opts), own, sizeof own);

    int ex = slide_opts_cli(opts, argc, argv, "slide-dense",
                            "usage: slide-dense [--config FILE] [options]\n"
                            "Trains the SLIDE network with a full softmax over all labels on the CPU "
                            "(BLAS sgemm for the output layer) and appends one CSV row per "
                            "evaluation (system dense-cpu, the schema of slide-train).\n"
                            "Defaults: the vendored Delicious set (datasets/prepare_delicious.sh), "
                            "slide-train's hyper-parameters.");
    if (ex >= 0) return ex;
    slide_err err;
    slide_err_clear(&err);
    if (a.csv_header) {
        printf("%s\n", slide_train_csv_header());
        slide_opts_free(opts);
        return 0;
    }
    /* The BLAS kernel first: choosing one may restart the program (blas.h). */
    const char *blas_name = a.blas == 1 ? "blis" : "openblas";
    const slide_blas *blas = slide_blas_get(blas_name);
    if (!blas) {
        fprintf(stderr, "slide-dense: --blas %s: not built in (this build has %s; apt-get install "
                "libblis-dev and rebuild)\n", blas_name, slide_blas_names());
        slide_opts_free(opts);
        return 2;
    }
    {
        char note[256], msg[256];
        if (slide_blas_select(blas, a.blas_core, argv, note, sizeof note, msg, sizeof msg)) {
            fprintf(stderr, "slide-dense: %s\n", msg);
            slide_opts_free(opts);
            return 2;
        }
        if (note[0]) fprintf(stderr, "[blas] %s\n", note);
    }
    int exit_code = 0;
    slide_csv *csv = NULL;
    slide_data train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    slide_dense model;
    memset(&model, 0, sizeof model);
    int64_t *perm = NULL, *eval_ids = NULL;

    if (slide_data_check_path("train", a.r.train, &err) ||
        slide_data_check_path("test", a.r.test, &err))
        FAIL("%s", err.msg);
    if (a.dump_after > 0 && !*a.dump_path) FAIL("--dump-after-step needs --dump-path");
    slide_context ctx;
    slide_context_fill(&ctx, a.r.run_id);
    if (slide_csv_open(&csv, a.r.csv, slide_train_csv_header(), &err)) FAIL("%s", err.msg);
    const double t_start = slide_now();
    int progress = a.r.progress < 0 ? isatty(2) : a.r.progress;

    /* Data. */
    slide_data_opts dop = slide_data_opts_default();
    dop.normalize = a.r.normalize;
    dop.cache = a.r.cache ? SLIDE_CACHE_AUTO : SLIDE_CACHE_OFF;
    if (slide_data_load(&train, a.r.train, &dop, &err)) FAIL("%s", err.msg);
    dop.expect_d = train.d;
    dop.expect_l = train.l;
    if (slide_data_load(&test, a.r.test, &dop, &err)) FAIL("%s", err.msg);
    fprintf(stderr, "[data] %s: train %lld points, test %lld points, %lld features, %lld labels (%.1f s)\n",
            a.r.dataset, (long long)train.n, (long long)test.n, (long long)train.d,
            (long long)train.l, slide_now() - t_start);
    if (train.n == 0) FAIL("%s: no training points", a.r.train);

    /* Model. */
    slide_dense_params dp = slide_dense_params_default();
    dp.d = train.d;
    dp.l = train.l;
    dp.hidden = a.hidden;
    dp.batch = a.r.batch;
    dp.threads = a.threads;
    dp.lr = a.r.lr;
    dp.init_std = a.r.init_std;
    dp.seed = a.seed;
    dp.hugepages = a.hugepages;
    dp.blas = blas_name;
    const char *m = slide_dense_params_check(&dp);
    if (m) FAIL("%s", m);
    double est_mb = slide_dense_estimate_bytes(&dp) / 1048576.0;
    double avail_mb = slide_mem_available_mb();
    double limit_mb = a.max_mem_mb > 0 ? a.max_mem_mb : avail_mb;
    fprintf(stderr, "[mem] dense model needs about %.0f MB: parameters + gradients + Adam %.0f MB, "
            "batch x labels logits %.0f MB (limit %.0f MB%s)\n", est_mb,
            16.0 * ((double)dp.d * dp.hidden + (double)dp.l * (dp.hidden + 1)) / 1048576.0,
            4.0 * (double)dp.batch * (double)dp.l / 1048576.0, limit_mb,
            a.max_mem_mb > 0 ? ", --max-mem" : ", available memory");
    if (limit_mb > 0 && est_mb > limit_mb)
        FAIL("the dense model needs about %.0f MB, above the limit of %.0f MB; reduce --batch, "
             "--hidden or the label count", est_mb, limit_mb);
    if (slide_dense_init(&model, &dp, &err)) FAIL("%s", err.msg);
    if (model.hp_in_effect != a.hugepages)
        fprintf(stderr, "[mem] warning: --hugepages %s unavailable (pool empty?), using %s\n",
                slide_hugepages_name(a.hugepages), slide_hugepages_name(model.hp_in_effect));
    fprintf(stderr, "[blas] %s; kernel %s; %d OpenMP threads, each a 1-thread sgemm on its "
            "block of labels\n", blas->config(), blas->core(), a.threads);
    /* The machine's own FP32 peak with this run's threads: the reference of peak_frac. */
    slide_peak_result peak = {0, a.threads, NAN, NAN, NAN};
    if (a.peak_ms > 0 && slide_peak_best(a.threads, a.peak_ms, 5, &peak) == 0)
        fprintf(stderr, "[peak] FP32 FMA peak %.1f GFLOP/s on %d threads (%s, median of 5; "
                "%.1f-%.1f)\n", peak.gflops, a.threads, peak.isa == 2 ? "avx512" : "avx2",
                peak.gflops_min, peak.gflops_max);
    else
        fprintf(stderr, "[peak] not measured (%s): peak_frac is NA\n",
                a.peak_ms > 0 ? "no AVX2/AVX-512 path on this CPU or build" : "--peak-ms 0");

    /* Evaluation subset and shuffles: slide-train's schedule, so a seed gives the same batches. */
    int64_t n_sub = (a.r.eval_n > 0 && a.r.eval_n < test.n) ? a.r.eval_n : test.n;
    eval_ids = malloc((size_t)(test.n > 0 ? test.n : 1) * sizeof *eval_ids);
    perm = malloc((size_t)train.n * sizeof *perm);
    if (!eval_ids || !perm) FAIL("out of memory");
    slide_rng rng;
    slide_rng_seed(&rng, a.seed, 0xE7A1ULL);
    slide_sample_subset(eval_ids, test.n, n_sub, &rng);
    for (int64_t i = 0; i < train.n; i++) perm[i] = i;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    char hp_req[16], hp_in[16], simd[64], dataset[128];
    snprintf(hp_req, sizeof hp_req, "%s", slide_hugepages_name(a.hugepages));
    snprintf(hp_in, sizeof hp_in, "%s", slide_hugepages_name(model.hp_in_effect));
    snprintf(simd, sizeof simd, "%s-%s", blas->name, blas->core());
    for (char *c = simd; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    slide_csv_sanitize(simd);
    snprintf(dataset, sizeof dataset, "%s", a.r.dataset);
    slide_csv_sanitize(dataset);

    const int64_t total_samples = (int64_t)ceil(a.r.epochs * (double)train.n);
    int64_t seen = 0, iter = 0, last_eval_iter = 0, pos = train.n, epoch = 0;
    double train_s = 0, last_eval_train_s = 0, eval_s_total = 0, loss_all = 0;
    slide_dense_stats st;
    memset(&st, 0, sizeof st);
    int finished = 0;
    while (!finished) {
        if (pos >= train.n) { /* new epoch: reshuffle */
            slide_shuffle_ids(perm, train.n, &rng);
            pos = 0;
            epoch++;
        }
        int64_t nb = a.r.batch;
        if (nb > train.n - pos) nb = train.n - pos;
        if (nb > total_samples - seen) nb = total_samples - seen;
        double t0 = slide_now(), loss_before = st.loss_sum;
        if (slide_dense_train_batch(&model, &train, perm + pos, nb, &st, &err)) FAIL("%s", err.msg);
        train_s += slide_now() - t0;
        loss_all += st.loss_sum - loss_before;
        pos += nb;
        seen += nb;
        iter++;
        if (a.dump_after > 0 && iter == a.dump_after) {
            slide_dense_dump dd = {a.hidden, train.d, train.l, iter, loss_all / (double)seen,
                                   model.W0, model.b0, model.W1, model.b1};
            if (slide_dense_dump_write(a.dump_path, &dd, &err)) FAIL("%s", err.msg);
            fprintf(stderr, "[dump] parameters after %lld steps (mean loss %.6f) -> %s\n",
                    (long long)iter, dd.loss, a.dump_path);
            goto done;
        }
        int last = seen >= total_samples || (a.r.time_budget > 0 && train_s >= a.r.time_budget) || g_stop;
        int due = (a.r.eval_every > 0 && iter - last_eval_iter >= a.r.eval_every) ||
                  (a.r.eval_every_s > 0 && train_s - last_eval_train_s >= a.r.eval_every_s);
        if (progress)
            fprintf(stderr, "\r[train] epoch %lld iter %lld samples %lld train %.1fs loss %.4f %.1f GFLOP/s   ",
                    (long long)epoch, (long long)iter, (long long)seen, train_s,
                    st.samples ? st.loss_sum / st.samples : 0.0,
                    st.t_gemm > 0 ? st.gemm_flops / st.t_gemm * 1e-9 : 0.0);
        if (!due && !last) continue;
        /* Evaluation row; the last row evaluates the whole test set. */
        double te = slide_now();
        slide_eval_result ev;
        if (slide_dense_evaluate(&model, &test, last ? NULL : eval_ids, last ? test.n : n_sub, &ev,
                                 &err))
            FAIL("%s", err.msg);
        double eval_s = slide_now() - te;
        eval_s_total += eval_s;
        double int_train = train_s - last_eval_train_s;
        slide_train_row r;
        memset(&r, 0, sizeof r);
        r.ctx = &ctx;
        r.simd = simd;
        r.hugepages = hp_in;
        r.hugepages_requested = hp_req;
        r.numa_policy = "NA";
        r.system = "dense-cpu";
        r.dataset = dataset;
        r.hash_family = "NA";
        r.bucket_policy = "NA";
        r.eval_set = last ? "full" : "subset";
        r.inference = "exact";
        r.gpu_model = "NA";
        r.threads = a.threads;
        r.batch = a.r.batch;
        r.hidden = a.hidden;
        r.lr = a.r.lr;
        r.seed = a.seed;
        r.epoch = (double)seen / (double)train.n;
        r.iter = iter;
        r.samples_seen = seen;
        r.n_eval = ev.n_eval;
        r.n_skipped = ev.n_skipped;
        r.train_s = train_s;
        r.wall_s = slide_now() - t_start;
        r.p_at_1 = ev.p_at[1];
        r.p_at_3 = ev.p_at[3];
        r.p_at_5 = ev.p_at[5];
        r.ndcg_at_1 = ev.ndcg_at[1];
        r.ndcg_at_3 = ev.ndcg_at[3];
        r.ndcg_at_5 = ev.ndcg_at[5];
        r.recall_at_5 = NAN;
        r.loss = st.samples ? st.loss_sum / st.samples : 0.0;
        r.active_avg = (double)train.l;
        r.active_frac = 1.0;
        r.samples_per_s = int_train > 0 ? st.samples / int_train : 0.0;
        r.eval_s = eval_s;
        r.t_fwd_bwd_s = st.t_fwd_bwd;
        r.t_update_s = st.t_update;
        r.t_rehash_s = 0.0;
        r.gflops = st.t_gemm > 0 ? st.gemm_flops / st.t_gemm * 1e-9 : NAN;
        /* the peak again now, outside the timed training (a shared machine's speed drifts) */
        if (peak.gflops > 0) {
            slide_peak_result pr;
            if (slide_peak_measure(peak.isa, a.threads, a.peak_ms / 4, 3, &pr) == 0) peak = pr;
        }
        r.peak_gflops = peak.gflops;
        char row[4096];
        slide_train_row_format(&r, row, sizeof row);
        if (slide_csv_row(csv, row, &err)) FAIL("%s", err.msg);
        if (progress) fputc('\n', stderr);
        fprintf(stderr, "[eval] iter %lld train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f loss %.4f "
                "%.0f samples/s sgemm %.1f GFLOP/s (%.0f%% of train, %.0f%% of peak) (%s, n=%lld)\n",
                (long long)iter, train_s, ev.p_at[1], ev.p_at[3], ev.p_at[5], r.loss,
                r.samples_per_s, r.gflops, int_train > 0 ? 100.0 * st.t_gemm / int_train : 0.0,
                100.0 * r.gflops / peak.gflops, last ? "full test set" : "subset", (long long)ev.n_eval);
        memset(&st, 0, sizeof st);
        last_eval_iter = iter;
        last_eval_train_s = train_s;
        if (last) finished = 1;
    }
    fprintf(stderr, "[done] %lld iterations, %lld samples, train %.2f s, eval %.2f s, wall %.2f s -> %s\n",
            (long long)iter, (long long)seen, train_s, eval_s_total, slide_now() - t_start, a.r.csv);
    if (g_stop) exit_code = g_stop == SIGINT ? 130 : 143;
done:
    free(perm);
    free(eval_ids);
    slide_dense_free(&model);
    slide_data_free(&train);
    slide_data_free(&test);
    slide_csv_close(csv);
    slide_opts_free(opts);
    return exit_code;
}
