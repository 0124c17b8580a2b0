#!/usr/bin/env bash
# Where BuildKit's overhead dominates: builder against stock buildctl with
# a warm buildkitd, and against `docker build` on the machine's Docker
# Engine (its default builder, images into its own store, the base image
# loaded into it), in interleaved rounds (bench/interleave.py):
#   no-op rebuilds of the 20,000-file / ~400 MB context (buildctl, docker),
#   of a 200,000-file context and of a context of one 2 GB file (buildctl);
#   the hello example cold and warm, and the 400 MB context built cold into
#   each tool's image store (docker);
#   builder's peak RSS during the 20,000-file no-op rebuild.
# Cache collection is off for builder and buildkitd alike: BuildKit's
# default policy keeps 512 MB of context copies, less than the 200,000-file
# one takes, so either would otherwise throw it away between rounds and
# measure a cold sync instead.
# Without a Docker Engine (`docker info` fails) its cases are skipped, and
# the output says so.
# Results: bench/results/context-*.json and context-summary.txt.
# Usage: bench/context.sh after `make all peers` (make bench runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init context
docker_cleanup() {
  [ -n "${docker:-}" ] && docker rmi -f bench-hello bench-big "$base" >/dev/null 2>&1 || true
  bench_cleanup
}
trap docker_cleanup EXIT
start_registry
push_busybox_base

start_buildkitd "$work/bk" --oci-worker-gc=false
B="$bin/builder --root $work/root"
mkdir -p "$work/root"
printf '[worker.oci]\n  gc = false\n' >"$work/root/config.toml"

docker=
if docker info >/dev/null 2>&1; then
  docker=docker
  # The base, from builder's store, as a user would move it.
  $B pull -q "$base" >/dev/null
  $B save "$base" | docker load -q >/dev/null
else
  echo "SKIP: no Docker Engine here (docker info fails): the docker build cases are not measured"
fi

# ctx_noop NAME DIR ROUNDS [docker]: the no-op rebuild of DIR, after one
# build each to fill the caches.
ctx_noop() {
  local name=$1 dir=$2 rounds=$3 with_docker=${4:-}
  local bctl="$buildctl build --progress quiet --frontend dockerfile.v0 --local context=$dir --local dockerfile=$dir --opt build-arg:BASE=$base"
  local cases=(--case "builder (no-op rebuild, into store)" "" "$B build --progress quiet --build-arg BASE=$base -t $name $dir"
    --case "buildctl+buildkitd (no-op rebuild, no export)" "" "$bctl")
  if [ -n "$with_docker" ] && [ -n "$docker" ]; then
    cases+=(--case "docker build (no-op rebuild)" "" "docker build -q --build-arg BASE=$base -t bench-$name $dir")
  fi
  python3 bench/interleave.py --runs "$rounds" --warmup 1 --export-json "$out/context-$name.json" "${cases[@]}" \
    | tee "$out/context-$name.txt"
}

# The 20,000-file context.
big=$work/big; big_context "$big"
ctx_noop big "$big" "$((runs * 2))" docker
rss_builder=$(/usr/bin/time -f %M $B build --progress quiet --build-arg BASE=$base -t big "$big" 2>&1 >/dev/null | tail -1)

# 200,000 small files (10 B each) in 1,000 directories.
many=$work/many; big_context "$many" 1000 200 10
ctx_noop many "$many" "$runs"

# One 2 GB file (sparse: its size, not its blocks, is what is at stake).
one=$work/one; mkdir -p "$one/src"
truncate -s 2G "$one/src/big.bin"
cp "$big/Dockerfile" "$one/Dockerfile"
ctx_noop one "$one" "$runs"

if [ -n "$docker" ]; then
  hello=$work/hello; hello_context "$hello"
  $B build --progress quiet -t hello "$hello" >/dev/null
  docker build -q -t bench-hello "$hello" >/dev/null 2>&1
  python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/context-hello-warm.json" \
    --case "builder (warm hello, into store)" "" "$B build --progress quiet -t hello $hello" \
    --case "docker build (warm hello)" "" "docker build -q -t bench-hello $hello" | tee "$out/context-hello-warm.txt"
  python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/context-hello-cold.json" \
    --case "builder (cold hello: cache and store emptied)" "$B builder prune -a -f; $B image prune -a -f" "$B build --progress quiet -t hello $hello" \
    --case "docker build (cold hello: image and cache removed)" "docker rmi -f bench-hello >/dev/null 2>&1; docker builder prune -a -f >/dev/null 2>&1 || true" "docker build -q -t bench-hello $hello" \
    | tee "$out/context-hello-cold.txt"
  python3 bench/interleave.py --warmup 0 --runs 3 --export-json "$out/context-big-cold.json" \
    --case "builder (cold 400 MB build, into store)" "$B builder prune -a -f; $B image prune -a -f" "$B build --progress quiet --build-arg BASE=$base -t big $big" \
    --case "docker build (cold 400 MB build, into its store)" "docker rmi -f bench-big >/dev/null 2>&1; docker builder prune -a -f >/dev/null 2>&1 || true" "docker build -q --build-arg BASE=$base -t bench-big $big" \
    | tee "$out/context-big-cold.txt"
fi

python3 - "$out" "$rss_builder" <<'PY' | tee "$out/context-summary.txt"
import json, os, sys
out, rss = sys.argv[1], int(sys.argv[2])
print("ratio = builder / peer, medians (paired median over rounds); < 1: builder is faster")
for name, target in [("big", "buildctl <= 0.6, docker <= 0.8"), ("many", "buildctl: no worse than at 20,000 files"),
                     ("one", ""), ("hello-warm", "docker <= 0.8"), ("hello-cold", "docker <= 0.8"), ("big-cold", "docker <= 0.8")]:
    path = os.path.join(out, f"context-{name}.json")
    if not os.path.exists(path):
        continue
    r = json.load(open(path))["results"]
    mine = r[0]
    for peer in r[1:]:
        pairs = sorted(a / b for a, b in zip(mine["times"], peer["times"]))
        print(f"{name:11s} {mine['median']:7.3f}s vs {peer['command'][:45]:45s} {peer['median']:7.3f}s: "
              f"{mine['median'] / peer['median']:.2f} (paired {pairs[len(pairs) // 2]:.2f})  {target}")
print(f"builder's peak RSS, 20,000-file no-op rebuild: {rss / 1024:.0f} MB (target <= 60 MB)")
PY
