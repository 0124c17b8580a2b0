#!/usr/bin/env bash
# builder run by an unprivileged account, in interleaved rounds
# (bench/interleave.py):
#   against builder run by root, on the hello example warm (everything
#   cached) and cold (cache and images pruned) and the no-op rebuild of the
#   20,000-file / 400 MB context: target within 1.2x;
#   against Debian's buildah (bud --layers), rootless too, as the same
#   account, on the same cases: target for the no-op rebuild >= 5x faster.
# The account (bldbench, with the subordinate ID range useradd gives it) is
# created for the run and removed after. Results: bench/results/rootless-*.json.
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
hello=$home/hello; hello_context "$hello"
chown -R "$acct:" "$hello"
U="setpriv --reuid=$acct --regid=$acct --init-groups env -i HOME=$home USER=$acct PATH=/usr/bin:/bin $work/bin/builder"
R="$work/bin/builder --root $work/root"
start_registry
push_busybox_base
# Both rootless builders pull the base from the local registry over HTTP.
mkdir -p "$home/.local/share/builder"
printf '[registry."%s"]\n  http = true\n' "$reg" >"$work/registries.toml"
cp "$work/registries.toml" "$home/.local/share/builder/config.toml"
chown -R "$acct:" "$home/.local"
big=$home/big; big_context "$big"; chown -R "$acct:" "$big"
R="$R --config $work/registries.toml"
A="setpriv --reuid=$acct --regid=$acct --init-groups env -i HOME=$home USER=$acct PATH=/usr/bin:/bin"
bud="$A buildah bud --runtime $work/bin/runc --quiet --layers --tls-verify=false"
$U build --progress quiet -t hello "$hello" >/dev/null
$R build --progress quiet -t hello "$hello" >/dev/null
$bud -t hello "$hello" >/dev/null
python3 bench/interleave.py --runs "$((runs * 2))" --export-json "$out/rootless-warm.json" \
  --case "rootless builder (hello, cached)" "" "$U build --progress quiet -t hello $hello" \
  --case "root builder (hello, cached)" "" "$R build --progress quiet -t hello $hello" \
  --case "rootless buildah bud --layers (hello, cached)" "" "$bud -t hello $hello"
python3 bench/interleave.py --runs "$((runs * 2))" --export-json "$out/rootless-cold.json" \
  --case "rootless builder (hello, cold)" "$U builder prune -a -f; $U image prune -a -f" "$U build --progress quiet -t hello $hello" \
  --case "root builder (hello, cold)" "$R builder prune -a -f; $R image prune -a -f" "$R build --progress quiet -t hello $hello" \
  --case "rootless buildah bud (hello, cold)" "$A buildah rmi -a -f >/dev/null 2>&1 || true" "$bud -t hello $hello"
$U build --progress quiet --build-arg BASE=$base -t big "$big" >/dev/null
$R build --progress quiet --build-arg BASE=$base -t big "$big" >/dev/null
$bud --build-arg BASE=$base -t big "$big" >/dev/null
python3 bench/interleave.py --runs "$runs" --export-json "$out/rootless-noop.json" \
  --case "rootless builder (no-op rebuild)" "" "$U build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "root builder (no-op rebuild)" "" "$R build --progress quiet --build-arg BASE=$base -t big $big" \
  --case "rootless buildah bud --layers (no-op rebuild)" "" "$bud --build-arg BASE=$base -t big $big"
