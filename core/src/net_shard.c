/* Label shards and the sorted input-layer update: what lets several processes train one network
 * whose output layer is split by label (bench/mpi/slide-train-mpi.c holds the design note). */
#include "net_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

struct net_shard_state {
    int on;               /* trains as a shard (sh valid) */
    slide_net_shard sh;
    double *ms;           /* shard: each slot's (max, sum) (2 x batch) */
    float *dxs;           /* shard: each slot's hidden gradient (batch x n_in of layer 1) */
    /* sorted input update */
    float *dh;            /* each slot's hidden delta (batch x n_out of layer 0) */
    int32_t *cnt;         /* per feature: its entries in the batch, then a cursor; 0 between */
    uint32_t *es, *rows;  /* entries' slots (sorted by feature, then slot); distinct features */
    float *ev;            /* entries' input values */
    int64_t *rstart;      /* first entry of each distinct feature (n_rows + 1) */
    int64_t cap;          /* entries the arrays hold */
};

void net_shard_free(net_shard_state *s) {
    if (!s) return;
    free(s->ms);
    free(s->dxs);
    free(s->dh);
    free(s->cnt);
    free(s->es);
    free(s->rows);
    free(s->ev);
    free(s->rstart);
    free(s);
}

static net_shard_state *state_of(slide_net *net) {
    if (!net->shs) net->shs = calloc(1, sizeof *net->shs);
    return net->shs;
}

int net_sorted_create(slide_net *net, slide_err *err) {
    net_shard_state *s = state_of(net);
    const slide_layer *ly = &net->layer[0];
    if (s) {
        s->dh = malloc((size_t)(net->plan.batch * ly->p.n_out) * sizeof(float));
        s->cnt = calloc((size_t)ly->p.n_in, sizeof(int32_t));
    }
    if (!s || !s->dh || !s->cnt)
        return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for the sorted input update");
    return SLIDE_OK;
}

int net_is_shard(const slide_net *net) { return net->shs && net->shs->on; }

float *net_sorted_slot(const slide_net *net, int64_t s) {
    return net->shs->dh + s * net->layer[0].p.n_out;
}

int slide_net_set_shard(slide_net *net, const slide_net_shard *sh, slide_err *err) {
    if (!sh) {
        if (net->shs) net->shs->on = 0;
        return SLIDE_OK;
    }
    if (!net->plan.sweep)
        return slide_err_set(err, SLIDE_EINVAL, 0, "a label shard trains by row sweep only "
                             "(one hidden layer, --train-order row-sweep)");
    if (!net->p.input_sorted && net->p.threads > 1)
        return slide_err_set(err, SLIDE_EINVAL, 0, "HOGWILD input updates with %d threads would "
                             "let the replicas drift apart; use --input-update sorted",
                             net->p.threads);
    if (!sh->norm || !sh->sum || !sh->n_labels)
        return slide_err_set(err, SLIDE_EINVAL, 0, "shard without its callbacks or label counts");
    net_shard_state *s = state_of(net);
    if (s && !s->ms) {
        s->ms = malloc((size_t)(2 * net->plan.batch) * sizeof(double));
        s->dxs = malloc((size_t)(net->plan.batch * net->layer[1].p.n_in) * sizeof(float));
    }
    if (!s || !s->ms || !s->dxs)
        return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for the shard's buffers");
    s->sh = *sh;
    s->on = 1;
    return SLIDE_OK;
}

/* ------------------------------------------------------------------ sorted input update */

static int grow(net_shard_state *s, int64_t e) {
    if (e <= s->cap) return 0;
    const int64_t c = e + e / 2 + 1024;
    uint32_t *es = realloc(s->es, (size_t)c * sizeof *es);
    if (es) s->es = es;
    uint32_t *rows = realloc(s->rows, (size_t)c * sizeof *rows);
    if (rows) s->rows = rows;
    float *ev = realloc(s->ev, (size_t)c * sizeof *ev);
    if (ev) s->ev = ev;
    int64_t *rs = realloc(s->rstart, (size_t)(c + 1) * sizeof *rs);
    if (rs) s->rstart = rs;
    if (!es || !rows || !ev || !rs) return -1;
    s->cap = c;
    return 0;
}

/* The batch's (feature, slot) entries by a counting sort over the features (slots in order
 * within a feature), then one task per distinct feature: its gradient sum_s val * dh[s] in slot
 * order and its Adam step. Neither the order of a sum nor a row's owner depends on the threads.
 * The entry arrays grow with the batch's nonzeros (the only buffers not planned at creation:
 * they depend on the data). */
int net_input_sorted_update(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                            float lr_t, slide_err *err) {
    net_shard_state *s = net->shs;
    slide_layer *ly = &net->layer[0];
    const slide_net_params *p = &net->p;
    const slide_kern *k = net->kern;
    const int64_t H = ly->p.n_out, ld = ly->ld;
    int64_t E = 0;
    for (int64_t q = 0; q < n; q++) E += ds->row_ptr[ids[q] + 1] - ds->row_ptr[ids[q]];
    if (grow(s, E))
        return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for the sorted input update "
                             "(%lld entries)", (long long)E);
    int32_t *cnt = s->cnt;
    int64_t nr = 0;
    for (int64_t q = 0; q < n; q++)
        for (int64_t a = ds->row_ptr[ids[q]]; a < ds->row_ptr[ids[q] + 1]; a++) {
            const int32_t f = ds->feat[a];
            if (cnt[f]++ == 0) s->rows[nr++] = (uint32_t)f;
        }
    int64_t acc = 0;
    for (int64_t r = 0; r < nr; r++) {
        const int32_t c = cnt[s->rows[r]];
        s->rstart[r] = acc;
        cnt[s->rows[r]] = (int32_t)acc;
        acc += c;
    }
    s->rstart[nr] = acc;
    for (int64_t q = 0; q < n; q++)
        for (int64_t a = ds->row_ptr[ids[q]]; a < ds->row_ptr[ids[q] + 1]; a++) {
            const int32_t e = cnt[ds->feat[a]]++;
            s->es[e] = (uint32_t)q;
            s->ev[e] = ds->val[a];
        }
    for (int64_t r = 0; r < nr; r++) cnt[s->rows[r]] = 0;
    const float *dh = s->dh;
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
        float *g = w->gbuf; /* max_ld >= the hidden width */
#pragma omp for schedule(dynamic, 64)
        for (int64_t r = 0; r < nr; r++) {
            memset(g, 0, (size_t)H * sizeof(float));
            for (int64_t e = s->rstart[r]; e < s->rstart[r + 1]; e++)
                k->axpy(g, s->ev[e], dh + (int64_t)s->es[e] * H, H);
            const int64_t o = (int64_t)s->rows[r] * ld;
            k->adam(ly->W + o, ly->mW + o, ly->vW + o, g, ld, lr_t, p->beta1, p->beta2, p->eps);
        }
    }
    for (int64_t q = 0; q < n; q++) k->axpy(ly->gb, 1.0f, dh + q * H, H); /* gb is zero here */
    k->adam(ly->b, ly->mb, ly->vb, ly->gb, H, lr_t, p->beta1, p->beta2, p->eps);
    return SLIDE_OK;
}

/* ------------------------------------------------------------------ shard training phases */

int net_shard_softmax(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                      double *loss_out, slide_err *err) {
    net_shard_state *s = net->shs;
    const float scale = 1.0f / (float)n;
    const float *zseq = net->zseq;
    float *dseq = net->dseq;
    const uint32_t *pos = net->pos;
    const int64_t A = net->plan.act[1];
    double *ms = s->ms;
#pragma omp parallel for num_threads(net->n_ws) schedule(dynamic, 4)
    for (int64_t q = 0; q < n; q++) {
        const int64_t na = net->nge[1][q];
        const uint32_t *ps = pos + q * A;
        float m = -INFINITY;
        for (int64_t j = 0; j < na; j++) m = zseq[ps[j]] > m ? zseq[ps[j]] : m;
        double e = 0;
        for (int64_t j = 0; j < na; j++) e += (double)expf(zseq[ps[j]] - m);
        ms[2 * q] = m;
        ms[2 * q + 1] = e;
    }
    int rc = s->sh.norm(s->sh.ctx, ms, n, err);
    if (rc) return rc;
    double loss = 0;
#pragma omp parallel for num_threads(net->n_ws) schedule(dynamic, 4) reduction(+ : loss)
    for (int64_t q = 0; q < n; q++) {
        const int64_t i = ids[q], na = net->nge[1][q], off = q * A;
        const uint32_t *ps = pos + off, *bid = net->bids + off;
        const float M = (float)ms[2 * q];
        const double S = ms[2 * q + 1];
        const int32_t *lab = ds->lab + ds->lab_ptr[i];
        const int64_t nl = ds->lab_ptr[i + 1] - ds->lab_ptr[i], ng = s->sh.n_labels[i];
        const float t = ng > 0 ? 1.0f / (float)ng : 0.0f;
        for (int64_t j = 0; j < na; j++) {
            const float pr = (float)((double)expf(zseq[ps[j]] - M) / S);
            float d = pr * scale;
            for (int64_t c = 0; c < nl; c++)
                if ((uint32_t)lab[c] == bid[j]) {
                    d -= t * scale;
                    loss -= (double)t * log((double)pr + 1e-30);
                    break;
                }
            dseq[ps[j]] = d;
        }
    }
    *loss_out = loss;
    return SLIDE_OK;
}

float *net_shard_dx(slide_net *net, int64_t n, slide_err *err) {
    net_shard_state *s = net->shs;
    const int64_t ld = net->layer[1].ld, n_in = net->layer[1].p.n_in;
    const float *dxp = net->dxp;
#pragma omp parallel for num_threads(net->n_ws) schedule(static)
    for (int64_t q = 0; q < n; q++) {
        float *dx = s->dxs + q * n_in;
        memcpy(dx, dxp + q * ld, (size_t)n_in * sizeof(float));
        for (int pr = 1; pr < SLIDE_ROW_RANGES; pr++) {
            const float *x = dxp + ((int64_t)pr * n + q) * ld;
            for (int64_t c = 0; c < n_in; c++) dx[c] += x[c];
        }
    }
    if (s->sh.sum(s->sh.ctx, s->dxs, n * n_in, err)) return NULL;
    return s->dxs;
}

/* ------------------------------------------------------------------ shard evaluation */

/* Inserts (sc, id) into a best-first top-5 of *m entries (ties to the lower id). */
static void top5_add(float *best, uint32_t *bid, int *m, float sc, uint32_t id) {
    int mm = *m;
    if (mm == 5 && !(sc > best[4] || (sc == best[4] && id < bid[4]))) return;
    int at = mm < 5 ? mm : 4;
    while (at > 0 && (sc > best[at - 1] || (sc == best[at - 1] && id < bid[at - 1]))) {
        best[at] = best[at - 1];
        bid[at] = bid[at - 1];
        at--;
    }
    best[at] = sc;
    bid[at] = id;
    if (mm < 5) *m = mm + 1;
}

/* The global id of the output layer's row j (monotone in j, so ties keep their order). */
static uint32_t global_id(const slide_layer *out, int64_t j) {
    const int64_t step = out->p.row_step > 0 ? out->p.row_step : 1;
    return (uint32_t)(out->p.row0 + j * step);
}

/* Whether global id g is row *j of this shard. */
static int local_id(const slide_layer *out, uint32_t g, int64_t *j) {
    const int64_t step = out->p.row_step > 0 ? out->p.row_step : 1, d = (int64_t)g - out->p.row0;
    if (d < 0 || d % step) return 0;
    *j = d / step;
    return *j < out->p.n_out;
}

/* Hidden outputs of the labelled points of chunk c into w->ehid; their indices q into qs. */
static int shard_chunk(const slide_net *net, slide_ws *w, const slide_data *ds, const int64_t *ids,
                       int64_t n, int64_t c, int64_t *qs) {
    const int nl = net->p.n_layers;
    const int64_t H = net->layer[nl - 1].p.n_in;
    int cnt = 0;
    for (int64_t q = c * EVAL_CHUNK; q < n && q < (c + 1) * EVAL_CHUNK; q++) {
        const int64_t i = ids ? ids[q] : q;
        if (ds->lab_ptr[i + 1] == ds->lab_ptr[i]) continue;
        slide_net_forward(net, w, ds, i, (fwd_mode){.full = 1, .upto = nl - 1});
        memcpy(w->ehid + (int64_t)cnt * H, w->dense[nl - 2], (size_t)H * sizeof(float));
        qs[cnt++] = q;
    }
    return cnt;
}

int slide_net_shard_top5(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                         float *ex_s, uint32_t *ex_id, int *cnt, float *sm_s, uint32_t *sm_id,
                         int64_t *act, slide_err *err) {
    const int nl = net->p.n_layers;
    const slide_layer *out = &net->layer[nl - 1];
    if (ds->d != net->p.layer[0].n_in)
        return slide_err_set(err, SLIDE_EINVAL, 0, "evaluation set has %lld features, the "
                             "network %lld", (long long)ds->d, (long long)net->p.layer[0].n_in);
    const int64_t H = out->p.n_in, n_out = out->p.n_out;
    const int64_t n_chunks = (n + EVAL_CHUNK - 1) / EVAL_CHUNK;
    for (int64_t q = 0; q < 5 * n; q++) {
        ex_s[q] = -INFINITY;
        ex_id[q] = UINT32_MAX;
        if (sm_s) {
            sm_s[q] = -INFINITY;
            sm_id[q] = UINT32_MAX;
        }
    }
    for (int64_t q = 0; q < n; q++) {
        cnt[q] = 0;
        if (act) act[q] = 0;
    }
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            int64_t qs[EVAL_CHUNK];
            int m[EVAL_CHUNK];
            const int np = shard_chunk(net, w, ds, ids, n, c, qs);
            for (int a = 0; a < np; a++) m[a] = 0;
            for (int64_t r0 = 0; r0 < n_out; r0 += EVAL_ROWS) {
                const int64_t nr = n_out - r0 < EVAL_ROWS ? n_out - r0 : EVAL_ROWS;
                for (int a = 0; a < np; a++) {
                    layer_dot(net->kern, out, w->esc, net->iota + r0, nr, w->ehid + (int64_t)a * H);
                    for (int64_t j = 0; j < nr; j++)
                        top5_add(ex_s + qs[a] * 5, ex_id + qs[a] * 5, &m[a], w->esc[j],
                                 (uint32_t)(r0 + j));
                }
            }
            for (int a = 0; a < np; a++) {
                const int64_t q = qs[a], i = ids ? ids[q] : q;
                cnt[q] = m[a];
                for (int e = 0; e < m[a]; e++) ex_id[q * 5 + e] = global_id(out, ex_id[q * 5 + e]);
                if (!out->p.sampled) continue;
                const float *x = w->ehid + (int64_t)a * H;
                slide_rng_seed(&w->rng, net->p.seed, 0xE7A1000000000000ULL ^ (uint64_t)i);
                slide_net_select_active(net, w, nl - 1, x, NULL, 0, 0);
                const int64_t na = w->n_act[nl - 1];
                if (act) act[q] = na;
                if (!sm_s) continue;
                int ms = 0;
                for (int64_t j0 = 0; j0 < na; j0 += EVAL_ROWS) {
                    const int64_t nj = na - j0 < EVAL_ROWS ? na - j0 : EVAL_ROWS;
                    layer_dot(net->kern, out, w->esc, w->ids[nl - 1] + j0, nj, x);
                    for (int64_t j = 0; j < nj; j++)
                        top5_add(sm_s + q * 5, sm_id + q * 5, &ms, w->esc[j], w->ids[nl - 1][j0 + j]);
                }
                for (int e = 0; e < ms; e++) sm_id[q * 5 + e] = global_id(out, sm_id[q * 5 + e]);
            }
        }
    }
    return SLIDE_OK;
}

int slide_net_shard_found(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                          const uint32_t *top, const int *gn, int *found, slide_err *err) {
    const int nl = net->p.n_layers;
    const slide_layer *out = &net->layer[nl - 1];
    if (ds->d != net->p.layer[0].n_in)
        return slide_err_set(err, SLIDE_EINVAL, 0, "evaluation set has %lld features, the "
                             "network %lld", (long long)ds->d, (long long)net->p.layer[0].n_in);
    for (int64_t q = 0; q < n; q++) found[q] = 0;
    if (!out->p.sampled) return SLIDE_OK;
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 4)
        for (int64_t q = 0; q < n; q++) {
            const int64_t i = ids ? ids[q] : q;
            int64_t mine[5];
            int nm = 0;
            for (int e = 0; e < gn[q]; e++) {
                int64_t j;
                if (local_id(out, top[q * 5 + e], &j)) mine[nm++] = j;
            }
            if (!nm) continue;
            slide_net_forward(net, w, ds, i, (fwd_mode){.full = 1, .upto = nl - 1});
            slide_rng_seed(&w->rng, net->p.seed, 0xE7A1000000000000ULL ^ (uint64_t)i);
            slide_net_select_active(net, w, nl - 1, w->dense[nl - 2], NULL, 0, 0);
            int f = 0;
            for (int e = 0; e < nm; e++)
                for (int64_t j = 0; j < w->n_act[nl - 1]; j++)
                    if (w->ids[nl - 1][j] == (uint32_t)mine[e]) {
                        f++;
                        break;
                    }
            found[q] = f;
        }
    }
    return SLIDE_OK;
}
