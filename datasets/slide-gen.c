/* slide-gen: writes a synthetic data set (DIR/train.txt, DIR/test.txt) in the Extreme
 * Classification Repository text format and prints its statistics next to the preset's. */
#include "slide/data.h"
#include "slide/synth.h"

#include <errno.h>
#include <omp.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-gen --preset NAME --out DIR [--scale S] [--label-scale S] [--seed N]\n"
            "                 [--preset-file FILE] [--KNOB VALUE ...] [--print-preset]\n"
            "\n"
            "Writes DIR/train.txt and DIR/test.txt (XC text format: header 'N D L', then\n"
            "'l1,l2,... f:v f:v ...' per point) and prints achieved vs preset statistics.\n"
            "\n"
            "  --preset NAME       amazon670k | delicious200k | delicious-small | amazon3m\n"
            "                      (calibrated against the real Delicious set), amazon670k-v1 |\n"
            "                      delicious200k-v1 (the first generator's, for the speed\n"
            "                      benchmarks) | tiny\n"
            "  --preset-file FILE  'key = value' lines over the preset (keys: the knobs below\n"
            "                      without '--'; 'preset = NAME' picks the base)\n"
            "  --print-preset      print the resulting preset as a preset file and exit\n"
            "  --out DIR           output directory (created, with parents)\n"
            "  --scale S           fraction of points, in (0, 1] (default 1)\n"
            "  --label-scale S     fraction of labels and features, in (0, 1] (default 1)\n"
            "  --seed N            non-negative integer (default 1); same arguments, same files\n"
            "  --threads N         OpenMP threads (default: OMP_NUM_THREADS, else the CPUs); the\n"
            "                      files do not depend on it\n"
            "  --help              this text\n"
            "\n"
            "Knobs (each overrides the preset's and the preset file's value; synth.c describes\n"
            "the model):\n");
    slide_synth_preset_help(f);
    fprintf(f, "\nExit status: 0 ok, 2 bad arguments, 1 generation or write failure.\n");
}

static int fail_usage(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "slide-gen: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (*s == '-' || *s == '+' || *s == '\0') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* mkdir -p; 0 on success. */
static int make_dirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static void print_stats(const slide_synth_preset *ps, const slide_synth_params *p,
                        const slide_data_stats *tr, const slide_data_stats *te) {
    printf("%-14s %12s %12s %12s %12s\n", "", "train", "(target)", "test", "(target)");
    printf("%-14s %12lld %12lld %12lld %12lld\n", "points", (long long)tr->n,
           (long long)llround((double)ps->n_train * p->scale), (long long)te->n,
           (long long)llround((double)ps->n_test * p->scale));
    printf("%-14s %12lld %12lld %12lld %12lld\n", "features", (long long)tr->d,
           (long long)llround((double)ps->d * p->label_scale), (long long)te->d,
           (long long)llround((double)ps->d * p->label_scale));
    printf("%-14s %12lld %12lld %12lld %12lld\n", "labels", (long long)tr->l,
           (long long)llround((double)ps->l * p->label_scale), (long long)te->l,
           (long long)llround((double)ps->l * p->label_scale));
    printf("%-14s %12.2f %12.2f %12.2f %12.2f\n", "nnz/point", tr->nnz_mean, ps->nnz_per_point,
           te->nnz_mean, ps->nnz_per_point);
    printf("%-14s %12.2f %12.2f %12.2f %12.2f\n", "labels/point", tr->lab_mean,
           ps->labels_per_point, te->lab_mean, ps->labels_per_point);
    printf("%-14s %12lld %12s %12lld %12s\n", "labels used", (long long)tr->labels_used, "-",
           (long long)te->labels_used, "-");
    printf("%-14s %12.4f %12s %12.4f %12s\n", "top-1% share", tr->top1pct_share, "-",
           te->top1pct_share, "-");
    printf("%-14s %12lld %12s %12lld %12s\n", "max pts/label", (long long)tr->ppl_max, "-",
           (long long)te->ppl_max, "-");
    printf("%-14s %12.4f %12s %12.4f %12s\n", "used <=5 pts", tr->tail_share_le5, "-",
           te->tail_share_le5, "-");
    printf("(label Zipf exponent %.2f; with label-scale, D and L never go below what the\n"
           " per-point means need)\n",
           ps->zipf_s);
}

int main(int argc, char **argv) {
    slide_synth_params p = slide_synth_params_default();
    p.preset = NULL;
    p.threads = omp_get_max_threads(); /* OMP_NUM_THREADS, else the CPUs */
    const char *out = NULL, *preset_file = NULL;
    int print_preset = 0;
    /* Knob overrides, applied after the preset and the preset file in command-line order. */
    char kkey[64][64];
    const char *kval[64];
    int nk = 0;
    slide_synth_preset probe;
    memset(&probe, 0, sizeof probe);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        const char *v = NULL;
        char name[64];
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (strcmp(a, "--print-preset") == 0) {
            print_preset = 1;
            continue;
        }
        int is_knob = strncmp(name, "--", 2) == 0 &&
                      strstr(slide_synth_preset_set(&probe, name + 2, ""), "unknown knob") == NULL;
        if (strcmp(name, "--preset") && strcmp(name, "--out") && strcmp(name, "--scale") &&
            strcmp(name, "--label-scale") && strcmp(name, "--seed") && strcmp(name, "--threads") &&
            strcmp(name, "--preset-file") && !is_knob)
            return fail_usage("unknown option '%s'%s", a, "");
        if (!v) {
            if (i + 1 >= argc) return fail_usage("option %s needs a value%s", a, "");
            v = argv[++i];
        }
        if (is_knob) {
            if (nk == 64) return fail_usage("too many knob options%s%s", "", "");
            const char *msg = slide_synth_preset_set(&probe, name + 2, v);
            if (msg) return fail_usage("%s%s", msg, "");
            snprintf(kkey[nk], sizeof kkey[nk], "%s", name + 2);
            kval[nk++] = v;
        } else if (strcmp(name, "--preset-file") == 0) {
            preset_file = v;
        } else if (strcmp(name, "--preset") == 0) {
            p.preset = v;
        } else if (strcmp(name, "--out") == 0) {
            out = v;
        } else if (strcmp(name, "--scale") == 0) {
            if (parse_double(v, &p.scale) || !(p.scale > 0 && p.scale <= 1))
                return fail_usage("--scale '%s': need a number in (0, 1]%s", v, "");
        } else if (strcmp(name, "--label-scale") == 0) {
            if (parse_double(v, &p.label_scale) || !(p.label_scale > 0 && p.label_scale <= 1))
                return fail_usage("--label-scale '%s': need a number in (0, 1]%s", v, "");
        } else if (strcmp(name, "--threads") == 0) {
            uint64_t t;
            if (parse_u64(v, &t) || t < 1 || t > 1024)
                return fail_usage("--threads '%s': need an integer in 1..1024%s", v, "");
            p.threads = (int)t;
        } else {
            if (parse_u64(v, &p.seed))
                return fail_usage("--seed '%s': need a non-negative integer%s", v, "");
        }
    }
    slide_synth_preset custom;
    memset(&custom, 0, sizeof custom);
    if (p.preset) {
        const slide_synth_preset *base = slide_synth_preset_find(p.preset);
        if (!base)
            return fail_usage("unknown preset '%s' (valid: %s)", p.preset,
                              slide_synth_preset_names());
        custom = *base;
    }
    if (preset_file) {
        slide_err err;
        slide_err_clear(&err);
        if (slide_synth_preset_load(&custom, preset_file, &err) != SLIDE_OK) {
            fprintf(stderr, "slide-gen: %s\n", err.msg);
            return 2;
        }
        if (!p.preset) p.preset = custom.name;
    }
    if (!p.preset || !custom.name)
        return fail_usage("--preset is required (valid: %s)%s", slide_synth_preset_names(), "");
    for (int k = 0; k < nk; k++) {
        const char *msg = slide_synth_preset_set(&custom, kkey[k], kval[k]);
        if (msg) return fail_usage("%s%s", msg, "");
    }
    const char *cmsg = slide_synth_preset_check(&custom);
    if (cmsg) return fail_usage("%s%s", cmsg, "");
    if (print_preset) {
        printf("preset = %s\n", custom.name);
        slide_synth_preset_write(stdout, &custom);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    p.custom = &custom;
    if (!out || !*out) return fail_usage("--out DIR is required%s%s", "", "");
    const char *msg = slide_synth_params_check(&p);
    if (msg) return fail_usage("%s%s", msg, "");
    if (make_dirs(out) != 0) {
        fprintf(stderr, "slide-gen: cannot create directory %s: %s\n", out, strerror(errno));
        return 1;
    }
    char tr_path[4200], te_path[4200];
    snprintf(tr_path, sizeof tr_path, "%s/train.txt", out);
    snprintf(te_path, sizeof te_path, "%s/test.txt", out);

    slide_data tr, te;
    slide_err err;
    slide_err_clear(&err);
    double t0 = slide_now();
    if (slide_synth_generate(&p, &tr, &te, &err) != SLIDE_OK) {
        fprintf(stderr, "slide-gen: %s\n", err.msg);
        return 1;
    }
    double t1 = slide_now();
    if (slide_data_write_text(&tr, tr_path, &err) != SLIDE_OK ||
        slide_data_write_text(&te, te_path, &err) != SLIDE_OK) {
        fprintf(stderr, "slide-gen: %s\n", err.msg);
        slide_data_free(&tr);
        slide_data_free(&te);
        return 1;
    }
    double t2 = slide_now();
    slide_data_stats st_tr, st_te;
    slide_data_compute_stats(&tr, &st_tr);
    slide_data_compute_stats(&te, &st_te);
    const slide_synth_preset *ps = &custom;
    printf("slide-gen: preset %s%s scale %g label_scale %g seed %llu -> %s, %s\n", p.preset,
           nk || preset_file ? " (with overrides)" : "", p.scale, p.label_scale,
           (unsigned long long)p.seed, tr_path, te_path);
    printf("generate %.2f s, write %.2f s\n", t1 - t0, t2 - t1);
    print_stats(ps, &p, &st_tr, &st_te);
    slide_data_free(&tr);
    slide_data_free(&te);
    return 0;
}
