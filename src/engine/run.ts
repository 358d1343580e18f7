/**
 * Executes a plan against hosts, journaling every transition, so that running it again after a crash, a failure or
 * Ctrl-C resumes where it stopped.
 *
 * Scheduling: a step starts when every step it is `after` is complete, no running step conflicts with it (one
 * writes what the other reads or writes, see resources.ts), no EARLIER step in plan order that conflicts with it is
 * still incomplete (so writers of one resource apply in plan order, and a concurrent run ends in the same state as
 * a sequential one), and fewer than `concurrency` steps are running. Plan order is a topological order
 * (validate-plan.ts), so the earliest incomplete step can always start once the running ones finish: no deadlock.
 *
 * Resume, per step, from the journal:
 * - done, and a LATER step that is also done overwrites what it wrote or read: verified, but skipped either way.
 *   Its verify may check a state that later steps replaced on purpose (row counts of an import after the schema
 *   upgrade), and redoing it would undo their work; a failing verify is journaled as a warning for the report.
 *   The later step's own verify decides whether IT is redone.
 * - done otherwise: verify; ok → skipped; not ok → run again.
 * - started but not done (interrupted, failed, or caught mid-undo): verify; ok → recorded done with its last
 *   checkpoint as undo data; not ok → run again (run is idempotent; it gets the earlier undo data to merge with).
 *   Except a step covered by another (`params.coveredBy`, e.g. a schema sync on an imported database): the
 *   covering step is undone and run again, then the covered steps that were done, then this one (covered-redo.ts).
 * - never started, or undone by a rollback: run.
 * After every run, verify must pass, or the step fails with "ran but verification failed: <detail>".
 *
 * On a failure or Ctrl-C no new step starts; running steps finish (or abort on the signal); then runPlan rejects
 * with a UserError that says how to resume or roll back.
 */
import type { Host } from "../hosts/host.js";
import { BugError, UserError, errorMessage } from "../lib/errors.js";
import { buildContext, type ContextDeps } from "./context.js";
import { planHash, type Journal, type StepState } from "./journal.js";
import { planCoveredRedo } from "./covered-redo.js";
import { stepsConflict, supersedes } from "./resources.js";
import type {
  EngineEvent,
  JsonObject,
  Plan,
  PlannedStep,
  StepImpl,
  StepRegistry,
  VerifyResult,
} from "./step.js";
import { validatePlan } from "./validate-plan.js";
import {
  TEST_PAUSE_VAR,
  nodePauseIo,
  parseTestPause,
  type PauseEnv,
  type PauseIo,
  type PausePoint,
} from "./test-pause.js";
import { safeEmit } from "./safe-emit.js";

export const DEFAULT_CONCURRENCY = 4;

export interface RunPlanOptions {
  readonly plan: Plan;
  readonly registry: StepRegistry;
  readonly hosts: ReadonlyMap<string, Host>;
  /** Opened for this plan (Journal.open with `plan`), with the state dir's lock held. */
  readonly journal: Journal;
  /** Most steps running at once. @default 4 */
  readonly concurrency?: number;
  /** Ctrl-C: stop starting steps; running steps see it in ctx.signal. */
  readonly signal?: AbortSignal;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Receives every engine event (UI, report). Must not throw. */
  readonly emit?: (event: EngineEvent) => void;
  /** Where the test hook HANDOVER_TEST_PAUSE is read (test-pause.ts). @default process.env */
  readonly env?: PauseEnv;
  /** What a test pause does (stderr line, marker file, wait). @default the real process */
  readonly pauseIo?: PauseIo;
}

export interface RunSummary {
  /** Steps whose run() executed in this invocation. */
  readonly ran: string[];
  /** Steps journaled done earlier whose verify passed. */
  readonly skipped: string[];
  /** Steps interrupted earlier whose verify showed the work done. */
  readonly recovered: string[];
}

type Outcome = keyof RunSummary;

interface Failure {
  readonly step: PlannedStep;
  readonly message: string;
  readonly cause: unknown;
}

/** Thrown inside executeStep to carry the message that is journaled and shown. */
class StepFailure extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

export async function runPlan(o: RunPlanOptions): Promise<RunSummary> {
  const { plan, registry, hosts, journal } = o;
  validatePlan(plan, { registry, hosts });
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError(
      "BAD_CONCURRENCY",
      `Concurrency must be a whole number of at least 1, not ${concurrency}.`,
    );
  }
  const state = journal.state();
  if (state.planHash !== planHash(plan)) {
    throw new BugError("runPlan was given a journal opened for a different plan");
  }
  if (state.finalized) {
    throw new UserError(
      "JOURNAL_FINALIZED",
      `This migration was finalized at ${state.finalizedAt}; there is nothing left to run.`,
      {
        nextSteps: ["Use a new --state-dir to start another migration."],
      },
    );
  }
  const now = o.now ?? (() => new Date());
  const signal = o.signal ?? new AbortController().signal;
  // A renderer failure is journaled (once), never thrown into a step.
  const emit = safeEmit(o.emit, (message) => o.journal.append({ type: "note", level: "warn", message }));
  const deps: ContextDeps = { journal, hosts, signal, now, emit };
  const at = (): string => now().toISOString();

  const resume = state.steps.some((s) => s.status !== "pending");
  const asked = parseTestPause(o.env ?? process.env, new Set(plan.steps.map((s) => s.id)));
  const testPause = asked.pause;
  const pauseIo = o.pauseIo ?? nodePauseIo;
  /** Set once a test pause is reached: no further step starts, so the kill lands with the journal as it is. */
  let paused = false;
  const redo = planCoveredRedo(plan, state, registry);
  journal.append({ type: "run-start", concurrency, resume });

  const summary: RunSummary = { ran: [], skipped: [], recovered: [] };
  const complete = new Set<string>();
  const pending = [...plan.steps];
  const running = new Map<string, PlannedStep>();
  const failures: Failure[] = [];
  let fatal: unknown;

  /** Journaled and shown: the operator should see why the engine redoes or leaves a step. */
  function note(stepId: string, level: "info" | "warn", text: string): void {
    const message = journal.redactText(text);
    journal.append({ type: "note", stepId, level, message });
    emit({ type: "log", stepId, at: at(), level, message });
  }

  if (asked.warning) {
    const message = journal.redactText(asked.warning);
    journal.append({ type: "note", level: "warn", message });
    emit({ type: "log", at: at(), level: "warn", message });
  }
  for (const n of redo.notes) note(n.stepId, n.level, n.message);

  /** The test hook (test-pause.ts): never returns when this step and point are the ones asked for. */
  async function pauseIfAsked(step: PlannedStep, point: PausePoint): Promise<void> {
    if (!testPause || testPause.stepId !== step.id || testPause.point !== point) return;
    paused = true;
    note(step.id, "warn", `test pause at ${step.id}:${point} (${TEST_PAUSE_VAR}): waiting to be killed`);
    pauseIo.stderr(`handover: test pause at ${step.id}:${point}\n`);
    if (testPause.markerFile) {
      const marker = { stepId: step.id, point, pid: process.pid, journalSeq: journal.state().lastSeq };
      pauseIo.writeMarker(testPause.markerFile, `${JSON.stringify(marker)}\n`);
    }
    await pauseIo.wait();
  }

  /** Undo before a redo from scratch (covered-redo.ts), journaled like a rollback's undo so status and rollback see it. */
  async function undoForRedo(impl: StepImpl, step: PlannedStep, st: StepState): Promise<void> {
    if (!impl.undo) throw new BugError(`${step.id} was planned for undo and redo but its kind has no undo`);
    // What the interrupted covered steps started may still run on the hosts: never drop a database under it.
    for (const id of redo.settleFirst.get(step.id) ?? []) {
      const other = plan.steps.find((s) => s.id === id);
      const otherImpl = other ? registry.get(other.kind) : undefined;
      if (!other || !otherImpl?.awaitEarlierAttempt) continue;
      const undoData = state.byId.get(id)?.undoData ?? {};
      try {
        await otherImpl.awaitEarlierAttempt(buildContext(other, deps, undoData).ctx, other.params, undoData);
      } catch (e) {
        throw new StepFailure(
          `could not make sure ${id}'s interrupted attempt has ended: ${errorMessage(e)}`,
          e,
        );
      }
    }
    journal.append({ type: "undo-start", stepId: step.id });
    emit({ type: "undo-start", stepId: step.id, at: at() });
    try {
      const { ctx } = buildContext(step, deps, undefined, true);
      await impl.undo(ctx, step.params, st.undoData ?? {});
    } catch (e) {
      const message = journal.redactText(errorMessage(e));
      journal.append({ type: "undo-failed", stepId: step.id, message });
      emit({ type: "undo-failed", stepId: step.id, at: at(), message });
      throw new StepFailure(`could not undo it to start again from scratch: ${errorMessage(e)}`, e);
    }
    journal.append({ type: "undo-done", stepId: step.id });
    emit({ type: "undo-done", stepId: step.id, at: at() });
  }

  async function verify(impl: StepImpl, step: PlannedStep): Promise<VerifyResult> {
    const { ctx } = buildContext(step, deps);
    return impl.verify(ctx, step.params);
  }

  async function executeStep(step: PlannedStep, st: StepState): Promise<Outcome> {
    const impl = registry.get(step.kind)!;
    const forced = redo.force.get(step.id);
    const undoneFirst = forced !== undefined && redo.undoFirst.has(step.id);
    if (forced !== undefined) {
      note(step.id, "info", forced);
      if (undoneFirst) await undoForRedo(impl, step, st);
    } else if (st.status === "done") {
      const later = supersededBy(step);
      if (later) {
        let v: VerifyResult;
        try {
          v = await verify(impl, step);
        } catch (e) {
          v = { ok: false, detail: `verify could not run: ${errorMessage(e)}` };
        }
        const reason = v.ok
          ? `already done (verified: ${v.detail})`
          : `already done; not redone although verify fails (${v.detail}), because ${later.id}, done after it, changed what it wrote or read`;
        if (!v.ok) note(step.id, "warn", reason);
        journal.append({ type: "step-skip", stepId: step.id, reason });
        emit({ type: "step-skip", stepId: step.id, at: at(), reason });
        return "skipped";
      }
    }
    if (forced === undefined && st.status !== "pending" && st.status !== "undone") {
      let v: VerifyResult;
      try {
        v = await verify(impl, step);
      } catch (e) {
        throw new StepFailure(`could not verify its earlier work: ${errorMessage(e)}`, e);
      }
      if (st.status === "done") {
        if (v.ok) {
          const reason = `already done (verified: ${v.detail})`;
          journal.append({ type: "step-skip", stepId: step.id, reason });
          emit({ type: "step-skip", stepId: step.id, at: at(), reason });
          return "skipped";
        }
        note(step.id, "warn", `was done, but verification now fails (${v.detail}); running it again`);
      } else {
        if (v.ok) {
          journal.append({
            type: "step-done",
            stepId: step.id,
            undoData: st.undoData ?? {},
            verify: v.detail,
            recovered: true,
          });
          const reason = `completed before the interruption (verified: ${v.detail})`;
          emit({ type: "step-skip", stepId: step.id, at: at(), reason });
          return "recovered";
        }
        note(step.id, "info", `interrupted earlier (${v.detail}); running it again`);
      }
    }
    // Undo data of an earlier attempt, so the redo can keep the ORIGINAL state for undo (see StepContext). Kept
    // after a redo's own undo too: the run may need it to find its interrupted attempt (a token, temp dirs).
    const previous = st.status === "undone" ? undefined : st.undoData;
    journal.append({ type: "step-start", stepId: step.id, attempt: st.attempts + 1 });
    emit({ type: "step-start", stepId: step.id, at: at() });
    const built = buildContext(step, deps, previous);
    await pauseIfAsked(step, "before-run");
    let returned: JsonObject | void;
    try {
      returned = await impl.run(built.ctx, step.params);
    } catch (e) {
      throw new StepFailure(errorMessage(e), e);
    }
    await pauseIfAsked(step, "after-run");
    let v: VerifyResult;
    if (impl.provenByRun?.(step.params) === true) {
      const said = returned?.detail;
      v = { ok: true, detail: typeof said === "string" && said !== "" ? said : "checked by the run itself" };
    } else {
      try {
        v = await impl.verify(built.ctx, step.params);
      } catch (e) {
        throw new StepFailure(`ran, but verification could not run: ${errorMessage(e)}`, e);
      }
    }
    if (!v.ok) throw new StepFailure(`ran but verification failed: ${v.detail}`, undefined);
    // Later layers win; keeping the earlier attempt's data underneath is a safety net for steps that do not merge.
    const undoData: JsonObject = {
      ...(previous ?? {}),
      ...(built.lastCheckpoint() ?? {}),
      ...(returned ?? {}),
    };
    journal.append({ type: "step-done", stepId: step.id, undoData, verify: v.detail });
    emit({ type: "step-done", stepId: step.id, at: at() });
    return "ran";
  }

  /** The first later step, done before this run began, that overwrites what this one wrote or read. */
  function supersededBy(step: PlannedStep): PlannedStep | undefined {
    const pos = plan.steps.indexOf(step);
    return plan.steps
      .slice(pos + 1)
      .find((later) => state.byId.get(later.id)?.status === "done" && supersedes(later, step));
  }

  function canStart(step: PlannedStep, index: number): boolean {
    if (!step.after.every((d) => complete.has(d))) return false;
    for (const r of running.values()) if (stepsConflict(r, step)) return false;
    // An earlier conflicting step that is still waiting goes first (pending is in plan order).
    for (let i = 0; i < index; i++) if (stepsConflict(pending[i]!, step)) return false;
    return true;
  }

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (failures.length === 0 && fatal === undefined && !signal.aborted && !paused) {
        for (let i = 0; i < pending.length && running.size < concurrency;) {
          const step = pending[i]!;
          if (!canStart(step, i)) {
            i++;
            continue;
          }
          pending.splice(i, 1);
          running.set(step.id, step);
          const st = state.byId.get(step.id)!;
          executeStep(step, st)
            .then(
              (outcome) => {
                complete.add(step.id);
                summary[outcome].push(step.id);
              },
              (e: unknown) => {
                const f = e instanceof StepFailure ? e : new StepFailure(errorMessage(e), e);
                const message = journal.redactText(f.message);
                failures.push({ step, message, cause: f.cause });
                journal.append({
                  type: "step-failed",
                  stepId: step.id,
                  message,
                  ...(signal.aborted ? { interrupted: true } : {}),
                });
                emit({ type: "step-failed", stepId: step.id, at: at(), message });
              },
            )
            .catch((e: unknown) => {
              // The journal itself failed (disk full, I/O error): stop everything, report it as it is.
              fatal ??= e;
            })
            .finally(() => {
              running.delete(step.id);
              pump();
            });
        }
      }
      if (running.size === 0) resolve();
    };
    pump();
  });

  if (fatal !== undefined) throw fatal instanceof Error ? fatal : new BugError(errorMessage(fatal));
  const remaining = pending.length;
  if (signal.aborted && (remaining > 0 || failures.length > 0)) {
    const message = `Stopped on request: ${complete.size} of ${plan.steps.length} steps are done, ${remaining + failures.length} are not.${
      failures.length > 0
        ? ` Interrupted or failed: ${failures.map((f) => `${f.step.id} (${f.message})`).join("; ")}.`
        : ""
    }`;
    journal.append({ type: "run-end", outcome: "interrupted", message });
    throw new UserError("RUN_INTERRUPTED", message, { nextSteps: resumeOrRollback() });
  }
  if (remaining > 0 && failures.length === 0 && !signal.aborted) {
    // Cannot happen with a validated plan (see the header); if it does, say so rather than report success.
    throw new BugError(
      `the scheduler stopped with ${remaining} step(s) never started: ${pending.map((p) => p.id).join(", ")}`,
    );
  }
  const first = failures[0];
  if (first) {
    const others = failures.slice(1).map((f) => `${f.step.id}: ${f.message}`);
    const message = `Step ${first.step.id} (${first.step.title}) on ${first.step.hosts.join(", ") || "no host"} failed: ${first.message}${
      others.length > 0 ? ` Also failed: ${others.join("; ")}` : ""
    }`;
    journal.append({ type: "run-end", outcome: "failed", message });
    throw new UserError("STEP_FAILED", message, { nextSteps: resumeOrRollback(), cause: first.cause });
  }
  journal.append({ type: "run-end", outcome: "completed" });
  return summary;
}

function resumeOrRollback(): string[] {
  return [
    "Fix the cause, then run `handover run` again: it re-verifies what is done and continues from there.",
    "Or run `handover rollback` to undo every completed step and return to the old controller.",
  ];
}
