/* Dense full-softmax baseline on the CPU: the output layer's three products (logits, dW1, dH)
 * with a BLAS sgemm (OpenBLAS or BLIS), the sparse input layer and the softmax as OpenMP loops, Adam. */
#include "dense.h"

#include <math.h>
#include <omp.h>
#include <string.h>

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static double slab_floats(const slide_dense_params *p) {
    size_t H = (size_t)p->hidden;
    return 4.0 * (double)(round16((size_t)p->d * H) + round16(H) + round16((size_t)p->l * H) +
                          round16((size_t)p->l));
}

static double work_floats(const slide_dense_params *p) {
    size_t B = (size_t)p->batch, H = (size_t)p->hidden;
    return (double)(round16(B * H) * 2 + round16(B * (size_t)p->l));
}

double slide_dense_estimate_bytes(const slide_dense_params *p) {
    /* slab + workspace + feature slots + batch feature lists (about 100 nonzeros per point) */
    return 4.0 * (slab_floats(p) + work_floats(p)) + 4.0 * (double)p->d +
           (double)p->threads * (double)p->batch * (4.0 * p->hidden + 20.0) +
           (double)p->batch * 100.0 * 16.0;
}


void slide_dense_free(slide_dense *m) {
    if (!m) return;
    slide_mem_free(&m->blk);
    free(m->hid); /* hid, dhid and logits are one allocation */
    free(m->slot);
    free(m->dhid_part);
    free(m->row_max);
    free(m->row_sum);
    free(m->row_lab);
    free(m->uniq);
    free(m->occ_ptr);
    free(m->occ_row);
    free(m->occ_pos);
    free(m->occ_val);
    memset(m, 0, sizeof *m);
}

int slide_dense_init(slide_dense *m, const slide_dense_params *p, slide_err *err) {
    memset(m, 0, sizeof *m);
    const char *msg = slide_dense_params_check(p);
    if (msg) return slide_err_set(err, SLIDE_EINVAL, 0, "%s", msg);
    m->p = *p;
    m->blas = slide_blas_get(p->blas);
    if (!m->blas)
        return slide_err_set(err, SLIDE_EINVAL, 0, "BLAS backend '%s' is not built in (this "
                             "build has %s)", p->blas, slide_blas_names());
    omp_set_num_threads(p->threads);
    m->blas->set_threads(1); /* the label blocks are split over OpenMP threads instead */
    const size_t H = (size_t)p->hidden, D = (size_t)p->d, L = (size_t)p->l, B = (size_t)p->batch;
    const size_t n0 = round16(D * H), nb0 = round16(H), n1 = round16(L * H), nb1 = round16(L);
    const size_t per = n0 + nb0 + n1 + nb1; /* one copy of all parameters */
    int fell = 0;
    int rc = slide_mem_alloc(&m->blk, 4 * per * sizeof(float), p->hugepages, &fell, err);
    if (rc) return rc;
    m->hp_in_effect = m->blk.mode;
    float *base = m->blk.ptr;
    float **views[4][4] = {{&m->W0, &m->b0, &m->W1, &m->b1},
                           {&m->gW0, &m->gb0, &m->gW1, &m->gb1},
                           {&m->mW0, &m->mb0, &m->mW1, &m->mb1},
                           {&m->vW0, &m->vb0, &m->vW1, &m->vb1}};
    for (int c = 0; c < 4; c++) {
        float *q = base + (size_t)c * per;
        *views[c][0] = q;
        *views[c][1] = q + n0;
        *views[c][2] = q + n0 + nb0;
        *views[c][3] = q + n0 + nb0 + n1;
    }
    size_t nh = round16(B * H), nl = round16(B * L);
    m->hid = aligned_alloc(64, (2 * nh + nl) * sizeof(float));
    m->slot = malloc(D * sizeof(int32_t));
    const size_t T = (size_t)p->threads;
    m->dhid_part = aligned_alloc(64, T * nh * sizeof(float));
    m->row_max = malloc(T * B * sizeof(float));
    m->row_sum = malloc(T * B * sizeof(double));
    m->row_lab = malloc(T * B * sizeof(double));
    if (!m->hid || !m->slot || !m->dhid_part || !m->row_max || !m->row_sum || !m->row_lab) {
        slide_dense_free(m);
        return slide_err_set(err, SLIDE_ENOMEM, 0,
                             "out of memory for the batch workspace (%.0f MB)",
                             (double)(2 * nh + nl) * 4.0 / 1048576.0);
    }
    m->dhid = m->hid + nh;
    m->logits = m->hid + 2 * nh;
    for (size_t f = 0; f < D; f++) m->slot[f] = -1;
    /* Seeded per row, first touch by the worker threads (biases stay 0). */
    slide_dense_init_matrix(m->W0, (int64_t)D, (int64_t)H, p->init_std, p->seed, 0);
    slide_dense_init_matrix(m->W1, (int64_t)L, (int64_t)H, p->init_std, p->seed, 1);
    return SLIDE_OK;
}

/* ------------------------------------------------------------------ input layer */

/* hid[s] = relu(b0 + sum_f x_f W0[f]) for the points ids[0..n): sparse x dense, by rows.
 * Orphaned worksharing: call it from inside a parallel region (all threads). */
static void hidden_forward(slide_dense *m, const slide_data *ds, const int64_t *ids, int64_t n) {
    const int64_t H = m->p.hidden;
    const float *W0 = m->W0, *b0 = m->b0;
    float *hid = m->hid;
#pragma omp for schedule(static)
    for (int64_t s = 0; s < n; s++) {
        int64_t i = ids ? ids[s] : s;
        float *h = hid + s * H;
        memcpy(h, b0, (size_t)H * sizeof(float));
        for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++) {
            const float v = ds->val[q];
            const float *w = W0 + (int64_t)ds->feat[q] * H;
            for (int64_t j = 0; j < H; j++) h[j] += v * w[j];
        }
        for (int64_t j = 0; j < H; j++) h[j] = h[j] > 0.0f ? h[j] : 0.0f;
    }
}

/* Groups the batch's nonzeros by feature (uniq, occ_*), so that each W0 gradient row is
 * summed by one thread: race-free without atomics. O(nonzeros), serial (small). */
static int group_features(slide_dense *m, const slide_data *ds, const int64_t *ids, int64_t n,
                          slide_err *err) {
    int64_t nnz = 0;
    for (int64_t s = 0; s < n; s++) nnz += ds->row_ptr[ids[s] + 1] - ds->row_ptr[ids[s]];
    if (nnz > m->occ_cap) {
        int64_t cap = nnz + nnz / 2 + 64;
        free(m->occ_row);
        free(m->occ_val);
        m->occ_row = malloc((size_t)cap * sizeof(int32_t));
        m->occ_val = malloc((size_t)cap * sizeof(float));
        m->occ_cap = (m->occ_row && m->occ_val) ? cap : 0;
        if (!m->occ_cap) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for batch features");
    }
    int64_t ucap = nnz < m->p.d ? nnz : m->p.d;
    if (ucap + 1 > m->uniq_cap) {
        int64_t cap = ucap + ucap / 2 + 64;
        free(m->uniq);
        free(m->occ_ptr);
        free(m->occ_pos);
        m->uniq = malloc((size_t)cap * sizeof(int32_t));
        m->occ_ptr = malloc((size_t)(cap + 1) * sizeof(int64_t));
        m->occ_pos = malloc((size_t)cap * sizeof(int32_t));
        m->uniq_cap = (m->uniq && m->occ_ptr && m->occ_pos) ? cap : 0;
        if (!m->uniq_cap) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for batch features");
    }
    int32_t *slot = m->slot, *cnt = m->occ_pos;
    int64_t nu = 0;
    for (int64_t s = 0; s < n; s++) {
        int64_t i = ids[s];
        for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++) {
            int32_t f = ds->feat[q];
            if (slot[f] < 0) {
                slot[f] = (int32_t)nu;
                m->uniq[nu] = f;
                cnt[nu++] = 0;
            }
            cnt[slot[f]]++;
        }
    }
    m->occ_ptr[0] = 0;
    for (int64_t u = 0; u < nu; u++) {
        m->occ_ptr[u + 1] = m->occ_ptr[u] + cnt[u];
        cnt[u] = 0;
    }
    for (int64_t s = 0; s < n; s++) {
        int64_t i = ids[s];
        for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++) {
            int32_t u = slot[ds->feat[q]];
            int64_t at = m->occ_ptr[u] + cnt[u]++;
            m->occ_row[at] = (int32_t)s;
            m->occ_val[at] = ds->val[q];
        }
    }
    for (int64_t u = 0; u < nu; u++) slot[m->uniq[u]] = -1;
    m->n_uniq = nu;
    return SLIDE_OK;
}

/* ------------------------------------------------------------------ output layer */

/* The output layer runs as one parallel region in which thread t owns the label columns
 * [j0, j1) (slide_dense_split_cols): it computes its block of the logits with a single-threaded sgemm,
 * the softmax statistics of its block, and later its rows of dW1 and its share of dH. So there is
 * one thread pool (OpenMP's; OpenBLAS runs 1 thread per call): two pools busy-waiting for work
 * on 2 cores steal each other's time, and the block split lets the softmax run on each block
 * while it is fresh from the sgemm. */
void slide_dense_split_cols(int64_t L, int t, int nt, int64_t *j0, int64_t *j1) {
    *j0 = t == 0 ? 0 : ((L * t / nt) & ~(int64_t)15);
    *j1 = t == nt - 1 ? L : ((L * (t + 1) / nt) & ~(int64_t)15);
    if (*j1 < *j0) *j1 = *j0;
}

/* logits[0..n)[j0..j1) = hid x W1[j0..j1)^T */
static void gemm_logits_cols(const slide_dense *m, int64_t n, int64_t j0, int64_t j1) {
    if (j1 <= j0 || n < 1) return;
    const int H = m->p.hidden;
    const int64_t L = m->p.l;
    m->blas->sgemm(0, 1, (int)n, (int)(j1 - j0), H, 1.0f, m->hid, H, m->W1 + j0 * H, H, 0.0f,
                   m->logits + j0, (int)L);
}

/* exp(x), Cephes-style polynomial (rel. error ~2e-7), written without calls so that -O3
 * vectorises the loops using it (libm's expf is not vectorised without -ffast-math).
 * Inputs below -87.3 (and NaN) give ~1e-38 instead of 0. */
static inline float fast_expf(float x) {
    x = x > -87.3f ? x : -87.3f;
    x = x < 88.3f ? x : 88.3f;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    return y * s;
}

#define LANES 16
#define BLOCK 4096

/* z[0..k) += b[0..k); returns max z (16 partial maxima so that -O3 vectorises it). */
static float add_bias_max(float *restrict z, const float *restrict b, int64_t k) {
    float mxl[LANES];
    for (int q = 0; q < LANES; q++) mxl[q] = -INFINITY;
    int64_t j = 0;
    for (; j + LANES <= k; j += LANES)
        for (int q = 0; q < LANES; q++) {
            float v = z[j + q] + b[j + q];
            z[j + q] = v;
            mxl[q] = v > mxl[q] ? v : mxl[q];
        }
    for (; j < k; j++) {
        z[j] += b[j];
        mxl[0] = z[j] > mxl[0] ? z[j] : mxl[0];
    }
    float mx = mxl[0];
    for (int q = 1; q < LANES; q++) mx = mxl[q] > mx ? mxl[q] : mx;
    return mx;
}

/* z[0..k) = exp(z - mx); returns the sum (float lanes within blocks, double across blocks). */
static double exp_sum(float *restrict z, int64_t k, float mx) {
    double s = 0;
    for (int64_t j0 = 0; j0 < k; j0 += BLOCK) {
        int64_t j1 = j0 + BLOCK < k ? j0 + BLOCK : k;
        float acc[LANES] = {0};
        int64_t j = j0;
        for (; j + LANES <= j1; j += LANES)
            for (int q = 0; q < LANES; q++) {
                float e = fast_expf(z[j + q] - mx);
                z[j + q] = e;
                acc[q] += e;
            }
        for (; j < j1; j++) {
            z[j] = fast_expf(z[j] - mx);
            acc[0] += z[j];
        }
        float bs = 0;
        for (int q = 0; q < LANES; q++) bs += acc[q];
        s += bs;
    }
    return s;
}

/* ------------------------------------------------------------------ training */

int slide_dense_forward_backward(slide_dense *m, const slide_data *ds, const int64_t *ids,
                                 int64_t n, double *loss_sum, slide_dense_stats *st,
                                 slide_err *err) {
    const slide_dense_params *p = &m->p;
    if (ds->d != p->d || ds->l != p->l)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "data set shape (D=%lld, L=%lld) does not match the model (%lld, %lld)",
                             (long long)ds->d, (long long)ds->l, (long long)p->d, (long long)p->l);
    if (n < 1 || n > p->batch)
        return slide_err_set(err, SLIDE_EINVAL, 0, "batch of %lld points (allowed 1..%d)",
                             (long long)n, p->batch);
    const double t0 = slide_now();
    const int H = p->hidden, T = p->threads;
    const int64_t L = p->l, B = p->batch;
    int rc = group_features(m, ds, ids, n, err);
    if (rc) return rc;
    const float scale = 1.0f / (float)n; /* gradients are batch means */
    float *logits = m->logits, *dhid = m->dhid, *gb1 = m->gb1;
    const float *b1 = m->b1, *hid = m->hid;
    double loss = 0, tg[4] = {0, 0, 0, 0};
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t j0, j1;
        slide_dense_split_cols(L, t, nt, &j0, &j1);
        float *rmax = m->row_max + (int64_t)t * B;   /* per row: max of this thread's block */
        double *rsum = m->row_sum + (int64_t)t * B;  /* sum of exp(z - rmax) over the block */
        double *rlab = m->row_lab + (int64_t)t * B;  /* sum of the label logits in the block */
        float *part = m->dhid_part + (int64_t)t * B * H;

        hidden_forward(m, ds, ids, n); /* ends with a barrier */
        if (t == 0) tg[0] = slide_now();
        gemm_logits_cols(m, n, j0, j1);
#pragma omp barrier
        if (t == 0) tg[1] = slide_now();
        for (int64_t s = 0; s < n; s++) {
            float *z = logits + s * L;
            const int32_t *lab = ds->lab + ds->lab_ptr[ids[s]];
            const int64_t nlab = ds->lab_ptr[ids[s] + 1] - ds->lab_ptr[ids[s]];
            rmax[s] = add_bias_max(z + j0, b1 + j0, j1 - j0);
            double ls = 0;
            for (int64_t q = 0; q < nlab; q++)
                if (lab[q] >= j0 && lab[q] < j1) ls += (double)z[lab[q]];
            rlab[s] = ls;
            rsum[s] = exp_sum(z + j0, j1 - j0, rmax[s]);
        }
#pragma omp barrier
        /* Combine the blocks' statistics: p = exp(z - M) / S over all labels; delta in place. */
        for (int64_t s = 0; s < n; s++) {
            float M = -INFINITY;
            for (int u = 0; u < nt; u++) M = m->row_max[u * B + s] > M ? m->row_max[u * B + s] : M;
            double S = 0, lsum = 0;
            for (int u = 0; u < nt; u++) {
                S += m->row_sum[u * B + s] * exp((double)m->row_max[u * B + s] - (double)M);
                lsum += m->row_lab[u * B + s];
            }
            float *z = logits + s * L;
            const float c = (float)(exp((double)rmax[s] - (double)M) / S) * scale;
            for (int64_t j = j0; j < j1; j++) z[j] *= c;
            const int32_t *lab = ds->lab + ds->lab_ptr[ids[s]];
            const int64_t nlab = ds->lab_ptr[ids[s] + 1] - ds->lab_ptr[ids[s]];
            const float tl = scale / (float)(nlab > 0 ? nlab : 1);
            for (int64_t q = 0; q < nlab; q++)
                if (lab[q] >= j0 && lab[q] < j1) z[lab[q]] -= tl;
            /* cross-entropy with target 1/|y| on each label: -(mean label logit - M - log S) */
            if (t == 0 && nlab > 0) loss += -(lsum / (double)nlab - (double)M - log(S));
        }
        /* gb1 = column sums of delta over the block */
        for (int64_t c0 = j0; c0 < j1; c0 += BLOCK) {
            int64_t c1 = c0 + BLOCK < j1 ? c0 + BLOCK : j1;
            for (int64_t j = c0; j < c1; j++) gb1[j] = 0.0f;
            for (int64_t s = 0; s < n; s++) {
                const float *d = logits + s * L;
                for (int64_t j = c0; j < c1; j++) gb1[j] += d[j];
            }
        }
#pragma omp barrier
        if (t == 0) tg[2] = slide_now();
        /* gW1[j0..j1) = delta[:, j0..j1)^T x hid;  part = delta[:, j0..j1) x W1[j0..j1) */
        if (j1 > j0) {
            m->blas->sgemm(1, 0, (int)(j1 - j0), H, (int)n, 1.0f, logits + j0, (int)L, hid, H,
                           0.0f, m->gW1 + j0 * H, H);
            m->blas->sgemm(0, 0, (int)n, H, (int)(j1 - j0), 1.0f, logits + j0, (int)L,
                           m->W1 + j0 * H, H, 0.0f, part, H);
        } else {
            memset(part, 0, (size_t)n * (size_t)H * sizeof(float));
        }
#pragma omp barrier
        if (t == 0) tg[3] = slide_now();
        /* dH = sum of the parts, through the ReLU */
#pragma omp for schedule(static)
        for (int64_t q = 0; q < n * H; q++) {
            float g = 0.0f;
            for (int u = 0; u < nt; u++) g += m->dhid_part[(int64_t)u * B * H + q];
            dhid[q] = hid[q] > 0.0f ? g : 0.0f;
        }
        /* gb0 = column sums of dH; gW0 rows by feature, one thread per row */
#pragma omp single nowait
        {
            for (int j = 0; j < H; j++) m->gb0[j] = 0.0f;
            for (int64_t s = 0; s < n; s++)
                for (int j = 0; j < H; j++) m->gb0[j] += dhid[s * H + j];
        }
#pragma omp for schedule(dynamic, 64)
        for (int64_t u = 0; u < m->n_uniq; u++) {
            float *g = m->gW0 + (int64_t)m->uniq[u] * H;
            for (int j = 0; j < H; j++) g[j] = 0.0f;
            for (int64_t o = m->occ_ptr[u]; o < m->occ_ptr[u + 1]; o++) {
                const float v = m->occ_val[o];
                const float *d = dhid + (int64_t)m->occ_row[o] * H;
                for (int j = 0; j < H; j++) g[j] += v * d[j];
            }
        }
    }
    if (loss_sum) *loss_sum = loss;
    if (st) {
        st->loss_sum += loss;
        st->samples += n;
        st->t_fwd_bwd += slide_now() - t0;
        st->t_gemm += (tg[1] - tg[0]) + (tg[3] - tg[2]);
        st->gemm_flops += 3.0 * 2.0 * (double)n * (double)L * (double)H;
    }
    return SLIDE_OK;
}

static inline void adam_span(float *restrict w, float *restrict mm, float *restrict v,
                             const float *restrict g, int64_t n, float lr_t, float b1, float b2,
                             float eps) {
    for (int64_t i = 0; i < n; i++) {
        mm[i] = b1 * mm[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr_t * mm[i] / (sqrtf(v[i]) + eps);
    }
}

void slide_dense_adam(slide_dense *m, slide_dense_stats *st) {
    const double t0 = slide_now();
    const slide_dense_params *p = &m->p;
    const int64_t t = m->step + 1, H = p->hidden, L = p->l;
    const float lr_t = (float)((double)p->lr * sqrt(1.0 - pow(p->beta2, (double)t)) /
                               (1.0 - pow(p->beta1, (double)t)));
    const float b1 = p->beta1, b2 = p->beta2, eps = p->eps;
    const int64_t n1 = L * H, chunk = 1 << 14;
#pragma omp parallel num_threads(p->threads)
    {
#pragma omp for schedule(static) nowait
        for (int64_t c = 0; c < n1; c += chunk) {
            int64_t k = n1 - c < chunk ? n1 - c : chunk;
            adam_span(m->W1 + c, m->mW1 + c, m->vW1 + c, m->gW1 + c, k, lr_t, b1, b2, eps);
        }
#pragma omp for schedule(static) nowait
        for (int64_t c = 0; c < L; c += chunk) {
            int64_t k = L - c < chunk ? L - c : chunk;
            adam_span(m->b1 + c, m->mb1 + c, m->vb1 + c, m->gb1 + c, k, lr_t, b1, b2, eps);
        }
#pragma omp for schedule(dynamic, 64)
        for (int64_t u = 0; u < m->n_uniq; u++) {
            int64_t o = (int64_t)m->uniq[u] * H;
            adam_span(m->W0 + o, m->mW0 + o, m->vW0 + o, m->gW0 + o, H, lr_t, b1, b2, eps);
        }
    }
    adam_span(m->b0, m->mb0, m->vb0, m->gb0, H, lr_t, b1, b2, eps);
    m->step++;
    if (st) st->t_update += slide_now() - t0;
}

int slide_dense_train_batch(slide_dense *m, const slide_data *ds, const int64_t *ids, int64_t n,
                            slide_dense_stats *st, slide_err *err) {
    int rc = slide_dense_forward_backward(m, ds, ids, n, NULL, st, err);
    if (rc) return rc;
    slide_dense_adam(m, st);
    return SLIDE_OK;
}

/* ------------------------------------------------------------------ evaluation */

/* Top-k (k <= 5) of z + b over 0..L-1, best first; ties by lower id (as slide_net_evaluate). */
static int topk_bias(const float *z, const float *b, int64_t L, int k, uint32_t *out) {
    float best[5];
    int m = 0;
    for (int64_t j = 0; j < L; j++) {
        float s = z[j] + b[j];
        if (m == k && !(s > best[k - 1])) continue;
        int pos = m < k ? m : k - 1;
        while (pos > 0 && s > best[pos - 1]) {
            best[pos] = best[pos - 1];
            out[pos] = out[pos - 1];
            pos--;
        }
        best[pos] = s;
        out[pos] = (uint32_t)j;
        if (m < k) m++;
    }
    return m;
}

int slide_dense_evaluate(slide_dense *m, const slide_data *ds, const int64_t *ids, int64_t n,
                         slide_eval_result *res, slide_err *err) {
    memset(res, 0, sizeof *res);
    const slide_dense_params *p = &m->p;
    if (ds->d != p->d || ds->l != p->l)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "evaluation set shape (D=%lld, L=%lld) does not match the model",
                             (long long)ds->d, (long long)ds->l);
    if (!ids) n = ds->n;
    const int64_t B = p->batch, L = p->l;
    int64_t *chunk = malloc((size_t)B * sizeof *chunk);
    double *met = malloc((size_t)B * 12 * sizeof *met);
    if (!chunk || !met) {
        free(chunk);
        free(met);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory");
    }
    double p_sum[6] = {0}, n_sum[6] = {0};
    int64_t n_eval = 0, n_skip = 0, s = 0;
    while (s < n) {
        /* next chunk of up to B labelled points */
        int64_t c = 0;
        for (; s < n && c < B; s++) {
            int64_t i = ids ? ids[s] : s;
            if (ds->lab_ptr[i + 1] == ds->lab_ptr[i]) n_skip++;
            else chunk[c++] = i;
        }
        if (c == 0) break;
#pragma omp parallel num_threads(p->threads)
        {
            int64_t j0, j1;
            slide_dense_split_cols(L, omp_get_thread_num(), omp_get_num_threads(), &j0, &j1);
            hidden_forward(m, ds, chunk, c); /* ends with a barrier */
            gemm_logits_cols(m, c, j0, j1);
#pragma omp barrier
            /* per-row metrics, summed serially afterwards (same order for any thread count) */
#pragma omp for schedule(static)
            for (int64_t r = 0; r < c; r++) {
                uint32_t pred[5];
                int np = topk_bias(m->logits + r * L, m->b1, L, 5, pred);
                int64_t i = chunk[r];
                slide_metrics_point(pred, np, ds->lab + ds->lab_ptr[i],
                                    (int)(ds->lab_ptr[i + 1] - ds->lab_ptr[i]), met + r * 12,
                                    met + r * 12 + 6);
            }
        }
        for (int64_t r = 0; r < c; r++)
            for (int k = 1; k <= 5; k++) {
                p_sum[k] += met[r * 12 + k];
                n_sum[k] += met[r * 12 + 6 + k];
            }
        n_eval += c;
    }
    free(chunk);
    free(met);
    res->n_eval = n_eval;
    res->n_skipped = n_skip;
    for (int k = 1; k <= 5; k++) {
        res->p_at[k] = n_eval ? p_sum[k] / n_eval : 0;
        res->ndcg_at[k] = n_eval ? n_sum[k] / n_eval : 0;
    }
    res->recall_at_5 = NAN;
    res->active_avg = (double)L;
    return SLIDE_OK;
}

void slide_dense_logits_point(slide_dense *m, const slide_data *ds, int64_t i, float *out) {
    const int64_t H = m->p.hidden, L = m->p.l;
    float *h = malloc((size_t)H * sizeof *h);
    SLIDE_ASSERT(h != NULL);
    memcpy(h, m->b0, (size_t)H * sizeof *h);
    for (int64_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++)
        for (int64_t j = 0; j < H; j++) h[j] += ds->val[q] * m->W0[(int64_t)ds->feat[q] * H + j];
    for (int64_t j = 0; j < H; j++) h[j] = h[j] > 0.0f ? h[j] : 0.0f;
    for (int64_t r = 0; r < L; r++) {
        float s = m->b1[r];
        for (int64_t j = 0; j < H; j++) s += m->W1[r * H + j] * h[j];
        out[r] = s;
    }
    free(h);
}
