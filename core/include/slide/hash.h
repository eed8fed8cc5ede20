/* LSH hash families (SimHash, WTA, DWTA) producing L table keys of K functions each, for
 * dense vectors (weights, activations) and sparse vectors (input layer). Seeded, deterministic,
 * thread-safe after creation (all hashing calls are const on the object). */
#ifndef SLIDE_HASH_H
#define SLIDE_HASH_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SLIDE_HASH_SIMHASH = 0, SLIDE_HASH_WTA = 1, SLIDE_HASH_DWTA = 2 } slide_hash_family;

#define SLIDE_HASH_MAX_K 32
#define SLIDE_HASH_MAX_L 1024
#define SLIDE_HASH_MAX_PROBES 16
/* Most hash functions per object (K*L). Hashing calls allocate nothing; their per-function
 * scratch lives on the stack: at most ~40 bytes per function (160 KB at this limit, ~12 KB for
 * K*L = 300). */
#define SLIDE_HASH_MAX_KL 4096

typedef struct {
    int family;       /* slide_hash_family */
    int K;            /* hash functions per table: 1..SLIDE_HASH_MAX_K */
    int L;            /* tables: 1..SLIDE_HASH_MAX_L */
    int64_t dim;      /* input dimension (>= 1) */
    int range_bits;   /* bits of a table key, 1..24. Raw key width = K * bits_per_function;
                         if wider than range_bits it is mixed down to range_bits. */
    int bin_size;     /* WTA/DWTA: power of two 2..256; default 8 (3 bits per function) */
    int sparsity;     /* SimHash: each projection keeps about 1/sparsity of the dims
                         (the original SLIDE's "ratio"); 1 = dense projections. Default 3. */
    uint64_t seed;
    int rotate;       /* WTA/DWTA, 0 or 1: hash R x instead of x, R a fixed random rotation
                         (three rounds of random signs and a Walsh-Hadamard transform over dim
                         padded to a power of two, at most SLIDE_HASH_MAX_ROTATE_DIM). Rank codes
                         ignore what all coordinates share (adding c to every coordinate changes
                         no argmax), while inner products and cosines do not; after R the shared
                         part is spread over the coordinates, so collisions follow the cosine of
                         dense vectors as for Gaussian ones. R preserves inner products
                         (slide/transform.h). */
    /* Run-time choices, not model state (checkpoints do not store them); keys are identical
     * whatever they are set to. */
    int simd;         /* kernels (slide_simd, slide/kern.h): SLIDE_SIMD_SCALAR, _AVX2 or _AVX512
                         (which uses the AVX2 kernels); -1 (the default) = the best this CPU runs */
    int densify;      /* DWTA: how an empty bin finds its source (same codes either way): 0 auto
                         (the cheaper side per call, the default), 1 forward probing only,
                         2 from the non-empty bins only */
} slide_hash_params;
#define SLIDE_HASH_MAX_ROTATE_DIM 4096

slide_hash_params slide_hash_params_default(void);
/* NULL if valid, else a one-line message naming the offending parameter. */
const char *slide_hash_params_check(const slide_hash_params *p);
const char *slide_hash_family_name(int family);
/* Parses "simhash" / "wta" / "dwta"; returns -1 if unknown. */
int slide_hash_family_parse(const char *s);

typedef struct slide_hash slide_hash;

/* Creates the hash functions. Caller owns *out (slide_hash_destroy). */
int slide_hash_create(slide_hash **out, const slide_hash_params *p, slide_err *err);
void slide_hash_destroy(slide_hash *h);
const slide_hash_params *slide_hash_params_of(const slide_hash *h);
/* Bits of a key actually produced: min(range_bits, K * bits_per_function). */
int slide_hash_key_bits(const slide_hash *h);
/* The key bits a hash of (valid) parameters p has: slide_hash_key_bits of the created hash. */
int slide_hash_params_key_bits(const slide_hash_params *p);
/* Bits one hash function contributes (1 for SimHash, log2(bin_size) for WTA/DWTA). */
int slide_hash_bits_per_function(const slide_hash *h);

/* Raw codes: K*L codes, codes[t*K + k] in [0, 2^bits_per_function). Mostly for tests. */
void slide_hash_codes_dense(const slide_hash *h, const float *x, uint32_t *codes);
void slide_hash_codes_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                             uint32_t *codes);

/* Table keys. keys has L * (1 + n_probes) entries: keys[t * (1 + n_probes) + 0] is table t's
 * key; the following n_probes entries are its multi-probe keys in order of preference
 * (SimHash: flip the bits with the smallest |projection|; WTA/DWTA: replace a bin's winner by its
 * runner-up, smallest margin first). n_probes in 0..SLIDE_HASH_MAX_PROBES. Probe keys equal to
 * the main key are allowed (the table dedups). Dense and sparse forms of the same vector give
 * the same keys (finite values, distinct sparse indices; SimHash also needs them ascending, as
 * its float sums follow the given order). Sparse entries with an index outside [0, dim) are
 * ignored. WTA/DWTA require dim >= bin_size (a bin holds distinct dims) and dim <= 2^24. */
void slide_hash_keys_dense(const slide_hash *h, const float *x, int n_probes, uint32_t *keys);
void slide_hash_keys_sparse(const slide_hash *h, const int32_t *idx, const float *val, int nnz,
                            int n_probes, uint32_t *keys);

/* Introspection for tests and tools. WTA/DWTA: sets *dims to the bin_size input dimensions that
 * function j (0..K*L-1) reads (with rotate: dimensions of the rotated vector), in slot order
 * (code = slot of the winner), and returns bin_size;
 * returns 0 for SimHash or j out of range. */
int slide_hash_bin_dims(const slide_hash *h, int j, const int32_t **dims);
/* SimHash: the projection entry (-1, 0 or +1) of function j at input dimension f; 0 for other
 * families or out-of-range arguments. */
int slide_hash_simhash_entry(const slide_hash *h, int64_t f, int j);
/* Which kernels this object uses: "avx2" or "scalar" (chosen at creation from params.simd).
 * Both give identical codes. */
const char *slide_hash_simd_path(const slide_hash *h);
/* With rotate: writes R x (padded dimension, returned) into out (room for that many floats);
 * returns 0 without rotate. For tests. */
int64_t slide_hash_rotate(const slide_hash *h, const float *x, float *out);

/* Hashes n dense rows (row i at x + i*stride) in parallel (OpenMP), no probes:
 * keys[i*L + t], equal to slide_hash_keys_dense(h, row i, 0, keys + i*L) bit for bit.
 * SimHash with dim <= 511 hashes blocks of 16 rows together (each projection reads the block,
 * rows in SIMD lanes; about 64 * (2 * dim + 1) bytes of stack per thread); rows holding an inf
 * or NaN, other families and larger dims go row by row. */
void slide_hash_keys_dense_batch(const slide_hash *h, const float *x, int64_t stride, int64_t n,
                                 uint32_t *keys, int threads);

#ifdef __cplusplus
}
#endif
#endif
