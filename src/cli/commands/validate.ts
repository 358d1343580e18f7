/**
 * `handover validate -f FILE`: checks an answer file without touching any host. Prints a summary when it is
 * valid, otherwise EVERY error with file:line:col and the field path. Exit 0 when valid, 1 when not.
 */
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../../answers/diagnostics.js";
import { parseAnswersFile } from "../../answers/load.js";
import { nodeSecretReader, resolveAllSecrets } from "../../answers/secrets.js";
import { summariseAnswers } from "../../answers/summary.js";
import { setExitCode } from "../exit.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";

interface ValidateOptions {
  readonly file: string;
  /** false with --no-secrets. */
  readonly secrets: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function validate(options: ValidateOptions, io: CliIo): Promise<number> {
  const path = resolve(io.cwd, options.file);
  const result = await parseAnswersFile(path, { displayName: options.file });
  const errors: Diagnostic[] = result.ok ? [] : [...result.errors];
  let warnings: Diagnostic[] = [...(result.ok ? result.loaded.warnings : result.warnings)];
  if (result.ok && options.secrets) {
    // Secrets are read here only to say whether they can be; their values are never printed. A missing
    // variable or file is a warning, not an error: validate often runs where the secrets are not (a laptop),
    // and `check` / `run` refuse to start without them.
    const reader = nodeSecretReader(io.env, dirname(path));
    const secrets = await resolveAllSecrets(result.loaded.answers, result.loaded, reader);
    const unresolved = secrets.errors.map((d) => ({
      ...d,
      severity: "warning" as const,
      message: `${d.message} here`,
    }));
    warnings = sortDiagnostics([...warnings, ...secrets.warnings, ...unresolved]);
  }
  if (errors.length > 0 || !result.ok) {
    const lines = [...sortDiagnostics(errors), ...warnings].map(formatDiagnostic);
    lines.push(`${options.file}: ${plural(errors.length, "error")}, ${plural(warnings.length, "warning")}`);
    if (!result.ok && result.stage !== "semantic") {
      lines.push("(checks that need an invalid field run once it is fixed)");
    }
    io.stderr(lines.join("\n"));
    return 1;
  }
  const lines = [`${options.file} is valid`, ...summariseAnswers(result.loaded.answers)];
  lines.push(`  warnings  ${warnings.length === 0 ? "none" : String(warnings.length)}`);
  for (const w of warnings) lines.push(`    ${formatDiagnostic(w)}`);
  if (!options.secrets) lines.push("  (secrets not read: --no-secrets)");
  io.stdout(lines.join("\n"));
  return 0;
}

addCommand((program, io) => {
  program
    .command("validate")
    .description("check an answer file without touching any host; lists every error with file:line:col")
    .requiredOption("-f, --file <path>", "the answer file (YAML)")
    .option("--no-secrets", "do not read the secret files and environment variables the answer file names")
    .action(async (options: ValidateOptions, command: Command) => {
      setExitCode(command, await validate(options, io));
    });
});
