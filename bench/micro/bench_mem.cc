// Hugepages: random 512-byte row gathers (a dot product per row, like the forward pass) over a
// slab of 0.5 / 1 / 2 GB on plain, transparent and explicit hugepages, against a sequential read
// of the same slab size measured in the same run (the memory-bandwidth reference).
#include "micro.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

extern "C" {
#include "slide/kern.h"
#include "slide/mem.h"
}

namespace micro {
namespace {

const int64_t kDim = 128;                        // floats per row: 512 bytes
const size_t kRowBytes = kDim * sizeof(float);
const int64_t kGatherRows = 8192;                // rows per iteration (4 MB)
const int64_t kSeqRows = 65536;                  // rows per iteration of the sequential read (32 MB)
const size_t kIdPool = (size_t)1 << 20;          // random row ids, cycled

// One slab at a time (benchmarks are registered grouped by size and mode).
struct SlabCache {
    int64_t mb = -1;
    int mode = -1;
    slide_block b{};
    double hugepage_mb = 0;  // memory of this slab on huge pages after first touch
    ~SlabCache() { slide_mem_free(&b); }
};
SlabCache g_slab;

// Best sequential-read GB/s per slab size (mode none), recorded by the seq benchmarks.
std::map<int64_t, double> g_seq_ref;

// Allocates and touches the slab; "" or the reason it cannot run.
std::string ensure_slab(int64_t mb, int mode) {
    if (g_slab.mb == mb && g_slab.mode == mode) return "";
    slide_mem_free(&g_slab.b);
    g_slab.mb = -1;
    size_t bytes = (size_t)mb << 20;
    double avail = slide_mem_available_mb();
    if (avail > 0 && (double)mb > 0.8 * avail)
        return "not enough memory: slab " + std::to_string(mb) + " MB, MemAvailable " +
               std::to_string((long long)avail) + " MB";
    double hp0 = slide_mem_hugepage_mb();
    int fell_back = 0;
    slide_err err;
    if (slide_mem_alloc(&g_slab.b, bytes, mode, &fell_back, &err) != SLIDE_OK) return err.msg;
    if (mode == SLIDE_HP_EXPLICIT && fell_back) {
        // Never report a fallback as an explicit-page number.
        slide_mem_free(&g_slab.b);
        return explicit_hugepages_reason(bytes);
    }
    // "none" means 4 KB pages even where THP is set to "always".
    if (mode == SLIDE_HP_NONE) madvise(g_slab.b.ptr, g_slab.b.bytes, MADV_NOHUGEPAGE);
    fill_uniform((float *)g_slab.b.ptr, bytes / sizeof(float), 9, (uint64_t)mb);
    double hp1 = slide_mem_hugepage_mb();
    g_slab.hugepage_mb = hp0 >= 0 && hp1 >= 0 ? hp1 - hp0 : NAN;
    g_slab.mb = mb;
    g_slab.mode = mode;
    return "";
}

// One pass of the reference: reads rows [first, first + n) with the forward kernel.
void seq_pass(const slide_kern *k, const float *W, int64_t first, int64_t n,
              const std::vector<uint32_t> &seq_ids, const float *x, float *out) {
    k->gather_dot(out, W + (size_t)first * kDim, kDim, nullptr, seq_ids.data(), n, x, kDim);
}

// Sequential-read GB/s of the current slab, measured here (when the seq benchmark of this size
// was filtered out): best of 3 passes over at most 512 MB.
double inline_reference(const slide_kern *k, const std::vector<uint32_t> &seq_ids,
                        const float *x, float *out) {
    const float *W = (const float *)g_slab.b.ptr;
    int64_t rows = (int64_t)(((size_t)g_slab.mb << 20) / kRowBytes);
    int64_t span = std::min<int64_t>(rows, (int64_t)((512u << 20) / kRowBytes));
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        int64_t t0 = now_ns();
        for (int64_t r = 0; r + kSeqRows <= span; r += kSeqRows)
            seq_pass(k, W, r, kSeqRows, seq_ids, x, out);
        double s = (double)(now_ns() - t0) * 1e-9;
        double gbs = (double)(span / kSeqRows * kSeqRows) * kRowBytes * 1e-9 / s;
        best = std::max(best, gbs);
    }
    return best;
}

// seq: sequential read (the reference) or random gather.
void bm_mem(benchmark::State &state, int64_t mb, int mode, bool seq) {
    std::string why = ensure_slab(mb, mode);
    if (!why.empty()) {
        state.SkipWithError(why.c_str());
        return;
    }
    const slide_kern *k = slide_kern_get(slide_simd_best());
    Pin pin(state);
    const float *W = (const float *)g_slab.b.ptr;
    int64_t rows = (int64_t)(((size_t)mb << 20) / kRowBytes);
    std::vector<float> x((size_t)kDim), out((size_t)std::max(kGatherRows, kSeqRows));
    fill_uniform(x.data(), x.size(), 10, 0);
    std::vector<uint32_t> seq_ids((size_t)kSeqRows);
    for (int64_t i = 0; i < kSeqRows; i++) seq_ids[(size_t)i] = (uint32_t)i;
    std::vector<uint32_t> rnd;
    if (!seq) {
        rnd.resize(kIdPool);
        slide_rng r;
        slide_rng_seed(&r, 21, (uint64_t)mb);
        for (auto &id : rnd) id = slide_rng_below(&r, (uint32_t)rows);
    }
    int64_t it = 0, per_iter = seq ? kSeqRows : kGatherRows;
    Region region(state);
    int64_t t0 = now_ns();
    for (auto _ : state) {
        if (seq) {
            int64_t first = (it++ * kSeqRows) % (rows / kSeqRows * kSeqRows);
            seq_pass(k, W, first, kSeqRows, seq_ids, x.data(), out.data());
        } else {
            size_t off = (size_t)(it++ * kGatherRows) % kIdPool;
            k->gather_dot(out.data(), W, kDim, nullptr, &rnd[off], kGatherRows, x.data(), kDim);
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    // Our own clock around the same loop, for the ratio (Google Benchmark's rates, computed after
    // this function returns, use the same real time: UseRealTime).
    double loop_s = (double)(now_ns() - t0) * 1e-9;
    region.finish(state);
    double nrows = (double)per_iter * (double)state.iterations();
    double gb = nrows * kRowBytes * 1e-9;
    double gbs = loop_s > 0 ? gb / loop_s : NAN;
    // The reference is the best sequential rate on plain pages seen so far for this size, from
    // runs of 50 ms or more (not Google Benchmark's short calibration runs); without one yet, a
    // reading taken here on the current slab (then kept).
    if (seq && mode == SLIDE_HP_NONE && std::isfinite(gbs) && loop_s >= 0.05 &&
        (!g_seq_ref.count(mb) || gbs > g_seq_ref[mb]))
        g_seq_ref[mb] = gbs;
    if (!g_seq_ref.count(mb)) g_seq_ref[mb] = inline_reference(k, seq_ids, x.data(), out.data());
    double ref_gbs = g_seq_ref[mb];
    state.counters["rows_per_s"] = benchmark::Counter(nrows, benchmark::Counter::kIsRate);
    state.counters["gb_per_s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
    state.counters["ref_gb_per_s"] = ref_gbs;
    state.counters["ratio_to_seq"] = gbs / ref_gbs;
    state.counters["slab_mb"] = (double)mb;
    state.counters["hugepage_mb"] = g_slab.hugepage_mb;
    state.SetLabel(slide_hugepages_name(mode));
    add_loadavg(state);
}

}  // namespace

void register_mem() {
    std::vector<int64_t> sizes = {512, 1024, 2048};
    if (opts().quick) sizes = {512};
    for (int64_t mb : sizes)
        // Plain pages first: their sequential read is the reference of every case of this size.
        // Grouped by mode so each slab is allocated and touched once.
        for (int mode : {SLIDE_HP_NONE, SLIDE_HP_THP, SLIDE_HP_EXPLICIT})
            for (bool seq : {true, false}) {
                std::string name = std::string(seq ? "hugepages_seq/" : "hugepages_gather/") +
                                   slide_hugepages_name(mode) + "/mb:" + std::to_string(mb);
                benchmark::RegisterBenchmark(name.c_str(), bm_mem, mb, mode, seq)
                    ->Unit(benchmark::kMicrosecond)
                    ->UseRealTime();
            }
}

}  // namespace micro
