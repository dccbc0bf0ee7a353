#!/bin/bash
# SPDX-License-Identifier: MIT
# virtio-balloon gives the guest's unused memory back to the host.  wslvm
# boots the project's kernel (build/kernel) with 1 GiB, --balloon and a
# control socket; the test init (wslvm_test=balloon) touches 512 MiB when
# told over the console, so wslvm's RSS rises by most of it, then frees it:
#   - free page reporting: within the wait limit wslvm's RSS falls by at
#     least 75% of what the 512 MiB added (the figures, and how long it
#     took, are printed as comments; timings are not asserted);
#   - "balloon" answers target, actual and the guest's memory figures, and
#     "stats" counts what was reported and released;
#   - "balloon set" inflates: the guest's actual size follows the target,
#     its free memory falls by as much, and deflating gives it back;
#   - bad "balloon" requests get "error:" answers, and the VM goes on;
#   - memory the guest kept all along is intact, and what was released is
#     usable again; the guest powers off with status 0;
#   - with --hugepages (when 512 huge pages of 2 MiB can be reserved), the
#     huge pages behind the 512 MiB go back to the host's pool.
# Runs where /dev/kvm works (the rig), as root for the huge pages.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/tests/lib.sh"
O=${O:-build}
wslvm=$top/$O/bin/wslvm
init=$top/$O/tests/vmm/guest/test-init
bzimage=${WSLVM_TEST_KERNEL:-$top/$O/kernel/bzImage}
vm_timeout=${WSLVM_TEST_TIMEOUT:-600}
wait_limit=${WSLVM_BALLOON_WAIT:-120}	# seconds for the guest to report / inflate
work=$(mktemp -d)
vm=
hugepages_before=
cleanup() {
	[[ -n $vm ]] && kill "$vm" 2>/dev/null
	[[ -n $hugepages_before ]] && echo "$hugepages_before" >/proc/sys/vm/nr_hugepages
	rm -rf "$work"
}
trap cleanup EXIT

for f in "$wslvm" "$init"; do
	[[ -x $f ]] || { t_fail "$f is built" "run make first"; t_done; }
done
if [[ ! -f $bzimage ]]; then
	t_fail "the project's kernel is built" "$bzimage is missing: run 'make kernel'"
	t_done
fi

mkdir -p "$work/root"
cp "$init" "$work/root/init"
t_initramfs "$work/root" "$work/initrd.gz"

ctl=$work/control
ask() { printf '%s\n' "$@" | socat -t 10 - "UNIX-CONNECT:$ctl" 2>&1; }
# stat NAME [ANSWER]: the value of "NAME value" in ANSWER (default: "stats").
stat_of() { local a=${2:-$(ask stats)}; sed -n "s/^$1 //p" <<<"$a" | head -n 1; }
mib() { echo $(($1 / 1048576)); }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for FILE PATTERN SECONDS: until PATTERN shows up in FILE (or the VM is gone).
wait_for() { t_wait_for "$1" "$2" "$vm" "$3"; }

# start_vm OUT [OPTION...]: boots the balloon check, its console in on fd 3.
start_vm() {
	out=$1
	shift
	rm -f "$work/console-in"
	mkfifo "$work/console-in"
	timeout "$vm_timeout" "$wslvm" --kernel "$bzimage" --initrd "$work/initrd.gz" --memory 1G \
		--balloon --control "$ctl" --cmdline "wslvm_test=balloon" "$@" \
		<"$work/console-in" >"$out" 2>&1 &
	vm=$!
	exec 3>"$work/console-in"
}

start_vm "$work/balloon.out"

# --- free page reporting ------------------------------------------------------

if ! wait_for "$out" "^wslvm-test: balloon waiting to touch" "$vm_timeout"; then
	t_fail "guest: boots with the balloon driver" "$(tail -n 30 "$out")"
	exec 3>&-
	t_done
fi
rss_booted=$(stat_of rss_bytes)
echo touch >&3
if ! wait_for "$out" "^wslvm-test: balloon touched" "$wait_limit"; then
	t_fail "guest: touches 512 MiB" "$(tail -n 30 "$out")"
	exec 3>&-
	t_done
fi
rss_touched=$(stat_of rss_bytes)
echo "# RSS: $(mib "$rss_booted") MiB booted, $(mib "$rss_touched") MiB with 512 MiB touched"
if ((rss_touched >= rss_booted + 512 * 1048576 * 3 / 4)); then
	t_ok "the guest touching 512 MiB raises wslvm's RSS by at least 75% of it"
else
	t_fail "the guest touching 512 MiB raises wslvm's RSS by at least 75% of it" \
		"$(mib "$rss_booted") -> $(mib "$rss_touched") MiB"
fi
echo free >&3
wait_for "$out" "^wslvm-test: balloon freed" "$wait_limit" || t_fail "guest: frees 512 MiB" "$(tail -n 20 "$out")"
start=$(now)
goal=$((rss_touched - 512 * 1048576 * 3 / 4))
rss_after=$rss_touched
for ((i = 0; i < wait_limit * 2; i++)); do
	rss_after=$(stat_of rss_bytes)
	((rss_after <= goal)) && break
	sleep 0.5
done
took=$(since "$start")
echo "# RSS: $(mib "$rss_after") MiB ${took} s after the guest freed the 512 MiB" \
	"(goal: at most $(mib "$goal") MiB)"
if ((rss_after <= goal)); then
	t_ok "reporting: wslvm's RSS falls by at least 75% of the 512 MiB the guest freed"
else
	t_fail "reporting: wslvm's RSS falls by at least 75% of the 512 MiB the guest freed" \
		"$(mib "$rss_touched") -> $(mib "$rss_after") MiB in ${took} s; $(ask stats)"
fi
stats=$(ask stats)
reported=$(stat_of balloon_reported_bytes "$stats")
released=$(stat_of balloon_released_bytes "$stats")
echo "# reported $(mib "${reported:-0}") MiB in $(stat_of balloon_reported_ranges "$stats") ranges," \
	"released $(mib "${released:-0}") MiB"
if ((reported >= 384 * 1048576 && released >= 384 * 1048576)); then
	t_ok "stats: counts the reported and released bytes"
else
	t_fail "stats: counts the reported and released bytes" "$stats"
fi

# --- balloon: target, actual, the guest's figures ------------------------------

answer=$(ask balloon)
sleep 1
answer=$(ask balloon)	# the first asked the guest for fresh figures
if grep -q '^driver_ready 1$' <<<"$answer" && grep -q '^target_mib 0$' <<<"$answer" &&
	grep -q '^actual_mib 0$' <<<"$answer" && grep -q '^guest_total_bytes [1-9][0-9]*$' <<<"$answer" &&
	grep -q '^guest_free_bytes [1-9][0-9]*$' <<<"$answer" && [[ $(tail -n 1 <<<"$answer") == ok ]]; then
	t_ok "balloon: answers target, actual and the guest's memory figures"
else
	t_fail "balloon: answers target, actual and the guest's memory figures" "$answer"
fi
free_before=$(stat_of guest_free_bytes "$answer")

# --- inflate and deflate -------------------------------------------------------

rss_before=$(stat_of rss_bytes)
answer=$(ask "balloon set 256")
[[ $answer == ok ]] || t_fail "balloon set 256 is accepted" "$answer"
start=$(now)
for ((i = 0; i < wait_limit * 2; i++)); do
	answer=$(ask balloon)
	[[ $(stat_of actual_mib "$answer") == 256 ]] && break
	sleep 0.5
done
took=$(since "$start")
sleep 1
answer=$(ask balloon)
free_after=$(stat_of guest_free_bytes "$answer")
echo "# inflate to 256 MiB: actual $(stat_of actual_mib "$answer") MiB after ${took} s;" \
	"guest free $(mib "${free_before:-0}") -> $(mib "${free_after:-0}") MiB;" \
	"RSS $(mib "$rss_before") -> $(mib "$(stat_of rss_bytes)") MiB"
if [[ $(stat_of target_mib "$answer") == 256 && $(stat_of actual_mib "$answer") == 256 ]]; then
	t_ok "inflate: the guest's balloon grows to the target"
else
	t_fail "inflate: the guest's balloon grows to the target" "$answer"
fi
if [[ -n $free_before && -n $free_after ]] && ((free_after <= free_before - 200 * 1048576)); then
	t_ok "inflate: the guest's free memory falls by about as much"
else
	t_fail "inflate: the guest's free memory falls by about as much" \
		"free ${free_before:-?} -> ${free_after:-?} bytes"
fi
inflated=$(stat_of balloon_inflated_pages)
if ((inflated >= 65536)); then
	t_ok "stats: counts the inflated pages ($inflated)"
else
	t_fail "stats: counts the inflated pages" "$(ask stats)"
fi
ask "balloon set 0" >/dev/null
for ((i = 0; i < wait_limit * 2; i++)); do
	answer=$(ask balloon)
	[[ $(stat_of actual_mib "$answer") == 0 ]] && break
	sleep 0.5
done
if [[ $(stat_of actual_mib "$answer") == 0 ]] && (($(stat_of balloon_deflated_pages) >= 65536)); then
	t_ok "deflate: the balloon empties when the target is 0"
else
	t_fail "deflate: the balloon empties when the target is 0" "$answer"
fi

# --- bad requests ---------------------------------------------------------------

bad_ok=1
for req in "balloon set" "balloon set abc" "balloon set 12x" "balloon set -1" "balloon set +5" \
	"balloon set 1024" "balloon set 99999999999999999999999" "balloon frob" "balloon set 1 2"; do
	answer=$(ask "$req")
	if ! grep -q '^error: ' <<<"$answer" || grep -q '^ok$' <<<"$answer"; then
		t_fail "bad requests: '$req' gets an error" "$answer"
		bad_ok=
	fi
done
answer=$(ask balloon)
if [[ -n $bad_ok && $(stat_of target_mib "$answer") == 0 ]]; then
	t_ok "bad requests: each gets 'error:', and the target stays"
elif [[ -n $bad_ok ]]; then
	t_fail "bad requests: each gets 'error:', and the target stays" "$answer"
fi
if grep -q '^balloon \[set MIB\]$' <<<"$(ask help)"; then
	t_ok "help lists balloon"
else
	t_fail "help lists balloon" "$(ask help)"
fi

# --- the guest's verdict --------------------------------------------------------

echo end >&3
exec 3>&-
wait "$vm"
rc=$?
vm=
sed -i 's/\r$//' "$out"
for c in "balloon driver" "balloon kept memory" "balloon memory again"; do
	if grep -aq "^wslvm-test: ok $c\$" "$out"; then
		t_ok "guest: $c"
	else
		t_fail "guest: $c" "$(grep -a "^wslvm-test: FAIL" "$out" || echo "the init never reported it")"
	fi
done
if [[ $rc == 0 ]] && grep -aq 'all checks passed' "$out" && ! grep -aq '^wslvm: virtio-balloon' "$out"; then
	t_ok "the guest powers off with status 0, and wslvm warned of nothing"
else
	t_fail "the guest powers off with status 0, and wslvm warned of nothing" \
		"status $rc; $(grep -a 'wslvm:' "$out"; tail -n 20 "$out")"
fi

# --- --hugepages: the huge pages go back to the pool ----------------------------

hugepages_free() { sed -n 's/^HugePages_Free: *//p' /proc/meminfo; }
name="hugepages: the huge pages behind the 512 MiB go back to the host's pool"
hugepages_before=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null)
if [[ -z $hugepages_before ]] || ! echo $((hugepages_before + 512)) >/proc/sys/vm/nr_hugepages 2>/dev/null ||
	(($(hugepages_free) < 512)); then
	t_skip "$name" "512 huge pages of 2 MiB cannot be reserved here"
	t_done
fi
start_vm "$work/hugepages.out" --hugepages
wait_for "$out" "^wslvm-test: balloon waiting to touch" "$vm_timeout"
free_booted=$(hugepages_free)
echo touch >&3
if ! wait_for "$out" "^wslvm-test: balloon touched" "$wait_limit"; then
	t_fail "$name" "the guest never touched its memory; $(tail -n 20 "$out")"
	t_done
fi
free_touched=$(hugepages_free)
echo free >&3
wait_for "$out" "^wslvm-test: balloon freed" "$wait_limit"
start=$(now)
goal=$((free_touched + 256 * 3 / 4))
free_after=$free_touched
for ((i = 0; i < wait_limit * 2; i++)); do
	free_after=$(hugepages_free)
	((free_after >= goal)) && break
	sleep 0.5
done
took=$(since "$start")
echo "# huge pages free in the host's pool: $free_booted booted, $free_touched with the 512 MiB touched," \
	"$free_after ${took} s after the guest freed it (goal: at least $goal)"
if ((free_touched <= free_booted - 192 && free_after >= goal)); then
	t_ok "$name"
else
	t_fail "$name" "$free_booted -> $free_touched -> $free_after free huge pages ($took s); $(ask stats)"
fi
echo end >&3
exec 3>&-
wait "$vm"
rc=$?
vm=
if [[ $rc == 0 ]] && grep -aq 'all checks passed' "$out"; then
	t_ok "hugepages: the guest's checks pass and it powers off with status 0"
else
	t_fail "hugepages: the guest's checks pass and it powers off with status 0" \
		"status $rc; $(grep -a 'wslvm:' "$out"; tail -n 20 "$out")"
fi
t_done
