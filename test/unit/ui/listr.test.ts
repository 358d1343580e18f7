/**
 * ListrView: listr2's DefaultRenderer drawing state set only from EngineEvents. Frames are read with the
 * renderer's own create(); output goes to an in-memory stream. lazy: true, so no spinner timer runs.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { EngineEvent, PlannedStep } from "../../../src/engine/step.js";
import { ListrView } from "../../../src/ui/listr.js";

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
    planned("db.keystone", "databases"),
    planned("cfg.x", "configs"),
  ],
};
const t0 = Date.parse("2026-11-22T12:00:00Z");
const at = (s: number): string => new Date(t0 + s * 1000).toISOString();

function memoryTerminal(): { out: NodeJS.WriteStream; written: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(c: Buffer | string, _enc, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return {
    out: Object.assign(w, { columns: 120, isTTY: true }) as unknown as NodeJS.WriteStream,
    written: () => chunks.join(""),
  };
}

async function view(events: EngineEvent[]): Promise<{ v: ListrView; frame: string; written: () => string }> {
  const term = memoryTerminal();
  const v = new ListrView(plan, { stdout: term.out, lazy: true, nowMs: () => t0 + 3000 });
  await v.start();
  for (const e of events) v.handle(e);
  return { v, frame: v.frame(), written: term.written };
}

describe("ListrView", () => {
  it("shows phases, concurrent steps side by side with byte progress, and steps not started as waiting", async () => {
    const { v, frame } = await view([
      { type: "step-start", stepId: "pre.a", at: at(0) },
      { type: "step-done", stepId: "pre.a", at: at(1.2) },
      { type: "step-start", stepId: "db.nova", at: at(1) },
      { type: "step-start", stepId: "db.glance", at: at(1) },
      { type: "step-progress", stepId: "db.glance", at: at(2), bytes: 1024 ** 2, totalBytes: 4 * 1024 ** 2 },
    ]);
    await v.end();
    expect(frame.split("\n")).toEqual([
      "✔ preflight",
      "❯ databases",
      "  ❯ db.nova  do db.nova",
      "  ❯ db.glance  do db.glance",
      "    › 1.0 MiB / 4.0 MiB (25%), 512.0 KiB/s, ETA 6.0s",
      "  ◼ db.keystone  do db.keystone",
      "◼ configs",
    ]);
  });

  it("shows a failure with its message and skipped steps with their reason; the last frame stays on the terminal", async () => {
    const { v, frame, written } = await view([
      { type: "step-start", stepId: "db.nova", at: at(0) },
      { type: "step-failed", stepId: "db.nova", at: at(1), message: "mysql exited 1" },
      { type: "step-skip", stepId: "db.glance", at: at(1), reason: "already done" },
    ]);
    expect(frame).toContain("✖ db.nova  do db.nova: mysql exited 1");
    expect(frame).toContain("db.glance  skipped: already done");
    await v.end();
    expect(written()).toContain("db.nova  do db.nova: mysql exited 1");
  });

  it("shows a run-wide warning (Ctrl-C received) in the titles of the phases still running, not beside the view", async () => {
    const { v, frame } = await view([
      { type: "step-start", stepId: "db.nova", at: at(0) },
      {
        type: "log",
        level: "warn",
        at: at(1),
        message: "Ctrl-C: stopping once the running steps reach a safe point",
      },
    ]);
    expect(frame).toMatch(/databases {2}! Ctrl-C: stopping once the running steps reach a safe point/);
    expect(frame).not.toMatch(/preflight {2}!/);
    await v.end();
  });

  it("a step undone and run again in the same run (a covered redo) shows its progress again without throwing", async () => {
    const { v } = await view([
      { type: "step-start", stepId: "db.nova", at: at(0) },
      { type: "step-progress", stepId: "db.nova", at: at(1), message: "nova: 1 MiB", bytes: 1048576 },
      { type: "step-done", stepId: "db.nova", at: at(2) },
    ]);
    v.frame();
    v.handle({ type: "undo-start", stepId: "db.nova", at: at(3) });
    v.handle({ type: "undo-done", stepId: "db.nova", at: at(4) });
    v.frame();
    v.handle({ type: "step-start", stepId: "db.nova", at: at(5) });
    v.handle({ type: "step-progress", stepId: "db.nova", at: at(6), message: "nova: 2 MiB", bytes: 2097152 });
    expect(v.frame()).toContain("db.nova");
    v.handle({ type: "step-done", stepId: "db.nova", at: at(7) });
    await v.end();
  });

  it("suspends for a prompt (stops drawing) and resumes with a fresh frame", async () => {
    const { v, written } = await view([{ type: "step-start", stepId: "pre.a", at: at(0) }]);
    await v.suspend();
    const before = written().length;
    v.handle({ type: "step-done", stepId: "pre.a", at: at(1) });
    expect(written().length).toBe(before);
    expect(v.frame()).toBe("");
    await v.resume();
    expect(v.frame()).toContain("✔ preflight");
    await v.end();
  });
});
