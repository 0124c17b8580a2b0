#!/usr/bin/env bash
# Runs each fuzz target for a bounded number of executions after its
# committed seed corpus, and prints the executions each made.
#
# Budgets are counts, about 10 s each on the 2-core test machine, not
# durations: with a duration, Go's fuzz coordinator before Go 1.27 can
# report its own deadline as a failure ("context deadline exceeded", no
# input written; golang/go#75804), which CI hit under load. FUZZTIME (a
# duration such as 60s, or a count such as 500000x) overrides every budget.
set -uo pipefail
targets=(
  "./store FuzzParseName 200000x"
  "./store FuzzDetails 80000x"
  "./images FuzzLoad 6000x"
  "./images FuzzFilters 120000x"
  "./exporter FuzzParse 20000x"
  "./config FuzzLoad 40000x"
)
rc=0
for t in "${targets[@]}"; do
  set -- $t
  out=$(go test -run XXX -fuzz "^$2\$" -fuzztime "${FUZZTIME:-$3}" -fuzzminimizetime 1s "$1" 2>&1)
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
