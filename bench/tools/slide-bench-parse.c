/* slide-bench-parse: parse speed of the XC text reader (from memory, file reading excluded) and
 * load speed through the binary cache; median of repetitions after a warm-up, rows to CSV. */
#include "slide/data.h"
#include "slide/rng.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CSV_HEADER "utc,host,bench,bytes,rep,seconds,mb_per_s"

typedef struct {
    const char *file, *csv, *tmpdir;
    double size_mb;
    int reps, nnz, labels;
    int64_t d, l;
    uint64_t seed;
} bench_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-bench-parse [options]\n"
            "  --file PATH     benchmark this XC text file instead of a generated one\n"
            "  --size-mb X     size of the generated file in MB (default 200)\n"
            "  --nnz K         nonzeros per generated point (default 76)\n"
            "  --labels K      labels per generated point (default 5)\n"
            "  --reps N        timed repetitions after one warm-up (default 5)\n"
            "  --csv PATH      append rows here (default results/bench_parse.csv; written to a\n"
            "                  temp file and renamed; earlier rows with the same header are kept)\n"
            "  --tmpdir DIR    where the generated text and the cache go (default $TMPDIR or /tmp)\n"
            "  --seed S        generator seed (default 1)\n"
            "  -h, --help      this text\n"
            "Times slide_data_parse on the text held in memory and slide_data_load through the\n"
            "binary cache (file read included, page cache warm). Reports median MB/s.\n"
            "Set OMP_NUM_THREADS=1 for the single-core figure.\n");
}

/* Writes v in decimal at p; returns the end. */
static char *put_uint(char *p, uint32_t v) {
    char t[12];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = t[--n];
    return p;
}

static void sort_u32(uint32_t *a, int k) {
    for (int i = 1; i < k; i++) {
        uint32_t x = a[i];
        int j = i;
        for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* k distinct sorted ids below n. */
static void draw_ids(slide_rng *r, uint32_t *ids, int k, uint32_t n) {
    for (int i = 0; i < k; i++) {
        for (;;) {
            uint32_t x = slide_rng_below(r, n);
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= ids[j] == x;
            if (!dup) {
                ids[i] = x;
                break;
            }
        }
    }
    sort_u32(ids, k);
}

/* Generates an XC text of about target bytes with Amazon-670K-like ids and values 0.dddddd. */
static char *generate(const bench_opts *o, size_t *out_len, int64_t *out_n) {
    size_t target = (size_t)(o->size_mb * 1e6);
    size_t line_max = (size_t)o->labels * 12 + (size_t)o->nnz * 24 + 8;
    size_t cap = target + line_max + 64;
    char *body = malloc(cap);
    uint32_t *ids = malloc(sizeof *ids * (size_t)(o->nnz > o->labels ? o->nnz : o->labels));
    if (!body || !ids) {
        free(body);
        free(ids);
        return NULL;
    }
    slide_rng r;
    slide_rng_seed(&r, o->seed, 0);
    char *p = body;
    int64_t n = 0;
    while ((size_t)(p - body) < target) {
        draw_ids(&r, ids, o->labels, (uint32_t)o->l);
        for (int j = 0; j < o->labels; j++) {
            if (j) *p++ = ',';
            p = put_uint(p, ids[j]);
        }
        draw_ids(&r, ids, o->nnz, (uint32_t)o->d);
        for (int j = 0; j < o->nnz; j++) {
            *p++ = ' ';
            p = put_uint(p, ids[j]);
            /* realistic tf-idf-like value: 0.dddddd */
            uint32_t v = 1 + slide_rng_below(&r, 999999);
            memcpy(p, ":0.", 3);
            p += 3;
            for (int q = 5; q >= 0; q--) {
                p[q] = (char)('0' + v % 10);
                v /= 10;
            }
            p += 6;
        }
        *p++ = '\n';
        n++;
    }
    free(ids);
    size_t blen = (size_t)(p - body);
    char head[96];
    int hl = snprintf(head, sizeof head, "%lld %lld %lld\n", (long long)n, (long long)o->d,
                      (long long)o->l);
    char *all = malloc(blen + (size_t)hl);
    if (!all) {
        free(body);
        return NULL;
    }
    memcpy(all, head, (size_t)hl);
    memcpy(all + hl, body, blen);
    free(body);
    *out_len = blen + (size_t)hl;
    *out_n = n;
    return all;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return NULL;
    }
    char *b = malloc((size_t)st.st_size + 1);
    if (!b || fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)st.st_size;
    return b;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double *s = malloc(sizeof *s * (size_t)n);
    memcpy(s, v, sizeof *s * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_dbl);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static int same_ds(const slide_data *a, const slide_data *b) {
    size_t r = (size_t)a->n + 1;
    return a->n == b->n && a->nnz == b->nnz && a->nlab == b->nlab &&
           !memcmp(a->row_ptr, b->row_ptr, r * 8) && !memcmp(a->lab_ptr, b->lab_ptr, r * 8) &&
           !memcmp(a->feat, b->feat, (size_t)a->nnz * 4) && !memcmp(a->val, b->val, (size_t)a->nnz * 4) &&
           !memcmp(a->lab, b->lab, (size_t)a->nlab * 4);
}

/* Writes the rows to csv: existing rows (when the header matches) + new ones, temp + rename. */
static int write_csv(const char *csv, const char *rows) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", csv, (int)getpid()) >= (int)sizeof tmp) return -1;
    FILE *out = fopen(tmp, "w");
    if (!out && errno == ENOENT) { /* results/ not there yet: create the parent folder */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", csv);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            (void)mkdir(dir, 0755);
            out = fopen(tmp, "w");
        }
    }
    if (!out) {
        fprintf(stderr, "slide-bench-parse: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fprintf(out, "%s\n", CSV_HEADER);
    size_t olen;
    char *old = slurp(csv, &olen);
    if (old) {
        old[olen] = '\0';
        size_t hl = strlen(CSV_HEADER);
        if (olen > hl && !strncmp(old, CSV_HEADER, hl) && old[hl] == '\n') {
            fputs(old + hl + 1, out);
            if (old[olen - 1] != '\n') fputc('\n', out);
        } else {
            fprintf(stderr, "slide-bench-parse: note: %s has another header; starting it afresh\n",
                    csv);
        }
        free(old);
    }
    fputs(rows, out);
    int bad = ferror(out);
    bad |= fclose(out) != 0;
    if (bad || rename(tmp, csv) != 0) {
        fprintf(stderr, "slide-bench-parse: cannot write %s\n", csv);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, bench_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "slide-bench-parse: unknown option or missing value: '%s'\n", a);
            return -1;
        }
        const char *v = argv[++i];
        char *end = NULL;
        if (!strcmp(a, "--file")) o->file = v;
        else if (!strcmp(a, "--csv")) o->csv = v;
        else if (!strcmp(a, "--tmpdir")) o->tmpdir = v;
        else if (!strcmp(a, "--size-mb")) o->size_mb = strtod(v, &end);
        else if (!strcmp(a, "--reps")) o->reps = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--nnz")) o->nnz = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--labels")) o->labels = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, &end, 10);
        else {
            fprintf(stderr, "slide-bench-parse: unknown option '%s'\n", a);
            return -1;
        }
        if (end && (*end || end == v)) {
            fprintf(stderr, "slide-bench-parse: bad number for %s: '%s'\n", a, v);
            return -1;
        }
    }
    if (o->size_mb <= 0 || o->size_mb > 1e5 || o->reps < 1 || o->reps > 1000 || o->nnz < 1 ||
        o->nnz > 10000 || o->labels < 0 || o->labels > 1000) {
        fprintf(stderr, "slide-bench-parse: option out of range (size-mb > 0, 1 <= reps <= 1000, "
                        "1 <= nnz <= 10000, 0 <= labels <= 1000)\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_opts o = {NULL, "results/bench_parse.csv", NULL, 200, 5, 76, 5, 135909, 670091, 1};
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (!o.tmpdir) o.tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

    char utc[32], host[256] = "unknown";
    time_t now = time(NULL);
    strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (gethostname(host, sizeof host) != 0) strcpy(host, "unknown");
    host[sizeof host - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == ',' || *c == '"' || *c == '\n') *c = '_';

    /* the text: generated (and written to a temp file for the cache path) or read */
    char txt_path[4096], cache_path[4200];
    int generated = o.file == NULL;
    size_t len = 0;
    char *text;
    double t0 = slide_now();
    if (generated) {
        int64_t n;
        text = generate(&o, &len, &n);
        if (!text) {
            fprintf(stderr, "slide-bench-parse: out of memory generating %.0f MB\n", o.size_mb);
            return 1;
        }
        snprintf(txt_path, sizeof txt_path, "%s/slide-bench-parse-%d.txt", o.tmpdir, (int)getpid());
        FILE *f = fopen(txt_path, "wb");
        int ok = f && fwrite(text, 1, len, f) == len;
        if (f) ok &= fclose(f) == 0;
        if (!ok) {
            fprintf(stderr, "slide-bench-parse: cannot write %s: %s\n", txt_path, strerror(errno));
            unlink(txt_path);
            free(text);
            return 1;
        }
        fprintf(stderr, "generated %lld points, %.1f MB in %.1f s: %s\n", (long long)n, len / 1e6,
                slide_now() - t0, txt_path);
    } else {
        snprintf(txt_path, sizeof txt_path, "%s", o.file);
        text = slurp(o.file, &len);
        if (!text) {
            fprintf(stderr, "slide-bench-parse: cannot read %s\n", o.file);
            return 1;
        }
    }
    snprintf(cache_path, sizeof cache_path, "%s/slide-bench-parse-%d.sbin", o.tmpdir, (int)getpid());

    int rc = 1;
    size_t rcap = (size_t)o.reps * 2 * (strlen(host) + 160) + 1, rl = 0;
    char *rows = malloc(rcap);
    double *tp = malloc(sizeof *tp * (size_t)o.reps), *tc = malloc(sizeof *tc * (size_t)o.reps);
    slide_data ref, ds;
    slide_err err;
    memset(&ref, 0, sizeof ref);
    /* parse from memory: warm-up (kept as the reference), then timed repetitions */
    if (slide_data_parse(&ref, text, len, txt_path, &err) != SLIDE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    for (int r = 0; r < o.reps; r++) {
        double a = slide_now();
        int prc = slide_data_parse(&ds, text, len, txt_path, &err);
        tp[r] = slide_now() - a;
        if (prc != SLIDE_OK) {
            fprintf(stderr, "%s\n", err.msg);
            goto out;
        }
        slide_data_free(&ds);
    }
    /* load through the cache: the warm-up writes it, the repetitions read it */
    slide_data_opts lo = slide_data_opts_default();
    lo.cache = SLIDE_CACHE_AUTO;
    lo.cache_path = cache_path;
    if (slide_data_load(&ds, txt_path, &lo, &err) != SLIDE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    slide_data_free(&ds);
    struct stat cst;
    if (stat(cache_path, &cst) != 0) {
        fprintf(stderr, "slide-bench-parse: the cache %s was not written\n", cache_path);
        goto out;
    }
    lo.cache = SLIDE_CACHE_READONLY; /* a stale cache would re-parse: fail loudly instead */
    for (int r = 0; r < o.reps; r++) {
        double a = slide_now();
        int lrc = slide_data_load(&ds, txt_path, &lo, &err);
        tc[r] = slide_now() - a;
        if (lrc != SLIDE_OK) {
            fprintf(stderr, "%s\n", err.msg);
            goto out;
        }
        int same = same_ds(&ref, &ds); /* validation, outside the timed region */
        slide_data_free(&ds);
        if (!same) {
            fprintf(stderr, "slide-bench-parse: cache load differs from the parse\n");
            goto out;
        }
    }
    for (int r = 0; r < o.reps; r++)
        rl += (size_t)snprintf(rows + rl, rcap - rl, "%s,%s,parse,%zu,%d,%.6f,%.2f\n", utc, host,
                               len, r, tp[r], len / 1e6 / tp[r]);
    for (int r = 0; r < o.reps; r++)
        rl += (size_t)snprintf(rows + rl, rcap - rl, "%s,%s,load_cache,%lld,%d,%.6f,%.2f\n", utc,
                               host, (long long)cst.st_size, r, tc[r],
                               (double)cst.st_size / 1e6 / tc[r]);
    double mp = median(tp, o.reps), mc = median(tc, o.reps), best = tp[0];
    for (int r = 1; r < o.reps; r++) best = tp[r] < best ? tp[r] : best;
    printf("parse: %.1f MB text, %lld points, %lld nonzeros: median %.4f s = %.1f MB/s "
           "(best %.1f, %d reps)\n",
           len / 1e6, (long long)ref.n, (long long)ref.nnz, mp, len / 1e6 / mp,
           len / 1e6 / best, o.reps);
    printf("load_cache: %.1f MB cache: median %.4f s = %.1f MB/s of cache, %.1f MB/s of text "
           "equivalent (%.1fx the parse)\n",
           cst.st_size / 1e6, mc, cst.st_size / 1e6 / mc, len / 1e6 / mc, mp / mc);
    rc = write_csv(o.csv, rows) == 0 ? 0 : 1;
    if (rc == 0) printf("rows appended to %s\n", o.csv);
out:
    slide_data_free(&ref);
    unlink(cache_path);
    if (generated) unlink(txt_path);
    free(text);
    free(rows);
    free(tp);
    free(tc);
    return rc;
}
