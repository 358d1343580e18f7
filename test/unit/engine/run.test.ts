/**
 * runPlan behaviour beyond scheduling: events, verification after run, stopping on failure, Ctrl-C, resume of
 * steps whose work was undone behind our back, redaction of step errors, finalized journals.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_FILE, Journal, finalizeJournal, readJournal } from "../../../src/engine/journal.js";
import type { EngineEvent, Plan, StepImpl } from "../../../src/engine/step.js";
import { Harness, deferred, initialWorld, makePlan, settle, sorted, step, worldPlan } from "./harness.js";
import { journalState, runJournaled, tempStateDirs } from "./support.js";
import { rejectedUserError } from "../user-error.js";

const newDir = tempStateDirs();

/** The world steps of `h` over `plan`, concurrency 2 unless given, "hunter2" a secret; events into `events`. */
function run(
  dir: string,
  plan: Plan,
  h: Harness,
  extra: { concurrency?: number; events?: EngineEvent[] } = {},
) {
  return runJournaled(dir, plan, h.registry(), {
    secrets: ["hunter2"],
    concurrency: extra.concurrency ?? 2,
    emit: (e) => extra.events?.push(e),
  });
}

describe("runPlan", () => {
  it("emits start and done for every step, and a second run skips everything after verifying it", async () => {
    const dir = newDir();
    const world = initialWorld();
    const events: EngineEvent[] = [];
    const first = await run(dir, worldPlan(), new Harness(world), { events });
    expect(first.ran.sort()).toEqual(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]);
    expect(events.filter((e) => e.type === "step-done")).toHaveLength(8);
    expect(events.filter((e) => e.type === "step-start")).toHaveLength(8);
    const snapshot = sorted(world);

    const again: EngineEvent[] = [];
    const second = await run(dir, worldPlan(), new Harness(world), { events: again });
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
    await run(dir, worldPlan(), new Harness(world));
    const expected = sorted(world);
    world.set("c", "tampered");
    world.set("h", "tampered");
    const r = await run(dir, worldPlan(), new Harness(world));
    expect(r.ran.sort()).toEqual(["s2", "s6"]);
    expect(sorted(world)).toEqual(expected);
    const text = fs.readFileSync(path.join(dir, JOURNAL_FILE), "utf8");
    expect(text).toContain("was done, but verification now fails (c differ); running it again");
  });

  it("does not redo a done step that a later done step superseded, but warns when its verify fails", async () => {
    const dir = newDir();
    const world = initialWorld();
    await run(dir, worldPlan(), new Harness(world));
    // s4 wrote e,f,g; s8 rewrote g later. Redoing s4 would clobber s8's g, so the engine leaves it and warns.
    world.set("e", "tampered");
    const r = await run(dir, worldPlan(), new Harness(world));
    expect(r.ran).toEqual([]);
    expect(world.get("g")).toBe("N");
    const warn = readJournal(dir)!.records.find((x) => x.type === "note" && x.stepId === "s4");
    expect(warn).toMatchObject({
      level: "warn",
      message: expect.stringContaining("verify fails (e,g differ), because s8"),
    });
  });

  it("fails a step whose verify fails after run, with the detail", async () => {
    const dir = newDir();
    const h = new Harness(initialWorld(), { failVerify: { stepId: "s2", detail: "row count 3 != 4" } });
    const e = await rejectedUserError(run(dir, worldPlan(), h, { concurrency: 1 }));
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
    const p = runJournaled(dir, plan, new Map([["t", impl]]), { concurrency: 2 });
    let settled = false;
    p.catch(() => undefined).finally(() => (settled = true));
    await settle();
    expect(started).toEqual(["a", "b"]);
    expect(settled).toBe(false); // b is still running
    gate.resolve();
    const e = await rejectedUserError(p);
    expect(started).toEqual(["a", "b"]);
    expect(e.message).toContain("Step a (step a) on w failed: a broke");
    const st = journalState(dir);
    expect([st.byId.get("a")?.status, st.byId.get("b")?.status, st.byId.get("c")?.status]).toEqual([
      "failed",
      "done",
      "pending",
    ]);
    expect(st.lastRun?.outcome).toBe("failed");
  });

  it("Ctrl-C stops starting steps, lets the running one finish, rejects saying how to resume; resume completes", async () => {
    const world = initialWorld();
    const dir = newDir();
    const ac = new AbortController();
    const h = new Harness(world);
    // Abort as soon as s3 starts: s3 is mid-run when the signal comes.
    const events: EngineEvent[] = [];
    const p = runJournaled(dir, worldPlan(), h.registry(), {
      concurrency: 1,
      signal: ac.signal,
      emit: (e) => {
        events.push(e);
        if (e.type === "step-start" && e.stepId === "s3") ac.abort();
      },
    });
    const e = await rejectedUserError(p);
    expect(e.code).toBe("RUN_INTERRUPTED");
    expect(e.message).toContain("3 of 8 steps are done");
    expect(e.nextSteps.join("\n")).toMatch(/handover run[\s\S]*handover rollback/);
    expect(events.filter((x) => x.type === "step-done").map((x) => x.stepId)).toEqual(["s1", "s2", "s3"]);
    expect(world.get("d")).toBe("A+C");
    expect(world.has("e")).toBe(false);

    const r = await run(dir, worldPlan(), new Harness(world));
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
    const p = runJournaled(dir, plan, new Map([["long", impl]]), { signal: ac.signal });
    await settle();
    ac.abort();
    const e = await rejectedUserError(p);
    expect(e.code).toBe("RUN_INTERRUPTED");
    const failed = readJournal(dir)!.records.find((r) => r.type === "step-failed");
    expect(failed).toMatchObject({ stepId: "long", interrupted: true, message: "aborted by operator" });
    const r = await runJournaled(dir, plan, new Map([["long", quick]]));
    expect(r.ran).toEqual(["long"]);
    expect(journalState(dir).byId.get("long")).toMatchObject({ status: "done", attempts: 2 });
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
    const e = await rejectedUserError(
      runJournaled(dir, plan, new Map([["leaky", impl]]), {
        secrets: ["hunter2"],
        emit: (x) => events.push(x),
      }),
    );
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
    const e = await rejectedUserError(runJournaled(newDir(), plan, new Map([["h", impl]])));
    expect(e.message).toContain("asked for host old, which its plan entry does not name");
  });

  it("refuses to run a finalized journal", async () => {
    const dir = newDir();
    const world = initialWorld();
    await run(dir, worldPlan(), new Harness(world));
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    finalizeJournal(j);
    j.close();
    const e = await rejectedUserError(run(dir, worldPlan(), new Harness(world)));
    expect(e.code).toBe("JOURNAL_FINALIZED");
  });

  it("rejects a concurrency below 1", async () => {
    const e = await rejectedUserError(
      run(newDir(), worldPlan(), new Harness(initialWorld()), { concurrency: 0 }),
    );
    expect(e.code).toBe("BAD_CONCURRENCY");
  });
});
