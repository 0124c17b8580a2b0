#!/usr/bin/env bash
# builder serve as a buildkitd: stock buildctl against `builder serve`
# against stock buildctl against a warm stock buildkitd, in interleaved
# rounds (bench/interleave.py), each daemon warm with its cache:
#   the hello example (cached, type=oci) and the 20,000-file / 400 MB
#   context's no-op rebuild (no export). Target <= 1.0.
# Results: bench/results/serve-*.json and serve-summary.txt.
# Usage: bench/serve.sh after `make all peers` (make bench runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init serve
start_registry
push_busybox_base
printf '[registry."%s"]\n  http = true\n' "$reg" >"$work/registries.toml"

# Stock buildkitd and builder serve, both warm for the whole run.
bk=$work/bk; mkdir -p "$bk"
PATH=$bin:$PATH "$bin/buildkitd" --root "$bk/state" --addr "unix://$bk/sock" --config "$work/registries.toml" \
  --oci-worker=true --oci-worker-binary "$bin/runc" >"$bk/log" 2>&1 & pids+=($!)
mkdir -p "$work/serve"; cp "$work/registries.toml" "$work/serve/config.toml"
PATH=$bin:$PATH "$bin/builder" --root "$work/serve" serve --addr "unix://$work/serve.sock" >"$work/serve.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -S "$bk/sock" ] && [ -S "$work/serve.sock" ] && break; sleep 0.1; done

hello=$work/hello; hello_context "$hello"
big=$work/big; big_context "$big"

for d in bk serve; do
  sock=$bk/sock; [ $d = serve ] && sock=$work/serve.sock
  eval "b_$d='$bin/buildctl --addr unix://$sock build --progress quiet --frontend dockerfile.v0'"
done
hello_args="--local context=$hello --local dockerfile=$hello --output type=oci,dest=$work/hello.tar"
big_args="--local context=$big --local dockerfile=$big --opt build-arg:BASE=$base"
# Warm both.
$b_bk $hello_args; $b_serve $hello_args; $b_bk $big_args; $b_serve $big_args

python3 bench/interleave.py --runs "$((runs * 3))" --export-json "$out/serve-hello.json" \
  --case "buildctl -> builder serve (hello, cached, type=oci)" "" "$b_serve $hello_args" \
  --case "buildctl -> buildkitd (hello, cached, type=oci)" "" "$b_bk $hello_args" \
  | tee "$out/serve-hello.txt"
python3 bench/interleave.py --runs "$runs" --export-json "$out/serve-noop.json" \
  --case "buildctl -> builder serve (20,000-file no-op rebuild)" "" "$b_serve $big_args" \
  --case "buildctl -> buildkitd (20,000-file no-op rebuild)" "" "$b_bk $big_args" \
  | tee "$out/serve-noop.txt"

python3 - "$out" <<'PY' | tee "$out/serve-summary.txt"
import json, sys, os
out = sys.argv[1]
print("ratio of medians = buildctl against builder serve / against buildkitd (target <= 1.0)")
for name in ["serve-hello", "serve-noop"]:
    res = json.load(open(os.path.join(out, name + ".json")))["results"]
    a, b = res[0], res[1]
    print(f"\n{name}: {a['median'] / b['median']:.2f}")
    for r in res:
        print(f"  {r['command'][:90]:90s} {r['median']:7.3f}s ({r['min']:.3f}-{r['max']:.3f})")
PY
