/* Pieces shared by slide-dense and slide-dense-gpu that need no BLAS: parameters, seeded
 * initialisation, path checks, the slide-train batch schedule and the parameter dump format. */
#include "dense.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

slide_dense_params slide_dense_params_default(void) {
    slide_dense_params p;
    memset(&p, 0, sizeof p);
    p.d = 1;
    p.l = 1;
    p.hidden = 128;
    p.batch = 128;
    p.threads = 2;
    p.lr = 1e-3f;
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.eps = 1e-8f;
    p.init_std = 0.01f;
    p.seed = 1;
    p.hugepages = SLIDE_HP_THP;
    p.blas = "openblas";
    return p;
}

const char *slide_dense_params_check(const slide_dense_params *p) {
    if (p->d < 1 || p->l < 1) return "need at least 1 feature and 1 label";
    if (p->d > INT32_MAX || p->l > INT32_MAX) return "features and labels must be below 2^31";
    if (p->hidden < 1 || p->hidden > 1 << 20) return "hidden must be in 1..1048576";
    if (p->batch < 1 || p->batch > 1 << 20) return "batch must be in 1..1048576";
    if ((double)p->batch * (double)p->l > (double)INT32_MAX * 4.0 ||
        (double)p->l * (double)p->hidden > 4e10)
        return "batch x labels or labels x hidden too large";
    if (p->threads < 1 || p->threads > 1024) return "threads must be in 1..1024";
    if (!(p->lr > 0 && p->lr < 10)) return "lr must be in (0, 10)";
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1))
        return "Adam betas must be in [0, 1)";
    if (!(p->eps > 0)) return "Adam eps must be > 0";
    if (!(p->init_std > 0 && p->init_std < 10)) return "init-std must be in (0, 10)";
    if (p->hugepages < SLIDE_HP_NONE || p->hugepages > SLIDE_HP_EXPLICIT) return "bad hugepage mode";
    if (!p->blas || (strcmp(p->blas, "openblas") && strcmp(p->blas, "blis")))
        return "blas must be openblas or blis";
    return NULL;
}

void slide_dense_init_matrix(float *W, int64_t rows, int64_t ld, float std, uint64_t seed,
                             int index) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) slide_init_row(W + r * ld, ld, std, seed, index, r);
}

static const char k_magic[8] = {'S', 'L', 'D', 'D', 'U', 'M', 'P', '1'};

int slide_dense_dump_write(const char *path, const slide_dense_dump *dd, slide_err *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return slide_err_set(err, SLIDE_EIO, 0, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return slide_err_set(err, SLIDE_EIO, 0, "%s: cannot write: %s", path, strerror(errno));
    uint32_t ver = 1, hid = (uint32_t)dd->hidden;
    const size_t H = (size_t)dd->hidden;
    int ok = fwrite(k_magic, 1, 8, f) == 8 && fwrite(&ver, 4, 1, f) == 1 &&
             fwrite(&hid, 4, 1, f) == 1 && fwrite(&dd->d, 8, 1, f) == 1 &&
             fwrite(&dd->l, 8, 1, f) == 1 && fwrite(&dd->step, 8, 1, f) == 1 &&
             fwrite(&dd->loss, 8, 1, f) == 1 &&
             fwrite(dd->W0, 4, (size_t)dd->d * H, f) == (size_t)dd->d * H &&
             fwrite(dd->b0, 4, H, f) == H &&
             fwrite(dd->W1, 4, (size_t)dd->l * H, f) == (size_t)dd->l * H &&
             fwrite(dd->b1, 4, (size_t)dd->l, f) == (size_t)dd->l;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return slide_err_set(err, SLIDE_EIO, 0, "%s: write failed: %s", path, strerror(e));
    }
    return SLIDE_OK;
}

void slide_dense_dump_free(slide_dense_dump *dd) {
    if (!dd) return;
    free(dd->W0);
    memset(dd, 0, sizeof *dd);
}

int slide_dense_dump_read(slide_dense_dump *dd, const char *path, slide_err *err) {
    memset(dd, 0, sizeof *dd);
    FILE *f = fopen(path, "rb");
    if (!f) return slide_err_set(err, SLIDE_EIO, 0, "%s: %s", path, strerror(errno));
    char magic[8];
    uint32_t ver = 0, hid = 0;
    int ok = fread(magic, 1, 8, f) == 8 && fread(&ver, 4, 1, f) == 1 && fread(&hid, 4, 1, f) == 1 &&
             fread(&dd->d, 8, 1, f) == 1 && fread(&dd->l, 8, 1, f) == 1 &&
             fread(&dd->step, 8, 1, f) == 1 && fread(&dd->loss, 8, 1, f) == 1;
    if (!ok || memcmp(magic, k_magic, 8) != 0) {
        fclose(f);
        return slide_err_set(err, SLIDE_EVERSION, 0,
                             "%s: not a parameter dump (magic SLDDUMP1; written by slide-dense "
                             "--dump-after-step)", path);
    }
    if (ver != 1) {
        fclose(f);
        return slide_err_set(err, SLIDE_EVERSION, 0,
                             "%s: dump version %u, this program reads version 1; rewrite it with "
                             "this build", path, ver);
    }
    if (hid < 1 || hid > 1u << 20 || dd->d < 1 || dd->l < 1 || dd->d > INT32_MAX ||
        dd->l > INT32_MAX) {
        fclose(f);
        return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: implausible sizes in the header", path);
    }
    dd->hidden = (int)hid;
    const size_t H = hid, n = (size_t)dd->d * H + H + (size_t)dd->l * H + (size_t)dd->l;
    float *buf = malloc(n * sizeof(float));
    if (!buf) {
        fclose(f);
        return slide_err_set(err, SLIDE_ENOMEM, 0, "%s: out of memory (%zu floats)", path, n);
    }
    size_t got = fread(buf, sizeof(float), n, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != n || extra) {
        free(buf);
        return slide_err_set(err, SLIDE_EFORMAT, 0, "%s: %s (expected %zu floats after the header)",
                             path, got != n ? "truncated" : "trailing bytes", n);
    }
    dd->W0 = buf;
    dd->b0 = buf + (size_t)dd->d * H;
    dd->W1 = dd->b0 + H;
    dd->b1 = dd->W1 + (size_t)dd->l * H;
    return SLIDE_OK;
}
