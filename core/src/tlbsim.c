/* Simulated two-level data TLB (set-associative, LRU, separate 4 KB / 2 MB arrays at L1, a
 * shared L2), its geometry from cpuid, and the training trace that replays slab accesses. */
#include "slide/tlbsim.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define PAGE_4K_SHIFT 12
#define PAGE_2M_SHIFT 21
#define EMPTY_TAG (~(uint64_t)0)

/* ---------------------------------------------------------------- geometry */

slide_tlb_geom slide_tlbsim_geom_default(void) {
    slide_tlb_geom g;
    memset(&g, 0, sizeof g);
    g.l1_4k = (slide_tlb_array){SLIDE_TLB_DEFAULT_L1_4K, SLIDE_TLB_DEFAULT_L1_4K_WAYS};
    g.l1_2m = (slide_tlb_array){SLIDE_TLB_DEFAULT_L1_2M, SLIDE_TLB_DEFAULT_L1_2M_WAYS};
    g.l2 = (slide_tlb_array){SLIDE_TLB_DEFAULT_L2, SLIDE_TLB_DEFAULT_L2_WAYS};
    snprintf(g.source, sizeof g.source, "default");
    snprintf(g.detail, sizeof g.detail, "defaults (Skylake-class core)");
    return g;
}

static int array_ok(slide_tlb_array a) {
    return a.entries >= 1 && a.entries <= 65536 && a.ways >= 1 && a.ways <= a.entries &&
           a.entries % a.ways == 0;
}

const char *slide_tlbsim_geom_check(const slide_tlb_geom *g) {
    if (!array_ok(g->l1_4k)) return "L1 4 KB array: need 1..65536 entries, a multiple of ways";
    if (!array_ok(g->l1_2m)) return "L1 2 MB array: need 1..65536 entries, a multiple of ways";
    if (!array_ok(g->l2)) return "L2 array: need 1..65536 entries, a multiple of ways";
    return NULL;
}

const char *slide_tlbsim_geom_text(const slide_tlb_geom *g, char *buf, size_t n) {
    snprintf(buf, n, "L1 4K %dx%dw, L1 2M %dx%dw, L2 %dx%dw", g->l1_4k.entries, g->l1_4k.ways,
             g->l1_2m.entries, g->l1_2m.ways, g->l2.entries, g->l2.ways);
    return buf;
}

#if defined(__x86_64__) || defined(__i386__)
/* An array read from cpuid, kept only when consistent (ways dividing entries). */
static int take(slide_tlb_array *dst, int entries, int ways) {
    if (ways <= 0 || ways > entries) ways = entries; /* fully associative */
    slide_tlb_array a = {entries, ways};
    if (!array_ok(a)) return 0;
    *dst = a;
    return 1;
}

/* Intel leaf 0x18: deterministic address translation parameters. Sets found[0..2] for
 * l1_4k, l1_2m, l2. */
static void intel_leaf18(slide_tlb_geom *g, int found[3]) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(0x18, 0, &a, &b, &c, &d)) return;
    const unsigned max_sub = a > 64 ? 64 : a;
    for (unsigned sub = 0; sub <= max_sub; sub++) {
        if (!__get_cpuid_count(0x18, sub, &a, &b, &c, &d)) break;
        const unsigned type = d & 31, level = (d >> 5) & 7, full = (d >> 8) & 1;
        if (type == 0 || type == 2) continue; /* invalid, instruction */
        const int ways = (int)(b >> 16), sets = (int)c;
        const int entries = full ? ways : ways * sets;
        if (entries <= 0) continue;
        const int p4k = b & 1, p2m = (b >> 1) & 1;
        if (level == 1 && type != 5) { /* data, unified or load-only (stores use the same) */
            if (p4k && !found[0]) found[0] = take(&g->l1_4k, entries, full ? entries : ways);
            if (p2m && !found[1]) found[1] = take(&g->l1_2m, entries, full ? entries : ways);
        } else if (level == 2 && p4k && !found[2]) {
            found[2] = take(&g->l2, entries, full ? entries : ways);
        }
    }
}

/* Intel leaf 2 descriptors for data TLBs (Intel SDM vol. 2, table 3-12): descriptor, array
 * (0 L1 4K, 1 L1 2M, 2 L2), entries, ways. */
static const struct {
    unsigned char dsc, arr;
    short entries, ways;
} leaf2_tab[] = {{0x03, 0, 64, 4},   {0x5a, 1, 32, 4},   {0x5b, 0, 64, 64},  {0x5c, 0, 128, 128},
                 {0x5d, 0, 256, 256}, {0x63, 1, 32, 4},   {0x64, 0, 512, 4},  {0xa0, 0, 32, 32},
                 {0xb3, 0, 128, 4},  {0xb4, 0, 256, 4},  {0xba, 0, 64, 4},   {0xc1, 2, 1024, 8},
                 {0xc2, 1, 16, 4},   {0xc3, 2, 1536, 6}, {0xc4, 1, 32, 4}};

static void intel_leaf2(slide_tlb_geom *g, int found[3]) {
    unsigned r[4];
    if (!__get_cpuid(2, &r[0], &r[1], &r[2], &r[3])) return;
    slide_tlb_array *dst[3] = {&g->l1_4k, &g->l1_2m, &g->l2};
    for (int i = 0; i < 4; i++) {
        if (r[i] & 0x80000000u) continue;
        for (int k = (i == 0 ? 1 : 0); k < 4; k++) {
            const unsigned dsc = (r[i] >> (8 * k)) & 0xff;
            for (size_t q = 0; q < sizeof leaf2_tab / sizeof leaf2_tab[0]; q++) {
                const int arr = leaf2_tab[q].arr;
                if (leaf2_tab[q].dsc == dsc && !found[arr])
                    found[arr] = take(dst[arr], leaf2_tab[q].entries, leaf2_tab[q].ways);
            }
        }
    }
}

/* AMD's L2 TLB associativity code (cpuid 0x80000006). */
static int amd_l2_ways(unsigned code, int entries) {
    static const int w[16] = {0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, -1};
    const int v = w[code & 15];
    return v < 0 ? entries : v;
}

static void amd_leaves(slide_tlb_geom *g, int found[3]) {
    unsigned a, b, c, d;
    if (__get_cpuid(0x80000000u, &a, &b, &c, &d) == 0 || a < 0x80000006u) return;
    if (__get_cpuid(0x80000005u, &a, &b, &c, &d)) {
        /* [31:24] dTLB ways (0xff fully associative), [23:16] dTLB entries; EAX 2M, EBX 4K */
        const int e4 = (int)((b >> 16) & 0xff), w4 = (int)(b >> 24);
        const int e2 = (int)((a >> 16) & 0xff), w2 = (int)(a >> 24);
        if (e4) found[0] = take(&g->l1_4k, e4, w4 == 0xff ? e4 : w4);
        if (e2) found[1] = take(&g->l1_2m, e2, w2 == 0xff ? e2 : w2);
    }
    if (__get_cpuid(0x80000006u, &a, &b, &c, &d)) {
        /* [31:28] dTLB ways code, [27:16] dTLB entries; EBX 4K (the shared array's size) */
        const int e = (int)((b >> 16) & 0xfff);
        if (e) found[2] = take(&g->l2, e, amd_l2_ways(b >> 28, e));
    }
}
#endif

slide_tlb_geom slide_tlbsim_geom_detect(void) {
    slide_tlb_geom g = slide_tlbsim_geom_default();
    int found[3] = {0, 0, 0};
    const char *how = "not an x86 CPU";
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    char vendor[13] = "";
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(vendor, &b, 4);
        memcpy(vendor + 4, &d, 4);
        memcpy(vendor + 8, &c, 4);
        vendor[12] = 0;
    }
    if (!strcmp(vendor, "GenuineIntel")) {
        if (a >= 0x18) intel_leaf18(&g, found);
        how = "cpuid 0x18 (Intel)";
        if (!(found[0] && found[1] && found[2]) && a >= 2) {
            intel_leaf2(&g, found);
            how = "cpuid 0x18 + leaf 2 (Intel)";
        }
    } else if (!strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine")) {
        amd_leaves(&g, found);
        how = "cpuid 0x80000005/6 (AMD)";
    } else {
        how = "unknown CPU vendor";
    }
#endif
    const int n = found[0] + found[1] + found[2];
    snprintf(g.source, sizeof g.source, "%s", n == 3 ? "cpuid" : n == 0 ? "default" : "mixed");
    snprintf(g.detail, sizeof g.detail, "%s: L1 4K %s, L1 2M %s, L2 %s", how,
             found[0] ? "cpuid" : "default", found[1] ? "cpuid" : "default",
             found[2] ? "cpuid" : "default");
    return g;
}

/* ---------------------------------------------------------------- simulator */

int slide_tlbsim_init(slide_tlbsim *s, const slide_tlb_geom *g, slide_err *err) {
    memset(s, 0, sizeof *s);
    const char *m = slide_tlbsim_geom_check(g);
    if (m) return slide_err_set(err, SLIDE_EINVAL, 0, "TLB geometry: %s", m);
    s->g = *g;
    const slide_tlb_array arr[3] = {g->l1_4k, g->l1_2m, g->l2};
    for (int k = 0; k < 3; k++) {
        s->sets[k] = arr[k].entries / arr[k].ways;
        s->set_mask[k] = (s->sets[k] & (s->sets[k] - 1)) == 0 ? (uint64_t)s->sets[k] - 1 : 0;
        s->tag[k] = malloc((size_t)arr[k].entries * sizeof(uint64_t));
        s->ord[k] = malloc((size_t)arr[k].entries * sizeof(uint16_t));
        if (!s->tag[k] || !s->ord[k]) {
            slide_tlbsim_free(s);
            return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for a TLB simulator");
        }
    }
    slide_tlbsim_flush(s);
    return SLIDE_OK;
}

void slide_tlbsim_free(slide_tlbsim *s) {
    for (int k = 0; k < 3; k++) {
        free(s->tag[k]);
        free(s->ord[k]);
        s->tag[k] = NULL;
        s->ord[k] = NULL;
    }
}

void slide_tlbsim_flush(slide_tlbsim *s) {
    const slide_tlb_array arr[3] = {s->g.l1_4k, s->g.l1_2m, s->g.l2};
    for (int k = 0; k < 3; k++) {
        if (!s->tag[k]) continue;
        for (int e = 0; e < arr[k].entries; e++) {
            s->tag[k][e] = EMPTY_TAG;
            s->ord[k][e] = (uint16_t)(e % arr[k].ways);
        }
    }
}

void slide_tlbsim_reset_counts(slide_tlbsim *s) { memset(s->cnt, 0, sizeof s->cnt); }

/* Looks tag t up in set `set` of array k, whose ways are kept in recency order (ord: way
 * numbers, most recent first); on a miss the least recent way takes t. Returns 1 on a hit. */
static inline int lookup(slide_tlbsim *s, int k, int ways, uint64_t set, uint64_t t) {
    uint64_t *tg = s->tag[k] + set * (uint64_t)ways;
    uint16_t *od = s->ord[k] + set * (uint64_t)ways;
    if (tg[od[0]] == t) return 1; /* the most recent way: no reordering (most accesses) */
    for (int w = 0; w < ways; w++)
        if (tg[w] == t) {
            int p = 0;
            while (od[p] != w) p++;
            memmove(od + 1, od, (size_t)p * sizeof *od);
            od[0] = (uint16_t)w;
            return 1;
        }
    const uint16_t v = od[ways - 1];
    tg[v] = t;
    memmove(od + 1, od, (size_t)(ways - 1) * sizeof *od);
    od[0] = v;
    return 0;
}

static inline uint64_t set_of(const slide_tlbsim *s, int k, uint64_t vpn) {
    return s->set_mask[k] || s->sets[k] == 1 ? vpn & s->set_mask[k] : vpn % (uint64_t)s->sets[k];
}

static inline int access_one(slide_tlbsim *s, uint64_t addr, int huge, int tag) {
    slide_tlb_counts *c = &s->cnt[tag];
    c->accesses++;
    const uint64_t vpn = addr >> (huge ? PAGE_2M_SHIFT : PAGE_4K_SHIFT);
    const uint64_t t = vpn << 1 | (uint64_t)(huge != 0);
    const int k1 = huge ? 1 : 0;
    const int w1 = huge ? s->g.l1_2m.ways : s->g.l1_4k.ways;
    if (lookup(s, k1, w1, set_of(s, k1, vpn), t)) return 0;
    c->l1_misses++;
    /* L1 already holds the entry now (lookup filled it); L2 is filled on a walk */
    if (lookup(s, 2, s->g.l2.ways, set_of(s, 2, vpn), t)) return 1;
    c->walks++;
    return 2;
}

int slide_tlbsim_access(slide_tlbsim *s, uint64_t addr, int huge, int tag) {
    return access_one(s, addr, huge, tag);
}

/* ---------------------------------------------------------------- smaps */

double slide_tlbsim_huge_share(const void *ptr, size_t bytes) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    const uint64_t lo = (uint64_t)(uintptr_t)ptr, hi = lo + (bytes ? bytes : 1);
    char line[512];
    double huge = 0, total = 0;
    int in = 0; /* the current mapping overlaps [lo, hi) */
    double ov = 0, vsize = 0, anon_kb = 0, kps_kb = 4;
    int have = 0;
#define FLUSH_MAPPING()                                                                  \
    do {                                                                                 \
        if (in && vsize > 0) {                                                           \
            const double frac = kps_kb >= 2048 ? 1.0 : fmin(1.0, anon_kb * 1024.0 / vsize); \
            huge += frac * ov;                                                           \
            total += ov;                                                                 \
            have = 1;                                                                    \
        }                                                                                \
    } while (0)
    while (fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        const int hex0 = (line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f');
        if (hex0 && sscanf(line, "%llx-%llx ", &a, &b) == 2) { /* a mapping's header line */
            FLUSH_MAPPING();
            in = a < hi && b > lo;
            ov = in ? (double)((b < hi ? b : hi) - (a > lo ? a : lo)) : 0;
            vsize = (double)(b - a);
            anon_kb = 0;
            kps_kb = 4;
            continue;
        }
        if (!in) continue;
        double v;
        if (sscanf(line, "AnonHugePages: %lf", &v) == 1) anon_kb = v;
        else if (sscanf(line, "KernelPageSize: %lf", &v) == 1) kps_kb = v;
    }
    FLUSH_MAPPING();
#undef FLUSH_MAPPING
    fclose(f);
    if (!have || total <= 0) return -1;
    return huge / total;
}

/* ---------------------------------------------------------------- trace */

const char *slide_page_mode_name(int mode) {
    switch (mode) {
    case SLIDE_PM_4K: return "4k";
    case SLIDE_PM_2M: return "2m";
    case SLIDE_PM_THP: return "thp";
    default: return "?";
    }
}

const char *slide_phase_name(int phase) {
    static const char *n[SLIDE_PH_COUNT] = {"hash", "query", "forward", "backward", "update",
                                            "rehash"};
    return phase >= 0 && phase < SLIDE_PH_COUNT ? n[phase] : "?";
}

int slide_tlbtrace_init(slide_tlbtrace *t, const slide_tlb_geom *g, int threads, slide_err *err) {
    memset(t, 0, sizeof *t);
    if (threads < 1 || threads > 1024)
        return slide_err_set(err, SLIDE_EINVAL, 0, "TLB trace: threads must be in 1..1024");
    t->sim = calloc((size_t)threads * SLIDE_PM_COUNT, sizeof *t->sim);
    if (!t->sim) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for a TLB trace");
    t->threads = threads;
    for (int i = 0; i < threads * SLIDE_PM_COUNT; i++) {
        int rc = slide_tlbsim_init(&t->sim[i], g, err);
        if (rc) {
            slide_tlbtrace_free(t);
            return rc;
        }
    }
    return SLIDE_OK;
}

void slide_tlbtrace_free(slide_tlbtrace *t) {
    for (int r = 0; r < t->n_regions; r++) free(t->region[r].huge);
    t->n_regions = 0;
    if (t->sim)
        for (int i = 0; i < t->threads * SLIDE_PM_COUNT; i++) slide_tlbsim_free(&t->sim[i]);
    free(t->sim);
    t->sim = NULL;
    t->threads = 0;
}

int slide_tlbtrace_region(slide_tlbtrace *t, const void *ptr, size_t bytes, double thp_share,
                          int layer, slide_err *err) {
    if (t->n_regions == SLIDE_TLBTRACE_MAX_REGIONS)
        return slide_err_set(err, SLIDE_EINVAL, 0, "TLB trace: more than %d regions",
                             SLIDE_TLBTRACE_MAX_REGIONS);
    if (!(thp_share >= 0 && thp_share <= 1))
        return slide_err_set(err, SLIDE_EINVAL, 0, "TLB trace: THP share %g outside [0, 1]",
                             thp_share);
    const uint64_t lo = (uint64_t)(uintptr_t)ptr, hi = lo + bytes;
    const uint64_t nc = ((hi + (1ULL << PAGE_2M_SHIFT) - 1) >> PAGE_2M_SHIFT) - (lo >> PAGE_2M_SHIFT);
    uint8_t *hg = malloc(nc ? nc : 1);
    if (!hg) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory for a TLB trace region");
    for (uint64_t i = 0; i < nc; i++)
        hg[i] = floor((double)(i + 1) * thp_share) > floor((double)i * thp_share);
    t->region[t->n_regions].huge = hg;
    t->region[t->n_regions].n_chunks = nc;
    t->region[t->n_regions].lo = (uint64_t)(uintptr_t)ptr;
    t->region[t->n_regions].hi = (uint64_t)(uintptr_t)ptr + bytes;
    t->region[t->n_regions].thp_share = thp_share;
    t->region[t->n_regions].layer = layer;
    t->n_regions++;
    return SLIDE_OK;
}

void slide_tlbtrace_touch(slide_tlbtrace *t, int thread, int phase, const void *p, size_t bytes) {
    const uint64_t a = (uint64_t)(uintptr_t)p, e = a + (bytes ? bytes : 1);
    int r = 0;
    while (r < t->n_regions && !(a >= t->region[r].lo && a < t->region[r].hi)) r++;
    if (r == t->n_regions) return;
    const int tag = (t->region[r].layer > 0) * SLIDE_PH_COUNT + phase;
    const uint64_t base2m = t->region[r].lo >> PAGE_2M_SHIFT;
    slide_tlbsim *sims = t->sim + (size_t)thread * SLIDE_PM_COUNT;
    for (int m = 0; m < SLIDE_PM_COUNT; m++) {
        slide_tlbsim *s = &sims[m];
        uint64_t x = a;
        while (x < e) {
            int huge = m == SLIDE_PM_2M;
            if (m == SLIDE_PM_THP) huge = t->region[r].huge[(x >> PAGE_2M_SHIFT) - base2m];
            const int sh = huge ? PAGE_2M_SHIFT : PAGE_4K_SHIFT;
            access_one(s, x, huge, tag);
            x = ((x >> sh) + 1) << sh;
        }
        s->cnt[tag].rows++;
    }
}

slide_tlb_counts slide_tlbtrace_counts(const slide_tlbtrace *t, int mode, int group, int phase) {
    slide_tlb_counts c = {0, 0, 0, 0};
    for (int th = 0; th < t->threads; th++)
        for (int g = 0; g < SLIDE_TLBTRACE_GROUPS; g++)
            for (int ph = 0; ph < SLIDE_PH_COUNT; ph++) {
                if ((group >= 0 && g != group) || (phase >= 0 && ph != phase)) continue;
                const slide_tlbsim *s = &t->sim[(size_t)th * SLIDE_PM_COUNT + mode];
                const slide_tlb_counts *x = &s->cnt[g * SLIDE_PH_COUNT + ph];
                c.rows += x->rows;
                c.accesses += x->accesses;
                c.l1_misses += x->l1_misses;
                c.walks += x->walks;
            }
    return c;
}

void slide_tlbtrace_reset_counts(slide_tlbtrace *t) {
    for (int i = 0; i < t->threads * SLIDE_PM_COUNT; i++) slide_tlbsim_reset_counts(&t->sim[i]);
}
