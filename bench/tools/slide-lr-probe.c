/* slide-lr-probe: why a network does or does not learn at a learning rate. Trains the SLIDE
 * network with the full softmax (the dense baseline's network) and, every E batches, splits the
 * logits of up to 500 test points into the output biases, the part W h shared by every point
 * (its mean over the points) and the part that depends on the point, and reports how alike the
 * predictions are (the share of points whose top label is the most common top label) beside P@1.
 * A network that predicts the label prior has a large shared part and a modal share near 1. */
#include "slide/data.h"
#include "slide/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: slide-lr-probe TRAIN TEST LR ITERS EVERY [BATCH]\n"
            "Trains 128-ReLU -> full softmax (inputs normalised, Adam, 2 threads, seed 1) for\n"
            "ITERS batches of BATCH (default 256) at learning rate LR; every EVERY batches prints\n"
            "one CSV row on up to 500 test points: iter, lr, bias_gap (largest output bias minus\n"
            "the median), wh_shared_sd (sd over labels of W h averaged over the points),\n"
            "wh_point_sd (mean sd over labels of each point's W h minus that average),\n"
            "hidden_norm (mean |h|), modal_share (share of points whose top label is the most\n"
            "common one), p_at_1.\n");
}

static double sd(const float *v, int64_t n) {
    double m = 0, q = 0;
    for (int64_t i = 0; i < n; i++) m += v[i];
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
    return sqrt(q / (double)n);
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int positive(const char *s, double *out) {
    char *end;
    const double v = strtod(s, &end);
    if (end == s || *end || !(v > 0)) return 0;
    *out = v;
    return 1;
}

typedef struct {
    float *z, *mean, *sorted, *h;
    int64_t *cnt;
} probe_bufs;

/* One row: the decomposition over the first nt test points. */
static void probe_row(slide_net *net, const slide_data *te, int64_t nt, int it, double lr,
                      probe_bufs *b) {
    const slide_layer *l0 = slide_net_layer(net, 0), *l1 = slide_net_layer(net, 1);
    const int64_t L = te->l, H = l0->p.n_out;
    memcpy(b->sorted, l1->b, (size_t)L * sizeof *b->sorted);
    qsort(b->sorted, (size_t)L, sizeof *b->sorted, cmp_float);
    const double gap = b->sorted[L - 1] - b->sorted[L / 2];
    memset(b->mean, 0, (size_t)L * sizeof *b->mean);
    memset(b->cnt, 0, (size_t)L * sizeof *b->cnt);
    double hn = 0, p1 = 0;
    for (int64_t i = 0; i < nt; i++) {
        float *zi = b->z + i * L;
        slide_net_forward_full(net, te, i, zi);
        int64_t top = 0;
        for (int64_t j = 0; j < L; j++) {
            if (zi[j] > zi[top]) top = j;
            zi[j] -= l1->b[j];
            b->mean[j] += zi[j] / (float)nt;
        }
        b->cnt[top]++;
        for (int64_t q = te->lab_ptr[i]; q < te->lab_ptr[i + 1]; q++) p1 += te->lab[q] == top;
        for (int64_t j = 0; j < H; j++) b->h[j] = l0->b[j];
        for (int64_t q = te->row_ptr[i]; q < te->row_ptr[i + 1]; q++)
            for (int64_t j = 0; j < H; j++)
                b->h[j] += te->val[q] * l0->W[(int64_t)te->feat[q] * l0->ld + j];
        double nn = 0;
        for (int64_t j = 0; j < H; j++) nn += b->h[j] > 0 ? (double)b->h[j] * b->h[j] : 0;
        hn += sqrt(nn);
    }
    double psd = 0;
    int64_t mode = 0;
    for (int64_t i = 0; i < nt; i++) {
        for (int64_t j = 0; j < L; j++) b->z[i * L + j] -= b->mean[j];
        psd += sd(b->z + i * L, L);
    }
    for (int64_t j = 0; j < L; j++)
        if (b->cnt[j] > b->cnt[mode]) mode = j;
    printf("%d,%g,%.4f,%.4f,%.4f,%.3f,%.3f,%.4f\n", it, lr, gap, sd(b->mean, L),
           psd / (double)nt, hn / (double)nt, (double)b->cnt[mode] / (double)nt,
           p1 / (double)nt);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    double lr, iters, every, batch = 256;
    if (argc < 6 || argc > 7 || !positive(argv[3], &lr) || !positive(argv[4], &iters) ||
        !positive(argv[5], &every) || (argc == 7 && !positive(argv[6], &batch)) || lr >= 10) {
        fprintf(stderr, "slide-lr-probe: need TRAIN TEST LR ITERS EVERY [BATCH], LR in (0, 10), "
                        "the others positive integers (--help)\n");
        return 2;
    }
    slide_data tr, te;
    slide_err err;
    slide_data_opts o = slide_data_opts_default();
    o.normalize = 1;
    if (slide_data_load(&tr, argv[1], &o, &err)) {
        fprintf(stderr, "slide-lr-probe: %s\n", err.msg);
        return 2;
    }
    o.expect_d = tr.d;
    o.expect_l = tr.l;
    if (slide_data_load(&te, argv[2], &o, &err)) {
        fprintf(stderr, "slide-lr-probe: %s\n", err.msg);
        slide_data_free(&tr);
        return 2;
    }
    slide_net_params p = slide_net_params_default();
    p.layer[1].sampled = 0;
    slide_net_params_shape(&p, tr.d, tr.l);
    p.lr = (float)lr;
    p.batch = (int)batch;
    p.threads = 2;
    p.max_labels = slide_data_max_labels(&tr);
    slide_net *net = NULL;
    const char *m = slide_net_params_check(&p);
    if (m || (int64_t)batch > tr.n || slide_net_create(&net, &p, &err)) {
        fprintf(stderr, "slide-lr-probe: %s\n",
                m ? m : (int64_t)batch > tr.n ? "BATCH exceeds the training points" : err.msg);
        slide_data_free(&tr);
        slide_data_free(&te);
        return 2;
    }
    const int64_t L = tr.l, nt = te.n < 500 ? te.n : 500;
    probe_bufs b = {malloc((size_t)(nt * L) * sizeof(float)), malloc((size_t)L * sizeof(float)),
                    malloc((size_t)L * sizeof(float)), malloc((size_t)p.layer[0].n_out * sizeof(float)),
                    malloc((size_t)L * sizeof(int64_t))};
    int64_t *perm = malloc((size_t)tr.n * sizeof *perm);
    if (!b.z || !b.mean || !b.sorted || !b.h || !b.cnt || !perm) {
        fprintf(stderr, "slide-lr-probe: out of memory\n");
        return 2;
    }
    for (int64_t i = 0; i < tr.n; i++) perm[i] = i;
    slide_rng r;
    slide_rng_seed(&r, 1, 0);
    slide_shuffle_ids(perm, tr.n, &r);
    printf("iter,lr,bias_gap,wh_shared_sd,wh_point_sd,hidden_norm,modal_share,p_at_1\n");
    int64_t pos = 0;
    int rc = 0;
    for (int it = 0; it <= (int)iters && !rc; it++) {
        if (it % (int)every == 0 || it == (int)iters) probe_row(net, &te, nt, it, lr, &b);
        if (it == (int)iters) break;
        if (pos + p.batch > tr.n) pos = 0;
        if (slide_net_train_batch(net, &tr, perm + pos, p.batch, NULL, &err)) {
            fprintf(stderr, "slide-lr-probe: %s\n", err.msg);
            rc = 1;
        }
        pos += p.batch;
    }
    free(b.z);
    free(b.mean);
    free(b.sorted);
    free(b.h);
    free(b.cnt);
    free(perm);
    slide_net_destroy(net);
    slide_data_free(&tr);
    slide_data_free(&te);
    return rc;
}
