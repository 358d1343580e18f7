import { describe, expect, it } from "vitest";
import {
  compareSnapshots,
  formatLostWrites,
  lostWrites,
  lostWritesDue,
} from "../../../../src/engine/lost-writes.js";
import type { JournalState, StepState } from "../../../../src/engine/journal.js";
import type { PlannedStep } from "../../../../src/engine/step.js";
import { measureTables, snapshotStep } from "../../../../src/steps/db/snapshot.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

/**
 * A model of new's MariaDB for the snapshot's statements: `db -> table -> {rows, checksum}`, plus a heartbeat
 * table whose columns are listed and whose heartbeat-free sum is `hb`. Rules answer information_schema.TABLES,
 * the UNION ALL of counts (table names come as parameters), CHECKSUM TABLE (parsed from the SQL text),
 * information_schema.COLUMNS, the BIT_XOR query and information_schema.SCHEMATA.
 */
function model(sql: FakeSql) {
  const dbs = new Map<string, Map<string, { rows: number; checksum: number; hb?: string }>>([
    [
      "nova",
      new Map([
        ["instances", { rows: 2, checksum: 111 }],
        ["services", { rows: 3, checksum: 999, hb: "1234567890123456789" }],
      ]),
    ],
    ["glance", new Map([["images", { rows: 1, checksum: 222 }]])],
  ]);
  sql.on(/FROM information_schema.TABLES WHERE TABLE_SCHEMA = \?/, (p) =>
    [...(dbs.get(String(p[0]))?.keys() ?? [])].sort().map((t) => ({ t })),
  );
  sql.on(/COUNT\(\*\) AS n FROM `\w+`\.`\w+`( UNION ALL|$)/, (p) => {
    const last = sql.statements.at(-1)!.sql;
    const db = /FROM `(\w+)`/.exec(last)![1]!;
    return p.map((t) => ({ t, n: dbs.get(db)!.get(String(t))!.rows }));
  });
  sql.on(/^CHECKSUM TABLE /, () => {
    const last = sql.statements.at(-1)!.sql;
    return [...last.matchAll(/`(\w+)`\.`(\w+)`/g)].map((m) => ({
      Table: `${m[1]}.${m[2]}`,
      Checksum: dbs.get(m[1]!)!.get(m[2]!)!.checksum,
    }));
  });
  sql.on(/FROM information_schema.COLUMNS/, () =>
    ["id", "host", "updated_at", "report_count", "last_seen_up", "disabled"].map((c) => ({ c })),
  );
  sql.on(/BIT_XOR/, () => {
    const last = sql.statements.at(-1)!.sql;
    const m = /FROM `(\w+)`\.`(\w+)`/.exec(last)!;
    const t = dbs.get(m[1]!)!.get(m[2]!)!;
    return [{ n: t.rows, h: BigInt(t.hb!) }];
  });
  sql.on(/FROM information_schema.SCHEMATA/, (p) => p.filter((d) => dbs.has(String(d))).map((d) => ({ d })));
  return dbs;
}

const params = { databases: ["nova", "glance"] };

describe("db.snapshot", () => {
  it("records count and checksum per table on new; heartbeat tables without their heartbeat columns", async () => {
    const sql = new FakeSql();
    model(sql);
    const h = makeCtx({ new: new FakeHost("new", { unmatched: "throw" }) });
    const out = await snapshotStep(makeDeps(sql)).run(h.ctx, params);
    expect(out).toEqual({
      takenAt: "2026-01-01T00:00:00.000Z",
      tables: {
        "nova.instances": { rows: 2, checksum: "111" },
        "nova.services": { rows: 3, checksum: "hb:1234567890123456789" },
        "glance.images": { rows: 1, checksum: "222" },
      },
    });
    // Only new was asked; only reading statements; the heartbeat columns are left out of the row hash.
    expect(new Set(sql.statements.map((s) => s.host))).toEqual(new Set(["new"]));
    expect(sql.statements.every((s) => /^(SELECT|CHECKSUM)/.test(s.sql))).toBe(true);
    const hb = sql.statements.find((s) => s.sql.includes("BIT_XOR"))!.sql;
    expect(hb).toContain("`host`");
    expect(hb).not.toContain("`updated_at`");
    // One CHECKSUM TABLE per database, not per table.
    expect(sql.statements.filter((s) => s.sql.startsWith("CHECKSUM")).length).toBe(2);
  });

  it("verify proves the databases answer on new, and fails naming a missing one", async () => {
    const sql = new FakeSql();
    model(sql);
    const h = makeCtx({ new: new FakeHost("new") });
    const step = snapshotStep(makeDeps(sql));
    expect((await step.verify(h.ctx, params)).ok).toBe(true);
    const v = await step.verify(h.ctx, { databases: ["nova", "cinder"] });
    expect(v).toEqual({ ok: false, detail: "missing on new: cinder" });
  });

  it("measure sees a changed table", async () => {
    const sql = new FakeSql();
    const dbs = model(sql);
    const s = await sql.open(new FakeHost("new"));
    const before = await measureTables(s, ["nova"]);
    dbs.get("nova")!.set("instances", { rows: 4, checksum: 333 });
    const after = await measureTables(s, ["nova"]);
    expect(compareSnapshots(new Map(Object.entries(before)), new Map(Object.entries(after)))).toEqual([
      { table: "nova.instances", rowsBefore: 2, rowsNow: 4, rowDelta: 2 },
    ]);
  });
});

describe("compareSnapshots / formatLostWrites", () => {
  const m = (o: Record<string, [number, string | null]>) =>
    new Map(Object.entries(o).map(([k, [rows, checksum]]) => [k, { rows, checksum }]));

  it("lists changed, new and gone tables with row deltas; unchanged ones are left out", () => {
    const changes = compareSnapshots(
      m({
        "nova.instances": [2, "1"],
        "nova.quotas": [5, "7"],
        "glance.images": [1, "2"],
        "x.gone": [3, "4"],
      }),
      m({
        "nova.instances": [4, "9"],
        "nova.quotas": [5, "8"],
        "glance.images": [1, "2"],
        "y.new": [1, "5"],
      }),
    );
    expect(changes.map((c) => c.table)).toEqual(["nova.instances", "nova.quotas", "x.gone", "y.new"]);
    expect(formatLostWrites({ since: "2026-11-22T05:00:00.000Z", changes })).toBe(
      "Writes made on the new controller after the switch will be lost by a rollback (snapshot 2026-11-22T05:00:00.000Z): nova.instances +2 rows, nova.quotas rows changed in place, x.gone -3 rows (table gone), y.new +1 rows (new table).",
    );
  });

  it("nothing changed", () => {
    expect(
      formatLostWrites({ changes: compareSnapshots(m({ "a.b": [1, "1"] }), m({ "a.b": [1, "1"] })) }),
    ).toBe("No writes on the new controller since the switch: rollback loses nothing.");
  });
});

function st(
  id: string,
  kind: string,
  status: StepState["status"],
  undoData?: StepState["undoData"],
): StepState {
  const step: PlannedStep = {
    id,
    kind,
    title: id,
    phase: "switch",
    hosts: ["new"],
    reads: [],
    writes: [],
    commands: [],
    after: [],
    params: kind === "db.snapshot" ? { databases: ["nova"] } : {},
  };
  return { id, step, status, attempts: 1, ...(undoData ? { undoData } : {}) };
}

function journalState(steps: StepState[]): JournalState {
  return {
    plan: {
      version: 1,
      sourceRelease: "victoria",
      targetRelease: "zed",
      steps: steps.map((s) => s.step),
      warnings: [],
    },
    planHash: "x",
    steps,
    byId: new Map(steps.map((s) => [s.id, s])),
    finalized: false,
    lastSeq: 0,
  };
}

describe("lostWrites", () => {
  it("is due only when the snapshot is done and a move has started (a crash mid-move counts)", () => {
    expect(
      lostWritesDue(journalState([st("s", "db.snapshot", "done"), st("m", "net.move-address", "pending")])),
    ).toBeUndefined();
    expect(
      lostWritesDue(journalState([st("s", "db.snapshot", "running"), st("m", "net.move-address", "done")])),
    ).toBeUndefined();
    expect(
      lostWritesDue(journalState([st("s", "db.snapshot", "done"), st("m", "net.move-address", "running")])),
    ).toEqual({ stepId: "s" });
    expect(
      lostWritesDue(journalState([st("s", "db.snapshot", "done"), st("m", "net.move-address", "undone")])),
    ).toBeUndefined();
  });

  it("measures new again through the registry's db.snapshot and compares with the journaled numbers", async () => {
    const sql = new FakeSql();
    const dbs = model(sql);
    const neu = new FakeHost("new");
    const step = snapshotStep(makeDeps(sql));
    const taken = await step.run(makeCtx({ new: neu }).ctx, { databases: ["nova"] });
    dbs.get("nova")!.set("instances", { rows: 3, checksum: 444 });
    const r = await lostWrites({
      state: journalState([st("s", "db.snapshot", "done", taken!), st("m", "net.move-address", "done")]),
      registry: new Map([["db.snapshot", step]]),
      hosts: new Map([["new", neu]]),
    });
    expect(r).toEqual({
      since: "2026-01-01T00:00:00.000Z",
      changes: [{ table: "nova.instances", rowsBefore: 2, rowsNow: 3, rowDelta: 1 }],
    });
  });
});
