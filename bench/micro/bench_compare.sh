#!/bin/sh
# `make bench-compare A=old.json B=new.json`: two slide-micro JSON reports compared by Google
# Benchmark's own tools/compare.py (Debian libbenchmark-tools, with python3-scipy and
# python3-numpy): per benchmark the relative change of time and CPU time and a U test.
set -u
usage() {
    cat <<EOF2
usage: sh bench/micro/bench_compare.sh A.json B.json [-- compare.py options]
  Compares two slide-micro --benchmark_out JSON reports (make bench-micro writes them) with
  Google Benchmark's compare.py ("benchmarks" mode): negative = B faster. Colour is off.
  COMPARE_PY and PYTHON override the paths (default /usr/share/benchmark/compare.py and
  /usr/bin/python3, Debian's interpreter, which sees python3-scipy).
EOF2
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -ge 2 ] || { echo "bench_compare: needs two JSON files (A=... B=...); see --help" >&2; exit 2; }
a=$1; b=$2; shift 2
[ "${1:-}" = "--" ] && shift
for f in "$a" "$b"; do
    [ -r "$f" ] || { echo "bench_compare: $f: cannot read" >&2; exit 2; }
    head -c 4096 "$f" | grep -q '"benchmarks"\|"context"' ||
        { echo "bench_compare: $f: not a Google Benchmark JSON report (--benchmark_out_format=json)" >&2; exit 2; }
done
cmp_py=${COMPARE_PY:-/usr/share/benchmark/compare.py}
py=${PYTHON:-/usr/bin/python3}
[ -r "$cmp_py" ] || { echo "bench_compare: $cmp_py missing: apt-get install libbenchmark-tools python3-scipy python3-numpy" >&2; exit 2; }
"$py" -c 'import scipy, numpy' 2>/dev/null ||
    { echo "bench_compare: $py cannot import scipy/numpy: apt-get install python3-scipy python3-numpy" >&2; exit 2; }
exec "$py" "$cmp_py" --no-color "$@" benchmarks "$a" "$b"
