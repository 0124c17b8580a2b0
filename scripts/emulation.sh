#!/usr/bin/env bash
# Sets up running other architectures' programs, for multi-platform builds
# and their tests: Debian's qemu-user-static, registered with binfmt_misc
# (mounted where it is absent) with the F flag, so that the kernel opens the
# interpreter at registration and it works inside containers too (Debian's
# qemu lacks BuildKit's own execve patch). Also fetches Debian's static
# busybox for arm64, the suite's second base platform.
set -euo pipefail
if ! dpkg-query -W -f='${Status}' qemu-user-static 2>/dev/null | grep -q "ok installed"; then
  echo "installing: qemu-user-static"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for conf in /usr/lib/binfmt.d/qemu-*.conf; do
  name=$(basename "$conf" .conf)
  if [ -e "/proc/sys/fs/binfmt_misc/$name" ]; then
    echo 1 > "/proc/sys/fs/binfmt_misc/$name" # a test may have left it off
    continue
  fi
  # Debian's files carry the F flag already (flags OPF).
  cat "$conf" > /proc/sys/fs/binfmt_misc/register
done
out=/var/cache/builder-test/busybox.arm64
if [ ! -x "$out" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  apt-get update -qq
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1 && dpkg-deb -x busybox-static_*_arm64.deb x)
  mkdir -p "$(dirname "$out")"
  cp "$tmp/x/bin/busybox" "$out.tmp" && mv "$out.tmp" "$out"
  rm -rf "$tmp"
fi
"$out" uname -m | grep -qx aarch64
