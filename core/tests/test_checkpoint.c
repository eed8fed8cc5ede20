/* Checkpoint tests: bit-exact resume with one thread, and rejection of truncated, corrupted,
 * foreign and mismatched files with the right error class. */
#include "slide/checkpoint.h"
#include "slide/rng.h"
#include "slide/synth.h"
#include "test_util.h"

#include <errno.h>
#include <signal.h>

static slide_net_params params(const slide_data *ds) {
    slide_net_params p = slide_net_params_default();
    p.layer[0].n_out = 16;
    p.layer[1].hash.K = 3;
    p.layer[1].hash.L = 8;
    p.layer[1].hash.range_bits = 10;
    p.layer[1].min_active_frac = 0.05;
    p.layer[1].max_active_frac = 0.3;
    slide_net_params_shape(&p, ds->d, ds->l);
    p.threads = 1;
    p.batch = 32;
    p.seed = 11;
    p.rehash_every = 3;
    p.rebuild_every = 7;
    p.simd = SLIDE_SIMD_SCALAR;
    return p;
}

static void train(slide_net *net, const slide_data *ds, int from, int to) {
    int64_t ids[32];
    slide_err err;
    for (int b = from; b < to; b++) {
        for (int s = 0; s < 32; s++) ids[s] = (b * 37 + s * 13) % ds->n;
        SLIDE_ASSERT(slide_net_train_batch(net, ds, ids, 32, NULL, &err) == 0);
    }
}

static int same_weights(slide_net *a, slide_net *b) {
    for (int l = 0; l < 2; l++) {
        slide_layer *x = slide_net_layer(a, l), *y = slide_net_layer(b, l);
        size_t nw = (size_t)(x->n_rows * x->ld) * sizeof(float), nb = (size_t)x->p.n_out * 4;
        if (memcmp(x->W, y->W, nw) || memcmp(x->mW, y->mW, nw) || memcmp(x->vW, y->vW, nw) ||
            memcmp(x->b, y->b, nb))
            return 0;
    }
    return 1;
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

int main(void) {
    slide_synth_params sp = slide_synth_params_default();
    sp.preset = "tiny";
    sp.scale = 0.2;
    sp.label_scale = 0.5;
    sp.seed = 2;
    slide_data tr, te;
    slide_err err;
    SLIDE_ASSERT(slide_synth_generate(&sp, &tr, &te, &err) == 0);
    slide_net_params p = params(&tr);
    char path[512];
    snprintf(path, sizeof path, "%s/ck.bin", test_tmpdir());

    /* A: train 10, checkpoint, train 10 more. B: load the checkpoint, train the same 10. */
    slide_net *a = NULL, *b = NULL;
    CHECK(slide_net_create(&a, &p, &err) == 0);
    train(a, &tr, 0, 10);
    const char blob[] = "driver-state";
    CHECK(slide_checkpoint_save(a, path, blob, sizeof blob, &err) == 0);
    train(a, &tr, 10, 20);
    CHECK(slide_net_create(&b, &p, &err) == 0);
    char got[64] = {0};
    size_t glen = 0;
    int rc = slide_checkpoint_load(b, path, got, sizeof got, &glen, &err);
    CHECKF(rc == 0, "load: %s", err.msg);
    CHECK(glen == sizeof blob && !memcmp(got, blob, glen));
    CHECK(slide_net_step(b) == 10);
    train(b, &tr, 10, 20);
    CHECK(same_weights(a, b));
    slide_eval_result ra, rb;
    slide_net_evaluate(a, &te, NULL, 0, 0, &ra, &err);
    slide_net_evaluate(b, &te, NULL, 0, 0, &rb, &err);
    CHECK(ra.p_at[1] == rb.p_at[1] && ra.recall_at_5 == rb.recall_at_5);
    /* A net trained differently is not equal (the comparison can fail). */
    train(b, &tr, 20, 21);
    CHECK(!same_weights(a, b));

    /* A temp file of a dead process (killed mid-save) is removed by the next save; one of a live
     * process (ours is skipped, pid 1 is alive) is kept. */
    char stale[600], live[600];
    long dead = 0;
    for (long pid = 4000000; pid > 300000 && !dead; pid -= 7919)
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) dead = pid;
    snprintf(stale, sizeof stale, "%s.tmp.%ld", path, dead);
    snprintf(live, sizeof live, "%s.tmp.1", path);
    FILE *sf = fopen(stale, "w"), *lf = fopen(live, "w");
    CHECK(sf && lf);
    if (sf) fclose(sf);
    if (lf) fclose(lf);
    CHECK(dead > 0 && access(stale, F_OK) == 0);
    CHECK(slide_checkpoint_save(a, path, blob, sizeof blob, &err) == 0);
    CHECK(access(stale, F_OK) != 0);
    CHECK(access(live, F_OK) == 0);
    unlink(live);
    /* The file written last is A at step 20; rewrite the step-10 checkpoint for the checks below. */
    slide_net *a10 = NULL;
    CHECK(slide_net_create(&a10, &p, &err) == 0);
    train(a10, &tr, 0, 10);
    CHECK(slide_checkpoint_save(a10, path, blob, sizeof blob, &err) == 0);
    slide_net_destroy(a10);

    /* Damaged files. */
    size_t n = 0;
    unsigned char *buf = read_all(path, &n);
    CHECK(buf != NULL && n > 100);
    slide_net *c = NULL;
    CHECK(slide_net_create(&c, &p, &err) == 0);
    CHECK(slide_checkpoint_parse(c, buf, n, "mem", got, sizeof got, &glen, &err) == 0);
    size_t cuts[] = {0, 3, 8, 12, 40, n / 2, n - 9, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rc = slide_checkpoint_parse(c, buf, cuts[i], "mem", got, sizeof got, &glen, &err);
        CHECKF(rc == SLIDE_EFORMAT, "truncated at %zu: rc %d (%s)", cuts[i], rc, err.msg);
    }
    size_t flips[] = {2, 9, 100, n / 3, n - 20, n - 3};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        buf[flips[i]] ^= 0x40;
        rc = slide_checkpoint_parse(c, buf, n, "mem", got, sizeof got, &glen, &err);
        CHECKF(rc != 0, "flip at %zu accepted", flips[i]);
        buf[flips[i]] ^= 0x40;
    }
    rc = slide_checkpoint_parse(c, "SLIDEDS1garbage-garbage-garbage", 31, "mem", got, sizeof got,
                                &glen, &err);
    CHECK(rc == SLIDE_EVERSION);
    buf[8] = 99; /* version */
    rc = slide_checkpoint_parse(c, buf, n, "mem", got, sizeof got, &glen, &err);
    CHECK(rc == SLIDE_EVERSION && strstr(err.msg, "version"));
    buf[8] = 2;
    /* Blob larger than the caller's buffer. */
    rc = slide_checkpoint_parse(c, buf, n, "mem", got, 4, &glen, &err);
    CHECK(rc == SLIDE_EFORMAT);
    /* A different configuration is named in the error. */
    slide_net_params q = p;
    q.layer[1].hash.L = 9;
    slide_net *d = NULL;
    CHECK(slide_net_create(&d, &q, &err) == 0);
    rc = slide_checkpoint_load(d, path, got, sizeof got, &glen, &err);
    CHECK(rc == SLIDE_EINVAL && strstr(err.msg, " L is 8"));
    CHECK(slide_checkpoint_load(d, "/nonexistent/ck.bin", got, sizeof got, &glen, &err) == SLIDE_EIO);
    CHECK(slide_checkpoint_save(d, "/nonexistent/dir/ck.bin", NULL, 0, &err) == SLIDE_EIO);
    free(buf);
    slide_net_destroy(a);
    slide_net_destroy(b);
    slide_net_destroy(c);
    slide_net_destroy(d);
    slide_data_free(&tr);
    slide_data_free(&te);
    TEST_MAIN_END();
}
