/* Crash safety of slide-train: SIGKILL at seeded random moments must leave only whole CSV rows,
 * a checkpoint that resumes (or none) and at most the killed process's own temp file; SIGINT and
 * SIGTERM must finish the batch, write a final row and exit 130 / 143 (slide-dense too). */
#include "slide/rng.h"
#include "spawn_util.h"
#include "test_util.h"

#include <dirent.h>

static char g_train_prog[PATH_MAX + 32];
static char g_data[PATH_MAX];

/* Fills argv with a long training run writing dir/run.csv and dir/ck every batch; extra args
 * (NULL-terminated) follow. Returns argc. */
static int train_args(char **argv, char store[][PATH_MAX], const char *dir, char **extra) {
    int n = 0;
    argv[n++] = g_train_prog;
    snprintf(store[0], PATH_MAX, "%.3000s/train.txt", g_data);
    snprintf(store[1], PATH_MAX, "%.3000s/test.txt", g_data);
    snprintf(store[2], PATH_MAX, "%.3000s/run.csv", dir);
    snprintf(store[3], PATH_MAX, "%.3000s/ck", dir);
    char *fixed[] = {"--train", store[0], "--test", store[1], "--csv", store[2],
                     "--checkpoint", store[3], "--checkpoint-every", "1", "--eval-every", "2",
                     "--eval-n", "50", "--threads", "2", "--seed", "5", "--hidden", "32",
                     "--progress", "0", "--epochs", "20", NULL};
    for (int i = 0; fixed[i]; i++) argv[n++] = fixed[i];
    for (int i = 0; extra && extra[i]; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    return n;
}

/* Every line ends with '\n' and has the header's field count. Returns the number of data rows,
 * -1 when the file is missing; reports torn rows. Fills last_row (may be NULL). */
static int check_csv(const char *path, const char *what, char *last_row, size_t cap) {
    size_t len = 0;
    char *s = spawn_read(path, &len);
    if (!s) return -1;
    int rows = 0;
    if (len == 0) { /* killed between create and header write: allowed, nothing torn */
        free(s);
        return 0;
    }
    CHECKF(s[len - 1] == '\n', "%s: %s does not end with a newline (torn row)", what, path);
    int nf = csv_fields(s);
    CHECKF(nf > 10 && !strncmp(s, "run_id,", 7), "%s: %s: bad header", what, path);
    for (char *p = strchr(s, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        int f = csv_fields(p + 1);
        CHECKF(f == nf, "%s: %s row %d has %d fields, header %d", what, path, rows + 1, f, nf);
        if (last_row) snprintf(last_row, cap, "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
        rows++;
    }
    free(s);
    return rows;
}

/* Only run.csv (and its breakdown and recall CSVs), ck, the log and at most one
 * ck.tmp.<killed pid> may be in dir. */
static int check_leftovers(const char *dir, pid_t killed, const char *what) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    char tmpname[64];
    snprintf(tmpname, sizeof tmpname, "ck.tmp.%d", (int)killed);
    int tmps = 0;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "run.csv") || !strcmp(n, "ck") ||
            !strcmp(n, "run.breakdown.csv") || !strcmp(n, "run.recall.csv") || !strcmp(n, "log"))
            continue;
        if (!strcmp(n, tmpname)) {
            tmps++;
            continue;
        }
        CHECKF(0, "%s: unexpected file %s/%s", what, dir, n);
    }
    closedir(d);
    CHECKF(tmps <= 1, "%s: %d temp files", what, tmps);
    return tmps;
}

/* Resumes from dir/ck for a short while; must exit 0, continue the iteration count and leave
 * whole rows. */
static void check_resume(const char *dir, const char *what) {
    char store[4][PATH_MAX], *argv[64], log[PATH_MAX + 8], ck[PATH_MAX + 8];
    snprintf(ck, sizeof ck, "%.3000s/ck", dir);
    char *extra[] = {"--resume", ck, "--epochs", "40", "--time-budget", "0.05", NULL};
    train_args(argv, store, dir, extra);
    snprintf(log, sizeof log, "%.3000s/log", dir);
    int rows_before = check_csv(store[2], what, NULL, 0);
    int code = spawn_run(argv, log, 120);
    char *txt = spawn_read(log, NULL);
    CHECKF(code == 0, "%s: resume exited %d:\n%s", what, code, txt ? txt : "");
    const char *r = txt ? strstr(txt, "[resume]") : NULL;
    long long it0 = -1;
    if (r) {
        const char *p = strstr(r, " iter ");
        if (p) it0 = atoll(p + 6);
    }
    CHECKF(it0 >= 1, "%s: no '[resume] ... iter N' line:\n%s", what, txt ? txt : "");
    char last[8192] = "", hdr_iter[64];
    int rows = check_csv(store[2], what, last, sizeof last);
    CHECKF(rows > rows_before, "%s: resume wrote no row (%d -> %d)", what, rows_before, rows);
    char *csv = spawn_read(store[2], NULL);
    int col = csv ? csv_col(csv, "iter") : -1;
    free(csv);
    if (col >= 0 && last[0]) {
        csv_field(last, col, hdr_iter, sizeof hdr_iter);
        CHECKF(atoll(hdr_iter) > it0, "%s: resumed at iter %lld but the last row has iter %s",
               what, it0, hdr_iter);
    }
    free(txt);
}

static void kill_round(int round, double delay) {
    char dir[PATH_MAX], what[64], store[4][PATH_MAX], *argv[64], log[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%.3000s/kill%d", test_tmpdir(), round);
    mkdir(dir, 0755);
    snprintf(what, sizeof what, "kill %d (%.0f ms)", round, delay * 1e3);
    train_args(argv, store, dir, NULL);
    snprintf(log, sizeof log, "%.3000s/log", dir);
    pid_t pid = spawn_start(argv, log);
    spawn_sleep(delay);
    kill(pid, SIGKILL);
    int st = 0;
    spawn_wait(pid, 30, &st);
    int rows = check_csv(store[2], what, NULL, 0);
    int has_ck = spawn_exists(store[3]);
    int tmps = check_leftovers(dir, pid, what);
    printf("%s: %d rows, checkpoint %s%s\n", what, rows, has_ck ? "yes" : "no",
           tmps ? ", its temp file left behind" : "");
    if (has_ck) check_resume(dir, what);
}

/* Sends sig to pid, a run appending rows to csv, and checks that it exits with `want` after a
 * final row (at least min_before rows were there before the signal) evaluated on the --eval-n
 * subset: interrupted runs do not evaluate the whole test set, which can take minutes at full
 * scale. */
static void check_interrupted(pid_t pid, int sig, int want, const char *csv_path,
                              const char *what, int min_before) {
    int rows_before = check_csv(csv_path, what, NULL, 0);
    kill(pid, sig);
    int st = 0;
    int code = spawn_wait(pid, 60, &st) ? -2000 : spawn_code(st);
    char last[8192] = "", set[32] = "";
    int rows = check_csv(csv_path, what, last, sizeof last);
    char *csv = spawn_read(csv_path, NULL);
    int col = csv ? csv_col(csv, "eval_set") : -1;
    free(csv);
    if (col >= 0) csv_field(last, col, set, sizeof set);
    printf("%s: exit %d, rows %d -> %d, last eval_set %s\n", what, code, rows_before, rows, set);
    CHECKF(code == want, "%s: exit %d, expected %d", what, code, want);
    CHECKF(rows > rows_before && rows_before >= min_before, "%s: no final row (%d -> %d)", what,
           rows_before, rows);
    CHECKF(!strcmp(set, "subset"), "%s: last row is '%s', expected the interrupted run's subset "
           "evaluation", what, set);
}

/* Sends sig once the run has written its first checkpoint (handlers are installed by then). */
static void signal_round(int sig, int want) {
    char dir[PATH_MAX], what[64], store[4][PATH_MAX], *argv[64], log[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%.3000s/sig%d", test_tmpdir(), sig);
    mkdir(dir, 0755);
    snprintf(what, sizeof what, "signal %d", sig);
    train_args(argv, store, dir, NULL);
    snprintf(log, sizeof log, "%.3000s/log", dir);
    pid_t pid = spawn_start(argv, log);
    double t0 = slide_now();
    while (!spawn_exists(store[3]) && slide_now() - t0 < 60) spawn_sleep(0.005);
    check_interrupted(pid, sig, want, store[2], what, 0);
    check_leftovers(dir, 0, what);
}

/* slide-dense shares slide-train's run loop: the same signal behaviour (no checkpoint). */
static void dense_signal_round(int sig, int want) {
    char prog[PATH_MAX + 32], dir[PATH_MAX], what[64], store[3][PATH_MAX], log[PATH_MAX + 8];
    if (!spawn_find_prog("slide-dense", prog, sizeof prog)) {
        printf("note: slide-dense not built: its signal test skipped\n");
        return;
    }
    snprintf(dir, sizeof dir, "%.3000s/dense-sig%d", test_tmpdir(), sig);
    mkdir(dir, 0755);
    snprintf(what, sizeof what, "slide-dense signal %d", sig);
    snprintf(store[0], PATH_MAX, "%.3000s/train.txt", g_data);
    snprintf(store[1], PATH_MAX, "%.3000s/test.txt", g_data);
    snprintf(store[2], PATH_MAX, "%.3000s/run.csv", dir);
    snprintf(log, sizeof log, "%.3000s/log", dir);
    char *argv[] = {prog, "--train", store[0], "--test", store[1], "--csv", store[2],
                    "--eval-every", "2", "--eval-n", "50", "--threads", "2", "--seed", "5",
                    "--hidden", "32", "--progress", "0", "--epochs", "200", "--peak-ms", "0", NULL};
    pid_t pid = spawn_start(argv, log);
    double t0 = slide_now();
    while (check_csv(store[2], what, NULL, 0) < 1 && slide_now() - t0 < 60) spawn_sleep(0.005);
    check_interrupted(pid, sig, want, store[2], what, 1);
}

int main(void) {
    double t0 = slide_now();
    setvbuf(stdout, NULL, _IOLBF, 0);
    char gen[PATH_MAX + 32];
    if (!spawn_find_prog("slide-train", g_train_prog, sizeof g_train_prog) ||
        !spawn_find_prog("slide-gen", gen, sizeof gen)) {
        printf("note: slide-train / slide-gen not in $SLIDE_BIN: crash tests skipped\n");
        TEST_MAIN_END();
    }
    snprintf(g_data, sizeof g_data, "%.3000s/data", test_tmpdir());
    char *gargv[] = {gen, "--preset", "tiny", "--scale", "0.2", "--seed", "3", "--out", g_data,
                     NULL};
    int code = spawn_run(gargv, NULL, 60);
    CHECKF(code == 0, "slide-gen exited %d", code);
    if (code != 0) TEST_MAIN_END();

    /* Seeded kill moments in 20..300 ms: startup, first batches, checkpoints, evaluations. */
    slide_rng rng;
    slide_rng_seed(&rng, 20261125, 0);
    for (int r = 0; r < 10; r++) {
        double delay = 0.020 + 0.280 * (double)slide_rng_below(&rng, 1000) / 1000.0;
        kill_round(r, delay);
    }
    signal_round(SIGINT, 130);
    signal_round(SIGTERM, 143);
    dense_signal_round(SIGINT, 130);
    dense_signal_round(SIGTERM, 143);
    printf("crash tests: %.1f s\n", slide_now() - t0);
    if (!t_failures) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", test_tmpdir());
    }
    TEST_MAIN_END();
}
