/**
 * Fault injection at every position (STYLE item 10): a crash at every journal write (torn in half), a crash at
 * every world mutation, a thrown failure at every mutation; then resume must end in the same world as an
 * uninterrupted run, and rollback must restore the initial world, including after a crash mid-rollback.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_FILE, Journal, parseJournal } from "../../../src/engine/journal.js";
import { rollbackJournal, type RollbackResult } from "../../../src/engine/rollback.js";
import { runPlan } from "../../../src/engine/run.js";
import { UserError } from "../../../src/lib/errors.js";
import {
  Harness,
  hostsFor,
  initialWorld,
  settle,
  sorted,
  worldPlan,
  type Faults,
  type World,
} from "./harness.js";
import { journalState, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

type Outcome = { kind: "completed" } | { kind: "crashed" } | { kind: "failed"; error: unknown };

/** One handover process: open the journal, run the plan, until it completes, fails, or "crashes". */
async function runProcess(
  dir: string,
  world: World,
  faults: Faults,
  concurrency: number,
): Promise<Outcome & { h: Harness }> {
  const plan = worldPlan();
  const h = new Harness(world, faults);
  const journal = Journal.open({ stateDir: dir, plan, io: h.io() });
  const p = runPlan({ plan, registry: h.registry(), hosts: hostsFor(plan), journal, concurrency });
  p.catch(() => undefined); // an abandoned (crashed) run may reject later; nobody is listening then
  const outcome = await Promise.race([
    p.then(
      (): Outcome => ({ kind: "completed" }),
      (error: unknown): Outcome => ({ kind: "failed", error }),
    ),
    h.crash.promise.then((): Outcome => ({ kind: "crashed" })),
  ]);
  journal.close();
  if (h.crashed) {
    await settle(); // let the dead process reach its hung state
    return { kind: "crashed", h };
  }
  return { ...outcome, h };
}

async function rollbackProcess(
  dir: string,
  world: World,
  faults: Faults,
): Promise<{ result?: RollbackResult; crashed: boolean }> {
  const h = new Harness(world, faults);
  const journal = Journal.open({ stateDir: dir, io: h.io() });
  const plan = journal.state().plan;
  const p = rollbackJournal({ registry: h.registry(), hosts: hostsFor(plan), journal });
  p.catch(() => undefined);
  const r = await Promise.race([p, h.crash.promise.then(() => "crashed" as const)]);
  // A crash at the last write may lose the race to the result; a dead process reports nothing, so h.crashed decides.
  if (h.crashed) await settle();
  journal.close();
  return h.crashed || r === "crashed" ? { crashed: true } : { result: r, crashed: false };
}

function allDone(dir: string): boolean {
  return journalState(dir).steps.every((x) => x.status === "done");
}

async function baseline(
  concurrency: number,
): Promise<{ world: [string, string][]; writes: number; mutations: Map<string, number> }> {
  const world = initialWorld();
  const r = await runProcess(newDir(), world, {}, concurrency);
  expect(r.kind).toBe("completed");
  return { world: sorted(world), writes: r.h.writes, mutations: r.h.mutationCounts() };
}

describe.each([1, 3])("with concurrency %i", (concurrency) => {
  it("an uninterrupted run changes the world as designed (so the tests below can fail)", async () => {
    const b = await baseline(concurrency);
    expect(b.world).toEqual([
      ["a", "A2"],
      ["b", "B2"],
      ["c", "C"],
      ["d", "A+C"],
      ["e", "M"],
      ["f", "M"],
      ["g", "N"],
      ["h", "A+C+B2"],
      ["i", "N"],
    ]);
    expect(b.writes).toBeGreaterThan(20);
  });

  it("resumes after a crash at every journal write, ends equal to an uninterrupted run, and still rolls back", async () => {
    const b = await baseline(concurrency);
    for (let n = 1; n <= b.writes; n++) {
      const dir = newDir();
      const world = initialWorld();
      const first = await runProcess(dir, world, { crashAtWrite: n }, concurrency);
      expect(first.kind, `crash at write ${n}`).toBe("crashed");
      const onDisk = parseJournal(fs.readFileSync(path.join(dir, JOURNAL_FILE)));
      expect(onDisk.torn, `write ${n} left a torn line`).toBeDefined();
      const second = await runProcess(dir, world, {}, concurrency);
      expect(second.kind, `resume after crash at write ${n}`).toBe("completed");
      expect(sorted(world), `world after crash at write ${n}`).toEqual(b.world);
      expect(allDone(dir)).toBe(true);
      // The resumed journal must still know how to undo everything, including steps recovered or redone.
      const rb = await rollbackProcess(dir, world, {});
      expect(rb.result?.complete).toBe(true);
      expect(sorted(world), `rollback after resume from write ${n}`).toEqual(sorted(initialWorld()));
    }
  });

  it("resumes after a crash at every mutation of every step", async () => {
    const b = await baseline(concurrency);
    let cases = 0;
    for (const [stepId, count] of b.mutations) {
      for (let m = 1; m <= count; m++) {
        const dir = newDir();
        const world = initialWorld();
        const first = await runProcess(dir, world, { crashAtMutation: { stepId, mutation: m } }, concurrency);
        expect(first.kind).toBe("crashed");
        const second = await runProcess(dir, world, {}, concurrency);
        expect(second.kind).toBe("completed");
        expect(sorted(world), `crash at ${stepId} mutation ${m}`).toEqual(b.world);
        const rb = await rollbackProcess(dir, world, {});
        expect(rb.result?.complete).toBe(true);
        expect(sorted(world), `rollback after resume from ${stepId} mutation ${m}`).toEqual(
          sorted(initialWorld()),
        );
        cases++;
      }
    }
    expect(cases).toBe(11); // 8 steps, two of them with 3 and 2 mutations
  });

  it("a failing step stops the run with a UserError naming it; a second run finishes the job", async () => {
    const b = await baseline(concurrency);
    for (const [stepId, count] of b.mutations) {
      for (let m = 1; m <= count; m++) {
        const dir = newDir();
        const world = initialWorld();
        const first = await runProcess(
          dir,
          world,
          { throwAt: { stepId, mutation: m, message: `disk full at ${stepId}` } },
          concurrency,
        );
        expect(first.kind).toBe("failed");
        const err = (first as { error: unknown }).error;
        expect(err).toBeInstanceOf(UserError);
        expect((err as UserError).code).toBe("STEP_FAILED");
        expect((err as UserError).message).toContain(
          `Step ${stepId} (step ${stepId}) on w failed: disk full at ${stepId}`,
        );
        expect((err as UserError).nextSteps.join("\n")).toMatch(/handover run.*\n.*handover rollback/);
        const second = await runProcess(dir, world, {}, concurrency);
        expect(second.kind).toBe("completed");
        expect(sorted(world)).toEqual(b.world);
      }
    }
  });

  it("rolls back to the initial world from a crash at every journal write", async () => {
    const b = await baseline(concurrency);
    for (let n = 1; n <= b.writes; n++) {
      const dir = newDir();
      const world = initialWorld();
      await runProcess(dir, world, { crashAtWrite: n }, concurrency);
      if (n === 1) continue; // the plan record itself was torn: there is no journal to roll back
      const rb = await rollbackProcess(dir, world, {});
      expect(rb.result?.complete, `rollback after crash at write ${n}: ${rb.result?.message}`).toBe(true);
      expect(sorted(world), `world after rollback from write ${n}`).toEqual(sorted(initialWorld()));
    }
  });

  it("rolls back to the initial world after a failure at every mutation", async () => {
    const b = await baseline(concurrency);
    for (const [stepId, count] of b.mutations) {
      for (let m = 1; m <= count; m++) {
        const dir = newDir();
        const world = initialWorld();
        const first = await runProcess(dir, world, { throwAt: { stepId, mutation: m } }, concurrency);
        expect(first.kind).toBe("failed");
        const rb = await rollbackProcess(dir, world, {});
        expect(rb.result?.complete).toBe(true);
        expect(sorted(world), `rollback after failure at ${stepId}#${m}`).toEqual(sorted(initialWorld()));
      }
    }
  });
});

describe("rollback interrupted by a crash", () => {
  it("finishes when run again, from a crash at every rollback journal write", async () => {
    // Measure how many writes a rollback of a complete run makes.
    const probeDir = newDir();
    const probeWorld = initialWorld();
    await runProcess(probeDir, probeWorld, {}, 2);
    const probe = new Harness(probeWorld);
    const pj = Journal.open({ stateDir: probeDir, io: probe.io() });
    await rollbackJournal({ registry: probe.registry(), hosts: hostsFor(worldPlan()), journal: pj });
    pj.close();
    expect(probe.writes).toBe(1 + 8 * 2 + 1);

    for (let m = 1; m <= probe.writes; m++) {
      const dir = newDir();
      const world = initialWorld();
      expect((await runProcess(dir, world, {}, 2)).kind).toBe("completed");
      const first = await rollbackProcess(dir, world, { crashAtWrite: m });
      expect(first.crashed, `crash at rollback write ${m}`).toBe(true);
      const second = await rollbackProcess(dir, world, {});
      expect(second.result?.complete, `rollback again after crash at rollback write ${m}`).toBe(true);
      expect(sorted(world)).toEqual(sorted(initialWorld()));
    }
  });

  it("a crash mid-undo (between two restored keys) is finished by the next rollback", async () => {
    const dir = newDir();
    const world = initialWorld();
    await runProcess(dir, world, {}, 1);
    const first = await rollbackProcess(dir, world, { crashAtMutation: { stepId: "undo:s4", mutation: 2 } });
    expect(first.crashed).toBe(true);
    expect(sorted(world)).not.toEqual(sorted(initialWorld()));
    const second = await rollbackProcess(dir, world, {});
    expect(second.result?.complete).toBe(true);
    const s4 = second.result?.outcomes.find((o) => o.stepId === "s4");
    expect(s4?.outcome).toBe("undone");
    expect(
      second.result?.outcomes
        .filter((o) => o.outcome === "already-undone")
        .map((o) => o.stepId)
        .sort(),
    ).toEqual(["s5", "s6", "s7", "s8"]);
    expect(sorted(world)).toEqual(sorted(initialWorld()));
  });

  it("run, rollback, run again ends like an uninterrupted run", async () => {
    const b = await baseline(2);
    const dir = newDir();
    const world = initialWorld();
    await runProcess(dir, world, {}, 2);
    const rb = await rollbackProcess(dir, world, {});
    expect(rb.result?.complete).toBe(true);
    expect(sorted(world)).toEqual(sorted(initialWorld()));
    const again = await runProcess(dir, world, {}, 2);
    expect(again.kind).toBe("completed");
    expect(sorted(world)).toEqual(b.world);
    const rb2 = await rollbackProcess(dir, world, {});
    expect(rb2.result?.complete).toBe(true);
    expect(sorted(world)).toEqual(sorted(initialWorld()));
  });
});
