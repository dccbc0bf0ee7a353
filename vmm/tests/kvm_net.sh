#!/bin/bash
# SPDX-License-Identifier: MIT
# wslvm --net: virtio-net on libslirp's NAT, with the project's kernel and a
# busybox initramfs whose /init is the guest half of the test.  One boot
# proves that
#   - the guest gets 10.0.2.15, its gateway and its DNS server by DHCP;
#   - it fetches a page from an HTTP server on the host's 127.0.0.1 at 10.0.2.2;
#   - it resolves a name through the host's resolver configuration: a dnsmasq
#     on the host's loopback answers it, named in an /etc/resolv.conf that is
#     bind-mounted over the real one (in the test's own mount namespace);
#   - a forward added on the control socket reaches the guest's HTTP server,
#     and after "forward remove" the host port is closed; forwards given at
#     start work too;
#   - bad forward requests get clear "error:" answers, and stats counts frames.
# Needs /dev/kvm and root: the test runs in network and mount namespaces of
# its own (its ports, the DNS server on 127.0.0.1:53 and the resolv.conf are
# nobody else's), where it re-executes itself first.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/tests/lib.sh"
if [[ $(id -u) != 0 ]]; then
	t_skip "wslvm --net" "needs root for its own network and mount namespaces"
	t_done
fi
if [[ -z ${KVM_NET_PRIVATE:-} ]]; then
	KVM_NET_PRIVATE=1 exec unshare --net --mount "${BASH_SOURCE[0]}" "$@"
fi
O=${O:-build}
wslvm=$top/$O/bin/wslvm
bzimage=${WSLVM_TEST_KERNEL:-$top/$O/kernel/bzImage}
vm_timeout=${WSLVM_TEST_TIMEOUT:-300}
busybox=$(command -v busybox || echo /bin/busybox)
work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

[[ -x $wslvm ]] || { t_fail "$wslvm is built" "run make first"; t_done; }
[[ -f $bzimage ]] || { t_fail "the project's kernel is built" "$bzimage is missing"; t_done; }
for tool in dnsmasq socat unshare; do
	command -v $tool >/dev/null || { t_fail "$tool is installed" "run scripts/install-deps"; t_done; }
done

http_port=18080	# the host's web server, on 127.0.0.1
start_fwd=18081	# forwarded to the guest's port 80 from the start
run_fwd=18082	# forwarded to the guest's port 80 on the control socket
test_name=wsl-test.example
test_addr=10.9.8.7

# --- the guest: busybox, and a script as init ---------------------------------

root=$work/root
mkdir -p "$root/bin"
cp "$busybox" "$root/bin/busybox"
cat >"$root/udhcpc.sh" <<'EOF'
#!/bin/busybox sh
# udhcpc's hook: configure eth0 from the lease, and note what it said.
case $1 in
bound | renew)
	ifconfig "$interface" "$ip" netmask "$subnet" up
	for r in $router; do route add default gw "$r" dev "$interface"; break; done
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	echo "ip=$ip router=$router dns=$dns" >/tmp/lease
	;;
esac
exit 0
EOF
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /etc /www
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "wslvm-net: $*"; }
ifconfig lo 127.0.0.1 up
ifconfig eth0 up
say "mac $(cat /sys/class/net/eth0/address) mtu $(cat /sys/class/net/eth0/mtu)"
if udhcpc -i eth0 -s /udhcpc.sh -n -q -t 20 -T 1 >/tmp/udhcpc.log 2>&1; then
	say "dhcp $(cat /tmp/lease)"
else
	say "dhcp failed: $(cat /tmp/udhcpc.log)"
fi
# (Debian's busybox wget crashes with -T: timeout bounds it instead.)
if timeout 30 wget -q -O /tmp/hello "http://10.0.2.2:$wslvm_http/hello.txt"; then
	say "http got '$(cat /tmp/hello)'"
else
	say "http failed"
fi
say "dns $(nslookup -type=a "$wslvm_name" 10.0.2.3 2>&1 | tr '\n' ' ')"
echo "served by the guest" >/www/index.html
httpd -p 80 -h /www
say "httpd listening"
# The host creates /done on its web server when it is through with us.
i=0
while [ $i -lt 600 ] && ! timeout 10 wget -q -O /dev/null "http://10.0.2.2:$wslvm_http/done" 2>/dev/null; do
	sleep 1
	i=$((i + 1))
done
say "powering off"
sleep 1		# for the console to drain
poweroff -f
EOF
chmod +x "$root/init" "$root/udhcpc.sh"
t_initramfs "$root" "$work/initrd.gz"

# --- the host's services: a web server and a DNS server on 127.0.0.1 ----------

# A new network namespace's loopback starts down.
ip link set lo up

www=$work/www
mkdir -p "$www"
echo "hello from the host" >"$www/hello.txt"
"$busybox" httpd -f -p "127.0.0.1:$http_port" -h "$www" &
pids+=($!)
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
	--listen-address=127.0.0.1 --bind-interfaces --port=53 --user=root \
	--pid-file="$work/dnsmasq.pid" --address="/$test_name/$test_addr" \
	--log-facility="$work/dnsmasq.log" --log-queries &
pids+=($!)
# The host's resolver configuration, as wslvm (and slirp in it) reads it.
echo "nameserver 127.0.0.1" >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf

# --- one boot -----------------------------------------------------------------

ctl=$work/control
out=$work/boot.out
ask() { printf '%s\n' "$@" | socat -t 10 - "UNIX-CONNECT:$ctl" 2>&1; }
# fetch PORT: what the guest serves, through a forward from 127.0.0.1:PORT.
# (-t: socat's wait for the answer after the request is sent; its default is 0.5 s.)
fetch() { timeout 30 socat -t 20 -T 20 - "TCP:127.0.0.1:$1" <<<$'GET / HTTP/1.0\r\n\r' 2>&1; }

timeout "$vm_timeout" "$wslvm" --kernel "$bzimage" --initrd "$work/initrd.gz" --memory 256 \
	--net="forward=tcp:$start_fwd:80" --control "$ctl" \
	--cmdline "wslvm_http=$http_port wslvm_name=$test_name" </dev/null >"$out" 2>&1 &
vm=$!
pids+=($vm)

# wait_for PATTERN: until the guest's console shows it (or the VM is gone).
wait_for() { t_wait_for "$out" "$1" "$vm" "$vm_timeout"; }
# The console so far, without the guest tty's CRs (wslvm still writes to $out).
console=$work/console
snapshot() { sed 's/\r$//' "$out" >"$console"; }
console_tail() { snapshot; tail -n "${1:-25}" "$console"; }

wait_for "wslvm-net: httpd listening"
snapshot

if grep -aq '^wslvm-net: mac 02:57:53:4c:56:4d mtu 1500$' "$console"; then
	t_ok "virtio-net: the guest sees the device's MAC and MTU"
else
	t_fail "virtio-net: the guest sees the device's MAC and MTU" "$(grep -a 'wslvm-net: mac' "$console" || console_tail)"
fi
if grep -aq '^wslvm-net: dhcp ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3$' "$console"; then
	t_ok "DHCP: the guest gets 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3"
else
	t_fail "DHCP: the guest gets 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3" "$(console_tail)"
fi
if grep -aq "^wslvm-net: http got 'hello from the host'$" "$console"; then
	t_ok "NAT: the guest fetches a page from the host's 127.0.0.1 at 10.0.2.2"
else
	t_fail "NAT: the guest fetches a page from the host's 127.0.0.1 at 10.0.2.2" "$(console_tail)"
fi
if grep -a '^wslvm-net: dns ' "$console" | grep -q "Address:* *$test_addr"; then
	t_ok "DNS: a query to 10.0.2.3 is answered by the host's resolver ($test_name)"
else
	t_fail "DNS: a query to 10.0.2.3 is answered by the host's resolver ($test_name)" \
		"$(grep -a '^wslvm-net: dns' "$console" || console_tail)
# dnsmasq: $(tail -n 5 "$work/dnsmasq.log" 2>&1)"
fi

page=$(fetch "$start_fwd")
if grep -q '^served by the guest' <<<"$page"; then
	t_ok "forward from the start: 127.0.0.1:$start_fwd reaches the guest's port 80"
else
	t_fail "forward from the start: 127.0.0.1:$start_fwd reaches the guest's port 80" "$page"
fi

answer=$(ask help)
if grep -q '^forward add tcp|udp HOSTPORT GUESTPORT | remove tcp|udp HOSTPORT | list$' <<<"$answer"; then
	t_ok "control: help lists the forward command"
else
	t_fail "control: help lists the forward command" "$answer"
fi
answer=$(ask "forward add tcp $run_fwd 80" "forward list")
if [[ $answer == $'ok\n'"tcp $start_fwd 80"$'\n'"tcp $run_fwd 80"$'\nok' ]]; then
	t_ok "control: forward add, then forward list shows both forwards"
else
	t_fail "control: forward add, then forward list shows both forwards" "$answer"
fi
page=$(fetch "$run_fwd")
if grep -q '^served by the guest' <<<"$page"; then
	t_ok "forward added at run time: 127.0.0.1:$run_fwd reaches the guest's port 80"
else
	t_fail "forward added at run time: 127.0.0.1:$run_fwd reaches the guest's port 80" \
		"$page$(printf '\n'; console_tail 5)"
fi
answer=$(ask "forward remove tcp $run_fwd" "forward list")
if [[ $answer == $'ok\n'"tcp $start_fwd 80"$'\nok' ]]; then
	t_ok "control: forward remove takes it off the list"
else
	t_fail "control: forward remove takes it off the list" "$answer"
fi
if page=$(timeout 10 socat -T 5 - "TCP:127.0.0.1:$run_fwd" </dev/null 2>&1); then
	t_fail "after forward remove, 127.0.0.1:$run_fwd is closed" "connected: $page"
else
	t_ok "after forward remove, 127.0.0.1:$run_fwd is closed"
fi

answer=$(ask "forward add udp 18083 5353" "forward list" "forward remove udp 18083")
if [[ $answer == $'ok\n'"tcp $start_fwd 80"$'\nudp 18083 5353\nok\nok' ]]; then
	t_ok "control: a UDP forward is added, listed and removed"
else
	t_fail "control: a UDP forward is added, listed and removed" "$answer"
fi

# Each bad request and the error it must get, in order.
answer=$(ask "forward add tcp 70000 80" "forward add tcp $start_fwd 81" "forward remove tcp 18099" \
	"forward add sctp 1 2" "forward add tcp 1" "forward frobnicate" "forward add udp 0x10 53")
expected="error: host port '70000' is not a port number from 1 to 65535
error: tcp host port $start_fwd is already forwarded (to guest port 80)
error: no tcp forward from host port 18099
error: unknown protocol 'sctp' (tcp or udp)
error: usage: forward add tcp|udp HOSTPORT GUESTPORT
error: usage: forward add|remove|list ...
error: host port '0x10' is not a port number from 1 to 65535"
if [[ $answer == "$expected" ]]; then
	t_ok "control: bad forward requests get clear errors (range, duplicate, unknown, syntax)"
else
	t_fail "control: bad forward requests get clear errors (range, duplicate, unknown, syntax)" \
		"$(echo "$expected" >"$work/expected"; echo "$answer" | diff "$work/expected" - 2>&1)"
fi
# A host port some other program holds cannot be forwarded.
answer=$(ask "forward add tcp $http_port 80")
if [[ $answer == "error: listening on 127.0.0.1:$http_port (tcp): Address already in use" ]]; then
	t_ok "control: a host port already in use is refused with the reason"
else
	t_fail "control: a host port already in use is refused with the reason" "$answer"
fi

stats=$(ask stats)
rx=$(sed -n 's/^net_rx_packets //p' <<<"$stats")
tx=$(sed -n 's/^net_tx_packets //p' <<<"$stats")
if [[ ${rx:-0} -gt 10 && ${tx:-0} -gt 10 ]] && grep -q '^net_rx_bytes [1-9]' <<<"$stats" &&
	grep -q '^net_tx_dropped 0$' <<<"$stats"; then
	t_ok "control: stats counts the frames each way ($rx to the guest, $tx from it)"
else
	t_fail "control: stats counts the frames each way" "$stats"
fi

# Let the guest go: it powers off once it can fetch /done.
touch "$www/done"
wait "$vm"
rc=$?
snapshot
if [[ $rc == 0 ]] && grep -aq '^wslvm-net: powering off' "$console"; then
	t_ok "the guest powers off, wslvm ends with status 0"
else
	t_fail "the guest powers off, wslvm ends with status 0" "status $rc; $(console_tail)"
fi
if grep -aq 'wslvm: .*virtio-net' "$console"; then
	t_fail "virtio-net: wslvm had no complaints" "$(grep -a 'wslvm: .*virtio-net' "$console")"
else
	t_ok "virtio-net: wslvm had no complaints"
fi
t_done
