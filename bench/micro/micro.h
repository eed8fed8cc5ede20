// Shared pieces of the slide-micro Google Benchmark programs: options (quick mode, thread limit),
// PAPI counters per benchmark run, thread pinning, latency percentiles, random inputs.
#ifndef SLIDE_MICRO_H
#define SLIDE_MICRO_H

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "slide/common.h"
#include "slide/counters.h"
#include "slide/rng.h"
}

namespace micro {

struct Options {
    bool quick = false;        // --quick or SLIDE_MICRO_QUICK=1: the reduced set (< 3 min)
    int max_threads = 0;       // --max-threads=N (default: CPUs this process may run on)
    int cpus = 1;              // CPUs in this process's affinity mask
    bool pin = true;           // pin benchmark threads to CPUs (--no-pin to disable)
    std::string papi_events;   // available PAPI events (comma list) used in every benchmark
};

// The one options object (set by main before registration, read-only afterwards).
const Options &opts();
Options &opts_mut();

// Registration of each benchmark group (one file each).
void register_hash();
void register_lsh();
void register_kern();
void register_mem();

// PAPI + getrusage around the timed loop of one benchmark thread: construct right before
// `for (auto _ : state)`, call finish(state) right after. Available PAPI events become
// state.counters "papi_*" (per iteration); unavailable ones are omitted (the run's context lists
// them). rusage_* fields are added per iteration as well. Counts the calling thread only.
class Region {
public:
    explicit Region(benchmark::State &state);
    ~Region();
    void finish(benchmark::State &state);
    Region(const Region &) = delete;
    Region &operator=(const Region &) = delete;

private:
    slide_counters *c_ = nullptr;
    bool started_ = false;
};

// Pins the calling benchmark thread to CPU (thread_index mod allowed CPUs) for its lifetime and
// restores the previous mask afterwards (thread 0 is the program's main thread).
class Pin {
public:
    explicit Pin(const benchmark::State &state);
    ~Pin();
    Pin(const Pin &) = delete;
    Pin &operator=(const Pin &) = delete;

private:
    bool pinned_ = false;
    unsigned char saved_[128];
};

// Skips (with a reason) when state.threads() exceeds the allowed thread count; returns true when
// it skipped.
bool skip_if_too_many_threads(benchmark::State &state);

// Adds the 1-minute load average as counter "loadavg" (thread 0 only).
void add_loadavg(benchmark::State &state);

// p-quantile (0..1) of a sample by nearest rank after sorting (sorts v).
double quantile(std::vector<double> &v, double p);

// Fills x[0..n) with uniform values in [-1, 1).
void fill_uniform(float *x, size_t n, uint64_t seed, uint64_t stream);

// Monotonic clock in nanoseconds.
int64_t now_ns();

// First line of a text file without its newline; `missing` when it cannot be read.
std::string first_line(const char *path, const char *missing);

// Why an explicit-hugepage allocation of `bytes` fell back (the pool: vm.nr_hugepages and free
// 2 MB pages), for a skip message: a fallback is never reported as an explicit-page number.
std::string explicit_hugepages_reason(size_t bytes);

}  // namespace micro

#endif
