import { describe, expect, it } from "vitest";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { copyStep } from "../../../../src/steps/db/copy.js";
import { FIND_TOKEN_SCRIPT } from "../../../../src/steps/earlier-run.js";
import { UserError } from "../../../../src/lib/errors.js";
import { FakeSql, allArgv, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";

const DUMP =
  "-- MariaDB dump\nCREATE DATABASE IF NOT EXISTS `nova`;\nUSE `nova`;\n" +
  "INSERT INTO t VALUES (1);\n".repeat(1000);

function setup(
  opts: { dumpExit?: number; dumpStderr?: string; importExit?: number; importStderr?: string } = {},
) {
  const old = new FakeHost("old", { unmatched: "throw" });
  const neu = new FakeHost("new", { unmatched: "throw" });
  const oldTmp = scriptTempDirs(old);
  const newTmp = scriptTempDirs(neu);
  old.on(["mysqldump", REST], { stdout: DUMP, exitCode: opts.dumpExit ?? 0, stderr: opts.dumpStderr ?? "" });
  let imported = "";
  neu.on(
    ["mysql", REST],
    ({ stdin }) => {
      imported = stdin.toString();
      return { exitCode: opts.importExit ?? 0, stderr: opts.importStderr ?? "" };
    },
    { readsStdin: true },
  );
  const sql = new FakeSql();
  const deps = makeDeps(sql);
  return { old, neu, oldTmp, newTmp, sql, deps, imported: () => imported };
}

const params = { database: "nova", from: "old", to: "new", verifyRowCounts: true };

describe("db.copy", () => {
  it("streams mysqldump on old into mysql on new, drops the new database first, removes the 0600 defaults files", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const res = await copyStep(s.deps).run(h.ctx, params);
    expect(s.imported()).toBe(DUMP);
    expect(res).toMatchObject({ database: "nova", bytes: Buffer.byteLength(DUMP) });
    const dumpArgv = s.old.commands().find((a) => a[0] === "mysqldump")!;
    expect(dumpArgv).toEqual([
      "mysqldump",
      `--defaults-extra-file=${s.oldTmp.made[0]}/my.cnf`,
      "--default-character-set=utf8mb4",
      "--single-transaction",
      "--routines",
      "--triggers",
      "--events",
      "--hex-blob",
      "--databases",
      "nova",
    ]);
    // Defaults files: 0600 in the private dir, holding the admin login, removed afterwards.
    const written = s.old.calls.find((c) => c.kind === "writeFileAtomic");
    expect(written).toMatchObject({ path: `${s.oldTmp.made[0]}/my.cnf`, options: { mode: 0o600 } });
    expect(written && "data" in written ? written.data.toString() : "").toContain('password="old-admin-pw"');
    expect(s.oldTmp.removed).toEqual(s.oldTmp.made);
    expect(s.newTmp.removed).toEqual(s.newTmp.made);
    expect(s.old.listFiles()).toEqual([]);
    expect(s.neu.listFiles()).toEqual([]);
    // No password on any argv, on either host.
    expect(allArgv(s.old, s.neu)).not.toMatch(/admin-pw/);
    // The temp dirs were journaled before the password was written.
    expect(h.checkpoints.some((c) => JSON.stringify(c).includes(s.oldTmp.made[0]!))).toBe(true);
    expect(s.sql.sqlOn("new")).toEqual(["DROP DATABASE IF EXISTS `nova`"]);
    expect(s.sql.sqlOn("old")).toEqual([]);
    expect(h.events.some((e) => e.type === "step-progress" && e.bytes === Buffer.byteLength(DUMP))).toBe(
      true,
    );
  });

  it("a dump that dies midway fails the step even though the import exited 0, naming mysqldump's error", async () => {
    const s = setup({
      dumpExit: 2,
      dumpStderr: "mysqldump: Got error: 2013: Lost connection to server during query\n",
    });
    const h = makeCtx({ old: s.old, new: s.neu });
    const e = await copyStep(s.deps)
      .run(h.ctx, params)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("DB_COPY_FAILED");
    expect((e as UserError).message).toMatch(/mysqldump on old exited with 2: .*Lost connection/);
    expect(s.oldTmp.removed).toEqual(s.oldTmp.made);
  });

  it("an import failure names mysql on new and its stderr, without the passwords", async () => {
    const s = setup({
      importExit: 1,
      importStderr: "ERROR 1045 (28000): Access denied for user 'root' using new-admin-pw\n",
    });
    const h = makeCtx({ old: s.old, new: s.neu });
    const e = (await copyStep(s.deps)
      .run(h.ctx, params)
      .catch((x: unknown) => x)) as UserError;
    expect(e.message).toMatch(/mysql on new exited with 1: ERROR 1045/);
    expect(e.message).not.toContain("new-admin-pw");
    expect(s.newTmp.removed).toEqual(s.newTmp.made);
  });

  it("is idempotent: a second run drops and imports again, leaving the same state", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    await copyStep(s.deps).run(h.ctx, params);
    await copyStep(s.deps).run(h.ctx, params);
    expect(s.imported()).toBe(DUMP);
    expect(s.sql.sqlOn("new")).toEqual(["DROP DATABASE IF EXISTS `nova`", "DROP DATABASE IF EXISTS `nova`"]);
  });

  it("verify compares exact per-table counts on both sides and names the differing table", async () => {
    const s = setup();
    s.sql.on(/SELECT SCHEMA_NAME FROM information_schema.SCHEMATA/, [{ SCHEMA_NAME: "nova" }]);
    s.sql.on(/SHOW FULL TABLES FROM `nova`/, [{ t: "instances" }, { t: "services" }]);
    s.sql.on(/COUNT\(\*\) AS n FROM `nova`.`instances`/, [{ n: 5 }]);
    s.sql.on(/COUNT\(\*\) AS n FROM `nova`.`services`/, [{ n: 3 }]);
    const h = makeCtx({ old: s.old, new: s.neu });
    expect(await copyStep(s.deps).verify(h.ctx, params)).toMatchObject({
      ok: true,
      detail: expect.stringContaining("8 rows"),
    });
    s.sql.on(/COUNT\(\*\) AS n FROM `nova`.`instances`/, [{ n: 4 }], { host: "new" });
    const v = await copyStep(s.deps).verify(h.ctx, params);
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("instances: old 5 rows, new 4");
    // Old was only read.
    expect(s.sql.sqlOn("old").every((q) => /^(SELECT|SHOW|SET SESSION TRANSACTION READ ONLY$)/.test(q))).toBe(
      true,
    );
    expect(s.sql.sqlOn("old")[0]).toBe("SET SESSION TRANSACTION READ ONLY");
  });

  it("an abort that came before the streams started copies nothing and says interrupted", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    h.abort.abort();
    const e = (await copyStep(s.deps)
      .run(h.ctx, params)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("ABORTED");
    expect(s.old.commandLines().some((l) => l.startsWith("mysqldump"))).toBe(false);
    expect(s.oldTmp.removed).toEqual(s.oldTmp.made);
  });

  it("both sides carry the step's token; a redo waits until the killed attempt's import is gone on new", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    await copyStep(s.deps).run(h.ctx, params);
    const token = h.checkpoints[0]!.token as string;
    expect(s.old.calls.find((c) => c.kind === "execStream")).toMatchObject({
      options: { env: { HANDOVER_STEP_TOKEN: token } },
    });
    expect(s.neu.calls.find((c) => c.kind === "execStream")).toMatchObject({
      options: { env: { HANDOVER_STEP_TOKEN: token } },
    });

    const t = setup();
    const find = ["sh", "-c", FIND_TOKEN_SCRIPT, "sh", "HANDOVER_STEP_TOKEN=feed"];
    t.neu.on(find, { exitCode: 1 });
    t.neu.on(find, { exitCode: 0 }, { times: 1 });
    t.old.on(find, { exitCode: 1 });
    const h2 = makeCtx({ old: t.old, new: t.neu }, { database: "nova", token: "feed", tempDirs: [] });
    await copyStep(t.deps).run(h2.ctx, params);
    expect(t.neu.commandLines().filter((l) => l.startsWith("sh -c"))).toHaveLength(2);
    expect(h2.events.some((e) => e.type === "log" && /still running on new/.test(e.message))).toBe(true);
    expect(h2.checkpoints[0]).toMatchObject({ token: "feed" });
    expect(t.imported()).toBe(DUMP);
  });

  it("verify fails when the database is missing on new", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    expect(await copyStep(s.deps).verify(h.ctx, params)).toMatchObject({ ok: false });
  });

  it("undo drops and recreates the database empty on new, and removes temp dirs a crash left", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    await copyStep(s.deps).undo!(h.ctx, params, {
      database: "nova",
      tempDirs: ["old:/tmp/handover-abcdefgh12", "new:/etc"],
    });
    expect(s.sql.sqlOn("new")).toEqual([
      "DROP DATABASE IF EXISTS `nova`",
      "CREATE DATABASE `nova` CHARACTER SET utf8 COLLATE utf8_general_ci",
    ]);
    expect(s.oldTmp.removed).toEqual(["/tmp/handover-abcdefgh12"]);
    // A path that is not one of ours is never removed.
    expect(s.newTmp.removed).toEqual([]);
  });

  it("old's SQL session refuses writes structurally", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const { sqlFor } = await import("../../../../src/steps/sql.js");
    const sess = await sqlFor(s.deps, h.ctx, "old");
    await expect(sess.execute("DROP DATABASE nova")).rejects.toThrow(/tried to change/);
    await expect(sess.query("DELETE FROM nova.instances")).rejects.toThrow(/does not only read/);
    // The server is told too: the session is read-only before anything else is sent.
    expect(s.sql.sqlOn("old")).toEqual(["SET SESSION TRANSACTION READ ONLY"]);
  });
});
