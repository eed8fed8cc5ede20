/* ThreadSanitizer workload (`make tsan`, not run by `make test`): drives every threaded path with
 * 2+ OpenMP threads (LSH build + concurrent queries, batch hashing, data loading and synthesis,
 * network creation, evaluation, training with its rehash/rebuild schedule, checkpointing) and
 * checks the results against one-thread runs. The only races allowed are the HOGWILD updates
 * (slide_hogwild_axpy / slide_hogwild_add, suppressed in core/tests/tsan.supp). */
#include "slide/checkpoint.h"
#include "slide/hash.h"
#include "slide/kern.h"
#include "slide/lsh.h"
#include "slide/rng.h"
#include "slide/synth.h"
#include "test_util.h"

#include <omp.h>
#include <pthread.h>

#define THREADS 2

/* LSH: parallel build (above the library's parallel threshold), then queries from every thread
 * at once, each with its own scratch, compared with a one-thread query of the same keys. */
static void lsh_paths(void) {
    const int L = 16, rb = 10;
    const int64_t n = 8192; /* n * L = 131072 keys: the build runs in parallel */
    slide_lsh_params p = slide_lsh_params_default();
    p.L = L;
    p.range_bits = rb;
    p.bucket_cap = 32;
    p.policy = SLIDE_BUCKET_RESERVOIR;
    p.max_ids = n;
    p.seed = 7;
    p.threads = THREADS;
    slide_lsh *h = NULL;
    slide_err err;
    CHECK(slide_lsh_create(&h, &p, &err) == 0);
    uint32_t *keys = malloc((size_t)n * L * sizeof *keys);
    slide_rng r;
    slide_rng_seed(&r, 1, 2);
    for (int64_t i = 0; i < n * L; i++) keys[i] = slide_rng_below(&r, 1u << rb);
    omp_set_num_threads(THREADS);
    CHECK(slide_lsh_build(h, keys, n, &err) == 0);
    CHECK(slide_lsh_build(h, keys, n, &err) == 0); /* rebuild in place */
    const int nq = 256;
    int64_t *got = calloc(nq, sizeof *got);
#pragma omp parallel num_threads(THREADS)
    {
        slide_lsh_scratch *s = slide_lsh_scratch_create(h, 1);
        uint32_t *out = malloc((size_t)n * sizeof *out);
#pragma omp for schedule(dynamic, 1)
        for (int q = 0; q < nq; q++) got[q] = slide_lsh_query(h, keys + (int64_t)q * L, 1, out, n, s, NULL);
        free(out);
        slide_lsh_scratch_destroy(s);
    }
    slide_lsh_scratch *s = slide_lsh_scratch_create(h, 1);
    uint32_t *out = malloc((size_t)n * sizeof *out);
    int same = 1;
    for (int q = 0; q < nq; q++) same &= slide_lsh_query(h, keys + (int64_t)q * L, 1, out, n, s, NULL) == got[q];
    CHECKF(same, "concurrent query sizes differ from serial ones");
    free(out);
    slide_lsh_scratch_destroy(s);
    free(got);
    free(keys);
    slide_lsh_destroy(h);
}

/* Batch hashing (OpenMP over rows) against the one-row call; the hash object is shared. */
static void hash_paths(void) {
    const int families[3] = {SLIDE_HASH_SIMHASH, SLIDE_HASH_WTA, SLIDE_HASH_DWTA};
    const int64_t n = 512, dim = 64;
    float *x = malloc((size_t)(n * dim) * sizeof *x);
    slide_rng r;
    slide_rng_seed(&r, 3, 4);
    for (int64_t i = 0; i < n * dim; i++) x[i] = slide_rng_normal(&r);
    for (int f = 0; f < 3; f++) {
        slide_hash_params hp = slide_hash_params_default();
        hp.family = families[f];
        hp.K = 4;
        hp.L = 8;
        hp.dim = dim;
        hp.range_bits = 12;
        slide_hash *h = NULL;
        slide_err err;
        CHECK(slide_hash_create(&h, &hp, &err) == 0);
        uint32_t *kb = malloc((size_t)n * hp.L * sizeof *kb), one[64];
        slide_hash_keys_dense_batch(h, x, dim, n, kb, THREADS);
        int same = 1;
        for (int64_t i = 0; i < n; i++) {
            slide_hash_keys_dense(h, x + i * dim, 0, one);
            same &= memcmp(one, kb + i * hp.L, (size_t)hp.L * sizeof *one) == 0;
        }
        CHECKF(same, "family %d: batch keys differ", f);
        free(kb);
        slide_hash_destroy(h);
    }
    free(x);
}

/* Data: two threads parse two buffers at once (the parser keeps no global state), and the
 * synthetic generator (OpenMP) gives the same data with 1 and 2 threads. */
typedef struct {
    const char *text;
    slide_data ds;
    int rc;
} parse_job;

static void *parse_thread(void *arg) {
    parse_job *j = arg;
    slide_err err;
    j->rc = slide_data_parse(&j->ds, j->text, strlen(j->text), "tsan", &err);
    if (!j->rc) slide_data_normalize(&j->ds);
    return NULL;
}

static void data_paths(slide_data *train, slide_data *test) {
    static const char a[] = "3 10 5\n0,4 1:0.5 7:2\n 2:1\n3 9:1 0:1 1:1e-3\n";
    static const char b[] = "2 4 3\r\n0 1:1\r\n1,2 0:0.5 3:1";
    parse_job ja = {a, {0}, -1}, jb = {b, {0}, -1};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, parse_thread, &ja);
    pthread_create(&tb, NULL, parse_thread, &jb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(ja.rc == 0 && jb.rc == 0 && ja.ds.n == 3 && jb.ds.n == 2);
    slide_data_free(&ja.ds);
    slide_data_free(&jb.ds);

    slide_synth_params sp = slide_synth_params_default();
    sp.preset = "tiny";
    sp.scale = 0.1;
    sp.label_scale = 0.5;
    sp.seed = 9;
    slide_err err;
    slide_data t1, e1;
    sp.threads = 1;
    CHECK(slide_synth_generate(&sp, &t1, &e1, &err) == 0);
    sp.threads = THREADS;
    CHECK(slide_synth_generate(&sp, train, test, &err) == 0);
    CHECK(t1.nnz == train->nnz && memcmp(t1.feat, train->feat, (size_t)t1.nnz * 4) == 0);
    slide_data_free(&t1);
    slide_data_free(&e1);
    /* A file round trip through the loader. */
    char path[512];
    snprintf(path, sizeof path, "%s/train.txt", test_tmpdir());
    CHECK(slide_data_write_text(train, path, &err) == 0);
    slide_data back;
    slide_data_opts o = slide_data_opts_default();
    o.cache = SLIDE_CACHE_OFF;
    CHECK(slide_data_load(&back, path, &o, &err) == 0 && back.nnz == train->nnz);
    slide_data_free(&back);
    slide_data_normalize(train);
    slide_data_normalize(test);
}

static slide_net_params net_params(const slide_data *ds, int threads, int family, int simd,
                                   int mips) {
    slide_net_params p = slide_net_params_default();
    p.layer[0].n_out = 32;
    p.layer[1].hash.family = family;
    p.layer[1].hash.K = family == SLIDE_HASH_SIMHASH ? 6 : 2;
    p.layer[1].hash.L = 8;
    p.layer[1].hash.range_bits = 8;
    p.layer[1].min_active_frac = 0.05;
    p.layer[1].max_active_frac = 0.3;
    slide_net_params_shape(&p, ds->d, ds->l);
    p.threads = threads;
    p.batch = 32;
    p.seed = 5;
    p.rehash_every = 2;
    p.rebuild_every = 3;
    p.simd = simd;
    p.layer[1].mips = mips;
    return p;
}

/* Evaluation with 2 threads equals the one-thread evaluation; training with 2 threads runs the
 * HOGWILD loop, Adam on touched rows, rehash of dirty neurons and table rebuilds, by row sweep
 * (the default) and sample by sample, and the sorted input update. */
static void net_paths(const slide_data *train, const slide_data *test, int family, int simd,
                      int mips) {
    slide_err err;
    slide_net *n1 = NULL, *n2 = NULL;
    slide_net_params p1 = net_params(train, 1, family, simd, mips),
                    p2 = net_params(train, THREADS, family, simd, mips);
    p2.row_sweep = 1; /* these nets fit in cache: auto would train sample by sample */
    CHECK(slide_net_create(&n1, &p1, &err) == 0);
    CHECK(slide_net_create(&n2, &p2, &err) == 0);
    if (!n1 || !n2) return;
    for (int sampled = 0; sampled <= 1; sampled++) {
        slide_eval_result a, b;
        CHECK(slide_net_evaluate(n1, test, NULL, 0, sampled, &a, &err) == 0);
        CHECK(slide_net_evaluate(n2, test, NULL, 0, sampled, &b, &err) == 0);
        CHECKF(a.n_eval == b.n_eval && fabs(a.p_at[1] - b.p_at[1]) < 1e-12 &&
                   fabs(a.ndcg_at[5] - b.ndcg_at[5]) < 1e-12,
               "evaluation differs: P@1 %g vs %g", a.p_at[1], b.p_at[1]);
    }
    int64_t ids[32];
    slide_train_stats st;
    memset(&st, 0, sizeof st);
    for (int bt = 0; bt < 8; bt++) {
        for (int s = 0; s < 32; s++) ids[s] = (bt * 32 + s * 7) % train->n;
        CHECK(slide_net_train_batch(n2, train, ids, 32, &st, &err) == 0);
    }
    CHECK(st.samples == 8 * 32 && isfinite(st.loss_sum));
    slide_eval_result c;
    CHECK(slide_net_evaluate(n2, test, NULL, 0, 1, &c, &err) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/ck-%d", test_tmpdir(), family);
    CHECK(slide_checkpoint_save(n2, path, "tsan", 4, &err) == 0);
    char u[8];
    size_t ul = 0;
    CHECK(slide_checkpoint_load(n2, path, u, sizeof u, &ul, &err) == 0 && ul == 4);
    CHECK(slide_net_train_batch(n2, train, ids, 32, NULL, &err) == 0);
    slide_net_destroy(n2);
    n2 = NULL;
    p2.row_sweep = 0;
    CHECK(slide_net_create(&n2, &p2, &err) == 0);
    if (n2) {
        CHECK(!slide_net_row_sweep(n2));
        for (int bt = 0; bt < 3; bt++) CHECK(slide_net_train_batch(n2, train, ids, 32, NULL, &err) == 0);
    }
    /* the sorted input update (slide-train-mpi's replicas), both orders: no HOGWILD in a batch */
    for (int sw = 0; sw <= 1; sw++) {
        slide_net *n3 = NULL;
        slide_net_params p3 = p2;
        p3.row_sweep = sw;
        p3.input_sorted = 1;
        CHECK(slide_net_create(&n3, &p3, &err) == 0);
        for (int bt = 0; bt < 3 && n3; bt++)
            CHECK(slide_net_train_batch(n3, train, ids, 32, NULL, &err) == 0);
        slide_net_destroy(n3);
    }
    slide_net_destroy(n1);
    slide_net_destroy(n2);
}

int main(void) {
    double t0 = slide_now();
    setvbuf(stdout, NULL, _IOLBF, 0);
    lsh_paths();
    printf("lsh build + concurrent queries: done (%.1f s)\n", slide_now() - t0);
    hash_paths();
    printf("batch hashing: done (%.1f s)\n", slide_now() - t0);
    slide_data train, test;
    data_paths(&train, &test);
    printf("data: %lld train points, %lld test points (%.1f s)\n", (long long)train.n,
           (long long)test.n, slide_now() - t0);
    net_paths(&train, &test, SLIDE_HASH_SIMHASH, SLIDE_SIMD_SCALAR, 0);
    net_paths(&train, &test, SLIDE_HASH_DWTA, slide_simd_best(), 0); /* the vector kernels too */
    net_paths(&train, &test, SLIDE_HASH_SIMHASH, slide_simd_best(), 1); /* MIPS transform */
    printf("network create / evaluate / train / checkpoint: done (%.1f s)\n", slide_now() - t0);
    slide_data_free(&train);
    slide_data_free(&test);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", test_tmpdir());
    TEST_MAIN_END();
}
