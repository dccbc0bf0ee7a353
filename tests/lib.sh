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
