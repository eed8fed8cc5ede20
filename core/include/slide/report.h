/* Result rows: the context every CSV row carries (run id, time, commit, host, CPU, load) and an
 * append-only CSV writer whose rows are each one write() + flush, so a killed run leaves only
 * whole rows. */
#ifndef SLIDE_REPORT_H
#define SLIDE_REPORT_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char run_id[96];
    char host[128];
    char cpu_model[160];
    char omp_proc_bind[64];
    char git_commit[64];
} slide_context;

/* Fills host, CPU model, commit, OMP_PROC_BIND/OMP_PLACES and a run id (UTC time + host + pid)
 * unless run_id is given. */
void slide_context_fill(slide_context *c, const char *run_id);
/* Current UTC time as ISO 8601 (buf >= 32). */
void slide_utc_now(char *buf, size_t n);
/* 1-minute load average as text ("NA" when unreadable). */
void slide_loadavg(char *buf, size_t n);
/* Replaces characters that would break a CSV field (comma, quote, newline) with '_'. */
void slide_csv_sanitize(char *s);

/* One row of a training run (slide-train, slide-dense, slide-dense-gpu share this schema;
 * results/SCHEMA.md documents every column). Text fields must be CSV-safe. NaN numbers are
 * written as NA. */
typedef struct {
    const slide_context *ctx;
    const char *simd, *hugepages, *hugepages_requested, *numa_policy, *system, *dataset;
    const char *hash_family, *bucket_policy, *eval_set, *inference, *gpu_model, *numa_nodes;
    const char *weights; /* "fp32", or "bf16" (BF16 copies of the row-major weights); NA = fp32 */
    const char *adam_state; /* "fp32", or "bf16-sr" (BF16 moments, stochastic rounding); NA = fp32 */
    const char *train_order; /* "row-sweep" or "per-sample" (slide-train); NULL = NA */
    const char *sampler;     /* "lsh", "uniform" or "unigram" (sampled output layer); NULL = NA */
    double budget;           /* --budget fraction (0 or NaN: NA, no exact budget) */
    int threads, K, L, range_bits, bucket_cap, batch, probes, hidden;
    double lr;
    uint64_t seed;
    double epoch;
    int64_t iter, samples_seen, n_eval, n_skipped;
    double train_s, wall_s, p_at_1, p_at_3, p_at_5, ndcg_at_1, ndcg_at_3, ndcg_at_5, recall_at_5;
    double loss, active_avg, active_frac, samples_per_s, eval_s;
    double t_fwd_bwd_s, t_update_s, t_rehash_s, gflops;
    double peak_gflops; /* measured FP32 FMA peak of the run's threads (0 or NaN: NA); the
                           row's peak_frac is gflops / peak_gflops */
    /* slide-train-mpi (ranks 0: one process; label_split, t_comm_s and comm_bytes_per_batch NA):
     * processes, how labels are split among them, seconds in communication since the start
     * (slowest rank), bytes a rank sends per batch; peak_rss_mb > 0 replaces this process's
     * peak RSS (the maximum over the ranks) */
    int ranks;
    const char *label_split;
    double t_comm_s, comm_bytes_per_batch, peak_rss_mb;
} slide_train_row;

/* The header line (no newline) for slide_train_row CSV files. */
const char *slide_train_csv_header(void);
/* Formats a row (adds utc, loadavg, rss, peak rss, hugepage MB, compiler). Returns bytes
 * written (truncated rows are an internal error). */
int slide_train_row_format(const slide_train_row *r, char *buf, size_t n);

typedef struct slide_csv slide_csv;
/* Opens path for appending rows. A new or empty file gets the header; an existing file must
 * have exactly this header (else SLIDE_EFORMAT: pick another --csv). Creates parent dirs. */
int slide_csv_open(slide_csv **out, const char *path, const char *header, slide_err *err);
/* Appends one row (no trailing newline needed) with one write() call. */
int slide_csv_row(slide_csv *c, const char *row, slide_err *err);
void slide_csv_close(slide_csv *c);

#ifdef __cplusplus
}
#endif
#endif
