/* Error records, status names, timing and the normal sampler shared by all modules. */
#include "slide/common.h"
#include "slide/rng.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

int slide_err_set(slide_err *err, int code, long line, const char *fmt, ...) {
    if (err) {
        err->code = code;
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void slide_err_clear(slide_err *err) {
    if (err) {
        err->code = SLIDE_OK;
        err->line = 0;
        err->msg[0] = '\0';
    }
}

const char *slide_status_name(int code) {
    switch (code) {
    case SLIDE_OK: return "ok";
    case SLIDE_EINVAL: return "invalid";
    case SLIDE_EIO: return "io";
    case SLIDE_EFORMAT: return "format";
    case SLIDE_ENOMEM: return "nomem";
    case SLIDE_ERANGE: return "range";
    case SLIDE_EVERSION: return "version";
    case SLIDE_EUNSUP: return "unsupported";
    default: return "unknown";
    }
}

double slide_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

float slide_rng_normal(slide_rng *r) {
    double u1 = slide_rng_uniform_d(r), u2 = slide_rng_uniform_d(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

int slide_tmpfile_open(slide_tmpfile *t, const char *path, slide_err *err) {
    t->f = NULL;
    t->path = path;
    if (!path || !*path) return slide_err_set(err, SLIDE_EINVAL, 0, "empty output path");
    if (snprintf(t->tmp, sizeof t->tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof t->tmp)
        return slide_err_set(err, SLIDE_EINVAL, 0, "%s: path too long", path);
    t->f = fopen(t->tmp, "wb");
    if (!t->f)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot write: %s", t->tmp, strerror(errno));
    return SLIDE_OK;
}

int slide_tmpfile_commit(slide_tmpfile *t, int bad, int sync, slide_err *err) {
    bad |= ferror(t->f);
    if (!bad && sync) bad |= fflush(t->f) != 0 || fsync(fileno(t->f)) != 0;
    bad |= fclose(t->f) != 0;
    t->f = NULL;
    if (bad) {
        unlink(t->tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: write failed (disk full?)", t->path);
    }
    if (rename(t->tmp, t->path) != 0) {
        int e = errno;
        unlink(t->tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot rename from %s: %s", t->path, t->tmp,
                             strerror(e));
    }
    return SLIDE_OK;
}
