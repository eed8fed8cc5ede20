# Reliability: libFuzzer harnesses (core/fuzz), a ThreadSanitizer run of the threaded paths
# (core/tests/tsan_paths.c) and the CI entry points for both. Needs clang + libomp-dev (Debian).
#   make fuzz [FUZZ_SECONDS=30]   build in build/fuzz with clang, run every harness N seconds each
#   make fuzz-build               only build the harnesses
#   make fuzz-seeds               regenerate the binary seeds in core/fuzz/corpus (cache, checkpoint)
#   make tsan                     build build/tsan with clang -fsanitize=thread and run tsan_paths
#   make ci-fuzz / make ci-tsan   what CI runs (30 s per harness; the TSan run)

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR     := build/fuzz
FUZZ_NAMES   := data config cache checkpoint
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzzers/fuzz_%,$(FUZZ_NAMES))

TSAN_CC      ?= clang
TSAN_DIR     := build/tsan
TSAN_SAN     := -fsanitize=thread -fno-omit-frame-pointer
# Archer (LLVM's OMPT tool, shipped in libomp-dev) tells TSan about OpenMP's barriers, critical
# sections and reductions; without it the uninstrumented libomp gives false reports.
ARCHER_LIB   := $(wildcard $(shell $(TSAN_CC) -print-resource-dir 2>/dev/null)/../../libarcher.so)

.PHONY: fuzz fuzz-build fuzz-bins fuzz-seeds tsan tsan-bins ci-fuzz ci-tsan

# ---------------------------------------------------------------- fuzzing
# The harnesses link -fsanitize=fuzzer (libFuzzer's main); the library and the harness objects
# are compiled with $(SAN) = fuzzer-no-link + ASan + UBSan by the recursive make below.
$(BUILD)/fuzzers/fuzz_%: $(BUILD)/obj/core/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/fuzzers/gen_seeds: $(BUILD)/obj/core/fuzz/gen_seeds.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

fuzz-bins: $(FUZZ_BINS)

fuzz-build:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_DIR) OPT="-O1" SAN="$(FUZZ_SAN)" fuzz-bins

fuzz: fuzz-build
	@sh core/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Rewrites the committed binary seeds (valid files made by this library + broken variants).
fuzz-seeds:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_DIR) OPT="-O1" SAN="$(FUZZ_SAN)" $(FUZZ_DIR)/fuzzers/gen_seeds
	$(FUZZ_DIR)/fuzzers/gen_seeds core/fuzz/corpus

ci-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

# ---------------------------------------------------------------- ThreadSanitizer
# core/tests/tsan_paths.c is not a test_*.c file (the normal runner must not pick it up); the
# top Makefile's $(BUILD)/tests/% rule links it.
tsan-bins: $(BUILD)/tests/tsan_paths

tsan:
	@$(MAKE) --no-print-directory CC=$(TSAN_CC) BUILD=$(TSAN_DIR) OPT="-O1" SAN="$(TSAN_SAN)" tsan-bins
	@$(if $(ARCHER_LIB),echo "[tsan] OpenMP through Archer: $(ARCHER_LIB)",echo "[tsan] note: libarcher.so not found (install libomp-dev); OpenMP synchronisation is invisible to TSan and reports may be false")
	OMP_NUM_THREADS=2 OMP_TOOL_LIBRARIES="$(ARCHER_LIB)" ARCHER_OPTIONS="verbose=1" \
	  TSAN_OPTIONS="suppressions=core/tests/tsan.supp ignore_noninstrumented_modules=1 halt_on_error=1 exitcode=66 history_size=4" \
	  $(TSAN_DIR)/tests/tsan_paths

ci-tsan: tsan

-include $(wildcard $(BUILD)/obj/core/fuzz/*.d) $(wildcard $(BUILD)/obj/core/tests/tsan_paths.d)
