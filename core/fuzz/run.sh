#!/bin/sh
# Runs each libFuzzer harness for N seconds on a copy of its seed corpus (plus the matching
# crash regressions of core/tests/bad_inputs/regress) and prints one summary line per harness.
# usage: run.sh BUILD_DIR SECONDS NAME...   Fails on any crash, leak, timeout, OOM or sanitizer report.
set -u
dir=$1; secs=$2; shift 2
fail=0
mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/logs"
for name in "$@"; do
  bin="$dir/fuzzers/fuzz_$name"
  corpus="$dir/corpus/$name"
  mkdir -p "$corpus"
  cp core/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
  for f in core/tests/bad_inputs/regress/"$name"-*; do [ -f "$f" ] && cp "$f" "$corpus"/; done
  case $name in
    data|config) maxlen=8192 ;;
    cache) maxlen=16384 ;;
    checkpoint) maxlen=4096 ;;
    *) maxlen=4096 ;;
  esac
  log="$dir/logs/$name.log"
  rm -f "$dir/artifacts/$name"-*
  start=$(date +%s)
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  units=$(ls "$corpus" | wc -l)
  bad=""
  [ "$rc" -ne 0 ] && bad="exit $rc"
  if grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|FUZZ_REQUIRE failed|SLIDE_ASSERT failed' "$log"; then
    bad="${bad:+$bad, }sanitizer/oracle report"
  fi
  if ls "$dir/artifacts/$name"-* >/dev/null 2>&1; then bad="${bad:+$bad, }artifact $(ls "$dir/artifacts/$name"-* | head -n 1)"; fi
  if [ -n "$bad" ]; then
    fail=1
    echo "FUZZ FAIL $name: $bad ($(( $(date +%s) - start )) s, ${runs:-?} runs) -- $log:"
    grep -E -A 12 'ERROR:|runtime error:|FUZZ_REQUIRE|SLIDE_ASSERT' "$log" | head -n 30 | sed 's/^/    /'
    echo "    reproduce: $bin <artifact>; add the input to core/tests/bad_inputs/regress/$name-<what> and the MANIFEST"
  else
    echo "FUZZ ok $name: ${runs:-?} runs in $(( $(date +%s) - start )) s, ${cov:-cov: ?}, corpus $units files"
  fi
done
exit $fail
