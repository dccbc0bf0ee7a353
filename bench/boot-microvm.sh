#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/boot-microvm.sh: wslvm against QEMU's microvm machine, side by side
# in one run where /dev/kvm works (through scripts/kvm-rig when it does not
# here), with the same kernel, initramfs, memory, vCPU and disk:
#
#   - boot: from process start to the console line the test init prints
#     right after its ready signal, measured the same way for both (and
#     wslvm's own --boot-time figure beside it; wslvm also gets a vsock
#     device, the ready signal of kernels without ioperm());
#   - memory: the VMM's RSS beyond guest RAM (every mapping smaller than the
#     guest's memory), sampled while the guest idles after its checks;
#   - disk: the guest's sequential 1 MiB direct-I/O write and read throughput
#     on a raw image, virtio-blk over virtio-mmio for both.
#
# Figures, medians of BENCH_RUNS runs (default 5), and the ratios wslvm/QEMU.
# Nothing here passes or fails: it measures.  BENCH_KERNEL overrides the
# kernel; for one whose drivers are modules, BENCH_MODULES names a folder of
# .ko files and their load order ("order"), and both VMMs then describe the
# devices in ACPI (wslvm with --acpi-devices, QEMU's microvm with acpi=on).
# Otherwise both announce them on the kernel command line (QEMU's microvm
# with acpi=off: our kernel cannot load microvm's DSDT and would find no
# disk).  A guest that reports a failed check ends the bench.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
if ! [[ -c /dev/kvm && -w /dev/kvm ]] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	# Each run boots two VMs nested in an emulated CPU: give it time.
	exec "$top/scripts/kvm-rig" --timeout 3600 -- env O="$O" BENCH_RUNS="${BENCH_RUNS:-5}" \
		BENCH_KERNEL="${BENCH_KERNEL:-}" BENCH_MODULES="${BENCH_MODULES:-}" "$0" "$@"
fi
runs=${BENCH_RUNS:-5}
kernel=${BENCH_KERNEL:-}
kernel=${kernel:-$top/$O/kernel/bzImage}
wslvm=$top/$O/bin/wslvm
init=$top/$O/tests/vmm/guest/test-init
mem_mib=256
for f in "$kernel" "$wslvm" "$init"; do
	[[ -f $f ]] || { echo "bench: $f is missing (run make and make kernel)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
cp "$init" "$work/root/init"
wslvm_extra=()
qemu_acpi=off
if [[ -n ${BENCH_MODULES:-} ]]; then
	cp -r "$BENCH_MODULES" "$work/root/modules"
	wslvm_extra=(--acpi-devices)
	qemu_acpi=on
fi
(cd "$work/root" && find . | sort | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.gz"
guest_cmdline="quiet wslvm_test=blkbench wslvm_hold=3"

# Kilobytes of RSS in mappings smaller than the guest's RAM.
rss_beyond_guest_kib() {
	awk -v guest_kib=$((mem_mib * 1024)) '
		/^Size:/ { size = $2 }
		/^Rss:/ { if (size < guest_kib) sum += $2 }
		END { print sum + 0 }' "/proc/$1/smaps"
}

# measure NAME CMD...: one boot; appends "ready_ms rss_kib write_mbs read_mbs own_ms".
measure() {
	local name=$1 start ready= rss= wr= rd= own=- line failed=
	shift
	truncate -s 0 "$work/disk.raw"
	truncate -s 128M "$work/disk.raw"
	start=$(date +%s%N)
	coproc VM { exec "$@" 2>&1 </dev/null; }
	local vm_pid=$VM_PID
	# A guest that never gets there must not stall the bench.
	(sleep 300; kill "$vm_pid" 2>/dev/null) &
	local watchdog=$!
	while IFS= read -r line <&"${VM[0]}"; do
		printf "%s\n" "$line" >>"$work/$name.log"
		case $line in
		*"wslvm-test: ok ready"*) [[ -n $ready ]] || ready=$((($(date +%s%N) - start) / 1000)) ;;
		*"wslvm-test: blkbench write"*)
			wr=$(awk '{ print $4 }' <<<"$line")
			rd=$(awk '{ print $7 }' <<<"$line") ;;
		*"wslvm-test: done"*)
			# Sampled while the guest idles (wslvm_hold), then the run is over.
			rss=$(rss_beyond_guest_kib "$vm_pid") || rss=
			kill "$vm_pid" 2>/dev/null
			break ;;
		*"wslvm: boot time: "*) own=$(awk '{ print $4 }' <<<"$line") ;;
		*"wslvm-test: FAIL"*)
			echo "bench: $name: $line" >&2
			failed=1 ;;
		esac
	done
	wait "$vm_pid" 2>/dev/null || true
	kill "$watchdog" 2>/dev/null || true
	if [[ -z $ready || -z $rss || -n $failed ]]; then
		echo "bench: $name did not boot to the test init and pass its checks:" >&2
		tail -n 5 "$work/$name.log" >&2
		exit 1
	fi
	echo "$((ready / 1000)).$(printf '%03d' $((ready % 1000))) $rss ${wr:-0} ${rd:-0} $own" >>"$work/$name"
	echo "bench: $name: ready after $((ready / 1000)) ms, RSS beyond guest RAM $rss KiB," \
		"write ${wr:-?} MB/s, read ${rd:-?} MB/s" >&2
}

run_wslvm() {
	measure wslvm "$wslvm" --kernel "$kernel" --initrd "$work/initrd.gz" --memory "$mem_mib" \
		--cpus 1 --boot-time --disk "$work/disk.raw" --vsock "$work/vsock" "${wslvm_extra[@]}" \
		--cmdline "$guest_cmdline"
}

run_qemu() {
	measure qemu qemu-system-x86_64 -M "microvm,acpi=$qemu_acpi" -accel kvm -cpu host -m "$mem_mib" -smp 1 \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 reboot=k panic=-1 $guest_cmdline" \
		-drive "id=d0,file=$work/disk.raw,format=raw,if=none" \
		-device virtio-blk-device,drive=d0
}

# Interleaved, so drift in the machine's load hits both alike.
for ((i = 0; i < runs; i++)); do
	run_wslvm
	run_qemu
done

median() { # file column
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

w_boot=$(median "$work/wslvm" 1) q_boot=$(median "$work/qemu" 1)
w_rss=$(median "$work/wslvm" 2) q_rss=$(median "$work/qemu" 2)
w_wr=$(median "$work/wslvm" 3) q_wr=$(median "$work/qemu" 3)
w_rd=$(median "$work/wslvm" 4) q_rd=$(median "$work/qemu" 4)
w_own=$(median "$work/wslvm" 5)

echo "wslvm vs QEMU microvm: $(basename "$kernel"), ${mem_mib} MiB, 1 vCPU, medians of $runs runs"
printf '  %-34s %10s %10s %8s\n' "" wslvm qemu ratio
printf '  %-34s %10s %10s %8s\n' "start to ready line (ms)" "$w_boot" "$q_boot" "$(ratio "$w_boot" "$q_boot")"
printf '  %-34s %10s %10s\n' "wslvm --boot-time (ms)" "$w_own" "-"
printf '  %-34s %10s %10s %8s\n' "RSS beyond guest RAM (KiB)" "$w_rss" "$q_rss" "$(ratio "$w_rss" "$q_rss")"
printf '  %-34s %10s %10s %8s\n' "guest sequential write (MB/s)" "$w_wr" "$q_wr" "$(ratio "$w_wr" "$q_wr")"
printf '  %-34s %10s %10s %8s\n' "guest sequential read (MB/s)" "$w_rd" "$q_rd" "$(ratio "$w_rd" "$q_rd")"
