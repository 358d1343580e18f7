import { describe, expect, it } from "vitest";
import { readJournal } from "../../../src/engine/journal.js";
import { acquireLock, readLockInfo } from "../../../src/engine/lock.js";
import { openStateForWrite, readStatus } from "../../../src/engine/state-dir.js";
import { UserError } from "../../../src/lib/errors.js";
import { makePlan, step, worldPlan } from "./harness.js";
import { tempStateDirs } from "./support.js";

const newDir = tempStateDirs();
const lockOpts = { hostname: "adm", releaseOnExit: false } as const;

describe("state directory", () => {
  it("takes the lock, opens the journal, and close releases both", () => {
    const dir = newDir();
    const st = openStateForWrite({
      stateDir: dir,
      plan: worldPlan(),
      command: "run",
      lock: { ...lockOpts, pid: 10 },
    });
    expect(readLockInfo(dir)).toMatchObject({ pid: 10, command: "run" });
    st.close();
    st.close();
    expect(readLockInfo(dir)).toBeUndefined();
  });

  it("journals a note when it takes over a stale lock", () => {
    const dir = newDir();
    acquireLock({ ...lockOpts, stateDir: dir, pid: 10, command: "run" });
    const st = openStateForWrite({
      stateDir: dir,
      plan: worldPlan(),
      command: "rollback",
      lock: { ...lockOpts, pid: 11, isAlive: () => false },
    });
    st.close();
    const note = readJournal(dir)!.records.find((r) => r.type === "note");
    expect(note).toMatchObject({
      level: "warn",
      message: expect.stringContaining("took over the lock of handover run pid 10 on adm"),
    });
  });

  it("releases the lock when the journal refuses to open", () => {
    const dir = newDir();
    openStateForWrite({ stateDir: dir, plan: worldPlan(), command: "run", lock: lockOpts }).close();
    const other = makePlan([step("z", "set", {})]);
    expect(() => openStateForWrite({ stateDir: dir, plan: other, command: "run", lock: lockOpts })).toThrow(
      UserError,
    );
    expect(readLockInfo(dir)).toBeUndefined();
  });

  it("readStatus: none without a journal; locked only while the holder lives", () => {
    const dir = newDir();
    expect(readStatus(dir)).toBeUndefined();
    const st = openStateForWrite({
      stateDir: dir,
      plan: worldPlan(),
      command: "run",
      lock: { ...lockOpts, pid: 77 },
    });
    expect(readStatus(dir, { hostname: "adm", isAlive: () => true })?.lockedBy?.pid).toBe(77);
    expect(readStatus(dir, { hostname: "adm", isAlive: () => false })?.lockedBy).toBeUndefined();
    expect(readStatus(dir, { hostname: "elsewhere", isAlive: () => false })?.lockedBy?.pid).toBe(77);
    st.close();
  });
});
