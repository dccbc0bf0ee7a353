#!/bin/bash
# wsl --mount and --unmount end to end: a running distro's files on the
# host (Linux's \\wsl$), through the host kernel's 9p client over a vsock
# connection to the init.  One VM; needs root and /dev/kvm: run in the rig.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
O=${O:-build}
wsl=$PWD/$O/bin/wsl
for f in "$O/kernel/bzImage" "$O/init/initramfs.cpio.xz" "$O/bin/wslvm" "$wsl"; do
	[ -e "$f" ] || { t_fail "inputs are built" "$f is missing: run make"; t_done; }
done
[[ $(id -u) == 0 ]] || { echo "needs root (run it in the rig)"; exit 77; }
tmp=$(mktemp -d)
chmod 755 "$tmp" # other host users reach the mount point through it
mnt=$tmp/mnt
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/wsl" "$mnt"
unset WSL_VM_SOCKET
trap 'umount -l "$mnt" 2>/dev/null; "$wsl" --shutdown >/dev/null 2>&1; rm -rf "$tmp"' EXIT
idle_ms=4000
printf '[wsl2]\nmemory=512MB\nprocessors=2\nvmIdleTimeout=%s\n' $idle_ms >"$XDG_CONFIG_HOME/wsl/config"
as_alice() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }
# t_refused NAME EXPECTED-MESSAGE CMD...: CMD fails, saying so.
t_refused() {
	local name=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		t_fail "$name" "$* succeeded: $out"
	elif [[ $out != *"$want"* ]]; then
		t_fail "$name" "$* -> $out (expected: $want)"
	else
		t_ok "$name"
	fi
}
# t_not NAME CMD...: passes when CMD fails.
t_not() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then t_fail "$name" "$* succeeded"; else t_ok "$name"; fi
}
vm_running() { "$wsl" --status | grep -q 'Utility VM: running'; }

rootfs-templates/tiny.sh "$tmp/tiny.tar.gz" tiny
"$wsl" --import tiny "$tmp/distros/tiny" "$tmp/tiny.tar.gz"
"$wsl" --import old "$tmp/distros/old" "$tmp/tiny.tar.gz" --version 1

# --- refused before any VM starts -------------------------------------------------
t_refused "an unknown distro is refused by name" "no distro named 'nosuch'" \
	"$wsl" --mount nosuch "$mnt"
t_refused "a missing mount point is refused" "$tmp/absent does not exist" \
	"$wsl" --mount tiny "$tmp/absent"
: >"$tmp/file"
t_refused "a mount point that is a file is refused" "$tmp/file is not a directory" \
	"$wsl" --mount tiny "$tmp/file"
t_refused "a version 1 distro says where its files already are" \
	"its files are already on the host, in $tmp/distros/old/rootfs" "$wsl" --mount old "$mnt"
t_refused "without CAP_SYS_ADMIN the error names it" "needs CAP_SYS_ADMIN" \
	env WSL_VM_SOCKET=/nonexistent setpriv --reuid 1000 --regid 1000 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$wsl" --mount tiny "$mnt"
t_refused "--unmount of a directory with nothing mounted" "nothing is mounted at $mnt" \
	"$wsl" --unmount "$mnt"
mkdir "$tmp/other"
mount -t tmpfs -o size=1m othertmpfs "$tmp/other"
t_refused "--unmount leaves a mount that is not ours alone" "is not a distro mounted by wsl --mount" \
	"$wsl" --unmount "$tmp/other"
t_check "... and it is still mounted" mountpoint -q "$tmp/other"
umount "$tmp/other"
t_check "none of that started the VM" sh -c "! '$wsl' --status | grep -q 'Utility VM: running'"

# --- the distro's files on the host -------------------------------------------------
echo "# $SECONDS s: starting the VM"
"$wsl" -d tiny -- sh -c 'echo written-in-tiny >/root/greeting && chmod 600 /root/greeting &&
	mkdir -p /srv/data && echo alice >/srv/data/a && chown 1000:100 /srv/data/a && chmod 640 /srv/data/a'
echo "# $SECONDS s: VM up"
start=$(date +%s%N)
timeout 120 "$wsl" --mount tiny "$mnt"
rc=$?
t_check "wsl --mount tiny DIR succeeds ($((($(date +%s%N) - start) / 1000000)) ms)" test $rc -eq 0
if [[ $rc != 0 ]]; then
	dmesg | tail -20 | sed 's/^/# dmesg: /'
	tail -30 "$XDG_RUNTIME_DIR/openwsl/vm.log" | sed 's/^/# vm.log: /'
	t_done
fi
line=$(grep " $mnt 9p " /proc/mounts)
t_check "it is a 9p mount, nosuid and nodev, over trans=fd" \
	sh -c "echo '$line' | grep -q '^openwsl:' && echo '$line' | grep -q nosuid &&
	       echo '$line' | grep -q nodev && echo '$line' | grep -q trans=fd"
t_check "the host reads a file the distro wrote" \
	test "$(cat "$mnt/root/greeting" 2>&1)" = written-in-tiny
t_check "listing /etc shows the distro's files" \
	sh -c "ls '$mnt/etc' | grep -qx passwd && ls '$mnt/etc' | grep -qx wsl.conf"
t_check "its os-release is the distro's" grep -q 'openwsl tiny' "$mnt/etc/os-release"
t_check "owners and modes are the distro's (/etc/shadow root:root 640)" \
	test "$(stat -c %u:%g:%a "$mnt/etc/shadow")" = 0:0:640
t_check "and alice's file is 1000:100 640" test "$(stat -c %u:%g:%a "$mnt/srv/data/a")" = 1000:100:640
t_check "symlinks show as symlinks (/bin/sh -> /bin/busybox)" \
	test "$(readlink "$mnt/bin/sh")" = /bin/busybox
echo from-the-host >"$mnt/srv/from-host"
t_check "a file the host writes is seen by the distro" \
	test "$("$wsl" -d tiny -- cat /srv/from-host)" = from-the-host
t_check "... and belongs there to the host user who wrote it (root, 644)" \
	test "$("$wsl" -d tiny -- stat -c %u:%g:%a /srv/from-host)" = 0:0:644
"$wsl" -d tiny -- sh -c 'echo changed-in-tiny >/srv/from-host'
t_check "a change the distro makes is seen at once" \
	test "$(cat "$mnt/srv/from-host")" = changed-in-tiny
head -c 3000000 /dev/urandom >"$tmp/big"
cp "$tmp/big" "$mnt/srv/big"
t_check "3 MB copied in arrive whole (checked in the distro)" \
	test "$("$wsl" -d tiny -- md5sum /srv/big | cut -d' ' -f1)" = "$(md5sum <"$tmp/big" | cut -d' ' -f1)"
t_check "rename and delete through the mount" \
	sh -c "mv '$mnt/srv/big' '$mnt/srv/big2' && rm '$mnt/srv/big2' && ! '$wsl' -d tiny -- test -e /srv/big2"

# --- the host checks permissions as the distro's owners say --------------------------
t_not "another host user cannot read root's 600 file" as_alice cat "$mnt/root/greeting"
t_not "... nor list root's 700 home" as_alice ls "$mnt/root"
t_check "uid 1000 reads alice's file" as_alice cat "$mnt/srv/data/a"
t_check "uid 1000 writes in alice's home" as_alice sh -c "echo hi >'$mnt/home/alice/note'"
t_check "... and the file is alice's in the distro" \
	test "$("$wsl" -d tiny -- stat -c %U:%G /home/alice/note)" = alice:alice
t_not "uid 1000 cannot write in /etc" as_alice sh -c "echo x >'$mnt/etc/x'"
t_not "... and nothing was made there" test -e "$mnt/etc/x"

# --- life of the mount -----------------------------------------------------------------
t_refused "mounting on a mount point already in use is refused" "already shows a distro's files" \
	"$wsl" --mount tiny "$mnt"
sleep $((idle_ms / 1000 + 3))
t_check "a mounted distro keeps the VM running past vmIdleTimeout" vm_running
t_check "the files still answer after that" test "$(cat "$mnt/root/greeting")" = written-in-tiny
"$wsl" --unmount "$mnt"
t_check "wsl --unmount succeeds" test $? -eq 0
t_check "the mount point is no longer a mount" sh -c "! grep -q ' $mnt ' /proc/mounts"
t_check "and is empty again" test -z "$(ls -A "$mnt")"

"$wsl" --mount tiny "$mnt/"
(cd "$mnt/etc" && exec sleep 30) &
holder=$!
sleep 1
out=$("$wsl" --unmount "$mnt" 2>&1)
rc=$?
t_check "a busy mount is detached, saying so" sh -c 'test "$1" -eq 0 && echo "$2" | grep -q "was busy"' sh $rc "$out"
t_check "... and is gone from the mount table" sh -c "! grep -q ' $mnt ' /proc/mounts"
kill $holder 2>/dev/null
wait $holder 2>/dev/null

# --- a stopped distro, and one stopped under the mount -----------------------------------
"$wsl" --terminate tiny
"$wsl" --mount tiny "$mnt"
t_check "--mount starts a stopped distro" sh -c "'$wsl' -l -v | grep -Eq ' tiny +Running'"
t_check "... and shows its files" test "$(cat "$mnt/root/greeting")" = written-in-tiny
"$wsl" --terminate tiny
timeout 60 cat "$mnt/etc/hostname" >/dev/null 2>&1
rc=$?
t_check "terminated under the mount, its files give errors, not a hang" \
	sh -c "test $rc -ne 0 && test $rc -ne 124"
"$wsl" --unmount "$mnt"
t_check "--unmount removes such a dead mount" sh -c "! grep -q ' $mnt ' /proc/mounts"
t_check "the distro stayed stopped" sh -c "'$wsl' -l -v | grep -Eq ' tiny +Stopped'"
for _ in $(seq 1 40); do vm_running || break; sleep 0.5; done
t_not "unmounted, the VM stops by itself after vmIdleTimeout" vm_running
t_done
