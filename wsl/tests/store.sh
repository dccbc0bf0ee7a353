#!/bin/bash
# wsl's distro store, without a VM: import, list, export, set-default,
# import-in-place, unregister, and the errors a user meets first.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
wsl=$PWD/${O:-build}/bin/wsl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR"
unset WSL_VM_SOCKET

rootfs-templates/tiny.sh "$tmp/tiny.tar.gz" tiny
t_check "--import makes the distro's VHDX in DIR" \
	sh -c "'$wsl' --import tiny '$tmp/distros/tiny' '$tmp/tiny.tar.gz' && test -s '$tmp/distros/tiny/ext4.vhdx'"
t_check "the VHDX passes qemu-img check" qemu-img check -q "$tmp/distros/tiny/ext4.vhdx"
t_check "the first distro becomes the default" test "$("$wsl" -l)" = "tiny (default)"
t_check "-l -v shows name, state and version" \
	sh -c "'$wsl' -l -v | grep -Eq '^\* tiny +Stopped +2\$'"
t_check "-l --json is JSON" sh -c "'$wsl' -l --json | grep -q '\"name\": \"tiny\", \"state\": \"Stopped\", \"version\": 2, \"default\": true'"

"$wsl" --import tiny "$tmp/distros/again" "$tmp/tiny.tar.gz" 2>"$tmp/err"
t_check "importing a name twice is refused, naming it" sh -c "test $? -ne 0 && grep -q \"'tiny' already exists\" '$tmp/err'"
"$wsl" --import "bad/name" "$tmp/distros/bad" "$tmp/tiny.tar.gz" 2>"$tmp/err"
t_check "a bad name is refused" sh -c "test $? -ne 0 && grep -q 'cannot name a distro' '$tmp/err'"
head -c 1000 "$tmp/tiny.tar.gz" >"$tmp/truncated.tar.gz"
"$wsl" --import broken "$tmp/distros/broken" "$tmp/truncated.tar.gz" 2>"$tmp/err"
t_check "a truncated tarball fails and registers nothing" sh -c "
	test $? -ne 0 && ! '$wsl' -l | grep -q broken && test ! -e '$tmp/distros/broken/ext4.vhdx'"

t_check "--export writes a tarball with the same entries" sh -c "
	'$wsl' --export tiny '$tmp/out.tar.gz' &&
	tar tzf '$tmp/tiny.tar.gz' | sed 's|^\./||; s|/\$||' | grep -v '^\$' | sort >'$tmp/a' &&
	tar tzf '$tmp/out.tar.gz' | sed 's|^\./||; s|/\$||' | grep -v '^\$' | grep -v '^lost+found' | sort >'$tmp/b' &&
	diff '$tmp/a' '$tmp/b'"
t_check "--export --format vhd copies the disk" sh -c "
	'$wsl' --export tiny '$tmp/copy.vhdx' --format vhd && cmp '$tmp/copy.vhdx' '$tmp/distros/tiny/ext4.vhdx'"
t_check "--import-in-place registers an existing VHDX" sh -c "
	'$wsl' --import-in-place second '$tmp/copy.vhdx' && '$wsl' -l | grep -qx second"
"$wsl" --import-in-place third "$tmp/tiny.tar.gz" 2>"$tmp/err"
t_check "--import-in-place refuses what is not a disk" sh -c "test $? -ne 0 && test -s '$tmp/err'"
t_check "--set-default moves the default" sh -c "
	'$wsl' --set-default second && '$wsl' -l | grep -qx 'second (default)'"
t_check "--unregister forgets the distro and deletes its disk" sh -c "
	'$wsl' --unregister tiny && ! '$wsl' -l | grep -q '^tiny' && test ! -e '$tmp/distros/tiny/ext4.vhdx'"
"$wsl" -d nosuch -- true 2>"$tmp/err"
t_check "an unknown distro is a clear error" sh -c "test $? -ne 0 && grep -q \"no distro named 'nosuch'\" '$tmp/err'"
if [ ! -w /dev/kvm ]; then
	"$wsl" -d second -- true 2>"$tmp/err"
	t_check "no /dev/kvm is a clear error that says what to do" \
		sh -c "test $? -ne 0 && grep -q '/dev/kvm' '$tmp/err'"
fi
# A distro package: the tiny rootfs with /etc/wsl-distribution.conf.
mkdir "$tmp/pkg"
tar -C "$tmp/pkg" -xzf "$tmp/tiny.tar.gz"
printf '[oobe]\ndefaultName = Sideloaded\ndefaultUid = 1000\n[shortcut]\nicon = /x.ico\n' \
	>"$tmp/pkg/etc/wsl-distribution.conf"
tar -C "$tmp/pkg" -cJf "$tmp/tiny.wsl" .
t_check "--install --from-file sideloads a package under its own name and user" sh -c "
	'$wsl' --install --from-file '$tmp/tiny.wsl' &&
	grep -qx default_user=alice '$XDG_DATA_HOME/openwsl/distros/Sideloaded/distro.conf' &&
	test -s '$XDG_DATA_HOME/openwsl/disks/Sideloaded/ext4.vhdx'"
"$wsl" --install --from-file "$tmp/tiny.tar.gz" 2>"$tmp/err"
t_check "a tarball without wsl-distribution.conf is not a package" \
	sh -c "test $? -ne 0 && grep -q 'not a distro package' '$tmp/err'"
# Version 1: the root as a host directory, run in namespaces on this kernel.
listing() { (cd "$1" && find . -path ./lost+found -prune -o -printf '%M %U %G %s %T@ %p %l\n' | sort); }
if [ "$(id -u)" -ne 0 ]; then
	t_skip "version 1 distros" "they need root for their namespaces"
else
	t_check "--import --version 1 unpacks the root into DIR/rootfs" sh -c "
		'$wsl' --import v1 '$tmp/distros/v1' '$tmp/tiny.tar.gz' --version 1 &&
		test -x '$tmp/distros/v1/rootfs/bin/busybox' && '$wsl' -l -v | grep -Eq '^  v1 +Stopped +1\$'"
	t_check "a version 1 distro runs commands in its own namespaces, exit code kept" sh -c "
		test \"\$('$wsl' -d v1 -u alice -- sh -c 'echo \$(hostname) \$\$ \$(id -u) \$HOME')\" = 'v1 2 1000 /home/alice'
		'$wsl' -d v1 -- sh -c 'exit 9'; test \$? -eq 9"
	listing "$tmp/distros/v1/rootfs" >"$tmp/v1.before"
	t_check "--set-version 1 -> 2 makes a VHDX and drops the directory" sh -c "
		'$wsl' --set-version v1 2 && test -s '$tmp/distros/v1/ext4.vhdx' &&
		test ! -e '$tmp/distros/v1/rootfs' && '$wsl' -l -v | grep -Eq '^  v1 +Stopped +2\$'"
	t_check "--set-version 2 -> 1 gives back every file, owner, mode, size, time and link" sh -c "
		'$wsl' --set-version v1 1 && test ! -e '$tmp/distros/v1/ext4.vhdx'"
	listing "$tmp/distros/v1/rootfs" >"$tmp/v1.after"
	t_check "... identical listings" diff "$tmp/v1.before" "$tmp/v1.after"
	t_check "--unregister removes a version 1 root" sh -c "
		'$wsl' --unregister v1 && test ! -e '$tmp/distros/v1/rootfs'"
fi
t_check "--status reports" sh -c "'$wsl' --status | grep -q '^Default distribution: second'"
t_done
