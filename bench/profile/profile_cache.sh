#!/bin/sh
# Simulated cache profile of SLIDE training: a short slide-train run under callgrind with cache
# simulation (this machine's D1 and last-level geometry from sysfs), D1 and LL misses per phase.
set -eu

usage() {
  cat <<USAGE
usage: bench/profile/profile_cache.sh [--data delicious|amazon|tiny|both] [--batches N]
                                      [--warmup W] [--window A:B] [--threads T] [--simd P]
                                      [--scale S] [--out DIR] [--bin DIR] [-- slide-train opts]
       bench/profile/profile_cache.sh --attribute CALLGRIND_OUT --csv STEM.csv
                                      [--samples N] [--batches-run A:B]
       bench/profile/profile_cache.sh --phase-of FUNCTION | --geometry

Runs slide-train under valgrind --tool=callgrind --cache-sim=yes with the cache geometry of
this machine (sysfs, cpu0) and attributes D1 and last-level (LL) data misses to the training
phases (hash, query, forward, backward, update, rehash; other; total) through the functions
that implement them. Rows go to <csv stem>.cache.csv (results/SCHEMA.md). A simulation, not a
hardware count; best with the profile build (make profile-cache: phase functions not inlined).

  --data      delicious (vendored set), amazon (Amazon-670K shape, slide-gen), tiny, or
              both = delicious and amazon (default both)
  --batches   batches profiled (default 20)
  --warmup    batches trained before them at least (default 10); the window A:B then ends at
              the next multiple of the configuration's --rehash, so it holds one rehash
  --window    profile exactly batches A..B (counted from 1) instead
  --threads   OpenMP threads (default 1: callgrind runs threads one at a time through one
              simulated cache, so one thread gives the per-core picture)
  --simd      kernel path, avx2 (default where the CPU has it, else scalar) or scalar;
              Debian 12's Valgrind 3.19 cannot run AVX-512 code
  --scale     fraction of the Amazon-670K-shape training points (default 0.05)
  --valgrind-warmup  train the batches before the window under valgrind too (default: natively,
              into a checkpoint that the profiled run resumes; the same state, one thread or not)
  --out       output directory (default results/cacheprof): DIR/train.csv (slide-train rows),
              DIR/train.cache.csv, DIR/callgrind.<data>.out, DIR/<data>.log
  --bin       program directory (default build/profile/bin)
  --attribute write the rows of an existing callgrind.out file to <STEM>.cache.csv; context
              columns from the last row of STEM.csv when it exists
  --phase-of  print the phase a function name maps to ("inherit": its callers' phases)
  --geometry  print the --D1/--LL options this machine's caches give
Environment: SLIDE_VALGRIND (default valgrind). Without valgrind: one line, exit 0.
USAGE
}

# Function (or CALLER>CALLEE call) -> phase. A function not listed takes its callers' phases;
# OpenMP outlined bodies (NAME._omp_fn.N) fall back to NAME. The phases follow the breakdown
# timers of core/src/network.c (persample_fwd_bwd, the row sweep's sweep_* phases).
PHASE_TABLE='
select_active>slide_hash_keys_dense     hash
select_active>slide_layer_query_vector  hash
select_active                           query
slide_net_select_active>slide_hash_keys_dense     hash
slide_net_select_active>slide_layer_query_vector  hash
slide_net_select_active                 query
slide_lsh_bucket                        query
slide_lsh_query_ranked                  query
query_buckets                           query
keep_most_collided                      query
slide_lsh_prefetch                      query
forward_layers                          forward
slide_net_forward                       forward
output_delta_of                         forward
slide_net_train_batch._omp_fn.0         forward   # per sample: forward, then backward
persample_fwd_bwd                       forward
persample_fwd_bwd._omp_fn.0             forward
sweep_select                            forward   # row sweep 1: hidden layer, active sets
sweep_select._omp_fn.0                  forward
sweep_record                            forward
sweep_sort>sort_entries                 forward   # row sweep 2: entries sorted by row
sweep_logits                            forward   # row sweep 3: logits row by row
sweep_logits._omp_fn.0                  forward
sweep_softmax                           forward   # row sweep 4: softmax, deltas
sweep_softmax._omp_fn.0                 forward
sweep_hidden_backward                   backward  # row sweep 6: dx, hidden layer backward
sweep_hidden_backward._omp_fn.0         backward
backward                                backward
backward_input_major                    backward
slide_hogwild_axpy                      backward
slide_hogwild_add                       backward
touch_row                               backward
adam_update                             update
update_rows                             update
update_input_major                      update
run_schedule                            rehash
slide_layer_rehash_dirty                rehash
slide_layer_rebuild_tables              rehash
slide_hash_keys_dense_batch             rehash
slide_lsh_build                         rehash
slide_lsh_insert                        rehash
slide_lsh_remove                        rehash
'
export SLIDE_PHASE_TABLE="$PHASE_TABLE"
HERE=$(cd "$(dirname "$0")" && pwd)
ATTR="$HERE/cache_attr.awk"
HEADER="run_id,utc,git_commit,host,cpu_model,simd,threads,dataset,source,phase,level,refs,misses,\
miss_rate,misses_per_sample,samples,batches,d1_size,d1_assoc,d1_line,ll_size,ll_assoc,ll_line,\
geometry"

die() { echo "profile_cache.sh: $*" >&2; exit 2; }

# D1 and LL geometry from sysfs as "--D1=size,assoc,line --LL=size,assoc,line"; GEOM_NOTE says
# where it came from. Callgrind needs a power-of-two number of sets: an LL without one (a
# 20-way 300 MB L3, say) keeps its sets rounded down to a power of two and its size, by more
# ways (as valgrind's own auto-detection does).
geometry() {
  GEOM=""; GEOM_NOTE="valgrind-default"
  d=/sys/devices/system/cpu/cpu0/cache
  [ -d "$d" ] || return 0
  d1=""; ll=""; llv=0
  for c in "$d"/index*; do
    [ -r "$c/size" ] || continue
    lv=$(cat "$c/level" 2>/dev/null || echo 0); ty=$(cat "$c/type" 2>/dev/null || echo "")
    sz=$(sed 's/K$/*1024/; s/M$/*1048576/; s/G$/*1073741824/' "$c/size")
    sz=$(($sz))
    as=$(cat "$c/ways_of_associativity" 2>/dev/null || echo 0)
    li=$(cat "$c/coherency_line_size" 2>/dev/null || echo 0)
    [ "$sz" -gt 0 ] && [ "$as" -gt 0 ] && [ "$li" -gt 0 ] || continue
    if [ "$lv" = 1 ] && [ "$ty" = Data ]; then d1="$sz $as $li"; fi
    if [ "$ty" != Instruction ] && [ "$lv" -gt "$llv" ]; then ll="$sz $as $li"; llv=$lv; fi
  done
  [ -n "$d1" ] && [ -n "$ll" ] || return 0
  GEOM_NOTE=sysfs
  set -- $d1; g=$(pow2_sets "$1" "$2" "$3"); GEOM="--D1=$g"
  [ "$g" = "$1,$2,$3" ] || GEOM_NOTE=sysfs-adjusted
  set -- $ll; g=$(pow2_sets "$1" "$2" "$3"); GEOM="$GEOM --LL=$g"
  [ "$g" = "$1,$2,$3" ] || GEOM_NOTE=sysfs-adjusted
}
pow2_sets() {
  sets=$(($1 / ($2 * $3))); p=1
  while [ $((p * 2)) -le "$sets" ]; do p=$((p * 2)); done
  if [ "$p" = "$sets" ] && [ $(($1 % ($2 * $3))) = 0 ]; then echo "$1,$2,$3"; return; fi
  as=$(( ($1 + $3 * p - 1) / ($3 * p) ))
  echo "$((as * $3 * p)),$as,$3"
}

# The context fields of the last row of a slide-train CSV (NA when there is none).
context_of() {
  if [ -f "$1" ]; then
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { last = $0 }
      END { n = split(last, v, ","); o = ""
            m = split("run_id utc git_commit host cpu_model simd threads dataset", k, " ")
            for (i = 1; i <= m; i++) o = o (i > 1 ? "," : "") ((k[i] in c) && last != "" ? v[c[k[i]]] : "NA")
            print o }' "$1"
  else
    echo "NA,NA,NA,NA,NA,NA,NA,NA"
  fi
}

# attribute CALLGRIND_OUT STEM.csv SAMPLES BATCHES: appends rows to STEM.cache.csv (the whole
# file rewritten to a temporary and renamed).
attribute() {
  out=${2%.csv}.cache.csv
  ctx=$(context_of "$2")
  tmp="$out.tmp.$$"
  if [ -f "$out" ]; then
    [ "$(head -n 1 "$out")" = "$HEADER" ] || die "$out: another header; move it away first"
    cat "$out" >"$tmp"
  else
    echo "$HEADER" >"$tmp"
  fi
  if ! awk -v ctx="$ctx" -v samples="$3" -v batches="$4" -v geometry="${GEOM_NOTE:-NA}" \
       -f "$ATTR" "$1" >>"$tmp"; then
    rm -f "$tmp"; die "$1: cannot attribute (see above)"
  fi
  mv "$tmp" "$out"
  echo "$out"
}

# Summary of the rows of one dataset on stdout.
summary() {
  awk -F, -v ds="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["dataset"] == ds && $c["run_id"] == rid { k = $c["phase"]; if (!(k in seen)) { seen[k]; o[++n] = k }
      r[k, $c["level"]] = $c["miss_rate"]; m[k, $c["level"]] = $c["misses_per_sample"] }
    END { printf "%-9s %12s %12s %16s %16s\n", "phase", "D1 miss rate", "LL miss rate",
                 "D1 miss/sample", "LL miss/sample"
          for (i = 1; i <= n; i++) printf "%-9s %12s %12s %16s %16s\n", o[i], r[o[i], "D1"],
              r[o[i], "LL"], m[o[i], "D1"], m[o[i], "LL"] }' rid="$3" "$1"
}

DATA=both; N=20; WARMUP=10; WINDOW=""; THREADS=1; SIMD=""; SCALE=0.05; VG_WARMUP=0
OUT=results/cacheprof; BIN=build/profile/bin; MODE=run; AFILE=""; ACSV=""; ASAMPLES=NA
ABATCHES=NA
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=${2:?--data needs a value}; shift ;;
    --batches) N=${2:?--batches needs a value}; shift ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift ;;
    --window) WINDOW=${2:?--window needs A:B}; shift ;;
    --threads) THREADS=${2:?--threads needs a value}; shift ;;
    --simd) SIMD=${2:?--simd needs a value}; shift ;;
    --scale) SCALE=${2:?--scale needs a value}; shift ;;
    --valgrind-warmup) VG_WARMUP=1 ;;
    --out) OUT=${2:?--out needs a directory}; shift ;;
    --bin) BIN=${2:?--bin needs a directory}; shift ;;
    --attribute) MODE=attribute; AFILE=${2:?--attribute needs a callgrind.out file}; shift ;;
    --csv) ACSV=${2:?--csv needs a path}; shift ;;
    --samples) ASAMPLES=${2:?--samples needs a value}; shift ;;
    --batches-run) ABATCHES=${2:?--batches-run needs A:B}; shift ;;
    --phase-of) MODE=phase; AFILE=${2:?--phase-of needs a function name}; shift ;;
    --geometry) MODE=geometry ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

case "$MODE" in
  phase) awk -v mode=phase-of -v name="$AFILE" -f "$ATTR" </dev/null; exit 0 ;;
  geometry) geometry; echo "$GEOM  ($GEOM_NOTE)"; exit 0 ;;
  attribute)
    [ -n "$ACSV" ] || die "--attribute needs --csv STEM.csv"
    [ -f "$AFILE" ] || die "$AFILE: no such file"
    attribute "$AFILE" "$ACSV" "$ASAMPLES" "$ABATCHES" >/dev/null
    echo "${ACSV%.csv}.cache.csv"; exit 0 ;;
esac

case "$SIMD" in
  avx512*) die "--simd $SIMD: Debian 12's Valgrind 3.19 cannot run AVX-512 code; profile avx2" ;;
  ""|auto) if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then SIMD=avx2; else SIMD=scalar; fi ;;
  avx2|scalar) ;;
  *) die "--simd $SIMD: expected avx2 or scalar" ;;
esac
case "$DATA" in both) SETS="delicious amazon" ;; delicious|amazon|tiny) SETS=$DATA ;;
  *) die "--data $DATA: expected delicious, amazon, tiny or both" ;; esac
for v in "$N" "$WARMUP" "$THREADS"; do
  case "$v" in ''|*[!0-9]*) die "--batches, --warmup and --threads take whole numbers" ;; esac
done
[ "$N" -ge 1 ] || die "--batches must be at least 1"
case "$WINDOW" in ""|[0-9]*:[0-9]*) ;; *) die "--window $WINDOW: expected A:B" ;; esac

VG=${SLIDE_VALGRIND:-valgrind}
if ! command -v "$VG" >/dev/null 2>&1; then
  echo "[profile-cache] valgrind not found (Debian package valgrind: apt-get install valgrind): no cache profile"
  exit 0
fi
[ -x "$BIN/slide-train" ] || die "$BIN/slide-train missing (run make profile-cache, or make)"

geometry
[ -n "$GEOM" ] || echo "[profile-cache] no cache sizes in sysfs: valgrind's own detection" >&2
[ "$GEOM_NOTE" != sysfs-adjusted ] ||
  echo "[profile-cache] LL with a set count that is not a power of two: simulated as $GEOM" >&2
mkdir -p "$OUT"
CSV=$OUT/train.csv
ID=$(date -u +%Y%m%dT%H%M%SZ)-cacheprof
for ds in $SETS; do
  t0=$(date +%s)
  case "$ds" in
    delicious)
      D=$(sh datasets/prepare_delicious.sh) || die "datasets/prepare_delicious.sh failed"
      CONF=bench/e2e/configs/delicious.conf; NAME=delicious; TRAIN=$D/train.txt
      TEST=$(sh bench/e2e/test_subset.sh "$D/test.txt" 1) ;;
    amazon)
      [ -x "$BIN/slide-gen" ] || die "$BIN/slide-gen missing"
      D=$(sh bench/e2e/amazon_data.sh "$BIN" "$SCALE") || die "amazon_data.sh failed"
      CONF=bench/e2e/configs/amazon670k.conf; NAME=synth-amazon670k-s$SCALE; TRAIN=$D/train.txt
      TEST=$(sh bench/e2e/test_subset.sh "$D/test.txt" 1) ;;
    tiny)
      [ -x "$BIN/slide-gen" ] || die "$BIN/slide-gen missing"
      D=$OUT/data-tiny
      [ -f "$D/train.txt" ] || "$BIN/slide-gen" --preset tiny --scale 0.5 --seed 1 --out "$D" >/dev/null ||
        die "slide-gen --preset tiny failed"
      CONF=bench/e2e/configs/delicious.conf; NAME=synth-tiny; TRAIN=$D/train.txt
      TEST=$D/test.txt ;;
  esac
  # (one test point: the run ends with an evaluation, which valgrind makes slow - minutes for
  # 100 points of the Amazon shape - and which the profile does not need)
  if [ -n "$WINDOW" ]; then
    A=${WINDOW%%:*}; B=${WINDOW#*:}
  else
    R=$(awk -F= '$1 ~ /^ *rehash *$/ { gsub(/ /, "", $2); print $2 }' "$CONF")
    prev=""
    for a in "$@"; do [ "$prev" != --rehash ] || R=$a; prev=$a; done
    B=$((WARMUP + N)); R=${R:-0}
    [ "$R" -gt 0 ] 2>/dev/null && B=$(( (B + R - 1) / R * R ))
    A=$((B - N + 1))
  fi
  LOG=$OUT/$ds.log; CG=$OUT/callgrind.$ds.out
  # The batches before A-1 (A-1 warms the simulated caches) natively, into a checkpoint: under
  # valgrind they would cost most of the time (AVX2 FMA is emulated there).
  RESUME=""
  if [ "$VG_WARMUP" = 0 ] && [ "$A" -gt 2 ]; then
    CK=$OUT/warmup.$ds.ckpt
    echo "[profile-cache] $ds: batches 1..$((A - 2)) natively -> $CK" >&2
    if ! SLIDE_NO_REEXEC=1 OMP_WAIT_POLICY=passive "$BIN/slide-train" --config "$CONF" \
        --train "$TRAIN" --test "$TEST" --dataset-name "$NAME" --simd "$SIMD" \
        --threads "$THREADS" --profile-batches "1:$((A - 2))" --epochs 100000 --eval-every 0 \
        --eval-every-s 0 --progress 0 --run-id "$ID-$ds-warmup" --csv "$OUT/warmup.csv" \
        --checkpoint "$CK" "$@" >"$OUT/$ds.warmup.log" 2>&1; then
      grep 'slide-train:' "$OUT/$ds.warmup.log" >&2 || tail -n 5 "$OUT/$ds.warmup.log" >&2
      exit 2
    fi
    RESUME="--resume $CK"
  fi
  echo "[profile-cache] $ds: batches $A..$B under callgrind ($SIMD, $THREADS thread(s)), $GEOM" >&2
  # SLIDE_NO_REEXEC: slide-train's restart for OpenMP pinning would leave valgrind.
  if ! SLIDE_NO_REEXEC=1 OMP_WAIT_POLICY=passive "$VG" --tool=callgrind --cache-sim=yes \
      --branch-sim=no --instr-atstart=no --collect-atstart=no $GEOM --callgrind-out-file="$CG" \
      "$BIN/slide-train" --config "$CONF" --train "$TRAIN" --test "$TEST" --dataset-name "$NAME" \
      --simd "$SIMD" --threads "$THREADS" --profile-batches "$A:$B" --epochs 100000 \
      --eval-every 0 --eval-every-s 0 --progress 0 --run-id "$ID-$ds" --csv "$CSV" $RESUME "$@" \
      >"$LOG" 2>&1; then
    grep 'slide-train:' "$LOG" >&2 || tail -n 5 "$LOG" >&2
    exit 2
  fi
  S=$(sed -n 's/^\[profile\] collected batches .* (\([0-9]*\) samples)$/\1/p' "$LOG")
  attribute "$CG" "$CSV" "${S:-NA}" "$A:$B" >/dev/null
  [ -z "$RESUME" ] || rm -f "$CK"
  echo "[profile-cache] $ds: $(( $(date +%s) - t0 )) s wall (-> ${CSV%.csv}.cache.csv)" >&2
  echo "$ds ($NAME), batches $A..$B, ${S:-NA} samples:"
  summary "${CSV%.csv}.cache.csv" "$NAME" "$ID-$ds"
done
