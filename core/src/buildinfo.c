/* Build facts (commit, compiler, flags) baked in at compile time; rebuilt on every make. */
#include "slide/common.h"

#ifndef SLIDE_GIT_COMMIT
#define SLIDE_GIT_COMMIT "unknown"
#endif
#ifndef SLIDE_CC
#define SLIDE_CC "unknown"
#endif
#ifndef SLIDE_CFLAGS
#define SLIDE_CFLAGS "unknown"
#endif

const char *slide_build_commit(void) { return SLIDE_GIT_COMMIT; }
const char *slide_build_compiler(void) { return SLIDE_CC; }
const char *slide_build_flags(void) { return SLIDE_CFLAGS; }
