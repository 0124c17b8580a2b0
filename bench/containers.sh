#!/usr/bin/env bash
# builder's containers side by side with buildah on the same busybox image
# and the same pinned runc: `run --rm busybox true` latency (20 runs) against
# `buildah run` (on a working container made beforehand, buildah's cheapest)
# and against buildah's whole from+run+rm; and commit of a container holding
# 200 MB of changes against `buildah commit`.
# Usage: bench/containers.sh after `make all` (RUNS=N for the run latency)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init ctr
runs=${RUNS:-20}
buildah="buildah --root $work/buildah/root --runroot $work/buildah/run --storage-driver overlay"
cleanup() {
  $buildah rm -a >/dev/null 2>&1 || true
  $buildah rmi -a -f >/dev/null 2>&1 || true
  "$bin/builder" --root "$work/root" rm -f c200 >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# One busybox image for both: built by builder, read by buildah from an OCI archive.
bb=$work/busybox; busybox_context "$bb"
B="$bin/builder --root $work/root"
$B build --progress quiet -t busybox "$bb"
$B save --format oci -o "$work/bb.tar" busybox
$buildah pull --quiet "oci-archive:$work/bb.tar" >/dev/null
img=$($buildah images -q | head -1)
ctr=$($buildah from --quiet "$img")
$B run --rm busybox true # unpack the layers once, as buildah's pull did

hyperfine --runs "$runs" --warmup 2 --export-json "$out/containers-run.json" \
  -n "builder run --rm busybox true" "$B run --rm busybox true" \
  -n "buildah run (existing working container) true" "$buildah run --runtime $bin/runc $ctr true" \
  -n "buildah from + run + rm" "c=\$($buildah from --quiet $img) && $buildah run --runtime $bin/runc \$c true && $buildah rm \$c >/dev/null"

# 200 MB of changes in each tool's container.
$B run --name c200 busybox sh -c 'head -c 209715200 /dev/urandom > /big'
$buildah run --runtime "$bin/runc" "$ctr" sh -c 'head -c 209715200 /dev/urandom > /big'
hyperfine --runs 3 --export-json "$out/containers-commit.json" \
  -n "builder commit (200 MB)" "$B commit c200 committed:latest" \
  -n "buildah commit (200 MB)" "$buildah commit --quiet $ctr committed:latest"

python3 - "$out" <<'PY' | tee "$out/containers-summary.txt"
import json, os, sys
out = sys.argv[1]
def res(name):
    return json.load(open(os.path.join(out, name)))["results"]
print("median seconds (min-max); ratio = builder / buildah")
r = res("containers-run.json")
b = r[0]
for o in r[1:]:
    print(f"  run:    builder {b['median']:.3f}s ({b['min']:.3f}-{b['max']:.3f})  {o['command']}: {o['median']:.3f}s  ratio {b['median']/o['median']:.2f}")
c = res("containers-commit.json")
print(f"  commit: builder {c[0]['median']:.2f}s ({c[0]['min']:.2f}-{c[0]['max']:.2f})  buildah {c[1]['median']:.2f}s ({c[1]['min']:.2f}-{c[1]['max']:.2f})  ratio {c[0]['median']/c[1]['median']:.2f}")
PY
