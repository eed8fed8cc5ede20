/* slide-gbench2csv: turns a Google Benchmark JSON report (--benchmark_out_format=json) into one
 * flat CSV with our context columns on every row and one column per counter (results/SCHEMA-micro.md). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ a small JSON reader */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jnode jnode;
struct jnode {
    int type;
    char *text;      /* J_STR: decoded string; J_NUM: the number as written; J_BOOL: "true"/"false" */
    int n, cap;      /* children (J_ARR, J_OBJ) */
    jnode **kids;
    char **keys;     /* J_OBJ: key of each child */
};

typedef struct {
    const char *base, *s, *end, *file; /* base: start of the text, for line numbers */
    char err[256];
} jparser;

static jnode *jfail(jparser *p, const char *at, const char *what) {
    if (!p->err[0]) {
        int line = 1;
        for (const char *q = p->base; q < at && q < p->end; q++) line += *q == '\n';
        snprintf(p->err, sizeof p->err, "%s:%d: %s", p->file, line, what);
    }
    return NULL;
}

static void jfree(jnode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) {
        jfree(n->kids[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    free(n->text);
    free(n);
}

static void skip_ws(jparser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static jnode *jnew(int type) {
    jnode *n = calloc(1, sizeof *n);
    if (n) n->type = type;
    return n;
}

static int jpush(jnode *parent, char *key, jnode *kid) {
    if (parent->n == parent->cap) {
        int cap = parent->cap ? 2 * parent->cap : 8;
        jnode **k = realloc(parent->kids, (size_t)cap * sizeof *k);
        if (!k) return 0;
        parent->kids = k;
        if (parent->type == J_OBJ) {
            char **ks = realloc(parent->keys, (size_t)cap * sizeof *ks);
            if (!ks) return 0;
            parent->keys = ks;
        }
        parent->cap = cap;
    }
    if (parent->type == J_OBJ) parent->keys[parent->n] = key;
    parent->kids[parent->n++] = kid;
    return 1;
}

static void put_utf8(char **o, unsigned cp) {
    char *q = *o;
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xC0 | (cp >> 6));
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xE0 | (cp >> 12));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *q++ = (char)(0xF0 | (cp >> 18));
        *q++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    }
    *o = q;
}

static int hex4(const char *s, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        *v = *v * 16 + (unsigned)d;
    }
    return 1;
}

/* Parses a string at p->s (on the opening quote); returns a malloc'd decoded copy. */
static char *jstring(jparser *p) {
    const char *start = p->s;
    p->s++;
    const char *q = p->s;
    while (q < p->end && *q != '"') q += (*q == '\\' && q + 1 < p->end) ? 2 : 1;
    if (q >= p->end) {
        jfail(p, start, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(q - p->s) + 1), *o = out;
    if (!out) {
        jfail(p, start, "out of memory");
        return NULL;
    }
    while (p->s < q) {
        char c = *p->s++;
        if ((unsigned char)c < 0x20) {
            free(out);
            jfail(p, p->s - 1, "control character in string");
            return NULL;
        }
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        char e = *p->s++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - p->s < 4 || !hex4(p->s, &cp)) {
                free(out);
                jfail(p, p->s, "bad \\u escape");
                return NULL;
            }
            p->s += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q - p->s >= 6 && p->s[0] == '\\' &&
                p->s[1] == 'u' && hex4(p->s + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p->s += 6;
            }
            /* a \u escape never expands beyond its 6 source bytes */
            put_utf8(&o, cp);
            break;
        }
        default:
            free(out);
            jfail(p, p->s - 1, "bad escape in string");
            return NULL;
        }
    }
    *o = '\0';
    p->s = q + 1;
    return out;
}

static jnode *jvalue(jparser *p, int depth);

static jnode *jcontainer(jparser *p, int depth, int obj) {
    jnode *n = jnew(obj ? J_OBJ : J_ARR);
    if (!n) return jfail(p, p->s, "out of memory");
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
        p->s++;
        return n;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (obj) {
            if (p->s >= p->end || *p->s != '"') {
                jfree(n);
                return jfail(p, p->s, "expected a key string");
            }
            key = jstring(p);
            if (!key) {
                jfree(n);
                return NULL;
            }
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') {
                free(key);
                jfree(n);
                return jfail(p, p->s, "expected ':'");
            }
            p->s++;
        }
        jnode *kid = jvalue(p, depth + 1);
        if (!kid || !jpush(n, key, kid)) {
            free(key);
            jfree(kid);
            jfree(n);
            return jfail(p, p->s, "out of memory");
        }
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
            p->s++;
            return n;
        }
        jfree(n);
        return jfail(p, p->s, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static jnode *jvalue(jparser *p, int depth) {
    if (depth > 64) return jfail(p, p->s, "nested too deeply");
    skip_ws(p);
    if (p->s >= p->end) return jfail(p, p->s, "unexpected end of file");
    char c = *p->s;
    if (c == '{' || c == '[') return jcontainer(p, depth, c == '{');
    if (c == '"') {
        char *s = jstring(p);
        if (!s) return NULL;
        jnode *n = jnew(J_STR);
        if (!n) {
            free(s);
            return jfail(p, p->s, "out of memory");
        }
        n->text = s;
        return n;
    }
    /* literals, numbers, and the NaN / Infinity that Google Benchmark writes for such doubles */
    static const char *const words[] = {"true", "false", "null", "NaN", "-NaN", "Infinity",
                                        "-Infinity"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t k = strlen(words[i]);
        if ((size_t)(p->end - p->s) >= k && !strncmp(p->s, words[i], k)) {
            jnode *n = jnew(i < 2 ? J_BOOL : i == 2 ? J_NULL : J_NUM);
            if (!n) return jfail(p, p->s, "out of memory");
            n->text = strndup(p->s, k);
            p->s += k;
            return n;
        }
    }
    const char *start = p->s;
    if (*p->s == '-') p->s++;
    while (p->s < p->end && (isdigit((unsigned char)*p->s) || *p->s == '.' || *p->s == 'e' ||
                             *p->s == 'E' || *p->s == '+' || *p->s == '-'))
        p->s++;
    if (p->s == start || (p->s == start + 1 && *start == '-')) return jfail(p, start, "bad value");
    char *text = strndup(start, (size_t)(p->s - start));
    char *endp = NULL;
    if (!text) return jfail(p, start, "out of memory");
    strtod(text, &endp);
    if (*endp != '\0') {
        free(text);
        return jfail(p, start, "bad number");
    }
    jnode *n = jnew(J_NUM);
    if (!n) {
        free(text);
        return jfail(p, start, "out of memory");
    }
    n->text = text;
    return n;
}

static jnode *jget(const jnode *obj, const char *key) {
    if (!obj || obj->type != J_OBJ) return NULL;
    for (int i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key)) return obj->kids[i];
    return NULL;
}

static const char *jstr(const jnode *obj, const char *key) {
    const jnode *n = jget(obj, key);
    return n && (n->type == J_STR || n->type == J_NUM || n->type == J_BOOL) ? n->text : NULL;
}

/* ------------------------------------------------------------------ CSV output */

/* Writes s as a CSV field: characters that would break the row become '_'; empty/NULL is NA. */
static void put_field(FILE *f, const char *s, int first) {
    if (!first) fputc(',', f);
    if (!s || !*s) {
        fputs("NA", f);
        return;
    }
    for (; *s; s++) fputc((*s == ',' || *s == '"' || *s == '\n' || *s == '\r') ? '_' : *s, f);
}

/* A JSON number as a CSV value: NA for NaN/Inf/missing; scaled when scale != 1. */
static void put_number(FILE *f, const jnode *n, double scale) {
    fputc(',', f);
    if (!n || n->type != J_NUM) {
        fputs("NA", f);
        return;
    }
    double v = strtod(n->text, NULL);
    if (!isfinite(v)) {
        fputs("NA", f);
        return;
    }
    if (scale == 1.0)
        fputs(n->text, f);
    else
        fprintf(f, "%.10g", v * scale);
}

static double unit_to_ns(const char *u) {
    if (!u || !strcmp(u, "ns")) return 1.0;
    if (!strcmp(u, "us")) return 1e3;
    if (!strcmp(u, "ms")) return 1e6;
    if (!strcmp(u, "s")) return 1e9;
    return NAN;
}

/* Keys of a benchmark entry that are not counters. */
static int is_reserved(const char *k) {
    static const char *const r[] = {
        "name", "family_index", "per_family_instance_index", "run_name", "run_type",
        "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
        "time_unit", "label", "error_occurred", "error_message", "aggregate_name",
        "aggregate_unit", "big_o", "rms", "cpu_coefficient", "real_coefficient"};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (!strcmp(k, r[i])) return 1;
    return 0;
}

/* args: the parts of run_name after the family, without Google Benchmark's own suffixes. */
static void args_of(const char *run_name, char *out, size_t n) {
    out[0] = '\0';
    const char *s = strchr(run_name, '/');
    size_t len = 0;
    while (s) {
        s++;
        const char *e = strchr(s, '/');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        int drop = (k == 9 && !strncmp(s, "real_time", 9)) ||
                   (k == 11 && !strncmp(s, "manual_time", 11)) ||
                   (k == 12 && !strncmp(s, "process_time", 12)) || !strncmp(s, "threads:", 8) ||
                   !strncmp(s, "repeats:", 8) || !strncmp(s, "iterations:", 11) ||
                   !strncmp(s, "min_time:", 9) || !strncmp(s, "min_warmup_time:", 16);
        if (!drop && len + k + 2 < n) {
            if (len) out[len++] = '/';
            memcpy(out + len, s, k);
            len += k;
            out[len] = '\0';
        }
        s = e;
    }
}

static const char *const ctx_cols[] = {"run_id", "utc", "git_commit", "host", "cpu_model",
                                       "simd", "hugepages", "papi", "loadavg_start"};
#define N_CTX ((int)(sizeof ctx_cols / sizeof ctx_cols[0]))
static const char *const fixed_cols[] = {
    "name", "family", "args", "threads", "run_type", "aggregate_name", "repetition_index",
    "iterations", "real_time_ns", "cpu_time_ns", "label", "error_message", NULL};

static int write_csv(FILE *f, const jnode *root) {
    const jnode *ctx = jget(root, "context"), *bms = jget(root, "benchmarks");
    if (!bms || bms->type != J_ARR) return 0;
    const char *ctxv[N_CTX];
    for (int i = 0; i < N_CTX; i++) ctxv[i] = jstr(ctx, ctx_cols[i]);
    if (!ctxv[1]) ctxv[1] = jstr(ctx, "date");      /* report from another program */
    if (!ctxv[3]) ctxv[3] = jstr(ctx, "host_name");

    /* counter columns: union over rows, in order of first appearance */
    const char **cols = NULL;
    int ncol = 0, capcol = 0;
    for (int r = 0; r < bms->n; r++) {
        const jnode *b = bms->kids[r];
        if (b->type != J_OBJ) continue;
        for (int i = 0; i < b->n; i++) {
            if (b->kids[i]->type != J_NUM || is_reserved(b->keys[i])) continue;
            int seen = 0;
            for (int c = 0; c < ncol && !seen; c++) seen = !strcmp(cols[c], b->keys[i]);
            if (seen) continue;
            if (ncol == capcol) {
                capcol = capcol ? 2 * capcol : 32;
                const char **nc = realloc(cols, (size_t)capcol * sizeof *nc);
                if (!nc) {
                    free(cols);
                    return 0;
                }
                cols = nc;
            }
            cols[ncol++] = b->keys[i];
        }
    }

    for (int i = 0; i < N_CTX; i++) put_field(f, ctx_cols[i], i == 0);
    for (int i = 0; fixed_cols[i]; i++) put_field(f, fixed_cols[i], 0);
    for (int c = 0; c < ncol; c++) {
        /* a counter named like a fixed column gets a prefix, so every name stays unique */
        int clash = 0;
        for (int i = 0; i < N_CTX; i++) clash |= !strcmp(cols[c], ctx_cols[i]);
        for (int i = 0; fixed_cols[i]; i++) clash |= !strcmp(cols[c], fixed_cols[i]);
        fputs(clash ? ",counter_" : ",", f);
        put_field(f, cols[c], 1);
    }
    fputc('\n', f);

    for (int r = 0; r < bms->n; r++) {
        const jnode *b = bms->kids[r];
        if (b->type != J_OBJ) continue;
        for (int i = 0; i < N_CTX; i++) put_field(f, ctxv[i], i == 0);
        const char *name = jstr(b, "name"), *run_name = jstr(b, "run_name");
        if (!run_name) run_name = name ? name : "";
        char family[256], args[1024];
        size_t fl = strcspn(run_name, "/");
        snprintf(family, sizeof family, "%.*s", (int)(fl < 255 ? fl : 255), run_name);
        args_of(run_name, args, sizeof args);
        const char *err = jstr(b, "error_message");
        const char *eo = jstr(b, "error_occurred");
        int failed = (eo && !strcmp(eo, "true")) || (err && *err);
        put_field(f, name, 0);
        put_field(f, family, 0);
        put_field(f, args, 0);
        put_field(f, jstr(b, "threads"), 0);
        put_field(f, jstr(b, "run_type"), 0);
        put_field(f, jstr(b, "aggregate_name"), 0);
        put_field(f, jstr(b, "repetition_index"), 0);
        if (failed) {
            /* a configuration that did not run has no numbers */
            fputs(",NA,NA,NA", f);
        } else {
            put_number(f, jget(b, "iterations"), 1.0);
            const char *au = jstr(b, "aggregate_unit");
            /* coefficient-of-variation rows hold fractions, not times */
            double scale = au && !strcmp(au, "percentage") ? 1.0 : unit_to_ns(jstr(b, "time_unit"));
            if (isnan(scale)) {
                fputs(",NA,NA", f);
            } else {
                put_number(f, jget(b, "real_time"), scale);
                put_number(f, jget(b, "cpu_time"), scale);
            }
        }
        put_field(f, jstr(b, "label"), 0);
        put_field(f, failed ? (err && *err ? err : "error") : NULL, 0);
        for (int c = 0; c < ncol; c++) put_number(f, failed ? NULL : jget(b, cols[c]), 1.0);
        fputc('\n', f);
    }
    free(cols);
    return 1;
}

/* ------------------------------------------------------------------ main */

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: slide-gbench2csv REPORT.json OUT.csv   (OUT '-' = stdout)\n"
                "Flattens a Google Benchmark JSON report (--benchmark_out_format=json) into CSV:\n"
                "context columns, one row per benchmark run, one column per counter (NA when a\n"
                "row lacks it). Columns: results/SCHEMA-micro.md.\n");
        return argc == 2 ? 0 : 2;
    }
    const char *in = argv[1], *out = argv[2];
    size_t len = 0;
    char *text = read_all(in, &len);
    if (!text) {
        fprintf(stderr, "slide-gbench2csv: cannot read %s: %s\n", in, strerror(errno));
        return 1;
    }
    jparser p = {text, text, text + len, in, ""};
    jnode *root = jvalue(&p, 0);
    if (root) {
        skip_ws(&p);
        if (p.s != p.end) {
            jfree(root);
            root = jfail(&p, p.s, "trailing characters after the JSON value");
        }
    }
    if (!root) {
        fprintf(stderr, "slide-gbench2csv: %s\n", p.err);
        free(text);
        return 1;
    }
    const jnode *bms = jget(root, "benchmarks");
    if (root->type != J_OBJ || !bms || bms->type != J_ARR) {
        fprintf(stderr,
                "slide-gbench2csv: %s: no \"benchmarks\" array: not a Google Benchmark JSON "
                "report (write one with --benchmark_out_format=json)\n",
                in);
        jfree(root);
        free(text);
        return 1;
    }

    int rc = 0;
    if (!strcmp(out, "-")) {
        if (!write_csv(stdout, root) || fflush(stdout) != 0) rc = 1;
    } else {
        /* temp file + rename: readers never see a half-written CSV */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", out, (int)getpid());
        FILE *f = fopen(tmp, "w");
        if (!f) {
            fprintf(stderr, "slide-gbench2csv: cannot create %s: %s\n", tmp, strerror(errno));
            rc = 1;
        } else {
            int ok = write_csv(f, root);
            ok = (fflush(f) == 0) && ok;
            ok = (fclose(f) == 0) && ok;
            if (!ok || rename(tmp, out) != 0) {
                fprintf(stderr, "slide-gbench2csv: cannot write %s: %s\n", out, strerror(errno));
                remove(tmp);
                rc = 1;
            }
        }
    }
    jfree(root);
    free(text);
    return rc;
}
