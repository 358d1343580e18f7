/**
 * `handover rollback -f answers.yaml [--yes] [--plain] [--concurrency N]`: undoes every completed step of the
 * journal (engine: rollbackJournal): the switch back to the old controller first, then the rest, independent undos
 * up to N at once (default: the answers' options.concurrency, as run), a step always after everything that
 * depended on it. Prints an outcome per step and when the old controller served again. Asks first on a terminal;
 * needs --yes without one. Refused after `handover finalize`. Exit 0 only when everything touched is undone.
 *
 * Once the addresses started moving, clients may have written to the new controller's databases, and a rollback
 * returns them to the old controller's untouched ones: before asking, the tables changed on new since the switch's
 * snapshot are listed with their row-count deltas (src/engine/lost-writes.ts), so the operator decides knowing
 * what is lost. That needs the hosts, so in that case the session opens before the question.
 */
import { formatLostWrites, lostWrites, lostWritesDue } from "../../engine/lost-writes.js";
import { rollbackJournal, type RollbackResult, type UndoOutcome } from "../../engine/rollback.js";
import { openStateForWrite } from "../../engine/state-dir.js";
import { UserError, errorMessage } from "../../lib/errors.js";
import { redact } from "../../lib/redact.js";
import {
  confirmOrRefuse,
  engineAction,
  engineCommand,
  engineWiring,
  openScopeState,
  parseConcurrency,
  realEngineDeps,
  registryWithGate,
  requireJournal,
  withEngineSession,
  withRenderer,
  type EngineCommandDeps,
  type EngineCommandOptions,
} from "../engine-command.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";
import { loadRun } from "../session.js";

export interface RollbackOptions extends EngineCommandOptions {
  readonly concurrency?: string;
}

const TOUCHED = new Set(["done", "running", "failed", "undoing", "undo-failed"]);

const LABEL: Record<UndoOutcome["outcome"], string> = {
  undone: "undone",
  "already-undone": "already undone",
  failed: "FAILED",
  blocked: "blocked",
  "not-attempted": "not attempted",
};

/** A fixed-width table: outcome, step, hosts, detail. */
export function formatOutcomes(outcomes: readonly UndoOutcome[]): string {
  if (outcomes.length === 0) return "Nothing to undo: no step had started.";
  const rows = outcomes.map((o) => [LABEL[o.outcome], o.stepId, o.hosts.join(",") || "-", o.message ?? ""]);
  const head = ["outcome", "step", "hosts", "detail"];
  const width = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i < 3 ? c.padEnd(width[i]!) : c))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

export async function rollbackCommand(
  o: RollbackOptions,
  io: CliIo,
  deps: EngineCommandDeps = realEngineDeps,
): Promise<number> {
  const run = await loadRun(o.file, io);
  const signal = deps.signal ?? new AbortController().signal;
  const concurrency = parseConcurrency(o.concurrency, run.answers.options.concurrency);

  // Look before contacting any host: nothing journaled, or finalized, is refused without side effects.
  const peek = requireJournal(run, "nothing has run there, so there is nothing to roll back.", [
    "Check state_dir in the answer file.",
  ]);
  if (peek.finalized) {
    // The engine's own refusal (and explanation); it touches no host when the journal is final.
    const state = openStateForWrite({
      stateDir: run.stateDir,
      command: "rollback",
      ...(deps.lock ? { lock: deps.lock } : {}),
    });
    try {
      await rollbackJournal({ registry: new Map(), hosts: new Map(), journal: state.journal });
    } finally {
      state.close();
    }
  }
  const touched = peek.steps.filter((s) => TOUCHED.has(s.status));
  if (touched.length === 0) {
    io.stdout(`Nothing to undo in ${run.stateDir}: no step is done or in progress.`);
    return 0;
  }
  const irreversible = touched.filter((s) => s.step.irreversible !== undefined).map((s) => s.id);
  const question =
    `Undo ${touched.length} step(s) on ${[...new Set(touched.flatMap((s) => s.step.hosts))].join(", ") || "no host"}, newest first (the switch back before the rest, up to ${concurrency} at once), returning to the old controller?` +
    (irreversible.length > 0
      ? ` (${irreversible.join(", ")} cannot be undone and block rollback past them.)`
      : "");
  const ask = (): Promise<boolean> =>
    confirmOrRefuse({
      io,
      deps,
      yes: o.yes ?? false,
      question,
      signal,
      noTtyCode: "ROLLBACK_NEEDS_YES",
      noTtyMessage: `Rollback would undo ${touched.length} step(s) and needs a confirmation, but there is no terminal to ask on: pass --yes.`,
    });
  const notConfirmed = (): number => {
    io.stdout("Rollback not confirmed; nothing was changed.");
    return 1;
  };
  // Without moved addresses nothing but handover wrote to new: ask before contacting any host.
  const reportLostWrites = lostWritesDue(peek) !== undefined;
  if (!reportLostWrites && !(await ask())) return notConfirmed();

  return withEngineSession(run, io, deps, async (scope) => {
    const { session } = scope;
    // gate.confirm is the commands' own step (it asks the operator); its undo is a no-op.
    const registry = registryWithGate(scope, { io, deps, yes: false, signal, plan: peek.plan });
    const missing = [
      ...new Set(
        touched
          .filter((s) => s.step.irreversible === undefined && !registry.get(s.step.kind)?.undo)
          .map((s) => s.step.kind),
      ),
    ];
    if (missing.length > 0) {
      throw new UserError(
        "UNDO_NOT_IMPLEMENTED",
        `This build of handover cannot undo step kind(s) ${missing.join(", ")}; nothing was changed.`,
        { nextSteps: ["Use the handover version that ran the migration."] },
      );
    }
    if (reportLostWrites) {
      let line: string;
      try {
        const r = await lostWrites({ state: peek, registry, hosts: session.hosts, signal, now: deps.now });
        line = r ? formatLostWrites(r) : "";
      } catch (e) {
        line = `Could not compare the new controller's databases with the snapshot taken at the switch (${errorMessage(e)}): whatever clients wrote there since the switch is lost by a rollback.`;
      }
      if (line) io.stdout(redact(line, session.secrets));
      if (!(await ask())) return notConfirmed();
    }
    const state = openScopeState(scope, run, deps, "rollback");
    const plan = state.journal.state();
    const result: RollbackResult = await withRenderer(
      scope,
      {
        steps: plan.steps.map((s) => s.step),
        sourceRelease: plan.plan.sourceRelease,
        targetRelease: plan.plan.targetRelease,
      },
      io,
      deps,
      o.plain ?? false,
      (emit) => rollbackJournal({ registry, concurrency, ...engineWiring(scope, deps, signal, emit) }),
    );
    const lines = [formatOutcomes(result.outcomes), "", result.message];
    if (result.servingAgainSeconds !== undefined) {
      lines.push(
        `The old controller was serving again after ${result.servingAgainSeconds} s; the rollback took ${result.seconds} s in all.`,
      );
    }
    for (const n of result.nextSteps) lines.push(`  → ${n}`);
    lines.push(`Journal: ${state.journal.file}`);
    io.stdout(redact(lines.join("\n"), session.secrets));
    return result.complete ? 0 : 1;
  });
}

addCommand((program, io) => {
  engineCommand(
    program,
    "rollback",
    "undo every completed step back to the old controller, the switch first (refused after finalize)",
    "do not ask; required without a terminal",
  )
    .option("--concurrency <n>", "most undos at once (default: options.concurrency of the answers)")
    .action(engineAction(io, rollbackCommand));
});
