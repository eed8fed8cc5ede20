/* Tests of the simulated data TLB against closed-form cases (sequential sweep, working sets just
 * inside and outside the reach of each level, a uniform random stream, 2 MB pages), its LRU
 * order, the training trace's page modes, and the geometry read from cpuid. */
#include "slide/mem.h"
#include "slide/network.h"
#include "slide/synth.h"
#include "slide/tlbsim.h"
#include "spawn_util.h"
#include "test_util.h"

#define P4K 4096ULL
#define P2M (2ULL << 20)

/* A fixed geometry, so every count below is exact: L1 4K 64 x 4-way (16 sets), L1 2M 32 x
 * 4-way (8 sets), L2 1536 x 12-way (128 sets). */
static slide_tlb_geom geom(void) {
    slide_tlb_geom g = slide_tlbsim_geom_default();
    g.l1_4k = (slide_tlb_array){64, 4};
    g.l1_2m = (slide_tlb_array){32, 4};
    g.l2 = (slide_tlb_array){1536, 12};
    return g;
}

static const uint64_t BASE = 0x7f0000000000ULL; /* 2 MB aligned */

/* Cycles over `pages` consecutive 4 KB pages `rounds` times; returns the counts. */
static slide_tlb_counts cycle(int64_t pages, int rounds, int huge) {
    slide_tlbsim s;
    slide_tlb_geom g = geom();
    slide_err err;
    SLIDE_ASSERT(slide_tlbsim_init(&s, &g, &err) == SLIDE_OK);
    for (int r = 0; r < rounds; r++)
        for (int64_t p = 0; p < pages; p++)
            slide_tlbsim_access(&s, BASE + (uint64_t)p * (huge ? P2M : P4K), huge, 0);
    slide_tlb_counts c = s.cnt[0];
    slide_tlbsim_free(&s);
    return c;
}

static void test_sequential(void) {
    /* Each page read 8 times in a row (8 rows of 512 bytes): one miss and one walk per page. */
    slide_tlbsim s;
    slide_tlb_geom g = geom();
    slide_err err;
    CHECK(slide_tlbsim_init(&s, &g, &err) == SLIDE_OK);
    const int64_t pages = 5000;
    for (int64_t p = 0; p < pages; p++)
        for (int k = 0; k < 8; k++) slide_tlbsim_access(&s, BASE + (uint64_t)p * P4K + 512u * k, 0, 3);
    CHECK(s.cnt[3].accesses == (uint64_t)(8 * pages));
    CHECKF(s.cnt[3].l1_misses == (uint64_t)pages, "%llu", (unsigned long long)s.cnt[3].l1_misses);
    CHECKF(s.cnt[3].walks == (uint64_t)pages, "%llu", (unsigned long long)s.cnt[3].walks);
    CHECK(s.cnt[0].accesses == 0); /* other tags untouched */
    slide_tlbsim_free(&s);
}

static void test_reach(void) {
    const int R = 10;
    /* L1: 64 pages fit (4 per set): cold misses only */
    slide_tlb_counts c = cycle(64, R, 0);
    CHECKF(c.l1_misses == 64 && c.walks == 64, "in L1 reach: %llu misses %llu walks",
           (unsigned long long)c.l1_misses, (unsigned long long)c.walks);
    /* 80 pages: 5 per 4-way set, cyclic under LRU: every access misses L1, L2 holds them */
    c = cycle(80, R, 0);
    CHECKF(c.l1_misses == 80u * R && c.walks == 80, "outside L1 reach: %llu misses %llu walks",
           (unsigned long long)c.l1_misses, (unsigned long long)c.walks);
    /* L2: 1536 pages fit (12 per set): walks are the cold ones */
    c = cycle(1536, R, 0);
    CHECKF(c.l1_misses == 1536u * R && c.walks == 1536, "in L2 reach: %llu misses %llu walks",
           (unsigned long long)c.l1_misses, (unsigned long long)c.walks);
    /* 1664 pages: 13 per 12-way set: every access walks */
    c = cycle(1664, R, 0);
    CHECKF(c.walks == 1664u * R, "outside L2 reach: %llu walks", (unsigned long long)c.walks);
    /* 2 MB pages: 32 fit L1's 2 MB array, 40 thrash it (5 per 4-way set) */
    c = cycle(32, R, 1);
    CHECK(c.l1_misses == 32 && c.walks == 32);
    c = cycle(40, R, 1);
    CHECK(c.l1_misses == 40u * R && c.walks == 40);
}

static void test_lru(void) {
    /* Pages 16 apart share an L1 4K set (16 sets, 4 ways). A B C D, A again, then E evicts the
     * least recently used, B (FIFO would evict A); A then hits, B misses. */
    slide_tlbsim s;
    slide_tlb_geom g = geom();
    slide_err err;
    CHECK(slide_tlbsim_init(&s, &g, &err) == SLIDE_OK);
    const uint64_t st = 16 * P4K;
    for (int k = 0; k < 4; k++) slide_tlbsim_access(&s, BASE + k * st, 0, 0);
    CHECK(slide_tlbsim_access(&s, BASE, 0, 0) == 0);           /* A hits */
    CHECK(slide_tlbsim_access(&s, BASE + 4 * st, 0, 0) == 2);  /* E: a walk */
    CHECK(slide_tlbsim_access(&s, BASE, 0, 0) == 0);           /* A still there */
    CHECK(slide_tlbsim_access(&s, BASE + 1 * st, 0, 0) == 1);  /* B: evicted from L1, in L2 */
    slide_tlbsim_flush(&s);
    CHECK(slide_tlbsim_access(&s, BASE, 0, 0) == 2);           /* empty after a flush */
    slide_tlbsim_reset_counts(&s);
    CHECK(s.cnt[0].accesses == 0);
    slide_tlbsim_free(&s);
}

static uint64_t xs(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_random(void) {
    /* Uniform over N pages spread evenly over the sets: a set holds `ways` of its N / sets
     * pages, so an access misses L1 with probability 1 - 64/N and walks with probability
     * between 1 - (1536 + 64)/N and 1 - 1536/N (L1 may hold a few pages L2 lost). 400,000
     * accesses: standard error about 0.0006; tolerance 0.01 around 1 - 1536/N. */
    const uint64_t N = 8192;
    slide_tlbsim s, h;
    slide_tlb_geom g = geom();
    slide_err err;
    CHECK(slide_tlbsim_init(&s, &g, &err) == SLIDE_OK);
    CHECK(slide_tlbsim_init(&h, &g, &err) == SLIDE_OK);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 50000; i++) { /* warm */
        const uint64_t a = BASE + (xs(&x) % N) * P4K;
        slide_tlbsim_access(&s, a, 0, 1);
        slide_tlbsim_access(&h, a, 1, 1);
    }
    const int n = 400000;
    for (int i = 0; i < n; i++) {
        const uint64_t a = BASE + (xs(&x) % N) * P4K;
        slide_tlbsim_access(&s, a, 0, 0);
        slide_tlbsim_access(&h, a, 1, 0);
    }
    const double l1 = (double)s.cnt[0].l1_misses / n, w = (double)s.cnt[0].walks / n;
    fprintf(stderr, "random over %llu pages: L1 miss rate %.4f (closed form %.4f), walk rate "
                    "%.4f (%.4f)\n", (unsigned long long)N, l1, 1.0 - 64.0 / N, w,
            1.0 - 1536.0 / N);
    CHECK_NEAR(l1, 1.0 - 64.0 / N, 0.01);
    CHECK_NEAR(w, 1.0 - 1536.0 / N, 0.01);
    /* the same 32 MB on 16 pages of 2 MB: they fit L1's 2 MB array, no miss after warm-up */
    CHECK(h.cnt[0].l1_misses == 0 && h.cnt[0].walks == 0);
    CHECK(h.cnt[1].walks == 16);
    slide_tlbsim_free(&s);
    slide_tlbsim_free(&h);
}

static void test_trace(void) {
    /* An 8 MB region (4 chunks of 2 MB), half of it on 2 MB pages under THP, swept once
     * page by page by thread 1 (each 4 KB page read as one 4 KB row) */
    slide_tlbtrace t;
    slide_tlb_geom g = geom();
    slide_err err;
    CHECK(slide_tlbtrace_init(&t, &g, 2, &err) == SLIDE_OK);
    const void *base = (const void *)(uintptr_t)BASE;
    CHECK(slide_tlbtrace_region(&t, base, 4 * P2M, 0.5, 1, &err) == SLIDE_OK);
    CHECK(slide_tlbtrace_region(&t, base, 1, 1.5, 1, &err) == SLIDE_EINVAL);
    for (uint64_t p = 0; p < 4 * P2M / P4K; p++)
        slide_tlbtrace_touch(&t, 1, SLIDE_PH_UPDATE, (const char *)base + p * P4K, P4K);
    /* outside the region: ignored */
    slide_tlbtrace_touch(&t, 1, SLIDE_PH_UPDATE, (const char *)base + 4 * P2M, 64);
    slide_tlb_counts c4 = slide_tlbtrace_counts(&t, SLIDE_PM_4K, -1, SLIDE_PH_UPDATE);
    slide_tlb_counts c2 = slide_tlbtrace_counts(&t, SLIDE_PM_2M, -1, SLIDE_PH_UPDATE);
    slide_tlb_counts ct = slide_tlbtrace_counts(&t, SLIDE_PM_THP, -1, SLIDE_PH_UPDATE);
    CHECK(c4.rows == 2048 && c4.accesses == 2048 && c4.walks == 2048);
    CHECK(c2.rows == 2048 && c2.walks == 4);
    CHECKF(ct.walks == 2 + 2 * 512, "thp walks %llu", (unsigned long long)ct.walks);
    /* a row across a page boundary is two translations */
    slide_tlbtrace_touch(&t, 0, SLIDE_PH_FORWARD, (const char *)base + P4K - 256, 512);
    c4 = slide_tlbtrace_counts(&t, SLIDE_PM_4K, 1, SLIDE_PH_FORWARD);
    CHECK(c4.rows == 1 && c4.accesses == 2);
    slide_tlbtrace_reset_counts(&t);
    CHECK(slide_tlbtrace_counts(&t, SLIDE_PM_4K, -1, SLIDE_PH_UPDATE).walks == 0);
    slide_tlbtrace_free(&t);
    CHECK(!strcmp(slide_page_mode_name(SLIDE_PM_THP), "thp"));
    CHECK(!strcmp(slide_phase_name(SLIDE_PH_REHASH), "rehash"));
}

static void test_geometry(void) {
    slide_tlb_geom g = slide_tlbsim_geom_detect();
    char buf[128];
    fprintf(stderr, "this CPU: %s (source %s; %s)\n", slide_tlbsim_geom_text(&g, buf, sizeof buf),
            g.source, g.detail);
    CHECK(slide_tlbsim_geom_check(&g) == NULL);
    CHECK(!strcmp(g.source, "cpuid") || !strcmp(g.source, "default") || !strcmp(g.source, "mixed"));
    slide_tlb_geom d = slide_tlbsim_geom_default();
    CHECK(!strcmp(d.source, "default") && d.l2.entries == SLIDE_TLB_DEFAULT_L2);
    d.l2.ways = 7; /* 1536 is no multiple of 7 */
    slide_tlbsim s;
    slide_err err;
    CHECK(slide_tlbsim_init(&s, &d, &err) == SLIDE_EINVAL && strstr(err.msg, "L2"));
    slide_tlbsim_free(&s);
}

static void test_huge_share(void) {
    slide_block b;
    slide_err err;
    const size_t bytes = 8u << 20;
    CHECK(slide_mem_alloc(&b, bytes, SLIDE_HP_THP, NULL, &err) == SLIDE_OK);
    memset(b.ptr, 1, bytes);
    const double sh = slide_tlbsim_huge_share(b.ptr, bytes);
    fprintf(stderr, "THP share of an 8 MB madvised block: %.3f\n", sh);
    CHECK(sh == -1 || (sh >= 0 && sh <= 1));
    slide_mem_free(&b);
    CHECK(slide_tlbsim_huge_share((const void *)(uintptr_t)8, 16) == -1); /* not mapped */
}

/* A network with a trace set trains exactly as one without (one thread: no HOGWILD races), and
 * both train orders give every phase's stream: forward, backward, update, rehash. */
static void test_network_trace(void) {
    slide_synth_params sp = slide_synth_params_default();
    sp.preset = "tiny";
    sp.seed = 5;
    slide_data tr, te;
    slide_err err;
    if (slide_synth_generate(&sp, &tr, &te, &err)) {
        fprintf(stderr, "synth failed: %s\n", err.msg);
        CHECK(0);
        return;
    }
    for (int order = 0; order < 2; order++)
        for (int threads = 1; threads <= 2; threads++) {
            slide_net_params p = slide_net_params_default();
            p.layer[0].n_out = 32;
            p.layer[1].min_active_frac = 0.05;
            p.layer[1].max_active_frac = 0.3;
            slide_net_params_shape(&p, tr.d, tr.l);
            p.threads = threads;
            p.batch = 32;
            p.row_sweep = order;
            p.rehash_every = 2;
            p.rebuild_every = 0;
            slide_net *a = NULL, *b = NULL;
            CHECK(slide_net_create(&a, &p, &err) == SLIDE_OK);
            CHECK(slide_net_create(&b, &p, &err) == SLIDE_OK);
            if (!a || !b) break;
            slide_tlbtrace t;
            slide_tlb_geom g = geom();
            CHECK(slide_tlbtrace_init(&t, &g, threads, &err) == SLIDE_OK);
            double sh[2];
            CHECK(slide_net_tlb_regions(a, &t, sh, &err) == SLIDE_OK && t.n_regions == 2);
            CHECK(slide_net_set_tlb_trace(a, &t, &err) == SLIDE_OK);
            slide_train_stats sa, sb;
            memset(&sa, 0, sizeof sa);
            memset(&sb, 0, sizeof sb);
            int64_t ids[32];
            for (int bt = 0; bt < 3; bt++) {
                for (int s = 0; s < 32; s++) ids[s] = (bt * 32 + s) % tr.n;
                CHECK(slide_net_train_batch(a, &tr, ids, 32, &sa, &err) == SLIDE_OK);
                CHECK(slide_net_train_batch(b, &tr, ids, 32, &sb, &err) == SLIDE_OK);
            }
            CHECK(slide_net_set_tlb_trace(a, NULL, &err) == SLIDE_OK);
            if (threads == 1) {
                const slide_layer *la = slide_net_layer(a, 1), *lb = slide_net_layer(b, 1);
                CHECKF(!memcmp(la->W, lb->W, (size_t)(la->n_rows * la->ld) * sizeof(float)),
                       "order %d: the trace changed training", order);
            }
            uint64_t rows4 = 0;
            for (int ph = SLIDE_PH_FORWARD; ph <= SLIDE_PH_REHASH; ph++) {
                slide_tlb_counts c4 = slide_tlbtrace_counts(&t, SLIDE_PM_4K, -1, ph);
                slide_tlb_counts c2 = slide_tlbtrace_counts(&t, SLIDE_PM_2M, -1, ph);
                CHECKF(c4.rows > 0 && c4.rows == c2.rows && c2.walks <= c4.walks,
                       "order %d threads %d phase %s: rows %llu / %llu, walks 4k %llu 2m %llu",
                       order, threads, slide_phase_name(ph), (unsigned long long)c4.rows,
                       (unsigned long long)c2.rows, (unsigned long long)c4.walks,
                       (unsigned long long)c2.walks);
                rows4 += c4.rows;
            }
            /* sample by sample: every sample's active output rows (a few may have a zero
             * delta), read forward with their biases */
            if (!order)
                CHECK(slide_tlbtrace_counts(&t, SLIDE_PM_4K, 1, SLIDE_PH_FORWARD).rows >=
                      (uint64_t)sa.active_sum * 2 * 9 / 10);
            CHECK(slide_tlbtrace_counts(&t, SLIDE_PM_4K, 0, SLIDE_PH_FORWARD).rows > 0);
            CHECK(slide_tlbtrace_counts(&t, SLIDE_PM_4K, -1, -1).rows >= rows4);
            CHECK(slide_tlbtrace_counts(&t, SLIDE_PM_4K, -1, SLIDE_PH_HASH).rows == 0);
            CHECK(t.seconds > 0);
            slide_tlbtrace tsmall;
            CHECK(slide_tlbtrace_init(&tsmall, &g, 1, &err) == SLIDE_OK);
            CHECK((slide_net_set_tlb_trace(a, &tsmall, &err) == SLIDE_EINVAL) == (threads > 1));
            slide_net_set_tlb_trace(a, NULL, &err);
            slide_tlbtrace_free(&tsmall);
            slide_tlbtrace_free(&t);
            slide_net_destroy(a);
            slide_net_destroy(b);
        }
    slide_data_free(&tr);
    slide_data_free(&te);
}

static int count_sub(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p++) n++;
    return n;
}

/* slide-train --tlb-sim: <csv stem>.tlb.csv holds simulated and measured (PAPI) columns side by
 * side; measured ones are NA where PAPI cannot count dTLB misses, with the reason on stderr; a
 * run too short for the profile is a one-line error (exit 2). */
static void test_program(void) {
    char train[PATH_MAX + 32], gen[PATH_MAX + 32];
    if (!spawn_find_prog("slide-train", train, sizeof train) ||
        !spawn_find_prog("slide-gen", gen, sizeof gen)) {
        printf("note: slide-train / slide-gen not in $SLIDE_BIN: program checks skipped\n");
        return;
    }
    char dir[] = "/tmp/slide-tlbsim-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char data[64], tr[80], te[80], csv[80], tcsv[80], log[80];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(tr, sizeof tr, "%s/train.txt", data);
    snprintf(te, sizeof te, "%s/test.txt", data);
    snprintf(csv, sizeof csv, "%s/run.csv", dir);
    snprintf(tcsv, sizeof tcsv, "%s/run.tlb.csv", dir);
    char *gargv[] = {gen, "--preset", "tiny", "--scale", "0.2", "--seed", "3", "--out", data, NULL};
    CHECK(spawn_run(gargv, NULL, 60) == 0);
    /* 7 batches of 128: 4 warm-up + 3 profiled fit, 4 + 4 do not */
    const char *ns[3] = {"3", "4", "-1"};
    for (int k = 0; k < 3; k++) {
        snprintf(log, sizeof log, "%s/t%d.log", dir, k);
        char *argv[] = {train, "--train", tr, "--test", te, "--epochs", "1", "--batch", "128",
                        "--eval-every", "0", "--progress", "0", "--no-pin", "--threads", "2",
                        "--tlb-sim", (char *)ns[k], "--csv", csv, NULL};
        const int code = spawn_run(argv, log, 120);
        char *o = spawn_read(log, NULL);
        if (!o) o = calloc(1, 1);
        if (k > 0) {
            CHECKF(code == 2 && count_sub(o, "slide-train:") == 1 && count_sub(o, "--tlb-sim") == 1,
                   "--tlb-sim %s: exit %d, expected 2 and one line naming the option:\n%s",
                   ns[k], code, o);
            if (k == 1) CHECKF(strstr(o, "trains 7 batches") != NULL, "%s", o);
            free(o);
            continue;
        }
        CHECKF(code == 0, "--tlb-sim 3: exit %d:\n%s", code, o);
        char *c = spawn_read(tcsv, NULL);
        CHECKF(c != NULL, "%s missing", tcsv);
        if (!c) {
            free(o);
            continue;
        }
        const int c_src = csv_col(c, "source"), c_l1 = csv_col(c, "l1_misses");
        const int c_mr = csv_col(c, "miss_rate"), c_pd = csv_col(c, "papi_dtlb_misses");
        const int c_pm = csv_col(c, "page_mode"), c_gs = csv_col(c, "tlb_geometry_source");
        const int c_b = csv_col(c, "batches"), c_cost = csv_col(c, "cost_ratio");
        CHECK(c_src >= 0 && c_l1 >= 0 && c_mr >= 0 && c_pd >= 0 && c_pm >= 0 && c_gs >= 0 &&
              c_b >= 0 && c_cost >= 0);
        CHECK(csv_col(c, "papi_dtlb_misses_per_sample") >= 0 &&
              csv_col(c, "walks_per_sample") >= 0 && csv_col(c, "thp_share") >= 0);
        /* PAPI cannot count dTLB misses here when slide-train says so */
        const int papi_na = strstr(o, "[counters] NA") && strstr(o, "PAPI_TLB_DM");
        int rows = 0, modes = 0;
        for (const char *row = strchr(c, '\n'); row && row[1]; row = strchr(row + 1, '\n')) {
            const char *r = row + 1;
            char f[64];
            rows++;
            CHECKF(csv_fields(r) == csv_fields(c), "row %d: %d fields, header %d", rows,
                   csv_fields(r), csv_fields(c));
            csv_field(r, c_src, f, sizeof f);
            CHECK(!strcmp(f, "tlbsim"));
            csv_field(r, c_b, f, sizeof f);
            CHECK(!strcmp(f, "3"));
            csv_field(r, c_pm, f, sizeof f);
            modes |= !strcmp(f, "4k") ? 1 : !strcmp(f, "2m") ? 2 : !strcmp(f, "thp") ? 4 : 8;
            csv_field(r, c_mr, f, sizeof f);
            CHECK(strtod(f, NULL) >= 0 && strtod(f, NULL) <= 1 && strcmp(f, "NA") != 0);
            csv_field(r, c_pd, f, sizeof f);
            if (papi_na) CHECKF(!strcmp(f, "NA"), "papi_dtlb_misses '%s', expected NA", f);
            else CHECKF(strcmp(f, "NA") != 0, "papi_dtlb_misses NA though PAPI counts it");
        }
        CHECKF(rows >= 9 && modes == 7, "%d rows, page modes mask %d", rows, modes);
        if (papi_na)
            CHECKF(strstr(o, "[tlbsim] measured dTLB misses NA (PAPI_TLB_DM: ") != NULL,
                   "no reason for the NA dTLB columns on stderr:\n%s", o);
        CHECK(strstr(o, "[tlbsim] batch time: normal") != NULL);
        free(c);
        free(o);
    }
    if (!t_failures) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    }
}

int main(void) {
    test_sequential();
    test_reach();
    test_lru();
    test_random();
    test_trace();
    test_geometry();
    test_huge_share();
    test_network_trace();
    test_program();
    TEST_MAIN_END();
}
