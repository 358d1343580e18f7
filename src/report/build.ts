/**
 * Journal records -> ReportModel. Pure: the caller reads the journal (and whether a live process holds the lock)
 * and passes the clock, so tests build reports from journals written by the real Journal writer.
 */
import { deriveState, type JournalRecord, type TornLine } from "../engine/journal.js";
import type { LockInfo } from "../engine/lock.js";
import { summarizeJournal } from "../engine/status.js";
import { BugError } from "../lib/errors.js";
import { apiChecks, inventory } from "./inventory.js";
import type { ReportModel, RunInfo } from "./model.js";
import { arr, lastDoneByStep, ms } from "./records.js";
import { configDiffs, transfers, upgradeChecks, warnings } from "./results.js";
import { rollbackPreview } from "./rollback-preview.js";
import { buildTimeline, extractBars } from "./timeline.js";
import { blackout, freezeWindow } from "./windows.js";

export interface BuildReportOptions {
  readonly now: Date;
  /** Pass only when that process is alive (readStatus decides): the run is in progress. */
  readonly lockedBy?: LockInfo;
  /** A last line cut short by a crash (readJournal reports it): shown among the warnings. */
  readonly torn?: TornLine;
}

export function buildReport(records: readonly JournalRecord[], o: BuildReportOptions): ReportModel {
  if (records.length === 0) throw new BugError("buildReport needs a journal with at least its plan record");
  const state = deriveState(records);
  const summary = summarizeJournal(records, o.lockedBy ? { lockedBy: o.lockedBy } : {});
  const live = o.lockedBy !== undefined;
  const nowMs = o.now.getTime();
  const done = lastDoneByStep(records);
  const bars = extractBars(records, live, nowMs);
  const timeline = buildTimeline(records, state, bars, live, nowMs);

  const runs: RunInfo[] = [];
  const rollbacks: (RunInfo & { complete?: boolean })[] = [];
  for (const r of records) {
    if (r.type === "run-start") runs.push({ startMs: ms(r.at) });
    if (r.type === "rollback-start") rollbacks.push({ startMs: ms(r.at) });
    const lastRun = runs.at(-1);
    if (r.type === "run-end" && lastRun && lastRun.endMs === undefined) {
      runs[runs.length - 1] = {
        ...lastRun,
        endMs: ms(r.at),
        outcome: r.outcome,
        ...(r.message ? { message: r.message } : {}),
      };
    }
    const lastRb = rollbacks.at(-1);
    if (r.type === "rollback-end" && lastRb && lastRb.endMs === undefined) {
      rollbacks[rollbacks.length - 1] = {
        ...lastRb,
        endMs: ms(r.at),
        complete: r.complete,
        message: r.message,
      };
    }
  }
  const starts = [...runs, ...rollbacks].map((r) => r.startMs);
  const ends = [...runs, ...rollbacks].map((r) => r.endMs).filter((x): x is number => x !== undefined);
  // Computes are named in check.computes' params even where no step touches them over SSH.
  const computes = state.plan.steps.flatMap((s) =>
    arr(s.params["computes"]).filter((c): c is string => typeof c === "string"),
  );
  const hosts = [...new Set([...state.plan.steps.flatMap((s) => s.hosts), ...computes])];
  const warned = warnings(records, state);
  if (o.torn) {
    warned.push({
      source: "run",
      message: `The journal's last line (line ${o.torn.line}, ${o.torn.bytes} bytes) was cut short by a crash mid-write; the report ends before it and the next run discards it.`,
    });
  }
  // Steps only an earlier plan had (the plan was replaced between runs): kept apart, so a failure of a step the
  // current plan no longer has neither counts against it nor hides that every current step is done.
  const inPlan = new Set(state.plan.steps.map((s) => s.id));
  const counts = { ...summary.counts };
  for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
  for (const s of state.plan.steps) counts[state.byId.get(s.id)?.status ?? "pending"]++;
  const retired = state.steps
    .filter((s) => !inPlan.has(s.id))
    .map((s) => ({
      stepId: s.id,
      title: s.step.title,
      status: s.status,
      ...(s.lastError ? { message: s.lastError } : {}),
    }));
  // summarizeJournal (src/engine/status.ts) counts those retired steps too: a failed one reads as "interrupted"
  // although the last run completed every step of the current plan. Said as it is here; status.ts should do the same.
  const outcome =
    (summary.state === "interrupted" || summary.state === "failed") &&
    state.lastRun?.outcome === "completed" &&
    counts.done === state.plan.steps.length
      ? "completed"
      : summary.state;
  const tr = transfers(state, done);
  const freeze = freezeWindow(state, bars);

  return {
    generatedAtMs: nowMs,
    sourceRelease: state.plan.sourceRelease,
    targetRelease: state.plan.targetRelease,
    outcome,
    live,
    hosts,
    ...(starts.length > 0 ? { startMs: Math.min(...starts) } : {}),
    ...(ends.length > 0 && !live ? { endMs: Math.max(...ends) } : {}),
    runs,
    rollbacks,
    ...(state.finalizedAt ? { finalizedAtMs: ms(state.finalizedAt) } : {}),
    totalSteps: summary.totalSteps,
    counts,
    failed: summary.failed.filter((f) => inPlan.has(f.stepId)),
    retired,
    timeline,
    ...(freeze ? { freeze } : {}),
    blackout: blackout(state, bars, done),
    inventory: inventory(state, done),
    apiChecks: apiChecks(state, done),
    upgradeChecks: upgradeChecks(state, done),
    configDiffs: configDiffs(state, done),
    transfers: tr,
    totalBytes: tr.reduce((sum, t) => sum + (t.bytes ?? 0), 0),
    warnings: warned,
    rollback: rollbackPreview(state),
  };
}
