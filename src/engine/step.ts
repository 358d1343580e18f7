/**
 * The step contract. A Plan is pure data (printable, diffable, testable without hosts); each PlannedStep names an
 * implementation `kind` that the engine looks up in a StepRegistry. Implementations live in src/services and the
 * adapters; they touch machines only through Hosts handed to them in the StepContext.
 */
import type { Host } from "../hosts/host.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Phases, in the order a migration goes through them. */
export const PHASES = [
  "preflight",
  "provision",
  "warm",
  "freeze",
  "databases",
  "configs",
  "upgrade",
  "data",
  "services",
  "verify",
  "switch",
  "finalize",
] as const;
export type Phase = (typeof PHASES)[number];

export interface PlannedStep {
  /** Stable id, e.g. `db.nova.import`, `net.switch.mgmt`. Unique within a plan. */
  readonly id: string;
  /** Implementation key in the StepRegistry, e.g. `db.import`. */
  readonly kind: string;
  readonly title: string;
  readonly phase: Phase;
  /** Host names this step touches ("old", "new", "compute1"). */
  readonly hosts: readonly string[];
  /** Resources read, as `host:kind:name` (e.g. `old:db:nova`, `old:file:/etc/nova`). */
  readonly reads: readonly string[];
  /** Resources written, same form. Steps whose writes do not overlap may run concurrently. */
  readonly writes: readonly string[];
  /** The commands it will run, for `handover plan` (secrets already redacted). */
  readonly commands: readonly string[];
  /** Ids of steps that must be done before this one. */
  readonly after: readonly string[];
  /**
   * Ids of ancestors (through `after`) whose UNDO must finish before this step's undo starts: the one declared
   * reversal of rollback's newest-first order for that pair (rollback.ts header, the third exception). Why: some
   * undos need what an older step's undo restores, e.g. old's nova-conductor exits at start-up when keystone (an
   * API the freeze stopped before it) is not back yet. validate-plan.ts rejects an id that is not an ancestor.
   * Absent (journals from before the field too): the usual order.
   */
  readonly undoAfter?: readonly string[];
  /** Present when the step cannot be undone: the reason, shown in the plan as a point of no return. */
  readonly irreversible?: string;
  /** Parameters for the implementation: data only. */
  readonly params: JsonObject;
}

export interface Plan {
  readonly version: 1;
  readonly sourceRelease: string;
  readonly targetRelease: string;
  readonly steps: readonly PlannedStep[];
  /** Non-blocking findings from planning, shown in the plan and the report. */
  readonly warnings: readonly string[];
}

/** Events the engine emits; the UI and report only render them. */
export type EngineEvent =
  | { type: "step-start"; stepId: string; at: string }
  | { type: "step-skip"; stepId: string; at: string; reason: string }
  | { type: "step-done"; stepId: string; at: string }
  | { type: "step-failed"; stepId: string; at: string; message: string }
  | {
      type: "step-progress";
      stepId: string;
      at: string;
      message?: string;
      bytes?: number;
      totalBytes?: number;
    }
  | { type: "undo-start"; stepId: string; at: string }
  | { type: "undo-done"; stepId: string; at: string }
  | { type: "undo-failed"; stepId: string; at: string; message: string }
  | { type: "log"; stepId?: string; at: string; level: "info" | "warn"; message: string };

/** Omit that keeps a union's members apart (plain Omit would merge them and lose the discriminant). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a step may emit: progress or a log line; the engine adds its id and the time. */
export type StepEvent = DistributiveOmit<
  Extract<EngineEvent, { type: "step-progress" | "log" }>,
  "at" | "stepId"
>;

export interface StepContext {
  /** Host by name; throws a BugError for a name the plan did not declare. */
  host(name: string): Host;
  /** Report progress or a log line to the UI (and journal for warnings). */
  emit(event: StepEvent): void;
  /** Aborted on Ctrl-C: long steps check it between units of work. */
  readonly signal: AbortSignal;
  /** Clock, injected so tests can set it. */
  now(): Date;
  /**
   * Journal (fsynced) what undo will need BEFORE changing anything, e.g. which services were running before a
   * freeze stops them. If the process dies midway, rollback and resume still know the original state: an
   * interrupted step that later verifies ok is recorded done with its last checkpoint as undo data. The engine
   * always provides it; optional only so hand-built contexts in tests need not.
   */
  checkpoint?(undoData: JsonObject): void;
  /**
   * Undo data from an earlier attempt of this step (one that was interrupted, or that was done and is being redone
   * because verify no longer passes). Merge with it so undo restores the state before the FIRST attempt, not the
   * half-done state the redo found. Undefined on a first attempt. (The engine also journals, as undo data, this
   * merged shallowly under the attempt's last checkpoint and run's return value, later layers winning.)
   */
  readonly previousUndoData?: JsonObject;
  /**
   * What a DONE step recorded (its journaled undo data), for steps that compare against an earlier one (the
   * inventory after the upgrade against the inventory before the freeze). Undefined when that step is not done.
   */
  resultOf?(stepId: string): JsonObject | undefined;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** What was checked and found, for the journal and report. */
  readonly detail: string;
}

export interface StepImpl<P extends JsonObject = JsonObject> {
  readonly kind: string;
  /**
   * Does the work. Idempotent: running it twice leaves the same state. Returns what undo needs to know
   * (journaled with the step's completion), e.g. which services were running before a freeze.
   */
  run(ctx: StepContext, params: P): Promise<JsonObject | void>;
  /** Proves the work is done, from the hosts themselves. Used after run and on resume. */
  verify(ctx: StepContext, params: P): Promise<VerifyResult>;
  /**
   * Returns the hosts to the state before the step, given what run returned merged over its last checkpoint.
   * Absent for irreversible steps. Also called for a step that was interrupted or failed midway (undoData is then
   * only what was checkpointed, possibly `{}`), so it must tolerate partial state and be idempotent: rollback
   * after a crash mid-rollback calls it again.
   */
  undo?(ctx: StepContext, params: P, undoData: JsonObject): Promise<void>;
  /**
   * Waits until whatever an interrupted attempt started on the hosts has ended (a manage tool keeps running after
   * handover is killed). Called before the step's covering step is undone for a fresh redo (covered-redo.ts), so
   * the redo never drops a database under a migration still running, and by rollback before undoing a step that
   * did not finish (rollback.ts). `undoData` is the attempt's checkpoint. Bounded: it returns or throws in time.
   */
  awaitEarlierAttempt?(ctx: StepContext, params: P, undoData: JsonObject): Promise<void>;
  /**
   * True when run ends by making the very check verify makes, and throws when it fails (read-only checks, a copy
   * that compares checksums, a tool whose exit status is its own verdict): right after a successful run the engine
   * journals run's `detail` (if it returned one) as the verification instead of repeating the check. verify still
   * runs on resume, where run's outcome is unknown. Why: each repeat is a second python tool, CLI call or
   * checksum pass inside the freeze window (measured: the verify phase and every schema tool ran twice).
   */
  readonly provenByRun?: (params: P) => boolean;
  /**
   * True when this step's undo may run in any order relative to the undo of another step for which it is also
   * true, though the plan ordered their runs (rollback.ts header: the order-free exception). Only the direct pair
   * is freed: resource conflicts and every other step between or around them keep their order. Why: svc.start's
   * undo only stops a daemon, and stopping new's OpenStack daemons one after another in reverse start order was
   * most of a rollback (~15 s measured); when all of them are being stopped, the order among them does not matter.
   */
  readonly undoOrderFree?: (params: P) => boolean;
}

export type StepRegistry = ReadonlyMap<string, StepImpl>;
