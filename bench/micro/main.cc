// slide-micro: Google Benchmark microbenchmarks of the SLIDE building blocks (hashing, LSH tables,
// sparse matmul kernels, hugepage gathers) with our run context and PAPI counters per benchmark.
#include "micro.h"

#include <omp.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include "slide/hash.h"
#include "slide/kern.h"
#include "slide/mem.h"
#include "slide/report.h"
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-micro [--quick] [--max-threads=N] [--no-pin] [--papi-events=LIST]\n"
            "                   [Google Benchmark flags: --benchmark_filter=REGEX\n"
            "                    --benchmark_out=FILE --benchmark_out_format=json\n"
            "                    --benchmark_min_time=0.2 --benchmark_repetitions=3 ...]\n"
            "  --quick             reduced set (also SLIDE_MICRO_QUICK=1): a few minutes at most\n"
            "  --max-threads=N     thread counts 1..N for threaded benchmarks (default: CPUs in\n"
            "                      this process's affinity mask; counts above it are skipped)\n"
            "  --no-pin            do not pin benchmark threads to CPUs\n"
            "  --papi-events=LIST  PAPI events (also SLIDE_PAPI_EVENTS; default: "
            "slide/counters.h)\n"
            "Results: JSON via --benchmark_out; slide-gbench2csv turns it into CSV\n"
            "(results/SCHEMA-micro.md).\n");
}

// Strict positive integer.
static bool parse_int(const char *s, int *out) {
    char *end = nullptr;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > 4096) return false;
    *out = (int)v;
    return true;
}

// Bracketed choice of /sys/kernel/mm/transparent_hugepage/enabled ("madvise"), or "NA".
static std::string thp_setting() {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return "NA";
    char buf[256] = "";
    if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
    fclose(f);
    char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : nullptr;
    if (!a || !b) return "NA";
    return std::string(a + 1, b);
}

// Commas would split a CSV field later: the context is copied into CSV rows.
static std::string csv_safe(const std::string &s) {
    std::string o;
    for (char ch : s) {
        if (ch == ',' || ch == '"' || ch == '\n' || ch == '\r') ch = ' ';
        if (ch == ' ' && !o.empty() && o.back() == ' ') continue;
        o += ch;
    }
    while (!o.empty() && o.back() == ' ') o.pop_back();
    return o;
}

int main(int argc, char **argv) {
    micro::Options &o = micro::opts_mut();
    const char *env_quick = getenv("SLIDE_MICRO_QUICK");
    o.quick = env_quick && *env_quick && strcmp(env_quick, "0") != 0;
    const char *env_events = getenv("SLIDE_PAPI_EVENTS");
    std::string requested = env_events && *env_events ? env_events : SLIDE_COUNTERS_DEFAULT_EVENTS;

    // Our flags are removed; everything else goes to Google Benchmark.
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quick")) {
            o.quick = true;
        } else if (!strncmp(a, "--max-threads=", 14)) {
            if (!parse_int(a + 14, &o.max_threads)) {
                fprintf(stderr, "slide-micro: bad --max-threads '%s' (want 1..4096)\n", a + 14);
                return 2;
            }
        } else if (!strcmp(a, "--no-pin")) {
            o.pin = false;
        } else if (!strncmp(a, "--papi-events=", 14)) {
            requested = a + 14;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;

    cpu_set_t set;
    o.cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    if (o.cpus < 1) o.cpus = 1;
    // Start OpenMP's pool now, from an unpinned main thread, so its workers inherit the full
    // CPU mask (threads created later from a pinned benchmark thread would inherit one CPU).
    int omp_threads = 0;
#pragma omp parallel
    {
#pragma omp atomic
        omp_threads++;
    }

    // PAPI: probe the requested events once; benchmarks then count only the available ones.
    std::string papi_avail, papi_reason = "";
    {
        slide_counters *c = nullptr;
        slide_err err;
        if (slide_counters_create(&c, requested.c_str(), &err) != SLIDE_OK) {
            fprintf(stderr, "slide-micro: PAPI events: %s\n", err.msg);
            return 2;
        }
        for (int i = 0; i < slide_counters_n_events(c); i++) {
            if (!slide_counters_event_available(c, i)) continue;
            if (!papi_avail.empty()) papi_avail += ",";
            papi_avail += slide_counters_event_name(c, i);
        }
        if (slide_counters_unavailable_reason(c)) {
            papi_reason = slide_counters_unavailable_reason(c);
            fprintf(stderr, "slide-micro: note: %s (their counters are omitted)\n",
                    papi_reason.c_str());
        }
        slide_counters_destroy(c);
    }
    o.papi_events = papi_avail;

    slide_context ctx;
    slide_context_fill(&ctx, getenv("SLIDE_RUN_ID"));
    char utc[32], load[32];
    slide_utc_now(utc, sizeof utc);
    slide_loadavg(load, sizeof load);
    int best = slide_simd_best();
    std::string simd_off;
    for (int s = 0; s <= SLIDE_SIMD_AVX512; s++) {
        const char *why = slide_simd_unavailable_reason(s);
        if (!why) continue;
        if (!simd_off.empty()) simd_off += "; ";
        simd_off += std::string(slide_simd_name(s)) + ": " + why;
    }
    std::string hash_simd = "NA";
    {
        slide_hash_params hp = slide_hash_params_default();
        hp.dim = 128;
        slide_hash *h = nullptr;
        slide_err err;
        if (slide_hash_create(&h, &hp, &err) == SLIDE_OK) hash_simd = slide_hash_simd_path(h);
        slide_hash_destroy(h);
    }
    std::string papi_ctx = papi_avail;
    for (char &ch : papi_ctx)
        if (ch == ',') ch = ' ';
    if (papi_ctx.empty())
        papi_ctx = slide_counters_built_with_papi() ? "none" : "none (built without PAPI)";

    benchmark::AddCustomContext("run_id", csv_safe(ctx.run_id));
    benchmark::AddCustomContext("utc", utc);
    benchmark::AddCustomContext("git_commit", csv_safe(ctx.git_commit));
    benchmark::AddCustomContext("host", csv_safe(ctx.host));
    benchmark::AddCustomContext("cpu_model", csv_safe(ctx.cpu_model));
    benchmark::AddCustomContext("compiler", csv_safe(slide_build_compiler()));
    benchmark::AddCustomContext("simd", slide_simd_name(best));
    benchmark::AddCustomContext("simd_unavailable", csv_safe(simd_off.empty() ? "none" : simd_off));
    benchmark::AddCustomContext("hash_simd", hash_simd);
    benchmark::AddCustomContext("hugepages", "thp");
    benchmark::AddCustomContext("thp_enabled", thp_setting());
    benchmark::AddCustomContext("nr_hugepages", micro::first_line("/proc/sys/vm/nr_hugepages", "NA"));
    benchmark::AddCustomContext("papi", csv_safe(papi_ctx));
    benchmark::AddCustomContext("papi_requested", csv_safe(requested));
    benchmark::AddCustomContext("papi_unavailable", csv_safe(papi_reason.empty() ? "none"
                                                                                 : papi_reason));
    benchmark::AddCustomContext("loadavg_start", load);
    benchmark::AddCustomContext("cpus", std::to_string(o.cpus));
    benchmark::AddCustomContext("max_threads", std::to_string(o.max_threads > 0 ? o.max_threads
                                                                                : o.cpus));
    benchmark::AddCustomContext("omp_threads", std::to_string(omp_threads));
    benchmark::AddCustomContext("omp_proc_bind", csv_safe(ctx.omp_proc_bind));
    benchmark::AddCustomContext("pinned", o.pin ? "yes" : "no");
    benchmark::AddCustomContext("quick", o.quick ? "yes" : "no");

    micro::register_hash();
    micro::register_lsh();
    micro::register_kern();
    micro::register_mem();

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        usage(stderr);
        return 2;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
