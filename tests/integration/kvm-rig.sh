#!/bin/bash
# The nested-KVM rig hands back what the command printed, on the stream it
# printed it to, and the command's exit status; a command that runs too long
# is stopped with status 124.  One rig boot for the first three checks.
set -u
. "$(dirname "$0")/../lib.sh"

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

scripts/kvm-rig -- sh -c 'test -c /dev/kvm && echo "kvm:$(pwd)"; echo "to stderr" >&2; exit 7' >"$out" 2>"$err"
rc=$?
t_check "exit status of the command comes back" test "$rc" -eq 7
t_check "stdout comes back, with /dev/kvm present and the same cwd" \
	grep -qx "kvm:$(pwd -P)" "$out"
t_check "stderr comes back on stderr" grep -qx "to stderr" "$err"

scripts/kvm-rig --timeout 1 -- sleep 60 >"$out" 2>"$err"
rc=$?
if [[ -c /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	t_skip "a hung command times out with status 124" "the rig runs commands directly on a machine with KVM"
else
	t_check "a hung command times out with status 124" test "$rc" -eq 124
fi
t_done
