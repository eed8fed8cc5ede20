/* run_all.sh --data DIR: real data sets under DIR/<name>/ train with their paper config and
 * their rows carry the set's name (a slice of the vendored Delicious placed as amazon670k/);
 * bad --data / --only values stop at once with one line. */
#include "spawn_util.h"
#include "test_util.h"

static int sh(const char *cmd, const char *log, double timeout) {
    char *argv[] = {"/bin/bash", "-c", (char *)cmd, NULL};
    return spawn_run(argv, log, timeout);
}

static int lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

int main(void) {
    if (!spawn_exists("run_all.sh") || !spawn_exists("datasets/delicious/train.txt.gz")) {
        printf("note: run from the repository root\n");
        return 1;
    }
    char dir[] = "/tmp/slide-test-runall-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char log[128], cmd[2048], *out;
    snprintf(log, sizeof log, "%s/log", dir);
    /* bad inputs first: each one line, exit 2, before anything is built */
    const char *bad[][2] = {{"--data /nonexistent/dir", "no such directory"},
                            {"--only real", "needs --data"},
                            {"--only bogus", "--only must be"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "./run_all.sh --no-install %s", bad[i][0]);
        unlink(log);
        const int code = sh(cmd, log, 30);
        out = spawn_read(log, NULL);
        CHECKF(code == 2 && out && strstr(out, bad[i][1]) && lines(out) == 1, "%s: exit %d: %s",
               bad[i][0], code, out ? out : "");
        free(out);
    }
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/empty' && ./run_all.sh --no-install --data '%s/empty'",
             dir, dir);
    unlink(log);
    int code = sh(cmd, log, 30);
    out = spawn_read(log, NULL);
    CHECKF(code == 2 && out && strstr(out, "neither amazon670k/"), "empty --data: %d %s", code,
           out ? out : "");
    free(out);
    /* 300 training and 100 test points of Delicious, placed as the real Amazon-670K */
    snprintf(cmd, sizeof cmd,
             "set -e; d='%s/real/amazon670k'; mkdir -p \"$d\"; "
             "for p in train:300 test:100; do f=${p%%%%:*}; n=${p##*:}; "
             "gzip -dc datasets/delicious/$f.txt.gz | awk -v n=$n "
             "'NR == 1 { d = $2; l = $3; next } NR <= n + 1 { r[NR] = $0 } "
             "END { print n, d, l; for (i = 2; i <= n + 1; i++) print r[i] }' > \"$d/$f.txt\"; done",
             dir);
    CHECK(sh(cmd, NULL, 60) == 0);
    char run_id[64];
    snprintf(run_id, sizeof run_id, "test-run-all-%d", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "./run_all.sh --no-install --only real --threads 1 --data '%s/real' --run-id %s",
             dir, run_id);
    unlink(log);
    code = sh(cmd, log, 600);
    out = spawn_read(log, NULL);
    CHECKF(code == 0 && out && strstr(out, "[real] amazon670k"), "run_all --data: exit %d: %s",
           code, out ? out : "");
    free(out);
    char csv[128];
    snprintf(csv, sizeof csv, "results/%s/real.csv", run_id);
    char *t = spawn_read(csv, NULL);
    CHECKF(t != NULL, "%s missing", csv);
    if (t) {
        const int col = csv_col(t, "dataset");
        int rows = 0, named = 0;
        for (const char *p = strchr(t, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
            char v[64];
            csv_field(p + 1, col, v, sizeof v);
            rows++;
            named += !strcmp(v, "amazon670k");
        }
        CHECKF(col >= 0 && rows > 0 && named == rows, "%d of %d rows say dataset=amazon670k",
               named, rows);
        free(t);
    }
    snprintf(cmd, sizeof cmd, "rm -rf 'results/%s' '%s'", run_id, dir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not clean up\n");
    TEST_MAIN_END();
}
