#!/usr/bin/env bash
# One command: check dependencies, build, prepare data (vendored Delicious + synthetic presets),
# train SLIDE and write everything into results/<run_id>/ (never overwriting an earlier run).
set -euo pipefail
cd "$(dirname "$0")"
# run from inside make (a test, a make target): the builds below are top-level ones
unset MAKELEVEL MAKEFLAGS MFLAGS

usage() {
  cat <<EOF
usage: ./run_all.sh [--quick|--full] [--only e2e|real|micro|plots] [--data DIR] [--threads N] [--run-id ID]
                    [--cache-profile] [--no-install]
  --quick      default: real Delicious (983 labels) + scaled synthetic presets, a few minutes on 2 cores
  --full       full-shape synthetic presets (amazon670k: 670,091 labels; needs ~3 GB and long runs)
  --only X     run only one stage
  --data DIR   real data sets: DIR/amazon670k/ and/or DIR/delicious200k/ with train.txt, test.txt;
               each trains with its paper config (bench/e2e/configs/<name>.conf) into real.csv
               (quick mode: 120 s of training each; --full: the config's epochs); --only real
               runs just that
  --threads N  training threads (default: nproc)
  --run-id ID  name of results/<ID>/ (default: UTC time); an existing run id is refused
  --no-install never install packages: each missing optional tool is skipped with one line
  --cache-profile  also the simulated cache profile (valgrind; on by default with --full; about
               20 minutes on 2 shared vCPUs): make profile-cache into results/<ID>/cacheprof/
EOF
}

NO_INSTALL=0; CACHE_PROFILE=0; MODE=quick; ONLY=""; DATA_DIR=""; THREADS=$(nproc 2>/dev/null || echo 2); RUN_ID=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --only) ONLY="${2:?--only needs e2e|micro|plots}"; shift ;;
    --data) DATA_DIR="${2:?--data needs a directory}"; shift ;;
    --threads) THREADS="${2:?--threads needs a number}"; shift ;;
    --run-id) RUN_ID="${2:?--run-id needs a name}"; shift ;;
    --cache-profile) CACHE_PROFILE=1 ;;
    --no-install) NO_INSTALL=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$ONLY" in ""|e2e|real|micro|plots) ;; *) echo "run_all.sh: --only must be e2e, real, micro or plots" >&2; exit 2 ;; esac
REAL_SETS=""
if [ -n "$DATA_DIR" ]; then
  [ -d "$DATA_DIR" ] || { echo "run_all.sh: --data $DATA_DIR: no such directory" >&2; exit 2; }
  for real in amazon670k delicious200k; do
    if [ -s "$DATA_DIR/$real/train.txt" ] && [ -s "$DATA_DIR/$real/test.txt" ]; then REAL_SETS="$REAL_SETS $real"; fi
  done
  [ -n "$REAL_SETS" ] || { echo "run_all.sh: --data $DATA_DIR: neither amazon670k/ nor delicious200k/ there holds train.txt and test.txt (datasets/README.md)" >&2; exit 2; }
elif [ "$ONLY" = real ]; then
  echo "run_all.sh: --only real needs --data DIR" >&2; exit 2
fi
case "$THREADS" in ''|*[!0-9]*) echo "run_all.sh: --threads must be a positive integer" >&2; exit 2 ;; esac

# ---- dependencies: deps/debian.txt is the one package list (.ci/run installs it whole)
install_missing() {
  command -v dpkg-query >/dev/null 2>&1 || { echo "[deps] not a Debian system: packages not checked (deps/debian.txt lists them)"; return 0; }
  local pkgs=() p
  for p in $(sed 's/#.*//' deps/debian.txt); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || pkgs+=("$p")
  done
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if [ "$NO_INSTALL" -eq 1 ]; then
    echo "[deps] not installed (--no-install): ${pkgs[*]}"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "run_all.sh: missing packages: ${pkgs[*]}" >&2
      echo "  run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
      echo "  (or ./run_all.sh --no-install to skip what needs them)" >&2
      exit 2
    fi
  fi
  echo "[deps] installing: ${pkgs[*]}"
  if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >"build/apt-install.log" 2>&1; then
    echo "run_all.sh: apt-get install failed (log: build/apt-install.log); fix it or use --no-install" >&2
    exit 2
  fi
}
mkdir -p build
install_missing
missing=()
for tool in make gzip sha256sum; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
command -v "${CC:-gcc}" >/dev/null 2>&1 || missing+=("gcc")
if [ ${#missing[@]} -gt 0 ]; then
  echo "run_all.sh: missing: ${missing[*]}" >&2
  echo "  fix: apt-get update && apt-get install -y build-essential gzip coreutils" >&2
  exit 2
fi
for opt in gnuplot; do
  command -v "$opt" >/dev/null 2>&1 || echo "[deps] optional '$opt' missing (figures will be skipped): apt-get install -y --no-install-recommends gnuplot-nox"
done

# ---- run directory
[ -n "$RUN_ID" ] || RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
OUT="results/$RUN_ID"
if [ -e "$OUT" ]; then echo "run_all.sh: $OUT exists; choose another --run-id (old runs are never overwritten)" >&2; exit 2; fi
mkdir -p "$OUT"
echo "[run] $OUT (mode $MODE, $THREADS threads)"

# ---- build
make -j"$THREADS" all 2>&1 | grep -E '^\[config\]|error:' || true
make -j"$THREADS" all >/dev/null
BIN=build/bin

# ---- context
{
  echo "run_id: $RUN_ID"
  echo "mode: $MODE"
  echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty)')"
  echo "host: $(hostname)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -srm)"
  echo "compiler: $(${CC:-gcc} --version | head -1)"
  echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo NA)"
  echo "hugepages_total_2mb: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo NA)"
  echo "mem_total: $(grep MemTotal /proc/meminfo | awk '{print $2, $3}')"
  if command -v lstopo-no-graphics >/dev/null 2>&1; then echo "numa:"; lstopo-no-graphics --no-io 2>/dev/null | sed 's/^/  /'; else echo "numa: lstopo not installed (apt-get install hwloc)"; fi
  # hardware counters: the kernel's PMU (a "cpu" event source) and what PAPI counts
  if [ -d /sys/bus/event_source/devices/cpu ] || [ -d /sys/bus/event_source/devices/cpu_core ]; then
    echo "pmu: visible (kernel event source present)"
  else
    echo "pmu: not visible (no hardware event source: hardware counter columns are NA)"
  fi
  if command -v papi_avail >/dev/null 2>&1; then
    echo "papi_hw_counters: $(papi_avail 2>/dev/null | sed -n 's/.*Number Hardware Counters *: *//p')"
  else
    echo "papi_hw_counters: NA (papi_avail not installed: apt-get install papi-tools)"
  fi
  # the dense baseline's BLAS kernel, after slide-bench-sgemm's check of it
  if [ -x "$BIN/slide-bench-sgemm" ]; then
    echo "blas_kernel: $("$BIN/slide-bench-sgemm" --check 2>/dev/null | sed -n 's/^check //p')"
    "$BIN/slide-bench-sgemm" --check --blas blis 2>/dev/null | sed -n 's/^check /blas_kernel_blis: /p'
  else
    echo "blas_kernel: NA (slide-bench-sgemm not built: needs libopenblas-dev)"
  fi
  make --no-print-directory config 2>/dev/null | grep '^\[config\]' || true
} > "$OUT/context.txt"

# ---- data
DATA=build/data
bash datasets/prepare_delicious.sh "$DATA/delicious" >/dev/null
if [ "$MODE" = quick ]; then
  AMZ_ARGS="--preset amazon670k-v1 --scale 0.01 --label-scale 1"     # all 670,091 labels, 4.9K points
  AMZLS_ARGS="--preset amazon670k --scale 0.05 --label-scale 0.005"  # 3,350 labels, learnable in seconds
  DEL_ARGS="--preset delicious200k --scale 0.01 --label-scale 0.05"
  EPOCHS_SYN=1
else
  AMZ_ARGS="--preset amazon670k-v1 --scale 0.1 --label-scale 1"
  AMZLS_ARGS="--preset amazon670k --scale 0.2 --label-scale 0.02"
  DEL_ARGS="--preset delicious200k --scale 0.1 --label-scale 1"
  EPOCHS_SYN=3
fi
gen() { # gen NAME ARGS...
  local name=$1; shift
  local dir="$DATA/$MODE/$name"
  if [ ! -s "$dir/test.txt" ]; then
    echo "[data] generating $name ($*)"
    "$BIN/slide-gen" "$@" --seed 1 --out "$dir" > "$OUT/gen-$name.log"
  fi
}
if [ -z "$ONLY" ] || [ "$ONLY" = e2e ]; then
  gen amazon670k $AMZ_ARGS
  gen amazon670k-ls $AMZLS_ARGS
  gen delicious200k $DEL_ARGS
fi
DEL="--train $DATA/delicious/train.txt --test $DATA/delicious/test.txt"
syn() { echo "--train $DATA/$MODE/$1/train.txt --test $DATA/$MODE/$1/test.txt"; }
NPROC=$(nproc 2>/dev/null || echo 2)
THREAD_LIST=$(seq 1 "$NPROC" | tr '\n' ' ')
export OMP_PROC_BIND="${OMP_PROC_BIND:-true}" OMP_PLACES="${OMP_PLACES:-cores}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
T() { "$BIN/slide-train" --run-id "$RUN_ID" --progress 0 "$@"; }
D() { if [ -x "$BIN/slide-dense" ]; then "$BIN/slide-dense" --run-id "$RUN_ID" --progress 0 "$@"; else echo "[e2e] slide-dense not built (no OpenBLAS): skipped"; fi; }

# ---- e2e
if [ -z "$ONLY" ] || [ "$ONLY" = e2e ]; then
  echo "[e2e] real Delicious: SLIDE, all-neurons network, dense CPU baseline ($THREADS threads)"
  T --config bench/e2e/configs/delicious.conf $DEL --threads "$THREADS" --csv "$OUT/e2e.csv" 2>"$OUT/e2e-delicious.log"
  T --config bench/e2e/configs/delicious.conf $DEL --threads "$THREADS" --full-output --csv "$OUT/e2e.csv" 2>>"$OUT/e2e-delicious.log"
  D --config bench/e2e/configs/delicious.conf $DEL --threads "$THREADS" --csv "$OUT/dense-cpu.csv" 2>"$OUT/dense-delicious.log"
  grep -h "full test set" "$OUT/e2e-delicious.log" | sed 's/^/  slide: /' || true
  echo "[e2e] synthetic amazon670k, label-scaled ($AMZLS_ARGS): sampled vs all neurons"
  for full in "" "--full-output"; do
    T --config bench/e2e/configs/amazon670k.conf $(syn amazon670k-ls) --dataset-name "synth-amazon670k-ls-$MODE" \
      --epochs $((EPOCHS_SYN * 3)) --eval-every 100 --lr 0.005 --batch 128 --hash simhash --K 6 --L 50 --range-bits 12 \
      --probes 0 --min-active 0.05 --max-active 0.2 --rehash 5 --rebuild 20 --threads "$THREADS" $full \
      --csv "$OUT/e2e.csv" 2>>"$OUT/e2e-synth.log"
  done
  echo "[e2e] synthetic amazon670k, all 670,091 labels (paper config)"
  T --config bench/e2e/configs/amazon670k.conf $(syn amazon670k) --dataset-name "synth-amazon670k-$MODE" \
    --epochs "$EPOCHS_SYN" --eval-every 10 --eval-n 300 --threads "$THREADS" --csv "$OUT/e2e.csv" 2>>"$OUT/e2e-synth.log"
  echo "[e2e] synthetic delicious200k (paper config)"
  T --config bench/e2e/configs/delicious200k.conf $(syn delicious200k) --dataset-name "synth-delicious200k-$MODE" \
    --epochs "$EPOCHS_SYN" --eval-every 10 --eval-n 300 --threads "$THREADS" --csv "$OUT/e2e.csv" 2>>"$OUT/e2e-synth.log"

  echo "[e2e] samplers at equal budget (lsh, uniform, unigram, full softmax; 3 seeds) -> $OUT/sampling/"
  sh bench/e2e/sampling.sh --"$MODE" --out "$OUT/sampling" --threads "$THREADS" --bin "$BIN" --data "$DATA" \
    || echo "[e2e] sampling.sh failed (see $OUT/sampling/sampling.log)"
  echo "[e2e] thread scaling on Delicious: threads $THREAD_LIST"
  for t in $THREAD_LIST; do
    T --config bench/e2e/configs/delicious.conf $DEL --threads "$t" --csv "$OUT/threads.csv" 2>>"$OUT/threads.log"
    D --config bench/e2e/configs/delicious.conf $DEL --threads "$t" --csv "$OUT/threads.csv" 2>>"$OUT/threads.log"
  done
  echo "[e2e] hash families on Delicious (10 s of training each): threads $THREAD_LIST"
  for t in $THREAD_LIST; do
    # same key width for every family: 6 bits = SimHash K=6 = WTA/DWTA K=2 (3 bits per function)
    for hk in simhash:6 wta:2 dwta:2; do
      h=${hk%%:*}; k=${hk##*:}
      T --config bench/e2e/configs/delicious.conf $DEL --threads "$t" --hash "$h" --K "$k" --time-budget 10 --epochs 100 --eval-every 100 \
        --csv "$OUT/hash.csv" 2>>"$OUT/hash.log"
    done
  done
  echo "[e2e] hugepages none / thp / explicit on synthetic amazon670k (all labels)"
  for hp in none thp explicit; do
    T --config bench/e2e/configs/amazon670k.conf $(syn amazon670k) --dataset-name "synth-amazon670k-$MODE" \
      --epochs 0.5 --eval-every 0 --threads "$THREADS" --hugepages "$hp" --csv "$OUT/hugepages.csv" 2>>"$OUT/hugepages.log"
  done
  # simulated dTLB (slide-train --tlb-sim: 4 warm-up + 8 profiled batches), both train orders:
  # figure table4
  echo "[e2e] simulated dTLB profile on synthetic amazon670k (all labels): row-sweep, per-sample"
  for order in row-sweep per-sample; do
    T --config bench/e2e/configs/amazon670k.conf $(syn amazon670k) --dataset-name "synth-amazon670k-$MODE" \
      --epochs 0.7 --eval-every 0 --eval-n 300 --threads "$THREADS" --train-order "$order" --tlb-sim 8 \
      --csv "$OUT/tlbsim.csv" 2>>"$OUT/tlbsim.log" || echo "[e2e] --tlb-sim $order failed (see $OUT/tlbsim.log)"
  done
  grep -h '^\[tlbsim\] [0-9]' "$OUT/tlbsim.log" | sed 's/^/  /' || true
fi

# ---- real data sets (--data DIR): each with its paper config, rows named after the set
if [ -n "$REAL_SETS" ] && { [ -z "$ONLY" ] || [ "$ONLY" = e2e ] || [ "$ONLY" = real ]; }; then
  if [ "$MODE" = quick ]; then budget="--time-budget 120"; else budget=""; fi
  for real in $REAL_SETS; do
    echo "[real] $real from $DATA_DIR/$real with bench/e2e/configs/$real.conf ${budget:-(its epochs)}"
    if T --config "bench/e2e/configs/$real.conf" --train "$DATA_DIR/$real/train.txt" \
         --test "$DATA_DIR/$real/test.txt" --dataset-name "$real" --threads "$THREADS" $budget \
         --csv "$OUT/real.csv" 2>>"$OUT/real-$real.log"; then
      grep -h "full test set" "$OUT/real-$real.log" | tail -n 1 | sed "s/^/  $real: /" || true
    else
      echo "[real] $real failed (see $OUT/real-$real.log)"
    fi
  done
fi

# ---- micro
if [ -z "$ONLY" ] || [ "$ONLY" = micro ]; then
  echo "[micro] Google Benchmark suite (quick) -> $OUT/micro-quick-*.csv"
  if [ "$MODE" = quick ]; then tgt=bench-micro-quick; else tgt=bench-micro; fi
  make --no-print-directory "$tgt" OUT="$OUT" > "$OUT/micro.log" 2>&1 || echo "[micro] $tgt failed (see $OUT/micro.log)"
  if [ "$MODE" = quick ]; then kq="--quick"; pq="--size-mb 50"; else kq=""; pq=""; fi
  for b in slide-bench-kern slide-bench-parse; do
    if [ "$b" = slide-bench-kern ]; then args=$kq; else args=$pq; fi
    if OMP_NUM_THREADS=1 "$BIN/$b" $args --csv "$OUT/$b.csv" > "$OUT/$b.log" 2>&1; then
      echo "[micro] $b -> $OUT/$b.csv"; else echo "[micro] $b failed (see $OUT/$b.log)"; fi
  done
fi

# ---- scale-out over MPI (slide-train-mpi, Amazon-670K shape, amazon3m; the scaleout model): --full only
if [ "$MODE" = full ] && { [ -z "$ONLY" ] || [ "$ONLY" = e2e ]; }; then
  if [ -x "$BIN/slide-train-mpi" ] && command -v mpirun >/dev/null 2>&1; then
    echo "[mpi] P=1 x 2 threads vs P=2 x 1 thread, amazon3m, scale-out model -> $OUT/mpi-bench/"
    sh bench/e2e/bench_mpi.sh --out "$OUT/mpi-bench" --bin "$BIN" >"$OUT/mpi-bench.log" 2>&1 \
      && grep -E 'ratio|amazon3m|matched' "$OUT/mpi-bench/summary.txt" | sed 's/^/  /' \
      || echo "[mpi] bench_mpi.sh failed (see $OUT/mpi-bench.log)"
  else
    echo "[mpi] skipped: no slide-train-mpi (Open MPI: apt-get install libopenmpi-dev openmpi-bin)"
  fi
fi

if [ "$MODE" = quick ] && { [ -z "$ONLY" ] || [ "$ONLY" = e2e ]; }; then
  # the scale-out figure is a model: quick mode feeds it the reference inputs (measured 2026-12-06)
  mkdir -p "$OUT/mpi-bench" && cp results/reference/mpi/model_inputs.csv "$OUT/mpi-bench/" &&
    sh bench/e2e/scaleout_model.sh "$OUT/mpi-bench" >"$OUT/mpi-bench.log" 2>&1 &&
    echo "[mpi] scale-out model from the reference inputs (results/reference/mpi/; --full measures them)" ||
    echo "[mpi] scaleout_model.sh failed (see $OUT/mpi-bench.log)"
fi

# ---- simulated cache profile (callgrind): --full or --cache-profile only
if { [ "$MODE" = full ] || [ "$CACHE_PROFILE" = 1 ]; } && { [ -z "$ONLY" ] || [ "$ONLY" = e2e ]; }; then
  echo "[profile] cache misses per phase under callgrind (Delicious, Amazon-670K shape) -> $OUT/cacheprof/"
  if make --no-print-directory profile-cache PROFILE_ARGS="--out $OUT/cacheprof" >"$OUT/cacheprof.log" 2>&1; then
    grep -v -E '^(gcc|cc|clang|ar) ' "$OUT/cacheprof.log" | grep -E '^\[profile-cache\] valgrind|^[a-z]+ +[0-9.NA]+ |^phase|batches' || true
  else
    echo "[profile] make profile-cache failed (see $OUT/cacheprof.log)"
  fi
fi

# ---- plots
if [ -z "$ONLY" ] || [ "$ONLY" = plots ]; then
  sh plots/plot_all.sh "$OUT" || echo "[plots] some figures failed"
fi
echo "[run] done: $OUT"
