#!/bin/bash
# The VHDX library judged by QEMU: qemu-img check/info/convert and qemu-io
# on images we write, and our reading of images QEMU writes.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib.sh"
tool=$top/${O:-build}/tests/lib/vhdx/vhdx-tool
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	echo "qemu-img/qemu-io not installed (scripts/install-deps installs qemu-utils)"; exit 77
fi
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cd "$w"
MiB=$((1 << 20))

# A random payload and, beside it, the raw disk we expect after writing it.
head -c $((5 * MiB + 4321)) /dev/urandom >payload
expect() { # size offset: expected.raw = zeros with payload at offset
	truncate -s 0 expected.raw; truncate -s "$1" expected.raw
	dd if=payload of=expected.raw bs=64K seek="$2" oflag=seek_bytes conv=notrunc status=none
}
virtual_size() { qemu-img info --output=json "$1" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p'; }
allocated() { stat -c %b "$1"; }

$tool create default.vhdx
t_check "qemu-img check: a new default image has no errors" qemu-img check -q default.vhdx
t_check "qemu-img info: default virtual size is 256 GiB" test "$(virtual_size default.vhdx)" = $((256 << 30))
t_check "a new 256 GiB image allocates under 2 MiB" test $(($(allocated default.vhdx) * 512)) -lt $((2 * MiB))

$tool create big-blocks.vhdx --size $((1 << 30)) --block-size $((32 * MiB))
t_check "qemu-img check: 32 MiB blocks" qemu-img check -q big-blocks.vhdx
t_check "qemu-img info: virtual size asked for (1 GiB)" test "$(virtual_size big-blocks.vhdx)" = $((1 << 30))
# QEMU does not open 4096-byte logical sectors: our own check and read-back judge those.
$tool create s4k.vhdx --size $((256 * MiB)) --sector 4096
$tool write s4k.vhdx $((100 * MiB)) <payload
t_check "4096-byte sectors: our check is clean" "$tool" check s4k.vhdx
t_check "4096-byte sectors: data reads back" cmp <("$tool" read s4k.vhdx $((100 * MiB)) $(stat -c %s payload)) payload

$tool create ours.vhdx --size $((64 * MiB))
$tool write ours.vhdx 1234567 <payload
expect $((64 * MiB)) 1234567
t_check "qemu-img check: after unaligned writes across blocks" qemu-img check -q ours.vhdx
qemu-img convert -O raw ours.vhdx ours.raw
t_check "qemu-img convert reads what we wrote, byte for byte" cmp ours.raw expected.raw

qemu-img create -q -f vhdx empty.vhdx 100M
t_check "we check an empty qemu-img image clean" "$tool" check empty.vhdx
t_check "we read an empty qemu-img image as zeros" cmp <("$tool" read empty.vhdx) <(head -c $((100 * MiB)) /dev/zero)

qemu-io -f vhdx -c "write -P 0xab 1M 3M" -c "write -P 0x5c 50M 512" empty.vhdx >/dev/null
qemu-img convert -O raw empty.vhdx qemu-io.raw
t_check "we read data written by qemu-io" cmp <("$tool" read empty.vhdx) qemu-io.raw

qemu-img convert -O vhdx expected.raw dynamic.vhdx
t_check "we read a dynamic image made by qemu-img convert" cmp <("$tool" read dynamic.vhdx) expected.raw
qemu-img convert -O vhdx -o subformat=fixed expected.raw fixed.vhdx
t_check "we read a fixed image made by qemu-img convert" cmp <("$tool" read fixed.vhdx) expected.raw
printf 'fixed disk' | "$tool" write fixed.vhdx $((40 * MiB + 3))
printf 'fixed disk' | dd of=expected.raw bs=1 seek=$((40 * MiB + 3)) conv=notrunc status=none
qemu-img convert -O raw fixed.vhdx fixed.raw
t_check "our write into a qemu-img fixed image: qemu-img check" qemu-img check -q fixed.vhdx
t_check "our write into a qemu-img fixed image reads back in qemu-img" cmp fixed.raw expected.raw

# Discard: whole blocks unmapped, host space given back, zeros read back.
expect $((64 * MiB)) 1234567
cp ours.vhdx discard.vhdx
before=$(allocated discard.vhdx)
"$tool" discard discard.vhdx $((2 * MiB)) $((3 * MiB))
after=$(allocated discard.vhdx)
# (a few KiB may go to the new header and the BAT page)
t_check "discard of 3 MiB gives about 3 MiB back to the host" test $(((before - after) * 512)) -ge $((3 * MiB - 64 * 1024))
t_check "qemu-img check: after discard" qemu-img check -q discard.vhdx
dd if=/dev/zero of=expected.raw bs=1M seek=2 count=3 conv=notrunc status=none
qemu-img convert -O raw discard.vhdx discard.raw
t_check "qemu-img reads zeros where we discarded, data elsewhere" cmp discard.raw expected.raw

# Corrupt images: a clear refusal, never a crash.
cp ours.vhdx broken.vhdx
printf '\xff\xff\xff\xff' | dd of=broken.vhdx bs=1 seek=$((64 * 1024 + 4)) conv=notrunc status=none
printf '\xff\xff\xff\xff' | dd of=broken.vhdx bs=1 seek=$((128 * 1024 + 4)) conv=notrunc status=none
out=$("$tool" read broken.vhdx 0 512 2>&1 >/dev/null); rc=$?
t_check "both header CRCs broken: refused with the reason" \
	test $rc = 1 -a -n "$(grep 'neither header is valid' <<<"$out")"
cp ours.vhdx truncated.vhdx
truncate -s $((6 * MiB)) truncated.vhdx
out=$("$tool" read truncated.vhdx 0 512 2>&1 >/dev/null); rc=$?
t_check "BAT entry past the end of a truncated file: refused with the reason" \
	test $rc = 1 -a -n "$(grep 'outside the' <<<"$out")"

t_done
