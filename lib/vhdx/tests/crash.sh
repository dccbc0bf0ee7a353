#!/bin/bash
# Crash consistency: a writer allocating and discarding blocks is killed
# (SIGKILL) at random moments; every time, the image must still pass
# qemu-img check and our own check, and open.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib.sh"
tool=$top/${O:-build}/tests/lib/vhdx/vhdx-tool
command -v qemu-img >/dev/null || { echo "qemu-img not installed (qemu-utils)"; exit 77; }
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
rounds=12 bad_qemu=0 bad_ours=0 bad_open=0

for i in $(seq "$rounds"); do
	"$tool" create "$w/img.vhdx" --size $((64 << 20))
	"$tool" churn "$w/img.vhdx" "$i" &
	pid=$!
	sleep "0.$((RANDOM % 30 + 5))"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	qemu-img check -q "$w/img.vhdx" >"$w/qemu.out" 2>&1 || { bad_qemu=$((bad_qemu + 1)); cat "$w/qemu.out"; }
	"$tool" check "$w/img.vhdx" || bad_ours=$((bad_ours + 1))
	"$tool" read "$w/img.vhdx" >/dev/null || bad_open=$((bad_open + 1))
done
t_check "$rounds writers killed mid-run: qemu-img check clean every time" test $bad_qemu = 0
t_check "$rounds writers killed mid-run: our check clean every time" test $bad_ours = 0
t_check "$rounds writers killed mid-run: the image opens and reads every time" test $bad_open = 0
t_done
