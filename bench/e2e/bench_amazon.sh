#!/bin/sh
# The Amazon-670K-shape benchmark (issues: full-scale speed and memory; SLIDE vs dense CPU):
# synthetic amazon670k-v1 preset with all 670,091 labels, bench/e2e/configs/amazon670k.conf,
# REPS runs per thread count (pinned), then optionally slide-dense for one epoch on the same
# files. Every run appends rows to OUT/e2e.csv (the slide-train schema, results/SCHEMA.md);
# the summary (medians) goes to stdout and OUT/summary.txt.
set -eu
usage() {
  cat <<USAGE
usage: bench/e2e/bench_amazon.sh [--scale S] [--reps N] [--threads "2 1"] [--test-points N]
                                 [--dense] [--out DIR] [--bin DIR] [-- extra slide-train options]
  --scale        fraction of the preset's 490,449 training points (default 0.05: 24,522 points,
                 96 batches of 256, about 20 s per run at 1,400 samples/s)
  --reps         runs per thread count (default 3; the summary reports the median)
  --threads      thread counts to run (default "2 1")
  --test-points  test points evaluated at the end (default 500; the full test set of a
                 670K-label model costs about 3 ms per point)
  --dense        also train slide-dense for one epoch on the same files (2 threads; about
                 75 samples/s here: 5.5 minutes at --scale 0.05), then SLIDE for --race-epochs
                 epochs with an evaluation every --race-every batches, and report how much
                 sooner (training time) SLIDE first reaches dense's one-epoch P@1
  --race-epochs  SLIDE epochs of that race (default 3)
  --race-every   batches between its evaluations (default 8)
  --out          output directory (default results/amazon-bench)
  --bin          program directory (default build/bin; run 'make' first)
Extra options after -- go to every slide-train run (e.g. -- --bf16, -- --simd scalar).
USAGE
}
SCALE=0.05; REPS=3; THREADS="2 1"; TESTN=500; DENSE=0; OUT=results/amazon-bench
RACE_EPOCHS=3; RACE_EVERY=8
BIN=${SLIDE_BIN:-build/bin}
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=${2:?}; shift ;;
    --reps) REPS=${2:?}; shift ;;
    --threads) THREADS=${2:?}; shift ;;
    --test-points) TESTN=${2:?}; shift ;;
    --dense) DENSE=1 ;;
    --race-epochs) RACE_EPOCHS=${2:?}; shift ;;
    --race-every) RACE_EVERY=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "bench_amazon.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$REPS" in ''|*[!0-9]*|0) echo "bench_amazon.sh: --reps must be a positive integer" >&2; exit 2 ;; esac
case "$TESTN" in ''|*[!0-9]*|0) echo "bench_amazon.sh: --test-points must be a positive integer" >&2; exit 2 ;; esac
for p in slide-train slide-gen; do
  [ -x "$BIN/$p" ] || { echo "bench_amazon.sh: $BIN/$p missing (run make)" >&2; exit 2; }
done
[ "$DENSE" = 0 ] || [ -x "$BIN/slide-dense" ] || { echo "bench_amazon.sh: --dense needs $BIN/slide-dense (OpenBLAS)" >&2; exit 2; }

DATA=$(sh bench/e2e/amazon_data.sh "$BIN" "$SCALE")
# The first TESTN test points, header count adjusted (the file is ours: well formed).
TEST=$(sh bench/e2e/test_subset.sh "$DATA/test.txt" "$TESTN")
mkdir -p "$OUT"
CSV=$OUT/e2e.csv
ID=$(date -u +%Y%m%dT%H%M%SZ)-amazon
echo "[amazon] load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for t in $THREADS; do
  r=1
  while [ "$r" -le "$REPS" ]; do
    echo "[amazon] slide-train, $t thread(s), run $r of $REPS" >&2
    if ! "$BIN/slide-train" --config bench/e2e/configs/amazon670k.conf --train "$DATA/train.txt" \
        --test "$TEST" --dataset-name "synth-amazon670k-s$SCALE" --epochs 1 --eval-every 0 \
        --threads "$t" --run-id "$ID-t$t-r$r" --progress 0 --csv "$CSV" "$@" 2>"$OUT/slide-t$t-r$r.log"; then
      echo "bench_amazon.sh: slide-train failed:" >&2; tail -n 5 "$OUT/slide-t$t-r$r.log" >&2; exit 1
    fi
    r=$((r + 1))
  done
done
if [ "$DENSE" = 1 ]; then
  echo "[amazon] slide-dense, 2 threads, one epoch" >&2
  if ! OMP_PROC_BIND=true OMP_PLACES=cores "$BIN/slide-dense" --train "$DATA/train.txt" --test "$TEST" \
      --dataset-name "synth-amazon670k-s$SCALE" --epochs 1 --eval-every 0 --batch 256 --lr 0.0001 \
      --threads 2 --run-id "$ID-dense" --progress 0 --csv "$CSV" 2>"$OUT/dense.log"; then
    echo "bench_amazon.sh: slide-dense failed:" >&2; tail -n 5 "$OUT/dense.log" >&2; exit 1
  fi
  echo "[amazon] slide-train, 2 threads, $RACE_EPOCHS epochs, evaluation every $RACE_EVERY batches" >&2
  if ! "$BIN/slide-train" --config bench/e2e/configs/amazon670k.conf --train "$DATA/train.txt" \
      --test "$TEST" --dataset-name "synth-amazon670k-s$SCALE" --epochs "$RACE_EPOCHS" \
      --eval-every "$RACE_EVERY" --eval-n 0 --threads 2 --run-id "$ID-race" --progress 0 \
      --csv "$CSV" "$@" 2>"$OUT/race.log"; then
    echo "bench_amazon.sh: slide-train failed:" >&2; tail -n 5 "$OUT/race.log" >&2; exit 1
  fi
fi
echo "[amazon] load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# Final row of each run of this batch (by column name): median samples/s per thread count.
awk -F, -v id="$ID" '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
                                  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["run_id"] == id "-race" { rt[++nr] = $c["train_s"]; rp[nr] = $c["p_at_1"]; next }
  $c["run_id"] == id "-dense" && $c["eval_set"] == "full" { dp = $c["p_at_1"]; dt = $c["train_s"] }
  index($c["run_id"], id) == 1 && $c["eval_set"] == "full" {
    key = $c["system"] " " $c["threads"]
    n[key]++; sps[key, n[key]] = $c["samples_seen"] / $c["train_s"]
    if ($c["peak_rss_mb"] > rss[key]) rss[key] = $c["peak_rss_mb"]
    rec[key] = $c["recall_at_5"]; act[key] = $c["active_avg"]; p1[key] = $c["p_at_1"]; ts[key] = $c["train_s"]
  }
  END {
    printf "%-16s %8s %6s %12s %12s %10s %10s %8s\n", "system threads", "runs", "", "samples/s", "peak_rss_mb", "active", "recall@5", "P@1"
    for (k in n) {
      for (i = 1; i <= n[k]; i++) v[i] = sps[k, i]
      m[k] = med(v, n[k])
      printf "%-16s %8d %6s %12.1f %12.1f %10s %10s %8s\n", k, n[k], "", m[k], rss[k], act[k], rec[k], p1[k]
    }
    if (("slide 2" in m) && ("slide 1" in m)) printf "2 threads / 1 thread: %.2fx\n", m["slide 2"] / m["slide 1"]
    if (("slide 2" in m) && ("dense-cpu 2" in m)) printf "slide / dense-cpu samples/s (2 threads): %.2fx\n", m["slide 2"] / m["dense-cpu 2"]
    if (dt != "") {
      for (i = 1; i <= nr; i++) if (rp[i] + 0 >= dp + 0) break
      if (i <= nr) printf "race: dense-cpu P@1 %s after one epoch (%.1f s); slide reached %s after %.1f s: %.1fx sooner\n", dp, dt, rp[i], rt[i], dt / rt[i]
      else if (nr) printf "race: dense-cpu P@1 %s after one epoch (%.1f s); slide did not reach it in %d evaluations (best last %s at %.1f s)\n", dp, dt, nr, rp[nr], rt[nr]
    }
  }' "$CSV" | tee "$OUT/summary.txt"
# Why recall@5 is what it is (the first 2-thread run's diagnosis; rows in OUT/e2e.recall.csv).
for f in "$OUT/slide-t2-r1.log" "$OUT"/slide-t*-r1.log; do
  [ -f "$f" ] && grep -h '^\[recall\]' "$f" | tee -a "$OUT/summary.txt" && break
done || true
