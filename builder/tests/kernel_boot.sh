#!/bin/bash
# The built kernel boots and reaches the init of a test initramfs, with
# QEMU's microvm (emulated CPU, no KVM needed) as the VMM: two CPUs from the
# MP table, virtio-mmio devices announced on the command line, an ext4 disk
# over virtio-blk, a host folder over 9P, the rest of the devices found.
# The rig boots it under KVM with wslvm (the VMM's own tests).
set -u
. "$(dirname "$0")/../../tests/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
kernel=$O/kernel/bzImage
mk=$O/bin/mkwslimage

if [ ! -s "$kernel" ]; then
	echo "no kernel built at $kernel (make kernel builds it)"
	exit 77
fi
for t in qemu-system-x86_64 mke2fs busybox; do
	command -v $t >/dev/null || { echo "$t is missing: run scripts/install-deps"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The test init reports what it finds, then resets the machine (reboot=k).
mkdir -p "$tmp/bin" "$tmp/disk" "$tmp/share"
cp "$(command -v busybox)" "$tmp/bin/busybox"
cat >"$tmp/init" <<'EOF'
#!/bin/busybox sh
b=/bin/busybox
$b mkdir -p /proc /sys /mnt/disk /mnt/share
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
$b mount -t devtmpfs dev /dev
$b echo "T: init uptime=$($b cut -d' ' -f1 /proc/uptime)"
$b echo "T: release=$($b uname -r)"
$b echo "T: cpus=$($b grep -c ^processor /proc/cpuinfo)"
for d in /sys/bus/virtio/devices/*; do $b echo "T: virtio device=$($b cat $d/device)"; done
$b mount -t ext4 /dev/vda /mnt/disk && $b echo "T: disk says $($b cat /mnt/disk/marker)"
$b mount -t 9p -o trans=virtio,version=9p2000.L host /mnt/share &&
	$b echo "T: share says $($b cat /mnt/share/marker)"
$b echo "T: done"
$b reboot -f
EOF
chmod +x "$tmp/init"
"$mk" initramfs --init "$tmp/init" --add "$tmp/bin/busybox:/bin/busybox" \
	--out "$tmp/initramfs.cpio.xz" || { t_fail "test initramfs"; t_done; }
echo "ext4 over virtio-blk" >"$tmp/disk/marker"
echo "9p over virtio" >"$tmp/share/marker"
mke2fs -q -t ext4 -d "$tmp/disk" "$tmp/disk.img" 16M >/dev/null

# The VM is stopped once init has said all (a reset would reboot microvm
# rather than end it); the time to init is read from the console.
start=$(date +%s.%N)
qemu-system-x86_64 -M microvm,acpi=off -accel tcg -cpu max -smp 2 -m 256 \
	-nodefaults -no-user-config -display none -no-reboot -serial stdio \
	-kernel "$kernel" -initrd "$tmp/initramfs.cpio.xz" \
	-append "console=ttyS0 reboot=k panic=1 8250.nr_uarts=1" \
	-drive id=d0,file="$tmp/disk.img",format=raw,if=none -device virtio-blk-device,drive=d0 \
	-fsdev local,id=f0,path="$tmp/share",security_model=none \
	-device virtio-9p-device,fsdev=f0,mount_tag=host \
	-netdev user,id=n0 -device virtio-net-device,netdev=n0 \
	-device virtio-rng-device -device virtio-balloon-device \
	-device virtio-serial-device >"$tmp/console.log" 2>&1 </dev/null &
qemu=$!
to_init=
for _ in $(seq 1 1500); do
	[ -z "$to_init" ] && grep -qa '^T: init' "$tmp/console.log" &&
		to_init=$(echo "$(date +%s.%N) - $start" | bc)
	grep -qa '^T: done' "$tmp/console.log" && break
	kill -0 $qemu 2>/dev/null || break
	sleep 0.2
done
kill $qemu 2>/dev/null
wait $qemu 2>/dev/null
tr -d '\r' <"$tmp/console.log" >"$tmp/log"
fail_log() { t_fail "$1" "$(tail -n 30 "$tmp/log")"; }

if grep -q '^T: done' "$tmp/log"; then t_ok "boots to init (in ${to_init:-?} s with an emulated CPU)"
else fail_log "boots to init"; fi
grep -q '^T: release=.*-openwsl$' "$tmp/log" && t_ok "uname -r names the openwsl kernel" ||
	fail_log "uname -r names the openwsl kernel"
grep -q '^T: cpus=2$' "$tmp/log" && t_ok "both CPUs up (MP table, no ACPI)" || fail_log "both CPUs up"
# virtio device IDs: 1 net, 2 block, 3 console, 4 rng, 5 balloon, 9 9P
for id in 0x0001 0x0002 0x0003 0x0004 0x0005 0x0009; do
	grep -q "^T: virtio device=$id$" "$tmp/log" && t_ok "virtio device $id found from the command line" ||
		fail_log "virtio device $id found from the command line"
done
grep -q '^T: disk says ext4 over virtio-blk$' "$tmp/log" && t_ok "ext4 mounted from virtio-blk" ||
	fail_log "ext4 mounted from virtio-blk"
grep -q '^T: share says 9p over virtio$' "$tmp/log" && t_ok "9P share mounted over virtio" ||
	fail_log "9P share mounted over virtio"
sed -n 's/^T: init uptime=/# kernel uptime when init ran (emulated CPU): /p' "$tmp/log"
t_done
