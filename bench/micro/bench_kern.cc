// Sparse matmul over the active set of a 670,091 x 128 weight slab: forward (gather_dot: one dot
// product per active row) and backward (two axpys per active row), per SIMD path and page mode,
// beside the random row-gather limit of the same rows (matmul_gather_ref: loads and adds only).
#include "micro.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MICRO_X86 1
#endif

extern "C" {
#include "slide/kern.h"
#include "slide/mem.h"
}

namespace micro {
namespace {

const int64_t kRows = 670091;
const int64_t kDim = 128;
const int kSets = 32;  // distinct active sets per size, cycled (defeats cache reuse across sets)
const int64_t kPfRows = 8;  // rows ahead the reference prefetches (gather_dot's SLIDE_KERN_PF_ROWS)
static_assert(kDim % 64 == 0, "the gather reference reads rows in 256-byte steps");

// The weight slab in one page mode at a time (benchmarks are registered grouped by mode, so it is
// allocated and filled once per mode; every mode gets the same values).
struct Slab {
    int mode = -1;
    slide_block w{};
    std::vector<float> bias;
    double hugepage_mb = NAN;  // memory that moved onto huge pages when the slab was touched
    ~Slab() { slide_mem_free(&w); }
};
Slab g_slab;

// Gather-limit rows/s per (page mode, active-set size), recorded by matmul_gather_ref; read by
// matmul_fwd of the same mode and size for ratio_to_gather. `loop_s`: length of the run it came
// from (runs of 50 ms or more are preferred over Google Benchmark's short calibration runs).
struct GatherRef {
    double rows_per_s = 0, loop_s = 0;
};
std::map<std::pair<int, int64_t>, GatherRef> g_gather_ref;
// Prefetch distance the reference chose per (mode, size): 0 or kPfRows, whichever was faster.
std::map<std::pair<int, int64_t>, int64_t> g_gather_pf;

// Allocates and fills the slab in `mode` unless it already is; "" or why it cannot run.
std::string ensure_slab(int mode) {
    if (g_slab.mode == mode) return "";
    slide_mem_free(&g_slab.w);
    g_slab.mode = -1;
    const size_t bytes = (size_t)kRows * kDim * sizeof(float);
    double hp0 = slide_mem_hugepage_mb();
    int fell_back = 0;
    slide_err err;
    if (slide_mem_alloc(&g_slab.w, bytes, mode, &fell_back, &err) != SLIDE_OK)
        return "cannot allocate the weight slab: " + std::string(err.msg);
    if (mode == SLIDE_HP_EXPLICIT && fell_back) {
        // Never report a fallback as an explicit-page number.
        slide_mem_free(&g_slab.w);
        return explicit_hugepages_reason(bytes);
    }
    // "none" means 4 KB pages even where THP is set to "always".
    if (mode == SLIDE_HP_NONE) madvise(g_slab.w.ptr, g_slab.w.bytes, MADV_NOHUGEPAGE);
    fill_uniform((float *)g_slab.w.ptr, (size_t)kRows * kDim, 3, 0);
    double hp1 = slide_mem_hugepage_mb();
    g_slab.hugepage_mb = hp0 >= 0 && hp1 >= 0 ? hp1 - hp0 : NAN;
    if (g_slab.bias.empty()) {
        g_slab.bias.resize((size_t)kRows);
        fill_uniform(g_slab.bias.data(), g_slab.bias.size(), 3, 1);
    }
    g_slab.mode = mode;
    return "";
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

// The gather reference: the sum of rows W[ids[j]] (kDim floats each) folded to one float, with
// the widest loads this CPU has and nothing but vertical adds; pf > 0 prefetches the row pf
// ahead, line by line, as gather_dot does. Every byte of every row is loaded and feeds the result.
#ifdef MICRO_X86
#if defined(SLIDE_HAVE_AVX512) && SLIDE_HAVE_AVX512
__attribute__((target("avx512f"), noinline)) float gather_sum_avx512(const float *W,
                                                                     const uint32_t *ids,
                                                                     int64_t n, int64_t pf) {
    __m512 a[8];
    for (auto &v : a) v = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j++) {
        if (pf && j + pf < n) {
            const char *q = (const char *)(W + (size_t)ids[j + pf] * kDim);
            for (int64_t o = 0; o < kDim * 4; o += 64) _mm_prefetch(q + o, _MM_HINT_T0);
        }
        const float *r = W + (size_t)ids[j] * kDim;
        for (int64_t i = 0; i < kDim; i += 128)
            for (int u = 0; u < 8; u++) a[u] = _mm512_add_ps(a[u], _mm512_loadu_ps(r + i + 16 * u));
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])),
                             _mm512_add_ps(_mm512_add_ps(a[4], a[5]), _mm512_add_ps(a[6], a[7])));
    float l[16];
    _mm512_storeu_ps(l, s);
    float t = 0;
    for (float v : l) t += v;
    return t;
}
#endif

#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
__attribute__((target("avx2"), noinline)) float gather_sum_avx2(const float *W,
                                                               const uint32_t *ids, int64_t n,
                                                               int64_t pf) {
    __m256 a[8];
    for (auto &v : a) v = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; j++) {
        if (pf && j + pf < n) {
            const char *q = (const char *)(W + (size_t)ids[j + pf] * kDim);
            for (int64_t o = 0; o < kDim * 4; o += 64) _mm_prefetch(q + o, _MM_HINT_T0);
        }
        const float *r = W + (size_t)ids[j] * kDim;
        for (int64_t i = 0; i < kDim; i += 64)
            for (int u = 0; u < 8; u++) a[u] = _mm256_add_ps(a[u], _mm256_loadu_ps(r + i + 8 * u));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])),
                             _mm256_add_ps(_mm256_add_ps(a[4], a[5]), _mm256_add_ps(a[6], a[7])));
    float l[8];
    _mm256_storeu_ps(l, s);
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}
#endif

__attribute__((noinline)) float gather_sum_sse2(const float *W, const uint32_t *ids, int64_t n,
                                                int64_t pf) {
    __m128 a[8];
    for (auto &v : a) v = _mm_setzero_ps();
    for (int64_t j = 0; j < n; j++) {
        if (pf && j + pf < n) {
            const char *q = (const char *)(W + (size_t)ids[j + pf] * kDim);
            for (int64_t o = 0; o < kDim * 4; o += 64) _mm_prefetch(q + o, _MM_HINT_T0);
        }
        const float *r = W + (size_t)ids[j] * kDim;
        for (int64_t i = 0; i < kDim; i += 32)
            for (int u = 0; u < 8; u++) a[u] = _mm_add_ps(a[u], _mm_loadu_ps(r + i + 4 * u));
    }
    __m128 s = _mm_add_ps(_mm_add_ps(_mm_add_ps(a[0], a[1]), _mm_add_ps(a[2], a[3])),
                          _mm_add_ps(_mm_add_ps(a[4], a[5]), _mm_add_ps(a[6], a[7])));
    float l[4];
    _mm_storeu_ps(l, s);
    return (l[0] + l[1]) + (l[2] + l[3]);
}
#endif

#ifndef MICRO_X86
// Plain C++ (any CPU): 16 independent sums, so the adds never limit the loads.
__attribute__((noinline)) float gather_sum_plain(const float *W, const uint32_t *ids, int64_t n,
                                                 int64_t pf) {
    (void)pf;
    float a[16] = {0};
    for (int64_t j = 0; j < n; j++) {
        const float *r = W + (size_t)ids[j] * kDim;
        for (int64_t i = 0; i < kDim; i += 16)
            for (int u = 0; u < 16; u++) a[u] += r[i + u];
    }
    float s = 0;
    for (float v : a) s += v;
    return s;
}
#endif

typedef float (*GatherSum)(const float *, const uint32_t *, int64_t, int64_t);

// The widest gather reference this CPU runs, and its name.
GatherSum gather_sum_best(const char **name) {
#ifdef MICRO_X86
#if defined(SLIDE_HAVE_AVX512) && SLIDE_HAVE_AVX512
    if (slide_simd_available(SLIDE_SIMD_AVX512)) {
        *name = "avx512";
        return gather_sum_avx512;
    }
#endif
#if defined(SLIDE_HAVE_AVX2) && SLIDE_HAVE_AVX2
    if (slide_simd_available(SLIDE_SIMD_AVX2)) {
        *name = "avx2";
        return gather_sum_avx2;
    }
#endif
    *name = "sse2";
    return gather_sum_sse2;
#else
    *name = "plain";
    return gather_sum_plain;
#endif
}

// Skips (with the reason) when the slab cannot be had in `mode`; true when it skipped.
bool skip_without_slab(benchmark::State &state, int mode) {
    std::string why = ensure_slab(mode);
    if (why.empty()) return false;
    state.SkipWithError(why.c_str());
    return true;
}

// Counters every matmul row has.
void add_common(benchmark::State &state, int64_t n, double rows, double bytes_per_row) {
    state.counters["rows_per_s"] = benchmark::Counter(rows, benchmark::Counter::kIsRate);
    state.counters["gb_per_s"] =
        benchmark::Counter(rows * bytes_per_row * 1e-9, benchmark::Counter::kIsRate);
    state.counters["active"] = (double)n;
    state.counters["hugepage_mb"] = g_slab.hugepage_mb;
    add_loadavg(state);
}

// pass: 0 = forward, 1 = backward.
void bm_matmul(benchmark::State &state, int simd, int pass, int mode, int64_t n) {
    const char *why = slide_simd_unavailable_reason(simd);
    if (why) {
        std::string msg = std::string(slide_simd_name(simd)) + " not supported by this CPU (" +
                          why + ")";
        if (strstr(why, "not compiled")) msg = std::string(slide_simd_name(simd)) + ": " + why;
        state.SkipWithError(msg.c_str());
        return;
    }
    const slide_kern *k = slide_kern_get(simd);
    if (skip_without_slab(state, mode)) return;
    Pin pin(state);
    std::vector<uint32_t> ids = active_sets(n);
    std::vector<float> x((size_t)kDim), dx((size_t)kDim, 0.0f), out((size_t)n), grad((size_t)n);
    fill_uniform(x.data(), x.size(), 4, 0);
    fill_uniform(grad.data(), grad.size(), 4, 1);
    float *W = (float *)g_slab.w.ptr;
    const float *bias = g_slab.bias.data();
    const float lr = 1e-7f;  // tiny, so repeated updates keep the weights in range
    int64_t it = 0;
    Region region(state);
    int64_t t0 = now_ns();
    for (auto _ : state) {
        const uint32_t *set = &ids[(size_t)(it++ % kSets) * n];
        if (pass == 0) {
            k->gather_dot(out.data(), W, kDim, bias, set, n, x.data(), kDim);
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
    // Our own clock around the same loop, for the ratio (Google Benchmark's rates use the same
    // real time: UseRealTime).
    double loop_s = (double)(now_ns() - t0) * 1e-9;
    region.finish(state);
    double rows = (double)n * (double)state.iterations();
    // Bytes the kernels touch: forward reads each row once; backward reads it, then reads and
    // writes it again.
    add_common(state, n, rows, (double)kDim * sizeof(float) * (pass == 0 ? 1.0 : 3.0));
    auto ref = g_gather_ref.find({mode, n});
    if (pass == 0 && ref != g_gather_ref.end() && loop_s > 0) {
        state.counters["ref_rows_per_s"] = ref->second.rows_per_s;
        state.counters["ratio_to_gather"] = rows / loop_s / ref->second.rows_per_s;
    }
    state.SetLabel(k->name);
}

// Rows/s of one pass over every active set with gather sum g and prefetch distance pf.
double gather_pass_rate(GatherSum g, const float *W, const std::vector<uint32_t> &ids, int64_t n,
                        int64_t pf) {
    float sink = 0;
    int64_t t0 = now_ns();
    for (int s = 0; s < kSets; s++) sink += g(W, &ids[(size_t)s * n], n, pf);
    double sec = (double)(now_ns() - t0) * 1e-9;
    benchmark::DoNotOptimize(sink);
    return sec > 0 ? (double)n * kSets / sec : 0;
}

// The prefetch distance (0 or kPfRows) that reads these sets faster: best of two alternating
// passes each, after one warm-up pass (chosen once per mode and size, then kept).
int64_t choose_prefetch(GatherSum g, const float *W, const std::vector<uint32_t> &ids,
                        int mode, int64_t n) {
    auto it = g_gather_pf.find({mode, n});
    if (it != g_gather_pf.end()) return it->second;
    gather_pass_rate(g, W, ids, n, kPfRows);
    double with = 0, without = 0;
    for (int rep = 0; rep < 2; rep++) {
        without = std::max(without, gather_pass_rate(g, W, ids, n, 0));
        with = std::max(with, gather_pass_rate(g, W, ids, n, kPfRows));
    }
    int64_t pf = with >= without ? kPfRows : 0;
    g_gather_pf[{mode, n}] = pf;
    return pf;
}

// Checks the reference against a plain sum of set 0 (before timing): every float of every row
// must reach the result. "" or what is wrong.
std::string check_gather_sum(GatherSum g, const float *W, const std::vector<uint32_t> &ids,
                             int64_t n, int64_t pf) {
    double want = 0, mag = 0;
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < kDim; i++) {
            double v = W[(size_t)ids[(size_t)j] * kDim + i];
            want += v;
            mag += std::fabs(v);
        }
    double got = g(W, ids.data(), n, pf);
    if (std::fabs(got - want) <= 1e-5 * mag + 1e-3) return "";
    char msg[160];
    snprintf(msg, sizeof msg, "gather reference sum %.6g differs from the plain sum %.6g", got,
             want);
    return msg;
}

// matmul_gather_ref: the same rows of the same slab as matmul_fwd (same active sets), read with
// loads and vertical adds only; its rate is the gather limit matmul_fwd is compared against.
void bm_gather_ref(benchmark::State &state, int mode, int64_t n) {
    if (skip_without_slab(state, mode)) return;
    const char *isa = nullptr;
    GatherSum g = gather_sum_best(&isa);
    Pin pin(state);
    std::vector<uint32_t> ids = active_sets(n);
    const float *W = (const float *)g_slab.w.ptr;
    int64_t pf = choose_prefetch(g, W, ids, mode, n);
    std::string bad = check_gather_sum(g, W, ids, n, pf);
    if (!bad.empty()) {
        state.SkipWithError(bad.c_str());
        return;
    }
    float sink = 0;
    int64_t it = 0;
    Region region(state);
    int64_t t0 = now_ns();
    for (auto _ : state) {
        sink += g(W, &ids[(size_t)(it++ % kSets) * n], n, pf);
        benchmark::DoNotOptimize(sink);
    }
    double loop_s = (double)(now_ns() - t0) * 1e-9;
    region.finish(state);
    double rows = (double)n * (double)state.iterations();
    double rate = loop_s > 0 ? rows / loop_s : 0;
    // Kept: the best rate of runs of 50 ms or more; until there is one, the longest run's.
    if (rate > 0) {
        auto old = g_gather_ref.find({mode, n});
        bool had = old != g_gather_ref.end(), long_run = loop_s >= 0.05;
        bool had_long = had && old->second.loop_s >= 0.05;
        if (!had || (long_run && (!had_long || rate > old->second.rows_per_s)) ||
            (!long_run && !had_long && loop_s > old->second.loop_s))
            g_gather_ref[{mode, n}] = GatherRef{rate, loop_s};
    }
    add_common(state, n, rows, (double)kDim * sizeof(float));
    state.counters["prefetch_rows"] = (double)pf;
    state.SetLabel(isa);
}

void add_fwd(int simd, int mode, int64_t n) {
    std::string name = std::string("matmul_fwd/") + slide_simd_name(simd) + "/" +
                       slide_hugepages_name(mode) + "/active:" + std::to_string(n);
    benchmark::RegisterBenchmark(name.c_str(), bm_matmul, simd, 0, mode, n)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
}

void add_bwd(int simd, int mode, int64_t n) {
    std::string name = std::string("matmul_bwd/") + slide_simd_name(simd) + "/" +
                       slide_hugepages_name(mode) + "/active:" + std::to_string(n);
    benchmark::RegisterBenchmark(name.c_str(), bm_matmul, simd, 1, mode, n)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
}

void add_ref(int mode, int64_t n) {
    std::string name = std::string("matmul_gather_ref/") + slide_hugepages_name(mode) +
                       "/active:" + std::to_string(n);
    benchmark::RegisterBenchmark(name.c_str(), bm_gather_ref, mode, n)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
}

}  // namespace

// Grouped by page mode (THP first: the mode of the training slabs), so the slab is allocated and
// filled once per mode; within a size the reference runs before the forward cases that read it.
void register_kern() {
    const bool quick = opts().quick;
    const int best = slide_simd_best();
    const int paths[] = {SLIDE_SIMD_SCALAR, SLIDE_SIMD_AVX2, SLIDE_SIMD_AVX512};
    std::vector<int64_t> sizes = {128, 1000, 3000, 10000};
    if (quick) sizes = {128, 1000, 10000};
    // THP: every path, forward then backward. Quick: the reference (and the best path beside it)
    // only at 3,000 active rows.
    for (int64_t n : sizes) {
        if (!quick) add_ref(SLIDE_HP_THP, n);
        for (int simd : paths) add_fwd(simd, SLIDE_HP_THP, n);
    }
    if (quick) {
        add_ref(SLIDE_HP_THP, 3000);
        add_fwd(best, SLIDE_HP_THP, 3000);
    }
    for (int64_t n : sizes)
        for (int simd : paths) add_bwd(simd, SLIDE_HP_THP, n);
    // Plain and explicit pages: the best path, forward only (quick: plain pages, 3,000 rows).
    std::vector<int> modes = {SLIDE_HP_NONE, SLIDE_HP_EXPLICIT};
    std::vector<int64_t> other_sizes = {1000, 3000, 10000};
    if (quick) {
        modes = {SLIDE_HP_NONE};
        other_sizes = {3000};
    }
    for (int mode : modes)
        for (int64_t n : other_sizes) {
            add_ref(mode, n);
            add_fwd(best, mode, n);
        }
}

}  // namespace micro
