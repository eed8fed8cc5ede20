/* make install: headers, libslide.a, slide.pc and the programs under a prefix (mk/install.sh,
 * as the make target runs it); a small program builds against the installed copy with
 * `pkg-config --cflags --libs slide` and runs; uninstall removes it; bad prefixes are refused. */
#include "spawn_util.h"
#include "test_util.h"


static int sh(const char *cmd, const char *log) {
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    return spawn_run(argv, log, 300);
}

int main(void) {
    char bin[PATH_MAX + 64], build[PATH_MAX + 64];
    if (!spawn_find_prog("slide-gen", bin, sizeof bin)) {
        printf("note: programs not in $SLIDE_BIN: install test skipped\n");
        TEST_MAIN_END();
    }
    snprintf(build, sizeof build, "%s", bin); /* .../build[/asan]/bin/slide-gen */
    for (int up = 0; up < 2; up++) {
        char *sl = strrchr(build, '/');
        if (sl) *sl = '\0';
    }
    char pc[PATH_MAX + 96];
    snprintf(pc, sizeof pc, "%s/slide.pc", build);
    CHECKF(spawn_exists(pc), "%s missing (made by every build)", pc);
    if (system("command -v pkg-config >/dev/null 2>&1") != 0) {
        printf("note: pkg-config missing (apt-get install pkg-config): install test skipped\n");
        TEST_MAIN_END();
    }
    char dir[] = "/tmp/slide-test-install-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char log[128], cmd[3 * PATH_MAX];
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(cmd, sizeof cmd, "sh mk/install.sh install '%s/prefix' '%s'", dir, build);
    CHECKF(sh(cmd, log) == 0, "install failed (log %s)", log);
    const char *files[] = {"include/slide/network.h", "include/slide/common.h", "lib/libslide.a",
                           "lib/pkgconfig/slide.pc", "bin/slide-train", "bin/slide-gen"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/prefix/%s", dir, files[i]);
        CHECKF(spawn_exists(p), "%s not installed", p);
    }
    /* the example, built only from the installed copy, with the library's own compiler */
    snprintf(cmd, sizeof cmd,
             "export PKG_CONFIG_PATH='%s/prefix/lib/pkgconfig'; cd '%s' && "
             "$(pkg-config --variable=cc slide) '%s/examples/train_tiny.c' "
             "$(pkg-config --cflags --libs slide) -o train_tiny && ./train_tiny",
             dir, dir, getcwd((char[PATH_MAX]){0}, PATH_MAX));
    const int code = sh(cmd, log);
    char *out = spawn_read(log, NULL);
    CHECKF(code == 0 && out && strstr(out, "P@1 "), "example: exit %d: %s", code, out ? out : "");
    free(out);
    /* it must not have used the source tree's headers */
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s/prefix/lib/pkgconfig' pkg-config --cflags slide "
             "| grep -q -- '-I%s/prefix/include'", dir, dir);
    CHECK(sh(cmd, NULL) == 0);
    snprintf(cmd, sizeof cmd, "sh mk/install.sh uninstall '%s/prefix' '%s'", dir, build);
    CHECK(sh(cmd, log) == 0);
    char p[256];
    snprintf(p, sizeof p, "%s/prefix/lib/libslide.a", dir);
    CHECK(!spawn_exists(p));
    snprintf(p, sizeof p, "%s/prefix/include/slide", dir);
    CHECK(!spawn_exists(p));
    /* a relative prefix is refused with one line */
    snprintf(cmd, sizeof cmd, "sh mk/install.sh install relative/prefix '%s'", build);
    CHECK(sh(cmd, log) == 2);
    out = spawn_read(log, NULL);
    CHECKF(out && strstr(out, "absolute path"), "relative prefix: %s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    TEST_MAIN_END();
}
