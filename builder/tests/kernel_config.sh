#!/bin/bash
# The built kernel's .config, checked independently of mkwslimage: every
# option the 6.1 fragments ask for, what Docker needs (our own list, by
# the groups Docker's check-config.sh reports), and what systemd needs.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
config=${KERNEL_CONFIG:-${O:-build}/kernel/.config}
frags="$top/kernel-patches/6.1/base.config $top/kernel-patches/6.1/containers.config
       $top/kernel-patches/6.1/size.config"

if [ ! -s "$config" ]; then
	echo "no kernel built at $config (make kernel builds it)"
	exit 77
fi

# value NAME: the option's value in .config, "n" when unset or absent.
value() {
	local v
	v=$(sed -n "s/^CONFIG_$1=//p" "$config")
	echo "${v:-n}"
}

# require GROUP NAME...: one check per group; lists every option missing.
require() {
	local group=$1 missing= o
	shift
	for o in "$@"; do
		[ "$(value "$o")" = y ] || missing="$missing CONFIG_$o=$(value "$o")"
	done
	if [ -z "$missing" ]; then t_ok "$group"; else t_fail "$group" "not built in:$missing"; fi
}

# --- the fragments, read with awk rather than mkwslimage's own parser ---
lost=$(awk -v cfg="$config" '
	BEGIN { while ((getline l < cfg) > 0) {
			if (l ~ /^CONFIG_[A-Za-z0-9_]+=/) { i = index(l, "="); have[substr(l, 1, i - 1)] = substr(l, i + 1) }
		} }
	/^CONFIG_[A-Za-z0-9_]+=/ { i = index($0, "="); n = substr($0, 1, i - 1); v = substr($0, i + 1)
		if (!(n in have)) print FILENAME ": " $0 " (is unset)"
		else if (have[n] != v) print FILENAME ": " $0 " (is " have[n] ")" }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { if ($2 in have) print FILENAME ": " $0 " (is " have[$2] ")" }
' $frags)
if [ -z "$lost" ]; then t_ok "every option of the 6.1 fragments is in .config"
else t_fail "every option of the 6.1 fragments is in .config" "$lost"; fi

# --- Docker: what it cannot run without ---
require "Docker, necessary: namespaces" NAMESPACES NET_NS PID_NS IPC_NS UTS_NS
require "Docker, necessary: cgroups (v2, and the v1 controllers)" CGROUPS CGROUP_SCHED \
	CGROUP_CPUACCT CGROUP_DEVICE CGROUP_FREEZER CPUSETS MEMCG CGROUP_BPF
require "Docker, necessary: keys, POSIX message queues" KEYS POSIX_MQUEUE
require "Docker, necessary: veth and bridge with netfilter" VETH BRIDGE BRIDGE_NETFILTER
require "Docker, necessary: iptables filter, mangle, raw, NAT, masquerade" \
	IP_NF_FILTER IP_NF_MANGLE IP_NF_RAW IP_NF_NAT IP_NF_TARGET_MASQUERADE NF_NAT
require "Docker, necessary: ip6tables filter, mangle, raw, NAT, masquerade" \
	IP6_NF_FILTER IP6_NF_MANGLE IP6_NF_RAW IP6_NF_NAT IP6_NF_TARGET_MASQUERADE
require "Docker, necessary: xtables matches and targets" NETFILTER_XT_MATCH_ADDRTYPE \
	NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_MATCH_IPVS NETFILTER_XT_MARK

# --- Docker: optional features (we want them all but the LSMs) ---
require "Docker, optional: user namespaces, seccomp" USER_NS SECCOMP SECCOMP_FILTER
# 6.1 has no MEMCG_SWAP (which Docker still asks for): swap accounting comes
# with MEMCG and SWAP.
require "Docker, optional: cgroup controllers" CGROUP_PIDS CGROUP_HUGETLB MEMCG SWAP \
	BLK_CGROUP BLK_DEV_THROTTLING CGROUP_PERF NET_CLS_CGROUP CGROUP_NET_PRIO \
	CFS_BANDWIDTH FAIR_GROUP_SCHED
require "Docker, optional: redirect and IPVS" IP_NF_TARGET_REDIRECT IP_VS IP_VS_NFCT \
	IP_VS_PROTO_TCP IP_VS_PROTO_UDP IP_VS_RR
require "Docker, optional: ext4 with ACLs and security labels" EXT4_FS EXT4_FS_POSIX_ACL \
	EXT4_FS_SECURITY
if [ "$(value LEGACY_VSYSCALL_NATIVE)" = n ]; then t_ok "Docker: no native legacy vsyscall"
else t_fail "Docker: no native legacy vsyscall" "CONFIG_LEGACY_VSYSCALL_NATIVE is set"; fi

# --- Docker: network drivers and storage ---
require "Docker, overlay network" VXLAN BRIDGE_VLAN_FILTERING
require "Docker, encrypted overlay network" CRYPTO CRYPTO_AEAD CRYPTO_GCM CRYPTO_SEQIV \
	CRYPTO_GHASH XFRM XFRM_USER XFRM_ALGO INET_ESP NETFILTER_XT_MATCH_BPF
require "Docker, ipvlan and macvlan networks" IPVLAN MACVLAN DUMMY
require "Docker, ftp and tftp clients in containers" NF_NAT_FTP NF_CONNTRACK_FTP NF_NAT_TFTP \
	NF_CONNTRACK_TFTP
require "Docker, overlay storage driver" OVERLAY_FS

# --- systemd as a distro's init ---
require "systemd: the interfaces it uses" DEVTMPFS CGROUPS INOTIFY_USER SIGNALFD TIMERFD EPOLL \
	UNIX SYSFS PROC_FS FHANDLE TMPFS_POSIX_ACL TMPFS_XATTR AUTOFS_FS SECCOMP_FILTER \
	BPF_SYSCALL CGROUP_BPF
if [ "$(value SYSFS_DEPRECATED)" = n ] && [ "$(value UEVENT_HELPER)" = n ]; then
	t_ok "systemd: no deprecated sysfs layout, no uevent helper"
else
	t_fail "systemd: no deprecated sysfs layout, no uevent helper"
fi

# --- the VM: what wslvm's devices and boot need, built in ---
require "VM: direct boot, PVH, serial console" RELOCATABLE PVH SERIAL_8250 SERIAL_8250_CONSOLE \
	BLK_DEV_INITRD RD_GZIP RD_XZ KVM_GUEST PARAVIRT
require "VM: virtio-mmio devices" VIRTIO_MMIO VIRTIO_MMIO_CMDLINE_DEVICES VIRTIO_BLK \
	VIRTIO_CONSOLE VIRTIO_NET VIRTIO_VSOCKETS VIRTIO_BALLOON PAGE_REPORTING HW_RANDOM_VIRTIO
require "VM: 9P over virtio, ext4, tmpfs, devtmpfs" NET_9P_VIRTIO 9P_FS EXT4_FS TMPFS DEVTMPFS
if [ "$(value MODULES)" = n ]; then t_ok "VM: everything built in (no modules)"
else t_fail "VM: everything built in (no modules)" "CONFIG_MODULES=$(value MODULES)"; fi

t_done
