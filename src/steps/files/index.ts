import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { filesSyncStep } from "./sync.js";
import { volumesCopyStep } from "./volumes.js";

/** files.sync, volumes.copy. */
export function filesSteps(deps: StepDeps): StepImpl[] {
  return [filesSyncStep(deps), volumesCopyStep(deps)];
}
