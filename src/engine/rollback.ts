/**
 * Undo what the journal says was done, newest first, with an outcome per step (listr2's `rollback`, aws-cdk's
 * per-stack rollback results).
 *
 * - Candidates: steps done, and steps started but not finished (interrupted, failed, or caught mid-undo by an
 *   earlier rollback); undo must tolerate partial state. Steps already undone are reported, not touched again, so
 *   a rollback interrupted by a crash finishes when run again.
 * - Order: reverse completion (a step's last step-done; for unfinished steps, their last step-start). A step's
 *   dependents start after it completes, so they are always undone before it.
 * - An irreversible step that was done, or that started (it may have taken effect), blocks rollback past it:
 *   everything newer is undone, it and everything older are reported blocked with its reason.
 * - A finalized journal refuses rollback.
 * - A failed undo does NOT stop the rollback. Operators want as much restored as possible; stopping at the first
 *   failure would leave more of the cloud half-migrated. Every outcome is reported, the journal records
 *   undo-failed, `complete` is false (the CLI exits non-zero), and running rollback again retries the failures.
 * - Ctrl-C stops before the next undo; the rest are reported not attempted.
 * Undos run one at a time: rollback is about certainty, not speed, and the order above is a total order.
 */
import type { Host } from "../hosts/host.js";
import { UserError, errorMessage } from "../lib/errors.js";
import { buildContext } from "./context.js";
import type { Journal, JournalState, StepState } from "./journal.js";
import type { EngineEvent, StepRegistry } from "./step.js";
import { BugError } from "../lib/errors.js";

export type UndoOutcomeKind =
  /** undo ran and returned. */
  | "undone"
  /** Undone by an earlier rollback. */
  | "already-undone"
  | "failed"
  /** Irreversible, or older than an irreversible step. */
  | "blocked"
  /** Ctrl-C came first. */
  | "not-attempted";

export interface UndoOutcome {
  readonly stepId: string;
  readonly title: string;
  readonly hosts: readonly string[];
  readonly outcome: UndoOutcomeKind;
  /** Why it failed or is blocked. */
  readonly message?: string;
}

export interface RollbackResult {
  /** Every touched step is undone. */
  readonly complete: boolean;
  readonly interrupted: boolean;
  /** Newest first: the order undos were attempted. */
  readonly outcomes: UndoOutcome[];
  /** One line for the operator. */
  readonly message: string;
  readonly nextSteps: string[];
}

export interface RollbackOptions {
  readonly registry: StepRegistry;
  readonly hosts: ReadonlyMap<string, Host>;
  /** Opened without a plan (the journaled plan is what gets undone), with the state dir's lock held. */
  readonly journal: Journal;
  readonly signal?: AbortSignal;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly emit?: (event: EngineEvent) => void;
}

const TOUCHED = new Set(["done", "running", "failed", "undoing", "undo-failed"]);

function orderKey(s: StepState): number {
  return s.doneSeq ?? s.lastStartSeq ?? 0;
}

/** The step needs undo (done, or started and not finished); the report uses this to preview a rollback. */
export function needsUndo(s: StepState): boolean {
  return TOUCHED.has(s.status);
}

/**
 * The steps a rollback goes through, newest first (see the header for the order); exported so `handover report`
 * shows what a rollback would do now with the same selection.
 */
export function rollbackCandidates(state: JournalState): StepState[] {
  return state.steps
    .filter((s) => TOUCHED.has(s.status) || s.status === "undone")
    .sort((a, b) => orderKey(b) - orderKey(a));
}

export async function rollbackJournal(o: RollbackOptions): Promise<RollbackResult> {
  const { journal, registry } = o;
  const state = journal.state();
  if (state.finalized) {
    throw new UserError(
      "ROLLBACK_FINALIZED",
      `This migration was finalized at ${state.finalizedAt}: finalize removed what rollback needs (the old controller's role, temporary keys, the compute pin), so rollback is refused.`,
      {
        nextSteps: [
          "To go back, plan a new migration from the current controller to the old release's host.",
        ],
      },
    );
  }
  const now = o.now ?? (() => new Date());
  const signal = o.signal ?? new AbortController().signal;
  const emit = o.emit ?? (() => undefined);
  const at = (): string => now().toISOString();
  const deps = { journal, hosts: o.hosts, signal, now, emit };

  const todo = rollbackCandidates(state);
  // Fail before touching anything if an undo we need is missing.
  for (const s of todo) {
    if (TOUCHED.has(s.status) && s.step.irreversible === undefined && !registry.get(s.step.kind)?.undo) {
      throw new BugError(`step ${s.id}: kind ${s.step.kind} has no undo and is not declared irreversible`);
    }
  }

  journal.append({ type: "rollback-start" });
  const outcomes: UndoOutcome[] = [];
  const out = (s: StepState, outcome: UndoOutcomeKind, message?: string): void => {
    outcomes.push({
      stepId: s.id,
      title: s.step.title,
      hosts: s.step.hosts,
      outcome,
      ...(message === undefined ? {} : { message }),
    });
  };
  let blockedBy: StepState | undefined;
  let interrupted = false;

  for (const s of todo) {
    if (s.status === "undone") {
      out(s, "already-undone");
      continue;
    }
    if (blockedBy) {
      out(s, "blocked", `older than irreversible step ${blockedBy.id}`);
      continue;
    }
    if (s.step.irreversible !== undefined) {
      blockedBy = s;
      const how = s.status === "done" ? "was done" : "started and may have taken effect";
      out(s, "blocked", `irreversible (${s.step.irreversible}); it ${how}`);
      continue;
    }
    if (signal.aborted) {
      interrupted = true;
      out(s, "not-attempted", "stopped on request");
      continue;
    }
    const impl = registry.get(s.step.kind)!;
    journal.append({ type: "undo-start", stepId: s.id });
    emit({ type: "undo-start", stepId: s.id, at: at() });
    try {
      const { ctx } = buildContext(s.step, deps, undefined, true);
      await impl.undo!(ctx, s.step.params, s.undoData ?? {});
      journal.append({ type: "undo-done", stepId: s.id });
      emit({ type: "undo-done", stepId: s.id, at: at() });
      out(s, "undone");
    } catch (e) {
      const message = journal.redactText(errorMessage(e));
      journal.append({ type: "undo-failed", stepId: s.id, message });
      emit({ type: "undo-failed", stepId: s.id, at: at(), message });
      out(s, "failed", message);
    }
  }

  const failed = outcomes.filter((x) => x.outcome === "failed");
  const undone = outcomes.filter((x) => x.outcome === "undone").length;
  const complete = outcomes.every((x) => x.outcome === "undone" || x.outcome === "already-undone");
  const nextSteps: string[] = [];
  let message: string;
  if (complete) {
    message = `Rollback complete: ${undone} step(s) undone${outcomes.length > undone ? `, ${outcomes.length - undone} already undone earlier` : ""}.`;
  } else {
    const parts = [`${undone} undone`];
    if (failed.length > 0) parts.push(`${failed.length} failed (${failed.map((f) => f.stepId).join(", ")})`);
    if (blockedBy) parts.push(`blocked at irreversible step ${blockedBy.id}: ${blockedBy.step.irreversible}`);
    if (interrupted) parts.push("stopped on request before the rest");
    message = `Rollback incomplete: ${parts.join("; ")}.`;
    if (failed.length > 0 || interrupted) {
      nextSteps.push(
        "Fix what the failed undos report, then run `handover rollback` again: it retries what is not undone.",
      );
    }
    if (blockedBy) {
      nextSteps.push(
        `Steps older than ${blockedBy.id} cannot be undone automatically; restore them by hand or continue with \`handover run\`.`,
      );
    }
  }
  journal.append({ type: "rollback-end", complete, message });
  return { complete, interrupted, outcomes, message, nextSteps };
}
