/* Backend lookup and the OpenBLAS kernel choice of the dense baselines (see blas.h). */
#include "blas.h"

#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern const slide_blas slide_blas_openblas;
#ifdef SLIDE_HAVE_BLIS
extern const slide_blas slide_blas_blis;
#endif

const slide_blas *slide_blas_get(const char *name) {
    if (!strcmp(name, "openblas")) return &slide_blas_openblas;
#ifdef SLIDE_HAVE_BLIS
    if (!strcmp(name, "blis")) return &slide_blas_blis;
#endif
    return NULL;
}

const char *slide_blas_names(void) {
#ifdef SLIDE_HAVE_BLIS
    return "openblas|blis";
#else
    return "openblas";
#endif
}

int slide_blas_core_level(const char *core) {
    static const char *const lv[][12] = {
        {NULL},
        {"katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
         "dunnington", "nehalem", "generic", NULL},
        {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator", "barcelona",
         "opteron", "opteron_sse3", "bobcat", "nano", NULL},
        {"haswell", "zen", NULL},
        {"skylakex", NULL},
        {"cooperlake", "sapphirerapids", NULL}};
    if (!core) return 0;
    for (int l = 1; l <= 5; l++)
        for (int i = 0; lv[l][i]; i++)
            if (!strcasecmp(core, lv[l][i])) return l;
    return 0;
}

const char *slide_blas_pick_core(const char *core, const slide_cpu_isa *cpu) {
    const int level = slide_blas_core_level(core);
    if (level == 0 || level >= 3) return NULL; /* unknown, or already an AVX2/AVX-512 kernel */
    if (cpu->avx512) return cpu->avx512_bf16 ? "Cooperlake" : "SkylakeX";
    if (cpu->avx2_fma) return cpu->amd ? "Zen" : "Haswell";
    return NULL;
}

slide_cpu_isa slide_cpu_isa_detect(void) {
    slide_cpu_isa c = {0, 0, 0, 0};
    __builtin_cpu_init();
    c.avx2_fma = __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
    c.avx512 = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
               __builtin_cpu_supports("avx512dq") != 0 && __builtin_cpu_supports("avx512vl") != 0;
    unsigned a, b, cx, d;
    if (c.avx512 && __get_cpuid_count(7, 1, &a, &b, &cx, &d)) c.avx512_bf16 = (a >> 5) & 1;
    if (__get_cpuid(0, &a, &b, &cx, &d)) {
        char v[13];
        memcpy(v, &b, 4);
        memcpy(v + 4, &d, 4);
        memcpy(v + 8, &cx, 4);
        v[12] = 0;
        c.amd = !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
    }
    return c;
}

#define REEXEC_ENV "SLIDE_BLAS_REEXEC" /* set across the one restart: the kernel before it */

int slide_blas_select(const slide_blas *b, const char *want, char **argv, char *note,
                      size_t note_n, char *msg, size_t msg_n) {
    note[0] = msg[0] = 0;
    const int explicit_core = strcmp(want, "auto") != 0;
    const char *cur = b->core();
    if (strcmp(b->name, "openblas")) {
        if (!explicit_core) return 0;
        snprintf(msg, msg_n, "--blas-core %s: only OpenBLAS kernels can be chosen; BLIS picks "
                 "its own (here %s)", want, cur);
        return 2;
    }
    const char *env = getenv("OPENBLAS_CORETYPE");
    const char *before = getenv(REEXEC_ENV);
    const char *target;
    if (explicit_core) {
        target = want;
    } else if (env && !before) {
        snprintf(note, note_n, "OPENBLAS_CORETYPE=%s from the environment kept (kernel %s)", env,
                 cur);
        return 0;
    } else {
        const slide_cpu_isa cpu = slide_cpu_isa_detect();
        target = slide_blas_pick_core(cur, &cpu);
        if (!target) target = before ? env : NULL; /* after the restart: what was asked for */
    }
    if (!target || !strcasecmp(cur, target)) {
        if (before)
            snprintf(note, note_n, "kernel %s (restarted with OPENBLAS_CORETYPE=%s; it was %s)",
                     cur, target ? target : env, before);
        return 0;
    }
    if (before) { /* restarted once already: OpenBLAS did not take the kernel */
        if (explicit_core) {
            snprintf(msg, msg_n, "--blas-core %s: this OpenBLAS does not provide that kernel "
                     "(it runs %s); see OpenBLAS's OPENBLAS_CORETYPE names", want, cur);
            return 2;
        }
        snprintf(note, note_n, "OpenBLAS kept its generic kernel %s although %s was asked for",
                 cur, target);
        return 0;
    }
    setenv("OPENBLAS_CORETYPE", target, 1);
    setenv(REEXEC_ENV, cur, 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: this process still runs the old kernel */
    unsetenv(REEXEC_ENV);
    if (explicit_core) {
        snprintf(msg, msg_n, "--blas-core %s: could not restart with OPENBLAS_CORETYPE set "
                 "(run with OPENBLAS_CORETYPE=%s instead)", want, want);
        return 2;
    }
    snprintf(note, note_n, "kernel %s is a generic fallback; restart with OPENBLAS_CORETYPE=%s "
             "failed, so it stays", cur, target);
    return 0;
}

const slide_blas *slide_blas_open(const char *name, const char *core, char **argv,
                                  const char *prog) {
    const slide_blas *b = slide_blas_get(name);
    if (!b) {
        fprintf(stderr, "%s: --blas %s: not built in (this build has %s; apt-get install "
                "libblis-dev and rebuild)\n", prog, name, slide_blas_names());
        return NULL;
    }
    char note[256], msg[256];
    if (slide_blas_select(b, core, argv, note, sizeof note, msg, sizeof msg)) {
        fprintf(stderr, "%s: %s\n", prog, msg);
        return NULL;
    }
    if (note[0]) fprintf(stderr, "[blas] %s\n", note);
    return b;
}
