#!/usr/bin/env bash
# builder's image commands side by side with skopeo on the same ~1 GB image
# (1 GiB of random data in one layer): save and load (docker-archive), push
# to and pull from a local registry. Each run starts from the same state for
# both tools (fresh roots, fresh registry), the two tools' runs interleaved
# (bench/interleave.py). Also the peak RSS of each.
# Usage: bench/images.sh after `make all` (RUNS=N, SIZE_MB=N to change)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init img
size_mb=${SIZE_MB:-1024}
regpid=
cleanup() { [ -n "$regpid" ] && kill "$regpid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$work/registry.yml" <<CFG
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/regdata}}
http: {addr: $reg}
CFG
# A registry emptied and restarted: every push starts from nothing.
cat >"$work/fresh-registry.sh" <<SH
#!/usr/bin/env bash
pkill -f "docker-registry serve $work/registry.yml" 2>/dev/null
while pgrep -f "docker-registry serve $work/registry.yml" >/dev/null; do sleep 0.05; done
rm -rf $work/regdata
setsid docker-registry serve $work/registry.yml >/dev/null 2>&1 < /dev/null &
for _ in \$(seq 200); do curl -sf http://$reg/v2/ >/dev/null && exit 0; sleep 0.05; done
exit 1
SH
chmod +x "$work/fresh-registry.sh"
"$work/fresh-registry.sh"
printf '[registry."%s"]\n  http = true\n' "$reg" >"$work/config.toml"

B="$bin/builder --config $work/config.toml"
store=$work/root/images
echo "making a ${size_mb} MB image"
mkdir -p "$work/rootfs"
for i in $(seq $((size_mb / 64))); do head -c $((64 << 20)) /dev/urandom >"$work/rootfs/blob$i"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
rm -rf "$work/rootfs"
$B --root "$work/root" import "$work/rootfs.tar" big:1 >/dev/null
rm -f "$work/rootfs.tar"

python3 bench/interleave.py --warmup 0 --runs "$runs" --export-json "$out/images-save.json" \
  --case "builder save" "rm -f $work/b.tar" "$B --root $work/root save -o $work/b.tar big:1" \
  --case "skopeo copy oci: -> docker-archive:" "rm -f $work/s.tar" "skopeo copy --quiet oci:$store:big:1 docker-archive:$work/s.tar:big:1"
$B --root "$work/root" save -o "$work/b.tar" big:1
python3 bench/interleave.py --warmup 0 --runs "$runs" --export-json "$out/images-load.json" \
  --case "builder load" "rm -rf $work/loadroot" "$B --root $work/loadroot load -i $work/b.tar" \
  --case "skopeo copy docker-archive: -> oci:" "rm -rf $work/skopeo-oci" "skopeo copy --quiet docker-archive:$work/b.tar oci:$work/skopeo-oci:big"
$B --root "$work/root" tag big:1 "$reg/bench/big:1"
python3 bench/interleave.py --warmup 0 --runs "$runs" --export-json "$out/images-push.json" \
  --case "builder push" "$work/fresh-registry.sh" "$B --root $work/root push -q $reg/bench/big:1" \
  --case "skopeo copy oci: -> docker://" "$work/fresh-registry.sh" "skopeo copy --quiet --dest-tls-verify=false oci:$store:big:1 docker://$reg/bench/big:1"
$B --root "$work/root" push -q "$reg/bench/big:1" >/dev/null
python3 bench/interleave.py --warmup 0 --runs "$runs" --export-json "$out/images-pull.json" \
  --case "builder pull" "rm -rf $work/pullroot" "$B --root $work/pullroot pull -q $reg/bench/big:1" \
  --case "skopeo copy docker:// -> oci:" "rm -rf $work/skopeo-pull" "skopeo copy --quiet --src-tls-verify=false docker://$reg/bench/big:1 oci:$work/skopeo-pull:big"

rss() { rm -rf "$2"; /usr/bin/time -f %M bash -c "$1" 2>&1 >/dev/null | tail -1; }
{
  echo "peak RSS (MB) on a ${size_mb} MB image:"
  echo "  save: builder $(( $(rss "$B --root $work/root save -o $work/r.tar big:1" $work/r.tar) / 1024 )), skopeo $(( $(rss "skopeo copy --quiet oci:$store:big:1 docker-archive:$work/r2.tar:big:1" $work/r2.tar) / 1024 ))"
  echo "  load: builder $(( $(rss "$B --root $work/rssroot load -i $work/b.tar" $work/rssroot) / 1024 )), skopeo $(( $(rss "skopeo copy --quiet docker-archive:$work/b.tar oci:$work/rss-oci:big" $work/rss-oci) / 1024 ))"
  echo "  pull: builder $(( $(rss "$B --root $work/rsspull pull -q $reg/bench/big:1" $work/rsspull) / 1024 )), skopeo $(( $(rss "skopeo copy --quiet --src-tls-verify=false docker://$reg/bench/big:1 oci:$work/rss-pull:big" $work/rss-pull) / 1024 ))"
} | tee "$out/images-rss.txt"

python3 - "$out" <<'PY' | tee "$out/images-summary.txt"
import json, os, sys
out = sys.argv[1]
print("median seconds (min-max); ratio = builder / skopeo (target <= 1.2)")
for op in ["save", "load", "push", "pull"]:
    res = json.load(open(os.path.join(out, f"images-{op}.json")))["results"]
    b = next(r for r in res if r["command"].startswith("builder"))
    s = next(r for r in res if r["command"].startswith("skopeo"))
    print(f"  {op:5s} builder {b['median']:7.2f}s ({b['min']:.2f}-{b['max']:.2f})  skopeo {s['median']:7.2f}s ({s['min']:.2f}-{s['max']:.2f})  ratio {b['median']/s['median']:.2f}")
PY
