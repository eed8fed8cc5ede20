#!/bin/sh
# GPU check of the dense baseline (`make test-gpu`): slide-dense (CPU) and slide-dense-gpu train
# from the same seed on a small synthetic set; their parameters after 1 and after 3 steps must
# agree (slide-dense-cmp: |a-b| <= 1e-5 + 1e-4|a| on all but 0.01% of the elements, loss within
# 1e-4 relative), and after one epoch their full-test-set P@1 must agree within 0.02.
# Prints "skipped: no GPU" and exits 0 where no CUDA device is usable.
set -u

BIN="${BIN:-build/bin}"
case "${1:-}" in
-h | --help)
    echo "usage: BIN=build/bin sh bench/baseline/test_gpu.sh   (exit 0 pass or skipped, 1 fail)"
    exit 0 ;;
esac
for p in slide-dense slide-dense-gpu slide-dense-cmp slide-gen; do
    [ -x "$BIN/$p" ] || { echo "test_gpu: $BIN/$p not built (make test-gpu builds it)" >&2; exit 1; }
done
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "skipped: no GPU (nvidia-smi finds no device)"
    exit 0
fi

tmp="build/tmp/test-gpu-$$"
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
"$BIN/slide-gen" --preset tiny --scale 0.25 --seed 3 --out "$tmp/data" >"$tmp/gen.log" 2>&1 ||
    { echo "test_gpu: slide-gen failed:"; cat "$tmp/gen.log"; exit 1; }
common="--train $tmp/data/train.txt --test $tmp/data/test.txt --dataset-name tiny --seed 5
        --batch 64 --lr 0.001 --eval-n 100 --progress 0"

# A device that nvidia-smi lists but the runtime cannot use (driver mismatch): skip as well.
if ! "$BIN/slide-dense-gpu" $common --csv "$tmp/probe.csv" --dump-after-step 1 \
        --dump-path "$tmp/probe.dump" >"$tmp/probe.log" 2>&1; then
    if grep -q "no CUDA device" "$tmp/probe.log"; then
        echo "skipped: no GPU ($(tail -n 1 "$tmp/probe.log"))"
        exit 0
    fi
    echo "test_gpu: slide-dense-gpu failed:"; cat "$tmp/probe.log"; exit 1
fi

fail=0
for steps in 1 3; do
    for prog in slide-dense slide-dense-gpu; do
        if ! "$BIN/$prog" $common --csv "$tmp/$prog.csv" --dump-after-step $steps \
                --dump-path "$tmp/$prog-$steps.dump" >"$tmp/$prog-$steps.log" 2>&1; then
            echo "test_gpu: $prog --dump-after-step $steps failed:"; cat "$tmp/$prog-$steps.log"
            exit 1
        fi
    done
    echo "== parameters after $steps step(s): CPU (a) vs GPU (b)"
    if ! "$BIN/slide-dense-cmp" "$tmp/slide-dense-$steps.dump" "$tmp/slide-dense-gpu-$steps.dump"; then
        fail=1
    fi
done

# One epoch each; the last CSV row evaluates the full test set.
for prog in slide-dense slide-dense-gpu; do
    if ! "$BIN/$prog" $common --csv "$tmp/$prog-epoch.csv" --epochs 1 --eval-every 0 \
            >"$tmp/$prog-epoch.log" 2>&1; then
        echo "test_gpu: $prog --epochs 1 failed:"; cat "$tmp/$prog-epoch.log"; exit 1
    fi
done
p1() { # column p_at_1 of the last row, by name
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "p_at_1") c = i; next } { v = $c } END { print v }' "$1"
}
cpu=$(p1 "$tmp/slide-dense-epoch.csv")
gpu=$(p1 "$tmp/slide-dense-gpu-epoch.csv")
echo "== one epoch: full-test-set P@1 CPU $cpu, GPU $gpu (allowed difference 0.02)"
if ! awk -v a="$cpu" -v b="$gpu" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 0.02) }'; then
    echo "test_gpu: P@1 differs"
    fail=1
fi
grep -h '^\[gpu\]' "$tmp/slide-dense-gpu-epoch.log"
if [ "$fail" -ne 0 ]; then
    echo "test_gpu: FAIL"
    exit 1
fi
echo "test_gpu: PASS"
