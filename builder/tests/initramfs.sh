#!/bin/bash
# mkwslimage initramfs: a cpio newc archive the kernel accepts, the same
# bytes from the same inputs, and nothing written on bad input.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
mk=${O:-build}/bin/mkwslimage
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An "init" and extra files; the second copy differs only in mtimes and place.
mkdir -p "$tmp/a/extra/sub" "$tmp/b"
printf '#!/bin/sh\necho hi\n' >"$tmp/a/init"
echo data >"$tmp/a/extra/sub/file"
ln -s sub/file "$tmp/a/extra/link"
chmod 4711 "$tmp/a/extra/sub/file"
cp -a "$tmp/a/." "$tmp/b/"
touch -d '2030-01-01' "$tmp/b/init" "$tmp/b/extra/sub/file"

export SOURCE_DATE_EPOCH=1700000000
t_check "xz initramfs is built" \
	"$mk" initramfs --init "$tmp/a/init" --add "$tmp/a/extra:/opt/extra" --out "$tmp/1.cpio.xz"
"$mk" initramfs --init "$tmp/b/init" --add "$tmp/b/extra:/opt/extra" --out "$tmp/2.cpio.xz"
t_check "two builds are byte-identical" cmp "$tmp/1.cpio.xz" "$tmp/2.cpio.xz"
t_check "xz stream uses the CRC32 check the kernel requires" \
	sh -c "xz --robot --list '$tmp/1.cpio.xz' | grep -q '^file.*CRC32'"

xz -dc "$tmp/1.cpio.xz" >"$tmp/1.cpio"
cpio -it --quiet <"$tmp/1.cpio" >"$tmp/list" 2>&1
t_check "entries are sorted, with parents, skeleton and /init" diff -u - "$tmp/list" <<'LIST'
dev
dev/console
init
mnt
opt
opt/extra
opt/extra/link
opt/extra/sub
opt/extra/sub/file
proc
root
run
sys
tmp
LIST
cpio -itv --quiet <"$tmp/1.cpio" >"$tmp/listv" 2>&1
t_check "owners are root, init is 0755, setuid kept, console is 5,1" sh -c "
	grep -q '^-rwxr-xr-x .* root *root .* init\$' '$tmp/listv' &&
	grep -q '^-rws--x--x .* root *root .* opt/extra/sub/file\$' '$tmp/listv' &&
	grep -q '^crw------- .* 5, *1 .* dev/console\$' '$tmp/listv' &&
	! grep -v ' root *root ' '$tmp/listv'"
mkdir "$tmp/x"
(cd "$tmp/x" && cpio -idm --quiet <"$tmp/1.cpio" 2>/dev/null)
t_check "contents and symlinks round-trip" sh -c "
	cmp '$tmp/a/init' '$tmp/x/init' && cmp '$tmp/a/extra/sub/file' '$tmp/x/opt/extra/sub/file' &&
	test \"\$(readlink '$tmp/x/opt/extra/link')\" = sub/file"
t_check "mtimes are clamped to SOURCE_DATE_EPOCH" \
	test "$(stat -c %Y "$tmp/x/init")" -le "$SOURCE_DATE_EPOCH"

"$mk" initramfs --compress gzip --init "$tmp/a/init" --out "$tmp/1.cpio.gz"
"$mk" initramfs --compress gzip --init "$tmp/b/init" --out "$tmp/2.cpio.gz"
t_check "gzip output is valid and reproducible" sh -c \
	"gzip -t '$tmp/1.cpio.gz' && cmp '$tmp/1.cpio.gz' '$tmp/2.cpio.gz'"

echo keep >"$tmp/old"
"$mk" initramfs --init "$tmp/missing" --out "$tmp/old" 2>"$tmp/err"
rc=$?
t_check "a missing init fails, naming it" sh -c "test $rc -ne 0 && grep -q 'missing' '$tmp/err'"
t_check "a failed build leaves the old output and no temporary file" sh -c \
	"test \"\$(cat '$tmp/old')\" = keep && ! ls '$tmp'/old.tmp.* 2>/dev/null"
"$mk" initramfs --init "$tmp/a/init" --add "$tmp/a/init:../escape" --out "$tmp/3" 2>"$tmp/err"
t_check "a destination with .. is refused" sh -c "test $? -ne 0 && test ! -e '$tmp/3' && grep -q escape '$tmp/err'"
t_check "--help describes the command" sh -c "'$mk' initramfs --help | grep -q -- --init"
t_done
