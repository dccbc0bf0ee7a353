#!/bin/sh
# A real Debian 12 (bookworm) minbase distro as a tarball, through
# debootstrap and the machine's configured Debian mirror (about a minute).
# Cached by its recipe: a second call copies the cached tarball.
#
# Usage: rootfs-templates/debian.sh OUT.tar.gz
set -eu

out=${1:?usage: debian.sh OUT.tar.gz}
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "debian.sh: no Debian mirror configured in /etc/apt" >&2; exit 1; }

key=$(printf '%s\n' "$mirror" "$(cat "$0")" | sha256sum | cut -c1-16)
if [ -w /var/cache ] ; then cache=/var/cache/openwsl/rootfs; else cache=${XDG_CACHE_HOME:-$HOME/.cache}/openwsl/rootfs; fi
mkdir -p "$cache"
cached=$cache/debian-bookworm-$key.tar.gz
if [ ! -f "$cached" ]; then
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	echo "debian.sh: debootstrap bookworm minbase from $mirror" >&2
	debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
	printf '[network]\nhostname = debian\n' >"$root/etc/wsl.conf"
	rm -rf "$root/var/cache/apt/archives/"*.deb
	tar -C "$root" --numeric-owner --xattrs --sort=name -czf "$cached.tmp" .
	mv "$cached.tmp" "$cached"
fi
cp "$cached" "$out.tmp"
mv "$out.tmp" "$out"
