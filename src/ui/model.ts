/**
 * The UI's picture of a run, built only from EngineEvents (the engine knows nothing of the UI). Both renderers
 * keep one: the plain one for durations and throttling, the TTY one to draw from.
 */
import type { EngineEvent, Phase, Plan } from "../engine/step.js";
import { PHASES } from "../engine/step.js";

export type ViewStatus =
  "waiting" | "running" | "done" | "skipped" | "failed" | "undoing" | "undone" | "undo-failed";

export interface StepView {
  readonly id: string;
  readonly title: string;
  readonly phase: Phase;
  status: ViewStatus;
  startedAtMs?: number;
  endedAtMs?: number;
  message?: string;
  bytes?: number;
  totalBytes?: number;
  /** Time of the first progress report with bytes: rates are measured from there. */
  firstBytesAtMs?: number;
  bytesAtFirst?: number;
}

export class RunModel {
  readonly steps = new Map<string, StepView>();
  readonly phases: Phase[];

  constructor(plan: Pick<Plan, "steps">) {
    for (const s of plan.steps) {
      this.steps.set(s.id, { id: s.id, title: s.title, phase: s.phase, status: "waiting" });
    }
    const present = new Set(plan.steps.map((s) => s.phase));
    this.phases = PHASES.filter((p) => present.has(p));
  }

  /** Applies an event; returns the step it concerns (undefined for events about unknown steps or none). */
  apply(e: EngineEvent): StepView | undefined {
    if (e.type === "log" && e.stepId === undefined) return undefined;
    const s = this.steps.get(e.stepId ?? "");
    if (!s) return undefined;
    const t = Date.parse(e.at);
    switch (e.type) {
      case "step-start":
        s.status = "running";
        s.startedAtMs = t;
        s.endedAtMs = undefined;
        s.message = undefined;
        s.bytes = undefined;
        s.totalBytes = undefined;
        s.firstBytesAtMs = undefined;
        s.bytesAtFirst = undefined;
        break;
      case "step-done":
        s.status = "done";
        s.endedAtMs = t;
        break;
      case "step-skip":
        s.status = "skipped";
        s.endedAtMs = t;
        s.message = e.reason;
        break;
      case "step-failed":
        s.status = "failed";
        s.endedAtMs = t;
        s.message = e.message;
        break;
      case "step-progress":
        if (e.message !== undefined) s.message = e.message;
        if (e.bytes !== undefined) {
          if (s.firstBytesAtMs === undefined) {
            s.firstBytesAtMs = s.startedAtMs ?? t;
            s.bytesAtFirst = s.startedAtMs !== undefined ? 0 : e.bytes;
          }
          s.bytes = e.bytes;
        }
        if (e.totalBytes !== undefined) s.totalBytes = e.totalBytes;
        break;
      case "undo-start":
        s.status = "undoing";
        s.startedAtMs = t;
        s.endedAtMs = undefined;
        s.message = undefined;
        break;
      case "undo-done":
        s.status = "undone";
        s.endedAtMs = t;
        break;
      case "undo-failed":
        s.status = "undo-failed";
        s.endedAtMs = t;
        s.message = e.message;
        break;
      case "log":
        break;
    }
    return s;
  }

  counts(phase?: Phase): { total: number; finished: number; running: number; failed: number } {
    let total = 0;
    let finished = 0;
    let running = 0;
    let failed = 0;
    for (const s of this.steps.values()) {
      if (phase !== undefined && s.phase !== phase) continue;
      total++;
      if (s.status === "done" || s.status === "skipped" || s.status === "undone") finished++;
      if (s.status === "running" || s.status === "undoing") running++;
      if (s.status === "failed" || s.status === "undo-failed") failed++;
    }
    return { total, finished, running, failed };
  }
}
