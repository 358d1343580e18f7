"""Seed nova's rows that only a running hypervisor would create, through nova's own object layer (so every
column, JSON blob and side table is what nova itself writes): run as the nova user with /etc/nova/nova.conf.

  seed_nova.py services    nova-compute services + compute_nodes per compute host (as a nova-compute's
                           first start registers them), nova-conductor/nova-scheduler on the controller.
  seed_nova.py instances   instances in cell1 (with info caches built from the neutron ports, flavors, image
                           system metadata, keypairs), instance mappings and request specs in nova_api,
                           'create' instance actions, image BDMs, and the BDM of the in-use iSCSI volume.

Env: SEED_STATE (JSON shared with the other seed steps), SEED_COMPUTES, SEED_OLD_HOSTNAME, SEED_STORAGE.
"""
import datetime
import json
import os
import sys

from oslo_utils import uuidutils

from nova import config
from nova import context as nova_context
from nova import objects
from nova.network import model as netmodel

config.parse_args(["seed_nova", "--config-file", "/etc/nova/nova.conf"])
objects.register_all()

STATE = os.environ["SEED_STATE"]
COMPUTES = os.environ["SEED_COMPUTES"].split()
OLD_HOSTNAME = os.environ["SEED_OLD_HOSTNAME"]
STORAGE = os.environ["SEED_STORAGE"]

with open(STATE) as f:
    state = json.load(f)

ctxt = nova_context.get_admin_context()
cell1 = next(c for c in objects.CellMappingList.get_all(ctxt) if c.name == "cell1")
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
days = datetime.timedelta(days=1)

CPU_INFO = {
    "arch": "x86_64",
    "model": "Skylake-Server-IBRS",
    "vendor": "Intel",
    "topology": {"cells": 1, "sockets": 1, "cores": 8, "threads": 1},
    "features": ["sse4.2", "avx2", "aes", "pcid", "ssbd", "vmx", "x2apic", "xsave"],
}


def services():
    computes = {}
    with nova_context.target_cell(ctxt, cell1) as cctxt:
        for binary, topic in (("nova-conductor", "conductor"), ("nova-scheduler", "scheduler")):
            objects.Service(cctxt, host=OLD_HOSTNAME, binary=binary, topic=topic, report_count=1).create()
        for n, host in enumerate(COMPUTES):
            svc = objects.Service(cctxt, host=host, binary="nova-compute", topic="compute", report_count=1)
            svc.create()
            cn = objects.ComputeNode(
                cctxt,
                uuid=uuidutils.generate_uuid(),
                service_id=svc.id,
                host=host,
                hypervisor_hostname=host,
                vcpus=8,
                memory_mb=16384,
                local_gb=400,
                vcpus_used=0,
                memory_mb_used=512,
                local_gb_used=0,
                free_ram_mb=15872,
                free_disk_gb=400,
                current_workload=0,
                running_vms=0,
                hypervisor_type="QEMU",
                hypervisor_version=5002000,
                cpu_info=json.dumps(CPU_INFO),
                disk_available_least=380,
                host_ip=os.environ.get(f"LAB_{host.upper()}_MGMT", f"198.51.100.{10 + n}"),
                supported_hv_specs=[
                    objects.HVSpec(arch="x86_64", hv_type="qemu", vm_mode="hvm"),
                    objects.HVSpec(arch="x86_64", hv_type="kvm", vm_mode="hvm"),
                ],
                metrics="[]",
                pci_device_pools=objects.PciDevicePoolList(objects=[]),
                extra_resources=None,
                stats={"failed_builds": "0"},
                numa_topology=None,
                cpu_allocation_ratio=16.0,
                ram_allocation_ratio=1.5,
                disk_allocation_ratio=1.0,
                mapped=0,
            )
            cn.create()
            computes[host] = {"service_id": svc.id, "compute_node_uuid": cn.uuid, "host_ip": str(cn.host_ip)}
    state["computes"] = computes
    print(f"nova: {len(computes)} compute services and nodes, conductor and scheduler on {OLD_HOSTNAME}")


def network_info(ports):
    vifs = []
    for p in ports:
        net = state["networks"][p["network"]]
        subnet = net["subnet"]
        fixed = netmodel.FixedIP(address=p["ip"])
        if p.get("floating_ip"):
            fixed.add_floating_ip(netmodel.IP(address=p["floating_ip"], type="floating"))
        sn = netmodel.Subnet(
            cidr=subnet["cidr"],
            dns=[netmodel.IP(address=d, type="dns") for d in subnet["dns"]],
            gateway=netmodel.IP(address=subnet["gateway"], type="gateway"),
            ips=[fixed],
            routes=[],
            version=4,
            meta={"dhcp_server": subnet["dhcp_server"]},
        )
        network = netmodel.Network(
            id=net["id"],
            bridge="br-int",
            label=p["network"],
            subnets=[sn],
            meta={"injected": False, "tenant_id": net["project_id"], "mtu": 1450, "physical_network": None,
                  "tunneled": True},
        )
        vifs.append(netmodel.VIF(
            id=p["id"],
            address=p["mac"],
            network=network,
            type="ovs",
            details={"connectivity": "l2", "port_filter": True, "ovs_hybrid_plug": True,
                     "datapath_type": "system", "bridge_name": "br-int"},
            devname=("tap" + p["id"])[:14],
            ovs_interfaceid=p["id"],
            qbh_params=None,
            qbg_params=None,
            active=True,
            vnic_type="normal",
            profile={},
            preserve_on_delete=False,
            meta={},
        ))
    return netmodel.NetworkInfo(vifs)


def instances():
    flavors = {f.name: f for f in objects.FlavorList.get_all(ctxt)}
    created = {}
    for spec in state["instance_plan"]:
        flavor = flavors[spec["flavor"]]
        image = state["images"][spec["image"]]
        project_id = state["projects"][spec["project"]]
        user_id = state["users"][spec["user"]]
        host = spec["host"]
        launched = now - spec["age_days"] * days
        keypairs = objects.KeyPairList(objects=[])
        key_name = key_data = None
        if spec.get("key"):
            kp = objects.KeyPair.get_by_name(ctxt, user_id, spec["key"])
            keypairs = objects.KeyPairList(objects=[kp])
            key_name, key_data = kp.name, kp.public_key
        sysmeta = {f"image_{k}": v for k, v in image["properties"].items()}
        sysmeta.update({
            "image_base_image_ref": image["id"],
            "image_container_format": image["container_format"],
            "image_disk_format": image["disk_format"],
            "image_min_disk": str(flavor.root_gb),
            "image_min_ram": "0",
            "owner_user_name": spec["user"],
            "owner_project_name": spec["project"],
            "boot_roles": "member,reader",
        })
        with nova_context.target_cell(ctxt, cell1) as cctxt:
            inst = objects.Instance(
                cctxt,
                uuid=spec["uuid"],
                user_id=user_id,
                project_id=project_id,
                image_ref=image["id"],
                kernel_id="",
                ramdisk_id="",
                hostname=spec["name"],
                display_name=spec["name"],
                display_description=spec["name"],
                launch_index=0,
                key_name=key_name,
                key_data=key_data,
                keypairs=keypairs,
                power_state=spec["power_state"],
                vm_state=spec["vm_state"],
                task_state=None,
                memory_mb=flavor.memory_mb,
                vcpus=flavor.vcpus,
                root_gb=flavor.root_gb,
                ephemeral_gb=flavor.ephemeral_gb,
                host=host,
                node=host,
                launched_on=host,
                instance_type_id=flavor.id,
                flavor=flavor,
                old_flavor=None,
                new_flavor=None,
                reservation_id="r-" + uuidutils.generate_uuid()[:8],
                launched_at=launched,
                scheduled_at=launched - datetime.timedelta(seconds=20),
                availability_zone="nova",
                locked=False,
                root_device_name="/dev/vda",
                config_drive="",
                progress=0,
                shutdown_terminate=False,
                disable_terminate=False,
                system_metadata=sysmeta,
                metadata=spec.get("metadata", {}),
                info_cache=objects.InstanceInfoCache(network_info=network_info(spec["ports"])),
                numa_topology=None,
                pci_requests=objects.InstancePCIRequests(requests=[]),
                device_metadata=None,
                vcpu_model=objects.VirtCPUModel(
                    arch="x86_64", model="Skylake-Server-IBRS", vendor="Intel", mode="host-model",
                    match="exact", features=[],
                    topology=objects.VirtCPUTopology(sockets=flavor.vcpus, cores=1, threads=1)),
                trusted_certs=None,
                resources=None,
            )
            inst.create()
            # created_at is "now" in the build: make the history plausible.
            inst.created_at = launched - datetime.timedelta(seconds=30)
            inst.save()
            objects.InstanceAction(
                cctxt, action="create", instance_uuid=inst.uuid, request_id="req-" + uuidutils.generate_uuid(),
                user_id=user_id, project_id=project_id, start_time=launched - datetime.timedelta(seconds=30),
                finish_time=launched).create()
            if spec["vm_state"] == "stopped":
                objects.InstanceAction(
                    cctxt, action="stop", instance_uuid=inst.uuid, request_id="req-" + uuidutils.generate_uuid(),
                    user_id=user_id, project_id=project_id, start_time=now - days, finish_time=now - days).create()
            objects.BlockDeviceMapping(
                cctxt, instance_uuid=inst.uuid, uuid=uuidutils.generate_uuid(), source_type="image",
                destination_type="local", image_id=image["id"], boot_index=0, device_name="/dev/vda",
                delete_on_termination=True, device_type="disk", disk_bus=None, guest_format=None,
                volume_size=None, no_device=False, connection_info=None, tag=None, volume_type=None).create()
            for vol in spec.get("volumes", []):
                objects.BlockDeviceMapping(
                    cctxt, instance_uuid=inst.uuid, uuid=uuidutils.generate_uuid(), source_type="volume",
                    destination_type="volume", volume_id=vol["id"], attachment_id=vol["attachment_id"],
                    boot_index=None, device_name=vol["mountpoint"], delete_on_termination=False,
                    device_type=None, disk_bus=None, guest_format=None, volume_size=vol["size"],
                    no_device=False, connection_info=json.dumps(vol["connection_info"]), tag=None,
                    volume_type=None).create()
        objects.InstanceMapping(
            ctxt, instance_uuid=inst.uuid, cell_mapping=cell1, project_id=project_id, user_id=user_id,
            queued_for_delete=False).create()
        image_meta = objects.ImageMeta.from_dict({
            "id": image["id"], "name": spec["image"], "disk_format": image["disk_format"],
            "container_format": image["container_format"], "size": image["size"], "min_disk": 0, "min_ram": 0,
            "status": "active", "properties": image["properties"]})
        objects.RequestSpec(
            ctxt, instance_uuid=inst.uuid, project_id=project_id, user_id=user_id, flavor=flavor,
            image=image_meta, num_instances=1, availability_zone="nova", ignore_hosts=None,
            force_hosts=None, force_nodes=None, retry=None, instance_group=None, scheduler_hints={},
            numa_topology=None, pci_requests=objects.InstancePCIRequests(requests=[]),
            security_groups=objects.SecurityGroupList(objects=[objects.SecurityGroup(name="default")]),
            is_bfv=False, requested_destination=None,
            network_metadata=objects.NetworkMetadata(physnets=set(), tunneled=True)).create()
        created[spec["name"]] = inst.uuid
    deleted_instance(flavors)
    # running_vms and usage on each node, as the resource tracker would report them.
    with nova_context.target_cell(ctxt, cell1) as cctxt:
        for host in COMPUTES:
            mine = [s for s in state["instance_plan"] if s["host"] == host]
            cn = objects.ComputeNode.get_by_uuid(cctxt, state["computes"][host]["compute_node_uuid"])
            cn.running_vms = len(mine)
            cn.vcpus_used = sum(flavors[s["flavor"]].vcpus for s in mine)
            cn.memory_mb_used = 512 + sum(flavors[s["flavor"]].memory_mb for s in mine)
            cn.local_gb_used = sum(flavors[s["flavor"]].root_gb for s in mine)
            cn.free_ram_mb = cn.memory_mb - cn.memory_mb_used
            cn.free_disk_gb = cn.local_gb - cn.local_gb_used
            cn.save()
    print(f"nova: {len(created)} instances in cell1")


def deleted_instance(flavors):
    """A long-deleted test VM: production databases carry soft-deleted rows that nobody archived."""
    flavor = flavors["m1.tiny"]
    image = state["images"]["cirros-0.5.2-x86_64"]
    host = COMPUTES[0]
    deleted_at = now - 200 * days
    with nova_context.target_cell(ctxt, cell1) as cctxt:
        inst = objects.Instance(
            cctxt, uuid=uuidutils.generate_uuid(), user_id=state["users"]["demo"],
            project_id=state["projects"]["demo"], image_ref=image["id"], hostname="old-test-vm",
            display_name="old-test-vm", power_state=0, vm_state="deleted", memory_mb=flavor.memory_mb,
            vcpus=flavor.vcpus, root_gb=flavor.root_gb, ephemeral_gb=0, host=host, node=host, launched_on=host,
            instance_type_id=flavor.id, flavor=flavor, launched_at=deleted_at - 3 * days, availability_zone="nova",
            system_metadata={"image_base_image_ref": image["id"]},
            info_cache=objects.InstanceInfoCache(network_info=netmodel.NetworkInfo([])),
            pci_requests=objects.InstancePCIRequests(requests=[]))
        inst.create()
        objects.BlockDeviceMapping(
            cctxt, instance_uuid=inst.uuid, uuid=uuidutils.generate_uuid(), source_type="image",
            destination_type="local", image_id=image["id"], boot_index=0, device_name="/dev/vda",
            delete_on_termination=True, device_type="disk", no_device=False).create()
        inst.destroy()
    objects.InstanceMapping(
        ctxt, instance_uuid=inst.uuid, cell_mapping=cell1, project_id=inst.project_id, user_id=inst.user_id,
        queued_for_delete=True).create()
    state["deleted_instances"] = [inst.uuid]


{"services": services, "instances": instances}[sys.argv[1]]()
with open(STATE, "w") as f:
    json.dump(state, f, indent=1)
