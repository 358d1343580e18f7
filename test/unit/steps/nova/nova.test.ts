import { describe, expect, it } from "vitest";
import { novaSteps } from "../../../../src/steps/nova/index.js";
import type { StepContext, StepImpl } from "../../../../src/engine/step.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";

function byKind(list: StepImpl[]): Record<string, StepImpl> {
  return Object.fromEntries(list.map((s) => [s.kind, s]));
}

describe("nova.delete-services", () => {
  it("deletes the old controller's live records through the API; verify reads nova's table", async () => {
    const old = new FakeHost("old", { unmatched: "throw" });
    old.setFile("/root/openrc", "export OS_USERNAME=admin\nexport OS_PASSWORD=pw\n");
    const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
    scriptTempDirs(neu);
    let live = [
      { id: 7, b: "nova-conductor" },
      { id: 9, b: "nova-scheduler" },
    ];
    neu.on(["openstack", "--os-cloud", "handover", "compute", "service", "delete", /\d+/], ({ argv }) => {
      live = live.filter((r) => String(r.id) !== argv[6]);
      return {};
    });
    const sql = new FakeSql().on(
      /FROM nova\.services WHERE deleted = 0 AND host = \?/,
      (params) => (params[0] === "oldctl" ? live : []),
      { host: "new" },
    );
    const step = byKind(novaSteps(makeDeps(sql)))["nova.delete-services"]!;
    const h = makeCtx({ old, new: neu });
    const p = { host: "oldctl", binaries: ["nova-conductor", "nova-scheduler"] };
    expect(await step.verify(h.ctx, p)).toMatchObject({
      ok: false,
      detail: "still recorded on oldctl: nova-conductor, nova-scheduler",
    });
    expect(await step.run(h.ctx, p)).toEqual({ deleted: ["nova-conductor@oldctl", "nova-scheduler@oldctl"] });
    expect(
      neu
        .commands()
        .filter((a) => a[0] === "openstack")
        .map((a) => a.at(-1)),
    ).toEqual(["7", "9"]);
    expect(await step.verify(h.ctx, p)).toMatchObject({ ok: true });
    // Idempotent: nothing left, nothing called.
    await step.run(h.ctx, p);
    expect(neu.commands().filter((a) => a[0] === "openstack")).toHaveLength(2);
    expect("undo" in step).toBe(false);
  });
});

describe("check.computes", () => {
  function clocked(base: StepContext, clock: { t: number }): StepContext {
    return { ...base, now: () => new Date(clock.t) };
  }

  it("waits until every compute's heartbeat is newer than the switch", async () => {
    const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
    let polls = 0;
    const sql = new FakeSql().on(/TIMESTAMPDIFF/, () => {
      polls++;
      // compute1 reports at once; compute2 only on the third poll.
      return [
        { host: "compute1", age: 0 },
        { host: "compute2", age: polls >= 3 ? 1 : 500 },
      ];
    });
    const deps = makeDeps(sql, {
      sleep: (ms) => {
        clock.t += ms;
        return Promise.resolve();
      },
    });
    const step = byKind(novaSteps(deps))["check.computes"]!;
    const h = makeCtx({ new: new FakeHost("new") });
    const res = await step.run(clocked(h.ctx, clock), { computes: ["compute1", "compute2"] });
    expect(res).toMatchObject({ computes: ["compute1", "compute2"] });
    expect(polls).toBe(3);
    expect(
      h.events.some((e) => e.type === "step-progress" && e.message === "waiting for 1 compute(s): compute2"),
    ).toBe(true);
    expect(await step.verify(h.ctx, { computes: ["compute1", "compute2"] })).toMatchObject({ ok: true });
  });

  it("gives up after the bound naming the silent computes", async () => {
    const clock = { t: 0 };
    const sql = new FakeSql().on(/TIMESTAMPDIFF/, [{ host: "compute1", age: 900 }]);
    const deps = makeDeps(sql, {
      computeWaitMs: 30_000,
      sleep: (ms) => {
        clock.t += ms;
        return Promise.resolve();
      },
    });
    const step = byKind(novaSteps(deps))["check.computes"]!;
    const h = makeCtx({ new: new FakeHost("new") });
    await expect(step.run(clocked(h.ctx, clock), { computes: ["compute1", "compute9"] })).rejects.toThrow(
      /no heartbeat through the new controller within 30 s from: compute1, compute9/,
    );
    expect(await step.verify(h.ctx, { computes: ["compute1"] })).toMatchObject({
      ok: false,
      detail: "silent for over 60 s: compute1",
    });
  });
});
