/* slide-dense-cmp: compares two parameter dumps (slide-dense / slide-dense-gpu
 * --dump-after-step) array by array; exit 0 when within tolerance, 1 when not, 2 on errors. */
#include "dense.h"

#include <math.h>
#include <string.h>

/* Counts elements with |a-b| > atol + rtol |a|; reports the largest difference. */
static int64_t cmp_array(const char *name, const float *a, const float *b, int64_t n, double atol,
                         double rtol) {
    double max_abs = 0, max_ref = 0;
    int64_t worst = -1, bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= atol + rtol * fabs((double)a[i]))) bad++; /* NaN counts as bad */
        if (!(d <= max_abs)) {
            max_abs = d;
            worst = i;
        }
        if (fabs((double)a[i]) > max_ref) max_ref = fabs((double)a[i]);
    }
    printf("%-3s %10lld values  max |a|=%.4g  max |a-b|=%.3g", name, (long long)n, max_ref, max_abs);
    if (worst >= 0) printf(" at %lld (%.8g vs %.8g)", (long long)worst, a[worst], b[worst]);
    printf("  outside tolerance: %lld\n", (long long)bad);
    return bad;
}

static int usage(FILE *f) {
    fprintf(f, "usage: slide-dense-cmp A.dump B.dump [--atol X] [--rtol X] [--loss-rtol X] [--outliers F]\n"
               "Compares W0, b0, W1, b1 and the loss of two parameter dumps (slide-dense and\n"
               "slide-dense-gpu --dump-after-step N --dump-path P). An element passes when\n"
               "|a-b| <= atol + rtol*|a| (defaults 1e-5, 1e-4); the dumps agree when at most a fraction F\n"
               "of all elements fail (default 1e-4: ReLU inputs within rounding of 0 may flip) and\n"
               "the losses agree within loss-rtol (default 1e-4). Exit 0 agree, 1 differ, 2 error.\n");
    return f == stdout ? 0 : 2;
}

static int parse_num(const char *s, double *v) {
    char *end;
    *v = strtod(s, &end);
    return end == s || *end || !(*v >= 0) || isinf(*v);
}

int main(int argc, char **argv) {
    const char *path[2] = {NULL, NULL};
    double atol = 1e-5, rtol = 1e-4, loss_rtol = 1e-4, outliers = 1e-4;
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
        double *dst = !strcmp(argv[i], "--atol") ? &atol : !strcmp(argv[i], "--rtol") ? &rtol
                    : !strcmp(argv[i], "--loss-rtol") ? &loss_rtol
                    : !strcmp(argv[i], "--outliers") ? &outliers : NULL;
        if (dst) {
            if (i + 1 >= argc || parse_num(argv[i + 1], dst)) {
                fprintf(stderr, "slide-dense-cmp: %s needs a non-negative number\n", argv[i]);
                return 2;
            }
            i++;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "slide-dense-cmp: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        } else if (np < 2) {
            path[np++] = argv[i];
        } else {
            fprintf(stderr, "slide-dense-cmp: need exactly two dump files (see --help)\n");
            return 2;
        }
    }
    if (np != 2) return usage(stderr);
    slide_dense_dump a, b;
    slide_err err;
    if (slide_dense_dump_read(&a, path[0], &err)) {
        fprintf(stderr, "slide-dense-cmp: %s\n", err.msg);
        return 2;
    }
    if (slide_dense_dump_read(&b, path[1], &err)) {
        fprintf(stderr, "slide-dense-cmp: %s\n", err.msg);
        slide_dense_dump_free(&a);
        return 2;
    }
    int rc = 0;
    if (a.hidden != b.hidden || a.d != b.d || a.l != b.l || a.step != b.step) {
        fprintf(stderr, "slide-dense-cmp: shapes differ: H %d/%d, D %lld/%lld, L %lld/%lld, step %lld/%lld\n",
                a.hidden, b.hidden, (long long)a.d, (long long)b.d, (long long)a.l, (long long)b.l,
                (long long)a.step, (long long)b.step);
        rc = 2;
    } else {
        const int64_t H = a.hidden;
        printf("dumps after %lld steps: D=%lld H=%lld L=%lld; tolerance |a-b| <= %g + %g|a|\n",
               (long long)a.step, (long long)a.d, (long long)H, (long long)a.l, atol, rtol);
        int64_t bad = cmp_array("W0", a.W0, b.W0, a.d * H, atol, rtol) +
                      cmp_array("b0", a.b0, b.b0, H, atol, rtol) +
                      cmp_array("W1", a.W1, b.W1, a.l * H, atol, rtol) +
                      cmp_array("b1", a.b1, b.b1, a.l, atol, rtol);
        double total = (double)(a.d * H + H + a.l * H + a.l);
        double lrel = fabs(a.loss - b.loss) / (fabs(a.loss) > 1e-30 ? fabs(a.loss) : 1e-30);
        printf("loss %.8g vs %.8g (relative difference %.3g, allowed %g)\n", a.loss, b.loss, lrel,
               loss_rtol);
        printf("elements outside tolerance: %lld of %.0f (allowed fraction %g)\n", (long long)bad,
               total, outliers);
        if ((double)bad > outliers * total || !(lrel <= loss_rtol)) rc = 1;
        printf("%s\n", rc ? "DIFFER" : "AGREE");
    }
    slide_dense_dump_free(&a);
    slide_dense_dump_free(&b);
    return rc;
}
