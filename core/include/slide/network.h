/* The SLIDE network: sparse input -> full hidden layer(s) (ReLU) -> output layer (softmax),
 * any layer after the first optionally LSH-sampled. Training runs mini-batches with one sample
 * per OpenMP thread at a time and lock-free HOGWILD gradient accumulation, then Adam on the
 * rows the batch touched; evaluation gives P@k, nDCG@k and the LSH recall of the output layer. */
#ifndef SLIDE_NETWORK_H
#define SLIDE_NETWORK_H

#include "slide/data.h"
#include "slide/layer.h"
#include "slide/tlbsim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLIDE_MAX_LAYERS 8
/* params.row_sweep = -1 (auto): row sweep when the output layer's fp32 weights exceed this. */
#define SLIDE_ROW_SWEEP_AUTO_BYTES (32.0 * 1048576.0)

typedef struct {
    int n_layers;                               /* including the output layer */
    slide_layer_params layer[SLIDE_MAX_LAYERS]; /* n_in of layer 0 = features */
    float lr, beta1, beta2, eps;
    int batch;
    int threads;
    uint64_t seed;
    int simd;                                   /* slide_simd */
    int hugepages;                              /* requested slide_hugepages */
    int bf16;                                   /* BF16 copies of the row-major layers' weights
                                                   for forward/backward (slide_layer_params) */
    int adam_bf16;                              /* BF16 Adam moments of the row-major layers'
                                                   weights (slide_layer_params) */
    int bf16_only;                              /* the row-major layers' weights and moments
                                                   only as BF16, no fp32 master (implies bf16
                                                   and adam_bf16; slide_layer_params) */
    slide_numa numa;                            /* placement of the weight slabs */
    int row_sweep;                              /* with one hidden layer: 1 train batches by
                                                   row sweep (network.c), 0 sample by sample,
                                                   -1 (default) row sweep when the output
                                                   weights exceed SLIDE_ROW_SWEEP_AUTO_BYTES */
    /* table maintenance schedule, in batches; 0 = never */
    int rehash_every;       /* rehash touched neurons */
    int rebuild_every;      /* recompute all keys and rebuild the tables */
    double rebuild_decay;   /* > 0: after each rebuild, rebuild_every *= (1 + decay) */
    /* The most labels a training point may have (the largest labels-per-point of the training
     * set; slide_data_compute_stats gives it as lab_max). The network's buffers are planned
     * for it once; a point with more labels than the plan holds is refused
     * (slide_net_check_data, slide_net_train_batch). 0: the output layer's active-set bound. */
    int64_t max_labels;
    /* The input-major first layer's gradient: 0 (default) HOGWILD, each sample adds into the
     * shared gradient slab without locks (fast; with several threads the sums' order, so the
     * bits, vary from run to run); 1 sorted, the batch's (feature, slot) entries sorted and each
     * touched row's gradient summed in slot order (net_shard.c): the same bits for any thread
     * count, as the other layers' updates. */
    int input_sorted;
} slide_net_params;

/* Defaults: one hidden layer of 128 (ReLU, full), sampled output layer (softmax, SimHash). */
slide_net_params slide_net_params_default(void);
/* Fills the layer sizes: input d features, hidden sizes, l labels. */
void slide_net_params_shape(slide_net_params *p, int64_t d, int64_t l);
const char *slide_net_params_check(const slide_net_params *p);
/* Bytes the network will need at most (before creating it): everything slide_net_create
 * allocates, the buffers of training and evaluation (all sized once, at creation, from p), and
 * the largest transient allocation of table maintenance. By part into *parts when not NULL
 * (slide_mem_parts, slide/layer.h: the layers' parts, the batch and threads' buffers as
 * workspace, the transient part as scratch). */
double slide_net_estimate_bytes(const slide_net_params *p, slide_mem_parts *parts);

typedef struct slide_net slide_net;

int slide_net_create(slide_net **out, const slide_net_params *p, slide_err *err);
void slide_net_destroy(slide_net *net);
const slide_net_params *slide_net_params_of(const slide_net *net);
slide_layer *slide_net_layer(slide_net *net, int i);
const slide_kern *slide_net_kern(const slide_net *net);
int slide_net_hugepages_in_effect(const slide_net *net);
/* 1 when batches train by row sweep (params.row_sweep, resolved; one-hidden-layer networks). */
int slide_net_row_sweep(const slide_net *net);
/* NUMA nodes backing the sampled pages of every layer slab ("0", "0+1", or "NA"). */
void slide_net_numa_nodes(const slide_net *net, char *buf, size_t n);

typedef struct {
    double loss_sum;       /* sum of per-sample cross-entropy */
    int64_t samples;
    int64_t active_sum;    /* output-layer active neurons summed over samples */
    int64_t label_sum;     /* of which: the sample's labels */
    int64_t lsh_sum;       /* of which: found in the hash tables (the rest is random fill) */
    double t_forward, t_update, t_rehash; /* seconds (wall, per batch phases; t_forward holds
                                             forward and backward) */
    /* Inside the parallel sample loop, thread-seconds divided by the thread count: hashing the
     * layer input, table queries (plus active-set fill), the rest of forward, backward. */
    double t_hash, t_query, t_fwd, t_bwd;
    /* Row sweep only (0 otherwise), wall seconds inside t_fwd: sorting the batch's (row, slot)
     * entries, the ordered logit pass, the per-sample softmax and deltas. */
    double t_sort, t_logits, t_softmax;
    /* Wall seconds inside t_rehash: computing the neurons' keys, and building the tables (or
     * moving rehashed neurons between buckets). */
    double t_rehash_keys, t_rehash_tables;
    /* Row sweep only: wall seconds of the input and hidden layers (their forward, share of the
     * threads' time, their backward and update; with label shards including the hidden
     * gradient's exchange): what every rank of slide-train-mpi repeats. */
    double t_replicated;
} slide_train_stats;

/* The unigram sampler's weights from the label counts of the training set (no-op for other
 * samplers; until it is called the unigram draws uniformly). */
int slide_net_set_label_counts(slide_net *net, const slide_data *train, slide_err *err);
/* SLIDE_EINVAL, naming the first offending point, when ds does not fit the network: another
 * shape, or a point with more labels than the plan holds (slide_net_params.max_labels). Drivers
 * call it when a data set is loaded. */
int slide_net_check_data(const slide_net *net, const slide_data *ds, slide_err *err);

/* a += b, every field (the drivers' sums over batches and evaluation intervals). */
void slide_train_stats_add(slide_train_stats *a, const slide_train_stats *b);

/* One mini-batch: samples ids[0..n) of ds, n <= params.batch. Updates weights (HOGWILD + Adam on touched rows),
 * then runs the table schedule. Accumulates into st (may be NULL). */
int slide_net_train_batch(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                          slide_train_stats *st, slide_err *err);
/* Registers every layer's slab with trace t (slide/tlbsim.h), with the share of it on 2 MB
 * pages read from /proc/self/smaps (0 when unreadable); shares (may be NULL, n_layers entries)
 * receives each share as read (-1 when unreadable). */
int slide_net_tlb_regions(const slide_net *net, slide_tlbtrace *t, double *shares,
                          slide_err *err);
/* Sets the TLB trace (NULL: off, the default). While set, every batch replays, after each of
 * its phases, the slab rows that phase touched, in the order each thread touched them (derived
 * from the active sets and gradient entries, not recorded in the inner loops), through t's
 * TLBs; t->seconds grows by the time that takes. With two layers (the paper's shape), both
 * train orders; the row sweep's passes over sorted rows are given to threads as the schedule
 * would in a fixed order (ranges and buckets round robin), the per-sample path's samples as
 * the threads ran them. SLIDE_EINVAL when t has fewer threads than the network. */
int slide_net_set_tlb_trace(slide_net *net, slide_tlbtrace *t, slide_err *err);
/* Number of batches trained so far (Adam step). */
int64_t slide_net_step(const slide_net *net);

/* ------------------------------------------------------------------ label shards
 * A network whose output layer holds one shard of a larger label set (bench/mpi/ runs one
 * process per shard; the design note is in bench/mpi/slide-train-mpi.c). Its output layer has
 * the shard's labels only; the data set it trains on carries the labels of the shard, renumbered
 * 0..n_out-1 in the shard. The library calls back to combine across shards, so it never depends
 * on a transport. Requires the row sweep (one hidden layer) and params.input_sorted. */
typedef struct {
    void *ctx;
    /* Combines n (max, sum) pairs across the shards in place: each pair is one sample's largest
     * logit in a shard and the sum of exp(logit - max) there; afterwards the whole layer's. */
    int (*norm)(void *ctx, double *ms, int64_t n, slide_err *err);
    /* Sums n floats across the shards in place; every shard must receive the same bits (the
     * replicated layers' updates are computed from them). */
    int (*sum)(void *ctx, float *x, int64_t n, slide_err *err);
    /* Per point of the training set: its number of labels in the whole label set. */
    const int64_t *n_labels;
} slide_net_shard;

/* Makes net train as a shard (sh copied; NULL: off). SLIDE_EINVAL when the network does not
 * train by row sweep or has HOGWILD input updates with several threads. */
int slide_net_set_shard(slide_net *net, const slide_net_shard *sh, slide_err *err);

/* A shard's evaluation, step 1: for points ids[0..n) of ds (whose labels are global; points
 * without labels are skipped: cnt[q] = 0), the shard's exact top-5 output neurons (scores,
 * best first, ties to the lower id, global ids row0 + j * row_step) into ex_s/ex_id (5 per
 * point; unused entries -INFINITY and UINT32_MAX), and for a sampled output layer the top-5 of
 * its sampled set into sm_s/sm_id (may be NULL) and that set's size into act (may be NULL). */
int slide_net_shard_top5(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                         float *ex_s, uint32_t *ex_id, int *cnt, float *sm_s, uint32_t *sm_id,
                         int64_t *act, slide_err *err);
/* Step 2 (sampled output layer): found[q] = how many of the global ids top[q * 5 ..] (gn[q] of
 * them; the merged exact top-5) are this shard's and in its sampled set for point ids[q]. */
int slide_net_shard_found(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                          const uint32_t *top, const int *gn, int *found, slide_err *err);

#define SLIDE_RECALL_BINS 20

typedef struct {
    int64_t n_eval;       /* points evaluated (with >= 1 label) */
    int64_t n_skipped;    /* points without labels */
    double p_at[6];       /* P@1..P@5 at index k */
    double ndcg_at[6];    /* nDCG@1..@5 */
    double recall_at_5;   /* fraction of exact top-5 output neurons in the sampled active set;
                             NaN when the output layer is not sampled */
    double active_avg;    /* output active set size at inference (sampled) */
    /* Why recall_at_5 is what it is. Two sets of neurons per evaluated point, [0] its exact
     * top-5 output neurons and [1] five neurons drawn uniformly (the bulk, for comparison),
     * binned by the cosine of the vector the tables hash for the neuron with the query's ([w]
     * and [h], or the MIPS pair) in SLIDE_RECALL_BINS bins of width 2 / SLIDE_RECALL_BINS over
     * [-1, 1]: rc_n neurons, rc_found of them in the sampled active set, rc_tables the sum over
     * them of the tables whose main key under the current weights equals the query's (at most
     * rc_n x L; a neuron can match a key and still be missing from the bucket: stale tables,
     * full buckets). All zero when the output layer is not sampled. */
    int64_t rc_n[2][SLIDE_RECALL_BINS], rc_found[2][SLIDE_RECALL_BINS],
        rc_tables[2][SLIDE_RECALL_BINS];
} slide_eval_result;

/* Evaluates on points ids[0..n) of ds (ids NULL = all points). sampled_inference: rank only the
 * sampled active set (no labels added); else exact top-k over all output neurons. */
int slide_net_evaluate(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                       int sampled_inference, slide_eval_result *res, slide_err *err);

/* Forward of one point with every layer computed in full; writes output-layer scores
 * (pre-softmax logits) into out (n_out of the last layer). For tests. */
void slide_net_forward_full(slide_net *net, const slide_data *ds, int64_t i, float *out);
/* Loss of one point with the output computed over the given active set (all if NULL), no update.
 * For gradient checks. */
double slide_net_loss_point(slide_net *net, const slide_data *ds, int64_t i, const uint32_t *act,
                            int64_t n_act);
/* Gradients of that loss w.r.t. all parameters are accumulated into the layers' gW/gb
 * (not applied; the row-major layers' gW is allocated at the first call). For gradient checks.
 * SLIDE_ENOMEM when that allocation fails. */
int slide_net_grad_point(slide_net *net, const slide_data *ds, int64_t i, const uint32_t *act,
                          int64_t n_act);

/* HOGWILD accumulation into gradient rows shared by all threads, without locks. Racy by design
 * (as in SLIDE: lost updates are rare and tolerated); the only functions a ThreadSanitizer
 * suppression may name. */
void slide_hogwild_axpy(const slide_kern *k, float *y, float a, const float *x, int64_t n);
void slide_hogwild_add(float *y, float a);

/* P@k and nDCG@k of one ranked prediction list against sorted labels (k <= 5; fewer than k
 * predictions count as misses). */
void slide_metrics_point(const uint32_t *pred, int n_pred, const int32_t *labels, int n_labels,
                         double p_at[6], double ndcg_at[6]);

#ifdef __cplusplus
}
#endif
#endif
