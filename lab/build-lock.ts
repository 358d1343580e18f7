/**
 * One cache builder at a time: two `lab up` runs (two helpers, a test and a demo) would otherwise build the same
 * layers twice on 2 cores. The lock is a file holding the builder's PID, created exclusively; a lock whose PID
 * is gone is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR } from "./paths.js";
import { say } from "./progress.js";

const LOCK = join(CACHE_DIR, "build.lock");

function holder(): number | undefined {
  try {
    const pid = Number(readFileSync(LOCK, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(CACHE_DIR, { recursive: true });
  let told = false;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: "wx" });
      break;
    } catch {
      const pid = holder();
      if (pid === undefined || !alive(pid)) {
        rmSync(LOCK, { force: true });
        continue;
      }
      if (!told) say(`waiting for another lab cache build (pid ${pid}) to finish`);
      told = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    if (holder() === process.pid) rmSync(LOCK, { force: true });
  }
}
