/* Option parsing: command line and config files from one table, precedence (command line over
 * file), strict numbers and ranges, choices, flags, and errors naming file:line. */
#include "slide/opts.h"
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
    TEST_MAIN_END();
}
