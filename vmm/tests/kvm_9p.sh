#!/bin/bash
# SPDX-License-Identifier: MIT
# wslvm's virtio-9p (--share) judged by the Linux v9fs client: the
# project's kernel boots to a busybox init (vmm/tests/guest/p9_guest.sh)
# that mounts a read-write and a read-only share and uses them, and every
# change it makes is checked here, from the host side of the share:
#   - what the host made reads right in the guest (content, mode, owner,
#     times);
#   - create, write, read, append, rename, unlink, rmdir, symlink, hard
#     link, chmod, chown, utimes, fsync, mkfifo, truncate from the guest
#     show on the host;
#   - no escape: ".." (in paths, and in the attach name), an absolute and a
#     relative symlink out of the share, and a rename race (a directory
#     swapped for a symlink to outside, by the host and by the guest, while
#     the guest walks into it) never show the secret beside the share;
#   - the read-only share refuses every change;
#   - the control socket counts the share's requests and bytes.
# Runs where /dev/kvm works (the rig), as root (for the owners).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/tests/lib.sh"
O=${O:-build}
wslvm=$top/$O/bin/wslvm
bzimage=${WSLVM_TEST_KERNEL:-$top/$O/kernel/bzImage}
busybox=${BUSYBOX:-/bin/busybox}
vm_timeout=${WSLVM_TEST_TIMEOUT:-600}
export TZ=UTC

[[ $(id -u) == 0 ]] || { echo "needs root (run it in the rig: scripts/kvm-rig -- $0)"; exit 77; }
for f in "$wslvm" "$bzimage" "$busybox"; do
	[[ -f $f ]] || { t_fail "$f is there" "run make (and install busybox-static)"; t_done; }
done
w=$(mktemp -d /tmp/kvm_9p.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$w"
}
trap cleanup EXIT

# The initramfs: busybox and the guest script as /init.
mkdir -p "$w/root/bin" "$w/root/proc" "$w/root/dev" "$w/root/tmp"
cp "$busybox" "$w/root/bin/busybox"
for a in $("$busybox" --list); do [[ $a == busybox ]] || ln -s busybox "$w/root/bin/$a"; done
cp "$top/vmm/tests/guest/p9_guest.sh" "$w/root/init"
chmod 755 "$w/root/init"
t_initramfs "$w/root" "$w/initrd.gz"

# The shares, and beside them the secret.
share=$w/share ro=$w/ro outside=$w/outside
mkdir -p "$share/host-dir" "$share/race/d" "$ro" "$outside"
echo SECRET >"$outside/secret"
echo "read only" >"$ro/file"
echo from-host >"$share/host-file"
chmod 640 "$share/host-file"
chown 1234:5678 "$share/host-file"
touch -d '2001-02-03 04:05:06.123456789' "$share/host-file"
chown 42:43 "$share/host-dir"
chmod 2750 "$share/host-dir"
head -c $((2 * 1024 * 1024 + 77)) /dev/urandom >"$share/host-big"
# (Before the guest reads it and moves its atime.)
host_file_stat=$(stat -c '%a %u %g %s %X %Y' "$share/host-file")
ln -s "$outside" "$share/abs"
ln -s "$outside/secret" "$share/abs-file"
ln -s ../outside "$share/rel"
ln -s ../../outside "$share/host-dir/rel2"
echo inside >"$share/race/d/secret"
ln -s "$outside" "$share/race/l"

# The host side of the rename race (see p9_guest.sh).
race() {
	cd "$share/race" || exit
	: >racing
	while [[ ! -e stop ]]; do
		mv -T d t && mv -T l d && mv -T d l && mv -T t d
	done 2>/dev/null
	# Back to d the directory and l the link, wherever the race stopped.
	[[ -L d ]] && mv -T d l
	[[ -d t ]] && mv -T t d
	rm -f racing
}

ctl=$w/control
out=$w/console.out
timeout "$vm_timeout" "$wslvm" --kernel "$bzimage" --initrd "$w/initrd.gz" --memory 256 \
	--share "share=$share" --share "ro=$ro,ro" --control "$ctl" \
	--cmdline "quiet p9_outside=$outside" </dev/null >"$out" 2>&1 &
vm=$!
pids+=($vm)

# wait_for PATTERN: until it shows on the console (or the VM is gone).
wait_for() { t_wait_for "$out" "$1" "$vm" "$vm_timeout"; }
if wait_for "^p9: race: ready"; then
	race &
	pids+=($!)
fi
stats=
if wait_for "^p9: stats: ready"; then
	stats=$(printf 'stats\n' | socat -t 5 - "UNIX-CONNECT:$ctl" 2>&1)
	: >"$share/stats-read"
fi
wait "$vm"
rc=$?
sed -i 's/\r$//' "$out"

# What the guest said.
guest() { # NAME: the value of "p9: NAME: VALUE"
	grep -a "^p9: $1: " "$out" | head -n 1 | sed "s/^p9: $1: //"
}
grep -a '^p9: FAIL' "$out" >"$w/fails" || true
while IFS= read -r line; do
	line=${line#p9: FAIL }
	t_fail "guest: ${line%%: *}" "${line#*: }"
done <"$w/fails"
for c in mount "mount read-only share" create "write 3 MiB in 1 MiB blocks" append read rename \
	"rename a directory" unlink rmdir symlink "symlink read back" hardlink "hardlink count" \
	chmod "chmod dir" chown "touch -d (mtime)" "touch -d (atime)" fsync fdatasync mkfifo truncate \
	"dot-dot past the root" "absolute symlink out" "relative symlink out" "read-only share: reads" \
	unmount; do
	if grep -aqxF "p9: ok $c" "$out"; then
		t_ok "guest: $c"
	elif ! grep -aqF "p9: FAIL $c:" "$out"; then
		t_fail "guest: $c" "the guest never reported it; $(tail -n 20 "$out")"
	fi
done
n=$(grep -ac '^p9: ok read-only share refuses: ' "$out")
if ((n == 9)); then
	t_ok "guest: the read-only share refuses all 9 kinds of change with EROFS"
else
	t_fail "guest: the read-only share refuses all 9 kinds of change with EROFS" "$n refused"
fi
msize=$(guest mount | grep -o 'msize=[0-9]*' | cut -d= -f2)
if [[ -n $msize ]] && ((msize >= 512000)); then
	t_ok "msize $msize negotiated (asked for 1 MiB, the client's virtio transport caps it)"
else
	t_fail "a large msize is negotiated" "$(guest mount)"
fi

# What the host made, as the guest saw it.
t_check "host file: the guest sees its content" test "$(guest "cat host-file")" = from-host
t_check "host file: the guest sees its mode, owner, size and times" \
	test "$(guest "stat host-file")" = "$host_file_stat"
t_check "host directory: the guest sees its mode (setgid too) and owner" \
	test "$(guest "stat host-dir")" = "2750 42 43 directory"
t_check "a 2 MiB host file reads whole in the guest" \
	test "$(guest "md5 host-big")" = "$(md5sum <"$share/host-big")"

# What the guest made, as the host sees it.
host_is() { [[ $(cat "$1" 2>&1) == "$2" ]]; }
t_check "create and append: the host reads what the guest wrote" \
	host_is "$share/new" $'created-by-guest\nmore'
t_check "a file the guest (root) made is root's on the host, mode 0644 under umask 022" \
	test "$(stat -c '%u:%g %a' "$share/mode-default")" = "0:0 644"
t_check "3 MiB the guest wrote arrive whole on the host" \
	test "$(guest "md5 big")" = "$(md5sum <"$share/big")"
t_check "rename and truncate: only the new name, 2 bytes" \
	bash -c "test ! -e '$share/old-name' && [[ \$(cat '$share/renamed') == to ]]"
t_check "rename of a directory carries its files" host_is "$share/dir2/sub/f" moved
t_check "unlink and rmdir: gone on the host" \
	bash -c "test ! -e '$share/doomed' && test ! -e '$share/doomed-dir' && test ! -e '$share/dir'"
t_check "symlink: the host has a link with that target" test "$(readlink "$share/link")" = renamed
t_check "hard link: one inode, two links on the host" \
	test "$(stat -c %i:%h "$share/hard")" = "$(stat -c %i "$share/new"):2"
t_check "chmod 4751 and chown 1234:5678 show on the host" \
	test "$(stat -c '%a %u:%g' "$share/mode")" = "4751 1234:5678"
t_check "mkdir -m 0710 shows on the host" test "$(stat -c %a "$share/mode-dir")" = 710
t_check "mtime and atime set in the guest show on the host" \
	test "$(stat -c '%y|%x' "$share/mode")" = \
	"2001-02-03 04:05:06.000000000 +0000|1999-12-31 23:59:58.000000000 +0000"
t_check "fsync: the file is there with its data" host_is "$share/synced" synced
t_check "mkfifo makes a fifo on the host" test -p "$share/fifo"

# The escapes, from the host side.
t_check "the secret is untouched and nothing outside was created" \
	bash -c "[[ \$(ls -A '$outside') == secret && \$(cat '$outside/secret') == SECRET ]]"
t_check "no SECRET in anything the guest printed" bash -c "! grep -aq SECRET '$out'"
for who in host guest; do
	r=$(guest "race by the $who")
	inside=$(grep -o 'inside=[0-9]*' <<<"$r" | cut -d= -f2)
	outs=$(grep -o ' outside=[0-9]*' <<<"$r" | cut -d= -f2)
	if [[ -z $r || $outs != 0 ]]; then
		t_fail "rename race by the $who: the secret never shows" "${r:-no result}"
	elif ((inside == 0)); then
		t_fail "rename race by the $who: the race ran (some reads went through)" "$r"
	else
		t_ok "rename race by the $who: $r"
	fi
done
t_check "read-only share: the host file is untouched, nothing added" \
	bash -c "[[ \$(ls -A '$ro') == file && \$(cat '$ro/file') == 'read only' ]]"

# The counters.
req=$(sed -n 's/^9p_share_requests //p' <<<"$stats")
wr=$(sed -n 's/^9p_share_written_bytes //p' <<<"$stats")
rd=$(sed -n 's/^9p_share_read_bytes //p' <<<"$stats")
if [[ -n $req ]] && ((req > 100 && wr >= 3 * 1048576 && rd >= 2 * 1048576)) &&
	grep -q '^9p_ro_requests [1-9]' <<<"$stats"; then
	t_ok "control stats: $req requests, $wr bytes written, $rd read on the share"
else
	t_fail "control stats count the share's requests and bytes" "$stats"
fi
if [[ $rc == 0 ]] && grep -aq '^p9: done' "$out"; then
	t_ok "the guest powers off and wslvm ends with status 0"
else
	t_fail "the guest powers off and wslvm ends with status 0" "status $rc; $(tail -n 30 "$out")"
fi
t_done
