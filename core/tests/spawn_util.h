/* Helpers for tests that run the programs as subprocesses (test_crash, test_determinism):
 * locate $SLIDE_BIN, spawn with redirected output, wait with a deadline, read files and CSVs. */
#ifndef SLIDE_SPAWN_UTIL_H
#define SLIDE_SPAWN_UTIL_H

#include "slide/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Absolute path of program name in $SLIDE_BIN (default build/bin) into out; 0 if missing. */
static inline int spawn_find_prog(const char *name, char *out, size_t cap) {
    const char *bin = getenv("SLIDE_BIN");
    char dir[PATH_MAX];
    if (!bin || !*bin) bin = "build/bin";
    if (!realpath(bin, dir)) return 0;
    snprintf(out, cap, "%s/%s", dir, name);
    return access(out, X_OK) == 0;
}

/* Starts argv (NULL-terminated) with stdout and stderr appended to log (NULL: /dev/null) and no
 * core files. Returns the pid or -1. */
static inline pid_t spawn_start(char *const argv[], const char *log) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);
    if (fd < 0) _exit(127);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv);
    _exit(127);
}

static inline void spawn_sleep(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Waits up to timeout_s for pid; on timeout kills it (SIGKILL) and returns -1. Else 0 with the
 * raw wait status in *status. */
static inline int spawn_wait(pid_t pid, double timeout_s, int *status) {
    double t0 = slide_now();
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return 0;
        if (r < 0 && errno != EINTR) return -1;
        if (slide_now() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        spawn_sleep(0.002);
    }
}

/* Exit code of a wait status, or -(signal) when killed by a signal. */
static inline int spawn_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1000;
}

/* Runs argv to completion (deadline timeout_s); returns spawn_code or -2000 on timeout. */
static inline int spawn_run(char *const argv[], const char *log, double timeout_s) {
    pid_t pid = spawn_start(argv, log);
    int st = 0;
    if (pid < 0) return -3000;
    if (spawn_wait(pid, timeout_s, &st)) return -2000;
    return spawn_code(st);
}

/* Whole file as a NUL-terminated string (NULL if unreadable); *n its length. Caller frees. */
static inline char *spawn_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0, r;
    char *b = malloc(cap + 1);
    while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!b) return NULL;
    b[len] = '\0';
    if (n) *n = len;
    return b;
}

static inline int spawn_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Number of comma-separated fields of the line at p (up to '\n' or NUL). */
static inline int csv_fields(const char *p) {
    int n = 1;
    for (; *p && *p != '\n'; p++) n += *p == ',';
    return n;
}

/* Index of column name in the header line, or -1. */
static inline int csv_col(const char *header, const char *name) {
    size_t nl = strlen(name);
    int i = 0;
    for (const char *p = header; *p && *p != '\n'; i++) {
        const char *e = p + strcspn(p, ",\n");
        if ((size_t)(e - p) == nl && !strncmp(p, name, nl)) return i;
        p = *e == ',' ? e + 1 : e;
    }
    return -1;
}

/* Copies field col of the line at p into out. */
static inline void csv_field(const char *p, int col, char *out, size_t cap) {
    for (int i = 0; i < col && *p && *p != '\n'; i++) {
        p += strcspn(p, ",\n");
        if (*p == ',') p++;
    }
    size_t len = strcspn(p, ",\n");
    if (len >= cap) len = cap - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

#endif
