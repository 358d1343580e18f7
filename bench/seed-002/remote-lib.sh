# Helpers migrate.sh installs on the NEW controller (in its private run dir) and sources before the seed's
# verification commands. Sourced with R set to that dir (mode 0700), which holds openrc.victoria (0600).
# bash; no secret ever goes on an argv: the openrc is sourced into the environment of a subshell.

# retry SECONDS CMD...: run CMD until it exits 0 (an API that was just started answers after a few seconds, and an
# operator retries the listing until it does); prints its last output; fails after SECONDS.
retry() {
	local limit=$1 t0=$SECONDS out
	shift
	while :; do
		if out=$("$@" 2>&1); then
			printf '%s\n' "$out"
			return 0
		fi
		if ((SECONDS - t0 >= limit)); then
			printf '%s\n' "$out" | tail -n 20 >&2
			echo "gave up after ${limit} s: $*" >&2
			return 1
		fi
		sleep 1
	done
}

# os ARGS...: the openstack CLI with the OLD controller's admin openrc (seed: `source openrc.havana`).
os() {
	(
		set +u
		# shellcheck disable=SC1091 # copied from old at run time
		. "$R/openrc.victoria"
		openstack "$@"
	)
}

# http_ok URL...: the first URL that answers 2xx/3xx wins (python3's urllib: curl is not on new). The dashboard's
# login page is at /horizon (Debian without its vhost), or / with openstack-dashboard-apache's vhost.
http_ok() {
	python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
last = "no URL given"
for url in sys.argv[1:]:
    try:
        code = urllib.request.urlopen(url, timeout=20).status
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception as e:
        last = f"{url}: {e}"
        continue
    if 200 <= code < 400:
        print(f"{url}: HTTP {code}")
        sys.exit(0)
    last = f"{url}: HTTP {code}"
print(last, file=sys.stderr)
sys.exit(1)
PY
}

# as_user USER CMD...: a manage command as the service's user (OPENSTACK.md: keystone-manage run as root left a
# root-owned log that killed the keystone API). Words are simple (no quoting needed): commands and options only.
as_user() {
	local u=$1
	shift
	su -s /bin/sh -c "$*" "$u"
}

# repeat_while_1 USER CMD...: online data migrations, run until they exit 0 (1 = more to do, anything else fails).
repeat_while_1() {
	local u=$1 n=0 rc
	shift
	while :; do
		rc=0
		as_user "$u" "$@" >/dev/null || rc=$?
		if [ "$rc" = 0 ]; then return 0; fi
		if [ "$rc" != 1 ] || [ "$n" -ge 100 ]; then
			echo "$* exited $rc (after $n rounds)" >&2
			return 1
		fi
		n=$((n + 1))
	done
}

# svc ACTION UNIT...: Debian's init scripts (no systemd in the lab, LAB.md), one after the other. Output goes to a
# file, not the SSH channel: a daemon that inherits the channel keeps the session open. ACTION `stop-if-running`
# is the seed's stop on the new controller, where the units are already stopped (a "not running" is fine).
svc() {
	local action=$1 u
	shift
	for u in "$@"; do
		if [ "$action" = stop-if-running ]; then
			service "$u" stop </dev/null >"$R/svc.log" 2>&1 || echo "note: service $u stop: $(tail -n 1 "$R/svc.log")"
		elif ! service "$u" "$action" </dev/null >"$R/svc.log" 2>&1; then
			cat "$R/svc.log" >&2
			echo "service $u $action failed" >&2
			return 1
		fi
	done
}

# my ARGS...: the mysql client as root with the password from the 0600 defaults file migrate.sh wrote (the seed
# puts -p<password> on the argv; here it never is). The defaults file must be the first option.
my() {
	mysql --defaults-extra-file="$R/my.cnf" "$@"
}

# quiet CMD...: a chatty tool's output goes to a log; shown (its tail) only when it fails.
quiet() {
	if ! "$@" >"$R/cmd.log" 2>&1; then
		tail -n 40 "$R/cmd.log" >&2
		echo "failed: $*" >&2
		return 1
	fi
}
