/* libFuzzer harness for the binary data cache reader (slide_data_cache_parse): any input must
 * give a data set meeting the CSR invariants or a format/version error, never a crash. Each
 * input runs twice: as given, and resealed with the checksum its bytes should carry, so the
 * content checks behind the checksum get fuzzed too. */
#include "fuzz_common.h"

#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* Self-check: our copy of the checksum must match a cache the library writes. */
    static const char text[] = "3 8 5\n0,4 1:0.5 7:2\n 2:1\n3 0:1 1:1 2:1\n";
    slide_data ds;
    slide_err err;
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_cache_selfcheck.%d.sbin", (int)getpid());
    if (slide_data_parse(&ds, text, sizeof text - 1, "self", &err) ||
        slide_data_cache_save(&ds, path, &err)) {
        fprintf(stderr, "fuzz_cache: self-check: %s\n", err.msg);
        abort();
    }
    slide_data_free(&ds);
    size_t n = 0;
    uint8_t *b = fuzz_read_file(path, &n);
    unlink(path);
    int ok = 0;
    uint64_t want = b ? fuzz_cache_sum(b, n, &ok) : 0, got = 0;
    if (b && n >= 8) memcpy(&got, b + n - 8, 8);
    free(b);
    if (!ok || want != got) {
        fprintf(stderr, "fuzz_cache: the cache checksum changed; update fuzz_common.h\n");
        abort();
    }
    return 0;
}

static void one(const uint8_t *buf, size_t len) {
    slide_data ds;
    slide_err err;
    int rc = slide_data_cache_parse(&ds, buf, len, "fuzz.sbin", &err);
    if (rc) {
        fuzz_check_err(rc, &err);
        FUZZ_REQUIRE(rc == SLIDE_EFORMAT || rc == SLIDE_EVERSION || rc == SLIDE_ENOMEM);
        FUZZ_REQUIRE(ds.row_ptr == NULL);
        return;
    }
    fuzz_check_data(&ds);
    slide_data_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len) {
    one(buf, len);
    int ok;
    uint64_t sum = fuzz_cache_sum(buf, len, &ok);
    uint64_t old;
    if (ok && (memcpy(&old, buf + len - 8, 8), old != sum)) {
        uint8_t *c = malloc(len);
        FUZZ_REQUIRE(c != NULL);
        memcpy(c, buf, len);
        memcpy(c + len - 8, &sum, 8);
        one(c, len);
        free(c);
    }
    return 0;
}
