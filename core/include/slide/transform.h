/* Vector transforms applied before hashing: the seeded random rotation of WTA/DWTA (rotate = 1)
 * and the asymmetric MIPS transform of a sampled layer (mips = 1). Plain functions, no state. */
#ifndef SLIDE_TRANSFORM_H
#define SLIDE_TRANSFORM_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* R = three rounds of (random signs, Walsh-Hadamard transform) over dim zero-padded to rdim, the
 * next power of two; the 1/sqrt(rdim) of each round is folded into the last round's signs.
 * R is orthogonal: it preserves inner products. */
typedef struct {
    int64_t dim, rdim;
    float *sign; /* [3][rdim] */
} slide_rotation;

/* Draws the signs from seed. Caller frees with slide_rotation_free (also after a failure). */
int slide_rotation_init(slide_rotation *r, int64_t dim, uint64_t seed, slide_err *err);
void slide_rotation_free(slide_rotation *r);
/* y[0..rdim) = R x, x of dim floats. */
void slide_rotation_apply(const slide_rotation *r, const float *x, float *y);
/* y[0..rdim) = R x for the sparse x (indices outside [0, dim) ignored; a repeated index keeps
 * its last value). */
void slide_rotation_apply_sparse(const slide_rotation *r, const int32_t *idx, const float *val,
                                 int nnz, float *y);

/* Asymmetric MIPS transform over [w, b] (Shrivastava & Li 2014): a row becomes
 * P = [w/M, b/M, sqrt(1 - |[w, b]/M|^2)] (M = the largest |[w, b]| of the layer), a query x
 * becomes Q = [x, 1, 0] / |[x, 1]|, so that the angle of P and Q follows w.x + b. Both write
 * d + 2 floats. */
/* |[w, b]|^2, summed in double from b^2 then w[0], w[1], ... */
double slide_mips_sqnorm(const float *w, float b, int64_t d);
/* M from the largest squared norm (1 when it is 0). */
float slide_mips_scale(double max_sqnorm);
/* out may equal w (each out[j] is written after w[j] is read). Rows that grew beyond M since it
 * was computed are clamped onto the sphere (last coordinate 0). */
void slide_mips_row(const float *w, float b, int64_t d, float scale, float *out);
void slide_mips_query(const float *x, int64_t d, float *out);

#ifdef __cplusplus
}
#endif
#endif
