#!/bin/bash
# make install puts the programs under DESTDIR/PREFIX and nothing elsewhere.
set -u
. "$(dirname "$0")/../lib.sh"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

make --no-print-directory -s install DESTDIR="$dest" PREFIX=/opt/ow O="${O:-build}" >"$dest.log" 2>&1
rc=$?
t_check "make install succeeds" sh -c "test $rc -eq 0 || { cat '$dest.log'; exit 1; }"
rm -f "$dest.log"
for p in mkwslimage wslvm wsl; do
	t_check "$p is installed executable in PREFIX/bin" test -x "$dest/opt/ow/bin/$p"
done
t_check "the initramfs is installed in PREFIX/libexec/openwsl" \
	test -s "$dest/opt/ow/libexec/openwsl/initramfs.cpio.xz"
t_check "nothing lands outside DESTDIR/PREFIX" \
	test "$(find "$dest" -mindepth 1 -maxdepth 1)" = "$dest/opt"
t_done
