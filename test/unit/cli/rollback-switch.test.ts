/**
 * `handover rollback` around the switch (issue 6), in-process over run-fakes.ts:
 * - after a crash mid-switch (the move step journaled a checkpoint, then the process died: no step-done, no
 *   step-failed), the move is undone with what it checkpointed;
 * - once the switch moves started and the snapshot step is done, the writes a rollback would lose are reported
 *   BEFORE the question (and with --yes, before the undos).
 *
 * The snapshot step here is a fake `db.snapshot` on host "w": `measure` reads the test's `tables` map (db.table ->
 * rows/checksum), `run` returns it as the journaled snapshot, verify passes, undo does nothing. Its real
 * implementation is tested in test/unit/steps/db/snapshot.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { rollbackCommand } from "../../../src/cli/commands/rollback.js";
import { runCommand } from "../../../src/cli/commands/run.js";
import { JOURNAL_FILE } from "../../../src/engine/journal.js";
import type { JsonObject, Plan, StepImpl } from "../../../src/engine/step.js";
import { Harness, sorted } from "../engine/harness.js";
import {
  answersDir,
  cleanupTemps,
  depsFor,
  exitsWith,
  fixture,
  initialWorld,
  invoke,
  recordingIo,
  testPlan,
  text,
  type Fixture,
} from "./run-fakes.js";

afterEach(cleanupTemps);

/** Keeps the journal up to the last record matching `keep`: what a crash right after that record leaves. */
function crashAfter(stateDir: string, keep: (r: { type: string; stepId?: string }) => boolean): void {
  const file = join(stateDir, JOURNAL_FILE);
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  let last = -1;
  lines.forEach((l, i) => {
    if (keep(JSON.parse(l) as { type: string; stepId?: string })) last = i;
  });
  expect(last).toBeGreaterThan(0);
  writeFileSync(file, `${lines.slice(0, last + 1).join("\n")}\n`);
}

describe("rollback after a crash mid-switch", () => {
  it("undoes the move that checkpointed but never finished, and everything before it", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "net.m", mutation: 1 } });
    await exitsWith(1, runCommand, dir, fx, { yes: true });
    // The process died after the checkpoint and after the move took effect: no step-failed, no run-end.
    crashAfter(stateDir, (r) => r.type === "step-checkpoint" && r.stepId === "net.m");
    fx.world.set("m", "moved");
    fx.harness = new Harness(fx.world);

    const io2 = await exitsWith(0, rollbackCommand, dir, fx, { yes: true });
    const out = text(io2.out);
    expect(out).toMatch(/^undone +net\.m +w$/m);
    expect(out).toContain("Rollback complete: 6 step(s) undone.");
    expect(sorted(fx.world)).toEqual(sorted(initialWorld()));
  });
});

/** testPlan with a db.snapshot step between the gate and the move, and the move of kind net.move-address. */
function snapshotPlan(): Plan {
  const p = testPlan();
  const steps = p.steps.flatMap((s) => {
    if (s.id === "net.m")
      return [
        {
          ...s,
          id: "switch.db.snapshot",
          kind: "db.snapshot",
          title: "snapshot",
          writes: [],
          reads: ["w:db:nova"],
          params: {},
        },
        { ...s, kind: "net.move-address", after: ["switch.db.snapshot"] },
      ];
    return [s];
  });
  return { ...p, steps };
}

function withSnapshot(
  fx: Fixture,
  tables: Map<string, { rows: number; checksum: string }>,
  fail?: string,
): void {
  const snap = (): JsonObject => Object.fromEntries([...tables].map(([k, v]) => [k, { ...v }]));
  const impl: StepImpl & { measure(): Promise<JsonObject> } = {
    kind: "db.snapshot",
    measure: () => (fail ? Promise.reject(new Error(fail)) : Promise.resolve(snap())),
    run: () => Promise.resolve({ takenAt: "2026-11-22T12:00:30.000Z", tables: snap() }),
    verify: () => Promise.resolve({ ok: true, detail: "ok" }),
    undo: () => Promise.resolve(),
  };
  const base = fx.registry;
  fx.plan = snapshotPlan;
  fx.registry = () => {
    const m = new Map(base());
    m.set("db.snapshot", impl);
    m.set("net.move-address", m.get("set")!);
    return m;
  };
}

async function switchedRun(fail?: string) {
  const { dir } = answersDir();
  const fx = fixture();
  const tables = new Map([
    ["nova.instances", { rows: 2, checksum: "11" }],
    ["glance.images", { rows: 1, checksum: "22" }],
  ]);
  withSnapshot(fx, tables, fail);
  await exitsWith(0, runCommand, dir, fx, { yes: true });
  expect(fx.world.get("m")).toBe("moved");
  return { dir, fx, tables };
}

describe("rollback reports the writes it would lose", () => {
  it("lists changed tables with row deltas before the undos (--yes)", async () => {
    const { dir, fx, tables } = await switchedRun();
    tables.set("nova.instances", { rows: 4, checksum: "99" });
    const io = await exitsWith(0, rollbackCommand, dir, fx, { yes: true });
    const out = text(io.out);
    const report = out.indexOf(
      "Writes made on the new controller after the switch will be lost by a rollback (snapshot 2026-11-22T12:00:30.000Z): nova.instances +2 rows.",
    );
    expect(report).toBeGreaterThanOrEqual(0);
    expect(report).toBeLessThan(out.indexOf("Rollback complete"));
    expect(fx.world.has("m")).toBe(false);
  });

  it("on a terminal the report comes before the question; a no changes nothing", async () => {
    const { dir, fx, tables } = await switchedRun();
    tables.set("glance.images", { rows: 1, checksum: "23" });
    fx.answers.push(false);
    const io = recordingIo(dir, true);
    const lines: string[] = [];
    const deps = depsFor(fx);
    expect(
      await invoke(io, () =>
        rollbackCommand({ file: "answers.yaml", plain: true }, io, {
          ...deps,
          confirm: (m, s) => {
            lines.push(text(io.out));
            return deps.confirm(m, s);
          },
        }),
      ),
    ).toBe(1);
    expect(lines[0]).toContain("glance.images rows changed in place");
    expect(text(io.out)).toContain("Rollback not confirmed; nothing was changed.");
    expect(fx.world.get("m")).toBe("moved");
  });

  it("says when nothing was written", async () => {
    const { dir, fx } = await switchedRun();
    const io = await exitsWith(0, rollbackCommand, dir, fx, { yes: true });
    expect(text(io.out)).toContain("No writes on the new controller since the switch");
  });

  it("a measurement that fails is said plainly and does not block the rollback", async () => {
    const { dir, fx } = await switchedRun("Access denied for user 'root'");
    const io = await exitsWith(0, rollbackCommand, dir, fx, { yes: true });
    expect(text(io.out)).toContain(
      "Could not compare the new controller's databases with the snapshot taken at the switch (Access denied",
    );
    expect(fx.world.has("m")).toBe(false);
  });

  it("before any move started there is no report, and the question comes before any host is contacted", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    withSnapshot(fx, new Map([["nova.instances", { rows: 2, checksum: "11" }]]));
    // The switch gate is declined: neither the snapshot nor the move runs.
    fx.answers.push(false);
    await exitsWith(1, runCommand, dir, fx, { plain: true }, true);
    expect(fx.world.has("m")).toBe(false);
    const opened = fx.sessionsOpened;
    fx.answers.push(false);
    const io2 = await exitsWith(1, rollbackCommand, dir, fx, {}, true);
    expect(text(io2.out)).not.toMatch(/Writes made|No writes/);
    expect(text(io2.out)).toContain("Rollback not confirmed; nothing was changed.");
    expect(fx.sessionsOpened).toBe(opened);
  });
});
