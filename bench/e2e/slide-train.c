/* slide-train: trains the SLIDE network on an XC data set and appends one CSV row per
 * evaluation point (time-vs-accuracy). Thin wrapper over the library; see --help. */
#include "../common/drv.h"
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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef SLIDE_HAVE_VALGRIND
#include <valgrind/callgrind.h>
#endif

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

static void tlbp_snap(const slide_counters *c, double v[3]) {
    for (int k = 0; k < 2; k++) {
        const int i = slide_counters_find(c, tlbp_events[k]);
        v[k] = i >= 0 ? slide_counters_value(c, i) : NAN;
    }
    v[2] = slide_counters_rusage(c, SLIDE_RU_MINFLT);
}

/* Before batch: sets or clears the trace. Returns nonzero (err filled) when the run is too short
 * for the profile or the trace cannot be set. */
static int tlbp_before(tlbprof *tp, slide_net *net, const slide_counters *c, int64_t planned,
                       slide_err *err) {
    if (!tp->n) return 0;
    if (tp->batch == 0) {
        tp->planned = planned;
        if (planned < TLBP_WARM + tp->n)
            return slide_err_set(err, SLIDE_EINVAL, 0, "--tlb-sim %d: the run trains %lld batches, "
                                 "fewer than the %d warm-up batches + %d profiled; raise --epochs "
                                 "or profile fewer", tp->n, (long long)planned, TLBP_WARM, tp->n);
    }
    tp->batch++;
    if (tp->batch == 2) tlbp_snap(c, tp->c0);
    if (tp->batch == TLBP_WARM && slide_net_set_tlb_trace(net, &tp->tr, err)) {
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        return slide_err_set(err, SLIDE_EINVAL, 0, "--tlb-sim: %s", m);
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

/* ------------------------------------------------------------------ the model for the run loop */

typedef struct {
    drv_opts *o;
    const slide_data *test;
    slide_net *net;
    slide_counters *counters;
    tlbprof tp;
    profile_win prof;
    slide_numa numa;
    int simd, hp_eff;
    slide_train_stats st_int, st_all; /* since the last row; since the start */
    void *blob;                       /* checkpoint driver state: run_state + permutation */
    size_t blob_cap;
    const char *system, *fam, *train_order;
    char fam_rot[32], hp_req[16], hp_in[16], numa_pol[32], numa_nodes[128];
} slide_model;

static int m_train_batch(void *self, const drv_loop *lp, const int64_t *ids, int64_t nb,
                         double *train_s, slide_err *err) {
    slide_model *s = self;
    if (tlbp_before(&s->tp, s->net, s->counters, s->tp.batch ? 0 : drv_loop_batches(lp, INT64_MAX),
                    err))
        return SLIDE_EINVAL;
    slide_train_stats st_b;
    memset(&st_b, 0, sizeof st_b);
    slide_counters_start(s->counters, NULL);
    profile_step(&s->prof, lp->iter + 1, nb, 0);
    const double t0 = slide_now();
    const int rc = slide_net_train_batch(s->net, &lp->train, ids, nb, &st_b, err);
    if (rc) return rc;
    *train_s += slide_now() - t0;
    profile_step(&s->prof, lp->iter + 1, nb, 1);
    slide_counters_stop(s->counters, NULL);
    tlbp_after(&s->tp, s->net, s->counters, nb);
    slide_train_stats_add(&s->st_int, &st_b);
    slide_train_stats_add(&s->st_all, &st_b);
    return SLIDE_OK;
}

static int m_evaluate(void *self, const slide_data *ds, const int64_t *ids, int64_t n,
                      slide_eval_result *ev, slide_err *err) {
    slide_model *s = self;
    return slide_net_evaluate(s->net, ds, ids, n, s->o->sampled_inference, ev, err);
}

static void m_progress(void *self, char *buf, size_t cap) {
    const slide_model *s = self;
    const double ns = s->st_int.samples ? (double)s->st_int.samples : 0.0;
    snprintf(buf, cap, "loss %.4f active %.0f", ns ? s->st_int.loss_sum / ns : 0.0,
             ns ? (double)s->st_int.active_sum / ns : 0.0);
}

static void m_fill_row(void *self, const drv_loop *lp, slide_train_row *r,
                       const slide_eval_result *ev, double int_train) {
    slide_model *s = self;
    const drv_opts *o = s->o;
    const slide_train_stats *st = &s->st_int;
    (void)ev;
    const double act_avg = st->samples ? (double)st->active_sum / st->samples : 0;
    r->simd = slide_simd_name(s->simd);
    r->weights = o->bf16_only ? "bf16-sr" : o->bf16 ? "bf16" : "fp32";
    r->adam_state = o->adam_bf16 || o->bf16_only ? "bf16-sr" : "fp32";
    r->train_order = s->train_order;
    r->sampler = s->o->full_output ? NULL : slide_sampler_name(s->o->sampler);
    r->budget = s->o->full_output ? 0 : s->o->budget;
    r->hugepages = s->hp_in;
    r->hugepages_requested = s->hp_req;
    r->numa_policy = slide_numa_name(&s->numa, s->numa_pol, sizeof s->numa_pol);
    slide_net_numa_nodes(s->net, s->numa_nodes, sizeof s->numa_nodes);
    r->numa_nodes = s->numa_nodes;
    r->system = s->system;
    r->hash_family = s->fam;
    r->bucket_policy = o->full_output ? "NA" : slide_bucket_policy_name(o->policy);
    r->inference = o->sampled_inference ? "sampled" : "exact";
    r->K = o->full_output ? 0 : o->K;
    r->L = o->full_output ? 0 : o->L;
    r->range_bits = o->full_output ? 0 : o->range_bits;
    r->bucket_cap = o->full_output ? 0 : o->bucket_cap;
    r->probes = o->probes;
    r->loss = st->samples ? st->loss_sum / st->samples : 0.0;
    r->active_avg = act_avg;
    r->active_frac = act_avg / (double)lp->train.l;
    r->samples_per_s = int_train > 0 ? st->samples / int_train : 0.0;
    r->t_fwd_bwd_s = st->t_forward;
    r->t_update_s = st->t_update;
    r->t_rehash_s = st->t_rehash;
}

static int m_after_row(void *self, const drv_loop *lp, const slide_train_row *r,
                       const slide_eval_result *ev, slide_err *err) {
    slide_model *s = self;
    const drv_opts *o = s->o;
    char rec[32];
    if (isnan(ev->recall_at_5)) snprintf(rec, sizeof rec, "NA");
    else snprintf(rec, sizeof rec, "%.4f", ev->recall_at_5);
    const int full = !strcmp(r->eval_set, "full");
    fprintf(stderr, "[eval] iter %lld train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f recall@5 %s active "
            "%.0f (%s, n=%lld)\n", (long long)lp->iter, lp->train_s, ev->p_at[1], ev->p_at[3],
            ev->p_at[5], rec, r->active_avg,
            full ? "full test set" : !strcmp(r->eval_set, "val") ? "validation split" : "subset",
            (long long)ev->n_eval);
    memset(&s->st_int, 0, sizeof s->st_int);
    if (o->full_output) return SLIDE_OK;
    const int last = full || lp->signal;
    return write_recall(o->csv, &lp->ctx, s->system, lp->dataset, o->threads, s->fam, o->K, o->L,
                        o->probes, o->mips, (long long)lp->iter, r->epoch, r->eval_set, ev, last,
                        err);
}

static int m_checkpoint(void *self, const drv_loop *lp, int last, slide_err *err) {
    slide_model *s = self;
    const char *path = s->o->checkpoint;
    if (!*path) return SLIDE_OK;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.magic = RUN_STATE_MAGIC;
    rs.n_train = lp->train.n;
    rs.rng = lp->rng;
    rs.seen = lp->seen;
    rs.iter = lp->iter;
    rs.last_eval_iter = lp->last_eval_iter;
    rs.pos = lp->pos;
    rs.epoch = lp->epoch;
    rs.train_s = lp->train_s;
    rs.last_eval_train_s = lp->last_eval_train_s;
    rs.eval_s_total = lp->eval_s_total;
    rs.st_int = s->st_int;
    rs.st_all = s->st_all;
    memcpy(s->blob, &rs, sizeof rs);
    memcpy((char *)s->blob + sizeof rs, lp->perm, (size_t)lp->train.n * sizeof(int64_t));
    const double tc = slide_now();
    const int rc = slide_checkpoint_save(s->net, path, s->blob, s->blob_cap, err);
    if (rc) return rc;
    if (lp->progress || last)
        fprintf(stderr, "[checkpoint] %s (iter %lld, %.2f s)\n", path, (long long)lp->iter,
                slide_now() - tc);
    return SLIDE_OK;
}

/* Restores the network and the schedule from --resume. Returns 0, 1 when nothing is left to
 * train, or 2 after a message. */
static int resume(slide_model *s, drv_loop *lp) {
    const char *path = s->o->resume;
    slide_err err;
    size_t got = 0;
    run_state rs;
    if (slide_checkpoint_load(s->net, path, s->blob, s->blob_cap, &got, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        return 2;
    }
    memcpy(&rs, s->blob, sizeof rs);
    const int64_t n = lp->train.n;
    if (got != s->blob_cap || rs.magic != RUN_STATE_MAGIC || rs.n_train != n || rs.pos < 0 ||
        rs.pos > n || rs.seen < 0) {
        fprintf(stderr, "slide-train: %s: checkpoint was written for another training set\n", path);
        return 2;
    }
    memcpy(lp->perm, (char *)s->blob + sizeof rs, (size_t)n * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        if (lp->perm[i] < 0 || lp->perm[i] >= n) {
            fprintf(stderr, "slide-train: %s: corrupted permutation\n", path);
            return 2;
        }
    lp->rng = rs.rng;
    lp->seen = rs.seen;
    lp->iter = rs.iter;
    lp->last_eval_iter = rs.last_eval_iter;
    lp->pos = rs.pos;
    lp->epoch = rs.epoch;
    lp->train_s = rs.train_s;
    lp->last_eval_train_s = rs.last_eval_train_s;
    lp->eval_s_total = rs.eval_s_total;
    s->st_int = rs.st_int;
    s->st_all = rs.st_all;
    fprintf(stderr, "[resume] %s: iter %lld, %lld samples, train %.2f s\n", path,
            (long long)lp->iter, (long long)lp->seen, lp->train_s);
    if (lp->seen >= lp->total) {
        fprintf(stderr, "[resume] nothing left to train (--epochs %g reached)\n", s->o->epochs);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ set-up and teardown */

/* Checks what the options alone decide (before anything is read or written); restarts the
 * program pinned when it may. Returns 0 or 2 after a message. */
static int check_opts(slide_model *s, char **argv) {
    drv_opts *o = s->o;
    slide_err err;
    slide_err_clear(&err);
    /* Pin threads by default: the OpenMP runtime reads its environment at start-up, so set it
     * and re-execute once (recorded in the omp_proc_bind column either way). Not under a
     * profile: the restart would leave valgrind. */
    if (!o->no_pin && !*o->profile_batches && !getenv("OMP_PROC_BIND") &&
        !getenv("SLIDE_NO_REEXEC")) {
        setenv("OMP_PROC_BIND", "true", 1);
        if (!getenv("OMP_PLACES")) setenv("OMP_PLACES", "cores", 1);
        /* Sleeping (not spinning) waits: on a shared machine spinning threads steal the CPU
         * another thread of this run needs. */
        if (!getenv("OMP_WAIT_POLICY")) setenv("OMP_WAIT_POLICY", "passive", 1);
        setenv("SLIDE_NO_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
        /* exec failed: continue unpinned */
    }
    if (profile_parse(o->profile_batches, &s->prof)) {
        fprintf(stderr, "slide-train: --profile-batches '%s': expected A:B with 1 <= A <= B\n",
                o->profile_batches);
        return 2;
    }
#ifndef SLIDE_HAVE_VALGRIND
    if (s->prof.b) {
        fprintf(stderr, "slide-train: --profile-batches: built without <valgrind/callgrind.h> "
                        "(Debian package valgrind); install it and rebuild\n");
        return 2;
    }
#endif
    if (slide_numa_parse(o->numa, &s->numa, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        return 2;
    }
    s->simd = slide_simd_parse(!strcmp(o->simd, "auto") && !drv_opts_was_set(o, "simd")
                                   ? NULL : o->simd, &err);
    if (s->simd < 0) {
        fprintf(stderr, "slide-train: --simd: %s\n", err.msg);
        return 2;
    }
    /* min-active's default (0.05) yields to a smaller --max-active; two explicit values that
     * contradict each other are an error, not a silent clamp. */
    if (drv_opts_was_set(o, "min-active") && drv_opts_was_set(o, "max-active") &&
        o->min_active > o->max_active) {
        fprintf(stderr, "slide-train: --min-active %g exceeds --max-active %g\n", o->min_active,
                o->max_active);
        return 2;
    }
    return 0;
}

/* Builds the network after the memory check ([mem] line). Returns 0 or 2 after a message. */
static int build_net(slide_model *s, const drv_loop *lp) {
    const drv_opts *o = s->o;
    slide_err err;
    slide_net_params np;
    drv_net_params(o, lp->train.d, lp->train.l, s->simd, &s->numa, &np);
    np.max_labels = slide_data_max_labels(&lp->train); /* the plan holds every training point */
    const char *m = slide_net_params_check(&np);
    if (m) {
        fprintf(stderr, "slide-train: %s\n", m);
        return 2;
    }
    slide_mem_parts mp;
    const double MB = 1048576.0;
    double est_mb = slide_net_estimate_bytes(&np, &mp) / MB;
    /* The data sets are in memory already: they count against --max-mem (the whole run),
     * while available memory is what is left beside them. */
    double data_mb = 0;
    const slide_data *dsets[2] = {&lp->train, &lp->test};
    for (int q = 0; q < 2; q++)
        data_mb += (16.0 * (double)(dsets[q]->n + 1) + 8.0 * (double)dsets[q]->nnz +
                    4.0 * (double)dsets[q]->nlab) / MB;
    double avail_mb = slide_mem_available_mb();
    double limit_mb = o->max_mem_mb > 0 ? o->max_mem_mb : avail_mb;
    double need_mb = o->max_mem_mb > 0 ? est_mb + data_mb : est_mb;
    fprintf(stderr,
            "[mem] network needs about %.0f MB (weights %.0f, optimizer state %.0f, hash tables "
            "%.0f, workspace %.0f, table-build scratch %.0f), data sets in memory %.0f MB "
            "(limit %.0f MB%s)\n",
            est_mb, mp.weights / MB, mp.optimizer / MB, mp.tables / MB, mp.workspace / MB,
            mp.scratch / MB,
            data_mb, limit_mb,
            o->max_mem_mb > 0 ? ", --max-mem, for network and data" : ", available memory, for the network");
    if (limit_mb > 0 && need_mb > limit_mb) {
        fprintf(stderr, "slide-train: the configuration needs about %.0f MB%s, above the limit of %.0f MB%s; "
                "reduce --hidden, --L or the label count\n", need_mb,
                o->max_mem_mb > 0 ? " with its data" : "", limit_mb,
                o->max_mem_mb > 0 ? " (--max-mem)" : " (available memory)");
        return 2;
    }
    if (slide_net_create(&s->net, &np, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        return 2;
    }
    s->hp_eff = slide_net_hugepages_in_effect(s->net);
    s->train_order = slide_net_row_sweep(s->net) ? "row-sweep" : "per-sample";
    if (s->numa.kind != SLIDE_NUMA_LOCAL && slide_numa_nodes() <= 1)
        fprintf(stderr, "[numa] %s: %s; placement has no effect\n", o->numa,
                slide_numa_nodes() == 0 ? "libnuma unavailable" : "this machine has one NUMA node");
    if (s->hp_eff != o->hugepages)
        fprintf(stderr, "[mem] warning: --hugepages %s unavailable (pool empty?), using %s\n",
                slide_hugepages_name(o->hugepages), slide_hugepages_name(s->hp_eff));
    s->system = o->full_output ? "slide-full" : "slide";
    snprintf(s->fam_rot, sizeof s->fam_rot, "%s-rot", slide_hash_family_name(o->family));
    s->fam = o->full_output || o->sampler != SLIDE_SAMPLER_LSH ? "NA"
             : o->hash_rotate ? s->fam_rot : slide_hash_family_name(o->family);
    if (slide_net_set_label_counts(s->net, &lp->train, &err)) { /* the unigram's weights */
        fprintf(stderr, "slide-train: %s\n", err.msg);
        return 2;
    }
    snprintf(s->hp_req, sizeof s->hp_req, "%s", slide_hugepages_name(o->hugepages));
    snprintf(s->hp_in, sizeof s->hp_in, "%s", slide_hugepages_name(s->hp_eff));
    s->blob_cap = sizeof(run_state) + (size_t)lp->train.n * sizeof(int64_t);
    s->blob = malloc(s->blob_cap);
    if (!s->blob) {
        fprintf(stderr, "slide-train: out of memory\n");
        return 2;
    }
    return 0;
}

/* PAPI counters and the --tlb-sim trace. Returns 0 or 2 after a message. */
static int setup_counters(slide_model *s) {
    const drv_opts *o = s->o;
    slide_err err;
    if (slide_counters_create(&s->counters,
                              strcmp(o->papi_events, "default") ? o->papi_events : NULL, &err)) {
        fprintf(stderr, "slide-train: --papi-events: %s\n", err.msg);
        return 2;
    }
    if (slide_counters_unavailable_reason(s->counters))
        fprintf(stderr, "[counters] NA: %s\n", slide_counters_unavailable_reason(s->counters));
    tlbprof *tp = &s->tp;
    tp->n = o->tlb_sim;
    if (!tp->n) return 0;
    tp->g = slide_tlbsim_geom_detect();
    if (slide_tlbtrace_init(&tp->tr, &tp->g, o->threads, &err) ||
        slide_net_tlb_regions(s->net, &tp->tr, tp->share, &err)) {
        fprintf(stderr, "slide-train: --tlb-sim: %s\n", err.msg);
        return 2;
    }
    tp->on = 1;
    char geo[128];
    fprintf(stderr, "[tlbsim] dTLB %s (%s: %s); slabs on 2 MB pages (smaps): hidden %.2f, "
            "output %.2f\n", slide_tlbsim_geom_text(&tp->g, geo, sizeof geo), tp->g.source,
            tp->g.detail, tp->share[0], tp->share[slide_net_params_of(s->net)->n_layers - 1]);
    return 0;
}

/* After the last row: the profile's end, the breakdown and TLB CSVs, the summary lines.
 * Returns 0 or 2 after a message. */
static int finish(slide_model *s, const drv_loop *lp) {
    const drv_opts *o = s->o;
    const profile_win *prof = &s->prof;
    const tlbprof *tp = &s->tp;
    slide_err err;
    if (prof->b && lp->iter < prof->b) {
        fprintf(stderr, "slide-train: --profile-batches %s: the run stopped after batch %lld, "
                "before batch %lld (--time-budget or a signal); the profile is incomplete\n",
                o->profile_batches, (long long)lp->iter, (long long)prof->b);
        return 2;
    }
    if (prof->b)
        fprintf(stderr, "[profile] collected batches %lld..%lld (%lld samples)\n",
                (long long)prof->a, (long long)prof->b, (long long)prof->samples);
    const char *simd = slide_simd_name(s->simd);
    if (write_breakdown(o->csv, &lp->ctx, s->system, lp->dataset, simd, o->threads, s->fam, o->K,
                        o->L, o->batch, s->hp_in, s->hp_req, (double)lp->seen / (double)lp->train.n,
                        lp->train_s, s->train_order, &s->st_all, s->counters, &err))
        fprintf(stderr, "slide-train: warning: %s\n", err.msg);
    if (tp->n && tp->prof_n < tp->n) {
        fprintf(stderr, "slide-train: --tlb-sim %d: the run stopped after %lld of the %d "
                "profiled batches (--time-budget or a signal); no TLB profile written\n", tp->n,
                (long long)tp->prof_n, tp->n);
        return 2;
    }
    if (tp->n && tlbp_write(&s->tp, o->csv, &lp->ctx, s->system, lp->dataset, simd, o->threads,
                            s->hp_in, s->train_order, o->batch, o->full_output ? 0 : o->K,
                            o->full_output ? 0 : o->L, s->net, s->counters, &err)) {
        fprintf(stderr, "slide-train: %s\n", err.msg);
        return 2;
    }
    const slide_train_stats *st = &s->st_all;
    if (st->samples > 0 && st->lsh_sum + st->label_sum > 0) {
        double ns = (double)st->samples, act = (double)st->active_sum / ns;
        double lab = (double)st->label_sum / ns, lsh = (double)st->lsh_sum / ns;
        fprintf(stderr, "[active] per sample: %.0f = %.1f labels + %.0f from the hash tables + %.0f "
                        "random fill\n", act, lab, lsh, act - lab - lsh > 0 ? act - lab - lsh : 0);
    }
    return 0;
}

int main(int argc, char **argv) {
    static drv_opts o; /* (holds its option table: large for the stack of a thread) */
    drv_opts_init(&o, DRV_SLIDE, NULL);
    int ex = drv_opts_cli(&o, argc, argv, "slide-train",
                          "usage: slide-train [--config FILE] [options]\n"
                          "Trains SLIDE (sparse input -> hidden ReLU -> LSH-sampled softmax) and "
                          "appends one CSV row per evaluation.\n"
                          "Defaults are bench/e2e/configs/delicious.conf on the vendored "
                          "Delicious set (datasets/prepare_delicious.sh).");
    if (ex >= 0) return ex;
    slide_model s;
    memset(&s, 0, sizeof s);
    s.o = &o;
    drv_loop lp;
    memset(&lp, 0, sizeof lp);
    if ((ex = check_opts(&s, argv)) || (ex = drv_loop_setup(&lp, &o, "slide-train")))
        goto done;
    s.test = &lp.test;
    drv_active_default(&o, lp.train.l, (double)lp.train.nlab / (double)lp.train.n);
    if (s.prof.b && !*o.resume) { /* (a resumed run counts its batches from the checkpoint) */
        const int64_t nbp = drv_loop_batches(&lp, s.prof.b);
        if (nbp < s.prof.b) {
            fprintf(stderr, "slide-train: --profile-batches %s: the run trains only %lld batches "
                    "(--epochs %g of %lld points, --batch %d); profile earlier batches or raise "
                    "--epochs\n", o.profile_batches, (long long)nbp, o.epochs,
                    (long long)lp.train.n, o.batch);
            ex = 2;
            goto done;
        }
    }
    lp.stop_iter = s.prof.b;
    if ((ex = build_net(&s, &lp)) || (ex = setup_counters(&s))) goto done;
    if (*o.resume && (ex = resume(&s, &lp))) {
        if (ex == 1) ex = 0; /* nothing left to train */
        goto done;
    }
    const drv_model m = {&s, NULL, m_train_batch, m_evaluate, m_progress, m_fill_row, m_after_row,
                         m_checkpoint};
    if ((ex = drv_loop_run(&lp, &m)) || (ex = finish(&s, &lp))) goto done;
    ex = drv_loop_done(&lp);
done:
    if (s.tp.on) slide_tlbtrace_free(&s.tp.tr);
    slide_counters_destroy(s.counters);
    free(s.blob);
    slide_net_destroy(s.net);
    drv_loop_free(&lp);
    drv_opts_free(&o);
    return ex;
}
