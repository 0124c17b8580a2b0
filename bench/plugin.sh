#!/usr/bin/env bash
# The docker CLI plugin's hop: `docker bld build` against `builder build`
# of the hello example, warm (everything cached) and cold, in interleaved
# rounds (bench/interleave.py), with each docker CLI binary on the machine.
# Target: the plugin adds <= 30 ms. No Docker Engine is needed.
# Results: bench/results/plugin-*.json and plugin-summary.txt.
# Usage: bench/plugin.sh after `make all` (make bench runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init plugin

hello=$work/hello; hello_context "$hello"
export DOCKER_CONFIG=$work/docker BUILDER_ROOT=$work/root PATH=$bin:$PATH
"$bin/builder" install-plugin >/dev/null
# The docker CLI's own floor: a plugin that is a shell script doing nothing.
cat >"$DOCKER_CONFIG/cli-plugins/docker-nop" <<'SH'
#!/bin/sh
[ "$1" = docker-cli-plugin-metadata ] && printf '{"SchemaVersion":"0.1.0","Vendor":"bench","Version":"0","ShortDescription":"nothing"}\n'
exit 0
SH
chmod +x "$DOCKER_CONFIG/cli-plugins/docker-nop"
"$bin/builder" build -q -t hello "$hello" >/dev/null

summary=()
for docker in $(which -a docker | xargs -n1 readlink -f | awk '!seen[$0]++'); do
  v=$("$docker" version --format '{{.Client.Version}}' 2>/dev/null || true)
  [ -n "$v" ] || continue
  python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/plugin-$v-warm.json" \
    --case "docker $v bld build (warm hello)" "" "$docker bld build -q -t hello $hello" \
    --case "builder build (warm hello)" "" "$bin/builder build -q -t hello $hello" \
    | tee "$out/plugin-$v-warm.txt"
  python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/plugin-$v-cold.json" \
    --case "docker $v bld build (cold hello)" "$bin/builder builder prune -a -f; $bin/builder image prune -a -f" "$docker bld build -q -t hello $hello" \
    --case "builder build (cold hello)" "$bin/builder builder prune -a -f; $bin/builder image prune -a -f" "$bin/builder build -q -t hello $hello" \
    | tee "$out/plugin-$v-cold.txt"
  python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/plugin-$v-floor.json" \
    --case "docker $v nop (a plugin that does nothing)" "" "$docker nop" \
    --case "/bin/true" "" "/bin/true" \
    | tee "$out/plugin-$v-floor.txt"
  summary+=("$out/plugin-$v-warm.json" "$out/plugin-$v-cold.json" "$out/plugin-$v-floor.json")
done

python3 - "${summary[@]}" <<'PY' | tee "$out/plugin-summary.txt"
import json, sys
print("the plugin's hop = docker bld build - builder build (medians); target <= 30 ms")
print("floor = what the docker CLI itself takes to run a plugin that does nothing")
for f in sys.argv[1:]:
    res = json.load(open(f))["results"]
    a, b = res[0], res[1]
    print(f"  {a['command'].split(' bld ')[0].split(' nop')[0]:24s} {f.split('-')[-1][:-5]:4s}: "
          f"{(a['median'] - b['median']) * 1000:+6.1f} ms ({a['median']:.3f} s vs {b['median']:.3f} s)")
PY
