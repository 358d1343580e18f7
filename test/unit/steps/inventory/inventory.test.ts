import { describe, expect, it } from "vitest";
import { inventorySteps } from "../../../../src/steps/inventory/index.js";
import type { StepImpl } from "../../../../src/engine/step.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

/** A FakeSql whose hosts hold tables with these row counts (table "db.table" -> count; absent: no such table). */
function sqlWith(counts: Record<string, Record<string, number>>): FakeSql {
  return new FakeSql()
    .on(/information_schema\.COLUMNS/, (params, { host }) => {
      const key = `${String(params[0])}.${String(params[1])}`;
      return key in (counts[host] ?? {}) ? [{ c: "id" }, { c: "deleted" }, { c: "is_domain" }] : [];
    })
    .on(/SELECT COUNT\(\*\) AS n FROM `(\w+)`\.`(\w+)`/, () => [{ n: -1 }]);
}

function scripted(counts: Record<string, Record<string, number>>): FakeSql {
  const sql = sqlWith(counts);
  for (const [host, tables] of Object.entries(counts)) {
    for (const [key, n] of Object.entries(tables)) {
      const [db, table] = key.split(".");
      sql.on(new RegExp(`FROM \`${db}\`\\.\`${table}\`( WHERE|$)`), [{ n }], { host });
    }
  }
  return sql;
}

const OLD = {
  "keystone.project": 4,
  "keystone.user": 3,
  "keystone.endpoint": 15,
  "glance.images": 2,
  "nova.instances": 1,
  "nova.block_device_mapping": 2,
};
const params = {
  host: "old",
  services: ["keystone", "glance", "nova"],
  databases: ["keystone", "glance", "nova"],
};
const compare = {
  host: "new",
  against: "pre.inventory.old",
  services: params.services,
  databases: params.databases,
};

function steps(sql: FakeSql): Record<string, StepImpl> {
  const list = inventorySteps(makeDeps(sql));
  return Object.fromEntries(list.map((s) => [s.kind, s]));
}

describe("inventory", () => {
  it("capture counts the objects by read-only SQL on old, skipping soft-deleted rows and tables a release lacks", async () => {
    const sql = scripted({ old: OLD });
    const h = makeCtx({ old: new FakeHost("old"), new: new FakeHost("new") });
    const res = await steps(sql)["inventory.capture"]!.run(h.ctx, params);
    expect(res).toEqual({
      counts: { projects: 4, users: 3, endpoints: 15, images: 2, instances: 1, "block device mappings": 2 },
    });
    expect(sql.sqlOn("old")).toContain("SELECT COUNT(*) AS n FROM `glance`.`images` WHERE deleted = 0");
    expect(sql.sqlOn("old")).toContain("SELECT COUNT(*) AS n FROM `keystone`.`project` WHERE is_domain = 0");
    expect(sql.sqlOn("old").filter((q) => !/^(SELECT|SET SESSION TRANSACTION READ ONLY$)/.test(q))).toEqual(
      [],
    );
  });

  it("compare against the captured counts: equal passes; a difference fails listing it", async () => {
    const captured = {
      counts: { projects: 4, users: 3, endpoints: 15, images: 2, instances: 1, "block device mappings": 2 },
    };
    const h = makeCtx({ old: new FakeHost("old"), new: new FakeHost("new") });
    // The engine hands steps a done step's journaled result through ctx.resultOf.
    const ctx = { ...h.ctx, resultOf: (id: string) => (id === "pre.inventory.old" ? captured : undefined) };
    const same = steps(scripted({ new: OLD }));
    await same["inventory.compare"]!.run(ctx, compare);
    expect(await same["inventory.compare"]!.verify(ctx, compare)).toMatchObject({ ok: true });

    const differ = steps(scripted({ new: { ...OLD, "glance.images": 1, "nova.instances": 0 } }));
    await expect(
      differ["inventory.compare"]!.run({ ...h.ctx, resultOf: () => captured }, compare),
    ).rejects.toThrow(
      /differs from the counts pre\.inventory\.old recorded:\n {2}images: before 2, after 1\n {2}instances: before 1, after 0/,
    );
  });

  it("the engine's resultOf (the journal's done capture) is the baseline; old is not asked", async () => {
    const captured = {
      counts: { projects: 4, users: 3, endpoints: 15, images: 2, instances: 1, "block device mappings": 2 },
    };
    const sql = scripted({ new: { ...OLD, "nova.instances": 2 } });
    const h = makeCtx({ new: new FakeHost("new") });
    const ctx = { ...h.ctx, resultOf: (id: string) => (id === "pre.inventory.old" ? captured : undefined) };
    await expect(steps(sql)["inventory.compare"]!.run(ctx, compare)).rejects.toThrow(
      /differs from the counts pre\.inventory\.old recorded:\n {2}instances: before 1, after 2/,
    );
    expect(sql.sqlOn("old")).toEqual([]);
  });

  it("without the captured result, compare counts old again", async () => {
    const sql = scripted({ old: OLD, new: { ...OLD, "keystone.user": 2 } });
    const h = makeCtx({ old: new FakeHost("old"), new: new FakeHost("new") });
    await expect(steps(sql)["inventory.compare"]!.run(h.ctx, compare)).rejects.toThrow(
      /from old's databases now:\n {2}users: before 3, after 2/,
    );
  });
});
