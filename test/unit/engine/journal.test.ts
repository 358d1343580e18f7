import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  JOURNAL_FILE,
  Journal,
  deriveState,
  diffPlans,
  finalizeJournal,
  nodeJournalIo,
  parseJournal,
  planHash,
  readJournal,
  type JournalIo,
} from "../../../src/engine/journal.js";
import { UserError } from "../../../src/lib/errors.js";
import { makePlan, step, worldPlan } from "./harness.js";
import { tempStateDirs } from "./support.js";

const newDir = tempStateDirs();
const fixedClock = () => {
  let t = Date.UTC(2026, 10, 22, 1, 0, 0);
  return () => new Date((t += 1000));
};

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("journal writer", () => {
  it("creates journal.jsonl with the plan first, then numbered, timed records", () => {
    const dir = newDir();
    const j = Journal.open({ stateDir: dir, plan: worldPlan(), now: fixedClock() });
    j.append({ type: "step-start", stepId: "s1", attempt: 1 });
    j.append({ type: "step-done", stepId: "s1", undoData: { a: "1" }, verify: "a as expected" });
    j.close();
    const lines = fs.readFileSync(path.join(dir, JOURNAL_FILE), "utf8").split("\n");
    expect(lines[lines.length - 1]).toBe(""); // every record ends with a newline
    const recs = lines.filter(Boolean).map((l) => JSON.parse(l) as { seq: number; type: string; at: string });
    expect(recs.map((r) => [r.seq, r.type])).toEqual([
      [1, "plan"],
      [2, "step-start"],
      [3, "step-done"],
    ]);
    expect(recs[0]!.at).toBe("2026-11-22T01:00:01.000Z");
    expect((fs.statSync(path.join(dir, JOURNAL_FILE)).mode & 0o777).toString(8)).toBe("600");
  });

  it("appends to an existing journal and continues the sequence (append-only: earlier bytes unchanged)", () => {
    const dir = newDir();
    const j1 = Journal.open({ stateDir: dir, plan: worldPlan() });
    j1.append({ type: "note", level: "info", message: "first process" });
    j1.close();
    const before = fs.readFileSync(path.join(dir, JOURNAL_FILE));
    const j2 = Journal.open({ stateDir: dir, plan: worldPlan() });
    const r = j2.append({ type: "note", level: "info", message: "second process" });
    j2.close();
    expect(r.seq).toBe(3);
    const after = fs.readFileSync(path.join(dir, JOURNAL_FILE));
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
  });

  it("fdatasyncs every record before append returns", () => {
    const dir = newDir();
    const ops: string[] = [];
    const io: JournalIo = {
      ...nodeJournalIo,
      write: (fd, data) => {
        ops.push(`write:${data.toString("utf8").includes('"type":"plan"') ? "plan" : "record"}`);
        nodeJournalIo.write(fd, data);
      },
      datasync: (fd) => {
        ops.push("datasync");
        nodeJournalIo.datasync(fd);
      },
      syncDir: (d) => {
        ops.push("syncdir");
        nodeJournalIo.syncDir(d);
      },
    };
    const j = Journal.open({ stateDir: dir, plan: worldPlan(), io });
    expect(ops).toEqual(["syncdir", "write:plan", "datasync"]);
    for (let i = 0; i < 3; i++) {
      const n = ops.length;
      j.append({ type: "note", level: "info", message: `n${i}` });
      expect(ops.slice(n)).toEqual(["write:record", "datasync"]);
    }
    j.close();
  });

  it("removes secrets from every string of every record, keys included, and from text it is asked to redact", () => {
    const dir = newDir();
    const secret = "s3cr3t-Pa$$";
    const plan = makePlan([step("x", "set", { key: "k", value: secret }, { writes: ["w:kv:k"] })]);
    const j = Journal.open({ stateDir: dir, plan, secrets: [secret] });
    j.append({ type: "note", level: "warn", message: `mysql said: access denied for password ${secret}` });
    j.append({
      type: "step-done",
      stepId: "x",
      undoData: { [secret]: [secret, { deep: `x${secret}x` }] },
      verify: "ok",
    });
    j.addSecrets(["late-secret"]);
    j.append({ type: "step-failed", stepId: "x", message: "late-secret leaked?" });
    expect(j.redactText(`a ${secret} b`)).toBe("a *** b");
    j.close();
    const text = fs.readFileSync(path.join(dir, JOURNAL_FILE), "utf8");
    expect(text).not.toContain(secret);
    expect(text).not.toContain("late-secret");
    expect(text).toContain("access denied for password ***");
    expect(text).toContain('"x***x"');
  });

  it("refuses to open a journal that does not exist without a plan", () => {
    const dir = path.join(newDir(), "state");
    const e = catchError(() => Journal.open({ stateDir: dir }));
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("JOURNAL_MISSING");
    expect(fs.existsSync(dir)).toBe(false);
    expect(readJournal(dir)).toBeUndefined();
  });
});

describe("torn and damaged journals", () => {
  function writeWithTornTail(dir: string, tail: string): string {
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    j.append({ type: "step-start", stepId: "s1", attempt: 1 });
    j.close();
    const file = path.join(dir, JOURNAL_FILE);
    fs.appendFileSync(file, tail);
    return file;
  }

  it("the reader tolerates a torn last line and reports it", () => {
    const dir = newDir();
    writeWithTornTail(dir, '{"seq":3,"at":"2026-11-22T01:00:00.000Z","type":"step-do');
    const read = readJournal(dir)!;
    expect(read.records.map((r) => r.type)).toEqual(["plan", "step-start"]);
    expect(read.torn).toMatchObject({
      line: 3,
      excerpt: '{"seq":3,"at":"2026-11-22T01:00:00.000Z","type":"step-do',
    });
  });

  it("the writer cuts the torn line off, notes it, and the file is clean again", () => {
    const dir = newDir();
    const file = writeWithTornTail(dir, '{"seq":3,"at":"x","type":"st');
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    j.append({ type: "step-done", stepId: "s1", undoData: {}, verify: "ok" });
    j.close();
    const read = parseJournal(fs.readFileSync(file));
    expect(read.torn).toBeUndefined();
    expect(read.records.map((r) => [r.seq, r.type])).toEqual([
      [1, "plan"],
      [2, "step-start"],
      [3, "note"],
      [4, "step-done"],
    ]);
    expect(read.records[2]).toMatchObject({
      level: "warn",
      message: expect.stringContaining("torn last line (line 3"),
    });
  });

  it("a complete last record missing only its newline is kept, and the newline is added", () => {
    const dir = newDir();
    const file = writeWithTornTail(
      dir,
      '{"seq":3,"at":"2026-11-22T01:00:00.000Z","type":"step-failed","stepId":"s1","message":"m"}',
    );
    expect(readJournal(dir)!.missingNewline).toBe(true);
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    expect(j.state().byId.get("s1")?.status).toBe("failed");
    j.append({ type: "note", level: "info", message: "next" });
    j.close();
    expect(parseJournal(fs.readFileSync(file)).records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
  });

  it("a torn plan record (crash while creating the journal) is discarded and the plan written again", () => {
    const dir = newDir();
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), '{"seq":1,"at":"x","type":"plan","pla');
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    j.close();
    expect(readJournal(dir)!.records.map((r) => r.type)).toEqual(["plan", "note"]);
  });

  it("damage before the last line is an error naming the line", () => {
    const dir = newDir();
    const file = writeWithTornTail(dir, "garbage\n");
    fs.appendFileSync(file, '{"seq":9,"at":"x","type":"note","level":"info","message":"m"}\n');
    const e = catchError(() => readJournal(dir));
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("JOURNAL_CORRUPT");
    expect((e as UserError).message).toContain("line 3");
  });
});

describe("plan identity", () => {
  const base = worldPlan();
  const changed = makePlan([
    ...base.steps
      .filter((s) => s.id !== "s8")
      .map((s) => (s.id === "s2" ? { ...s, params: { ...s.params, value: "C2" } } : s)),
    step("s9", "set", { key: "z", value: "Z" }),
  ]);

  it("diffPlans names changed, added and removed steps", () => {
    const d = diffPlans(base, changed);
    expect(d).toMatchObject({ changed: ["s2"], added: ["s9"], removed: ["s8"], same: false });
    expect(diffPlans(base, worldPlan()).same).toBe(true);
  });

  it("a run with a different plan is refused, showing which steps changed", () => {
    const dir = newDir();
    Journal.open({ stateDir: dir, plan: base }).close();
    const e = catchError(() => Journal.open({ stateDir: dir, plan: changed }));
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("JOURNAL_PLAN_CHANGED");
    expect((e as UserError).message).toContain("changed: s2; added: s9; removed: s8");
    expect((e as UserError).nextSteps.join(" ")).toContain("handover rollback");
    // Nothing was appended by the refused open.
    expect(readJournal(dir)!.records).toHaveLength(1);
  });

  it("the same plan with different warnings or key order is the same plan", () => {
    const dir = newDir();
    Journal.open({ stateDir: dir, plan: base }).close();
    // Same content, every object's keys in reverse order.
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v !== null && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const reordered = reverseKeys(base) as typeof base;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(base));
    expect(planHash(reordered)).toBe(planHash(base));
    Journal.open({ stateDir: dir, plan: { ...reordered, warnings: ["new finding"] } }).close();
    expect(readJournal(dir)!.records).toHaveLength(1);
  });

  it("with acceptPlanChange the new plan is journaled and becomes current; old steps that ran are kept", () => {
    const dir = newDir();
    const j1 = Journal.open({ stateDir: dir, plan: base });
    j1.append({ type: "step-start", stepId: "s8", attempt: 1 });
    j1.append({ type: "step-done", stepId: "s8", undoData: { g: "0" }, verify: "ok" });
    j1.close();
    const j2 = Journal.open({ stateDir: dir, plan: changed, acceptPlanChange: true });
    const st = j2.state();
    j2.close();
    expect(st.planHash).toBe(planHash(changed));
    expect(st.plan.steps.map((s) => s.id)).toContain("s9");
    // s8 is gone from the plan but was done: rollback still needs to see it.
    expect(st.steps.map((s) => s.id)).toContain("s8");
    expect(st.byId.get("s8")?.status).toBe("done");
    expect(readJournal(dir)!.records.map((r) => r.type)).toEqual([
      "plan",
      "step-start",
      "step-done",
      "note",
      "plan",
    ]);
  });
});

describe("derived state", () => {
  it("follows each step through start, checkpoint, failure, done, undo", () => {
    const dir = newDir();
    const j = Journal.open({ stateDir: dir, plan: worldPlan() });
    j.append({ type: "step-start", stepId: "s1", attempt: 1 });
    j.append({ type: "step-checkpoint", stepId: "s1", undoData: { a: "1" } });
    expect(j.state().byId.get("s1")).toMatchObject({ status: "running", undoData: { a: "1" }, attempts: 1 });
    j.append({ type: "step-failed", stepId: "s1", message: "boom" });
    expect(j.state().byId.get("s1")).toMatchObject({
      status: "failed",
      lastError: "boom",
      undoData: { a: "1" },
    });
    j.append({ type: "step-start", stepId: "s1", attempt: 2 });
    j.append({ type: "step-done", stepId: "s1", undoData: { a: "1" }, verify: "a as expected" });
    const done = j.state().byId.get("s1")!;
    expect(done).toMatchObject({ status: "done", attempts: 2, verifyDetail: "a as expected" });
    expect(done.lastError).toBeUndefined();
    j.append({ type: "undo-start", stepId: "s1" });
    expect(j.state().byId.get("s1")?.status).toBe("undoing");
    j.append({ type: "undo-failed", stepId: "s1", message: "host down" });
    expect(j.state().byId.get("s1")).toMatchObject({ status: "undo-failed", lastError: "host down" });
    j.append({ type: "undo-done", stepId: "s1" });
    expect(j.state().byId.get("s1")?.status).toBe("undone");
    expect(j.state().byId.get("s2")?.status).toBe("pending");
    expect(j.state().finalized).toBe(false);
    j.close();
  });

  it("deriveState refuses records without a plan first", () => {
    expect(() => deriveState([])).toThrow(/plan record/);
  });
});

describe("finalize", () => {
  it("refuses while steps are not done, then marks the journal final once", () => {
    const dir = newDir();
    const plan = makePlan([step("x", "set", { key: "k", value: "v" })]);
    const j = Journal.open({ stateDir: dir, plan });
    const e1 = catchError(() => finalizeJournal(j));
    expect((e1 as UserError).code).toBe("NOT_READY_TO_FINALIZE");
    j.append({ type: "step-start", stepId: "x", attempt: 1 });
    j.append({ type: "step-done", stepId: "x", undoData: {}, verify: "ok" });
    finalizeJournal(j);
    expect(j.state().finalized).toBe(true);
    expect((catchError(() => finalizeJournal(j)) as UserError).code).toBe("ALREADY_FINALIZED");
    j.close();
  });
});
