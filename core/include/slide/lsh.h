/* LSH tables: L tables of 2^range_bits buckets of neuron ids, bounded bucket capacity with FIFO
 * or reservoir (Vitter's algorithm R) insertion, deduplicated union queries with multi-probe.
 * Memory scales with the number of stored ids, not with buckets x capacity. */
#ifndef SLIDE_LSH_H
#define SLIDE_LSH_H

#include "slide/common.h"
#include "slide/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SLIDE_BUCKET_FIFO = 0, SLIDE_BUCKET_RESERVOIR = 1 } slide_bucket_policy;

typedef struct {
    int L;              /* tables, 1..1024 */
    int range_bits;     /* 1..20: 2^range_bits buckets per table */
    int bucket_cap;     /* max ids per bucket, 1..65535; default 128 */
    int policy;         /* slide_bucket_policy */
    int64_t max_ids;    /* ids are in [0, max_ids); 1..2^31-1 */
    uint64_t seed;      /* reservoir sampling randomness */
    int threads;        /* OpenMP threads of build and clear, 1..1024; default 1 */
} slide_lsh_params;

slide_lsh_params slide_lsh_params_default(void);
const char *slide_lsh_params_check(const slide_lsh_params *p);
const char *slide_bucket_policy_name(int policy);
int slide_bucket_policy_parse(const char *s); /* "fifo" | "reservoir", -1 if unknown */

typedef struct slide_lsh slide_lsh;

int slide_lsh_create(slide_lsh **out, const slide_lsh_params *p, slide_err *err);
void slide_lsh_destroy(slide_lsh *t);
const slide_lsh_params *slide_lsh_params_of(const slide_lsh *t);

/* Inserts id into bucket keys[t] of every table t (keys: L entries, each < 2^range_bits).
 * Not safe concurrently with other inserts/removes or queries on the same object. */
int slide_lsh_insert(slide_lsh *t, uint32_t id, const uint32_t *keys);
/* Removes id from bucket keys[t] of every table (no-op where absent). Same threading rule. */
void slide_lsh_remove(slide_lsh *t, uint32_t id, const uint32_t *keys);
/* Empties every bucket in place (keeps memory for reuse). */
void slide_lsh_clear(slide_lsh *t);
/* Clears, then inserts ids 0..n-1 with keys[i*L + t], tables built in parallel (OpenMP over
 * tables); deterministic for a given seed regardless of thread count. */
int slide_lsh_build(slide_lsh *t, const uint32_t *keys, int64_t n, slide_err *err);

typedef struct {
    int64_t buckets_probed;   /* distinct (table, key) pairs looked up */
    int64_t candidates_raw;   /* ids in those buckets, before dedup */
    int64_t union_ids;        /* distinct ids among them (not taken already) */
    int64_t candidates;       /* ids returned */
} slide_lsh_query_stats;

/* Per-thread query scratch (dedup marks sized max_ids), for queries of up to max_per_table keys
 * per table (L x max_per_table <= 65535; NULL otherwise or out of memory). Sized once: a query
 * never allocates. Caller owns; one per thread. */
typedef struct slide_lsh_scratch slide_lsh_scratch;
slide_lsh_scratch *slide_lsh_scratch_create(const slide_lsh *t, int max_per_table);
/* Bytes of scratch slide_lsh_build allocates (and frees before it returns) for n ids. */
size_t slide_lsh_build_scratch_bytes(const slide_lsh_params *p, int64_t n);
/* Bytes slide_lsh_scratch_create allocates for these sizes (memory plans). */
size_t slide_lsh_scratch_bytes(int64_t max_ids, int L, int max_per_table);
void slide_lsh_scratch_destroy(slide_lsh_scratch *s);

/* The query training runs (and slide-micro measures). The union of the buckets keys select
 * (L * per_table entries, as slide_hash_keys_* lay them out: per table the main key, then
 * probes; a key repeated within a table counts once), skipping ids marked in `taken` (a bitmap
 * of max_ids bits; may be NULL). Each id's collision count is the number of those buckets
 * holding it. When more than `room` ids remain, the most collided win (the count estimates
 * similarity) and ties at the threshold are kept by selection sampling with rng (NULL: the
 * first found). Writes the kept ids to out in the order found (out holds room ids), marks them
 * in taken, and returns how many (-SLIDE_EINVAL for bad arguments, including more keys per
 * table than the scratch was created for). Safe to call
 * concurrently from many threads, each with its own scratch (and bitmap, rng), when no
 * insert/remove/build runs. stats may be NULL. */
int64_t slide_lsh_query_ranked(const slide_lsh *t, const uint32_t *keys, int per_table,
                               int64_t room, uint32_t *out, uint64_t *taken, slide_rng *rng,
                               slide_lsh_scratch *s, slide_lsh_query_stats *stats);
/* slide_lsh_query_ranked without a bitmap or rng: at most max_out ids (all of them, in the order
 * found, when the union fits). */
int64_t slide_lsh_query(const slide_lsh *t, const uint32_t *keys, int per_table, uint32_t *out,
                        int64_t max_out, slide_lsh_scratch *s, slide_lsh_query_stats *stats);

/* Number of ids in one bucket and a pointer to them (valid until the next modification). */
int slide_lsh_bucket(const slide_lsh *t, int table, uint32_t key, const uint32_t **ids);
/* Prefetches the header of bucket `key` of `table` (a hint: no effect on results; invalid
 * arguments are ignored). Queries that look up many buckets prefetch them all first. */
void slide_lsh_prefetch(const slide_lsh *t, int table, uint32_t key);
/* Bytes the tables of these parameters hold after a build that stores all max_ids ids (bucket
 * overflows store fewer): the memory plan's figure. */
size_t slide_lsh_plan_bytes(const slide_lsh_params *p);
/* Bytes allocated by the tables (excluding scratch). */
size_t slide_lsh_memory_bytes(const slide_lsh *t);
/* Total stored ids over all tables. */
int64_t slide_lsh_size(const slide_lsh *t);

#ifdef __cplusplus
}
#endif
#endif
