/**
 * The summary box's facts, worded once for both renderers: outcome, total time, freeze window, blackout, data
 * copied, steps.
 */
import type { OverallState } from "../engine/status.js";
import { formatBytes, formatDuration } from "./format.js";
import type { ReportModel } from "./model.js";

export type Tone = "good" | "bad" | "warn" | "neutral";

const OUTCOMES: Record<OverallState, { label: string; tone: Tone }> = {
  "not-started": { label: "Not started", tone: "neutral" },
  running: { label: "Running", tone: "neutral" },
  interrupted: { label: "Interrupted", tone: "warn" },
  failed: { label: "Failed", tone: "bad" },
  completed: { label: "Completed", tone: "good" },
  "rolling-back": { label: "Rolling back", tone: "warn" },
  "rollback-incomplete": { label: "Rollback incomplete", tone: "bad" },
  "rolled-back": { label: "Rolled back", tone: "warn" },
  finalized: { label: "Completed and finalized", tone: "good" },
};

export function outcomeOf(state: OverallState): { label: string; tone: Tone } {
  return OUTCOMES[state];
}

export interface SummaryItem {
  readonly key: string;
  readonly label: string;
  readonly value: string;
  readonly note?: string;
  readonly tone?: Tone;
}

export function freezeText(m: ReportModel): { value: string; note: string } {
  const f = m.freeze;
  if (!f) return { value: "not started", note: "old's APIs were not stopped" };
  if (f.endMs === undefined) {
    // Old's APIs stay stopped until the switch or a rollback, run or no run: the window lasts until now.
    return {
      value: `${formatDuration(m.generatedAtMs - f.startMs)} so far`,
      note: m.live
        ? "still in effect (run in progress)"
        : "still in effect: neither switched nor rolled back",
    };
  }
  return {
    value: formatDuration(f.endMs - f.startMs),
    note: f.endedBy === "rollback" ? "ended by a rollback" : "freeze to the address move",
  };
}

export function blackoutText(m: ReportModel): { value: string; note: string } {
  const b = m.blackout;
  const moves = b.moves.map((x) => x.moveMs).filter((x): x is number => x !== undefined);
  const moveNote = moves.length > 0 ? `address move ${moves.map((x) => formatDuration(x)).join(", ")}` : "";
  if (b.measuredMs !== undefined) {
    const lost = b.canaries.reduce((s, c) => s + (c.lost ?? 0), 0);
    return {
      value: formatDuration(b.measuredMs),
      note: [`measured by canary, ${lost} lost`, moveNote].filter((x) => x !== "").join("; "),
    };
  }
  if (b.moves.length === 0) return { value: "no switch", note: "no address move in the plan" };
  return { value: "not measured", note: moveNote || "the addresses have not moved" };
}

export function summaryItems(m: ReportModel): SummaryItem[] {
  const o = outcomeOf(m.outcome);
  const total =
    m.startMs === undefined
      ? "—"
      : formatDuration((m.endMs ?? (m.live ? m.generatedAtMs : m.timeline.endMs)) - m.startMs);
  const fr = freezeText(m);
  const bo = blackoutText(m);
  // Only what was copied: a pending volume copy has its planned volumes but moved nothing yet.
  const finished = m.transfers.filter((t) => t.finished);
  const volumes = finished.reduce((s, t) => s + (t.volumes ?? 0), 0);
  const copied = finished.filter((t) => t.bytes !== undefined).length;
  return [
    {
      key: "outcome",
      label: "Outcome",
      value: o.label,
      note: `${m.counts.done} of ${m.totalSteps} steps done`,
      tone: o.tone,
    },
    {
      key: "total",
      label: "Total time",
      value: total,
      note: `${m.runs.length} run(s)${m.rollbacks.length > 0 ? `, ${m.rollbacks.length} rollback(s)` : ""}`,
    },
    { key: "freeze", label: "Freeze window", value: fr.value, note: fr.note },
    { key: "blackout", label: "Switch blackout", value: bo.value, note: bo.note },
    {
      key: "copied",
      label: "Data copied",
      value: formatBytes(m.totalBytes),
      note:
        copied + volumes === 0
          ? "no copy has finished yet"
          : `${copied} copy step(s)${volumes > 0 ? ` + ${volumes} volume(s)` : ""}`,
    },
  ];
}

const COUNT_ORDER = ["done", "running", "failed", "undoing", "undone", "undo-failed", "pending"] as const;

/** `13 done, 1 failed, 4 pending (of 18)`. */
export function countsText(m: ReportModel): string {
  const parts = COUNT_ORDER.filter((k) => m.counts[k] > 0).map((k) => `${m.counts[k]} ${k}`);
  return `${parts.join(", ") || "none"} (of ${m.totalSteps})`;
}
