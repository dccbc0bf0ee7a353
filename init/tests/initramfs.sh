#!/bin/bash
# The init as shipped: static, stripped, in an initramfs under 300 KB that
# is the same bytes every time it is built.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
O=${O:-build}
init=$O/init/init
initramfs=$O/init/initramfs.cpio.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t_check "the init is a static executable (no interpreter, no dynamic section)" \
	sh -c "readelf -lW '$init' | grep -q 'Elf file type is EXEC' &&
	       ! readelf -lW '$init' | grep -q INTERP && ! readelf -dW '$init' | grep -q NEEDED"
t_check "the init is stripped (no symbol table)" \
	sh -c "! readelf -SW '$init' | grep -q '\\.symtab'"
size=$(stat -c %s "$initramfs")
t_check "the initramfs is under 300 KB ($size bytes)" test "$size" -lt 307200
SOURCE_DATE_EPOCH=0 "$O/bin/mkwslimage" initramfs --init "$init" --out "$tmp/a.cpio.xz"
cp "$init" "$tmp/init" && touch -d '2031-01-01' "$tmp/init"
SOURCE_DATE_EPOCH=0 "$O/bin/mkwslimage" initramfs --init "$tmp/init" --out "$tmp/b.cpio.xz"
t_check "two builds of the initramfs are byte-identical" \
	sh -c "cmp '$tmp/a.cpio.xz' '$tmp/b.cpio.xz' && cmp '$tmp/a.cpio.xz' '$initramfs'"
t_check "the kernel can unpack it: xz with CRC32, cpio newc with /init" sh -c "
	xz --robot --list '$initramfs' | grep -q '^file.*CRC32' &&
	xz -dc '$initramfs' | cpio -it --quiet | grep -qx init"
t_done
