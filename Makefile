# slidebench build: libslide.a, programs in build/bin, one test program per module.
# GNU make only. Optional dependencies are probed; a missing one disables a feature, never the build.

.DEFAULT_GOAL := all

CC      ?= gcc
CXX     ?= g++
ifeq ($(origin CC),default)
CC := gcc
endif
# The C++ compiler follows CC's family (CC=clang: clang++), so the OpenMP runtime that libslide.a
# was compiled for is the one the C++ programs link.
ifeq ($(origin CXX),default)
CXX := $(if $(findstring clang,$(notdir $(CC))),$(subst clang,clang++,$(CC)),g++)
endif

BUILD   ?= build
SAN     ?=
OPT     ?= -O3
CSTD    := -std=c11
WARN    := -Wall -Wextra -Werror -Wno-unknown-pragmas
DEFS    := -D_GNU_SOURCE
INC     := -Icore/include -Icore/src
CFLAGS_BASE := $(CSTD) $(OPT) -g $(WARN) $(DEFS) $(INC) -fopenmp -fno-strict-aliasing $(SAN)
LDFLAGS_BASE := -fopenmp $(SAN)
LDLIBS  := -lm -lpthread

IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -qi clang && echo 1)
ifeq ($(IS_CLANG),1)
NOVEC := -fno-vectorize -fno-slp-vectorize
# Debian 12's Valgrind 3.19 (make profile-cache) cannot read clang 14's DWARF 5 debug info
CFLAGS_BASE += -gdwarf-4
else
NOVEC := -fno-tree-vectorize
endif

# ---------------------------------------------------------------- probes
# try-compile: $(call probe,<flags>,<source>)
H := \#
probe = $(shell printf '%b' '$(2)' | $(CC) -x c - -o /dev/null $(1) >/dev/null 2>&1 && echo yes || echo no)

HAVE_AVX2    := $(call probe,-mavx2 -mfma -c,$(H)include <immintrin.h>\nint f(void){__m256 a=_mm256_set1_ps(1);return (int)_mm256_cvtss_f32(_mm256_fmadd_ps(a,a,a));}\n)
HAVE_AVX512  := $(call probe,-mavx512f -mavx512bw -mavx512vl -mavx512dq -c,$(H)include <immintrin.h>\nint f(void){__m512 a=_mm512_set1_ps(1);return (int)_mm512_reduce_add_ps(a);}\n)
HAVE_BF16    := $(call probe,-mavx512f -mavx512bf16 -c,$(H)include <immintrin.h>\nint f(void){__m512 a=_mm512_set1_ps(1);__m256bh b=_mm512_cvtneps_pbh(a);(void)b;return 0;}\n)
HAVE_NUMA    := $(call probe,-lnuma,$(H)include <numa.h>\nint main(void){return numa_available();}\n)
HAVE_PAPI    := $(call probe,-lpapi,$(H)include <papi.h>\nint main(void){return PAPI_library_init(PAPI_VER_CURRENT);}\n)
HAVE_OPENBLAS:= $(call probe,-lopenblas,$(H)include <cblas.h>\nint main(void){float a=1;cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1,&a,1,&a,1,0,&a,1);return 0;}\n)
HAVE_GBENCH  := $(shell printf '$(H)include <benchmark/benchmark.h>\nstatic void B(benchmark::State&s){for(auto _:s){}}\nBENCHMARK(B);\nBENCHMARK_MAIN();\n' | $(CXX) -x c++ - -o /dev/null -lbenchmark -lpthread >/dev/null 2>&1 && echo yes || echo no)
NVCC         ?= $(shell command -v nvcc 2>/dev/null || (test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc))
# nvcc may be a wrapper script (e.g. /usr/local/bin/nvcc exec'ing the real one), so the CUDA
# library directory is searched for, not derived from nvcc's path, and a cuBLAS link is tried.
CUDA_HOME    ?= $(shell $(NVCC) --version >/dev/null 2>&1 && for d in /usr/local/cuda $(dir $(realpath $(NVCC))).. $(dir $(NVCC)).. /usr; do test -e $$d/include/cublas_v2.h && { cd $$d && pwd -P; break; }; done)
CUDA_LIBDIR  ?= $(firstword $(foreach d,lib64 lib targets/x86_64-linux/lib lib/x86_64-linux-gnu,$(if $(wildcard $(CUDA_HOME)/$(d)/libcublas.so),$(CUDA_HOME)/$(d))))
HAVE_CUDA    := $(if $(and $(NVCC),$(CUDA_LIBDIR)),$(call probe,-I$(CUDA_HOME)/include -L$(CUDA_LIBDIR) -lcublas -lcudart,$(H)include <cublas_v2.h>\nint main(void){cublasHandle_t h;return (int)cublasCreate(&h);}\n),no)
HAVE_GNUPLOT := $(shell command -v gnuplot >/dev/null 2>&1 && echo yes || echo no)

ifeq ($(MAKELEVEL),0)
$(info [config] compiler: $(CC) ($(shell $(CC) -dumpversion)))
$(info [config] avx2: $(HAVE_AVX2))
$(info [config] avx512: $(HAVE_AVX512))
$(info [config] avx512bf16: $(HAVE_BF16))
$(info [config] libnuma: $(HAVE_NUMA))
$(info [config] papi: $(HAVE_PAPI))
$(info [config] openblas: $(HAVE_OPENBLAS))
$(info [config] gbenchmark: $(HAVE_GBENCH))
$(info [config] cuda: $(HAVE_CUDA)$(if $(NVCC),$(if $(filter no,$(HAVE_CUDA)), (nvcc $(NVCC) found, but no linkable cuBLAS/cudart under '$(CUDA_HOME)')), (no nvcc)))
$(info [config] gnuplot: $(HAVE_GNUPLOT))
endif

FEATURE_DEFS :=
ifeq ($(HAVE_AVX2),yes)
FEATURE_DEFS += -DSLIDE_HAVE_AVX2=1
endif
ifeq ($(HAVE_AVX512),yes)
FEATURE_DEFS += -DSLIDE_HAVE_AVX512=1
endif
ifeq ($(HAVE_BF16),yes)
FEATURE_DEFS += -DSLIDE_HAVE_BF16=1
endif
ifeq ($(HAVE_NUMA),yes)
FEATURE_DEFS += -DSLIDE_HAVE_NUMA=1
LDLIBS += -lnuma
endif
ifeq ($(HAVE_PAPI),yes)
FEATURE_DEFS += -DSLIDE_HAVE_PAPI=1
LDLIBS += -lpapi
endif

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
BUILD_INFO := -DSLIDE_GIT_COMMIT='"$(GIT_COMMIT)"' -DSLIDE_CC='"$(notdir $(CC)) $(shell $(CC) -dumpversion)"' \
              -DSLIDE_CFLAGS='"$(OPT) $(strip $(SAN))"'

CFLAGS  := $(CFLAGS_BASE) $(FEATURE_DEFS) $(CFLAGS_EXTRA)
LDFLAGS := $(LDFLAGS_BASE) $(LDFLAGS_EXTRA)

# ---------------------------------------------------------------- sources
LIB_SRC      := $(wildcard core/src/*.c)
KERN_SCALAR  := $(wildcard core/src/kern/*_scalar.c)
KERN_AVX2    := $(if $(filter yes,$(HAVE_AVX2)),$(wildcard core/src/kern/*_avx2.c))
KERN_AVX512  := $(if $(filter yes,$(HAVE_AVX512)),$(wildcard core/src/kern/*_avx512.c))
KERN_OTHER   := $(filter-out %_scalar.c %_avx2.c %_avx512.c,$(wildcard core/src/kern/*.c))
ALL_LIB_SRC  := $(LIB_SRC) $(KERN_SCALAR) $(KERN_AVX2) $(KERN_AVX512) $(KERN_OTHER)
LIB_OBJ      := $(patsubst %.c,$(BUILD)/obj/%.o,$(ALL_LIB_SRC))
LIB          := $(BUILD)/lib/libslide.a

# What the training drivers share (bench/common: options, run loop); linked into every program,
# which takes only what it calls.
DRV_SRC      := $(wildcard bench/common/*.c)
DRV_LIB      := $(BUILD)/lib/libslidedrv.a

# Every .c file in these folders is one program named after the file.
PROG_DIRS    := core/tools datasets bench/e2e bench/tools
PROG_SRC     := $(foreach d,$(PROG_DIRS),$(wildcard $(d)/*.c))
PROGS        := $(patsubst %.c,$(BUILD)/bin/%,$(notdir $(PROG_SRC)))

TEST_SRC     := $(wildcard core/tests/test_*.c)
TESTS        := $(patsubst core/tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

# Feature fragments (benchmarks, baselines, fuzzing, plots) live in mk/*.mk. They may append to
# PROGS and TESTS and add their own targets; they are read before the rules below.
-include $(sort $(wildcard mk/*.mk))

.SECONDARY:
.PHONY: all lib progs tests test asan clean config help
all: lib progs tests

help:
	@echo "targets: all (default), test, asan, clean, config"
	@echo "  make test            build and run every test (CC=clang works too)"
	@echo "  make asan            the same tests under AddressSanitizer + UBSan (build/asan)"
	@echo "  ./run_all.sh         set up and run the main job on synthetic + Delicious data"

config:
	@true

lib: $(LIB)
progs: $(PROGS)
tests: $(TESTS)

$(BUILD)/obj/%_scalar.o: %_scalar.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(NOVEC) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -mavx2 -mfma -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512dq $(if $(filter yes,$(HAVE_BF16)),-mavx512bf16) -mprefer-vector-width=512 -MMD -MP -c $< -o $@

$(BUILD)/obj/core/src/buildinfo.o: core/src/buildinfo.c FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BUILD_INFO) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(DRV_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(DRV_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

define PROG_RULE
$(BUILD)/bin/$(basename $(notdir $(1))): $(BUILD)/obj/$(basename $(1)).o $(DRV_LIB) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) $$< $(DRV_LIB) $(LIB) $$(LDLIBS) -o $$@
endef
$(foreach s,$(PROG_SRC),$(eval $(call PROG_RULE,$(s))))

$(BUILD)/tests/%: $(BUILD)/obj/core/tests/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# Tests need the programs too (some run them as subprocesses).
test: $(TESTS) $(PROGS)
	@BIN=$(BUILD)/bin sh core/tests/run_tests.sh $(TESTS)

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1" \
	  SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer" test

clean:
	rm -rf build

.PHONY: FORCE
FORCE:

-include $(LIB_OBJ:.o=.d) $(patsubst %.c,$(BUILD)/obj/%.d,$(PROG_SRC) $(TEST_SRC) $(DRV_SRC))
