import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { filesSyncStep } from "./sync.js";
import { tempKeyRemoveStep, tempKeyStep } from "./temp-key.js";
import { volumesCopyStep } from "./volumes.js";

/** files.sync, volumes.copy, files.temp-key, files.temp-key-remove. */
export function filesSteps(deps: StepDeps): StepImpl[] {
  return [filesSyncStep(deps), volumesCopyStep(deps), tempKeyStep(deps), tempKeyRemoveStep(deps)];
}
