#!/usr/bin/env bash
# Builds builder's own image, with builder, for CI systems that run a job
# in a container (as kaniko's executor image was used): FROM scratch with
# builder, the pinned runc beside it, the shared libraries both load, a
# busybox shell (GitLab and others run job scripts with sh) and the host's
# CA certificates. The state root is a volume: overlayfs needs a directory
# that is not itself on the container's overlay.
#
#   scripts/image.sh BUILDER RUNC NAME OUT.tar
#
# writes a docker-archive of NAME to OUT.tar (for docker load).
set -euo pipefail
builder=$1 runc=$2 name=$3 out=$4
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/var/lib/builder" "$root/root"
chmod 1777 "$root/tmp"
cp "$builder" "$root/usr/local/bin/builder"
cp "$runc" "$root/usr/local/bin/runc"
# The libraries the two binaries load (libc, libseccomp), at their paths.
for lib in $(ldd "$builder" "$runc" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
bb=$(command -v busybox)
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
cat > "$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/bin
VOLUME /var/lib/builder
ENTRYPOINT ["/usr/local/bin/builder"]
DF
"$builder" build --progress "${BUILDKIT_PROGRESS:-plain}" -t "$name" -o "type=docker,name=$name,dest=$out" "$ctx"
