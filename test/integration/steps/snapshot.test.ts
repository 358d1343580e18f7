/**
 * db.snapshot and the lost-writes comparison against a real MariaDB over a real loopback sshd (the path handover
 * uses on the new controller): the SQL it sends (UNION ALL of counts with the table names as parameters, one
 * CHECKSUM TABLE per database, the heartbeat-free BIT_XOR) must be accepted by the server and give numbers that
 * move with writes and stay put without them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareSnapshots } from "../../../src/engine/lost-writes.js";
import type { StepContext } from "../../../src/engine/step.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { snapshotStep, type Snapshot } from "../../../src/steps/db/snapshot.js";
import { realStepDeps } from "../../../src/steps/real-deps.js";
import { mariadbSkipReason, startMariaDb, type MariaDb } from "../hosts/fixtures/mariadb.js";
import { sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";
import { loopbackHost, stepContext } from "./loopback.js";

const skip = sshdSkipReason() ?? mariadbSkipReason();
if (skip) console.warn(`SKIPPED db.snapshot integration tests: ${skip}`);

describe.skipIf(skip !== undefined)("db.snapshot against real MariaDB over SSH", () => {
  let sshd: Sshd;
  let db: MariaDb;
  let host: SshHost;
  let ctx: StepContext;

  beforeAll(async () => {
    [sshd, db] = await Promise.all([startSshd(), startMariaDb()]);
    host = loopbackHost(sshd, "new");
    ctx = stepContext({ new: host });
    db.sql(`CREATE DATABASE nova;
      CREATE TABLE nova.instances (id INT AUTO_INCREMENT PRIMARY KEY, uuid CHAR(36), name VARCHAR(64)) ENGINE=InnoDB;
      CREATE TABLE nova.services (id INT AUTO_INCREMENT PRIMARY KEY, host VARCHAR(64), updated_at DATETIME, report_count INT, last_seen_up DATETIME, disabled TINYINT) ENGINE=InnoDB;
      CREATE VIEW nova.v AS SELECT id FROM nova.instances;
      INSERT INTO nova.instances (uuid, name) VALUES (UUID(), 'a'), (UUID(), 'b');
      INSERT INTO nova.services (host, updated_at, report_count, disabled) VALUES ('compute1', NOW(), 1, 0);
      CREATE DATABASE glance;
      CREATE TABLE glance.images (id CHAR(36) PRIMARY KEY, status VARCHAR(30)) ENGINE=InnoDB;`);
  }, 120_000);

  afterAll(async () => {
    await host?.close();
    await Promise.allSettled([sshd?.stop(), db?.stop()]);
  });

  it("records every base table, ignores heartbeats, and sees inserts and in-place updates", async () => {
    const step = snapshotStep(
      realStepDeps({ new: { user: db.user, password: db.password, host: "127.0.0.1", port: db.port } }),
    );
    const params = { databases: ["nova", "glance"] };
    const out = (await step.run(ctx, params)) as unknown as { tables: Snapshot };
    expect(Object.keys(out.tables).sort()).toEqual(["glance.images", "nova.instances", "nova.services"]);
    expect(out.tables["nova.instances"]!.rows).toBe(2);
    expect(out.tables["nova.instances"]!.checksum).toMatch(/^\d+$/);
    expect(out.tables["glance.images"]).toEqual({ rows: 0, checksum: "0" });
    expect((await step.verify(ctx, params)).ok).toBe(true);

    // Heartbeats only: nothing to report.
    db.sql(
      "UPDATE nova.services SET updated_at = NOW() + INTERVAL 1 MINUTE, report_count = report_count + 1",
    );
    const same = await step.measure(ctx, params);
    expect(compareSnapshots(new Map(Object.entries(out.tables)), new Map(Object.entries(same)))).toEqual([]);

    // Writes a rollback would lose.
    db.sql(`INSERT INTO nova.instances (uuid, name) VALUES (UUID(), 'c');
      UPDATE nova.services SET disabled = 1;
      INSERT INTO glance.images VALUES ('i1', 'active'), ('i2', 'active')`);
    const now = await step.measure(ctx, params);
    expect(compareSnapshots(new Map(Object.entries(out.tables)), new Map(Object.entries(now)))).toEqual([
      { table: "glance.images", rowsBefore: 0, rowsNow: 2, rowDelta: 2 },
      { table: "nova.instances", rowsBefore: 2, rowsNow: 3, rowDelta: 1 },
      { table: "nova.services", rowsBefore: 1, rowsNow: 1, rowDelta: 0 },
    ]);
  }, 60_000);
});
