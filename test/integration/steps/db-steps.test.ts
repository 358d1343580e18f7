/**
 * db.copy and db.create against real MariaDB servers and a real sshd, all on loopback: "old" and "new" are two
 * private MariaDB instances reached through two SSH connections, exactly the path handover uses on controllers
 * (mysqldump | mysql through SSH channels, SQL through direct-tcpip tunnels). The admin password holds quotes
 * and `$(id)`, so the 0600 defaults files' quoting is exercised too.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject, StepEvent } from "../../../src/engine/step.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { copyStep } from "../../../src/steps/db/copy.js";
import { createStep } from "../../../src/steps/db/create.js";
import { realStepDeps } from "../../../src/steps/real-deps.js";
import type { StepDeps } from "../../../src/steps/deps.js";
import { mariadbSkipReason, startMariaDb, type MariaDb } from "../hosts/fixtures/mariadb.js";
import { sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";
import { loopbackHost, stepContext } from "./loopback.js";

const skip = sshdSkipReason() ?? mariadbSkipReason();
if (skip) console.warn(`SKIPPED db step integration tests: ${skip}`);

const BULK_ROWS = Number(process.env.HANDOVER_BULK_ROWS ?? 200_000);

function checksums(db: MariaDb, database: string): string {
  const tables = db
    .sql(
      `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='${database}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1`,
    )
    .trim()
    .split("\n")
    .filter(Boolean);
  return tables.map((t) => db.sql(`CHECKSUM TABLE \`${database}\`.\`${t}\` EXTENDED`).trim()).join("\n");
}

describe.skipIf(skip !== undefined)("db steps against real MariaDB over SSH", () => {
  let sshd: Sshd;
  let oldDb: MariaDb;
  let newDb: MariaDb;
  let hosts: Record<string, SshHost>;
  let deps: StepDeps;
  let confDir: string;

  beforeAll(async () => {
    [sshd, oldDb, newDb] = await Promise.all([startSshd(), startMariaDb(), startMariaDb()]);
    hosts = { old: loopbackHost(sshd, "old"), new: loopbackHost(sshd, "new") };
    deps = realStepDeps({
      old: { user: oldDb.user, password: oldDb.password, host: "127.0.0.1", port: oldDb.port },
      new: { user: newDb.user, password: newDb.password, host: "127.0.0.1", port: newDb.port },
    });
    // A small realistic database: utf8 and latin1 tables, a 4-byte character, a blob, a trigger, a routine.
    oldDb.sql(`SET NAMES utf8mb4; CREATE DATABASE nova CHARACTER SET utf8;
      CREATE TABLE nova.instances (id INT AUTO_INCREMENT PRIMARY KEY, uuid CHAR(36), display_name VARCHAR(255) CHARACTER SET utf8mb4, blob_data BLOB) ENGINE=InnoDB;
      CREATE TABLE nova.legacy (id INT PRIMARY KEY, name VARCHAR(64)) CHARACTER SET latin1 ENGINE=InnoDB;
      CREATE TABLE nova.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(64)) ENGINE=InnoDB;
      CREATE TRIGGER nova.ins_audit AFTER INSERT ON nova.instances FOR EACH ROW INSERT INTO nova.audit (what) VALUES (NEW.uuid);
      CREATE FUNCTION nova.two() RETURNS INT DETERMINISTIC RETURN 2;
      INSERT INTO nova.instances (uuid, display_name, blob_data) VALUES ('11111111-1111-1111-1111-111111111111', 'vm 🚀 ünïcode', x'00ff00ff'), ('22222222-2222-2222-2222-222222222222', 'it''s "quoted"', NULL);
      INSERT INTO nova.legacy VALUES (1, 'caf\\xe9');`);
    oldDb.sql(`CREATE DATABASE bulk; USE bulk; CREATE TABLE bulk.rows (id INT PRIMARY KEY, payload VARCHAR(200)) ENGINE=InnoDB;
      INSERT INTO bulk.rows SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_${BULK_ROWS};`);
    confDir = mkdtempSync(join(tmpdir(), "handover-conf-"));
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(Object.values(hosts ?? {}).map((h) => h.close()));
    await Promise.allSettled([sshd?.stop(), oldDb?.stop(), newDb?.stop()]);
    if (confDir) rmSync(confDir, { recursive: true, force: true });
  });

  it("copies a database: verify by exact row counts, content checksums equal, old untouched, routines and triggers present, no temp files left", async () => {
    const before = checksums(oldDb, "nova");
    const events: StepEvent[] = [];
    const checkpoints: JsonObject[] = [];
    const ctx = stepContext(hosts, events, checkpoints);
    const step = copyStep(deps);
    const p = { database: "nova", from: "old", to: "new", verifyRowCounts: true };
    await step.run(ctx, p);
    expect(await step.verify(ctx, p)).toMatchObject({ ok: true });
    expect(checksums(newDb, "nova")).toBe(before);
    expect(checksums(oldDb, "nova")).toBe(before);
    expect(
      newDb.sql("SET NAMES utf8mb4; SELECT display_name FROM nova.instances ORDER BY id LIMIT 1").trim(),
    ).toBe("vm 🚀 ünïcode");
    expect(newDb.sql("SELECT nova.two()").trim()).toBe("2");
    expect(newDb.sql("SHOW TRIGGERS FROM nova").trim()).toContain("ins_audit");
    expect(
      newDb
        .sql(
          "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA='nova' AND TABLE_NAME='legacy'",
        )
        .trim(),
    ).toMatch(/^latin1/);
    expect(readdirSync("/tmp").filter((f) => /^handover-[A-Za-z0-9]{10}$/.test(f))).toEqual([]);
    // Re-running gives the same state (idempotent); undo leaves an empty database.
    await step.run(ctx, p);
    expect(checksums(newDb, "nova")).toBe(before);
    await step.undo!(ctx, p, { database: "nova" });
    expect(newDb.sql("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='nova'").trim()).toBe(
      "0",
    );
    expect((await step.verify(ctx, p)).ok).toBe(false);
  });

  it("copies two databases concurrently over the same SSH connections, and reports time and bytes", async () => {
    const ctx = stepContext(hosts);
    const step = copyStep(deps);
    const t0 = Date.now();
    const results = await Promise.all(
      ["bulk", "nova"].map((database) => step.run(ctx, { database, from: "old", to: "new" })),
    );
    const secs = (Date.now() - t0) / 1000;
    for (const database of ["bulk", "nova"]) {
      expect(await step.verify(ctx, { database, from: "old", to: "new" })).toMatchObject({ ok: true });
    }
    expect(newDb.sql("SELECT COUNT(*) FROM bulk.rows").trim()).toBe(String(BULK_ROWS));
    const bulk = results[0] as { bytes: number; seconds: number };
    console.log(
      `db.copy measured: bulk ${BULK_ROWS} rows, ${(bulk.bytes / 1048576).toFixed(1)} MiB of dump in ${bulk.seconds.toFixed(2)} s (${(bulk.bytes / 1048576 / bulk.seconds).toFixed(1)} MiB/s); both databases concurrently ${secs.toFixed(2)} s`,
    );
  });

  it("an interrupted copy (Ctrl-C mid-import) stops both sides, leaves no temp files, and a re-run completes it", async () => {
    const abort = new AbortController();
    const ctx = { ...stepContext(hosts), signal: abort.signal };
    const step = copyStep(deps);
    const p = { database: "bulk", from: "old", to: "new" };
    const running = step.run(ctx, p).catch((x: unknown) => x);
    // Abort once the import has started writing rows (mid-import), not before the streams exist.
    for (let i = 0; i < 600; i++) {
      const n = newDb.sql("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='bulk'").trim();
      if (n !== "0") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    abort.abort();
    const e = (await running) as { code?: string };
    expect(e.code).toBe("ABORTED");
    expect((await step.verify(stepContext(hosts), p)).ok).toBe(false);
    expect(readdirSync("/tmp").filter((f) => /^handover-[A-Za-z0-9]{10}$/.test(f))).toEqual([]);
    await step.run(stepContext(hosts), p);
    expect(await step.verify(stepContext(hosts), p)).toMatchObject({ ok: true });
  });

  it("a dump that fails (no such database on old) fails the step naming mysqldump, without the password", async () => {
    const e = (await copyStep(deps)
      .run(stepContext(hosts), { database: "no_such_db", from: "old", to: "new" })
      .catch((x: unknown) => x)) as Error;
    expect(e.message).toMatch(/mysqldump on old exited with 2/);
    expect(e.message).toMatch(/no_such_db/);
    expect(e.message).not.toContain(oldDb.password);
  });

  it("db.create: databases and users from the old config, login works, a second run changes nothing, undo removes them", async () => {
    const conf = join(confDir, "glance-api.conf");
    writeFileSync(conf, "[database]\nconnection = mysql+pymysql://glance:Gl%40nce'pw@198.51.100.4/glance\n");
    const p = {
      service: "glance",
      databases: ["glance"],
      credentials: "keep",
      from: [{ database: "glance", file: conf, section: "database", key: "connection" }],
      secretFile: "/nonexistent/glance",
    };
    const ctx = stepContext(hosts);
    const step = createStep(deps);
    const undo = (await step.run(ctx, p)) as JsonObject;
    expect(await step.verify(ctx, p)).toMatchObject({ ok: true });
    expect(
      newDb
        .sql("SELECT CONCAT(User,'@',Host) FROM mysql.user WHERE User='glance' ORDER BY Host")
        .trim()
        .split("\n"),
    ).toEqual(["glance@%", "glance@localhost"]);
    const usersBefore = newDb.sql("SELECT User, Host, authentication_string FROM mysql.user ORDER BY 1, 2");
    const again = (await step.run(ctx, p)) as JsonObject;
    expect(newDb.sql("SELECT User, Host, authentication_string FROM mysql.user ORDER BY 1, 2")).toBe(
      usersBefore,
    );
    expect(again).toMatchObject({ createdDatabases: [], createdUsers: [] });
    await step.undo!(ctx, p, undo);
    expect(newDb.sql("SELECT COUNT(*) FROM mysql.user WHERE User='glance'").trim()).toBe("0");
    expect((await step.verify(ctx, p)).ok).toBe(false);
  });
});
