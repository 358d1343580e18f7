/**
 * Resume of an interrupted step covered by another (params.coveredBy; src/engine/covered-redo.ts): the covering
 * step is undone and run again, then the covered steps that were done, then the interrupted one; uncovered steps
 * are untouched; irreversible steps, a missing undo or a begun switch keep today's in-place redo, with a warning.
 *
 * The fake "database" (written down so the tests can rely on it), all in the harness world:
 * - `import` {db}: run checkpoints {token: "imp-<attempt n>"} (unless an earlier attempt's token is in
 *   previousUndoData, which it keeps and records in `imports`, as db.copy finds its still-running import), then sets
 *   world[db] = "base" (a fresh copy, replacing whatever was there) and deletes every `<db>.*` key; undo deletes world[db] and every `<db>.*` key (drop); verify: world[db] exists.
 * - `cell` {db}: sets world[`<db>.cell`] = "mapped" (a row in the imported database); verify: it is.
 * - `sync` {db}: two migrations, one mutation each, appended to world[db]: "+m1", then "+m2". NOT idempotent, like
 *   DDL that is not transactional: re-running it on a half-migrated "base+m1" gives "base+m1+m1+m2". It refuses to
 *   start (throws) when `<db>.cell` is not "mapped" (nova's sync through a stale cell mapping). Verify: world[db]
 *   is exactly "base+m1+m2". Undo: none of its own (covered). Before changing anything it checkpoints
 *   {token: "tok-<db>"}; its awaitEarlierAttempt (the engine calls it before dropping the database under an
 *   interrupted attempt) records `settle:<id>:<token it was given, as JSON>` in h.undoCalls, where the undos are recorded.
 * Every mutation goes through Harness.mutate, so crashes can be injected between any two.
 */
import { afterEach, describe, expect, it } from "vitest";
import { planCoveredRedo } from "../../../src/engine/covered-redo.js";
import { Journal, deriveState, planHash, type JournalRecord } from "../../../src/engine/journal.js";
import { runPlan } from "../../../src/engine/run.js";
import type { JsonObject, Plan, PlannedStep, StepImpl, StepRegistry } from "../../../src/engine/step.js";
import { UserError } from "../../../src/lib/errors.js";
import { Harness, hostsFor, makePlan, settle, sorted, step, type Faults, type World } from "./harness.js";
import { tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

/** previousUndoData.token each import run was given (undefined on a first attempt), in order. */
const imports: (string | undefined)[] = [];
afterEach(() => {
  imports.length = 0;
});

function dbRegistry(h: Harness): StepRegistry {
  const db = (p: JsonObject): string => p["db"] as string;
  const id = (p: JsonObject): string => p["id"] as string;
  const dropAll = (w: World, name: string): void => {
    for (const k of [...w.keys()]) if (k === name || k.startsWith(`${name}.`)) w.delete(k);
  };
  const imp: StepImpl = {
    kind: "import",
    async run(ctx, p) {
      const prev = ctx.previousUndoData?.["token"];
      imports.push(typeof prev === "string" ? prev : undefined);
      ctx.checkpoint?.({ token: typeof prev === "string" ? prev : `imp-${imports.length}` });
      await h.mutate(id(p), () => {
        dropAll(h.world, db(p));
        h.world.set(db(p), "base");
      });
    },
    verify: (_ctx, p) =>
      Promise.resolve(
        h.world.has(db(p)) ? { ok: true, detail: `${db(p)} exists` } : { ok: false, detail: `no ${db(p)}` },
      ),
    async undo(_ctx, p) {
      h.undoCalls.push(id(p));
      if (h.faults.failUndo === id(p)) throw new Error(`undo of ${id(p)} failed (injected)`);
      await h.mutate(`undo:${id(p)}`, () => dropAll(h.world, db(p)));
    },
  };
  const cell: StepImpl = {
    kind: "cell",
    async run(_ctx, p) {
      await h.mutate(id(p), () => h.world.set(`${db(p)}.cell`, "mapped"));
    },
    verify: (_ctx, p) =>
      Promise.resolve({ ok: h.world.get(`${db(p)}.cell`) === "mapped", detail: `${db(p)}.cell checked` }),
    undo: () => Promise.resolve(),
  };
  const sync: StepImpl = {
    kind: "sync",
    async run(ctx, p) {
      ctx.checkpoint?.({ token: `tok-${db(p)}` });
      if (h.world.get(`${db(p)}.cell`) !== "mapped") throw new Error(`${db(p)}: no cell mapping`);
      for (const m of ["+m1", "+m2"]) {
        await h.mutate(id(p), () => h.world.set(db(p), `${h.world.get(db(p)) ?? ""}${m}`));
      }
    },
    verify: (_ctx, p) => {
      const v = h.world.get(db(p));
      return Promise.resolve({ ok: v === "base+m1+m2", detail: `${db(p)} is ${v ?? "missing"}` });
    },
    undo: () => Promise.resolve(),
    awaitEarlierAttempt(_ctx, p, undoData) {
      h.undoCalls.push(`settle:${id(p)}:${JSON.stringify(undoData["token"])}`);
      return Promise.resolve();
    },
  };
  return new Map([...h.registry(), ...[imp, cell, sync].map((i) => [i.kind, i] as const)]);
}

const DB = "w:db:api";
const kv = (k: string): string => `w:kv:${k}`;

/**
 * imp → cell → sync → tail, and `other` after imp (reads the database, covered by nothing). cell and sync are
 * covered by imp. `o` overrides single steps.
 */
function dbPlan(o: Partial<Record<string, Partial<PlannedStep>>> = {}): Plan {
  const steps = [
    step("imp", "import", { db: "api" }, { writes: [DB] }),
    step("cell", "cell", { db: "api", coveredBy: "imp" }, { writes: [DB], after: ["imp"] }),
    step("other", "set", { key: "x", value: "X" }, { reads: [DB], writes: [kv("x")], after: ["imp"] }),
    step("sync", "sync", { db: "api", coveredBy: "imp" }, { writes: [DB], after: ["cell"] }),
    step("tail", "set", { key: "t", value: "T" }, { writes: [kv("t")], after: ["sync"] }),
  ];
  return makePlan(steps.map((s) => ({ ...s, ...(o[s.id] ?? {}) })));
}

const EXPECTED: [string, string][] = [
  ["api", "base+m1+m2"],
  ["api.cell", "mapped"],
  ["t", "T"],
  ["x", "X"],
];

type Outcome = "completed" | "crashed" | { failed: unknown };

/** One handover process over `dir`; a crash fault ends it as SIGKILL would. */
async function proc(
  dir: string,
  world: World,
  plan: Plan,
  faults: Faults = {},
): Promise<{ outcome: Outcome; h: Harness; records: JournalRecord[] }> {
  const h = new Harness(world, faults);
  const journal = Journal.open({ stateDir: dir, plan, io: h.io() });
  const before = journal.all().length;
  const p = runPlan({
    plan,
    registry: dbRegistry(h),
    hosts: hostsFor(plan),
    journal,
    concurrency: 2,
    env: {},
  });
  p.catch(() => undefined);
  const outcome = await Promise.race([
    p.then(
      (): Outcome => "completed",
      (e: unknown): Outcome => ({ failed: e }),
    ),
    h.crash.promise.then((): Outcome => "crashed"),
  ]);
  if (outcome === "crashed") await settle();
  const records = journal.all().slice(before);
  journal.close();
  return { outcome, h, records };
}

/** A first process that crashes mid-sync (after its first migration): the world and state dir every resume below starts from. */
async function crashedMidSync(plan: Plan = dbPlan()) {
  const dir = newDir();
  const world: World = new Map();
  const first = await proc(dir, world, plan, { crashAtMutation: { stepId: "sync", mutation: 2 } });
  return { dir, world, first };
}

function starts(records: readonly JournalRecord[]): string[] {
  return records.filter((r) => r.type === "step-start").map((r) => (r as { stepId: string }).stepId);
}
function ofType(records: readonly JournalRecord[], type: string): string[] {
  return records.filter((r) => r.type === type).map((r) => (r as { stepId: string }).stepId);
}
function messages(records: readonly JournalRecord[]): string[] {
  return records.filter((r) => r.type === "note").map((r) => (r as { message: string }).message);
}

describe("resume of an interrupted covered step", () => {
  it("the model is faithful: uninterrupted, the plan ends in EXPECTED", async () => {
    const world: World = new Map();
    const r = await proc(newDir(), world, dbPlan());
    expect(r.outcome).toBe("completed");
    expect(sorted(world)).toEqual(EXPECTED);
  });

  it("interrupted mid-sync: the import is undone and redone, then cell, then sync; `other` and `tail` are not redone", async () => {
    const { dir, world, first } = await crashedMidSync();
    expect(first.outcome).toBe("crashed");
    expect(world.get("api")).toBe("base+m1"); // half-migrated

    const second = await proc(dir, world, dbPlan());
    expect(second.outcome).toBe("completed");
    expect(sorted(world)).toEqual(EXPECTED);
    // The interrupted sync's earlier attempt is awaited (with what it checkpointed) before the drop.
    expect(second.h.undoCalls).toEqual([`settle:sync:"tok-api"`, "imp"]);
    expect(ofType(second.records, "undo-done")).toEqual(["imp"]);
    // Plan order: the fresh import, then what it covers that was done, then the interrupted step.
    expect(starts(second.records)).toEqual(["imp", "cell", "sync", "tail"]);
    // `other` (not covered) was done before the crash and is only verified.
    expect(ofType(second.records, "step-skip")).toContain("other");
    expect(second.h.mutationCounts().get("other")).toBeUndefined();
    // Undo of imp comes before its run, and the journal says why, once per redone step.
    const seqOf = (type: string, id: string) =>
      second.records.find((r) => r.type === type && (r as { stepId?: string }).stepId === id)!.seq;
    expect(seqOf("undo-done", "imp")).toBeLessThan(seqOf("step-start", "imp"));
    const notes = messages(second.records);
    expect(notes).toContainEqual(
      expect.stringMatching(
        /^sync was interrupted\. A schema change cut short .* so imp is undone and run again .*, then cell again, before sync runs again\.$/,
      ),
    );
    expect(notes).toContain(
      "redone from a fresh imp: sync was interrupted; undoing it, then running it again",
    );
    expect(notes).toContain("redone from a fresh imp: sync was interrupted; running it again after imp");
  });

  it("without coveredBy the interrupted step is verified and re-run in place, as before (here: on the half-migrated data)", async () => {
    const plain = dbPlan({
      cell: { params: { id: "cell", db: "api" } },
      sync: { params: { id: "sync", db: "api" } },
    });
    const { dir, world } = await crashedMidSync(plain);
    const second = await proc(dir, world, plain);
    expect(second.h.undoCalls).toEqual([]);
    expect(starts(second.records)).toEqual(["sync"]);
    expect(messages(second.records)).toContain("interrupted earlier (api is base+m1); running it again");
    // The in-place redo migrates the half-migrated copy again: exactly what the covered redo avoids.
    expect(world.get("api")).toBe("base+m1+m1+m2");
    expect(second.outcome).toMatchObject({ failed: expect.any(UserError) });
  });

  it("a crash during the redo (mid-import) is finished by the next run: the import's covered steps are redone again", async () => {
    const { dir, world } = await crashedMidSync();
    // The redo: undo of imp is mutation `undo:imp`; imp's run is its first mutation in this process.
    const second = await proc(dir, world, dbPlan(), { crashAtMutation: { stepId: "imp", mutation: 1 } });
    expect(second.outcome).toBe("crashed");
    expect(world.has("api")).toBe(false); // dropped, not yet re-imported
    const third = await proc(dir, world, dbPlan());
    expect(third.outcome).toBe("completed");
    expect(sorted(world)).toEqual(EXPECTED);
    expect(starts(third.records)).toEqual(["imp", "cell", "sync", "tail"]);
    // Each redo of the import, even after its own undo, was handed the first attempt's token to look for.
    expect(imports).toEqual([undefined, "imp-1", "imp-1"]);
    expect(third.h.undoCalls).toEqual([`settle:sync:"tok-api"`, "imp"]);
  });

  it("a crash right after the fresh import (cell done earlier, not yet redone) still redoes cell before sync", async () => {
    const { dir, world } = await crashedMidSync();
    const second = await proc(dir, world, dbPlan(), { crashAtMutation: { stepId: "cell", mutation: 1 } });
    expect(second.outcome).toBe("crashed");
    expect(world.get("api")).toBe("base"); // fresh import done, cell mapping gone with the drop
    const third = await proc(dir, world, dbPlan());
    expect(third.outcome).toBe("completed");
    expect(sorted(world)).toEqual(EXPECTED);
  });

  it("a failing undo of the covering step fails the run without touching anything else; the next run retries", async () => {
    const { dir, world } = await crashedMidSync();
    const second = await proc(dir, world, dbPlan(), { failUndo: "imp" });
    expect(second.outcome).toMatchObject({ failed: expect.any(UserError) });
    expect((second.outcome as { failed: UserError }).failed.message).toContain(
      "could not undo it to start again from scratch: undo of imp failed (injected)",
    );
    expect(ofType(second.records, "undo-failed")).toEqual(["imp"]);
    expect(world.get("api")).toBe("base+m1");
    const third = await proc(dir, world, dbPlan());
    expect(third.outcome).toBe("completed");
    expect(sorted(world)).toEqual(EXPECTED);
  });

  it("an irreversible covered step to redo keeps the in-place redo, with a warning naming it", async () => {
    const plan = dbPlan({ cell: { irreversible: "cannot be taken back" } });
    const { dir, world } = await crashedMidSync(plan);
    const second = await proc(dir, world, plan);
    expect(second.h.undoCalls).toEqual([]);
    expect(starts(second.records)).toEqual(["sync"]);
    expect(messages(second.records)).toContainEqual(
      expect.stringContaining(
        "sync was interrupted; not redone from a fresh imp, because cell is irreversible (cannot be taken back)",
      ),
    );
  });
});

describe("planCoveredRedo (which steps, from the journal alone)", () => {
  /** A journal state from a list of [stepId, status-producing record types]. */
  function stateOf(plan: Plan, history: [string, ...("start" | "done" | "failed" | "undo")[]][]) {
    const records: JournalRecord[] = [];
    let seq = 0;
    const at = "2026-11-22T00:00:00.000Z";
    records.push({ seq: ++seq, at, type: "plan", planHash: planHash(plan), plan });
    for (const [stepId, ...events] of history) {
      for (const e of events) {
        if (e === "start") records.push({ seq: ++seq, at, type: "step-start", stepId, attempt: 1 });
        if (e === "done")
          records.push({ seq: ++seq, at, type: "step-done", stepId, undoData: {}, verify: "ok" });
        if (e === "failed") records.push({ seq: ++seq, at, type: "step-failed", stepId, message: "boom" });
        if (e === "undo") {
          records.push({ seq: ++seq, at, type: "undo-start", stepId });
          records.push({ seq: ++seq, at, type: "undo-done", stepId });
        }
      }
    }
    return deriveState(records);
  }
  const registry = dbRegistry(new Harness(new Map()));
  /** What planCoveredRedo decides for `plan` after `history`. */
  const redoAfter = (history: Parameters<typeof stateOf>[1], plan: Plan = dbPlan()) =>
    planCoveredRedo(plan, stateOf(plan, history), registry);

  it("nothing to do when no covered step is unfinished", () => {
    const r = redoAfter([
      ["imp", "start", "done"],
      ["cell", "start", "done"],
    ]);
    expect(r).toEqual({ undoFirst: new Set(), settleFirst: new Map(), force: new Map(), notes: [] });
  });

  it("a failed covered step counts as interrupted (its failure may have left partial DDL)", () => {
    const plan = dbPlan();
    const st = stateOf(plan, [
      ["imp", "start", "done"],
      ["cell", "start", "done"],
      ["other", "start", "done"],
      ["sync", "start", "failed"],
    ]);
    const r = planCoveredRedo(plan, st, registry);
    expect([...r.undoFirst]).toEqual(["imp"]);
    expect(r.settleFirst).toEqual(new Map([["imp", ["sync"]]]));
    expect([...r.force.keys()].sort()).toEqual(["cell", "imp", "sync"]);
  });

  it("the interrupted covering step itself: redone (undo first) only when steps it covers are done", () => {
    const alone = redoAfter([["imp", "start"]]);
    expect(alone.force.size).toBe(0);
    const withDone = redoAfter([
      ["imp", "start", "done"],
      ["cell", "start", "done"],
      ["imp", "undo", "start"],
    ]);
    expect([...withDone.undoFirst]).toEqual(["imp"]);
    expect([...withDone.force.keys()].sort()).toEqual(["cell", "imp"]);
    expect(withDone.notes[0]?.message).toMatch(
      /^imp was interrupted while cell \(which it covers\) was done\./,
    );
  });

  it("a covering step already undone (by a rollback) is run again without another undo", () => {
    const r = redoAfter([
      ["imp", "start", "done"],
      ["cell", "start", "done"],
      ["sync", "start"],
      ["imp", "undo"],
    ]);
    expect(r.undoFirst.size).toBe(0);
    expect([...r.force.keys()].sort()).toEqual(["cell", "imp", "sync"]);
  });

  it("coveredBy as a list redoes every covering step", () => {
    const plan = makePlan([
      step("a", "import", { db: "a" }, { writes: ["w:db:a"] }),
      step("b", "import", { db: "b" }, { writes: ["w:db:b"] }),
      step(
        "s",
        "sync",
        { db: "a", coveredBy: ["a", "b"] },
        { writes: ["w:db:a", "w:db:b"], after: ["a", "b"] },
      ),
    ]);
    const r = redoAfter(
      [
        ["a", "start", "done"],
        ["b", "start", "done"],
        ["s", "start"],
      ],
      plan,
    );
    expect([...r.undoFirst].sort()).toEqual(["a", "b"]);
    expect([...r.force.keys()].sort()).toEqual(["a", "b", "s"]);
  });

  it.each([
    [
      "the covering step is irreversible",
      () => dbPlan({ imp: { irreversible: "one way" } }),
      "imp is irreversible (one way)",
    ],
    [
      "the covering step's kind has no undo",
      () => dbPlan({ imp: { kind: "irrev" } }),
      "imp (irrev) has no undo",
    ],
    [
      "the switch has begun",
      () =>
        makePlan([
          ...dbPlan().steps,
          { ...step("sw", "set", { key: "s", value: "S" }, { writes: [kv("s")] }), phase: "switch" },
        ]),
      "the switch has begun (sw)",
    ],
  ])("no fresh start when %s: a warning, and nothing forced", (_name, mk, why) => {
    const plan = mk();
    const history: [string, ...("start" | "done")[]][] = [
      ["imp", "start", "done"],
      ["cell", "start", "done"],
      ["sync", "start"],
    ];
    if (plan.steps.some((s) => s.id === "sw")) history.push(["sw", "start", "done"]);
    const r = redoAfter(history, plan);
    expect(r.force.size).toBe(0);
    expect(r.undoFirst.size).toBe(0);
    expect(r.notes).toEqual([
      {
        stepId: "sync",
        level: "warn",
        message: expect.stringContaining(`sync was interrupted; not redone from a fresh imp, because ${why}`),
      },
    ]);
  });

  it("a coveredBy that is not among the step's ancestors is not trusted: warned, redone in place", () => {
    const plan = makePlan([
      step("imp", "import", { db: "api" }, { writes: [DB] }),
      step("sync", "sync", { db: "api", coveredBy: "imp" }, { writes: [DB] }),
    ]);
    const r = redoAfter(
      [
        ["imp", "start", "done"],
        ["sync", "start"],
      ],
      plan,
    );
    expect(r.force.size).toBe(0);
    expect(r.notes[0]).toMatchObject({ stepId: "sync", level: "warn" });
  });
});

describe("a crash at every position of the database plan", () => {
  /** Run processes over one state dir until one completes (each crash fault applies to the first process only). */
  async function untilComplete(faults: Faults): Promise<{ world: World; processes: number }> {
    const dir = newDir();
    const world: World = new Map();
    let processes = 0;
    for (let f: Faults = faults; processes < 5; f = {}) {
      processes++;
      const r = await proc(dir, world, dbPlan(), f);
      if (r.outcome === "completed") return { world, processes };
      if (r.outcome !== "crashed") throw r.outcome.failed;
    }
    throw new Error("no completion after 5 processes");
  }

  it("every journal write (torn in half): the resumed run ends in EXPECTED", async () => {
    const probe = new Harness(new Map());
    const dir = newDir();
    const journal = Journal.open({ stateDir: dir, plan: dbPlan(), io: probe.io() });
    await runPlan({
      plan: dbPlan(),
      registry: dbRegistry(probe),
      hosts: hostsFor(dbPlan()),
      journal,
      env: {},
    });
    journal.close();
    expect(probe.writes).toBeGreaterThan(10);
    for (let n = 1; n <= probe.writes; n++) {
      const r = await untilComplete({ crashAtWrite: n });
      expect(sorted(r.world), `crash at journal write ${n}`).toEqual(EXPECTED);
    }
  });

  it.each([
    ["imp", 1],
    ["cell", 1],
    ["sync", 1],
    ["sync", 2],
    ["other", 1],
    ["tail", 1],
  ])("a crash at %s's mutation %i: the resumed run ends in EXPECTED", async (stepId, mutation) => {
    const r = await untilComplete({ crashAtMutation: { stepId, mutation } });
    expect(r.processes).toBe(2);
    expect(sorted(r.world)).toEqual(EXPECTED);
  });
});
