#!/bin/sh
# Interleaved A/B runs of slide-train on the Amazon-670K-shape benchmark data (the files and
# config of bench_amazon.sh): round r runs every variant once, in order, so that the host's load
# (other jobs on a shared machine) falls on all variants alike; the summary gives each variant's
# median samples/s and train time, and its ratio to the first variant. Variant k's rows go to
# OUT/e2e-v<k>.csv (run ids <stamp>-ab-v<k>-r<r>; one file per variant, so that builds writing
# different columns compare) and the breakdown next to it; the summary to OUT/summary.txt.
set -eu
usage() {
  cat <<USAGE
usage: bench/e2e/ab_amazon.sh [--scale S] [--rounds N] [--epochs E] [--threads T]
                              [--test-points N] [--out DIR] [--bin DIR] VARIANT VARIANT...
  VARIANT        slide-train options of one variant, as one argument ("" = the config as is),
                 e.g. "--train-order row-sweep" "--train-order per-sample"; this script's
                 options come first (an unknown one would be taken for a variant and fail).
                 "@PATH options": the variant runs the slide-train binary at PATH (an A/B of
                 two builds: "@/tmp/before/slide-train" "@build/bin/slide-train")
  --scale        fraction of the preset's training points (default 0.05, as bench_amazon.sh)
  --rounds       rounds; each runs every variant once (default 3; the summary gives medians)
  --epochs       epochs per run (default 1)
  --threads      OpenMP threads (default 2, pinned)
  --test-points  test points evaluated at the end of each run (default 200)
  --out          output directory (default results/amazon-ab)
  --bin          program directory (default build/bin; run 'make' first)
USAGE
}
SCALE=0.05; ROUNDS=3; EPOCHS=1; THREADS=2; TESTN=200; OUT=results/amazon-ab
BIN=${SLIDE_BIN:-build/bin}
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=${2:?}; shift ;;
    --rounds) ROUNDS=${2:?}; shift ;;
    --epochs) EPOCHS=${2:?}; shift ;;
    --threads) THREADS=${2:?}; shift ;;
    --test-points) TESTN=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) break ;; # the variants (they start with "--" too: options of this script come first)
  esac
  shift
done
[ $# -ge 2 ] || { echo "ab_amazon.sh: give at least two variants" >&2; usage >&2; exit 2; }
for v in "$ROUNDS" "$THREADS" "$TESTN"; do
  case "$v" in ''|*[!0-9]*|0) echo "ab_amazon.sh: --rounds, --threads and --test-points must be positive integers" >&2; exit 2 ;; esac
done
for p in slide-train slide-gen; do
  [ -x "$BIN/$p" ] || { echo "ab_amazon.sh: $BIN/$p missing (run make)" >&2; exit 2; }
done
DATA=$(sh bench/e2e/amazon_data.sh "$BIN" "$SCALE")
TEST=$(sh bench/e2e/test_subset.sh "$DATA/test.txt" "$TESTN")
mkdir -p "$OUT"
ID=$(date -u +%Y%m%dT%H%M%SZ)-ab
: > "$OUT/variants.txt"
k=1
for v in "$@"; do echo "v$k	$v" >> "$OUT/variants.txt"; k=$((k + 1)); done
echo "[ab] load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
r=1
while [ "$r" -le "$ROUNDS" ]; do
  k=1
  for v in "$@"; do
    echo "[ab] round $r of $ROUNDS, v$k: ${v:-(config as is)}" >&2
    prog="$BIN/slide-train"; opts=$v
    case "$v" in @*) prog=${v%% *}; prog=${prog#@}; opts=${v#@"$prog"} ;; esac
    [ -x "$prog" ] || { echo "ab_amazon.sh: $prog (v$k) is not an executable" >&2; exit 2; }
    # shellcheck disable=SC2086 # a variant is a list of options
    if ! "$prog" --config bench/e2e/configs/amazon670k.conf --train "$DATA/train.txt" \
        --test "$TEST" --dataset-name "synth-amazon670k-s$SCALE" --epochs "$EPOCHS" --eval-every 0 \
        --threads "$THREADS" --run-id "$ID-v$k-r$r" --progress 0 --csv "$OUT/e2e-v$k.csv" $opts \
        2>"$OUT/v$k-r$r.log"; then
      echo "ab_amazon.sh: slide-train failed (v$k: $v):" >&2; tail -n 5 "$OUT/v$k-r$r.log" >&2; exit 1
    fi
    k=$((k + 1))
  done
  r=$((r + 1))
done
echo "[ab] load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
awk -F, -v id="$ID" '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
                                  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  FILENAME ~ /variants.txt$/ { split($0, f, "\t"); opt[f[1]] = f[2]; nv++; next }
  FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  index($c["run_id"], id "-v") == 1 && $c["eval_set"] == "full" {
    split(substr($c["run_id"], length(id) + 2), p, "-")
    v = p[1]; n[v]++; rd = substr(p[2], 2)
    sps[v, n[v]] = $c["samples_seen"] / $c["train_s"]; ts[v, n[v]] = $c["train_s"]
    by_round[v, rd] = $c["samples_seen"] / $c["train_s"]; if (rd + 0 > nr) nr = rd + 0
    order[v] = $c["train_order"]; rss[v] = $c["peak_rss_mb"]
  }
  END {
    printf "%-4s %5s %12s %10s %12s %8s %9s %-11s %s\n", "var", "runs", "samples/s", "train_s", "peak_rss_mb", "vs v1", "rounds/v1", "train_order", "options"
    for (k = 1; k <= nv; k++) {
      v = "v" k
      if (!n[v]) continue
      for (i = 1; i <= n[v]; i++) { a[i] = sps[v, i]; b[i] = ts[v, i] }
      m[v] = med(a, n[v]); t = med(b, n[v])
      # the median of the per-round ratios to v1 (the runs of a round are close in time)
      q = 0; for (r = 1; r <= nr; r++) if (by_round[v, r] > 0 && by_round["v1", r] > 0) q_[++q] = by_round[v, r] / by_round["v1", r]
      rq = q ? med(q_, q) : 0
      printf "%-4s %5d %12.1f %10.2f %12.1f %7.2fx %8.3fx %-11s %s\n", v, n[v], m[v], t, rss[v], (m["v1"] > 0 ? m[v] / m["v1"] : 0), rq, order[v], opt[v] == "" ? "(config as is)" : opt[v]
    }
  }' FS=, "$OUT/variants.txt" FS=, $(k=1; for v in "$@"; do echo "$OUT/e2e-v$k.csv"; k=$((k + 1)); done) |
  tee "$OUT/summary.txt"
