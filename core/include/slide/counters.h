/* Hardware and software event counters around code regions: PAPI events (each added on its own,
 * the ones this machine cannot count recorded as unavailable with PAPI's reason) plus getrusage
 * readings that always work. Unavailable values are NaN and are written to CSV as NA, never 0. */
#ifndef SLIDE_COUNTERS_H
#define SLIDE_COUNTERS_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default event list (comma separated): cycles, instructions, L1/L2 data misses, L3 misses,
 * data-TLB misses (PAPI presets; need a hardware PMU) and page faults, task clock, context
 * switches (perf_event software events; work in virtual machines too). */
#define SLIDE_COUNTERS_DEFAULT_EVENTS                                                        \
    "PAPI_TOT_CYC,PAPI_TOT_INS,PAPI_L1_DCM,PAPI_L2_DCM,PAPI_L3_TCM,PAPI_TLB_DM,"              \
    "perf::PAGE-FAULTS,perf::TASK-CLOCK,perf::CONTEXT-SWITCHES"

#define SLIDE_COUNTERS_MAX_EVENTS 32
#define SLIDE_COUNTERS_MAX_NAME 96

/* getrusage readings recorded with every measurement (columns rusage_*). */
typedef enum {
    SLIDE_RU_MINFLT = 0, /* minor page faults (count) */
    SLIDE_RU_MAJFLT,     /* major page faults (count) */
    SLIDE_RU_NVCSW,      /* voluntary context switches (count) */
    SLIDE_RU_NIVCSW,     /* involuntary context switches (count) */
    SLIDE_RU_UTIME,      /* user CPU time (s) */
    SLIDE_RU_STIME,      /* system CPU time (s) */
    SLIDE_RU_COUNT
} slide_rusage_field;

typedef struct slide_counters slide_counters;

/* Whether this library was built with PAPI (SLIDE_HAVE_PAPI). */
int slide_counters_built_with_papi(void);

/* Creates a counter set for the calling thread. event_list: comma-separated PAPI event names
 * (presets such as PAPI_TOT_CYC or native names such as perf::PAGE-FAULTS); NULL = the default
 * list; "" (or only separators) = no PAPI event, just the rusage readings. Spaces around names
 * are ignored; at most SLIDE_COUNTERS_MAX_EVENTS names of up
 * to SLIDE_COUNTERS_MAX_NAME-1 characters each (else SLIDE_EINVAL).
 * Each event is tried on its own (add, start, stop); one that fails is kept in the list as
 * unavailable with PAPI's reason, and the others still count. A machine without PAPI, without a
 * PMU or with PAPI failing to initialise is not an error: the events are all unavailable.
 * PAPI counts per thread: create, start, stop and destroy the object on the thread whose work
 * it measures (one object per thread; objects are not shared between threads). The rusage
 * readings use RUSAGE_THREAD, so they describe the same thread.
 * Caller owns *out (slide_counters_destroy). Never prints. */
int slide_counters_create(slide_counters **out, const char *event_list, slide_err *err);
void slide_counters_destroy(slide_counters *c);

/* Starts counting (a region). SLIDE_EINVAL when already started. Values accumulate over all
 * start/stop pairs since creation or the last reset. */
int slide_counters_start(slide_counters *c, slide_err *err);
/* Stops counting and adds the region's counts to the totals. SLIDE_EINVAL when not started;
 * SLIDE_EIO when PAPI fails to read (the PAPI values of this region are then dropped). */
int slide_counters_stop(slide_counters *c, slide_err *err);
/* Zeroes the totals (not allowed while started: returns SLIDE_EINVAL). */
int slide_counters_reset(slide_counters *c);

/* Events in the order they were listed (unavailable ones included). */
int slide_counters_n_events(const slide_counters *c);
/* Event name as given; NULL when i is out of range. */
const char *slide_counters_event_name(const slide_counters *c, int i);
/* 1 when event i counts on this machine. */
int slide_counters_event_available(const slide_counters *c, int i);
/* Why event i is unavailable (e.g. "Event does not exist (PAPI error -7)", "built without
 * PAPI"); NULL when available. */
const char *slide_counters_event_reason(const slide_counters *c, int i);
/* Accumulated count of event i; NaN when unavailable or out of range. */
double slide_counters_value(const slide_counters *c, int i);
/* Index of an event by its name (exact, as listed) or -1. */
int slide_counters_find(const slide_counters *c, const char *event);
/* Number of available events. */
int slide_counters_n_available(const slide_counters *c);
/* One text that explains every unavailable event, for a program to print once to stderr, e.g.
 * "PAPI: 7 of 9 events unavailable: PAPI_TOT_CYC, PAPI_TOT_INS, ...: Event does not exist (PAPI
 * error -7); NOT_AN_EVENT: Not supported (PAPI error -18)" (events sharing a reason are grouped);
 * NULL when every event is available. Valid for the object's lifetime. */
const char *slide_counters_unavailable_reason(const slide_counters *c);

/* Accumulated getrusage delta of the calling thread (counts, or seconds for UTIME/STIME). */
double slide_counters_rusage(const slide_counters *c, int field);
/* "rusage_minflt", "rusage_majflt", "rusage_nvcsw", "rusage_nivcsw", "rusage_utime_s",
 * "rusage_stime_s"; NULL for an unknown field. */
const char *slide_counters_rusage_name(int field);

/* CSV column of an event: "papi_" + the name lower-cased, each run of characters other than
 * [a-z0-9] turned into one '_', without a leading "papi_" of the name itself and without a
 * trailing '_': PAPI_TOT_CYC -> papi_tot_cyc, perf::PAGE-FAULTS -> papi_perf_page_faults.
 * Writes at most n bytes (always terminated when n > 0); returns the full length. */
int slide_counters_column_name(const char *event, char *buf, size_t n);

/* Header fields (no newline): one papi_* column per event in order, then the rusage_* columns.
 * Returns the length written, or -1 when buf is too small. */
int slide_counters_csv_header(const slide_counters *c, char *buf, size_t n);
/* The matching values: integers for counts, seconds with 6 decimals for times, NA for an
 * unavailable event. Returns the length written, or -1 when buf is too small. */
int slide_counters_csv_values(const slide_counters *c, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
