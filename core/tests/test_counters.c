/* Tests of slide/counters.h: column names, NA for unavailable events, page-fault counts from PAPI
 * agreeing with getrusage, bogus events, misuse, per-thread counting. Passes with or without PAPI
 * and with or without a hardware PMU (it never asserts which events exist). */
#include "slide/counters.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "test_util.h"

static void test_column_names(void) {
    char buf[128];
    slide_counters_column_name("perf::PAGE-FAULTS", buf, sizeof buf);
    CHECKF(!strcmp(buf, "papi_perf_page_faults"), "%s", buf);
    slide_counters_column_name("PAPI_TOT_CYC", buf, sizeof buf);
    CHECKF(!strcmp(buf, "papi_tot_cyc"), "%s", buf);
    slide_counters_column_name("PAPI_L1_DCM", buf, sizeof buf);
    CHECKF(!strcmp(buf, "papi_l1_dcm"), "%s", buf);
    slide_counters_column_name("perf::CONTEXT-SWITCHES", buf, sizeof buf);
    CHECKF(!strcmp(buf, "papi_perf_context_switches"), "%s", buf);
    slide_counters_column_name("rapl:::PACKAGE_ENERGY:PACKAGE0", buf, sizeof buf);
    CHECKF(!strcmp(buf, "papi_rapl_package_energy_package0"), "%s", buf);
    slide_counters_column_name("--x--", buf, sizeof buf);
    CHECKF(!strcmp(buf, "papi_x"), "%s", buf);
    /* truncation: terminated, full length returned */
    int n = slide_counters_column_name("perf::PAGE-FAULTS", buf, 8);
    CHECK(n == (int)strlen("papi_perf_page_faults"));
    CHECK(strlen(buf) == 7);
    CHECK(!strcmp(slide_counters_rusage_name(SLIDE_RU_MINFLT), "rusage_minflt"));
    CHECK(slide_counters_rusage_name(SLIDE_RU_COUNT) == NULL);
}

/* Fields of a comma-separated line. */
static int count_fields(const char *s) {
    int k = 1;
    for (; *s; s++) k += *s == ',';
    return k;
}

/* The i-th field (0-based) of a CSV line into out. */
static void field(const char *s, int i, char *out, size_t n) {
    while (i > 0 && *s) i -= *s++ == ',';
    size_t k = 0;
    while (s[k] && s[k] != ',' && k + 1 < n) out[k] = s[k], k++;
    out[k] = '\0';
}

static volatile double sink;

static void busy(int n) {
    double x = 1;
    for (int i = 0; i < n; i++) x = x * 1.0000001 + 1e-9;
    sink = x;
}

static void test_default_set(void) {
    slide_counters *c = NULL;
    slide_err err;
    CHECK(slide_counters_create(&c, NULL, &err) == SLIDE_OK);
    if (!c) return;
    CHECK(slide_counters_n_events(c) == 9);
    CHECK(slide_counters_find(c, "PAPI_TOT_CYC") == 0);
    CHECK(slide_counters_find(c, "perf::PAGE-FAULTS") == 6);
    CHECK(slide_counters_find(c, "nope") == -1);
    CHECK(slide_counters_start(c, &err) == SLIDE_OK);
    busy(2000000);
    CHECK(slide_counters_stop(c, &err) == SLIDE_OK);

    char hdr[2048], val[2048], col[128], f[64];
    CHECK(slide_counters_csv_header(c, hdr, sizeof hdr) > 0);
    CHECK(slide_counters_csv_values(c, val, sizeof val) > 0);
    CHECKF(count_fields(hdr) == 9 + SLIDE_RU_COUNT, "%s", hdr);
    CHECKF(count_fields(val) == count_fields(hdr), "%s", val);
    CHECK(strstr(hdr, "papi_perf_page_faults") != NULL);
    CHECK(strstr(hdr, "rusage_minflt,rusage_majflt,rusage_nvcsw,rusage_nivcsw,rusage_utime_s,"
                      "rusage_stime_s") != NULL);
    int n_avail = 0;
    for (int i = 0; i < slide_counters_n_events(c); i++) {
        double v = slide_counters_value(c, i);
        field(hdr, i, col, sizeof col);
        field(val, i, f, sizeof f);
        char want[128];
        slide_counters_column_name(slide_counters_event_name(c, i), want, sizeof want);
        CHECKF(!strcmp(col, want), "%s vs %s", col, want);
        if (slide_counters_event_available(c, i)) {
            n_avail++;
            CHECKF(isfinite(v) && v >= 0, "%s = %g", slide_counters_event_name(c, i), v);
            CHECK(slide_counters_event_reason(c, i) == NULL);
            CHECKF(strcmp(f, "NA") != 0, "%s", f);
        } else {
            CHECKF(isnan(v), "%s = %g", slide_counters_event_name(c, i), v);
            const char *why = slide_counters_event_reason(c, i);
            CHECK(why != NULL && why[0] != '\0');
            CHECKF(!strcmp(f, "NA"), "%s: %s", col, f);
            const char *all = slide_counters_unavailable_reason(c);
            CHECK(all && strstr(all, slide_counters_event_name(c, i)));
        }
    }
    CHECK(n_avail == slide_counters_n_available(c));
    if (n_avail == slide_counters_n_events(c)) CHECK(slide_counters_unavailable_reason(c) == NULL);
    if (!slide_counters_built_with_papi()) {
        CHECK(n_avail == 0);
        CHECK(strstr(slide_counters_unavailable_reason(c), "built without PAPI") != NULL);
    }
    /* task clock of 2M dependent multiply-adds is more than nothing */
    int tc = slide_counters_find(c, "perf::TASK-CLOCK");
    if (slide_counters_event_available(c, tc)) CHECK(slide_counters_value(c, tc) > 0);
    CHECK(slide_counters_rusage(c, SLIDE_RU_UTIME) + slide_counters_rusage(c, SLIDE_RU_STIME) >= 0);
    fprintf(stderr, "default set: %d of %d available; %s\n", n_avail, slide_counters_n_events(c),
            slide_counters_unavailable_reason(c) ? slide_counters_unavailable_reason(c) : "");
    fprintf(stderr, "  %s\n  %s\n", hdr, val);

    /* reset zeroes; a too small buffer is reported */
    CHECK(slide_counters_reset(c) == SLIDE_OK);
    for (int i = 0; i < slide_counters_n_events(c); i++)
        if (slide_counters_event_available(c, i)) CHECK(slide_counters_value(c, i) == 0);
    CHECK(slide_counters_rusage(c, SLIDE_RU_MINFLT) == 0);
    CHECK(slide_counters_csv_header(c, hdr, 10) == -1);
    CHECK(slide_counters_csv_values(c, val, 3) == -1);
    slide_counters_destroy(c);
}

/* Touches one byte per 4 KB page of a fresh 64 MB mapping inside a counted region. */
static void test_page_faults(void) {
    const size_t bytes = (size_t)64 << 20, page = 4096, pages = bytes / page;
    slide_counters *c = NULL;
    slide_err err;
    CHECK(slide_counters_create(&c, "perf::PAGE-FAULTS, perf::MINOR-FAULTS", &err) == SLIDE_OK);
    if (!c) return;
    CHECK(slide_counters_n_events(c) == 2);
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED) return;
    madvise(p, bytes, MADV_NOHUGEPAGE); /* 4 KB pages whatever the THP setting */
    CHECK(slide_counters_start(c, &err) == SLIDE_OK);
    for (size_t i = 0; i < bytes; i += page) ((volatile char *)p)[i] = 1;
    CHECK(slide_counters_stop(c, &err) == SLIDE_OK);
    munmap(p, bytes);

    double ru = slide_counters_rusage(c, SLIDE_RU_MINFLT);
    CHECKF(ru >= 0.9 * (double)pages, "rusage minflt %g for %zu pages", ru, pages);
    double pf = slide_counters_value(c, 0), mf = slide_counters_value(c, 1);
    fprintf(stderr, "page faults for %zu pages: papi page-faults %g, minor-faults %g, rusage %g\n",
            pages, pf, mf, ru);
    for (int i = 0; i < 2; i++) {
        double v = slide_counters_value(c, i);
        if (!slide_counters_event_available(c, i)) {
            CHECK(isnan(v));
            fprintf(stderr, "  %s unavailable: %s\n", slide_counters_event_name(c, i),
                    slide_counters_event_reason(c, i));
            continue;
        }
        CHECKF(v >= 0.9 * (double)pages, "%s %g for %zu pages", slide_counters_event_name(c, i), v,
               pages);
        CHECKF(fabs(v - ru) <= 0.1 * ru, "%s %g vs rusage %g", slide_counters_event_name(c, i), v,
               ru);
    }
    /* accumulation: a second region with no faults keeps (about) the totals */
    double before = slide_counters_rusage(c, SLIDE_RU_MINFLT);
    CHECK(slide_counters_start(c, &err) == SLIDE_OK);
    busy(1000);
    CHECK(slide_counters_stop(c, &err) == SLIDE_OK);
    CHECK(slide_counters_rusage(c, SLIDE_RU_MINFLT) >= before);
    if (slide_counters_event_available(c, 0)) CHECK(slide_counters_value(c, 0) >= pf);
    slide_counters_destroy(c);
}

static void test_bogus_event(void) {
    slide_counters *c = NULL;
    slide_err err;
    CHECK(slide_counters_create(&c, "NOT_AN_EVENT,perf::TASK-CLOCK", &err) == SLIDE_OK);
    if (!c) return;
    CHECK(slide_counters_n_events(c) == 2);
    CHECK(!slide_counters_event_available(c, 0));
    const char *why = slide_counters_event_reason(c, 0);
    CHECK(why && *why);
    const char *all = slide_counters_unavailable_reason(c);
    CHECK(all && strstr(all, "NOT_AN_EVENT") && strstr(all, why));
    fprintf(stderr, "bogus event: %s\n", all ? all : "(null)");
    CHECK(slide_counters_start(c, &err) == SLIDE_OK);
    busy(1000000);
    CHECK(slide_counters_stop(c, &err) == SLIDE_OK);
    CHECK(isnan(slide_counters_value(c, 0)));
    if (slide_counters_event_available(c, 1)) {
        CHECK(slide_counters_value(c, 1) > 0);
        CHECK(!strstr(all, "TASK-CLOCK"));
    }
    char val[256];
    CHECK(slide_counters_csv_values(c, val, sizeof val) > 0);
    CHECKF(!strncmp(val, "NA,", 3), "%s", val);
    slide_counters_destroy(c);
}

static void test_misuse(void) {
    slide_counters *c = NULL;
    slide_err err;
    CHECK(slide_counters_create(&c, "perf::TASK-CLOCK", &err) == SLIDE_OK);
    if (c) {
        CHECK(slide_counters_stop(c, &err) == SLIDE_EINVAL);
        CHECK(slide_counters_start(c, &err) == SLIDE_OK);
        CHECK(slide_counters_start(c, &err) == SLIDE_EINVAL);
        CHECK(slide_counters_reset(c) == SLIDE_EINVAL);
        slide_counters_destroy(c); /* destroying a started set is allowed */
    }
    /* too many names; a name too long */
    char list[4096] = "";
    for (int i = 0; i < SLIDE_COUNTERS_MAX_EVENTS + 1; i++) strcat(list, "perf::TASK-CLOCK,");
    c = (slide_counters *)1;
    CHECK(slide_counters_create(&c, list, &err) == SLIDE_EINVAL);
    CHECK(c == NULL);
    memset(list, 'A', 200);
    list[200] = '\0';
    CHECK(slide_counters_create(&c, list, &err) == SLIDE_EINVAL);
    CHECK(strstr(err.msg, "too long") != NULL);
    /* NULL = default list; empty list = rusage only; stray commas and spaces are ignored */
    CHECK(slide_counters_create(&c, NULL, &err) == SLIDE_OK);
    if (c) CHECK(slide_counters_n_events(c) == 9);
    slide_counters_destroy(c);
    CHECK(slide_counters_create(&c, " ,", &err) == SLIDE_OK);
    if (c) {
        char hdr[256], val[256];
        CHECK(slide_counters_n_events(c) == 0);
        CHECK(slide_counters_unavailable_reason(c) == NULL);
        CHECK(slide_counters_start(c, &err) == SLIDE_OK);
        CHECK(slide_counters_stop(c, &err) == SLIDE_OK);
        CHECK(slide_counters_csv_header(c, hdr, sizeof hdr) > 0);
        CHECKF(!strncmp(hdr, "rusage_minflt,", 14), "%s", hdr);
        CHECK(slide_counters_csv_values(c, val, sizeof val) > 0);
        CHECK(count_fields(val) == SLIDE_RU_COUNT);
    }
    slide_counters_destroy(c);
    CHECK(slide_counters_create(&c, " , perf::TASK-CLOCK ,, ", &err) == SLIDE_OK);
    if (c) {
        CHECK(slide_counters_n_events(c) == 1);
        CHECK(!strcmp(slide_counters_event_name(c, 0), "perf::TASK-CLOCK"));
    }
    slide_counters_destroy(c);
    slide_counters_destroy(NULL);
}

/* Per-thread counting: a worker touches 32 MB with its own object while the main thread's
 * object runs; the main thread's counts must not include the worker's faults. */
typedef struct {
    double papi, ru;
    int ok;
} worker_result;

static void *worker(void *arg) {
    worker_result *r = arg;
    const size_t bytes = (size_t)32 << 20;
    slide_counters *c = NULL;
    slide_err err;
    if (slide_counters_create(&c, "perf::PAGE-FAULTS", &err) != SLIDE_OK) return NULL;
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        madvise(p, bytes, MADV_NOHUGEPAGE);
        slide_counters_start(c, &err);
        for (size_t i = 0; i < bytes; i += 4096) ((volatile char *)p)[i] = 1;
        slide_counters_stop(c, &err);
        munmap(p, bytes);
        r->papi = slide_counters_value(c, 0);
        r->ru = slide_counters_rusage(c, SLIDE_RU_MINFLT);
        r->ok = 1;
    }
    slide_counters_destroy(c);
    return NULL;
}

static void test_threads(void) {
    slide_counters *c = NULL;
    slide_err err;
    CHECK(slide_counters_create(&c, "perf::PAGE-FAULTS", &err) == SLIDE_OK);
    if (!c) return;
    worker_result r = {0, 0, 0};
    CHECK(slide_counters_start(c, &err) == SLIDE_OK);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, worker, &r) == 0);
    pthread_join(th, NULL);
    CHECK(slide_counters_stop(c, &err) == SLIDE_OK);
    const double pages = (double)((32 << 20) / 4096);
    CHECK(r.ok);
    CHECKF(r.ru >= 0.9 * pages, "worker rusage %g", r.ru);
    double mine_ru = slide_counters_rusage(c, SLIDE_RU_MINFLT);
    /* thread creation itself faults a little (stack, TLS) but far below the worker's pages */
    CHECKF(mine_ru < 0.5 * pages, "main thread rusage minflt %g includes the worker's", mine_ru);
    if (slide_counters_event_available(c, 0)) {
        CHECKF(r.papi >= 0.9 * pages, "worker papi %g", r.papi);
        CHECKF(slide_counters_value(c, 0) < 0.5 * pages, "main thread papi %g",
               slide_counters_value(c, 0));
    }
    fprintf(stderr, "threads: worker papi %g rusage %g; main papi %g rusage %g\n", r.papi, r.ru,
            slide_counters_value(c, 0), mine_ru);
    slide_counters_destroy(c);
}

int main(void) {
    fprintf(stderr, "built with PAPI: %s\n", slide_counters_built_with_papi() ? "yes" : "no");
    test_column_names();
    test_default_set();
    test_page_faults();
    test_bogus_event();
    test_misuse();
    test_threads();
    TEST_MAIN_END();
}
