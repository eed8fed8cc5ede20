/* Extreme Classification Repository data sets in memory (CSR features + CSR labels):
 * strict text parser with file:line errors, binary cache, optional L2 row normalisation. */
#ifndef SLIDE_DATA_H
#define SLIDE_DATA_H

#include "slide/common.h"
#include "slide/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A data set: n points over d features and l labels.
 * Point i has features feat[row_ptr[i] .. row_ptr[i+1]) with values val[...] (sorted by id,
 * no duplicates) and labels lab[lab_ptr[i] .. lab_ptr[i+1]) (sorted, no duplicates). */
typedef struct {
    int64_t n, d, l;
    int64_t nnz;      /* row_ptr[n] */
    int64_t nlab;     /* lab_ptr[n] */
    int64_t *row_ptr; /* n + 1 */
    int32_t *feat;    /* nnz */
    float *val;       /* nnz */
    int64_t *lab_ptr; /* n + 1 */
    int32_t *lab;     /* nlab */
} slide_data;

typedef enum {
    SLIDE_CACHE_OFF = 0,  /* always parse the text file */
    SLIDE_CACHE_AUTO = 1, /* use <file>.sbin when newer than the text and valid; else parse and write it */
    SLIDE_CACHE_READONLY = 2 /* use the cache when valid, never write one */
} slide_cache_mode;

typedef struct {
    int normalize;          /* 1: scale each row's values to unit L2 norm (after reading) */
    int cache;              /* slide_cache_mode */
    const char *cache_path; /* NULL: <path>.sbin */
    int64_t expect_d;       /* > 0: the header's D must equal this (train/test agreement) */
    int64_t expect_l;       /* > 0: the header's L must equal this */
} slide_data_opts;

slide_data_opts slide_data_opts_default(void);

/* Loads a data set from a text file (or its valid binary cache). On failure returns a status,
 * fills err (message names the file and, for text errors, the 1-based line) and leaves *ds
 * zeroed. On success the caller owns *ds and releases it with slide_data_free. */
int slide_data_load(slide_data *ds, const char *path, const slide_data_opts *opt, slide_err *err);

/* Parses XC text held in memory (len bytes, need not be NUL-terminated); name is used in
 * messages. Same ownership as slide_data_load. */
int slide_data_parse(slide_data *ds, const char *buf, size_t len, const char *name,
                     slide_err *err);

/* Binary cache: magic "SLIDEDS1", version, sizes, arrays, checksum. save writes to a temp
 * file and renames it. load rejects wrong magic/version/sizes/checksum with a clear error. */
int slide_data_cache_save(const slide_data *ds, const char *path, slide_err *err);
int slide_data_cache_load(slide_data *ds, const char *path, slide_err *err);
/* In-memory form of cache_load (for fuzzing). */
int slide_data_cache_parse(slide_data *ds, const void *buf, size_t len, const char *name,
                           slide_err *err);

/* Writes ds in XC text format (temp file + rename). */
int slide_data_write_text(const slide_data *ds, const char *path, slide_err *err);

void slide_data_normalize(slide_data *ds);

/* Checks before any allocation that path names a readable regular file; the message names the
 * option (--what) and the path. SLIDE_EIO otherwise. */
int slide_data_check_path(const char *what, const char *path, slide_err *err);

/* Seeded random subset: the first n_sub entries of ids become a uniform sample (without
 * replacement) of 0..n-1 (partial Fisher-Yates). Every training program draws its evaluation
 * subset with this from the same RNG state, so all systems evaluate the same points. */
void slide_sample_subset(int64_t *ids, int64_t n, int64_t n_sub, slide_rng *rng);
/* Fisher-Yates shuffle of perm[0..n) (the per-epoch order of every training program). */
void slide_shuffle_ids(int64_t *perm, int64_t n, slide_rng *rng);
void slide_data_free(slide_data *ds);

/* Points held out by slide_data_split: round(frac x n), at least 1 when frac > 0 (0 when not). */
int64_t slide_data_split_count(int64_t n, double frac);
/* Seeded hold-out split (the drivers' --val-split): held gets slide_data_split_count(n, frac)
 * points drawn uniformly without replacement by a generator seeded with seed, rest the others;
 * both keep ds's order. held_ids (NULL, or room for n) receives the held points' ids, ascending.
 * 0 < frac < 1 and both sides nonempty, else SLIDE_EINVAL. The caller owns and frees rest and
 * held (zeroed on failure). */
int slide_data_split(const slide_data *ds, double frac, uint64_t seed, slide_data *rest,
                     slide_data *held, int64_t *held_ids, slide_err *err);

/* Allocates an empty data set with room for the given counts (arrays uninitialised except
 * row_ptr[0] = lab_ptr[0] = 0). For generators. */
int slide_data_alloc(slide_data *ds, int64_t n, int64_t d, int64_t l, int64_t nnz, int64_t nlab,
                     slide_err *err);

typedef struct {
    int64_t n, d, l, nnz, nlab;
    double nnz_mean;          /* nonzeros per point */
    int64_t nnz_min, nnz_max;
    double lab_mean;          /* labels per point */
    int64_t lab_min, lab_max;
    int64_t n_nolabel;        /* points with no labels */
    int64_t labels_used;      /* labels with at least one point */
    double ppl_mean;          /* points per used label */
    int64_t ppl_max;
    double top1pct_share;     /* share of label occurrences held by the top 1% most frequent labels */
    double tail_share_le5;    /* share of used labels with <= 5 points */
} slide_data_stats;

void slide_data_compute_stats(const slide_data *ds, slide_data_stats *st);
/* The most labels any point of ds has (lab_max of the statistics, in one pass). */
int64_t slide_data_max_labels(const slide_data *ds);

#ifdef __cplusplus
}
#endif
#endif
