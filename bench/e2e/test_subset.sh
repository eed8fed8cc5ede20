#!/bin/sh
# Writes the first N points of an XC data file FILE.txt to FILE-N.txt (header count adjusted;
# kept when it already exists) and prints that path. For our own generated files, which are
# well formed; a real test set sorted by label wants a seeded random subset instead (--eval-n).
# usage: sh bench/e2e/test_subset.sh FILE.txt N
set -eu
case "${1:-}" in
  -h | --help) echo "usage: sh bench/e2e/test_subset.sh FILE.txt N   (writes FILE-N.txt, prints its path)"; exit 0 ;;
  "") echo "usage: sh bench/e2e/test_subset.sh FILE.txt N" >&2; exit 2 ;;
esac
f=$1; n=${2:?usage: test_subset.sh FILE.txt N}
case "$n" in *[!0-9]* | 0) echo "test_subset.sh: N must be a positive integer" >&2; exit 2 ;; esac
[ -f "$f" ] || { echo "test_subset.sh: $f: no such file" >&2; exit 2; }
out=${f%.txt}-$n.txt
if [ ! -f "$out" ]; then
  awk -v n="$n" 'NR == 1 { split($0, h, " "); m = h[1] < n ? h[1] : n; print m, h[2], h[3]; next }
                 NR <= m + 1' "$f" >"$out.tmp"
  mv "$out.tmp" "$out"
fi
echo "$out"
