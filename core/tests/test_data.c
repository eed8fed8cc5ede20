/* Tests for the data reader: good and bad XC text (exact error code and line), CRLF, number
 * forms vs strtod, binary cache roundtrip and corruption, AUTO cache policy, the real Delicious. */
#include "slide/data.h"
#include "slide/rng.h"
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static const char *tpath(const char *name) {
    static char buf[8][512];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    if (len && fwrite(data, 1, len, f) != len) exit(1);
    fclose(f);
}

static char *read_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static int is_zeroed(const slide_data *ds) {
    slide_data z;
    memset(&z, 0, sizeof z);
    return memcmp(ds, &z, sizeof z) == 0;
}

static int parse_s(slide_data *ds, const char *s, slide_err *e) {
    return slide_data_parse(ds, s, strlen(s), "t.txt", e);
}

/* Full structural invariants of a data set (what every successful load must give). */
static int valid_ds(const slide_data *ds) {
    if (ds->n < 0 || ds->row_ptr[0] != 0 || ds->lab_ptr[0] != 0) return 0;
    if (ds->row_ptr[ds->n] != ds->nnz || ds->lab_ptr[ds->n] != ds->nlab) return 0;
    for (int64_t i = 0; i < ds->n; i++) {
        if (ds->row_ptr[i + 1] < ds->row_ptr[i] || ds->lab_ptr[i + 1] < ds->lab_ptr[i]) return 0;
        for (int64_t j = ds->row_ptr[i]; j < ds->row_ptr[i + 1]; j++) {
            if (ds->feat[j] < 0 || ds->feat[j] >= ds->d || !isfinite(ds->val[j])) return 0;
            if (j > ds->row_ptr[i] && ds->feat[j] <= ds->feat[j - 1]) return 0;
        }
        for (int64_t j = ds->lab_ptr[i]; j < ds->lab_ptr[i + 1]; j++) {
            if (ds->lab[j] < 0 || ds->lab[j] >= ds->l) return 0;
            if (j > ds->lab_ptr[i] && ds->lab[j] <= ds->lab[j - 1]) return 0;
        }
    }
    return 1;
}

static int same_ds(const slide_data *a, const slide_data *b) {
    if (a->n != b->n || a->d != b->d || a->l != b->l || a->nnz != b->nnz || a->nlab != b->nlab)
        return 0;
    size_t r = (size_t)a->n + 1;
    return memcmp(a->row_ptr, b->row_ptr, r * 8) == 0 && memcmp(a->lab_ptr, b->lab_ptr, r * 8) == 0 &&
           (a->nnz == 0 || (memcmp(a->feat, b->feat, (size_t)a->nnz * 4) == 0 &&
                            memcmp(a->val, b->val, (size_t)a->nnz * 4) == 0)) &&
           (a->nlab == 0 || memcmp(a->lab, b->lab, (size_t)a->nlab * 4) == 0);
}

/* A bad input must give exactly this code and line, a "t.txt:LINE: " prefix, the given
 * phrase, and leave the data set zeroed. */
static void bad_len(const char *s, size_t len, int code, long line, const char *phrase, int srcline) {
    slide_data ds;
    slide_err e;
    int rc = slide_data_parse(&ds, s, len, "t.txt", &e);
    char pre[64];
    snprintf(pre, sizeof pre, "t.txt:%ld: ", line);
    CHECKF(rc == code && e.code == code && e.line == line,
           "input from line %d: want %s line %ld, got %s line %ld: %s", srcline,
           slide_status_name(code), line, slide_status_name(rc), e.line, rc ? e.msg : "(ok)");
    if (rc) {
        CHECKF(strncmp(e.msg, pre, strlen(pre)) == 0, "line %d: message '%s' lacks prefix '%s'",
               srcline, e.msg, pre);
        CHECKF(!phrase || strstr(e.msg, phrase), "line %d: message '%s' lacks '%s'", srcline,
               e.msg, phrase);
        CHECKF(strstr(e.msg, "(found "), "line %d: message '%s' lacks '(found ...)'", srcline,
               e.msg);
    }
    CHECK(is_zeroed(&ds));
    if (rc == SLIDE_OK) slide_data_free(&ds);
}
#define BAD(s, code, line, phrase) bad_len(s, strlen(s), code, line, phrase, __LINE__)

static void test_good(void) {
    slide_data ds;
    slide_err e;
    const char *txt = "3 10 5\n1,0 3:1.5 1:2\n 4:0.25\n2 9:-1e-3\n";
    CHECK(parse_s(&ds, txt, &e) == SLIDE_OK);
    CHECK(ds.n == 3 && ds.d == 10 && ds.l == 5 && ds.nnz == 4 && ds.nlab == 3);
    CHECK(valid_ds(&ds));
    CHECK(ds.row_ptr[1] == 2 && ds.row_ptr[2] == 3 && ds.row_ptr[3] == 4);
    CHECK(ds.feat[0] == 1 && ds.val[0] == 2.0f && ds.feat[1] == 3 && ds.val[1] == 1.5f);
    CHECK(ds.lab[0] == 0 && ds.lab[1] == 1 && ds.lab_ptr[1] == 2 && ds.lab_ptr[2] == 2);
    CHECK(ds.feat[2] == 4 && ds.val[2] == 0.25f && ds.feat[3] == 9 && ds.val[3] == -0.001f);
    CHECK(ds.lab[2] == 2);

    /* CRLF, missing final newline, tabs and trailing blanks give the same data */
    const char *variants[] = {
        "3 10 5\r\n1,0 3:1.5 1:2\r\n 4:0.25\r\n2 9:-1e-3\r\n",
        "3 10 5\n1,0 3:1.5 1:2\n 4:0.25\n2 9:-1e-3",
        "3 10 5\r\n1,0 3:1.5 1:2\r\n 4:0.25\r\n2 9:-1e-3",
        "3\t10  5 \n1,0\t3:1.5  1:2 \n\t4:0.25\t\n2 9:-1e-3 \r\n",
        ("\xEF\xBB\xBF" "3 10 5\n1,0 3:1.5 1:2\n 4:0.25\n2 9:-1e-3\n"),
    };
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        slide_data b;
        int rc = parse_s(&b, variants[v], &e);
        CHECKF(rc == SLIDE_OK, "variant %zu: %s", v, e.msg);
        if (rc == SLIDE_OK) {
            CHECKF(same_ds(&ds, &b), "variant %zu differs", v);
            slide_data_free(&b);
        }
    }
    slide_data_free(&ds);

    /* labels without features; features without labels (no leading blank); empty line */
    CHECK(parse_s(&ds, "4 6 6\n0,1\n3\n2:1 5:2\n\n", &e) == SLIDE_OK);
    CHECK(ds.n == 4 && ds.nnz == 2 && ds.nlab == 3 && valid_ds(&ds));
    CHECK(ds.row_ptr[1] == 0 && ds.row_ptr[2] == 0 && ds.row_ptr[3] == 2 && ds.row_ptr[4] == 2);
    CHECK(ds.lab_ptr[1] == 2 && ds.lab_ptr[2] == 3 && ds.lab_ptr[3] == 3 && ds.lab[2] == 3);
    CHECK(ds.feat[0] == 2 && ds.feat[1] == 5);
    slide_data_free(&ds);
    /* a single label with no features and no final newline */
    CHECK(parse_s(&ds, "1 6 6\n5", &e) == SLIDE_OK && ds.nlab == 1 && ds.lab[0] == 5);
    slide_data_free(&ds);
    /* N = 0 */
    CHECK(parse_s(&ds, "0 5 5\n", &e) == SLIDE_OK && ds.n == 0 && ds.nnz == 0);
    slide_data_free(&ds);
    CHECK(parse_s(&ds, "0 5 5", &e) == SLIDE_OK && ds.n == 0);
    slide_data_free(&ds);
    /* unsorted rows get sorted with their values */
    CHECK(parse_s(&ds, "1 100 100\n9,3,7,1 50:5 10:1 30:3 20:2 40:4\n", &e) == SLIDE_OK);
    CHECK(valid_ds(&ds));
    for (int j = 0; j < 5; j++) CHECK(ds.feat[j] == 10 * (j + 1) && ds.val[j] == (float)(j + 1));
    CHECK(ds.lab[0] == 1 && ds.lab[1] == 3 && ds.lab[2] == 7 && ds.lab[3] == 9);
    slide_data_free(&ds);
    /* a long unsorted row (qsort path) */
    {
        size_t cap = 1 << 20, o = 0;
        char *b = malloc(cap);
        o += (size_t)snprintf(b + o, cap - o, "1 1000 1000\n0");
        for (int k = 999; k >= 0; k -= 3) o += (size_t)snprintf(b + o, cap - o, " %d:%d", k, k);
        b[o++] = '\n';
        CHECK(slide_data_parse(&ds, b, o, "t.txt", &e) == SLIDE_OK && valid_ds(&ds));
        CHECK(ds.nnz == 334 && ds.feat[0] == 0 && ds.val[333] == 999.0f);
        slide_data_free(&ds);
        free(b);
    }
    /* number forms */
    CHECK(parse_s(&ds,
                  "1 20 1\n 0:1 1:1.0 2:.5 3:1e-3 4:-2.5E+2 5:+3 6:0.000123 7:5. 8:-0 "
                  "9:123456789.123456789 10:1e-40 11:00012 12:1E2 13:0.1e1 14:3.4e38 "
                  "15:123456789012345678901234567890 16:1e-400\n",
                  &e) == SLIDE_OK);
    if (ds.nnz == 17) {
        const float want[] = {1, 1, 0.5f, 1e-3f, -250, 3, 0.000123f, 5, 0, 123456789.123456789f,
                              1e-40f, 12, 100, 1, 3.4e38f, 1.2345678901234567e29f, 0};
        for (int j = 0; j < 17; j++) CHECKF(ds.val[j] == want[j], "value %d: %g vs %g", j,
                                            (double)ds.val[j], (double)want[j]);
    } else {
        CHECKF(0, "number forms: %s", e.msg);
    }
    slide_data_free(&ds);
}

/* The fast float parser against strtod on many random values in many printf forms. */
static void test_float_accuracy(void) {
    slide_rng r;
    slide_rng_seed(&r, 7, 0);
    const int k = 20000;
    const char *fmts[] = {"%.6f", "%.6g", "%.9g", "%.17g", "%e", "%.3e", "%.12f", "%g"};
    size_t cap = (size_t)k * 40 + 64, o = 0;
    char *b = malloc(cap);
    double *ref = malloc((size_t)k * sizeof *ref);
    o += (size_t)snprintf(b + o, cap - o, "1 %d 1\n", k);
    for (int i = 0; i < k; i++) {
        double mag = pow(10.0, (double)(int)slide_rng_below(&r, 40) - 20.0);
        double v = (slide_rng_uniform_d(&r) - 0.3) * mag;
        char num[64];
        snprintf(num, sizeof num, fmts[i % 8], v);
        ref[i] = strtod(num, NULL);
        o += (size_t)snprintf(b + o, cap - o, " %d:%s", i, num);
    }
    b[o++] = '\n';
    slide_data ds;
    slide_err e;
    CHECK(slide_data_parse(&ds, b, o, "t.txt", &e) == SLIDE_OK);
    double worst = 0;
    int exact = 0;
    for (int i = 0; i < k && ds.nnz == k; i++) {
        float want = (float)ref[i];
        if (ds.val[i] == want) exact++;
        double rel = want == 0 ? fabs((double)ds.val[i])
                               : fabs((double)ds.val[i] - (double)want) / fabs((double)want);
        if (fabs((double)want) < 1e-37) rel = fabs((double)ds.val[i] - (double)want) * 1e37;
        if (rel > worst) worst = rel;
    }
    fprintf(stderr, "float parser: %d/%d exactly equal to (float)strtod, worst rel err %.3g\n", exact,
            k, worst);
    CHECK(ds.nnz == k);
    CHECK(worst <= 1e-6);
    CHECK(exact >= k - k / 1000);
    slide_data_free(&ds);
    free(b);
    free(ref);
}

static void test_bad(void) {
    BAD("", SLIDE_EFORMAT, 1, "empty file");
    BAD("3 5", SLIDE_EFORMAT, 1, "header");
    BAD("3 5\n", SLIDE_EFORMAT, 1, "header");
    BAD("x 5 5\n", SLIDE_EFORMAT, 1, "header");
    BAD("-1 5 5\n", SLIDE_EFORMAT, 1, "header");
    BAD("3 5 5 7\n", SLIDE_EFORMAT, 1, "trailing");
    BAD("3 5 5x\n", SLIDE_EFORMAT, 1, "trailing");
    BAD("1 0 5\n 1:1\n", SLIDE_ERANGE, 1, "D and L");
    BAD("1 5 0\n 1:1\n", SLIDE_ERANGE, 1, "D and L");
    BAD("1 5 99999999999\n 1:1\n", SLIDE_ERANGE, 1, "D and L");
    BAD("\n", SLIDE_EFORMAT, 1, "header");
    BAD("2 5 5\n", SLIDE_EFORMAT, 2, "header says N=2");
    BAD("2 5 5", SLIDE_EFORMAT, 2, "header says N=2");
    BAD("2 5 5\n0 1:1\n", SLIDE_EFORMAT, 3, "file ends after 1 points");
    BAD("3 5 5\n0 1:1\n1 2:1", SLIDE_EFORMAT, 4, "file ends after 2 points");
    BAD("1 5 5\n0 1:1\n1 2:1\n", SLIDE_EFORMAT, 3, "more lines than");
    BAD("1 5 5\n0 1:1\n\n", SLIDE_EFORMAT, 3, "empty line");
    BAD("1 5 5\r\n0 1:1\r\n\r\n", SLIDE_EFORMAT, 3, "more lines than");
    BAD("0 5 5\n\n", SLIDE_EFORMAT, 2, "more lines than");
    /* duplicates (sorted and unsorted) */
    BAD("1 5 5\n0 1:1 1:2\n", SLIDE_EFORMAT, 2, "duplicate feature id 1");
    BAD("1 5 5\n0 3:1 1:1 3:2\n", SLIDE_EFORMAT, 2, "duplicate feature id 3");
    BAD("1 5 5\n1,1 0:1\n", SLIDE_EFORMAT, 2, "duplicate label 1");
    BAD("2 5 5\n0 0:1\n2,1,2 0:1\n", SLIDE_EFORMAT, 3, "duplicate label 2");
    /* non-finite values */
    BAD("1 5 5\n0 1:nan\n", SLIDE_EFORMAT, 2, "not a finite number");
    BAD("1 5 5\n0 1:NaN\n", SLIDE_EFORMAT, 2, "not a finite number");
    BAD("1 5 5\n0 1:inf\n", SLIDE_EFORMAT, 2, "not a finite number");
    BAD("1 5 5\n0 1:-Infinity\n", SLIDE_EFORMAT, 2, "not a finite number");
    BAD("1 5 5\n0 1:1e999\n", SLIDE_EFORMAT, 2, "not a finite number");
    BAD("1 5 5\n0 1:1e39\n", SLIDE_ERANGE, 2, "float range");
    /* ids out of range */
    BAD("1 5 5\n0 5:1\n", SLIDE_ERANGE, 2, "feature id 5 out of range: must be < D=5");
    BAD("1 5 5\n5 1:1\n", SLIDE_ERANGE, 2, "label id 5 out of range: must be < L=5");
    BAD("2 5 5\n0 1:1\n0,7 1:1\n", SLIDE_ERANGE, 3, "label id 7");
    BAD("1 5 5\n-1 1:1\n", SLIDE_ERANGE, 2, "negative label id");
    BAD("1 5 5\n0 -1:1\n", SLIDE_ERANGE, 2, "negative feature id");
    BAD("1 5 5\n-1:1\n", SLIDE_ERANGE, 2, "negative feature id");
    BAD("1 5 5\n0 99999999999999999999999999:1\n", SLIDE_ERANGE, 2, "feature id (huge)");
    BAD("1 5 5\n0 4294967297:1\n", SLIDE_ERANGE, 2, "4294967297");
    /* malformed numbers and structure */
    BAD("1 5 5\n0 1:abc\n", SLIDE_EFORMAT, 2, "bad number");
    BAD("1 5 5\n0 1:\n", SLIDE_EFORMAT, 2, "bad number");
    BAD("1 5 5\n0 1:.\n", SLIDE_EFORMAT, 2, "bad number");
    BAD("1 5 5\n0 1:-\n", SLIDE_EFORMAT, 2, "bad number");
    BAD("1 5 5\n0 1:1e\n", SLIDE_EFORMAT, 2, "bad number");
    BAD("1 5 5\n0 1:1e+\n", SLIDE_EFORMAT, 2, "bad number");
    BAD("1 5 5\n0 1:0x10\n", SLIDE_EFORMAT, 2, "trailing garbage");
    BAD("1 5 5\n0 1:1.5x\n", SLIDE_EFORMAT, 2, "trailing garbage");
    BAD("1 5 5\n0 1:1.2.3\n", SLIDE_EFORMAT, 2, "trailing garbage");
    BAD("1 5 5\n0 1:1:2\n", SLIDE_EFORMAT, 2, "trailing garbage");
    BAD("1 5 5\n0 1:1,2:1\n", SLIDE_EFORMAT, 2, "trailing garbage");
    BAD("1 5 5\n0 1\n", SLIDE_EFORMAT, 2, "missing ':'");
    BAD("1 5 5\n0 1 2:1\n", SLIDE_EFORMAT, 2, "missing ':'");
    BAD("1 5 5\n0 :1\n", SLIDE_EFORMAT, 2, "expected a feature id");
    BAD("1 5 5\n0 a:1\n", SLIDE_EFORMAT, 2, "expected a feature id");
    BAD("1 5 5\n0 1x:1\n", SLIDE_EFORMAT, 2, "bad feature id");
    BAD("1 5 5\n0,,1 1:1\n", SLIDE_EFORMAT, 2, "empty entry in the label list");
    BAD("1 5 5\n0, 1:1\n", SLIDE_EFORMAT, 2, "empty entry in the label list");
    BAD("1 5 5\n,0 1:1\n", SLIDE_EFORMAT, 2, "label");
    BAD("1 5 5\n0x 1:1\n", SLIDE_EFORMAT, 2, "trailing garbage after a label");
    BAD("1 5 5\n0,1:1\n", SLIDE_EFORMAT, 2, "inside the label list");
    BAD("1 5 5\n0 1:1\r2:1\n", SLIDE_EFORMAT, 2, "trailing garbage");
    BAD("1 5 5\n0 1:1 \r 2:1\n", SLIDE_EFORMAT, 2, "carriage return");
    BAD("1 5 5\r0 1:1\r", SLIDE_EFORMAT, 1, "header");
    BAD("2 5 5\n0 1:1\n1 2:1 3:x\n", SLIDE_EFORMAT, 3, "bad number");
    /* NUL bytes and binary bytes */
    bad_len("1 5 5\n0 1:1\0 2:1\n", 17, SLIDE_EFORMAT, 2, "trailing garbage", __LINE__);
    bad_len("1 5 5\n\0\n", 8, SLIDE_EFORMAT, 2, "label", __LINE__);
    bad_len("1 5\0 5\n", 7, SLIDE_EFORMAT, 1, "header", __LINE__);
    BAD("1 5 5\n0 1:1 \xff\xfe\n", SLIDE_EFORMAT, 2, "\\xff\\xfe");

    /* the message shows the offending token */
    slide_data ds;
    slide_err e;
    CHECK(parse_s(&ds, "2 5 5\n0 1:1\n0 2:1.5q 3:1\n", &e) == SLIDE_EFORMAT);
    CHECKF(strcmp(e.msg, "t.txt:3: trailing garbage after a feature value (found '2:1.5q')") == 0,
           "%s", e.msg);
    CHECK(parse_s(&ds, "1 5 5\n0 1:1 1:2\n", &e) == SLIDE_EFORMAT);
    CHECKF(strcmp(e.msg, "t.txt:2: duplicate feature id 1 in this point (found '1:2')") == 0, "%s",
           e.msg);
    /* a NULL buffer with a length is a caller error */
    CHECK(slide_data_parse(&ds, NULL, 5, "t.txt", &e) == SLIDE_EINVAL);
    /* NULL err is allowed */
    CHECK(slide_data_parse(&ds, "1 5 5\n0 9:1\n", 12, "t.txt", NULL) == SLIDE_ERANGE);
}

/* Random bytes and random mutations of a valid file: never crash, and any success is valid. */
static void test_fuzz(void) {
    slide_rng r;
    slide_rng_seed(&r, 99, 0);
    const char *base = "4 12 7\n1,0 3:1.5 1:2\n 4:0.25 11:1e-3\n6 9:-1\n2,3,5 0:7 10:.5\n";
    size_t blen = strlen(base);
    char buf[256];
    int ok = 0, bad = 0, invalid = 0, nonzeroed = 0;
    for (int it = 0; it < 20000; it++) {
        size_t len;
        if (it % 4 == 0) {
            len = slide_rng_below(&r, 200);
            for (size_t i = 0; i < len; i++) buf[i] = (char)slide_rng_below(&r, 256);
            if (it % 8 == 0 && len > 6) memcpy(buf, "2 9 9\n", 6);
        } else {
            memcpy(buf, base, blen);
            len = blen;
            int muts = 1 + (int)slide_rng_below(&r, 3);
            for (int m = 0; m < muts; m++) {
                size_t pos = slide_rng_below(&r, (uint32_t)len);
                const char alphabet[] = "0123456789 ,:\n\r\t.-+eE\0x";
                buf[pos] = slide_rng_below(&r, 2) ? alphabet[slide_rng_below(&r, sizeof alphabet)]
                                                  : (char)slide_rng_below(&r, 256);
            }
            if (it % 3 == 0) len = slide_rng_below(&r, (uint32_t)len + 1);
        }
        /* copy to an exact-size heap block so ASan catches any read past the end */
        char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        slide_data ds;
        slide_err e;
        int rc = slide_data_parse(&ds, exact, len, "fuzz", &e);
        if (rc == SLIDE_OK) {
            ok++;
            if (!valid_ds(&ds)) invalid++;
            slide_data_free(&ds);
        } else {
            bad++;
            if (!is_zeroed(&ds)) nonzeroed++;
            if (rc != SLIDE_EFORMAT && rc != SLIDE_ERANGE) invalid++;
            if (strncmp(e.msg, "fuzz:", 5) != 0) invalid++;
        }
        free(exact);
    }
    fprintf(stderr, "fuzz: %d parsed, %d rejected\n", ok, bad);
    CHECK(invalid == 0 && nonzeroed == 0 && ok > 100 && bad > 100);
}

static void test_huge_line(void) {
    const int k = 300000;
    size_t cap = (size_t)k * 16 + 64, o = 0;
    char *b = malloc(cap);
    o += (size_t)snprintf(b + o, cap - o, "1 %d 1\n0", k);
    for (int i = 0; i < k; i++) o += (size_t)snprintf(b + o, cap - o, " %d:0.%06d", i, i % 999983);
    slide_data ds;
    slide_err e;
    CHECK(slide_data_parse(&ds, b, o, "t.txt", &e) == SLIDE_OK); /* no final newline */
    CHECK(ds.nnz == k && valid_ds(&ds));
    slide_data_free(&ds);
    /* a 1 MB line of digits as one feature id, then as a value */
    size_t m = 1 << 20;
    char *g = malloc(m + 64);
    o = (size_t)snprintf(g, 64, "1 5 5\n0 ");
    memset(g + o, '7', m);
    o += m;
    CHECK(slide_data_parse(&ds, g, o, "t.txt", &e) == SLIDE_ERANGE && e.line == 2);
    o = (size_t)snprintf(g, 64, "1 5 5\n0 1:0.");
    memset(g + o, '3', m);
    o += m;
    CHECK(slide_data_parse(&ds, g, o, "t.txt", &e) == SLIDE_OK && fabsf(ds.val[0] - 1.0f / 3) < 1e-7f);
    slide_data_free(&ds);
    free(g);
    free(b);
}

static void test_load_errors(void) {
    slide_data ds;
    slide_err e;
    slide_data_opts o = slide_data_opts_default();
    CHECK(slide_data_load(&ds, "", &o, &e) == SLIDE_EIO && is_zeroed(&ds));
    CHECK(slide_data_load(&ds, NULL, &o, &e) == SLIDE_EIO);
    CHECK(slide_data_load(&ds, test_tmpdir(), &o, &e) == SLIDE_EIO);
    CHECK(strstr(e.msg, test_tmpdir()) && strstr(e.msg, "directory"));
    const char *missing = tpath("no-such-file.txt");
    CHECK(slide_data_load(&ds, missing, &o, &e) == SLIDE_EIO);
    CHECKF(strstr(e.msg, missing) != NULL, "%s", e.msg);
    /* unreadable: only meaningful when not root */
    const char *locked = tpath("locked.txt");
    write_bytes(locked, "1 5 5\n0 1:1\n", 12);
    chmod(locked, 0);
    if (access(locked, R_OK) != 0) {
        CHECK(slide_data_load(&ds, locked, &o, &e) == SLIDE_EIO && strstr(e.msg, locked));
    } else {
        fprintf(stderr, "note: running as root, unreadable-file check skipped\n");
    }
    chmod(locked, 0644);
    /* text errors from a file name the file and line */
    const char *bad = tpath("bad.txt");
    write_bytes(bad, "2 5 5\n0 1:1\n0 7:1\n", 18);
    CHECK(slide_data_load(&ds, bad, &o, &e) == SLIDE_ERANGE && e.line == 3);
    char pre[600];
    snprintf(pre, sizeof pre, "%s:3: ", bad);
    CHECKF(strncmp(e.msg, pre, strlen(pre)) == 0, "%s", e.msg);
    /* expected sizes */
    const char *good = tpath("good.txt");
    write_bytes(good, "2 5 6\n0 1:3 2:4\n 0:1\n", 21);
    o.expect_d = 7;
    CHECK(slide_data_load(&ds, good, &o, &e) == SLIDE_EINVAL && is_zeroed(&ds));
    CHECKF(strstr(e.msg, "header says D=5 but the training set has D=7") != NULL, "%s", e.msg);
    o.expect_d = 5;
    o.expect_l = 9;
    CHECK(slide_data_load(&ds, good, &o, &e) == SLIDE_EINVAL);
    CHECKF(strstr(e.msg, "header says L=6 but the training set has L=9") != NULL, "%s", e.msg);
    o.expect_l = 6;
    o.normalize = 1;
    CHECK(slide_data_load(&ds, good, &o, &e) == SLIDE_OK);
    CHECK_NEAR(ds.val[0], 0.6, 1e-6);
    CHECK_NEAR(ds.val[1], 0.8, 1e-6);
    CHECK_NEAR(ds.val[2], 1.0, 1e-6);
    slide_data_free(&ds);
    CHECK(slide_data_load(&ds, good, NULL, &e) == SLIDE_OK && ds.val[0] == 3.0f);
    slide_data_free(&ds);
}

static const char *SMALL = "5 40 30\n1,0 3:1.5 1:2\n 4:0.25 11:1e-3\n6 9:-1\n2,3,5 0:7 10:.5 39:3\n29\n";

static void test_cache(void) {
    slide_data a, b;
    slide_err e;
    CHECK(parse_s(&a, SMALL, &e) == SLIDE_OK);
    const char *cp = tpath("small.sbin");
    CHECK(slide_data_cache_save(&a, cp, &e) == SLIDE_OK);
    CHECK(slide_data_cache_load(&b, cp, &e) == SLIDE_OK);
    CHECK(same_ds(&a, &b));
    slide_data_free(&b);
    size_t len;
    unsigned char *img = (unsigned char *)read_bytes(cp, &len);
    CHECK(img && len > 80 && memcmp(img, "SLIDEDS1", 8) == 0);
    CHECK(slide_data_cache_parse(&b, img, len, "c", &e) == SLIDE_OK && same_ds(&a, &b));
    slide_data_free(&b);

    /* every single flipped byte and every truncation is rejected, without crashing */
    int missed = 0, wrongcode = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            unsigned char *m = malloc(len);
            memcpy(m, img, len);
            m[i] ^= (unsigned char)(1u << bit);
            int rc = slide_data_cache_parse(&b, m, len, "c", &e);
            if (rc == SLIDE_OK) {
                missed++;
                slide_data_free(&b);
            } else if (!is_zeroed(&b) || (rc != SLIDE_EFORMAT && rc != SLIDE_EVERSION) ||
                       !strstr(e.msg, "delete it to rebuild")) {
                wrongcode++;
            }
            free(m);
        }
    }
    for (size_t t = 0; t < len; t++) {
        unsigned char *m = malloc(t ? t : 1);
        memcpy(m, img, t);
        int rc = slide_data_cache_parse(&b, m, t, "c", &e);
        if (rc == SLIDE_OK) {
            missed++;
            slide_data_free(&b);
        } else if (rc != SLIDE_EFORMAT) {
            wrongcode++;
        }
        free(m);
    }
    CHECKF(missed == 0 && wrongcode == 0, "missed %d, wrong code/message %d", missed, wrongcode);
    /* trailing extra byte */
    unsigned char *big = malloc(len + 1);
    memcpy(big, img, len);
    big[len] = 0;
    CHECK(slide_data_cache_parse(&b, big, len + 1, "c", &e) == SLIDE_EFORMAT);
    free(big);

    /* wrong magic / version / foreign file: EVERSION with the hint */
    unsigned char *m = malloc(len);
    memcpy(m, img, len);
    memcpy(m, "GGUF\0\0\0\0", 8);
    CHECK(slide_data_cache_parse(&b, m, len, "c", &e) == SLIDE_EVERSION);
    CHECK(strstr(e.msg, "delete it to rebuild") != NULL);
    memcpy(m, img, len);
    m[8] = 2;
    CHECK(slide_data_cache_parse(&b, m, len, "c", &e) == SLIDE_EVERSION);
    CHECKF(strstr(e.msg, "version 2") && strstr(e.msg, "delete it to rebuild"), "%s", e.msg);
    CHECK(slide_data_cache_parse(&b, "hello", 5, "c", &e) == SLIDE_EVERSION);
    CHECK(slide_data_cache_parse(&b, "SLID", 4, "c", &e) == SLIDE_EFORMAT);
    CHECK(slide_data_cache_parse(&b, NULL, 0, "c", &e) == SLIDE_EFORMAT);
    CHECK(slide_data_cache_parse(&b, SMALL, strlen(SMALL), "c", &e) == SLIDE_EVERSION);
    free(m);

    /* a file on disk: truncated and flipped */
    write_bytes(tpath("trunc.sbin"), img, len - 3);
    CHECK(slide_data_cache_load(&b, tpath("trunc.sbin"), &e) == SLIDE_EFORMAT && is_zeroed(&b));
    img[len / 2] ^= 0x40;
    write_bytes(tpath("flip.sbin"), img, len);
    CHECK(slide_data_cache_load(&b, tpath("flip.sbin"), &e) == SLIDE_EFORMAT);
    CHECKF(strstr(e.msg, "checksum") != NULL, "%s", e.msg);
    CHECK(slide_data_cache_load(&b, tpath("none.sbin"), &e) == SLIDE_EIO);
    CHECK(slide_data_cache_load(&b, test_tmpdir(), &e) == SLIDE_EIO);
    CHECK(slide_data_cache_load(&b, "", &e) == SLIDE_EIO);
    free(img);

    /* content that checksums fine but breaks the invariants is still rejected */
    a.feat[0] = 45; /* >= d */
    CHECK(slide_data_cache_save(&a, tpath("lie.sbin"), &e) == SLIDE_OK);
    CHECK(slide_data_cache_load(&b, tpath("lie.sbin"), &e) == SLIDE_EFORMAT);
    CHECKF(strstr(e.msg, "feature id 45") != NULL, "%s", e.msg);
    a.feat[0] = 1;
    a.val[1] = NAN;
    CHECK(slide_data_cache_save(&a, tpath("lie.sbin"), &e) == SLIDE_OK);
    CHECK(slide_data_cache_load(&b, tpath("lie.sbin"), &e) == SLIDE_EFORMAT);
    a.val[1] = 1.5f;
    a.lab[0] = 1;  /* duplicate label in point 0 */
    CHECK(slide_data_cache_save(&a, tpath("lie.sbin"), &e) == SLIDE_OK);
    CHECK(slide_data_cache_load(&b, tpath("lie.sbin"), &e) == SLIDE_EFORMAT);
    a.lab[0] = 0;
    a.row_ptr[2] = 1; /* not monotone */
    CHECK(slide_data_cache_save(&a, tpath("lie.sbin"), &e) == SLIDE_OK);
    CHECK(slide_data_cache_load(&b, tpath("lie.sbin"), &e) == SLIDE_EFORMAT);
    a.row_ptr[2] = 4;
    CHECK(slide_data_cache_save(&a, "", &e) == SLIDE_EIO);
    CHECK(slide_data_cache_save(&a, tpath("no/such/dir/x.sbin"), &e) == SLIDE_EIO);

    /* empty data set roundtrip */
    slide_data z;
    CHECK(parse_s(&z, "0 3 3\n", &e) == SLIDE_OK);
    CHECK(slide_data_cache_save(&z, cp, &e) == SLIDE_OK);
    CHECK(slide_data_cache_load(&b, cp, &e) == SLIDE_OK && same_ds(&z, &b));
    slide_data_free(&b);
    slide_data_free(&z);
    slide_data_free(&a);
}

static void set_mtime(const char *path, time_t t) {
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    utimensat(AT_FDCWD, path, ts, 0);
}

static void test_cache_auto(void) {
    slide_data a, b, ref;
    slide_err e;
    const char *txt = tpath("auto.txt");
    char sbin[600];
    snprintf(sbin, sizeof sbin, "%s.sbin", txt);
    write_bytes(txt, SMALL, strlen(SMALL));
    time_t now = time(NULL);
    set_mtime(txt, now - 100);
    unlink(sbin);
    CHECK(parse_s(&ref, SMALL, &e) == SLIDE_OK);

    slide_data_opts o = slide_data_opts_default();
    o.cache = SLIDE_CACHE_READONLY;
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &ref));
    slide_data_free(&a);
    CHECK(access(sbin, F_OK) != 0); /* READONLY never writes */
    o.cache = SLIDE_CACHE_OFF;
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK);
    slide_data_free(&a);
    CHECK(access(sbin, F_OK) != 0);

    o.cache = SLIDE_CACHE_AUTO;
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &ref));
    slide_data_free(&a);
    CHECK(access(sbin, F_OK) == 0); /* written */
    CHECK(slide_data_cache_load(&b, sbin, &e) == SLIDE_OK && same_ds(&b, &ref));
    slide_data_free(&b);

    /* a newer cache without a source record is used as is: put other data there */
    slide_data other;
    CHECK(parse_s(&other, "1 40 30\n7 8:8\n", &e) == SLIDE_OK);
    CHECK(slide_data_cache_save(&other, sbin, &e) == SLIDE_OK);
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &other));
    slide_data_free(&a);
    o.cache = SLIDE_CACHE_READONLY;
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &other));
    slide_data_free(&a);
    /* ...but not once it is older than the text: then the text is parsed and the cache rebuilt */
    set_mtime(sbin, now - 200);
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &ref));
    slide_data_free(&a);
    o.cache = SLIDE_CACHE_AUTO;
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &ref));
    slide_data_free(&a);
    CHECK(slide_data_cache_load(&b, sbin, &e) == SLIDE_OK && same_ds(&b, &ref));
    slide_data_free(&b);

    /* the text replaced by other content with an old mtime: the source record catches it */
    const char *other_txt = "5 40 30\n1 2:2\n1 2:2\n1 2:2\n1 2:2\n1 2:2\n";
    write_bytes(txt, other_txt, strlen(other_txt));
    set_mtime(txt, now - 300);
    slide_data ref2;
    CHECK(parse_s(&ref2, other_txt, &e) == SLIDE_OK);
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &ref2));
    slide_data_free(&a);

    /* a corrupted cache falls back to the text and is rewritten */
    size_t len;
    char *img = read_bytes(sbin, &len);
    img[len - 2] ^= 1;
    write_bytes(sbin, img, len);
    free(img);
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK && same_ds(&a, &ref2));
    slide_data_free(&a);
    CHECK(slide_data_cache_load(&b, sbin, &e) == SLIDE_OK && same_ds(&b, &ref2));
    slide_data_free(&b);

    /* explicit cache path; unwritable cache location is not an error; normalize after cache */
    o.cache_path = tpath("no/such/dir/c.sbin");
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK);
    slide_data_free(&a);
    o.cache_path = tpath("explicit.sbin");
    o.normalize = 1;
    CHECK(slide_data_load(&a, txt, &o, &e) == SLIDE_OK);
    CHECK(access(o.cache_path, F_OK) == 0);
    CHECK(slide_data_load(&b, txt, &o, &e) == SLIDE_OK && same_ds(&a, &b));
    CHECK(b.val[0] == 1.0f);
    slide_data_free(&a);
    slide_data_free(&b);
    slide_data_free(&ref);
    slide_data_free(&ref2);
    slide_data_free(&other);
}

static void test_normalize_and_text_roundtrip(void) {
    slide_data a, b;
    slide_err e;
    CHECK(parse_s(&a, SMALL, &e) == SLIDE_OK);
    slide_data_normalize(&a);
    for (int64_t i = 0; i < a.n; i++) {
        double s = 0;
        for (int64_t j = a.row_ptr[i]; j < a.row_ptr[i + 1]; j++) s += (double)a.val[j] * a.val[j];
        if (a.row_ptr[i + 1] > a.row_ptr[i]) CHECK_NEAR(s, 1.0, 1e-6);
        else CHECK(s == 0);
    }
    const char *p = tpath("rt.txt");
    CHECK(slide_data_write_text(&a, p, &e) == SLIDE_OK);
    slide_data_opts o = slide_data_opts_default();
    CHECK(slide_data_load(&b, p, &o, &e) == SLIDE_OK);
    CHECK(b.n == a.n && b.nnz == a.nnz && b.nlab == a.nlab);
    CHECK(memcmp(a.row_ptr, b.row_ptr, (size_t)(a.n + 1) * 8) == 0);
    CHECK(memcmp(a.lab, b.lab, (size_t)a.nlab * 4) == 0);
    for (int64_t j = 0; j < a.nnz && b.nnz == a.nnz; j++) {
        CHECK(a.feat[j] == b.feat[j]);
        CHECK_NEAR(a.val[j], b.val[j], 1e-5 * fabs(a.val[j]));
    }
    slide_data_free(&a);
    slide_data_free(&b);
}

static const char *find_real(const char *rel) {
    static char p[2][256];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "datasets/delicious/%s", rel);
    if (access(p[k], R_OK) == 0) return p[k];
    snprintf(p[k], sizeof p[k], "../shared/data/delicious/%s", rel);
    if (access(p[k], R_OK) == 0) return p[k];
    return NULL;
}

static void test_delicious(void) {
    const char *tr = find_real("train.txt"), *te = find_real("test.txt");
    if (!tr) {
        fprintf(stderr, "note: Delicious train.txt not found (plain text) - real-data check skipped\n");
        return;
    }
    slide_data ds;
    slide_err e;
    slide_data_opts o = slide_data_opts_default();
    double t0 = slide_now();
    int rc = slide_data_load(&ds, tr, &o, &e);
    double t1 = slide_now();
    CHECKF(rc == SLIDE_OK, "%s", e.msg);
    if (rc) return;
    fprintf(stderr, "Delicious train: %s in %.1f ms\n", tr, 1e3 * (t1 - t0));
    CHECK(ds.n == 12920 && ds.d == 500 && ds.l == 983);
    CHECK(ds.nnz == 239549 && ds.nlab == 246088);
    CHECK(valid_ds(&ds));
    int64_t ones = 0;
    for (int64_t j = 0; j < ds.nnz; j++) ones += ds.val[j] == 1.0f;
    CHECK(ones == ds.nnz); /* binary bag of words: every value is 1.000000 */
    slide_data_stats st;
    slide_data_compute_stats(&ds, &st);
    CHECK(st.n_nolabel == 10);
    CHECK(st.nnz_min >= 1 && st.lab_max <= 983);
    slide_data_free(&ds);
    if (te) {
        o.expect_d = 500;
        o.expect_l = 983;
        rc = slide_data_load(&ds, te, &o, &e);
        CHECKF(rc == SLIDE_OK, "%s", e.msg);
        if (rc == SLIDE_OK) {
            slide_data_compute_stats(&ds, &st);
            CHECK(ds.n == 3185 && st.n_nolabel == 4); /* 10 + 4 = the 14 unlabelled points */
            slide_data_free(&ds);
        }
    }
}

/* The command-line tool, when it has been built (make test builds it). */
static void test_cli(void) {
    const char *bin = getenv("SLIDE_BIN");
    char exe[512], cmd[2048];
    snprintf(exe, sizeof exe, "%s/slide-data", bin ? bin : "build/bin");
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "note: %s not built - CLI checks skipped\n", exe);
        return;
    }
    const char *good = tpath("cli.txt"), *bad = tpath("cli-bad.txt"), *out = tpath("cli.out");
    write_bytes(good, SMALL, strlen(SMALL));
    write_bytes(bad, "2 5 5\n0 1:1\n0 1:x\n", 18);
    snprintf(cmd, sizeof cmd, "%s check %s >%s 2>&1", exe, good, out);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t len;
    char *txt = read_bytes(out, &len);
    char want[600];
    snprintf(want, sizeof want, "%s: ok (5 points, 40 features, 30 labels)\n", good);
    CHECKF(txt && strcmp(txt, want) == 0, "got '%s'", txt ? txt : "");
    free(txt);
    snprintf(cmd, sizeof cmd, "%s check %s >%s 2>&1", exe, bad, out);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    txt = read_bytes(out, &len);
    CHECKF(txt && strstr(txt, ":3: bad number"), "got '%s'", txt ? txt : "");
    free(txt);
    snprintf(cmd, sizeof cmd, "%s stats --cache --normalize %s >%s 2>&1", exe, good, out);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    txt = read_bytes(out, &len);
    CHECKF(txt && strstr(txt, "points without labels: 1"), "got '%s'", txt ? txt : "");
    free(txt);
    snprintf(cmd, sizeof cmd, "%s frobnicate >/dev/null 2>&1", exe);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof cmd, "%s --help >/dev/null 2>&1", exe);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void) {
    test_good();
    test_float_accuracy();
    test_bad();
    test_fuzz();
    test_huge_line();
    test_load_errors();
    test_cache();
    test_cache_auto();
    test_normalize_and_text_roundtrip();
    test_delicious();
    test_cli();
    if (t_failures == 0) { /* keep the scratch files only when something failed */
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
        if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", test_tmpdir());
    }
    TEST_MAIN_END();
}
