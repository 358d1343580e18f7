/**
 * Set-up shared by the engine tests: temporary state directories removed after each test, and "run this plan once"
 * / "roll back once" in a state dir with the journal opened and closed around it, as one handover process would.
 * The step behaviour is harness.ts's (or the registry the test passes).
 */
import * as fs from "node:fs";
import { afterEach } from "vitest";
import { Journal, deriveState, readJournal, type JournalState } from "../../../src/engine/journal.js";
import { rollbackJournal, type RollbackOptions, type RollbackResult } from "../../../src/engine/rollback.js";
import { runPlan, type RunPlanOptions, type RunSummary } from "../../../src/engine/run.js";
import type { Plan, StepRegistry } from "../../../src/engine/step.js";
import { BugError } from "../../../src/lib/errors.js";
import {
  Harness,
  hostsFor,
  initialWorld,
  sorted,
  tempStateDir,
  worldPlan,
  type Faults,
  type World,
} from "./harness.js";

/**
 * Call once at the top of a test file: returns `newDir()`, which makes a fresh temp state dir; every dir made
 * during a test is removed after it (registered with vitest's afterEach).
 */
export function tempStateDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempStateDir();
    dirs.push(d);
    return d;
  };
}

/**
 * What runPlan takes besides the plan, the registry and the journal; `hosts` default to hostsFor(plan) (stand-ins
 * for steps that never use them); `secrets` go to the journal (redacted from it and from the run's messages).
 */
export type RunExtras = Omit<Partial<RunPlanOptions>, "plan" | "registry" | "journal"> & {
  secrets?: readonly string[];
};

/** One engine invocation: opens `plan`'s journal in `dir`, runs it, closes the journal whatever the outcome. */
export async function runJournaled(
  dir: string,
  plan: Plan,
  registry: StepRegistry,
  extra: RunExtras = {},
): Promise<RunSummary> {
  const { secrets, ...options } = extra;
  const journal = Journal.open({ stateDir: dir, plan, ...(secrets ? { secrets } : {}) });
  try {
    return await runPlan({ plan, registry, hosts: hostsFor(plan), journal, ...options });
  } finally {
    journal.close();
  }
}

/** runJournaled with the harness's world steps acting on `world` (with `faults` injected). */
export function runWorld(
  dir: string,
  plan: Plan,
  world: World,
  o: RunExtras & { faults?: Faults } = {},
): Promise<RunSummary> {
  const { faults = {}, ...extra } = o;
  return runJournaled(dir, plan, new Harness(world, faults).registry(), extra);
}

/** The world an uninterrupted run of worldPlan() leaves (env {}: no test pause from the environment). */
export async function uninterruptedWorld(dir: string): Promise<[string, string][]> {
  const world = initialWorld();
  await runWorld(dir, worldPlan(), world, { env: {} });
  return sorted(world);
}

/** What rollbackJournal takes besides the registry and the journal; `hosts` default to hostsFor(journaled plan). */
export type RollbackExtras = Omit<Partial<RollbackOptions>, "registry" | "journal">;

/** One rollback invocation: opens the journal in `dir` (its journaled plan), rolls back, closes the journal. */
export async function rollbackJournaled(
  dir: string,
  registry: StepRegistry,
  extra: RollbackExtras = {},
): Promise<RollbackResult> {
  const journal = Journal.open({ stateDir: dir });
  try {
    return await rollbackJournal({ registry, hosts: hostsFor(journal.state().plan), journal, ...extra });
  } finally {
    journal.close();
  }
}

/** The state the journal in `dir` describes now (read from disk, as a next process would see it). */
export function journalState(dir: string): JournalState {
  const read = readJournal(dir);
  if (!read) throw new BugError(`test: no journal in ${dir}`);
  return deriveState(read.records);
}
