/* Data set utilities shared by the parser, the cache and the generator: allocation, release,
 * L2 normalisation, statistics and writing the XC text format (temp file + rename). */
#include "slide/data.h"
#include "slide/rng.h"

#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

slide_data_opts slide_data_opts_default(void) {
    slide_data_opts o;
    memset(&o, 0, sizeof o);
    o.cache = SLIDE_CACHE_OFF;
    return o;
}

void slide_data_free(slide_data *ds) {
    if (!ds) return;
    free(ds->row_ptr);
    free(ds->feat);
    free(ds->val);
    free(ds->lab_ptr);
    free(ds->lab);
    memset(ds, 0, sizeof *ds);
}

int slide_data_alloc(slide_data *ds, int64_t n, int64_t d, int64_t l, int64_t nnz, int64_t nlab,
                     slide_err *err) {
    memset(ds, 0, sizeof *ds);
    if (n < 0 || d < 1 || l < 1 || nnz < 0 || nlab < 0 || d > INT32_MAX || l > INT32_MAX)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "data set sizes out of range (n=%lld d=%lld l=%lld)", (long long)n,
                             (long long)d, (long long)l);
    ds->n = n;
    ds->d = d;
    ds->l = l;
    ds->nnz = nnz;
    ds->nlab = nlab;
    ds->row_ptr = malloc((size_t)(n + 1) * sizeof *ds->row_ptr);
    ds->lab_ptr = malloc((size_t)(n + 1) * sizeof *ds->lab_ptr);
    ds->feat = malloc((size_t)(nnz ? nnz : 1) * sizeof *ds->feat);
    ds->val = malloc((size_t)(nnz ? nnz : 1) * sizeof *ds->val);
    ds->lab = malloc((size_t)(nlab ? nlab : 1) * sizeof *ds->lab);
    if (!ds->row_ptr || !ds->lab_ptr || !ds->feat || !ds->val || !ds->lab) {
        slide_data_free(ds);
        return slide_err_set(err, SLIDE_ENOMEM, 0,
                             "out of memory allocating a data set of %lld points, %lld nonzeros",
                             (long long)n, (long long)nnz);
    }
    ds->row_ptr[0] = 0;
    ds->lab_ptr[0] = 0;
    return SLIDE_OK;
}

void slide_data_normalize(slide_data *ds) {
    for (int64_t i = 0; i < ds->n; i++) {
        double s = 0;
        for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++)
            s += (double)ds->val[j] * ds->val[j];
        if (s <= 0) continue;
        double invd = 1.0 / sqrt(s);
        float inv = (float)invd;
        if (isfinite(inv)) {
            for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++) ds->val[j] *= inv;
        } else { /* a row of denormals: 1/norm overflows float, so scale in double */
            for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++)
                ds->val[j] = (float)(ds->val[j] * invd);
        }
    }
}

static int cmp_desc_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

void slide_data_compute_stats(const slide_data *ds, slide_data_stats *st) {
    memset(st, 0, sizeof *st);
    st->n = ds->n;
    st->d = ds->d;
    st->l = ds->l;
    st->nnz = ds->nnz;
    st->nlab = ds->nlab;
    if (ds->n == 0) return;
    st->nnz_min = INT64_MAX;
    st->lab_min = INT64_MAX;
    for (int64_t i = 0; i < ds->n; i++) {
        int64_t f = ds->row_ptr[i + 1] - ds->row_ptr[i];
        int64_t k = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
        if (f < st->nnz_min) st->nnz_min = f;
        if (f > st->nnz_max) st->nnz_max = f;
        if (k < st->lab_min) st->lab_min = k;
        if (k > st->lab_max) st->lab_max = k;
        if (k == 0) st->n_nolabel++;
    }
    st->nnz_mean = (double)ds->nnz / (double)ds->n;
    st->lab_mean = (double)ds->nlab / (double)ds->n;
    int64_t *cnt = calloc((size_t)ds->l, sizeof *cnt);
    if (!cnt) return;
    for (int64_t j = 0; j < ds->nlab; j++) cnt[ds->lab[j]]++;
    qsort(cnt, (size_t)ds->l, sizeof *cnt, cmp_desc_i64);
    int64_t used = 0, le5 = 0;
    for (int64_t j = 0; j < ds->l && cnt[j] > 0; j++) {
        used++;
        if (cnt[j] <= 5) le5++;
    }
    st->labels_used = used;
    st->ppl_max = ds->l > 0 ? cnt[0] : 0;
    st->ppl_mean = used ? (double)ds->nlab / (double)used : 0;
    int64_t top = used / 100 > 0 ? used / 100 : (used > 0 ? 1 : 0), topsum = 0;
    for (int64_t j = 0; j < top; j++) topsum += cnt[j];
    st->top1pct_share = ds->nlab ? (double)topsum / (double)ds->nlab : 0;
    st->tail_share_le5 = used ? (double)le5 / (double)used : 0;
    free(cnt);
}

int slide_data_write_text(const slide_data *ds, const char *path, slide_err *err) {
    slide_tmpfile t;
    int rc = slide_tmpfile_open(&t, path, err);
    if (rc) return rc;
    FILE *f = t.f;
    char *buf = malloc(1 << 16);
    if (buf) setvbuf(f, buf, _IOFBF, 1 << 16);
    fprintf(f, "%lld %lld %lld\n", (long long)ds->n, (long long)ds->d, (long long)ds->l);
    for (int64_t i = 0; i < ds->n; i++) {
        for (int64_t j = ds->lab_ptr[i]; j < ds->lab_ptr[i + 1]; j++)
            fprintf(f, j == ds->lab_ptr[i] ? "%d" : ",%d", ds->lab[j]);
        for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++)
            fprintf(f, " %d:%.6g", ds->feat[j], (double)ds->val[j]);
        fputc('\n', f);
    }
    rc = slide_tmpfile_commit(&t, 0, 0, err);
    free(buf);
    return rc;
}

int slide_data_check_path(const char *what, const char *path, slide_err *err) {
    struct stat st;
    if (!path || !*path) return slide_err_set(err, SLIDE_EIO, 0, "--%s: empty path", what);
    if (stat(path, &st) != 0)
        return slide_err_set(err, SLIDE_EIO, 0, "--%s %s: %s", what, path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return slide_err_set(err, SLIDE_EIO, 0, "--%s %s: is a directory, not a data file", what,
                             path);
    if (access(path, R_OK) != 0)
        return slide_err_set(err, SLIDE_EIO, 0, "--%s %s: not readable: %s", what, path,
                             strerror(errno));
    return SLIDE_OK;
}

void slide_sample_subset(int64_t *ids, int64_t n_test, int64_t n_sub, slide_rng *rng) {
    for (int64_t i = 0; i < n_test; i++) ids[i] = i;
    for (int64_t i = 0; i < n_sub; i++) {
        int64_t j = i + (int64_t)slide_rng_below(rng, (uint32_t)(n_test - i));
        int64_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
}

void slide_shuffle_ids(int64_t *perm, int64_t n, slide_rng *rng) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)slide_rng_below(rng, (uint32_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}


int64_t slide_data_max_labels(const slide_data *ds) {
    int64_t m = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        const int64_t k = ds->lab_ptr[i + 1] - ds->lab_ptr[i];
        if (k > m) m = k;
    }
    return m;
}
