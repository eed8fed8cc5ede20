/* Minimal test harness: CHECK records a failure with file:line and keeps going;
 * TEST_MAIN_END returns nonzero when anything failed. One test program per module. */
#ifndef SLIDE_TEST_UTIL_H
#define SLIDE_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

static int t_checks = 0, t_failures = 0;

#define CHECK(cond)                                                               \
    do {                                                                          \
        t_checks++;                                                               \
        if (!(cond)) {                                                            \
            t_failures++;                                                         \
            fprintf(stderr, "CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
        }                                                                         \
    } while (0)

#define CHECKF(cond, ...)                                                         \
    do {                                                                          \
        t_checks++;                                                               \
        if (!(cond)) {                                                            \
            t_failures++;                                                         \
            fprintf(stderr, "CHECK failed: %s (%s:%d): ", #cond, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
        }                                                                         \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                     \
    CHECKF(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g (tol %g)", (double)(a), \
           (double)(b), (double)(tol))

#define TEST_MAIN_END()                                                           \
    do {                                                                          \
        fprintf(stderr, "%s: %d checks, %d failures\n", __FILE__, t_checks, t_failures); \
        return t_failures ? 1 : 0;                                                \
    } while (0)

/* The float of BF16 bits h (exact). */
static inline float f_of_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Whether h is one of the two BF16 values next to x (x's upper half, or that plus one when
 * x is not exactly representable): what a stochastic rounding of x may give. */
static inline int bf16_is_neighbour(float x, uint16_t h) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)((u >> 16) + ((u & 0xffffu) != 0));
    return h == lo || h == hi;
}

/* Directory for scratch files of a test (created; under build/). */
static inline const char *test_tmpdir(void) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "build/tmp/test-%d", (int)getpid());
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        if (system(cmd) != 0) { fprintf(stderr, "cannot create %s\n", dir); exit(1); }
    }
    return dir;
}

#endif
