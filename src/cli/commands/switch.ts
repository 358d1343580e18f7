/**
 * `handover switch -f answers.yaml [--yes] [--plain] [--concurrency N]`: the switch, later. For a migration run
 * with `options.switch: never` (stopped before the addresses move), or one whose switch confirmation was declined.
 *
 * The plan is rebuilt from the facts saved when the migration started and the answer file, with the switch mode
 * forced: the journaled plan's own mode when it already has switch steps (so a declined gate is asked again, or
 * passed with --yes), otherwise `auto` with --yes and `confirm` on a terminal. Before anything is contacted, the
 * rebuilt plan must differ from the journaled one ONLY by added switch-phase steps: every journaled step is still
 * there, unchanged. Anything else (the answers changed) is refused. Then it runs exactly as `handover run
 * --accept-plan-change` does (the same function, with the plan source swapped): done steps are re-verified, the
 * switch steps run.
 *
 * Afterwards `run` and `finalize` rebuild the plan from the answer file, so its options.switch must say the mode
 * used here; the command says so when it differs.
 */
import type { JournalState } from "../../engine/journal.js";
import type { Plan, PlannedStep } from "../../engine/step.js";
import { UserError } from "../../lib/errors.js";
import {
  engineAction,
  engineCommand,
  realEngineDeps,
  requireJournal,
  type EngineCommandDeps,
} from "../engine-command.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";
import { factsPath, loadRun, readSavedFacts, runPart, type LoadedRun } from "../session.js";
import { runCommand, type RunOptions } from "./run.js";

export type SwitchOptions = Omit<RunOptions, "replan" | "acceptPlanChange">;

type SwitchMode = "auto" | "confirm";

/** The answers as loaded, with options.switch replaced. */
function withSwitchMode(run: LoadedRun, mode: SwitchMode): LoadedRun {
  return { ...run, answers: { ...run.answers, options: { ...run.answers.options, switch: mode } } };
}

function chooseMode(journaled: Plan, yes: boolean): SwitchMode {
  const sw = journaled.steps.filter((s) => s.phase === "switch");
  if (sw.length > 0) return sw.some((s) => s.kind === "gate.confirm") ? "confirm" : "auto";
  return yes ? "auto" : "confirm";
}

/** Stable JSON of a step for comparison (key order does not matter). */
function canonical(s: PlannedStep): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(s));
}

/**
 * What makes `next` more than "`journaled` plus switch steps": journaled steps missing or changed, added steps
 * outside the switch phase, another release pair. Empty when the switch may go ahead. Pure.
 */
export function switchPlanProblems(journaled: Plan, next: Plan): string[] {
  const problems: string[] = [];
  if (journaled.sourceRelease !== next.sourceRelease || journaled.targetRelease !== next.targetRelease) {
    problems.push(
      `the releases differ (${journaled.sourceRelease} → ${journaled.targetRelease} journaled, ${next.sourceRelease} → ${next.targetRelease} now)`,
    );
  }
  const nextById = new Map(next.steps.map((s) => [s.id, s]));
  const oldIds = new Set(journaled.steps.map((s) => s.id));
  const missing = journaled.steps.filter((s) => !nextById.has(s.id)).map((s) => s.id);
  const changed = journaled.steps
    .filter((s) => nextById.has(s.id) && canonical(s) !== canonical(nextById.get(s.id)!))
    .map((s) => s.id);
  const foreign = next.steps.filter((s) => !oldIds.has(s.id) && s.phase !== "switch").map((s) => s.id);
  const list = (ids: string[]): string => `${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", …" : ""}`;
  if (missing.length > 0)
    problems.push(`${missing.length} journaled step(s) would be dropped (${list(missing)})`);
  if (changed.length > 0)
    problems.push(`${changed.length} journaled step(s) would change (${list(changed)})`);
  if (foreign.length > 0) {
    problems.push(`${foreign.length} step(s) outside the switch would be added (${list(foreign)})`);
  }
  if (problems.length === 0 && !next.steps.some((s) => !oldIds.has(s.id))) {
    const hasSwitch = next.steps.some((s) => s.phase === "switch");
    if (!hasSwitch) problems.push("the plan has no switch steps (no networks to move in the answer file?)");
  }
  return problems;
}

export async function switchCommand(
  o: SwitchOptions,
  io: CliIo,
  deps: EngineCommandDeps = realEngineDeps,
): Promise<number> {
  const run = await loadRun(o.file, io);
  const yes = o.yes ?? false;
  const current: JournalState = requireJournal(run, "nothing has run there, so there is nothing to switch.", [
    `Start with \`handover run -f ${run.displayName}\`.`,
  ]);
  if (current.finalized) {
    throw new UserError(
      "JOURNAL_FINALIZED",
      `This migration was finalized at ${current.finalizedAt}; there is nothing left to switch.`,
    );
  }
  if (current.plan.steps.some((s) => s.phase === "finalize")) {
    throw new UserError(
      "FINALIZE_IN_PROGRESS",
      "`handover finalize` has started on this migration; the switch cannot be added any more.",
      { nextSteps: [`Finish it with \`handover finalize -f ${run.displayName}\`.`] },
    );
  }
  if (!yes && !io.isTTY) {
    throw new UserError(
      "SWITCH_NEEDS_YES",
      "The switch moves the addresses to the new controller and needs a confirmation, but there is no terminal to ask on: pass --yes.",
      { nextSteps: ["Run it on a terminal to be asked, or pass --yes to confirm without one."] },
    );
  }
  // Before any host is contacted: the plan comes from the saved facts only (a fresh discovery mid-migration would
  // see the partial state and plan something else).
  const facts = readSavedFacts(run.stateDir, deps);
  if (!facts) {
    throw new UserError(
      "FACTS_MISSING",
      `There are no saved facts in ${factsPath(run.stateDir)}, so the plan cannot be rebuilt as it was when the migration started.`,
      { nextSteps: [`Resume with \`handover run -f ${run.displayName}\` first.`] },
    );
  }
  const mode = chooseMode(current.plan, yes);
  const forced = withSwitchMode(run, mode);
  const next = runPart(deps.plan(forced, facts, io));
  const problems = switchPlanProblems(current.plan, next);
  if (problems.length > 0) {
    throw new UserError(
      "SWITCH_PLAN_CHANGED",
      `The plan rebuilt with the switch is not the journaled plan plus switch steps: ${problems.join("; ")}. Nothing was changed.`,
      {
        nextSteps: [
          "Restore the answer file as it was when the migration started (only options.switch may differ), then run `handover switch` again.",
        ],
      },
    );
  }
  const added = next.steps.filter((s) => !current.byId.has(s.id)).length;
  io.stdout(
    added > 0
      ? `Adding the switch to the journaled plan (${added} step(s), switch mode ${mode}); steps done earlier are re-verified first.`
      : `The journaled plan already has the switch (mode ${mode}); resuming it.`,
  );

  // The same path as `handover run --accept-plan-change`, with the plan built in the forced switch mode.
  try {
    return await runCommand({ ...o, acceptPlanChange: true }, io, {
      ...deps,
      plan: (r, f, i) => deps.plan(withSwitchMode(r, mode), f, i),
    });
  } finally {
    // Also after a failure: the journal holds the plan with the switch from the moment the run opened it.
    if (run.answers.options.switch !== mode) {
      io.stdout(
        `Note: set options.switch: ${mode} in ${run.displayName} before \`handover run\` or \`handover finalize\`: they rebuild the plan from the answer file, and the journal now holds the plan with the switch (\`handover switch\` itself resumes either way).`,
      );
    }
  }
}

addCommand((program, io) => {
  engineCommand(
    program,
    "switch",
    "move the addresses now, for a migration run with switch: never or whose switch confirmation was declined",
    "confirm the switch without asking; required without a terminal",
  )
    .option("--concurrency <n>", "most steps at once (default: options.concurrency of the answers)")
    .action(engineAction(io, switchCommand));
});
