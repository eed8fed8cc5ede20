# Simulated cache profile (bench/profile): `make profile-cache` builds a separate profile build
# (build/profile, -DSLIDE_PROFILE_BUILD: phase functions kept out of line) and runs
# bench/profile/profile_cache.sh on it. slide-train compiles callgrind's client requests
# (--profile-batches) when <valgrind/callgrind.h> is there (Debian package valgrind).

HAVE_VALGRIND := $(call probe,-c,$(H)include <valgrind/callgrind.h>\nint f(void){CALLGRIND_TOGGLE_COLLECT;return 0;}\n)
ifeq ($(MAKELEVEL),0)
$(info [config] valgrind: $(HAVE_VALGRIND))
endif
ifeq ($(HAVE_VALGRIND),yes)
$(BUILD)/obj/bench/e2e/slide-train.o: CFLAGS += -DSLIDE_HAVE_VALGRIND=1
endif

# PROFILE_DATA: delicious | amazon | both; PROFILE_ARGS: more profile_cache.sh options.
PROFILE_BUILD ?= build/profile
PROFILE_DATA  ?= both
PROFILE_ARGS  ?=

.PHONY: profile-cache
profile-cache:
	@command -v valgrind >/dev/null 2>&1 || { \
	  echo "[profile-cache] valgrind not found (apt-get install valgrind): no cache profile"; exit 0; }; \
	$(MAKE) --no-print-directory BUILD=$(PROFILE_BUILD) CFLAGS_EXTRA=-DSLIDE_PROFILE_BUILD \
	  $(PROFILE_BUILD)/bin/slide-train $(PROFILE_BUILD)/bin/slide-gen && \
	sh bench/profile/profile_cache.sh --bin $(PROFILE_BUILD)/bin --data $(PROFILE_DATA) $(PROFILE_ARGS)
