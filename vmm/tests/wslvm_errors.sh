#!/bin/bash
# SPDX-License-Identifier: MIT
# wslvm refuses bad inputs with a clear message before it needs /dev/kvm:
# not a kernel, truncated, too old a boot protocol, no 64-bit entry,
# initrd or command line that do not fit, too little memory, missing files,
# shares that are not TAG=PATH or not directories.
# Runs on the host; the kernels are fake bzImages built here byte by byte.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/tests/lib.sh"
wslvm=$top/${O:-build}/bin/wslvm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# put FILE OFFSET BYTES...: writes little-endian bytes given in hex.
put() {
	local file=$1 off=$2 hex
	shift 2
	hex=$(printf '\\x%s' "$@")
	printf "$hex" | dd of="$file" bs=1 seek=$((off)) conv=notrunc status=none
}
le16() { printf '%02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)); }
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
	$((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }

# fake_bzimage FILE [VERSION] [XLOADFLAGS] [INIT_SIZE] [CMDLINE_SIZE]: a
# bzImage header with 4 setup sectors and a 64 KiB protected-mode part.
fake_bzimage() {
	local f=$1 version=${2:-0x020f} xlf=${3:-1} init_size=${4:-0x400000}
	local cmdline_size=${5:-2047}
	truncate -s $((5 * 512 + 65536)) "$f"
	put "$f" 0x1f1 04					# setup_sects
	put "$f" 0x1f4 $(le32 $((65536 / 16)))			# syssize
	put "$f" 0x1fe 55 aa					# boot_flag
	put "$f" 0x201 $(printf '%02x' $((0x268 - 0x202)))	# header length
	put "$f" 0x202 48 64 72 53				# "HdrS"
	put "$f" 0x206 $(le16 $((version)))
	put "$f" 0x211 01					# LOADED_HIGH
	put "$f" 0x22c $(le32 0x7fffffff)			# initrd_addr_max
	put "$f" 0x234 01					# relocatable
	put "$f" 0x236 $(le16 $((xlf)))
	put "$f" 0x238 $(le32 $((cmdline_size)))
	put "$f" 0x258 00 00 00 01 00 00 00 00			# pref_address 16 MiB
	put "$f" 0x260 $(le32 $((init_size)))
}

# expect_error NAME STATUS PATTERN ARGS...: wslvm exits with STATUS and
# its message matches PATTERN.
expect_error() {
	local name=$1 status=$2 pattern=$3 out rc
	shift 3
	out=$("$wslvm" "$@" 2>&1 </dev/null)
	rc=$?
	if ((rc != status)); then
		t_fail "$name" "expected exit status $status, got $rc: $out"
	elif ! grep -qE -- "$pattern" <<<"$out"; then
		t_fail "$name" "message does not match '$pattern': $out"
	else
		t_ok "$name"
	fi
}

good=$work/good.bzImage
fake_bzimage "$good"
printf 'not a kernel at all\n' >"$work/text"
head -c 300 "$good" >"$work/short"
head -c 20000 "$good" >"$work/truncated"
fake_bzimage "$work/old" 0x0204
fake_bzimage "$work/no64" 0x020f 0
fake_bzimage "$work/huge" 0x020f 1 $((200 * 1024 * 1024))
fake_bzimage "$work/short-cmdline" 0x020f 1 0x400000 16
printf '\177ELF\002\001\001' >"$work/elf"
truncate -s 64 "$work/elf"
truncate -s 100M "$work/big-initrd"
: >"$work/empty-initrd"

out=$("$wslvm" --help)
if [[ $? == 0 ]] && grep -q -- '--kernel' <<<"$out" && grep -q -- '--vsock' <<<"$out" && grep -q -- '--net' <<<"$out" &&
	grep -q 'Exit status' <<<"$out"; then
	t_ok "--help documents the options and exit status"
else
	t_fail "--help documents the options and exit status" "$out"
fi

expect_error "no --kernel" 2 "no --kernel given"
expect_error "unknown option" 2 "try --help" --kernel "$good" --frobnicate
expect_error "missing kernel file" 1 "opening the kernel $work/nope: No such file" \
	--kernel "$work/nope"
expect_error "not a kernel" 1 "text: not a Linux kernel" --kernel "$work/text"
expect_error "too short for a setup header" 1 "short: not a Linux kernel: too short" \
	--kernel "$work/short"
expect_error "truncated bzImage" 1 "truncated: the setup header promises 68096 bytes, the file has 20000" \
	--kernel "$work/truncated"
expect_error "boot protocol too old" 1 "boot protocol 2.04 is too old: wslvm needs 2.12" \
	--kernel "$work/old"
expect_error "no 64-bit entry point" 1 "no 64-bit entry point" --kernel "$work/no64"
expect_error "ELF that is not x86-64" 1 "elf: (an ELF file libelf cannot read|an ELF file, but not an x86-64 one|truncated)" \
	--kernel "$work/elf"
cp "$(type -P true)" "$work/program"
expect_error "ELF without a PVH note" 1 "program: an ELF kernel without a PVH entry note" \
	--kernel "$work/program"
expect_error "missing initrd" 1 "opening the initrd $work/nope: No such file" \
	--kernel "$good" --initrd "$work/nope"
expect_error "empty initrd" 1 "the initrd is empty" --kernel "$good" --initrd "$work/empty-initrd"
expect_error "initrd does not fit" 1 "big-initrd: the initrd \(100 MiB\) does not fit" \
	--kernel "$good" --initrd "$work/big-initrd" --memory 64
expect_error "kernel does not fit in memory" 1 "the kernel needs guest memory up to 216 MiB, but the guest has 128 MiB" \
	--kernel "$work/huge" --memory 128
expect_error "command line too long" 1 "the kernel command line is [0-9]+ bytes, but this kernel takes at most 16" \
	--kernel "$work/short-cmdline"
expect_error "too little memory" 2 "--memory 16 is too little: a guest needs at least 64 MiB" \
	--kernel "$good" --memory 16
expect_error "memory is not a size" 2 "--memory '12x' is not a size" --kernel "$good" --memory 12x
expect_error "impossible memory size" 2 "--memory 99999G is more than wslvm gives a guest" \
	--kernel "$good" --memory 99999G
expect_error "bad vCPU count" 2 "--cpus '0' is not a number from 1 to 254" --kernel "$good" --cpus 0
expect_error "missing disk image" 1 "--disk: opening $work/nope: No such file" \
	--kernel "$good" --disk "$work/nope"
expect_error "disk serial too long" 1 "serial '.*' is longer than the 20 bytes" \
	--kernel "$good" --disk "$work/big-initrd,serial=abcdefghijklmnopqrstuvwxyz"
expect_error "bad vsock CID" 2 "cid '2' is not a number from 3" \
	--kernel "$good" --vsock "$work/sock,cid=2"
expect_error "bad --net MAC" 2 "--net mac=02:00:00:00:00 is not a MAC address" \
	--kernel "$good" --net=mac=02:00:00:00:00
expect_error "multicast --net MAC" 2 "--net mac=01:00:00:00:00:01 is a multicast address" \
	--kernel "$good" --net=mac=01:00:00:00:00:01
expect_error "--net forward port out of range" 2 "host port '65536' is not a port number from 1 to 65535" \
	--kernel "$good" --net=forward=tcp:65536:80
expect_error "--net forward of an unknown protocol" 2 "unknown protocol 'icmp' \(tcp or udp\)" \
	--kernel "$good" --net=forward=icmp:8080:80
expect_error "--net forward that is not PROTO:HOST:GUEST" 2 "'tcp:8080' is not PROTO:HOSTPORT:GUESTPORT" \
	--kernel "$good" --net=forward=tcp:8080
expect_error "--net forward of one host port twice" 1 "tcp host port 18123 is already forwarded \(to guest port 80\)" \
	--kernel "$good" --net=forward=tcp:18123:80,forward=tcp:18123:81
expect_error "unknown --net option" 2 "--net: unknown option 'vlan=3'" --kernel "$good" --net=vlan=3
expect_error "share without a tag" 2 "--share '$work' is not TAG=PATH" --kernel "$good" --share "$work"
expect_error "share with an empty tag" 2 "the tag '' must be 1 to 64 bytes" --kernel "$good" --share "=$work"
expect_error "share tag too long" 2 "the tag '.*' must be 1 to 64 bytes" \
	--kernel "$good" --share "$(printf 't%.0s' {1..65})=$work"
expect_error "share without a path" 2 "--share x: no path" --kernel "$good" --share "x=,ro"
expect_error "missing share directory" 1 "--share x=$work/nope: cannot share it: No such file" \
	--kernel "$good" --share "x=$work/nope"
expect_error "share of a file" 1 "--share x=$work/big-initrd: cannot share it: Not a directory" \
	--kernel "$good" --share "x=$work/big-initrd"
expect_error "two shares with one tag" 1 "--share x: the tag is already given to $work" \
	--kernel "$good" --share "x=$work" --share "x=$work,ro"
expect_error "too many shares" 2 "more than 8 --share options" --kernel "$good" \
	$(for i in {0..8}; do printf -- '--share t%d=%s ' "$i" "$work"; done)
t_done
