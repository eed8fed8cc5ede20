/* slide-wdiff: compares the weight dumps of two slide-train-mpi runs (--dump-weights, one file
 * per rank), tensor by tensor, as max |difference| / max |weight|; make test-mpi uses it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t hr, hl, L, ol; /* hidden rows x ld; labels, output row length */
    float *hw, *hb, *ow, *ob;
    int replicas_same;     /* the ranks' hidden layers are byte-identical */
} model;

static int fail(const char *m, const char *p) {
    fprintf(stderr, "slide-wdiff: %s: %s\n", p, m);
    return 2;
}

/* Reads prefix.rank0 .. prefix.rank<P-1> into m (output rows placed by global label id). */
static int load(const char *prefix, int P, model *m) {
    memset(m, 0, sizeof *m);
    m->replicas_same = 1;
    char path[4096];
    int64_t cap = 0;
    for (int r = 0; r < P; r++) {
        snprintf(path, sizeof path, "%s.rank%d", prefix, r);
        FILE *f = fopen(path, "rb");
        if (!f) return fail("cannot open", path);
        int64_t hd[4];
        if (fread(hd, sizeof hd, 1, f) != 1 || hd[0] < 1 || hd[1] < 1 || hd[3] < 1 || hd[2] < 0) {
            fclose(f);
            return fail("bad header", path);
        }
        const size_t nh = (size_t)(hd[0] * hd[1]);
        float *hw = malloc(nh * sizeof(float)), *hb = malloc((size_t)hd[1] * sizeof(float));
        int ok = hw && hb && fread(hw, sizeof(float), nh, f) == nh &&
                 fread(hb, sizeof(float), (size_t)hd[1], f) == (size_t)hd[1];
        if (ok && r == 0) {
            m->hr = hd[0];
            m->hl = hd[1];
            m->ol = hd[3];
            m->hw = hw;
            m->hb = hb;
            hw = hb = NULL;
        } else if (ok) {
            ok = hd[0] == m->hr && hd[1] == m->hl && hd[3] == m->ol;
            if (ok && (memcmp(hw, m->hw, nh * sizeof(float)) ||
                       memcmp(hb, m->hb, (size_t)hd[1] * sizeof(float))))
                m->replicas_same = 0;
        }
        free(hw);
        free(hb);
        float *row = malloc((size_t)(m->ol + 1) * sizeof(float));
        for (int64_t j = 0; ok && j < hd[2]; j++) {
            int64_t g;
            ok = row && fread(&g, sizeof g, 1, f) == 1 && g >= 0 && g < (1 << 30) &&
                 fread(row, sizeof(float), (size_t)m->ol + 1, f) == (size_t)m->ol + 1;
            if (!ok) break;
            if (g >= cap) {
                const int64_t nc = g + 1 > 2 * cap ? g + 1 : 2 * cap;
                float *ow = realloc(m->ow, (size_t)(nc * m->ol) * sizeof(float));
                float *ob = realloc(m->ob, (size_t)nc * sizeof(float));
                if (ow) m->ow = ow;
                if (ob) m->ob = ob;
                ok = ow && ob;
                cap = ok ? nc : cap;
            }
            if (!ok) break;
            memcpy(m->ow + g * m->ol, row, (size_t)m->ol * sizeof(float));
            m->ob[g] = row[m->ol];
            if (g + 1 > m->L) m->L = g + 1;
        }
        free(row);
        fclose(f);
        if (!ok) return fail("truncated or inconsistent with rank 0", path);
    }
    return 0;
}

/* max |a - b| / max |a| over n floats */
static double rel(const float *a, const float *b, int64_t n) {
    double d = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        w = fmax(w, fabs((double)a[i]));
    }
    return w > 0 ? d / w : d;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: slide-wdiff REF_PREFIX REF_RANKS PREFIX RANKS TOL\n"
                        "Compares slide-train-mpi --dump-weights files per tensor (max |diff| / "
                        "max |weight|); exit 1 above TOL or when a run's replicas differ.\n");
        return 2;
    }
    model a, b;
    int rc = load(argv[1], atoi(argv[2]), &a);
    if (!rc) rc = load(argv[3], atoi(argv[4]), &b);
    if (rc) return rc;
    if (a.hr != b.hr || a.hl != b.hl || a.L != b.L || a.ol != b.ol) {
        fprintf(stderr, "slide-wdiff: the two runs have different shapes\n");
        return 2;
    }
    const double tol = atof(argv[5]);
    const double d[4] = {rel(a.hw, b.hw, a.hr * a.hl), rel(a.hb, b.hb, a.hl),
                         rel(a.ow, b.ow, a.L * a.ol), rel(a.ob, b.ob, a.L)};
    const char *name[4] = {"hidden.W", "hidden.b", "output.W", "output.b"};
    int bad = !a.replicas_same || !b.replicas_same;
    printf("replicas identical: %s, %s\n", a.replicas_same ? "yes" : "NO",
           b.replicas_same ? "yes" : "NO");
    for (int t = 0; t < 4; t++) {
        printf("%s: max|diff|/max|w| = %.3g (tol %.3g)%s\n", name[t], d[t], tol,
               d[t] > tol ? "  FAIL" : "");
        bad |= d[t] > tol;
    }
    free(a.hw);
    free(a.hb);
    free(a.ow);
    free(a.ob);
    free(b.hw);
    free(b.hb);
    free(b.ow);
    free(b.ob);
    return bad;
}
