import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { amqpUserStep } from "./amqp-user.js";
import { installStep } from "./install.js";
import { preventStartSteps } from "./prevent-start.js";
import { sourceStep } from "./source.js";

export function provisionSteps(deps: StepDeps): StepImpl[] {
  return [sourceStep(deps), ...preventStartSteps(deps), installStep(deps), amqpUserStep(deps)];
}
