# Microbenchmarks: bench/micro/*.cc (C++17, Google Benchmark over the C library) -> slide-micro,
# and bench/micro/gbench2csv.c -> slide-gbench2csv (JSON report -> flat CSV, no Python needed).
#   make bench-micro          full set, writes $(OUT)/micro-<UTC>.json and .csv (OUT=results/micro)
#   make bench-micro-quick    reduced set (a few minutes at most): $(OUT)/micro-quick-<UTC>.*
#   make bench-micro MICRO_FILTER='hugepages_.*/mb:(512|2048)'   only the benchmarks matching a regex
#   make bench-micro MICRO_ARGS=--max-threads=4                 extra slide-micro / gbench flags
#   make bench-compare A=old.json B=new.json   the two reports compared by Google Benchmark's compare.py
# Without Google Benchmark (libbenchmark-dev) slide-micro is not built and the targets say so.

MICRO_CC_SRC   := $(wildcard bench/micro/*.cc)
MICRO_OBJ      := $(patsubst %.cc,$(BUILD)/obj/%.o,$(MICRO_CC_SRC))
MICRO_BIN      := $(BUILD)/bin/slide-micro
GBENCH2CSV     := $(BUILD)/bin/slide-gbench2csv
MICRO_CXXFLAGS := -std=c++17 $(OPT) -g -Wall -Wextra -Werror -Wno-unknown-pragmas $(DEFS) $(INC) \
                  -fopenmp $(SAN) $(FEATURE_DEFS)
MICRO_OUT_DIR   = $(or $(OUT),results/micro)

PROGS += $(GBENCH2CSV)
ifeq ($(HAVE_GBENCH),yes)
PROGS += $(MICRO_BIN)
endif
# Converter test (plus a tiny slide-micro run when it was built); runs with `make test`.
TESTS += $(BUILD)/tests/test_gbench2csv

$(BUILD)/obj/bench/micro/%.o: bench/micro/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(MICRO_CXXFLAGS) -MMD -MP -c $< -o $@

$(MICRO_BIN): $(MICRO_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $(MICRO_OBJ) $(LIB) -lbenchmark -lpthread $(LDLIBS) -o $@

$(GBENCH2CSV): $(BUILD)/obj/bench/micro/gbench2csv.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/test_gbench2csv: $(BUILD)/obj/bench/micro/test_gbench2csv.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# $(1): slide-micro flags; $(2): file name prefix.
define MICRO_RUN
	@if [ "$(HAVE_GBENCH)" != yes ]; then \
	  echo "[micro] Google Benchmark not found (apt-get install libbenchmark-dev): $@ skipped"; \
	  exit 0; fi; \
	out="$(MICRO_OUT_DIR)"; mkdir -p "$$out" || exit 1; \
	base="$$out/$(2)-$$(date -u +%Y%m%dT%H%M%SZ)"; \
	echo "[micro] load average before: $$(cat /proc/loadavg 2>/dev/null)"; \
	start=$$(date +%s); \
	$(MICRO_BIN) $(1) --benchmark_out="$$base.json" --benchmark_out_format=json \
	  $(if $(MICRO_FILTER),--benchmark_filter='$(MICRO_FILTER)') $(MICRO_ARGS) \
	  || { echo "[micro] slide-micro failed"; exit 1; }; \
	echo "[micro] load average after: $$(cat /proc/loadavg 2>/dev/null) ($$(( $$(date +%s) - start )) s)"; \
	$(GBENCH2CSV) "$$base.json" "$$base.csv" || exit 1; \
	echo "[micro] wrote $$base.json and $$base.csv"
endef

.PHONY: bench-micro bench-micro-quick bench-compare
# Two slide-micro JSON reports compared by Google Benchmark's compare.py (libbenchmark-tools).
bench-compare:
	@sh bench/micro/bench_compare.sh "$(A)" "$(B)" $(if $(COMPARE_ARGS),-- $(COMPARE_ARGS))

bench-micro: $(GBENCH2CSV) $(if $(filter yes,$(HAVE_GBENCH)),$(MICRO_BIN))
	$(call MICRO_RUN,--benchmark_min_time=0.5 --benchmark_repetitions=3,micro)

bench-micro-quick: $(GBENCH2CSV) $(if $(filter yes,$(HAVE_GBENCH)),$(MICRO_BIN))
	$(call MICRO_RUN,--quick --benchmark_min_time=0.1 --benchmark_repetitions=3,micro-quick)

-include $(MICRO_OBJ:.o=.d) $(BUILD)/obj/bench/micro/gbench2csv.d \
         $(BUILD)/obj/bench/micro/test_gbench2csv.d
