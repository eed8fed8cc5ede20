/* SLIDE network: per-sample forward over active sets, softmax cross-entropy with labels spread
 * uniformly, backward (the input-major first layer into a shared gradient slab, HOGWILD; the
 * other layers as (row, sample, delta) entries from which the update builds each touched row's
 * gradient), Adam on touched rows, table maintenance schedule, and evaluation (P@k, nDCG@k, LSH
 * recall). */
#include "net_internal.h"
#include "slide/rng.h"

#include <math.h>
#include <omp.h>
#include <string.h>


/* ------------------------------------------------------------------ params */

slide_net_params slide_net_params_default(void) {
    slide_net_params p;
    memset(&p, 0, sizeof p);
    p.n_layers = 2;
    for (int i = 0; i < SLIDE_MAX_LAYERS; i++) p.layer[i] = slide_layer_params_default();
    p.layer[0].n_out = 128;
    p.layer[0].input_major = 1;
    p.layer[0].act = SLIDE_ACT_RELU;
    p.layer[1].n_in = 128;
    p.layer[1].act = SLIDE_ACT_SOFTMAX;
    p.layer[1].sampled = 1;
    p.lr = 1e-3f;
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.eps = 1e-8f;
    p.batch = 128;
    p.threads = 1;
    p.seed = 1;
    p.simd = SLIDE_SIMD_SCALAR;
    p.hugepages = SLIDE_HP_NONE;
    p.rehash_every = 50;
    p.rebuild_every = 500;
    p.rebuild_decay = 0.0;
    p.row_sweep = -1;
    return p;
}

void slide_net_params_shape(slide_net_params *p, int64_t d, int64_t l) {
    p->layer[0].n_in = d;
    p->layer[p->n_layers - 1].n_out = l;
    for (int i = 1; i < p->n_layers; i++) p->layer[i].n_in = p->layer[i - 1].n_out;
}

const char *slide_net_params_check(const slide_net_params *p) {
    if (p->n_layers < 2 || p->n_layers > SLIDE_MAX_LAYERS)
        return "number of layers must be 2..8 (at least one hidden layer)";
    if (!p->layer[0].input_major) return "the first layer must be input-major (full)";
    for (int i = 0; i < p->n_layers; i++) {
        const slide_layer_params *lp = &p->layer[i];
        const char *m = slide_layer_params_check(lp);
        if (m) return m;
        if (i > 0 && lp->n_in != p->layer[i - 1].n_out) return "layer sizes do not chain";
        if (i > 0 && lp->input_major) return "only the first layer can be input-major";
        int last = i == p->n_layers - 1;
        if (last != (lp->act == SLIDE_ACT_SOFTMAX)) return "only the output layer is softmax";
    }
    if (!(p->lr > 0 && p->lr < 10)) return "lr must be in (0, 10)";
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1))
        return "Adam betas must be in [0, 1)";
    if (!(p->eps > 0)) return "Adam eps must be > 0";
    if (p->batch < 1 || p->batch > 1 << 20) return "batch must be in 1..1048576";
    if (p->threads < 1 || p->threads > 1024) return "threads must be in 1..1024";
    if (p->rehash_every < 0 || p->rebuild_every < 0) return "rehash/rebuild intervals must be >= 0";
    if (!(p->rebuild_decay >= 0 && p->rebuild_decay <= 10)) return "rebuild-decay must be in [0, 10]";
    if (!slide_simd_available(p->simd)) return "SIMD path not available on this machine";
    return NULL;
}

/* Layer i's parameters with the network's BF16 storage choices applied (row-major layers only;
 * bf16_only implies BF16 weights and moments). */
static slide_layer_params layer_params(const slide_net_params *p, int i) {
    slide_layer_params lp = p->layer[i];
    lp.bf16 = (p->bf16 || p->bf16_only) && !lp.input_major;
    lp.adam_bf16 = (p->adam_bf16 || p->bf16_only) && !lp.input_major;
    lp.bf16_only = p->bf16_only && !lp.input_major;
    lp.threads = p->threads;
    lp.hash.simd = p->simd; /* --simd scalar means scalar hashing too */
    return lp;
}

/* ------------------------------------------------------------------ the plan */

/* Whether batches of a network with these parameters train by row sweep: the network has the
 * paper's shape (an input-major full layer, then the row-major output layer), and the sweep was
 * asked for, or (auto) the output layer's fp32 weights exceed SLIDE_ROW_SWEEP_AUTO_BYTES, about
 * a last-level cache: rows that stay cached are cheap to read at random, and there the sweep's
 * sort and extra passes cost more than they save (measurements in REPRODUCE.md, "row sweep").
 * A constant, not the machine's cache size, so that a configuration trains in the same order
 * everywhere. */
static int sweep_of(const slide_net_params *p) {
    if (!(p->n_layers == 2 && p->layer[0].input_major && !p->layer[0].sampled &&
          !p->layer[1].input_major))
        return 0;
    if (p->row_sweep >= 0) return p->row_sweep != 0;
    return (double)p->layer[1].n_out * (double)p->layer[1].n_in * 4.0 > SLIDE_ROW_SWEEP_AUTO_BYTES;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The plan of p: every buffer's size (see net_plan). */
static void plan_make(const slide_net_params *p, net_plan *pl) {
    memset(pl, 0, sizeof *pl);
    const int nl = p->n_layers;
    pl->batch = p->batch;
    pl->max_out = pl->max_in = pl->max_ld = pl->max_keys = 1;
    int64_t most = 1;
    for (int l = 0; l < nl; l++) {
        const slide_layer_params lp = layer_params(p, l);
        pl->max_out = max64(pl->max_out, lp.n_out);
        if (lp.sampled) {
            pl->max_in = max64(pl->max_in, lp.n_in + 2);
            pl->max_keys = max64(pl->max_keys, (int64_t)lp.hash.L * (1 + lp.probes));
        }
        if (l == 0) continue;
        int64_t mn, mx;
        slide_layer_active_bounds(&lp, &mn, &mx);
        int64_t a = max64(mn, mx);
        if (lp.sampled && l == nl - 1) a = max64(a, p->max_labels); /* labels join it first */
        pl->act[l] = a < lp.n_out ? a : lp.n_out;
        most = max64(most, pl->act[l]);
        pl->max_ld = max64(pl->max_ld, lp.n_in);
        pl->n_buckets = max64(pl->n_buckets, row_buckets(lp.n_out));
    }
    pl->ent = pl->batch * most;
    pl->sweep = sweep_of(p);
}

/* One walk over the plan's buffers serves both slide_net_create (alloc: each is allocated) and
 * slide_net_estimate_bytes (only counted), so the estimate is what creation allocates. */
typedef struct {
    int alloc;
    int fail;
    double bytes;
} plan_walk;

static void *pw_take(plan_walk *pw, size_t n, size_t size, int zero) {
    if (n == 0) n = 1;
    pw->bytes += (double)n * (double)size;
    if (!pw->alloc) return NULL;
    void *q = zero ? calloc(n, size) : malloc(n * size);
    pw->fail |= q == NULL;
    return q;
}
#define PW_TAKE(pw, ptr, n, zero) ((ptr) = pw_take((pw), (size_t)(n), sizeof *(ptr), (zero)))

/* Thread workspace w. With pw->alloc the layers of net (their tables) exist already. */
static void ws_walk(const slide_net_params *p, const net_plan *pl, const slide_net *net,
                    slide_ws *w, plan_walk *pw) {
    const int nl = p->n_layers;
    for (int l = 0; l < nl; l++) {
        const slide_layer_params lp = layer_params(p, l);
        const int64_t n = lp.n_out;
        PW_TAKE(pw, w->ids[l], n, 0);
        PW_TAKE(pw, w->val[l], n, 0);
        PW_TAKE(pw, w->dv[l], n, 0);
        if (l < nl - 1) PW_TAKE(pw, w->dense[l], n, 1);
        if (l > 0) {
            PW_TAKE(pw, w->dx[l], lp.n_in, 1);
            PW_TAKE(pw, w->cid[l], n, 0);
        }
        if (lp.input_major) PW_TAKE(pw, w->rows[l], lp.n_in, 0);
        if (lp.sampled) {
            PW_TAKE(pw, w->mark[l], (n + 63) / 64, 1);
            pw->bytes += (double)slide_lsh_scratch_bytes(n, lp.hash.L, 1 + lp.probes);
            if (pw->alloc) {
                w->scratch[l] = slide_lsh_scratch_create(net->layer[l].lsh, 1 + lp.probes);
                pw->fail |= w->scratch[l] == NULL;
            }
        }
    }
    PW_TAKE(pw, w->keys, pl->max_keys, 0);
    PW_TAKE(pw, w->qvec, pl->max_in, 0);
    PW_TAKE(pw, w->gbuf, pl->max_ld, 0);
    PW_TAKE(pw, w->wrow, pl->max_ld, 0);
    PW_TAKE(pw, w->sl, pl->batch, 0);
    PW_TAKE(pw, w->av, pl->batch, 0);
    PW_TAKE(pw, w->bcnt, pl->n_buckets + 1, 0);
    const slide_layer_params out = layer_params(p, nl - 1);
    PW_TAKE(pw, w->ehid, EVAL_CHUNK * out.n_in, 0);
    PW_TAKE(pw, w->esc, EVAL_ROWS, 0);
    if (out.sampled) {
        PW_TAKE(pw, w->eqv, out.n_in + 2, 0);
        PW_TAKE(pw, w->env, out.n_in + 2, 0);
        PW_TAKE(pw, w->enk, out.hash.L, 0);
    }
}

/* The network's own buffers: the thread workspaces' array and the batch workspace. */
static void batch_walk(const slide_net_params *p, const net_plan *pl, slide_net *net,
                       plan_walk *pw) {
    PW_TAKE(pw, net->ws, p->threads, 1);
    PW_TAKE(pw, net->iota, pl->max_out, 0);
    PW_TAKE(pw, net->bstart, pl->n_buckets + 1, 0);
    PW_TAKE(pw, net->slot_t, pl->batch, 0);
    for (int l = 1; l < p->n_layers; l++) {
        PW_TAKE(pw, net->xin[l], pl->batch * p->layer[l].n_in, 0);
        PW_TAKE(pw, net->ge[l], pl->batch * pl->act[l], 0);
        PW_TAKE(pw, net->nge[l], pl->batch, 1);
    }
    PW_TAKE(pw, net->gall, pl->ent, 0);
    PW_TAKE(pw, net->gtmp, pl->ent, 0);
    if (pl->sweep) {
        const int64_t e = pl->batch * pl->act[1];
        PW_TAKE(pw, net->bids, e, 0);
        PW_TAKE(pw, net->zseq, e, 0);
        PW_TAKE(pw, net->dseq, e, 0);
        PW_TAKE(pw, net->pos, e, 0);
        PW_TAKE(pw, net->dxp, SLIDE_ROW_RANGES * pl->batch * p->layer[1].n_in, 0);
    }
}

double slide_net_estimate_bytes(const slide_net_params *p, slide_mem_parts *parts) {
    slide_mem_parts pt;
    memset(&pt, 0, sizeof pt);
    for (int i = 0; i < p->n_layers; i++) {
        const slide_layer_params lp = layer_params(p, i);
        slide_layer_estimate_bytes(&lp, p->hugepages, &pt);
    }
    net_plan pl;
    plan_make(p, &pl);
    slide_net net; /* counted only: every pointer stays NULL */
    slide_ws w;
    memset(&net, 0, sizeof net);
    memset(&w, 0, sizeof w);
    plan_walk pw = {0, 0, (double)sizeof(slide_net)};
    batch_walk(p, &pl, &net, &pw);
    for (int t = 0; t < p->threads; t++) ws_walk(p, &pl, &net, &w, &pw);
    pt.workspace += pw.bytes;
    if (parts) *parts = pt;
    return pt.weights + pt.optimizer + pt.tables + pt.workspace + pt.scratch;
}

/* ------------------------------------------------------------------ create/destroy */

static void ws_free(slide_ws *w, int n_layers) {
    for (int l = 0; l < n_layers; l++) {
        free(w->ids[l]);
        free(w->val[l]);
        free(w->dv[l]);
        free(w->dense[l]);
        free(w->dx[l]);
        free(w->cid[l]);
        free(w->mark[l]);
        free(w->rows[l]);
        if (w->scratch[l]) slide_lsh_scratch_destroy(w->scratch[l]);
    }
    free(w->keys);
    free(w->qvec);
    free(w->gbuf);
    free(w->wrow);
    free(w->sl);
    free(w->av);
    free(w->bcnt);
    free(w->ehid);
    free(w->esc);
    free(w->eqv);
    free(w->env);
    free(w->enk);
}

int slide_net_create(slide_net **out, const slide_net_params *p, slide_err *err) {
    *out = NULL;
    const char *m = slide_net_params_check(p);
    if (m) return slide_err_set(err, SLIDE_EINVAL, 0, "%s", m);
    slide_net *net = calloc(1, sizeof *net);
    if (!net) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory");
    net->p = *p;
    plan_make(p, &net->plan);
    const int64_t act1 = net->plan.act[1];
    if (net->plan.sweep && (double)p->batch * (double)act1 >= 4294967295.0) {
        free(net);
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "a batch of %lld x %lld active neurons is too large for the row "
                             "sweep (2^32 entries)", (long long)p->batch, (long long)act1);
    }
    net->kern = slide_kern_get(p->simd);
    net->hp_in_effect = p->hugepages;
    for (int l = 0; l < p->n_layers; l++) {
        int eff = p->hugepages;
        const slide_layer_params lp = layer_params(p, l);
        net->p.layer[l] = lp;
        int rc = slide_layer_init(&net->layer[l], &lp, p->seed, l, p->hugepages, &eff,
                                  &p->numa, err);
        if (rc) {
            slide_net_destroy(net);
            return rc;
        }
        if (eff != p->hugepages) net->hp_in_effect = eff;
    }
    plan_walk pw = {1, 0, 0};
    batch_walk(p, &net->plan, net, &pw);
    net->n_ws = net->ws ? p->threads : 0;
    for (int t = 0; t < net->n_ws && !pw.fail; t++) {
        ws_walk(p, &net->plan, net, &net->ws[t], &pw);
        slide_rng_seed(&net->ws[t].rng, p->seed, 0xABCD0000ULL + (uint64_t)t);
    }
    if (pw.fail) {
        slide_net_destroy(net);
        return slide_err_set(err, SLIDE_ENOMEM, 0,
                             "out of memory for the batch and thread workspaces (%.0f MB)",
                             pw.bytes / 1048576.0);
    }
    if (p->input_sorted && net_sorted_create(net, err)) {
        slide_net_destroy(net);
        return SLIDE_ENOMEM;
    }
    for (int64_t i = 0; i < net->plan.max_out; i++) net->iota[i] = (uint32_t)i;
    net->rebuild_interval = p->rebuild_every;
    net->next_rehash = p->rehash_every;
    net->next_rebuild = p->rebuild_every;
    *out = net;
    return SLIDE_OK;
}

void slide_net_destroy(slide_net *net) {
    if (!net) return;
    if (net->ws)
        for (int t = 0; t < net->n_ws; t++) ws_free(&net->ws[t], net->p.n_layers);
    free(net->ws);
    for (int l = 0; l < net->p.n_layers; l++) {
        slide_layer_free(&net->layer[l]);
        free(net->xin[l]);
        free(net->ge[l]);
        free(net->nge[l]);
        free(net->gdense[l]);
    }
    free(net->slot_t);
    free(net->gall);
    free(net->gtmp);
    free(net->bids);
    free(net->zseq);
    free(net->dseq);
    free(net->pos);
    free(net->dxp);
    free(net->bstart);
    free(net->iota);
    net_shard_free(net->shs);
    free(net);
}

void slide_train_stats_add(slide_train_stats *a, const slide_train_stats *b) {
    a->loss_sum += b->loss_sum;
    a->samples += b->samples;
    a->active_sum += b->active_sum;
    a->label_sum += b->label_sum;
    a->lsh_sum += b->lsh_sum;
    a->t_forward += b->t_forward;
    a->t_update += b->t_update;
    a->t_rehash += b->t_rehash;
    a->t_hash += b->t_hash;
    a->t_query += b->t_query;
    a->t_fwd += b->t_fwd;
    a->t_bwd += b->t_bwd;
    a->t_sort += b->t_sort;
    a->t_logits += b->t_logits;
    a->t_softmax += b->t_softmax;
    a->t_rehash_keys += b->t_rehash_keys;
    a->t_rehash_tables += b->t_rehash_tables;
    a->t_replicated += b->t_replicated;
}

int slide_net_set_label_counts(slide_net *net, const slide_data *train, slide_err *err) {
    const int nl = net->p.n_layers;
    slide_layer *out = &net->layer[nl - 1];
    if (train->l != out->p.n_out)
        return slide_err_set(err, SLIDE_EINVAL, 0, "%lld labels in the data, %lld outputs",
                             (long long)train->l, (long long)out->p.n_out);
    if (!out->uni_prob) return SLIDE_OK;
    int64_t *cnt = calloc((size_t)train->l, sizeof *cnt);
    if (!cnt) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for label counts");
    for (int64_t q = 0; q < train->nlab; q++) cnt[train->lab[q]]++;
    const int rc = slide_layer_set_counts(out, cnt, err);
    free(cnt);
    return rc;
}

/* SLIDE_EINVAL when ds has another shape than the network. */
static int check_shape(const slide_net *net, const slide_data *ds, slide_err *err) {
    const int nl = net->p.n_layers;
    if (ds->d != net->p.layer[0].n_in || ds->l != net->p.layer[nl - 1].n_out)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "data set shape (D=%lld, L=%lld) does not match the network "
                             "(%lld inputs, %lld outputs)",
                             (long long)ds->d, (long long)ds->l, (long long)net->p.layer[0].n_in,
                             (long long)net->p.layer[nl - 1].n_out);
    return SLIDE_OK;
}

/* SLIDE_EINVAL when point i of ds has more labels than the plan holds. */
static int check_labels(const slide_net *net, const slide_data *ds, int64_t i, slide_err *err) {
    const int64_t cap = net->plan.act[net->p.n_layers - 1], k = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
    if (k <= cap) return SLIDE_OK;
    return slide_err_set(err, SLIDE_EINVAL, 0,
                         "point %lld has %lld labels; the network was planned for at most %lld "
                         "(max_labels)", (long long)i, (long long)k, (long long)cap);
}

int slide_net_check_data(const slide_net *net, const slide_data *ds, slide_err *err) {
    int rc = check_shape(net, ds, err);
    for (int64_t i = 0; i < ds->n && !rc; i++) rc = check_labels(net, ds, i, err);
    return rc;
}

const slide_net_params *slide_net_params_of(const slide_net *net) { return &net->p; }
slide_layer *slide_net_layer(slide_net *net, int i) { return &net->layer[i]; }
const slide_kern *slide_net_kern(const slide_net *net) { return net->kern; }
int slide_net_hugepages_in_effect(const slide_net *net) { return net->hp_in_effect; }
static int use_row_sweep(const slide_net *net);
int slide_net_row_sweep(const slide_net *net) { return use_row_sweep(net); }
int64_t slide_net_step(const slide_net *net) { return net->step; }

void slide_net_numa_nodes(const slide_net *net, char *buf, size_t n) {
    uint64_t seen = 0;
    for (int l = 0; l < net->p.n_layers; l++) seen |= slide_mem_nodes_mask(&net->layer[l].blk);
    slide_numa_mask_name(seen, buf, n);
}

/* ------------------------------------------------------------------ forward */

/* Adds id to the active list of layer l unless already marked. */
static inline int is_marked(const slide_ws *w, int l, uint32_t id) {
    return (int)((w->mark[l][id >> 6] >> (id & 63)) & 1u);
}
static inline void set_mark(slide_ws *w, int l, uint32_t id) {
    w->mark[l][id >> 6] |= (uint64_t)1 << (id & 63);
}
static inline void act_add(slide_ws *w, int l, uint32_t id) {
    if (!is_marked(w, l, id)) {
        set_mark(w, l, id);
        w->ids[l][w->n_act[l]++] = id;
    }
}

/* Selects the active set of sampled layer l for dense input x. labels (may be NULL) are always
 * included first. The LSH candidates follow, truncated at max_active; random neurons fill up to
 * min_active. */
SLIDE_PROFILE_NOINLINE
void slide_net_select_active(const slide_net *net, slide_ws *w, int l, const float *x,
                          const int32_t *labels, int64_t n_labels, int train) {
    const slide_layer *ly = &net->layer[l];
    const int64_t n = ly->p.n_out;
    w->n_act[l] = 0;
    for (int64_t j = 0; j < n_labels; j++) act_add(w, l, (uint32_t)labels[j]);
    n_labels = w->n_act[l]; /* distinct labels */
    w->last_labels = n_labels;
    w->last_lsh = 0;
    double t0 = slide_now();
    if (ly->p.sampler != SLIDE_SAMPLER_LSH) { /* the controls: negatives up to max_active */
        w->n_act[l] = slide_layer_draw_negatives(ly, w->ids[l], w->n_act[l], ly->max_active,
                                                 w->mark[l], &w->rng);
        for (int64_t j = 0; j < w->n_act[l]; j++) w->mark[l][w->ids[l][j] >> 6] = 0;
        w->t_query += slide_now() - t0;
        return;
    }
    int per = 1 + ly->p.probes;
    if (ly->p.mips) {
        slide_layer_query_vector(ly, x, w->qvec);
        x = w->qvec;
    }
    slide_hash_keys_dense(ly->hash, x, ly->p.probes, w->keys);
    double t1 = slide_now();
    w->t_hash += t1 - t0;
    /* the LSH candidates, most collided first (slide_lsh_query_ranked: the labels are marked
     * in the bitmap already, ties sampled with the thread's rng) */
    const int64_t room = ly->max_active - w->n_act[l];
    if (room > 0) {
        const int64_t kept = slide_lsh_query_ranked(ly->lsh, w->keys, per, room,
                                                    w->ids[l] + w->n_act[l], w->mark[l], &w->rng,
                                                    w->scratch[l], NULL);
        SLIDE_ASSERT(kept >= 0); /* keys come from the layer's own hash */
        w->n_act[l] += kept;
    }
    w->last_lsh = w->n_act[l] - n_labels > 0 ? w->n_act[l] - n_labels : 0;
    if (train && ly->fill) /* the batch's shared list, in order: mostly the same ids */
        for (int64_t j = 0; j < ly->n_fill && w->n_act[l] < ly->min_active; j++)
            act_add(w, l, ly->fill[j]);
    if (w->n_act[l] < ly->min_active) { /* uniform fill */
        int64_t guard = 64 * n;
        while (w->n_act[l] < ly->min_active && guard-- > 0)
            act_add(w, l, slide_rng_below(&w->rng, (uint32_t)n));
    }
    /* Leave the bitmap empty for the next call (the set is in ids[l]). */
    for (int64_t j = 0; j < w->n_act[l]; j++) w->mark[l][w->ids[l][j] >> 6] = 0;
    w->t_query += slide_now() - t1;
}


/* The active set of layer l >= 1 for its input x, into w->ids[l] / w->n_act[l]: m.force when
 * given (the output layer only), the sampled set when the layer is sampled and not m.full
 * (with the labels first when training the output layer), else every neuron. */
SLIDE_PROFILE_NOINLINE
static void pick_active(const slide_net *net, slide_ws *w, int l, const float *x,
                        const int32_t *labels, int64_t n_labels, fwd_mode m) {
    const slide_layer *ly = &net->layer[l];
    const int last = l == net->p.n_layers - 1;
    if (last && m.force) {
        memcpy(w->ids[l], m.force, (size_t)m.n_force * sizeof(uint32_t));
        w->n_act[l] = m.n_force;
    } else if (ly->p.sampled && !m.full) {
        slide_net_select_active(net, w, l, x, (m.train && last) ? labels : NULL,
                      (m.train && last) ? n_labels : 0, m.train);
    } else {
        memcpy(w->ids[l], net->iota, (size_t)ly->p.n_out * sizeof(uint32_t));
        w->n_act[l] = ly->p.n_out;
    }
}

/* Forward of point i. train: add labels to sampled output sets. full: every layer computes all
 * neurons (sampling off). After the call, w->ids/n_act/val hold each layer's active outputs;
 * the last layer's val holds softmax probabilities (train) or raw logits (!train). */
SLIDE_PROFILE_NOINLINE
void slide_net_forward(const slide_net *net, slide_ws *w, const slide_data *ds, int64_t i,
                           fwd_mode m) {
    const slide_kern *k = net->kern;
    const int upto = m.upto > 0 ? m.upto : net->p.n_layers;
    const int32_t *labels = ds->lab + ds->lab_ptr[i];
    const int64_t n_labels = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
    for (int l = 0; l < upto; l++) {
        const slide_layer *ly = &net->layer[l];
        const int64_t n_out = ly->p.n_out;
        float *outv = w->val[l];
        if (l == 0) {
            /* Input-major full layer over the sparse input: rows of W are features. */
            memcpy(outv, ly->b, (size_t)n_out * sizeof(float));
            int64_t a = ds->row_ptr[i], nnz = ds->row_ptr[i + 1] - a;
            k->sparse_rows_sum(outv, ly->W, ly->ld, ds->feat + a, ds->val + a, nnz, n_out);
            w->n_act[0] = n_out;
            memcpy(w->ids[0], net->iota, (size_t)n_out * sizeof(uint32_t));
        } else {
            const float *x = w->dense[l - 1];
            pick_active(net, w, l, x, labels, n_labels, m);
            layer_dot(k, ly, outv, w->ids[l], w->n_act[l], x);
        }
        const int64_t na = w->n_act[l];
        if (ly->p.act == SLIDE_ACT_RELU) {
            k->relu(outv, na);
            /* Scatter into the dense input of the next layer. */
            float *d = w->dense[l];
            if (na == n_out) memcpy(d, outv, (size_t)na * sizeof(float));
            else {
                memset(d, 0, (size_t)n_out * sizeof(float));
                for (int64_t j = 0; j < na; j++) d[w->ids[l][j]] = outv[j];
            }
        } else if (m.train) {
            k->softmax(outv, na);
        }
    }
}

/* ------------------------------------------------------------------ backward */

/* Records that this thread touched row r of layer l in this batch (each row once per batch,
 * over all threads, thanks to the atomic flag). */
SLIDE_PROFILE_NOINLINE
static void touch_row(slide_net *net, slide_ws *w, int l, uint32_t r) {
    slide_layer *ly = &net->layer[l];
    if (__atomic_exchange_n(&ly->row_touched[r], (uint8_t)1, __ATOMIC_RELAXED)) return;
    w->rows[l][w->n_rows[l]++] = r; /* room for every row of the layer */
}

/* HOGWILD gradient accumulation: y += a * x on a row shared by all threads, without locks.
 * Racy by design (lost updates are rare and tolerated, as in SLIDE); this is the one function a
 * ThreadSanitizer suppression may name. */
__attribute__((noinline)) void slide_hogwild_axpy(const slide_kern *k, float *y, float a,
                                                  const float *x, int64_t n) {
    k->axpy(y, a, x, n);
}

/* HOGWILD scalar accumulation (a neuron's bias gradient); same contract as above. */
__attribute__((noinline)) void slide_hogwild_add(float *y, float a) { *y += a; }

/* Output delta of a sample: softmax probabilities p of its na active neurons ids minus the
 * label distribution (labels spread uniformly), scaled by `scale`, into dv. Returns the
 * sample's cross-entropy. */
SLIDE_PROFILE_NOINLINE
static double output_delta_of(const float *p, float *dv, const uint32_t *ids, int64_t na,
                              const int32_t *labels, int64_t n_labels, float scale) {
    for (int64_t j = 0; j < na; j++) dv[j] = p[j] * scale;
    if (n_labels == 0) return 0.0;
    const float t = 1.0f / (float)n_labels;
    double loss = 0;
    /* Labels occupy the first n_labels slots of a training active set, but a forced or full
     * set can hold them anywhere: look each up. */
    for (int64_t j = 0; j < na; j++) {
        uint32_t id = ids[j];
        for (int64_t q = 0; q < n_labels; q++) {
            if ((uint32_t)labels[q] == id) {
                dv[j] -= t * scale;
                loss -= (double)t * log((double)p[j] + 1e-30);
                break;
            }
        }
    }
    return loss;
}

/* output_delta_of layer l's active set in the workspace (w->val[l] into w->dv[l]). */
static double output_delta(slide_ws *w, int l, const int32_t *labels, int64_t n_labels,
                           float scale) {
    return output_delta_of(w->val[l], w->dv[l], w->ids[l], w->n_act[l], labels, n_labels,
                           scale);
}

/* Backward of the input-major first layer for point i, its output deltas dv[0..na): gW[f] +=
 * val_f * delta for each input feature f (HOGWILD), gb += delta. */
SLIDE_PROFILE_NOINLINE
static void backward_input_major(slide_net *net, slide_ws *w, const slide_data *ds, int64_t i,
                                 const float *dv, int64_t na) {
    const slide_kern *k = net->kern;
    slide_layer *ly = &net->layer[0];
    int64_t a = ds->row_ptr[i], nnz = ds->row_ptr[i + 1] - a;
    for (int64_t q = 0; q < nnz; q++) {
        uint32_t f = (uint32_t)ds->feat[a + q];
        slide_hogwild_axpy(k, ly->gW + (int64_t)f * ly->ld, ds->val[a + q], dv, na);
        touch_row(net, w, 0, f);
    }
    slide_hogwild_axpy(k, ly->gb, 1.0f, dv, na);
}

/* Backward of the point in batch slot s (its forward state in w). The input-major first layer
 * accumulates into its gradient slab (HOGWILD); every other layer records (row, s, delta) entries
 * in slot s's share of net->ge[l] and keeps its input in net->xin[l] slot s, and the update
 * builds each row's gradient. dense_grad (gradient checks, whose active sets may exceed the
 * plan's): the other layers add delta * input to their dense gW and gb instead. */
SLIDE_PROFILE_NOINLINE
static void backward(slide_net *net, slide_ws *w, const slide_data *ds, int64_t i, int64_t s,
                     int dense_grad) {
    const slide_kern *k = net->kern;
    const int nl = net->p.n_layers;
    for (int l = nl - 1; l >= 0; l--) {
        slide_layer *ly = &net->layer[l];
        const int64_t na = w->n_act[l];
        float *dv = w->dv[l];
        if (l == 0) {
            if (net->p.input_sorted && !dense_grad) /* net_input_sorted_update sums them */
                memcpy(net_sorted_slot(net, s), dv, (size_t)na * sizeof(float));
            else
                backward_input_major(net, w, ds, i, dv, na);
            continue;
        }
        const float *x = w->dense[l - 1];
        float *dx = w->dx[l];
        memcpy(net->xin[l] + s * ly->ld, x, (size_t)ly->ld * sizeof(float));
        memset(dx, 0, (size_t)ly->p.n_in * sizeof(float));
        slide_gentry *ge = net->ge[l] + s * net->plan.act[l]; /* training: na <= act[l] */
        uint32_t *cid = w->cid[l];
        int64_t ne = 0;
        for (int64_t j = 0; j < na; j++) { /* the rows with a nonzero delta, compacted */
            uint32_t id = w->ids[l][j];
            float d = dv[j];
            if (d == 0.0f) continue;
            cid[ne] = id;
            dv[ne] = d; /* ne <= j: in place */
            if (dense_grad) {
                k->axpy(ly->gW + (int64_t)id * ly->ld, d, x, ly->ld);
                ly->gb[id] += d;
            } else {
                ge[ne].row = id;
                ge[ne].s = (uint32_t)s;
                ge[ne].d = d;
            }
            ne++;
        }
        /* dx = sum of delta * row over them, in the same order (rows prefetched ahead) */
        if (ly->Wh) k->gather_axpy_bf16(dx, ly->Wh, ly->ld, cid, dv, ne, ly->p.n_in);
        else k->gather_axpy(dx, ly->W, ly->ld, cid, dv, ne, ly->p.n_in);
        if (!dense_grad) net->nge[l][s] = ne;
        /* Delta of the previous layer's active outputs: dx through the ReLU. */
        const int64_t pa = w->n_act[l - 1];
        float *pdv = w->dv[l - 1];
        for (int64_t j = 0; j < pa; j++) {
            uint32_t id = w->ids[l - 1][j];
            pdv[j] = w->val[l - 1][j] > 0.0f ? dx[id] : 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ update + schedule */

/* Sorts the entries of the n slots of row-major layer l by (row, batch slot) into net->gall,
 * with net->bstart[b] the first entry of row bucket b (rows b << SLIDE_GBUCKET_BITS and on): a
 * counting sort by bucket (in parallel, each thread a fixed range of slots) into net->gtmp, one
 * by row within each bucket, then by slot within each row (few entries per row). The order is
 * the same for any thread count. Returns the number of entries. Called outside any parallel
 * region. */
SLIDE_PROFILE_NOINLINE
static int64_t sort_entries(slide_net *net, int l, int64_t n) {
    slide_layer *ly = &net->layer[l];
    const int T = net->n_ws;
    const int64_t nb = row_buckets(ly->n_rows), A = net->plan.act[l];
    const slide_gentry *ge = net->ge[l];
    const int64_t *nge = net->nge[l];
    int64_t total = 0;
    for (int64_t s = 0; s < n; s++) total += nge[s];
    slide_gentry *all = net->gall, *tmp = net->gtmp;
    int64_t *bstart = net->bstart;
#pragma omp parallel num_threads(T)
    {
        const int tid = omp_get_thread_num();
        slide_ws *w = &net->ws[tid];
        int64_t *c = w->bcnt;
        const int64_t s0 = n * tid / T, s1 = n * (tid + 1) / T;
        memset(c, 0, (size_t)nb * sizeof *c);
        for (int64_t s = s0; s < s1; s++)
            for (int64_t q = 0; q < nge[s]; q++) c[ge[s * A + q].row >> SLIDE_GBUCKET_BITS]++;
#pragma omp barrier
#pragma omp single
        {
            int64_t acc = 0;
            for (int64_t b = 0; b < nb; b++) {
                bstart[b] = acc;
                for (int t = 0; t < T; t++) {
                    int64_t v = net->ws[t].bcnt[b];
                    net->ws[t].bcnt[b] = acc;
                    acc += v;
                }
            }
            bstart[nb] = acc;
        }
        for (int64_t s = s0; s < s1; s++)
            for (int64_t q = 0; q < nge[s]; q++) {
                const slide_gentry e = ge[s * A + q];
                tmp[c[e.row >> SLIDE_GBUCKET_BITS]++] = e;
            }
#pragma omp barrier
#pragma omp for schedule(dynamic, 16)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t a = bstart[b], m = bstart[b + 1] - a;
            if (m == 0) continue;
            slide_gentry *srt = all + a;
            int32_t cnt[(1 << SLIDE_GBUCKET_BITS) + 1];
            memset(cnt, 0, sizeof cnt);
            const uint32_t mask = (1u << SLIDE_GBUCKET_BITS) - 1;
            for (int64_t q = a; q < a + m; q++) cnt[(tmp[q].row & mask) + 1]++;
            for (int r = 0; r < (1 << SLIDE_GBUCKET_BITS); r++) cnt[r + 1] += cnt[r];
            for (int64_t q = a; q < a + m; q++) srt[cnt[tmp[q].row & mask]++] = tmp[q];
            for (int64_t i = 0; i < m;) {
                const uint32_t r = srt[i].row;
                int64_t j = i + 1;
                while (j < m && srt[j].row == r) j++;
                for (int64_t x = i + 1; x < j; x++) { /* by slot */
                    slide_gentry e = srt[x];
                    int64_t y = x;
                    while (y > i && srt[y - 1].s > e.s) {
                        srt[y] = srt[y - 1];
                        y--;
                    }
                    srt[y] = e;
                }
                i = j;
            }
        }
    }
    return total;
}

/* Entries ahead (about 5 rows at 1.7 entries a row) whose row the ordered passes prefetch:
 * a row's work is shorter than a memory access, so the next row alone would come too late. */
#define SLIDE_SWEEP_PF 8

/* Adam on the touched rows of row-major layer l, from its entries sorted by sort_entries: a
 * row's gradient is sum_s d * x_s in slot order (the same sum for any thread count), applied at
 * once with the bias's. Row sweep (dseq != NULL): entry x's delta is dseq[x], entries with a
 * zero delta are skipped (a row with none is not updated, as the per-sample path never records
 * them), and before its update each row also adds delta * row (its BF16 copy when it has one)
 * to the dx of the entry's batch slot in its range's partial dxp[range] (nslots x ld). */
SLIDE_PROFILE_NOINLINE
static void update_rows(slide_net *net, int l, float lr_t, const float *dseq, float *dxp,
                        int64_t nslots) {
    slide_layer *ly = &net->layer[l];
    const slide_net_params *p = &net->p;
    const slide_kern *k = net->kern;
    const int64_t ld = ly->ld;
    const int64_t nb = row_buckets(ly->n_rows);
    const slide_gentry *all = net->gall;
    const int64_t *bstart = net->bstart;
    const float *xin = net->xin[l];
#pragma omp parallel for num_threads(net->n_ws) schedule(dynamic, 1)
    for (int pr = 0; pr < SLIDE_ROW_RANGES; pr++) {
        slide_ws *w = &net->ws[omp_get_thread_num()];
        const int64_t e0 = bstart[nb * pr / SLIDE_ROW_RANGES];
        const int64_t e1 = bstart[nb * (pr + 1) / SLIDE_ROW_RANGES];
        float *dx = dxp ? dxp + (int64_t)pr * nslots * ld : NULL;
        if (dx) memset(dx, 0, (size_t)(nslots * ld) * sizeof(float));
        for (int64_t i = e0; i < e1;) {
            const uint32_t r = all[i].row;
            int64_t j = i + 1;
            while (j < e1 && all[j].row == r) j++;
            if (i + SLIDE_SWEEP_PF < e1) { /* a row a few ahead: weights and moments */
                const uint32_t rn = all[i + SLIDE_SWEEP_PF].row;
                const int64_t on = (int64_t)rn * ld;
                __builtin_prefetch(ly->b + rn, 1);
                __builtin_prefetch(ly->mb + rn, 1);
                __builtin_prefetch(ly->vb + rn, 1);
                for (int64_t q = 0; q < ld; q += 16) {
                    if (ly->W) __builtin_prefetch(ly->W + on + q, 1);
                    else if (q % 32 == 0) __builtin_prefetch(ly->Wh + on + q, 1);
                    if (ly->mW) {
                        __builtin_prefetch(ly->mW + on + q, 1);
                        __builtin_prefetch(ly->vW + on + q, 1);
                    } else if (q % 32 == 0) {
                        __builtin_prefetch(ly->mWh + on + q, 1);
                        __builtin_prefetch(ly->vWh + on + q, 1);
                    }
                }
            }
            const int64_t o = (int64_t)r * ld;
            const float *wr = ly->W ? ly->W + o : NULL;
            if (dx && ly->Wh) { /* widening is exact: the same values the forward used */
                slide_bf16_widen(w->wrow, ly->Wh + o, ld);
                wr = w->wrow;
            }
            float *g = w->gbuf, gb = 0.0f; /* w->sl: a row has at most one entry per slot */
            int64_t ne = 0;
            for (int64_t x = i; x < j; x++) {
                const float d = dseq ? dseq[x] : all[x].d;
                if (d == 0.0f) continue;
                w->sl[ne] = all[x].s;
                w->av[ne++] = d;
                gb += d;
            }
            i = j;
            if (ne == 0) continue;
            k->sweep_grad(g, dx, xin, ld, wr, w->sl, w->av, ne, ld);
            if (ly->mW)
                k->adam(ly->W + o, ly->mW + o, ly->vW + o, g, ld, lr_t, p->beta1, p->beta2,
                        p->eps);
            else { /* random bits from (seed, step, row): the same for any thread count */
                const uint32_t sd = slide_mix32((uint32_t)p->seed ^
                                                slide_mix32((uint32_t)net->step * 0x9E3779B9U ^ r));
                if (ly->W)
                    k->adam_bf16(ly->W + o, ly->mWh + o, ly->vWh + o, g, ld, lr_t, p->beta1,
                                 p->beta2, p->eps, sd);
                else
                    k->adam_bf16w(ly->Wh + o, ly->mWh + o, ly->vWh + o, g, ld, lr_t, p->beta1,
                                  p->beta2, p->eps, sd);
            }
            slide_adam_one(ly->b + r, ly->mb + r, ly->vb + r, gb, lr_t, p->beta1, p->beta2,
                           p->eps);
            if (ly->Wh && ly->W) k->to_bf16(ly->Wh + o, ly->W + o, ld);
            if (ly->dirty) ly->dirty[r] = 1;
        }
    }
}

static float adam_lr(const slide_net *net) {
    const slide_net_params *p = &net->p;
    const int64_t t = net->step + 1;
    return (float)((double)p->lr * sqrt(1.0 - pow(p->beta2, (double)t)) /
                   (1.0 - pow(p->beta1, (double)t)));
}

/* Adam on the input-major layers: every thread updates the rows it touched itself (first-touch
 * locality); every bias is touched by every sample. */
SLIDE_PROFILE_NOINLINE
static void update_input_major(slide_net *net, float lr_t) {
    const slide_net_params *p = &net->p;
    const slide_kern *k = net->kern;
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
        for (int l = 0; l < p->n_layers; l++) {
            slide_layer *ly = &net->layer[l];
            if (!ly->p.input_major) continue;
            for (int64_t j = 0; j < w->n_rows[l]; j++) {
                uint32_t r = w->rows[l][j];
                int64_t o = (int64_t)r * ly->ld;
                k->adam(ly->W + o, ly->mW + o, ly->vW + o, ly->gW + o, ly->ld, lr_t, p->beta1,
                        p->beta2, p->eps);
                ly->row_touched[r] = 0;
            }
            w->n_rows[l] = 0;
        }
    }
    for (int l = 0; l < p->n_layers; l++) {
        slide_layer *ly = &net->layer[l];
        if (ly->p.input_major)
            k->adam(ly->b, ly->mb, ly->vb, ly->gb, ly->p.n_out, lr_t, p->beta1, p->beta2, p->eps);
    }
}

SLIDE_PROFILE_NOINLINE
static int adam_update(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                       slide_err *err) {
    const float lr_t = adam_lr(net);
    if (!net->p.input_sorted) update_input_major(net, lr_t);
    else if (net_input_sorted_update(net, ds, ids, n, lr_t, err)) return SLIDE_ENOMEM;
    for (int l = 0; l < net->p.n_layers; l++)
        if (!net->layer[l].p.input_major && sort_entries(net, l, n) > 0)
            update_rows(net, l, lr_t, NULL, NULL, 0);
    return SLIDE_OK;
}

/* Whether layer l keeps its tables up to date (LSH-sampled). */
static int keeps_tables(const slide_net *net, int l) {
    return net->layer[l].p.sampled && net->layer[l].p.sampler == SLIDE_SAMPLER_LSH;
}

static int run_tables(slide_net *net, slide_err *err) {
    const slide_net_params *p = &net->p;
    if (p->rebuild_every > 0 && net->step >= net->next_rebuild) {
        for (int l = 0; l < p->n_layers; l++) {
            if (!keeps_tables(net, l)) continue;
            int rc = slide_layer_rebuild_tables(&net->layer[l], err);
            if (rc) return rc;
        }
        if (p->rebuild_decay > 0) net->rebuild_interval *= 1.0 + p->rebuild_decay;
        net->next_rebuild = net->step + (int64_t)ceil(net->rebuild_interval);
        net->next_rehash = net->step + p->rehash_every;
    } else if (p->rehash_every > 0 && net->step >= net->next_rehash) {
        for (int l = 0; l < p->n_layers; l++)
            if (keeps_tables(net, l)) slide_layer_rehash_dirty(&net->layer[l]);
        net->next_rehash = net->step + p->rehash_every;
    }
    return SLIDE_OK;
}

/* The table schedule after a batch; the layers' key and table seconds go into st (may be
 * NULL). */
SLIDE_PROFILE_NOINLINE
static int run_schedule(slide_net *net, slide_train_stats *st, slide_err *err) {
    double k0 = 0, b0 = 0, k1 = 0, b1 = 0;
    for (int l = 0; l < net->p.n_layers; l++) {
        k0 += net->layer[l].t_keys;
        b0 += net->layer[l].t_tables;
    }
    int rc = run_tables(net, err);
    for (int l = 0; l < net->p.n_layers; l++) {
        k1 += net->layer[l].t_keys;
        b1 += net->layer[l].t_tables;
    }
    if (st) {
        st->t_rehash_keys += k1 - k0;
        st->t_rehash_tables += b1 - b0;
    }
    return rc;
}

/* Whether batches train by row sweep (sweep_of). */
static int use_row_sweep(const slide_net *net) { return net->plan.sweep; }

/* What the row sweep's phases count for the batch's statistics. */
typedef struct {
    double loss;
    int64_t active, n_lab, n_lsh;
    double t0, ts0, ts1, ts2, t2, t3, t4, t5, t6; /* phase boundaries (slide_now) */
} sweep_counts;

/* Records slot s's active set (w->ids[1]; at most plan.act[1]) as its list in net->bids and
 * its gradient entries (idx: the entry's place in bids); the slot ran on thread tid. */
static void sweep_record(slide_net *net, const slide_ws *w, int tid, int64_t s) {
    const int64_t na = w->n_act[1], off = s * net->plan.act[1];
    slide_gentry *ge = net->ge[1] + off;
    memcpy(net->bids + off, w->ids[1], (size_t)na * sizeof(uint32_t));
    for (int64_t j = 0; j < na; j++) {
        ge[j].row = w->ids[1][j];
        ge[j].s = (uint32_t)s;
        ge[j].idx = (uint32_t)(off + j);
    }
    net->nge[1][s] = na;
    net->slot_t[s] = tid;
}

/* Phase 1, per sample: the hidden layer, the query, the active set (entries with local idx). */
SLIDE_PROFILE_NOINLINE
static void sweep_select(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                         sweep_counts *c) {
    const uint64_t step = (uint64_t)net->step;
    const int64_t ld = net->layer[1].ld;
    int64_t active = 0, n_lab = 0, n_lsh = 0;
#pragma omp parallel num_threads(net->n_ws) reduction(+ : active, n_lab, n_lsh)
    {
        const int tid = omp_get_thread_num();
        slide_ws *w = &net->ws[tid];
        w->t_hash = w->t_query = w->t_fwd = w->t_bwd = 0;
#pragma omp for schedule(dynamic, 4)
        for (int64_t s = 0; s < n; s++) {
            const int64_t i = ids[s];
            slide_rng_seed(&w->rng, net->p.seed, (step << 24) ^ (uint64_t)s ^ 0x5EED0000000000ULL);
            w->last_labels = w->last_lsh = 0;
            const double h0 = slide_now(); /* the hidden layer's forward: t_replicated */
            slide_net_forward(net, w, ds, i, (fwd_mode){.train = 1, .upto = 1});
            memcpy(net->xin[1] + s * ld, w->dense[0], (size_t)ld * sizeof(float));
            w->t_fwd += slide_now() - h0;
            pick_active(net, w, 1, w->dense[0], ds->lab + ds->lab_ptr[i],
                        ds->lab_ptr[i + 1] - ds->lab_ptr[i], (fwd_mode){.train = 1});
            n_lab += w->last_labels;
            n_lsh += w->last_lsh;
            active += w->n_act[1];
            sweep_record(net, w, tid, s);
        }
    }
    c->active = active;
    c->n_lab = n_lab;
    c->n_lsh = n_lsh;
}

/* Phase 3: every logit, row by row in order (each touched row read once), in entry order; and
 * where each entry went (a sample's logits and deltas are gathered and scattered through pos:
 * independent accesses, not a dependent miss per entry). */
SLIDE_PROFILE_NOINLINE
static void sweep_logits(slide_net *net) {
    const slide_kern *k = net->kern;
    const slide_layer *ly = &net->layer[1];
    const int64_t ld = ly->ld, n_in = ly->p.n_in, nb = row_buckets(ly->n_rows);
    const slide_gentry *all = net->gall;
    const float *xin = net->xin[1];
    float *zseq = net->zseq;
    uint32_t *pos = net->pos;
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 16)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t e1 = net->bstart[b + 1];
            for (int64_t i = net->bstart[b]; i < e1;) {
                const uint32_t r = all[i].row;
                int64_t j = i + 1;
                while (j < e1 && all[j].row == r) j++;
                if (i + SLIDE_SWEEP_PF < e1) { /* a row a few ahead, while this one computes */
                    const uint32_t rn = all[i + SLIDE_SWEEP_PF].row;
                    const int64_t on = (int64_t)rn * ld;
                    if (ly->Wh)
                        for (int64_t q = 0; q < ld; q += 32) __builtin_prefetch(ly->Wh + on + q);
                    else
                        for (int64_t q = 0; q < ld; q += 16) __builtin_prefetch(ly->W + on + q);
                    __builtin_prefetch(ly->b + rn);
                }
                const int64_t m = j - i, o = (int64_t)r * ld; /* m <= batch: w->sl's size */
                for (int64_t x = 0; x < m; x++) {
                    w->sl[x] = all[i + x].s;
                    pos[all[i + x].idx] = (uint32_t)(i + x);
                }
                const float *wr = ly->W ? ly->W + o : NULL;
                if (ly->Wh) { /* exact widening: the values the per-sample path uses */
                    slide_bf16_widen(w->wrow, ly->Wh + o, ld);
                    wr = w->wrow;
                }
                /* dot(row, x_s) for each slot s: x_s are the gathered "rows", the row is x */
                float *z = zseq + i;
                k->gather_dot(z, xin, ld, NULL, w->sl, m, wr, n_in);
                const float br = ly->b[r];
                for (int64_t x = 0; x < m; x++) z[x] = br + z[x];
                i = j;
            }
        }
    }
}

/* Phase 4, per sample: softmax over its active set, deltas, loss (returned). */
SLIDE_PROFILE_NOINLINE
static double sweep_softmax(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n) {
    const slide_kern *k = net->kern;
    const float scale = 1.0f / (float)n;
    const float *zseq = net->zseq;
    float *dseq = net->dseq;
    const uint32_t *pos = net->pos;
    double loss = 0;
#pragma omp parallel num_threads(net->n_ws) reduction(+ : loss)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 4)
        for (int64_t s = 0; s < n; s++) {
            const int64_t i = ids[s], na = net->nge[1][s], off = s * net->plan.act[1];
            const uint32_t *ps = pos + off;
            float *pv = w->val[1], *dv = w->dv[1];
            for (int64_t j = 0; j < na; j++) pv[j] = zseq[ps[j]];
            k->softmax(pv, na);
            loss += output_delta_of(pv, dv, net->bids + off, na,
                                    ds->lab + ds->lab_ptr[i],
                                    ds->lab_ptr[i + 1] - ds->lab_ptr[i], scale);
            for (int64_t j = 0; j < na; j++) dseq[ps[j]] = dv[j];
        }
    }
    return loss;
}

/* Phase 6, per sample: dx (the update's partials in range order; a label shard's summed across
 * the shards first), through the ReLU, the hidden layer's backward (HOGWILD, or the deltas kept
 * for the sorted update). */
SLIDE_PROFILE_NOINLINE
static int sweep_hidden_backward(slide_net *net, const slide_data *ds, const int64_t *ids,
                                 int64_t n, slide_err *err) {
    const int64_t ld = net->layer[1].ld, n_in = net->layer[1].p.n_in;
    const int64_t n_hid = net->layer[0].p.n_out;
    const float *dxp = net->dxp, *xin = net->xin[1];
    const float *dxs = NULL;
    if (net_is_shard(net) && !(dxs = net_shard_dx(net, n, err))) return SLIDE_EIO;
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 4)
        for (int64_t s = 0; s < n; s++) {
            float *dx = w->dx[1], *pdv = w->dv[0];
            if (dxs) {
                dx = (float *)dxs + s * n_in;
            } else {
                memcpy(dx, dxp + s * ld, (size_t)n_in * sizeof(float));
                for (int pr = 1; pr < SLIDE_ROW_RANGES; pr++) {
                    const float *q = dxp + ((int64_t)pr * n + s) * ld;
                    for (int64_t c = 0; c < n_in; c++) dx[c] += q[c];
                }
            }
            const float *h = xin + s * ld;
            if (net->p.input_sorted) pdv = net_sorted_slot(net, s);
            for (int64_t c = 0; c < n_hid; c++) pdv[c] = h[c] > 0.0f ? dx[c] : 0.0f;
            if (!net->p.input_sorted) backward_input_major(net, w, ds, ids[s], pdv, n_hid);
        }
    }
    return SLIDE_OK;
}

/* The row sweep's share of the batch statistics. */
static void sweep_stats(const slide_net *net, const sweep_counts *c, int64_t n,
                        slide_train_stats *st) {
    double th = 0, tq = 0;
    for (int t = 0; t < net->n_ws; t++) {
        th += net->ws[t].t_hash;
        tq += net->ws[t].t_query;
    }
    th /= net->n_ws;
    tq /= net->n_ws;
    st->t_hash += th;
    st->t_query += tq;
    st->t_fwd += (c->t2 - c->t0) - th - tq;
    st->t_bwd += c->t4 - c->t3;
    st->t_sort += c->ts1 - c->ts0;
    st->t_logits += c->ts2 - c->ts1;
    st->t_softmax += c->t2 - c->ts2;
    st->loss_sum += c->loss;
    st->samples += n;
    st->active_sum += c->active;
    st->label_sum += c->n_lab;
    st->lsh_sum += c->n_lsh;
    st->t_forward += (c->t2 - c->t0) + (c->t4 - c->t3);
    st->t_update += (c->t3 - c->t2) + (c->t5 - c->t4);
    st->t_rehash += c->t6 - c->t5;
    double tf = 0;
    for (int t = 0; t < net->n_ws; t++) tf += net->ws[t].t_fwd;
    st->t_replicated += tf / net->n_ws + (c->t5 - c->t3);
}

/* One batch by row sweep. The per-sample path reads each sample's ~3,000 active rows of the
 * output layer at random (bound by memory latency), reads them again in its backward, and the
 * update then walks the touched rows in order. Here the samples first only select their active
 * sets (phase 1); the (row, slot) entries are sorted by row (2); one ordered pass over the
 * touched rows computes every logit (3, each row read once, streaming); each sample's softmax
 * gives its deltas (4); the update's ordered pass adds each row's delta * row to its samples'
 * dx before updating the row, besides building the row's gradient (5); then the hidden layer's
 * backward (6). The arithmetic is the per-sample path's (the same dot products, deltas,
 * gradients and Adam steps; only the rounding of a dot product's summation and of dx's sum over
 * rows may differ), so a batch learns what it learns there (core/tests/test_network.c compares
 * the two). */
SLIDE_PROFILE_NOINLINE
static int train_batch_sweep(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                             slide_train_stats *st, slide_err *err) {
    const float lr_t = adam_lr(net);
    sweep_counts c;
    memset(&c, 0, sizeof c);
    for (int l = 0; l < 2; l++) slide_layer_draw_fill(&net->layer[l], net->p.seed, (uint64_t)net->step);
    c.t0 = slide_now();
    sweep_select(net, ds, ids, n, &c);
    if (net->tlb) slide_net_tlb_inputs(net, ds, ids, n, 0);
    c.ts0 = slide_now();
    sort_entries(net, 1, n); /* phase 2: the entries by (row, slot) */
    c.ts1 = slide_now();
    sweep_logits(net);
    if (net->tlb) slide_net_tlb_logits(net);
    c.ts2 = slide_now();
    if (!net_is_shard(net)) c.loss = sweep_softmax(net, ds, ids, n);
    else if (net_shard_softmax(net, ds, ids, n, &c.loss, err)) return SLIDE_EIO;
    c.t2 = slide_now();
    update_rows(net, 1, lr_t, net->dseq, net->dxp, n); /* 5 */
    if (net->tlb) slide_net_tlb_update_rows(net, 1, net->dseq);
    c.t3 = slide_now();
    if (sweep_hidden_backward(net, ds, ids, n, err)) return SLIDE_EIO;
    if (net->tlb) slide_net_tlb_inputs(net, ds, ids, n, 1);
    c.t4 = slide_now();
    if (!net->p.input_sorted) update_input_major(net, lr_t);
    else if (net_input_sorted_update(net, ds, ids, n, lr_t, err)) return SLIDE_ENOMEM;
    net->step++;
    c.t5 = slide_now();
    if (net->tlb) slide_net_tlb_tables(net);
    const int rc = run_schedule(net, st, err);
    c.t6 = slide_now();
    if (st) sweep_stats(net, &c, n, st);
    return rc;
}

/* Per-sample path: each sample's forward and backward (its gradient entries and HOGWILD input
 * rows), samples spread over the threads; the loss and counts into c (the caller times it). */
SLIDE_PROFILE_NOINLINE
static void persample_fwd_bwd(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                              sweep_counts *c) {
    const int nl = net->p.n_layers;
    const float scale = 1.0f / (float)n;
    const uint64_t step = (uint64_t)net->step;
    double loss = 0;
    int64_t active = 0, n_lab = 0, n_lsh = 0;
#pragma omp parallel num_threads(net->n_ws) reduction(+ : loss, active, n_lab, n_lsh)
    {
        const int tid = omp_get_thread_num();
        slide_ws *w = &net->ws[tid];
        w->t_hash = w->t_query = w->t_fwd = w->t_bwd = 0;
#pragma omp for schedule(dynamic, 4)
        for (int64_t s = 0; s < n; s++) {
            int64_t i = ids[s];
            net->slot_t[s] = tid;
            /* Seeded per (step, sample): random fill does not depend on the thread schedule. */
            slide_rng_seed(&w->rng, net->p.seed, (step << 24) ^ (uint64_t)s ^ 0x5EED0000000000ULL);
            double a = slide_now();
            w->last_labels = w->last_lsh = 0;
            slide_net_forward(net, w, ds, i, (fwd_mode){.train = 1});
            n_lab += w->last_labels;
            n_lsh += w->last_lsh;
            const int32_t *labels = ds->lab + ds->lab_ptr[i];
            int64_t nlab = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
            loss += output_delta(w, nl - 1, labels, nlab, scale);
            active += w->n_act[nl - 1];
            double b = slide_now();
            backward(net, w, ds, i, s, 0);
            w->t_fwd += b - a;
            w->t_bwd += slide_now() - b;
        }
    }
    c->loss = loss;
    c->active = active;
    c->n_lab = n_lab;
    c->n_lsh = n_lsh;
}

/* The per-sample path's share of the batch statistics (t0: start, t2: after the samples, t3:
 * after the update, t6: after the table schedule). */
static void persample_stats(const slide_net *net, const sweep_counts *c, int64_t n,
                            slide_train_stats *st) {
    double th = 0, tq = 0, tf = 0, tb = 0;
    for (int t = 0; t < net->n_ws; t++) {
        th += net->ws[t].t_hash;
        tq += net->ws[t].t_query;
        tf += net->ws[t].t_fwd;
        tb += net->ws[t].t_bwd;
    }
    /* Forward time includes hashing and query: report them separately. */
    st->t_hash += th / net->n_ws;
    st->t_query += tq / net->n_ws;
    st->t_fwd += (tf - th - tq) / net->n_ws;
    st->t_bwd += tb / net->n_ws;
    st->loss_sum += c->loss;
    st->samples += n;
    st->active_sum += c->active;
    st->label_sum += c->n_lab;
    st->lsh_sum += c->n_lsh;
    st->t_forward += c->t2 - c->t0; /* forward + backward of the samples */
    st->t_update += c->t3 - c->t2;
    st->t_rehash += c->t6 - c->t3;
}

/* SLIDE_EINVAL when the batch does not fit the plan (checked before anything changes). */
static int check_batch(const slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                       slide_err *err) {
    int rc = check_shape(net, ds, err);
    if (rc) return rc;
    if (n < 0 || n > net->plan.batch)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "a batch of %lld points; the network was planned for 0..%lld (batch)",
                             (long long)n, (long long)net->plan.batch);
    for (int64_t s = 0; s < n; s++) {
        const int64_t i = ids[s];
        if (i < 0 || i >= ds->n)
            return slide_err_set(err, SLIDE_EINVAL, 0, "point %lld is not in the data set (%lld)",
                                 (long long)i, (long long)ds->n);
        if ((rc = check_labels(net, ds, i, err))) return rc;
    }
    return SLIDE_OK;
}

int slide_net_train_batch(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                          slide_train_stats *st, slide_err *err) {
    const int nl = net->p.n_layers;
    int rc = check_batch(net, ds, ids, n, err);
    if (rc) return rc;
    if (use_row_sweep(net)) return train_batch_sweep(net, ds, ids, n, st, err);
    sweep_counts c;
    memset(&c, 0, sizeof c);
    c.t0 = slide_now();
    for (int l = 0; l < nl; l++) slide_layer_draw_fill(&net->layer[l], net->p.seed, (uint64_t)net->step);
    persample_fwd_bwd(net, ds, ids, n, &c);
    c.t2 = slide_now();
    if (net->tlb) slide_net_tlb_persample(net, ds, ids, n);
    if ((rc = adam_update(net, ds, ids, n, err))) return rc;
    if (net->tlb) slide_net_tlb_update_rows(net, nl - 1, NULL);
    net->step++;
    c.t3 = slide_now();
    if (net->tlb) slide_net_tlb_tables(net);
    rc = run_schedule(net, st, err);
    c.t6 = slide_now();
    if (st) persample_stats(net, &c, n, st);
    return rc;
}

/* ------------------------------------------------------------------ gradient-check helpers */

double slide_net_loss_point(slide_net *net, const slide_data *ds, int64_t i, const uint32_t *act,
                            int64_t n_act) {
    slide_ws *w = &net->ws[0];
    const int nl = net->p.n_layers;
    slide_net_forward(net, w, ds, i,
                   (fwd_mode){.train = 1, .full = act == NULL, .force = act, .n_force = n_act});
    const int32_t *labels = ds->lab + ds->lab_ptr[i];
    int64_t nlab = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
    return output_delta(w, nl - 1, labels, nlab, 1.0f);
}

int slide_net_grad_point(slide_net *net, const slide_data *ds, int64_t i, const uint32_t *act,
                         int64_t n_act) {
    slide_ws *w = &net->ws[0];
    for (int l = 0; l < net->p.n_layers; l++) { /* dense gW of the row-major layers */
        slide_layer *ly = &net->layer[l];
        if (ly->p.input_major || net->gdense[l]) continue;
        net->gdense[l] = calloc((size_t)(ly->n_rows * ly->ld), sizeof(float));
        if (!net->gdense[l]) return SLIDE_ENOMEM;
        ly->gW = net->gdense[l];
    }
    slide_net_loss_point(net, ds, i, act, n_act);
    backward(net, w, ds, i, 0, 1);
    /* The check reads the gradients directly: forget the touched lists. */
    for (int l = 0; l < net->p.n_layers; l++) {
        slide_layer *ly = &net->layer[l];
        for (int64_t j = 0; j < w->n_rows[l]; j++) ly->row_touched[w->rows[l][j]] = 0;
        w->n_rows[l] = 0;
    }
    return SLIDE_OK;
}

void slide_net_forward_full(slide_net *net, const slide_data *ds, int64_t i, float *out) {
    slide_ws *w = &net->ws[0];
    const int nl = net->p.n_layers;
    slide_net_forward(net, w, ds, i, (fwd_mode){.full = 1});
    memcpy(out, w->val[nl - 1], (size_t)net->p.layer[nl - 1].n_out * sizeof(float));
}
