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

/* One element of adam_bf16 (kern.h): the scalar reference, and the SIMD paths' tails. */
static inline void slide_adam_bf16_one(float *w, uint16_t *m, uint16_t *v, float *g, int64_t i,
                                       float lr_t, float b1, float b2, float eps, uint32_t seed) {
    /* no FMA contraction (clang's default contracts even in ISO C mode; gcc's -std=c11 does
     * not): the SIMD paths' tails must round exactly as the scalar reference does */
#pragma STDC FP_CONTRACT OFF
    uint32_t mu = (uint32_t)m[i] << 16, vu = (uint32_t)v[i] << 16;
    float mf, vf;
    memcpy(&mf, &mu, sizeof mf);
    memcpy(&vf, &vu, sizeof vf);
    float mm = b1 * mf + (1.0f - b1) * g[i];
    float vv = b2 * vf + (1.0f - b2) * g[i] * g[i];
    w[i] -= lr_t * mm / (sqrtf(vv) + eps);
    uint32_t r = slide_mix32(seed + (uint32_t)i);
    m[i] = slide_bf16_sr(mm, r);
    v[i] = slide_bf16_sr(vv, r >> 16);
    g[i] = 0.0f;
}

/* One element of adam_bf16w (kern.h): w widened too, moved as in adam_bf16, and stored back
 * with stochastic rounding from the low half of slide_mix32(r), r being the moments' bits. */
static inline void slide_adam_bf16w_one(uint16_t *w, uint16_t *m, uint16_t *v, float *g,
                                        int64_t i, float lr_t, float b1, float b2, float eps,
                                        uint32_t seed) {
#pragma STDC FP_CONTRACT OFF
    uint32_t wu = (uint32_t)w[i] << 16, mu = (uint32_t)m[i] << 16, vu = (uint32_t)v[i] << 16;
    float wf, mf, vf;
    memcpy(&wf, &wu, sizeof wf);
    memcpy(&mf, &mu, sizeof mf);
    memcpy(&vf, &vu, sizeof vf);
    float mm = b1 * mf + (1.0f - b1) * g[i];
    float vv = b2 * vf + (1.0f - b2) * g[i] * g[i];
    wf = wf - lr_t * mm / (sqrtf(vv) + eps);
    uint32_t r = slide_mix32(seed + (uint32_t)i);
    m[i] = slide_bf16_sr(mm, r);
    v[i] = slide_bf16_sr(vv, r >> 16);
    w[i] = slide_bf16_sr(wf, slide_mix32(r));
    g[i] = 0.0f;
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
