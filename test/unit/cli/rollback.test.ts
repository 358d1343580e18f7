/**
 * `handover rollback` and `handover finalize` in-process: confirmation rules (terminal / --yes / refusal without
 * either), the per-step outcome table and exit codes, a failing undo, and the point of no return: finalize runs
 * the finalize steps, marks the journal final, and rollback (and run) are refused afterwards.
 */
import { afterEach, describe, expect, it } from "vitest";
import { finalizeCommand } from "../../../src/cli/commands/finalize.js";
import { formatOutcomes, rollbackCommand } from "../../../src/cli/commands/rollback.js";
import { runCommand } from "../../../src/cli/commands/run.js";
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
  text,
  type Fixture,
} from "./run-fakes.js";

afterEach(cleanupTemps);

async function completedRun(): Promise<{ dir: string; fx: Fixture }> {
  const { dir } = answersDir();
  const fx = fixture();
  await exitsWith(0, runCommand, dir, fx, { yes: true });
  return { dir, fx };
}

describe("handover rollback", () => {
  it("without a terminal needs --yes and changes nothing without it", async () => {
    const { dir, fx } = await completedRun();
    const before = sorted(fx.world);
    const io = await exitsWith(1, rollbackCommand, dir, fx);
    expect(text(io.err)).toContain("[ROLLBACK_NEEDS_YES]");
    expect(text(io.err)).toContain("--yes");
    expect(sorted(fx.world)).toEqual(before);
    expect(fx.host.fileText("/etc/marker")).toBe("migrated");
  });

  it("with --yes undoes every step newest first, prints the outcome table, exits 0", async () => {
    const { dir, fx } = await completedRun();
    const io = await exitsWith(0, rollbackCommand, dir, fx, { yes: true });
    expect(sorted(fx.world)).toEqual(sorted(initialWorld()));
    expect(fx.host.fileText("/etc/marker")).toBeUndefined();
    const out = text(io.out);
    expect(out).toMatch(/^outcome +step +hosts +detail$/m);
    expect(out).toMatch(/^undone +net\.m +w$/m);
    expect(out).toMatch(/^undone +switch\.confirm +-$/m);
    expect(out).toContain("Rollback complete: 6 step(s) undone.");
    // Plain progress lines for the undos, newest first.
    const order = io.out
      .join("\n")
      .split("\n")
      .filter((l) => / ↺ /.test(l))
      .map((l) => l.split(" ")[2]);
    expect(order[0]).toBe("net.m");
    expect(order[order.length - 1]).toBe("pre.a");
  });

  it("on a terminal asks first; a no changes nothing", async () => {
    const { dir, fx } = await completedRun();
    fx.answers.push(false);
    const io = await exitsWith(1, rollbackCommand, dir, fx, { plain: true }, true);
    expect(fx.asked[0]).toMatch(/^Undo 6 step\(s\) on w, newest first/);
    expect(text(io.out)).toContain("Rollback not confirmed; nothing was changed.");
    expect(fx.world.get("m")).toBe("moved");
  });

  it("keeps going past a failed undo, marks it FAILED in the table and exits 1; running it again finishes", async () => {
    const { dir, fx } = await completedRun();
    fx.harness = new Harness(fx.world, { failUndo: "cfg.c" });
    const io = await exitsWith(1, rollbackCommand, dir, fx, { yes: true });
    const out = text(io.out);
    expect(out).toMatch(/^FAILED +cfg\.c +w +undo of cfg\.c failed \(injected\)$/m);
    expect(out).toMatch(/^undone +db\.b +w$/m);
    expect(out).toContain("Rollback incomplete: 5 undone; 1 failed (cfg.c).");
    expect(fx.world.get("c")).toBe("A+B");
    expect(fx.world.get("b")).toBeUndefined();

    fx.harness = new Harness(fx.world);
    const io2 = await exitsWith(0, rollbackCommand, dir, fx, { yes: true });
    expect(text(io2.out)).toMatch(/^already undone +net\.m/m);
    expect(sorted(fx.world)).toEqual(sorted(initialWorld()));
  });

  it("refuses when nothing has run in the state dir", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    const io = await exitsWith(1, rollbackCommand, dir, fx, { yes: true });
    expect(text(io.err)).toContain("[JOURNAL_MISSING]");
    expect(fx.sessionsOpened).toBe(0);
  });

  it("formats an empty outcome list as nothing to undo", () => {
    expect(formatOutcomes([])).toBe("Nothing to undo: no step had started.");
  });
});

describe("handover finalize", () => {
  it("refuses before the run is complete", async () => {
    const { dir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "net.m", mutation: 1 } });
    const io = recordingIo(dir);
    await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, depsFor(fx)));
    const io2 = await exitsWith(1, finalizeCommand, dir, fx, { yes: true });
    expect(text(io2.err)).toContain("[NOT_READY_TO_FINALIZE]");
    expect(text(io2.err)).toContain("net.m");
    expect(fx.world.has("z")).toBe(false);
  });

  it("needs --yes without a terminal, lists the irreversible steps, runs them and marks the journal final", async () => {
    const { dir, fx } = await completedRun();
    const io = await exitsWith(1, finalizeCommand, dir, fx);
    expect(text(io.err)).toContain("[FINALIZE_NEEDS_YES]");
    expect(text(io.out)).toContain(
      "fin.z  step fin.z  [irreversible: the schema no longer serves the source release]",
    );
    expect(fx.world.has("z")).toBe(false);

    const io2 = await exitsWith(0, finalizeCommand, dir, fx, { yes: true });
    expect(fx.world.get("z")).toBe("contracted");
    expect(text(io2.out)).toMatch(/Finalized at .*; rollback is no longer possible\./);

    // The point of no return: rollback explains and touches nothing; run has nothing left.
    const io3 = await exitsWith(1, rollbackCommand, dir, fx, { yes: true });
    expect(text(io3.err)).toContain("[ROLLBACK_FINALIZED]");
    expect(text(io3.err)).toContain("rollback is refused");
    expect(fx.world.get("m")).toBe("moved");
    const io4 = await exitsWith(1, runCommand, dir, fx, { yes: true });
    expect(text(io4.err)).toContain("[JOURNAL_FINALIZED]");
  });

  it("a finalize that fails midway is finished by running finalize again; run meanwhile points there", async () => {
    const { dir, fx } = await completedRun();
    fx.harness = new Harness(fx.world, { throwAt: { stepId: "fin.z", mutation: 1 } });
    const io = await exitsWith(1, finalizeCommand, dir, fx, { yes: true });
    expect(text(io.err)).toContain("[STEP_FAILED]");
    expect(fx.world.has("z")).toBe(false);

    fx.harness = new Harness(fx.world);
    const io2 = await exitsWith(1, runCommand, dir, fx, { yes: true });
    expect(text(io2.err)).toContain("[FINALIZE_IN_PROGRESS]");

    await exitsWith(0, finalizeCommand, dir, fx, { yes: true });
    expect(fx.world.get("z")).toBe("contracted");
  });
});
