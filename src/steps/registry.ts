/**
 * The StepRegistry: every step kind's implementation, from each group's factory. Groups not written yet are
 * simply absent; test/unit/steps/registry.test.ts lists the kinds still missing, so the gap stays visible.
 */
import type { StepImpl, StepRegistry } from "../engine/step.js";
import { BugError } from "../lib/errors.js";
import { checkSteps } from "./checks/index.js";
import { dbSteps } from "./db/index.js";
import type { StepDeps } from "./deps.js";
import { manageSteps } from "./manage/index.js";
import { provisionSteps } from "./provision/index.js";
import { serviceSteps } from "./service/index.js";
import { configSteps } from "./config/index.js";
import { filesSteps } from "./files/index.js";
import { inventorySteps } from "./inventory/index.js";
import { apiSteps } from "./api/index.js";
import { gateSteps } from "./gate/index.js";
import { netSteps } from "./net/index.js";
import { novaSteps } from "./nova/index.js";

/** Factories of the step groups; other groups add theirs here (one line each). */
export const STEP_GROUPS: readonly ((deps: StepDeps) => StepImpl[])[] = [
  provisionSteps,
  dbSteps,
  manageSteps,
  checkSteps,
  serviceSteps,
  configSteps,
  filesSteps,
  inventorySteps,
  apiSteps,
  gateSteps,
  netSteps,
  novaSteps,
];

export function buildRegistry(deps: StepDeps, groups = STEP_GROUPS): StepRegistry {
  const m = new Map<string, StepImpl>();
  for (const g of groups) {
    for (const impl of g(deps)) {
      if (m.has(impl.kind)) throw new BugError(`two implementations of step kind ${impl.kind}`);
      m.set(impl.kind, impl);
    }
  }
  return m;
}
