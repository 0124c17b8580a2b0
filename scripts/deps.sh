#!/usr/bin/env bash
# Installs the Debian packages builder needs: to build it and its pinned runc
# (the "build" set), and for the test suite and benchmarks (the "test" set).
# Only missing packages are installed, so a second run costs nothing.
set -euo pipefail
build=(gcc libc6-dev libseccomp-dev pkg-config make iptables)
test=(docker-registry skopeo busybox-static debootstrap tmux apache2-utils openssl time openssh-server uidmap libcap2-bin strace)
bench=(buildah podman hyperfine time)
want=("${build[@]}")
case "${1:-build}" in
  test) want+=("${test[@]}") ;;
  bench) want+=("${test[@]}" "${bench[@]}") ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts a registry on :5000 at install;
# the tests start their own on free ports and need nothing else running
# (openssh-server likewise: the ssh:// test runs its own sshd).
# Multi-platform builds and their tests run arm64 programs under emulation.
case "${1:-build}" in
  test|bench) "$(dirname "$0")/emulation.sh" ;;
esac
