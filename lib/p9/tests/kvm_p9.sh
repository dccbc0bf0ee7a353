#!/bin/bash
# The 9P server judged by the Linux v9fs client: a directory served by our
# server is mounted with trans=fd and used as a file system, and every
# change is checked from the host side of the share.  Escape attempts
# must fail.  Runs in the rig (root, a real kernel with 9pnet_fd).
#
# The client runs in its own mount namespace where the directory "outside"
# (beside the share, holding a secret) is hidden under an empty tmpfs; the
# server runs outside that namespace and can see it.  So the secret can
# only show through the mount if the server itself left the share.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib.sh"
tool=$top/${O:-build}/tests/lib/p9/p9-tool
export TZ=UTC
opts=trans=fd,rfdno=3,wfdno=3,version=9p2000.L,msize=524288,cache=none

if [[ ${1:-} != --client ]]; then
	[[ $(id -u) == 0 ]] || { echo "needs root (run it in the rig: tests/run --rig $0)"; exit 77; }
	w=$(mktemp -d /tmp/p9.XXXXXX)
	trap 'rm -rf "$w"' EXIT
	chmod 755 "$w" # other guest users reach the mount through it
	mkdir -p "$w/share" "$w/ro" "$w/outside" "$w/mnt" "$w/mnt-ro"
	echo SECRET >"$w/outside/secret"
	echo "read only" >"$w/ro/file"
	# The client side runs under both servers: descriptor 3 is the
	# read-write share, 4 the read-only one.
	"$tool" serve --log "$w/ro.log" --ro "$w/ro" -- \
		sh -c 'exec 4<&3 3<&-; exec "$@"' sh \
		"$tool" serve --log "$w/rw.log" "$w/share" -- \
		unshare -m --propagation private "$0" --client "$w"
	exit
fi

w=$2 share=$2/share mnt=$2/mnt
mount -t tmpfs -o size=1m hide "$w/outside"
if ! mount -t 9p -o "$opts" openwsl "$mnt"; then
	t_fail "mount -t 9p -o $opts" "$(grep -w 9p /proc/filesystems; lsmod 2>/dev/null | grep 9p)"
	t_done
fi
t_ok "the Linux client mounts the share (trans=fd, 9P2000.L)"
t_check "msize 512 KiB negotiated" grep -q "$mnt 9p .*msize=524288" /proc/mounts
t_check "read-only share mounts" mount -t 9p -o "${opts/rfdno=3,wfdno=3/rfdno=4,wfdno=4}" ro "$w/mnt-ro"
# The kernel holds the transports now; the servers see their end when unmounted.
exec 3<&- 4<&-

# --- files: create, write, read, rename, unlink --------------------------------
host_is() { # path expected-content
	[[ $(cat "$1" 2>&1) == "$2" ]]
}
printf 'hello\n' >"$mnt/a"
t_check "create and write: the host reads what the guest wrote" host_is "$share/a" hello
t_check "read: the guest reads what the host wrote" bash -c "echo from-host >'$share/h' && [[ \$(cat '$mnt/h') == from-host ]]"
head -c $((3 * 1024 * 1024 + 123)) /dev/urandom >"$w/big"
dd if="$w/big" of="$mnt/big" bs=1M status=none
t_check "3 MiB written in 1 MiB blocks arrive whole on the host" cmp "$w/big" "$share/big"
t_check "and read back through the mount byte for byte" cmp "$w/big" "$mnt/big"
printf 'more\n' >>"$mnt/a"
t_check "append" host_is "$share/a" $'hello\nmore'
truncate -s 2 "$mnt/a"
t_check "truncate" host_is "$share/a" he
t_check "rename: the old name is gone on the host, the new one holds the data" \
	bash -c "mv '$mnt/a' '$mnt/b' && test ! -e '$share/a' && [[ \$(cat '$share/b') == he ]]"
mkdir -p "$mnt/d1/d2"
mv "$mnt/b" "$mnt/d1/d2/c"
mv "$mnt/d1" "$mnt/e1"
t_check "rename into a directory, then rename the directory" host_is "$share/e1/d2/c" he
t_check "unlink" bash -c "test -e '$share/e1/d2/c' && rm '$mnt/e1/d2/c' && test ! -e '$share/e1/d2/c'"
t_check "rmdir" bash -c "test -d '$share/e1/d2' && rmdir '$mnt/e1/d2' && test ! -e '$share/e1/d2'"

echo "# $SECONDS s: files done"
# --- modes, owners, timestamps ----------------------------------------------------
(umask 022 && : >"$mnt/m")
t_check "a new file has the mode asked for (0644 under umask 022)" test "$(stat -c %a "$share/m")" = 644
t_check "and belongs to the guest user who made it (root)" test "$(stat -c %u:%g "$share/m")" = 0:0
chmod 4751 "$mnt/m"
t_check "chmod 4751 shows on the host" test "$(stat -c %a "$share/m")" = 4751
chown 1234:5678 "$mnt/m"
t_check "chown 1234:5678 shows on the host" test "$(stat -c %u:%g "$share/m")" = 1234:5678
mkdir -m 777 "$mnt/pub"
setpriv --reuid 1000 --regid 1000 --clear-groups sh -c "echo x >'$mnt/pub/u' && mkdir '$mnt/pub/ud'"
t_check "a file another guest user makes is that user's on the host" test "$(stat -c %u:%g "$share/pub/u")" = 1000:1000
t_check "so is a directory" test "$(stat -c %u:%g "$share/pub/ud")" = 1000:1000
# Linux 6.1's client keeps whole seconds of the times it sets (its
# superblock has no s_time_gran): nanoseconds are checked host to guest,
# and in test_p9_server.c on the wire.
touch -m -d '2001-02-03 04:05:06' "$mnt/m"
t_check "mtime set in the guest shows on the host" test "$(stat -c %y "$share/m")" = "2001-02-03 04:05:06.000000000 +0000"
touch -a -d '1999-12-31 23:59:58' "$mnt/m"
t_check "atime too" test "$(stat -c %x "$share/m")" = "1999-12-31 23:59:58.000000000 +0000"
t_check "and the guest sees the host's times" test "$(stat -c %Y "$mnt/m")" = 981173106
touch -d '2020-01-01 00:00:00.123456789' "$share/m"
t_check "stat through the mount follows host changes, to the nanosecond" test "$(stat -c %y "$mnt/m")" = "2020-01-01 00:00:00.123456789 +0000"

echo "# $SECONDS s: attributes done"
# --- links, special files, sync, xattrs, statfs, locks -------------------------------
echo data >"$mnt/t"
ln -s t "$mnt/l"
t_check "symlink: the host has a link with that target" test "$(readlink "$share/l")" = t
t_check "symlink: followed by the guest" host_is "$mnt/l" data
ln "$mnt/t" "$mnt/hard"
t_check "hard link: one inode, two links on the host" test "$(stat -c %i:%h "$share/hard")" = "$(stat -c %i "$share/t"):2"
mkfifo "$mnt/fifo"
t_check "mkfifo makes a fifo on the host" test -p "$share/fifo"
mknod "$mnt/null" c 1 3
t_check "mknod makes a device node on the host" test "$(stat -c %F:%t:%T "$share/null")" = "character special file:1:3"
t_check "fsync (sync FILE)" sync "$mnt/t"
t_check "fdatasync (sync -d FILE)" sync -d "$mnt/t"
t_check "xattr set through the mount" "$tool" xattr set "$mnt/t" trusted.openwsl value-1
t_check "xattr seen on the host" test "$("$tool" xattr get "$share/t" trusted.openwsl)" = value-1
"$tool" xattr set "$share/t" trusted.second from-host
t_check "xattr get through the mount" test "$("$tool" xattr get "$mnt/t" trusted.second)" = from-host
t_check "xattr list through the mount" bash -c "'$tool' xattr list '$mnt/t' | sort | tr '\n' ' ' | grep -qx 'trusted.openwsl trusted.second '"
t_check "xattr remove through the mount" bash -c "'$tool' xattr remove '$mnt/t' trusted.openwsl && ! '$tool' xattr get '$share/t' trusted.openwsl 2>/dev/null"
t_check "statfs: same block size and blocks as the host's" test "$(stat -f -c %S:%b "$mnt")" = "$(stat -f -c %S:%b "$share" || echo host)"
t_check "a guest fcntl lock is seen by the host, and its unlock" "$tool" lock "$mnt/t" "$share/t"
mkdir "$mnt/many"
for i in $(seq 1 100); do : >"$mnt/many/file-with-a-rather-long-name-to-fill-readdir-replies-$i"; done
t_check "readdir: all 100 there (with . and ..)" test "$(ls -a "$mnt/many" | wc -l)" = 102
t_check "readdir: listed as the host lists them" \
	test "$(ls -a "$mnt/many" | md5sum)" = "$(ls -a "$share/many" | md5sum)"

echo "# $SECONDS s: links, xattrs, locks, readdir done"
# --- read-only share ---------------------------------------------------------------
ro=$w/mnt-ro
t_check "read-only share: reads work" host_is "$ro/file" "read only"
for op in "touch '$ro/new'" "echo x >>'$ro/file'" "chmod 600 '$ro/file'" "mkdir '$ro/dir'" \
	"rm '$ro/file'" "ln -s x '$ro/link'" "mv '$ro/file' '$ro/moved'"; do
	out=$(bash -c "$op" 2>&1)
	if [[ $? != 0 && $out == *"Read-only file system"* ]]; then
		t_ok "read-only share refuses: $op"
	else
		t_fail "read-only share refuses: $op" "$out"
	fi
done
t_check "read-only share: the host file is untouched" host_is "$w/ro/file" "read only"

echo "# $SECONDS s: read-only share done"
# --- escapes ---------------------------------------------------------------------
leaks() { # command...: true if the output shows the secret
	"$@" 2>/dev/null | grep -q SECRET
}
ln -s "$w/outside" "$share/abs"
ln -s ../outside "$share/rel"
ln -s "$w/outside/secret" "$share/abs-file"
# The client walks each name and follows symlinks itself, in its own
# namespace: had the server followed one, the walk would go on outside.
# (The client never sends "..": lib/p9/tests/test_p9_server.c sends it.)
t_check "an absolute symlink out of the share does not reach the host's files" bash -c "$(declare -f leaks); ! leaks cat '$mnt/abs/secret'"
t_check "nor one to a file" bash -c "$(declare -f leaks); ! leaks cat '$mnt/abs-file'"
t_check "a relative symlink out of the share does not either" bash -c "$(declare -f leaks); ! leaks cat '$mnt/rel/secret'"
t_check "the symlinks are there, as symlinks" test "$(stat -c %F "$mnt/abs"):$(readlink "$mnt/rel")" = "symbolic link:../outside"

# Rename race: d swaps between a real directory and a symlink to outside
# while readers go through d/secret.  A server resolving paths by name
# would sometimes follow the symlink.
mkdir "$mnt/real"
echo inside >"$mnt/real/secret"
mv "$mnt/real" "$mnt/d"
ln -s "$w/outside" "$mnt/l"
race() { # dir: swap dir/d and dir/l until killed
	while :; do
		mv -T "$1/d" "$1/t" && mv -T "$1/l" "$1/d" && mv -T "$1/d" "$1/l" && mv -T "$1/t" "$1/d"
	done 2>/dev/null
}
reads() { # n: read d/secret n times through the mount, one result per line
	for _ in $(seq "$1"); do cat "$mnt/d/secret" 2>/dev/null || echo miss; done
}
race "$mnt" & racer=$!
reads 100 >"$w/race-guest"
kill $racer; wait $racer 2>/dev/null
race "$share" & racer=$!
reads 100 >"$w/race-host"
kill $racer; wait $racer 2>/dev/null
for who in guest host; do
	if grep -q SECRET "$w/race-$who"; then
		t_fail "rename race by the $who: the secret never shows" "$(sort "$w/race-$who" | uniq -c)"
	elif ! grep -q inside "$w/race-$who"; then
		t_fail "rename race by the $who: the race ran (some reads went through)" "$(sort "$w/race-$who" | uniq -c)"
	else
		t_ok "rename race by the $who: $(grep -c inside "$w/race-$who") reads inside, none outside"
	fi
done

echo "# $SECONDS s: escapes done"
# --- the end -------------------------------------------------------------------
umount "$w/mnt-ro"
t_check "unmount" umount "$mnt"
for i in $(seq 50); do
	[[ -s $w/rw.log && -s $w/ro.log ]] && break
	sleep 0.1
done
t_check "both servers end cleanly when unmounted" test "$(cat "$w/rw.log" "$w/ro.log" 2>&1)" = $'p9-tool serve: clean end\np9-tool serve: clean end'
t_done
