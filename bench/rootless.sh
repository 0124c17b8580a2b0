#!/usr/bin/env bash
# builder run by an unprivileged account against builder run by root, on
# the hello example, warm (everything cached) and cold (cache and images
# pruned), in interleaved rounds (bench/interleave.py). The issue's target:
# rootless within 1.2x of root. The account (bldbench, with the subordinate
# ID range useradd gives it) is created for the run and removed after.
# Results: bench/results/rootless-*.json.
# Usage: bench/rootless.sh after `make all` (make bench runs it), as root.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init rootless
acct=bldbench
userdel --remove --force "$acct" 2>/dev/null || true
useradd --create-home --shell /bin/sh "$acct"
trap 'pkill -KILL -u '"$acct"' || true; userdel --remove --force '"$acct"' || true; bench_cleanup' EXIT
home=$(getent passwd "$acct" | cut -d: -f6)
# The account runs the binaries from a directory it can reach.
chmod 0711 "$work"; mkdir -m 0755 "$work/bin"
cp "$bin/builder" "$bin/runc" "$work/bin/"
hello=$home/hello; mkdir -p "$hello"
cp examples/hello/Dockerfile examples/hello/hello.c "$hello/"
gcc -static -O2 -o "$hello/hello" "$hello/hello.c"
chown -R "$acct:" "$hello"
U="setpriv --reuid=$acct --regid=$acct --init-groups env -i HOME=$home USER=$acct PATH=/usr/bin:/bin $work/bin/builder"
R="$work/bin/builder --root $work/root"
$U build --progress quiet -t hello "$hello" >/dev/null
$R build --progress quiet -t hello "$hello" >/dev/null
python3 bench/interleave.py --runs "$((runs * 2))" --export-json "$out/rootless-warm.json" \
  --case "rootless builder (hello, cached)" "" "$U build --progress quiet -t hello $hello" \
  --case "root builder (hello, cached)" "" "$R build --progress quiet -t hello $hello"
python3 bench/interleave.py --runs "$((runs * 2))" --export-json "$out/rootless-cold.json" \
  --case "rootless builder (hello, cold)" "$U builder prune -a -f; $U image prune -a -f" "$U build --progress quiet -t hello $hello" \
  --case "root builder (hello, cold)" "$R builder prune -a -f; $R image prune -a -f" "$R build --progress quiet -t hello $hello"
