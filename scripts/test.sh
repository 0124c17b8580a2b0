#!/usr/bin/env bash
# Runs every test (unit and integration, the latter behind the build tag
# integration: a plain `go test ./...` runs the unit tests alone, as any
# user, with no runc or registry) verbosely into a log, then prints
# each test's verdict, the conformance count, and go test's package lines.
# On failure the log's failing parts follow.
set -uo pipefail
log=${TEST_LOG:-$(mktemp /tmp/builder-test-XXXXXX.log)}
go test -v -tags integration -timeout 80m "$@" ./... >"$log" 2>&1
rc=$?
grep -E '^(\s*--- (PASS|FAIL|SKIP)|ok |FAIL|conformance:|  known divergence|kill sweep:|soak:|breakout corpus:)' "$log"
if [ $rc -ne 0 ]; then
  echo
  echo "=== failures (full log: $log)"
  grep -v -E '^(=== (RUN|PAUSE|CONT)|\s*--- PASS)' "$log" | tail -n 400
fi
exit $rc
