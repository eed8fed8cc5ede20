/* Dense full-softmax baseline of the SLIDE network on the CPU: sparse input -> hidden ReLU ->
 * softmax over ALL labels, the output layer's three products done with OpenBLAS sgemm. */
#ifndef SLIDE_DENSE_H
#define SLIDE_DENSE_H

#include "slide/common.h"
#include "slide/data.h"
#include "slide/network.h"
#include "blas.h"

#ifdef __cplusplus
extern "C" {
#endif
/* rng.h has no extern "C" of its own (slide_rng_normal); the GPU program includes this from C++. */
#include "slide/rng.h"

typedef struct {
    int64_t d, l;        /* input features, output labels */
    int hidden;          /* H */
    int batch;           /* largest mini-batch (workspace rows) */
    int threads;         /* OpenMP threads; each runs 1-thread sgemm on its block of labels */
    float lr, beta1, beta2, eps;
    float init_std;      /* weights ~ N(0, init_std^2), biases 0 */
    uint64_t seed;
    int hugepages;       /* slide_hugepages mode of the parameter slab */
    const char *blas;    /* CPU backend: "openblas" (default) or "blis" (blas.h) */
} slide_dense_params;

/* hidden 128, batch 128, 2 threads, lr 1e-3, Adam .9/.999/1e-8, init_std 0.01, seed 1,
 * transparent hugepages, OpenBLAS (the drivers set these from bench/common's defaults). */
slide_dense_params slide_dense_params_default(void);
/* NULL when usable, else a one-line message. */
const char *slide_dense_params_check(const slide_dense_params *p);
/* Bytes the model needs: weights + gradients + Adam moments of both layers, and the batch
 * workspace (batch x L logits dominate for large L). Excludes the data sets. */
double slide_dense_estimate_bytes(const slide_dense_params *p);

/* Initial weights of layer `index` (0: W0, row = feature; 1: W1, row = label), rows 0..rows-1
 * of ld floats: slide_init_row of the SLIDE layers (core/src/layer.c), seeded per row from
 * (seed, index, row), so a seed gives the same initial weights in slide-train, slide-dense and
 * slide-dense-gpu for any thread count. Parallel over rows with OpenMP (dense_common.c). */
void slide_dense_init_matrix(float *W, int64_t rows, int64_t ld, float std, uint64_t seed,
                             int index);

/* The model. Parameters live in one slab (views below); all matrices are row-major.
 * W0 [d][H] (input-major), b0 [H], W1 [l][H] (row per label), b1 [l]. */
typedef struct {
    slide_dense_params p;
    const slide_blas *blas;           /* the backend running the three products */
    float *W0, *b0, *W1, *b1;
    float *gW0, *gb0, *gW1, *gb1;     /* gradients of the last forward_backward (batch mean);
                                         gW0 valid only on the rows listed in uniq */
    float *mW0, *vW0, *mb0, *vb0, *mW1, *vW1, *mb1, *vb1;
    slide_block blk;                  /* the slab holding all of the above */
    int hp_in_effect;
    /* batch workspace */
    float *hid;       /* [batch][H] hidden ReLU outputs */
    float *logits;    /* [batch][l] logits -> probabilities -> deltas (p - t) / n */
    float *dhid;      /* [batch][H] gradient w.r.t. hidden pre-activations */
    float *dhid_part; /* [threads][batch][H] per-thread shares of dH (label blocks) */
    float *row_max;   /* [threads][batch] softmax statistics of each thread's label block */
    double *row_sum, *row_lab;
    /* features of the current batch: uniq[0..n_uniq) distinct ids; occurrences of uniq[u] are
     * occ_row/occ_val[occ_ptr[u] .. occ_ptr[u+1]) (row within the batch, value) */
    int32_t *slot;    /* [d] feature -> index in uniq, -1 when absent (kept all -1 between calls) */
    int32_t *uniq;
    int64_t n_uniq;
    int64_t *occ_ptr;
    int32_t *occ_row, *occ_pos;
    float *occ_val;
    int64_t occ_cap, uniq_cap;
    int64_t step;     /* Adam steps done */
} slide_dense;

/* Allocates and initialises the model (seeded, see slide_dense_init_matrix). Training and
 * evaluation run p->threads OpenMP threads, each calling the backend's single-threaded sgemm on
 * its block of labels (sets the backend's own threads to 1). A backend not built in is
 * SLIDE_EINVAL. Release with slide_dense_free. */
int slide_dense_init(slide_dense *m, const slide_dense_params *p, slide_err *err);
void slide_dense_free(slide_dense *m);

/* Time and work of training calls, accumulated (zero it to start an interval). */
typedef struct {
    double loss_sum;      /* summed per-sample cross-entropy */
    int64_t samples;
    double t_fwd_bwd;     /* s: forward + backward */
    double t_update;      /* s: Adam */
    double t_gemm;        /* s: inside the three output-layer sgemm calls */
    double gemm_flops;    /* their floating-point operations, 3 x 2 x n x L x H per batch */
} slide_dense_stats;

/* Forward and backward of points ids[0..n) of ds (n <= p.batch): fills gW0 (rows of the
 * batch's features), gb0, gW1, gb1 with the gradient of the batch-mean cross-entropy (labels
 * spread uniformly, target 1/|y|; points without labels pull every probability to 0). *loss_sum
 * gets the summed per-sample loss. Does not update the weights. */
int slide_dense_forward_backward(slide_dense *m, const slide_data *ds, const int64_t *ids,
                                 int64_t n, double *loss_sum, slide_dense_stats *st,
                                 slide_err *err);
/* One bias-corrected Adam step (SLIDE's form: lr_t = lr sqrt(1-b2^t)/(1-b1^t),
 * w -= lr_t m / (sqrt(v) + eps)) on W1, b1, b0 in full and on the W0 rows of the last batch. */
void slide_dense_adam(slide_dense *m, slide_dense_stats *st);
/* forward_backward + adam. */
int slide_dense_train_batch(slide_dense *m, const slide_data *ds, const int64_t *ids, int64_t n,
                            slide_dense_stats *st, slide_err *err);

/* Exact top-5 over all labels for points ids[0..n) of ds (ids NULL = all), P@k and nDCG@k via
 * slide_metrics_point. Points without labels are counted in n_skipped and not evaluated.
 * recall_at_5 is NaN, active_avg = L. Overwrites the batch workspace. */
int slide_dense_evaluate(slide_dense *m, const slide_data *ds, const int64_t *ids, int64_t n,
                         slide_eval_result *res, slide_err *err);

/* Logits of one point (all labels) into out[l], with the current weights. For tests. */
void slide_dense_logits_point(slide_dense *m, const slide_data *ds, int64_t i, float *out);

/* Label columns [*j0, *j1) of thread t of nt (boundaries multiples of 16). */
void slide_dense_split_cols(int64_t L, int t, int nt, int64_t *j0, int64_t *j1);


/* ------------------------------------------------------------------ shared by the CPU and GPU
 * programs (dense_common.c; needs no BLAS) */

/* Input paths, the evaluation subset and the epoch shuffle come from the library
 * (slide_data_check_path, slide_sample_subset, slide_shuffle_ids in slide/data.h), drawn from an
 * RNG seeded with (seed, 0xE7A1) as slide-train does, so all programs see the same batches. */

/* Parameter dump (--dump-after-step): magic "SLDDUMP1", uint32 version 1, uint32 hidden,
 * int64 d, l, step, double loss (mean training loss of the steps so far), then float32
 * W0[d][H], b0[H], W1[l][H], b1[l], native byte order. */
typedef struct {
    int hidden;
    int64_t d, l, step;
    double loss;
    float *W0, *b0, *W1, *b1; /* one allocation starting at W0 */
} slide_dense_dump;
int slide_dense_dump_write(const char *path, const slide_dense_dump *dd, slide_err *err);
/* Reads a dump; the caller frees it with slide_dense_dump_free. */
int slide_dense_dump_read(slide_dense_dump *dd, const char *path, slide_err *err);
void slide_dense_dump_free(slide_dense_dump *dd);

#ifdef __cplusplus
}
#endif
#endif
