/* A fully connected layer of the SLIDE network: one weight slab (row = neuron, or row = input
 * feature for the full first layer), Adam state, and, when sampled, the LSH tables of its
 * neurons' weight rows from which each input's active set is drawn. */
#ifndef SLIDE_LAYER_H
#define SLIDE_LAYER_H

#include "slide/common.h"
#include "slide/hash.h"
#include "slide/kern.h"
#include "slide/lsh.h"
#include "slide/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SLIDE_ACT_RELU = 0, SLIDE_ACT_SOFTMAX = 1 } slide_activation;

/* How a sampled layer draws its active set. LSH: the labels, then the hash tables' candidates
 * (most collided first) up to max_active, then uniform fill up to min_active. UNIFORM and
 * UNIGRAM (the controls: sampled softmax): the labels, then negatives drawn without replacement,
 * never a label, uniformly or in proportion to training label counts^unigram_power (labels never
 * seen in training are never drawn), up to max_active; they keep no table maintenance. */
typedef enum {
    SLIDE_SAMPLER_LSH = 0,
    SLIDE_SAMPLER_UNIFORM = 1,
    SLIDE_SAMPLER_UNIGRAM = 2
} slide_sampler;
const char *slide_sampler_name(int s);
int slide_sampler_parse(const char *s); /* -1 if unknown */

typedef struct {
    int64_t n_in, n_out;
    int act;            /* slide_activation */
    int sampled;        /* 1: active set from LSH tables; 0: all neurons */
    int threads;        /* OpenMP threads of initialisation and table rebuilds, 1..1024 (the
                           network sets its own); default 1 */
    int input_major;    /* 1: W is [n_in][n_out] (full first layer over sparse input) */
    float init_std;     /* weights ~ N(0, init_std^2); biases 0 */
    int64_t row0, row_step; /* row-major layers: row r is drawn as row row0 + r * row_step of
                               the whole layer (a label shard's rows get the weights the
                               unsharded layer gives them); default 0 and 1 (0 counts as 1) */
    /* sampled layers only */
    slide_hash_params hash;  /* family, K, L, range_bits, bin_size, sparsity, seed (dim = n_in) */
    int bucket_cap;
    int bucket_policy;
    int probes;              /* multi-probe keys per table (0 = off) */
    int mips;                /* 1: asymmetric MIPS transform (Shrivastava & Li 2014) over [w, b]:
                                rows hash P(x) = [x/M, sqrt(1-|x/M|^2)], queries Q(q) = [q, 1, 0]/|.|,
                                so collisions follow w.h + b rather than the angle of w and h */
    double min_active_frac;  /* fill with random neurons up to this fraction */
    double max_active_frac;  /* truncate LSH candidates above this fraction */
    int sampler;             /* slide_sampler (default LSH) */
    double budget_frac;      /* > 0: an exact budget, every active set holds round(budget_frac
                                x n_out) neurons, labels included (min_active = max_active =
                                that; a sample with more labels keeps its labels only) */
    double unigram_power;    /* SLIDE_SAMPLER_UNIGRAM: the power of the counts (default 0.75) */
    int shared_fill;         /* 1: in training, the random fill comes from one list of distinct
                                neurons per batch, shared by its samples (as sampled softmax
                                shares its negatives), not from a draw per sample: far fewer
                                distinct rows per batch to update. Evaluation draws per point. */
    int bf16;                /* row-major layers: keep a BF16 copy of W (Wh) that forward and
                                backward read (half the bytes); Adam updates the fp32 master W
                                and rounds each updated row into Wh (nearest even) */
    int adam_bf16;           /* row-major layers: W's Adam moments stored as BF16 (mWh, vWh),
                                updated in fp32 and rounded stochastically (kern.h adam_bf16):
                                a third less memory traffic in the update; biases stay fp32 */
    int bf16_only;           /* row-major layers, with bf16 and adam_bf16: W is kept only as
                                BF16 (Wh; W is NULL), initialised by rounding the fp32 draw to
                                nearest and updated with stochastic rounding (kern.h adam_bf16w):
                                6 bytes per weight (W, m, v) instead of 8 with adam_bf16 alone or
                                12 in fp32: a quarter less update traffic than adam_bf16 */
} slide_layer_params;

slide_layer_params slide_layer_params_default(void);
const char *slide_layer_params_check(const slide_layer_params *p);

typedef struct {
    slide_layer_params p;
    int64_t ld;               /* row length in floats (n_in, or n_out when input_major) */
    int64_t n_rows;           /* n_out, or n_in when input_major */
    float *W, *b;             /* weights (n_rows x ld; NULL with p.bf16_only), biases (n_out) */
    float *gW, *gb;           /* gradient accumulators (HOGWILD, same shapes); gW only for the
                                 input-major layer (NULL otherwise: see network.c, update) */
    float *mW, *vW, *mb, *vb; /* Adam moments (mW, vW NULL with p.adam_bf16) */
    uint16_t *mWh, *vWh;      /* p.adam_bf16: W's moments as BF16, else NULL */
    uint16_t *Wh;             /* BF16 copy of W (p.bf16), else NULL; always bf16(W) row by row */
    slide_block blk;          /* the one allocation holding all of the above */
    uint8_t *row_touched;     /* per row of W: touched in this batch (0/1) */
    uint8_t *bias_touched;    /* per neuron: touched in this batch */
    /* sampled layers */
    slide_hash *hash;
    slide_lsh *lsh;
    uint32_t *keys;           /* n_out x L: the key each neuron is stored under */
    uint8_t *dirty;           /* per neuron: weights changed since its last rehash */
    int64_t max_active, min_active;
    float mips_scale;         /* M: largest |[w, b]| at the last rebuild */
    uint32_t *fill;           /* p.shared_fill: this batch's fill list (distinct ids) */
    int64_t n_fill;           /* its length: min(n_out, 2 * min_active + 64) */
    uint64_t *fill_mark;      /* bitmap used while drawing it (left all zero) */
    float *uni_w;             /* SLIDE_SAMPLER_UNIGRAM: each neuron's weight, count^power */
    float *uni_prob;          /* and Walker's alias table of them */
    uint32_t *uni_alias;
    int64_t uni_support;      /* neurons with a nonzero weight */
    /* seconds spent (cumulative) by rebuilds and rehashes: computing the neurons' keys, and
     * building the tables from them or moving neurons between buckets */
    double t_keys, t_tables;
} slide_layer;

/* Sets the unigram sampler's weights to counts[i]^unigram_power (n_out counts; NULL: every
 * neuron alike). No-op for other samplers. SLIDE_EINVAL for a negative count. */
int slide_layer_set_counts(slide_layer *ly, const int64_t *counts, slide_err *err);
/* Draws negatives for a sampled layer's active set (ids[0..n) already chosen, marked in the
 * bitmap mark, which is updated): uniformly (UNIFORM, and LSH's fill) or by the unigram weights,
 * without replacement, until target ids (fewer only when the unigram weights reach no more
 * neurons). Returns the new count. */
int64_t slide_layer_draw_negatives(const slide_layer *ly, uint32_t *ids, int64_t n, int64_t target,
                                   uint64_t *mark, slide_rng *rng);

/* Draws the batch's shared fill list of a sampled layer with p.shared_fill (no-op otherwise):
 * n_fill distinct neurons, uniformly, from (seed, step); the same for any thread count. */
void slide_layer_draw_fill(slide_layer *ly, uint64_t seed, uint64_t step);

/* Row r of the weights as fp32: a pointer into W, or with p.bf16_only buf (ld floats) filled
 * with the exact widening of Wh's row. */
const float *slide_layer_row(const slide_layer *ly, int64_t r, float *buf);

/* Writes the vector a sampled layer hashes for neuron row r (n_in, or n_in + 2 with mips). */
void slide_layer_row_vector(const slide_layer *ly, int64_t r, float *out);
/* Writes the vector a sampled layer hashes for an input x (n_in, or n_in + 2 with mips). */
void slide_layer_query_vector(const slide_layer *ly, const float *x, float *out);

/* Initial weights of one row: N(0, std^2) from (seed, layer index, row), independent of threads.
 * Every system (slide, dense baselines) initialises through this function. */
void slide_init_row(float *w, int64_t n, float std, uint64_t seed, int layer, int64_t row);

/* Creates a layer; weights initialised from (seed, layer index) so results do not depend on the
 * thread count. hp_mode: slide_hugepages for the slab; *hp_in_effect receives the mode used.
 * numa (may be NULL = local): placement policy applied to the slab before first touch. */
int slide_layer_init(slide_layer *ly, const slide_layer_params *p, uint64_t seed, int index,
                     int hp_mode, int *hp_in_effect, const slide_numa *numa, slide_err *err);
void slide_layer_free(slide_layer *ly);
/* Estimated bytes by part: weights (and their BF16 copies, biases), optimizer state (Adam
 * moments, gradient slabs), hash tables (keys, buckets), workspace (batch and thread buffers,
 * marks). */
typedef struct {
    double weights, optimizer, tables, workspace;
    double scratch; /* the largest transient allocation (table maintenance, freed when done);
                       in the total, not in the parts above */
} slide_mem_parts;
/* Bytes the layer will hold with its slab in hugepage mode hp_mode; adds them by part into
 * *parts when parts is not NULL (scratch: the larger of *parts' and the layer's). The total
 * excludes scratch. */
double slide_layer_estimate_bytes(const slide_layer_params *p, int hp_mode,
                                  slide_mem_parts *parts);
/* The active-set bounds of a layer (its n_out both when it is not sampled). */
void slide_layer_active_bounds(const slide_layer_params *p, int64_t *min_active,
                               int64_t *max_active);

/* Rounds all of W into Wh (no-op without bf16); after initialisation or loading weights. */
void slide_layer_sync_bf16(slide_layer *ly);

/* (Re)hashes every neuron and rebuilds the tables. */
int slide_layer_rebuild_tables(slide_layer *ly, slide_err *err);
/* Rehashes neurons marked dirty: removes them under their old keys, inserts under new ones;
 * when more than a quarter are dirty, rebuilds the tables instead (parallel, much faster).
 * Returns the number of neurons rehashed. */
int64_t slide_layer_rehash_dirty(slide_layer *ly);

#ifdef __cplusplus
}
#endif
#endif
