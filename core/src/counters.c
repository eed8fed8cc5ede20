/* PAPI event counting around code regions (per thread), each event probed on its own so one
 * that this machine lacks becomes NA instead of failing the set, plus getrusage deltas. */
#include "slide/counters.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#if defined(SLIDE_HAVE_PAPI) && SLIDE_HAVE_PAPI
#include <papi.h>
#define HAVE_PAPI_LIB 1
#else
#define HAVE_PAPI_LIB 0
#endif

#ifdef RUSAGE_THREAD
#define RU_WHO RUSAGE_THREAD
#else
#define RU_WHO RUSAGE_SELF
#endif

typedef struct {
    char name[SLIDE_COUNTERS_MAX_NAME];
    char reason[160]; /* empty when available */
    int available;
    int slot;         /* position in the PAPI event set; -1 when unavailable */
    long long total;
} counter_event;

struct slide_counters {
    int n;
    counter_event ev[SLIDE_COUNTERS_MAX_EVENTS];
    int n_slots;
    int eventset;     /* PAPI event set handle (PAPI_NULL when none) */
    int running;
    double ru_start[SLIDE_RU_COUNT];
    double ru_total[SLIDE_RU_COUNT];
    char *summary;    /* slide_counters_unavailable_reason text, NULL when all available */
};

static const char *const ru_names[SLIDE_RU_COUNT] = {
    "rusage_minflt", "rusage_majflt", "rusage_nvcsw", "rusage_nivcsw", "rusage_utime_s",
    "rusage_stime_s"};

int slide_counters_built_with_papi(void) { return HAVE_PAPI_LIB; }

const char *slide_counters_rusage_name(int field) {
    return field >= 0 && field < SLIDE_RU_COUNT ? ru_names[field] : NULL;
}

static void rusage_read(double out[SLIDE_RU_COUNT]) {
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (getrusage(RU_WHO, &ru) != 0) {
        for (int i = 0; i < SLIDE_RU_COUNT; i++) out[i] = NAN;
        return;
    }
    out[SLIDE_RU_MINFLT] = (double)ru.ru_minflt;
    out[SLIDE_RU_MAJFLT] = (double)ru.ru_majflt;
    out[SLIDE_RU_NVCSW] = (double)ru.ru_nvcsw;
    out[SLIDE_RU_NIVCSW] = (double)ru.ru_nivcsw;
    out[SLIDE_RU_UTIME] = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
    out[SLIDE_RU_STIME] = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

int slide_counters_column_name(const char *event, char *buf, size_t n) {
    const char *s = event ? event : "";
    if (strncasecmp(s, "papi_", 5) == 0) s += 5;
    size_t len = 0;
    const char *prefix = "papi_";
    int pending = 0; /* a run of separators waits for the next alphanumeric character */
#define PUT(ch)                                  \
    do {                                         \
        if (n > 0 && len + 1 < n) buf[len] = (ch); \
        len++;                                   \
    } while (0)
    for (const char *p = prefix; *p; p++) PUT(*p);
    size_t body_start = len;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch)) {
            if (pending && len > body_start) PUT('_');
            pending = 0;
            PUT((char)tolower(ch));
        } else {
            pending = 1;
        }
    }
#undef PUT
    if (n > 0) buf[len < n ? len : n - 1] = '\0';
    return (int)len;
}

/* Splits the list into c->ev names. */
static int parse_list(slide_counters *c, const char *list, slide_err *err) {
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        size_t len = (size_t)(end - p);
        if (c->n >= SLIDE_COUNTERS_MAX_EVENTS)
            return slide_err_set(err, SLIDE_EINVAL, 0, "too many counter events (at most %d)",
                                 SLIDE_COUNTERS_MAX_EVENTS);
        if (len >= SLIDE_COUNTERS_MAX_NAME)
            return slide_err_set(err, SLIDE_EINVAL, 0,
                                 "counter event name '%.40s...' is too long (at most %d chars)",
                                 p, SLIDE_COUNTERS_MAX_NAME - 1);
        counter_event *ev = &c->ev[c->n++];
        memcpy(ev->name, p, len);
        ev->name[len] = '\0';
        ev->slot = -1;
        p = e;
    }
    return SLIDE_OK;
}

static void mark_unavailable(counter_event *ev, const char *why) {
    ev->available = 0;
    ev->slot = -1;
    snprintf(ev->reason, sizeof ev->reason, "%s", why);
}

#if HAVE_PAPI_LIB
static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static int papi_init_rc = 0; /* PAPI_VER_CURRENT on success, else a PAPI error code */
static int papi_thread_rc = PAPI_OK;
static _Thread_local int tl_objects; /* counter objects alive on this thread */

static unsigned long papi_thread_id(void) { return (unsigned long)pthread_self(); }

static void papi_init_once(void) {
    papi_init_rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (papi_init_rc != PAPI_VER_CURRENT) return;
    PAPI_set_debug(PAPI_QUIET);
    papi_thread_rc = PAPI_thread_init(papi_thread_id);
}

static void papi_reason(char *buf, size_t n, const char *what, int rc) {
    const char *s = PAPI_strerror(rc);
    snprintf(buf, n, "%s%s%s (PAPI error %d)", what ? what : "", what ? ": " : "",
             s ? s : "unknown error", rc);
}

/* Whether one event can be added, started and stopped on its own. */
static int papi_probe(const char *name, char *why, size_t n) {
    int es = PAPI_NULL;
    int rc = PAPI_create_eventset(&es);
    if (rc != PAPI_OK) {
        papi_reason(why, n, "PAPI_create_eventset", rc);
        return 0;
    }
    int ok = 0;
    rc = PAPI_add_named_event(es, name);
    if (rc != PAPI_OK) {
        papi_reason(why, n, NULL, rc);
    } else {
        rc = PAPI_start(es);
        if (rc != PAPI_OK) {
            papi_reason(why, n, "PAPI_start", rc);
        } else {
            long long v = 0;
            rc = PAPI_stop(es, &v);
            if (rc != PAPI_OK)
                papi_reason(why, n, "PAPI_stop", rc);
            else
                ok = 1;
        }
    }
    PAPI_cleanup_eventset(es);
    PAPI_destroy_eventset(&es);
    return ok;
}

static void papi_setup(slide_counters *c) {
    char why[160];
    pthread_once(&papi_once, papi_init_once);
    if (papi_init_rc != PAPI_VER_CURRENT || papi_thread_rc != PAPI_OK) {
        if (papi_init_rc != PAPI_VER_CURRENT)
            papi_reason(why, sizeof why, "PAPI_library_init failed", papi_init_rc);
        else
            papi_reason(why, sizeof why, "PAPI_thread_init failed", papi_thread_rc);
        for (int i = 0; i < c->n; i++) mark_unavailable(&c->ev[i], why);
        return;
    }
    tl_objects++;
    int any = 0;
    for (int i = 0; i < c->n; i++) {
        if (papi_probe(c->ev[i].name, why, sizeof why))
            c->ev[i].available = 1, any = 1;
        else
            mark_unavailable(&c->ev[i], why);
    }
    if (!any) return;
    int rc = PAPI_create_eventset(&c->eventset);
    if (rc != PAPI_OK) {
        c->eventset = PAPI_NULL;
        papi_reason(why, sizeof why, "PAPI_create_eventset", rc);
        for (int i = 0; i < c->n; i++) mark_unavailable(&c->ev[i], why);
        return;
    }
    for (int i = 0; i < c->n; i++) {
        counter_event *ev = &c->ev[i];
        if (!ev->available) continue;
        rc = PAPI_add_named_event(c->eventset, ev->name);
        if (rc != PAPI_OK) {
            /* Counts alone but not together with the events before it (too few counters). */
            papi_reason(why, sizeof why, "cannot count together with the events listed before it",
                        rc);
            mark_unavailable(ev, why);
            continue;
        }
        ev->slot = c->n_slots++;
    }
    /* The whole set must start as well; if not, nothing from PAPI can be trusted. */
    long long tmp[SLIDE_COUNTERS_MAX_EVENTS];
    rc = c->n_slots ? PAPI_start(c->eventset) : PAPI_OK;
    if (rc == PAPI_OK && c->n_slots) rc = PAPI_stop(c->eventset, tmp);
    if (rc != PAPI_OK) {
        papi_reason(why, sizeof why, "the event set does not start", rc);
        for (int i = 0; i < c->n; i++)
            if (c->ev[i].available) mark_unavailable(&c->ev[i], why);
        c->n_slots = 0;
    }
}

static void papi_teardown(slide_counters *c) {
    if (papi_init_rc != PAPI_VER_CURRENT || papi_thread_rc != PAPI_OK) return;
    if (c->eventset != PAPI_NULL) {
        if (c->running) {
            long long tmp[SLIDE_COUNTERS_MAX_EVENTS];
            PAPI_stop(c->eventset, tmp);
        }
        PAPI_cleanup_eventset(c->eventset);
        PAPI_destroy_eventset(&c->eventset);
    }
    /* Let PAPI free this thread's state once its last object is gone (benchmark threads come
     * and go; a later object on the thread registers it again). */
    if (--tl_objects == 0) PAPI_unregister_thread();
}
#endif

/* Appends to buf at *len; returns 0 when it did not fit. */
static int append(char *buf, size_t n, size_t *len, const char *s) {
    size_t k = strlen(s);
    if (*len + k + 1 > n) return 0;
    memcpy(buf + *len, s, k + 1);
    *len += k;
    return 1;
}

/* "PAPI: 6 of 9 events unavailable: A, B: reason1; C: reason2" (events sharing a reason are
 * listed together, in their original order). */
static void build_summary(slide_counters *c) {
    int bad = c->n - slide_counters_n_available(c);
    if (bad == 0) return;
    size_t cap = 64 + (size_t)c->n * (SLIDE_COUNTERS_MAX_NAME + sizeof c->ev[0].reason + 8);
    c->summary = malloc(cap);
    if (!c->summary) return;
    size_t len = 0;
    len += (size_t)snprintf(c->summary, cap, "PAPI: %d of %d events unavailable", bad, c->n);
    int groups = 0;
    for (int i = 0; i < c->n; i++) {
        const counter_event *ev = &c->ev[i];
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = !c->ev[j].available && !strcmp(c->ev[j].reason, ev->reason);
        if (ev->available || seen) continue;
        append(c->summary, cap, &len, groups++ ? "; " : ": ");
        int first = 1;
        for (int j = i; j < c->n; j++) {
            if (c->ev[j].available || strcmp(c->ev[j].reason, ev->reason)) continue;
            if (!first) append(c->summary, cap, &len, ", ");
            append(c->summary, cap, &len, c->ev[j].name);
            first = 0;
        }
        append(c->summary, cap, &len, ": ");
        append(c->summary, cap, &len, ev->reason);
    }
}

int slide_counters_create(slide_counters **out, const char *event_list, slide_err *err) {
    *out = NULL;
    slide_counters *c = calloc(1, sizeof *c);
    if (!c) return slide_err_set(err, SLIDE_ENOMEM, 0, "cannot allocate counters");
    c->eventset = -1;
    int rc = parse_list(c, event_list ? event_list : SLIDE_COUNTERS_DEFAULT_EVENTS, err);
    if (rc != SLIDE_OK) {
        free(c);
        return rc;
    }
#if HAVE_PAPI_LIB
    c->eventset = PAPI_NULL;
    papi_setup(c);
#else
    for (int i = 0; i < c->n; i++) mark_unavailable(&c->ev[i], "built without PAPI");
#endif
    build_summary(c);
    *out = c;
    return SLIDE_OK;
}

void slide_counters_destroy(slide_counters *c) {
    if (!c) return;
#if HAVE_PAPI_LIB
    papi_teardown(c);
#endif
    free(c->summary);
    free(c);
}

int slide_counters_start(slide_counters *c, slide_err *err) {
    if (c->running) return slide_err_set(err, SLIDE_EINVAL, 0, "counters already started");
#if HAVE_PAPI_LIB
    if (c->n_slots) {
        int rc = PAPI_start(c->eventset);
        if (rc != PAPI_OK) {
            char why[160];
            papi_reason(why, sizeof why, "PAPI_start", rc);
            return slide_err_set(err, SLIDE_EIO, 0, "%s", why);
        }
    }
#endif
    c->running = 1;
    /* rusage last, so the reading after it sees little of PAPI's own work */
    rusage_read(c->ru_start);
    return SLIDE_OK;
}

int slide_counters_stop(slide_counters *c, slide_err *err) {
    if (!c->running) return slide_err_set(err, SLIDE_EINVAL, 0, "counters not started");
    double ru[SLIDE_RU_COUNT];
    rusage_read(ru);
    for (int i = 0; i < SLIDE_RU_COUNT; i++) c->ru_total[i] += ru[i] - c->ru_start[i];
    c->running = 0;
#if HAVE_PAPI_LIB
    if (c->n_slots) {
        long long v[SLIDE_COUNTERS_MAX_EVENTS];
        int rc = PAPI_stop(c->eventset, v);
        if (rc != PAPI_OK) {
            char why[160];
            papi_reason(why, sizeof why, "PAPI_stop", rc);
            return slide_err_set(err, SLIDE_EIO, 0, "%s", why);
        }
        for (int i = 0; i < c->n; i++)
            if (c->ev[i].available) c->ev[i].total += v[c->ev[i].slot];
    }
#else
    (void)err;
#endif
    return SLIDE_OK;
}

int slide_counters_reset(slide_counters *c) {
    if (c->running) return SLIDE_EINVAL;
    for (int i = 0; i < c->n; i++) c->ev[i].total = 0;
    for (int i = 0; i < SLIDE_RU_COUNT; i++) c->ru_total[i] = 0;
    return SLIDE_OK;
}

int slide_counters_n_events(const slide_counters *c) { return c->n; }

const char *slide_counters_event_name(const slide_counters *c, int i) {
    return i >= 0 && i < c->n ? c->ev[i].name : NULL;
}

int slide_counters_event_available(const slide_counters *c, int i) {
    return i >= 0 && i < c->n && c->ev[i].available;
}

const char *slide_counters_event_reason(const slide_counters *c, int i) {
    if (i < 0 || i >= c->n) return "no such event";
    return c->ev[i].available ? NULL : c->ev[i].reason;
}

double slide_counters_value(const slide_counters *c, int i) {
    if (i < 0 || i >= c->n || !c->ev[i].available) return NAN;
    return (double)c->ev[i].total;
}

int slide_counters_find(const slide_counters *c, const char *event) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->ev[i].name, event)) return i;
    return -1;
}

int slide_counters_n_available(const slide_counters *c) {
    int k = 0;
    for (int i = 0; i < c->n; i++) k += c->ev[i].available;
    return k;
}

const char *slide_counters_unavailable_reason(const slide_counters *c) { return c->summary; }

double slide_counters_rusage(const slide_counters *c, int field) {
    return field >= 0 && field < SLIDE_RU_COUNT ? c->ru_total[field] : NAN;
}

int slide_counters_csv_header(const slide_counters *c, char *buf, size_t n) {
    size_t len = 0;
    char col[SLIDE_COUNTERS_MAX_NAME + 8];
    if (n > 0) buf[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        slide_counters_column_name(c->ev[i].name, col, sizeof col);
        if ((i && !append(buf, n, &len, ",")) || !append(buf, n, &len, col)) return -1;
    }
    for (int f = 0; f < SLIDE_RU_COUNT; f++)
        if ((len && !append(buf, n, &len, ",")) || !append(buf, n, &len, ru_names[f])) return -1;
    return (int)len;
}

int slide_counters_csv_values(const slide_counters *c, char *buf, size_t n) {
    size_t len = 0;
    char v[64];
    if (n > 0) buf[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        if (c->ev[i].available)
            snprintf(v, sizeof v, "%lld", c->ev[i].total);
        else
            snprintf(v, sizeof v, "NA");
        if ((i && !append(buf, n, &len, ",")) || !append(buf, n, &len, v)) return -1;
    }
    for (int f = 0; f < SLIDE_RU_COUNT; f++) {
        double x = c->ru_total[f];
        if (isnan(x))
            snprintf(v, sizeof v, "NA");
        else if (f == SLIDE_RU_UTIME || f == SLIDE_RU_STIME)
            snprintf(v, sizeof v, "%.6f", x);
        else
            snprintf(v, sizeof v, "%.0f", x);
        if ((len && !append(buf, n, &len, ",")) || !append(buf, n, &len, v)) return -1;
    }
    return (int)len;
}
