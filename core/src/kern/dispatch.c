/* Runtime choice of the kernel table: what the build compiled in (SLIDE_HAVE_*) and what this
 * CPU supports (__builtin_cpu_supports), parsed from a name (drivers read SLIDE_SIMD themselves). */
#include "kern_internal.h"

#include <string.h>

static const char *const simd_names[] = {"scalar", "avx2", "avx512"};
#define N_SIMD ((int)(sizeof simd_names / sizeof simd_names[0]))

const char *slide_simd_unavailable_reason(int simd) {
    switch (simd) {
    case SLIDE_SIMD_SCALAR: return NULL;
    case SLIDE_SIMD_AVX2:
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
        __builtin_cpu_init();
        /* gcc returns a nonzero mask, not 1: test != 0 */
        if (__builtin_cpu_supports("avx2") == 0) return "CPU lacks avx2";
        if (__builtin_cpu_supports("fma") == 0) return "CPU lacks fma";
        return NULL;
#else
        return "not compiled in (compiler lacks -mavx2 -mfma)";
#endif
    case SLIDE_SIMD_AVX512:
#if defined(SLIDE_HAVE_AVX512) && SLIDE_HAVE_AVX512
        __builtin_cpu_init();
        /* the file is built with F, BW, VL, DQ (and AVX2/FMA): all must be there */
        if (__builtin_cpu_supports("avx512f") == 0) return "CPU lacks avx512f";
        if (__builtin_cpu_supports("avx512bw") == 0) return "CPU lacks avx512bw";
        if (__builtin_cpu_supports("avx512vl") == 0) return "CPU lacks avx512vl";
        if (__builtin_cpu_supports("avx512dq") == 0) return "CPU lacks avx512dq";
        if (__builtin_cpu_supports("avx2") == 0 || __builtin_cpu_supports("fma") == 0)
            return "CPU lacks avx2/fma";
        return NULL;
#else
        return "not compiled in (compiler lacks -mavx512f)";
#endif
    default: return "unknown path";
    }
}

int slide_simd_available(int simd) {
    return simd >= 0 && simd < N_SIMD && slide_simd_unavailable_reason(simd) == NULL;
}

int slide_simd_best(void) {
    for (int s = N_SIMD - 1; s > 0; s--)
        if (slide_simd_available(s)) return s;
    return SLIDE_SIMD_SCALAR;
}

const char *slide_simd_name(int simd) {
    return simd >= 0 && simd < N_SIMD ? simd_names[simd] : "unknown";
}

/* "scalar avx2" etc.: the paths usable here, for error messages. */
static void available_list(char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int s = 0; s < N_SIMD; s++) {
        if (!slide_simd_available(s)) continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", simd_names[s]);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
}

int slide_simd_parse(const char *name, slide_err *err) {
    return slide_simd_parse_from(name, "argument", err);
}

int slide_simd_parse_from(const char *name, const char *from, slide_err *err) {
    if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) return slide_simd_best();
    char avail[64];
    available_list(avail, sizeof avail);
    for (int s = 0; s < N_SIMD; s++) {
        if (strcmp(name, simd_names[s]) != 0) continue;
        const char *why = slide_simd_unavailable_reason(s);
        if (why == NULL) return s;
        slide_err_set(err, SLIDE_EUNSUP, 0,
                      "SIMD path '%s' (%s) is not available here: %s; available: %s, auto", name,
                      from, why, avail);
        return -1;
    }
    slide_err_set(err, SLIDE_EINVAL, 0,
                  "unknown SIMD path '%.100s' (%s); expected scalar, avx2, avx512 or auto; "
                  "available here: %s, auto",
                  name, from, avail);
    return -1;
}

const slide_kern *slide_kern_get(int simd) {
    if (!slide_simd_available(simd)) return NULL;
    switch (simd) {
#if defined(SLIDE_HAVE_AVX512) && SLIDE_HAVE_AVX512
    case SLIDE_SIMD_AVX512: return &slide_kern_avx512;
#endif
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
    case SLIDE_SIMD_AVX2: return &slide_kern_avx2;
#endif
    default: return &slide_kern_scalar;
    }
}
