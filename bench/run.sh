#!/usr/bin/env bash
# builder's benchmarks, side by side in one run against its peers, in
# interleaved rounds (bench/interleave.py):
#   builder (embedded solver, process start-up included in every run)
#   buildctl against a warm stock buildkitd built from the pinned BuildKit
#   buildah bud --layers (Debian's)
# Results: bench/results/ (JSON in hyperfine's shape and a summary). Ratios, not single
# times, are what to read: the machines are noisy.
# Usage: make bench   (or bench/run.sh after `make all peers`)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init run
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  buildah --root "$work/buildah/root" --runroot "$work/buildah/run" rmi -a -f >/dev/null 2>&1 || true
  umount -R "$work"/buildah/root/overlay/*/merged 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

start_registry

push_busybox_base

# Stock buildkitd, warm for the whole run.
start_buildkitd "$work/bk"
buildah="buildah --root $work/buildah/root --runroot $work/buildah/run --storage-driver overlay"
# buildah runs RUN steps with the same pinned runc as builder and buildkitd.
bud="$buildah bud --runtime $bin/runc --quiet --layers --tls-verify=false"

# (a) the hello example.
hello=$work/hello; hello_context "$hello"
B="$bin/builder --root $work/root"
bctl_hello="$buildctl build --progress quiet --frontend dockerfile.v0 --local context=$hello --local dockerfile=$hello --output type=oci,dest=$work/hello-oci.tar"
oneshot="bench/buildkitd-oneshot.sh $bin $work/oneshot --progress quiet --frontend dockerfile.v0 --local context=$hello --local dockerfile=$hello --output type=oci,dest=$work/hello-oci.tar"
# Cold: nothing cached. builder's state root exists (as the warm daemon's does)
# with its build cache and image store emptied; the first build on a new root is
# timed too, against a buildkitd that also starts on a new root. These rounds
# are interleaved (bench/interleave.py): hyperfine would run each case's
# repetitions back to back, and this machine's drift is as large as the gap.
$B build --progress quiet -t hello "$hello" >/dev/null
python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/hello-cold.json" \
  --case "builder (cold: cache and store emptied, into store)" "$B builder prune -a -f; $B image prune -a -f" "$B build --progress quiet -t hello $hello" \
  --case "buildctl+buildkitd (cold: cache pruned on a warm daemon, type=oci)" "$buildctl prune --all" "$bctl_hello" \
  --case "builder (first build: new state root)" "rm -rf $work/root1" "$bin/builder --root $work/root1 build --progress quiet -t hello $hello" \
  --case "buildctl+buildkitd (cold: daemon started on a new root, type=oci)" "" "$oneshot" \
  --case "buildah bud (cold)" "$buildah rmi -a -f >/dev/null 2>&1 || true" "$bud -t hello $hello" | tee "$out/hello-cold.txt"
python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/hello-warm.json" \
  --case "builder (warm, into store)" "" "$B build --progress quiet -t hello $hello" \
  --case "buildctl+buildkitd (warm, type=oci)" "" "$bctl_hello" \
  --case "buildah bud (warm)" "" "$bud -t hello $hello" | tee "$out/hello-warm.txt"

# (b) a no-op rebuild of a 20,000-file, ~400 MB context.
big=$work/big; big_context "$big"
bctl_big="$buildctl build --progress quiet --frontend dockerfile.v0 --local context=$big --local dockerfile=$big --opt build-arg:BASE=$base"
python3 bench/interleave.py --runs "$runs" --export-json "$out/noop-rebuild.json" \
  --case "builder (no-op rebuild, into store)" "" "$B build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "buildctl+buildkitd (no-op rebuild, no export)" "" "$bctl_big" \
  --case "buildah bud --layers (no-op rebuild)" "" "$bud --build-arg BASE=$base -t big $big" | tee "$out/noop-rebuild.txt"

# Peak RSS of one no-op rebuild each; for buildctl, the daemon's peak so far.
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_builder=$(rss $B build --progress quiet --build-arg BASE=$base -t big $big)
rss_buildah=$(rss $bud --build-arg BASE=$base -t big $big)
rss_buildkitd=$(awk '/VmHWM/{print $2}' /proc/$bkpid/status)

# (c) the same context built cold: a 400 MB layer to make and store.
python3 bench/interleave.py --warmup 0 --runs 3 --export-json "$out/big-cold.json" \
  --case "builder (cold 400 MB build, into store)" "$B builder prune -a -f; $B image prune -a -f" "$B build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "buildctl+buildkitd (cold 400 MB build, type=oci)" "$buildctl prune --all" "$bctl_big --output type=oci,dest=$work/big-oci.tar" \
  --case "buildah bud --layers (cold 400 MB build)" "$buildah rmi -a -f >/dev/null 2>&1 || true" "$bud --build-arg BASE=$base -t big $big" | tee "$out/big-cold.txt"

python3 - "$out" "$rss_builder" "$rss_buildah" "$rss_buildkitd" <<'PY' | tee "$out/summary.txt"
import json, sys, os
out, rb, rh, rk = sys.argv[1:]
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(out, name)))["results"]}
print("median seconds (min-max) over runs; ratio = builder / peer (< 1 is faster)")
for name in ["hello-cold.json", "hello-warm.json", "noop-rebuild.json", "big-cold.json"]:
    res = load(name)
    mine = next(v for k, v in res.items() if k.startswith("builder"))
    print(f"\n{name[:-5]}:")
    for k, v in res.items():
        ratio = mine["median"] / v["median"]
        print(f"  {k:68s} {v['median']:7.3f}s ({v['min']:.3f}-{v['max']:.3f})  builder/this = {ratio:5.2f}")
print(f"\npeak RSS of a no-op rebuild: builder {int(rb)//1024} MB, buildah {int(rh)//1024} MB, "
      f"buildkitd (daemon peak over the run) {int(rk)//1024} MB")
PY
