#!/bin/bash
# Demo step: a virtual machine created with KVM, here, on a machine without
# hardware virtualization, by way of the nested-KVM rig.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== KVM smoke test in the nested-KVM rig"
echo "   (QEMU TCG emulating AMD SVM, Debian's kernel with kvm-amd, host root over 9P)"
start=$(date +%s%N)
scripts/kvm-rig -- sh -c '
	echo "   guest kernel: $(uname -r), $(ls -l /dev/kvm)"
	CMOCKA_MESSAGE_OUTPUT=TAP "$1" | sed "s/^/   /"' rig "${O:-build}/tests/kvm_smoke"
echo "   rig round trip: $((($(date +%s%N) - start) / 1000000)) ms"
