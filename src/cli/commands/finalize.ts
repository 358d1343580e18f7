/**
 * `handover finalize -f answers.yaml [--yes] [--plain]`: the declared point of no return. Runs the plan's
 * finalize-phase steps (keystone contract, removing the compute pin once computes are upgraded, deleting the old
 * controller's service records) and marks the journal final; rollback refuses afterwards.
 *
 * The engine runs whole plans, so finalize journals the WHOLE plan (the run part plus the finalize steps, rebuilt
 * from the facts saved when the migration started) as an accepted plan change and runs it: steps done by `run` are
 * re-verified and skipped, then the finalize steps run. Only then is the journal marked final.
 */
import { finalizeJournal, planHash } from "../../engine/journal.js";
import { runPlan } from "../../engine/run.js";
import { UserError } from "../../lib/errors.js";
import {
  confirmOrRefuse,
  engineAction,
  engineCommand,
  engineWiring,
  openScopeState,
  realEngineDeps,
  registryWithGate,
  requireJournal,
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
  finalizeSteps,
  loadRun,
  readSavedFacts,
  runPart,
} from "../session.js";

export type FinalizeOptions = EngineCommandOptions;

export async function finalizeCommand(
  o: FinalizeOptions,
  io: CliIo,
  deps: EngineCommandDeps = realEngineDeps,
): Promise<number> {
  const run = await loadRun(o.file, io);
  const signal = deps.signal ?? new AbortController().signal;
  const current = requireJournal(run, "nothing has run there yet.", [
    `Start with \`handover run -f ${run.displayName}\`.`,
  ]);
  if (current.finalized) {
    throw new UserError(
      "ALREADY_FINALIZED",
      `The migration was already finalized at ${current.finalizedAt}.`,
    );
  }

  return withEngineSession(run, io, deps, async (scope) => {
    const { session } = scope;
    const facts = readSavedFacts(run.stateDir, deps) ?? (await session.discover());
    const full = deps.plan(run, facts, io);
    const journaled = planHash(current.plan);
    if (journaled !== planHash(runPart(full)) && journaled !== planHash(full)) {
      throw new UserError(
        "JOURNAL_PLAN_CHANGED",
        "The plan rebuilt from the answer file and the facts saved at the start differs from the journaled one, so finalize cannot tell which steps it would add.",
        { nextSteps: ["Restore the answer file as it was when the run started, then finalize."] },
      );
    }
    // Everything before finalize must be done: finalize is not a way to skip the rest of the run.
    const notDone = current.plan.steps
      .filter((s) => s.phase !== "finalize" && current.byId.get(s.id)?.status !== "done")
      .map((s) => s.id);
    if (notDone.length > 0) {
      throw new UserError(
        "NOT_READY_TO_FINALIZE",
        `Cannot finalize: ${notDone.length} step(s) of the run are not done (${notDone.slice(0, 5).join(", ")}${notDone.length > 5 ? ", …" : ""}).`,
        { nextSteps: resumeCommands(run.displayName) },
      );
    }
    const fin = finalizeSteps(full);
    // Gates were passed by `run` (checked above): the gate's verify finds them done in the journal.
    const registry = registryWithGate(scope, { io, deps, yes: false, signal, plan: full });
    assertRegistryCovers(full, registry);
    assertHostsCover(full, session.hosts);

    const lines = ["Finalize is the point of no return: afterwards `handover rollback` is refused.", ""];
    if (fin.length === 0) lines.push("The plan has no finalize steps; only the journal is marked final.");
    for (const s of fin) {
      lines.push(`  ${s.id}  ${s.title}${s.irreversible ? `  [irreversible: ${s.irreversible}]` : ""}`);
    }
    io.stdout(lines.join("\n"));
    const yes = await confirmOrRefuse({
      io,
      deps,
      yes: o.yes ?? false,
      question: `Finalize the migration (${fin.length} step(s)); rollback is impossible afterwards?`,
      signal,
      noTtyCode: "FINALIZE_NEEDS_YES",
      noTtyMessage:
        "Finalize is irreversible and needs a confirmation, but there is no terminal to ask on: pass --yes.",
    });
    if (!yes) {
      io.stdout("Finalize not confirmed; nothing was changed.");
      return 1;
    }

    const state = openScopeState(scope, run, deps, "finalize", { plan: full, acceptPlanChange: true });
    if (fin.length > 0) {
      await withRenderer(scope, full, io, deps, o.plain ?? false, (emit) =>
        runPlan({ plan: full, registry, concurrency: 1, ...engineWiring(scope, deps, signal, emit) }),
      );
    }
    const rec = finalizeJournal(state.journal);
    io.stdout(`Finalized at ${rec.at}; rollback is no longer possible.\nJournal: ${state.journal.file}`);
    return 0;
  });
}

addCommand((program, io) => {
  engineCommand(
    program,
    "finalize",
    "run the finalize steps and mark the migration final (irreversible: rollback is refused afterwards)",
    "do not ask; required without a terminal",
  ).action(engineAction(io, finalizeCommand));
});
