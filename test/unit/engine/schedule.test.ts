/**
 * Scheduling: `after` dependencies, resource conflicts and the concurrency limit. Steps block on deferred promises
 * the test releases one at a time (no timers); at every start we record what else was running.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stepsConflict, resourcesOverlap } from "../../../src/engine/resources.js";
import type { Plan, StepImpl } from "../../../src/engine/step.js";
import { validatePlan } from "../../../src/engine/validate-plan.js";
import { BugError } from "../../../src/lib/errors.js";
import { hostsFor, makePlan, step } from "./harness.js";
import { arbGatePlan, gate, gateStep, observed, releaseInTurn, type Observed } from "./gates.js";
import { runJournaled, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

/** `gate` steps: run waits until the test releases it (gates.ts); verify: it finished. */
function gatedRegistry(obs: Observed, gates: Map<string, () => void>): Map<string, StepImpl> {
  const pass = gate(obs, gates);
  const impl: StepImpl = {
    kind: "gate",
    run: (_ctx, params) => pass(params["id"] as string),
    verify(_ctx, params) {
      const ok = obs.finished.includes(params["id"] as string);
      return Promise.resolve({ ok, detail: ok ? "finished" : "not finished" });
    },
    undo: () => Promise.resolve(),
  };
  return new Map([["gate", impl]]);
}

/** Run the plan, releasing running steps one at a time in the order `pick` chooses. */
async function drive(
  plan: Plan,
  concurrency: number,
  pick: (running: string[]) => number,
): Promise<Observed> {
  const obs = observed();
  const gates = new Map<string, () => void>();
  const p = runJournaled(newDir(), plan, gatedRegistry(obs, gates), { concurrency });
  let done = false;
  void p.finally(() => (done = true));
  await releaseInTurn(gates, pick);
  await p;
  expect(done).toBe(true);
  return obs;
}

function checkInvariants(plan: Plan, obs: Observed, concurrency: number): void {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  expect(obs.finished.sort()).toEqual(plan.steps.map((s) => s.id).sort());
  expect(obs.maxActive).toBeLessThanOrEqual(concurrency);
  const at = (event: string): number => obs.log.indexOf(event);
  obs.starts.forEach((start) => {
    const s = byId.get(start.id)!;
    for (const other of start.alongside) {
      expect(stepsConflict(s, byId.get(other)!), `${start.id} started while conflicting ${other} ran`).toBe(
        false,
      );
    }
    for (const dep of s.after) {
      expect(at(`finish:${dep}`), `${dep} finished before ${start.id} started`).toBeGreaterThanOrEqual(0);
      expect(at(`finish:${dep}`)).toBeLessThan(at(`start:${start.id}`));
    }
    // Conflicting steps apply in plan order.
    const pos = plan.steps.indexOf(s);
    for (const earlier of plan.steps.slice(0, pos)) {
      if (!stepsConflict(earlier, s)) continue;
      expect(
        at(`finish:${earlier.id}`),
        `${earlier.id} (earlier, conflicting) finished first`,
      ).toBeGreaterThanOrEqual(0);
      expect(at(`finish:${earlier.id}`)).toBeLessThan(at(`start:${start.id}`));
    }
  });
}

const g = gateStep;

describe("resource overlap", () => {
  it("matches equal names, * and directory prefixes on the same host and kind only", () => {
    expect(resourcesOverlap("old:db:nova", "old:db:nova")).toBe(true);
    expect(resourcesOverlap("old:db:nova", "old:db:glance")).toBe(false);
    expect(resourcesOverlap("old:db:nova", "new:db:nova")).toBe(false);
    expect(resourcesOverlap("new:db:*", "new:db:nova")).toBe(true);
    expect(resourcesOverlap("new:file:/etc/nova", "new:file:/etc/nova/nova.conf")).toBe(true);
    expect(resourcesOverlap("new:file:/etc/nova", "new:file:/etc/nova-api")).toBe(false);
    expect(resourcesOverlap("new:file:/etc/nova", "new:db:/etc/nova")).toBe(false);
  });

  it("two readers never conflict; a writer conflicts with readers and writers", () => {
    expect(
      stepsConflict({ reads: ["old:db:nova"], writes: [] }, { reads: ["old:db:nova"], writes: [] }),
    ).toBe(false);
    expect(
      stepsConflict({ reads: ["old:db:nova"], writes: [] }, { reads: [], writes: ["old:db:nova"] }),
    ).toBe(true);
    expect(
      stepsConflict({ reads: [], writes: ["new:db:nova"] }, { reads: [], writes: ["new:db:nova"] }),
    ).toBe(true);
  });
});

describe("scheduling", () => {
  it("runs independent steps up to the limit, and no further", async () => {
    const plan = makePlan(["a", "b", "c", "d", "e"].map((id) => g(id, { writes: [`new:db:${id}`] })));
    const obs = await drive(plan, 2, () => 0);
    expect(obs.maxActive).toBe(2);
    checkInvariants(plan, obs, 2);
    const obs4 = await drive(plan, 4, () => 0);
    expect(obs4.maxActive).toBe(4);
  });

  it("never runs two steps writing the same resource, or one reading what another writes, at once", async () => {
    const plan = makePlan([
      g("dump-nova", { reads: ["old:db:nova"], writes: ["new:db:nova"] }),
      g("dump-glance", { reads: ["old:db:glance"], writes: ["new:db:glance"] }),
      g("sync-nova", { reads: ["new:file:/etc/nova"], writes: ["new:db:nova"] }),
      g("edit-nova-conf", { writes: ["new:file:/etc/nova/nova.conf"] }),
      g("read-old-nova", { reads: ["old:db:nova"] }),
    ]);
    for (const pick of [() => 0, (r: string[]) => r.length - 1]) {
      const obs = await drive(plan, 5, pick);
      checkInvariants(plan, obs, 5);
      // dump-glance and read-old-nova are free to run beside dump-nova.
      expect(obs.starts.find((s) => s.id === "dump-glance")?.alongside).toContain("dump-nova");
      // sync-nova waits for dump-nova (same DB written) and edit-nova-conf waits for sync-nova (it reads the dir).
      expect(obs.starts.findIndex((s) => s.id === "sync-nova")).toBeGreaterThan(
        obs.finished.indexOf("dump-nova") >= 0 ? 0 : -1,
      );
      expect(obs.starts.find((s) => s.id === "sync-nova")?.alongside).not.toContain("dump-nova");
      expect(obs.starts.find((s) => s.id === "edit-nova-conf")?.alongside).not.toContain("sync-nova");
    }
  });

  it("respects after: a step starts only once everything it is after has finished", async () => {
    const plan = makePlan([
      g("freeze"),
      g("db1", { after: ["freeze"] }),
      g("db2", { after: ["freeze"] }),
      g("check", { after: ["db1", "db2"] }),
    ]);
    const obs = await drive(plan, 3, (r) => r.length - 1);
    checkInvariants(plan, obs, 3);
    expect(obs.starts[0]).toEqual({ id: "freeze", alongside: [] });
    expect(obs.starts[3]).toEqual({ id: "check", alongside: [] });
    expect(obs.maxActive).toBe(2);
  });

  it("holds for random plans, limits and release orders (property)", async () => {
    const resources = ["x:db:a", "x:db:b", "x:file:/etc/s", "x:file:/etc/s/c.conf", "y:db:a"];
    const arbPlan = arbGatePlan(resources, "t");
    await fc.assert(
      fc.asyncProperty(
        arbPlan,
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(), { minLength: 1 }),
        async (plan, conc, picks) => {
          let k = 0;
          const obs = await drive(plan, conc, () => picks[k++ % picks.length]!);
          checkInvariants(plan, obs, conc);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("plan validation", () => {
  const impl: StepImpl = {
    kind: "k",
    run: () => Promise.resolve(),
    verify: () => Promise.resolve({ ok: true, detail: "" }),
  };
  const registry = new Map([["k", impl]]);

  it("rejects an after that points forward or nowhere, duplicates, and reversible steps without undo", () => {
    const bad = makePlan([
      step("a", "k", {}, { after: ["b"], irreversible: "x" }),
      step("b", "k", {}, { irreversible: "x" }),
      step("b", "k", {}, { irreversible: "x" }),
      step("c", "k", {}, { after: ["zzz"], irreversible: "x" }),
      step("d", "k", {}),
      step("e", "nope", {}, { irreversible: "x" }),
    ]);
    let err: unknown;
    try {
      validatePlan(bad, { registry, hosts: new Map() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BugError);
    const m = (err as BugError).message;
    expect(m).toContain("a is after b, which comes later in the plan");
    expect(m).toContain("duplicate step id b");
    expect(m).toContain("c is after unknown step zzz");
    expect(m).toContain("d: kind k has no undo and the step is not declared irreversible");
    expect(m).toContain("e: no implementation registered for kind nope");
    expect(m).toContain("host w is not among the hosts");
  });

  it("accepts a good plan", () => {
    const ok = makePlan([
      step("a", "k", {}, { irreversible: "x" }),
      step("b", "k", {}, { after: ["a"], irreversible: "x" }),
    ]);
    expect(() => validatePlan(ok, { registry, hosts: hostsFor(ok) })).not.toThrow();
  });
});
