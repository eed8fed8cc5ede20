/* Context of a run and the append-only CSV writer (whole rows only, flushed one by one). */
#include "slide/report.h"
#include "slide/mem.h"

#include <math.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void slide_utc_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void slide_loadavg(char *buf, size_t n) {
    snprintf(buf, n, "NA");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    char tmp[24];
    if (fscanf(f, "%23s", tmp) == 1) snprintf(buf, n, "%s", tmp);
    fclose(f);
}

void slide_csv_sanitize(char *s) {
    for (; *s; s++)
        if (*s == ',' || *s == '"' || *s == '\n' || *s == '\r') *s = '_';
}

void slide_context_fill(slide_context *c, const char *run_id) {
    memset(c, 0, sizeof *c);
    if (gethostname(c->host, sizeof c->host - 1) != 0) snprintf(c->host, sizeof c->host, "NA");
    snprintf(c->cpu_model, sizeof c->cpu_model, "NA");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    p++;
                    while (*p == ' ' || *p == '\t') p++;
                    p[strcspn(p, "\n")] = '\0';
                    snprintf(c->cpu_model, sizeof c->cpu_model, "%s", p);
                }
                break;
            }
        }
        fclose(f);
    }
    const char *bind = getenv("OMP_PROC_BIND"), *places = getenv("OMP_PLACES");
    snprintf(c->omp_proc_bind, sizeof c->omp_proc_bind, "%s/%s", bind && *bind ? bind : "unset",
             places && *places ? places : "unset");
    snprintf(c->git_commit, sizeof c->git_commit, "%s", slide_build_commit());
    if (run_id && *run_id) {
        snprintf(c->run_id, sizeof c->run_id, "%s", run_id);
    } else {
        char utc[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(utc, sizeof utc, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(c->run_id, sizeof c->run_id, "%s-%.40s-%d", utc, c->host, (int)getpid());
    }
    slide_csv_sanitize(c->host);
    slide_csv_sanitize(c->cpu_model);
    slide_csv_sanitize(c->omp_proc_bind);
    slide_csv_sanitize(c->run_id);
}

struct slide_csv {
    int fd;
    char path[4096];
};

static int mkdirs_for(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    return 0;
}

int slide_csv_open(slide_csv **out, const char *path, const char *header, slide_err *err) {
    *out = NULL;
    if (!path || !*path) return slide_err_set(err, SLIDE_EINVAL, 0, "--csv: empty path");
    if (strlen(path) >= 4096) return slide_err_set(err, SLIDE_EINVAL, 0, "--csv: path too long");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return slide_err_set(err, SLIDE_EIO, 0, "%s: is a directory, not a CSV file", path);
    if (mkdirs_for(path) != 0)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot create its directory: %s", path,
                             strerror(errno));
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open for writing: %s", path,
                             strerror(errno));
    off_t size = lseek(fd, 0, SEEK_END);
    size_t hl = strlen(header);
    if (size > 0) {
        char *buf = malloc(hl + 2);
        ssize_t got = buf ? pread(fd, buf, hl + 1, 0) : -1;
        int ok = got == (ssize_t)(hl + 1) && !memcmp(buf, header, hl) && buf[hl] == '\n';
        free(buf);
        if (!ok) {
            close(fd);
            return slide_err_set(err, SLIDE_EFORMAT, 0,
                                 "%s: exists with a different header; choose another --csv", path);
        }
    } else {
        char *line = malloc(hl + 2);
        if (!line) {
            close(fd);
            return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory");
        }
        memcpy(line, header, hl);
        line[hl] = '\n';
        ssize_t w = write(fd, line, hl + 1);
        free(line);
        if (w != (ssize_t)(hl + 1)) {
            close(fd);
            return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot write header: %s", path,
                                 strerror(errno));
        }
    }
    slide_csv *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory");
    }
    c->fd = fd;
    snprintf(c->path, sizeof c->path, "%s", path);
    *out = c;
    return SLIDE_OK;
}

int slide_csv_row(slide_csv *c, const char *row, slide_err *err) {
    size_t n = strlen(row);
    char *line = malloc(n + 2);
    if (!line) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of memory");
    memcpy(line, row, n);
    line[n] = '\n';
    ssize_t w = write(c->fd, line, n + 1);
    free(line);
    if (w != (ssize_t)(n + 1))
        return slide_err_set(err, SLIDE_EIO, 0, "%s: short write (disk full?)", c->path);
    return SLIDE_OK;
}

void slide_csv_close(slide_csv *c) {
    if (!c) return;
    close(c->fd);
    free(c);
}

const char *slide_train_csv_header(void) {
    return "run_id,utc,git_commit,host,cpu_model,simd,threads,omp_proc_bind,loadavg,hugepages,"
           "numa_policy,system,dataset,hash_family,K,L,range_bits,bucket_cap,batch,lr,seed,epoch,"
           "iter,samples_seen,train_s,wall_s,n_eval,p_at_1,p_at_3,p_at_5,ndcg_at_5,recall_at_5,"
           "loss,active_avg,active_frac,samples_per_s,rss_mb,"
           "hugepages_requested,hugepage_mb,ndcg_at_1,ndcg_at_3,eval_set,inference,n_skipped,"
           "eval_s,t_fwd_bwd_s,t_update_s,t_rehash_s,compiler,probes,bucket_policy,hidden,"
           "peak_rss_mb,gflops,gpu_model,numa_nodes,weights,adam_state,train_order,peak_gflops,"
           "peak_frac,sampler,budget,ranks,label_split,t_comm_s,comm_bytes_per_batch";
}

/* %.*f of v, or NA when v is NaN. */
static const char *num(char *buf, size_t n, int prec, double v) {
    if (isnan(v)) snprintf(buf, n, "NA");
    else snprintf(buf, n, "%.*f", prec, v);
    return buf;
}

#define S(x) ((x) ? (x) : "NA")

int slide_train_row_format(const slide_train_row *r, char *buf, size_t n) {
    char utc[32], load[32], b[28][40];
    const double peak = r->peak_gflops; /* 0 or NaN: not measured */
    slide_utc_now(utc, sizeof utc);
    slide_loadavg(load, sizeof load);
    int w = snprintf(
        buf, n,
        "%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s,%d,%d,%d,%d,%d,%g,%llu,%s,%lld,%lld,"
        "%s,%s,%lld,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"
        "%s,%s,%s,%s,%s,%s,%lld,%s,%s,%s,%s,%s,%d,%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s",
        r->ctx->run_id, utc, r->ctx->git_commit, r->ctx->host, r->ctx->cpu_model, S(r->simd),
        r->threads, r->ctx->omp_proc_bind, load, S(r->hugepages), S(r->numa_policy), S(r->system),
        S(r->dataset), S(r->hash_family), r->K, r->L, r->range_bits, r->bucket_cap, r->batch, r->lr,
        (unsigned long long)r->seed, num(b[0], 40, 4, r->epoch), (long long)r->iter,
        (long long)r->samples_seen, num(b[1], 40, 4, r->train_s), num(b[2], 40, 4, r->wall_s),
        (long long)r->n_eval, num(b[3], 40, 5, r->p_at_1), num(b[4], 40, 5, r->p_at_3),
        num(b[5], 40, 5, r->p_at_5), num(b[6], 40, 5, r->ndcg_at_5),
        num(b[7], 40, 4, r->recall_at_5), num(b[8], 40, 5, r->loss),
        num(b[9], 40, 1, r->active_avg), num(b[10], 40, 5, r->active_frac),
        num(b[11], 40, 1, r->samples_per_s), num(b[12], 40, 1, slide_mem_rss_mb()),
        S(r->hugepages_requested), num(b[13], 40, 1, slide_mem_hugepage_mb()),
        num(b[14], 40, 5, r->ndcg_at_1), num(b[15], 40, 5, r->ndcg_at_3), S(r->eval_set),
        S(r->inference), (long long)r->n_skipped, num(b[16], 40, 4, r->eval_s),
        num(b[17], 40, 4, r->t_fwd_bwd_s), num(b[18], 40, 4, r->t_update_s),
        num(b[19], 40, 4, r->t_rehash_s), slide_build_compiler(), r->probes, S(r->bucket_policy),
        r->hidden, num(b[20], 40, 1, r->peak_rss_mb > 0 ? r->peak_rss_mb : slide_mem_peak_rss_mb()), num(b[21], 40, 2, r->gflops),
        S(r->gpu_model), S(r->numa_nodes), r->weights ? r->weights : "fp32",
        r->adam_state ? r->adam_state : "fp32", S(r->train_order),
        num(b[22], 40, 1, peak > 0 ? peak : NAN),
        num(b[23], 40, 4, peak > 0 && r->gflops > 0 ? r->gflops / peak : NAN), S(r->sampler),
        num(b[24], 40, 4, r->budget > 0 ? r->budget : NAN),
        r->ranks > 0 ? r->ranks : 1, S(r->label_split),
        num(b[25], 40, 4, r->ranks > 0 ? r->t_comm_s : NAN),
        num(b[26], 40, 0, r->ranks > 0 ? r->comm_bytes_per_batch : NAN));
    SLIDE_ASSERT(w > 0 && (size_t)w < n);
    return w;
}
