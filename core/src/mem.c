/* Hugepage-aware allocation (none / thp / explicit with fallback) and /proc readings of
 * memory use (RSS, peak RSS, memory on huge pages, available memory). */
#include "slide/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef SLIDE_HAVE_NUMA
#include <numa.h>
#include <numaif.h>
#endif

#define HP_SIZE ((size_t)2 << 20)

const char *slide_hugepages_name(int mode) {
    switch (mode) {
    case SLIDE_HP_NONE: return "none";
    case SLIDE_HP_THP: return "thp";
    case SLIDE_HP_EXPLICIT: return "explicit";
    default: return "?";
    }
}

int slide_hugepages_parse(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "none")) return SLIDE_HP_NONE;
    if (!strcmp(s, "thp")) return SLIDE_HP_THP;
    if (!strcmp(s, "explicit")) return SLIDE_HP_EXPLICIT;
    return -1;
}

size_t slide_mem_block_bytes(size_t bytes, int mode) {
    if (bytes == 0) bytes = 64;
    return mode == SLIDE_HP_NONE ? bytes : (bytes + HP_SIZE - 1) & ~(HP_SIZE - 1);
}

int slide_mem_alloc(slide_block *b, size_t bytes, int mode, int *fell_back, slide_err *err) {
    memset(b, 0, sizeof *b);
    if (fell_back) *fell_back = 0;
    if (bytes == 0) bytes = 64;
    if (mode == SLIDE_HP_EXPLICIT) {
        size_t sz = (bytes + HP_SIZE - 1) & ~(HP_SIZE - 1);
        void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
                       -1, 0);
        if (p != MAP_FAILED) {
            b->ptr = p;
            b->bytes = sz;
            b->mode = SLIDE_HP_EXPLICIT;
            return SLIDE_OK;
        }
        if (fell_back) *fell_back = 1;
        mode = SLIDE_HP_THP;
    }
    size_t sz = bytes;
    if (mode == SLIDE_HP_THP) sz = (bytes + HP_SIZE - 1) & ~(HP_SIZE - 1);
    /* Over-map so the block can start on a 2 MB boundary (THP needs aligned ranges). */
    size_t extra = mode == SLIDE_HP_THP ? HP_SIZE : 0;
    void *raw = mmap(NULL, sz + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return slide_err_set(err, SLIDE_ENOMEM, 0, "cannot map %.1f MB: %s",
                             (double)bytes / 1048576.0, strerror(errno));
    char *p = raw;
    if (extra) {
        uintptr_t a = ((uintptr_t)raw + HP_SIZE - 1) & ~(uintptr_t)(HP_SIZE - 1);
        size_t head = a - (uintptr_t)raw, tail = extra - head;
        if (head) munmap(raw, head);
        if (tail) munmap((char *)a + sz, tail);
        p = (char *)a;
        madvise(p, sz, MADV_HUGEPAGE);
    }
    b->ptr = p;
    b->bytes = sz;
    b->mode = mode;
    return SLIDE_OK;
}

void slide_mem_free(slide_block *b) {
    if (b && b->ptr) munmap(b->ptr, b->bytes);
    if (b) memset(b, 0, sizeof *b);
}

/* Sums "Key: N kB" lines of a /proc file; -1 if the file or key is absent. */
static double proc_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    double total = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            double v = strtod(line + klen + 1, NULL);
            total = total < 0 ? v : total + v;
        }
    }
    fclose(f);
    return total;
}

double slide_mem_hugepage_mb(void) {
    double anon = proc_kb("/proc/self/smaps_rollup", "AnonHugePages");
    double tlb = proc_kb("/proc/self/smaps_rollup", "Private_Hugetlb");
    double shared = proc_kb("/proc/self/smaps_rollup", "Shared_Hugetlb");
    if (anon < 0) return -1;
    return (anon + (tlb > 0 ? tlb : 0) + (shared > 0 ? shared : 0)) / 1024.0;
}

double slide_mem_peak_rss_mb(void) {
    double v = proc_kb("/proc/self/status", "VmHWM");
    return v < 0 ? -1 : v / 1024.0;
}

double slide_mem_rss_mb(void) {
    double v = proc_kb("/proc/self/status", "VmRSS");
    return v < 0 ? -1 : v / 1024.0;
}

double slide_mem_available_mb(void) {
    double v = proc_kb("/proc/meminfo", "MemAvailable");
    return v < 0 ? -1 : v / 1024.0;
}

int slide_numa_parse(const char *s, slide_numa *out, slide_err *err) {
    memset(out, 0, sizeof *out);
    if (!s || !strcmp(s, "local")) return SLIDE_OK;
    if (!strcmp(s, "interleave")) {
        out->kind = SLIDE_NUMA_INTERLEAVE;
        return SLIDE_OK;
    }
    if (!strncmp(s, "node:", 5)) {
        char *end = NULL;
        long v = strtol(s + 5, &end, 10);
        if (end != s + 5 && !*end && v >= 0 && v < 4096) {
            out->kind = SLIDE_NUMA_NODE;
            out->node = (int)v;
            return SLIDE_OK;
        }
    }
    return slide_err_set(err, SLIDE_EINVAL, 0,
                         "--numa must be local, interleave or node:N (got '%s')", s);
}

const char *slide_numa_name(const slide_numa *p, char *buf, size_t n) {
    if (p->kind == SLIDE_NUMA_INTERLEAVE) snprintf(buf, n, "interleave");
    else if (p->kind == SLIDE_NUMA_NODE) snprintf(buf, n, "node:%d", p->node);
    else snprintf(buf, n, "local");
    return buf;
}

int slide_numa_nodes(void) {
#ifdef SLIDE_HAVE_NUMA
    if (numa_available() < 0) return 0;
    return numa_num_configured_nodes();
#else
    return 0;
#endif
}

int slide_mem_bind(slide_block *b, const slide_numa *p, slide_err *err) {
    if (p->kind == SLIDE_NUMA_LOCAL || !b->ptr) return SLIDE_OK;
    int nodes = slide_numa_nodes();
    if (p->kind == SLIDE_NUMA_NODE && p->node >= (nodes > 0 ? nodes : 1))
        return slide_err_set(err, SLIDE_EINVAL, 0, "--numa node:%d: this machine has %d node(s)",
                             p->node, nodes > 0 ? nodes : 1);
#ifdef SLIDE_HAVE_NUMA
    if (nodes <= 0) return SLIDE_OK;
    if (p->kind == SLIDE_NUMA_INTERLEAVE) numa_interleave_memory(b->ptr, b->bytes, numa_all_nodes_ptr);
    else numa_tonode_memory(b->ptr, b->bytes, p->node);
#endif
    return SLIDE_OK;
}

uint64_t slide_mem_nodes_mask(const slide_block *b) {
    uint64_t seen = 0;
#ifdef SLIDE_HAVE_NUMA
    if (!b->ptr || numa_available() < 0) return 0;
    long page = sysconf(_SC_PAGESIZE);
    size_t npages = b->bytes / (size_t)page;
    if (npages == 0) return 0;
    void *pages[64];
    int status[64];
    int cnt = npages < 64 ? (int)npages : 64;
    for (int i = 0; i < cnt; i++)
        pages[i] = (char *)b->ptr + (size_t)i * (npages / (size_t)cnt) * (size_t)page;
    if (move_pages(0, (unsigned long)cnt, pages, NULL, status, 0) != 0) return 0;
    for (int i = 0; i < cnt; i++)
        if (status[i] >= 0 && status[i] < 64) seen |= 1ULL << status[i];
#else
    (void)b;
#endif
    return seen;
}

const char *slide_numa_mask_name(uint64_t mask, char *buf, size_t n) {
    snprintf(buf, n, "NA");
    size_t w = 0;
    for (int nd = 0; nd < 64; nd++)
        if (mask >> nd & 1) w += (size_t)snprintf(buf + w, n > w ? n - w : 0, w ? "+%d" : "%d", nd);
    return buf;
}
