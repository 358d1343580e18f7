/**
 * The TTY renderer: frames drawn from events (phases with counts, running steps side by side with bytes), the
 * escape sequences that redraw in place, failures kept above the live block, and suspend/resume for a prompt.
 * animate: false, so nothing depends on timers.
 */
import { describe, expect, it } from "vitest";
import type { PlannedStep } from "../../../src/engine/step.js";
import { TtyRenderer } from "../../../src/ui/tty.js";

function planned(id: string, phase: PlannedStep["phase"]): PlannedStep {
  return {
    id,
    kind: "k",
    title: `do ${id}`,
    phase,
    hosts: ["new"],
    reads: [],
    writes: [],
    commands: [],
    after: [],
    params: {},
  };
}

const plan = {
  steps: [
    planned("pre.a", "preflight"),
    planned("db.nova", "databases"),
    planned("db.glance", "databases"),
    planned("cfg.x", "configs"),
  ],
};
const t0 = Date.parse("2026-11-22T12:00:00Z");
const at = (s: number): string => new Date(t0 + s * 1000).toISOString();

function setup(columns = 200) {
  let now = t0;
  const writes: string[] = [];
  const r = new TtyRenderer(plan, {
    stream: { write: (s: string) => writes.push(s), columns },
    nowMs: () => now,
    animate: false,
    heading: "victoria → zed",
  });
  return { r, writes, tick: (s: number) => (now = t0 + s * 1000) };
}

describe("TtyRenderer", () => {
  it("shows phases with counts and the running steps side by side with byte progress", () => {
    const { r, tick } = setup();
    r.handle({ type: "step-start", stepId: "pre.a", at: at(0) });
    r.handle({ type: "step-done", stepId: "pre.a", at: at(1) });
    r.handle({ type: "step-start", stepId: "db.nova", at: at(1) });
    r.handle({ type: "step-start", stepId: "db.glance", at: at(1) });
    r.handle({
      type: "step-progress",
      stepId: "db.glance",
      at: at(2),
      bytes: 1024 ** 2,
      totalBytes: 4 * 1024 ** 2,
    });
    tick(3);
    expect(r.frame()).toEqual([
      "victoria → zed  1/4 steps, 2 running  3.0s",
      "✓ preflight  1/1",
      "⠋ databases  0/2",
      "    ⠋ db.nova  do db.nova  2.0s",
      "    ⠋ db.glance  do db.glance  1.0 MiB / 4.0 MiB (25%), 512.0 KiB/s, ETA 6.0s  2.0s",
      "· configs  0/1",
    ]);
  });

  it("redraws in place, keeps failures above the live block, and stays quiet while suspended", () => {
    const { r, writes } = setup();
    r.handle({ type: "step-start", stepId: "pre.a", at: at(0) });
    const frameLines = r.frame().length;
    writes.length = 0;
    r.handle({ type: "step-failed", stepId: "pre.a", at: at(1), message: "ssh refused" });
    // Clear the old block (cursor up over it, erase down), print the failure, draw the block again.
    expect(writes[0]).toBe(`\u001b[${frameLines}A\r\u001b[J`);
    expect(writes[1]).toBe("✗ pre.a  do pre.a: ssh refused\n");
    expect(writes[2]).toContain("✗ preflight  0/1");

    writes.length = 0;
    const shown = r.frame().length;
    r.suspend();
    r.handle({ type: "step-start", stepId: "db.nova", at: at(2) });
    // Only the clear at suspend: nothing is drawn over the prompt.
    expect(writes).toEqual([`\u001b[${shown}A\r\u001b[J`]);
    r.resume();
    expect(writes.at(-1)).toContain("db.nova  do db.nova");
    r.end();
  });

  it("never lets a line wrap past the terminal width", () => {
    const { r, writes } = setup(30);
    r.handle({ type: "step-start", stepId: "db.nova", at: at(0) });
    const drawn = writes.at(-1)!.split("\n").filter(Boolean);
    expect(drawn.every((l) => l.length < 30)).toBe(true);
    expect(drawn.some((l) => l.endsWith("…"))).toBe(true);
  });
});
