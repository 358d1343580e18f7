/**
 * Resume of an interrupted step whose changes another step's undo removes wholesale (`params.coveredBy`, the
 * `covered` undo class in src/plan/KINDS.md): a schema sync on a database an import created. Re-running such a
 * step where it stopped would migrate a half-migrated database (MySQL DDL is not transactional: a sync killed
 * midway leaves some tables altered and its version record behind), so on resume the engine starts that database
 * over instead:
 *
 *   1. the covering step C is undone (its undo drops what it made) and run again (a fresh import from the frozen
 *      old controller);
 *   2. every step covered by C that depends on C (transitively, via `after`) and was already done is run again
 *      (e.g. nova's update_cell before api_db sync), in plan order, as the scheduler orders any run;
 *   3. then the interrupted step itself runs again.
 *
 * The same redo applies when C itself was interrupted while steps it covers were done (an earlier redo cut
 * short): a fresh C wipes their work, so they run again too. Steps not covered by C are left as they are.
 *
 * A killed handover does not kill what it started on the hosts: the interrupted step's tool (a `db sync`) may still
 * be running. Before undoing C, the engine calls `StepImpl.awaitEarlierAttempt` (step.ts) of each interrupted step that has
 * one, so the drop and re-import never race a migration still running on the old copy.
 *
 * The fresh start is NOT taken (the interrupted step is verified and re-run in place, as for any other step, with
 * a warning saying why) when it would undo something that must not be undone: C or a covered step to redo is
 * irreversible, C has no undo, or the switch has begun (new's databases may then hold writes the old controller
 * never saw, and a re-import would lose them).
 */
import type { JournalState, StepState, StepStatus } from "./journal.js";
import type { Plan, PlannedStep, StepRegistry } from "./step.js";

export interface CoveredRedo {
  /** Covering steps to undo before running them again. */
  readonly undoFirst: ReadonlySet<string>;
  /** Per covering step to undo: the interrupted steps whose earlier attempt must have ended first. */
  readonly settleFirst: ReadonlyMap<string, readonly string[]>;
  /** Steps to run again whatever the journal or their verify says, with the reason (journaled when they start). */
  readonly force: ReadonlyMap<string, string>;
  /** Journaled (and shown) before anything runs: what will be redone and why, or why not. */
  readonly notes: readonly { stepId: string; level: "info" | "warn"; message: string }[];
}

/** Started and not finished: killed, failed, or caught midway through an undo. */
const UNFINISHED: readonly StepStatus[] = ["running", "failed", "undoing", "undo-failed"];
/** Phases after which new's databases are live, so the old controller's copy is no longer the truth. */
const LIVE_PHASES: readonly string[] = ["switch", "finalize"];

/** The step(s) a step names in `params.coveredBy` (a string, or a list when it changes several databases). */
export function coveringSteps(step: PlannedStep): string[] {
  const c = step.params["coveredBy"];
  if (typeof c === "string" && c !== "") return [c];
  if (Array.isArray(c)) return c.filter((x): x is string => typeof x === "string" && x !== "");
  return [];
}

function ancestorsOf(plan: Plan): Map<string, Set<string>> {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const memo = new Map<string, Set<string>>();
  const visit = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const out = new Set<string>();
    memo.set(id, out); // a validated plan has no cycles; this only guards the recursion
    for (const d of byId.get(id)?.after ?? []) {
      out.add(d);
      for (const a of visit(d)) out.add(a);
    }
    return out;
  };
  for (const s of plan.steps) visit(s.id);
  return memo;
}

function list(ids: readonly string[]): string {
  return ids.join(", ");
}

export function planCoveredRedo(plan: Plan, state: JournalState, registry: StepRegistry): CoveredRedo {
  const undoFirst = new Set<string>();
  const settleFirst = new Map<string, string[]>();
  const force = new Map<string, string>();
  const notes: { stepId: string; level: "info" | "warn"; message: string }[] = [];
  const st = (id: string): StepState | undefined => state.byId.get(id);
  const unfinished = (id: string): boolean => UNFINISHED.includes(st(id)?.status ?? "pending");
  const done = (id: string): boolean => st(id)?.status === "done";
  const inPlan = new Map(plan.steps.map((s) => [s.id, s]));
  const ancestors = ancestorsOf(plan);
  const coveredDependents = (c: string): PlannedStep[] =>
    plan.steps.filter(
      (d) => d.id !== c && coveringSteps(d).includes(c) && (ancestors.get(d.id)?.has(c) ?? false),
    );

  // Covering step -> the interrupted steps it covers (empty when C itself was interrupted, see the header).
  const roots = new Map<string, string[]>();
  for (const s of plan.steps) {
    if (!unfinished(s.id)) continue;
    for (const c of coveringSteps(s)) {
      if (!inPlan.has(c) || !(ancestors.get(s.id)?.has(c) ?? false)) {
        notes.push({
          stepId: s.id,
          level: "warn",
          message: `interrupted earlier; it names ${c} in coveredBy, which is not a step it comes after, so it is run again in place`,
        });
        continue;
      }
      roots.set(c, [...(roots.get(c) ?? []), s.id]);
    }
  }
  for (const c of plan.steps) {
    if (unfinished(c.id) && !roots.has(c.id) && coveredDependents(c.id).some((d) => done(d.id))) {
      roots.set(c.id, []);
    }
  }

  const live = plan.steps.find(
    (s) => LIVE_PHASES.includes(s.phase) && !["pending", "undone"].includes(st(s.id)?.status ?? "pending"),
  );
  for (const [cId, interrupted] of roots) {
    const c = inPlan.get(cId)!;
    const chain = coveredDependents(cId).filter((d) => done(d.id) || unfinished(d.id));
    const redoneDone = chain.filter((d) => done(d.id)).map((d) => d.id);
    const needsUndo = !["pending", "undone"].includes(st(cId)?.status ?? "pending");
    const blockers: string[] = [];
    if (live)
      blockers.push(`the switch has begun (${live.id}): new's databases may hold writes old never saw`);
    if (needsUndo && c.irreversible !== undefined)
      blockers.push(`${cId} is irreversible (${c.irreversible})`);
    if (needsUndo && !registry.get(c.kind)?.undo) blockers.push(`${cId} (${c.kind}) has no undo`);
    for (const d of chain) {
      if (d.irreversible !== undefined) blockers.push(`${d.id} is irreversible (${d.irreversible})`);
    }
    const what =
      interrupted.length > 0
        ? `${list(interrupted)} ${interrupted.length === 1 ? "was" : "were"} interrupted`
        : `${cId} was interrupted while ${list(redoneDone)} (which it covers) ${redoneDone.length === 1 ? "was" : "were"} done`;
    const about = interrupted[0] ?? cId;
    if (blockers.length > 0) {
      notes.push({
        stepId: about,
        level: "warn",
        message: `${what}; not redone from a fresh ${cId}, because ${blockers.join("; ")}. Verifying and running it again in place instead.`,
      });
      continue;
    }
    if (needsUndo) {
      undoFirst.add(cId);
      settleFirst.set(
        cId,
        chain.filter((d) => unfinished(d.id)).map((d) => d.id),
      );
    }
    const why = `redone from a fresh ${cId}: ${what}`;
    force.set(cId, `${why}; ${needsUndo ? "undoing it, then running it again" : "running it again"}`);
    for (const d of chain) force.set(d.id, `${why}; running it again after ${cId}`);
    notes.push({
      stepId: about,
      level: "info",
      message:
        `${what}. A schema change cut short can leave a database half-migrated (MySQL DDL is not transactional), ` +
        `so ${cId} is ${needsUndo ? "undone and run again" : "run again"} (starting its database over, e.g. a fresh copy from the old controller)` +
        `${redoneDone.length > 0 ? `, then ${list(redoneDone)} again` : ""}` +
        `${interrupted.length > 0 ? `, before ${list(interrupted)} run${interrupted.length === 1 ? "s" : ""} again` : ""}.`,
    });
  }
  return { undoFirst, settleFirst, force, notes };
}
