/* A seeded hold-out split of a data set (the drivers' --val-split): the held-out points and the
 * rest, each a data set of its own in the original order. */
#include "slide/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t slide_data_split_count(int64_t n, double frac) {
    if (!(frac > 0) || n <= 0) return 0;
    const double k = floor(frac * (double)n + 0.5);
    return k < 1 ? 1 : k > (double)n ? n : (int64_t)k;
}

/* Copies points ids[0..k) (ascending) of src into dst. */
static int take(const slide_data *src, const int64_t *ids, int64_t k, slide_data *dst,
                slide_err *err) {
    int64_t nnz = 0, nlab = 0;
    for (int64_t j = 0; j < k; j++) {
        nnz += src->row_ptr[ids[j] + 1] - src->row_ptr[ids[j]];
        nlab += src->lab_ptr[ids[j] + 1] - src->lab_ptr[ids[j]];
    }
    int rc = slide_data_alloc(dst, k, src->d, src->l, nnz, nlab, err);
    if (rc) return rc;
    int64_t f = 0, a = 0;
    for (int64_t j = 0; j < k; j++) {
        const int64_t i = ids[j];
        const int64_t f0 = src->row_ptr[i], nf = src->row_ptr[i + 1] - f0;
        const int64_t a0 = src->lab_ptr[i], na = src->lab_ptr[i + 1] - a0;
        memcpy(dst->feat + f, src->feat + f0, (size_t)nf * sizeof *dst->feat);
        memcpy(dst->val + f, src->val + f0, (size_t)nf * sizeof *dst->val);
        memcpy(dst->lab + a, src->lab + a0, (size_t)na * sizeof *dst->lab);
        f += nf;
        a += na;
        dst->row_ptr[j + 1] = f;
        dst->lab_ptr[j + 1] = a;
    }
    dst->nnz = f;
    dst->nlab = a;
    return SLIDE_OK;
}

static int cmp_id(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int slide_data_split(const slide_data *ds, double frac, uint64_t seed, slide_data *rest,
                     slide_data *held, int64_t *held_ids, slide_err *err) {
    memset(rest, 0, sizeof *rest);
    memset(held, 0, sizeof *held);
    slide_err_clear(err);
    const int64_t n = ds->n, k = slide_data_split_count(n, frac);
    if (!(frac > 0 && frac < 1) || k >= n)
        return slide_err_set(err, SLIDE_EINVAL, 0, "a split of %g of %lld points leaves no points "
                             "on one side", frac, (long long)n);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory (split of %lld points)",
                                   (long long)n);
    for (int64_t i = 0; i < n; i++) ids[i] = i;
    slide_rng rng;
    slide_rng_seed(&rng, seed, 0x5B117ULL);
    slide_sample_subset(ids, n, k, &rng);
    qsort(ids, (size_t)k, sizeof *ids, cmp_id);
    qsort(ids + k, (size_t)(n - k), sizeof *ids, cmp_id);
    int rc = take(ds, ids, k, held, err);
    if (!rc) rc = take(ds, ids + k, n - k, rest, err);
    if (!rc && held_ids) memcpy(held_ids, ids, (size_t)k * sizeof *ids);
    free(ids);
    if (rc) {
        slide_data_free(held);
        slide_data_free(rest);
    }
    return rc;
}
