/**
 * Real process death: a child process running the engine is SIGKILLed at several points (it holds the lock, so
 * the next process must take over a stale lock), then a new process resumes or rolls back. Complements
 * faults.test.ts, which simulates the crash in-process at every position.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readJournal } from "../../../src/engine/journal.js";
import { initialWorld, sorted } from "./harness.js";
import { tempStateDirs, uninterruptedWorld } from "./support.js";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "kill-child.ts");
const newDir = tempStateDirs();

/** Run the child; if `killOn` is given, SIGKILL it (by its pid) as soon as it prints that line. */
function runChild(
  dir: string,
  mode: "run" | "rollback",
  killOn?: string,
): Promise<{ killed: boolean; code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", child, dir, mode], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let killed = false;
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (killOn && !killed && out.split("\n").includes(killOn)) {
        killed = true;
        process.kill(p.pid!, "SIGKILL");
      }
    });
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => {
      if (!killed && code !== 0) reject(new Error(`child ${mode} exited ${code}: ${err}`));
      else resolve({ killed, code, out });
    });
  });
}

function world(dir: string): [string, string][] {
  return sorted(
    new Map(JSON.parse(fs.readFileSync(path.join(dir, "world.json"), "utf8")) as [string, string][]),
  );
}

const expectedWorld = () => uninterruptedWorld(newDir());

function newStateDir(): string {
  const dir = newDir();
  fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify([...initialWorld().entries()]));
  return dir;
}

describe("SIGKILL of a real engine process", () => {
  it.each(["start s1", "start s3", "start s4", "start s6", "start s8"])(
    "killed at '%s', a new process resumes and ends equal to an uninterrupted run",
    async (killOn) => {
      const expected = await expectedWorld();
      const dir = newStateDir();
      const first = await runChild(dir, "run", killOn);
      expect(first.killed).toBe(true);
      expect(fs.existsSync(path.join(dir, "handover.lock"))).toBe(true); // left behind by the killed process
      const second = await runChild(dir, "run");
      expect(second.out).toContain("finished");
      expect(world(dir)).toEqual(expected);
      const notes = readJournal(dir)!
        .records.filter((r) => r.type === "note")
        .map((r) => (r as { message: string }).message);
      expect(notes.some((m) => m.startsWith("took over the lock of handover run pid"))).toBe(true);
      expect(fs.existsSync(path.join(dir, "handover.lock"))).toBe(false);
    },
  );

  it.each(["start s2", "start s5", "undo s6"])(
    "killed at '%s', rollback (run again if killed) restores the initial world",
    async (killOn) => {
      const dir = newStateDir();
      if (killOn.startsWith("undo")) {
        await runChild(dir, "run");
        expect((await runChild(dir, "rollback", killOn)).killed).toBe(true);
      } else {
        expect((await runChild(dir, "run", killOn)).killed).toBe(true);
      }
      const rb = await runChild(dir, "rollback");
      expect(rb.code).toBe(0);
      expect(world(dir)).toEqual(sorted(initialWorld()));
    },
  );
});
