/**
 * runPlan behaviour beyond scheduling: events, verification after run, stopping on failure, Ctrl-C, resume of
 * steps whose work was undone behind our back, redaction of step errors, finalized journals.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { JOURNAL_FILE, Journal, finalizeJournal } from "../../../src/engine/journal.js";
import { runPlan } from "../../../src/engine/run.js";
import type { EngineEvent, Plan, StepImpl } from "../../../src/engine/step.js";
import { UserError } from "../../../src/lib/errors.js";
import {
  Harness,
  deferred,
  hostsFor,
  initialWorld,
  makePlan,
  settle,
  sorted,
  step,
  tempStateDir,
  worldPlan,
} from "./harness.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function newDir(): string {
  const d = tempStateDir();
  dirs.push(d);
  return d;
}

async function rejection(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

function run(
  dir: string,
  plan: Plan,
  h: Harness,
  extra: { concurrency?: number; signal?: AbortSignal; events?: EngineEvent[] } = {},
) {
  const journal = Journal.open({ stateDir: dir, plan, secrets: ["hunter2"] });
  const p = runPlan({
    plan,
    registry: h.registry(),
    hosts: hostsFor(plan),
    journal,
    concurrency: extra.concurrency ?? 2,
    ...(extra.signal ? { signal: extra.signal } : {}),
    emit: (e) => extra.events?.push(e),
  });
  return { journal, p: p.finally(() => journal.close()) };
}

describe("runPlan", () => {
  it("emits start and done for every step, and a second run skips everything after verifying it", async () => {
    const dir = newDir();
    const world = initialWorld();
    const events: EngineEvent[] = [];
    const first = await run(dir, worldPlan(), new Harness(world), { events }).p;
    expect(first.ran.sort()).toEqual(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]);
    expect(events.filter((e) => e.type === "step-done")).toHaveLength(8);
    expect(events.filter((e) => e.type === "step-start")).toHaveLength(8);
    const snapshot = sorted(world);

    const again: EngineEvent[] = [];
    const second = await run(dir, worldPlan(), new Harness(world), { events: again }).p;
    expect(second).toEqual({ ran: [], skipped: expect.arrayContaining(["s1", "s8"]), recovered: [] });
    expect(again.filter((e) => e.type !== "log").every((e) => e.type === "step-skip")).toBe(true);
    // Superseded steps whose verify fails are shown as warnings too (s1: a, s3: reads a, s4: g).
    expect(
      again
        .filter((e) => e.type === "log")
        .map((e) => e.stepId)
        .sort(),
    ).toEqual(["s1", "s3", "s4"]);
    // s1 wrote `a`, which s7 rewrote later: its verify fails now, by design, and it must not be redone.
    expect(again.find((x) => x.stepId === "s1" && x.type === "step-skip")).toMatchObject({
      type: "step-skip",
      reason: expect.stringContaining(
        "not redone although verify fails (a differ), because s7, done after it",
      ),
    });
    expect(again.find((x) => x.stepId === "s8")).toMatchObject({
      reason: "already done (verified: g,i as expected)",
    });
    expect(sorted(world)).toEqual(snapshot);
  });

  it("redoes a done step whose verify no longer passes (someone changed the host since)", async () => {
    const dir = newDir();
    const world = initialWorld();
    await run(dir, worldPlan(), new Harness(world)).p;
    const expected = sorted(world);
    world.set("c", "tampered");
    world.set("h", "tampered");
    const r = await run(dir, worldPlan(), new Harness(world)).p;
    expect(r.ran.sort()).toEqual(["s2", "s6"]);
    expect(sorted(world)).toEqual(expected);
    const text = fs.readFileSync(path.join(dir, JOURNAL_FILE), "utf8");
    expect(text).toContain("was done, but verification now fails (c differ); running it again");
  });

  it("does not redo a done step that a later done step superseded, but warns when its verify fails", async () => {
    const dir = newDir();
    const world = initialWorld();
    await run(dir, worldPlan(), new Harness(world)).p;
    // s4 wrote e,f,g; s8 rewrote g later. Redoing s4 would clobber s8's g, so the engine leaves it and warns.
    world.set("e", "tampered");
    const r = await run(dir, worldPlan(), new Harness(world)).p;
    expect(r.ran).toEqual([]);
    expect(world.get("g")).toBe("N");
    const notes = Journal.open({ stateDir: dir, plan: worldPlan() });
    const warn = notes.all().find((x) => x.type === "note" && x.stepId === "s4");
    notes.close();
    expect(warn).toMatchObject({
      level: "warn",
      message: expect.stringContaining("verify fails (e,g differ), because s8"),
    });
  });

  it("fails a step whose verify fails after run, with the detail", async () => {
    const dir = newDir();
    const h = new Harness(initialWorld(), { failVerify: { stepId: "s2", detail: "row count 3 != 4" } });
    const e = await rejection(run(dir, worldPlan(), h, { concurrency: 1 }).p);
    expect(e.code).toBe("STEP_FAILED");
    expect(e.message).toBe("Step s2 (step s2) on w failed: ran but verification failed: row count 3 != 4");
  });

  it("on a failure starts nothing new, lets running steps finish, and journals it all", async () => {
    // a and b run together; a fails while b is still running; c (after nothing) must not start.
    const gate = deferred();
    const started: string[] = [];
    const impl: StepImpl = {
      kind: "t",
      async run(_ctx, params) {
        const id = params["id"] as string;
        started.push(id);
        if (id === "a") throw new Error("a broke");
        if (id === "b") await gate.promise;
      },
      verify: () => Promise.resolve({ ok: true, detail: "fine" }),
      undo: () => Promise.resolve(),
    };
    const plan = makePlan([
      step("a", "t", {}, { writes: ["w:x:a"] }),
      step("b", "t", {}, { writes: ["w:x:b"] }),
      step("c", "t", {}, { writes: ["w:x:c"] }),
    ]);
    const dir = newDir();
    const journal = Journal.open({ stateDir: dir, plan });
    const p = runPlan({
      plan,
      registry: new Map([["t", impl]]),
      hosts: hostsFor(plan),
      journal,
      concurrency: 2,
    });
    let settled = false;
    p.catch(() => undefined).finally(() => (settled = true));
    await settle();
    expect(started).toEqual(["a", "b"]);
    expect(settled).toBe(false); // b is still running
    gate.resolve();
    const e = await rejection(p);
    expect(started).toEqual(["a", "b"]);
    expect(e.message).toContain("Step a (step a) on w failed: a broke");
    const st = journal.state();
    expect([st.byId.get("a")?.status, st.byId.get("b")?.status, st.byId.get("c")?.status]).toEqual([
      "failed",
      "done",
      "pending",
    ]);
    expect(st.lastRun?.outcome).toBe("failed");
    journal.close();
  });

  it("Ctrl-C stops starting steps, lets the running one finish, rejects saying how to resume; resume completes", async () => {
    const world = initialWorld();
    const dir = newDir();
    const ac = new AbortController();
    const h = new Harness(world);
    // Abort as soon as s3 starts: s3 is mid-run when the signal comes.
    const events: EngineEvent[] = [];
    const journal = Journal.open({ stateDir: dir, plan: worldPlan() });
    const p = runPlan({
      plan: worldPlan(),
      registry: h.registry(),
      hosts: hostsFor(worldPlan()),
      journal,
      concurrency: 1,
      signal: ac.signal,
      emit: (e) => {
        events.push(e);
        if (e.type === "step-start" && e.stepId === "s3") ac.abort();
      },
    });
    const e = await rejection(p);
    journal.close();
    expect(e.code).toBe("RUN_INTERRUPTED");
    expect(e.message).toContain("3 of 8 steps are done");
    expect(e.nextSteps.join("\n")).toMatch(/handover run[\s\S]*handover rollback/);
    expect(events.filter((x) => x.type === "step-done").map((x) => x.stepId)).toEqual(["s1", "s2", "s3"]);
    expect(world.get("d")).toBe("A+C");
    expect(world.has("e")).toBe(false);

    const r = await run(dir, worldPlan(), new Harness(world)).p;
    expect(r.skipped.sort()).toEqual(["s1", "s2", "s3"]);
    expect(r.ran).toHaveLength(5);
  });

  it("a step that aborts on the signal is journaled as interrupted and redone on resume", async () => {
    const ac = new AbortController();
    let effects = 0;
    const impl: StepImpl = {
      kind: "long",
      async run(ctx) {
        await new Promise<void>((_res, rej) =>
          ctx.signal.addEventListener("abort", () => rej(new Error("aborted by operator"))),
        );
      },
      verify: () => Promise.resolve({ ok: effects > 0, detail: `effects=${effects}` }),
      undo: () => Promise.resolve(),
    };
    const quick: StepImpl = { ...impl, kind: "quick", run: () => Promise.resolve(void effects++) };
    const plan = makePlan([step("long", "long", {})]);
    const dir = newDir();
    const j1 = Journal.open({ stateDir: dir, plan });
    const p = runPlan({
      plan,
      registry: new Map([["long", impl]]),
      hosts: hostsFor(plan),
      journal: j1,
      signal: ac.signal,
    });
    await settle();
    ac.abort();
    const e = await rejection(p);
    expect(e.code).toBe("RUN_INTERRUPTED");
    const failed = j1.all().find((r) => r.type === "step-failed");
    expect(failed).toMatchObject({ stepId: "long", interrupted: true, message: "aborted by operator" });
    j1.close();
    const j2 = Journal.open({ stateDir: dir, plan });
    const r = await runPlan({
      plan,
      registry: new Map([["long", quick]]),
      hosts: hostsFor(plan),
      journal: j2,
    });
    expect(r.ran).toEqual(["long"]);
    expect(j2.state().byId.get("long")).toMatchObject({ status: "done", attempts: 2 });
    j2.close();
  });

  it("keeps secrets out of the operator's error, the events and the journal", async () => {
    const impl: StepImpl = {
      kind: "leaky",
      async run(ctx) {
        ctx.emit({ type: "log", level: "warn", message: "using password hunter2" });
        ctx.emit({ type: "step-progress", message: "connecting with hunter2", bytes: 10 });
        await Promise.resolve();
        throw new Error("mysql: Access denied (password: hunter2)");
      },
      verify: () => Promise.resolve({ ok: false, detail: "" }),
      undo: () => Promise.resolve(),
    };
    const plan = makePlan([step("leak", "leaky", {})]);
    const dir = newDir();
    const events: EngineEvent[] = [];
    const journal = Journal.open({ stateDir: dir, plan, secrets: ["hunter2"] });
    const e = await rejection(
      runPlan({
        plan,
        registry: new Map([["leaky", impl]]),
        hosts: hostsFor(plan),
        journal,
        emit: (x) => events.push(x),
      }),
    );
    journal.close();
    expect(e.message).toContain("Access denied (password: ***)");
    expect(JSON.stringify(events)).not.toContain("hunter2");
    expect(events.find((x) => x.type === "step-progress")).toMatchObject({
      message: "connecting with ***",
      bytes: 10,
    });
    expect(fs.readFileSync(path.join(dir, JOURNAL_FILE), "utf8")).not.toContain("hunter2");
  });

  it("gives a step only the hosts its plan entry names", async () => {
    const impl: StepImpl = {
      kind: "h",
      run(ctx) {
        ctx.host("old");
        return Promise.resolve();
      },
      verify: () => Promise.resolve({ ok: true, detail: "" }),
      undo: () => Promise.resolve(),
    };
    const plan = makePlan([step("x", "h", {}, { hosts: ["new"] })]);
    const journal = Journal.open({ stateDir: newDir(), plan });
    const e = await rejection(
      runPlan({ plan, registry: new Map([["h", impl]]), hosts: hostsFor(plan), journal }),
    );
    journal.close();
    expect(e.message).toContain("asked for host old, which its plan entry does not name");
  });

  it("refuses to run a finalized journal", async () => {
    const dir = newDir();
    const world = initialWorld();
    await run(dir, worldPlan(), new Harness(world)).p;
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    finalizeJournal(j);
    j.close();
    const e = await rejection(run(dir, worldPlan(), new Harness(world)).p);
    expect(e.code).toBe("JOURNAL_FINALIZED");
  });

  it("rejects a concurrency below 1", async () => {
    const h = new Harness(initialWorld());
    const plan = worldPlan();
    const journal = Journal.open({ stateDir: newDir(), plan });
    const e = await rejection(
      runPlan({ plan, registry: h.registry(), hosts: hostsFor(plan), journal, concurrency: 0 }),
    );
    journal.close();
    expect(e.code).toBe("BAD_CONCURRENCY");
  });
});
