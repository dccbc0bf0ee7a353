#!/bin/bash
# mkwslimage disk/export judged by outside tools: qemu-img check/info/convert,
# e2fsck -fn, dumpe2fs and GNU tar listings; SIGKILL at random moments; and
# damaged images handed to export.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
mk=$top/${O:-build}/bin/mkwslimage
tool=$top/${O:-build}/tests/lib/vhdx/vhdx-tool
for t in qemu-img e2fsck dumpe2fs busybox; do
	command -v "$t" >/dev/null || { echo "$t not installed (scripts/install-deps)"; exit 77; }
done
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cd "$w"
"$top/rootfs-templates/tiny.sh" tiny.tar.gz >/dev/null 2>&1 || { t_fail "rootfs-templates/tiny.sh"; t_done; }

virtual_size() { qemu-img info --output=json "$1" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p'; }
# A GNU tar listing, normalized: no "./", no lost+found, sorted.
listing() {
	tar --numeric-owner --full-time -tvf "$1" | sed -e 's# \./# #' -e 's#/$##' -e 's# link to \./# link to #' |
		awk '$6 != "." && $6 != "" && $6 != "lost+found"' | sort -k6
}

t_check "disk: tiny distro into a default VHDX" "$mk" disk --from tiny.tar.gz --out tiny.vhdx
t_check "qemu-img check: no errors" qemu-img check -q tiny.vhdx
t_check "qemu-img info: 256 GiB, the default virtual size" test "$(virtual_size tiny.vhdx)" = $((256 << 30))
qemu-img convert -O raw tiny.vhdx tiny.raw
t_check "e2fsck -fn on qemu-img's raw conversion: clean" e2fsck -fn tiny.raw
rm -f tiny.raw

t_check "disk: --size 2G --label" "$mk" disk --from tiny.tar.gz --out sized.vhdx --size 2G --label tinyroot
t_check "qemu-img info: the 2 GiB asked for" test "$(virtual_size sized.vhdx)" = $((2 << 30))
qemu-img convert -O raw sized.vhdx sized.raw
t_check "dumpe2fs: the label, ext4 features, 4 KiB blocks" sh -c \
	"dumpe2fs -h sized.raw 2>/dev/null | grep -q 'volume name: *tinyroot' &&
	 dumpe2fs -h sized.raw 2>/dev/null | grep -q 'features:.*has_journal.*extent.*metadata_csum' &&
	 dumpe2fs -h sized.raw 2>/dev/null | grep -q 'Block size: *4096'"
rm -f sized.raw

t_check "disk --format raw, from standard input" sh -c "gzip -dc tiny.tar.gz | '$mk' disk --from - --out tiny.img --format raw --size 1G"
t_check "raw image: e2fsck -fn clean" e2fsck -fn tiny.img
t_check "raw image: sparse (under 64 MiB on the host)" test $(($(stat -c %b tiny.img) * 512)) -lt $((64 << 20))

t_check "export from VHDX to .tar.xz" "$mk" export tiny.vhdx --out back.tar.xz
t_check "export from raw to .tar.gz" "$mk" export tiny.img --out back-raw.tar.gz
listing tiny.tar.gz >before.txt
listing back.tar.xz >after.txt
t_check "GNU tar: the export lists like the original (mode, owner, size, time, links)" diff before.txt after.txt
t_check "GNU tar: same from the raw image" diff before.txt <(listing back-raw.tar.gz)
t_check "GNU tar: exported file contents match" sh -c "mkdir a b && tar -xzf tiny.tar.gz -C a && tar -xJf back.tar.xz -C b && diff -r --no-dereference a b"

# Killed at random moments: the output name holds nothing, or a whole image.
head -c $((48 << 20)) /dev/urandom >blob
tar -czf big.tar.gz blob -C "$w" tiny.tar.gz
incomplete=0
for i in $(seq 8); do
	rm -f killed.vhdx
	"$mk" disk --from big.tar.gz --out killed.vhdx --size 1G 2>/dev/null &
	pid=$!
	sleep "0.$((RANDOM % 90 + 5))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [[ -e killed.vhdx ]]; then
		qemu-img check -q killed.vhdx && qemu-img convert -O raw killed.vhdx killed.raw &&
			e2fsck -fn killed.raw >/dev/null 2>&1 || incomplete=$((incomplete + 1))
		rm -f killed.raw
	fi
done
t_check "SIGKILL at 8 random moments never leaves a partial image under the output name" test $incomplete = 0
rm -f killed.vhdx* big.tar.gz blob

# A tarball that does not fit in --size: a clear error and no output.
head -c $((80 << 20)) /dev/zero >zeros
tar -czf full.tar.gz zeros
rm zeros
out=$("$mk" disk --from full.tar.gz --out full.vhdx --size 64M 2>&1); rc=$?
t_check "a tarball bigger than --size: 'the filesystem is full', no output" \
	test $rc = 1 -a ! -e full.vhdx -a -n "$(grep 'the filesystem is full' <<<"$out")"

# Damaged images: a clear error and no output.
cp tiny.vhdx broken.vhdx
printf '\xff\xff\xff\xff' | dd of=broken.vhdx bs=1 seek=$((64 * 1024 + 4)) conv=notrunc status=none
printf '\xff\xff\xff\xff' | dd of=broken.vhdx bs=1 seek=$((128 * 1024 + 4)) conv=notrunc status=none
out=$("$mk" export broken.vhdx --out x.tar 2>&1); rc=$?
t_check "export of a VHDX with both header CRCs broken fails clearly" \
	test $rc = 1 -a ! -e x.tar -a -n "$(grep 'neither header is valid' <<<"$out")"
cp tiny.vhdx short.vhdx
truncate -s $(($(stat -c %s tiny.vhdx) - (1 << 20))) short.vhdx
out=$("$mk" export short.vhdx --out x.tar 2>&1); rc=$?
t_check "export of a VHDX whose BAT points past its end fails clearly" \
	test $rc = 1 -a ! -e x.tar -a -n "$(grep 'outside the' <<<"$out")"
t_check "our check agrees: the truncated image has a problem" sh -c "! '$tool' check short.vhdx >/dev/null"
t_done
