/* The OpenBLAS backend of the dense baselines: cblas_sgemm, the kernel OpenBLAS picked at run
 * time (openblas_get_corename) and its thread count. */
#include "blas.h"

#include <cblas.h>

static void ob_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
static const char *ob_core(void) { return openblas_get_corename(); }
static const char *ob_config(void) { return openblas_get_config(); }
static void ob_threads(int n) { openblas_set_num_threads(n); }

const slide_blas slide_blas_openblas = {"openblas", ob_sgemm, ob_core, ob_config, ob_threads};
