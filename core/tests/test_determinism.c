/* Determinism of slide-train (row sweep) with one thread: two runs with the same seed give identical metric
 * columns in every CSV row and identical checkpoints (network, Adam state, tables, counters; the
 * driver blob also holds wall-clock timers, which are compared apart). Also: the training order
 * (row sweep, --per-sample) is recorded in the rows and the breakdown. */
#include "slide/checkpoint.h"
#include "spawn_util.h"
#include "test_util.h"

static const char *k_cols[] = {"iter",      "samples_seen", "epoch",     "p_at_1",   "p_at_3",
                               "p_at_5",    "ndcg_at_1",    "ndcg_at_3", "ndcg_at_5", "recall_at_5",
                               "loss",      "active_avg",   "active_frac", "n_eval",  "n_skipped",
                               "eval_set",  NULL};

static int run(const char *prog, const char *data, const char *out, const char *extra_threads,
               const char *order) {
    char tr[PATH_MAX], te[PATH_MAX], csv[PATH_MAX], ck[PATH_MAX], log[PATH_MAX];
    snprintf(tr, sizeof tr, "%.3000s/train.txt", data);
    snprintf(te, sizeof te, "%.3000s/test.txt", data);
    snprintf(csv, sizeof csv, "%.3000s.csv", out);
    snprintf(ck, sizeof ck, "%.3000s.ckpt", out);
    snprintf(log, sizeof log, "%.3000s.log", out);
    char *argv[] = {(char *)prog, "--train", tr, "--test", te, "--csv", csv, "--checkpoint", ck,
                    "--threads", (char *)extra_threads, "--seed", "5", "--epochs", "2",
                    "--eval-every", "3", "--eval-n", "100", "--hidden", "32", "--rehash", "2",
                    "--rebuild", "5", "--progress", "0", "--train-order", (char *)order, NULL};
    int code = spawn_run(argv, log, 120);
    if (code != 0) {
        char *t = spawn_read(log, NULL);
        fprintf(stderr, "%s exited %d:\n%s\n", prog, code, t ? t : "");
        free(t);
    }
    return code;
}

/* Field `name` of the last row of a CSV file; 0 when missing. */
static int last_field(const char *path, const char *name, char *out, size_t cap) {
    char *t = spawn_read(path, NULL);
    int ok = 0;
    if (t) {
        int col = csv_col(t, name);
        size_t n = strlen(t);
        while (n > 0 && t[n - 1] == '\n') t[--n] = '\0';
        const char *last = strrchr(t, '\n');
        if (col >= 0 && last) {
            csv_field(last + 1, col, out, cap);
            ok = 1;
        }
    }
    free(t);
    return ok;
}

/* The recall CSV's top-5 rows of evaluation `iter`: found / neurons summed over the cosine bins,
 * and the rows' count; the same sums over every column but utc must match between two runs. */
static double recall_share(const char *path, const char *iter, int *rows) {
    char *t = spawn_read(path, NULL);
    double f = 0, n = 0;
    *rows = 0;
    if (!t) return -1;
    int c_it = csv_col(t, "iter"), c_of = csv_col(t, "neurons_of"), c_n = csv_col(t, "neurons"),
        c_f = csv_col(t, "found");
    CHECK(c_it >= 0 && c_of >= 0 && c_n >= 0 && c_f >= 0);
    for (const char *l = strchr(t, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        char it[32], of[32], nv[32], fv[32];
        csv_field(l + 1, c_it, it, sizeof it);
        csv_field(l + 1, c_of, of, sizeof of);
        if (strcmp(it, iter) || strcmp(of, "top5")) continue;
        csv_field(l + 1, c_n, nv, sizeof nv);
        csv_field(l + 1, c_f, fv, sizeof fv);
        n += atof(nv);
        f += atof(fv);
        (*rows)++;
    }
    free(t);
    return n > 0 ? f / n : -1;
}

/* Compares the metric columns of two CSVs row by row. */
static void compare_csv(const char *a_path, const char *b_path) {
    char *a = spawn_read(a_path, NULL), *b = spawn_read(b_path, NULL);
    CHECK(a && b);
    if (!a || !b) goto out;
    int rows = 0;
    const char *pa = strchr(a, '\n'), *pb = strchr(b, '\n');
    while (pa && pb && pa[1] && pb[1]) {
        pa++;
        pb++;
        for (int c = 0; k_cols[c]; c++) {
            int ia = csv_col(a, k_cols[c]), ib = csv_col(b, k_cols[c]);
            CHECKF(ia >= 0 && ib >= 0, "column %s missing", k_cols[c]);
            if (ia < 0 || ib < 0) continue;
            char fa[64], fb[64];
            csv_field(pa, ia, fa, sizeof fa);
            csv_field(pb, ib, fb, sizeof fb);
            CHECKF(!strcmp(fa, fb), "row %d %s: %s vs %s", rows + 1, k_cols[c], fa, fb);
        }
        rows++;
        pa = strchr(pa, '\n');
        pb = strchr(pb, '\n');
    }
    CHECKF((!pa || !pa[1]) && (!pb || !pb[1]), "different row counts");
    CHECKF(rows >= 3, "only %d rows", rows);
    printf("CSV: %d rows, %d metric columns identical\n", rows, (int)(sizeof k_cols / sizeof *k_cols) - 1);
out:
    free(a);
    free(b);
}

/* Checkpoint layout (checkpoint.c): magic 8, version 4, layers 4, 128 bytes per layer, 5 x 8
 * counters, user length 8, the user blob, the layer arrays, checksum 8. */
static void compare_ckpt(const char *a_path, const char *b_path) {
    size_t na = 0, nb = 0;
    char *a = spawn_read(a_path, &na), *b = spawn_read(b_path, &nb);
    CHECK(a && b && na == nb && na > 64);
    if (!a || !b || na != nb || na <= 64) goto out;
    uint32_t nl;
    memcpy(&nl, a + 12, 4);
    size_t hdr = 16 + 128 * (size_t)nl + 5 * 8;
    uint64_t ulen;
    memcpy(&ulen, a + hdr, 8);
    size_t blob0 = hdr + 8, blob1 = blob0 + (size_t)ulen;
    CHECK(blob1 + 8 <= na);
    if (blob1 + 8 > na) goto out;
    int whole = memcmp(a, b, na) == 0;
    CHECKF(memcmp(a, b, blob0) == 0, "checkpoint headers/counters differ");
    CHECKF(memcmp(a + blob1, b + blob1, na - 8 - blob1) == 0,
           "checkpoint network arrays (weights, Adam, keys) differ");
    size_t diff = 0;
    for (size_t i = blob0; i < blob1; i++) diff += a[i] != b[i];
    printf("checkpoint: %zu bytes, %s; network part identical; driver blob %llu bytes, %zu differ "
           "(wall-clock timers)\n",
           na, whole ? "byte-identical" : "not byte-identical", (unsigned long long)ulen, diff);
out:
    free(a);
    free(b);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double t0 = slide_now();
    char prog[PATH_MAX + 32], gen[PATH_MAX + 32];
    if (!spawn_find_prog("slide-train", prog, sizeof prog) ||
        !spawn_find_prog("slide-gen", gen, sizeof gen)) {
        printf("note: slide-train / slide-gen not in $SLIDE_BIN: determinism test skipped\n");
        TEST_MAIN_END();
    }
    char data[PATH_MAX], a[PATH_MAX], b[PATH_MAX], pa[PATH_MAX], pb[PATH_MAX];
    snprintf(data, sizeof data, "%.3000s/data", test_tmpdir());
    snprintf(a, sizeof a, "%.3000s/a", test_tmpdir());
    snprintf(b, sizeof b, "%.3000s/b", test_tmpdir());
    char *gargv[] = {gen, "--preset", "tiny", "--scale", "0.2", "--seed", "3", "--out", data,
                     NULL};
    CHECK(spawn_run(gargv, NULL, 60) == 0);
    CHECK(run(prog, data, a, "1", "row-sweep") == 0);
    CHECK(run(prog, data, b, "1", "row-sweep") == 0);
    snprintf(pa, sizeof pa, "%.3000s.csv", a);
    snprintf(pb, sizeof pb, "%.3000s.csv", b);
    compare_csv(pa, pb);
    snprintf(pa, sizeof pa, "%.3000s.ckpt", a);
    snprintf(pb, sizeof pb, "%.3000s.ckpt", b);
    compare_ckpt(pa, pb);
    /* The training order is recorded in the rows and the breakdown (whose row-sweep phases are
     * NA sample by sample); both orders learn alike. */
    char c[PATH_MAX], pc[PATH_MAX];
    snprintf(c, sizeof c, "%.3000s/c", test_tmpdir());
    CHECK(run(prog, data, c, "1", "per-sample") == 0);
    snprintf(pa, sizeof pa, "%.3000s.csv", a);
    snprintf(pc, sizeof pc, "%.3000s.csv", c);
    char va[64], vc[64], pa1[64], pc1[64];
    CHECK(last_field(pa, "train_order", va, sizeof va) && !strcmp(va, "row-sweep"));
    CHECK(last_field(pc, "train_order", vc, sizeof vc) && !strcmp(vc, "per-sample"));
    CHECK(last_field(pa, "p_at_1", pa1, sizeof pa1) && last_field(pc, "p_at_1", pc1, sizeof pc1));
    printf("final P@1: row sweep %s, per sample %s\n", pa1, pc1);
    CHECKF(fabs(atof(pa1) - atof(pc1)) <= 0.05, "P@1 %s vs %s", pa1, pc1);
    snprintf(pa, sizeof pa, "%.3000s.breakdown.csv", a);
    snprintf(pc, sizeof pc, "%.3000s.breakdown.csv", c);
    const char *ph[] = {"sort_s", "logits_s", "softmax_s"};
    char fw[64];
    CHECK(last_field(pa, "forward_s", fw, sizeof fw));
    double sum = 0;
    for (int k = 0; k < 3; k++) {
        char x[64], y[64];
        CHECK(last_field(pa, ph[k], x, sizeof x) && last_field(pc, ph[k], y, sizeof y));
        CHECKF(strcmp(x, "NA") && atof(x) >= 0, "row sweep %s = %s", ph[k], x);
        CHECKF(!strcmp(y, "NA"), "per-sample %s = %s, want NA", ph[k], y);
        sum += atof(x);
    }
    CHECKF(sum <= atof(fw) + 1e-3, "row-sweep phases %.4f > forward_s %s", sum, fw);
    /* the table maintenance's two parts lie within rehash_s */
    char rh[64], rk[64], rt[64];
    CHECK(last_field(pa, "rehash_s", rh, sizeof rh) && last_field(pa, "rehash_keys_s", rk, sizeof rk) &&
          last_field(pa, "rehash_tables_s", rt, sizeof rt));
    CHECKF(atof(rk) > 0 && atof(rt) > 0 && atof(rk) + atof(rt) <= atof(rh) + 1e-3,
           "rehash_keys_s %s + rehash_tables_s %s vs rehash_s %s", rk, rt, rh);
    CHECK(last_field(pa, "train_order", va, sizeof va) && !strcmp(va, "row-sweep"));
    CHECK(last_field(pc, "train_order", vc, sizeof vc) && !strcmp(vc, "per-sample"));
    /* The recall diagnosis of the last evaluation adds up to the row's recall_at_5. */
    char it[64], rec[64];
    snprintf(pa, sizeof pa, "%.3000s.csv", a);
    CHECK(last_field(pa, "iter", it, sizeof it) && last_field(pa, "recall_at_5", rec, sizeof rec));
    snprintf(pa, sizeof pa, "%.3000s.recall.csv", a);
    int nrows = 0;
    double share = recall_share(pa, it, &nrows);
    printf("recall CSV: %d top-5 rows at iter %s, found share %.4f, recall_at_5 %s\n", nrows, it,
           share, rec);
    CHECKF(nrows > 0 && fabs(share - atof(rec)) <= 5e-5, "recall CSV share %.5f vs recall_at_5 %s",
           share, rec);
    printf("determinism: %.1f s\n", slide_now() - t0);
    if (!t_failures) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", test_tmpdir());
    }
    TEST_MAIN_END();
}
