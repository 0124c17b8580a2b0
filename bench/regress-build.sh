#!/usr/bin/env bash
# Two builder binaries side by side on the build path, for a change that
# touches it: the hello example cold and warm, and the 20,000-file /
# ~400 MB context rebuilt unchanged, after one file was touched, and cold
# (cache and store emptied), in
# interleaved rounds (bench/interleave.py), each binary on a root of its
# own, the same base image from a local registry. The first is the
# baseline.
# Usage: bench/regress-build.sh OLD_BUILDER NEW_BUILDER   (RUNS=N, default 5)
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2")
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init regress-build
export BUILDER_RUNC=$bin/runc
start_registry
push_busybox_base

hello=$work/hello; hello_context "$hello"
big=$work/big; big_context "$big"
O="$old --root $work/old" N="$new --root $work/new"
for b in "$O" "$N"; do
  $b build --progress quiet -t hello "$hello" >/dev/null
  $b build --progress quiet --build-arg BASE="$base" -t big "$big" >/dev/null
done

python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/regress-build-hello-cold.json" \
  --case "old hello, cold" "$O builder prune -a -f; $O image prune -a -f" "$O build --progress quiet -t hello $hello" \
  --case "new hello, cold" "$N builder prune -a -f; $N image prune -a -f" "$N build --progress quiet -t hello $hello"
# The cold rounds emptied the stores: fill them again.
for b in "$O" "$N"; do $b build --progress quiet -t hello "$hello" >/dev/null; done
python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/regress-build-hello-warm.json" \
  --case "old hello, warm" "" "$O build --progress quiet -t hello $hello" \
  --case "new hello, warm" "" "$N build --progress quiet -t hello $hello"
for b in "$O" "$N"; do $b build --progress quiet --build-arg BASE="$base" -t big "$big" >/dev/null; done
python3 bench/interleave.py --runs "$((runs * 2))" --export-json "$out/regress-build-noop.json" \
  --case "old 20,000 files, no-op" "" "$O build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "new 20,000 files, no-op" "" "$N build --progress quiet --build-arg BASE=$base -t big $big"
python3 bench/interleave.py --runs "$((runs * 2))" --export-json "$out/regress-build-touched.json" \
  --case "old 20,000 files, one touched" "touch $big/src/d000/f000" "$O build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "new 20,000 files, one touched" "touch $big/src/d000/f000" "$N build --progress quiet --build-arg BASE=$base -t big $big"
python3 bench/interleave.py --warmup 0 --runs "$runs" --export-json "$out/regress-build-big-cold.json" \
  --case "old 20,000 files, cold" "$O builder prune -a -f; $O image prune -a -f" "$O build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "new 20,000 files, cold" "$N builder prune -a -f; $N image prune -a -f" "$N build --progress quiet --build-arg BASE=$base -t big $big"
