/* The BLIS backend of the dense baselines, through BLIS's own typed API (bli_sgemm with general
 * strides), so that it links beside OpenBLAS: both libraries define cblas_sgemm. */
#include "blas.h"

#include <blis.h>
#include <stdio.h>

static void bl_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    /* Row-major: row stride = leading dimension, column stride 1. The stored (untransposed)
     * matrix is what the strides describe; the trans flag says to use its transpose. */
    bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
              (dim_t)M, (dim_t)N, (dim_t)K, &alpha, (float *)A, (inc_t)lda, 1, (float *)B,
              (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1);
}
static const char *bl_core(void) { return bli_arch_string(bli_arch_query_id()); }
static const char *bl_config(void) {
    static char buf[64];
    snprintf(buf, sizeof buf, "BLIS %s", bli_info_get_version_str());
    return buf;
}
static void bl_threads(int n) { bli_thread_set_num_threads((dim_t)n); }

const slide_blas slide_blas_blis = {"blis", bl_sgemm, bl_core, bl_config, bl_threads};
