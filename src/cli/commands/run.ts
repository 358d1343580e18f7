/**
 * `handover run -f answers.yaml [--yes] [--plain] [--concurrency N] [--replan] [--accept-plan-change]`: executes
 * the plan (all but the finalize phase, see session.ts) through the engine, journaling every step in the answers'
 * state_dir. Running it again after a failure, a crash or Ctrl-C resumes from the journal.
 *
 * Planning: a new migration discovers facts (read-only), builds the plan and saves the facts in the state dir. A
 * resumed one rebuilds the plan from the saved facts and the answers; the journal's plan is authoritative, so if
 * the rebuilt plan differs (the answers changed) the run is refused with the engine's diff. `--replan` discovers
 * afresh instead (and then usually needs `--accept-plan-change`: the hosts are mid-migration).
 *
 * Without a terminal nothing is asked: a confirmation gate in the plan passes with --yes, and otherwise the run
 * stops at the gate (journaled, resumable) with a message naming the flag.
 */
import { deriveState, planHash, readJournal, type JournalState } from "../../engine/journal.js";
import { runPlan } from "../../engine/run.js";
import type { OpenState } from "../../engine/state-dir.js";
import type { Plan } from "../../engine/step.js";
import { UserError, isUserError } from "../../lib/errors.js";
import type { Facts } from "../../plan/facts.js";
import {
  engineAction,
  engineCommand,
  engineWiring,
  openScopeState,
  parseConcurrency,
  realEngineDeps,
  registryWithGate,
  resumeCommands,
  withEngineSession,
  withRenderer,
  type EngineCommandDeps,
  type EngineCommandOptions,
} from "../engine-command.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";
import {
  assertHostsCover,
  assertRegistryCovers,
  factsPath,
  loadRun,
  readSavedFacts,
  runPart,
  saveFacts,
  type EngineSession,
  type LoadedRun,
} from "../session.js";

export interface RunOptions extends EngineCommandOptions {
  readonly concurrency?: string;
  readonly replan?: boolean;
  readonly acceptPlanChange?: boolean;
}

interface Planned {
  readonly plan: Plan;
  /** Where the plan came from, to explain a refusal. */
  readonly source: "new" | "saved-facts" | "rediscovered";
  readonly facts: Facts;
}

async function planFor(
  run: LoadedRun,
  session: EngineSession,
  existing: JournalState | undefined,
  o: RunOptions,
  io: CliIo,
  deps: EngineCommandDeps,
): Promise<Planned> {
  const saved = existing && !o.replan ? readSavedFacts(run.stateDir, deps) : undefined;
  const facts = saved ?? (await session.discover());
  const full = deps.plan(run, facts, io);
  if (
    existing &&
    planHash(existing.plan) === planHash(full) &&
    full.steps.some((s) => s.phase === "finalize")
  ) {
    throw new UserError(
      "FINALIZE_IN_PROGRESS",
      "`handover finalize` has started on this migration: the journal holds the whole plan, finalize steps included.",
      { nextSteps: [`Finish it with \`handover finalize -f ${run.displayName}\`.`] },
    );
  }
  return { plan: runPart(full), source: existing ? (saved ? "saved-facts" : "rediscovered") : "new", facts };
}

function explainPlanChange(e: UserError, planned: Planned, run: LoadedRun): UserError {
  const why =
    planned.source === "saved-facts"
      ? `The plan was rebuilt from the facts saved when this migration started (${factsPath(run.stateDir)}) and the answer file, so the answer file has changed since then. The journaled plan stays authoritative for a resume.`
      : planned.source === "rediscovered"
        ? "The plan was rebuilt from a fresh discovery (--replan, or no saved facts), which sees the hosts as the partial run left them; the journaled plan stays authoritative for a resume."
        : "";
  return new UserError(e.code, `${e.message}${why ? ` ${why}` : ""}`, {
    nextSteps: [
      ...(planned.source === "saved-facts"
        ? ["Restore the answer file as it was when the run started, then run again."]
        : []),
      ...e.nextSteps,
    ],
    cause: e,
  });
}

/** A failed or interrupted run names its journal and how to go on; any other error is left as it is. */
function explainStop(e: unknown, journalFile: string, run: LoadedRun): unknown {
  if (!isUserError(e) || (e.code !== "STEP_FAILED" && e.code !== "RUN_INTERRUPTED")) return e;
  return new UserError(e.code, `${e.message}\nJournal: ${journalFile}`, {
    nextSteps: [
      ...(e.message.includes("--yes")
        ? [`Confirm without a terminal: \`handover run -f ${run.displayName} --yes\`.`]
        : []),
      ...resumeCommands(run.displayName),
    ],
    cause: e,
  });
}

export async function runCommand(
  o: RunOptions,
  io: CliIo,
  deps: EngineCommandDeps = realEngineDeps,
): Promise<number> {
  const run = await loadRun(o.file, io);
  const concurrency = parseConcurrency(o.concurrency, run.answers.options.concurrency);
  const signal = deps.signal ?? new AbortController().signal;

  const read = readJournal(run.stateDir);
  const existing = read ? deriveState(read.records) : undefined;
  if (existing?.finalized) {
    throw new UserError(
      "JOURNAL_FINALIZED",
      `This migration was finalized at ${existing.finalizedAt}; there is nothing left to run.`,
      { nextSteps: ["Use another state_dir in the answer file to start another migration."] },
    );
  }

  return withEngineSession(run, io, deps, async (scope) => {
    const { session } = scope;
    const planned = await planFor(run, session, existing, o, io, deps);
    const { plan } = planned;
    const registry = registryWithGate(scope, { io, deps, yes: o.yes ?? false, signal, plan });
    assertRegistryCovers(plan, registry);
    assertHostsCover(plan, session.hosts);

    let state: OpenState;
    try {
      state = openScopeState(scope, run, deps, "run", {
        plan,
        acceptPlanChange: o.acceptPlanChange ?? false,
      });
    } catch (e) {
      if (isUserError(e) && e.code === "JOURNAL_PLAN_CHANGED") throw explainPlanChange(e, planned, run);
      throw e;
    }
    // Saved under the lock, once: later runs and finalize rebuild the same plan from them.
    // (Overwritten when the plan came from a new discovery: a leftover file must not outlive its journal.)
    if (planned.source !== "saved-facts") saveFacts(run.stateDir, planned.facts);
    const journalFile = state.journal.file;
    const before = state.journal.state();
    const doneBefore = before.steps.filter((s) => s.status === "done").length;
    io.stdout(
      `${doneBefore > 0 || before.lastRun ? "Resuming" : "Starting"} ${plan.sourceRelease} → ${plan.targetRelease}: ${plan.steps.length} steps` +
        `${doneBefore > 0 ? ` (${doneBefore} done earlier, re-verified first)` : ""}, up to ${concurrency} at once.` +
        `\nJournal: ${journalFile}`,
    );
    if (plan.warnings.length > 0) {
      io.stdout(["Plan warnings:", ...plan.warnings.map((w) => `  - ${w}`)].join("\n"));
    }
    const summary = await withRenderer(scope, plan, io, deps, o.plain ?? false, (emit) =>
      runPlan({ plan, registry, concurrency, ...engineWiring(scope, deps, signal, emit) }),
    ).catch((e: unknown) => {
      throw explainStop(e, journalFile, run);
    });
    const parts = [`${summary.ran.length} ran`];
    if (summary.skipped.length > 0) parts.push(`${summary.skipped.length} already done`);
    if (summary.recovered.length > 0) parts.push(`${summary.recovered.length} recovered`);
    io.stdout(
      [
        `Run complete: ${plan.steps.length} steps (${parts.join(", ")}).`,
        `Journal: ${journalFile}`,
        `Next: check the new controller, then \`handover finalize -f ${run.displayName}\` (irreversible), or \`handover rollback -f ${run.displayName}\` to go back.`,
      ].join("\n"),
    );
    return 0;
  });
}

addCommand((program, io) => {
  engineCommand(
    program,
    "run",
    "execute the plan (everything before finalize); re-running resumes from the journal",
    "confirm the plan's gates (the switch) without asking; required without a terminal",
  )
    .option("--concurrency <n>", "most steps at once (default: options.concurrency of the answers)")
    .option("--replan", "on resume, discover the hosts again instead of using the facts saved at the start")
    .option(
      "--accept-plan-change",
      "continue with a plan that differs from the journaled one (done steps re-verified)",
    )
    .action(engineAction(io, runCommand));
});
