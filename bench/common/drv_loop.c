/* The drivers' run loop: data set-up, epochs of seeded shuffles (a seed gives every driver the
 * same batches), time budget, evaluation cadence, CSV rows, checkpoints and SIGINT/SIGTERM. */
#include "drv.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop = 0; /* set by SIGINT/SIGTERM: finish the batch, then stop */
static void on_signal(int sig) { g_stop = sig; }

#define FAIL(lp, msg)                                          \
    do {                                                       \
        fprintf(stderr, "%s: %s\n", (lp)->prog, (msg));        \
        return 2;                                              \
    } while (0)

int drv_loop_setup(drv_loop *lp, const drv_opts *o, const char *prog) {
    memset(lp, 0, sizeof *lp);
    lp->o = o;
    lp->prog = prog;
    slide_err err;
    slide_err_clear(&err);
    drv_opts_note_unused(o, prog);
    if (o->patience > 0 && !(o->val_split > 0)) {
        fprintf(stderr, "%s: --patience %d needs --val-split (the points it watches)\n", prog,
                o->patience);
        return 2;
    }
    if (slide_data_check_path("train", o->train, &err) ||
        slide_data_check_path("test", o->test, &err))
        FAIL(lp, err.msg);
    slide_context_fill(&lp->ctx, o->run_id);
    if (slide_csv_open(&lp->csv, o->csv, slide_train_csv_header(), &err)) FAIL(lp, err.msg);
    lp->t_start = slide_now();
    lp->progress = o->progress < 0 ? isatty(2) : o->progress;
    snprintf(lp->dataset, sizeof lp->dataset, "%s", o->dataset);
    slide_csv_sanitize(lp->dataset);

    slide_data_opts dop = slide_data_opts_default();
    dop.normalize = o->normalize;
    dop.cache = o->cache ? SLIDE_CACHE_AUTO : SLIDE_CACHE_OFF;
    if (slide_data_load(&lp->train, o->train, &dop, &err)) FAIL(lp, err.msg);
    dop.expect_d = lp->train.d;
    dop.expect_l = lp->train.l;
    if (slide_data_load(&lp->test, o->test, &dop, &err)) FAIL(lp, err.msg);
    const slide_data *tr = &lp->train, *te = &lp->test;
    fprintf(stderr, "[data] %s: train %lld points, test %lld points, %lld features, %lld labels "
            "(%.1f s)\n", o->dataset, (long long)tr->n, (long long)te->n, (long long)tr->d,
            (long long)tr->l, slide_now() - lp->t_start);
    if (tr->n == 0) {
        fprintf(stderr, "%s: %s: no training points\n", prog, o->train);
        return 2;
    }
    lp->val_best = -1;
    if (o->val_split > 0) { /* its own seeded stream: without a split nothing else changes */
        slide_data rest;
        if (slide_data_split(&lp->train, o->val_split, o->seed, &rest, &lp->val, NULL, &err)) {
            fprintf(stderr, "%s: --val-split %g: %s\n", prog, o->val_split, err.msg);
            return 2;
        }
        slide_data_free(&lp->train);
        lp->train = rest;
        lp->n_val_eval = (o->eval_n > 0 && o->eval_n < lp->val.n) ? o->eval_n : lp->val.n;
        fprintf(stderr, "[val] %lld of the training points held out (--val-split %g, seed %llu), "
                "%lld evaluated per row%s\n", (long long)lp->val.n, o->val_split,
                (unsigned long long)o->seed, (long long)lp->n_val_eval,
                o->patience > 0 ? "; --patience stops the run" : "");
    }

    /* Evaluation subset: a seeded random sample of the test set (never its first lines); the
     * same RNG then shuffles the epochs. */
    lp->n_sub = (o->eval_n > 0 && o->eval_n < te->n) ? o->eval_n : te->n;
    lp->eval_ids = malloc((size_t)(te->n > 0 ? te->n : 1) * sizeof *lp->eval_ids);
    lp->perm = malloc((size_t)tr->n * sizeof *lp->perm);
    if (!lp->eval_ids || !lp->perm) FAIL(lp, "out of memory");
    slide_rng_seed(&lp->rng, o->seed, 0xE7A1ULL);
    slide_sample_subset(lp->eval_ids, te->n, lp->n_sub, &lp->rng);
    for (int64_t i = 0; i < tr->n; i++) lp->perm[i] = i;
    lp->total = (int64_t)ceil(o->epochs * (double)tr->n);
    lp->pos = tr->n; /* the first batch starts an epoch */
    return 0;
}

/* The row's columns that come from the schedule and the metrics; the model adds its own. */
static void base_row(const drv_loop *lp, slide_train_row *r, const slide_eval_result *ev,
                     int full, double eval_s) {
    memset(r, 0, sizeof *r);
    r->ctx = &lp->ctx;
    r->dataset = lp->dataset;
    r->numa_policy = "NA";
    r->hash_family = "NA";
    r->bucket_policy = "NA";
    r->eval_set = full == 2 ? "val" : full ? "full" : "subset";
    r->inference = "exact";
    r->gpu_model = "NA";
    r->threads = lp->o->threads;
    r->batch = lp->o->batch;
    r->hidden = lp->o->hidden;
    r->lr = lp->o->lr;
    r->seed = lp->o->seed;
    r->epoch = (double)lp->seen / (double)lp->train.n;
    r->iter = lp->iter;
    r->samples_seen = lp->seen;
    r->n_eval = ev->n_eval;
    r->n_skipped = ev->n_skipped;
    r->train_s = lp->train_s;
    r->wall_s = slide_now() - lp->t_start;
    r->p_at_1 = ev->p_at[1];
    r->p_at_3 = ev->p_at[3];
    r->p_at_5 = ev->p_at[5];
    r->ndcg_at_1 = ev->ndcg_at[1];
    r->ndcg_at_3 = ev->ndcg_at[3];
    r->ndcg_at_5 = ev->ndcg_at[5];
    r->recall_at_5 = ev->recall_at_5;
    r->eval_s = eval_s;
    r->gflops = NAN;
}

/* One evaluation: kind 1 the whole test set, 0 its subset, 2 the validation split. */
typedef struct {
    int kind;
    double eval_s;
    slide_eval_result ev;
    slide_train_row r;
} eval_rec;

static int evaluate(drv_loop *lp, const drv_model *m, int kind, eval_rec *e, slide_err *err) {
    const double t0 = slide_now();
    e->kind = kind;
    int rc = kind == 2 ? m->evaluate(m->self, &lp->val, NULL, lp->n_val_eval, &e->ev, err)
                       : m->evaluate(m->self, &lp->test, kind ? NULL : lp->eval_ids,
                                     kind ? lp->test.n : lp->n_sub, &e->ev, err);
    e->eval_s = slide_now() - t0;
    lp->eval_s_total += e->eval_s;
    return rc;
}

/* Writes the rows of evaluations e[0..n) taken at this point: every row gets the interval's
 * training columns, then the model's after_row runs for each and a new interval starts. */
static int write_rows(drv_loop *lp, const drv_model *m, eval_rec *e, int n, slide_err *err) {
    int rc;
    for (int k = 0; k < n; k++) {
        base_row(lp, &e[k].r, &e[k].ev, e[k].kind, e[k].eval_s);
        m->fill_row(m->self, lp, &e[k].r, &e[k].ev, lp->train_s - lp->last_eval_train_s);
        char row[4096];
        slide_train_row_format(&e[k].r, row, sizeof row);
        if ((rc = slide_csv_row(lp->csv, row, err))) return rc;
    }
    if (lp->progress) fputc('\n', stderr);
    for (int k = 0; k < n; k++)
        if (m->after_row && (rc = m->after_row(m->self, lp, &e[k].r, &e[k].ev, err))) return rc;
    lp->last_eval_iter = lp->iter;
    lp->last_eval_train_s = lp->train_s;
    return SLIDE_OK;
}

/* Counts a validation evaluation of P@1 p1; 1 when --patience says stop (an "[stop]" line). */
static int val_patience(drv_loop *lp, double p1) {
    lp->val_evals++;
    if (p1 > lp->val_best) {
        lp->val_best = p1;
        lp->val_best_iter = lp->iter;
        lp->val_since = 0;
        return 0;
    }
    lp->val_since++;
    if (lp->o->patience <= 0 || lp->val_since < lp->o->patience) return 0;
    fprintf(stderr, "[stop] validation P@1 has not improved for %d evaluations (best %.4f at iter "
            "%lld, evaluation %lld of %lld): last row\n", lp->val_since, lp->val_best,
            (long long)lp->val_best_iter, (long long)(lp->val_evals - lp->val_since),
            (long long)lp->val_evals);
    return 1;
}

int drv_loop_run(drv_loop *lp, const drv_model *m) {
    const drv_opts *o = lp->o;
    const int64_t n = lp->train.n;
    slide_err err;
    slide_err_clear(&err);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!lp->finished) {
        if (lp->pos >= n) { /* new epoch: reshuffle */
            slide_shuffle_ids(lp->perm, n, &lp->rng);
            lp->pos = 0;
            lp->epoch++;
            if (m->epoch_start && m->epoch_start(m->self, lp->perm, n, &err)) FAIL(lp, err.msg);
        }
        int64_t nb = o->batch;
        if (nb > n - lp->pos) nb = n - lp->pos;
        if (nb > lp->total - lp->seen) nb = lp->total - lp->seen;
        const int rc = m->train_batch(m->self, lp, lp->perm + lp->pos, nb, &lp->train_s, &err);
        if (rc == DRV_STOP_NOW) {
            lp->signal = g_stop;
            return 0;
        }
        if (rc) FAIL(lp, err.msg);
        lp->pos += nb;
        lp->seen += nb;
        lp->iter++;
        const int stop = g_stop;
        int last = lp->seen >= lp->total ||
                   (o->time_budget > 0 && lp->train_s >= o->time_budget) || stop ||
                   (lp->stop_iter > 0 && lp->iter >= lp->stop_iter);
        const int due = (o->eval_every > 0 && lp->iter - lp->last_eval_iter >= o->eval_every) ||
                        (o->eval_every_s > 0 &&
                         lp->train_s - lp->last_eval_train_s >= o->eval_every_s);
        if (lp->progress) {
            char tail[160] = "";
            if (m->progress) m->progress(m->self, tail, sizeof tail);
            fprintf(stderr, "\r[train] epoch %lld iter %lld samples %lld train %.1fs %s   ",
                    (long long)lp->epoch, (long long)lp->iter, (long long)lp->seen, lp->train_s,
                    tail);
        }
        if (due || last) {
            /* The last row evaluates the whole test set, unless a signal stopped the run (then
             * the subset: a large test set would keep the user waiting minutes). With a
             * validation split the rows before it evaluate the split, and --patience may make
             * this the last. */
            static eval_rec e[2]; /* (two rows: large for the stack) */
            int ne = 0;
            lp->signal = stop;
            if (lp->val.n > 0 && !stop) {
                if (evaluate(lp, m, 2, &e[ne++], &err)) FAIL(lp, err.msg);
                if (val_patience(lp, e[0].ev.p_at[1]) && !last) last = lp->early_stop = 1;
            }
            const int full = last && !stop;
            if (last && !full)
                fprintf(stderr, "\n[stop] signal %d: last row evaluates the %lld-point subset\n",
                        stop, (long long)lp->n_sub);
            if ((last || lp->val.n == 0) && evaluate(lp, m, full, &e[ne++], &err))
                FAIL(lp, err.msg);
            if (write_rows(lp, m, e, ne, &err)) FAIL(lp, err.msg);
            if (last) lp->finished = 1;
        }
        if (m->checkpoint && (last || (o->checkpoint_every > 0 &&
                                       lp->iter % o->checkpoint_every == 0)) &&
            m->checkpoint(m->self, lp, last, &err))
            FAIL(lp, err.msg);
    }
    return 0;
}

int64_t drv_loop_batches(const drv_loop *lp, int64_t upto) {
    const int64_t n = lp->train.n, batch = lp->o->batch;
    int64_t seen = lp->seen, pos = lp->pos, b = 0;
    while (seen < lp->total && b < upto) {
        if (pos >= n) pos = 0;
        int64_t nb = batch < n - pos ? batch : n - pos;
        if (nb > lp->total - seen) nb = lp->total - seen;
        pos += nb;
        seen += nb;
        b++;
    }
    return b;
}

int drv_loop_done(drv_loop *lp) {
    fprintf(stderr, "[done] %lld iterations, %lld samples, train %.2f s, eval %.2f s, wall %.2f s "
            "-> %s\n", (long long)lp->iter, (long long)lp->seen, lp->train_s, lp->eval_s_total,
            slide_now() - lp->t_start, lp->o->csv);
    return lp->signal == SIGINT ? 130 : lp->signal == SIGTERM ? 143 : 0;
}

void drv_loop_free(drv_loop *lp) {
    free(lp->perm);
    free(lp->eval_ids);
    slide_data_free(&lp->train);
    slide_data_free(&lp->test);
    slide_data_free(&lp->val);
    slide_csv_close(lp->csv);
    lp->perm = lp->eval_ids = NULL;
    lp->csv = NULL;
}
