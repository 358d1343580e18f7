/**
 * Fakes for the engine commands (run, status, rollback, finalize) run in-process:
 * - an answer file: templates/answers.example.yaml with state_dir pointing at a temp dir;
 * - a session whose hosts are FakeHosts and whose registry is the engine harness's world steps (test/unit/engine/
 *   harness.ts documents them) plus `file`, which writes through the host (below);
 * - a tiny plan over both (preflight, databases, configs, a switch gate, a switch step, one irreversible finalize
 *   step); a recording CliIo; a clock that advances one second per reading.
 *
 * `file` {path, content} on host "w": checkpoints whether the file existed (and its content), writes it with
 * writeFileAtomic. verify: the file holds `content`. undo: restores the previous content, or removes the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFactsFile } from "../../../src/discovery/facts-file.js";
import { expect } from "vitest";
import type { EngineCommandDeps, EngineCommandOptions } from "../../../src/cli/engine-command.js";
import type { CliIo } from "../../../src/cli/io.js";
import { exitCodeFor, renderError } from "../../../src/cli/render-error.js";
import type { EngineSession } from "../../../src/cli/session.js";
import type { Phase, Plan, PlannedStep, StepImpl, StepRegistry } from "../../../src/engine/step.js";
import type { Host } from "../../../src/hosts/host.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { Harness, step, type Faults, type World } from "../engine/harness.js";
import { labFacts } from "../plan/fixtures/lab-facts.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

export const SECRET = "hunter2-s3cret";

export interface RecordingIo extends CliIo {
  readonly out: string[];
  readonly err: string[];
  /** Called with every stdout line as it is written (lets a test act when a step starts). */
  onLine?: (line: string) => void;
}

export function recordingIo(cwd: string, isTTY = false): RecordingIo {
  const io: RecordingIo = {
    out: [],
    err: [],
    env: { HOME: "/root" },
    cwd,
    isTTY,
    stdout: (t) => {
      io.out.push(t);
      for (const l of t.split("\n")) io.onLine?.(l);
    },
    stderr: (t) => io.err.push(t),
  };
  return io;
}

const temps: string[] = [];
export function cleanupTemps(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A temp dir holding answers.yaml whose state_dir is <dir>/state. */
export function answersDir(): { dir: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), "handover-cli-"));
  temps.push(dir);
  const stateDir = join(dir, "state");
  const text = readFileSync(join(root, "templates/answers.example.yaml"), "utf8").replace(
    /^state_dir: .*$/m,
    `state_dir: ${stateDir}`,
  );
  writeFileSync(join(dir, "answers.yaml"), text);
  return { dir, stateDir };
}

function phased(s: PlannedStep, phase: Phase): PlannedStep {
  return { ...s, phase };
}

const kv = (k: string): string => `w:kv:${k}`;

export function testPlan(): Plan {
  return {
    version: 1,
    sourceRelease: "victoria",
    targetRelease: "zed",
    warnings: [],
    steps: [
      phased(step("pre.a", "set", { key: "a", value: "A" }, { writes: [kv("a")] }), "preflight"),
      phased(
        step("db.b", "set", { key: "b", value: "B" }, { writes: [kv("b")], after: ["pre.a"] }),
        "databases",
      ),
      phased(
        step(
          "db.file",
          "file",
          { path: "/etc/marker", content: "migrated" },
          { writes: ["w:file:/etc/marker"] },
        ),
        "databases",
      ),
      phased(
        step(
          "cfg.c",
          "concat",
          { from: ["a", "b"], to: "c" },
          { reads: [kv("a"), kv("b")], writes: [kv("c")], after: ["db.b"] },
        ),
        "configs",
      ),
      {
        id: "switch.confirm",
        kind: "gate.confirm",
        title: "Confirm the switch",
        phase: "switch",
        hosts: [],
        reads: [],
        writes: [],
        commands: [],
        after: ["cfg.c", "db.file"],
        params: { question: "Move 198.51.100.4 to the new controller now?", answerKey: "switch" },
      },
      phased(
        step("net.m", "set", { key: "m", value: "moved" }, { writes: [kv("m")], after: ["switch.confirm"] }),
        "switch",
      ),
      phased(
        step(
          "fin.z",
          "irrev",
          { key: "z", value: "contracted" },
          {
            writes: [kv("z")],
            after: ["net.m"],
            irreversible: "the schema no longer serves the source release",
          },
        ),
        "finalize",
      ),
    ],
  };
}

export function initialWorld(): World {
  return new Map([["a", "1"]]);
}

function fileStep(): StepImpl {
  return {
    kind: "file",
    async run(ctx, params) {
      const host = ctx.host("w");
      const path = params["path"] as string;
      const prev =
        ctx.previousUndoData ??
        ((await host.stat(path)) ? { previous: (await host.readFile(path)).toString() } : { previous: null });
      ctx.checkpoint?.(prev);
      await host.writeFileAtomic(path, params["content"] as string);
    },
    async verify(ctx, params) {
      const host = ctx.host("w");
      const path = params["path"] as string;
      const ok =
        (await host.stat(path)) !== undefined && (await host.readFile(path)).toString() === params["content"];
      return { ok, detail: ok ? `${path} written` : `${path} missing or different` };
    },
    async undo(ctx, params, undoData) {
      const host = ctx.host("w");
      const path = params["path"] as string;
      const prev = undoData["previous"];
      if (typeof prev === "string") await host.writeFileAtomic(path, prev);
      else if (prev === null) await host.removeFile(path);
    },
  };
}

export interface Fixture {
  readonly world: World;
  readonly host: FakeHost;
  harness: Harness;
  /** What confirm() answers, in order; a test fails if it is asked more often. */
  readonly answers: boolean[];
  readonly asked: string[];
  plan: () => Plan;
  registry: () => StepRegistry;
  readonly ac: AbortController;
  sessionsOpened: number;
  sessionsClosed: number;
  discoveries: number;
}

export function fixture(faults: Faults = {}): Fixture {
  const world = initialWorld();
  const fx: Fixture = {
    world,
    host: new FakeHost("w").addDir("/etc"),
    harness: new Harness(world, faults),
    answers: [],
    asked: [],
    plan: testPlan,
    registry: () => {
      const m = new Map(fx.harness.registry());
      m.set("file", fileStep());
      return m;
    },
    ac: new AbortController(),
    sessionsOpened: 0,
    sessionsClosed: 0,
    discoveries: 0,
  };
  return fx;
}

/** EngineCommandDeps over the fixture; `faults` replace the harness (a new process after a crash). */
export function depsFor(fx: Fixture): EngineCommandDeps {
  let t = Date.parse("2026-11-22T12:00:00Z");
  return {
    openSession: (): Promise<EngineSession> => {
      fx.sessionsOpened++;
      return Promise.resolve({
        hosts: new Map<string, Host>([["w", fx.host]]),
        secrets: [SECRET],
        registry: fx.registry(),
        discover: () => {
          fx.discoveries++;
          return Promise.resolve(labFacts);
        },
        close: () => {
          fx.sessionsClosed++;
          return Promise.resolve();
        },
      });
    },
    plan: () => fx.plan(),
    parseFacts: parseFactsFile,
    now: () => new Date((t += 1000)),
    confirm: (message) => {
      fx.asked.push(message);
      const a = fx.answers.shift();
      if (a === undefined) throw new Error(`unexpected confirmation: ${message}`);
      return Promise.resolve(a);
    },
    signal: fx.ac.signal,
    lock: { releaseOnExit: false },
  };
}

/** Runs a command function as runCli does: errors rendered once to stderr, exit code from the error. */
export async function invoke(io: RecordingIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    io.stderr(renderError(e, false));
    return exitCodeFor(e);
  }
}

/**
 * An engine command on answers.yaml in `dir` over fx's fakes, invoked as runCli would with a fresh recording io
 * (a terminal when `isTTY`); fails the test unless it exits with `code` (showing what it wrote to stderr).
 */
export async function exitsWith<O extends EngineCommandOptions>(
  code: number,
  command: (o: O, io: CliIo, deps: EngineCommandDeps) => Promise<number>,
  dir: string,
  fx: Fixture,
  options: Omit<O, "file"> = {} as Omit<O, "file">,
  isTTY = false,
): Promise<RecordingIo> {
  const io = recordingIo(dir, isTTY);
  const got = await invoke(io, () => command({ file: "answers.yaml", ...options } as O, io, depsFor(fx)));
  expect(got, text(io.err)).toBe(code);
  return io;
}

export function text(lines: readonly string[]): string {
  return lines.join("\n");
}
