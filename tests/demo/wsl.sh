#!/bin/bash
# Demo: from nothing to a shell prompt in a test distro inside our VM.
# make demo has built the kernel, the initramfs and the programs; this
# makes the tiny distro, imports it, and uses it through wsl, in the
# nested-KVM rig (or directly where /dev/kvm works).
set -euo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
if [ -z "${KVM_RIG_INSIDE:-}" ]; then
	echo "== wsl: import a distro and use it (inside the nested-KVM rig)"
	exec env KVM_RIG_INSIDE=1 scripts/kvm-rig -- "$0"
fi

wsl=$PWD/$O/bin/wsl
tmp=$(mktemp -d)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/wsl"
printf '[wsl2]\nmemory=512MB\n' >"$XDG_CONFIG_HOME/wsl/config"
trap '"$wsl" --shutdown >/dev/null 2>&1; rm -rf "$tmp"' EXIT
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
run() { echo "\$ $*"; "$@" 2>&1 | sed 's/^/  /'; }

rootfs-templates/tiny.sh "$tmp/tiny.tar.gz" tiny
run "$wsl" --import tiny "$tmp/distros/tiny" "$tmp/tiny.tar.gz"
run "$wsl" -l -v
t=$(date +%s%N)
run "$wsl" -d tiny -- uname -a
echo "  (cold start of the VM and the distro: $(ms "$t") ms)"
t=$(date +%s%N)
run "$wsl" -d tiny -- cat /etc/os-release
echo "  (on the running VM: $(ms "$t") ms)"
run "$wsl" -l -v
echo "\$ wsl -d tiny        # a login shell on a terminal, typed into:"
printf 'echo "hello from $(hostname), pid $$, on $(tty)"\nid\nexit 0\n' |
	script -qec "'$wsl' -d tiny" /dev/null | sed 's/^/  /'
run "$wsl" --shutdown
run "$wsl" -l -v
