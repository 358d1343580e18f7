#!/bin/sh
# At `lab up`, inside a compute host: set the host-specific addresses in its configs (nova my_ip, the Open
# vSwitch agent's tunnel address), as config management would on each node. No daemon runs here besides sshd
# (started by the lab): there is no hypervisor, and the computes' service rows live in the old controller's DB.
# Env: LAB_HOST (else the hostname), LAB_COMPUTE<N>_MGMT for that name (compute<N>); falls back to eth0's first
# IPv4 address.
set -eu

mkdir -p /run/lock && chmod 1777 /run/lock
name=${LAB_HOST:-$(hostname)}
var="LAB_$(echo "$name" | tr 'a-z-' 'A-Z_')_MGMT"
eval "ip_addr=\${$var:-}"
if [ -z "$ip_addr" ]; then
	ip_addr=$(ip -4 -o addr show dev eth0 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
fi
if [ -z "$ip_addr" ]; then
	echo "start.sh (compute): no address for $name (no $var, no IPv4 on eth0)" >&2
	exit 1
fi
if [ "$(crudini --get /etc/nova/nova.conf DEFAULT my_ip 2>/dev/null)" != "$ip_addr" ]; then
	crudini --set /etc/nova/nova.conf DEFAULT my_ip "$ip_addr"
	crudini --set /etc/neutron/plugins/ml2/openvswitch_agent.ini ovs local_ip "$ip_addr"
fi
echo "[start $name] my_ip and tunnel address: $ip_addr"
