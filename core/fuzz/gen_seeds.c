/* Writes the binary seed files of the cache and checkpoint fuzzers (valid files made with the
 * library, plus truncated / foreign / other-version variants): gen_seeds OUT_DIR writes
 * OUT_DIR/cache/... and OUT_DIR/checkpoint/... Deterministic; `make fuzz-seeds` runs it. */
#include "fuzz_common.h"

#include <errno.h>
#include <sys/stat.h>

static void die(const char *what, const slide_err *err) {
    fprintf(stderr, "gen_seeds: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

static void put(const char *dir, const char *name, const uint8_t *b, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) die(path, NULL);
}

/* Writes a valid file plus variants: truncated to half, first byte flipped, version + 1. */
static void variants(const char *dir, const char *stem, const char *src) {
    size_t n = 0;
    uint8_t *b = fuzz_read_file(src, &n);
    if (!b || n < 16) die(src, NULL);
    char name[256];
    snprintf(name, sizeof name, "%s-valid", stem);
    put(dir, name, b, n);
    snprintf(name, sizeof name, "%s-truncated", stem);
    put(dir, name, b, n / 2);
    b[0] ^= 0x20;
    snprintf(name, sizeof name, "%s-badmagic", stem);
    put(dir, name, b, n);
    b[0] ^= 0x20;
    b[8]++;
    snprintf(name, sizeof name, "%s-version", stem);
    put(dir, name, b, n);
    free(b);
    remove(src);
}

static void cache_seed(const char *dir, const char *stem, const char *text) {
    slide_data ds;
    slide_err err;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", dir, stem);
    if (slide_data_parse(&ds, text, strlen(text), stem, &err)) die(stem, &err);
    if (slide_data_cache_save(&ds, tmp, &err)) die(stem, &err);
    slide_data_free(&ds);
    variants(dir, stem, tmp);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds OUT_DIR\n");
        return 2;
    }
    char cdir[4096], kdir[4096];
    snprintf(cdir, sizeof cdir, "%s/cache", argv[1]);
    snprintf(kdir, sizeof kdir, "%s/checkpoint", argv[1]);
    mkdir(argv[1], 0777);
    mkdir(cdir, 0777);
    mkdir(kdir, 0777);

    cache_seed(cdir, "small", "4 8 5\n0,4 1:0.5 7:2\n 2:1\n3 0:1 1:1 2:1\n1,2,3 6:-1.5e-3\n");
    cache_seed(cdir, "empty", "0 3 2\n");
    cache_seed(cdir, "nolabels", "2 4 1\n 0:1\n\n");

    slide_net *net = NULL;
    slide_err err;
    slide_net_params p = fuzz_net_params();
    if (slide_net_create(&net, &p, &err)) die("net", &err);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.tmp-ck", kdir);
    if (slide_checkpoint_save(net, tmp, "x", 1, &err)) die("checkpoint", &err);
    variants(kdir, "fresh", tmp);
    /* After a few steps: Adam moments, dirty marks and counters are non-trivial. */
    static const char text[] = "4 8 8\n0,1 0:1 3:0.5\n2 1:1\n7 7:2 2:1\n5,6 4:0.25\n";
    slide_data ds;
    if (slide_data_parse(&ds, text, sizeof text - 1, "seed-data", &err)) die("data", &err);
    int64_t ids[4] = {3, 1, 0, 2};
    for (int s = 0; s < 3; s++)
        if (slide_net_train_batch(net, &ds, ids, 4, NULL, &err)) die("train", &err);
    uint8_t user[16];
    for (int i = 0; i < 16; i++) user[i] = (uint8_t)(i * 17);
    if (slide_checkpoint_save(net, tmp, user, sizeof user, &err)) die("checkpoint", &err);
    variants(kdir, "trained", tmp);
    slide_data_free(&ds);
    slide_net_destroy(net);
    return 0;
}
