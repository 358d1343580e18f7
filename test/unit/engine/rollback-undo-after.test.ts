/**
 * PlannedStep.undoAfter, rollback's declared reversal of one undo-order constraint (rollback.ts header, the third
 * exception): the declaring step's undo starts only after the undo of the listed ancestor finished, that pair only,
 * every other constraint kept; a reversal that closes a cycle is a BugError before anything is undone; a journal
 * from before the field keeps newest-first.
 *
 * Undos block on gates the test releases (gates.ts, no timers), so "started after finished" is read from the
 * order of events, not from time.
 */
import { describe, expect, it } from "vitest";
import type { JournalState } from "../../../src/engine/journal.js";
import { rollbackJournal, undoPredecessors } from "../../../src/engine/rollback.js";
import type { Plan, PlannedStep, StepImpl } from "../../../src/engine/step.js";
import { validatePlan } from "../../../src/engine/validate-plan.js";
import { BugError } from "../../../src/lib/errors.js";
import { Journal } from "../../../src/engine/journal.js";
import { gate, gateStep, observed, releaseInTurn, type Observed } from "./gates.js";
import { hostsFor, makePlan } from "./harness.js";
import { doneInOrder, expectOnlyPairReversed } from "./journal-states.js";
import { journalState, rollbackJournaled, runJournaled, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

/** `gate` steps: run succeeds at once; undo records its start, waits for the test's release, records its finish. */
function gated(
  obs: Observed,
  gates: Map<string, () => void>,
  onUndo?: (id: string) => void,
): Map<string, StepImpl> {
  const pass = gate(obs, gates);
  const impl: StepImpl = {
    kind: "gate",
    run: () => Promise.resolve(),
    verify: () => Promise.resolve({ ok: true, detail: "ok" }),
    async undo(_ctx, params) {
      onUndo?.(params["id"] as string);
      await pass(params["id"] as string);
    },
  };
  return new Map([["gate", impl]]);
}

const g = gateStep;
const withUndoAfter = (s: PlannedStep, ids: string[]): PlannedStep => ({ ...s, undoAfter: ids });

/**
 * The lab's shape: the freeze stops old's APIs, then (after it) old's other daemons; a dump reads old after the
 * freeze; the switch stops old's iSCSI target after the daemons' stop. With `declared`, the daemons' step says
 * undoAfter the APIs' (what build.ts emits).
 */
function labShaped(declared: boolean): Plan {
  const daemons = g("daemons", { phase: "freeze", after: ["apis"], writes: ["old:service:nova-conductor"] }, [
    "old",
  ]);
  return makePlan([
    g("prov", { phase: "provision", writes: ["new:pkg:*"] }, ["new"]),
    g(
      "apis",
      { phase: "freeze", after: ["prov"], writes: ["old:service:keystone", "old:service:nova-api"] },
      ["old"],
    ),
    declared ? withUndoAfter(daemons, ["apis"]) : daemons,
    g("dump", { phase: "databases", after: ["apis"], reads: ["old:db:nova"], writes: ["new:db:nova"] }, [
      "old",
      "new",
    ]),
    g("tgt", { phase: "switch", after: ["daemons", "dump"], writes: ["old:service:tgt"] }, ["old"]),
  ]);
}

async function completed(plan: Plan): Promise<string> {
  const dir = newDir();
  await runJournaled(dir, plan, gated(observed(), new Map()));
  return dir;
}

/** Rolls back `dir` at `concurrency`, releasing waiting undos in the order `pick` chooses. */
async function drive(
  dir: string,
  concurrency: number,
  pick: (waiting: string[]) => number,
  o: { signal?: AbortSignal; onUndo?: (id: string) => void } = {},
): Promise<{ obs: Observed; at: (e: string) => number; complete: boolean }> {
  const obs = observed();
  const gates = new Map<string, () => void>();
  const p = rollbackJournaled(dir, gated(obs, gates, o.onUndo), {
    concurrency,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  await releaseInTurn(gates, pick);
  const result = await p;
  return { obs, at: (e) => obs.log.indexOf(e), complete: result.complete };
}

const picks: [string, (w: string[]) => number][] = [
  ["oldest waiting first", () => 0],
  ["newest waiting first", (w) => w.length - 1],
];

describe("undoAfter: the declared reversal of one undo-order constraint", () => {
  it.each(picks)("the daemons' undo starts only after the APIs' undo finished (%s)", async (_name, pick) => {
    for (const concurrency of [1, 4]) {
      const d = await drive(await completed(labShaped(true)), concurrency, pick);
      expect(d.complete).toBe(true);
      expect(d.at("finish:apis")).toBeGreaterThanOrEqual(0);
      expect(d.at("finish:apis"), "apis finished before daemons started").toBeLessThan(d.at("start:daemons"));
      // Every other constraint stays: the switch's step (after the daemons) is undone before either freeze step.
      expect(d.at("finish:tgt")).toBeLessThan(d.at("start:apis"));
      expect(d.at("finish:tgt")).toBeLessThan(d.at("start:daemons"));
      // The two never undo at the same time.
      expect(d.obs.starts.find((s) => s.id === "daemons")!.alongside).not.toContain("apis");
      expect(d.obs.starts.find((s) => s.id === "apis")!.alongside).not.toContain("daemons");
    }
  });

  it("a journal from before the field (no undoAfter) keeps newest first: the daemons, then the APIs", async () => {
    for (const [, pick] of picks) {
      const d = await drive(await completed(labShaped(false)), 4, pick);
      expect(d.complete).toBe(true);
      expect(d.at("finish:daemons")).toBeLessThan(d.at("start:apis"));
    }
  });

  it("the switch-back still goes first: both freeze steps are undone before the dump", async () => {
    // Concurrency 1 makes the priority visible: the queue takes urgent steps before the rest.
    const d = await drive(await completed(labShaped(true)), 1, () => 0);
    const starts = d.obs.starts.map((s) => s.id);
    expect(starts).toEqual(["tgt", "apis", "daemons", "dump", "prov"]);
  });

  it("when the listed step is not being undone (undone by an earlier rollback), the declaring step waits for nothing", async () => {
    const dir = await completed(labShaped(true));
    // First rollback: Ctrl-C as soon as the APIs' undo has started; it finishes, nothing else starts.
    const ctl = new AbortController();
    const first = await drive(dir, 1, () => 0, {
      onUndo: (id) => {
        if (id === "apis") ctl.abort();
      },
      signal: ctl.signal,
    });
    expect(first.complete).toBe(false);
    expect(first.obs.starts.map((s) => s.id)).toEqual(["tgt", "apis"]);
    const mid = journalState(dir);
    expect(mid.byId.get("apis")?.status).toBe("undone");
    expect(mid.byId.get("daemons")?.status).toBe("done");
    // Second rollback: the daemons are ready at once (the APIs are not in its work list).
    const second = await drive(dir, 1, () => 0);
    expect(second.complete).toBe(true);
    expect(second.obs.starts.map((s) => s.id)).toEqual(["daemons", "dump", "prov"]);
  });
});

const allDone = (p: Plan): JournalState => doneInOrder(p);

describe("undoAfter: predecessors and cycles", () => {
  it("reverses exactly the declared pair and leaves every other predecessor as it was", () => {
    const strictState = allDone(labShaped(false));
    const declaredState = allDone(labShaped(true));
    const strict = undoPredecessors(strictState, [...strictState.steps].reverse());
    const declared = undoPredecessors(declaredState, [...declaredState.steps].reverse());
    expectOnlyPairReversed(strict, declared, "daemons", "apis");
  });

  it("a declaring step that completed before its ancestor (a resume redid the ancestor) keeps waiting for it", () => {
    const state = allDone(labShaped(true));
    // daemons done first, apis redone after it: newest first is apis, then daemons; undoAfter agrees.
    const apis = state.byId.get("apis")!;
    const daemons = state.byId.get("daemons")!;
    const swapped = state.steps.map((s) =>
      s === apis ? { ...s, doneSeq: daemons.doneSeq! } : s === daemons ? { ...s, doneSeq: apis.doneSeq! } : s,
    );
    const s2: JournalState = { ...state, steps: swapped, byId: new Map(swapped.map((s) => [s.id, s])) };
    const work = [...swapped].sort((a, b) => b.doneSeq! - a.doneSeq!);
    const before = undoPredecessors(s2, work);
    expect(before.get("daemons")).toContain("apis");
    expect(before.get("apis")).not.toContain("daemons");
  });

  it("a reversal that closes a cycle through a step between the pair is a BugError naming the steps", () => {
    // o, then x after o, then n after x undone after o: o waits for x (newer, after it), x for n, n for o.
    const plan = makePlan([g("o"), g("x", { after: ["o"] }), withUndoAfter(g("n", { after: ["x"] }), ["o"])]);
    validatePlan(plan); // valid: o is an ancestor of n; only the undo order is impossible
    const state = allDone(plan);
    const err = (() => {
      try {
        undoPredecessors(state, [...state.steps].reverse());
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BugError);
    expect((err as BugError).message).toMatch(/cycle/);
    for (const id of ["o", "x", "n"]) expect((err as BugError).message).toContain(id);
  });

  it("rollback refuses such a journal before undoing anything", async () => {
    const plan = makePlan([g("o"), g("x", { after: ["o"] }), withUndoAfter(g("n", { after: ["x"] }), ["o"])]);
    const dir = await completed(plan);
    const obs = observed();
    const journal = Journal.open({ stateDir: dir });
    try {
      await expect(
        rollbackJournal({
          registry: gated(obs, new Map()),
          hosts: hostsFor(journal.state().plan),
          journal,
          concurrency: 4,
        }),
      ).rejects.toBeInstanceOf(BugError);
    } finally {
      journal.close();
    }
    expect(obs.starts).toEqual([]);
    expect(journalState(dir).steps.every((s) => s.status === "done")).toBe(true);
  });

  it("no cycle is reported without undoAfter, however the plan is shaped", () => {
    const plan = makePlan([
      g("a"),
      g("b", { after: ["a"], writes: ["w:db:x"] }),
      g("c", { after: ["b"], reads: ["w:db:x"] }),
      g("d", { after: ["a", "c"] }),
    ]);
    const state = allDone(plan);
    expect(() => undoPredecessors(state, [...state.steps].reverse())).not.toThrow();
  });
});

describe("validatePlan: undoAfter", () => {
  it("accepts an ancestor, direct or through other steps", () => {
    expect(() => validatePlan(labShaped(true))).not.toThrow();
    const plan = makePlan([g("a"), g("b", { after: ["a"] }), withUndoAfter(g("c", { after: ["b"] }), ["a"])]);
    expect(() => validatePlan(plan)).not.toThrow();
  });

  it("rejects a step that is not an ancestor (unrelated, later, unknown, itself) with a clear problem", () => {
    const plan = makePlan([
      g("a"),
      g("b"),
      withUndoAfter(g("c", { after: ["a"] }), ["b"]),
      withUndoAfter(g("d", { after: ["c"] }), ["e"]),
      g("e"),
      withUndoAfter(g("f"), ["nope", "f"]),
    ]);
    let message = "";
    try {
      validatePlan(plan);
    } catch (e) {
      expect(e).toBeInstanceOf(BugError);
      message = (e as BugError).message;
    }
    expect(message).toContain(
      'c is undone after b (undoAfter), which is not among the steps it comes after ("after", directly or through others)',
    );
    expect(message).toContain("d is undone after e (undoAfter)");
    expect(message).toContain("f is undone after nope (undoAfter)");
    expect(message).toContain("f is undone after itself (undoAfter)");
    // A descendant is not an ancestor either.
    const down = makePlan([withUndoAfter(g("a"), ["b"]), g("b", { after: ["a"] })]);
    expect(() => validatePlan(down)).toThrow(/a is undone after b \(undoAfter\)/);
  });
});
