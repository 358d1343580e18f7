/**
 * Gated steps for the scheduling tests (schedule.test.ts gates runs, rollback-concurrent.test.ts gates undos), so
 * a test decides when each running step ends, with no timers:
 * - a call through `gate(obs, gates)` records its start (with what else was inside a gate at that moment),
 *   leaves its release in `gates` under its id, waits for it, then records its finish;
 * - `releaseInTurn` lets the engine reach quiescence, then releases one waiting gate (the one `pick` chooses
 *   among those waiting, in start order), until none waits;
 * - `gateStep` is a plan step of kind "gate" (params: its id, and `free: true` with `free`, which the rollback
 *   tests' gate kind reads as StepImpl.undoOrderFree); `arbGatePlan` random plans of them over given resources.
 */
import fc from "fast-check";
import type { Phase, Plan, PlannedStep } from "../../../src/engine/step.js";
import { deferred, makePlan, settle, step } from "./harness.js";

/** What the gated calls saw. */
export interface Observed {
  /** At each start: the step and what was inside a gate alongside it. */
  starts: { id: string; alongside: string[] }[];
  finished: string[];
  maxActive: number;
  /** "start:<id>" and "finish:<id>" in the order they happened. */
  log: string[];
}

export function observed(): Observed {
  return { starts: [], finished: [], maxActive: 0, log: [] };
}

export function gate(obs: Observed, gates: Map<string, () => void>): (id: string) => Promise<void> {
  const active = new Set<string>();
  return async (id) => {
    obs.starts.push({ id, alongside: [...active] });
    obs.log.push(`start:${id}`);
    active.add(id);
    obs.maxActive = Math.max(obs.maxActive, active.size);
    const d = deferred();
    gates.set(id, d.resolve);
    await d.promise;
    active.delete(id);
    obs.finished.push(id);
    obs.log.push(`finish:${id}`);
  };
}

export async function releaseInTurn(
  gates: Map<string, () => void>,
  pick: (waiting: string[]) => number,
): Promise<void> {
  for (;;) {
    await settle();
    if (gates.size === 0) return;
    const waiting = [...gates.keys()];
    const id = waiting[pick(waiting) % waiting.length]!;
    const release = gates.get(id)!;
    gates.delete(id);
    release();
  }
}

export function gateStep(
  id: string,
  o: Parameters<typeof step>[3] & { phase?: Phase; free?: boolean } = {},
  hosts: string[] = ["w"],
): PlannedStep {
  const { phase, free, ...rest } = o;
  const s = step(id, "gate", free ? { free: true } : {}, { hosts, ...rest });
  return phase ? { ...s, phase } : s;
}

/**
 * Plans of 1 to 8 gate steps `<prefix><i>`, each reading and writing up to two of `resources`, after up to two
 * earlier steps, (with `phases`) in one of those phases, and (with `free`) some of them `free` (order-free undo).
 */
export function arbGatePlan(
  resources: string[],
  prefix: string,
  phases?: Phase[],
  o: { free?: boolean } = {},
): fc.Arbitrary<Plan> {
  return fc
    .array(
      fc.record({
        reads: fc.subarray(resources, { maxLength: 2 }),
        writes: fc.subarray(resources, { maxLength: 2 }),
        afterSeed: fc.array(fc.nat(), { maxLength: 2 }),
        phase: phases ? fc.constantFrom(...phases) : fc.constant(undefined),
        free: o.free ? fc.boolean() : fc.constant(false),
      }),
      { minLength: 1, maxLength: 8 },
    )
    .map((specs) =>
      makePlan(
        specs.map((s, i) =>
          gateStep(`${prefix}${i}`, {
            reads: s.reads,
            writes: s.writes,
            after: i === 0 ? [] : [...new Set(s.afterSeed.map((n) => `${prefix}${n % i}`))],
            ...(s.phase ? { phase: s.phase } : {}),
            ...(s.free ? { free: true } : {}),
          }),
        ),
      ),
    );
}
