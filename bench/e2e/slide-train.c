/* slide-train: trains the SLIDE network on an XC data set and appends one CSV row per
 * evaluation point (time-vs-accuracy). Thin wrapper over the library; see --help. */
#include "slide/checkpoint.h"
#include "slide/counters.h"
#include "slide/data.h"
#include "slide/kern.h"
#include "slide/mem.h"
#include "slide/network.h"
#include "slide/opts.h"
#include "slide/report.h"
#include "slide/rng.h"
#include "slide/tlbsim.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef SLIDE_HAVE_VALGRIND
#include <valgrind/callgrind.h>
#endif

static volatile sig_atomic_t g_stop = 0; /* set by SIGINT/SIGTERM: finish the batch, then stop */
static void on_signal(int sig) { g_stop = sig; }

/* Driver state saved in checkpoints next to the network (followed by the epoch permutation). */
typedef struct {
    uint64_t magic;
    int64_t n_train;
    slide_rng rng;
    int64_t seen, iter, last_eval_iter, pos, epoch;
    double train_s, last_eval_train_s, eval_s_total;
    slide_train_stats st_int, st_all;
} run_state;
#define RUN_STATE_MAGIC 0x534C494445535431ULL

typedef struct {
    slide_run_opts r; /* the options every driver shares (slide/opts.h) */
    const char *simd, *checkpoint, *resume, *numa;
    int no_pin, mips, hash_rotate, bf16, shared_fill, adam_bf16, bf16_only, train_order;
    const char *papi_events;
    int checkpoint_every;
    double max_mem_mb;
    int threads, full_output, sampled_inference, tlb_sim;
    uint64_t seed;
    int hidden, family, K, L, range_bits, bin_size, sparsity, bucket_cap, policy, probes;
    double min_active, max_active, rebuild_decay;
    int rehash, rebuild, hugepages;
    const char *profile_batches;
} args_t;

/* --profile-batches A:B (batches counted from 1): under callgrind (bench/profile/
 * profile_cache.sh), instrumentation starts one batch before A so that the simulated caches are
 * warm, costs are collected over batches A..B only, and the run ends after batch B. */
typedef struct {
    int64_t a, b, samples;
} profile_win;

static int profile_parse(const char *s, profile_win *p) {
    char *e1, *e2;
    memset(p, 0, sizeof *p);
    if (!*s) return 0;
    errno = 0;
    long long a = strtoll(s, &e1, 10);
    if (e1 == s || *e1 != ':') return -1;
    long long b = strtoll(e1 + 1, &e2, 10);
    if (errno || e2 == e1 + 1 || *e2 || a < 1 || b < a) return -1;
    p->a = a;
    p->b = b;
    return 0;
}

/* Batches the run trains, counted up to `upto` (the loop below, without the training). */
static int64_t batches_planned(int64_t n, int64_t batch, int64_t total, int64_t seen, int64_t pos,
                               int64_t iter, int64_t upto) {
    while (seen < total && iter < upto) {
        if (pos >= n) pos = 0;
        int64_t nb = batch;
        if (nb > n - pos) nb = n - pos;
        if (nb > total - seen) nb = total - seen;
        pos += nb;
        seen += nb;
        iter++;
    }
    return iter;
}

/* Callgrind client requests around batch `batch` (before it: after = 0); no-ops outside
 * valgrind and without --profile-batches. */
static void profile_step(profile_win *p, int64_t batch, int64_t nb, int after) {
    if (!p->b || batch < p->a - 1 || batch > p->b) return;
    if (after && batch >= p->a) p->samples += nb;
#ifdef SLIDE_HAVE_VALGRIND
    if (!after) {
        if (batch == (p->a > 1 ? p->a - 1 : 1)) CALLGRIND_START_INSTRUMENTATION;
        if (batch == p->a) CALLGRIND_TOGGLE_COLLECT;
    } else if (batch == p->b) {
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_STOP_INSTRUMENTATION;
    }
#endif
}


static void stats_add(slide_train_stats *a, const slide_train_stats *b) {
    a->loss_sum += b->loss_sum;
    a->samples += b->samples;
    a->active_sum += b->active_sum;
    a->label_sum += b->label_sum;
    a->lsh_sum += b->lsh_sum;
    a->t_forward += b->t_forward;
    a->t_backward += b->t_backward;
    a->t_update += b->t_update;
    a->t_rehash += b->t_rehash;
    a->t_hash += b->t_hash;
    a->t_query += b->t_query;
    a->t_fwd += b->t_fwd;
    a->t_bwd += b->t_bwd;
    a->t_sort += b->t_sort;
    a->t_logits += b->t_logits;
    a->t_softmax += b->t_softmax;
    a->t_rehash_keys += b->t_rehash_keys;
    a->t_rehash_tables += b->t_rehash_tables;
}

/* <csv stem>.<suffix>.csv */
static void stem_path(char *path, size_t cap, const char *csv_path, const char *suffix) {
    size_t n = strlen(csv_path);
    if (n > 4 && !strcmp(csv_path + n - 4, ".csv")) n -= 4;
    snprintf(path, cap, "%.*s.%s.csv", (int)n, csv_path, suffix);
}

/* Median bin of a histogram (-1 when empty). */
static int median_bin(const int64_t *h, int nb) {
    int64_t tot = 0, acc = 0;
    for (int b = 0; b < nb; b++) tot += h[b];
    for (int b = 0; b < nb && tot > 0; b++)
        if (2 * (acc += h[b]) >= tot) return b;
    return -1;
}

/* Appends one evaluation's recall diagnosis (slide_eval_result.rc_*) to <csv stem>.recall.csv:
 * a row per non-empty cosine bin of each neuron set. With say, also a summary on stderr. */
static int write_recall(const char *csv_path, const slide_context *ctx, const char *system,
                        const char *dataset, int threads, const char *fam, int K, int L,
                        int probes, int mips,
                        long long iter, double epoch, const char *eval_set,
                        const slide_eval_result *ev, int say, slide_err *err) {
    char path[4200];
    stem_path(path, sizeof path, csv_path, "recall");
    slide_csv *c = NULL;
    int rc = slide_csv_open(&c, path,
                            "run_id,utc,git_commit,host,cpu_model,system,dataset,threads,"
                            "hash_family,K,L,probes,mips,"
                            "iter,epoch,eval_set,neurons_of,cos_lo,cos_hi,neurons,found,recall,"
                            "tables_matched,table_rate",
                            err);
    if (rc) return rc;
    char utc[32], row[1024];
    slide_utc_now(utc, sizeof utc);
    const double wb = 2.0 / SLIDE_RECALL_BINS;
    const char *set_name[2] = {"top5", "random"};
    /* top-5 neurons found, by cosine: below 0.5, 0.5 to 0.8, 0.8 and above */
    int64_t g_n[3] = {0, 0, 0}, g_f[3] = {0, 0, 0}, tot[2] = {0, 0}, fnd[2] = {0, 0};
    for (int set = 0; set < 2; set++)
        for (int b = 0; b < SLIDE_RECALL_BINS && !rc; b++) {
            const int64_t n = ev->rc_n[set][b], f = ev->rc_found[set][b];
            if (!n) continue;
            const double lo = -1.0 + b * wb, hi = lo + wb;
            tot[set] += n;
            fnd[set] += f;
            if (!set) {
                const int g = hi <= 0.5 + 1e-9 ? 0 : hi <= 0.8 + 1e-9 ? 1 : 2;
                g_n[g] += n;
                g_f[g] += f;
            }
            snprintf(row, sizeof row,
                     "%s,%s,%s,%s,%s,%s,%s,%d,%s,%d,%d,%d,%d,%lld,%.4f,%s,%s,%.2f,%.2f,%lld,%lld,%.4f,%lld,%.6f",
                     ctx->run_id, utc, ctx->git_commit, ctx->host, ctx->cpu_model, system, dataset,
                     threads, fam, K, L, probes, mips,
                     iter, epoch, eval_set, set_name[set], lo, hi, (long long)n, (long long)f,
                     (double)f / (double)n, (long long)ev->rc_tables[set][b],
                     (double)ev->rc_tables[set][b] / ((double)n * L));
            rc = slide_csv_row(c, row, err);
        }
    slide_csv_close(c);
    if (say && tot[0] > 0 && tot[1] > 0) {
        const int m0 = median_bin(ev->rc_n[0], SLIDE_RECALL_BINS);
        const int m1 = median_bin(ev->rc_n[1], SLIDE_RECALL_BINS);
        fprintf(stderr,
                "[recall] cosine with the query (hashed vectors), median bin: exact top-5 [%.1f, %.1f), "
                "random neurons [%.1f, %.1f); found: top-5 %.1f%%, random %.1f%%",
                -1.0 + m0 * wb, -1.0 + (m0 + 1) * wb, -1.0 + m1 * wb, -1.0 + (m1 + 1) * wb,
                100.0 * (double)fnd[0] / (double)tot[0], 100.0 * (double)fnd[1] / (double)tot[1]);
        const char *gname[3] = {"cos < 0.5", "0.5-0.8", ">= 0.8"};
        for (int g = 0; g < 3; g++)
            if (g_n[g])
                fprintf(stderr, "; top-5 at %s: %.1f%% of them, %.1f%% found", gname[g],
                        100.0 * (double)g_n[g] / (double)tot[0],
                        100.0 * (double)g_f[g] / (double)g_n[g]);
        fprintf(stderr, " (%s)\n", path);
    }
    return rc;
}

/* Appends the run's time breakdown to <csv stem>.breakdown.csv. */
static int write_breakdown(const char *csv_path, const slide_context *ctx, const char *system,
                           const char *dataset, const char *simd, int threads, const char *fam,
                           int K, int L, int batch, const char *hugepages,
                           const char *hugepages_requested, double epoch, double train_s,
                           const char *train_order, const slide_train_stats *st,
                           const slide_counters *cnt, slide_err *err) {
    char path[4200];
    stem_path(path, sizeof path, csv_path, "breakdown");
    slide_csv *c = NULL;
    char header[4096], cnt_h[2048] = "", cnt_v[2048] = "";
    if (cnt) {
        slide_counters_csv_header(cnt, cnt_h, sizeof cnt_h);
        slide_counters_csv_values(cnt, cnt_v, sizeof cnt_v);
    }
    snprintf(header, sizeof header,
             "run_id,utc,git_commit,host,cpu_model,system,dataset,simd,threads,hugepages,"
             "hugepages_requested,hash_family,K,L,batch,epoch,samples_seen,train_s,hash_s,query_s,forward_s,backward_s,update_s,"
             "rehash_s,unaccounted_s,hash_share,query_share,forward_share,backward_share,"
             "update_share,rehash_share,unaccounted_share,active_avg,active_labels_avg,"
             "active_lsh_avg,active_fill_avg,train_order,sort_s,logits_s,softmax_s,rehash_keys_s,"
             "rehash_tables_s%s%s",
             cnt_h[0] ? "," : "", cnt_h);
    int rc = slide_csv_open(&c, path, header, err);
    if (rc) return rc;
    double ph[6] = {st->t_hash, st->t_query, st->t_fwd, st->t_bwd, st->t_update, st->t_rehash};
    double acc = 0;
    for (int i = 0; i < 6; i++) acc += ph[i];
    double un = train_s - acc;
    char utc[32], row[2048];
    slide_utc_now(utc, sizeof utc);
    int w = snprintf(row, sizeof row, "%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%d,%d,%d,%.4f,%lld,%.4f",
                     ctx->run_id, utc, ctx->git_commit, ctx->host, ctx->cpu_model, system, dataset,
                     simd, threads, hugepages, hugepages_requested, fam, K, L, batch, epoch,
                     (long long)st->samples, train_s);
    for (int i = 0; i < 6; i++) w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", ph[i]);
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", un);
    for (int i = 0; i < 6; i++)
        w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", train_s > 0 ? ph[i] / train_s : 0);
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f", train_s > 0 ? un / train_s : 0);
    /* Where the output layer's active neurons came from, per sample. */
    double ns = st->samples > 0 ? (double)st->samples : 1.0;
    double act = (double)st->active_sum / ns, lab = (double)st->label_sum / ns;
    double lsh = (double)st->lsh_sum / ns, fill = act - lab - lsh;
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.1f,%.1f,%.1f,%.1f", act, lab, lsh,
                  fill > 0 ? fill : 0);
    /* The row sweep's parts of forward_s (NA sample by sample: no such phases). */
    if (!strcmp(train_order, "row-sweep"))
        w += snprintf(row + w, sizeof row - (size_t)w, ",%s,%.4f,%.4f,%.4f", train_order,
                      st->t_sort, st->t_logits, st->t_softmax);
    else
        w += snprintf(row + w, sizeof row - (size_t)w, ",%s,NA,NA,NA", train_order);
    w += snprintf(row + w, sizeof row - (size_t)w, ",%.4f,%.4f", st->t_rehash_keys,
                  st->t_rehash_tables);
    if (cnt_v[0]) snprintf(row + w, sizeof row - (size_t)w, ",%s", cnt_v);
    rc = slide_csv_row(c, row, err);
    slide_csv_close(c);
    return rc;
}

/* --tlb-sim N: the dTLB profile by simulation (slide/tlbsim.h). Batches of this process, from 1:
 * 1 untraced (first touches); 2..TLBP_WARM-1 untraced, timed and counted by PAPI ("normal");
 * TLBP_WARM traced to warm the simulated TLBs; the next N traced and counted. */
#define TLBP_WARM 4
typedef struct {
    int n;                      /* N; 0 = off */
    int64_t batch;              /* batches started in this process */
    int64_t planned;            /* batches this run trains (checked before the first one) */
    int on;                     /* trace initialised */
    slide_tlbtrace tr;
    slide_tlb_geom g;
    double share[SLIDE_MAX_LAYERS];
    double t0, normal_s, prof_s, sim0, sim_s;
    int64_t normal_n, prof_n, prof_samples, normal_samples;
    double c0[3], c1[3];        /* PAPI_TLB_DM, perf::PAGE-FAULTS, rusage minflt: before, after */
} tlbprof;

static const char *tlbp_events[2] = {"PAPI_TLB_DM", "perf::PAGE-FAULTS"};

/* Batches the run will train from (seen, pos): the training loop's arithmetic. */
static int64_t tlbp_batches(int64_t n, int64_t batch, int64_t total, int64_t seen, int64_t pos) {
    int64_t b = 0;
    while (seen < total) {
        if (pos >= n) pos = 0;
        int64_t nb = batch < n - pos ? batch : n - pos;
        if (nb > total - seen) nb = total - seen;
        pos += nb;
        seen += nb;
        b++;
    }
    return b;
}

static void tlbp_snap(const slide_counters *c, double v[3]) {
    for (int k = 0; k < 2; k++) {
        const int i = slide_counters_find(c, tlbp_events[k]);
        v[k] = i >= 0 ? slide_counters_value(c, i) : NAN;
    }
    v[2] = slide_counters_rusage(c, SLIDE_RU_MINFLT);
}

/* Before batch: sets or clears the trace. Returns nonzero (message printed) when the run is too
 * short for the profile or the trace cannot be set. */
static int tlbp_before(tlbprof *tp, slide_net *net, const slide_counters *c, int64_t planned) {
    if (!tp->n) return 0;
    slide_err err;
    if (tp->batch == 0) {
        tp->planned = planned;
        if (planned < TLBP_WARM + tp->n) {
            fprintf(stderr, "slide-train: --tlb-sim %d: the run trains %lld batches, fewer than "
                    "the %d warm-up batches + %d profiled; raise --epochs or profile fewer\n",
                    tp->n, (long long)planned, TLBP_WARM, tp->n);
            return 1;
        }
    }
    tp->batch++;
    if (tp->batch == 2) tlbp_snap(c, tp->c0);
    if (tp->batch == TLBP_WARM && slide_net_set_tlb_trace(net, &tp->tr, &err)) {
        fprintf(stderr, "slide-train: --tlb-sim: %s\n", err.msg);
        return 1;
    }
    tp->t0 = slide_now();
    return 0;
}

/* After batch (nb samples): times it, counts it, ends the trace after the last profiled one. */
static void tlbp_after(tlbprof *tp, slide_net *net, const slide_counters *c, int64_t nb) {
    if (!tp->n || tp->batch == 0) return;
    const double dt = slide_now() - tp->t0;
    const int64_t b = tp->batch;
    if (b >= 2 && b < TLBP_WARM) {
        tp->normal_s += dt;
        tp->normal_n++;
        tp->normal_samples += nb;
        if (b == TLBP_WARM - 1) tlbp_snap(c, tp->c1);
    } else if (b == TLBP_WARM) {
        slide_tlbtrace_reset_counts(&tp->tr);
        tp->sim0 = tp->tr.seconds;
    } else if (b > TLBP_WARM && b <= TLBP_WARM + tp->n) {
        tp->prof_s += dt;
        tp->prof_n++;
        tp->prof_samples += nb;
        if (b == TLBP_WARM + tp->n) {
            tp->sim_s = tp->tr.seconds - tp->sim0;
            slide_net_set_tlb_trace(net, NULL, NULL);
        }
    }
}

/* Appends the profile to <csv stem>.tlb.csv: a row per layer group (hidden, output, all) x
 * phase (those with slab accesses, and all) x page mode; prints a summary on stderr. */
static int tlbp_write(tlbprof *tp, const char *csv_path, const slide_context *ctx,
                      const char *system, const char *dataset, const char *simd, int threads,
                      const char *hugepages, const char *train_order, int batch, int K, int L,
                      const slide_net *net, const slide_counters *cnt, slide_err *err) {
    char path[4200];
    stem_path(path, sizeof path, csv_path, "tlb");
    slide_csv *c = NULL;
    int rc = slide_csv_open(&c, path,
                            "run_id,utc,git_commit,host,cpu_model,system,dataset,simd,threads,"
                            "hugepages,train_order,batch,K,L,source,layer,phase,page_mode,"
                            "tlb_geometry,tlb_geometry_source,thp_share,batches,samples,rows,"
                            "accesses,l1_misses,walks,misses_per_sample,walks_per_sample,"
                            "miss_rate,walk_rate,normal_batch_s,profiled_batch_s,sim_batch_s,"
                            "cost_ratio,papi_batches,papi_dtlb_misses,"
                            "papi_dtlb_misses_per_sample,papi_page_faults_per_sample,"
                            "rusage_minflt_per_sample",
                            err);
    if (rc) return rc;
    char utc[32], geo[128], row[2048];
    slide_utc_now(utc, sizeof utc);
    slide_tlbsim_geom_text(&tp->g, geo, sizeof geo);
    for (char *q = geo; *q; q++)
        if (*q == ',') *q = ';';
    const double ns = tp->prof_samples > 0 ? (double)tp->prof_samples : 1.0;
    const double normal = tp->normal_n ? tp->normal_s / tp->normal_n : NAN;
    const double prof = tp->prof_n ? tp->prof_s / tp->prof_n : NAN;
    const double sim = tp->prof_n ? tp->sim_s / tp->prof_n : NAN;
    const double cost = prof / (prof - sim);
    /* measured over the normal batches on the main thread: per sample of that thread's share */
    const double nsm = tp->normal_samples > 0 ? (double)tp->normal_samples / threads : NAN;
    double meas[3];
    for (int k = 0; k < 3; k++) meas[k] = tp->c1[k] - tp->c0[k];
    char mv[4][32];
    const double mvals[4] = {meas[0], meas[0] / nsm, meas[1] / nsm, meas[2] / nsm};
    for (int k = 0; k < 4; k++) {
        if (isnan(mvals[k])) snprintf(mv[k], sizeof mv[k], "NA");
        else snprintf(mv[k], sizeof mv[k], k == 0 ? "%.0f" : "%.4f", mvals[k]);
    }
    /* THP share of a group: its slabs' shares weighted by size */
    const slide_net_params *np = slide_net_params_of(net);
    double gsh[3] = {0, 0, 0}, gby[3] = {0, 0, 0};
    for (int l = 0; l < np->n_layers; l++) {
        const double by = (double)slide_net_layer((slide_net *)net, l)->blk.bytes;
        const double sh = tp->share[l] < 0 ? 0 : tp->share[l];
        gsh[l > 0] += sh * by;
        gby[l > 0] += by;
        gsh[2] += sh * by;
        gby[2] += by;
    }
    const char *gname[3] = {"hidden", "output", "all"};
    const int phases[5] = {SLIDE_PH_FORWARD, SLIDE_PH_BACKWARD, SLIDE_PH_UPDATE, SLIDE_PH_REHASH,
                           -1};
    double rate[3][SLIDE_PM_COUNT]; /* output layer, all phases: for the summary */
    memset(rate, 0, sizeof rate);
    for (int gi = 0; gi < 3 && !rc; gi++)
        for (int pi = 0; pi < 5 && !rc; pi++)
            for (int m = 0; m < SLIDE_PM_COUNT && !rc; m++) {
                const int grp = gi == 2 ? -1 : gi;
                const slide_tlb_counts k = slide_tlbtrace_counts(&tp->tr, m, grp, phases[pi]);
                if (k.rows == 0) continue;
                const double mr = (double)k.l1_misses / (double)k.rows;
                if (phases[pi] < 0) rate[gi][m] = mr;
                snprintf(row, sizeof row,
                         "%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%d,%d,%d,tlbsim,%s,%s,%s,%s,%s,%.4f,"
                         "%lld,%lld,%llu,%llu,%llu,%llu,%.3f,%.3f,%.6f,%.6f,%.4f,%.4f,%.4f,%.3f,"
                         "%lld,%s,%s,%s,%s",
                         ctx->run_id, utc, ctx->git_commit, ctx->host, ctx->cpu_model, system,
                         dataset, simd, threads, hugepages, train_order, batch, K, L, gname[gi],
                         phases[pi] < 0 ? "all" : slide_phase_name(phases[pi]),
                         slide_page_mode_name(m), geo, tp->g.source,
                         m == SLIDE_PM_4K ? 0.0 : m == SLIDE_PM_2M ? 1.0
                                          : gby[gi] > 0 ? gsh[gi] / gby[gi] : 0.0,
                         (long long)tp->prof_n, (long long)tp->prof_samples,
                         (unsigned long long)k.rows, (unsigned long long)k.accesses,
                         (unsigned long long)k.l1_misses, (unsigned long long)k.walks,
                         (double)k.l1_misses / ns, (double)k.walks / ns, mr,
                         (double)k.walks / (double)k.rows, normal, prof, sim, cost,
                         (long long)tp->normal_n, mv[0], mv[1], mv[2], mv[3]);
                rc = slide_csv_row(c, row, err);
            }
    slide_csv_close(c);
    const int i = slide_counters_find(cnt, tlbp_events[0]);
    if (!rc && isnan(meas[0]))
        fprintf(stderr, "[tlbsim] measured dTLB misses NA (%s: %s); the simulated columns "
                "l1_misses, walks, miss_rate hold the profile\n", tlbp_events[0],
                i < 0 ? "not in --papi-events" : slide_counters_event_reason(cnt, i));
    fprintf(stderr, "[tlbsim] %lld batches, %lld samples, TLB %s (%s): output layer miss rate "
            "per row access 4k %.4f, 2m %.4f (%.1fx fewer), thp %.4f; all slabs 4k %.4f, 2m %.4f "
            "-> %s\n", (long long)tp->prof_n, (long long)tp->prof_samples, geo, tp->g.source,
            rate[1][0], rate[1][1], rate[1][1] > 0 ? rate[1][0] / rate[1][1] : INFINITY,
            rate[1][2], rate[2][0], rate[2][1], path);
    fprintf(stderr, "[tlbsim] batch time: normal %.4f s, profiled %.4f s of which simulation "
            "%.4f s (cost ratio %.2fx)\n", normal, prof, sim, cost);
    return rc;
}

int main(int argc, char **argv) {
    args_t a;
    memset(&a, 0, sizeof a);
    /* Defaults = bench/e2e/configs/delicious.conf (the default job). */
    slide_run_opts_default(&a.r, "results/slide-train.csv");
    a.simd = "auto";
    a.checkpoint = "";
    a.numa = "local";
    a.papi_events = "default";
    a.resume = "";
    a.threads = 2;
    a.seed = 1;
    a.hidden = 128;
    a.family = SLIDE_HASH_SIMHASH;
    a.K = 6;
    a.L = 16;
    a.range_bits = 12;
    a.bin_size = 8;
    a.sparsity = 3;
    a.bucket_cap = 128;
    a.policy = SLIDE_BUCKET_FIFO;
    a.probes = 0;
    a.min_active = 0.05;
    a.max_active = 0.3;
    a.rehash = 20;
    a.rebuild = 100;
    a.rebuild_decay = 0;
    a.hugepages = SLIDE_HP_THP;
    a.profile_batches = "";

    const slide_opt own[] = {
        {"threads", SLIDE_OPT_INT, &a.threads, 1, 1024, NULL, "OpenMP threads", 0, NULL},
        {"seed", SLIDE_OPT_U64, &a.seed, 1, 0, NULL, "seed of weights, hashes, shuffling", 0, NULL},
        {"full-output", SLIDE_OPT_FLAG, &a.full_output, 0, 1, NULL, "all-neurons output layer (system slide-full)", 0, NULL},
        {"sampled-inference", SLIDE_OPT_FLAG, &a.sampled_inference, 0, 1, NULL, "rank only the LSH-sampled output neurons at evaluation", 0, NULL},
        {"hidden", SLIDE_OPT_INT, &a.hidden, 1, 1 << 20, NULL, "hidden layer size", 0, NULL},
        {"hash", SLIDE_OPT_CHOICE, &a.family, 1, 0, "simhash|wta|dwta", "hash family of the output layer", 0, NULL},
        {"K", SLIDE_OPT_INT, &a.K, 1, SLIDE_HASH_MAX_K, NULL, "hash functions per table", 0, NULL},
        {"L", SLIDE_OPT_INT, &a.L, 1, SLIDE_HASH_MAX_L, NULL, "hash tables", 0, NULL},
        {"range-bits", SLIDE_OPT_INT, &a.range_bits, 1, 20, NULL, "bits of a table key (2^range-bits buckets)", 0, NULL},
        {"bin-size", SLIDE_OPT_INT, &a.bin_size, 2, 256, NULL, "WTA/DWTA bin size (power of two)", 0, NULL},
        {"sparsity", SLIDE_OPT_INT, &a.sparsity, 1, 1 << 20, NULL, "SimHash: projections keep 1/sparsity of dims", 0, NULL},
        {"bucket-cap", SLIDE_OPT_INT, &a.bucket_cap, 1, 65535, NULL, "ids per bucket", 0, NULL},
        {"bucket-policy", SLIDE_OPT_CHOICE, &a.policy, 1, 0, "fifo|reservoir", "insertion policy of full buckets", 0, NULL},
        {"probes", SLIDE_OPT_INT, &a.probes, 0, SLIDE_HASH_MAX_PROBES, NULL, "multi-probe keys per table", 0, NULL},
        {"min-active", SLIDE_OPT_DOUBLE, &a.min_active, 0, 1, NULL, "min active fraction of the output layer (random fill)", 0, NULL},
        {"max-active", SLIDE_OPT_DOUBLE, &a.max_active, 1e-9, 1, NULL, "max active fraction of the output layer (truncation)", 0, NULL},
        {"rehash", SLIDE_OPT_INT, &a.rehash, 0, 1e9, NULL, "rehash touched neurons every N batches (0 = never)", 0, NULL},
        {"rebuild", SLIDE_OPT_INT, &a.rebuild, 0, 1e9, NULL, "rebuild all tables every N batches (0 = never)", 0, NULL},
        {"rebuild-decay", SLIDE_OPT_DOUBLE, &a.rebuild_decay, 0, 10, NULL, "after each rebuild the interval grows by this factor (paper: exponential decay of frequency)", 0, NULL},
        {"simd", SLIDE_OPT_STR, &a.simd, 1, 0, NULL, "kernel path: auto|scalar|avx2|avx512 (env SLIDE_SIMD)", 0, NULL},
        {"hugepages", SLIDE_OPT_CHOICE, &a.hugepages, 1, 0, "none|thp|explicit", "page size of weight slabs", 0, NULL},
        {"checkpoint", SLIDE_OPT_STR, &a.checkpoint, 1, 0, NULL, "write a checkpoint here (temp file + rename) every --checkpoint-every batches and at the end", 0, NULL},
        {"checkpoint-every", SLIDE_OPT_INT, &a.checkpoint_every, 0, 1e9, NULL, "batches between checkpoints (0 = only at the end)", 0, NULL},
        {"resume", SLIDE_OPT_STR, &a.resume, 1, 0, NULL, "continue from this checkpoint (same data and configuration)", 0, NULL},
        {"numa", SLIDE_OPT_STR, &a.numa, 1, 0, NULL, "placement of weight slabs: local|interleave|node:N", 0, NULL},
        {"papi-events", SLIDE_OPT_STR, &a.papi_events, 1, 0, NULL, "comma-separated PAPI events counted over training steps on the main thread (default list: cycles, instructions, L1D/L2/L3 misses, dTLB misses, page faults, task clock, context switches; \"\" = none)", 0, NULL},
        {"tlb-sim", SLIDE_OPT_INT, &a.tlb_sim, 0, 1000000, NULL, "N > 0: replay the slab pages each phase touches through a simulated dTLB (4k, 2m, thp pages) over N batches after 4 warm-up ones; writes <csv stem>.tlb.csv (0 = off)", 0, NULL},
        {"hash-rotate", SLIDE_OPT_FLAG, &a.hash_rotate, 0, 1, NULL, "WTA/DWTA: hash randomly rotated vectors (inner products kept), so the rank codes see what all coordinates share and collisions follow the cosine (hash_family wta-rot / dwta-rot; see REPRODUCE.md)", 0, NULL},
        {"mips", SLIDE_OPT_FLAG, &a.mips, 0, 1, NULL, "hash [w, b] with the asymmetric MIPS transform so sampling follows the logits", 0, NULL},
        {"adam-bf16", SLIDE_OPT_FLAG, &a.adam_bf16, 0, 1, NULL, "store the hidden/output weights' Adam moments as BF16 with stochastic rounding (a third less update traffic)", 0, NULL},
        {"bf16-only", SLIDE_OPT_FLAG, &a.bf16_only, 0, 1, NULL, "keep the hidden/output weights and their Adam moments only as BF16 (no fp32 master; updates rounded stochastically): 6 bytes per output weight instead of 8 with --adam-bf16 (less memory; not measured faster, see REPRODUCE.md); columns weights and adam_state bf16-sr", 0, NULL},
        {"shared-fill", SLIDE_OPT_FLAG, &a.shared_fill, 0, 1, NULL, "training: random fill from one list per batch shared by its samples, not drawn per sample (fewer rows to update: faster batches, slower learning per batch; see REPRODUCE.md)", 0, NULL},
        {"train-order", SLIDE_OPT_CHOICE, &a.train_order, 1, 0, "auto|row-sweep|per-sample", "per-sample: each sample reads its active output rows at random (the original SLIDE order); row-sweep: every sample's active set first, then one ordered pass over the touched rows computes the logits and one the update and dx (the same arithmetic; faster when the output weights do not fit in cache); auto (default): row-sweep when the output layer's fp32 weights exceed 32 MB (about a last-level cache); column train_order", 0, NULL},
        {"bf16", SLIDE_OPT_FLAG, &a.bf16, 0, 1, NULL, "forward/backward read BF16 copies of the hidden and output weights (fp32 master weights and Adam state); column weights", 0, NULL},
        {"no-pin", SLIDE_OPT_FLAG, &a.no_pin, 0, 1, NULL, "do not set OMP_PROC_BIND=true OMP_PLACES=cores when unset", 0, NULL},
        {"profile-batches", SLIDE_OPT_STR, &a.profile_batches, 1, 0, NULL, "A:B: under callgrind (bench/profile/profile_cache.sh) collect costs over batches A..B only (counted from 1); the run ends after batch B, and one that ends before it is an error", 0, NULL},
        {"max-mem", SLIDE_OPT_DOUBLE, &a.max_mem_mb, 0, 1e9, NULL, "refuse to run when the network estimate plus the data sets exceed this many MB (0: when the network estimate exceeds the available memory)", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    /* the drivers' shared options first, then this program's own (with the terminator) */
    slide_opt opts[SLIDE_RUN_OPTS_N + sizeof own / sizeof own[0]];
    memcpy(opts + slide_run_opts_table(&a.r, opts), own, sizeof own);

    int ex = slide_opts_cli(opts, argc, argv, "slide-train",
                            "usage: slide-train [--config FILE] [options]\n"
                            "Trains SLIDE (sparse input -> hidden ReLU -> LSH-sampled softmax) and "
                            "appends one CSV row per evaluation.\n"
                            "Defaults are bench/e2e/configs/delicious.conf on the vendored "
                            "Delicious set (datasets/prepare_delicious.sh).");
    if (ex >= 0) return ex;
    slide_err err;
    slide_err_clear(&err);
    /* Pin threads by default: the OpenMP runtime reads its environment at start-up, so set it
     * and re-execute once (recorded in the omp_proc_bind column either way). */
    /* Not under a profile: the restart would leave valgrind. */
    if (!a.no_pin && !*a.profile_batches && !getenv("OMP_PROC_BIND") && !getenv("SLIDE_NO_REEXEC")) {
        setenv("OMP_PROC_BIND", "true", 1);
        if (!getenv("OMP_PLACES")) setenv("OMP_PLACES", "cores", 1);
        /* Sleeping (not spinning) waits: on a shared machine spinning threads steal the CPU
         * another thread of this run needs. */
        if (!getenv("OMP_WAIT_POLICY")) setenv("OMP_WAIT_POLICY", "passive", 1);
        setenv("SLIDE_NO_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
        /* exec failed: continue unpinned */
    }
    profile_win prof;
    if (profile_parse(a.profile_batches, &prof)) {
        fprintf(stderr, "slide-train: --profile-batches '%s': expected A:B with 1 <= A <= B\n",
                a.profile_batches);
        slide_opts_free(opts);
        return 2;
    }
#ifndef SLIDE_HAVE_VALGRIND
    if (prof.b) {
        fprintf(stderr, "slide-train: --profile-batches: built without <valgrind/callgrind.h> "
                        "(Debian package valgrind); install it and rebuild\n");
        slide_opts_free(opts);
        return 2;
    }
#endif
    slide_numa numa;
    if (slide_numa_parse(a.numa, &numa, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        slide_opts_free(opts);
        return 2;
    }
    /* --simd, else the SLIDE_SIMD variable (read here: the library reads no environment) */
    const int simd_env = !slide_opts_find(opts, "simd")->was_set && getenv("SLIDE_SIMD");
    int simd = slide_simd_parse_from(simd_env ? getenv("SLIDE_SIMD") : a.simd,
                                     simd_env ? "SLIDE_SIMD" : "--simd", &err);
    if (simd < 0) {
        fprintf(stderr, "slide-train: --simd: %s\n", err.msg);
        slide_opts_free(opts);
        return 2;
    }
    /* min-active's default (0.05) yields to a smaller --max-active; two explicit values that
     * contradict each other are an error, not a silent clamp. */
    if (slide_opts_find(opts, "min-active")->was_set && slide_opts_find(opts, "max-active")->was_set &&
        a.min_active > a.max_active) {
        fprintf(stderr, "slide-train: --min-active %g exceeds --max-active %g\n", a.min_active, a.max_active);
        slide_opts_free(opts);
        return 2;
    }
    if (slide_data_check_path("train", a.r.train, &err) || slide_data_check_path("test", a.r.test, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        slide_opts_free(opts);
        return 2;
    }
    slide_context ctx;
    slide_context_fill(&ctx, a.r.run_id);
    slide_csv *csv = NULL;
    if (slide_csv_open(&csv, a.r.csv, slide_train_csv_header(), &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        slide_opts_free(opts);
        return 2;
    }
    const double t_start = slide_now();
    int progress = a.r.progress < 0 ? isatty(2) : a.r.progress;

    /* Data. */
    slide_data train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    slide_data_opts dop = slide_data_opts_default();
    dop.normalize = a.r.normalize;
    dop.cache = a.r.cache ? SLIDE_CACHE_AUTO : SLIDE_CACHE_OFF;
    int exit_code = 0;
    slide_net *net = NULL;
    int64_t *perm = NULL, *eval_ids = NULL;
    void *blob = NULL;
    slide_counters *counters = NULL;
    tlbprof tp;
    memset(&tp, 0, sizeof tp);
    tp.n = a.tlb_sim;
    if (slide_data_load(&train, a.r.train, &dop, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        exit_code = 2;
        goto done;
    }
    dop.expect_d = train.d;
    dop.expect_l = train.l;
    if (slide_data_load(&test, a.r.test, &dop, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        exit_code = 2;
        goto done;
    }
    fprintf(stderr, "[data] %s: train %lld points, test %lld points, %lld features, %lld labels (%.1f s)\n",
            a.r.dataset, (long long)train.n, (long long)test.n, (long long)train.d, (long long)train.l,
            slide_now() - t_start);
    if (train.n == 0) {
        fprintf(stderr, "slide-train: %s: no training points\n", a.r.train);
        exit_code = 2;
        goto done;
    }
    if (prof.b && !*a.resume) { /* (a resumed run counts its batches from the checkpoint) */
        const int64_t total = (int64_t)ceil(a.r.epochs * (double)train.n);
        const int64_t nbp = batches_planned(train.n, a.r.batch, total, 0, train.n, 0, prof.b);
        if (nbp < prof.b) {
            fprintf(stderr, "slide-train: --profile-batches %s: the run trains only %lld batches "
                    "(--epochs %g of %lld points, --batch %d); profile earlier batches or raise "
                    "--epochs\n", a.profile_batches, (long long)nbp, a.r.epochs,
                    (long long)train.n, a.r.batch);
            exit_code = 2;
            goto done;
        }
    }

    /* Network. */
    slide_net_params np = slide_net_params_default();
    np.layer[0].n_out = a.hidden;
    np.layer[0].init_std = a.r.init_std;
    slide_layer_params *out = &np.layer[1];
    out->init_std = a.r.init_std;
    out->sampled = !a.full_output;
    out->hash.family = a.family;
    out->hash.K = a.K;
    out->hash.L = a.L;
    out->hash.range_bits = a.range_bits;
    out->hash.bin_size = a.bin_size;
    out->hash.rotate = a.hash_rotate;
    out->hash.sparsity = a.sparsity;
    out->hash.seed = a.seed * 7919 + 17;
    out->bucket_cap = a.bucket_cap;
    out->bucket_policy = a.policy;
    out->probes = a.probes;
    out->mips = a.mips;
    out->shared_fill = a.shared_fill;
    out->min_active_frac = a.min_active;
    out->max_active_frac = a.max_active;
    if (out->min_active_frac > out->max_active_frac) out->min_active_frac = out->max_active_frac;
    slide_net_params_shape(&np, train.d, train.l);
    np.lr = a.r.lr;
    np.batch = a.r.batch;
    np.threads = a.threads;
    np.seed = a.seed;
    np.simd = simd;
    np.hugepages = a.hugepages;
    np.bf16 = a.bf16;
    np.adam_bf16 = a.adam_bf16;
    np.bf16_only = a.bf16_only;
    np.row_sweep = a.train_order == 0 ? -1 : a.train_order == 1 ? 1 : 0;
    np.numa = numa;
    np.rehash_every = a.rehash;
    np.rebuild_every = a.rebuild;
    np.rebuild_decay = a.rebuild_decay;
    const char *m = slide_net_params_check(&np);
    if (m) {
        fprintf(stderr, "slide-train: %s\n", m);
        exit_code = 2;
        goto done;
    }
    slide_mem_parts mp;
    const double MB = 1048576.0;
    double est_mb = slide_net_estimate_bytes(&np, &mp) / MB;
    /* The data sets are in memory already: they count against --max-mem (the whole run),
     * while available memory is what is left beside them. */
    double data_mb = 0;
    const slide_data *dsets[2] = {&train, &test};
    for (int q = 0; q < 2; q++)
        data_mb += (16.0 * (double)(dsets[q]->n + 1) + 8.0 * (double)dsets[q]->nnz +
                    4.0 * (double)dsets[q]->nlab) / MB;
    double avail_mb = slide_mem_available_mb();
    double limit_mb = a.max_mem_mb > 0 ? a.max_mem_mb : avail_mb;
    double need_mb = a.max_mem_mb > 0 ? est_mb + data_mb : est_mb;
    fprintf(stderr,
            "[mem] network needs about %.0f MB (weights %.0f, optimizer state %.0f, hash tables "
            "%.0f, workspace %.0f), data sets in memory %.0f MB (limit %.0f MB%s)\n",
            est_mb, mp.weights / MB, mp.optimizer / MB, mp.tables / MB, mp.workspace / MB,
            data_mb, limit_mb,
            a.max_mem_mb > 0 ? ", --max-mem, for network and data" : ", available memory, for the network");
    if (limit_mb > 0 && need_mb > limit_mb) {
        fprintf(stderr, "slide-train: the configuration needs about %.0f MB%s, above the limit of %.0f MB%s; "
                "reduce --hidden, --L or the label count\n", need_mb,
                a.max_mem_mb > 0 ? " with its data" : "", limit_mb,
                a.max_mem_mb > 0 ? " (--max-mem)" : " (available memory)");
        exit_code = 2;
        goto done;
    }
    if (slide_net_create(&net, &np, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        exit_code = 2;
        goto done;
    }
    int hp_eff = slide_net_hugepages_in_effect(net);
    const char *train_order = slide_net_row_sweep(net) ? "row-sweep" : "per-sample";
    if (numa.kind != SLIDE_NUMA_LOCAL && slide_numa_nodes() <= 1)
        fprintf(stderr, "[numa] %s: %s; placement has no effect\n", a.numa,
                slide_numa_nodes() == 0 ? "libnuma unavailable" : "this machine has one NUMA node");
    if (hp_eff != a.hugepages)
        fprintf(stderr, "[mem] warning: --hugepages %s unavailable (pool empty?), using %s\n",
                slide_hugepages_name(a.hugepages), slide_hugepages_name(hp_eff));

    if (slide_counters_create(&counters, strcmp(a.papi_events, "default") ? a.papi_events : NULL,
                              &err)) {
        fprintf(stderr, "slide-train: --papi-events: %s\n", err.msg);
        exit_code = 2;
        goto done;
    }
    if (slide_counters_unavailable_reason(counters))
        fprintf(stderr, "[counters] NA: %s\n", slide_counters_unavailable_reason(counters));
    if (tp.n) {
        tp.g = slide_tlbsim_geom_detect();
        if (slide_tlbtrace_init(&tp.tr, &tp.g, a.threads, &err) ||
            slide_net_tlb_regions(net, &tp.tr, tp.share, &err)) {
            fprintf(stderr, "slide-train: --tlb-sim: %s\n", err.msg);
            exit_code = 2;
            goto done;
        }
        tp.on = 1;
        char geo[128];
        fprintf(stderr, "[tlbsim] dTLB %s (%s: %s); slabs on 2 MB pages (smaps): hidden %.2f, "
                "output %.2f\n", slide_tlbsim_geom_text(&tp.g, geo, sizeof geo), tp.g.source,
                tp.g.detail, tp.share[0], tp.share[np.n_layers - 1]);
    }

    /* Evaluation subset: seeded random sample of the test set (never its first lines). */
    int64_t n_sub = (a.r.eval_n > 0 && a.r.eval_n < test.n) ? a.r.eval_n : test.n;
    eval_ids = malloc((size_t)(test.n > 0 ? test.n : 1) * sizeof *eval_ids);
    perm = malloc((size_t)train.n * sizeof *perm);
    if (!eval_ids || !perm) {
        fprintf(stderr, "slide-train: out of memory\n");
        exit_code = 2;
        goto done;
    }
    slide_rng rng;
    slide_rng_seed(&rng, a.seed, 0xE7A1ULL);
    slide_sample_subset(eval_ids, test.n, n_sub, &rng);
    for (int64_t i = 0; i < train.n; i++) perm[i] = i;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    const char *system = a.full_output ? "slide-full" : "slide";
    char fam_rot[32];
    snprintf(fam_rot, sizeof fam_rot, "%s-rot", slide_hash_family_name(a.family));
    const char *fam = a.full_output ? "NA" : a.hash_rotate ? fam_rot : slide_hash_family_name(a.family);
    char hp_req[16], hp_in[16];
    snprintf(hp_req, sizeof hp_req, "%s", slide_hugepages_name(a.hugepages));
    snprintf(hp_in, sizeof hp_in, "%s", slide_hugepages_name(hp_eff));
    char dataset[128];
    snprintf(dataset, sizeof dataset, "%s", a.r.dataset);
    slide_csv_sanitize(dataset);

    const int64_t total_samples = (int64_t)ceil(a.r.epochs * (double)train.n);
    int64_t seen = 0, iter = 0, last_eval_iter = 0;
    double train_s = 0, last_eval_train_s = 0, eval_s_total = 0;
    slide_train_stats st_int, st_all;
    memset(&st_int, 0, sizeof st_int);
    memset(&st_all, 0, sizeof st_all);
    int64_t pos = train.n; /* position in the current epoch's permutation */
    int64_t epoch = 0;
    int finished = 0;
    size_t blob_cap = sizeof(run_state) + (size_t)train.n * sizeof(int64_t);
    blob = malloc(blob_cap);
    if (!blob) {
        fprintf(stderr, "slide-train: out of memory\n");
        exit_code = 2;
        goto done;
    }
    if (*a.resume) {
        size_t got = 0;
        run_state rs;
        if (slide_checkpoint_load(net, a.resume, blob, blob_cap, &got, &err)) {
            fprintf(stderr, "slide-train: %s\n", err.msg);
            exit_code = 2;
            goto done;
        }
        memcpy(&rs, blob, sizeof rs);
        if (got != blob_cap || rs.magic != RUN_STATE_MAGIC || rs.n_train != train.n ||
            rs.pos < 0 || rs.pos > train.n || rs.seen < 0) {
            fprintf(stderr, "slide-train: %s: checkpoint was written for another training set\n",
                    a.resume);
            exit_code = 2;
            goto done;
        }
        memcpy(perm, (char *)blob + sizeof rs, (size_t)train.n * sizeof(int64_t));
        for (int64_t i = 0; i < train.n; i++)
            if (perm[i] < 0 || perm[i] >= train.n) {
                fprintf(stderr, "slide-train: %s: corrupted permutation\n", a.resume);
                exit_code = 2;
                goto done;
            }
        rng = rs.rng;
        seen = rs.seen;
        iter = rs.iter;
        last_eval_iter = rs.last_eval_iter;
        pos = rs.pos;
        epoch = rs.epoch;
        train_s = rs.train_s;
        last_eval_train_s = rs.last_eval_train_s;
        eval_s_total = rs.eval_s_total;
        st_int = rs.st_int;
        st_all = rs.st_all;
        fprintf(stderr, "[resume] %s: iter %lld, %lld samples, train %.2f s\n", a.resume,
                (long long)iter, (long long)seen, train_s);
        if (seen >= total_samples) {
            fprintf(stderr, "[resume] nothing left to train (--epochs %g reached)\n", a.r.epochs);
            goto done;
        }
    }
    while (!finished) {
        if (pos >= train.n) { /* new epoch: reshuffle */
            slide_shuffle_ids(perm, train.n, &rng);
            pos = 0;
            epoch++;
        }
        int64_t nb = a.r.batch;
        if (nb > train.n - pos) nb = train.n - pos;
        if (nb > total_samples - seen) nb = total_samples - seen;
        slide_train_stats st_b;
        memset(&st_b, 0, sizeof st_b);
        if (tlbp_before(&tp, net, counters,
                        tp.batch ? 0 : tlbp_batches(train.n, a.r.batch, total_samples, seen, pos))) {
            exit_code = 2;
            goto done;
        }
        slide_counters_start(counters, NULL);
        profile_step(&prof, iter + 1, nb, 0);
        double t0 = slide_now();
        if (slide_net_train_batch(net, &train, perm + pos, nb, &st_b, &err)) {
            fprintf(stderr, "slide-train: %s\n", err.msg);
            exit_code = 2;
            goto done;
        }
        train_s += slide_now() - t0;
        profile_step(&prof, iter + 1, nb, 1);
        slide_counters_stop(counters, NULL);
        tlbp_after(&tp, net, counters, nb);
        stats_add(&st_int, &st_b);
        stats_add(&st_all, &st_b);
        pos += nb;
        seen += nb;
        iter++;
        int last = seen >= total_samples || (a.r.time_budget > 0 && train_s >= a.r.time_budget) ||
                   g_stop || (prof.b && iter >= prof.b);
        int due = (a.r.eval_every > 0 && iter - last_eval_iter >= a.r.eval_every) ||
                  (a.r.eval_every_s > 0 && train_s - last_eval_train_s >= a.r.eval_every_s);
        if (progress) {
            fprintf(stderr, "\r[train] epoch %lld iter %lld samples %lld train %.1fs loss %.4f active %.0f   ",
                    (long long)epoch, (long long)iter, (long long)seen, train_s,
                    st_int.samples ? st_int.loss_sum / st_int.samples : 0.0,
                    st_int.samples ? (double)st_int.active_sum / st_int.samples : 0.0);
        }
        if (due || last) {
        /* Evaluation row; the last row evaluates the whole test set, unless a signal stopped
         * the run (then the subset: a large test set would keep the user waiting minutes). */
        const int full_eval = last && !g_stop;
        if (last && !full_eval)
            fprintf(stderr, "\n[stop] signal %d: last row evaluates the %lld-point subset\n",
                    (int)g_stop, (long long)n_sub);
        double te = slide_now();
        slide_eval_result ev;
        if (slide_net_evaluate(net, &test, full_eval ? NULL : eval_ids, full_eval ? test.n : n_sub,
                               a.sampled_inference, &ev, &err)) {
            fprintf(stderr, "slide-train: %s\n", err.msg);
            exit_code = 2;
            goto done;
        }
        double eval_s = slide_now() - te;
        eval_s_total += eval_s;
        double int_train = train_s - last_eval_train_s;
        char rec[32], row[4096];
        if (isnan(ev.recall_at_5)) snprintf(rec, sizeof rec, "NA");
        else snprintf(rec, sizeof rec, "%.4f", ev.recall_at_5);
        double act_avg = st_int.samples ? (double)st_int.active_sum / st_int.samples : 0;
        slide_train_row r;
        memset(&r, 0, sizeof r);
        r.ctx = &ctx;
        r.simd = slide_simd_name(simd);
        r.weights = a.bf16_only ? "bf16-sr" : a.bf16 ? "bf16" : "fp32";
        r.adam_state = a.adam_bf16 || a.bf16_only ? "bf16-sr" : "fp32";
        r.train_order = train_order;
        r.hugepages = hp_in;
        r.hugepages_requested = hp_req;
        char numa_pol[32], numa_nodes[128];
        r.numa_policy = slide_numa_name(&numa, numa_pol, sizeof numa_pol);
        slide_net_numa_nodes(net, numa_nodes, sizeof numa_nodes);
        r.numa_nodes = numa_nodes;
        r.system = system;
        r.dataset = dataset;
        r.hash_family = fam;
        r.bucket_policy = a.full_output ? "NA" : slide_bucket_policy_name(a.policy);
        r.eval_set = full_eval ? "full" : "subset";
        r.inference = a.sampled_inference ? "sampled" : "exact";
        r.gpu_model = "NA";
        r.threads = a.threads;
        r.K = a.full_output ? 0 : a.K;
        r.L = a.full_output ? 0 : a.L;
        r.range_bits = a.full_output ? 0 : a.range_bits;
        r.bucket_cap = a.full_output ? 0 : a.bucket_cap;
        r.batch = a.r.batch;
        r.probes = a.probes;
        r.hidden = a.hidden;
        r.lr = a.r.lr;
        r.seed = a.seed;
        r.epoch = (double)seen / (double)train.n;
        r.iter = iter;
        r.samples_seen = seen;
        r.n_eval = ev.n_eval;
        r.n_skipped = ev.n_skipped;
        r.train_s = train_s;
        r.wall_s = slide_now() - t_start;
        r.p_at_1 = ev.p_at[1];
        r.p_at_3 = ev.p_at[3];
        r.p_at_5 = ev.p_at[5];
        r.ndcg_at_1 = ev.ndcg_at[1];
        r.ndcg_at_3 = ev.ndcg_at[3];
        r.ndcg_at_5 = ev.ndcg_at[5];
        r.recall_at_5 = ev.recall_at_5;
        r.loss = st_int.samples ? st_int.loss_sum / st_int.samples : 0.0;
        r.active_avg = act_avg;
        r.active_frac = act_avg / (double)train.l;
        r.samples_per_s = int_train > 0 ? st_int.samples / int_train : 0.0;
        r.eval_s = eval_s;
        r.t_fwd_bwd_s = st_int.t_forward;
        r.t_update_s = st_int.t_update;
        r.t_rehash_s = st_int.t_rehash;
        r.gflops = NAN;
        slide_train_row_format(&r, row, sizeof row);
        if (slide_csv_row(csv, row, &err)) {
            fprintf(stderr, "slide-train: %s\n", err.msg);
            exit_code = 2;
            goto done;
        }
        if (progress) fputc('\n', stderr);
        fprintf(stderr, "[eval] iter %lld train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f recall@5 %s active %.0f (%s, n=%lld)\n",
                (long long)iter, train_s, ev.p_at[1], ev.p_at[3], ev.p_at[5], rec, act_avg,
                full_eval ? "full test set" : "subset", (long long)ev.n_eval);
        if (!a.full_output &&
            write_recall(a.r.csv, &ctx, system, dataset, a.threads, fam, a.K, a.L, a.probes, a.mips,
                         (long long)iter, r.epoch, r.eval_set, &ev, last, &err)) {
            fprintf(stderr, "slide-train: %s\n", err.msg);
            exit_code = 2;
            goto done;
        }
        memset(&st_int, 0, sizeof st_int);
        last_eval_iter = iter;
        last_eval_train_s = train_s;
        if (last) finished = 1;
        }
        if (*a.checkpoint && (last || (a.checkpoint_every > 0 && iter % a.checkpoint_every == 0))) {
            run_state rs;
            memset(&rs, 0, sizeof rs);
            rs.magic = RUN_STATE_MAGIC;
            rs.n_train = train.n;
            rs.rng = rng;
            rs.seen = seen;
            rs.iter = iter;
            rs.last_eval_iter = last_eval_iter;
            rs.pos = pos;
            rs.epoch = epoch;
            rs.train_s = train_s;
            rs.last_eval_train_s = last_eval_train_s;
            rs.eval_s_total = eval_s_total;
            rs.st_int = st_int;
            rs.st_all = st_all;
            memcpy(blob, &rs, sizeof rs);
            memcpy((char *)blob + sizeof rs, perm, (size_t)train.n * sizeof(int64_t));
            double tc = slide_now();
            if (slide_checkpoint_save(net, a.checkpoint, blob, blob_cap, &err)) {
                fprintf(stderr, "slide-train: %s\n", err.msg);
                exit_code = 2;
                goto done;
            }
            if (progress || last)
                fprintf(stderr, "[checkpoint] %s (iter %lld, %.2f s)\n", a.checkpoint,
                        (long long)iter, slide_now() - tc);
        }
    }
    if (prof.b && iter < prof.b) {
        fprintf(stderr, "slide-train: --profile-batches %s: the run stopped after batch %lld, "
                "before batch %lld (--time-budget or a signal); the profile is incomplete\n",
                a.profile_batches, (long long)iter, (long long)prof.b);
        exit_code = 2;
        goto done;
    }
    if (prof.b)
        fprintf(stderr, "[profile] collected batches %lld..%lld (%lld samples)\n",
                (long long)prof.a, (long long)prof.b, (long long)prof.samples);
    if (write_breakdown(a.r.csv, &ctx, system, dataset, slide_simd_name(simd), a.threads, fam,
                        a.K, a.L, a.r.batch, hp_in, hp_req, (double)seen / (double)train.n, train_s,
                        train_order, &st_all, counters, &err))
        fprintf(stderr, "slide-train: warning: %s\n", err.msg);
    if (tp.n && tp.prof_n < tp.n) {
        fprintf(stderr, "slide-train: --tlb-sim %d: the run stopped after %lld of the %d "
                "profiled batches (--time-budget or a signal); no TLB profile written\n", tp.n,
                (long long)tp.prof_n, tp.n);
        exit_code = 2;
        goto done;
    }
    if (tp.n && tlbp_write(&tp, a.r.csv, &ctx, system, dataset, slide_simd_name(simd), a.threads,
                           hp_in, train_order, a.r.batch, a.full_output ? 0 : a.K,
                           a.full_output ? 0 : a.L, net, counters, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        exit_code = 2;
        goto done;
    }
    if (st_all.samples > 0 && st_all.lsh_sum + st_all.label_sum > 0) {
        double ns = (double)st_all.samples, act = (double)st_all.active_sum / ns;
        double lab = (double)st_all.label_sum / ns, lsh = (double)st_all.lsh_sum / ns;
        fprintf(stderr, "[active] per sample: %.0f = %.1f labels + %.0f from the hash tables + %.0f "
                        "random fill\n", act, lab, lsh, act - lab - lsh > 0 ? act - lab - lsh : 0);
    }
    fprintf(stderr, "[done] %lld iterations, %lld samples, train %.2f s, eval %.2f s, wall %.2f s -> %s\n",
            (long long)iter, (long long)seen, train_s, eval_s_total, slide_now() - t_start, a.r.csv);
    if (g_stop) exit_code = g_stop == SIGINT ? 130 : 143;
done:
    if (tp.on) slide_tlbtrace_free(&tp.tr);
    slide_counters_destroy(counters);
    free(blob);
    free(perm);
    free(eval_ids);
    slide_net_destroy(net);
    slide_data_free(&train);
    slide_data_free(&test);
    slide_csv_close(csv);
    slide_opts_free(opts);
    return exit_code;
}
