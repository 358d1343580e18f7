/**
 * The plain renderer: exact lines for each state change (times from the events, printed in UTC here), one
 * progress line per step per interval with bytes, rate and ETA, phase headings once, logs.
 */
import { describe, expect, it } from "vitest";
import type { EngineEvent, Plan, PlannedStep } from "../../../src/engine/step.js";
import { describeBytes, formatBytes, formatDuration } from "../../../src/ui/format.js";
import { PlainRenderer } from "../../../src/ui/plain.js";

function planned(id: string, phase: PlannedStep["phase"], title = `title of ${id}`): PlannedStep {
  return {
    id,
    kind: "k",
    title,
    phase,
    hosts: ["new"],
    reads: [],
    writes: [],
    commands: [],
    after: [],
    params: {},
  };
}

const plan: Pick<Plan, "steps"> = {
  steps: [
    planned("pre.health", "preflight"),
    planned("db.nova.copy", "databases", "Copy nova"),
    planned("db.glance.copy", "databases"),
  ],
};

/** Events at t0 + seconds. */
const at = (s: number): string => new Date(Date.parse("2026-11-22T12:00:00Z") + s * 1000).toISOString();

function render(events: EngineEvent[], interval?: number): string[] {
  const lines: string[] = [];
  const r = new PlainRenderer(plan, {
    write: (l) => lines.push(l),
    utc: true,
    ...(interval ? { progressIntervalMs: interval } : {}),
  });
  for (const e of events) r.handle(e);
  r.end();
  return lines;
}

describe("PlainRenderer", () => {
  it("prints one timestamped line per state change, with durations and phase headings once", () => {
    expect(
      render([
        { type: "step-start", stepId: "pre.health", at: at(0) },
        { type: "step-done", stepId: "pre.health", at: at(1.2) },
        { type: "step-start", stepId: "db.nova.copy", at: at(1.5) },
        { type: "step-start", stepId: "db.glance.copy", at: at(1.5) },
        {
          type: "step-skip",
          stepId: "db.glance.copy",
          at: at(2),
          reason: "already done (verified: rows equal)",
        },
        {
          type: "log",
          stepId: "db.nova.copy",
          at: at(3),
          level: "warn",
          message: "table x has no primary key",
        },
        { type: "step-done", stepId: "db.nova.copy", at: at(4.7) },
        { type: "log", at: at(5), level: "info", message: "a note without a step" },
      ]),
    ).toEqual([
      "12:00:00 ── preflight",
      "12:00:00 ▶ pre.health  title of pre.health",
      "12:00:01 ✓ pre.health  (1.2s)",
      "12:00:01 ── databases",
      "12:00:01 ▶ db.nova.copy  Copy nova",
      "12:00:01 ▶ db.glance.copy  title of db.glance.copy",
      "12:00:02 ↷ db.glance.copy  skipped: already done (verified: rows equal)",
      "12:00:03 ! db.nova.copy  table x has no primary key",
      "12:00:04 ✓ db.nova.copy  (3.2s)",
      "12:00:05 i a note without a step",
    ]);
  });

  it("throttles progress to one line per step per interval, with bytes, rate and ETA", () => {
    const GiB = 1024 ** 3;
    const lines = render([
      { type: "step-start", stepId: "db.nova.copy", at: at(0) },
      { type: "step-progress", stepId: "db.nova.copy", at: at(1), bytes: 0.5 * GiB, totalBytes: 4 * GiB },
      { type: "step-progress", stepId: "db.nova.copy", at: at(1.5), bytes: 0.7 * GiB, totalBytes: 4 * GiB },
      { type: "step-progress", stepId: "db.nova.copy", at: at(2.9), bytes: 1 * GiB, totalBytes: 4 * GiB },
      { type: "step-progress", stepId: "db.nova.copy", at: at(3), bytes: 1.5 * GiB, totalBytes: 4 * GiB },
      { type: "step-progress", stepId: "db.nova.copy", at: at(3.1), message: "importing" },
      { type: "step-failed", stepId: "db.nova.copy", at: at(4), message: "mysql exited 1" },
    ]);
    expect(lines.filter((l) => l.includes("…"))).toEqual([
      "12:00:01 … db.nova.copy  512.0 MiB / 4.0 GiB (12%), 512.0 MiB/s, ETA 7.0s",
      "12:00:03 … db.nova.copy  1.5 GiB / 4.0 GiB (37%), 512.0 MiB/s, ETA 5.0s",
    ]);
    expect(lines.at(-1)).toBe("12:00:04 ✗ db.nova.copy  failed after 4.0s: mysql exited 1");
  });

  it("prints undo states for rollback", () => {
    expect(
      render([
        { type: "undo-start", stepId: "db.nova.copy", at: at(0) },
        { type: "undo-done", stepId: "db.nova.copy", at: at(2) },
        { type: "undo-start", stepId: "pre.health", at: at(2) },
        { type: "undo-failed", stepId: "pre.health", at: at(3), message: "host unreachable" },
      ]),
    ).toEqual([
      "12:00:00 ↺ db.nova.copy  undoing: Copy nova",
      "12:00:02 ✓ db.nova.copy  undone (2.0s)",
      "12:00:02 ↺ pre.health  undoing: title of pre.health",
      "12:00:03 ✗ pre.health  undo failed: host unreachable",
    ]);
  });
});

describe("PlainRenderer progress without content", () => {
  it("does not spend the interval on a report with nothing to show", () => {
    const lines = render([
      { type: "step-start", stepId: "db.nova.copy", at: at(0) },
      { type: "step-progress", stepId: "db.nova.copy", at: at(1) },
      { type: "step-progress", stepId: "db.nova.copy", at: at(1.5), message: "importing" },
    ]);
    expect(lines.filter((l) => l.includes("…"))).toEqual(["12:00:01 … db.nova.copy  importing"]);
  });
});

describe("formatters", () => {
  it("bytes, durations and progress without a total", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatDuration(3200)).toBe("3.2s");
    expect(formatDuration(245_000)).toBe("4m05s");
    expect(formatDuration(3_720_000)).toBe("1h02m");
    expect(describeBytes({ bytes: 2048, elapsedMs: 0 })).toBe("2.0 KiB");
    expect(describeBytes({ bytes: 2048, elapsedMs: 2000 })).toBe("2.0 KiB, 1.0 KiB/s");
  });
});
