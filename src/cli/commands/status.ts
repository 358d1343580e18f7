/**
 * `handover status -f answers.yaml [--json]` (or `--state-dir DIR`): where a migration stands, from the journal
 * and the lock, in a few lines. Read-only: takes no lock and contacts no host, so it works while a run is going.
 */
import { join } from "node:path";
import type { Command } from "commander";
import { JOURNAL_FILE } from "../../engine/journal.js";
import { readStatus, type ReadStatusOptions } from "../../engine/state-dir.js";
import { formatStatus, type StatusSummary } from "../../engine/status.js";
import { UserError } from "../../lib/errors.js";
import { setExitCode } from "../exit.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";
import { loadRun } from "../session.js";
import { resolve } from "node:path";

export interface StatusOptions {
  readonly file?: string;
  readonly stateDir?: string;
  readonly json?: boolean;
}

/** What to do next, by state: the one line an operator looking at status wants. */
function nextStep(s: StatusSummary, file: string): string | undefined {
  const f = file ? ` -f ${file}` : "";
  switch (s.state) {
    case "not-started":
    case "interrupted":
    case "failed":
      return `Next: \`handover run${f}\` to continue, or \`handover rollback${f}\` to go back.`;
    case "completed":
      return `Next: \`handover finalize${f}\` (irreversible) once the new controller is checked, or \`handover rollback${f}\`.`;
    case "rollback-incomplete":
      return `Next: fix what the failed undos report, then \`handover rollback${f}\` again.`;
    default:
      return undefined;
  }
}

export async function statusCommand(
  o: StatusOptions,
  io: CliIo,
  read: ReadStatusOptions = {},
): Promise<number> {
  let stateDir: string;
  if (o.stateDir !== undefined) stateDir = resolve(io.cwd, o.stateDir);
  else if (o.file !== undefined) stateDir = (await loadRun(o.file, io)).stateDir;
  else {
    throw new UserError(
      "STATUS_WHERE",
      "status needs the answer file (-f) or the state directory (--state-dir).",
    );
  }
  const s = readStatus(stateDir, read);
  const journal = join(stateDir, JOURNAL_FILE);
  if (!s) {
    if (o.json) io.stdout(JSON.stringify({ state: "no-journal", stateDir }, null, 2));
    else io.stdout(`No journal in ${stateDir}: nothing has run there yet.`);
    return 0;
  }
  if (o.json) {
    io.stdout(JSON.stringify({ ...s, journal }, null, 2));
    return 0;
  }
  const lines = [formatStatus(s), `Journal: ${journal}`];
  const next = nextStep(s, o.file ?? "");
  if (next) lines.push(next);
  io.stdout(lines.join("\n"));
  return 0;
}

addCommand((program, io) => {
  program
    .command("status")
    .description("show where a migration stands, from its journal (read-only)")
    .option("-f, --file <path>", "the answer file (its state_dir)")
    .option("--state-dir <dir>", "the state directory, instead of an answer file")
    .option("--json", "print the status as JSON")
    .action(async (options: StatusOptions, command: Command) => {
      setExitCode(command, await statusCommand(options, io));
    });
});
