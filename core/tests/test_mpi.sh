#!/bin/sh
# make test-mpi: slide-train-mpi on 1, 2 and 3 ranks over loopback (issue 18's correctness
# checks): full-output weights of P = 2, 3 against P = 1, replicas byte-identical (1 and 2
# threads per rank), LSH P@1 on Delicious against P = 1 (median of 3 seeds), checkpoints
# (bit-exact resume; other P, missing and corrupt shards refused), a killed rank, ranks given
# different options, more ranks than labels. Exits nonzero on the first failure.
set -u
BIN=${BIN:-build/bin}
MPIRUN=${MPIRUN:-mpirun}
DATA=${DATA:-build/data/delicious}
T0=$(date +%s)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

fail() { echo "FAIL test_mpi: $*"; exit 1; }
ok() { echo "  ok: $*"; }

MPI="$MPIRUN --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo"
[ "$(id -u)" -eq 0 ] && MPI="$MPI --allow-run-as-root"
# loopback only; no pinning (several ranks share the cores here)
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export SLIDE_NO_REEXEC=1 OMP_WAIT_POLICY=passive

if [ ! -f "$DATA/train.txt" ]; then
    sh datasets/prepare_delicious.sh >/dev/null 2>&1 || true
fi
[ -f "$DATA/train.txt" ] || fail "no Delicious data in $DATA (datasets/prepare_delicious.sh)"

TRAIN="$BIN/slide-train-mpi --train $DATA/train.txt --test $DATA/test.txt --threads 1 --eval-every 0 --progress 0"
# 20 batches of 128 of the 12,920 training points
E20=0.19814
E10=0.09907

echo "== full output: P = 2, 3 against P = 1 after 20 batches"
for P in 1 2 3; do
    $MPI -np $P $TRAIN --full-output --epochs $E20 --csv "$W/full$P.csv" \
        --dump-weights "$W/full$P" >"$W/full$P.log" 2>&1 || { cat "$W/full$P.log"; fail "full output P=$P"; }
done
p1() { grep '^\[eval\]' "$1" | tail -1 | sed 's/.* P@1 \([0-9.]*\) .*/\1/'; }
for P in 2 3; do
    "$BIN/slide-wdiff" "$W/full1" 1 "$W/full$P" $P 1e-5 >"$W/diff$P.txt" || { cat "$W/diff$P.txt"; fail "P=$P weights differ from P=1"; }
    [ "$(p1 "$W/full1.log")" = "$(p1 "$W/full$P.log")" ] || fail "P@1 P=$P $(p1 "$W/full$P.log") vs P=1 $(p1 "$W/full1.log")"
    d=$(grep -E '^(hidden|output)\.W' "$W/diff$P.txt" | sed 's/: max.*= \([^ ]*\) .*/ \1/' | tr '\n' ' ')
    ok "P=$P: weights within 1e-5 of P=1 (max|diff|/max|w|: ${d% }), P@1 $(p1 "$W/full$P.log") both"
done

$MPI -np 2 $TRAIN --full-output --epochs $E20 --csv "$W/fulls.csv" --label-split strided \
    --dump-weights "$W/fulls" >"$W/fulls.log" 2>&1 || { cat "$W/fulls.log"; fail "full output P=2 strided"; }
"$BIN/slide-wdiff" "$W/full1" 1 "$W/fulls" 2 1e-5 >"$W/diffs.txt" || { cat "$W/diffs.txt"; fail "P=2 strided weights differ from P=1"; }
[ "$(p1 "$W/full1.log")" = "$(p1 "$W/fulls.log")" ] || fail "P@1 P=2 strided $(p1 "$W/fulls.log") vs P=1 $(p1 "$W/full1.log")"
ok "P=2 --label-split strided: within 1e-5 of P=1 ($(grep output.W "$W/diffs.txt" | sed 's/.*= \([^ ]*\) .*/output.W \1/')), same P@1"

echo "== replicated layers byte-identical (checksum exchange every 5 batches)"
for TH in 1 2; do
    for P in 2 3; do
        $MPI -np $P $TRAIN --threads $TH --epochs $E20 --check-replicas 5 --csv "$W/rep.csv" \
            >"$W/rep.log" 2>&1 || { cat "$W/rep.log"; fail "replicas P=$P threads=$TH"; }
        n=$(grep -c 'identical on all' "$W/rep.log")
        [ "$n" -eq 4 ] || { cat "$W/rep.log"; fail "replica checks P=$P threads=$TH: $n of 4"; }
    done
    ok "threads per rank $TH: P=2, 3 identical after 5, 10, 15, 20 batches"
done

echo "== LSH sampling on Delicious: P@1 of P = 2, 3 within 0.03 of P = 1 (median of 3 seeds)"
med() { sort -n | sed -n 2p; }
for P in 1 2 3; do
    for S in 1 2 3; do
        $MPI -np $P $TRAIN --epochs 1 --seed $S --csv "$W/lsh.csv" >"$W/lsh$P-$S.log" 2>&1 ||
            { cat "$W/lsh$P-$S.log"; fail "LSH P=$P seed $S"; }
        p1 "$W/lsh$P-$S.log"
    done | med >"$W/med$P"
done
for P in 2 3; do
    awk -v a="$(cat "$W/med1")" -v b="$(cat "$W/med$P")" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.03) }' ||
        fail "P=$P median P@1 $(cat "$W/med$P") vs P=1 $(cat "$W/med1")"
    ok "P=$P median P@1 $(cat "$W/med$P"), P=1 $(cat "$W/med1")"
done

echo "== every sampler per shard at an exact budget: round(0.05 x 983) = 49 neurons in all"
for P in 2 3; do
    for SMP in lsh uniform unigram; do
        rm -f "$W/budget.csv"
        $MPI -np $P $TRAIN --epochs $E10 --sampler $SMP --budget 0.05 --csv "$W/budget.csv" \
            >"$W/budget.log" 2>&1 || { cat "$W/budget.log"; fail "--sampler $SMP --budget 0.05 P=$P"; }
        a=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { v = $c["active_avg"] } END { print v }' "$W/budget.csv")
        [ "$a" = "49.0" ] || fail "--sampler $SMP --budget 0.05 P=$P: active_avg $a, not 49"
    done
    ok "P=$P: lsh, uniform, unigram at --budget 0.05 hold 49 active neurons over the shards"
done

echo "== P = 1 against slide-train (one thread, one epoch, seed 1)"
"$BIN/slide-train" --train $DATA/train.txt --test $DATA/test.txt --threads 1 --eval-every 0 \
    --progress 0 --epochs 1 --seed 1 --csv "$W/st.csv" --no-pin >"$W/st.log" 2>&1 || { cat "$W/st.log"; fail "slide-train"; }
a=$(p1 "$W/st.log") b=$(p1 "$W/lsh1-1.log")
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.03) }' || fail "P=1 P@1 $b vs slide-train $a"
ok "P=1 P@1 $b, slide-train $a"

echo "== checkpoints: resume bit for bit, other P / missing / corrupt shard refused"
$MPI -np 2 $TRAIN --epochs $E20 --csv "$W/ck.csv" --dump-weights "$W/straight" >"$W/ck0.log" 2>&1 || { cat "$W/ck0.log"; fail "straight run"; }
$MPI -np 2 $TRAIN --epochs $E10 --csv "$W/ck.csv" --checkpoint "$W/ck" >"$W/ck1.log" 2>&1 || { cat "$W/ck1.log"; fail "first half"; }
[ -f "$W/ck" ] && [ -f "$W/ck.rank0of2" ] && [ -f "$W/ck.rank1of2" ] || fail "manifest or shards missing"
ls "$W" | grep -q '\.tmp\.' && fail "temporary checkpoint files left"
$MPI -np 2 $TRAIN --epochs $E20 --csv "$W/ck.csv" --resume "$W/ck" --dump-weights "$W/resumed" >"$W/ck2.log" 2>&1 || { cat "$W/ck2.log"; fail "resume"; }
"$BIN/slide-wdiff" "$W/straight" 2 "$W/resumed" 2 0 >"$W/ckdiff.txt" || { cat "$W/ckdiff.txt"; fail "resumed weights differ from the straight run"; }
ok "resume with P=2 is bit-identical to the straight run"
refused() { # $1 what, $2 expected text, rest: the command
    what=$1 want=$2
    shift 2
    "$@" >"$W/ref.log" 2>&1
    rc=$?
    [ $rc -eq 2 ] || { cat "$W/ref.log"; fail "$what: exit $rc, want 2"; }
    n=$(grep -c "^slide-train-mpi: " "$W/ref.log")
    [ "$n" -eq 1 ] || { cat "$W/ref.log"; fail "$what: $n message lines, want 1"; }
    grep -q "$want" "$W/ref.log" || { cat "$W/ref.log"; fail "$what: no '$want'"; }
    ok "$what refused: $(grep '^slide-train-mpi: ' "$W/ref.log" | cut -c1-110)"
}
refused "resume with another P" "has 2 shards" $MPI -np 3 $TRAIN --epochs $E20 --csv "$W/ck.csv" --resume "$W/ck"
cp "$W/ck.rank1of2" "$W/keep"
rm "$W/ck.rank1of2"
refused "missing shard" "missing" $MPI -np 2 $TRAIN --epochs $E20 --csv "$W/ck.csv" --resume "$W/ck"
cp "$W/keep" "$W/ck.rank1of2"
printf 'X' | dd of="$W/ck.rank1of2" bs=1 seek=4000 conv=notrunc 2>/dev/null
refused "corrupt shard" "corrupt" $MPI -np 2 $TRAIN --epochs $E20 --csv "$W/ck.csv" --resume "$W/ck"
cp "$W/keep" "$W/ck.rank1of2"
sed -i 's/^labels 983$/labels 984/' "$W/ck"
refused "corrupt manifest" "manifest corrupt" $MPI -np 2 $TRAIN --epochs $E20 --csv "$W/ck.csv" --resume "$W/ck"

echo "== bad input"
refused "ranks with different options" "rank 1 was given different options" \
    $MPI -np 1 $TRAIN --epochs $E10 --csv "$W/bad.csv" --seed 1 : -np 1 $TRAIN --epochs $E10 --csv "$W/bad.csv" --seed 2
printf '3 4 2\n0 0:1 1:1\n1 2:1\n0,1 3:1\n' >"$W/tiny.txt"
mkdir -p "$W/da" "$W/db"
cp "$W/tiny.txt" "$W/da/t.txt"
printf '3 4 2\n0 0:1 1:1\n1 2:1\n1 3:1\n' >"$W/db/t.txt" # one label differs
B="$(cd "$BIN" && pwd)"
refused "ranks with different data" "rank 1 was given different data" \
    $MPI -np 1 --wdir "$W/da" "$B/slide-train-mpi" --train t.txt --test t.txt --threads 1 --epochs 1 --csv "$W/bad.csv" : \
    -np 1 --wdir "$W/db" "$B/slide-train-mpi" --train t.txt --test t.txt --threads 1 --epochs 1 --csv "$W/bad.csv"
refused "more ranks than labels" "3 ranks for 2 labels" \
    $MPI -np 3 $BIN/slide-train-mpi --train "$W/tiny.txt" --test "$W/tiny.txt" --threads 1 --epochs 1 --csv "$W/bad.csv"

echo "== a killed rank ends the job within 10 s, naming it"
$MPI -np 2 $TRAIN --epochs 50 --csv "$W/kill.csv" >"$W/kill.log" 2>&1 &
MP=$!
victim=""
for i in $(seq 1 100); do
    for p in $(pgrep -f "slide-train-mpi --train" 2>/dev/null); do
        if [ "$(cat /proc/$p/comm 2>/dev/null)" = slide-train-mpi ] &&
            tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q '^OMPI_COMM_WORLD_RANK=1$' &&
            tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--csv $W/kill.csv"; then victim=$p; fi
    done
    [ -n "$victim" ] && grep -q '^\[mpi\]' "$W/kill.log" && break
    sleep 0.1
done
[ -n "$victim" ] || { kill $MP 2>/dev/null; fail "rank 1 not found"; }
sleep 1
kill -9 "$victim"
t0=$(date +%s)
wait $MP
rc=$?
dt=$(($(date +%s) - t0))
[ $rc -ne 0 ] || fail "the job exited 0 after rank 1 was killed"
[ $dt -le 10 ] || fail "the job took $dt s to end after rank 1 was killed"
grep -qi "rank 1" "$W/kill.log" || { cat "$W/kill.log"; fail "no message names rank 1"; }
ok "exit $rc after $dt s: $(grep -i 'rank 1' "$W/kill.log" | head -1 | sed 's/^ *//' | cut -c1-100)"

echo "test_mpi: all passed in $(($(date +%s) - T0)) s"
