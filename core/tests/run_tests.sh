#!/bin/sh
# Runs each test program given as an argument; prints PASS/FAIL per test and one summary line
# "N passed, M failed". Exit status is nonzero when any test failed.
pass=0; fail=0; failed=""
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
# sleeping waits: on a loaded machine a spinning thread waits for one that is descheduled
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export SLIDE_BIN="${BIN:-build/bin}"
for t in "$@"; do
  name=$(basename "$t")
  log="${t}.log"
  start=$(date +%s)
  if "$t" >"$log" 2>&1; then
    pass=$((pass + 1)); echo "PASS $name ($(( $(date +%s) - start ))s)"
  else
    rc=$?
    fail=$((fail + 1)); failed="$failed $name"
    echo "FAIL $name (exit $rc) -- last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
