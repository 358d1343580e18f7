import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_FILE, acquireLock, pidIsAlive, readLockInfo } from "../../../src/engine/lock.js";
import { tempStateDirs } from "./support.js";
import { thrownUserError } from "../user-error.js";

const newDir = tempStateDirs();
const base = { hostname: "ctl-admin", releaseOnExit: false } as const;

describe("state directory lock", () => {
  it("writes pid, hostname and start time, and release removes it", () => {
    const dir = newDir();
    const lock = acquireLock({
      ...base,
      stateDir: dir,
      pid: 4242,
      command: "run",
      now: () => new Date("2026-11-22T01:00:00Z"),
    });
    expect(readLockInfo(dir)).toEqual({
      pid: 4242,
      hostname: "ctl-admin",
      startedAt: "2026-11-22T01:00:00.000Z",
      command: "run",
    });
    expect(lock.tookOverFrom).toBeUndefined();
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    lock.release(); // idempotent
  });

  it("refuses a second writer while the holder is alive, saying who holds it and what to do", () => {
    const dir = newDir();
    const first = acquireLock({ ...base, stateDir: dir, pid: 100, command: "run" });
    const e = thrownUserError(() =>
      acquireLock({ ...base, stateDir: dir, pid: 200, isAlive: (pid) => pid === 100 }),
    );
    expect(e.code).toBe("STATE_LOCKED");
    expect(e.message).toContain("handover run (pid 100 on ctl-admin");
    expect(e.nextSteps.join(" ")).toMatch(/Wait for it to finish/);
    // The holder's lock is untouched.
    expect(readLockInfo(dir)?.pid).toBe(100);
    first.release();
  });

  it("takes over a stale lock (dead pid) and reports whom it replaced", () => {
    const dir = newDir();
    acquireLock({ ...base, stateDir: dir, pid: 100, command: "run" }); // never released: the process was killed
    const second = acquireLock({ ...base, stateDir: dir, pid: 200, isAlive: () => false });
    expect(second.tookOverFrom?.pid).toBe(100);
    expect(readLockInfo(dir)?.pid).toBe(200);
    second.release();
    expect(readLockInfo(dir)).toBeUndefined();
  });

  it("refuses a lock held from another host, whose pid it cannot check", () => {
    const dir = newDir();
    acquireLock({ ...base, stateDir: dir, pid: 100, hostname: "other-box" });
    const e = thrownUserError(() => acquireLock({ ...base, stateDir: dir, pid: 200, isAlive: () => false }));
    expect(e.message).toContain("another machine");
    expect(e.nextSteps[0]).toContain("other-box");
  });

  it("refuses an unreadable lock file rather than guessing", () => {
    const dir = newDir();
    fs.writeFileSync(path.join(dir, LOCK_FILE), "");
    const e = thrownUserError(() => acquireLock({ ...base, stateDir: dir, isAlive: () => false }));
    expect(e.message).toContain("cannot be read");
  });

  it("release does not remove a lock that is no longer ours", () => {
    const dir = newDir();
    const mine = acquireLock({ ...base, stateDir: dir, pid: 100 });
    // An operator removed it and another run took it.
    fs.rmSync(path.join(dir, LOCK_FILE));
    const theirs = acquireLock({ ...base, stateDir: dir, pid: 300 });
    mine.release();
    expect(readLockInfo(dir)?.pid).toBe(300);
    theirs.release();
  });

  it("registers an exit hook that release removes", () => {
    const dir = newDir();
    const before = process.listenerCount("exit");
    const lock = acquireLock({ stateDir: dir, hostname: "h" });
    expect(process.listenerCount("exit")).toBe(before + 1);
    lock.release();
    expect(process.listenerCount("exit")).toBe(before);
  });

  it("pidIsAlive sees this process alive and a reaped child dead", async () => {
    expect(pidIsAlive(process.pid)).toBe(true);
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const pid = child.pid!;
    await new Promise((r) => child.on("exit", r));
    expect(pidIsAlive(pid)).toBe(false);
  });
});
