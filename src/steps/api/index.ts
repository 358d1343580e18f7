import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { apiCheckStep } from "./check.js";

/** api.check. */
export function apiSteps(deps: StepDeps): StepImpl[] {
  return [apiCheckStep(deps)];
}
