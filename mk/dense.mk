# Dense full-softmax baselines (bench/baseline): slide-dense (CPU, OpenBLAS), slide-dense-gpu
# (CUDA + cuBLAS), slide-bench-sgemm, slide-dense-cmp, core/tests/test_dense, `make test-gpu`,
# `make bench-baseline`. Without OpenBLAS the CPU parts are left out (with a note); without nvcc
# the GPU program is (the top Makefile already prints `[config] cuda: no`).

DENSE_DIR := bench/baseline
DENSE_COMMON := $(BUILD)/obj/$(DENSE_DIR)/dense_common.o
# Second BLAS (Debian libblis-dev), called through its own API (bli_sgemm) so that it links
# beside OpenBLAS, which defines the same cblas_* symbols; --blas blis picks it at run time.
HAVE_BLIS := $(call probe,-lblis -lm -fopenmp,$(H)include <blis.h>\nint main(void){return bli_arch_query_id() < 0;}\n)
ifeq ($(MAKELEVEL),0)
$(info [config] blis: $(HAVE_BLIS))
endif
DENSE_BLAS_OBJ := $(BUILD)/obj/$(DENSE_DIR)/blas.o $(BUILD)/obj/$(DENSE_DIR)/blas_openblas.o \
                  $(BUILD)/obj/$(DENSE_DIR)/peak.o
DENSE_BLAS_LIBS := -lopenblas
ifeq ($(HAVE_AVX2),yes)
DENSE_BLAS_OBJ += $(BUILD)/obj/$(DENSE_DIR)/peak_avx2.o
endif
ifeq ($(HAVE_AVX512),yes)
DENSE_BLAS_OBJ += $(BUILD)/obj/$(DENSE_DIR)/peak_avx512.o
endif
ifeq ($(HAVE_BLIS),yes)
DENSE_BLAS_OBJ += $(BUILD)/obj/$(DENSE_DIR)/blas_blis.o
DENSE_BLAS_LIBS += -lblis
$(BUILD)/obj/$(DENSE_DIR)/blas.o: CFLAGS += -DSLIDE_HAVE_BLIS=1
endif
DENSE_OBJ := $(BUILD)/obj/$(DENSE_DIR)/dense.o $(DENSE_COMMON) $(DENSE_BLAS_OBJ)

# dense.c: -fno-math-errno and -fno-trapping-math let -O3 vectorise sqrtf (Adam) and the clamped
# polynomial exp (softmax); nothing reads errno or floating-point exception flags.
$(BUILD)/obj/$(DENSE_DIR)/%.o: CFLAGS += -I$(DENSE_DIR) -fno-math-errno -fno-trapping-math
$(BUILD)/obj/core/tests/test_dense.o: CFLAGS += -I$(DENSE_DIR)

# Compares two weight dumps (--dump-after-step); needs no BLAS.
PROGS += $(BUILD)/bin/slide-dense-cmp
$(BUILD)/bin/slide-dense-cmp: $(BUILD)/obj/$(DENSE_DIR)/slide-dense-cmp.o $(DENSE_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIB) $(LDLIBS) -o $@

ifeq ($(HAVE_OPENBLAS),yes)
PROGS += $(BUILD)/bin/slide-dense $(BUILD)/bin/slide-bench-sgemm

$(BUILD)/bin/slide-dense: $(BUILD)/obj/$(DENSE_DIR)/slide-dense.o $(DENSE_OBJ) $(DRV_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(DRV_LIB) $(LIB) $(DENSE_BLAS_LIBS) $(LDLIBS) -o $@

$(BUILD)/bin/slide-bench-sgemm: $(BUILD)/obj/$(DENSE_DIR)/slide-bench-sgemm.o $(DENSE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIB) $(DENSE_BLAS_LIBS) $(LDLIBS) -o $@

# core/tests/test_dense.c is picked up by the top Makefile's wildcard; this explicit rule adds
# the model and OpenBLAS.
$(BUILD)/tests/test_dense: $(BUILD)/obj/core/tests/test_dense.o $(DENSE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIB) $(DENSE_BLAS_LIBS) $(LDLIBS) -o $@

# The BLAS layer: kernel choice, kernels vs a scalar reference, BLIS, FMA peak, peak_frac.
$(BUILD)/obj/core/tests/test_blas.o: CFLAGS += -I$(DENSE_DIR)
$(BUILD)/tests/test_blas: $(BUILD)/obj/core/tests/test_blas.o $(DENSE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIB) $(DENSE_BLAS_LIBS) $(LDLIBS) -o $@
else
TESTS := $(filter-out $(BUILD)/tests/test_dense $(BUILD)/tests/test_blas,$(TESTS))
ifeq ($(MAKELEVEL),0)
$(info [config] dense baseline (slide-dense, test_dense): off, needs OpenBLAS (apt-get install libopenblas-dev))
endif
endif

ifeq ($(HAVE_CUDA),yes)
PROGS += $(BUILD)/bin/slide-dense-gpu
# sm_80 (A100) and sm_90 (H100/H200) code where this nvcc knows them, plus PTX of the newest of
# the two for later GPUs (nvcc --list-gpu-code: no compile, so parsing stays fast).
DENSE_SMS := $(filter 80 90,$(patsubst sm_%,%,$(shell $(NVCC) --list-gpu-code 2>/dev/null)))
DENSE_SMS := $(if $(DENSE_SMS),$(DENSE_SMS),80)
NVCC_ARCH ?= $(foreach a,$(DENSE_SMS),-gencode arch=compute_$(a),code=sm_$(a)) \
             -gencode arch=compute_$(lastword $(DENSE_SMS)),code=compute_$(lastword $(DENSE_SMS))
# Warnings shown but not fatal: another CUDA release's headers must not break the build.
NVCC_FLAGS ?= -O3 -std=c++17 $(NVCC_ARCH) -Xcompiler -Wall,-Wextra

$(BUILD)/obj/$(DENSE_DIR)/slide-dense-gpu.o: $(DENSE_DIR)/slide-dense-gpu.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -D_GNU_SOURCE -Icore/include -I$(DENSE_DIR) -MD -MP -MF $(@:.o=.d) -c $< -o $@

# Linked by the C compiler (so libslide.a built by gcc or clang, with or without sanitizers,
# links as it does for every other program).
$(BUILD)/bin/slide-dense-gpu: $(BUILD)/obj/$(DENSE_DIR)/slide-dense-gpu.o $(DENSE_COMMON) $(DRV_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(DRV_LIB) $(LIB) -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcublas -lcudart \
	  -lstdc++ $(LDLIBS) -o $@
endif

.PHONY: test-gpu bench-baseline

# One training step of slide-dense and slide-dense-gpu from the same seed, weights compared.
ifeq ($(HAVE_CUDA)$(HAVE_OPENBLAS),yesyes)
test-gpu: $(BUILD)/bin/slide-dense $(BUILD)/bin/slide-dense-gpu $(BUILD)/bin/slide-dense-cmp \
          $(BUILD)/bin/slide-gen
	@BIN=$(BUILD)/bin sh $(DENSE_DIR)/test_gpu.sh
else
test-gpu:
	@echo "test-gpu: skipped: needs nvcc and OpenBLAS (cuda: $(HAVE_CUDA), openblas: $(HAVE_OPENBLAS))"
endif

# Raw sgemm GFLOP/s of the output-layer shapes vs what slide-dense achieves (BENCH_ARGS: see
# bench/baseline/bench_baseline.sh --help).
ifeq ($(HAVE_OPENBLAS),yes)
bench-baseline: $(BUILD)/bin/slide-bench-sgemm $(BUILD)/bin/slide-dense $(BUILD)/bin/slide-gen
	@BIN=$(BUILD)/bin sh $(DENSE_DIR)/bench_baseline.sh $(BENCH_ARGS)
else
bench-baseline:
	@echo "bench-baseline: skipped: needs OpenBLAS (apt-get install libopenblas-dev)"
endif

-include $(wildcard $(BUILD)/obj/$(DENSE_DIR)/*.d)
