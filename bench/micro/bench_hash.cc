// Hashing throughput: SimHash / WTA / DWTA table keys of dense 128-d vectors and sparse
// Amazon-670K-shaped inputs (D = 135,909, 76 nonzeros), over K, L and 1..CPUs threads; and the
// batch API (slide_hash_keys_dense_batch, OpenMP over rows) on 1..CPUs OpenMP threads.
#include "micro.h"

#include <omp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

extern "C" {
#include "slide/hash.h"
}

namespace micro {
namespace {

const int64_t kDenseDim = 128;
const int64_t kSparseDim = 135909;
const int kSparseNnz = 76;
const int kPool = 256;  // input vectors per thread, cycled
const int kBatch = 4096;  // rows per slide_hash_keys_dense_batch call

struct HashConfig {
    int family, K, L, probes;
    bool sparse;
};

// Hash objects are const after creation and shared by the benchmark threads; built once.
std::mutex g_mu;
std::map<std::string, slide_hash *> g_hashes;

struct HashCacheFree {
    ~HashCacheFree() {
        for (auto &kv : g_hashes) slide_hash_destroy(kv.second);
    }
} g_free_at_exit;

slide_hash *get_hash(const HashConfig &c, std::string *why) {
    std::lock_guard<std::mutex> lock(g_mu);
    std::string key = std::to_string(c.family) + "/" + std::to_string(c.K) + "/" +
                      std::to_string(c.L) + "/" + (c.sparse ? "s" : "d");
    auto it = g_hashes.find(key);
    if (it != g_hashes.end()) return it->second;
    slide_hash_params p = slide_hash_params_default();
    p.family = c.family;
    p.K = c.K;
    p.L = c.L;
    p.dim = c.sparse ? kSparseDim : kDenseDim;
    int bits = c.family == SLIDE_HASH_SIMHASH ? 1 : 3;  // bin size 8 for WTA/DWTA
    p.range_bits = c.K * bits < 18 ? c.K * bits : 18;   // the original's RangePow 18 at most
    p.seed = 42;
    slide_hash *h = nullptr;
    slide_err err;
    if (slide_hash_create(&h, &p, &err) != SLIDE_OK) {
        *why = err.msg;
        return nullptr;
    }
    g_hashes[key] = h;
    return h;
}

void bm_hash(benchmark::State &state, HashConfig c) {
    if (skip_if_too_many_threads(state)) return;
    std::string why;
    slide_hash *h = get_hash(c, &why);
    if (!h) {
        state.SkipWithError(why.c_str());
        return;
    }
    Pin pin(state);
    uint64_t stream = (uint64_t)state.thread_index() + 1;
    std::vector<uint32_t> keys((size_t)c.L * (1 + c.probes));
    std::vector<float> dense;
    std::vector<int32_t> idx;
    std::vector<float> val;
    if (!c.sparse) {
        dense.resize((size_t)kPool * kDenseDim);
        fill_uniform(dense.data(), dense.size(), 7, stream);
    } else {
        // Sorted distinct feature ids per vector, values in [0, 1) like tf-idf weights.
        idx.resize((size_t)kPool * kSparseNnz);
        val.resize(idx.size());
        slide_rng r;
        slide_rng_seed(&r, 11, stream);
        for (int v = 0; v < kPool; v++) {
            int32_t *ix = &idx[(size_t)v * kSparseNnz];
            int n = 0;
            while (n < kSparseNnz) {
                int32_t f = (int32_t)slide_rng_below(&r, (uint32_t)kSparseDim);
                bool dup = false;
                for (int j = 0; j < n; j++) dup |= ix[j] == f;
                if (!dup) ix[n++] = f;
            }
            std::sort(ix, ix + kSparseNnz);
            for (int j = 0; j < kSparseNnz; j++)
                val[(size_t)v * kSparseNnz + j] = slide_rng_uniform(&r);
        }
    }
    size_t i = 0;
    Region region(state);
    for (auto _ : state) {
        size_t v = i++ % kPool;
        if (!c.sparse)
            slide_hash_keys_dense(h, &dense[v * kDenseDim], c.probes, keys.data());
        else
            slide_hash_keys_sparse(h, &idx[v * kSparseNnz], &val[v * kSparseNnz], kSparseNnz,
                                   c.probes, keys.data());
        benchmark::DoNotOptimize(keys.data());
        benchmark::ClobberMemory();
    }
    region.finish(state);
    state.counters["vectors_per_s"] =
        benchmark::Counter((double)state.iterations(), benchmark::Counter::kIsRate);
    add_loadavg(state);
    state.SetLabel(slide_hash_simd_path(h));
}

// One slide_hash_keys_dense_batch call of kBatch rows per iteration on `threads` OpenMP threads
// (the benchmark itself runs on one thread, pinned; the OpenMP workers keep the full CPU mask).
void bm_hash_batch(benchmark::State &state, HashConfig c) {
    const int threads = (int)state.range(0);
    const Options &o = opts();
    int allowed = o.max_threads > 0 ? o.max_threads : o.cpus;
    if (threads > o.cpus || threads > allowed) {
        state.SkipWithError("more OpenMP threads requested than CPUs available");
        return;
    }
    std::string why;
    slide_hash *h = get_hash(c, &why);
    if (!h) {
        state.SkipWithError(why.c_str());
        return;
    }
    Pin pin(state);
    std::vector<float> dense((size_t)kBatch * kDenseDim);
    fill_uniform(dense.data(), dense.size(), 7, 1);
    std::vector<uint32_t> keys((size_t)kBatch * c.L);
    slide_hash_keys_dense_batch(h, dense.data(), kDenseDim, kBatch, keys.data(), threads);  // warm up
    Region region(state);
    for (auto _ : state) {
        slide_hash_keys_dense_batch(h, dense.data(), kDenseDim, kBatch, keys.data(), threads);
        benchmark::DoNotOptimize(keys.data());
        benchmark::ClobberMemory();
    }
    region.finish(state);
    // Validate after timing: the batch keys equal the single-vector keys.
    std::vector<uint32_t> one((size_t)c.L);
    for (int i = 0; i < kBatch; i += 97) {
        slide_hash_keys_dense(h, &dense[(size_t)i * kDenseDim], 0, one.data());
        if (!std::equal(one.begin(), one.end(), keys.begin() + (ptrdiff_t)i * c.L)) {
            state.SkipWithError("batch keys differ from slide_hash_keys_dense");
            return;
        }
    }
    state.counters["vectors_per_s"] = benchmark::Counter(
        (double)state.iterations() * kBatch, benchmark::Counter::kIsRate);
    state.counters["omp_threads"] = threads;
    add_loadavg(state);
    state.SetLabel(slide_hash_simd_path(h));
}

void add_batch(const HashConfig &c) {
    std::string name = std::string("hash_dense_batch/") + slide_hash_family_name(c.family) +
                       "/K:" + std::to_string(c.K) + "/L:" + std::to_string(c.L);
    auto *b = benchmark::RegisterBenchmark(name.c_str(), bm_hash_batch, c);
    b->UseRealTime()->ArgName("threads");
    const Options &o = opts();
    int tmax = o.max_threads > 0 ? o.max_threads : o.cpus;
    for (int t = 1; t <= tmax; t++) b->Arg(t);
}

void add(const HashConfig &c) {
    std::string name = std::string(c.sparse ? "hash_sparse/" : "hash_dense/") +
                       slide_hash_family_name(c.family) + "/K:" + std::to_string(c.K) +
                       "/L:" + std::to_string(c.L) + "/probes:" + std::to_string(c.probes);
    auto *b = benchmark::RegisterBenchmark(name.c_str(), bm_hash, c);
    b->UseRealTime();
    const Options &o = opts();
    int tmax = o.max_threads > 0 ? o.max_threads : o.cpus;
    for (int t = 1; t <= tmax; t++) b->Threads(t);
}

}  // namespace

void register_hash() {
    const int S = SLIDE_HASH_SIMHASH, W = SLIDE_HASH_WTA, D = SLIDE_HASH_DWTA;
    if (opts().quick) {
        for (int f : {S, W, D}) add({f, f == S ? 9 : 6, 50, 0, false});
        add({S, 9, 50, 0, true});
        add({D, 6, 50, 0, true});
        add_batch({S, 9, 50, 0, false});
        add_batch({D, 6, 50, 0, false});
        return;
    }
    for (bool sparse : {false, true}) {
        for (int K : {6, 9, 12, 16}) add({S, K, 50, 0, sparse});
        for (int L : {10, 25, 100}) add({S, 9, L, 0, sparse});
        add({S, 9, 50, 4, sparse});
        for (int f : {W, D}) {
            for (int K : {4, 6, 8}) add({f, K, 50, 0, sparse});
            for (int L : {10, 25, 100}) add({f, 6, L, 0, sparse});
        }
        add({D, 6, 50, 4, sparse});
    }
    add_batch({S, 9, 50, 0, false});
    add_batch({D, 6, 50, 0, false});
}

}  // namespace micro
