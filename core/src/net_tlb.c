/* The TLB simulation's view of training (slide_net_set_tlb_trace): after each phase the rows it
 * touched, rebuilt from the phase's lists (active sets, gradient entries, touched rows), so that
 * with tracing off training does no extra work. */
#include "net_internal.h"

#include <omp.h>
#include <string.h>

int slide_net_tlb_regions(const slide_net *net, slide_tlbtrace *t, double *shares,
                          slide_err *err) {
    for (int l = 0; l < net->p.n_layers; l++) {
        const slide_block *b = &net->layer[l].blk;
        const double sh = slide_tlbsim_huge_share(b->ptr, b->bytes);
        if (shares) shares[l] = sh;
        int rc = slide_tlbtrace_region(t, b->ptr, b->bytes, sh < 0 ? 0.0 : sh, l, err);
        if (rc) return rc;
    }
    return SLIDE_OK;
}

int slide_net_set_tlb_trace(slide_net *net, slide_tlbtrace *t, slide_err *err) {
    if (t && t->threads < net->n_ws)
        return slide_err_set(err, SLIDE_EINVAL, 0, "TLB trace of %d threads for a network of %d",
                             t->threads, net->n_ws);
    net->tlb = t;
    return SLIDE_OK;
}

/* A forward or backward read of row r of row-major layer ly: its BF16 copy when it has one. */
static inline void tlb_row(slide_net *net, int t, int ph, const slide_layer *ly, uint32_t r) {
    const int64_t o = (int64_t)r * ly->ld;
    if (ly->Wh) slide_tlbtrace_touch(net->tlb, t, ph, ly->Wh + o, (size_t)ly->ld * 2);
    else slide_tlbtrace_touch(net->tlb, t, ph, ly->W + o, (size_t)ly->ld * 4);
}

/* Rows of an input-major layer's array base (W or gW) for point i's features, and the bias
 * vector (b or gb). */
static void tlb_features(slide_net *net, int t, int ph, const slide_data *ds, int64_t i,
                         const float *base, const float *bias) {
    const slide_layer *ly = &net->layer[0];
    const size_t rb = (size_t)ly->ld * 4;
    slide_tlbtrace_touch(net->tlb, t, ph, bias, (size_t)ly->p.n_out * 4);
    for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++)
        slide_tlbtrace_touch(net->tlb, t, ph, base + (int64_t)ds->feat[q] * ly->ld, rb);
}

/* The input-major layer's update of thread t's touched rows (before update_input_major empties
 * the lists): W, its moments and gradient; thread 0 also the bias vectors. */
static void tlb_update_input_major(slide_net *net, int t) {
    const slide_layer *ly = &net->layer[0];
    const slide_ws *w = &net->ws[t];
    const size_t rb = (size_t)ly->ld * 4;
    for (int64_t j = 0; j < w->n_rows[0]; j++) {
        const int64_t o = (int64_t)w->rows[0][j] * ly->ld;
        slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->W + o, rb);
        slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->mW + o, rb);
        slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->vW + o, rb);
        slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->gW + o, rb);
    }
    if (t == 0) {
        const size_t bb = (size_t)ly->p.n_out * 4;
        const float *v[4] = {ly->b, ly->gb, ly->mb, ly->vb};
        for (int k = 0; k < 4; k++) slide_tlbtrace_touch(net->tlb, 0, SLIDE_PH_UPDATE, v[k], bb);
    }
}

/* Per-sample path, after the samples' loop: each thread's samples in the order it ran them (its
 * gradient entries of the output layer, grouped by slot): forward (the hidden layer's rows of
 * the features, the output rows and biases), backward (the output rows, the hidden layer's
 * gradient rows); then the hidden layer's update of the rows the thread touched. */
void slide_net_tlb_persample(slide_net *net, const slide_data *ds, const int64_t *ids,
                             int64_t n) {
    const double t0 = slide_now();
    const int lo = net->p.n_layers - 1;
    const slide_layer *l0 = &net->layer[0], *ly = &net->layer[lo];
#pragma omp parallel num_threads(net->n_ws)
    {
        const int t = omp_get_thread_num();
        for (int64_t s = 0; s < n; s++) { /* a thread ran its slots in increasing order */
            if (net->slot_t[s] != t) continue;
            const slide_gentry *ge = net->ge[lo] + s * net->plan.act[lo];
            const int64_t m = net->nge[lo][s];
            tlb_features(net, t, SLIDE_PH_FORWARD, ds, ids[s], l0->W, l0->b);
            for (int64_t x = 0; x < m; x++) {
                tlb_row(net, t, SLIDE_PH_FORWARD, ly, ge[x].row);
                slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_FORWARD, ly->b + ge[x].row, 4);
            }
            for (int64_t x = 0; x < m; x++) tlb_row(net, t, SLIDE_PH_BACKWARD, ly, ge[x].row);
            tlb_features(net, t, SLIDE_PH_BACKWARD, ds, ids[s], l0->gW, l0->gb);
        }
        tlb_update_input_major(net, t);
    }
    net->tlb->seconds += slide_now() - t0;
}

/* update_rows of row-major layer l from net->gall (sorted): each updated row's weights, moments,
 * BF16 copy and bias entries; range pr to thread pr mod T (the schedule's order in a fixed
 * form). dseq as update_rows (NULL: the entries' own deltas). */
void slide_net_tlb_update_rows(slide_net *net, int l, const float *dseq) {
    const double t0 = slide_now();
    const slide_layer *ly = &net->layer[l];
    const int64_t nb = row_buckets(ly->n_rows), ld = ly->ld;
    const slide_gentry *all = net->gall;
    const int64_t *bstart = net->bstart;
    const int T = net->n_ws;
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        for (int pr = t; pr < SLIDE_ROW_RANGES; pr += T) {
            const int64_t e1 = bstart[nb * (pr + 1) / SLIDE_ROW_RANGES];
            for (int64_t i = bstart[nb * pr / SLIDE_ROW_RANGES]; i < e1;) {
                const uint32_t r = all[i].row;
                int live = 0;
                for (; i < e1 && all[i].row == r; i++) live |= (dseq ? dseq[i] : all[i].d) != 0.0f;
                if (!live) continue;
                const int64_t o = (int64_t)r * ld;
                if (ly->W) slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->W + o, (size_t)ld * 4);
                if (ly->Wh) slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->Wh + o, (size_t)ld * 2);
                if (ly->mW) {
                    slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->mW + o, (size_t)ld * 4);
                    slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->vW + o, (size_t)ld * 4);
                } else {
                    slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->mWh + o, (size_t)ld * 2);
                    slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->vWh + o, (size_t)ld * 2);
                }
                slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->b + r, 4);
                slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->mb + r, 4);
                slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_UPDATE, ly->vb + r, 4);
            }
        }
    }
    net->tlb->seconds += slide_now() - t0;
}

/* Row sweep, the per-sample stages over the hidden layer: forward (grad 0: its rows of the
 * features, each thread's samples as it ran them) or backward (grad 1: the gradient rows,
 * samples in chunks of 4 to threads round robin), then, for backward, the hidden layer's
 * update of each thread's touched rows. */
void slide_net_tlb_inputs(slide_net *net, const slide_data *ds, const int64_t *ids, int64_t n,
                          int grad) {
    const double t0 = slide_now();
    const slide_layer *l0 = &net->layer[0];
    const int T = net->n_ws;
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        for (int64_t s = 0; s < n; s++) {
            if ((grad ? (int)((s / 4) % T) : net->slot_t[s]) != t) continue;
            if (grad) tlb_features(net, t, SLIDE_PH_BACKWARD, ds, ids[s], l0->gW, l0->gb);
            else tlb_features(net, t, SLIDE_PH_FORWARD, ds, ids[s], l0->W, l0->b);
        }
        if (grad) tlb_update_input_major(net, t);
    }
    net->tlb->seconds += slide_now() - t0;
}

/* Row sweep, the ordered logit pass: every touched output row and its bias, chunks of 16 row
 * buckets to threads round robin. */
void slide_net_tlb_logits(slide_net *net) {
    const double t0 = slide_now();
    const slide_layer *ly = &net->layer[1];
    const int64_t nb = row_buckets(ly->n_rows);
    const slide_gentry *all = net->gall;
    const int T = net->n_ws;
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        for (int64_t b = 16 * t; b < nb; b += 16 * T)
            for (int64_t i = net->bstart[b], e = net->bstart[b + 16 < nb ? b + 16 : nb]; i < e;) {
                const uint32_t r = all[i].row;
                while (i < e && all[i].row == r) i++;
                tlb_row(net, t, SLIDE_PH_FORWARD, ly, r);
                slide_tlbtrace_touch(net->tlb, t, SLIDE_PH_FORWARD, ly->b + r, 4);
            }
    }
    net->tlb->seconds += slide_now() - t0;
}

/* The table schedule run_tables is about to run (net->step already advanced): a rebuild reads
 * every row of each sampled layer, a rehash its dirty rows (every row when it turns into a
 * rebuild), in contiguous shares per thread. */
void slide_net_tlb_tables(slide_net *net) {
    const slide_net_params *p = &net->p;
    const int rebuild = p->rebuild_every > 0 && net->step >= net->next_rebuild;
    const int rehash = !rebuild && p->rehash_every > 0 && net->step >= net->next_rehash;
    if (!rebuild && !rehash) return;
    const double t0 = slide_now();
    const int T = net->n_ws;
    for (int l = 0; l < p->n_layers; l++) {
        const slide_layer *ly = &net->layer[l];
        if (!ly->p.sampled) continue;
        const int64_t n = ly->p.n_out;
        int64_t nd = n;
        if (rehash) {
            nd = 0;
            for (int64_t i = 0; i < n; i++) nd += ly->dirty[i];
            if (nd == 0) continue;
            if (nd * 4 > n) nd = n;
        }
#pragma omp parallel num_threads(T)
        {
            const int t = omp_get_thread_num();
            const int64_t a = nd * t / T, e = nd * (t + 1) / T;
            if (nd == n) {
                for (int64_t r = a; r < e; r++) tlb_row(net, t, SLIDE_PH_REHASH, ly, (uint32_t)r);
            } else { /* the a-th to e-th dirty rows */
                int64_t c = 0;
                for (int64_t r = 0; r < n && c < e; r++)
                    if (ly->dirty[r] && c++ >= a) tlb_row(net, t, SLIDE_PH_REHASH, ly, (uint32_t)r);
            }
        }
    }
    net->tlb->seconds += slide_now() - t0;
}

