#!/bin/bash
# The init end to end, in a VM booted by wslvm with our kernel: two distros
# on their own disks, processes on pipes and on a pty, exit codes, users,
# namespaces, terminate, and data that survives a shutdown and a new boot.
# Needs /dev/kvm: tests/run runs it inside the nested-KVM rig.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
O=${O:-build}
bin=$O/bin
kernel=$O/kernel/bzImage
initramfs=$O/init/initramfs.cpio.xz
for f in "$kernel" "$initramfs" "$bin/wslvm" "$bin/wsl" "$bin/mkwslimage"; do
	[ -e "$f" ] || { t_fail "inputs are built" "$f is missing: run make"; t_done; }
done

tmp=$(mktemp -d)
vm_pid=
trap '[ -n "$vm_pid" ] && kill $vm_pid 2>/dev/null; rm -rf "$tmp"' EXIT
export WSL_VM_SOCKET=$tmp/vsock
# The VM has the devices wsl gives it (KVM_INIT_DEVICES overrides).
# Every wsl call is bounded: a hang fails its check instead of the suite.
wsl=$tmp/wsl
printf '#!/bin/sh\nexec timeout --foreground -k 5 60 "%s" "$@"\n' "$PWD/$bin/wsl" >"$wsl"
chmod +x "$wsl"

for name in tiny tiny2; do
	rootfs-templates/tiny.sh "$tmp/$name.tar.gz" "$name"
	"$bin/mkwslimage" disk --from "$tmp/$name.tar.gz" --out "$tmp/$name.img" --format raw \
		--size 128M || { t_fail "disk images are made" "mkwslimage disk failed for $name"; t_done; }
done

# The init's listener events arrive on the host's vsock port 5002.
socat -u "UNIX-LISTEN:${WSL_VM_SOCKET}_5002,fork" "OPEN:$tmp/events,creat,append" &
socat_pid=$!
trap '[ -n "$vm_pid" ] && kill $vm_pid 2>/dev/null; kill $socat_pid 2>/dev/null; rm -rf "$tmp"' EXIT
events_hex() { od -An -tx1 -v "$tmp/events" 2>/dev/null | tr -d ' \n'; }

boot_vm() {
	"$bin/wslvm" --kernel "$kernel" --initrd "$initramfs" --memory 512M --cpus 2 \
		--disk "$tmp/tiny.img,serial=tiny" --disk "$tmp/tiny2.img,serial=tiny2" \
		--vsock "$WSL_VM_SOCKET" --boot-time ${KVM_INIT_DEVICES---balloon --net} \
		--cmdline "quiet wsl.distro=tiny:tiny wsl.distro=tiny2:tiny2 wsl.hostname=vm" \
		>"$tmp/console.log" 2>&1 </dev/null &
	vm_pid=$!
	# Ready when the init answers (its READY goes to a port nobody listens on here).
	for _ in $(seq 1 300); do
		"$wsl" -l >/dev/null 2>&1 && return 0
		kill -0 $vm_pid 2>/dev/null || break
		sleep 0.2
	done
	return 1
}

if ! boot_vm; then
	t_fail "the VM boots and the init answers" "$(tail -n 30 "$tmp/console.log")"
	t_done
fi
t_ok "the VM boots and the init answers ($(grep -o 'ready after [0-9.]* ms' "$tmp/console.log" || echo 'no boot figure'))"

out=$("$wsl" -d tiny -- uname -a)
t_check "uname -a runs in the distro, on our kernel, with its hostname" \
	sh -c "echo '$out' | grep -q '^Linux tiny '"
"$wsl" -d tiny -- sh -c 'exit 3'
t_check "the exit code comes back (pipes)" test $? -eq 3
"$wsl" -d tiny -- sh -c 'kill -TERM $$'
t_check "death by signal comes back as 128+N" test $? -eq 143
head -c 300000 /dev/urandom >"$tmp/data"
"$wsl" -d tiny -- cat <"$tmp/data" >"$tmp/data.out"
if cmp -s "$tmp/data" "$tmp/data.out"; then
	t_ok "stdin reaches the process and stdout comes back byte-exactly"
else
	t_fail "stdin reaches the process and stdout comes back byte-exactly" \
		"$(cmp "$tmp/data" "$tmp/data.out" 2>&1; tail -n 30 "$tmp/console.log")"
fi
# A process that writes all its output before it reads its input: a relay
# (the init's or wsl's) that blocks writing stdin while output waits would
# hang here, both pipes full, every time.
head -c 1000000 /dev/zero >"$tmp/zero"
out=$("$wsl" -d tiny -- sh -c 'head -c 1000000 /dev/zero; cat >/dev/null' <"$tmp/zero" | wc -c)
t_check "output is relayed while the process leaves its stdin unread" test "$out" -eq 1000000
"$wsl" -d tiny -- sh -c 'echo to-out; echo to-err >&2' >"$tmp/o" 2>"$tmp/e"
t_check "stdout and stderr stay apart" sh -c "grep -qx to-out '$tmp/o' && grep -qx to-err '$tmp/e'"
t_check "-u picks the user, --cd the directory" \
	test "$("$wsl" -d tiny -u alice --cd /tmp -- sh -c 'echo $(id -u) $(pwd) $HOME')" = "1000 /tmp /home/alice"

# (script passes its stdin's end on as an EOF character, which the guest's
# terminal may echo before tty's line: hence no ^ in the pattern.)
script -qec "'$wsl' -d tiny -- sh -c 'tty; exit 5'" /dev/null >"$tmp/pty.out" </dev/null
rc=$?
t_check "with a terminal the process gets a pty, and its exit code" \
	sh -c "test $rc -eq 5 && grep -q '/dev/pts/[0-9]' '$tmp/pty.out'"

"$wsl" -d nosuch -- true 2>"$tmp/err"
rc=$?
t_check "an unknown distro is a clear error" sh -c "test $rc -ne 0 && grep -q \"no distro named 'nosuch'\" '$tmp/err'"

# LISTENER (15): event (0 new, 1 gone), port 8080 (0x1f90), family AF_INET (2)
# or AF_INET6 (10: busybox nc listens on :: for both), no distro name.
"$wsl" -d tiny -- sh -c 'nc -l -p 8080 </dev/null >/dev/null 2>&1 & echo $! >/run/nc.pid'
wait_event() { # hex name
	for _ in $(seq 1 50); do events_hex | grep -Eq "$1" && break; sleep 0.2; done
	if events_hex | grep -Eq "$1"; then t_ok "$2"; else t_fail "$2" "events: $(events_hex)"; fi
}
wait_event "00000000901f0(2|a)0000" "a new TCP listener in a distro is reported to the host"
"$wsl" -d tiny -- sh -c 'kill $(cat /run/nc.pid)'
wait_event "01000000901f0(2|a)0000" "its end is reported too"

"$wsl" -d tiny -- sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 &'
t_check "two distros run side by side with their own hostnames" \
	test "$("$wsl" -d tiny -- hostname) $("$wsl" -d tiny2 -- hostname)" = "tiny tiny2"
t_check "each distro has its own PID namespace" sh -c "
	'$wsl' -d tiny -- ps | grep -q 'sleep 1000' &&
	! '$wsl' -d tiny2 -- ps | grep -q 'sleep 1000' &&
	test \"\$('$wsl' -d tiny2 -- cat /proc/1/comm)\" = wsl-distro"
t_check "wsl -l -v shows both running" sh -c "
	'$wsl' -l -v | grep -Eq '^ *tiny +Running' && '$wsl' -l -v | grep -Eq '^ *tiny2 +Running'"
"$wsl" --terminate tiny2
t_check "--terminate stops one distro and leaves the other running" sh -c "
	'$wsl' -l -v | grep -Eq '^ *tiny2 +Stopped' && '$wsl' -l -v | grep -Eq '^ *tiny +Running'"

"$wsl" -d tiny -- sh -c 'echo persisted >/root/marker'
"$wsl" --shutdown
wait $vm_pid
rc=$?
vm_pid=
t_check "--shutdown powers the VM off cleanly (wslvm exit 0)" test $rc -eq 0
t_check "the distro's file system is clean after shutdown (e2fsck -fn)" \
	e2fsck -fn "$tmp/tiny.img"
if boot_vm; then
	t_check "a file written before shutdown is there after a new boot" \
		test "$("$wsl" -d tiny -- cat /root/marker)" = persisted
	"$wsl" --shutdown
	wait $vm_pid
	vm_pid=
else
	t_fail "the VM boots a second time" "$(tail -n 30 "$tmp/console.log")"
fi
t_done
