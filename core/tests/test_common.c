/* Tests for the common layer: error records and the RNG (determinism, range, moments). */
#include "slide/common.h"
#include "slide/rng.h"
#include "test_util.h"

int main(void) {
    slide_err e;
    CHECK(slide_err_set(&e, SLIDE_EFORMAT, 7, "f.txt:%d: bad", 7) == SLIDE_EFORMAT);
    CHECK(e.line == 7 && strcmp(e.msg, "f.txt:7: bad") == 0);
    CHECK(strcmp(slide_status_name(SLIDE_EIO), "io") == 0);

    slide_rng a, b, c;
    slide_rng_seed(&a, 42, 0);
    slide_rng_seed(&b, 42, 0);
    slide_rng_seed(&c, 42, 1);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 100; i++) {
        uint64_t x = slide_rng_next(&a), y = slide_rng_next(&b), z = slide_rng_next(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);

    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    int n = 200000, inrange = 1;
    long hist[10] = {0};
    for (int i = 0; i < n; i++) {
        float u = slide_rng_uniform(&a);
        inrange &= u >= 0.0f && u < 1.0f;
        sum += u; sum2 += (double)u * u;
        uint32_t k = slide_rng_below(&a, 10);
        inrange &= k < 10;
        hist[k]++;
        float g = slide_rng_normal(&a);
        nsum += g; nsum2 += (double)g * g;
    }
    CHECK(inrange);
    CHECK_NEAR(sum / n, 0.5, 0.005);
    CHECK_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
    CHECK_NEAR(nsum / n, 0.0, 0.01);
    CHECK_NEAR(nsum2 / n, 1.0, 0.02);
    for (int k = 0; k < 10; k++) CHECK_NEAR(hist[k] / (double)n, 0.1, 0.005);
    TEST_MAIN_END();
}
