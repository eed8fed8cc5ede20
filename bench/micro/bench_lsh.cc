// LSH tables: per-query latency (p50/p99) and candidates on tables of 670,091 neurons, and the
// time to insert 205,443 neurons with FIFO vs reservoir buckets (the paper's Table 3).
#include "micro.h"

#include <omp.h>

#include <algorithm>

extern "C" {
#include "slide/hash.h"
#include "slide/lsh.h"
}

namespace micro {
namespace {

const int64_t kQueryNeurons = 670091;  // Amazon-670K output layer
const int64_t kBuildNeurons = 205443;  // Delicious-200K output layer
const int64_t kDim = 128;              // hidden layer width: the rows that are hashed
const int kQueries = 1024;             // distinct query vectors, cycled
const int64_t kChunk = 65536;          // rows generated and hashed at a time

enum { KEYS_UNIFORM = 0, KEYS_HASHED = 1 };

struct TableConfig {
    int keysrc;   // KEYS_UNIFORM: uniform random keys; KEYS_HASHED: hash of random 128-d rows
    int family, K, L, range_bits, cap, probes;
    int64_t n;    // neurons
};

std::string keys_id(const TableConfig &c) {
    char b[160];
    snprintf(b, sizeof b, "%d/%d/%d/%d/%d/%lld", c.keysrc, c.family, c.K, c.L, c.range_bits,
             (long long)c.n);
    return b;
}

// One set of neuron keys and query keys at a time (benchmarks are registered grouped by keys, so
// each set is computed once; 670K x 50 keys are 134 MB).
struct KeyCache {
    std::string id;
    std::vector<uint32_t> neuron;  // n * L
    std::vector<uint32_t> query;   // kQueries * L * (1 + probes)
    int probes = -1;
    double seconds = 0;            // time to compute the neuron keys
};
KeyCache g_keys;

struct TableCache {
    std::string id;
    slide_lsh *t = nullptr;
    double seconds = 0;
    ~TableCache() { slide_lsh_destroy(t); }
};
TableCache g_table;

slide_hash *make_hash(const TableConfig &c, std::string *why) {
    slide_hash_params p = slide_hash_params_default();
    p.family = c.family;
    p.K = c.K;
    p.L = c.L;
    p.dim = kDim;
    p.range_bits = c.range_bits;
    p.seed = 1234;
    slide_hash *h = nullptr;
    slide_err err;
    if (slide_hash_create(&h, &p, &err) != SLIDE_OK) {
        *why = err.msg;
        return nullptr;
    }
    return h;
}

// Fills g_keys for config c (neuron keys + query keys with c.probes probes).
bool ensure_keys(const TableConfig &c, std::string *why) {
    std::string id = keys_id(c);
    if (g_keys.id == id && g_keys.probes == c.probes) return true;
    const uint32_t mask = (uint32_t)((1u << c.range_bits) - 1);
    size_t per_q = (size_t)c.L * (1 + c.probes);
    if (c.keysrc == KEYS_UNIFORM) {
        if (g_keys.id != id) {
            double t0 = slide_now();
            g_keys.neuron.assign((size_t)c.n * c.L, 0);
            slide_rng r;
            slide_rng_seed(&r, 99, 0);
            for (auto &k : g_keys.neuron) k = (uint32_t)slide_rng_next(&r) & mask;
            g_keys.seconds = slide_now() - t0;
        }
        g_keys.query.assign(kQueries * per_q, 0);
        slide_rng r;
        slide_rng_seed(&r, 99, 1);
        for (auto &k : g_keys.query) k = (uint32_t)slide_rng_next(&r) & mask;
    } else {
        slide_hash *h = make_hash(c, why);
        if (!h) return false;
        std::vector<float> rows((size_t)kChunk * kDim);
        if (g_keys.id != id) {
            double t0 = slide_now();
            g_keys.neuron.assign((size_t)c.n * c.L, 0);
            for (int64_t s = 0; s < c.n; s += kChunk) {
                int64_t m = std::min(kChunk, c.n - s);
                fill_uniform(rows.data(), (size_t)m * kDim, 5, (uint64_t)s);
                slide_hash_keys_dense_batch(h, rows.data(), kDim, m, &g_keys.neuron[s * c.L],
                                            omp_get_max_threads());
            }
            g_keys.seconds = slide_now() - t0;
        }
        g_keys.query.assign(kQueries * per_q, 0);
        fill_uniform(rows.data(), (size_t)kQueries * kDim, 6, 0);
        for (int q = 0; q < kQueries; q++)
            slide_hash_keys_dense(h, &rows[(size_t)q * kDim], c.probes, &g_keys.query[q * per_q]);
        slide_hash_destroy(h);
    }
    g_keys.id = id;
    g_keys.probes = c.probes;
    return true;
}

slide_lsh *make_table(const TableConfig &c, int policy, std::string *why) {
    slide_lsh_params p = slide_lsh_params_default();
    p.L = c.L;
    p.range_bits = c.range_bits;
    p.bucket_cap = c.cap;
    p.policy = policy;
    p.max_ids = c.n;
    p.seed = 77;
    p.threads = omp_get_max_threads(); // the build's OpenMP threads (all CPUs unless limited)
    slide_lsh *t = nullptr;
    slide_err err;
    if (slide_lsh_create(&t, &p, &err) != SLIDE_OK) {
        *why = err.msg;
        return nullptr;
    }
    return t;
}

void bm_query(benchmark::State &state, TableConfig c) {
    std::string why;
    if (!ensure_keys(c, &why)) {
        state.SkipWithError(why.c_str());
        return;
    }
    std::string tid = keys_id(c) + "/cap" + std::to_string(c.cap);
    if (g_table.id != tid) {
        slide_lsh_destroy(g_table.t);
        g_table.t = nullptr;
        g_table.id.clear();
        slide_lsh *t = make_table(c, SLIDE_BUCKET_FIFO, &why);
        if (!t) {
            state.SkipWithError(why.c_str());
            return;
        }
        slide_err err;
        double t0 = slide_now();
        if (slide_lsh_build(t, g_keys.neuron.data(), c.n, &err) != SLIDE_OK) {
            slide_lsh_destroy(t);
            state.SkipWithError(err.msg);
            return;
        }
        g_table.seconds = slide_now() - t0;
        g_table.t = t;
        g_table.id = tid;
    }
    slide_lsh_scratch *scratch = slide_lsh_scratch_create(g_table.t, 1 + c.probes);
    if (!scratch) {
        state.SkipWithError("cannot allocate query scratch");
        return;
    }
    Pin pin(state);
    std::vector<uint32_t> out((size_t)c.n);
    std::vector<uint64_t> taken(((size_t)c.n + 63) / 64, 0);
    slide_rng rng;
    slide_rng_seed(&rng, 1, 2);
    std::vector<double> lat;
    lat.reserve(1 << 16);
    int per_table = 1 + c.probes;
    size_t per_q = (size_t)c.L * per_table;
    int64_t cand = 0, raw = 0, probed = 0, i = 0;
    Region region(state);
    for (auto _ : state) {
        const uint32_t *qk = &g_keys.query[(size_t)(i++ % kQueries) * per_q];
        slide_lsh_query_stats st;
        int64_t t0 = now_ns();
        // the query training runs: a bitmap of chosen ids (emptied after, as training does)
        // and the thread's rng for ties at the room (c.n: no truncation here)
        int64_t n = slide_lsh_query_ranked(g_table.t, qk, per_table, c.n, out.data(),
                                           taken.data(), &rng, scratch, &st);
        for (int64_t j = 0; j < n; j++) taken[out[j] >> 6] = 0;
        int64_t t1 = now_ns();
        benchmark::DoNotOptimize(n);
        lat.push_back((double)(t1 - t0) * 1e-3);
        cand += n;
        raw += st.candidates_raw;
        probed += st.buckets_probed;
    }
    region.finish(state);
    slide_lsh_scratch_destroy(scratch);
    double q = (double)state.iterations();
    state.counters["queries_per_s"] = benchmark::Counter(q, benchmark::Counter::kIsRate);
    state.counters["p50_us"] = quantile(lat, 0.50);
    state.counters["p99_us"] = quantile(lat, 0.99);
    state.counters["candidates"] = (double)cand / q;
    state.counters["candidates_raw"] = (double)raw / q;
    state.counters["buckets_probed"] = (double)probed / q;
    state.counters["active_frac"] = (double)cand / q / (double)c.n;
    state.counters["table_mb"] = (double)slide_lsh_memory_bytes(g_table.t) / 1048576.0;
    state.counters["stored_ids"] = (double)slide_lsh_size(g_table.t);
    state.counters["keys_s"] = g_keys.seconds;
    state.counters["build_s"] = g_table.seconds;
    add_loadavg(state);
}

// Table 3: insert kBuildNeurons neurons (SimHash K=9 L=50 keys, 2^9 buckets: most overflow the
// capacity of 128) with FIFO or reservoir. parallel: slide_lsh_build (OpenMP over tables);
// otherwise one slide_lsh_insert per neuron on this thread.
void bm_build(benchmark::State &state, TableConfig c, int policy, bool parallel) {
    std::string why;
    if (!ensure_keys(c, &why)) {
        state.SkipWithError(why.c_str());
        return;
    }
    slide_lsh *t = make_table(c, policy, &why);
    if (!t) {
        state.SkipWithError(why.c_str());
        return;
    }
    const uint32_t *keys = g_keys.neuron.data();
    slide_err err;
    bool ok = true;
    Region region(state);
    for (auto _ : state) {
        if (parallel) {
            ok = ok && slide_lsh_build(t, keys, c.n, &err) == SLIDE_OK;
        } else {
            state.PauseTiming();
            slide_lsh_clear(t);
            state.ResumeTiming();
            for (int64_t i = 0; i < c.n; i++)
                ok = (slide_lsh_insert(t, (uint32_t)i, keys + i * c.L) == SLIDE_OK) && ok;
        }
    }
    region.finish(state);
    if (!ok) {
        state.SkipWithError(parallel ? err.msg : "slide_lsh_insert failed");
        slide_lsh_destroy(t);
        return;
    }
    state.counters["neurons_per_s"] =
        benchmark::Counter((double)c.n * (double)state.iterations(), benchmark::Counter::kIsRate);
    state.counters["neurons"] = (double)c.n;
    state.counters["stored_ids"] = (double)slide_lsh_size(t);
    state.counters["table_mb"] = (double)slide_lsh_memory_bytes(t) / 1048576.0;
    state.counters["omp_threads"] = parallel ? (double)omp_get_max_threads() : 1.0;
    add_loadavg(state);
    slide_lsh_destroy(t);
}

std::string query_name(const TableConfig &c) {
    char b[200];
    if (c.keysrc == KEYS_UNIFORM)
        snprintf(b, sizeof b, "lsh_query/uniform/L:%d/rb:%d/cap:%d/probes:%d", c.L, c.range_bits,
                 c.cap, c.probes);
    else
        snprintf(b, sizeof b, "lsh_query/%s/K:%d/L:%d/rb:%d/cap:%d/probes:%d",
                 slide_hash_family_name(c.family), c.K, c.L, c.range_bits, c.cap, c.probes);
    return b;
}

void add_query(const TableConfig &c) {
    benchmark::RegisterBenchmark(query_name(c).c_str(), bm_query, c)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
}

}  // namespace

void register_lsh() {
    const int S = SLIDE_HASH_SIMHASH, D = SLIDE_HASH_DWTA;
    const int64_t N = kQueryNeurons;
    const int H = KEYS_HASHED, U = KEYS_UNIFORM;
    // Registered grouped by key set (then by capacity) so the caches rebuild rarely.
    if (opts().quick) {
        for (int pr : {0, 1}) add_query({H, D, 6, 50, 18, 128, pr, N});
        add_query({U, S, 9, 50, 9, 128, 0, N});
    } else {
        for (int cap : {32, 128, 512})
            for (int pr : {0, 1, 2, 4}) {
                if (cap != 128 && pr != 0) continue;
                add_query({H, D, 6, 50, 18, cap, pr, N});
            }
        for (int L : {10, 25, 100}) add_query({H, D, 6, L, 18, 128, 0, N});
        for (int rb : {12, 15, 18, 20}) add_query({H, D, 8, 50, rb, 128, 0, N});
        for (int pr : {0, 1, 2}) add_query({H, S, 9, 50, 9, 128, pr, N});
        add_query({H, S, 12, 50, 12, 128, 0, N});
        add_query({H, S, 16, 50, 16, 128, 0, N});
        for (int rb : {9, 18})
            for (int pr : {0, 1}) add_query({U, S, 9, 50, rb, 128, pr, N});
    }
    // Table 3 (same keys for all four; one key computation).
    const TableConfig b = {H, S, 9, 50, 9, 128, 0, kBuildNeurons};
    for (bool parallel : {true, false})
        for (int policy : {SLIDE_BUCKET_FIFO, SLIDE_BUCKET_RESERVOIR}) {
            std::string name = std::string(parallel ? "lsh_build/" : "lsh_insert/") +
                               slide_bucket_policy_name(policy) + "/n:" +
                               std::to_string(kBuildNeurons) + "/simhash/K:9/L:50/rb:9/cap:128";
            auto *bm = benchmark::RegisterBenchmark(name.c_str(), bm_build, b, policy, parallel);
            bm->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(opts().quick ? 3 : 5);
            if (parallel) bm->MeasureProcessCPUTime();  // cpu_time includes the OpenMP workers
        }
}

}  // namespace micro
