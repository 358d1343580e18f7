import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { unitSteps } from "./units.js";

export function serviceSteps(deps: StepDeps): StepImpl[] {
  return unitSteps(deps);
}
