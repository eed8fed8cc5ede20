/* The drivers' one option table and its defaults (the Delicious job); which driver uses which
 * option; the command line; the network parameters of the options. */
#include "drv.h"

#include "slide/hash.h"
#include "slide/mem.h"
#include "slide/report.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* One entry: a slide_opt whose ptr is an offset into drv_opts, and the drivers that use it. */
typedef struct {
    const char *name;
    int type;
    size_t off;
    double min, max;
    const char *choices, *help;
    int uses;
} spec;

#define ALL (DRV_SLIDE | DRV_DENSE | DRV_GPU)
#define CPU (DRV_SLIDE | DRV_DENSE)
#define DENSE (DRV_DENSE | DRV_GPU)
#define F(x) offsetof(drv_opts, x)

static const spec k_specs[] = {
    {"train", SLIDE_OPT_STR, F(train), 1, 0, NULL, "training set (XC text format)", ALL},
    {"test", SLIDE_OPT_STR, F(test), 1, 0, NULL, "test set (XC text format)", ALL},
    {"dataset-name", SLIDE_OPT_STR, F(dataset), 1, 0, NULL, "name written to the dataset column", ALL},
    {"csv", SLIDE_OPT_STR, F(csv), 1, 0, NULL, "CSV file rows are appended to", ALL},
    {"run-id", SLIDE_OPT_STR, F(run_id), 1, 0, NULL, "run id (default: time-host-pid)", ALL},
    {"epochs", SLIDE_OPT_DOUBLE, F(epochs), 0.0001, 1e6, NULL, "epochs to train (fractions allowed)", ALL},
    {"time-budget", SLIDE_OPT_DOUBLE, F(time_budget), 0, 1e9, NULL, "stop after this many seconds of training time (0 = off)", ALL},
    {"eval-every", SLIDE_OPT_INT, F(eval_every), 0, 1e9, NULL, "evaluate every N batches (0 = off)", ALL},
    {"eval-every-s", SLIDE_OPT_DOUBLE, F(eval_every_s), 0, 1e9, NULL, "evaluate every S seconds of training time (0 = off)", ALL},
    {"eval-n", SLIDE_OPT_INT, F(eval_n), 0, 1e9, NULL, "test points per intermediate evaluation, a seeded random subset (0 = all)", ALL},
    {"val-split", SLIDE_OPT_DOUBLE, F(val_split), 0, 0.9, NULL, "F > 0: hold out a seeded fraction F of the training set, never trained on; the rows between evaluate it (eval_set val)", ALL},
    {"patience", SLIDE_OPT_INT, F(patience), 0, 1e9, NULL, "N > 0: stop when P@1 on the --val-split points has not improved for N evaluations", ALL},
    {"normalize", SLIDE_OPT_FLAG, F(normalize), 0, 1, NULL, "L2-normalise input rows", ALL},
    {"cache", SLIDE_OPT_FLAG, F(cache), 0, 1, NULL, "use/write the binary data cache (<file>.sbin)", ALL},
    {"progress", SLIDE_OPT_INT, F(progress), -1, 1, NULL, "progress line on stderr (-1 = when a terminal)", ALL},
    {"batch", SLIDE_OPT_INT, F(batch), 1, 1 << 20, NULL, "mini-batch size", ALL},
    {"lr", SLIDE_OPT_FLOAT, F(lr), 1e-9, 1, NULL, "Adam learning rate", ALL},
    {"init-std", SLIDE_OPT_FLOAT, F(init_std), 1e-6, 1, NULL, "weight init standard deviation", ALL},
    {"threads", SLIDE_OPT_INT, F(threads), 1, 1024, NULL, "OpenMP threads", CPU},
    {"seed", SLIDE_OPT_U64, F(seed), 1, 0, NULL, "seed of weights, hashes, shuffling", ALL},
    {"full-output", SLIDE_OPT_FLAG, F(full_output), 0, 1, NULL, "all-neurons output layer (system slide-full)", DRV_SLIDE},
    {"sampled-inference", SLIDE_OPT_FLAG, F(sampled_inference), 0, 1, NULL, "rank only the LSH-sampled output neurons at evaluation", DRV_SLIDE},
    {"hidden", SLIDE_OPT_INT, F(hidden), 1, 1 << 20, NULL, "hidden layer size", ALL},
    {"hash", SLIDE_OPT_CHOICE, F(family), 1, 0, "simhash|wta|dwta", "hash family of the output layer", DRV_SLIDE},
    {"K", SLIDE_OPT_INT, F(K), 1, SLIDE_HASH_MAX_K, NULL, "hash functions per table", DRV_SLIDE},
    {"L", SLIDE_OPT_INT, F(L), 1, SLIDE_HASH_MAX_L, NULL, "hash tables", DRV_SLIDE},
    {"range-bits", SLIDE_OPT_INT, F(range_bits), 1, 20, NULL, "bits of a table key (2^range-bits buckets)", DRV_SLIDE},
    {"bin-size", SLIDE_OPT_INT, F(bin_size), 2, 256, NULL, "WTA/DWTA bin size (power of two)", DRV_SLIDE},
    {"sparsity", SLIDE_OPT_INT, F(sparsity), 1, 1 << 20, NULL, "SimHash: projections keep 1/sparsity of dims", DRV_SLIDE},
    {"bucket-cap", SLIDE_OPT_INT, F(bucket_cap), 1, 65535, NULL, "ids per bucket", DRV_SLIDE},
    {"bucket-policy", SLIDE_OPT_CHOICE, F(policy), 1, 0, "fifo|reservoir", "insertion policy of full buckets", DRV_SLIDE},
    {"probes", SLIDE_OPT_INT, F(probes), 0, SLIDE_HASH_MAX_PROBES, NULL, "multi-probe keys per table", DRV_SLIDE},
    {"min-active", SLIDE_OPT_DOUBLE, F(min_active), 0, 1, NULL, "min active fraction of the output layer (random fill); unset: a floor in neurons too (README)", DRV_SLIDE},
    {"max-active", SLIDE_OPT_DOUBLE, F(max_active), 1e-9, 1, NULL, "max active fraction of the output layer (LSH truncation); unset: at least min active", DRV_SLIDE},
    {"sampler", SLIDE_OPT_CHOICE, F(sampler), 1, 0, "lsh|uniform|unigram", "output active set: LSH tables, or the controls (negatives uniform, or by label count^power)", DRV_SLIDE},
    {"budget", SLIDE_OPT_DOUBLE, F(budget), 0, 1, NULL, "F > 0: every sample gets exactly round(F x labels) active neurons (column budget)", DRV_SLIDE},
    {"unigram-power", SLIDE_OPT_DOUBLE, F(unigram_power), 0, 4, NULL, "unigram sampler: negatives drawn in proportion to count^power", DRV_SLIDE},
    {"rehash", SLIDE_OPT_INT, F(rehash), 0, 1e9, NULL, "rehash touched neurons every N batches (0 = never)", DRV_SLIDE},
    {"rebuild", SLIDE_OPT_INT, F(rebuild), 0, 1e9, NULL, "rebuild all tables every N batches (0 = never)", DRV_SLIDE},
    {"rebuild-decay", SLIDE_OPT_DOUBLE, F(rebuild_decay), 0, 10, NULL, "after each rebuild the interval grows by this factor (paper: exponential decay of frequency)", DRV_SLIDE},
    {"simd", SLIDE_OPT_STR, F(simd), 1, 0, NULL, "kernel path: auto|scalar|avx2|avx512 (env SLIDE_SIMD)", DRV_SLIDE},
    {"hugepages", SLIDE_OPT_CHOICE, F(hugepages), 1, 0, "none|thp|explicit", "page size of weight slabs", CPU},
    {"checkpoint", SLIDE_OPT_STR, F(checkpoint), 1, 0, NULL, "write a checkpoint here (temp file + rename) every --checkpoint-every batches and at the end", DRV_SLIDE},
    {"checkpoint-every", SLIDE_OPT_INT, F(checkpoint_every), 0, 1e9, NULL, "batches between checkpoints (0 = only at the end)", DRV_SLIDE},
    {"resume", SLIDE_OPT_STR, F(resume), 1, 0, NULL, "continue from this checkpoint (same data and configuration)", DRV_SLIDE},
    {"numa", SLIDE_OPT_STR, F(numa), 1, 0, NULL, "placement of weight slabs: local|interleave|node:N", DRV_SLIDE},
    {"papi-events", SLIDE_OPT_STR, F(papi_events), 1, 0, NULL, "comma-separated PAPI events counted over training steps on the main thread (default list: cycles, instructions, L1D/L2/L3 misses, dTLB misses, page faults, task clock, context switches; \"\" = none)", DRV_SLIDE},
    {"tlb-sim", SLIDE_OPT_INT, F(tlb_sim), 0, 1000000, NULL, "N > 0: replay the slab pages each phase touches through a simulated dTLB (4k, 2m, thp pages) over N batches after 4 warm-up ones; writes <csv stem>.tlb.csv (0 = off)", DRV_SLIDE},
    {"hash-rotate", SLIDE_OPT_FLAG, F(hash_rotate), 0, 1, NULL, "WTA/DWTA: hash randomly rotated vectors (inner products kept), so the rank codes see what all coordinates share and collisions follow the cosine (hash_family wta-rot / dwta-rot; see REPRODUCE.md)", DRV_SLIDE},
    {"mips", SLIDE_OPT_FLAG, F(mips), 0, 1, NULL, "hash [w, b] with the asymmetric MIPS transform so sampling follows the logits", DRV_SLIDE},
    {"adam-bf16", SLIDE_OPT_FLAG, F(adam_bf16), 0, 1, NULL, "store the hidden/output weights' Adam moments as BF16 with stochastic rounding (a third less update traffic)", DRV_SLIDE},
    {"bf16-only", SLIDE_OPT_FLAG, F(bf16_only), 0, 1, NULL, "keep the hidden/output weights and their Adam moments only as BF16 (no fp32 master; updates rounded stochastically): 6 bytes per output weight instead of 8 with --adam-bf16 (less memory; not measured faster, see REPRODUCE.md); columns weights and adam_state bf16-sr", DRV_SLIDE},
    {"shared-fill", SLIDE_OPT_FLAG, F(shared_fill), 0, 1, NULL, "training: random fill from one list per batch shared by its samples, not drawn per sample (fewer rows to update: faster batches, slower learning per batch; see REPRODUCE.md)", DRV_SLIDE},
    {"train-order", SLIDE_OPT_CHOICE, F(train_order), 1, 0, "auto|row-sweep|per-sample", "per-sample: each sample reads its active output rows at random (the original SLIDE order); row-sweep: every sample's active set first, then one ordered pass over the touched rows computes the logits and one the update and dx (the same arithmetic; faster when the output weights do not fit in cache); auto: row-sweep when the output layer's fp32 weights exceed 32 MB (about a last-level cache); column train_order", DRV_SLIDE},
    {"input-update", SLIDE_OPT_CHOICE, F(input_update), 1, 0, "hogwild|sorted", "the input layer's gradient: hogwild (samples add into one gradient slab without locks: fast, bits vary with the thread schedule) or sorted (the batch's entries sorted by feature, each row summed in slot order: the same bits for any thread count; slide-train-mpi's default, so that the replicas stay identical)", DRV_SLIDE},
    {"bf16", SLIDE_OPT_FLAG, F(bf16), 0, 1, NULL, "forward/backward read BF16 copies of the hidden and output weights (fp32 master weights and Adam state); column weights", DRV_SLIDE},
    {"no-pin", SLIDE_OPT_FLAG, F(no_pin), 0, 1, NULL, "do not set OMP_PROC_BIND=true OMP_PLACES=cores when unset", DRV_SLIDE},
    {"profile-batches", SLIDE_OPT_STR, F(profile_batches), 1, 0, NULL, "A:B: under callgrind (bench/profile/profile_cache.sh) collect costs over batches A..B only (counted from 1); the run ends after batch B, and one that ends before it is an error", DRV_SLIDE},
    {"max-mem", SLIDE_OPT_DOUBLE, F(max_mem_mb), 0, 1e9, NULL, "refuse to run when the model's estimate (slide-train: plus the data sets) exceeds this many MB (0: the available memory, on a GPU its free memory)", ALL},
    {"dump-after-step", SLIDE_OPT_INT, F(dump_after), 0, 1e9, NULL, "after N training steps write the parameters to --dump-path and stop (0 = off; for tests)", DENSE},
    {"dump-path", SLIDE_OPT_STR, F(dump_path), 1, 0, NULL, "file for --dump-after-step", DENSE},
    {"csv-header", SLIDE_OPT_FLAG, F(csv_header), 0, 1, NULL, "print the CSV header line and exit (for other writers of this schema)", DENSE},
};
#define N_SPECS (sizeof k_specs / sizeof k_specs[0])

static void drv_opts_defaults(drv_opts *o, drv_kind kind) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->train = "build/data/delicious/train.txt";
    o->test = "build/data/delicious/test.txt";
    o->dataset = "delicious";
    o->csv = kind == DRV_DENSE ? "results/slide-dense.csv"
             : kind == DRV_GPU ? "results/slide-dense-gpu.csv"
                               : "results/slide-train.csv";
    o->run_id = "";
    o->epochs = 6;
    o->eval_every = 20;
    o->eval_n = 1000;
    o->normalize = 1;
    o->progress = -1;
    o->batch = 128;
    o->lr = 1e-3f;
    o->init_std = 0.01f;
    o->hidden = 128;
    o->seed = 1;
    o->family = SLIDE_HASH_SIMHASH;
    o->K = 6;
    o->L = 16;
    o->range_bits = 12;
    o->bin_size = 8;
    o->sparsity = 3;
    o->bucket_cap = 128;
    o->policy = SLIDE_BUCKET_FIFO;
    o->min_active = 0.05;
    o->max_active = 0.3;
    o->sampler = SLIDE_SAMPLER_LSH;
    o->unigram_power = 0.75;
    o->rehash = 20;
    o->rebuild = 100;
    o->hugepages = SLIDE_HP_THP;
    o->threads = 2;
    o->simd = "auto";
    o->numa = "local";
    o->papi_events = "default";
    o->checkpoint = "";
    o->resume = "";
    o->profile_batches = "";
    o->dump_path = "";
}

void drv_opts_init(drv_opts *o, drv_kind kind, const slide_opt *own) {
    drv_opts_defaults(o, kind);
    size_t n = 0;
    for (size_t i = 0; i < N_SPECS; i++) {
        const spec *s = &k_specs[i];
        slide_opt *t = &o->table[n++];
        t->name = s->name;
        t->type = s->type;
        t->ptr = (char *)o + s->off;
        t->min = s->min;
        t->max = s->max;
        t->choices = s->choices;
        t->help = s->help;
    }
    for (const slide_opt *p = own; p && p->name && n + 1 < DRV_OPTS_MAX; p++) o->table[n++] = *p;
    SLIDE_ASSERT(n + 1 <= DRV_OPTS_MAX && (!own || !own[n - N_SPECS].name));
    memset(&o->table[n], 0, sizeof o->table[n]);
}

/* 1 when table entry i is used by the driver (a driver's own options always are). */
static int used(const drv_opts *o, size_t i) {
    return i >= N_SPECS || (k_specs[i].uses & (int)o->kind);
}

int drv_opts_was_set(drv_opts *o, const char *name) {
    const slide_opt *t = slide_opts_find(o->table, name);
    return t && t->was_set;
}

void drv_opts_free(drv_opts *o) { slide_opts_free(o->table); }

/* Prints "--a, --b, ..." of the unused entries (given: only those set) after lead, wrapped at
 * 100 columns. Returns how many it named. */
static int list_unused(const drv_opts *o, FILE *f, const char *lead, int given) {
    int n = 0, col = 0;
    for (size_t i = 0; o->table[i].name; i++) {
        if (used(o, i) || (given && !o->table[i].was_set)) continue;
        const int w = (int)strlen(o->table[i].name) + 4;
        if (!n) {
            const char *nl = strrchr(lead, '\n');
            fputs(lead, f);
            col = (int)strlen(nl ? nl + 1 : lead);
        } else if (col + w + 1 > 100) { /* room for the comma a wrap leaves */
            fputs(",\n  ", f);
            col = 2;
        } else {
            col += fprintf(f, ", ");
        }
        col += fprintf(f, "--%s", o->table[i].name);
        n++;
    }
    if (n) fputc('\n', f);
    return n;
}

int drv_opts_cli(drv_opts *o, int argc, char **argv, const char *prog, const char *usage) {
    slide_err err;
    slide_err_clear(&err);
    int rc = slide_opts_parse(o->table, argc, argv, NULL, 0, NULL, &err);
    if (rc == SLIDE_OPTS_HELP) {
        slide_opt shown[DRV_OPTS_MAX];
        size_t n = 0;
        for (size_t i = 0; o->table[i].name; i++)
            if (used(o, i)) shown[n++] = o->table[i];
        memset(&shown[n], 0, sizeof shown[n]);
        slide_opts_print_help(stdout, usage, shown);
        list_unused(o, stdout, "\naccepted for the other drivers' config files, not used here "
                               "(noted on stderr):\n  ", 0);
    } else if (rc) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    } else if (o->csv_header && ((int)o->kind & DENSE)) { /* the drivers that have it */
        printf("%s\n", slide_train_csv_header());
    } else {
        return -1;
    }
    drv_opts_free(o);
    return rc && rc != SLIDE_OPTS_HELP ? 2 : 0;
}

void drv_opts_note_unused(const drv_opts *o, const char *prog) {
    char lead[160];
    snprintf(lead, sizeof lead, "[opts] %s ignores (other drivers' options): ", prog);
    list_unused(o, stderr, lead, 1);
}

int drv_active_default(drv_opts *o, int64_t l, double lab_mean) {
    if (o->full_output || l <= 0 || drv_opts_was_set(o, "min-active") ||
        drv_opts_was_set(o, "max-active") || drv_opts_was_set(o, "budget") || o->budget > 0)
        return 0;
    const double k = 4.0 * lab_mean;
    const int64_t floor_n = (int64_t)ceil(k > 64 ? k : 64);
    const int64_t by_frac = (int64_t)ceil(o->min_active * (double)l);
    const int64_t mn0 = floor_n < l ? floor_n : l;
    const int64_t mn = by_frac > mn0 ? by_frac : mn0;
    const int64_t mx0 = (int64_t)ceil(o->max_active * (double)l);
    const int64_t mx = mx0 > mn ? mx0 : mn;
    o->min_active_n = mn;
    o->max_active_n = mx;
    fprintf(stderr, "[active] default: min active max(%g x %lld labels, min(labels, max(64, 4 x "
            "%.2f labels per point))) = %lld, max active max(%g x labels, min) = %lld neurons "
            "(set --min-active/--max-active/--budget for fractions only)\n", o->min_active,
            (long long)l, lab_mean, (long long)mn, o->max_active, (long long)mx);
    return 1;
}

/* The fraction whose ceil(f x l) is n (what the layer computes from it). */
static double frac_of(int64_t n, int64_t l) { return ((double)n - 0.5) / (double)l; }

void drv_net_params(const drv_opts *o, int64_t d, int64_t l, int simd, const slide_numa *numa,
                    slide_net_params *np) {
    *np = slide_net_params_default();
    np->layer[0].n_out = o->hidden;
    np->layer[0].init_std = o->init_std;
    slide_layer_params *out = &np->layer[1];
    out->init_std = o->init_std;
    out->sampled = !o->full_output;
    out->hash.family = o->family;
    out->hash.K = o->K;
    out->hash.L = o->L;
    out->hash.range_bits = o->range_bits;
    out->hash.bin_size = o->bin_size;
    out->hash.rotate = o->hash_rotate;
    out->hash.sparsity = o->sparsity;
    out->hash.seed = o->seed * 7919 + 17;
    out->bucket_cap = o->bucket_cap;
    out->bucket_policy = o->policy;
    out->probes = o->probes;
    out->mips = o->mips;
    out->shared_fill = o->shared_fill;
    out->min_active_frac = o->min_active;
    out->max_active_frac = o->max_active;
    out->sampler = o->sampler;
    out->budget_frac = o->budget;
    out->unigram_power = o->unigram_power;
    if (o->min_active_n > 0 && o->max_active_n > 0 && l > 0) { /* drv_active_default's bounds */
        out->min_active_frac = o->min_active_n >= l ? 1.0 : frac_of(o->min_active_n, l);
        out->max_active_frac = o->max_active_n >= l ? 1.0 : frac_of(o->max_active_n, l);
    }
    if (out->min_active_frac > out->max_active_frac) out->min_active_frac = out->max_active_frac;
    slide_net_params_shape(np, d, l);
    np->lr = o->lr;
    np->batch = o->batch;
    np->threads = o->threads;
    np->seed = o->seed;
    np->simd = simd;
    np->hugepages = o->hugepages;
    np->bf16 = o->bf16;
    np->adam_bf16 = o->adam_bf16;
    np->bf16_only = o->bf16_only;
    np->row_sweep = o->train_order == 0 ? -1 : o->train_order == 1 ? 1 : 0;
    np->numa = *numa;
    np->rehash_every = o->rehash;
    np->rebuild_every = o->rebuild;
    np->rebuild_decay = o->rebuild_decay;
    np->input_sorted = o->input_update == 1;
}
