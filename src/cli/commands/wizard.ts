/**
 * `handover wizard [-f answers.yaml]` (and `handover` alone on a terminal): asks for everything the answer file
 * holds, checking each answer against the machines (src/wizard/flow.ts), writes a commented answer file that the
 * project's own loader accepts, shows the plan (the `plan` command's code path) and asks before running it (the
 * `run` command's code path). An existing file's values are the defaults. Without a terminal it refuses: an answer
 * file and `handover run -f` are the way in then.
 */
import { access, copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { formatDiagnostic, loadAnswers, nodeSecretReader, parseAnswers } from "../../answers/index.js";
import { UserError, isUserError } from "../../lib/errors.js";
import type { Ask } from "../../wizard/ask.js";
import type { WizardDeps, WizardFiles } from "../../wizard/deps.js";
import { runWizardFlow } from "../../wizard/flow.js";
import { inquirerAsk } from "../../wizard/inquirer-ask.js";
import type { Probe } from "../../wizard/probe.js";
import { sshProbe } from "../../wizard/ssh-probe.js";
import { answersToYaml } from "../../wizard/write-answers.js";
import { realEngineDeps, withSigint } from "../engine-command.js";
import { setExitCode } from "../exit.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";
import { renderError } from "../render-error.js";
import { shippedCatalog } from "../shipped-catalog.js";
import { planCommand } from "./plan.js";
import { runCommand } from "./run.js";

export const DEFAULT_ANSWERS_FILE = "answers.yaml";
export const NEEDS_TERMINAL = "WIZARD_NEEDS_TERMINAL";

export interface WizardOptions {
  readonly file?: string;
  /** Facts saved by `handover plan --save-facts`, for the plan shown at the end instead of a new discovery. */
  readonly facts?: string;
}

/** What the command reaches outside itself; tests replace the terminal, the machines and plan/run. */
export interface WizardCommandDeps {
  ask(io: CliIo): Ask;
  probe(io: CliIo): Probe;
  readonly files: WizardFiles;
  /** `handover plan -f FILE [--facts F]`: prints the plan; returns its exit code. */
  plan(file: string, io: CliIo, facts?: string): Promise<number>;
  /** `handover run -f FILE`. */
  run(file: string, io: CliIo): Promise<number>;
  readonly now: () => Date;
}

export const realWizardFiles: WizardFiles = {
  exists: async (path) =>
    access(path).then(
      () => true,
      () => false,
    ),
  async writeSecret(path, value) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // `wx`: never overwrite a file the operator already has (the wizard only offers this for missing files).
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: "wx" });
  },
};

export const realWizardDeps: WizardCommandDeps = {
  ask: (io) => inquirerAsk({ print: (t) => io.stdout(t) }),
  probe: (io) => sshProbe({ catalog: shippedCatalog(), agentSocket: io.env.SSH_AUTH_SOCK }),
  files: realWizardFiles,
  plan: (file, io, facts) => planCommand({ file, ...(facts !== undefined ? { facts } : {}) }, io),
  run: (file, io) => withSigint(io, (signal) => runCommand({ file }, io, { ...realEngineDeps, signal })),
  now: () => new Date(),
};

/** The previous answer file's raw data, or undefined when there is none (or it is not YAML). */
async function readPrevious(path: string, file: string, ask: Ask): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const data: unknown = parseYaml(text);
    ask.note(`Using the values in ${file} as defaults (press Enter to keep one).`);
    return data;
  } catch (e) {
    ask.note(
      `! ${file} is not readable YAML (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); starting afresh.`,
    );
    return undefined;
  }
}

/** Temp file + rename, so an interrupted write never leaves half a file; the previous file kept as FILE.bak. */
async function writeAnswerFile(
  path: string,
  text: string,
  mode: number,
  hadPrevious: boolean,
): Promise<void> {
  if (hadPrevious) await copyFile(path, `${path}.bak`).catch(() => undefined);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

export async function wizardCommand(
  o: WizardOptions,
  io: CliIo,
  deps: WizardCommandDeps = realWizardDeps,
): Promise<number> {
  const file = o.file ?? DEFAULT_ANSWERS_FILE;
  if (!io.isTTY) {
    throw new UserError(
      NEEDS_TERMINAL,
      "the wizard asks questions and needs a terminal; there is none here (stdin or stdout is not a TTY).",
      {
        nextSteps: [
          `Use an answer file: \`handover run -f ${file}\` (start from templates/answers.example.yaml, \`handover schema\` describes every field).`,
          "Or run `handover wizard` on a terminal to write one.",
        ],
      },
    );
  }
  const path = resolve(io.cwd, file);
  const ask = deps.ask(io);
  ask.note(
    "handover wizard: answers are checked as you give them (hosts contacted read-only, host keys shown, logins tried).",
  );
  const previous = await readPrevious(path, file, ask);
  const wizardDeps: WizardDeps = {
    ask,
    probe: deps.probe(io),
    secrets: nodeSecretReader(io.env, dirname(path)),
    files: deps.files,
    home: io.env.HOME ?? "/root",
    answersDir: dirname(path),
    hasAgent: Boolean(io.env.SSH_AUTH_SOCK),
  };
  const outcome = await runWizardFlow(wizardDeps, previous);

  const text = answersToYaml(outcome.answers, { displayName: file, now: deps.now() });
  const parsed = parseAnswers(text, file);
  const inline = parsed.ok && parsed.loaded.warnings.some((w) => w.message.includes("inline"));
  // Written even when a cross-field check fails, so the answers are not lost: the next run offers them.
  await writeAnswerFile(path, text, inline ? 0o600 : 0o644, previous !== undefined);
  io.stdout(`\nWrote ${file}${previous !== undefined ? ` (the previous one is ${file}.bak)` : ""}.`);
  if (!parsed.ok) {
    throw new UserError(
      "WIZARD_ANSWERS_INVALID",
      `${file} was written but does not pass its checks:\n  ${parsed.errors.map(formatDiagnostic).join("\n  ")}`,
      { nextSteps: [`Run \`handover wizard -f ${file}\` again and change the answers named above.`] },
    );
  }
  // The file on disk through the same loader every command uses.
  const loaded = await loadAnswers(path, { displayName: file });
  for (const w of loaded.warnings) io.stdout(formatDiagnostic(w));

  io.stdout("\nThe plan for these answers (nothing is changed on any host yet):\n");
  let planned: number;
  try {
    planned = await deps.plan(file, io, o.facts);
  } catch (e) {
    if (!isUserError(e)) throw e;
    io.stderr(renderError(e, false));
    planned = 1;
  }
  const later = `handover run -f ${file}`;
  if (planned !== 0) {
    io.stdout(
      `\nThe plan could not be made. Fix what is named above, then: handover plan -f ${file}; ${later}`,
    );
    return 1;
  }
  const runNow = await ask.confirm({
    id: "run_now",
    message: `Run the migration now (${later})?`,
    default: false,
  });
  if (!runNow) {
    io.stdout(`\nNothing was changed. When you are ready, run:\n  ${later}`);
    return 0;
  }
  return deps.run(file, io);
}

addCommand((program, io) => {
  program
    .command("wizard")
    .description("write an answer file by answering questions (each answer checked), show the plan, then run")
    .option(
      "-f, --file <path>",
      `the answer file to write (its values are the defaults)`,
      DEFAULT_ANSWERS_FILE,
    )
    .option(
      "--facts <file>",
      "show the plan from facts saved with `handover plan --save-facts` (no new discovery)",
    )
    .action(async (options: WizardOptions, command: Command) => {
      try {
        setExitCode(command, await wizardCommand(options, io));
      } catch (e) {
        // A usage error like commander's own (exit 2): the command cannot work in this setting.
        if (isUserError(e) && e.code === NEEDS_TERMINAL) {
          io.stderr(renderError(e, Boolean(command.optsWithGlobals<{ debug?: boolean }>().debug)));
          setExitCode(command, 2);
          return;
        }
        throw e;
      }
    });
});
