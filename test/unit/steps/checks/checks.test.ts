import { describe, expect, it } from "vitest";
import { FakeHost } from "../../../fakes/fake-host.js";
import { checkSteps } from "../../../../src/steps/checks/index.js";
import { parseDf } from "../../../../src/steps/checks/disk.js";
import { parseCheckTable } from "../../../../src/steps/checks/upgrade-check.js";
import type { StepImpl } from "../../../../src/engine/step.js";
import { UserError } from "../../../../src/lib/errors.js";
import { SYSV_STATUS } from "../../../../src/hosts/service-manager.js";
import { MysqlErrorCode } from "../../../../src/db/mysql-client.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

function impl(sql: FakeSql, kind: string): StepImpl {
  return checkSteps(makeDeps(sql)).find((x) => x.kind === kind)!;
}

describe("check.health", () => {
  it("old: units active and databases answering; a stopped unit or a missing database fails naming it", async () => {
    const old = new FakeHost("old", { unmatched: "throw" });
    old.on(["sh", "-c", SYSV_STATUS, "sh", "nova-api"], { exitCode: 0 });
    old.on(["sh", "-c", SYSV_STATUS, "sh", "keystone"], { exitCode: 3 });
    const sql = new FakeSql();
    sql.on(/SCHEMATA WHERE SCHEMA_NAME = \?/, (p) => (p[0] === "nova" ? [{ SCHEMA_NAME: "nova" }] : []));
    const h = makeCtx({ old });
    const step = impl(sql, "check.health");
    expect(await step.verify(h.ctx, { units: ["nova-api"], databases: ["nova"] })).toMatchObject({
      ok: true,
    });
    const v = await step.verify(h.ctx, { units: ["nova-api", "keystone"], databases: ["nova", "glance"] });
    expect(v).toEqual({ ok: false, detail: "old: keystone is not active; database glance does not exist" });
    const e = (await step
      .run(h.ctx, { units: ["keystone"], databases: [] })
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("CHECK_HEALTH");
  });

  it("new (mustBeEmpty): no MariaDB yet is fine; a leftover OpenStack database is not", async () => {
    const neu = new FakeHost("new");
    const sql = new FakeSql().failOpen("new", new UserError(MysqlErrorCode.unreachable, "no"), { times: 1 });
    const step = impl(sql, "check.health");
    const p = { units: [], databases: [], mustBeEmpty: ["nova", "keystone"] };
    expect(await step.verify(makeCtx({ new: neu }).ctx, p)).toMatchObject({
      ok: true,
      detail: expect.stringContaining("no MariaDB"),
    });
    sql.on(/information_schema.SCHEMATA$/, [{ n: "mysql" }, { n: "keystone" }]);
    expect(await step.verify(makeCtx({ new: neu }).ctx, p)).toMatchObject({
      ok: false,
      detail: "new: already holds database(s) keystone",
    });
  });

  it("new with a fresh MariaDB refusing the admin login asks root through the socket", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.on(["mysql", "--protocol=socket", "-u", "root", "-N", "-B", "-e", "SHOW DATABASES"], {
      stdout: "information_schema\nmysql\n",
    });
    const sql = new FakeSql().failOpen("new", new UserError(MysqlErrorCode.authFailed, "denied"));
    const v = await impl(sql, "check.health").verify(makeCtx({ new: neu }).ctx, { mustBeEmpty: ["nova"] });
    expect(v.ok).toBe(true);
    // A check changes nothing: no admin setup through the socket.
    expect(neu.commandLines()).toEqual(["mysql --protocol=socket -u root -N -B -e SHOW DATABASES"]);
  });

  it("an unreachable host fails", async () => {
    const old = new FakeHost("old").setReachable(false);
    expect(
      await impl(new FakeSql(), "check.health").verify(makeCtx({ old }).ctx, { units: ["x"] }),
    ).toMatchObject({ ok: false });
  });
});

describe("check.disk", () => {
  it("parses df", () => {
    expect(parseDf("Mounted on        Avail\n/         1000\n")).toEqual({ mount: "/", avail: 1000 });
  });

  it("sums needs on the same filesystem, from the nearest existing directory", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.addDir("/var/lib");
    neu.on(["df", "-B1", "--output=target,avail", "--", "/var/lib"], {
      stdout: "Mounted on Avail\n/ 3000000000\n",
    });
    const step = impl(new FakeSql(), "check.disk");
    const needs = (a: number, b: number) => ({
      needs: [
        { path: "/var/lib/mysql", bytes: a, why: "databases" },
        { path: "/var/lib/glance/images", bytes: b, why: "images" },
      ],
    });
    expect(await step.verify(makeCtx({ new: neu }).ctx, needs(1e9, 1e9))).toMatchObject({ ok: true });
    const v = await step.verify(makeCtx({ new: neu }).ctx, needs(2e9, 2e9));
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("/ has 2.8 GiB free, needs 3.7 GiB");
    await expect(step.run(makeCtx({ new: neu }).ctx, needs(2e9, 2e9))).rejects.toMatchObject({
      code: "CHECK_DISK",
    });
  });
});

describe("check.data", () => {
  const params = {
    service: "cinder",
    database: "cinder",
    sql: "SELECT (SELECT COUNT(*) FROM volumes WHERE volume_type_id IS NULL) + (SELECT COUNT(*) FROM snapshots WHERE volume_type_id IS NULL)",
    severity: "error",
    message: "volumes or snapshots with a NULL volume_type_id make cinder's db sync abort (migration 136)",
    nextSteps: ["Run `cinder-manage db online_data_migrations` on the old controller"],
  };

  it("error severity: a non-zero count stops with the catalog's message and next steps; reads old read-only", async () => {
    const sql = new FakeSql().on(/volume_type_id IS NULL/, [{ n: 2 }]);
    const step = impl(sql, "check.data");
    const e = (await step
      .run(makeCtx({ old: new FakeHost("old") }).ctx, params)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("CHECK_DATA");
    expect(e.message).toContain("cinder: 2 row(s): volumes or snapshots with a NULL volume_type_id");
    expect(e.nextSteps).toEqual(params.nextSteps);
    expect(sql.statements.find((x) => x.sql.includes("volume_type_id"))).toMatchObject({
      host: "old",
      database: "cinder",
    });
  });

  it("zero passes; warning severity only logs", async () => {
    const sql = new FakeSql().on(/volume_type_id IS NULL/, [{ n: 0 }]);
    await impl(sql, "check.data").run(makeCtx({ old: new FakeHost("old") }).ctx, params);
    sql.on(/volume_type_id IS NULL/, [{ n: 1 }]);
    const h = makeCtx({ old: new FakeHost("old") });
    await impl(sql, "check.data").run(h.ctx, { ...params, severity: "warning" });
    expect(h.events).toMatchObject([{ type: "log", level: "warn" }]);
  });

  it("a writing statement never reaches old", async () => {
    const sql = new FakeSql();
    await expect(
      impl(sql, "check.data").run(makeCtx({ old: new FakeHost("old") }).ctx, {
        ...params,
        sql: "DELETE FROM volumes",
      }),
    ).rejects.toThrow(/does not only read/);
    expect(sql.statements.map((x) => x.sql)).toEqual(["SET SESSION TRANSACTION READ ONLY"]);
  });
});

describe("svc.upgrade-check", () => {
  const argv = ["nova-status", "upgrade", "check"];
  const su = ["su", "-s", "/bin/sh", "-c", "'nova-status' 'upgrade' 'check'", "nova"];

  it("failOn failure: exit 2 stops with the check's own words; exit 1 is a journaled warning", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.on(su, {
      exitCode: 2,
      stdout:
        "| Check: Placement API\n| Result: Failure\n| Details: Placement service credentials do not work.\n",
    });
    const step = impl(new FakeSql(), "svc.upgrade-check");
    const p = { service: "nova", argv, user: "nova", failOn: "failure" };
    const e = (await step.run(makeCtx({ new: neu }).ctx, p).catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("UPGRADE_CHECK_FAILED");
    expect(e.message).toContain("Placement service credentials do not work.");
    neu.on(su, { exitCode: 1, stdout: "| Result: Warning\n" });
    const h = makeCtx({ new: neu });
    await step.run(h.ctx, p);
    expect(h.events).toMatchObject([{ type: "log", level: "warn" }]);
  });

  it("a failure the plan acknowledges (by check title) passes with a warning naming it; any other failure stops", async () => {
    // The table as nova-status prints it (box drawing kept), trimmed to three checks.
    const table = [
      "+---------------------------------------------------------------------+",
      "| Upgrade Check Results                                               |",
      "+---------------------------------------------------------------------+",
      "| Check: Cells v2                                                     |",
      "| Result: Success                                                     |",
      "| Details: None                                                       |",
      "+---------------------------------------------------------------------+",
      "| Check: Older than N-1 computes                                      |",
      "| Result: Failure                                                     |",
      "| Details: Current Nova version does not support computes older than  |",
      "|   Yoga but the minimum compute service level in your system         |",
      "+---------------------------------------------------------------------+",
      "| Check: hw_machine_type unset                                        |",
      "| Result: Warning                                                     |",
      "+---------------------------------------------------------------------+",
    ].join("\n");
    expect(parseCheckTable(table)).toEqual([
      { check: "Cells v2", result: "Success" },
      { check: "Older than N-1 computes", result: "Failure" },
      { check: "hw_machine_type unset", result: "Warning" },
    ]);
    const neu = new FakeHost("new", { unmatched: "throw" }).on(su, { exitCode: 2, stdout: table });
    const step = impl(new FakeSql(), "svc.upgrade-check");
    const acknowledge = [{ check: "Older than N-1 computes", why: "computes upgraded after the switch" }];
    const h = makeCtx({ new: neu });
    await step.run(h.ctx, { service: "nova", argv, user: "nova", failOn: "failure", acknowledge });
    expect(h.events).toMatchObject([
      {
        type: "log",
        level: "warn",
        message: expect.stringMatching(/"Older than N-1 computes": computes upgraded/),
      },
    ]);
    const other = [{ check: "Cells v2", why: "x" }];
    await expect(
      step.run(makeCtx({ new: neu }).ctx, {
        service: "nova",
        argv,
        user: "nova",
        failOn: "failure",
        acknowledge: other,
      }),
    ).rejects.toThrow(/FAILED \(exit 2\)/);
  });

  it("failOn none (baseline on old) only records a failure", async () => {
    const old = new FakeHost("old", { unmatched: "throw" }).on(su, { exitCode: 2, stdout: "Failure\n" });
    const h = makeCtx({ old });
    const step = impl(new FakeSql(), "svc.upgrade-check");
    await step.run(h.ctx, { service: "nova", argv, user: "nova", failOn: "none" });
    expect(h.events).toMatchObject([{ type: "log", level: "warn" }]);
    expect(await step.verify(h.ctx, { service: "nova", argv, user: "nova", failOn: "none" })).toMatchObject({
      ok: true,
    });
    expect(old.commands().every((a) => a[0] === "su")).toBe(true);
  });
});
