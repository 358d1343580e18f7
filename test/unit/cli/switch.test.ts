/**
 * `handover switch` in-process over the engine-command fakes (run-fakes.ts): the plan function honours the
 * answers' options.switch the way buildPlan does (never: no switch steps; auto: no gate; confirm: the gate), so
 * the command's forced mode is what decides which plan is journaled.
 */
import { afterEach, describe, expect, it } from "vitest";
import { runCommand } from "../../../src/cli/commands/run.js";
import { runCli } from "../../../src/cli/run-cli.js";
import { switchCommand, switchPlanProblems } from "../../../src/cli/commands/switch.js";
import { runPart } from "../../../src/cli/session.js";
import { buildPlan } from "../../../src/plan/build.js";
import { labFacts, labInput } from "../plan/fixtures/lab-facts.js";
import { shippedCatalog } from "../plan/helpers.js";
import type { EngineCommandDeps } from "../../../src/cli/engine-command.js";
import { deriveState, readJournal } from "../../../src/engine/journal.js";
import type { Plan } from "../../../src/engine/step.js";
import {
  answersDir,
  cleanupTemps,
  depsFor,
  fixture,
  invoke,
  recordingIo,
  testPlan,
  text,
  type Fixture,
} from "./run-fakes.js";

afterEach(cleanupTemps);

type Mode = "auto" | "confirm" | "never";

/** testPlan as buildPlan would shape it for each switch mode. */
function planFor(mode: Mode): Plan {
  const p = testPlan();
  const steps = p.steps
    .filter((s) => !(s.id === "switch.confirm" && mode !== "confirm"))
    .filter((s) => !(s.phase === "switch" && mode === "never"))
    .map((s) => {
      if (s.id === "net.m" && mode === "auto") return { ...s, after: ["cfg.c", "db.file"] };
      if (s.id === "fin.z" && mode === "never") return { ...s, after: ["cfg.c", "db.file"] };
      return s;
    });
  return { ...p, steps, warnings: mode === "never" ? ["switch: never"] : [] };
}

/** Deps whose plan follows the (possibly forced) answers. */
function modeDeps(fx: Fixture, tweak: (p: Plan) => Plan = (p) => p): EngineCommandDeps {
  return { ...depsFor(fx), plan: (run) => tweak(planFor(run.answers.options.switch)) };
}

async function neverRun(): Promise<{ dir: string; stateDir: string; fx: Fixture }> {
  const { dir, stateDir } = answersDir();
  const fx = fixture();
  const io = recordingIo(dir);
  const deps: EngineCommandDeps = { ...depsFor(fx), plan: () => planFor("never") };
  expect(await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, deps))).toBe(0);
  expect(fx.world.has("m")).toBe(false);
  return { dir, stateDir, fx };
}

const journalIds = (stateDir: string): string[] =>
  deriveState(readJournal(stateDir)!.records).plan.steps.map((s) => s.id);

describe("handover switch", () => {
  it("after a switch: never run, --yes adds the switch steps (auto, no gate), runs them and says what to set", async () => {
    const { dir, stateDir, fx } = await neverRun();
    const io = recordingIo(dir);
    expect(await invoke(io, () => switchCommand({ file: "answers.yaml", yes: true }, io, modeDeps(fx)))).toBe(
      0,
    );
    expect(fx.world.get("m")).toBe("moved");
    expect(fx.asked).toEqual([]);
    expect(journalIds(stateDir)).toContain("net.m");
    expect(journalIds(stateDir)).not.toContain("switch.confirm");
    const out = text(io.out);
    expect(out).toContain("Adding the switch to the journaled plan (1 step(s), switch mode auto)");
    expect(out).toMatch(/Run complete: 5 steps \(1 ran, 4 already done\)/);
    expect(out).toContain("set options.switch: auto in answers.yaml");
  });

  it("on a terminal without --yes, adds the gate too and asks; a no moves nothing", async () => {
    const { dir, fx } = await neverRun();
    fx.answers.push(false);
    const io = recordingIo(dir, true);
    expect(
      await invoke(io, () => switchCommand({ file: "answers.yaml", plain: true }, io, modeDeps(fx))),
    ).toBe(1);
    expect(fx.asked).toEqual(["Move 198.51.100.4 to the new controller now?"]);
    expect(fx.world.has("m")).toBe(false);
    expect(text(io.err)).toContain("not confirmed");

    // The declined confirmation is resumed by switch again (same mode, gate asked again).
    fx.answers.push(true);
    const io2 = recordingIo(dir, true);
    expect(
      await invoke(io2, () => switchCommand({ file: "answers.yaml", plain: true }, io2, modeDeps(fx))),
    ).toBe(0);
    expect(text(io2.out)).toContain("already has the switch (mode confirm)");
    expect(fx.world.get("m")).toBe("moved");
  });

  it("a declined confirm of a switch: confirm run is passed with --yes without a terminal (the gate stays)", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture();
    fx.answers.push(false);
    const io = recordingIo(dir, true);
    const deps = modeDeps(fx);
    await invoke(io, () => runCommand({ file: "answers.yaml", plain: true }, io, deps));
    expect(fx.world.has("m")).toBe(false);
    const io2 = recordingIo(dir);
    expect(await invoke(io2, () => switchCommand({ file: "answers.yaml", yes: true }, io2, deps))).toBe(0);
    expect(fx.world.get("m")).toBe("moved");
    expect(journalIds(stateDir)).toContain("switch.confirm");
    // The answer file already says confirm: no note.
    expect(text(io2.out)).not.toContain("set options.switch");
  });

  it("without a terminal and without --yes refuses before contacting anything", async () => {
    const { dir, fx } = await neverRun();
    const opened = fx.sessionsOpened;
    const io = recordingIo(dir);
    expect(await invoke(io, () => switchCommand({ file: "answers.yaml" }, io, modeDeps(fx)))).toBe(1);
    expect(text(io.err)).toContain("[SWITCH_NEEDS_YES]");
    expect(fx.sessionsOpened).toBe(opened);
  });

  it("refuses when anything but switch steps differs (the answers changed), touching nothing", async () => {
    const { dir, stateDir, fx } = await neverRun();
    const before = journalIds(stateDir);
    const io = recordingIo(dir);
    const changed = (p: Plan): Plan => ({
      ...p,
      steps: p.steps.map((s) => (s.id === "db.b" ? { ...s, params: { ...s.params, value: "B2" } } : s)),
    });
    expect(
      await invoke(io, () => switchCommand({ file: "answers.yaml", yes: true }, io, modeDeps(fx, changed))),
    ).toBe(1);
    expect(text(io.err)).toContain("[SWITCH_PLAN_CHANGED]");
    expect(text(io.err)).toContain("1 journaled step(s) would change (db.b)");
    expect(fx.world.has("m")).toBe(false);
    expect(journalIds(stateDir)).toEqual(before);
  });

  it("refuses with no journal", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    const io = recordingIo(dir);
    expect(await invoke(io, () => switchCommand({ file: "answers.yaml", yes: true }, io, modeDeps(fx)))).toBe(
      1,
    );
    expect(text(io.err)).toContain("[JOURNAL_MISSING]");
    expect(fx.sessionsOpened).toBe(0);
  });
});

describe("handover switch through runCli (registered, refuses before any host)", () => {
  it("no journal: JOURNAL_MISSING, exit 1", async () => {
    const { dir } = answersDir();
    const io = recordingIo(dir);
    expect(await runCli(["switch", "-f", "answers.yaml", "--yes"], io)).toBe(1);
    expect(text(io.err)).toContain("[JOURNAL_MISSING]");
  });

  it("a journal but no terminal and no --yes: SWITCH_NEEDS_YES", async () => {
    const { dir } = await neverRun();
    const io = recordingIo(dir);
    expect(await runCli(["switch", "-f", "answers.yaml"], io)).toBe(1);
    expect(text(io.err)).toContain("[SWITCH_NEEDS_YES]");
  });
});

describe("switchPlanProblems", () => {
  // As journaled by `run`: without the finalize phase.
  const never = runPart(planFor("never"));
  it("accepts added switch steps only", () => {
    expect(switchPlanProblems(never, runPart(planFor("confirm")))).toEqual([]);
    expect(switchPlanProblems(never, runPart(planFor("auto")))).toEqual([]);
  });
  it("names dropped, changed and non-switch added steps, and another release pair", () => {
    const next: Plan = {
      ...never,
      targetRelease: "2023.1",
      steps: [
        ...never.steps
          .filter((s) => s.id !== "pre.a")
          .map((s) => (s.id === "cfg.c" ? { ...s, title: "x" } : s)),
        { ...never.steps[0]!, id: "db.extra", phase: "databases" },
      ],
    };
    const p = switchPlanProblems(never, next).join("\n");
    expect(p).toContain("releases differ");
    expect(p).toContain("dropped (pre.a)");
    expect(p).toContain("would change (cfg.c)");
    expect(p).toContain("outside the switch would be added (db.extra)");
  });
  it("the real planner: never -> auto and never -> confirm only add switch steps (lab facts)", () => {
    const real = (mode: Mode): Plan =>
      runPart(
        buildPlan(
          { ...labInput, options: { ...labInput.options, switch: mode } },
          labFacts,
          shippedCatalog(),
        ),
      );
    const base = real("never");
    for (const mode of ["auto", "confirm"] as const) {
      const next = real(mode);
      expect(switchPlanProblems(base, next), mode).toEqual([]);
      expect(next.steps.length).toBeGreaterThan(base.steps.length);
    }
  });
  it("a plan without any switch step is not a switch", () => {
    expect(switchPlanProblems(never, never)).toEqual([
      "the plan has no switch steps (no networks to move in the answer file?)",
    ]);
  });
});
