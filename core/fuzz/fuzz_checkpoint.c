/* libFuzzer harness for the checkpoint reader (slide_checkpoint_parse) into a small network
 * built once. A rejected file may leave the weights unspecified, never the process broken; an
 * accepted one must leave a network that evaluates and trains. Each input runs twice: as
 * given, and resealed with the checksum its bytes should carry (to fuzz the checks behind it). */
#include "fuzz_common.h"

#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static slide_net *g_net;
static slide_data g_ds; /* 4 points over the network's shape, for the post-load smoke step */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    slide_net_params p = fuzz_net_params();
    slide_err err;
    if (slide_net_create(&g_net, &p, &err)) {
        fprintf(stderr, "fuzz_checkpoint: %s\n", err.msg);
        abort();
    }
    static const char text[] = "4 8 8\n0,1 0:1 3:0.5\n2 1:1\n7 7:2 2:1\n5,6 4:0.25\n";
    if (slide_data_parse(&g_ds, text, sizeof text - 1, "fuzz-data", &err)) {
        fprintf(stderr, "fuzz_checkpoint: %s\n", err.msg);
        abort();
    }
    /* Self-check: our copy of the checksum must match a checkpoint the library writes. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_ckpt_selfcheck.%d", (int)getpid());
    if (slide_checkpoint_save(g_net, path, "x", 1, &err)) {
        fprintf(stderr, "fuzz_checkpoint: self-check: %s\n", err.msg);
        abort();
    }
    size_t n = 0;
    uint8_t *b = fuzz_read_file(path, &n);
    unlink(path);
    uint64_t got = 0;
    if (b && n >= 8) memcpy(&got, b + n - 8, 8);
    int same = b && n >= 8 && fuzz_ckpt_sum(b, n - 8) == got;
    free(b);
    if (!same) {
        fprintf(stderr, "fuzz_checkpoint: the checkpoint checksum changed; update fuzz_common.h\n");
        abort();
    }
    return 0;
}

static void one(const uint8_t *buf, size_t len) {
    unsigned char user[FUZZ_USER_CAP];
    size_t ulen = (size_t)-1;
    slide_err err;
    int rc = slide_checkpoint_parse(g_net, buf, len, "fuzz.ckpt", user, sizeof user, &ulen, &err);
    if (rc) {
        fuzz_check_err(rc, &err);
        FUZZ_REQUIRE(rc == SLIDE_EFORMAT || rc == SLIDE_EVERSION || rc == SLIDE_EINVAL ||
                     rc == SLIDE_ENOMEM);
        return;
    }
    FUZZ_REQUIRE(ulen <= sizeof user);
    int64_t ids[4] = {0, 1, 2, 3};
    slide_eval_result ev;
    FUZZ_REQUIRE(slide_net_evaluate(g_net, &g_ds, NULL, 0, 1, &ev, &err) == 0);
    FUZZ_REQUIRE(slide_net_train_batch(g_net, &g_ds, ids, 4, NULL, &err) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len) {
    one(buf, len);
    if (len >= 8) {
        uint64_t sum = fuzz_ckpt_sum(buf, len - 8), old;
        memcpy(&old, buf + len - 8, 8);
        if (old != sum) {
            uint8_t *c = malloc(len);
            FUZZ_REQUIRE(c != NULL);
            memcpy(c, buf, len);
            memcpy(c + len - 8, &sum, 8);
            one(c, len);
            free(c);
        }
    }
    return 0;
}
