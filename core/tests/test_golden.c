/* Bit-for-bit guard for refactors: a fixed seed, one thread and the scalar path train small
 * networks (SimHash and DWTA tables, both train orders, rehashes and rebuilds) and the weights,
 * biases, Adam moments and table keys must hash to the checksums recorded below. A change that
 * alters the arithmetic on purpose re-records them (the test prints the new values) and says why
 * in its commit message. */
#include "slide/network.h"
#include "slide/synth.h"
#include "test_util.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static uint64_t net_checksum(slide_net *net) {
    uint64_t h = 1469598103934665603ULL;
    const int nl = slide_net_params_of(net)->n_layers;
    for (int l = 0; l < nl; l++) {
        const slide_layer *ly = slide_net_layer(net, l);
        const size_t nw = (size_t)ly->n_rows * (size_t)ly->ld * sizeof(float);
        const size_t nb = (size_t)ly->p.n_out * sizeof(float);
        h = fnv(h, ly->W, nw);
        h = fnv(h, ly->b, nb);
        h = fnv(h, ly->mW, nw);
        h = fnv(h, ly->vW, nw);
        h = fnv(h, ly->mb, nb);
        h = fnv(h, ly->vb, nb);
        if (ly->keys)
            h = fnv(h, ly->keys, (size_t)ly->p.n_out * (size_t)ly->p.hash.L * sizeof(uint32_t));
    }
    return h;
}

typedef struct {
    const char *name;
    int family, K, range_bits, row_sweep, mips;
    uint64_t want;
} golden;

int main(void) {
    slide_err err;
    slide_data train, test;
    slide_synth_params sp = slide_synth_params_default(); /* tiny: 2000 labels, 500 features */
    sp.scale = 0.25;
    if (slide_synth_generate(&sp, &train, &test, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        return 1;
    }
    /* recorded at commit a67b768 (gcc 12 -O3, clang 14, the same with AVX2 or scalar hashing) */
    golden g[] = {
        {"simhash row-sweep", SLIDE_HASH_SIMHASH, 6, 10, 1, 0, 0xed50b414f6ec5f3fULL},
        {"simhash per-sample", SLIDE_HASH_SIMHASH, 6, 10, 0, 0, 0x4dd047ae35144553ULL},
        {"dwta+mips row-sweep", SLIDE_HASH_DWTA, 3, 9, 1, 1, 0xff9dd83f053f9307ULL},
        {"dwta+mips per-sample", SLIDE_HASH_DWTA, 3, 9, 0, 1, 0xd82d278252e7c052ULL},
    };
    int64_t ids[64];
    for (size_t c = 0; c < sizeof g / sizeof g[0]; c++) {
        slide_net_params p = slide_net_params_default();
        slide_net_params_shape(&p, train.d, train.l);
        p.threads = 1;
        p.simd = SLIDE_SIMD_SCALAR;
        p.seed = 7;
        p.batch = 64;
        p.row_sweep = g[c].row_sweep;
        p.rehash_every = 3;
        p.rebuild_every = 7;
        slide_layer_params *o = &p.layer[1];
        o->hash.family = g[c].family;
        o->hash.K = g[c].K;
        o->hash.L = 8;
        o->hash.range_bits = g[c].range_bits;
        o->mips = g[c].mips;
        o->min_active_frac = 0.02;
        o->max_active_frac = 0.1;
        slide_net *net = NULL;
        if (slide_net_create(&net, &p, &err)) {
            CHECKF(0, "%s: create: %s", g[c].name, err.msg);
            continue;
        }
        slide_train_stats st;
        memset(&st, 0, sizeof st);
        for (int b = 0; b < 20; b++) {
            for (int i = 0; i < 64; i++) ids[i] = (int64_t)(((uint64_t)b * 64 + (uint64_t)i) * 2654435761u % (uint64_t)train.n);
            if (slide_net_train_batch(net, &train, ids, 64, &st, &err)) {
                CHECKF(0, "%s: batch %d: %s", g[c].name, b, err.msg);
                break;
            }
        }
        const uint64_t got = net_checksum(net);
        CHECKF(got == g[c].want, "%s: checksum 0x%016llxULL, recorded 0x%016llxULL", g[c].name,
               (unsigned long long)got, (unsigned long long)g[c].want);
        slide_net_destroy(net);
    }
    slide_data_free(&train);
    slide_data_free(&test);
    TEST_MAIN_END();
}
