import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { convertCharsetStep } from "./convert-charset.js";
import { copyTablesStep } from "./copy-tables.js";
import { copyStep } from "./copy.js";
import { createStep } from "./create.js";
import { rewriteConnectionInfoStep } from "./rewrite-connection-info.js";
import { snapshotStep } from "./snapshot.js";

export function dbSteps(deps: StepDeps): StepImpl[] {
  return [
    createStep(deps),
    copyStep(deps),
    convertCharsetStep(deps),
    copyTablesStep(deps),
    rewriteConnectionInfoStep(deps),
    snapshotStep(deps),
  ];
}
