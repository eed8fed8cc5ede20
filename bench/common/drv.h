/* What the training drivers (slide-train, slide-dense, slide-dense-gpu, and the MPI driver to
 * come) share: one option table with one set of defaults, the data set-up, and one run loop
 * (epochs, seeded shuffles, time budget, evaluation cadence, rows, checkpoints, signals). */
#ifndef SLIDE_DRV_H
#define SLIDE_DRV_H

#include "slide/data.h"
#include "slide/network.h"
#include "slide/opts.h"
#include "slide/report.h"
#include "slide/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ options */

/* Which driver reads the options: each option of the shared table names the drivers that use
 * it; the others accept it (one config file serves every driver) and note it once on stderr. */
typedef enum { DRV_SLIDE = 1, DRV_DENSE = 2, DRV_GPU = 4 } drv_kind;

#define DRV_OPTS_MAX 80 /* shared options + a driver's own + the terminator */

/* Every option of every driver, bound to the table below. */
typedef struct {
    /* data, output, schedule, evaluation */
    const char *train, *test, *dataset, *csv, *run_id;
    double epochs, time_budget, eval_every_s, val_split;
    int eval_every, eval_n, normalize, cache, progress, patience;
    /* network and optimiser */
    int batch, hidden, full_output, sampled_inference;
    float lr, init_std;
    uint64_t seed;
    /* output layer sampling (slide-train) */
    int family, K, L, range_bits, bin_size, sparsity, bucket_cap, policy, probes;
    double min_active, max_active, rebuild_decay;
    int64_t min_active_n, max_active_n; /* > 0: the default rule's bounds in neurons (set by
                                           drv_active_default; they replace the fractions) */
    int rehash, rebuild, hash_rotate, mips, shared_fill, train_order, sampler;
    double budget, unigram_power;
    int input_update; /* 0 hogwild, 1 sorted (slide_net_params.input_sorted) */
    /* precision, memory, machine */
    int bf16, adam_bf16, bf16_only, hugepages, threads, no_pin, tlb_sim, checkpoint_every;
    const char *simd, *numa, *papi_events, *checkpoint, *resume, *profile_batches;
    double max_mem_mb;
    /* dense baselines */
    int dump_after, csv_header;
    const char *dump_path;

    drv_kind kind;
    slide_opt table[DRV_OPTS_MAX]; /* bound to the fields above (and to the driver's own) */
} drv_opts;

/* The one home of the defaults: the Delicious job (bench/e2e/configs/delicious.conf), rows
 * appended to results/<program>.csv. Builds o->table: the shared options, then own (a table
 * ending with a NULL name, bound to the driver's own variables; may be NULL). */
void drv_opts_init(drv_opts *o, drv_kind kind, const slide_opt *own);
/* Parses the command line (and --config). After --help prints the options the driver uses and
 * names the ones it accepts without using; after --csv-header prints the training CSV header;
 * after an error "prog: message". Returns -1 when the program goes on, else its exit status
 * (0 after --help or --csv-header, 2 after an error) with the options freed. */
int drv_opts_cli(drv_opts *o, int argc, char **argv, const char *prog, const char *usage);
/* One line on stderr naming the options given that this driver does not use (drv_loop_setup
 * calls it, after any restart of the program). */
void drv_opts_note_unused(const drv_opts *o, const char *prog);
/* 1 when option name was given in a config file or on the command line. */
int drv_opts_was_set(drv_opts *o, const char *name);
void drv_opts_free(drv_opts *o);
/* The default active-set rule of the output layer, for a training set of l labels and lab_mean
 * labels per point: min active = max(ceil(min-active x l), min(l, max(64, 4 x lab_mean))),
 * max active = max(ceil(max-active x l), min active). Applied (o->min_active_n, max_active_n
 * set, an "[active] default: ..." line on stderr) only when none of --min-active, --max-active,
 * --budget was given and the output layer is sampled; returns 1 when applied, else 0. */
int drv_active_default(drv_opts *o, int64_t l, double lab_mean);
/* Network parameters of the options for d features, l labels (simd, numa, threads: as given). */
void drv_net_params(const drv_opts *o, int64_t d, int64_t l, int simd, const slide_numa *numa,
                    slide_net_params *np);

/* ------------------------------------------------------------------ the run loop */

#define DRV_STOP_NOW (-3) /* train_batch: end the run now, without a row (e.g. a dump) */

typedef struct drv_loop drv_loop;

/* A model as the loop sees it. self is passed back to each call; NULL entries are skipped. */
typedef struct {
    void *self;
    /* A new epoch's order perm[0..n) is ready (before its first batch). */
    int (*epoch_start)(void *self, const int64_t *perm, int64_t n, slide_err *err);
    /* Trains points ids[0..n) (= lp->perm + lp->pos); adds the training seconds to *train_s.
     * Returns SLIDE_OK, an error (err filled) or DRV_STOP_NOW. */
    int (*train_batch)(void *self, const drv_loop *lp, const int64_t *ids, int64_t n,
                       double *train_s, slide_err *err);
    /* Evaluates points ids[0..n) (ids NULL: all) of ds: the loop's test set, or its validation
     * split (--val-split; a model that cannot evaluate another set than the test set returns an
     * error). */
    int (*evaluate)(void *self, const slide_data *ds, const int64_t *ids, int64_t n,
                    slide_eval_result *ev, slide_err *err);
    /* Tail of the progress line (after epoch, iter, samples, train time). */
    void (*progress)(void *self, char *buf, size_t cap);
    /* The model's columns of a row (the loop filled the schedule's and the metrics');
     * int_train_s: training seconds since the last row. */
    void (*fill_row)(void *self, const drv_loop *lp, slide_train_row *r,
                     const slide_eval_result *ev, double int_train_s);
    /* After the row is written: the [eval] line, side files; starts a new interval. */
    int (*after_row)(void *self, const drv_loop *lp, const slide_train_row *r,
                     const slide_eval_result *ev, slide_err *err);
    /* Writes a checkpoint (called every --checkpoint-every batches and after the last row). */
    int (*checkpoint)(void *self, const drv_loop *lp, int last, slide_err *err);
} drv_model;

struct drv_loop {
    const drv_opts *o;
    const char *prog;
    slide_context ctx;
    slide_csv *csv;
    char dataset[128]; /* CSV-safe --dataset-name */
    double t_start;    /* wall clock at set-up */
    int progress;      /* progress line on stderr */
    slide_data train, test;
    slide_data val;                  /* --val-split: the held-out points (never trained on) */
    int64_t *perm, *eval_ids, n_sub; /* epoch order; evaluation subset */
    int64_t n_val_eval;              /* validation points per evaluation (the split's first) */
    int64_t total;                   /* samples to train: ceil(epochs x train points) */
    int64_t stop_iter;               /* > 0: the run ends after this batch */
    /* the schedule's state (a checkpoint saves it; a resume restores it before drv_loop_run) */
    slide_rng rng;
    int64_t seen, iter, last_eval_iter, pos, epoch;
    double train_s, last_eval_train_s, eval_s_total;
    int finished; /* the last row was written */
    /* --patience (not saved by checkpoints: a resumed run counts afresh) */
    double val_best;                 /* best validation P@1 so far (-1 before the first) */
    int64_t val_best_iter, val_evals; /* its iteration; validation evaluations so far */
    int val_since;                   /* validation evaluations since the best */
    int early_stop;                  /* 1 when patience ended the run */
    int signal;   /* SIGINT or SIGTERM that stopped the run, else 0 */
};

/* Checks the paths, opens the CSV, loads the data ([data] line), holds out the validation split
 * (--val-split), draws the evaluation subset and sets the schedule to its start. Returns 0, or 2
 * after printing "prog: message". */
int drv_loop_setup(drv_loop *lp, const drv_opts *o, const char *prog);
/* Trains until the epochs, the time budget, stop_iter, --patience or SIGINT/SIGTERM end it (the
 * batch in flight finishes; a signal's last row evaluates the --eval-n subset, the others the
 * whole test set). With --val-split the evaluations between go to the validation split (rows
 * with eval_set val), else to the test subset. Returns 0, or 2 after printing "prog: message". */
int drv_loop_run(drv_loop *lp, const drv_model *m);
/* Batches the run still trains from its current state, counted up to upto. */
int64_t drv_loop_batches(const drv_loop *lp, int64_t upto);
/* Prints the [done] line; returns the exit status: 130 after SIGINT, 143 after SIGTERM, else 0. */
int drv_loop_done(drv_loop *lp);
void drv_loop_free(drv_loop *lp);

#ifdef __cplusplus
}
#endif
#endif
