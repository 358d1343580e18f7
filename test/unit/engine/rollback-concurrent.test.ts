/**
 * Concurrent rollback: ordering under concurrency (a step's undo never starts before the undo of every newer step
 * that depended on it has finished), the concurrency bound, failure in one branch, the irreversible block, Ctrl-C
 * and resume, and the switch-back going first with its "old controller serving again" milestone.
 *
 * Undos block on deferred promises that the test releases (no timers); at every undo start the test records what
 * else was undoing. The ordering oracle below is written from the rule, independently of rollback.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Journal, readJournal, type JournalState } from "../../../src/engine/journal.js";
import { resourcesOverlap } from "../../../src/engine/resources.js";
import {
  SERVING_AGAIN_PREFIX,
  SWITCH_BACK_PHASES,
  rollbackJournal,
  servingAgainSeconds,
  type RollbackResult,
} from "../../../src/engine/rollback.js";
import type { EngineEvent, Plan, PlannedStep, StepImpl } from "../../../src/engine/step.js";
import { Harness, hostsFor, initialWorld, makePlan, settle, sorted, worldPlan } from "./harness.js";
import { arbGatePlan, gate, gateStep, observed, releaseInTurn, type Observed } from "./gates.js";
import { journalState, rollbackJournaled, runJournaled, runWorld, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

/**
 * `gate` steps: run does nothing and succeeds (verify: ok); undo records its start, waits until the test releases
 * it, and then returns, or throws when its id is in `failing`. Its undo is order-free (undoOrderFree) when its
 * params say `free: true` (gateStep's `free`). With `base`, base's implementations instead, their
 * undo wrapped the same way (gate first, then the real undo).
 */
function gatedRegistry(
  obs: Observed,
  gates: Map<string, () => void>,
  failing: ReadonlySet<string> = new Set(),
  onUndo?: (id: string) => void,
  base?: ReadonlyMap<string, StepImpl>,
): Map<string, StepImpl> {
  const pass = gate(obs, gates);
  const gated = async (id: string): Promise<void> => {
    await pass(id);
    onUndo?.(id);
    if (failing.has(id)) throw new Error(`undo of ${id} failed (injected)`);
  };
  if (base) {
    return new Map(
      [...base.values()].map((impl) => [
        impl.kind,
        {
          ...impl,
          async undo(ctx, params, undoData) {
            await gated(params["id"] as string);
            await impl.undo?.(ctx, params, undoData);
          },
        } satisfies StepImpl,
      ]),
    );
  }
  const impl: StepImpl = {
    kind: "gate",
    run: () => Promise.resolve(),
    verify: () => Promise.resolve({ ok: true, detail: "ok" }),
    undo: (_ctx, params) => gated(params["id"] as string),
    undoOrderFree: (params) => params["free"] === true,
  };
  return new Map([["gate", impl]]);
}

const g = gateStep;

/** Runs the plan to completion (run order is the plan order: concurrency 1) and returns the state dir. */
async function completed(plan: Plan, concurrency = 1): Promise<string> {
  const dir = newDir();
  await runJournaled(dir, plan, gatedRegistry(observed(), new Map()), {
    concurrency,
  });
  return dir;
}

interface Driven {
  dir: string;
  obs: Observed;
  result: RollbackResult;
  state: JournalState;
  /** State before the rollback (for the oracle). */
  before: JournalState;
  events: EngineEvent[];
}

/** Rolls back, releasing the running undos one at a time in the order `pick` chooses. */
async function drive(
  dir: string,
  concurrency: number,
  pick: (running: string[]) => number,
  o: {
    failing?: ReadonlySet<string>;
    signal?: AbortSignal;
    onUndo?: (id: string) => void;
    now?: () => Date;
    base?: ReadonlyMap<string, StepImpl>;
  } = {},
): Promise<Driven> {
  const obs = observed();
  const gates = new Map<string, () => void>();
  const events: EngineEvent[] = [];
  const before = journalState(dir);
  const p = rollbackJournaled(dir, gatedRegistry(obs, gates, o.failing, o.onUndo, o.base), {
    concurrency,
    emit: (e) => events.push(e),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  await releaseInTurn(gates, pick);
  const result = await p;
  return { dir, obs, result, state: journalState(dir), before, events };
}

/**
 * The rule, written from the header independently of the implementation: for two steps to undo, the newer one
 * (later step-done) must finish its undo before the older one starts when the newer one is after the older one
 * (transitively) or they conflict on a resource. Exceptions: a switch-back step does not wait for other phases'
 * steps merely after it, and two order-free (`free`) steps are not ordered by plan order alone.
 */
function mustPrecede(before: JournalState): [string, string][] {
  const switchBack = (s: PlannedStep): boolean => SWITCH_BACK_PHASES.includes(s.phase);
  const after = (id: string, seen = new Set<string>()): Set<string> => {
    for (const d of before.byId.get(id)?.step.after ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      after(d, seen);
    }
    return seen;
  };
  const overlap = (a: readonly string[], b: readonly string[]): boolean =>
    a.some((x) => b.some((y) => resourcesOverlap(x, y)));
  const done = before.steps.filter((s) => s.status === "done");
  const pairs: [string, string][] = [];
  for (const newer of done) {
    for (const older of done) {
      if ((newer.doneSeq ?? 0) <= (older.doneSeq ?? 0)) continue;
      const n = newer.step;
      const o = older.step;
      // A switch-back step does not wait for other phases' steps merely after it in the plan (rollback.ts).
      const byPlanOrder =
        !(switchBack(o) && !switchBack(n)) && !(o.params["free"] === true && n.params["free"] === true);
      const related =
        (byPlanOrder && after(newer.id).has(older.id)) ||
        overlap(n.writes, o.writes) ||
        overlap(n.writes, o.reads) ||
        overlap(n.reads, o.writes);
      if (related) pairs.push([newer.id, older.id]);
    }
  }
  return pairs;
}

/** Most undos running at once that count against the limit: order-free (`free`) ones do not (rollback.ts). */
function maxLimited(d: Driven): number {
  const free = (id: string): boolean => d.before.byId.get(id)?.step.params["free"] === true;
  let active = 0;
  let max = 0;
  for (const e of d.obs.log) {
    const what = e.slice(0, e.indexOf(":"));
    const id = e.slice(e.indexOf(":") + 1);
    if (free(id)) continue;
    if (what === "start") max = Math.max(max, ++active);
    if (what === "finish") active--;
  }
  return max;
}

function checkOrder(d: Driven, concurrency: number): void {
  expect(maxLimited(d)).toBeLessThanOrEqual(concurrency);
  const at = (e: string): number => d.obs.log.indexOf(e);
  for (const [newer, older] of mustPrecede(d.before)) {
    expect(at(`finish:${newer}`), `${newer} undone`).toBeGreaterThanOrEqual(0);
    expect(at(`finish:${newer}`), `${newer} finished undoing before ${older} started`).toBeLessThan(
      at(`start:${older}`),
    );
  }
}

describe("concurrent rollback: order and bound", () => {
  it("undoes independent steps up to the limit at once, and no more", async () => {
    const plan = makePlan(["a", "b", "c", "d", "e", "f"].map((id) => g(id, { writes: [`w:db:${id}`] })));
    const dir = await completed(plan);
    const three = await drive(dir, 3, () => 0);
    expect(three.obs.maxActive).toBe(3);
    expect(three.result.complete).toBe(true);
    expect(three.result.outcomes.map((o) => o.stepId)).toEqual(["f", "e", "d", "c", "b", "a"]);
    // Newest first when free to choose.
    expect(three.obs.starts.slice(0, 3).map((s) => s.id)).toEqual(["f", "e", "d"]);

    const dir1 = await completed(plan);
    const one = await drive(dir1, 1, () => 0);
    expect(one.obs.maxActive).toBe(1);
    expect(one.obs.log.filter((l) => l.startsWith("start:"))).toEqual(
      ["f", "e", "d", "c", "b", "a"].map((id) => `start:${id}`),
    );
  });

  it("undoes a dependent before what it depended on, and conflicting steps one at a time, newest first", async () => {
    const plan = makePlan([
      g("freeze", { writes: ["old:service:api"] }),
      g("db1", { after: ["freeze"], writes: ["new:db:one"] }),
      g("db2", { after: ["freeze"], writes: ["new:db:two"] }),
      g("sync1", { after: ["db1"], writes: ["new:db:one"] }),
      g("conf", { writes: ["new:file:/etc/x"] }),
      g("conf-edit", { writes: ["new:file:/etc/x/x.conf"] }),
      g("check", { after: ["sync1", "db2"] }),
    ]);
    for (const pick of [() => 0, (r: string[]) => r.length - 1]) {
      const d = await drive(await completed(plan), 4, pick);
      checkOrder(d, 4);
      expect(d.result.complete).toBe(true);
      const alongside = (id: string): string[] => d.obs.starts.find((s) => s.id === id)!.alongside;
      // check first; freeze last (everything else is after it, directly or not).
      expect(d.obs.starts[0]?.id).toBe("check");
      expect(d.obs.starts.at(-1)).toEqual({ id: "freeze", alongside: [] });
      expect(alongside("conf")).not.toContain("conf-edit");
      // Unrelated work does go in parallel.
      expect(d.obs.maxActive).toBeGreaterThan(1);
    }
  });

  it("holds for random plans, limits and release orders (property)", async () => {
    const resources = ["x:db:a", "x:db:b", "x:file:/etc/s", "x:file:/etc/s/c.conf", "y:db:a"];
    // Switch-back phases and order-free steps mixed in, so both exceptions to plan order are exercised too.
    const arbPlan = arbGatePlan(resources, "p", ["provision", "freeze", "data", "services", "switch"], {
      free: true,
    });
    await fc.assert(
      fc.asyncProperty(
        arbPlan,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        async (plan, runConcurrency, concurrency, picks) => {
          let k = 0;
          const d = await drive(
            await completed(plan, runConcurrency),
            concurrency,
            () => picks[k++ % picks.length]!,
          );
          checkOrder(d, concurrency);
          expect(d.result.complete).toBe(true);
          expect(d.state.steps.every((s) => s.status === "undone")).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("concurrent rollback: failures, irreversible steps, Ctrl-C", () => {
  it("a failed undo in one branch does not stop the other branch (nor what the failed step depended on)", async () => {
    const plan = makePlan([
      g("a1", { writes: ["w:db:a"] }),
      g("b1", { writes: ["w:db:b"] }),
      g("a2", { after: ["a1"], writes: ["w:db:a2"] }),
      g("b2", { after: ["b1"], writes: ["w:db:b2"] }),
      g("a3", { after: ["a2"], writes: ["w:db:a3"] }),
    ]);
    const d = await drive(await completed(plan), 2, (r) => r.indexOf("b2") + 1, { failing: new Set(["b2"]) });
    checkOrder(d, 2);
    expect(d.result.complete).toBe(false);
    expect(Object.fromEntries(d.result.outcomes.map((o) => [o.stepId, o.outcome]))).toEqual({
      a3: "undone",
      b2: "failed",
      a2: "undone",
      b1: "undone",
      a1: "undone",
    });
    expect(d.result.message).toBe("Rollback incomplete: 4 undone; 1 failed (b2).");
    expect(d.state.byId.get("b2")?.status).toBe("undo-failed");
    // b2 and the a-branch were undoing side by side.
    expect(d.obs.maxActive).toBe(2);

    // Running rollback again retries only b2.
    const again = await drive(d.dir, 2, () => 0);
    expect(again.obs.starts.map((s) => s.id)).toEqual(["b2"]);
    expect(again.result.complete).toBe(true);
  });

  it("an irreversible step blocks itself and everything older, whatever the concurrency", async () => {
    const plan = makePlan([
      g("old1", { writes: ["w:db:1"] }),
      g("old2", { writes: ["w:db:2"] }),
      g("irr", { writes: ["w:db:x"], irreversible: "drops the records" }),
      g("new1", { writes: ["w:db:3"] }),
      g("new2", { writes: ["w:db:4"] }),
    ]);
    const d = await drive(await completed(plan), 4, () => 0);
    expect(d.obs.starts.map((s) => s.id).sort()).toEqual(["new1", "new2"]);
    expect(d.result.outcomes.map((o) => [o.stepId, o.outcome, o.message ?? ""])).toEqual([
      ["new2", "undone", ""],
      ["new1", "undone", ""],
      ["irr", "blocked", "irreversible (drops the records); it was done"],
      ["old2", "blocked", "older than irreversible step irr"],
      ["old1", "blocked", "older than irreversible step irr"],
    ]);
    expect(d.result.complete).toBe(false);
  });

  it("Ctrl-C: undos running finish, none starts after it, and rollback run again restores the world", async () => {
    const dir = newDir();
    const world = initialWorld();
    const plan = worldPlan();
    await runWorld(dir, plan, world, { concurrency: 2 });
    expect(sorted(world)).not.toEqual(sorted(initialWorld()));

    // The world steps' real undos behind gates, stopped while several run.
    const ac = new AbortController();
    let finished = 0;
    const d = await drive(dir, 3, () => 0, {
      base: new Harness(world).registry(),
      signal: ac.signal,
      onUndo: () => {
        if (++finished === 2) ac.abort();
      },
    });
    expect(d.result.interrupted).toBe(true);
    const started = d.obs.starts.map((s) => s.id);
    expect(started.length).toBeGreaterThan(2);
    // Nothing started after the abort (the second finish); what was running then finished and counts as undone.
    const abortAt = d.obs.log.filter((l) => l.startsWith("finish:"))[1]!;
    expect(d.obs.log.slice(d.obs.log.indexOf(abortAt)).filter((l) => l.startsWith("start:"))).toEqual([]);
    expect(
      d.result.outcomes
        .filter((o) => o.outcome === "undone")
        .map((o) => o.stepId)
        .sort(),
    ).toEqual([...started].sort());
    const notAttempted = d.result.outcomes.filter((o) => o.outcome === "not-attempted").map((o) => o.stepId);
    expect(notAttempted).toHaveLength(8 - started.length);
    expect(d.result.message).toContain("stopped on request before the rest");

    const h = new Harness(world);
    const second = await rollbackJournaled(dir, h.registry(), { concurrency: 3 });
    expect(second.complete).toBe(true);
    expect([...h.undoCalls].sort()).toEqual([...notAttempted].sort());
    expect(sorted(world)).toEqual(sorted(initialWorld()));
  });

  it("a concurrent rollback killed at any of its journal writes is finished by running it again", async () => {
    const plan = worldPlan();
    for (let m = 1; m <= 1 + 8 * 2 + 1; m++) {
      const dir = newDir();
      const world = initialWorld();
      await runWorld(dir, plan, world, { concurrency: 3 });
      // The harness "dies" at write m (half the line written, nothing after, every later change hangs).
      const dying = new Harness(world, { crashAtWrite: m });
      const dj = Journal.open({ stateDir: dir, io: dying.io() });
      const p = rollbackJournal({
        registry: dying.registry(),
        hosts: hostsFor(plan),
        journal: dj,
        concurrency: 3,
      });
      p.catch(() => undefined);
      await Promise.race([p, dying.crash.promise]);
      await settle();
      dj.close();
      expect(dying.crashed, `crashed at write ${m}`).toBe(true);
      const r = await rollbackJournaled(dir, new Harness(world).registry(), { concurrency: 3 });
      expect(r.complete, `second rollback after a crash at write ${m}: ${r.message}`).toBe(true);
      expect(sorted(world), `world after a crash at write ${m}`).toEqual(sorted(initialWorld()));
    }
  });

  it("with the real world steps, a concurrent rollback restores the initial world", async () => {
    for (const concurrency of [2, 3, 8]) {
      const dir = newDir();
      const world = initialWorld();
      const plan = worldPlan();
      await runWorld(dir, plan, world, { concurrency });
      const r = await rollbackJournaled(dir, new Harness(world).registry(), { concurrency });
      expect(r.complete).toBe(true);
      expect(sorted(world)).toEqual(sorted(initialWorld()));
    }
  });
});

describe("the switch-back goes first", () => {
  /** provision → freeze → db → svc → switch (canary, stop old, move); unrelated new-side work done in between. */
  function switchPlan(): Plan {
    return makePlan([
      g("prov", { phase: "provision", writes: ["new:pkg:*"] }, ["new"]),
      g("freeze", { phase: "freeze", after: ["prov"], writes: ["old:service:api"] }, ["old"]),
      g("db", { phase: "databases", after: ["freeze"], writes: ["new:db:nova"] }, ["old", "new"]),
      g("cfg1", { phase: "configs", after: ["prov"], writes: ["new:file:/etc/a"] }, ["new"]),
      g("cfg2", { phase: "configs", after: ["prov"], writes: ["new:file:/etc/b"] }, ["new"]),
      g("cfg3", { phase: "configs", after: ["prov"], writes: ["new:file:/etc/c"] }, ["new"]),
      g("svc", { phase: "services", after: ["db"], writes: ["new:service:nova"] }, ["new"]),
      g("canary", { phase: "switch", after: ["svc"], writes: ["c1:file:/tmp/canary"] }, ["c1"]),
      g("stop-old", { phase: "switch", after: ["canary"], writes: ["old:service:other"] }, ["old"]),
      g("move", { phase: "switch", after: ["stop-old"], writes: ["old:net:a", "new:net:a"] }, ["old", "new"]),
    ]);
  }

  it("undoes the switch, freeze and what they wait for before unrelated newer work, and says when old serves", async () => {
    const dir = await completed(switchPlan());
    // The clock moves 2 s per undo, so the milestone's time is known exactly.
    let t = Date.parse("2026-11-22T08:00:00Z");
    const d = await drive(dir, 1, () => 0, {
      now: () => new Date(t),
      onUndo: () => {
        t += 2000;
      },
    });
    checkOrder(d, 1);
    // freeze does not wait for svc and db (after it in the plan, other phases, no shared resource): old's
    // services come back right after its addresses.
    expect(d.obs.starts.map((s) => s.id)).toEqual([
      "move",
      "stop-old",
      "canary",
      "freeze",
      "svc",
      "cfg3",
      "cfg2",
      "cfg1",
      "db",
      "prov",
    ]);
    expect(d.result.servingAgainSeconds).toBe(8);
    expect(d.result.seconds).toBe(20);
    const log = d.events.find((e) => e.type === "log" && e.message.startsWith(SERVING_AGAIN_PREFIX));
    expect(log).toMatchObject({ level: "info", message: expect.stringContaining("after 8 s") });
    // Shown right after freeze's undo, before new's svc and db are undone.
    const order = d.events.map((e) =>
      e.type === "log" ? "serving" : `${e.type}:${"stepId" in e ? e.stepId : ""}`,
    );
    expect(order.indexOf("serving")).toBe(order.indexOf("undo-done:freeze") + 1);
    expect(servingAgainSeconds(readJournal(dir)!.records)).toBe(8);
  });

  it("with room for more, unrelated undos run beside the switch-back without delaying it", async () => {
    const d = await drive(await completed(switchPlan()), 3, () => 0);
    checkOrder(d, 3);
    // The first start is the newest switch step; cfg steps fill the free slots.
    expect(d.obs.starts[0]?.id).toBe("move");
    expect(d.obs.starts.find((s) => s.id === "cfg3")?.alongside).toContain("move");
    expect(d.result.servingAgainSeconds).toBeDefined();
  });

  it("a failed switch-back undo is reported as such, never as serving again", async () => {
    const d = await drive(await completed(switchPlan()), 2, () => 0, { failing: new Set(["move"]) });
    expect(d.result.servingAgainSeconds).toBeUndefined();
    const logs = d.events.filter((e) => e.type === "log");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: "warn",
      message: expect.stringContaining("the undo of move failed, so the old controller may not be serving"),
    });
    expect(servingAgainSeconds(readJournal(d.dir)!.records)).toBeUndefined();
  });

  it("a rollback with nothing of the switch or freeze to undo says nothing about serving", async () => {
    const plan = makePlan([
      g("prov", { phase: "provision" }),
      g("cfg", { phase: "configs", after: ["prov"] }),
    ]);
    const d = await drive(await completed(plan), 2, () => 0);
    expect(d.events.filter((e) => e.type === "log")).toEqual([]);
    expect(d.result.servingAgainSeconds).toBeUndefined();
  });
});

describe("order-free undos (new's OpenStack daemon starts)", () => {
  /** Infrastructure and a database before three daemons started in order, and a check after the last. */
  function daemonsPlan(free: boolean): Plan {
    return makePlan([
      g("rabbit", { phase: "provision", writes: ["new:service:rabbitmq"] }, ["new"]),
      g("db", { phase: "databases", after: ["rabbit"], writes: ["new:db:nova"] }, ["new"]),
      g("conductor", { phase: "services", after: ["db"], writes: ["new:service:conductor"], free }, ["new"]),
      g("scheduler", { phase: "services", after: ["conductor"], writes: ["new:service:sched"], free }, [
        "new",
      ]),
      g("api", { phase: "services", after: ["scheduler"], writes: ["new:service:api"], free }, ["new"]),
      g("check", { phase: "verify", after: ["api"], reads: ["new:db:nova"] }, ["new"]),
    ]);
  }
  const startOf = (d: Driven, id: string): { id: string; alongside: string[] } => {
    const s = d.obs.starts.find((x) => x.id === id);
    if (!s) throw new Error(`${id} never started undoing: ${JSON.stringify(d.obs.starts)}`);
    return s;
  };

  it("stops order-free daemons side by side; what they depend on, and what depends on them, keep their order", async () => {
    for (const pick of [() => 0, (r: string[]) => r.length - 1]) {
      const d = await drive(await completed(daemonsPlan(true)), 4, pick);
      checkOrder(d, 4);
      expect(d.result.complete).toBe(true);
      // The check (after all of them, not order-free) first and alone.
      expect(d.obs.starts[0]).toEqual({ id: "check", alongside: [] });
      // All three daemons were undoing at once: the last to start saw the other two still running.
      expect(d.obs.starts.slice(1, 4).map((s) => s.id)).toEqual(["api", "scheduler", "conductor"]);
      expect(startOf(d, "conductor").alongside.sort()).toEqual(["api", "scheduler"]);
      expect(d.obs.maxActive).toBe(3);
      // The database drop and the infrastructure stop wait for every daemon (and each other).
      const at = (e: string): number => d.obs.log.indexOf(e);
      for (const daemon of ["api", "scheduler", "conductor"]) {
        expect(at(`finish:${daemon}`)).toBeLessThan(at("start:db"));
      }
      expect(at("finish:db")).toBeLessThan(at("start:rabbit"));
      expect(startOf(d, "db").alongside).toEqual([]);
      expect(startOf(d, "rabbit").alongside).toEqual([]);
    }
  });

  it("order-free undos do not take a concurrency slot: at concurrency 1 the three daemons still stop side by side", async () => {
    const d = await drive(await completed(daemonsPlan(true)), 1, (r: string[]) => r.length - 1);
    checkOrder(d, 1);
    expect(d.result.complete).toBe(true);
    expect(startOf(d, "conductor").alongside.sort()).toEqual(["api", "scheduler"]);
    expect(d.obs.maxActive).toBe(3);
    // Without the marker, concurrency 1 is one undo at a time.
    const strict = await drive(await completed(daemonsPlan(false)), 1, () => 0);
    expect(strict.obs.maxActive).toBe(1);
  });

  it("without the marker (a journal from before it), the same daemons are stopped one at a time, newest first", async () => {
    const d = await drive(await completed(daemonsPlan(false)), 4, () => 0);
    checkOrder(d, 4);
    expect(d.obs.maxActive).toBe(1);
    expect(d.obs.starts.map((s) => s.id)).toEqual(["check", "api", "scheduler", "conductor", "db", "rabbit"]);
  });

  it("two order-free steps that conflict on a resource are still undone one at a time, newest first", async () => {
    const plan = makePlan([
      g("a", { phase: "services", writes: ["new:service:a", "new:file:/etc/shared"], free: true }, ["new"]),
      g("b", { phase: "services", after: ["a"], writes: ["new:service:b"], free: true }, ["new"]),
      g("c", { phase: "services", after: ["b"], reads: ["new:file:/etc/shared/x.conf"], free: true }, [
        "new",
      ]),
    ]);
    for (const pick of [() => 0, (r: string[]) => r.length - 1]) {
      const d = await drive(await completed(plan), 4, pick);
      checkOrder(d, 4);
      // b is free of both; c (reads what a writes) goes before a.
      expect(d.obs.starts.slice(0, 2).map((s) => s.id)).toEqual(["c", "b"]);
      const at = (e: string): number => d.obs.log.indexOf(e);
      expect(at("finish:c")).toBeLessThan(at("start:a"));
      expect(d.obs.starts.find((s) => s.id === "a")?.alongside).not.toContain("c");
    }
  });

  it("frees only the direct pair: a step that is not order-free keeps its place between and around them", async () => {
    // infra <- b <- a (b and a order-free): infra still waits for a, though a and b undo side by side.
    const chain = makePlan([
      g("infra", { phase: "provision", writes: ["new:service:mariadb"] }, ["new"]),
      g("b", { phase: "services", after: ["infra"], writes: ["new:service:b"], free: true }, ["new"]),
      g("a", { phase: "services", after: ["b"], writes: ["new:service:a"], free: true }, ["new"]),
    ]);
    const d1 = await drive(await completed(chain), 4, () => 0);
    checkOrder(d1, 4);
    expect(d1.obs.starts.map((s) => s.id)).toEqual(["a", "b", "infra"]);
    expect(startOf(d1, "b").alongside).toEqual(["a"]);
    expect(startOf(d1, "infra").alongside).toEqual([]);

    // b <- x <- a, x not order-free: a, x, b one at a time (b waits for x, which waits for a).
    const through = makePlan([
      g("b", { phase: "services", writes: ["new:service:b"], free: true }, ["new"]),
      g("x", { phase: "services", after: ["b"], writes: ["new:db:x"] }, ["new"]),
      g("a", { phase: "services", after: ["x"], writes: ["new:service:a"], free: true }, ["new"]),
    ]);
    for (const pick of [() => 0, (r: string[]) => r.length - 1]) {
      const d2 = await drive(await completed(through), 4, pick);
      checkOrder(d2, 4);
      expect(d2.obs.maxActive).toBe(1);
      expect(d2.obs.log).toEqual(["start:a", "finish:a", "start:x", "finish:x", "start:b", "finish:b"]);
    }
  });
});
