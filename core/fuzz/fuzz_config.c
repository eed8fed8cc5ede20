/* libFuzzer harness for the option parser: the input as a config file (slide_opts_parse_file,
 * through a memfd, no disk) and, split at newlines, as a command line (slide_opts_parse), over a
 * table with every option type. Accepted values must respect their ranges and choices. */
#include "fuzz_common.h"
#include "slide/opts.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static int g_fd = -1;
static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    g_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
    if (g_fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    return 0;
}

typedef struct {
    int i, flag, choice;
    int64_t l;
    double d;
    float f;
    const char *s;
    uint64_t u;
} vals;

static void run_table(const uint8_t *buf, size_t len, int as_argv) {
    vals v = {5, 0, 0, -7, 0.5, 0.25f, "default", 42};
    slide_opt opts[] = {
        {"int", SLIDE_OPT_INT, &v.i, -100, 100, NULL, "int", 0, NULL},
        {"int-any", SLIDE_OPT_INT, &v.i, 1, 0, NULL, "int without range", 0, NULL},
        {"i64", SLIDE_OPT_I64, &v.l, -1e15, 1e15, NULL, "i64", 0, NULL},
        {"double", SLIDE_OPT_DOUBLE, &v.d, 1e-9, 1, NULL, "double", 0, NULL},
        {"float", SLIDE_OPT_FLOAT, &v.f, -1e30, 1e30, NULL, "float", 0, NULL},
        {"str", SLIDE_OPT_STR, &v.s, 1, 0, NULL, "string", 0, NULL},
        {"flag", SLIDE_OPT_FLAG, &v.flag, 0, 1, NULL, "flag", 0, NULL},
        {"choice", SLIDE_OPT_CHOICE, &v.choice, 1, 0, "simhash|wta|dwta", "choice", 0, NULL},
        {"u64", SLIDE_OPT_U64, &v.u, 1, 0, NULL, "u64", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    slide_err err;
    slide_err_clear(&err);
    int rc;
    char *copy = NULL;
    char **argv = NULL;
    if (!as_argv) {
        if (ftruncate(g_fd, 0) != 0 || pwrite(g_fd, buf, len, 0) != (ssize_t)len) abort();
        rc = slide_opts_parse_file(opts, g_path, &err);
    } else {
        /* argv[0] + one argument per line; --config would open arbitrary paths: dropped. */
        copy = malloc(len + 1);
        argv = malloc((len + 2) * sizeof *argv);
        FUZZ_REQUIRE(copy && argv);
        memcpy(copy, buf, len);
        copy[len] = '\0';
        int argc = 0;
        argv[argc++] = "fuzz";
        for (char *p = copy, *e; p; p = e) {
            e = strchr(p, '\n');
            if (e) *e++ = '\0';
            if (!strstr(p, "config")) argv[argc++] = p;
        }
        const char *pos[2];
        int npos = 0;
        rc = slide_opts_parse(opts, argc, argv, pos, 2, &npos, &err);
        FUZZ_REQUIRE(npos >= 0 && npos <= 2);
    }
    if (rc == SLIDE_OPTS_HELP) {
        FUZZ_REQUIRE(as_argv);
    } else if (rc) {
        fuzz_check_err(rc, &err);
        FUZZ_REQUIRE(rc == SLIDE_EINVAL || rc == SLIDE_EFORMAT || rc == SLIDE_EIO ||
                     rc == SLIDE_ENOMEM);
    } else {
        FUZZ_REQUIRE(v.i >= -100 && v.i <= 100 ? 1 : opts[1].was_set);
        FUZZ_REQUIRE(v.l >= -1000000000000000LL && v.l <= 1000000000000000LL);
        FUZZ_REQUIRE(v.d >= 1e-9 && v.d <= 1);
        FUZZ_REQUIRE(isfinite(v.f) && v.f >= -1e30f && v.f <= 1e30f);
        FUZZ_REQUIRE(v.s != NULL && strlen(v.s) <= len + 7);
        FUZZ_REQUIRE(v.flag == 0 || v.flag == 1);
        FUZZ_REQUIRE(v.choice >= 0 && v.choice <= 2);
    }
    slide_opts_free(opts);
    free(argv);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len) {
    run_table(buf, len, 0);
    run_table(buf, len, 1);
    return 0;
}
