/**
 * The old controller as lab/rootfs/old/build.sh seeded it and start.sh started it, checked from the jump over
 * SSH the way handover will see it: image files whose md5/sha512 match glance's rows, the in-use volume's iSCSI
 * connection on the old storage address in both nova and cinder, realistic row counts, one nova-compute service
 * per compute host, and the admin openrc working against the live APIs.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { SshHost } from "../../../src/hosts/ssh-host.js";
import { KNOWN_HOSTS_FILE, LAB_KEY_FILE } from "../../../lab/paths.js";
import { IN_ROOT_LAB_DIR } from "../../../lab/rootfs-cache.js";
import { labHosts, OLD_SERVICE_MGMT, OLD_SERVICE_STORAGE, sshAddress } from "../../../lab/plan.js";
import { readState } from "../../../lab/state.js";
import { labDescribe } from "../setup/lab-context.js";
import { resetLab } from "../e2e/e2e-helpers.js";

labDescribe("old controller seed", () => {
  let old: SshHost;

  beforeAll(async () => {
    // The seeded snapshot: an e2e test that ran before may have left the addresses moved to new (vitest's file
    // order varies).
    await resetLab();
    const host = labHosts(readState()!.computes).find((h) => h.name === "old")!;
    old = new SshHost({
      name: "old",
      address: sshAddress(host),
      keyFile: LAB_KEY_FILE,
      knownHostsFile: KNOWN_HOSTS_FILE,
      hostKeyPolicy: "strict",
    });
    // Lab tests share one lab and some stop old's services (freezing API writes): start.sh is idempotent and
    // brings back whatever is down, so these checks see the controller as `up` left it.
    const res = await old.exec(["sh", `${IN_ROOT_LAB_DIR}/old/start.sh`]);
    expect(res.exitCode, `start.sh on old: ${res.stdout}${res.stderr}`).toBe(0);
  });
  afterAll(async () => {
    await old.close();
  });

  async function out(argv: readonly string[]): Promise<string> {
    const res = await old.exec(argv);
    expect(res.exitCode, `${argv.join(" ")}: ${res.stderr}`).toBe(0);
    return res.stdout;
  }
  /** Rows of a query run by root on old (credentials from its /root/.my.cnf), tab-separated columns. */
  async function rows(query: string): Promise<string[][]> {
    const text = await out(["mysql", "-N", "-B", "-e", query]);
    return text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t"));
  }
  async function count(query: string): Promise<number> {
    const r = await rows(query);
    return Number(r[0]?.[0]);
  }
  /** Runs an openstack CLI command with old's admin openrc; JSON output parsed. */
  async function openstack(args: string): Promise<Record<string, unknown>[]> {
    const text = await out(["sh", "-c", `. /root/openrc && openstack ${args} -f json`]);
    return JSON.parse(text) as Record<string, unknown>[];
  }

  it("keeps at least 3 active glance images whose files match their md5 checksum and sha512 hash", async () => {
    const images = await rows(
      "SELECT i.id, i.checksum, i.os_hash_algo, i.os_hash_value, i.size, l.value FROM glance.images i " +
        "JOIN glance.image_locations l ON l.image_id = i.id AND l.deleted = 0 " +
        "WHERE i.deleted = 0 AND i.status = 'active'",
    );
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const [id, md5, algo, sha512, size, location] of images) {
      const path = `/var/lib/glance/images/${id}`;
      expect(location).toBe(`file://${path}`);
      expect(algo).toBe("sha512");
      const sums = await out(["sh", "-c", 'md5sum "$1" && sha512sum "$1" && stat -c %s "$1"', "sh", path]);
      const [md5Line, shaLine, sizeLine] = sums.trim().split("\n");
      expect(md5Line!.split(/\s+/)[0], `md5 of ${path}`).toBe(md5);
      expect(shaLine!.split(/\s+/)[0], `sha512 of ${path}`).toBe(sha512);
      expect(sizeLine).toBe(size);
    }
  });

  it("has the in-use volume's iSCSI connection on the old storage address in nova and cinder", async () => {
    const portal = `${OLD_SERVICE_STORAGE}:3260`;
    const bdms = await rows(
      "SELECT volume_id, instance_uuid, connection_info FROM nova.block_device_mapping " +
        "WHERE deleted = 0 AND source_type = 'volume' AND connection_info IS NOT NULL",
    );
    expect(bdms.length).toBeGreaterThanOrEqual(1);
    for (const [volumeId, instance, info] of bdms) {
      const ci = JSON.parse(info!) as { driver_volume_type: string; data: { target_portal: string } };
      expect(ci.driver_volume_type).toBe("iscsi");
      expect(ci.data.target_portal).toBe(portal);
      const att = await rows(
        `SELECT a.connection_info, v.status, a.attach_status FROM cinder.volume_attachment a ` +
          `JOIN cinder.volumes v ON v.id = a.volume_id WHERE a.deleted = 0 AND a.volume_id = '${volumeId}' ` +
          `AND a.instance_uuid = '${instance}'`,
      );
      expect(att).toHaveLength(1);
      const [attInfo, status, attachStatus] = att[0]!;
      expect((JSON.parse(attInfo!) as { data: { target_portal: string } }).data.target_portal).toBe(portal);
      expect([status, attachStatus]).toEqual(["in-use", "attached"]);
    }
  });

  it("backs every cinder volume with a file of the volume's size, and keeps services and types the tools need", async () => {
    const vols = await rows("SELECT id, size, volume_type_id FROM cinder.volumes WHERE deleted = 0");
    expect(vols.length).toBeGreaterThanOrEqual(3);
    for (const [id, size, type] of vols) {
      expect(type, `volume ${id} volume_type_id`).not.toBe("NULL");
      const bytes = await out(["stat", "-c", "%s", `/var/lib/cinder/lvm-files/cinder-volumes/volume-${id}`]);
      expect(Number(bytes)).toBe(Number(size) * 2 ** 30);
    }
    expect(await count("SELECT COUNT(*) FROM cinder.services WHERE deleted = 0 AND uuid IS NULL")).toBe(0);
  });

  it("holds instances with block device mappings, networks, subnets, ports and a router", async () => {
    const instances = await count("SELECT COUNT(*) FROM nova.instances WHERE deleted = 0");
    expect(instances).toBeGreaterThanOrEqual(3);
    // Every instance boots from an image BDM, and is mapped to cell1 in nova_api.
    expect(
      await count(
        "SELECT COUNT(*) FROM nova.instances i WHERE i.deleted = 0 AND NOT EXISTS (SELECT 1 FROM " +
          "nova.block_device_mapping b WHERE b.instance_uuid = i.uuid AND b.deleted = 0 AND b.boot_index = 0)",
      ),
    ).toBe(0);
    expect(
      await count(
        "SELECT COUNT(*) FROM nova_api.instance_mappings WHERE cell_id IS NOT NULL AND queued_for_delete = 0",
      ),
    ).toBe(instances);
    expect(await count("SELECT COUNT(*) FROM neutron.networks")).toBeGreaterThanOrEqual(2);
    expect(await count("SELECT COUNT(*) FROM neutron.subnets")).toBeGreaterThanOrEqual(2);
    expect(await count("SELECT COUNT(*) FROM neutron.routers")).toBeGreaterThanOrEqual(1);
    expect(
      await count("SELECT COUNT(*) FROM neutron.ports WHERE device_owner = 'compute:nova'"),
    ).toBeGreaterThanOrEqual(instances);
    expect(await count("SELECT COUNT(*) FROM keystone.project WHERE is_domain = 0")).toBeGreaterThanOrEqual(
      4,
    );
    // Production crud: soft-deleted rows nobody archived.
    expect(await count("SELECT COUNT(*) FROM nova.instances WHERE deleted != 0")).toBeGreaterThanOrEqual(1);
    expect(await count("SELECT COUNT(*) FROM cinder.volumes WHERE deleted != 0")).toBeGreaterThanOrEqual(1);
  });

  it("registers one nova-compute service and compute node per compute host, mapped to cell1", async () => {
    const computes = labHosts(readState()!.computes)
      .filter((h) => h.kind === "compute")
      .map((h) => h.name)
      .sort();
    const services = await rows(
      "SELECT s.host FROM nova.services s JOIN nova.compute_nodes c ON c.service_id = s.id AND c.deleted = 0 " +
        "WHERE s.deleted = 0 AND s.`binary` = 'nova-compute' ORDER BY s.host",
    );
    expect(services.map((r) => r[0])).toEqual(computes);
    const mapped = await rows("SELECT host FROM nova_api.host_mappings ORDER BY host");
    expect(mapped.map((r) => r[0])).toEqual(computes);
  });

  it("answers openstack image list and endpoint list with old's openrc, every endpoint on the old address", async () => {
    const images = await openstack("image list");
    const ids = (await rows("SELECT id FROM glance.images WHERE deleted = 0 AND status = 'active'")).map(
      (r) => r[0],
    );
    expect(images.map((i) => i.ID).sort()).toEqual(ids.sort());
    const endpoints = await openstack("endpoint list");
    const types = new Set(endpoints.map((e) => e["Service Type"]));
    for (const t of ["identity", "image", "compute", "network", "placement", "volumev3"])
      expect(types).toContain(t);
    for (const e of endpoints) expect(String(e.URL)).toMatch(new RegExp(`^http://${OLD_SERVICE_MGMT}:\\d+`));
  });

  it("passes the Victoria upgrade checks that read what the seed wrote (nova-status, cinder-status)", async () => {
    // nova-status needs placement, cells and the service user token; cinder-status needs service uuids.
    for (const tool of ["nova-status", "cinder-status"]) {
      const res = await old.exec(["sh", "-c", `${tool} upgrade check`]);
      expect(res.exitCode, `${tool}: ${res.stdout}${res.stderr}`).toBe(0);
    }
  });

  it("answers the compute, network and volume APIs too (every API started by start.sh)", async () => {
    const servers = await openstack("server list --all-projects");
    expect(servers.length).toBe(await count("SELECT COUNT(*) FROM nova.instances WHERE deleted = 0"));
    const volumes = await openstack("volume list --all-projects");
    expect(volumes.some((v) => v.Status === "in-use")).toBe(true);
    const routers = await openstack("router list");
    expect(routers.length).toBeGreaterThanOrEqual(1);
  });
});
