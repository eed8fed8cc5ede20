#!/bin/sh
# Does the LSH sampling matter? Trains the output layer with each sampler (lsh, uniform,
# unigram) at equal exact budgets (--budget F: every sample gets round(F x labels) active
# neurons, labels included), 3 seeds each, beside the full softmax (--full-output), and writes
#   OUT/sampling.csv          every evaluation row of every run (results/SCHEMA.md)
#   OUT/sampling.summary.csv  per data set, budget, curve and iteration: P@1 median, min and max
#                             over the seeds, median training time (the figures' input)
# Quick: the vendored real Delicious (5, 10, 20, 50 %) and the label-scaled Amazon preset
# (2, 5, 20 %). --full adds the Amazon-670K shape (all 670,091 labels; 0.5, 2, 5 %) under a
# time budget per run, the full softmax there for a stated number of batches.
set -eu
usage() {
  cat <<USAGE
usage: bench/e2e/sampling.sh [--quick|--full] [--out DIR] [--seeds N] [--threads T] [--bin DIR]
                             [--data DIR] [--only delicious|amazon-ls|amazon]
  --quick     default: Delicious and the label-scaled Amazon preset (a few minutes on 2 cores)
  --full      also the Amazon-670K shape (about 2 hours on 2 cores)
  --out       output directory (default results/sampling)
  --seeds     seeds per configuration (default 3)
  --threads   OpenMP threads (default 2)
  --bin       program directory (default build/bin; run 'make' first)
  --data      where generated data sets go (default build/data)
  --only      one data set only
USAGE
}
MODE=quick; OUT=results/sampling; SEEDS=3; THREADS=2; BIN=${SLIDE_BIN:-build/bin}; DATA=build/data
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --out) OUT=${2:?}; shift ;;
    --seeds) SEEDS=${2:?}; shift ;;
    --threads) THREADS=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    --data) DATA=${2:?}; shift ;;
    --only) ONLY=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "sampling.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for v in "$SEEDS" "$THREADS"; do
  case "$v" in ''|*[!0-9]*|0) echo "sampling.sh: --seeds and --threads must be positive integers" >&2; exit 2 ;; esac
done
case "$ONLY" in ""|delicious|amazon-ls|amazon) ;; *) echo "sampling.sh: --only delicious|amazon-ls|amazon" >&2; exit 2 ;; esac
for p in slide-train slide-gen; do
  [ -x "$BIN/$p" ] || { echo "sampling.sh: $BIN/$p missing (run make)" >&2; exit 2; }
done
mkdir -p "$OUT"
CSV=$OUT/sampling.csv
LOG=$OUT/sampling.log
: > "$LOG"
export OMP_PROC_BIND="${OMP_PROC_BIND:-true}" OMP_PLACES="${OMP_PLACES:-cores}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
nrun=0
# run NAME ARGS...: one training run, rows into CSV
run() {
  name=$1; shift
  nrun=$((nrun + 1))
  if ! "$BIN/slide-train" --progress 0 --threads "$THREADS" --run-id "$STAMP-sampling-$name" \
      --csv "$CSV" "$@" 2>>"$LOG"; then
    echo "sampling.sh: run $name failed (see $LOG)" >&2
    exit 1
  fi
}
# sweep TAG "FRACTIONS" ARGS...: every sampler at every fraction, and the full softmax, per seed
sweep() {
  tag=$1 fracs=$2; shift 2
  s=1
  while [ "$s" -le "$SEEDS" ]; do
    run "$tag-full-s$s" "$@" --seed "$s" --full-output
    for f in $fracs; do
      for smp in lsh uniform unigram; do
        run "$tag-$smp-$f-s$s" "$@" --seed "$s" --sampler "$smp" --budget "$f"
      done
    done
    s=$((s + 1))
  done
}

if [ -z "$ONLY" ] || [ "$ONLY" = delicious ]; then
  bash datasets/prepare_delicious.sh "$DATA/delicious" >/dev/null
  echo "[sampling] real Delicious (983 labels): budgets 5, 10, 20, 50 %, $SEEDS seeds" >&2
  sweep delicious "0.05 0.1 0.2 0.5" --config bench/e2e/configs/delicious.conf \
    --train "$DATA/delicious/train.txt" --test "$DATA/delicious/test.txt" --eval-every 25
fi
if [ -z "$ONLY" ] || [ "$ONLY" = amazon-ls ]; then
  d=$DATA/sampling/amazon670k-ls
  [ -s "$d/test.txt" ] || "$BIN/slide-gen" --preset amazon670k --scale 0.05 --label-scale 0.005 \
    --seed 1 --out "$d" >>"$LOG"
  echo "[sampling] label-scaled Amazon preset (amazon670k --scale 0.05 --label-scale 0.005): budgets 2, 5, 20 %, $SEEDS seeds" >&2
  sweep amazon670k-ls "0.02 0.05 0.2" --config bench/e2e/configs/amazon670k.conf \
    --train "$d/train.txt" --test "$d/test.txt" --dataset-name synth-amazon670k-ls \
    --epochs 2 --eval-every 50 --eval-n 1000 --lr 0.005 --batch 128 --hash simhash --K 6 --L 50 \
    --range-bits 12 --probes 0 --rehash 5 --rebuild 20
fi
if [ "$MODE" = full ] && { [ -z "$ONLY" ] || [ "$ONLY" = amazon ]; }; then
  d=$DATA/sampling/amazon670k
  [ -s "$d/test.txt" ] || "$BIN/slide-gen" --preset amazon670k --scale 0.1 --seed 1 --out "$d" >>"$LOG"
  echo "[sampling] Amazon-670K shape (all labels, --scale 0.1): budgets 0.5, 2, 5 %, 240 s per run; full softmax 40 batches" >&2
  s=1
  while [ "$s" -le "$SEEDS" ]; do
    # the full softmax at 670,091 labels: 40 batches of 256 (a GPU machine runs it whole:
    # bench/baseline/gpu_reference.sh)
    run "amazon670k-full-s$s" --config bench/e2e/configs/amazon670k.conf --train "$d/train.txt" \
      --test "$d/test.txt" --dataset-name synth-amazon670k --seed "$s" --full-output \
      --epochs $(awk -v n="$(head -n 1 "$d/train.txt" | cut -d' ' -f1)" 'BEGIN { printf "%.6f", 40 * 256 / n }') \
      --eval-every 10 --eval-n 300
    for f in 0.005 0.02 0.05; do
      for smp in lsh uniform unigram; do
        run "amazon670k-$smp-$f-s$s" --config bench/e2e/configs/amazon670k.conf --train "$d/train.txt" \
          --test "$d/test.txt" --dataset-name synth-amazon670k --seed "$s" --sampler "$smp" \
          --budget "$f" --time-budget 240 --epochs 100 --eval-every 50 --eval-n 300
      done
    done
    s=$((s + 1))
  done
fi

# the seeds of each curve collapsed: one row per (dataset, budget, curve, iter)
awk -F, -v OFS=, '
  function med(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR == 1 { for (i = 1; i <= NF; i++) C[$i] = i; next }
  $1 == "run_id" || $(C["eval_set"]) != "subset" && $(C["eval_set"]) != "full" { next }
  {
    curve = $(C["system"]) == "slide-full" ? "full-softmax" : $(C["sampler"])
    k = $(C["dataset"]) SUBSEP $(C["budget"]) SUBSEP curve SUBSEP $(C["iter"]) SUBSEP $(C["eval_set"])
    if (!(k in N)) order[++nk] = k
    n = ++N[k]; P[k, n] = $(C["p_at_1"]) + 0; T[k, n] = $(C["train_s"]) + 0
  }
  END {
    print "dataset,budget,curve,iter,eval_set,seeds,p1_median,p1_min,p1_max,train_s_median"
    for (q = 1; q <= nk; q++) {
      k = order[q]; split(k, F, SUBSEP); n = N[k]; lo = 1e9; hi = -1e9
      for (i = 1; i <= n; i++) { a[i] = P[k, i]; b[i] = T[k, i]; lo = a[i] < lo ? a[i] : lo; hi = a[i] > hi ? a[i] : hi }
      print F[1], F[2], F[3], F[4], F[5], n, med(a, n), lo, hi, med(b, n)
    }
  }' "$CSV" > "$OUT/sampling.summary.csv.tmp" && mv "$OUT/sampling.summary.csv.tmp" "$OUT/sampling.summary.csv"
echo "[sampling] $nrun runs -> $CSV, $OUT/sampling.summary.csv" >&2
# the answer in numbers: the last evaluation of each curve (median over seeds)
awk -F, 'NR == 1 { next } { k = $1 " " $2 " " $3; last[k] = $0; if (!(k in seen)) { seen[k] = 1; o[++n] = k } }
  END { for (i = 1; i <= n; i++) { split(last[o[i]], F, ",")
          printf "  %-22s budget %-6s %-13s iter %5s  P@1 %.3f (min %.3f, max %.3f, %d seeds)\n", F[1], F[2], F[3], F[4], F[7], F[8], F[9], F[6] } }' \
  "$OUT/sampling.summary.csv" >&2
