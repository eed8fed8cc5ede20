/* Synthetic extreme-classification data with the shapes of the real sets (Amazon-670K,
 * Delicious-200K, Delicious, Amazon-3M) and learnable structure; deterministic from a seed. */
#ifndef SLIDE_SYNTH_H
#define SLIDE_SYNTH_H

#include "slide/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A preset: the shape of a data set and the knobs of its structure (synth.c describes the
 * model). Every field can be overridden by name (slide_synth_preset_set). */
typedef struct {
    const char *name;
    int64_t d, l;               /* features, labels at label_scale 1 */
    int64_t n_train, n_test;    /* points at scale 1 */
    double labels_per_point;    /* mean */
    double nnz_per_point;       /* mean */
    double zipf_s;              /* label-frequency exponent */
    double zipf_q;              /* Zipf-Mandelbrot shift of label ranks (flattens the head) */
    int topic_size;             /* labels per topic: a block of consecutive frequency ranks */
    int topic_stride;           /* 1: topic = rank mod the number of topics, not a block */
    double p_topic;             /* chance that a point's next label comes from its topic */
    double p_char;              /* share of a point's features drawn from its labels' sets */
    int char_min, char_max;     /* characteristic features per label */
    double topic_share;         /* share of a label's characteristic features its topic owns */
    double feat_s, feat_q;      /* Zipf of the noise features */
    double spread;              /* relative spread of the per-point Poisson count means */
    double lab_sigma;           /* > 0: labels per point lognormal with this log-sd, else Poisson */
    int lab_max;                /* cap of labels per point (0: 4 x mean + 64) */
    int lab_reverse;            /* 1: labels per point = lab_max + 1 - the draw (piles up below
                                 * the cap, as tag lists cut at a fixed length do) */
    double nnz_sigma;           /* > 0: nonzeros per point lognormal with this log-sd */
    int nnz_max;                /* cap of nonzeros per point (0: 4 x mean + 64) */
    int binary;                 /* 1: every feature value is 1 (bag of words without weights) */
} slide_synth_preset;

/* "amazon670k", "delicious200k", "delicious-small", "amazon3m", the earlier generator's
 * "amazon670k-v1", "delicious200k-v1", and "tiny"; NULL if unknown. */
const slide_synth_preset *slide_synth_preset_find(const char *name);
/* The preset names, comma separated (for messages). */
const char *slide_synth_preset_names(void);

/* Sets the field named key ("zipf-s", "topic-size", "labels-per-point", ...; '_' works as '-')
 * from text. Returns NULL, or a one-line message naming the key and the valid range. */
const char *slide_synth_preset_set(slide_synth_preset *p, const char *key, const char *value);
/* Checks the fields together (ranges, char_min <= char_max, caps above the means); NULL if ok. */
const char *slide_synth_preset_check(const slide_synth_preset *p);
/* The knob names with their range and meaning, one per line of at most 100 columns. */
void slide_synth_preset_help(FILE *f);
/* Every field as "key = value" lines, the format slide_synth_preset_load reads. */
void slide_synth_preset_write(FILE *f, const slide_synth_preset *p);
/* Applies "key = value" lines of a file (# comments, blank lines) on top of *p; a line
 * "preset = NAME" first replaces *p by that preset. Errors name the file and line. */
int slide_synth_preset_load(slide_synth_preset *p, const char *path, slide_err *err);

typedef struct {
    const char *preset;  /* preset name */
    const slide_synth_preset *custom; /* when set, used instead of the named preset */
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
