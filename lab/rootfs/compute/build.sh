#!/bin/sh
# Configure a compute node of the old (Victoria) cloud: nova and the neutron Open vSwitch agent pointing at the
# old controller's service address, as an operator (or their config management) leaves them.
#
# Run ONCE at cache-build time, chrooted into the installed rootfs, with no network. Every compute host runs
# on this same rootfs, so nothing host-specific is written here: start.sh sets my_ip and the tunnel address
# from the host's own address at `lab up`.
#
# The RabbitMQ and nova/placement/neutron service passwords must equal the old controller's, whose rootfs is
# built separately: both builds derive them from the same fixed lab label (see lab/rootfs/old/build.sh).
set -eu

MGMT=${LAB_OLD_MGMT:-198.51.100.4}
REGION=regionOne
shared_pw() { printf 'handover-lab/shared/%s' "$1" | sha256sum | cut -c1-24; }
RABBIT_PASS=$(shared_pw rabbit-openstack)
NOVA_PASS=$(shared_pw nova)
PLACEMENT_PASS=$(shared_pw placement)
NEUTRON_PASS=$(shared_pw neutron)

echo "[build compute] configuring nova and neutron for the controller at $MGMT"

# crudini --merge sets each key in its section of the packaged file (comments kept), one process per file.
crudini --merge /etc/nova/nova.conf <<INI
[DEFAULT]
transport_url = rabbit://openstack:$RABBIT_PASS@$MGMT:5672/
[api]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = http://$MGMT:5000
auth_url = http://$MGMT:5000
memcached_servers = $MGMT:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = $NOVA_PASS
region_name = $REGION
[service_user]
send_service_user_token = true
auth_type = password
auth_url = http://$MGMT:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = $NOVA_PASS
[glance]
api_servers = http://$MGMT:9292
[placement]
auth_type = password
auth_url = http://$MGMT:5000/v3
project_name = service
username = placement
password = $PLACEMENT_PASS
region_name = $REGION
[neutron]
auth_url = http://$MGMT:5000
project_name = service
username = neutron
password = $NEUTRON_PASS
region_name = $REGION
[cinder]
os_region_name = $REGION
[vnc]
enabled = true
server_listen = 0.0.0.0
server_proxyclient_address = \$my_ip
novncproxy_base_url = http://$MGMT:6080/vnc_auto.html
[spice]
enabled = false
[libvirt]
virt_type = qemu
INI
# Computes reach the databases only through nova-conductor: no DB URL on a compute node.
crudini --del /etc/nova/nova.conf database connection

crudini --merge /etc/neutron/neutron.conf <<INI
[DEFAULT]
transport_url = rabbit://openstack:$RABBIT_PASS@$MGMT:5672/
INI
crudini --del /etc/neutron/neutron.conf database connection

crudini --merge /etc/neutron/plugins/ml2/openvswitch_agent.ini <<INI
[agent]
tunnel_types = vxlan
l2_population = true
[securitygroup]
firewall_driver = iptables_hybrid
INI

mkdir -p /var/lib/nova/instances
chown nova:nova /var/lib/nova/instances
echo "[build compute] done"
