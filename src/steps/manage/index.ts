import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { manageStep } from "./manage.js";

export function manageSteps(deps: StepDeps): StepImpl[] {
  return [manageStep(deps)];
}
