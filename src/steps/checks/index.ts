import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { dataStep } from "./data.js";
import { diskStep } from "./disk.js";
import { healthStep } from "./health.js";
import { upgradeCheckStep } from "./upgrade-check.js";

export function checkSteps(deps: StepDeps): StepImpl[] {
  return [healthStep(deps), diskStep(deps), dataStep(deps), upgradeCheckStep(deps)];
}
