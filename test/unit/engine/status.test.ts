import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { Journal, finalizeJournal, planHash, readJournal } from "../../../src/engine/journal.js";
import { formatStatus, summarizeJournal } from "../../../src/engine/status.js";
import { Harness, initialWorld, worldPlan, type Faults, type World } from "./harness.js";
import { rollbackJournaled, runWorld, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

async function runOnce(dir: string, world: World, faults: Faults = {}): Promise<void> {
  // the summary is what we look at, not how the run ended
  await runWorld(dir, worldPlan(), world, { faults, concurrency: 1 }).catch(() => undefined);
}

const summary = (dir: string, o: Parameters<typeof summarizeJournal>[1] = {}) =>
  summarizeJournal(readJournal(dir)!.records, o);

describe("status summary", () => {
  it("before anything ran", () => {
    const dir = newDir();
    Journal.open({ stateDir: dir, plan: worldPlan() }).close();
    const s = summary(dir);
    expect(s).toMatchObject({
      state: "not-started",
      totalSteps: 8,
      sourceRelease: "victoria",
      targetRelease: "zed",
    });
    expect(s.counts.pending).toBe(8);
    expect(s.lastEvents).toEqual([]);
  });

  it("after a failure: counts, the failed step with its message, last events; JSON round-trips", async () => {
    const dir = newDir();
    await runOnce(dir, initialWorld(), {
      throwAt: { stepId: "s4", mutation: 1, message: "no space left on device" },
    });
    const s = summary(dir, { lastEvents: 3 });
    expect(s.state).toBe("failed");
    expect(s.counts).toMatchObject({ done: 3, failed: 1, pending: 4 });
    expect(s.failed).toEqual([{ stepId: "s4", title: "step s4", message: "no space left on device" }]);
    expect(s.lastEvents.map((e) => e.type)).toEqual(["step-checkpoint", "step-failed", "run-end"]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    const text = formatStatus(s);
    expect(text).toContain("Migration victoria → zed: failed");
    expect(text).toContain("Steps: 3/8 done, 1 failed, 4 pending");
    expect(text).toContain("Failed: s4 (step s4): no space left on device");
  });

  it("a step journaled running is in progress while the lock is held, interrupted otherwise", () => {
    const dir = newDir();
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    j.append({ type: "run-start", concurrency: 1, resume: false });
    j.append({ type: "step-start", stepId: "s1", attempt: 1 });
    j.close();
    const live = summary(dir, {
      lockedBy: { pid: 1234, hostname: "adm", startedAt: "2026-11-22T01:00:00.000Z", command: "run" },
    });
    expect(live.state).toBe("running");
    expect(formatStatus(live)).toContain("In progress: handover run pid 1234 on adm");
    expect(formatStatus(live)).toContain("Running: s1 (step s1)");
    const dead = summary(dir);
    expect(dead.state).toBe("interrupted");
    expect(formatStatus(dead)).toContain("Interrupted: s1 (step s1)");
  });

  it("completed, then rolled back, then finalized after a new run", async () => {
    const dir = newDir();
    const world = initialWorld();
    await runOnce(dir, world);
    expect(summary(dir).state).toBe("completed");

    await rollbackJournaled(dir, new Harness(world).registry());
    const rb = summary(dir);
    expect(rb.state).toBe("rolled-back");
    expect(rb.counts.undone).toBe(8);

    await runOnce(dir, world);
    expect(summary(dir).state).toBe("completed");
    const j2 = Journal.open({ stateDir: dir });
    finalizeJournal(j2);
    j2.close();
    const fin = summary(dir);
    expect(fin.state).toBe("finalized");
    expect(formatStatus(fin)).toContain("rollback is no longer possible");
  });

  it("reports a torn last line", () => {
    const dir = newDir();
    Journal.open({ stateDir: dir, plan: worldPlan() }).close();
    fs.appendFileSync(`${dir}/journal.jsonl`, '{"seq":2,"at');
    const read = readJournal(dir)!;
    const s = summarizeJournal(read.records, { ...(read.torn ? { torn: read.torn } : {}) });
    expect(s.tornLastLine?.line).toBe(2);
    expect(formatStatus(s)).toContain("cut short by a crash");
  });
});

describe("status after a plan change", () => {
  it("counts only the current plan's steps: one a later plan dropped is history, not a failure", () => {
    const plan = worldPlan();
    const [keep, drop] = [plan.steps[0]!, plan.steps[1]!];
    const first = { ...plan, steps: [keep, drop] };
    const second = { ...plan, steps: [keep] };
    let seq = 0;
    const at = "2026-11-22T05:00:00.000Z";
    const rec = <T extends object>(r: T) => ({ seq: ++seq, at, ...r });
    const records = [
      rec({ type: "plan" as const, planHash: planHash(first), plan: first }),
      rec({ type: "run-start" as const, concurrency: 1, resume: false }),
      rec({ type: "step-start" as const, stepId: keep.id, attempt: 1 }),
      rec({ type: "step-done" as const, stepId: keep.id, undoData: {}, verify: "ok" }),
      rec({ type: "step-start" as const, stepId: drop.id, attempt: 1 }),
      rec({ type: "step-failed" as const, stepId: drop.id, message: "no heartbeat" }),
      rec({ type: "run-end" as const, outcome: "failed" as const }),
      rec({ type: "plan" as const, planHash: planHash(second), plan: second }),
      rec({ type: "run-start" as const, concurrency: 1, resume: true }),
      rec({ type: "run-end" as const, outcome: "completed" as const }),
    ];
    const s = summarizeJournal(records);
    expect(s).toMatchObject({ state: "completed", totalSteps: 1, failed: [] });
    expect(s.counts.done).toBe(1);
    expect(s.counts.failed).toBe(0);
  });
});
