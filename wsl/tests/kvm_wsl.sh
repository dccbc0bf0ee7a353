#!/bin/bash
# wsl end to end, as a user meets it: import distros, run commands in the
# one utility VM that starts on demand, list, terminate, shut down, idle
# timeout, export and re-import.  Needs /dev/kvm: run inside the rig.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
O=${O:-build}
wsl=$PWD/$O/bin/wsl
for f in "$O/kernel/bzImage" "$O/init/initramfs.cpio.xz" "$O/bin/wslvm" "$wsl"; do
	[ -e "$f" ] || { t_fail "inputs are built" "$f is missing: run make"; t_done; }
done
tmp=$(mktemp -d)
# Every wsl call is bounded: a hang fails its check instead of the suite.
printf '#!/bin/sh\nexec timeout --foreground -k 5 90 "%s" "$@"\n' "$wsl" >"$tmp/wsl"
chmod +x "$tmp/wsl"
wsl=$tmp/wsl
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/wsl"
unset WSL_VM_SOCKET
trap '"$wsl" --shutdown >/dev/null 2>&1; rm -rf "$tmp"' EXIT
printf '[wsl2]\nmemory=512MB\nprocessors=2\nvmIdleTimeout=%s\n' 600000 >"$XDG_CONFIG_HOME/wsl/config"

rootfs-templates/tiny.sh "$tmp/tiny.tar.gz" tiny
rootfs-templates/tiny.sh "$tmp/tiny2.tar.gz" tiny2
"$wsl" --import tiny "$tmp/distros/tiny" "$tmp/tiny.tar.gz"
"$wsl" --import tiny2 "$tmp/distros/tiny2" "$tmp/tiny2.tar.gz"

start=$(date +%s%N)
release=$("$wsl" -d tiny -- uname -r)
cold_ms=$((($(date +%s%N) - start) / 1000000))
t_check "the first command starts the VM and runs on our kernel ($cold_ms ms cold)" \
	sh -c "echo '$release' | grep -q '^6\\.1\\.'"
start=$(date +%s%N)
"$wsl" -d tiny -- true
warm_ms=$((($(date +%s%N) - start) / 1000000))
t_ok "wsl -d tiny -- true on a running VM ($warm_ms ms)"
echo "# wsl -d tiny -- true: cold start $cold_ms ms, running VM $warm_ms ms"
"$wsl" -d tiny -- sh -c 'exit 7'
t_check "the exit code is the command's" test $? -eq 7
head -c 200000 /dev/urandom >"$tmp/stdin.bin"
t_check "stdin to stdout, byte-exact" sh -c "'$wsl' -d tiny -- cat <'$tmp/stdin.bin' | cmp - '$tmp/stdin.bin'"

"$wsl" -d tiny -- sleep 3 &
a=$!
"$wsl" -d tiny2 -- sleep 3 &
b=$!
sleep 1
t_check "wsl -l -v shows both distros running in the one VM" \
	sh -c "'$wsl' -l -v | grep -Eq '^\\* tiny +Running +2' && '$wsl' -l -v | grep -Eq '^  tiny2 +Running +2'"
wait $a $b
t_check "both commands ran to completion side by side" test $? -eq 0
"$wsl" --terminate tiny2
t_check "--terminate stops one distro, the other keeps running" \
	sh -c "'$wsl' -l -v | grep -Eq 'tiny2 +Stopped' && '$wsl' -l -v | grep -Eq 'tiny +Running'"

# (script's stdin ends at once, and it passes that on as an EOF character,
# which the guest's terminal may echo: look for the marked line only.)
size=$(script -qec "stty rows 33 cols 101; '$wsl' -d tiny -- sh -c 'tty >/dev/null && echo \"size=\$(stty size)\"'" \
	/dev/null </dev/null | tr -d '\r' | grep -o 'size=.*')
t_check "a pty session sees a terminal of the host's size" test "$size" = "size=33 101"

# Localhost forwarding: a server in the distro, reached on the host's loopback.
http_get() { # port path
	(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3 && cat <&3) 2>/dev/null
}
"$wsl" -d tiny -- sh -c 'mkdir -p /www && echo served-from-tiny >/www/hello.txt && httpd -p 8089 -h /www'
for _ in $(seq 1 40); do http_get 8089 /hello.txt | grep -q served-from-tiny && break; sleep 0.25; done
t_check "a server in the distro is reachable on the host's 127.0.0.1 at the same port" \
	bash -c "$(declare -f http_get); http_get 8089 /hello.txt | grep -q served-from-tiny"
"$wsl" -d tiny -- killall httpd
for _ in $(seq 1 40); do http_get 8089 /hello.txt >/dev/null || break; sleep 0.25; done
t_check "... and the forward goes away with the server" \
	bash -c "$(declare -f http_get); ! http_get 8089 /hello.txt | grep -q served"

# The distros' network: this machine's loopback through the VM's NAT.
mkdir -p "$tmp/www"
echo served-from-the-host >"$tmp/www/host.txt"
busybox httpd -f -p 127.0.0.1:18089 -h "$tmp/www" &
httpd=$!
got=$("$wsl" -d tiny -- wget -q -O - http://10.0.2.2:18089/host.txt 2>&1)
kill $httpd
t_check "a distro reaches a server on the host's 127.0.0.1 as 10.0.2.2, through NAT" \
	test "$got" = served-from-the-host
t_check "and its resolv.conf names the NAT's DNS relay" \
	sh -c "'$wsl' -d tiny -- cat /etc/resolv.conf | grep -q '^nameserver 10.0.2.3'"

"$wsl" --shutdown
t_check "--shutdown stops the VM" sh -c "'$wsl' --status | grep -q 'Utility VM: stopped'"

# Export, unregister, import: the same files.
"$wsl" --export tiny "$tmp/tiny-export.tar"
"$wsl" -d tiny -- find / -xdev | sort >"$tmp/before"
"$wsl" --unregister tiny
"$wsl" --import tiny "$tmp/distros/tiny-again" "$tmp/tiny-export.tar"
"$wsl" -d tiny -- find / -xdev | sort >"$tmp/after"
t_check "export, unregister, import keeps every file" diff "$tmp/before" "$tmp/after"

# The idle timeout stops the VM by itself.
"$wsl" --shutdown
printf '[wsl2]\nmemory=512MB\nprocessors=2\nvmIdleTimeout=2000\n' >"$XDG_CONFIG_HOME/wsl/config"
"$wsl" -d tiny -- true
for _ in $(seq 1 40); do
	"$wsl" --status | grep -q 'Utility VM: stopped' && break
	sleep 0.5
done
t_check "an idle VM stops by itself after vmIdleTimeout" \
	sh -c "'$wsl' --status | grep -q 'Utility VM: stopped'"
t_done
