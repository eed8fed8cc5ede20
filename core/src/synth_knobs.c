/* The synthetic presets' fields by name: setting one from text with its range checked, checking
 * them together, and reading and writing "key = value" preset files. */
#include "slide/synth.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

typedef enum { K_I64, K_INT, K_DBL } knob_kind;

typedef struct {
    const char *key;
    knob_kind kind;
    size_t off;
    double lo, hi;
    int lo_open; /* 1: the range is (lo, hi] */
    const char *help;
} knob;

#define F(x) offsetof(slide_synth_preset, x)
static const knob k_knobs[] = {
    {"features", K_I64, F(d), 1, 2147483647, 0, "D, features at label-scale 1"},
    {"labels", K_I64, F(l), 1, 2147483647, 0, "L, labels at label-scale 1"},
    {"train-points", K_I64, F(n_train), 8, 1e11, 0, "training points at scale 1"},
    {"test-points", K_I64, F(n_test), 8, 1e11, 0, "test points at scale 1"},
    {"labels-per-point", K_DBL, F(labels_per_point), 1, 1e4, 0, "mean labels per point"},
    {"nnz-per-point", K_DBL, F(nnz_per_point), 1, 1e5, 0, "mean nonzeros per point"},
    {"zipf-s", K_DBL, F(zipf_s), 0, 10, 0, "label frequency ~ (rank + zipf-q)^-zipf-s"},
    {"zipf-q", K_DBL, F(zipf_q), 0, 1e9, 1, "shift of label ranks (flattens the head)"},
    {"topic-size", K_INT, F(topic_size), 1, 1e6, 0, "labels per topic"},
    {"topic-stride", K_INT, F(topic_stride), 0, 1, 0,
     "1: a topic is the ranks equal modulo the topic count"},
    {"p-topic", K_DBL, F(p_topic), 0, 1, 0, "chance a point's next label is from its topic"},
    {"p-char", K_DBL, F(p_char), 0, 1, 0, "share of features drawn from the labels' own sets"},
    {"char-min", K_INT, F(char_min), 1, 64, 0, "fewest characteristic features per label"},
    {"char-max", K_INT, F(char_max), 1, 64, 0, "most characteristic features per label"},
    {"topic-share", K_DBL, F(topic_share), 0, 1, 0,
     "share of a label's characteristic features that its topic owns"},
    {"feat-s", K_DBL, F(feat_s), 0, 10, 0, "Zipf exponent of the noise features"},
    {"feat-q", K_DBL, F(feat_q), 0, 1e9, 1, "Zipf shift of the noise features"},
    {"spread", K_DBL, F(spread), 0, 1, 0, "relative spread of the Poisson count means"},
    {"lab-sigma", K_DBL, F(lab_sigma), 0, 5, 0, "> 0: labels per point lognormal, this log-sd"},
    {"lab-max", K_INT, F(lab_max), 0, 1e6, 0, "cap of labels per point (0: 4 x mean + 64)"},
    {"lab-reverse", K_INT, F(lab_reverse), 0, 1, 0,
     "1: labels per point = lab-max + 1 - a lognormal draw"},
    {"nnz-sigma", K_DBL, F(nnz_sigma), 0, 5, 0, "> 0: nonzeros per point lognormal, this log-sd"},
    {"nnz-max", K_INT, F(nnz_max), 0, 1e7, 0, "cap of nonzeros per point (0: 4 x mean + 64)"},
    {"binary", K_INT, F(binary), 0, 1, 0, "1: every feature value is 1"},
};
#undef F
#define N_KNOBS ((int)(sizeof k_knobs / sizeof k_knobs[0]))

static const knob *knob_find(const char *key) {
    char buf[64];
    size_t n = strlen(key);
    if (n >= sizeof buf) return NULL;
    for (size_t i = 0; i <= n; i++) buf[i] = key[i] == '_' ? '-' : key[i];
    for (int i = 0; i < N_KNOBS; i++)
        if (strcmp(buf, k_knobs[i].key) == 0) return &k_knobs[i];
    return NULL;
}

static double knob_get(const slide_synth_preset *p, const knob *k) {
    const char *b = (const char *)p + k->off;
    if (k->kind == K_I64) return (double)*(const int64_t *)(const void *)b;
    if (k->kind == K_INT) return (double)*(const int *)(const void *)b;
    return *(const double *)(const void *)b;
}

const char *slide_synth_preset_set(slide_synth_preset *p, const char *key, const char *value) {
    static _Thread_local char msg[256];
    const knob *k = key ? knob_find(key) : NULL;
    if (!k) {
        snprintf(msg, sizeof msg, "unknown knob '%s' (slide-gen --help lists them)",
                 key ? key : "");
        return msg;
    }
    char *end;
    errno = 0;
    double v = value ? strtod(value, &end) : 0;
    int ok = value && end != value && *end == '\0' && errno == 0 && isfinite(v) &&
             (k->lo_open ? v > k->lo : v >= k->lo) && v <= k->hi &&
             (k->kind == K_DBL || v == floor(v));
    if (!ok) {
        snprintf(msg, sizeof msg, "--%s '%s': need %s in %s%.15g, %.15g]", k->key, value ? value : "",
                 k->kind == K_DBL ? "a number" : "an integer", k->lo_open ? "(" : "[", k->lo,
                 k->hi);
        return msg;
    }
    char *b = (char *)p + k->off;
    if (k->kind == K_I64)
        *(int64_t *)(void *)b = (int64_t)v;
    else if (k->kind == K_INT)
        *(int *)(void *)b = (int)v;
    else
        *(double *)(void *)b = v;
    return NULL;
}

const char *slide_synth_preset_check(const slide_synth_preset *p) {
    static _Thread_local char msg[256];
    if (!p) return "no preset";
    for (int i = 0; i < N_KNOBS; i++) {
        const knob *k = &k_knobs[i];
        double v = knob_get(p, k);
        if (!((k->lo_open ? v > k->lo : v >= k->lo) && v <= k->hi)) {
            snprintf(msg, sizeof msg, "--%s %g: need a value in %s%.15g, %.15g]", k->key, v,
                     k->lo_open ? "(" : "[", k->lo, k->hi);
            return msg;
        }
    }
    if (p->char_min > p->char_max) return "--char-min must not exceed --char-max";
    if (p->lab_max > 0 && p->lab_max < p->labels_per_point)
        return "--lab-max must be at least --labels-per-point";
    if (p->nnz_max > 0 && p->nnz_max < p->nnz_per_point)
        return "--nnz-max must be at least --nnz-per-point";
    if (p->lab_reverse && (p->lab_max < 1 || p->lab_sigma <= 0 ||
                           p->lab_max + 1 - p->labels_per_point < 1))
        return "--lab-reverse needs --lab-sigma > 0 and --lab-max above --labels-per-point";
    return NULL;
}

void slide_synth_preset_help(FILE *f) {
    for (int i = 0; i < N_KNOBS; i++) {
        const knob *k = &k_knobs[i];
        char opt[48];
        snprintf(opt, sizeof opt, "--%s %s", k->key, k->kind == K_DBL ? "X" : "N");
        fprintf(f, "  %-22s %s\n", opt, k->help);
    }
}

void slide_synth_preset_write(FILE *f, const slide_synth_preset *p) {
    fprintf(f, "# slide-gen preset file: key = value (slide-gen --preset-file)\n");
    for (int i = 0; i < N_KNOBS; i++) {
        const knob *k = &k_knobs[i];
        if (k->kind == K_DBL)
            fprintf(f, "%s = %.17g\n", k->key, knob_get(p, k));
        else
            fprintf(f, "%s = %.0f\n", k->key, knob_get(p, k));
    }
}

/* The line with leading and trailing blanks and a '#' comment removed, in place. */
static char *trim(char *s) {
    char *h = strchr(s, '#');
    if (h) *h = '\0';
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int slide_synth_preset_load(slide_synth_preset *p, const char *path, slide_err *err) {
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open preset file: %s",
                             path ? path : "(null)", strerror(errno));
    char line[1024];
    int ln = 0, rc = SLIDE_OK;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = slide_err_set(err, SLIDE_EFORMAT, ln, "%s:%d: line too long", path, ln);
            break;
        }
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = slide_err_set(err, SLIDE_EFORMAT, ln, "%s:%d: need 'key = value'", path, ln);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (strcmp(key, "preset") == 0) {
            const slide_synth_preset *base = slide_synth_preset_find(val);
            if (!base) {
                rc = slide_err_set(err, SLIDE_EFORMAT, ln, "%s:%d: unknown preset '%s'", path, ln,
                                   val);
                break;
            }
            *p = *base;
            continue;
        }
        const char *msg = slide_synth_preset_set(p, key, val);
        if (msg) {
            rc = slide_err_set(err, SLIDE_EFORMAT, ln, "%s:%d: %s", path, ln, msg);
            break;
        }
    }
    if (rc == SLIDE_OK && ferror(f))
        rc = slide_err_set(err, SLIDE_EIO, 0, "%s: read error", path);
    fclose(f);
    return rc;
}
