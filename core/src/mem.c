/* Hugepage-aware allocation (none / thp / explicit with fallback) and /proc readings of
 * memory use (RSS, peak RSS, memory on huge pages, available memory). */
#include "slide/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

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
