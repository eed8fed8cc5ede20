/* Internal to core/src/kern: the kernel table each ISA file exports, and the tail-mask
 * helpers the SIMD files share. Callers outside kern/ use slide/kern.h only. */
#ifndef SLIDE_KERN_INTERNAL_H
#define SLIDE_KERN_INTERNAL_H

#include "slide/kern.h"

#include <math.h>
#include <string.h>

/* Rows ahead that gather_dot / sparse_rows_sum prefetch (memory-bound gathers need several
 * rows in flight to hide DRAM latency; resident rows lose nothing by it). */
#ifndef SLIDE_KERN_PF_ROWS
#define SLIDE_KERN_PF_ROWS 8
#endif
/* Most bytes of one prefetched row: the hardware prefetcher follows a long row by itself. */
#ifndef SLIDE_KERN_PF_BYTES
#define SLIDE_KERN_PF_BYTES 1024
#endif

/* One element of adam_bf16 / adam_bf16w (kern.h), the scalar reference and the SIMD paths'
 * tails: moments m[i], v[i] widened, stepped in fp32 and stored back with stochastic rounding
 * from r = slide_mix32(seed + i) (*r_out); g[i] = 0; returns w - step. */
static inline float slide_adam_bf16_step(float w, uint16_t *m, uint16_t *v, float *g, int64_t i,
                                         float lr_t, float b1, float b2, float eps,
                                         uint32_t seed, uint32_t *r_out) {
    /* no FMA contraction (clang's default contracts even in ISO C mode; gcc's -std=c11 does
     * not): the SIMD paths' tails must round exactly as the scalar reference does */
#pragma STDC FP_CONTRACT OFF
    uint32_t mu = (uint32_t)m[i] << 16, vu = (uint32_t)v[i] << 16;
    float mf, vf;
    memcpy(&mf, &mu, sizeof mf);
    memcpy(&vf, &vu, sizeof vf);
    float mm = b1 * mf + (1.0f - b1) * g[i];
    float vv = b2 * vf + (1.0f - b2) * g[i] * g[i];
    w = w - lr_t * mm / (sqrtf(vv) + eps);
    uint32_t r = slide_mix32(seed + (uint32_t)i);
    m[i] = slide_bf16_sr(mm, r);
    v[i] = slide_bf16_sr(vv, r >> 16);
    g[i] = 0.0f;
    *r_out = r;
    return w;
}

/* One element of adam_bf16: fp32 w. */
static inline void slide_adam_bf16_one(float *w, uint16_t *m, uint16_t *v, float *g, int64_t i,
                                       float lr_t, float b1, float b2, float eps, uint32_t seed) {
    uint32_t r;
    w[i] = slide_adam_bf16_step(w[i], m, v, g, i, lr_t, b1, b2, eps, seed, &r);
}

/* One element of adam_bf16w: w widened too, moved as in adam_bf16, and stored back with
 * stochastic rounding from the low half of slide_mix32(r), r being the moments' bits. */
static inline void slide_adam_bf16w_one(uint16_t *w, uint16_t *m, uint16_t *v, float *g,
                                        int64_t i, float lr_t, float b1, float b2, float eps,
                                        uint32_t seed) {
    uint32_t wu = (uint32_t)w[i] << 16, r;
    float wf;
    memcpy(&wf, &wu, sizeof wf);
    wf = slide_adam_bf16_step(wf, m, v, g, i, lr_t, b1, b2, eps, seed, &r);
    w[i] = slide_bf16_sr(wf, slide_mix32(r));
}

/* Always compiled (kern_scalar.c, built without auto-vectorisation). */
extern const slide_kern slide_kern_scalar;
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
extern const slide_kern slide_kern_avx2;
#endif
#if defined(SLIDE_HAVE_AVX512) && SLIDE_HAVE_AVX512
extern const slide_kern slide_kern_avx512;
#endif

#endif
