/**
 * `handover run` in-process with a fake session (FakeHost + the engine harness's world steps): a full run, a
 * failure then a resume, the confirmation gate with and without a terminal, Ctrl-C through the injected signal,
 * refusals before anything runs (missing step kinds, changed answers), and what it prints.
 */
import { existsSync, readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCommand } from "../../../src/cli/commands/run.js";
import { acquireLock } from "../../../src/engine/lock.js";
import { Harness, sorted } from "../engine/harness.js";
import {
  SECRET,
  answersDir,
  cleanupTemps,
  depsFor,
  exitsWith,
  fixture,
  invoke,
  recordingIo,
  testPlan,
  text,
} from "./run-fakes.js";

afterEach(cleanupTemps);

describe("handover run", () => {
  it("runs every step before finalize, prints plain progress and the journal, saves the facts", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture();
    const io = recordingIo(dir);
    const code = await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, depsFor(fx)));
    expect(text(io.err)).toBe("");
    expect(code).toBe(0);
    expect(sorted(fx.world)).toEqual([
      ["a", "A"],
      ["b", "B"],
      ["c", "A+B"],
      ["m", "moved"],
    ]);
    // The finalize step (irreversible) is not part of run.
    expect(fx.world.has("z")).toBe(false);
    expect(fx.host.fileText("/etc/marker")).toBe("migrated");
    const out = text(io.out);
    expect(out).toContain("Starting victoria → zed: 6 steps");
    expect(out).toMatch(/^\d\d:\d\d:\d\d ✓ db\.b {2}\(\d+\.\ds\)$/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d ── configs$/m);
    expect(out).toContain("Run complete: 6 steps (6 ran).");
    expect(out).toContain(`Journal: ${join(stateDir, "journal.jsonl")}`);
    expect(out).toContain("handover finalize -f answers.yaml");
    expect(existsSync(join(stateDir, "facts.json"))).toBe(true);
    expect(fx.asked).toEqual([]);
    expect(fx.sessionsClosed).toBe(fx.sessionsOpened);
  });

  it("after a step fails, says how to resume or roll back; running again resumes and skips verified work", async () => {
    const { dir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "cfg.c", mutation: 1, message: `boom with ${SECRET}` } });
    const io = await exitsWith(1, runCommand, dir, fx, { yes: true });
    const err = text(io.err);
    expect(err).toContain("[STEP_FAILED]");
    expect(err).toContain("cfg.c");
    expect(err).not.toContain(SECRET);
    expect(err).toContain("handover run -f answers.yaml");
    expect(err).toContain("handover rollback -f answers.yaml");
    expect(err).toContain("Journal: ");
    expect(fx.world.has("c")).toBe(false);
    expect(fx.world.has("m")).toBe(false);

    // A new process: fresh step implementations without the fault, same world and host.
    fx.harness = new Harness(fx.world);
    const io2 = await exitsWith(0, runCommand, dir, fx, { yes: true });
    const out = text(io2.out);
    expect(out).toContain("Resuming victoria → zed: 6 steps (3 done earlier, re-verified first)");
    expect(out).toMatch(/↷ pre\.a {2}skipped: already done/);
    expect(out).toMatch(/✓ cfg\.c/);
    expect(fx.world.get("c")).toBe("A+B");
    expect(fx.world.get("m")).toBe("moved");
    // Resume plans from the facts saved at the start: no second discovery.
    expect(fx.discoveries).toBe(1);
  });

  it("without a terminal and without --yes, stops at the confirmation gate naming the flag; --yes then continues", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    const io = await exitsWith(1, runCommand, dir, fx);
    const err = text(io.err);
    expect(err).toContain("switch.confirm");
    expect(err).toContain("--yes");
    expect(err).toContain("handover run -f answers.yaml --yes");
    expect(fx.world.get("c")).toBe("A+B");
    expect(fx.world.has("m")).toBe(false);
    expect(fx.asked).toEqual([]);

    await exitsWith(0, runCommand, dir, fx, { yes: true });
    expect(fx.world.get("m")).toBe("moved");
  });

  it("on a terminal asks at the gate: no stops before the switch, yes goes on; a passed gate is not asked again", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    fx.answers.push(false);
    const io = await exitsWith(1, runCommand, dir, fx, { plain: true }, true);
    expect(fx.asked).toEqual(["Move 198.51.100.4 to the new controller now?"]);
    expect(text(io.err)).toContain("not confirmed");
    expect(fx.world.has("m")).toBe(false);

    fx.answers.push(true);
    await exitsWith(0, runCommand, dir, fx, { plain: true }, true);
    expect(fx.asked).toHaveLength(2);
    expect(fx.world.get("m")).toBe("moved");

    // Everything done: a third run verifies and skips, the gate included, without asking.
    const io3 = await exitsWith(0, runCommand, dir, fx, { plain: true }, true);
    expect(fx.asked).toHaveLength(2);
    expect(text(io3.out)).toContain("Run complete: 6 steps (0 ran, 6 already done).");
  });

  it("Ctrl-C (the injected signal) stops at a step boundary and says how to resume or roll back", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    const io = recordingIo(dir);
    // Abort as soon as db.b has started; the engine lets it finish and starts nothing new.
    io.onLine = (l) => {
      if (/▶ db\.b /.test(l)) fx.ac.abort();
    };
    expect(await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, depsFor(fx)))).toBe(1);
    const err = text(io.err);
    expect(err).toContain("[RUN_INTERRUPTED]");
    expect(err).toContain("handover run -f answers.yaml");
    expect(err).toContain("handover rollback -f answers.yaml");
    expect(fx.world.get("b")).toBe("B");
    expect(fx.world.has("c")).toBe(false);

    const again = fixture();
    const deps = depsFor({ ...fx, ac: again.ac });
    const io2 = recordingIo(dir);
    expect(await invoke(io2, () => runCommand({ file: "answers.yaml", yes: true }, io2, deps))).toBe(0);
    expect(fx.world.get("m")).toBe("moved");
  });

  it("refuses up front, changing nothing, when step kinds have no implementation", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture();
    const full = fx.registry;
    fx.registry = () => {
      const m = new Map(full());
      m.delete("concat");
      m.delete("file");
      return m;
    };
    const io = await exitsWith(1, runCommand, dir, fx, { yes: true });
    const err = text(io.err);
    expect(err).toContain("[STEPS_NOT_IMPLEMENTED]");
    expect(err).toContain("concat (cfg.c)");
    expect(err).toContain("file (db.file)");
    expect(fx.world.get("a")).toBe("1");
    expect(existsSync(join(stateDir, "journal.jsonl"))).toBe(false);
  });

  it("on resume, refuses a plan that differs from the journaled one and says the answer file changed", async () => {
    const { dir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "cfg.c", mutation: 1 } });
    await exitsWith(1, runCommand, dir, fx, { yes: true });
    fx.harness = new Harness(fx.world);
    fx.plan = () => {
      const p = testPlan();
      return {
        ...p,
        steps: p.steps.map((s) => (s.id === "db.b" ? { ...s, params: { ...s.params, value: "B2" } } : s)),
      };
    };
    const io2 = await exitsWith(1, runCommand, dir, fx, { yes: true });
    const err = text(io2.err);
    expect(err).toContain("[JOURNAL_PLAN_CHANGED]");
    expect(err).toContain("changed: db.b");
    expect(err).toContain("the answer file has changed");
    expect(fx.world.get("b")).toBe("B");
  });

  it("rejects a bad --concurrency before contacting any host", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    const io = await exitsWith(1, runCommand, dir, fx, { concurrency: "0" });
    expect(text(io.err)).toContain("[BAD_CONCURRENCY]");
    expect(fx.sessionsOpened).toBe(0);
  });

  it("journals without the answer file's secrets", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "db.b", mutation: 1, message: `password ${SECRET} rejected` } });
    const io = recordingIo(dir);
    await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, depsFor(fx)));
    const journal = readFileSync(join(stateDir, "journal.jsonl"), "utf8");
    expect(journal).toContain("rejected");
    expect(journal).not.toContain(SECRET);
  });

  it("on a terminal draws with listr2 and stops drawing while the gate question is asked", async () => {
    const { dir } = answersDir();
    const fx = fixture();
    const chunks: string[] = [];
    const term = Object.assign(
      new Writable({
        write(c: Buffer | string, _e, cb) {
          chunks.push(String(c));
          cb();
        },
      }),
      { columns: 100, isTTY: true },
    ) as unknown as NodeJS.WriteStream;
    let drawnWhenAsked = -1;
    fx.answers.push(true);
    const deps = depsFor(fx);
    const io = recordingIo(dir, true);
    const code = await invoke(io, () =>
      runCommand({ file: "answers.yaml" }, io, {
        ...deps,
        tty: term,
        confirm: async (m, sig) => {
          drawnWhenAsked = chunks.length;
          // listr2 has let go of the terminal: its last write shows the cursor again.
          expect(chunks.at(-1)).toContain("\u001b[?25h");
          const yes = await deps.confirm(m, sig);
          // Nothing drawn while the prompt owns the terminal.
          expect(chunks.length).toBe(drawnWhenAsked);
          return yes;
        },
      }),
    );
    expect(text(io.err)).toBe("");
    expect(code).toBe(0);
    const drawn = chunks.join("");
    expect(drawn).toContain("preflight");
    expect(drawn).toMatch(/✔ net\.m {2}step net\.m/);
    expect(drawnWhenAsked).toBeGreaterThan(0);
    // No plain progress lines on a terminal: only the start and the outcome.
    expect(io.out.some((l) => / ▶ /.test(l))).toBe(false);
  });

  it("--replan discovers again on resume; an identical plan carries on", async () => {
    const { dir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "cfg.c", mutation: 1 } });
    await exitsWith(1, runCommand, dir, fx, { yes: true });
    fx.harness = new Harness(fx.world);
    const io2 = recordingIo(dir);
    expect(
      await invoke(io2, () =>
        runCommand({ file: "answers.yaml", yes: true, replan: true }, io2, depsFor(fx)),
      ),
    ).toBe(0);
    expect(fx.discoveries).toBe(2);
    expect(fx.world.get("m")).toBe("moved");
  });

  it("refuses while another live handover holds the state dir's lock", async () => {
    const { dir, stateDir } = answersDir();
    const held = acquireLock({ stateDir, command: "rollback", releaseOnExit: false });
    try {
      const fx = fixture();
      const io = await exitsWith(1, runCommand, dir, fx, { yes: true });
      expect(text(io.err)).toContain("rollback");
      expect(fx.world.get("a")).toBe("1");
      expect(fx.sessionsClosed).toBe(fx.sessionsOpened);
    } finally {
      held.release();
    }
  });
});
