/* The dense baselines' BLAS backends (OpenBLAS, BLIS) behind one row-major sgemm, and the
 * choice of OpenBLAS kernel: a generic fallback on a CPU with AVX2/AVX-512 is replaced. */
#ifndef SLIDE_DENSE_BLAS_H
#define SLIDE_DENSE_BLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C[M][N] = alpha op(A) op(B) + beta C, row-major; op transposes when ta/tb is nonzero. */
typedef void (*slide_blas_sgemm_fn)(int ta, int tb, int M, int N, int K, float alpha,
                                    const float *A, int lda, const float *B, int ldb, float beta,
                                    float *C, int ldc);

typedef struct {
    const char *name;                /* "openblas" or "blis" */
    slide_blas_sgemm_fn sgemm;
    const char *(*core)(void);       /* kernel in use: OpenBLAS corename, BLIS sub-configuration */
    const char *(*config)(void);     /* build description / version */
    void (*set_threads)(int n);      /* the library's own threads per call */
} slide_blas;

/* The backend of that name ("openblas", "blis"), or NULL when this binary was built without it
 * (the Makefile probes both; OpenBLAS is the default). Static tables: never freed. */
const slide_blas *slide_blas_get(const char *name);
/* "openblas" or "openblas|blis": the backends built in. */
const char *slide_blas_names(void);

/* The OpenBLAS kernel to ask for, given the one OpenBLAS chose (`core`, any case) and the CPU's
 * features: NULL to keep it; else the best matching OPENBLAS_CORETYPE ("Cooperlake", "SkylakeX",
 * "Zen", "Haswell"). Only a generic pre-AVX2 kernel (Prescott, Core2, Nehalem, SandyBridge, ...)
 * on a CPU with AVX2+FMA or AVX-512 F/BW/DQ/VL is replaced. Pure: for tests. */
typedef struct {
    int avx2_fma, avx512, avx512_bf16, amd;
} slide_cpu_isa;
const char *slide_blas_pick_core(const char *core, const slide_cpu_isa *cpu);
/* This CPU's features (__builtin_cpu_supports, vendor from cpuid). */
slide_cpu_isa slide_cpu_isa_detect(void);
/* ISA level of an OpenBLAS kernel name: 1 SSE-class, 2 AVX, 3 AVX2, 4 AVX-512, 5 AVX-512 BF16;
 * 0 unknown. */
int slide_blas_core_level(const char *core);

/* For drivers (reads and sets the environment, may re-execute the program). Makes the process
 * run the intended OpenBLAS kernel before any sgemm: `want` is "auto" (replace a generic
 * fallback, keep an OPENBLAS_CORETYPE the user set) or a kernel name (--blas-core). When the
 * running kernel differs, sets OPENBLAS_CORETYPE and execv()s /proc/self/exe with argv once.
 * Returns 0 to go on (note[] says what happened, "" when nothing did), or 2 with msg[] set when
 * a requested kernel is not what runs after the restart. */
int slide_blas_select(const slide_blas *b, const char *want, char **argv, char *note,
                      size_t note_n, char *msg, size_t msg_n);

/* For drivers: the backend `name` ("openblas" or "blis") with the kernel `core` ("auto" or an
 * OpenBLAS name) selected as slide_blas_select does (it may restart the program). Prints a
 * note as "[blas] ..." and an error as "prog: ..." on stderr, one line each; returns NULL after
 * an error (the driver exits 2). */
const slide_blas *slide_blas_open(const char *name, const char *core, char **argv,
                                  const char *prog);

#ifdef __cplusplus
}
#endif
#endif
