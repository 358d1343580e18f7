import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { moveAddressStep } from "./move-address.js";

/** net.move-address. */
export function netSteps(deps: StepDeps): StepImpl[] {
  return [moveAddressStep(deps)];
}
