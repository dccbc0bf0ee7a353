#!/bin/bash
# The real kernel is reproducible: a second build of the same inputs, in
# another directory and at another time, gave the same bzImage, vmlinux and
# .config.  The second build is not run here (it takes as long as the
# first, past a test's time limit): "make test" has it done first by "make
# kernel-reproduce", once per set of inputs (the cache keeps the record),
# and this test checks the record against the kernel in build/kernel.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
out=${O:-build}/kernel

if [ ! -s "$out/manifest" ]; then
	echo "no kernel built in $out (make kernel builds it)"
	exit 77
fi
if [ ! -s "$out/reproduced" ]; then
	echo "no record of a second build of this kernel yet (make kernel-reproduce does it)"
	exit 77
fi

key=$(sed -n 's/^cache-key //p' "$out/manifest")
t_check "the reproducibility record is for the kernel in $out" \
	grep -qx "cache-key $key" "$out/reproduced"
for f in bzImage vmlinux .config; do
	sum=$(sha256sum "$out/$f" | cut -c1-64)
	t_check "$f: the second build's sha256 is the first's ($sum)" sh -c "
		grep -qx 'identical $sum $f' '$out/reproduced' &&
		grep -q '^output $sum [0-9]* $f\$' '$out/manifest'"
done
second=$(sed -n 's/^second-build-dir //p' "$out/reproduced")
t_check "the second build ran in a directory of its own" test -n "$second"
t_done
