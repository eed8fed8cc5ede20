/* slide-dense: the SLIDE network with a full (dense) softmax on the CPU, BLAS sgemm (OpenBLAS or
 * BLIS) for the output layer; appends slide-train's CSV rows (system dense-cpu). See --help. */
#include "../common/drv.h"
#include "dense.h"
#include "peak.h"
#include "slide/opts.h"
#include "slide/report.h"

#include <math.h>
#include <omp.h>
#include <string.h>
#include <unistd.h>

/* The model for the run loop. */
typedef struct {
    const drv_opts *o;
    const slide_data *test;
    slide_dense model;
    slide_dense_stats st; /* since the last row */
    double loss_all;      /* summed loss since the start (the dump's mean) */
    double peak_ms;
    double gemm_share;    /* the interval's sgemm share of training time, % (set by fill_row) */
    slide_peak_result peak;
    const slide_blas *blas;
    int dump_after;
    char hp_req[16], hp_in[16], simd[64];
} dense_model;

static int m_train_batch(void *self, const drv_loop *lp, const int64_t *ids, int64_t nb,
                         double *train_s, slide_err *err) {
    dense_model *s = self;
    const double t0 = slide_now(), loss_before = s->st.loss_sum;
    int rc = slide_dense_train_batch(&s->model, &lp->train, ids, nb, &s->st, err);
    if (rc) return rc;
    *train_s += slide_now() - t0;
    s->loss_all += s->st.loss_sum - loss_before;
    const int64_t iter = lp->iter + 1, seen = lp->seen + nb;
    if (s->dump_after > 0 && iter == s->dump_after) {
        const slide_dense *m = &s->model;
        slide_dense_dump dd = {s->o->hidden, lp->train.d, lp->train.l, iter,
                               s->loss_all / (double)seen, m->W0, m->b0, m->W1, m->b1};
        if ((rc = slide_dense_dump_write(s->o->dump_path, &dd, err))) return rc;
        fprintf(stderr, "[dump] parameters after %lld steps (mean loss %.6f) -> %s\n",
                (long long)iter, dd.loss, s->o->dump_path);
        return DRV_STOP_NOW;
    }
    return SLIDE_OK;
}

static int m_evaluate(void *self, const slide_data *ds, const int64_t *ids, int64_t n,
                      slide_eval_result *ev, slide_err *err) {
    dense_model *s = self;
    return slide_dense_evaluate(&s->model, ds, ids, n, ev, err);
}

static double gemm_gflops(const slide_dense_stats *st) {
    return st->t_gemm > 0 ? st->gemm_flops / st->t_gemm * 1e-9 : NAN;
}

static void m_progress(void *self, char *buf, size_t cap) {
    const dense_model *s = self;
    const double g = gemm_gflops(&s->st);
    snprintf(buf, cap, "loss %.4f %.1f GFLOP/s", s->st.samples ? s->st.loss_sum / s->st.samples : 0.0,
             isnan(g) ? 0.0 : g);
}

static void m_fill_row(void *self, const drv_loop *lp, slide_train_row *r,
                       const slide_eval_result *ev, double int_train) {
    dense_model *s = self;
    (void)ev;
    s->gemm_share = int_train > 0 ? 100.0 * s->st.t_gemm / int_train : 0.0;
    r->simd = s->simd;
    r->hugepages = s->hp_in;
    r->hugepages_requested = s->hp_req;
    r->system = "dense-cpu";
    r->loss = s->st.samples ? s->st.loss_sum / s->st.samples : 0.0;
    r->active_avg = (double)lp->train.l;
    r->active_frac = 1.0;
    r->samples_per_s = int_train > 0 ? s->st.samples / int_train : 0.0;
    r->t_fwd_bwd_s = s->st.t_fwd_bwd;
    r->t_update_s = s->st.t_update;
    r->t_rehash_s = 0.0;
    r->gflops = gemm_gflops(&s->st);
    slide_peak_refresh(&s->peak, s->peak_ms / 4); /* outside the timed training */
    r->peak_gflops = s->peak.gflops;
}

static int m_after_row(void *self, const drv_loop *lp, const slide_train_row *r,
                       const slide_eval_result *ev, slide_err *err) {
    dense_model *s = self;
    (void)err;
    fprintf(stderr, "[eval] iter %lld train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f loss %.4f "
            "%.0f samples/s sgemm %.1f GFLOP/s (%.0f%% of train, %.0f%% of peak) (%s, n=%lld)\n",
            (long long)lp->iter, lp->train_s, ev->p_at[1], ev->p_at[3], ev->p_at[5], r->loss,
            r->samples_per_s, r->gflops, s->gemm_share,
            100.0 * r->gflops / s->peak.gflops,
            !strcmp(r->eval_set, "full") ? "full test set"
            : !strcmp(r->eval_set, "val") ? "validation split" : "subset", (long long)ev->n_eval);
    memset(&s->st, 0, sizeof s->st);
    return SLIDE_OK;
}


/* The model after the memory check ([mem] line), and the FMA peak. Returns 0 or 2. */
static int build_model(dense_model *s, const drv_loop *lp, double max_mem_mb) {
    const drv_opts *o = s->o;
    slide_err err;
    slide_dense_params dp = slide_dense_params_default();
    dp.d = lp->train.d;
    dp.l = lp->train.l;
    dp.hidden = o->hidden;
    dp.batch = o->batch;
    dp.threads = o->threads;
    dp.lr = o->lr;
    dp.init_std = o->init_std;
    dp.seed = o->seed;
    dp.hugepages = o->hugepages;
    dp.blas = s->blas->name;
    const char *m = slide_dense_params_check(&dp);
    if (m) {
        fprintf(stderr, "slide-dense: %s\n", m);
        return 2;
    }
    double est_mb = slide_dense_estimate_bytes(&dp) / 1048576.0;
    double limit_mb = max_mem_mb > 0 ? max_mem_mb : slide_mem_available_mb();
    fprintf(stderr, "[mem] dense model needs about %.0f MB: parameters + gradients + Adam %.0f MB, "
            "batch x labels logits %.0f MB (limit %.0f MB%s)\n", est_mb,
            16.0 * ((double)dp.d * dp.hidden + (double)dp.l * (dp.hidden + 1)) / 1048576.0,
            4.0 * (double)dp.batch * (double)dp.l / 1048576.0, limit_mb,
            max_mem_mb > 0 ? ", --max-mem" : ", available memory");
    if (limit_mb > 0 && est_mb > limit_mb) {
        fprintf(stderr, "slide-dense: the dense model needs about %.0f MB, above the limit of %.0f "
                "MB; reduce --batch, --hidden or the label count\n", est_mb, limit_mb);
        return 2;
    }
    if (slide_dense_init(&s->model, &dp, &err)) {
        fprintf(stderr, "slide-dense: %s\n", err.msg);
        return 2;
    }
    if (s->model.hp_in_effect != o->hugepages)
        fprintf(stderr, "[mem] warning: --hugepages %s unavailable (pool empty?), using %s\n",
                slide_hugepages_name(o->hugepages), slide_hugepages_name(s->model.hp_in_effect));
    fprintf(stderr, "[blas] %s; kernel %s; %d OpenMP threads, each a 1-thread sgemm on its "
            "block of labels\n", s->blas->config(), s->blas->core(), o->threads);
    /* The machine's own FP32 peak with this run's threads: the reference of peak_frac. */
    s->peak = slide_peak_start(o->threads, s->peak_ms);
    snprintf(s->hp_req, sizeof s->hp_req, "%s", slide_hugepages_name(o->hugepages));
    snprintf(s->hp_in, sizeof s->hp_in, "%s", slide_hugepages_name(s->model.hp_in_effect));
    snprintf(s->simd, sizeof s->simd, "%s-%s", s->blas->name, s->blas->core());
    for (char *c = s->simd; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    slide_csv_sanitize(s->simd);
    return 0;
}

int main(int argc, char **argv) {
    static drv_opts o; /* (holds its option table) */
    static dense_model s;
    int blas = 0;
    const char *blas_core = "auto";
    s.peak_ms = 200;
    const slide_opt own[] = {
        {"blas", SLIDE_OPT_CHOICE, &blas, 1, 0, "openblas|blis", "BLAS backend of the output layer's products", 0, NULL},
        {"blas-core", SLIDE_OPT_STR, &blas_core, 1, 0, NULL, "OpenBLAS kernel (OPENBLAS_CORETYPE); auto: replace a generic one", 0, NULL},
        {"peak-ms", SLIDE_OPT_DOUBLE, &s.peak_ms, 0, 1e5, NULL, "ms per rep of the FMA peak measurement (0: skip, peak_frac NA)", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    drv_opts_init(&o, DRV_DENSE, own);
    int ex = drv_opts_cli(&o, argc, argv, "slide-dense",
                          "usage: slide-dense [--config FILE] [options]\n"
                          "Trains the SLIDE network with a full softmax over all labels on the CPU "
                          "(BLAS sgemm for the output layer; each OpenMP thread runs a 1-thread "
                          "sgemm on its block of labels) and appends one CSV row per evaluation "
                          "(system dense-cpu, the schema of slide-train).\n"
                          "Defaults are slide-train's: bench/e2e/configs/delicious.conf on the "
                          "vendored Delicious set (datasets/prepare_delicious.sh).");
    if (ex >= 0) return ex;
    s.o = &o;
    s.dump_after = o.dump_after;
    drv_loop lp;
    memset(&lp, 0, sizeof lp);
    /* the BLAS kernel first: choosing one may restart the program (blas.h) */
    s.blas = slide_blas_open(blas == 1 ? "blis" : "openblas", blas_core, argv, "slide-dense");
    if (!s.blas) {
        ex = 2;
        goto done;
    }
    if (o.dump_after > 0 && !*o.dump_path) {
        fprintf(stderr, "slide-dense: --dump-after-step needs --dump-path\n");
        ex = 2;
        goto done;
    }
    if ((ex = drv_loop_setup(&lp, &o, "slide-dense")) || (ex = build_model(&s, &lp, o.max_mem_mb)))
        goto done;
    s.test = &lp.test;
    const drv_model m = {&s, NULL, m_train_batch, m_evaluate, m_progress, m_fill_row, m_after_row,
                         NULL};
    if ((ex = drv_loop_run(&lp, &m)) || !lp.finished) goto done;
    ex = drv_loop_done(&lp);
done:
    slide_dense_free(&s.model);
    drv_loop_free(&lp);
    drv_opts_free(&o);
    return ex;
}
