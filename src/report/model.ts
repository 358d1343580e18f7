/**
 * What `handover report` shows, as plain data derived from the journal alone (no host is contacted, nothing is
 * read but the journal). The Markdown and HTML renderers only lay this out, so both always say the same thing.
 */
import type { StepStatus } from "../engine/journal.js";
import type { OverallState } from "../engine/status.js";
import type { Phase } from "../engine/step.js";

/** One attempt of a step (step-start to step-done/failed), or one undo of it during a rollback. */
export interface Bar {
  readonly stepId: string;
  readonly type: "run" | "undo";
  /** 1-based per step and type. */
  readonly attempt: number;
  readonly startMs: number;
  readonly endMs: number;
  /** `interrupted`: no end was journaled (crash, Ctrl-C); `running`: still going (the state dir is locked). */
  readonly result: "done" | "failed" | "interrupted" | "running";
  readonly message?: string;
}

export interface TimelineStep {
  readonly id: string;
  readonly title: string;
  readonly kind: string;
  readonly phase: Phase;
  readonly status: StepStatus;
  readonly bars: readonly Bar[];
}

export interface Timeline {
  /** Chart domain: the first run's start to the last record (or now while a run is live). */
  readonly startMs: number;
  readonly endMs: number;
  /** Phases in migration order, each with its steps that ran at least once, in plan order. */
  readonly phases: readonly { readonly phase: Phase; readonly steps: readonly TimelineStep[] }[];
  /** Plan steps never started (not drawn). */
  readonly notStarted: number;
}

export interface FreezeWindow {
  readonly stepId: string;
  readonly startMs: number;
  /** Undefined while the freeze is still in effect. */
  readonly endMs?: number;
  /** Why it ended: the addresses moved to new (the switch), or a rollback undid the freeze. */
  readonly endedBy?: "switch" | "rollback";
}

export interface AddressMove {
  readonly stepId: string;
  readonly network?: string;
  readonly address?: string;
  readonly status: StepStatus;
  readonly startMs?: number;
  readonly endMs?: number;
  /** From del on old to add on new, as the step measured it. */
  readonly moveMs?: number;
}

/**
 * What a canary saw of one moved address (net.canary-stop journals one per address; a single-figure `net.canary`
 * step reads as one row without an address).
 */
export interface CanaryResult {
  readonly stepId: string;
  readonly status: StepStatus;
  /** The compute that pinged. */
  readonly compute?: string;
  readonly address?: string;
  /** Undefined: not measured (step not done, or the address never answered). */
  readonly blackoutMs?: number;
  readonly replies?: number;
  readonly sent?: number;
  readonly lost?: number;
  /** The gap itself, on the compute's clock. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** It answered in the last second before the canary stopped (false: still dark at the stop). */
  readonly answeringAtStop?: boolean;
}

export interface Blackout {
  readonly moves: readonly AddressMove[];
  readonly canaries: readonly CanaryResult[];
  /** The longest blackout a canary measured, else undefined ("not measured"). */
  readonly measuredMs?: number;
  /** When that longest blackout was (when the canary recorded it). */
  readonly measuredFromMs?: number;
  readonly measuredToMs?: number;
}

export interface InventoryRow {
  readonly name: string;
  readonly before?: number;
  readonly after?: number;
}

export interface InventorySide {
  readonly stepId: string;
  readonly host: string;
  readonly status: StepStatus;
  readonly counts?: Readonly<Record<string, number>>;
  /** The step's failure or verify text when it recorded no counts. */
  readonly note?: string;
}

export interface Inventory {
  readonly before?: InventorySide;
  readonly after?: InventorySide;
  readonly rows: readonly InventoryRow[];
}

export interface ApiCheckSide {
  readonly stepId: string;
  readonly status: StepStatus;
  readonly detail?: string;
}

export interface ApiCheckRow {
  readonly service: string;
  readonly old?: ApiCheckSide;
  readonly new?: ApiCheckSide;
}

export interface UpgradeCheck {
  readonly stepId: string;
  readonly service: string;
  readonly host: string;
  readonly status: StepStatus;
  /** ok / warning / failure from the exit code; `not run` when the step has not finished. */
  readonly result: "ok" | "warning" | "failure" | "not run";
  readonly exitCode?: number;
  readonly detail?: string;
}

export interface ConfigDiffFile {
  readonly path: string;
  readonly unified: string;
  readonly added?: number;
  readonly removed?: number;
}

export interface ConfigDiffs {
  readonly stepId: string;
  readonly title: string;
  /** The step was undone since: the diff is history, not the current state. */
  readonly undone: boolean;
  readonly files: readonly ConfigDiffFile[];
}

export interface Transfer {
  readonly stepId: string;
  readonly title: string;
  readonly kind: string;
  readonly status: StepStatus;
  /** It finished at least once (a step-done was journaled), even if undone since. */
  readonly finished: boolean;
  /** A path, a database, or the volumes' location. */
  readonly what: string;
  readonly pass?: string;
  readonly bytes?: number;
  readonly seconds?: number;
  /** volumes.copy: how many volumes and their provisioned size (it does not record bytes moved). */
  readonly volumes?: number;
  readonly provisionedBytes?: number;
}

export interface Warning {
  readonly source: "plan" | "note" | "failed" | "undo-failed" | "run";
  readonly atMs?: number;
  readonly stepId?: string;
  readonly message: string;
}

export interface RollbackItem {
  readonly stepId: string;
  readonly title: string;
  readonly kind: string;
  readonly hosts: readonly string[];
  readonly status: StepStatus;
  /** undo: changes something; no-op: read-only or covered by another step's undo; blocked: see message. */
  readonly action: "undo" | "no-op" | "blocked" | "already-undone";
  readonly description: string;
  readonly irreversible?: string;
}

export interface RollbackPreview {
  /** Finalized journals refuse rollback. */
  readonly refused?: string;
  /** Newest first, as rollback would go. */
  readonly items: readonly RollbackItem[];
}

export interface RunInfo {
  readonly startMs: number;
  readonly endMs?: number;
  readonly outcome?: string;
  readonly message?: string;
}

export interface ReportModel {
  readonly generatedAtMs: number;
  readonly sourceRelease: string;
  readonly targetRelease: string;
  readonly outcome: OverallState;
  /** A live process holds the state dir's lock: the report is a snapshot of a run in progress. */
  readonly live: boolean;
  readonly hosts: readonly string[];
  readonly startMs?: number;
  readonly endMs?: number;
  readonly runs: readonly RunInfo[];
  readonly rollbacks: readonly (RunInfo & { complete?: boolean })[];
  readonly finalizedAtMs?: number;
  readonly totalSteps: number;
  /** Statuses of the current plan's steps. */
  readonly counts: Readonly<Record<StepStatus, number>>;
  /** Failed steps of the current plan. */
  readonly failed: readonly { stepId: string; title: string; message: string }[];
  /** Steps an earlier plan had and the current one does not (the plan was replaced between runs). */
  readonly retired: readonly { stepId: string; title: string; status: StepStatus; message?: string }[];
  readonly timeline: Timeline;
  readonly freeze?: FreezeWindow;
  readonly blackout: Blackout;
  readonly inventory: Inventory;
  readonly apiChecks: readonly ApiCheckRow[];
  readonly upgradeChecks: readonly UpgradeCheck[];
  readonly configDiffs: readonly ConfigDiffs[];
  readonly transfers: readonly Transfer[];
  readonly totalBytes: number;
  readonly warnings: readonly Warning[];
  readonly rollback: RollbackPreview;
}
