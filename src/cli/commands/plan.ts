/**
 * `handover plan -f answers.yaml [--json] [--facts FILE] [--save-facts FILE]`: gathers facts read-only from both
 * controllers (or reads saved ones), builds the whole plan and prints it. Changes nothing on any host: discovery
 * only has read-only access (src/discovery/readonly-host.ts, sql.ts). A jump the catalog marks unsafe is refused
 * with its reasons before any host is contacted (and again after the data checks have run).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { formatDiagnostic, parseAnswersFile, type LoadedAnswers } from "../../answers/index.js";
import { parseFactsFile, serializeFacts } from "../../discovery/facts-file.js";
import { gatherFacts, type DiscoveryEndpoint, type GatheredFacts } from "../../discovery/gather.js";
import { readOnly } from "../../discovery/readonly-host.js";
import { summariseFacts } from "../../discovery/summary.js";
import { UserError } from "../../lib/errors.js";
import { redact } from "../../lib/redact.js";
import { buildPlan } from "../../plan/build.js";
import { assertSafeJump, type Catalog } from "../../plan/catalog.js";
import type { Facts } from "../../plan/facts.js";
import { renderPlanText } from "../../plan/render.js";
import { setExitCode } from "../exit.js";
import type { CliIo } from "../io.js";
import { openControllers, resolveSecretsOrFail } from "../open-controllers.js";
import { answerFactWarnings, planInputFromAnswers } from "../plan-input.js";
import { addCommand } from "../program.js";
import { shippedCatalog } from "../shipped-catalog.js";

export interface PlanCommandOptions {
  readonly file: string;
  readonly json?: boolean;
  readonly facts?: string;
  readonly saveFacts?: string;
  readonly verbose?: boolean;
}

/** What the command reaches outside itself; tests replace discovery with fakes. */
export interface PlanDeps {
  readonly catalog: () => Catalog;
  /** Discovers facts for valid answers; returns the facts, notes and the secret values to redact. */
  readonly discover: (
    loaded: LoadedAnswers,
    answersPath: string,
    io: CliIo,
    catalog: Catalog,
  ) => Promise<GatheredFacts & { secrets: readonly string[] }>;
  readonly now: () => Date;
}

/** Real discovery: both controllers over SSH (strict host keys), MySQL through the SSH connections. */
async function discoverOverSsh(
  loaded: LoadedAnswers,
  answersPath: string,
  io: CliIo,
  catalog: Catalog,
): Promise<GatheredFacts & { secrets: readonly string[] }> {
  const answers = loaded.answers;
  const secrets = await resolveSecretsOrFail(loaded, io, dirname(answersPath));
  const ctl = openControllers(answers, secrets, io);
  try {
    // Connect both first: a wrong host key or login is reported before any discovery output.
    await Promise.all([ctl.old.host.connect(), ctl.new.host.connect()]);
    const endpoint = (c: typeof ctl.old): DiscoveryEndpoint => ({
      host: readOnly(c.host),
      openSql: c.openSql,
    });
    const gathered = await gatherFacts(endpoint(ctl.old), endpoint(ctl.new), {
      catalog,
      sourceRelease: answers.source_release,
      targetRelease: answers.target_release,
      services: answers.services,
      now: () => new Date(),
    });
    return { ...gathered, secrets: ctl.secrets };
  } finally {
    await ctl.close();
  }
}

export const realPlanDeps: PlanDeps = {
  catalog: shippedCatalog,
  discover: discoverOverSsh,
  now: () => new Date(),
};

async function readFacts(io: CliIo, file: string): Promise<Facts> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError("FACTS_UNREADABLE", `cannot read facts file ${file}: ${code ?? String(e)}`, {
      nextSteps: ["Give the file written by `handover plan --save-facts FILE`."],
    });
  }
  return parseFactsFile(text, file);
}

async function saveFacts(io: CliIo, file: string, facts: Facts): Promise<void> {
  const path = resolve(io.cwd, file);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, serializeFacts(facts), { mode: 0o644 });
    await rename(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError("FACTS_UNWRITABLE", `cannot write facts file ${file}: ${code ?? String(e)}`, {
      nextSteps: ["Choose a writable path for --save-facts."],
    });
  }
}

export async function planCommand(
  options: PlanCommandOptions,
  io: CliIo,
  deps: PlanDeps = realPlanDeps,
): Promise<number> {
  const path = resolve(io.cwd, options.file);
  const parsed = await parseAnswersFile(path, { displayName: options.file });
  if (!parsed.ok) {
    // As `validate` prints them: every error with file:line:col and field path.
    const lines = [...parsed.errors, ...parsed.warnings].map(formatDiagnostic);
    const n = parsed.errors.length;
    lines.push(
      `${options.file}: ${n} error${n === 1 ? "" : "s"}; run \`handover validate -f ${options.file}\` for details`,
    );
    io.stderr(lines.join("\n"));
    return 1;
  }
  const loaded = parsed.loaded;
  const answers = loaded.answers;
  const catalog = deps.catalog();
  const input = planInputFromAnswers(answers, io.env.HOME ?? "/root");
  // Refuse a jump the catalog forbids before contacting any host (the data checks are judged after discovery).
  assertSafeJump(catalog, input.sourceRelease, input.targetRelease, input.services);

  let facts: Facts;
  let notes: string[] = [];
  let secrets: readonly string[] = [];
  if (options.facts !== undefined) {
    facts = await readFacts(io, options.facts);
  } else {
    const gathered = await deps.discover(loaded, path, io, catalog);
    facts = gathered.facts;
    notes = [...gathered.notes];
    secrets = gathered.secrets;
  }
  if (options.saveFacts !== undefined) await saveFacts(io, options.saveFacts, facts);

  const plan = buildPlan(input, facts, catalog);
  const warnings = answerFactWarnings(answers, facts);
  if (options.json) {
    io.stdout(redact(JSON.stringify({ facts, plan, notes: [...warnings, ...notes] }, null, 2), secrets));
    return 0;
  }
  const out = [...summariseFacts(facts)];
  if (warnings.length + notes.length > 0) {
    out.push("", "Discovery notes:");
    for (const w of [...warnings, ...notes]) out.push(`  - ${w}`);
  }
  out.push("", renderPlanText(plan, { secrets, verbose: options.verbose ?? false }).trimEnd());
  if (options.saveFacts !== undefined) out.push("", `Facts saved to ${options.saveFacts}.`);
  out.push("", "Nothing was changed on any host. `handover run -f " + options.file + "` executes this plan.");
  io.stdout(redact(out.join("\n"), secrets));
  return 0;
}

addCommand((program, io) => {
  program
    .command("plan")
    .description("gather facts read-only from both controllers and print the whole plan; changes nothing")
    .requiredOption("-f, --file <path>", "the answer file (YAML)")
    .option("--json", "print {facts, plan, notes} as JSON")
    .option("--facts <file>", "use facts saved with --save-facts instead of contacting the hosts")
    .option("--save-facts <file>", "write the discovered facts to this file (JSON)")
    .option("--verbose", "show every step's parameters")
    .action(async (options: PlanCommandOptions, command: Command) => {
      setExitCode(command, await planCommand(options, io));
    });
});
