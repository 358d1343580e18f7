"""Seed cinder through its own object layer (run as the cinder user with /etc/cinder/cinder.conf): the volume
type, the scheduler and volume services (with their uuids: cinder-status fails on NULL), volumes with quota
usage, the in-use volume's attachment with its iSCSI connection, and the volume data.

This kernel has no device-mapper, so each "logical volume" of the LVM backend is a sparse file at
/var/lib/cinder/lvm-files/cinder-volumes/volume-<id> (standing in for /dev/cinder-volumes/volume-<id>), and the
tgt target file cinder writes for an exported volume (/var/lib/cinder/volumes/volume-<id>) names that file as
its backing store, so tgtd really serves it on the storage address.

Env: SEED_STATE, SEED_OLD_HOSTNAME, SEED_STORAGE.
"""
import datetime
import hashlib
import json
import os
import random

from oslo_config import cfg

from cinder import context
from cinder import db
from cinder import objects
from cinder import quota
from cinder import rpc
from cinder.objects import base as objects_base
from cinder.scheduler import rpcapi as scheduler_rpcapi
from cinder.volume import rpcapi as volume_rpcapi
from cinder.volume import volume_types

cfg.CONF(["--config-file", "/etc/cinder/cinder.conf"], project="cinder")
objects.register_all()
rpc.init(cfg.CONF)  # objects consult RPC version pins; no message is ever sent here

STATE = os.environ["SEED_STATE"]
HOST = os.environ["SEED_OLD_HOSTNAME"]
LV_DIR = "/var/lib/cinder/lvm-files/cinder-volumes"
TGT_DIR = "/var/lib/cinder/volumes"
QUOTAS = quota.QUOTAS

with open(STATE) as f:
    state = json.load(f)

ctxt = context.get_admin_context()
now = datetime.datetime.utcnow().replace(microsecond=0)

vt = volume_types.create(ctxt, "lvm", {"volume_backend_name": "lvm"}, description="Local LVM over iSCSI")
# The versions a running service records: without them the other services refuse to start ("Service
# cinder-scheduler is in Liberty version").
obj_version = objects_base.OBJ_VERSIONS.get_current()
sched = objects.Service(ctxt, host=HOST, binary="cinder-scheduler", topic="cinder-scheduler", report_count=1,
                        availability_zone="nova", disabled=False, object_current_version=obj_version,
                        rpc_current_version=scheduler_rpcapi.SchedulerAPI.RPC_API_VERSION)
sched.create()
volsvc = objects.Service(ctxt, host=f"{HOST}@lvm", binary="cinder-volume", topic="cinder-volume", report_count=1,
                         availability_zone="nova", disabled=False, object_current_version=obj_version,
                         rpc_current_version=volume_rpcapi.VolumeAPI.RPC_API_VERSION)
volsvc.create()
# Services created here get a uuid from the object layer; make sure (cinder-status checks it).
for svc in (sched, volsvc):
    if not svc.uuid:
        raise SystemExit(f"cinder service {svc.binary} has no uuid")

os.makedirs(LV_DIR, exist_ok=True)
images = {name: img for name, img in state["images"].items()}
rnd = random.Random(20210302)
out = []
for plan in state["volume_plan"]:
    project_id = state["projects"][plan["project"]]
    user_id = state["users"][plan["user"]]
    iqn = plan.get("iqn", f"iqn.2010-10.org.openstack:volume-{plan['id']}")
    attached = "attachment_id" in plan
    reserve_opts = {"volumes": 1, "gigabytes": plan["size"]}
    QUOTAS.add_volume_type_opts(ctxt, reserve_opts, vt["id"])
    reservations = QUOTAS.reserve(ctxt, project_id=project_id, **reserve_opts)
    # Volume.create() refuses a preset id; the plan fixed the ids (nova's BDM already names this one).
    vol = objects.Volume.get_by_id(ctxt, db.volume_create(ctxt, dict(
        id=plan["id"],
        display_name=plan["name"],
        display_description="",
        size=plan["size"],
        status="available",
        attach_status="detached",
        migration_status=None,
        host=f"{HOST}@lvm#lvm",
        cluster_name=None,
        provider_location=f"{os.environ['SEED_STORAGE']}:3260,1 {iqn} 1",
        provider_auth=f"CHAP {plan['chap'][0]} {plan['chap'][1]}",
        volume_type_id=vt["id"],
        project_id=project_id,
        user_id=user_id,
        availability_zone="nova",
        launched_at=now - datetime.timedelta(days=60),
        scheduled_at=now - datetime.timedelta(days=60),
        bootable=bool(plan["bootable_from"]),
        multiattach=False,
        service_uuid=volsvc.uuid,
        shared_targets=False,
        use_quota=True,
    )).id)
    QUOTAS.commit(ctxt, reservations, project_id=project_id)
    if plan["bootable_from"]:
        img = images[plan["bootable_from"]]
        meta = {"image_id": img["id"], "image_name": plan["bootable_from"], "checksum": img["checksum"],
                "container_format": img["container_format"], "disk_format": img["disk_format"],
                "size": str(img["size"]), "min_disk": "1", "min_ram": "0"}
        meta.update(img["properties"])
        db.volume_glance_metadata_bulk_create(ctxt, vol.id, meta)
    if attached:
        # cinder's own attach flow: reserve (attachment row), update with the connection, mark attached.
        db.volume_attach(ctxt, {"id": plan["attachment_id"], "volume_id": vol.id,
                                "instance_uuid": plan["instance_uuid"], "attach_status": "reserved"})
        db.volume_attachment_update(ctxt, plan["attachment_id"], {
            "attached_host": plan["host"],
            "connection_info": json.dumps(dict(plan["connection_info"], attachment_id=plan["attachment_id"])),
            "connector": json.dumps({
                "platform": "x86_64", "os_type": "linux", "ip": state["computes"][plan["host"]]["host_ip"], "host": plan["host"],
                "multipath": False, "initiator": f"iqn.1993-08.org.debian:01:{plan['host']}",
                "do_local_attach": False, "system uuid": plan["instance_uuid"], "mountpoint": "/dev/vdb"}),
        })
        db.volume_attached(ctxt, plan["attachment_id"], plan["instance_uuid"], None, plan["mountpoint"], "rw", True)
        db.volume_attachment_update(ctxt, plan["attachment_id"], {
            "attached_host": plan["host"], "attach_time": now - datetime.timedelta(days=59)})
        vol.refresh()
        with open(os.path.join(TGT_DIR, f"volume-{vol.id}"), "w") as f:
            f.write(f"<target {iqn}>\n    backing-store {LV_DIR}/volume-{vol.id}\n    driver iscsi\n"
                    f"    incominguser {plan['chap'][0]} {plan['chap'][1]}\n    write-cache on\n</target>\n")
    # The "logical volume": sparse, with recognisable data at both ends (a partition-table-like head and a
    # tail), so that copies can be checked without reading gigabytes of zeros.
    path = os.path.join(LV_DIR, f"volume-{vol.id}")
    head = f"handover-lab volume {vol.id} {plan['name']}\n".encode().ljust(4096, b"\0") + rnd.randbytes(1 << 20)
    tail = rnd.randbytes(4096)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(plan["size"] << 30)
        f.seek((plan["size"] << 30) - len(tail))
        f.write(tail)
    out.append({"id": vol.id, "name": plan["name"], "size": plan["size"], "status": vol.status,
                "path": path, "head_sha256": hashlib.sha256(head).hexdigest(),
                "tail_sha256": hashlib.sha256(tail).hexdigest(), "iqn": iqn,
                **({"attachment_id": plan["attachment_id"], "instance_uuid": plan["instance_uuid"]} if attached else {})})

# A volume deleted long ago (soft-deleted row, no data file), as real databases keep them.
gone = db.volume_create(ctxt, dict(
    display_name="scratch-2020", size=1, status="available", attach_status="detached", host=f"{HOST}@lvm#lvm",
    volume_type_id=vt["id"], project_id=state["projects"]["engineering"], user_id=state["users"]["bob"],
    availability_zone="nova", launched_at=now - datetime.timedelta(days=400), service_uuid=volsvc.uuid,
    use_quota=True))
db.volume_destroy(ctxt, gone.id)
state["deleted_volumes"] = [gone.id]

state["volumes"] = out
state["cinder"] = {"volume_type_id": vt["id"], "volume_service_uuid": volsvc.uuid}
with open(STATE, "w") as f:
    json.dump(state, f, indent=1)
print(f"cinder: {len(out)} volumes ({sum(v['size'] for v in out)} GiB, sparse), 1 attached")
