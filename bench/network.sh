#!/usr/bin/env bash
# run's networks side by side, in interleaved rounds (bench/interleave.py):
# `run --rm busybox true` on builder0 (the default bridge) against the same
# with --network host, and against Debian's podman run --rm as root on its
# own default bridge network, on the same image, with its own runtime
# (Debian's runc). Its limits are set low: podman asks for more open files
# and processes than the host's hard limits, which root without
# CAP_SYS_RESOURCE (this VM's) cannot raise.
# Targets: bridge <= host + 60 ms, and <= podman.
# Results: bench/results/network-*.json and network-summary.txt.
# Usage: bench/network.sh after `make all` (make bench runs it), as root.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init network
podman="podman --root $work/podman/root --runroot $work/podman/run"
trap '$podman rm -a -f >/dev/null 2>&1 || true; bench_cleanup' EXIT

bb=$work/busybox; busybox_context "$bb"
B="$bin/builder --root $work/root"
$B build --progress quiet -t busybox "$bb"
$B save -o "$work/bb.tar" busybox
$podman load -q -i "$work/bb.tar" >/dev/null
$B run --rm busybox true # unpack the layers once, as podman's load did

python3 bench/interleave.py --runs "$((runs * 4))" --warmup 2 --export-json "$out/network-run.json" \
  --case "builder run --rm (bridge)" "" "$B run --rm busybox true" \
  --case "builder run --rm --network host" "" "$B run --rm --network host busybox true" \
  --case "podman run --rm (its bridge)" "" "$podman run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 busybox true" \
  | tee "$out/network-run.txt"

python3 - "$out/network-run.json" <<'PY' | tee "$out/network-summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
b, h, p = (x["median"] for x in r)
print(f"bridge - host: {(b - h) * 1000:+.0f} ms (target <= +60 ms); bridge / podman: {b / p:.2f} (target <= 1)")
PY
