/**
 * The planner's one undoAfter (PlannedStep.undoAfter, rollback.ts header's third exception): old's other daemons
 * (freeze.old.daemons: nova-conductor, nova-scheduler, ...) are started again by rollback only after old's APIs
 * (freeze.apis) are, because Victoria's conductor and scheduler ask keystone at start-up and exit without it. On the
 * lab plan with the real step registry: the field is there, the plan validates, rollback's predecessors reverse that
 * pair only, no completion order run could produce makes a cycle, and a journal from before the field keeps the
 * old order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StepState } from "../../../src/engine/journal.js";
import { undoPredecessors } from "../../../src/engine/rollback.js";
import type { Plan, PlannedStep } from "../../../src/engine/step.js";
import { validatePlan } from "../../../src/engine/validate-plan.js";
import { buildPlan } from "../../../src/plan/build.js";
import { buildRegistry } from "../../../src/steps/registry.js";
import { FakeSql, makeDeps } from "../steps/support/harness.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { shippedCatalog, stepOf } from "./helpers.js";
import { doneInOrder, expectOnlyPairReversed } from "../engine/journal-states.js";

const plan = buildPlan(labInput, labFacts, shippedCatalog());
const registry = buildRegistry(makeDeps(new FakeSql()));
const orderFree = (s: StepState): boolean =>
  registry.get(s.step.kind)?.undoOrderFree?.(s.step.params) ?? false;

/** Rollback's predecessors for everything before finalize (its points of no return), newest first. */
function predecessors(p: Plan, order: readonly string[] = p.steps.map((s) => s.id)): Map<string, string[]> {
  const state = doneInOrder(p, order);
  const work = state.steps.filter((s) => s.step.phase !== "finalize").reverse();
  return undoPredecessors(state, work, orderFree);
}

/** The same plan as a journal from before the field would hold it. */
function withoutUndoAfter(p: Plan): Plan {
  return {
    ...p,
    steps: p.steps.map((s): PlannedStep => {
      const { undoAfter: _dropped, ...rest } = s;
      return rest;
    }),
  };
}

/** A completion order run could produce: each step after every step it is `after`; `picks` choose among the ready. */
function topoOrder(p: Plan, picks: readonly number[]): string[] {
  const left = [...p.steps];
  const done = new Set<string>();
  const out: string[] = [];
  for (let k = 0; left.length > 0; k++) {
    const ready = left.filter((s) => s.after.every((a) => done.has(a)));
    const s = ready[(picks[k % picks.length] ?? 0) % ready.length]!;
    left.splice(left.indexOf(s), 1);
    done.add(s.id);
    out.push(s.id);
  }
  return out;
}

describe("freeze.old.daemons is undone after freeze.apis", () => {
  it("the lab plan declares it on that step only, and validates with the real registry", () => {
    const daemons = stepOf(plan, "freeze.old.daemons");
    expect(daemons.undoAfter).toEqual(["freeze.apis"]);
    expect(daemons.params["units"]).toEqual(expect.arrayContaining(["nova-conductor", "nova-scheduler"]));
    // They spin their CPUs while they stop, beside the window's dumps and imports: reniced first (units.ts).
    expect(daemons.params["lowPriority"]).toBe(true);
    expect(stepOf(plan, "freeze.apis").params["lowPriority"]).toBeUndefined();
    expect(stepOf(plan, "freeze.apis").params["units"]).toEqual(expect.arrayContaining(["keystone"]));
    expect(plan.steps.filter((s) => s.undoAfter !== undefined).map((s) => s.id)).toEqual([
      "freeze.old.daemons",
    ]);
    expect(() => validatePlan(plan, { registry })).not.toThrow();
  });

  it("rollback's predecessors reverse exactly that pair; every other one is what a journal without the field gets", () => {
    const declared = predecessors(plan);
    const before = predecessors(withoutUndoAfter(plan));
    expectOnlyPairReversed(before, declared, "freeze.old.daemons", "freeze.apis");
  });

  it("no completion order run could produce makes the lab plan's undo order a cycle (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (picks) => {
        const before = predecessors(plan, topoOrder(plan, picks));
        expect(before.get("freeze.old.daemons")).toContain("freeze.apis");
        expect(before.get("freeze.apis")).not.toContain("freeze.old.daemons");
      }),
      { numRuns: 15 },
    );
  });
});
