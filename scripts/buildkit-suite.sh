#!/usr/bin/env bash
# BuildKit's own frontend/dockerfile integration tests, run against stock
# buildkitd and against builder serve (through scripts/buildkitd-shim), side
# by side and offline.
#
#   scripts/buildkit-suite.sh [REGEX]
#
# REGEX selects tests as `go test -run` does, below TestIntegration (default:
# every test, worker=oci, frontend=builtin). Prints each side's counts and
# every test that passes on stock buildkitd but not on builder; exits 1 if one
# of those is not in integration/buildkit-suite-known.txt (a test name and the
# reason, one per line).
#
# BuildKit's harness starts a daemon per test by running `buildkitd` from PATH
# with buildkitd's flags, and pulls its bases through a mirror: `registry`
# from PATH with storage in BUILDKIT_REGISTRY_MIRROR_DIR, copying from Docker
# Hub only what the mirror lacks. Nothing can be pulled here, so the mirror is
# filled first with the bases the suite names (busybox, busybox:stable-musl,
# alpine), each made FROM scratch from Debian's static busybox with the
# official busybox image's /etc. A test that needs what those lack (apk, a
# Debian base, another image) fails on both sides alike.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/bin
run=${1:-.*}
work=${BUILDKIT_SUITE_DIR:-/tmp/builder-buildkit-suite}
known=$repo/integration/buildkit-suite-known.txt
version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
mkdir -p "$work"

# The test binary, built once per BuildKit version from the module's own
# source (its go.mod, its tests). The module cache is read-only, so a copy.
testbin=$work/dockerfile-$version.test
if [ ! -x "$testbin" ]; then
  echo "building BuildKit $version frontend/dockerfile tests"
  src=$(cd "$repo" && go list -m -f '{{.Dir}}' github.com/moby/buildkit)
  rm -rf "$work/src" && cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  (cd "$work/src" && GOFLAGS=-mod=mod go test -c -o "$testbin.tmp" ./frontend/dockerfile)
  mv "$testbin.tmp" "$testbin"
fi

# PATH for each side: the same registry, buildctl and pinned runc; only
# buildkitd differs.
for side in stock builder; do
  mkdir -p "$work/path-$side"
  ln -sfn "$(command -v docker-registry)" "$work/path-$side/registry"
  ln -sfn "$bin/buildctl" "$work/path-$side/buildctl"
  ln -sfn "$bin/runc" "$work/path-$side/runc"
done
ln -sfn "$bin/buildkitd" "$work/path-stock/buildkitd"
cat >"$work/path-builder/buildkitd" <<SH
#!/bin/sh
BUILDER=$bin/builder exec $repo/scripts/buildkitd-shim "\$@"
SH
chmod +x "$work/path-builder/buildkitd"

# The mirror's bases, pushed once into the storage the harness's registry
# will serve (it writes its own config.yaml there, listening on a port of
# its choosing; this registry only fills data/).
# Filled again whenever this script or the bases' /etc change.
mirror=$work/mirror
stamp=$(cat "$0" "$repo"/testdata/busybox/etc/* | sha256sum | cut -c1-16)
if [ "$(cat "$mirror/filled" 2>/dev/null)" != "$stamp" ]; then
  echo "filling the mirror"
  rm -rf "$mirror" "$work/base" && mkdir -p "$mirror" "$work/base/rootfs"
  r=$work/base/rootfs
  mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/home" "$r/var/spool/mail" "$r/var/www" "$r/usr/sbin" "$r/tmp"
  chmod 700 "$r/root"; chmod 1777 "$r/tmp"
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  cp "$repo/testdata/busybox/etc/passwd" "$repo/testdata/busybox/etc/group" "$r/etc/"
  # Debian's busybox lacks the official image's adduser and addgroup,
  # which the suite's ownership tests call; these do what those calls ask
  # (adduser -D [-u UID] [-G GROUP] NAME, addgroup [-g GID] NAME).
  cat >"$r/usr/sbin/addgroup" <<'EOF'
#!/bin/sh
gid=
while getopts g:S o; do case $o in g) gid=$OPTARG;; esac; done
shift $((OPTIND - 1))
[ -n "$gid" ] || gid=$(awk -F: 'BEGIN{m=999} $3>m && $3<60000 {m=$3} END{print m+1}' /etc/group)
echo "$1:x:$gid:" >>/etc/group
EOF
  cat >"$r/usr/sbin/adduser" <<'EOF'
#!/bin/sh
uid= group=
while getopts Du:G:h:s:S o; do case $o in u) uid=$OPTARG;; G) group=$OPTARG;; esac; done
shift $((OPTIND - 1))
[ -n "$uid" ] || uid=$(awk -F: 'BEGIN{m=999} $3>m && $3<60000 {m=$3} END{print m+1}' /etc/passwd)
if [ -n "$group" ]; then gid=$(awk -F: -v g="$group" '$1==g {print $3}' /etc/group)
else gid=$uid; echo "$1:x:$gid:" >>/etc/group; fi
echo "$1:x:$uid:$gid:Linux User,,,:/home/$1:/bin/sh" >>/etc/passwd
mkdir -p "/home/$1" && chown "$uid:$gid" "/home/$1"
EOF
  chmod 755 "$r/usr/sbin/addgroup" "$r/usr/sbin/adduser"
  printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' >"$work/base/Dockerfile"
  "$bin/builder" --root "$work/base-root" build --progress quiet -o type=oci,dest="$work/base/image.tar" "$work/base"
  rm -rf "$work/base-root"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
    "$mirror/data" "$port" >"$work/fill.yml"
  env -u REGISTRY_HTTP_ADDR docker-registry serve "$work/fill.yml" >"$work/fill.log" 2>&1 &
  regpid=$!
  trap 'kill $regpid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" 2>/dev/null && break; sleep 0.05; done
  for name in library/busybox:latest library/busybox:stable-musl library/alpine:latest \
    amd64/debian:bullseye-20230109-slim tonistiigi/hellofs:latest; do
    skopeo copy --quiet --dest-tls-verify=false "oci-archive:$work/base/image.tar" "docker://127.0.0.1:$port/$name"
  done
  kill $regpid; wait $regpid 2>/dev/null || true
  trap - EXIT
  echo "$stamp" >"$mirror/filled"
fi

# One side's run: verdict lines "PASS|FAIL|SKIP NAME" into $work/SIDE.verdicts.
pattern="^TestIntegration\$/($run)/^worker=oci\$/^frontend=builtin\$"
side() {
  local s=$1 log=$work/$1.log
  echo "running against $s: -run '$pattern'"
  local start=$SECONDS
  (cd "$work/src/frontend/dockerfile" 2>/dev/null || cd "$work"
   PATH=$work/path-$s:$PATH BUILDKIT_REGISTRY_MIRROR_DIR=$mirror BUILDKIT_DEBUG_EXEC_OUTPUT=0 \
     "$testbin" -test.run "$pattern" -test.v -test.timeout 120m >"$log" 2>&1) || true
  { grep -oE -- '--- (PASS|FAIL|SKIP): TestIntegration/[^ ]+/worker=oci/frontend=builtin[^ ]*' "$log" || true; } |
    sed -E 's/^--- (PASS|FAIL|SKIP): TestIntegration\/(.*)\/worker=oci\/frontend=builtin/\1 \2/' | sort -k2 >"$work/$s.verdicts"
  printf '%s: %d passed, %d failed, %d skipped in %d s (log %s)\n' "$s" \
    "$(grep -c '^PASS' "$work/$s.verdicts" || true)" "$(grep -c '^FAIL' "$work/$s.verdicts" || true)" \
    "$(grep -c '^SKIP' "$work/$s.verdicts" || true)" $((SECONDS - start)) "$log"
}
side stock
side builder

# Every test that passes on stock must pass on builder, or be known. A
# selection where stock passes nothing proves nothing (a harness that did
# not start, a REGEX that matches no test): that is a failure too.
rc=0
if ! grep -q '^PASS' "$work/stock.verdicts"; then
  echo "buildkit suite: nothing passed on stock buildkitd (see $work/stock.log)"
  exit 1
fi
count=0
while read -r verdict name; do
  [ "$verdict" = PASS ] || continue
  b=$(awk -v n="$name" '$2 == n {print $1}' "$work/builder.verdicts")
  [ "$b" = PASS ] && continue
  count=$((count + 1))
  reason=$(awk -v n="$name" '$1 == n {$1=""; print substr($0, 2)}' "$known" 2>/dev/null || true)
  if [ -n "$reason" ]; then
    echo "  known: $name (${b:-not run} on builder): $reason"
  else
    echo "  REGRESSION: $name passes on stock buildkitd, ${b:-not run} on builder"
    rc=1
  fi
done <"$work/stock.verdicts"
echo "buildkit suite: $(grep -c '^PASS' "$work/stock.verdicts" || true) pass on stock buildkitd; $count of them not on builder"
exit $rc
