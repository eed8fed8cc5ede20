/* A simulated two-level data TLB (the dTLB profile where no PMU counts TLB misses) and a trace
 * that replays the slab pages each training phase touches through it, once per page mode.
 *
 * Model (stated, not measured):
 * - L1 dTLB: two separate set-associative arrays, one for 4 KB and one for 2 MB translations
 *   (as Intel cores since Nehalem and AMD Zen report them; Zen's L1 is one fully associative
 *   array for all sizes, modelled as two).
 * - L2 (STLB): one set-associative array shared by 4 KB and 2 MB translations (Intel since
 *   Skylake, AMD Zen), a page size bit in the tag.
 * - LRU replacement in every set. Set index = virtual page number modulo the number of sets.
 * - A lookup tries L1 (the array of the page's size), then L2. An L2 hit fills L1; an L2 miss
 *   is a page walk and fills L2 and L1. Non-inclusive: evicting from L2 leaves L1 alone.
 * - No prefetching of translations, no page-walk caches, one translation per access.
 * Sizes come from cpuid where the CPU reports them (leaf 0x18, else leaf 2 descriptors, on
 * Intel; 0x80000005 / 0x80000006 on AMD), otherwise from the defaults below. */
#ifndef SLIDE_TLBSIM_H
#define SLIDE_TLBSIM_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults (an Intel Skylake-class core): L1 4 KB 64 entries 4-way, L1 2 MB 32 entries 4-way,
 * L2 1536 entries 12-way for 4 KB and 2 MB. */
#define SLIDE_TLB_DEFAULT_L1_4K 64
#define SLIDE_TLB_DEFAULT_L1_4K_WAYS 4
#define SLIDE_TLB_DEFAULT_L1_2M 32
#define SLIDE_TLB_DEFAULT_L1_2M_WAYS 4
#define SLIDE_TLB_DEFAULT_L2 1536
#define SLIDE_TLB_DEFAULT_L2_WAYS 12

/* One set-associative array: entries = sets x ways (ways == entries: fully associative). */
typedef struct {
    int entries, ways;
} slide_tlb_array;

typedef struct {
    slide_tlb_array l1_4k, l1_2m, l2;
    char source[16]; /* "cpuid" (every size read from the CPU) or "default" */
    char detail[160]; /* how each size was found, one line, e.g. "cpuid 0x18 (Intel)" */
} slide_tlb_geom;

/* The default geometry (source "default"). */
slide_tlb_geom slide_tlbsim_geom_default(void);
/* This CPU's geometry from cpuid; fields the CPU does not report (virtual machines often
 * report zeros), or a CPU that is not x86, keep the defaults and make source "default" (detail
 * says which). Always succeeds. */
slide_tlb_geom slide_tlbsim_geom_detect(void);
/* NULL when g is usable, else a message: entries >= 1, ways in 1..entries, entries a multiple
 * of ways, at most 65536 entries per array. */
const char *slide_tlbsim_geom_check(const slide_tlb_geom *g);
/* "L1 4K 64x4w, L1 2M 32x4w, L2 1536x12w" into buf. */
const char *slide_tlbsim_geom_text(const slide_tlb_geom *g, char *buf, size_t n);

/* Per-tag counts: slab-row accesses (kept by the trace; 0 for direct lookups), translations
 * looked up, L1 misses, L2 misses (= page walks). */
typedef struct {
    uint64_t rows, accesses, l1_misses, walks;
} slide_tlb_counts;

#define SLIDE_TLBSIM_MAX_TAGS 16

/* One simulated TLB (one core's). Plain struct; fields are private to tlbsim.c. */
typedef struct {
    slide_tlb_geom g;
    uint64_t *tag[3];  /* per array: sets x ways tags (page number << 1 | huge), ~0 = empty */
    uint16_t *ord[3];  /* per set: its ways, most recently used first (LRU order) */
    int sets[3];
    uint64_t set_mask[3]; /* sets - 1 when a power of two (no division per lookup), else 0 */
    slide_tlb_counts cnt[SLIDE_TLBSIM_MAX_TAGS];
} slide_tlbsim;

/* Creates an empty TLB of geometry g. SLIDE_EINVAL for a bad geometry (message says why),
 * SLIDE_ENOMEM. Release with slide_tlbsim_free (also after a failed init). */
int slide_tlbsim_init(slide_tlbsim *s, const slide_tlb_geom *g, slide_err *err);
void slide_tlbsim_free(slide_tlbsim *s);
/* Translates one access to virtual address addr on a 4 KB page (huge 0) or a 2 MB page
 * (huge 1), counting under tag (0..SLIDE_TLBSIM_MAX_TAGS-1). Returns 0 on an L1 hit, 1 on an
 * L1 miss that hits L2, 2 on a page walk. */
int slide_tlbsim_access(slide_tlbsim *s, uint64_t addr, int huge, int tag);
/* Empties every array (counts kept). */
void slide_tlbsim_flush(slide_tlbsim *s);
/* Zeroes the counts (entries kept). */
void slide_tlbsim_reset_counts(slide_tlbsim *s);

/* Share (0..1) of [ptr, ptr + bytes) backed by 2 MB pages according to /proc/self/smaps: the
 * mapping's AnonHugePages over its size, or 1 for a hugetlbfs mapping (KernelPageSize 2048 kB).
 * -1 when smaps cannot be read or no mapping holds ptr. */
double slide_tlbsim_huge_share(const void *ptr, size_t bytes);

/* ---------------------------------------------------------------- training trace */

/* Page modes the trace replays every access under: every page 4 KB, every page of a region 2 MB
 * (explicit hugepages), or THP: the region's measured share of its 2 MB-aligned chunks on 2 MB
 * pages, spread evenly (chunk i is huge when floor((i + 1) share) > floor(i share)), the rest
 * on 4 KB pages (smaps gives only the total per mapping, not which chunks). */
typedef enum { SLIDE_PM_4K = 0, SLIDE_PM_2M = 1, SLIDE_PM_THP = 2, SLIDE_PM_COUNT = 3 } slide_page_mode;
const char *slide_page_mode_name(int mode); /* "4k", "2m", "thp" */

/* Training phases a trace attributes accesses to (as slide_train_stats splits time). */
typedef enum {
    SLIDE_PH_HASH = 0,
    SLIDE_PH_QUERY,
    SLIDE_PH_FORWARD,
    SLIDE_PH_BACKWARD,
    SLIDE_PH_UPDATE,
    SLIDE_PH_REHASH,
    SLIDE_PH_COUNT
} slide_phase;
const char *slide_phase_name(int phase); /* "hash", "query", ... */

#define SLIDE_TLBTRACE_MAX_REGIONS 8
/* Layer groups a trace counts apart: the first layer's slab (input-major: the weights from the
 * features to the hidden layer) and every later layer's (the output layer in the paper's
 * shape). Counts of group g, phase ph live under tag g * SLIDE_PH_COUNT + ph. */
#define SLIDE_TLBTRACE_GROUPS 2

/* One simulated TLB per thread and page mode, and the memory regions (slabs) whose accesses it
 * replays. A thread's accesses go through its own TLBs (each core has its own), in the order
 * that thread made them. Accesses outside every region are ignored. */
typedef struct {
    int threads;
    slide_tlbsim *sim; /* threads x SLIDE_PM_COUNT */
    struct {
        uint64_t lo, hi;   /* [lo, hi) */
        double thp_share;  /* 0..1 */
        int layer;         /* the network layer whose slab it is */
        uint8_t *huge;     /* THP mode: per 2 MB chunk from lo's, 1 when on a 2 MB page */
        uint64_t n_chunks;
    } region[SLIDE_TLBTRACE_MAX_REGIONS];
    int n_regions;
    double seconds;     /* wall seconds the network spent replaying into this trace */
} slide_tlbtrace;

/* Creates a trace with one TLB of geometry g per thread and page mode. Release with
 * slide_tlbtrace_free (also after a failed init). */
int slide_tlbtrace_init(slide_tlbtrace *t, const slide_tlb_geom *g, int threads, slide_err *err);
void slide_tlbtrace_free(slide_tlbtrace *t);
/* Registers a region (e.g. a layer's slab) with the share of it on 2 MB pages (THP mode).
 * SLIDE_EINVAL when full or the share is outside [0, 1]. */
int slide_tlbtrace_region(slide_tlbtrace *t, const void *ptr, size_t bytes, double thp_share,
                          int layer, slide_err *err);
/* Replays one access of `bytes` bytes at p by thread `thread` in phase `phase`: one
 * translation per page it covers, under each page mode. Counts a slab-row access. Threads may
 * call this concurrently for different `thread` values. */
void slide_tlbtrace_touch(slide_tlbtrace *t, int thread, int phase, const void *p, size_t bytes);
/* Sum over threads of the counts of phase (-1: all phases) of layer group `group` (-1: both)
 * under page mode. */
slide_tlb_counts slide_tlbtrace_counts(const slide_tlbtrace *t, int mode, int group, int phase);
/* Zeroes the counts (entries kept: the TLBs stay warm). */
void slide_tlbtrace_reset_counts(slide_tlbtrace *t);

#ifdef __cplusplus
}
#endif
#endif
