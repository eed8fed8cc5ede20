/* slide-data: checks an XC data file (strict parse, one-line error, exit 2), prints its shape and
 * calibration statistics, or compares two sets' label-frequency curves. Wraps data.h, calib.h. */
#include "slide/calib.h"
#include "slide/data.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-data check [--cache] [--normalize] FILE\n"
            "       slide-data stats [options] TRAIN [TEST]\n"
            "       slide-data compare [options] REAL_TRAIN OTHER_TRAIN\n"
            "\n"
            "  check          parse FILE strictly; print 'FILE: ok (N points, D features, L labels)'\n"
            "                 or the first error as FILE:LINE: ... on stderr (exit 2)\n"
            "  stats          per file: points, features, labels, nonzeros and labels per point\n"
            "                 (mean, sd), the sorted label-frequency curve at rank percentiles and\n"
            "                 the long-tail shares; with TEST also the P@1 on TEST of always\n"
            "                 predicting TRAIN's most frequent label and of the nearest centroid\n"
            "                 (per label: sum of TRAIN's unit-norm points; cosine)\n"
            "  compare        both sets' per-point counts and label-frequency curves (as shares\n"
            "                 of points) and the largest gap between the curves in log scale\n"
            "  --cache        use FILE.sbin when it is newer than FILE and valid, else write it\n"
            "  --normalize    scale every point to unit L2 norm after loading\n"
            "  --max-points N nearest centroid on a seeded random subset of N points of each set\n"
            "                 (default 0: all; big sets need it)\n"
            "  --threads N    threads of the nearest-centroid scoring (default 2)\n"
            "  --tail P       compare: leave out the rarest P %% of labels (default 1)\n"
            "  --max-gap F    compare: exit 1 when the curves differ by more than a factor F\n"
            "  -h, --help     this text\n"
            "exit status: 0 ok, 1 compare over --max-gap, 2 bad data or usage\n");
}

static const double k_pct[] = {0, 0.1, 1, 5, 10, 25, 50, 75, 90, 99, 100};
#define N_PCT ((int)(sizeof k_pct / sizeof k_pct[0]))

static void print_shape(const char *path, const slide_data *ds) {
    slide_data_stats st;
    slide_data_compute_stats(ds, &st);
    slide_calib_counts c;
    slide_calib_point_counts(ds, &c);
    printf("file: %s\n", path);
    printf("points: %lld\n", (long long)st.n);
    printf("features: %lld\n", (long long)st.d);
    printf("labels: %lld\n", (long long)st.l);
    printf("nonzeros: %lld\n", (long long)st.nnz);
    printf("nonzeros per point: mean %.2f sd %.2f median %.1f min %lld max %lld\n", st.nnz_mean,
           c.nnz_sd, c.nnz_median, (long long)(st.n ? st.nnz_min : 0), (long long)st.nnz_max);
    printf("label occurrences: %lld\n", (long long)st.nlab);
    printf("labels per point: mean %.2f sd %.2f min %lld max %lld\n", st.lab_mean, c.lab_sd,
           (long long)(st.n ? st.lab_min : 0), (long long)st.lab_max);
    printf("points without labels: %lld\n", (long long)st.n_nolabel);
    printf("labels used: %lld of %lld (%.1f%%)\n", (long long)st.labels_used, (long long)st.l,
           st.l ? 100.0 * (double)st.labels_used / (double)st.l : 0.0);
    printf("points per label: mean %.2f max %lld\n", st.ppl_mean, (long long)st.ppl_max);
    printf("label tail: top 1%% of labels hold %.1f%% of label occurrences; "
           "%.1f%% of used labels have <= 5 points\n",
           100.0 * st.top1pct_share, 100.0 * st.tail_share_le5);
}

/* The sorted label-frequency curve (caller frees), NULL when out of memory. */
static int64_t *curve_of(const slide_data *ds) {
    int64_t *cnt = malloc((size_t)ds->l * sizeof *cnt);
    if (cnt) slide_calib_label_curve(ds, cnt);
    return cnt;
}

static void print_curve(const char *title, const int64_t *const *cnt, const slide_data *const *ds,
                        int nsets) {
    printf("%s\n", title);
    printf("  %-8s", "rank %");
    for (int s = 0; s < nsets; s++) printf(" %12s %9s", nsets > 1 && s ? "other" : "share", "points");
    printf("\n");
    for (int k = 0; k < N_PCT; k++) {
        printf("  %-8g", k_pct[k]);
        for (int s = 0; s < nsets; s++) {
            double f = slide_calib_curve_at(cnt[s], ds[s]->l, ds[s]->n, k_pct[k] / 100.0);
            printf(" %12.6f %9.0f", f, f * (double)ds[s]->n);
        }
        printf("\n");
    }
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int bad_usage(const char *fmt, const char *a) {
    fprintf(stderr, "slide-data: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

static int cmd_stats(const slide_data *tr, const char *tr_path, const slide_data *te,
                     const char *te_path, int64_t max_points, int threads) {
    print_shape(tr_path, tr);
    int64_t *ct = curve_of(tr), *ce = te ? curve_of(te) : NULL;
    if (!ct || (te && !ce)) {
        free(ct);
        free(ce);
        fprintf(stderr, "slide-data: out of memory\n");
        return 2;
    }
    const int64_t *c1[1] = {ct};
    const slide_data *d1[1] = {tr};
    print_curve("label frequency by rank percentile (share of points carrying the label):", c1,
                d1, 1);
    int rc = 0;
    if (te) {
        printf("\n");
        print_shape(te_path, te);
        const int64_t *c2[1] = {ce};
        const slide_data *d2[1] = {te};
        print_curve("label frequency by rank percentile (share of points carrying the label):",
                    c2, d2, 1);
        printf("\n");
        slide_err err;
        double p1;
        int32_t lab;
        int64_t n_eval;
        if (slide_calib_p1_most_frequent(tr, te, &p1, &lab, &err) != SLIDE_OK ||
            (printf("most-frequent-label P@1: %.4f (label %d)\n", p1, (int)lab), 0) ||
            slide_calib_p1_centroid(tr, te, max_points, 1, threads, &p1, &n_eval, &err) !=
                SLIDE_OK) {
            fprintf(stderr, "slide-data: %s\n", err.msg);
            rc = 2;
        } else {
            printf("nearest-centroid P@1: %.4f (%lld test points", p1, (long long)n_eval);
            if (max_points > 0 && (max_points < tr->n || max_points < te->n))
                printf("; subsampled: at most %lld points of each set", (long long)max_points);
            printf(")\n");
        }
    }
    free(ct);
    free(ce);
    return rc;
}

static int cmd_compare(const slide_data *a, const char *pa, const slide_data *b, const char *pb,
                       double tail_pct, double max_gap) {
    int64_t *ca = curve_of(a), *cb = curve_of(b);
    if (!ca || !cb) {
        free(ca);
        free(cb);
        fprintf(stderr, "slide-data: out of memory\n");
        return 2;
    }
    slide_calib_counts ka, kb;
    slide_calib_point_counts(a, &ka);
    slide_calib_point_counts(b, &kb);
    printf("real: %s (%lld points, %lld labels)\n", pa, (long long)a->n, (long long)a->l);
    printf("other: %s (%lld points, %lld labels)\n", pb, (long long)b->n, (long long)b->l);
    printf("%-24s %12s %12s\n", "", "real", "other");
    printf("%-24s %12.2f %12.2f\n", "labels/point mean", ka.lab_mean, kb.lab_mean);
    printf("%-24s %12.2f %12.2f\n", "labels/point sd", ka.lab_sd, kb.lab_sd);
    printf("%-24s %12.2f %12.2f\n", "nonzeros/point mean", ka.nnz_mean, kb.nnz_mean);
    printf("%-24s %12.2f %12.2f\n", "nonzeros/point sd", ka.nnz_sd, kb.nnz_sd);
    printf("%-24s %12.1f %12.1f\n", "nonzeros/point median", ka.nnz_median, kb.nnz_median);
    const int64_t *c2[2] = {ca, cb};
    const slide_data *d2[2] = {a, b};
    print_curve("label frequency by rank percentile (share of points), real then other:", c2, d2,
                2);
    double q;
    double gap = slide_calib_curve_gap(ca, a->l, a->n, cb, b->l, b->n, tail_pct / 100.0, &q);
    printf("largest gap: factor %.3f (log2 %.3f) at rank percentile %.2f; the rarest %g %% of "
           "labels left out\n",
           exp2(gap), gap, 100.0 * q, tail_pct);
    free(ca);
    free(cb);
    if (max_gap > 0 && exp2(gap) > max_gap) {
        printf("over --max-gap %g\n", max_gap);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = NULL, *path[2] = {NULL, NULL};
    int npath = 0, threads = 2;
    int64_t max_points = 0, t64;
    double tail_pct = 1.0, max_gap = 0.0;
    slide_data_opts opt = slide_data_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--cache")) {
            opt.cache = SLIDE_CACHE_AUTO;
        } else if (!strcmp(a, "--normalize")) {
            opt.normalize = 1;
        } else if (!strcmp(a, "--max-points") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--tail") || !strcmp(a, "--max-gap")) {
            if (i + 1 >= argc) return bad_usage("option %s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--max-points")) {
                if (parse_i64(v, 0, INT64_MAX, &max_points))
                    return bad_usage("--max-points '%s': need an integer >= 0", v);
            } else if (!strcmp(a, "--threads")) {
                if (parse_i64(v, 1, 1024, &t64))
                    return bad_usage("--threads '%s': need an integer in 1..1024", v);
                threads = (int)t64;
            } else if (!strcmp(a, "--tail")) {
                if (parse_num(v, 0.0, 99.0, &tail_pct))
                    return bad_usage("--tail '%s': need a percentage in [0, 99]", v);
            } else if (parse_num(v, 1.0, 1e300, &max_gap)) {
                return bad_usage("--max-gap '%s': need a factor >= 1", v);
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "slide-data: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!cmd) {
            cmd = a;
        } else if (npath < 2) {
            path[npath++] = a;
        } else {
            fprintf(stderr, "slide-data: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    int known = cmd && (!strcmp(cmd, "check") || !strcmp(cmd, "stats") || !strcmp(cmd, "compare"));
    if (!known || npath == 0 || (!strcmp(cmd, "check") && npath > 1) ||
        (!strcmp(cmd, "compare") && npath != 2)) {
        if (cmd && !known)
            fprintf(stderr, "slide-data: unknown command '%s'\n", cmd);
        else if (!cmd || npath == 0)
            fprintf(stderr, "slide-data: missing %s\n", cmd ? "FILE" : "command");
        else
            fprintf(stderr, "slide-data: %s takes %s\n", cmd,
                    !strcmp(cmd, "check") ? "one FILE" : "two files");
        usage(stderr);
        return 2;
    }
    slide_data ds[2];
    slide_err err;
    memset(ds, 0, sizeof ds);
    for (int k = 0; k < npath; k++) {
        if (slide_data_load(&ds[k], path[k], &opt, &err) != SLIDE_OK) {
            fprintf(stderr, "%s\n", err.msg);
            if (k) slide_data_free(&ds[0]);
            return 2;
        }
    }
    int rc = 0;
    if (!strcmp(cmd, "check"))
        printf("%s: ok (%lld points, %lld features, %lld labels)\n", path[0], (long long)ds[0].n,
               (long long)ds[0].d, (long long)ds[0].l);
    else if (!strcmp(cmd, "stats"))
        rc = cmd_stats(&ds[0], path[0], npath > 1 ? &ds[1] : NULL, path[1], max_points, threads);
    else
        rc = cmd_compare(&ds[0], path[0], &ds[1], path[1], tail_pct, max_gap);
    for (int k = 0; k < npath; k++) slide_data_free(&ds[k]);
    if (fflush(stdout) != 0) return 2;
    return rc;
}
