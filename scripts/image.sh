#!/usr/bin/env bash
# Builds builder's own image, with builder, for CI systems that run a job
# in a container (as kaniko's executor image was used): FROM scratch with
# builder, the pinned runc beside it, the shared libraries both load, a
# busybox shell (GitLab and others run job scripts with sh) and the host's
# CA certificates. The state root is a volume: overlayfs needs a directory
# that is not itself on the container's overlay.
#
# Without root: the image has an account, builder (1000:1000), with a
# subordinate ID range and Debian's setuid newuidmap/newgidmap, so a job
# run as `--user 1000:1000` builds in a user namespace of its own, with
# its state root in its home (a volume of its own, owned by it).
#
#   scripts/image.sh BUILDER RUNC NAME OUT.tar
#
# writes a docker-archive of NAME to OUT.tar (for docker load).
set -euo pipefail
builder=$1 runc=$2 name=$3 out=$4
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
newuidmap=$(command -v newuidmap) newgidmap=$(command -v newgidmap) || {
  echo "scripts/image.sh: newuidmap and newgidmap not found: apt-get install uidmap" >&2
  exit 1
}
mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/var/lib/builder" "$root/root"
mkdir -p "$ctx/home/builder/.local/share/builder"
chmod 1777 "$root/tmp"
cp "$builder" "$root/usr/local/bin/builder"
cp "$runc" "$root/usr/local/bin/runc"
# With file capabilities, not setuid root (as podman's own image has
# them): a setuid newuidmap runs as root, which in a container lacks the
# CAP_SYS_ADMIN over the account's new namespace that writing its map
# takes; with cap_setuid alone it stays the account, the namespace's
# owner. The layer keeps the xattr, and docker load restores it.
install -m 0755 "$newuidmap" "$root/usr/bin/newuidmap"
install -m 0755 "$newgidmap" "$root/usr/bin/newgidmap"
setcap cap_setuid=ep "$root/usr/bin/newuidmap"
setcap cap_setgid=ep "$root/usr/bin/newgidmap"
# The libraries the binaries load (libc, libseccomp, newuidmap's), at
# their paths.
for lib in $(ldd "$builder" "$runc" "$newuidmap" "$newgidmap" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
bb=$(command -v busybox)
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:builder:/home/builder:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nbuilder:x:1000:\n' > "$root/etc/group"
printf 'builder:100000:65536\n' > "$root/etc/subuid"
printf 'builder:100000:65536\n' > "$root/etc/subgid"
# One layer, imported (not COPY'd: BuildKit's COPY drops file
# capabilities, moby/buildkit#2250): root's files, then the account's home.
tar -cf "$ctx/rootfs.tar" --numeric-owner --owner=0 --group=0 --xattrs --xattrs-include=security.capability -C "$root" .
tar -rf "$ctx/rootfs.tar" --numeric-owner --owner=1000 --group=1000 -C "$ctx" ./home
"$builder" import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  -c 'VOLUME ["/var/lib/builder", "/home/builder/.local/share/builder"]' \
  -c 'ENTRYPOINT ["/usr/local/bin/builder"]' \
  -m "builder's job image" "$ctx/rootfs.tar" "$name" >/dev/null
"$builder" save -o "$out" "$name"
