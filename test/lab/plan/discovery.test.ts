/**
 * `handover plan` against the real lab: discovery over SSH (strict host keys) and MySQL through the SSH
 * connections finds Victoria on old, a bare new controller, the computes in nova's database, and real database
 * sizes; and it changes nothing: CHECKSUM TABLE over every table of every old database is identical before
 * and after (tables that the running daemons write on their own are compared only when they did not change
 * between two baseline readings, see LIVE below).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadAnswers } from "../../../src/answers/index.js";
import type { CliIo } from "../../../src/cli/io.js";
import {
  openControllers,
  resolveSecretsOrFail,
  type Controllers,
} from "../../../src/cli/open-controllers.js";
import { runCli } from "../../../src/cli/run-cli.js";
import { isPlainIdentifier, type SqlReader } from "../../../src/discovery/sql.js";
import type { Facts } from "../../../src/plan/facts.js";
import { labAnswersPath, labDescribe } from "../setup/lab-context.js";
import { resetLab } from "../e2e/e2e-helpers.js";

function io(out: string[], err: string[]): CliIo {
  return {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: process.env,
    cwd: process.cwd(),
    isTTY: false,
  };
}

/** `db.table` -> CHECKSUM TABLE value, for every base table outside the system schemas. */
async function checksums(sql: SqlReader): Promise<Map<string, string>> {
  const tables = await sql.query(
    undefined,
    "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' " +
      "AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2",
  );
  const names = tables.map((r) => `${String(r.db)}.${String(r.tbl)}`);
  const out = new Map<string, string>();
  // CHECKSUM TABLE takes identifiers, not parameters: only plain names (all OpenStack tables are) are quoted in.
  for (let i = 0; i < names.length; i += 50) {
    const batch = names.slice(i, i + 50).filter((n) => n.split(".").every(isPlainIdentifier));
    if (batch.length === 0) continue;
    const list = batch
      .map((n) =>
        n
          .split(".")
          .map((p) => `\`${p}\``)
          .join("."),
      )
      .join(", ");
    for (const r of await sql.query(undefined, `CHECKSUM TABLE ${list}`)) {
      out.set(String(r.Table), String(r.Checksum));
    }
  }
  return out;
}

function changed(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

labDescribe("handover plan against the lab", () => {
  let ctl: Controllers;
  let oldSql: SqlReader;
  let before: Map<string, string>;
  let live: string[];
  let facts: Facts;
  let code: number;
  let out: string[];
  let err: string[];
  let dir: string;

  beforeAll(async () => {
    // Needs the freshly seeded lab (bare new, basic scenario): earlier files may have migrated it.
    await resetLab();
    const answersPath = labAnswersPath();
    const loaded = await loadAnswers(answersPath);
    const secrets = await resolveSecretsOrFail(loaded, io([], []), dirname(answersPath));
    ctl = openControllers(loaded.answers, secrets, io([], []));
    oldSql = await ctl.old.openSql();
    // Two baseline readings: tables that change between them are written by the lab's running daemons
    // (heartbeats in nova/cinder services, neutron agents), not by discovery; they are reported, not compared.
    const first = await checksums(oldSql);
    await new Promise((r) => setTimeout(r, 12_000));
    before = await checksums(oldSql);
    live = changed(first, before);

    dir = mkdtempSync(join(tmpdir(), "handover-lab-plan-"));
    out = [];
    err = [];
    code = await runCli(
      ["plan", "-f", answersPath, "--json", "--save-facts", join(dir, "facts.json")],
      io(out, err),
    );
    facts = JSON.parse(readFileSync(join(dir, "facts.json"), "utf8")) as Facts;
  });

  afterAll(async () => {
    await oldSql?.close();
    await ctl?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("prints a plan (exit 0)", () => {
    expect(code, err.join("\n")).toBe(0);
    const doc = JSON.parse(out.join("\n")) as { plan: { steps: { id: string }[] } };
    expect(doc.plan.steps.map((s) => s.id)).toContain("db.nova.import");
  });

  it("finds Victoria on the old controller with its services, databases and MariaDB", () => {
    const old = facts.controllers.old;
    expect(old.os.codename).toBe("bullseye");
    expect(old.release).toBe("victoria");
    for (const s of ["keystone", "glance", "placement", "nova", "neutron", "cinder"])
      expect(old.services).toContain(s);
    expect(old.mysqlVersion).toMatch(/MariaDB/);
    for (const db of [
      "keystone",
      "glance",
      "nova_api",
      "nova",
      "nova_cell0",
      "neutron",
      "cinder",
      "placement",
    ]) {
      const d = old.databases.find((x) => x.name === db);
      expect(d, db).toBeDefined();
      expect(d!.sizeBytes, db).toBeGreaterThan(0);
      expect(d!.tables, db).toBeGreaterThan(0);
    }
    expect(old.disk.find((d) => d.path === "/")?.freeBytes).toBeGreaterThan(0);
    expect(old.interfaces.flatMap((i) => i.addresses).length).toBeGreaterThan(0);
  });

  it("finds a bare new controller", () => {
    const neu = facts.controllers.new;
    expect(neu.os.codename).toBe("bookworm");
    expect(neu.release).toBeUndefined();
    expect(neu.services).toEqual([]);
    expect(neu.disk.find((d) => d.path === "/var/lib/mysql")?.freeBytes).toBeGreaterThan(0);
  });

  it("finds the computes, cells, volumes, images and roles in the old databases", () => {
    expect(facts.nova?.cells.length).toBeGreaterThanOrEqual(2);
    expect(facts.nova?.computes.length).toBeGreaterThanOrEqual(1);
    expect(facts.nova?.computes.every((c) => c.host.length > 0)).toBe(true);
    expect(facts.cinder?.volumes.length).toBeGreaterThan(0);
    expect(facts.glance?.store).toBe("file");
    expect(facts.glance?.images).toBeGreaterThan(0);
    expect(facts.keystoneRoles).toContain("admin");
    expect(Object.keys(facts.dataChecks ?? {}).length).toBeGreaterThan(0);
  });

  it("leaves every old table as it was", async () => {
    const after = await checksums(oldSql);
    expect(before.size).toBeGreaterThan(50);
    const diff = changed(before, after).filter((t) => !live.includes(t));
    expect(diff).toEqual([]);
    console.info(
      `checksummed ${before.size} tables; ${live.length} written by running daemons: ${live.join(", ")}`,
    );
    // Most tables must be compared: if the daemons touched many, this test would prove little.
    expect(live.length).toBeLessThan(before.size / 10);
  });
});
