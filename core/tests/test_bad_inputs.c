/* Bad-input suite: replays core/tests/bad_inputs/MANIFEST (data, config, cache and checkpoint
 * files through the library; user errors through the programs) and checks each outcome: the
 * error class and line, or for programs exit 2 with one message line and no crash. */
#include "../fuzz/fuzz_common.h"
#include "slide/opts.h"
#include "slide/synth.h"
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define IN_DIR "core/tests/bad_inputs"
#define MAX_ARGS 48

static char g_tmp[PATH_MAX];   /* absolute scratch dir (short: under build/tmp) */
static char g_bin[PATH_MAX];   /* absolute program dir, "" when the programs are missing */
static int g_root;             /* running as root: mode-000 files are readable */
static int g_case;             /* case counter (for per-case file names) */
static int g_skipped;
static char g_fast[] = "--epochs 0.05 --eval-every 0 --eval-n 50 --threads 1 --progress 0 "
                       "--hidden 16 --seed 3";

/* ---------------------------------------------------------------- helpers */

static const char *class_name(int code) {
    switch (code) {
    case SLIDE_OK: return "accepted";
    case SLIDE_EINVAL: return "invalid";
    case SLIDE_EIO: return "io";
    case SLIDE_EFORMAT: return "format";
    case SLIDE_ENOMEM: return "nomem";
    case SLIDE_ERANGE: return "range";
    case SLIDE_EVERSION: return "version";
    case SLIDE_EUNSUP: return "unsup";
    default: return "?";
    }
}

static int write_file(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* One 64 MB line: 6.8 M features "i:1 " (valid, D = 10^7) or a single 64 MB number. */
static int write_big(const char *path, int number) {
    const size_t target = (size_t)64 << 20;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t cap = 1 << 20, n = 0, total = 0;
    char *buf = malloc(cap + 64);
    if (!buf) {
        fclose(f);
        return -1;
    }
    fputs(number ? "1 10 5\n0 1:" : "1 10000000 5\n0 ", f);
    for (long i = 0; total < target; i++) {
        if (number) {
            memset(buf, '9', cap);
            n = cap;
        } else {
            n += (size_t)snprintf(buf + n, 64, "%ld:1 ", i);
            if (n < cap) continue;
        }
        fwrite(buf, 1, n, f);
        total += n;
        n = 0;
    }
    if (n) fwrite(buf, 1, n, f);
    fputc('\n', f);
    free(buf);
    return fclose(f);
}

/* ---------------------------------------------------------------- placeholders */

typedef struct {
    const char *name;
    char path[PATH_MAX];
    int ready; /* 0 not made, 1 made, -1 cannot be made (cases using it are skipped) */
} holder;

enum { H_TRAIN, H_TEST, H_TEST_OTHER_D, H_BIGLINE, H_BIGNUM, H_UNREADABLE, H_CKPT_GOOD,
       H_CKPT_TRUNC, H_CKPT_CORRUPT, H_CKPT_FOREIGN, H_COUNT };
static holder g_h[H_COUNT] = {{"@TRAIN@", "", 0},        {"@TEST@", "", 0},
                              {"@TEST_OTHER_D@", "", 0}, {"@BIGLINE@", "", 0},
                              {"@BIGNUM@", "", 0},       {"@UNREADABLE@", "", 0},
                              {"@CKPT_GOOD@", "", 0},    {"@CKPT_TRUNC@", "", 0},
                              {"@CKPT_CORRUPT@", "", 0}, {"@CKPT_FOREIGN@", "", 0}};

static int run_prog(char **argv, const char *err_path, double timeout_s, int *status);

static int make_data(void) {
    slide_synth_params sp = slide_synth_params_default();
    sp.preset = "tiny";
    sp.scale = 0.05;
    sp.seed = 4;
    slide_data tr, te;
    slide_err err;
    if (slide_synth_generate(&sp, &tr, &te, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        return -1;
    }
    int rc = slide_data_write_text(&tr, g_h[H_TRAIN].path, &err) ||
             slide_data_write_text(&te, g_h[H_TEST].path, &err);
    te.d += 1; /* still valid: every id < d */
    rc = rc || slide_data_write_text(&te, g_h[H_TEST_OTHER_D].path, &err);
    if (rc) fprintf(stderr, "write: %s\n", err.msg);
    slide_data_free(&tr);
    slide_data_free(&te);
    g_h[H_TRAIN].ready = g_h[H_TEST].ready = g_h[H_TEST_OTHER_D].ready = rc ? -1 : 1;
    return rc ? -1 : 0;
}

/* A checkpoint written by slide-train with the suite's short-run flags, plus broken copies. */
static int make_ckpts(void) {
    if (!g_bin[0] || g_h[H_TRAIN].ready != 1) return -1;
    char prog[PATH_MAX + 16], csv[PATH_MAX + 16], errp[PATH_MAX + 16], fast[sizeof g_fast];
    snprintf(prog, sizeof prog, "%s/slide-train", g_bin);
    snprintf(csv, sizeof csv, "%s/ckpt-setup.csv", g_tmp);
    snprintf(errp, sizeof errp, "%s/ckpt-setup.err", g_tmp);
    memcpy(fast, g_fast, sizeof fast);
    char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = prog;
    argv[n++] = "--train";
    argv[n++] = g_h[H_TRAIN].path;
    argv[n++] = "--test";
    argv[n++] = g_h[H_TEST].path;
    argv[n++] = "--csv";
    argv[n++] = csv;
    argv[n++] = "--checkpoint";
    argv[n++] = g_h[H_CKPT_GOOD].path;
    for (char *t = strtok(fast, " "); t; t = strtok(NULL, " ")) argv[n++] = t;
    argv[n] = NULL;
    int st = -1;
    if (run_prog(argv, errp, 60, &st) || st != 0) {
        fprintf(stderr, "setup: slide-train --checkpoint failed (status %d), see %s\n", st, errp);
        return -1;
    }
    size_t len = 0;
    uint8_t *b = fuzz_read_file(g_h[H_CKPT_GOOD].path, &len);
    if (!b || len < 64) {
        free(b);
        return -1;
    }
    int rc = write_file(g_h[H_CKPT_TRUNC].path, b, len / 2);
    b[len / 2] ^= 0x40;
    rc |= write_file(g_h[H_CKPT_CORRUPT].path, b, len);
    free(b);
    /* "Foreign": a valid checkpoint of another network (the fuzzers' 8 -> 4 -> 8 net). */
    slide_net *net = NULL;
    slide_net_params p = fuzz_net_params();
    slide_err err;
    if (slide_net_create(&net, &p, &err) ||
        slide_checkpoint_save(net, g_h[H_CKPT_FOREIGN].path, "x", 1, &err))
        rc = -1;
    slide_net_destroy(net);
    return rc;
}

/* Makes placeholder h on first use; 1 ready, 0 skipped (with a note). */
static int need(int h) {
    holder *x = &g_h[h];
    if (x->ready) return x->ready == 1;
    int rc = 0;
    switch (h) {
    case H_TRAIN:
    case H_TEST:
    case H_TEST_OTHER_D: rc = make_data(); break;
    case H_BIGLINE: rc = write_big(x->path, 0); break;
    case H_BIGNUM: rc = write_big(x->path, 1); break;
    case H_UNREADABLE:
        if (g_root) {
            printf("note: running as root, mode-000 files are readable: @UNREADABLE@ cases "
                   "skipped\n");
            rc = -1;
            break;
        }
        rc = write_file(x->path, "1 10 5\n0 1:1\n", 13);
        if (!rc) rc = chmod(x->path, 0);
        break;
    case H_CKPT_GOOD:
    case H_CKPT_TRUNC:
    case H_CKPT_CORRUPT:
    case H_CKPT_FOREIGN: {
        rc = make_ckpts();
        int r = rc ? -1 : 1;
        g_h[H_CKPT_GOOD].ready = g_h[H_CKPT_TRUNC].ready = r;
        g_h[H_CKPT_CORRUPT].ready = g_h[H_CKPT_FOREIGN].ready = r;
        break;
    }
    }
    if (x->ready == 0) x->ready = rc ? -1 : 1;
    if (x->ready != 1 && h != H_UNREADABLE) printf("note: cannot make %s\n", x->name);
    return x->ready == 1;
}

/* Expands one argument: placeholders to absolute paths; "@FAST@" is handled by the caller.
 * Returns 0 when a needed placeholder is unavailable (case skipped). */
static int expand(const char *a, char *out, size_t cap) {
    if (!strcmp(a, "@TMP@")) {
        snprintf(out, cap, "%s", g_tmp);
        return 1;
    }
    if (!strncmp(a, "@TMP@/", 6)) {
        snprintf(out, cap, "%s/%s", g_tmp, a + 6);
        return 1;
    }
    if (!strcmp(a, "@CSV@")) {
        snprintf(out, cap, "%s/case-%d.csv", g_tmp, g_case);
        return 1;
    }
    for (int h = 0; h < H_COUNT; h++)
        if (!strcmp(a, g_h[h].name)) {
            if (!need(h)) return 0;
            snprintf(out, cap, "%s", g_h[h].path);
            return 1;
        }
    snprintf(out, cap, "%s", a);
    return 1;
}

/* ---------------------------------------------------------------- programs */

/* Runs argv with cwd IN_DIR, stdout to /dev/null, stderr to err_path, no core files. */
static int run_prog(char **argv, const char *err_path, double timeout_s, int *status) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);
        int out = open("/dev/null", O_WRONLY);
        int er = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || er < 0 || chdir(IN_DIR) != 0) _exit(127);
        dup2(out, 1);
        dup2(er, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    double t0 = slide_now();
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return 0;
        if (r < 0 && errno != EINTR) return -1;
        if (slide_now() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            fprintf(stderr, "timeout after %.0f s: %s\n", timeout_s, argv[0]);
            return -1;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

static int has_sanitizer_output(const char *s) {
    static const char *pat[] = {"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                                "runtime error:", "SLIDE_ASSERT", "Segmentation", "core dumped",
                                "Aborted"};
    for (size_t i = 0; i < sizeof pat / sizeof pat[0]; i++)
        if (strstr(s, pat[i])) return 1;
    return 0;
}

static void case_run(char **args, int nargs, const char *expect, long line, const char *desc) {
    char prog[PATH_MAX + 64];
    snprintf(prog, sizeof prog, "%s/%s", g_bin, args[0]);
    if (!g_bin[0] || access(prog, X_OK) != 0) {
        printf("[%2d] SKIP (no %s in $SLIDE_BIN): %s\n", g_case, args[0], desc);
        g_skipped++;
        return;
    }
    static char store[MAX_ARGS][PATH_MAX];
    char fast[sizeof g_fast];
    char *argv[MAX_ARGS + 2];
    int n = 0;
    argv[n++] = prog;
    for (int i = 1; i < nargs && n < MAX_ARGS; i++) {
        if (!strcmp(args[i], "@FAST@")) {
            memcpy(fast, g_fast, sizeof fast);
            for (char *t = strtok(fast, " "); t && n < MAX_ARGS; t = strtok(NULL, " "))
                argv[n++] = t;
            continue;
        }
        if (!expand(args[i], store[n], sizeof store[n])) {
            printf("[%2d] SKIP (%s unavailable): %s\n", g_case, args[i], desc);
            g_skipped++;
            return;
        }
        argv[n] = store[n];
        n++;
    }
    argv[n] = NULL;
    char errp[PATH_MAX + 32];
    snprintf(errp, sizeof errp, "%s/case-%d.err", g_tmp, g_case);
    int st = 0;
    double t0 = slide_now();
    int rc = run_prog(argv, errp, 60, &st);
    double dt = slide_now() - t0;
    size_t elen = 0;
    char *e = (char *)fuzz_read_file(errp, &elen);
    char *txt = calloc(elen + 1, 1);
    if (e) memcpy(txt, e, elen);
    free(e);
    /* The message line: the stderr lines that are not "[tag] ..." progress/info lines. */
    int msg_lines = 0;
    char first[400] = "";
    for (char *p = txt; *p;) {
        char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (ll > 0 && p[0] != '[') {
            if (!msg_lines) snprintf(first, sizeof first, "%.*s", (int)(ll < 300 ? ll : 300), p);
            msg_lines++;
        }
        p += ll + (nl ? 1 : 0);
    }
    int want_warn = !strcmp(expect, "0w");
    int want = atoi(expect);
    int hp_pool = 0;
    if (want_warn) { /* a configured pool makes explicit hugepages work: no warning due */
        FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
        if (f) {
            if (fscanf(f, "%d", &hp_pool) != 1) hp_pool = 0;
            fclose(f);
        }
    }
    int code = rc == 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    printf("[%2d] %-6s exit %d (%.2f s) %s\n       -> %s\n", g_case, expect, code, dt, desc,
           first[0] ? first : (txt[0] ? "(info lines only)" : "(no stderr)"));
    CHECKF(rc == 0 && WIFEXITED(st), "[%d] %s: killed by signal %d", g_case, desc,
           WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    CHECKF(code == want, "[%d] %s: exit %d, expected %d; stderr:\n%s", g_case, desc, code, want,
           txt);
    CHECKF(!has_sanitizer_output(txt), "[%d] %s: crash or sanitizer output:\n%s", g_case, desc,
           txt);
    if (want == 2 && strcmp(expect, "2u") != 0)
        CHECKF(msg_lines == 1, "[%d] %s: %d message lines on stderr, expected one:\n%s", g_case,
               desc, msg_lines, txt);
    if (line > 0) {
        char pat[32];
        snprintf(pat, sizeof pat, ":%ld:", line);
        CHECKF(strstr(first, pat) != NULL, "[%d] %s: message does not name line %ld: %s", g_case,
               desc, line, first);
    }
    if (want_warn && hp_pool == 0)
        CHECKF(strstr(txt, "warning") != NULL, "[%d] %s: no fallback warning:\n%s", g_case, desc,
               txt);
    free(txt);
}

/* ---------------------------------------------------------------- library kinds */

typedef struct {
    int K, L, normalize, hash;
    float lr;
    double epochs;
    const char *train;
    uint64_t seed;
    int64_t big;
} cfg_vals;

static int lib_config(const char *path, slide_err *err) {
    cfg_vals v = {4, 16, 1, 0, 1e-3f, 1.0, "x", 1, 0};
    slide_opt opts[] = {
        {"K", SLIDE_OPT_INT, &v.K, 1, 32, NULL, "K", 0, NULL},
        {"L", SLIDE_OPT_INT, &v.L, 1, 1024, NULL, "L", 0, NULL},
        {"lr", SLIDE_OPT_FLOAT, &v.lr, 1e-9, 1, NULL, "lr", 0, NULL},
        {"epochs", SLIDE_OPT_DOUBLE, &v.epochs, 0.0001, 1e6, NULL, "epochs", 0, NULL},
        {"train", SLIDE_OPT_STR, &v.train, 1, 0, NULL, "train", 0, NULL},
        {"hash", SLIDE_OPT_CHOICE, &v.hash, 1, 0, "simhash|wta|dwta", "hash", 0, NULL},
        {"seed", SLIDE_OPT_U64, &v.seed, 1, 0, NULL, "seed", 0, NULL},
        {"normalize", SLIDE_OPT_FLAG, &v.normalize, 0, 1, NULL, "normalize", 0, NULL},
        {"big", SLIDE_OPT_I64, &v.big, -10, 10, NULL, "big", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    int rc = slide_opts_parse_file(opts, path, err);
    slide_opts_free(opts);
    return rc;
}

static slide_net *g_net; /* the fuzzing network, for checkpoint cases */

static void case_lib(const char *kind, const char *arg, const char *expect, long line,
                     const char *desc) {
    char path[PATH_MAX + 64];
    if (arg[0] == '@') {
        if (!expand(arg, path, sizeof path)) {
            printf("[%2d] SKIP (%s unavailable): %s\n", g_case, arg, desc);
            g_skipped++;
            return;
        }
    } else {
        snprintf(path, sizeof path, "%s/%s", IN_DIR, arg);
    }
    slide_err err;
    slide_err_clear(&err);
    int rc;
    double t0 = slide_now();
    if (!strcmp(kind, "data")) {
        slide_data ds;
        slide_data_opts o = slide_data_opts_default();
        o.normalize = 1;
        o.cache = SLIDE_CACHE_OFF;
        rc = slide_data_load(&ds, path, &o, &err);
        if (!rc) {
            fuzz_check_data(&ds);
            slide_data_free(&ds);
        }
    } else if (!strcmp(kind, "config")) {
        rc = lib_config(path, &err);
    } else if (!strcmp(kind, "cache")) {
        slide_data ds;
        rc = slide_data_cache_load(&ds, path, &err);
        if (!rc) {
            fuzz_check_data(&ds);
            slide_data_free(&ds);
        }
    } else if (!strcmp(kind, "checkpoint")) {
        unsigned char user[FUZZ_USER_CAP];
        size_t ulen = 0;
        rc = slide_checkpoint_load(g_net, path, user, sizeof user, &ulen, &err);
        if (!rc) {
            /* as core/fuzz/fuzz_checkpoint.c: an accepted file leaves a network that evaluates
             * (sampled inference, with the recall diagnosis) and trains */
            static const char text[] = "4 8 8\n0,1 0:1 3:0.5\n2 1:1\n7 7:2 2:1\n5,6 4:0.25\n";
            slide_data ds;
            slide_err e2;
            int64_t ids[4] = {0, 1, 2, 3};
            slide_eval_result ev;
            CHECK(slide_data_parse(&ds, text, sizeof text - 1, "bad-inputs-data", &e2) == 0);
            CHECKF(slide_net_evaluate(g_net, &ds, NULL, 0, 1, &ev, &e2) == 0, "%s: evaluate: %s",
                   desc, e2.msg);
            CHECKF(slide_net_train_batch(g_net, &ds, ids, 4, NULL, &e2) == 0, "%s: train: %s",
                   desc, e2.msg);
            slide_data_free(&ds);
        }
    } else {
        CHECKF(0, "MANIFEST: unknown kind '%s'", kind);
        return;
    }
    double dt = slide_now() - t0;
    printf("[%2d] %-8s got %-8s line %ld (%.2f s) %s\n       -> %s\n", g_case, expect,
           class_name(rc), rc ? err.line : 0L, dt, desc, rc ? err.msg : "ok");
    CHECKF(!strcmp(class_name(rc), expect), "[%d] %s: got %s (%s), expected %s", g_case, desc,
           class_name(rc), err.msg, expect);
    if (rc) CHECKF(err.msg[0] != '\0', "[%d] %s: error without a message", g_case, desc);
    if (line > 0)
        CHECKF(err.line == line, "[%d] %s: line %ld, expected %ld (%s)", g_case, desc, err.line,
               line, err.msg);
    if (rc && (!strcmp(kind, "data") || !strcmp(kind, "config")))
        CHECKF(strstr(err.msg, path) != NULL, "[%d] %s: message does not name the file: %s",
               g_case, desc, err.msg);
}

/* ---------------------------------------------------------------- main */

static int listed(char **names, int n, const char *f) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], f)) return 1;
    return 0;
}

int main(void) {
    double t_start = slide_now();
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_root = geteuid() == 0;
    if (!realpath(test_tmpdir(), g_tmp)) {
        perror("realpath");
        return 1;
    }
    static const char *hfile[H_COUNT] = {"train.txt", "test.txt",   "test_other_d.txt",
                                         "bigline.txt", "bignum.txt", "unreadable.txt",
                                         "good.ckpt", "trunc.ckpt", "corrupt.ckpt",
                                         "foreign.ckpt"};
    for (int h = 0; h < H_COUNT; h++)
        if (snprintf(g_h[h].path, sizeof g_h[h].path, "%.3800s/%s", g_tmp, hfile[h]) < 0) return 1;
    const char *bin = getenv("SLIDE_BIN");
    if (!bin || !*bin) bin = "build/bin";
    if (!realpath(bin, g_bin)) {
        printf("note: program dir %s missing: program cases skipped\n", bin);
        g_bin[0] = '\0';
    }
    slide_net_params np = fuzz_net_params();
    slide_err err;
    SLIDE_ASSERT(slide_net_create(&g_net, &np, &err) == 0);

    FILE *mf = fopen(IN_DIR "/MANIFEST", "r");
    if (!mf) {
        fprintf(stderr, "cannot open %s/MANIFEST (run from the repository root)\n", IN_DIR);
        return 1;
    }
    char raw[2048];
    char *regress_listed[256];
    int n_regress = 0, n_cases = 0;
    while (fgets(raw, sizeof raw, mf)) {
        char line[2048];
        raw[strcspn(raw, "\n")] = '\0';
        if (!raw[0] || raw[0] == '#') continue;
        snprintf(line, sizeof line, "%s", raw);
        char *tok[MAX_ARGS];
        int nt = 0;
        for (char *t = strtok(line, " \t"); t && nt < MAX_ARGS; t = strtok(NULL, " \t"))
            tok[nt++] = t;
        if (nt < 4) {
            CHECKF(0, "MANIFEST: short line '%s'", raw);
            continue;
        }
        g_case = ++n_cases;
        long ln = strcmp(tok[2], "-") ? atol(tok[2]) : 0;
        char desc[300];
        snprintf(desc, sizeof desc, "%.299s", raw);
        if (!strcmp(tok[0], "run")) {
            case_run(tok + 3, nt - 3, tok[1], ln, desc);
        } else {
            case_lib(tok[0], tok[3], tok[1], ln, desc);
            if (!strncmp(tok[3], "regress/", 8) && n_regress < 256)
                regress_listed[n_regress++] = strdup(tok[3]);
        }
    }
    fclose(mf);

    /* Every fuzzer find must be classified in the MANIFEST. */
    DIR *d = opendir(IN_DIR "/regress");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char rel[300];
            snprintf(rel, sizeof rel, "regress/%s", e->d_name);
            CHECKF(listed(regress_listed, n_regress, rel), "%s is not in the MANIFEST", rel);
        }
        closedir(d);
    }
    for (int i = 0; i < n_regress; i++) free(regress_listed[i]);
    slide_net_destroy(g_net);
    printf("%d cases, %d skipped, %.1f s\n", n_cases, g_skipped, slide_now() - t_start);
    remove(g_h[H_BIGLINE].path); /* 128 MB: never kept */
    remove(g_h[H_BIGNUM].path);
    if (!t_failures) { /* keep the (small) scratch files of a failing run for inspection */
        char cmd[PATH_MAX + 16];
        if (!g_root) chmod(g_h[H_UNREADABLE].path, 0600);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_tmp);
    }
    TEST_MAIN_END();
}
