/**
 * The Gantt chart's data: one bar per step attempt (step-start to step-done/step-failed) and per undo (undo-start
 * to undo-done/undo-failed), grouped by phase.
 *
 * A crash journals no end: an attempt still open when the next run or rollback starts ended at the last record
 * before it (the last sign of life), and is shown as interrupted. An attempt open at the end of the journal is
 * running when a live process holds the lock (its bar reaches now), else interrupted at the last record.
 * A step-failed without a start (the resume found its earlier work could not be verified) is a zero-length bar.
 */
import type { JournalRecord, JournalState } from "../engine/journal.js";
import { PHASES } from "../engine/step.js";
import type { Bar, Timeline, TimelineStep } from "./model.js";
import { ms } from "./records.js";

interface Open {
  readonly startMs: number;
  readonly attempt: number;
}

export function extractBars(records: readonly JournalRecord[], live: boolean, nowMs: number): Bar[] {
  const bars: Bar[] = [];
  const runs = new Map<string, Open>();
  const undos = new Map<string, Open>();
  const counts = new Map<string, number>();
  let lastAt = records.length > 0 ? ms(records[0]!.at) : nowMs;

  const next = (key: string): number => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
  };
  const close = (
    open: Map<string, Open>,
    type: Bar["type"],
    stepId: string,
    endMs: number,
    result: Bar["result"],
    message?: string,
  ): void => {
    const o = open.get(stepId);
    if (o) open.delete(stepId);
    const startMs = o?.startMs ?? endMs;
    const attempt = o?.attempt ?? next(`${type}:${stepId}`);
    bars.push({
      stepId,
      type,
      attempt,
      startMs,
      endMs: Math.max(startMs, endMs),
      result,
      ...(message === undefined ? {} : { message }),
    });
  };
  const closeAll = (endMs: number, result: Bar["result"]): void => {
    for (const id of [...runs.keys()]) close(runs, "run", id, endMs, result);
    for (const id of [...undos.keys()]) close(undos, "undo", id, endMs, result);
  };

  for (const r of records) {
    const t = ms(r.at);
    switch (r.type) {
      case "run-start":
      case "rollback-start":
        closeAll(lastAt, "interrupted");
        break;
      case "step-start":
        if (runs.has(r.stepId)) close(runs, "run", r.stepId, lastAt, "interrupted");
        runs.set(r.stepId, { startMs: t, attempt: next(`run:${r.stepId}`) });
        break;
      case "step-done":
        // A recovered step-done (verified after an interruption) has no open attempt: its bar was closed already.
        if (runs.has(r.stepId)) close(runs, "run", r.stepId, t, "done");
        break;
      case "step-failed":
        close(runs, "run", r.stepId, t, r.interrupted === true ? "interrupted" : "failed", r.message);
        break;
      case "undo-start":
        if (undos.has(r.stepId)) close(undos, "undo", r.stepId, lastAt, "interrupted");
        undos.set(r.stepId, { startMs: t, attempt: next(`undo:${r.stepId}`) });
        break;
      case "undo-done":
        close(undos, "undo", r.stepId, t, "done");
        break;
      case "undo-failed":
        close(undos, "undo", r.stepId, t, "failed", r.message);
        break;
      default:
        break;
    }
    lastAt = t;
  }
  closeAll(live ? Math.max(nowMs, lastAt) : lastAt, live ? "running" : "interrupted");
  return bars.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
}

export function buildTimeline(
  records: readonly JournalRecord[],
  state: JournalState,
  bars: readonly Bar[],
  live: boolean,
  nowMs: number,
): Timeline {
  const byStep = new Map<string, Bar[]>();
  for (const b of bars) byStep.set(b.stepId, [...(byStep.get(b.stepId) ?? []), b]);
  const firstRun = records.find((r) => r.type === "run-start" || r.type === "rollback-start");
  const firstAt = Math.min(
    ...(firstRun ? [ms(firstRun.at)] : []),
    ...bars.map((b) => b.startMs),
    ms(records[records.length - 1]?.at ?? new Date(nowMs).toISOString()),
  );
  const lastAt = ms(records[records.length - 1]?.at ?? new Date(nowMs).toISOString());
  const endMs = Math.max(lastAt, ...bars.map((b) => b.endMs), live ? nowMs : lastAt);

  const phases = PHASES.map((phase) => ({
    phase,
    steps: state.steps
      .filter((s) => s.step.phase === phase && byStep.has(s.id))
      .map((s): TimelineStep => ({
        id: s.id,
        title: s.step.title,
        kind: s.step.kind,
        phase,
        status: s.status,
        bars: byStep.get(s.id) ?? [],
      })),
  })).filter((p) => p.steps.length > 0);
  const notStarted = state.plan.steps.filter((s) => !byStep.has(s.id)).length;
  return { startMs: firstAt, endMs, phases, notStarted };
}
