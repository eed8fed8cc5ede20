/* Internal to the hash module (hash.c, hash_simhash.c, hash_wta.c, kern/hash_*.c): the object,
 * its constants, and the kernel table each instruction set provides. Callers use slide/hash.h.
 *
 * Conventions (see slide/hash.h):
 *  - K*L functions; table t uses functions t*K .. t*K+K-1. A table key packs the K codes,
 *    code k at bit (k % cpc) * bits of 64-bit chunk k / cpc (cpc = 64 / bits codes per chunk),
 *    so for K*bits <= 64 the key is the plain little-endian concatenation. When K*bits exceeds
 *    range_bits the chunks are mixed down: key = (b_t + sum_c a_{t,c} * chunk_c) >> (64 - range),
 *    a seeded multiply-shift (a odd) per table; otherwise the key is the raw concatenation.
 *  - SimHash entry (f, j) is -1, 0 or +1 from slide_mix32(base(f) ^ j*golden): kept with prob.
 *    ~1/sparsity, sign from the low bit. With dim*K*L <= 8M the entries are materialised as an
 *    int8 matrix in column panels; otherwise computed on the fly. Dense and sparse inputs go through
 *    the same code, accumulating in float over the nonzeros in index order; products x * (+-1)
 *    are exact, so the FMA (AVX2) and mul+add (scalar) paths agree bit for bit. Bit = proj > 0.
 *  - WTA/DWTA bins: consecutive draws from a stream of random permutations of 0..dim-1; a bin
 *    that straddles two permutations skips dims it already holds (a bin's dims are distinct, so
 *    dim >= bin_size is required). Code = slot of the max, ties to the lowest slot.
 *    WTA treats absent sparse entries as 0 (same as the dense form). DWTA only considers present
 *    entries (nonzero): the max over present entries wins even if negative; a bin without one is
 *    empty and is densified (dwta_densify). Sparse inputs reach their bins through an inverse
 *    map dim -> (function, slot) (CSR), so their cost is O(nnz * positions per dim).
 *  - Dense and sparse forms agree exactly for finite inputs with distinct sparse indices; for
 *    SimHash the sparse indices must also be ascending (the float sum follows the given order;
 *    WTA/DWTA do not depend on order). Sparse entries with an index outside [0, dim) are ignored.
 *  - Hot loops have a scalar reference (in the family's file) and an AVX2 version
 *    (kern/hash_avx2.c), chosen at creation from params.simd through a slide_hash_kern table;
 *    both give identical codes. Hashing calls allocate nothing (VLAs sized K*L).
 *  - The SimHash batch call (dim <= BATCH_MAX_DIM) puts 16 vectors in SIMD lanes and runs a
 *    per-projection program over their nonzero entries; same keys bit for bit (hash_simhash.c).
 */
#ifndef SLIDE_HASH_INTERNAL_H
#define SLIDE_HASH_INTERNAL_H

#include "slide/hash.h"
#include "slide/kern.h"
#include "slide/rng.h"
#include "slide/transform.h"

#include <math.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define DENSE_MAX_ENTRIES ((int64_t)8 << 20) /* materialise SimHash when dim*KL <= 8M */
#define WTA_MAX_DIM ((int64_t)1 << 24)       /* CSR inverse map: 4 * (dim + 1) bytes */
#define DENSIFY_ATTEMPTS 100 /* at most 128: attempts are kept in two 64-bit masks */
#define NO_SLOT 0xFFFFu /* "no slot" in top-2 records; "empty" in internal code arrays */
#define CHUNK 256       /* nonzeros gathered per SimHash kernel call */
#define BATCH_LANES 16  /* SimHash batch: vectors per block (two AVX2 registers per input row) */
#define BATCH_G 4       /* SimHash batch: projections accumulated together (one program group) */
/* SimHash batch: larger dims hash row by row. Keeps the byte offsets of the 2 * dim + 1 rows of a
 * block (64 bytes each) in uint16, and the block's scratch (64 * (2 * dim + 1) B) on the stack. */
#define BATCH_MAX_DIM 511

typedef struct slide_hash_kern slide_hash_kern;

struct slide_hash {
    slide_hash_params p;
    /* rotate: this object only rotates its inputs (rot, transform.h) and hands them to inner,
     * made with dim = rot.rdim */
    struct slide_hash *inner;
    slide_rotation rot;
    int KL, bits, raw_bits, key_bits, mixed, nchunks;
    uint8_t kchunk[SLIDE_HASH_MAX_K], kshift[SLIDE_HASH_MAX_K];
    uint64_t *mix_a; /* [L][4] odd multipliers */
    uint64_t *mix_b; /* [L] */
    const slide_hash_kern *kern; /* chosen at creation from p.simd */
    /* SimHash */
    uint64_t sim_seed;
    int32_t sim_thr; /* keep entry iff (z >> 1) <= sim_thr */
    int KLpad;       /* KL rounded up to 16 */
    int8_t *M;       /* entries in column panels (panel_width) or NULL; int8 saves bandwidth */
    /* Batch program (dim <= BATCH_MAX_DIM, else NULL): projections sorted by nonzero count and
     * taken BATCH_G at a time; group g has blen[g] steps at bprog + bstart[g], step i holding
     * the byte offset of one row of the transposed block per projection (sim_batch_build). */
    uint16_t *bprog;
    int32_t *bstart, *blen, *bcol; /* bcol: [groups * BATCH_G] projection, -1 for padding */
    int bgroups;
    /* WTA / DWTA */
    int B, bshift;
    int32_t *bins;    /* [KL][B] */
    int32_t *bins_t;  /* [KL/8 rounded up][B][8]: groups of 8 functions for the AVX2 kernel */
    int32_t *inv_ptr; /* [dim + 1] */
    int32_t *inv_pos; /* [KL * B]: position f * B + s, grouped by dim */
    uint16_t *dens_seq; /* DWTA: [KL][DENSIFY_ATTEMPTS] bins probed for an empty function */
    int dens_mode;      /* p.densify: 0 auto, 1 forward only, 2 inverse only */
    int32_t *dens_ptr;  /* DWTA: inverse of dens_seq (CSR over the probed bin) ... */
    uint32_t *dens_inv; /* ... entries (function << 8) | attempt */
};

/* The hot loops of one instruction set. Every entry gives the same bits as the scalar one. */
struct slide_hash_kern {
    const char *name; /* "scalar", "avx2": what slide_hash_simd_path reports */
    /* acc[0..KLpad) += sum_q vals[q] * M[rows[q]][.] over the column panels of M */
    void (*sim_rows)(const int8_t *M, int64_t dim, int KLpad, const int32_t *rows,
                     const float *vals, int n, float *acc);
    /* acc[0..KL) += v * entry(f, 0..KL), entries computed from base = sim_base(h, f) */
    void (*sim_otf)(uint32_t base, int32_t thr, float v, float *acc, int KL);
    /* SimHash batch: colmask[j] bit v = (projection j of lane v > 0) */
    void (*sim_batch)(const slide_hash *h, const float *xT, uint16_t *colmask);
    /* SimHash batch: raw[l] = the K bits of one table from its K lane masks */
    void (*sim_batch_raw)(const uint16_t *cm, int K, uint32_t *raw);
    /* SimHash batch: the transposed block of BATCH_LANES full rows (NULL: the scalar one);
     * returns the lanes whose row holds an inf or NaN */
    unsigned (*sim_batch_transpose)(const float *x, int64_t stride, int64_t dim, float *xT);
    /* WTA/DWTA winners of a dense x, with margin/alt the top-2 records (both or neither) */
    void (*wta_dense)(const slide_hash *h, const float *x, int dwta, uint16_t *code,
                      float *margin, uint16_t *alt);
};

extern const slide_hash_kern slide_hash_kern_scalar; /* hash.c */
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
extern const slide_hash_kern slide_hash_kern_avx2; /* kern/hash_avx2.c */
#endif

/* ------------------------------------------------------------------ SimHash entries */

static inline uint32_t sim_base(const slide_hash *h, int64_t f) {
    return (uint32_t)slide_mix64(h->sim_seed ^ ((uint64_t)f * 0x9E3779B97F4A7C15ULL));
}

ALWAYS_INLINE float sim_entry(uint32_t base, int j, int32_t thr) {
    uint32_t z = slide_mix32(base ^ ((uint32_t)j * 0x9E3779B9u));
    float s = (z & 1u) ? -1.0f : 1.0f;
    return ((int32_t)(z >> 1) <= thr) ? s : 0.0f;
}

/* The materialised matrix is stored in column panels of width 64 (then 32, 16 for the rest of
 * KLpad): panel [c0, c0 + w) holds rows 0..dim-1 of w entries each at M + c0 * dim, so a dense
 * input streams every panel contiguously. */
static inline int panel_width(int c0, int KLpad) {
    const int left = KLpad - c0;
    return left >= 64 ? 64 : left >= 32 ? 32 : 16;
}

/* acc[0..KL) += v * entry(f, 0..KL) computed on the fly. */
ALWAYS_INLINE void sim_otf_body(uint32_t base, int32_t thr, float v, float *acc, int KL) {
    for (int j = 0; j < KL; j++) acc[j] += v * sim_entry(base, j, thr);
}

/* ------------------------------------------------------------------ family entry points */

/* SimHash (hash_simhash.c): construction, codes (margin/alt both or neither, for probes), the
 * batch block, and the scalar kernels of slide_hash_kern_scalar. */
int slide_hash_sim_build(slide_hash *h, slide_err *err);
int slide_hash_sim_batch_build(slide_hash *h, slide_err *err);
void slide_hash_sim_codes_dense(const slide_hash *h, const float *x, uint16_t *code,
                                float *margin, uint16_t *alt);
void slide_hash_sim_codes_sparse(const slide_hash *h, const int32_t *idx, const float *val,
                                 int nnz, uint16_t *code, float *margin, uint16_t *alt);
void slide_hash_sim_batch_block(const slide_hash *h, const float *x, int64_t stride, int64_t n,
                                int64_t i0, uint32_t *keys);
void slide_hash_sim_rows_scalar(const int8_t *M, int64_t dim, int KLpad, const int32_t *rows,
                                const float *vals, int n, float *acc);
void slide_hash_sim_otf_scalar(uint32_t base, int32_t thr, float v, float *acc, int KL);
void slide_hash_sim_batch_scalar(const slide_hash *h, const float *xT, uint16_t *colmask);
void slide_hash_sim_batch_raw_scalar(const uint16_t *cm, int K, uint32_t *raw);

/* WTA / DWTA (hash_wta.c): construction, codes (densified for DWTA), the scalar kernel. */
int slide_hash_wta_build_bins(slide_hash *h, slide_err *err);
int slide_hash_dwta_build_seq(slide_hash *h, slide_rng *rng, slide_err *err);
void slide_hash_wta_codes_dense(const slide_hash *h, const float *x, uint16_t *code,
                                float *margin, uint16_t *alt);
void slide_hash_wta_codes_sparse(const slide_hash *h, const int32_t *idx, const float *val,
                                 int nnz, uint16_t *code, float *margin, uint16_t *alt);
void slide_hash_wta_dense_scalar(const slide_hash *h, const float *x, int dwta, uint16_t *code,
                                 float *margin, uint16_t *alt);

#endif
