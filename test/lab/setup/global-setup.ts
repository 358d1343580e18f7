/**
 * vitest globalSetup for the `lab` project. Not root: provide a skip reason (lab tests skip themselves with it,
 * see lab-context.ts). Root: bring the lab up once (reuse one already up), provide the answer file's path and a
 * snapshot of the jump taken before `up`; at the end bring down the lab we brought up, unless HANDOVER_LAB_KEEP=1.
 */
import type { TestProject } from "vitest/node";
import { down } from "../../../lab/down.js";
import { ANSWERS_FILE } from "../../../lab/paths.js";
import { readState } from "../../../lab/state.js";
import { up } from "../../../lab/up.js";
import { snapshotJump, type JumpSnapshot } from "./snapshot.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Non-empty when lab tests must be skipped; says why. */
    labSkipReason: string;
    labAnswers: string;
    /** The jump before this run's `up` (undefined when the lab was already up). */
    labBaseline: JumpSnapshot | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    project.provide("labSkipReason", "lab tests need root (network namespaces, mounts); run them as root");
    project.provide("labAnswers", "");
    project.provide("labBaseline", null);
    return async () => {};
  }
  const existing = readState();
  let startedHere = false;
  let baseline: JumpSnapshot | null = null;
  if (existing?.phase !== "up") {
    if (existing) await down(); // a half-up lab from an interrupted run
    baseline = snapshotJump();
    await up({ scenario: process.env.HANDOVER_LAB_SCENARIO });
    startedHere = true;
  }
  project.provide("labSkipReason", "");
  project.provide("labAnswers", ANSWERS_FILE);
  project.provide("labBaseline", baseline);
  return async () => {
    if (startedHere && process.env.HANDOVER_LAB_KEEP !== "1" && readState()) {
      const problems = await down();
      if (problems.length) throw new Error(`lab down left things behind:\n  ${problems.join("\n  ")}`);
    }
  };
}
