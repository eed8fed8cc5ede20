/* Internal to core/src/kern: the kernel table each ISA file exports, and the tail-mask
 * helpers the SIMD files share. Callers outside kern/ use slide/kern.h only. */
#ifndef SLIDE_KERN_INTERNAL_H
#define SLIDE_KERN_INTERNAL_H

#include "slide/kern.h"

/* Rows ahead that gather_dot / sparse_rows_sum prefetch (memory-bound gathers need several
 * rows in flight to hide DRAM latency; resident rows lose nothing by it). */
#ifndef SLIDE_KERN_PF_ROWS
#define SLIDE_KERN_PF_ROWS 8
#endif
/* Most bytes of one prefetched row: the hardware prefetcher follows a long row by itself. */
#ifndef SLIDE_KERN_PF_BYTES
#define SLIDE_KERN_PF_BYTES 1024
#endif

/* Always compiled (kern_scalar.c, built without auto-vectorisation). */
extern const slide_kern slide_kern_scalar;
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
extern const slide_kern slide_kern_avx2;
#endif
#if defined(SLIDE_HAVE_AVX512) && SLIDE_HAVE_AVX512
extern const slide_kern slide_kern_avx512;
#endif

#endif
