#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/9p.sh: wslvm's virtio-9p (--share) against QEMU's (virtio-9p-device
# on -fsdev local, security_model=passthrough) on QEMU's microvm machine,
# side by side in one run where /dev/kvm works (through scripts/kvm-rig
# when it does not here), with the same kernel, busybox initramfs
# (bench/guest/9p.sh), memory, vCPU, host directory and ext4 disk image:
#
#   - unpacking a tarball of BENCH_FILES (default 2000) small files onto
#     the share, and the same onto the guest's own ext4 disk (virtio-blk on
#     a raw image) for scale;
#   - a sequential write then read of BENCH_MIB (default 128) MiB on the
#     share, 1 MiB at a time (dd, the write fsynced, caches dropped).
#
# QEMU's microvm runs with acpi=off, so that it announces its virtio-mmio
# devices on the kernel command line as wslvm does: our kernel cannot load
# microvm's DSDT ("Unable to load the System Description Tables") and, with
# ACPI on, would see no 9P share and no disk at all.  A guest that reports a
# failed mount ends the bench: its figures would be those of its tmpfs.
#
# Both mount with msize=1 MiB (the client's virtio transport caps it the
# same way for both) and the default cache=none.  Medians of BENCH_RUNS
# runs (default 3), and the ratios wslvm/QEMU, with the better direction
# of each row.  Nothing here passes or fails: it measures.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
if ! [[ -c /dev/kvm && -w /dev/kvm ]] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	# Each run boots two VMs nested in an emulated CPU: give it time.  One
	# outer vCPU: with two, a few thousand 9P requests in a row freeze the
	# outer VM or triple-fault the inner guest (with either VMM), while
	# with one the same bench runs to the end.
	exec "$top/scripts/kvm-rig" --cpus 1 --timeout 5400 -- env O="$O" BENCH_RUNS="${BENCH_RUNS:-3}" \
		BENCH_FILES="${BENCH_FILES:-2000}" BENCH_MIB="${BENCH_MIB:-128}" \
		BENCH_KERNEL="${BENCH_KERNEL:-}" "$0" "$@"
fi
runs=${BENCH_RUNS:-3}
nfiles=${BENCH_FILES:-2000}
mib=${BENCH_MIB:-128}
kernel=${BENCH_KERNEL:-}
kernel=${kernel:-$top/$O/kernel/bzImage}
wslvm=$top/$O/bin/wslvm
busybox=/bin/busybox
mem_mib=256
for f in "$kernel" "$wslvm" "$busybox"; do
	[[ -f $f ]] || { echo "bench: $f is missing (run make, install busybox-static)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/bench-9p.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The tarball: small files (100 bytes to 4 KiB) in 50 directories.
mkdir -p "$work/tree"
awk -v n="$nfiles" -v dir="$work/tree" 'BEGIN {
	srand(9);
	for (i = 0; i < n; i++) {
		d = dir "/d" (i % 50);
		if (i < 50) system("mkdir -p " d);
		f = d "/file-" i;
		size = 100 + int(rand() * 4000);
		line = sprintf("%0" size "d", i);
		printf "%s", line > f;
		close(f);
	}
}'
(cd "$work/tree" && tar -cf "$work/bench.tar" .)
rm -rf "$work/tree"

mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/dev"
cp "$busybox" "$work/root/bin/busybox"
for a in $("$busybox" --list); do [[ $a == busybox ]] || ln -s busybox "$work/root/bin/$a"; done
cp "$top/bench/guest/9p.sh" "$work/root/init"
chmod 755 "$work/root/init"
cp "$work/bench.tar" "$work/root/bench.tar"
(cd "$work/root" && find . | sort | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.gz"
guest_cmdline="quiet p9bench_mib=$mib"

# fresh: an empty share and a new ext4 disk for every run.
fresh() {
	rm -rf "$work/share"
	mkdir "$work/share"
	rm -f "$work/disk.raw"
	truncate -s 256M "$work/disk.raw"
	mke2fs -q -F -t ext4 -E nodiscard "$work/disk.raw"
}

# measure NAME CMD...: one boot; appends "untar_share untar_ext4 write read".
measure() {
	local name=$1 line last= us= ue= wr= rd= files= failed=
	shift
	fresh
	coproc VM { exec "$@" 2>&1 </dev/null; }
	local vm_pid=$VM_PID
	# A guest that never gets there must not stall the bench.
	(sleep 1800; kill "$vm_pid" 2>/dev/null) &
	local watchdog=$!
	while IFS= read -r line <&"${VM[0]}"; do
		line=${line%$'\r'}
		printf "%s\n" "$line" >>"$work/$name.log"
		# The same lines come through the kernel log too, time-stamped.
		[[ $line == "["*"] p9bench: "* ]] && line=${line#*\] }
		if [[ $line == "p9bench: "* ]]; then
			# The second copy tells nothing new.
			[[ $line == "$last" ]] && continue
			last=$line
		fi
		case $line in
		"p9bench: untar-share "*) us=${line##* } ;;
		"p9bench: untar-ext4 "*) ue=${line##* } ;;
		"p9bench: write-share "*) wr=${line##* } ;;
		"p9bench: read-share "*) rd=${line##* } ;;
		"p9bench: files "*) files=${line#p9bench: files } ;;
		"p9bench: FAIL"*)
			# Figures from a guest without its devices would be of tmpfs.
			failed=1 ;;
		"p9bench: mount "*) ;;
		"p9bench: done")
			# A machine without ACPI power-off halts and stays.
			kill "$vm_pid" 2>/dev/null
			break ;;
		esac
		# Progress (a nested run takes minutes), and what failed.
		[[ $line == "p9bench: "* ]] && echo "bench: $name: ${line#p9bench: }" >&2
	done
	wait "$vm_pid" 2>/dev/null || true
	kill "$watchdog" 2>/dev/null || true
	if [[ -z $us || -z $rd || -n $failed ]]; then
		echo "bench: $name did not finish:" >&2
		tail -n 10 "$work/$name.log" >&2
		return 1
	fi
	if [[ $files != "$nfiles $nfiles" ]]; then
		echo "bench: $name: unpacked $files files, not $nfiles on each" >&2
	fi
	echo "$us $ue $wr $rd" >>"$work/$name"
	echo "bench: $name: untar share ${us} s, untar ext4 ${ue} s, write ${wr} MB/s, read ${rd} MB/s" >&2
}

run_wslvm() {
	measure wslvm "$wslvm" --kernel "$kernel" --initrd "$work/initrd.gz" --memory "$mem_mib" \
		--cpus 1 --disk "$work/disk.raw" --share "share=$work/share" \
		--cmdline "$guest_cmdline"
}

run_qemu() {
	measure qemu qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu host -m "$mem_mib" -smp 1 \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 reboot=k panic=-1 $guest_cmdline" \
		-drive "id=d0,file=$work/disk.raw,format=raw,if=none" \
		-device virtio-blk-device,drive=d0 \
		-fsdev "local,id=fs0,path=$work/share,security_model=passthrough" \
		-device virtio-9p-device,fsdev=fs0,mount_tag=share
}

# A run whose guest dies (under emulated SVM the nested guest now and then
# triple-faults, with either VMM) is run again, twice at most.
try() { # run
	local n
	for n in 1 2 3; do
		"$1" && return
		((n < 3)) && echo "bench: $1: run again" >&2
	done
	exit 1
}

# Interleaved, so drift in the machine's load hits both alike.
for ((i = 0; i < runs; i++)); do
	try run_wslvm
	try run_qemu
done
msize=$(grep -o 'msize=[0-9]*' "$work/wslvm.log" | head -n 1 || true)

median() { # file column
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
row() { # label column better
	local w q
	w=$(median "$work/wslvm" "$2") q=$(median "$work/qemu" "$2")
	printf '  %-36s %9s %9s %7s   %s\n' "$1" "$w" "$q" "$(ratio "$w" "$q")" "$3"
}

echo "wslvm vs QEMU microvm, virtio-9p: $(basename "$kernel"), ${mem_mib} MiB, 1 vCPU," \
	"${msize:-msize ?}, medians of $runs runs"
printf '  %-36s %9s %9s %7s   %s\n' "" wslvm qemu ratio "better"
row "untar $nfiles files onto the share (s)" 1 "lower"
row "untar $nfiles files onto ext4 (s)" 2 "lower"
row "share: write $mib MiB (MB/s)" 3 "higher"
row "share: read $mib MiB (MB/s)" 4 "higher"
