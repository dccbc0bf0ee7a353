#!/bin/sh
# SPDX-License-Identifier: MIT
# PID 1 of bench/9p.sh's guest (busybox), the same under both VMMs: times
# unpacking /bench.tar onto the 9P share "share" and onto the ext4 disk
# /dev/vda, then a large sequential write and read on the share, and prints
# "p9bench: NAME VALUE" lines (on the console and in the kernel log).  Times come from /proc/uptime (10 ms steps).
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev 2>/dev/null
mb=${p9bench_mib:-128}
# Also through the kernel log: a console whose interrupt does not work
# (QEMU's microvm here) still shows printk, polled.
say() {
	echo "p9bench: $*"
	echo "<3>p9bench: $*" >/dev/kmsg
}
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v mb="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", mb / s; else print 0 }'; }

mkdir -p /mnt /disk
mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048600 share /mnt || say "FAIL mount 9p"
mount -t ext4 /dev/vda /disk || say "FAIL mount ext4"
say "mount $(grep ' /mnt ' /proc/mounts)"

t=$(now); mkdir /mnt/untar && tar -xf /bench.tar -C /mnt/untar && sync
say "untar-share $(since "$t")"
t=$(now); mkdir /disk/untar && tar -xf /bench.tar -C /disk/untar && sync
say "untar-ext4 $(since "$t")"
say "files $(find /mnt/untar -type f | wc -l) $(find /disk/untar -type f | wc -l)"

t=$(now); dd if=/dev/zero of=/mnt/big bs=1M count="$mb" conv=fsync 2>/dev/null
s=$(since "$t")
say "write-share $(rate "$mb" "$s")"
echo 3 >/proc/sys/vm/drop_caches
t=$(now); dd if=/mnt/big of=/dev/null bs=1M 2>/dev/null
s=$(since "$t")
say "read-share $(rate "$mb" "$s")"
umount /mnt
umount /disk
say done
sleep 1
poweroff -f
