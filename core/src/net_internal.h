/* Internal layout of slide_net and its per-thread workspaces, shared by network.c and
 * checkpoint.c. Not a public header. */
#ifndef SLIDE_NET_INTERNAL_H
#define SLIDE_NET_INTERNAL_H

#include "slide/network.h"
#include "slide/rng.h"

/* Rows per bucket when the update groups gradient entries by row. */
#define SLIDE_GBUCKET_BITS 8

/* One gradient contribution of a row-major layer: sample slot s of the batch gave neuron `row`
 * the delta d. A row's gradient is sum_s d * x_s (x_s the layer's input for slot s), built at
 * update time, so no gradient slab is written during backward. */
typedef struct {
    uint32_t row;
    uint32_t s;
    union {
        float d;      /* per-sample path: the delta */
        uint32_t idx; /* row sweep: the entry's place in the batch's active lists (pos) */
    };
} slide_gentry;

/* Evaluation: points per task and output rows per block (a block of EVAL_ROWS x 128 floats =
 * 256 KB stays in L2 while every point of the task is scored against it). */
#define EVAL_CHUNK 64
#define EVAL_ROWS 512

/* Per-thread workspace, sized once by the plan (network.c, net_plan_walk). For layer l:
 * ids[l]/n_act[l] the active neurons (ids NULL = all), val[l] their outputs (compact, n_act
 * entries), dv[l] their deltas; dense[l] the layer's output as a dense vector of n_out (only
 * for layers that feed another layer); dx[l] the gradient with respect to the layer's dense
 * input (n_in; layers l >= 1). */
typedef struct {
    uint32_t *ids[SLIDE_MAX_LAYERS];
    int64_t n_act[SLIDE_MAX_LAYERS];
    float *val[SLIDE_MAX_LAYERS];
    float *dv[SLIDE_MAX_LAYERS];
    float *dense[SLIDE_MAX_LAYERS];
    float *dx[SLIDE_MAX_LAYERS];
    uint32_t *cid[SLIDE_MAX_LAYERS]; /* backward: the active rows with a nonzero delta (l >= 1) */
    uint64_t *mark[SLIDE_MAX_LAYERS]; /* sampled layers: bit per neuron, set while select_active
                                         builds the set (84 KB at 670K neurons: stays in L2) */
    uint32_t *keys;
    float *qvec;                     /* query vector of a sampled layer (n_in + 2) */
    slide_lsh_scratch *scratch[SLIDE_MAX_LAYERS]; /* sampled layers: the ranked query's state */
    uint32_t *rows[SLIDE_MAX_LAYERS]; /* input-major layers: rows this thread touched in this
                                         batch (room for all the layer's rows) */
    int64_t n_rows[SLIDE_MAX_LAYERS];
    float *wrow;          /* update (row sweep, BF16 copy): one row widened to fp32 (max ld) */
    uint32_t *sl;         /* update, row sweep forward: one row's batch slots (batch) */
    float *av;            /* update: their deltas (batch) */
    float *gbuf;          /* update: one row's gradient (max ld) */
    int64_t *bcnt;        /* update: this thread's entry count (then offset) per row bucket */
    float *ehid, *esc;    /* evaluation: a chunk's hidden outputs, a block of scores */
    float *eqv, *env;     /* evaluation, recall probe: the query's and a neuron's hashed vectors */
    uint32_t *enk;        /* and the neuron's keys */
    int64_t last_labels, last_lsh; /* last select_active: labels and table candidates kept */
    slide_rng rng;
    double t_hash, t_query, t_fwd, t_bwd; /* phase timers of the current batch (seconds) */
    char pad[64];                         /* keep neighbouring workspaces off this line */
} slide_ws;

/* The fixed plan of a network's buffers, from its parameters alone (net_plan_make): the most
 * active neurons a training sample can have per row-major layer, which bounds every batch
 * buffer. slide_net_create allocates by it once; slide_net_estimate_bytes counts the same. */
typedef struct {
    int64_t batch;                  /* batch slots */
    int64_t act[SLIDE_MAX_LAYERS];  /* most active neurons of a training sample (layers >= 1) */
    int64_t ent;                    /* batch x the largest act: sort buffers */
    int64_t n_buckets;              /* max over layers >= 1 of row_buckets(n_out) */
    int64_t max_out, max_in, max_ld, max_keys;
    int sweep;                      /* row sweep buffers */
} net_plan;

struct slide_net {
    slide_net_params p;
    net_plan plan;
    slide_layer layer[SLIDE_MAX_LAYERS];
    const slide_kern *kern;
    uint32_t *iota;     /* 0..max n_out-1 */
    slide_ws *ws;
    int n_ws;
    /* The batch workspace. Row-major layer l >= 1: each slot's input (xin, batch x ld) and its
     * gradient entries (slot s's at ge[l] + s * plan.act[l], nge[l][s] of them). */
    float *xin[SLIDE_MAX_LAYERS];
    slide_gentry *ge[SLIDE_MAX_LAYERS];
    int64_t *nge[SLIDE_MAX_LAYERS];
    int32_t *slot_t;              /* the thread that ran each slot's forward */
    slide_gentry *gall;           /* update: all entries of a layer, sorted by (row, slot) */
    slide_gentry *gtmp;           /* sort_entries: the same, grouped by row bucket only */
    int64_t *bstart;              /* update: first entry of each bucket (n_buckets + 1) */
    /* Row sweep (slide_net_params.row_sweep): each slot's active list (bids + s * act[1],
     * nge[1][s] ids; an entry's idx is its place in bids), every entry's logit, then delta, in
     * sorted entry order, the sorted position of the entry with idx i, and the output layer's
     * SLIDE_ROW_RANGES partial dx (batch x ld each) */
    uint32_t *bids;
    float *zseq, *dseq;
    uint32_t *pos;
    float *dxp;
    float *gdense[SLIDE_MAX_LAYERS]; /* slide_net_grad_point only: dense gW of row-major layers */
    int64_t step;       /* batches trained */
    int64_t next_rehash, next_rebuild;
    double rebuild_interval;
    int hp_in_effect;
    slide_tlbtrace *tlb; /* slide_net_set_tlb_trace: replays each phase's slab rows; NULL = off */
    struct net_shard_state *shs; /* net_shard.c: sorted input update, label shard (or NULL) */
};



/* The row ranges the update walks (consecutive row buckets each, one thread per range at a
 * time). A fixed number, so that a row sweep's per-range dx partials, summed in range order,
 * give the same dx for any thread count. */
#define SLIDE_ROW_RANGES 32
/* Buckets of the row-sorting passes for a layer of `rows` rows. */
static inline int64_t row_buckets(int64_t rows) {
    return (rows + (1 << SLIDE_GBUCKET_BITS) - 1) >> SLIDE_GBUCKET_BITS;
}

/* The row streams of the training phases for a TLB trace (net_tlb.c; net->tlb set). */
void slide_net_tlb_persample(slide_net *net, const slide_data *ds, const int64_t *ids,
                             int64_t n);
void slide_net_tlb_update_rows(slide_net *net, int l, const float *dseq);
void slide_net_tlb_inputs(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                          int grad);
void slide_net_tlb_logits(slide_net *net);
void slide_net_tlb_tables(slide_net *net);

/* out[j] = b[ids[j]] + W[ids[j]] . x over a row-major layer's weights (its BF16 copy when it
 * has one). */
static inline void layer_dot(const slide_kern *k, const slide_layer *ly, float *out,
                             const uint32_t *ids, int64_t n, const float *x) {
    if (ly->Wh) k->gather_dot_bf16(out, ly->Wh, ly->ld, ly->b, ids, n, x, ly->p.n_in);
    else k->gather_dot(out, ly->W, ly->ld, ly->b, ids, n, x, ly->p.n_in);
}

/* How a forward pass runs (instead of bare flags at every call). */
typedef struct {
    int train;             /* training: labels join the sampled output set, softmax applied */
    int full;              /* every layer computes all its neurons (sampling off) */
    const uint32_t *force; /* the output layer's active set when given (gradient tests) */
    int64_t n_force;
    int upto;              /* layers 0..upto-1 are computed; 0 = all */
} fwd_mode;

/* The forward pass of point i of ds (network.c): w->ids/n_act/val hold each computed layer's
 * active outputs afterwards; the last layer's val holds softmax probabilities (m.train) or raw
 * logits. */
void slide_net_forward(const slide_net *net, slide_ws *w, const slide_data *ds, int64_t i,
                       fwd_mode m);
/* The active set of sampled layer l for dense input x (network.c): labels (may be NULL) first,
 * then the LSH candidates up to max_active, random neurons up to min_active; w->keys keep the
 * query's keys. */
void slide_net_select_active(const slide_net *net, slide_ws *w, int l, const float *x,
                             const int32_t *labels, int64_t n_labels, int train);

/* net_shard.c: the sorted input-layer update (params.input_sorted) and label shards
 * (slide_net_set_shard). */
typedef struct net_shard_state net_shard_state;
/* The state for params.input_sorted (slide_net_create calls it; SLIDE_ENOMEM). */
int net_sorted_create(slide_net *net, slide_err *err);
void net_shard_free(net_shard_state *s);
/* 1 when the network trains as a label shard. */
int net_is_shard(const slide_net *net);
/* Where slot s's hidden delta goes for the sorted update (n_out of layer 0 floats). */
float *net_sorted_slot(const slide_net *net, int64_t s);
/* Adam on the input-major layer from the slots' hidden deltas, rows in sorted order. */
int net_input_sorted_update(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                            float lr_t, slide_err *err);
/* Row sweep phase 4 of a shard: each sample's softmax with the whole layer's normaliser, its
 * deltas (into net->dseq) and its loss share (into *loss). */
int net_shard_softmax(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                      double *loss, slide_err *err);
/* Row sweep phase 6 of a shard: the slots' hidden gradients (the update's partials summed in
 * range order) summed across the shards; n x n_in floats, or NULL (err filled). */
float *net_shard_dx(slide_net *net, int64_t n, slide_err *err);

#endif
