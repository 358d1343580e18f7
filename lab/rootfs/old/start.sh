#!/bin/sh
# Start the old controller's daemons at `lab up`, the way its sysvinit would: with the Debian init scripts, in
# dependency order. Runs inside the running host (its own namespaces, addresses present, sshd up, no systemd).
# Exits 0 once MariaDB, RabbitMQ and every API answer and every other daemon is alive; otherwise non-zero
# naming the daemon that failed, with the tail of its log.
#
# Env: LAB_START_TIMEOUT (seconds for all APIs to answer, default 120: a dozen Python daemons boot at once on
# a 2-core machine), LAB_OLD_MGMT (default 198.51.100.4).
set -u

TIMEOUT=${LAB_START_TIMEOUT:-120}
MGMT=${LAB_OLD_MGMT:-198.51.100.4}
T0=$(date +%s)

say() { echo "[start old +$(($(date +%s) - T0))s] $*"; }
fail() { # fail DAEMON LOG WHAT
	echo "start.sh (old): $1 $3" >&2
	if [ -n "$2" ] && [ -r "$2" ]; then
		echo "--- last lines of $2:" >&2
		tail -n 30 "$2" >&2
	fi
	exit 1
}
# Idempotent: a daemon already running counts as started (rabbitmq-server's start exits 3 then), so start.sh
# can be re-run to bring back whatever a test stopped.
start() { # start SERVICE LOG
	out=$(service "$1" start 2>&1) || service "$1" status >/dev/null 2>&1 ||
		fail "$1" "$2" "did not start (service $1 start: $out)"
}

# /var/lock is /run/lock, and /run is a fresh tmpfs: the services' lock_path lives there.
mkdir -p /run/lock && chmod 1777 /run/lock

# MariaDB logs through syslog (logger), which this host lacks: its error log is only what mysqld_safe prints.
start mariadb ""
i=0
until mysqladmin --defaults-file=/root/.my.cnf ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 60 ] || fail mariadb "" "does not answer mysqladmin ping after 30 s"
	sleep 0.5
done
say "mariadb up"
start memcached /var/log/memcached.log
# tgtd serves the attached volume's target (/var/lib/cinder/volumes/volume-*) from its file on the storage address.
start tgt ""

# The APIs that need neither RabbitMQ nor each other boot while RabbitMQ does (~6 s, blocking).
start keystone /var/log/keystone/keystone.log
start glance-api /var/log/glance/glance-api.log
start placement-api /var/log/placement/placement-api.log
start rabbitmq-server /var/log/rabbitmq/startup_log
say "rabbitmq up"
start neutron-api /var/log/neutron/neutron-api.log
start neutron-rpc-server /var/log/neutron/neutron-rpc-server.log
start nova-api /var/log/nova/nova-api.log
start nova-conductor /var/log/nova/nova-conductor.log
start nova-scheduler /var/log/nova/nova-scheduler.log
start cinder-api /var/log/cinder/cinder-api.log
start cinder-scheduler /var/log/cinder/cinder-scheduler.log
start cinder-volume /var/log/cinder/cinder-volume.log

# alive SERVICE: its init script's pidfile names a live process. (`service X status` finds daemons by name, which
# misses the ones that retitle themselves, like neutron-rpc-server.)
pidfile() {
	case $1 in
	neutron-api) echo /run/neutron/neutron-server.pid ;;
	*) echo "/run/${1%%-*}/$1.pid" ;;
	esac
}
alive() { [ -r "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

# wait_api SERVICE PORT LOG: the root of each API answers its version document without a token (2xx/3xx);
# a uwsgi whose application failed to load answers 500, which does not count.
answers() {
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$MGMT:$1/") || return 1
	case $code in [234]??) return 0 ;; *) return 1 ;; esac
}
wait_api() {
	until answers "$2"; do
		alive "$1" || fail "$1" "$3" "died while starting"
		if [ $(($(date +%s) - T0)) -ge "$TIMEOUT" ]; then fail "$1" "$3" "did not answer on $MGMT:$2 within ${TIMEOUT} s"; fi
		sleep 1
	done
	say "$1 answers on $MGMT:$2"
}
wait_api keystone 5000 /var/log/keystone/keystone.log
wait_api glance-api 9292 /var/log/glance/glance-api.log
wait_api placement-api 8778 /var/log/placement/placement-api.log
wait_api neutron-api 9696 /var/log/neutron/neutron-api.log
wait_api nova-api 8774 /var/log/nova/nova-api.log
wait_api cinder-api 8776 /var/log/cinder/cinder-api.log

# The other daemons have no port: they booted alongside the APIs; give a late failure a moment, then check each.
sleep 1
for d in neutron-rpc-server nova-conductor nova-scheduler cinder-scheduler cinder-volume; do
	alive "$d" || fail "$d" "/var/log/${d%%-*}/$d.log" "is not running"
done
say "all daemons up"
