/**
 * Plain progress for CI logs, pipes and `--plain`: one timestamped line per state change, e.g.
 * `12:00:01 ✓ db.nova.copy  (3.2s)`. Progress reports are throttled to one line per step per interval (2 s by
 * default), with bytes, rate and ETA when the step reports them. Times come from the events themselves (the
 * engine's injected clock), so output is reproducible in tests.
 */
import type { EngineEvent, Plan } from "../engine/step.js";
import { clockTime, describeBytes, formatDuration } from "./format.js";
import { RunModel, type StepView } from "./model.js";
import type { ProgressRenderer } from "./renderer.js";

export interface PlainRendererOptions {
  /** Receives one line at a time, without a newline. */
  readonly write: (line: string) => void;
  /** At most one progress line per step per this many ms. @default 2000 */
  readonly progressIntervalMs?: number;
  /** Print times in UTC instead of the local zone (tests, and CI machines with odd zones). @default false */
  readonly utc?: boolean;
}

export class PlainRenderer implements ProgressRenderer {
  private readonly model: RunModel;
  private readonly interval: number;
  private readonly lastProgress = new Map<string, number>();
  private readonly phasesShown = new Set<string>();

  constructor(
    plan: Pick<Plan, "steps">,
    private readonly o: PlainRendererOptions,
  ) {
    this.model = new RunModel(plan);
    this.interval = o.progressIntervalMs ?? 2000;
  }

  handle(e: EngineEvent): void {
    const s = this.model.apply(e);
    const time = clockTime(e.at, this.o.utc ?? false);
    const line = (mark: string, id: string, text: string): void =>
      this.o.write(`${time} ${mark} ${id}${text ? `  ${text}` : ""}`);
    if (!s) {
      if (e.type === "log") this.o.write(`${time} ${e.level === "warn" ? "!" : "i"} ${e.message}`);
      return;
    }
    switch (e.type) {
      case "step-start":
        if (!this.phasesShown.has(s.phase)) {
          this.phasesShown.add(s.phase);
          this.o.write(`${time} ── ${s.phase}`);
        }
        line("▶", s.id, s.title);
        break;
      case "step-done":
        line("✓", s.id, `(${elapsed(s)})`);
        break;
      case "step-skip":
        line("↷", s.id, `skipped: ${e.reason}`);
        break;
      case "step-failed":
        line("✗", s.id, `failed after ${elapsed(s)}: ${e.message}`);
        break;
      case "step-progress": {
        const t = Date.parse(e.at);
        const last = this.lastProgress.get(s.id);
        if (last !== undefined && t - last < this.interval) return;
        this.lastProgress.set(s.id, t);
        const parts: string[] = [];
        if (s.bytes !== undefined) parts.push(describeBytes(bytesOf(s, t)));
        if (e.message !== undefined) parts.push(e.message);
        // A report with nothing to show must not use up the step's line for this interval.
        if (parts.length === 0) {
          if (last === undefined) this.lastProgress.delete(s.id);
          else this.lastProgress.set(s.id, last);
          return;
        }
        line("…", s.id, parts.join("  "));
        break;
      }
      case "undo-start":
        line("↺", s.id, `undoing: ${s.title}`);
        break;
      case "undo-done":
        line("✓", s.id, `undone (${elapsed(s)})`);
        break;
      case "undo-failed":
        line("✗", s.id, `undo failed: ${e.message}`);
        break;
      case "log":
        line(e.level === "warn" ? "!" : "i", s.id, e.message);
        break;
    }
  }

  suspend(): void {
    // Lines are never redrawn: nothing to pause.
  }

  resume(): void {}

  end(): void {}
}

function elapsed(s: StepView): string {
  return s.startedAtMs !== undefined && s.endedAtMs !== undefined
    ? formatDuration(s.endedAtMs - s.startedAtMs)
    : "?";
}

export function bytesOf(
  s: StepView,
  nowMs: number,
): { bytes: number; totalBytes?: number; elapsedMs: number } {
  const since = s.firstBytesAtMs ?? nowMs;
  return {
    bytes: s.bytes ?? 0,
    ...(s.totalBytes !== undefined ? { totalBytes: s.totalBytes } : {}),
    elapsedMs: nowMs - since,
  };
}
