#!/bin/sh
# The GPU side of the CPU-vs-GPU comparison, in one command on a GPU machine (issue: dense
# baselines). Runs, in order of importance, each step time-limited and logged, a failed step
# never stopping the later ones:
#   1. test_gpu.sh (what `make test-gpu` runs): one and three steps of slide-dense-gpu against
#      slide-dense from the same seed, and one epoch's P@1;
#   2. slide-dense-gpu on the amazon670k-v1 preset (all 490,449 points, 670,091 labels; test: the
#      first --test-points test points) and on the delicious200k-v1 preset (full test set), with
#      the paper's batch and learning rate (bench/e2e/configs/*.conf);
#   3. slide-dense-gpu and torch_dense.py (torch-gpu; skipped without torch) on the
#      amazon670k-v1 preset at scale 0.05, the data bench_amazon.sh trains SLIDE on;
#   4. slide-train on all of this machine's cores on both full presets (the paper's "SLIDE on a
#      many-core CPU" side, on the same machine), time-limited;
#   5. slide-dense-gpu with --tf32 (TF32 tensor cores) on both presets, one epoch;
#   6. lr-amazon: slide-dense-gpu and many-core SLIDE on the full amazon670k-v1 preset with a 10x
#      higher learning rate (0.001), up to --budget / --slide-budget seconds each: how far each
#      gets on the synthetic Amazon shape when the paper's lr (1e-4) learns too slowly.
# Steps (--steps): test dense-amazon dense-delicious s005 torch slide-amazon slide-delicious tf32
# lr-amazon.
# Output: OUT/dense-gpu-{amazon670k,delicious200k}.csv, OUT/slide-cpu-{amazon670k,delicious200k}.csv,
# OUT/amazon670k-s0.05.csv, OUT/tf32.csv, OUT/lr-amazon670k.csv, OUT/*.log, OUT/context.txt (GPU, driver, CPU, versions).
set -u

usage() {
  cat <<USAGE
usage: bench/baseline/gpu_reference.sh [--out DIR] [--bin DIR] [--data DIR] [--test-points N]
                                       [--budget S] [--slide-budget S] [--steps "LIST"]
  --out           output directory (default results/gpu)
  --bin           program directory (default build/bin; needs slide-gen, slide-dense-gpu,
                  slide-train; test_gpu.sh also needs slide-dense and slide-dense-cmp)
  --data          where the presets are generated (default build/data)
  --test-points   test points evaluated, the first N of each preset's test set (default 10000
                  of 153,025 / 100,095: SLIDE's CPU evaluation of 670K labels costs ~10 ms per
                  point and thread); every system is evaluated on the same points
  --budget        training-time limit of each dense-gpu run in seconds (default 60)
  --slide-budget  training-time limit of each many-core SLIDE run (default 60)
  --steps         the steps to run (default all: test dense-amazon dense-delicious s005 torch
                  slide-amazon slide-delicious tf32 lr-amazon)
Exit status: 0 when every step that ran passed, 1 otherwise, 2 bad arguments.
USAGE
}
OUT=results/gpu; BIN=build/bin; DATA=build/data; TESTN=10000; BUDGET=60; SBUDGET=60
STEPS="test dense-amazon dense-delicious s005 torch slide-amazon slide-delicious tf32 lr-amazon"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    --data) DATA=${2:?}; shift ;;
    --test-points) TESTN=${2:?}; shift ;;
    --budget) BUDGET=${2:?}; shift ;;
    --slide-budget) SBUDGET=${2:?}; shift ;;
    --steps) STEPS=${2?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_reference.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for v in "$TESTN" "$BUDGET" "$SBUDGET"; do
  case "$v" in ''|*[!0-9]*) echo "gpu_reference.sh: --test-points, --budget and --slide-budget take whole numbers" >&2; exit 2 ;; esac
done
for p in slide-gen slide-dense-gpu slide-train; do
  [ -x "$BIN/$p" ] || { echo "gpu_reference.sh: $BIN/$p missing (make; slide-dense-gpu needs nvcc)" >&2; exit 2; }
done
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "gpu_reference.sh: no GPU (nvidia-smi lists no device)" >&2; exit 2
fi
mkdir -p "$OUT" || exit 2
T0=$(date +%s)
fail=0
step() { echo "[gpu-ref +$(( $(date +%s) - T0 ))s] $*" >&2; }
# run NAME CMD...: stderr+stdout to OUT/NAME.log, a failure noted and counted.
run() {
  name=$1; shift
  step "$name: $*"
  if ! "$@" >"$OUT/$name.log" 2>&1; then
    echo "gpu_reference.sh: step $name failed; last lines of $OUT/$name.log:" >&2
    tail -n 5 "$OUT/$name.log" >&2
    fail=1; return 1
  fi
  grep -h '^\[gpu\]\|^\[timing\]\|^\[final\]\|^\[active\]' "$OUT/$name.log" >&2 || true
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -n) $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc)"
  echo "mem: $(grep MemTotal /proc/meminfo)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  command -v nvcc >/dev/null 2>&1 && nvcc --version | tail -n 2 | sed 's/^/nvcc: /'
  python3 -c 'import torch; print("torch:", torch.__version__, torch.version.cuda)' 2>/dev/null || echo "torch: none"
} >"$OUT/context.txt"
cat "$OUT/context.txt" >&2

want() { case " $STEPS " in *" $1 "*) return 0 ;; esac; return 1; }
for w in $STEPS; do
  case " test dense-amazon dense-delicious s005 torch slide-amazon slide-delicious tf32 lr-amazon " in
    *" $w "*) ;;
    *) echo "gpu_reference.sh: --steps: unknown step '$w'" >&2; exit 2 ;;
  esac
done

if want test; then
  if [ -x "$BIN/slide-dense" ] && [ -x "$BIN/slide-dense-cmp" ]; then
    run test-gpu env BIN="$BIN" sh bench/baseline/test_gpu.sh && tail -n 4 "$OUT/test-gpu.log" >&2
  else
    step "test-gpu: skipped, slide-dense (OpenBLAS) or slide-dense-cmp not built"
  fi
fi

# Presets (slide-gen is deterministic: same arguments, same files as on any other machine).
gen() { # preset scale dir
  [ -f "$3/train.txt" ] && return 0
  "$BIN/slide-gen" --preset "$1" --scale "$2" --label-scale 1 --seed 1 --out "$3" >"$OUT/gen-$1-s$2.log" 2>&1 ||
    { step "slide-gen $1 scale $2 failed (see $OUT/gen-$1-s$2.log)"; return 1; }
}
A=$DATA/amazon670k-s1; D=$DATA/delicious200k-s1; S=$DATA/amazon670k-s0.05
step "generating presets into $DATA"
pa=; pd=
if want dense-amazon || want slide-amazon || want tf32 || want lr-amazon; then gen amazon670k-v1 1 "$A" & pa=$!; fi
if want dense-delicious || want slide-delicious || want tf32; then gen delicious200k-v1 1 "$D" & pd=$!; fi
if want s005 || want torch; then gen amazon670k-v1 0.05 "$S" || fail=1; fi
[ -z "$pa" ] || wait "$pa" || fail=1
[ -z "$pd" ] || wait "$pd" || fail=1
head_test() { # file n -> file-n.txt (bench/e2e/test_subset.sh); the name alone for a preset
  if [ -f "$1" ]; then sh bench/e2e/test_subset.sh "$1" "$2"; else echo "${1%.txt}-$2.txt"; fi
}
AT=$(head_test "$A/test.txt" "$TESTN")
DT=$(head_test "$D/test.txt" "$TESTN")
ST=$(head_test "$S/test.txt" 500)

ID=$(date -u +%Y%m%dT%H%M%SZ)
# The paper's batch and learning rate (bench/e2e/configs/{amazon670k,delicious200k}.conf).
AM="--batch 256 --lr 0.0001 --hidden 128 --seed 1 --progress 0"
DL="--batch 128 --lr 0.0001 --hidden 128 --seed 1 --progress 0"
EV="--eval-every 100 --eval-n 1000"
want dense-amazon && run dense-gpu-amazon670k "$BIN/slide-dense-gpu" --train "$A/train.txt" --test "$AT" \
  --dataset-name synth-amazon670k --epochs 2 --time-budget "$BUDGET" $EV \
  --run-id "$ID-dense-gpu-amazon670k" --csv "$OUT/dense-gpu-amazon670k.csv" $AM
want dense-delicious && run dense-gpu-delicious200k "$BIN/slide-dense-gpu" --train "$D/train.txt" --test "$DT" \
  --dataset-name synth-delicious200k --epochs 2 --time-budget "$BUDGET" $EV \
  --run-id "$ID-dense-gpu-delicious200k" --csv "$OUT/dense-gpu-delicious200k.csv" $DL
want s005 && run dense-gpu-amazon670k-s0.05 "$BIN/slide-dense-gpu" --train "$S/train.txt" --test "$ST" \
  --dataset-name synth-amazon670k-s0.05 --epochs 1 --eval-every 0 \
  --run-id "$ID-dense-gpu-s0.05" --csv "$OUT/amazon670k-s0.05.csv" $AM
if want torch; then
  if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    run torch-gpu-amazon670k-s0.05 python3 bench/baseline/torch_dense.py --device cuda \
      --train "$S/train.txt" --test "$ST" --dataset-name synth-amazon670k-s0.05 --epochs 1 \
      --eval-every 0 --run-id "$ID-torch-gpu-s0.05" --csv "$OUT/amazon670k-s0.05.csv" $AM
  else
    step "torch-gpu: skipped (no torch with CUDA)"
  fi
fi
want slide-amazon && run slide-cpu-amazon670k "$BIN/slide-train" --config bench/e2e/configs/amazon670k.conf \
  --train "$A/train.txt" --test "$AT" --dataset-name synth-amazon670k --epochs 1 \
  --time-budget "$SBUDGET" $EV --threads "$(nproc)" \
  --run-id "$ID-slide-cpu-amazon670k" --csv "$OUT/slide-cpu-amazon670k.csv" --progress 0
want slide-delicious && run slide-cpu-delicious200k "$BIN/slide-train" --config bench/e2e/configs/delicious200k.conf \
  --train "$D/train.txt" --test "$DT" --dataset-name synth-delicious200k --epochs 2 \
  --time-budget "$SBUDGET" $EV --threads "$(nproc)" \
  --run-id "$ID-slide-cpu-delicious200k" --csv "$OUT/slide-cpu-delicious200k.csv" --progress 0
if want tf32; then
  run tf32-amazon670k "$BIN/slide-dense-gpu" --tf32 --train "$A/train.txt" --test "$AT" \
    --dataset-name synth-amazon670k --epochs 1 --time-budget "$BUDGET" --eval-every 0 \
    --run-id "$ID-tf32-amazon670k" --csv "$OUT/tf32.csv" $AM
  run tf32-delicious200k "$BIN/slide-dense-gpu" --tf32 --train "$D/train.txt" --test "$DT" \
    --dataset-name synth-delicious200k --epochs 1 --time-budget "$BUDGET" --eval-every 0 \
    --run-id "$ID-tf32-delicious200k" --csv "$OUT/tf32.csv" $DL
fi
if want lr-amazon; then
  run lr-dense-gpu-amazon670k "$BIN/slide-dense-gpu" --train "$A/train.txt" --test "$AT" \
    --dataset-name synth-amazon670k --epochs 20 --time-budget "$BUDGET" --eval-every 400 --eval-n 2000 \
    --run-id "$ID-lr-dense-gpu-amazon670k" --csv "$OUT/lr-amazon670k.csv" $AM --lr 0.001
  run lr-slide-cpu-amazon670k "$BIN/slide-train" --config bench/e2e/configs/amazon670k.conf \
    --train "$A/train.txt" --test "$AT" --dataset-name synth-amazon670k --epochs 20 \
    --time-budget "$SBUDGET" --eval-every 400 --eval-n 2000 --threads "$(nproc)" --lr 0.001 \
    --run-id "$ID-lr-slide-cpu-amazon670k" --csv "$OUT/lr-amazon670k.csv" --progress 0
fi
step "done (failures: $fail)"
exit "$fail"
