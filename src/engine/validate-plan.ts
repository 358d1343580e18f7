/**
 * Structural checks on a Plan before the engine acts on it. A plan that fails these is our bug (the planner built
 * it), so the errors are BugErrors. The invariant that matters most for the scheduler: plan order is a topological
 * order (every `after` names an EARLIER step), which lets the engine run conflicting steps in plan order without
 * ever deadlocking.
 */
import type { Host } from "../hosts/host.js";
import { BugError } from "../lib/errors.js";
import type { Plan, StepRegistry } from "./step.js";

export interface ValidatePlanOptions {
  /** When given, every step's kind must be registered, and reversible steps must have an undo. */
  readonly registry?: StepRegistry;
  /** When given, every host a step names must be present. */
  readonly hosts?: ReadonlyMap<string, Host>;
}

export function validatePlan(plan: Plan, options: ValidatePlanOptions = {}): void {
  const seen = new Set<string>();
  const problems: string[] = [];
  /** Each step's ancestors through `after` (plan order is topological, so a step's deps are known before it). */
  const ancestors = new Map<string, Set<string>>();
  for (const step of plan.steps) {
    const mine = new Set<string>();
    for (const dep of step.after) {
      mine.add(dep);
      for (const a of ancestors.get(dep) ?? []) mine.add(a);
    }
    if (!ancestors.has(step.id)) ancestors.set(step.id, mine);
    // undoAfter reverses rollback's order for a pair that run ordered; for any other pair there is no order to
    // reverse, and rollback's acyclicity argument (every constraint between related steps) would not hold.
    for (const u of step.undoAfter ?? []) {
      if (!mine.has(u)) {
        problems.push(
          u === step.id
            ? `${step.id} is undone after itself (undoAfter)`
            : `${step.id} is undone after ${u} (undoAfter), which is not among the steps it comes after ("after", directly or through others)`,
        );
      }
    }
    if (seen.has(step.id)) problems.push(`duplicate step id ${step.id}`);
    for (const dep of step.after) {
      if (dep === step.id) problems.push(`${step.id} is after itself`);
      else if (!seen.has(dep)) {
        const exists = plan.steps.some((s) => s.id === dep);
        problems.push(
          exists
            ? `${step.id} is after ${dep}, which comes later in the plan (plan order must respect "after")`
            : `${step.id} is after unknown step ${dep}`,
        );
      }
    }
    seen.add(step.id);
    if (options.registry) {
      const impl = options.registry.get(step.kind);
      if (!impl) problems.push(`${step.id}: no implementation registered for kind ${step.kind}`);
      else if (step.irreversible === undefined && impl.undo === undefined) {
        problems.push(`${step.id}: kind ${step.kind} has no undo and the step is not declared irreversible`);
      }
    }
    if (options.hosts) {
      for (const h of step.hosts) {
        if (!options.hosts.has(h))
          problems.push(`${step.id}: host ${h} is not among the hosts given to the engine`);
      }
    }
  }
  if (problems.length > 0) throw new BugError(`invalid plan: ${problems.join("; ")}`);
}
