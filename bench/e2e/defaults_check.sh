#!/bin/sh
# Do slide-train's defaults carry over to other data? On generated sets of other shapes (100-300
# labels, 2-5 labels per point) and on the vendored real Delicious, trains the sampled network at
# its defaults, at the old fractions (--min-active 0.05 --max-active 0.3) and the full softmax
# (--full-output), each for --epochs or until P@1 on a 10 % validation split has not improved for
# 5 evaluations (one per epoch), with --seeds seeds, and writes
#   OUT/defaults_check.csv          every evaluation row of every run (results/SCHEMA.md)
#   OUT/defaults_check.runs.csv     per set, seed and variant: test P@1 of the last row, active
#   OUT/defaults_check.summary.csv  per set: median test P@1 over the seeds of each variant, the
#                                   gap of the medians to the full softmax, the largest gap of
#                                   one seed, met (gap of the medians <= 0.03)
# and prints the summary as a table. Target: sampled at defaults within 0.03 P@1 of the full.
set -eu
usage() {
  cat <<USAGE
usage: bench/e2e/defaults_check.sh [--out DIR] [--epochs N] [--seeds N] [--threads T]
                                   [--bin DIR] [--data DIR] [--only NAME] [--no-old]
  --out      output directory (default results/defaults_check)
  --epochs   most epochs per run (default 60; the validation split usually stops it sooner)
  --seeds    seeds per set and variant (default 3: 1, 2, 3)
  --threads  OpenMP threads (default 2)
  --bin      program directory (default build/bin; run 'make' first)
  --data     where the generated sets and Delicious are unpacked (default build/data)
  --only     one set: g100x2, g200x3, g300x5 or delicious
  --no-old   skip the runs at the old fractions
USAGE
}
OUT=results/defaults_check; EPOCHS=60; SEEDS=3; THREADS=2; BIN=${SLIDE_BIN:-build/bin}; DATA=build/data
ONLY=""; OLD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?}; shift ;;
    --epochs) EPOCHS=${2:?}; shift ;;
    --seeds) SEEDS=${2:?}; shift ;;
    --threads) THREADS=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    --data) DATA=${2:?}; shift ;;
    --only) ONLY=${2:?}; shift ;;
    --no-old) OLD=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "defaults_check.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for v in "$EPOCHS" "$SEEDS" "$THREADS"; do
  case "$v" in ''|*[!0-9]*|0) echo "defaults_check.sh: --epochs, --seeds and --threads must be positive integers" >&2; exit 2 ;; esac
done
case "$ONLY" in ""|g100x2|g200x3|g300x5|delicious) ;;
  *) echo "defaults_check.sh: --only g100x2|g200x3|g300x5|delicious" >&2; exit 2 ;; esac
for p in slide-train slide-gen; do
  [ -x "$BIN/$p" ] || { echo "defaults_check.sh: $BIN/$p missing (run make)" >&2; exit 2; }
done
mkdir -p "$OUT"
CSV=$OUT/defaults_check.csv
SUM=$OUT/defaults_check.summary.csv
RUNS=$OUT/defaults_check.runs.csv
LOG=$OUT/defaults_check.log
: > "$LOG"
rm -f "$CSV"
export OMP_PROC_BIND="${OMP_PROC_BIND:-true}" OMP_PLACES="${OMP_PLACES:-cores}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
echo "set,labels,labels_per_point,train_points,seed,variant,p_at_1,active_avg,epochs_trained" > "$RUNS"

# last_full CSV RUN_ID: "p_at_1,active_avg,epoch" of the run's last row (whole test set)
last_full() {
  awk -F, -v id="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["run_id"] == id && $c["eval_set"] == "full" { p = $c["p_at_1"]; a = $c["active_avg"]; e = $c["epoch"] }
    END { if (p == "") print "NA,NA,NA"; else printf "%s,%.0f,%.1f\n", p, a, e }' "$1"
}

# check NAME TRAIN TEST EXTRA_ARGS...: the runs on one set and its summary row
check() {
  name=$1; train=$2; test=$3; shift 3
  n=$(head -n 1 "$train" | cut -d' ' -f1)
  l=$(head -n 1 "$train" | cut -d' ' -f3)
  lpp=$(awk 'NR > 1 { split($1, a, ","); if ($1 ~ /:/) k = 0; else k = length(a); s += k }
    END { printf "%.2f", s / (NR - 1) }' "$train")
  # one evaluation per epoch of the training part (90 % of the points)
  every=$(awk -v n="$n" 'BEGIN { printf "%d", (n - int(n * 0.1 + 0.5) + 127) / 128 }')
  seed=1
  while [ "$seed" -le "$SEEDS" ]; do
    for v in sampled old full; do
      case $v in
        sampled) extra="" ;;
        old) [ "$OLD" = 1 ] || continue; extra="--min-active 0.05 --max-active 0.3" ;;
        full) extra="--full-output" ;;
      esac
      id="defaults-$STAMP-$name-$v-$seed"
      echo "[check] $name seed $seed $v" >&2
      # shellcheck disable=SC2086
      "$BIN/slide-train" "$@" --train "$train" --test "$test" --dataset-name "$name" \
        --epochs "$EPOCHS" --eval-every "$every" --eval-n 0 --val-split 0.1 --patience 5 \
        --seed "$seed" --threads "$THREADS" --progress 0 --run-id "$id" --csv "$CSV" \
        $extra >>"$LOG" 2>&1 || { echo "defaults_check.sh: $name $v failed (see $LOG)" >&2; exit 1; }
      echo "$name,$l,$lpp,$n,$seed,$v,$(last_full "$CSV" "$id")" >> "$RUNS"
    done
    seed=$((seed + 1))
  done
}

gen() { # gen NAME LABELS LABELS_PER_POINT FEATURES
  d=$DATA/defaults-$1
  [ -s "$d/test.txt" ] || "$BIN/slide-gen" --preset delicious-small --labels "$2" \
    --labels-per-point "$3" --features "$4" --train-points 6000 --test-points 2000 --seed 7 \
    --out "$d" >>"$LOG" 2>&1 || { echo "defaults_check.sh: slide-gen $1 failed" >&2; exit 1; }
  echo "$d"
}
for s in "g100x2 100 2 500" "g200x3 200 3 800" "g300x5 300 5 1000"; do
  set -- $s
  [ -z "$ONLY" ] || [ "$ONLY" = "$1" ] || continue
  d=$(gen "$@")
  check "$1" "$d/train.txt" "$d/test.txt"
done
if [ -z "$ONLY" ] || [ "$ONLY" = delicious ]; then
  d=$(sh datasets/prepare_delicious.sh "$DATA/delicious")
  check delicious "$d/train.txt" "$d/test.txt" --config bench/e2e/configs/delicious.conf
fi
# the summary: medians over the seeds; a seed's gap pairs its sampled and full runs
awk -F, 'function med(s,   a, n, i, j, t) { n = split(substr(s, 2), a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n == 0 ? "NA" : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }
  NR == 1 { next }
  { k = $1; if (!(k in L)) { order[++ns] = k; L[k] = $2; M[k] = $3; N[k] = $4 }
    p[k, $6] = p[k, $6] " " $7; act[k, $6] = act[k, $6] " " $8; ep[k, $6] = ep[k, $6] " " $9
    one[k, $5, $6] = $7 }
  END {
    print "set,labels,labels_per_point,train_points,seeds,sampled_p_at_1,full_p_at_1,gap,gap_worst_seed,old_p_at_1,old_gap,sampled_active,old_active,sampled_epochs,full_epochs,met"
    for (q = 1; q <= ns; q++) { k = order[q]
      s = med(p[k, "sampled"]); f = med(p[k, "full"]); o = med(p[k, "old"])
      worst = -1; nseed = 0
      for (sd = 1; sd <= 100; sd++) if ((k, sd, "full") in one) { nseed++
        g = one[k, sd, "full"] - one[k, sd, "sampled"]; if (g > worst) worst = g }
      gap = f - s; og = (o == "NA") ? "NA" : sprintf("%.4f", f - o)
      printf "%s,%s,%s,%s,%d,%.4f,%.4f,%.4f,%.4f,%s,%s,%s,%s,%s,%s,%s\n", k, L[k], M[k], N[k], nseed,
        s, f, gap, worst, (o == "NA") ? "NA" : sprintf("%.4f", o), og, med(act[k, "sampled"]),
        med(act[k, "old"]), med(ep[k, "sampled"]), med(ep[k, "full"]), gap <= 0.03 ? "yes" : "no" } }' \
  "$RUNS" > "$SUM"
column -s, -t < "$SUM" 2>/dev/null || cat "$SUM"
