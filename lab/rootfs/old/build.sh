#!/bin/sh
# Seed the old controller: a Debian 11 OpenStack Victoria controller as an operator would have left it.
#
# Run ONCE at cache-build time by the lab infrastructure (lab/rootfs-cache.ts), chrooted into the freshly
# installed rootfs, in a network namespace with only `lo`, as PID 1 of a fresh PID namespace. Everything it
# starts it stops again: the resulting tree (configs, /var/lib/mysql, /var/lib/glance, /var/lib/cinder) is the
# seeded snapshot every `lab up` starts from.
#
# What it does, in order (each step uses the services' own tools or APIs; SQL only where no API exists):
#   1. MariaDB (root password, one database + user per service), RabbitMQ user, memcached.
#   2. Configs: the packaged files, edited in place (crudini) for DB URLs, transport_url, keystone_authtoken...
#   3. Schemas: keystone-manage db_sync/fernet_setup/credential_setup/bootstrap, glance-manage db_sync,
#      placement-manage db sync, nova-manage api_db sync/cell_v2 map_cell0/db sync/cell_v2 create_cell,
#      neutron-db-manage upgrade heads, cinder-manage db sync; each as the service's own user.
#   4. Data through the real APIs on loopback (keystone, glance, placement, neutron, nova-api), then the rows no
#      API can create without hypervisors or storage (instances, BDMs, compute nodes, volumes) through the
#      services' own Python object layers (seed/seed_nova.py, seed/seed_cinder.py).
#   5. Stop every daemon cleanly.
#
# Env (from the lab infra): LAB_OLD_MGMT, LAB_OLD_STORAGE, LAB_COMPUTES (count N => compute1..N, or a list of
# names), LAB_MYSQL_ROOT_PASSWORD (optional: generated if absent). Output: /root/lab-mysql-root.pass,
# /root/.my.cnf, /root/openrc, /root/lab-seed.json (what was seeded, for tests and the answers file).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
MGMT=${LAB_OLD_MGMT:-198.51.100.4}
STORAGE=${LAB_OLD_STORAGE:-198.18.0.4}
OLD_HOSTNAME=old

# Services record the host they run on (nova-api registers a nova-osapi_compute service row, for one): seed
# under the lab host's name, not the build machine's. unshare without --fork keeps this process (PID 1).
if [ "$(hostname)" != "$OLD_HOSTNAME" ] && [ -z "${LAB_BUILD_UTS:-}" ]; then
	exec env LAB_BUILD_UTS=1 unshare --uts sh -c 'hostname "$1" && exec /bin/sh "$2"' sh "$OLD_HOSTNAME" "$0"
fi
grep -q "[[:space:]]$OLD_HOSTNAME\$" /etc/hosts || printf '127.0.1.1\t%s\n' "$OLD_HOSTNAME" >>/etc/hosts
REGION=regionOne
T0=$(date +%s)
STARTED=""

log() { echo "[build old +$(($(date +%s) - T0))s] $*"; }
die() {
	echo "[build old] FAILED: $*" >&2
	stop_all || true
	exit 1
}
pw() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
# ini FILE SECTION KEY VALUE: queue an edit; ini_apply makes them with one `crudini --merge` per file (crudini
# sets a key in its section, after the commented default block; ~100 separate calls would cost ~30 s).
ini() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>/tmp/ini-edits.tsv; }
ini_apply() {
	python3 - /tmp/ini-edits.tsv <<'PY'
import subprocess, sys
edits = {}
for line in open(sys.argv[1]):
    f, sec, key, val = line.rstrip("\n").split("\t", 3)
    edits.setdefault(f, {}).setdefault(sec, []).append((key, val))
for f, secs in edits.items():
    text = "".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in kv) for s, kv in secs.items())
    subprocess.run(["crudini", "--merge", f], input=text, text=True, check=True)
PY
	rm -f /tmp/ini-edits.tsv
}
as() {
	u=$1
	shift
	su -s /bin/sh -c "$*" "$u"
}

# Compute host names: LAB_COMPUTES is either a count ("2") or a list ("compute1 compute2").
computes() {
	c=${LAB_COMPUTES:-1}
	case $c in
	*[!0-9]*) echo "$c" ;;
	*)
		i=1
		while [ "$i" -le "$c" ]; do
			printf 'compute%s ' "$i"
			i=$((i + 1))
		done
		;;
	esac
}

start_svc() {
	service "$1" start >/dev/null || die "service $1 start failed"
	STARTED="$1 $STARTED"
}

# Stop in reverse start order; every init script here waits for its daemon to exit.
stop_all() {
	for s in $STARTED; do
		service "$s" stop >/dev/null 2>&1 || echo "warning: service $s stop failed" >&2
	done
	STARTED=""
	epmd -kill >/dev/null 2>&1 || true
}

# wait_http NAME URL LOG: poll until the API answers (any HTTP status), at most 90 s.
wait_http() {
	i=0
	until curl -s -o /dev/null -m 2 "$2"; do
		i=$((i + 1))
		if [ $i -ge 180 ]; then
			tail -n 30 "$3" >&2 || true
			die "$1 did not answer on $2 within 90 s (log: $3)"
		fi
		sleep 0.5
	done
	log "$1 answers on $2"
}

# run_bg NAME CMD...: background job whose exit code is collected by wait_all.
JOBS=""
run_bg() {
	name=$1
	shift
	("$@" >"/tmp/job-$name.log" 2>&1; echo $? >"/tmp/job-$name.rc") &
	JOBS="$JOBS $name"
}
wait_all() {
	wait
	for j in $JOBS; do
		rc=$(cat "/tmp/job-$j.rc" 2>/dev/null || echo 99)
		if [ "$rc" != 0 ]; then
			tail -n 40 "/tmp/job-$j.log" >&2
			die "$j exited $rc"
		fi
	done
	JOBS=""
}

# /var/lock -> /run/lock, and /run is a fresh tmpfs: the services' lock_path (/var/lock/<svc>) needs it.
mkdir -p /run/lock && chmod 1777 /run/lock

log "seeding the Victoria controller (mgmt $MGMT, storage $STORAGE, computes: $(computes))"

# The service address does not exist in this throwaway namespace; put it on lo so that endpoints, DB URLs
# and transport URLs naming it resolve while seeding. The namespace and this address die with the build.
ip addr add "$MGMT/32" dev lo 2>/dev/null || true
ip addr add "$STORAGE/32" dev lo 2>/dev/null || true

# ---------------------------------------------------------------------------------------------------------
# 1. Secrets. Operators keep service passwords in the services' configs; the MySQL root password also goes to
#    /root/.my.cnf and, for the lab's answers file, /root/lab-mysql-root.pass.
#    The compute hosts' configs must carry the same RabbitMQ and nova/placement/neutron service passwords, but
#    their rootfs is built separately: those few are derived from a fixed lab label (lab/rootfs/compute/build.sh
#    derives the same ones); every other secret is random per build.
ROOT_DB_PASS=${LAB_MYSQL_ROOT_PASSWORD:-$(pw)}
ADMIN_PASS=$(pw)
METADATA_SECRET=$(pw)
for s in keystone glance placement nova neutron cinder; do
	eval "DB_$s=\$(pw)"
	eval "SVC_$s=\$(pw)"
done
shared_pw() { printf 'handover-lab/shared/%s' "$1" | sha256sum | cut -c1-24; }
RABBIT_PASS=$(shared_pw rabbit-openstack)
SVC_nova=$(shared_pw nova)
SVC_placement=$(shared_pw placement)
SVC_neutron=$(shared_pw neutron)

umask 077
printf '%s\n' "$ROOT_DB_PASS" >/root/lab-mysql-root.pass
printf '[client]\nuser = root\npassword = %s\n' "$ROOT_DB_PASS" >/root/.my.cnf
umask 022

# ---------------------------------------------------------------------------------------------------------
# 2. MariaDB, RabbitMQ, memcached.
cat >/etc/mysql/mariadb.conf.d/99-openstack.cnf <<EOF
# OpenStack controller settings (install guide), plus a small footprint for the lab machine.
[mysqld]
bind-address = 0.0.0.0
default-storage-engine = innodb
innodb_file_per_table = on
max_connections = 4096
collation-server = utf8_general_ci
character-set-server = utf8
# lab: several controllers share one small machine
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = off
EOF

# RabbitMQ names its node after the host; pin it so the users created here survive the lab's hostname.
sed -i 's/^#NODENAME=rabbit$/NODENAME=rabbit@localhost/' /etc/rabbitmq/rabbitmq-env.conf
grep -q '^NODENAME=rabbit@localhost' /etc/rabbitmq/rabbitmq-env.conf ||
	echo 'NODENAME=rabbit@localhost' >>/etc/rabbitmq/rabbitmq-env.conf

sed -i 's/^-l 127.0.0.1$/-l 0.0.0.0/' /etc/memcached.conf
# RabbitMQ 3.8 preallocates its quorum-queue WAL at the maximum size (512 MB) at every start: cap it (the
# OpenStack services use classic queues only).
printf '# lab: small quorum WAL (see build.sh)\nraft.wal_max_size_bytes = 8388608\n' >>/etc/rabbitmq/rabbitmq.conf

log "starting mariadb, rabbitmq-server, memcached"
start_svc mariadb
start_svc memcached
# RabbitMQ takes ~6 s to boot: let it start while the schemas are created.
run_bg rabbitmq service rabbitmq-server start

mysql -uroot <<EOF
ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$ROOT_DB_PASS');
DELETE FROM mysql.global_priv WHERE User='';
DROP DATABASE IF EXISTS test;
CREATE DATABASE keystone;
CREATE DATABASE glance;
CREATE DATABASE placement;
CREATE DATABASE nova_api;
CREATE DATABASE nova;
CREATE DATABASE nova_cell0;
CREATE DATABASE neutron;
CREATE DATABASE cinder;
EOF
grant() { # grant USER PASS DB...
	u=$1 p=$2
	shift 2
	for h in localhost %; do
		echo "CREATE USER IF NOT EXISTS '$u'@'$h' IDENTIFIED BY '$p';"
		for d in "$@"; do echo "GRANT ALL PRIVILEGES ON $d.* TO '$u'@'$h';"; done
	done
}
{
	grant keystone "$DB_keystone" keystone
	grant glance "$DB_glance" glance
	grant placement "$DB_placement" placement
	grant nova "$DB_nova" nova_api nova nova_cell0
	grant neutron "$DB_neutron" neutron
	grant cinder "$DB_cinder" cinder
	echo "FLUSH PRIVILEGES;"
} | mysql -uroot

db() { echo "mysql+pymysql://$1:$2@$MGMT/$3"; }
TRANSPORT="rabbit://openstack:$RABBIT_PASS@$MGMT:5672/"
MEMCACHED="$MGMT:11211"

# keystone_authtoken as every service has it (the Debian files already name the user and project).
authtoken() { # authtoken FILE USER PASS
	ini "$1" keystone_authtoken www_authenticate_uri "http://$MGMT:5000"
	ini "$1" keystone_authtoken auth_url "http://$MGMT:5000"
	ini "$1" keystone_authtoken memcached_servers "$MEMCACHED"
	ini "$1" keystone_authtoken auth_type password
	ini "$1" keystone_authtoken project_domain_name Default
	ini "$1" keystone_authtoken user_domain_name Default
	ini "$1" keystone_authtoken project_name service
	ini "$1" keystone_authtoken username "$2"
	ini "$1" keystone_authtoken password "$3"
	ini "$1" keystone_authtoken region_name "$REGION"
}

# uwsgi worker counts: the packages default to 4-8 processes x 32 threads per API; an operator of a small
# controller turns them down (and the lab machine has 2 cores).
uwsgi_procs() { sed -i "s/^processes = .*/processes = $2/" "$1"; }

log "writing configs"
# --- keystone
ini /etc/keystone/keystone.conf database connection "$(db keystone "$DB_keystone" keystone)"
ini /etc/keystone/keystone.conf token provider fernet
ini /etc/keystone/keystone.conf cache enabled true
ini /etc/keystone/keystone.conf cache backend dogpile.cache.memcached
ini /etc/keystone/keystone.conf cache memcache_servers "$MEMCACHED"
uwsgi_procs /etc/keystone/keystone-uwsgi.ini 2

# --- glance
G=/etc/glance/glance-api.conf
ini $G database connection "$(db glance "$DB_glance" glance)"
authtoken $G glance "$SVC_glance"
ini $G paste_deploy flavor keystone
ini $G glance_store stores file,http
ini $G glance_store default_store file
ini $G glance_store filesystem_store_datadir /var/lib/glance/images/
ini $G oslo_messaging_notifications driver noop
uwsgi_procs /etc/glance/glance-api-uwsgi.ini 1

# --- placement
P=/etc/placement/placement.conf
ini $P placement_database connection "$(db placement "$DB_placement" placement)"
ini $P api auth_strategy keystone
authtoken $P placement "$SVC_placement"
uwsgi_procs /etc/placement/placement-api-uwsgi.ini 1

# --- nova
N=/etc/nova/nova.conf
ini $N DEFAULT my_ip "$MGMT"
ini $N DEFAULT transport_url "$TRANSPORT"
ini $N DEFAULT enabled_apis osapi_compute,metadata
ini $N api auth_strategy keystone
ini $N api_database connection "$(db nova "$DB_nova" nova_api)"
ini $N database connection "$(db nova "$DB_nova" nova)"
authtoken $N nova "$SVC_nova"
ini $N glance api_servers "http://$MGMT:9292"
ini $N placement auth_type password
ini $N placement auth_url "http://$MGMT:5000/v3"
ini $N placement project_name service
ini $N placement username placement
ini $N placement password "$SVC_placement"
ini $N placement region_name "$REGION"
ini $N neutron auth_url "http://$MGMT:5000"
ini $N neutron project_name service
ini $N neutron username neutron
ini $N neutron password "$SVC_neutron"
ini $N neutron region_name "$REGION"
ini $N neutron metadata_proxy_shared_secret "$METADATA_SECRET"
ini $N cinder os_region_name "$REGION"
ini $N service_user send_service_user_token true
ini $N service_user auth_type password
ini $N service_user auth_url "http://$MGMT:5000/v3"
ini $N service_user project_domain_name Default
ini $N service_user user_domain_name Default
ini $N service_user project_name service
ini $N service_user username nova
ini $N service_user password "$SVC_nova"
ini $N vnc enabled true
ini $N vnc server_listen '$my_ip'
ini $N vnc server_proxyclient_address '$my_ip'
ini $N spice enabled false
ini $N scheduler discover_hosts_in_cells_interval 300
ini $N cache enabled true
ini $N cache backend oslo_cache.memcache_pool
ini $N cache memcache_servers "$MEMCACHED"
uwsgi_procs /etc/nova/nova-api-uwsgi.ini 1
uwsgi_procs /etc/nova/nova-api-metadata-uwsgi.ini 1

# --- neutron (ML2 + Open vSwitch agents on the computes, vxlan tenant networks, flat external)
Q=/etc/neutron/neutron.conf
ini $Q DEFAULT transport_url "$TRANSPORT"
ini $Q DEFAULT bind_host 0.0.0.0
ini $Q DEFAULT dhcp_agents_per_network 1
# neutron-status warns until the worker counts are set explicitly (their defaults changed in Victoria).
ini $Q DEFAULT api_workers 1
ini $Q DEFAULT rpc_workers 1
ini $Q database connection "$(db neutron "$DB_neutron" neutron)"
authtoken $Q neutron "$SVC_neutron"
ini $Q nova auth_url "http://$MGMT:5000"
ini $Q nova project_name service
ini $Q nova username nova
ini $Q nova password "$SVC_nova"
ini $Q nova region_name "$REGION"
ini /etc/neutron/plugins/ml2/ml2_conf.ini ml2_type_flat flat_networks external
ini /etc/neutron/plugins/ml2/openvswitch_agent.ini ovs bridge_mappings external:br-ex
ini /etc/neutron/plugins/ml2/openvswitch_agent.ini ovs local_ip "$MGMT"
ini /etc/neutron/plugins/ml2/openvswitch_agent.ini agent tunnel_types vxlan
ini /etc/neutron/plugins/ml2/openvswitch_agent.ini agent l2_population true
uwsgi_procs /etc/neutron/neutron-api-uwsgi.ini 1

# --- cinder: the reference LVM/tgt backend. This kernel has no device-mapper, so the lab keeps each
# "logical volume" as a file at /var/lib/cinder/lvm-files/cinder-volumes/volume-<id> (the stand-in for
# /dev/cinder-volumes/volume-<id>); tgtd exports those files, and /var/lib/cinder/volumes/ holds the tgt target
# files cinder writes for attached volumes, exactly as on a real LVM controller.
C=/etc/cinder/cinder.conf
ini $C DEFAULT my_ip "$MGMT"
ini $C DEFAULT transport_url "$TRANSPORT"
ini $C DEFAULT glance_api_servers "http://$MGMT:9292"
ini $C DEFAULT enabled_backends lvm
ini $C DEFAULT default_volume_type lvm
ini $C database connection "$(db cinder "$DB_cinder" cinder)"
authtoken $C cinder "$SVC_cinder"
ini $C lvm volume_driver cinder.volume.drivers.lvm.LVMVolumeDriver
ini $C lvm volume_group cinder-volumes
ini $C lvm volume_backend_name lvm
ini $C lvm target_ip_address "$STORAGE"
ini $C lvm target_port 3260
ini $C lvm volumes_dir /var/lib/cinder/volumes
ini $C nova auth_type password
ini $C nova auth_url "http://$MGMT:5000"
ini $C nova project_name service
ini $C nova project_domain_name Default
ini $C nova user_domain_name Default
ini $C nova username nova
ini $C nova password "$SVC_nova"
ini $C nova region_name "$REGION"
uwsgi_procs /etc/cinder/cinder-api-uwsgi.ini 1

ini_apply

# --- horizon
H=/etc/openstack-dashboard/local_settings.py
sed -i "s/^OPENSTACK_HOST = .*/OPENSTACK_HOST = \"$MGMT\"/" $H
sed -i 's|^OPENSTACK_KEYSTONE_URL = .*|OPENSTACK_KEYSTONE_URL = "http://%s:5000/v3" % OPENSTACK_HOST|' $H
# As an operator serving the dashboard would have it: the API address among the allowed Host names.
sed -i "s/^ALLOWED_HOSTS = .*/ALLOWED_HOSTS = ['localhost', '$MGMT']/" $H
grep -q '^OPENSTACK_KEYSTONE_DEFAULT_ROLE' $H || echo 'OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"' >>$H

# ---------------------------------------------------------------------------------------------------------
# 3. Schemas, with each service's own tool as its own user. Independent services run concurrently
#    (Python start-up dominates). keystone first: bootstrap needs its schema.
log "db syncs"
run_bg keystone sh -c "su -s /bin/sh -c 'keystone-manage db_sync' keystone &&
	keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone &&
	keystone-manage credential_setup --keystone-user keystone --keystone-group keystone"
run_bg glance su -s /bin/sh -c 'glance-manage db_sync' glance
run_bg placement su -s /bin/sh -c 'placement-manage db sync' placement
run_bg nova su -s /bin/sh -c "nova-manage api_db sync && nova-manage cell_v2 map_cell0 \
	--database_connection $(db nova "$DB_nova" nova_cell0) && nova-manage db sync &&
	nova-manage cell_v2 create_cell --name=cell1 --verbose" nova
run_bg neutron su -s /bin/sh -c 'neutron-db-manage --config-file /etc/neutron/neutron.conf \
	--config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads' neutron
run_bg cinder su -s /bin/sh -c 'cinder-manage db sync' cinder
wait_all
STARTED="rabbitmq-server $STARTED"
log "schemas done"

rabbitmqctl add_user openstack "$RABBIT_PASS" >/dev/null
rabbitmqctl set_permissions openstack '.*' '.*' '.*' >/dev/null

as keystone "keystone-manage bootstrap --bootstrap-password '$ADMIN_PASS' \
	--bootstrap-admin-url http://$MGMT:5000/v3/ --bootstrap-internal-url http://$MGMT:5000/v3/ \
	--bootstrap-public-url http://$MGMT:5000/v3/ --bootstrap-region-id $REGION" ||
	die "keystone-manage bootstrap"

cat >/root/openrc <<EOF
export OS_PROJECT_DOMAIN_NAME=Default
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_NAME=admin
export OS_USERNAME=admin
export OS_PASSWORD=$ADMIN_PASS
export OS_AUTH_URL=http://$MGMT:5000/v3
export OS_IDENTITY_API_VERSION=3
export OS_IMAGE_API_VERSION=2
export OS_REGION_NAME=$REGION
EOF
chmod 0600 /root/openrc

# ---------------------------------------------------------------------------------------------------------
# 4. Data through the APIs.
start_svc keystone
wait_http keystone "http://$MGMT:5000/v3" /var/log/keystone/keystone.log

export SEED_MGMT="$MGMT" SEED_STORAGE="$STORAGE" SEED_REGION="$REGION" SEED_COMPUTES="$(computes)"
# The seed steps share a JSON state file; some run as nova or cinder, so it is world-writable until the end.
export SEED_OLD_HOSTNAME="$OLD_HOSTNAME" SEED_STATE=/var/tmp/lab-seed.json
export SEED_SVC_PASSWORDS="glance=$SVC_glance placement=$SVC_placement nova=$SVC_nova neutron=$SVC_neutron cinder=$SVC_cinder"
# shellcheck disable=SC1091
. /root/openrc
log "keystone: projects, users, roles, services, endpoints"
python3 "$HERE/seed/seed_keystone.py" || die "seed_keystone.py"
chmod 0666 /var/tmp/lab-seed.json
unset SEED_SVC_PASSWORDS

start_svc glance-api
start_svc placement-api
start_svc neutron-api
start_svc nova-api
wait_http glance-api "http://$MGMT:9292/" /var/log/glance/glance-api.log
wait_http placement-api "http://$MGMT:8778/" /var/log/placement/placement-api.log
wait_http neutron-api "http://$MGMT:9696/" /var/log/neutron/neutron-api.log
wait_http nova-api "http://$MGMT:8774/" /var/log/nova/nova-api.log

log "compute services, agents, images, networks, flavors"
as nova "python3 $HERE/seed/seed_nova.py services" || die "seed_nova.py services"
python3 "$HERE/seed/seed_apis.py" || die "seed_apis.py"
log "instances and block device mappings"
as nova "python3 $HERE/seed/seed_nova.py instances" || die "seed_nova.py instances"
as nova "nova-manage cell_v2 discover_hosts --verbose" || die "nova-manage cell_v2 discover_hosts"
log "volumes and attachments"
as cinder "python3 $HERE/seed/seed_cinder.py" || die "seed_cinder.py"
python3 "$HERE/seed/seed_apis.py" allocations || die "seed_apis.py allocations"

# ---------------------------------------------------------------------------------------------------------
# 5. Stop everything; nothing may outlive the build.
log "stopping daemons"
stop_all
# Nothing may outlive the build (a MariaDB killed with its namespace would leave a crashed datadir).
sleep 1
ps -eo pid=,args= >/tmp/ps-after-stop # (no command substitution: its subshell would list itself)
if awk -v me=$$ '$1 != me && $2 != "ps" { found = 1; print } END { exit !found }' /tmp/ps-after-stop >&2; then
	die "processes still running after stopping the daemons"
fi
install -m 0600 /var/tmp/lab-seed.json /root/lab-seed.json && rm -f /var/tmp/lab-seed.json
ip addr del "$MGMT/32" dev lo 2>/dev/null || true
ip addr del "$STORAGE/32" dev lo 2>/dev/null || true
# Logs of the build are not an operator's history: keep the files (owned right) but empty.
find /var/log/keystone /var/log/glance /var/log/placement /var/log/nova /var/log/neutron /var/log/cinder \
	-type f -exec truncate -s 0 {} +
log "done: $(du -sh /var/lib/mysql | cut -f1) MariaDB, $(du -sh /var/lib/glance/images | cut -f1) images, $(du -sh --apparent-size /var/lib/cinder/lvm-files | cut -f1) volumes (apparent)"
