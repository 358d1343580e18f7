/**
 * StepImpl.provenByRun: a step whose run ends with the check verify makes is not checked twice after a successful
 * run (its detail is journaled as the verification), and is still verified on resume, where run's outcome is
 * unknown. The fake step counts its run and verify calls and says "ok" unless told to fail.
 */
import { describe, expect, it } from "vitest";
import { readJournal, type JournalRecord } from "../../../src/engine/journal.js";
import type { JsonObject, StepImpl } from "../../../src/engine/step.js";
import { buildRegistry } from "../../../src/steps/registry.js";
import type { StepDeps } from "../../../src/steps/deps.js";
import { makePlan, step } from "./harness.js";
import { runJournaled, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

/** A read-only check: run and verify both "ask the host" (count a call); `proven` says whether run proves it. */
function checkStep(proven: boolean | undefined): { impl: StepImpl; calls: { run: number; verify: number } } {
  const calls = { run: 0, verify: 0 };
  const impl: StepImpl = {
    kind: "check",
    run: (): Promise<JsonObject> => {
      calls.run++;
      return Promise.resolve({ detail: "3 things answer" });
    },
    verify: () => {
      calls.verify++;
      return Promise.resolve({ ok: true, detail: "verified by asking again" });
    },
    undo: () => Promise.resolve(),
    ...(proven === undefined ? {} : { provenByRun: () => proven }),
  };
  return { impl, calls };
}

const plan = makePlan([step("c1", "check", {})]);

const records = (dir: string): JournalRecord[] => readJournal(dir)?.records ?? [];

function verifyDetail(dir: string): string | undefined {
  const done = records(dir).find((r) => r.type === "step-done" && r.stepId === "c1");
  return done?.type === "step-done" ? done.verify : undefined;
}

describe("provenByRun", () => {
  it("after a successful run, verify is not called and run's detail is journaled as the verification", async () => {
    const dir = newDir();
    const { impl, calls } = checkStep(true);
    await runJournaled(dir, plan, new Map([["check", impl]]), { env: {} });
    expect(calls).toEqual({ run: 1, verify: 0 });
    expect(verifyDetail(dir)).toBe("3 things answer");
  });

  it("without it (or when it says false), verify runs after run as before", async () => {
    for (const proven of [undefined, false]) {
      const dir = newDir();
      const { impl, calls } = checkStep(proven);
      await runJournaled(dir, plan, new Map([["check", impl]]), { env: {} });
      expect(calls, String(proven)).toEqual({ run: 1, verify: 1 });
      expect(verifyDetail(dir)).toBe("verified by asking again");
    }
  });

  it("on a second run (resume), a done step is still verified before it is skipped", async () => {
    const dir = newDir();
    const first = checkStep(true);
    await runJournaled(dir, plan, new Map([["check", first.impl]]), { env: {} });
    const second = checkStep(true);
    const summary = await runJournaled(dir, plan, new Map([["check", second.impl]]), { env: {} });
    expect(summary.skipped).toEqual(["c1"]);
    expect(second.calls).toEqual({ run: 0, verify: 1 });
  });

  it("a run that throws still fails the step (provenByRun only replaces a repeat of a passed check)", async () => {
    const dir = newDir();
    const { impl } = checkStep(true);
    const failing: StepImpl = { ...impl, run: () => Promise.reject(new Error("host says no")) };
    await expect(runJournaled(dir, plan, new Map([["check", failing]]), { env: {} })).rejects.toThrow(
      /host says no/,
    );
    expect(records(dir).some((r) => r.type === "step-done")).toBe(false);
  });
});

describe("which steps are proven by their run", () => {
  // Only the members are read: no step runs, so the deps are never used.
  const registry = buildRegistry({} as StepDeps);
  const proven = (kind: string, params: JsonObject = {}): boolean =>
    registry.get(kind)?.provenByRun?.(params) === true;

  it("read-only checks and checksum-comparing copies: verify would repeat run", () => {
    for (const kind of [
      "api.check",
      "svc.upgrade-check",
      "inventory.compare",
      "check.neighbours",
      "volumes.copy",
    ])
      expect(proven(kind), kind).toBe(true);
  });

  it("a manage tool is proven by its exit status (keystone's db_sync --check is left for resume)", () => {
    const manage = (argv: string[]): JsonObject => ({ service: "x", user: "x", argv });
    expect(proven("svc.manage", manage(["nova-manage", "db", "sync"]))).toBe(true);
    expect(proven("svc.manage", manage(["keystone-manage", "db_sync", "--expand"]))).toBe(true);
  });

  it("steps that change hosts keep their own verify", () => {
    for (const kind of ["db.copy", "files.sync", "svc.start", "net.move-address", "config.rewrite"])
      expect(proven(kind), kind).toBe(false);
  });
});
