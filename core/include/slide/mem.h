/* One allocator for weight slabs, optimizer state and tables, with hugepage modes:
 * none (plain pages), thp (madvise(MADV_HUGEPAGE) on 2 MB-aligned memory), explicit
 * (MAP_HUGETLB 2 MB pages; falls back to thp when the pool is too small, and says so). */
#ifndef SLIDE_MEM_H
#define SLIDE_MEM_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SLIDE_HP_NONE = 0, SLIDE_HP_THP = 1, SLIDE_HP_EXPLICIT = 2 } slide_hugepages;

const char *slide_hugepages_name(int mode);
int slide_hugepages_parse(const char *s); /* "none" | "thp" | "explicit"; -1 if unknown */

/* A block from slide_mem_alloc: pointer, size, and the mode actually in effect. */
typedef struct {
    void *ptr;
    size_t bytes;  /* bytes mapped */
    int mode;      /* mode in effect (may differ from the request after a fallback) */
} slide_block;

/* Allocates bytes (zero-filled, 64-byte aligned at least) with the requested hugepage mode.
 * On fallback (explicit -> thp) *fell_back is set to 1 (may be NULL). Release with slide_mem_free. */
int slide_mem_alloc(slide_block *b, size_t bytes, int mode, int *fell_back, slide_err *err);
void slide_mem_free(slide_block *b);
/* Bytes a block of `bytes` occupies in mode (rounded to 2 MB pages for thp and explicit). */
size_t slide_mem_block_bytes(size_t bytes, int mode);

/* NUMA placement of a block: local (first touch by the thread that uses a page), interleave
 * (round-robin over all nodes), or node:N (bind to node N). Applied before first touch. */
typedef enum { SLIDE_NUMA_LOCAL = 0, SLIDE_NUMA_INTERLEAVE = 1, SLIDE_NUMA_NODE = 2 } slide_numa_kind;
typedef struct {
    int kind; /* slide_numa_kind */
    int node; /* SLIDE_NUMA_NODE only */
} slide_numa;

/* Parses "local" | "interleave" | "node:N". */
int slide_numa_parse(const char *s, slide_numa *out, slide_err *err);
/* Text form ("local", "interleave", "node:1"). buf >= 24. */
const char *slide_numa_name(const slide_numa *p, char *buf, size_t n);
/* Number of NUMA nodes, or 0 when libnuma is missing or the kernel has no NUMA support. */
int slide_numa_nodes(void);
/* Applies the policy to b (before its pages are touched). Local needs nothing. With no libnuma or
 * one node, interleave/node:0 are no-ops that return SLIDE_OK (recorded by the caller); node:N
 * beyond the last node is SLIDE_EINVAL. */
int slide_mem_bind(slide_block *b, const slide_numa *p, slide_err *err);
/* Bit mask of the NUMA nodes that back the touched pages of b, sampled (up to 64 pages) via
 * move_pages; 0 when libnuma is missing or nothing is touched. */
uint64_t slide_mem_nodes_mask(const slide_block *b);
/* Text form of a node mask: "0", "0+1", or "NA" for 0. */
const char *slide_numa_mask_name(uint64_t mask, char *buf, size_t n);

/* Memory of this process on huge pages in MB (AnonHugePages + explicit HugeTLB in use), read from
 * /proc/self/smaps_rollup; -1 when unreadable. */
double slide_mem_hugepage_mb(void);
/* Peak resident set size of this process in MB (VmHWM); -1 when unreadable. */
double slide_mem_peak_rss_mb(void);
/* Current RSS in MB (VmRSS). */
double slide_mem_rss_mb(void);
/* MemAvailable from /proc/meminfo in MB; -1 when unreadable. */
double slide_mem_available_mb(void);

#ifdef __cplusplus
}
#endif
#endif
