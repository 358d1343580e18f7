import { describe, expect, it } from "vitest";
import { FactsSchema } from "../../../src/discovery/facts-file.js";
import { gatherFacts, type DiscoveryRequest } from "../../../src/discovery/gather.js";
import { isReadOnlyCommand, readOnly } from "../../../src/discovery/readonly-host.js";
import { isReadOnlySql, type SqlReader } from "../../../src/discovery/sql.js";
import { MysqlErrorCode } from "../../../src/db/mysql-client.js";
import { UserError } from "../../../src/lib/errors.js";
import { buildPlan } from "../../../src/plan/build.js";
import type { FakeHost } from "../../fakes/fake-host.js";
import { labInput } from "../plan/fixtures/lab-facts.js";
import { shippedCatalog } from "../plan/helpers.js";
import { FakeSql } from "./fake-sql.js";
import { VOLUME_IN_USE, newHost, oldHost, oldSql } from "./lab-fakes.js";

const catalog = shippedCatalog();
const request: DiscoveryRequest = {
  catalog,
  sourceRelease: "victoria",
  targetRelease: "zed",
  services: ["keystone", "glance", "placement", "nova", "neutron", "cinder", "horizon"],
  now: () => new Date("2026-11-22T01:00:00.123Z"),
};

const unreachable = (): Promise<SqlReader> =>
  Promise.reject(new UserError(MysqlErrorCode.unreachable, "cannot reach MySQL on new: connection refused"));

async function gatherLab(opts: { newSql?: () => Promise<SqlReader> } = {}) {
  const old = oldHost();
  const neu = newHost();
  const sql = oldSql();
  const gathered = await gatherFacts(
    { host: readOnly(old), openSql: () => Promise.resolve(sql) },
    { host: readOnly(neu), openSql: opts.newSql ?? unreachable },
    request,
  );
  return { ...gathered, old, neu, sql };
}

const WRITES = new Set(["writeFileAtomic", "removeFile", "execStream", "run"]);

function assertReadOnly(host: FakeHost): void {
  for (const call of host.calls) {
    expect(WRITES.has(call.kind), `${host.name}: ${call.kind}`).toBe(false);
    if (call.kind === "exec") expect(isReadOnlyCommand(call.argv), call.argv.join(" ")).toBe(true);
  }
}

describe("gatherFacts against the lab's controllers (fakes)", () => {
  it("describes the old Victoria controller", async () => {
    const { facts } = await gatherLab();
    const old = facts.controllers.old;
    expect(facts.collectedAt).toBe("2026-11-22T01:00:00Z");
    expect(old.hostname).toBe("old");
    expect(old.os).toEqual({ id: "debian", versionId: "11", codename: "bullseye" });
    expect(old.release).toBe("victoria");
    expect(old.services).toEqual(["keystone", "glance", "placement", "nova", "neutron", "cinder", "horizon"]);
    expect(old.packages["nova-api"]).toBe("2:22.0.1-2");
    expect(old.packages).not.toHaveProperty(["coreutils"]);
    expect(old.units).toContainEqual({ name: "nova-api", active: true });
    expect(old.units).toContainEqual({ name: "nova-novncproxy", active: false });
    expect(old.units.some((u) => u.name === "ssh" || u.name === "cron")).toBe(false);
    expect(old.rabbitmq).toBe(true);
    expect(old.mysqlVersion).toBe("10.5.26-MariaDB-0+deb11u2");
    expect(old.databases.map((d) => d.name)).toEqual([
      "cinder",
      "glance",
      "keystone",
      "neutron",
      "nova",
      "nova_api",
      "nova_cell0",
      "placement",
    ]);
    expect(old.databases.every((d) => d.sizeBytes > 0 && d.tables > 0)).toBe(true);
    expect(old.disk.map((d) => d.path)).toEqual(["/", "/var/lib/mysql"]);
    expect(old.interfaces).toEqual([
      { name: "eth0", addresses: ["198.51.100.3/24", "198.51.100.4/24"] },
      { name: "eth1", addresses: ["198.18.0.4/24"] },
    ]);
  });

  it("describes the bare new controller without calling it an error", async () => {
    const { facts, notes } = await gatherLab();
    const neu = facts.controllers.new;
    expect(neu.os.codename).toBe("bookworm");
    expect(neu.release).toBeUndefined();
    expect(neu.services).toEqual([]);
    expect(neu.packages).toEqual({});
    expect(neu.databases).toEqual([]);
    expect(neu.mysqlVersion).toBeUndefined();
    expect(neu.rabbitmq).toBe(false);
    // Paths that do not exist yet are measured at their nearest parent and reported under their own name.
    expect(neu.disk.map((d) => d.path)).toEqual(["/", "/var/lib/mysql", "/var/lib/glance/images"]);
    expect(neu.disk.every((d) => d.freeBytes === 10 * 1024 ** 3)).toBe(true);
    expect(notes.some((n) => n.includes("no MySQL answering yet"))).toBe(true);
  });

  it("reads nova, cinder, glance and keystone from the old databases and configs", async () => {
    const { facts } = await gatherLab();
    expect(facts.nova?.cells.map((c) => c.name)).toEqual(["cell0", "cell1"]);
    expect(facts.nova?.computes.map((c) => [c.host, c.release, c.disabled])).toEqual([
      ["compute1", "victoria", false],
      ["compute2", "victoria", true],
    ]);
    expect(facts.nova?.controlServices.map((s) => s.binary)).toEqual(["nova-conductor", "nova-scheduler"]);
    expect(facts.nova?.instances).toBe(4);
    expect(facts.nova?.iscsiAttachments).toBe(1);
    expect(facts.cinder).toEqual({
      backend: "lvm",
      location: "cinder-volumes",
      volumes: [
        { id: VOLUME_IN_USE, sizeGb: 1, status: "in-use" },
        { id: "0b7c3f3e-8b1a-4a55-9a4e-222222222222", sizeGb: 1, status: "available" },
      ],
    });
    expect(facts.glance).toEqual({
      store: "file",
      imagesDir: "/var/lib/glance/images",
      images: 2,
      totalBytes: 40 * 1024 * 1024,
    });
    expect(facts.keystoneRoles).toEqual(["_member_", "admin", "member", "reader"]);
    expect(facts.dataChecks).toEqual({ "cinder-untyped-volumes": 0, "cinder-services-uuid": 0 });
  });

  it("changes nothing: only allow-listed commands, no writes, only reading SQL, readers closed", async () => {
    const { old, neu, sql } = await gatherLab();
    assertReadOnly(old);
    assertReadOnly(neu);
    expect(sql.calls.length).toBeGreaterThan(10);
    for (const c of sql.calls) expect(isReadOnlySql(c.sql), c.sql).toBe(true);
    expect(sql.closed).toBe(1);
    // Values travel as parameters, never inside the SQL text.
    expect(sql.calls.some((c) => c.sql.includes("iscsi"))).toBe(false);
    expect(sql.calls.find((c) => c.sql.includes("information_schema.SCHEMATA"))?.params).toEqual([
      "mysql",
      "information_schema",
      "performance_schema",
      "sys",
    ]);
  });

  it("keeps credentials out of the facts (cell URLs and config passwords)", async () => {
    const { facts } = await gatherLab();
    const text = JSON.stringify(facts);
    for (const secret of ["n0va-pw", "dbsecret", "rabbit://"]) expect(text).not.toContain(secret);
  });

  it("produces facts the saved-facts schema accepts and the planner turns into a plan", async () => {
    const { facts } = await gatherLab();
    expect(FactsSchema.safeParse(facts).success).toBe(true);
    const plan = buildPlan(labInput, facts, catalog);
    expect(plan.steps.length).toBeGreaterThan(20);
    expect(plan.steps.some((s) => s.id === "db.nova.import")).toBe(true);
  });

  it("fails when the old controller's MySQL cannot be reached", async () => {
    const err = new UserError(MysqlErrorCode.authFailed, "MySQL on old refused the login");
    await expect(
      gatherFacts(
        { host: readOnly(oldHost()), openSql: () => Promise.reject(err) },
        { host: readOnly(newHost()), openSql: unreachable },
        request,
      ),
    ).rejects.toBe(err);
  });

  it("notes a new MySQL that refuses the login, and reads one that answers", async () => {
    const refused = await gatherLab({
      newSql: () => Promise.reject(new UserError(MysqlErrorCode.authFailed, "refused the login")),
    });
    expect(refused.notes.some((n) => n.includes("refused the answer file's login"))).toBe(true);
    const empty = new FakeSql()
      .on(undefined, /VERSION\(\)/, [{ version: "10.11.6-MariaDB-0+deb12u1" }])
      .on(undefined, /information_schema/, []);
    const answered = await gatherLab({ newSql: () => Promise.resolve(empty) });
    expect(answered.facts.controllers.new.mysqlVersion).toBe("10.11.6-MariaDB-0+deb12u1");
    expect(answered.facts.controllers.new.databases).toEqual([]);
    expect(empty.closed).toBe(1);
  });

  it("leaves a data check that cannot run to preflight, with a note", async () => {
    const old = oldHost();
    const sql = oldSql().on("cinder", /volume_type_id IS NULL/, () => {
      throw new UserError("MYSQL_QUERY_FAILED", "Unknown column 'volume_type_id'");
    });
    const { facts, notes } = await gatherFacts(
      { host: readOnly(old), openSql: () => Promise.resolve(sql) },
      { host: readOnly(newHost()), openSql: unreachable },
      request,
    );
    expect(facts.dataChecks).toEqual({ "cinder-services-uuid": 0 });
    expect(notes.some((n) => n.includes("cinder-untyped-volumes could not run"))).toBe(true);
  });

  it("notes an LVM volume group that has no device directory, and not one that has", async () => {
    const missing = await gatherLab();
    expect(missing.notes).toContain(
      "cinder: the LVM driver names volume group cinder-volumes, but /dev/cinder-volumes does not exist on the old controller",
    );
    const { notes } = await gatherFacts(
      { host: readOnly(oldHost().addDir("/dev/cinder-volumes")), openSql: () => Promise.resolve(oldSql()) },
      { host: readOnly(newHost()), openSql: unreachable },
      request,
    );
    expect(notes.some((n) => n.includes("/dev/cinder-volumes"))).toBe(false);
  });

  it("copies an LVM group kept as files in /var/lib/cinder/lvm-files/<vg> (the lab's stand-in) as a file backend", async () => {
    const { facts, notes } = await gatherFacts(
      {
        host: readOnly(oldHost().addDir("/var/lib/cinder/lvm-files/cinder-volumes")),
        openSql: () => Promise.resolve(oldSql()),
      },
      { host: readOnly(newHost()), openSql: unreachable },
      request,
    );
    expect(facts.cinder).toMatchObject({
      backend: "file",
      location: "/var/lib/cinder/lvm-files/cinder-volumes",
    });
    expect(notes.some((n) => n.includes("copied as a file backend"))).toBe(true);
  });

  it("lists units through systemd when it runs", async () => {
    const neu = newHost()
      .addDir("/run/systemd/system")
      .on(["systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain", "--no-pager"], {
        stdout: "mariadb.service loaded active running MariaDB\nssh.service loaded active running OpenSSH\n",
      });
    const { facts } = await gatherFacts(
      { host: readOnly(oldHost()), openSql: () => Promise.resolve(oldSql()) },
      { host: readOnly(neu), openSql: unreachable },
      request,
    );
    expect(facts.controllers.new.units).toEqual([{ name: "mariadb", active: true }]);
    assertReadOnly(neu);
  });

  it("skips nova, cinder and glance facts on a controller without them", async () => {
    const sql = oldSql().on(undefined, SQL_SIZES_ONLY_KEYSTONE, [
      { name: "keystone", bytes: "100", tables: 1 },
    ]);
    const old = oldHost().on(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package} ${Version}\\n"], {
      stdout: "ii  keystone 2:18.0.0-3\n",
    });
    const { facts } = await gatherFacts(
      { host: readOnly(old), openSql: () => Promise.resolve(sql) },
      { host: readOnly(newHost()), openSql: unreachable },
      { ...request, services: ["keystone"] },
    );
    expect(facts.controllers.old.services).toEqual(["keystone"]);
    expect(facts.nova).toBeUndefined();
    expect(facts.cinder).toBeUndefined();
    expect(facts.glance).toBeUndefined();
    expect(facts.keystoneRoles).toHaveLength(4);
  });
});

const SQL_SIZES_ONLY_KEYSTONE = /information_schema\.SCHEMATA/;
