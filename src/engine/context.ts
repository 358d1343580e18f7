/**
 * Builds the StepContext a step implementation sees: only the hosts its plan entry names, progress and log
 * events tagged with its id (logs are journaled too, for the report), checkpoints journaled durably.
 */
import type { Host } from "../hosts/host.js";
import { BugError } from "../lib/errors.js";
import type { Journal } from "./journal.js";
import type { EngineEvent, JsonObject, PlannedStep, StepContext } from "./step.js";

export interface ContextDeps {
  readonly journal: Journal;
  readonly hosts: ReadonlyMap<string, Host>;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  readonly emit: (event: EngineEvent) => void;
}

export interface BuiltContext {
  readonly ctx: StepContext;
  /** The last checkpoint made through this context, if any. */
  lastCheckpoint(): JsonObject | undefined;
}

/**
 * `forUndo`: the context handed to undo. Checkpoints are refused there: undo data describes the state before the
 * step, and an undo overwriting it would lose what a retried undo needs.
 */
export function buildContext(
  step: PlannedStep,
  deps: ContextDeps,
  previousUndoData?: JsonObject,
  forUndo = false,
): BuiltContext {
  let checkpointed: JsonObject | undefined;
  const ctx: StepContext = {
    host(name) {
      if (!step.hosts.includes(name)) {
        throw new BugError(`step ${step.id} asked for host ${name}, which its plan entry does not name`);
      }
      const h = deps.hosts.get(name);
      if (!h) throw new BugError(`step ${step.id} needs host ${name}, which was not given to the engine`);
      return h;
    },
    emit(event) {
      const at = deps.now().toISOString();
      if (event.type === "log") {
        // Journaled and shown redacted: a step may log something containing a secret.
        const message = deps.journal.redactText(event.message);
        deps.journal.append({ type: "note", stepId: step.id, level: event.level, message });
        deps.emit({ type: "log", stepId: step.id, at, level: event.level, message });
      } else {
        deps.emit({
          ...event,
          type: "step-progress",
          stepId: step.id,
          at,
          ...(event.message === undefined ? {} : { message: deps.journal.redactText(event.message) }),
        });
      }
    },
    signal: deps.signal,
    now: deps.now,
    checkpoint(undoData) {
      if (forUndo) throw new BugError(`step ${step.id}: checkpoint() called from undo; it is for run() only`);
      deps.journal.append({ type: "step-checkpoint", stepId: step.id, undoData });
      checkpointed = undoData;
    },
    resultOf(stepId) {
      const s = deps.journal.state().byId.get(stepId);
      return s?.status === "done" ? s.undoData : undefined;
    },
    ...(previousUndoData === undefined ? {} : { previousUndoData }),
  };
  return { ctx, lastCheckpoint: () => checkpointed };
}
