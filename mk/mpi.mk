# MPI (Open MPI from Debian: libopenmpi-dev openmpi-bin): slide-train-mpi, the label-sharded
# driver (bench/mpi), and `make test-mpi`. Without MPI everything else builds as before.
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null || mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null || mpicc --showme:link 2>/dev/null)
HAVE_MPI   := $(if $(MPI_LIBS),$(call probe,$(MPI_CFLAGS) $(MPI_LIBS),$(H)include <mpi.h>\nint main(int c,char**v){MPI_Init(&c,&v);return MPI_Finalize();}\n),no)
MPIRUN     ?= mpirun
ifeq ($(MAKELEVEL),0)
$(info [config] mpi: $(HAVE_MPI)$(if $(filter no,$(HAVE_MPI)), (slide-train-mpi and test-mpi off: apt-get install libopenmpi-dev openmpi-bin)))
endif

.PHONY: test-mpi
ifeq ($(HAVE_MPI),yes)
PROGS += $(BUILD)/bin/slide-train-mpi

$(BUILD)/obj/bench/mpi/%.o: bench/mpi/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -MMD -MP -c $< -o $@

MPI_OBJ := $(BUILD)/obj/bench/mpi/slide-train-mpi.o $(BUILD)/obj/bench/mpi/mpi_ckpt.o
$(BUILD)/bin/slide-train-mpi: $(MPI_OBJ) $(DRV_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(MPI_OBJ) $(DRV_LIB) $(LIB) $(LDLIBS) $(MPI_LIBS) -o $@

-include $(MPI_OBJ:.o=.d)

# Correctness over 1, 2 and 3 ranks on loopback (core/tests/test_mpi.sh); at most 3 minutes.
test-mpi: $(BUILD)/bin/slide-train-mpi $(BUILD)/bin/slide-train
	@BIN=$(BUILD)/bin MPIRUN=$(MPIRUN) sh core/tests/test_mpi.sh
else
test-mpi:
	@echo "[test-mpi] skipped: no MPI (apt-get install libopenmpi-dev openmpi-bin)"
endif

# The same under AddressSanitizer + UBSan (build/asan; Open MPI's own allocations are not freed
# at exit, so leak detection is off).
.PHONY: test-mpi-asan
ifeq ($(HAVE_MPI),yes)
test-mpi-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1" \
	  SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer" \
	  build/asan/bin/slide-train-mpi build/asan/bin/slide-train build/asan/bin/slide-wdiff
	@ASAN_OPTIONS=detect_leaks=0 BIN=build/asan/bin MPIRUN=$(MPIRUN) sh core/tests/test_mpi.sh
else
test-mpi-asan:
	@echo "[test-mpi-asan] skipped: no MPI (apt-get install libopenmpi-dev openmpi-bin)"
endif
