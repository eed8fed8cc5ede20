/* slide-train-mpi: SLIDE over MPI, the output layer split by label across the ranks; the fourth
 * driver of the shared run loop and option table (bench/common). See --help and DESIGN below.
 *
 * Design note.
 * - Labels go to ranks in contiguous ranges by default (rank r holds [L r / P, L (r+1) / P)):
 *   a shard is a block of rows, its weights are the rows the unsharded layer would draw for
 *   those ids (slide_layer_params.row0), and a label's owner is one division. The work of a
 *   rank follows its active neurons, and those are mostly the sampled and random-fill share,
 *   which min/max-active make proportional to the shard's size; only the forced true labels
 *   follow label frequency. Where label ids are sorted by frequency (many XC files are), one
 *   rank would get every head label: --label-split strided (label j to rank j mod P, a
 *   hash-like deal with no table) spreads them. Both are deterministic from (L, P) alone.
 * - Each rank owns its shard's weights, Adam state and LSH tables; no rank allocates the whole
 *   output layer. The input and hidden layers are replicated: every rank computes the hidden
 *   activations of the whole batch and applies the same update, so no weights travel.
 * - Per batch two allreduces: each sample's (max, sum) of its shard's logits, combined into the
 *   global softmax normaliser (2 x batch doubles, a user-defined MPI_Op), and the gradient of
 *   the hidden activations (batch x hidden floats, summed). Bytes per batch do not depend on L.
 * - The replicas stay bit-identical only if their updates are: the input layer is updated from
 *   sorted entries (--input-update sorted, the default here), and the summed gradient must be
 *   the same bits on every rank (MPI_Allreduce of MPI_SUM returns one result to all ranks in
 *   Open MPI; make test-mpi checks the replicas' checksums).
 * - Evaluation: each rank's exact top-5 (and sampled top-5) per point, gathered and merged into
 *   the global top-5 (ties to the lower label id, as in one process); recall_at_5 counts the
 *   merged true top-5 found in the union of the shards' sampled sets.
 * - Every rank loads the whole data set (the input layer needs every feature anyway) and keeps
 *   a view of the training labels renumbered into its shard. */
#include "mpi_drv.h"
#include "slide/layer.h"
#include "slide/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* (max, sum) pairs: the combined max and sum of exp(z - max) over both shards. */
static void norm_combine(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    const double *a = in;
    double *b = inout;
    for (int i = 0; i < *len; i++) {
        const double ma = a[2 * i], sa = a[2 * i + 1], mb = b[2 * i], sb = b[2 * i + 1];
        const double m = ma > mb ? ma : mb;
        if (!(m > -INFINITY)) continue; /* both shards empty for this sample */
        b[2 * i] = m;
        b[2 * i + 1] = (sa > 0 ? sa * exp(ma - m) : 0) + (sb > 0 ? sb * exp(mb - m) : 0);
    }
}

static int cb_norm(void *ctx, double *ms, int64_t n, slide_err *err) {
    comm *c = ctx;
    const double t = MPI_Wtime();
    int rc = MPI_Allreduce(MPI_IN_PLACE, ms, (int)n, c->pair, c->norm_op, MPI_COMM_WORLD);
    c->t_comm += MPI_Wtime() - t;
    c->bytes_cur = 16.0 * (double)n;
    return rc == MPI_SUCCESS ? SLIDE_OK : slide_err_set(err, SLIDE_EIO, 0, "MPI_Allreduce failed");
}

static int cb_sum(void *ctx, float *x, int64_t n, slide_err *err) {
    comm *c = ctx;
    const double t = MPI_Wtime();
    int rc = MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    c->t_comm += MPI_Wtime() - t;
    c->t_sum += MPI_Wtime() - t;
    c->bytes_cur += 4.0 * (double)n;
    if (c->bytes_cur > c->bytes_batch) c->bytes_batch = c->bytes_cur;
    return rc == MPI_SUCCESS ? SLIDE_OK : slide_err_set(err, SLIDE_EIO, 0, "MPI_Allreduce failed");
}

/* 1 on every rank when ok on every rank. */
int mpi_all_ok(int ok) {
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

static double max_over(double v) {
    double m = v;
    MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return m;
}

static double sum_over(double v) {
    double m = v;
    MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return m;
}

/* ------------------------------------------------------------------ the label split */

static void split_make(split *s, int strided, int64_t L, int r, int P) {
    s->strided = strided;
    s->L = L;
    if (strided) {
        s->lo = r;
        s->step = P;
        s->n = (L - r + P - 1) / P;
    } else {
        s->lo = L * r / P;
        s->step = 1;
        s->n = L * (r + 1) / P - s->lo;
    }
}

/* Local row of global label g, or -1 when another rank owns it. */
static int64_t split_local(const split *s, int64_t g) {
    const int64_t d = g - s->lo;
    if (d < 0 || d % s->step) return -1;
    return d / s->step < s->n ? d / s->step : -1;
}

/* The training set as this shard sees it: the same points and features (shared, not copied),
 * the labels it owns renumbered, and each point's global label count. Free lab_ptr, lab, nlab. */
static int shard_view(const slide_data *g, const split *sp, slide_data *v, int64_t **nlab) {
    *v = *g;
    v->l = sp->n;
    v->lab_ptr = malloc((size_t)(g->n + 1) * sizeof(int64_t));
    v->lab = malloc((size_t)(g->nlab > 0 ? g->nlab : 1) * sizeof(int32_t));
    *nlab = malloc((size_t)(g->n > 0 ? g->n : 1) * sizeof(int64_t));
    if (!v->lab_ptr || !v->lab || !*nlab) return -1;
    int64_t k = 0;
    for (int64_t i = 0; i < g->n; i++) {
        v->lab_ptr[i] = k;
        (*nlab)[i] = g->lab_ptr[i + 1] - g->lab_ptr[i];
        for (int64_t a = g->lab_ptr[i]; a < g->lab_ptr[i + 1]; a++) {
            const int64_t j = split_local(sp, g->lab[a]);
            if (j >= 0) v->lab[k++] = (int32_t)j;
        }
    }
    v->lab_ptr[g->n] = k;
    v->nlab = k;
    return 0;
}

/* ------------------------------------------------------------------ checksums */

static uint64_t mix(uint64_t h, uint64_t x) {
    h ^= x + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDULL;
}

uint64_t mpi_hash_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, b + i, 8);
        h = mix(h, x);
    }
    uint64_t t = 0;
    memcpy(&t, b + i, n - i);
    return mix(mix(h, t), n);
}

static uint64_t hash_data(uint64_t h, const slide_data *d) {
    h = mix(mix(mix(h, (uint64_t)d->n), (uint64_t)d->d), (uint64_t)d->l);
    h = mpi_hash_bytes(h, d->row_ptr, (size_t)(d->n + 1) * sizeof *d->row_ptr);
    h = mpi_hash_bytes(h, d->feat, (size_t)d->nnz * sizeof *d->feat);
    h = mpi_hash_bytes(h, d->val, (size_t)d->nnz * sizeof *d->val);
    h = mpi_hash_bytes(h, d->lab_ptr, (size_t)(d->n + 1) * sizeof *d->lab_ptr);
    return mpi_hash_bytes(h, d->lab, (size_t)d->nlab * sizeof *d->lab);
}

/* Every option's value (not the run id, the progress line or the output paths' existence). */
static uint64_t hash_opts(const drv_opts *o) {
    uint64_t h = 0x5EEDULL;
    for (const slide_opt *t = o->table; t->name; t++) {
        if (!strcmp(t->name, "run-id") || !strcmp(t->name, "progress")) continue;
        h = mpi_hash_bytes(h, t->name, strlen(t->name));
        switch (t->type) {
        case SLIDE_OPT_STR: {
            const char *s = *(const char **)t->ptr;
            h = mpi_hash_bytes(h, s ? s : "", s ? strlen(s) : 0);
            break;
        }
        case SLIDE_OPT_DOUBLE: h = mpi_hash_bytes(h, t->ptr, sizeof(double)); break;
        case SLIDE_OPT_FLOAT: h = mpi_hash_bytes(h, t->ptr, sizeof(float)); break;
        case SLIDE_OPT_U64:
        case SLIDE_OPT_I64: h = mpi_hash_bytes(h, t->ptr, 8); break;
        default: h = mpi_hash_bytes(h, t->ptr, sizeof(int)); break;
        }
    }
    return h;
}

/* Checksum of the replicated layers (weights, biases, Adam moments), in order. */
static uint64_t hash_replicated(slide_net *net) {
    const slide_layer *ly = slide_net_layer(net, 0);
    const size_t nw = (size_t)(ly->n_rows * ly->ld), nb = (size_t)ly->p.n_out;
    uint64_t h = mpi_hash_bytes(0, ly->W, nw * sizeof(float));
    h = mpi_hash_bytes(h, ly->mW, nw * sizeof(float));
    h = mpi_hash_bytes(h, ly->vW, nw * sizeof(float));
    h = mpi_hash_bytes(h, ly->b, nb * sizeof(float));
    h = mpi_hash_bytes(h, ly->mb, nb * sizeof(float));
    return mpi_hash_bytes(h, ly->vb, nb * sizeof(float));
}

/* A rank that fails or is killed: Open MPI's default error handler aborts the job, and mpirun
 * ends every other rank, naming the one that died. A SIGTERM from mpirun must end this rank at
 * once too (the run loop's handler would wait for a batch that never completes). */
static void on_term(int sig) {
    (void)sig;
    static const char m[] = PROG ": terminated (another rank failed)\n";
    ssize_t rc = write(2, m, sizeof m - 1);
    (void)rc;
    _exit(143);
}

/* ------------------------------------------------------------------ the model */


static int m_train_batch(void *self, const drv_loop *lp, const int64_t *ids, int64_t nb,
                         double *train_s, slide_err *err) {
    mpi_model *s = self;
    if (lp->iter == 0 || !s->signals_set) { /* replaces the run loop's graceful stop: ranks */
        signal(SIGTERM, on_term);             /* cannot agree on a batch to stop at once */
        signal(SIGINT, on_term);
        s->signals_set = 1;
    }
    slide_train_stats st;
    memset(&st, 0, sizeof st);
    const double c0 = s->c->t_comm, t0 = slide_now();
    int rc = slide_net_train_batch(s->net, &s->view, ids, nb, &st, err);
    if (rc) return rc;
    double dt = slide_now() - t0;
    /* time-based schedules (--time-budget, --eval-every-s) must end and evaluate at the same
     * batch on every rank: then the ranks share one clock, the slowest rank's */
    if (s->o->time_budget > 0 || s->o->eval_every_s > 0) dt = max_over(dt);
    *train_s += dt;
    s->train_int += dt;
    s->comm_int += s->c->t_comm - c0;
    s->comm_all += s->c->t_comm - c0;
    slide_train_stats_add(&s->st_int, &st);
    slide_train_stats_add(&s->st_all, &st);
    if (s->check_every > 0 && (lp->iter + 1) % s->check_every == 0) {
        /* the replicas' checksums: any difference is a bug, found here at once */
        uint64_t h = hash_replicated(s->net), h0 = h;
        MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        const int same = mpi_all_ok(h == h0);
        if (s->c->rank == 0)
            fprintf(stderr, "[replicas] batch %lld: replicated layers %s on all %d ranks "
                    "(%016llx)\n", (long long)lp->iter + 1, same ? "identical" : "DIFFER",
                    s->c->P, (unsigned long long)h0);
        if (!same)
            return slide_err_set(err, SLIDE_EINVAL, 0, "batch %lld: the replicated layers "
                                 "differ between ranks", (long long)lp->iter + 1);
    }
    return SLIDE_OK;
}

/* Merges P best-first top-5 lists (stride 5 x n apart) of point q into out (returns count). */
static int merge5(const float *s, const uint32_t *id, int P, int64_t n, int64_t q, uint32_t *out) {
    float best[5];
    int m = 0;
    for (int r = 0; r < P; r++)
        for (int e = 0; e < 5; e++) {
            const float sc = s[(int64_t)r * 5 * n + q * 5 + e];
            const uint32_t g = id[(int64_t)r * 5 * n + q * 5 + e];
            if (g == UINT32_MAX) break;
            if (m == 5 && !(sc > best[4] || (sc == best[4] && g < out[4]))) continue;
            int at = m < 5 ? m : 4;
            while (at > 0 && (sc > best[at - 1] || (sc == best[at - 1] && g < out[at - 1]))) {
                best[at] = best[at - 1];
                out[at] = out[at - 1];
                at--;
            }
            best[at] = sc;
            out[at] = g;
            if (m < 5) m++;
        }
    return m;
}

static int m_evaluate(void *self, const slide_data *ds, const int64_t *ids, int64_t n,
                      slide_eval_result *ev, slide_err *err) {
    mpi_model *s = self;
    if (!ids) n = ds->n;
    if (n > s->eval_cap)
        return slide_err_set(err, SLIDE_EINVAL, 0, "%lld evaluation points, room for %lld",
                             (long long)n, (long long)s->eval_cap);
    const int P = s->c->P;
    const int sampled = !s->o->full_output, smi = sampled && s->o->sampled_inference;
    memset(ev, 0, sizeof *ev);
    int rc = slide_net_shard_top5(s->net, ds, ids, n, s->ex_s, s->ex_id, s->cnt,
                                  smi ? s->sm_s : NULL, smi ? s->sm_id : NULL, s->act, err);
    if (!mpi_all_ok(rc == 0)) return rc ? rc : slide_err_set(err, SLIDE_EIO, 0, "evaluation failed "
                                                         "on another rank");
    MPI_Allgather(s->ex_s, (int)(5 * n), MPI_FLOAT, s->all_s, (int)(5 * n), MPI_FLOAT,
                  MPI_COMM_WORLD);
    MPI_Allgather(s->ex_id, (int)(5 * n), MPI_UINT32_T, s->all_id, (int)(5 * n), MPI_UINT32_T,
                  MPI_COMM_WORLD);
    for (int64_t q = 0; q < n; q++) s->gn[q] = merge5(s->all_s, s->all_id, P, n, q, s->gtop + q * 5);
    double acc_p[6] = {0}, acc_n[6] = {0}, rec = 0, act = 0;
    int64_t ne = 0, nsk = 0;
    if (sampled) {
        rc = slide_net_shard_found(s->net, ds, ids, n, s->gtop, s->gn, s->found, err);
        if (!mpi_all_ok(rc == 0)) return rc ? rc : SLIDE_EIO;
        MPI_Allreduce(MPI_IN_PLACE, s->found, (int)n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, s->act, (int)n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    }
    if (smi) {
        MPI_Allgather(s->sm_s, (int)(5 * n), MPI_FLOAT, s->all_s, (int)(5 * n), MPI_FLOAT,
                      MPI_COMM_WORLD);
        MPI_Allgather(s->sm_id, (int)(5 * n), MPI_UINT32_T, s->all_id, (int)(5 * n),
                      MPI_UINT32_T, MPI_COMM_WORLD);
    }
    for (int64_t q = 0; q < n; q++) {
        const int64_t i = ids ? ids[q] : q;
        const slide_data *d = ds;
        const int nl = (int)(d->lab_ptr[i + 1] - d->lab_ptr[i]);
        if (nl == 0) {
            nsk++;
            continue;
        }
        uint32_t pred[5];
        int np = s->gn[q];
        memcpy(pred, s->gtop + q * 5, sizeof pred);
        if (smi) np = merge5(s->all_s, s->all_id, P, n, q, pred);
        double pa[6], nd[6];
        slide_metrics_point(pred, np, d->lab + d->lab_ptr[i], nl, pa, nd);
        for (int k = 1; k <= 5; k++) {
            acc_p[k] += pa[k];
            acc_n[k] += nd[k];
        }
        if (sampled) {
            rec += s->gn[q] ? (double)s->found[q] / s->gn[q] : 0;
            act += (double)s->act[q];
        }
        ne++;
    }
    ev->n_eval = ne;
    ev->n_skipped = nsk;
    for (int k = 1; k <= 5; k++) {
        ev->p_at[k] = ne ? acc_p[k] / ne : 0;
        ev->ndcg_at[k] = ne ? acc_n[k] / ne : 0;
    }
    ev->recall_at_5 = sampled && ne ? rec / ne : NAN;
    ev->active_avg = sampled && ne ? act / ne : (double)s->sp.L;
    return SLIDE_OK;
}

static void m_progress(void *self, char *buf, size_t cap) {
    const mpi_model *s = self;
    const double ns = s->st_int.samples ? (double)s->st_int.samples : 0.0;
    snprintf(buf, cap, "loss(shard) %.4f comm %.1fs", ns ? s->st_int.loss_sum / ns : 0.0,
             s->comm_int);
}

static void m_fill_row(void *self, const drv_loop *lp, slide_train_row *r,
                       const slide_eval_result *ev, double int_train) {
    mpi_model *s = self;
    const drv_opts *o = s->o;
    const slide_train_stats *st = &s->st_int;
    (void)ev;
    const double ns = st->samples ? (double)st->samples : 1.0;
    const double act = sum_over((double)st->active_sum) / ns;
    r->simd = slide_simd_name(s->simd);
    r->weights = o->bf16_only ? "bf16-sr" : o->bf16 ? "bf16" : "fp32";
    r->adam_state = o->adam_bf16 || o->bf16_only ? "bf16-sr" : "fp32";
    r->train_order = "row-sweep";
    r->hugepages = s->hp_in;
    r->hugepages_requested = s->hp_req;
    r->numa_policy = slide_numa_name(&s->numa, s->numa_pol, sizeof s->numa_pol);
    slide_net_numa_nodes(s->net, s->numa_nodes, sizeof s->numa_nodes);
    r->numa_nodes = s->numa_nodes;
    r->system = s->system;
    r->hash_family = s->fam;
    r->sampler = o->full_output ? NULL : slide_sampler_name(o->sampler);
    r->budget = o->full_output ? 0 : o->budget;
    r->bucket_policy = o->full_output ? "NA" : slide_bucket_policy_name(o->policy);
    r->inference = o->sampled_inference ? "sampled" : "exact";
    r->K = o->full_output ? 0 : o->K;
    r->L = o->full_output ? 0 : o->L;
    r->range_bits = o->full_output ? 0 : o->range_bits;
    r->bucket_cap = o->full_output ? 0 : o->bucket_cap;
    r->probes = o->probes;
    r->loss = sum_over(st->loss_sum) / ns;
    r->active_avg = act;
    r->active_frac = act / (double)s->sp.L;
    /* the slowest rank sets the pace: its interval time */
    const double slow = max_over(int_train);
    r->samples_per_s = slow > 0 ? st->samples / slow : 0.0;
    r->train_s = max_over(lp->train_s);
    r->t_fwd_bwd_s = max_over(st->t_forward);
    r->t_update_s = max_over(st->t_update);
    r->t_rehash_s = max_over(st->t_rehash);
    r->ranks = s->c->P;
    r->label_split = s->sp.strided ? "strided" : "contiguous";
    r->t_comm_s = max_over(s->comm_all);
    r->comm_bytes_per_batch = s->c->bytes_batch;
    r->peak_rss_mb = max_over(slide_mem_peak_rss_mb());
}

/* <csv stem>.<suffix>.csv */
static void stem_path(char *path, size_t cap, const char *csv_path, const char *suffix) {
    size_t n = strlen(csv_path);
    if (n > 4 && !strcmp(csv_path + n - 4, ".csv")) n -= 4;
    snprintf(path, cap, "%.*s.%s.csv", (int)n, csv_path, suffix);
}

#define RANK_COLS 15
/* One row per rank to <csv stem>.ranks.csv (rank 0 writes what it gathers). */
static int write_ranks(mpi_model *s, const drv_loop *lp, const char *eval_set, double epoch,
                       slide_err *err) {
    const slide_train_stats *st = &s->st_int;
    const double ns = st->samples ? (double)st->samples : 1.0;
    double mine[RANK_COLS] = {s->train_int, st->t_forward, st->t_update, st->t_rehash,
                              s->comm_int, st->t_hash, st->t_query, st->t_sort, st->t_logits,
                              st->t_softmax, (double)st->active_sum / ns, s->out_mb,
                              slide_mem_rss_mb(), slide_mem_peak_rss_mb(), (double)s->sp.lo};
    const int P = s->c->P;
    double *all = s->c->rank == 0 ? malloc((size_t)P * RANK_COLS * sizeof(double)) : NULL;
    MPI_Gather(mine, RANK_COLS, MPI_DOUBLE, all, RANK_COLS, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    int64_t *sizes = s->c->rank == 0 ? malloc((size_t)P * sizeof(int64_t)) : NULL;
    MPI_Gather(&s->sp.n, 1, MPI_INT64_T, sizes, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (s->c->rank != 0) return SLIDE_OK;
    int rc = 0;
    if (!all || !sizes) rc = slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory");
    char path[4200];
    stem_path(path, sizeof path, s->o->csv, "ranks");
    slide_csv *c = NULL;
    if (!rc)
        rc = slide_csv_open(&c, path,
                            "run_id,utc,git_commit,host,cpu_model,dataset,ranks,rank,label_split,"
                            "label_lo,shard_labels,threads,iter,epoch,eval_set,train_s,"
                            "t_fwd_bwd_s,t_update_s,t_rehash_s,t_comm_s,hash_s,query_s,sort_s,"
                            "logits_s,softmax_s,active_avg,output_layer_mb,rss_mb,peak_rss_mb",
                            err);
    char utc[32], row[2048];
    slide_utc_now(utc, sizeof utc);
    for (int r = 0; r < P && !rc; r++) {
        const double *v = all + (int64_t)r * RANK_COLS;
        snprintf(row, sizeof row,
                 "%s,%s,%s,%s,%s,%s,%d,%d,%s,%lld,%lld,%d,%lld,%.4f,%s,%.4f,%.4f,%.4f,%.4f,%.4f,"
                 "%.4f,%.4f,%.4f,%.4f,%.4f,%.1f,%.1f,%.1f,%.1f",
                 lp->ctx.run_id, utc, lp->ctx.git_commit, lp->ctx.host, lp->ctx.cpu_model,
                 lp->dataset, P, r, s->sp.strided ? "strided" : "contiguous", (long long)v[14],
                 (long long)sizes[r], s->o->threads, (long long)lp->iter, epoch, eval_set, v[0],
                 v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]);
        rc = slide_csv_row(c, row, err);
    }
    slide_csv_close(c);
    free(all);
    free(sizes);
    return rc;
}

static int m_after_row(void *self, const drv_loop *lp, const slide_train_row *r,
                       const slide_eval_result *ev, slide_err *err) {
    mpi_model *s = self;
    char rec[32];
    if (isnan(ev->recall_at_5)) snprintf(rec, sizeof rec, "NA");
    else snprintf(rec, sizeof rec, "%.4f", ev->recall_at_5);
    if (s->c->rank == 0)
        fprintf(stderr, "[eval] iter %lld train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f recall@5 %s "
                "active %.0f comm %.2fs (%d ranks, %s, n=%lld)\n", (long long)lp->iter,
                r->train_s, ev->p_at[1], ev->p_at[3], ev->p_at[5], rec, r->active_avg,
                r->t_comm_s, s->c->P, !strcmp(r->eval_set, "full") ? "full test set" : "subset",
                (long long)ev->n_eval);
    int rc = write_ranks(s, lp, r->eval_set, r->epoch, err);
    memset(&s->st_int, 0, sizeof s->st_int);
    s->comm_int = s->train_int = 0;
    return rc;
}

/* ------------------------------------------------------------------ set-up */

/* Pins this rank's threads to its own cores: mpirun may bind (then OMP_PLACES=cores stays
 * within the rank's mask), else the rank takes cores local_rank x threads.. of its mask (round
 * robin when oversubscribed), so that no two ranks start on core 0. Re-executes once. */
static void pin_and_reexec(const drv_opts *o, char **argv) {
    if (o->no_pin || getenv("OMP_PROC_BIND") || getenv("SLIDE_NO_REEXEC")) return;
    setenv("OMP_PROC_BIND", "true", 1);
    if (!getenv("OMP_WAIT_POLICY")) setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("SLIDE_NO_REEXEC", "1", 1);
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpus[CPU_SETSIZE], nc = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) cpus[nc++] = c;
    const char *lr_s = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    const char *ls_s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const int lr = lr_s ? atoi(lr_s) : 0, ls = ls_s ? atoi(ls_s) : 1;
    if (!getenv("OMP_PLACES")) {
        /* a core per thread of every local rank; oversubscribed (fewer cores), the ranks'
         * first threads spread round robin */
        if (nc > 0 && ls > 1 && (nc >= o->threads * ls || (nc > 1 && nc >= o->threads))) {
            char places[1024] = "";
            size_t w = 0;
            for (int t = 0; t < o->threads && w < sizeof places - 16; t++)
                w += (size_t)snprintf(places + w, sizeof places - w, "%s{%d}", t ? "," : "",
                                      cpus[(lr * o->threads + t) % nc]);
            setenv("OMP_PLACES", places, 1);
        } else {
            setenv("OMP_PLACES", "cores", 1);
        }
    }
    execv("/proc/self/exe", argv);
}

/* The network of this shard after the memory check ([mem] line). Returns 0, or 2 after a
 * message (each rank prints its own). */
static int build_net(mpi_model *s, const drv_loop *lp) {
    const drv_opts *o = s->o;
    slide_err err;
    slide_net_params np;
    drv_net_params(o, lp->train.d, s->sp.n, s->simd, &s->numa, &np);
    np.max_labels = slide_data_max_labels(&lp->train);
    np.row_sweep = 1;
    np.layer[1].row0 = s->sp.lo;
    np.layer[1].row_step = s->sp.step;
    if (o->budget > 0 && !o->full_output) {
        /* --budget's round(F x labels) neurons of the whole layer, shared by the shards in
         * proportion to their sizes (cumulative rounding: the shares add up to exactly that) */
        const int64_t L = s->sp.L;
        int64_t B = llround(o->budget * (double)L), before = 0;
        B = B < 1 ? 1 : B > L ? L : B;
        for (int r = 0; r < s->c->rank; r++) {
            split q;
            split_make(&q, s->sp.strided, L, r, s->c->P);
            before += q.n;
        }
        const int64_t share = llround((double)B * (double)(before + s->sp.n) / (double)L) -
                              llround((double)B * (double)before / (double)L);
        np.layer[1].budget_frac = (double)(share < 1 ? 1 : share) / (double)s->sp.n;
    }
    const char *m = slide_net_params_check(&np);
    if (m) {
        fprintf(stderr, PROG ": %s\n", m);
        return 2;
    }
    slide_mem_parts mp, op;
    const double MB = 1048576.0;
    const double est_mb = slide_net_estimate_bytes(&np, &mp) / MB;
    memset(&op, 0, sizeof op);
    slide_layer_params out = np.layer[1];
    slide_layer_estimate_bytes(&out, o->hugepages, &op);
    s->out_mb = (op.weights + op.optimizer + op.tables) / MB;
    double data_mb = 0;
    const slide_data *dsets[2] = {&lp->train, &lp->test};
    for (int q = 0; q < 2; q++)
        data_mb += (16.0 * (double)(dsets[q]->n + 1) + 8.0 * (double)dsets[q]->nnz +
                    4.0 * (double)dsets[q]->nlab) / MB;
    const double avail_mb = slide_mem_available_mb();
    const double limit_mb = o->max_mem_mb > 0 ? o->max_mem_mb : avail_mb / s->c->P;
    const double need_mb = o->max_mem_mb > 0 ? est_mb + data_mb : est_mb;
    if (s->c->rank == 0)
        fprintf(stderr, "[mem] rank 0 of %d: its network needs about %.0f MB (output layer shard "
                "%.0f MB: weights, optimizer state, hash tables), data sets in memory %.0f MB "
                "(limit %.0f MB per rank%s)\n", s->c->P, est_mb, s->out_mb, data_mb, limit_mb,
                o->max_mem_mb > 0 ? ", --max-mem, for network and data" : ", available memory / ranks");
    /* one line, from rank 0, about the largest shard */
    double most = need_mb, shard = (double)s->sp.n;
    MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &shard, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (limit_mb > 0 && most > limit_mb) {
        if (s->c->rank == 0)
            fprintf(stderr, PROG ": a shard of %.0f labels needs about %.0f MB%s, above the "
                    "limit of %.0f MB per rank%s; use more ranks (%d now)\n", shard, most,
                    o->max_mem_mb > 0 ? " with its data" : "", limit_mb,
                    o->max_mem_mb > 0 ? " (--max-mem)" : " (available memory / ranks)", s->c->P);
        return 2;
    }
    if (slide_net_create(&s->net, &np, &err)) {
        fprintf(stderr, PROG ": rank %d: %s\n", s->c->rank, err.msg);
        return 2;
    }
    slide_net_shard sh = {s->c, cb_norm, cb_sum, s->nlab};
    if (slide_net_set_shard(s->net, &sh, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    s->hp_eff = slide_net_hugepages_in_effect(s->net);
    s->system = o->full_output ? "slide-full-mpi" : "slide-mpi";
    snprintf(s->fam_rot, sizeof s->fam_rot, "%s-rot", slide_hash_family_name(o->family));
    s->fam = o->full_output || o->sampler != SLIDE_SAMPLER_LSH ? "NA"
             : o->hash_rotate ? s->fam_rot : slide_hash_family_name(o->family);
    if (slide_net_set_label_counts(s->net, &s->view, &err)) { /* the unigram's, per shard */
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    snprintf(s->hp_req, sizeof s->hp_req, "%s", slide_hugepages_name(o->hugepages));
    snprintf(s->hp_in, sizeof s->hp_in, "%s", slide_hugepages_name(s->hp_eff));
    s->blob_cap = mpi_ckpt_blob_bytes(lp->train.n);
    s->blob = malloc(s->blob_cap);
    const int64_t nt = lp->test.n > lp->val.n ? (lp->test.n > 0 ? lp->test.n : 1)
                       : (lp->val.n > 0 ? lp->val.n : 1), P = s->c->P;
    s->eval_cap = nt;
    s->ex_s = malloc((size_t)(5 * nt) * sizeof(float));
    s->sm_s = malloc((size_t)(5 * nt) * sizeof(float));
    s->all_s = malloc((size_t)(5 * nt * P) * sizeof(float));
    s->ex_id = malloc((size_t)(5 * nt) * sizeof(uint32_t));
    s->sm_id = malloc((size_t)(5 * nt) * sizeof(uint32_t));
    s->all_id = malloc((size_t)(5 * nt * P) * sizeof(uint32_t));
    s->gtop = malloc((size_t)(5 * nt) * sizeof(uint32_t));
    s->cnt = malloc((size_t)nt * sizeof(int));
    s->gn = malloc((size_t)nt * sizeof(int));
    s->found = malloc((size_t)nt * sizeof(int));
    s->act = malloc((size_t)nt * sizeof(int64_t));
    if (!s->blob || !s->ex_s || !s->sm_s || !s->all_s || !s->ex_id || !s->sm_id || !s->all_id ||
        !s->gtop || !s->cnt || !s->gn || !s->found || !s->act) {
        fprintf(stderr, PROG ": rank %d: out of memory\n", s->c->rank);
        return 2;
    }
    return 0;
}

/* stderr to /dev/null (returns the saved descriptor, or -1), and back. */
static int stderr_off(void) {
    fflush(stderr);
    const int saved = dup(2), nul = open("/dev/null", O_WRONLY);
    if (saved >= 0 && nul >= 0) dup2(nul, 2);
    if (nul >= 0) close(nul);
    return saved;
}

static void stderr_on(int saved) {
    if (saved < 0) return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* drv_loop_setup with one voice: the other ranks' lines (the same [data] line, or the same
 * error) are held back and shown only when rank 0 succeeded and the rank did not. */
static int quiet_setup(drv_loop *lp, const drv_opts *o, int rank) {
    if (rank == 0) {
        const int ex = drv_loop_setup(lp, o, PROG);
        int ok0 = ex == 0;
        MPI_Bcast(&ok0, 1, MPI_INT, 0, MPI_COMM_WORLD);
        return ex;
    }
    FILE *held = tmpfile();
    const int saved = held ? dup(2) : -1;
    if (saved >= 0) {
        fflush(stderr);
        dup2(fileno(held), 2);
    }
    const int ex = drv_loop_setup(lp, o, PROG);
    if (saved >= 0) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
    }
    int ok0 = 0;
    MPI_Bcast(&ok0, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (ex && ok0 && held) { /* only this rank failed: say why, naming it */
        char line[1024];
        rewind(held);
        while (fgets(line, sizeof line, held))
            if (!strncmp(line, PROG ": ", strlen(PROG) + 2))
                fprintf(stderr, PROG ": rank %d: %s", rank, line + strlen(PROG) + 2);
    }
    if (held) fclose(held);
    return ex;
}

/* Refuses ranks given different options or data: every rank's checksums against rank 0's. */
static int check_same(mpi_model *s, const drv_loop *lp) {
    uint64_t h[2] = {s->opts_hash, 0};
    h[1] = hash_data(hash_data(0x0DA7AULL, &lp->train), &lp->test);
    const int P = s->c->P;
    uint64_t *all = malloc((size_t)(2 * P) * sizeof(uint64_t));
    if (!all) return 2;
    MPI_Allgather(h, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, MPI_COMM_WORLD);
    int bad = 0;
    for (int r = 1; r < P; r++) {
        const int opt = all[2 * r] != all[0], dat = all[2 * r + 1] != all[1];
        if ((opt || dat) && s->c->rank == 0 && !bad)
            fprintf(stderr, PROG ": rank %d was given different %s than rank 0 (checksums "
                    "%016llx vs %016llx); every rank must get the same options and data files\n",
                    r, opt ? "options" : "data", (unsigned long long)all[2 * r + !opt],
                    (unsigned long long)all[!opt]);
        bad |= opt || dat;
    }
    free(all);
    return bad ? 2 : 0;
}

/* Writes every rank's tensors (hidden layer, its output rows with global ids) to
 * <path>.rank<r>: the test's P-independence check reads them. */
static int dump_weights(const mpi_model *s, const char *path) {
    char p[4200];
    snprintf(p, sizeof p, "%s.rank%d", path, s->c->rank);
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    const slide_layer *h = slide_net_layer(s->net, 0), *o = slide_net_layer(s->net, 1);
    int64_t hd[4] = {h->n_rows, h->ld, o->n_rows, o->ld};
    fwrite(hd, sizeof hd, 1, f);
    fwrite(h->W, sizeof(float), (size_t)(h->n_rows * h->ld), f);
    fwrite(h->b, sizeof(float), (size_t)h->p.n_out, f);
    for (int64_t j = 0; j < o->n_rows; j++) {
        const int64_t g = s->sp.lo + j * s->sp.step;
        fwrite(&g, sizeof g, 1, f);
        fwrite(o->W + j * o->ld, sizeof(float), (size_t)o->ld, f);
        fwrite(o->b + j, sizeof(float), 1, f);
    }
    return fclose(f);
}

/* The breakdown of the run to <csv stem>.breakdown.csv: the slowest rank's phases (the rank
 * with the longest training time), then the communication phase. */
static int write_breakdown(mpi_model *s, const drv_loop *lp, slide_err *err) {
    const slide_train_stats *st = &s->st_all;
    struct {
        double v;
        int r;
    } in = {lp->train_s, s->c->rank}, outp; /* MPI_DOUBLE_INT's layout */
    MPI_Allreduce(&in, &outp, 1, MPI_DOUBLE_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    const int who = outp.r;
    double ph[14] = {st->t_hash, st->t_query, st->t_fwd, st->t_bwd, st->t_update, st->t_rehash,
                     s->comm_all, (double)st->active_sum, (double)st->label_sum,
                     (double)st->lsh_sum, st->t_sort, st->t_logits, st->t_softmax,
                     st->t_replicated - s->c->t_sum};
    MPI_Bcast(ph, 14, MPI_DOUBLE, who, MPI_COMM_WORLD);
    double train_s = outp.v;
    if (s->c->rank != 0) return SLIDE_OK;
    char path[4200];
    stem_path(path, sizeof path, s->o->csv, "breakdown");
    slide_csv *c = NULL;
    int rc = slide_csv_open(&c, path,
                            "run_id,utc,git_commit,host,cpu_model,system,dataset,simd,threads,"
                            "hugepages,hash_family,K,L,batch,epoch,samples_seen,train_s,hash_s,"
                            "query_s,forward_s,backward_s,update_s,rehash_s,unaccounted_s,"
                            "hash_share,query_share,forward_share,backward_share,update_share,"
                            "rehash_share,unaccounted_share,active_avg,active_labels_avg,"
                            "active_lsh_avg,active_fill_avg,train_order,sort_s,logits_s,"
                            "softmax_s,ranks,slowest_rank,comm_s,comm_share,replicated_s,"
                            "replicated_share",
                            err);
    if (rc) return rc;
    /* comm is inside forward (softmax) and backward (dx): take it out of them for the shares */
    double acc = 0;
    for (int i = 0; i < 6; i++) acc += ph[i];
    const double un = train_s - acc;
    char utc[32], row[2048];
    slide_utc_now(utc, sizeof utc);
    const double ns = st->samples > 0 ? (double)st->samples : 1.0;
    int w = snprintf(row, sizeof row, "%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%d,%d,%d,%.4f,%lld,%.4f",
                     lp->ctx.run_id, utc, lp->ctx.git_commit, lp->ctx.host, lp->ctx.cpu_model,
                     s->system, lp->dataset, slide_simd_name(s->simd), s->o->threads, s->hp_in,
                     s->fam, s->o->K, s->o->L, s->o->batch, (double)lp->seen / lp->train.n,
                     (long long)st->samples, train_s);
    for (int i = 0; i < 6; i++) w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", ph[i]);
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", un);
    for (int i = 0; i < 6; i++)
        w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", train_s > 0 ? ph[i] / train_s : 0);
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", train_s > 0 ? un / train_s : 0);
    const double act = ph[7] / ns, lab = ph[8] / ns, lsh = ph[9] / ns;
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.1f,%.1f,%.1f,%.1f,row-sweep,%.4f,%.4f,%.4f",
                  act, lab, lsh, act - lab - lsh > 0 ? act - lab - lsh : 0, ph[10], ph[11],
                  ph[12]);
    snprintf(row + w, sizeof row - (size_t)w, ",%d,%d,%.4f,%.4f,%.4f,%.4f", s->c->P, who, ph[6],
             train_s > 0 ? ph[6] / train_s : 0, ph[13], train_s > 0 ? ph[13] / train_s : 0);
    rc = slide_csv_row(c, row, err);
    slide_csv_close(c);
    return rc;
}

static void model_free(mpi_model *s) {
    slide_net_destroy(s->net);
    free(s->view.lab_ptr);
    free(s->view.lab);
    free(s->nlab);
    free(s->blob);
    free(s->ex_s);
    free(s->sm_s);
    free(s->all_s);
    free(s->ex_id);
    free(s->sm_id);
    free(s->all_id);
    free(s->gtop);
    free(s->cnt);
    free(s->gn);
    free(s->found);
    free(s->act);
}

int main(int argc, char **argv) {
    static drv_opts o;
    int strided = 0, check_every = 0;
    const char *dump = "";
    const slide_opt own[] = {
        {"label-split", SLIDE_OPT_CHOICE, &strided, 1, 0, "contiguous|strided",
         "how labels go to ranks: contiguous ranges, or label j to rank j mod P (spreads "
         "frequent labels when ids follow frequency); column label_split", 0, NULL},
        {"check-replicas", SLIDE_OPT_INT, &check_every, 0, 1e9, NULL,
         "every N batches compare the replicated layers' checksums across ranks; a difference "
         "is an error (0 = off)", 0, NULL},
        {"dump-weights", SLIDE_OPT_STR, &dump, 1, 0, NULL,
         "at the end every rank writes its hidden layer and output rows to PATH.rank<r> (tests)",
         0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    drv_opts_init(&o, DRV_SLIDE, own);
    o.csv = "results/slide-train-mpi.csv";
    o.input_update = 1; /* sorted: the replicas must apply identical updates */
    int ex = drv_opts_cli(&o, argc, argv, PROG,
                          "usage: mpirun -np P [--map-by core --bind-to core] slide-train-mpi [--config FILE] "
                          "[options]\n"
                          "Trains SLIDE with the output layer split by label over P MPI ranks "
                          "(input and hidden\n"
                          "layers replicated); rank 0 appends one CSV row per evaluation "
                          "(columns ranks,\n"
                          "label_split, t_comm_s, comm_bytes_per_batch) and one row per rank to "
                          "<csv stem>.ranks.csv.\n"
                          "Every slide-train option and config file works; --threads is per "
                          "rank. As root add\n"
                          "--allow-run-as-root; more ranks than cores need --oversubscribe.");
    if (ex >= 0) return ex;
    pin_and_reexec(&o, argv);
    MPI_Init(&argc, &argv);
    comm c;
    memset(&c, 0, sizeof c);
    MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c.P);
    MPI_Type_contiguous(2, MPI_DOUBLE, &c.pair);
    MPI_Type_commit(&c.pair);
    MPI_Op_create(norm_combine, 1, &c.norm_op);
    mpi_model s;
    memset(&s, 0, sizeof s);
    s.o = &o;
    s.c = &c;
    s.check_every = check_every;
    s.dump_weights = dump;
    drv_loop lp;
    memset(&lp, 0, sizeof lp);
    slide_err err;
    const char *real_csv = o.csv;
    s.opts_hash = hash_opts(&o);
    if (c.rank != 0) { /* rank 0 writes the rows; the others format them for nothing */
        o.csv = "/dev/null";
        o.progress = 0;
    }
    /* the run id is rank 0's (its time, host and pid) */
    char rid[96] = "";
    ex = 0;
    if (drv_opts_was_set(&o, "papi-events") && c.rank == 0)
        fprintf(stderr, "[opts] " PROG " ignores --papi-events (no hardware counters over MPI)\n");
    if (o.tlb_sim > 0 || *o.profile_batches) {
        if (c.rank == 0)
            fprintf(stderr, PROG ": --%s: not available over MPI (use slide-train)\n",
                    o.tlb_sim > 0 ? "tlb-sim" : "profile-batches");
        ex = 2;
    } else if (o.train_order == 2) {
        if (c.rank == 0)
            fprintf(stderr, PROG ": --train-order per-sample: a label shard trains by row sweep "
                    "only\n");
        ex = 2;
    }
    if (!ex) {
        s.simd = slide_simd_parse(!strcmp(o.simd, "auto") && !drv_opts_was_set(&o, "simd")
                                      ? NULL : o.simd, &err);
        if (s.simd < 0 || slide_numa_parse(o.numa, &s.numa, &err)) {
            if (c.rank == 0) fprintf(stderr, PROG ": %s\n", err.msg);
            ex = 2;
        }
    }
    if (!ex) ex = quiet_setup(&lp, &o, c.rank);
    if (!mpi_all_ok(ex == 0)) goto done_ex;
    if (c.rank == 0) snprintf(rid, sizeof rid, "%s", lp.ctx.run_id);
    MPI_Bcast(rid, sizeof rid, MPI_CHAR, 0, MPI_COMM_WORLD);
    snprintf(lp.ctx.run_id, sizeof lp.ctx.run_id, "%s", rid);
    if (!mpi_all_ok(check_same(&s, &lp) == 0)) goto done_ex;
    if (lp.train.l < c.P) {
        if (c.rank == 0)
            fprintf(stderr, PROG ": %d ranks for %lld labels: every rank needs at least one "
                    "label; use at most %lld ranks\n", c.P, (long long)lp.train.l,
                    (long long)lp.train.l);
        goto done_ex;
    }
    split_make(&s.sp, strided, lp.train.l, c.rank, c.P);
    if (shard_view(&lp.train, &s.sp, &s.view, &s.nlab)) {
        fprintf(stderr, PROG ": rank %d: out of memory\n", c.rank);
        ex = 2;
    }
    /* slide-train's default active-set rule, in neurons of the whole layer, becomes the
     * fractions of the whole layer every shard fills its share of */
    {
        const int held = c.rank ? stderr_off() : -1;
        drv_active_default(&o, lp.train.l, (double)lp.train.nlab / (double)lp.train.n);
        stderr_on(held);
        if (o.min_active_n > 0 && o.max_active_n > 0) {
            o.min_active = ((double)o.min_active_n - 0.5) / (double)lp.train.l;
            o.max_active = ((double)o.max_active_n - 0.5) / (double)lp.train.l;
            if (o.min_active > 1) o.min_active = 1;
            if (o.max_active > 1) o.max_active = 1;
            o.min_active_n = o.max_active_n = 0;
        }
    }
    if (!mpi_all_ok(ex == 0) || !mpi_all_ok(build_net(&s, &lp) == 0)) goto done_ex;
    if (c.rank == 0)
        fprintf(stderr, "[mpi] %d ranks x %d threads, labels split %s (rank 0: %lld of %lld), "
                "input update %s; per batch 2 allreduces, %.0f KB\n", c.P, o.threads,
                strided ? "strided" : "contiguous", (long long)s.sp.n, (long long)s.sp.L,
                o.input_update ? "sorted" : "hogwild",
                (16.0 * o.batch + 4.0 * o.batch * o.hidden) / 1024.0);
    if (*o.resume) {
        const int r = mpi_resume(&s, &lp);
        if (r == 1) {
            ex = 0;
            goto done;
        }
        if (r) goto done_ex;
    }
    const drv_model m = {&s, NULL, m_train_batch, m_evaluate, m_progress, m_fill_row, m_after_row,
                         mpi_checkpoint};
    ex = drv_loop_run(&lp, &m);
    if (!mpi_all_ok(ex == 0)) goto done_ex;
    if (write_breakdown(&s, &lp, &err) && c.rank == 0)
        fprintf(stderr, PROG ": warning: %s\n", err.msg);
    if (*s.dump_weights && dump_weights(&s, s.dump_weights)) {
        fprintf(stderr, PROG ": rank %d: cannot write %s.rank%d\n", c.rank, s.dump_weights,
                c.rank);
        ex = 2;
    }
    if (c.rank == 0) {
        lp.o = &o;
        o.csv = real_csv;
        const int d = drv_loop_done(&lp);
        if (!ex) ex = d;
    }
    goto done;
done_ex:
    ex = 2;
done:
    model_free(&s);
    drv_loop_free(&lp);
    drv_opts_free(&o);
    MPI_Op_free(&c.norm_op);
    MPI_Type_free(&c.pair);
    MPI_Finalize();
    return ex;
}
