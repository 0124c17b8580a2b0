#!/usr/bin/env bash
# Where builder's build time goes: Go execution traces (with the CPU
# profiler's samples in them) of the hello example cold and warm, and of
# the 20,000-file / ~400 MB context rebuilt unchanged and after one file
# was touched, each read by bench/trace-phases.py (builder's phases, their
# wall time, and what the CPU did in each). Also the cold hello's blocking
# system calls (go tool trace -pprof=syscall), which is where its time
# waits.
# Usage: bench/trace.sh   (RUNS=N traces of each case, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init trace
export BUILDER_RUNC=$bin/runc
start_registry
push_busybox_base
hello=$work/hello; hello_context "$hello"
big=$work/big; big_context "$big"
B="$bin/builder --root $work/root"
traces=$work/traces; mkdir -p "$traces"
traced() { # NAME I COMMAND...
  local name=$1 i=$2; shift 2
  BUILDER_TRACE=$traces/$name-$i.trace BUILDER_CPUPROFILE=$traces/$name-$i.cpu "$@" >/dev/null
}
$B build --progress quiet -t hello "$hello"
$B build --progress quiet --build-arg BASE="$base" -t big "$big"
$B build --progress quiet --build-arg BASE="$base" -t big "$big"
for i in $(seq "$runs"); do
  traced noop "$i" $B build --progress quiet --build-arg BASE="$base" -t big "$big"
  touch "$big/src/d100/f050"
  traced touched "$i" $B build --progress quiet --build-arg BASE="$base" -t big "$big"
  traced warm "$i" $B build --progress quiet -t hello "$hello"
done
# The cold cases empty the cache, the 20,000-file copy with it: last.
for i in $(seq "$runs"); do
  $B builder prune -a -f >/dev/null; $B image prune -a -f >/dev/null
  traced cold "$i" $B build --progress quiet -t hello "$hello"
done
{
  for c in noop touched warm cold; do
    echo "=== $c"
    python3 bench/trace-phases.py "$traces"/$c-*.trace
    echo
  done
  echo "=== cold: blocking system calls, all runs (ms)"
  for t in "$traces"/cold-*.trace; do go tool trace -pprof=syscall "$t" >"${t%.trace}.syscall"; done
  go tool pprof -top -cum -nodecount=25 "$traces"/cold-*.syscall 2>/dev/null |
    grep -E 'Fdatasync|Fsync|bbolt\.\(\*DB\)\.Update|Tx\)\.Commit|syscall\.write$|writeTimestampFile|Total|total'
} | tee "$out/trace.txt"
