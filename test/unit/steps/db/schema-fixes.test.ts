import { describe, expect, it } from "vitest";
import { FakeHost } from "../../../fakes/fake-host.js";
import { convertCharsetStep } from "../../../../src/steps/db/convert-charset.js";
import { copyTablesStep } from "../../../../src/steps/db/copy-tables.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

describe("db.convert-charset", () => {
  const params = {
    database: "glance",
    tables: ["images", "image_tags"],
    charset: "utf8",
    coveredBy: "db.glance.import",
  };

  it("converts only tables not yet in utf8, with foreign key checks off; verify reads the collations", async () => {
    const sql = new FakeSql();
    const collations = new Map([
      ["images", "latin1_swedish_ci"],
      ["image_tags", "utf8mb3_general_ci"],
    ]);
    sql.on(/TABLE_COLLATION AS c FROM information_schema.TABLES/, () =>
      [...collations].map(([t, c]) => ({ t, c })),
    );
    sql.on(/^ALTER TABLE `glance`.`(\w+)` CONVERT/, () => {
      collations.set("images", "utf8_general_ci");
      return { affectedRows: 0 };
    });
    const h = makeCtx({ new: new FakeHost("new") });
    const step = convertCharsetStep(makeDeps(sql));
    expect(await step.verify(h.ctx, params)).toMatchObject({
      ok: false,
      detail: expect.stringContaining("images (latin1_swedish_ci)"),
    });
    await step.run(h.ctx, params);
    expect(sql.sqlOn("new").filter((s) => s.startsWith("ALTER TABLE"))).toEqual([
      "ALTER TABLE `glance`.`images` CONVERT TO CHARACTER SET utf8 COLLATE utf8_general_ci",
    ]);
    expect(sql.sqlOn("new")).toContain("SET SESSION foreign_key_checks = 0");
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
  });
});

describe("db.copy-tables", () => {
  const params = {
    from: "nova_api",
    to: "placement",
    tables: ["resource_providers", "consumers"],
    coveredBy: "prov.db.placement",
  };

  it("copies the tables the source has (CREATE LIKE + INSERT SELECT), skips missing ones, verify compares counts", async () => {
    const sql = new FakeSql();
    sql.on(/^SHOW FULL TABLES FROM `nova_api`/, [{ t: "resource_providers" }, { t: "instance_mappings" }]);
    sql.on(/^SHOW FULL TABLES FROM `placement`/, [{ t: "resource_providers" }]);
    sql.on(/COUNT\(\*\) FROM `nova_api`.`resource_providers`/, [{ n: 2 }]);
    sql.on(/COUNT\(\*\) FROM `placement`.`resource_providers`/, [{ n: 2 }]);
    const h = makeCtx({ new: new FakeHost("new") });
    const step = copyTablesStep(makeDeps(sql));
    await step.run(h.ctx, params);
    expect(sql.sqlOn("new").filter((s) => !s.startsWith("SHOW"))).toEqual([
      "SET SESSION foreign_key_checks = 0",
      "DROP TABLE IF EXISTS `placement`.`resource_providers`",
      "CREATE TABLE `placement`.`resource_providers` LIKE `nova_api`.`resource_providers`",
      "INSERT INTO `placement`.`resource_providers` SELECT * FROM `nova_api`.`resource_providers`",
    ]);
    expect(h.events.some((e) => e.type === "log" && e.message.includes("consumers does not exist"))).toBe(
      true,
    );
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    sql.on(/COUNT\(\*\) FROM `placement`.`resource_providers`/, [{ n: 1 }]);
    expect(await step.verify(h.ctx, params)).toMatchObject({
      ok: false,
      detail: "resource_providers: nova_api 2 rows, placement 1",
    });
  });
});
