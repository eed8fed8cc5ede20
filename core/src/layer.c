/* Layer construction (one slab for weights, gradients and Adam moments), seeded initialisation
 * independent of the thread count, and LSH table maintenance for sampled layers. */
#include "slide/layer.h"
#include "slide/rng.h"
#include "slide/transform.h"

#include <math.h>
#include <omp.h>
#include <string.h>

slide_layer_params slide_layer_params_default(void) {
    slide_layer_params p;
    memset(&p, 0, sizeof p);
    p.n_in = 1;
    p.n_out = 1;
    p.act = SLIDE_ACT_RELU;
    p.init_std = 0.01f;
    p.row_step = 1;
    p.hash = slide_hash_params_default();
    p.bucket_cap = 128;
    p.bucket_policy = SLIDE_BUCKET_FIFO;
    p.probes = 0;
    p.min_active_frac = 0.0;
    p.max_active_frac = 1.0;
    p.sampler = SLIDE_SAMPLER_LSH;
    p.unigram_power = 0.75;
    p.threads = 1;
    return p;
}

const char *slide_sampler_name(int s) {
    return s == SLIDE_SAMPLER_LSH ? "lsh" : s == SLIDE_SAMPLER_UNIFORM ? "uniform"
           : s == SLIDE_SAMPLER_UNIGRAM ? "unigram" : "?";
}

int slide_sampler_parse(const char *s) {
    if (!s) return -1;
    for (int k = 0; k < 3; k++)
        if (!strcmp(s, slide_sampler_name(k))) return k;
    return -1;
}

const char *slide_layer_params_check(const slide_layer_params *p) {
    static const char *msg_dims = "layer size must be at least 1 neuron and 1 input";
    if (p->n_in < 1 || p->n_out < 1) return msg_dims;
    if (p->n_out > INT32_MAX || p->n_in > INT32_MAX) return "layer size above 2^31-1";
    if (p->act != SLIDE_ACT_RELU && p->act != SLIDE_ACT_SOFTMAX) return "unknown activation";
    if (!(p->init_std > 0 && p->init_std < 10)) return "init-std must be in (0, 10)";
    if (p->threads < 1 || p->threads > 1024) return "layer threads must be in 1..1024";
    if (p->input_major && p->sampled) return "an input-major (first) layer cannot be sampled";
    if (p->input_major && p->bf16) return "bf16 weights apply to row-major layers only";
    if (p->input_major && p->adam_bf16) return "bf16 Adam moments apply to row-major layers only";
    if (p->bf16_only && !(p->bf16 && p->adam_bf16 && !p->input_major))
        return "bf16-only weights need bf16 weights and Adam moments (row-major layers)";
    if (p->sampled) {
        slide_hash_params h = p->hash;
        h.dim = p->n_in;
        const char *m = slide_hash_params_check(&h);
        if (m) return m;
        if (p->bucket_cap < 1 || p->bucket_cap > 65535) return "bucket-cap must be in 1..65535";
        if (p->bucket_policy != SLIDE_BUCKET_FIFO && p->bucket_policy != SLIDE_BUCKET_RESERVOIR)
            return "bucket policy must be fifo or reservoir";
        if (p->probes < 0 || p->probes > SLIDE_HASH_MAX_PROBES) return "probes must be in 0..16";
        if (!(p->min_active_frac >= 0 && p->min_active_frac <= 1))
            return "min-active must be a fraction in [0, 1]";
        if (!(p->max_active_frac > 0 && p->max_active_frac <= 1))
            return "max-active must be a fraction in (0, 1]";
        if (p->min_active_frac > p->max_active_frac) return "min-active must not exceed max-active";
        if (p->sampler < SLIDE_SAMPLER_LSH || p->sampler > SLIDE_SAMPLER_UNIGRAM)
            return "sampler must be lsh, uniform or unigram";
        if (!(p->budget_frac >= 0 && p->budget_frac <= 1)) return "budget must be in [0, 1]";
        if (!(p->unigram_power >= 0 && p->unigram_power <= 4))
            return "unigram-power must be in [0, 4]";
    }
    return NULL;
}

/* Bytes of the layer's slab (weights, moments, gradient, biases, BF16 copy), as laid out in
 * slide_layer_init: every array rounded to 16 floats. */
static size_t slab_bytes(const slide_layer_params *p) {
    const size_t n_rows = (size_t)(p->input_major ? p->n_in : p->n_out);
    const size_t ld = (size_t)(p->input_major ? p->n_out : p->n_in);
    const size_t nw16 = (n_rows * ld + 15) & ~(size_t)15;
    const size_t nb16 = ((size_t)p->n_out + 15) & ~(size_t)15;
    /* With adam_bf16 the two moment arrays (uint16) share one float slab's bytes; with
     * bf16_only there is no fp32 W (only Wh, after the biases). */
    const size_t nslab =
        (p->input_major ? 4 : 3) - (p->adam_bf16 ? 1 : 0) - (p->bf16_only ? 1 : 0);
    return sizeof(float) * (nslab * nw16 + 4 * nb16) + (p->bf16 ? 2 * nw16 : 0);
}

void slide_layer_active_bounds(const slide_layer_params *p, int64_t *min_active,
                               int64_t *max_active) {
    if (!p->sampled) {
        *min_active = *max_active = p->n_out;
        return;
    }
    if (p->budget_frac > 0) { /* exact: round(F x n_out), at least one neuron */
        const int64_t b = llround(p->budget_frac * (double)p->n_out);
        *min_active = *max_active = b < 1 ? 1 : b > p->n_out ? p->n_out : b;
        return;
    }
    const int64_t mx = (int64_t)ceil(p->max_active_frac * (double)p->n_out);
    const int64_t mn = (int64_t)ceil(p->min_active_frac * (double)p->n_out);
    *max_active = mx < 1 ? 1 : mx;
    *min_active = mn > *max_active ? *max_active : mn;
}

/* The lsh parameters of a sampled layer (slide_layer_init). */
static slide_lsh_params lsh_params(const slide_layer_params *p, int key_bits, uint64_t seed,
                                   int index) {
    slide_lsh_params lp = slide_lsh_params_default();
    lp.L = p->hash.L;
    lp.range_bits = key_bits;
    lp.bucket_cap = p->bucket_cap;
    lp.policy = p->bucket_policy;
    lp.max_ids = p->n_out;
    lp.seed = seed ^ ((uint64_t)index * 0x9E3779B97F4A7C15ULL);
    lp.threads = p->threads;
    return lp;
}

double slide_layer_estimate_bytes(const slide_layer_params *p, int hp_mode,
                                  slide_mem_parts *parts) {
    const double w = (double)p->n_in * (double)p->n_out, b = (double)p->n_out;
    const double n_rows = (double)(p->input_major ? p->n_in : p->n_out);
    /* The slab by its arrays: m and v (fp32 or BF16), the input-major layer's gradient slab,
     * the biases' gradient and moments as optimizer state; W (none with bf16_only), its BF16
     * copy, the biases and the rounding of arrays and pages as weights. */
    const double opt =
        (p->adam_bf16 ? 4.0 : 8.0) * w + (p->input_major ? 4.0 * w : 0.0) + 12.0 * b;
    const double weights = (double)slide_mem_block_bytes(slab_bytes(p), hp_mode) - opt;
    double tables = 0, scratch = 0;
    if (p->sampled) {
        const double L = p->hash.L, n = (double)p->n_out;
        slide_hash_params hp = p->hash;
        hp.dim = p->mips ? p->n_in + 2 : p->n_in;
        const slide_lsh_params lp = lsh_params(p, slide_hash_params_key_bits(&hp), 0, 0);
        tables += n * L * 4.0 + n; /* the neurons' keys, dirty marks */
        tables += (double)slide_lsh_plan_bytes(&lp);
        if (p->sampler == SLIDE_SAMPLER_UNIGRAM) tables += 12.0 * n; /* weights, alias table */
        if (p->shared_fill) {
            int64_t mn, mx;
            slide_layer_active_bounds(p, &mn, &mx);
            const int64_t nf = 2 * mn + 64 > p->n_out ? p->n_out : 2 * mn + 64;
            tables += 4.0 * (double)(2 * nf > p->n_out ? p->n_out : nf) +
                      8.0 * (double)((p->n_out + 63) / 64);
        }
        /* Table maintenance, freed when it ends: a build's scratch, or a rehash of up to a
         * quarter of the neurons (their ids and new keys). */
        const double build = (double)slide_lsh_build_scratch_bytes(&lp, p->n_out);
        const double rehash = (n / 4.0) * (4.0 + 4.0 * L);
        scratch = build > rehash ? build : rehash;
    }
    const double work = n_rows + b; /* touched-row and touched-bias marks */
    if (parts) {
        parts->weights += weights;
        parts->optimizer += opt;
        parts->tables += tables;
        parts->workspace += work;
        if (scratch > parts->scratch) parts->scratch = scratch;
    }
    return weights + opt + tables + work;
}

void slide_init_row(float *w, int64_t n, float std, uint64_t seed, int layer, int64_t row) {
    slide_rng rng;
    slide_rng_seed(&rng, seed, ((uint64_t)(layer + 1) << 40) + (uint64_t)row);
    /* Box-Muller pairs in single precision: init of 86 M weights in well under a second. */
    for (int64_t j = 0; j < n; j += 2) {
        float u1 = slide_rng_uniform(&rng), u2 = slide_rng_uniform(&rng);
        float rad = sqrtf(-2.0f * logf(u1 > 1e-30f ? u1 : 1e-30f));
        float s = sinf(6.2831853f * u2), c = cosf(6.2831853f * u2);
        w[j] = std * rad * c;
        if (j + 1 < n) w[j + 1] = std * rad * s;
    }
}

int slide_layer_init(slide_layer *ly, const slide_layer_params *p, uint64_t seed, int index,
                     int hp_mode, int *hp_in_effect, const slide_numa *numa, slide_err *err) {
    memset(ly, 0, sizeof *ly);
    const char *m = slide_layer_params_check(p);
    if (m) return slide_err_set(err, SLIDE_EINVAL, 0, "layer %d: %s", index, m);
    ly->p = *p;
    ly->n_rows = p->input_major ? p->n_in : p->n_out;
    ly->ld = p->input_major ? p->n_out : p->n_in;
    size_t nw = (size_t)ly->n_rows * (size_t)ly->ld, nb = (size_t)p->n_out;
    /* Every array starts 64-byte aligned (slab_bytes rounds each to 16 floats). The input-major
     * layer accumulates its gradient in a slab (gW); the others build each touched row's
     * gradient at update time, so they have no gW (NULL). */
    size_t nw16 = (nw + 15) & ~(size_t)15, nb16 = (nb + 15) & ~(size_t)15;
    size_t bytes = slab_bytes(p);
    int fell = 0;
    int rc = slide_mem_alloc(&ly->blk, bytes, hp_mode, &fell, err);
    if (rc) return rc;
    if (hp_in_effect) *hp_in_effect = ly->blk.mode;
    if (numa && (rc = slide_mem_bind(&ly->blk, numa, err)) != SLIDE_OK) {
        slide_layer_free(ly);
        return rc;
    }
    float *cur = ly->blk.ptr;
    if (!p->bf16_only) {
        ly->W = cur;
        cur += nw16;
    }
    if (p->adam_bf16) {
        ly->mWh = (uint16_t *)cur;
        ly->vWh = ly->mWh + nw16;
        cur += nw16;
    } else {
        ly->mW = cur;
        ly->vW = cur + nw16;
        cur += 2 * nw16;
    }
    if (p->input_major) {
        ly->gW = cur;
        cur += nw16;
    }
    ly->b = cur;
    ly->gb = ly->b + nb16;
    ly->mb = ly->b + 2 * nb16;
    ly->vb = ly->b + 3 * nb16;
    ly->Wh = p->bf16 ? (uint16_t *)(ly->b + 4 * nb16) : NULL;
    ly->row_touched = calloc((size_t)ly->n_rows, 1);
    ly->bias_touched = calloc(nb, 1);
    if (!ly->row_touched || !ly->bias_touched) {
        slide_layer_free(ly);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "layer %d: out of memory", index);
    }
    /* Seeded per row: the same weights for any thread count. The worker threads first-touch
     * the rows (weights, Adam moments, gradient) so pages are placed and faulted in here, not
     * in the first training steps' optimizer update. */
    const float sd = p->init_std;
    const int64_t rows = ly->n_rows, ld = ly->ld;
    const slide_kern *ks = slide_kern_get(SLIDE_SIMD_SCALAR);
    int oom = 0;
#pragma omp parallel num_threads(ly->p.threads) reduction(| : oom)
    {
        /* bf16_only: each row drawn in fp32 here, then rounded to nearest into Wh */
        float *tmp = ly->W ? NULL : malloc((size_t)ld * sizeof(float));
        oom = !ly->W && !tmp;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const int64_t gr =
                p->input_major ? r : p->row0 + r * (p->row_step > 0 ? p->row_step : 1);
            if (ly->W) {
                slide_init_row(ly->W + r * ld, ld, sd, seed, index, gr);
            } else if (tmp) {
                slide_init_row(tmp, ld, sd, seed, index, gr);
                ks->to_bf16(ly->Wh + r * ld, tmp, ld);
            }
            if (ly->mW) {
                memset(ly->mW + r * ld, 0, (size_t)ld * sizeof(float));
                memset(ly->vW + r * ld, 0, (size_t)ld * sizeof(float));
            } else {
                memset(ly->mWh + r * ld, 0, (size_t)ld * sizeof(uint16_t));
                memset(ly->vWh + r * ld, 0, (size_t)ld * sizeof(uint16_t));
            }
            if (ly->gW) memset(ly->gW + r * ld, 0, (size_t)ld * sizeof(float));
        }
        free(tmp);
    }
    if (oom) {
        slide_layer_free(ly);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "layer %d: out of memory", index);
    }
    slide_layer_sync_bf16(ly);
    if (p->sampled) {
        slide_hash_params hp = p->hash;
        hp.dim = p->n_in + (p->mips ? 2 : 0);
        rc = slide_hash_create(&ly->hash, &hp, err);
        if (rc) {
            slide_layer_free(ly);
            return rc;
        }
        slide_lsh_params lp = lsh_params(p, slide_hash_key_bits(ly->hash), seed, index);
        rc = slide_lsh_create(&ly->lsh, &lp, err);
        if (rc) {
            slide_layer_free(ly);
            return rc;
        }
        ly->keys = malloc((size_t)p->n_out * (size_t)hp.L * sizeof *ly->keys);
        ly->dirty = calloc(nb, 1);
        if (!ly->keys || !ly->dirty) {
            slide_layer_free(ly);
            return slide_err_set(err, SLIDE_ENOMEM, 0, "layer %d: out of memory for tables", index);
        }
        slide_layer_active_bounds(p, &ly->min_active, &ly->max_active);
        if (p->sampler == SLIDE_SAMPLER_UNIGRAM) {
            ly->uni_prob = malloc(nb * sizeof *ly->uni_prob);
            ly->uni_alias = malloc(nb * sizeof *ly->uni_alias);
            ly->uni_w = malloc(nb * sizeof *ly->uni_w);
            if (!ly->uni_prob || !ly->uni_alias || !ly->uni_w) {
                slide_layer_free(ly);
                return slide_err_set(err, SLIDE_ENOMEM, 0, "layer %d: out of memory", index);
            }
            slide_layer_set_counts(ly, NULL, NULL);
        }
        if (p->shared_fill) {
            int64_t nf = 2 * ly->min_active + 64;
            ly->n_fill = nf > p->n_out ? p->n_out : nf;
            ly->fill = malloc((size_t)(2 * ly->n_fill > p->n_out ? p->n_out : ly->n_fill) *
                              sizeof *ly->fill);
            ly->fill_mark = calloc((size_t)(p->n_out + 63) / 64, sizeof *ly->fill_mark);
            if (!ly->fill || !ly->fill_mark) {
                slide_layer_free(ly);
                return slide_err_set(err, SLIDE_ENOMEM, 0, "layer %d: out of memory", index);
            }
        }
        rc = slide_layer_rebuild_tables(ly, err);
        if (rc) {
            slide_layer_free(ly);
            return rc;
        }
    } else {
        ly->max_active = ly->min_active = p->n_out;
    }
    return SLIDE_OK;
}

void slide_layer_draw_fill(slide_layer *ly, uint64_t seed, uint64_t step) {
    if (!ly->fill) return;
    const int64_t n = ly->p.n_out, m = ly->n_fill;
    slide_rng r;
    slide_rng_seed(&r, seed, (step << 24) ^ 0xF111000000000000ULL ^ (uint64_t)ly->p.n_in);
    if (2 * m > n) { /* a partial Fisher-Yates shuffle of all ids (fill holds n entries) */
        for (int64_t j = 0; j < n; j++) ly->fill[j] = (uint32_t)j;
        for (int64_t j = 0; j < m; j++) {
            int64_t k = j + (int64_t)slide_rng_below(&r, (uint32_t)(n - j));
            uint32_t t = ly->fill[j];
            ly->fill[j] = ly->fill[k];
            ly->fill[k] = t;
        }
        return;
    }
    /* Rejection: fewer than half the ids are taken, so each draw is new with p > 1/2. */
    int64_t got = 0;
    while (got < m) {
        uint32_t id = slide_rng_below(&r, (uint32_t)n);
        uint64_t bit = (uint64_t)1 << (id & 63);
        if (ly->fill_mark[id >> 6] & bit) continue;
        ly->fill_mark[id >> 6] |= bit;
        ly->fill[got++] = id;
    }
    for (int64_t j = 0; j < got; j++) ly->fill_mark[ly->fill[j] >> 6] = 0;
}

void slide_layer_free(slide_layer *ly) {
    if (!ly) return;
    slide_mem_free(&ly->blk);
    free(ly->row_touched);
    free(ly->bias_touched);
    if (ly->hash) slide_hash_destroy(ly->hash);
    if (ly->lsh) slide_lsh_destroy(ly->lsh);
    free(ly->keys);
    free(ly->dirty);
    free(ly->fill);
    free(ly->fill_mark);
    free(ly->uni_prob);
    free(ly->uni_alias);
    free(ly->uni_w);
    memset(ly, 0, sizeof *ly);
}

int slide_layer_set_counts(slide_layer *ly, const int64_t *counts, slide_err *err) {
    if (!ly->uni_prob) return SLIDE_OK;
    const int64_t n = ly->p.n_out;
    double sum = 0;
    int64_t support = 0, any = 0;
    for (int64_t i = 0; i < n; i++) {
        if (counts && counts[i] < 0)
            return slide_err_set(err, SLIDE_EINVAL, 0, "label %lld has a negative count",
                                 (long long)i);
        const double wgt = !counts ? 1.0 : counts[i] ? pow((double)counts[i], ly->p.unigram_power) : 0.0;
        ly->uni_w[i] = (float)wgt;
        sum += wgt;
        if (wgt > 0) any = i, support++;
    }
    if (support == 0) return slide_layer_set_counts(ly, NULL, err); /* no counts: uniform */
    double *q = malloc((size_t)n * sizeof *q);
    int64_t *small = malloc((size_t)n * sizeof *small), *large = malloc((size_t)n * sizeof *large);
    if (!q || !small || !large) {
        free(q);
        free(small);
        free(large);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for the unigram table");
    }
    /* Walker's alias method (Vose's form): column i keeps i with probability uni_prob[i], else
     * gives uni_alias[i]; the columns below their share are topped up from those above. */
    int64_t ns = 0, nl = 0;
    for (int64_t i = 0; i < n; i++) {
        q[i] = (double)ly->uni_w[i] * (double)n / sum;
        if (q[i] < 1.0) small[ns++] = i;
        else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        const int64_t sm = small[--ns], g = large[nl - 1];
        ly->uni_prob[sm] = (float)q[sm];
        ly->uni_alias[sm] = (uint32_t)g;
        q[g] -= 1.0 - q[sm];
        if (q[g] < 1.0) {
            nl--;
            small[ns++] = g;
        }
    }
    while (nl > 0) { /* rounding leaves these at about 1 */
        const int64_t g = large[--nl];
        ly->uni_prob[g] = 1.0f;
        ly->uni_alias[g] = (uint32_t)g;
    }
    while (ns > 0) { /* likewise; a zero weight's column gives a neuron with a weight */
        const int64_t sm = small[--ns];
        ly->uni_prob[sm] = ly->uni_w[sm] > 0 ? 1.0f : 0.0f;
        ly->uni_alias[sm] = (uint32_t)(ly->uni_w[sm] > 0 ? sm : any);
    }
    ly->uni_support = support;
    free(q);
    free(small);
    free(large);
    return SLIDE_OK;
}

static inline int nmarked(const uint64_t *mark, uint32_t id) {
    return (int)((mark[id >> 6] >> (id & 63)) & 1u);
}

int64_t slide_layer_draw_negatives(const slide_layer *ly, uint32_t *ids, int64_t n, int64_t target,
                                   uint64_t *mark, slide_rng *rng) {
    const int64_t N = ly->p.n_out;
    if (target > N) target = N;
    const float *wt = ly->uni_prob ? ly->uni_w : NULL;
    /* Without replacement = redraw what is drawn already (rejection), exact for any weights */
    for (int64_t tries = 64 * (target - n) + 4096; n < target && tries > 0; tries--) {
        uint32_t id = slide_rng_below(rng, (uint32_t)N);
        if (wt && !(slide_rng_uniform(rng) < ly->uni_prob[id])) id = ly->uni_alias[id];
        if (nmarked(mark, id)) continue;
        mark[id >> 6] |= (uint64_t)1 << (id & 63);
        ids[n++] = id;
    }
    /* When most of the weight is drawn already, the rest one by one over the undrawn neurons
     * (a linear pass each: rare) */
    while (n < target) {
        double tot = 0;
        for (int64_t i = 0; i < N; i++)
            if (!nmarked(mark, (uint32_t)i)) tot += wt ? (double)wt[i] : 1.0;
        if (!(tot > 0)) break; /* no weight left: the unigram reaches no more neurons */
        double u = slide_rng_uniform_d(rng) * tot;
        int64_t pick = -1, last = -1;
        for (int64_t i = 0; i < N && pick < 0; i++) {
            const double wi = nmarked(mark, (uint32_t)i) ? 0.0 : wt ? (double)wt[i] : 1.0;
            if (wi <= 0) continue;
            last = i;
            if (u < wi) pick = i;
            u -= wi;
        }
        if (pick < 0) pick = last; /* rounding at the end of the sum */
        mark[pick >> 6] |= (uint64_t)1 << (pick & 63);
        ids[n++] = (uint32_t)pick;
    }
    return n;
}

void slide_layer_sync_bf16(slide_layer *ly) {
    if (!ly->Wh || !ly->W) return; /* bf16_only: Wh is the weights */
    /* Every path rounds identically; the scalar table is always there. */
    const slide_kern *k = slide_kern_get(SLIDE_SIMD_SCALAR);
    const int64_t rows = ly->n_rows, ld = ly->ld;
#pragma omp parallel for num_threads(ly->p.threads) schedule(static)
    for (int64_t r = 0; r < rows; r++) k->to_bf16(ly->Wh + r * ld, ly->W + r * ld, ld);
}

const float *slide_layer_row(const slide_layer *ly, int64_t r, float *buf) {
    if (ly->W) return ly->W + r * ly->ld;
    slide_bf16_widen(buf, ly->Wh + r * ly->ld, ly->ld);
    return buf;
}

void slide_layer_row_vector(const slide_layer *ly, int64_t r, float *out) {
    const int64_t d = ly->p.n_in;
    if (!ly->p.mips) {
        if (ly->W) memcpy(out, ly->W + r * ly->ld, (size_t)d * sizeof(float));
        else slide_bf16_widen(out, ly->Wh + r * ly->ld, d);
        return;
    }
    /* out doubles as the widening buffer: slide_mips_row allows w == out */
    slide_mips_row(slide_layer_row(ly, r, out), ly->b[r], d, ly->mips_scale, out);
}

void slide_layer_query_vector(const slide_layer *ly, const float *x, float *out) {
    const int64_t d = ly->p.n_in;
    if (!ly->p.mips) {
        memcpy(out, x, (size_t)d * sizeof(float));
        return;
    }
    slide_mips_query(x, d, out);
}

int slide_layer_rebuild_tables(slide_layer *ly, slide_err *err) {
    if (!ly->p.sampled) return SLIDE_OK;
    const double t0 = slide_now();
    if (ly->p.mips) {
        const int64_t n = ly->p.n_out, d = ly->p.n_in, L = ly->p.hash.L;
        double mx = 0;
        int oom = 0;
#pragma omp parallel num_threads(ly->p.threads) reduction(max : mx) reduction(| : oom)
        {
            float *buf = ly->W ? NULL : malloc((size_t)d * sizeof(float));
            oom = !ly->W && !buf;
#pragma omp for schedule(static)
            for (int64_t r = 0; r < n; r++) {
                if (oom) continue;
                const double s = slide_mips_sqnorm(slide_layer_row(ly, r, buf), ly->b[r], d);
                if (s > mx) mx = s;
            }
            free(buf);
        }
        if (oom) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory rebuilding tables");
        ly->mips_scale = slide_mips_scale(mx);
#pragma omp parallel num_threads(ly->p.threads)
        {
            float *buf = malloc((size_t)(d + 2) * sizeof(float));
#pragma omp for schedule(static)
            for (int64_t r = 0; r < n; r++) {
                if (!buf) continue;
                slide_layer_row_vector(ly, r, buf);
                slide_hash_keys_dense(ly->hash, buf, 0, ly->keys + r * L);
            }
            free(buf);
        }
    } else if (ly->W) {
        slide_hash_keys_dense_batch(ly->hash, ly->W, ly->ld, ly->p.n_out, ly->keys, ly->p.threads);
    } else { /* bf16_only: chunks of rows widened (exactly), then hashed as a batch */
        const int64_t n = ly->p.n_out, ld = ly->ld, chunk = 4096;
        float *buf = malloc((size_t)(chunk * ld) * sizeof(float));
        if (!buf) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory rebuilding tables");
        for (int64_t r0 = 0; r0 < n; r0 += chunk) {
            const int64_t m = n - r0 < chunk ? n - r0 : chunk;
#pragma omp parallel for num_threads(ly->p.threads) schedule(static)
            for (int64_t r = 0; r < m; r++)
                slide_bf16_widen(buf + r * ld, ly->Wh + (r0 + r) * ld, ld);
            slide_hash_keys_dense_batch(ly->hash, buf, ld, m, ly->keys + r0 * ly->p.hash.L,
                                        ly->p.threads);
        }
        free(buf);
    }
    memset(ly->dirty, 0, (size_t)ly->p.n_out);
    const double t1 = slide_now();
    int rc = slide_lsh_build(ly->lsh, ly->keys, ly->p.n_out, err);
    ly->t_keys += t1 - t0;
    ly->t_tables += slide_now() - t1;
    return rc;
}

int64_t slide_layer_rehash_dirty(slide_layer *ly) {
    if (!ly->p.sampled) return 0;
    const int64_t n = ly->p.n_out;
    const int L = ly->p.hash.L;
    int64_t nd = 0;
    for (int64_t i = 0; i < n; i++) nd += ly->dirty[i];
    if (nd == 0) return 0;
    /* Most neurons changed (a large batch of a large layer touches most rows): a parallel
     * rebuild is far cheaper than removing and reinserting each one serially (10 s vs well under
     * 1 s for 670K neurons, L = 50). Full buckets then keep what a rebuild keeps. */
    if (nd * 4 > n) {
        slide_err err;
        if (slide_layer_rebuild_tables(ly, &err) == SLIDE_OK) return nd;
    }
    uint32_t *ids = malloc((size_t)nd * sizeof *ids);
    uint32_t *nk = malloc((size_t)nd * (size_t)L * sizeof *nk);
    if (!ids || !nk) { /* cannot rehash now; keep the marks for the next attempt */
        free(ids);
        free(nk);
        return 0;
    }
    const double t0 = slide_now();
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        if (ly->dirty[i]) ids[c++] = (uint32_t)i;
#pragma omp parallel num_threads(ly->p.threads)
    {
        float *buf = ly->p.mips || !ly->W ? malloc((size_t)(ly->p.n_in + 2) * sizeof(float))
                                            : NULL;
#pragma omp for schedule(static)
        for (int64_t j = 0; j < nd; j++) {
            if ((ly->p.mips || !ly->W) && !buf) { /* keep the old keys: a later rebuild redoes them */
                memcpy(nk + j * L, ly->keys + (int64_t)ids[j] * L, (size_t)L * sizeof *nk);
                continue;
            }
            const float *v = buf ? buf : ly->W + (int64_t)ids[j] * ly->ld;
            if (ly->p.mips) slide_layer_row_vector(ly, ids[j], buf);
            else if (!ly->W) slide_bf16_widen(buf, ly->Wh + (int64_t)ids[j] * ly->ld, ly->ld);
            slide_hash_keys_dense(ly->hash, v, 0, nk + j * L);
        }
        free(buf);
    }
    const double t1 = slide_now();
    for (int64_t j = 0; j < nd; j++) {
        uint32_t *old = ly->keys + (int64_t)ids[j] * L, *nw = nk + j * L;
        if (memcmp(old, nw, (size_t)L * sizeof *old) != 0) {
            slide_lsh_remove(ly->lsh, ids[j], old);
            slide_lsh_insert(ly->lsh, ids[j], nw);
            memcpy(old, nw, (size_t)L * sizeof *old);
        }
        ly->dirty[ids[j]] = 0;
    }
    ly->t_keys += t1 - t0;
    ly->t_tables += slide_now() - t1;
    free(ids);
    free(nk);
    return nd;
}
