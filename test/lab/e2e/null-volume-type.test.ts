/**
 * A scenario whose data breaks a migration (test/lab/scenarios/null-volume-type: one cinder volume with a NULL
 * volume_type_id, which makes Zed's cinder db sync abort): `handover plan` and `handover run` refuse before
 * changing anything, naming cinder, the check and the offending count; old is untouched and new holds nothing.
 * Ends by bringing the lab back to the basic scenario for the tests after it.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Controllers } from "../../../src/cli/open-controllers.js";
import type { SqlReader } from "../../../src/discovery/sql.js";
import { labDescribe } from "../setup/lab-context.js";
import {
  controllers,
  doneSteps,
  handover,
  migrationAnswers,
  oldBaseline,
  oldChanges,
  readJournal,
  resetLab,
  SCENARIOS,
  type HandoverResult,
} from "./e2e-helpers.js";

labDescribe("a NULL cinder volume_type_id stops handover before it changes anything", () => {
  let ctl: Controllers;
  let oldSql: SqlReader;
  let base: Awaited<ReturnType<typeof oldBaseline>>;
  let plan: HandoverResult;
  let run: HandoverResult;
  let stateDir: string;

  beforeAll(async () => {
    await resetLab(join(SCENARIOS, "null-volume-type"));
    const m = migrationAnswers("null-volume-type");
    stateDir = m.stateDir;
    ctl = await controllers(m.answers);
    oldSql = await ctl.old.openSql();
    base = await oldBaseline(oldSql);
    plan = await handover(["plan", "-f", m.answers]);
    run = await handover(["run", "-f", m.answers, "--yes", "--plain"]);
  });

  afterAll(async () => {
    await oldSql?.close();
    await ctl?.close();
    await resetLab();
  });

  it("the scenario holds exactly one untyped volume on old", async () => {
    const [r] = await oldSql.query(
      "cinder",
      "SELECT COUNT(*) AS n FROM volumes WHERE volume_type_id IS NULL",
    );
    expect(Number(r?.n)).toBe(1);
  });

  for (const [name, res] of [
    ["plan", () => plan],
    ["run", () => run],
  ] as const) {
    it(`handover ${name} refuses, naming cinder, the check and the count`, () => {
      const r = res();
      expect(r.code, r.output).not.toBe(0);
      expect(r.output).toMatch(/cinder/);
      expect(r.output).toMatch(/volume_type_id|untyped/);
      expect(r.output).toMatch(/\b1\b/);
      console.info(`handover ${name} said:\n${r.output.trim().split("\n").slice(-8).join("\n")}`);
    });
  }

  it("run changed nothing on new: no step done, no OpenStack database there", async () => {
    expect([...doneSteps(readJournal(stateDir)).keys()].filter((id) => !id.startsWith("pre."))).toEqual([]);
    const r = await ctl.new.host.exec(["sh", "-c", "ls /var/lib/mysql 2>/dev/null || true"]);
    for (const db of ["keystone", "nova", "cinder", "neutron", "glance"])
      expect(r.stdout.split("\n"), db).not.toContain(db);
  });

  it("old is untouched (CHECKSUM TABLE before and after; heartbeat columns left out)", async () => {
    expect(await oldChanges(oldSql, base)).toEqual([]);
    expect(base.sums.size).toBeGreaterThan(50);
  });
});
