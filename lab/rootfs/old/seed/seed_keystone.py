"""Seed keystone through its real API (keystone under uwsgi on the build's loopback), as an operator would:
service project and users, the catalog for every service on the management address, and a few customer
projects and users with roles. One Python process instead of dozens of `openstack` CLI calls (each one pays
~2 s of Python start-up).

Env: OS_* (admin, from /root/openrc), SEED_MGMT, SEED_REGION, SEED_SVC_PASSWORDS ("svc=pass ..."),
SEED_STATE (JSON file this script creates; later seed steps add to it).
"""
import json
import os

from keystoneclient.v3 import client
from labsession import admin_session

MGMT = os.environ["SEED_MGMT"]
REGION = os.environ["SEED_REGION"]
STATE = os.environ["SEED_STATE"]
SVC_PASSWORDS = dict(kv.split("=", 1) for kv in os.environ["SEED_SVC_PASSWORDS"].split())

ks = client.Client(session=admin_session(), interface="public")

role = {r.name: r for r in ks.roles.list()}
for extra in ("_member_",):  # the pre-Queens default member role, still around in long-lived clouds
    if extra not in role:
        role[extra] = ks.roles.create(extra)

service_project = ks.projects.create("service", "default", description="Service Project")

# (service user, catalog type, description, port, path)
SERVICES = [
    ("glance", "image", "OpenStack Image", 9292, ""),
    ("placement", "placement", "Placement API", 8778, ""),
    ("nova", "compute", "OpenStack Compute", 8774, "/v2.1"),
    ("neutron", "network", "OpenStack Networking", 9696, ""),
    ("cinder", "volumev2", "OpenStack Block Storage", 8776, "/v2/%(project_id)s"),
    ("cinder", "volumev3", "OpenStack Block Storage", 8776, "/v3/%(project_id)s"),
]
users = {}
for name in SVC_PASSWORDS:
    u = ks.users.create(name, domain="default", password=SVC_PASSWORDS[name])
    ks.roles.grant(role["admin"], user=u, project=service_project)
    users[name] = u.id

catalog_names = {"image": "glance", "placement": "placement", "compute": "nova", "network": "neutron"}
services = {}
for user, stype, desc, port, path in SERVICES:
    name = catalog_names.get(stype, "cinder" + stype[-2:])
    svc = ks.services.create(name=name, type=stype, description=desc)
    services[stype] = svc.id
    for interface in ("public", "internal", "admin"):
        ks.endpoints.create(svc, f"http://{MGMT}:{port}{path}", interface=interface, region=REGION)

# Customers. Each tuple: project, description, [(user, email, [roles])].
CUSTOMERS = [
    ("demo", "Demo Project", [("demo", "demo@example.org", ["member"])]),
    ("web-shop", "Web shop production", [
        ("alice", "alice@example.org", ["member", "admin"]),
        ("carol", "carol@example.org", ["member"]),
    ]),
    ("engineering", "CI runners and build hosts", [
        ("bob", "bob@example.org", ["member"]),
        ("alice", "alice@example.org", ["reader"]),
    ]),
    ("finance", "Reporting VMs", [("dave", "dave@example.org", ["_member_"])]),
]
projects = {"admin": ks.projects.find(name="admin").id, "service": service_project.id}
admin_user = ks.users.find(name="admin")
users["admin"] = admin_user.id
for pname, desc, members in CUSTOMERS:
    p = ks.projects.create(pname, "default", description=desc)
    projects[pname] = p.id
    for uname, email, roles in members:
        if uname not in users:
            users[uname] = ks.users.create(
                uname, domain="default", password=f"{uname}-lab-password", email=email, default_project=p
            ).id
        for r in roles:
            ks.roles.grant(role[r], user=users[uname], project=p)
    # Operators usually give themselves admin on customer projects they support.
    ks.roles.grant(role["admin"], user=admin_user, project=p)

# A group and a disabled leaver: real directories have both.
ops = ks.groups.create("operators", domain="default", description="Cloud operators")
ks.users.add_to_group(admin_user, ops)
ks.roles.grant(role["reader"], group=ops, project=projects["service"])
users["erin"] = ks.users.create(
    "erin", domain="default", password="erin-lab-password", email="erin@example.org", enabled=False
).id

with open(STATE, "w") as f:
    json.dump({"projects": projects, "users": users, "services": services}, f, indent=1)
print(f"keystone: {len(projects)} projects, {len(users)} users, {len(services) + 1} services")
