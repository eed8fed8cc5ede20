/* FMA throughput kernel, AVX-512 (16 floats a register; built with -mavx512f). */
#include "peak.h"

#include <immintrin.h>

float slide_peak_fma_avx512(int64_t iters, float x) {
    const __m512 m = _mm512_set1_ps(0.99999994f), c = _mm512_set1_ps(1e-7f);
    __m512 a[12];
    for (int k = 0; k < 12; k++) a[k] = _mm512_set1_ps(x + (float)k * 1e-3f);
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm512_fmadd_ps(a[k], m, c);
    __m512 s = a[0];
    for (int k = 1; k < 12; k++) s = _mm512_add_ps(s, a[k]);
    return _mm512_reduce_add_ps(s);
}
