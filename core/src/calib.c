/* Calibration statistics (calib.h): count spreads, label-frequency curves and their gap, and
 * the most-frequent-label and nearest-centroid P@1 that say how learnable a data set is. */
#include "slide/calib.h"

#include <math.h>
#include <string.h>

void slide_calib_point_counts(const slide_data *ds, slide_calib_counts *c) {
    memset(c, 0, sizeof *c);
    if (ds->n < 1) return;
    double sl = 0, sl2 = 0, sn = 0, sn2 = 0;
    int64_t *nz = malloc((size_t)ds->n * sizeof *nz);
    for (int64_t i = 0; i < ds->n; i++) {
        double k = (double)(ds->lab_ptr[i + 1] - ds->lab_ptr[i]);
        double m = (double)(ds->row_ptr[i + 1] - ds->row_ptr[i]);
        sl += k;
        sl2 += k * k;
        sn += m;
        sn2 += m * m;
        if (nz) nz[i] = (int64_t)m;
    }
    double n = (double)ds->n;
    c->lab_mean = sl / n;
    c->nnz_mean = sn / n;
    c->lab_sd = sqrt(fmax(0.0, sl2 / n - c->lab_mean * c->lab_mean));
    c->nnz_sd = sqrt(fmax(0.0, sn2 / n - c->nnz_mean * c->nnz_mean));
    if (!nz) {
        c->nnz_median = NAN;
        return;
    }
    /* Counting sort by value: nonzeros per point are at most d. */
    int64_t *hist = calloc((size_t)ds->d + 1, sizeof *hist);
    if (hist) {
        for (int64_t i = 0; i < ds->n; i++) hist[nz[i] <= ds->d ? nz[i] : ds->d]++;
        int64_t seen = 0, mid = (ds->n - 1) / 2, lo = -1, hi = -1;
        for (int64_t v = 0; v <= ds->d && hi < 0; v++) {
            if (lo < 0 && seen + hist[v] > mid) lo = v;
            if (seen + hist[v] > ds->n / 2) hi = v;
            seen += hist[v];
        }
        c->nnz_median = ds->n % 2 ? (double)hi : 0.5 * (double)(lo + hi);
    } else {
        c->nnz_median = NAN;
    }
    free(hist);
    free(nz);
}

static int cmp_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

static int cmp_asc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void slide_calib_label_curve(const slide_data *ds, int64_t *cnt) {
    memset(cnt, 0, (size_t)ds->l * sizeof *cnt);
    for (int64_t j = 0; j < ds->nlab; j++) cnt[ds->lab[j]]++;
    qsort(cnt, (size_t)ds->l, sizeof *cnt, cmp_desc);
}

double slide_calib_curve_at(const int64_t *cnt, int64_t l, int64_t n, double q) {
    if (l < 1 || n < 1) return 0.0;
    int64_t i = (int64_t)floor(q * (double)l);
    if (i < 0) i = 0;
    if (i > l - 1) i = l - 1;
    return (double)cnt[i] / (double)n;
}

double slide_calib_curve_gap(const int64_t *ca, int64_t la, int64_t na, const int64_t *cb,
                             int64_t lb, int64_t nb, double tail, double *q_at) {
    int64_t m = la > lb ? la : lb;
    double best = 0.0, best_q = 0.0;
    if (q_at) *q_at = 0.0;
    if (m < 1 || na < 1 || nb < 1) return 0.0;
    for (int64_t i = 0; i < m; i++) {
        double q = ((double)i + 0.5) / (double)m;
        if (q > 1.0 - tail) break;
        int64_t ia = (int64_t)(q * (double)la), ib = (int64_t)(q * (double)lb);
        double fa = fmax((double)ca[ia < la ? ia : la - 1], 0.5) / (double)na;
        double fb = fmax((double)cb[ib < lb ? ib : lb - 1], 0.5) / (double)nb;
        double g = fabs(log2(fa / fb));
        if (g > best) {
            best = g;
            best_q = q;
        }
    }
    if (q_at) *q_at = best_q;
    return best;
}

int slide_calib_p1_most_frequent(const slide_data *tr, const slide_data *te, double *p1,
                                 int32_t *label, slide_err *err) {
    if (tr->l != te->l)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "train has %lld labels, test %lld: not the same label space",
                             (long long)tr->l, (long long)te->l);
    int64_t *cnt = calloc((size_t)tr->l, sizeof *cnt);
    if (!cnt) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory (%lld labels)",
                                   (long long)tr->l);
    for (int64_t j = 0; j < tr->nlab; j++) cnt[tr->lab[j]]++;
    int32_t best = 0;
    for (int64_t k = 1; k < tr->l; k++)
        if (cnt[k] > cnt[best]) best = (int32_t)k;
    free(cnt);
    int64_t hit = 0, n = 0;
    for (int64_t i = 0; i < te->n; i++) {
        if (te->lab_ptr[i + 1] == te->lab_ptr[i]) continue;
        n++;
        for (int64_t j = te->lab_ptr[i]; j < te->lab_ptr[i + 1]; j++)
            if (te->lab[j] == best) {
                hit++;
                break;
            }
    }
    if (n == 0) return slide_err_set(err, SLIDE_EINVAL, 0, "test set has no labelled point");
    *p1 = (double)hit / (double)n;
    if (label) *label = best;
    return SLIDE_OK;
}

/* The points to use: all, or a seeded random subset of max_points (sorted, so the walk over
 * them is in file order). */
static int64_t *pick_points(int64_t n, int64_t max_points, uint64_t seed, int64_t *n_out) {
    int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (!ids) return NULL;
    for (int64_t i = 0; i < n; i++) ids[i] = i;
    *n_out = n;
    if (max_points > 0 && max_points < n) {
        slide_rng r;
        slide_rng_seed(&r, seed, 0);
        slide_sample_subset(ids, n, max_points, &r);
        *n_out = max_points;
        qsort(ids, (size_t)max_points, sizeof *ids, cmp_asc);
    }
    return ids;
}

static double row_inv_norm(const slide_data *ds, int64_t i) {
    double s = 0;
    for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++)
        s += (double)ds->val[j] * (double)ds->val[j];
    return s > 0 ? 1.0 / sqrt(s) : 0.0;
}

/* Centroids as feature postings: for feature f, (label, weight of f in the label's unit
 * centroid) at post[fptr[f], fptr[f + 1]). */
typedef struct {
    int64_t *fptr;
    int32_t *plab;
    float *pw;
} postings;

static void postings_free(postings *p) {
    free(p->fptr);
    free(p->plab);
    free(p->pw);
}

static int build_postings(const slide_data *tr, const int64_t *ids, int64_t n, postings *out) {
    memset(out, 0, sizeof *out);
    const int64_t L = tr->l, D = tr->d;
    int64_t *lptr = calloc((size_t)L + 1, sizeof *lptr);
    double *inv = malloc((size_t)(n ? n : 1) * sizeof *inv);
    double *acc = calloc((size_t)D, sizeof *acc);
    unsigned char *mark = calloc((size_t)D, 1);
    int32_t *touched = malloc((size_t)D * sizeof *touched);
    int64_t *cptr = calloc((size_t)L + 1, sizeof *cptr);
    int64_t *lpts = NULL, cap = 0, used = 0;
    int32_t *cf = NULL;
    float *cw = NULL;
    int rc = -1;
    if (!lptr || !inv || !acc || !mark || !touched || !cptr) goto done;
    for (int64_t s = 0; s < n; s++) {
        int64_t i = ids[s];
        inv[s] = row_inv_norm(tr, i);
        for (int64_t j = tr->lab_ptr[i]; j < tr->lab_ptr[i + 1]; j++) lptr[tr->lab[j] + 1]++;
    }
    for (int64_t k = 0; k < L; k++) lptr[k + 1] += lptr[k];
    lpts = malloc((size_t)(lptr[L] ? lptr[L] : 1) * sizeof *lpts);
    if (!lpts) goto done;
    {
        int64_t *fill = malloc((size_t)L * sizeof *fill);
        if (!fill) goto done;
        memcpy(fill, lptr, (size_t)L * sizeof *fill);
        for (int64_t s = 0; s < n; s++) {
            int64_t i = ids[s];
            for (int64_t j = tr->lab_ptr[i]; j < tr->lab_ptr[i + 1]; j++)
                lpts[fill[tr->lab[j]]++] = s;
        }
        free(fill);
    }
    /* One label at a time into a dense accumulator; its unit centroid is appended to cf/cw. */
    for (int64_t k = 0; k < L; k++) {
        int nt = 0;
        for (int64_t p = lptr[k]; p < lptr[k + 1]; p++) {
            int64_t s = lpts[p], i = ids[s];
            for (int64_t j = tr->row_ptr[i]; j < tr->row_ptr[i + 1]; j++) {
                int32_t f = tr->feat[j];
                if (!mark[f]) {
                    mark[f] = 1;
                    touched[nt++] = f;
                }
                acc[f] += (double)tr->val[j] * inv[s];
            }
        }
        double s2 = 0;
        for (int t = 0; t < nt; t++) s2 += acc[touched[t]] * acc[touched[t]];
        double sc = s2 > 0 ? 1.0 / sqrt(s2) : 0.0;
        if (used + nt > cap) {
            int64_t nc = 2 * cap > used + nt ? 2 * cap : used + nt + 1024;
            int32_t *nf = realloc(cf, (size_t)nc * sizeof *cf);
            if (!nf) goto done;
            cf = nf;
            float *nw = realloc(cw, (size_t)nc * sizeof *cw);
            if (!nw) goto done;
            cw = nw;
            cap = nc;
        }
        for (int t = 0; t < nt; t++) {
            cf[used] = touched[t];
            cw[used++] = (float)(acc[touched[t]] * sc);
            acc[touched[t]] = 0.0;
            mark[touched[t]] = 0;
        }
        cptr[k + 1] = used;
    }
    /* Transpose: labels in increasing order within each feature's list. */
    out->fptr = calloc((size_t)D + 1, sizeof *out->fptr);
    out->plab = malloc((size_t)(used ? used : 1) * sizeof *out->plab);
    out->pw = malloc((size_t)(used ? used : 1) * sizeof *out->pw);
    if (!out->fptr || !out->plab || !out->pw) goto done;
    for (int64_t e = 0; e < used; e++) out->fptr[cf[e] + 1]++;
    for (int64_t f = 0; f < D; f++) out->fptr[f + 1] += out->fptr[f];
    {
        int64_t *fill = malloc((size_t)(D ? D : 1) * sizeof *fill);
        if (!fill) goto done;
        memcpy(fill, out->fptr, (size_t)D * sizeof *fill);
        for (int64_t k = 0; k < L; k++)
            for (int64_t e = cptr[k]; e < cptr[k + 1]; e++) {
                int64_t at = fill[cf[e]]++;
                out->plab[at] = (int32_t)k;
                out->pw[at] = cw[e];
            }
        free(fill);
    }
    rc = 0;
done:
    if (rc) postings_free(out);
    free(lptr);
    free(inv);
    free(acc);
    free(mark);
    free(touched);
    free(cptr);
    free(lpts);
    free(cf);
    free(cw);
    return rc;
}

int slide_calib_p1_centroid(const slide_data *tr, const slide_data *te, int64_t max_points,
                            uint64_t seed, int threads, double *p1, int64_t *n_eval,
                            slide_err *err) {
    if (tr->l != te->l || tr->d != te->d)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "train is %lld features x %lld labels, test %lld x %lld: not the "
                             "same spaces",
                             (long long)tr->d, (long long)tr->l, (long long)te->d,
                             (long long)te->l);
    if (threads < 1) threads = 1;
    int64_t ntr = 0, nte = 0;
    int64_t *tr_ids = pick_points(tr->n, max_points, seed, &ntr);
    int64_t *te_ids = pick_points(te->n, max_points, seed ^ 0x7E57ULL, &nte);
    postings P;
    if (!tr_ids || !te_ids || build_postings(tr, tr_ids, ntr, &P) != 0) {
        free(tr_ids);
        free(te_ids);
        return slide_err_set(err, SLIDE_ENOMEM, 0,
                             "out of memory for the centroids (%lld labels x %lld features; "
                             "try fewer points)",
                             (long long)tr->l, (long long)tr->d);
    }
    int64_t hit = 0, n = 0;
    int fail = 0;
#pragma omp parallel num_threads(threads) reduction(+ : hit, n)
    {
        float *score = calloc((size_t)te->l, sizeof *score);
        unsigned char *mark = calloc((size_t)te->l, 1);
        int32_t *touched = malloc((size_t)te->l * sizeof *touched);
        if (!score || !mark || !touched) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 64)
        for (int64_t s = 0; s < nte; s++) {
            if (!score || !mark || !touched) continue;
            int64_t i = te_ids[s];
            if (te->lab_ptr[i + 1] == te->lab_ptr[i]) continue;
            n++;
            int64_t nt = 0;
            for (int64_t j = te->row_ptr[i]; j < te->row_ptr[i + 1]; j++) {
                int32_t f = te->feat[j];
                float v = te->val[j];
                for (int64_t e = P.fptr[f]; e < P.fptr[f + 1]; e++) {
                    int32_t k = P.plab[e];
                    if (!mark[k]) {
                        mark[k] = 1;
                        touched[nt++] = k;
                    }
                    score[k] += v * P.pw[e];
                }
            }
            /* The row's norm scales every score alike, so the argmax needs no normalising. */
            int32_t best = -1;
            for (int64_t t = 0; t < nt; t++) {
                int32_t k = touched[t];
                if (best < 0 || score[k] > score[best] || (score[k] == score[best] && k < best))
                    best = k;
            }
            for (int64_t t = 0; t < nt; t++) {
                score[touched[t]] = 0.0f;
                mark[touched[t]] = 0;
            }
            if (best < 0) continue;
            for (int64_t j = te->lab_ptr[i]; j < te->lab_ptr[i + 1]; j++)
                if (te->lab[j] == best) {
                    hit++;
                    break;
                }
        }
        free(score);
        free(mark);
        free(touched);
    }
    postings_free(&P);
    free(tr_ids);
    free(te_ids);
    if (fail) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for per-thread scores");
    if (n == 0) return slide_err_set(err, SLIDE_EINVAL, 0, "test set has no labelled point");
    *p1 = (double)hit / (double)n;
    if (n_eval) *n_eval = n;
    return SLIDE_OK;
}
