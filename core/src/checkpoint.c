/* Checkpoint writer and loader: a fixed header describing the network (validated against the
 * network being loaded), the caller's blob, then every layer's arrays, then a 64-bit checksum
 * over all preceding bytes. The same reader serves files and memory buffers. */
#include "slide/checkpoint.h"
#include "net_internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Word-wise multiply-xor checksum (order-sensitive, fast enough for GB-sized slabs). */
typedef struct {
    uint64_t h;
    uint8_t tail[8];
    int nt;
} cksum;

static void ck_init(cksum *c) {
    c->h = 0x9E3779B97F4A7C15ULL;
    c->nt = 0;
}
static inline void ck_word(cksum *c, uint64_t w) {
    c->h = (c->h ^ slide_mix64(w + 0x632BE59BD9B4E019ULL)) * 0xff51afd7ed558ccdULL;
}
static void ck_add(cksum *c, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n && c->nt) {
        c->tail[c->nt++] = *b++;
        n--;
        if (c->nt == 8) {
            uint64_t w;
            memcpy(&w, c->tail, 8);
            ck_word(c, w);
            c->nt = 0;
        }
    }
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        ck_word(c, w);
    }
    while (n--) c->tail[c->nt++] = *b++;
}
static uint64_t ck_final(const cksum *c) {
    uint64_t h = c->h;
    for (int i = 0; i < c->nt; i++) h = (h ^ c->tail[i]) * 0x100000001b3ULL;
    return slide_mix64(h ^ (uint64_t)c->nt);
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    FILE *f;
    cksum ck;
    int bad;
} wr;

static void w_bytes(wr *w, const void *p, size_t n) {
    if (w->bad || n == 0) return;
    ck_add(&w->ck, p, n);
    if (fwrite(p, 1, n, w->f) != n) w->bad = 1;
}
static void w_i64(wr *w, int64_t v) { w_bytes(w, &v, sizeof v); }
static void w_u64(wr *w, uint64_t v) { w_bytes(w, &v, sizeof v); }
static void w_f64(wr *w, double v) { w_bytes(w, &v, sizeof v); }

/* The fields that must agree between the file and the network it is loaded into. */
static void layer_desc(const slide_layer *ly, int64_t d[16]) {
    const slide_layer_params *p = &ly->p;
    memset(d, 0, 16 * sizeof d[0]);
    d[0] = p->n_in;
    d[1] = p->n_out;
    d[2] = p->input_major;
    d[3] = p->sampled;
    d[4] = p->act;
    if (p->sampled) {
        d[5] = p->hash.family | (p->hash.rotate << 4); /* files before rotate: family only */
        d[6] = p->hash.K;
        d[7] = p->hash.L;
        d[8] = p->hash.range_bits;
        d[9] = p->hash.bin_size;
        d[10] = p->hash.sparsity;
        d[11] = (int64_t)p->hash.seed;
        d[12] = p->bucket_cap;
        d[13] = p->bucket_policy;
        d[14] = p->mips;
    }
    /* files before adam_bf16 hold 0 or 1 here, files before bf16_only at most 3 */
    d[15] = p->bf16 | (p->adam_bf16 << 1) | (p->bf16_only << 2);
}
static const char *desc_name[16] = {"n_in", "n_out", "input_major", "sampled", "activation",
                                    "hash family (+16: rotated)", "K", "L", "range_bits", "bin_size",
                                    "sparsity", "hash seed", "bucket_cap", "bucket_policy",
                                    "mips", "bf16 (1 weights, 2 Adam moments, 4 no fp32 weights)"};

/* Removes <path>.tmp.<pid> files left by processes that no longer exist (killed mid-save). */
static void remove_stale_temps(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (slash) {
        *slash = '\0';
        base = path + (slash + 1 - dir);
        if (!dir[0]) snprintf(dir, sizeof dir, "/");
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    char prefix[1024];
    if (snprintf(prefix, sizeof prefix, "%s.tmp.", base) >= (int)sizeof prefix) return;
    size_t pl = strlen(prefix);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, pl) != 0) continue;
        char *end = NULL;
        long pid = strtol(e->d_name + pl, &end, 10);
        if (end == e->d_name + pl || *end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* owner alive or unknown */
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        unlink(full);
    }
    closedir(d);
}

int slide_checkpoint_save(slide_net *net, const char *path, const void *user, size_t user_len,
                          slide_err *err) {
    if (!path || !*path) return slide_err_set(err, SLIDE_EINVAL, 0, "--checkpoint: empty path");
    slide_tmpfile t;
    int rc = slide_tmpfile_open(&t, path, err);
    if (rc) return rc;
    /* Canonical tables: rebuilt from the stored keys (same as the loader does). */
    for (int l = 0; l < net->p.n_layers; l++) {
        slide_layer *ly = &net->layer[l];
        if (ly->p.sampled && (rc = slide_lsh_build(ly->lsh, ly->keys, ly->p.n_out, err))) {
            fclose(t.f);
            unlink(t.tmp);
            return rc;
        }
    }
    FILE *f = t.f;
    wr w = {f, {0, {0}, 0}, 0};
    ck_init(&w.ck);
    w_bytes(&w, SLIDE_CKPT_MAGIC, 8);
    uint32_t ver = SLIDE_CKPT_VERSION;
    w_bytes(&w, &ver, 4);
    uint32_t nl = (uint32_t)net->p.n_layers;
    w_bytes(&w, &nl, 4);
    for (int l = 0; l < net->p.n_layers; l++) {
        int64_t d[16];
        layer_desc(&net->layer[l], d);
        w_bytes(&w, d, sizeof d);
    }
    w_i64(&w, net->step);
    w_i64(&w, net->next_rehash);
    w_i64(&w, net->next_rebuild);
    w_f64(&w, net->rebuild_interval);
    w_u64(&w, net->p.seed);
    w_u64(&w, (uint64_t)user_len);
    w_bytes(&w, user, user_len);
    for (int l = 0; l < net->p.n_layers; l++) {
        const slide_layer *ly = &net->layer[l];
        size_t nw = (size_t)(ly->n_rows * ly->ld), nb = (size_t)ly->p.n_out;
        if (ly->W) w_bytes(&w, ly->W, nw * 4);
        else w_bytes(&w, ly->Wh, nw * 2); /* bf16_only */
        if (ly->mW) {
            w_bytes(&w, ly->mW, nw * 4);
            w_bytes(&w, ly->vW, nw * 4);
        } else {
            w_bytes(&w, ly->mWh, nw * 2);
            w_bytes(&w, ly->vWh, nw * 2);
        }
        w_bytes(&w, ly->b, nb * 4);
        w_bytes(&w, ly->mb, nb * 4);
        w_bytes(&w, ly->vb, nb * 4);
        if (ly->p.sampled) {
            w_bytes(&w, ly->keys, nb * (size_t)ly->p.hash.L * 4);
            w_bytes(&w, ly->dirty, nb);
            w_bytes(&w, &ly->mips_scale, sizeof ly->mips_scale);
        }
    }
    uint64_t sum = ck_final(&w.ck);
    if (!w.bad && fwrite(&sum, 1, 8, f) != 8) w.bad = 1;
    if ((rc = slide_tmpfile_commit(&t, w.bad, 1, err))) return rc;
    remove_stale_temps(path);
    return SLIDE_OK;
}

/* ---------------------------------------------------------------- reader */

typedef struct {
    FILE *f;           /* file source, or */
    const uint8_t *m;  /* memory source */
    size_t len, pos;
    cksum ck;
    const char *name;
} rd;

static int r_bytes(rd *r, void *p, size_t n, slide_err *err) {
    if (n == 0) return SLIDE_OK;
    if (r->f) {
        if (fread(p, 1, n, r->f) != n)
            return slide_err_set(err, SLIDE_EFORMAT, 0,
                                 "%s: truncated checkpoint (ends at byte %zu)", r->name, r->pos);
    } else {
        if (r->len - r->pos < n)
            return slide_err_set(err, SLIDE_EFORMAT, 0,
                                 "%s: truncated checkpoint (ends at byte %zu)", r->name, r->len);
        memcpy(p, r->m + r->pos, n);
    }
    r->pos += n;
    ck_add(&r->ck, p, n);
    return SLIDE_OK;
}

static int load_from(slide_net *net, rd *r, void *user, size_t user_cap, size_t *user_len,
                     slide_err *err) {
    char magic[8];
    uint32_t ver = 0, nl = 0;
    int rc;
    ck_init(&r->ck);
    if ((rc = r_bytes(r, magic, 8, err))) return rc;
    if (memcmp(magic, SLIDE_CKPT_MAGIC, 8) != 0)
        return slide_err_set(err, SLIDE_EVERSION, 0, "%s: not a slidebench checkpoint (bad magic)",
                             r->name);
    if ((rc = r_bytes(r, &ver, 4, err))) return rc;
    if (ver != SLIDE_CKPT_VERSION)
        return slide_err_set(err, SLIDE_EVERSION, 0,
                             "%s: checkpoint version %u, this build reads version %u", r->name,
                             ver, SLIDE_CKPT_VERSION);
    if ((rc = r_bytes(r, &nl, 4, err))) return rc;
    if (nl != (uint32_t)net->p.n_layers)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "%s: checkpoint has %u layers, the network has %d", r->name, nl,
                             net->p.n_layers);
    for (int l = 0; l < net->p.n_layers; l++) {
        int64_t d[16], e[16];
        if ((rc = r_bytes(r, d, sizeof d, err))) return rc;
        layer_desc(&net->layer[l], e);
        for (int k = 0; k < 16; k++)
            if (d[k] != e[k])
                return slide_err_set(err, SLIDE_EINVAL, 0,
                                     "%s: layer %d %s is %lld in the checkpoint but %lld in this "
                                     "configuration",
                                     r->name, l, desc_name[k], (long long)d[k], (long long)e[k]);
    }
    int64_t step, nrh, nrb;
    double interval;
    uint64_t seed, ulen;
    if ((rc = r_bytes(r, &step, 8, err)) || (rc = r_bytes(r, &nrh, 8, err)) ||
        (rc = r_bytes(r, &nrb, 8, err)) || (rc = r_bytes(r, &interval, 8, err)) ||
        (rc = r_bytes(r, &seed, 8, err)) || (rc = r_bytes(r, &ulen, 8, err)))
        return rc;
    if (step < 0 || nrh < 0 || nrb < 0 || !(interval >= 0 && interval < 1e18))
        return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: corrupted step counters", r->name);
    if (seed != net->p.seed)
        return slide_err_set(err, SLIDE_EINVAL, 0,
                             "%s: checkpoint seed %llu differs from --seed %llu", r->name,
                             (unsigned long long)seed, (unsigned long long)net->p.seed);
    if (ulen > user_cap)
        return slide_err_set(err, SLIDE_EFORMAT, 0,
                             "%s: driver state of %llu bytes, expected at most %zu", r->name,
                             (unsigned long long)ulen, user_cap);
    if ((rc = r_bytes(r, user, (size_t)ulen, err))) return rc;
    if (user_len) *user_len = (size_t)ulen;
    for (int l = 0; l < net->p.n_layers; l++) {
        slide_layer *ly = &net->layer[l];
        size_t nw = (size_t)(ly->n_rows * ly->ld), nb = (size_t)ly->p.n_out;
        void *mw = ly->mW ? (void *)ly->mW : (void *)ly->mWh;
        void *vw = ly->vW ? (void *)ly->vW : (void *)ly->vWh;
        size_t es = ly->mW ? 4 : 2;
        void *ww = ly->W ? (void *)ly->W : (void *)ly->Wh;
        size_t wes = ly->W ? 4 : 2;
        if ((rc = r_bytes(r, ww, nw * wes, err)) || (rc = r_bytes(r, mw, nw * es, err)) ||
            (rc = r_bytes(r, vw, nw * es, err)) || (rc = r_bytes(r, ly->b, nb * 4, err)) ||
            (rc = r_bytes(r, ly->mb, nb * 4, err)) || (rc = r_bytes(r, ly->vb, nb * 4, err)))
            return rc;
        if (ly->p.sampled) {
            if ((rc = r_bytes(r, ly->keys, nb * (size_t)ly->p.hash.L * 4, err)) ||
                (rc = r_bytes(r, ly->dirty, nb, err)) ||
                (rc = r_bytes(r, &ly->mips_scale, sizeof ly->mips_scale, err)))
                return rc;
            if (ly->p.mips && !(ly->mips_scale > 0 && ly->mips_scale < 1e30f))
                return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: bad MIPS scale", r->name);
        }
    }
    uint64_t want = ck_final(&r->ck), got = 0;
    if (r->f) {
        if (fread(&got, 1, 8, r->f) != 8)
            return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: truncated checkpoint (no checksum)",
                                 r->name);
        int extra = fgetc(r->f);
        if (extra != EOF)
            return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: trailing bytes after checksum", r->name);
    } else {
        if (r->len - r->pos != 8)
            return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: %s", r->name,
                                 r->len - r->pos < 8 ? "truncated checkpoint (no checksum)"
                                                     : "trailing bytes after checksum");
        memcpy(&got, r->m + r->pos, 8);
    }
    if (got != want)
        return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: checksum mismatch (corrupted file)",
                             r->name);
    /* Keys and tables must be consistent: every key below 2^key_bits. */
    for (int l = 0; l < net->p.n_layers; l++) {
        slide_layer *ly = &net->layer[l];
        if (!ly->p.sampled) continue;
        uint32_t lim = 1u << slide_hash_key_bits(ly->hash);
        size_t nk = (size_t)ly->p.n_out * (size_t)ly->p.hash.L;
        for (size_t i = 0; i < nk; i++)
            if (ly->keys[i] >= lim)
                return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: table key out of range", r->name);
        for (size_t i = 0; i < (size_t)ly->p.n_out; i++)
            if (ly->dirty[i] > 1)
                return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: bad dirty mark", r->name);
        if ((rc = slide_lsh_build(ly->lsh, ly->keys, ly->p.n_out, err))) return rc;
    }
    /* BF16 copies are bf16(W) row by row at all times: regenerate them from the loaded W. */
    for (int l = 0; l < net->p.n_layers; l++) slide_layer_sync_bf16(&net->layer[l]);
    net->step = step;
    net->next_rehash = nrh;
    net->next_rebuild = nrb;
    net->rebuild_interval = interval;
    return SLIDE_OK;
}

int slide_checkpoint_load(slide_net *net, const char *path, void *user, size_t user_cap,
                          size_t *user_len, slide_err *err) {
    if (!path || !*path) return slide_err_set(err, SLIDE_EINVAL, 0, "--resume: empty path");
    FILE *f = fopen(path, "rb");
    if (!f) return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot open checkpoint: %s", path, strerror(errno));
    rd r;
    memset(&r, 0, sizeof r);
    r.f = f;
    r.name = path;
    int rc = load_from(net, &r, user, user_cap, user_len, err);
    fclose(f);
    return rc;
}

int slide_checkpoint_parse(slide_net *net, const void *buf, size_t len, const char *name,
                           void *user, size_t user_cap, size_t *user_len, slide_err *err) {
    rd r;
    memset(&r, 0, sizeof r);
    r.m = buf;
    r.len = len;
    r.name = name ? name : "<memory>";
    return load_from(net, &r, user, user_cap, user_len, err);
}
