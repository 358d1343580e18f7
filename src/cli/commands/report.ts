/**
 * `handover report -f answers.yaml [--format md|html] [-o FILE]` (or `--state-dir DIR`): the journal of a
 * migration rendered for people: Markdown (default, or when FILE does not end in .html) or one self-contained HTML
 * file. Read-only like `status`: no lock, no host contacted, only the journal is read.
 */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { UserError } from "../../lib/errors.js";
import { readReport, renderReport, type ReportFormat } from "../../report/index.js";
import { setExitCode } from "../exit.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";
import { loadRun } from "../session.js";

export interface ReportOptions {
  readonly file?: string;
  readonly stateDir?: string;
  readonly format?: string;
  readonly output?: string;
}

function formatOf(o: ReportOptions): ReportFormat {
  const f = o.format ?? (o.output !== undefined && /\.html?$/i.test(o.output) ? "html" : "md");
  if (f === "md" || f === "markdown") return "md";
  if (f === "html") return "html";
  throw new UserError("REPORT_FORMAT", `--format must be md or html, not ${JSON.stringify(f)}.`);
}

/** Written beside the target and renamed over it, so a reader never sees half a report. */
function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    // 0600 like the journal: the report describes the cloud's internals (hosts, addresses, config changes).
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError("REPORT_WRITE", `Cannot write the report to ${path}: ${(e as Error).message}`, {
      nextSteps: ["Check that the directory exists and is writable, or choose another -o path."],
      cause: e,
    });
  }
}

export async function reportCommand(
  o: ReportOptions,
  io: CliIo,
  now: () => Date = () => new Date(),
): Promise<number> {
  const format = formatOf(o);
  let stateDir: string;
  if (o.stateDir !== undefined) stateDir = resolve(io.cwd, o.stateDir);
  else if (o.file !== undefined) stateDir = (await loadRun(o.file, io)).stateDir;
  else {
    throw new UserError(
      "REPORT_WHERE",
      "report needs the answer file (-f) or the state directory (--state-dir).",
    );
  }
  const model = readReport(stateDir, {
    now: now(),
    ...(o.file === undefined ? {} : { runHint: `-f ${o.file}` }),
  });
  const text = renderReport(model, format, stateDir);
  if (o.output === undefined) {
    io.stdout(text.replace(/\n$/, ""));
    return 0;
  }
  const target = resolve(io.cwd, o.output);
  writeAtomic(target, text);
  io.stderr(`Report (${format === "html" ? "HTML" : "Markdown"}) written to ${o.output}.`);
  return 0;
}

addCommand((program, io) => {
  program
    .command("report")
    .description("render a migration's journal as a Markdown or self-contained HTML report (read-only)")
    .option("-f, --file <path>", "the answer file (its state_dir)")
    .option("--state-dir <dir>", "the state directory, instead of an answer file")
    .option("--format <format>", "md or html (default: html when -o ends in .html, else md)")
    .option("-o, --output <file>", "write the report to this file instead of standard output")
    .action(async (options: ReportOptions, command: Command) => {
      setExitCode(command, await reportCommand(options, io));
    });
});
