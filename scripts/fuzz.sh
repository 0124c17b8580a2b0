#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (FUZZTIME, default 10s) after
# its committed seed corpus, and prints the executions each made.
set -uo pipefail
fuzztime=${FUZZTIME:-10s}
targets=(
  "./store FuzzParseName"
  "./store FuzzDetails"
  "./images FuzzLoad"
  "./images FuzzFilters"
  "./exporter FuzzParse"
  "./config FuzzLoad"
)
rc=0
for t in "${targets[@]}"; do
  set -- $t
  out=$(go test -run XXX -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime 1s "$1" 2>&1)
  code=$?
  execs=$(grep -oE 'execs: [0-9]+' <<<"$out" | tail -1)
  if [ $code -eq 0 ]; then
    echo "fuzz: $1 $2 passed, ${execs:-execs: ?}"
  else
    echo "fuzz: $1 $2 FAILED"
    grep -v 'level=' <<<"$out" | tail -n 30
    rc=1
  fi
done
exit $rc
