#!/bin/sh
# The "tiny" test distro: busybox and the files a Linux userland expects,
# as a tarball, in well under a second and with no network.
#
# Usage: rootfs-templates/tiny.sh OUT.tar.gz [NAME]
# NAME (default "tiny") goes into /etc/os-release and the default hostname.
set -eu

out=${1:?usage: tiny.sh OUT.tar.gz [NAME]}
name=${2:-tiny}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "tiny.sh: $busybox is missing (scripts/install-deps)" >&2; exit 1; }

root=$(mktemp -d)
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
	"$root/root" "$root/home/alice" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" \
	"$root/run" "$root/var/log" "$root/mnt"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

cat >"$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<GROUP
root:x:0:
tty:x:5:
users:x:100:alice
alice:x:1000:
nogroup:x:65534:
GROUP
printf 'root:*:19000:0:99999:7:::\nalice:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
chmod 640 "$root/etc/shadow"
chown -R 1000:1000 "$root/home/alice"
cat >"$root/etc/os-release" <<OS
NAME="openwsl $name"
ID=$name
PRETTY_NAME="openwsl $name test distro (busybox)"
OS
echo "$name" >"$root/etc/hostname"
cat >"$root/etc/profile" <<'PROFILE'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PS1='\u@\h:\w\$ '
PROFILE
cat >"$root/etc/wsl.conf" <<CONF
[network]
hostname = $name
CONF

tar -C "$root" --numeric-owner --sort=name --mtime=@0 -czf "$out.tmp" .
mv "$out.tmp" "$out"
