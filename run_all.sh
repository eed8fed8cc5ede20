#!/usr/bin/env bash
# One command: check dependencies, build, prepare data (vendored Delicious + synthetic presets),
# train SLIDE and write everything into results/<run_id>/ (never overwriting an earlier run).
# Parts that later work adds (microbenchmarks, baselines, figures) print "not yet".
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<EOF
usage: ./run_all.sh [--quick|--full] [--only e2e|micro|plots] [--data DIR] [--threads N] [--run-id ID]
  --quick      default: real Delicious (983 labels) + scaled synthetic presets, a few minutes on 2 cores
  --full       full-shape synthetic presets (amazon670k: 670,091 labels; needs ~3 GB and long runs)
  --only X     run only one stage
  --data DIR   directory holding real data sets (DIR/<name>/train.txt, test.txt)
  --threads N  training threads (default: nproc)
  --run-id ID  name of results/<ID>/ (default: UTC time); an existing run id is refused
EOF
}

MODE=quick; ONLY=""; DATA_DIR=""; THREADS=$(nproc 2>/dev/null || echo 2); RUN_ID=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --only) ONLY="${2:?--only needs e2e|micro|plots}"; shift ;;
    --data) DATA_DIR="${2:?--data needs a directory}"; shift ;;
    --threads) THREADS="${2:?--threads needs a number}"; shift ;;
    --run-id) RUN_ID="${2:?--run-id needs a name}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$ONLY" in ""|e2e|micro|plots) ;; *) echo "run_all.sh: --only must be e2e, micro or plots" >&2; exit 2 ;; esac
case "$THREADS" in ''|*[!0-9]*) echo "run_all.sh: --threads must be a positive integer" >&2; exit 2 ;; esac

# ---- dependencies
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
make -j"$THREADS" all 2>&1 | grep -E '^\[config\]|error' || true
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
  make --no-print-directory config 2>/dev/null | grep '^\[config\]'
} > "$OUT/context.txt"

# ---- data
DATA=build/data
bash datasets/prepare_delicious.sh "$DATA/delicious"
if [ "$MODE" = quick ]; then
  SYN_AMZ="--preset amazon670k --scale 0.01 --label-scale 0.05"
  SYN_DEL="--preset delicious200k --scale 0.01 --label-scale 0.05"
else
  SYN_AMZ="--preset amazon670k --scale 0.1 --label-scale 1"
  SYN_DEL="--preset delicious200k --scale 0.1 --label-scale 1"
fi
gen() { # gen NAME ARGS...
  local name=$1; shift
  local dir="$DATA/$MODE/$name"
  if [ ! -s "$dir/test.txt" ]; then
    echo "[data] generating $name ($*)"
    "$BIN/slide-gen" "$@" --seed 1 --out "$dir" > "$OUT/gen-$name.log"
  fi
}
gen amazon670k $SYN_AMZ
gen delicious200k $SYN_DEL

# ---- e2e
if [ -z "$ONLY" ] || [ "$ONLY" = e2e ]; then
  export OMP_PROC_BIND="${OMP_PROC_BIND:-true}" OMP_PLACES="${OMP_PLACES:-cores}"
  echo "[e2e] SLIDE on real Delicious (bench/e2e/configs/delicious.conf)"
  "$BIN/slide-train" --config bench/e2e/configs/delicious.conf --threads "$THREADS" \
      --run-id "$RUN_ID" --csv "$OUT/e2e.csv" --progress 0
  echo "[e2e] all-neurons network on Delicious (slide-full)"
  "$BIN/slide-train" --config bench/e2e/configs/delicious.conf --threads "$THREADS" --full-output \
      --run-id "$RUN_ID" --csv "$OUT/e2e.csv" --progress 0
  for name in amazon670k delicious200k; do
    echo "[e2e] SLIDE on synthetic $name ($MODE)"
    "$BIN/slide-train" --train "$DATA/$MODE/$name/train.txt" --test "$DATA/$MODE/$name/test.txt" \
        --dataset-name "synth-$name-$MODE" --epochs 2 --eval-every 20 --eval-n 500 \
        --threads "$THREADS" --run-id "$RUN_ID" --csv "$OUT/e2e.csv" --progress 0
  done
fi
if [ -z "$ONLY" ] || [ "$ONLY" = micro ]; then
  echo "[micro] not yet: the Google Benchmark suite comes with the microbenchmark issue"
  for b in slide-bench-kern slide-bench-parse; do
    if [ -x "$BIN/$b" ]; then "$BIN/$b" --quick --csv "$OUT/$b.csv" > "$OUT/$b.log" 2>&1 && echo "[micro] $b -> $OUT/$b.csv" || echo "[micro] $b failed (see $OUT/$b.log)"; fi
  done
fi
if [ -z "$ONLY" ] || [ "$ONLY" = plots ]; then
  echo "[plots] not yet: gnuplot figures come with the reproduction issue"
fi
echo "[run] done: $OUT"
