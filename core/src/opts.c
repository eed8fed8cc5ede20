/* One option table for the command line and config files: strict parsing with range checks,
 * errors naming the option and, for files, file:line. */
#include "slide/opts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>

slide_opt *slide_opts_find(slide_opt *opts, const char *name) {
    for (slide_opt *o = opts; o->name; o++)
        if (!strcmp(o->name, name)) return o;
    return NULL;
}

static int choice_index(const char *choices, const char *v) {
    int idx = 0;
    size_t vl = strlen(v);
    for (const char *c = choices; *c;) {
        const char *e = strchr(c, '|');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if (len == vl && !strncmp(c, v, len)) return idx;
        idx++;
        if (!e) break;
        c = e + 1;
    }
    return -1;
}

int slide_opts_set(slide_opt *opts, const char *name, const char *value, const char *origin,
                   slide_err *err) {
    slide_opt *o = slide_opts_find(opts, name);
    if (!o) return slide_err_set(err, SLIDE_EINVAL, 0, "%s: unknown option '%s'", origin, name);
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case SLIDE_OPT_INT:
    case SLIDE_OPT_I64:
    case SLIDE_OPT_U64: {
        if (!*value) goto bad;
        if (o->type == SLIDE_OPT_U64) {
            if (value[0] == '-') goto bad;
            unsigned long long u = strtoull(value, &end, 0);
            if (*end || errno) goto bad;
            *(uint64_t *)o->ptr = (uint64_t)u;
            break;
        }
        long long v = strtoll(value, &end, 10);
        if (*end || errno) goto bad;
        if (o->min <= o->max && ((double)v < o->min || (double)v > o->max)) goto range;
        if (o->type == SLIDE_OPT_INT) {
            if (v < INT32_MIN || v > INT32_MAX) goto range;
            *(int *)o->ptr = (int)v;
        } else {
            *(int64_t *)o->ptr = (int64_t)v;
        }
        break;
    }
    case SLIDE_OPT_DOUBLE:
    case SLIDE_OPT_FLOAT: {
        if (!*value) goto bad;
        double v = strtod(value, &end);
        if (*end || errno || !isfinite(v)) goto bad;
        if (o->min <= o->max && (v < o->min || v > o->max)) goto range;
        if (o->type == SLIDE_OPT_DOUBLE) *(double *)o->ptr = v;
        else *(float *)o->ptr = (float)v;
        break;
    }
    case SLIDE_OPT_STR:
        *(const char **)o->ptr = value;
        break;
    case SLIDE_OPT_FLAG:
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
            *(int *)o->ptr = 1;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
            *(int *)o->ptr = 0;
        else goto bad;
        break;
    case SLIDE_OPT_CHOICE: {
        int idx = choice_index(o->choices, value);
        if (idx < 0)
            return slide_err_set(err, SLIDE_EINVAL, 0, "%s: --%s must be one of %s (got '%s')",
                                 origin, name, o->choices, value);
        *(int *)o->ptr = idx;
        break;
    }
    default:
        return slide_err_set(err, SLIDE_EINVAL, 0, "%s: option '%s' has no type", origin, name);
    }
    o->was_set = 1;
    return SLIDE_OK;
bad:
    return slide_err_set(err, SLIDE_EINVAL, 0, "%s: --%s: bad value '%s'", origin, name, value);
range:
    return slide_err_set(err, SLIDE_EINVAL, 0, "%s: --%s must be in [%g, %g] (got '%s')", origin,
                         name, o->min, o->max, value);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

int slide_opts_parse_file(slide_opt *opts, const char *path, slide_err *err) {
    if (!path || !*path) return slide_err_set(err, SLIDE_EINVAL, 0, "--config: empty path");
    FILE *f = fopen(path, "r");
    if (!f)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open config: %s", path, strerror(errno));
    char line[4096];
    long ln = 0;
    int rc = SLIDE_OK;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = slide_err_set(err, SLIDE_EFORMAT, ln, "%s:%ld: line too long", path, ln);
            break;
        }
        char *h = strchr(line, '#');
        if (h) *h = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = slide_err_set(err, SLIDE_EFORMAT, ln, "%s:%ld: expected 'name = value' (found '%.40s')",
                               path, ln, s);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        char origin[600];
        snprintf(origin, sizeof origin, "%s:%ld", path, ln);
        slide_opt *o = slide_opts_find(opts, key);
        if (o && o->type == SLIDE_OPT_STR) {
            char *copy = strdup(val);
            if (!copy) {
                rc = slide_err_set(err, SLIDE_ENOMEM, ln, "%s: out of memory", origin);
                break;
            }
            free(o->owned);
            o->owned = copy;
            val = copy;
        }
        rc = slide_opts_set(opts, key, val, origin, err);
        if (rc) {
            if (err) err->line = ln;
            break;
        }
    }
    if (!rc && ferror(f)) rc = slide_err_set(err, SLIDE_EIO, 0, "%s: read error", path);
    fclose(f);
    return rc;
}

int slide_opts_parse(slide_opt *opts, int argc, char **argv, const char **positional,
                     int max_positional, int *n_positional, slide_err *err) {
    if (n_positional) *n_positional = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return SLIDE_OPTS_HELP;
    /* Config file first, so the command line overrides it. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *path = NULL;
        if (!strcmp(a, "--config")) {
            if (i + 1 >= argc) return slide_err_set(err, SLIDE_EINVAL, 0, "--config needs a file");
            path = argv[i + 1];
        } else if (!strncmp(a, "--config=", 9)) {
            path = a + 9;
        }
        if (path) {
            int rc = slide_opts_parse_file(opts, path, err);
            if (rc) return rc;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (positional && n_positional && *n_positional < max_positional) {
                positional[(*n_positional)++] = a;
                continue;
            }
            return slide_err_set(err, SLIDE_EINVAL, 0, "unexpected argument '%s'", a);
        }
        char name[128];
        const char *val = NULL;
        const char *eq = strchr(a + 2, '=');
        size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nl == 0 || nl >= sizeof name)
            return slide_err_set(err, SLIDE_EINVAL, 0, "bad option '%s'", a);
        memcpy(name, a + 2, nl);
        name[nl] = '\0';
        if (!strcmp(name, "config")) {
            if (!eq) i++;
            continue;
        }
        slide_opt *o = slide_opts_find(opts, name);
        const char *set_name = name;
        if (!o && !strncmp(name, "no-", 3)) { /* --no-x of flag x */
            slide_opt *f = slide_opts_find(opts, name + 3);
            if (f && f->type == SLIDE_OPT_FLAG) {
                if (eq)
                    return slide_err_set(err, SLIDE_EINVAL, 0, "option '--%s' takes no value "
                                         "(use --%s=0|1)", name, name + 3);
                o = f;
                set_name = name + 3;
                val = "0";
            }
        }
        if (!o) return slide_err_set(err, SLIDE_EINVAL, 0, "unknown option '--%s' (see --help)", name);
        if (val) {
        } else if (eq) {
            val = eq + 1;
        } else if (o->type == SLIDE_OPT_FLAG) {
            val = "1";
            /* --x 0 / --x 1: a flag takes a following 0 or 1 as its value */
            if (i + 1 < argc && (!strcmp(argv[i + 1], "0") || !strcmp(argv[i + 1], "1")))
                val = argv[++i];
        } else {
            if (i + 1 >= argc)
                return slide_err_set(err, SLIDE_EINVAL, 0, "option '--%s' needs a value", name);
            val = argv[++i];
        }
        int rc = slide_opts_set(opts, set_name, val, "command line", err);
        if (rc) return rc;
    }
    return SLIDE_OK;
}

/* Prints text (one line, no newline) wrapped at SLIDE_HELP_WIDTH columns between words;
 * continuation lines are indented by `indent` spaces. A word longer than a line stays whole;
 * '\001' joins two words with a space that never breaks. */
#define SLIDE_HELP_WIDTH 100
static void print_wrapped(FILE *f, const char *text, int first_indent, int indent) {
    int col = 0;
    const char *p = text;
    for (int k = 0; k < first_indent; k++, col++) fputc(' ', f);
    /* keep the text's own leading spaces */
    while (*p == ' ') {
        fputc(' ', f);
        p++;
        col++;
    }
    int at_start = 1;
    while (*p) {
        const char *w = p;
        while (*p && *p != ' ') p++;
        const int wl = (int)(p - w);
        int sp = 0;
        while (*p == ' ') p++, sp++;
        if (!at_start && col + 1 + wl > SLIDE_HELP_WIDTH) {
            fputc('\n', f);
            for (col = 0; col < indent; col++) fputc(' ', f);
            at_start = 1;
        }
        if (!at_start) {
            fputc(' ', f);
            col++;
        }
        for (int k = 0; k < wl; k++) fputc(w[k] == '\001' ? ' ' : w[k], f);
        col += wl;
        at_start = 0;
        /* a run of spaces inside the text (column alignment) is kept when it fits */
        if (sp > 1 && *p && col + sp - 1 + 1 <= SLIDE_HELP_WIDTH) {
            for (int k = 0; k < sp - 1; k++) fputc(' ', f);
            col += sp - 1;
        }
    }
    fputc('\n', f);
}

void slide_opts_print_help(FILE *f, const char *usage, const slide_opt *opts) {
    for (const char *p = usage; *p;) { /* each line of the usage text, wrapped */
        const size_t len = strcspn(p, "\n");
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        print_wrapped(f, line, 0, 2);
        p += len + (p[len] == '\n');
    }
    fprintf(f, "\noptions (also `name = value` lines in --config FILE; flags: --x, --no-x, "
            "--x=0|1):\n");
    for (const slide_opt *o = opts; o->name; o++) {
        char def[96] = "";
        switch (o->type) {
        case SLIDE_OPT_INT:
        case SLIDE_OPT_FLAG: snprintf(def, sizeof def, "%d", *(const int *)o->ptr); break;
        case SLIDE_OPT_I64: snprintf(def, sizeof def, "%lld", (long long)*(const int64_t *)o->ptr); break;
        case SLIDE_OPT_U64: snprintf(def, sizeof def, "%llu", (unsigned long long)*(const uint64_t *)o->ptr); break;
        case SLIDE_OPT_DOUBLE: snprintf(def, sizeof def, "%g", *(const double *)o->ptr); break;
        case SLIDE_OPT_FLOAT: snprintf(def, sizeof def, "%g", (double)*(const float *)o->ptr); break;
        case SLIDE_OPT_STR: {
            const char *s = *(const char *const *)o->ptr;
            snprintf(def, sizeof def, "%s", s ? s : "");
            break;
        }
        case SLIDE_OPT_CHOICE: {
            int idx = *(const int *)o->ptr, k = 0;
            const char *c = o->choices;
            while (k < idx && c && (c = strchr(c, '|'))) { c++; k++; }
            if (c) { size_t len = strcspn(c, "|"); snprintf(def, sizeof def, "%.*s", (int)len, c); }
            break;
        }
        }
        char flag[160];
        if (o->type == SLIDE_OPT_FLAG && strncmp(o->name, "no-", 3))
            snprintf(flag, sizeof flag, "--[no-]%s", o->name);
        else if (o->type == SLIDE_OPT_FLAG) snprintf(flag, sizeof flag, "--%s", o->name);
        else if (o->type == SLIDE_OPT_CHOICE) snprintf(flag, sizeof flag, "--%s %s", o->name, o->choices);
        else snprintf(flag, sizeof flag, "--%s X", o->name);
        char line[1024];
        /* \001: a space that does not break ("[default: X]" stays on one line) */
        snprintf(line, sizeof line, "  %-28s %s [default:\001%s]", flag, o->help ? o->help : "", def);
        print_wrapped(f, line, 0, 31);
    }
}

void slide_opts_free(slide_opt *opts) {
    for (slide_opt *o = opts; o->name; o++) {
        free(o->owned);
        o->owned = NULL;
    }
}

int slide_opts_cli(slide_opt *opts, int argc, char **argv, const char *prog, const char *usage) {
    slide_err err;
    slide_err_clear(&err);
    int rc = slide_opts_parse(opts, argc, argv, NULL, 0, NULL, &err);
    if (rc == SLIDE_OK) return -1;
    if (rc == SLIDE_OPTS_HELP) slide_opts_print_help(stdout, usage, opts);
    else fprintf(stderr, "%s: %s\n", prog, err.msg);
    slide_opts_free(opts);
    return rc == SLIDE_OPTS_HELP ? 0 : 2;
}
