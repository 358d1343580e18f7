/**
 * The crash-test hook HANDOVER_TEST_PAUSE (src/engine/test-pause.ts): parsing (exact match only, garbage ignored
 * with a warning), the pause itself in-process with a fake PauseIo (journal at the pause, nothing starts after
 * it, a new engine over the same journal redoes or recovers the step), and once with a real process that is
 * SIGKILLed by its pid when its marker file appears.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Journal, readJournal, type JournalRecord } from "../../../src/engine/journal.js";
import { runPlan } from "../../../src/engine/run.js";
import type { EngineEvent } from "../../../src/engine/step.js";
import {
  TEST_PAUSE_FILE_VAR,
  TEST_PAUSE_VAR,
  parseTestPause,
  type PauseEnv,
  type PauseIo,
} from "../../../src/engine/test-pause.js";
import {
  Harness,
  deferred,
  hostsFor,
  initialWorld,
  settle,
  sorted,
  worldPlan,
  type World,
} from "./harness.js";
import { runWorld, tempStateDirs, uninterruptedWorld } from "./support.js";

const newDir = tempStateDirs();

const IDS = new Set(worldPlan().steps.map((s) => s.id));

describe("parseTestPause", () => {
  it("does nothing when unset or empty", () => {
    expect(parseTestPause({}, IDS)).toEqual({});
    expect(parseTestPause({ [TEST_PAUSE_VAR]: "" }, IDS)).toEqual({});
  });

  it("accepts exactly <stepId>:<before-run|after-run>, with an optional absolute marker path", () => {
    expect(parseTestPause({ [TEST_PAUSE_VAR]: "s3:before-run" }, IDS)).toEqual({
      pause: { stepId: "s3", point: "before-run" },
    });
    expect(
      parseTestPause({ [TEST_PAUSE_VAR]: "s8:after-run", [TEST_PAUSE_FILE_VAR]: "/tmp/x/marker" }, IDS),
    ).toEqual({ pause: { stepId: "s8", point: "after-run", markerFile: "/tmp/x/marker" } });
  });

  it.each([
    ["s3", "expected <stepId>:<before-run|after-run>"],
    [":before-run", "expected <stepId>:<before-run|after-run>"],
    ["s3:middle", "the point must be one of before-run, after-run"],
    ["s3:Before-run", "the point must be one of before-run, after-run"],
    ["s3 :before-run", 'no step of this plan has the id "s3 "'],
    ["S3:before-run", 'no step of this plan has the id "S3"'],
    ["nope:after-run", 'no step of this plan has the id "nope"'],
  ])("ignores %j with a warning", (value, why) => {
    const r = parseTestPause({ [TEST_PAUSE_VAR]: value }, IDS);
    expect(r.pause).toBeUndefined();
    expect(r.warning).toBe(`${TEST_PAUSE_VAR}=${JSON.stringify(value)} ignored: ${why}`);
  });

  it("ignores a relative marker path, and a marker path without a pause, with a warning", () => {
    const rel = parseTestPause({ [TEST_PAUSE_VAR]: "s3:before-run", [TEST_PAUSE_FILE_VAR]: "m" }, IDS);
    expect(rel.pause).toBeUndefined();
    expect(rel.warning).toContain(`${TEST_PAUSE_FILE_VAR} must be an absolute path`);
    const alone = parseTestPause({ [TEST_PAUSE_FILE_VAR]: "/tmp/m" }, IDS);
    expect(alone.pause).toBeUndefined();
    expect(alone.warning).toContain(`${TEST_PAUSE_FILE_VAR} is set without ${TEST_PAUSE_VAR}`);
  });
});

/** A PauseIo that records what the pause did and never lets the paused engine go on. */
function fakePauseIo(): PauseIo & {
  stderrText: string[];
  markers: Map<string, string>;
  reached: Promise<void>;
  waits: number;
} {
  const reached = deferred();
  const io = {
    stderrText: [] as string[],
    markers: new Map<string, string>(),
    reached: reached.promise,
    waits: 0,
    stderr(text: string) {
      io.stderrText.push(text);
    },
    writeMarker(file: string, content: string) {
      io.markers.set(file, content);
    },
    wait() {
      io.waits++;
      reached.resolve();
      return new Promise<never>(() => undefined);
    },
  };
  return io;
}

/** Run until the pause, then "kill": the harness's journal io and world stop taking writes, as a dead process. */
async function runToPause(dir: string, world: World, env: PauseEnv) {
  const plan = worldPlan();
  const h = new Harness(world);
  const journal = Journal.open({ stateDir: dir, plan, io: h.io() });
  const io = fakePauseIo();
  const p = runPlan({
    plan,
    registry: h.registry(),
    hosts: hostsFor(plan),
    journal,
    concurrency: 2,
    env,
    pauseIo: io,
  });
  p.catch(() => undefined);
  await io.reached;
  // Steps already running when the pause came may still finish (the real process would not be killed yet).
  await settle(10);
  const records = [...journal.all()];
  h.crashed = true; // SIGKILL: from here nothing the abandoned engine does reaches the journal or the world
  journal.close();
  return { io, records };
}

function stepRecords(records: readonly JournalRecord[], id: string): string[] {
  return records
    .filter((r) => "stepId" in r && r.stepId === id && r.type !== "note" && r.type !== "step-checkpoint")
    .map((r) => r.type);
}

async function resume(dir: string, world: World) {
  const events: EngineEvent[] = [];
  const summary = await runWorld(dir, worldPlan(), world, { env: {}, emit: (e) => events.push(e) });
  return { summary, records: readJournal(dir)!.records, events };
}

describe("HANDOVER_TEST_PAUSE in runPlan", () => {
  it("before-run: pauses with step-start journaled and run() not called; a new engine redoes the step", async () => {
    const expected = await uninterruptedWorld(newDir());
    const dir = newDir();
    const world = initialWorld();
    const marker = path.join(dir, "paused");
    const { io, records } = await runToPause(dir, world, {
      [TEST_PAUSE_VAR]: "s3:before-run",
      [TEST_PAUSE_FILE_VAR]: marker,
    });
    expect(io.waits).toBe(1);
    expect(io.stderrText).toEqual(["handover: test pause at s3:before-run\n"]);
    const m = JSON.parse(io.markers.get(marker)!) as { stepId: string; point: string; journalSeq: number };
    expect(m).toMatchObject({ stepId: "s3", point: "before-run" });
    expect(stepRecords(records, "s3")).toEqual(["step-start"]);
    expect(world.has("d")).toBe(false); // s3 writes d: its run never began
    // The marker names a journal position at which s3 had started; nothing started after the pause.
    const pauseNote = records.find((r) => r.type === "note" && r.message.startsWith("test pause at s3"))!;
    expect(m.journalSeq).toBe(pauseNote.seq);
    expect(records.filter((r) => r.type === "step-start" && r.seq > pauseNote.seq)).toEqual([]);

    const r = await resume(dir, world);
    expect(r.summary.ran).toContain("s3");
    expect(stepRecords(r.records, "s3")).toEqual(["step-start", "step-start", "step-done"]);
    expect(sorted(world)).toEqual(expected);
  });

  it("after-run: pauses after run() with step-done not journaled; a new engine verifies and recovers it", async () => {
    const expected = await uninterruptedWorld(newDir());
    const dir = newDir();
    const world = initialWorld();
    const { records } = await runToPause(dir, world, { [TEST_PAUSE_VAR]: "s6:after-run" });
    expect(stepRecords(records, "s6")).toEqual(["step-start"]);
    expect(world.get("h")).toBe("A+C+B2"); // s6's run did its work
    const r = await resume(dir, world);
    expect(r.summary.recovered).toEqual(["s6"]);
    expect(stepRecords(r.records, "s6")).toEqual(["step-start", "step-done"]);
    expect(r.events).toContainEqual(
      expect.objectContaining({
        type: "step-skip",
        stepId: "s6",
        reason: expect.stringContaining("completed before the interruption"),
      }),
    );
    expect(sorted(world)).toEqual(expected);
  });

  it("garbage in the variable never pauses: the run completes and the journal says why it was ignored", async () => {
    const dir = newDir();
    const world = initialWorld();
    const io = fakePauseIo();
    const events: EngineEvent[] = [];
    await runWorld(dir, worldPlan(), world, {
      env: { [TEST_PAUSE_VAR]: "s3:before_run" },
      pauseIo: io,
      emit: (e) => events.push(e),
    });
    const notes = readJournal(dir)!.records.filter((r) => r.type === "note");
    expect(io.waits).toBe(0);
    expect(io.stderrText).toEqual([]);
    expect(notes).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: `${TEST_PAUSE_VAR}="s3:before_run" ignored: the point must be one of before-run, after-run`,
      }),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: "log", level: "warn" }));
  });
});

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "kill-child.ts");

describe("HANDOVER_TEST_PAUSE in a real process", () => {
  it("pauses, writes the marker, is SIGKILLed at it, and a new process finishes equal to an uninterrupted run", async () => {
    const expected = await uninterruptedWorld(newDir());
    const dir = newDir();
    fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify([...initialWorld().entries()]));
    const marker = path.join(dir, "paused.json");
    const env = { ...process.env, [TEST_PAUSE_VAR]: "s4:before-run", [TEST_PAUSE_FILE_VAR]: marker };
    const first = await new Promise<{
      signal: NodeJS.Signals | null;
      stderr: string;
      atKill: JournalRecord[];
    }>((resolve, reject) => {
      const p = spawn(process.execPath, ["--import", "tsx", child, dir, "run"], {
        stdio: ["ignore", "pipe", "pipe"],
        env,
      });
      let stderr = "";
      let atKill: JournalRecord[] = [];
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      // Poll for the marker (the child does not exit by itself: it waits to be killed).
      const timer = setInterval(() => {
        if (!fs.existsSync(marker)) return;
        clearInterval(timer);
        atKill = readJournal(dir)!.records;
        process.kill(p.pid!, "SIGKILL");
      }, 20);
      p.on("error", reject);
      p.on("exit", (_code, signal) => {
        clearInterval(timer);
        resolve({ signal, stderr, atKill });
      });
    });
    expect(first.signal).toBe("SIGKILL");
    expect(first.stderr).toContain("handover: test pause at s4:before-run\n");
    expect(JSON.parse(fs.readFileSync(marker, "utf8"))).toMatchObject({ stepId: "s4", point: "before-run" });
    expect(stepRecords(first.atKill, "s4")).toEqual(["step-start"]);

    const second = await new Promise<number | null>((resolve, reject) => {
      const env2 = { ...process.env };
      delete env2[TEST_PAUSE_VAR];
      delete env2[TEST_PAUSE_FILE_VAR];
      const p = spawn(process.execPath, ["--import", "tsx", child, dir, "run"], {
        stdio: "ignore",
        env: env2,
      });
      p.on("error", reject);
      p.on("exit", (code) => resolve(code));
    });
    expect(second).toBe(0);
    const world = new Map(
      JSON.parse(fs.readFileSync(path.join(dir, "world.json"), "utf8")) as [string, string][],
    );
    expect(sorted(world)).toEqual(expected);
    const s4 = stepRecords(readJournal(dir)!.records, "s4");
    expect(s4).toEqual(["step-start", "step-start", "step-done"]);
  });
});
