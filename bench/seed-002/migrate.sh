#!/usr/bin/env bash
# Seed 002's controller replacement as a LITERAL SEQUENTIAL SCRIPT, for the downtime benchmark (issue 6): one
# command after the other, as an operator following /work/shared/seeds/002_*.txt would type them, on the lab
# (Victoria `old` -> Zed `new`). Run on the jump as root (bench/downtime.ts runs it; or by hand with a lab up and
# new provisioned). It reaches the hosts over SSH with the lab's key and known_hosts; SSH connections are
# multiplexed (ControlMaster), as an operator keeps a session open on each controller.
#
# Output, for the driver: `T <mark> <epoch seconds> <ISO time>` for freeze / switch / verified,
# `S <seconds> <step>` after each step, `B <address> <blackout ms> <replies>` for the switch canary, and
# `F <step>` before a non-zero exit (set -Eeuo pipefail: the first failing command stops the script).
#
# PRECONDITION (checked before the freeze, and not downtime for either side): new is provisioned — the Zed
# packages installed and their services stopped, MariaDB/RabbitMQ/memcached running, every database and service
# user created with old's credentials, the AMQP user created. The benchmark gets there by running handover's own
# provisioning phase and stopping it before its freeze (bench/downtime.ts).
#
# ADAPTATIONS to the seed's commands (each forced by Victoria -> Zed on Debian, or by the lab; also at the spot):
#  A1 freeze: the seed stops nova-api only; here every API unit handover's freeze stops (SEED_FREEZE_UNITS).
#  A2 scp between the controllers: only the jump holds a key, so `scp old:F new:F` is `ssh old cat | ssh new cat`
#     (and `scp -r` a tar pipe) through the jump.
#  A3 passwords: the seed types `mysqldump -u keystone -p<password>`; here root's password is read from the lab's
#     0600 files into a --defaults-extra-file (0600, in a 0700 dir, removed at exit): never on an argv.
#  A4 CREATE DATABASE ... CHARACTER SET utf8: MariaDB 10.11 on new defaults to utf8mb4, old's DBs are utf8 (its
#     my.cnf); tables a Zed migration creates with the DB default could not reference the imported utf8 tables.
#  A5 config copy: old's packaged conffiles nobody edited (dpkg's md5 unchanged) are left out of the backup: they
#     are Victoria's defaults (policy, api-paste, rootwrap) and over Zed's they break it (seen in the lab: nova
#     403; README design notes). Everything the operator changed, and files no package owns, are copied.
#  A6 the seed's glance order (db_sync before copying the config) would sync the database the packaged config
#     names; every service here follows the seed's general methodology: config in place before the schema sync.
#  A7 schema upgrades are the Zed tools' (LAB.md, OPENSTACK.md): keystone db_sync --expand/--migrate/--contract;
#     nova cell_v2 update_cell for cell0 and every cell BEFORE api_db sync and db sync (else the sync upgrades
#     OLD's databases through the stale mappings, seen), then online_data_migrations; glance db_sync; placement
#     db sync (placement split out of nova after the seed); neutron upgrade heads (the seed's stamp/upgrade icehouse
#     is for pre-alembic neutron); cinder db sync + online_data_migrations. Each as the service's user
#     (OPENSTACK.md: root-run keystone-manage killed the keystone API).
#  A8 nova pin: the seed's `[upgrade_levels] compute=icehouse-compat` is `compute = auto` today (OPENSTACK.md),
#     plus `[workarounds] disable_compute_service_check_for_ffu = True`: Zed's conductor and API refuse to start
#     with Victoria computes otherwise (src/plan/KINDS.md decisions).
#  A9 verification before the switch: the copied configs and the keystone catalog name old's moved addresses,
#     whose APIs are frozen. As handover does (net.local-alias), each moved address is put on new's loopback as a
#     /32 with arp_ignore=1/arp_announce=2 (new never answers ARP for it) until the switch: the seed's listings,
#     run on new with old's openrc, then reach new. DB and AMQP URLs point at 127.0.0.1 (the seed's own example).
#  A10 verification commands: the seed's keystone/glance/nova/neutron/cinder CLIs are gone; the `openstack` CLI
#     equivalents (endpoint list, image list, compute service list + server list, network list, volume list),
#     placement's and the dashboard's HTTP root; retried until the just-started API answers (bounded).
#  A11 cinder volumes are files in the lab (no device-mapper, LAB.md): the seed's "same-size volume on new + copy"
#     is a sparse tar copy of the volume files (same apparent sizes). The iSCSI portal address moves with the
#     switch, so (seed) no connection_info change is needed.
#  A12 horizon: the seed's OPENSTACK_HOST and default role (`member` since the `_member_` rename, OPENSTACK.md) are
#     set in new's local_settings.py; ALLOWED_HOSTS and OPENSTACK_KEYSTONE_URL come from old's (Django refuses
#     other Host names; Debian's keystone is on :5000); `service httpd restart` is Debian's apache2.
#  A13 the switch, by hand as LAB.md measured it: `ip addr del` on old, `ip addr add` + Habets' `arping -U -S` on
#     new, per moved address; then the listing again through the moved address, and from a compute: the address
#     answers with new's MAC. Computes run no nova-compute in the lab, so the seed's compute restart is skipped.
#  Not done (as the seed): no upgrade checks, no inventory comparison, no rollback record, no second volume pass.
# shellcheck disable=SC2016,SC2029 # remote scripts are single-quoted on purpose: they expand on the host
set -Eeuo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=${SEED_LAB_DIR:-/run/handover-lab}
KEY=${SEED_SSH_KEY:-$LAB/keys/id_ed25519}
KNOWN_HOSTS=${SEED_KNOWN_HOSTS:-$LAB/known_hosts}
OLD=${SEED_OLD:-198.51.100.3}
NEW=${SEED_NEW:-198.51.100.5}
# A compute for the switch canary and the neighbour check; empty: skipped.
COMPUTE=${SEED_COMPUTE-198.51.100.10}
OLD_MYSQL_PASS_FILE=${SEED_OLD_MYSQL_PASS_FILE:-$LAB/old-mysql.pass}
NEW_MYSQL_PASS_FILE=${SEED_NEW_MYSQL_PASS_FILE:-$LAB/new-mysql.pass}
OLD_OPENRC=${SEED_OLD_OPENRC:-/root/openrc}
# Old's service address (in its DB and AMQP URLs) and the moved addresses: ADDRESS/PREFIX:OLD_IF:NEW_IF.
OLD_SERVICE_ADDRESS=${SEED_OLD_SERVICE_ADDRESS:-198.51.100.4}
MOVES=${SEED_MOVES:-198.51.100.4/24:eth0:eth0 198.18.0.4/24:eth1:eth1}
DB_HOST=${SEED_DB_HOST:-127.0.0.1}
FREEZE_UNITS=${SEED_FREEZE_UNITS:-keystone glance-api placement-api nova-api neutron-api cinder-api}
SERVICES=${SEED_SERVICES:-keystone glance placement nova neutron cinder horizon}
VOLUME_DIR=${SEED_VOLUME_DIR:-/var/lib/cinder/lvm-files/cinder-volumes}
# Units to stop on old right before the switch ("the old controller is turned off"); empty: the seed's
# commands only (old's remaining daemons keep running, unreachable once the addresses have moved).
STOP_OLD_AT_SWITCH=${SEED_STOP_OLD_AT_SWITCH:-}
API_WAIT=${SEED_API_WAIT:-180}
SSH_PORT=${SEED_SSH_PORT:-22}
# SEED_DRY_RUN=1: touch no host; print every remote command and script (to stderr) in the order they would run.
DRY_RUN=${SEED_DRY_RUN:-}

# The seed's order, with placement (split out of nova after the seed) before nova, which needs it.
SEED_ORDER="keystone glance placement nova neutron cinder horizon"

# ------------------------------------------------------------------------------------------------- plumbing
STEP=""
STEP_T0=""
CTL=""
R_OLD=""
R_NEW=""
CANARY_DIR=""

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
end_step() {
	[ -n "$STEP" ] || return 0
	printf 'S %s %s\n' "$(secs "$STEP_T0" "$EPOCHREALTIME")" "$STEP"
	STEP=""
}
step() {
	end_step
	STEP=$1
	STEP_T0=$EPOCHREALTIME
	printf '== %s\n' "$STEP"
}
mark() {
	local t=$EPOCHREALTIME
	printf 'T %s %s %s\n' "$1" "$t" "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%S.%3NZ)"
}
on_err() {
	local rc=$1
	trap - ERR
	# A failing pipeline part runs in a subshell: only the main shell names the step.
	if [ "$BASH_SUBSHELL" -gt 0 ]; then exit "$rc"; fi
	printf 'F %s\n' "${STEP:-setup}"
	echo "migrate.sh: FAILED at step: ${STEP:-setup} (exit $rc, line $2)" >&2
	exit "$rc"
}
trap 'on_err $? $LINENO' ERR

SSH_OPTS=()
on() {
	local h=$1
	shift
	if [ -n "$DRY_RUN" ]; then
		printf '[%s] %s\n' "$h" "$*" >&2
		# A remote script comes on stdin (onr, pipes): show it; a bare command's stdin is the terminal's.
		if [ ! -t 0 ]; then sed 's/^/    | /' >&2; fi
		return 0
	fi
	ssh "${SSH_OPTS[@]}" "root@$h" "$@"
}
rdir() {
	case $1 in
	"$OLD") echo "$R_OLD" ;;
	"$NEW") echo "$R_NEW" ;;
	*) return 1 ;;
	esac
}
# onr HOST [NAME=VALUE...] <<'EOF' ... EOF: a bash script on HOST, read from stdin (no quoting through SSH), with
# the helpers of remote-lib.sh and the given variables (names and addresses only, never a secret) set first.
onr() {
	local h=$1 r kv
	shift
	r=$(rdir "$h")
	{
		printf 'set -Eeuo pipefail\nexport LC_ALL=C\nR=%q\n. "$R/lib.sh"\n' "$r"
		for kv in "$@"; do printf '%s=%q\n' "${kv%%=*}" "${kv#*=}"; done
		cat
	} | on "$h" bash -s
}
# pipe FROM CMD TO CMD: the seed's scp from old to new, through the jump (A2).
pipe() { on "$1" "$2" | on "$3" "$4"; }

cleanup() {
	local rc=$?
	set +e
	trap - ERR
	if [ -n "$CANARY_DIR" ] && [ -n "$COMPUTE" ]; then
		on "$COMPUTE" bash -s -- "$CANARY_DIR" <<<'for p in $(cat "$1/pids" 2>/dev/null); do [ "$(ps -o comm= -p "$p")" = ping ] && kill "$p"; done; rm -rf -- "$1"' >/dev/null 2>&1
	fi
	# Dumps, config backups (they hold passwords), the openrc and the defaults files go with the run dirs.
	[ -n "$R_OLD" ] && on "$OLD" "rm -rf -- $R_OLD" >/dev/null 2>&1
	[ -n "$R_NEW" ] && on "$NEW" "rm -rf -- $R_NEW" >/dev/null 2>&1
	if [ -n "$CTL" ]; then
		for h in "$OLD" "$NEW" $COMPUTE; do ssh "${SSH_OPTS[@]}" -O exit "root@$h" >/dev/null 2>&1; done
		rm -rf -- "$CTL"
	fi
	exit "$rc"
}
trap cleanup EXIT

contains() { case " $1 " in *" $2 "*) return 0 ;; *) return 1 ;; esac; }
dbs_of() {
	case $1 in
	nova) echo "nova_api nova nova_cell0" ;;
	horizon) echo "" ;;
	*) echo "$1" ;;
	esac
}
# Units on new, in the seed's start order (Debian's names, templates/distros.yaml).
units_of() {
	case $1 in
	keystone) echo keystone ;;
	glance) echo glance-api ;;
	placement) echo placement-api ;;
	nova) echo "nova-conductor nova-scheduler nova-api" ;;
	neutron) echo "neutron-api neutron-rpc-server" ;;
	cinder) echo "cinder-api cinder-volume cinder-scheduler" ;;
	horizon) echo apache2 ;;
	esac
}
packages_of() {
	case $1 in
	keystone) echo keystone ;;
	glance) echo glance-api ;;
	placement) echo placement-api ;;
	nova) echo "nova-api nova-conductor nova-scheduler" ;;
	neutron) echo neutron-server ;;
	cinder) echo "cinder-api cinder-scheduler cinder-volume tgt" ;;
	horizon) echo openstack-dashboard-apache ;;
	esac
}
etc_of() { if [ "$1" = horizon ]; then echo openstack-dashboard; else echo "$1"; fi; }
moved_addresses() {
	local m
	for m in $MOVES; do printf '%s ' "${m%%/*}"; done
}
# Option-file quoting (MySQL unescapes \\ and \" inside double quotes).
mycnf() {
	local pw
	pw=$(<"$1")
	pw=${pw//\\/\\\\}
	pw=${pw//\"/\\\"}
	printf '[client]\nuser=root\npassword="%s"\n' "$pw"
}

# ------------------------------------------------------------------------------------------------- setup
step "setup: SSH sessions, private run dirs on old and new"
NEED=("$HERE/remote-lib.sh")
[ -n "$DRY_RUN" ] || NEED+=("$KEY" "$KNOWN_HOSTS" "$OLD_MYSQL_PASS_FILE" "$NEW_MYSQL_PASS_FILE")
for f in "${NEED[@]}"; do
	[ -r "$f" ] || {
		echo "migrate.sh: cannot read $f (is the lab up? run as root)" >&2
		false
	}
done
CTL=$(mktemp -d /tmp/seed002-ssh-XXXXXXXX)
SSH_OPTS=(-i "$KEY" -o Port="$SSH_PORT" -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="$KNOWN_HOSTS"
	-o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o ServerAliveInterval=15
	-o ControlMaster=auto -o ControlPath="$CTL/%h" -o ControlPersist=1800)
SVCS=""
for s in $SEED_ORDER; do if contains "$SERVICES" "$s"; then SVCS="$SVCS $s"; fi; done
ALL_DBS=""
for s in $SVCS; do ALL_DBS="$ALL_DBS $(dbs_of "$s")"; done
# One master connection per host, opened here (outside the timing) and closed at exit.
if [ -z "$DRY_RUN" ]; then
	for h in "$OLD" "$NEW" $COMPUTE; do ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -fN "root@$h"; done
fi
R_OLD=$(on "$OLD" 'umask 077 && mktemp -d /tmp/seed002-XXXXXXXXXX')
R_NEW=$(on "$NEW" 'umask 077 && mktemp -d /tmp/seed002-XXXXXXXXXX')
if [ -n "$DRY_RUN" ]; then
	R_OLD=/tmp/seed002-DRYRUN-OLD R_NEW=/tmp/seed002-DRYRUN-NEW
fi
for h in "$OLD" "$NEW"; do
	r=$(rdir "$h")
	on "$h" "cat > $r/lib.sh && mkdir $r/dumps" <"$HERE/remote-lib.sh"
done
if [ -z "$DRY_RUN" ]; then
	mycnf "$OLD_MYSQL_PASS_FILE" | on "$OLD" "umask 077 && cat > $R_OLD/my.cnf"
	mycnf "$NEW_MYSQL_PASS_FILE" | on "$NEW" "umask 077 && cat > $R_NEW/my.cnf"
fi

step "precondition: old serves its addresses, new is provisioned (installed, stopped, databases and users made)"
onr "$OLD" MOVES="$MOVES" <<'EOF'
my -e 'SELECT 1' >/dev/null
for m in $MOVES; do
	a=${m%%/*} rest=${m#*:}
	ip -o addr show dev "${rest%%:*}" | grep -F " $a/" >/dev/null || { echo "old: $a is not on ${rest%%:*}" >&2; exit 1; }
done
EOF
AMQP_USER=$(on "$OLD" "sed -n 's#^[[:space:]]*transport_url[[:space:]]*=[[:space:]]*rabbit://\\([^:@/]*\\)[:@].*#\\1#p' /etc/nova/nova.conf | head -n 1")
PKGS="mariadb-server rabbitmq-server python3-openstackclient arping"
for s in $SVCS; do PKGS="$PKGS $(packages_of "$s")"; done
USERS=""
for s in $SVCS; do [ "$s" = horizon ] || USERS="$USERS $s"; done
onr "$NEW" PKGS="$PKGS" DBS="$ALL_DBS" USERS="$USERS" AMQP_USER="$AMQP_USER" HORIZON="$(contains "$SVCS" horizon && echo 1)" <<'EOF'
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep '^install ok installed$' >/dev/null ||
		{ echo "new: package $p is not installed" >&2; exit 1; }
done
running=$(pgrep -af -- '--ini /etc/(keystone|glance|placement|nova|neutron|cinder)/|/usr/bin/(nova|neutron|cinder|glance|placement|keystone)-' || true)
if [ -n "$HORIZON" ]; then running="$running$(pgrep -a -x apache2 || true)"; fi
[ -z "$running" ] || { printf 'new: OpenStack services are running (expected: stopped):\n%s\n' "$running" >&2; exit 1; }
have=$(my -N -B -e 'SHOW DATABASES')
for d in $DBS; do grep -qx "$d" <<<"$have" || { echo "new: database $d does not exist" >&2; exit 1; }; done
users=$(my -N -B -e 'SELECT DISTINCT User FROM mysql.user')
for u in $USERS; do grep -qx "$u" <<<"$users" || { echo "new: MySQL user $u does not exist" >&2; exit 1; }; done
if [ -n "$AMQP_USER" ]; then
	rabbitmqctl -q list_users | awk '{ print $1 }' | grep -x "$AMQP_USER" >/dev/null ||
		{ echo "new: RabbitMQ user $AMQP_USER does not exist" >&2; exit 1; }
fi
EOF
echo "precondition holds: services$SVCS; databases$ALL_DBS"
end_step

# ------------------------------------------------------------------------------------------------- freeze
mark freeze
step "freeze: stop old's API services (A1: $FREEZE_UNITS)"
onr "$OLD" UNITS="$FREEZE_UNITS" <<'EOF'
svc stop $UNITS
EOF

# Seed: "create directories for the backup config files ... do the actual backup" (cp -r /etc/$i/* $i-havana/).
ETCS=""
for s in $SVCS; do ETCS="$ETCS $(etc_of "$s")"; done
step "backup of old's configs (seed: cp -r /etc/<svc>/* <svc>-havana/; A5: without untouched packaged defaults)"
onr "$OLD" ETCS="$ETCS" <<'EOF'
B=$R/backup-victoria
mkdir "$B"
for i in $ETCS; do
	mkdir "$B/$i-victoria"
	cp -a "/etc/$i/." "$B/$i-victoria/"
done
# A5: conffiles whose md5 is still the one dpkg recorded at install are Victoria's packaged defaults.
dpkg-query -W -f='${Conffiles}\n' | awk 'length($2) == 32 && $3 != "obsolete" { print $2 "  " $1 }' >"$R/conffiles.md5"
{ md5sum -c "$R/conffiles.md5" 2>/dev/null || true; } | sed -n 's/: OK$//p' >"$R/unmodified"
n=0
for i in $ETCS; do
	while IFS= read -r f; do
		rm -f -- "$B/$i-victoria/${f#/etc/"$i"/}"
		n=$((n + 1))
	done < <(grep "^/etc/$i/" "$R/unmodified" || true)
done
echo "backup: $(find "$B" -type f | wc -l) files; $n untouched packaged defaults left out"
EOF
step "copy the backup and old's admin openrc to new (seed: openrc.havana; A2)"
pipe "$OLD" "tar -C $R_OLD -cf - backup-victoria" "$NEW" "tar -C $R_NEW -xf -"
pipe "$OLD" "cat $OLD_OPENRC" "$NEW" "umask 077 && cat > $R_NEW/openrc.victoria"

if contains "$SVCS" glance; then
	# Seed: "Finally, copy the storage data ... scp -r /var/lib/glance <user>@<icehouse>:/var/lib/" (A2).
	step "glance images: scp -r /var/lib/glance to new"
	pipe "$OLD" "tar -C /var/lib -cf - glance" "$NEW" "tar -C /var/lib -xf - && chown -R glance:glance /var/lib/glance"
fi

step "A9: new answers its own calls to the moved addresses until the switch (loopback /32, no ARP)"
onr "$NEW" ADDRS="$(moved_addresses)" <<'EOF'
sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
for a in $ADDRS; do ip addr replace "$a/32" dev lo; done
EOF

# ------------------------------------------------------------------------------------------------- per service
verify_service() {
	case $1 in
	keystone) onr "$NEW" W="$API_WAIT" <<<'retry "$W" os endpoint list' ;;
	glance) onr "$NEW" W="$API_WAIT" <<<'retry "$W" os image list' ;;
	placement) onr "$NEW" W="$API_WAIT" A="$OLD_SERVICE_ADDRESS" <<<'retry "$W" http_ok "http://$A:8778/"' ;;
	# nova's server list asks neutron for the servers' ports: it answers only once neutron is migrated too
	# (seen: HTTP 500 ConnectFailure when listed right after nova), so it is neutron's verification.
	nova) onr "$NEW" W="$API_WAIT" <<<'retry "$W" os compute service list' ;;
	neutron) onr "$NEW" W="$API_WAIT" <<<'retry "$W" os network list && retry "$W" os server list --all-projects' ;;
	cinder) onr "$NEW" W="$API_WAIT" <<<'retry "$W" os volume list --all-projects' ;;
	horizon)
		onr "$NEW" W="$API_WAIT" A="$OLD_SERVICE_ADDRESS" <<<'retry "$W" http_ok "http://$A/horizon/auth/login/" "http://$A/dashboard/auth/login/" "http://$A/auth/login/"'
		;;
	esac
}

migrate_service() {
	local s=$1 units etc
	units=$(units_of "$s")
	etc=$(etc_of "$s")

	step "$s: mysqldump on old ($(dbs_of "$s"))"
	onr "$OLD" DBS="$(dbs_of "$s")" <<'EOF'
for d in $DBS; do mysqldump --defaults-extra-file="$R/my.cnf" "$d" >"$R/dumps/$d.sql"; done
EOF
	step "$s: copy the dump to new (A2)"
	for d in $(dbs_of "$s"); do
		pipe "$OLD" "cat $R_OLD/dumps/$d.sql" "$NEW" "cat > $R_NEW/dumps/$d.sql"
	done

	if [ "$s" = cinder ] && on "$OLD" "test -d $VOLUME_DIR"; then
		# Seed: "Create a new volume on the target controller in advance ... Transfer the data" (A11).
		step "cinder: volume data to new (A11: sparse copy of the volume files)"
		pipe "$OLD" "tar -C ${VOLUME_DIR%/*} -cSf - ${VOLUME_DIR##*/}" "$NEW" \
			"mkdir -p ${VOLUME_DIR%/*} && tar -C ${VOLUME_DIR%/*} -xSf - && chown -R cinder:cinder $VOLUME_DIR"
	fi

	step "$s: stop it on new"
	onr "$NEW" UNITS="$units" <<<'svc stop-if-running $UNITS'

	step "$s: drop, create and import the database on new (A4)"
	onr "$NEW" DBS="$(dbs_of "$s")" <<'EOF'
for d in $DBS; do
	my -e "DROP DATABASE IF EXISTS \`$d\`; CREATE DATABASE \`$d\` CHARACTER SET utf8 COLLATE utf8_general_ci"
	my "$d" <"$R/dumps/$d.sql"
done
EOF

	if [ "$s" = glance ]; then
		step "glance: convert the seed's tables to utf8"
		onr "$NEW" <<'EOF'
tables=$(my -N -B -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'glance' AND TABLE_NAME IN
	('image_locations', 'image_members', 'image_properties', 'image_tags', 'images', 'migrate_version')")
{
	echo "SET foreign_key_checks = 0;"
	for t in $tables; do echo "ALTER TABLE glance.\`$t\` CONVERT TO CHARACTER SET 'utf8';"; done
	echo "SET foreign_key_checks = 1;"
} | my
EOF
	fi

	step "$s: old's config from the backup, DB/AMQP host set to new's, chown (A5, A9)"
	onr "$NEW" SVC="$s" ETC="$etc" FROM="${OLD_SERVICE_ADDRESS//./\\.}" TO="$DB_HOST" <<'EOF'
cp -rf "$R/backup-victoria/$ETC-victoria/." "/etc/$ETC/"
# The seed: "change the credentials in <svc>.conf to the database and RabbitMQ" — credentials stay old's (new's
# users were made with them), the host becomes new's own.
key='^[[:space:]]*(connection|transport_url)[[:space:]]*='
{ grep -rlE "$key.*@$FROM[:/]" "/etc/$ETC" || true; } | while IFS= read -r f; do
	sed -i -E "/$key/ s#@$FROM([:/])#@$TO\\1#" "$f"
done
if grep -rqE "$key.*@$FROM[:/]" "/etc/$ETC"; then echo "a DB/AMQP URL still names $FROM" >&2; exit 1; fi
if [ "$SVC" = nova ]; then
	# A8 (seed: [upgrade_levels] compute=icehouse-compat). oslo.config merges repeated sections; the last value wins.
	printf '\n[upgrade_levels]\ncompute = auto\n\n[workarounds]\ndisable_compute_service_check_for_ffu = True\n' \
		>>/etc/nova/nova.conf
fi
chown -R "$SVC:$SVC" "/etc/$ETC"
EOF

	step "$s: schema upgrade on new (A7)"
	case $s in
	keystone)
		onr "$NEW" <<'EOF'
quiet as_user keystone keystone-manage db_sync --expand
quiet as_user keystone keystone-manage db_sync --migrate
quiet as_user keystone keystone-manage db_sync --contract
EOF
		;;
	glance) onr "$NEW" <<<'quiet as_user glance glance-manage db_sync' ;;
	placement) onr "$NEW" <<<'quiet as_user placement placement-manage db sync' ;;
	nova)
		onr "$NEW" <<'EOF'
# cell0's URL is nova's [database] URL with nova_cell0 as the database; it holds the password, so it goes into a
# 0600 config file nova can read (never on the argv: `update_cell --database_connection URL` would put it there).
url=$(sed -n '/^\[database\]/,/^\[/ s/^connection[[:space:]]*=[[:space:]]*//p' /etc/nova/nova.conf)
url=${url%%$'\n'*}
[ -n "$url" ] || { echo "nova.conf has no [database] connection" >&2; exit 1; }
d=$(mktemp -d /tmp/seed002-nova-XXXXXXXX)
chown nova "$d"
trap 'rm -rf -- "$d"' EXIT
(umask 077 && printf '[database]\nconnection = %s\n' "$(sed -E 's#/nova([?].*)?$#/nova_cell0\1#' <<<"$url")" >"$d/cell0.conf")
chown nova "$d/cell0.conf"
quiet as_user nova nova-manage --config-file /etc/nova/nova.conf --config-file "$d/cell0.conf" \
	cell_v2 update_cell --cell_uuid 00000000-0000-0000-0000-000000000000 --transport-url none:///
for c in $(my -N -B -e "SELECT uuid FROM nova_api.cell_mappings WHERE uuid <> '00000000-0000-0000-0000-000000000000'"); do
	quiet as_user nova nova-manage cell_v2 update_cell --cell_uuid "$c"
done
quiet as_user nova nova-manage api_db sync
quiet as_user nova nova-manage db sync
EOF
		;;
	neutron)
		onr "$NEW" <<<'quiet as_user neutron neutron-db-manage --config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads'
		;;
	cinder)
		onr "$NEW" <<'EOF'
quiet as_user cinder cinder-manage db sync
repeat_while_1 cinder cinder-manage db online_data_migrations
EOF
		;;
	esac

	step "$s: start it on new ($units)"
	onr "$NEW" UNITS="$units" <<<'svc start $UNITS'
	if [ "$s" = cinder ]; then
		# Seed: "restart cinder and the tgtd daemons on the controller node".
		onr "$NEW" <<<'svc restart tgt'
	fi
	if [ "$s" = nova ]; then
		step "nova: online data migrations"
		onr "$NEW" <<<'repeat_while_1 nova nova-manage db online_data_migrations'
	fi

	step "$s: verify (seed's listing, A10)"
	verify_service "$s"
}

migrate_horizon() {
	step "horizon: stop it on new"
	onr "$NEW" <<<'svc stop-if-running apache2'
	step "horizon: local_settings.py (seed: OPENSTACK_HOST, default role; A12)"
	onr "$NEW" <<'EOF'
python3 - /etc/openstack-dashboard/local_settings.py "$R/backup-victoria/openstack-dashboard-victoria/local_settings.py" <<'PY'
import os, re, sys
new_file, old_file = sys.argv[1], sys.argv[2]
text = open(new_file).read()
old = open(old_file).read() if os.path.exists(old_file) else ""
def put(line, key):
    global text
    pat = re.compile(rf"^{key}\s*=.*$", re.M)
    text = pat.sub(lambda _: line, text, count=1) if pat.search(text) else text.rstrip("\n") + "\n" + line + "\n"
for key in ("OPENSTACK_HOST", "OPENSTACK_KEYSTONE_URL", "ALLOWED_HOSTS"):
    m = re.search(rf"^{key}\s*=.*$", old, re.M)
    if m:
        put(m.group(0), key)
put('OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"', "OPENSTACK_KEYSTONE_DEFAULT_ROLE")
open(new_file, "w").write(text)
PY
EOF
	step "horizon: service httpd restart (Debian: apache2)"
	onr "$NEW" <<<'svc restart apache2'
	step "horizon: verify (the dashboard answers)"
	verify_service horizon
}

for s in $SVCS; do
	if [ "$s" = horizon ]; then migrate_horizon; else migrate_service "$s"; fi
done

# ------------------------------------------------------------------------------------------------- switch
if [ -n "$STOP_OLD_AT_SWITCH" ]; then
	step "old controller off: stop $STOP_OLD_AT_SWITCH"
	onr "$OLD" UNITS="$STOP_OLD_AT_SWITCH" <<<'svc stop $UNITS'
fi

if [ -n "$COMPUTE" ]; then
	step "canary: $COMPUTE pings the moved addresses every 10 ms"
	CANARY_DIR=$(on "$COMPUTE" 'umask 077 && mktemp -d /tmp/seed002-canary-XXXXXXXX')
	[ -z "$DRY_RUN" ] || CANARY_DIR=/tmp/seed002-canary-DRYRUN
	for a in $(moved_addresses); do
		on "$COMPUTE" "nohup ping -D -n -i 0.01 -W 1 -w 900 $a >$CANARY_DIR/$a.log 2>&1 </dev/null & echo \$! >>$CANARY_DIR/pids"
	done
	sleep 1
fi

mark switch
for m in $MOVES; do
	a=${m%%/*}
	rest=${m#*/}
	p=${rest%%:*}
	rest=${rest#*:}
	oif=${rest%%:*}
	nif=${rest#*:}
	step "switch $a: ip addr del on old"
	on "$OLD" "ip addr del $a/$p dev $oif"
	step "switch $a: ip addr add + arping -U on new (A13)"
	# Unsolicited ARP expects no reply: arping's exit status says nothing, so it is not checked.
	on "$NEW" "ip addr del $a/32 dev lo 2>/dev/null; ip addr add $a/$p dev $nif && { arping -q -U -S $a -i $nif -c 3 $a || true; }"
done
mark moved

if [ -n "$COMPUTE" ]; then
	step "canary: stop, blackout = largest gap between replies"
	on "$COMPUTE" bash -s -- "$CANARY_DIR" <<'EOF'
d=$1
for p in $(cat "$d/pids"); do if [ "$(ps -o comm= -p "$p")" = ping ]; then kill "$p"; fi; done
sleep 0.3
for f in "$d"/*.log; do
	a=$(basename "$f" .log)
	awk -v a="$a" '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0; if (n > 0 && t - prev > gap) gap = t - prev; prev = t; n++ }
		END { printf "B %s %.1f %d\n", a, gap * 1000, n }' "$f"
done
rm -rf -- "$d"
EOF
	CANARY_DIR=""
fi

step "verify after the switch: the seed's listing through the moved address"
for s in $SVCS; do verify_service "$s"; done
if [ -n "$COMPUTE" ]; then
	step "verify after the switch: $COMPUTE reaches the moved addresses at new's MAC"
	for m in $MOVES; do
		a=${m%%/*}
		nif=${m##*:}
		mac=$(on "$NEW" "ip -o link show dev $nif" | sed -n 's#.*link/ether \([0-9a-f:]*\).*#\1#p')
		seen=$(on "$COMPUTE" "ping -c 2 -i 0.2 -W 1 $a >/dev/null && ip neigh show to $a")
		if [ -z "$DRY_RUN" ] && ! grep -qi "lladdr $mac" <<<"$seen"; then
			echo "$COMPUTE sees $a as: $seen (new's $nif is $mac)" >&2
			false
		fi
	done
fi
end_step
mark verified
echo "seed 002 script: done"
