# make install PREFIX=... [DESTDIR=...]: headers, libslide.a, the programs and a pkg-config file
# (slide.pc, with the link flags of this build: OpenMP, libm, and libnuma/PAPI when probed;
# its variable cc names the compiler whose OpenMP runtime the library needs).
# `make uninstall PREFIX=...` removes what install put there. mk/install.sh does the copying, so
# core/tests/test_install.c installs the same way.
PREFIX  ?= /usr/local
DESTDIR ?=

SLIDE_VERSION := 0.1.0
$(BUILD)/slide.pc: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=@PREFIX@' 'exec_prefix=$${prefix}' 'libdir=$${exec_prefix}/lib' \
	  'cc=$(CC)' \
	  'includedir=$${prefix}/include' '' 'Name: slide' \
	  'Description: slidebench SLIDE library (LSH-sampled sparse training), static' \
	  'Version: $(SLIDE_VERSION)+$(GIT_COMMIT)' \
	  'Cflags: -I$${includedir} -fopenmp $(strip $(SAN))' \
	  'Libs: -L$${libdir} -lslide $(strip $(LDFLAGS) $(LDLIBS))' > $@.tmp && mv $@.tmp $@

.PHONY: install uninstall
install: $(LIB) $(PROGS) $(BUILD)/slide.pc
	@sh mk/install.sh install "$(DESTDIR)$(PREFIX)" "$(BUILD)" "$(PREFIX)"

uninstall:
	@sh mk/install.sh uninstall "$(DESTDIR)$(PREFIX)" "$(BUILD)" "$(PREFIX)"

# the pkg-config file is part of every build (test_install reads it)
all test: $(BUILD)/slide.pc
