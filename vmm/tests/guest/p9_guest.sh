#!/bin/sh
# SPDX-License-Identifier: MIT
# PID 1 of vmm/tests/kvm_9p.sh's guest (busybox): mounts the virtio-9p
# shares "share" (read-write) and "ro" (read-only) and uses them, printing
# "p9: ok NAME", "p9: FAIL NAME: WHY" or "p9: NAME: VALUE" lines for the
# host to check; the host then checks the share from its side.  The kernel
# command line gives p9_outside, the host directory beside the share that
# holds a secret no request may reach.
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev 2>/dev/null
[ -e /dev/urandom ] || mknod /dev/urandom c 1 9
export TZ=UTC
m=/mnt r=/ro

say() { echo "p9: $*"; }
ok() { say "ok $1"; }
fail() { say "FAIL $1: $2"; }
check() { # name command...
	name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$* -> $out"; fi
}
end() {
	umount "$m" 2>/dev/null
	umount "$r" 2>/dev/null
	say "done"
	sync
	poweroff -f
}

mkdir -p "$m" "$r" /mnt2
# First (a virtio channel takes one mount at a time): an attach name
# that climbs reaches the server, which ignores it and serves the root.
aname_fail=
if ! mount -t 9p -o trans=virtio,version=9p2000.L,aname=../outside share /mnt2; then
	aname_fail="mount with aname=../outside failed"
elif [ -e /mnt2/secret ] || [ ! -e /mnt2/host-file ]; then
	aname_fail="aname=../outside attached to $(ls /mnt2 | tr '\n' ' ')"
fi
umount /mnt2 2>/dev/null
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048600,cache=none share "$m"; then
	fail mount "mount -t 9p share $m failed"
	end
fi
ok mount
say "mount: $(grep " $m " /proc/mounts)"
check "mount read-only share" mount -t 9p -o trans=virtio,version=9p2000.L,cache=none ro "$r"

# --- what the host made, as the guest sees it -----------------------------------
say "stat host-file: $(stat -c '%a %u %g %s %X %Y' "$m/host-file")"
say "stat host-dir: $(stat -c '%a %u %g %F' "$m/host-dir")"
say "cat host-file: $(cat "$m/host-file")"
say "md5 host-big: $(md5sum <"$m/host-big")"

# --- what the guest makes, for the host to check --------------------------------
check create sh -c "echo created-by-guest >$m/new"
check "write 3 MiB in 1 MiB blocks" dd if=/dev/urandom of="$m/big" bs=1M count=3
say "md5 big: $(md5sum <"$m/big")"
check "append" sh -c "echo more >>$m/new"
check "read" sh -c "[ \"\$(cat $m/new)\" = \"\$(printf 'created-by-guest\nmore')\" ]"
echo to-rename >"$m/old-name"
check rename mv "$m/old-name" "$m/renamed"
mkdir -p "$m/dir/sub"
echo moved >"$m/dir/sub/f"
check "rename a directory" mv "$m/dir" "$m/dir2"
echo doomed >"$m/doomed"
check unlink rm "$m/doomed"
mkdir "$m/doomed-dir"
check rmdir rmdir "$m/doomed-dir"
check symlink ln -s renamed "$m/link"
check "symlink read back" sh -c "[ \"\$(readlink $m/link)\" = renamed ] && [ \"\$(cat $m/link)\" = to-rename ]"
check hardlink ln "$m/new" "$m/hard"
check "hardlink count" sh -c "[ \"\$(stat -c %h $m/new)\" = 2 ]"
(umask 022 && echo x >"$m/mode-default")
echo x >"$m/mode"
# chown before chmod: a chown clears set-user-ID.
check chown chown 1234:5678 "$m/mode"
check chmod chmod 4751 "$m/mode"
check "chmod dir" mkdir -m 0710 "$m/mode-dir"
check "touch -d (mtime)" touch -m -d '2001-02-03 04:05:06' "$m/mode"
check "touch -d (atime)" touch -a -d '1999-12-31 23:59:58' "$m/mode"
echo synced >"$m/synced"
check fsync sync "$m/synced"
check fdatasync sync -d "$m/synced"
check mkfifo mkfifo "$m/fifo"
check truncate truncate -s 2 "$m/renamed"

# --- escapes ------------------------------------------------------------------
# The guest has its own copy of the outside directory's path, holding a
# decoy: a link the client resolves finds the guest's decoy; only a server
# that left the share could show the host's secret.
mkdir -p "$p9_outside"
echo decoy >"$p9_outside/secret"
leak() { grep -q SECRET "$@" 2>/dev/null; }
reads() { # path: a line per attempt, what reading it gave
	cat "$1" 2>/dev/null || echo miss
}
# ".." never leaves a mount in the guest, and the attach name that
# climbed (above) was ignored.
if leak "$m/../outside/secret" || leak "$m/../../outside/secret" ||
	leak "$m/host-dir/../../outside/secret"; then
	fail "dot-dot past the root" "a .. path showed the secret"
elif [ -n "$aname_fail" ]; then
	fail "dot-dot past the root" "$aname_fail"
else
	ok "dot-dot past the root"
fi
got=$(reads "$m/abs/secret")$(reads "$m/abs-file")
case $got in
*SECRET*) fail "absolute symlink out" "read $got" ;;
decoydecoy) ok "absolute symlink out" ;;
*) fail "absolute symlink out" "the client did not follow it in the guest: $got" ;;
esac
# rel -> ../outside, relative to the mount in the guest: /outside there.
mkdir -p /outside && echo decoy >/outside/secret
got=$(reads "$m/rel/secret")$(reads "$m/host-dir/rel2/secret")
case $got in
*SECRET*) fail "relative symlink out" "read $got" ;;
decoydecoy) ok "relative symlink out" ;;
*) fail "relative symlink out" "the client did not follow it in the guest: $got" ;;
esac

# Rename race by the host: it swaps race/d between a directory and a
# symlink to outside (it made race/racing when it started) while the
# guest walks into race/d.  Then the guest races its own renames.
race_reads() { # n: read d/secret n times, count what came back
	inside=0 outside=0 miss=0 decoy=0 i=0
	while [ $i -lt "$1" ]; do
		case $(cat "$m/race/d/secret" 2>/dev/null) in
		inside) inside=$((inside + 1)) ;;
		*SECRET*) outside=$((outside + 1)) ;;
		decoy) decoy=$((decoy + 1)) ;;
		*) miss=$((miss + 1)) ;;
		esac
		i=$((i + 1))
	done
	echo "inside=$inside outside=$outside decoy=$decoy miss=$miss"
}
say "race: ready"
i=0
while [ ! -e "$m/race/racing" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
say "race by the host: $(race_reads 300)"
: >"$m/race/stop"
i=0
while [ -e "$m/race/racing" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
(
	cd "$m/race" || exit
	while :; do
		mv d t && mv l d && mv d l && mv t d
	done 2>/dev/null
) &
racer=$!
say "race by the guest: $(race_reads 300)"
kill $racer
wait $racer 2>/dev/null

# --- the read-only share --------------------------------------------------------
check "read-only share: reads" sh -c "[ \"\$(cat $r/file)\" = 'read only' ]"
for op in "touch $r/new" "echo x >>$r/file" "chmod 600 $r/file" "mkdir $r/dir" \
	"rm $r/file" "ln -s x $r/link" "ln $r/file $r/hard" "mv $r/file $r/moved" \
	"truncate -s 0 $r/file"; do
	out=$(sh -c "$op" 2>&1)
	case $? in
	0) fail "read-only share refuses: $op" "it worked" ;;
	*)
		case $out in
		*"Read-only file system"*) ok "read-only share refuses: $op" ;;
		*) fail "read-only share refuses: $op" "$out" ;;
		esac ;;
	esac
done

# The host reads the counters now, then lets us go.
say "stats: ready"
i=0
while [ ! -e "$m/stats-read" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
umount "$r"
check unmount umount "$m"
end
