"""Seed glance, neutron, nova (flavors, keypairs) and placement through their real APIs, running on the
build's loopback, as admin (OS_* from /root/openrc). Also decides the instance and volume plan (uuids, ports,
the iSCSI connection of the in-use volume) that seed_nova.py and seed_cinder.py turn into rows.

  seed_apis.py               agents rows (SQL: only agents write them), images, networks, routers, ports,
                             floating IPs, flavors, keypairs, resource providers; writes the plan.
  seed_apis.py allocations   placement allocations of the seeded instances (after seed_nova.py instances).

Env: OS_*, SEED_STATE, SEED_MGMT, SEED_STORAGE, SEED_COMPUTES, SEED_REGION.
"""
import hashlib
import io
import json
import os
import random
import secrets
import subprocess
import sys
import uuid

import pymysql
from glanceclient import Client as GlanceClient
from neutronclient.v2_0 import client as neutron_client
from novaclient import client as nova_client
from labsession import admin_session

STATE = os.environ["SEED_STATE"]
STORAGE = os.environ["SEED_STORAGE"]
COMPUTES = os.environ["SEED_COMPUTES"].split()
REGION = os.environ["SEED_REGION"]

with open(STATE) as f:
    state = json.load(f)

sess = admin_session()
P = state["projects"]
U = state["users"]


def placement(method, path, body=None, microversion="1.36"):
    resp = sess.request(
        path, method, json=body, raise_exc=True,
        endpoint_filter={"service_type": "placement", "interface": "public", "region_name": REGION},
        headers={"OpenStack-API-Version": f"placement {microversion}"},
    )
    return resp.json() if resp.content else None


def sql():
    return pymysql.connect(read_default_file="/root/.my.cnf", unix_socket="/run/mysqld/mysqld.sock",
                           autocommit=True)


def agents():
    """Open vSwitch agent rows for each compute, as their agents' first report_state creates them, with a
    fresh heartbeat so that ML2 binds the seeded ports (vif_type ovs) like in a live cloud."""
    db = sql()
    cur = db.cursor()
    if True:
        for n, host in enumerate(COMPUTES):
            conf = {
                "arp_responder_enabled": False, "bridge_mappings": {}, "datapath_type": "system",
                "devices": 0, "enable_distributed_routing": False, "extensions": [], "in_distributed_mode": False,
                "integration_bridge": "br-int", "l2_population": True, "log_agent_heartbeats": False,
                "ovs_capabilities": {"datapath_types": ["netdev", "system"], "iface_types": [
                    "erspan", "geneve", "gre", "internal", "ip6erspan", "ip6gre", "lisp", "patch", "stt", "system",
                    "tap", "vxlan"]},
                "ovs_hybrid_plug": True, "resource_provider_bandwidths": {}, "resource_provider_hypervisors": {},
                "resource_provider_inventory_defaults": {"allocation_ratio": 1.0, "min_unit": 1, "step_size": 1,
                                                         "reserved": 0},
                "tunnel_types": ["vxlan"], "tunneling_ip": state["computes"][host]["host_ip"],
                "vhostuser_socket_dir": "/var/run/openvswitch",
            }
            cur.execute(
                "INSERT INTO neutron.agents (id, agent_type, `binary`, topic, host, admin_state_up, created_at,"
                " started_at, heartbeat_timestamp, configurations, `load`, availability_zone, resource_versions,"
                " resources_synced) VALUES (%s, 'Open vSwitch agent', 'neutron-openvswitch-agent', 'N/A', %s, 1,"
                " UTC_TIMESTAMP() - INTERVAL 30 DAY, UTC_TIMESTAMP() - INTERVAL 2 DAY, UTC_TIMESTAMP(), %s, 0,"
                " NULL, %s, NULL)",
                (str(uuid.uuid4()), host, json.dumps(conf), json.dumps({
                    "Port": "1.5", "SecurityGroup": "1.2", "SecurityGroupRule": "1.0", "SubPort": "1.0",
                    "Trunk": "1.1", "Network": "1.1", "Subnet": "1.1", "AddressGroup": "1.0", "Log": "1.0"})))
    db.close()


# Images: name, disk_format, file size in KiB, virtual size in GiB (qcow2), visibility, owner project, properties
IMAGES = [
    ("cirros-0.5.2-x86_64", "qcow2", 1536, 1, "public", "admin",
     {"os_distro": "cirros", "os_version": "0.5.2", "hw_disk_bus": "virtio", "hw_vif_model": "virtio"}),
    ("debian-10-genericcloud-amd64", "qcow2", 3072, 2, "public", "admin",
     {"os_distro": "debian", "os_version": "10", "hw_qemu_guest_agent": "yes"}),
    ("ubuntu-20.04-server-cloudimg-amd64", "raw", 4096, 0, "public", "admin",
     {"os_distro": "ubuntu", "os_version": "20.04", "hw_scsi_model": "virtio-scsi", "hw_disk_bus": "scsi"}),
    ("web-shop-golden-2021-03", "qcow2", 2048, 10, "shared", "web-shop",
     {"os_distro": "debian", "os_version": "10", "owner_specified.openstack.object": "images/web-shop-golden"}),
]


def disk_image(rnd, fmt, size, vsize):
    """File content: for qcow2 a valid version-3 header (glance reads the virtual size from it at upload)
    followed by pseudo-random clusters; for raw just pseudo-random bytes."""
    if fmt != "qcow2":
        return rnd.randbytes(size)
    header = b"QFI\xfb" + (3).to_bytes(4, "big") + bytes(8) + bytes(4) + (16).to_bytes(4, "big") \
        + vsize.to_bytes(8, "big") + bytes(4) + (2).to_bytes(4, "big") + (0x30000).to_bytes(8, "big") \
        + (0x10000).to_bytes(8, "big") + (1).to_bytes(4, "big") + bytes(4) + bytes(8) + bytes(8) + bytes(8) \
        + bytes(8) + (4).to_bytes(4, "big") + (104).to_bytes(4, "big")
    return header.ljust(0x40000, b"\0") + rnd.randbytes(size - 0x40000)


def images():
    glance = GlanceClient("2", session=sess)
    rnd = random.Random(20210301)  # reproducible content, so sizes and hashes are stable across builds
    out = {}
    for name, fmt, kib, vsize_gib, visibility, owner, props in IMAGES:
        data = disk_image(rnd, fmt, kib * 1024, vsize_gib << 30)
        img = glance.images.create(name=name, disk_format=fmt, container_format="bare", visibility=visibility,
                                   owner=P[owner], min_disk=1, **props)
        glance.images.upload(img["id"], io.BytesIO(data), image_size=len(data))
        img = glance.images.get(img["id"])
        if img["checksum"] != hashlib.md5(data).hexdigest() or \
                img["os_hash_value"] != hashlib.sha512(data).hexdigest():
            sys.exit(f"glance stored {name} with unexpected checksums")
        if visibility == "shared":
            glance.image_members.create(img["id"], P["engineering"])
        out[name] = {"id": img["id"], "size": img["size"], "checksum": img["checksum"],
                     "os_hash_algo": img["os_hash_algo"], "os_hash_value": img["os_hash_value"],
                     "disk_format": fmt, "container_format": "bare", "owner": owner, "properties": props}
    state["images"] = out
    print(f"glance: {len(out)} images uploaded")


def networks():
    nc = neutron_client.Client(session=sess, region_name=REGION)
    nets = {}
    ext = nc.create_network({"network": {
        "name": "ext-net", "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "external", "project_id": P["admin"]}})["network"]
    ext_sub = nc.create_subnet({"subnet": {
        "network_id": ext["id"], "name": "ext-subnet", "ip_version": 4, "cidr": "172.24.4.0/24",
        "gateway_ip": "172.24.4.1", "enable_dhcp": False,
        "allocation_pools": [{"start": "172.24.4.100", "end": "172.24.4.200"}]}})["subnet"]
    nets["ext-net"] = {"id": ext["id"], "project_id": P["admin"], "subnet": {
        "id": ext_sub["id"], "cidr": ext_sub["cidr"], "gateway": ext_sub["gateway_ip"], "dns": [],
        "dhcp_server": None}}
    routers = {}
    for project, net, cidr in (("demo", "demo-net", "10.0.0.0/24"), ("web-shop", "web-shop-net", "10.10.0.0/24"),
                               ("engineering", "engineering-net", "10.20.0.0/24")):
        n = nc.create_network({"network": {"name": net, "project_id": P[project], "mtu": 1450}})["network"]
        prefix = cidr.rsplit(".", 1)[0]
        s = nc.create_subnet({"subnet": {
            "network_id": n["id"], "name": net.replace("-net", "-subnet"), "ip_version": 4, "cidr": cidr,
            "project_id": P[project], "gateway_ip": f"{prefix}.1", "dns_nameservers": ["9.9.9.9"],
            "allocation_pools": [{"start": f"{prefix}.10", "end": f"{prefix}.250"}]}})["subnet"]
        nets[net] = {"id": n["id"], "project_id": P[project], "subnet": {
            "id": s["id"], "cidr": cidr, "gateway": s["gateway_ip"], "dns": s["dns_nameservers"],
            "dhcp_server": f"{prefix}.2"}}
        if project != "engineering":  # engineering's network is isolated: no router
            r = nc.create_router({"router": {"name": f"{project}-router", "project_id": P[project],
                                             "external_gateway_info": {"network_id": ext["id"]}}})["router"]
            nc.add_interface_router(r["id"], {"subnet_id": s["id"]})
            routers[r["name"]] = r["id"]
    sg = nc.create_security_group({"security_group": {
        "name": "web", "description": "HTTP and HTTPS from anywhere", "project_id": P["web-shop"]}})
    sg = sg["security_group"]
    for port in (80, 443):
        nc.create_security_group_rule({"security_group_rule": {
            "security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": port, "port_range_max": port, "remote_ip_prefix": "0.0.0.0/0"}})
    state["networks"] = nets
    state["routers"] = routers
    state["security_groups"] = {"web": sg["id"]}
    return nc


def flavors_and_keys():
    nova = nova_client.Client("2.10", session=sess, region_name=REGION)
    for fid, name, ram, vcpus, disk in (("1", "m1.tiny", 512, 1, 1), ("2", "m1.small", 2048, 1, 20),
                                        ("3", "m1.medium", 4096, 2, 40), ("4", "m1.large", 8192, 4, 80)):
        nova.flavors.create(name, ram, vcpus, disk, flavorid=fid)
    private = nova.flavors.create("build.xlarge", 16384, 8, 160, flavorid=str(uuid.uuid4()), is_public=False)
    nova.flavor_access.add_tenant_access(private, P["engineering"])
    keys = {}
    for user, key in (("demo", "demo-key"), ("alice", "alice-laptop")):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{user}@example.org",
                        "-f", f"/tmp/{key}"], check=True)
        with open(f"/tmp/{key}.pub") as f:
            nova.keypairs.create(key, public_key=f.read().strip(), user_id=U[user])
        os.remove(f"/tmp/{key}")
        os.remove(f"/tmp/{key}.pub")
        keys[key] = user
    state["keypairs"] = keys
    print("nova: 5 flavors, 2 keypairs")


def resource_providers():
    """What each nova-compute's resource tracker puts into placement on its first periodic update."""
    for host in COMPUTES:
        rp = state["computes"][host]["compute_node_uuid"]
        placement("POST", "/resource_providers", {"name": host, "uuid": rp})
        placement("PUT", f"/resource_providers/{rp}/inventories", {
            "resource_provider_generation": 0,
            "inventories": {
                "VCPU": {"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 8, "step_size": 1,
                         "allocation_ratio": 16.0},
                "MEMORY_MB": {"total": 16384, "reserved": 512, "min_unit": 1, "max_unit": 16384, "step_size": 1,
                              "allocation_ratio": 1.5},
                "DISK_GB": {"total": 400, "reserved": 0, "min_unit": 1, "max_unit": 400, "step_size": 1,
                            "allocation_ratio": 1.0},
            }})
        placement("PUT", f"/resource_providers/{rp}/traits", {
            "resource_provider_generation": 1,
            "traits": ["COMPUTE_NET_ATTACH_INTERFACE", "COMPUTE_VOLUME_ATTACH_WITH_TAG", "COMPUTE_TRUSTED_CERTS",
                       "COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW", "COMPUTE_DEVICE_TAGGING",
                       "COMPUTE_VOLUME_EXTEND", "COMPUTE_VOLUME_MULTI_ATTACH", "COMPUTE_NODE",
                       "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "HW_CPU_X86_AESNI"]})
    print(f"placement: {len(COMPUTES)} resource providers")


# (name, project, user, image, flavor, compute index, vm_state, power_state, age in days, ports on, key, sgs)
INSTANCES = [
    ("demo-vm1", "demo", "demo", "cirros-0.5.2-x86_64", "m1.tiny", 0, "active", 1, 120, "demo-net",
     "demo-key", []),
    ("web-1", "web-shop", "alice", "debian-10-genericcloud-amd64", "m1.small", 1, "active", 1, 300,
     "web-shop-net", "alice-laptop", ["web"]),
    ("web-2", "web-shop", "carol", "debian-10-genericcloud-amd64", "m1.small", 0, "active", 1, 299,
     "web-shop-net", None, ["web"]),
    ("db-1", "web-shop", "alice", "ubuntu-20.04-server-cloudimg-amd64", "m1.medium", 1, "active", 1, 280,
     "web-shop-net", "alice-laptop", []),
    ("build-runner", "engineering", "bob", "ubuntu-20.04-server-cloudimg-amd64", "m1.small", 0, "stopped", 4,
     45, "engineering-net", None, []),
]


def instance_plan(nc):
    plan = []
    sgs = {}
    for name, project, user, image, flavor, ci, vm_state, power, age, net, key, sg_names in INSTANCES:
        host = COMPUTES[ci % len(COMPUTES)]
        inst_uuid = str(uuid.uuid4())
        if project not in sgs:
            sgs[project] = nc.list_security_groups(name="default", project_id=P[project])["security_groups"]
        sg_ids = [g["id"] for g in sgs[project]] + [state["security_groups"][s] for s in sg_names]
        port = nc.create_port({"port": {
            "network_id": state["networks"][net]["id"], "project_id": P[project], "device_id": inst_uuid,
            "device_owner": "compute:nova", "binding:host_id": host, "security_groups": sg_ids}})["port"]
        p = {"id": port["id"], "mac": port["mac_address"], "network": net, "ip": port["fixed_ips"][0]["ip_address"],
             "vif_type": port["binding:vif_type"]}
        if name in ("demo-vm1", "web-1"):
            fip = nc.create_floatingip({"floatingip": {
                "floating_network_id": state["networks"]["ext-net"]["id"], "port_id": port["id"],
                "project_id": P[project], "description": f"{name} public address"}})["floatingip"]
            p["floating_ip"] = fip["floating_ip_address"]
        plan.append({"name": name, "uuid": inst_uuid, "project": project, "user": user, "image": image,
                     "flavor": flavor, "host": host, "vm_state": vm_state, "power_state": power, "age_days": age,
                     "key": key, "ports": [p], "volumes": []})
    state["instance_plan"] = plan
    print(f"neutron: {len(state['networks'])} networks, {len(state['routers'])} routers, {len(plan)} ports")


def volume_plan():
    """Volumes seed_cinder.py creates; the first is attached to demo-vm1 over iSCSI on the storage address."""
    vols = []
    for name, project, user, size, attach_to, bootable_from in (
            ("demo-data", "demo", "demo", 1, "demo-vm1", None),
            ("web-shop-db-backup", "web-shop", "alice", 2, None, None),
            ("engineering-cache", "engineering", "bob", 1, None, None),
            ("web-shop-boot", "web-shop", "alice", 1, None, "ubuntu-20.04-server-cloudimg-amd64")):
        vol = {"id": str(uuid.uuid4()), "name": name, "project": project, "user": user, "size": size,
               "bootable_from": bootable_from,
               "chap": ["".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
                                for _ in range(n)) for n in (20, 16)]}
        if attach_to:
            inst = next(i for i in state["instance_plan"] if i["name"] == attach_to)
            iqn = f"iqn.2010-10.org.openstack:volume-{vol['id']}"
            vol.update({"attachment_id": str(uuid.uuid4()), "instance_uuid": inst["uuid"], "host": inst["host"],
                        "mountpoint": "/dev/vdb", "iqn": iqn})
            data = {"target_discovered": False, "target_portal": f"{STORAGE}:3260", "target_iqn": iqn,
                    "target_lun": 1, "volume_id": vol["id"], "auth_method": "CHAP",
                    "auth_username": vol["chap"][0], "auth_password": vol["chap"][1], "encrypted": False,
                    "qos_specs": None, "access_mode": "rw", "cacheable": False}
            vol["connection_info"] = {"driver_volume_type": "iscsi", "data": data}
            # What nova keeps in block_device_mapping after os-brick connected the volume on the compute.
            nova_data = dict(data, device_path=f"/dev/disk/by-path/ip-{STORAGE}:3260-iscsi-{iqn}-lun-1")
            inst["volumes"].append({"id": vol["id"], "attachment_id": vol["attachment_id"], "size": size,
                                    "mountpoint": "/dev/vdb", "connection_info": {
                                        "driver_volume_type": "iscsi", "data": nova_data, "serial": vol["id"],
                                        "status": "attaching", "instance": inst["uuid"], "attached_at": "",
                                        "detached_at": "", "volume_id": vol["id"], "multiattach": False}})
        vols.append(vol)
    state["volume_plan"] = vols


def allocations():
    flavors = {"m1.tiny": (1, 512, 1), "m1.small": (1, 2048, 20), "m1.medium": (2, 4096, 40)}
    for inst in state["instance_plan"]:
        vcpu, ram, disk = flavors[inst["flavor"]]
        rp = state["computes"][inst["host"]]["compute_node_uuid"]
        placement("PUT", f"/allocations/{inst['uuid']}", {
            "allocations": {rp: {"resources": {"VCPU": vcpu, "MEMORY_MB": ram, "DISK_GB": disk}}},
            "project_id": P[inst["project"]], "user_id": U[inst["user"]], "consumer_generation": None})
    print(f"placement: allocations for {len(state['instance_plan'])} instances")


if sys.argv[1:] == ["allocations"]:
    allocations()
else:
    agents()
    images()
    nc = networks()
    flavors_and_keys()
    resource_providers()
    instance_plan(nc)
    volume_plan()
with open(STATE, "w") as f:
    json.dump(state, f, indent=1)
