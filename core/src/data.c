/* Reader for the Extreme Classification text format (strict, hand-written number parsing, errors
 * as "FILE:LINE: what (found 'xyz')") and the binary data cache "SLIDEDS1" with its checksum. */
#include "slide/data.h"
#include "slide/rng.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef unsigned char uchar;

/* ================================================================ text parser */

/* Parser state. The text it walks always ends in '\n' (the final line without one is copied
 * into a terminated buffer), so scanning loops stop at the newline without bounds checks. */
typedef struct {
    const char *name;
    slide_err *err;
    long line; /* 1-based line being parsed */
    int64_t n, d, l;
    int64_t npts;
    int64_t *row_ptr, *lab_ptr;
    size_t rows_cap; /* entries available in row_ptr / lab_ptr */
    int32_t *feat;
    float *val;
    size_t feat_cap, nnz;
    int32_t *lab;
    size_t lab_cap, nlab;
    uint64_t *scratch; /* for sorting an unsorted row */
    size_t scratch_cap;
} parser;

static inline int is_digit(uchar c) { return (unsigned)(c - '0') < 10u; }
static inline int is_blank(uchar c) { return c == ' ' || c == '\t'; }
static inline int is_eol(const uchar *p) { return *p == '\n' || (*p == '\r' && p[1] == '\n'); }

/* Writes a printable excerpt of the token at p (up to whitespace or end of line) into out. */
static void excerpt(const uchar *p, char *out, size_t cap) {
    size_t o = 0;
    int k = 0;
    if (is_eol(p)) {
        snprintf(out, cap, "end of line");
        return;
    }
    out[o++] = '\'';
    for (; !is_eol(p) && !(k > 0 && is_blank(*p)) && k < 24; p++, k++) {
        uchar c = *p;
        if (o + 6 >= cap) break;
        if (c >= 32 && c < 127 && c != '\'' && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
    }
    if (k == 24 && !is_eol(p) && !is_blank(*p) && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* Sets a text error: "NAME:LINE: what (found 'token')". */
__attribute__((format(printf, 4, 5))) static int perr(parser *P, int code, const uchar *at,
                                                      const char *fmt, ...) {
    char what[256], tok[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (at) {
        excerpt(at, tok, sizeof tok);
        return slide_err_set(P->err, code, P->line, "%s:%ld: %s (found %s)", P->name, P->line,
                             what, tok);
    }
    return slide_err_set(P->err, code, P->line, "%s:%ld: %s", P->name, P->line, what);
}

#define ID_SAT 100000000000000000ULL /* ids saturate here: far above any valid id, no overflow */

/* Unsigned decimal integer at p (at least one digit, caller checked). Saturates. */
static inline const uchar *scan_uint(const uchar *p, uint64_t *v) {
    uint64_t x = 0;
    do {
        x = x * 10 + (uint64_t)(*p - '0');
        if (x > ID_SAT) x = ID_SAT;
        p++;
    } while (is_digit(*p));
    *v = x;
    return p;
}

static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const double p10neg[23] = {1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
                                  1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
                                  1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

/* strtod on a copy of [s, e): for the forms the fast path does not round exactly. */
static double slow_strtod(const uchar *s, const uchar *e, int *ok) {
    char small[128], *b = small;
    size_t n = (size_t)(e - s);
    if (n + 1 > sizeof small) {
        b = malloc(n + 1);
        if (!b) {
            *ok = 0;
            return 0;
        }
    }
    memcpy(b, s, n);
    b[n] = '\0';
    char *end;
    double v = strtod(b, &end);
    *ok = n > 0 && end == b + n;
    if (b != small) free(b);
    return v;
}

/* Decimal float at p: [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa digit.
 * Returns the end or NULL when the text is not such a number. When the mantissa is <= 2^53 and
 * the power of ten within 1e+-22 the value is m * 10^e in double (multiplying by a rounded 1e-k
 * instead of dividing: within 2 double ulps, so the float is off by at most one float ulp and
 * almost always exact; a division here cost a quarter of the parse time); strtod otherwise. */
static inline const uchar *scan_float(const uchar *p, double *out) {
    const uchar *s = p;
    int neg = 0, any = 0, trunc = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    uint64_t m = 0;
    int nd = 0;
    int64_t ex = 0;
    while (*p == '0') {
        p++;
        any = 1;
    }
    while (is_digit(*p)) {
        if (nd < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            nd++;
        } else {
            ex++;
            trunc = 1;
        }
        p++;
        any = 1;
    }
    if (*p == '.') {
        p++;
        if (nd == 0) {
            while (*p == '0') {
                p++;
                ex--;
                any = 1;
            }
        }
        while (is_digit(*p)) {
            if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                nd++;
                ex--;
            } else {
                trunc = 1;
            }
            p++;
            any = 1;
        }
    }
    if (!any) return NULL;
    if (*p == 'e' || *p == 'E') {
        const uchar *q = p + 1;
        int eneg = 0;
        if (*q == '+' || *q == '-') {
            eneg = *q == '-';
            q++;
        }
        if (!is_digit(*q)) return NULL;
        int64_t e = 0;
        do {
            if (e < 1000000) e = e * 10 + (*q - '0');
            q++;
        } while (is_digit(*q));
        ex += eneg ? -e : e;
        p = q;
    }
    double v;
    if (m == 0) {
        v = 0;
    } else if (!trunc && m <= (1ULL << 53) && ex >= -22 && ex <= 22) {
        v = (double)m * (ex < 0 ? p10neg[-ex] : p10[ex]);
    } else {
        int ok;
        v = slow_strtod(s, p, &ok);
        if (!ok) return NULL;
        *out = v;
        return p;
    }
    *out = neg ? -v : v;
    return p;
}

static int grow_feat(parser *P) {
    size_t cap = P->feat_cap + P->feat_cap / 2 + 1024;
    int32_t *f = realloc(P->feat, cap * sizeof *f);
    if (f) P->feat = f;
    float *v = realloc(P->val, cap * sizeof *v);
    if (v) P->val = v;
    if (!f || !v)
        return slide_err_set(P->err, SLIDE_ENOMEM, P->line,
                             "%s:%ld: out of memory growing the feature arrays to %zu entries",
                             P->name, P->line, cap);
    P->feat_cap = cap;
    return SLIDE_OK;
}

static int grow_lab(parser *P) {
    size_t cap = P->lab_cap + P->lab_cap / 2 + 1024;
    int32_t *a = realloc(P->lab, cap * sizeof *a);
    if (!a)
        return slide_err_set(P->err, SLIDE_ENOMEM, P->line,
                             "%s:%ld: out of memory growing the label array to %zu entries",
                             P->name, P->line, cap);
    P->lab = a;
    P->lab_cap = cap;
    return SLIDE_OK;
}

static int reserve_scratch(parser *P, size_t k) {
    if (k <= P->scratch_cap) return SLIDE_OK;
    uint64_t *s = realloc(P->scratch, k * sizeof *s);
    if (!s)
        return slide_err_set(P->err, SLIDE_ENOMEM, P->line, "%s:%ld: out of memory sorting a row",
                             P->name, P->line);
    P->scratch = s;
    P->scratch_cap = k;
    return SLIDE_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void sort_u64(uint64_t *a, size_t k) {
    if (k > 24) {
        qsort(a, k, sizeof *a, cmp_u64);
        return;
    }
    for (size_t i = 1; i < k; i++) {
        uint64_t x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Sorts features [f0, nnz) by id (keeping values with them); reports a duplicate id. */
static int sort_row_features(parser *P, size_t f0) {
    size_t k = P->nnz - f0;
    if (reserve_scratch(P, k)) return P->err ? P->err->code : SLIDE_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        uint32_t bits;
        memcpy(&bits, &P->val[f0 + i], sizeof bits);
        P->scratch[i] = ((uint64_t)(uint32_t)P->feat[f0 + i] << 32) | bits;
    }
    sort_u64(P->scratch, k);
    for (size_t i = 0; i < k; i++) {
        uint32_t bits = (uint32_t)P->scratch[i];
        P->feat[f0 + i] = (int32_t)(P->scratch[i] >> 32);
        memcpy(&P->val[f0 + i], &bits, sizeof bits);
        if (i > 0 && P->feat[f0 + i] == P->feat[f0 + i - 1])
            return perr(P, SLIDE_EFORMAT, NULL,
                        "duplicate feature id %d in this point (found '%d' twice)",
                        P->feat[f0 + i], P->feat[f0 + i]);
    }
    return SLIDE_OK;
}

static int sort_row_labels(parser *P, size_t l0) {
    size_t k = P->nlab - l0;
    if (reserve_scratch(P, k)) return P->err ? P->err->code : SLIDE_ENOMEM;
    for (size_t i = 0; i < k; i++) P->scratch[i] = (uint64_t)(uint32_t)P->lab[l0 + i];
    sort_u64(P->scratch, k);
    for (size_t i = 0; i < k; i++) {
        P->lab[l0 + i] = (int32_t)P->scratch[i];
        if (i > 0 && P->lab[l0 + i] == P->lab[l0 + i - 1])
            return perr(P, SLIDE_EFORMAT, NULL, "duplicate label %d in this point (found '%d' twice)",
                        P->lab[l0 + i], P->lab[l0 + i]);
    }
    return SLIDE_OK;
}

/* Reads an id at p for a label ("label") or a feature ("feature"): checks sign and range. */
static inline const uchar *scan_id(parser *P, const uchar *p, int64_t limit, const char *what,
                                   const uchar *tok, int64_t *id, int *rc) {
    uint64_t u;
    if (is_digit(*p)) {
        const uchar *q = scan_uint(p, &u);
        if (u >= (uint64_t)limit) {
            char num[32];
            if (u >= ID_SAT)
                snprintf(num, sizeof num, "(huge)");
            else
                snprintf(num, sizeof num, "%llu", (unsigned long long)u);
            *rc = perr(P, SLIDE_ERANGE, tok, "%s id %s out of range: must be < %s=%lld", what,
                       num, what[0] == 'l' ? "L" : "D", (long long)limit);
            return NULL;
        }
        *id = (int64_t)u;
        return q;
    }
    if (*p == '-' && is_digit(p[1])) {
        *rc = perr(P, SLIDE_ERANGE, tok, "negative %s id", what);
        return NULL;
    }
    *rc = perr(P, SLIDE_EFORMAT, tok, "expected a %s id", what);
    return NULL;
}

/* Parses one point at p (its line ends in '\n'); returns the start of the next line. */
static const uchar *parse_point(parser *P, const uchar *p, int *rc) {
    size_t f0 = P->nnz, l0 = P->nlab;
    int funsorted = 0, lunsorted = 0;
    int64_t prev = -1;
    *rc = SLIDE_OK;

    /* labels: present unless the line starts with a blank, ends at once, or starts "id:" */
    if (!is_blank(*p) && !is_eol(p)) {
        const uchar *tok = p, *q = p + (*p == '-');
        while (is_digit(*q)) q++;
        if (!(q > p + (*p == '-') && *q == ':')) {
            for (;;) {
                int64_t id;
                const uchar *e = scan_id(P, p, P->l, "label", tok, &id, rc);
                if (!e) {
                    if (*rc == SLIDE_EFORMAT && (*p == ',' || is_blank(*p) || is_eol(p)))
                        *rc = perr(P, SLIDE_EFORMAT, tok,
                                   "empty entry in the label list (expected 'l1,l2,...')");
                    return NULL;
                }
                if (id <= prev) {
                    if (id == prev) {
                        *rc = perr(P, SLIDE_EFORMAT, tok,
                                   "duplicate label %lld in this point", (long long)id);
                        return NULL;
                    }
                    lunsorted = 1;
                }
                prev = id;
                if (P->nlab == P->lab_cap && (*rc = grow_lab(P))) return NULL;
                P->lab[P->nlab++] = (int32_t)id;
                p = e;
                if (*p == ',') {
                    p++;
                    tok = p;
                    continue;
                }
                if (is_blank(*p) || is_eol(p)) break;
                *rc = perr(P, SLIDE_EFORMAT, tok,
                           *p == ':' ? "a feature 'id:value' inside the label list (labels and "
                                       "features must be separated by a space)"
                                     : "trailing garbage after a label id");
                return NULL;
            }
        }
    }

    /* features: id:value separated by blanks */
    prev = -1;
    for (;;) {
        while (is_blank(*p)) p++;
        if (is_eol(p)) break;
        const uchar *tok = p;
        int64_t id;
        const uchar *e = scan_id(P, p, P->d, "feature", tok, &id, rc);
        if (!e) {
            if (*rc == SLIDE_EFORMAT && *p == '\r')
                *rc = perr(P, SLIDE_EFORMAT, tok, "stray carriage return inside a line");
            return NULL;
        }
        p = e;
        if (*p != ':') {
            *rc = perr(P, SLIDE_EFORMAT, tok,
                       is_blank(*p) || is_eol(p)
                           ? "missing ':' in a feature (expected 'id:value')"
                           : "bad feature id (expected 'id:value')");
            return NULL;
        }
        p++;
        double v;
        e = scan_float(p, &v);
        if (!e) {
            int ok;
            const uchar *z = p;
            while (!is_eol(z) && !is_blank(*z)) z++;
            double w = slow_strtod(p, z, &ok);
            *rc = perr(P, SLIDE_EFORMAT, tok,
                       ok && !isfinite(w) ? "feature value is not a finite number"
                                          : "bad number for a feature value");
            return NULL;
        }
        if (!is_blank(*e) && !is_eol(e)) {
            *rc = perr(P, SLIDE_EFORMAT, tok, "trailing garbage after a feature value");
            return NULL;
        }
        if (__builtin_expect(!isfinite(v), 0)) { /* only from strtod: 1e999 and the like */
            *rc = perr(P, SLIDE_EFORMAT, tok, "feature value is not a finite number");
            return NULL;
        }
        float fv = (float)v;
        if (__builtin_expect(!isfinite(fv), 0)) {
            *rc = perr(P, SLIDE_ERANGE, tok, "feature value out of float range");
            return NULL;
        }
        p = e;
        if (id <= prev) {
            if (id == prev) {
                *rc = perr(P, SLIDE_EFORMAT, tok, "duplicate feature id %lld in this point",
                           (long long)id);
                return NULL;
            }
            funsorted = 1;
        }
        prev = id;
        if (P->nnz == P->feat_cap && (*rc = grow_feat(P))) return NULL;
        P->feat[P->nnz] = (int32_t)id;
        P->val[P->nnz] = fv;
        P->nnz++;
    }
    if (funsorted && (*rc = sort_row_features(P, f0))) return NULL;
    if (lunsorted && (*rc = sort_row_labels(P, l0))) return NULL;
    P->npts++;
    P->row_ptr[P->npts] = (int64_t)P->nnz;
    P->lab_ptr[P->npts] = (int64_t)P->nlab;
    return p + (*p == '\r' ? 2 : 1);
}

/* Parses the header line "N D L" at p; returns the start of the next line. */
static const uchar *parse_header(parser *P, const uchar *p, int *rc) {
    uint64_t v[3];
    const char *names[3] = {"N", "D", "L"};
    const uchar *start = p;
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) p += 3; /* UTF-8 byte order mark */
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (!is_blank(*p)) {
                *rc = perr(P, SLIDE_EFORMAT, is_eol(p) ? p : start,
                           "bad header: expected 'N D L' (points, features, labels)");
                return NULL;
            }
            while (is_blank(*p)) p++;
        }
        if (!is_digit(*p)) {
            *rc = perr(P, SLIDE_EFORMAT, is_eol(p) ? p : start,
                       "bad header: expected 'N D L' (points, features, labels), %s missing or "
                       "not a number",
                       names[i]);
            return NULL;
        }
        p = scan_uint(p, &v[i]);
    }
    while (is_blank(*p)) p++;
    if (!is_eol(p)) {
        *rc = perr(P, SLIDE_EFORMAT, p, "bad header: trailing text after 'N D L'");
        return NULL;
    }
    if (v[1] < 1 || v[1] > INT32_MAX || v[2] < 1 || v[2] > INT32_MAX) {
        *rc = perr(P, SLIDE_ERANGE, start,
                   "bad header: D and L must be between 1 and %d", INT32_MAX);
        return NULL;
    }
    if (v[0] >= ID_SAT) {
        *rc = perr(P, SLIDE_ERANGE, start, "bad header: N is absurdly large");
        return NULL;
    }
    P->n = (int64_t)v[0];
    P->d = (int64_t)v[1];
    P->l = (int64_t)v[2];
    *rc = SLIDE_OK;
    return p + (*p == '\r' ? 2 : 1);
}

/* Asks for transparent hugepages on the 2 MB-aligned interior of a big array: the arrays are
 * written once front to back, and 4 KB page faults were a third of the parse time on a VM. */
static void advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    const uintptr_t H = (uintptr_t)2 << 20;
    if (!p || bytes < 2 * H) return;
    uintptr_t a = ((uintptr_t)p + H - 1) & ~(H - 1), e = ((uintptr_t)p + bytes) & ~(H - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static void parser_free(parser *P) {
    free(P->row_ptr);
    free(P->lab_ptr);
    free(P->feat);
    free(P->val);
    free(P->lab);
    free(P->scratch);
}

/* Allocates the outputs once the header is known; body_bytes bounds the number of lines. */
static int parser_alloc(parser *P, size_t body_bytes) {
    size_t rows = (size_t)P->n;
    if (rows > body_bytes + 1) rows = body_bytes + 1; /* more would be an error anyway */
    P->rows_cap = rows + 1;
    P->row_ptr = malloc(P->rows_cap * sizeof *P->row_ptr);
    P->lab_ptr = malloc(P->rows_cap * sizeof *P->lab_ptr);
    P->feat_cap = body_bytes / 10 + 64;
    P->lab_cap = body_bytes / 40 + 64;
    P->feat = malloc(P->feat_cap * sizeof *P->feat);
    P->val = malloc(P->feat_cap * sizeof *P->val);
    P->lab = malloc(P->lab_cap * sizeof *P->lab);
    if (!P->row_ptr || !P->lab_ptr || !P->feat || !P->val || !P->lab)
        return slide_err_set(P->err, SLIDE_ENOMEM, 1,
                             "%s: out of memory allocating a data set of %lld points", P->name,
                             (long long)P->n);
    advise_huge(P->feat, P->feat_cap * sizeof *P->feat);
    advise_huge(P->val, P->feat_cap * sizeof *P->val);
    advise_huge(P->lab, P->lab_cap * sizeof *P->lab);
    P->row_ptr[0] = 0;
    P->lab_ptr[0] = 0;
    return SLIDE_OK;
}

int slide_data_parse(slide_data *ds, const char *buf, size_t len, const char *name,
                     slide_err *err) {
    memset(ds, 0, sizeof *ds);
    slide_err_clear(err);
    if (!name) name = "(memory)";
    if (!buf && len) return slide_err_set(err, SLIDE_EINVAL, 0, "%s: NULL buffer", name);
    parser P;
    memset(&P, 0, sizeof P);
    P.name = name;
    P.err = err;
    P.line = 1;
    if (len == 0)
        return slide_err_set(err, SLIDE_EFORMAT, 1,
                             "%s:1: empty file, expected the header 'N D L' (found end of file)",
                             name);

    /* [b, body_end) holds whole lines; the rest (no final newline) goes to a copy ending in '\n' */
    const uchar *b = (const uchar *)buf;
    const uchar *nl = memrchr(b, '\n', len);
    const uchar *body_end = nl ? nl + 1 : b;
    size_t tail_len = (size_t)(b + len - body_end);
    uchar *tail = NULL;
    if (tail_len) {
        tail = malloc(tail_len + 2);
        if (!tail)
            return slide_err_set(err, SLIDE_ENOMEM, 0, "%s: out of memory for the last line",
                                 name);
        memcpy(tail, body_end, tail_len);
        tail[tail_len] = '\n';
        tail[tail_len + 1] = '\0';
    }
    const uchar *p = b, *end = body_end;
    int rc = SLIDE_OK, in_tail = 0;
    if (p == end) { /* no newline at all: the header is the tail */
        p = tail;
        end = tail + tail_len + 1;
        in_tail = 1;
    }

    p = parse_header(&P, p, &rc);
    if (rc) goto fail;
    if ((rc = parser_alloc(&P, len))) goto fail;

    for (;;) {
        if (p == end && !in_tail && tail) {
            p = tail;
            end = tail + tail_len + 1;
            in_tail = 1;
        }
        if (p == end) break;
        P.line++;
        if (P.npts == P.n) {
            rc = perr(&P, SLIDE_EFORMAT, is_eol(p) ? NULL : p,
                      "more lines than the header's N=%lld%s", (long long)P.n,
                      is_eol(p) ? " (found an empty line; an empty line is a point without "
                                  "labels and features)"
                                : "");
            goto fail;
        }
        p = parse_point(&P, p, &rc);
        if (rc) goto fail;
    }
    if (P.npts < P.n) {
        P.line++;
        rc = slide_err_set(err, SLIDE_EFORMAT, P.line,
                           "%s:%ld: file ends after %lld points but the header says N=%lld "
                           "(found end of file)",
                           name, P.line, (long long)P.npts, (long long)P.n);
        goto fail;
    }
    free(tail);
    free(P.scratch);
    ds->n = P.n;
    ds->d = P.d;
    ds->l = P.l;
    ds->nnz = (int64_t)P.nnz;
    ds->nlab = (int64_t)P.nlab;
    ds->row_ptr = P.row_ptr;
    ds->lab_ptr = P.lab_ptr;
    /* give back the unused part of the growable arrays (a failed shrink keeps the old block) */
    int32_t *f = realloc(P.feat, (P.nnz ? P.nnz : 1) * sizeof *f);
    float *v = realloc(P.val, (P.nnz ? P.nnz : 1) * sizeof *v);
    int32_t *a = realloc(P.lab, (P.nlab ? P.nlab : 1) * sizeof *a);
    ds->feat = f ? f : P.feat;
    ds->val = v ? v : P.val;
    ds->lab = a ? a : P.lab;
    return SLIDE_OK;

fail:
    free(tail);
    parser_free(&P);
    memset(ds, 0, sizeof *ds);
    return rc;
}

/* ================================================================ files */

/* Reads a whole file into a malloc'd buffer. Errors are EIO naming the path. */
static int read_whole(const char *path, char **out, size_t *out_len, slide_err *err) {
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: is a directory, expected a file", path);
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : (size_t)1 << 20, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "%s: out of memory reading %zu bytes", path,
                             cap);
    }
    for (;;) {
        if (len == cap) {
            size_t nc = cap * 2;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                close(fd);
                return slide_err_set(err, SLIDE_ENOMEM, 0, "%s: out of memory reading", path);
            }
            buf = nb;
            cap = nc;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return slide_err_set(err, SLIDE_EIO, 0, "%s: read error: %s", path, strerror(e));
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    *out = buf;
    *out_len = len;
    return SLIDE_OK;
}

/* ================================================================ binary cache */
/* Layout (native little-endian):
 *   0 "SLIDEDS1"  8 u32 version  12 u32 byte-order tag 0x01020304
 *  16 n  24 d  32 l  40 nnz  48 nlab  56 source size  64 source mtime (ns)   (int64 each;
 *     source fields are -1 when the cache was not written from a text file by slide_data_load)
 *  72 row_ptr[n+1] lab_ptr[n+1] (int64), feat[nnz] (int32), val[nnz] (float), lab[nlab] (int32)
 * end u64 checksum of everything before it (4-lane xor-multiply, see cache_hash). */

#define CACHE_MAGIC "SLIDEDS1"
#define CACHE_VERSION 1u
#define CACHE_BOM 0x01020304u
#define CACHE_HDR 72
#define CACHE_HINT "delete it to rebuild"

typedef struct {
    int64_t n, d, l, nnz, nlab, src_size, src_mtime;
} cache_hdr;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Continues a checksum over len bytes. Each lane step (h ^ w) * odd, rotate is a bijection of
 * the lane state, so any single changed word is always detected; lanes keep it ~1 word/cycle. */
static uint64_t cache_hash(uint64_t seed, const void *data, size_t len) {
    const uint64_t K = 0x9E3779B97F4A7C15ULL;
    const uchar *p = data;
    uint64_t h[4] = {seed ^ 0x243F6A8885A308D3ULL, seed ^ 0x13198A2E03707344ULL,
                     seed ^ 0xA4093822299F31D0ULL, seed ^ 0x082EFA98EC4E6C89ULL};
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            h[k] = rotl64((h[k] ^ w) * K, 31);
        }
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h[0] = rotl64((h[0] ^ w) * K, 31);
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, p + i, len - i);
        h[1] = rotl64((h[1] ^ w) * K, 31);
    }
    uint64_t r = seed ^ (uint64_t)len;
    for (int k = 0; k < 4; k++) r = (r ^ slide_mix64(h[k])) * K;
    return slide_mix64(r);
}

static void put64(uchar *p, int64_t v) { memcpy(p, &v, 8); }
static int64_t get64(const uchar *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void cache_hdr_encode(uchar hdr[CACHE_HDR], const cache_hdr *h) {
    uint32_t ver = CACHE_VERSION, bom = CACHE_BOM;
    memcpy(hdr, CACHE_MAGIC, 8);
    memcpy(hdr + 8, &ver, 4);
    memcpy(hdr + 12, &bom, 4);
    put64(hdr + 16, h->n);
    put64(hdr + 24, h->d);
    put64(hdr + 32, h->l);
    put64(hdr + 40, h->nnz);
    put64(hdr + 48, h->nlab);
    put64(hdr + 56, h->src_size);
    put64(hdr + 64, h->src_mtime);
}

/* Checks the header (avail bytes of it at buf) against the total file length; fills h. */
static int cache_hdr_check(const uchar *buf, size_t avail, uint64_t total, const char *name,
                           cache_hdr *h, slide_err *err) {
    size_t m = avail < 8 ? avail : 8;
    if (m && memcmp(buf, CACHE_MAGIC, m) != 0)
        return slide_err_set(err, SLIDE_EVERSION, 0,
                             "%s: not a slidebench data cache (bad magic) - " CACHE_HINT, name);
    if (avail < CACHE_HDR)
        return slide_err_set(err, SLIDE_EFORMAT, 0,
                             "%s: cache truncated (%zu bytes, header alone needs %d) - " CACHE_HINT,
                             name, avail, CACHE_HDR);
    uint32_t ver, bom;
    memcpy(&ver, buf + 8, 4);
    memcpy(&bom, buf + 12, 4);
    if (bom != CACHE_BOM)
        return slide_err_set(err, SLIDE_EVERSION, 0,
                             "%s: cache written with another byte order - " CACHE_HINT, name);
    if (ver != CACHE_VERSION)
        return slide_err_set(err, SLIDE_EVERSION, 0,
                             "%s: cache version %u, this build reads version %u - " CACHE_HINT,
                             name, ver, CACHE_VERSION);
    h->n = get64(buf + 16);
    h->d = get64(buf + 24);
    h->l = get64(buf + 32);
    h->nnz = get64(buf + 40);
    h->nlab = get64(buf + 48);
    h->src_size = get64(buf + 56);
    h->src_mtime = get64(buf + 64);
    /* each count is bounded by the file length first, so the size sum cannot overflow */
    if (h->n < 0 || h->d < 1 || h->d > INT32_MAX || h->l < 1 || h->l > INT32_MAX || h->nnz < 0 ||
        h->nlab < 0 || (uint64_t)h->n > total / 16 || (uint64_t)h->nnz > total / 8 ||
        (uint64_t)h->nlab > total / 4)
        return slide_err_set(err, SLIDE_EFORMAT, 0,
                             "%s: cache corrupted: impossible sizes n=%lld d=%lld l=%lld nnz=%lld "
                             "nlab=%lld for %llu bytes - " CACHE_HINT,
                             name, (long long)h->n, (long long)h->d, (long long)h->l,
                             (long long)h->nnz, (long long)h->nlab, (unsigned long long)total);
    uint64_t want = CACHE_HDR + 16 * ((uint64_t)h->n + 1) + 8 * (uint64_t)h->nnz +
                    4 * (uint64_t)h->nlab + 8;
    if (want != total)
        return slide_err_set(err, SLIDE_EFORMAT, 0,
                             "%s: cache size %llu bytes, its header implies %llu (truncated?) - "
                             CACHE_HINT,
                             name, (unsigned long long)total, (unsigned long long)want);
    return SLIDE_OK;
}

static uint64_t cache_sum(const uchar hdr[CACHE_HDR], const slide_data *ds) {
    uint64_t h = cache_hash(0, hdr, CACHE_HDR);
    size_t rows = (size_t)ds->n + 1;
    h = cache_hash(h, ds->row_ptr, rows * sizeof *ds->row_ptr);
    h = cache_hash(h, ds->lab_ptr, rows * sizeof *ds->lab_ptr);
    h = cache_hash(h, ds->feat, (size_t)ds->nnz * sizeof *ds->feat);
    h = cache_hash(h, ds->val, (size_t)ds->nnz * sizeof *ds->val);
    h = cache_hash(h, ds->lab, (size_t)ds->nlab * sizeof *ds->lab);
    return h;
}

/* CSR invariants of one index array: starts at 0, never decreases, ends at total; the ids of
 * each row strictly increase (sorted, no duplicates) and lie in [0, limit). */
static int check_csr(const int64_t *ptr, const int32_t *ids, int64_t n, int64_t total,
                     int64_t limit, const char *what, const char *name, slide_err *err) {
    if (ptr[0] != 0 || ptr[n] != total)
        return slide_err_set(err, SLIDE_EFORMAT, 0,
                             "%s: cache corrupted: %s offsets do not span 0..%lld - " CACHE_HINT,
                             name, what, (long long)total);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = ptr[i], b = ptr[i + 1];
        if (b < a || b > total)
            return slide_err_set(err, SLIDE_EFORMAT, 0,
                                 "%s: cache corrupted: %s offsets of point %lld not monotone - "
                                 CACHE_HINT,
                                 name, what, (long long)i);
        int64_t prev = -1;
        for (int64_t j = a; j < b; j++) {
            int64_t id = ids[j];
            if (id <= prev || id >= limit)
                return slide_err_set(err, SLIDE_EFORMAT, 0,
                                     "%s: cache corrupted: point %lld has %s id %lld (unsorted, "
                                     "duplicate or >= %lld) - " CACHE_HINT,
                                     name, (long long)i, what, (long long)id, (long long)limit);
            prev = id;
        }
    }
    return SLIDE_OK;
}

/* Checksum and content validation once the arrays are in ds. */
static int cache_body_check(const uchar hdr[CACHE_HDR], const slide_data *ds, uint64_t stored,
                            const char *name, slide_err *err) {
    if (cache_sum(hdr, ds) != stored)
        return slide_err_set(err, SLIDE_EFORMAT, 0,
                             "%s: cache corrupted (checksum mismatch) - " CACHE_HINT, name);
    int rc = check_csr(ds->row_ptr, ds->feat, ds->n, ds->nnz, ds->d, "feature", name, err);
    if (rc) return rc;
    rc = check_csr(ds->lab_ptr, ds->lab, ds->n, ds->nlab, ds->l, "label", name, err);
    if (rc) return rc;
    for (int64_t j = 0; j < ds->nnz; j++)
        if (!isfinite(ds->val[j]))
            return slide_err_set(err, SLIDE_EFORMAT, 0,
                                 "%s: cache corrupted: non-finite value at nonzero %lld - "
                                 CACHE_HINT,
                                 name, (long long)j);
    return SLIDE_OK;
}

static int cache_alloc(slide_data *ds, const cache_hdr *h, const char *name, slide_err *err) {
    int rc = slide_data_alloc(ds, h->n, h->d, h->l, h->nnz, h->nlab, err);
    if (rc)
        slide_err_set(err, rc, 0, "%s: cannot hold the cached data set (n=%lld, nnz=%lld): %s",
                      name, (long long)h->n, (long long)h->nnz, slide_status_name(rc));
    if (rc == SLIDE_OK) {
        advise_huge(ds->row_ptr, ((size_t)h->n + 1) * sizeof *ds->row_ptr);
        advise_huge(ds->lab_ptr, ((size_t)h->n + 1) * sizeof *ds->lab_ptr);
        advise_huge(ds->feat, (size_t)h->nnz * sizeof *ds->feat);
        advise_huge(ds->val, (size_t)h->nnz * sizeof *ds->val);
        advise_huge(ds->lab, (size_t)h->nlab * sizeof *ds->lab);
    }
    return rc;
}

int slide_data_cache_parse(slide_data *ds, const void *buf, size_t len, const char *name,
                           slide_err *err) {
    memset(ds, 0, sizeof *ds);
    slide_err_clear(err);
    if (!name) name = "(memory)";
    if (!buf && len) return slide_err_set(err, SLIDE_EINVAL, 0, "%s: NULL buffer", name);
    const uchar *b = buf;
    cache_hdr h;
    int rc = cache_hdr_check(b, len < CACHE_HDR ? len : CACHE_HDR, len, name, &h, err);
    if (rc) return rc;
    if ((rc = cache_alloc(ds, &h, name, err))) return rc;
    size_t rows = (size_t)h.n + 1, off = CACHE_HDR;
    memcpy(ds->row_ptr, b + off, rows * 8);
    off += rows * 8;
    memcpy(ds->lab_ptr, b + off, rows * 8);
    off += rows * 8;
    memcpy(ds->feat, b + off, (size_t)h.nnz * 4);
    off += (size_t)h.nnz * 4;
    memcpy(ds->val, b + off, (size_t)h.nnz * 4);
    off += (size_t)h.nnz * 4;
    memcpy(ds->lab, b + off, (size_t)h.nlab * 4);
    off += (size_t)h.nlab * 4;
    uint64_t stored;
    memcpy(&stored, b + off, 8);
    if ((rc = cache_body_check(b, ds, stored, name, err))) slide_data_free(ds);
    return rc;
}

static int read_full(int fd, void *dst, size_t n) {
    uchar *p = dst;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads the cache straight into the arrays (no intermediate copy). */
static int cache_load_hdr(slide_data *ds, const char *path, cache_hdr *hout, slide_err *err) {
    memset(ds, 0, sizeof *ds);
    slide_err_clear(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = SLIDE_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: not a regular file", path);
    }
    uchar hdr[CACHE_HDR];
    size_t avail = (size_t)st.st_size < CACHE_HDR ? (size_t)st.st_size : CACHE_HDR;
    if (read_full(fd, hdr, avail) != 0) {
        close(fd);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: read error", path);
    }
    cache_hdr h;
    if ((rc = cache_hdr_check(hdr, avail, (uint64_t)st.st_size, path, &h, err)) ||
        (rc = cache_alloc(ds, &h, path, err))) {
        close(fd);
        return rc;
    }
    size_t rows = (size_t)h.n + 1;
    uint64_t stored = 0;
    if (read_full(fd, ds->row_ptr, rows * 8) || read_full(fd, ds->lab_ptr, rows * 8) ||
        read_full(fd, ds->feat, (size_t)h.nnz * 4) || read_full(fd, ds->val, (size_t)h.nnz * 4) ||
        read_full(fd, ds->lab, (size_t)h.nlab * 4) || read_full(fd, &stored, 8))
        rc = slide_err_set(err, SLIDE_EIO, 0, "%s: read error or file shrank while reading - "
                           CACHE_HINT, path);
    close(fd);
    if (!rc) rc = cache_body_check(hdr, ds, stored, path, err);
    if (rc) {
        slide_data_free(ds);
        return rc;
    }
    if (hout) *hout = h;
    return SLIDE_OK;
}

int slide_data_cache_load(slide_data *ds, const char *path, slide_err *err) {
    if (!path || !*path) {
        memset(ds, 0, sizeof *ds);
        return slide_err_set(err, SLIDE_EIO, 0, "'': empty cache file name");
    }
    return cache_load_hdr(ds, path, NULL, err);
}

static int write_full(FILE *f, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, f) == n; }

static int cache_save_src(const slide_data *ds, const char *path, int64_t src_size,
                          int64_t src_mtime, slide_err *err) {
    slide_err_clear(err);
    if (!path || !*path) return slide_err_set(err, SLIDE_EIO, 0, "'': empty cache file name");
    if (!ds || ds->n < 0 || ds->d < 1 || ds->l < 1 || !ds->row_ptr || !ds->lab_ptr ||
        ds->row_ptr[ds->n] != ds->nnz || ds->lab_ptr[ds->n] != ds->nlab ||
        (ds->nnz && (!ds->feat || !ds->val)) || (ds->nlab && !ds->lab))
        return slide_err_set(err, SLIDE_EINVAL, 0, "%s: refusing to cache an inconsistent data set",
                             path);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return slide_err_set(err, SLIDE_ENOMEM, 0, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot create a temp file: %s", path,
                             strerror(e));
    }
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot write", path);
    }
    cache_hdr h = {ds->n, ds->d, ds->l, ds->nnz, ds->nlab, src_size, src_mtime};
    uchar hdr[CACHE_HDR];
    cache_hdr_encode(hdr, &h);
    uint64_t sum = cache_sum(hdr, ds);
    size_t rows = (size_t)ds->n + 1;
    int ok = write_full(f, hdr, CACHE_HDR) && write_full(f, ds->row_ptr, rows * 8) &&
             write_full(f, ds->lab_ptr, rows * 8) && write_full(f, ds->feat, (size_t)ds->nnz * 4) &&
             write_full(f, ds->val, (size_t)ds->nnz * 4) &&
             write_full(f, ds->lab, (size_t)ds->nlab * 4) && write_full(f, &sum, 8);
    ok &= fclose(f) == 0;
    if (!ok) {
        unlink(tmp);
        free(tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: write failed (disk full?)", path);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot rename the temp file into place: %s",
                             path, strerror(e));
    }
    free(tmp);
    return SLIDE_OK;
}

int slide_data_cache_save(const slide_data *ds, const char *path, slide_err *err) {
    return cache_save_src(ds, path, -1, -1, err);
}

/* ================================================================ load */

static int64_t mtime_ns(const struct stat *st) {
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + (int64_t)st->st_mtim.tv_nsec;
}

/* The cache is used when it is at least as new as the text, validates, and (when it recorded
 * its source) was made from a text file of the same size and mtime. */
static int try_cache(slide_data *ds, const char *cpath, const struct stat *tst) {
    struct stat cst;
    if (stat(cpath, &cst) != 0 || !S_ISREG(cst.st_mode) || mtime_ns(&cst) < mtime_ns(tst)) return 0;
    slide_err cerr;
    cache_hdr h;
    if (cache_load_hdr(ds, cpath, &h, &cerr) != SLIDE_OK) return 0;
    if (h.src_size >= 0 && (h.src_size != (int64_t)tst->st_size || h.src_mtime != mtime_ns(tst))) {
        slide_data_free(ds);
        return 0;
    }
    return 1;
}

int slide_data_load(slide_data *ds, const char *path, const slide_data_opts *opt, slide_err *err) {
    memset(ds, 0, sizeof *ds);
    slide_err_clear(err);
    slide_data_opts def = slide_data_opts_default();
    if (!opt) opt = &def;
    if (!path || !*path) return slide_err_set(err, SLIDE_EIO, 0, "'': empty data file name");
    struct stat st;
    if (stat(path, &st) != 0)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return slide_err_set(err, SLIDE_EIO, 0, "%s: is a directory, expected a data file", path);

    char *cpath = NULL;
    if (opt->cache == SLIDE_CACHE_AUTO || opt->cache == SLIDE_CACHE_READONLY) {
        if (opt->cache_path && *opt->cache_path) {
            cpath = strdup(opt->cache_path);
        } else {
            size_t n = strlen(path);
            cpath = malloc(n + 6);
            if (cpath) {
                memcpy(cpath, path, n);
                memcpy(cpath + n, ".sbin", 6);
            }
        }
        if (!cpath) return slide_err_set(err, SLIDE_ENOMEM, 0, "%s: out of memory", path);
    }

    int rc = SLIDE_OK;
    if (!(cpath && try_cache(ds, cpath, &st))) {
        char *buf;
        size_t len;
        if ((rc = read_whole(path, &buf, &len, err))) goto done;
        rc = slide_data_parse(ds, buf, len, path, err);
        free(buf);
        if (rc) goto done;
        if (opt->cache == SLIDE_CACHE_AUTO) {
            slide_err ignored; /* a cache that cannot be written only costs speed next time */
            (void)cache_save_src(ds, cpath, (int64_t)st.st_size, mtime_ns(&st), &ignored);
        }
    }
    if (opt->expect_d > 0 && ds->d != opt->expect_d) {
        rc = slide_err_set(err, SLIDE_EINVAL, 1,
                           "%s: header says D=%lld but the training set has D=%lld", path,
                           (long long)ds->d, (long long)opt->expect_d);
    } else if (opt->expect_l > 0 && ds->l != opt->expect_l) {
        rc = slide_err_set(err, SLIDE_EINVAL, 1,
                           "%s: header says L=%lld but the training set has L=%lld", path,
                           (long long)ds->l, (long long)opt->expect_l);
    }
    if (rc) {
        slide_data_free(ds);
        goto done;
    }
    if (opt->normalize) slide_data_normalize(ds);
done:
    free(cpath);
    return rc;
}
