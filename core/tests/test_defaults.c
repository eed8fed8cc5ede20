/* The drivers' defaults have one home (bench/common/drv_opts.c), and it is the shipped default
 * job, bench/e2e/configs/delicious.conf: every key of that file must equal the default each
 * driver's --help prints for it (or be listed as accepted and not used there); every option the
 * drivers share must print the same default in each; and what README.md and REPRODUCE.md state as
 * the drivers' defaults must hold, the output layer's default active-set rule included (the
 * default job leaves its bounds unset, so that the rule applies). */
#include "spawn_util.h"
#include "test_util.h"

#define MAX_KEYS 128

/* The default --help prints for option key: its entry runs from "\n  --key " (or
 * "\n  --[no-]key " for a flag) to the next option's line; wrapped continuation lines are
 * indented, so "[default: ...]" may sit on one of them. */
static int help_default(const char *help, const char *key, char *out, size_t n) {
    char pat[160];
    snprintf(pat, sizeof pat, "\n  --%s ", key);
    const char *p = strstr(help, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\n  --[no-]%s ", key);
        p = strstr(help, pat);
    }
    if (!p) return 0;
    const char *next = strstr(p + 1, "\n  --");
    const char *d = strstr(p, "[default: ");
    const char *e = d ? strchr(d, ']') : NULL;
    if (!d || !e || (next && d > next)) return 0;
    d += 10;
    snprintf(out, n, "%.*s", (int)(e - d), d);
    return 1;
}

/* 1 when the help lists key among the options accepted but not used. */
static int help_accepts(const char *help, const char *key) {
    const char *p = strstr(help, "\naccepted for the other drivers' config files");
    if (!p) return 0;
    char pat[160];
    snprintf(pat, sizeof pat, "--%s,", key);
    if (strstr(p, pat)) return 1;
    snprintf(pat, sizeof pat, "--%s\n", key);
    return strstr(p, pat) != NULL;
}

static int same_value(const char *a, const char *b) {
    char *e1, *e2;
    double x = strtod(a, &e1), y = strtod(b, &e2);
    if (*a && *b && *e1 == '\0' && *e2 == '\0') return fabs(x - y) <= 1e-9 * (fabs(x) + 1);
    return !strcmp(a, b);
}

/* --help of prog into help (with a leading newline); 0 when prog is not built. */
static int read_help(const char *bin, const char *prog, char *help, size_t cap) {
    char path[PATH_MAX + 64], cmd[PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/%s", bin, prog);
    if (access(path, X_OK) != 0) return 0;
    snprintf(cmd, sizeof cmd, "%s --help", path);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    size_t len = 1;
    help[0] = '\n';
    len += fread(help + 1, 1, cap - 2, p);
    help[len] = '\0';
    CHECKF(pclose(p) == 0, "%s --help failed", prog);
    return 1;
}

/* Every "\n  --name" entry of a help text with its default. */
static int help_entries(const char *help, char names[][64], char defs[][256], int max) {
    int n = 0;
    for (const char *p = strstr(help, "\n  --"); p && n < max; p = strstr(p + 1, "\n  --")) {
        const char *s = p + 5;
        if (!strncmp(s, "[no-]", 5)) s += 5;
        const size_t len = strcspn(s, " \n");
        if (len == 0 || len >= 64) continue;
        snprintf(names[n], 64, "%.*s", (int)len, s);
        if (help_default(help, names[n], defs[n], 256)) n++;
    }
    return n;
}

int main(void) {
    const char *bin = getenv("SLIDE_BIN") ? getenv("SLIDE_BIN") : "build/bin";
    const char *progs[3] = {"slide-train", "slide-dense", "slide-dense-gpu"};
    static char help[3][65536];
    int built[3];
    for (int i = 0; i < 3; i++) {
        built[i] = read_help(bin, progs[i], help[i], sizeof help[i]);
        if (!built[i]) printf("note: %s not built: its defaults not checked\n", progs[i]);
    }
    CHECKF(built[0], "slide-train not in %s", bin);
    if (!built[0]) TEST_MAIN_END();

    /* delicious.conf = each driver's defaults */
    FILE *f = fopen("bench/e2e/configs/delicious.conf", "r");
    CHECK(f != NULL);
    if (!f) TEST_MAIN_END();
    char line[512];
    int keys = 0;
    while (fgets(line, sizeof line, f)) {
        char key[128], val[256], def[256];
        if (line[0] == '#' || sscanf(line, " %127[^= ] = %255s", key, val) != 2) continue;
        keys++;
        CHECKF(strcmp(key, "min-active") && strcmp(key, "max-active") && strcmp(key, "budget"),
               "delicious.conf sets %s: the default job would not follow the default rule", key);
        for (int i = 0; i < 3; i++) {
            if (!built[i]) continue;
            if (help_default(help[i], key, def, sizeof def)) {
                CHECKF(same_value(val, def), "%s: delicious.conf says %s, %s defaults to %s", key,
                       val, progs[i], def);
            } else {
                CHECKF(i > 0 && help_accepts(help[i], key),
                       "--%s neither in %s --help nor listed as accepted", key, progs[i]);
            }
        }
    }
    fclose(f);
    CHECK(keys >= 20);

    /* an option the drivers share has one default */
    static char names[MAX_KEYS][64], defs[MAX_KEYS][256];
    const int n = help_entries(help[0], names, defs, MAX_KEYS);
    CHECK(n >= 40);
    int shared = 0;
    for (int i = 1; i < 3; i++) {
        if (!built[i]) continue;
        for (int k = 0; k < n; k++) {
            char def[256];
            if (!strcmp(names[k], "csv") || !help_default(help[i], names[k], def, sizeof def))
                continue;
            shared++;
            CHECKF(same_value(defs[k], def), "--%s: slide-train defaults to %s, %s to %s",
                   names[k], defs[k], progs[i], def);
        }
    }
    if (built[1]) CHECK(shared >= 18);

    /* what the documentation states */
    char def[256];
    const struct {
        const char *key, *value;
    } stated[] = {{"train-order", "auto"}, {"hidden", "128"}, {"batch", "128"},
                  {"lr", "0.001"}, {"init-std", "0.01"}, {"normalize", "1"}, {"hugepages", "thp"},
                  {"min-active", "0.05"}, {"max-active", "0.3"}, {"val-split", "0"},
                  {"patience", "0"}};
    for (size_t k = 0; k < sizeof stated / sizeof stated[0]; k++)
        for (int i = 0; i < 3; i++) {
            if (!built[i] || !help_default(help[i], stated[k].key, def, sizeof def)) continue;
            CHECKF(same_value(stated[k].value, def), "--%s: the docs state %s, %s defaults to %s",
                   stated[k].key, stated[k].value, progs[i], def);
        }
    size_t len = 0;
    char *readme = spawn_read("README.md", &len), *repro = spawn_read("REPRODUCE.md", &len);
    CHECK(readme && repro);
    if (readme) CHECK(strstr(readme, "`--train-order auto`, the default") != NULL);
    if (readme)
        CHECK(strstr(readme, "**min active = max(⌈0.05 x labels⌉, min(labels, max(64, ⌈4 x mean "
                             "labels per\npoint⌉)))**, max active = max(⌈0.3 x labels⌉, min "
                             "active)") != NULL);
    if (repro)
        CHECK(strstr(repro, "min active = max(⌈0.05 x labels⌉, min(labels, max(64, ⌈4 x mean "
                            "labels per point⌉)))") != NULL);
    if (repro)
        CHECK(strstr(repro, "default to slide-train's hyper-parameters: hidden 128,\nbatch 128, "
                            "lr 1e-3, init-std 0.01, L2-normalised inputs") != NULL);
    free(readme);
    free(repro);
    TEST_MAIN_END();
}
