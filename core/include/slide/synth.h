/* Synthetic extreme-classification data with the shapes of the real sets (Amazon-670K,
 * Delicious-200K) and learnable structure; deterministic from a seed. */
#ifndef SLIDE_SYNTH_H
#define SLIDE_SYNTH_H

#include "slide/data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;
    int64_t d, l;               /* features, labels at label_scale 1 */
    int64_t n_train, n_test;    /* points at scale 1 */
    double labels_per_point;    /* mean */
    double nnz_per_point;       /* mean */
    double zipf_s;              /* label-frequency exponent */
} slide_synth_preset;

/* "amazon670k", "delicious200k", "tiny"; NULL if unknown. */
const slide_synth_preset *slide_synth_preset_find(const char *name);

typedef struct {
    const char *preset;  /* preset name */
    double scale;        /* (0, 1]: fraction of points */
    double label_scale;  /* (0, 1]: fraction of labels and features */
    uint64_t seed;
    int threads;         /* OpenMP threads, 1..1024 (default 1); the data do not depend on it */
} slide_synth_params;

slide_synth_params slide_synth_params_default(void);
const char *slide_synth_params_check(const slide_synth_params *p);

/* Generates train and test sets. Caller owns both (slide_data_free). Same params, same data. */
int slide_synth_generate(const slide_synth_params *p, slide_data *train, slide_data *test,
                         slide_err *err);

#ifdef __cplusplus
}
#endif
#endif
