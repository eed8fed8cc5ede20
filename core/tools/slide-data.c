/* slide-data: checks an XC data file (strict parse, one-line error, exit 2) or prints its shape
 * statistics. A thin wrapper over slide_data_load and slide_data_compute_stats. */
#include "slide/data.h"

#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-data check [--cache] [--normalize] FILE\n"
            "       slide-data stats [--cache] [--normalize] FILE\n"
            "\n"
            "  check        parse FILE strictly; print 'FILE: ok (N points, D features, L labels)'\n"
            "               or the first error as FILE:LINE: ... on stderr (exit 2)\n"
            "  stats        print points, features, labels, nonzeros and labels per point, label\n"
            "               frequencies and the long-tail shares\n"
            "  --cache      use FILE.sbin when it is newer than FILE and valid, else write it\n"
            "  --normalize  scale every point to unit L2 norm after loading\n"
            "  -h, --help   this text\n"
            "exit status: 0 ok, 2 bad data or usage\n");
}

static void print_stats(const char *path, const slide_data *ds) {
    slide_data_stats st;
    slide_data_compute_stats(ds, &st);
    printf("file: %s\n", path);
    printf("points: %lld\n", (long long)st.n);
    printf("features: %lld\n", (long long)st.d);
    printf("labels: %lld\n", (long long)st.l);
    printf("nonzeros: %lld\n", (long long)st.nnz);
    printf("nonzeros per point: mean %.2f min %lld max %lld\n", st.nnz_mean,
           (long long)(st.n ? st.nnz_min : 0), (long long)st.nnz_max);
    printf("label occurrences: %lld\n", (long long)st.nlab);
    printf("labels per point: mean %.2f min %lld max %lld\n", st.lab_mean,
           (long long)(st.n ? st.lab_min : 0), (long long)st.lab_max);
    printf("points without labels: %lld\n", (long long)st.n_nolabel);
    printf("labels used: %lld of %lld (%.1f%%)\n", (long long)st.labels_used, (long long)st.l,
           st.l ? 100.0 * (double)st.labels_used / (double)st.l : 0.0);
    printf("points per label: mean %.2f max %lld\n", st.ppl_mean, (long long)st.ppl_max);
    printf("label tail: top 1%% of labels hold %.1f%% of label occurrences; "
           "%.1f%% of used labels have <= 5 points\n",
           100.0 * st.top1pct_share, 100.0 * st.tail_share_le5);
}

int main(int argc, char **argv) {
    const char *cmd = NULL, *path = NULL;
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
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "slide-data: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!cmd) {
            cmd = a;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "slide-data: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!cmd || !path || (strcmp(cmd, "check") != 0 && strcmp(cmd, "stats") != 0)) {
        if (cmd && strcmp(cmd, "check") != 0 && strcmp(cmd, "stats") != 0)
            fprintf(stderr, "slide-data: unknown command '%s'\n", cmd);
        else
            fprintf(stderr, "slide-data: missing %s\n", cmd ? "FILE" : "command");
        usage(stderr);
        return 2;
    }
    slide_data ds;
    slide_err err;
    if (slide_data_load(&ds, path, &opt, &err) != SLIDE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    if (!strcmp(cmd, "check"))
        printf("%s: ok (%lld points, %lld features, %lld labels)\n", path, (long long)ds.n,
               (long long)ds.d, (long long)ds.l);
    else
        print_stats(path, &ds);
    slide_data_free(&ds);
    return fflush(stdout) == 0 ? 0 : 2;
}
