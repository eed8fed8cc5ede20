/* LSH tables: L tables of 2^range_bits buckets of neuron ids with bounded FIFO / reservoir
 * buckets, built CSR-style in parallel over tables, and deduplicated multi-probe union queries.
 *
 * Layout (memory scales with stored ids, not buckets x capacity):
 * - Per table, an array of 8-byte bucket headers {off:u32, count:u16, capa:u16} and one arena of
 *   u32 words holding every bucket's block. A block has `capa` id slots; a block of the full size
 *   (capa == cap) has one extra word after its ids: for FIFO the next slot to overwrite once the
 *   bucket is full, for reservoir the number of ids offered (saturating u32) - so the per-bucket
 *   state of algorithm R costs memory only in buckets that can overflow.
 * - slide_lsh_build, per table: gather the table's key column (G tables per pass over the id-major
 *   keys), partition (key, id) pairs stably by the key's top bits so that later passes stay in
 *   cache, count offers per bucket (in the headers), lay blocks out back to back with
 *   capa = min(offered, cap) (prefix sums; the arena is sized exactly), then replay the inserts in
 *   id order per bucket into these presized blocks with the same code as slide_lsh_insert.
 *   Reservoir draws are counter-based (a hash of seed, table, bucket and offer number), so a
 *   build equals clear + insert of ids 0..n-1 (same ids, same slot order), and tables built in
 *   parallel (OpenMP over tables) give the same result for any thread count.
 * - Incremental inserts after a build grow a bucket through size classes 2,4,8,..,cap: a new
 *   block comes from the table's free list of that class or from the arena's end (the arena grows
 *   by 1/8); the old block goes to the free list of the largest class it can hold (an exactly
 *   sized CSR block of 3 ids serves later as a 2-id block; the rest waits for the next clear).
 *   Removes compact the block in place (blocks never shrink).
 * - Clear is in place: headers zeroed (only in tables touched since the last clear), arena and
 *   free lists reset; no memory is freed. A build reallocates a table's arena only when it is too
 *   small, or more than twice too large, for the new layout (then to the exact size + 1/16).
 * - Queries mark ids in a per-thread epoch array (u32 per id), so dedup is exact and costs no
 *   clearing; the object is read only, so any number of threads may query at once. */
#include "slide/lsh.h"
#include "slide/rng.h"

#include <omp.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#define LSH_MAX_L 1024
#define LSH_MAX_RANGE_BITS 20
#define LSH_MAX_CAP 65535
#define LSH_NIL UINT32_MAX
/* Free lists 0..16 hold blocks of 2^k slots (2^k < cap); list LSH_TOP holds full-size blocks. */
#define LSH_TOP 17
#define LSH_NLISTS 18
/* Below this many headers / keys a loop runs on the calling thread (fork-join costs more). */
#define LSH_PAR_MIN (1 << 16)

typedef struct {
    uint32_t off;   /* first word of the block in the table's arena */
    uint16_t count; /* ids stored */
    uint16_t capa;  /* id slots of the block (0: no block) */
} lsh_bucket;

typedef struct {
    lsh_bucket *b;      /* 2^range_bits headers */
    uint32_t *words;    /* arena */
    size_t used;        /* words handed out from the arena's start */
    size_t capacity;    /* words allocated */
    int64_t stored;     /* ids stored in this table */
    uint32_t free_head[LSH_NLISTS];
    uint64_t salt;      /* reservoir draws: from (seed, table) */
    int dirty;          /* headers changed since the last clear */
} lsh_table;

struct slide_lsh {
    slide_lsh_params p;
    uint32_t nb;  /* buckets per table */
    uint32_t cap; /* bucket capacity */
    lsh_table *t;
};

/* A query's per-thread state: each id's collision count (0 between queries), the candidate
 * list, the count histogram and the buckets of the query (both grown on demand). */
struct slide_lsh_scratch {
    uint16_t *cnt;
    uint32_t *cand;
    int64_t n;
    int32_t *hist;
    const uint32_t **bk_ids;
    int *bk_n;
    int64_t cap_keys; /* L x max_per_table: entries of bk_ids / bk_n; hist has cap_keys + 1 */
};

/* ------------------------------------------------------------------ parameters */

slide_lsh_params slide_lsh_params_default(void) {
    slide_lsh_params p;
    p.L = 50;
    p.range_bits = 18;
    p.bucket_cap = 128;
    p.policy = SLIDE_BUCKET_FIFO;
    p.max_ids = 1 << 20;
    p.seed = 0x5EEDULL;
    p.threads = 1;
    return p;
}

const char *slide_lsh_params_check(const slide_lsh_params *p) {
    if (!p) return "lsh params: NULL";
    if (p->threads < 1 || p->threads > 1024) return "lsh params: threads must be in 1..1024";
    if (p->L < 1 || p->L > LSH_MAX_L) return "lsh params: L (tables) must be in 1..1024";
    if (p->range_bits < 1 || p->range_bits > LSH_MAX_RANGE_BITS)
        return "lsh params: range_bits must be in 1..20";
    if (p->bucket_cap < 1 || p->bucket_cap > LSH_MAX_CAP)
        return "lsh params: bucket_cap must be in 1..65535";
    if (p->max_ids < 1 || p->max_ids > INT32_MAX)
        return "lsh params: max_ids must be in 1..2147483647";
    if (p->policy != SLIDE_BUCKET_FIFO && p->policy != SLIDE_BUCKET_RESERVOIR)
        return "lsh params: policy must be fifo (0) or reservoir (1)";
    return NULL;
}

const char *slide_bucket_policy_name(int policy) {
    switch (policy) {
    case SLIDE_BUCKET_FIFO: return "fifo";
    case SLIDE_BUCKET_RESERVOIR: return "reservoir";
    default: return "unknown";
    }
}

int slide_bucket_policy_parse(const char *s) {
    if (!s) return -1;
    if (strcasecmp(s, "fifo") == 0) return SLIDE_BUCKET_FIFO;
    if (strcasecmp(s, "reservoir") == 0) return SLIDE_BUCKET_RESERVOIR;
    return -1;
}

/* ------------------------------------------------------------------ blocks */

static inline int floor_log2(uint32_t x) { return 31 - __builtin_clz(x); }

static inline size_t block_words(uint32_t capa, uint32_t cap) {
    return (size_t)capa + (capa == cap);
}

/* Free list a block of capa slots belongs to (capa >= 1). */
static inline int block_list(uint32_t capa, uint32_t cap) {
    return capa == cap ? LSH_TOP : floor_log2(capa);
}

/* Capacity a bucket grows to from capa: the next power of two above it, at most cap. */
static inline uint32_t next_capa(uint32_t capa, uint32_t cap) {
    uint32_t nc = capa == 0 ? 2u : 1u << (floor_log2(capa) + 1);
    return nc < cap ? nc : cap;
}

static void table_reset(const slide_lsh *h, lsh_table *tb, int t) {
    if (tb->dirty) memset(tb->b, 0, (size_t)h->nb * sizeof *tb->b);
    tb->dirty = 0;
    tb->used = 0;
    tb->stored = 0;
    for (int k = 0; k < LSH_NLISTS; k++) tb->free_head[k] = LSH_NIL;
    tb->salt = slide_mix64(h->p.seed ^ slide_mix64((uint64_t)t + 0x632BE59BD9B4E019ULL));
}

/* Hands out a block of nc slots (nc == cap or a power of two below cap) at *off. */
static int block_alloc(const slide_lsh *h, lsh_table *tb, uint32_t nc, uint32_t *off) {
    int k = block_list(nc, h->cap);
    if (tb->free_head[k] != LSH_NIL) {
        *off = tb->free_head[k];
        tb->free_head[k] = tb->words[*off];
        return SLIDE_OK;
    }
    size_t need = tb->used + block_words(nc, h->cap);
    if (need > (size_t)LSH_NIL) return SLIDE_ENOMEM; /* offsets must fit u32 below LSH_NIL */
    if (need > tb->capacity) {
        size_t nw = tb->capacity + tb->capacity / 8 + 1024;
        if (nw < need) nw = need;
        if (nw > (size_t)LSH_NIL) nw = LSH_NIL;
        uint32_t *w = realloc(tb->words, nw * sizeof *w);
        if (!w) return SLIDE_ENOMEM;
        tb->words = w;
        tb->capacity = nw;
    }
    *off = (uint32_t)tb->used;
    tb->used = need;
    return SLIDE_OK;
}

static void block_free(const slide_lsh *h, lsh_table *tb, uint32_t off, uint32_t capa) {
    int k = block_list(capa, h->cap);
    tb->words[off] = tb->free_head[k];
    tb->free_head[k] = off;
}

static int bucket_grow(const slide_lsh *h, lsh_table *tb, lsh_bucket *bk) {
    uint32_t nc = next_capa(bk->capa, h->cap), noff;
    int rc = block_alloc(h, tb, nc, &noff);
    if (rc) return rc;
    uint32_t *w = tb->words;
    if (bk->count) memcpy(w + noff, w + bk->off, (size_t)bk->count * sizeof *w);
    /* Reservoir: the offer count starts at the ids held (equal to the offers since the last
     * clear unless ids were removed meanwhile). FIFO sets its word when the bucket fills. */
    if (nc == h->cap && h->p.policy == SLIDE_BUCKET_RESERVOIR) w[noff + nc] = bk->count;
    if (bk->capa) block_free(h, tb, bk->off, bk->capa);
    bk->off = noff;
    bk->capa = (uint16_t)nc;
    return SLIDE_OK;
}

/* Uniform in [0, m) for the m-th offer to bucket key: a counter-based draw (splitmix64 of
 * (key, m) under the table's salt, which comes from (seed, table)), so the outcome does not
 * depend on the order in which different buckets are filled - only on each bucket's own offer
 * sequence. */
static inline uint32_t reservoir_draw(uint64_t salt, uint32_t key, uint32_t m) {
    uint64_t x = salt + ((((uint64_t)key << 32) | m) + 1) * 0x9E3779B97F4A7C15ULL;
    x = slide_mix64(x);
    return (uint32_t)(((x >> 32) * (uint64_t)m) >> 32);
}

/* Offers id to bucket key of table tb under the bucket policy; adds the ids newly stored to
 * *stored (a local counter during builds: no writes to the table struct, which shares cache
 * lines with the tables other threads are building). The caller marks the table dirty. */
static inline int bucket_add(const slide_lsh *h, int policy, lsh_table *tb, uint32_t key,
                             uint32_t id, int64_t *stored) {
    lsh_bucket *bk = &tb->b[key];
    const uint32_t cap = h->cap;
    if (bk->count == bk->capa && bk->count < cap) {
        int rc = bucket_grow(h, tb, bk);
        if (rc) return rc;
    }
    uint32_t *w = tb->words + bk->off;
    if (bk->count < cap) {
        w[bk->count++] = id;
        ++*stored;
        if (bk->capa == cap) {
            if (policy == SLIDE_BUCKET_RESERVOIR) {
                if (w[cap] != UINT32_MAX) w[cap]++;
            } else if (bk->count == cap) {
                w[cap] = 0;
            }
        }
        return SLIDE_OK;
    }
    if (policy == SLIDE_BUCKET_FIFO) {
        uint32_t pos = w[cap];
        w[pos] = id;
        w[cap] = pos + 1 == cap ? 0 : pos + 1;
    } else {
        if (w[cap] != UINT32_MAX) w[cap]++;
        uint32_t r = reservoir_draw(tb->salt, key, w[cap]);
        if (r < cap) w[r] = id;
    }
    return SLIDE_OK;
}

static void reverse_u32(uint32_t *a, uint32_t lo, uint32_t hi) {
    while (lo + 1 < hi) {
        uint32_t x = a[lo];
        a[lo++] = a[--hi];
        a[hi] = x;
    }
}

static void bucket_remove(const slide_lsh *h, lsh_table *tb, uint32_t key, uint32_t id) {
    lsh_bucket *bk = &tb->b[key];
    uint32_t n = bk->count, j = 0;
    if (n == 0) return; /* also: a table without an arena yet has words == NULL */
    uint32_t *w = tb->words + bk->off;
    while (j < n && w[j] != id) j++;
    if (j == n) return;
    tb->dirty = 1;
    if (h->p.policy == SLIDE_BUCKET_FIFO && n == h->cap && w[n] != 0) {
        /* Unroll the ring so the oldest id is first; appends then continue the age order. */
        uint32_t pos = w[n];
        reverse_u32(w, 0, pos);
        reverse_u32(w, pos, n);
        reverse_u32(w, 0, n);
        j = 0;
    }
    uint32_t o = j;
    for (uint32_t i = j; i < n; i++)
        if (w[i] != id) w[o++] = w[i];
    tb->stored -= n - o;
    bk->count = (uint16_t)o;
}

/* ------------------------------------------------------------------ object */

int slide_lsh_create(slide_lsh **out, const slide_lsh_params *p, slide_err *err) {
    if (!out) return slide_err_set(err, SLIDE_EINVAL, 0, "slide_lsh_create: out is NULL");
    *out = NULL;
    const char *msg = slide_lsh_params_check(p);
    if (msg) return slide_err_set(err, SLIDE_EINVAL, 0, "%s", msg);
    slide_lsh *h = calloc(1, sizeof *h);
    if (!h) return slide_err_set(err, SLIDE_ENOMEM, 0, "slide_lsh_create: out of memory");
    h->p = *p;
    h->nb = 1u << p->range_bits;
    h->cap = (uint32_t)p->bucket_cap;
    h->t = calloc((size_t)p->L, sizeof *h->t);
    if (!h->t) {
        free(h);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "slide_lsh_create: out of memory");
    }
    for (int t = 0; t < p->L; t++) {
        /* calloc: zero pages come lazily, so an unused table costs no resident memory. */
        h->t[t].b = calloc(h->nb, sizeof(lsh_bucket));
        if (!h->t[t].b) {
            slide_lsh_destroy(h);
            return slide_err_set(err, SLIDE_ENOMEM, 0,
                                 "slide_lsh_create: out of memory for %d tables x %u buckets",
                                 p->L, 1u << p->range_bits);
        }
        table_reset(h, &h->t[t], t);
    }
    *out = h;
    return SLIDE_OK;
}

void slide_lsh_destroy(slide_lsh *h) {
    if (!h) return;
    if (h->t) {
        for (int t = 0; t < h->p.L; t++) {
            free(h->t[t].b);
            free(h->t[t].words);
        }
        free(h->t);
    }
    free(h);
}

const slide_lsh_params *slide_lsh_params_of(const slide_lsh *h) { return h ? &h->p : NULL; }

int slide_lsh_insert(slide_lsh *h, uint32_t id, const uint32_t *keys) {
    if (!h || !keys || (int64_t)id >= h->p.max_ids) return SLIDE_EINVAL;
    for (int t = 0; t < h->p.L; t++)
        if (keys[t] >= h->nb) return SLIDE_EINVAL;
    for (int t = 0; t < h->p.L; t++) {
        lsh_table *tb = &h->t[t];
        tb->dirty = 1;
        int rc = bucket_add(h, h->p.policy, tb, keys[t], id, &tb->stored);
        if (rc) return rc; /* ENOMEM: id is in tables 0..t-1 only */
    }
    return SLIDE_OK;
}

void slide_lsh_remove(slide_lsh *h, uint32_t id, const uint32_t *keys) {
    if (!h || !keys || (int64_t)id >= h->p.max_ids) return;
    for (int t = 0; t < h->p.L; t++)
        if (keys[t] < h->nb) bucket_remove(h, &h->t[t], keys[t], id);
}

void slide_lsh_clear(slide_lsh *h) {
    if (!h) return;
#pragma omp parallel for num_threads(h->p.threads) schedule(static) if ((size_t)h->p.L * h->nb >= LSH_PAR_MIN)
    for (int t = 0; t < h->p.L; t++) table_reset(h, &h->t[t], t);
}

/* Sizes the arena of a cleared table for `total` words, reallocating only when it is too small
 * or more than twice too large (the contents are dead, so free + malloc, not realloc). */
static int table_reserve(lsh_table *tb, size_t total) {
    if (tb->capacity >= total && tb->capacity <= 2 * total + 65536) return SLIDE_OK;
    size_t nw = total + total / 16 + 1024;
    if (nw > (size_t)LSH_NIL) nw = LSH_NIL;
    free(tb->words);
    tb->words = malloc(nw * sizeof *tb->words);
    tb->capacity = tb->words ? nw : 0;
    return tb->words ? SLIDE_OK : SLIDE_ENOMEM;
}

/* Buckets of a table are processed in 2^pbits partitions of consecutive keys (at least
 * 2^LSH_PART_BUCKET_BITS buckets each, at most 256 partitions), so that the counting and filling
 * passes touch one partition's headers and arena slice at a time (cache resident) instead of
 * scattering over the whole table. */
#define LSH_PART_BUCKET_BITS 11
#define LSH_PART_MAX_BITS 8
#define LSH_GATHER_MAX 8

/* Builds one cleared table from its key column: partition (key, id) pairs by the key's top bits
 * (stable, so each bucket still sees its ids in increasing order), then per partition count per
 * bucket, lay out exact CSR blocks and replay the inserts. part: n pairs of scratch. */
static int table_build(slide_lsh *h, int t, const uint32_t *col, int64_t n, uint64_t *part) {
    lsh_table *tb = &h->t[t];
    lsh_bucket *B = tb->b;
    const uint32_t cap = h->cap;
    int pbits = h->p.range_bits - LSH_PART_BUCKET_BITS;
    pbits = pbits < 0 ? 0 : pbits > LSH_PART_MAX_BITS ? LSH_PART_MAX_BITS : pbits;
    const int shift = h->p.range_bits - pbits;
    const uint32_t P = 1u << pbits;
    uint32_t start[(1 << LSH_PART_MAX_BITS) + 1] = {0}, next[1 << LSH_PART_MAX_BITS];
    for (int64_t i = 0; i < n; i++) start[(col[i] >> shift) + 1]++;
    for (uint32_t p = 0; p < P; p++) start[p + 1] += start[p];
    memcpy(next, start, P * sizeof *next);
    for (int64_t i = 0; i < n; i++) {
        uint32_t k = col[i];
        part[next[k >> shift]++] = (uint64_t)k << 32 | (uint64_t)i;
    }
    /* Offers per bucket (part is in key order, so these increments sweep the headers). */
    tb->dirty = 1;
    for (int64_t i = 0; i < n; i++) B[part[i] >> 32].off++; /* n < 2^31 */
    size_t total = 0;
    for (uint32_t b = 0; b < h->nb; b++) {
        uint32_t m = B[b].off, c = m < cap ? m : cap;
        B[b].off = (uint32_t)total;
        B[b].capa = (uint16_t)c;
        B[b].count = 0;
        total += c ? block_words(c, cap) : 0;
    }
    int rc = table_reserve(tb, total);
    if (rc) return rc;
    tb->used = total;
    int64_t stored = 0;
    for (uint32_t p = 0; p < P; p++) {
        for (uint32_t b = p << shift; b < (p + 1) << shift; b++)
            if (B[b].capa == cap) tb->words[B[b].off + cap] = 0;
        /* one loop per policy so that the policy test folds away */
        if (h->p.policy == SLIDE_BUCKET_FIFO) {
            for (uint32_t i = start[p]; i < start[p + 1]; i++)
                rc |= bucket_add(h, SLIDE_BUCKET_FIFO, tb, (uint32_t)(part[i] >> 32),
                                 (uint32_t)part[i], &stored);
        } else {
            for (uint32_t i = start[p]; i < start[p + 1]; i++)
                rc |= bucket_add(h, SLIDE_BUCKET_RESERVOIR, tb, (uint32_t)(part[i] >> 32),
                                 (uint32_t)part[i], &stored);
        }
        SLIDE_ASSERT(rc == SLIDE_OK); /* blocks are presized: no growth */
    }
    tb->stored = stored;
    return SLIDE_OK;
}

/* Build scratch comes straight from mmap so that it goes back to the system when the build ends
 * (malloc keeps freed blocks of this size in its per-thread arenas, i.e. in the RSS). */
#if defined(__SANITIZE_ADDRESS__)
#define LSH_SCRATCH_MALLOC 1 /* let AddressSanitizer see the bounds */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LSH_SCRATCH_MALLOC 1
#endif
#endif

static void *scratch_map(size_t bytes) {
#ifdef LSH_SCRATCH_MALLOC
    return malloc(bytes);
#else
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#endif
}

static void scratch_unmap(void *p, size_t bytes) {
#ifdef LSH_SCRATCH_MALLOC
    (void)bytes;
    free(p);
#else
    if (p) munmap(p, bytes);
#endif
}

/* Tables whose key columns one thread gathers per pass of a build. */
static int build_group(const slide_lsh_params *p) {
    const int G = p->L / p->threads;
    return G < 1 ? 1 : G > LSH_GATHER_MAX ? LSH_GATHER_MAX : G;
}

size_t slide_lsh_build_scratch_bytes(const slide_lsh_params *p, int64_t n) {
    if (n <= 0) return 0;
    const int threads = n * p->L >= LSH_PAR_MIN ? p->threads : 1;
    const size_t cols = (size_t)n * (size_t)build_group(p) * sizeof(uint32_t);
    const size_t part = (size_t)n * sizeof(uint64_t);
    return (size_t)threads * (cols + part);
}

int slide_lsh_build(slide_lsh *h, const uint32_t *keys, int64_t n, slide_err *err) {
    if (!h) return slide_err_set(err, SLIDE_EINVAL, 0, "slide_lsh_build: table is NULL");
    if (n < 0 || n > h->p.max_ids)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "slide_lsh_build: n = %lld ids, must be in 0..max_ids (%lld)",
                             (long long)n, (long long)h->p.max_ids);
    if (n > 0 && !keys) return slide_err_set(err, SLIDE_EINVAL, 0, "slide_lsh_build: keys is NULL");
    const int64_t nk = n * h->p.L;
    const uint32_t nb = h->nb;
    int bad = 0;
#pragma omp parallel for num_threads(h->p.threads) schedule(static) reduction(| : bad) if (nk >= LSH_PAR_MIN)
    for (int64_t i = 0; i < nk; i++) bad |= keys[i] >= nb;
    if (bad) {
        int64_t i = 0;
        while (keys[i] < nb) i++;
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "slide_lsh_build: key %u of id %lld, table %d is >= 2^range_bits (%u)",
                             keys[i], (long long)(i / h->p.L), (int)(i % h->p.L), nb);
    }
    slide_lsh_clear(h);
    if (n == 0) return SLIDE_OK;
    /* Reading one table's column out of the id-major keys costs a cache line per id, so a
     * thread gathers G tables' columns in one pass (up to 8, fewer when there are too few tables
     * to keep every thread busy). Per-thread scratch: G columns + n (key, id) pairs, i.e.
     * (4 G + 8) bytes per id, freed before returning. */
    const int L = h->p.L, G = build_group(&h->p);
    const int ngroups = (L + G - 1) / G;
    int fail = 0;
#pragma omp parallel num_threads(h->p.threads) if (nk >= LSH_PAR_MIN)
    {
        const size_t cols_bytes = (size_t)n * G * sizeof(uint32_t);
        const size_t part_bytes = (size_t)n * sizeof(uint64_t);
        uint32_t *cols = scratch_map(cols_bytes);
        uint64_t *part = scratch_map(part_bytes);
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < ngroups; g++) {
            const int t0 = g * G, gn = L - t0 < G ? L - t0 : G;
            int rc = cols && part ? SLIDE_OK : SLIDE_ENOMEM;
            if (rc == SLIDE_OK) {
                for (int64_t i = 0; i < n; i++) {
                    const uint32_t *row = keys + i * L + t0;
                    for (int j = 0; j < gn; j++) cols[j * n + i] = row[j];
                }
                for (int j = 0; j < gn && rc == SLIDE_OK; j++)
                    rc = table_build(h, t0 + j, cols + j * n, n, part);
            }
            if (rc != SLIDE_OK) {
#pragma omp atomic write
                fail = 1;
            }
        }
        scratch_unmap(part, part_bytes);
        scratch_unmap(cols, cols_bytes);
    }
    if (fail) {
        slide_lsh_clear(h);
        return slide_err_set(err, SLIDE_ENOMEM, 0,
                             "slide_lsh_build: out of memory for %lld ids x %d tables",
                             (long long)n, h->p.L);
    }
    return SLIDE_OK;
}

/* ------------------------------------------------------------------ queries */

slide_lsh_scratch *slide_lsh_scratch_create(const slide_lsh *h, int max_per_table) {
    if (!h || max_per_table < 1 || (int64_t)h->p.L * max_per_table > 65535) return NULL;
    slide_lsh_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = h->p.max_ids;
    s->cap_keys = (int64_t)h->p.L * max_per_table;
    s->cnt = calloc((size_t)s->n, sizeof *s->cnt);
    s->cand = malloc((size_t)s->n * sizeof *s->cand);
    s->bk_ids = malloc((size_t)s->cap_keys * sizeof *s->bk_ids);
    s->bk_n = malloc((size_t)s->cap_keys * sizeof *s->bk_n);
    s->hist = malloc((size_t)(s->cap_keys + 1) * sizeof *s->hist);
    if (!s->cnt || !s->cand || !s->bk_ids || !s->bk_n || !s->hist) {
        slide_lsh_scratch_destroy(s);
        return NULL;
    }
    return s;
}

size_t slide_lsh_scratch_bytes(int64_t max_ids, int L, int max_per_table) {
    const size_t k = (size_t)L * (size_t)max_per_table;
    return sizeof(slide_lsh_scratch) + (size_t)max_ids * (sizeof(uint16_t) + sizeof(uint32_t)) +
           k * (sizeof(const uint32_t *) + sizeof(int)) + (k + 1) * sizeof(int32_t);
}

void slide_lsh_scratch_destroy(slide_lsh_scratch *s) {
    if (!s) return;
    free(s->cnt);
    free(s->cand);
    free(s->hist);
    free(s->bk_ids);
    free(s->bk_n);
    free(s);
}

/* The non-empty buckets keys select (a key repeated within a table's probes counts once), their
 * headers and first ids prefetched: the buckets are scattered over the tables, and walking them
 * one by one costs a dependent miss each. Returns how many; counts probes and raw ids. */
static int query_buckets(const slide_lsh *h, const uint32_t *keys, int per, slide_lsh_scratch *s,
                         int64_t *probed, int64_t *raw) {
    const int L = h->p.L;
    for (int t = 0; t < L; t++)
        for (int q = 0; q < per; q++) __builtin_prefetch(&h->t[t].b[keys[t * per + q]]);
    int nbk = 0;
    for (int t = 0; t < L; t++) {
        const lsh_table *tb = &h->t[t];
        const uint32_t *tk = keys + (int64_t)t * per;
        for (int q = 0; q < per; q++) {
            int dup = 0;
            for (int r = 0; r < q; r++) dup |= tk[r] == tk[q];
            if (dup) continue;
            ++*probed;
            const lsh_bucket *bk = &tb->b[tk[q]];
            if (bk->count == 0) continue; /* words may be NULL */
            const uint32_t *b = tb->words + bk->off;
            __builtin_prefetch(b);
            s->bk_ids[nbk] = b;
            s->bk_n[nbk++] = (int)bk->count;
            *raw += bk->count;
        }
    }
    return nbk;
}

/* Keeps `room` of the nc candidates (nc > room): every id whose count is above the threshold,
 * and of those at the threshold an unbiased sample (selection sampling with rng), not the first
 * in table order, which after a rebuild is id order and would favour low ids query after query
 * (rng NULL: the first found). Compacts them in place, marks them in taken, zeroes every count;
 * returns room. */
static int64_t keep_most_collided(slide_lsh_scratch *s, int64_t nc, int64_t room, int maxc,
                                  uint64_t *taken, slide_rng *rng) {
    uint32_t *cand = s->cand;
    uint16_t *cnt = s->cnt;
    int32_t *hist = s->hist;
    memset(hist, 0, (size_t)(maxc + 1) * sizeof *hist);
    for (int64_t j = 0; j < nc; j++) hist[cnt[cand[j]]]++;
    int thr = maxc;
    int64_t above = 0; /* ids with count > thr */
    while (thr > 1 && above + hist[thr] <= room) above += hist[thr--];
    int64_t at_thr = room - above, n_tie = hist[thr], kept = 0;
    for (int64_t j = 0; j < nc; j++) {
        const uint32_t id = cand[j];
        const int c = cnt[id];
        cnt[id] = 0;
        int keep = c > thr;
        if (c == thr) {
            keep = rng ? (int64_t)slide_rng_below(rng, (uint32_t)n_tie) < at_thr : at_thr > 0;
            at_thr -= keep;
            n_tie--;
        }
        if (keep) {
            if (taken) taken[id >> 6] |= (uint64_t)1 << (id & 63);
            cand[kept++] = id;
        }
    }
    return kept;
}

int64_t slide_lsh_query_ranked(const slide_lsh *h, const uint32_t *keys, int per_table,
                               int64_t room, uint32_t *out, uint64_t *taken, slide_rng *rng,
                               slide_lsh_scratch *s, slide_lsh_query_stats *stats) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (!h || !keys || !s || per_table < 1 || (room > 0 && !out) || s->n < h->p.max_ids)
        return -SLIDE_EINVAL;
    const int64_t nkeys = (int64_t)h->p.L * per_table;
    for (int64_t i = 0; i < nkeys; i++)
        if (keys[i] >= h->nb) return -SLIDE_EINVAL;
    if (room <= 0) return 0;
    if (nkeys > s->cap_keys) return -SLIDE_EINVAL; /* <= 65535: collision counts are 16-bit */
    int64_t probed = 0, raw = 0, nc = 0;
    const int nbk = query_buckets(h, keys, per_table, s, &probed, &raw);
    uint16_t *cnt = s->cnt;
    uint32_t *cand = s->cand;
    for (int q = 0; q < nbk; q++) {
        const uint32_t *b = s->bk_ids[q];
        for (int e = 0; e < s->bk_n[q]; e++) {
            const uint32_t id = b[e];
            if (taken && ((taken[id >> 6] >> (id & 63)) & 1u)) continue; /* chosen already */
            if (cnt[id]++ == 0) cand[nc++] = id;
        }
    }
    int64_t kept = nc;
    if (nc <= room) {
        for (int64_t j = 0; j < nc; j++) {
            const uint32_t id = cand[j];
            if (taken) taken[id >> 6] |= (uint64_t)1 << (id & 63);
            cnt[id] = 0;
        }
    } else {
        kept = keep_most_collided(s, nc, room, (int)nkeys, taken, rng);
    }
    memcpy(out, cand, (size_t)kept * sizeof *out);
    if (stats) {
        stats->buckets_probed = probed;
        stats->candidates_raw = raw;
        stats->union_ids = nc;
        stats->candidates = kept;
    }
    return kept;
}

int64_t slide_lsh_query(const slide_lsh *h, const uint32_t *keys, int per_table, uint32_t *out,
                        int64_t max_out, slide_lsh_scratch *s, slide_lsh_query_stats *stats) {
    return slide_lsh_query_ranked(h, keys, per_table, max_out, out, NULL, NULL, s, stats);
}

int slide_lsh_bucket(const slide_lsh *h, int table, uint32_t key, const uint32_t **ids) {
    if (ids) *ids = NULL;
    if (!h || !ids || table < 0 || table >= h->p.L || key >= h->nb) return -SLIDE_EINVAL;
    const lsh_table *tb = &h->t[table];
    const lsh_bucket *bk = &tb->b[key];
    if (bk->count == 0) return 0;
    *ids = tb->words + bk->off;
    return bk->count;
}

void slide_lsh_prefetch(const slide_lsh *h, int table, uint32_t key) {
    if (!h || table < 0 || table >= h->p.L || key >= h->nb) return;
    __builtin_prefetch(&h->t[table].b[key]);
}

size_t slide_lsh_plan_bytes(const slide_lsh_params *p) {
    const size_t nb = (size_t)1 << p->range_bits, n = (size_t)p->max_ids;
    /* table_reserve after a build that stores every id (no bucket overflows) */
    const size_t arena = n + n / 16 + 1024;
    return sizeof(slide_lsh) + (size_t)p->L * (sizeof(lsh_table) + nb * sizeof(lsh_bucket) +
                                               arena * sizeof(uint32_t));
}

size_t slide_lsh_memory_bytes(const slide_lsh *h) {
    if (!h) return 0;
    size_t bytes = sizeof *h + (size_t)h->p.L * sizeof *h->t;
    for (int t = 0; t < h->p.L; t++)
        bytes += (size_t)h->nb * sizeof(lsh_bucket) + h->t[t].capacity * sizeof(uint32_t);
    return bytes;
}

int64_t slide_lsh_size(const slide_lsh *h) {
    if (!h) return 0;
    int64_t n = 0;
    for (int t = 0; t < h->p.L; t++) n += h->t[t].stored;
    return n;
}
