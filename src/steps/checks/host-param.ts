import type { JsonObject } from "../../engine/step.js";
import { Params } from "../params.js";

/**
 * The host a check runs on. The plan's check steps carry no `host` param for some kinds; their host follows from
 * the kind's contract (KINDS.md): data checks and the baseline upgrade check read old, disk and readiness checks
 * are about new. A `host` param, when present, wins.
 */
export function checkHost(kind: string, raw: JsonObject, fallback: string): string {
  return new Params(kind, raw).str("host", fallback);
}
