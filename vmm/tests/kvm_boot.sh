#!/bin/bash
# SPDX-License-Identifier: MIT
# wslvm boots the project's kernel (build/kernel) to a test init and the
# guest's own drivers are the oracle for every device:
#   - bzImage: the console shows the kernel log, takes input, the init signals
#     ready, virtio-rng gives bytes, virtio-blk reads, writes, flushes,
#     discards and zeroes (seen in the host file afterwards), ext4 written
#     through it on a VHDX passes qemu-img check and e2fsck, and fstrim in
#     the guest shrinks the VHDX's allocated size on the host, vsock talks
#     both ways through the Unix socket, and power-off ends wslvm with 0;
#   - a guest panic ends wslvm with a nonzero status;
#   - the control socket answers help, stats and stop, and refuses nonsense;
#   - vmlinux through its PVH entry boots to the same init.
# Runs where /dev/kvm works (the rig).  WSLVM_TEST_KERNEL overrides the
# kernel; for one whose drivers are modules (a distribution's), set
# WSLVM_TEST_MODULES to a folder of .ko files with their load order in a
# file "order": the test init loads them, and wslvm announces the devices
# in ACPI (--acpi-devices), as such kernels expect.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/tests/lib.sh"
O=${O:-build}
wslvm=$top/$O/bin/wslvm
init=$top/$O/tests/vmm/guest/test-init
peer=$top/$O/tests/vmm/vsock-peer
bzimage=${WSLVM_TEST_KERNEL:-$top/$O/kernel/bzImage}
vmlinux=${WSLVM_TEST_VMLINUX:-$top/$O/kernel/vmlinux}
vm_timeout=${WSLVM_TEST_TIMEOUT:-240}
work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

for f in "$wslvm" "$init" "$peer"; do
	[[ -x $f ]] || { t_fail "$f is built" "run make first"; t_done; }
done
if [[ ! -f $bzimage ]]; then
	t_fail "the project's kernel is built" "$bzimage is missing: run 'make kernel'"
	t_done
fi

# The initramfs: the test init, and the modules it should load if any.
mkdir -p "$work/root"
cp "$init" "$work/root/init"
extra=()
if [[ -n ${WSLVM_TEST_MODULES:-} ]]; then
	cp -r "$WSLVM_TEST_MODULES" "$work/root/modules"
	extra=(--acpi-devices)
fi
t_initramfs "$work/root" "$work/initrd.gz"

# wait_for FILE PATTERN PID: until PATTERN shows up in FILE (or the VM is gone).
wait_for() { t_wait_for "$1" "$2" "$3" "$vm_timeout"; }

# check_verdicts NAME FILE: a failure for every check the init reported failed.
check_verdicts() {
	local name=$1 out=$2 line
	# (No process substitution: the rig has no /dev/fd.)
	grep -a '^wslvm-test: FAIL' "$out" >"$work/fails" || true
	while IFS= read -r line; do
		t_fail "$name: ${line#wslvm-test: FAIL }" "$(tail -n 30 "$out")"
	done <"$work/fails"
}

# --- bzImage, every device ----------------------------------------------------

disk=$work/disk.raw
truncate -s 8M "$disk"
printf 'wslvm-blk-host-pattern' | dd of="$disk" conv=notrunc status=none
# Two MiB of data at 1 MiB, which the guest discards and zeroes.
head -c 2M /dev/urandom | dd of="$disk" bs=1M seek=1 conv=notrunc status=none
sync "$disk"
disk_blocks_before=$(stat -c %b "$disk")

# ext4 with a 4 MiB file the guest deletes and trims, in a VHDX of 1 MiB blocks.
fs=$work/fs.vhdx
mkdir -p "$work/fsroot"
head -c 4M /dev/urandom >"$work/fsroot/filler"
mke2fs -q -t ext4 -E nodiscard -d "$work/fsroot" "$work/fs.raw" 32M
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$work/fs.raw" "$fs"
fs_blocks_before=$(stat -c %b "$fs")

sock=$work/vsock
"$peer" listen "${sock}_5678" >"$work/peer-listen.out" 2>&1 &
pids+=($!)

mkfifo "$work/console-in"
out=$work/boot.out
timeout "$vm_timeout" "$wslvm" --kernel "$bzimage" --initrd "$work/initrd.gz" --memory 256 \
	"${extra[@]}" --boot-time --rng --disk "$disk,serial=wslvm-test-disk" --disk "$fs" --vsock "$sock" \
	--hvc "$work/hvc.out" \
	--cmdline "wslvm_test=console,rng,blk,ext4,hvc,vsock wslvm_serial=wslvm-test-disk" \
	<"$work/console-in" >"$out" 2>&1 &
vm=$!
pids+=($vm)
exec 3>"$work/console-in"
if wait_for "$out" "waiting for console input" "$vm"; then
	echo "hello-console" >&3
fi
exec 3>&-
if wait_for "$out" "vsock listening on port 1234" "$vm"; then
	answer=$("$peer" connect "$sock" 1234 "hello from the host" 2>&1)
fi
wait "$vm"
rc=$?
# The guest's tty ends lines with CR LF.
sed -i 's/\r$//' "$out" "$work/hvc.out" 2>/dev/null

if grep -aq 'Linux version' "$out"; then t_ok "bzImage: the console shows the kernel log"
else t_fail "bzImage: the console shows the kernel log" "$(head -n 20 "$out")"; fi
if grep -aq '^wslvm-test: ok ready' "$out" && grep -aq '^wslvm: boot time: [0-9.]* ms' "$out"; then
	t_ok "bzImage: the init signals ready and --boot-time reports it"
else
	t_fail "bzImage: the init signals ready and --boot-time reports it" "$(tail -n 20 "$out")"
fi
if grep -aq "^wslvm-test: console got 'hello-console'" "$out"; then t_ok "console input reaches the guest"
else t_fail "console input reaches the guest" "$(tail -n 20 "$out")"; fi
for c in rng "blk serial" "blk read" "blk write and flush" "blk discard" "blk write-zeroes" \
	"ext4 write" "ext4 fstrim" hvc "vsock host-to-guest" "vsock guest-to-host"; do
	if grep -aq "^wslvm-test: ok $c\$" "$out"; then
		t_ok "guest: $c"
	else
		t_fail "guest: $c" "$(grep -a "^wslvm-test: FAIL $c" "$out" || echo "the init never reported it")"
	fi
done
if [[ $rc == 0 ]] && grep -aq 'all checks passed' "$out"; then
	t_ok "bzImage: guest power-off ends wslvm with status 0"
else
	t_fail "bzImage: guest power-off ends wslvm with status 0" "status $rc; $(tail -n 20 "$out")"
fi

if grep -q '^wslvm-hvc: hello through virtio-console$' "$work/hvc.out" 2>/dev/null; then
	t_ok "hvc: what the guest writes to /dev/hvc0 is in the --hvc file"
else
	t_fail "hvc: what the guest writes to /dev/hvc0 is in the --hvc file" "$(cat "$work/hvc.out" 2>&1)"
fi

# What the guest did to the disks is in the host files.
if dd if="$disk" bs=512 skip=1 count=1 status=none | grep -aq 'wslvm-blk-guest-wrote-this'; then
	t_ok "blk: the guest's write is in the host file"
else
	t_fail "blk: the guest's write is in the host file"
fi
dd if="$disk" of="$work/ranges" bs=1M skip=1 count=2 status=none
head -c 2M /dev/zero >"$work/zeroes"
if cmp -s "$work/ranges" "$work/zeroes"; then
	t_ok "blk: discarded and zeroed ranges read as zeroes on the host"
else
	t_fail "blk: discarded and zeroed ranges read as zeroes on the host" \
		"$(dd if="$disk" bs=1M skip=1 count=2 status=none | od -Ad -tx1 | grep -v ' 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00$' | head -5)"
fi
disk_blocks_after=$(stat -c %b "$disk")
# Discard gives its 1 MiB (2048 blocks of 512 bytes) back to the host.
if ((disk_blocks_after <= disk_blocks_before - 2048)); then
	t_ok "blk: discard shrinks the host file ($disk_blocks_before -> $disk_blocks_after blocks)"
else
	t_fail "blk: discard shrinks the host file" "$disk_blocks_before -> $disk_blocks_after blocks"
fi
t_check "VHDX: qemu-img check passes after the guest wrote to it" qemu-img check -f vhdx "$fs"
qemu-img convert -f vhdx -O raw "$fs" "$work/fs-after.raw"
t_check "ext4: e2fsck -fn passes on what the guest wrote" e2fsck -fn "$work/fs-after.raw"
if [[ $(debugfs -R "cat /hello.txt" "$work/fs-after.raw" 2>/dev/null) == "written by the guest through virtio-blk" ]]; then
	t_ok "ext4: the guest's file is in the image"
else
	t_fail "ext4: the guest's file is in the image" "$(debugfs -R 'ls -l /' "$work/fs-after.raw" 2>&1)"
fi
fs_blocks_after=$(stat -c %b "$fs")
if ((fs_blocks_after < fs_blocks_before - 4096)); then
	t_ok "VHDX: fstrim in the guest shrinks the host file ($fs_blocks_before -> $fs_blocks_after blocks)"
else
	t_fail "VHDX: fstrim in the guest shrinks the host file" "$fs_blocks_before -> $fs_blocks_after blocks"
fi
if [[ $answer == "guest heard: hello from the host" ]]; then
	t_ok "vsock: a host process reaches a guest listener through CONNECT"
else
	t_fail "vsock: a host process reaches a guest listener through CONNECT" "$answer"
fi
if [[ $(cat "$work/peer-listen.out") == "hello from the guest" ]]; then
	t_ok "vsock: a guest connection reaches the host listener at <socket>_<port>"
else
	t_fail "vsock: a guest connection reaches the host listener at <socket>_<port>" \
		"$(cat "$work/peer-listen.out")"
fi

# --- panic --------------------------------------------------------------------

out=$work/panic.out
timeout "$vm_timeout" "$wslvm" --kernel "$bzimage" --initrd "$work/initrd.gz" \
	"${extra[@]}" --cmdline "wslvm_end=panic" </dev/null >"$out" 2>&1
rc=$?
if [[ $rc == 3 ]] && grep -aq 'Kernel panic' "$out"; then
	t_ok "a guest panic ends wslvm with status 3"
else
	t_fail "a guest panic ends wslvm with status 3" "status $rc; $(tail -n 20 "$out")"
fi

# --- the control socket -------------------------------------------------------

ctl=$work/control
out=$work/control.out
ask() { printf '%s\n' "$@" | socat -t 5 - "UNIX-CONNECT:$ctl" 2>&1; }
timeout "$vm_timeout" "$wslvm" --kernel "$bzimage" --initrd "$work/initrd.gz" "${extra[@]}" \
	--vsock "$work/vsock-ctl" --control "$ctl" --cmdline "wslvm_hold=600" </dev/null >"$out" 2>&1 &
vm=$!
pids+=($vm)
for ((i = 0; i < vm_timeout * 5; i++)); do
	ask stats | grep -q '^boot_ms ' && break
	kill -0 "$vm" 2>/dev/null || break
	sleep 0.2
done
t_check "control: the socket is owner-only" test "$(stat -c %a "$ctl" 2>&1)" = 600
stats=$(ask stats)
if grep -q '^boot_ms [0-9.]*$' <<<"$stats" && grep -q '^rss_bytes [1-9][0-9]*$' <<<"$stats" &&
	grep -q '^memory_bytes 268435456$' <<<"$stats" && [[ $(tail -n 1 <<<"$stats") == ok ]]; then
	t_ok "control: stats gives the boot figure, memory and RSS, then ok"
else
	t_fail "control: stats gives the boot figure, memory and RSS, then ok" "$stats"
fi
answer=$(ask help "no-such-command a b" stats)
if grep -q '^stop$' <<<"$answer" && grep -q "^error: unknown command 'no-such-command'" <<<"$answer" &&
	[[ $(grep -c '^ok$' <<<"$answer") == 2 ]]; then
	t_ok "control: several requests on one connection, each answered in turn"
else
	t_fail "control: several requests on one connection, each answered in turn" "$answer"
fi
answer=$(ask "$(head -c 3000 /dev/zero | tr '\0' x)" stats)
if grep -q '^error: request longer than' <<<"$answer" && [[ $(tail -n 1 <<<"$answer") == ok ]]; then
	t_ok "control: an overlong request is refused and the connection goes on"
else
	t_fail "control: an overlong request is refused and the connection goes on" "$answer"
fi
answer=$(ask stop)
wait "$vm"
rc=$?
if [[ $answer == ok && $rc == 5 && ! -e $ctl ]]; then
	t_ok "control: stop ends wslvm with status 5 and the socket is removed"
else
	t_fail "control: stop ends wslvm with status 5 and the socket is removed" \
		"answer '$answer', status $rc; $(tail -n 5 "$out")"
fi

# --- vmlinux through PVH ------------------------------------------------------

if [[ ! -f $vmlinux ]]; then
	t_fail "PVH: vmlinux is built" "$vmlinux is missing: run 'make kernel'"
else
	out=$work/pvh.out
	timeout "$vm_timeout" "$wslvm" --kernel "$vmlinux" --initrd "$work/initrd.gz" --boot-time \
		"${extra[@]}" --rng --vsock "$work/vsock-pvh" --cmdline "wslvm_test=rng" \
		</dev/null >"$out" 2>&1
	rc=$?
	sed -i 's/\r$//' "$out"
	check_verdicts "PVH guest check" "$out"
	if [[ $rc == 0 ]] && grep -aq '^wslvm-test: ok ready' "$out" && grep -aq '^wslvm-test: ok rng' "$out" &&
		grep -aq '^wslvm: boot time: [0-9.]* ms' "$out"; then
		t_ok "PVH: vmlinux boots to the init, which powers off with status 0"
	else
		t_fail "PVH: vmlinux boots to the init, which powers off with status 0" \
			"status $rc; $(tail -n 20 "$out")"
	fi
fi
t_done
