/**
 * Journal states built in memory for tests of rollback's undo order (no journal file): steps done in a given
 * order, and the check that a declared exception reversed exactly one pair of predecessors.
 */
import { expect } from "vitest";
import type { JournalState, StepState } from "../../../src/engine/journal.js";
import type { Plan } from "../../../src/engine/step.js";

/** `order` (step ids; default: the whole plan in plan order, a valid dependency order) done in that order; the rest not started. */
export function doneInOrder(p: Plan, order: readonly string[] = p.steps.map((s) => s.id)): JournalState {
  const byId = new Map(p.steps.map((s) => [s.id, s]));
  const steps: StepState[] = order.map((id, i) => ({
    id,
    step: byId.get(id)!,
    status: "done",
    attempts: 1,
    doneSeq: i + 1,
  }));
  return {
    plan: p,
    planHash: "test",
    steps,
    byId: new Map(steps.map((s) => [s.id, s])),
    finalized: false,
    lastSeq: steps.length,
  };
}

/**
 * `declared` differs from `strict` (rollback's predecessor maps without and with an undoAfter) in exactly one
 * reversed pair: `older` no longer waits for `newer`, `newer` now waits for `older`; every other entry is equal.
 */
export function expectOnlyPairReversed(
  strict: ReadonlyMap<string, readonly string[]>,
  declared: ReadonlyMap<string, readonly string[]>,
  newer: string,
  older: string,
): void {
  expect(strict.get(older)).toContain(newer);
  expect(strict.get(newer)).not.toContain(older);
  expect(declared.get(older)).not.toContain(newer);
  expect(declared.get(newer)).toContain(older);
  for (const [id, was] of strict) {
    const now = declared.get(id)!;
    if (id === older) expect(now).toEqual(was.filter((x) => x !== newer));
    else if (id === newer) expect([...now].sort()).toEqual([...was, older].sort());
    else expect(now, id).toEqual(was);
  }
}
