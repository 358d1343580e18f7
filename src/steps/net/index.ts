import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { canarySteps } from "./canary.js";
import { localAliasStep } from "./local-alias.js";
import { moveAddressStep } from "./move-address.js";
import { neighboursStep } from "./neighbours.js";

/** net.local-alias, net.move-address, net.canary-start, net.canary-stop, check.neighbours. */
export function netSteps(deps: StepDeps): StepImpl[] {
  return [localAliasStep(deps), moveAddressStep(deps), ...canarySteps(deps), neighboursStep(deps)];
}
