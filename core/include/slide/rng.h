/* Small deterministic RNG (splitmix64 seeding + xoshiro256**). One state per thread: never
 * share a state between threads, never use rand(). Header-only so hot loops inline it. */
#ifndef SLIDE_RNG_H
#define SLIDE_RNG_H

#include <stdint.h>

typedef struct slide_rng_s {
    uint64_t s[4];
} slide_rng;

static inline uint64_t slide_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Stateless 32-bit mix (MurmurHash3's finalizer): a bijection whose bits pass as independent
 * uniform bits for consecutive inputs (SimHash entries, stochastic rounding). */
static inline uint32_t slide_mix32(uint32_t z) {
    z ^= z >> 16;
    z *= 0x85ebca6bu;
    z ^= z >> 13;
    z *= 0xc2b2ae35u;
    z ^= z >> 16;
    return z;
}

/* Stateless 64-bit mix of a value (for hashing ids/keys). */
static inline uint64_t slide_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Seeds from (seed, stream): different streams (e.g. thread ids) give independent sequences. */
static inline void slide_rng_seed(slide_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ slide_mix64(stream + 0x632BE59BD9B4E019ULL);
    for (int i = 0; i < 4; i++) r->s[i] = slide_splitmix64(&x);
}

static inline uint64_t slide_rng_next(slide_rng *r) {
    uint64_t *s = r->s;
    uint64_t t = s[1] << 17;
    uint64_t res = s[1] * 5;
    res = ((res << 7) | (res >> 57)) * 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return res;
}

/* Uniform in [0, n) without modulo bias worth caring about (Lemire's multiply-shift). */
static inline uint32_t slide_rng_below(slide_rng *r, uint32_t n) {
    return (uint32_t)(((slide_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform float in [0, 1). */
static inline float slide_rng_uniform(slide_rng *r) {
    return (float)(slide_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform double in [0, 1). */
static inline double slide_rng_uniform_d(slide_rng *r) {
    return (double)(slide_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller, one value per call). */
#ifdef __cplusplus
extern "C" {
#endif
float slide_rng_normal(slide_rng *r);
#ifdef __cplusplus
}
#endif

#endif
