/**
 * Rollback policy: order, failing undos (continue and report), irreversible steps (block), finalized journals
 * (refuse), Ctrl-C. Rollback from every crash position is in faults.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Journal, finalizeJournal } from "../../../src/engine/journal.js";
import { rollbackJournal } from "../../../src/engine/rollback.js";
import { runPlan } from "../../../src/engine/run.js";
import type { EngineEvent, Plan } from "../../../src/engine/step.js";
import { UserError } from "../../../src/lib/errors.js";
import {
  Harness,
  hostsFor,
  initialWorld,
  makePlan,
  sorted,
  step,
  worldPlan,
  type Faults,
  type World,
} from "./harness.js";
import { journalState, rollbackJournaled, runWorld, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

async function runAll(dir: string, plan: Plan, world: World, faults: Faults = {}): Promise<void> {
  await runWorld(dir, plan, world, { faults, concurrency: 1 });
}

async function rollback(
  dir: string,
  world: World,
  faults: Faults = {},
  o: { signal?: AbortSignal; events?: EngineEvent[]; onEvent?: (e: EngineEvent) => void } = {},
) {
  const h = new Harness(world, faults);
  const result = await rollbackJournaled(dir, h.registry(), {
    ...(o.signal ? { signal: o.signal } : {}),
    emit: (e) => {
      o.events?.push(e);
      o.onEvent?.(e);
    },
  });
  return { result, h, state: journalState(dir) };
}

describe("rollbackJournal", () => {
  it("undoes every done step newest first and restores the initial world", async () => {
    const dir = newDir();
    const world = initialWorld();
    await runAll(dir, worldPlan(), world);
    const events: EngineEvent[] = [];
    const { result, h, state } = await rollback(dir, world, {}, { events });
    expect(result.complete).toBe(true);
    expect(result.message).toBe("Rollback complete: 8 step(s) undone.");
    expect(h.undoCalls).toEqual(["s8", "s7", "s6", "s5", "s4", "s3", "s2", "s1"]);
    expect(result.outcomes.map((o) => [o.stepId, o.outcome])).toEqual(
      h.undoCalls.map((id) => [id, "undone"]),
    );
    expect(events.filter((e) => e.type === "undo-done")).toHaveLength(8);
    expect(sorted(world)).toEqual(sorted(initialWorld()));
    expect(state.steps.every((s) => s.status === "undone")).toBe(true);
    expect(state.lastRollback?.complete).toBe(true);
  });

  it("with nothing run, has nothing to do", async () => {
    const dir = newDir();
    Journal.open({ stateDir: dir, plan: worldPlan() }).close();
    const { result } = await rollback(dir, initialWorld());
    expect(result).toMatchObject({ complete: true, outcomes: [] });
  });

  it("continues past a failed undo, reports every outcome, and a second rollback retries only what is left", async () => {
    const dir = newDir();
    const world = initialWorld();
    await runAll(dir, worldPlan(), world);
    const first = await rollback(dir, world, { failUndo: "s5" });
    expect(first.result.complete).toBe(false);
    expect(first.result.outcomes.find((o) => o.stepId === "s5")).toMatchObject({
      outcome: "failed",
      message: "undo of s5 failed (injected)",
    });
    // Everything else was still undone.
    expect(first.result.outcomes.filter((o) => o.outcome === "undone")).toHaveLength(7);
    expect(first.result.message).toBe("Rollback incomplete: 7 undone; 1 failed (s5).");
    expect(first.result.nextSteps[0]).toContain("handover rollback");
    expect(first.state.byId.get("s5")).toMatchObject({
      status: "undo-failed",
      lastError: "undo of s5 failed (injected)",
    });
    expect(world.get("b")).toBe("B2"); // s5's change is still there

    const second = await rollback(dir, world);
    expect(second.h.undoCalls).toEqual(["s5"]);
    expect(second.result.complete).toBe(true);
    expect(second.result.outcomes.filter((o) => o.outcome === "already-undone")).toHaveLength(7);
    expect(sorted(world)).toEqual(sorted(initialWorld()));
  });

  it("stops at a done irreversible step: newer steps are undone, it and older ones are reported blocked", async () => {
    const plan = makePlan([
      step("p1", "set", { key: "a", value: "A" }, { writes: ["w:kv:a"] }),
      step(
        "p2",
        "irrev",
        { key: "x", value: "X" },
        { writes: ["w:kv:x"], irreversible: "drops the old service records" },
      ),
      step("p3", "set", { key: "b", value: "B" }, { writes: ["w:kv:b"] }),
    ]);
    const dir = newDir();
    const world = initialWorld();
    await runAll(dir, plan, world);
    const { result, h } = await rollback(dir, world);
    expect(h.undoCalls).toEqual(["p3"]);
    expect(result.complete).toBe(false);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ stepId: "p3", outcome: "undone" }),
      expect.objectContaining({
        stepId: "p2",
        outcome: "blocked",
        message: "irreversible (drops the old service records); it was done",
      }),
      expect.objectContaining({
        stepId: "p1",
        outcome: "blocked",
        message: "older than irreversible step p2",
      }),
    ]);
    expect(result.message).toContain("blocked at irreversible step p2: drops the old service records");
    expect(world.get("b")).toBe("2");
    expect(world.get("a")).toBe("A");
  });

  it("an irreversible step that started but failed also blocks (it may have taken effect)", async () => {
    const plan = makePlan([
      step("p1", "set", { key: "a", value: "A" }),
      step("p2", "irrev", { key: "x", value: "X" }, { irreversible: "one way", after: ["p1"] }),
    ]);
    const dir = newDir();
    const world = initialWorld();
    await expect(runAll(dir, plan, world, { throwAt: { stepId: "p2", mutation: 1 } })).rejects.toBeInstanceOf(
      UserError,
    );
    const { result } = await rollback(dir, world);
    expect(result.outcomes.map((o) => [o.stepId, o.outcome])).toEqual([
      ["p2", "blocked"],
      ["p1", "blocked"],
    ]);
    expect(result.outcomes[0]?.message).toContain("started and may have taken effect");
  });

  it("refuses a finalized journal with an explanation", async () => {
    const dir = newDir();
    const world = initialWorld();
    await runAll(dir, worldPlan(), world);
    const j = Journal.open({ stateDir: dir });
    finalizeJournal(j);
    j.close();
    const e = await rollback(dir, world).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("ROLLBACK_FINALIZED");
    expect((e as UserError).message).toContain("finalized at");
    expect(sorted(world)).not.toEqual(sorted(initialWorld()));
  });

  it("Ctrl-C stops before the next undo; the rest are reported not attempted and a second rollback finishes", async () => {
    const dir = newDir();
    const world = initialWorld();
    await runAll(dir, worldPlan(), world);
    const ac = new AbortController();
    const first = await rollback(
      dir,
      world,
      {},
      {
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === "undo-done" && e.stepId === "s6") ac.abort();
        },
      },
    );
    expect(first.result.interrupted).toBe(true);
    expect(first.result.complete).toBe(false);
    expect(first.h.undoCalls).toEqual(["s8", "s7", "s6"]);
    expect(first.result.outcomes.filter((o) => o.outcome === "not-attempted").map((o) => o.stepId)).toEqual([
      "s5",
      "s4",
      "s3",
      "s2",
      "s1",
    ]);
    const second = await rollback(dir, world);
    expect(second.result.complete).toBe(true);
    expect(sorted(world)).toEqual(sorted(initialWorld()));
  });

  it("undoes an interrupted step with only what it checkpointed", async () => {
    const dir = newDir();
    const world = initialWorld();
    // s4 sets e, then fails before f: it checkpointed {e,f,g} first, so undo can restore all three.
    await expect(
      runAll(dir, worldPlan(), world, { throwAt: { stepId: "s4", mutation: 2 } }),
    ).rejects.toBeInstanceOf(UserError);
    expect(world.get("e")).toBe("M");
    const { result, state } = await rollback(dir, world);
    expect(result.complete).toBe(true);
    expect(result.outcomes.map((o) => o.stepId)).toEqual(["s4", "s3", "s2", "s1"]);
    expect(state.byId.get("s5")?.status).toBe("pending");
    expect(sorted(world)).toEqual(sorted(initialWorld()));
  });
});

describe("undo context", () => {
  it("refuses checkpoint() from undo (undo data must keep describing the state before the step)", async () => {
    const plan = makePlan([step("x", "cp", {})]);
    const impl = {
      kind: "cp",
      run: () => Promise.resolve(),
      verify: () => Promise.resolve({ ok: true, detail: "" }),
      undo: (ctx: { checkpoint?: (d: Record<string, never>) => void }) => {
        ctx.checkpoint?.({});
        return Promise.resolve();
      },
    };
    const dir = newDir();
    const j = Journal.open({ stateDir: dir, plan });
    await runPlan({ plan, registry: new Map([["cp", impl]]), hosts: hostsFor(plan), journal: j });
    const r = await rollbackJournal({ registry: new Map([["cp", impl]]), hosts: hostsFor(plan), journal: j });
    j.close();
    expect(r.outcomes[0]).toMatchObject({
      outcome: "failed",
      message: expect.stringContaining("checkpoint() called from undo"),
    });
  });
});
