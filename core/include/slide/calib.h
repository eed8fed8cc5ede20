/* Calibration statistics of a data set pair (real or synthetic): per-point count spreads, the
 * sorted label-frequency curve and its gap to another set's, and two reference P@1 values. */
#ifndef SLIDE_CALIB_H
#define SLIDE_CALIB_H

#include "slide/data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double lab_mean, lab_sd;  /* labels per point (population sd) */
    double nnz_mean, nnz_sd;  /* nonzeros per point */
    double nnz_median;        /* nonzeros per point, middle value */
} slide_calib_counts;

void slide_calib_point_counts(const slide_data *ds, slide_calib_counts *c);

/* Points per label, sorted in decreasing order, into cnt[0, ds->l) (caller's array). */
void slide_calib_label_curve(const slide_data *ds, int64_t *cnt);

/* The curve's share of points at rank fraction q in [0, 1]: cnt[min(floor(q * l), l - 1)] / n. */
double slide_calib_curve_at(const int64_t *cnt, int64_t l, int64_t n, double q);

/* Largest |log2| ratio of two sorted curves, each as a share of its set's points, compared at
 * rank fractions q = (i + 0.5) / max(la, lb) up to 1 - tail (tail = 0.01 leaves out the rarest
 * 1 % of labels). A label with no point counts as half a point. Returns the gap (a factor
 * of 2^gap) and the rank fraction where it is largest in *q_at (may be NULL). */
double slide_calib_curve_gap(const int64_t *ca, int64_t la, int64_t na, const int64_t *cb,
                             int64_t lb, int64_t nb, double tail, double *q_at);

/* P@1 on te's labelled points of always predicting tr's most frequent label (*label: its id).
 * SLIDE_EINVAL when the label spaces differ or te has no labelled point. */
int slide_calib_p1_most_frequent(const slide_data *tr, const slide_data *te, double *p1,
                                 int32_t *label, slide_err *err);

/* Nearest-centroid P@1: each label's centroid is the sum of tr's L2-normalised points carrying
 * it; a te point (labelled ones only) predicts the label of largest cosine. max_points > 0 uses
 * a seeded random subset of at most that many points of each set (0: all). *n_eval gets the
 * number of te points scored. tr and te are not modified. */
int slide_calib_p1_centroid(const slide_data *tr, const slide_data *te, int64_t max_points,
                            uint64_t seed, int threads, double *p1, int64_t *n_eval,
                            slide_err *err);

#ifdef __cplusplus
}
#endif
#endif
