/**
 * Rollback of a step that did not finish waits for what its attempt started (StepImpl.awaitEarlierAttempt) before
 * undoing it: the CI case was `service rabbitmq-server start` still running on new while rollback stopped rabbitmq
 * and purged its packages under it. Steps here are of one kind, `k`: undo records `undo:<id as JSON>` in `calls`;
 * awaitEarlierAttempt records `await:<id>:<token from its undoData>` (JSON), and throws when the step's params say `stuck`.
 */
import { describe, expect, it } from "vitest";
import { Journal } from "../../../src/engine/journal.js";
import type { JsonObject, StepImpl, StepRegistry } from "../../../src/engine/step.js";
import { UserError } from "../../../src/lib/errors.js";
import { makePlan, step } from "./harness.js";
import { journalState, rollbackJournaled, tempStateDirs } from "./support.js";

const newDir = tempStateDirs();

function registry(calls: string[], withAwait = true): StepRegistry {
  const k: StepImpl = {
    kind: "k",
    run: () => Promise.resolve(),
    verify: () => Promise.resolve({ ok: true, detail: "" }),
    undo(_ctx, p) {
      calls.push(`undo:${JSON.stringify(p["id"])}`);
      return Promise.resolve();
    },
    ...(withAwait
      ? {
          awaitEarlierAttempt(_ctx: unknown, p: JsonObject, undoData: JsonObject) {
            calls.push(`await:${JSON.stringify(p["id"])}:${JSON.stringify(undoData["token"])}`);
            return p["stuck"] === true
              ? Promise.reject(new UserError("STEP_STILL_RUNNING", "still running on w"))
              : Promise.resolve();
          },
        }
      : {}),
  };
  return new Map([["k", k]]);
}

/** a done (token t-a), then b started and checkpointed token t-b, and was killed (no step-done). */
function interruptedJournal(dir: string, bParams: JsonObject = {}): void {
  const plan = makePlan([step("a", "k", {}), step("b", "k", bParams, { after: ["a"] })]);
  const j = Journal.open({ stateDir: dir, plan });
  j.append({ type: "step-start", stepId: "a", attempt: 1 });
  j.append({ type: "step-checkpoint", stepId: "a", undoData: { token: "t-a" } });
  j.append({ type: "step-done", stepId: "a", undoData: { token: "t-a" }, verify: "ok" });
  j.append({ type: "step-start", stepId: "b", attempt: 1 });
  j.append({ type: "step-checkpoint", stepId: "b", undoData: { token: "t-b" } });
  j.close();
}

describe("rollback of an interrupted step", () => {
  it("waits for its earlier attempt before undoing it, and not for done steps", async () => {
    const dir = newDir();
    interruptedJournal(dir);
    const calls: string[] = [];
    const r = await rollbackJournaled(dir, registry(calls));
    expect(r.complete).toBe(true);
    expect(calls).toEqual(['await:"b":"t-b"', 'undo:"b"', 'undo:"a"']);
  });

  it("does not undo it (nor call it undone) when its earlier attempt cannot be settled; older steps still go", async () => {
    const dir = newDir();
    interruptedJournal(dir, { stuck: true });
    const calls: string[] = [];
    const r = await rollbackJournaled(dir, registry(calls));
    expect(r.complete).toBe(false);
    expect(calls).toEqual(['await:"b":"t-b"', 'undo:"a"']);
    const b = r.outcomes.find((o) => o.stepId === "b");
    expect(b).toMatchObject({ outcome: "failed" });
    expect(b?.message).toContain("could not make sure its interrupted attempt has ended");
    expect(b?.message).toContain("still running on w");
    expect(journalState(dir).byId.get("b")?.status).toBe("undo-failed");

    // The next rollback asks again (b is still unfinished), and leaves a, already undone, alone.
    const again: string[] = [];
    const r2 = await rollbackJournaled(dir, registry(again));
    expect(r2.complete).toBe(false);
    expect(again).toEqual(['await:"b":"t-b"']);
  });

  it("a kind without awaitEarlierAttempt is undone as before", async () => {
    const dir = newDir();
    interruptedJournal(dir);
    const calls: string[] = [];
    const r = await rollbackJournaled(dir, registry(calls, false));
    expect(r.complete).toBe(true);
    expect(calls).toEqual(['undo:"b"', 'undo:"a"']);
  });
});
