/**
 * What `handover status` shows: a summary derived from the journal (and the lock, to tell a run in progress from
 * one that was interrupted). Plain data, so `--json` prints it as is; formatStatus renders it as plain lines.
 */
import { deriveState, type JournalRecord, type StepStatus, type TornLine } from "./journal.js";
import type { LockInfo } from "./lock.js";

export type OverallState =
  | "not-started"
  | "running"
  | "interrupted"
  | "failed"
  | "completed"
  | "rolling-back"
  | "rollback-incomplete"
  | "rolled-back"
  | "finalized";

export interface StatusEvent {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly stepId?: string;
  readonly text?: string;
}

export interface StatusSummary {
  readonly state: OverallState;
  readonly sourceRelease: string;
  readonly targetRelease: string;
  readonly totalSteps: number;
  readonly counts: Record<StepStatus, number>;
  /** Steps journaled as running (in progress if the lock is held, else interrupted). */
  readonly running: { stepId: string; title: string; since?: string }[];
  readonly failed: { stepId: string; title: string; message: string }[];
  readonly undoFailed: { stepId: string; title: string; message: string }[];
  readonly irreversibleDone: string[];
  readonly finalized: boolean;
  readonly finalizedAt?: string;
  readonly lastRun?: { startSeq: number; startedAt: string; endedAt?: string; outcome?: string };
  readonly lastRollback?: { startSeq: number; startedAt: string; endedAt?: string; complete?: boolean };
  readonly lastEvents: StatusEvent[];
  /** A live process holding the state dir's lock. */
  readonly lockedBy?: LockInfo;
  readonly tornLastLine?: TornLine;
}

export interface SummarizeOptions {
  /** Pass only when its pid is alive (acquireLock's liveness rule); a stale lock means "interrupted". */
  readonly lockedBy?: LockInfo;
  readonly torn?: TornLine;
  /** @default 10 */
  readonly lastEvents?: number;
}

function eventText(r: JournalRecord): string | undefined {
  switch (r.type) {
    case "step-failed":
    case "undo-failed":
    case "note":
      return r.message;
    case "step-skip":
      return r.reason;
    case "step-done":
      return r.verify;
    case "run-end":
      return r.message ?? r.outcome;
    case "rollback-end":
      return r.message;
    case "step-start":
      return `attempt ${r.attempt}`;
    default:
      return undefined;
  }
}

export function summarizeJournal(records: readonly JournalRecord[], o: SummarizeOptions = {}): StatusSummary {
  const st = deriveState(records);
  // Only the current plan's steps: one a later plan dropped (e.g. a failed check that was replaced) is history,
  // not something still to do.
  const inPlan = new Set(st.plan.steps.map((s) => s.id));
  const steps = st.steps.filter((s) => inPlan.has(s.id));
  const counts: Record<StepStatus, number> = {
    pending: 0,
    running: 0,
    done: 0,
    failed: 0,
    undoing: 0,
    undone: 0,
    "undo-failed": 0,
  };
  for (const s of steps) counts[s.status]++;
  const rollingBack = st.lastRollback !== undefined && st.lastRollback.endedAt === undefined;
  const runInProgress = st.lastRun !== undefined && st.lastRun.endedAt === undefined;
  const live = o.lockedBy !== undefined;
  const rolledBackLast =
    st.lastRollback !== undefined &&
    (st.lastRun === undefined || st.lastRollback.startSeq > st.lastRun.startSeq);

  let state: OverallState;
  if (st.finalized) state = "finalized";
  else if (live && rollingBack) state = "rolling-back";
  else if (live && runInProgress) state = "running";
  else if (rolledBackLast) state = st.lastRollback?.complete === true ? "rolled-back" : "rollback-incomplete";
  else if (st.lastRun === undefined) state = "not-started";
  else if (counts.failed > 0 && st.lastRun.outcome === "failed") state = "failed";
  else if (counts.running > 0 || counts.failed > 0 || runInProgress || st.lastRun.outcome === "interrupted")
    state = "interrupted";
  else state = counts.done === st.plan.steps.length ? "completed" : "interrupted";

  const n = o.lastEvents ?? 10;
  return {
    state,
    sourceRelease: st.plan.sourceRelease,
    targetRelease: st.plan.targetRelease,
    totalSteps: st.plan.steps.length,
    counts,
    running: steps
      .filter((s) => s.status === "running" || s.status === "undoing")
      .map((s) => ({ stepId: s.id, title: s.step.title, ...(s.startedAt ? { since: s.startedAt } : {}) })),
    failed: steps
      .filter((s) => s.status === "failed")
      .map((s) => ({ stepId: s.id, title: s.step.title, message: s.lastError ?? "" })),
    undoFailed: steps
      .filter((s) => s.status === "undo-failed")
      .map((s) => ({ stepId: s.id, title: s.step.title, message: s.lastError ?? "" })),
    irreversibleDone: steps
      .filter((s) => s.status === "done" && s.step.irreversible !== undefined)
      .map((s) => s.id),
    finalized: st.finalized,
    ...(st.finalizedAt ? { finalizedAt: st.finalizedAt } : {}),
    ...(st.lastRun ? { lastRun: { ...st.lastRun } } : {}),
    ...(st.lastRollback ? { lastRollback: { ...st.lastRollback } } : {}),
    lastEvents: records
      .filter((r) => r.type !== "plan")
      .slice(-n)
      .map((r) => {
        const text = eventText(r);
        return {
          seq: r.seq,
          at: r.at,
          type: r.type,
          ...("stepId" in r && r.stepId !== undefined ? { stepId: r.stepId } : {}),
          ...(text === undefined ? {} : { text }),
        };
      }),
    ...(o.lockedBy ? { lockedBy: o.lockedBy } : {}),
    ...(o.torn ? { tornLastLine: o.torn } : {}),
  };
}

/** Plain lines for a terminal or a CI log. */
export function formatStatus(s: StatusSummary): string {
  const lines: string[] = [];
  lines.push(`Migration ${s.sourceRelease} → ${s.targetRelease}: ${s.state}`);
  const c = s.counts;
  const parts = [`${c.done}/${s.totalSteps} done`];
  for (const k of ["running", "failed", "pending", "undoing", "undone", "undo-failed"] as const) {
    if (c[k] > 0) parts.push(`${c[k]} ${k}`);
  }
  lines.push(`Steps: ${parts.join(", ")}`);
  if (s.lockedBy) {
    lines.push(
      `In progress: handover ${s.lockedBy.command ?? ""} pid ${s.lockedBy.pid} on ${s.lockedBy.hostname} since ${s.lockedBy.startedAt}`.replace(
        "  ",
        " ",
      ),
    );
  }
  for (const r of s.running)
    lines.push(`${s.lockedBy ? "Running" : "Interrupted"}: ${r.stepId} (${r.title})`);
  for (const f of s.failed) lines.push(`Failed: ${f.stepId} (${f.title}): ${f.message}`);
  for (const f of s.undoFailed) lines.push(`Undo failed: ${f.stepId} (${f.title}): ${f.message}`);
  if (s.irreversibleDone.length > 0) lines.push(`Irreversible steps done: ${s.irreversibleDone.join(", ")}`);
  if (s.finalizedAt) lines.push(`Finalized at ${s.finalizedAt}; rollback is no longer possible.`);
  if (s.tornLastLine) {
    lines.push(
      `Note: the journal's last line (line ${s.tornLastLine.line}) was cut short by a crash; the next run discards it.`,
    );
  }
  if (s.lastEvents.length > 0) {
    lines.push("Last events:");
    for (const e of s.lastEvents) {
      lines.push(`  ${e.at} ${e.type}${e.stepId ? ` ${e.stepId}` : ""}${e.text ? `: ${e.text}` : ""}`);
    }
  }
  return lines.join("\n");
}
