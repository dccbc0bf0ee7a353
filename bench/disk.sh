#!/bin/bash
# bench/disk.sh: `mkwslimage disk` side by side with the obvious pipeline
# (tar x, mke2fs -d, qemu-img convert -O vhdx) on the same tarball, once
# uncompressed and once xz-compressed; for xz also against `xz -dc >
# /dev/null`, the decompression floor.  Prints times, ratios and output
# sizes.  Measures only: it asserts nothing about timings.
#
# Usage: bench/disk.sh [ROOTFS.tar.gz]   (default: rootfs-templates/debian.sh's tarball)
# Environment: O (build folder, default build), SIZE (virtual size, default 256G),
#              RUNS (best of, default 3).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mk=$top/${O:-build}/bin/mkwslimage
size=${SIZE:-256G}
runs=${RUNS:-3}
for t in qemu-img mke2fs xz tar bc /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench/disk.sh: $t is missing (scripts/install-deps)" >&2; exit 1; }
done
[[ -x $mk ]] || { echo "bench/disk.sh: $mk is missing (run make)" >&2; exit 1; }
w=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-disk.XXXXXX")
trap 'rm -rf "$w"' EXIT

src=${1:-}
if [[ -z $src ]]; then
	src=$w/debian.tar.gz
	"$top/rootfs-templates/debian.sh" "$src" >&2
fi
gzip -dc "$src" >"$w/rootfs.tar"
xz -T0 -6 -c "$w/rootfs.tar" >"$w/rootfs.tar.xz"

# time_one CMD...: one run's wall-clock and CPU time (user + system,
# children included), in seconds: "WALL CPU".
time_one() {
	local out=$w/time.out wall u s
	sync
	/usr/bin/time -f '%e %U %S' -o "$out" bash -c "$(declare -f "$1"); w='$w' mk='$mk' size='$size'; $*" \
		>/dev/null 2>&1 || { echo "bench/disk.sh: failed: $*" >&2; exit 1; }
	read -r wall u s <"$out"
	echo "$wall $(echo "$u + $s" | bc)"
}

# best_of "CMD..." ...: each command $runs times, taking turns (so that
# a slow spell of the machine or what the one before left to write back
# falls on all of them), and for each the fastest wall-clock time and the
# least CPU time, a "WALL CPU" line each.  CPU time is what a busy machine
# disturbs least.
best_of() {
	local -a best cpu
	local i wall c
	for _ in $(seq "$runs"); do
		for ((i = 1; i <= $#; i++)); do
			# shellcheck disable=SC2086 # each argument is a command line
			read -r wall c < <(time_one ${!i})
			if [[ -z ${best[i]:-} ]] || (($(echo "$wall < ${best[i]}" | bc))); then best[i]=$wall; fi
			if [[ -z ${cpu[i]:-} ]] || (($(echo "$c < ${cpu[i]}" | bc))); then cpu[i]=$c; fi
		done
	done
	for ((i = 1; i <= $#; i++)); do echo "${best[i]} ${cpu[i]}"; done
}

ours() { rm -f "$w/ours.vhdx"; "$mk" disk --from "$1" --out "$w/ours.vhdx" --size "$size"; }
pipeline() {
	rm -rf "$w/tree" "$w/pipe.raw" "$w/pipe.vhdx"
	mkdir "$w/tree"
	tar -xf "$1" -C "$w/tree" --numeric-owner --xattrs --xattrs-include='*'
	mke2fs -q -F -t ext4 -d "$w/tree" "$w/pipe.raw" "$size"
	qemu-img convert -O vhdx "$w/pipe.raw" "$w/pipe.vhdx"
}
floor() { xz -dc "$1" >/dev/null; }
mib() { echo "$(($1 / 1048576)) MiB"; }
sizes() { # file: apparent and allocated
	printf '%s apparent, %s allocated' "$(mib "$(stat -c %s "$1")")" \
		"$(mib $(($(stat -c %b "$1") * 512)))"
}
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "tarball: $(mib "$(stat -c %s "$w/rootfs.tar")") uncompressed, $(mib "$(stat -c %s "$w/rootfs.tar.xz")") xz," \
	"$(tar -tf "$w/rootfs.tar" | wc -l) entries; virtual size $size; best of $runs; $(nproc) CPUs"
for kind in tar tar.xz; do
	in=$w/rootfs.$kind
	if [[ $kind == tar.xz ]]; then
		{ read -r t_ours c_ours; read -r t_pipe c_pipe; read -r t_floor c_floor; } < \
			<(best_of "ours $in" "pipeline $in" "floor $in")
	else
		{ read -r t_ours c_ours; read -r t_pipe c_pipe; } < <(best_of "ours $in" "pipeline $in")
	fi
	printf '%-7s mkwslimage disk %6.2f s (cpu %6.2f s)   pipeline %6.2f s (cpu %6.2f s)   pipeline/ours %sx (cpu %sx)\n' \
		"$kind" "$t_ours" "$c_ours" "$t_pipe" "$c_pipe" "$(ratio "$t_pipe" "$t_ours")" "$(ratio "$c_pipe" "$c_ours")"
	if [[ $kind == tar.xz ]]; then
		printf '%-7s xz -dc >/dev/null %6.2f s (cpu %6.2f s)   ours/floor %sx (cpu %sx)\n' "" \
			"$t_floor" "$c_floor" "$(ratio "$t_ours" "$t_floor")" "$(ratio "$c_ours" "$c_floor")"
	fi
done
echo "VHDX: ours $(sizes "$w/ours.vhdx"); pipeline $(sizes "$w/pipe.vhdx")"
