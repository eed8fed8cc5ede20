/* slide-train-mpi's checkpoints: a shard per rank and a manifest from rank 0, each checksummed
 * and written atomically; a resume checks them all before any rank loads. */
#include "mpi_drv.h"
#include "slide/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Driver state saved with each shard (followed by the epoch permutation). */
typedef struct {
    uint64_t magic;
    int64_t n_train, P, rank, L, lo, n, strided;
    slide_rng rng;
    int64_t seen, iter, last_eval_iter, pos, epoch;
    double train_s, last_eval_train_s, eval_s_total, comm_all;
    slide_train_stats st_int, st_all;
} run_state;
#define RUN_STATE_MAGIC 0x534C4944454D5031ULL /* "SLIDEMP1" */
#define MANIFEST_MAGIC "slide-train-mpi manifest v1"

static void shard_path(char *buf, size_t cap, const char *path, int r, int P) {
    snprintf(buf, cap, "%s.rank%dof%d", path, r, P);
}

static uint64_t hash_file(const char *path, int *ok) {
    FILE *f = fopen(path, "rb");
    *ok = f != NULL;
    if (!f) return 0;
    static char buf[1 << 16];
    uint64_t h = 0xC0FFEEULL;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) h = mpi_hash_bytes(h, buf, got);
    *ok = !ferror(f);
    fclose(f);
    return h;
}

int mpi_checkpoint(void *self, const drv_loop *lp, int last, slide_err *err) {
    mpi_model *s = self;
    const char *path = s->o->checkpoint;
    if (!*path) return SLIDE_OK;
    const int P = s->c->P, me = s->c->rank;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.magic = RUN_STATE_MAGIC;
    rs.n_train = lp->train.n;
    rs.P = P;
    rs.rank = me;
    rs.L = s->sp.L;
    rs.lo = s->sp.lo;
    rs.n = s->sp.n;
    rs.strided = s->sp.strided;
    rs.rng = lp->rng;
    rs.seen = lp->seen;
    rs.iter = lp->iter;
    rs.last_eval_iter = lp->last_eval_iter;
    rs.pos = lp->pos;
    rs.epoch = lp->epoch;
    rs.train_s = lp->train_s;
    rs.last_eval_train_s = lp->last_eval_train_s;
    rs.eval_s_total = lp->eval_s_total;
    rs.comm_all = s->comm_all;
    rs.st_int = s->st_int;
    rs.st_all = s->st_all;
    memcpy(s->blob, &rs, sizeof rs);
    memcpy((char *)s->blob + sizeof rs, lp->perm, (size_t)lp->train.n * sizeof(int64_t));
    char sp[4200];
    shard_path(sp, sizeof sp, path, me, P);
    const double tc = slide_now();
    int rc = slide_checkpoint_save(s->net, sp, s->blob, s->blob_cap, err);
    int ok = 0;
    uint64_t h = rc ? 0 : hash_file(sp, &ok);
    if (!mpi_all_ok(rc == 0 && ok))
        return rc ? rc : slide_err_set(err, SLIDE_EIO, 0, "a rank could not write its shard of "
                                       "checkpoint %s", path);
    uint64_t *hs = me == 0 ? malloc((size_t)P * sizeof(uint64_t)) : NULL;
    MPI_Gather(&h, 1, MPI_UINT64_T, hs, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (me == 0) {
        /* the manifest last, atomically: it names only shards that are complete */
        char tmp[4300];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        FILE *f = hs ? fopen(tmp, "w") : NULL;
        if (f) {
            char text[64 * 1024];
            size_t w = (size_t)snprintf(text, sizeof text,
                                        "%s\nranks %d\nlabels %lld\nlabel_split %s\niter %lld\n",
                                        MANIFEST_MAGIC, P, (long long)s->sp.L,
                                        s->sp.strided ? "strided" : "contiguous",
                                        (long long)lp->iter);
            for (int r = 0; r < P && w < sizeof text - 64; r++)
                w += (size_t)snprintf(text + w, sizeof text - w, "shard %d %016llx\n", r,
                                      (unsigned long long)hs[r]);
            /* the manifest's own checksum, over the lines above */
            fprintf(f, "%schecksum %016llx\n", text, (unsigned long long)mpi_hash_bytes(0, text, w));
            ok = w < sizeof text - 64 && fflush(f) == 0 && fsync(fileno(f)) == 0;
            ok = (fclose(f) == 0) && ok && rename(tmp, path) == 0;
        } else {
            ok = 0;
        }
        if (!ok) {
            unlink(tmp);
            rc = slide_err_set(err, SLIDE_EIO, 0, "%s: cannot write the manifest: %s", path,
                               strerror(errno));
        }
        free(hs);
    }
    if (!mpi_all_ok(rc == 0)) return rc ? rc : SLIDE_EIO;
    if (me == 0 && (lp->progress || last))
        fprintf(stderr, "[checkpoint] %s + %d shards (iter %lld, %.2f s)\n", path, P,
                (long long)lp->iter, slide_now() - tc);
    return SLIDE_OK;
}

/* Reads the manifest of path: its ranks, labels, split and the shards' checksums (hs, P of
 * them). Returns NULL or a message. */
static const char *manifest_read(const char *path, int P, int64_t L, int strided, uint64_t *hs,
                                 char *msg, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(msg, cap, "%s: cannot read the manifest: %s", path, strerror(errno));
        return msg;
    }
    char line[256], split_name[32];
    int ranks = -1;
    long long labels = -1, iter = -1;
    /* the checksum line first: every line before it must hash to it */
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    char *ck = strstr(text, "\nchecksum ");
    unsigned long long want = 0;
    int ok = ck && sscanf(ck + 10, "%llx", &want) == 1 &&
             mpi_hash_bytes(0, text, (size_t)(ck + 1 - text)) == want;
    if (!ok) {
        fclose(f);
        snprintf(msg, cap, "%s: manifest corrupt or truncated (checksum)", path);
        return msg;
    }
    rewind(f);
    ok = fgets(line, sizeof line, f) && !strncmp(line, MANIFEST_MAGIC, strlen(MANIFEST_MAGIC));
    ok = ok && fscanf(f, "ranks %d\nlabels %lld\nlabel_split %31s\niter %lld\n", &ranks, &labels,
                      split_name, &iter) == 4;
    if (!ok) {
        fclose(f);
        snprintf(msg, cap, "%s: not a slide-train-mpi manifest (or corrupt)", path);
        return msg;
    }
    if (ranks != P) {
        fclose(f);
        snprintf(msg, cap, "%s: the checkpoint has %d shards, this run has %d ranks; resume with "
                 "mpirun -np %d", path, ranks, P, ranks);
        return msg;
    }
    if (labels != L || strcmp(split_name, strided ? "strided" : "contiguous")) {
        fclose(f);
        snprintf(msg, cap, "%s: written for %lld labels split %s, not this run's", path, labels,
                 split_name);
        return msg;
    }
    for (int r = 0; r < P; r++) {
        int rr;
        unsigned long long h;
        if (fscanf(f, "shard %d %llx\n", &rr, &h) != 2 || rr != r) {
            fclose(f);
            snprintf(msg, cap, "%s: manifest truncated or corrupt (shard %d)", path, r);
            return msg;
        }
        hs[r] = h;
    }
    fclose(f);
    return NULL;
}

/* Restores every rank from --resume: all ranks check first (manifest, their shard's checksum),
 * then load. Returns 0, 1 when nothing is left to train, or 2 after one line from rank 0. */
int mpi_resume(mpi_model *s, drv_loop *lp) {
    const char *path = s->o->resume;
    const int P = s->c->P, me = s->c->rank;
    char msg[4600] = "", sp[4200];
    uint64_t *hs = calloc((size_t)P, sizeof *hs);
    int bad = !hs;
    if (!bad && manifest_read(path, P, s->sp.L, s->sp.strided, hs, msg, sizeof msg)) bad = 1;
    shard_path(sp, sizeof sp, path, me, P);
    if (!bad) {
        int ok;
        const uint64_t h = hash_file(sp, &ok);
        if (!ok) snprintf(msg, sizeof msg, "%s: shard of rank %d missing or unreadable", sp, me);
        else if (h != hs[me])
            snprintf(msg, sizeof msg, "%s: shard of rank %d is corrupt (checksum differs from "
                     "the manifest)", sp, me);
        bad = !ok || h != hs[me];
    }
    free(hs);
    slide_err err;
    size_t got = 0;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    if (!bad && slide_checkpoint_load(s->net, sp, s->blob, s->blob_cap, &got, &err)) {
        snprintf(msg, sizeof msg, "%s", err.msg);
        bad = 1;
    }
    if (!bad) {
        memcpy(&rs, s->blob, sizeof rs);
        if (got != s->blob_cap || rs.magic != RUN_STATE_MAGIC || rs.n_train != lp->train.n ||
            rs.P != P || rs.rank != me || rs.lo != s->sp.lo || rs.n != s->sp.n || rs.pos < 0 ||
            rs.pos > lp->train.n) {
            snprintf(msg, sizeof msg, "%s: written for another training set or rank", sp);
            bad = 1;
        }
    }
    /* one line: the lowest failing rank's */
    int who = bad ? me : P;
    MPI_Allreduce(MPI_IN_PLACE, &who, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (who < P) {
        if (who != 0) {
            if (me == who) MPI_Send(msg, (int)sizeof msg, MPI_CHAR, 0, 7, MPI_COMM_WORLD);
            if (me == 0)
                MPI_Recv(msg, (int)sizeof msg, MPI_CHAR, who, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        if (me == 0) fprintf(stderr, PROG ": %s\n", msg);
        return 2;
    }
    memcpy(lp->perm, (char *)s->blob + sizeof rs, (size_t)lp->train.n * sizeof(int64_t));
    lp->rng = rs.rng;
    lp->seen = rs.seen;
    lp->iter = rs.iter;
    lp->last_eval_iter = rs.last_eval_iter;
    lp->pos = rs.pos;
    lp->epoch = rs.epoch;
    lp->train_s = rs.train_s;
    lp->last_eval_train_s = rs.last_eval_train_s;
    lp->eval_s_total = rs.eval_s_total;
    s->comm_all = rs.comm_all;
    s->st_int = rs.st_int;
    s->st_all = rs.st_all;
    if (me == 0)
        fprintf(stderr, "[resume] %s (%d shards): iter %lld, %lld samples, train %.2f s\n", path,
                P, (long long)lp->iter, (long long)lp->seen, lp->train_s);
    if (lp->seen >= lp->total) {
        if (me == 0)
            fprintf(stderr, "[resume] nothing left to train (--epochs %g reached)\n",
                    s->o->epochs);
        return 1;
    }
    return 0;
}

size_t mpi_ckpt_blob_bytes(int64_t n) { return sizeof(run_state) + (size_t)n * sizeof(int64_t); }
