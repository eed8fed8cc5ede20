/* Option parsing: command line and config files from one table, precedence (command line over
 * file), strict numbers and ranges, choices, flags, and errors naming file:line. */
#include "slide/opts.h"
#include "spawn_util.h"
#include "test_util.h"

typedef struct {
    int k, flag, choice;
    int64_t big;
    uint64_t seed;
    double lr;
    float f;
    const char *name;
} vals;

static void table(slide_opt *o, vals *v) {
    slide_opt t[] = {
        {"K", SLIDE_OPT_INT, &v->k, 1, 32, NULL, "k", 0, NULL},
        {"flag", SLIDE_OPT_FLAG, &v->flag, 0, 1, NULL, "f", 0, NULL},
        {"hash", SLIDE_OPT_CHOICE, &v->choice, 1, 0, "simhash|wta|dwta", "h", 0, NULL},
        {"big", SLIDE_OPT_I64, &v->big, 0, 1e12, NULL, "b", 0, NULL},
        {"seed", SLIDE_OPT_U64, &v->seed, 1, 0, NULL, "s", 0, NULL},
        {"lr", SLIDE_OPT_DOUBLE, &v->lr, 1e-9, 1, NULL, "lr", 0, NULL},
        {"frac", SLIDE_OPT_FLOAT, &v->f, 0, 1, NULL, "fr", 0, NULL},
        {"name", SLIDE_OPT_STR, &v->name, 1, 0, NULL, "n", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    memcpy(o, t, sizeof t);
}

static int run(vals *v, int argc, char **argv, slide_err *err) {
    slide_opt o[9];
    memset(v, 0, sizeof *v);
    v->name = "default";
    table(o, v);
    int rc = slide_opts_parse(o, argc, argv, NULL, 0, NULL, err);
    /* Strings from files must survive until slide_opts_free: copy for the checks. */
    static char keep[256];
    snprintf(keep, sizeof keep, "%s", v->name ? v->name : "");
    v->name = keep;
    slide_opts_free(o);
    return rc;
}

/* Boolean options: --x, --no-x, --x=0|1, --x 0|1; --no-x=1 is an error. */
static void test_bool_forms(void) {
    vals v;
    slide_err err;
    char *b1[] = {"prog", "--flag", "--no-flag", NULL};
    CHECK(run(&v, 3, b1, &err) == 0 && v.flag == 0); /* the last one wins */
    char *b2[] = {"prog", "--no-flag", "--flag=1", NULL};
    CHECK(run(&v, 3, b2, &err) == 0 && v.flag == 1);
    char *b3[] = {"prog", "--flag", "0", "--K", "3", NULL};
    CHECK(run(&v, 5, b3, &err) == 0 && v.flag == 0 && v.k == 3);
    char *b4[] = {"prog", "--flag", "1", NULL};
    CHECK(run(&v, 3, b4, &err) == 0 && v.flag == 1);
    char *b5[] = {"prog", "--flag", "--K", "2", NULL}; /* a flag does not eat a non-0/1 word */
    CHECK(run(&v, 4, b5, &err) == 0 && v.flag == 1 && v.k == 2);
    char *b6[] = {"prog", "--no-flag=1", NULL};
    CHECK(run(&v, 2, b6, &err) == SLIDE_EINVAL && strstr(err.msg, "--no-flag"));
    char *b7[] = {"prog", "--no-K", NULL}; /* only flags have a --no- form */
    CHECK(run(&v, 2, b7, &err) == SLIDE_EINVAL && strstr(err.msg, "unknown option"));
    char *b8[] = {"prog", "--flag", "2", NULL}; /* 2 is not a flag value: a stray argument */
    CHECK(run(&v, 3, b8, &err) == SLIDE_EINVAL);
}

/* Longest line of a text. */
static int widest(const char *t) {
    int w = 0, c = 0;
    for (; *t; t++) {
        if (*t == '\n') c = 0;
        else if (++c > w) w = c;
    }
    return w;
}

/* --help wraps at 100 columns, keeps every word, and every program's --help fits. */
static void test_help_width(void) {
    vals v;
    memset(&v, 0, sizeof v);
    slide_opt o[9];
    table(o, &v);
    static char longhelp[600];
    for (int i = 0; i < 60; i++) memcpy(longhelp + 9 * i, "wordword ", 9);
    longhelp[539] = '\0';
    o[0].help = longhelp;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    slide_opts_print_help(f, "usage: prog [options]\nA usage line that is long enough to need a "
                          "wrap because it goes on and on and on past the hundredth column of "
                          "the terminal.", o);
    fclose(f);
    CHECKF(widest(buf) <= 100, "help is %d columns wide", widest(buf));
    int words = 0;
    for (const char *p = buf; (p = strstr(p, "wordword")); p++) words++;
    CHECKF(words == 60, "%d of 60 words kept", words);
    CHECK(strstr(buf, "--[no-]flag") && strstr(buf, "hundredth"));
    free(buf);
    const char *progs[] = {"slide-train", "slide-dense", "slide-dense-gpu", "slide-bench-sgemm",
                           "slide-data", "slide-gen", "slide-bench-kern", "slide-bench-parse",
                           "slide-dense-cmp", "slide-gbench2csv"};
    char log[512];
    snprintf(log, sizeof log, "%s/help.log", test_tmpdir());
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        char prog[PATH_MAX + 64];
        if (!spawn_find_prog(progs[i], prog, sizeof prog)) continue;
        unlink(log);
        char *argv[] = {prog, "--help", NULL};
        const int code = spawn_run(argv, log, 30);
        char *t = spawn_read(log, NULL);
        CHECKF(code == 0 && t && widest(t) <= 100, "%s --help: exit %d, %d columns", progs[i],
               code, t ? widest(t) : -1);
        free(t);
    }
}

int main(void) {
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/a.conf", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.conf", test_tmpdir());
    FILE *f = fopen(path, "w");
    fprintf(f, "# comment\n\nK = 9   # trailing comment\nhash = dwta\nlr=0.5\nname = from file\nflag = true\nseed = 18446744073709551615\n");
    fclose(f);
    vals v;
    slide_err err;
    char *a1[] = {"prog", "--config", path, "--K", "4", "--frac=0.25", NULL};
    CHECK(run(&v, 6, a1, &err) == 0);
    CHECK(v.k == 4);            /* command line overrides the file */
    CHECK(v.choice == 2);       /* dwta */
    CHECK(v.lr == 0.5 && v.flag == 1 && v.f == 0.25f);
    CHECK(!strcmp(v.name, "from file"));
    CHECK(v.seed == UINT64_MAX);
    char *a2[] = {"prog", "--flag", "--big", "123456789012", NULL};
    CHECK(run(&v, 4, a2, &err) == 0 && v.flag == 1 && v.big == 123456789012LL);
    char *help[] = {"prog", "--K", "3", "--help", NULL};
    CHECK(run(&v, 4, help, &err) == SLIDE_OPTS_HELP);

    /* Command-line errors name the option. */
    char *e1[] = {"prog", "--K", "33", NULL};
    CHECK(run(&v, 3, e1, &err) == SLIDE_EINVAL && strstr(err.msg, "--K"));
    char *e2[] = {"prog", "--K", "4x", NULL};
    CHECK(run(&v, 3, e2, &err) == SLIDE_EINVAL && strstr(err.msg, "bad value"));
    char *e3[] = {"prog", "--nope", "1", NULL};
    CHECK(run(&v, 3, e3, &err) == SLIDE_EINVAL && strstr(err.msg, "unknown option"));
    char *e4[] = {"prog", "--hash", "md5", NULL};
    CHECK(run(&v, 3, e4, &err) == SLIDE_EINVAL && strstr(err.msg, "simhash|wta|dwta"));
    char *e5[] = {"prog", "--K", NULL};
    CHECK(run(&v, 2, e5, &err) == SLIDE_EINVAL && strstr(err.msg, "needs a value"));
    char *e6[] = {"prog", "stray", NULL};
    CHECK(run(&v, 2, e6, &err) == SLIDE_EINVAL);
    char *e7[] = {"prog", "--lr", "nan", NULL};
    CHECK(run(&v, 3, e7, &err) == SLIDE_EINVAL);
    char *e8[] = {"prog", "--seed", "-1", NULL};
    CHECK(run(&v, 3, e8, &err) == SLIDE_EINVAL);
    char *e9[] = {"prog", "--flag=maybe", NULL};
    CHECK(run(&v, 2, e9, &err) == SLIDE_EINVAL);
    char *e10[] = {"prog", "--K", "", NULL};
    CHECK(run(&v, 3, e10, &err) == SLIDE_EINVAL);

    /* File errors name file:line. */
    const char *cases[][2] = {{"K = 4\nunknown = 3\n", ":2:"},
                              {"K = 4\n\nK 5\n", ":3:"},
                              {"# x\nlr = 7\n", ":2:"},
                              {"hash = sha\n", ":1:"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f = fopen(bad, "w");
        fputs(cases[i][0], f);
        fclose(f);
        char *b[] = {"prog", "--config", bad, NULL};
        int rc = run(&v, 3, b, &err);
        CHECKF(rc != 0 && strstr(err.msg, bad) && strstr(err.msg, cases[i][1]),
               "case %zu: rc %d msg '%s'", i, rc, err.msg);
    }
    char *m[] = {"prog", "--config", "/nonexistent/x.conf", NULL};
    CHECK(run(&v, 3, m, &err) == SLIDE_EIO);
    char *m2[] = {"prog", "--config", NULL};
    CHECK(run(&v, 2, m2, &err) == SLIDE_EINVAL);
    test_bool_forms();
    test_help_width();
    TEST_MAIN_END();
}
