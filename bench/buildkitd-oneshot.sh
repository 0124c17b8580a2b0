#!/usr/bin/env bash
# One build on a buildkitd started for it on a fresh state root, then
# stopped: what builder's embedded solver does in every cold invocation.
# Usage: buildkitd-oneshot.sh BINDIR WORKDIR BUILDCTL-BUILD-ARGS...
# (BUILDKITD_CONFIG, when set, is the daemon's config file.)
set -euo pipefail
bin=$1 work=$2; shift 2
"$(dirname "$0")/set-aside.sh" "$work"
mkdir -p "$work"
PATH=$bin:$PATH "$bin/buildkitd" --root "$work/state" --addr "unix://$work/sock" \
  ${BUILDKITD_CONFIG:+--config "$BUILDKITD_CONFIG"} --oci-worker=true --oci-worker-binary "$bin/runc" >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 500); do [ -S "$work/sock" ] && "$bin/buildctl" --addr "unix://$work/sock" debug workers >/dev/null 2>&1 && break; sleep 0.01; done
"$bin/buildctl" --addr "unix://$work/sock" build "$@"
