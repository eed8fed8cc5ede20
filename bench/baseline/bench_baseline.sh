#!/bin/sh
# `make bench-baseline`: in one run, (a) raw BLAS sgemm GFLOP/s for the dense output layer's
# three products at the Amazon-670K shape (slide-bench-sgemm), and (b) the GFLOP/s slide-dense
# achieves in those products while training on an Amazon-670K-shaped synthetic set, each against
# the machine's measured FMA peak; appends rows to one CSV and prints the ratios.
set -u

BIN="${BIN:-build/bin}"
threads=2
reps=5
csv=results/bench_baseline.csv
data=build/data/bench-dense
steps=9
batch=256
blas=openblas

usage() {
    cat <<EOF
usage: BIN=build/bin sh bench/baseline/bench_baseline.sh [--threads T] [--reps N] [--steps N]
                                                     [--csv PATH] [--data DIR] [--blas B]
  --threads T   threads for sgemm and slide-dense (default $threads)
  --reps N      timed sgemm repetitions after 2 warm-ups; median reported (default $reps)
  --steps N     slide-dense training steps of batch $batch; the first is dropped (first touch of
                ~1.7 GB), the median of the others reported (default $steps)
  --csv PATH    rows appended here (default $csv)
  --blas B      openblas (default) or blis, for both programs
  --data DIR    Amazon-670K-shaped set; made with slide-gen --preset amazon670k-v1 --scale 0.002
                --label-scale 1 --seed 1 when missing (default $data)
Rows: what = sgemm-logits | sgemm-dW1 | sgemm-dH | sgemm-all3 (mode openblas: one call with
the BLAS's own threads; mode split: label blocks over OpenMP threads, as slide-dense does), and
slide-dense-gemm (the three products inside training), slide-dense-effective (their flops over
the whole training step), with samples_per_s and peak_frac (share of the measured FMA peak).
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --threads | --reps | --steps | --csv | --data | --blas)
        [ $# -ge 2 ] || { echo "bench_baseline: $1 needs a value (see --help)" >&2; exit 2; }
        case "$1" in
        --threads) threads=$2 ;; --reps) reps=$2 ;; --steps) steps=$2 ;;
        --csv) csv=$2 ;; --data) data=$2 ;; --blas) blas=$2 ;;
        esac
        shift 2 ;;
    *) echo "bench_baseline: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$threads" "$reps" "$steps"; do
    case "$v" in '' | *[!0-9]* | 0) echo "bench_baseline: --threads, --reps, --steps need positive integers" >&2; exit 2 ;; esac
done
[ "$steps" -ge 2 ] || { echo "bench_baseline: --steps must be at least 2" >&2; exit 2; }
for p in slide-bench-sgemm slide-dense slide-gen; do
    [ -x "$BIN/$p" ] || { echo "bench_baseline: $BIN/$p not built (make bench-baseline builds it)" >&2; exit 2; }
done

if [ ! -f "$data/train.txt" ] || [ ! -f "$data/test.txt" ]; then
    echo "[data] making $data (Amazon-670K shape, 0.2% of the points, all 670,091 labels)"
    "$BIN/slide-gen" --preset amazon670k-v1 --scale 0.002 --label-scale 1 --seed 1 --out "$data" >/dev/null ||
        { echo "bench_baseline: slide-gen failed" >&2; exit 1; }
fi
labels=$(head -n 1 "$data/train.txt" | awk '{ print $3 }')
run_id="bench-baseline-$(date -u +%Y%m%dT%H%M%SZ)-$$"
tmp="build/tmp/bench-baseline-$$"
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "[load] $(cut -d' ' -f1-3 /proc/loadavg) before the run (1, 5, 15 min)"

# (a) raw sgemm at the output layer's shape
"$BIN/slide-bench-sgemm" --threads "$threads" --batch "$batch" --hidden 128 --labels "$labels" \
    --reps "$reps" --warmup 2 --mode both --blas "$blas" --csv "$csv" --run-id "$run_id" || exit 1

# (b) slide-dense training steps on the same shape
"$BIN/slide-dense" --train "$data/train.txt" --test "$data/test.txt" --dataset-name amazon670k-synth \
    --batch "$batch" --threads "$threads" --blas "$blas" --epochs 1000 --eval-every 1 --eval-n 32 --progress 0 \
    --csv "$tmp/dense.csv" --run-id "$run_id" \
    >"$tmp/dense.log" 2>&1 &
pid=$!
rows() { if [ -f "$tmp/dense.csv" ]; then echo $(($(wc -l <"$tmp/dense.csv") - 1)); else echo 0; fi; }
# stop after `steps` rows (each row = one training step + a 32-point evaluation)
while kill -0 "$pid" 2>/dev/null; do
    [ "$(rows)" -ge "$steps" ] && { kill -TERM "$pid"; break; }
    sleep 0.5
done
wait "$pid" 2>/dev/null
n=$(rows)
if [ "$n" -lt 2 ]; then
    echo "bench_baseline: slide-dense produced $n rows:" >&2
    cat "$tmp/dense.log" >&2
    exit 1
fi

# medians over the rows after the first, by column name
awk -F, -v csv="$csv" -v L="$labels" -v H=128 -v B="$batch" -v T="$threads" -v rid="$run_id" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" -v utc="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
NR == 2 { next }   # first step: page faults of the 1.7 GB of parameters and logits
{
    k++; g[k] = $c["gflops"]; sp[k] = $c["samples_per_s"]; e[k] = 6 * L * H * $c["samples_per_s"] / 1e9
    host = $c["host"]; cpu = $c["cpu_model"]; git = $c["git_commit"]; core = $c["simd"]; pk = $c["peak_gflops"]
    if (k == 1 || $c["gflops"] < gmin) gmin = $c["gflops"]; if (k == 1 || $c["gflops"] > gmax) gmax = $c["gflops"]
    if (k == 1 || e[k] < emin) emin = e[k]; if (k == 1 || e[k] > emax) emax = e[k]
}
END {
    if (k < 1) exit 1
    gm = median(g, k); sm = median(sp, k); em = median(e, k)
    lib = core; sub(/-.*/, "", lib); sub(/^[^-]*-/, "", core)
    fg = pk + 0 > 0 ? sprintf("%.4f", gm / pk) : "NA"; fe = pk + 0 > 0 ? sprintf("%.4f", em / pk) : "NA"
    printf "%s,%s,%s,%s,%s,%d,%s,slide-dense-gemm,train,%d,%d,%d,%d,%.2f,%.2f,%.2f,%.6f,%.1f,%s,%s,%s,%s,NA\n", utc, host, cpu, git, rid, T, load, B, H, L, k, gm, gmin, gmax, B / sm, sm, core, lib, pk, fg >> csv
    printf "%s,%s,%s,%s,%s,%d,%s,slide-dense-effective,train,%d,%d,%d,%d,%.2f,%.2f,%.2f,%.6f,%.1f,%s,%s,%s,%s,NA\n", utc, host, cpu, git, rid, T, load, B, H, L, k, em, emin, emax, B / sm, sm, core, lib, pk, fe >> csv
    printf "slide-dense: %d steps (after the first): sgemm %.1f GFLOP/s median (%.1f..%.1f, %s of the %s GFLOP/s peak), whole step %.1f GFLOP/s, %.1f samples/s\n", k, gm, gmin, gmax, fg, pk, em, sm
}' "$tmp/dense.csv" || { echo "bench_baseline: could not read $tmp/dense.csv" >&2; exit 1; }

# the ratio, from this run's rows
awk -F, -v rid="$run_id" '
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
$c["run_id"] == rid { m = $c["mode"]; if (m != "split" && m != "train") m = "lib"; v[$c["what"] "/" m] = $c["gflops"]; f[$c["what"] "/" m] = $c["peak_frac"] }
END {
    raw = v["sgemm-all3/lib"]; split_ = v["sgemm-all3/split"]; tr = v["slide-dense-gemm/train"]; ef = v["slide-dense-effective/train"]
    printf "raw sgemm (3 products, the BLAS threads): %.1f GFLOP/s; as slide-dense splits them: %.1f GFLOP/s\n", raw, split_
    printf "share of the measured FMA peak: raw %s, split %s, slide-dense in training %s\n", f["sgemm-all3/lib"], f["sgemm-all3/split"], f["slide-dense-gemm/train"]
    if (raw > 0) printf "ratio slide-dense in-training sgemm / raw sgemm: %.2f (vs the split form: %.2f); whole training step / raw: %.2f\n", tr / raw, (split_ > 0 ? tr / split_ : 0), ef / raw
}' "$csv"
echo "[load] $(cut -d' ' -f1-3 /proc/loadavg) after the run; rows -> $csv (run_id $run_id)"
