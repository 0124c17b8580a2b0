# Shared set-up for the benchmarks; sourced from the repository root.

# bench_bin prints the directory of the builder under test (and the pinned
# peers beside it): $BENCH_BIN, to run a benchmark with another build of
# builder beside the same peers, else bin/.
bench_bin() { echo "${BENCH_BIN:-$PWD/bin}"; }

# bench_init NAME sets repo, bin (bench_bin), runs ($RUNS, default 5) and
# out (bench/results), makes a scratch directory $work, drops the page
# cache, and on exit kills the processes in the pids array and removes
# $work (a script with more to undo sets its own EXIT trap after it).
bench_init() {
  repo=$PWD
  bin=$(bench_bin)
  runs=${RUNS:-5}
  out=$repo/bench/results
  mkdir -p "$out"
  work=$(mktemp -d "/tmp/builder-bench-$1-XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  drop_page_cache
}

# drop_page_cache empties the page cache, so that every tool's binary is
# read from disk alike on its first run, as after a reboot or an install.
# How a binary's pages came into the cache moves its start-up: on this VM
# a warm hello took 0.098 s with a builder just written by the Go linker
# and 0.111 s with a cp of it, paired 1.15 over 20 rounds; after a drop
# both took 0.106 s (bench/README, "Which binary's pages").
drop_page_cache() {
  sync
  if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    echo "NOTE: cannot drop the page cache (not root): a binary just built may start faster than the others" >&2
  fi
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}

# push_busybox_base pushes a busybox base image (Debian's busybox-static,
# FROM scratch) to the registry start_registry started, with skopeo, and
# sets base to its name.
push_busybox_base() {
  local bb=$work/busybox
  busybox_context "$bb"
  "$bin/builder" --root "$work/bbroot" build --progress quiet -o type=oci,dest="$bb/image.tar" "$bb"
  skopeo copy --quiet --dest-tls-verify=false "oci-archive:$bb/image.tar" "docker://$reg/library/busybox:latest"
  base=$reg/library/busybox:latest
}

# start_registry runs Debian's docker-registry on a free loopback port,
# storing under $work/registry, and sets reg to its host:port.
start_registry() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  reg=127.0.0.1:$port
  mkdir -p "$work/registry"
  cat >"$work/registry/config.yml" <<CFG
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry/data}}
http: {addr: $reg}
CFG
  docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 & pids+=($!)
  for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" 2>/dev/null && break; sleep 0.05; done
}

# busybox_context DIR lays out a busybox image's context (Debian's static
# busybox, FROM scratch) in DIR.
busybox_context() {
  local bb=$1 a
  mkdir -p "$bb/rootfs/bin" "$bb/rootfs/tmp"
  cp "$(command -v busybox)" "$bb/rootfs/bin/busybox"
  for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$bb/rootfs/bin/$a"; done
  printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' >"$bb/Dockerfile"
}

# start_buildkitd DIR [FLAG...] starts a stock buildkitd (the pinned one,
# its OCI worker on the pinned runc, FLAGs added) with its state, socket
# and log under DIR, allowed plain HTTP to the registry start_registry
# started, and sets bkpid and buildctl.
start_buildkitd() {
  local dir=$1; shift
  mkdir -p "$dir"
  printf '[registry."%s"]\n  http = true\n' "$reg" >"$dir/buildkitd.toml"
  PATH=$bin:$PATH "$bin/buildkitd" --root "$dir/state" --addr "unix://$dir/sock" --config "$dir/buildkitd.toml" \
    --oci-worker=true --oci-worker-binary "$bin/runc" "$@" >"$dir/log" 2>&1 & bkpid=$!; pids+=($bkpid)
  for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.1; done
  buildctl="$bin/buildctl --addr unix://$dir/sock"
}

# hello_context DIR lays out the hello example's context in DIR, its
# static binary compiled.
hello_context() {
  mkdir -p "$1"
  cp examples/hello/Dockerfile examples/hello/hello.c "$1/"
  gcc -static -O2 -o "$1/hello" "$1/hello.c"
}

# big_context DIR [DIRS FILES BYTES] makes the 20,000-file, ~400 MB context
# (random data; DIRS directories of FILES files of BYTES bytes, 200 x 100 x
# 20 KB unless given) in DIR, built on the image its BASE build argument
# names.
big_context() {
  mkdir -p "$1/src"
  python3 - "$1/src" "${2:-200}" "${3:-100}" "${4:-20480}" <<'PY'
import os, sys
root, dirs, files, size = sys.argv[1], *map(int, sys.argv[2:])
for d in range(dirs):
    p = os.path.join(root, "d%03d" % d); os.mkdir(p)
    for f in range(files):
        with open(os.path.join(p, "f%03d" % f), "wb") as fh:
            fh.write(os.urandom(size))
PY
  printf 'ARG BASE\nFROM ${BASE}\nCOPY src /src\nRUN find /src | wc -l\n' >"$1/Dockerfile"
}
