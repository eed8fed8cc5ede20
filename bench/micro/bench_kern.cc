// Sparse matmul over the active set of a 670,091 x 128 weight slab: forward (gather_dot: one dot
// product per active row) and backward (two axpys per active row), per SIMD path.
#include "micro.h"

#include <cstring>

extern "C" {
#include "slide/kern.h"
#include "slide/mem.h"
}

namespace micro {
namespace {

const int64_t kRows = 670091;
const int64_t kDim = 128;
const int kSets = 32;  // distinct active sets per size, cycled (defeats cache reuse across sets)

struct Slab {
    slide_block w{};
    std::vector<float> bias;
    bool ok = false;
    std::string why;
    ~Slab() { slide_mem_free(&w); }
};

// The weight slab, allocated (THP) and filled on first use.
Slab &slab() {
    static Slab s;
    static bool init = false;
    if (init) return s;
    init = true;
    slide_err err;
    if (slide_mem_alloc(&s.w, (size_t)kRows * kDim * sizeof(float), SLIDE_HP_THP, nullptr,
                        &err) != SLIDE_OK) {
        s.why = err.msg;
        return s;
    }
    fill_uniform((float *)s.w.ptr, (size_t)kRows * kDim, 3, 0);
    s.bias.resize((size_t)kRows);
    fill_uniform(s.bias.data(), s.bias.size(), 3, 1);
    s.ok = true;
    return s;
}

// kSets active sets of n distinct random rows (unsorted, like an LSH union).
std::vector<uint32_t> active_sets(int64_t n) {
    std::vector<uint32_t> ids((size_t)n * kSets);
    std::vector<uint32_t> mark((size_t)kRows, 0);
    slide_rng r;
    slide_rng_seed(&r, 17, (uint64_t)n);
    for (int s = 0; s < kSets; s++) {
        uint32_t *set = &ids[(size_t)s * n];
        for (int64_t j = 0; j < n;) {
            uint32_t id = slide_rng_below(&r, (uint32_t)kRows);
            if (mark[id] == (uint32_t)s + 1) continue;
            mark[id] = (uint32_t)s + 1;
            set[j++] = id;
        }
    }
    return ids;
}

// pass: 0 = forward, 1 = backward.
void bm_matmul(benchmark::State &state, int simd, int pass, int64_t n) {
    const char *why = slide_simd_unavailable_reason(simd);
    if (why) {
        std::string msg = std::string(slide_simd_name(simd)) + " not supported by this CPU (" +
                          why + ")";
        if (strstr(why, "not compiled")) msg = std::string(slide_simd_name(simd)) + ": " + why;
        state.SkipWithError(msg.c_str());
        return;
    }
    const slide_kern *k = slide_kern_get(simd);
    Slab &s = slab();
    if (!s.ok) {
        state.SkipWithError(("cannot allocate the weight slab: " + s.why).c_str());
        return;
    }
    Pin pin(state);
    std::vector<uint32_t> ids = active_sets(n);
    std::vector<float> x((size_t)kDim), dx((size_t)kDim, 0.0f), out((size_t)n), grad((size_t)n);
    fill_uniform(x.data(), x.size(), 4, 0);
    fill_uniform(grad.data(), grad.size(), 4, 1);
    float *W = (float *)s.w.ptr;
    const float lr = 1e-7f;  // tiny, so repeated updates keep the weights in range
    int64_t it = 0;
    Region region(state);
    for (auto _ : state) {
        const uint32_t *set = &ids[(size_t)(it++ % kSets) * n];
        if (pass == 0) {
            k->gather_dot(out.data(), W, kDim, s.bias.data(), set, n, x.data(), kDim);
            benchmark::DoNotOptimize(out.data());
        } else {
            for (int64_t j = 0; j < n; j++) {
                float *row = W + (size_t)set[j] * kDim;
                k->axpy(dx.data(), grad[j], row, kDim);     // input gradient
                k->axpy(row, -lr * grad[j], x.data(), kDim);  // weight update (HOGWILD style)
            }
            benchmark::DoNotOptimize(dx.data());
        }
        benchmark::ClobberMemory();
    }
    region.finish(state);
    double rows = (double)n * (double)state.iterations();
    // Bytes the kernels touch: forward reads each row once; backward reads it, then reads and
    // writes it again.
    double bytes = rows * (double)kDim * sizeof(float) * (pass == 0 ? 1.0 : 3.0);
    state.counters["rows_per_s"] = benchmark::Counter(rows, benchmark::Counter::kIsRate);
    state.counters["gb_per_s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
    state.counters["active"] = (double)n;
    state.SetLabel(k->name);
    add_loadavg(state);
}

}  // namespace

void register_kern() {
    std::vector<int64_t> sizes = {128, 1000, 3000, 10000};
    if (opts().quick) sizes = {128, 1000, 10000};
    for (int pass : {0, 1})
        for (int64_t n : sizes)
            for (int simd : {SLIDE_SIMD_SCALAR, SLIDE_SIMD_AVX2, SLIDE_SIMD_AVX512}) {
                std::string name = std::string(pass == 0 ? "matmul_fwd/" : "matmul_bwd/") +
                                   slide_simd_name(simd) + "/active:" + std::to_string(n);
                benchmark::RegisterBenchmark(name.c_str(), bm_matmul, simd, pass, n)
                    ->Unit(benchmark::kMicrosecond)
                    ->UseRealTime();
            }
}

}  // namespace micro
