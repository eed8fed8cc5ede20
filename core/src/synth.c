/* Synthetic extreme-classification data: Zipf-tailed labels grouped in topics, each label owning
 * a few characteristic features; a point's features come mostly from its labels' sets. */
#include "slide/synth.h"
#include "slide/rng.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Generative model (all structure is a function of (seed, id), so no per-label tables):
 * - Labels have a frequency rank r in [0, L); P(r) ~ (r + q)^-s (Zipf-Mandelbrot, continuous
 *   inverse-CDF sampling). Rank r is label id (a*r + c) mod L, an affine bijection, so frequent
 *   labels are spread over the id range as in real data.
 * - Topics are blocks of topic_size consecutive ranks (with topic_stride: the ranks congruent
 *   modulo the number of topics, so that a topic holds frequent and rare labels alike). A point's first label is drawn from the
 *   global Zipf; each further label stays in the current topic with probability p_topic (drawn
 *   from the Zipf restricted to the block, which keeps the marginal Zipf) or is a fresh global
 *   draw that becomes the current topic. So labels co-occur in clusters of similar popularity.
 * - Label of rank r owns c(r) in [char_min, char_max] characteristic features, hashed from r;
 *   the first topic_share of them (v1: a quarter) are its topic's (hashed from the topic), the
 *   rest its own.
 * - A point's features: with probability p_char, a characteristic feature of one of its labels
 *   (value in [0.3, 1]); otherwise a noise feature from a Zipf over all features, with a small
 *   idf-like value for frequent features. Values are multiples of 1/1000 in (0, 1].
 * - Per-point counts are 1 + Poisson((mean - 1) * U[1 - spread, 1 + spread]), or lognormal
 *   (lab_sigma, nnz_sigma > 0: heavy-tailed nonzeros; labels piled up below a cap with
 *   lab_reverse); duplicates are redrawn, so every point has exactly its drawn counts and the
 *   means match the preset.
 * Point i of the training set uses RNG stream i, test point i stream 2^40 + i: the output does
 * not depend on the number of threads. */

/* Sizes from the Extreme Classification Repository and the SLIDE paper (Table 1: feature
 * sparsity 0.055 % of 135,909 and 0.038 % of 782,585 give ~75 and ~297 nonzeros per point).
 * The "-v1" presets are the first generator's, kept bit for bit for the speed benchmarks; the
 * plain names carry the knobs calibrated against the real Delicious set (REPRODUCE.md). */
#define PRESET_NAMES                                                                        \
    "amazon670k, delicious200k, delicious-small, amazon3m, amazon670k-v1, delicious200k-v1, tiny"
/* The structure knobs calibrated against the real Delicious set (983 labels; REPRODUCE.md):
 * topics that span every popularity level, a point's features nearly all from its labels'
 * sets, and heavy-tailed nonzeros per point. The big presets keep their published shapes, with
 * a label Zipf a little steeper than the first generator's: the stride topics' duplicate
 * redraws move label occurrences from the head to the tail. */
#define CALIB_KNOBS                                                                         \
    .topic_stride = 1, .topic_size = 32, .p_topic = 0.8, .p_char = 0.9, .char_min = 4,       \
    .char_max = 16, .topic_share = 0.4, .feat_s = 1.0, .feat_q = 50.0, .nnz_sigma = 1.5
#define CALIBRATED_PRESETS                                                                  \
    {.name = "delicious-small", .d = 500, .l = 983, .n_train = 12920, .n_test = 3185,        \
     .labels_per_point = 19.05, .nnz_per_point = 18.54, .zipf_s = 1.35, .zipf_q = 6.0,        \
     .lab_sigma = 0.7, .lab_max = 25, .lab_reverse = 1, .nnz_max = 400, .binary = 1,          \
     CALIB_KNOBS},                                                                           \
    {.name = "amazon670k", .d = 135909, .l = 670091, .n_train = 490449, .n_test = 153025,   \
     .labels_per_point = 5.45, .nnz_per_point = 76.0, .zipf_s = 0.7, .zipf_q = 1.0,           \
     .spread = 0.6, .nnz_max = 2048, CALIB_KNOBS},                                           \
    {.name = "delicious200k", .d = 782585, .l = 205443, .n_train = 196606, .n_test = 100095, \
     .labels_per_point = 75.54, .nnz_per_point = 301.0, .zipf_s = 1.1, .zipf_q = 20.0,        \
     .spread = 0.8, .nnz_max = 8192, CALIB_KNOBS},                                           \
    {.name = "amazon3m", .d = 337067, .l = 2812281, .n_train = 1717899, .n_test = 742507,    \
     .labels_per_point = 36.04, .nnz_per_point = 36.4, .zipf_s = 0.7, .zipf_q = 1.0,          \
     .spread = 0.6, .nnz_max = 1024, CALIB_KNOBS}
#define V1_KNOBS .topic_share = 0.25, .feat_s = 1.0, .feat_q = 3.0
static const slide_synth_preset k_presets[] = {
    {.name = "amazon670k-v1", .d = 135909, .l = 670091, .n_train = 490449, .n_test = 153025,
     .labels_per_point = 5.45, .nnz_per_point = 76.0, .zipf_s = 0.6, .zipf_q = 1.0,
     .topic_size = 32, .p_topic = 0.6, .p_char = 0.75, .char_min = 8, .char_max = 32,
     .spread = 0.6, V1_KNOBS},
    {.name = "delicious200k-v1", .d = 782585, .l = 205443, .n_train = 196606, .n_test = 100095,
     .labels_per_point = 75.54, .nnz_per_point = 301.0, .zipf_s = 1.0, .zipf_q = 20.0,
     .topic_size = 128, .p_topic = 0.6, .p_char = 0.75, .char_min = 8, .char_max = 32,
     .spread = 0.8, V1_KNOBS},
    {.name = "tiny", .d = 2000, .l = 500, .n_train = 4000, .n_test = 1000,
     .labels_per_point = 3.0, .nnz_per_point = 30.0, .zipf_s = 0.8, .zipf_q = 1.0,
     .topic_size = 10, .p_topic = 0.7, .p_char = 0.8, .char_min = 8, .char_max = 24,
     .spread = 0.5, V1_KNOBS},
    CALIBRATED_PRESETS
};
#define N_PRESETS ((int)(sizeof k_presets / sizeof k_presets[0]))

const slide_synth_preset *slide_synth_preset_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < N_PRESETS; i++)
        if (strcmp(name, k_presets[i].name) == 0) return &k_presets[i];
    return NULL;
}

const char *slide_synth_preset_names(void) {
    return PRESET_NAMES;
}

slide_synth_params slide_synth_params_default(void) {
    slide_synth_params p;
    memset(&p, 0, sizeof p);
    p.preset = "tiny";
    p.scale = 1.0;
    p.label_scale = 1.0;
    p.seed = 1;
    p.threads = 1;
    return p;
}

const char *slide_synth_params_check(const slide_synth_params *p) {
    if (!p) return "no parameters";
    if (!p->custom) {
        if (!p->preset) return "no preset given (valid: " PRESET_NAMES ")";
        if (!slide_synth_preset_find(p->preset)) return "unknown preset (valid: " PRESET_NAMES ")";
    } else {
        const char *msg = slide_synth_preset_check(p->custom);
        if (msg) return msg;
    }
    if (p->threads < 1 || p->threads > 1024) return "threads must be in 1..1024";
    if (!(p->scale > 0.0 && p->scale <= 1.0)) return "scale must be in (0, 1]";
    if (!(p->label_scale > 0.0 && p->label_scale <= 1.0)) return "label_scale must be in (0, 1]";
    return NULL;
}

/* ---------------------------------------------------------------- Zipf over ranks */

/* Continuous power law x^-s on [q + lo, q + hi), sampled by inverting its CDF; rank = x - q. */
typedef struct {
    double s, q;
} zipf_law;

static double zipf_fwd(const zipf_law *z, double x) {
    return z->s == 1.0 ? log(x) : pow(x, 1.0 - z->s);
}

static double zipf_inv(const zipf_law *z, double y) {
    return z->s == 1.0 ? exp(y) : pow(y, 1.0 / (1.0 - z->s));
}

/* Rank in [lo, hi) given the precomputed ends a = fwd(q + lo), b = fwd(q + hi). */
static int64_t zipf_draw_ab(const zipf_law *z, double a, double b, int64_t lo, int64_t hi,
                            slide_rng *r, double *u_out) {
    double u = slide_rng_uniform_d(r);
    if (u_out) *u_out = u;
    double x = zipf_inv(z, a + u * (b - a));
    int64_t k = (int64_t)(x - z->q);
    if (k < lo) k = lo;
    if (k >= hi) k = hi - 1;
    return k;
}

static int64_t zipf_draw(const zipf_law *z, int64_t lo, int64_t hi, slide_rng *r) {
    return zipf_draw_ab(z, zipf_fwd(z, z->q + (double)lo), zipf_fwd(z, z->q + (double)hi), lo, hi,
                        r, NULL);
}

/* ---------------------------------------------------------------- lognormal counts */

/* A count in [1, cap]: round(exp(mu + sigma Z)) clamped, or cap + 1 minus that when reversed.
 * mu is solved so that the clamped count has the wanted mean. */
typedef struct {
    double mu, sigma;
    int cap, reverse;
} count_law;

/* E[clamp(round(exp(mu + sigma Z)), 1, cap)] by a fine grid over Z. */
static double count_law_mean(double mu, double sigma, int cap) {
    double sum = 0, wsum = 0;
    for (int i = -800; i <= 800; i++) {
        double z = i * 0.01, w = exp(-0.5 * z * z);
        double x = floor(exp(mu + sigma * z) + 0.5);
        sum += w * (x < 1 ? 1 : x > cap ? cap : x);
        wsum += w;
    }
    return sum / wsum;
}

static void count_law_init(count_law *c, double mean, double sigma, int cap, int reverse) {
    memset(c, 0, sizeof *c);
    c->sigma = sigma;
    c->cap = cap;
    c->reverse = reverse;
    if (sigma <= 0) return;
    double want = reverse ? (double)cap + 1.0 - mean : mean;
    double lo = -20, hi = log((double)cap) + 1;
    for (int it = 0; it < 80; it++) {
        double mid = 0.5 * (lo + hi);
        if (count_law_mean(mid, sigma, cap) < want)
            lo = mid;
        else
            hi = mid;
    }
    c->mu = 0.5 * (lo + hi);
}

static int count_law_draw(const count_law *c, slide_rng *r) {
    double x = floor(exp(c->mu + c->sigma * (double)slide_rng_normal(r)) + 0.5);
    int k = x < 1 ? 1 : x > c->cap ? c->cap : (int)x;
    return c->reverse ? c->cap + 1 - k : k;
}

/* ---------------------------------------------------------------- generator state */

typedef struct {
    const slide_synth_preset *pd;
    int64_t l, d;                /* scaled label and feature counts */
    int64_t topic;               /* topic block size (<= l) */
    int64_t n_topics;            /* ceil(l / topic) */
    int kmax, mmax;              /* caps of per-point label and feature counts */
    zipf_law lz, fz;             /* label ranks, noise feature ranks */
    double la, lb, fa, fb;       /* precomputed ends of the global draws */
    int lab_bits, feat_bits;     /* bits of the largest label / feature id (sort keys) */
    uint64_t lab_a, lab_c;       /* label rank -> id */
    uint64_t feat_a, feat_c;     /* noise feature rank -> id */
    uint64_t seed_pts, seed_cnt, seed_char, seed_topic;
    count_law lab_law, nnz_law;  /* lognormal per-point counts (sigma > 0) */
    int threads;                 /* OpenMP threads (slide_synth_params.threads) */
} gen;

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Multiplier coprime to n, chosen from h: x -> (a*x + c) mod n is then a bijection on [0, n). */
static void affine_perm(uint64_t n, uint64_t h, uint64_t *a, uint64_t *c) {
    if (n <= 2) {
        *a = 1;
        *c = 0;
        return;
    }
    uint64_t m = 2 + (h >> 16) % (n - 2);
    while (gcd_u64(m, n) != 1) m = m + 1 < n ? m + 1 : 2;
    *a = m;
    *c = slide_mix64(h) % n;
}

/* Bits needed for ids in [0, n). */
static int bits_for(int64_t n) {
    int b = 1;
    while (b < 62 && ((int64_t)1 << b) < n) b++;
    return b;
}

static int64_t scaled(int64_t full, double f, int64_t floor_min) {
    int64_t v = llround((double)full * f);
    if (v < floor_min) v = floor_min;
    if (v > full) v = full;
    return v;
}

static void gen_init(gen *g, const slide_synth_params *p) {
    memset(g, 0, sizeof *g);
    const slide_synth_preset *pd = p->custom ? p->custom : slide_synth_preset_find(p->preset);
    g->pd = pd;
    /* Enough labels and features that per-point counts are unaffected by label_scale. */
    g->l = scaled(pd->l, p->label_scale, (int64_t)ceil(8.0 * pd->labels_per_point) + 16);
    g->d = scaled(pd->d, p->label_scale, (int64_t)ceil(8.0 * pd->nnz_per_point) + 64);
    g->topic = pd->topic_size < g->l ? pd->topic_size : g->l;
    g->n_topics = (g->l + g->topic - 1) / g->topic;
    int64_t kmax = pd->lab_max > 0 ? pd->lab_max : (int64_t)(4.0 * pd->labels_per_point) + 64;
    int64_t mmax = pd->nnz_max > 0 ? pd->nnz_max : (int64_t)(4.0 * pd->nnz_per_point) + 64;
    g->kmax = (int)(kmax < g->l ? kmax : g->l);
    g->mmax = (int)(mmax < g->d ? mmax : g->d);
    count_law_init(&g->lab_law, pd->labels_per_point, pd->lab_sigma, g->kmax, pd->lab_reverse);
    count_law_init(&g->nnz_law, pd->nnz_per_point, pd->nnz_sigma, g->mmax, 0);
    g->lz.s = pd->zipf_s;
    g->lz.q = pd->zipf_q;
    g->fz.s = pd->feat_s;
    g->fz.q = pd->feat_q;
    g->la = zipf_fwd(&g->lz, g->lz.q);
    g->lb = zipf_fwd(&g->lz, g->lz.q + (double)g->l);
    g->fa = zipf_fwd(&g->fz, g->fz.q);
    g->fb = zipf_fwd(&g->fz, g->fz.q + (double)g->d);
    g->lab_bits = bits_for(g->l);
    g->feat_bits = bits_for(g->d);
    uint64_t x = p->seed ^ 0x5EED5EED5EED5EEDULL;
    g->seed_pts = slide_splitmix64(&x);
    g->seed_cnt = slide_splitmix64(&x);
    g->seed_char = slide_splitmix64(&x);
    g->seed_topic = slide_splitmix64(&x);
    affine_perm((uint64_t)g->l, slide_splitmix64(&x), &g->lab_a, &g->lab_c);
    affine_perm((uint64_t)g->d, slide_splitmix64(&x), &g->feat_a, &g->feat_c);
}

static uint32_t label_id(const gen *g, int64_t rank) {
    return (uint32_t)((g->lab_a * (uint64_t)rank + g->lab_c) % (uint64_t)g->l);
}

static uint32_t noise_feat_id(const gen *g, int64_t rank) {
    return (uint32_t)((g->feat_a * (uint64_t)rank + g->feat_c) % (uint64_t)g->d);
}

/* The topic of a label rank: its block of consecutive ranks, or with topic_stride the ranks
 * congruent modulo the number of topics (each topic then spans every popularity level). */
static int64_t topic_of(const gen *g, int64_t rank) {
    return g->pd->topic_stride ? rank % g->n_topics : rank / g->topic;
}

static uint32_t char_count(const gen *g, int64_t rank) {
    uint32_t span = (uint32_t)(g->pd->char_max - g->pd->char_min + 1);
    uint64_t h = slide_mix64(g->seed_cnt ^ (uint64_t)rank) >> 32;
    return (uint32_t)g->pd->char_min + (uint32_t)(h % span);
}

/* j-th characteristic feature of the label of this rank: the first topic_share are its topic's. */
static uint32_t char_feat(const gen *g, int64_t rank, uint32_t c, uint32_t j) {
    uint64_t h;
    if (j < (uint32_t)((double)c * g->pd->topic_share))
        h = slide_mix64(g->seed_topic ^ ((uint64_t)topic_of(g, rank) * 64 + j));
    else
        h = slide_mix64(g->seed_char ^ ((uint64_t)rank * 64 + j));
    return (uint32_t)(((h >> 32) * (uint64_t)g->d) >> 32);
}

static int64_t poisson(slide_rng *r, double lam) {
    if (lam <= 0) return 0;
    if (lam < 30) {
        double lim = exp(-lam), prod = 1.0;
        int64_t k = -1;
        do {
            k++;
            prod *= slide_rng_uniform_d(r);
        } while (prod > lim);
        return k;
    }
    double x = lam + sqrt(lam) * (double)slide_rng_normal(r) + 0.5;
    return x < 0 ? 0 : (int64_t)x;
}

static int count_draw(slide_rng *r, double mean, double spread, int cap) {
    double f = 1.0 + spread * (2.0 * slide_rng_uniform_d(r) - 1.0);
    int64_t k = 1 + poisson(r, (mean - 1.0) * f);
    return (int)(k < cap ? k : cap);
}

/* The first draws of a point's stream: its label and feature counts. */
static void point_counts(const gen *g, slide_rng *r, int *k, int *m) {
    *k = g->pd->lab_sigma > 0 ? count_law_draw(&g->lab_law, r)
                              : count_draw(r, g->pd->labels_per_point, g->pd->spread, g->kmax);
    *m = g->pd->nnz_sigma > 0 ? count_law_draw(&g->nnz_law, r)
                              : count_draw(r, g->pd->nnz_per_point, g->pd->spread, g->mmax);
}

/* ---------------------------------------------------------------- per-thread scratch */

/* Open-addressing set of 32-bit ids; a stamp in the high word makes clearing O(1). */
typedef struct {
    uint64_t *slot;
    uint32_t mask, stamp;
    int64_t *rank;  /* kmax label ranks of the current point */
    uint64_t *key;  /* max(kmax, mmax) sort keys */
    uint64_t *tmp;  /* radix sort buffer, same size */
} scratch;

static int scratch_init(scratch *s, int kmax, int mmax) {
    memset(s, 0, sizeof *s);
    int need = 2 * (kmax > mmax ? kmax : mmax) + 2;
    uint32_t cap = 16;
    while ((int64_t)cap < need) cap <<= 1;
    s->slot = calloc(cap, sizeof *s->slot);
    s->rank = malloc((size_t)kmax * sizeof *s->rank);
    s->key = malloc((size_t)(kmax > mmax ? kmax : mmax) * sizeof *s->key);
    s->tmp = malloc((size_t)(kmax > mmax ? kmax : mmax) * sizeof *s->tmp);
    s->mask = cap - 1;
    s->stamp = 0;
    return s->slot && s->rank && s->key && s->tmp ? 0 : -1;
}

static void scratch_free(scratch *s) {
    free(s->slot);
    free(s->rank);
    free(s->key);
    free(s->tmp);
    memset(s, 0, sizeof *s);
}

static void set_clear(scratch *s) {
    if (++s->stamp == 0) {
        memset(s->slot, 0, ((size_t)s->mask + 1) * sizeof *s->slot);
        s->stamp = 1;
    }
}

/* 1 if id was new (and is now in the set), 0 if already there. */
static int set_add(scratch *s, uint32_t id) {
    uint32_t h = (uint32_t)slide_mix64(id) & s->mask;
    for (;;) {
        uint64_t v = s->slot[h];
        if ((uint32_t)(v >> 32) != s->stamp) {
            s->slot[h] = ((uint64_t)s->stamp << 32) | id;
            return 1;
        }
        if ((uint32_t)v == id) return 0;
        h = (h + 1) & s->mask;
    }
}

/* LSD radix sort of a[0, n) by bits [shift, shift + bits) of each key, 8 bits a pass; tmp has
 * room for n keys. Keys are unique in those bits here, so the order is total. Short arrays use
 * insertion sort on the whole key. */
static void sort_keys(uint64_t *a, uint64_t *tmp, int n, int shift, int bits) {
    if (n < 48) {
        for (int i = 1; i < n; i++) {
            uint64_t v = a[i];
            int j = i - 1;
            while (j >= 0 && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
        return;
    }
    uint64_t *src = a, *dst = tmp;
    for (int sh = shift; sh < shift + bits; sh += 8) {
        uint32_t cnt[256];
        memset(cnt, 0, sizeof cnt);
        for (int i = 0; i < n; i++) cnt[(src[i] >> sh) & 255]++;
        uint32_t sum = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t c = cnt[b];
            cnt[b] = sum;
            sum += c;
        }
        for (int i = 0; i < n; i++) dst[cnt[(src[i] >> sh) & 255]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* ---------------------------------------------------------------- one point */

/* A rank of topic t under topic_stride: t + i * T with P(i) ~ the global law's mass at that
 * rank. i = 0 carries its exact mass; the masses of i >= 1 are sampled as a continuous law
 * over their window midpoints (spacing T, so their sum is the integral divided by T). */
static int64_t stride_draw(const gen *g, int64_t t, slide_rng *r) {
    const zipf_law *z = &g->lz;
    const double T = (double)g->n_topics, x0 = (double)t + z->q;
    int64_t n_i = (g->l - t + g->n_topics - 1) / g->n_topics;
    double u = slide_rng_uniform_d(r);
    if (n_i <= 1) return t;
    double a = zipf_fwd(z, x0 + 0.5 * T + 0.5), b = zipf_fwd(z, x0 + ((double)n_i - 0.5) * T + 0.5);
    double w0 = zipf_fwd(z, x0 + 1.0) - zipf_fwd(z, x0), rest = (b - a) / T;
    if (u * (w0 + rest) < w0) return t;
    double y = zipf_inv(z, a + slide_rng_uniform_d(r) * (b - a));
    int64_t i = (int64_t)floor((y - x0 - 0.5) / T + 0.5);
    if (i < 1) i = 1;
    if (i > n_i - 1) i = n_i - 1;
    return t + i * g->n_topics;
}

static int draw_labels(const gen *g, slide_rng *r, scratch *s, int k) {
    set_clear(s);
    int nk = 0;
    int64_t block = -1, tries = 0, max_tries = 20LL * k + 100;
    while (nk < k && tries++ < max_tries) {
        int64_t rank;
        if (block >= 0 && slide_rng_uniform_d(r) < g->pd->p_topic) {
            if (g->pd->topic_stride) {
                rank = stride_draw(g, block, r);
            } else {
                int64_t lo = block * g->topic, hi = lo + g->topic < g->l ? lo + g->topic : g->l;
                rank = zipf_draw(&g->lz, lo, hi, r);
            }
        } else {
            rank = zipf_draw_ab(&g->lz, g->la, g->lb, 0, g->l, r, NULL);
            block = topic_of(g, rank);
        }
        if (set_add(s, (uint32_t)rank)) s->rank[nk++] = rank;
    }
    /* Saturated (tiny label spaces): take the next free ranks, so the count is exact. */
    for (uint32_t rank = slide_rng_below(r, (uint32_t)g->l); nk < k;
         rank = rank + 1 < (uint32_t)g->l ? rank + 1 : 0)
        if (set_add(s, rank)) s->rank[nk++] = rank;
    return nk;
}

static uint64_t noise_key(const gen *g, slide_rng *r, uint32_t *id) {
    /* The CDF position u of the rank is its idf-like weight: ~0 for the most frequent features
     * (for s = 1 it is exactly log((rank + q) / q) / log((d + q) / q)). */
    double u;
    int64_t fr = zipf_draw_ab(&g->fz, g->fa, g->fb, 0, g->d, r, &u);
    double idf = 0.05 + 0.95 * u;
    int q = (int)(1000.0 * (0.5 + 0.5 * slide_rng_uniform_d(r)) * idf + 0.5);
    if (q < 1) q = 1;
    if (q > 1000) q = 1000;
    *id = noise_feat_id(g, fr);
    return ((uint64_t)*id << 16) | (uint64_t)q;
}

static void gen_point(const gen *g, uint64_t stream, scratch *s, int k, int m, int32_t *lab,
                      int32_t *feat, float *val) {
    slide_rng r;
    slide_rng_seed(&r, g->seed_pts, stream);
    int k2, m2;
    point_counts(g, &r, &k2, &m2);
    SLIDE_ASSERT(k2 == k && m2 == m);
    int nk = draw_labels(g, &r, s, k);

    set_clear(s);
    int nf = 0;
    int64_t tries = 0, max_tries = 20LL * m + 100;
    while (nf < m && tries++ < max_tries) {
        uint32_t id;
        uint64_t key;
        if (slide_rng_uniform_d(&r) < g->pd->p_char) {
            int64_t rank = s->rank[slide_rng_below(&r, (uint32_t)nk)];
            uint32_t c = char_count(g, rank);
            id = char_feat(g, rank, c, slide_rng_below(&r, c));
            key = ((uint64_t)id << 16) | (uint64_t)(300 + slide_rng_below(&r, 701));
        } else {
            key = noise_key(g, &r, &id);
        }
        if (set_add(s, id)) s->key[nf++] = key;
    }
    for (uint32_t id = slide_rng_below(&r, (uint32_t)g->d); nf < m;
         id = id + 1 < (uint32_t)g->d ? id + 1 : 0)
        if (set_add(s, id)) s->key[nf++] = ((uint64_t)id << 16) | 50;
    sort_keys(s->key, s->tmp, nf, 16, g->feat_bits);
    for (int j = 0; j < nf; j++) {
        feat[j] = (int32_t)(s->key[j] >> 16);
        /* Division then rounding gives the float nearest to q/1000, which is what parsing the
         * written text ("%.6g") returns: the data survive a text round trip bit for bit. */
        val[j] = g->pd->binary ? 1.0f : (float)((double)(s->key[j] & 0xFFFF) / 1000.0);
    }

    for (int j = 0; j < nk; j++) s->key[j] = label_id(g, s->rank[j]);
    sort_keys(s->key, s->tmp, nk, 0, g->lab_bits);
    for (int j = 0; j < nk; j++) lab[j] = (int32_t)s->key[j];
}

/* ---------------------------------------------------------------- one split */

static int gen_split(const gen *g, int64_t n, uint64_t stream0, slide_data *out, slide_err *err) {
    int32_t *cnt = malloc((size_t)(2 * n) * sizeof *cnt);
    if (!cnt)
        return slide_err_set(err, SLIDE_ENOMEM, 0, "synth: out of memory (%lld points)",
                             (long long)n);
    /* Pass 1: counts only (the first draws of each stream), so the CSR can be laid out. */
#pragma omp parallel for num_threads(g->threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        slide_rng r;
        slide_rng_seed(&r, g->seed_pts, stream0 + (uint64_t)i);
        point_counts(g, &r, &cnt[2 * i], &cnt[2 * i + 1]);
    }
    int64_t nlab = 0, nnz = 0;
    for (int64_t i = 0; i < n; i++) {
        nlab += cnt[2 * i];
        nnz += cnt[2 * i + 1];
    }
    int rc = slide_data_alloc(out, n, g->d, g->l, nnz, nlab, err);
    if (rc) {
        free(cnt);
        return rc;
    }
    for (int64_t i = 0; i < n; i++) {
        out->lab_ptr[i + 1] = out->lab_ptr[i] + cnt[2 * i];
        out->row_ptr[i + 1] = out->row_ptr[i] + cnt[2 * i + 1];
    }
    /* Pass 2: each point regenerates its stream and fills its own slice. */
    int fail = 0;
#pragma omp parallel num_threads(g->threads)
    {
        scratch s;
        int ok = scratch_init(&s, g->kmax, g->mmax) == 0;
        if (!ok) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 256)
        for (int64_t i = 0; i < n; i++) {
            if (!ok) continue;
            gen_point(g, stream0 + (uint64_t)i, &s, cnt[2 * i], cnt[2 * i + 1],
                      out->lab + out->lab_ptr[i], out->feat + out->row_ptr[i],
                      out->val + out->row_ptr[i]);
        }
        scratch_free(&s);
    }
    free(cnt);
    if (fail) {
        slide_data_free(out);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "synth: out of memory for per-thread scratch");
    }
    return SLIDE_OK;
}

int slide_synth_generate(const slide_synth_params *p, slide_data *train, slide_data *test,
                         slide_err *err) {
    if (!train || !test) return slide_err_set(err, SLIDE_EINVAL, 0, "synth: no output data set");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    const char *msg = slide_synth_params_check(p);
    if (msg) return slide_err_set(err, SLIDE_EINVAL, 0, "synth: %s", msg);
    gen g;
    gen_init(&g, p);
    g.threads = p->threads;
    const slide_synth_preset *ps = g.pd;
    int64_t n_train = scaled(ps->n_train, p->scale, 8), n_test = scaled(ps->n_test, p->scale, 8);
    int rc = gen_split(&g, n_train, 0, train, err);
    if (rc) return rc;
    rc = gen_split(&g, n_test, 1ULL << 40, test, err);
    if (rc) {
        slide_data_free(train);
        return rc;
    }
    return SLIDE_OK;
}
