#!/usr/bin/env bash
# Two builder binaries side by side on the container hot path, for a change
# that touches it: `run --rm busybox true` and `exec` into a running
# container, in interleaved rounds (bench/interleave.py), each binary on a
# root of its own with the same pinned runc. The first is the baseline.
# Usage: bench/regress.sh OLD_BUILDER NEW_BUILDER   (RUNS=N rounds, default 25)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1") new=$(realpath "$2")
. bench/lib.sh
bench_init regress
runs=${RUNS:-25}
export BUILDER_RUNC=$PWD/bin/runc
cleanup() {
  "$old" --root "$work/old" rm -f d >/dev/null 2>&1 || true
  "$new" --root "$work/new" rm -f d >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$work/rootfs/bin"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/bb.tar" .
for b in old new; do
  bin=${!b}
  "$bin" --root "$work/$b" import -c 'ENV PATH=/bin' "$work/bb.tar" bb >/dev/null
  "$bin" --root "$work/$b" run --rm bb true # unpack the layer once
  "$bin" --root "$work/$b" run -d --name d bb sleep 600 >/dev/null
done
bench/interleave.py --runs "$runs" --export-json "$out/regress-run.json" \
  --case "old run --rm" "" "$old --root $work/old run --rm bb true" \
  --case "new run --rm" "" "$new --root $work/new run --rm bb true"
bench/interleave.py --runs "$runs" --export-json "$out/regress-exec.json" \
  --case "old exec" "" "$old --root $work/old exec d true" \
  --case "new exec" "" "$new --root $work/new exec d true"
