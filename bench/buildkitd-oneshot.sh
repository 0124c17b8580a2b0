#!/usr/bin/env bash
# One build on a buildkitd started for it on a fresh state root, then
# stopped: what builder's embedded solver does in every cold invocation.
# Usage: buildkitd-oneshot.sh BINDIR WORKDIR BUILDCTL-BUILD-ARGS...
# (BUILDKITD_CONFIG, when set, is the daemon's config file.)
set -euo pipefail
bin=$1 work=$2; shift 2
# The last run's root is moved aside, not deleted: a CI runner deletes
# nothing before its build, and on this project's VMs (ext4 without a
# journal) runs that followed such a delete slowed, round by round, in the
# kernel's inode allocator (bench/README.md, ci (a)). The benchmark's own
# cleanup deletes the spent roots at its end.
if [ -e "$work" ]; then mv "$work" "$work.spent-$(date +%s%N)"; fi
mkdir -p "$work"
PATH=$bin:$PATH "$bin/buildkitd" --root "$work/state" --addr "unix://$work/sock" \
  ${BUILDKITD_CONFIG:+--config "$BUILDKITD_CONFIG"} --oci-worker=true --oci-worker-binary "$bin/runc" >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 500); do [ -S "$work/sock" ] && "$bin/buildctl" --addr "unix://$work/sock" debug workers >/dev/null 2>&1 && break; sleep 0.01; done
"$bin/buildctl" --addr "unix://$work/sock" build "$@"
