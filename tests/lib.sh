# Helpers for test scripts: each check prints one TAP line, tests/run counts them.
# Source it, call t_check / t_ok / t_fail / t_skip, and end with t_done.

_t_n=0
_t_failed=0

t_ok() { _t_n=$((_t_n + 1)); echo "ok $_t_n - $1"; }
t_fail() { # name [why]
	_t_n=$((_t_n + 1)); _t_failed=1
	echo "not ok $_t_n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
t_skip() { _t_n=$((_t_n + 1)); echo "ok $_t_n - $1 # SKIP $2"; }

# t_check NAME CMD...: passes when CMD succeeds; shows CMD's output when not.
t_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then t_ok "$name"; else t_fail "$name" "$* -> $out"; fi
}

t_done() {
	echo "1..$_t_n"
	exit $_t_failed
}

# t_wait_for FILE PATTERN PID SECONDS: until PATTERN shows up in FILE (a VM's
# console, say); false when process PID is gone first, or SECONDS pass.
t_wait_for() {
	local i
	for ((i = 0; i < $4 * 5; i++)); do
		grep -aq -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# t_initramfs DIR OUT: DIR as a gzip'd cpio "newc" archive, the kernel's
# initramfs format, entries sorted.
t_initramfs() {
	(cd "$1" && find . | sort | cpio -o -H newc --quiet) | gzip -1 >"$2"
}
