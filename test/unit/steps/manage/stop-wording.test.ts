/**
 * svc.manage and the operator's stop (Ctrl-C = the run's AbortSignal): a stop before a tool starts is said as
 * "stopped on request before `<tool>` started", never as a failed verification, and the step stays interrupted
 * (not done) in the journal so that a resume verifies it and redoes it if need be. A tool without a separate
 * check (its exit is the verdict: provenByRun) that finished under a stop is simply done.
 *
 * FakeHost `new` answers the tool's su command with exit 0; where a test needs the stop "while the tool runs", the
 * handler aborts the controller before answering (the tool is not killed: it finishes, as the step's design says).
 */
import { describe, expect, it } from "vitest";
import { readJournal } from "../../../../src/engine/journal.js";
import type { Plan, StepImpl } from "../../../../src/engine/step.js";
import { manageStep } from "../../../../src/steps/manage/manage.js";
import { asUserArgv } from "../../../../src/steps/manage/as-user.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { makePlan } from "../../engine/harness.js";
import { runJournaled, tempStateDirs } from "../../engine/support.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";
import { rejectedUserError } from "../../user-error.js";

const step = manageStep(makeDeps(new FakeSql()));
const sync = { service: "nova", argv: ["nova-manage", "db", "sync"], user: "nova", okExit: [0] };
const expand = {
  service: "keystone",
  argv: ["keystone-manage", "db_sync", "--expand"],
  user: "keystone",
  okExit: [0],
};

/** `new` runs `argv` as `user` with exit 0, calling `during` first (the stop arriving while the tool runs). */
function toolHost(argv: string[], user: string, during: () => void = () => undefined): FakeHost {
  const neu = new FakeHost("new", { unmatched: "throw" });
  neu.on(asUserArgv(user, argv), () => {
    during();
    return { exitCode: 0 };
  });
  return neu;
}

const toolRuns = (h: FakeHost) => h.commandLines().filter((l) => l.startsWith("su ")).length;

describe("svc.manage stopped on request", () => {
  it("a stop before the tool started says so and starts nothing", async () => {
    const neu = toolHost(sync.argv, "nova");
    const h = makeCtx({ new: neu });
    h.abort.abort();
    const e = await rejectedUserError(step.run(h.ctx, sync));
    expect(e.code).toBe("ABORTED");
    expect(e.message).toBe("nova: stopped on request before `nova-manage db sync` started");
    expect(toolRuns(neu)).toBe(0);
  });

  it("a stop while the tool ran: the tool finishes, its check is not started, and the message names the check", async () => {
    let h = makeCtx({});
    const neu = toolHost(["keystone-manage", "db_sync", "--expand"], "keystone", () => h.abort.abort());
    h = makeCtx({ new: neu });
    const e = await rejectedUserError(step.run(h.ctx, expand));
    expect(e.code).toBe("ABORTED");
    expect(e.message).toBe(
      "keystone: stopped on request before `keystone-manage db_sync --check` started to verify `keystone-manage db_sync --expand` (which exited 0)",
    );
    expect(toolRuns(neu)).toBe(1);
    // The token is journaled before the tool ran, so a resume can find a still-running attempt.
    expect(h.checkpoints[0]).toHaveProperty("token");
  });

  it("a stop while a tool without a separate check ran: its exit is the verdict, the step is done", async () => {
    let h = makeCtx({});
    const neu = toolHost(sync.argv, "nova", () => h.abort.abort());
    h = makeCtx({ new: neu });
    expect(step.provenByRun?.(sync)).toBe(true);
    expect(await step.run(h.ctx, sync)).toMatchObject({ exitCode: 0, runs: 1 });
    expect(toolRuns(neu)).toBe(1);
  });

  it("verify under a stop throws the stop instead of reporting the work as not verified", async () => {
    const neu = toolHost(sync.argv, "nova");
    const h = makeCtx({ new: neu });
    h.abort.abort();
    await expect(step.verify(h.ctx, sync)).rejects.toThrow(
      "nova: stopped on request before `nova-manage db sync` started",
    );
    expect(toolRuns(neu)).toBe(0);
  });

  it("without a stop, a failing check is still a failed verification", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.on(asUserArgv("nova", sync.argv), { exitCode: 1 });
    neu.on(["sh", "-c", /ls -t/, "sh", "/var/log/nova"], { stdout: "" });
    const v = await step.verify(makeCtx({ new: neu }).ctx, sync);
    expect(v.ok).toBe(false);
  });
});

describe("svc.manage stopped on request, through the engine", () => {
  const newDir = tempStateDirs();

  it("journals the step as interrupted with the stop's wording, not 'verification failed'; a resume recovers it", async () => {
    const dir = newDir();
    const check = ["keystone-manage", "db_sync", "--check"];
    const plan: Plan = makePlan([
      {
        id: "svc.keystone.expand",
        kind: "svc.manage",
        title: "keystone db_sync --expand",
        phase: "databases",
        hosts: ["new"],
        reads: [],
        writes: [],
        commands: [],
        after: [],
        irreversible: "covered by the import's undo",
        params: expand,
      },
    ]);
    const registry = new Map<string, StepImpl>([["svc.manage", step]]);
    const stop = new AbortController();
    const neu = toolHost(expand.argv, "keystone", () => stop.abort());
    const e = await rejectedUserError(
      runJournaled(dir, plan, registry, { hosts: new Map([["new", neu]]), signal: stop.signal }),
    );
    expect(e.code).toBe("RUN_INTERRUPTED");
    const failed = readJournal(dir)!.records.find((r) => r.type === "step-failed");
    expect(failed).toMatchObject({
      stepId: "svc.keystone.expand",
      interrupted: true,
      message:
        "keystone: stopped on request before `keystone-manage db_sync --check` started to verify `keystone-manage db_sync --expand` (which exited 0)",
    });
    expect(JSON.stringify(failed)).not.toContain("verification failed");
    expect(toolRuns(neu)).toBe(1);

    // Resume without a stop: verify finds the work done and records it as recovered, running nothing but the check.
    const resumed = toolHost(check, "keystone");
    const summary = await runJournaled(dir, plan, registry, { hosts: new Map([["new", resumed]]) });
    expect(summary.recovered).toEqual(["svc.keystone.expand"]);
    expect(toolRuns(resumed)).toBe(1);
  });
});
