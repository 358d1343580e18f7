/**
 * The report model from journals written by the real Journal writer: completed, failed, rolled back, live.
 */
import { afterEach, describe, expect, it } from "vitest";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { buildReport } from "../../../src/report/build.js";
import type { PlannedStep } from "../../../src/engine/step.js";
import { formatDuration } from "../../../src/report/format.js";
import { readReport } from "../../../src/report/index.js";
import { renderMarkdown } from "../../../src/report/markdown.js";
import { summaryItems } from "../../../src/report/summary.js";
import { completedRun, failedRun, reportPlan, rolledBack, T0, JournalScript } from "./fixtures.js";

const scripts: JournalScript[] = [];
afterEach(() => {
  for (const s of scripts.splice(0)) s.remove();
});
function keep<T extends JournalScript>(s: T): T {
  scripts.push(s);
  return s;
}

describe("report model", () => {
  it("completed run: one bar per attempt, the freeze until the switch ended, inventory and API side by side", () => {
    const j = keep(completedRun());
    const m = buildReport(j.records(), { now: new Date(j.nowMs + 3_600_000) });
    expect(m.outcome).toBe("completed");
    expect(m.sourceRelease).toBe("victoria");
    expect(m.hosts).toEqual(["old", "new"]);
    const starts = j.records().filter((r) => r.type === "step-start");
    const bars = m.timeline.phases.flatMap((p) => p.steps.flatMap((s) => s.bars));
    expect(bars).toHaveLength(starts.length);
    expect(bars.every((b) => b.result === "done")).toBe(true);
    // Phases in migration order, steps grouped under them.
    expect(m.timeline.phases.map((p) => p.phase)).toEqual([
      "preflight",
      "provision",
      "warm",
      "freeze",
      "databases",
      "configs",
      "upgrade",
      "data",
      "services",
      "verify",
      "switch",
    ]);
    const at = (type: string, id: string): number =>
      Date.parse(j.records().find((r) => r.type === type && "stepId" in r && r.stepId === id)!.at);
    expect(m.freeze).toEqual({
      stepId: "freeze.apis",
      startMs: at("step-start", "freeze.apis"),
      endMs: at("step-done", "net.switch.mgmt"),
      endedBy: "switch",
    });
    expect(m.startMs).toBe(T0);
    expect(m.blackout.moves).toEqual([
      expect.objectContaining({
        stepId: "net.switch.mgmt",
        address: "198.51.100.4",
        network: "mgmt",
        moveMs: 412,
      }),
    ]);
    expect(m.blackout.measuredMs).toBeUndefined();
    expect(m.inventory.rows).toEqual([
      { name: "projects", before: 3, after: 3 },
      { name: "instances", before: 4, after: 4 },
      { name: "block device mappings", before: 2, after: 2 },
    ]);
    expect(m.apiChecks).toEqual([
      {
        service: "keystone",
        old: {
          stepId: "pre.keystone.api",
          status: "done",
          detail: "keystone on old: token issue ok, endpoint list 9 lines",
        },
        new: {
          stepId: "verify.keystone.api",
          status: "done",
          detail: "keystone on new: token issue ok, endpoint list 9 lines",
        },
      },
    ]);
    expect(m.upgradeChecks.map((c) => [c.stepId, c.host, c.result])).toEqual([
      ["pre.upgrade-check.nova", "old", "warning"],
      ["svc.nova.upgrade-check", "new", "ok"],
    ]);
    expect(m.configDiffs).toHaveLength(1);
    expect(m.configDiffs[0]!.files[0]!.unified).toContain(
      "+connection = mysql+pymysql://nova:****@127.0.0.1/nova",
    );
    expect(m.totalBytes).toBe(4 * 1024 ** 3 + 50 * 1024 ** 2 + 10 * 1024 ** 2);
    expect(m.transfers.find((t) => t.kind === "volumes.copy")).toMatchObject({
      volumes: 2,
      provisionedBytes: 3 * 1024 ** 3,
      bytes: 1024 ** 3,
      seconds: 8,
    });
    expect(m.warnings.map((w) => w.source)).toEqual(["plan", "note"]);
  });

  it("completed run: rollback would undo reversible steps newest first, and stops at the irreversible one", () => {
    const j = keep(completedRun());
    const m = buildReport(j.records(), { now: new Date(j.nowMs) });
    const items = m.rollback.items;
    // Newest first: the order of their step-done records, reversed.
    const doneOrder = j
      .records()
      .filter((r) => r.type === "step-done")
      .map((r) => (r as { stepId: string }).stepId)
      .reverse();
    expect(items.map((i) => i.stepId)).toEqual(doneOrder);
    expect(items[0]).toMatchObject({ stepId: "net.switch.mgmt", action: "undo" });
    expect(items[0]!.description).toBe(
      "move 198.51.100.4/24 back to old's eth0 and announce it from old (gratuitous ARP)",
    );
    const contract = items.find((i) => i.stepId === "up.keystone.contract")!;
    expect(contract).toMatchObject({
      action: "blocked",
      irreversible: expect.stringContaining("keystone schema"),
    });
    const older = items.slice(items.indexOf(contract) + 1);
    expect(older.length).toBeGreaterThan(0);
    expect(older.every((i) => i.action === "blocked")).toBe(true);
    expect(items.find((i) => i.stepId === "pre.inventory.old")).toBeDefined();
    const newer = items.slice(0, items.indexOf(contract));
    expect(newer.find((i) => i.stepId === "verify.inventory")?.action).toBe("no-op");
    expect(newer.find((i) => i.stepId === "freeze.apis")).toBeUndefined(); // older than the contract
    expect(newer.find((i) => i.stepId === "switch.old.stop")?.description).toBe(
      "start again on old the units it stopped: nova-conductor",
    );
  });

  it("a stop that found nothing running, and read-only steps, change nothing on rollback", () => {
    const j = keep(new JournalScript(reportPlan()));
    j.add({ type: "run-start", concurrency: 1, resume: false });
    j.ran("pre.health.old", 1_000);
    j.add({ type: "step-start", stepId: "switch.old.stop", attempt: 1 });
    j.add({
      type: "step-done",
      stepId: "switch.old.stop",
      undoData: { host: "old", wereActive: [] },
      verify: "v",
    });
    const m = buildReport(j.records(), { now: new Date(j.nowMs) });
    expect(m.rollback.items.map((i) => [i.stepId, i.action, i.description])).toEqual([
      ["switch.old.stop", "no-op", "nothing: none of its units on old was running"],
      ["pre.health.old", "no-op", "nothing (read-only)"],
    ]);
  });

  it("the canary's measurement (net.canary-stop, per address) is the blackout, with when it was", () => {
    const j = keep(completedRun({ canary: true }));
    const m = buildReport(j.records(), { now: new Date(j.nowMs) });
    const moveStart = Date.parse(
      j.records().find((r) => r.type === "step-start" && r.stepId === "net.switch.mgmt")!.at,
    );
    expect(m.blackout.canaries).toEqual([
      {
        stepId: "switch.canary.stop",
        status: "done",
        compute: "compute1",
        address: "198.51.100.4",
        blackoutMs: 1800,
        replies: 4038,
        sent: 4220,
        lost: 182,
        fromMs: moveStart + 200,
        toMs: moveStart + 2000,
        answeringAtStop: true,
      },
    ]);
    expect(m.blackout).toMatchObject({
      measuredMs: 1800,
      measuredFromMs: moveStart + 200,
      measuredToMs: moveStart + 2000,
    });
    // The freeze ends when the address has moved, not at the canary's stop (a later switch step).
    expect(m.freeze?.endMs).toBe(
      Date.parse(j.records().find((r) => r.type === "step-done" && r.stepId === "net.switch.mgmt")!.at),
    );
    expect(m.freeze?.endedBy).toBe("switch");
    const start = m.rollback.items.find((i) => i.stepId === "switch.canary.start");
    expect(start?.description).toBe("stop the canary pings on compute1 and remove their files");
  });

  it("a single-figure net.canary step, and a canary not run yet ('not measured')", () => {
    const plan = reportPlan();
    const canary: PlannedStep = {
      ...plan.steps.find((x) => x.id === "net.switch.mgmt")!,
      id: "switch.canary",
      kind: "net.canary",
      params: {},
    };
    const j = keep(new JournalScript({ ...plan, steps: [...plan.steps, canary] }));
    j.add({ type: "run-start", concurrency: 1, resume: false });
    const before = buildReport(j.records(), { now: new Date(j.nowMs) });
    expect(before.blackout.canaries).toEqual([{ stepId: "switch.canary", status: "pending" }]);
    expect(before.blackout.measuredMs).toBeUndefined();
    expect(summaryItems(before).find((i) => i.key === "blackout")?.value).toBe("not measured");
    j.add({ type: "step-start", stepId: "switch.canary", attempt: 1 });
    j.add({
      type: "step-done",
      stepId: "switch.canary",
      undoData: { blackoutMs: 950, replies: 40, lost: 2 },
      verify: "v",
    });
    const after = buildReport(j.records(), { now: new Date(j.nowMs) });
    expect(after.blackout.canaries).toEqual([
      { stepId: "switch.canary", status: "done", blackoutMs: 950, replies: 40, lost: 2 },
    ]);
    expect(summaryItems(after).find((i) => i.key === "blackout")).toMatchObject({
      value: "950 ms",
      note: "measured by canary, 2 lost",
    });
  });

  it("failed run: the failed bar, the freeze still in effect, the failure among the warnings", () => {
    const j = keep(failedRun());
    const m = buildReport(j.records(), { now: new Date(j.nowMs + 86_400_000) });
    expect(m.outcome).toBe("failed");
    expect(m.failed.map((f) => f.stepId)).toEqual(["svc.nova.upgrade-check"]);
    const bar = m.timeline.phases
      .flatMap((p) => p.steps)
      .find((s) => s.id === "svc.nova.upgrade-check")!.bars;
    expect(bar).toEqual([expect.objectContaining({ result: "failed", attempt: 1 })]);
    expect(bar[0]!.endMs - bar[0]!.startMs).toBe(5_000);
    expect(m.freeze?.endMs).toBeUndefined();
    // Still frozen at report time (a day later): the window is counted up to now, not to the last record.
    const freezeStart = Date.parse(
      j.records().find((r) => r.type === "step-start" && r.stepId === "freeze.apis")!.at,
    );
    expect(summaryItems(m).find((i) => i.key === "freeze")).toMatchObject({
      value: `${formatDuration(j.nowMs + 86_400_000 - freezeStart)} so far`,
      note: "still in effect: neither switched nor rolled back",
    });
    // Not live: the chart ends at the last record, not at the (much later) report time.
    expect(m.timeline.endMs).toBe(Date.parse(j.records().at(-1)!.at));
    expect(m.timeline.notStarted).toBe(4);
    expect(m.upgradeChecks.find((c) => c.stepId === "svc.nova.upgrade-check")).toMatchObject({
      result: "failure",
      detail: expect.stringContaining("FAILED (exit 2)"),
    });
    expect(m.inventory.after).toMatchObject({ stepId: "verify.inventory", status: "pending" });
    expect(m.warnings.filter((w) => w.source === "failed")).toHaveLength(1);
  });

  it("rolled back: undo bars, the freeze ended by the rollback, nothing left for rollback to do", () => {
    const j = keep(rolledBack());
    const m = buildReport(j.records(), { now: new Date(j.nowMs) });
    expect(m.outcome).toBe("rolled-back");
    expect(m.rollbacks).toEqual([
      expect.objectContaining({ complete: true, message: "Rollback complete: 12 step(s) undone." }),
    ]);
    const all = m.timeline.phases.flatMap((p) => p.steps.flatMap((s) => s.bars));
    const undos = j.records().filter((r) => r.type === "undo-start").length;
    expect(all.filter((b) => b.type === "undo")).toHaveLength(undos);
    expect(all.filter((b) => b.type === "undo").every((b) => b.result === "done")).toBe(true);
    const freezeUndo = j.records().find((r) => r.type === "undo-done" && r.stepId === "freeze.apis")!;
    expect(m.freeze).toMatchObject({ endedBy: "rollback", endMs: Date.parse(freezeUndo.at) });
    expect(m.rollback.items.length).toBeGreaterThan(0);
    expect(m.rollback.items.every((i) => i.action === "already-undone")).toBe(true);
    // The diff stays in the report as history, marked undone.
    expect(m.configDiffs[0]).toMatchObject({ stepId: "cfg.nova.rewrite", undone: true });
  });

  it("a crash leaves an attempt open: it ends at the last record before the next run, and is interrupted", () => {
    const j = keep(new JournalScript(reportPlan()));
    j.add({ type: "run-start", concurrency: 1, resume: false });
    j.ran("pre.health.old", 1_000);
    j.add({ type: "step-start", stepId: "pre.upgrade-check.nova", attempt: 1 });
    const lastSign = j
      .tick(2_000)
      .add({ type: "note", stepId: "pre.upgrade-check.nova", level: "info", message: "x" });
    j.tick(600_000); // the process died; the operator comes back ten minutes later
    j.add({ type: "run-start", concurrency: 1, resume: true });
    j.add({ type: "step-start", stepId: "pre.upgrade-check.nova", attempt: 2 });
    j.tick(1_000).add({
      type: "step-done",
      stepId: "pre.upgrade-check.nova",
      undoData: { exitCode: 0 },
      verify: "ok",
    });
    // A second step is still open at the end: running when the lock is held, else interrupted.
    j.add({ type: "step-start", stepId: "pre.inventory.old", attempt: 1 });
    const bars = (m: ReturnType<typeof buildReport>, id: string) =>
      m.timeline.phases.flatMap((p) => p.steps).find((s) => s.id === id)!.bars;

    const dead = buildReport(j.records(), { now: new Date(j.nowMs + 5_000) });
    expect(bars(dead, "pre.upgrade-check.nova").map((b) => [b.attempt, b.result])).toEqual([
      [1, "interrupted"],
      [2, "done"],
    ]);
    expect(bars(dead, "pre.upgrade-check.nova")[0]!.endMs).toBe(Date.parse(lastSign.at));
    expect(bars(dead, "pre.inventory.old")[0]).toMatchObject({ result: "interrupted" });
    expect(dead.outcome).toBe("interrupted");

    const live = buildReport(j.records(), {
      now: new Date(j.nowMs + 5_000),
      lockedBy: { pid: 1, hostname: "h", startedAt: new Date(T0).toISOString(), command: "run" },
    });
    expect(live.live).toBe(true);
    expect(live.outcome).toBe("running");
    expect(bars(live, "pre.inventory.old")[0]).toMatchObject({ result: "running", endMs: j.nowMs + 5_000 });
    expect(live.timeline.endMs).toBe(j.nowMs + 5_000);
  });

  it("api.check's target param decides the side; computes named by check.computes are hosts", () => {
    const plan = reportPlan();
    const extra: PlannedStep[] = [
      {
        ...plan.steps.find((x) => x.id === "verify.keystone.api")!,
        id: "api.glance.before",
        phase: "preflight",
        params: { service: "glance", target: "old" },
      },
      {
        ...plan.steps.find((x) => x.id === "switch.old.stop")!,
        id: "switch.verify",
        kind: "check.computes",
        hosts: ["new"],
        params: { computes: ["compute1", "compute2"] },
      },
    ];
    const j = keep(new JournalScript({ ...plan, steps: [...plan.steps, ...extra] }));
    j.add({ type: "run-start", concurrency: 1, resume: false });
    j.add({ type: "step-start", stepId: "api.glance.before", attempt: 1 });
    j.add({
      type: "step-done",
      stepId: "api.glance.before",
      undoData: { detail: "glance on old: 2 images" },
      verify: "v",
    });
    const m = buildReport(j.records(), { now: new Date(j.nowMs) });
    expect(m.apiChecks.find((r) => r.service === "glance")).toEqual({
      service: "glance",
      old: { stepId: "api.glance.before", status: "done", detail: "glance on old: 2 images" },
    });
    expect(m.hosts).toEqual(["old", "new", "compute1", "compute2"]);
  });

  it("a torn last line (crash mid-write) is reported among the warnings, the records before it rendered", () => {
    const j = keep(failedRun());
    appendFileSync(
      join(j.stateDir, "journal.jsonl"),
      '{"seq":999,"at":"2026-11-22T02:00:00.000Z","type":"no',
    );
    const m = readReport(j.stateDir, { now: new Date(j.nowMs) });
    expect(m.outcome).toBe("failed");
    expect(m.warnings.at(-1)?.message).toMatch(
      /^The journal's last line \(line \d+, 53 bytes\) was cut short/,
    );
  });

  it("a switch check failing after the addresses moved does not keep the freeze open", () => {
    const plan = reportPlan();
    const verify: PlannedStep = {
      ...plan.steps.find((x) => x.id === "switch.old.stop")!,
      id: "switch.verify",
      kind: "check.computes",
      params: { computes: ["compute1"] },
    };
    const j = keep(new JournalScript({ ...plan, steps: [...plan.steps, verify] }));
    j.add({ type: "run-start", concurrency: 1, resume: false });
    for (const st of plan.steps) j.ran(st.id, 1_000);
    j.add({ type: "step-start", stepId: "switch.verify", attempt: 1 });
    j.tick(180_000).add({
      type: "step-failed",
      stepId: "switch.verify",
      message: "no heartbeat within 180 s",
    });
    j.add({ type: "run-end", outcome: "failed", message: "switch.verify failed" });
    const m = buildReport(j.records(), { now: new Date(j.nowMs + 3_600_000) });
    expect(m.outcome).toBe("failed");
    expect(m.freeze).toMatchObject({
      endedBy: "switch",
      endMs: Date.parse(
        j.records().find((r) => r.type === "step-done" && r.stepId === "net.switch.mgmt")!.at,
      ),
    });
  });

  it("a step removed by a plan change keeps its failure to itself: the last run completed the current plan", () => {
    // As in the lab's sample journal: switch.verify failed, the next plan replaced it with switch.neighbours.
    const first = reportPlan();
    const verify: PlannedStep = {
      ...first.steps.find((x) => x.id === "switch.old.stop")!,
      id: "switch.verify",
      kind: "check.computes",
      params: { computes: ["compute1"] },
    };
    const j = keep(new JournalScript({ ...first, steps: [...first.steps, verify] }));
    j.add({ type: "run-start", concurrency: 1, resume: false });
    for (const st of first.steps) j.ran(st.id, 1_000);
    j.add({ type: "step-start", stepId: "switch.verify", attempt: 1 });
    j.tick(5_000).add({ type: "step-failed", stepId: "switch.verify", message: "no heartbeat" });
    j.add({ type: "run-end", outcome: "failed", message: "switch.verify failed" });
    j.replacePlan({ ...first, steps: [...first.steps, { ...verify, id: "switch.neighbours" }] });
    j.add({ type: "run-start", concurrency: 1, resume: true });
    j.ran("switch.neighbours", 1_000);
    j.add({ type: "run-end", outcome: "completed" });

    const m = buildReport(j.records(), { now: new Date(j.nowMs) });
    expect(m.outcome).toBe("completed");
    expect(m.counts.done).toBe(m.totalSteps);
    expect(m.counts.failed).toBe(0);
    expect(m.failed).toEqual([]);
    expect(m.retired).toEqual([
      { stepId: "switch.verify", title: "step switch.old.stop", status: "failed", message: "no heartbeat" },
    ]);
    expect(renderMarkdown(m)).toContain("### Steps no longer in the plan");
  });
});
