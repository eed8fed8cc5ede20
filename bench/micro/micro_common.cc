// Shared pieces of slide-micro: options, PAPI regions, thread pinning, percentiles, inputs.
#include "micro.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

extern "C" {
#include "slide/report.h"
}

namespace micro {

static Options g_opts;

const Options &opts() { return g_opts; }
Options &opts_mut() { return g_opts; }

Region::Region(benchmark::State &state) {
    slide_err err;
    // Only the events found available at start-up ("" = none: rusage only), so no run pays for
    // probing events that cannot count.
    if (slide_counters_create(&c_, g_opts.papi_events.c_str(), &err) != SLIDE_OK) {
        c_ = nullptr;
        return;
    }
    if (slide_counters_start(c_, &err) == SLIDE_OK) started_ = true;
    (void)state;
}

Region::~Region() { slide_counters_destroy(c_); }

void Region::finish(benchmark::State &state) {
    if (!c_ || !started_) return;
    slide_err err;
    started_ = false;
    if (slide_counters_stop(c_, &err) != SLIDE_OK) return;
    char col[SLIDE_COUNTERS_MAX_NAME + 8];
    for (int i = 0; i < slide_counters_n_events(c_); i++) {
        if (!slide_counters_event_available(c_, i)) continue;
        slide_counters_column_name(slide_counters_event_name(c_, i), col, sizeof col);
        state.counters[col] = benchmark::Counter(slide_counters_value(c_, i),
                                                 benchmark::Counter::kAvgIterations);
    }
    for (int f = 0; f < SLIDE_RU_COUNT; f++)
        state.counters[slide_counters_rusage_name(f)] =
            benchmark::Counter(slide_counters_rusage(c_, f), benchmark::Counter::kAvgIterations);
}

Pin::Pin(const benchmark::State &state) {
    static_assert(sizeof(cpu_set_t) <= sizeof(saved_), "cpu_set_t larger than expected");
    if (!g_opts.pin) return;
    cpu_set_t cur;
    if (pthread_getaffinity_np(pthread_self(), sizeof cur, &cur) != 0) return;
    int n = CPU_COUNT(&cur);
    if (n < 1) return;
    int want = state.thread_index() % n, k = 0, cpu = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &cur) && k++ == want) {
            cpu = c;
            break;
        }
    if (cpu < 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0) {
        memcpy(saved_, &cur, sizeof cur);
        pinned_ = true;
    }
}

Pin::~Pin() {
    if (!pinned_) return;
    cpu_set_t cur;
    memcpy(&cur, saved_, sizeof cur);
    pthread_setaffinity_np(pthread_self(), sizeof cur, &cur);
}

bool skip_if_too_many_threads(benchmark::State &state) {
    int allowed = g_opts.max_threads > 0 ? g_opts.max_threads : g_opts.cpus;
    if (state.threads() <= g_opts.cpus && state.threads() <= allowed) return false;
    char msg[200];
    snprintf(msg, sizeof msg,
             "%d threads requested but only %d CPUs available to this process "
             "(sched_getaffinity): oversubscribed run skipped",
             state.threads(), g_opts.cpus);
    state.SkipWithError(msg);
    return true;
}

void add_loadavg(benchmark::State &state) {
    if (state.thread_index() != 0) return;
    char buf[32];
    slide_loadavg(buf, sizeof buf);
    char *end = nullptr;
    double v = strtod(buf, &end);
    if (end != buf) state.counters["loadavg"] = benchmark::Counter(v);
}

double quantile(std::vector<double> &v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    size_t k = (size_t)std::ceil(p * (double)v.size());
    if (k < 1) k = 1;
    if (k > v.size()) k = v.size();
    return v[k - 1];
}

void fill_uniform(float *x, size_t n, uint64_t seed, uint64_t stream) {
    slide_rng r;
    slide_rng_seed(&r, seed, stream);
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * slide_rng_uniform(&r) - 1.0f;
}

std::string first_line(const char *path, const char *missing) {
    FILE *f = fopen(path, "r");
    if (!f) return missing;
    char buf[256] = "";
    if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

std::string explicit_hugepages_reason(size_t bytes) {
    std::string nr = first_line("/proc/sys/vm/nr_hugepages", "?");
    std::string fr = first_line("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "?");
    if (nr == "0") return "explicit hugepages unavailable: pool empty (vm.nr_hugepages=0)";
    size_t need = (bytes + ((size_t)2 << 20) - 1) >> 21;
    return "explicit hugepages unavailable: pool too small (vm.nr_hugepages=" + nr +
           ", free 2 MB pages " + fr + ", need " + std::to_string(need) + ")";
}

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace micro
