#!/bin/sh
# plot_all.sh RUN_DIR [OUT_DIR]: draws every figure (PNG + SVG) of a run directory from its CSVs
# into OUT_DIR (default RUN_DIR/figures); see plots/README.md. Missing inputs give a placeholder
# figure saying why; exits nonzero only when gnuplot failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
usage() {
    echo "usage: sh plots/plot_all.sh RUN_DIR [OUT_DIR]   (OUT_DIR: RUN_DIR/figures; see plots/README.md)"
    echo "environment: P1_TARGET=0.6 (P@1 threshold of threads), PLOTS_KEEP_TMP=1 (keep derived data)"
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
[ $# -le 2 ] || { usage >&2; exit 2; }
run=$1; out=${2:-$run/figures}
[ -d "$run" ] || { echo "plot_all.sh: $run: no such run directory" >&2; exit 2; }
command -v gnuplot >/dev/null 2>&1 || {
    echo "[plots] gnuplot not found (apt-get install --no-install-recommends gnuplot-nox): no figures drawn"; exit 0; }
mkdir -p "$out" || { echo "plot_all.sh: cannot create $out" >&2; exit 2; }
out=$(cd "$out" && pwd)
# Derived data lives in a private temporary directory (no spaces: gnuplot splits file lists).
base=${TMPDIR:-/tmp}; case $base in *[[:space:]]*) base=/tmp ;; esac
tmp=$(mktemp -d "$base/slide-plots.XXXXXX") || { echo "plot_all.sh: mktemp failed" >&2; exit 2; }
if [ "${PLOTS_KEEP_TMP:-0}" = 1 ]; then echo "[plots] derived data kept in $tmp"
else trap 'rm -rf "$tmp"' EXIT; trap 'rm -rf "$tmp"; exit 130' INT TERM; fi
nfig=0; nfail=0; nmsg=0; nplace=0
# gnuplot_run NAME SCRIPT ASSIGNMENTS: one PNG and one SVG; its messages go to stderr, prefixed.
gnuplot_run() {
    _ok=0
    for fmt in png svg; do
        rm -f "$out/$1.$fmt"
        gnuplot -e "fmt='$fmt'; out='$out/$1'; dir='$here'; P1_TARGET='${P1_TARGET:-}'; $3" "$here/$2" \
            >"$tmp/gp.out" 2>&1 && [ -s "$out/$1.$fmt" ] || _ok=1
        sed "s|^|[gnuplot $1.$fmt] |" "$tmp/gp.out" >&2
        nmsg=$((nmsg + $(wc -l <"$tmp/gp.out")))
    done
    return $_ok
}
q() { printf '%s' "$1" | tr "'" '"'; } # text for a gnuplot '...' string
# placeholder NAME TITLE WHY
placeholder() {
    echo "[plots] $1: no data: $3"
    nplace=$((nplace + 1))
    gnuplot_run "$1" nodata.gp "FIG_TITLE='$(q "$2")'; CAPTION='$(q "run directory: $run")'; WHY='$(q "$3")'" || {
        echo "[plots] $1: FAILED to draw even the placeholder" >&2
        nfail=$((nfail + 1))
    }
}
# has_cols FILE COL...: the header names every COL and a data row follows
has_cols() {
    _f=$1; shift
    [ "$(wc -l <"$_f")" -ge 2 ] || return 1
    _h=",$(head -n 1 "$_f" | tr -d '\r'),"
    for _c in "$@"; do case $_h in *",$_c,"*) ;; *) return 1 ;; esac; done
}
# fig NAME TITLE SCRIPT.gp "COL..." WHAT FILE...: SCRIPT over the FILEs having the columns COL (as
# FILES); a script whose filters leave nothing draws the placeholder and writes why to OUT/NAME.nodata
fig() {
    name=$1; title=$2; gp=$3; cols=$4; what=$5; shift 5
    nfig=$((nfig + 1)); files=""
    # shellcheck disable=SC2086 # $cols is a list of column names
    for f; do [ -f "$f" ] && has_cols "$f" $cols && files="$files${files:+ }$f"; done
    [ -n "$files" ] || { placeholder "$name" "$title" "$what not in this run directory (or without $cols)"; return; }
    rm -f "$out/$name.nodata"
    if ! gnuplot_run "$name" "$gp" "FILES='$files'"; then
        echo "[plots] $name: gnuplot failed" >&2; nfail=$((nfail + 1))
        placeholder "$name" "$title" "gnuplot failed on $gp (see the messages above)"
    elif [ -f "$out/$name.nodata" ]; then
        echo "[plots] $name: no data: $(head -n 1 "$out/$name.nodata")"
        nplace=$((nplace + 1)); rm -f "$out/$name.nodata"
    else
        echo "[plots] $name: $out/$name.png, .svg (from: $*)"
    fi
}
# The flat Google Benchmark CSV: micro.csv, else the newest micro-*.csv of the run.
micro=$run/micro.csv
[ -f "$micro" ] || for f in "$run"/micro-*.csv "$run"/micro/micro-*.csv; do [ -f "$f" ] && micro=$f; done
kern=$run/slide-bench-kern.csv; [ -f "$kern" ] || kern=$run/bench_kern.csv
parse=$run/slide-bench-parse.csv; [ -f "$parse" ] || parse=$run/bench_parse.csv
# med FILE KEYS OUT: repetitions collapsed to their median (one row per configuration, same columns)
# shellcheck disable=SC2046 # KEYS as words
med() { [ -f "$1" ] && awk -v keys="$2" -f "$here/median.awk" "$1" >"$3" && has_cols "$3" $(echo "$2" | tr , ' '); }
med "$micro" family,args,threads "$tmp/micro.csv" && micro=$tmp/micro.csv
med "$kern" bench,simd,regime,active "$tmp/kern.csv" && kern=$tmp/kern.csv
med "$parse" bench "$tmp/parse.csv" && parse=$tmp/parse.csv

# per_run NAME KEYS GROUP RATIOS FILE...: prints $tmp/NAME.runs.csv (runs.awk, sorted by GROUP,
# threads numerically: a curve's rows must be adjacent) after writing the GROUP medians, NAME.med.csv
per_run() {
    _n=$1 _k=$2 _g=$3 _r=$4; shift 4
    for f; do shift; [ -f "$f" ] && has_cols "$f" train_s && set -- "$@" "$f"; done
    [ $# -gt 0 ] || return 0
    awk -v keys="$_k" -v ratios="$_r" -v target="${P1_TARGET:-}" -f "$here/runs.awk" "$@" >"$tmp/$_n.r" || return 0
    _s=$(head -n 1 "$tmp/$_n.r" | awk -F, -v g="$_g" '{ for (i = 1; i <= NF; i++) P[$i] = i
        n = split(g, G, ","); for (j = 1; j <= n; j++) printf "-k%d,%d%s ", P[G[j]], P[G[j]], G[j] == "threads" ? "g" : "" }')
    # shellcheck disable=SC2086 # $_s: sort keys
    { head -n 1 "$tmp/$_n.r"; tail -n +2 "$tmp/$_n.r" | sort -t, $_s; } >"$tmp/$_n.runs.csv" &&
        awk -v keys="$_g" -f "$here/median.awk" "$tmp/$_n.runs.csv" >"$tmp/$_n.med.csv" && echo "$tmp/$_n.runs.csv"
}

echo "[plots] run $run -> $out"
fig p1_vs_time "P@1 vs training time" p1_vs_time.gp "train_s p_at_1" \
    "e2e.csv / dense*.csv / torch*.csv" "$run"/e2e.csv "$run"/dense*.csv "$run"/torch*.csv
fig p1_vs_iter "P@1 vs iterations" p1_vs_iter.gp "iter p_at_1" \
    "e2e.csv / dense*.csv / torch*.csv" "$run"/e2e.csv "$run"/dense*.csv "$run"/torch*.csv
fig threads "Convergence time vs threads" threads.gp "threads train_s" "threads.csv" \
    "$(per_run threads run_id,dataset,system,threads dataset,system,threads train_s/epoch "$run"/threads.csv)"
fig hash_families "Hash families across thread counts" hash_families.gp "hash_family p_at_1" "hash.csv" \
    "$(per_run hash run_id,dataset,hash_family,threads dataset,hash_family,threads samples_seen/train_s "$run"/hash.csv)"
fig bucket_insert "Hash-table insertion: FIFO vs reservoir (paper Table 3)" bucket_insert.gp \
    "family args" "micro.csv (lsh_insert, lsh_build)" "$micro"
fig hugepages "Hugepages none / thp / explicit" hugepages.gp "train_s" "hugepages.csv" \
    "$(per_run hugepages run_id,hugepages_requested,hugepages hugepages_requested "train_s/epoch papi_tlb_dm/samples_seen \
    papi_l1_dcm/samples_seen papi_l2_dcm/samples_seen papi_l3_tcm/samples_seen papi_perf_page_faults/samples_seen \
    rusage_minflt/samples_seen" "$run"/hugepages.csv "$run"/hugepages.breakdown.csv)"
fig table4 "dTLB misses with 4 KB vs 2 MB pages (paper Table 4)" table4.gp \
    "layer phase train_order page_mode miss_rate walks_per_sample" "*.tlb.csv (slide-train --tlb-sim)" "$run"/*.tlb.csv
fig micro_hash "Hashing throughput vs K*L and threads" micro_hash.gp "family args" \
    "micro.csv (hash_dense, hash_sparse)" "$micro"
fig micro_query "Bucket-query latency" micro_query.gp "family args" \
    "micro.csv (lsh_query)" "$micro"
fig micro_matmul "Active-set sparse matmul: scalar vs AVX2 vs AVX-512" micro_matmul.gp "family args" \
    "micro.csv (matmul_fwd, matmul_bwd)" "$micro"
fig micro_gather "Gather rate vs page size" micro_gather.gp "family args" \
    "micro.csv (hugepages_gather)" "$micro"
fig sampling "Sampling at equal budget: P@1 vs iterations" sampling.gp "dataset budget curve iter p1_median" \
    "sampling.summary.csv (bench/e2e/sampling.sh)" "$run"/sampling.summary.csv "$run"/sampling/sampling.summary.csv
fig sampling_time "Sampling at equal budget: P@1 vs training time" sampling_time.gp \
    "dataset budget curve train_s_median p1_median" "sampling.summary.csv (bench/e2e/sampling.sh)" \
    "$run"/sampling.summary.csv "$run"/sampling/sampling.summary.csv
fig breakdown "Training time breakdown" breakdown.gp "train_s" \
    "*.breakdown.csv" "$run"/*.breakdown.csv
fig recall "Recall diagnosis" recall.gp "neurons_of cos_lo neurons found iter" \
    "e2e.recall.csv" "$run"/e2e.recall.csv
fig kern "Kernel paths (slide-bench-kern)" kern.gp "bench simd regime rows_per_s" \
    "slide-bench-kern.csv" "$kern"
fig parse "Data loading (slide-bench-parse)" parse.gp "bench mb_per_s" \
    "slide-bench-parse.csv" "$parse"
fig scaleout "Scale-out model (slide-train-mpi)" scaleout.gp "network nodes samples_per_s gpu_dense_samples_per_s" \
    "scaleout.csv (bench/e2e/bench_mpi.sh, scaleout_model.sh)" "$run"/scaleout.csv "$run"/mpi-bench/scaleout.csv

echo "[plots] $nfig figures in $out ($nplace placeholders, $nfail failed, $nmsg gnuplot messages)"
[ $nfail -eq 0 ]
