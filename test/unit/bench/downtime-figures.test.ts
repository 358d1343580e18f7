/**
 * The downtime benchmark's arithmetic (bench/downtime-figures.ts) on hand-made journals and script output: which
 * records start and end the downtime, the canary's blackout, the rollback's marks, and migrate.sh's lines.
 */
import { describe, expect, it } from "vitest";
import {
  handoverDowntime,
  markSpan,
  parseScriptOutput,
  rollbackFigures,
  table,
} from "../../../bench/downtime-figures.js";
import type { JournalRecord } from "../../../src/engine/journal.js";
import type { PlannedStep } from "../../../src/engine/step.js";

const T0 = Date.parse("2026-11-22T08:00:00.000Z");
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

function step(id: string, phase: PlannedStep["phase"], kind = "x.y"): PlannedStep {
  return {
    id,
    kind,
    title: id,
    phase,
    hosts: [],
    reads: [],
    writes: [],
    commands: [],
    after: [],
    params: {},
  };
}

let seq = 0;
function rec(s: number, entry: Record<string, unknown>): JournalRecord {
  return { seq: ++seq, at: at(s), ...entry } as JournalRecord;
}

const STEPS: PlannedStep[] = [
  step("prov.packages", "provision"),
  step("freeze.apis", "freeze", "freeze.stop-apis"),
  step("db.keystone.import", "databases"),
  step("switch.canary.start", "switch", "net.canary-start"),
  step("net.switch.mgmt", "switch", "net.move-address"),
  step("net.switch.storage", "switch", "net.move-address"),
  step("switch.canary.stop", "switch", "net.canary-stop"),
  step("switch.neighbours", "switch", "check.neighbours"),
];

function run(steps: PlannedStep[], extra: JournalRecord[] = []): JournalRecord[] {
  return [
    rec(0, {
      type: "plan",
      planHash: "h",
      plan: { version: 1, sourceRelease: "victoria", targetRelease: "zed", steps },
    }),
    rec(1, { type: "step-start", stepId: "prov.packages", attempt: 1 }),
    rec(100, { type: "step-done", stepId: "prov.packages", undoData: {}, verify: "" }),
    rec(120, { type: "step-start", stepId: "freeze.apis", attempt: 1 }),
    rec(125, { type: "step-done", stepId: "freeze.apis", undoData: {}, verify: "" }),
    rec(126, { type: "step-start", stepId: "db.keystone.import", attempt: 1 }),
    rec(130, { type: "step-done", stepId: "db.keystone.import", undoData: {}, verify: "" }),
    rec(200, { type: "step-done", stepId: "switch.canary.start", undoData: {}, verify: "" }),
    rec(240, { type: "step-done", stepId: "net.switch.storage", undoData: {}, verify: "" }),
    rec(241, { type: "step-done", stepId: "net.switch.mgmt", undoData: {}, verify: "" }),
    rec(243, {
      type: "step-done",
      stepId: "switch.canary.stop",
      undoData: { compute: "compute1", blackoutMs: 208.1 },
      verify: "",
    }),
    rec(250, { type: "step-done", stepId: "switch.neighbours", undoData: {}, verify: "" }),
    ...extra,
  ];
}

describe("handoverDowntime", () => {
  it("runs from the freeze's first step-start to the switch phase's last step-done when there is no switch.verify", () => {
    const d = handoverDowntime(run(STEPS));
    if (typeof d === "string") throw new TypeError(d);
    expect((d.endAt - d.freezeAt) / 1000).toBe(130);
    expect(d.freezeStep).toBe("freeze.apis");
    expect(d.endStep).toBe("switch.neighbours");
    expect(d.endNote).toMatch(/no switch.verify/);
    expect((d.movedAt! - d.freezeAt) / 1000).toBe(121);
    expect(d.blackoutMs).toBe(208.1);
    expect(d.phases.freeze).toBe(5);
  });

  it("ends at switch.verify's step-done when the plan has it, even if another switch step ends later", () => {
    const steps = [...STEPS, step("switch.verify", "switch", "check.computes")];
    const d = handoverDowntime(
      run(steps, [rec(245, { type: "step-done", stepId: "switch.verify", undoData: {}, verify: "" })]),
    );
    if (typeof d === "string") throw new TypeError(d);
    expect(d.endStep).toBe("switch.verify");
    expect((d.endAt - d.freezeAt) / 1000).toBe(125);
    expect(d.endNote).toBeUndefined();
  });

  it("says why when the switch did not complete or never started", () => {
    const steps = [...STEPS, step("switch.verify", "switch", "check.computes")];
    expect(handoverDowntime(run(steps))).toBe("switch.verify never completed");
    const cut = run(STEPS).filter((r) => !(r.type === "step-done" && r.stepId === "switch.neighbours"));
    expect(handoverDowntime(cut)).toBe("switch steps never completed: switch.neighbours");
    expect(handoverDowntime(run(STEPS.filter((s) => s.phase !== "switch")))).toMatch(/no switch steps/);
    expect(handoverDowntime([])).toBe("the journal holds no plan");
  });
});

describe("rollbackFigures", () => {
  it("times the rollback and when the addresses and old's APIs were back", () => {
    const recs = run(STEPS, [
      rec(300, { type: "rollback-start" }),
      rec(301, { type: "undo-start", stepId: "net.switch.mgmt" }),
      rec(302, { type: "undo-done", stepId: "net.switch.mgmt" }),
      rec(304, { type: "undo-done", stepId: "net.switch.storage" }),
      rec(310, { type: "undo-done", stepId: "freeze.apis" }),
      rec(365, { type: "rollback-end", complete: true, message: "" }),
    ]);
    expect(rollbackFigures(recs)).toEqual({
      seconds: 65,
      complete: true,
      addressesBackAfter: 4,
      oldApisBackAfter: 10,
    });
  });

  it("does not call the addresses back while one move is still on new", () => {
    const recs = run(STEPS, [
      rec(300, { type: "rollback-start" }),
      rec(302, { type: "undo-done", stepId: "net.switch.mgmt" }),
      rec(330, { type: "rollback-end", complete: false, message: "undo failed" }),
    ]);
    const f = rollbackFigures(recs);
    if (typeof f === "string") throw new TypeError(f);
    expect(f.addressesBackAfter).toBeUndefined();
    expect(f.complete).toBe(false);
  });

  it("needs a rollback that ended", () => {
    expect(rollbackFigures(run(STEPS))).toBe("the journal holds no rollback");
    expect(rollbackFigures(run(STEPS, [rec(300, { type: "rollback-start" })]))).toMatch(/did not end/);
  });
});

describe("parseScriptOutput", () => {
  const out = [
    "== setup: SSH sessions",
    "S 0.512 setup: SSH sessions, private run dirs on old and new",
    "T freeze 1795334400.250000 2026-11-22T08:00:00.250Z",
    "+----+ a table the seed's listing printed",
    "S 12.000 keystone: schema upgrade on new (A7)",
    "T moved 1795334580.000000 2026-11-22T08:03:00.000Z",
    "B 198.51.100.4 95.3 8000",
    "B 198.18.0.4 120.0 7990",
    "T verified 1795334640.750000 2026-11-22T08:04:00.750Z",
  ].join("\n");

  it("reads the marks, step times and blackouts, and ignores everything else", () => {
    const f = parseScriptOutput(out);
    expect(markSpan(f, "freeze", "verified")).toBe(240.5);
    expect(markSpan(f, "freeze", "moved")).toBe(179.75);
    expect(f.steps).toEqual([
      { name: "setup: SSH sessions, private run dirs on old and new", seconds: 0.512 },
      { name: "keystone: schema upgrade on new (A7)", seconds: 12 },
    ]);
    expect(f.blackouts.map((b) => b.ms)).toEqual([95.3, 120]);
    expect(f.failedAt).toBeUndefined();
  });

  it("reports the failed step and no span without both marks", () => {
    const f = parseScriptOutput("T freeze 1795334400.25 x\nF nova: schema upgrade on new (A7)\n");
    expect(f.failedAt).toBe("nova: schema upgrade on new (A7)");
    expect(markSpan(f, "freeze", "verified")).toBeUndefined();
  });
});

describe("table", () => {
  it("pads columns to the widest cell", () => {
    expect(
      table([
        ["a", "bb"],
        ["ccc", "d"],
      ]),
    ).toBe("| a   | bb |\n|-----|----|\n| ccc | d  |");
  });
});
