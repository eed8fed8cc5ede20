/* slidebench common definitions: status codes, the error record every fallible call fills,
 * and the always-on internal assert. The library never prints to stdout and never exits. */
#ifndef SLIDE_COMMON_H
#define SLIDE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (the "error class" of a failure). 0 is success. */
typedef enum {
    SLIDE_OK = 0,
    SLIDE_EINVAL = 1,   /* bad parameter / impossible configuration */
    SLIDE_EIO = 2,      /* cannot open/read/write a file */
    SLIDE_EFORMAT = 3,  /* malformed file content (has a line number when text) */
    SLIDE_ENOMEM = 4,   /* allocation failed or would exceed a limit */
    SLIDE_ERANGE = 5,   /* id or number out of its allowed range */
    SLIDE_EVERSION = 6, /* binary file of another version / magic */
    SLIDE_EUNSUP = 7    /* feature not available on this build or machine */
} slide_status;

/* Error record: code, 1-based line (0 when not about a text line) and a one-line message
 * that names the file (and line) where relevant. */
typedef struct {
    int code;
    long line;
    char msg[512];
} slide_err;

/* Sets err (if non-NULL) and returns code. printf-style message. */
int slide_err_set(slide_err *err, int code, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void slide_err_clear(slide_err *err);
const char *slide_status_name(int code);

/* Always-on assert for internal invariants (never for user errors). */
#define SLIDE_ASSERT(x)                                                                  \
    do {                                                                                 \
        if (!(x)) {                                                                      \
            fprintf(stderr, "SLIDE_ASSERT failed: %s at %s:%d\n", #x, __FILE__, __LINE__); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* Keeps a function out of line in the profile build (-DSLIDE_PROFILE_BUILD, `make
 * profile-cache`), so that a call-graph profile can attribute its cost to a training phase;
 * empty in every other build, which inlines as it likes. */
#ifdef SLIDE_PROFILE_BUILD
#define SLIDE_PROFILE_NOINLINE __attribute__((noinline))
#else
#define SLIDE_PROFILE_NOINLINE
#endif

/* An output file written as <path>.tmp.<pid> and renamed over path only when complete, so a
 * reader never sees a half-written file. */
typedef struct {
    FILE *f;
    const char *path;
    char tmp[4200];
} slide_tmpfile;

/* Opens <path>.tmp.<pid> for writing (binary). SLIDE_EINVAL for an empty or too long path,
 * SLIDE_EIO when it cannot be created. */
int slide_tmpfile_open(slide_tmpfile *t, const char *path, slide_err *err);
/* Closes the temp file (after fflush + fsync when sync) and renames it over path. When bad is
 * nonzero or any step fails, the temp file is removed and path is left untouched (SLIDE_EIO). */
int slide_tmpfile_commit(slide_tmpfile *t, int bad, int sync, slide_err *err);

/* Build facts recorded into every result row. */
const char *slide_build_commit(void);
const char *slide_build_compiler(void);
const char *slide_build_flags(void);

/* Monotonic time in seconds. */
double slide_now(void);

#ifdef __cplusplus
}
#endif
#endif
