/**
 * What `run`, `rollback` and `finalize` share: answers -> state dir; answers -> live hosts (the same SSH path as
 * `handover plan`, src/cli/open-controllers.ts) -> facts (read-only discovery) -> plan; the step registry; and the
 * split between the plan `run` executes and the finalize steps only `handover finalize` executes.
 *
 * Facts are saved in the state dir when a migration starts (`facts.json`): a resumed `run` or `finalize` rebuilds
 * the plan from THOSE facts, not from a fresh discovery. A fresh discovery mid-migration sees the hosts as the
 * partial run left them (APIs stopped, packages installed, databases present) and would plan something else; the
 * saved facts give back the same plan unless the answers changed, which is what the plan check is for.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { expandHome, loadAnswers, type Answers, type LoadedAnswers } from "../answers/index.js";
import { parseFactsFile, serializeFacts } from "../discovery/facts-file.js";
import { gatherFacts, type DiscoveryEndpoint } from "../discovery/gather.js";
import { readOnly } from "../discovery/readonly-host.js";
import type { Plan, PlannedStep, StepImpl, StepRegistry } from "../engine/step.js";
import { sshHostFromEndpoint } from "../hosts/from-answers.js";
import type { Host } from "../hosts/host.js";
import { UserError, errorMessage } from "../lib/errors.js";
import { buildPlan } from "../plan/build.js";
import { assertSafeJump, type Catalog } from "../plan/catalog.js";
import type { Facts } from "../plan/facts.js";
import { buildRegistry } from "../steps/registry.js";
import { realStepDeps } from "../steps/real-deps.js";
import type { CliIo } from "./io.js";
import { openControllers, resolveSecretsOrFail } from "./open-controllers.js";
import { planInputFromAnswers } from "./plan-input.js";
import { shippedCatalog } from "./shipped-catalog.js";

export const FACTS_FILE = "facts.json";

export interface LoadedRun {
  readonly loaded: LoadedAnswers;
  readonly answers: Answers;
  /** Absolute path of the answer file. */
  readonly answersPath: string;
  /** The answer file as the operator named it, for the commands we print (`handover run -f <this>`). */
  readonly displayName: string;
  readonly stateDir: string;
}

/** Valid answers or one UserError listing every problem (as `validate` would). */
export async function loadRun(file: string, io: CliIo): Promise<LoadedRun> {
  const answersPath = resolve(io.cwd, file);
  const loaded = await loadAnswers(answersPath, { displayName: file });
  return {
    loaded,
    answers: loaded.answers,
    answersPath,
    displayName: file,
    stateDir: expandHome(loaded.answers.state_dir, io.env.HOME ?? "/root"),
  };
}

/** Hosts opened for the engine, and what is needed to plan against them. */
export interface EngineSession {
  readonly hosts: ReadonlyMap<string, Host>;
  /** Secret values of the answer file: given to the journal and redacted from everything printed. */
  readonly secrets: readonly string[];
  readonly registry: StepRegistry;
  /** Read-only discovery of both controllers (as `handover plan` does). */
  discover(): Promise<Facts>;
  close(): Promise<void>;
}

/** What the engine commands reach outside themselves; tests replace it with fakes. */
export interface SessionDeps {
  openSession(run: LoadedRun, io: CliIo): Promise<EngineSession>;
  /** Answers + facts -> the whole plan (finalize steps included). */
  plan(run: LoadedRun, facts: Facts, io: CliIo): Plan;
  /** Parses a saved facts file (validates its shape). */
  parseFacts(text: string, file: string): Facts;
  readonly now: () => Date;
}

/** Real session: both controllers over SSH with strict host keys, connected before anything else. */
async function openSshSession(run: LoadedRun, io: CliIo): Promise<EngineSession> {
  const { answers } = run;
  const secrets = await resolveSecretsOrFail(run.loaded, io, dirname(run.answersPath));
  const ctl = openControllers(answers, secrets, io);
  try {
    await Promise.all([ctl.old.host.connect(), ctl.new.host.connect()]);
  } catch (e) {
    await ctl.close();
    throw e;
  }
  const admin = (name: "old" | "new") => {
    const m = answers.controllers[name].mysql;
    return {
      user: m.user,
      password: secrets.get(`controllers.${name}.mysql.password`) ?? "",
      host: m.host,
      port: m.port,
    };
  };
  const registry = buildRegistry(realStepDeps({ old: admin("old"), new: admin("new") }));
  // Computes the answers list (canary, compute pins): connected on first use, so one that is down fails only
  // the steps that need it, naming it.
  const env = { home: io.env.HOME ?? "/root", agentSocket: io.env.SSH_AUTH_SOCK };
  const computes = answers.computes.hosts.map(
    (h, i) =>
      [
        h.name,
        sshHostFromEndpoint(h.name, h.ssh, env, secrets.get(`computes.hosts[${i}].ssh.passphrase`)),
      ] as const,
  );
  return {
    hosts: new Map<string, Host>([
      ["old", ctl.old.host],
      ["new", ctl.new.host],
      ...computes.filter(([name]) => name !== "old" && name !== "new"),
    ]),
    secrets: ctl.secrets,
    registry,
    async discover() {
      const endpoint = (c: typeof ctl.old): DiscoveryEndpoint => ({
        host: readOnly(c.host),
        openSql: c.openSql,
      });
      const gathered = await gatherFacts(endpoint(ctl.old), endpoint(ctl.new), {
        catalog: shippedCatalog(),
        sourceRelease: answers.source_release,
        targetRelease: answers.target_release,
        services: answers.services,
        now: () => new Date(),
      });
      return gathered.facts;
    },
    close: async () => {
      await Promise.allSettled([ctl.close(), ...computes.map(([, h]) => h.close())]);
    },
  };
}

function realPlan(run: LoadedRun, facts: Facts, io: CliIo, catalog: Catalog = shippedCatalog()): Plan {
  const input = planInputFromAnswers(run.answers, io.env.HOME ?? "/root");
  assertSafeJump(catalog, input.sourceRelease, input.targetRelease, input.services);
  return buildPlan(input, facts, catalog);
}

export const realSessionDeps: SessionDeps = {
  openSession: openSshSession,
  plan: realPlan,
  parseFacts: parseFactsFile,
  now: () => new Date(),
};

// ---------------------------------------------------------------------------------------------------------------
// Saved facts

export function factsPath(stateDir: string): string {
  return join(stateDir, FACTS_FILE);
}

/** The facts saved when the migration started, or undefined if there are none. */
export function readSavedFacts(stateDir: string, deps: Pick<SessionDeps, "parseFacts">): Facts | undefined {
  const file = factsPath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError("FACTS_UNREADABLE", `cannot read ${file}: ${errorMessage(e)}`, { cause: e });
  }
  return deps.parseFacts(text, file);
}

/** Atomic (temp file + rename), mode 0600 like the journal: facts describe the cloud's internals. */
export function saveFacts(stateDir: string, facts: Facts): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = factsPath(stateDir);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, serializeFacts(facts), { mode: 0o600 });
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------------------------
// Run part and finalize part

/**
 * The plan `run` executes: everything but the finalize phase. Finalize steps are the declared point of no return
 * (keystone contract, deleting service records, removing the compute pin once computes are upgraded), so only
 * `handover finalize` runs them, after its own confirmation. The engine runs whole plans, so the split is made
 * here: `run` journals this part; `finalize` journals the whole plan as a plan change (done steps re-verified).
 */
export function runPart(plan: Plan): Plan {
  const steps = plan.steps.filter((s) => s.phase !== "finalize");
  const kept = new Set(steps.map((s) => s.id));
  return {
    ...plan,
    // A non-finalize step never waits for a finalize one (phases go forward), but filter defensively.
    steps: steps.map((s) => ({ ...s, after: s.after.filter((a) => kept.has(a)) })),
  };
}

export function finalizeSteps(plan: Plan): PlannedStep[] {
  return plan.steps.filter((s) => s.phase === "finalize");
}

/** Kinds the plan needs that the registry lacks, with the steps that need them; refused before anything runs. */
export function missingKinds(plan: Plan, registry: StepRegistry): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of plan.steps) {
    if (registry.has(s.kind)) continue;
    out.set(s.kind, [...(out.get(s.kind) ?? []), s.id]);
  }
  return out;
}

export function assertRegistryCovers(plan: Plan, registry: StepRegistry): void {
  const missing = missingKinds(plan, registry);
  if (missing.size === 0) return;
  const list = [...missing].map(
    ([k, ids]) => `${k} (${ids.slice(0, 3).join(", ")}${ids.length > 3 ? ", …" : ""})`,
  );
  throw new UserError(
    "STEPS_NOT_IMPLEMENTED",
    `This build of handover cannot run the plan: ${missing.size} step kind(s) have no implementation yet: ${list.join("; ")}. Nothing was changed.`,
    {
      nextSteps: [
        "Use a handover version that implements these steps, or change the answers so the plan avoids them.",
      ],
    },
  );
}

/** Hosts the plan names that the session did not open (e.g. computes), refused before anything runs. */
export function assertHostsCover(plan: Plan, hosts: ReadonlyMap<string, Host>): void {
  const missing = [...new Set(plan.steps.flatMap((s) => s.hosts))].filter((h) => !hosts.has(h));
  if (missing.length === 0) return;
  throw new UserError(
    "HOSTS_MISSING",
    `The plan needs host(s) ${missing.join(", ")}, which the answer file does not let handover reach.`,
    { nextSteps: ["Add SSH settings for them to the answer file (computes.hosts)."] },
  );
}

/** Registry with command-level implementations (e.g. gate.confirm, which needs the operator) taking precedence. */
export function withOverrides(registry: StepRegistry, overrides: readonly StepImpl[]): StepRegistry {
  const m = new Map(registry);
  for (const o of overrides) m.set(o.kind, o);
  return m;
}
