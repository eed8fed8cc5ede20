/* slide-train's built-in defaults are the shipped default job, bench/e2e/configs/delicious.conf:
 * every key of that file must equal the default --help prints for it. */
#include "test_util.h"

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

int main(void) {
    const char *bin = getenv("SLIDE_BIN") ? getenv("SLIDE_BIN") : "build/bin";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/slide-train --help", bin);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "cannot run %s\n", cmd);
        return 1;
    }
    static char help[65536];
    size_t len = 1;
    help[0] = '\n';
    len += fread(help + 1, 1, sizeof help - 2, p);
    help[len] = '\0';
    CHECK(pclose(p) == 0);
    FILE *f = fopen("bench/e2e/configs/delicious.conf", "r");
    CHECK(f != NULL);
    if (!f) TEST_MAIN_END();
    char line[512];
    int keys = 0;
    while (fgets(line, sizeof line, f)) {
        char key[128], val[256], def[256];
        if (line[0] == '#' || sscanf(line, " %127[^= ] = %255s", key, val) != 2) continue;
        keys++;
        int found = help_default(help, key, def, sizeof def);
        CHECKF(found, "--%s missing from slide-train --help", key);
        if (!found) continue;
        char *e1, *e2;
        double a = strtod(val, &e1), b = strtod(def, &e2);
        int same = (*e1 == '\0' && *e2 == '\0') ? fabs(a - b) <= 1e-9 * (fabs(a) + 1) : !strcmp(val, def);
        CHECKF(same, "%s: delicious.conf says %s, slide-train defaults to %s", key, val, def);
    }
    fclose(f);
    CHECK(keys >= 20);
    TEST_MAIN_END();
}
