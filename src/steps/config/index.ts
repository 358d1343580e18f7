import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { configCopyStep } from "./copy.js";
import { configEditStep } from "./edit.js";
import { configHorizonStep } from "./horizon.js";
import { configRewriteStep } from "./rewrite.js";

/** config.copy, config.rewrite, config.horizon, config.edit. */
export function configSteps(deps: StepDeps): StepImpl[] {
  return [configCopyStep(deps), configRewriteStep(deps), configHorizonStep(deps), configEditStep(deps)];
}
