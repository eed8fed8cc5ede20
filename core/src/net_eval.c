/* Evaluation: the exact top-5 over all output neurons (blocked so a block of weight rows serves
 * a chunk of points), P@k and nDCG@k, sampled inference, and the recall probe of a sampled
 * output layer (why recall_at_5 is what it is). */
#include "net_internal.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Running top-k (k <= 5), best first, ties to the lower id: merges scores over ids (ids NULL =
 * 0..n-1) into best/bid holding *m entries. */
static void topk_update(float *best, uint32_t *bid, int *m, int k, const float *scores,
                        const uint32_t *ids, int64_t n) {
    int mm = *m;
    for (int64_t j = 0; j < n; j++) {
        float s = scores[j];
        uint32_t id = ids ? ids[j] : (uint32_t)j;
        if (mm == k && !(s > best[k - 1] || (s == best[k - 1] && id < bid[k - 1]))) continue;
        int pos = mm < k ? mm : k - 1;
        while (pos > 0 && (s > best[pos - 1] || (s == best[pos - 1] && id < bid[pos - 1]))) {
            best[pos] = best[pos - 1];
            bid[pos] = bid[pos - 1];
            pos--;
        }
        best[pos] = s;
        bid[pos] = id;
        if (mm < k) mm++;
    }
    *m = mm;
}

void slide_metrics_point(const uint32_t *pred, int n_pred, const int32_t *labels, int n_labels,
                         double p_at[6], double ndcg_at[6]) {
    double hits = 0, dcg = 0, idcg = 0;
    for (int k = 1; k <= 5; k++) {
        if (k <= n_pred) {
            int hit = 0;
            for (int q = 0; q < n_labels; q++)
                if ((uint32_t)labels[q] == pred[k - 1]) {
                    hit = 1;
                    break;
                }
            hits += hit;
            if (hit) dcg += 1.0 / log2((double)k + 1.0);
        }
        if (k <= n_labels) idcg += 1.0 / log2((double)k + 1.0);
        p_at[k] = hits / k;
        ndcg_at[k] = idcg > 0 ? dcg / idcg : 0;
    }
    p_at[0] = ndcg_at[0] = 0;
}

/* One thread's sums over an evaluation. */
typedef struct {
    double p[6], nd[6], rec, act;
    int64_t n_eval, n_skip;
    int64_t rc_n[2][SLIDE_RECALL_BINS], rc_f[2][SLIDE_RECALL_BINS], rc_t[2][SLIDE_RECALL_BINS];
} eval_acc;

/* The labelled points of chunk c (points without labels are counted as skipped): hidden layers
 * in full, outputs into hid; their ids into pts. Returns how many. */
static int eval_chunk_hidden(const slide_net *net, slide_ws *w, const slide_data *ds,
                             const int64_t *ids, int64_t n, int64_t c, float *hid, int64_t *pts,
                             eval_acc *a) {
    const int nl = net->p.n_layers;
    const int64_t H = net->layer[nl - 1].p.n_in;
    int cnt = 0;
    for (int64_t s = c * EVAL_CHUNK; s < n && s < (c + 1) * EVAL_CHUNK; s++) {
        const int64_t i = ids ? ids[s] : s;
        if (ds->lab_ptr[i + 1] == ds->lab_ptr[i]) {
            a->n_skip++;
            continue;
        }
        /* Hidden layers in full; the output layer is scored blocked (eval_exact_top5). */
        slide_net_forward(net, w, ds, i, (fwd_mode){.full = 1, .upto = nl - 1});
        memcpy(hid + (int64_t)cnt * H, w->dense[nl - 2], (size_t)H * sizeof(float));
        pts[cnt++] = i;
    }
    return cnt;
}

/* The exact top-5 output neurons of each of cnt points, output rows in blocks of EVAL_ROWS
 * (a block stays in cache while every point of the chunk reads it). */
static void eval_exact_top5(const slide_net *net, const float *hid, int cnt, float *sc,
                            uint32_t exact[][5], int *nex) {
    const slide_layer *out = &net->layer[net->p.n_layers - 1];
    const int64_t H = out->p.n_in, n_out = out->p.n_out;
    float best[EVAL_CHUNK][5];
    for (int q = 0; q < cnt; q++) nex[q] = 0;
    for (int64_t r0 = 0; r0 < n_out; r0 += EVAL_ROWS) {
        const int64_t nr = n_out - r0 < EVAL_ROWS ? n_out - r0 : EVAL_ROWS;
        for (int q = 0; q < cnt; q++) {
            layer_dot(net->kern, out, sc, net->iota + r0, nr, hid + (int64_t)q * H);
            topk_update(best[q], exact[q], &nex[q], 5, sc, net->iota + r0, nr);
        }
    }
}

/* Bin of a cosine: clamped to [-1, 1]; a NaN cosine (non-finite weights, e.g. from a
 * checkpoint) goes to the lowest bin, not through an int cast. */
static int recall_bin(double cs) {
    const double u = (cs + 1.0) * 0.5 * SLIDE_RECALL_BINS;
    return !(u >= 1.0) ? 0 : u >= SLIDE_RECALL_BINS - 1 ? SLIDE_RECALL_BINS - 1 : (int)u;
}

/* The recall probe of one point with query x, after select_active left its sampled set in
 * w->ids and its keys in w->keys: set 0, the exact top-5 (exact[0..nex)), set 1, as many
 * neurons drawn uniformly with w->rng; each binned by the cosine of its hashed vector with the
 * query's, counting whether the sampler found it and how many tables' main keys matched.
 * Returns how many of the exact top-5 were found. */
static int recall_probe(const slide_net *net, slide_ws *w, const float *x, const uint32_t *exact,
                        int nex, eval_acc *a) {
    const int nl = net->p.n_layers;
    const slide_layer *out = &net->layer[nl - 1];
    const int L = out->p.hash.L, per = 1 + out->p.probes;
    const int64_t dv = out->p.mips ? out->p.n_in + 2 : out->p.n_in, na = w->n_act[nl - 1];
    float *qv = w->eqv, *nv = w->env;
    uint32_t *nk = w->enk;
    slide_layer_query_vector(out, x, qv);
    double qq = 0;
    for (int64_t j = 0; j < dv; j++) qq += (double)qv[j] * qv[j];
    uint32_t rnd[5];
    for (int e = 0; e < nex; e++) rnd[e] = slide_rng_below(&w->rng, (uint32_t)out->p.n_out);
    int in = 0;
    for (int set = 0; set < 2; set++)
        for (int e = 0; e < nex; e++) {
            const uint32_t id = set ? rnd[e] : exact[e];
            int found = 0;
            for (int64_t j = 0; j < na && !found; j++) found = w->ids[nl - 1][j] == id;
            if (!set) in += found;
            slide_layer_row_vector(out, id, nv);
            slide_hash_keys_dense(out->hash, nv, 0, nk);
            int tm = 0;
            for (int t = 0; t < L; t++) tm += nk[t] == w->keys[(int64_t)t * per];
            double nn = 0, qn = 0;
            for (int64_t j = 0; j < dv; j++) {
                nn += (double)nv[j] * nv[j];
                qn += (double)nv[j] * qv[j];
            }
            const int bin = recall_bin(nn > 0 && qq > 0 ? qn / sqrt(nn * qq) : 0);
            a->rc_n[set][bin]++;
            a->rc_f[set][bin] += found;
            a->rc_t[set][bin] += tm;
        }
    return in;
}

/* Top-5 among the sampled active set only (sampled inference); returns how many. */
static int sampled_top5(const slide_net *net, const slide_ws *w, const float *x, float *sc,
                        uint32_t *pred) {
    const int nl = net->p.n_layers;
    const slide_layer *out = &net->layer[nl - 1];
    const int64_t na = w->n_act[nl - 1];
    float sb[5];
    int npred = 0;
    for (int64_t j0 = 0; j0 < na; j0 += EVAL_ROWS) {
        const int64_t nj = na - j0 < EVAL_ROWS ? na - j0 : EVAL_ROWS;
        layer_dot(net->kern, out, sc, w->ids[nl - 1] + j0, nj, x);
        topk_update(sb, pred, &npred, 5, sc, w->ids[nl - 1] + j0, nj);
    }
    return npred;
}

/* Point i's metrics (exact or sampled inference) and, for a sampled output layer, its active
 * set's size and recall probe. */
static void eval_point(const slide_net *net, slide_ws *w, const slide_data *ds, int64_t i,
                       const float *x, const uint32_t *exact, int nex, int sampled_inference,
                       eval_acc *a) {
    const int nl = net->p.n_layers;
    uint32_t pred[5];
    int npred = nex;
    memcpy(pred, exact, sizeof pred);
    if (net->layer[nl - 1].p.sampled) {
        /* The active set sampling would give for this input (no labels added). */
        slide_rng_seed(&w->rng, net->p.seed, 0xE7A1000000000000ULL ^ (uint64_t)i);
        slide_net_select_active(net, w, nl - 1, x, NULL, 0, 0);
        a->act += (double)w->n_act[nl - 1];
        const int in = recall_probe(net, w, x, exact, nex, a);
        a->rec += nex ? (double)in / nex : 0;
        if (sampled_inference) npred = sampled_top5(net, w, x, w->esc, pred);
    }
    double pa[6], na6[6];
    slide_metrics_point(pred, npred, ds->lab + ds->lab_ptr[i],
                        (int)(ds->lab_ptr[i + 1] - ds->lab_ptr[i]), pa, na6);
    for (int k = 1; k <= 5; k++) {
        a->p[k] += pa[k];
        a->nd[k] += na6[k];
    }
    a->n_eval++;
}

static void eval_acc_add(eval_acc *to, const eval_acc *a) {
    for (int k = 1; k <= 5; k++) {
        to->p[k] += a->p[k];
        to->nd[k] += a->nd[k];
    }
    to->rec += a->rec;
    to->act += a->act;
    to->n_eval += a->n_eval;
    to->n_skip += a->n_skip;
    for (int set = 0; set < 2; set++)
        for (int b = 0; b < SLIDE_RECALL_BINS; b++) {
            to->rc_n[set][b] += a->rc_n[set][b];
            to->rc_f[set][b] += a->rc_f[set][b];
            to->rc_t[set][b] += a->rc_t[set][b];
        }
}

static void eval_result(const slide_net *net, const eval_acc *a, slide_eval_result *res) {
    const slide_layer *out = &net->layer[net->p.n_layers - 1];
    const int64_t ne = a->n_eval;
    res->n_eval = ne;
    res->n_skipped = a->n_skip;
    for (int k = 1; k <= 5; k++) {
        res->p_at[k] = ne ? a->p[k] / ne : 0;
        res->ndcg_at[k] = ne ? a->nd[k] / ne : 0;
    }
    res->recall_at_5 = out->p.sampled && ne ? a->rec / ne : NAN;
    res->active_avg = out->p.sampled && ne ? a->act / ne : (double)out->p.n_out;
    memcpy(res->rc_n, a->rc_n, sizeof res->rc_n);
    memcpy(res->rc_found, a->rc_f, sizeof res->rc_found);
    memcpy(res->rc_tables, a->rc_t, sizeof res->rc_tables);
}

int slide_net_evaluate(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                       int sampled_inference, slide_eval_result *res, slide_err *err) {
    memset(res, 0, sizeof *res);
    const int nl = net->p.n_layers;
    const slide_layer *out = &net->layer[nl - 1];
    if (ds->d != net->p.layer[0].n_in || ds->l != out->p.n_out)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "evaluation set shape (D=%lld, L=%lld) does not match the network",
                             (long long)ds->d, (long long)ds->l);
    if (!ids) n = ds->n;
    const int64_t H = out->p.n_in, n_chunks = (n + EVAL_CHUNK - 1) / EVAL_CHUNK;
    eval_acc tot;
    memset(&tot, 0, sizeof tot);
#pragma omp parallel num_threads(net->n_ws)
    {
        slide_ws *w = &net->ws[omp_get_thread_num()];
        eval_acc a;
        memset(&a, 0, sizeof a);
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            int64_t pts[EVAL_CHUNK];
            uint32_t exact[EVAL_CHUNK][5];
            int nex[EVAL_CHUNK];
            const int cnt = eval_chunk_hidden(net, w, ds, ids, n, c, w->ehid, pts, &a);
            eval_exact_top5(net, w->ehid, cnt, w->esc, exact, nex);
            for (int q = 0; q < cnt; q++)
                eval_point(net, w, ds, pts[q], w->ehid + (int64_t)q * H, exact[q], nex[q],
                           sampled_inference, &a);
        }
#pragma omp critical
        eval_acc_add(&tot, &a);
    }
    eval_result(net, &tot, res);
    return SLIDE_OK;
}
