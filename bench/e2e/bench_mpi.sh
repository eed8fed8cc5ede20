#!/bin/sh
# Scale-out benchmark of slide-train-mpi (issue 18), on this machine's cores:
#  1. Amazon-670K shape (amazon670k-v1 preset, all 670,091 labels, bench/e2e/amazon_data.sh's
#     files, bench/e2e/configs/amazon670k.conf): P = 1 rank x 2 threads against P = 2 ranks x 1
#     thread, paired (the order alternates), REPS pairs. Reports the samples/s ratio (target
#     >= 0.85), each rank's output-layer memory against P = 1's (target <= 0.55), the share H of a
#     batch spent in the replicated input and hidden layers and the ideal ratio (H+O)/(2H+O).
#  2. A label count one rank cannot hold: the amazon3m preset (2,812,281 labels) at a small point
#     scale, --max-mem per rank: P = 1 refused, P = 2 trains a measured number of batches.
#  3. The inputs of the scale-out model (plots/scaleout.gp): per-rank compute time per batch at
#     P = 1 and 2 and the bytes per batch, into OUT/model_inputs.csv.
# Rows: OUT/mpi.csv (+ .breakdown.csv, .ranks.csv); summary on stdout and OUT/summary.txt.
set -eu
usage() {
  cat <<USAGE
usage: bench/e2e/bench_mpi.sh [--scale S] [--reps N] [--epochs E] [--test-points N]
                              [--max-mem MB] [--3m-scale S] [--3m-batches N] [--no-3m]
                              [--out DIR] [--bin DIR]
  --scale        fraction of the amazon670k preset's training points (default 0.05)
  --reps         pairs of runs (default 3; the summary reports medians)
  --epochs       epochs per run (default 0.5: 48 batches of 256 at --scale 0.05)
  --test-points  test points evaluated at the end of a run (default 200)
  --max-mem      MB per rank for the amazon3m part (default 4500: P = 1 needs more)
  --3m-scale     fraction of amazon3m's points (default 0.003)
  --3m-batches   batches the P = 2 amazon3m run trains (default 10)
  --no-3m        skip the amazon3m part
  --out          output directory (default results/mpi-bench)
  --bin          program directory (default build/bin)
USAGE
}
SCALE=0.05; REPS=3; EPOCHS=0.5; TESTN=200; MAXMEM=4500; S3=0.003; B3=10; DO3=1
OUT=results/mpi-bench; BIN=${SLIDE_BIN:-build/bin}
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=${2:?}; shift ;;
    --reps) REPS=${2:?}; shift ;;
    --epochs) EPOCHS=${2:?}; shift ;;
    --test-points) TESTN=${2:?}; shift ;;
    --max-mem) MAXMEM=${2:?}; shift ;;
    --3m-scale) S3=${2:?}; shift ;;
    --3m-batches) B3=${2:?}; shift ;;
    --no-3m) DO3=0 ;;
    --out) OUT=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench_mpi.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$REPS" in ''|*[!0-9]*|0) echo "bench_mpi.sh: --reps must be a positive integer" >&2; exit 2 ;; esac
for p in slide-train-mpi slide-gen; do
  [ -x "$BIN/$p" ] || { echo "bench_mpi.sh: $BIN/$p missing (make; slide-train-mpi needs Open MPI)" >&2; exit 2; }
done
command -v mpirun >/dev/null 2>&1 || { echo "bench_mpi.sh: mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
MPI="mpirun --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo"
[ "$(id -u)" -eq 0 ] && MPI="$MPI --allow-run-as-root"

DATA=$(sh bench/e2e/amazon_data.sh "$BIN" "$SCALE")
TEST=$(sh bench/e2e/test_subset.sh "$DATA/test.txt" "$TESTN")
mkdir -p "$OUT"
CSV=$OUT/mpi.csv
ID=$(date -u +%Y%m%dT%H%M%SZ)-mpi
COMMON="--config bench/e2e/configs/amazon670k.conf --train $DATA/train.txt --test $TEST
  --dataset-name synth-amazon670k-s$SCALE --epochs $EPOCHS --eval-every 0 --progress 0 --csv $CSV"
run() { # $1 tag, $2 ranks, $3 threads per rank
  echo "[mpi-bench] $1: $2 rank(s) x $3 thread(s)" >&2
  # ranks on distinct cores: mpirun binds each to one core with 1 thread; with 2 threads the
  # one rank gets both (the program pins its threads inside its mask)
  if [ "$3" -eq 1 ]; then bind="--map-by core --bind-to core"; else bind="--bind-to none"; fi
  # shellcheck disable=SC2086
  if ! $MPI -np "$2" $bind "$BIN/slide-train-mpi" $COMMON --threads "$3" --run-id "$ID-$1" \
      2>"$OUT/$1.log"; then
    echo "bench_mpi.sh: run $1 failed:" >&2; tail -n 5 "$OUT/$1.log" >&2; exit 1
  fi
}
echo "[mpi-bench] load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
r=1
while [ "$r" -le "$REPS" ]; do
  if [ $((r % 2)) -eq 1 ]; then run "p1-r$r" 1 2; run "p2-r$r" 2 1
  else run "p2-r$r" 2 1; run "p1-r$r" 1 2; fi
  r=$((r + 1))
done

# ---- summary (by column name)
col() { # CSV, run-id prefix: "run_id value" per row, for column $3 of the last row per run
  awk -F, -v want="$3" -v pre="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    index($c["run_id"], pre) == 1 { v[$c["run_id"]] = $c[want] }
    END { for (k in v) print k, v[k] }' "$1" | sort
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
SUM=$OUT/summary.txt
{
  echo "slide-train-mpi scale-out benchmark, run $ID, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
  echo "data: $DATA ($EPOCHS epochs per run, $TESTN test points), $REPS pairs"
  ratios=""
  r=1
  while [ "$r" -le "$REPS" ]; do
    s1=$(col "$CSV" "$ID-p1-r$r" samples_per_s | awk '{ print $2 }')
    s2=$(col "$CSV" "$ID-p2-r$r" samples_per_s | awk '{ print $2 }')
    q=$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.3f", b / a }')
    echo "pair $r: P=1x2 threads $s1 samples/s, P=2x1 thread $s2 samples/s, ratio $q"
    ratios="$ratios $q"
    r=$((r + 1))
  done
  m1=$(col "$CSV" "$ID-p1-" samples_per_s | awk '{ print $2 }' | median)
  m2=$(col "$CSV" "$ID-p2-" samples_per_s | awk '{ print $2 }' | median)
  mr=$(echo "$ratios" | tr ' ' '\n' | grep . | median)
  echo "samples/s median: P=1 $m1, P=2 $m2; ratio median $mr (target >= 0.85: $(awk -v x="$mr" 'BEGIN { print (x >= 0.85 ? "met" : "missed") }'))"
  o1=$(col "$OUT/mpi.ranks.csv" "$ID-p1-" output_layer_mb | awk '{ print $2 }' | sort -n | tail -1)
  o2=$(col "$OUT/mpi.ranks.csv" "$ID-p2-" output_layer_mb | awk '{ print $2 }' | sort -n | tail -1)
  awk -v a="$o1" -v b="$o2" 'BEGIN { printf "output layer per rank (weights, Adam, tables): P=1 %.0f MB, P=2 %.0f MB, ratio %.3f (target <= 0.55: %s)\n", a, b, b / a, (b / a <= 0.55 ? "met" : "missed") }'
  r1=$(col "$CSV" "$ID-p1-" peak_rss_mb | awk '{ print $2 }' | median)
  r2=$(col "$CSV" "$ID-p2-" peak_rss_mb | awk '{ print $2 }' | median)
  awk -v a="$r1" -v b="$r2" 'BEGIN { printf "peak RSS per rank (max over ranks), median: P=1 %.0f MB, P=2 %.0f MB, ratio %.3f\n", a, b, b / a }'
  H=$(col "$OUT/mpi.breakdown.csv" "$ID-p1-" replicated_share | awk '{ print $2 }' | median)
  C=$(col "$OUT/mpi.breakdown.csv" "$ID-p2-" comm_share | awk '{ print $2 }' | median)
  awk -v h="$H" -v c="$C" 'BEGIN { o = 1 - h; printf "replicated input+hidden share of a P=1 batch H = %.3f (O = %.3f): ideal ratio (H+O)/(2H+O) = %.3f; the 0.85 target needs H <= 0.176; P=2 time in communication (slowest rank, incl. waiting) %.3f\n", h, o, 1 / (1 + h), c }'
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$SUM"

# ---- scale-out model inputs: per-rank compute seconds per batch, bytes per batch
{
  echo "what,ranks,threads,value,unit"
  for P in 1 2; do
    b=$(col "$CSV" "$ID-p$P-" iter | awk '{ print $2 }' | median)
    t=$(col "$OUT/mpi.breakdown.csv" "$ID-p$P-" train_s | awk '{ print $2 }' | median)
    c=$(col "$OUT/mpi.breakdown.csv" "$ID-p$P-" comm_s | awk '{ print $2 }' | median)
    h=$(col "$OUT/mpi.breakdown.csv" "$ID-p$P-" replicated_s | awk '{ print $2 }' | median)
    th=$([ "$P" -eq 1 ] && echo 2 || echo 1)
    awk -v P="$P" -v th="$th" -v b="$b" -v t="$t" -v c="$c" -v h="$h" 'BEGIN {
      printf "batch_compute_s,%d,%d,%.6f,s\n", P, th, (t - c) / b
      printf "batch_replicated_s,%d,%d,%.6f,s\n", P, th, h / b }'
  done
  bytes=$(col "$CSV" "$ID-p2-" comm_bytes_per_batch | awk '{ print $2 }' | median)
  echo "comm_bytes_per_batch,2,1,$bytes,bytes"
  echo "batch,2,1,256,samples"
} >"$OUT/model_inputs.csv"
echo "[mpi-bench] model inputs: $OUT/model_inputs.csv" >&2
sh bench/e2e/scaleout_model.sh "$OUT" | tee -a "$SUM"

# ---- a label count one rank cannot hold
if [ "$DO3" = 1 ]; then
  if ! "$BIN/slide-gen" --help 2>&1 | grep -q amazon3m; then
    echo "amazon3m: slide-gen has no amazon3m preset in this build; part skipped" | tee -a "$SUM"
  else
    D3=build/data/amazon3m-s$S3
    if [ ! -f "$D3/train.txt" ]; then
      echo "[mpi-bench] generating amazon3m at scale $S3 into $D3" >&2
      "$BIN/slide-gen" --preset amazon3m --scale "$S3" --label-scale 1 --seed 1 --out "$D3" >&2
    fi
    T3=$(sh bench/e2e/test_subset.sh "$D3/test.txt" 100)
    N3=$(head -1 "$D3/train.txt" | cut -d' ' -f1)
    E3=$(awk -v n="$N3" -v b="$B3" 'BEGIN { printf "%.6f", (b * 256 - 0.5) / n }')
    C3="--config bench/e2e/configs/amazon670k.conf --train $D3/train.txt --test $T3
      --dataset-name synth-amazon3m-s$S3 --epochs $E3 --eval-every 0 --progress 0 --csv $CSV --max-mem $MAXMEM"
    # shellcheck disable=SC2086
    if $MPI -np 1 --bind-to none "$BIN/slide-train-mpi" $C3 --threads 2 --run-id "$ID-3m-p1" \
        >"$OUT/3m-p1.log" 2>&1; then
      echo "amazon3m: P=1 was NOT refused with --max-mem $MAXMEM" | tee -a "$SUM"
    else
      echo "amazon3m, P=1, --max-mem $MAXMEM: $(grep '^slide-train-mpi: ' "$OUT/3m-p1.log" | head -1)" | tee -a "$SUM"
    fi
    # shellcheck disable=SC2086
    if $MPI -np 2 --map-by core --bind-to core "$BIN/slide-train-mpi" $C3 --threads 1 \
        --run-id "$ID-3m-p2" 2>"$OUT/3m-p2.log"; then
      sp=$(col "$CSV" "$ID-3m-p2" samples_per_s | awk '{ print $2 }')
      it=$(col "$CSV" "$ID-3m-p2" iter | awk '{ print $2 }')
      rs=$(col "$CSV" "$ID-3m-p2" peak_rss_mb | awk '{ print $2 }')
      om=$(col "$OUT/mpi.ranks.csv" "$ID-3m-p2" output_layer_mb | awk '{ print $2 }' | sort -n | tail -1)
      echo "amazon3m, P=2 x 1 thread, --max-mem $MAXMEM per rank: $it batches, $sp samples/s, peak RSS per rank (max) $rs MB, output layer per rank $om MB" | tee -a "$SUM"
    else
      echo "amazon3m: P=2 failed:" | tee -a "$SUM"; tail -n 3 "$OUT/3m-p2.log" | tee -a "$SUM"
    fi
  fi
fi
echo "[mpi-bench] summary: $SUM" >&2
