#!/bin/sh
# Seed spread of SLIDE's final accuracy: trains once per seed (default 5 seeds, 2 threads) and
# appends one summary row (min / median / max of the final full-test-set P@1 and P@5) to a CSV.
# Reported, not asserted: with 2+ threads HOGWILD makes runs differ even for one seed.
set -eu
usage() {
  cat <<USAGE
usage: bench/e2e/seed_spread.sh [--seeds "1 2 3 4 5"] [--threads N] [--epochs E]
                                [--train FILE --test FILE --dataset-name NAME]
                                [--out CSV] [--bin DIR] [-- extra slide-train options]
  default data: the synthetic 'tiny' preset, generated into build/tmp/seed-spread/data
  --out       summary CSV (default results/seed_spread.csv); the per-evaluation rows of every
              run go to <out without .csv>.runs.csv
  --bin       program directory (default build/bin; run 'make' first)
USAGE
}
SEEDS="1 2 3 4 5"; THREADS=2; EPOCHS=5; TRAIN=""; TEST=""; NAME=""; OUT=results/seed_spread.csv
BIN=${SLIDE_BIN:-build/bin}
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=${2:?}; shift ;;
    --threads) THREADS=${2:?}; shift ;;
    --epochs) EPOCHS=${2:?}; shift ;;
    --train) TRAIN=${2:?}; shift ;;
    --test) TEST=${2:?}; shift ;;
    --dataset-name) NAME=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --bin) BIN=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "seed_spread.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for p in slide-train slide-gen; do
  [ -x "$BIN/$p" ] || { echo "seed_spread.sh: $BIN/$p missing (run make)" >&2; exit 2; }
done
if [ -z "$TRAIN" ]; then
  DATA=build/tmp/seed-spread/data
  [ -f "$DATA/train.txt" ] || "$BIN/slide-gen" --preset tiny --seed 1 --out "$DATA" >/dev/null
  TRAIN=$DATA/train.txt; TEST=$DATA/test.txt; NAME=${NAME:-synthetic-tiny}
fi
NAME=${NAME:-$(basename "$(dirname "$TRAIN")")}
RUNS=${OUT%.csv}.runs.csv
ID=$(date -u +%Y%m%dT%H%M%SZ)-seeds
mkdir -p "$(dirname "$OUT")"
for s in $SEEDS; do
  echo "[seed-spread] seed $s" >&2
  if ! "$BIN/slide-train" --train "$TRAIN" --test "$TEST" --dataset-name "$NAME" --csv "$RUNS" \
      --run-id "$ID-s$s" --seed "$s" --threads "$THREADS" --epochs "$EPOCHS" --progress 0 "$@" \
      2>"${OUT%.csv}.log"; then
    echo "seed_spread.sh: slide-train failed for seed $s:" >&2
    tail -n 5 "${OUT%.csv}.log" >&2
    exit 1
  fi
done
# Final full-test-set row of each run of this batch, by column name.
vals=$(awk -F, -v id="$ID-s" '
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  index($c["run_id"], id) == 1 && $c["eval_set"] == "full" { p1[$c["run_id"]] = $c["p_at_1"]; p5[$c["run_id"]] = $c["p_at_5"] }
  END { for (r in p1) print p1[r], p5[r] }' "$RUNS")
summary=$(printf '%s\n' "$vals" | awk '
  function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
  NF == 2 { n++; a[n] = $1; b[n] = $2 }
  END { if (!n) exit 1; sort(a, n); sort(b, n)
        printf "%d,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f", n, a[1], med(a, n), a[n], a[n] - a[1], b[1], med(b, n), b[n] }')
HEADER="run_id,utc,git_commit,host,dataset,threads,epochs,seeds,n_runs,p1_min,p1_median,p1_max,p1_spread,p5_min,p5_median,p5_max"
[ -s "$OUT" ] || echo "$HEADER" > "$OUT"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo NA)
row="$ID,$(date -u +%Y-%m-%dT%H:%M:%SZ),$commit,$(hostname | tr ',' '_'),$NAME,$THREADS,$EPOCHS,$(echo $SEEDS | tr ' ' ';'),$summary"
echo "$row" >> "$OUT"
echo "$HEADER"
echo "$row"
